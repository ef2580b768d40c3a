// Trust policy throughput (issue 6 target: 100 k routes through policy into AllowedIPs in
// <= 2 s). Each iteration starts from an empty engine and device and pushes 100 k distinct
// routes from four peers through Engine::offer, then applies the returned Changes the way
// frr-wgd does: into the core AllowedIPs trie (the table the userspace datapath looks up) and,
// separately, as one DeviceUpdate through apply_update (the set semantics every backend runs).
// Also: a reload that changes nothing (the SIGHUP cost at 100 k) and withdrawing everything.
// "Time" is wall-clock per 100 k (the figure), "CPU" this process's share of it; on a
// busy machine the two differ, and routes_per_cpu_s is the rate the code itself achieves.
// Run: policy_bench --benchmark_counters_tabular=true
#include <benchmark/benchmark.h>

#include <cstdint>
#include <cstdlib>
#include <vector>

#include "model/config_apply.hpp"
#include "core/allowedips.hpp"
#include "routing/policy.hpp"

namespace wgcore::routing::policy {
namespace {

constexpr std::size_t kRoutes = 100'000;
constexpr std::uint8_t kPeers = 4;

Key PeerKey(std::uint8_t i) {
  Key k;
  k[0] = std::uint8_t(0x40 + i);
  return k;
}

// 100 k distinct prefixes: IPv4 hosts and /29s (every 8th) inside 198.18.0.0/15, and every 16th
// an IPv6 /64 in 2001:db8:100::/40. The ones in 198.18.255.0/24 hit the list's deny entry.
std::vector<IpPrefix> Routes() {
  std::vector<IpPrefix> out;
  out.reserve(kRoutes);
  for (std::uint32_t i = 0; out.size() < kRoutes; ++i) {
    if (i % 16 == 15) {
      IpPrefix p;
      p.addr = *IpAddr::parse("2001:db8:100::");
      p.addr.bytes[5] = std::uint8_t(i >> 16);
      p.addr.bytes[6] = std::uint8_t(i >> 8);
      p.addr.bytes[7] = std::uint8_t(i);
      p.len = 64;
      out.push_back(p);
      continue;
    }
    out.push_back(IpPrefix{IpAddr::v4(0xc6120000u + i), std::uint8_t(i % 8 == 0 ? 29 : 32)});
  }
  return out;
}

void Configure(Engine& e) {
  std::vector<PrefixList> lists;
  for (auto line : {"ip prefix-list LAN seq 5 deny 198.18.255.0/24 le 32",
                    "ip prefix-list LAN seq 10 permit 198.18.0.0/15 le 32",
                    "ipv6 prefix-list LAN6 seq 10 permit 2001:db8:100::/40 le 64"})
    if (!parse_prefix_list_line(line, lists).ok()) std::abort();
  std::vector<PeerPolicy> peers;
  for (std::uint8_t i = 0; i < kPeers; ++i) {
    PeerPolicy p;
    p.public_key = PeerKey(i);
    p.name = "site-" + std::to_string(i);
    p.prefix_list_v4 = "LAN";
    p.prefix_list_v6 = "LAN6";
    p.max_prefixes = 200'000;
    p.warn_prefixes = 150'000;
    peers.push_back(p);
  }
  e.set_config(lists, peers);
  Facts f;
  f.local_addresses = {*IpAddr::parse("198.51.100.1"), *IpAddr::parse("203.0.113.1")};
  for (std::uint8_t i = 0; i < kPeers; ++i) {
    f.peer_endpoints[PeerKey(i)] = {IpAddr::v4(0xc6336402u + i)};  // 198.51.100.2+
    f.static_allowed_ips[PeerKey(i)] = {IpPrefix{IpAddr::v4(0xcb007102u + i), 32}};  // 203.0.113.2+
  }
  e.set_facts(f);
}

const std::vector<IpPrefix>& SharedRoutes() {
  static const std::vector<IpPrefix> routes = Routes();
  return routes;
}

std::vector<Change> OfferAll(Engine& e, const std::vector<IpPrefix>& routes) {
  std::vector<Change> changes;
  changes.reserve(routes.size());
  for (std::size_t i = 0; i < routes.size(); ++i)
    e.offer(PeerKey(std::uint8_t(i % kPeers)), routes[i], changes);
  return changes;
}

void Report(benchmark::State& state, std::size_t routes, std::size_t installed) {
  state.counters["routes"] = double(routes);
  state.counters["installed"] = double(installed);
  state.counters["routes_per_cpu_s"] =
      benchmark::Counter(double(routes) * double(state.iterations()), benchmark::Counter::kIsRate);
}

// Policy alone.
void BM_Policy_Offer(benchmark::State& state) {
  const auto& routes = SharedRoutes();
  std::size_t installed = 0;
  for (auto _ : state) {
    Engine e;
    Configure(e);
    auto changes = OfferAll(e, routes);
    installed = changes.size();
    benchmark::DoNotOptimize(changes.data());
  }
  Report(state, routes.size(), installed);
}

struct TriePeer {
  int id;
};

// Policy, then the Changes into the core AllowedIPs trie: the figure.
void BM_Policy_IntoAllowedIps(benchmark::State& state) {
  const auto& routes = SharedRoutes();
  std::vector<TriePeer> trie_peers(kPeers);
  std::size_t installed = 0;
  for (auto _ : state) {
    Engine e;
    Configure(e);
    AllowedIps<TriePeer> table;
    auto changes = OfferAll(e, routes);
    for (const auto& c : changes) {
      TriePeer* peer = &trie_peers[c.peer[0] - 0x40];
      if (c.install)
        table.insert(c.prefix, peer);
      else
        table.remove(c.prefix, peer);
    }
    installed = table.size();
    if (installed != changes.size()) state.SkipWithError("table size differs from installs");
    if (table.lookup(routes[0].addr) == nullptr) state.SkipWithError("first route not installed");
  }
  Report(state, routes.size(), installed);
}

// Policy, then one DeviceUpdate (AllowedIpOp kAdd per install) through apply_update.
void BM_Policy_IntoDeviceState(benchmark::State& state) {
  const auto& routes = SharedRoutes();
  std::size_t installed = 0;
  DeviceState empty;
  for (std::uint8_t i = 0; i < kPeers; ++i) {
    PeerState p;
    p.public_key = PeerKey(i);
    empty.peers.push_back(p);
  }
  for (auto _ : state) {
    Engine e;
    Configure(e);
    auto changes = OfferAll(e, routes);
    DeviceUpdate u;
    u.peers.resize(kPeers);
    for (std::uint8_t i = 0; i < kPeers; ++i) {
      u.peers[i].public_key = PeerKey(i);
      u.peers[i].update_only = true;
    }
    for (const auto& c : changes)
      u.peers[c.peer[0] - 0x40].allowed_ips.push_back(
          AllowedIpOp{c.install ? AllowedIpOp::Kind::kAdd : AllowedIpOp::Kind::kRemove, c.prefix});
    auto next = apply_update(empty, u);
    if (!next.ok()) {
      state.SkipWithError(next.error().message.c_str());
      break;
    }
    installed = 0;
    for (const auto& p : next->peers) installed += p.allowed_ips.size();
    if (installed != changes.size()) state.SkipWithError("device state differs from installs");
  }
  Report(state, routes.size(), installed);
}

// A reload that changes nothing at 100 k offered routes (SIGHUP with an unchanged config).
void BM_Policy_ReloadUnchanged(benchmark::State& state) {
  const auto& routes = SharedRoutes();
  Engine e;
  Configure(e);
  const std::size_t installed = OfferAll(e, routes).size();
  for (auto _ : state) {
    Configure(e);
    if (!e.entries(PeerKey(0)).empty() && e.accepted(PeerKey(0)).empty())
      state.SkipWithError("lost");
  }
  Report(state, routes.size(), installed);
}

// Withdrawing all 100 k routes (a peer's session going down).
void BM_Policy_WithdrawAll(benchmark::State& state) {
  const auto& routes = SharedRoutes();
  std::size_t removed = 0;
  for (auto _ : state) {
    state.PauseTiming();
    Engine e;
    Configure(e);
    OfferAll(e, routes);
    std::vector<Change> changes;
    changes.reserve(routes.size());
    state.ResumeTiming();
    for (std::size_t i = 0; i < routes.size(); ++i)
      e.withdraw(PeerKey(std::uint8_t(i % kPeers)), routes[i], changes);
    removed = changes.size();
  }
  Report(state, routes.size(), removed);
}

BENCHMARK(BM_Policy_Offer)->Unit(benchmark::kMillisecond)->Iterations(3);
BENCHMARK(BM_Policy_IntoAllowedIps)->Unit(benchmark::kMillisecond)->Iterations(3);
BENCHMARK(BM_Policy_IntoDeviceState)->Unit(benchmark::kMillisecond)->Iterations(3);
BENCHMARK(BM_Policy_ReloadUnchanged)->Unit(benchmark::kMillisecond)->Iterations(3);
BENCHMARK(BM_Policy_WithdrawAll)->Unit(benchmark::kMillisecond)->Iterations(3);

}  // namespace
}  // namespace wgcore::routing::policy
