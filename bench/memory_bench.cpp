// Idle memory per peer (issue 9 target: <= 1 KiB): heap growth when 10 k configured, idle peers
// (public key, endpoint, one IPv4 /32 and one IPv6 /128, with or without a persistent keepalive)
// are added to an Engine, and to a whole userspace Device (Engine plus the Device's copy of the
// configuration). Reported as counters; the time column is only the cost of adding them.
// Run (as root for the Device case): memory_bench --benchmark_counters_tabular=true
#include <benchmark/benchmark.h>
#include <malloc.h>
#include <sched.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>

#include "core/crypto/x25519.hpp"
#include "core/engine.hpp"
#include "core/testing/fakes.hpp"
#include "testing/heap.hpp"
#include "device/device.hpp"
#include "testing/private_netns.hpp"

namespace wgcore {
namespace {

constexpr int kPeers = 10'000;

// main() limits glibc to one arena, so that heap_in_use() sees what the Device's loop thread
// allocates too.
using testing_support::heap_in_use;

struct NullSink : EngineSink {
  void send_to_peer(Peer&, std::span<const std::uint8_t>) override {}
  void send_to_endpoint(const Endpoint&, const Endpoint&, std::span<const std::uint8_t>) override {}
  void deliver(Peer&, std::span<const std::uint8_t>) override {}
};

struct PeerInput {
  Key public_key;
  Endpoint endpoint;
  IpPrefix v4, v6;
};

// Prepared outside the measured region, so only what the peer itself keeps is counted.
const std::vector<PeerInput>& Inputs() {
  static const std::vector<PeerInput> inputs = [] {
    fakes::SeededRandom rng(21);
    std::vector<PeerInput> v(kPeers);
    for (int i = 0; i < kPeers; ++i) {
      Key priv = crypto::x25519_generate(rng);
      if (!crypto::x25519_public(v[i].public_key, priv)) std::abort();
      v[i].endpoint = *Endpoint::parse("198.51.100." + std::to_string(1 + i % 250) + ":" +
                                       std::to_string(20000 + i));
      v[i].v4 = *IpPrefix::parse("10." + std::to_string(i >> 16) + "." +
                                 std::to_string((i >> 8) & 255) + "." + std::to_string(i & 255) +
                                 "/32");
      char v6[64];
      std::snprintf(v6, sizeof v6, "fd00:77::%x:%x/128", i >> 16, i & 0xffff);
      v[i].v6 = *IpPrefix::parse(v6);
    }
    return v;
  }();
  return inputs;
}

void BM_EngineIdleMemoryPerPeer(benchmark::State& state) {
  const auto& inputs = Inputs();
  fakes::ManualClock clock;
  fakes::SeededRandom rng(22);
  const bool with_keepalive = state.range(0) != 0;
  double per_peer = 0;
  for (auto _ : state) {
    state.PauseTiming();
    NullSink sink;
    auto engine = std::make_unique<Engine>(clock, rng, sink);
    engine->set_private_key(crypto::x25519_generate(rng));
    const std::size_t before = heap_in_use();
    state.ResumeTiming();
    for (const auto& in : inputs) {
      Peer* p = engine->add_peer(in.public_key);
      engine->set_endpoint(*p, in.endpoint);
      // Turning keepalive on sends one at once, which starts a handshake (as the kernel does):
      // that peer then also holds handshake state and an index entry.
      if (with_keepalive) engine->set_persistent_keepalive(*p, 25);
      engine->add_allowed_ip(*p, in.v4);
      engine->add_allowed_ip(*p, in.v6);
    }
    state.PauseTiming();
    per_peer = double(heap_in_use() - before) / kPeers;
    if (engine->peer_count() != std::size_t(kPeers)) state.SkipWithError("peers missing");
    engine.reset();
    state.ResumeTiming();
  }
  state.counters["bytes_per_peer"] = per_peer;
}
BENCHMARK(BM_EngineIdleMemoryPerPeer)
    ->ArgName("keepalive")
    ->Arg(0)
    ->Arg(1)
    ->Unit(benchmark::kMillisecond)
    ->Iterations(3);


void BM_DeviceIdleMemoryPerPeer(benchmark::State& state) {
  if (!wgcore::testing_support::private_netns_problem().empty()) {
    state.SkipWithError(wgcore::testing_support::private_netns_problem().c_str());
    return;
  }
  const auto& inputs = Inputs();
  DeviceUpdate u;
  fakes::SeededRandom rng(23);
  u.private_key = crypto::x25519_generate(rng);
  for (const auto& in : inputs) {
    PeerUpdate p;
    p.public_key = in.public_key;
    p.endpoint = in.endpoint;
    p.persistent_keepalive_interval = 25;
    p.allowed_ips = {{AllowedIpOp::Kind::kAdd, in.v4}, {AllowedIpOp::Kind::kAdd, in.v6}};
    u.peers.push_back(std::move(p));
  }
  double per_peer = 0;
  int n = 0;
  for (auto _ : state) {
    state.PauseTiming();
    DeviceOptions opts;
    opts.name = "wgcmem" + std::to_string(n++);
    auto d = Device::create(opts);
    if (!d) {
      state.SkipWithError(("Device::create: " + d.error().message).c_str());
      break;
    }
    // Settle the device first (key set, sockets bound), so the delta is the peers only.
    DeviceUpdate key_only;
    key_only.private_key = u.private_key;
    if (!(*d)->apply(key_only)) state.SkipWithError("apply of the key failed");
    const std::size_t before = heap_in_use();
    state.ResumeTiming();
    Status st = (*d)->apply(u);
    state.PauseTiming();
    per_peer = double(heap_in_use() - before) / kPeers;
    if (!st) state.SkipWithError(("apply: " + st.error().message).c_str());
    d->reset();
    state.ResumeTiming();
  }
  state.counters["bytes_per_peer"] = per_peer;
}
BENCHMARK(BM_DeviceIdleMemoryPerPeer)->Unit(benchmark::kMillisecond)->Iterations(3)->UseRealTime();

}  // namespace
}  // namespace wgcore

int main(int argc, char** argv) {
  // Before any thread exists: one arena, so mallinfo2 sees every allocation (see heap_in_use).
  mallopt(M_ARENA_MAX, 1);
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
