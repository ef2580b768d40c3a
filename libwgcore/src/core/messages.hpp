// Every WireGuard protocol constant and wire layout, in one place (the paper, section 5 and 6,
// and the kernel's messages.h). Nothing else in the tree spells out a protocol number.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <string_view>

namespace wgcore::proto {

using namespace std::chrono_literals;

// ---- Noise construction (paper 5.4) ----
inline constexpr std::string_view kConstruction = "Noise_IKpsk2_25519_ChaChaPoly_BLAKE2s";
inline constexpr std::string_view kIdentifier = "WireGuard v1 zx2c4 Jason@zx2c4.com";
inline constexpr std::string_view kLabelMac1 = "mac1----";
inline constexpr std::string_view kLabelCookie = "cookie--";

// ---- Sizes ----
inline constexpr std::size_t kKeyLen = 32;
inline constexpr std::size_t kHashLen = 32;
inline constexpr std::size_t kAeadTagLen = 16;
inline constexpr std::size_t kMacLen = 16;
inline constexpr std::size_t kCookieLen = 16;
inline constexpr std::size_t kCookieNonceLen = 24;
inline constexpr std::size_t kTimestampLen = 12;
inline constexpr std::size_t kPaddingMultiple = 16;

// ---- Message types (little-endian u32 whose top three bytes are reserved zero) ----
enum class MessageType : std::uint32_t {
  kInvalid = 0,
  kHandshakeInitiation = 1,
  kHandshakeResponse = 2,
  kCookieReply = 3,
  kData = 4,
};

// ---- Wire layouts. Multi-byte integers are little-endian on the wire; always read and write
// them through load_le*/store_le* so the code is right on any host. ----
struct MessageHandshakeInitiation {
  std::uint32_t type;
  std::uint32_t sender_index;
  std::uint8_t unencrypted_ephemeral[kKeyLen];
  std::uint8_t encrypted_static[kKeyLen + kAeadTagLen];
  std::uint8_t encrypted_timestamp[kTimestampLen + kAeadTagLen];
  std::uint8_t mac1[kMacLen];
  std::uint8_t mac2[kMacLen];
};

struct MessageHandshakeResponse {
  std::uint32_t type;
  std::uint32_t sender_index;
  std::uint32_t receiver_index;
  std::uint8_t unencrypted_ephemeral[kKeyLen];
  std::uint8_t encrypted_nothing[kAeadTagLen];
  std::uint8_t mac1[kMacLen];
  std::uint8_t mac2[kMacLen];
};

struct MessageCookieReply {
  std::uint32_t type;
  std::uint32_t receiver_index;
  std::uint8_t nonce[kCookieNonceLen];
  std::uint8_t encrypted_cookie[kCookieLen + kAeadTagLen];
};

struct MessageDataHeader {
  std::uint32_t type;
  std::uint32_t receiver_index;
  std::uint64_t counter;
  // followed by the encrypted, zero-padded inner packet and its 16-byte tag
};

inline constexpr std::size_t kInitiationLen = sizeof(MessageHandshakeInitiation);
inline constexpr std::size_t kResponseLen = sizeof(MessageHandshakeResponse);
inline constexpr std::size_t kCookieReplyLen = sizeof(MessageCookieReply);
inline constexpr std::size_t kDataHeaderLen = sizeof(MessageDataHeader);
inline constexpr std::size_t kDataMinLen = kDataHeaderLen + kAeadTagLen;  // a keepalive
static_assert(kInitiationLen == 148);
static_assert(kResponseLen == 92);
static_assert(kCookieReplyLen == 64);
static_assert(kDataMinLen == 32);
// mac1 covers everything before it; mac2 everything before mac2.
inline constexpr std::size_t kInitiationMac1Offset = offsetof(MessageHandshakeInitiation, mac1);
inline constexpr std::size_t kResponseMac1Offset = offsetof(MessageHandshakeResponse, mac1);
static_assert(kInitiationMac1Offset == 116 && kResponseMac1Offset == 60);

// ---- Replay window (RFC 6479 style ring of 64-bit words) ----
inline constexpr std::size_t kCounterBitsTotal = 8192;
inline constexpr std::size_t kCounterWordBits = 64;
inline constexpr std::size_t kCounterWindowSize = kCounterBitsTotal - kCounterWordBits;

// ---- Message counts (paper 6.1, kernel messages.h) ----
inline constexpr std::uint64_t kRekeyAfterMessages = 1ULL << 60;
inline constexpr std::uint64_t kRejectAfterMessages =
    std::numeric_limits<std::uint64_t>::max() - kCounterWindowSize - 1;

// ---- Times (paper 6.1) ----
inline constexpr auto kRekeyAfterTime = 120s;
inline constexpr auto kRejectAfterTime = 180s;
inline constexpr auto kRekeyAttemptTime = 90s;
inline constexpr auto kRekeyTimeout = 5s;
inline constexpr auto kRekeyTimeoutJitterMax = 333ms;  // kernel: HZ / 3
inline constexpr auto kKeepaliveTimeout = 10s;
inline constexpr int kMaxTimerHandshakes = static_cast<int>(kRekeyAttemptTime / kRekeyTimeout);
// Session keys are erased when nothing new has happened for this long.
inline constexpr auto kZeroKeyMaterialAfter = 3 * kRejectAfterTime;

// ---- Cookies (paper 5.4.7) ----
inline constexpr auto kCookieSecretMaxAge = 120s;
inline constexpr auto kCookieSecretLatency = 5s;

// ---- Rate limits and queues (kernel) ----
inline constexpr unsigned kInitiationsPerSecond = 50;
inline constexpr unsigned kInitiationsBurstable = 5;
inline constexpr std::size_t kMaxStagedPackets = 128;
inline constexpr std::size_t kMaxQueuedPackets = 1024;
inline constexpr std::size_t kMaxQueuedIncomingHandshakes = 4096;
inline constexpr std::size_t kMaxPeersPerDevice = 1U << 20;

// ---- Little-endian access ----
inline std::uint32_t load_le32(const std::uint8_t* p) {
  return std::uint32_t(p[0]) | std::uint32_t(p[1]) << 8 | std::uint32_t(p[2]) << 16 |
         std::uint32_t(p[3]) << 24;
}
inline std::uint64_t load_le64(const std::uint8_t* p) {
  return std::uint64_t(load_le32(p)) | std::uint64_t(load_le32(p + 4)) << 32;
}
inline void store_le32(std::uint8_t* p, std::uint32_t v) {
  p[0] = std::uint8_t(v);
  p[1] = std::uint8_t(v >> 8);
  p[2] = std::uint8_t(v >> 16);
  p[3] = std::uint8_t(v >> 24);
}
inline void store_le64(std::uint8_t* p, std::uint64_t v) {
  store_le32(p, std::uint32_t(v));
  store_le32(p + 4, std::uint32_t(v >> 32));
}

// The type of a datagram, or kInvalid when its length does not match its type
// (exact lengths for handshake messages, >= 32 for data).
MessageType classify(const std::uint8_t* data, std::size_t len);

// Inner packets are padded to a multiple of 16, but never beyond the MTU.
inline std::size_t padded_length(std::size_t len, std::size_t mtu) {
  std::size_t padded = (len + kPaddingMultiple - 1) & ~(kPaddingMultiple - 1);
  if (mtu == 0 || len > mtu) return padded;
  return padded > mtu ? mtu : padded;
}

// ECN codepoints of the IP header's DS field (RFC 3168): its two low bits.
inline constexpr std::uint8_t kEcnNotEct = 0;
inline constexpr std::uint8_t kEcnEct1 = 1;
inline constexpr std::uint8_t kEcnEct0 = 2;
inline constexpr std::uint8_t kEcnCe = 3;
inline constexpr std::uint8_t kEcnMask = 3;

}  // namespace wgcore::proto
