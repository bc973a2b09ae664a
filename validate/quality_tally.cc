#include "validate/quality_tally.h"

#include "validate/methodology.h"

namespace wijkpuls {
namespace {

void AddToGroup(QualityGroup& g, const CountedResponse& r, bool flagged, int sign) {
  (flagged ? g.flagged : g.accepted) += sign;
  for (QualityFlag f : kAllQualityFlags) {
    if (r.flags.Has(f)) g.by_flag[static_cast<int>(f)] += sign;
  }
  for (const ItemAnswer& a : r.answers) {
    g.answers += sign;
    g.dont_know += sign * (a.value == kDontKnow);
    g.refused += sign * (a.value == kRefused);
    g.not_applicable += sign * (a.value == kNotApplicable);
  }
  if (std::optional<int64_t> d = r.DurationSeconds()) g.durations.Add(*d, sign);
}

}  // namespace

bool QualityGroup::Empty() const { return *this == QualityGroup{}; }

void QualityTally::AddCounted(const CountedResponse& r, bool flagged, int sign) {
  AddToGroup(total, r, flagged, sign);
  AddToGroup(by_mode[static_cast<int>(r.mode)], r, flagged, sign);
  if (!r.interviewer_id.empty()) {
    auto it = by_interviewer.try_emplace(r.interviewer_id).first;
    AddToGroup(it->second, r, flagged, sign);
    if (it->second.Empty()) by_interviewer.erase(it);
  }
  for (uint16_t item : r.dropped_items) {
    auto& v = dropped_by_item[item];
    v += sign;
    if (v == 0) dropped_by_item.erase(item);
  }
  unknown_items += sign * r.unknown_items;
  other_instrument_items += sign * r.other_instrument_items;
}

void QualityTally::AddRejected(const Attribution& a, RejectReason reason) {
  const int r = static_cast<int>(reason);
  ++total.rejected[r];
  if (a.mode) ++by_mode[static_cast<int>(*a.mode)].rejected[r];
  if (!a.interviewer_id.empty()) ++by_interviewer[a.interviewer_id].rejected[r];
}

std::optional<Quartiles> DurationQuartiles(const DurationCounts& durations) {
  Quartiles q;
  for (const auto& [secs, n] : durations) q.count += n;
  if (q.count == 0) return std::nullopt;
  // rank(p) = ceil(p * N), at least 1.
  auto rank = [&](int num, int den) { return std::max<int64_t>(1, (q.count * num + den - 1) / den); };
  const int64_t ranks[3] = {rank(1, 4), rank(1, 2), rank(3, 4)};
  int64_t* out[3] = {&q.q1, &q.median, &q.q3};
  int next = 0;
  int64_t seen = 0;
  for (const auto& [secs, n] : durations) {
    seen += n;
    while (next < 3 && seen >= ranks[next]) *out[next++] = secs;
  }
  return q;
}

}  // namespace wijkpuls
