// The aggregate state of one (wave, wijk): quota counts per cell and per day,
// the sufficient statistics of every indicator per age x sex cell, the
// watermark and the quality tally. Everything quotas, scores and the quality
// view show is computed from these. All counts are integers, so adding and
// removing a response is exact and order-independent.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/container/btree_map.h"
#include "model/methodology.h"
#include "score/quality_tally.h"
#include "model/response.h"
#include "validate/rules.h"
#include "model/types.h"

namespace wijkpuls {

struct CellTally {
  int64_t accepted = 0;
  int64_t flagged = 0;
  int64_t rejected = 0;
  friend bool operator==(const CellTally&, const CellTally&) = default;
};

struct DayTally {
  std::array<int64_t, kInstrumentCount> accepted{};
  std::array<int64_t, kInstrumentCount> flagged{};
  bool Empty() const { return *this == DayTally{}; }
  friend bool operator==(const DayTally&, const DayTally&) = default;
};

// Count, sum and sum of squares of one indicator's y values in one cell
// (y is 0/1 for percent indicators, the answer code for mean indicators).
struct SufficientStats {
  int64_t n = 0;
  int64_t sum = 0;
  int64_t sumsq = 0;
  friend bool operator==(const SufficientStats&, const SufficientStats&) = default;
};

inline constexpr int QuotaCellIndex(Instrument i, int cell) {
  return static_cast<int>(i) * kCellCount + cell;
}

struct WijkState {
  std::array<CellTally, kInstrumentCount * kCellCount> cells{};  // by QuotaCellIndex
  absl::btree_map<DayNumber, DayTally> days;  // by local date of submitted_at
  // stats[cell * indicator_count + indicator]; empty until the first answer.
  std::vector<SufficientStats> stats;
  // Largest submitted_at that passed the field checks; 0 when none did.
  UnixNanos watermark = 0;
  QualityTally quality;

  const SufficientStats& Stat(int cell, int indicator, int indicator_count) const;
  friend bool operator==(const WijkState&, const WijkState&) = default;
};

// Adds (sign +1) or removes (sign -1) a counted response: accepted responses
// enter quota, days, statistics and quality; flagged ones quota, days and
// quality only. When `quality_change` is given, what is added to s.quality is
// added to it too (the store writes the quality tally as its changes).
void ApplyCounted(WijkState& s, const CountedResponse& r, Outcome outcome, const Methodology& m,
                  int sign, QualityTally* quality_change = nullptr);

// A rejected record that can be attributed to this wijk (cell counts where
// the cell is known, the quality tally always; `quality_change` as above).
void ApplyRejected(WijkState& s, const Attribution& a, RejectReason reason,
                   QualityTally* quality_change = nullptr, int sign = 1);

// The y value an answer contributes to an indicator, or nullopt when the
// answer does not enter it (97/98/99).
std::optional<int> IndicatorValue(const IndicatorDef& d, int code);

// Identifies the state of one wijk in one wave. A record that cannot be
// attributed to a wave or wijk is counted under an empty wave or wijk.
struct StateKey {
  std::string wave;
  std::string wijk;
  friend auto operator<=>(const StateKey&, const StateKey&) = default;
};

}  // namespace wijkpuls
