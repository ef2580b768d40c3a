// Tests for the UAPI text: every key of set and get, every refusal wireguard-go makes, the exact
// bytes of a get answer (fixture written from wireguard-go's device/uapi.go IpcGetOperation),
// and randomized round trips.
#include "uapi/uapi_text.hpp"

#include <gtest/gtest.h>

#include <random>
#include <string>

#include "core/crypto/x25519.hpp"

namespace wgcore::uapi {
namespace {

Key key_of(std::uint8_t b) {
  Key k;
  for (std::size_t i = 0; i < k.size(); ++i) k[i] = b;
  return k;
}

std::string hex_of(std::uint8_t b) { return to_hex(key_of(b)); }

Key key_hex(std::string_view h) {
  auto k = key_from_hex(h);
  EXPECT_TRUE(k.has_value()) << h;
  return k.value_or(Key{});
}

IpPrefix pfx(std::string_view s) {
  auto p = IpPrefix::parse(s);
  EXPECT_TRUE(p.has_value()) << s;
  return p.value_or(IpPrefix{});
}

Endpoint ep(std::string_view s) {
  auto e = Endpoint::parse(s);
  EXPECT_TRUE(e.has_value()) << s;
  return e.value_or(Endpoint{});
}

// RFC 7748 section 6.1: Alice's private key (unclamped as printed; stored clamped) and the
// public keys of Alice and Bob.
constexpr std::string_view kAlicePrivClamped =
    "70076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c6a";
constexpr std::string_view kAlicePub =
    "8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a";
constexpr std::string_view kBobPub =
    "de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f";
const std::string kZeroHex(64, '0');

// Expects parse_set to fail with `code` and a message containing `fragment`.
void expect_set_error(std::string_view body, int code, std::string_view fragment) {
  auto r = parse_set(body);
  ASSERT_FALSE(r.ok()) << body;
  EXPECT_EQ(r.error().code, code) << body;
  EXPECT_NE(r.error().message.find(fragment), std::string::npos)
      << "message \"" << r.error().message << "\" lacks \"" << fragment << "\"";
}

std::string peer_line() { return "public_key=" + hex_of(0x11) + "\n"; }

// ---------------------------------------------------------------------------------------------
// parse_set: device section

TEST(GetExtensions, DropCountersRoundTripAndSitWhereWgIgnoresThem) {
  DeviceState s;
  s.listen_port = 51820;
  s.drops = {{"bad_mac1", 7}, {"invalid_size", 100000}};
  PeerState p;
  p.public_key = key_of(0x11);
  p.allowed_ips = {pfx("203.0.113.0/24")};
  p.drops = {{"replay", 3}};
  s.peers.push_back(p);
  std::string text = format_get(s);
  // Device counters come before the first peer, the peer's inside its block.
  auto dev_at = text.find("wgcore_drop_bad_mac1=7\n");
  auto peer_at = text.find("public_key=");
  auto replay_at = text.find("wgcore_drop_replay=3\n");
  ASSERT_NE(dev_at, std::string::npos);
  ASSERT_NE(replay_at, std::string::npos);
  EXPECT_LT(dev_at, peer_at);
  EXPECT_GT(replay_at, peer_at);
  EXPECT_NE(text.find("wgcore_drop_invalid_size=100000\n"), std::string::npos);
  auto back = parse_get(text + "errno=0\n\n");
  ASSERT_TRUE(back) << back.error().message;
  EXPECT_TRUE(*back == s);
  // A state without counters prints no extension keys at all.
  s.drops.clear();
  s.peers[0].drops.clear();
  EXPECT_EQ(format_get(s).find("wgcore_"), std::string::npos);
  // A counter with a bad value is refused like any other bad number.
  EXPECT_FALSE(parse_get("wgcore_drop_replay=x\nerrno=0\n\n"));
}

TEST(ParseSet, EmptyBodyIsValid) {
  auto r = parse_set("");
  ASSERT_TRUE(r.ok());
  EXPECT_FALSE(r->private_key || r->listen_port || r->fwmark || r->replace_peers);
  EXPECT_TRUE(r->peers.empty());
}

TEST(ParseSet, DeviceKeys) {
  auto r = parse_set("private_key=" + hex_of(0xa5) +
                     "\nlisten_port=51820\nfwmark=4660\n"
                     "replace_peers=true\n");
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_TRUE(*r->private_key == key_of(0xa5));
  EXPECT_EQ(*r->listen_port, 51820);
  EXPECT_EQ(*r->fwmark, 4660u);
  EXPECT_TRUE(r->replace_peers);
  EXPECT_TRUE(r->peers.empty());
}

TEST(ParseSet, ZeroPrivateKeyIsAccepted) {
  auto r = parse_set("private_key=" + kZeroHex + "\n");
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->private_key->is_zero());
}

TEST(ParseSet, UppercaseHexIsAccepted) {
  // Go's hex.DecodeString takes either case.
  auto r = parse_set("private_key=" + std::string(64, 'A') + "\n");
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(*r->private_key == key_of(0xaa));
}

TEST(ParseSet, PrivateKeyOfWrongLengthOrNotHexIsRefused) {
  expect_set_error("private_key=" + std::string(63, 'a') + "\n", EINVAL,
                   "line 1: invalid private_key");
  expect_set_error("private_key=" + std::string(65, 'a') + "\n", EINVAL,
                   "line 1: invalid private_key");
  expect_set_error("private_key=" + std::string(62, 'a') + "zz\n", EINVAL, "invalid private_key");
  expect_set_error("private_key=\n", EINVAL, "invalid private_key");
  // base64 is what wg.conf uses, not the UAPI.
  expect_set_error("private_key=YAnz5TF+lXXJte14tji3zlMNq+hd2rYUIgJBgB3fBmk=\n", EINVAL,
                   "invalid private_key");
}

TEST(ParseSet, SecretValuesAreNeverEchoed) {
  std::string secret = std::string(62, 'b') + "zz";
  auto r = parse_set("private_key=" + secret + "\n");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().message.find("bbbb"), std::string::npos) << r.error().message;
  r = parse_set(peer_line() + "preshared_key=" + secret + "\n");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().message.find("bbbb"), std::string::npos) << r.error().message;
  EXPECT_NE(r.error().message.find("line 2: invalid preshared_key"), std::string::npos);
}

