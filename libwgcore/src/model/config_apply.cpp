// apply_update: the set semantics every backend shares (ConfigModel), computed on a copy of the
// state; diff_states: what changed between two states, by a hash of the peers' keys.
#include "model/config_apply.hpp"

#include <unordered_map>

#include "model/config_model.hpp"

namespace wgcore {

Result<DeviceState> apply_update(const DeviceState& current, const DeviceUpdate& u) {
  ConfigModel model(current);
  if (auto st = model.apply(u); !st) return st.error();
  DeviceState next = model.state();
  next.name = current.name;
  next.drops = current.drops;
  return next;
}

bool same_peer_config(const PeerState& a, const PeerState& b) {
  return a.public_key == b.public_key && a.preshared_key == b.preshared_key &&
         a.endpoint == b.endpoint &&
         a.persistent_keepalive_interval == b.persistent_keepalive_interval &&
         a.allowed_ips == b.allowed_ips && a.protocol_version == b.protocol_version;
}

DeviceDiff diff_states(const DeviceState& before, const DeviceState& after) {
  std::unordered_map<Key, const PeerState*, KeyHash> old_peers, new_peers;
  old_peers.reserve(before.peers.size());
  new_peers.reserve(after.peers.size());
  for (const auto& p : before.peers) old_peers.emplace(p.public_key, &p);
  for (const auto& p : after.peers) new_peers.emplace(p.public_key, &p);
  DeviceDiff d;
  d.private_key_changed = before.private_key != after.private_key;
  d.listen_port_changed = before.listen_port != after.listen_port;
  d.fwmark_changed = before.fwmark != after.fwmark;
  for (const auto& p : after.peers) {
    auto old = old_peers.find(p.public_key);
    if (old == old_peers.end())
      d.peers_added.push_back(p.public_key);
    else if (!same_peer_config(*old->second, p))
      d.peers_changed.push_back(p.public_key);
  }
  for (const auto& p : before.peers)
    if (!new_peers.count(p.public_key)) d.peers_removed.push_back(p.public_key);
  return d;
}

}  // namespace wgcore
