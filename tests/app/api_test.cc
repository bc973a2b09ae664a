// The JSON API's caching contract: an ETag stands for one content.
#include "serve/api.h"

#include <gtest/gtest.h>

#include "nlohmann/json.hpp"

#include "tests/support/test_support.h"

namespace wijkpuls {
namespace {

std::shared_ptr<CommittedState> EmptyState(uint64_t version) {
  auto cs = std::make_shared<CommittedState>();
  cs->version = version;
  cs->methodology = std::make_shared<const Methodology>(testing::DefaultMethodology());
  cs->districts = std::make_shared<const DistrictRegister>(testing::DefaultDistricts());
  return cs;
}

// An ETag names the content: a new state version that leaves a document as it
// was keeps its tag (a page polling it gets 304 after commits that changed
// other things), a changed document gets another, and another process (a
// restart, another instance) showing the same bytes gives the same tag.
TEST(Api, AnETagNamesTheContentNotTheStateVersionOrTheProcess) {
  StateHub hub;
  hub.Publish(EmptyState(1));
  Api first(hub, ApiOptions{});
  const ApiResponse a = first.Quotas("");
  ASSERT_EQ(a.status, 200) << a.body;
  EXPECT_EQ(a.etag, ContentETag(a.content_type, a.body));
  EXPECT_EQ(a.etag.size(), 34u);
  EXPECT_EQ(first.Quotas("").etag, a.etag);  // nothing changed

  hub.Publish(EmptyState(2));  // another version, the same figures
  EXPECT_EQ(first.Quotas("").etag, a.etag);

  auto changed = EmptyState(3);  // a counted response in Cool
  const std::string wave = nlohmann::json::parse(a.body)["wave"];
  changed->state.Mutable(StateKey{wave, "cool"}).cells[0].accepted = 1;
  hub.Publish(changed);
  const ApiResponse b = first.Quotas("");
  ASSERT_EQ(b.status, 200) << b.body;
  EXPECT_NE(b.body, a.body);
  EXPECT_NE(b.etag, a.etag);
  EXPECT_EQ(b.etag, ContentETag(b.content_type, b.body));

  // The same state in another process (another Api).
  StateHub again;
  again.Publish(EmptyState(1));
  Api second(again, ApiOptions{});
  EXPECT_EQ(second.Quotas("").etag, a.etag);
}

TEST(Api, ContentETagsDifferWhenTheBytesOrTheMediaTypeDo) {
  const std::string a = ContentETag("application/json", "{\"n\":1}");
  EXPECT_EQ(a.front(), '"');
  EXPECT_EQ(a.back(), '"');
  EXPECT_EQ(a.find_first_not_of("0123456789abcdef", 1), 33u);
  // As documented, so that a client or another tool can compute it: the first
  // 128 bits of SHA-256("application/json" 0x00 '{"n":1}') (Python's hashlib).
  EXPECT_EQ(a, "\"f469dbfe675d5130559bc3a052b0968e\"");
  EXPECT_EQ(ContentETag("application/json", "{\"n\":1}"), a);
  EXPECT_NE(ContentETag("application/json", "{\"n\":2}"), a);
  EXPECT_NE(ContentETag("text/plain", "{\"n\":1}"), a);
  // The media type and the body are separated: their boundary cannot move.
  EXPECT_NE(ContentETag("ab", "c"), ContentETag("a", "bc"));
}

// A score without a value shows no number at all, and no score shows a field
// the proto defines only for other kinds (indicators: value, n_eff; indices:
// the reference).
TEST(Api, AScoreWithoutAValueShowsNoNumber) {
  StateHub hub;
  hub.Publish(EmptyState(1));
  Api api(hub, ApiOptions{});
  const ApiResponse r = api.Score("wijk", "carnisse", "");
  ASSERT_EQ(r.status, 200) << r.body;
  const nlohmann::json j = nlohmann::json::parse(r.body);
  ASSERT_EQ(j["indicators"].size(), 35u);
  for (const char* list : {"indicators", "themes", "indices"}) {
    for (const nlohmann::json& s : j[list]) {
      EXPECT_EQ(s["status"], "SUPPRESSED") << s;
      EXPECT_FALSE(s["has_value"].get<bool>()) << s;
      for (const char* f : {"value", "score", "score_se", "ci_low", "ci_high", "band", "delta"}) {
        EXPECT_FALSE(s.contains(f)) << list << ": " << f << " in " << s;
      }
      EXPECT_TRUE(s.contains("n")) << s;
    }
  }
  EXPECT_TRUE(j["indicators"][0].contains("n_eff"));
  EXPECT_FALSE(j["indicators"][0].contains("components_used"));
  EXPECT_FALSE(j["themes"][0].contains("n_eff"));
  EXPECT_TRUE(j["themes"][0].contains("components_used"));
  EXPECT_FALSE(j["themes"][0].contains("reference"));
  // Cool has no reference: none shown; Carnisse has one in the default
  // methodology: shown with the index.
  const nlohmann::json cool = nlohmann::json::parse(api.Score("wijk", "cool", "").body);
  EXPECT_FALSE(cool["indices"][0]["has_reference"].get<bool>());
  EXPECT_FALSE(cool["indices"][0].contains("reference"));
  EXPECT_TRUE(j["indices"][0]["has_reference"].get<bool>());
  EXPECT_EQ(j["indices"][0]["reference"].get<double>(), 86.0);
}

// If-None-Match as RFC 9110 (13.1.2) says: weak comparison, lists, "*"
// (issue #23: W/"…" and lists were answered 200).
TEST(Api, IfNoneMatchComparesWeaklyAndReadsLists) {
  const std::string etag = "\"a1-7\"";
  EXPECT_TRUE(IfNoneMatchHits("\"a1-7\"", etag));
  EXPECT_TRUE(IfNoneMatchHits("W/\"a1-7\"", etag));
  EXPECT_TRUE(IfNoneMatchHits("\"x\", W/\"a1-7\"", etag));
  EXPECT_TRUE(IfNoneMatchHits("\"x\",\"y\" ,  \"a1-7\"", etag));
  EXPECT_TRUE(IfNoneMatchHits("*", etag));
  EXPECT_TRUE(IfNoneMatchHits("\"a1-7\"", "W/\"a1-7\""));
  EXPECT_FALSE(IfNoneMatchHits("\"a1-8\"", etag));
  EXPECT_FALSE(IfNoneMatchHits("\"x\", \"y\"", etag));
  EXPECT_FALSE(IfNoneMatchHits("a1-7", etag));       // not an entity-tag
  EXPECT_FALSE(IfNoneMatchHits("\"a1-7", etag));     // not closed
  EXPECT_FALSE(IfNoneMatchHits("w/\"a1-7\"", etag)); // W/ is case-sensitive
  EXPECT_FALSE(IfNoneMatchHits("", etag));
}

}  // namespace
}  // namespace wijkpuls
