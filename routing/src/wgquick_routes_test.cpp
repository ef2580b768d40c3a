// wg-quick's routing steps in a private namespace, checked with `ip`: per-prefix routes, the
// default-route policy routing with the first free table, Table = N and off, rule removal, and
// the automatic MTU.
#include <gtest/gtest.h>

#include <algorithm>

#include "netns_fixture.hpp"
#include "routing/address.hpp"
#include "routing/default_policy.hpp"
#include "routing/rule.hpp"
#include "routing/link.hpp"
#include "routing/quick_firewall.hpp"
#include "routing/route.hpp"
#include "routing/sysctl.hpp"
#include "routing/wgquick_routes.hpp"

namespace wgcore::routing {
namespace {

using testing::sh;

IpPrefix P(const char* s) { return *IpPrefix::parse(s); }

class QuickRoutesTest : public testing::NetnsTest {
 protected:
  void SetUp() override {
    NetnsTest::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    ASSERT_EQ(std::system("ip tuntap add dev wq0 mode tun 2>/dev/null; ip link set wq0 up"), 0);
  }
  void TearDown() override { std::system("ip link del wq0 2>/dev/null"); }
};

TEST_F(QuickRoutesTest, DefaultRoutePolicyRoutingLikeWgQuick) {
  std::string rules4_before = sh("ip -4 rule"), rules6_before = sh("ip -6 rule");
  ASSERT_TRUE(write_sysctl("net.ipv4.conf.all.src_valid_mark", "0").ok());
  // Table 51820 is taken: the first free one is 51821, as wg-quick's loop finds.
  ASSERT_EQ(std::system("ip route add 10.99.0.0/16 dev wq0 table 51820"), 0);
  ASSERT_TRUE(add_address(*nl, "wq0", P("203.0.113.1/24")).ok());
  std::vector<std::uint32_t> marks;
  std::vector<std::string> steps;
  QuickRoutesInput in;
  in.iface = "wq0";
  in.allowed_ips = {P("0.0.0.0/0"), P("203.0.113.2/32"), P("::/0"), P("10.7.0.0/16"), P("fd00:77::/64")};
  in.set_fwmark = [&](std::uint32_t m) {
    marks.push_back(m);
    return Status();
  };
  std::vector<std::string> nft_steps;
  auto t = add_quick_routes(*nl, in, [&](const std::string& s) {
    (s.rfind("nft ", 0) == 0 ? nft_steps : steps).push_back(s);
  });
  ASSERT_TRUE(t) << t.error().message;
  ASSERT_EQ(*t, std::optional<std::uint32_t>(51821));
  // wg-quick's firewall, one table per family, with the rule for the IPv4 address.
  EXPECT_EQ(std::count(nft_steps.begin(), nft_steps.end(), "nft add table ip wg-quick-wq0"), 1) << nft_steps.size();
  EXPECT_EQ(std::count(nft_steps.begin(), nft_steps.end(), "nft add table ip6 wg-quick-wq0"), 1);
  EXPECT_NE(sh("nft list table ip wg-quick-wq0").find(
                "iifname != \"wq0\" ip daddr 203.0.113.1 fib saddr type != local drop"),
            std::string::npos)
      << sh("nft list ruleset");
  EXPECT_NE(sh("nft list table ip6 wg-quick-wq0").find("meta l4proto udp meta mark set ct mark"), std::string::npos);
  EXPECT_EQ(marks, std::vector<std::uint32_t>{51821});  // set once, reused for IPv6
  EXPECT_EQ(steps, (std::vector<std::string>{
                       "ip -6 route add fd00:77::/64 dev wq0",
                       "ip -4 route add 10.7.0.0/16 dev wq0",
                       "set fwmark 51821 on wq0 (over the Control API: no wg runs)",
                       "ip -6 route add ::/0 dev wq0 table 51821",
                       "ip -6 rule add not fwmark 51821 table 51821",
                       "ip -6 rule add table main suppress_prefixlength 0",
                       "ip -4 route add 0.0.0.0/0 dev wq0 table 51821",
                       "ip -4 rule add not fwmark 51821 table 51821",
                       "ip -4 rule add table main suppress_prefixlength 0",
                       "sysctl -q net.ipv4.conf.all.src_valid_mark=1",
                   }));  // 203.0.113.2/32 is covered by the address's prefix route
  EXPECT_EQ(sh("ip -4 route show table 51821"), "default dev wq0 scope link linkdown \n");
  EXPECT_NE(sh("ip -6 route show table 51821").find("default dev wq0 metric 1024"), std::string::npos);
  EXPECT_NE(sh("ip -4 route show").find("10.7.0.0/16 dev wq0 scope link"), std::string::npos);
  EXPECT_EQ(sh("ip -4 route show").find("203.0.113.2"), std::string::npos);
  EXPECT_NE(sh("ip -6 route show").find("fd00:77::/64 dev wq0"), std::string::npos);
  for (const char* v : {"-4", "-6"}) {
    std::string rules = sh(std::string("ip ") + v + " rule");
    EXPECT_NE(rules.find("32764:\tfrom all lookup main suppress_prefixlength 0"), std::string::npos) << rules;
    EXPECT_NE(rules.find("32765:\tnot from all fwmark 0xca6d lookup 51821"), std::string::npos) << rules;
  }
  EXPECT_EQ(read_sysctl("net.ipv4.conf.all.src_valid_mark").value(), "1");

  steps.clear();
  ASSERT_TRUE(remove_quick_rules(*nl, 51821, [&](const std::string& s) { steps.push_back(s); }).ok());
  EXPECT_EQ(sh("ip -4 rule"), rules4_before);
  EXPECT_EQ(sh("ip -6 rule"), rules6_before);
  EXPECT_EQ(steps.size(), 4u);
  // Nothing left to remove is not an error.
  EXPECT_TRUE(remove_quick_rules(*nl, 51821).ok());
  ASSERT_TRUE(remove_quick_firewall("wq0").ok());
  EXPECT_EQ(sh("nft list tables"), "");
  EXPECT_TRUE(remove_quick_firewall("wq0").ok());
  std::system("ip route flush table 51820; ip route flush table 51821; ip -6 route flush table 51821");
}

// The one full-tunnel implementation (default_policy.hpp), as the NetworkManager service uses it:
// a table still named by a rule is not free, each rule gets the priority the kernel would have
// picked (so exactly it can be removed), and the guard hooks hear of every rule first.
TEST_F(QuickRoutesTest, DefaultPolicyWithExplicitPrioritiesAndBusyTables) {
  ASSERT_EQ(std::system("ip rule add fwmark 51820 table 51820 priority 20000"), 0);  // no route: still busy
  ASSERT_EQ(std::system("ip route add 10.98.0.0/16 dev wq0 table 51821"), 0);
  const std::uint32_t table = free_policy_table(*nl);
  EXPECT_EQ(table, 51822u);
  PolicyRuleOptions opts;
  opts.explicit_priorities = true;
  std::vector<Rule> told;
  opts.before_add = [&](const Rule& r) { told.push_back(r); };
  std::vector<Rule> added;
  ASSERT_TRUE(add_default_policy(*nl, "wq0", IpAddr::Family::V4, table, opts, added).ok());
  ASSERT_EQ(added.size(), 2u);
  EXPECT_EQ(told.size(), 2u);
  // Below the lowest priority in use (20000): 19999 for `not fwmark`, 19998 for suppress.
  EXPECT_EQ(added[0].priority, std::optional<std::uint32_t>(19999));
  EXPECT_EQ(added[1].priority, std::optional<std::uint32_t>(19998));
  const std::string rules = sh("ip -4 rule");
  EXPECT_NE(rules.find("19998:\tfrom all lookup main suppress_prefixlength 0"), std::string::npos) << rules;
  EXPECT_NE(rules.find("19999:\tnot from all fwmark 0xca6e lookup 51822"), std::string::npos) << rules;
  EXPECT_NE(sh("ip -4 route show table 51822").find("default dev wq0"), std::string::npos);
  for (const auto& r : added) EXPECT_TRUE(delete_rule(*nl, r).ok());
  EXPECT_EQ(sh("ip -4 rule").find("51822"), std::string::npos);
  ASSERT_EQ(std::system("ip rule del priority 20000"), 0);
}

TEST_F(QuickRoutesTest, ExistingFwmarkIsUsedAsTheTable) {
  QuickRoutesInput in;
  in.iface = "wq0";
  in.fwmark = 4242;
  in.allowed_ips = {P("0.0.0.0/0")};
  bool asked = false;
  in.set_fwmark = [&](std::uint32_t) {
    asked = true;
    return Status();
  };
  auto t = add_quick_routes(*nl, in);
  ASSERT_TRUE(t) << t.error().message;
  EXPECT_EQ(*t, std::optional<std::uint32_t>(4242));
  EXPECT_FALSE(asked);
  EXPECT_NE(sh("ip -4 rule").find("not from all fwmark 0x1092 lookup 4242"), std::string::npos);
  ASSERT_TRUE(remove_quick_rules(*nl, 4242).ok());
  EXPECT_EQ(sh("ip -4 rule").find("4242"), std::string::npos);
  EXPECT_EQ(sh("ip -4 rule").find("suppress_prefixlength"), std::string::npos);
}

TEST_F(QuickRoutesTest, FixedTableAndOff) {
  QuickRoutesInput in;
  in.iface = "wq0";
  in.table.kind = config::RouteTable::Kind::kId;
  in.table.id = 777;
  in.allowed_ips = {P("0.0.0.0/0"), P("10.8.0.0/16")};
  auto t = add_quick_routes(*nl, in);
  ASSERT_TRUE(t) << t.error().message;
  EXPECT_FALSE(*t);  // no policy routing with a fixed table
  EXPECT_EQ(sh("ip -4 route show table 777"), "default dev wq0 scope link linkdown \n10.8.0.0/16 dev wq0 scope link linkdown \n");
  EXPECT_EQ(sh("ip -4 rule").find("777"), std::string::npos);
  in.table.kind = config::RouteTable::Kind::kOff;
  in.allowed_ips = {P("10.9.0.0/16")};
  ASSERT_TRUE(add_quick_routes(*nl, in));
  EXPECT_EQ(sh("ip -4 route show").find("10.9.0.0"), std::string::npos);
  in.table.kind = config::RouteTable::Kind::kName;
  in.table.name = "main";
  ASSERT_TRUE(add_quick_routes(*nl, in));
  EXPECT_NE(sh("ip -4 route show").find("10.9.0.0/16 dev wq0"), std::string::npos);
  in.table.name = "no-such-table-name";
  auto bad = add_quick_routes(*nl, in);
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().message, "table \"no-such-table-name\" is not in /etc/iproute2/rt_tables");
}

TEST_F(QuickRoutesTest, AutoMtu) {
  ASSERT_TRUE(set_link_mtu(*nl, "wq0", 1400).ok());
  ASSERT_TRUE(add_address(*nl, "wq0", P("198.18.7.1/24")).ok());
  // Endpoint behind wq0 (mtu 1400); an unroutable one is skipped.
  EXPECT_EQ(auto_mtu(*nl, {*IpAddr::parse("198.18.7.2"), *IpAddr::parse("2001:db8:ff::1")}), 1320u);
  // A route mtu wins over the device's.
  ASSERT_EQ(std::system("ip route add 198.18.8.0/24 dev wq0 mtu 1300"), 0);
  EXPECT_EQ(auto_mtu(*nl, {*IpAddr::parse("198.18.8.9")}), 1220u);
  // No endpoints and no default route: 1500 - 80.
  EXPECT_EQ(auto_mtu(*nl, {}), 1420u);
  ASSERT_EQ(std::system("ip route add default dev wq0"), 0);
  EXPECT_EQ(auto_mtu(*nl, {}), 1320u);
}

}  // namespace
}  // namespace wgcore::routing
