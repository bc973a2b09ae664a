// A fast path for a SurveyResponse in the protobuf JSON mapping, decoded
// straight into a RawResponse (as ingest/binary_fast.h does for the binary
// format).
//
// It takes what a platform sends: the .proto's field names (`response_id`)
// or their lowerCamelCase JSON names (`responseId`), as protobuf's parser
// does; strings with escapes and UTF-8; enums by name or number; RFC 3339
// timestamps with `Z` or an offset; `null` for a field (absent); keys the
// schema does not know, at the top (counted, like protobuf's path counts
// them) and in answers (ignored), with any strict JSON value. It says "not
// mine" for everything else (a field given twice, an unknown enum name,
// numbers written as strings or with a fraction, JSON extensions protobuf's
// lenient parser takes, invalid text); the caller then uses protobuf's
// parser. Profiled, that parser costs about 100x this path (it converts JSON
// to binary through a type resolver). Where this path accepts, the result
// equals what the protobuf path makes of the same text: tests/ingest and the
// record fuzzer check that on every input.
#pragma once

#include <string_view>

#include "validate/binary_fast.h"
#include "model/response.h"

namespace wijkpuls {

// True: `out` (empty on entry: default-constructed or Recycle()d) holds the fields as sent,
// `out.unknown_fields` the top-level keys the schema does not know, and
// `started_at`/`submitted_at` the timestamps (not yet range-checked). False:
// not in the subset; `out` is in an unspecified state.
bool FastJsonToRawResponse(std::string_view json, RawResponse& out, WireTimestamp& started_at,
                           WireTimestamp& submitted_at);

// protobuf's own reading of an RFC 3339 timestamp (google/protobuf/stubs/
// time.cc, ParseTime, as of protobuf 3.21), quirks and all: fields of up to
// their width in digits, any number of fraction digits (the first nine
// count), an offset of [+-]H[H]:MM, and the text ends at its end or at a NUL.
bool ParseTimeAsProtobufDoes(std::string_view text, int64_t* seconds, int32_t* nanos);

}  // namespace wijkpuls
