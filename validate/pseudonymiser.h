// Pseudonymisation of respondent refs: HMAC-SHA256(key, wave || 0x1f || ref).
// The same ref gives the same pseudonym within a wave (so second responses are
// recognised) and unrelated ones across waves; without the key a pseudonym
// cannot be traced back by trying refs.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "model/digest.h"

namespace wijkpuls {

class Pseudonymiser {
 public:
  // The key file holds the key as text (e.g. `openssl rand -hex 32`); trailing
  // whitespace is ignored; at least 32 bytes.
  static absl::StatusOr<Pseudonymiser> FromKeyFile(const std::string& path);
  // A random key for `demo` and tests: pseudonyms do not survive a restart.
  static Pseudonymiser Ephemeral();
  static absl::StatusOr<Pseudonymiser> FromKey(std::string key);

  Digest256 Of(std::string_view wave, std::string_view respondent_ref) const;

 private:
  explicit Pseudonymiser(const std::string& key) : mac_(key) {}
  HmacSha256Key mac_;  // the key itself is kept only inside OpenSSL's hash state
};

}  // namespace wijkpuls
