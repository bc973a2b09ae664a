// The record rules of contract.md and methodology.md sections 1, 2 and 6, as
// pure functions over plain types. The pipeline runs them in this order, the
// first failure wins:
//   OVERSIZED, DECODE_ERROR          (ingest: before and while decoding)
//   duplicate response_id            (DedupKeyOf + a state lookup)
//   CheckFields: MISSING_FIELD .. INVALID_ANSWERS
//   DecideRespondent: WITHDRAWN, DUPLICATE_RESPONDENT (respondent state lookup)
//   EvaluateFlags: SPEEDER, STRAIGHTLINER, HIGH_ITEM_NONRESPONSE
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "model/district_register.h"
#include "model/methodology.h"
#include "model/response.h"
#include "model/types.h"

namespace wijkpuls {

struct RuleContext {
  const Methodology& methodology;
  const DistrictRegister& districts;
  UnixNanos now;  // the processing clock; used by FUTURE_TIMESTAMP only
};

// Whatever of a record's wave, wijk and register cell is valid, for counting
// a rejection where it belongs (quota cell, mode, interviewer).
struct Attribution {
  const Wave* wave = nullptr;
  std::optional<int> wijk;
  std::optional<Instrument> instrument;
  std::optional<AgeBand> age_band;
  std::optional<Sex> sex;
  std::optional<Mode> mode;
  std::string interviewer_id;  // set for PHONE/FACE_TO_FACE when well-formed
  std::optional<UnixNanos> submitted_at;
  friend bool operator==(const Attribution&, const Attribution&) = default;
  bool HasCell() const { return wave && wijk && instrument && age_band && sex; }
};

// What CheckFields attributed a response that passed its checks to.
Attribution AttributionOf(const CountedResponse& r, const Wave& wave);

struct FieldCheck {
  std::optional<RejectReason> reason;  // empty: all field checks passed
  std::string detail;                  // for a person; never answers or the respondent ref
  // When passed: the typed, normalised response (respondent and flags not yet set).
  CountedResponse response;
  Attribution attribution;
};

// MISSING_FIELD, INVALID_FIELD, UNKNOWN_WAVE, UNKNOWN_WIJK, NO_CONSENT,
// INCONSISTENT_TIMESTAMPS, FUTURE_TIMESTAMP, OUT_OF_WINDOW, INVALID_ANSWERS.
FieldCheck CheckFields(const RawResponse& raw, const RuleContext& ctx);
// The same into `out`, reusing the buffers of its response (Recycle).
void CheckFields(const RawResponse& raw, const RuleContext& ctx, FieldCheck& out);

// Whether the respondent of a response that passed the field checks already
// has a say in the wave.
enum class RespondentState : uint8_t {
  kUnseen = 0,     // no counted response, no withdrawal
  kClaimed = 1,    // a response of this respondent was accepted or flagged
  kWithdrawn = 2,  // the respondent withdrew consent
};

// WITHDRAWN before DUPLICATE_RESPONDENT; nullopt when the response may count.
// `here`: the respondent in the response's wave and wijk; `withdrawn`: the
// respondent withdrew in this wijk or wave-wide. A withdrawn respondent's
// responses count nowhere, whatever arrived first.
std::optional<RejectReason> DecideRespondent(RespondentState here, bool withdrawn);

// The quality flags of a response that passed every check.
FlagSet EvaluateFlags(const CountedResponse& r, const Methodology& m);

// Whether a response_id is well-formed: 1-128 chars of [A-Za-z0-9._:-]. Only
// well-formed ids are deduplicated (a malformed one is INVALID_FIELD anyway).
bool IsValidResponseId(std::string_view id);


}  // namespace wijkpuls
