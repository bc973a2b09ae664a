// The record rules of contract.md and methodology.md sections 1, 2 and 6:
// one case per reject reason and per flag, and the boundaries.
#include "validate/rules.h"

#include <gtest/gtest.h>

#include <functional>
#include <limits>

#include "tests/support/test_support.h"

namespace wijkpuls {
namespace {

using testing::DefaultDistricts;
using testing::DefaultMethodology;
using testing::Local;

constexpr UnixNanos kSecond = kNanosPerSecond;
const UnixNanos kNow = Local("2026-11-29 12:00:00");

// A valid VM web response: every item answered 2 (on every VM scale).
RawResponse ValidVm() {
  RawResponse r;
  r.response_id = "sim:2024:1";
  r.respondent_ref = "INV-0001";
  r.wave = "2024";
  r.wijk = "tussendijken";
  r.instrument = 1;  // VEILIGHEIDSMONITOR
  r.mode = 1;        // WEB
  r.age_band = 2;
  r.sex = 2;
  r.submitted_at = Local("2023-05-10 12:00:00");
  r.started_at = *r.submitted_at - 600 * kSecond;
  r.consent = true;
  for (int i = 1; i <= 14; ++i) r.answers.push_back({i < 10 ? "V0" + std::to_string(i) : "V" + std::to_string(i), 2});
  return r;
}

// A valid WO web response with varied answers (no straightlining).
RawResponse ValidWo() {
  RawResponse r = ValidVm();
  r.instrument = 2;
  r.answers.clear();
  const char* items[] = {"S01", "S02", "S03", "S04", "S05", "S06", "S07", "S08", "S09", "S10", "F01",
                         "F02", "F03", "F04", "F05", "F06", "F07", "F08", "F09", "F10", "F11"};
  int v = 0;
  for (const char* item : items) r.answers.push_back({item, 1 + (v++ % 3)});
  return r;
}

FieldCheck Check(const RawResponse& r) {
  return CheckFields(r, RuleContext{DefaultMethodology(), DefaultDistricts(), kNow});
}

struct ReasonCase {
  std::string name;
  std::function<void(RawResponse&)> change;
  std::optional<RejectReason> expected;
};

void PrintTo(const ReasonCase& c, std::ostream* os) { *os << c.name; }

class RuleCases : public ::testing::TestWithParam<ReasonCase> {};

TEST_P(RuleCases, GivesTheExpectedOutcome) {
  RawResponse r = ValidVm();
  GetParam().change(r);
  FieldCheck fc = Check(r);
  EXPECT_EQ(fc.reason, GetParam().expected) << fc.detail;
  if (fc.reason) {
    EXPECT_FALSE(fc.detail.empty());
  }
}

using RR = RejectReason;
INSTANTIATE_TEST_SUITE_P(
    EveryReason, RuleCases,
    ::testing::Values(
        ReasonCase{"valid", [](RawResponse&) {}, std::nullopt},
        ReasonCase{"no_response_id", [](RawResponse& r) { r.response_id.clear(); }, RR::kMissingField},
        ReasonCase{"no_ref", [](RawResponse& r) { r.respondent_ref.clear(); }, RR::kMissingField},
        ReasonCase{"no_wave", [](RawResponse& r) { r.wave.clear(); }, RR::kMissingField},
        ReasonCase{"no_instrument", [](RawResponse& r) { r.instrument = 0; }, RR::kMissingField},
        ReasonCase{"no_wijk", [](RawResponse& r) { r.wijk.clear(); }, RR::kMissingField},
        ReasonCase{"no_mode", [](RawResponse& r) { r.mode = 0; }, RR::kMissingField},
        ReasonCase{"no_submitted", [](RawResponse& r) { r.submitted_at.reset(); }, RR::kMissingField},
        ReasonCase{"no_started_web", [](RawResponse& r) { r.started_at.reset(); }, RR::kMissingField},
        ReasonCase{"no_started_paper_is_fine", [](RawResponse& r) { r.mode = 2; r.started_at.reset(); }, std::nullopt},
        ReasonCase{"no_age", [](RawResponse& r) { r.age_band = 0; }, RR::kMissingField},
        ReasonCase{"no_sex", [](RawResponse& r) { r.sex = 0; }, RR::kMissingField},
        ReasonCase{"no_answers", [](RawResponse& r) { r.answers.clear(); }, RR::kMissingField},
        ReasonCase{"phone_without_interviewer", [](RawResponse& r) { r.mode = 3; }, RR::kMissingField},
        ReasonCase{"phone_with_interviewer", [](RawResponse& r) { r.mode = 3; r.interviewer_id = "int-1"; r.started_at = *r.submitted_at - 400 * kSecond; }, std::nullopt},
        ReasonCase{"missing_wins_over_invalid", [](RawResponse& r) { r.sex = 0; r.age_band = 9; }, RR::kMissingField},
        ReasonCase{"id_with_space", [](RawResponse& r) { r.response_id = "a b"; }, RR::kInvalidField},
        ReasonCase{"id_129_chars", [](RawResponse& r) { r.response_id = std::string(129, 'a'); }, RR::kInvalidField},
        ReasonCase{"id_128_chars", [](RawResponse& r) { r.response_id = std::string(128, 'a'); }, std::nullopt},
        ReasonCase{"ref_129_chars", [](RawResponse& r) { r.respondent_ref = std::string(129, 'x'); }, RR::kInvalidField},
        ReasonCase{"instrument_7", [](RawResponse& r) { r.instrument = 7; }, RR::kInvalidField},
        ReasonCase{"mode_9", [](RawResponse& r) { r.mode = 9; }, RR::kInvalidField},
        ReasonCase{"age_5", [](RawResponse& r) { r.age_band = 5; }, RR::kInvalidField},
        ReasonCase{"sex_3", [](RawResponse& r) { r.sex = 3; }, RR::kInvalidField},
        ReasonCase{"mode_by_an_unknown_name", [](RawResponse& r) { r.mode = 0; r.unknown_enum_field = "mode"; }, RR::kInvalidField},
        ReasonCase{"sex_by_an_unknown_name", [](RawResponse& r) { r.sex = 0; r.unknown_enum_field = "sex"; }, RR::kInvalidField},
        ReasonCase{"bad_interviewer", [](RawResponse& r) { r.mode = 4; r.interviewer_id = "x y"; }, RR::kInvalidField},
        ReasonCase{"timestamp_out_of_range", [](RawResponse& r) { r.submitted_at.reset(); r.unrepresentable_fields = {"submitted_at"}; }, RR::kInvalidField},
        ReasonCase{"both_timestamps_out_of_range", [](RawResponse& r) { r.started_at.reset(); r.submitted_at.reset(); r.unrepresentable_fields = {"started_at", "submitted_at"}; }, RR::kInvalidField},
        ReasonCase{"unknown_wave", [](RawResponse& r) { r.wave = "2019"; }, RR::kUnknownWave},
        ReasonCase{"unknown_wijk", [](RawResponse& r) { r.wijk = "atlantis"; }, RR::kUnknownWijk},
        ReasonCase{"wave_before_wijk", [](RawResponse& r) { r.wave = "2019"; r.wijk = "atlantis"; }, RR::kUnknownWave},
        ReasonCase{"no_consent", [](RawResponse& r) { r.consent = false; }, RR::kNoConsent},
        ReasonCase{"started_after_submitted", [](RawResponse& r) { r.started_at = *r.submitted_at + kSecond; }, RR::kInconsistentTimestamps},
        ReasonCase{"started_equals_submitted", [](RawResponse& r) { r.started_at = r.submitted_at; }, std::nullopt},
        ReasonCase{"future_301s", [](RawResponse& r) { r.submitted_at = kNow + 301 * kSecond; r.started_at = kNow; }, RR::kFutureTimestamp},
        ReasonCase{"future_300s_is_tolerated", [](RawResponse& r) { r.submitted_at = kNow + 300 * kSecond; r.started_at = kNow; }, RR::kOutOfWindow},
        ReasonCase{"window_first_second", [](RawResponse& r) { r.submitted_at = Local("2023-03-01 00:00:00"); r.started_at.reset(); r.mode = 2; }, std::nullopt},
        ReasonCase{"window_last_second_before", [](RawResponse& r) { r.submitted_at = Local("2023-02-28 23:59:59"); r.started_at.reset(); r.mode = 2; }, RR::kOutOfWindow},
        ReasonCase{"window_end_day", [](RawResponse& r) { r.submitted_at = Local("2023-10-31 23:59:59"); }, std::nullopt},
        ReasonCase{"grace_last_second", [](RawResponse& r) { r.submitted_at = Local("2023-11-14 23:59:59"); r.started_at.reset(); r.mode = 2; }, std::nullopt},
        ReasonCase{"grace_over", [](RawResponse& r) { r.submitted_at = Local("2023-11-15 00:00:00"); r.started_at.reset(); r.mode = 2; }, RR::kOutOfWindow},
        ReasonCase{"half_invalid_is_kept", [](RawResponse& r) { for (int i = 0; i < 7; ++i) r.answers[i].value = 42; }, std::nullopt},
        ReasonCase{"more_than_half_invalid", [](RawResponse& r) { for (int i = 0; i < 8; ++i) r.answers[i].value = 42; }, RR::kInvalidAnswers},
        ReasonCase{"repeats_are_invalid", [](RawResponse& r) { for (int i = 0; i < 15; ++i) r.answers.push_back({"V01", 1}); }, RR::kInvalidAnswers},
        ReasonCase{"other_items_do_not_count", [](RawResponse& r) { for (int i = 0; i < 30; ++i) r.answers.push_back({"S01", 42}); }, std::nullopt},
        ReasonCase{"only_unknown_items", [](RawResponse& r) { r.answers = {{"Z1", 1}, {"Z2", 1}}; }, std::nullopt}),
    [](const ::testing::TestParamInfo<ReasonCase>& i) { return i.param.name; });

// A wave or wijk the producer made up is named in the rejection's detail
// (and the debug log), with everything that could forge a log line or break
// UTF-8 escaped (found by an audit: a wijk with a newline forged a log line).
TEST(Rules, AnUnknownWijkOrWaveIsQuotedWithControlBytesEscaped) {
  RawResponse r = ValidVm();
  r.wijk = "x\n2026-01-01 error FORGED \"\xff";
  FieldCheck c = Check(r);
  ASSERT_EQ(c.reason, RejectReason::kUnknownWijk);
  EXPECT_EQ(c.detail, "wijk \"x\\x0a2026-01-01 error FORGED \\x22\\xff\" is not in the district register");
  r = ValidVm();
  r.wave = "20\r24";
  c = Check(r);
  ASSERT_EQ(c.reason, RejectReason::kUnknownWave);
  EXPECT_EQ(c.detail, "wave \"20\\x0d24\" is not configured");
}

TEST(Rules, TheWindowStartsAtLocalMidnightInWinterTime) {
  // 2023-03-01 00:00 Europe/Amsterdam is 2023-02-28 23:00 UTC (CET, +1).
  const Wave& w = *DefaultMethodology().FindWave("2024");
  EXPECT_EQ(w.window_start, 1677625200LL * kNanosPerSecond);
  // The grace period ends 2023-11-15 00:00 CET = 2023-11-14 23:00 UTC.
  EXPECT_EQ(w.grace_end, 1700002800LL * kNanosPerSecond);
  EXPECT_EQ(w.fieldwork_days, 183);
}

TEST(Rules, LocalDaysFollowDaylightSavingTime) {
  const Methodology& m = DefaultMethodology();
  // Spring forward on 2023-03-26: that local day has 23 hours.
  EXPECT_EQ(m.StartOfDay(*ParseDay("2023-03-27")) - m.StartOfDay(*ParseDay("2023-03-26")), 23 * 3600 * kSecond);
  // Fall back on 2023-10-29: 25 hours.
  EXPECT_EQ(m.StartOfDay(*ParseDay("2023-10-30")) - m.StartOfDay(*ParseDay("2023-10-29")), 25 * 3600 * kSecond);
  // 2023-10-28 22:30 UTC is 00:30 CEST on the 29th.
  EXPECT_EQ(FormatDay(m.LocalDay(1698532200LL * kSecond)), "2023-10-29");
  // 2023-03-25 23:30 UTC is 00:30 CET on the 26th.
  EXPECT_EQ(FormatDay(m.LocalDay(1679787000LL * kSecond)), "2023-03-26");
}

TEST(Rules, AnswersOfTheOtherInstrumentAndUnknownItemsAreCountedNotKept) {
  RawResponse r = ValidVm();
  r.answers.push_back({"S01", 4});
  r.answers.push_back({"Q77", 1});
  r.answers.push_back({"V01", 1});  // a repeat: the first answer (2) counts
  r.answers[3].value = 9;           // V04 off-scale: dropped
  FieldCheck fc = Check(r);
  ASSERT_FALSE(fc.reason) << fc.detail;
  EXPECT_EQ(fc.response.other_instrument_items, 1);
  EXPECT_EQ(fc.response.unknown_items, 1);
  ASSERT_EQ(fc.response.dropped_items.size(), 2u);  // V01 (repeat), V04
  EXPECT_EQ(fc.response.answers.size(), 13u);
  EXPECT_EQ(fc.response.answers[0].value, 2);  // V01 kept its first answer
}

TEST(Rules, TheRespondentRulesPutWithdrawnBeforeDuplicate) {
  EXPECT_EQ(DecideRespondent(RespondentState::kWithdrawn, true), RejectReason::kWithdrawn);
  EXPECT_EQ(DecideRespondent(RespondentState::kClaimed, false), RejectReason::kDuplicateRespondent);
  EXPECT_EQ(DecideRespondent(RespondentState::kUnseen, false), std::nullopt);
  // Withdrawn wave-wide (or claimed before the withdrawal came): WITHDRAWN.
  EXPECT_EQ(DecideRespondent(RespondentState::kUnseen, true), RejectReason::kWithdrawn);
  EXPECT_EQ(DecideRespondent(RespondentState::kClaimed, true), RejectReason::kWithdrawn);
}

TEST(Rules, RejectedRecordsKeepWhatCanBeAttributed) {
  RawResponse r = ValidVm();
  r.consent = false;
  FieldCheck fc = Check(r);
  ASSERT_EQ(fc.reason, RejectReason::kNoConsent);
  EXPECT_TRUE(fc.attribution.HasCell());
  EXPECT_EQ(fc.attribution.mode, Mode::kWeb);
}

// Quality flags.
FlagSet FlagsOf(const RawResponse& r) {
  FieldCheck fc = Check(r);
  EXPECT_FALSE(fc.reason) << fc.detail;
  return EvaluateFlags(fc.response, DefaultMethodology());
}

TEST(Flags, WebFasterThan240SecondsIsASpeeder) {
  RawResponse r = ValidVm();
  r.started_at = *r.submitted_at - 240 * kSecond;
  EXPECT_FALSE(FlagsOf(r).Has(QualityFlag::kSpeeder));
  r.started_at = *r.submitted_at - 240 * kSecond + 1;  // one nanosecond short
  EXPECT_TRUE(FlagsOf(r).Has(QualityFlag::kSpeeder));
}

// Two valid timestamps can lie more than int64 nanoseconds apart (found by
// record_fuzz): a start in 1700 is a very slow respondent, not a speeder, and
// its duration is exact in seconds.
TEST(Flags, StartCenturiesBeforeSubmitIsNoSpeederAndItsDurationIsExact) {
  RawResponse r = ValidVm();
  r.started_at = std::numeric_limits<UnixNanos>::min() + 1;
  EXPECT_FALSE(FlagsOf(r).Has(QualityFlag::kSpeeder));
  FieldCheck fc = Check(r);
  ASSERT_FALSE(fc.reason) << fc.detail;
  __extension__ using Int128 = __int128;  // the exact difference, computed independently
  const Int128 nanos = static_cast<Int128>(*r.submitted_at) - *r.started_at;
  EXPECT_EQ(fc.response.DurationSeconds(), static_cast<int64_t>(nanos / kSecond));
  EXPECT_GT(*fc.response.DurationSeconds(), int64_t{9'000'000'000});
}

TEST(Flags, PhoneAndFaceToFaceNeed360Seconds) {
  for (int mode : {3, 4}) {
    RawResponse r = ValidVm();
    r.mode = mode;
    r.interviewer_id = "int-7";
    r.started_at = *r.submitted_at - 359 * kSecond;
    EXPECT_TRUE(FlagsOf(r).Has(QualityFlag::kSpeeder));
    r.started_at = *r.submitted_at - 360 * kSecond;
    EXPECT_FALSE(FlagsOf(r).Has(QualityFlag::kSpeeder));
  }
}

TEST(Flags, PaperIsNeverASpeeder) {
  RawResponse r = ValidVm();
  r.mode = 2;
  r.started_at = *r.submitted_at - 10 * kSecond;
  EXPECT_TRUE(FlagsOf(r).Empty());
}

void SetGrid(RawResponse& r, int same, int missing, int other_code) {
  const char* grid[] = {"S01", "S05", "S06", "S07", "S08", "S09", "S10", "F01", "F03", "F07", "F08", "F09"};
  int i = 0;
  for (auto& a : r.answers) {
    for (const char* g : grid) {
      if (a.item != g) continue;
      if (i < same) a.value = 4;
      else if (i < same + missing) a.value = kDontKnow;
      else a.value = other_code;
      ++i;
    }
  }
}

TEST(Flags, TenSameGridAnswersMakeAStraightliner) {
  RawResponse r = ValidWo();
  SetGrid(r, 10, 2, 4);  // 10 x "4", 2 don't know
  EXPECT_TRUE(FlagsOf(r).Has(QualityFlag::kStraightliner));
  SetGrid(r, 9, 3, 4);   // 9 x "4": too few to judge
  EXPECT_FALSE(FlagsOf(r).Has(QualityFlag::kStraightliner));
  SetGrid(r, 11, 0, 2);  // 11 x "4" and one "2": not all the same
  EXPECT_FALSE(FlagsOf(r).Has(QualityFlag::kStraightliner));
  SetGrid(r, 12, 0, 4);
  EXPECT_TRUE(FlagsOf(r).Has(QualityFlag::kStraightliner));
}

TEST(Flags, TheSafetyFrequencyItemsAreNotCheckedForStraightlining) {
  RawResponse r = ValidVm();
  for (auto& a : r.answers) a.value = 3;  // "(almost) never" everywhere (V01 3 = rarely)
  EXPECT_FALSE(FlagsOf(r).Has(QualityFlag::kStraightliner));
}

TEST(Flags, HighItemNonresponseStartsAtMoreThanHalfOfTheItems) {
  RawResponse r = ValidVm();  // 14 items
  for (int i = 0; i < 7; ++i) r.answers[i].value = i % 2 ? kDontKnow : kRefused;
  EXPECT_FALSE(FlagsOf(r).Has(QualityFlag::kHighItemNonresponse));  // exactly half
  r.answers[7].value = kDontKnow;
  EXPECT_TRUE(FlagsOf(r).Has(QualityFlag::kHighItemNonresponse));  // 8 of 14
}

TEST(Flags, MissingAndDroppedItemsCountAsNonresponseButNotApplicableDoesNot) {
  RawResponse r = ValidWo();  // 21 items
  for (int i = 0; i < 10; ++i) r.answers[i].value = kNotApplicable;
  EXPECT_FALSE(FlagsOf(r).Has(QualityFlag::kHighItemNonresponse));
  RawResponse s = ValidWo();
  s.answers.resize(12);            // 9 items missing
  s.answers[0].value = 42;         // one dropped as invalid: 10
  EXPECT_FALSE(FlagsOf(s).Has(QualityFlag::kHighItemNonresponse));
  s.answers[1].value = kRefused;   // 11 of 21
  EXPECT_TRUE(FlagsOf(s).Has(QualityFlag::kHighItemNonresponse));
}

TEST(Flags, AResponseMayCarrySeveralFlags) {
  RawResponse r = ValidWo();
  SetGrid(r, 12, 0, 4);
  r.started_at = *r.submitted_at - 60 * kSecond;
  FlagSet f = FlagsOf(r);
  EXPECT_TRUE(f.Has(QualityFlag::kSpeeder));
  EXPECT_TRUE(f.Has(QualityFlag::kStraightliner));
  EXPECT_FALSE(f.Has(QualityFlag::kHighItemNonresponse));
}

}  // namespace
}  // namespace wijkpuls
