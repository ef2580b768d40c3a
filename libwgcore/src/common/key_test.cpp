// Key encodings (strict like `wg`), zeroing and constant-time comparison.
#include "wgcore/key.hpp"

#include <gtest/gtest.h>

#include <cstring>
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
