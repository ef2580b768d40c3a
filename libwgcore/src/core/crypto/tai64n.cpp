// TAI64N handshake timestamps: external TAI64 label (2^62 + 10 leap seconds + Unix seconds)
// and whitened nanoseconds, both big-endian so byte order is time order.
#include "core/crypto/tai64n.hpp"

#include <cstring>

namespace wgcore::crypto {
namespace {

constexpr std::int64_t kNsecPerSec = 1'000'000'000;
constexpr std::uint64_t kTai64Base = (std::uint64_t{1} << 62) + 10;
constexpr std::int64_t kInitiationsPerSecond = 50;

constexpr std::int64_t rounddown_pow_of_two(std::int64_t v) {
  std::int64_t p = 1;
  while (p * 2 <= v) p *= 2;
  return p;
}
// 2^24 ns (~16.8 ms): finer than the handshake rate limit needs, coarse enough that the
// timestamp reveals little about the local clock.
constexpr std::int64_t kWhitenNs = rounddown_pow_of_two(kNsecPerSec / kInitiationsPerSecond);
static_assert(kWhitenNs == (1 << 24));

}  // namespace

Tai64n tai64n(WallTime unix_time) noexcept {
  const std::int64_t ns = unix_time.count();
  // Floor division so times before 1970 still map to a valid, ordered label.
  std::int64_t secs = ns / kNsecPerSec;
  std::int64_t nsec = ns % kNsecPerSec;
  if (nsec < 0) {
    nsec += kNsecPerSec;
    --secs;
  }
  nsec -= nsec % kWhitenNs;
  const std::uint64_t label = kTai64Base + static_cast<std::uint64_t>(secs);
  const auto n32 = static_cast<std::uint32_t>(nsec);
  Tai64n out;
  for (int i = 0; i < 8; ++i) out[i] = static_cast<std::uint8_t>(label >> (56 - 8 * i));
  for (int i = 0; i < 4; ++i) out[8 + i] = static_cast<std::uint8_t>(n32 >> (24 - 8 * i));
  return out;
}

bool tai64n_after(const Tai64n& a, const Tai64n& b) noexcept {
  return std::memcmp(a.data(), b.data(), a.size()) > 0;
}

}  // namespace wgcore::crypto