TEST(ParseSet, ListenPortRange) {
  EXPECT_EQ(*parse_set("listen_port=0\n")->listen_port, 0);
  EXPECT_EQ(*parse_set("listen_port=65535\n")->listen_port, 65535);
  EXPECT_EQ(*parse_set("listen_port=00080\n")->listen_port, 80);  // ParseUint allows zeros
  for (const char* bad :
       {"65536", "-1", "+1", "", " 1", "1 ", "0x10", "1_000", "99999999999999999999"})
    expect_set_error(std::string("listen_port=") + bad + "\n", EINVAL, "invalid listen_port");
}

TEST(ParseSet, FwmarkRange) {
  EXPECT_EQ(*parse_set("fwmark=4294967295\n")->fwmark, 4294967295u);
  EXPECT_EQ(*parse_set("fwmark=0\n")->fwmark, 0u);
  expect_set_error("fwmark=4294967296\n", EINVAL, "invalid fwmark \"4294967296\"");
  expect_set_error("fwmark=0x1\n", EINVAL, "invalid fwmark");
}

TEST(ParseSet, BooleanKeysAcceptOnlyTrue) {
  for (const char* bad : {"false", "1", "TRUE", "", "true "})
    expect_set_error(std::string("replace_peers=") + bad + "\n", EINVAL, "invalid replace_peers");
  for (const char* key : {"update_only", "remove", "replace_allowed_ips"})
    for (const char* bad : {"false", "yes", ""})
      expect_set_error(peer_line() + key + "=" + bad + "\n", EINVAL,
                       std::string("line 2: invalid ") + key);
}

TEST(ParseSet, DeviceKeysRepeatLastWins) {
  auto r = parse_set("listen_port=1\nlisten_port=2\n");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r->listen_port, 2);
}

TEST(ParseSet, UnknownDeviceKeyIsRefused) {
  expect_set_error("listen_port=1\nmtu=1420\n", EINVAL, "line 2: invalid UAPI device key \"mtu\"");
}

