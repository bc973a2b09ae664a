#include "validate/decode.h"

#include <google/protobuf/arena.h>
#include <google/protobuf/stubs/logging.h>
#include <google/protobuf/unknown_field_set.h>
#include <google/protobuf/util/json_util.h>

#include <algorithm>
#include <cctype>
#include <set>
#include <type_traits>
#include <vector>

#include "validate/binary_fast.h"
#include "validate/json_fast.h"
#include "model/log.h"
#include "nlohmann/json.hpp"
#include "model/text.h"
#include "wijkpuls/v1/wijkpuls.pb.h"

namespace wijkpuls {
namespace {

// Seconds of 0001-01-01 and 9999-12-31T23:59:59 (the Timestamp range).
constexpr int64_t kMinSeconds = -62'135'596'800;
constexpr int64_t kMaxSeconds = 253'402'300'799;
// The range UnixNanos can hold.
constexpr int64_t kMinNanosSeconds = -9'223'372'035;
constexpr int64_t kMaxNanosSeconds = 9'223'372'035;

enum class Format { kBinary, kJson, kUnsupported };

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
         });
}

// The format a record's content-type header names. Media types are matched
// as RFC 9110 says: case-insensitively, parameters (`; charset=utf-8`) and
// spaces aside. No header: protobuf binary.
Format FormatOf(std::string_view content_type) {
  if (content_type.empty()) return Format::kBinary;
  std::string_view essence = Trim(content_type.substr(0, content_type.find(';')));
  if (EqualsIgnoreCase(essence, kJsonContentType)) return Format::kJson;
  if (EqualsIgnoreCase(essence, "application/x-protobuf") ||
      EqualsIgnoreCase(essence, "application/protobuf")) {
    return Format::kBinary;
  }
  return Format::kUnsupported;
}

// `by_protobufs_json` (if given) is set when protobuf's JSON parser read it;
// `unknown_fields` (if given) to the number of fields of a binary message
// that the schema does not know.
template <typename Message>
absl::Status Parse(std::string_view value, std::string_view content_type, Message& msg,
                   bool* by_protobufs_json = nullptr, int* unknown_fields = nullptr) {
  const Format format = FormatOf(content_type);
  if (format == Format::kJson) {
    if (by_protobufs_json != nullptr) *by_protobufs_json = true;
    google::protobuf::util::JsonParseOptions options;
    options.ignore_unknown_fields = true;
    auto st = google::protobuf::util::JsonStringToMessage(
        google::protobuf::StringPiece(value.data(), value.size()), &msg, options);
    if (!st.ok()) {
      return absl::InvalidArgumentError(
          Cat("not a ", msg.GetDescriptor()->name(), " in the protobuf JSON mapping"));
    }
    return absl::OkStatus();
  }
  if (format == Format::kUnsupported) {
    return absl::InvalidArgumentError(Cat("unsupported content-type ", Quoted(content_type.substr(0, 64))));
  }
  if (value.empty()) return absl::InvalidArgumentError("empty record value");
  if (!msg.ParseFromArray(value.data(), static_cast<int>(value.size()))) {
    return absl::InvalidArgumentError(Cat("not a ", msg.GetDescriptor()->name(), " (protobuf binary)"));
  }
  // Protobuf's binary format is lenient: bytes that set no known field are
  // not a message of this type, whatever they are. (Unknown fields are not used.)
  google::protobuf::UnknownFieldSet* unknown = msg.GetReflection()->MutableUnknownFields(&msg);
  if (unknown_fields != nullptr) *unknown_fields = unknown->field_count();
  unknown->Clear();
  if (msg.ByteSizeLong() == 0) {
    return absl::InvalidArgumentError(
        Cat("not a ", msg.GetDescriptor()->name(), " (no known field in ", value.size(), " bytes)"));
  }
  return absl::OkStatus();
}

// Sets `out` from a Timestamp; marks the field unrepresentable when out of range.
void TakeTime(const WireTimestamp& ts, std::string_view field, std::optional<UnixNanos>& out,
              RawResponse& raw) {
  if (!ts.present) return;
  if (ts.seconds < kMinSeconds || ts.seconds > kMaxSeconds || ts.nanos < 0 ||
      ts.nanos > 999'999'999 || ts.seconds < kMinNanosSeconds || ts.seconds > kMaxNanosSeconds) {
    raw.unrepresentable_fields.emplace_back(field);
    return;
  }
  out = ts.seconds * kNanosPerSecond + ts.nanos;
}

WireTimestamp Wire(const google::protobuf::Timestamp& ts, bool present) {
  return WireTimestamp{present, ts.seconds(), ts.nanos()};
}

