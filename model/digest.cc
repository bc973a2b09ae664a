#include "model/digest.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <openssl/crypto.h>

#include <cstdlib>
#include <cstring>

namespace wijkpuls {

Digest256 Sha256(std::string_view data) {
  Digest256 out{};
  unsigned int len = 0;
  if (EVP_Digest(data.data(), data.size(), out.data(), &len, EVP_sha256(), nullptr) != 1) {
    std::abort();  // OpenSSL cannot compute SHA-256: the process is broken.
  }
  return out;
}

std::string ToHex(const uint8_t* data, size_t size) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string s(size * 2, '0');
  for (size_t i = 0; i < size; ++i) {
    s[2 * i] = kHex[data[i] >> 4];
    s[2 * i + 1] = kHex[data[i] & 15];
  }
  return s;
}

std::string Sha256Hex(std::string_view data) {
  Digest256 d = Sha256(data);
  return ToHex(d.data(), d.size());
}

Digest256 HmacSha256(std::string_view key, std::string_view message) {
  Digest256 out{};
  unsigned int len = 0;
  if (HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
           reinterpret_cast<const unsigned char*>(message.data()), message.size(), out.data(),
           &len) == nullptr) {
    std::abort();
  }
  return out;
}

struct HmacSha256Key::State {
  EVP_MD* md = nullptr;
  EVP_MD_CTX* inner = nullptr;  // after key XOR ipad
  EVP_MD_CTX* outer = nullptr;  // after key XOR opad
  ~State() {
    EVP_MD_CTX_free(inner);
    EVP_MD_CTX_free(outer);
    EVP_MD_free(md);
  }
};

namespace {

void Check(int ok) {
  if (ok != 1) std::abort();  // OpenSSL cannot compute SHA-256: the process is broken.
}

struct ScratchCtx {
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  ~ScratchCtx() { EVP_MD_CTX_free(ctx); }
};

}  // namespace

HmacSha256Key::HmacSha256Key(std::string_view key) {
  constexpr size_t kBlock = 64;  // SHA-256's block size
  auto st = std::make_shared<State>();
  st->md = EVP_MD_fetch(nullptr, "SHA256", nullptr);
  st->inner = EVP_MD_CTX_new();
  st->outer = EVP_MD_CTX_new();
  if (st->md == nullptr || st->inner == nullptr || st->outer == nullptr) std::abort();
  unsigned char k[kBlock] = {};
  if (key.size() > kBlock) {
    Digest256 d = Sha256(key);
    std::memcpy(k, d.data(), d.size());
  } else {
    std::memcpy(k, key.data(), key.size());
  }
  unsigned char pad[kBlock];
  for (size_t i = 0; i < kBlock; ++i) pad[i] = k[i] ^ 0x36;
  Check(EVP_DigestInit_ex(st->inner, st->md, nullptr));
  Check(EVP_DigestUpdate(st->inner, pad, kBlock));
  for (size_t i = 0; i < kBlock; ++i) pad[i] = k[i] ^ 0x5c;
  Check(EVP_DigestInit_ex(st->outer, st->md, nullptr));
  Check(EVP_DigestUpdate(st->outer, pad, kBlock));
  OPENSSL_cleanse(k, sizeof k);
  OPENSSL_cleanse(pad, sizeof pad);
  state_ = std::move(st);
}

Digest256 HmacSha256Key::Mac(std::string_view message) const {
  thread_local ScratchCtx scratch;
  if (scratch.ctx == nullptr) std::abort();
  Digest256 inner{};
  Digest256 out{};
  unsigned int len = 0;
  Check(EVP_MD_CTX_copy_ex(scratch.ctx, state_->inner));
  Check(EVP_DigestUpdate(scratch.ctx, message.data(), message.size()));
  Check(EVP_DigestFinal_ex(scratch.ctx, inner.data(), &len));
  Check(EVP_MD_CTX_copy_ex(scratch.ctx, state_->outer));
  Check(EVP_DigestUpdate(scratch.ctx, inner.data(), inner.size()));
  Check(EVP_DigestFinal_ex(scratch.ctx, out.data(), &len));
  return out;
}

}  // namespace wijkpuls
