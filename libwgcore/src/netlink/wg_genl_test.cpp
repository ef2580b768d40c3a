// Tests of the wireguard genl encoding against bytes captured from stock `wg` and the 6.1 kernel
// (wg_genl_test_captures.hpp), plus randomized split/reassembly checks and the plan semantics.
#include "netlink/wg_genl.hpp"

#include <gtest/gtest.h>
#include <linux/genetlink.h>
#include <linux/netlink.h>

#include <algorithm>
#include <cstring>
#include <random>

#include "model/config_apply.hpp"
#include "core/crypto/x25519.hpp"
#include "netlink/wg_genl_test_captures.hpp"

namespace wgcore::netlink {
namespace {

Bytes from_hex(const char* h) {
  Bytes out(std::strlen(h) / 2);
  EXPECT_TRUE(hex_decode(std::string_view(h), out));
  return out;
}

Key key64(const char* b64) { return *key_from_base64(b64); }

// Sequence number and port id are the sender's; compare everything else.
Bytes without_seq_pid(Bytes m) {
  std::memset(m.data() + 8, 0, 8);
  return m;
}

std::uint16_t family_of(const Bytes& m) {
  nlmsghdr h;
  std::memcpy(&h, m.data(), sizeof h);
  return h.nlmsg_type;
}

IpPrefix pfx(const char* s) { return *IpPrefix::parse(s); }

// The plan `wg set` sent in the capture.
SetPlan captured_set_plan() {
  SetPlan plan;
  plan.private_key = key64(captured::kPrivateKey);
  plan.listen_port = 51820;
  plan.fwmark = 0x1234;
  NlPeer p1;
  p1.public_key = key64(captured::kPeer1);
  p1.flags = wg::kPeerFReplaceAllowedIps;
  p1.preshared_key = key64(captured::kPresharedKey);
  p1.endpoint = Endpoint::parse("192.0.2.1:51820");
  p1.persistent_keepalive_interval = 25;
  for (int i = 0; i < 200; ++i)
    p1.allowed_ips.push_back(
        {pfx(("10." + std::to_string(i / 256) + "." + std::to_string(i % 256) + ".0/24").c_str()),
         false});
  NlPeer p2;
  p2.public_key = key64(captured::kPeer2);
  p2.flags = wg::kPeerFRemoveMe;
  plan.peers = {p1, p2};
  return plan;
}

// Puts decoded message fragments back together the way the kernel applies them: an entry that
// carries only a key, flags without REPLACE and allowed IPs, right after an entry for the same
// key that was cut off, continues it.
std::vector<NlPeer> reassemble(const std::vector<DecodedSet>& parts) {
  std::vector<NlPeer> out;
  bool cut = false;
  for (const auto& d : parts) {
    for (std::size_t i = 0; i < d.plan.peers.size(); ++i) {
      const NlPeer& p = d.plan.peers[i];
      if (cut && i == 0 && !out.empty() && out.back().public_key == p.public_key) {
        auto& dst = out.back().allowed_ips;
        dst.insert(dst.end(), p.allowed_ips.begin(), p.allowed_ips.end());
      } else {
        out.push_back(p);
      }
    }
    cut = true;
  }
  return out;
}

TEST(WgGenl, EncodesTheCapturedSetByteForByte) {
  Bytes m1 = from_hex(captured::kSet1), m2 = from_hex(captured::kSet2);
  auto ours = encode_set(captured_set_plan(), family_of(m1), "wgc");
  ASSERT_TRUE(ours.ok()) << ours.error().message;
  ASSERT_EQ(ours->size(), 2u);
  EXPECT_EQ((*ours)[0], without_seq_pid(m1));
  EXPECT_EQ((*ours)[1], without_seq_pid(m2));
}

TEST(WgGenl, DecodesTheCapturedSet) {
  auto d1 = decode_set(from_hex(captured::kSet1));
  auto d2 = decode_set(from_hex(captured::kSet2));
  ASSERT_TRUE(d1.ok() && d2.ok());
  EXPECT_EQ(d1->ifname, "wgc");
  EXPECT_EQ(d1->plan.listen_port, 51820);
  EXPECT_EQ(d1->plan.fwmark, 0x1234u);
  EXPECT_FALSE(d2->plan.listen_port.has_value());  // device attributes only in the first
  SetPlan want = captured_set_plan();
  EXPECT_EQ(reassemble({*d1, *d2}), want.peers);
  // The continuation repeats the key and nothing else but allowed IPs.
  ASSERT_FALSE(d2->plan.peers.empty());
  EXPECT_EQ(d2->plan.peers[0].flags, 0u);
  EXPECT_FALSE(d2->plan.peers[0].endpoint.has_value());
}

TEST(WgGenl, ParsesTheCapturedDumpAcrossMessages) {
  Bytes b1 = from_hex(captured::kDump1), b2 = from_hex(captured::kDump2);
  std::vector<Bytes> msgs;
  for (const Bytes* b : {&b1, &b2}) {
    auto split = split_messages(*b);
    ASSERT_TRUE(split.ok());
    for (auto m : *split) msgs.emplace_back(m.begin(), m.end());
  }
  ASSERT_GE(msgs.size(), 3u);  // two GET_DEVICE parts + NLMSG_DONE
  auto s = parse_get_dump(msgs);
  ASSERT_TRUE(s.ok()) << s.error().message;
  EXPECT_EQ(s->name, "wgc");
  Key priv = key64(captured::kPrivateKey);
  crypto::x25519_clamp(priv);  // the kernel stores and reports the clamped key
  Key pub;
  ASSERT_TRUE(crypto::x25519_public(pub, priv));
  EXPECT_EQ(s->private_key, priv);
  EXPECT_EQ(s->public_key, pub);
  EXPECT_EQ(s->listen_port, 51820);
  EXPECT_EQ(s->fwmark, 0x1234u);
  ASSERT_EQ(s->peers.size(), 2u);
  const PeerState& p1 = s->peers[0];
  EXPECT_EQ(p1.public_key, key64(captured::kPeer1));
  EXPECT_EQ(p1.preshared_key, key64(captured::kPresharedKey));
  EXPECT_EQ(p1.endpoint->to_string(), "192.0.2.1:51820");
  EXPECT_EQ(p1.persistent_keepalive_interval, 25);
  EXPECT_EQ(p1.last_handshake_time_sec, 0);
  EXPECT_EQ(p1.protocol_version, 1);
  ASSERT_EQ(p1.allowed_ips.size(), 200u);
  for (int i = 0; i < 200; ++i)
    EXPECT_EQ(p1.allowed_ips[i].to_string(),
              "10." + std::to_string(i / 256) + "." + std::to_string(i % 256) + ".0/24");
  const PeerState& p2 = s->peers[1];
  EXPECT_EQ(p2.public_key, key64(captured::kPeer2));
  EXPECT_FALSE(p2.preshared_key.has_value());  // the kernel sends zeros for "none"
  EXPECT_EQ(p2.endpoint->to_string(), "[2001:db8::1]:443");
  ASSERT_EQ(p2.allowed_ips.size(), 1u);
  EXPECT_EQ(p2.allowed_ips[0].to_string(), "fd00::/64");
}

TEST(WgGenl, DumpInterruptedFlagIsReported) {
  Bytes b1 = from_hex(captured::kDump1);
  auto split = split_messages(b1);
  ASSERT_TRUE(split.ok());
  Bytes m((*split)[0].begin(), (*split)[0].end());
  nlmsghdr h;
  std::memcpy(&h, m.data(), sizeof h);
  h.nlmsg_flags |= NLM_F_DUMP_INTR;
  std::memcpy(m.data(), &h, sizeof h);
  auto s = parse_get_dump({m});
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().code, EINTR);
}

TEST(WgGenl, RejectsMalformedAttributes) {
  Bytes b1 = from_hex(captured::kDump1);
  auto split = split_messages(b1);
  ASSERT_TRUE(split.ok());
  Bytes m((*split)[0].begin(), (*split)[0].end());
  // First attribute after the genl header: claim a length past the end.
  std::uint16_t bad = 0xfff0;
  std::memcpy(m.data() + 20, &bad, sizeof bad);
  DumpParser p;
  EXPECT_FALSE(p.add(m).ok());
  EXPECT_FALSE(split_messages(ByteView(b1.data(), 10)).ok());
}

Key rand_key(std::mt19937& rng) {
  Key k;
  for (std::size_t i = 0; i < kKeyLen; ++i) k[i] = static_cast<std::uint8_t>(rng());
  return k;
}

IpPrefix rand_prefix(std::mt19937& rng) {
  IpPrefix p;
  if (rng() % 2) {
    p.addr = IpAddr::v4(static_cast<std::uint32_t>(rng()));
    p.len = static_cast<std::uint8_t>(rng() % 33);
  } else {
    std::uint8_t b[16];
    for (auto& x : b) x = static_cast<std::uint8_t>(rng());
    p.addr = IpAddr::v6_bytes(b);
    p.len = static_cast<std::uint8_t>(rng() % 129);
  }
  return p;
}

SetPlan rand_plan(std::mt19937& rng) {
  SetPlan plan;
  if (rng() % 2) plan.private_key = rand_key(rng);
  if (rng() % 2) plan.listen_port = static_cast<std::uint16_t>(rng());
  if (rng() % 2) plan.fwmark = static_cast<std::uint32_t>(rng());
  plan.replace_peers = rng() % 2;
  int n = static_cast<int>(rng() % 12);
  for (int i = 0; i < n; ++i) {
    NlPeer p;
    p.public_key = rand_key(rng);
    p.flags = static_cast<std::uint32_t>(rng() % 8);
    if (rng() % 2) p.preshared_key = rand_key(rng);
    if (rng() % 3 == 0) p.endpoint = Endpoint::make(rand_prefix(rng).addr, 51820);
    if (rng() % 2) p.persistent_keepalive_interval = static_cast<std::uint16_t>(rng() % 100);
    int k = static_cast<int>(rng() % 40);
    for (int j = 0; j < k; ++j) p.allowed_ips.push_back({rand_prefix(rng), rng() % 4 == 0});
    plan.peers.push_back(p);
  }
  return plan;
}

// Randomized: any plan, any limit that fits one peer header, reassembles to itself, every
// message within the limit, device attributes only in the first.
TEST(WgGenl, SplitSetsReassembleToThePlan) {
  std::mt19937 rng(12345);
  for (int iter = 0; iter < 400; ++iter) {
    SetPlan plan = rand_plan(rng);
    std::size_t limit = 220 + rng() % 2000;
    auto msgs = encode_set(plan, 0x1b, "wg-test", limit);
    ASSERT_TRUE(msgs.ok()) << msgs.error().message;
    std::vector<DecodedSet> parts;
    for (std::size_t i = 0; i < msgs->size(); ++i) {
      const Bytes& m = (*msgs)[i];
      ASSERT_LE(m.size(), limit);
      auto d = decode_set(m);
      ASSERT_TRUE(d.ok());
      EXPECT_EQ(d->ifname, "wg-test");
      if (i > 0) {
        EXPECT_FALSE(d->plan.private_key || d->plan.listen_port || d->plan.fwmark ||
                     d->plan.replace_peers);
        // A continued peer keeps REMOVE_ME / UPDATE_ONLY but never REPLACE_ALLOWEDIPS.
        if (!d->plan.peers.empty() && !parts.back().plan.peers.empty() &&
            d->plan.peers[0].public_key == parts.back().plan.peers.back().public_key) {
          EXPECT_EQ(d->plan.peers[0].flags & wg::kPeerFReplaceAllowedIps, 0u);
        }
      }
      parts.push_back(*d);
    }
    EXPECT_EQ(parts[0].plan.private_key, plan.private_key);
    EXPECT_EQ(parts[0].plan.listen_port, plan.listen_port);
    EXPECT_EQ(parts[0].plan.fwmark, plan.fwmark);
    EXPECT_EQ(parts[0].plan.replace_peers, plan.replace_peers);
    // Peers with identical keys in a row would be merged by reassemble; random keys never are.
    EXPECT_EQ(reassemble(parts), plan.peers) << "iteration " << iter << " limit " << limit;
  }
}

TEST(WgGenl, TooSmallLimitIsAnErrorNotALoop) {
  SetPlan plan;
  NlPeer p;
  p.preshared_key = Key{};
  p.allowed_ips.push_back({pfx("10.0.0.0/8"), false});
  plan.peers.push_back(p);
  auto r = encode_set(plan, 0x1b, "wg0", 60);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, EMSGSIZE);
}