// What protobuf's JSON parser, told to ignore unknown fields, drops without a
// trace: the top-level keys the schema does not know (counted), and the first
// enum field whose value is a non-empty name the schema does not know (as if
// the field were absent). And what it takes that the mapping does not have: a list
// inside the list of a repeated field, which it flattens (an error). Only
// records off the fast JSON path get here, and the text has parsed already.
absl::Status FindWhatJsonParsingDrops(std::string_view text, RawResponse& raw) {
  const nlohmann::json doc = nlohmann::json::parse(text.begin(), text.end(), nullptr, /*allow_exceptions=*/false);
  if (!doc.is_object()) return absl::OkStatus();
  const google::protobuf::Descriptor* d = v1::SurveyResponse::descriptor();
  for (const auto& [key, value] : doc.items()) {
    const google::protobuf::FieldDescriptor* f = d->FindFieldByName(key);
    if (f == nullptr) f = d->FindFieldByCamelcaseName(key);
    if (f == nullptr) {
      ++raw.unknown_fields;
      continue;
    }
    if (f->is_repeated() && value.is_array() &&
        std::any_of(value.begin(), value.end(), [](const nlohmann::json& e) { return e.is_array(); })) {
      return absl::InvalidArgumentError(
          Cat("not a SurveyResponse in the protobuf JSON mapping: ", f->name(), " holds a list in its list"));
    }
    // An empty name is an empty field: missing, as the .proto defines it
    // ("absent or empty"), not invalid.
    if (f->enum_type() != nullptr && value.is_string() && raw.unknown_enum_field.empty() &&
        !value.get<std::string>().empty() && f->enum_type()->FindValueByName(value.get<std::string>()) == nullptr) {
      raw.unknown_enum_field = f->name();
    }
  }
  return absl::OkStatus();
}

// How a (non-packed) field is on the wire: varint or length-delimited are
// the kinds SurveyResponse and Withdrawal have.
bool OnTheWireAs(const google::protobuf::FieldDescriptor* f, const google::protobuf::UnknownField& u) {
  using FD = google::protobuf::FieldDescriptor;
  using UF = google::protobuf::UnknownField;
  switch (f->cpp_type()) {
    case FD::CPPTYPE_STRING:
    case FD::CPPTYPE_MESSAGE:
      return u.type() == UF::TYPE_LENGTH_DELIMITED;
    case FD::CPPTYPE_ENUM:
    case FD::CPPTYPE_BOOL:
    case FD::CPPTYPE_INT32:
    case FD::CPPTYPE_INT64:
    case FD::CPPTYPE_UINT32:
    case FD::CPPTYPE_UINT64:
      return u.type() == UF::TYPE_VARINT;
    default:
      return false;
  }
}

// The fields of a SurveyResponse that a record on the withdrawals topic
// carries and a Withdrawal does not have, in field order: a response produced
// to the wrong topic. Binary: top-level fields that are SurveyResponse fields
// by number and wire type but no Withdrawal field (a Withdrawal reserves
// 6-14), so response_id, respondent_ref, wave and wijk (1, 2, 3, 5: strings
// in both) never count, instrument (4, a varint) does. JSON: keys of
// SurveyResponse that are no Withdrawal keys, response_id included.
std::vector<std::string> ResponseFieldsOf(std::string_view value, Format format) {
  const google::protobuf::Descriptor* response = v1::SurveyResponse::descriptor();
  const google::protobuf::Descriptor* withdrawal = v1::Withdrawal::descriptor();
  std::set<int> numbers;
  if (format == Format::kBinary) {
    google::protobuf::UnknownFieldSet fields;
    if (!fields.ParseFromArray(value.data(), static_cast<int>(value.size()))) return {};
    for (int i = 0; i < fields.field_count(); ++i) {
      const google::protobuf::UnknownField& u = fields.field(i);
      const google::protobuf::FieldDescriptor* theirs = response->FindFieldByNumber(u.number());
      const google::protobuf::FieldDescriptor* ours = withdrawal->FindFieldByNumber(u.number());
      if (theirs != nullptr && OnTheWireAs(theirs, u) && !(ours != nullptr && OnTheWireAs(ours, u))) {
        numbers.insert(u.number());
      }
    }
  } else if (format == Format::kJson) {
    const nlohmann::json doc = nlohmann::json::parse(value.begin(), value.end(), nullptr, /*allow_exceptions=*/false);
    if (!doc.is_object()) return {};
    for (const auto& [key, v] : doc.items()) {
      if (withdrawal->FindFieldByName(key) != nullptr || withdrawal->FindFieldByCamelcaseName(key) != nullptr) continue;
      const google::protobuf::FieldDescriptor* f = response->FindFieldByName(key);
      if (f == nullptr) f = response->FindFieldByCamelcaseName(key);
      if (f != nullptr) numbers.insert(f->number());
    }
  }
  std::vector<std::string> names;
  for (int n : numbers) names.push_back(response->FindFieldByNumber(n)->name());
  return names;
}

}  // namespace

