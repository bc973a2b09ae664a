#include "validate/rules.h"

#include "validate/wire.h"

#include <algorithm>
#include <vector>

#include "model/text.h"
#include "absl/time/time.h"

namespace wijkpuls {
namespace {

constexpr size_t kMaxIdLength = 128;
constexpr size_t kMaxShortField = 64;
constexpr size_t kMaxAnswers = 500;

bool IsIdChar(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' ||
         c == '_' || c == ':' || c == '-';
}

bool IsIdLike(std::string_view s, size_t max) {
  return !s.empty() && s.size() <= max && std::all_of(s.begin(), s.end(), IsIdChar);
}

// Length in UTF-8 code points (protobuf has already checked the encoding).
size_t CodePoints(std::string_view s) {
  return static_cast<size_t>(
      std::count_if(s.begin(), s.end(), [](char c) { return (c & 0xC0) != 0x80; }));
}

bool NeedsStartedAt(int mode) { return mode == 1 || mode == 3 || mode == 4; }  // WEB/PHONE/F2F
bool NeedsInterviewer(int mode) { return mode == 3 || mode == 4; }           // PHONE/F2F

std::string LocalTime(UnixNanos t, const Methodology& m) {
  return Cat(
      absl::FormatTime("%Y-%m-%d %H:%M:%S", absl::FromUnixNanos(t), m.time_zone), " ",
      m.time_zone_name);
}

void Reject(FieldCheck& fc, RejectReason reason, std::string detail) {
  fc.reason = reason;
  fc.detail = std::move(detail);
}

// Fills what of the record is valid, whatever it is rejected for.
Attribution Attribute(const RawResponse& raw, const RuleContext& ctx) {
  Attribution a;
  a.wave = ctx.methodology.FindWave(raw.wave);
  a.wijk = ctx.districts.FindWijk(raw.wijk);
  a.instrument = InstrumentFromWire(raw.instrument);
  a.age_band = AgeBandFromWire(raw.age_band);
  a.sex = SexFromWire(raw.sex);
  a.mode = ModeFromWire(raw.mode);
  if (NeedsInterviewer(raw.mode) && IsIdLike(raw.interviewer_id, kMaxShortField)) {
    a.interviewer_id = raw.interviewer_id;
  }
  a.submitted_at = raw.submitted_at;
  return a;
}

std::vector<std::string_view> MissingFields(const RawResponse& raw) {
  std::vector<std::string_view> missing;
  if (raw.response_id.empty()) missing.push_back("response_id");
  if (raw.respondent_ref.empty()) missing.push_back("respondent_ref");
  if (raw.wave.empty()) missing.push_back("wave");
  auto absent = [&](int value, std::string_view field) { return value == 0 && raw.unknown_enum_field != field; };
  if (absent(raw.instrument, "instrument")) missing.push_back("instrument");
  if (raw.wijk.empty()) missing.push_back("wijk");
  if (absent(raw.mode, "mode")) missing.push_back("mode");
  auto unrepresentable = [&](std::string_view field) {
    return std::find(raw.unrepresentable_fields.begin(), raw.unrepresentable_fields.end(), field) !=
           raw.unrepresentable_fields.end();
  };
  if (NeedsStartedAt(raw.mode) && !raw.started_at && !unrepresentable("started_at")) {
    missing.push_back("started_at");
  }
  if (!raw.submitted_at && !unrepresentable("submitted_at")) missing.push_back("submitted_at");
  if (absent(raw.age_band, "age_band")) missing.push_back("age_band");
  if (absent(raw.sex, "sex")) missing.push_back("sex");
  if (raw.answers.empty()) missing.push_back("answers");
  if (NeedsInterviewer(raw.mode) && raw.interviewer_id.empty()) missing.push_back("interviewer_id");
  return missing;
}

std::optional<std::string> InvalidField(const RawResponse& raw) {
  if (!IsValidResponseId(raw.response_id)) {
    return std::string("response_id must be 1-128 characters of A-Z a-z 0-9 . _ : -");
  }
  if (CodePoints(raw.respondent_ref) > kMaxIdLength) {
    return std::string("respondent_ref is longer than 128 characters");
  }
  if (raw.wave.size() > kMaxShortField) return std::string("wave is longer than 64 characters");
  if (raw.wijk.size() > kMaxShortField) return std::string("wijk is longer than 64 characters");
  if (raw.instrument > kInstrumentCount || raw.instrument < 0) {
    return Cat("instrument ", raw.instrument, " is not a known value");
  }
  if (raw.mode > kModeCount || raw.mode < 0) {
    return Cat("mode ", raw.mode, " is not a known value");
  }
  if (raw.age_band > kAgeBandCount || raw.age_band < 0) {
    return Cat("age_band ", raw.age_band, " is not a known value");
  }
  if (raw.sex > kSexCount || raw.sex < 0) {
    return Cat("sex ", raw.sex, " is not a known value");
  }
  if (raw.unrepresentable_fields.size() == 1) {
    return Cat(raw.unrepresentable_fields[0], " is not a valid timestamp");
  }
  if (!raw.unrepresentable_fields.empty()) {
    return Cat(Join(raw.unrepresentable_fields, " and "), " are not valid timestamps");
  }
  if (!raw.unknown_enum_field.empty()) return Cat(raw.unknown_enum_field, " is not a known value");
  if (NeedsInterviewer(raw.mode) && !IsIdLike(raw.interviewer_id, kMaxShortField)) {
    return std::string("interviewer_id must be 1-64 characters of A-Z a-z 0-9 . _ : -");
  }
  if (CodePoints(raw.instrument_version) > kMaxShortField) {
    return std::string("instrument_version is longer than 64 characters");
  }
  if (raw.answers.size() > kMaxAnswers) {
    return Cat("answers has ", raw.answers.size(), " entries, at most ", kMaxAnswers);
  }
  return std::nullopt;
}

// Sorts the answer entries into kept answers and dropped ones; returns the
// number of the instrument's entries and of those that were invalid.
struct AnswerSort {
  int instrument_entries = 0;
  int invalid_entries = 0;
};

AnswerSort SortAnswers(const RawResponse& raw, const Codebook& codebook, CountedResponse& out) {
  AnswerSort s;
  thread_local std::vector<bool> seen;  // reused: its buffer is allocated once per thread
  seen.assign(codebook.items().size(), false);
  for (const RawAnswer& a : raw.answers) {
    std::optional<int> item = codebook.Find(a.item);
    if (!item) {
      ++out.unknown_items;
      continue;
    }
    const ItemDef& def = codebook.items()[*item];
    if (def.instrument != out.instrument) {
      ++out.other_instrument_items;
      continue;
    }
    ++s.instrument_entries;
    const bool valid = !seen[*item] && (IsMissingCode(a.value) || def.IsSubstantive(a.value));
    seen[*item] = true;
    if (valid) {
      out.answers.push_back(ItemAnswer{static_cast<uint16_t>(*item), static_cast<int16_t>(a.value)});
    } else {
      ++s.invalid_entries;
      out.dropped_items.push_back(static_cast<uint16_t>(*item));
    }
  }
  std::sort(out.answers.begin(), out.answers.end(),
            [](const ItemAnswer& x, const ItemAnswer& y) { return x.item < y.item; });
  std::sort(out.dropped_items.begin(), out.dropped_items.end());
  return s;
}

}  // namespace

bool IsValidResponseId(std::string_view id) { return IsIdLike(id, kMaxIdLength); }

namespace {

// submitted_at - started_at without overflow: two valid timestamps can lie
// more than int64 nanoseconds (292 years) apart. CheckFields guarantees
// started_at <= submitted_at, so the unsigned difference is exact; a negative
// elapsed time (never counted) reads as 0.
uint64_t ElapsedNanos(UnixNanos started, UnixNanos submitted) {
  if (started >= submitted) return 0;
  return static_cast<uint64_t>(submitted) - static_cast<uint64_t>(started);
}

}  // namespace

std::optional<int64_t> CountedResponse::DurationSeconds() const {
  if (!started_at) return std::nullopt;
  return static_cast<int64_t>(ElapsedNanos(*started_at, submitted_at) /
                              static_cast<uint64_t>(kNanosPerSecond));
}

FieldCheck CheckFields(const RawResponse& raw, const RuleContext& ctx) {
  FieldCheck fc;
  CheckFields(raw, ctx, fc);
  return fc;
}

void CheckFields(const RawResponse& raw, const RuleContext& ctx, FieldCheck& fc) {
  const Methodology& m = ctx.methodology;
  RecycleKeeping(fc, &FieldCheck::response);
  fc.attribution = Attribute(raw, ctx);

  if (std::vector<std::string_view> missing = MissingFields(raw); !missing.empty()) {
    return Reject(fc, RejectReason::kMissingField,
                  Cat("missing: ", Join(missing, ", ")));
  }
  if (std::optional<std::string> invalid = InvalidField(raw)) {
    return Reject(fc, RejectReason::kInvalidField, *invalid);
  }
  const Wave* wave = fc.attribution.wave;
  if (wave == nullptr) {
    return Reject(fc, RejectReason::kUnknownWave,
                  Cat("wave ", Quoted(raw.wave), " is not configured"));
  }
  if (!fc.attribution.wijk) {
    return Reject(fc, RejectReason::kUnknownWijk,
                  Cat("wijk ", Quoted(raw.wijk), " is not in the district register"));
  }
  if (!raw.consent) {
    return Reject(fc, RejectReason::kNoConsent, "consent is not true");
  }
  const UnixNanos submitted = *raw.submitted_at;
  if (raw.started_at && *raw.started_at > submitted) {
    return Reject(fc, RejectReason::kInconsistentTimestamps,
                  Cat("started_at ", LocalTime(*raw.started_at, m),
                               " is after submitted_at ", LocalTime(submitted, m)));
  }
  if (submitted > ctx.now + m.future_tolerance_seconds * kNanosPerSecond) {
    return Reject(fc, RejectReason::kFutureTimestamp,
                  Cat("submitted_at ", LocalTime(submitted, m),
                               " is more than ", m.future_tolerance_seconds,
                               " s after the processing clock ", LocalTime(ctx.now, m)));
  }
  if (submitted < wave->window_start) {
    return Reject(fc, RejectReason::kOutOfWindow,
                  Cat("submitted_at ", LocalTime(submitted, m),
                               " is before the window of wave ", wave->id, " (starts ",
                               FormatDay(wave->window_first_day), ")"));
  }
  if (submitted >= wave->grace_end) {
    return Reject(fc, RejectReason::kOutOfWindow,
                  Cat("submitted_at ", LocalTime(submitted, m),
                               " is after the grace period of wave ", wave->id, " (window ends ",
                               FormatDay(wave->window_last_day), ", ", wave->grace_days,
                               " days of grace until ",
                               FormatDay(wave->window_last_day + wave->grace_days), " 24:00)"));
  }

  CountedResponse& r = fc.response;
  r.response_id = raw.response_id;
  r.wave = wave->id;
  r.wijk = *fc.attribution.wijk;
  r.instrument = *fc.attribution.instrument;
  r.mode = *fc.attribution.mode;
  r.age_band = *fc.attribution.age_band;
  r.sex = *fc.attribution.sex;
  r.started_at = raw.started_at;
  r.submitted_at = submitted;
  r.interviewer_id = fc.attribution.interviewer_id;
  r.instrument_version = raw.instrument_version;
  AnswerSort sorted = SortAnswers(raw, m.codebook, r);
  if (2 * sorted.invalid_entries > sorted.instrument_entries) {
    std::string detail =
        Cat(sorted.invalid_entries, " of ", sorted.instrument_entries, " answer entries of ",
                     WireName(r.instrument), " are invalid (off-scale or repeated)");
    Recycle(fc.response);
    return Reject(fc, RejectReason::kInvalidAnswers, std::move(detail));
  }
}

Attribution AttributionOf(const CountedResponse& r, const Wave& wave) {
  Attribution a;
  a.wave = &wave;
  a.wijk = r.wijk;
  a.instrument = r.instrument;
  a.age_band = r.age_band;
  a.sex = r.sex;
  a.mode = r.mode;
  a.interviewer_id = r.interviewer_id;
  a.submitted_at = r.submitted_at;
  return a;
}

std::optional<RejectReason> DecideRespondent(RespondentState here, bool withdrawn) {
  if (withdrawn) return RejectReason::kWithdrawn;
  switch (here) {
    case RespondentState::kWithdrawn:
      return RejectReason::kWithdrawn;
    case RespondentState::kClaimed:
      return RejectReason::kDuplicateRespondent;
    case RespondentState::kUnseen:
      return std::nullopt;
  }
  return std::nullopt;
}

FlagSet EvaluateFlags(const CountedResponse& r, const Methodology& m) {
  const QualityRules& q = m.quality;
  FlagSet flags;
  const int64_t min_seconds = q.speeder_min_seconds[static_cast<int>(r.mode)];
  if (min_seconds > 0 && r.started_at &&
      ElapsedNanos(*r.started_at, r.submitted_at) <
          static_cast<uint64_t>(min_seconds) * static_cast<uint64_t>(kNanosPerSecond)) {
    flags.Add(QualityFlag::kSpeeder);
  }
  if (r.instrument == q.straightliner_instrument) {
    int substantive = 0;
    int first_code = -1;
    bool all_same = true;
    for (const ItemAnswer& a : r.answers) {
      if (IsMissingCode(a.value)) continue;
      if (std::find(q.straightliner_items.begin(), q.straightliner_items.end(), a.item) ==
          q.straightliner_items.end()) {
        continue;
      }
      ++substantive;
      if (first_code < 0) first_code = a.value;
      all_same = all_same && a.value == first_code;
    }
    if (substantive >= q.straightliner_min_same && all_same) flags.Add(QualityFlag::kStraightliner);
  }
  // Items of the instrument without a kept answer other than 98/99 (97 counts
  // as answered: the question did not apply).
  const int items = static_cast<int>(m.codebook.ItemsOf(r.instrument).size());
  int answered = 0;
  for (const ItemAnswer& a : r.answers) answered += (a.value != kDontKnow && a.value != kRefused);
  if (items - answered >= q.high_item_nonresponse_min[static_cast<int>(r.instrument)]) {
    flags.Add(QualityFlag::kHighItemNonresponse);
  }
  return flags;
}

}  // namespace wijkpuls
