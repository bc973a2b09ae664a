// A fast path for the common shape of a SurveyResponse in protobuf's binary
// format, decoded straight into a RawResponse.
//
// Profiled, protobuf's generated parser plus the copy out of the message took
// a fifth of a replayed record's instructions (about 19,000 per response:
// the table-driven parse, UTF-8 checks, arena strings, reflection to drop
// unknown fields). This reader accepts a strict subset and says "not mine"
// for anything else: unknown field numbers or wire types, a singular field
// sent twice, a string with a byte above 0x7f, a varint longer than 9 bytes,
// an enum or int32 above 2^31-1, a bool other than 0 or 1, a message with no
// field set, anything truncated. The caller then uses protobuf's parser.
// Where it accepts, the result equals what the protobuf path makes of the
// same bytes: tests/ingest and the record fuzzer check that on every input.
#pragma once

#include <string_view>

#include "model/response.h"

namespace wijkpuls {

// Seconds and nanos of a google.protobuf.Timestamp as sent.
struct WireTimestamp {
  bool present = false;
  int64_t seconds = 0;
  int32_t nanos = 0;
};

// True: `out` (empty on entry: default-constructed or Recycle()d) holds the fields as sent and
// `started_at`/`submitted_at` the timestamps (not yet range-checked). False:
// not in the subset; `out` is in an unspecified state.
bool FastBinaryToRawResponse(std::string_view value, RawResponse& out, WireTimestamp& started_at,
                             WireTimestamp& submitted_at);

}  // namespace wijkpuls
