#include "validate/json_fast.h"

#include <google/protobuf/descriptor.h>

#include <charconv>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "model/text.h"
#include "wijkpuls/v1/wijkpuls.pb.h"

namespace wijkpuls {
namespace {

// The fields of SurveyResponse, each under both of its JSON names.
enum Field : int {
  kNone = 0,
  kResponseId,
  kRespondentRef,
  kWave,
  kInstrument,
  kWijk,
  kMode,
  kStartedAt,
  kSubmittedAt,
  kAgeBand,
  kSex,
  kAnswers,
  kInterviewerId,
  kConsent,
  kInstrumentVersion,
};

struct Name {
  std::string_view proto, json;
  Field field;
};
constexpr Name kNames[] = {
    {"response_id", "responseId", kResponseId},
    {"respondent_ref", "respondentRef", kRespondentRef},
    {"wave", "wave", kWave},
    {"instrument", "instrument", kInstrument},
    {"wijk", "wijk", kWijk},
    {"mode", "mode", kMode},
    {"started_at", "startedAt", kStartedAt},
    {"submitted_at", "submittedAt", kSubmittedAt},
    {"age_band", "ageBand", kAgeBand},
    {"sex", "sex", kSex},
    {"answers", "answers", kAnswers},
    {"interviewer_id", "interviewerId", kInterviewerId},
    {"consent", "consent", kConsent},
    {"instrument_version", "instrumentVersion", kInstrumentVersion},
};

Field FieldOf(std::string_view key) {
  if (key.empty()) return kNone;
  for (const Name& n : kNames) {
    // The first letter rules out most names without a comparison.
    if (n.proto[0] == key[0] && (key == n.proto || key == n.json)) return n.field;
  }
  return kNone;
}

// An enum's values by name, read once from the descriptor.
class EnumNames {
 public:
  explicit EnumNames(const google::protobuf::EnumDescriptor* d) : d_(d) {
    for (int i = 0; i < d->value_count(); ++i) values_.emplace_back(d->value(i)->name(), d->value(i)->number());
  }
  bool ByName(std::string_view name, int* number) const {
    for (const auto& [n, v] : values_) {
      if (n == name) {
        *number = v;
        return true;
      }
    }
    return false;
  }
  bool KnownNumber(int number) const { return d_->FindValueByNumber(number) != nullptr; }

 private:
  const google::protobuf::EnumDescriptor* d_;
  std::vector<std::pair<std::string, int>> values_;
};

const EnumNames& EnumOf(Field f) {
  static const EnumNames instrument(v1::Instrument_descriptor());
  static const EnumNames mode(v1::Mode_descriptor());
  static const EnumNames age_band(v1::AgeBand_descriptor());
  static const EnumNames sex(v1::Sex_descriptor());
  switch (f) {
    case kInstrument:
      return instrument;
    case kMode:
      return mode;
    case kAgeBand:
      return age_band;
    default:
      return sex;
  }
}

constexpr int kMaxSkipDepth = 16;  // protobuf's parser allows 100: deeper is not mine

class Reader {
 public:
  explicit Reader(std::string_view s) : p_(s.data()), end_(s.data() + s.size()) {}

  void SkipSpace() {
    while (p_ < end_ && (*p_ == ' ' || *p_ == '\t' || *p_ == '\n' || *p_ == '\r')) ++p_;
  }
  bool Eat(char c) {
    SkipSpace();
    if (p_ < end_ && *p_ == c) {
      ++p_;
      return true;
    }
    return false;
  }
  bool Peek(char c) {
    SkipSpace();
    return p_ < end_ && *p_ == c;
  }
  bool AtEnd() {
    SkipSpace();
    return p_ == end_;
  }
  // `null`, consumed when it is next.
  bool Null() { return Literal("null"); }

