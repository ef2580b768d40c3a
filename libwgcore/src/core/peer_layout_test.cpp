// The compact per-peer containers behave like what they replaced: DropCounters allocated on the
// first drop (also when threads race to make that first drop), OptionalTime like
// std::optional<Time>, StagedPackets like the vector of packets, oldest first.
#include <gtest/gtest.h>

#include <thread>
#include <vector>

#include "core/counters.hpp"
#include "core/optional_time.hpp"
#include "core/peer.hpp"

namespace wgcore {
namespace {

using namespace std::chrono_literals;

TEST(DropCounters, ZeroUntilTheFirstDropThenCounts) {
  DropCounters c;
  EXPECT_EQ(c.total(), 0u);
  EXPECT_EQ(c.get(DropReason::kReplay), 0u);
  c.add(DropReason::kReplay);
  c.add(DropReason::kReplay, 4);
  c.add(DropReason::kNoIdentity);
  EXPECT_EQ(c.get(DropReason::kReplay), 5u);
  EXPECT_EQ(c.get(DropReason::kNoIdentity), 1u);
  EXPECT_EQ(c.get(DropReason::kBadMac1), 0u);
  EXPECT_EQ(c.total(), 6u);
}

TEST(DropCounters, ConcurrentFirstDropsLoseNothing) {
  for (int round = 0; round < 20; ++round) {
    DropCounters c;
    constexpr int kThreads = 4, kAdds = 1000;
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
      threads.emplace_back([&c] {
        for (int i = 0; i < kAdds; ++i) c.add(DropReason::kDecryptFailed);
      });
    }
    for (auto& t : threads) t.join();
    ASSERT_EQ(c.get(DropReason::kDecryptFailed), std::uint64_t(kThreads * kAdds));
  }
}

TEST(OptionalTime, ActsLikeOptional) {
  OptionalTime t;
  EXPECT_FALSE(t);
  EXPECT_EQ(std::optional<Time>(t), std::nullopt);
  t = Time(0);  // zero is a time, not "none"
  ASSERT_TRUE(t);
  EXPECT_EQ(*t, Time(0));
  t = std::optional<Time>(5s);
  EXPECT_TRUE(t == Time(5s));
  t = std::optional<Time>();
  EXPECT_FALSE(t.has_value());
  t = Time(-3s);
  EXPECT_EQ(std::optional<Time>(t), std::optional<Time>(-3s));
  t.reset();
  EXPECT_FALSE(t);
  EXPECT_EQ(sizeof(OptionalTime), sizeof(Time));
}

TEST(StagedPackets, QueueOldestFirstAndFreedWhenDrained) {
  StagedPackets q;
  EXPECT_TRUE(q.empty());
  EXPECT_EQ(q.size(), 0u);
  for (std::uint8_t i = 0; i < 4; ++i) q.emplace_back(std::size_t(1), i);
  q.emplace_back();  // a keepalive: empty payload
  ASSERT_EQ(q.size(), 5u);
  q.erase_front(1);
  EXPECT_EQ(q[0], std::vector<std::uint8_t>{1});
  q.erase_front(0);
  EXPECT_EQ(q.size(), 4u);
  q.erase_front(3);
  ASSERT_EQ(q.size(), 1u);
  EXPECT_TRUE(q[0].empty());
  q.erase_front(1);
  EXPECT_TRUE(q.empty());
  q.emplace_back(std::size_t(2), std::uint8_t(7));
  q.clear();
  EXPECT_TRUE(q.empty());
}

TEST(Peer, PublicKeyIsTheHandshakesRemoteStatic) {
  Key k;
  k[0] = 1;
  k[31] = 2;
  Peer p(7, k);
  EXPECT_TRUE(p.public_key() == k);
  p.handshake.clear();  // forgets the session, never the peer's identity
  EXPECT_TRUE(p.public_key() == k);
  EXPECT_EQ(p.id(), 7u);
}

}  // namespace
}  // namespace wgcore
