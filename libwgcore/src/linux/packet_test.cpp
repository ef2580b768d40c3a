// Tests for the packet pool and buffers: exhaustion, reuse, bounds of the in-place header and
// tag operations, double-put detection, and a randomized run against a set-based reference.
#include "linux/packet.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <cstring>
#include <random>
#include <set>
#include <thread>
#include <vector>

namespace wgcore::io {
namespace {

TEST(PacketPool, HandsOutEveryBufferOnceThenRunsDry) {
  PacketPool pool(8);
  EXPECT_EQ(pool.count(), 8u);
  EXPECT_EQ(pool.available(), 8u);
  std::set<Packet*> seen;
  for (int i = 0; i < 8; ++i) {
    Packet* p = pool.get();
    ASSERT_NE(p, nullptr);
    EXPECT_TRUE(seen.insert(p).second) << "same packet handed out twice";
    EXPECT_TRUE(pool.owns(p));
  }
  EXPECT_EQ(pool.available(), 0u);
  EXPECT_EQ(pool.get(), nullptr);
  Packet* back = *seen.begin();
  pool.put(back);
  EXPECT_EQ(pool.available(), 1u);
  EXPECT_EQ(pool.get(), back);  // LIFO: the warm buffer comes back first
  for (Packet* p : seen) pool.put(p);
  EXPECT_EQ(pool.available(), 8u);
}

TEST(PacketPool, BatchGetIsCappedByAvailability) {
  PacketPool pool(5);
  PacketBatch b;
  b.resize(pool.get(b.slots()));
  EXPECT_EQ(b.size(), 5u);
  EXPECT_EQ(pool.available(), 0u);
  Packet* more[3] = {};
  EXPECT_EQ(pool.get(std::span<Packet*>(more)), 0u);
  pool.put(b.span().first(2));
  EXPECT_EQ(pool.get(std::span<Packet*>(more)), 2u);
  EXPECT_EQ(more[2], nullptr);
  pool.put(std::span<Packet* const>(more, 2));
  pool.put(b.span().subspan(2));
  EXPECT_EQ(pool.available(), 5u);
}

TEST(PacketPool, BuffersAreAlignedSizedAndDisjoint) {
  constexpr std::size_t kPayload = 1500;
  PacketPool pool(16, kPayload);
  PacketBatch b;
  b.resize(pool.get(b.slots()));
  ASSERT_EQ(b.size(), 16u);
  // Fill each buffer completely (headroom to the end of tailroom) with its own byte, then
  // check no other fill overwrote it.
  for (std::size_t i = 0; i < b.size(); ++i) {
    Packet* p = b[i];
    EXPECT_EQ(reinterpret_cast<std::uintptr_t>(p->data()) % kBufferAlign, 0u);
    EXPECT_EQ(p->headroom(), kHeadroom);
    EXPECT_GE(p->room(), kPayload);
    ASSERT_NE(p->push_front(kHeadroom), nullptr);
    ASSERT_NE(p->put_back(p->tailroom()), nullptr);
    EXPECT_GE(p->len(), kHeadroom + kPayload + kTailroom);
    std::memset(p->data(), int(i + 1), p->len());
  }
  for (std::size_t i = 0; i < b.size(); ++i)
    for (std::uint8_t byte : b[i]->bytes()) ASSERT_EQ(byte, i + 1);
  pool.put(b.span());
}

TEST(Packet, InPlaceEncapsulationFitsAMaximalPayload) {
  PacketPool pool(1, 1420);
  Packet* p = pool.get();
  // A TUN read of the largest payload a reader may place...
  ASSERT_TRUE(p->set_len(p->room()));
  std::size_t plain = p->len();
  // ...gets padded to 16, a 16-byte data header in front and a 16-byte tag behind, in place.
  std::size_t pad = (16 - plain % 16) % 16;
  EXPECT_NE(p->put_back(pad + proto::kAeadTagLen), nullptr);
  EXPECT_NE(p->push_front(proto::kDataHeaderLen), nullptr);
  EXPECT_EQ(p->len(), proto::kDataHeaderLen + plain + pad + proto::kAeadTagLen);
  // A vnet header still fits in front of that.
  EXPECT_NE(p->push_front(kVnetHdrLen), nullptr);
  pool.put(p);
}

TEST(Packet, BoundsAreEnforced) {
  PacketPool pool(1, 100);
  Packet* p = pool.get();
  ASSERT_TRUE(p->set_len(10));
  std::uint8_t* d = p->data();
  EXPECT_EQ(p->pull_front(11), nullptr);
  EXPECT_EQ(p->len(), 10u);
  EXPECT_EQ(p->pull_front(4), d + 4);
  EXPECT_EQ(p->len(), 6u);
  EXPECT_EQ(p->push_front(4), d);
  EXPECT_EQ(p->push_front(kHeadroom + 1), nullptr);
  EXPECT_EQ(p->data(), d);
  std::size_t tail = p->tailroom();
  EXPECT_EQ(p->put_back(tail + 1), nullptr);
  EXPECT_EQ(p->put_back(tail), d + 10);
  EXPECT_EQ(p->tailroom(), 0u);
  EXPECT_FALSE(p->set_len(p->len() + 1));
  EXPECT_TRUE(p->set_len(0));
  pool.put(p);
}

TEST(Packet, GetResetsWindowAndMetadata) {
  PacketPool pool(1);
  Packet* p = pool.get();
  p->set_len(100);
  p->pull_front(20);
  p->remote = *Endpoint::parse("192.0.2.1:51820");
  p->local = LocalAddr::of(*IpAddr::parse("198.51.100.1"), 3);
  p->user = p;
  p->state = 7;
  p->error = EINVAL;
  p->source_cleared = true;
  pool.put(p);
  Packet* q = pool.get();
  ASSERT_EQ(q, p);
  EXPECT_EQ(q->headroom(), kHeadroom);
  EXPECT_EQ(q->len(), 0u);
  EXPECT_FALSE(q->remote.valid());
  EXPECT_FALSE(q->local.set);
  EXPECT_EQ(q->user, nullptr);
  EXPECT_EQ(q->state, 0u);
  EXPECT_EQ(q->error, 0);
  EXPECT_FALSE(q->source_cleared);
  pool.put(q);
}

TEST(PacketPoolDeathTest, DoublePutAborts) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  PacketPool pool(2);
  Packet* p = pool.get();
  pool.put(p);
  EXPECT_DEATH(pool.put(p), "already in the pool");
}

TEST(PacketPoolDeathTest, ForeignPacketAborts) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  PacketPool a(1), b(1);
  Packet* p = a.get();
  EXPECT_DEATH(b.put(p), "from another pool");
  a.put(p);
}

