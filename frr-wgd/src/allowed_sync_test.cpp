#include "allowed_sync.hpp"

#include <cstdlib>
#include <unistd.h>

#include <gtest/gtest.h>

namespace wgcore::frrwgd {
namespace {

namespace policy = routing::policy;

Key key(std::uint8_t b) {
  Key k;
  k[0] = b;
  return k;
}
IpPrefix P(const char* s) { return *IpPrefix::parse(s); }

DeviceState device(std::vector<std::pair<Key, std::vector<const char*>>> peers) {
  DeviceState d;
  for (auto& [k, v] : peers) {
    PeerState p;
    p.public_key = k;
    for (auto* s : v) p.allowed_ips.push_back(P(s));
    d.peers.push_back(p);
  }
  return d;
}

policy::Change change(const Key& k, const char* prefix, bool install) {
  policy::Change c;
  c.peer = k;
  c.prefix = P(prefix);
  c.install = install;
  return c;
}

std::string ops(const DeviceUpdate& u) {
  std::string s;
  for (const auto& p : u.peers) {
    s += std::to_string(p.public_key[0]) + (p.update_only ? "" : "(create!)") + ":";
    for (const auto& op : p.allowed_ips)
      s += std::string(op.kind == AllowedIpOp::Kind::kAdd ? "+" : "-") + op.prefix.to_string() + ",";
    s += " ";
  }
  return s;
}

TEST(AllowedIps, StaticIsWhatFrrWgdDidNotAdd) {
  AllowedIps a;
  a.ours[key(2)] = {P("198.18.2.0/24")};
  a.set_device(device({{key(2), {"203.0.113.2/32", "198.18.2.0/24"}}, {key(3), {"203.0.113.3/32"}}}));
  auto st = a.static_allowed();
  EXPECT_EQ(st[key(2)], std::vector<IpPrefix>{P("203.0.113.2/32")});
  EXPECT_EQ(st[key(3)], std::vector<IpPrefix>{P("203.0.113.3/32")});
}

TEST(AllowedIps, ImportsRemovedBySomeoneElseAreForgotten) {
  AllowedIps a;
  a.ours[key(2)] = {P("198.18.2.0/24"), P("198.18.4.0/24")};
  a.set_device(device({{key(2), {"198.18.2.0/24"}}}));
  EXPECT_EQ(a.ours[key(2)], std::set<IpPrefix>{P("198.18.2.0/24")});
}

TEST(AllowedIps, PlanAddsAndRemovesOnlyItsOwn) {
  AllowedIps a;
  a.set_device(device({{key(2), {"203.0.113.2/32", "198.18.22.0/24"}}, {key(3), {}}}));
  DeviceUpdate u;
  a.plan({change(key(2), "198.18.2.0/24", true), change(key(2), "198.18.22.0/24", true),
          change(key(3), "198.18.3.0/24", true)},
         u);
  EXPECT_EQ(ops(u), "2:+198.18.2.0/24, 3:+198.18.3.0/24, ") << "static 198.18.22.0/24 is not re-added";
  EXPECT_TRUE(a.ours[key(2)].count(P("198.18.2.0/24")));
  EXPECT_FALSE(a.ours[key(2)].count(P("198.18.22.0/24")));
  DeviceUpdate r;
  a.plan({change(key(2), "198.18.22.0/24", false), change(key(2), "198.18.2.0/24", false)}, r);
  EXPECT_EQ(ops(r), "2:-198.18.2.0/24, ") << "a static AllowedIP is never removed";
  EXPECT_TRUE(a.device[key(2)].count(P("198.18.22.0/24")));
}

TEST(AllowedIps, ReconcileRemovesLeftoversAndRestoresMissing) {
  AllowedIps a;
  a.ours[key(2)] = {P("198.18.2.0/24"), P("198.18.4.0/24")};  // from the previous run
  a.set_device(device({{key(2), {"203.0.113.2/32", "198.18.2.0/24", "198.18.4.0/24"}}, {key(3), {}}}));
  DeviceUpdate u;
  a.reconcile({{key(2), {P("198.18.2.0/24")}}, {key(3), {P("198.18.3.0/24")}}}, u);
  EXPECT_EQ(ops(u), "2:-198.18.4.0/24, 3:+198.18.3.0/24, ");
  EXPECT_TRUE(a.device[key(2)].count(P("203.0.113.2/32"))) << "static untouched";
  DeviceUpdate again;
  a.reconcile({{key(2), {P("198.18.2.0/24")}}, {key(3), {P("198.18.3.0/24")}}}, again);
  EXPECT_TRUE(again.peers.empty());
}

TEST(AllowedIps, StateFileRoundTrip) {
  char dir[] = "/tmp/frr-wgd-state-XXXXXX";
  ASSERT_NE(mkdtemp(dir), nullptr);
  std::string path = std::string(dir) + "/wg0.imports";
  EXPECT_TRUE(load_imports(path).empty()) << "missing file: nothing imported";
  PrefixSets s{{key(2), {P("198.18.2.0/24"), P("2001:db8:102::/64")}}, {key(3), {P("198.18.3.0/24")}}};
  ASSERT_TRUE(save_imports(path, s));
  EXPECT_EQ(load_imports(path), s);
  unlink(path.c_str());
  rmdir(dir);
}

}  // namespace
}  // namespace wgcore::frrwgd
