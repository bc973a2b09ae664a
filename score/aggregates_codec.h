// WijkState <-> its wire form (proto/wijkpuls/v1/aggregates.proto): the
// aggregates as the state directory stores them and as the summaries topic
// carries them to every instance.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "score/global_stage.h"
#include "score/wijk_state.h"
#include "wijkpuls/v1/aggregates.pb.h"

namespace wijkpuls {

v1::QuotaState EncodeQuota(const WijkState& w);
v1::StatsState EncodeStats(const WijkState& w, int indicator_count);
// A quality tally, or a change to one (counts may then be negative).
v1::QualityState EncodeQuality(const QualityTally& t);
// Into an empty tally; false when malformed.
bool DecodeQuality(const v1::QualityState& q, QualityTally& t);
// Any of the three may be null (not stored yet).
absl::Status DecodeAggregates(const v1::QuotaState* quota, const v1::StatsState* stats,
                              const v1::QualityState* quality, int indicator_count, WijkState& w);

// One task's summary of a wijk (the value of the summaries topic), and its key.
struct Summary {
  int32_t task = 0;
  StateKey key;
  SummaryPosition position;
  std::shared_ptr<const WijkState> state;
};
std::string SummaryKey(int32_t task, const StateKey& key);
std::string EncodeSummary(int32_t task, const StateKey& key, SummaryPosition position, const WijkState& w,
                          int indicator_count, std::string_view instance);
absl::StatusOr<Summary> DecodeSummary(std::string_view bytes, int indicator_count);

}  // namespace wijkpuls
