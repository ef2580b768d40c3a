// Why a packet was dropped. Every drop in the core and the datapath is counted per device and per
// peer under one of these reasons, so `wgcore show --json` can say what went wrong.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>

namespace wgcore {

enum class DropReason : std::uint8_t {
  kInvalidSize,            // wrong length for its type, or unknown type
  kBadMac1,                // handshake without a valid mac1 (not for us, or forged)
  kCookieRequired,         // under load, handshake without a valid mac2: answered with a cookie
  kRateLimited,            // under load, source over the per-source handshake rate
  kHandshakeInvalid,       // initiation/response that failed to decrypt or verify
  kHandshakeReplay,        // initiation with a TAI64N not newer than the last one
  kHandshakeFlood,         // initiations from one peer faster than 50/s
  kUnknownPeer,            // initiation from a static key we do not know
  kUnknownReceiverIndex,   // response, cookie reply or data for an index we did not issue
  kBadCookieReply,         // cookie reply that failed to decrypt
  kNoKeypair,              // data for a keypair that expired or can no longer receive
  kDecryptFailed,          // data whose AEAD tag did not verify
  kReplay,                 // data counter already seen or too old
  kAllowedIpsMismatch,     // decrypted packet whose source is not in the sender's AllowedIPs
  kInvalidInnerPacket,     // decrypted payload that is not a well-formed IPv4/IPv6 packet
  kNoRoute,                // outbound packet whose destination is in no peer's AllowedIPs
  kNoEndpoint,             // outbound packet for a peer with no known endpoint
  kStagedOverflow,         // outbound packet dropped because too many wait for a handshake
  kTunWriteFailed,         // the TUN device refused a decrypted packet
  kSendFailed,             // the UDP socket refused a datagram
  kNoIdentity,             // handshake arrived while the device has no private key
  kQueueDelay,             // decrypted packet dropped by the receive queue's AQM (device/codel.hpp)
  kAdmissionRefused,       // valid initiation from an unknown key that the application did not admit
  kEcnCeNotEct,            // data marked CE on the outer header for an inner packet that is not ECT (RFC 6040)
};
inline constexpr std::size_t kDropReasons = 24;
const char* to_string(DropReason r);  // snake_case, stable: used as JSON keys

// Counters for every reason, allocated on the first drop: most peers never drop anything, and
// 23 counters inline would be a sixth of an idle peer's memory (docs/performance-microbench.md).
// add() may run on several datapath threads at once; the first ones race to install the block
// and the losers free theirs.
class DropCounters {
 public:
  DropCounters() = default;
  DropCounters(const DropCounters&) = delete;
  DropCounters& operator=(const DropCounters&) = delete;
  ~DropCounters() { delete block_.load(std::memory_order_relaxed); }

  void add(DropReason r, std::uint64_t n = 1) noexcept {
    Block* b = block_.load(std::memory_order_acquire);
    if (b == nullptr) b = install();
    b->c[static_cast<std::size_t>(r)].fetch_add(n, std::memory_order_relaxed);
  }
  std::uint64_t get(DropReason r) const noexcept {
    const Block* b = block_.load(std::memory_order_acquire);
    return b ? b->c[static_cast<std::size_t>(r)].load(std::memory_order_relaxed) : 0;
  }
  std::uint64_t total() const noexcept {
    const Block* b = block_.load(std::memory_order_acquire);
    if (b == nullptr) return 0;
    std::uint64_t t = 0;
    for (const auto& c : b->c) t += c.load(std::memory_order_relaxed);
    return t;
  }

 private:
  struct Block {
    std::array<std::atomic<std::uint64_t>, kDropReasons> c{};
  };
  Block* install() noexcept;

  std::atomic<Block*> block_{nullptr};
};

}  // namespace wgcore
