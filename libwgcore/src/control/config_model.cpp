// ConfigModel: WireGuard's set semantics over an indexed state. Peers are found by a hash of their
// key, prefixes by an owner map that also says where in its peer's list each one sits, so adding
// or removing one prefix next to a million others, or one peer next to ten thousand, is O(1).
#include "control/config_model.hpp"

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
    : private_key_(s.private_key), public_key_(s.public_key), listen_port_(s.listen_port),
      fwmark_(s.fwmark) {
  if (private_key_ && private_key_->is_zero()) private_key_.reset();
  if (!private_key_) {
    public_key_.reset();
  } else if (!public_key_) {
    Key pub;
    if (crypto::x25519_public(pub, *private_key_)) public_key_ = pub;
  }
  by_key_.reserve(s.peers.size());
  for (const auto& ps : s.peers) {
    if (by_key_.count(ps.public_key)) continue;  // a state never repeats a key; stay safe if it does
    Entry& e = add_peer(ps.public_key);
    e.config = ps;
    e.config.allowed_ips.clear();
    for (const auto& p : ps.allowed_ips) add_prefix(e, p.canonical());
  }
}

// ---------------------------------------------------------------- peers and prefixes

void ConfigModel::live_prefixes(const Entry& e, std::vector<IpPrefix>& out) {
  out.clear();
  out.reserve(e.prefixes.size() - e.holes);
  for (const auto& p : e.prefixes)
    if (p.len != kHole) out.push_back(p);
}

ConfigModel::Entries::iterator ConfigModel::find(const Key& pub) {
  auto it = by_key_.find(pub);
  return it == by_key_.end() ? peers_.end() : it->second;
}

ConfigModel::Entry& ConfigModel::add_peer(const Key& pub) {
  peers_.emplace_back();
  auto it = std::prev(peers_.end());
  it->config.public_key = pub;
  by_key_.emplace(pub, it);
  return *it;
}

void ConfigModel::erase_peer(Entries::iterator it) {
  for (const auto& p : it->prefixes)
    if (p.len != kHole) owner_.erase(p);
  if (it->replaced) --replaced_;
  by_key_.erase(it->config.public_key);
  peers_.erase(it);
}

void ConfigModel::clear_prefixes(Entry& e) {
  for (const auto& p : e.prefixes)
    if (p.len != kHole) owner_.erase(p);
  e.prefixes.clear();
  e.prefixes.shrink_to_fit();
  e.holes = 0;
  e.stale = 0;
}

// Leaves a hole at pos; closes the holes once they are most of the list, so removals stay O(1)
// amortized and a peer's list never holds more than twice its prefixes.
void ConfigModel::punch(Entry& e, std::uint32_t pos) {
  e.prefixes[pos].len = kHole;
  ++e.holes;
  if (e.holes < 16 || e.holes * 2 < e.prefixes.size()) return;
  std::uint32_t out = 0, stale = 0;
  for (std::uint32_t i = 0; i < e.prefixes.size(); ++i) {
    if (e.prefixes[i].len == kHole) continue;
    if (i < e.stale) ++stale;
    e.prefixes[out] = e.prefixes[i];
    owner_.find(e.prefixes[out])->second.pos = out;
    ++out;
  }
  e.prefixes.resize(out);
  e.holes = 0;
  e.stale = stale;
}

// A prefix added again moves to the end of its new owner's list, even when that is its old owner
// (the kernel's list_move_tail; wireguard-go does the same).
void ConfigModel::add_prefix(Entry& e, const IpPrefix& p) {
  auto [it, inserted] = owner_.try_emplace(p, Slot{&e, 0});
  if (!inserted) punch(*it->second.owner, it->second.pos);
  it->second = Slot{&e, std::uint32_t(e.prefixes.size())};
  e.prefixes.push_back(p);
}

bool ConfigModel::remove_prefix(Entry& e, const IpPrefix& p) {
  auto it = owner_.find(p);
  // A stale prefix is owned by nobody as far as this update is concerned.
  if (it == owner_.end() || it->second.owner != &e || it->second.pos < e.stale) return false;
  const std::uint32_t pos = it->second.pos;
  owner_.erase(it);
  punch(e, pos);
  return true;
}

void ConfigModel::recreate(Entries::iterator it, const PeerUpdate& pu, ConfigObserver* obs) {
  it->replaced = false;
  --replaced_;
  peers_.splice(peers_.end(), peers_, it);
  const Key pub = it->config.public_key;
  // Back to defaults, telling the observer only what the block does not set itself (no
  // preshared key or keepalive switched off and on again in between).
  if (obs && it->config.preshared_key && !pu.preshared_key) obs->preshared_key_changed(pub, std::nullopt);
  if (obs && it->config.persistent_keepalive_interval != 0 && !pu.persistent_keepalive_interval)
    obs->keepalive_set(pub, 0);
  // Statistics start again in the model as for a new peer; a live backend keeps its own counters
  // and endpoint (the engine's peer, and with it its session, survives `wg setconf`).
  it->config = PeerState{};
  it->config.public_key = pub;
}

void ConfigModel::make_stale(Entry& e) { e.stale = std::uint32_t(e.prefixes.size()); }

