// Decoding input records: protobuf binary, the protobuf JSON mapping, and
// everything that is not a SurveyResponse.
#include "validate/decode.h"

#include <google/protobuf/util/json_util.h>
#include <gtest/gtest.h>

#include "nlohmann/json.hpp"
#include "tests/support/test_support.h"
#include "sim/simulator.h"
#include "validate/rules.h"
#include "wijkpuls/v1/wijkpuls.pb.h"

namespace wijkpuls {
namespace {

v1::SurveyResponse Sample() {
  v1::SurveyResponse m;
  m.set_response_id("r-1");
  m.set_respondent_ref("INV-1");
  m.set_wave("2024");
  m.set_instrument(v1::WIJKONDERZOEK);
  m.set_wijk("cool");
  m.set_mode(v1::PHONE);
  m.mutable_started_at()->set_seconds(1'680'000'000);
  m.mutable_submitted_at()->set_seconds(1'680'000'900);
  m.mutable_submitted_at()->set_nanos(5);
  m.set_age_band(v1::AGE_45_64);
  m.set_sex(v1::FEMALE);
  auto* a = m.add_answers();
  a->set_item("S01");
  a->set_value(4);
  m.set_interviewer_id("int-2");
  m.set_consent(true);
  return m;
}

TEST(Decode, BinaryKeepsEveryField) {
  absl::StatusOr<RawResponse> r = DecodeResponse(Sample().SerializeAsString(), "");
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->response_id, "r-1");
  EXPECT_EQ(r->instrument, 2);
  EXPECT_EQ(r->mode, 3);
  EXPECT_EQ(r->age_band, 3);
  EXPECT_EQ(r->sex, 2);
  EXPECT_EQ(*r->submitted_at, 1'680'000'900LL * kNanosPerSecond + 5);
  ASSERT_EQ(r->answers.size(), 1u);
  EXPECT_EQ(r->answers[0].item, "S01");
  EXPECT_TRUE(r->consent);
}

TEST(Decode, JsonInBothFieldNameStylesWithUnknownFields) {
  const char* camel =
      R"({"responseId":"r-1","respondentRef":"INV-1","wave":"2024","instrument":"WIJKONDERZOEK",
          "wijk":"cool","mode":"PHONE","startedAt":"2023-03-28T10:40:00Z","submittedAt":"2023-03-28T10:55:00.000000005Z",
          "ageBand":"AGE_45_64","sex":"FEMALE","answers":[{"item":"S01","value":4}],
          "interviewerId":"int-2","consent":true,"someNewField":17})";
  absl::StatusOr<RawResponse> r = DecodeResponse(camel, kJsonContentType);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->instrument, 2);
  EXPECT_EQ(*r->submitted_at % kNanosPerSecond, 5);
  EXPECT_EQ(r->unknown_fields, 1);  // someNewField: kept out, counted
  EXPECT_EQ(r->unknown_enum_field, "");
  const char* snake = R"({"response_id":"r-2","age_band":"AGE_15_29","consent":true,"x":1,"y":[2]})";
  r = DecodeResponse(snake, kJsonContentType);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->response_id, "r-2");
  EXPECT_EQ(r->age_band, 1);
  EXPECT_EQ(r->unknown_fields, 2);
}

// A binary message with fields of a newer schema: decoded, and the unknown
// ones counted.
TEST(Decode, UnknownBinaryFieldsAreCounted) {
  std::string bytes = Sample().SerializeAsString();
  bytes += std::string("\xa0\x06\x01", 3);    // field 100, varint 1
  bytes += std::string("\xaa\x06\x02hi", 5);  // field 101, "hi"
  absl::StatusOr<RawResponse> r = DecodeResponse(bytes, "");
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->response_id, "r-1");
  EXPECT_EQ(r->unknown_fields, 2);
  r = DecodeResponse(Sample().SerializeAsString(), "");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->unknown_fields, 0);
}

TEST(Decode, UnknownEnumNumbersAreKeptForValidation) {
  v1::SurveyResponse m = Sample();
  m.set_sex(static_cast<v1::Sex>(7));
  absl::StatusOr<RawResponse> r = DecodeResponse(m.SerializeAsString(), "");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->sex, 7);  // INVALID_FIELD later, not a decode error
}

TEST(Decode, TimestampsOutsideTheRangeAreMarked) {
  v1::SurveyResponse m = Sample();
  m.mutable_submitted_at()->set_seconds(9'999'999'999'999LL);
  absl::StatusOr<RawResponse> r = DecodeResponse(m.SerializeAsString(), "");
  ASSERT_TRUE(r.ok());
  EXPECT_FALSE(r->submitted_at);
  EXPECT_EQ(r->unrepresentable_fields, std::vector<std::string>{"submitted_at"});
}

