// Tests for apply_update: each rule of wireguard-go's set semantics, then a differential test
// against a line-by-line interpreter written in the shape of wireguard-go's IpcSetOperation.
#include "model/config_apply.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <string>

#include "core/crypto/x25519.hpp"
#include "uapi/uapi_text.hpp"

namespace wgcore {
namespace {

Key key_of(std::uint8_t b) {
  Key k;
  for (std::size_t i = 0; i < k.size(); ++i) k[i] = b;
  return k;
}

Key key_hex(std::string_view h) { return key_from_hex(h).value_or(Key{}); }

IpPrefix pfx(std::string_view s) { return IpPrefix::parse(s).value_or(IpPrefix{}); }
Endpoint ep(std::string_view s) { return Endpoint::parse(s).value_or(Endpoint{}); }

// RFC 7748 section 6.1 (Alice): private key as printed, clamped form, public key.
const Key kAlicePriv =
    key_hex("77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a");
const Key kAlicePrivClamped =
    key_hex("70076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c6a");
const Key kAlicePub = key_hex("8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a");

const PeerState* find(const DeviceState& s, const Key& k) {
  for (const auto& p : s.peers)
    if (p.public_key == k) return &p;
  return nullptr;
}

PeerUpdate add_peer(std::uint8_t b, std::vector<std::string_view> ips = {}) {
  PeerUpdate p;
  p.public_key = key_of(b);
  for (auto ip : ips) p.allowed_ips.push_back({AllowedIpOp::Kind::kAdd, pfx(ip)});
  return p;
}

DeviceState apply_ok(const DeviceState& s, const DeviceUpdate& u) {
  auto r = apply_update(s, u);
  EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.error().message);
  return r.ok() ? *r : s;
}

DeviceState with_peers(std::vector<PeerUpdate> peers) {
  DeviceUpdate u;
  u.peers = std::move(peers);
  return apply_ok(DeviceState{}, u);
}

std::vector<IpPrefix> ips(std::vector<std::string_view> v) {
  std::vector<IpPrefix> out;
  for (auto s : v) out.push_back(pfx(s));
  return out;
}

TEST(ApplyUpdate, EmptyUpdateChangesNothing) {
  DeviceState s = with_peers({add_peer(1, {"10.0.0.0/8"})});
  s.name = "wg0";
  s.peers[0].rx_bytes = 5;
  EXPECT_TRUE(apply_ok(s, DeviceUpdate{}) == s);
}

TEST(ApplyUpdate, PrivateKeyIsClampedAndPublicKeyDerived) {
  DeviceUpdate u;
  u.private_key = kAlicePriv;
  auto s = apply_ok(DeviceState{}, u);
  ASSERT_TRUE(s.private_key && s.public_key);
  EXPECT_TRUE(*s.private_key == kAlicePrivClamped);
  EXPECT_TRUE(*s.public_key == kAlicePub);
}

TEST(ApplyUpdate, ZeroPrivateKeyRemovesKeys) {
  DeviceUpdate u;
  u.private_key = kAlicePriv;
  auto s = apply_ok(DeviceState{}, u);
  u.private_key = Key{};
  s = apply_ok(s, u);
  EXPECT_FALSE(s.private_key.has_value());
  EXPECT_FALSE(s.public_key.has_value());
}

TEST(ApplyUpdate, NewPrivateKeyRemovesPeerWithTheSamePublicKey) {
  PeerUpdate self;
  self.public_key = kAlicePub;
  auto s = with_peers({add_peer(1), self, add_peer(2)});
  ASSERT_EQ(s.peers.size(), 3u);
  DeviceUpdate u;
  u.private_key = kAlicePriv;
  s = apply_ok(s, u);
  ASSERT_EQ(s.peers.size(), 2u);
  EXPECT_EQ(find(s, kAlicePub), nullptr);
  EXPECT_TRUE(s.peers[0].public_key == key_of(1));
  EXPECT_TRUE(s.peers[1].public_key == key_of(2));
}

TEST(ApplyUpdate, PeerNamingTheDeviceItselfIsIgnored) {
  DeviceUpdate u;
  u.private_key = kAlicePriv;
  PeerUpdate self;
  self.public_key = kAlicePub;
  self.allowed_ips = {{AllowedIpOp::Kind::kAdd, pfx("10.0.0.0/8")}};
  u.peers = {self, add_peer(1)};
  auto s = apply_ok(DeviceState{}, u);
  ASSERT_EQ(s.peers.size(), 1u);
  EXPECT_TRUE(s.peers[0].public_key == key_of(1));
  // A later update naming it is ignored as well, including remove.
  DeviceUpdate again;
  again.peers = {self};
  EXPECT_TRUE(apply_ok(s, again) == s);
}

TEST(ApplyUpdate, AllZeroPeerKeyIsIgnoredWithoutPrivateKey) {
  // With no private key the device's public key is all zero in wireguard-go and the kernel.
  DeviceUpdate u;
  u.peers = {add_peer(0, {"10.0.0.0/8"})};
  EXPECT_TRUE(apply_ok(DeviceState{}, u).peers.empty());
  u.private_key = kAlicePriv;
  EXPECT_EQ(apply_ok(DeviceState{}, u).peers.size(), 1u);
}

TEST(ApplyUpdate, SettingTheSamePrivateKeyKeepsEverything) {
  DeviceUpdate u;
  u.private_key = kAlicePriv;
  u.peers = {add_peer(1)};
  auto s = apply_ok(DeviceState{}, u);
  s.peers[0].tx_bytes = 77;
  DeviceUpdate same;
  same.private_key = kAlicePrivClamped;
  EXPECT_TRUE(apply_ok(s, same) == s);
}

TEST(ApplyUpdate, ListenPortAndFwmark) {
  DeviceUpdate u;
  u.listen_port = 51820;
  u.fwmark = 7;
  auto s = apply_ok(DeviceState{}, u);
  EXPECT_EQ(s.listen_port, 51820);
  EXPECT_EQ(s.fwmark, 7u);
  u.listen_port.reset();
  u.fwmark = 0;
  s = apply_ok(s, u);
  EXPECT_EQ(s.listen_port, 51820);
  EXPECT_EQ(s.fwmark, 0u);
}

TEST(ApplyUpdate, ReplacePeersStartsFromNothing) {
  auto s = with_peers({add_peer(1, {"10.0.0.0/8"}), add_peer(2)});
  s.peers[0].rx_bytes = 100;
  s.peers[0].last_handshake_time_sec = 5;
  DeviceUpdate u;
  u.replace_peers = true;
  u.peers = {add_peer(1, {"10.1.0.0/16"})};
  s = apply_ok(s, u);
  ASSERT_EQ(s.peers.size(), 1u);
  EXPECT_EQ(s.peers[0].allowed_ips, ips({"10.1.0.0/16"}));
  EXPECT_EQ(s.peers[0].rx_bytes, 0u);  // a new peer object: statistics start again
  EXPECT_EQ(s.peers[0].last_handshake_time_sec, 0);
}

TEST(ApplyUpdate, NewPeersAreAppendedExistingOnesKeepTheirPlaceAndStats) {
  auto s = with_peers({add_peer(1), add_peer(2)});
  s.peers[1].tx_bytes = 9;
  DeviceUpdate u;
  PeerUpdate p2 = add_peer(2);
  p2.persistent_keepalive_interval = 25;
  u.peers = {add_peer(3), p2};
  s = apply_ok(s, u);
  ASSERT_EQ(s.peers.size(), 3u);
  EXPECT_TRUE(s.peers[0].public_key == key_of(1));
  EXPECT_TRUE(s.peers[1].public_key == key_of(2));
  EXPECT_TRUE(s.peers[2].public_key == key_of(3));
  EXPECT_EQ(s.peers[1].tx_bytes, 9u);
  EXPECT_EQ(s.peers[1].persistent_keepalive_interval, 25);
}

TEST(ApplyUpdate, UpdateOnlyNeverCreates) {
  auto s = with_peers({add_peer(1)});
  DeviceUpdate u;
  PeerUpdate p1 = add_peer(1, {"10.0.0.0/8"}), p2 = add_peer(2, {"10.1.0.0/16"});
  p1.update_only = p2.update_only = true;
  u.peers = {p1, p2};
  s = apply_ok(s, u);
  ASSERT_EQ(s.peers.size(), 1u);
  EXPECT_EQ(s.peers[0].allowed_ips, ips({"10.0.0.0/8"}));
}

TEST(ApplyUpdate, UpdateOnlyAfterRemovalInTheSameUpdateDoesNotCreate) {
  auto s = with_peers({add_peer(1)});
  DeviceUpdate u;
  PeerUpdate rm = add_peer(1);
  rm.remove = true;
  PeerUpdate upd = add_peer(1, {"10.0.0.0/8"});
  upd.update_only = true;
  u.peers = {rm, upd};
  EXPECT_TRUE(apply_ok(s, u).peers.empty());
}

TEST(ApplyUpdate, RemoveIgnoresEverythingElseAndMissingPeers) {
  auto s = with_peers({add_peer(1, {"10.0.0.0/8"}), add_peer(2, {"10.1.0.0/16"})});
  DeviceUpdate u;
  PeerUpdate rm = add_peer(1, {"10.1.0.0/16"});  // the allowed IP must not move to peer 2's loss
  rm.remove = true;
  PeerUpdate missing = add_peer(9);
  missing.remove = true;
  u.peers = {rm, missing};
  s = apply_ok(s, u);
  ASSERT_EQ(s.peers.size(), 1u);
  EXPECT_TRUE(s.peers[0].public_key == key_of(2));
  EXPECT_EQ(s.peers[0].allowed_ips, ips({"10.1.0.0/16"}));
}

TEST(ApplyUpdate, RemoveThenAddAgainGivesAFreshPeer) {
  auto s = with_peers({add_peer(1, {"10.0.0.0/8"}), add_peer(2)});
  s.peers[0].rx_bytes = 10;
  DeviceUpdate u;
  PeerUpdate rm = add_peer(1);
  rm.remove = true;
  u.peers = {rm, add_peer(1)};
  s = apply_ok(s, u);
  ASSERT_EQ(s.peers.size(), 2u);
  EXPECT_TRUE(s.peers[1].public_key == key_of(1));  // re-created at the end
  EXPECT_TRUE(s.peers[1].allowed_ips.empty());
  EXPECT_EQ(s.peers[1].rx_bytes, 0u);
}

TEST(ApplyUpdate, PresharedKeySetAndClearedByZero) {
  PeerUpdate p = add_peer(1);
  p.preshared_key = key_of(0x42);
  auto s = with_peers({p});
  EXPECT_TRUE(*s.peers[0].preshared_key == key_of(0x42));
  DeviceUpdate keep;
  keep.peers = {add_peer(1)};
  s = apply_ok(s, keep);
  EXPECT_TRUE(s.peers[0].preshared_key.has_value());
  p.preshared_key = Key{};
  DeviceUpdate clear;
  clear.peers = {p};
  s = apply_ok(s, clear);
  EXPECT_FALSE(s.peers[0].preshared_key.has_value());
}

TEST(ApplyUpdate, EndpointAndKeepaliveAreSetOrKept) {
  PeerUpdate p = add_peer(1);
  p.endpoint = ep("192.0.2.1:51820");
  p.persistent_keepalive_interval = 25;
  auto s = with_peers({p});
  DeviceUpdate u;
  u.peers = {add_peer(1)};
  s = apply_ok(s, u);
  EXPECT_TRUE(*s.peers[0].endpoint == ep("192.0.2.1:51820"));
  EXPECT_EQ(s.peers[0].persistent_keepalive_interval, 25);
  p.endpoint = ep("[2001:db8::1]:1");
  p.persistent_keepalive_interval = 0;
  u.peers = {p};
  s = apply_ok(s, u);
  EXPECT_TRUE(*s.peers[0].endpoint == ep("[2001:db8::1]:1"));
  EXPECT_EQ(s.peers[0].persistent_keepalive_interval, 0);
}

TEST(ApplyUpdate, AllowedIpMovesToItsNewPeer) {
  auto s = with_peers({add_peer(1, {"10.0.0.0/8", "10.1.0.0/16"}), add_peer(2)});
  DeviceUpdate u;
  u.peers = {add_peer(2, {"10.0.0.0/8"})};
  s = apply_ok(s, u);
  EXPECT_EQ(s.peers[0].allowed_ips, ips({"10.1.0.0/16"}));
  EXPECT_EQ(s.peers[1].allowed_ips, ips({"10.0.0.0/8"}));
}

// Re-adding a prefix a peer already holds moves it to the end of its list: the kernel's add()
// does list_move_tail, and wireguard-go 0.0.20220316 was observed doing the same (set 10.0.0.1,
// .2, .3, then .1 again: get lists .2, .3, .1).
TEST(ApplyUpdate, DuplicatesCollapseMovingToTheEnd) {
  auto s = with_peers({add_peer(1, {"10.0.0.0/8", "10.1.0.0/16", "10.0.0.0/8"})});
  EXPECT_EQ(s.peers[0].allowed_ips, ips({"10.1.0.0/16", "10.0.0.0/8"}));
  DeviceUpdate u;
  u.peers = {add_peer(1, {"10.1.0.0/16"})};
  EXPECT_EQ(apply_ok(s, u).peers[0].allowed_ips, ips({"10.0.0.0/8", "10.1.0.0/16"}));
}

TEST(ApplyUpdate, HostBitsAreCleared) {
  auto s = with_peers({add_peer(1, {"10.1.2.3/8", "2001:db8::1/32", "10.0.0.0/8"})});
  // 10.1.2.3/8 is 10.0.0.0/8, so the third line re-adds it: it moves to the end.
  EXPECT_EQ(s.peers[0].allowed_ips, ips({"2001:db8::/32", "10.0.0.0/8"}));
}

TEST(ApplyUpdate, ReplaceAllowedIpsThenAdd) {
  auto s = with_peers({add_peer(1, {"10.0.0.0/8", "10.1.0.0/16"})});
  DeviceUpdate u;
  PeerUpdate p = add_peer(1);
  p.allowed_ips = {{AllowedIpOp::Kind::kAdd, pfx("10.9.0.0/16")},
                   {AllowedIpOp::Kind::kReplaceAll, {}},
                   {AllowedIpOp::Kind::kAdd, pfx("10.1.0.0/16")}};
  u.peers = {p};
  EXPECT_EQ(apply_ok(s, u).peers[0].allowed_ips, ips({"10.1.0.0/16"}));
}

TEST(ApplyUpdate, RemoveAllowedIpOnlyFromItsOwner) {
  auto s = with_peers({add_peer(1, {"10.0.0.0/8", "10.1.0.0/16"}), add_peer(2, {"10.2.0.0/16"})});
  DeviceUpdate u;
  PeerUpdate p = add_peer(1);
  p.allowed_ips = {{AllowedIpOp::Kind::kRemove, pfx("10.2.0.0/16")},   // owned by peer 2
                   {AllowedIpOp::Kind::kRemove, pfx("10.0.0.1/8")},    // host bits: still /8
                   {AllowedIpOp::Kind::kRemove, pfx("10.1.0.0/24")}};  // not an exact match
  u.peers = {p};
  s = apply_ok(s, u);
  EXPECT_EQ(s.peers[0].allowed_ips, ips({"10.1.0.0/16"}));
  EXPECT_EQ(s.peers[1].allowed_ips, ips({"10.2.0.0/16"}));
}

TEST(ApplyUpdate, InvalidUpdatesAreRefusedWhole) {
  auto s = with_peers({add_peer(1, {"10.0.0.0/8"})});
  DeviceUpdate u;
  u.listen_port = 1;
  u.peers = {add_peer(2, {"10.0.0.0/8"}), add_peer(3)};
  u.peers[1].protocol_version = 2;
  auto r = apply_update(s, u);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, EINVAL);
  EXPECT_NE(r.error().message.find("protocol version"), std::string::npos);