  // A key: printable ASCII without escapes (anything else is not mine).
  bool Key(std::string_view& out) {
    if (!Eat('"')) return false;
    const char* start = p_;
    while (p_ < end_ && *p_ != '"') {
      const unsigned char c = static_cast<unsigned char>(*p_);
      if (c < 0x20 || c > 0x7e || c == '\\') return false;
      ++p_;
    }
    // An empty name: protobuf refuses it ("Proto fields must have a name"), even
    // where it would ignore an unknown one.
    if (p_ == end_ || p_ == start) return false;
    out = std::string_view(start, static_cast<size_t>(p_ - start));
    ++p_;
    return Eat(':');
  }

  // A string's text, escapes decoded, valid UTF-8. The view lives until the
  // next call (it points into the input, or into a scratch buffer).
  bool Text(std::string_view& out) {
    if (!Eat('"')) return false;
    const char* start = p_;
    bool high = false;
    while (p_ < end_ && *p_ != '"' && *p_ != '\\') {
      const unsigned char c = static_cast<unsigned char>(*p_);
      if (c < 0x20) return false;
      high |= c >= 0x80;
      ++p_;
    }
    if (p_ == end_) return false;
    if (*p_ == '"') {
      out = std::string_view(start, static_cast<size_t>(p_ - start));
      ++p_;
      return !high || FirstInvalidUtf8(out) == std::string_view::npos;
    }
    scratch_.assign(start, static_cast<size_t>(p_ - start));
    while (p_ < end_ && *p_ != '"') {
      const unsigned char c = static_cast<unsigned char>(*p_);
      if (c < 0x20) return false;
      if (c != '\\') {
        scratch_.push_back(static_cast<char>(c));
        ++p_;
        continue;
      }
      if (++p_ == end_) return false;
      switch (*p_++) {
        case '"': scratch_.push_back('"'); break;
        case '\\': scratch_.push_back('\\'); break;
        case '/': scratch_.push_back('/'); break;
        case 'b': scratch_.push_back('\b'); break;
        case 'f': scratch_.push_back('\f'); break;
        case 'n': scratch_.push_back('\n'); break;
        case 'r': scratch_.push_back('\r'); break;
        case 't': scratch_.push_back('\t'); break;
        case 'u': {
          uint32_t cp = 0;
          if (!Hex4(cp)) return false;
          if (cp >= 0xdc00 && cp <= 0xdfff) return false;  // a low surrogate alone
          if (cp >= 0xd800 && cp <= 0xdbff) {
            uint32_t low = 0;
            if (end_ - p_ < 2 || p_[0] != '\\' || p_[1] != 'u') return false;
            p_ += 2;
            if (!Hex4(low) || low < 0xdc00 || low > 0xdfff) return false;
            cp = 0x10000 + ((cp - 0xd800) << 10) + (low - 0xdc00);
          }
          AppendUtf8(cp);
          break;
        }
        default:
          return false;
      }
    }
    if (p_ == end_) return false;
    ++p_;
    out = scratch_;
    return FirstInvalidUtf8(out) == std::string_view::npos;
  }

  // An integer in int32 range, written plainly: -?(0|[1-9][0-9]*), not -0.
  bool Int32(int32_t& out) {
    SkipSpace();
    const char* start = p_;
    if (p_ < end_ && *p_ == '-') ++p_;
    if (p_ == end_ || *p_ < '0' || *p_ > '9') return false;
    if (*p_ == '0' && (p_ + 1 < end_ && p_[1] >= '0' && p_[1] <= '9')) return false;
    if (*p_ == '0' && *start == '-') return false;
    while (p_ < end_ && *p_ >= '0' && *p_ <= '9') ++p_;
    // A fraction or exponent makes it a number protobuf may still take: not mine.
    if (p_ < end_ && (*p_ == '.' || *p_ == 'e' || *p_ == 'E')) return false;
    auto [q, ec] = std::from_chars(start, p_, out);
    return ec == std::errc() && q == p_ && Delimited();
  }
  bool Bool(bool& out) {
    if (Literal("true")) {
      out = true;
      return true;
    }
    if (Literal("false")) {
      out = false;
      return true;
    }
    return false;
  }

