// Fork-join helper threads for the datapath's AEAD work. The loop thread hands run() a batch of
// independent jobs (one packet each); run() spreads contiguous ranges of them over the calling
// thread and up to max_threads - 1 helpers and returns when every job is done. Ordering stays
// with the caller: it runs the batch between two serial phases (counters and keys chosen before,
// replay windows, timers and sends after), so every peer's packets leave and arrive in batch
// order whichever thread sealed or opened them, the way the kernel's parallel crypto queues
// hand back to a per-peer serial queue.
//
// The thread count follows the load: a batch too small to repay a wake-up runs inline, a batch
// of B bytes uses about B / kBytesPerThread threads, helpers start on the first batch that needs
// them and exit after kIdleExit without work.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdlib>
#include <cstdint>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

namespace wgcore {

// WGCORE_CRYPTO_THREADS=N caps the threads (the loop's own included) that seal and open
// packets; 1 keeps all crypto on the loop thread. Unset or 0: one per usable CPU.
inline unsigned crypto_threads_by_env() {
  const char* v = std::getenv("WGCORE_CRYPTO_THREADS");
  if (!v || !*v) return 0;
  char* end = nullptr;
  unsigned long n = std::strtoul(v, &end, 10);
  return *end == '\0' && n <= 256 ? unsigned(n) : 0;
}

class CryptoWorkers {
 public:
  // Crypto bytes per thread before another one helps: ChaCha20-Poly1305 does about 2 GB/s on one
  // core here, so 32 KiB is about 16 µs of work, several times a futex wake-up.
  static constexpr std::size_t kBytesPerThread = 32 * 1024;
  static constexpr std::chrono::milliseconds kIdleExit{2000};

  using Fn = void (*)(void* ctx, std::size_t begin, std::size_t end);

  // max_threads counts the caller: 1 runs every batch inline; 0 means one per CPU this process
  // may run on (sched_getaffinity). Tests lower the other two to make every batch parallel and
  // helpers come and go quickly.
  explicit CryptoWorkers(unsigned max_threads = 0, std::size_t bytes_per_thread = kBytesPerThread,
                         std::chrono::milliseconds idle_exit = kIdleExit);
  ~CryptoWorkers();
  CryptoWorkers(const CryptoWorkers&) = delete;
  CryptoWorkers& operator=(const CryptoWorkers&) = delete;

  // Runs fn(ctx, b, e) over disjoint ranges covering [0, n); `bytes` is the batch's crypto work
  // and decides how many threads take part. Called from one thread at a time.
  void run(std::size_t n, std::size_t bytes, Fn fn, void* ctx);

  // Typed convenience: f(i) for each i in [0, n).
  template <class F>
  void for_each(std::size_t n, std::size_t bytes, F& f) {
    run(n, bytes, [](void* c, std::size_t b, std::size_t e) {
      for (std::size_t i = b; i < e; ++i) (*static_cast<F*>(c))(i);
    }, &f);
  }

  // Keys were erased (crypto::key_epoch() moved): idle helpers wake and wipe the keys their
  // crypto contexts still hold (core/crypto/key_cache.hpp), then sleep on. The caller's thread
  // wiped its own already. Cheap when nothing changed: the owner calls it after every turn.
  void wipe_stale_keys();

  unsigned max_threads() const { return max_threads_; }
  // Threads a batch of `bytes` would use (the caller included).
  unsigned threads_for(std::size_t bytes) const;
  // For tests and statistics: helper threads alive now, batches that ran on more than one thread.
  unsigned live_helpers() const;
  std::uint64_t parallel_batches() const { return parallel_batches_; }

 private:
  struct Helper {
    std::thread thread;
    bool exited = false;  // guarded by mu_; the thread is joinable until reaped
  };
  void helper_main(Helper* self, std::uint64_t seen);
  void ensure_helpers(unsigned n);
  void work();  // claims and runs chunks of the current batch until none is left

  unsigned max_threads_;
  std::size_t bytes_per_thread_;
  std::chrono::milliseconds idle_exit_;
  std::uint64_t parallel_batches_ = 0;  // caller's thread only
  std::uint64_t told_epoch_ = 0;        // caller's thread only: the last epoch wipe_stale_keys saw

  mutable std::mutex mu_;
  std::condition_variable wake_;  // helpers: a batch has seats, or stop
  std::condition_variable idle_;  // caller: the last seated helper left
  std::vector<std::unique_ptr<Helper>> helpers_;
  std::uint64_t generation_ = 0;  // bumped for each parallel batch
  std::uint64_t wipe_epoch_ = 0;  // the key epoch helpers were last told to wipe for
  unsigned seats_ = 0;            // helpers still wanted in the current batch
  unsigned seated_ = 0;           // helpers working on the current batch
  unsigned alive_ = 0;
  bool stopping_ = false;

  // The current batch: written by the caller under mu_ before seats open, read by seated helpers.
  Fn fn_ = nullptr;
  void* ctx_ = nullptr;
  std::size_t n_ = 0;
  std::size_t chunk_ = 0;
  std::size_t chunks_ = 0;
  std::atomic<std::size_t> next_{0};
};

}  // namespace wgcore
