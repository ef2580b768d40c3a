// The epoch that tells every thread to wipe its cached keys; see key_cache.hpp.
#include "core/crypto/key_cache.hpp"

#include <atomic>

namespace wgcore::crypto {
namespace {

std::atomic<std::uint64_t> g_epoch{0};
thread_local std::uint64_t t_epoch = 0;

void wipe_this_thread() noexcept {
  detail::wipe_aead_contexts();
  detail::wipe_hash_contexts();
}

}  // namespace

void forget_cached_keys() noexcept {
  t_epoch = g_epoch.fetch_add(1, std::memory_order_acq_rel) + 1;
  wipe_this_thread();
}

void wipe_if_stale() noexcept {
  const std::uint64_t now = g_epoch.load(std::memory_order_relaxed);
  if (now == t_epoch) return;
  t_epoch = now;
  wipe_this_thread();
}

std::uint64_t key_epoch() noexcept { return g_epoch.load(std::memory_order_acquire); }

}  // namespace wgcore::crypto