  // Any strict JSON value (RFC 8259, strings valid UTF-8, numbers within a
  // double's range, at most kMaxSkipDepth deep), passed over.
  bool SkipValue(int depth = 0) {
    if (depth > kMaxSkipDepth) return false;
    SkipSpace();
    if (p_ == end_) return false;
    std::string_view ignored;
    switch (*p_) {
      case '"':
        return Text(ignored);
      case '{': {
        ++p_;
        if (Eat('}')) return true;
        do {
          if (!Peek('"') || !Text(ignored) || !Eat(':') || !SkipValue(depth + 1)) return false;
        } while (Eat(','));
        return Eat('}');
      }
      case '[': {
        ++p_;
        if (Eat(']')) return true;
        do {
          if (!SkipValue(depth + 1)) return false;
        } while (Eat(','));
        return Eat(']');
      }
      case 't':
        return Literal("true");
      case 'f':
        return Literal("false");
      case 'n':
        return Literal("null");
      default:
        return Number();
    }
  }

 private:
  // A literal followed by what may follow a JSON value; consumed only then
  // (`null"x"` is neither null nor "x").
  bool Literal(std::string_view word) {
    SkipSpace();
    if (static_cast<size_t>(end_ - p_) < word.size() || std::string_view(p_, word.size()) != word) return false;
    p_ += word.size();
    if (Delimited()) return true;
    p_ -= word.size();
    return false;
  }
  bool Delimited() const {
    return p_ == end_ || *p_ == ',' || *p_ == '}' || *p_ == ']' || *p_ == ' ' || *p_ == '\t' ||
           *p_ == '\n' || *p_ == '\r';
  }
  bool Digits() {
    const char* start = p_;
    while (p_ < end_ && *p_ >= '0' && *p_ <= '9') ++p_;
    return p_ > start;
  }
  bool Number() {
    const char* start = p_;
    if (p_ < end_ && *p_ == '-') ++p_;
    if (p_ == end_) return false;
    if (*p_ == '0') {
      ++p_;
    } else if (!Digits()) {
      return false;
    }
    if (p_ < end_ && *p_ == '.') {
      ++p_;
      if (!Digits()) return false;
    }
    if (p_ < end_ && (*p_ == 'e' || *p_ == 'E')) {
      ++p_;
      if (p_ < end_ && (*p_ == '+' || *p_ == '-')) ++p_;
      if (!Digits()) return false;
    }
    // protobuf refuses a number beyond a double ("1e999"); under- and
    // overflow alike are not mine.
    double d = 0;
    auto [q, ec] = std::from_chars(start, p_, d);
    return ec == std::errc() && q == p_ && Delimited();
  }
  bool Hex4(uint32_t& out) {
    if (end_ - p_ < 4) return false;
    out = 0;
    for (int i = 0; i < 4; ++i) {
      const char c = *p_++;
      out <<= 4;
      if (c >= '0' && c <= '9') {
        out |= static_cast<uint32_t>(c - '0');
      } else if (c >= 'a' && c <= 'f') {
        out |= static_cast<uint32_t>(c - 'a' + 10);
      } else if (c >= 'A' && c <= 'F') {
        out |= static_cast<uint32_t>(c - 'A' + 10);
      } else {
        return false;
      }
    }
    return true;
  }
  void AppendUtf8(uint32_t cp) {
    if (cp < 0x80) {
      scratch_.push_back(static_cast<char>(cp));
    } else if (cp < 0x800) {
      scratch_.push_back(static_cast<char>(0xc0 | (cp >> 6)));
      scratch_.push_back(static_cast<char>(0x80 | (cp & 0x3f)));
    } else if (cp < 0x10000) {
      scratch_.push_back(static_cast<char>(0xe0 | (cp >> 12)));
      scratch_.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3f)));
      scratch_.push_back(static_cast<char>(0x80 | (cp & 0x3f)));
    } else {
      scratch_.push_back(static_cast<char>(0xf0 | (cp >> 18)));
      scratch_.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3f)));
      scratch_.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3f)));
      scratch_.push_back(static_cast<char>(0x80 | (cp & 0x3f)));
    }
  }

  const char* p_;
  const char* end_;
  std::string scratch_;
};

