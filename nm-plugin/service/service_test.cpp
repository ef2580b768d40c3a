// Unit tests of the service's pure parts: the NM/policy-routing split of a profile, the NM
// config dictionaries, the guard's wire format, rule priorities and interface naming.
#include <gtest/gtest.h>

#include "full_tunnel.hpp"
#include "routing/default_policy.hpp"
#include "ip_plan.hpp"
#include "nm_config.hpp"
#include "rule_guard.hpp"
#include "tunnel.hpp"

namespace wgcore::nm {
namespace {

config::WgQuickConfig parse(const char* text) {
  auto c = config::parse_wgquick(text, "test.conf");
  EXPECT_TRUE(c.ok()) << (c.ok() ? "" : c.error().message);
  return c.ok() ? *c : config::WgQuickConfig{};
}

constexpr const char* kSplit =
    "[Interface]\nAddress = 203.0.113.1/24, fd00:77::1/64, 203.0.113.9/32\n"
    "DNS = 198.18.0.53, 2001:db8:100::53, corp.example\nPrivateKey = "
    "yAnz5TF+lXXJte14tji3zlMNq+hd2rYUIgJBgB3fBmk=\n\n[Peer]\n"
    "PublicKey = xTIBA5rboUvnH4htodjb6e697QjLERt1NAB4mZqp8Dg=\n"
    "AllowedIPs = 203.0.113.2/32, 198.18.0.0/16, 198.18.1.0/24, 198.18.0.0/16\n"
    "Endpoint = 198.51.100.2:51821\n";

TEST(IpPlan, SplitsAddressesRoutesAndDns) {
  IpPlan p = plan_ip(parse(kSplit));
  ASSERT_TRUE(p.v4.address);
  EXPECT_EQ(p.v4.address->to_string(), "203.0.113.1/24");
  ASSERT_EQ(p.v4.extra_addresses.size(), 1u);
  ASSERT_TRUE(p.v6.address);
  EXPECT_EQ(p.v6.address->to_string(), "fd00:77::1/64");
  ASSERT_EQ(p.v4.routes.size(), 3u);  // the duplicate is dropped
  EXPECT_EQ(p.v4.routes[0].to_string(), "203.0.113.2/32");
  EXPECT_TRUE(p.v6.routes.empty());
  EXPECT_FALSE(p.v4.full_tunnel);
  ASSERT_EQ(p.v4.dns.size(), 1u);
  ASSERT_EQ(p.v6.dns.size(), 1u);
  ASSERT_EQ(p.domains.size(), 1u);
  EXPECT_EQ(p.domains[0], "corp.example");
}

TEST(IpPlan, DefaultRoutesGoToPolicyRoutingNotNm) {
  auto c = parse(
      "[Interface]\nAddress = 203.0.113.1/24\nPrivateKey = yAnz5TF+lXXJte14tji3zlMNq+hd2rYUIgJBgB3fBmk=\n\n"
      "[Peer]\nPublicKey = xTIBA5rboUvnH4htodjb6e697QjLERt1NAB4mZqp8Dg=\nAllowedIPs = 0.0.0.0/0, ::/0, 10.1.0.0/16\n");
  IpPlan p = plan_ip(c);
  EXPECT_TRUE(p.v4.full_tunnel);
  EXPECT_TRUE(p.v6.full_tunnel);
  ASSERT_EQ(p.v4.routes.size(), 1u);
  EXPECT_EQ(p.v4.routes[0].to_string(), "10.1.0.0/16");
}

TEST(IpPlan, TableOffAndFixedTable) {
  auto c = parse(kSplit);
  c.table = config::RouteTable{config::RouteTable::Kind::kOff, 0, ""};
  IpPlan off = plan_ip(c);
  EXPECT_TRUE(off.routes_off);
  EXPECT_TRUE(off.v4.routes.empty());
  EXPECT_TRUE(off.v4.address);  // addresses still go to NM
  c.table = config::RouteTable{config::RouteTable::Kind::kId, 1234, ""};
  IpPlan fixed = plan_ip(c);
  ASSERT_TRUE(fixed.fixed_table);
  EXPECT_TRUE(fixed.v4.routes.empty());
  EXPECT_EQ(fixed_table_routes(c).size(), 3u);
}

TEST(NmConfig, DictionariesCarryWhatNmNeeds) {
  NmConfigInput in;
  in.tundev = "wg0";
  in.mtu = 1420;
  in.gateway = IpAddr::parse("198.51.100.2");
  in.plan = plan_ip(parse(kSplit));
  GVariant* g = g_variant_ref_sink(build_generic_config(in));
  const char* dev = nullptr;
  guint32 gw = 0, mtu = 0;
  gboolean has4 = FALSE, has6 = FALSE;
  ASSERT_TRUE(g_variant_lookup(g, "tundev", "&s", &dev));
  EXPECT_STREQ(dev, "wg0");
  ASSERT_TRUE(g_variant_lookup(g, "gateway", "u", &gw));
  EXPECT_EQ(gw, IpAddr::parse("198.51.100.2")->bytes[0] | (51u << 8) | (100u << 16) | (2u << 24));
  ASSERT_TRUE(g_variant_lookup(g, "mtu", "u", &mtu));
  EXPECT_EQ(mtu, 1420u);
  ASSERT_TRUE(g_variant_lookup(g, "has-ip4", "b", &has4));
  ASSERT_TRUE(g_variant_lookup(g, "has-ip6", "b", &has6));
  EXPECT_TRUE(has4);
  EXPECT_TRUE(has6);
  g_variant_unref(g);

  GVariant* v4 = g_variant_ref_sink(build_ip4_config(in));
  guint32 prefix = 0;
  gboolean never = FALSE;
  ASSERT_TRUE(g_variant_lookup(v4, "prefix", "u", &prefix));
  EXPECT_EQ(prefix, 24u);
  ASSERT_TRUE(g_variant_lookup(v4, "never-default", "b", &never));
  EXPECT_TRUE(never);
  GVariant* routes = g_variant_lookup_value(v4, "routes", G_VARIANT_TYPE("aau"));
  ASSERT_NE(routes, nullptr);
  EXPECT_EQ(g_variant_n_children(routes), 3u);
  g_variant_unref(routes);
  g_variant_unref(v4);

  GVariant* v6 = g_variant_ref_sink(build_ip6_config(in));
  GVariant* addr = g_variant_lookup_value(v6, "address", G_VARIANT_TYPE("ay"));
  ASSERT_NE(addr, nullptr);
  EXPECT_EQ(g_variant_n_children(addr), 16u);
  g_variant_unref(addr);
  g_variant_unref(v6);

  in.gateway = IpAddr::parse("2001:db8:1::2");
  GVariant* g6 = g_variant_ref_sink(build_generic_config(in));
  GVariant* gw6 = g_variant_lookup_value(g6, "gateway", G_VARIANT_TYPE("ay"));
  ASSERT_NE(gw6, nullptr);
  g_variant_unref(gw6);
  g_variant_unref(g6);
}

TEST(NmConfig, NoIp4ConfigWithoutAnIpv4Address) {
  NmConfigInput in;
  in.tundev = "wg0";
  EXPECT_EQ(build_ip4_config(in), nullptr);
  EXPECT_EQ(build_ip6_config(in), nullptr);
}

TEST(RuleGuard, EncodeDecodeRoundTrip) {
  routing::Rule r;
  r.family = IpAddr::Family::V6;
  r.priority = 32764;
  r.invert = true;
  r.fwmark = 51820;
  r.table = 51820;
  auto back = RuleGuard::decode(RuleGuard::encode(r));
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(RuleGuard::encode(*back), RuleGuard::encode(r));
  EXPECT_EQ(back->family, IpAddr::Family::V6);
  EXPECT_TRUE(back->invert);
  routing::Rule s;
  s.priority = 32763;
  s.table = 254;
  s.suppress_prefixlength = 0;
  auto sb = RuleGuard::decode(RuleGuard::encode(s));
  ASSERT_TRUE(sb.ok());
  ASSERT_TRUE(sb->suppress_prefixlength);
  EXPECT_EQ(*sb->suppress_prefixlength, 0u);
  EXPECT_FALSE(sb->fwmark);
  EXPECT_FALSE(RuleGuard::decode("4 1 2").ok());
  EXPECT_FALSE(RuleGuard::decode("5 - 0 - 254 -").ok());
  EXPECT_FALSE(RuleGuard::decode("4 - 0 - 0 -").ok());  // table 0 would match any rule
}

TEST(FullTunnel, NextPriorityIsBelowTheLowestInUse) {
  std::vector<routing::Rule> rules(3);
  rules[0].priority = 0;
  rules[1].priority = 32766;
  rules[2].priority = 32767;
  EXPECT_EQ(routing::next_rule_priority(rules), 32765u);
  rules.push_back(routing::Rule{});
  rules.back().priority = 32000;
  EXPECT_EQ(routing::next_rule_priority(rules), 31999u);
  EXPECT_EQ(routing::next_rule_priority({}), 32765u);
}

TEST(Tunnel, InterfaceNameFromConnectionIdElseWgcN) {
  auto none = [](const std::string&) { return false; };
  EXPECT_EQ(choose_iface_name("wg0", none), "wg0");
  EXPECT_EQ(choose_iface_name("my vpn", none), "wgc0");
  EXPECT_EQ(choose_iface_name("a-name-longer-than-15", none), "wgc0");
  auto taken = [](const std::string& n) { return n == "wg0" || n == "wgc0"; };
  EXPECT_EQ(choose_iface_name("wg0", taken), "wgc1");
}

}  // namespace
}  // namespace wgcore::nm
