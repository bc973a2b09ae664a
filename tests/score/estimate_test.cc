// Post-stratified estimation and scores (methodology sections 4 and 5),
// golden cases computed by hand; the arithmetic is in the comments.
#include "score/estimate.h"

#include <gtest/gtest.h>

#include <cmath>

#include "tests/support/test_support.h"

namespace wijkpuls {
namespace {

using testing::DefaultMethodology;

// Thresholds lowered so that tiny hand-made units are not suppressed.
EstimationParams Unsuppressed() {
  EstimationParams p = DefaultMethodology().estimation;
  p.suppress_below_n = 1;
  p.low_precision_below_n = 1;
  return p;
}

SufficientStats Stats(std::initializer_list<int> ys) {
  SufficientStats s;
  for (int y : ys) {
    ++s.n;
    s.sum += y;
    s.sumsq += y * y;
  }
  return s;
}

// Cells with populations 100, 300, 600 and 1000 (the last one empty).
//  c1: n = 2, c2: n = 1 (pooled variance), c3: n = 3, c4: n = 0 (weights renormalised).
// W = N_c / (100 + 300 + 600) = 0.1, 0.3, 0.6 over the present cells.

TEST(Estimate, PercentIndicatorByHand) {
  // y: c1 {1, 0}, c2 {1}, c3 {1, 1, 0}.
  // ybar = 0.5, 1, 2/3. theta = 0.1*0.5 + 0.3*1 + 0.6*2/3 = 0.75 -> 75 %.
  // s2: c1 (2*1 - 1^2)/(2*1) = 0.5; c3 (3*2 - 2^2)/(3*2) = 1/3;
  //     c2 has one answer: the unit's variance, n = 6, sum = 4, sumsq = 4:
  //     (6*4 - 16)/(6*5) = 8/30.
  // Var = 0.01*0.5/2 + 0.09*(8/30)/1 + 0.36*(1/3)/3 = 0.0025 + 0.024 + 0.04 = 0.0665
  // SE = sqrt(0.0665) = 0.257876 -> 25.7876 %.
  // n_eff = 1 / (0.01/2 + 0.09/1 + 0.36/3) = 1 / 0.215 = 4.651163.
  const StratumInput cells[] = {{100, Stats({1, 0})}, {300, Stats({1})}, {600, Stats({1, 1, 0})}, {1000, {}}};
  Estimate e = EstimateIndicator(cells, IndicatorType::kPercent, Unsuppressed());
  ASSERT_TRUE(e.has_value);
  EXPECT_EQ(e.n, 6);
  EXPECT_NEAR(e.theta, 75.0, 1e-12);
  EXPECT_NEAR(e.se, 25.787593916455254, 1e-9);
  EXPECT_NEAR(e.n_eff, 4.651162790697675, 1e-9);

  // VB_ONVEILIG: dir -1, mu0 28, sigma0 9.
  // S = 100 + 10 * (-1) * (75 - 28) / 9 = 100 - 470/9 = 47.7778
  // SE_S = 10 * 25.7876 / 9 = 28.6529; Wald: CI = 47.7778 -/+ 1.96 * 28.6529.
  const IndicatorDef& def = DefaultMethodology().indicators[0];
  EstimationParams wald = Unsuppressed();
  wald.proportion_interval = ProportionInterval::kWald;
  ScoreValue s = IndicatorScore(def, e, wald);
  EXPECT_NEAR(s.score, 47.77777777777778, 1e-9);
  EXPECT_NEAR(s.score_se, 28.65288212939473, 1e-9);
  EXPECT_NEAR(s.ci_low, 47.77777777777778 - 1.96 * 28.65288212939473, 1e-9);
  EXPECT_NEAR(s.ci_high, 47.77777777777778 + 1.96 * 28.65288212939473, 1e-9);
  EXPECT_EQ(s.band, Band::kMuchWorse);

  // Wilson (the default), methodology section 5: p = 0.75, SE_p = 0.2578759,
  // n* = min(6, 0.75 * 0.25 / 0.0665) = 2.8195489; z² = 3.8416;
  // centre = (0.75 + 3.8416 / 5.6390977) / (1 + 3.8416 / 2.8195489) = 0.6057207,
  // half = 1.96 * sqrt(0.1875 / 2.8195489 + 3.8416 / (4 * 2.8195489²)) / 2.3624800 = 0.3591573;
  // p in [0.2467633, 0.9648780]; S(96.4878) = 23.9024, S(24.6763) = 103.6930.
  ScoreValue w = IndicatorScore(def, e, Unsuppressed());
  EXPECT_EQ(w.score, s.score);
  EXPECT_EQ(w.score_se, s.score_se);
  EXPECT_NEAR(DesignEffectiveN(e), 2.819548872180451, 1e-9);
  EXPECT_NEAR(w.ci_low, 23.902442685870483, 1e-9);
  EXPECT_NEAR(w.ci_high, 103.69296460060141, 1e-9);
}

// A proportion of 0 has SE 0: the Wald interval of GE_GEWELD with 31 answers
// and no victim was exactly [120, 120] (issue #23). Wilson's on n* = n_eff = 31:
// p_hi = z² / (31 + z²) = 3.8416 / 34.8416 = 0.1102590; S(11.0259) =
// 100 - 10 * (11.0259 - 6) / 3 = 83.2470. At p = 1 the mirror image.
TEST(Estimate, APercentageOfZeroOrOneHasAnHonestInterval) {
  const Methodology& m = DefaultMethodology();
  const IndicatorDef* def = nullptr;
  for (const IndicatorDef& d : m.indicators) {
    if (d.id == "GE_GEWELD") def = &d;
  }
  ASSERT_NE(def, nullptr);
  SufficientStats none, all;
  none.n = 31;
  all.n = 31;
  all.sum = 31;
  all.sumsq = 31;
  const StratumInput zero[] = {{1000, none}};
  const Estimate e0 = EstimateIndicator(zero, IndicatorType::kPercent, m.estimation);
  ASSERT_TRUE(e0.has_value);
  EXPECT_EQ(e0.se, 0.0);
  const ScoreValue s0 = IndicatorScore(*def, e0, m.estimation);
  EXPECT_NEAR(s0.score, 120.0, 1e-9);
  EXPECT_NEAR(s0.ci_low, 83.24699975508204, 1e-9);
  EXPECT_NEAR(s0.ci_high, 120.0, 1e-9);
  EstimationParams wald = m.estimation;
  wald.proportion_interval = ProportionInterval::kWald;
  const ScoreValue w0 = IndicatorScore(*def, e0, wald);
  EXPECT_EQ(w0.ci_low, w0.ci_high);  // what it was

  // p = 1: S = 100 - 10 * (100 - 6) / 3 = -213.33, the interval's low end;
  // p_lo = 31 / 34.8416 = 0.8897410 gives its high end.
  const StratumInput one[] = {{1000, all}};
  const Estimate e1 = EstimateIndicator(one, IndicatorType::kPercent, m.estimation);
  const ScoreValue s1 = IndicatorScore(*def, e1, m.estimation);
  EXPECT_NEAR(s1.ci_low, s1.score, 1e-9);
  EXPECT_NEAR(s1.ci_high, 100 - 10 * (100 * 31 / 34.8416 - 6) / 3, 1e-9);
  EXPECT_GT(s1.ci_high, s1.score);

  // A mean indicator keeps S -/+ z SE.
  const IndicatorDef* mean = nullptr;
  for (const IndicatorDef& d : m.indicators) {
    if (d.type == IndicatorType::kMean && !mean) mean = &d;
  }
  ASSERT_NE(mean, nullptr);
  const StratumInput grades[] = {{500, Stats({6, 7, 8, 7, 6})}, {500, Stats({5, 9, 7})}};
  const Estimate em = EstimateIndicator(grades, IndicatorType::kMean, Unsuppressed());
  const ScoreValue sm = IndicatorScore(*mean, em, Unsuppressed());
  EXPECT_NEAR(sm.ci_high - sm.score, sm.score - sm.ci_low, 1e-9);
  EXPECT_NEAR(sm.ci_high - sm.score, 1.96 * sm.score_se, 1e-9);
}


TEST(Estimate, MeanIndicatorByHand) {
  // Grades: c1 {6, 8}, c2 {5}, c3 {7, 7, 10}.
  // ybar = 7, 5, 8 -> theta = 0.1*7 + 0.3*5 + 0.6*8 = 7.0
  // s2: c1 (2*100 - 14^2)/2 = 2; c3 (3*198 - 24^2)/6 = 3;
  //     c2 pooled: n = 6, sum = 43, sumsq = 323: (6*323 - 43^2)/30 = 89/30.
  // Var = 0.01*2/2 + 0.09*(89/30) + 0.36*3/3 = 0.01 + 0.267 + 0.36 = 0.637; SE = 0.798123.
  const StratumInput cells[] = {{100, Stats({6, 8})}, {300, Stats({5})}, {600, Stats({7, 7, 10})}, {1000, {}}};
  Estimate e = EstimateIndicator(cells, IndicatorType::kMean, Unsuppressed());
  EXPECT_NEAR(e.theta, 7.0, 1e-12);
  EXPECT_NEAR(e.se, 0.7981227975693966, 1e-12);
  // OR_SCHOON: dir +1, mu0 6.2, sigma0 0.5: S = 100 + 10 * 0.8 / 0.5 = 116;
  // SE_S = 10 * 0.798123 / 0.5 = 15.962456. Band: 110 < 116 <= 130, BETTER.
  const Methodology& m = DefaultMethodology();
  const IndicatorDef* def = nullptr;
  for (const IndicatorDef& d : m.indicators) {
    if (d.id == "OR_SCHOON") def = &d;
  }
  ASSERT_NE(def, nullptr);
  ScoreValue s = IndicatorScore(*def, e, Unsuppressed());
  EXPECT_NEAR(s.score, 116.0, 1e-9);
  EXPECT_NEAR(s.score_se, 15.962455951387932, 1e-9);
  EXPECT_EQ(s.band, Band::kBetter);
}

// A θ exactly at a band edge gets the band the methodology writes, although
// μ₀ and σ₀ are decimals a double cannot hold (found by an audit: 40
// answers of 6 to F05 scored 89.99999999999999, WORSE; θ = 8.3 for OR_GROEN
// scored 130.00000000000003, MUCH_BETTER).
TEST(Estimate, AThetaAtABandEdgeGetsTheBandAsWritten) {
  const Methodology& m = DefaultMethodology();
  auto def = [&](const char* id) {
    for (const IndicatorDef& d : m.indicators) {
      if (d.id == id) return d;
    }
    ADD_FAILURE() << id;
    return IndicatorDef{};
  };
  Estimate e;
  e.n = 40;
  e.has_value = true;
  e.status = EstimateStatus::kOk;
  e.theta = 6.0;  // OR_ONDERHOUD: 100 + 10 * (6 - 6.4) / 0.4 = 90
  ScoreValue s = IndicatorScore(def("OR_ONDERHOUD"), e, Unsuppressed());
  EXPECT_EQ(s.score, 90.0);
  EXPECT_EQ(s.band, Band::kAverage);
  // A theme of that one component: the same score and band.
  const ScoreValue one[] = {s};
  EXPECT_EQ(CombineScores("openbare ruimte", one, Unsuppressed()).band, Band::kAverage);
  e.theta = 8.3;  // OR_GROEN: 100 + 10 * (8.3 - 6.8) / 0.5 = 130
  s = IndicatorScore(def("OR_GROEN"), e, Unsuppressed());
  EXPECT_EQ(s.score, 130.0);
  EXPECT_EQ(s.band, Band::kBetter);
}

TEST(Estimate, OneAnswerInTheWholeUnitHasZeroVariance) {
  const StratumInput cells[] = {{100, Stats({1})}, {300, {}}};
  Estimate e = EstimateIndicator(cells, IndicatorType::kPercent, Unsuppressed());
  EXPECT_NEAR(e.theta, 100.0, 1e-12);
  EXPECT_EQ(e.se, 0.0);
  EXPECT_NEAR(e.n_eff, 1.0, 1e-12);
}

TEST(Estimate, SuppressionAt29And30AndLowPrecisionAt49And50) {
  const EstimationParams& p = DefaultMethodology().estimation;
  auto with_n = [&](int n) {
    SufficientStats s;
    s.n = n;
    s.sum = n / 2;
    s.sumsq = n / 2;
    const StratumInput cells[] = {{1000, s}};
    return EstimateIndicator(cells, IndicatorType::kPercent, p);
  };
  EXPECT_EQ(with_n(29).status, EstimateStatus::kSuppressed);
  EXPECT_FALSE(with_n(29).has_value);
  EXPECT_EQ(with_n(29).n, 29);  // n is reported even when the value is not
  EXPECT_EQ(with_n(30).status, EstimateStatus::kLowPrecision);
  EXPECT_TRUE(with_n(30).has_value);
  EXPECT_EQ(with_n(49).status, EstimateStatus::kLowPrecision);
  EXPECT_EQ(with_n(50).status, EstimateStatus::kOk);
  EXPECT_EQ(with_n(0).status, EstimateStatus::kSuppressed);
}

ScoreValue Component(double score, double se, EstimateStatus status, int64_t n = 100) {
  ScoreValue s;
  s.has_value = status != EstimateStatus::kSuppressed;
  s.score = score;
  s.score_se = se;
  s.status = status;
  s.n = n;
  return s;
}

TEST(Combine, ThemesNeedHalfOfTheirIndicatorsRoundedUp) {
  const EstimationParams& p = DefaultMethodology().estimation;
  // 3 indicators, one suppressed: 2 >= ceil(3/2) = 2 used.
  // value (110 + 96)/2 = 103; SE = sqrt(3^2 + 4^2)/2 = 2.5; LOW_PRECISION (one used is).
  const ScoreValue three[] = {Component(110, 3, EstimateStatus::kOk, 80),
                              Component(0, 0, EstimateStatus::kSuppressed, 20),
                              Component(96, 4, EstimateStatus::kLowPrecision, 40)};
  ScoreValue t = CombineScores("theme", three, p);
  ASSERT_TRUE(t.has_value);
  EXPECT_DOUBLE_EQ(t.score, 103.0);
  EXPECT_DOUBLE_EQ(t.score_se, 2.5);
  EXPECT_DOUBLE_EQ(t.ci_low, 103.0 - 1.96 * 2.5);
  EXPECT_EQ(t.status, EstimateStatus::kLowPrecision);
  EXPECT_EQ(t.components_used, 2);
  EXPECT_EQ(t.components_total, 3);
  EXPECT_EQ(t.n, 40);
  EXPECT_EQ(t.band, Band::kAverage);
  // Two of three suppressed: 1 < 2 -> SUPPRESSED.
  const ScoreValue one_of_three[] = {Component(110, 3, EstimateStatus::kOk), Component(0, 0, EstimateStatus::kSuppressed),
                                     Component(0, 0, EstimateStatus::kSuppressed)};
  EXPECT_EQ(CombineScores("theme", one_of_three, p).status, EstimateStatus::kSuppressed);
  EXPECT_FALSE(CombineScores("theme", one_of_three, p).has_value);
  // One of two: 1 >= ceil(2/2) = 1 -> published, OK.
  const ScoreValue one_of_two[] = {Component(120, 6, EstimateStatus::kOk), Component(0, 0, EstimateStatus::kSuppressed)};
  ScoreValue u = CombineScores("theme", one_of_two, p);
  EXPECT_TRUE(u.has_value);
  EXPECT_DOUBLE_EQ(u.score, 120.0);
  EXPECT_DOUBLE_EQ(u.score_se, 6.0);
  EXPECT_EQ(u.status, EstimateStatus::kOk);
  // Two of four: 2 >= 2 -> published.
  const ScoreValue two_of_four[] = {Component(90, 2, EstimateStatus::kOk), Component(0, 0, EstimateStatus::kSuppressed),
                                    Component(100, 2, EstimateStatus::kOk), Component(0, 0, EstimateStatus::kSuppressed)};
  ScoreValue v = CombineScores("theme", two_of_four, p);
  EXPECT_TRUE(v.has_value);
  EXPECT_DOUBLE_EQ(v.score, 95.0);
  EXPECT_DOUBLE_EQ(v.score_se, std::sqrt(8.0) / 2);
}

TEST(Bands, EdgesFollowTheMethodology) {
  const EstimationParams& p = DefaultMethodology().estimation;
  EXPECT_EQ(BandOf(69.999, p), Band::kMuchWorse);
  EXPECT_EQ(BandOf(70.0, p), Band::kWorse);
  EXPECT_EQ(BandOf(89.999, p), Band::kWorse);
  EXPECT_EQ(BandOf(90.0, p), Band::kAverage);
  EXPECT_EQ(BandOf(110.0, p), Band::kAverage);
  EXPECT_EQ(BandOf(110.001, p), Band::kBetter);
  EXPECT_EQ(BandOf(130.0, p), Band::kBetter);
  EXPECT_EQ(BandOf(130.001, p), Band::kMuchBetter);
}

TEST(UnitScores, AnEmptyUnitIsSuppressedEverywhere) {
  const Methodology& m = DefaultMethodology();
  std::array<int64_t, kCellCount> pop{10, 10, 10, 10, 10, 10, 10, 10};
  const UnitMember members[] = {{&pop, nullptr}};
  UnitScores s = ComputeUnitScores(members, m, nullptr);
  ASSERT_EQ(s.indicators.size(), m.indicators.size());
  ASSERT_EQ(s.indices.size(), 3u);
  for (const ScoreValue& v : s.indicators) EXPECT_EQ(v.status, EstimateStatus::kSuppressed);
  for (const ScoreValue& v : s.indices) EXPECT_FALSE(v.has_value);
}

TEST(UnitScores, TheSameCountsGiveBitIdenticalScores) {
  // Sums run in a fixed order over integer statistics: no dependence on
  // the order responses arrived in.
  const Methodology& m = DefaultMethodology();
  const int k = static_cast<int>(m.indicators.size());
  WijkState a;
  a.stats.resize(static_cast<size_t>(kCellCount) * k);
  for (size_t i = 0; i < a.stats.size(); ++i) a.stats[i] = SufficientStats{static_cast<int64_t>(40 + i % 7), static_cast<int64_t>(20 + i % 5), static_cast<int64_t>(20 + i % 5)};
  WijkState b = a;
  std::array<int64_t, kCellCount> pop{11, 13, 17, 19, 23, 29, 31, 37};
  const UnitMember ma[] = {{&pop, &a}};
  const UnitMember mb[] = {{&pop, &b}};
  UnitScores x = ComputeUnitScores(ma, m, nullptr);
  UnitScores y = ComputeUnitScores(mb, m, nullptr);
  for (size_t i = 0; i < x.indicators.size(); ++i) {
    EXPECT_EQ(std::memcmp(&x.indicators[i].score, &y.indicators[i].score, sizeof(double)), 0);
  }
}

}  // namespace
}  // namespace wijkpuls