absl::StatusOr<RawResponse> DecodeResponse(std::string_view value, std::string_view content_type) {
  RawResponse raw;
  if (absl::Status st = DecodeResponse(value, content_type, raw); !st.ok()) return st;
  return raw;
}

absl::Status DecodeResponse(std::string_view value, std::string_view content_type, RawResponse& out) {
  const Format format = FormatOf(content_type);
  if (format != Format::kUnsupported) {
    Recycle(out);
    WireTimestamp started, submitted;
    const bool fast = format == Format::kBinary ? FastBinaryToRawResponse(value, out, started, submitted)
                                                : FastJsonToRawResponse(value, out, started, submitted);
    if (fast) {
      TakeTime(started, "started_at", out.started_at, out);
      TakeTime(submitted, "submitted_at", out.submitted_at, out);
      return absl::OkStatus();
    }
  }
  absl::StatusOr<RawResponse> raw = DecodeResponseWithProtobuf(value, content_type);
  if (!raw.ok()) return raw.status();
  out = std::move(*raw);
  return absl::OkStatus();
}

absl::StatusOr<RawResponse> DecodeResponseWithProtobuf(std::string_view value,
                                                       std::string_view content_type) {
  // The message lives in an arena whose first block is on the stack: parsing
  // a response with its ~20 answers then allocates nothing on the heap, and
  // freeing it is one step (profiled: malloc/free of the answers cost more
  // than parsing them).
  alignas(8) char first_block[8192];
  google::protobuf::ArenaOptions arena_options;
  arena_options.initial_block = first_block;
  arena_options.initial_block_size = sizeof first_block;
  google::protobuf::Arena arena(arena_options);
  v1::SurveyResponse& msg = *google::protobuf::Arena::CreateMessage<v1::SurveyResponse>(&arena);
  bool by_protobufs_json = false;
  int unknown_fields = 0;
  if (absl::Status st = Parse(value, content_type, msg, &by_protobufs_json, &unknown_fields); !st.ok()) return st;
  RawResponse raw;
  raw.unknown_fields = unknown_fields;
  if (by_protobufs_json) {
    if (absl::Status st = FindWhatJsonParsingDrops(value, raw); !st.ok()) return st;
  }
  raw.response_id = msg.response_id();
  raw.respondent_ref = msg.respondent_ref();
  raw.wave = msg.wave();
  raw.wijk = msg.wijk();
  raw.instrument = msg.instrument();
  raw.mode = msg.mode();
  raw.age_band = msg.age_band();
  raw.sex = msg.sex();
  TakeTime(Wire(msg.started_at(), msg.has_started_at()), "started_at", raw.started_at, raw);
  TakeTime(Wire(msg.submitted_at(), msg.has_submitted_at()), "submitted_at", raw.submitted_at, raw);
  raw.answers.reserve(msg.answers_size());
  for (const v1::Answer& a : msg.answers()) raw.answers.push_back(RawAnswer{a.item(), a.value()});
  raw.interviewer_id = msg.interviewer_id();
  raw.consent = msg.consent();
  raw.instrument_version = msg.instrument_version();
  return raw;
}

absl::StatusOr<RawWithdrawal> DecodeWithdrawal(std::string_view value, std::string_view content_type) {
  // First: the shared fields (respondent_ref, wave, wijk) make a response
  // parse as a withdrawal of its respondent.
  if (std::vector<std::string> fields = ResponseFieldsOf(value, FormatOf(content_type)); !fields.empty()) {
    return absl::InvalidArgumentError(Cat("not a Withdrawal: it has fields of a SurveyResponse (", Join(fields, ", "),
                                          "), so it withdraws nobody; was a response sent to the withdrawals topic?"));
  }
  v1::Withdrawal msg;
  if (absl::Status st = Parse(value, content_type, msg); !st.ok()) return st;
  return RawWithdrawal{msg.withdrawal_id(), msg.respondent_ref(), msg.wave(), msg.wijk()};
}

void QuietProtobufLogging() {
  google::protobuf::SetLogHandler([](google::protobuf::LogLevel level, const char* file, int line,
                                     const std::string& message) {
    // Messages may quote field names, never field values; keep them at debug.
    if (level >= google::protobuf::LOGLEVEL_FATAL) {
      spdlog::critical("protobuf {}:{}: {}", file, line, message);
    } else {
      spdlog::debug("protobuf {}:{}: {}", file, line, message);
    }
  });
}

}  // namespace wijkpuls