  u.peers[1].protocol_version.reset();
  u.peers[1].endpoint = Endpoint{};  // AF_UNSPEC
  r = apply_update(s, u);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("endpoint"), std::string::npos);

  u.peers[1].endpoint.reset();
  u.peers[1].allowed_ips = {{AllowedIpOp::Kind::kAdd, IpPrefix{IpAddr::v4(0), 33}}};
  r = apply_update(s, u);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("allowed ip"), std::string::npos);
  // A removed peer's fields are irrelevant and not validated.
  u.peers[1].remove = true;
  EXPECT_TRUE(apply_update(s, u).ok());
}

TEST(DiffStates, ReportsAddedRemovedChanged) {
  auto before = with_peers({add_peer(1, {"10.0.0.0/8"}), add_peer(2), add_peer(3)});
  DeviceUpdate u;
  u.listen_port = 5;
  PeerUpdate rm = add_peer(2);
  rm.remove = true;
  u.peers = {rm, add_peer(3, {"10.0.0.0/8"}), add_peer(4)};
  auto after = apply_ok(before, u);
  after.peers[0].rx_bytes = 1000;  // statistics are not configuration
  auto d = diff_states(before, after);
  EXPECT_FALSE(d.private_key_changed);
  EXPECT_TRUE(d.listen_port_changed);
  EXPECT_FALSE(d.fwmark_changed);
  ASSERT_EQ(d.peers_added.size(), 1u);
  EXPECT_TRUE(d.peers_added[0] == key_of(4));
  ASSERT_EQ(d.peers_removed.size(), 1u);
  EXPECT_TRUE(d.peers_removed[0] == key_of(2));
  ASSERT_EQ(d.peers_changed.size(), 2u);  // 1 lost 10/8, 3 gained it
  EXPECT_TRUE(d.peers_changed[0] == key_of(1));
  EXPECT_TRUE(d.peers_changed[1] == key_of(3));
  EXPECT_TRUE(diff_states(after, after).empty());
}

