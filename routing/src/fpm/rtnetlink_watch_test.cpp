// RtnetlinkWatch in a private network namespace: routes added with routing::add_route and with
// `ip` (nexthop objects), the watch's dump and change stream compared with what was done, and
// the protocol/interface filter. Needs root (skips, or fails with CI=true, without).
#include <gtest/gtest.h>
#include <net/if.h>
#include <poll.h>

#include <chrono>

#include "test_messages.hpp"
#include "../netns_fixture.hpp"
#include "routing/route.hpp"
#include "routing/route_feed.hpp"

namespace wgcore::routing::feed {
namespace {

using routing::testing::sh;

// Exit status of a shell command run inside the namespace, its output discarded.
int run(const std::string& cmd) { return std::system(("(" + cmd + ") >/dev/null 2>&1").c_str()); }

constexpr std::uint8_t kBgp = 186;
constexpr std::uint8_t kOspf = 188;

// A veth pair inside the test namespace (carrier up, unlike the fixture's TUN links), so
// gateways resolve and nexthop objects can be created.
class RtnetlinkWatchTest : public routing::testing::NetnsTest {
 protected:
  void SetUp() override {
    routing::testing::NetnsTest::SetUp();
    if (HasFatalFailure() || IsSkipped()) return;
    static const std::string problem = [] {
      if (run("ip link add fw0 type veth peer name fw1") != 0) return std::string("no veth");
      run("ip addr add 198.51.100.1/25 dev fw0 && ip addr add 198.51.100.129/25 dev fw1 && "
         "ip addr add 2001:db8:1::1/64 dev fw0 nodad && ip link set fw0 up && "
         "ip link set fw1 up");
      return std::string();
    }();
    WGCORE_REQUIRE_ENV(problem);
    fw0 = static_cast<int>(if_nametoindex("fw0"));
    fw1 = static_cast<int>(if_nametoindex("fw1"));
    ASSERT_GT(fw0, 0);
  }
  void TearDown() override {
    run("ip route flush proto 186; ip route flush proto 188; ip route flush proto 4; "
       "ip -6 route flush proto 186; ip nexthop flush");
  }

  Route route(const char* dst, const char* dev, std::uint8_t proto, const char* gw = nullptr) {
    Route r;
    r.dst = *IpPrefix::parse(dst);
    r.dev = dev;
    r.protocol = proto;
    if (gw) r.gateway = *IpAddr::parse(gw);
    return r;
  }

  // Reads until `n` updates arrived or 2 s passed; then drains anything extra for 100 ms.
  std::vector<std::string> read_updates(RtnetlinkWatch& w, std::size_t n) {
    std::vector<RouteUpdate> out;
    auto end = std::chrono::steady_clock::now() + std::chrono::seconds(2);
    auto settle = std::chrono::milliseconds(100);
    while (std::chrono::steady_clock::now() < end) {
      pollfd p{w.fd(), POLLIN, 0};
      ::poll(&p, 1, out.size() >= n ? static_cast<int>(settle.count()) : 50);
      std::size_t before = out.size();
      Status st = w.read(out);
      EXPECT_TRUE(st) << st.error().message;
      if (out.size() >= n && out.size() == before && !(p.revents & POLLIN)) break;
    }
    return testmsg::strings(out);
  }

