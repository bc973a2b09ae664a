#include "validate/pseudonymiser.h"

#include <gtest/gtest.h>

#include "tests/support/test_support.h"
#include "model/text.h"

namespace wijkpuls {
namespace {

TEST(Pseudonymiser, IsHmacSha256OfWaveAndRefUnderTheKey) {
  absl::StatusOr<Pseudonymiser> p = Pseudonymiser::FromKey(std::string(32, 'k'));
  ASSERT_TRUE(p.ok());
  // HMAC-SHA256("kkkk...k" x32, "2024\x1fINV-1") computed with openssl:
  //   printf '2024\x1fINV-1' | openssl dgst -sha256 -hmac kkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkk
  const Digest256 d = p->Of("2024", "INV-1");
  EXPECT_EQ(ToHex(d.data(), d.size()), "80de6daded51dd9793283209d59415c0c3dea1e6717994b840980d590cec1a10");
  EXPECT_EQ(p->Of("2024", "INV-1"), d);
  EXPECT_NE(p->Of("2025", "INV-1"), d);  // unrelated across waves
  EXPECT_NE(p->Of("2024", "INV-2"), d);
  // The separator keeps ("2024", "1INV") apart from ("20241", "INV").
  EXPECT_NE(p->Of("2024", "1INV"), p->Of("20241", "INV"));
}

// The precomputed-key HMAC equals OpenSSL's one-shot HMAC for keys shorter
// than, equal to and longer than SHA-256's 64-byte block (a long key is
// hashed first), and for empty and multi-block messages.
TEST(HmacSha256Key, EqualsOneShotHmacForEveryKeyLength) {
  for (size_t key_len : {1, 32, 63, 64, 65, 200}) {
    std::string key(key_len, '\0');
    for (size_t i = 0; i < key_len; ++i) key[i] = static_cast<char>(i * 7 + 1);
    const HmacSha256Key mac(key);
    const HmacSha256Key copy = mac;
    for (size_t msg_len : {0, 1, 55, 64, 200}) {
      const std::string msg(msg_len, 'm');
      EXPECT_EQ(mac.Mac(msg), HmacSha256(key, msg)) << key_len << " " << msg_len;
      EXPECT_EQ(copy.Mac(msg), HmacSha256(key, msg));
    }
  }
}

TEST(Pseudonymiser, AnotherKeyGivesOtherPseudonyms) {
  absl::StatusOr<Pseudonymiser> a = Pseudonymiser::FromKey(std::string(32, 'a'));
  absl::StatusOr<Pseudonymiser> b = Pseudonymiser::FromKey(std::string(32, 'b'));
  EXPECT_NE(a->Of("2024", "INV-1"), b->Of("2024", "INV-1"));
}

TEST(Pseudonymiser, RefusesShortKeysAndNamesTheFile) {
  EXPECT_FALSE(Pseudonymiser::FromKey("short").ok());
  testing::TempDir dir;
  testing::WriteFile(dir.File("key"), "tooshort\n");
  absl::StatusOr<Pseudonymiser> p = Pseudonymiser::FromKeyFile(dir.File("key"));
  ASSERT_FALSE(p.ok());
  EXPECT_TRUE(Contains(MessageOf(p.status()), dir.File("key"))) << p.status();
  EXPECT_FALSE(Pseudonymiser::FromKeyFile(dir.File("absent")).ok());
}

}  // namespace
}  // namespace wijkpuls
