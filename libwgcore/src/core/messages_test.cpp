// Wire-format tests: message sizes and field offsets as the paper's figures and the kernel's
// messages.h lay them out, the protocol constants, classify() on right and wrong lengths and
// types, little-endian access and the padding rule.
#include "core/messages.hpp"

#include <gtest/gtest.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <vector>

namespace wgcore::proto {
namespace {

TEST(Messages, SizesMatchThePaper) {
  EXPECT_EQ(kInitiationLen, 148u);
  EXPECT_EQ(kResponseLen, 92u);
  EXPECT_EQ(kCookieReplyLen, 64u);
  EXPECT_EQ(kDataHeaderLen, 16u);
  EXPECT_EQ(kDataMinLen, 32u);  // header + empty (keepalive) payload + tag
}

TEST(Messages, InitiationFieldOffsets) {
  using M = MessageHandshakeInitiation;
  EXPECT_EQ(offsetof(M, type), 0u);
  EXPECT_EQ(offsetof(M, sender_index), 4u);
  EXPECT_EQ(offsetof(M, unencrypted_ephemeral), 8u);
  EXPECT_EQ(offsetof(M, encrypted_static), 40u);
  EXPECT_EQ(sizeof(M::encrypted_static), 48u);  // 32-byte key + tag
  EXPECT_EQ(offsetof(M, encrypted_timestamp), 88u);
  EXPECT_EQ(sizeof(M::encrypted_timestamp), 28u);  // 12-byte TAI64N + tag
  EXPECT_EQ(offsetof(M, mac1), 116u);
  EXPECT_EQ(offsetof(M, mac2), 132u);
  EXPECT_EQ(kInitiationMac1Offset, 116u);
}

TEST(Messages, ResponseFieldOffsets) {
  using M = MessageHandshakeResponse;
  EXPECT_EQ(offsetof(M, sender_index), 4u);
  EXPECT_EQ(offsetof(M, receiver_index), 8u);
  EXPECT_EQ(offsetof(M, unencrypted_ephemeral), 12u);
  EXPECT_EQ(offsetof(M, encrypted_nothing), 44u);
  EXPECT_EQ(sizeof(M::encrypted_nothing), 16u);  // tag only
  EXPECT_EQ(offsetof(M, mac1), 60u);
  EXPECT_EQ(offsetof(M, mac2), 76u);
  EXPECT_EQ(kResponseMac1Offset, 60u);
}

TEST(Messages, CookieReplyAndDataOffsets) {
  EXPECT_EQ(offsetof(MessageCookieReply, receiver_index), 4u);
  EXPECT_EQ(offsetof(MessageCookieReply, nonce), 8u);
  EXPECT_EQ(offsetof(MessageCookieReply, encrypted_cookie), 32u);
  EXPECT_EQ(sizeof(MessageCookieReply::encrypted_cookie), 32u);  // 16-byte cookie + tag
  EXPECT_EQ(offsetof(MessageDataHeader, receiver_index), 4u);
  EXPECT_EQ(offsetof(MessageDataHeader, counter), 8u);
}

TEST(Messages, ProtocolStrings) {
  EXPECT_EQ(kConstruction, "Noise_IKpsk2_25519_ChaChaPoly_BLAKE2s");
  EXPECT_EQ(kIdentifier, "WireGuard v1 zx2c4 Jason@zx2c4.com");
  EXPECT_EQ(kLabelMac1, "mac1----");
  EXPECT_EQ(kLabelCookie, "cookie--");
}

TEST(Messages, TimeConstantsMatchThePaper) {
  using namespace std::chrono_literals;
  EXPECT_EQ(kRekeyAfterTime, 120s);
  EXPECT_EQ(kRejectAfterTime, 180s);
  EXPECT_EQ(kRekeyAttemptTime, 90s);
  EXPECT_EQ(kRekeyTimeout, 5s);
  EXPECT_EQ(kKeepaliveTimeout, 10s);
  EXPECT_EQ(kRekeyTimeoutJitterMax, 333ms);
  EXPECT_EQ(kMaxTimerHandshakes, 18);
  EXPECT_EQ(kZeroKeyMaterialAfter, 540s);
  EXPECT_EQ(kCookieSecretMaxAge, 120s);
  EXPECT_EQ(kCookieSecretLatency, 5s);
  EXPECT_EQ(kInitiationsPerSecond, 50u);
}

TEST(Messages, CounterConstantsMatchTheKernel) {
  EXPECT_EQ(kRekeyAfterMessages, std::uint64_t{1} << 60);
  // The kernel's window is 8192 - 64 bits (one word of slack); REJECT_AFTER_MESSAGES is
  // U64_MAX - COUNTER_WINDOW_SIZE - 1, so a counter near the limit still fits the window.
  EXPECT_EQ(kCounterWindowSize, 8128u);
  EXPECT_EQ(kRejectAfterMessages, ~std::uint64_t{0} - 8128 - 1);
  EXPECT_LT(kRekeyAfterMessages, kRejectAfterMessages);
}

// ---- classify ----

std::vector<std::uint8_t> datagram(std::uint32_t type, std::size_t len) {
  std::vector<std::uint8_t> d(len, 0xaa);
  if (len >= 4) store_le32(d.data(), type);
  return d;
}

MessageType classify_v(const std::vector<std::uint8_t>& d) { return classify(d.data(), d.size()); }

TEST(Classify, ExactLengthsForHandshakeMessages) {
  struct Case {
    MessageType type;
    std::size_t len;
  } cases[] = {{MessageType::kHandshakeInitiation, 148},
               {MessageType::kHandshakeResponse, 92},
               {MessageType::kCookieReply, 64}};
  for (const auto& c : cases) {
    auto t = static_cast<std::uint32_t>(c.type);
    EXPECT_EQ(classify_v(datagram(t, c.len)), c.type) << c.len;
    EXPECT_EQ(classify_v(datagram(t, c.len - 1)), MessageType::kInvalid) << c.len;
    EXPECT_EQ(classify_v(datagram(t, c.len + 1)), MessageType::kInvalid) << c.len;
    EXPECT_EQ(classify_v(datagram(t, 4)), MessageType::kInvalid) << c.len;
    EXPECT_EQ(classify_v(datagram(t, 1500)), MessageType::kInvalid) << c.len;
  }
}

TEST(Classify, DataNeedsAtLeastHeaderAndTag) {
  EXPECT_EQ(classify_v(datagram(4, 31)), MessageType::kInvalid);
  EXPECT_EQ(classify_v(datagram(4, 32)), MessageType::kData);  // keepalive
  EXPECT_EQ(classify_v(datagram(4, 33)), MessageType::kData);
  EXPECT_EQ(classify_v(datagram(4, 148)), MessageType::kData);  // a data packet may be any size
  EXPECT_EQ(classify_v(datagram(4, 65535)), MessageType::kData);
  EXPECT_EQ(classify_v(datagram(4, 16)), MessageType::kInvalid);
}

TEST(Classify, UnknownTypesAndShortDatagrams) {
  for (std::uint32_t t : {0u, 5u, 6u, 255u, 0xffffffffu})
    for (std::size_t len : {4u, 32u, 64u, 92u, 148u})
      EXPECT_EQ(classify_v(datagram(t, len)), MessageType::kInvalid) << t << " " << len;
  for (std::size_t len = 0; len < 4; ++len)
    EXPECT_EQ(classify_v(datagram(1, len)), MessageType::kInvalid) << len;
  EXPECT_EQ(classify(nullptr, 0), MessageType::kInvalid);
}

TEST(Classify, ReservedTypeBytesMustBeZero) {
  // The type is a full little-endian u32: a set reserved byte makes it an unknown type, as in the
  // kernel, which compares all four bytes.
  for (int byte = 1; byte < 4; ++byte) {
    auto d = datagram(1, 148);
    d[byte] = 1;
    EXPECT_EQ(classify_v(d), MessageType::kInvalid) << byte;
    auto e = datagram(4, 64);
    e[byte] = 0x80;
    EXPECT_EQ(classify_v(e), MessageType::kInvalid) << byte;
  }
  // Big-endian type 1 is not type 1.
  std::vector<std::uint8_t> be(148, 0);
  be[3] = 1;
  EXPECT_EQ(classify_v(be), MessageType::kInvalid);
}

// ---- little-endian access ----

TEST(Endian, KnownBytes) {
  const std::uint8_t b[8] = {0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef};
  EXPECT_EQ(load_le32(b), 0x67452301u);
  EXPECT_EQ(load_le64(b), 0xefcdab8967452301ULL);
  std::uint8_t out[8] = {};
  store_le32(out, 0xdeadbeef);
  EXPECT_EQ(out[0], 0xef);
  EXPECT_EQ(out[1], 0xbe);
  EXPECT_EQ(out[2], 0xad);
  EXPECT_EQ(out[3], 0xde);
  EXPECT_EQ(out[4], 0);  // untouched
  store_le64(out, 0x0102030405060708ULL);
  const std::uint8_t want[8] = {8, 7, 6, 5, 4, 3, 2, 1};
  for (int i = 0; i < 8; ++i) EXPECT_EQ(out[i], want[i]) << i;
}

TEST(Endian, RoundTripAtUnalignedOffsets) {
  std::array<std::uint8_t, 32> buf{};
  std::uint64_t v = 0x9e3779b97f4a7c15ULL;
  for (std::size_t off = 0; off + 8 <= buf.size(); ++off) {
    v = v * 6364136223846793005ULL + 1442695040888963407ULL;
    store_le64(buf.data() + off, v);
    EXPECT_EQ(load_le64(buf.data() + off), v) << off;
    store_le32(buf.data() + off, std::uint32_t(v >> 7));
    EXPECT_EQ(load_le32(buf.data() + off), std::uint32_t(v >> 7)) << off;
  }
  store_le64(buf.data() + 3, ~std::uint64_t{0});
  EXPECT_EQ(load_le64(buf.data() + 3), ~std::uint64_t{0});
  store_le32(buf.data() + 1, 0);
  EXPECT_EQ(load_le32(buf.data() + 1), 0u);
}

// ---- padding ----

TEST(Padding, SmallLengths) {
  EXPECT_EQ(padded_length(0, 1420), 0u);  // a keepalive stays empty
  EXPECT_EQ(padded_length(1, 1420), 16u);
  EXPECT_EQ(padded_length(15, 1420), 16u);
  EXPECT_EQ(padded_length(16, 1420), 16u);
  EXPECT_EQ(padded_length(17, 1420), 32u);
  EXPECT_EQ(padded_length(84, 1420), 96u);  // a 64-byte-payload ICMP echo, as in the vectors
}

TEST(Padding, NeverBeyondTheMtu) {
  // 1420 is not a multiple of 16: the last unit is capped at the MTU.
  EXPECT_EQ(padded_length(1404, 1420), 1408u);
  EXPECT_EQ(padded_length(1409, 1420), 1420u);
  EXPECT_EQ(padded_length(1419, 1420), 1420u);  // mtu - 1
  EXPECT_EQ(padded_length(1420, 1420), 1420u);  // mtu
  // An MTU that is a multiple of 16.
  EXPECT_EQ(padded_length(1279, 1280), 1280u);
  EXPECT_EQ(padded_length(1280, 1280), 1280u);
}

TEST(Padding, OversizedAndNoMtu) {
  // A packet already above the MTU cannot be kept under it; it is padded to a multiple of 16.
  // (The kernel pads len % mtu as if it were the last segment instead; the two agree whenever
  // the MTU is a multiple of 16, and a receiver accepts any padding, so only bounds are checked
  // for 1420.)
  EXPECT_EQ(padded_length(1281, 1280), 1296u);  // mtu + 1
  std::size_t p = padded_length(1421, 1420);
  EXPECT_GE(p, 1421u);
  EXPECT_LT(p, 1421u + 16);
  EXPECT_EQ(padded_length(0, 0), 0u);
  EXPECT_EQ(padded_length(1, 0), 16u);
  EXPECT_EQ(padded_length(1500, 0), 1504u);
}

// Properties of the rule over every length up to well past the MTU: never shorter than the
// packet, less than one unit longer, a multiple of 16 unless capped, and never past the MTU
// when the packet itself fits.
TEST(Padding, PropertiesOverAllLengths) {
  for (std::size_t mtu : {0u, 576u, 1280u, 1420u, 1500u, 9000u}) {
    for (std::size_t len = 0; len <= 9100; ++len) {
      std::size_t p = padded_length(len, mtu);
      ASSERT_GE(p, len) << len << "/" << mtu;
      ASSERT_LT(p - len, 16u) << len << "/" << mtu;
      bool fits = mtu != 0 && len <= mtu;
      if (fits) {
        ASSERT_LE(p, mtu) << len << "/" << mtu;
      }
      ASSERT_TRUE(p % 16 == 0 || (fits && p == mtu)) << len << "/" << mtu;
    }
  }
}

}  // namespace
}  // namespace wgcore::proto
