#include "allowed_sync.hpp"

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <random>
#include <unistd.h>

#include <gtest/gtest.h>

#include "test_helpers.hpp"

namespace wgcore::frrwgd {
namespace {

namespace policy = routing::policy;

using test::key;
using test::P;

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

// A failed device update takes the view back exactly: random batches of installs and removals
// (moves between peers, static prefixes, removals of what was never ours), rolled back, must
// leave the view equal to a copy taken before (the copy the daemon no longer makes).
TEST(AllowedIps, RollbackRestoresTheViewExactly) {
  std::mt19937 rng(5);
  const char* prefixes[] = {"198.18.0.0/24", "198.18.1.0/24", "198.18.2.0/24", "203.0.113.2/32",
                            "2001:db8:1::/64", "198.18.3.0/24"};
  for (int round = 0; round < 300; ++round) {
    AllowedIps a;
    a.set_device(device({{key(2), {"203.0.113.2/32", "198.18.0.0/24"}}, {key(3), {"198.18.1.0/24"}}, {key(4), {}}}));
    a.ours[key(3)].insert(P("198.18.1.0/24"));
    DeviceUpdate first;
    std::vector<policy::Change> warm = {change(key(4), "198.18.2.0/24", true)};
    a.plan(warm, first);
    const AllowedIps before = a;
    std::vector<policy::Change> batch;
    const int n = 1 + int(rng() % 8);
    for (int i = 0; i < n; ++i) {
      // One draw per statement: argument evaluation order differs between compilers.
      const auto peer = std::uint8_t(2 + rng() % 3);
      const char* pre = prefixes[rng() % 6];
      const bool install = rng() % 3 != 0;
      batch.push_back(change(key(peer), pre, install));
    }
    AllowedIps::Undo undo;
    DeviceUpdate u;
    if (round % 2) {
      a.plan(batch, u, &undo);
    } else {
      PrefixSets want;
      for (const auto& c : batch)
        if (c.install) want[c.peer].insert(c.prefix);
      a.reconcile(want, u, &undo);
    }
    a.rollback(undo);
    // Empty sets (made by lookups) mean nothing: compare without them.
    auto strip = [](PrefixSets p) {
      std::erase_if(p, [](const auto& kv) { return kv.second.empty(); });
      return p;
    };
    ASSERT_EQ(strip(a.device), strip(before.device)) << "round " << round;
    ASSERT_EQ(strip(a.ours), strip(before.ours)) << "round " << round;
    EXPECT_TRUE(undo.steps.empty());
  }
}

// The state file as a journal: what load_imports replays equals the imports after every batch,
// adds recorded before, removals after; it compacts into a snapshot when it has grown, and a
// snapshot in the old one-line format still loads.
TEST(ImportsJournal, ReplaysToTheImportsAndCompacts) {
  char dir[] = "/tmp/frr-wgd-journal-XXXXXX";
  ASSERT_NE(mkdtemp(dir), nullptr);
  const std::string path = std::string(dir) + "/wg0.imports";
  ImportsJournal j(path);
  AllowedIps a;
  a.set_device(device({{key(2), {"203.0.113.2/32"}}, {key(3), {}}}));
  std::mt19937 rng(11);
  std::size_t max_lines = 0;
  for (int batch = 0; batch < 400; ++batch) {
    std::vector<policy::Change> changes;
    const int n = 1 + int(rng() % 6);
    for (int i = 0; i < n; ++i) {
      // One draw per statement: argument evaluation order differs between compilers.
      const std::string pre = "198.18." + std::to_string(rng() % 40) + ".0/24";
      const auto peer = std::uint8_t(2 + rng() % 2);
      const bool install = rng() % 2 == 0;
      changes.push_back(change(key(peer), pre.c_str(), install));
    }
    AllowedIps::Undo undo;
    DeviceUpdate u;
    a.plan(changes, u, &undo);
    ASSERT_TRUE(j.record_adds(u));
    ASSERT_TRUE(j.record_removes(u, a.ours));
    PrefixSets nonempty;
    for (const auto& [k, set] : a.ours)
      if (!set.empty()) nonempty[k] = set;
    PrefixSets loaded = load_imports(path);
    std::erase_if(loaded, [](const auto& kv) { return kv.second.empty(); });
    ASSERT_EQ(loaded, nonempty) << "batch " << batch;
    std::ifstream in(path);
    std::size_t lines = 0;
    for (std::string line; std::getline(in, line);) ++lines;
    max_lines = std::max(max_lines, lines);
  }
  // 40 prefixes at most are live: after a batch the file holds at most twice that, or 64 lines.
  EXPECT_LE(max_lines, std::size_t(2 * 40));
  // The old format (a snapshot of "KEY PREFIX" lines) still loads.
  {
    std::ofstream out(path);
    out << to_base64(key(2)) << " 198.18.7.0/24\n";
  }
  EXPECT_EQ(load_imports(path), (PrefixSets{{key(2), {P("198.18.7.0/24")}}}));
  unlink(path.c_str());
  rmdir(dir);
}

}  // namespace
}  // namespace wgcore::frrwgd
