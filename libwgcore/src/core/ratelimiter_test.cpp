// The handshake rate limiter: burst, steady rate, per-source independence, IPv6 /64 grouping,
// forgetting idle sources, and the bounded table.
#include "core/ratelimiter.hpp"

#include <gtest/gtest.h>

namespace wgcore {
namespace {

using namespace std::chrono_literals;

IpAddr ip(const char* s) { return *IpAddr::parse(s); }

TEST(RateLimiter, BurstOfFiveThenTwentyPerSecond) {
  RateLimiter rl;
  Time t{1s};
  int ok = 0;
  for (int i = 0; i < 10; ++i) ok += rl.allow(ip("192.0.2.1"), t);
  EXPECT_EQ(ok, 5);
  // Over the next second, one packet per 50 ms is allowed.
  ok = 0;
  for (int i = 1; i <= 100; ++i) ok += rl.allow(ip("192.0.2.1"), t + i * 10ms);
  EXPECT_EQ(ok, 20);
}

TEST(RateLimiter, SourcesAreIndependent) {
  RateLimiter rl;
  Time t{1s};
  for (int i = 0; i < 5; ++i) EXPECT_TRUE(rl.allow(ip("192.0.2.1"), t));
  EXPECT_FALSE(rl.allow(ip("192.0.2.1"), t));
  EXPECT_TRUE(rl.allow(ip("192.0.2.2"), t));
}

TEST(RateLimiter, Ipv6SourcesGroupedBySlash64) {
  RateLimiter rl;
  Time t{1s};
  for (int i = 0; i < 5; ++i) EXPECT_TRUE(rl.allow(ip("2001:db8:1:2::1"), t));
  EXPECT_FALSE(rl.allow(ip("2001:db8:1:2:ffff::9"), t));  // same /64
  EXPECT_TRUE(rl.allow(ip("2001:db8:1:3::1"), t));       // other /64
}

TEST(RateLimiter, IdleSourcesAreForgottenAndRefilled) {
  RateLimiter rl;
  Time t{1s};
  for (int i = 0; i < 5; ++i) rl.allow(ip("192.0.2.1"), t);
  EXPECT_EQ(rl.size(), 1u);
  rl.allow(ip("192.0.2.9"), t + 2s);  // triggers collection
  EXPECT_EQ(rl.size(), 1u);
  for (int i = 0; i < 5; ++i) EXPECT_TRUE(rl.allow(ip("192.0.2.1"), t + 2s));
}

TEST(RateLimiter, TableIsBounded) {
  RateLimiter rl;
  Time t{1s};
  for (std::uint32_t i = 0; i < RateLimiter::kMaxEntries; ++i) ASSERT_TRUE(rl.allow(IpAddr::v4(0x0a000000 + i), t));
  EXPECT_FALSE(rl.allow(ip("192.0.2.1"), t));
  EXPECT_EQ(rl.size(), RateLimiter::kMaxEntries);
}

}  // namespace
}  // namespace wgcore
