// The pace chart's series (score/pace.h): cumulative net per day against the
// even-pace line, by hand.
#include "score/pace.h"

#include <gtest/gtest.h>

#include "tests/support/test_support.h"

namespace wijkpuls {
namespace {

using testing::DefaultMethodology;

// Wave 2024: rounds 2023-03-01..06-30 (122 days) and 09-01..10-31 (61); 183 in all.
TEST(Pace, CumulativeNetAgainstTheEvenPaceLineByHand) {
  const Methodology& m = DefaultMethodology();
  const Wave& wave = *m.FindWave("2024");
  const DayNumber march1 = *ParseDay("2023-03-01");
  const DayNumber july2 = *ParseDay("2023-07-02");  // summer break
  WijkState a, b;
  a.days[march1].accepted = {2, 1};
  a.days[march1].flagged = {1, 0};  // flagged: not net (count_flagged_in_net is false)
  a.days[march1 + 2].accepted = {0, 3};
  b.days[july2].accepted = {4, 0};   // a late one in the break still counts
  const PaceMember members[] = {{120, &a}, {200, &b}, {80, nullptr}};
  const auto pace = ComputePace(members, wave, m.StartOfDay(july2) + 3600 * kNanosPerSecond, m);
  const InstrumentPace& vm = pace[0];
  const InstrumentPace& wo = pace[1];
  EXPECT_EQ(vm.target, 400);
  ASSERT_EQ(vm.days.size(), static_cast<size_t>(july2 - march1 + 1));  // 124 days
  EXPECT_EQ(vm.days[0].day, march1);
  EXPECT_EQ(vm.days[0].net, 2);
  EXPECT_EQ(vm.days[0].cumulative, 2);
  EXPECT_DOUBLE_EQ(vm.days[0].expected, 400.0 * 1 / 183);
  EXPECT_EQ(wo.days[2].cumulative, 4);  // 1 on March 1, 3 on March 3
  EXPECT_DOUBLE_EQ(wo.days[2].expected, 400.0 * 3 / 183);
  // June 30 is the 122nd round day; July 1 and 2 add none.
  EXPECT_DOUBLE_EQ(vm.days[121].expected, 400.0 * 122 / 183);
  EXPECT_DOUBLE_EQ(vm.days[123].expected, 400.0 * 122 / 183);
  EXPECT_EQ(vm.days[122].cumulative, 2);
  EXPECT_EQ(vm.days[123].net, 4);
  EXPECT_EQ(vm.days[123].cumulative, 6);
  // No watermark: no days.
  EXPECT_TRUE(ComputePace(members, wave, 0, m)[0].days.empty());
}

}  // namespace
}  // namespace wijkpuls
