#include "score/pace.h"

#include <algorithm>
#include <map>

namespace wijkpuls {

std::array<InstrumentPace, kInstrumentCount> ComputePace(std::span<const PaceMember> members, const Wave& wave,
                                                         UnixNanos watermark, const Methodology& m) {
  std::array<InstrumentPace, kInstrumentCount> out;
  std::array<std::map<DayNumber, int64_t>, kInstrumentCount> by_day;
  for (int i = 0; i < kInstrumentCount; ++i) out[i].instrument = static_cast<Instrument>(i);
  for (const PaceMember& w : members) {
    for (InstrumentPace& p : out) p.target += w.target;
    if (w.state == nullptr) continue;
    for (const auto& [day, tally] : w.state->days) {
      for (int i = 0; i < kInstrumentCount; ++i) {
        const int64_t net = tally.accepted[i] + (m.quota.count_flagged_in_net ? tally.flagged[i] : 0);
        if (net != 0) by_day[i][day] += net;
      }
    }
  }
  if (watermark == 0 || wave.rounds.empty()) return out;
  const DayNumber first = wave.rounds.front().first_day;
  const DayNumber last = m.LocalDay(watermark);
  for (int i = 0; i < kInstrumentCount; ++i) {
    InstrumentPace& p = out[i];
    int64_t cumulative = 0;
    // Anything dated before the first round day is counted on it.
    auto it = by_day[i].begin();
    for (; it != by_day[i].end() && it->first < first; ++it) cumulative += it->second;
    for (DayNumber d = first; d <= last; ++d) {
      PaceDay pd;
      pd.day = d;
      if (it != by_day[i].end() && it->first == d) {
        pd.net = it->second;
        ++it;
      }
      cumulative += pd.net;
      pd.cumulative = cumulative;
      pd.expected = wave.fieldwork_days > 0
                        ? static_cast<double>(p.target) * wave.RoundDaysThrough(d) / wave.fieldwork_days
                        : 0.0;
      p.days.push_back(pd);
    }
  }
  return out;
}

}  // namespace wijkpuls
