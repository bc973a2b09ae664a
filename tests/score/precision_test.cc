// Projected precision at the close of fieldwork (methodology section 8):
// hand-computed cases, with the arithmetic in the comments, and properties.
#include "score/precision.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <random>

#include "tests/support/test_support.h"

namespace wijkpuls {
namespace {

using testing::DefaultMethodology;

SufficientStats Stats(std::initializer_list<int> ys) {
  SufficientStats s;
  for (int y : ys) {
    ++s.n;
    s.sum += y;
    s.sumsq += y * y;
  }
  return s;
}

// One index "FI" of one theme of two WIJKONDERZOEK indicators:
//   P: percent (F01 codes 4, 5), mu0 50, sigma0 10;
//   M: mean (F04), mu0 6, sigma0 0.5.
// SUPPRESSED below 3 answers, LOW_PRECISION below 10.
Methodology Tiny() {
  Methodology m = DefaultMethodology();
  IndicatorDef p;
  p.id = "P";
  p.index = "FI";
  p.theme = "t";
  p.item = *m.codebook.Find("F01");
  p.type = IndicatorType::kPercent;
  p.codes = {4, 5};
  p.mu0 = 50;
  p.sigma0 = 10;
  IndicatorDef mean = p;
  mean.id = "M";
  mean.item = *m.codebook.Find("F04");
  mean.type = IndicatorType::kMean;
  mean.codes = {};
  mean.mu0 = 6;
  mean.sigma0 = 0.5;
  m.indicators = {p, mean};
  m.themes = {ThemeDef{"t", "FI", {0, 1}}};
  m.indices = {IndexDef{"FI", "fysiek", {0}}};
  m.estimation.suppress_below_n = 3;
  m.estimation.low_precision_below_n = 10;
  m.estimation.precision_target = 4;
  return m;
}

// Cells 0 (men 15-29, N = 100) and 1 (women 15-29, N = 300); the others
// have no population. W = 0.25 and 0.75.
//   P: c0 y {1, 0}: s2 = 0.5;  c1 y {1, 1, 0, 0}: s2 = (4*2 - 4)/(4*3) = 1/3.
//      Var(theta) = 0.0625*0.5/2 + 0.5625*(1/3)/4 = 0.015625 + 0.046875 = 0.0625
//      SE = 0.25 -> 25 %; SE_S = 10 * 25 / 10 = 25.
//   M: c0 {6, 8}: s2 = (2*100 - 196)/2 = 2;  c1 {5, 7, 6, 6}: s2 = (4*146 - 576)/12 = 2/3.
//      Var = 0.0625*2/2 + 0.5625*(2/3)/4 = 0.0625 + 0.09375 = 0.15625
//      SE_S = 10 * sqrt(0.15625) / 0.5 = 7.9057.
//   Theme and index: SE = sqrt(25^2 + 62.5) / 2 = sqrt(171.875) = 13.1101;
//   h = 1.96 * 13.1101 = 25.6958.
struct TinyWijk {
  std::array<int64_t, kCellCount> population{100, 300, 0, 0, 0, 0, 0, 0};
  WijkState state;
  TinyWijk() {
    state.stats.assign(kCellCount * 2, SufficientStats{});
    state.stats[0 * 2 + 0] = Stats({1, 0});
    state.stats[1 * 2 + 0] = Stats({1, 1, 0, 0});
    state.stats[0 * 2 + 1] = Stats({6, 8});
    state.stats[1 * 2 + 1] = Stats({5, 7, 6, 6});
  }
  UnitMember member() const { return UnitMember{&population, &state}; }
};

// e = 20, r = 163 (window 14); WIJKONDERZOEK: net 6, 3 in the last 14 days.
// projected = 6 + 3/14 * 163 = 573/14 = 40.928571; g = 573/84 = 6.821429.
WijkQuota TinyQuota(const Methodology& m, int64_t net = 6, int64_t recent = 3) {
  WijkQuota q;
  q.progress.elapsed = 20;
  q.progress.remaining = 163;
  q.progress.has_watermark = true;
  InstrumentQuota& wo = q.instruments[static_cast<int>(Instrument::kWijkonderzoek)];
  wo.instrument = Instrument::kWijkonderzoek;
  wo.net = net;
  wo.recent = recent;
  wo.projected = Projected(net, recent, q.progress, m.quota);
  return q;
}

TEST(Precision, TheGrowthFactorIsTheProjectionOverTheNet) {
  const Methodology& m = DefaultMethodology();
  FieldworkProgress p{20, 163, 0, true};
  EXPECT_DOUBLE_EQ(GrowthFactor(6, 3, p, m.quota), 573.0 / 84.0);
  EXPECT_EQ(GrowthFactor(0, 3, p, m.quota), 1.0);   // nothing counted: 1
  EXPECT_EQ(GrowthFactor(6, 0, p, m.quota), 1.0);   // no pace
  p.remaining = 0;                                   // fieldwork over
  EXPECT_EQ(GrowthFactor(6, 3, p, m.quota), 1.0);
  p = FieldworkProgress{5, 178, 0, true};            // e = 5 < 14: window 5
  EXPECT_DOUBLE_EQ(GrowthFactor(10, 5, p, m.quota), (10.0 * 5 + 5.0 * 178) / 50.0);
  EXPECT_EQ(GrowthFactor(10, 5, FieldworkProgress{}, m.quota), 1.0);  // e = 0
}

TEST(Precision, AWijkByHand) {
  const Methodology m = Tiny();
  const TinyWijk w;
  const UnitMember member = w.member();
  const UnitScores now = ComputeUnitScores(std::span<const UnitMember>(&member, 1), m, nullptr);
  ASSERT_TRUE(now.indices[0].has_value);
  EXPECT_NEAR(now.indices[0].score_se, std::sqrt(171.875), 1e-12);
  EXPECT_EQ(now.indices[0].status, EstimateStatus::kLowPrecision);  // n = 6 < 10

  const WijkPrecision p = ProjectWijk(member, TinyQuota(m), now, m);
  EXPECT_DOUBLE_EQ(p.growth[static_cast<int>(Instrument::kWijkonderzoek)], 573.0 / 84.0);
  ASSERT_EQ(p.indices.size(), 1u);
  const IndexPrecision& x = p.indices[0];
  EXPECT_EQ(x.id, "FI");
  EXPECT_EQ(x.instrument, Instrument::kWijkonderzoek);
  EXPECT_NEAR(x.half_width, 25.695816780168713, 1e-9);
  // h' = 1.96 * sqrt(171.875 / g) = 9.838406; n' = 6 g = 40.9: OK.
  ASSERT_TRUE(x.has_value_at_close);
  EXPECT_NEAR(x.half_width_at_close, 9.83840641759103, 1e-9);
  EXPECT_EQ(x.status_at_close, EstimateStatus::kOk);
  EXPECT_TRUE(x.imprecise_at_close);  // 9.84 > 4
  EXPECT_TRUE(p.imprecise_at_close);
  // needed = ceil(net (h/H)^2 - projected) = ceil(6 * 660.275/16 - 40.928571)
  //        = ceil(206.674554) = 207.
  ASSERT_TRUE(x.responses_needed.has_value());
  EXPECT_EQ(*x.responses_needed, 207);
  // a_P = 10 * 100 / (10 * 2 * 1) = 50, a_M = 10 * 1 / (0.5 * 2 * 1) = 10.
  // gain_c0 = 2500*0.0625*0.5/(2*3) + 100*0.0625*2/(2*3) = 90.625/6 = 15.104167
  // gain_c1 = 2500*0.5625*(1/3)/(4*5) + 100*0.5625*(2/3)/(4*5) = 506.25/20 = 25.3125
  ASSERT_EQ(x.cells.size(), 2u);  // cells without population are not listed
  EXPECT_EQ(x.cells[0].cell, 1);
  EXPECT_NEAR(x.cells[0].gain, 25.3125, 1e-9);
  EXPECT_EQ(x.cells[1].cell, 0);
  EXPECT_NEAR(x.cells[1].gain, 90.625 / 6, 1e-9);
  EXPECT_FALSE(x.cells[0].empty);
  EXPECT_EQ(x.cells[0].allocated + x.cells[1].allocated, 207);
  // The projected scores of the indicators: SE / sqrt(g).
  EXPECT_NEAR(p.at_close.indicators[0].score_se, 25.0 / std::sqrt(573.0 / 84.0), 1e-9);
  EXPECT_DOUBLE_EQ(p.at_close.indicators[0].score, now.indicators[0].score);
}

TEST(Precision, NeededIsZeroWhenTheProjectionReachesTheTargetAndNullWithoutAValue) {
  Methodology m = Tiny();
  m.estimation.precision_target = 10;  // h' = 9.84 <= 10
  const TinyWijk w;
  const UnitMember member = w.member();
  const UnitScores now = ComputeUnitScores(std::span<const UnitMember>(&member, 1), m, nullptr);
  WijkPrecision p = ProjectWijk(member, TinyQuota(m), now, m);
  EXPECT_FALSE(p.indices[0].imprecise_at_close);
  EXPECT_FALSE(p.imprecise_at_close);
  EXPECT_EQ(p.indices[0].responses_needed, 0);
  for (const CellGain& c : p.indices[0].cells) EXPECT_EQ(c.allocated, 0);

  // No responses of the instrument in the quota: no figure, with the reason.
  p = ProjectWijk(member, TinyQuota(m, 0, 0), now, m);
  EXPECT_FALSE(p.indices[0].responses_needed.has_value());
  EXPECT_EQ(p.indices[0].needed_reason, NeededReason::kNoResponses);

  // Suppressed now (n = 6 < 7) but not at the close (n' = 40.9): no h, no figure.
  m.estimation.suppress_below_n = 7;
  const UnitScores none = ComputeUnitScores(std::span<const UnitMember>(&member, 1), m, nullptr);
  ASSERT_FALSE(none.indices[0].has_value);
  p = ProjectWijk(member, TinyQuota(m), none, m);
  EXPECT_FALSE(p.indices[0].responses_needed.has_value());
  EXPECT_EQ(p.indices[0].needed_reason, NeededReason::kNoValueNow);
  EXPECT_TRUE(p.indices[0].has_value_at_close);

  // Suppressed at the close too (g = 1): imprecise at the close.
  p = ProjectWijk(member, TinyQuota(m, 6, 0), none, m);
  EXPECT_FALSE(p.indices[0].has_value_at_close);
  EXPECT_EQ(p.indices[0].status_at_close, EstimateStatus::kSuppressed);
  EXPECT_TRUE(p.imprecise_at_close);
  EXPECT_TRUE(p.indices[0].cells.empty());
}

TEST(Precision, ACellWithoutAnswersIsListedFirstAndGetsNothing) {
  const Methodology m = Tiny();
  TinyWijk w;
  w.population[2] = 200;  // men 30-44: people, no answers
  const UnitMember member = w.member();
  const UnitScores now = ComputeUnitScores(std::span<const UnitMember>(&member, 1), m, nullptr);
  const WijkPrecision p = ProjectWijk(member, TinyQuota(m), now, m);
  const IndexPrecision& x = p.indices[0];
  ASSERT_EQ(x.cells.size(), 3u);
  EXPECT_EQ(x.cells[0].cell, 2);
  EXPECT_TRUE(x.cells[0].empty);
  EXPECT_EQ(x.cells[0].gain, 0);
  EXPECT_EQ(x.cells[0].allocated, 0);
  EXPECT_EQ(x.cells[1].allocated + x.cells[2].allocated, *x.responses_needed);
}

// Variance of an allocation: sum over cells and terms of coefficient / (n + added).
double VarianceOf(const std::array<std::vector<VarianceTerm>, kCellCount>& terms,
                  const std::array<int64_t, kCellCount>& added) {
  double v = 0;
  for (int c = 0; c < kCellCount; ++c) {
    for (const VarianceTerm& t : terms[c]) v += t.coefficient / static_cast<double>(t.n + added[c]);
  }
  return v;
}

TEST(Precision, TheGreedyAllocationIsAnExactOptimumInSmallExhaustiveCases) {
  std::mt19937 rng(7);
  std::uniform_real_distribution<double> coef(0.0, 50.0);
  std::uniform_int_distribution<int> count(1, 6);
  for (int round = 0; round < 200; ++round) {
    std::array<std::vector<VarianceTerm>, kCellCount> terms;
    std::array<bool, kCellCount> eligible{};
    for (int c = 0; c < 3; ++c) {  // three cells, one or two terms each
      eligible[c] = true;
      const int k = 1 + round % 2;
      for (int i = 0; i < k; ++i) terms[c].push_back(VarianceTerm{coef(rng), count(rng)});
    }
    for (int64_t extra = 0; extra <= 6; ++extra) {
      const std::array<int64_t, kCellCount> greedy = AllocateGreedily(terms, eligible, extra);
      EXPECT_EQ(greedy[0] + greedy[1] + greedy[2], extra);
      double best = std::numeric_limits<double>::infinity();
      for (int64_t a = 0; a <= extra; ++a) {
        for (int64_t b = 0; a + b <= extra; ++b) {
          std::array<int64_t, kCellCount> alloc{};
          alloc[0] = a;
          alloc[1] = b;
          alloc[2] = extra - a - b;
          best = std::min(best, VarianceOf(terms, alloc));
        }
      }
      EXPECT_LE(VarianceOf(terms, greedy), best * (1 + 1e-12)) << "round " << round << ", extra " << extra;
    }
  }
}

TEST(Precision, CellGainIsTheVarianceOneMoreAnswerRemoves) {
  const std::vector<VarianceTerm> terms{{12.0, 3}, {5.0, 1}};
  // 12/3 - 12/4 = 1; 5/1 - 5/2 = 2.5.
  EXPECT_DOUBLE_EQ(CellGainOf(terms, 0), 3.5);
  // 12/5 - 12/6 = 0.4; 5/3 - 5/4 = 5/12.
  EXPECT_DOUBLE_EQ(CellGainOf(terms, 2), 0.4 + 5.0 / 12.0);
}

// Properties over random wijken of the default methodology: the projection
// changes nothing when nothing more is expected, and the half-width at the
// close never grows as more responses are expected or counted.
TEST(Precision, TheProjectedHalfWidthEqualsTodaysWithoutGrowthAndNeverGrows) {
  const Methodology& m = DefaultMethodology();
  const int k = static_cast<int>(m.indicators.size());
  std::mt19937 rng(11);
  int flat_compared = 0, growth_compared = 0, doubled_compared = 0;  // none skipped wholesale
  for (int round = 0; round < 40; ++round) {
    std::array<int64_t, kCellCount> population{};
    WijkState state;
    state.stats.assign(static_cast<size_t>(kCellCount) * k, SufficientStats{});
    std::uniform_int_distribution<int> n_of(0, 25);
    for (int c = 0; c < kCellCount; ++c) {
      population[c] = 100 + 50 * c;
      for (int i = 0; i < k; ++i) {
        const IndicatorDef& def = m.indicators[i];
        const int n = n_of(rng);
        for (int j = 0; j < n; ++j) {
          const int y = def.type == IndicatorType::kPercent ? static_cast<int>(rng() % 2) : 1 + static_cast<int>(rng() % 10);
          SufficientStats& s = state.stats[static_cast<size_t>(c) * k + i];
          ++s.n;
          s.sum += y;
          s.sumsq += y * y;
        }
      }
    }
    const UnitMember member{&population, &state};
    const UnitScores now = ComputeUnitScores(std::span<const UnitMember>(&member, 1), m, nullptr);
    WijkQuota quota = TinyQuota(m, 40, 0);
    quota.instruments[0].net = 40;
    const WijkPrecision flat = ProjectWijk(member, quota, now, m);
    for (size_t x = 0; x < now.indices.size(); ++x) {
      EXPECT_EQ(flat.indices[x].has_value_at_close, now.indices[x].has_value);
      if (now.indices[x].has_value) {
        EXPECT_EQ(flat.indices[x].half_width_at_close, flat.indices[x].half_width);
        ++flat_compared;
      }
    }
    double previous[3] = {1e300, 1e300, 1e300};
    for (int64_t recent : {0, 1, 3, 10, 40}) {
      WijkQuota q = TinyQuota(m, 40, recent);
      q.instruments[0] = q.instruments[1];
      q.instruments[0].instrument = Instrument::kVeiligheidsmonitor;
      const WijkPrecision p = ProjectWijk(member, q, now, m);
      for (size_t x = 0; x < p.indices.size(); ++x) {
        // (Over the same components: one unsuppressed at the close joins the
        // mean, and a component with a wide interval may widen it.)
        if (!p.indices[x].has_value_at_close ||
            p.at_close.indices[x].components_used != now.indices[x].components_used) {
          continue;
        }
        EXPECT_LE(p.indices[x].half_width_at_close, previous[x] * (1 + 1e-12));
        previous[x] = p.indices[x].half_width_at_close;
        ++growth_compared;
      }
    }
    // Every answer counted twice over (n doubled, same means): never wider.
    WijkState twice = state;
    for (SufficientStats& s : twice.stats) {
      s.n *= 2;
      s.sum *= 2;
      s.sumsq *= 2;
    }
    const UnitMember more{&population, &twice};
    const UnitScores now2 = ComputeUnitScores(std::span<const UnitMember>(&more, 1), m, nullptr);
    const WijkPrecision p1 = ProjectWijk(member, TinyQuota(m, 40, 5), now, m);
    const WijkPrecision p2 = ProjectWijk(more, TinyQuota(m, 40, 5), now2, m);
    for (size_t x = 0; x < p1.indices.size(); ++x) {
      if (p1.indices[x].has_value_at_close &&
          p1.at_close.indices[x].components_used == p2.at_close.indices[x].components_used) {
        ASSERT_TRUE(p2.indices[x].has_value_at_close);
        EXPECT_LE(p2.indices[x].half_width_at_close, p1.indices[x].half_width_at_close * (1 + 1e-12));
        ++doubled_compared;
      }
    }
  }
  EXPECT_EQ(flat_compared, 120);     // 40 wijken x 3 indices: every one has a value
  EXPECT_GT(growth_compared, 500);   // of 40 x 5 x 3
  EXPECT_EQ(doubled_compared, 120);
}

}  // namespace
}  // namespace wijkpuls
