// Configuration at scale (issue 9 targets: apply 10 k peers <= 1 s, get 10 k peers <= 0.2 s):
// the UAPI text layer (parse_set, format_get), the pure apply_update, and the same through a
// real userspace Device, which also creates each peer in the Engine (one X25519 per peer for
// the precomputed static-static secret). Device benchmarks need root and /dev/net/tun: the
// program moves itself into a private network namespace first, so nothing leaks.
// Run (as root): uapi_bench --benchmark_counters_tabular=true
#include <benchmark/benchmark.h>
#include <sched.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>

#include "model/config_apply.hpp"
#include "core/crypto/x25519.hpp"
#include "core/testing/fakes.hpp"
#include "device/device.hpp"
#include "testing/private_netns.hpp"
#include "uapi/uapi_text.hpp"

namespace wgcore {
namespace {

constexpr int kPeers = 10'000;

// A `wg setconf`-shaped update: a private key and kPeers peers, each with an endpoint, a
// keepalive and two allowed IPs (one IPv4 /32 and one IPv6 /128 inside the benchmark ranges).
DeviceUpdate MakeUpdate(int peers) {
  fakes::SeededRandom rng(9);
  DeviceUpdate u;
  u.private_key = crypto::x25519_generate(rng);
  u.listen_port = 0;
  u.replace_peers = true;
  for (int i = 0; i < peers; ++i) {
    PeerUpdate p;
    Key priv = crypto::x25519_generate(rng);
    if (!crypto::x25519_public(p.public_key, priv)) std::abort();
    p.endpoint = *Endpoint::parse("198.51.100." + std::to_string(1 + i % 250) + ":" +
                                  std::to_string(20000 + i));
    p.persistent_keepalive_interval = 25;
    // 10.0.0.0/8-sized space for IPv4 hosts (outside every range the machine uses) and ULA v6.
    std::string v4 = "10." + std::to_string(i >> 16) + "." + std::to_string((i >> 8) & 255) +
                     "." + std::to_string(i & 255) + "/32";
    char v6[64];
    std::snprintf(v6, sizeof v6, "fd00:77::%x:%x/128", i >> 16, i & 0xffff);
    p.allowed_ips = {{AllowedIpOp::Kind::kAdd, *IpPrefix::parse(v4)},
                     {AllowedIpOp::Kind::kAdd, *IpPrefix::parse(v6)}};
    u.peers.push_back(std::move(p));
  }
  return u;
}

const DeviceUpdate& Update10k() {
  static const DeviceUpdate u = MakeUpdate(kPeers);
  return u;
}
const std::string& SetBody10k() {
  static const std::string body = uapi::format_set(Update10k());
  return body;
}

void BM_UapiParseSet10k(benchmark::State& state) {
  const std::string& body = SetBody10k();
  for (auto _ : state) {
    auto u = uapi::parse_set(body);
    if (!u || u->peers.size() != std::size_t(kPeers)) state.SkipWithError("parse_set failed");
    benchmark::DoNotOptimize(u);
  }
  state.counters["body_bytes"] = double(body.size());
}
BENCHMARK(BM_UapiParseSet10k)->Unit(benchmark::kMillisecond);

void BM_ApplyUpdate10k(benchmark::State& state) {
  const DeviceUpdate& u = Update10k();
  DeviceState empty;
  for (auto _ : state) {
    auto s = apply_update(empty, u);
    if (!s || s->peers.size() != std::size_t(kPeers)) state.SkipWithError("apply_update failed");
    benchmark::DoNotOptimize(s);
  }
}
BENCHMARK(BM_ApplyUpdate10k)->Unit(benchmark::kMillisecond);

// The text an `wg setconf` sends, parsed and applied: the UAPI path without the device.
void BM_ParseAndApply10k(benchmark::State& state) {
  const std::string& body = SetBody10k();
  DeviceState empty;
  for (auto _ : state) {
    auto u = uapi::parse_set(body);
    auto s = u ? apply_update(empty, *u) : Result<DeviceState>(Error{EINVAL, "parse"});
    if (!s || s->peers.size() != std::size_t(kPeers)) state.SkipWithError("parse+apply failed");
    benchmark::DoNotOptimize(s);
  }
}
BENCHMARK(BM_ParseAndApply10k)->Unit(benchmark::kMillisecond);

void BM_UapiFormatGet10k(benchmark::State& state) {
  auto s = apply_update(DeviceState{}, Update10k());
  if (!s) {
    state.SkipWithError("apply_update failed");
    return;
  }
  std::size_t bytes = 0;
  for (auto _ : state) {
    std::string text = uapi::format_get(*s);
    bytes = text.size();
    benchmark::DoNotOptimize(text);
  }
  state.counters["answer_bytes"] = double(bytes);
}
BENCHMARK(BM_UapiFormatGet10k)->Unit(benchmark::kMillisecond);

// ---- through a real userspace Device (TUN + UDP + Engine + loop thread) ----

// Why the Device benchmarks cannot run here, or "" once inside a private network namespace.

std::unique_ptr<Device> NewDevice(benchmark::State& state) {
  if (!wgcore::testing_support::private_netns_problem().empty()) {
    state.SkipWithError(wgcore::testing_support::private_netns_problem().c_str());
    return nullptr;
  }
  static int counter = 0;
  DeviceOptions opts;
  opts.name = "wgcbench" + std::to_string(counter++);
  auto d = Device::create(opts);
  if (!d) {
    state.SkipWithError(("Device::create: " + d.error().message).c_str());
    return nullptr;
  }
  return std::move(*d);
}

// The full `wg setconf` cost inside the daemon: parse the text, then Device::apply (validation,
// Engine peers with their static-static X25519, AllowedIPs, reconciliation).
void BM_DeviceSetconf10k(benchmark::State& state) {
  const std::string& body = SetBody10k();
  for (auto _ : state) {
    state.PauseTiming();
    auto dev = NewDevice(state);
    state.ResumeTiming();
    if (!dev) break;
    auto u = uapi::parse_set(body);
    Status st = u ? dev->apply(*u) : Status(u.error());
    state.PauseTiming();
    if (!st) state.SkipWithError(("apply: " + st.error().message).c_str());
    dev.reset();  // tearing the interface down is not part of the measurement
    state.ResumeTiming();
  }
}
// Real time: the work happens on the Device's loop thread, not the calling one.
BENCHMARK(BM_DeviceSetconf10k)->Unit(benchmark::kMillisecond)->Iterations(3)->UseRealTime();

// `wg show` / `wg showconf` of 10 k peers inside the daemon: Device::get and the UAPI text.
void BM_DeviceGet10k(benchmark::State& state) {
  auto dev = NewDevice(state);
  if (!dev) return;
  if (Status st = dev->apply(Update10k()); !st) {
    state.SkipWithError(("apply: " + st.error().message).c_str());
    return;
  }
  for (auto _ : state) {
    auto s = dev->get();
    if (!s || s->peers.size() != std::size_t(kPeers)) {
      state.SkipWithError("get failed");
      break;
    }
    std::string text = uapi::format_get(*s);
    benchmark::DoNotOptimize(text);
  }
}
BENCHMARK(BM_DeviceGet10k)->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace
}  // namespace wgcore
