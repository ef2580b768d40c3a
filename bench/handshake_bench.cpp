// Handshake cost on one core (issue 9 target: >= 5 k initiation+response pairs per second):
// the bare Noise IKpsk2 exchange, the same through two Engines (macs, index table, keypair
// rotation and the confirming keepalive included), and the X25519 operation it is built from.
// Run: handshake_bench --benchmark_counters_tabular=true
#include <benchmark/benchmark.h>

#include <array>
#include <chrono>
#include <cstdint>
#include <vector>

#include "core/crypto/aead.hpp"
#include "core/crypto/blake2s.hpp"
#include "core/crypto/tai64n.hpp"
#include "core/crypto/x25519.hpp"
#include "core/engine.hpp"
#include "core/noise.hpp"
#include "core/testing/fakes.hpp"

namespace wgcore {
namespace {

using namespace std::chrono_literals;

Identity MakeIdentity(Random& rng) {
  Identity id;
  id.set(crypto::x25519_generate(rng));
  return id;
}

// One X25519 shared-secret computation: a full handshake needs eight (two key generations and
// six Diffie-Hellmans, the static-static one precomputed), so this bounds the rate from above.
void BM_X25519(benchmark::State& state) {
  fakes::SeededRandom rng(1);
  Key a = crypto::x25519_generate(rng), b = crypto::x25519_generate(rng), pub, shared;
  if (!crypto::x25519_public(pub, b)) state.SkipWithError("x25519_public failed");
  for (auto _ : state) {
    bool ok = crypto::x25519(shared, a, pub);
    benchmark::DoNotOptimize(ok);
    benchmark::DoNotOptimize(shared);
  }
  state.counters["per_second"] = benchmark::Counter(double(state.iterations()),
                                                    benchmark::Counter::kIsRate);
}
BENCHMARK(BM_X25519);

// Public key from a private key: one base-point multiplication. If BM_X25519 costs about twice
// this, each DH also pays for deriving a public key it never uses (OpenSSL does that when a raw
// private key is imported).
void BM_X25519Public(benchmark::State& state) {
  fakes::SeededRandom rng(3);
  Key a = crypto::x25519_generate(rng), pub;
  for (auto _ : state) {
    bool ok = crypto::x25519_public(pub, a);
    benchmark::DoNotOptimize(ok);
    benchmark::DoNotOptimize(pub);
  }
  state.counters["per_second"] = benchmark::Counter(double(state.iterations()),
                                                    benchmark::Counter::kIsRate);
}
BENCHMARK(BM_X25519Public);

// The symmetric rest of a handshake, to see what is left besides X25519. One side of the
// exchange runs about ten mix_hash (BLAKE2s of 32 + up to 48 bytes), seven KDFs of one to
// three outputs, two or three 16..48-byte AEAD operations and one TAI64N conversion.
void BM_Blake2sMixHash(benchmark::State& state) {
  std::array<std::uint8_t, 32> h{};
  std::array<std::uint8_t, 48> data{};
  for (auto _ : state) {
    crypto::blake2s(h, {h, data});
    benchmark::DoNotOptimize(h);
  }
}
BENCHMARK(BM_Blake2sMixHash);

void BM_Kdf3(benchmark::State& state) {
  std::array<std::uint8_t, 32> ck{}, t1{}, t2{}, t3{};
  for (auto _ : state) {
    crypto::kdf(ck, t3, t1, t2, t3);
    benchmark::DoNotOptimize(t1);
  }
}
BENCHMARK(BM_Kdf3);

void BM_AeadSeal48(benchmark::State& state) {
  std::array<std::uint8_t, 32> key{}, ad{};
  std::array<std::uint8_t, 32> plain{};
  std::array<std::uint8_t, 48> out{};
  for (auto _ : state) {
    crypto::aead_seal(out, plain, 0, ad, key);
    benchmark::DoNotOptimize(out);
  }
}
BENCHMARK(BM_AeadSeal48);

void BM_Tai64n(benchmark::State& state) {
  WallTime wall = std::chrono::seconds(1748736000);
  for (auto _ : state) {
    wall += std::chrono::nanoseconds(1);
    auto t = crypto::tai64n(wall);
    benchmark::DoNotOptimize(t);
  }
}
BENCHMARK(BM_Tai64n);

// Initiator and responder Noise state machines only: create/consume initiation, create/consume
// response, and both sides' key derivation. No macs, no cookies, no index table.
// An initiator and a responder that know each other, with the clocks a round advances: each
// round needs a newer TAI64N timestamp and must not look like a flood to the responder.
struct NoisePair {
  explicit NoisePair(std::uint64_t seed) : rng(seed), ini(MakeIdentity(rng)), rsp(MakeIdentity(rng)) {
    hs_i.remote_static = rsp.public_key;
    hs_r.remote_static = ini.public_key;
    noise::precompute_static_static(hs_i, ini);
    noise::precompute_static_static(hs_r, rsp);
  }
  // The responder's peer lookup by the initiator's static key.
  auto lookup() {
    return [this](const Key& k) -> Handshake* { return k == ini.public_key ? &hs_r : nullptr; };
  }
  fakes::SeededRandom rng;
  Identity ini, rsp;
  Handshake hs_i, hs_r;
  Time now = 1h;
  WallTime wall = std::chrono::seconds(1748736000);
  std::uint32_t index = 1;
};

void BM_NoiseHandshake(benchmark::State& state) {
  NoisePair p(2);
  auto& [rng, ini, rsp, hs_i, hs_r, now, wall, index] = p;
  auto lookup = p.lookup();
  for (auto _ : state) {
    now += 1s;
    wall += 1s;
    proto::MessageHandshakeInitiation init;
    proto::MessageHandshakeResponse resp;
    bool ok = noise::create_initiation(init, hs_i, ini, index++, wall, rng);
    auto consumed = noise::consume_initiation(init, rsp, now, lookup);
    ok = ok && consumed.error == noise::ConsumeError::kNone;
    ok = ok && noise::create_response(resp, hs_r, rsp, index++, rng);
    ok = ok && noise::consume_response(resp, hs_i, ini) == noise::ConsumeError::kNone;
    auto keys_r = noise::begin_session(hs_r);
    auto keys_i = noise::begin_session(hs_i);
    if (!ok || !keys_r || !keys_i || !(keys_r->sending == keys_i->receiving)) {
      state.SkipWithError("handshake failed");
      break;
    }
  }
  state.counters["handshakes_per_second"] =
      benchmark::Counter(double(state.iterations()), benchmark::Counter::kIsRate);
}
BENCHMARK(BM_NoiseHandshake);

// The responder's share of a handshake, the work an initiation costs a server: consume the
// initiation, create the response, derive the session (four X25519 of the eight a handshake
// needs; the static-static one is precomputed). The initiator's messages are made with the
// timer paused.
void BM_NoiseResponder(benchmark::State& state) {
  NoisePair p(3);
  auto& [rng, ini, rsp, hs_i, hs_r, now, wall, index] = p;
  auto lookup = p.lookup();
  for (auto _ : state) {
    state.PauseTiming();
    now += 1s;
    wall += 1s;
    proto::MessageHandshakeInitiation init;
    bool ok = noise::create_initiation(init, hs_i, ini, index++, wall, rng);
    state.ResumeTiming();
    proto::MessageHandshakeResponse resp;
    auto consumed = noise::consume_initiation(init, rsp, now, lookup);
    ok = ok && consumed.error == noise::ConsumeError::kNone;
    ok = ok && noise::create_response(resp, hs_r, rsp, index++, rng);
    auto keys_r = noise::begin_session(hs_r);
    if (!ok || !keys_r) {
      state.SkipWithError("handshake failed");
      break;
    }
    benchmark::DoNotOptimize(resp);
  }
  state.counters["handshakes_per_second"] =
      benchmark::Counter(double(state.iterations()), benchmark::Counter::kIsRate);
}
BENCHMARK(BM_NoiseResponder);

// Two Engines wired back to back: every datagram one sends goes straight into the other.
class Side : public EngineSink {
 public:
  Side(fakes::ManualClock& clock, std::uint64_t seed, const char* addr)
      : rng_(seed), engine(clock, rng_, *this), address(*Endpoint::parse(addr)) {
    engine.set_private_key(crypto::x25519_generate(rng_));
  }
  void send_to_peer(Peer&, std::span<const std::uint8_t> d) override { Queue(d); }
  void send_to_endpoint(const Endpoint&, const Endpoint&,
                        std::span<const std::uint8_t> d) override {
    Queue(d);
  }
  void deliver(Peer&, std::span<const std::uint8_t>) override {}
  void on_event(Peer*, EngineEvent e) override {
    if (e == EngineEvent::kSessionDerived) ++sessions;
  }
  void Queue(std::span<const std::uint8_t> d) {
    // Slots are reused, so steady state allocates nothing here.
    if (queued == outbox.size()) outbox.emplace_back();
    outbox[queued].assign(d.begin(), d.end());
    ++queued;
  }