  std::string dev(int i) { return "dev " + std::to_string(i); }
  int fw0 = 0, fw1 = 0;
};

TEST_F(RtnetlinkWatchTest, DumpThenChangesFilteredByProtocolAndInterface) {
  ASSERT_TRUE(add_route(*nl, route("198.18.10.0/24", "fw0", kBgp, "198.51.100.2")));
  ASSERT_TRUE(add_route(*nl, route("198.18.11.0/24", "fw0", kProtoStatic)));  // other proto
  ASSERT_TRUE(add_route(*nl, route("198.18.12.0/24", "fw1", kBgp)));          // other link
  auto w = RtnetlinkWatch::open(fw0, {kBgp, kOspf});
  ASSERT_TRUE(w) << w.error().message;
  RtnetlinkWatch watch = std::move(*w);
  std::vector<RouteUpdate> out;
  ASSERT_TRUE(watch.dump(out));
  EXPECT_EQ(testmsg::strings(out),
            (std::vector<std::string>{"add 198.18.10.0/24 proto 186 via 198.51.100.2 " + dev(fw0)}));

  ASSERT_TRUE(add_route(*nl, route("198.18.13.0/24", "fw0", kOspf)));
  ASSERT_TRUE(add_route(*nl, route("198.18.14.0/24", "fw0", kProtoStatic)));
  ASSERT_TRUE(add_route(*nl, route("198.18.15.0/24", "fw1", kOspf)));
  ASSERT_TRUE(add_route(*nl, route("2001:db8:100:5::/64", "fw0", kBgp, "2001:db8:1::2")));
  EXPECT_EQ(read_updates(watch, 2),
            (std::vector<std::string>{
                "add 198.18.13.0/24 proto 188 " + dev(fw0),
                "add 2001:db8:100:5::/64 proto 186 metric 1024 via 2001:db8:1::2 " + dev(fw0)}));

  ASSERT_TRUE(delete_route(*nl, route("198.18.13.0/24", "fw0", kOspf)));
  ASSERT_TRUE(delete_route(*nl, route("198.18.14.0/24", "fw0", kProtoStatic)));
  EXPECT_EQ(read_updates(watch, 1),
            (std::vector<std::string>{"delete 198.18.13.0/24 proto 188 " + dev(fw0)}));

  // Moved to another link: no longer ours, so deleted for the consumer; and back.
  ASSERT_EQ(run("ip route replace 198.18.10.0/24 dev fw1 proto bgp"), 0);
  EXPECT_EQ(read_updates(watch, 1),
            (std::vector<std::string>{"delete 198.18.10.0/24 proto 186 via 198.51.100.2 " +
                                      dev(fw0)}));
  ASSERT_EQ(run("ip route replace 198.18.10.0/24 dev fw0 proto bgp"), 0);
  EXPECT_EQ(read_updates(watch, 1),
            (std::vector<std::string>{"add 198.18.10.0/24 proto 186 " + dev(fw0)}));
  EXPECT_TRUE(read_updates(watch, 0).empty());  // nothing pending: read() returns at once
}

TEST_F(RtnetlinkWatchTest, ResyncDumpReportsWhatVanished) {
  ASSERT_TRUE(add_route(*nl, route("198.18.20.0/24", "fw0", kBgp)));
  ASSERT_TRUE(add_route(*nl, route("198.18.21.0/24", "fw0", kBgp)));
  auto w = RtnetlinkWatch::open(0, {kBgp});  // any interface
  ASSERT_TRUE(w) << w.error().message;
  std::vector<RouteUpdate> out;
  ASSERT_TRUE(w->dump(out));
  EXPECT_EQ(out.size(), 2u);
  out.clear();
  // Changed behind the watch's back (as if notifications were lost), then a resync.
  ASSERT_TRUE(delete_route(*nl, route("198.18.21.0/24", "fw0", kBgp)));
  ASSERT_TRUE(w->dump(out));
  EXPECT_EQ(testmsg::strings(out),
            (std::vector<std::string>{"delete 198.18.21.0/24 proto 186 " + dev(fw0),
                                      "add 198.18.20.0/24 proto 186 " + dev(fw0)}));
}

TEST_F(RtnetlinkWatchTest, NexthopObjectsResolve) {
  if (run("ip nexthop add id 10 via 198.51.100.2 dev fw0") != 0)
    GTEST_SKIP() << "no nexthop objects in this kernel";
  ASSERT_EQ(run("ip nexthop add id 11 via 198.51.100.3 dev fw0 && "
               "ip nexthop add id 12 group 10/11,2 && "
               "ip route add 198.18.30.0/24 nhid 10 proto bgp"), 0);
  auto w = RtnetlinkWatch::open(fw0, {kBgp});
  ASSERT_TRUE(w) << w.error().message;
  std::vector<RouteUpdate> out;
  ASSERT_TRUE(w->dump(out));
  EXPECT_EQ(testmsg::strings(out),
            (std::vector<std::string>{"add 198.18.30.0/24 proto 186 via 198.51.100.2 " + dev(fw0)}));

  ASSERT_EQ(run("ip route add 198.18.31.0/24 nhid 12 proto bgp"), 0);
  EXPECT_EQ(read_updates(*w, 1),
            (std::vector<std::string>{"add 198.18.31.0/24 proto 186 via 198.51.100.2 " + dev(fw0) +
                                      " via 198.51.100.3 " + dev(fw0) + " weight 2"}));
  // The kernel announces the object's change, not the routes': the watch re-resolves them.
  ASSERT_EQ(run("ip nexthop replace id 10 via 198.51.100.4 dev fw0"), 0);
  EXPECT_EQ(read_updates(*w, 2),
            (std::vector<std::string>{
                "add 198.18.30.0/24 proto 186 via 198.51.100.4 " + dev(fw0),
                "add 198.18.31.0/24 proto 186 via 198.51.100.4 " + dev(fw0) + " via 198.51.100.3 " +
                    dev(fw0) + " weight 2"}));
  // Deleting object 10 deletes the route on it and shrinks group 12, as the kernel does.
  ASSERT_EQ(run("ip nexthop del id 10"), 0);
  auto got = read_updates(*w, 2);
  std::vector<std::string> want = {
      "delete 198.18.30.0/24 proto 186 via 198.51.100.4 " + dev(fw0),
      "add 198.18.31.0/24 proto 186 via 198.51.100.3 " + dev(fw0) + " weight 2"};
  EXPECT_EQ(got, want);
  // `ip` agrees: 198.18.30.0/24 is gone, 198.18.31.0/24 still there.
  EXPECT_EQ(sh("ip route show 198.18.30.0/24"), "");
  EXPECT_NE(sh("ip route show 198.18.31.0/24").find("via 198.51.100.3"), std::string::npos);
  // A fresh dump agrees with the changes: the same single route, nothing else.
  out.clear();
  ASSERT_TRUE(w->dump(out));
  EXPECT_EQ(testmsg::strings(out), (std::vector<std::string>{want[1]}));
}

}  // namespace
}  // namespace wgcore::routing::feed