std::size_t ConfigModel::sweep(Entry& e, ConfigObserver* obs) {
  if (e.stale == 0) return 1;
  const Key& pub = e.config.public_key;
  const std::size_t live = e.prefixes.size() - e.holes;
  std::size_t stale_live = 0;
  for (std::uint32_t i = 0; i < e.stale; ++i)
    if (e.prefixes[i].len != kHole) ++stale_live;
  const std::size_t cost = 1 + e.stale;
  if (stale_live == live) {  // nothing was named again: one clear
    if (live > 0 && obs) obs->allowed_ips_cleared(pub);
    clear_prefixes(e);
    return cost;
  }
  for (std::uint32_t i = 0; i < e.stale; ++i) {
    if (e.prefixes[i].len == kHole) continue;
    const IpPrefix p = e.prefixes[i];
    owner_.erase(p);
    if (obs) obs->allowed_ip_removed(pub, p);
  }
  e.prefixes.erase(e.prefixes.begin(), e.prefixes.begin() + e.stale);
  e.holes -= std::uint32_t(e.stale - stale_live);
  e.stale = 0;
  for (std::uint32_t i = 0; i < e.prefixes.size(); ++i)
    if (e.prefixes[i].len != kHole) owner_.find(e.prefixes[i])->second.pos = i;
  return cost + e.prefixes.size();
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
  auto it = find(pu.public_key);
  if (pu.remove) {
    if (it != peers_.end()) {
      erase_peer(it);
      if (obs) obs->peer_removed(pu.public_key);
    }
    return false;
  }
  if (it == peers_.end() || it->replaced) {
    if (pu.update_only) return false;
    if (it == peers_.end()) {
      add_peer(pu.public_key);
      it = std::prev(peers_.end());
      if (obs) obs->peer_added(pu.public_key);
    } else {
      recreate(it, pu, obs);
    }
  }
  c.peer_ = it;
  PeerState& ps = it->config;
  if (pu.preshared_key) {
    std::optional<Key> psk;
    if (!pu.preshared_key->is_zero()) psk = *pu.preshared_key;
    ps.preshared_key = psk;
    if (obs) obs->preshared_key_changed(pu.public_key, psk);
  }
  if (pu.endpoint) {
    ps.endpoint = *pu.endpoint;
    if (obs) obs->endpoint_set(pu.public_key, *pu.endpoint);
  }
  if (pu.persistent_keepalive_interval) {
    ps.persistent_keepalive_interval = *pu.persistent_keepalive_interval;
    if (obs) obs->keepalive_set(pu.public_key, ps.persistent_keepalive_interval);
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
    switch (c.phase_) {
      case Phase::kStart:
        if (c.checked_.key_changes) {
          // A device never has itself as a peer.
          if (c.checked_.public_key) {
            if (auto it = find(*c.checked_.public_key); it != peers_.end()) {
              erase_peer(it);
              if (obs) obs->peer_removed(*c.checked_.public_key);
            }
          }
          private_key_ = c.checked_.private_key;
          public_key_ = c.checked_.public_key;
          if (obs) obs->private_key_changed(private_key_);
        }
        if (u.listen_port) listen_port_ = *u.listen_port;
        if (u.fwmark) fwmark_ = *u.fwmark;
        c.cursor_ = peers_.begin();
        c.phase_ = u.replace_peers ? Phase::kReplace : Phase::kBlocks;
        ++spent;
        break;
      case Phase::kReplace: {
        // Every peer goes, unless a block names it again; those start again from defaults.
        if (c.cursor_ == peers_.end()) {
          c.phase_ = Phase::kBlocks;
          break;
        }
        Entry& e = *c.cursor_++;
        make_stale(e);
        if (!e.replaced) ++replaced_;
        e.replaced = true;
        ++spent;
        break;
      }
      case Phase::kBlocks: {
        if (c.block_ == u.peers.size()) {
          c.cursor_ = peers_.begin();
          c.phase_ = u.replace_peers ? Phase::kSweepPeers : Phase::kSweepPrefixes;
          break;
        }
        const PeerUpdate& pu = u.peers[c.block_];
        if (!c.block_started_) {
          c.block_started_ = true;
          c.op_ = 0;
          c.skip_block_ = !start_block(c, pu, obs);
          ++spent;
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
        if (c.cursor_ == peers_.end()) {
          c.phase_ = Phase::kSweepPrefixes;
          break;
        }
        auto it = c.cursor_++;
        if (it->replaced) {
          const Key pub = it->config.public_key;
          spent += 1 + it->prefixes.size();
          erase_peer(it);
          if (obs) obs->peer_removed(pub);
        } else {
          spent += sweep(*it, obs);
        }
        break;
      }
      case Phase::kSweepPrefixes: {
        // Peers whose allowed IPs were replaced: what the update did not name again goes.
        if (c.swept_ == sweep_.size()) {
          sweep_.clear();
          c.phase_ = Phase::kDone;
          break;
        }
        auto it = find(sweep_[c.swept_++]);
        if (it == peers_.end()) break;  // removed later in the update
        it->swept = false;
        spent += sweep(*it, obs);
        break;
      }
      case Phase::kDone:
        return true;
    }
  }
  return c.phase_ == Phase::kDone;
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

DeviceState ConfigModel::state() const {
  DeviceState s;
  s.private_key = private_key_;
  s.public_key = public_key_;
  s.listen_port = listen_port_;
  s.fwmark = fwmark_;
  s.peers.reserve(peers_.size());
  for (const auto& e : peers_) {
    s.peers.push_back(e.config);
    live_prefixes(e, s.peers.back().allowed_ips);
  }
  return s;
}

}  // namespace wgcore
