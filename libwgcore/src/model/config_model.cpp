// ConfigModel: WireGuard's set semantics over an indexed state. Peers are found by a hash of their
// key, prefixes by an owner map that also says where in its peer's list each one sits, so adding
// or removing one prefix next to a million others, or one peer next to ten thousand, is O(1).
#include "model/config_model.hpp"

#include <cstring>
#include <string>

#include "core/crypto/x25519.hpp"

namespace wgcore {
namespace {

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

}  // namespace

std::size_t ConfigModel::PrefixHash::operator()(const IpPrefix& p) const noexcept {
  std::uint64_t a, b;
  std::memcpy(&a, p.addr.bytes.data(), 8);
  std::memcpy(&b, p.addr.bytes.data() + 8, 8);
  // Two multiply-xorshift rounds: prefixes of one routing table differ in a few middle bits.
  std::uint64_t h = (a ^ (std::uint64_t(p.len) << 56) ^ std::uint64_t(p.addr.family)) *
                    0x9e3779b97f4a7c15ull;
  h ^= h >> 29;
  h = (h ^ b) * 0xbf58476d1ce4e5b9ull;
  return std::size_t(h ^ (h >> 32));
}

ConfigModel::ConfigModel(const DeviceState& s)
    : detailed_(true), private_key_(s.private_key), public_key_(s.public_key), listen_port_(s.listen_port),
      fwmark_(s.fwmark) {
  if (private_key_ && private_key_->is_zero()) private_key_.reset();
  if (!private_key_) {
    public_key_.reset();
  } else if (!public_key_) {
    Key pub;
    if (crypto::x25519_public(pub, *private_key_)) public_key_ = pub;
  }
  peers_.reserve(s.peers.size());
  for (const auto& ps : s.peers) {
    if (peers_.count(ps.public_key)) continue;  // a state never repeats a key; stay safe if it does
    Entry& e = add_peer(ps.public_key);
    if (ps.preshared_key) e.preshared_key = std::make_unique<Key>(*ps.preshared_key);
    e.keepalive = ps.persistent_keepalive_interval;
    e.stats = std::make_unique<Stats>(Stats{ps.endpoint, ps.last_handshake_time_sec, ps.last_handshake_time_nsec,
                                            ps.rx_bytes, ps.tx_bytes, ps.protocol_version, ps.drops});
    for (const auto& p : ps.allowed_ips) add_prefix(e, p.canonical());
  }
}

std::size_t ConfigModel::change_cost(const DeviceUpdate& update) const {
  std::size_t cost = 0;
  if (update.private_key || update.replace_peers) cost += peers_.size() * kPeerCost + owner_.size();
  for (const auto& p : update.peers) {
    const bool known = has_peer(p.public_key);
    if (p.remove) cost += kPeerCost + (known ? prefix_count(p.public_key) : 0);
    else if (!known) cost += kPeerCost;
    for (const auto& op : p.allowed_ips) {
      ++cost;
      if (op.kind == AllowedIpOp::Kind::kReplaceAll && known) cost += prefix_count(p.public_key);
    }
  }
  return cost;
}

// ---------------------------------------------------------------- peers and prefixes

void ConfigModel::live_prefixes(const Entry& e, std::vector<IpPrefix>& out) {
  out.clear();
  out.reserve(e.prefixes.size() - e.holes);
  for (const auto& p : e.prefixes)
    if (p.len != kHole) out.push_back(p);
}

void ConfigModel::export_peer(const Entry& e, PeerState& out) {
  out.public_key = *e.key;
  out.preshared_key = e.preshared_key ? std::optional<Key>(*e.preshared_key) : std::nullopt;
  out.persistent_keepalive_interval = e.keepalive;
  live_prefixes(e, out.allowed_ips);
  const Stats none{};
  const Stats& st = e.stats ? *e.stats : none;
  out.endpoint = st.endpoint;
  out.last_handshake_time_sec = st.last_handshake_time_sec;
  out.last_handshake_time_nsec = st.last_handshake_time_nsec;
  out.rx_bytes = st.rx_bytes;
  out.tx_bytes = st.tx_bytes;
  out.protocol_version = st.protocol_version;
  out.drops = st.drops;
}

ConfigModel::Entry* ConfigModel::find(const Key& pub) {
  auto it = peers_.find(pub);
  return it == peers_.end() ? nullptr : &it->second;
}

void ConfigModel::link_last(Entry& e) {
  e.prev = tail_;
  e.next = nullptr;
  (tail_ ? tail_->next : head_) = &e;
  tail_ = &e;
}

void ConfigModel::unlink(Entry& e) {
  (e.prev ? e.prev->next : head_) = e.next;
  (e.next ? e.next->prev : tail_) = e.prev;
  e.prev = e.next = nullptr;
}

ConfigModel::Entry& ConfigModel::add_peer(const Key& pub) {
  auto [it, inserted] = peers_.try_emplace(pub);
  Entry& e = it->second;
  e.key = &it->first;
  link_last(e);
  return e;
}

void ConfigModel::erase_peer(Entry& e) {
  for (const auto& p : e.prefixes)
    if (p.len != kHole) owner_.erase(p);
  unlink(e);
  const Key pub = *e.key;  // the node (and the key e points to) goes with erase
  peers_.erase(pub);
}

void ConfigModel::clear_prefixes(Entry& e) {
  for (const auto& p : e.prefixes)
    if (p.len != kHole) owner_.erase(p);
  e.prefixes.clear();  // and its heap block
  e.holes = 0;
  e.stale = 0;
}

// Leaves a hole at pos; closes the holes once they are most of the list, so removals stay O(1)
// amortized and a peer's list never holds more than twice its prefixes.
void ConfigModel::punch(Entry& e, std::uint32_t pos) {
  e.prefixes[pos].len = kHole;
  ++e.holes;
  if (e.holes >= 16 && e.holes * 2 >= e.prefixes.size()) compact(e);
}

std::size_t ConfigModel::compact(Entry& e) {
  std::uint32_t out = 0, stale = 0;
  for (std::uint32_t i = 0; i < e.prefixes.size(); ++i) {
    if (e.prefixes[i].len == kHole) continue;
    if (i < e.stale) ++stale;
    if (out != i) {
      e.prefixes[out] = e.prefixes[i];
      owner_.find(e.prefixes[out])->pos = out;
    }
    ++out;
  }
  const std::size_t cost = e.prefixes.size();
  e.prefixes.resize(out);
  e.holes = 0;
  e.stale = stale;
  return cost;
}

// A prefix added again moves to the end of its new owner's list, even when that is its old owner
// (the kernel's list_move_tail; wireguard-go does the same).
void ConfigModel::add_prefix(Entry& e, const IpPrefix& p) {
  auto [slot, inserted] = owner_.try_emplace(p);
  if (!inserted) punch(*slot->owner, slot->pos);
  slot->owner = &e;
  slot->pos = std::uint32_t(e.prefixes.size());
  e.prefixes.push_back(p);
}

bool ConfigModel::remove_prefix(Entry& e, const IpPrefix& p) {
  auto* slot = owner_.find(p);
  // A stale prefix is owned by nobody as far as this update is concerned.
  if (!slot || slot->owner != &e || slot->pos < e.stale) return false;
  const std::uint32_t pos = slot->pos;
  owner_.erase(p);
  punch(e, pos);
  return true;
}

void ConfigModel::recreate(Entry& e, const PeerUpdate& pu, ConfigObserver* obs) {
  e.replaced = false;
  unlink(e);
  link_last(e);
  const Key& pub = *e.key;
  // Back to defaults, telling the observer only what the block does not set itself (no
  // preshared key or keepalive switched off and on again in between).
  if (obs && e.preshared_key && !pu.preshared_key) obs->preshared_key_changed(pub, std::nullopt);
  if (obs && e.keepalive != 0 && !pu.persistent_keepalive_interval) obs->keepalive_set(pub, 0);
  // Statistics start again in the model as for a new peer; a live backend keeps its own counters
  // and endpoint (the engine's peer, and with it its session, survives `wg setconf`).
  e.preshared_key.reset();
  e.keepalive = 0;
  if (e.stats) *e.stats = Stats{};  // the endpoint too
}

void ConfigModel::make_stale(Entry& e) { e.stale = std::uint32_t(e.prefixes.size()); }

void ConfigModel::start_drain(Commit& c, Entry& e, std::uint32_t end, bool erase) {
  c.drain_ = &e;
  c.drain_pos_ = 0;
  c.drain_end_ = end;
  c.drain_erase_ = erase;
}

std::size_t ConfigModel::sweep(Commit& c, Entry& e, ConfigObserver* obs) {
  if (e.stale == 0) return 1;
  if (e.stale <= kDrainAbove) {
    // Nothing was named again, and the list is short: one clear instead of a removal each.
    std::size_t stale_live = 0;
    for (std::uint32_t i = 0; i < e.stale; ++i)
      if (e.prefixes[i].len != kHole) ++stale_live;
    if (stale_live == e.prefixes.size() - e.holes) {
      if (stale_live > 0 && obs) obs->allowed_ips_cleared(*e.key);
      clear_prefixes(e);
      return 1 + stale_live;
    }
  }
  start_drain(c, e, e.stale, false);
  return 1;
}

std::size_t ConfigModel::remove_peer(Commit& c, Entry& e, ConfigObserver* obs) {
  if (e.prefixes.size() - e.holes > kDrainAbove) {
    start_drain(c, e, std::uint32_t(e.prefixes.size()), true);
    return 1;
  }
  const Key pub = *e.key;
  const std::size_t cost = 1 + e.prefixes.size();
  erase_peer(e);
  if (obs) obs->peer_removed(pub);
  return cost;
}

bool ConfigModel::drain_step(Commit& c, ConfigObserver* obs, std::size_t& spent, std::size_t budget) {
  Entry& e = *c.drain_;
  // Holes only, no compaction: positions must not move while the drain walks them.
  while (c.drain_pos_ < c.drain_end_ && spent < budget) {
    IpPrefix& p = e.prefixes[c.drain_pos_++];
    if (p.len == kHole) continue;
    owner_.erase(p);
    if (obs) obs->allowed_ip_removed(*e.key, p);
    p.len = kHole;
    ++e.holes;
    ++spent;
  }
  if (c.drain_pos_ < c.drain_end_) return false;
  c.drain_ = nullptr;
  if (c.drain_erase_) {
    const Key pub = *e.key;
    erase_peer(e);
    if (obs) obs->peer_removed(pub);
    return true;
  }
  spent += compact(e);  // every position before drain_end_ is a hole now: the stale part is gone
  return true;
}

// ---------------------------------------------------------------- updates

Result<ConfigModel::Checked> ConfigModel::check(const DeviceUpdate& u) const {
  if (auto st = validate(u); !st) return st.error();
  Checked c;
  c.update = &u;
  c.private_key = private_key_;
  c.public_key = public_key_;
  if (u.private_key) {
    Key sk = *u.private_key;
    if (sk.is_zero()) {
      c.key_changes = private_key_.has_value();
      c.private_key.reset();
      c.public_key.reset();
    } else {
      crypto::x25519_clamp(sk);
      if (!private_key_ || !(*private_key_ == sk)) {
        Key pub;
        if (!crypto::x25519_public(pub, sk)) return make_error(EIO, "deriving the public key failed");
        c.key_changes = true;
        c.private_key = sk;
        c.public_key = pub;
      }
    }
  }
  return c;
}

bool ConfigModel::start_block(Commit& c, const PeerUpdate& pu, ConfigObserver* obs) {
  // Peer blocks naming the device itself are ignored (wireguard-go's "dummy" peer, the kernel's
  // check in set_peer). Without a private key the device's public key is all zero in both, so an
  // all-zero peer key is ignored too.
  if (pu.public_key == public_key_.value_or(Key{})) return false;
  Entry* e = find(pu.public_key);
  if (pu.remove) {
    if (e) remove_peer(c, *e, obs);
    return false;
  }
  if (!e || e->replaced) {
    if (pu.update_only) return false;
    if (!e) {
      e = &add_peer(pu.public_key);
      if (obs) obs->peer_added(pu.public_key);
    } else {
      recreate(*e, pu, obs);
    }
  }
  c.peer_ = e;
  if (pu.preshared_key) {
    std::optional<Key> psk;
    if (!pu.preshared_key->is_zero()) psk = *pu.preshared_key;
    e->preshared_key = psk ? std::make_unique<Key>(*psk) : nullptr;
    if (obs) obs->preshared_key_changed(pu.public_key, psk);
  }
  if (pu.endpoint) {
    if (detailed_) {
      if (!e->stats) e->stats = std::make_unique<Stats>();
      e->stats->endpoint = *pu.endpoint;
    }
    if (obs) obs->endpoint_set(pu.public_key, *pu.endpoint);
  }
  if (pu.persistent_keepalive_interval) {
    e->keepalive = *pu.persistent_keepalive_interval;
    if (obs) obs->keepalive_set(pu.public_key, e->keepalive);
  }
  return true;
}

std::size_t ConfigModel::run_op(Entry& e, const PeerUpdate& pu, const AllowedIpOp& op,
                                ConfigObserver* obs) {
  switch (op.kind) {
    case AllowedIpOp::Kind::kReplaceAll: {
      if (e.prefixes.size() == e.holes) return 1;
      make_stale(e);
      if (!e.replaced && !e.swept) {  // a replaced peer is swept with all peers
        e.swept = true;
        sweep_.push_back(pu.public_key);
      }
      return 1;
    }
    case AllowedIpOp::Kind::kAdd: {
      const IpPrefix p = op.prefix.canonical();
      add_prefix(e, p);
      if (obs) obs->allowed_ip_added(pu.public_key, p);
      return 1;
    }
    case AllowedIpOp::Kind::kRemove: {
      const IpPrefix p = op.prefix.canonical();
      if (remove_prefix(e, p) && obs) obs->allowed_ip_removed(pu.public_key, p);
      return 1;
    }
  }
  return 1;
}

bool ConfigModel::step(Commit& c, ConfigObserver* obs, std::size_t budget) {
  using Phase = Commit::Phase;
  const DeviceUpdate& u = *c.checked_.update;
  std::size_t spent = 0;
  while (spent < budget) {
    if (c.drain_) {  // a large removal finishes before the update goes on
      drain_step(c, obs, spent, budget);
      continue;
    }
    switch (c.phase_) {
      case Phase::kStart:
        if (c.checked_.key_changes) {
          // A device never has itself as a peer.
          if (c.checked_.public_key) {
            if (Entry* self = find(*c.checked_.public_key)) {
              erase_peer(*self);
              if (obs) obs->peer_removed(*c.checked_.public_key);
            }
          }
          private_key_ = c.checked_.private_key;
          public_key_ = c.checked_.public_key;
          if (obs) obs->private_key_changed(private_key_);
        }
        if (u.listen_port) listen_port_ = *u.listen_port;
        if (u.fwmark) fwmark_ = *u.fwmark;
        c.cursor_ = head_;
        c.phase_ = u.replace_peers ? Phase::kReplace : Phase::kBlocks;
        ++spent;
        break;
      case Phase::kReplace: {
        // Every peer goes, unless a block names it again; those start again from defaults.
        if (!c.cursor_) {
          c.phase_ = Phase::kBlocks;
          break;
        }
        Entry& e = *c.cursor_;
        c.cursor_ = e.next;
        make_stale(e);
        e.replaced = true;
        ++spent;
        break;
      }
      case Phase::kBlocks: {
        if (c.block_ == u.peers.size()) {
          c.cursor_ = head_;
          c.phase_ = u.replace_peers ? Phase::kSweepPeers : Phase::kSweepPrefixes;
          break;
        }
        const PeerUpdate& pu = u.peers[c.block_];
        if (!c.block_started_) {
          c.block_started_ = true;
          c.op_ = 0;
          const std::size_t peers_before = peers_.size();
          c.skip_block_ = !start_block(c, pu, obs);
          // A new peer costs its backend a few prefixes' worth (its state, its key's index entry):
          // count it as kPeerCost changes, so a slice stays short.
          spent += peers_.size() > peers_before ? kPeerCost : 1;
        } else if (c.skip_block_ || c.op_ == pu.allowed_ips.size()) {
          ++c.block_;
          c.block_started_ = false;
        } else {
          spent += run_op(*c.peer_, pu, pu.allowed_ips[c.op_++], obs);
        }
        break;
      }
      case Phase::kSweepPeers: {
        // After replace_peers: the peers no block named go, the others lose what was not re-added.
        if (!c.cursor_) {
          c.phase_ = Phase::kSweepPrefixes;
          break;
        }
        Entry& e = *c.cursor_;
        c.cursor_ = e.next;
        spent += e.replaced ? remove_peer(c, e, obs) : sweep(c, e, obs);
        break;
      }
      case Phase::kSweepPrefixes: {
        // Peers whose allowed IPs were replaced: what the update did not name again goes.
        if (c.swept_ == sweep_.size()) {
          sweep_.clear();
          c.phase_ = Phase::kDone;
          break;
        }
        Entry* e = find(sweep_[c.swept_++]);
        if (!e) break;  // removed later in the update
        e->swept = false;
        spent += sweep(c, *e, obs);
        break;
      }
      case Phase::kDone:
        return true;
    }
  }
  return c.phase_ == Phase::kDone && !c.drain_;
}

void ConfigModel::commit(const Checked& checked, ConfigObserver* obs) {
  Commit c(checked);
  while (!step(c, obs, SIZE_MAX)) {
  }
}

Status ConfigModel::apply(const DeviceUpdate& update, ConfigObserver* observer) {
  auto checked = check(update);
  if (!checked) return checked.error();
  commit(*checked, observer);
  return {};
}

std::vector<IpPrefix> ConfigModel::allowed_ips(const Key& peer) const {
  std::vector<IpPrefix> out;
  if (auto it = peers_.find(peer); it != peers_.end()) live_prefixes(it->second, out);
  return out;
}

DeviceState ConfigModel::state() const {
  DeviceState s;
  s.private_key = private_key_;
  s.public_key = public_key_;
  s.listen_port = listen_port_;
  s.fwmark = fwmark_;
  s.peers.resize(peers_.size());
  std::size_t i = 0;
  for (const Entry* e = head_; e; e = e->next) export_peer(*e, s.peers[i++]);
  return s;
}

}  // namespace wgcore
