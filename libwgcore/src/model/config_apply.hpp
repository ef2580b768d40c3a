// WireGuard's set semantics as a pure function over the whole configuration, so every backend
// can compute and validate the result of an update first and then commit it in one step
// (nothing is half-applied when a later line of the update is bad).
#pragma once

#include <vector>

#include "wgcore/config.hpp"
#include "wgcore/result.hpp"

namespace wgcore {

// The state `current` becomes after `update`, following wireguard-go's IpcSetOperation and
// the kernel's netlink set, in this order:
//  1. private_key: clamped; all-zero removes the key (and the public key). A new key removes
//     every peer whose public key equals the device's new public key.
//  2. listen_port, fwmark are copied (0 keeps its meaning: random port / no mark; the backend
//     fills in the port it actually bound).
//  3. replace_peers removes every peer.
//  4. Peer updates in order. A public key equal to the device's own (all zero when the device
//     has no private key, as in wireguard-go and the kernel) is ignored. remove=true
//     removes the peer (if present) and nothing else. A missing peer is created (appended, with
//     zero statistics) unless update_only is set, in which case the block is ignored. Then:
//     preshared_key (all zero clears it), endpoint, persistent_keepalive_interval, and the
//     allowed-IP ops in order: kReplaceAll clears the peer's list; kAdd clears host bits, takes
//     the prefix away from whichever peer holds it and appends it to this peer's list (so a
//     re-added prefix moves to the end, as the kernel and wireguard-go list it); kRemove drops
//     the prefix only if this peer holds it.
// Errors (EINVAL): protocol_version other than 1, an endpoint that is not IPv4/IPv6, a prefix
// longer than its family allows. Statistics and handshake times of surviving peers are kept.
Result<DeviceState> apply_update(const DeviceState& current, const DeviceUpdate& update);

// What changed between two states, for a backend that applies a computed state to a live
// device. Statistics and handshake times are ignored.
struct DeviceDiff {
  bool private_key_changed = false;
  bool listen_port_changed = false;
  bool fwmark_changed = false;
  std::vector<Key> peers_added;    // in `after` order
  std::vector<Key> peers_removed;  // in `before` order
  std::vector<Key> peers_changed;  // present in both with different configuration, `after` order
  bool empty() const {
    return !private_key_changed && !listen_port_changed && !fwmark_changed &&
           peers_added.empty() && peers_removed.empty() && peers_changed.empty();
  }
};

DeviceDiff diff_states(const DeviceState& before, const DeviceState& after);

// True when the two peers have the same configuration (keys, endpoint, keepalive, allowed IPs
// in order, protocol version); statistics are not compared.
bool same_peer_config(const PeerState& a, const PeerState& b);

}  // namespace wgcore