TEST(ParseSet, PeerKeyBeforeAnyPublicKeyIsRefused) {
  // wireguard-go treats it as an (invalid) device key.
  expect_set_error("endpoint=192.0.2.1:1\n", EINVAL,
                   "line 1: invalid UAPI device key \"endpoint\"");
  expect_set_error("allowed_ip=10.0.0.0/8\n", EINVAL, "invalid UAPI device key");
  expect_set_error("remove=true\n", EINVAL, "invalid UAPI device key");
}

TEST(ParseSet, DeviceKeyAfterPeerIsRefused) {
  expect_set_error(peer_line() + "listen_port=1\n", EINVAL,
                   "line 2: invalid UAPI peer key \"listen_port\"");
  expect_set_error(peer_line() + "private_key=" + hex_of(1) + "\n", EINVAL,
                   "invalid UAPI peer key");
}

TEST(ParseSet, UnknownPeerKeyIsRefused) {
  expect_set_error(peer_line() + "last_handshake_time_sec=0\n", EINVAL, "invalid UAPI peer key");
  expect_set_error(peer_line() + "Endpoint=192.0.2.1:1\n", EINVAL, "invalid UAPI peer key");
}

TEST(ParseSet, LineWithoutEqualsIsAProtocolError) {
  expect_set_error("listen_port=1\nbogus\n", EPROTO, "line 2");
  expect_set_error(peer_line() + "allowed_ip\n", EPROTO, "line 2");
}

TEST(ParseSet, ErrorNamesTheLine) {
  expect_set_error("listen_port=1\n" + peer_line() + "endpoint=nonsense\n", EINVAL,
                   "line 3: invalid endpoint \"nonsense\"");
}

TEST(ParseSet, LongValuesAreCutInMessages) {
  auto r = parse_set("listen_port=" + std::string(5000, '9') + "\n");
  ASSERT_FALSE(r.ok());
  EXPECT_LT(r.error().message.size(), 200u);
}

TEST(ParseSet, PublicKeyMustBe64Hex) {
  expect_set_error("public_key=" + std::string(63, '1') + "\n", EINVAL,
                   "line 1: invalid public_key");
  expect_set_error("public_key=\n", EINVAL, "invalid public_key");
  expect_set_error("public_key=" + std::string(64, 'g') + "\n", EINVAL, "invalid public_key");
}

// ---------------------------------------------------------------------------------------------
// parse_set: peers

TEST(ParseSet, FullPeerBlock) {
  auto r = parse_set(peer_line() + "protocol_version=1\npreshared_key=" + hex_of(0x22) +
                     "\nendpoint=[2001:db8::1]:51820\npersistent_keepalive_interval=25\n"
                     "replace_allowed_ips=true\nallowed_ip=10.0.0.0/24\n"
                     "allowed_ip=2001:db8:1::/48\nallowed_ip=-10.1.0.0/16\n");
  ASSERT_TRUE(r.ok()) << r.error().message;
  ASSERT_EQ(r->peers.size(), 1u);
  const auto& p = r->peers[0];
  EXPECT_TRUE(p.public_key == key_of(0x11));
  EXPECT_FALSE(p.remove);
  EXPECT_FALSE(p.update_only);
  EXPECT_EQ(p.protocol_version, 1);
  EXPECT_TRUE(*p.preshared_key == key_of(0x22));
  EXPECT_TRUE(*p.endpoint == ep("[2001:db8::1]:51820"));
  EXPECT_EQ(*p.persistent_keepalive_interval, 25);
  std::vector<AllowedIpOp> ops = {{AllowedIpOp::Kind::kReplaceAll, {}},
                                  {AllowedIpOp::Kind::kAdd, pfx("10.0.0.0/24")},
                                  {AllowedIpOp::Kind::kAdd, pfx("2001:db8:1::/48")},
                                  {AllowedIpOp::Kind::kRemove, pfx("10.1.0.0/16")}};
  EXPECT_EQ(p.allowed_ips, ops);
}

TEST(ParseSet, PresharedKeyZeroIsKeptForApplyToClear) {
  auto r = parse_set(peer_line() + "preshared_key=" + kZeroHex + "\n");
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->peers[0].preshared_key->is_zero());
}

