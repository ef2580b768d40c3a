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

TEST(OptionalIndex, ActsLikeOptional) {
  OptionalIndex i;
  EXPECT_FALSE(i);
  EXPECT_EQ(std::optional<std::uint32_t>(i), std::nullopt);
  i = 0u;  // zero is an index, not "none"
  ASSERT_TRUE(i);
  EXPECT_EQ(*i, 0u);
  i = 0xdeadbeefu;
  EXPECT_EQ(*i, 0xdeadbeefu);
  EXPECT_TRUE(i == OptionalIndex(0xdeadbeefu));
  EXPECT_FALSE(i == OptionalIndex());
  i.reset();
  EXPECT_FALSE(i.has_value());
  EXPECT_EQ(alignof(OptionalIndex), 1u);
  EXPECT_EQ(sizeof(OptionalIndex), 5u);
}

// The small members that live in the tail padding of the handshake and the cookie maker
// ([[no_unique_address]]) survive changes to those two, including a whole assignment of the
// cookie maker (which the fuzz harness does), and the peer stays at its size.
TEST(Peer, TailPackedMembersSurviveTheirNeighbours) {
  Key k;
  k[0] = 9;
  Peer p(1, k);
  p.sent_lastminute_handshake = true;
  p.handshake_index = 0x01020304u;
  p.persistent_keepalive_interval = 25;
  p.cookie.init(p.public_key());
  std::vector<std::uint8_t> msg(proto::kInitiationLen, 0x5a);
  p.cookie.add_macs(msg, Time(1s));
  CookieMaker other;
  p.cookie = other;
  p.cookie.init(p.public_key());
  p.handshake.begin_secrets();
  p.handshake.state = HandshakeState::kCreatedInitiation;
  p.handshake.static_static = StaticStatic::kReady;
  p.handshake.clear();
  EXPECT_TRUE(p.sent_lastminute_handshake);
  ASSERT_TRUE(p.handshake_index);
  EXPECT_EQ(*p.handshake_index, 0x01020304u);
  EXPECT_EQ(p.persistent_keepalive_interval, 25);
  EXPECT_LE(sizeof(Peer), 416u) << "a member no longer fits a neighbour's tail padding";
}

}  // namespace
}  // namespace wgcore