// ---------------------------------------------------------------------------------------------
// Differential test: a direct transcription of wireguard-go's line loop (handleDeviceLine,
// handlePublicKeyLine, handlePeerLine with its dummy/created flags) over a DeviceState, run on
// random wg-style request texts, against parse_set + apply_update.

class LineInterpreter {
 public:
  explicit LineInterpreter(DeviceState s) : s_(std::move(s)) {}

  void run(const std::string& text) {
    std::size_t pos = 0;
    while (pos < text.size()) {
      auto nl = text.find('\n', pos);
      std::string line = text.substr(pos, nl - pos);
      pos = nl + 1;
      auto eq = line.find('=');
      line_(line.substr(0, eq), line.substr(eq + 1));
    }
  }
  const DeviceState& state() const { return s_; }

 private:
  Key self() const { return s_.public_key.value_or(Key{}); }
  PeerState* lookup(const Key& k) {
    for (auto& p : s_.peers)
      if (p.public_key == k) return &p;
    return nullptr;
  }
  void remove_peer(const Key& k) {
    s_.peers.erase(std::remove_if(s_.peers.begin(), s_.peers.end(),
                                  [&](const PeerState& p) { return p.public_key == k; }),
                   s_.peers.end());
  }

  void line_(const std::string& key, const std::string& value) {
    if (key == "private_key") {
      Key sk = *key_from_hex(value);
      if (sk.is_zero()) {
        s_.private_key.reset();
        s_.public_key.reset();
        return;
      }
      crypto::x25519_clamp(sk);
      if (s_.private_key && *s_.private_key == sk) return;
      Key pk;
      EXPECT_TRUE(crypto::x25519_public(pk, sk));
      remove_peer(pk);
      s_.private_key = sk;
      s_.public_key = pk;
    } else if (key == "listen_port") {
      s_.listen_port = std::uint16_t(std::stoul(value));
    } else if (key == "fwmark") {
      s_.fwmark = std::uint32_t(std::stoul(value));
    } else if (key == "replace_peers") {
      s_.peers.clear();
    } else if (key == "public_key") {
      cur_ = *key_from_hex(value);
      dummy_ = cur_ == self();
      created_ = false;
      if (!dummy_ && !lookup(cur_)) {
        PeerState p;
        p.public_key = cur_;
        s_.peers.push_back(p);
        created_ = true;
      }
    } else if (key == "update_only") {
      if (created_ && !dummy_) {
        remove_peer(cur_);
        dummy_ = true;
      }
    } else if (key == "remove") {
      if (!dummy_) remove_peer(cur_);
      dummy_ = true;
    } else if (dummy_) {
      return;
    } else if (key == "preshared_key") {
      Key k = *key_from_hex(value);
      if (k.is_zero())
        lookup(cur_)->preshared_key.reset();
      else
        lookup(cur_)->preshared_key = k;
    } else if (key == "endpoint") {
      lookup(cur_)->endpoint = *Endpoint::parse(value);
    } else if (key == "persistent_keepalive_interval") {
      lookup(cur_)->persistent_keepalive_interval = std::uint16_t(std::stoul(value));
    } else if (key == "replace_allowed_ips") {
      lookup(cur_)->allowed_ips.clear();
    } else if (key == "allowed_ip") {
      bool rm = value[0] == '-';
      IpPrefix p = IpPrefix::parse(rm ? value.substr(1) : value)->canonical();
      PeerState* me = lookup(cur_);
      if (rm) {
        auto& v = me->allowed_ips;
        v.erase(std::remove(v.begin(), v.end(), p), v.end());
        return;
      }
      // insert(): the node leaves its owner's entry list (even when the owner is `me`) and is
      // appended to me's list — removeFromPeerEntries + addToPeerEntries.
      for (auto& other : s_.peers) {
        auto& v = other.allowed_ips;
        v.erase(std::remove(v.begin(), v.end(), p), v.end());
      }
      me->allowed_ips.push_back(p);
    }
  }