// Both beyond what UnixNanos holds (year 2262): both are marked, so that
// neither reads as missing (it was MISSING_FIELD submitted_at: only the first
// was kept, issue #18 item 10).
TEST(Decode, EveryTimestampOutsideTheRangeIsMarked) {
  v1::SurveyResponse m = Sample();
  m.mutable_started_at()->set_seconds(9'300'000'000LL);     // 2264
  m.mutable_submitted_at()->set_seconds(9'300'000'600LL);
  for (bool binary : {true, false}) {
    absl::StatusOr<RawResponse> r = binary ? DecodeResponse(m.SerializeAsString(), "")
                                           : DecodeResponseWithProtobuf(m.SerializeAsString(), "");
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(r->unrepresentable_fields, (std::vector<std::string>{"started_at", "submitted_at"}));
    const FieldCheck fc = CheckFields(*r, RuleContext{testing::DefaultMethodology(), testing::DefaultDistricts(), 0});
    EXPECT_EQ(fc.reason, RejectReason::kInvalidField) << fc.detail;
    EXPECT_EQ(fc.detail, "started_at and submitted_at are not valid timestamps");
  }
}

// The pipeline's preparer decodes and checks each record into the slot the
// record before it used (Recycle keeps the buffers): every record of a
// season, binary and JSON, broken ones among them, comes out as decoding
// and checking it afresh does, whatever came before it.
TEST(Decode, DecodingAndCheckingIntoReusedObjectsEqualsDoingItAfresh) {
  sim::SimOptions o;
  o.scale = 0.05;
  o.json_share = 0.3;
  const std::vector<sim::SimRecord> season =
      sim::Generate(testing::DefaultMethodology(), testing::DefaultDistricts(), o);
  // Every record also follows the largest one and a garbled one.
  const sim::SimRecord* largest = &season.front();
  for (const sim::SimRecord& r : season) {
    if (r.topic == o.responses_topic && r.value.size() > largest->value.size()) largest = &r;
  }
  const RuleContext ctx{testing::DefaultMethodology(), testing::DefaultDistricts(), 1'700'000'000'000'000'000};
  RawResponse reused;
  FieldCheck check;
  int compared = 0, rejected = 0, failed = 0;
  auto same = [&](const sim::SimRecord& r) {
    absl::StatusOr<RawResponse> fresh = DecodeResponse(r.value, r.content_type);
    const absl::Status st = DecodeResponse(r.value, r.content_type, reused);
    EXPECT_EQ(st.ok(), fresh.ok()) << r.key;
    if (!st.ok() || !fresh.ok()) {
      ++failed;
      return;
    }
    EXPECT_TRUE(reused == *fresh) << r.key;
    const FieldCheck want = CheckFields(*fresh, ctx);
    CheckFields(reused, ctx, check);
    EXPECT_EQ(check.reason, want.reason) << r.key;
    EXPECT_EQ(check.detail, want.detail) << r.key;
    // Whole structs: a member added later is compared too.
    EXPECT_TRUE(check.response == want.response) << r.key;
    EXPECT_TRUE(check.attribution == want.attribution) << r.key;
    ++compared;
    rejected += want.reason.has_value();
  };
  sim::SimRecord garbled = *largest;
  garbled.value = std::string("\x0f\xff\x13garbled", 10);
  garbled.content_type.clear();
  for (const sim::SimRecord& r : season) {
    if (r.topic != o.responses_topic) continue;
    same(*largest);
    same(r);
    same(garbled);
    same(r);
  }
  EXPECT_GT(compared, 4000) << compared;
  EXPECT_GT(rejected, 100) << rejected;  // rejected records are compared too
  EXPECT_GT(failed, 1400) << failed;     // and records after a decode error
}

TEST(Decode, WhatIsNotASurveyResponseIsADecodeError) {
  EXPECT_FALSE(DecodeResponse(std::string("\x0f\xff\x13garbled", 10), "").ok());  // invalid wire type
  EXPECT_FALSE(DecodeResponse("", "").ok());
  EXPECT_FALSE(DecodeResponse("{not json", kJsonContentType).ok());
  EXPECT_FALSE(DecodeResponse(Sample().SerializeAsString(), kJsonContentType).ok());
  EXPECT_FALSE(DecodeResponse(Sample().SerializeAsString(), "text/csv").ok());
  // Bytes that parse but set no known field (only an unknown field 99).
  std::string unknown_only("\x98\x06\x01", 3);
  absl::StatusOr<RawResponse> r = DecodeResponse(unknown_only, "");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(std::string(r.status().message()).find("no known field"), std::string::npos);
}

// Media types as RFC 9110 has them: case-insensitive, with parameters. A
// producer that sends "application/json; charset=utf-8" is not refused.
TEST(Decode, TheContentTypeIsAMediaType) {
  std::string json;
  ASSERT_TRUE(google::protobuf::util::MessageToJsonString(Sample(), &json).ok());
  for (const char* ct : {"application/json; charset=utf-8", "Application/JSON", " application/json ",
                         "application/json;charset=UTF-8"}) {
    absl::StatusOr<RawResponse> r = DecodeResponse(json, ct);
    ASSERT_TRUE(r.ok()) << ct << ": " << r.status();
    EXPECT_EQ(r->response_id, "r-1") << ct;
  }
  for (const char* ct : {"Application/X-Protobuf", "application/protobuf; proto=wijkpuls.v1.SurveyResponse"}) {
    absl::StatusOr<RawResponse> r = DecodeResponse(Sample().SerializeAsString(), ct);
    ASSERT_TRUE(r.ok()) << ct << ": " << r.status();
    EXPECT_EQ(r->response_id, "r-1") << ct;
  }
  // Unsupported: named in the error, with what a log line must not hold escaped.
  absl::StatusOr<RawResponse> r = DecodeResponse(json, "text/json\nforged");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(), "unsupported content-type \"text/json\\x0aforged\"");
  EXPECT_FALSE(DecodeResponse(json, "application/jsonx").ok());
}

// An enum sent in JSON as a name the schema does not know is an invalid
// field, not a missing one (protobuf's parser drops it as if absent).
TEST(Decode, AnUnknownEnumNameInJsonIsMarkedInvalidNotMissing) {
  std::string json;
  ASSERT_TRUE(google::protobuf::util::MessageToJsonString(Sample(), &json).ok());
  const std::string mode = "\"mode\":\"PHONE\"";
  ASSERT_NE(json.find(mode), std::string::npos) << json;
  std::string pigeon = json;
  pigeon.replace(pigeon.find(mode), mode.size(), "\"mode\":\"CARRIER_PIGEON\"");
  absl::StatusOr<RawResponse> r = DecodeResponse(pigeon, kJsonContentType);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->mode, 0);
  EXPECT_EQ(r->unknown_enum_field, "mode");
  // Known names, and the snake_case key, leave it empty.
  r = DecodeResponse(json, kJsonContentType);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->unknown_enum_field, "");
  std::string sex = json;
  const std::string female = "\"sex\":\"FEMALE\"";
  ASSERT_NE(sex.find(female), std::string::npos) << json;
  sex.replace(sex.find(female), female.size(), "\"sex\":\"UNKNOWN_SEX\"");
  r = DecodeResponse(sex, kJsonContentType);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->unknown_enum_field, "sex");
}