// --- plan_set: the DeviceUpdate -> kernel entries translation -----------------------------------

Key pubkey(int i) {
  Key k;
  k[0] = static_cast<std::uint8_t>(i);
  k[1] = 0x55;
  return k;
}

DeviceState state_with(std::vector<std::pair<int, std::vector<const char*>>> peers) {
  DeviceState s;
  for (auto& [i, ips] : peers) {
    PeerState p;
    p.public_key = pubkey(i);
    for (auto* ip : ips) p.allowed_ips.push_back(pfx(ip));
    s.peers.push_back(p);
  }
  return s;
}

// A tiny model of the kernel's set semantics over a state, to check that a plan does what
// apply_update says the update does.
DeviceState kernel_apply(DeviceState s, const SetPlan& plan) {
  if (plan.replace_peers) s.peers.clear();
  for (const auto& e : plan.peers) {
    PeerState* p = nullptr;
    for (auto& q : s.peers)
      if (q.public_key == e.public_key) p = &q;
    if (!p) {
      if (e.flags & (wg::kPeerFRemoveMe | wg::kPeerFUpdateOnly)) continue;
      s.peers.push_back(PeerState{});
      p = &s.peers.back();
      p->public_key = e.public_key;
    }
    if (e.flags & wg::kPeerFRemoveMe) {
      std::erase_if(s.peers, [&](const PeerState& q) { return q.public_key == e.public_key; });
      continue;
    }
    if (e.preshared_key)
      p->preshared_key =
          e.preshared_key->is_zero() ? std::nullopt : std::optional(*e.preshared_key);
    if (e.endpoint) p->endpoint = e.endpoint;
    if (e.flags & wg::kPeerFReplaceAllowedIps) p->allowed_ips.clear();
    for (const auto& a : e.allowed_ips) {
      IpPrefix c = a.prefix.canonical();
      if (a.remove) {
        std::erase(p->allowed_ips, c);
        continue;
      }
      for (auto& q : s.peers) std::erase(q.allowed_ips, c);
      p->allowed_ips.push_back(c);
    }
    if (e.persistent_keepalive_interval)
      p->persistent_keepalive_interval = *e.persistent_keepalive_interval;
  }
  return s;
}

