#include "score/aggregates_codec.h"

#include "model/text.h"

namespace wijkpuls {

using v1::QualityGroupState;
using v1::QualityState;
using v1::QuotaState;
using v1::StatsState;

namespace {

void EncodeGroup(const QualityGroup& g, QualityGroupState* out) {
  out->set_accepted(g.accepted);
  out->set_flagged(g.flagged);
  for (int f = 0; f < kQualityFlagCount; ++f) {
    if (g.by_flag[f] != 0) (*out->mutable_by_flag())[static_cast<uint32_t>(f)] = g.by_flag[f];
  }
  for (int r = 0; r < kRejectReasonCount; ++r) {
    if (g.rejected[r] != 0) (*out->mutable_rejected())[static_cast<uint32_t>(r)] = g.rejected[r];
  }
  out->set_answers(g.answers);
  out->set_dont_know(g.dont_know);
  out->set_refused(g.refused);
  out->set_not_applicable(g.not_applicable);
  for (const auto& [secs, n] : g.durations.Sorted()) {
    out->add_durations(secs);
    out->add_durations(n);
  }
}

// False for a count of a flag or reason this release does not know.
bool DecodeGroup(const QualityGroupState& in, QualityGroup& g) {
  if (in.durations_size() % 2 != 0) return false;
  g.accepted = in.accepted();
  g.flagged = in.flagged();
  for (const auto& [f, n] : in.by_flag()) {
    if (f >= static_cast<uint32_t>(kQualityFlagCount)) return false;
    g.by_flag[f] = n;
  }
  for (const auto& [r, n] : in.rejected()) {
    if (r >= static_cast<uint32_t>(kRejectReasonCount)) return false;
    g.rejected[r] = n;
  }
  g.answers = in.answers();
  g.dont_know = in.dont_know();
  g.refused = in.refused();
  g.not_applicable = in.not_applicable();
  std::vector<DurationCounts::value_type> durations;
  durations.reserve(static_cast<size_t>(in.durations_size() / 2));
  for (int j = 0; j < in.durations_size(); j += 2) durations.emplace_back(in.durations(j), in.durations(j + 1));
  g.durations.AddAll(std::move(durations));
  return true;
}

}  // namespace

QuotaState EncodeQuota(const WijkState& w) {
  QuotaState q;
  for (const CellTally& c : w.cells) {
    q.add_cells(c.accepted);
    q.add_cells(c.flagged);
    q.add_cells(c.rejected);
  }
  for (const auto& [day, t] : w.days) {
    q.add_days(day);
    for (int64_t v : t.accepted) q.add_days(v);
    for (int64_t v : t.flagged) q.add_days(v);
  }
  q.set_watermark(w.watermark);
  return q;
}

StatsState EncodeStats(const WijkState& w, int indicator_count) {
  StatsState s;
  if (w.stats.empty()) return s;
  s.set_indicator_count(static_cast<uint32_t>(indicator_count));
  for (const SufficientStats& x : w.stats) {
    s.add_values(x.n);
    s.add_values(x.sum);
    s.add_values(x.sumsq);
  }
  return s;
}

QualityState EncodeQuality(const QualityTally& t) {
  QualityState q;
  EncodeGroup(t.total, q.mutable_total());
  for (const QualityGroup& g : t.by_mode) EncodeGroup(g, q.add_by_mode());
  for (const auto& [id, g] : t.by_interviewer) EncodeGroup(g, &(*q.mutable_by_interviewer())[id]);
  for (const auto& [item, n] : t.dropped_by_item) {
    q.add_dropped_by_item(item);
    q.add_dropped_by_item(n);
  }
  q.set_unknown_items(t.unknown_items);
  q.set_other_instrument_items(t.other_instrument_items);
  return q;
}

bool DecodeQuality(const QualityState& quality, QualityTally& t) {
  if (!DecodeGroup(quality.total(), t.total)) return false;
  if (quality.by_mode_size() != 0 && quality.by_mode_size() != kModeCount) return false;
  for (int i = 0; i < quality.by_mode_size(); ++i) {
    if (!DecodeGroup(quality.by_mode(i), t.by_mode[i])) return false;
  }
  for (const auto& [id, g] : quality.by_interviewer()) {
    if (!DecodeGroup(g, t.by_interviewer[id])) return false;
  }
  if (quality.dropped_by_item_size() % 2 != 0) return false;
  for (int i = 0; i < quality.dropped_by_item_size(); i += 2) {
    t.dropped_by_item[static_cast<uint16_t>(quality.dropped_by_item(i))] = quality.dropped_by_item(i + 1);
  }
  t.unknown_items = quality.unknown_items();
  t.other_instrument_items = quality.other_instrument_items();
  return true;
}

absl::Status DecodeAggregates(const QuotaState* quota, const StatsState* stats,
                              const QualityState* quality, int indicator_count, WijkState& w) {
  const auto corrupt = [](std::string_view what) {
    return absl::DataLossError(Cat("a ", what, " aggregate is corrupt"));
  };
  if (quota) {
    if (quota->cells_size() != static_cast<int>(w.cells.size()) * 3 ||
        quota->days_size() % (1 + 2 * kInstrumentCount) != 0) {
      return corrupt("quota");
    }
    for (size_t c = 0; c < w.cells.size(); ++c) {
      w.cells[c] = CellTally{quota->cells(3 * c), quota->cells(3 * c + 1), quota->cells(3 * c + 2)};
    }
    for (int i = 0; i < quota->days_size(); i += 1 + 2 * kInstrumentCount) {
      DayTally& d = w.days[static_cast<DayNumber>(quota->days(i))];
      for (int k = 0; k < kInstrumentCount; ++k) {
        d.accepted[k] = quota->days(i + 1 + k);
        d.flagged[k] = quota->days(i + 1 + kInstrumentCount + k);
      }
    }
    w.watermark = quota->watermark();
  }
  if (stats && stats->values_size() > 0) {
    if (static_cast<int>(stats->indicator_count()) != indicator_count) {
      return absl::FailedPreconditionError(
          "stored statistics were computed with another methodology: run `wijkpuls rebuild`");
    }
    if (stats->values_size() != kCellCount * indicator_count * 3) return corrupt("stats");
    w.stats.resize(static_cast<size_t>(kCellCount) * indicator_count);
    for (size_t i = 0; i < w.stats.size(); ++i) {
      w.stats[i] = SufficientStats{stats->values(3 * i), stats->values(3 * i + 1),
                                   stats->values(3 * i + 2)};
    }
  }
  if (quality && !DecodeQuality(*quality, w.quality)) return corrupt("quality");
  return absl::OkStatus();
}

std::string SummaryKey(int32_t task, const StateKey& key) { return Cat(task, "/", key.wave, "/", key.wijk); }

std::string EncodeSummary(int32_t task, const StateKey& key, SummaryPosition position, const WijkState& w,
                          int indicator_count, std::string_view instance) {
  v1::TaskSummary s;
  s.set_task(task);
  s.set_wave(key.wave);
  s.set_wijk(key.wijk);
  s.set_responses_offset(position.responses);
  s.set_withdrawals(position.withdrawals);
  *s.mutable_quota() = EncodeQuota(w);
  *s.mutable_stats() = EncodeStats(w, indicator_count);
  *s.mutable_quality() = EncodeQuality(w.quality);
  s.set_instance(std::string(instance));
  return s.SerializeAsString();
}

absl::StatusOr<Summary> DecodeSummary(std::string_view bytes, int indicator_count) {
  v1::TaskSummary s;
  if (!s.ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) {
    return absl::DataLossError("a summary is not a wijkpuls.v1.TaskSummary");
  }
  auto w = std::make_shared<WijkState>();
  if (absl::Status st = DecodeAggregates(&s.quota(), &s.stats(), &s.quality(), indicator_count, *w); !st.ok()) {
    return st;
  }
  Summary out;
  out.task = s.task();
  out.key = StateKey{s.wave(), s.wijk()};
  out.position = SummaryPosition{s.responses_offset(), s.withdrawals()};
  out.state = std::move(w);
  return out;
}

}  // namespace wijkpuls