TEST(ParseSet, EndpointForms) {
  auto r = parse_set(peer_line() + "endpoint=192.0.2.1:51820\n");
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(*r->peers[0].endpoint == ep("192.0.2.1:51820"));
  r = parse_set(peer_line() + "endpoint=[::ffff:192.0.2.1]:0\n");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->peers[0].endpoint->family(), AF_INET6);
  for (const char* bad : {"192.0.2.1", "192.0.2.1:", "192.0.2.1:65536", "2001:db8::1:51820",
                          "[2001:db8::1]", "[2001:db8::1]51820", "example.com:51820", "",
                          "[192.0.2.1]:1", "192.0.2.1:-1", "192.0.2.256:1", "[fe80::1%eth0]:1"})
    expect_set_error(peer_line() + "endpoint=" + bad + "\n", EINVAL, "line 2: invalid endpoint");
}

TEST(ParseSet, PersistentKeepaliveRange) {
  auto r = parse_set(peer_line() + "persistent_keepalive_interval=65535\n");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r->peers[0].persistent_keepalive_interval, 65535);
  r = parse_set(peer_line() + "persistent_keepalive_interval=0\n");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r->peers[0].persistent_keepalive_interval, 0);
  expect_set_error(peer_line() + "persistent_keepalive_interval=65536\n", EINVAL,
                   "invalid persistent_keepalive_interval");
  expect_set_error(peer_line() + "persistent_keepalive_interval=off\n", EINVAL,
                   "invalid persistent_keepalive_interval");
}

TEST(ParseSet, AllowedIpKeepsHostBitsAsWritten) {
  auto r = parse_set(peer_line() + "allowed_ip=10.1.2.3/8\n");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->peers[0].allowed_ips[0].prefix.to_string(), "10.1.2.3/8");
}

TEST(ParseSet, AllowedIpSyntaxFollowsNetipParsePrefix) {
  EXPECT_TRUE(parse_set(peer_line() + "allowed_ip=0.0.0.0/0\n").ok());
  EXPECT_TRUE(parse_set(peer_line() + "allowed_ip=::/0\n").ok());
  EXPECT_TRUE(parse_set(peer_line() + "allowed_ip=::ffff:10.0.0.1/128\n").ok());
  for (const char* bad :
       {"10.0.0.1", "10.0.0.0/", "10.0.0.0/33", "2001:db8::/129", "10.0.0.0/08", "10.0.0.0/+8",
        "10.0.0.0/-1", "010.0.0.0/8", "fe80::%eth0/64", "", "-", "--10.0.0.0/8", "+10.0.0.0/8",
        "10.0.0.0/8,10.1.0.0/16", " 10.0.0.0/8", "10.0.0.0/8 "})
    expect_set_error(peer_line() + "allowed_ip=" + bad + "\n", EINVAL,
                     "line 2: invalid allowed_ip");
}

TEST(ParseSet, ProtocolVersionOnlyOne) {
  for (const char* bad : {"0", "2", "01", "", "1.0"})
    expect_set_error(peer_line() + "protocol_version=" + bad + "\n", EINVAL,
                     "invalid protocol_version");
}

TEST(ParseSet, UpdateOnlyFlag) {
  auto r = parse_set(peer_line() + "update_only=true\nendpoint=192.0.2.1:1\n");
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->peers[0].update_only);
  EXPECT_TRUE(r->peers[0].endpoint.has_value());
}

TEST(ParseSet, RemoveDiscardsTheRestOfTheBlockButStillValidatesIt) {
  auto r = parse_set(peer_line() +
                     "endpoint=192.0.2.1:1\nallowed_ip=10.0.0.0/8\nremove=true\n"
                     "allowed_ip=10.1.0.0/16\npersistent_keepalive_interval=5\n"
                     "public_key=" +
                     hex_of(0x22) + "\nallowed_ip=10.2.0.0/16\n");
  ASSERT_TRUE(r.ok()) << r.error().message;
  ASSERT_EQ(r->peers.size(), 2u);
  PeerUpdate removed;
  removed.public_key = key_of(0x11);
  removed.remove = true;
  EXPECT_TRUE(r->peers[0] == removed);
  EXPECT_EQ(r->peers[1].allowed_ips.size(), 1u);
  expect_set_error(peer_line() + "remove=true\nallowed_ip=bogus\n", EINVAL,
                   "line 3: invalid allowed_ip");
}

