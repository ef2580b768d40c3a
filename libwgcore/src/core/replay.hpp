// Receive-side replay protection for one keypair: an RFC 6479 ring of 64-bit words that accepts
// each nonce counter at most once, tolerating reordering within kCounterWindowSize. The rules
// are the Linux kernel's counter_validate() (drivers/net/wireguard/receive.c), bit for bit.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>

#include "core/messages.hpp"

namespace wgcore {

// Not thread-safe: the datapath validates a peer's packets in order under that peer's receive
// lock, after decryption succeeded (validating before authentication would let forged packets
// move the window).
class ReplayWindow {
 public:
  ReplayWindow() noexcept { reset(); }

  // True exactly once per counter that is below kRejectAfterMessages and not older than the
  // window (counter + kCounterWindowSize >= greatest()); it is then marked seen. On false
  // nothing changes.
  bool validate(std::uint64_t counter) noexcept;

  // Back to the fresh state: nothing seen.
  void reset() noexcept;

  // The greatest counter accepted so far; 0 when none was (see seen_any()).
  std::uint64_t greatest() const noexcept { return top_ == 0 ? 0 : top_ - 1; }
  bool seen_any() const noexcept { return top_ != 0; }

 private:
  static constexpr std::size_t kWordBits = proto::kCounterWordBits;
  static constexpr std::size_t kWords = proto::kCounterBitsTotal / kWordBits;
  static_assert(kWordBits == 64, "the ring is made of std::uint64_t words");
  static_assert((kWords & (kWords - 1)) == 0, "ring length must be a power of two");
  static_assert(proto::kCounterWindowSize == proto::kCounterBitsTotal - kWordBits,
                "one word of slack keeps the newest word from overwriting the window's oldest");

  // Like the kernel, positions are counter + 1, so top_ == 0 means "nothing seen" and counter 0
  // needs no special case. top_ is the greatest accepted position.
  std::uint64_t top_;
  std::array<std::uint64_t, kWords> ring_;
};

}  // namespace wgcore
