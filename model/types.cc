#include "model/types.h"

namespace wijkpuls {
namespace {

constexpr std::array<std::string_view, kRejectReasonCount> kReasonNames = {
    "OVERSIZED",       "DECODE_ERROR",   "MISSING_FIELD",           "INVALID_FIELD",
    "UNKNOWN_WAVE",    "UNKNOWN_WIJK",   "NO_CONSENT",              "INCONSISTENT_TIMESTAMPS",
    "FUTURE_TIMESTAMP", "OUT_OF_WINDOW", "INVALID_ANSWERS",         "WITHDRAWN",
    "DUPLICATE_RESPONDENT"};
constexpr std::array<std::string_view, kInstrumentCount> kInstrumentNames = {"VEILIGHEIDSMONITOR",
                                                                             "WIJKONDERZOEK"};
constexpr std::array<std::string_view, kModeCount> kModeNames = {"WEB", "PAPER", "PHONE",
                                                                 "FACE_TO_FACE"};

template <typename E, size_t N>
std::optional<E> ParseName(const std::array<std::string_view, N>& names, std::string_view s) {
  for (size_t i = 0; i < N; ++i) {
    if (names[i] == s) return static_cast<E>(i);
  }
  return std::nullopt;
}

}  // namespace

std::string_view WireName(Instrument v) { return kInstrumentNames[static_cast<int>(v)]; }
std::string_view ShortName(Instrument v) {
  return v == Instrument::kVeiligheidsmonitor ? "VM" : "WO";
}
std::string_view WireName(Mode v) { return kModeNames[static_cast<int>(v)]; }
std::string_view WireName(AgeBand v) {
  constexpr std::array<std::string_view, kAgeBandCount> n = {"AGE_15_29", "AGE_30_44",
                                                             "AGE_45_64", "AGE_65_PLUS"};
  return n[static_cast<int>(v)];
}
std::string_view Label(AgeBand v) {
  constexpr std::array<std::string_view, kAgeBandCount> n = {"15\u201329", "30\u201344",
                                                             "45\u201364", "65+"};
  return n[static_cast<int>(v)];
}
std::string_view WireName(Sex v) { return v == Sex::kMale ? "MALE" : "FEMALE"; }
std::string_view WireName(RejectReason v) { return kReasonNames[static_cast<int>(v)]; }
std::string_view WireName(QualityFlag v) {
  constexpr std::array<std::string_view, kQualityFlagCount> n = {"SPEEDER", "STRAIGHTLINER",
                                                                 "HIGH_ITEM_NONRESPONSE"};
  return n[static_cast<int>(v)];
}
std::string_view Name(Outcome v) {
  constexpr std::array<std::string_view, kOutcomeCount> n = {"accepted", "flagged", "duplicate",
                                                             "rejected"};
  return n[static_cast<int>(v)];
}

std::optional<Instrument> ParseInstrument(std::string_view s) {
  return ParseName<Instrument>(kInstrumentNames, s);
}
std::optional<Mode> ParseMode(std::string_view s) { return ParseName<Mode>(kModeNames, s); }
std::optional<RejectReason> ParseRejectReason(std::string_view s) {
  return ParseName<RejectReason>(kReasonNames, s);
}

}  // namespace wijkpuls
