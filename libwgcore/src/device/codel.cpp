// CoDel's state machine (RFC 8289, section 5), one decision per dequeued packet.
#include "device/codel.hpp"

#include <cmath>
#include <cstring>

#include "linux/vnet.hpp"

namespace wgcore {

Time CoDel::control_law(Time t) const {
  return t + std::chrono::nanoseconds(
                 std::int64_t(double(interval_.count()) / std::sqrt(double(count_))));
}

bool CoDel::on_dequeue(Time now, std::chrono::nanoseconds sojourn, std::size_t backlog) {
  // dodequeue: the queue is fine while packets leave it within target, or while it is (about)
  // empty behind them; once neither holds, it must stay that way for a whole interval before
  // anything may be dropped.
  bool ok_to_drop = false;
  if (sojourn < target_ || backlog <= kMaxPacket) {
    first_above_ = Time{0};
  } else if (first_above_ == Time{0}) {
    first_above_ = now + interval_;
  } else if (now >= first_above_) {
    ok_to_drop = true;
  }

  if (dropping_) {
    if (!ok_to_drop) {
      dropping_ = false;  // the queue went below target: leave the dropping state
      return false;
    }
    if (now < drop_next_) return false;
    ++count_;
    drop_next_ = control_law(drop_next_);
    return true;
  }
  if (!ok_to_drop) return false;
  dropping_ = true;
  // Re-entering soon after the last dropping state: resume near the drop rate that state had
  // reached instead of starting over, since the queue evidently came back.
  const std::uint32_t delta = count_ - last_count_;
  count_ = delta > 1 && now - drop_next_ < 16 * interval_ ? delta : 1;
  drop_next_ = control_law(now);
  last_count_ = count_;
  return true;
}

bool mark_ce(std::span<std::uint8_t> ip) {
  constexpr std::uint8_t kEcnMask = 0x03, kCe = 0x03;
  if (ip.size() >= 20 && (ip[0] >> 4) == 4) {
    const std::size_t ihl = std::size_t(ip[0] & 0x0f) * 4;
    if ((ip[1] & kEcnMask) == 0 || ihl < 20 || ihl > ip.size()) return false;
    if ((ip[1] & kEcnMask) == kCe) return true;
    ip[1] |= kCe;
    // Marks are rare (CoDel's drop rate), so the header checksum is simply recomputed.
    ip[10] = ip[11] = 0;
    const std::uint16_t c = io::fold_csum(io::csum_add(0, ip.data(), ihl));
    std::memcpy(&ip[10], &c, 2);  // stored as fold_csum returns it, like vnet.cpp's st_csum
    return true;
  }
  if (ip.size() >= 40 && (ip[0] >> 4) == 6) {
    // Traffic class spans the low nibble of byte 0 and the high nibble of byte 1; ECN is its
    // low two bits, bits 4-5 of byte 1. IPv6 has no header checksum.
    const std::uint8_t ecn = (ip[1] >> 4) & kEcnMask;
    if (ecn == 0) return false;
    ip[1] |= std::uint8_t(kCe << 4);
    return true;
  }
  return false;
}

}  // namespace wgcore
