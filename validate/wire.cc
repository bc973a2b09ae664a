#include "validate/wire.h"

namespace wijkpuls {

v1::RejectReason ToWire(RejectReason r) {
  switch (r) {
    case RejectReason::kOversized: return v1::OVERSIZED;
    case RejectReason::kDecodeError: return v1::DECODE_ERROR;
    case RejectReason::kMissingField: return v1::MISSING_FIELD;
    case RejectReason::kInvalidField: return v1::INVALID_FIELD;
    case RejectReason::kUnknownWave: return v1::UNKNOWN_WAVE;
    case RejectReason::kUnknownWijk: return v1::UNKNOWN_WIJK;
    case RejectReason::kNoConsent: return v1::NO_CONSENT;
    case RejectReason::kInconsistentTimestamps: return v1::INCONSISTENT_TIMESTAMPS;
    case RejectReason::kFutureTimestamp: return v1::FUTURE_TIMESTAMP;
    case RejectReason::kOutOfWindow: return v1::OUT_OF_WINDOW;
    case RejectReason::kInvalidAnswers: return v1::INVALID_ANSWERS;
    case RejectReason::kWithdrawn: return v1::WITHDRAWN;
    case RejectReason::kDuplicateRespondent: return v1::DUPLICATE_RESPONDENT;
  }
  return v1::REJECT_REASON_UNSPECIFIED;  // not reached: every value has its case
}

v1::Instrument ToWire(Instrument i) {
  switch (i) {
    case Instrument::kVeiligheidsmonitor: return v1::VEILIGHEIDSMONITOR;
    case Instrument::kWijkonderzoek: return v1::WIJKONDERZOEK;
  }
  return v1::INSTRUMENT_UNSPECIFIED;
}

v1::Mode ToWire(Mode m) {
  switch (m) {
    case Mode::kWeb: return v1::WEB;
    case Mode::kPaper: return v1::PAPER;
    case Mode::kPhone: return v1::PHONE;
    case Mode::kFaceToFace: return v1::FACE_TO_FACE;
  }
  return v1::MODE_UNSPECIFIED;
}

v1::AgeBand ToWire(AgeBand a) {
  switch (a) {
    case AgeBand::k15To29: return v1::AGE_15_29;
    case AgeBand::k30To44: return v1::AGE_30_44;
    case AgeBand::k45To64: return v1::AGE_45_64;
    case AgeBand::k65Plus: return v1::AGE_65_PLUS;
  }
  return v1::AGE_BAND_UNSPECIFIED;
}

v1::Sex ToWire(Sex s) {
  switch (s) {
    case Sex::kMale: return v1::MALE;
    case Sex::kFemale: return v1::FEMALE;
  }
  return v1::SEX_UNSPECIFIED;
}

namespace {

template <typename E, size_t N>
std::optional<E> FromWire(int v, const std::array<E, N>& all) {
  for (E e : all) {
    if (static_cast<int>(ToWire(e)) == v) return e;
  }
  return std::nullopt;
}

}  // namespace

std::optional<Instrument> InstrumentFromWire(int v) { return FromWire(v, kAllInstruments); }
std::optional<Mode> ModeFromWire(int v) { return FromWire(v, kAllModes); }
std::optional<AgeBand> AgeBandFromWire(int v) {
  return FromWire(v, AllValues<AgeBand, kAgeBandCount>());
}
std::optional<Sex> SexFromWire(int v) { return FromWire(v, AllValues<Sex, kSexCount>()); }

}  // namespace wijkpuls
