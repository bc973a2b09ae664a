#include "ingest/json_fast.h"

#include <google/protobuf/descriptor.h>
#include <google/protobuf/util/time_util.h>

#include <charconv>
#include <cstdint>
#include <string>

#include "wijkpuls/v1/wijkpuls.pb.h"

namespace wijkpuls {
namespace {

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
  // A string of printable ASCII without escapes (anything else: not mine).
  bool String(std::string_view& out) {
    if (!Eat('"')) return false;
    const char* start = p_;
    while (p_ < end_ && *p_ != '"') {
      const unsigned char c = static_cast<unsigned char>(*p_);
      if (c < 0x20 || c > 0x7e || c == '\\') return false;
      ++p_;
    }
    if (p_ == end_) return false;
    out = std::string_view(start, static_cast<size_t>(p_ - start));
    ++p_;
    return true;
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
    return ec == std::errc() && q == p_;
  }
  bool Bool(bool& out) {
    SkipSpace();
    if (end_ - p_ >= 4 && std::string_view(p_, 4) == "true") {
      p_ += 4;
      out = true;
    } else if (end_ - p_ >= 5 && std::string_view(p_, 5) == "false") {
      p_ += 5;
      out = false;
    } else {
      return false;
    }
    // "truex" is not JSON.
    return p_ == end_ || !((*p_ >= 'a' && *p_ <= 'z') || (*p_ >= '0' && *p_ <= '9'));
  }

 private:
  const char* p_;
  const char* end_;
};

template <typename Setter>
bool Enum(Reader& r, const google::protobuf::EnumDescriptor* d, Setter set) {
  const google::protobuf::EnumValueDescriptor* v = nullptr;
  if (r.Peek('"')) {
    std::string_view name;
    if (!r.String(name)) return false;
    v = d->FindValueByName(std::string(name));
  } else {
    int32_t n = 0;
    if (!r.Int32(n)) return false;
    v = d->FindValueByNumber(n);
  }
  if (v == nullptr) return false;  // protobuf ignores unknown names: let it
  set(v->number());
  return true;
}

// RFC 3339 in UTC only: YYYY-MM-DDTHH:MM:SS[.f{1,9}]Z.
bool Time(Reader& r, google::protobuf::Timestamp* out) {
  std::string_view s;
  if (!r.String(s)) return false;
  auto digits = [&](size_t from, size_t n) {
    for (size_t i = from; i < from + n; ++i) {
      if (i >= s.size() || s[i] < '0' || s[i] > '9') return false;
    }
    return true;
  };
  if (s.size() < 20 || !digits(0, 4) || s[4] != '-' || !digits(5, 2) || s[7] != '-' ||
      !digits(8, 2) || s[10] != 'T' || !digits(11, 2) || s[13] != ':' || !digits(14, 2) ||
      s[16] != ':' || !digits(17, 2) || s.back() != 'Z') {
    return false;
  }
  if (s.size() > 20) {
    const size_t fraction = s.size() - 21;  // digits between '.' and 'Z'
    if (s[19] != '.' || fraction < 1 || fraction > 9 || !digits(20, fraction)) return false;
  }
  return google::protobuf::util::TimeUtil::FromString(std::string(s), out);
}

bool Answers(Reader& r, v1::SurveyResponse& out) {
  if (!r.Eat('[')) return false;
  if (r.Eat(']')) return true;
  do {
    if (!r.Eat('{')) return false;
    v1::Answer* a = out.add_answers();
    bool seen_item = false;
    bool seen_value = false;
    if (!r.Eat('}')) {
      do {
        std::string_view key;
        if (!r.String(key) || !r.Eat(':')) return false;
        if (key == "item" && !seen_item) {
          std::string_view v;
          if (!r.String(v)) return false;
          a->set_item(std::string(v));
          seen_item = true;
        } else if (key == "value" && !seen_value) {
          int32_t v = 0;
          if (!r.Int32(v)) return false;
          a->set_value(v);
          seen_value = true;
        } else {
          return false;
        }
      } while (r.Eat(','));
      if (!r.Eat('}')) return false;
    }
  } while (r.Eat(','));
  return r.Eat(']');
}

}  // namespace

bool FastJsonToSurveyResponse(std::string_view json, v1::SurveyResponse& out) {
  Reader r(json);
  if (!r.Eat('{')) return false;
  uint32_t seen = 0;  // one bit per field number: a repeated key is not mine
  if (!r.Eat('}')) {
    do {
      std::string_view key;
      if (!r.String(key) || !r.Eat(':')) return false;
      int field = 0;
      std::string_view s;
      bool ok = false;
      if (key == "responseId") {
        field = 1;
        ok = r.String(s) && (out.set_response_id(std::string(s)), true);
      } else if (key == "respondentRef") {
        field = 2;
        ok = r.String(s) && (out.set_respondent_ref(std::string(s)), true);
      } else if (key == "wave") {
        field = 3;
        ok = r.String(s) && (out.set_wave(std::string(s)), true);
      } else if (key == "instrument") {
        field = 4;
        ok = Enum(r, v1::Instrument_descriptor(),
                  [&](int v) { out.set_instrument(static_cast<v1::Instrument>(v)); });
      } else if (key == "wijk") {
        field = 5;
        ok = r.String(s) && (out.set_wijk(std::string(s)), true);
      } else if (key == "mode") {
        field = 6;
        ok = Enum(r, v1::Mode_descriptor(), [&](int v) { out.set_mode(static_cast<v1::Mode>(v)); });
      } else if (key == "startedAt") {
        field = 7;
        ok = Time(r, out.mutable_started_at());
      } else if (key == "submittedAt") {
        field = 8;
        ok = Time(r, out.mutable_submitted_at());
      } else if (key == "ageBand") {
        field = 9;
        ok = Enum(r, v1::AgeBand_descriptor(),
                  [&](int v) { out.set_age_band(static_cast<v1::AgeBand>(v)); });
      } else if (key == "sex") {
        field = 10;
        ok = Enum(r, v1::Sex_descriptor(), [&](int v) { out.set_sex(static_cast<v1::Sex>(v)); });
      } else if (key == "answers") {
        field = 11;
        ok = Answers(r, out);
      } else if (key == "interviewerId") {
        field = 12;
        ok = r.String(s) && (out.set_interviewer_id(std::string(s)), true);
      } else if (key == "consent") {
        field = 13;
        bool b = false;
        ok = r.Bool(b) && (out.set_consent(b), true);
      } else if (key == "instrumentVersion") {
        field = 14;
        ok = r.String(s) && (out.set_instrument_version(std::string(s)), true);
      }
      if (!ok || (seen & (1u << field)) != 0) return false;
      seen |= 1u << field;
    } while (r.Eat(','));
    if (!r.Eat('}')) return false;
  }
  return r.AtEnd();
}

}  // namespace wijkpuls
