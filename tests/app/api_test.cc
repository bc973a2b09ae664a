// The JSON API's caching contract: an ETag stands for one content.
#include "serve/api.h"

#include <gtest/gtest.h>

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

}  // namespace
}  // namespace wijkpuls
