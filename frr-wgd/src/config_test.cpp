#include "config.hpp"

#include <gtest/gtest.h>

#include "frr_snippet.hpp"

namespace wgcore::frrwgd {
namespace {

const char* kKeyB = "dGhpcyBpcyBhIHRlc3Qga2V5IGZvciBzaXRlIGIgISE=";
const char* kKeyC = "dGhpcyBpcyBhIHRlc3Qga2V5IGZvciBzaXRlIGMgISE=";

std::string good() {
  return std::string(
             "! frr-wgd at site A\n"
             "control-socket /run/x/frr-wgd.sock\n"
             "state-directory /run/x\n"
             "fpm listen 127.0.0.1 port 2621\n"
             "fpm sweep-delay 1500\n"
             "fpm replay-hold 3000\n"
             "refresh-interval 1000\n"
             "bgp-asn 65001\n"
             "ip prefix-list SITE-B seq 10 permit 198.18.2.0/24 le 32\n"
             "ipv6 prefix-list SITE-B6 seq 10 permit 2001:db8:102::/48 le 64\n"
             "interface wg0\n"
             " export table 20\n"
             " peer site-b public-key ") +
         kKeyB +
         "\n"
         "  tunnel-address 203.0.113.2\n"
         "  tunnel-address fd00:77::2\n"
         "  prefix-list ipv4 SITE-B\n"
         "  prefix-list ipv6 SITE-B6\n"
         "  max-prefixes 100 warn 80\n"
         "  remote-as 65002\n"
         "  allow-default\n"
         "  approval\n"
         " peer site-c public-key " +
         kKeyC +
         "\n"
         "  tunnel-address 203.0.113.3\n"
         "exit\n";
}

TEST(Config, ParsesEveryKeyword) {
  auto c = parse_config(good(), "a.conf");
  ASSERT_TRUE(c) << c.error().message;
  EXPECT_EQ(c->control_socket, "/run/x/frr-wgd.sock");
  EXPECT_EQ(c->state_directory, "/run/x");
  EXPECT_EQ(c->import, ImportSource::kFpm);
  EXPECT_EQ(c->fpm_port, 2621);
  EXPECT_EQ(c->fpm_address.to_string(), "127.0.0.1");
  EXPECT_EQ(c->sweep_delay_ms, 1500u);
  EXPECT_EQ(c->replay_hold_ms, 3000u);
  EXPECT_EQ(c->refresh_interval_ms, 1000u);
  EXPECT_EQ(c->bgp_asn, 65001u);
  ASSERT_EQ(c->prefix_lists.size(), 2u);
  ASSERT_EQ(c->interfaces.size(), 1u);
  const auto& i = c->interfaces[0];
  EXPECT_EQ(i.name, "wg0");
  EXPECT_TRUE(i.export_enabled);
  EXPECT_EQ(i.export_table, 20u);
  ASSERT_EQ(i.peers.size(), 2u);
  const auto& b = i.peers[0];
  EXPECT_EQ(b.name, "site-b");
  EXPECT_EQ(to_base64(b.public_key), kKeyB);
  ASSERT_EQ(b.tunnel_addresses.size(), 2u);
  EXPECT_EQ(b.tunnel_addresses[1].to_string(), "fd00:77::2");
  EXPECT_EQ(b.prefix_list_v4, "SITE-B");
  EXPECT_EQ(b.prefix_list_v6, "SITE-B6");
  EXPECT_EQ(b.max_prefixes, 100u);
  EXPECT_EQ(b.warn_prefixes, 80u);
  EXPECT_TRUE(b.allow_default);
  EXPECT_TRUE(b.approval);
  auto pol = b.policy();
  EXPECT_EQ(pol.name, "site-b");
  EXPECT_TRUE(pol.require_approval);
  EXPECT_EQ(pol.max_prefixes, 100u);
  EXPECT_FALSE(i.peers[1].allow_default);
  EXPECT_EQ(i.find_peer("site-c"), &i.peers[1]);
  EXPECT_EQ(i.find_peer(kKeyC), &i.peers[1]);
  EXPECT_EQ(i.find_peer(b.public_key), &i.peers[0]);
}

TEST(Config, Defaults) {
  auto c = parse_config("interface wg0\n export\n", "d.conf");
  ASSERT_TRUE(c) << c.error().message;
  EXPECT_EQ(c->import, ImportSource::kNone);
  EXPECT_EQ(c->export_protocol, kDefaultExportProtocol);
  EXPECT_EQ(c->interfaces[0].export_table, kDefaultExportTable);
  EXPECT_EQ(c->control_socket, kDefaultControlSocket);
}

TEST(Config, WatchRtnetlink) {
  auto c = parse_config("watch rtnetlink proto bgp ospf 42\n", "w.conf");
  ASSERT_TRUE(c) << c.error().message;
  EXPECT_EQ(c->import, ImportSource::kRtnetlink);
  EXPECT_EQ(c->watch_protocols, (std::set<std::uint8_t>{186, 188, 42}));
}

struct BadCase {
  std::string text;
  std::string want;  // substring of the error
};

TEST(Config, ErrorsNameFileLineAndToken) {
  const std::string peer = std::string(" peer b public-key ") + kKeyB + "\n";
  const BadCase cases[] = {
      {"frobnicate 1\n", "x.conf:1: unknown keyword 'frobnicate'"},
      {"\n\ninterface wg0\n peer b public-key nonsense\n", "x.conf:4: bad public key 'nonsense'"},
      {"interface wg0\n" + peer + "  tunnel-address 300.1.1.1\n", "x.conf:3: bad address '300.1.1.1'"},
      {"interface wg0\n" + peer + "  max-prefixes lots\n", "x.conf:3: bad number 'lots'"},
      {"interface wg0\n" + peer + "  max-prefixes 10 warn 20\n", "x.conf:3: warn threshold above the limit: '20'"},
      {"interface wg0\n" + peer + "  prefix-list ipv5 X\n", "x.conf:3: expected ipv4 or ipv6, got 'ipv5'"},
      {"interface wg0\n" + peer + "  prefix-list ipv4 NOPE\n", "x.conf:3: prefix-list 'NOPE' is not defined"},
      {"ipv6 prefix-list V6 seq 5 permit 2001:db8::/32\ninterface wg0\n" + peer + "  prefix-list ipv4 V6\n",
       "x.conf:4: prefix-list 'V6' is an ipv6 prefix-list"},
      {"tunnel-address 1.2.3.4\n", "x.conf:1: outside a peer block: 'tunnel-address'"},
      {"peer b public-key x\n", "x.conf:1: outside an interface block: 'peer'"},
      {"interface wg0\ninterface wg0\n", "x.conf:2: interface configured twice 'wg0'"},
      {"interface wg0\n" + peer + peer, "x.conf:3: public key already used by peer b"},
      {"interface wg0\n export table 254\n", "x.conf:2: bad table"},
      {"export-protocol 186\n", "x.conf:1: protocol number belongs to the kernel or FRR"},
      {"fpm listen 127.0.0.1 port 0\n", "x.conf:1: bad port '0'"},
      {"fpm listen 127.0.0.1\nwatch rtnetlink proto bgp\n", "x.conf:2: fpm and watch rtnetlink are exclusive"},
      {"watch rtnetlink proto carrier-pigeon\n", "x.conf:1: unknown route protocol 'carrier-pigeon'"},
      {"fpm listen 127.0.0.1\ninterface wg0\n" + peer, "x.conf:3: peer b has no tunnel-address"},
      {"ip prefix-list L seq 5 permit 10.0.0.0/8 ge 4\n", "x.conf:1:"},
      {"control-socket relative.sock\n", "x.conf:1: not an absolute path: 'relative.sock'"},
      {"interface wg0\n peer b public-key " + std::string(kKeyB) + "\n  remote-as 0\n",
       "x.conf:3: expected an AS number, external or internal, got '0'"},
  };
  for (const auto& c : cases) {
    auto r = parse_config(c.text, "x.conf");
    ASSERT_FALSE(r) << c.text;
    EXPECT_NE(r.error().message.find(c.want), std::string::npos)
        << "got: " << r.error().message << "\nwant: " << c.want;
  }
}

TEST(Config, CommentsAndExit) {
  auto c = parse_config(std::string("# comment\ninterface wg0 ! trailing\n") + " peer b public-key " + kKeyB +
                            "\n  allow-default\n exit\n export table 7\nexit\nbgp-asn 1\n",
                        "c.conf");
  ASSERT_TRUE(c) << c.error().message;
  EXPECT_TRUE(c->interfaces[0].peers[0].allow_default);
  EXPECT_EQ(c->interfaces[0].export_table, 7u);
}

TEST(FrrSnippet, NamesEverythingFrrNeeds) {
  auto c = parse_config(good(), "a.conf");
  ASSERT_TRUE(c);
  std::string s = frr_config_snippet(*c);
  for (const char* want : {"ip import-table 20", "redistribute table 20", "fpm address 127.0.0.1 port 2621",
                           "-M dplane_fpm_nl", "no fpm use-next-hop-groups", "route-map FRR-WGD permit 10",
                           " match interface wg0", "redistribute kernel route-map FRR-WGD", "router bgp 65001",
                           "set ipv6 next-hop prefer-global", "neighbor fd00:77::2 remote-as 65002",
                           "neighbor 203.0.113.3 remote-as external",
                           "  neighbor fd00:77::2 route-map FRR-WGD-IN6-site-b in", "  neighbor 203.0.113.3 activate",
                           "  neighbor 203.0.113.3 route-map FRR-WGD-OUT out",
                           "ip prefix-list FRR-WGD-SITE-B seq 10 permit 198.18.2.0/24 le 32",
                           "ipv6 prefix-list FRR-WGD-SITE-B6 seq 10 permit 2001:db8:102::/48 le 64",
                           "ip prefix-list FRR-WGD-DEFAULT4 seq 5 permit 0.0.0.0/0",
                           "route-map FRR-WGD-IN4-site-b permit 10\n match ip address prefix-list FRR-WGD-SITE-B\n",
                           "route-map FRR-WGD-IN4-site-c deny 5\n match ip address prefix-list FRR-WGD-DEFAULT4\n",
                           "route-map FRR-WGD-IN4-site-c deny 10\n"})
    EXPECT_NE(s.find(want), std::string::npos) << want << "\n" << s;
  // allow-default: no default-route deny for site-b; a neighbor is declared before it is used.
  EXPECT_EQ(s.find("route-map FRR-WGD-IN4-site-b deny 5"), std::string::npos) << s;
  EXPECT_LT(s.find("neighbor fd00:77::2 remote-as"), s.find("neighbor fd00:77::2 route-map")) << s;
  // One family per session: the IPv6 session is kept out of ipv4 unicast (FRR activates it there).
  EXPECT_NE(s.find(" address-family ipv4 unicast\n  redistribute table 20\n  neighbor 203.0.113.2 activate\n"
                   "  neighbor 203.0.113.2 route-map FRR-WGD-IN4-site-b in\n"
                   "  neighbor 203.0.113.2 route-map FRR-WGD-OUT out\n  no neighbor fd00:77::2 activate\n"),
            std::string::npos) << s;
  EXPECT_EQ(s.find("neighbor fd00:77::2 route-map FRR-WGD-IN4"), std::string::npos) << s;
}

}  // namespace
}  // namespace wgcore::frrwgd