// Random single and batch gets/puts against a reference set of what is checked out.
TEST(PacketPool, RandomizedAgainstReference) {
  constexpr std::size_t kCount = 64;
  PacketPool pool(kCount);
  std::mt19937 rng(12345);
  std::vector<Packet*> out;  // reference: exactly the checked-out packets
  std::set<Packet*> out_set;
  for (int step = 0; step < 20000; ++step) {
    int op = rng() % 4;
    if (op == 0) {
      Packet* p = pool.get();
      if (out.size() == kCount) {
        EXPECT_EQ(p, nullptr);
      } else {
        ASSERT_NE(p, nullptr);
        ASSERT_TRUE(out_set.insert(p).second);
        out.push_back(p);
      }
    } else if (op == 1) {
      Packet* got[kMaxBatch];
      std::size_t want = rng() % 20;
      std::size_t n = pool.get(std::span<Packet*>(got, want));
      ASSERT_EQ(n, std::min(want, kCount - out.size()));
      for (std::size_t i = 0; i < n; ++i) {
        ASSERT_TRUE(out_set.insert(got[i]).second);
        out.push_back(got[i]);
      }
    } else if (!out.empty()) {
      std::size_t n = op == 2 ? 1 : 1 + rng() % out.size();
      std::shuffle(out.begin(), out.end(), rng);
      std::span<Packet* const> give(out.data() + out.size() - n, n);
      if (n == 1) pool.put(give[0]); else pool.put(give);
      for (Packet* p : give) out_set.erase(p);
      out.resize(out.size() - n);
    }
    ASSERT_EQ(pool.available(), kCount - out.size());
  }
}

TEST(PacketPool, ConcurrentGetPutNeverSharesAPacket) {
  constexpr std::size_t kCount = 32;
  PacketPool pool(kCount);
  std::atomic<bool> bad{false};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      std::mt19937 rng(t);
      Packet* mine[8];
      for (int i = 0; i < 20000; ++i) {
        std::size_t n = pool.get(std::span<Packet*>(mine, 1 + rng() % 8));
        for (std::size_t k = 0; k < n; ++k) mine[k]->state = std::uint32_t(t + 1);
        std::this_thread::yield();  // give a wrongly shared packet time to be overwritten
        for (std::size_t k = 0; k < n; ++k)
          if (mine[k]->state != std::uint32_t(t + 1)) bad = true;
        pool.put(std::span<Packet* const>(mine, n));
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_FALSE(bad.load());
  EXPECT_EQ(pool.available(), kCount);
}

TEST(PacketBatch, FixedCapacitySpan) {
  PacketPool pool(1);
  Packet* p = pool.get();
  PacketBatch b;
  EXPECT_TRUE(b.empty());
  for (std::size_t i = 0; i < PacketBatch::kCapacity; ++i) ASSERT_TRUE(b.push_back(p));
  EXPECT_TRUE(b.full());
  EXPECT_FALSE(b.push_back(p));
  EXPECT_EQ(b.span().size(), PacketBatch::kCapacity);
  b.resize(1000);
  EXPECT_EQ(b.size(), PacketBatch::kCapacity);
  b.resize(3);
  EXPECT_EQ(b.span().size(), 3u);
  EXPECT_EQ(b.slots().size(), PacketBatch::kCapacity);
  std::size_t n = 0;
  for (Packet* q : b) n += q == p;
  EXPECT_EQ(n, 3u);
  b.clear();
  EXPECT_TRUE(b.empty());
  pool.put(p);
}

}  // namespace
}  // namespace wgcore::io
