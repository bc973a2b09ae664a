#include "score/quota.h"

#include <algorithm>
#include <numeric>

#include "absl/numeric/int128.h"
#include "model/text.h"

namespace wijkpuls {

std::string_view WireName(QuotaStatus s) {
  switch (s) {
    case QuotaStatus::kBehind:
      return "BEHIND";
    case QuotaStatus::kAtRisk:
      return "AT_RISK";
    case QuotaStatus::kEarly:
      return "EARLY";
    case QuotaStatus::kOnTrack:
      return "ON_TRACK";
    case QuotaStatus::kComplete:
      return "COMPLETE";
  }
  return "UNKNOWN";
}

std::array<int64_t, kCellCount> ApportionTarget(int64_t target,
                                                const std::array<int64_t, kCellCount>& population) {
  std::array<int64_t, kCellCount> out{};
  const int64_t total = std::accumulate(population.begin(), population.end(), int64_t{0});
  if (total <= 0 || target <= 0) return out;
  // Quotas target * pop / total in exact integer arithmetic: floor and remainder.
  std::array<int64_t, kCellCount> remainder{};
  int64_t assigned = 0;
  for (int c = 0; c < kCellCount; ++c) {
    const Int128 q = static_cast<Int128>(target) * population[c];
    out[c] = static_cast<int64_t>(q / total);
    remainder[c] = static_cast<int64_t>(q % total);
    assigned += out[c];
  }
  std::array<int, kCellCount> order{};
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(),
                   [&](int a, int b) { return remainder[a] > remainder[b]; });
  for (int i = 0; assigned < target; ++i, ++assigned) ++out[order[i]];
  return out;
}

FieldworkProgress ProgressAt(const Wave& wave, UnixNanos watermark, const Methodology& m) {
  FieldworkProgress p;
  p.has_watermark = watermark != 0;
  if (p.has_watermark) {
    p.watermark_day = m.LocalDay(watermark);
    p.elapsed = wave.RoundDaysThrough(p.watermark_day);
  }
  p.remaining = wave.fieldwork_days - p.elapsed;
  return p;
}

double Projected(int64_t net, int64_t recent, const FieldworkProgress& progress, const QuotaRules& rules) {
  const int window = std::min(rules.pace_window_days, progress.elapsed);
  if (window <= 0) return static_cast<double>(net);
  // (net · w + recent · r) / w: one rounding, so 18 + 17/14 · 84 shows as 120.
  return static_cast<double>(net * window + recent * progress.remaining) / window;
}

QuotaStatus StatusOf(int64_t net, int64_t target, int64_t recent, const FieldworkProgress& progress,
                     const QuotaRules& rules) {
  if (net >= target) return QuotaStatus::kComplete;
  if (progress.elapsed < rules.early_days) return QuotaStatus::kEarly;
  // projected · window; with no window (e = 0) the rate is 0: projected = net.
  const int window = std::min(rules.pace_window_days, progress.elapsed);
  const absl::int128 w = window > 0 ? window : 1;
  const absl::int128 projected_w = absl::int128(net) * w +
                               (window > 0 ? absl::int128(recent) * progress.remaining : 0);
  if (projected_w >= absl::int128(target) * w) return QuotaStatus::kOnTrack;
  if (projected_w * 1'000'000 >= absl::int128(rules.at_risk_millionths) * target * w) {
    return QuotaStatus::kAtRisk;
  }
  return QuotaStatus::kBehind;
}

