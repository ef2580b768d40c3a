// Key encodings (strict like `wg`), zeroing and constant-time comparison.
#include "wgcore/key.hpp"

#include <gtest/gtest.h>

#include <cstring>
#include <string>
#include <new>

namespace wgcore {
namespace {

TEST(Key, Base64RoundTripOfKnownKey) {
  // A key `wg genkey` could print; its bytes decoded independently with Python's base64 module.
  auto k = key_from_base64("aO5AqUekwTivNfOOZEzVBO6VXdZGGA7ezF4Pe58U3Us=");
  ASSERT_TRUE(k);
  EXPECT_EQ(to_hex(*k), "68ee40a947a4c138af35f38e644cd504ee955dd646180edecc5e0f7b9f14dd4b");
  EXPECT_EQ(to_base64(*k), "aO5AqUekwTivNfOOZEzVBO6VXdZGGA7ezF4Pe58U3Us=");
  auto h = key_from_hex(to_hex(*k));
  ASSERT_TRUE(h);
  EXPECT_TRUE(*h == *k);
}

TEST(Key, RejectsMalformedBase64) {
  EXPECT_FALSE(key_from_base64(""));
  EXPECT_FALSE(key_from_base64("aO5AqUekwTivNfOOZEzVBO6VXdZGGA7ezF4Pe58U3Us"));    // no padding
  EXPECT_FALSE(key_from_base64("aO5AqUekwTivNfOOZEzVBO6VXdZGGA7ezF4Pe58U3Us=="));  // too long
  EXPECT_FALSE(key_from_base64("aO5AqUekwTivNfOOZEzVBO6VXdZGGA7ezF4Pe58U3U*="));   // bad char
  // Non-zero unused bits in the last character: `wg` rejects these, so do we.
  EXPECT_FALSE(key_from_base64("aO5AqUekwTivNfOOZEzVBO6VXdZGGA7ezF4Pe58U3Ut="));
  EXPECT_FALSE(key_from_base64("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"));
}

TEST(Key, RejectsMalformedHex) {
  EXPECT_FALSE(key_from_hex(std::string(63, 'a')));
  EXPECT_FALSE(key_from_hex(std::string(65, 'a')));
  EXPECT_FALSE(key_from_hex(std::string(62, 'a') + "zz"));
  EXPECT_TRUE(key_from_hex(std::string(64, 'F')));
}

TEST(Key, GenericBase64MatchesRfc4648Vectors) {
  auto enc = [](std::string_view s) {
    return base64_encode({reinterpret_cast<const std::uint8_t*>(s.data()), s.size()});
  };
  EXPECT_EQ(enc(""), "");
  EXPECT_EQ(enc("f"), "Zg==");
  EXPECT_EQ(enc("fo"), "Zm8=");
  EXPECT_EQ(enc("foo"), "Zm9v");
  EXPECT_EQ(enc("foob"), "Zm9vYg==");
  EXPECT_EQ(enc("fooba"), "Zm9vYmE=");
  EXPECT_EQ(enc("foobar"), "Zm9vYmFy");
  std::uint8_t out[8];
  auto n = base64_decode("Zm9vYmE=", out);
  ASSERT_TRUE(n);
  EXPECT_EQ(std::string(reinterpret_cast<char*>(out), *n), "fooba");
}

// The codecs classify characters by arithmetic, not by a table or branches (keys are secret):
// checked against plain reference classifiers for every byte value, and round trips of random
// keys, with an invalid character at every position refused.
TEST(Key, BranchFreeCodecsMatchReferences) {
  const std::string b64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  for (int c = 0; c < 256; ++c) {
    const auto pos = b64.find(char(c));
    std::string quad = "AAA" + std::string(1, char(c));
    std::uint8_t out[3];
    auto n = base64_decode(quad, out);
    if (c == '=') continue;  // padding, not a character
    ASSERT_EQ(n.has_value(), pos != std::string::npos) << c;
    if (n) {
      EXPECT_EQ(out[2], std::uint8_t(pos)) << c;
    }
    const bool hex = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
    std::uint8_t h;
    EXPECT_EQ(hex_decode(std::string("0") + char(c), std::span<std::uint8_t>(&h, 1)), hex) << c;
    if (hex) {
      EXPECT_EQ(h, std::uint8_t(std::stoi(std::string(1, char(c)), nullptr, 16)));
    }
  }
  std::uint32_t x = 12345;
  for (int round = 0; round < 2000; ++round) {
    Key k;
    for (std::size_t i = 0; i < k.size(); ++i) k[i] = std::uint8_t((x = x * 1664525u + 1013904223u) >> 24);
    const std::string t = to_base64(k), h = to_hex(k);
    ASSERT_EQ(t.size(), 44u);
    for (char ch : t.substr(0, 43)) ASSERT_NE(b64.find(ch), std::string::npos);
    auto back = key_from_base64(t);
    ASSERT_TRUE(back && *back == k);
    auto hback = key_from_hex(h);
    ASSERT_TRUE(hback && *hback == k);
    std::string bad = t;
    bad[std::size_t(round) % 43] = '*';
    EXPECT_FALSE(key_from_base64(bad)) << bad;
    std::string badh = h;
    badh[std::size_t(round) % 64] = 'g';
    EXPECT_FALSE(key_from_hex(badh)) << badh;
  }
}

TEST(Key, EqualityIsByValueAndZeroDetection) {
  Key a, b;
  EXPECT_TRUE(a.is_zero());
  EXPECT_TRUE(a == b);
  b[31] = 1;
  EXPECT_FALSE(a == b);
  EXPECT_FALSE(b.is_zero());
  b.clear();
  EXPECT_TRUE(b.is_zero());
}

TEST(Key, DestructorWipesTheBytes) {
  alignas(Key) unsigned char storage[sizeof(Key)];
  Key* k = new (storage) Key();
  std::memset(k->data(), 0xAB, Key::size());
  k->~Key();
  for (unsigned char c : storage) EXPECT_EQ(c, 0);
}

TEST(Key, HashSpreadsDifferentKeys) {
  Key a, b;
  b[0] = 1;
  EXPECT_NE(KeyHash{}(a), KeyHash{}(b));
}

}  // namespace
}  // namespace wgcore
