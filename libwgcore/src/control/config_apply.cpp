// apply_update: the set semantics every backend shares, computed on a copy of the state.
// Linear scans are fine here: this is the control path, and configurations are applied rarely.
#include "control/config_apply.hpp"

#include <algorithm>
#include <string>

#include "core/crypto/x25519.hpp"

namespace wgcore {
namespace {

PeerState* find_peer(DeviceState& s, const Key& pub) {
  for (auto& p : s.peers)
    if (p.public_key == pub) return &p;
  return nullptr;
}

const PeerState* find_peer(const DeviceState& s, const Key& pub) {
  for (const auto& p : s.peers)
    if (p.public_key == pub) return &p;
  return nullptr;
}

void erase_peer(DeviceState& s, const Key& pub) {
  std::erase_if(s.peers, [&](const PeerState& p) { return p.public_key == pub; });
}

// The device's own public key: derived from the private key when the state lacks it.
std::optional<Key> own_public(const DeviceState& s) {
  if (!s.private_key || s.private_key->is_zero()) return std::nullopt;
  if (s.public_key) return s.public_key;
  Key pub;
  if (!crypto::x25519_public(pub, *s.private_key)) return std::nullopt;
  return pub;
}

std::string hex_short(const Key& k) { return to_hex(k).substr(0, 16); }

Status validate(const DeviceUpdate& u) {
  for (const auto& p : u.peers) {
    if (p.remove) continue;
    if (p.protocol_version && *p.protocol_version != 1)
      return make_error(EINVAL, "peer " + hex_short(p.public_key) + ": invalid protocol version " +
                                    std::to_string(*p.protocol_version));
    if (p.endpoint && !p.endpoint->valid())
      return make_error(EINVAL, "peer " + hex_short(p.public_key) + ": endpoint is not IPv4/IPv6");
    for (const auto& op : p.allowed_ips) {
      if (op.kind == AllowedIpOp::Kind::kReplaceAll) continue;
      if (op.prefix.len > op.prefix.addr.bits())
        return make_error(EINVAL, "peer " + hex_short(p.public_key) + ": invalid allowed ip " +
                                      op.prefix.to_string());
    }
  }
  return {};
}

void add_allowed_ip(DeviceState& s, PeerState& owner, const IpPrefix& prefix) {
  // A prefix belongs to one peer (the kernel's and wireguard-go's trie has one node per prefix):
  // inserting it moves it, to the end of the new owner's list even when that is its old owner
  // (the kernel's list_move_tail; wireguard-go does the same).
  for (auto& p : s.peers) std::erase(p.allowed_ips, prefix);
  owner.allowed_ips.push_back(prefix);
}

}  // namespace

Result<DeviceState> apply_update(const DeviceState& current, const DeviceUpdate& u) {
  if (auto st = validate(u); !st) return st.error();
  DeviceState next = current;

  if (u.private_key) {
    Key sk = *u.private_key;
    if (sk.is_zero()) {
      next.private_key.reset();
      next.public_key.reset();
    } else {
      crypto::x25519_clamp(sk);
      if (!next.private_key || !(*next.private_key == sk)) {
        Key pub;
        if (!crypto::x25519_public(pub, sk))
          return make_error(EIO, "deriving the public key failed");
        erase_peer(next, pub);  // a device never has itself as a peer
        next.private_key = sk;
        next.public_key = pub;
      } else if (!next.public_key) {
        next.public_key = own_public(next);
      }
    }
  }
  if (u.listen_port) next.listen_port = *u.listen_port;
  if (u.fwmark) next.fwmark = *u.fwmark;
  if (u.replace_peers) next.peers.clear();

  // Peer blocks naming the device itself are ignored (wireguard-go's "dummy" peer, the kernel's
  // check in set_peer). Without a private key the device's public key is all zero in both, so
  // an all-zero peer key is ignored too.
  const Key self = own_public(next).value_or(Key{});
  for (const auto& pu : u.peers) {
    if (pu.public_key == self) continue;
    if (pu.remove) {
      erase_peer(next, pu.public_key);
      continue;
    }
    PeerState* peer = find_peer(next, pu.public_key);
    if (!peer) {
      if (pu.update_only) continue;
      next.peers.push_back(PeerState{});
      peer = &next.peers.back();
      peer->public_key = pu.public_key;
    }
    if (pu.preshared_key) {
      if (pu.preshared_key->is_zero())
        peer->preshared_key.reset();
      else
        peer->preshared_key = *pu.preshared_key;
    }
    if (pu.endpoint) peer->endpoint = *pu.endpoint;
    if (pu.persistent_keepalive_interval)
      peer->persistent_keepalive_interval = *pu.persistent_keepalive_interval;
    for (const auto& op : pu.allowed_ips) {
      switch (op.kind) {
        case AllowedIpOp::Kind::kReplaceAll:
          peer->allowed_ips.clear();
          break;
        case AllowedIpOp::Kind::kAdd:
          add_allowed_ip(next, *peer, op.prefix.canonical());
          break;
        case AllowedIpOp::Kind::kRemove:
          std::erase(peer->allowed_ips, op.prefix.canonical());
          break;
      }
    }
  }
  return next;
}

bool same_peer_config(const PeerState& a, const PeerState& b) {
  return a.public_key == b.public_key && a.preshared_key == b.preshared_key &&
         a.endpoint == b.endpoint &&
         a.persistent_keepalive_interval == b.persistent_keepalive_interval &&
         a.allowed_ips == b.allowed_ips && a.protocol_version == b.protocol_version;
}

DeviceDiff diff_states(const DeviceState& before, const DeviceState& after) {
  DeviceDiff d;
  d.private_key_changed = before.private_key != after.private_key;
  d.listen_port_changed = before.listen_port != after.listen_port;
  d.fwmark_changed = before.fwmark != after.fwmark;
  for (const auto& p : after.peers) {
    const PeerState* old = find_peer(before, p.public_key);
    if (!old)
      d.peers_added.push_back(p.public_key);
    else if (!same_peer_config(*old, p))
      d.peers_changed.push_back(p.public_key);
  }
  for (const auto& p : before.peers)
    if (!find_peer(after, p.public_key)) d.peers_removed.push_back(p.public_key);
  return d;
}

}  // namespace wgcore
