#include "score/wijk_state.h"

#include <algorithm>

namespace wijkpuls {

const SufficientStats& WijkState::Stat(int cell, int indicator, int indicator_count) const {
  static const SufficientStats kEmpty;
  const size_t i = static_cast<size_t>(cell) * indicator_count + indicator;
  return i < stats.size() ? stats[i] : kEmpty;
}

std::optional<int> IndicatorValue(const IndicatorDef& d, int code) {
  if (IsMissingCode(code)) return std::nullopt;
  if (d.type == IndicatorType::kPercent) return d.Counts(code) ? 1 : 0;
  return code;
}

void ApplyCounted(WijkState& s, const CountedResponse& r, Outcome outcome, const Methodology& m,
                  int sign, QualityTally* quality_change) {
  const bool accepted = outcome == Outcome::kAccepted;
  const int cell = r.Cell();
  CellTally& ct = s.cells[QuotaCellIndex(r.instrument, cell)];
  (accepted ? ct.accepted : ct.flagged) += sign;

  const DayNumber day = m.LocalDay(r.submitted_at);
  DayTally& dt = s.days[day];
  (accepted ? dt.accepted : dt.flagged)[static_cast<int>(r.instrument)] += sign;
  if (dt.Empty()) s.days.erase(day);

  if (accepted) {
    const int k = static_cast<int>(m.indicators.size());
    if (s.stats.empty()) s.stats.resize(static_cast<size_t>(kCellCount) * k);
    for (const ItemAnswer& a : r.answers) {
      for (int ind : m.IndicatorsOfItem(a.item)) {
        std::optional<int> y = IndicatorValue(m.indicators[ind], a.value);
        if (!y) continue;
        SufficientStats& st = s.stats[static_cast<size_t>(cell) * k + ind];
        st.n += sign;
        st.sum += sign * *y;
        st.sumsq += sign * *y * *y;
      }
    }
    // Keep "no statistics" in one form, so that a state after a withdrawal
    // equals the state rebuilt without the withdrawn response.
    if (sign < 0 && std::all_of(s.stats.begin(), s.stats.end(),
                                [](const SufficientStats& x) { return x == SufficientStats{}; })) {
      s.stats.clear();
    }
  }
  s.quality.AddCounted(r, !accepted, sign);
  if (quality_change != nullptr) quality_change->AddCounted(r, !accepted, sign);
}

void ApplyRejected(WijkState& s, const Attribution& a, RejectReason reason,
                   QualityTally* quality_change, int sign) {
  if (a.HasCell()) {
    s.cells[QuotaCellIndex(*a.instrument, CellIndex(*a.age_band, *a.sex))].rejected += sign;
  }
  s.quality.AddRejected(a, reason, sign);
  if (quality_change != nullptr) quality_change->AddRejected(a, reason, sign);
}

}  // namespace wijkpuls
