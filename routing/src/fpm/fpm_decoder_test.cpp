// FpmDecoder against real zebra streams (tests/fixtures/fpm, made by capture.sh with FRR 8.4's
// dplane_fpm_nl), hand-built messages for nexthop-object semantics, and malformed input.
#include <gtest/gtest.h>

#include <random>

#include "test_messages.hpp"
#include "routing/route_feed.hpp"

namespace wgcore::routing::feed {
namespace {

using namespace testmsg;

// The staticd routes capture.sh configures (fc0 = ifindex 3 holds 198.51.100.1/25, fc1 = 2
// holds 198.51.100.129/25), zebra's connected routes, then the removal of 198.18.1.0/24.
const std::vector<std::string> kCapturedUpdates = {
    "add 198.18.1.0/24 proto 196 metric 20 via 198.51.100.2 dev 3",
    "add 198.18.2.0/24 proto 196 metric 20 via 198.51.100.2 dev 3 via 198.51.100.130 dev 2",
    "add blackhole 198.18.3.0/24 proto 196 metric 20",
    "add 198.51.100.0/25 proto 2 metric 20 dev 3",
    "add 198.51.100.128/25 proto 2 metric 20 dev 2",
    "add 2001:db8:1::/64 proto 2 metric 20 dev 3",
    "add 2001:db8:100:1::/64 proto 196 metric 20 via 2001:db8:1::2 dev 3",
    "add fe80::/64 proto 2 metric 20 dev 2",
    "delete 198.18.1.0/24 proto 196 metric 20 via 198.51.100.2 dev 3",
};

std::vector<RouteUpdate> decode_all(const Bytes& stream, std::size_t chunk = 0) {
  FpmDecoder d;
  std::vector<RouteUpdate> out;
  if (chunk == 0) chunk = stream.size();
  for (std::size_t off = 0; off < stream.size(); off += chunk) {
    std::size_t n = std::min(chunk, stream.size() - off);
    Status st = d.feed({stream.data() + off, n}, out);
    EXPECT_TRUE(st) << st.error().message;
  }
  EXPECT_EQ(d.buffered(), 0u);
  return out;
}

TEST(FpmDecoder, RealZebraStreamWithNexthopGroups) {
  Bytes stream = read_file(fixture_dir() + "/zebra_nhg.bin");
  ASSERT_EQ(stream.size(), 964u);
  FpmDecoder d;
  std::vector<RouteUpdate> out;
  ASSERT_TRUE(d.feed(stream, out));
  EXPECT_EQ(strings(out), kCapturedUpdates);
  EXPECT_EQ(d.state().nexthop_count(), 9u);  // RTM_NEWNEXTHOP ids 5-8, 14-18
  EXPECT_EQ(d.state().route_count(), 7u);    // 8 added, 1 deleted
  // Group 16 = {15, 17}: the ECMP route keeps both members with weight 1.
  ASSERT_EQ(out[1].nexthops.size(), 2u);
  EXPECT_EQ(out[1].nexthops[1].weight, 1);
  EXPECT_EQ(out[2].type, RTN_BLACKHOLE);
  EXPECT_EQ(out[8].kind, RouteUpdate::Kind::kDelete);
}

TEST(FpmDecoder, RealZebraStreamWithMultipathDecodesTheSame) {
  // `no fpm use-next-hop-groups`: RTA_GATEWAY/RTA_OIF and RTA_MULTIPATH instead of objects.
  auto out = decode_all(read_file(fixture_dir() + "/zebra_multipath.bin"));
  EXPECT_EQ(strings(out), kCapturedUpdates);
}

TEST(FpmDecoder, AnySplitOfTheStreamDecodesTheSame) {
  Bytes stream = read_file(fixture_dir() + "/zebra_nhg.bin");
  for (std::size_t chunk : {1, 2, 3, 5, 7, 56, 100})
    EXPECT_EQ(strings(decode_all(stream, chunk)), kCapturedUpdates) << "chunk " << chunk;
  for (std::size_t cut = 1; cut < stream.size(); ++cut) {
    FpmDecoder d;
    std::vector<RouteUpdate> out;
    ASSERT_TRUE(d.feed({stream.data(), cut}, out));
    ASSERT_TRUE(d.feed({stream.data() + cut, stream.size() - cut}, out));
    ASSERT_EQ(strings(out), kCapturedUpdates) << "cut at " << cut;
  }
}

TEST(FpmDecoder, ResetStartsAFreshConnection) {
  Bytes stream = read_file(fixture_dir() + "/zebra_nhg.bin");
  FpmDecoder d;
  std::vector<RouteUpdate> out;
  ASSERT_TRUE(d.feed({stream.data(), 10}, out));  // a partial frame from the old connection
  EXPECT_EQ(d.buffered(), 10u);
  d.reset();
  EXPECT_EQ(d.buffered(), 0u);
  ASSERT_TRUE(d.feed(stream, out));
  EXPECT_EQ(strings(out), kCapturedUpdates);
}

TEST(FpmDecoder, RouteBeforeItsNexthopObjectIsReportedAgainWhenItArrives) {
  FpmDecoder d;
  std::vector<RouteUpdate> out;
  ASSERT_TRUE(d.feed(frame(route(RTM_NEWROUTE, "198.18.7.0", 24, 40)), out));
  ASSERT_TRUE(d.feed(frame(nexthop(40, "198.51.100.9", 4)), out));
  EXPECT_EQ(strings(out), (std::vector<std::string>{
                              "add 198.18.7.0/24 proto 186 metric 20",
                              "add 198.18.7.0/24 proto 186 metric 20 via 198.51.100.9 dev 4"}));
}

TEST(FpmDecoder, NexthopObjectChangesFollowIntoRoutes) {
  FpmDecoder d;
  std::vector<RouteUpdate> out;
  ASSERT_TRUE(d.feed(cat({frame(nexthop(1, "198.51.100.2", 4)), frame(nexthop(2, "198.51.100.3", 5)),
                          frame(group(3, {{1, 1}, {2, 3}})),
                          frame(route(RTM_NEWROUTE, "198.18.8.0", 24, 3)),
                          frame(route(RTM_NEWROUTE, "198.18.9.0", 24, 1))}),
                     out));
  ASSERT_EQ(strings(out), (std::vector<std::string>{
                              "add 198.18.8.0/24 proto 186 metric 20 via 198.51.100.2 dev 4 "
                              "via 198.51.100.3 dev 5 weight 3",
                              "add 198.18.9.0/24 proto 186 metric 20 via 198.51.100.2 dev 4"}));
  out.clear();
  // Object 1 replaced: both routes (one directly, one through group 3) move.
  ASSERT_TRUE(d.feed(frame(nexthop(1, "198.51.100.20", 4)), out));
  EXPECT_EQ(strings(out), (std::vector<std::string>{
                              "add 198.18.9.0/24 proto 186 metric 20 via 198.51.100.20 dev 4",
                              "add 198.18.8.0/24 proto 186 metric 20 via 198.51.100.20 dev 4 "
                              "via 198.51.100.3 dev 5 weight 3"}));
  out.clear();
  // The same object again changes nothing.
  ASSERT_TRUE(d.feed(frame(nexthop(1, "198.51.100.20", 4)), out));
  EXPECT_TRUE(out.empty());
  // Deleting 2 shrinks group 3; deleting 1 then removes the route on it and the emptied group's.
  ASSERT_TRUE(d.feed(frame(del_nexthop(2)), out));
  EXPECT_EQ(strings(out), (std::vector<std::string>{
                              "add 198.18.8.0/24 proto 186 metric 20 via 198.51.100.20 dev 4"}));
  out.clear();
  ASSERT_TRUE(d.feed(frame(del_nexthop(1)), out));
  EXPECT_EQ(strings(out), (std::vector<std::string>{
                              "delete 198.18.9.0/24 proto 186 metric 20 via 198.51.100.20 dev 4",
                              "delete 198.18.8.0/24 proto 186 metric 20 via 198.51.100.20 dev 4"}));
  EXPECT_EQ(d.state().route_count(), 0u);
  EXPECT_EQ(d.state().nexthop_count(), 0u);
}

TEST(FpmDecoder, DeleteOfAnUnknownRouteReportsWhatTheMessageSays) {
  FpmDecoder d;
  std::vector<RouteUpdate> out;
  ASSERT_TRUE(d.feed(frame(route(RTM_DELROUTE, "2001:db8:100:9::", 64, 0, 188)), out));
  EXPECT_EQ(strings(out), (std::vector<std::string>{"delete 2001:db8:100:9::/64 proto 188 metric 20"}));
}

TEST(FpmDecoder, MultipathWeightsAndTableAttribute) {
  Bytes body = rtmsg_body(AF_INET, 16, 188, RTN_UNICAST, 252);
  attr(body, RTA_TABLE, u32(1000));
  attr(body, RTA_DST, ip("198.18.0.0"));
  Bytes mp;
  for (auto [gw, hops, ifi] : {std::tuple{"198.51.100.2", 0, 4}, std::tuple{"198.51.100.3", 255, 5}}) {
    Bytes hop;
    attr(hop, RTA_GATEWAY, ip(gw));
    put<std::uint16_t>(mp, static_cast<std::uint16_t>(8 + hop.size()));
    put<std::uint8_t>(mp, 0);
    put<std::uint8_t>(mp, static_cast<std::uint8_t>(hops));
    put<std::int32_t>(mp, ifi);
    mp.insert(mp.end(), hop.begin(), hop.end());
  }
  attr(body, RTA_MULTIPATH, mp);
  FpmDecoder d;
  std::vector<RouteUpdate> out;
  ASSERT_TRUE(d.feed(frame(message(RTM_NEWROUTE, body)), out));
  EXPECT_EQ(strings(out), (std::vector<std::string>{
                              "add 198.18.0.0/16 table 1000 proto 188 via 198.51.100.2 dev 4 "
                              "via 198.51.100.3 dev 5 weight 255"}));  // 255 + 1, capped
}

TEST(FpmDecoder, BrokenFramingStopsTheStreamUntilReset) {
  Bytes good = frame(route(RTM_NEWROUTE, "198.18.7.0", 24, 0));
  struct Case {
    Bytes bytes;
    const char* says;
  } cases[] = {
      {frame(route(RTM_NEWROUTE, "198.18.7.0", 24, 0), 2), "version 2"},
      {frame(route(RTM_NEWROUTE, "198.18.7.0", 24, 0), 1, 2), "protobuf"},
      {frame(route(RTM_NEWROUTE, "198.18.7.0", 24, 0), 1, 7), "type 7"},
      {Bytes{1, 1, 0, 3}, "length 3"},
      {Bytes{1, 1, 0, 4}, "without a netlink message"},
      {Bytes{1, 1, 0, 10, 1, 2, 3, 4, 5, 6}, "does not fit"},  // shorter than nlmsghdr
  };
  for (auto& c : cases) {
    // nlmsg_len smaller than the frame is broken too; made from a good frame.
    FpmDecoder d;
    std::vector<RouteUpdate> out;
    Status st = d.feed(cat({good, c.bytes, good}), out);
    ASSERT_FALSE(st) << c.says;
    EXPECT_EQ(st.error().code, EPROTO);
    EXPECT_NE(st.error().message.find(c.says), std::string::npos) << st.error().message;
    EXPECT_EQ(out.size(), 1u);  // the frame before the break
    EXPECT_FALSE(d.feed(good, out));  // stays broken
    d.reset();
    EXPECT_TRUE(d.feed(good, out));
  }
  Bytes lying = good;
  lying[4] = static_cast<std::uint8_t>(lying[4] - 4);  // nlmsg_len 4 bytes short of the frame
  FpmDecoder d;
  std::vector<RouteUpdate> out;
  Status st = d.feed(lying, out);
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().code, EPROTO);
}

// FRR 8.4 sends a changed route as RTM_DELROUTE + RTM_NEWROUTE in ONE frame.
TEST(FpmDecoder, EveryMessageOfAFrameIsDecoded) {
  Bytes del = route(RTM_DELROUTE, "198.18.7.0", 24, 0);
  del.resize((del.size() + 3) & ~std::size_t{3}, 0);  // NLMSG_ALIGN padding between messages
  FpmDecoder d;
  std::vector<RouteUpdate> out;
  ASSERT_TRUE(d.feed(frame(route(RTM_NEWROUTE, "198.18.7.0", 24, 0)), out));
  ASSERT_TRUE(d.feed(frame(cat({del, route(RTM_NEWROUTE, "198.18.8.0", 24, 0)})), out));
  ASSERT_EQ(out.size(), 3u);
  EXPECT_EQ(out[1].kind, RouteUpdate::Kind::kDelete);
  EXPECT_EQ(out[1].prefix.to_string(), "198.18.7.0/24");
  EXPECT_EQ(out[2].kind, RouteUpdate::Kind::kAdd);
  EXPECT_EQ(out[2].prefix.to_string(), "198.18.8.0/24");
}

TEST(FpmDecoder, MalformedMessageIsSkippedAndTheRestDecoded) {
  Bytes good = frame(route(RTM_NEWROUTE, "198.18.7.0", 24, 0));
  auto with_body = [](Bytes body) { return frame(message(RTM_NEWROUTE, body)); };
  Bytes overflow = rtmsg_body(AF_INET, 24);
  attr(overflow, RTA_DST, ip("198.18.7.0"));
  overflow[12] = 200;  // RTA_DST claims 200 bytes
  Bytes short_attr = rtmsg_body(AF_INET, 24);
  put<std::uint16_t>(short_attr, 2);  // attribute length below its own header
  put<std::uint16_t>(short_attr, RTA_DST);
  Bytes wide = rtmsg_body(AF_INET, 33);
  Bytes v6dst = rtmsg_body(AF_INET, 24);
  attr(v6dst, RTA_DST, ip("2001:db8::"));
  Bytes oif2 = rtmsg_body(AF_INET, 24);
  attr(oif2, RTA_OIF, Bytes{1, 2});
  Bytes badhop = rtmsg_body(AF_INET, 24);
  attr(badhop, RTA_MULTIPATH, Bytes{60, 0, 0, 0, 1, 0, 0, 0});  // rtnexthop longer than attr
  Bytes nh_noid{AF_INET, 0, 0, 0, 0, 0, 0, 0};
  Bytes grp{AF_UNSPEC, 0, 0, 0, 0, 0, 0, 0};
  attr(grp, NHA_ID, u32(5));
  attr(grp, NHA_GROUP, Bytes{1, 0, 0, 0, 0});  // not a multiple of 8
  const Bytes bad[] = {with_body(overflow), with_body(short_attr), with_body(wide),
                       with_body(v6dst), with_body(oif2), with_body(badhop),
                       with_body(Bytes{AF_INET, 24}),  // shorter than rtmsg
                       frame(message(RTM_NEWNEXTHOP, nh_noid)),
                       frame(message(RTM_NEWNEXTHOP, grp))};
  Bytes good2 = frame(route(RTM_NEWROUTE, "198.18.8.0", 24, 0));
  for (const auto& b : bad) {
    FpmDecoder d;
    std::vector<RouteUpdate> out;
    Status st = d.feed(cat({good, b, good2}), out);
    ASSERT_FALSE(st);
    EXPECT_EQ(st.error().code, EBADMSG) << st.error().message;
    EXPECT_EQ(out.size(), 2u) << st.error().message;
    EXPECT_TRUE(d.feed(good, out));  // the stream goes on
    EXPECT_EQ(out.size(), 2u);       // (an add identical to the last is not repeated)
  }
}

TEST(FpmDecoder, OtherMessagesAndFamiliesAreIgnored) {
  Bytes mpls = rtmsg_body(28 /* AF_MPLS */, 20);
  Bytes neigh(12, 0);
  FpmDecoder d;
  std::vector<RouteUpdate> out;
  ASSERT_TRUE(d.feed(cat({frame(message(RTM_NEWROUTE, mpls)), frame(message(RTM_NEWNEIGH, neigh))}),
                     out));
  EXPECT_TRUE(out.empty());
}

// Random and mutated streams: no crash, no hang, bounded buffer, sane updates. (The libFuzzer
// target tests/fuzz/fuzz_fpm.cpp does this at depth.)
TEST(FpmDecoder, GarbageNeverCrashes) {
  Bytes real = read_file(fixture_dir() + "/zebra_nhg.bin");
  std::mt19937 rng(1234);
  for (int i = 0; i < 3000; ++i) {
    Bytes b = real;
    int flips = 1 + static_cast<int>(rng() % 8);
    for (int f = 0; f < flips; ++f) b[rng() % b.size()] = static_cast<std::uint8_t>(rng());
    if (i % 3 == 0) b.resize(rng() % b.size());
    FpmDecoder d;
    std::vector<RouteUpdate> out;
    for (std::size_t off = 0; off < b.size();) {
      std::size_t n = std::min<std::size_t>(1 + rng() % 97, b.size() - off);
      (void)d.feed({b.data() + off, n}, out);
      off += n;
      ASSERT_LE(d.buffered(), FpmDecoder::kMaxFrame);
    }
    for (const auto& u : out) {
      ASSERT_LE(u.prefix.len, u.prefix.addr.bits());
      (void)u.to_string();
    }
  }
}

}  // namespace
}  // namespace wgcore::routing::feed