// An empty string for a required enum is an empty field, MISSING_FIELD as the
// .proto defines it ("absent or empty"), not INVALID_FIELD (issue #23).
TEST(Decode, AnEmptyEnumNameInJsonIsMissingNotInvalid) {
  std::string json;
  ASSERT_TRUE(google::protobuf::util::MessageToJsonString(Sample(), &json).ok());
  for (const std::string field : {"age_band", "ageBand", "sex", "mode", "instrument"}) {
    nlohmann::json doc = nlohmann::json::parse(json);
    const std::string camel = field == "age_band" ? "ageBand" : field;
    doc.erase(camel);
    doc[field] = "";
    absl::StatusOr<RawResponse> r = DecodeResponse(doc.dump(), kJsonContentType);
    ASSERT_TRUE(r.ok()) << field << ": " << r.status();
    EXPECT_EQ(r->unknown_enum_field, "") << field;
    const RuleContext ctx{testing::DefaultMethodology(), testing::DefaultDistricts(), testing::Local("2023-11-20 12:00:00")};
    const FieldCheck check = CheckFields(*r, ctx);
    ASSERT_TRUE(check.reason.has_value()) << field;
    EXPECT_EQ(*check.reason, RejectReason::kMissingField) << field << ": " << check.detail;
  }
}

