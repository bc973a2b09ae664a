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

// A restarted daemon numbers its states from 1 again, with other contents: a
// client's If-None-Match from before the restart must not match.
TEST(Api, AnETagChangesWithTheStateAndIsNeverReusedByAnotherProcess) {
  StateHub hub;
  hub.Publish(EmptyState(1));
  Api first(hub, ApiOptions{});
  const ApiResponse a = first.Quotas("");
  ASSERT_EQ(a.status, 200) << a.body;
  ASSERT_FALSE(a.etag.empty());
  EXPECT_EQ(first.Quotas("").etag, a.etag);  // nothing changed

  hub.Publish(EmptyState(2));
  EXPECT_NE(first.Quotas("").etag, a.etag);

  // The same version in another process (another Api).
  StateHub again;
  again.Publish(EmptyState(1));
  Api second(again, ApiOptions{});
  EXPECT_NE(second.Quotas("").etag, a.etag);
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
