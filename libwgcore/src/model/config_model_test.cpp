// ConfigModel against a deliberately naive reference of WireGuard's set semantics (vectors and
// linear searches, written from the rules in config_apply.hpp), on random updates over a small
// universe of keys and prefixes so that moves, re-adds, replaces and removals collide often. The
// observer's operations are replayed onto a naive mirror of an engine, which must end up holding
// exactly what the model says; and at size, an update must cost the operations it names.
#include "model/config_model.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <random>
#include <set>
#include <string>

#include "model/config_apply.hpp"
#include "core/crypto/x25519.hpp"
#include "core/testing/fakes.hpp"

namespace wgcore {
namespace {

Key make_key(std::uint64_t seed) { return fakes::seeded_private_key(seed); }
Key public_of(const Key& priv) { return fakes::public_key_of(priv); }

using fakes::prefix4;

// ---- the slow reference: the rules of config_apply.hpp, one at a time, O(n) per step ----

void ref_take_prefix(DeviceState& s, const IpPrefix& p) {
  for (auto& peer : s.peers) std::erase(peer.allowed_ips, p);
}

DeviceState reference_apply(DeviceState s, const DeviceUpdate& u) {
  auto find = [&](const Key& k) -> PeerState* {
    for (auto& p : s.peers)
      if (p.public_key == k) return &p;
    return nullptr;
  };
  auto erase = [&](const Key& k) {
    std::erase_if(s.peers, [&](const PeerState& p) { return p.public_key == k; });
  };
  if (u.private_key) {
    Key sk = *u.private_key;
    if (sk.is_zero()) {
      s.private_key.reset();
      s.public_key.reset();
    } else {
      crypto::x25519_clamp(sk);
      if (!s.private_key || !(*s.private_key == sk)) {
        s.private_key = sk;
        s.public_key = public_of(sk);
        erase(*s.public_key);
      }
    }
  }
  if (u.listen_port) s.listen_port = *u.listen_port;
  if (u.fwmark) s.fwmark = *u.fwmark;
  if (u.replace_peers) s.peers.clear();
  const Key self = s.public_key.value_or(Key{});
  for (const auto& pu : u.peers) {
    if (pu.public_key == self) continue;
    if (pu.remove) {
      erase(pu.public_key);
      continue;
    }
    PeerState* p = find(pu.public_key);
    if (!p) {
      if (pu.update_only) continue;
      s.peers.push_back(PeerState{});
      p = &s.peers.back();
      p->public_key = pu.public_key;
    }
    if (pu.preshared_key) {
      if (pu.preshared_key->is_zero())
        p->preshared_key.reset();
      else
        p->preshared_key = *pu.preshared_key;
    }
    if (pu.endpoint) p->endpoint = *pu.endpoint;
    if (pu.persistent_keepalive_interval) p->persistent_keepalive_interval = *pu.persistent_keepalive_interval;
    for (const auto& op : pu.allowed_ips) {
      const IpPrefix c = op.prefix.canonical();
      if (op.kind == AllowedIpOp::Kind::kReplaceAll) {
        p->allowed_ips.clear();
      } else if (op.kind == AllowedIpOp::Kind::kAdd) {
        ref_take_prefix(s, c);
        p->allowed_ips.push_back(c);
      } else {
        std::erase(p->allowed_ips, c);
      }
    }
  }
  return s;
}

// ---- a naive engine: what the observer's operations build ----

struct MirrorEngine : ConfigObserver {
  std::optional<Key> private_key;
  std::map<Key, std::uint16_t> keepalive;
  std::map<Key, std::optional<Key>> psk;
  std::map<IpPrefix, Key> owner;
  std::set<Key> peers;
  std::size_t ops = 0;