// A string field: its text, or nothing for null.
bool StringField(Reader& r, std::string& out) {
  if (r.Null()) return true;
  std::string_view s;
  if (!r.Text(s)) return false;
  out.assign(s);
  return true;
}

bool EnumField(Reader& r, Field f, int& out) {
  if (r.Null()) return true;
  const EnumNames& names = EnumOf(f);
  if (r.Peek('"')) {
    std::string_view name;
    // An unknown name: protobuf drops it, and its path says so (INVALID_FIELD).
    return r.Text(name) && names.ByName(name, &out);
  }
  int32_t n = 0;
  if (!r.Int32(n) || !names.KnownNumber(n)) return false;
  out = n;
  return true;
}

bool TimeField(Reader& r, WireTimestamp& out) {
  if (r.Null()) return true;
  std::string_view s;
  if (!r.Text(s)) return false;
  int64_t seconds = 0;
  int32_t nanos = 0;
  if (!ParseTimeAsProtobufDoes(s, &seconds, &nanos)) return false;  // protobuf: an error
  out = WireTimestamp{true, seconds, nanos};
  return true;
}

bool Answers(Reader& r, std::vector<RawAnswer>& out) {
  if (r.Null()) return true;
  if (!r.Eat('[')) return false;
  if (r.Eat(']')) return true;
  out.reserve(32);  // an instrument has 14 or 21 items
  do {
    if (!r.Eat('{')) return false;  // null or a nested list: not mine
    RawAnswer& a = out.emplace_back();
    bool seen_item = false;
    bool seen_value = false;
    if (!r.Eat('}')) {
      do {
        std::string_view key;
        if (!r.Key(key)) return false;
        if (key == "item") {
          if (seen_item || !StringField(r, a.item)) return false;
          seen_item = true;
        } else if (key == "value") {
          if (seen_value) return false;
          seen_value = true;
          if (!r.Null() && !r.Int32(a.value)) return false;
        } else if (!r.SkipValue()) {  // protobuf ignores it
          return false;
        }
      } while (r.Eat(','));
      if (!r.Eat('}')) return false;
    }
  } while (r.Eat(','));
  return r.Eat(']');
}

}  // namespace

bool FastJsonToRawResponse(std::string_view json, RawResponse& out, WireTimestamp& started_at,
                           WireTimestamp& submitted_at) {
  Reader r(json);
  if (!r.Eat('{')) return false;
  uint32_t seen = 0;  // one bit per field, either name: a field given twice is not mine
  std::string_view unknown[8];
  int unknowns = 0;
  if (!r.Eat('}')) {
    do {
      std::string_view key;
      if (!r.Key(key)) return false;
      const Field f = FieldOf(key);
      if (f == kNone) {
        // Counted once per key, as protobuf's path counts them.
        for (int i = 0; i < unknowns; ++i) {
          if (unknown[i] == key) return false;
        }
        if (unknowns == 8 || !r.SkipValue()) return false;
        unknown[unknowns++] = key;
        continue;
      }
      if (seen & (1u << f)) return false;
      seen |= 1u << f;
      bool ok = false;
      switch (f) {
        case kResponseId: ok = StringField(r, out.response_id); break;
        case kRespondentRef: ok = StringField(r, out.respondent_ref); break;
        case kWave: ok = StringField(r, out.wave); break;
        case kWijk: ok = StringField(r, out.wijk); break;
        case kInterviewerId: ok = StringField(r, out.interviewer_id); break;
        case kInstrumentVersion: ok = StringField(r, out.instrument_version); break;
        case kInstrument: ok = EnumField(r, f, out.instrument); break;
        case kMode: ok = EnumField(r, f, out.mode); break;
        case kAgeBand: ok = EnumField(r, f, out.age_band); break;
        case kSex: ok = EnumField(r, f, out.sex); break;
        case kStartedAt: ok = TimeField(r, started_at); break;
        case kSubmittedAt: ok = TimeField(r, submitted_at); break;
        case kAnswers: ok = Answers(r, out.answers); break;
        case kConsent: ok = r.Null() || r.Bool(out.consent); break;
        case kNone: break;
      }
      if (!ok) return false;
    } while (r.Eat(','));
    if (!r.Eat('}')) return false;
  }
  out.unknown_fields = unknowns;
  return r.AtEnd();
}

