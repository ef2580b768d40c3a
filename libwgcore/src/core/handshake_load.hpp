// "Under load": when handshakes arrive faster than they should be answered without a proof of
// the sender's address, the engine answers initiations and responses without a valid mac2 with a
// cookie reply and rate-limits the rest per source (Engine::receive's under_load). Who measures
// the load depends on who holds the handshakes: the Device queues them, and is over when its
// queue is deep (the kernel's and wireguard-go's rule); a Tunnel handles each one inline as the
// application hands it in, and is over when more than a given number arrived in one second.
// Either way the state holds for a second after the last time it was over (LoadLatch), as the
// kernel's does, so a flood cannot time its messages to the edge.
#pragma once

#include <chrono>
#include <cstdint>

#include "core/environment.hpp"
#include "core/optional_time.hpp"

namespace wgcore {

class LoadLatch {
 public:
  static constexpr std::chrono::seconds kHold{1};
  // `over`: the measure says load now. Returns whether cookies are required at `now`.
  bool update(bool over, Time now) {
    if (over) last_over_ = now;
    return last_over_ && now - *last_over_ < kHold;
  }

 private:
  OptionalTime last_over_;
};

class HandshakeRate {
 public:
  static constexpr std::uint32_t kDefaultPerSecond = 1000;
  // 0 means kDefaultPerSecond.
  explicit HandshakeRate(std::uint32_t per_second) : limit_(per_second ? per_second : kDefaultPerSecond) {}
  // One handshake message arrived at `now`: whether cookies are required for it. Counted in
  // one-second windows (the first message after a window opens the next one).
  bool arrived(Time now) {
    if (!window_ || now - *window_ >= std::chrono::seconds(1)) {
      window_ = now;
      count_ = 0;
    }
    ++count_;
    return latch_.update(count_ > limit_, now);
  }
  std::uint32_t limit() const { return limit_; }

 private:
  std::uint32_t limit_;
  std::uint32_t count_ = 0;
  OptionalTime window_;
  LoadLatch latch_;
};

}  // namespace wgcore