// Allowed IPs are compared as sets: re-adding a prefix a peer already holds moves it to the end
// of the kernel's list (list_move_tail in allowedips.c add()), while apply_update keeps it in
// place, so only the listing order can differ.
void expect_same_config(DeviceState a, DeviceState b) {
  ASSERT_EQ(a.peers.size(), b.peers.size());
  for (std::size_t i = 0; i < a.peers.size(); ++i) {
    std::sort(a.peers[i].allowed_ips.begin(), a.peers[i].allowed_ips.end());
    std::sort(b.peers[i].allowed_ips.begin(), b.peers[i].allowed_ips.end());
    EXPECT_TRUE(same_peer_config(a.peers[i], b.peers[i])) << "peer " << i;
  }
}

TEST(WgGenlPlan, InterleavedOpsBecomeSeparateEntries) {
  DeviceState cur = state_with({{1, {"10.0.0.0/24"}}, {2, {"10.0.1.0/24"}}});
  DeviceUpdate u;
  PeerUpdate p;
  p.public_key = pubkey(1);
  p.update_only = true;
  p.allowed_ips = {{AllowedIpOp::Kind::kAdd, pfx("10.0.1.0/24")},  // taken from peer 2
                   {AllowedIpOp::Kind::kReplaceAll, {}},
                   {AllowedIpOp::Kind::kAdd, pfx("10.0.2.0/24")}};
  u.peers.push_back(p);
  auto plan = plan_set(cur, u, KernelCaps{});
  ASSERT_TRUE(plan.ok());
  ASSERT_EQ(plan->peers.size(), 2u);
  EXPECT_EQ(plan->peers[0].flags, wg::kPeerFUpdateOnly);
  EXPECT_EQ(plan->peers[1].flags, wg::kPeerFUpdateOnly | wg::kPeerFReplaceAllowedIps);
  auto want = apply_update(cur, u);
  ASSERT_TRUE(want.ok());
  expect_same_config(kernel_apply(cur, *plan), *want);
}

