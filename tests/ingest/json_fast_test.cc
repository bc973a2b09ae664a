// The fast JSON path (ingest/json_fast.h) against protobuf's own JSON parser:
// where the fast path accepts a text, the message must be exactly what
// protobuf makes of it; what protobuf's printer writes must take the fast
// path; and every text outside the subset must be left to protobuf.
#include "ingest/json_fast.h"

#include <google/protobuf/util/json_util.h>
#include <google/protobuf/util/message_differencer.h>
#include <gtest/gtest.h>

#include "ingest/decode.h"
#include "sim/simulator.h"
#include "tests/ingest/every_field_response.h"
#include "tests/support/test_support.h"
#include "wijkpuls/v1/wijkpuls.pb.h"

namespace wijkpuls {
namespace {

using google::protobuf::util::MessageDifferencer;

std::optional<v1::SurveyResponse> Reference(std::string_view json) {
  v1::SurveyResponse msg;
  google::protobuf::util::JsonParseOptions options;
  options.ignore_unknown_fields = true;
  if (!google::protobuf::util::JsonStringToMessage(std::string(json), &msg, options).ok()) {
    return std::nullopt;
  }
  return msg;
}

// Fast path taken: equal to protobuf. Returns whether it was taken.
bool FastAgrees(std::string_view json) {
  v1::SurveyResponse fast;
  if (!FastJsonToSurveyResponse(json, fast)) return false;
  std::optional<v1::SurveyResponse> ref = Reference(json);
  EXPECT_TRUE(ref.has_value()) << "the fast path accepted what protobuf rejects: " << json;
  if (ref) {
    EXPECT_TRUE(MessageDifferencer::Equals(fast, *ref))
        << json << "\nfast: " << fast.ShortDebugString() << "\nref:  " << ref->ShortDebugString();
  }
  return true;
}

TEST(JsonFast, EverySimulatedJsonResponseTakesTheFastPathAndEqualsProtobuf) {
  sim::SimOptions o;
  o.scale = 0.2;
  o.json_share = 1.0;
  const std::vector<sim::SimRecord> season =
      sim::Generate(testing::DefaultMethodology(), testing::DefaultDistricts(), o);
  int json = 0;
  int fast = 0;
  for (const sim::SimRecord& r : season) {
    if (r.content_type != kJsonContentType || r.topic != o.responses_topic) continue;
    ++json;
    fast += FastAgrees(r.value);
  }
  ASSERT_GT(json, 4000);
  // Only the deliberately broken records (decode errors) may need protobuf.
  EXPECT_GT(fast, json * 95 / 100) << fast << " of " << json;
}

TEST(JsonFast, TakesThePrintersShapeWithEveryFieldKind) {
  const v1::SurveyResponse m = testing::EveryFieldResponse();
  std::string json;
  ASSERT_TRUE(google::protobuf::util::MessageToJsonString(m, &json).ok());
  v1::SurveyResponse fast;
  ASSERT_TRUE(FastJsonToSurveyResponse(json, fast)) << json;
  EXPECT_TRUE(MessageDifferencer::Equals(fast, m)) << fast.ShortDebugString();
  // Whitespace, enums and answers given by number, and an empty object.
  EXPECT_TRUE(FastAgrees(" {\n \"instrument\" : 1 ,\"answers\":[ {\"value\":-3} , {} ] }\t"));
  EXPECT_TRUE(FastAgrees("{}"));
  EXPECT_TRUE(FastAgrees("{\"submittedAt\":\"2024-03-31T01:30:00.123456789Z\",\"consent\":false}"));
}

TEST(JsonFast, LeavesEverythingOutsideTheSubsetToProtobuf) {
  const char* outside[] = {
      "{\"response_id\":\"r\"}",                   // the original field name
      "{\"responseId\":\"r\\u0041\"}",             // an escape
      "{\"responseId\":\"caf\xc3\xa9\"}",          // non-ASCII
      "{\"responseId\":null}",                     // null
      "{\"responseId\":\"a\",\"responseId\":\"b\"}",  // a repeated key
      "{\"unknownField\":1}",                      // an unknown field
      "{\"answers\":[{\"value\":\"2\"}]}",         // a number as a string
      "{\"answers\":[{\"value\":2.0}]}",           // a fraction
      "{\"answers\":[{\"value\":1e1}]}",           // an exponent
      "{\"answers\":[{\"value\":02}]}",            // a leading zero (not JSON)
      "{\"answers\":[{\"value\":-0}]}",            // minus zero
      "{\"answers\":[{\"value\":2147483648}]}",    // beyond int32
      "{\"instrument\":\"NO_SUCH_INSTRUMENT\"}",   // an unknown enum name
      "{\"instrument\":999}",                      // an unknown enum number
      "{\"submittedAt\":\"2024-03-31T01:30:00+02:00\"}",  // an offset
      "{\"submittedAt\":\"2024-03-31 01:30:00Z\"}",      // not RFC 3339
      "{\"submittedAt\":\"2024-02-30T01:30:00Z\"}",      // no such day
      "{\"submittedAt\":\"2024-03-31T01:30:00.Z\"}",     // an empty fraction
      "{\"consent\":truex}",                       // not JSON
      "{\"wave\":\"2024\"",                        // unterminated
      "{\"wave\":\"2024\"} x",                     // trailing text
      "[]",                                        // not an object
      "",                                          // nothing
  };
  for (const char* json : outside) {
    v1::SurveyResponse msg;
    EXPECT_FALSE(FastJsonToSurveyResponse(json, msg)) << json;
  }
}

TEST(JsonFast, DecodeResponseGivesTheSameResultThroughEitherPath) {
  // A record the fast path takes and one it leaves (an escape) decode alike.
  absl::StatusOr<RawResponse> fast = DecodeResponse(
      "{\"responseId\":\"r-1\",\"wave\":\"2024\",\"answers\":[{\"item\":\"V01\",\"value\":2}]}",
      kJsonContentType);
  absl::StatusOr<RawResponse> slow = DecodeResponse(
      "{\"responseId\":\"r\\u002d1\",\"wave\":\"2024\",\"answers\":[{\"item\":\"V01\",\"value\":2}]}",
      kJsonContentType);
  ASSERT_TRUE(fast.ok() && slow.ok());
  EXPECT_EQ(fast->response_id, "r-1");
  EXPECT_EQ(slow->response_id, "r-1");
  ASSERT_EQ(fast->answers.size(), 1u);
  EXPECT_EQ(fast->answers[0].item, slow->answers[0].item);
  EXPECT_EQ(fast->answers[0].value, slow->answers[0].value);
  // Invalid JSON is still a decode error.
  EXPECT_FALSE(DecodeResponse("{\"wave\":", kJsonContentType).ok());
}

}  // namespace
}  // namespace wijkpuls
