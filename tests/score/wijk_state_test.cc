// Adding and removing counted responses is exact: removing what was added
// gives back the state before.
#include "score/wijk_state.h"

#include <gtest/gtest.h>

#include "tests/support/test_support.h"

namespace wijkpuls {
namespace {

using testing::DefaultMethodology;

CountedResponse Vm(int cell_age, int v01) {
  const Methodology& m = DefaultMethodology();
  CountedResponse r;
  r.response_id = "r";
  r.instrument = Instrument::kVeiligheidsmonitor;
  r.age_band = static_cast<AgeBand>(cell_age);
  r.sex = Sex::kFemale;
  r.mode = Mode::kWeb;
  r.submitted_at = testing::Local("2023-04-04 10:00:00");
  r.started_at = r.submitted_at - 600 * kNanosPerSecond;
  r.answers.push_back(ItemAnswer{static_cast<uint16_t>(*m.codebook.Find("V01")), static_cast<int16_t>(v01)});
  r.answers.push_back(ItemAnswer{static_cast<uint16_t>(*m.codebook.Find("V02")), 98});
  return r;
}

TEST(WijkState, AcceptedResponsesEnterQuotaDaysStatisticsAndQuality) {
  const Methodology& m = DefaultMethodology();
  WijkState s;
  ApplyCounted(s, Vm(1, 2), Outcome::kAccepted, m, +1);
  const int cell = CellIndex(AgeBand::k30To44, Sex::kFemale);
  EXPECT_EQ(s.cells[QuotaCellIndex(Instrument::kVeiligheidsmonitor, cell)].accepted, 1);
  EXPECT_EQ(s.days.at(*ParseDay("2023-04-04")).accepted[0], 1);
  const int k = static_cast<int>(m.indicators.size());
  // VB_ONVEILIG counts V01 in 1, 2, 3: y = 1. VB_SLACHTOFFERKANS: V02 = 98 does not enter.
  EXPECT_EQ(s.Stat(cell, 0, k), (SufficientStats{1, 1, 1}));
  EXPECT_EQ(s.Stat(cell, 1, k), (SufficientStats{}));
  EXPECT_EQ(s.quality.total.dont_know, 1);
}

TEST(WijkState, FlaggedResponsesStayOutOfTheStatistics) {
  const Methodology& m = DefaultMethodology();
  WijkState s;
  ApplyCounted(s, Vm(1, 2), Outcome::kFlagged, m, +1);
  EXPECT_TRUE(s.stats.empty());
  EXPECT_EQ(s.quality.total.flagged, 1);
}

TEST(WijkState, RemovingWhatWasAddedRestoresTheState) {
  const Methodology& m = DefaultMethodology();
  WijkState s;
  ApplyCounted(s, Vm(0, 4), Outcome::kAccepted, m, +1);
  const WijkState before = s;
  CountedResponse other = Vm(3, 1);
  other.mode = Mode::kPhone;
  other.interviewer_id = "int-9";
  ApplyCounted(s, other, Outcome::kAccepted, m, +1);
  ApplyCounted(s, other, Outcome::kAccepted, m, -1);
  EXPECT_EQ(s, before);
  ApplyCounted(s, Vm(0, 4), Outcome::kAccepted, m, -1);
  EXPECT_EQ(s, WijkState{});
}

}  // namespace
}  // namespace wijkpuls