TEST(WgGenlPlan, SingleRemovalUsesTheFlagOrIsEmulated) {
  DeviceState cur = state_with({{1, {"10.0.0.0/24", "10.0.3.0/24"}}, {2, {"10.0.1.0/24"}}});
  DeviceUpdate u;
  PeerUpdate p;
  p.public_key = pubkey(1);
  p.allowed_ips = {{AllowedIpOp::Kind::kAdd, pfx("10.0.1.0/24")},
                   {AllowedIpOp::Kind::kRemove, pfx("10.0.1.0/24")},
                   {AllowedIpOp::Kind::kRemove, pfx("10.0.0.0/24")}};
  u.peers.push_back(p);
  auto want = apply_update(cur, u);
  ASSERT_TRUE(want.ok());

  auto flagged = plan_set(cur, u, KernelCaps{true});
  ASSERT_TRUE(flagged.ok());
  ASSERT_EQ(flagged->peers.size(), 1u);
  EXPECT_TRUE(flagged->peers[0].allowed_ips[1].remove);
  expect_same_config(kernel_apply(cur, *flagged), *want);

  auto emulated = plan_set(cur, u, KernelCaps{false});
  ASSERT_TRUE(emulated.ok());
  for (const auto& e : emulated->peers)
    for (const auto& a : e.allowed_ips) EXPECT_FALSE(a.remove);
  ASSERT_EQ(emulated->peers.size(), 2u);
  EXPECT_EQ(emulated->peers[1].flags, wg::kPeerFReplaceAllowedIps);
  expect_same_config(kernel_apply(cur, *emulated), *want);
  // Peer 2 lost 10.0.1.0/24 to peer 1, which then dropped it: nobody has it.
  EXPECT_TRUE(want->peers[1].allowed_ips.empty());
}

