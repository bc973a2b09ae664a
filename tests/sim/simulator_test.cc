// The simulated season: seeded, both instruments, the register's mix, and
// every kind of trouble the contract names.
#include "sim/simulator.h"

#include <gtest/gtest.h>

#include "tests/support/test_support.h"

namespace wijkpuls::sim {
namespace {

using testing::DefaultDistricts;
using testing::DefaultMethodology;

const std::vector<SimRecord>& Season() {
  static const std::vector<SimRecord> s = Generate(DefaultMethodology(), DefaultDistricts(), SimOptions{});
  return s;
}

TEST(Simulator, TheSameSeedGivesTheSameSeason) {
  SimOptions o;
  o.scale = 0.1;
  std::vector<SimRecord> a = Generate(DefaultMethodology(), DefaultDistricts(), o);
  std::vector<SimRecord> b = Generate(DefaultMethodology(), DefaultDistricts(), o);
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) ASSERT_EQ(a[i].value, b[i].value) << i;
  o.seed = 2;
  std::vector<SimRecord> c = Generate(DefaultMethodology(), DefaultDistricts(), o);
  EXPECT_NE(a.size() == c.size() ? a[0].value : "", c[0].value);
}

TEST(Simulator, ADefaultSeasonIsAboutThirtyThousandRecordsWithEveryKindOfTrouble) {
  SimTruth t = Summarise(Season());
  EXPECT_GT(t.records, 25000);
  EXPECT_LT(t.records, 35000);
  for (RejectReason r : kAllRejectReasons) {
    if (r == RejectReason::kWithdrawn) continue;  // depends on the order the topics are read
    EXPECT_GT(t.by_reason[std::string(WireName(r))], 0) << WireName(r);
  }
  for (QualityFlag f : kAllQualityFlags) EXPECT_GT(t.by_flag[std::string(WireName(f))], 0) << WireName(f);
  EXPECT_GT(t.by_outcome["duplicate"], 0);
  EXPECT_GT(t.withdrawal_records, 0);
  EXPECT_GT(t.order_dependent_records, 0);
}

TEST(Simulator, BothInstrumentsModesAndJsonAppear) {
  int json = 0;
  std::map<Instrument, int> instruments;
  for (const SimRecord& r : Season()) {
    json += r.content_type == "application/json";
    if (!r.expected.withdrawal && r.expected.outcome == Outcome::kAccepted) ++instruments[r.expected.instrument];
  }
  EXPECT_GT(json, static_cast<int>(Season().size() / 20));
  EXPECT_GT(instruments[Instrument::kVeiligheidsmonitor], 10000);
  EXPECT_GT(instruments[Instrument::kWijkonderzoek], 10000);
}

TEST(Simulator, YoungMenRespondLeast) {
  // Response rate per age x sex cell relative to the cell's population share.
  std::array<double, kCellCount> counted{};
  std::array<double, kCellCount> population{};
  for (const Wijk& w : DefaultDistricts().wijken()) {
    for (int c = 0; c < kCellCount; ++c) population[c] += static_cast<double>(w.population[c]);
  }
  for (const SimRecord& r : Season()) {
    if (!r.expected.withdrawal && r.expected.counted_in_end) counted[r.expected.cell] += 1;
  }
  std::array<double, kCellCount> rate{};
  for (int c = 0; c < kCellCount; ++c) rate[c] = counted[c] / population[c];
  const int young_men = CellIndex(AgeBand::k15To29, Sex::kMale);
  for (int c = 0; c < kCellCount; ++c) {
    if (c != young_men) {
      EXPECT_LT(rate[young_men], rate[c]) << c;
    }
  }
}

TEST(Simulator, RecordsOfAWijkShareAPartitionAndRedeliveriesComeAfterTheOriginal) {
  std::map<std::string, int32_t> partition_of;
  std::map<std::string, size_t> first_seen;
  for (size_t i = 0; i < Season().size(); ++i) {
    const SimRecord& r = Season()[i];
    if (r.expected.withdrawal) continue;
    auto [it, inserted] = partition_of.emplace(r.key, r.partition);
    EXPECT_EQ(it->second, r.partition) << r.key;
    if (r.expected.outcome == Outcome::kDuplicate) {
      ASSERT_TRUE(first_seen.count(r.value)) << "a redelivery before its original";
    } else {
      first_seen.emplace(r.value, i);
    }
  }
}

}  // namespace
}  // namespace wijkpuls::sim
