// The fast binary path (ingest/binary_fast.h) against protobuf's parser:
// where the fast path accepts bytes, DecodeResponse must give exactly what
// the protobuf path gives; what protobuf serialises from a response of the
// usual shape must take the fast path; everything outside the subset must be
// left to protobuf (and then still decode as protobuf decodes it).
#include "validate/binary_fast.h"

#include <gtest/gtest.h>

#include "validate/decode.h"
#include "sim/simulator.h"
#include "tests/validate/every_field_response.h"
#include "tests/support/test_support.h"
#include "wijkpuls/v1/wijkpuls.pb.h"

namespace wijkpuls {
namespace {

bool Takes(std::string_view bytes) {
  RawResponse raw;
  WireTimestamp started, submitted;
  return FastBinaryToRawResponse(bytes, raw, started, submitted);
}

// DecodeResponse (fast path where it can) equals the protobuf-only decoding,
// error or not. Returns whether the fast path took the bytes.
bool Agrees(std::string_view bytes) {
  absl::StatusOr<RawResponse> got = DecodeResponse(bytes, "");
  absl::StatusOr<RawResponse> ref = DecodeResponseWithProtobuf(bytes, "");
  EXPECT_EQ(got.ok(), ref.ok()) << (got.ok() ? ref.status().ToString() : got.status().ToString());
  if (got.ok() && ref.ok()) {
    EXPECT_TRUE(*got == *ref);
  }
  return Takes(bytes);
}

TEST(BinaryFast, EverySimulatedBinaryResponseTakesTheFastPathAndDecodesAsProtobufDoes) {
  sim::SimOptions o;
  o.scale = 0.2;
  o.json_share = 0.0;
  const std::vector<sim::SimRecord> season =
      sim::Generate(testing::DefaultMethodology(), testing::DefaultDistricts(), o);
  int binary = 0;
  int fast = 0;
  for (const sim::SimRecord& r : season) {
    if (!r.content_type.empty() || r.topic != o.responses_topic) continue;
    ++binary;
    fast += Agrees(r.value);
  }
  ASSERT_GT(binary, 4000);
  // Only the deliberately broken records (decode errors) may need protobuf.
  EXPECT_GT(fast, binary * 95 / 100) << fast << " of " << binary;
}

TEST(BinaryFast, TakesEveryFieldKindAndKeepsEveryValue) {
  const std::string bytes = testing::EveryFieldResponse().SerializeAsString();
  EXPECT_TRUE(Agrees(bytes));
  absl::StatusOr<RawResponse> raw = DecodeResponse(bytes, "");
  ASSERT_TRUE(raw.ok());
  EXPECT_EQ(raw->response_id, "r-1");
  EXPECT_EQ(raw->wijk, "tussendijken");
  EXPECT_EQ(raw->mode, 3);
  EXPECT_EQ(raw->started_at, 1'700'000'000 * kNanosPerSecond);
  EXPECT_EQ(raw->submitted_at, 1'700'000'600 * kNanosPerSecond + 120'000'000);
  EXPECT_TRUE(raw->consent);
  EXPECT_EQ(raw->instrument_version, "vm-2024.1");
  ASSERT_EQ(raw->answers.size(), 3u);
  EXPECT_EQ(raw->answers[2].item, "V03");
  EXPECT_EQ(raw->answers[2].value, 98);

  // Unknown enum numbers, an empty answer, a timestamp present but empty, and
  // one out of range are kept as protobuf keeps them.
  v1::SurveyResponse m;
  m.set_instrument(v1::Instrument(999));
  m.add_answers();
  m.mutable_started_at();
  m.mutable_submitted_at()->set_seconds(253'402'300'800);  // after 9999-12-31
  EXPECT_TRUE(Agrees(m.SerializeAsString()));
  EXPECT_EQ(DecodeResponse(m.SerializeAsString(), "")->unrepresentable_fields, std::vector<std::string>{"submitted_at"});
}

TEST(BinaryFast, LeavesEverythingOutsideTheSubsetToProtobuf) {
  std::vector<std::pair<std::string, std::string>> outside;
  auto with = [&](std::string why, auto change) {
    v1::SurveyResponse m = testing::EveryFieldResponse();
    change(m);
    outside.emplace_back(std::move(why), m.SerializeAsString());
  };
  with("non-ASCII (valid UTF-8)", [](v1::SurveyResponse& m) { m.set_wijk("caf\xc3\xa9"); });
  with("a negative answer value", [](v1::SurveyResponse& m) { m.mutable_answers(0)->set_value(-3); });
  with("a negative enum number", [](v1::SurveyResponse& m) { m.set_mode(v1::Mode(-1)); });
  with("seconds before 1970", [](v1::SurveyResponse& m) { m.mutable_started_at()->set_seconds(-5); });
  with("negative nanos", [](v1::SurveyResponse& m) { m.mutable_submitted_at()->set_nanos(-1); });
  const std::string full = testing::EveryFieldResponse().SerializeAsString();
  outside.emplace_back("a singular field twice (the last wins)", full + std::string("\x1a\x04" "2025", 6));
  outside.emplace_back("an unknown field", full + std::string("\xa8\x01\x07", 3));  // field 21, varint
  outside.emplace_back("a bool of 2", full + std::string("\x68\x02", 2));
  outside.emplace_back("a wire type not used", full + std::string("\x0d\x01\x02\x03\x04", 5));  // field 1, fixed32
  outside.emplace_back("truncated", full.substr(0, full.size() - 3));
  outside.emplace_back("only default values", std::string("\x68\x00\x20\x00", 4));  // consent=false, instrument=0
  outside.emplace_back("invalid UTF-8", std::string("\x0a\x02\xc3\x28", 4));
  outside.emplace_back("nothing", "");
  for (const auto& [why, bytes] : outside) {
    EXPECT_FALSE(Agrees(bytes)) << why;
  }
  // And protobuf's answers for some of them: the last value wins; an invalid
  // string, a message of default values and nothing are decode errors.
  EXPECT_EQ(DecodeResponse(outside[5].second, "")->wave, "2025");
  EXPECT_FALSE(DecodeResponse(outside[10].second, "").ok());
  EXPECT_FALSE(DecodeResponse(outside[11].second, "").ok());
  EXPECT_FALSE(DecodeResponse(outside[12].second, "").ok());
}

}  // namespace
}  // namespace wijkpuls