TEST(ParseSet, SameKeyTwiceGivesTwoBlocksInOrder) {
  auto r = parse_set(peer_line() + "allowed_ip=10.0.0.0/8\n" + peer_line() + "remove=true\n");
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r->peers.size(), 2u);
  EXPECT_FALSE(r->peers[0].remove);
  EXPECT_TRUE(r->peers[1].remove);
}

TEST(ParseSet, CrLfFinalLineAndBlankLine) {
  // bufio.ScanLines drops one '\r' and keeps an unterminated final line.
  auto r = parse_set("listen_port=7\r\n" + peer_line() + "allowed_ip=10.0.0.0/8");
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(*r->listen_port, 7);
  EXPECT_EQ(r->peers[0].allowed_ips.size(), 1u);
  // An empty line ends the request; what follows belongs to the next one.
  r = parse_set("listen_port=7\n\nlisten_port=8\n");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r->listen_port, 7);
}

TEST(ParseSet, ValueMayContainEquals) {
  // strings.Cut splits at the first '=': the value "=1" is then a bad number.
  expect_set_error("listen_port==1\n", EINVAL, "invalid listen_port \"=1\"");
}

// ---------------------------------------------------------------------------------------------
// format_set

DeviceUpdate sample_update() {
  DeviceUpdate u;
  u.private_key = key_of(0xa5);
  u.listen_port = 51820;
  u.fwmark = 0x1234;
  u.replace_peers = true;
  PeerUpdate a;
  a.public_key = key_of(0x11);
  a.preshared_key = key_of(0x22);
  a.endpoint = ep("192.0.2.1:51820");
  a.persistent_keepalive_interval = 25;
  a.allowed_ips = {{AllowedIpOp::Kind::kReplaceAll, {}},
                   {AllowedIpOp::Kind::kAdd, pfx("10.0.0.0/24")},
                   {AllowedIpOp::Kind::kRemove, pfx("2001:db8::/32")}};
  PeerUpdate b;
  b.public_key = key_of(0x33);
  b.remove = true;
  PeerUpdate c;
  c.public_key = key_of(0x44);
  c.update_only = true;
  c.protocol_version = 1;
  c.endpoint = ep("[2001:db8::2]:1");
  u.peers = {a, b, c};
  return u;
}

TEST(FormatSet, ExactBytesInWgOrder) {
  std::string want = "private_key=" + hex_of(0xa5) +
                     "\nlisten_port=51820\nfwmark=4660\nreplace_peers=true\n"
                     "public_key=" +
                     hex_of(0x11) + "\npreshared_key=" + hex_of(0x22) +
                     "\nendpoint=192.0.2.1:51820\npersistent_keepalive_interval=25\n"
                     "replace_allowed_ips=true\nallowed_ip=10.0.0.0/24\nallowed_ip=-2001:db8::/32\n"
                     "public_key=" +
                     hex_of(0x33) +
                     "\nremove=true\n"
                     "public_key=" +
                     hex_of(0x44) +
                     "\nupdate_only=true\nprotocol_version=1\n"
                     "endpoint=[2001:db8::2]:1\n";
  EXPECT_EQ(format_set(sample_update()), want);
}

TEST(FormatSet, EmptyUpdateIsEmptyBody) { EXPECT_EQ(format_set(DeviceUpdate{}), ""); }

TEST(FormatSet, RemovedPeerWritesOnlyRemove) {
  DeviceUpdate u;
  PeerUpdate p;
  p.public_key = key_of(0x11);
  p.remove = true;
  p.endpoint = ep("192.0.2.1:1");
  p.allowed_ips = {{AllowedIpOp::Kind::kAdd, pfx("10.0.0.0/8")}};
  u.peers = {p};
  EXPECT_EQ(format_set(u), "public_key=" + hex_of(0x11) + "\nremove=true\n");
}

TEST(FormatSet, RoundTripsThroughParse) {
  auto u = sample_update();
  auto r = parse_set(format_set(u));
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_TRUE(*r == u);
}