// "answers": [[...]] is not the JSON mapping of a repeated message field, but
// protobuf's parser flattened the inner lists and the answers were counted
// (issue #18, item 10). The fast path leaves such text to protobuf's parser.
TEST(Decode, AListInsideTheAnswersListIsADecodeError) {
  std::string json;
  ASSERT_TRUE(google::protobuf::util::MessageToJsonString(Sample(), &json).ok());
  const std::string answers = R"("answers":[{"item":"S01","value":4}])";
  ASSERT_NE(json.find(answers), std::string::npos) << json;
  for (const char* nested : {R"("answers":[[{"item":"S01","value":4}]])",
                             R"("answers":[{"item":"S01","value":4},[{"item":"S02","value":3}]])",
                             R"("answers":[[[{"item":"S01","value":4}]]])", R"("answers":[[]])",
                             R"("answers" : [ [ {"item":"S01","value":4} ] ])"}) {
    std::string text = json;
    text.replace(text.find(answers), answers.size(), nested);
    absl::StatusOr<RawResponse> r = DecodeResponse(text, kJsonContentType);
    ASSERT_FALSE(r.ok()) << nested << ": decoded with " << r->answers.size() << " answers";
    EXPECT_EQ(r.status().message(), "not a SurveyResponse in the protobuf JSON mapping: answers holds a list in its list")
        << nested;
  }
  EXPECT_TRUE(DecodeResponse(json, kJsonContentType).ok());
}

TEST(Decode, ErrorsNeverQuoteTheData) {
  const std::string secret = R"({"respondentRef":"SECRET-REF", "answers": "oops"})";
  absl::StatusOr<RawResponse> r = DecodeResponse(secret, kJsonContentType);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(std::string(r.status().message()).find("SECRET"), std::string::npos);
}

// What is not a Withdrawal: a SurveyResponse produced to the withdrawals
// topic shares respondent_ref, wave (and in JSON wijk) with a Withdrawal, and
// parsed as one (issue #18, item 10). Its other fields give it away.
TEST(Decode, AResponseIsNotAWithdrawal) {
  const v1::SurveyResponse m = Sample();
  std::string json;
  ASSERT_TRUE(google::protobuf::util::MessageToJsonString(m, &json).ok());
  absl::StatusOr<RawWithdrawal> w = DecodeWithdrawal(m.SerializeAsString(), "");
  ASSERT_FALSE(w.ok());
  EXPECT_EQ(w.status().message(),
            "not a Withdrawal: it has fields of a SurveyResponse (instrument, mode, started_at, submitted_at, "
            "age_band, sex, answers, interviewer_id, consent), so it withdraws nobody; was a response sent to "
            "the withdrawals topic?");
  w = DecodeWithdrawal(json, kJsonContentType);
  ASSERT_FALSE(w.ok());
  EXPECT_EQ(w.status().message(),
            "not a Withdrawal: it has fields of a SurveyResponse (response_id, instrument, mode, started_at, "
            "submitted_at, age_band, sex, answers, interviewer_id, consent), so it withdraws nobody; was a "
            "response sent to the withdrawals topic?");
  // One response field is enough; in JSON response_id (in binary its number
  // is the Withdrawal's withdrawal_id).
  EXPECT_FALSE(DecodeWithdrawal(R"({"respondentRef":"INV-1","wave":"2024","responseId":"r-1"})", kJsonContentType).ok());
  EXPECT_FALSE(DecodeWithdrawal(R"({"respondent_ref":"INV-1","wave":"2024","answers":[]})", kJsonContentType).ok());
  v1::SurveyResponse few;
  few.set_respondent_ref("INV-1");
  few.set_wave("2024");
  few.set_consent(true);
  EXPECT_FALSE(DecodeWithdrawal(few.SerializeAsString(), "").ok());

  // Withdrawals, with every field, unknown keys and unknown field numbers
  // outside SurveyResponse's, are still withdrawals.
  v1::Withdrawal full;
  full.set_withdrawal_id("w-1");
  full.set_respondent_ref("INV-1");
  full.set_wave("2024");
  full.set_wijk("cool");
  full.mutable_requested_at()->set_seconds(1'700'000'000);
  std::string text;
  ASSERT_TRUE(google::protobuf::util::MessageToJsonString(full, &text).ok());
  EXPECT_TRUE(DecodeWithdrawal(full.SerializeAsString(), "").ok());
  EXPECT_TRUE(DecodeWithdrawal(full.SerializeAsString() + std::string("\x98\x06\x01", 3), "").ok());  // field 99
  EXPECT_TRUE(DecodeWithdrawal(text, kJsonContentType).ok()) << text;
  text.insert(1, R"("note":"by phone",)");
  EXPECT_TRUE(DecodeWithdrawal(text, kJsonContentType).ok()) << text;
}

TEST(Decode, Withdrawals) {
  v1::Withdrawal w;
  w.set_respondent_ref("INV-1");
  w.set_wave("2024");
  absl::StatusOr<RawWithdrawal> d = DecodeWithdrawal(w.SerializeAsString(), "");
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->wave, "2024");
  EXPECT_TRUE(d->wijk.empty());
  EXPECT_FALSE(DecodeWithdrawal("\x0f\xff", "").ok());
}

}  // namespace
}  // namespace wijkpuls
