// Hashing IpPrefix for the engine's unordered maps (offers per peer, owners, static AllowedIPs):
// 100 k imports are looked up by exact prefix on every offer, so a tree would cost log n misses.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>

#include "wgcore/ip.hpp"

namespace wgcore::routing::policy {

struct PrefixHash {
  std::size_t operator()(const IpPrefix& p) const noexcept {
    std::uint64_t a, b;
    std::memcpy(&a, p.addr.bytes.data(), 8);
    std::memcpy(&b, p.addr.bytes.data() + 8, 8);
    // MurmurHash3's finalizer over both halves: every input bit reaches the low bits, which
    // is what the buckets (hash modulo a prime) use; IPv4 keys differ only in bytes 0-3.
    std::uint64_t h = a ^ (b * 0x9e3779b97f4a7c15u) ^
                      (std::uint64_t(p.len) << 56 | std::uint64_t(p.addr.family) << 48);
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdu;
    h ^= h >> 33;
    h *= 0xc4ceb9fe1a85ec53u;
    h ^= h >> 33;
    return std::size_t(h);
  }
};

}  // namespace wgcore::routing::policy
