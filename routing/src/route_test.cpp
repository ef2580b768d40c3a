// Routes against the kernel in a private namespace: what we add, `ip` must see with the same
// attributes `ip route add` would give it, and what `ip` adds, we must read back.
#include <gtest/gtest.h>

#include <algorithm>

#include "netns_fixture.hpp"
#include "routing/address.hpp"
#include "routing/link.hpp"
#include "routing/route.hpp"

namespace wgcore::routing {
namespace {

using testing::sh;

IpPrefix P(const char* s) { return *IpPrefix::parse(s); }

class RouteTest : public testing::NetnsTest {
 protected:
  void SetUp() override {
    NetnsTest::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    ASSERT_TRUE(set_link_up(*nl, "rt0", true).ok());
    ASSERT_TRUE(set_link_up(*nl, "rt1", true).ok());
  }
};

Route dev_route(const char* dst, const char* dev, std::uint32_t table) {
  Route r;
  r.dst = P(dst);
  r.dev = dev;
  r.table = table;
  return r;
}

std::vector<std::string> strings(const std::vector<Route>& rs) {
  std::vector<std::string> out;
  for (const auto& r : rs) out.push_back(r.to_string());
  return out;
}

TEST_F(RouteTest, AddMatchesIpRouteAddAndReadsBack) {
  // Ours in table 100, the same routes by `ip` in table 101: the kernel must hold identical
  // routes (protocol boot, IPv4 scope link, no metric unless asked).
  for (const char* dst : {"10.0.0.0/8", "0.0.0.0/0", "fd00:77::/64", "::/0"})
    ASSERT_TRUE(add_route(*nl, dev_route(dst, "rt0", 100)).ok()) << dst;
  ASSERT_EQ(std::system("ip route add 10.0.0.0/8 dev rt0 table 101 && ip route add 0.0.0.0/0 dev rt0 table 101 && "
                        "ip -6 route add fd00:77::/64 dev rt0 table 101 && ip -6 route add ::/0 dev rt0 table 101"),
            0);
  std::string ours4 = sh("ip -d -4 route show table 100"), ref4 = sh("ip -d -4 route show table 101");
  std::string ours6 = sh("ip -d -6 route show table 100"), ref6 = sh("ip -d -6 route show table 101");
  EXPECT_FALSE(ours4.empty());
  EXPECT_EQ(ours4, ref4);
  EXPECT_EQ(ours6, ref6);
  auto list4 = list_routes(*nl, IpAddr::Family::V4, 101);
  ASSERT_TRUE(list4) << list4.error().message;
  EXPECT_EQ(strings(*list4), (std::vector<std::string>{"default dev rt0 table 101 scope 253",
                                                       "10.0.0.0/8 dev rt0 table 101 scope 253"}));
  auto list6 = list_routes(*nl, IpAddr::Family::V6, 100);
  ASSERT_TRUE(list6);
  EXPECT_EQ(strings(*list6), (std::vector<std::string>{"fd00:77::/64 dev rt0 table 100 metric 1024",
                                                       "default dev rt0 table 100 metric 1024"}));
}

TEST_F(RouteTest, AttributesRoundTrip) {
  Route r = dev_route("198.18.0.0/15", "rt1", 200);
  r.metric = 77;
  r.protocol = kProtoStatic;
  r.mtu = 1300;
  ASSERT_TRUE(add_route(*nl, r).ok());
  // (linkdown: a TUN without a reader has no carrier.)
  std::string ip = sh("ip -4 route show table 200");
  EXPECT_EQ(ip, "198.18.0.0/15 dev rt1 proto static scope link metric 77 linkdown mtu 1300 \n");
  auto list = list_routes(*nl, IpAddr::Family::V4, 200);
  ASSERT_TRUE(list);
  ASSERT_EQ(list->size(), 1u);
  const Route& back = (*list)[0];
  EXPECT_EQ(back.dst, r.dst);
  EXPECT_EQ(back.dev, "rt1");
  EXPECT_EQ(back.table, 200u);
  EXPECT_EQ(back.metric, std::optional<std::uint32_t>(77));
  EXPECT_EQ(back.protocol, kProtoStatic);
  EXPECT_EQ(back.mtu, std::optional<unsigned>(1300));
  EXPECT_FALSE(back.gateway);
  // A gateway route, main table.
  ASSERT_TRUE(add_address(*nl, "rt1", P("198.51.100.1/24")).ok());
  Route gw;
  gw.dst = P("192.0.2.0/24");  // only inside this private namespace
  gw.gateway = *IpAddr::parse("198.51.100.254");
  gw.dev = "rt1";
  Status st = add_route(*nl, gw);
  // A TUN without a reader has no carrier; the kernel may refuse a gateway on it.
  if (st.ok()) {
    EXPECT_NE(sh("ip -4 route show").find("192.0.2.0/24 via 198.51.100.254 dev rt1"), std::string::npos);
    auto main4 = list_routes(*nl, IpAddr::Family::V4);
    ASSERT_TRUE(main4);
    auto it = std::find_if(main4->begin(), main4->end(), [&](const Route& x) { return x.dst == gw.dst; });
    ASSERT_NE(it, main4->end());
    EXPECT_EQ(it->gateway, gw.gateway);
    ASSERT_TRUE(delete_route(*nl, gw).ok());
  }
}

TEST_F(RouteTest, DuplicateAndMissingAreNamedErrors) {
  Route r = dev_route("10.0.0.0/8", "rt1", 51820);
  ASSERT_TRUE(add_route(*nl, r).ok());
  Status dup = add_route(*nl, r);
  ASSERT_FALSE(dup.ok());
  EXPECT_EQ(dup.error().code, EEXIST);
  EXPECT_EQ(dup.error().message, "adding route 10.0.0.0/8 dev rt1 table 51820: File exists");
  ASSERT_TRUE(delete_route(*nl, r).ok());
  EXPECT_EQ(sh("ip route show table 51820"), "");
  Status gone = delete_route(*nl, r);
  ASSERT_FALSE(gone.ok());
  EXPECT_EQ(gone.error().code, ESRCH);
  EXPECT_EQ(gone.error().message, "deleting route 10.0.0.0/8 dev rt1 table 51820: No such process");
  Status nodev = add_route(*nl, dev_route("10.0.0.0/8", "nosuch0", 5));
  ASSERT_FALSE(nodev.ok());
  EXPECT_EQ(nodev.error().message, "adding route 10.0.0.0/8 dev nosuch0 table 5: No such device");
  // Host bits set: the kernel says so, we pass it on.
  Status bits = add_route(*nl, dev_route("10.0.0.1/8", "rt1", 5));
  ASSERT_FALSE(bits.ok());
  EXPECT_EQ(bits.error().code, EINVAL);
}

TEST_F(RouteTest, DeleteLeavesOtherDevicesAndTables) {
  ASSERT_TRUE(add_route(*nl, dev_route("10.1.0.0/16", "rt0", 300)).ok());
  ASSERT_TRUE(add_route(*nl, dev_route("10.1.0.0/16", "rt0", 301)).ok());
  ASSERT_TRUE(add_route(*nl, dev_route("fd00:77:1::/48", "rt0", 300)).ok());
  ASSERT_TRUE(delete_route(*nl, dev_route("10.1.0.0/16", "rt0", 300)).ok());
  EXPECT_EQ(sh("ip -4 route show table 300"), "");
  EXPECT_EQ(sh("ip -4 route show table 301"), "10.1.0.0/16 dev rt0 scope link linkdown \n");
  EXPECT_NE(sh("ip -6 route show table 300").find("fd00:77:1::/48 dev rt0"), std::string::npos);
}

TEST_F(RouteTest, RouteGetFindsDeviceAndMtu) {
  ASSERT_TRUE(add_address(*nl, "rt0", P("198.51.100.77/32")).ok());
  Route r = dev_route("198.18.5.0/24", "rt0", kTableMain);
  r.mtu = 1400;
  Status st = add_route(*nl, r);
  ASSERT_TRUE(st.ok()) << st.error().message;
  auto got = route_get(*nl, *IpAddr::parse("198.18.5.5"));
  ASSERT_TRUE(got) << got.error().message;
  EXPECT_EQ(got->dev, "rt0");
  EXPECT_EQ(got->mtu, std::optional<unsigned>(1400));
  auto none = route_get(*nl, *IpAddr::parse("2001:db8:ffff::1"));
  ASSERT_FALSE(none);
  EXPECT_EQ(none.error().code, ENETUNREACH);
  EXPECT_EQ(none.error().message, "looking up the route to 2001:db8:ffff::1: Network is unreachable");
}

}  // namespace
}  // namespace wgcore::routing
