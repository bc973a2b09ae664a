// SHA-256 and HMAC-SHA256 (OpenSSL), for the methodology hash and the
// pseudonymisation of respondent refs.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

namespace wijkpuls {

using Digest256 = std::array<uint8_t, 32>;

Digest256 Sha256(std::string_view data);
std::string Sha256Hex(std::string_view data);
Digest256 HmacSha256(std::string_view key, std::string_view message);

// HMAC-SHA256 under one key, many messages: the key's inner and outer hash
// states are computed once (RFC 2104), so a message costs two SHA-256 runs
// over it and the inner digest, without OpenSSL's per-call algorithm fetch.
// Copies share the precomputed state; Mac() may be called from any thread.
class HmacSha256Key {
 public:
  explicit HmacSha256Key(std::string_view key);
  Digest256 Mac(std::string_view message) const;

 private:
  struct State;
  std::shared_ptr<const State> state_;
};
std::string ToHex(const uint8_t* data, size_t size);

}  // namespace wijkpuls
