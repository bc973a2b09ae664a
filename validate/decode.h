// Decoding of input records: protobuf binary, or the protobuf JSON mapping
// when the record's content-type header says application/json.
#pragma once

#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "model/response.h"

namespace wijkpuls {

inline constexpr std::string_view kJsonContentType = "application/json";
// The record header that names the value's format.
inline constexpr std::string_view kContentTypeHeader = "content-type";

// DECODE_ERROR when the status is not ok; its message says why (never the data).
// Binary records take a fast path (ingest/binary_fast.h) where they can.
absl::StatusOr<RawResponse> DecodeResponse(std::string_view value, std::string_view content_type);
// The same into `out`, which is emptied first keeping its buffers (Recycle):
// what the pipeline's preparer uses for the slots it reuses. When the status
// is not ok, `out` holds nothing of the record that can be relied on.
absl::Status DecodeResponse(std::string_view value, std::string_view content_type, RawResponse& out);
// The same through protobuf's parser only: the reference the fast path is
// checked against (tests, fuzzer).
absl::StatusOr<RawResponse> DecodeResponseWithProtobuf(std::string_view value,
                                                       std::string_view content_type);

struct RawWithdrawal {
  std::string withdrawal_id;
  std::string respondent_ref;  // personal data: never stored or logged
  std::string wave;
  std::string wijk;  // empty: every wijk of the wave
};
absl::StatusOr<RawWithdrawal> DecodeWithdrawal(std::string_view value, std::string_view content_type);

// Routes protobuf's own log lines (e.g. about invalid UTF-8) to the debug log,
// so that a bad record cannot flood stderr. Call once at start.
void QuietProtobufLogging();

}  // namespace wijkpuls