  DeviceState s_;
  Key cur_;
  bool dummy_ = false, created_ = false;
};

std::string random_request(std::mt19937& rng, const std::vector<Key>& keys) {
  auto hex = [](const Key& k) { return to_hex(k); };
  const char* prefixes[] = {"10.0.0.0/8", "10.1.0.0/16", "10.1.2.3/16", "0.0.0.0/0",
                            "2001:db8::/32", "2001:db8::1/128", "192.0.2.0/24", "::/0"};
  std::string t;
  // At most one private_key line: a DeviceUpdate keeps only the last one, so the self-peer
  // removal an intermediate key would cause in wireguard-go is (knowingly) not modelled.
  if (rng() % 4 == 0)
    t += "private_key=" + hex(keys[rng() % 3]) + "\n";  // its public twin may be a peer
  else if (rng() % 8 == 0)
    t += "private_key=" + std::string(64, '0') + "\n";
  if (rng() % 3 == 0) t += "listen_port=" + std::to_string(rng() % 65536) + "\n";
  if (rng() % 4 == 0) t += "fwmark=" + std::to_string(rng() % 3) + "\n";
  if (rng() % 6 == 0) t += "replace_peers=true\n";
  int blocks = int(rng() % 6);
  for (int b = 0; b < blocks; ++b) {
    t += "public_key=" + hex(keys[rng() % keys.size()]) + "\n";
    int kind = int(rng() % 8);
    if (kind == 0) {
      t += "remove=true\n";
      continue;
    }
    if (kind == 1) t += "update_only=true\n";
    if (rng() % 3 == 0)
      t += "preshared_key=" + (rng() % 2 ? std::string(64, '0') : hex(keys[0])) + "\n";
    if (rng() % 3 == 0) t += "endpoint=192.0.2." + std::to_string(rng() % 4) + ":51820\n";
    if (rng() % 3 == 0) t += "persistent_keepalive_interval=" + std::to_string(rng() % 3) + "\n";
    int ops = int(rng() % 5);
    for (int o = 0; o < ops; ++o) {
      int op = int(rng() % 6);
      if (op == 0)
        t += "replace_allowed_ips=true\n";
      else
        t += std::string("allowed_ip=") + (op == 1 ? "-" : "") + prefixes[rng() % 8] + "\n";
    }
  }
  return t;
}

