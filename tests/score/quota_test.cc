// Quota figures of methodology section 7, with hand-computed cases.
#include "score/quota.h"

#include <gtest/gtest.h>

#include <numeric>

#include "tests/support/test_support.h"

namespace wijkpuls {
namespace {

using testing::DefaultDistricts;
using testing::DefaultMethodology;
using testing::Local;

const Wave& Wave2024() { return *DefaultMethodology().FindWave("2024"); }
DayNumber Day(const char* iso) { return *ParseDay(iso); }

TEST(Apportion, LargestRemainderOverTussendijken) {
  // Population 608, 586, 1229, 1241, 1373, 1384, 468, 566 (total 7455), target 200:
  // quotas 16.311 15.721 32.971 33.293 36.834 37.129 12.555 15.185, floors sum to 196;
  // the four largest remainders (.971 .834 .721 .555) get one more.
  const Wijk& w = DefaultDistricts().wijken()[*DefaultDistricts().FindWijk("tussendijken")];
  std::array<int64_t, kCellCount> t = ApportionTarget(200, w.population);
  EXPECT_EQ(t, (std::array<int64_t, kCellCount>{16, 16, 33, 33, 37, 37, 13, 15}));
}

TEST(Apportion, SumsToTheTargetForEveryWijk) {
  for (const Wijk& w : DefaultDistricts().wijken()) {
    std::array<int64_t, kCellCount> t = ApportionTarget(w.target, w.population);
    EXPECT_EQ(std::accumulate(t.begin(), t.end(), int64_t{0}), w.target) << w.id;
  }
}

TEST(Apportion, TiesGoToTheLowerCellAndEmptyPopulationsGetNothing) {
  std::array<int64_t, kCellCount> pop{1, 1, 1, 0, 0, 0, 0, 0};
  EXPECT_EQ(ApportionTarget(10, pop), (std::array<int64_t, kCellCount>{4, 3, 3, 0, 0, 0, 0, 0}));
  EXPECT_EQ(ApportionTarget(10, std::array<int64_t, kCellCount>{}), (std::array<int64_t, kCellCount>{}));
  EXPECT_EQ(ApportionTarget(0, pop), (std::array<int64_t, kCellCount>{}));
}

TEST(Progress, DaysElapsedCountRoundDaysOnly) {
  const Methodology& m = DefaultMethodology();
  EXPECT_EQ(ProgressAt(Wave2024(), 0, m).elapsed, 0);
  EXPECT_EQ(ProgressAt(Wave2024(), 0, m).remaining, 183);
  FieldworkProgress summer = ProgressAt(Wave2024(), Local("2023-08-15 12:00:00"), m);
  EXPECT_EQ(summer.elapsed, 122);  // all spring days
  EXPECT_EQ(summer.remaining, 61);
  FieldworkProgress late = ProgressAt(Wave2024(), Local("2023-11-10 12:00:00"), m);  // grace period
  EXPECT_EQ(late.elapsed, 183);
  EXPECT_EQ(late.remaining, 0);
  // Local dates: 2023-03-07 00:30 CET is still the 7th in Amsterdam (23:30 UTC on the 6th).
  EXPECT_EQ(ProgressAt(Wave2024(), Local("2023-03-07 00:30:00"), m).elapsed, 7);
}

WijkState WithCounts(Instrument ins, int64_t per_cell) {
  WijkState s;
  for (int c = 0; c < kCellCount; ++c) s.cells[QuotaCellIndex(ins, c)].accepted = per_cell;
  return s;
}

Wijk TestWijk(int64_t target) {
  Wijk w;
  w.id = "test";
  w.target = target;
  w.invited = 400;
  w.population = {100, 100, 100, 100, 100, 100, 100, 100};
  return w;
}

TEST(Status, AcrossTheSummerBreakThePaceUsesRoundDaysOnly) {
  // Watermark 2023-09-03: e = 122 + 3 = 125, r = 58. The last 14 round days are
  // Sep 1-3 and Jun 20-30. Net on them: 5 (Jun 20) + 9 (Sep 2) = 14; Jun 19
  // and the break (Aug 10) do not count. rate = 14 / 14 = 1; net = 164;
  // projected = 164 + 1 * 58 = 222 >= 200: ON_TRACK.
  WijkState s;
  const Instrument vm = Instrument::kVeiligheidsmonitor;
  s.cells[QuotaCellIndex(vm, 0)].accepted = 164;
  s.days[Day("2023-06-19")].accepted[0] = 100;
  s.days[Day("2023-06-20")].accepted[0] = 5;
  s.days[Day("2023-08-10")].accepted[0] = 50;
  s.days[Day("2023-09-02")].accepted[0] = 9;
  WijkQuota q = ComputeWijkQuota(TestWijk(200), 0, &s, Wave2024(), Local("2023-09-03 12:00:00"), DefaultMethodology());
  const InstrumentQuota& iq = q.instruments[0];
  EXPECT_EQ(q.progress.elapsed, 125);
  EXPECT_EQ(q.progress.remaining, 58);
  EXPECT_DOUBLE_EQ(iq.rate, 1.0);
  EXPECT_DOUBLE_EQ(iq.projected, 222.0);
  EXPECT_EQ(iq.status, QuotaStatus::kOnTrack);
  // The other instrument has nothing: BEHIND, and the wijk shows its worst.
  EXPECT_EQ(q.instruments[1].status, QuotaStatus::kBehind);
  EXPECT_EQ(q.status, QuotaStatus::kBehind);
}

TEST(Status, SevenDaysEndTheEarlyPhase) {
  // e = 7 (watermark 2023-03-07): net 7 (2 on Mar 1, 5 on Mar 7), rate 7/7 = 1,
  // r = 176, projected = 183. Target 200: 183 >= 180 = 0.9 * 200 -> AT_RISK.
  WijkState s;
  s.cells[QuotaCellIndex(Instrument::kVeiligheidsmonitor, 0)].accepted = 7;
  s.days[Day("2023-03-01")].accepted[0] = 2;
  s.days[Day("2023-03-07")].accepted[0] = 5;
  const Methodology& m = DefaultMethodology();
  WijkQuota q = ComputeWijkQuota(TestWijk(200), 0, &s, Wave2024(), Local("2023-03-07 10:00:00"), m);
  EXPECT_EQ(q.progress.elapsed, 7);
  EXPECT_DOUBLE_EQ(q.instruments[0].projected, 183.0);
  EXPECT_EQ(q.instruments[0].status, QuotaStatus::kAtRisk);
  // Target 300: 183 < 270 -> BEHIND.
  EXPECT_EQ(ComputeWijkQuota(TestWijk(300), 0, &s, Wave2024(), Local("2023-03-07 10:00:00"), m).instruments[0].status,
            QuotaStatus::kBehind);
  // Target 180: 183 >= 180 -> ON_TRACK.
  EXPECT_EQ(ComputeWijkQuota(TestWijk(180), 0, &s, Wave2024(), Local("2023-03-07 10:00:00"), m).instruments[0].status,
            QuotaStatus::kOnTrack);
  // e = 6: EARLY whatever the pace.
  EXPECT_EQ(ComputeWijkQuota(TestWijk(300), 0, &s, Wave2024(), Local("2023-03-06 23:59:59"), m).instruments[0].status,
            QuotaStatus::kEarly);
  // COMPLETE comes first: net 7 >= target 5, even on day 1.
  EXPECT_EQ(ComputeWijkQuota(TestWijk(5), 0, &s, Wave2024(), Local("2023-03-01 10:00:00"), m).instruments[0].status,
            QuotaStatus::kComplete);
}

// The status rules compare exactly: a projection at the target is ON_TRACK,
// at 0.9 · target AT_RISK, a cell at 0.8 of its pace is not behind, whatever
// binary fractions make of 17/14 · 84 or 0.9 · 37 (found by an audit: in
// doubles each of these fell to the status below).
TEST(Status, TiesFallAsTheMethodologyWritesThem) {
  // Watermark 2023-06-07: e = 99, r = 84, the window 14 round days. Net 18,
  // of which 17 in the window: projected = 18 + 17 / 14 * 84 = 120.
  WijkState s;
  s.cells[QuotaCellIndex(Instrument::kVeiligheidsmonitor, 0)].accepted = 18;
  s.days[Day("2023-03-15")].accepted[0] = 1;
  s.days[Day("2023-06-07")].accepted[0] = 17;
  const Methodology& m = DefaultMethodology();
  WijkQuota q = ComputeWijkQuota(TestWijk(120), 0, &s, Wave2024(), Local("2023-06-07 10:00:00"), m);
  ASSERT_EQ(q.progress.elapsed, 99);
  ASSERT_EQ(q.progress.remaining, 84);
  EXPECT_EQ(q.instruments[0].recent, 17);
  EXPECT_EQ(q.instruments[0].projected, 120.0);  // shown as the whole number it is
  EXPECT_EQ(q.instruments[0].status, QuotaStatus::kOnTrack);
  // Target 121: 120 < 121, and 120 >= 108.9 -> AT_RISK.
  EXPECT_EQ(ComputeWijkQuota(TestWijk(121), 0, &s, Wave2024(), Local("2023-06-07 10:00:00"), m).instruments[0].status,
            QuotaStatus::kAtRisk);

  // e = 10, r = 173, net 16, 1 in the window: projected = 16 + 17.3 = 33.3,
  // exactly 0.9 * 37.
  FieldworkProgress p;
  p.elapsed = 10;
  p.remaining = 173;
  EXPECT_EQ(StatusOf(16, 37, 1, p, m.quota), QuotaStatus::kAtRisk);
  EXPECT_EQ(StatusOf(16, 38, 1, p, m.quota), QuotaStatus::kBehind);  // 33.3 < 34.2

  // Cells of 183 (target 1464 over 8 equal cells) at e = 25: pace 25, 80% of
  // it 20. Net 20 is not behind, 19 is.
  WijkState c = WithCounts(Instrument::kVeiligheidsmonitor, 20);
  c.cells[QuotaCellIndex(Instrument::kVeiligheidsmonitor, 1)].accepted = 19;
  q = ComputeWijkQuota(TestWijk(1464), 0, &c, Wave2024(), Local("2023-03-25 10:00:00"), m);
  ASSERT_EQ(q.progress.elapsed, 25);
  ASSERT_EQ(q.instruments[0].cells[0].target, 183);
  EXPECT_EQ(q.instruments[0].cells[0].expected_by_now, 25.0);
  EXPECT_FALSE(q.instruments[0].cells[0].behind);
  EXPECT_TRUE(q.instruments[0].cells[1].behind);
}

TEST(Status, NoWatermarkMeansNoPace) {
  WijkQuota q = ComputeWijkQuota(TestWijk(200), 0, nullptr, Wave2024(), 0, DefaultMethodology());
  EXPECT_EQ(q.progress.elapsed, 0);
  EXPECT_DOUBLE_EQ(q.instruments[0].rate, 0.0);
  EXPECT_EQ(q.instruments[0].status, QuotaStatus::kEarly);
}

TEST(Cells, ACellIsBehindBelowEightyPercentOfItsPace) {
  // Target 200 over 8 equal cells: 25 each. At e = 7, r = 176: expected
  // 25 * 7 / 183 = 0.956; 80% of it 0.765: net 0 is behind, net 1 is not.
  WijkState s = WithCounts(Instrument::kVeiligheidsmonitor, 1);
  s.cells[QuotaCellIndex(Instrument::kVeiligheidsmonitor, 3)].accepted = 0;
  const Methodology& m = DefaultMethodology();
  WijkQuota q = ComputeWijkQuota(TestWijk(200), 0, &s, Wave2024(), Local("2023-03-07 10:00:00"), m);
  const InstrumentQuota& vm = q.instruments[0];
  EXPECT_EQ(vm.cells[3].target, 25);
  EXPECT_NEAR(vm.cells[3].expected_by_now, 25.0 * 7 / 183, 1e-12);
  EXPECT_TRUE(vm.cells[3].behind);
  EXPECT_FALSE(vm.cells[2].behind);
  EXPECT_EQ(CellBehindLabel(Instrument::kVeiligheidsmonitor, 3), "VM: women 30\u201344");
  // Before e = 7 no cell is behind.
  q = ComputeWijkQuota(TestWijk(200), 0, &s, Wave2024(), Local("2023-03-06 10:00:00"), m);
  EXPECT_FALSE(q.instruments[0].cells[3].behind);
  // In the summer break (e = 122, r = 61): expected 25 * 122 / 183 = 16.67,
  // 80% = 13.33: net 13 is behind, 14 is not.
  WijkState t = WithCounts(Instrument::kWijkonderzoek, 14);
  t.cells[QuotaCellIndex(Instrument::kWijkonderzoek, 0)].accepted = 13;
  q = ComputeWijkQuota(TestWijk(200), 0, &t, Wave2024(), Local("2023-08-01 10:00:00"), m);
  EXPECT_TRUE(q.instruments[1].cells[0].behind);
  EXPECT_FALSE(q.instruments[1].cells[1].behind);
}

TEST(Surplus, CountsNetAboveTarget) {
  WijkState s = WithCounts(Instrument::kWijkonderzoek, 26);  // 208 in all, cell targets 25
  s.cells[QuotaCellIndex(Instrument::kWijkonderzoek, 0)].flagged = 9;  // flagged: not net
  WijkQuota q = ComputeWijkQuota(TestWijk(200), 0, &s, Wave2024(), Local("2023-05-01 10:00:00"), DefaultMethodology());
  const InstrumentQuota& wo = q.instruments[1];
  EXPECT_EQ(wo.net, 208);
  EXPECT_EQ(wo.surplus, 8);
  EXPECT_EQ(wo.cells[0].surplus, 1);
  EXPECT_EQ(wo.status, QuotaStatus::kComplete);
  // response rate: (208 + 9) / 400 invited.
  EXPECT_DOUBLE_EQ(q.response_rate, 217.0 / 400.0);
}

TEST(Surplus, FlaggedCountInNetWhenConfigured) {
  Methodology m = DefaultMethodology();
  m.quota.count_flagged_in_net = true;
  WijkState s;
  s.cells[QuotaCellIndex(Instrument::kVeiligheidsmonitor, 0)].accepted = 5;
  s.cells[QuotaCellIndex(Instrument::kVeiligheidsmonitor, 0)].flagged = 3;
  WijkQuota q = ComputeWijkQuota(TestWijk(200), 0, &s, Wave2024(), Local("2023-05-01 10:00:00"), m);
  EXPECT_EQ(q.instruments[0].net, 8);
}

TEST(Totals, SumTheWijkenAndApplyTheRuleToTheSums) {
  const Methodology& m = DefaultMethodology();
  WijkState a = WithCounts(Instrument::kVeiligheidsmonitor, 25);  // 200: complete
  WijkState b;                                                      // nothing: behind
  WijkQuota qa = ComputeWijkQuota(TestWijk(200), 0, &a, Wave2024(), Local("2023-05-01 10:00:00"), m);
  WijkQuota qb = ComputeWijkQuota(TestWijk(200), 1, &b, Wave2024(), Local("2023-05-01 10:00:00"), m);
  QuotaTotals t = SumQuotas({&qa, &qb}, m.quota);
  EXPECT_EQ(t.instruments[0].target, 400);
  EXPECT_EQ(t.instruments[0].net, 200);
  EXPECT_EQ(t.wijken_by_status[static_cast<int>(QuotaStatus::kBehind)], 2);  // both wijken: WO is empty
  EXPECT_EQ(t.invited, 800);
  EXPECT_DOUBLE_EQ(t.response_rate, 200.0 / 800.0);
}

}  // namespace
}  // namespace wijkpuls
