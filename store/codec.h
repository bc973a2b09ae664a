// Encoding of keys and values of the state directory (internal to store/).
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "score/aggregates_codec.h"
#include "score/wijk_state.h"
#include "store/state.pb.h"
#include "store/state_store.h"

namespace wijkpuls::store {

// The aggregates' encoding is score/aggregates_codec's (also the summaries
// topic's).
using v1::QualityState;
using v1::QuotaState;
using v1::StatsState;

std::string EncodeOffset(int64_t offset);
std::optional<int64_t> DecodeOffset(std::string_view v);

// Into `out`, cleared first: a message reused for every record keeps its
// buffers (no allocation per record once they are large enough).
void EncodeCounted(const CountedResponse& r, Outcome outcome, StoredResponse* out);
StoredResponse EncodeRejected(RejectReason reason, const Attribution& a, bool passed_checks);
absl::StatusOr<ResponseRecord> DecodeResponse(std::string_view bytes, std::string_view wave,
                                              std::string_view response_id, const Methodology& m);


}  // namespace wijkpuls::store
