// Cookie mechanism tests (paper 5.4.4 and 5.4.7): mac1 on every message, mac2 only under load,
// the cookie reply round trip between a device's checker and a peer's maker, binding of the
// cookie to source address and port, its lifetimes, and which replies a maker must refuse.
#include "core/cookie.hpp"

#include <gtest/gtest.h>

#include <cstring>
#include <string>
#include <vector>

#include "core/crypto/aead.hpp"
#include "core/crypto/blake2s.hpp"
#include "core/testing/fakes.hpp"

namespace wgcore {
namespace {

using Bytes = std::vector<std::uint8_t>;
using namespace std::chrono_literals;

crypto::Bytes label(std::string_view s) {
  return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}

// Two parties: the device ("server", whose public key keys mac1) and a peer sending to it.
class CookieTest : public ::testing::Test {
 protected:
  void SetUp() override {
    rng.fill(server_public.span());
    checker.init(server_public);
    maker.init(server_public);
  }

  // A handshake message with arbitrary content and the given length (148 or 92).
  Bytes message(std::size_t len) {
    Bytes m(len);
    rng.fill(m);
    proto::store_le32(m.data(), len == proto::kInitiationLen ? 1 : 2);
    return m;
  }
  Bytes sent(std::size_t len = proto::kInitiationLen) {
    Bytes m = message(len);
    maker.add_macs(m, clock.now());
    return m;
  }
  std::size_t mac1_off(const Bytes& m) const {
    return m.size() == proto::kInitiationLen ? proto::kInitiationMac1Offset
                                             : proto::kResponseMac1Offset;
  }
  bool mac2_is_zero(const Bytes& m) const {
    for (std::size_t i = 0; i < 16; ++i)
      if (m[mac1_off(m) + 16 + i]) return false;
    return true;
  }
  MacState validate(const Bytes& m, const Endpoint& from, bool under_load) {
    return checker.validate(m, from, under_load, clock.now(), rng);
  }
  proto::MessageCookieReply reply_to(const Bytes& m, const Endpoint& from) {
    proto::MessageCookieReply r;
    checker.create_reply(r, m, 0x01020304, from, clock.now(), rng);
    return r;
  }
  // The whole exchange: the peer sends, the device answers with a cookie, the peer takes it.
  void obtain_cookie(const Endpoint& from) {
    Bytes m = sent();
    ASSERT_TRUE(maker.consume_reply(reply_to(m, from), clock.now()));
  }

