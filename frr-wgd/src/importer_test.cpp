#include "importer.hpp"

#include <gtest/gtest.h>

#include "test_helpers.hpp"

namespace wgcore::frrwgd {
namespace {

using routing::feed::Nexthop;
using routing::feed::RouteUpdate;

using test::A;
using test::key;
using test::P;

RouteUpdate route(const char* prefix, std::vector<Nexthop> nhs, std::uint8_t proto = 186) {
  RouteUpdate u;
  u.prefix = P(prefix);
  u.protocol = proto;
  u.nexthops = std::move(nhs);
  return u;
}
RouteUpdate del(const char* prefix) {
  RouteUpdate u;
  u.kind = RouteUpdate::Kind::kDelete;
  u.prefix = P(prefix);
  return u;
}
Nexthop via(const char* gw, int ifindex = 7, std::uint8_t weight = 1) { return Nexthop{A(gw), ifindex, weight}; }

std::string str(const std::vector<Offer>& v) {
  std::string s;
  for (const auto& o : v)
    s += std::string(o.withdraw ? "-" : "+") + std::to_string(o.peer[0]) + ":" + o.prefix.to_string() + " ";
  return s;
}

class ImporterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::vector<Offer> none;
    imp.set_peers({{key(2), {A("203.0.113.2"), A("fd00:77::2")}}, {key(3), {A("203.0.113.3")}}}, none);
    EXPECT_TRUE(none.empty());
  }
  std::string feed(const RouteUpdate& u) {
    std::vector<Offer> out;
    imp.update(u, out);
    return str(out);
  }
  Importer imp{7, 252};
};

TEST_F(ImporterTest, NexthopOnThePeersTunnelAddressMakesACandidate) {
  EXPECT_EQ(feed(route("198.18.2.0/24", {via("203.0.113.2")})), "+2:198.18.2.0/24 ");
  EXPECT_EQ(feed(route("2001:db8:102::/64", {via("fd00:77::2")})), "+2:2001:db8:102::/64 ");
  EXPECT_EQ(feed(route("198.18.2.0/24", {via("203.0.113.2")})), "") << "a re-announcement is no new offer";
  EXPECT_EQ(feed(del("198.18.2.0/24")), "-2:198.18.2.0/24 ");
  EXPECT_EQ(feed(del("198.18.2.0/24")), "");
}

TEST_F(ImporterTest, OtherRoutesAreIgnored) {
  EXPECT_EQ(feed(route("198.18.9.0/24", {via("198.51.100.9", 3)})), "") << "not via a peer";
  EXPECT_EQ(feed(route("198.18.9.0/24", {via("203.0.113.2", 3)})), "") << "peer's address on another interface";
  EXPECT_EQ(feed(route("198.18.9.0/24", {Nexthop{std::nullopt, 7, 1}})), "") << "no gateway";
  EXPECT_EQ(feed(route("198.18.9.0/24", {via("203.0.113.2")}, 252)), "") << "our own export protocol";
  EXPECT_EQ(feed(route("198.18.9.0/24", {via("203.0.113.2")}, 2)), "") << "kernel routes";
  auto other_table = route("198.18.9.0/24", {via("203.0.113.2")});
  other_table.table = 10;
  EXPECT_EQ(feed(other_table), "");
  EXPECT_EQ(feed(route("198.18.9.0/24", {via("203.0.113.2", 0)})), "+2:198.18.9.0/24 ") << "ifindex unknown";
  EXPECT_EQ(feed(route("198.18.8.1/24", {via("203.0.113.2")})), "+2:198.18.8.0/24 ") << "canonical";
}

