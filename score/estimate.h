// Post-stratified estimation (methodology section 4) and the scores built on
// it (section 5), as pure functions over integer sufficient statistics. The
// sums run over cells in the order given, so equal inputs give bit-identical
// results whatever the order responses arrived in.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "score/wijk_state.h"
#include "model/methodology.h"

namespace wijkpuls {

enum class EstimateStatus : uint8_t { kOk = 1, kLowPrecision = 2, kSuppressed = 3 };
enum class Band : uint8_t { kNone = 0, kMuchWorse = 1, kWorse = 2, kAverage = 3, kBetter = 4, kMuchBetter = 5 };
std::string_view WireName(EstimateStatus s);
std::string_view WireName(Band b);

// One post-stratification cell of a unit: its register population N_c and the
// statistics of the indicator's y values in it.
struct StratumInput {
  int64_t population = 0;
  SufficientStats stats;
};

struct Estimate {
  int64_t n = 0;        // answers used
  double n_eff = 0;     // 1 / sum(W_c^2 / n_c); 0 when n = 0
  bool has_value = false;  // false when SUPPRESSED
  double theta = 0;     // x100 for percent indicators
  double se = 0;        // x100 for percent indicators
  EstimateStatus status = EstimateStatus::kSuppressed;
};

// The unweighted statistics of the present cells (n_c >= 1) and their
// population.
struct PresentCells {
  SufficientStats unit;
  int64_t population = 0;
};
PresentCells SumPresent(std::span<const StratumInput> cells);

// Unbiased sample variance (n - 1 denominator) from integer sums; 0 for n < 2.
double SampleVariance(const SufficientStats& s);

// Calls visit(i, W_c, s2_c) for every present cell i in the order given, with
// section 4's weight (over the present cells) and the variance that enters SE
// (the pooled one of `present` for a cell of one answer). The estimator and
// the projection (score/precision.cc) share it. Nothing when the present
// population is 0.
template <typename Visit>
void ForEachStratum(std::span<const StratumInput> cells, const PresentCells& present, Visit visit) {
  if (present.population == 0) return;
  const double pooled_variance = SampleVariance(present.unit);
  for (size_t i = 0; i < cells.size(); ++i) {
    const StratumInput& c = cells[i];
    if (c.stats.n < 1) continue;
    const double w = static_cast<double>(c.population) / static_cast<double>(present.population);
    visit(i, w, c.stats.n >= 2 ? SampleVariance(c.stats) : pooled_variance);
  }
}

// theta, SE, n, n_eff and status of one indicator over the given cells.
// `growth` g >= 1 projects the estimate to the close of fieldwork
// (methodology section 8): every cell's n_c becomes g * n_c (a real number),
// so SE / sqrt(g), n_eff * g and the status of g * n; theta is unchanged.
// With g = 1 it is the estimate of section 4, bit for bit.
Estimate EstimateIndicator(std::span<const StratumInput> cells, IndicatorType type,
                           const EstimationParams& params, double growth = 1.0);

Band BandOf(double score, const EstimationParams& params);

// Wilson's score interval of a proportion p (0..1) on n* observations at z.
struct ProportionBounds {
  double low = 0, high = 0;
};
ProportionBounds WilsonBounds(double p, double n_star, double z);
// The design's effective sample size of a percent estimate (Korn and
// Graubard): p(1 - p) / SE² of the proportion, at most n; when p is 0 or 1 (SE
// 0) Kish's n_eff of the weights, at most n.
double DesignEffectiveN(const Estimate& e);

// A score of an indicator, theme or index.
struct ScoreValue {
  std::string id;
  bool has_value = false;
  double value = 0;     // indicators: theta
  double value_se = 0;  // indicators: SE(theta)
  double score = 0;
  double score_se = 0;
  double ci_low = 0;
  double ci_high = 0;
  int64_t n = 0;      // indicators: answers; themes/indices: smallest n of the components used
  double n_eff = 0;   // indicators only
  EstimateStatus status = EstimateStatus::kSuppressed;
  Band band = Band::kNone;
  int components_used = 0;
  int components_total = 0;
  std::optional<double> reference;  // indices: reference value from the previous measurement
};

// S = centre + scale * dir * (theta - mu0) / sigma0 and its interval.
ScoreValue IndicatorScore(const IndicatorDef& def, const Estimate& e, const EstimationParams& p);

// The mean of the non-suppressed components, published when at least half of
// them (rounded up) are non-suppressed; SE = sqrt(sum SE^2) / k.
ScoreValue CombineScores(const std::string& id, std::span<const ScoreValue> components,
                         const EstimationParams& p);

// All scores of one unit.
struct UnitScores {
  std::vector<ScoreValue> indicators;  // methodology order
  std::vector<ScoreValue> themes;
  std::vector<ScoreValue> indices;
};

// The cells of a unit: for every wijk of the unit (in register order), its
// population per age x sex cell and its state (null: nothing counted).
struct UnitMember {
  const std::array<int64_t, kCellCount>* population = nullptr;
  const WijkState* state = nullptr;
};

// `growth`, when given, projects every indicator to the close of fieldwork
// with its instrument's growth factor (methodology section 8); themes and
// indices are then combined over the indicators used at the close.
using GrowthFactors = std::array<double, kInstrumentCount>;
UnitScores ComputeUnitScores(std::span<const UnitMember> members, const Methodology& m,
                             const std::map<std::string, double>* references,
                             const GrowthFactors* growth = nullptr);

}  // namespace wijkpuls
