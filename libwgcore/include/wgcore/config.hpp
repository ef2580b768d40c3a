// The configuration model every backend shares: a DeviceUpdate is a change in the shape of a
// UAPI `set=1` (ordered, incremental); a DeviceState is what `get=1` reads back.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "wgcore/ip.hpp"
#include "wgcore/key.hpp"

namespace wgcore {

// One step in a peer's allowed-IPs change, applied in order: clear all, add one, remove one.
struct AllowedIpOp {
  enum class Kind : std::uint8_t { kReplaceAll, kAdd, kRemove };
  Kind kind = Kind::kAdd;
  IpPrefix prefix;  // unused for kReplaceAll
  friend bool operator==(const AllowedIpOp&, const AllowedIpOp&) = default;
};

struct PeerUpdate {
  Key public_key;
  bool remove = false;        // remove=true
  bool update_only = false;   // update_only=true: do nothing if the peer does not exist
  std::optional<Key> preshared_key;           // all-zero key clears it
  std::optional<Endpoint> endpoint;
  std::optional<std::uint16_t> persistent_keepalive_interval;  // seconds, 0 = off
  std::vector<AllowedIpOp> allowed_ips;
  std::optional<int> protocol_version;        // only 1 is accepted
  friend bool operator==(const PeerUpdate&, const PeerUpdate&) = default;
};

struct DeviceUpdate {
  std::optional<Key> private_key;             // all-zero key removes it
  std::optional<std::uint16_t> listen_port;   // 0 = pick a random port
  std::optional<std::uint32_t> fwmark;        // 0 = off
  bool replace_peers = false;
  std::vector<PeerUpdate> peers;              // in order; a key may appear more than once
  friend bool operator==(const DeviceUpdate&, const DeviceUpdate&) = default;
};

// Packets dropped, by reason ("bad_mac1", "replay", ... — see core/counters.hpp), non-zero ones
// only. Filled by backends that count them (wgcored); empty for the kernel module and wireguard-go.
using DropCounts = std::vector<std::pair<std::string, std::uint64_t>>;

struct PeerState {
  Key public_key;
  std::optional<Key> preshared_key;           // absent when none is set
  std::optional<Endpoint> endpoint;
  std::uint16_t persistent_keepalive_interval = 0;
  std::vector<IpPrefix> allowed_ips;
  std::int64_t last_handshake_time_sec = 0;   // Unix time; 0 = never
  std::int64_t last_handshake_time_nsec = 0;
  std::uint64_t rx_bytes = 0;
  std::uint64_t tx_bytes = 0;
  int protocol_version = 1;
  DropCounts drops;
  // Every field, statistics included; keys compare in constant time (Key's operator==).
  friend bool operator==(const PeerState&, const PeerState&) = default;
};

struct DeviceState {
  std::string name;
  std::optional<Key> private_key;
  std::optional<Key> public_key;              // derived from private_key
  std::uint16_t listen_port = 0;
  std::uint32_t fwmark = 0;
  std::vector<PeerState> peers;
  DropCounts drops;  // device-wide totals, including drops no peer could be blamed for
  friend bool operator==(const DeviceState&, const DeviceState&) = default;
};

}  // namespace wgcore
