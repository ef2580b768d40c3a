// The load measures of core/handshake_load.hpp against a slow reference: the Tunnel's rate in
// one-second windows and the one-second hold after the last time it was over.
#include "core/handshake_load.hpp"

#include <gtest/gtest.h>

#include <random>
#include <vector>

namespace wgcore {
namespace {

using namespace std::chrono_literals;

TEST(HandshakeLoad, LatchHoldsOneSecondAfterTheLastOver) {
  LoadLatch l;
  EXPECT_FALSE(l.update(false, Time(10s)));
  EXPECT_TRUE(l.update(true, Time(10s)));
  EXPECT_TRUE(l.update(false, Time(10s + 999ms)));
  EXPECT_FALSE(l.update(false, Time(11s)));
  EXPECT_TRUE(l.update(true, Time(12s)));
  EXPECT_TRUE(l.update(false, Time(12s + 500ms)));
}

TEST(HandshakeLoad, ZeroMeansTheDefault) { EXPECT_EQ(HandshakeRate(0).limit(), HandshakeRate::kDefaultPerSecond); }

// Random arrival times against a reference that keeps every arrival and recomputes the rule.
TEST(HandshakeLoad, RateMatchesTheReference) {
  std::mt19937 rng(7);
  for (int round = 0; round < 50; ++round) {
    const std::uint32_t limit = 1 + rng() % 8;
    HandshakeRate rate(limit);
    Time now(5s);
    Time window_start = now;
    std::uint32_t in_window = 0;
    bool have_window = false;
    std::optional<Time> last_over;
    for (int i = 0; i < 400; ++i) {
      now += std::chrono::milliseconds(rng() % 400);
      if (!have_window || now - window_start >= 1s) {
        window_start = now;
        in_window = 0;
        have_window = true;
      }
      ++in_window;
      if (in_window > limit) last_over = now;
      const bool want = last_over && now - *last_over < 1s;
      ASSERT_EQ(rate.arrived(now), want) << "round " << round << " arrival " << i;
    }
  }
}

}  // namespace
}  // namespace wgcore
