// The production clock and CSPRNG behind the core's injected interfaces.
#include "core/environment.hpp"

#include <sys/random.h>

#include <cerrno>
#include <cstdlib>
#include <ctime>

namespace wgcore {
namespace {

std::chrono::nanoseconds read(clockid_t id) {
  timespec ts;
  clock_gettime(id, &ts);
  return std::chrono::seconds(ts.tv_sec) + std::chrono::nanoseconds(ts.tv_nsec);
}

class SystemClock final : public Clock {
 public:
  Time now() const override { return read(CLOCK_MONOTONIC); }
  WallTime wall_now() const override { return read(CLOCK_REALTIME); }
};

class SystemRandom final : public Random {
 public:
  void fill(std::span<std::uint8_t> out) override {
    std::size_t done = 0;
    while (done < out.size()) {
      ssize_t n = getrandom(out.data() + done, out.size() - done, 0);
      if (n < 0) {
        if (errno == EINTR) continue;
        std::abort();  // no entropy means no safe keys; never continue with predictable ones
      }
      done += std::size_t(n);
    }
  }
};

}  // namespace

Clock& system_clock() {
  static SystemClock c;
  return c;
}

Random& system_random() {
  static SystemRandom r;
  return r;
}

}  // namespace wgcore