TEST(FormatSet, WgStyleTextRoundTripsByteForByte) {
  // What `wg set wg0 peer ... allowed-ips ...` sends (ipc-uapi.h userspace_set_device).
  std::string text = "private_key=" + hex_of(0x01) +
                     "\nlisten_port=51821\n"
                     "public_key=" +
                     std::string(kBobPub) + "\npreshared_key=" + kZeroHex +
                     "\nendpoint=[2001:db8::7]:9\npersistent_keepalive_interval=0\n"
                     "replace_allowed_ips=true\nallowed_ip=192.0.2.0/24\nallowed_ip=::/0\n";
  auto r = parse_set(text);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(format_set(*r), text);
}

Endpoint random_endpoint(std::mt19937& rng) {
  std::uint8_t b[16];
  for (auto& x : b) x = std::uint8_t(rng());
  auto port = std::uint16_t(rng());
  return rng() % 2 ? Endpoint::make(IpAddr::v4_bytes(b), port)
                   : Endpoint::make(IpAddr::v6_bytes(b), port);
}

IpPrefix random_prefix(std::mt19937& rng) {
  std::uint8_t b[16];
  for (auto& x : b) x = std::uint8_t(rng());
  IpAddr a = rng() % 2 ? IpAddr::v4_bytes(b) : IpAddr::v6_bytes(b);
  return IpPrefix{a, std::uint8_t(rng() % (a.bits() + 1))};
}

Key random_key(std::mt19937& rng) {
  Key k;
  for (std::size_t i = 0; i < k.size(); ++i) k[i] = std::uint8_t(rng());
  return k;
}

TEST(FormatSet, RandomUpdatesRoundTrip) {
  std::mt19937 rng(1234);
  for (int iter = 0; iter < 500; ++iter) {
    DeviceUpdate u;
    if (rng() % 2) u.private_key = random_key(rng);
    if (rng() % 2) u.listen_port = std::uint16_t(rng());
    if (rng() % 2) u.fwmark = std::uint32_t(rng());
    u.replace_peers = rng() % 2;
    int npeers = int(rng() % 5);
    for (int i = 0; i < npeers; ++i) {
      PeerUpdate p;
      p.public_key = random_key(rng);
      if (rng() % 5 == 0) {
        p.remove = true;
      } else {
        p.update_only = rng() % 3 == 0;
        if (rng() % 2) p.preshared_key = random_key(rng);
        if (rng() % 2) p.endpoint = random_endpoint(rng);
        if (rng() % 2) p.persistent_keepalive_interval = std::uint16_t(rng());
        if (rng() % 4 == 0) p.protocol_version = 1;
        int nops = int(rng() % 6);
        for (int j = 0; j < nops; ++j) {
          auto kind = AllowedIpOp::Kind(rng() % 3);
          p.allowed_ips.push_back(
              {kind, kind == AllowedIpOp::Kind::kReplaceAll ? IpPrefix{} : random_prefix(rng)});
        }
      }
      u.peers.push_back(p);
    }
    std::string text = format_set(u);
    auto r = parse_set(text);
    ASSERT_TRUE(r.ok()) << r.error().message << "\n" << text;
    ASSERT_TRUE(*r == u) << text;
    ASSERT_EQ(format_set(*r), text);
  }
}

// ---------------------------------------------------------------------------------------------
// format_get / parse_get

