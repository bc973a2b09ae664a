#include "tests/fuzz/field_mutator.h"

#include <google/protobuf/util/json_util.h>

#include <algorithm>
#include <climits>
#include <iterator>
#include <memory>
#include <random>

#include "tests/fuzz/record_input.h"
#include "wijkpuls/v1/wijkpuls.pb.h"

namespace wijkpuls::fuzz {
namespace {

using google::protobuf::FieldDescriptor;
using google::protobuf::Message;
using google::protobuf::Reflection;
using Rng = std::minstd_rand;

template <typename T>
const T& Pick(const std::vector<T>& v, Rng& rng) {
  return v[rng() % v.size()];
}

// `current` may be any int64 (a parsed input): steps from it wrap around.
int64_t PickSeconds(int64_t current, const EdgeValues& e, Rng& rng) {
  const auto step = [current](int64_t by) {
    return static_cast<int64_t>(static_cast<uint64_t>(current) + static_cast<uint64_t>(by));
  };
  switch (rng() % 4) {
    case 0:
      return Pick(e.seconds, rng);
    case 1:
      return Pick(e.seconds, rng) + static_cast<int64_t>(rng() % 3) - 1;
    case 2:
      return step(static_cast<int64_t>(rng() % 2001) - 1000);
    default:
      return step((rng() % 2 ? 86400 : -86400) * static_cast<int64_t>(rng() % 400));
  }
}

// Enum ends, answer codes and their neighbours, Timestamp nanos bounds.
int32_t PickInt32(Rng& rng) {
  static constexpr int32_t kValues[] = {
      0,         1,        2,  3,  4,   5,   6,   7,   10,  11,          -1,
      96,        97,       98, 99, 100, 127, 128, 255, 256, 999'999'999, 1'000'000'000,
      INT32_MAX, INT32_MIN};
  if (rng() % 8 == 0) return static_cast<int32_t>(rng());
  return kValues[rng() % std::size(kValues)];
}

std::string PickString(const std::string& current, const EdgeValues& e, Rng& rng) {
  switch (rng() % 4) {
    case 0:
    case 1:
      return Pick(e.strings, rng);
    case 2:
      return current + Pick(e.strings, rng);
    default:
      return current.substr(0, current.empty() ? 0 : rng() % current.size());
  }
}

void MutateMessage(Message& msg, const EdgeValues& e, Rng& rng, int depth);

// Adds (a new or a copied element), removes, swaps or changes an element.
void MutateRepeatedMessage(Message& msg, const FieldDescriptor* f, const EdgeValues& e, Rng& rng,
                           int depth) {
  const Reflection* r = msg.GetReflection();
  const int n = r->FieldSize(msg, f);
  const unsigned op = n == 0 ? 0 : rng() % 4;
  if (op == 0) {
    Message* added = r->AddMessage(&msg, f);
    if (n > 0) added->CopyFrom(r->GetRepeatedMessage(msg, f, static_cast<int>(rng() % n)));
    MutateMessage(*added, e, rng, depth + 1);
  } else if (op == 1) {
    r->SwapElements(&msg, f, static_cast<int>(rng() % n), n - 1);
    r->RemoveLast(&msg, f);
  } else if (op == 2) {
    r->SwapElements(&msg, f, static_cast<int>(rng() % n), static_cast<int>(rng() % n));
  } else {
    MutateMessage(*r->MutableRepeatedMessage(&msg, f, static_cast<int>(rng() % n)), e, rng,
                  depth + 1);
  }
}

void MutateField(Message& msg, const FieldDescriptor* f, const EdgeValues& e, Rng& rng, int depth) {
  const Reflection* r = msg.GetReflection();
  if (f->is_repeated()) {
    if (f->cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE)
      MutateRepeatedMessage(msg, f, e, rng, depth);
    return;
  }
  switch (f->cpp_type()) {
    case FieldDescriptor::CPPTYPE_INT32:
      r->SetInt32(&msg, f, PickInt32(rng));
      break;
    case FieldDescriptor::CPPTYPE_INT64:  // Timestamp.seconds
      r->SetInt64(&msg, f, PickSeconds(r->GetInt64(msg, f), e, rng));
      break;
    case FieldDescriptor::CPPTYPE_ENUM:
      r->SetEnumValue(&msg, f,
                      rng() % 4 == 0
                          ? PickInt32(rng)
                          : static_cast<int>(rng() % (f->enum_type()->value_count() + 1)));
      break;
    case FieldDescriptor::CPPTYPE_BOOL:
      r->SetBool(&msg, f, !r->GetBool(msg, f));
      break;
    case FieldDescriptor::CPPTYPE_STRING:
      r->SetString(&msg, f, PickString(r->GetString(msg, f), e, rng));
      break;
    case FieldDescriptor::CPPTYPE_MESSAGE:
      if (rng() % 6 == 0 || depth > 3) {
        r->ClearField(&msg, f);
      } else {
        MutateMessage(*r->MutableMessage(&msg, f), e, rng, depth + 1);
      }
      break;
    default:
      break;
  }
}

void MutateMessage(Message& msg, const EdgeValues& e, Rng& rng, int depth) {
  const google::protobuf::Descriptor* d = msg.GetDescriptor();
  MutateField(msg, d->field(static_cast<int>(rng() % d->field_count())), e, rng, depth);
}

bool Parse(std::string_view value, bool json, Message& msg) {
  if (!json) return msg.ParseFromArray(value.data(), static_cast<int>(value.size()));
  google::protobuf::util::JsonParseOptions options;
  options.ignore_unknown_fields = true;
  return google::protobuf::util::JsonStringToMessage(
             google::protobuf::StringPiece(value.data(), value.size()), &msg, options)
      .ok();
}

std::optional<std::string> Serialize(const Message& msg, bool json, Rng& rng) {
  std::string out;
  if (!json) return msg.SerializeToString(&out) ? std::optional(out) : std::nullopt;
  google::protobuf::util::JsonPrintOptions options;
  options.preserve_proto_field_names = rng() % 4 == 0;
  options.always_print_enums_as_ints = rng() % 4 == 0;
  if (!google::protobuf::util::MessageToJsonString(msg, &out, options).ok()) return std::nullopt;
  return out;
}

// One record value mutated: 1-3 field changes, sometimes re-encoded in the
// other encoding (`json` is updated then).
std::optional<std::string> MutateValue(std::string_view value, bool& json, const EdgeValues& e,
                                       Rng& rng) {
  std::unique_ptr<Message> msg;
  if (rng() % 4 == 0) {
    msg = std::make_unique<v1::Withdrawal>();
  } else {
    msg = std::make_unique<v1::SurveyResponse>();
  }
  if (!Parse(value, json, *msg)) return std::nullopt;
  const int changes = 1 + static_cast<int>(rng() % 3);
  for (int i = 0; i < changes; ++i) MutateMessage(*msg, e, rng, 0);
  if (rng() % 8 == 0) json = !json;
  return Serialize(*msg, json, rng);
}

std::optional<std::string> MutateSequence(std::string_view rest, const EdgeValues& e, Rng& rng) {
  std::vector<SequencePart> parts = SplitSequence(rest);
  if (parts.empty()) return std::nullopt;
  std::string changed;  // owns a mutated value that parts[i] views
  const size_t i = rng() % parts.size();
  const size_t j = rng() % parts.size();
  switch (rng() % 4) {
    case 0: {
      bool json = parts[i].header & kJson;
      std::optional<std::string> v = MutateValue(parts[i].value, json, e, rng);
      if (!v) return std::nullopt;
      changed = std::move(*v);
      parts[i].value = changed;
      parts[i].header = static_cast<uint8_t>((parts[i].header & ~kJson) | (json ? kJson : 0));
      break;
    }
    case 1:
      if (parts.size() >= kMaxSequence) return std::nullopt;
      parts.insert(parts.begin() + static_cast<std::ptrdiff_t>(j), parts[i]);
      break;
    case 2:
      std::swap(parts[i], parts[j]);
      break;
    default:
      parts[i].header ^= kWithdrawals;
      break;
  }
  return JoinSequence(parts);
}

}  // namespace

EdgeValues MakeEdgeValues(const Methodology& m, const DistrictRegister& districts, UnixNanos now) {
  EdgeValues e;
  // Timestamp's range, UnixNanos' range (wijkpuls' own limit) and around 0.
  e.seconds = {-62'135'596'800,
               253'402'300'799,
               -9'223'372'036,
               -9'223'372'035,
               9'223'372'035,
               9'223'372'036,
               0,
               -1};
  for (const Wave& w : m.waves) {
    e.seconds.push_back(w.window_start / kNanosPerSecond);
    e.seconds.push_back(w.grace_end / kNanosPerSecond);
    e.seconds.push_back(m.StartOfDay(w.window_last_day + 1) / kNanosPerSecond);
    e.strings.push_back(w.id);
  }
  e.seconds.push_back(now / kNanosPerSecond + m.future_tolerance_seconds);
  for (const Wijk& w : districts.wijken()) e.strings.push_back(w.id);
  for (const ItemDef& item : m.codebook.items()) e.strings.push_back(item.id);
  const std::string x64(64, 'x');
  const std::string e64 = [] {
    std::string s;
    for (int i = 0; i < 64; ++i) s += "\xc3\xa9";  // é: 2 bytes, 1 code point
    return s;
  }();
  e.strings.insert(e.strings.end(), {"",
                                     "Z99",
                                     "V15",
                                     "S11",
                                     "F12",
                                     x64,
                                     x64 + "x",
                                     x64 + x64,
                                     x64 + x64 + "x",
                                     e64,
                                     e64 + "\xc3\xa9",
                                     e64 + e64,
                                     e64 + e64 + "\xc3\xa9",
                                     "a b",
                                     "id@x",
                                     std::string("a\0b", 3),
                                     "sim:2024:1",
                                     "int-001",
                                     "Cool",
                                     " cool",
                                     "2024 "});
  return e;
}

std::optional<std::string> MutateStructure(std::string_view input, const EdgeValues& edges,
                                           uint32_t seed) {
  if (input.empty()) return std::nullopt;
  Rng rng(seed);
  const uint8_t flags = static_cast<uint8_t>(input[0]);
  if (flags & kSequence) return MutateSequence(input.substr(1), edges, rng);
  bool json = flags & kJson;
  std::optional<std::string> value = MutateValue(input.substr(1), json, edges, rng);
  if (!value) return std::nullopt;
  const uint8_t out_flags = static_cast<uint8_t>((flags & ~kJson) | (json ? kJson : 0));
  return std::string(1, static_cast<char>(out_flags)) + *value;
}

}  // namespace wijkpuls::fuzz
