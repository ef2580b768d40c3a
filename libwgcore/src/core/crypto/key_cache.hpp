// The per-thread contexts of aead.cpp (ChaCha20-Poly1305, one for sealing and one for opening)
// and blake2s.cpp (BLAKE2s, its MAC and HMAC) keep the last key they were given: re-keying per
// packet would cost as much as the packet. When keys are erased (a keypair dropped, a handshake
// cleared, keys zeroed after 540 s) those copies must go too, in every thread, or a key would
// outlive its session in a cache.
//
// forget_cached_keys() wipes the calling thread's contexts at once (freed and made anew on next
// use; OpenSSL clears what it frees) and moves a global epoch on. Every other thread wipes its
// own through wipe_if_stale(): at its next crypto call (one relaxed atomic load per call), or
// when an idle thread is woken for it (CryptoWorkers::wipe_stale_keys). A thread that exits
// frees its contexts too.
#pragma once

#include <cstdint>

namespace wgcore::crypto {

void forget_cached_keys() noexcept;
// Wipes this thread's contexts if they predate the last forget_cached_keys().
void wipe_if_stale() noexcept;
std::uint64_t key_epoch() noexcept;

namespace detail {
// Each file's part of a wipe (the calling thread's contexts); called by key_cache.cpp only.
void wipe_aead_contexts() noexcept;
void wipe_hash_contexts() noexcept;
}  // namespace detail

}  // namespace wgcore::crypto
