#include "frr_sync.hpp"

#include <gtest/gtest.h>

#include "test_helpers.hpp"

#include <poll.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <mutex>
#include <thread>
#include <random>

#include "config.hpp"
#include "frr_snippet.hpp"
#include "routing/policy.hpp"

namespace wgcore::frrwgd {
namespace {

namespace policy = routing::policy;

using test::A;
using test::key;
using test::P;

InterfaceConfig two_peers() {
  InterfaceConfig ic;
  ic.name = "wg0";
  PeerConfig b, c;
  b.name = "site-b";
  b.public_key = key(2);
  c.name = "site-c";
  c.public_key = key(3);
  ic.peers = {b, c};
  return ic;
}

// What the guard list says of a prefix, read the way FRR reads a prefix-list (first match in
// seq order; no match: deny): the slow reference the generated entries are checked against.
bool guard_refuses(const FrrList& list, const IpPrefix& p) {
  for (const auto& line : list.lines) {
    auto lists = std::vector<policy::PrefixList>{};
    EXPECT_TRUE(policy::parse_prefix_list_line(line, lists).ok()) << line;
    const auto& e = lists.at(0).entries.at(0);
    if (e.matches(p)) return e.action == policy::Action::kPermit;
  }
  return false;
}

// The guard denies exactly what the engine refuses for the fact-based rules (covers-endpoint,
// covers-local, hijack), checked against the engine itself on random prefixes near the facts.
TEST(FrrGuard, MatchesTheEnginesFactRulesOnRandomPrefixes) {
  InterfaceConfig ic = two_peers();
  policy::Facts f;
  f.local_addresses = {A("198.51.100.1"), A("198.18.1.1"), A("2001:db8:1::1")};
  f.peer_endpoints[key(2)] = {A("198.51.100.2")};
  f.peer_endpoints[key(3)] = {A("2001:db8:1::3")};
  f.static_allowed_ips[key(2)] = {P("203.0.113.2/32"), P("198.18.22.0/24"), P("2001:db8:122::/48")};
  f.static_allowed_ips[key(3)] = {P("203.0.113.3/32"), P("198.18.22.128/26")};  // inside B's: C's own
  auto lists = frr_guard_lists(ic, f);
  ASSERT_EQ(lists.size(), 4u);
  ASSERT_TRUE(lists.count("FRR-WGD-GUARD4-site-b") && lists.count("FRR-WGD-GUARD6-site-c"));
  EXPECT_FALSE(lists.at("FRR-WGD-GUARD6-site-c").v4);

  std::vector<policy::PeerPolicy> peers(2);
  peers[0].public_key = key(2);
  peers[0].name = "site-b";
  peers[1].public_key = key(3);
  peers[1].name = "site-c";
  for (auto& p : peers) p.prefix_list_v4 = p.prefix_list_v6 = "ANY";
  std::vector<policy::PrefixList> pl;
  ASSERT_TRUE(policy::parse_prefix_list_line("ip prefix-list ANY seq 5 permit 0.0.0.0/0 le 32", pl).ok());
  ASSERT_TRUE(policy::parse_prefix_list_line("ipv6 prefix-list ANY seq 5 permit ::/0 le 128", pl).ok());
  policy::Engine engine;
  engine.set_config(pl, peers);
  engine.set_facts(f);
  auto fact_rule = [](policy::Rule r) {
    return r == policy::Rule::kCoversEndpoint || r == policy::Rule::kCoversLocal || r == policy::Rule::kHijack;
  };
  std::mt19937 rng(7);
  const std::vector<IpAddr> near = {A("198.51.100.2"), A("198.18.22.130"), A("198.18.22.7"), A("198.18.1.200"),
                                    A("203.0.113.2"), A("10.9.8.7"), A("2001:db8:1::3"), A("2001:db8:122::9"),
                                    A("2001:db8:1::1")};
  int checked = 0;
  for (int i = 0; i < 4000; ++i) {
    IpAddr a = near[rng() % near.size()];
    std::uint8_t bits = a.is_v4() ? 32 : 128;
    IpPrefix p = IpPrefix{a, std::uint8_t(1 + rng() % bits)}.canonical();
    for (const auto& peer : peers) {
      auto d = engine.evaluate(peer.public_key, p);
      const auto& list = lists.at(std::string("FRR-WGD-GUARD") + (a.is_v4() ? "4-" : "6-") + peer.name);
      EXPECT_EQ(guard_refuses(list, p), d.verdict == policy::Verdict::kRefuse && fact_rule(d.rule))
          << peer.name << " " << p.to_string() << " engine: " << policy::rule_name(d.rule);
      ++checked;
    }
  }
  EXPECT_EQ(checked, 8000);
  // A /0 is the default-route rule's (allow-default lets it through): never in the guard.
  EXPECT_FALSE(guard_refuses(lists.at("FRR-WGD-GUARD4-site-b"), P("0.0.0.0/0")));
}

// The hold lists name exactly what the engine holds back (over max-prefixes, pending approval),
// per peer and family, after random offers and withdrawals; peers with neither get no list.
TEST(FrrHold, ListsWhatTheEngineHoldsBack) {
  InterfaceConfig ic = two_peers();
  PeerConfig d;
  d.name = "site-d";
  d.public_key = key(4);
  ic.peers.push_back(d);
  ic.peers[0].max_prefixes = 20;  // site-b
  ic.peers[1].approval = true;    // site-c
  std::vector<policy::PeerPolicy> peers;
  for (auto& p : ic.peers) {
    p.prefix_list_v4 = p.prefix_list_v6 = "ANY";
    peers.push_back(p.policy());
  }
  std::vector<policy::PrefixList> pl;
  ASSERT_TRUE(policy::parse_prefix_list_line("ip prefix-list ANY seq 5 permit 10.0.0.0/8 le 32", pl).ok());
  ASSERT_TRUE(policy::parse_prefix_list_line("ipv6 prefix-list ANY seq 5 permit 2001:db8::/32 le 128", pl).ok());
  policy::Engine engine;
  engine.set_config(pl, peers);
  std::mt19937 rng(11);
  std::vector<policy::Change> cs;
  for (int i = 0; i < 3000; ++i) {
    const Key& k = ic.peers[rng() % 3].public_key;
    IpPrefix p = rng() % 2 ? IpPrefix{A("10.0.0.0"), 24} : IpPrefix{A("2001:db8::"), 64};
    if (p.addr.is_v4()) p.addr.bytes[2] = std::uint8_t(rng() % 64);
    else p.addr.bytes[5] = std::uint8_t(rng() % 64);
    if (rng() % 3) engine.offer(k, p, cs);
    else engine.withdraw(k, p, cs);
  }
  auto lists = frr_hold_lists(ic, engine);
  ASSERT_EQ(lists.size(), 6u);
  EXPECT_TRUE(lists.at("FRR-WGD-HOLD4-site-d").lines.empty()) << "neither max-prefixes nor approval";
  EXPECT_TRUE(lists.at("FRR-WGD-HOLD6-site-d").lines.empty());
  std::size_t held_total = 0;
  for (const auto& peer : ic.peers) {
    if (peer.name == "site-d") continue;
    for (const auto& e : engine.entries(peer.public_key)) {
      const bool v4 = e.prefix.addr.is_v4();
      const auto& list = lists.at(std::string("FRR-WGD-HOLD") + (v4 ? "4-" : "6-") + peer.name);
      EXPECT_EQ(guard_refuses(list, e.prefix), held_back(e.decision)) << peer.name << " " << e.prefix.to_string();
      held_total += held_back(e.decision);
    }
  }
  EXPECT_GT(held_total, 20u) << "the random run should hold some back";
  // The route-maps deny what the hold lists permit, after the guard and before the policy.
  std::string maps = frr_route_maps(Config{.interfaces = {ic}});
  EXPECT_NE(maps.find("route-map FRR-WGD-IN4-site-b deny 4\n match ip address prefix-list FRR-WGD-HOLD4-site-b"),
            std::string::npos);
  EXPECT_NE(maps.find("route-map FRR-WGD-IN6-site-d deny 4\n match ipv6 address prefix-list FRR-WGD-HOLD6-site-d"),
            std::string::npos);
}

// Waits (bounded) for a started push to end, as the daemon's poll loop does.
std::optional<FrrSync::Outcome> wait(FrrSync& sync) {
  pollfd p{sync.fd(), POLLIN, 0};
  if (::poll(&p, 1, 5000) != 1) return std::nullopt;
  return sync.finish();
}

TEST(FrrSync, SendsOnlyChangedListsAndEverythingAfterAFailure) {
  std::mutex mu;
  std::vector<std::string> sent;
  std::atomic<bool> fail{false};
  FrrSync sync([&](const std::string& script) -> Result<std::string> {
    if (fail) return make_error(EPROTO, "% Unknown command");
    std::lock_guard<std::mutex> lock(mu);
    sent.push_back(script);
    return std::string();
  });
  FrrLists lists = {{"FRR-WGD-A", {true, {"ip prefix-list FRR-WGD-A seq 5 permit 10.0.0.0/8"}}},
                    {"FRR-WGD-B6", {false, {}}}};
  ASSERT_TRUE(sync.start("route-map X permit 10\nexit\n", lists));
  EXPECT_FALSE(sync.start("", lists)) << "one push at a time";
  auto o = wait(sync);
  ASSERT_TRUE(o && o->status.ok());
  EXPECT_EQ(o->lists, 2u);
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(sent[0],
            "route-map X permit 10\nexit\n"
            "ip prefix-list FRR-WGD-A description frr-wgd\nno ip prefix-list FRR-WGD-A\n"
            "ip prefix-list FRR-WGD-A seq 5 permit 10.0.0.0/8\n"
            "ipv6 prefix-list FRR-WGD-B6 description frr-wgd\nno ipv6 prefix-list FRR-WGD-B6\n");
  EXPECT_FALSE(sync.start("", lists)) << "unchanged: nothing to send";
  lists["FRR-WGD-B6"].lines.push_back("ipv6 prefix-list FRR-WGD-B6 seq 5 permit ::/0");
  fail = true;
  ASSERT_TRUE(sync.start("", lists));
  o = wait(sync);
  ASSERT_TRUE(o);
  EXPECT_FALSE(o->status.ok());
  fail = false;
  ASSERT_TRUE(sync.start("", lists));
  o = wait(sync);
  ASSERT_TRUE(o && o->status.ok());
  EXPECT_EQ(o->lists, 2u) << "after a failure every list is sent again";
}

// The push runs beside the caller: a vtysh that blocks (bgpd busy) never blocks the daemon.
TEST(FrrSync, APushThatBlocksDoesNotBlockTheCaller) {
  std::atomic<bool> release{false};
  FrrSync sync([&](const std::string&) -> Result<std::string> {
    while (!release) std::this_thread::sleep_for(std::chrono::milliseconds(1));
    return std::string();
  });
  FrrLists lists = {{"FRR-WGD-A", {true, {"ip prefix-list FRR-WGD-A seq 5 permit 10.0.0.0/8"}}}};
  auto t0 = std::chrono::steady_clock::now();
  ASSERT_TRUE(sync.start("", lists));
  EXPECT_TRUE(sync.busy());
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(1));
  pollfd p{sync.fd(), POLLIN, 0};
  EXPECT_EQ(::poll(&p, 1, 50), 0) << "not done while vtysh blocks";
  release = true;
  auto o = wait(sync);
  ASSERT_TRUE(o && o->status.ok());
  EXPECT_FALSE(sync.busy());
}

}  // namespace
}  // namespace wgcore::frrwgd
