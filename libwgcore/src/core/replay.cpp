// ReplayWindow: the kernel's counter_validate() rules over a ring of kCounterBitsTotal bits.
// Moving the top forward clears only the ring words it skips, so a jump costs at most one pass
// over the ring and in-order traffic touches one word.
#include "core/replay.hpp"

namespace wgcore {

void ReplayWindow::reset() noexcept {
  top_ = 0;
  ring_.fill(0);
}

bool ReplayWindow::validate(std::uint64_t counter) noexcept {
  // The first test cannot fire given the second (top_ <= counter + 1), but keeping it mirrors
  // the kernel and guards against a corrupted state.
  if (top_ >= proto::kRejectAfterMessages + 1 || counter >= proto::kRejectAfterMessages)
    return false;
  const std::uint64_t pos = counter + 1;  // no overflow: counter < kRejectAfterMessages
  if (proto::kCounterWindowSize + pos < top_) return false;  // older than the window

  const std::uint64_t word = pos / kWordBits;
  if (pos > top_) {
    // Clear every word between the old top's word (exclusive) and the new one (inclusive):
    // they hold bits of counters that left the window a full ring ago. More than a ring's
    // worth means all of them.
    const std::uint64_t current = top_ / kWordBits;
    std::uint64_t skip = word - current;
    if (skip > kWords) skip = kWords;
    for (std::uint64_t i = 1; i <= skip; ++i) ring_[(current + i) & (kWords - 1)] = 0;
    top_ = pos;
  }
  std::uint64_t& w = ring_[word & (kWords - 1)];
  const std::uint64_t bit = std::uint64_t(1) << (pos & (kWordBits - 1));
  if (w & bit) return false;
  w |= bit;
  return true;
}

}  // namespace wgcore
