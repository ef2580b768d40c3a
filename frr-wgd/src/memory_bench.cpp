// frr-wgd's own memory per imported route, component by component (issue 15: RSS of frr-wgd at
// 100 000 BGP routes was about 1 KiB a route; this says where it goes). 100 000 /26s announced
// via one peer's tunnel address go through what the daemon keeps for them: the Importer's routes,
// the policy engine's offers (a permit by prefix-list), and the AllowedIps view (device + ours).
// Counters are heap bytes per route (testing/heap.hpp); the time is the whole pass.
// Run: frr_wgd_memory_bench --benchmark_counters_tabular=true
#include <benchmark/benchmark.h>

#include <vector>

#include "frr-wgd/src/allowed_sync.hpp"
#include "frr-wgd/src/importer.hpp"
#include "routing/policy.hpp"
#include "testing/heap.hpp"

namespace wgcore::frrwgd {
namespace {

constexpr std::size_t kRoutes = 100'000;

using testing_support::heap_in_use;

void BM_FrrWgdMemoryPerRoute(benchmark::State& state) {
  Key peer;
  peer[0] = 2;
  const IpAddr tunnel = *IpAddr::parse("203.0.113.2");
  std::vector<routing::feed::RouteUpdate> updates(kRoutes);
  for (std::size_t i = 0; i < kRoutes; ++i) {
    updates[i].prefix = IpPrefix{IpAddr::v4(0x0a000000u + (std::uint32_t(i) << 6)), 26};
    updates[i].protocol = 186;  // bgp
    updates[i].nexthops = {routing::feed::Nexthop{tunnel, 7, 1}};
  }
  std::vector<routing::policy::PrefixList> lists;
  if (!routing::policy::parse_prefix_list_line("ip prefix-list SITE-B seq 10 permit 10.0.0.0/8 le 32", lists))
    state.SkipWithError("prefix-list");
  routing::policy::PeerPolicy policy;
  policy.public_key = peer;
  policy.name = "site-b";
  policy.prefix_list_v4 = "SITE-B";

  for (auto _ : state) {
    std::vector<Offer> offers;
    offers.reserve(kRoutes);
    std::vector<routing::policy::Change> changes;
    changes.reserve(kRoutes);
    DeviceUpdate update;

    const std::size_t h0 = heap_in_use();
    Importer importer(7, 252);
    importer.set_peers({{peer, {tunnel}}}, offers);
    for (const auto& u : updates) importer.update(u, offers);
    const std::size_t h1 = heap_in_use();
    routing::policy::Engine engine;
    engine.set_config(lists, {policy});
    for (const auto& o : offers) engine.offer(o.peer, o.prefix, changes);
    const std::size_t h2 = heap_in_use();
    AllowedIps view;
    view.plan(changes, update);
    update = DeviceUpdate{};  // the update goes to the device and is dropped; the view stays
    const std::size_t h3 = heap_in_use();

    if (offers.size() != kRoutes || changes.size() != kRoutes) state.SkipWithError("not every route was accepted");
    const double n = double(kRoutes);
    state.counters["importer_B"] = double(h1 - h0) / n;
    state.counters["policy_B"] = double(h2 - h1) / n;
    state.counters["allowed_view_B"] = double(h3 - h2) / n;
    state.counters["total_B"] = double(h3 - h0) / n;
  }
}
BENCHMARK(BM_FrrWgdMemoryPerRoute)->Unit(benchmark::kMillisecond)->Iterations(1);

}  // namespace
}  // namespace wgcore::frrwgd
