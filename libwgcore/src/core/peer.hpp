// A peer as the protocol core sees it: its keys, handshake, keypairs, timers, endpoint, the
// packets waiting for a session, and its statistics. Owned by the Engine.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <utility>
#include <vector>

#include "core/cookie.hpp"
#include "core/counters.hpp"
#include "core/keypair.hpp"
#include "core/noise.hpp"
#include "core/optional_index.hpp"
#include "core/optional_time.hpp"
#include "core/timers.hpp"
#include "wgcore/ip.hpp"

namespace wgcore {

// A peer's queue of inner packets waiting for a session: one pointer while empty (nearly every
// peer, nearly always), a vector once something is staged, freed again when it drains.
class StagedPackets {
 public:
  bool empty() const noexcept { return !q_ || q_->empty(); }
  std::size_t size() const noexcept { return q_ ? q_->size() : 0; }
  std::vector<std::uint8_t>& operator[](std::size_t i) { return (*q_)[i]; }
  template <class... Args>
  std::vector<std::uint8_t>& emplace_back(Args&&... args) {
    if (!q_) q_ = std::make_unique<Queue>();
    return q_->emplace_back(std::forward<Args>(args)...);
  }
  // Drops the n oldest packets (n <= size()).
  void erase_front(std::size_t n) {
    if (n == 0) return;
    q_->erase(q_->begin(), q_->begin() + std::ptrdiff_t(n));
    if (q_->empty()) q_.reset();
  }
  void clear() noexcept { q_.reset(); }

 private:
  using Queue = std::vector<std::vector<std::uint8_t>>;
  std::unique_ptr<Queue> q_;
};

class Peer {
 public:
  Peer(std::uint64_t id, const Key& public_key) : id_(id) { handshake.remote_static = public_key; }
  Peer(const Peer&) = delete;
  Peer& operator=(const Peer&) = delete;

  std::uint64_t id() const { return id_; }
  // The handshake's remote static key is the peer's identity and never changes (Handshake::clear
  // keeps it), so it is stored once (docs/performance-microbench.md counts every idle byte).
  const Key& public_key() const { return handshake.remote_static; }

  // [[no_unique_address]] lets the small members after the handshake and the cookie maker live
  // in their tail padding (2 and 7 bytes): 16 bytes less in every peer.
  [[no_unique_address]] Handshake handshake;
  bool sent_lastminute_handshake = false;
  [[no_unique_address]] CookieMaker cookie;
  // The receiver index registered for the handshake in progress, if any.
  OptionalIndex handshake_index;
  std::uint16_t persistent_keepalive_interval = 0;
  KeypairSet keypairs;
  PeerTimers timers;

  std::optional<Endpoint> endpoint;
  // The local address the peer last reached us on; replies leave from it (sticky source).
  std::optional<Endpoint> local_source;

  OptionalTime last_sent_handshake;
  // Inner packets waiting for a session (bounded by proto::kMaxStagedPackets, oldest first).
  StagedPackets staged;

  std::uint64_t rx_bytes = 0;
  std::uint64_t tx_bytes = 0;
  WallTime last_handshake_wall{};  // zero = never
  DropCounters drops;

  // Earliest time the engine's schedule will look at this peer again (always <= every deadline).
  OptionalTime scheduled_at;

 private:
  std::uint64_t id_;
};

}  // namespace wgcore
