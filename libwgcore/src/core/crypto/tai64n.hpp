// TAI64N timestamps for handshake initiations: 8 bytes big-endian seconds (2^62 + 10 + unix),
// 4 bytes big-endian nanoseconds. Big-endian makes "newer" a plain byte-wise comparison.
#pragma once

#include <array>
#include <cstdint>

#include "core/environment.hpp"

namespace wgcore::crypto {

using Tai64n = std::array<std::uint8_t, 12>;

// Nanoseconds are rounded down to a power-of-two fraction of a second below 1/50 s (as the
// kernel does) so timestamps do not leak fine-grained clock readings.
Tai64n tai64n(WallTime unix_time) noexcept;
// True when a is strictly later than b.
bool tai64n_after(const Tai64n& a, const Tai64n& b) noexcept;

}  // namespace wgcore::crypto
