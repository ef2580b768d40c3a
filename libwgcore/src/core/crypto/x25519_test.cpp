// Tests for X25519: RFC 7748 section 5.2 (scalar multiplication and the iterated loop) and
// section 6.1 (Alice/Bob), WireGuard clamping, rejection of low-order peer points, and key
// generation through the injected Random interface.
#include "core/crypto/x25519.hpp"

#include <gtest/gtest.h>

#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "core/environment.hpp"

namespace wgcore::crypto {
namespace {

Key k(std::string_view hex) {
  auto key = key_from_hex(hex);
  EXPECT_TRUE(key.has_value()) << hex;
  return key.value_or(Key{});
}

Key shared_of(const Key& priv, const Key& pub) {
  Key out;
  EXPECT_TRUE(x25519(out, priv, pub));
  return out;
}

TEST(X25519, Rfc7748Section52Vector1) {
  const Key scalar = k("a546e36bf0527c9d3b16154b82465edd62144c0ac1fc5a18506a2244ba449ac4");
  const Key u = k("e6db6867583030db3594c1a424b15f7c726624ec26b3353b10a903a6d0ab1c4c");
  EXPECT_EQ(to_hex(shared_of(scalar, u)),
            "c3da55379de9c6908e94ea4df28d084f32eccf03491c71f754b4075577a28552");
}

TEST(X25519, Rfc7748Section52Vector2HighBitOfUIsIgnored) {
  // This u-coordinate has its top bit set; RFC 7748 requires masking it.
  const Key scalar = k("4b66e9d4d1b4673c5ad22691957d6af5c11b6421e0ea01d42ca4169e7918ba0d");
  const Key u = k("e5210f12786811d3f4b7959d0538ae2c31dbe7106fc03c3efc4cd549c715a493");
  EXPECT_EQ(to_hex(shared_of(scalar, u)),
            "95cbde9476e8907d7aade45cb4b873f88b595a68799fa152e6f8f7647aac7957");
}

TEST(X25519, Rfc7748Section52IteratedOnceAndThousandTimes) {
  // k = u = 9; repeat: (k, u) = (X25519(k, u), k).
  Key scalar = k("0900000000000000000000000000000000000000000000000000000000000000");
  Key u = scalar;
  for (int i = 1; i <= 1000; ++i) {
    Key next = shared_of(scalar, u);
    u = scalar;
    scalar = next;
    if (i == 1) {
      EXPECT_EQ(to_hex(scalar), "422c8e7a6227d7bca1350b3e2bb7279f7897b87bb6854b783c60e80311ae3079");
    }
  }
  EXPECT_EQ(to_hex(scalar), "684cf59ba83309552800ef566f2f4d3c1c3887c49360e3875f2eb94d99532c51");
}

const char kAlicePriv[] = "77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a";
const char kAlicePub[] = "8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a";
const char kBobPriv[] = "5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb";
const char kBobPub[] = "de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f";
const char kShared[] = "4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742";

TEST(X25519, Rfc7748Section61PublicKeys) {
  Key pub;
  ASSERT_TRUE(x25519_public(pub, k(kAlicePriv)));
  EXPECT_EQ(to_hex(pub), kAlicePub);
  ASSERT_TRUE(x25519_public(pub, k(kBobPriv)));
  EXPECT_EQ(to_hex(pub), kBobPub);
}

TEST(X25519, Rfc7748Section61SharedSecretBothWays) {
  EXPECT_EQ(to_hex(shared_of(k(kAlicePriv), k(kBobPub))), kShared);
  EXPECT_EQ(to_hex(shared_of(k(kBobPriv), k(kAlicePub))), kShared);
}

TEST(X25519, LowOrderPeerPointsAreRejected) {
  // Points of order 1, 2, 4 and 8 and their non-canonical encodings (u + p): every clamped
  // scalar maps them to zero, which WireGuard must treat as a failed handshake.
  const char* low_order[] = {
      "0000000000000000000000000000000000000000000000000000000000000000",  // 0
      "0100000000000000000000000000000000000000000000000000000000000000",  // 1
      "e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800",  // order 8
      "5f9c95bca3508c24b1d0b1559c83ef5b04445cc4581c8e86d8224eddd09f1157",  // order 8
      "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",  // p - 1
      "edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",  // p (= 0)
      "eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",  // p + 1 (= 1)
      "0000000000000000000000000000000000000000000000000000000000000080",  // 0, top bit set
  };
  Key priv = k(kAlicePriv);
  for (const char* point : low_order) {
    Key shared = k("ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff");
    EXPECT_FALSE(x25519(shared, priv, k(point))) << point;
    EXPECT_TRUE(shared.is_zero()) << "output must not hold stale bytes: " << point;
  }
}

TEST(X25519, ClampSetsAndClearsTheSpecifiedBits) {
  Key all = k("ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff");
  x25519_clamp(all);
  EXPECT_EQ(to_hex(all), "f8ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f");
  Key none;
  x25519_clamp(none);
  EXPECT_EQ(to_hex(none), "0000000000000000000000000000000000000000000000000000000000000040");
  Key again = all;
  x25519_clamp(again);
  EXPECT_EQ(again, all);  // idempotent
}

TEST(X25519, UnclampedAndClampedPrivateKeysAgree) {
  // X25519 clamps internally (RFC 7748 decodeScalar25519), so storing clamped keys the way
  // WireGuard does must not change any public key or shared secret.
  std::mt19937 rng(20);
  for (int i = 0; i < 10; ++i) {
    Key raw;
    for (std::size_t j = 0; j < raw.size(); ++j) raw[j] = static_cast<std::uint8_t>(rng());
    Key clamped = raw;
    x25519_clamp(clamped);
    Key p1, p2;
    ASSERT_TRUE(x25519_public(p1, raw));
    ASSERT_TRUE(x25519_public(p2, clamped));
    EXPECT_EQ(p1, p2);
  }
}

// Deterministic generator: byte i of the stream is seed + i.
class CountingRandom final : public Random {
 public:
  explicit CountingRandom(std::uint8_t seed) : next_(seed) {}
  void fill(std::span<std::uint8_t> out) override {
    for (auto& b : out) b = next_++;
    ++calls_;
  }
  int calls() const { return calls_; }

 private:
  std::uint8_t next_;
  int calls_ = 0;
};

TEST(X25519, GenerateTakesBytesFromRandomAndClamps) {
  CountingRandom rng(0xf0);
  Key priv = x25519_generate(rng);
  EXPECT_GE(rng.calls(), 1);
  Key want;
  for (std::size_t i = 0; i < want.size(); ++i) want[i] = static_cast<std::uint8_t>(0xf0 + i);
  x25519_clamp(want);
  EXPECT_EQ(priv, want);
  Key second = x25519_generate(rng);
  EXPECT_FALSE(second == priv);
}

TEST(X25519, RandomKeyPairsAgree) {
  Random& rng = system_random();
  for (int i = 0; i < 20; ++i) {
    Key a = x25519_generate(rng), b = x25519_generate(rng);
    Key pa, pb;
    ASSERT_TRUE(x25519_public(pa, a));
    ASSERT_TRUE(x25519_public(pb, b));
    Key s1 = shared_of(a, pb), s2 = shared_of(b, pa);
    EXPECT_EQ(s1, s2);
    EXPECT_FALSE(s1.is_zero());
  }
}

}  // namespace
}  // namespace wgcore::crypto