TEST(WgGenlPlan, InvalidUpdateIsRejectedBeforePlanning) {
  DeviceUpdate u;
  PeerUpdate p;
  p.public_key = pubkey(1);
  p.protocol_version = 2;
  u.peers.push_back(p);
  auto plan = plan_set(DeviceState{}, u, KernelCaps{});
  ASSERT_FALSE(plan.ok());
  EXPECT_EQ(plan.error().code, EINVAL);
}

// Randomized against apply_update: for random states and updates (adds, clears, single
// removals, removals of peers, update_only), the kernel model applied to the plan gives the
// state apply_update computes, with the flag and with the emulation.
TEST(WgGenlPlan, RandomUpdatesMatchApplyUpdate) {
  std::mt19937 rng(777);
  auto small_prefix = [&] {
    return pfx(("10.0." + std::to_string(rng() % 6) + ".0/24").c_str());
  };
  for (int iter = 0; iter < 500; ++iter) {
    DeviceState cur;
    for (int i = 0; i < 4; ++i) {
      if (rng() % 2) continue;
      PeerState p;
      p.public_key = pubkey(i);
      cur.peers.push_back(p);
    }
    // Give prefixes to at most one peer each, as the kernel would.
    for (int j = 0; j < 6 && !cur.peers.empty(); ++j)
      if (rng() % 2) {
        auto& p = cur.peers[rng() % cur.peers.size()];
        IpPrefix x = small_prefix();
        bool taken = false;
        for (auto& q : cur.peers)
          for (auto& y : q.allowed_ips) taken = taken || y == x;
        if (!taken) p.allowed_ips.push_back(x);
      }
    DeviceUpdate u;
    u.replace_peers = rng() % 8 == 0;
    int blocks = static_cast<int>(rng() % 5);
    for (int b = 0; b < blocks; ++b) {
      PeerUpdate pu;
      pu.public_key = pubkey(static_cast<int>(rng() % 5));
      pu.remove = rng() % 6 == 0;
      pu.update_only = rng() % 4 == 0;
      if (rng() % 3 == 0) pu.persistent_keepalive_interval = static_cast<std::uint16_t>(rng() % 30);
      int ops = static_cast<int>(rng() % 5);
      for (int o = 0; o < ops; ++o) {
        unsigned k = rng() % 5;
        if (k == 0) pu.allowed_ips.push_back({AllowedIpOp::Kind::kReplaceAll, {}});
        else if (k <= 2) pu.allowed_ips.push_back({AllowedIpOp::Kind::kAdd, small_prefix()});
        else pu.allowed_ips.push_back({AllowedIpOp::Kind::kRemove, small_prefix()});
      }
      u.peers.push_back(pu);
    }
    auto want = apply_update(cur, u);
    ASSERT_TRUE(want.ok());
    for (bool flag : {false, true}) {
      auto plan = plan_set(cur, u, KernelCaps{flag});
      ASSERT_TRUE(plan.ok());
      SCOPED_TRACE("iteration " + std::to_string(iter) + (flag ? " flag" : " emulated"));
      expect_same_config(kernel_apply(cur, *plan), *want);
    }
  }
}

