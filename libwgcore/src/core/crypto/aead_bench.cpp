// Microbenchmarks for the per-packet crypto: ChaCha20-Poly1305 seal/open at a small packet, a
// full 1420-byte MTU packet and a 16 KiB GSO-sized chunk, plus the mac1 check (BLAKE2s MAC over
// the 116 bytes of a handshake initiation that mac1 covers).
#include <benchmark/benchmark.h>

#include <cstdint>
#include <vector>

#include "core/crypto/aead.hpp"
#include "core/crypto/blake2s.hpp"

namespace wgcore::crypto {
namespace {

std::vector<std::uint8_t> filled(std::size_t n, std::uint8_t seed) {
  std::vector<std::uint8_t> v(n);
  for (std::size_t i = 0; i < n; ++i) v[i] = static_cast<std::uint8_t>(seed + i * 31);
  return v;
}

void BM_AeadSeal(benchmark::State& state) {
  const auto n = static_cast<std::size_t>(state.range(0));
  const auto key = filled(kAeadKeyLen, 1);
  auto buf = filled(n + kAeadTag, 2);  // in place, as the datapath does
  std::uint64_t counter = 0;
  for (auto _ : state) {
    aead_seal(buf, Bytes(buf.data(), n), counter++, {}, KeyRef(key.data(), kAeadKeyLen));
    benchmark::DoNotOptimize(buf.data());
    benchmark::ClobberMemory();
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations()) *
                          static_cast<std::int64_t>(n));
}
BENCHMARK(BM_AeadSeal)->Arg(64)->Arg(1420)->Arg(16384);

void BM_AeadOpen(benchmark::State& state) {
  const auto n = static_cast<std::size_t>(state.range(0));
  const auto key = filled(kAeadKeyLen, 1);
  const auto plain = filled(n, 3);
  std::vector<std::uint8_t> sealed(n + kAeadTag), out(n);
  aead_seal(sealed, plain, 42, {}, KeyRef(key.data(), kAeadKeyLen));
  for (auto _ : state) {
    const bool ok = aead_open(out, sealed, 42, {}, KeyRef(key.data(), kAeadKeyLen));
    if (!ok) state.SkipWithError("open failed");
    benchmark::DoNotOptimize(out.data());
    benchmark::ClobberMemory();
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations()) *
                          static_cast<std::int64_t>(n));
}
BENCHMARK(BM_AeadOpen)->Arg(64)->Arg(1420)->Arg(16384);

void BM_Blake2sMacMac1(benchmark::State& state) {
  const auto key = filled(32, 4);
  const auto msg = filled(116, 5);
  std::array<std::uint8_t, kBlake2sMacLen> mac{};
  for (auto _ : state) {
    blake2s_mac(mac, key, msg);
    benchmark::DoNotOptimize(mac.data());
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations()) * 116);
}
BENCHMARK(BM_Blake2sMacMac1);

}  // namespace
}  // namespace wgcore::crypto
