// A peer as the protocol core sees it: its keys, handshake, keypairs, timers, endpoint, the
// packets waiting for a session, and its statistics. Owned by the Engine.
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "core/cookie.hpp"
#include "core/counters.hpp"
#include "core/keypair.hpp"
#include "core/noise.hpp"
#include "core/timers.hpp"
#include "wgcore/ip.hpp"

namespace wgcore {

class Peer {
 public:
  Peer(std::uint64_t id, const Key& public_key) : id_(id), public_key_(public_key) {}
  Peer(const Peer&) = delete;
  Peer& operator=(const Peer&) = delete;

  std::uint64_t id() const { return id_; }
  const Key& public_key() const { return public_key_; }

  Handshake handshake;
  CookieMaker cookie;
  KeypairSet keypairs;
  PeerTimers timers;

  std::optional<Endpoint> endpoint;
  // The local address the peer last reached us on; replies leave from it (sticky source).
  std::optional<Endpoint> local_source;
  std::uint16_t persistent_keepalive_interval = 0;

  std::optional<Time> last_sent_handshake;
  // The receiver index registered for the handshake in progress, if any.
  std::optional<std::uint32_t> handshake_index;
  bool sent_lastminute_handshake = false;
  // Inner packets waiting for a session (bounded by proto::kMaxStagedPackets, oldest first). A
  // vector, not a deque: an idle peer's empty queue must not cost an allocation.
  std::vector<std::vector<std::uint8_t>> staged;

  std::uint64_t rx_bytes = 0;
  std::uint64_t tx_bytes = 0;
  WallTime last_handshake_wall{};  // zero = never
  DropCounters drops;

  // Earliest time the engine's schedule will look at this peer again (always <= every deadline).
  std::optional<Time> scheduled_at;

 private:
  std::uint64_t id_;
  Key public_key_;
};

}  // namespace wgcore
