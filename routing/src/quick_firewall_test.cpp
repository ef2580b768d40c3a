// wg-quick's full-tunnel firewall: our nft commands are the text /usr/bin/wg-quick writes
// (add_default, wireguard-tools 1.0.20210914), per family, with one drop rule per address.
#include "routing/quick_firewall.hpp"

#include <gtest/gtest.h>

namespace wgcore::routing {
namespace {

TEST(QuickFirewall, CommandsAreWgQuicks) {
  std::vector<IpAddr> addrs = {*IpAddr::parse("10.0.0.2"), *IpAddr::parse("fd00::2"), *IpAddr::parse("10.1.0.2")};
  EXPECT_EQ(quick_firewall_commands("wg0", IpAddr::Family::V4, 51820, addrs),
            "add table ip wg-quick-wg0\n"
            "add chain ip wg-quick-wg0 preraw { type filter hook prerouting priority -300; }\n"
            "add chain ip wg-quick-wg0 premangle { type filter hook prerouting priority -150; }\n"
            "add chain ip wg-quick-wg0 postmangle { type filter hook postrouting priority -150; }\n"
            "add rule ip wg-quick-wg0 preraw iifname != \"wg0\" ip daddr 10.0.0.2 fib saddr type != local drop\n"
            "add rule ip wg-quick-wg0 preraw iifname != \"wg0\" ip daddr 10.1.0.2 fib saddr type != local drop\n"
            "add rule ip wg-quick-wg0 postmangle meta l4proto udp mark 51820 ct mark set mark \n"
            "add rule ip wg-quick-wg0 premangle meta l4proto udp meta mark set ct mark \n");
  std::string v6 = quick_firewall_commands("wg0", IpAddr::Family::V6, 51821, addrs);
  EXPECT_NE(v6.find("add rule ip6 wg-quick-wg0 preraw iifname != \"wg0\" ip6 daddr fd00::2 fib saddr type != local drop\n"),
            std::string::npos) << v6;
  EXPECT_EQ(v6.find("10.0.0.2"), std::string::npos) << v6;
  EXPECT_NE(v6.find("mark 51821 ct mark set mark"), std::string::npos);
}

}  // namespace
}  // namespace wgcore::routing