  void private_key_changed(const std::optional<Key>& k) override {
    ++ops;
    private_key = k;
  }
  void peer_added(const Key& k) override {
    ++ops;
    EXPECT_TRUE(peers.insert(k).second) << "added twice";
  }
  void peer_removed(const Key& k) override {
    ++ops;
    EXPECT_EQ(peers.erase(k), 1u) << "removed a peer that was not there";
    std::erase_if(owner, [&](const auto& kv) { return kv.second == k; });
    keepalive.erase(k);
    psk.erase(k);
  }
  void preshared_key_changed(const Key& k, const std::optional<Key>& p) override {
    ++ops;
    EXPECT_TRUE(peers.count(k));
    psk[k] = p;
  }
  void endpoint_set(const Key& k, const Endpoint&) override {
    ++ops;
    EXPECT_TRUE(peers.count(k));
  }
  void keepalive_set(const Key& k, std::uint16_t s) override {
    ++ops;
    EXPECT_TRUE(peers.count(k));
    keepalive[k] = s;
  }
  void allowed_ip_added(const Key& k, const IpPrefix& p) override {
    ++ops;
    EXPECT_TRUE(peers.count(k));
    owner[p] = k;
  }
  void allowed_ip_removed(const Key& k, const IpPrefix& p) override {
    ++ops;
    auto it = owner.find(p);
    ASSERT_TRUE(it != owner.end() && it->second == k) << "removed a prefix the peer did not hold";
    owner.erase(it);
  }
  void allowed_ips_cleared(const Key& k) override {
    ++ops;
    std::erase_if(owner, [&](const auto& kv) { return kv.second == k; });
  }
};

// The mirror holds the same peers, prefixes, keepalives and preshared keys as the state.
void expect_mirror_matches(const MirrorEngine& m, const DeviceState& s) {
  std::set<Key> keys;
  std::map<IpPrefix, Key> owner;
  for (const auto& p : s.peers) {
    keys.insert(p.public_key);
    for (const auto& ip : p.allowed_ips) owner[ip] = p.public_key;
    auto ka = m.keepalive.find(p.public_key);
    EXPECT_EQ(ka == m.keepalive.end() ? 0 : ka->second, p.persistent_keepalive_interval);
    auto ps = m.psk.find(p.public_key);
    EXPECT_EQ(ps == m.psk.end() ? std::nullopt : ps->second, p.preshared_key);
  }
  EXPECT_EQ(m.peers, keys);
  EXPECT_EQ(m.owner, owner);
  EXPECT_EQ(m.private_key, s.private_key);
}

DeviceUpdate random_update(std::mt19937& rng, const std::vector<Key>& keys,
                           const std::vector<Key>& privs) {
  auto pick = [&](std::size_t n) { return std::size_t(rng() % n); };
  DeviceUpdate u;
  if (pick(12) == 0) u.private_key = pick(4) == 0 ? Key{} : privs[pick(privs.size())];
  if (pick(10) == 0) u.listen_port = std::uint16_t(pick(3) * 1000);
  if (pick(25) == 0) u.replace_peers = true;
  const std::size_t blocks = 1 + pick(5);
  for (std::size_t b = 0; b < blocks; ++b) {
    PeerUpdate p;
    p.public_key = keys[pick(keys.size())];
    if (pick(10) == 0) {
      p.remove = true;
      u.peers.push_back(p);
      continue;
    }
    p.update_only = pick(6) == 0;
    if (pick(5) == 0) p.preshared_key = pick(3) == 0 ? Key{} : keys[pick(keys.size())];
    if (pick(4) == 0)
      p.endpoint = Endpoint::make(IpAddr::v4(0xc6336400u + std::uint32_t(pick(3))), 51820);
    if (pick(5) == 0) p.persistent_keepalive_interval = std::uint16_t(pick(3) * 25);
    const std::size_t ops = pick(8);
    for (std::size_t i = 0; i < ops; ++i) {
      const std::size_t what = pick(10);
      // Prefixes from a small set (with host bits set sometimes) so that owners collide.
      IpPrefix pre;
      pre.addr = IpAddr::v4(0x0a000000u + std::uint32_t(pick(12) << 8) + std::uint32_t(pick(2)));
      pre.len = pick(4) == 0 ? 16 : 24;
      if (what == 0)
        p.allowed_ips.push_back({AllowedIpOp::Kind::kReplaceAll, {}});
      else if (what < 4)
        p.allowed_ips.push_back({AllowedIpOp::Kind::kRemove, pre});
      else
        p.allowed_ips.push_back({AllowedIpOp::Kind::kAdd, pre});
    }
    u.peers.push_back(p);
  }
  return u;
}

// Commits in random slices of 1..4 changes: the result must not depend on where slices end.
Status apply_sliced(ConfigModel& model, const DeviceUpdate& u, ConfigObserver* obs, std::mt19937& rng) {
  auto checked = model.check(u);
  if (!checked) return checked.error();
  ConfigModel::Commit c(*checked);
  while (!model.step(c, obs, 1 + rng() % 4)) {
  }
  return {};
}

TEST(ConfigModel, MatchesTheNaiveReferenceOnRandomUpdates) {
  std::vector<Key> privs = {make_key(101), make_key(102), make_key(103)};
  std::vector<Key> keys;
  for (std::uint64_t i = 0; i < 8; ++i) keys.push_back(public_of(make_key(i + 1)));
  // Two of the peer keys are the device's own possible identities, so self-removal is exercised.
  keys.push_back(public_of(privs[0]));
  keys.push_back(public_of(privs[1]));
  for (unsigned seed = 1; seed <= 40; ++seed) {
    std::mt19937 rng(seed);
    ConfigModel model;
    MirrorEngine mirror;
    DeviceState ref;
    DeviceState copy;  // apply_update's way: a model built from the state each time
    for (int step = 0; step < 120; ++step) {
      DeviceUpdate u = random_update(rng, keys, privs);
      // Odd seeds commit in slices, as the device does under a large update.
      ASSERT_TRUE(seed % 2 ? apply_sliced(model, u, &mirror, rng) : model.apply(u, &mirror));
      ref = reference_apply(std::move(ref), u);
      auto next = apply_update(copy, u);
      ASSERT_TRUE(next.ok());
      copy = std::move(*next);
      DeviceState got = model.state();
      ASSERT_EQ(got.peers.size(), ref.peers.size()) << "seed " << seed << " step " << step;
      ASSERT_EQ(copy.peers.size(), ref.peers.size()) << "seed " << seed << " step " << step;
      for (std::size_t i = 0; i < ref.peers.size(); ++i) {
        // A live model leaves endpoints to its engine (engine_state reads them there); the
        // model on a copy keeps them.
        EXPECT_FALSE(got.peers[i].endpoint) << "a live model kept an endpoint";
        got.peers[i].endpoint = ref.peers[i].endpoint;
        ASSERT_TRUE(same_peer_config(got.peers[i], ref.peers[i]))
            << "seed " << seed << " step " << step << " peer " << i;
        ASSERT_TRUE(same_peer_config(copy.peers[i], ref.peers[i]))
            << "seed " << seed << " step " << step << " peer " << i << " (apply_update)";
      }
      ASSERT_EQ(got.private_key, ref.private_key);
      ASSERT_EQ(got.public_key, ref.public_key);
      ASSERT_EQ(got.listen_port, ref.listen_port);
      ASSERT_EQ(model.peer_count(), ref.peers.size());
      expect_mirror_matches(mirror, got);
      if (HasFailure()) FAIL() << "seed " << seed << " step " << step;
    }
  }
}

TEST(ConfigModel, ApplyUpdateIsTheModelOnACopy) {
  std::mt19937 rng(7);
  std::vector<Key> privs = {make_key(201)};
  std::vector<Key> keys;
  for (std::uint64_t i = 0; i < 5; ++i) keys.push_back(public_of(make_key(i + 50)));
  DeviceState s;
  s.name = "wg9";
  s.drops = {{"replay", 3}};
  for (int step = 0; step < 200; ++step) {
    DeviceUpdate u = random_update(rng, keys, privs);
    auto next = apply_update(s, u);
    ASSERT_TRUE(next);
    DeviceState ref = reference_apply(s, u);
    ASSERT_EQ(next->peers.size(), ref.peers.size());
    for (std::size_t i = 0; i < ref.peers.size(); ++i)
      ASSERT_TRUE(same_peer_config(next->peers[i], ref.peers[i])) << "step " << step;
    EXPECT_EQ(next->name, "wg9");
    EXPECT_EQ(next->drops, s.drops);
    s = std::move(*next);
  }
}

TEST(ConfigModel, InvalidUpdateChangesNothingAndTellsNobody) {
  ConfigModel model;
  MirrorEngine mirror;
  DeviceUpdate good;
  PeerUpdate p;
  p.public_key = public_of(make_key(1));
  p.allowed_ips = {{AllowedIpOp::Kind::kAdd, prefix4(0x0a000000u, 24)}};
  good.peers.push_back(p);
  ASSERT_TRUE(model.apply(good, &mirror));
  const std::size_t ops = mirror.ops;
  DeviceState before = model.state();

  DeviceUpdate bad;
  PeerUpdate q = p;
  q.allowed_ips = {{AllowedIpOp::Kind::kReplaceAll, {}}};
  bad.peers.push_back(q);  // would clear the prefix, but the next block is invalid
  PeerUpdate r;
  r.public_key = public_of(make_key(2));
  r.protocol_version = 2;
  bad.peers.push_back(r);
  auto st = model.apply(bad, &mirror);
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().code, EINVAL);
  EXPECT_EQ(mirror.ops, ops);
  EXPECT_EQ(model.state(), before);
}

// The property the device relies on: next to 100 000 prefixes and 10 000 peers, an update
// performs the operations it names and nothing else (an O(total) path would show as thousands).
TEST(ConfigModel, AnUpdateCostsTheOperationsItNames) {
  ConfigModel model;
  MirrorEngine mirror;
  const Key big = public_of(make_key(1));
  {
    DeviceUpdate u;
    u.private_key = make_key(999);
    PeerUpdate p;
    p.public_key = big;
    for (std::uint32_t i = 0; i < 100'000; ++i)
      p.allowed_ips.push_back({AllowedIpOp::Kind::kAdd, prefix4(0x0a000000u + (i << 8), 24)});
    u.peers.push_back(p);
    for (std::uint64_t i = 0; i < 10'000; ++i) {
      PeerUpdate q;
      q.public_key = public_of(make_key(1000 + i));
      q.allowed_ips = {{AllowedIpOp::Kind::kAdd, prefix4(0xac100000u + std::uint32_t(i), 32)}};
      u.peers.push_back(q);
    }
    ASSERT_TRUE(model.apply(u, &mirror));
    ASSERT_EQ(model.prefix_count(), 110'000u);
  }
  auto cost = [&](const DeviceUpdate& u) {
    const std::size_t before = mirror.ops;
    EXPECT_TRUE(model.apply(u, &mirror));
    return mirror.ops - before;
  };
  using K = AllowedIpOp::Kind;
  EXPECT_EQ(cost(fakes::one_block(big, {{K::kAdd, prefix4(0xc0a80000u, 24)}}, {.update_only = true})), 1u);
  EXPECT_EQ(cost(fakes::one_block(big, {{K::kRemove, prefix4(0xc0a80000u, 24)}}, {.update_only = true})), 1u);
  const Key n = public_of(make_key(5));
  EXPECT_EQ(cost(fakes::one_block(n, {{K::kAdd, prefix4(0xc0a80100u, 24)}})), 2u);
  EXPECT_EQ(cost(fakes::one_block(n, {}, {.remove = true})), 1u);
  // A prefix moving from one peer to another: one operation (the new owner takes it).
  const Key m = public_of(make_key(1000));
  EXPECT_EQ(cost(fakes::one_block(m, {{K::kAdd, prefix4(0x0a000000u, 24)}})), 1u);
  EXPECT_EQ(model.prefix_count(), 110'000u);
  EXPECT_EQ(mirror.owner.at(prefix4(0x0a000000u, 24)), m);

  // Many removals from one peer: holes are closed as they pile up, and order is kept.
  DeviceUpdate thin;
  PeerUpdate t;
  t.public_key = big;
  for (std::uint32_t i = 1; i < 100'000; i += 2)
    t.allowed_ips.push_back({AllowedIpOp::Kind::kRemove, prefix4(0x0a000000u + (i << 8), 24)});
  thin.peers.push_back(t);
  EXPECT_EQ(cost(thin), 50'000u);
  std::vector<IpPrefix> left;
  model.for_each_peer([&](const PeerState& ps) {
    if (ps.public_key == big) left = ps.allowed_ips;
  });
  ASSERT_EQ(left.size(), 49'999u);  // 10.0.0.0/24 moved away above
  for (std::size_t i = 0; i < left.size(); ++i)
    ASSERT_EQ(left[i], prefix4(0x0a000000u + (std::uint32_t(2 * (i + 1)) << 8), 24)) << i;
}

// change_cost counts as the commit's steps do: a prefix 1, a new or removed peer 4, a peer's
// prefixes when they all go, and every peer for a new key or replace_peers. The device answers a
// UAPI set on its loop thread only when this is small.
TEST(ConfigModel, ChangeCostCountsWhatTheUpdateWillTouch) {
  ConfigModel model;
  const Key big = public_of(make_key(1)), small = public_of(make_key(2)), fresh = public_of(make_key(3));
  {
    DeviceUpdate u;
    PeerUpdate p;
    p.public_key = big;
    for (std::uint32_t i = 0; i < 1000; ++i)
      p.allowed_ips.push_back({AllowedIpOp::Kind::kAdd, prefix4(0x0a000000u + (i << 8), 24)});
    u.peers.push_back(p);
    PeerUpdate q;
    q.public_key = small;
    q.allowed_ips = {{AllowedIpOp::Kind::kAdd, prefix4(0xac100001u, 32)}};
    u.peers.push_back(q);
    ASSERT_TRUE(model.apply(u));
  }
  using K = AllowedIpOp::Kind;
  EXPECT_EQ(model.change_cost(fakes::one_block(big, {{K::kAdd, prefix4(0xc0a80000u, 24)}}, {.update_only = true})), 1u);
  EXPECT_EQ(model.change_cost(fakes::one_block(fresh, {{K::kAdd, prefix4(0xc0a80100u, 24)}})), 5u);
  EXPECT_EQ(model.change_cost(fakes::one_block(small, {}, {.remove = true})), 5u);
  EXPECT_EQ(model.change_cost(fakes::one_block(big, {}, {.remove = true})), 1004u);
  EXPECT_EQ(model.change_cost(fakes::one_block(big, {{K::kReplaceAll, {}}})), 1001u);
  DeviceUpdate key;
  key.private_key = make_key(9);
  EXPECT_EQ(model.change_cost(key), 2 * 4 + 1001u);
  DeviceUpdate setconf;
  setconf.replace_peers = true;
  EXPECT_EQ(model.change_cost(setconf), 2 * 4 + 1001u);
}

// `wg setconf` names the same peers again: they stay (a live backend keeps their sessions) with
// their configuration started over, and their order follows the update.
TEST(ConfigModel, ReplacePeersRecreatesNamedPeersAndRemovesTheRest) {
  ConfigModel model;
  MirrorEngine mirror;
  const Key a = public_of(make_key(1)), b = public_of(make_key(2)), c = public_of(make_key(3));
  DeviceUpdate first;
  for (const Key& k : {a, b, c}) {
    PeerUpdate p;
    p.public_key = k;
    p.persistent_keepalive_interval = 25;
    p.preshared_key = make_key(9);
    p.allowed_ips = {{AllowedIpOp::Kind::kAdd, prefix4(0x0a000000u + (std::uint32_t(k[0]) << 8), 24)}};
    first.peers.push_back(p);
  }
  ASSERT_TRUE(model.apply(first, &mirror));
  DeviceUpdate replace;
  replace.replace_peers = true;
  PeerUpdate pc;
  pc.public_key = c;
  replace.peers.push_back(pc);
  PeerUpdate pa;
  pa.public_key = a;
  pa.allowed_ips = {{AllowedIpOp::Kind::kAdd, prefix4(0x0b000000u, 8)}};
  replace.peers.push_back(pa);
  ASSERT_TRUE(model.apply(replace, &mirror));
  DeviceState s = model.state();
  ASSERT_EQ(s.peers.size(), 2u);
  EXPECT_EQ(s.peers[0].public_key, c);
  EXPECT_EQ(s.peers[1].public_key, a);
  EXPECT_TRUE(s.peers[0].allowed_ips.empty());
  EXPECT_EQ(s.peers[0].persistent_keepalive_interval, 0);
  EXPECT_FALSE(s.peers[0].preshared_key);
  EXPECT_EQ(s.peers[1].allowed_ips, std::vector<IpPrefix>{prefix4(0x0b000000u, 8)});
  expect_mirror_matches(mirror, s);
}

}  // namespace
}  // namespace wgcore

namespace wgcore {
namespace {

// What the datapath sees during `wg setconf` (replace_peers, and replace_allowed_ips on every
// block): a peer named again with the same prefixes never loses them, not even between slices,
// so its traffic keeps flowing; only what the new configuration leaves out is removed, at the end.
TEST(ConfigModel, SetconfNamingTheSamePrefixesNeverRemovesThem) {
  struct Recorder final : MirrorEngine {
    std::vector<std::string> removals;
    void allowed_ip_removed(const Key& k, const IpPrefix& p) override {
      removals.push_back(p.to_string());
      MirrorEngine::allowed_ip_removed(k, p);
    }
    void allowed_ips_cleared(const Key& k) override {
      removals.push_back("all");
      MirrorEngine::allowed_ips_cleared(k);
    }
    void peer_removed(const Key& k) override {
      removals.push_back("peer");
      MirrorEngine::peer_removed(k);
    }
  };
  for (std::size_t budget : {std::size_t(1), std::size_t(3), SIZE_MAX}) {
    ConfigModel model;
    Recorder rec;
    const Key b = public_of(make_key(1)), c = public_of(make_key(2));
    DeviceUpdate first;
    PeerUpdate pb;
    pb.public_key = b;
    pb.persistent_keepalive_interval = 25;
    pb.allowed_ips = {{AllowedIpOp::Kind::kAdd, prefix4(0xcb007102u, 32)},
                      {AllowedIpOp::Kind::kAdd, prefix4(0x0a000000u, 24)},
                      {AllowedIpOp::Kind::kAdd, prefix4(0x0a000100u, 24)}};
    first.peers.push_back(pb);
    PeerUpdate pc;
    pc.public_key = c;
    pc.allowed_ips = {{AllowedIpOp::Kind::kAdd, prefix4(0x0b000000u, 24)}};
    first.peers.push_back(pc);
    ASSERT_TRUE(model.apply(first, &rec));
    const std::size_t ops_before = rec.ops;

    DeviceUpdate setconf;  // b again, without 10.0.1.0/24; c left out
    setconf.replace_peers = true;
    PeerUpdate again;
    again.public_key = b;
    again.persistent_keepalive_interval = 25;
    again.allowed_ips = {{AllowedIpOp::Kind::kReplaceAll, {}},
                         {AllowedIpOp::Kind::kAdd, prefix4(0xcb007102u, 32)},
                         {AllowedIpOp::Kind::kAdd, prefix4(0x0a000000u, 24)}};
    setconf.peers.push_back(again);
    auto checked = model.check(setconf);
    ASSERT_TRUE(checked);
    ConfigModel::Commit commit(*checked);
    std::size_t slices = 0;
    while (!model.step(commit, &rec, budget)) {
      ++slices;
      // Between slices b's prefixes that the update names are never gone.
      EXPECT_EQ(rec.owner.count(prefix4(0xcb007102u, 32)), 1u) << "slice " << slices;
      EXPECT_EQ(rec.owner.count(prefix4(0x0a000000u, 24)), 1u) << "slice " << slices;
      EXPECT_EQ(rec.keepalive[b], 25) << "keepalive switched off and on again";
    }
    // Removed: peer c (with its prefix), then 10.0.1.0/24 of b (b moved last); nothing else.
    EXPECT_EQ(rec.removals, (std::vector<std::string>{"peer", "10.0.1.0/24"})) << "budget " << budget;
    // Changes told: b's keepalive (the block sets it), 2 re-adds, 1 removal, peer c removed.
    EXPECT_EQ(rec.ops - ops_before, 5u) << "budget " << budget;
    DeviceState s = model.state();
    ASSERT_EQ(s.peers.size(), 1u);
    EXPECT_EQ(s.peers[0].allowed_ips, (std::vector<IpPrefix>{prefix4(0xcb007102u, 32), prefix4(0x0a000000u, 24)}));
    expect_mirror_matches(rec, s);
  }
}

}  // namespace
}  // namespace wgcore

namespace wgcore {
namespace {

// Large removals (a peer with 1 000 prefixes removed; a setconf that keeps half of a large list)
// run as drains across many small slices, end exactly where the reference does, and tell the
// observer one removal per prefix.
TEST(ConfigModel, LargeRemovalsAreDrainedInSlices) {
  const Key a = public_of(make_key(1)), b = public_of(make_key(2));
  auto big_block = [&](const Key& k, std::uint32_t base, int n, bool replace) {
    PeerUpdate p;
    p.public_key = k;
    if (replace) p.allowed_ips.push_back({AllowedIpOp::Kind::kReplaceAll, {}});
    for (int i = 0; i < n; ++i)
      p.allowed_ips.push_back({AllowedIpOp::Kind::kAdd, prefix4(base + (std::uint32_t(i) << 8), 24)});
    return p;
  };
  DeviceUpdate first;
  first.peers = {big_block(a, 0x0a000000u, 1000, false), big_block(b, 0x0b000000u, 1000, false)};
  std::vector<DeviceUpdate> steps;
  DeviceUpdate remove_a;  // a goes, then comes back with one prefix in the same update
  PeerUpdate gone;
  gone.public_key = a;
  gone.remove = true;
  remove_a.peers = {gone, big_block(a, 0x0c000000u, 1, false)};
  steps.push_back(remove_a);
  DeviceUpdate keep_half;  // setconf naming b again with every other prefix, a left out
  keep_half.replace_peers = true;
  PeerUpdate half;
  half.public_key = b;
  half.allowed_ips.push_back({AllowedIpOp::Kind::kReplaceAll, {}});
  for (int i = 0; i < 1000; i += 2)
    half.allowed_ips.push_back({AllowedIpOp::Kind::kAdd, prefix4(0x0b000000u + (std::uint32_t(i) << 8), 24)});
  keep_half.peers = {half};
  steps.push_back(keep_half);
  DeviceUpdate replace_b;  // replace_allowed_ips on b without replace_peers, nothing named again
  replace_b.peers = {big_block(b, 0x0d000000u, 3, true)};
  steps.push_back(replace_b);

  ConfigModel model;
  MirrorEngine mirror;
  ASSERT_TRUE(model.apply(first, &mirror));
  DeviceState ref = reference_apply(DeviceState{}, first);
  for (std::size_t s = 0; s < steps.size(); ++s) {
    auto checked = model.check(steps[s]);
    ASSERT_TRUE(checked);
    ConfigModel::Commit c(*checked);
    std::size_t slices = 1;
    while (!model.step(c, &mirror, 7)) ++slices;
    ref = reference_apply(std::move(ref), steps[s]);
    DeviceState got = model.state();
    ASSERT_EQ(got.peers.size(), ref.peers.size()) << "step " << s;
    for (std::size_t i = 0; i < ref.peers.size(); ++i)
      EXPECT_TRUE(same_peer_config(got.peers[i], ref.peers[i])) << "step " << s << " peer " << i;
    expect_mirror_matches(mirror, got);
    EXPECT_GT(slices, 60u) << "step " << s << ": a 500+ prefix removal was not spread over slices";
  }
}

}  // namespace
}  // namespace wgcore
