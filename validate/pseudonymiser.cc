#include "validate/pseudonymiser.h"

#include <openssl/rand.h>

#include <cstdlib>

#include "model/text.h"
#include "model/yaml_reader.h"

namespace wijkpuls {

absl::StatusOr<Pseudonymiser> Pseudonymiser::FromKey(std::string key) {
  if (key.size() < 32) {
    return absl::InvalidArgumentError(
        Cat("the key has ", key.size(), " bytes; at least 32 are needed"));
  }
  return Pseudonymiser(std::move(key));
}

absl::StatusOr<Pseudonymiser> Pseudonymiser::FromKeyFile(const std::string& path) {
  absl::StatusOr<std::string> text = yaml::ReadFileToString(path);
  if (!text.ok()) return text.status();
  std::string key(Trim(*text));
  absl::StatusOr<Pseudonymiser> p = FromKey(std::move(key));
  if (!p.ok()) return absl::InvalidArgumentError(Cat(path, ": ", p.status().message()));
  return p;
}

Pseudonymiser Pseudonymiser::Ephemeral() {
  unsigned char buf[32];
  if (RAND_bytes(buf, sizeof buf) != 1) std::abort();  // no entropy: cannot run safely
  return Pseudonymiser(ToHex(buf, sizeof buf));
}

Digest256 Pseudonymiser::Of(std::string_view wave, std::string_view respondent_ref) const {
  thread_local std::string message;
  message.clear();
  message.reserve(wave.size() + 1 + respondent_ref.size());
  message.append(wave);
  message.push_back('\x1f');
  message.append(respondent_ref);
  return mac_.Mac(message);
}

}  // namespace wijkpuls