// Written from wireguard-go device/uapi.go IpcGetOperation: device keys only when non-zero;
// per peer public_key, preshared_key (zeros when none), protocol_version=1, endpoint if any,
// handshake time, tx before rx, keepalive, then allowed IPs; lowercase hex; then errno=0 and a
// blank line.
const std::string kGetFixture =
    "private_key=" + std::string(kAlicePrivClamped) +
    "\n"
    "listen_port=51820\n"
    "fwmark=51\n"
    "public_key=" +
    std::string(kBobPub) +
    "\n"
    "preshared_key=4242424242424242424242424242424242424242424242424242424242424242\n"
    "protocol_version=1\n"
    "endpoint=[2001:db8::1]:51820\n"
    "last_handshake_time_sec=1700000000\n"
    "last_handshake_time_nsec=123456789\n"
    "tx_bytes=1024\n"
    "rx_bytes=2048\n"
    "persistent_keepalive_interval=25\n"
    "allowed_ip=10.0.0.0/24\n"
    "allowed_ip=2001:db8:1::/48\n"
    "public_key=3333333333333333333333333333333333333333333333333333333333333333\n"
    "preshared_key=0000000000000000000000000000000000000000000000000000000000000000\n"
    "protocol_version=1\n"
    "endpoint=198.51.100.7:9\n"
    "last_handshake_time_sec=0\n"
    "last_handshake_time_nsec=0\n"
    "tx_bytes=0\n"
    "rx_bytes=18446744073709551615\n"
    "persistent_keepalive_interval=0\n"
    "public_key=4444444444444444444444444444444444444444444444444444444444444444\n"
    "preshared_key=0000000000000000000000000000000000000000000000000000000000000000\n"
    "protocol_version=1\n"
    "last_handshake_time_sec=0\n"
    "last_handshake_time_nsec=0\n"
    "tx_bytes=0\n"
    "rx_bytes=0\n"
    "persistent_keepalive_interval=0\n"
    "allowed_ip=0.0.0.0/0\n";

DeviceState fixture_state() {
  DeviceState s;
  s.private_key = key_hex(kAlicePrivClamped);
  s.public_key = key_hex(kAlicePub);
  s.listen_port = 51820;
  s.fwmark = 51;
  PeerState a;
  a.public_key = key_hex(kBobPub);
  a.preshared_key = key_of(0x42);
  a.endpoint = ep("[2001:db8::1]:51820");
  a.last_handshake_time_sec = 1700000000;
  a.last_handshake_time_nsec = 123456789;
  a.tx_bytes = 1024;
  a.rx_bytes = 2048;
  a.persistent_keepalive_interval = 25;
  a.allowed_ips = {pfx("10.0.0.0/24"), pfx("2001:db8:1::/48")};
  PeerState b;
  b.public_key = key_of(0x33);
  b.endpoint = ep("198.51.100.7:9");
  b.rx_bytes = 18446744073709551615ull;
  PeerState c;
  c.public_key = key_of(0x44);
  c.allowed_ips = {pfx("0.0.0.0/0")};
  s.peers = {a, b, c};
  return s;
}

TEST(FormatGet, MatchesWireguardGoBytes) { EXPECT_EQ(format_get(fixture_state()), kGetFixture); }

TEST(FormatGet, EmptyDeviceIsEmpty) { EXPECT_EQ(format_get(DeviceState{}), ""); }

TEST(FormatGet, ZeroFieldsOmittedAndNameNotWritten) {
  DeviceState s;
  s.name = "wg0";
  s.private_key = Key{};  // all zero: wireguard-go prints nothing
  s.public_key = key_of(9);
  EXPECT_EQ(format_get(s), "");
}

TEST(ParseGet, ParsesFixtureAndDerivesPublicKey) {
  auto r = parse_get(kGetFixture + "errno=0\n\n");
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_TRUE(*r == fixture_state());
  ASSERT_TRUE(r->public_key.has_value());
  EXPECT_EQ(to_hex(*r->public_key), kAlicePub);
}

TEST(ParseGet, RoundTripsFixtureExactly) {
  auto r = parse_get(kGetFixture);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(format_get(*r), kGetFixture);
}

TEST(ParseGet, EmptyAnswers) {
  auto r = parse_get("errno=0\n\n");
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(*r == (DeviceState{}));
  EXPECT_TRUE(parse_get("").ok());
}

TEST(ParseGet, NonZeroErrnoIsTheError) {
  auto r = parse_get("errno=-22\n\n");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, 22);
  r = parse_get("listen_port=1\nerrno=-98\n\n");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, 98);
  r = parse_get("errno=x\n\n");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, EPROTO);
}

TEST(ParseGet, NothingMayFollowTheEnd) {
  EXPECT_FALSE(parse_get("errno=0\nlisten_port=1\n").ok());
  EXPECT_FALSE(parse_get("errno=0\n\nlisten_port=1\n").ok());
  EXPECT_FALSE(parse_get("listen_port=1\n\nfwmark=1\n").ok());
}

