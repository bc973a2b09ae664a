// A survey response in the two forms validation knows: as decoded from the
// wire (RawResponse: every field as sent, nothing checked) and as counted
// (CountedResponse: typed, normalised, pseudonymised — what is stored).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "model/digest.h"
#include "model/types.h"

namespace wijkpuls {

struct RawAnswer {
  std::string item;
  int32_t value = 0;
  friend bool operator==(const RawAnswer&, const RawAnswer&) = default;
};

// A decoded SurveyResponse. Enum fields hold the wire number as sent (0 =
// unspecified) so that validation can tell a missing field from an invalid one.
struct RawResponse {
  std::string response_id;
  std::string respondent_ref;  // personal data: never stored or logged
  std::string wave;
  std::string wijk;
  int instrument = 0;
  int mode = 0;
  int age_band = 0;
  int sex = 0;
  std::optional<UnixNanos> started_at;
  std::optional<UnixNanos> submitted_at;
  // Names of the fields whose value could not be represented (a timestamp
  // out of range), in field order; validation rejects them as INVALID_FIELD,
  // and none of them as MISSING_FIELD.
  std::vector<std::string> unrepresentable_fields;
  // Name of an enum field sent as a name the schema does not know (JSON, e.g.
  // "mode": "CARRIER_PIGEON"; protobuf's parser drops it): INVALID_FIELD, not
  // MISSING_FIELD.
  std::string unknown_enum_field;
  // Fields the schema does not know (top level), kept out of everything and
  // counted (wijkpuls_unknown_fields_total), never a reason to reject.
  int unknown_fields = 0;
  std::vector<RawAnswer> answers;
  std::string interviewer_id;
  bool consent = false;
  std::string instrument_version;
  friend bool operator==(const RawResponse&, const RawResponse&) = default;
};

// One kept answer: a codebook item index and its code (on the item's scale or
// 97/98/99).
struct ItemAnswer {
  uint16_t item = 0;
  int16_t value = 0;
  friend bool operator==(const ItemAnswer&, const ItemAnswer&) = default;
};

// A response that passed the field checks, as it is counted and stored.
struct CountedResponse {
  std::string response_id;
  Digest256 respondent{};  // HMAC-SHA256(key, wave || 0x1f || respondent_ref)
  std::string wave;
  int wijk = 0;  // index into the register
  Instrument instrument = Instrument::kVeiligheidsmonitor;
  Mode mode = Mode::kWeb;
  AgeBand age_band = AgeBand::k15To29;
  Sex sex = Sex::kMale;
  std::optional<UnixNanos> started_at;
  UnixNanos submitted_at = 0;
  std::string interviewer_id;
  std::string instrument_version;
  std::vector<ItemAnswer> answers;     // first valid entry per item, codebook order
  std::vector<uint16_t> dropped_items; // items of an entry dropped as invalid (one per entry)
  int32_t unknown_items = 0;           // entries whose item id is not in the codebook
  int32_t other_instrument_items = 0;  // entries of an item of the other instrument
  FlagSet flags;
  friend bool operator==(const CountedResponse&, const CountedResponse&) = default;

  int Cell() const { return CellIndex(age_band, sex); }
  // Seconds from started_at to submitted_at, when started_at is known.
  std::optional<int64_t> DurationSeconds() const;
};

// Empties `r` as if default-constructed, but keeping the buffers of the
// members named: a record prepared into a reused slot then allocates nothing
// for them (the pipeline's preparer allocated and freed them per record).
// Every other member is reset by the default construction, so a member added
// later cannot carry a value over. A kept member is emptied by its clear(),
// or by its own Recycle.
template <typename T, typename... M>
void RecycleKeeping(T& r, M T::*... kept) {
  auto emptied = [](auto& v) {
    auto out = std::move(v);
    if constexpr (requires { out.clear(); }) {
      out.clear();
    } else {
      Recycle(out);
    }
    return out;
  };
  auto saved = std::make_tuple(emptied(r.*kept)...);
  r = T{};
  std::apply([&](auto&... v) { ((r.*kept = std::move(v)), ...); }, saved);
}

inline void Recycle(RawResponse& r) {
  RecycleKeeping(r, &RawResponse::response_id, &RawResponse::respondent_ref, &RawResponse::wijk,
                 &RawResponse::interviewer_id, &RawResponse::instrument_version, &RawResponse::answers);
}

inline void Recycle(CountedResponse& r) {
  RecycleKeeping(r, &CountedResponse::response_id, &CountedResponse::interviewer_id,
                 &CountedResponse::instrument_version, &CountedResponse::answers, &CountedResponse::dropped_items);
}

}  // namespace wijkpuls