TEST(WgGenlPlan, RestoreUndoesAPartialApply) {
  DeviceState before = state_with({{1, {"10.0.0.0/24"}}, {2, {"10.0.1.0/24"}}});
  before.peers[0].persistent_keepalive_interval = 5;
  DeviceUpdate u;
  u.replace_peers = true;
  PeerUpdate p;
  p.public_key = pubkey(3);
  p.allowed_ips = {{AllowedIpOp::Kind::kAdd, pfx("10.0.0.0/24")}};
  u.peers.push_back(p);
  auto plan = plan_set(before, u, KernelCaps{});
  ASSERT_TRUE(plan.ok());
  // Whatever prefix of the plan the kernel applied, the restore plan brings `before` back.
  DeviceState half = kernel_apply(before, *plan);
  DeviceState back = kernel_apply(half, plan_restore(before, *plan));
  expect_same_config(back, before);
}

TEST(WgGenlCaps, PolicyDumpDetectsAllowedIpFlags) {
  // Builds CTRL_CMD_GETPOLICY answers: policy idx -> attr -> {TYPE}.
  auto policy_msg = [](std::uint16_t idx, std::uint16_t attr, std::uint32_t type) {
    auto nla = [](std::uint16_t t, const Bytes& payload) {
      Bytes b(4 + ((payload.size() + 3) & ~std::size_t{3}), 0);
      std::uint16_t len = static_cast<std::uint16_t>(4 + payload.size());
      std::memcpy(b.data(), &len, 2);
      std::memcpy(b.data() + 2, &t, 2);
      std::memcpy(b.data() + 4, payload.data(), payload.size());
      return b;
    };
    Bytes t(4);
    std::memcpy(t.data(), &type, 4);
    Bytes inner = nla(attr | NLA_F_NESTED, nla(NL_POLICY_TYPE_ATTR_TYPE, t));
    Bytes pol = nla(CTRL_ATTR_POLICY | NLA_F_NESTED, nla(idx | NLA_F_NESTED, inner));
    Bytes m(20 + pol.size(), 0);
    std::memcpy(m.data() + 20, pol.data(), pol.size());
    std::uint32_t len = static_cast<std::uint32_t>(m.size());
    std::memcpy(m.data(), &len, 4);
    std::uint16_t type16 = GENL_ID_CTRL;
    std::memcpy(m.data() + 4, &type16, 2);
    return m;
  };
  std::vector<Bytes> old_kernel = {policy_msg(0, wg::kDeviceIfname, NL_ATTR_TYPE_NUL_STRING),
                                   policy_msg(0, wg::kDevicePeers, NL_ATTR_TYPE_NESTED)};
  EXPECT_FALSE(parse_caps_from_policy(old_kernel).allowedip_remove);
  std::vector<Bytes> no_flags = old_kernel;
  no_flags.push_back(policy_msg(2, wg::kAllowedIpCidrMask, NL_ATTR_TYPE_U8));
  EXPECT_FALSE(parse_caps_from_policy(no_flags).allowedip_remove);
  std::vector<Bytes> with_flags = no_flags;
  with_flags.push_back(policy_msg(2, wg::kAllowedIpFlags, NL_ATTR_TYPE_U32));
  EXPECT_TRUE(parse_caps_from_policy(with_flags).allowedip_remove);
  // Attribute 4 in a policy whose attribute 3 is not a u8 (the peer policy) does not count.
  std::vector<Bytes> peer_like = old_kernel;
  peer_like.push_back(policy_msg(1, 3, NL_ATTR_TYPE_U32));
  peer_like.push_back(policy_msg(1, 4, NL_ATTR_TYPE_BINARY));
  EXPECT_FALSE(parse_caps_from_policy(peer_like).allowedip_remove);
}

TEST(WgGenl, GetRequestLayout) {
  Bytes m = encode_get_request(0x1b, "wg0");
  nlmsghdr h;
  std::memcpy(&h, m.data(), sizeof h);
  EXPECT_EQ(h.nlmsg_len, m.size());
  EXPECT_EQ(h.nlmsg_type, 0x1b);
  EXPECT_EQ(h.nlmsg_flags, NLM_F_REQUEST | NLM_F_ACK | NLM_F_DUMP);
  EXPECT_EQ(m[16], wg::kCmdGetDevice);
  EXPECT_EQ(m[17], 1);
  // IFNAME "wg0\0": len 8, type 2.
  const std::uint8_t want[] = {8, 0, 2, 0, 'w', 'g', '0', 0};
  EXPECT_EQ(0, std::memcmp(m.data() + 20, want, sizeof want));
}

}  // namespace
}  // namespace wgcore::netlink
