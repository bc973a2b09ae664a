// Small string helpers over std::string_view. (Debian's Abseil is built with
// its own absl::string_view, which does not take std::string_view, so its
// StrCat/StrSplit are not used in this project.)
#pragma once

#include <charconv>
#include <concepts>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace wijkpuls {

namespace text_detail {
inline void Append(std::string& out, std::string_view s) { out.append(s); }
inline void Append(std::string& out, char c) { out.push_back(c); }
template <size_t N>
void Append(std::string& out, const char (&s)[N]) {
  out.append(s, s[N - 1] == '\0' ? N - 1 : N);
}
inline void Append(std::string& out, const std::string& s) { out.append(s); }
inline void Append(std::string& out, const char* s) { out.append(s); }
inline void Append(std::string& out, absl::string_view s) { out.append(s.data(), s.size()); }
template <std::integral I>
  requires(!std::same_as<I, char> && !std::same_as<I, bool>)
void Append(std::string& out, I v) {
  char buf[24];
  auto [p, ec] = std::to_chars(buf, buf + sizeof buf, v);
  out.append(buf, p);
}
inline void Append(std::string& out, bool v) { out.append(v ? "true" : "false"); }
void Append(std::string& out, double v);  // shortest form that round-trips
}  // namespace text_detail

// Concatenates strings, characters and numbers.
template <typename... A>
std::string Cat(const A&... parts) {
  std::string out;
  (text_detail::Append(out, parts), ...);
  return out;
}

std::string Join(const std::vector<std::string_view>& parts, std::string_view separator);
std::string Join(const std::vector<std::string>& parts, std::string_view separator);
std::vector<std::string_view> Split(std::string_view s, char separator);
std::string_view Trim(std::string_view s);
// `s` between double quotes, every byte outside printable ASCII (and the
// quote and backslash) written as \xNN: text a producer sent, safe to put in a
// log line or a rejection's detail (no forged lines, always valid UTF-8).
std::string Quoted(std::string_view s);
// The offset of the first byte of `s` that is not part of well-formed UTF-8
// (no overlongs, surrogates or code points above U+10FFFF); npos: none.
size_t FirstInvalidUtf8(std::string_view s);
bool StartsWith(std::string_view s, std::string_view prefix);
bool Contains(std::string_view s, std::string_view part);

// A status message as std::string_view (for logging; absl::string_view is
// a distinct type here).
inline std::string_view MessageOf(const absl::Status& s) {
  return std::string_view(s.message().data(), s.message().size());
}

// Transparent hashing for unordered containers keyed by std::string.
struct StringHash {
  using is_transparent = void;
  size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
};

}  // namespace wijkpuls