namespace {

// google/protobuf/stubs/time.cc's ParseInt: 1 to `width` digits in [lo, hi].
bool ParseInt(std::string_view s, size_t& i, int width, int lo, int hi, int* out) {
  auto digit = [&](size_t k) { return k < s.size() && s[k] >= '0' && s[k] <= '9'; };
  if (!digit(i)) return false;
  int v = 0;
  for (int n = 0; n < width && digit(i); ++n, ++i) v = v * 10 + (s[i] - '0');
  if (v < lo || v > hi) return false;
  *out = v;
  return true;
}

bool Expect(std::string_view s, size_t& i, char c) {
  if (i >= s.size() || s[i] != c) return false;
  ++i;
  return true;
}

// Days from 1970-01-01 to y-m-d (proleptic Gregorian; Howard Hinnant's
// days_from_civil).
int64_t DaysFromCivil(int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<int64_t>(doe) - 719468;
}

bool IsLeap(int y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

}  // namespace

bool ParseTimeAsProtobufDoes(std::string_view text, int64_t* seconds, int32_t* nanos) {
  // protobuf reads a C string: the text ends at a NUL.
  const std::string_view s = text.substr(0, text.find('\0'));
  size_t i = 0;
  int year, month, day, hour, minute, second;
  if (!ParseInt(s, i, 4, 1, 9999, &year) || !Expect(s, i, '-') || !ParseInt(s, i, 2, 1, 12, &month) ||
      !Expect(s, i, '-') || !ParseInt(s, i, 2, 1, 31, &day) || !Expect(s, i, 'T') ||
      !ParseInt(s, i, 2, 0, 23, &hour) || !Expect(s, i, ':') || !ParseInt(s, i, 2, 0, 59, &minute) ||
      !Expect(s, i, ':') || !ParseInt(s, i, 2, 0, 59, &second)) {
    return false;
  }
  static constexpr int kDaysInMonth[13] = {0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  if (day > kDaysInMonth[month] + (month == 2 && IsLeap(year) ? 1 : 0)) return false;
  int64_t secs = DaysFromCivil(year, static_cast<unsigned>(month), static_cast<unsigned>(day)) * 86400 +
                 hour * 3600 + minute * 60 + second;
  int32_t ns = 0;
  if (i < s.size() && s[i] == '.') {
    ++i;
    if (i >= s.size() || s[i] < '0' || s[i] > '9') return false;
    int len = 0;
    while (i < s.size() && s[i] >= '0' && s[i] <= '9') {  // every digit, the first nine count
      if (len < 9) ns = ns * 10 + (s[i] - '0');
      ++len;
      ++i;
    }
    for (; len < 9; ++len) ns *= 10;
  }
  if (i < s.size() && s[i] == 'Z') {
    ++i;
  } else if (i < s.size() && (s[i] == '+' || s[i] == '-')) {
    const bool plus = s[i++] == '+';
    int oh, om;
    if (!ParseInt(s, i, 2, 0, 23, &oh) || !Expect(s, i, ':') || !ParseInt(s, i, 2, 0, 59, &om)) return false;
    const int64_t offset = (oh * 60 + om) * 60;
    secs += plus ? -offset : offset;
  } else {
    return false;
  }
  if (i != s.size()) return false;
  *seconds = secs;
  *nanos = ns;
  return true;
}

}  // namespace wijkpuls
