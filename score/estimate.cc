#include "score/estimate.h"

#include <algorithm>
#include <cmath>

namespace wijkpuls {

std::string_view WireName(EstimateStatus s) {
  switch (s) {
    case EstimateStatus::kOk:
      return "OK";
    case EstimateStatus::kLowPrecision:
      return "LOW_PRECISION";
    case EstimateStatus::kSuppressed:
      return "SUPPRESSED";
  }
  return "UNKNOWN";
}

std::string_view WireName(Band b) {
  switch (b) {
    case Band::kNone:
      return "BAND_UNSPECIFIED";
    case Band::kMuchWorse:
      return "MUCH_WORSE";
    case Band::kWorse:
      return "WORSE";
    case Band::kAverage:
      return "AVERAGE";
    case Band::kBetter:
      return "BETTER";
    case Band::kMuchBetter:
      return "MUCH_BETTER";
  }
  return "UNKNOWN";
}

double SampleVariance(const SufficientStats& s) {
  if (s.n < 2) return 0.0;
  // (n * sumsq - sum^2) / (n (n - 1)): the numerator is an exact integer.
  const Int128 num = static_cast<Int128>(s.n) * s.sumsq - static_cast<Int128>(s.sum) * s.sum;
  return static_cast<double>(num) / (static_cast<double>(s.n) * static_cast<double>(s.n - 1));
}

PresentCells SumPresent(std::span<const StratumInput> cells) {
  PresentCells p;
  for (const StratumInput& c : cells) {
    if (c.stats.n < 1) continue;
    p.unit.n += c.stats.n;
    p.unit.sum += c.stats.sum;
    p.unit.sumsq += c.stats.sumsq;
    p.population += c.population;
  }
  return p;
}

Estimate EstimateIndicator(std::span<const StratumInput> cells, IndicatorType type,
                           const EstimationParams& params, double growth) {
  Estimate e;
  const PresentCells present = SumPresent(cells);
  e.n = present.unit.n;
  // n' = g * n, compared as a real number (exact for g = 1: n is far below 2^53).
  const double n_at = growth * static_cast<double>(e.n);
  e.status = n_at < static_cast<double>(params.suppress_below_n)       ? EstimateStatus::kSuppressed
             : n_at < static_cast<double>(params.low_precision_below_n) ? EstimateStatus::kLowPrecision
                                                                         : EstimateStatus::kOk;
  if (e.n == 0 || present.population == 0) {
    e.status = EstimateStatus::kSuppressed;
    return e;
  }
  double theta = 0;
  double variance = 0;
  double inv_n_eff = 0;
  ForEachStratum(cells, present, [&](size_t i, double w, double s2) {
    const double nc = static_cast<double>(cells[i].stats.n);
    theta += w * (static_cast<double>(cells[i].stats.sum) / nc);
    variance += w * w * s2 / nc;
    inv_n_eff += w * w / nc;
  });
  if (growth != 1.0) {
    variance /= growth;
    inv_n_eff /= growth;
  }
  e.n_eff = inv_n_eff > 0 ? 1.0 / inv_n_eff : 0.0;
  const double scale = type == IndicatorType::kPercent ? 100.0 : 1.0;
  e.has_value = e.status != EstimateStatus::kSuppressed;
  if (e.has_value) {
    e.theta = theta * scale;
    e.se = std::sqrt(variance) * scale;
  }
  return e;
}

Band BandOf(double score, const EstimationParams& p) {
  if (score < p.much_worse_below) return Band::kMuchWorse;
  if (score < p.worse_below) return Band::kWorse;
  if (score <= p.average_up_to) return Band::kAverage;
  if (score <= p.better_up_to) return Band::kBetter;
  return Band::kMuchBetter;
}

// A score to nine decimals. μ₀ and σ₀ are decimals that binary fractions
// cannot hold (6.4, 0.4), so a θ exactly at a band edge came out a rounding
// error beside it: 100 + 10 · (6 − 6.4) / 0.4 gave 89.99999999999999, WORSE
// instead of AVERAGE. Nine decimals is far below anything published (one
// decimal) and far above the error of a double near 100.
namespace {
double RoundScore(double score) { return std::round(score * 1e9) / 1e9; }
}  // namespace

ProportionBounds WilsonBounds(double p, double n_star, double z) {
  const double z2 = z * z;
  const double denom = 1 + z2 / n_star;
  const double centre = (p + z2 / (2 * n_star)) / denom;
  const double half = z * std::sqrt(p * (1 - p) / n_star + z2 / (4 * n_star * n_star)) / denom;
  return ProportionBounds{std::max(0.0, centre - half), std::min(1.0, centre + half)};
}

double DesignEffectiveN(const Estimate& e) {
  const double p = e.theta / 100;
  const double se = e.se / 100;
  const double n = static_cast<double>(e.n);
  if (p > 0 && p < 1 && se > 0) return std::min(n, p * (1 - p) / (se * se));
  return std::min(n, e.n_eff);
}

ScoreValue IndicatorScore(const IndicatorDef& def, const Estimate& e, const EstimationParams& p) {
  ScoreValue s;
  s.id = def.id;
  s.n = e.n;
  s.n_eff = e.n_eff;
  s.status = e.status;
  s.has_value = e.has_value;
  if (!s.has_value) return s;
  s.value = e.theta;
  s.value_se = e.se;
  auto score_of = [&](double theta) {
    return p.score_center + p.score_scale * def.dir * (theta - def.mu0) / def.sigma0;
  };
  s.score = RoundScore(score_of(e.theta));
  s.score_se = p.score_scale * e.se / def.sigma0;
  const double n_star = def.type == IndicatorType::kPercent ? DesignEffectiveN(e) : 0;
  if (p.proportion_interval == ProportionInterval::kWilson && n_star > 0) {
    // The proportion's bounds, through the same linear map as θ: ordered
    // again, since dir = -1 reverses them.
    const ProportionBounds b = WilsonBounds(e.theta / 100, n_star, p.z);
    const double a = score_of(100 * b.low);
    const double c = score_of(100 * b.high);
    s.ci_low = std::min(a, c);
    s.ci_high = std::max(a, c);
  } else {
    s.ci_low = s.score - p.z * s.score_se;
    s.ci_high = s.score + p.z * s.score_se;
  }
  s.band = BandOf(s.score, p);
  return s;
}

ScoreValue CombineScores(const std::string& id, std::span<const ScoreValue> components,
                         const EstimationParams& p) {
  ScoreValue s;
  s.id = id;
  s.components_total = static_cast<int>(components.size());
  double sum = 0;
  double sum_var = 0;
  bool low_precision = false;
  int64_t min_n = -1;
  for (const ScoreValue& c : components) {
    if (!c.has_value) continue;
    ++s.components_used;
    sum += c.score;
    sum_var += c.score_se * c.score_se;
    low_precision = low_precision || c.status == EstimateStatus::kLowPrecision;
    min_n = min_n < 0 ? c.n : std::min(min_n, c.n);
  }
  s.n = std::max<int64_t>(min_n, 0);
  const int needed = (s.components_total + 1) / 2;
  if (s.components_used == 0 || s.components_used < needed) {
    s.status = EstimateStatus::kSuppressed;
    return s;
  }
  const double k = s.components_used;
  s.has_value = true;
  s.status = low_precision ? EstimateStatus::kLowPrecision : EstimateStatus::kOk;
  s.score = RoundScore(sum / k);
  s.score_se = std::sqrt(sum_var) / k;
  s.ci_low = s.score - p.z * s.score_se;
  s.ci_high = s.score + p.z * s.score_se;
  s.band = BandOf(s.score, p);
  return s;
}

UnitScores ComputeUnitScores(std::span<const UnitMember> members, const Methodology& m,
                             const std::map<std::string, double>* references,
                             const GrowthFactors* growth) {
  const int k = static_cast<int>(m.indicators.size());
  UnitScores out;
  std::vector<StratumInput> cells(members.size() * kCellCount);
  for (int ind = 0; ind < k; ++ind) {
    for (size_t w = 0; w < members.size(); ++w) {
      for (int c = 0; c < kCellCount; ++c) {
        StratumInput& in = cells[w * kCellCount + c];
        in.population = (*members[w].population)[c];
        in.stats = members[w].state ? members[w].state->Stat(c, ind, k) : SufficientStats{};
      }
    }
    const IndicatorDef& def = m.indicators[ind];
    const double g =
        growth ? (*growth)[static_cast<int>(m.codebook.items()[def.item].instrument)] : 1.0;
    const Estimate e = EstimateIndicator(cells, def.type, m.estimation, g);
    out.indicators.push_back(IndicatorScore(m.indicators[ind], e, m.estimation));
  }
  for (const ThemeDef& t : m.themes) {
    std::vector<ScoreValue> parts;
    for (int ind : t.indicators) parts.push_back(out.indicators[ind]);
    out.themes.push_back(CombineScores(t.id, parts, m.estimation));
  }
  for (const IndexDef& x : m.indices) {
    std::vector<ScoreValue> parts;
    for (int th : x.themes) parts.push_back(out.themes[th]);
    ScoreValue v = CombineScores(x.id, parts, m.estimation);
    if (references) {
      auto it = references->find(x.id);
      if (it != references->end()) v.reference = it->second;
    }
    out.indices.push_back(std::move(v));
  }
  return out;
}

}  // namespace wijkpuls
