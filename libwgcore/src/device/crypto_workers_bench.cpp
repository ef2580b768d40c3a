// Sealing one datapath turn (256 KiB: 184 packets of 1420 bytes, what one TUN round reads at
// most) on 1, 2 and 4 threads through CryptoWorkers, to see what the helpers add on this machine
// and what a batch costs in hand-offs. Compare the rows with each other (same run), not with
// other days: the machine is shared.
#include <benchmark/benchmark.h>

#include <cstdint>
#include <vector>

#include "core/crypto/aead.hpp"
#include "device/crypto_workers.hpp"

namespace wgcore {
namespace {

void BM_SealTurn(benchmark::State& state) {
  const auto threads = static_cast<unsigned>(state.range(0));
  constexpr std::size_t kPackets = 184, kLen = 1420;
  std::vector<std::vector<std::uint8_t>> bufs(kPackets, std::vector<std::uint8_t>(kLen + crypto::kAeadTag, 7));
  std::uint8_t key[crypto::kAeadKeyLen] = {1, 2, 3};
  CryptoWorkers workers(threads);
  std::uint64_t counter = 0;
  auto seal = [&](std::size_t i) {
    auto& b = bufs[i];
    crypto::aead_seal(b, crypto::Bytes(b.data(), kLen), counter + i, {}, crypto::KeyRef(key, crypto::kAeadKeyLen));
  };
  for (auto _ : state) {
    workers.for_each(kPackets, kPackets * kLen, seal);
    counter += kPackets;
    benchmark::ClobberMemory();
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * kPackets * kLen));
  state.counters["parallel_batches"] = double(workers.parallel_batches());
}
BENCHMARK(BM_SealTurn)->Arg(1)->Arg(2)->Arg(4)->UseRealTime();

}  // namespace
}  // namespace wgcore
