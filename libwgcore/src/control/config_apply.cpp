// apply_update: the set semantics every backend shares, computed on a copy of the state. Peers
// are found by a hash of their key and prefixes by an owner map, so applying 10 k peers is linear,
// not quadratic (the UAPI-apply benchmark in bench/ measures it).
#include "control/config_apply.hpp"

#include <algorithm>
#include <map>
#include <string>
#include <unordered_map>

#include "core/crypto/x25519.hpp"

namespace wgcore {
namespace {

const PeerState* find_peer(const DeviceState& s, const Key& pub) {
  for (const auto& p : s.peers)
    if (p.public_key == pub) return &p;
  return nullptr;
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

// The peers of a state being updated. Removed peers stay as tombstones until finish(), so indices
// stay valid and order is kept; the owner map says which peer holds each prefix (one node per
// prefix in the kernel's and wireguard-go's trie).
class WorkingPeers {
 public:
  explicit WorkingPeers(std::vector<PeerState> peers) : peers_(std::move(peers)), alive_(peers_.size(), true) {
    for (std::size_t i = 0; i < peers_.size(); ++i) {
      index_[peers_[i].public_key] = i;
      for (const auto& prefix : peers_[i].allowed_ips) owner_[prefix] = i;
    }
  }

  PeerState* find(const Key& pub) {
    auto it = index_.find(pub);
    return it == index_.end() ? nullptr : &peers_[it->second];
  }

  PeerState& add(const Key& pub) {
    peers_.push_back(PeerState{});
    alive_.push_back(true);
    peers_.back().public_key = pub;
    index_[pub] = peers_.size() - 1;
    return peers_.back();
  }

  void erase(const Key& pub) {
    auto it = index_.find(pub);
    if (it == index_.end()) return;
    clear_allowed_ips(peers_[it->second]);
    alive_[it->second] = false;
    index_.erase(it);
  }

  void clear() {
    for (std::size_t i = 0; i < peers_.size(); ++i) alive_[i] = false;
    index_.clear();
    owner_.clear();
  }

  void clear_allowed_ips(PeerState& p) {
    for (const auto& prefix : p.allowed_ips) owner_.erase(prefix);
    p.allowed_ips.clear();
  }

  // Inserting a prefix moves it to the end of the new owner's list, even when that is its old
  // owner (the kernel's list_move_tail; wireguard-go does the same).
  void add_allowed_ip(PeerState& p, const IpPrefix& prefix) {
    auto it = owner_.find(prefix);
    if (it != owner_.end()) std::erase(peers_[it->second].allowed_ips, prefix);
    owner_[prefix] = index_of(p);
    p.allowed_ips.push_back(prefix);
  }

  void remove_allowed_ip(PeerState& p, const IpPrefix& prefix) {
    auto it = owner_.find(prefix);
    if (it == owner_.end() || it->second != index_of(p)) return;
    owner_.erase(it);
    std::erase(p.allowed_ips, prefix);
  }

  std::vector<PeerState> finish() {
    std::vector<PeerState> out;
    out.reserve(index_.size());
    for (std::size_t i = 0; i < peers_.size(); ++i)
      if (alive_[i]) out.push_back(std::move(peers_[i]));
    return out;
  }

 private:
  std::size_t index_of(const PeerState& p) const { return std::size_t(&p - peers_.data()); }

  std::vector<PeerState> peers_;  // reserved up front: pointers into it must stay valid
  std::vector<bool> alive_;
  std::unordered_map<Key, std::size_t, KeyHash> index_;
  std::map<IpPrefix, std::size_t> owner_;
};

}  // namespace

Result<DeviceState> apply_update(const DeviceState& current, const DeviceUpdate& u) {
  if (auto st = validate(u); !st) return st.error();
  DeviceState next = current;
  next.peers.clear();
  std::vector<PeerState> start = current.peers;
  start.reserve(current.peers.size() + u.peers.size());  // add() must not reallocate
  WorkingPeers peers(std::move(start));

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
        peers.erase(pub);  // a device never has itself as a peer
        next.private_key = sk;
        next.public_key = pub;
      } else if (!next.public_key) {
        next.public_key = own_public(next);
      }
    }
  }
  if (u.listen_port) next.listen_port = *u.listen_port;
  if (u.fwmark) next.fwmark = *u.fwmark;
  if (u.replace_peers) peers.clear();

  // Peer blocks naming the device itself are ignored (wireguard-go's "dummy" peer, the kernel's
  // check in set_peer). Without a private key the device's public key is all zero in both, so
  // an all-zero peer key is ignored too.
  const Key self = own_public(next).value_or(Key{});
  for (const auto& pu : u.peers) {
    if (pu.public_key == self) continue;
    if (pu.remove) {
      peers.erase(pu.public_key);
      continue;
    }
    PeerState* peer = peers.find(pu.public_key);
    if (!peer) {
      if (pu.update_only) continue;
      peer = &peers.add(pu.public_key);
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
          peers.clear_allowed_ips(*peer);
          break;
        case AllowedIpOp::Kind::kAdd:
          peers.add_allowed_ip(*peer, op.prefix.canonical());
          break;
        case AllowedIpOp::Kind::kRemove:
          peers.remove_allowed_ip(*peer, op.prefix.canonical());
          break;
      }
    }
  }
  next.peers = peers.finish();
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
