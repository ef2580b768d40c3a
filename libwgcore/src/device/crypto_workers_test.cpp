// The datapath's fork-join crypto threads: every job of a batch runs exactly once whatever the
// thread count, parallel sealing gives the bytes serial sealing gives, small batches stay on the
// caller's thread, and helpers start with load and leave when idle. Also part of the
// ThreadSanitizer run (scripts/lib.sh).
#include "device/crypto_workers.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <mutex>
#include <random>
#include <set>

#include "core/crypto/aead.hpp"

namespace wgcore {
namespace {

using namespace std::chrono_literals;

TEST(CryptoWorkers, SmallBatchRunsInlineOnTheCaller) {
  CryptoWorkers w(4);
  const auto me = std::this_thread::get_id();
  int calls = 0;
  std::size_t covered = 0;
  auto f = [&](std::size_t) {
    ++calls;
    ++covered;
    EXPECT_EQ(std::this_thread::get_id(), me);
  };
  // Below two threads' worth of bytes: one thread.
  w.for_each(10, 2 * CryptoWorkers::kBytesPerThread - 1, f);
  EXPECT_EQ(covered, 10u);
  EXPECT_EQ(w.parallel_batches(), 0u);
  EXPECT_EQ(w.live_helpers(), 0u);
  EXPECT_EQ(w.threads_for(0), 1u);
  EXPECT_EQ(w.threads_for(3 * CryptoWorkers::kBytesPerThread), 3u);
  EXPECT_EQ(w.threads_for(100 * CryptoWorkers::kBytesPerThread), 4u);  // capped
  EXPECT_EQ(CryptoWorkers(1).threads_for(100 * CryptoWorkers::kBytesPerThread), 1u);
}

TEST(CryptoWorkers, EveryJobRunsExactlyOnce) {
  std::mt19937 gen(7);
  for (unsigned threads : {1u, 2u, 3u, 4u, 8u}) {
    CryptoWorkers w(threads, 1);  // one byte per thread: every batch of two or more is parallel
    std::uint64_t multi = 0;
    for (int round = 0; round < 150; ++round) {
      std::size_t n = 1 + gen() % 600;
      multi += n > 1;
      std::vector<std::atomic<int>> hits(n);
      auto f = [&](std::size_t i) { hits[i].fetch_add(1, std::memory_order_relaxed); };
      w.for_each(n, n * 1400, f);
      for (std::size_t i = 0; i < n; ++i) ASSERT_EQ(hits[i].load(), 1) << "job " << i << " of " << n;
    }
    if (threads > 1) {
      EXPECT_EQ(w.parallel_batches(), multi);  // a one-job batch has nothing to share
      EXPECT_LE(w.live_helpers(), threads - 1);
    } else {
      EXPECT_EQ(w.parallel_batches(), 0u);
    }
  }
}

TEST(CryptoWorkers, HelpersReallyTakePart) {
  CryptoWorkers w(3, 1);
  std::mutex mu;
  std::set<std::thread::id> seen;
  std::atomic<int> started{0};
  auto f = [&](std::size_t) {
    {
      std::lock_guard lock(mu);
      seen.insert(std::this_thread::get_id());
    }
    // The first jobs wait (bounded) until another thread has started one, so a helper that wakes
    // late on a loaded machine still shows up; a batch never waits on a helper for correctness.
    started.fetch_add(1);
    for (int i = 0; i < 5000; ++i) {
      {
        std::lock_guard lock(mu);
        if (seen.size() >= 2) break;
      }
      std::this_thread::sleep_for(1ms);
    }
  };
  w.for_each(6, 6, f);
  EXPECT_GE(seen.size(), 2u);
  EXPECT_EQ(started.load(), 6);
}

TEST(CryptoWorkers, ParallelSealsEqualSerialSeals) {
  std::mt19937 gen(11);
  std::uint8_t key[32];
  for (auto& b : key) b = std::uint8_t(gen());
  constexpr std::size_t kN = 400;
  std::vector<std::vector<std::uint8_t>> serial(kN), parallel(kN);
  for (std::size_t i = 0; i < kN; ++i) {
    std::size_t len = 16 * (gen() % 90);
    serial[i].resize(len + crypto::kAeadTag);
    for (std::size_t j = 0; j < len; ++j) serial[i][j] = std::uint8_t(gen());
    parallel[i] = serial[i];
  }
  auto seal = [&](std::vector<std::uint8_t>& b, std::uint64_t counter) {
    std::span<std::uint8_t> all(b);
    crypto::aead_seal(all, all.first(all.size() - crypto::kAeadTag), counter, {},
                      std::span<const std::uint8_t, 32>(key));
  };
  for (std::size_t i = 0; i < kN; ++i) seal(serial[i], i);
  CryptoWorkers w(4, 1);
  auto f = [&](std::size_t i) { seal(parallel[i], i); };
  w.for_each(kN, kN * 700, f);
  for (std::size_t i = 0; i < kN; ++i) ASSERT_EQ(serial[i], parallel[i]) << i;
  EXPECT_EQ(w.parallel_batches(), 1u);
}

TEST(CryptoWorkers, HelpersFollowTheLoad) {
  CryptoWorkers w(3, 1, 50ms);
  std::atomic<std::size_t> sum{0};
  auto f = [&](std::size_t i) { sum.fetch_add(i); };
  w.for_each(100, 100, f);
  EXPECT_EQ(sum.load(), 4950u);
  EXPECT_EQ(w.live_helpers(), 2u);
  // A batch asking for two threads starts no third one.
  CryptoWorkers two(3, 64);
  two.for_each(100, 128, f);
  EXPECT_EQ(two.live_helpers(), 1u);
  // Idle helpers leave...
  for (int i = 0; i < 200 && w.live_helpers() > 0; ++i) std::this_thread::sleep_for(10ms);
  EXPECT_EQ(w.live_helpers(), 0u);
  // ...and come back with the next big batch.
  sum = 0;
  w.for_each(100, 100, f);
  EXPECT_EQ(sum.load(), 4950u);
  EXPECT_EQ(w.live_helpers(), 2u);
  EXPECT_EQ(w.parallel_batches(), 2u);
}

TEST(CryptoWorkers, EnvironmentCapsTheThreads) {
  ::setenv("WGCORE_CRYPTO_THREADS", "1", 1);
  EXPECT_EQ(crypto_threads_by_env(), 1u);
  ::setenv("WGCORE_CRYPTO_THREADS", "3", 1);
  EXPECT_EQ(crypto_threads_by_env(), 3u);
  ::setenv("WGCORE_CRYPTO_THREADS", "many", 1);
  EXPECT_EQ(crypto_threads_by_env(), 0u);  // not a number: the default
  ::unsetenv("WGCORE_CRYPTO_THREADS");
  EXPECT_EQ(crypto_threads_by_env(), 0u);
  EXPECT_GE(CryptoWorkers(0).max_threads(), 1u);
}

}  // namespace
}  // namespace wgcore