  fakes::ManualClock clock;
  fakes::ScriptedRandom rng{7};
  Key server_public;
  CookieChecker checker;
  CookieMaker maker;
  Endpoint v4 = *Endpoint::parse("192.0.2.10:51820");
  Endpoint v4_other_port = *Endpoint::parse("192.0.2.10:51821");
  Endpoint v4_other_addr = *Endpoint::parse("192.0.2.11:51820");
  Endpoint v6 = *Endpoint::parse("[2001:db8::1]:51820");
  Endpoint v6_other_addr = *Endpoint::parse("[2001:db8::2]:51820");
};

TEST_F(CookieTest, Mac1IsKeyedBlake2sOfEverythingBeforeIt) {
  // mac1 = MAC(HASH("mac1----" || S_pub_receiver), msg[0:off]), computed here from primitives.
  Key mac1_key;
  crypto::blake2s(mac1_key.span(), {label("mac1----"), server_public.span()});
  for (std::size_t len : {proto::kInitiationLen, proto::kResponseLen}) {
    Bytes m = sent(len);
    std::uint8_t want[16];
    crypto::blake2s_mac(std::span<std::uint8_t, 16>(want), mac1_key.span(),
                        std::span(m).first(mac1_off(m)));
    EXPECT_EQ(std::memcmp(want, m.data() + mac1_off(m), 16), 0) << len;
    EXPECT_TRUE(mac2_is_zero(m)) << len;  // no cookie yet
    EXPECT_EQ(validate(m, v4, false), MacState::kValidMacButNoCookie) << len;
  }
}

TEST_F(CookieTest, AnyFlippedByteUpToMac1IsInvalid) {
  for (std::size_t len : {proto::kInitiationLen, proto::kResponseLen}) {
    Bytes m = sent(len);
    for (std::size_t i = 0; i < mac1_off(m) + 16; ++i) {
      Bytes bad = m;
      bad[i] ^= 0x01;
      EXPECT_EQ(validate(bad, v4, false), MacState::kInvalidMac) << len << " @" << i;
      EXPECT_EQ(validate(bad, v4, true), MacState::kInvalidMac) << len << " @" << i;
    }
  }
}

TEST_F(CookieTest, Mac1OfAnotherReceiverIsInvalid) {
  Key other;
  rng.fill(other.span());
  CookieMaker wrong;
  wrong.init(other);
  Bytes m = message(proto::kInitiationLen);
  wrong.add_macs(m, clock.now());
  EXPECT_EQ(validate(m, v4, false), MacState::kInvalidMac);
}

TEST_F(CookieTest, UninitializedCheckerAcceptsNothing) {
  CookieChecker fresh;
  EXPECT_FALSE(fresh.ready());
  EXPECT_TRUE(checker.ready());
  Bytes m = sent();
  EXPECT_EQ(fresh.validate(m, v4, false, clock.now(), rng), MacState::kInvalidMac);
}

TEST_F(CookieTest, Mac2IsOnlyCheckedUnderLoad) {
  Bytes m = sent();
  // Not under load: mac2 is never looked at, whatever it holds.
  EXPECT_EQ(validate(m, v4, false), MacState::kValidMacButNoCookie);
  Bytes garbage = m;
  garbage[proto::kInitiationMac1Offset + 16] ^= 0xff;
  EXPECT_EQ(validate(garbage, v4, false), MacState::kValidMacButNoCookie);
  // Under load, a zero mac2 is "no cookie".
  EXPECT_EQ(validate(m, v4, true), MacState::kValidMacButNoCookie);
  obtain_cookie(v4);
  Bytes with_cookie = sent();
  EXPECT_EQ(validate(with_cookie, v4, false), MacState::kValidMacButNoCookie);
  EXPECT_EQ(validate(with_cookie, v4, true), MacState::kValidMacWithCookie);
}

TEST_F(CookieTest, ReplyRoundTripMakesMac2Valid) {
  EXPECT_FALSE(maker.has_valid_cookie(clock.now()));
  Bytes m = sent();
  ASSERT_EQ(validate(m, v4, true), MacState::kValidMacButNoCookie);
  auto reply = reply_to(m, v4);
  EXPECT_EQ(proto::load_le32(reinterpret_cast<std::uint8_t*>(&reply)), 3u);
  EXPECT_EQ(proto::load_le32(reinterpret_cast<std::uint8_t*>(&reply) + 4), 0x01020304u);
  ASSERT_TRUE(maker.consume_reply(reply, clock.now()));
  EXPECT_TRUE(maker.has_valid_cookie(clock.now()));
  for (std::size_t len : {proto::kInitiationLen, proto::kResponseLen}) {
    Bytes next = sent(len);
    EXPECT_FALSE(mac2_is_zero(next));
    EXPECT_EQ(validate(next, v4, true), MacState::kValidMacWithCookie) << len;
    Bytes bad = next;
    bad[mac1_off(bad) + 16 + 3] ^= 0x10;  // mac2 wrong, mac1 still right
    EXPECT_EQ(validate(bad, v4, true), MacState::kValidMacButNoCookie) << len;
  }
}

TEST_F(CookieTest, ReplyContentsFromPrimitives) {
  // Independently of cookie.cpp: the cookie is MAC(secret, src ip || src port) with the
  // checker's random secret; the reply is XAEAD(HASH("cookie--" || S_pub), nonce, cookie,
  // ad = mac1 of the message it answers).
  Bytes m = sent();
  validate(m, v4, true);  // the first cookie made draws the secret: the only fill so far
  ASSERT_EQ(rng.fills().size(), 3u);  // server key, message body, secret
  Bytes secret = rng.fills().back();
  ASSERT_EQ(secret.size(), 32u);
  auto reply = reply_to(m, v4);

  Key cookie_key;
  crypto::blake2s(cookie_key.span(), {label("cookie--"), server_public.span()});
  std::uint8_t cookie[16];
  ASSERT_TRUE(crypto::xaead_open(cookie, reply.encrypted_cookie,
                                 std::span<const std::uint8_t, 24>(reply.nonce),
                                 std::span(m).subspan(proto::kInitiationMac1Offset, 16),
                                 cookie_key.span()));
  std::uint8_t src[6] = {192, 0, 2, 10, 51820 >> 8, 51820 & 0xff};  // network byte order
  std::uint8_t want[16];
  crypto::blake2s_mac(std::span<std::uint8_t, 16>(want), secret, src);
  EXPECT_EQ(std::memcmp(cookie, want, 16), 0);
  // And mac2 = MAC(cookie, msg[0:mac2]).
  ASSERT_TRUE(maker.consume_reply(reply, clock.now()));
  Bytes next = sent();
  std::uint8_t mac2[16];
  crypto::blake2s_mac(std::span<std::uint8_t, 16>(mac2), std::span<const std::uint8_t>(cookie, 16),
                      std::span(next).first(proto::kInitiationMac1Offset + 16));
  EXPECT_EQ(std::memcmp(mac2, next.data() + proto::kInitiationMac1Offset + 16, 16), 0);
}

TEST_F(CookieTest, RepliesUseFreshNonces) {
  Bytes m = sent();
  auto r1 = reply_to(m, v4);
  auto r2 = reply_to(m, v4);
  EXPECT_NE(std::memcmp(r1.nonce, r2.nonce, sizeof r1.nonce), 0);
  EXPECT_NE(std::memcmp(r1.encrypted_cookie, r2.encrypted_cookie, sizeof r1.encrypted_cookie), 0);
}

TEST_F(CookieTest, CookieIsBoundToSourceAddressAndPort) {
  obtain_cookie(v4);
  Bytes m = sent();
  EXPECT_EQ(validate(m, v4, true), MacState::kValidMacWithCookie);
  EXPECT_EQ(validate(m, v4_other_port, true), MacState::kValidMacButNoCookie);
  EXPECT_EQ(validate(m, v4_other_addr, true), MacState::kValidMacButNoCookie);
  EXPECT_EQ(validate(m, v6, true), MacState::kValidMacButNoCookie);
}

TEST_F(CookieTest, Ipv6Sources) {
  obtain_cookie(v6);
  Bytes m = sent();
  EXPECT_EQ(validate(m, v6, true), MacState::kValidMacWithCookie);
  EXPECT_EQ(validate(m, v6_other_addr, true), MacState::kValidMacButNoCookie);
  EXPECT_EQ(validate(m, *Endpoint::parse("[2001:db8::1]:51821"), true),
            MacState::kValidMacButNoCookie);
  EXPECT_EQ(validate(m, v4, true), MacState::kValidMacButNoCookie);
}

TEST_F(CookieTest, MakerStopsUsingACookieAfterMaxAgeMinusLatency) {
  obtain_cookie(v4);
  clock.advance(proto::kCookieSecretMaxAge - proto::kCookieSecretLatency - 1ns);
  EXPECT_TRUE(maker.has_valid_cookie(clock.now()));
  Bytes still = sent();
  EXPECT_FALSE(mac2_is_zero(still));
  EXPECT_EQ(validate(still, v4, true), MacState::kValidMacWithCookie);
  clock.advance(1ns);  // 115 s after it arrived
  EXPECT_FALSE(maker.has_valid_cookie(clock.now()));
  Bytes expired = sent();
  EXPECT_TRUE(mac2_is_zero(expired));
  EXPECT_EQ(validate(expired, v4, true), MacState::kValidMacButNoCookie);
}

TEST_F(CookieTest, SecretRotatesAfterMaxAge) {
  Bytes m = sent();
  auto reply = reply_to(m, v4);  // the secret is born now
  ASSERT_TRUE(maker.consume_reply(reply, clock.now()));
  Bytes with_cookie = sent();
  clock.advance(proto::kCookieSecretMaxAge - 1ns);
  EXPECT_EQ(validate(with_cookie, v4, true), MacState::kValidMacWithCookie);
  clock.advance(1ns);  // 120 s: a new secret, the old cookie is worthless
  EXPECT_EQ(validate(with_cookie, v4, true), MacState::kValidMacButNoCookie);
  // A cookie from the new secret works again.
  obtain_cookie(v4);
  EXPECT_EQ(validate(sent(), v4, true), MacState::kValidMacWithCookie);
}

TEST_F(CookieTest, ReplyOnlyForTheLastMac1Sent) {
  Bytes first = sent();
  Bytes second = sent();
  auto stale = reply_to(first, v4);
  EXPECT_FALSE(maker.consume_reply(stale, clock.now()));  // answers a message we superseded
  EXPECT_FALSE(maker.has_valid_cookie(clock.now()));
  auto good = reply_to(second, v4);
  EXPECT_TRUE(maker.consume_reply(good, clock.now()));
  // The same reply again, or any reply before we send again, is refused.
  EXPECT_FALSE(maker.consume_reply(good, clock.now()));
}

TEST_F(CookieTest, ReplyBeforeSendingAnythingIsRejected) {
  Bytes m = message(proto::kInitiationLen);
  CookieMaker other;
  other.init(server_public);
  other.add_macs(m, clock.now());  // same mac1 as we would have computed...
  auto reply = reply_to(m, v4);
  EXPECT_FALSE(maker.consume_reply(reply, clock.now()));  // ...but we never sent it
}

TEST_F(CookieTest, ForgedOrTamperedRepliesRejected) {
  Bytes m = sent();
  auto good = reply_to(m, v4);
  for (std::size_t i = 0; i < sizeof good.nonce + sizeof good.encrypted_cookie; ++i) {
    auto bad = good;
    std::uint8_t* p = i < sizeof bad.nonce ? &bad.nonce[i] : &bad.encrypted_cookie[i - sizeof bad.nonce];
    *p ^= 0x04;
    EXPECT_FALSE(maker.consume_reply(bad, clock.now())) << i;
  }
  // A reply made by a device with another public key (cookie key differs).
  Key other;
  rng.fill(other.span());
  CookieChecker impostor;
  impostor.init(other);
  proto::MessageCookieReply forged;
  impostor.create_reply(forged, m, 1, v4, clock.now(), rng);
  EXPECT_FALSE(maker.consume_reply(forged, clock.now()));
  EXPECT_FALSE(maker.has_valid_cookie(clock.now()));
  // None of that used up the right to take the genuine reply.
  EXPECT_TRUE(maker.consume_reply(good, clock.now()));
}

TEST_F(CookieTest, ReinitForgetsTheCookie) {
  obtain_cookie(v4);
  ASSERT_TRUE(maker.has_valid_cookie(clock.now()));
  maker.init(server_public);
  EXPECT_FALSE(maker.has_valid_cookie(clock.now()));
  EXPECT_TRUE(mac2_is_zero(sent()));
}

TEST_F(CookieTest, StatesPrintDistinctly) {
  std::string a = to_string(MacState::kInvalidMac), b = to_string(MacState::kValidMacButNoCookie),
              c = to_string(MacState::kValidMacWithCookie);
  EXPECT_NE(a, b);
  EXPECT_NE(b, c);
  EXPECT_NE(a, c);
}

}  // namespace
}  // namespace wgcore
