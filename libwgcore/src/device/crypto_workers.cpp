#include "device/crypto_workers.hpp"

#include "core/crypto/key_cache.hpp"

#include <sched.h>

#include <algorithm>

namespace wgcore {
namespace {

unsigned usable_cpus() {
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof(set), &set) == 0) return unsigned(std::max(1, CPU_COUNT(&set)));
  return std::max(1u, std::thread::hardware_concurrency());
}

}  // namespace

CryptoWorkers::CryptoWorkers(unsigned max_threads, std::size_t bytes_per_thread,
                             std::chrono::milliseconds idle_exit)
    : max_threads_(max_threads ? max_threads : usable_cpus()),
      bytes_per_thread_(std::max<std::size_t>(1, bytes_per_thread)),
      idle_exit_(idle_exit) {}

CryptoWorkers::~CryptoWorkers() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  wake_.notify_all();
  for (auto& h : helpers_)
    if (h->thread.joinable()) h->thread.join();
}

unsigned CryptoWorkers::threads_for(std::size_t bytes) const {
  std::size_t want = bytes / bytes_per_thread_;
  return unsigned(std::clamp<std::size_t>(want, 1, max_threads_));
}

unsigned CryptoWorkers::live_helpers() const {
  std::lock_guard lock(mu_);
  return alive_;
}

void CryptoWorkers::ensure_helpers(unsigned n) {
  std::lock_guard lock(mu_);
  // Reap helpers that idled out, then start new ones until n are alive.
  for (auto& h : helpers_) {
    if (h->exited && h->thread.joinable()) h->thread.join();
  }
  std::erase_if(helpers_, [](const auto& h) { return h->exited; });
  while (alive_ < n) {
    auto h = std::make_unique<Helper>();
    Helper* raw = h.get();
    // It joins from the next batch on, the one this call is preparing included, even if the
    // thread only gets going after that batch was announced.
    h->thread = std::thread([this, raw, since = generation_] { helper_main(raw, since); });
    helpers_.push_back(std::move(h));
    ++alive_;
  }
}

void CryptoWorkers::work() {
  for (;;) {
    std::size_t c = next_.fetch_add(1, std::memory_order_relaxed);
    if (c >= chunks_) return;
    std::size_t b = c * chunk_;
    fn_(ctx_, b, std::min(n_, b + chunk_));
  }
}

void CryptoWorkers::helper_main(Helper* self, std::uint64_t seen) {
  std::unique_lock lock(mu_);
  std::uint64_t wiped = wipe_epoch_;
  for (;;) {
    bool woke = wake_.wait_for(lock, idle_exit_, [&] {
      return stopping_ || (generation_ != seen && seats_ > 0) || wipe_epoch_ != wiped;
    });
    if (stopping_) break;
    if (woke && wipe_epoch_ != wiped && !(generation_ != seen && seats_ > 0)) {
      wiped = wipe_epoch_;
      lock.unlock();
      crypto::wipe_if_stale();
      lock.lock();
      continue;
    }
    wiped = wipe_epoch_;
    if (!woke) {
      // An idle helper leaves; the next big batch starts another.
      break;
    }
    seen = generation_;
    --seats_;
    ++seated_;
    lock.unlock();
    work();
    lock.lock();
    if (--seated_ == 0) idle_.notify_one();
  }
  --alive_;
  self->exited = true;
}

void CryptoWorkers::wipe_stale_keys() {
  const std::uint64_t epoch = crypto::key_epoch();
  if (epoch == told_epoch_) return;  // the common case: no lock
  told_epoch_ = epoch;
  {
    std::lock_guard lock(mu_);
    wipe_epoch_ = epoch;
    if (alive_ == 0) return;
  }
  wake_.notify_all();
}

void CryptoWorkers::run(std::size_t n, std::size_t bytes, Fn fn, void* ctx) {
  if (n == 0) return;
  unsigned threads = std::min<std::size_t>(threads_for(bytes), n);
  if (threads <= 1) {
    fn(ctx, 0, n);
    return;
  }
  ensure_helpers(threads - 1);
  {
    std::lock_guard lock(mu_);
    fn_ = fn;
    ctx_ = ctx;
    n_ = n;
    // Two chunks per thread: contiguous ranges (a flow's packets stay together, in cache) with
    // some room to even out a helper that wakes late.
    chunks_ = std::min<std::size_t>(n, std::size_t(threads) * 2);
    chunk_ = (n + chunks_ - 1) / chunks_;
    chunks_ = (n + chunk_ - 1) / chunk_;
    next_.store(0, std::memory_order_relaxed);
    seats_ = threads - 1;
    ++generation_;
  }
  wake_.notify_all();
  work();
  // Every chunk is claimed; close the seats and wait for the helpers still running theirs. A
  // helper that woke too late finds no seat and goes back to sleep.
  std::unique_lock lock(mu_);
  seats_ = 0;
  idle_.wait(lock, [&] { return seated_ == 0; });
  ++parallel_batches_;
}

}  // namespace wgcore
