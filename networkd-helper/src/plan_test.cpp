// Reload plans touch only what changed; routes follow networkd's RouteTable=/RouteMetric= rules;
// convert maps wg-quick files the documented way.

#include <gtest/gtest.h>

#include "convert.hpp"
#include "netdev.hpp"
#include "plan.hpp"
#include "testing/fixtures.hpp"

namespace wgcore::networkd {
namespace {

PeerConfig peer(const char* seed, std::vector<std::string> ips) {
  PeerConfig p;
  std::uint8_t b[32] = {};
  for (int i = 0; seed[i] && i < 32; ++i) b[i] = std::uint8_t(seed[i]);
  p.public_key = Key(std::span<const std::uint8_t, 32>(b, 32));
  for (auto& s : ips) p.allowed_ips.push_back(*IpPrefix::parse(s));
  return p;
}

WireGuardNetdev base() {
  WireGuardNetdev w;
  w.name = "wg0";
  std::uint8_t b[32] = {1};
  w.private_key = Key(std::span<const std::uint8_t, 32>(b, 32));
  w.peers.push_back(peer("a", {"10.0.0.1/32"}));
  return w;
}

TEST(Plan, AddingAPeerLeavesTheOthersUntouched) {
  auto before = base();
  auto after = base();
  after.peers.push_back(peer("b", {"10.0.0.2/32"}));
  auto u = diff_update(before, {}, after, {});
  EXPECT_FALSE(u.replace_peers);
  EXPECT_FALSE(u.private_key);
  ASSERT_EQ(u.peers.size(), 1u);
  EXPECT_EQ(u.peers[0].public_key, *after.peers[1].public_key);
  EXPECT_FALSE(u.peers[0].update_only);
  EXPECT_TRUE(update_is_empty(diff_update(before, {}, before, {})));
}

TEST(Plan, ChangedAndRemovedPeers) {
  auto before = base();
  before.peers.push_back(peer("b", {"10.0.0.2/32"}));
  auto after = base();
  after.peers[0].allowed_ips.push_back(*IpPrefix::parse("10.1.0.0/16"));
  after.peers[0].persistent_keepalive = 25;
  after.listen_port = 999;
  auto u = diff_update(before, {}, after, {});
  EXPECT_EQ(u.listen_port, 999);
  ASSERT_EQ(u.peers.size(), 2u);
  EXPECT_TRUE(u.peers[0].remove);
  EXPECT_TRUE(u.peers[1].update_only);
  EXPECT_EQ(u.peers[1].persistent_keepalive_interval, 25);
  EXPECT_FALSE(u.peers[1].endpoint);
  ASSERT_EQ(u.peers[1].allowed_ips.size(), 3u);
  EXPECT_EQ(u.peers[1].allowed_ips[0].kind, AllowedIpOp::Kind::kReplaceAll);
}

TEST(Plan, EndpointResetOnlyWhenItsResolutionChanged) {
  auto w = base();
  w.peers[0].endpoint = config::EndpointSpec{"peer.example", 51820};
  const std::string k = to_base64(*w.peers[0].public_key);
  ResolvedEndpoints e1{{k, *Endpoint::parse("198.51.100.2:51820")}};
  ResolvedEndpoints e2{{k, *Endpoint::parse("198.51.100.3:51820")}};
  EXPECT_TRUE(update_is_empty(diff_update(w, e1, w, e1)));
  auto u = diff_update(w, e1, w, e2);
  ASSERT_EQ(u.peers.size(), 1u);
  EXPECT_EQ(u.peers[0].endpoint->to_string(), "198.51.100.3:51820");
  auto full = full_update(w, e1);
  EXPECT_TRUE(full.replace_peers);
  EXPECT_EQ(full.peers[0].endpoint->to_string(), "198.51.100.2:51820");
}

TEST(Plan, Routes) {
  auto w = base();
  w.peers.push_back(peer("b", {"fd00:77::/64", "10.2.0.0/16"}));
  EXPECT_TRUE(peer_routes(w).empty());  // RouteTable= defaults to off
  w.route_table = 254;
  w.peers[0].route_table = 0;           // this peer: off
  w.peers[1].route_metric = 0;
  auto r = peer_routes(w);
  ASSERT_EQ(r.size(), 2u);
  EXPECT_EQ(r[0].dst.to_string(), "10.2.0.0/16");
  EXPECT_EQ(r[0].metric, 0u);
  EXPECT_EQ(r[1].metric, 1024u);  // IPv6 default priority
  w.route_metric = 50;
  w.peers[1].route_metric.reset();
  EXPECT_EQ(peer_routes(w)[0].metric, 50u);
}

TEST(Convert, MapsWgQuick) {
  auto c = config::parse_wgquick(
      "[Interface]\nPrivateKey=yAnz5TF+lXXJte14tji3zlMNq+hd2rYUIgJBgB3fBmk=\nAddress=203.0.113.1/24\n"
      "DNS=198.18.0.53, corp.example\nMTU=1380\nListenPort=51820\nPostUp=true\n"
      "[Peer]\nPublicKey=xTIBA5rboUvnH4htodjb6e697QjLERt1NAB4mZqp8Dg=\n"
      "AllowedIPs=203.0.113.2/32, 198.18.0.0/16\nEndpoint=198.51.100.2:51821\nPersistentKeepalive=25\n",
      "wg0.conf");
  ASSERT_TRUE(c.ok()) << c.error().message;
  auto out = convert_wgquick(*c, "wg0");
  EXPECT_NE(out.netdev.find("Name=wg0\nKind=wireguard\nMTUBytes=1380\n"), std::string::npos) << out.netdev;
  EXPECT_NE(out.netdev.find("RouteTable=main\n"), std::string::npos);
  EXPECT_NE(out.netdev.find("AllowedIPs=203.0.113.2/32,198.18.0.0/16\n"), std::string::npos);
  EXPECT_NE(out.netdev.find("Endpoint=198.51.100.2:51821\nPersistentKeepalive=25\n"), std::string::npos);
  EXPECT_NE(out.network.find("Address=203.0.113.1/24\nDNS=198.18.0.53\nDomains=corp.example\n"),
            std::string::npos) << out.network;
  ASSERT_EQ(out.notes.size(), 1u);
  // The generated .netdev reads back with no diagnostics.
  Diagnostics d;
  auto p = parse_netdev({{"wg0.netdev", out.netdev}}, d);
  ASSERT_TRUE(p && p->wireguard);
  EXPECT_TRUE(d.empty()) << d.joined();
  EXPECT_EQ(p->wireguard->peers.size(), 1u);
  EXPECT_EQ(p->wireguard->route_table, 254u);
}

TEST(Convert, DefaultRouteUsesPolicyRouting) {
  auto c = config::parse_wgquick(
      "[Interface]\nPrivateKey=yAnz5TF+lXXJte14tji3zlMNq+hd2rYUIgJBgB3fBmk=\n"
      "[Peer]\nPublicKey=xTIBA5rboUvnH4htodjb6e697QjLERt1NAB4mZqp8Dg=\nAllowedIPs=0.0.0.0/0\n",
      "wg0.conf");
  ASSERT_TRUE(c.ok());
  auto out = convert_wgquick(*c, "wg0");
  EXPECT_NE(out.netdev.find("FirewallMark=51820\nRouteTable=51820\n"), std::string::npos) << out.netdev;
  EXPECT_NE(out.network.find("InvertRule=yes"), std::string::npos);
  EXPECT_NE(out.network.find("SuppressPrefixLength=0"), std::string::npos);
}

// tests/fixtures/networkd: wg-site.conf converts to exactly wg-site.netdev / wg-site.network.
TEST(Convert, GoldenFixture) {
  const std::string dir = testing_support::fixture_dir("networkd") + "/";
  auto c = config::load_wgquick(dir + "wg-site.conf");
  ASSERT_TRUE(c.ok()) << c.error().message;
  auto out = convert_wgquick(*c, "wg-site");
  EXPECT_EQ(out.netdev, testing_support::read_file(dir + "wg-site.netdev"));
  EXPECT_EQ(out.network, testing_support::read_file(dir + "wg-site.network"));
  EXPECT_TRUE(out.notes.empty());
}

}  // namespace
}  // namespace wgcore::networkd
