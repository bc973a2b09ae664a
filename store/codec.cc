#include "store/codec.h"

#include "model/text.h"
#include "store/schema.h"

namespace wijkpuls::store {
namespace {

void PutU16(std::string& out, size_t n) {
  out.push_back(static_cast<char>((n >> 8) & 0xff));
  out.push_back(static_cast<char>(n & 0xff));
}

bool TakePart(std::string_view& in, std::string_view* part) {
  if (in.size() < 2) return false;
  const size_t n = (static_cast<uint8_t>(in[0]) << 8) | static_cast<uint8_t>(in[1]);
  if (in.size() < 2 + n) return false;
  *part = in.substr(2, n);
  in.remove_prefix(2 + n);
  return true;
}

void AppendPart(std::string& out, std::string_view s) {
  const size_t n = std::min<size_t>(s.size(), 0xffff);
  PutU16(out, n);
  out.append(s.data(), n);
}

template <typename E>
std::optional<E> EnumFrom(uint32_t v, int count) {
  if (v == 0 || v > static_cast<uint32_t>(count)) return std::nullopt;
  return static_cast<E>(v - 1);
}

}  // namespace

namespace {
void AppendTask(std::string& out, int32_t task) {
  const uint32_t t = static_cast<uint32_t>(task) ^ 0x80000000u;
  for (int shift = 24; shift >= 0; shift -= 8) out.push_back(static_cast<char>((t >> shift) & 0xff));
}
}  // namespace

std::string TaskPrefix(int32_t task) {
  std::string out;
  AppendTask(out, task);
  return out;
}

std::string KeyOf(int32_t task, std::string_view wave, std::string_view wijk) {
  return KeyOf(task, wave, wijk, {});
}

std::string KeyOf(int32_t task, std::string_view wave, std::string_view wijk, std::string_view id) {
  // One allocation: this is on every record's path (three or four keys).
  std::string out;
  KeyOf(task, wave, wijk, id, &out);
  return out;
}

void KeyOf(int32_t task, std::string_view wave, std::string_view wijk, std::string_view id, std::string* out) {
  out->clear();
  out->reserve(kTaskBytes + 4 + wave.size() + wijk.size() + id.size());
  AppendTask(*out, task);
  AppendPart(*out, wave);
  AppendPart(*out, wijk);
  out->append(id.data(), id.size());
}

bool SplitKey(std::string_view key, int32_t* task, std::string_view* wave, std::string_view* wijk,
              std::string_view* id) {
  if (key.size() < kTaskBytes) return false;
  uint32_t t = 0;
  for (size_t i = 0; i < kTaskBytes; ++i) t = (t << 8) | static_cast<uint8_t>(key[i]);
  *task = static_cast<int32_t>(t ^ 0x80000000u);
  key.remove_prefix(kTaskBytes);
  if (!TakePart(key, wave) || !TakePart(key, wijk)) return false;
  *id = key;
  return true;
}

std::string OffsetKey(std::string_view topic, int partition) {
  std::string k(topic);
  k.push_back('\0');
  for (int shift = 24; shift >= 0; shift -= 8) k.push_back(static_cast<char>((partition >> shift) & 0xff));
  return k;
}

bool SplitOffsetKey(std::string_view key, std::string* topic, int* partition) {
  if (key.size() < 5 || key[key.size() - 5] != '\0') return false;
  *topic = std::string(key.substr(0, key.size() - 5));
  uint32_t p = 0;
  for (size_t i = key.size() - 4; i < key.size(); ++i) p = (p << 8) | static_cast<uint8_t>(key[i]);
  *partition = static_cast<int>(p);
  return true;
}

std::string EncodeOffset(int64_t offset) {
  std::string v(8, '\0');
  for (int i = 0; i < 8; ++i) v[i] = static_cast<char>((static_cast<uint64_t>(offset) >> (56 - 8 * i)) & 0xff);
  return v;
}

std::optional<int64_t> DecodeOffset(std::string_view v) {
  if (v.size() != 8) return std::nullopt;
  uint64_t x = 0;
  for (char c : v) x = (x << 8) | static_cast<uint8_t>(c);
  return static_cast<int64_t>(x);
}

void EncodeCounted(const CountedResponse& r, Outcome outcome, StoredResponse* out) {
  out->Clear();
  out->set_outcome(static_cast<uint32_t>(outcome));
  out->set_passed_checks(true);
  out->set_submitted_at(r.submitted_at);
  out->set_instrument(static_cast<uint32_t>(r.instrument) + 1);
  out->set_age_band(static_cast<uint32_t>(r.age_band) + 1);
  out->set_sex(static_cast<uint32_t>(r.sex) + 1);
  out->set_mode(static_cast<uint32_t>(r.mode) + 1);
  out->set_interviewer_id(r.interviewer_id);
  if (r.started_at) {
    out->set_has_started_at(true);
    out->set_started_at(*r.started_at);
  }
  out->set_instrument_version(r.instrument_version);
  for (const ItemAnswer& a : r.answers) out->add_answers(static_cast<uint32_t>(a.item) * 128 + a.value);
  for (uint16_t d : r.dropped_items) out->add_dropped_items(d);
  out->set_unknown_items(r.unknown_items);
  out->set_other_instrument_items(r.other_instrument_items);
  out->set_flags(r.flags.bits());
  out->set_respondent(reinterpret_cast<const char*>(r.respondent.data()), r.respondent.size());
  out->set_wijk_index(r.wijk);
}

StoredResponse EncodeRejected(RejectReason reason, const Attribution& a, bool passed_checks) {
  StoredResponse s;
  s.set_outcome(static_cast<uint32_t>(Outcome::kRejected));
  s.set_reject_reason(static_cast<uint32_t>(reason));
  s.set_passed_checks(passed_checks);
  if (a.submitted_at) s.set_submitted_at(*a.submitted_at);
  if (a.instrument) s.set_instrument(static_cast<uint32_t>(*a.instrument) + 1);
  if (a.age_band) s.set_age_band(static_cast<uint32_t>(*a.age_band) + 1);
  if (a.sex) s.set_sex(static_cast<uint32_t>(*a.sex) + 1);
  if (a.mode) s.set_mode(static_cast<uint32_t>(*a.mode) + 1);
  s.set_interviewer_id(a.interviewer_id);
  s.set_wijk_index(a.wijk ? *a.wijk : -1);
  return s;
}

absl::StatusOr<ResponseRecord> DecodeResponse(std::string_view bytes, std::string_view wave,
                                              std::string_view response_id, const Methodology& m) {
  StoredResponse s;
  if (!s.ParseFromArray(bytes.data(), static_cast<int>(bytes.size())) || s.outcome() > 3) {
    return absl::DataLossError(Cat("stored response ", response_id, " is corrupt"));
  }
  ResponseRecord rec;
  rec.outcome = static_cast<Outcome>(s.outcome());
  rec.erased = s.erased();
  rec.passed_checks = s.passed_checks();
  if (s.submitted_at() != 0) rec.submitted_at = s.submitted_at();
  if (rec.outcome == Outcome::kRejected) {
    rec.reason = static_cast<RejectReason>(s.reject_reason());
    Attribution& a = rec.attribution;
    a.instrument = EnumFrom<Instrument>(s.instrument(), kInstrumentCount);
    a.age_band = EnumFrom<AgeBand>(s.age_band(), kAgeBandCount);
    a.sex = EnumFrom<Sex>(s.sex(), kSexCount);
    a.mode = EnumFrom<Mode>(s.mode(), kModeCount);
    a.interviewer_id = s.interviewer_id();
    if (s.wijk_index() >= 0) a.wijk = s.wijk_index();
    a.submitted_at = rec.submitted_at;
    return rec;
  }
  if (rec.erased) return rec;
  CountedResponse r;
  r.response_id = std::string(response_id);
  r.wave = std::string(wave);
  r.wijk = s.wijk_index();
  auto ins = EnumFrom<Instrument>(s.instrument(), kInstrumentCount);
  auto age = EnumFrom<AgeBand>(s.age_band(), kAgeBandCount);
  auto sex = EnumFrom<Sex>(s.sex(), kSexCount);
  auto mode = EnumFrom<Mode>(s.mode(), kModeCount);
  if (!ins || !age || !sex || !mode || s.respondent().size() != r.respondent.size()) {
    return absl::DataLossError(Cat("stored response ", response_id, " is incomplete"));
  }
  r.instrument = *ins;
  r.age_band = *age;
  r.sex = *sex;
  r.mode = *mode;
  if (s.has_started_at()) r.started_at = s.started_at();
  r.submitted_at = s.submitted_at();
  r.interviewer_id = s.interviewer_id();
  r.instrument_version = s.instrument_version();
  const size_t items = m.codebook.items().size();
  for (uint32_t v : s.answers()) {
    if (v / 128 >= items) {
      return absl::DataLossError(Cat("stored response ", response_id,
                                              " names an item the methodology does not have"));
    }
    r.answers.push_back(ItemAnswer{static_cast<uint16_t>(v / 128), static_cast<int16_t>(v % 128)});
  }
  for (uint32_t d : s.dropped_items()) r.dropped_items.push_back(static_cast<uint16_t>(d));
  r.unknown_items = s.unknown_items();
  r.other_instrument_items = s.other_instrument_items();
  r.flags = FlagSet(static_cast<uint8_t>(s.flags()));
  std::copy(s.respondent().begin(), s.respondent().end(), r.respondent.begin());
  rec.response = std::move(r);
  return rec;
}

}  // namespace wijkpuls::store
