// AllowedIPs microbenchmarks: lookups at a million prefixes per family, insertion rate, removal
// rate prefix by prefix, remove_by_peer of a 100k-prefix peer among 900k others, and memory per
// prefix.
// Run: allowedips_bench --benchmark_counters_tabular=true
#include "core/allowedips.hpp"

#include <benchmark/benchmark.h>

#include <algorithm>
#include <ctime>
#include <cstring>
#include <random>
#include <vector>

#include "testing/heap.hpp"

namespace wgcore {
namespace {

struct BenchPeer {
  int id;
};

constexpr std::size_t kPrefixes = 1'000'000;
constexpr std::size_t kBigPeerPrefixes = 100'000;
constexpr std::size_t kPeers = 10'000;  // peer 0 is the big one; the rest share 900k

using testing_support::heap_in_use;

// A routing-table-like IPv4 mix: mostly /16../32 with /24 the most common, a few shorter.
IpPrefix RandomV4Prefix(std::mt19937_64& rng) {
  const unsigned r = unsigned(rng() % 100);
  unsigned len;
  if (r < 2)
    len = 8 + unsigned(rng() % 8);  // /8../15
  else if (r < 37)
    len = 16 + unsigned(rng() % 8);  // /16../23
  else if (r < 77)
    len = 24;
  else
    len = 25 + unsigned(rng() % 8);  // /25../32
  IpPrefix p;
  p.addr = IpAddr::v4(std::uint32_t(rng()));
  p.len = std::uint8_t(len);
  return p.canonical();
}

// IPv6 as a large operator would hand it out: a few dozen /32 allocations, inside them /48 and
// /56 sites, /64 subnets and /128 hosts.
IpPrefix RandomV6Prefix(std::mt19937_64& rng) {
  static const std::vector<std::uint32_t> allocations = [] {
    std::mt19937_64 r(32);
    std::vector<std::uint32_t> v;
    for (int i = 0; i < 32; ++i) v.push_back(0x20000000u | std::uint32_t(r() & 0x0fffffffu));
    return v;
  }();
  static constexpr std::uint8_t kLens[10] = {48, 56, 64, 64, 64, 64, 128, 128, 128, 128};
  IpPrefix p;
  p.addr.family = IpAddr::Family::V6;
  const std::uint32_t top = allocations[rng() % allocations.size()];
  for (int i = 0; i < 4; ++i) p.addr.bytes[i] = std::uint8_t(top >> (24 - 8 * i));
  const std::uint64_t a = rng(), b = rng();
  std::memcpy(&p.addr.bytes[4], &a, 8);
  std::memcpy(&p.addr.bytes[12], &b, 4);
  p.len = kLens[rng() % 10];
  return p.canonical();
}

// An address inside p (random host bits).
IpAddr AddressIn(const IpPrefix& p, std::mt19937_64& rng) {
  IpAddr a = p.addr;
  for (unsigned i = 0; i < a.byte_len(); ++i) {
    const unsigned first = i * 8;
    if (first + 8 <= p.len) continue;
    const auto keep = std::uint8_t(first >= p.len ? 0 : 0xff << (8 - (p.len - first)));
    a.bytes[i] = std::uint8_t((a.bytes[i] & keep) | (std::uint8_t(rng()) & ~keep));
  }
  return a;
}

// One big table per family, built once and shared by the benchmarks.
struct Fixture {
  std::vector<BenchPeer> peers{kPeers};
  AllowedIps<BenchPeer> table;
  std::vector<IpPrefix> prefixes;  // distinct; the first kBigPeerPrefixes belong to peers[0]
  std::size_t heap_bytes = 0;      // heap growth while building, allocator overhead included