// A route into the tunnel that no peer can take is recorded with the reason, not dropped in
// silence: an IPv6 link-local next hop (bgpd without prefer-global), an unknown address.
TEST_F(ImporterTest, UnusableNexthopOnTheTunnelIsRecorded) {
  EXPECT_EQ(feed(route("2001:db8:102::/64", {via("fe80::2")})), "");
  EXPECT_EQ(feed(route("198.18.9.0/24", {via("203.0.113.9")})), "");
  EXPECT_EQ(feed(route("198.18.8.0/24", {via("198.51.100.9", 3)})), "") << "not through the tunnel: not ours";
  ASSERT_EQ(imp.unresolved().size(), 2u);
  EXPECT_EQ(imp.unresolved().at(P("2001:db8:102::/64")),
            "next hop fe80::2 on the WireGuard interface is no peer's tunnel-address");
  EXPECT_EQ(imp.unresolved().count(P("198.18.8.0/24")), 0u);
  EXPECT_EQ(feed(route("198.18.7.0/24", {Nexthop{std::nullopt, 7, 1}})), "");
  EXPECT_EQ(imp.unresolved().count(P("198.18.7.0/24")), 0u) << "a device route is the interface's own";
  // Resolvable now (prefer-global): offered, and no longer unresolved.
  EXPECT_EQ(feed(route("2001:db8:102::/64", {via("fd00:77::2")})), "+2:2001:db8:102::/64 ");
  EXPECT_EQ(imp.unresolved().count(P("2001:db8:102::/64")), 0u);
  // Gone: forgotten. A replay that does not repeat it sweeps it.
  feed(del("198.18.9.0/24"));
  EXPECT_TRUE(imp.unresolved().empty());
  feed(route("198.18.9.0/24", {via("203.0.113.9")}));
  imp.mark();
  std::vector<Offer> out;
  imp.sweep(out);
  EXPECT_TRUE(imp.unresolved().empty());
}

TEST_F(ImporterTest, ReplacementMovesBetweenPeers) {
  feed(route("198.18.2.0/24", {via("203.0.113.2")}));
  EXPECT_EQ(feed(route("198.18.2.0/24", {via("203.0.113.3")})), "-2:198.18.2.0/24 +3:198.18.2.0/24 ");
  EXPECT_EQ(feed(route("198.18.2.0/24", {via("198.51.100.1", 3)})), "-3:198.18.2.0/24 ")
      << "a route that leaves the tunnel is withdrawn";
  EXPECT_EQ(imp.routes(), 0u);
}

TEST_F(ImporterTest, EcmpAcrossPeersIsDeterministic) {
  // Same weights: config order (peer 2 before 3), whatever the nexthop order.
  std::vector<Offer> out;
  EXPECT_EQ(imp.update(route("198.18.5.0/24", {via("203.0.113.3"), via("203.0.113.2")}), out), 2u);
  EXPECT_EQ(str(out), "+2:198.18.5.0/24 +3:198.18.5.0/24 ");
  // Higher weight first.
  EXPECT_EQ(feed(route("198.18.6.0/24", {via("203.0.113.2", 7, 1), via("203.0.113.3", 7, 5)})),
            "+3:198.18.6.0/24 +2:198.18.6.0/24 ");
  // One path goes: only that peer's offer is withdrawn.
  EXPECT_EQ(feed(route("198.18.5.0/24", {via("203.0.113.3")})), "-2:198.18.5.0/24 ");
}

TEST_F(ImporterTest, PreviousOwnerComesFirst) {
  imp.set_preferred({{to_base64(key(3)), P("198.18.5.0/24")}});
  EXPECT_EQ(feed(route("198.18.5.0/24", {via("203.0.113.2"), via("203.0.113.3")})),
            "+3:198.18.5.0/24 +2:198.18.5.0/24 ");
}

TEST_F(ImporterTest, MarkAndSweepWithdrawsWhatTheReplayDidNotRepeat) {
  feed(route("198.18.2.0/24", {via("203.0.113.2")}));
  feed(route("198.18.4.0/24", {via("203.0.113.2")}));
  feed(route("198.18.3.0/24", {via("203.0.113.3")}));
  imp.mark();
  EXPECT_TRUE(imp.marking());
  EXPECT_EQ(feed(route("198.18.2.0/24", {via("203.0.113.2")})), "");
  EXPECT_EQ(feed(route("198.18.3.0/24", {via("203.0.113.3")})), "");
  std::vector<Offer> out;
  EXPECT_EQ(imp.sweep(out), 1u);
  EXPECT_EQ(str(out), "-2:198.18.4.0/24 ");
  EXPECT_FALSE(imp.marking());
  out.clear();
  EXPECT_EQ(imp.sweep(out), 0u);
}

TEST_F(ImporterTest, NewPeersReresolveKnownRoutes) {
  feed(route("198.18.2.0/24", {via("203.0.113.2")}));
  std::vector<Offer> out;
  imp.set_peers({{key(3), {A("203.0.113.3")}}, {key(4), {A("203.0.113.2")}}}, out);
  EXPECT_EQ(str(out), "-2:198.18.2.0/24 +4:198.18.2.0/24 ");
}

}  // namespace
}  // namespace wgcore::frrwgd
