// Projected precision of a wijk's scores at the close of fieldwork
// (methodology section 8): the growth factor of each instrument from the
// quota projection, every score projected with it, the precision target per
// index (IMPRECISE_AT_CLOSE), the responses needed to meet it, and which
// age x sex cells gain the index most per response. Pure functions of the
// same counts, register and watermark as the quota and the scores.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "model/methodology.h"
#include "score/estimate.h"
#include "score/quota.h"

namespace wijkpuls {

// g = projected / net of one instrument of a wijk, from the integers of the
// quota projection with one rounding; 1 when net = 0 or nothing more is
// expected.
double GrowthFactor(int64_t net, int64_t recent, const FieldworkProgress& progress,
                    const QuotaRules& rules);
GrowthFactors GrowthOf(const WijkQuota& quota, const Methodology& m);

// One age x sex cell of a wijk, for one index.
struct CellGain {
  int cell = 0;          // CellIndex(age, sex)
  bool empty = false;    // no answer to any indicator the index uses: listed first, no gain
  double gain = 0;       // the index's variance (score points^2) one more answer here removes
  int64_t allocated = 0; // of responses_needed, by the greedy allocation
};

// Why responses_needed has no value.
enum class NeededReason : uint8_t { kNone = 0, kNoResponses = 1, kNoValueNow = 2 };
std::string_view Describe(NeededReason r);

struct IndexPrecision {
  std::string id;                 // "VI"
  Instrument instrument = Instrument::kVeiligheidsmonitor;
  double growth = 1;              // g of the index's instrument
  bool has_value = false;         // now
  double half_width = 0;          // h = z * SE_S now, when has_value
  EstimateStatus status = EstimateStatus::kSuppressed;
  bool has_value_at_close = false;
  double half_width_at_close = 0;  // h', when has_value_at_close
  EstimateStatus status_at_close = EstimateStatus::kSuppressed;
  bool imprecise_at_close = false;  // SUPPRESSED at the close, or h' > precision_target
  std::optional<int64_t> responses_needed;  // beyond the projection
  NeededReason needed_reason = NeededReason::kNone;
  std::vector<CellGain> cells;    // empty cells first, then by gain (descending)
};

struct WijkPrecision {
  GrowthFactors growth{1.0, 1.0};
  UnitScores at_close;  // every indicator, theme and index projected
  std::vector<IndexPrecision> indices;  // methodology order
  bool imprecise_at_close = false;      // any index is
};

// The projection of one wijk. `member` is the wijk's population and state
// (state may be null), `quota` its quota at the same watermark, `now` its
// scores (ComputeUnitScores without growth).
WijkPrecision ProjectWijk(const UnitMember& member, const WijkQuota& quota, const UnitScores& now,
                          const Methodology& m);

// The greedy allocation of `extra` responses over cells whose index variance
// is sum_i a_i^2 W_ci^2 s2_ci / n_ci (terms with n_ci >= 1): each response goes
// to the cell whose next answer removes the most variance. Exposed for its
// exhaustive test. terms[c] lists (a^2 W^2 s^2, n) per indicator of cell c.
struct VarianceTerm {
  double coefficient = 0;  // a_i^2 * W_ci^2 * s2_ci
  int64_t n = 0;           // n_ci >= 1
};
double CellGainOf(std::span<const VarianceTerm> terms, int64_t added);
std::array<int64_t, kCellCount> AllocateGreedily(const std::array<std::vector<VarianceTerm>, kCellCount>& terms,
                                                 const std::array<bool, kCellCount>& eligible, int64_t extra);

}  // namespace wijkpuls