WijkQuota ComputeWijkQuota(const Wijk& wijk, int wijk_index, const WijkState* state,
                           const Wave& wave, UnixNanos watermark, const Methodology& m) {
  static const WijkState kEmpty;
  const WijkState& s = state ? *state : kEmpty;
  const QuotaRules& rules = m.quota;
  WijkQuota q;
  q.wijk = wijk_index;
  q.progress = ProgressAt(wave, watermark, m);
  q.invited = wijk.invited;
  const int e = q.progress.elapsed;
  const int r = q.progress.remaining;
  // target · e / (e + r), the one rounding at the end (so a figure that is a
  // whole number, such as 25 · 183 / 183, is shown as one).
  auto pace = [&](int64_t target) {
    return e + r > 0 ? static_cast<double>(target * e) / static_cast<double>(e + r) : 0.0;
  };
  const int window = std::min(rules.pace_window_days, e);
  const std::vector<DayNumber> pace_days =
      e > 0 ? wave.LastRoundDays(q.progress.watermark_day, window) : std::vector<DayNumber>{};

  const std::array<int64_t, kCellCount> cell_targets = ApportionTarget(wijk.target, wijk.population);
  int64_t counted = 0;
  q.status = QuotaStatus::kComplete;
  for (Instrument ins : kAllInstruments) {
    InstrumentQuota& iq = q.instruments[static_cast<int>(ins)];
    iq.instrument = ins;
    iq.target = wijk.target;
    for (int c = 0; c < kCellCount; ++c) {
      const CellTally& t = s.cells[QuotaCellIndex(ins, c)];
      CellQuota& cq = iq.cells[c];
      cq.target = cell_targets[c];
      cq.accepted = t.accepted;
      cq.flagged = t.flagged;
      cq.rejected = t.rejected;
      cq.net = t.accepted + (rules.count_flagged_in_net ? t.flagged : 0);
      cq.surplus = std::max<int64_t>(0, cq.net - cq.target);
      cq.expected_by_now = pace(cq.target);
      // net < 0.8 · target · e / (e + r), in integers.
      cq.behind = e >= rules.early_days &&
                  absl::int128(cq.net) * (e + r) * 1'000'000 <
                      absl::int128(rules.cell_behind_millionths) * cq.target * e;
      iq.accepted += t.accepted;
      iq.flagged += t.flagged;
      iq.rejected += t.rejected;
    }
    iq.net = iq.accepted + (rules.count_flagged_in_net ? iq.flagged : 0);
    iq.surplus = std::max<int64_t>(0, iq.net - iq.target);
    iq.expected_by_now = pace(iq.target);
    int64_t recent = 0;
    for (DayNumber d : pace_days) {
      auto it = s.days.find(d);
      if (it == s.days.end()) continue;
      const int i = static_cast<int>(ins);
      recent += it->second.accepted[i] + (rules.count_flagged_in_net ? it->second.flagged[i] : 0);
    }
    iq.recent = recent;
    iq.rate = window > 0 ? static_cast<double>(recent) / window : 0.0;
    iq.projected = Projected(iq.net, iq.recent, q.progress, rules);
    iq.status = StatusOf(iq.net, iq.target, iq.recent, q.progress, rules);
    q.status = std::min(q.status, iq.status);
    counted += iq.accepted + iq.flagged;
  }
  q.response_rate = wijk.invited > 0 ? static_cast<double>(counted) / wijk.invited : 0.0;
  return q;
}

QuotaTotals SumQuotas(const std::vector<const WijkQuota*>& wijken, const QuotaRules& rules) {
  QuotaTotals t;
  FieldworkProgress progress;
  for (const WijkQuota* w : wijken) {
    t.invited += w->invited;
    ++t.wijken_by_status[static_cast<int>(w->status)];
    t.risk = std::min(t.risk, QuotaRisk(*w));
    progress = w->progress;  // the same watermark for every wijk of a wave
    for (Instrument ins : kAllInstruments) {
      const InstrumentQuota& a = w->instruments[static_cast<int>(ins)];
      InstrumentQuota& s = t.instruments[static_cast<int>(ins)];
      s.instrument = ins;
      s.target += a.target;
      s.net += a.net;
      s.accepted += a.accepted;
      s.flagged += a.flagged;
      s.rejected += a.rejected;
      s.surplus += a.surplus;
      s.recent += a.recent;
      s.rate += a.rate;
      s.expected_by_now += a.expected_by_now;
      t.counted += a.accepted + a.flagged;
      for (const CellQuota& c : a.cells) t.cells_behind += c.behind;
    }
  }
  t.status = QuotaStatus::kComplete;
  for (InstrumentQuota& s : t.instruments) {
    s.projected = Projected(s.net, s.recent, progress, rules);
    s.status = StatusOf(s.net, s.target, s.recent, progress, rules);
    t.status = std::min(t.status, s.status);
  }
  t.response_rate = t.invited > 0 ? static_cast<double>(t.counted) / t.invited : 0.0;
  return t;
}

std::string CellBehindLabel(Instrument instrument, int cell) {
  return Cat(ShortName(instrument), ": ", CellSex(cell) == Sex::kMale ? "men " : "women ",
                      Label(CellAge(cell)));
}

std::vector<std::string> CellsBehind(const WijkQuota& q) {
  std::vector<std::string> out;
  for (const InstrumentQuota& iq : q.instruments) {
    for (int c = 0; c < kCellCount; ++c) {
      if (iq.cells[c].behind) out.push_back(CellBehindLabel(iq.instrument, c));
    }
  }
  return out;
}

double QuotaRisk(const WijkQuota& q) {
  double r = 1e9;
  for (const InstrumentQuota& iq : q.instruments) {
    if (iq.target <= 0) continue;
    r = std::min(r, iq.status == QuotaStatus::kComplete ? 2.0 : iq.projected / static_cast<double>(iq.target));
  }
  return r == 1e9 ? 2.0 : r;
}

}  // namespace wijkpuls
