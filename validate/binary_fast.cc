#include "validate/binary_fast.h"

#include <cstdint>
#include <limits>

namespace wijkpuls {
namespace {

constexpr int kVarint = 0;
constexpr int kLengthDelimited = 2;

class Reader {
 public:
  explicit Reader(std::string_view s)
      : p_(reinterpret_cast<const uint8_t*>(s.data())), end_(p_ + s.size()) {}
  bool AtEnd() const { return p_ == end_; }

  // At most 9 bytes (values below 2^63): longer encodings are left to protobuf.
  bool Varint(uint64_t& v) {
    v = 0;
    for (int shift = 0; shift < 63; shift += 7) {
      if (p_ == end_) return false;
      const uint8_t b = *p_++;
      v |= static_cast<uint64_t>(b & 0x7f) << shift;
      if ((b & 0x80) == 0) return true;
    }
    return false;
  }
  bool Tag(int& field, int& wire_type) {
    uint64_t t = 0;
    if (!Varint(t) || t > std::numeric_limits<uint32_t>::max()) return false;
    field = static_cast<int>(t >> 3);
    wire_type = static_cast<int>(t & 7);
    return field > 0;
  }
  bool Bytes(std::string_view& out) {
    uint64_t n = 0;
    if (!Varint(n) || n > static_cast<uint64_t>(end_ - p_)) return false;
    out = std::string_view(reinterpret_cast<const char*>(p_), n);
    p_ += n;
    return true;
  }
  // proto3 strings must be UTF-8; plain ASCII needs no further check.
  bool AsciiString(std::string_view& out) {
    if (!Bytes(out)) return false;
    for (char c : out) {
      if (static_cast<uint8_t>(c) >= 0x80) return false;
    }
    return true;
  }
  bool Int32(int32_t& out) {
    uint64_t v = 0;
    if (!Varint(v) || v > static_cast<uint64_t>(std::numeric_limits<int32_t>::max())) return false;
    out = static_cast<int32_t>(v);
    return true;
  }

 private:
  const uint8_t* p_;
  const uint8_t* end_;
};

bool Timestamp(std::string_view bytes, WireTimestamp& out) {
  if (out.present) return false;  // sent twice: protobuf merges
  out.present = true;
  Reader r(bytes);
  bool seen_seconds = false;
  bool seen_nanos = false;
  while (!r.AtEnd()) {
    int field = 0;
    int wt = 0;
    if (!r.Tag(field, wt) || wt != kVarint) return false;
    if (field == 1 && !seen_seconds) {
      uint64_t v = 0;
      if (!r.Varint(v)) return false;
      out.seconds = static_cast<int64_t>(v);
      seen_seconds = true;
    } else if (field == 2 && !seen_nanos) {
      if (!r.Int32(out.nanos)) return false;
      seen_nanos = true;
    } else {
      return false;
    }
  }
  return true;
}

bool Answer(std::string_view bytes, RawResponse& out) {
  RawAnswer& a = out.answers.emplace_back();
  Reader r(bytes);
  bool seen_item = false;
  bool seen_value = false;
  while (!r.AtEnd()) {
    int field = 0;
    int wt = 0;
    if (!r.Tag(field, wt)) return false;
    if (field == 1 && wt == kLengthDelimited && !seen_item) {
      std::string_view s;
      if (!r.AsciiString(s)) return false;
      a.item.assign(s);
      seen_item = true;
    } else if (field == 2 && wt == kVarint && !seen_value) {
      if (!r.Int32(a.value)) return false;
      seen_value = true;
    } else {
      return false;
    }
  }
  return true;
}

}  // namespace

bool FastBinaryToRawResponse(std::string_view value, RawResponse& out, WireTimestamp& started_at,
                             WireTimestamp& submitted_at) {
  Reader r(value);
  out.answers.reserve(32);  // a questionnaire's items: no regrowth, which moved every answer
  uint32_t seen = 0;  // singular fields by number
  bool any = false;   // a field with a non-default value: protobuf's ByteSizeLong() > 0
  while (!r.AtEnd()) {
    int field = 0;
    int wt = 0;
    if (!r.Tag(field, wt) || field > 14) return false;
    if (field != 11) {
      if (seen & (1u << field)) return false;
      seen |= 1u << field;
    }
    std::string* text = nullptr;
    int32_t* number = nullptr;
    switch (field) {
      case 1: text = &out.response_id; break;
      case 2: text = &out.respondent_ref; break;
      case 3: text = &out.wave; break;
      case 5: text = &out.wijk; break;
      case 12: text = &out.interviewer_id; break;
      case 14: text = &out.instrument_version; break;
      case 4: number = &out.instrument; break;
      case 6: number = &out.mode; break;
      case 9: number = &out.age_band; break;
      case 10: number = &out.sex; break;
      default: break;
    }
    if (text != nullptr) {
      std::string_view s;
      if (wt != kLengthDelimited || !r.AsciiString(s)) return false;
      text->assign(s);
      any |= !s.empty();
    } else if (number != nullptr) {
      if (wt != kVarint || !r.Int32(*number)) return false;
      any |= *number != 0;
    } else if (field == 13) {
      uint64_t v = 0;
      if (wt != kVarint || !r.Varint(v) || v > 1) return false;
      out.consent = v == 1;
      any |= out.consent;
    } else {  // 7, 8, 11: messages
      std::string_view bytes;
      if (wt != kLengthDelimited || !r.Bytes(bytes)) return false;
      const bool ok = field == 11 ? Answer(bytes, out)
                                  : Timestamp(bytes, field == 7 ? started_at : submitted_at);
      if (!ok) return false;
      any = true;
    }
  }
  return any;
}

}  // namespace wijkpuls