  Fixture(bool v6, std::uint64_t seed) {
    std::mt19937_64 rng(seed);
    // Distinct prefixes (a duplicate would re-own, not add), in random order.
    while (prefixes.size() < kPrefixes) {
      while (prefixes.size() < kPrefixes + kPrefixes / 8)
        prefixes.push_back(v6 ? RandomV6Prefix(rng) : RandomV4Prefix(rng));
      std::sort(prefixes.begin(), prefixes.end());
      prefixes.erase(std::unique(prefixes.begin(), prefixes.end()), prefixes.end());
    }
    std::shuffle(prefixes.begin(), prefixes.end(), rng);
    prefixes.resize(kPrefixes);
    for (std::size_t i = 0; i < kPeers; ++i) peers[i].id = int(i);

    const std::size_t heap_before = heap_in_use();
    for (std::size_t i = 0; i < kPrefixes; ++i)
      table.insert(prefixes[i], i < kBigPeerPrefixes ? &peers[0] : &peers[1 + i % (kPeers - 1)]);
    heap_bytes = heap_in_use() - heap_before;
  }
};

Fixture& V4() {
  static Fixture f(false, 4);
  return f;
}
Fixture& V6() {
  static Fixture f(true, 6);
  return f;
}

std::vector<IpAddr> Probes(const Fixture& f, bool inside, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::vector<IpAddr> out(1 << 20);
  for (auto& a : out) {
    if (inside) {
      a = AddressIn(f.prefixes[rng() % f.prefixes.size()], rng);
    } else {
      a = f.prefixes[0].addr;  // right family
      for (unsigned i = 0; i < a.byte_len(); ++i) a.bytes[i] = std::uint8_t(rng());
    }
  }
  return out;
}

void LookupLoop(benchmark::State& state, Fixture& f, const std::vector<IpAddr>& probes) {
  const bool v4 = probes[0].is_v4();
  std::size_t i = 0, hits = 0;
  for (auto _ : state) {
    const IpAddr& a = probes[i++ & (probes.size() - 1)];
    BenchPeer* p = v4 ? f.table.lookup_v4(a.bytes.data()) : f.table.lookup_v6(a.bytes.data());
    hits += p != nullptr;
    benchmark::DoNotOptimize(p);
  }
  state.counters["hit_ratio"] = double(hits) / double(state.iterations());
  state.counters["prefixes"] = double(f.table.size());
  state.counters["bytes_per_prefix"] = double(f.heap_bytes) / double(f.table.size());
}

void BM_LookupV4_RandomAddr(benchmark::State& state) {
  static const auto probes = Probes(V4(), false, 1);
  LookupLoop(state, V4(), probes);
}
void BM_LookupV4_InsidePrefix(benchmark::State& state) {
  static const auto probes = Probes(V4(), true, 2);
  LookupLoop(state, V4(), probes);
}
void BM_LookupV6_InsidePrefix(benchmark::State& state) {
  static const auto probes = Probes(V6(), true, 3);
  LookupLoop(state, V6(), probes);
}
// Addresses inside the operator's /32s but random below: paths part somewhere in the middle.
void BM_LookupV6_RandomInAllocations(benchmark::State& state) {
  static const auto probes = [] {
    std::mt19937_64 rng(5);
    std::vector<IpAddr> out(1 << 20);
    for (auto& a : out) {
      IpPrefix p = V6().prefixes[rng() % V6().prefixes.size()];
      p.len = 32;
      a = AddressIn(p.canonical(), rng);
    }
    return out;
  }();
  LookupLoop(state, V6(), probes);
}
BENCHMARK(BM_LookupV4_RandomAddr);
BENCHMARK(BM_LookupV4_InsidePrefix);
BENCHMARK(BM_LookupV6_InsidePrefix);
BENCHMARK(BM_LookupV6_RandomInAllocations);

// Inserting 1M prefixes spread over 10k peers into an empty table (what a UAPI `set` of a large
// configuration does), and the memory that costs.
void BM_InsertV4_1M(benchmark::State& state) {
  const auto& prefixes = V4().prefixes;
  std::vector<BenchPeer> peers(kPeers);
  for (auto _ : state) {
    AllowedIps<BenchPeer> t;
    for (std::size_t i = 0; i < prefixes.size(); ++i) t.insert(prefixes[i], &peers[i % kPeers]);
    benchmark::DoNotOptimize(t.size());
    state.PauseTiming();
    state.counters["bytes_per_prefix_structure"] = double(t.memory_usage()) / double(t.size());
    t.clear();
    state.ResumeTiming();
  }
  state.SetItemsProcessed(std::int64_t(state.iterations() * prefixes.size()));
}
BENCHMARK(BM_InsertV4_1M)->Unit(benchmark::kMillisecond)->Iterations(3);

void BM_InsertV6_1M(benchmark::State& state) {
  const auto& prefixes = V6().prefixes;
  std::vector<BenchPeer> peers(kPeers);
  for (auto _ : state) {
    AllowedIps<BenchPeer> t;
    for (std::size_t i = 0; i < prefixes.size(); ++i) t.insert(prefixes[i], &peers[i % kPeers]);
    benchmark::DoNotOptimize(t.size());
    state.PauseTiming();
    state.counters["bytes_per_prefix_structure"] = double(t.memory_usage()) / double(t.size());
    t.clear();
    state.ResumeTiming();
  }
  state.SetItemsProcessed(std::int64_t(state.iterations() * prefixes.size()));
}
BENCHMARK(BM_InsertV6_1M)->Unit(benchmark::kMillisecond)->Iterations(3);

// Removing 1M prefixes one at a time, in random order, from a full table (what a routing feed's
// withdrawals do, prefix by prefix): the per-prefix removal cost at routing-table size.
template <typename Fixture>
void RemoveEach(benchmark::State& state, const Fixture& fixture) {
  const auto& prefixes = fixture.prefixes;
  std::vector<BenchPeer> peers(kPeers);
  std::vector<std::size_t> order(prefixes.size());
  for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::shuffle(order.begin(), order.end(), std::mt19937_64(7));
  std::size_t removed = 0;
  for (auto _ : state) {
    state.PauseTiming();
    AllowedIps<BenchPeer> t;
    for (std::size_t i = 0; i < prefixes.size(); ++i) t.insert(prefixes[i], &peers[i % kPeers]);
    state.ResumeTiming();
    for (std::size_t i : order) removed += t.remove(prefixes[i], &peers[i % kPeers]);
    benchmark::DoNotOptimize(t.size());
  }
  // Every prefix of the fixture is distinct, so each removal finds its prefix.
  state.counters["removed_per_iteration"] = double(removed) / double(state.iterations());
  state.SetItemsProcessed(std::int64_t(state.iterations() * prefixes.size()));
}
void BM_RemoveEachV4_1M(benchmark::State& state) { RemoveEach(state, V4()); }
void BM_RemoveEachV6_1M(benchmark::State& state) { RemoveEach(state, V6()); }
BENCHMARK(BM_RemoveEachV4_1M)->Unit(benchmark::kMillisecond)->Iterations(3);
BENCHMARK(BM_RemoveEachV6_1M)->Unit(benchmark::kMillisecond)->Iterations(3);

double ThreadCpuSeconds() {
  timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return double(ts.tv_sec) + double(ts.tv_nsec) * 1e-9;
}

// remove_by_peer of peers[0] (100k prefixes) while 900k others stay. The manual time is the
// thread's CPU time, so that other load on a shared build machine does not count (the Time column
// then shows CPU time). Re-inserting the same 100k prefixes between iterations is not in that
// time but is measured the same way, as a baseline taken under the same load and cache state:
// `remove_vs_insert` (removal time / re-insert time) stays meaningful on a noisy machine.
void RemoveBigPeer(benchmark::State& state, Fixture& f) {
  double remove_total = 0, insert_total = 0, remove_min = 1e9;
  for (auto _ : state) {
    const double start = ThreadCpuSeconds();
    f.table.remove_by_peer(&f.peers[0]);
    const double removed = ThreadCpuSeconds();
    state.SetIterationTime(removed - start);
    if (f.table.size() != kPrefixes - kBigPeerPrefixes) state.SkipWithError("wrong count removed");
    for (std::size_t i = 0; i < kBigPeerPrefixes; ++i) f.table.insert(f.prefixes[i], &f.peers[0]);
    insert_total += ThreadCpuSeconds() - removed;
    remove_total += removed - start;
    remove_min = std::min(remove_min, removed - start);
  }
  const double n = double(state.iterations());
  state.counters["remove_min_ms"] = remove_min * 1e3;
  state.counters["reinsert_ms"] = insert_total / n * 1e3;
  state.counters["remove_vs_insert"] = remove_total / insert_total;
}
void BM_RemoveByPeerV4_100kOf1M(benchmark::State& state) { RemoveBigPeer(state, V4()); }
void BM_RemoveByPeerV6_100kOf1M(benchmark::State& state) { RemoveBigPeer(state, V6()); }
BENCHMARK(BM_RemoveByPeerV4_100kOf1M)->UseManualTime()->Unit(benchmark::kMillisecond)
    ->Iterations(10);
BENCHMARK(BM_RemoveByPeerV6_100kOf1M)->UseManualTime()->Unit(benchmark::kMillisecond)
    ->Iterations(10);

}  // namespace
}  // namespace wgcore
