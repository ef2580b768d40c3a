// Device updates and routes from netdev configurations (see plan.hpp).
#include "plan.hpp"

#include <algorithm>
#include <set>

namespace wgcore::networkd {

namespace {

PeerUpdate peer_full(const PeerConfig& p, const ResolvedEndpoints& ep) {
  PeerUpdate u;
  u.public_key = *p.public_key;
  u.preshared_key = p.preshared_key ? *p.preshared_key : Key();
  if (auto it = ep.find(to_base64(*p.public_key)); it != ep.end()) u.endpoint = it->second;
  u.persistent_keepalive_interval = p.persistent_keepalive;
  u.allowed_ips.push_back({AllowedIpOp::Kind::kReplaceAll, {}});
  for (const auto& a : p.allowed_ips) u.allowed_ips.push_back({AllowedIpOp::Kind::kAdd, a});
  return u;
}

std::optional<Endpoint> find_ep(const ResolvedEndpoints& ep, const Key& k) {
  auto it = ep.find(to_base64(k));
  if (it == ep.end()) return std::nullopt;
  return it->second;
}

bool same_psk(const std::optional<Key>& a, const std::optional<Key>& b) {
  Key za, zb;
  return (a ? *a : za) == (b ? *b : zb);
}

}  // namespace

DeviceUpdate full_update(const WireGuardNetdev& w, const ResolvedEndpoints& ep) {
  DeviceUpdate u;
  u.private_key = w.private_key ? *w.private_key : Key();
  u.listen_port = w.listen_port;
  u.fwmark = w.fwmark;
  u.replace_peers = true;
  for (const auto& p : w.peers) u.peers.push_back(peer_full(p, ep));
  return u;
}

DeviceUpdate diff_update(const WireGuardNetdev& before, const ResolvedEndpoints& ep_before,
                         const WireGuardNetdev& after, const ResolvedEndpoints& ep_after) {
  DeviceUpdate u;
  Key zero;
  const Key& pk_b = before.private_key ? *before.private_key : zero;
  const Key& pk_a = after.private_key ? *after.private_key : zero;
  if (!(pk_b == pk_a)) u.private_key = pk_a;
  if (before.listen_port != after.listen_port) u.listen_port = after.listen_port;
  if (before.fwmark != after.fwmark) u.fwmark = after.fwmark;

  auto find = [](const WireGuardNetdev& w, const Key& k) -> const PeerConfig* {
    for (const auto& p : w.peers)
      if (*p.public_key == k) return &p;
    return nullptr;
  };
  for (const auto& p : before.peers) {
    if (!find(after, *p.public_key)) {
      PeerUpdate r;
      r.public_key = *p.public_key;
      r.remove = true;
      u.peers.push_back(r);
    }
  }
  for (const auto& p : after.peers) {
    const PeerConfig* old = find(before, *p.public_key);
    if (!old) {
      u.peers.push_back(peer_full(p, ep_after));
      continue;
    }
    PeerUpdate c;
    c.public_key = *p.public_key;
    c.update_only = true;
    bool changed = false;
    if (!same_psk(old->preshared_key, p.preshared_key)) {
      c.preshared_key = p.preshared_key ? *p.preshared_key : Key();
      changed = true;
    }
    auto eb = find_ep(ep_before, *p.public_key);
    auto ea = find_ep(ep_after, *p.public_key);
    // Only a changed configuration (or resolution) re-sets the endpoint: re-setting an
    // unchanged one would undo roaming.
    if (ea && (!(old->endpoint == p.endpoint) || !eb || !(*eb == *ea))) {
      c.endpoint = ea;
      changed = true;
    }
    if (old->persistent_keepalive != p.persistent_keepalive) {
      c.persistent_keepalive_interval = p.persistent_keepalive;
      changed = true;
    }
    if (old->allowed_ips != p.allowed_ips) {
      c.allowed_ips.push_back({AllowedIpOp::Kind::kReplaceAll, {}});
      for (const auto& a : p.allowed_ips) c.allowed_ips.push_back({AllowedIpOp::Kind::kAdd, a});
      changed = true;
    }
    if (changed) u.peers.push_back(std::move(c));
  }
  return u;
}

bool update_is_empty(const DeviceUpdate& u) {
  return !u.private_key && !u.listen_port && !u.fwmark && !u.replace_peers && u.peers.empty();
}

std::vector<PeerRoute> peer_routes(const WireGuardNetdev& w) {
  std::set<PeerRoute> out;
  for (const auto& p : w.peers) {
    std::uint32_t table = p.route_table ? *p.route_table : w.route_table;
    if (table == 0) continue;
    std::uint32_t metric = p.route_metric ? *p.route_metric : w.route_metric;
    for (const auto& a : p.allowed_ips) {
      PeerRoute r{a, table, metric};
      if (metric == 0 && !a.addr.is_v4()) r.metric = 1024;  // IP6_RT_PRIO_USER
      out.insert(r);
    }
  }
  return {out.begin(), out.end()};
}

}  // namespace wgcore::networkd
