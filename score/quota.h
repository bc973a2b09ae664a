// Quota figures of methodology section 7, as pure functions of a wijk's
// counts, the register, the calendar and the event-time watermark.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "score/wijk_state.h"
#include "model/district_register.h"
#include "model/methodology.h"
#include "model/types.h"

namespace wijkpuls {

// Worst first; a wijk shows its worst instrument.
enum class QuotaStatus : uint8_t { kBehind = 1, kAtRisk = 2, kEarly = 3, kOnTrack = 4, kComplete = 5 };
std::string_view WireName(QuotaStatus s);

// Apportions `target` over cells in proportion to `population` by largest
// remainder (Hamilton). Ties in the remainder go to the lower cell index. The
// result sums to `target` (all zero when the population is zero).
std::array<int64_t, kCellCount> ApportionTarget(int64_t target,
                                                const std::array<int64_t, kCellCount>& population);

// Fieldwork days elapsed (e) and remaining (r) at a watermark; e + r is the
// wave's fieldwork days. No watermark (0) means e = 0.
struct FieldworkProgress {
  int elapsed = 0;
  int remaining = 0;
  DayNumber watermark_day = 0;
  bool has_watermark = false;
};
FieldworkProgress ProgressAt(const Wave& wave, UnixNanos watermark, const Methodology& m);

struct CellQuota {
  int64_t target = 0;
  int64_t net = 0;
  int64_t accepted = 0;
  int64_t flagged = 0;
  int64_t rejected = 0;
  int64_t surplus = 0;
  double expected_by_now = 0;
  bool behind = false;
};

struct InstrumentQuota {
  Instrument instrument = Instrument::kVeiligheidsmonitor;
  int64_t target = 0;
  int64_t net = 0;
  int64_t accepted = 0;
  int64_t flagged = 0;
  int64_t rejected = 0;
  int64_t surplus = 0;
  int64_t recent = 0;   // net over the last min(window, e) round days
  double rate = 0;       // recent per round day
  double projected = 0;  // net + rate * r
  double expected_by_now = 0;
  QuotaStatus status = QuotaStatus::kEarly;
  std::array<CellQuota, kCellCount> cells{};
};

struct WijkQuota {
  int wijk = 0;  // register index
  FieldworkProgress progress;
  int64_t invited = 0;
  double response_rate = 0;  // (accepted + flagged) / invited; 0 when nobody was invited
  QuotaStatus status = QuotaStatus::kEarly;
  std::array<InstrumentQuota, kInstrumentCount> instruments{};
};

// The quota of one wijk. `state` may be null (nothing counted yet).
WijkQuota ComputeWijkQuota(const Wijk& wijk, int wijk_index, const WijkState* state,
                           const Wave& wave, UnixNanos watermark, const Methodology& m);

// net + recent / window · r, from integers with one rounding.
double Projected(int64_t net, int64_t recent, const FieldworkProgress& progress, const QuotaRules& rules);

// The status rule for given figures (also used for gebied and city totals),
// in integers: projected = net + recent / window · r, compared as
// net · window + recent · r against target · window (and 0.9 · target in
// millionths), so a tie falls as the methodology writes it.
QuotaStatus StatusOf(int64_t net, int64_t target, int64_t recent, const FieldworkProgress& progress,
                     const QuotaRules& rules);

// Sum of several wijken (a gebied or the city): targets, counts, rates and
// projections add up; the status is the rule applied to the sums; the risk is
// the riskiest wijk's.
struct QuotaTotals {
  int64_t invited = 0;
  int64_t counted = 0;  // accepted + flagged, both instruments
  double response_rate = 0;
  std::array<InstrumentQuota, kInstrumentCount> instruments{};  // cells unused
  std::array<int, 6> wijken_by_status{};  // index = QuotaStatus value
  int cells_behind = 0;
  double risk = 2.0;  // the riskiest wijk's QuotaRisk
  QuotaStatus status = QuotaStatus::kEarly;
};
QuotaTotals SumQuotas(const std::vector<const WijkQuota*>& wijken, const QuotaRules& rules);

// "WO: men 15–29" for a cell that is behind.
std::string CellBehindLabel(Instrument instrument, int cell);
// The labels of a wijk's cells behind, instrument and cell order.
std::vector<std::string> CellsBehind(const WijkQuota& q);

// Smaller is riskier: the worst instrument's projected end figure relative to
// its target; 2 for a complete instrument, and when none has a target.
double QuotaRisk(const WijkQuota& q);

}  // namespace wijkpuls