 private:
  fakes::SeededRandom rng_;

 public:
  Engine engine;
  Endpoint address;
  std::vector<std::vector<std::uint8_t>> outbox;
  std::size_t queued = 0;
  std::uint64_t sessions = 0;
};

// Moves datagrams both ways until neither side has anything to send.
void Pump(Side& a, Side& b) {
  std::vector<std::uint8_t> tmp;
  while (a.queued || b.queued) {
    for (auto [from, to] : {std::pair{&a, &b}, std::pair{&b, &a}}) {
      std::size_t n = from->queued;
      from->queued = 0;
      for (std::size_t i = 0; i < n; ++i) {
        tmp.swap(from->outbox[i]);
        to->engine.receive(tmp, from->address, to->address, false);
        tmp.swap(from->outbox[i]);
      }
    }
  }
}

void BM_EngineHandshake(benchmark::State& state) {
  fakes::ManualClock clock;
  Side a(clock, 11, "198.51.100.1:51820"), b(clock, 12, "198.51.100.2:51820");
  Peer* pb = a.engine.add_peer(b.engine.identity().public_key);
  Peer* pa = b.engine.add_peer(a.engine.identity().public_key);
  a.engine.set_endpoint(*pb, b.address);
  b.engine.set_endpoint(*pa, a.address);
  for (auto _ : state) {
    // Past REKEY_TIMEOUT, so a new initiation is allowed, and past the responder's flood limit.
    clock.advance(6s);
    a.engine.initiate_handshake(*pb);
    Pump(a, b);
  }
  // Each completed handshake derives a session on both sides.
  const auto rounds = std::uint64_t(state.iterations());
  if (a.sessions != rounds || b.sessions != rounds)
    state.SkipWithError("not every round completed a handshake");
  state.counters["handshakes_per_second"] =
      benchmark::Counter(double(state.iterations()), benchmark::Counter::kIsRate);
}
BENCHMARK(BM_EngineHandshake);

}  // namespace
}  // namespace wgcore