TEST(ApplyUpdate, MatchesWireguardGoLineSemanticsOnRandomRequests) {
  // Key pool: three private keys' public twins (so private_key changes collide with peers),
  // the all-zero key, and plain keys.
  std::vector<Key> priv = {key_of(0x21), key_of(0x22), key_of(0x23)};
  std::vector<Key> keys = priv;  // first three entries double as private keys in requests
  for (const auto& k : priv) {
    Key c = k, pub;
    crypto::x25519_clamp(c);
    ASSERT_TRUE(crypto::x25519_public(pub, c));
    keys.push_back(pub);
  }
  keys.push_back(Key{});
  keys.push_back(key_of(0x51));
  keys.push_back(key_of(0x52));

  std::mt19937 rng(7);
  for (int run = 0; run < 200; ++run) {
    DeviceState ours, ref_state;
    for (int step = 0; step < 8; ++step) {
      std::string text = random_request(rng, keys);
      auto update = uapi::parse_set(text);
      ASSERT_TRUE(update.ok()) << update.error().message << "\n" << text;
      auto next = apply_update(ours, *update);
      ASSERT_TRUE(next.ok()) << next.error().message;
      LineInterpreter ref(ref_state);
      ref.run(text);
      ASSERT_TRUE(*next == ref.state())
          << "run " << run << " step " << step << "\nrequest:\n" << text << "ours:\n"
          << uapi::format_get(*next) << "reference:\n" << uapi::format_get(ref.state());
      ours = *next;
      ref_state = ref.state();
    }
  }
}

}  // namespace
}  // namespace wgcore
