// Health: /readyz's problems, and the components the metrics and alerts see
// (wijkpuls_not_ready{component}): a second pipeline's problem counts as
// its component's.
#include "process/health.h"

#include <gtest/gtest.h>

namespace wijkpuls {
namespace {

TEST(Health, AProblemOfAnyPipelineIsItsComponents) {
  Health h;
  EXPECT_TRUE(h.Ready());
  h.Set("consumer #2", "stalled", /*log=*/false);
  EXPECT_TRUE(h.Has("consumer"));
  EXPECT_FALSE(h.Has("kafka"));
  EXPECT_FALSE(h.Has("consume"));
  std::vector<std::string> problems;
  EXPECT_FALSE(h.Ready(&problems));
  EXPECT_EQ(problems, std::vector<std::string>{"consumer #2: stalled"});
  h.Clear("consumer #2");
  EXPECT_FALSE(h.Has("consumer"));
  h.Set("restore", "restoring", /*log=*/false);
  EXPECT_TRUE(h.Has("restore"));
  EXPECT_FALSE(h.Has("restore #2"));
}

}  // namespace
}  // namespace wijkpuls
