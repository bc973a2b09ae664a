// SHA-256 and HMAC-SHA256 (OpenSSL), for the methodology hash and the
// pseudonymisation of respondent refs.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

namespace wijkpuls {

using Digest256 = std::array<uint8_t, 32>;

Digest256 Sha256(std::string_view data);
std::string Sha256Hex(std::string_view data);
Digest256 HmacSha256(std::string_view key, std::string_view message);
std::string ToHex(const uint8_t* data, size_t size);

}  // namespace wijkpuls