TEST(ParseGet, UnknownKeysAreSkipped) {
  auto r = parse_get("listen_port=1\njc=4\n" + std::string("public_key=") + hex_of(7) +
                     "\nfuture_key=whatever\nallowed_ip=10.0.0.0/8\n");
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->listen_port, 1);
  ASSERT_EQ(r->peers.size(), 1u);
  EXPECT_EQ(r->peers[0].allowed_ips.size(), 1u);
}

TEST(ParseGet, SectionErrors) {
  auto r = parse_get("allowed_ip=10.0.0.0/8\n");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("line 1: peer key before any public_key"), std::string::npos);
  r = parse_get("public_key=" + hex_of(7) + "\nlisten_port=1\n");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("line 2: device key inside a peer"), std::string::npos);
  r = parse_get("garbage\n");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, EPROTO);
}

TEST(ParseGet, BadValuesAreRefused) {
  const std::string p = "public_key=" + hex_of(7) + "\n";
  for (const std::string& bad :
       {std::string("listen_port=65536\n"), std::string("fwmark=-1\n"),
        std::string("private_key=12\n"), p + "preshared_key=zz\n", p + "endpoint=1.2.3.4\n",
        p + "rx_bytes=18446744073709551616\n", p + "tx_bytes=-1\n",
        p + "last_handshake_time_sec=9223372036854775808\n",
        p + "persistent_keepalive_interval=65536\n", p + "allowed_ip=10.0.0.0\n",
        p + "protocol_version=x\n", std::string("public_key=abc\n")}) {
    auto r = parse_get(bad);
    EXPECT_FALSE(r.ok()) << bad;
    if (!r.ok()) {
      EXPECT_EQ(r.error().code, EINVAL) << bad;
    }
  }
}

TEST(ParseGet, ZeroPresharedKeyMeansNone) {
  auto r = parse_get("public_key=" + hex_of(7) + "\npreshared_key=" + kZeroHex + "\n");
  ASSERT_TRUE(r.ok());
  EXPECT_FALSE(r->peers[0].preshared_key.has_value());
}

TEST(ParseGet, RandomStatesRoundTrip) {
  std::mt19937 rng(99);
  for (int iter = 0; iter < 300; ++iter) {
    DeviceState s;
    if (rng() % 2) {
      Key k = random_key(rng);
      s.private_key = k;
      Key pub;
      ASSERT_TRUE(crypto::x25519_public(pub, k));
      s.public_key = pub;
    }
    s.listen_port = std::uint16_t(rng() % 3 ? rng() : 0);
    s.fwmark = rng() % 3 ? std::uint32_t(rng()) : 0;
    int npeers = int(rng() % 4);
    for (int i = 0; i < npeers; ++i) {
      PeerState p;
      p.public_key = random_key(rng);
      if (rng() % 2) p.preshared_key = random_key(rng);
      if (rng() % 2) p.endpoint = random_endpoint(rng);
      p.persistent_keepalive_interval = std::uint16_t(rng());
      p.last_handshake_time_sec = std::int64_t(rng()) << 20;
      p.last_handshake_time_nsec = rng() % 1000000000;
      p.rx_bytes = (std::uint64_t(rng()) << 32) | rng();
      p.tx_bytes = (std::uint64_t(rng()) << 32) | rng();
      int nips = int(rng() % 5);
      for (int j = 0; j < nips; ++j) p.allowed_ips.push_back(random_prefix(rng).canonical());
      s.peers.push_back(p);
    }
    std::string text = format_get(s);
    auto r = parse_get(text + "errno=0\n\n");
    ASSERT_TRUE(r.ok()) << r.error().message << "\n" << text;
    ASSERT_TRUE(*r == s) << text;
    ASSERT_EQ(format_get(*r), text);
  }
}

TEST(FormatErrno, WireForms) {
  EXPECT_EQ(format_errno(0), "errno=0\n\n");
  EXPECT_EQ(format_errno(EINVAL), "errno=-22\n\n");
  EXPECT_EQ(format_errno(kErrPortInUse), "errno=-98\n\n");
  EXPECT_EQ(format_errno(kErrProtocol), "errno=-71\n\n");
  EXPECT_EQ(format_errno(kErrIo), "errno=-5\n\n");
  EXPECT_EQ(format_errno(kErrUnknown), "errno=-55\n\n");
}

}  // namespace
}  // namespace wgcore::uapi
