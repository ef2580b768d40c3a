// Field-by-field equality for the configuration model (config.hpp has no operator== because
// keys compare in constant time and statistics are not always wanted), for the round-trip
// checks of the UAPI and config fuzz targets.
#pragma once

#include <cstddef>

#include "wgcore/config.hpp"

namespace wgcore::fuzz {

inline bool same_peer_update(const PeerUpdate& a, const PeerUpdate& b) {
  return a.public_key == b.public_key && a.remove == b.remove && a.update_only == b.update_only &&
         a.preshared_key == b.preshared_key && a.endpoint == b.endpoint &&
         a.persistent_keepalive_interval == b.persistent_keepalive_interval &&
         a.allowed_ips == b.allowed_ips && a.protocol_version == b.protocol_version;
}

inline bool same_update(const DeviceUpdate& a, const DeviceUpdate& b) {
  if (!(a.private_key == b.private_key && a.listen_port == b.listen_port && a.fwmark == b.fwmark &&
        a.replace_peers == b.replace_peers && a.peers.size() == b.peers.size()))
    return false;
  for (std::size_t i = 0; i < a.peers.size(); ++i)
    if (!same_peer_update(a.peers[i], b.peers[i])) return false;
  return true;
}

inline bool same_peer_state(const PeerState& p, const PeerState& q) {
  return p.public_key == q.public_key && p.preshared_key == q.preshared_key &&
         p.endpoint == q.endpoint &&
         p.persistent_keepalive_interval == q.persistent_keepalive_interval &&
         p.allowed_ips == q.allowed_ips &&
         p.last_handshake_time_sec == q.last_handshake_time_sec &&
         p.last_handshake_time_nsec == q.last_handshake_time_nsec && p.rx_bytes == q.rx_bytes &&
         p.tx_bytes == q.tx_bytes && p.protocol_version == q.protocol_version &&
         p.drops == q.drops;
}

inline bool same_state(const DeviceState& a, const DeviceState& b) {
  if (!(a.name == b.name && a.private_key == b.private_key && a.public_key == b.public_key &&
        a.listen_port == b.listen_port && a.fwmark == b.fwmark &&
        a.peers.size() == b.peers.size() && a.drops == b.drops))
    return false;
  for (std::size_t i = 0; i < a.peers.size(); ++i)
    if (!same_peer_state(a.peers[i], b.peers[i])) return false;
  return true;
}

}  // namespace wgcore::fuzz
