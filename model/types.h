// The vocabulary of wijkpuls: instruments, modes, register cells, outcomes,
// reject reasons and quality flags, with their wire names. Plain enums; the
// numeric values are stable (they are stored in RocksDB).
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string_view>

namespace wijkpuls {

// Nanoseconds since the Unix epoch (UTC). Covers 1677..2262.
using UnixNanos = int64_t;
inline constexpr UnixNanos kNanosPerSecond = 1'000'000'000;

// Exact intermediate products of 64-bit counts (GCC/Clang extension).
__extension__ typedef __int128 Int128;

enum class Instrument : uint8_t {
  kVeiligheidsmonitor = 0,  // VM: items V01..V14
  kWijkonderzoek = 1,       // WO: items S01..S10, F01..F11
};
inline constexpr int kInstrumentCount = 2;

enum class Mode : uint8_t { kWeb = 0, kPaper = 1, kPhone = 2, kFaceToFace = 3 };
inline constexpr int kModeCount = 4;

enum class AgeBand : uint8_t { k15To29 = 0, k30To44 = 1, k45To64 = 2, k65Plus = 3 };
inline constexpr int kAgeBandCount = 4;

enum class Sex : uint8_t { kMale = 0, kFemale = 1 };
inline constexpr int kSexCount = 2;

// An age band x sex cell of a wijk: index age * 2 + sex, 0..7. This is the
// post-stratification cell and, per instrument, the quota cell.
inline constexpr int kCellCount = kAgeBandCount * kSexCount;
constexpr int CellIndex(AgeBand age, Sex sex) {
  return static_cast<int>(age) * kSexCount + static_cast<int>(sex);
}
constexpr AgeBand CellAge(int cell) { return static_cast<AgeBand>(cell / kSexCount); }
constexpr Sex CellSex(int cell) { return static_cast<Sex>(cell % kSexCount); }

// What happened to one input record. Exactly one per record.
enum class Outcome : uint8_t {
  kAccepted = 0,   // stored, counted in quota, included in scores
  kFlagged = 1,    // stored, counted as flagged, kept out of scores (and net by default)
  kDuplicate = 2,  // response_id seen before: no effect at all, not dead-lettered
  kRejected = 3,   // dead-lettered with a RejectReason
};
inline constexpr int kOutcomeCount = 4;

// Reject reasons in the order they are checked: the first failure wins.
// Values are stored; append only.
enum class RejectReason : uint8_t {
  kOversized = 0,               // record larger than the configured limit
  kDecodeError = 1,             // not a SurveyResponse (binary or JSON)
  kMissingField = 2,            // a required field is absent or empty
  kInvalidField = 3,            // a field outside its format or enum
  kUnknownWave = 4,             // wave not configured
  kUnknownWijk = 5,             // wijk not in the register
  kNoConsent = 6,               // consent false
  kInconsistentTimestamps = 7,  // started_at after submitted_at
  kFutureTimestamp = 8,         // submitted_at beyond the processing clock + tolerance
  kOutOfWindow = 9,             // before the window or after its end + grace
  kInvalidAnswers = 10,         // more than half of the instrument's entries invalid
  kWithdrawn = 11,              // the respondent withdrew consent
  kDuplicateRespondent = 12,    // another response of the respondent was counted
};
inline constexpr int kRejectReasonCount = 13;

// Data-quality flags (methodology section 6). A response may carry several.
enum class QualityFlag : uint8_t {
  kSpeeder = 0,              // faster than the mode's minimum duration
  kStraightliner = 1,        // >= 10 grid items, all the same substantive code
  kHighItemNonresponse = 2,  // more than half of the items missing, invalid, 98 or 99
};
inline constexpr int kQualityFlagCount = 3;

// A set of QualityFlag as bits.
class FlagSet {
 public:
  constexpr FlagSet() = default;
  constexpr explicit FlagSet(uint8_t bits) : bits_(bits) {}
  constexpr void Add(QualityFlag f) { bits_ |= static_cast<uint8_t>(1u << static_cast<int>(f)); }
  constexpr bool Has(QualityFlag f) const { return (bits_ >> static_cast<int>(f)) & 1u; }
  constexpr bool Empty() const { return bits_ == 0; }
  constexpr uint8_t bits() const { return bits_; }
  friend constexpr bool operator==(FlagSet, FlagSet) = default;

 private:
  uint8_t bits_ = 0;
};

// Wire names (as in the protobuf enums) and short labels.
std::string_view WireName(Instrument v);  // "VEILIGHEIDSMONITOR"
std::string_view ShortName(Instrument v); // "VM"
std::string_view WireName(Mode v);        // "WEB"
std::string_view WireName(AgeBand v);     // "AGE_15_29"
std::string_view Label(AgeBand v);        // "15–29"
std::string_view WireName(Sex v);         // "MALE"
std::string_view WireName(RejectReason v);// "OUT_OF_WINDOW"
std::string_view WireName(QualityFlag v); // "SPEEDER"
std::string_view Name(Outcome v);         // "accepted"

std::optional<Instrument> ParseInstrument(std::string_view wire_name);
std::optional<Mode> ParseMode(std::string_view wire_name);
std::optional<RejectReason> ParseRejectReason(std::string_view wire_name);

template <typename E, int N>
constexpr std::array<E, N> AllValues() {
  std::array<E, N> out{};
  for (int i = 0; i < N; ++i) out[i] = static_cast<E>(i);
  return out;
}
inline constexpr auto kAllInstruments = AllValues<Instrument, kInstrumentCount>();
inline constexpr auto kAllModes = AllValues<Mode, kModeCount>();
inline constexpr auto kAllRejectReasons = AllValues<RejectReason, kRejectReasonCount>();
inline constexpr auto kAllQualityFlags = AllValues<QualityFlag, kQualityFlagCount>();
inline constexpr auto kAllOutcomes = AllValues<Outcome, kOutcomeCount>();

}  // namespace wijkpuls
