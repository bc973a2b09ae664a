#include "score/precision.h"

#include <algorithm>
#include <cmath>

namespace wijkpuls {

double GrowthFactor(int64_t net, int64_t recent, const FieldworkProgress& progress,
                    const QuotaRules& rules) {
  if (net < 1) return 1.0;
  const int window = std::min(rules.pace_window_days, progress.elapsed);
  if (window <= 0 || recent <= 0 || progress.remaining <= 0) return 1.0;
  // projected / net = (net * w + recent * r) / (w * net): integers, one rounding.
  const Int128 num = static_cast<Int128>(net) * window + static_cast<Int128>(recent) * progress.remaining;
  const Int128 den = static_cast<Int128>(net) * window;
  return static_cast<double>(num) / static_cast<double>(den);
}

GrowthFactors GrowthOf(const WijkQuota& quota, const Methodology& m) {
  GrowthFactors g{};
  for (int i = 0; i < kInstrumentCount; ++i) {
    const InstrumentQuota& q = quota.instruments[i];
    g[i] = GrowthFactor(q.net, q.recent, quota.progress, m.quota);
  }
  return g;
}

std::string_view Describe(NeededReason r) {
  switch (r) {
    case NeededReason::kNone:
      return "";
    case NeededReason::kNoResponses:
      return "no responses of the instrument yet";
    case NeededReason::kNoValueNow:
      return "the index has no value yet";
  }
  return "";
}

double CellGainOf(std::span<const VarianceTerm> terms, int64_t added) {
  double gain = 0;
  for (const VarianceTerm& t : terms) {
    const double n = static_cast<double>(t.n + added);
    gain += t.coefficient / (n * (n + 1));
  }
  return gain;
}

std::array<int64_t, kCellCount> AllocateGreedily(const std::array<std::vector<VarianceTerm>, kCellCount>& terms,
                                                 const std::array<bool, kCellCount>& eligible, int64_t extra) {
  std::array<int64_t, kCellCount> added{};
  std::array<double, kCellCount> gain{};
  bool any = false;
  for (int c = 0; c < kCellCount; ++c) {
    if (!eligible[c] || terms[c].empty()) continue;
    gain[c] = CellGainOf(terms[c], 0);
    any = true;
  }
  if (!any) return added;
  for (int64_t k = 0; k < extra; ++k) {
    int best = -1;
    for (int c = 0; c < kCellCount; ++c) {
      if (!eligible[c] || terms[c].empty()) continue;
      if (best < 0 || gain[c] > gain[best]) best = c;  // ties: the lower cell
    }
    ++added[best];
    gain[best] = CellGainOf(terms[best], added[best]);
  }
  return added;
}

namespace {

// The variance terms of one index per cell of a wijk: its indicators used at
// the close, a_i = scale * m_i / (sigma0_i * k_t * K).
std::array<std::vector<VarianceTerm>, kCellCount> IndexTerms(const IndexDef& x, const UnitMember& member,
                                                            const UnitScores& at_close, int index,
                                                            const Methodology& m) {
  std::array<std::vector<VarianceTerm>, kCellCount> terms;
  const ScoreValue& xs = at_close.indices[index];
  if (!xs.has_value || member.state == nullptr) return terms;
  const int k = static_cast<int>(m.indicators.size());
  const double big_k = xs.components_used;
  for (int t : x.themes) {
    const ScoreValue& ts = at_close.themes[t];
    if (!ts.has_value) continue;
    const double k_t = ts.components_used;
    for (int i : m.themes[t].indicators) {
      if (!at_close.indicators[i].has_value) continue;
      const IndicatorDef& def = m.indicators[i];
      const double m_i = def.type == IndicatorType::kPercent ? 100.0 : 1.0;
      const double a = m.estimation.score_scale * m_i / (def.sigma0 * k_t * big_k);
      std::array<StratumInput, kCellCount> cells;
      for (int c = 0; c < kCellCount; ++c) {
        cells[c] = StratumInput{(*member.population)[c], member.state->Stat(c, i, k)};
      }
      const PresentCells present = SumPresent(cells);
      ForEachStratum(cells, present, [&](size_t c, double w, double s2) {
        terms[c].push_back(VarianceTerm{a * a * w * w * s2, cells[c].stats.n});
      });
    }
  }
  return terms;
}

Instrument InstrumentOf(const IndexDef& x, const Methodology& m) {
  for (int t : x.themes) {
    for (int i : m.themes[t].indicators) return m.codebook.items()[m.indicators[i].item].instrument;
  }
  return Instrument::kVeiligheidsmonitor;
}

}  // namespace

WijkPrecision ProjectWijk(const UnitMember& member, const WijkQuota& quota, const UnitScores& now,
                          const Methodology& m) {
  WijkPrecision out;
  out.growth = GrowthOf(quota, m);
  out.at_close = ComputeUnitScores(std::span<const UnitMember>(&member, 1), m, nullptr, &out.growth);
  const double z = m.estimation.z;
  const double target = m.estimation.precision_target;
  for (size_t x = 0; x < m.indices.size(); ++x) {
    const IndexDef& def = m.indices[x];
    IndexPrecision p;
    p.id = def.id;
    p.instrument = InstrumentOf(def, m);
    p.growth = out.growth[static_cast<int>(p.instrument)];
    const ScoreValue& cur = now.indices[x];
    const ScoreValue& end = out.at_close.indices[x];
    p.has_value = cur.has_value;
    p.status = cur.status;
    if (cur.has_value) p.half_width = z * cur.score_se;
    p.has_value_at_close = end.has_value;
    p.status_at_close = end.status;
    if (end.has_value) p.half_width_at_close = z * end.score_se;
    p.imprecise_at_close = !end.has_value || p.half_width_at_close > target;

    const InstrumentQuota& q = quota.instruments[static_cast<int>(p.instrument)];
    if (q.net < 1) {
      p.needed_reason = NeededReason::kNoResponses;
    } else if (!cur.has_value) {
      p.needed_reason = NeededReason::kNoValueNow;
    } else if (p.half_width * p.half_width <= target * target * p.growth) {
      p.responses_needed = 0;  // h <= H * sqrt(g): the projection reaches the target
    } else {
      const double wanted = static_cast<double>(q.net) * (p.half_width / target) * (p.half_width / target);
      p.responses_needed = std::max<int64_t>(0, static_cast<int64_t>(std::ceil(wanted - q.projected)));
    }

    const std::array<std::vector<VarianceTerm>, kCellCount> terms = IndexTerms(def, member, out.at_close,
                                                                             static_cast<int>(x), m);
    std::array<bool, kCellCount> eligible{};
    if (end.has_value) {
      for (int c = 0; c < kCellCount; ++c) {
        if ((*member.population)[c] <= 0) continue;
        CellGain g;
        g.cell = c;
        g.empty = terms[c].empty();
        eligible[c] = !g.empty;
        if (!g.empty) g.gain = CellGainOf(terms[c], 0);
        p.cells.push_back(g);
      }
      const std::array<int64_t, kCellCount> added =
          AllocateGreedily(terms, eligible, p.responses_needed.value_or(0));
      for (CellGain& g : p.cells) g.allocated = added[g.cell];
      std::stable_sort(p.cells.begin(), p.cells.end(), [](const CellGain& a, const CellGain& b) {
        if (a.empty != b.empty) return a.empty;
        return a.gain > b.gain;
      });
    }
    out.imprecise_at_close = out.imprecise_at_close || p.imprecise_at_close;
    out.indices.push_back(std::move(p));
  }
  return out;
}

}  // namespace wijkpuls
