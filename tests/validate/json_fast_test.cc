// The fast JSON path (ingest/json_fast.h) against protobuf's own JSON parser:
// where the fast path accepts a text, the decoded response must be exactly
// what the protobuf path makes of it; what a platform sends (either field
// naming, escapes, offsets, nulls, unknown keys) must take the fast path; and
// every text outside the subset must be left to protobuf.
#include "validate/json_fast.h"

#include <google/protobuf/util/json_util.h>
#include <gtest/gtest.h>

#include "validate/decode.h"
#include "sim/simulator.h"
#include "tests/validate/every_field_response.h"
#include "tests/support/test_support.h"
#include "model/text.h"
#include "wijkpuls/v1/wijkpuls.pb.h"

namespace wijkpuls {
namespace {

std::string Show(const absl::StatusOr<RawResponse>& r) {
  if (!r.ok()) return std::string(r.status().message());
  std::string s = "id=" + r->response_id + " ref=" + r->respondent_ref + " wave=" + r->wave + " wijk=" + r->wijk +
                  " enums=" + std::to_string(r->instrument) + "," + std::to_string(r->mode) + "," +
                  std::to_string(r->age_band) + "," + std::to_string(r->sex) +
                  " started=" + std::to_string(r->started_at.value_or(-1)) +
                  " submitted=" + std::to_string(r->submitted_at.value_or(-1)) +
                  " unrepresentable=" + Join(r->unrepresentable_fields, ",") + " unknown_enum=" + r->unknown_enum_field +
                  " unknown_fields=" + std::to_string(r->unknown_fields) + " interviewer=" + r->interviewer_id +
                  " consent=" + std::to_string(r->consent) + " version=" + r->instrument_version + " answers=";
  for (const RawAnswer& a : r->answers) s += a.item + ":" + std::to_string(a.value) + " ";
  return s;
}

// Fast path taken: the same response as protobuf's path. Returns whether it was taken.
bool FastAgrees(std::string_view json) {
  RawResponse raw;
  WireTimestamp started, submitted;
  if (!FastJsonToRawResponse(json, raw, started, submitted)) return false;
  const absl::StatusOr<RawResponse> fast = DecodeResponse(json, kJsonContentType);
  const absl::StatusOr<RawResponse> ref = DecodeResponseWithProtobuf(json, kJsonContentType);
  EXPECT_TRUE(ref.ok()) << "the fast path accepted what protobuf rejects: " << json;
  EXPECT_TRUE(fast.ok() && ref.ok() && *fast == *ref) << json << "\nfast: " << Show(fast) << "\nref:  " << Show(ref);
  return true;
}

std::vector<std::string> SimulatedJson(bool proto_names) {
  sim::SimOptions o;
  o.scale = 0.2;
  o.json_share = 1.0;
  o.json_proto_names = proto_names;
  std::vector<std::string> out;
  for (sim::SimRecord& r : sim::Generate(testing::DefaultMethodology(), testing::DefaultDistricts(), o)) {
    if (r.content_type == kJsonContentType && r.topic == o.responses_topic) out.push_back(std::move(r.value));
  }
  return out;
}

TEST(JsonFast, EverySimulatedJsonResponseInEitherNamingTakesTheFastPathAndEqualsProtobuf) {
  for (bool proto_names : {false, true}) {
    const std::vector<std::string> season = SimulatedJson(proto_names);
    ASSERT_GT(season.size(), 4000u);
    EXPECT_EQ(season[0].find(proto_names ? "responseId" : "response_id"), std::string::npos) << season[0];
    size_t fast = 0;
    for (const std::string& json : season) fast += FastAgrees(json);
    // Only the deliberately broken records (decode errors) may need protobuf.
    EXPECT_GT(fast, season.size() * 95 / 100) << fast << " of " << season.size() << (proto_names ? " (proto names)" : "");
  }
}

TEST(JsonFast, KnowsEveryFieldOfTheSchemaByBothNames) {
  const google::protobuf::Descriptor* d = v1::SurveyResponse::descriptor();
  for (int i = 0; i < d->field_count(); ++i) {
    for (const std::string& name : {d->field(i)->name(), d->field(i)->json_name()}) {
      const std::string json = "{\"" + name + "\":null}";
      RawResponse raw;
      WireTimestamp started, submitted;
      ASSERT_TRUE(FastJsonToRawResponse(json, raw, started, submitted)) << json;
      EXPECT_EQ(raw.unknown_fields, 0) << json;
      EXPECT_TRUE(FastAgrees(json));
    }
  }
}

TEST(JsonFast, TakesThePrintersShapesWithEveryFieldKind) {
  const v1::SurveyResponse m = testing::EveryFieldResponse();
  for (bool proto_names : {false, true}) {
    google::protobuf::util::JsonPrintOptions print;
    print.preserve_proto_field_names = proto_names;
    print.add_whitespace = proto_names;
    std::string json;
    ASSERT_TRUE(google::protobuf::util::MessageToJsonString(m, &json, print).ok());
    EXPECT_TRUE(FastAgrees(json)) << json;
  }
}

TEST(JsonFast, TakesWhatAPlatformSends) {
  const char* mine[] = {
      " {\n \"instrument\" : 1 ,\"answers\":[ {\"value\":-3} , {} ] }\t",  // whitespace, numbers
      "{}",
      "{\"submittedAt\":\"2024-03-31T01:30:00.123456789Z\",\"consent\":false}",
      "{\"submitted_at\":\"2024-03-31T01:30:00+02:00\",\"started_at\":\"2024-03-31T01:10:00-00:30\"}",  // offsets
      "{\"submitted_at\":\"2024-03-31T01:30:00.1Z\"}",                  // a fraction of any length
      "{\"submitted_at\":\"2024-03-31T01:30:00.1234567891234Z\"}",      // more than nine digits
      "{\"submitted_at\":\"2024-03-31T01:30:00+2:00\"}",                // protobuf takes a one-digit hour
      "{\"submitted_at\":\"24-03-31T01:30:00Z\"}",                      // and a two-digit year
      "{\"submitted_at\":\"2024-03-31T01:30:00Z\\u0000junk\"}",         // and ends the text at a NUL
      "{\"submitted_at\":\"9999-12-31T23:59:59-23:59\"}",               // beyond the range: unrepresentable
      "{\"response_id\":\"r\\u002d1\",\"wave\":\"20\\/24\"}",           // escapes
      "{\"respondent_ref\":\"caf\xc3\xa9 \\u00e9 \\ud83d\\ude00\"}",    // UTF-8, a surrogate pair
      "{\"interviewer_id\":null,\"started_at\":null,\"mode\":null,\"consent\":null,\"answers\":null}",  // nulls
      "{\"answers\":[{\"item\":null,\"value\":null}]}",
      "{\"schema_version\":2,\"meta\":{\"a\":[1,2.5e3,\"x\",true,null,{}]},\"wave\":\"2024\"}",  // unknown keys
      "{\"answers\":[{\"item\":\"V01\",\"value\":3,\"label\":\"oneens\"}]}",  // an unknown key in an answer
      "{\"mode\":\"PHONE\",\"age_band\":\"AGE_65_PLUS\",\"sex\":\"FEMALE\",\"instrument\":\"WIJKONDERZOEK\"}",
      "{\"instrument\":\"W\\u0049JKONDERZOEK\"}",                       // an escaped enum name
  };
  for (const char* json : mine) EXPECT_TRUE(FastAgrees(json)) << "not taken: " << json;
  // Unknown top-level keys are counted, once each.
  RawResponse raw;
  WireTimestamp started, submitted;
  ASSERT_TRUE(FastJsonToRawResponse("{\"a\":1,\"wave\":\"2024\",\"b\":{}}", raw, started, submitted));
  EXPECT_EQ(raw.unknown_fields, 2);
}

TEST(JsonFast, LeavesEverythingOutsideTheSubsetToProtobuf) {
  const char* outside[] = {
      "{\"response_id\":\"a\",\"responseId\":\"b\"}",  // a field under both names
      "{\"responseId\":\"a\",\"responseId\":\"b\"}",   // a repeated key
      "{\"x\":1,\"x\":2}",                             // a repeated unknown key
      "{\"answers\":[{\"value\":\"2\"}]}",             // a number as a string
      "{\"answers\":[{\"value\":2.0}]}",               // a fraction
      "{\"answers\":[{\"value\":1e1}]}",               // an exponent
      "{\"answers\":[{\"value\":02}]}",                // a leading zero (not JSON)
      "{\"answers\":[{\"value\":-0}]}",                // minus zero
      "{\"answers\":[{\"value\":2147483648}]}",        // beyond int32
      "{\"answers\":[[{\"value\":3}]]}",               // a nested list
      "{\"answers\":[null]}",                          // a null answer
      "{\"answers\":{}}",                              // not a list
      "{\"instrument\":\"NO_SUCH_INSTRUMENT\"}",       // an unknown enum name
      "{\"mode\":\"web\"}",                            // an enum name in lower case
      "{\"instrument\":999}",                          // an unknown enum number
      "{\"wave\":1}",                                  // a number for a string
      "{\"consent\":\"true\"}",                        // a string for a bool
      "{\"submittedAt\":\"2024-03-31 01:30:00Z\"}",    // not RFC 3339
      "{\"submittedAt\":\"2024-02-30T01:30:00Z\"}",    // no such day
      "{\"submittedAt\":\"2024-03-31T01:30:00.Z\"}",   // an empty fraction
      "{\"submittedAt\":\"2024-03-31T24:00:00Z\"}",    // hour 24
      "{\"wave\":\"\\ud800\"}",                        // a lone surrogate
      "{\"wave\":\"\xff\"}",                           // not UTF-8
      "{\"wave\":\"a\tb\"}",                           // a raw control character
      "{\"wave\":\"\\x41\"}",                          // not a JSON escape
      "{\"x\":1e999}",                                 // beyond a double
      "{\"x\":[1,]}",                                  // a trailing comma (protobuf takes it)
      "{\"\":1}",                                        // an empty key (protobuf refuses it)
      "{\"answers\":[{\"item\":\"V12\",\"\":\"V05\"}]}",     // an empty key in an answer (found by the fuzzer)
      "{\"ageBand\":null\"AGE_15_29\"}",             // null run into a value (found by the fuzzer)
      "{\"wave\":null\"2024\"}",                      // the same for a string
      "{\"consent\":nulltrue}",                        // ... a bool
      "{\"answers\":null[]}",                          // ... the answers
      "{\"answers\":[{\"value\":null3}]}",           // ... an answer's value
      "{\"submittedAt\":null\"2024-03-31T01:30:00Z\"}",  // ... a time
      "{\"wave\":'2024'}",                             // single quotes (protobuf takes them)
      "{wave:\"2024\"}",                               // an unquoted key (protobuf takes it)
      "{\"x\":[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]}",  // deeper than the fast path goes
      "{\"consent\":truex}",                           // not JSON
      "{\"wave\":\"2024\"",                            // unterminated
      "{\"wave\":\"2024\"} x",                         // trailing text
      "[]",                                            // not an object
      "",                                              // nothing
  };
  for (const char* json : outside) {
    RawResponse raw;
    WireTimestamp started, submitted;
    EXPECT_FALSE(FastJsonToRawResponse(json, raw, started, submitted)) << json;
    // DecodeResponse then gives what protobuf's path gives.
    const absl::StatusOr<RawResponse> got = DecodeResponse(json, kJsonContentType);
    const absl::StatusOr<RawResponse> ref = DecodeResponseWithProtobuf(json, kJsonContentType);
    EXPECT_EQ(got.ok(), ref.ok()) << json;
    if (got.ok() && ref.ok()) {
      EXPECT_TRUE(*got == *ref) << json;
    }
  }
}

// ParseTimeAsProtobufDoes against protobuf's JSON parser itself, on the
// shapes around every rule of its ParseTime.
TEST(JsonFast, ReadsTimestampsExactlyAsProtobufDoes) {
  std::vector<std::string> texts = {"2024-03-31T01:30:00Z", "2024-02-29T00:00:00Z", "2023-02-29T00:00:00Z",
                                    "1900-02-29T00:00:00Z", "2000-02-29T00:00:00Z", "0001-01-01T00:00:00Z",
                                    "0000-01-01T00:00:00Z", "9999-12-31T23:59:59Z", "10000-01-01T00:00:00Z",
                                    "2024-3-31T01:30:00Z",  "2024-03-31T1:30:00Z",  "2024-03-31T01:30:0Z",
                                    "2024-03-31T01:30:00",  "2024-03-31T01:30:00z", "2024-03-31t01:30:00Z",
                                    "2024-03-31T01:30:00+00:60", "2024-03-31T01:30:00+23:59",
                                    "2024-03-31T01:30:00-2:5", "2024-03-31T01:30:00+0200", "2024-03-31T01:30:00.000Z",
                                    "2024-03-31T01:30:00.9999999999Z", "2024-13-01T00:00:00Z", "2024-04-31T00:00:00Z",
                                    "2024-03-31T01:30:60Z", " 2024-03-31T01:30:00Z", "2024-03-31T01:30:00Z ",
                                    "-2024-03-31T01:30:00Z", "2024-03-31T01:30:00.-1Z"};
  for (const std::string& t : texts) {
    v1::SurveyResponse m;
    google::protobuf::util::JsonParseOptions o;
    const bool ref_ok = google::protobuf::util::JsonStringToMessage("{\"submitted_at\":\"" + t + "\"}", &m, o).ok();
    int64_t seconds = 0;
    int32_t nanos = 0;
    const bool ok = ParseTimeAsProtobufDoes(t, &seconds, &nanos);
    EXPECT_EQ(ok, ref_ok) << t;
    if (ok && ref_ok) {
      EXPECT_EQ(seconds, m.submitted_at().seconds()) << t;
      EXPECT_EQ(nanos, m.submitted_at().nanos()) << t;
    }
  }
}

}  // namespace
}  // namespace wijkpuls
