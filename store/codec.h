// Encoding of keys and values of the state directory (internal to store/).
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "score/wijk_state.h"
#include "store/state.pb.h"
#include "store/state_store.h"

namespace wijkpuls::store {

std::string EncodeOffset(int64_t offset);
std::optional<int64_t> DecodeOffset(std::string_view v);

// Into `out`, cleared first: a message reused for every record keeps its
// buffers (no allocation per record once they are large enough).
void EncodeCounted(const CountedResponse& r, Outcome outcome, StoredResponse* out);
StoredResponse EncodeRejected(RejectReason reason, const Attribution& a, bool passed_checks);
absl::StatusOr<ResponseRecord> DecodeResponse(std::string_view bytes, std::string_view wave,
                                              std::string_view response_id, const Methodology& m);

QuotaState EncodeQuota(const WijkState& w);
StatsState EncodeStats(const WijkState& w, int indicator_count);
// A quality tally, or a change to one (counts may then be negative).
QualityState EncodeQuality(const QualityTally& t);
// Into an empty tally; false when malformed.
bool DecodeQuality(const QualityState& q, QualityTally& t);
// Any of the three may be null (not stored yet).
absl::Status DecodeAggregates(const QuotaState* quota, const StatsState* stats,
                              const QualityState* quality, int indicator_count, WijkState& w);

}  // namespace wijkpuls::store
