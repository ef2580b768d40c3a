// Per-source rate limiting of handshake messages under load, like the kernel's ratelimiter.c:
// a token bucket per IPv4 address or IPv6 /64 allowing 20 packets a second with a burst of 5.
// Buckets idle for a second are forgotten; the table is bounded, and a full table refuses.
#pragma once

#include <cstdint>
#include <optional>
#include <unordered_map>

#include "core/environment.hpp"
#include "wgcore/ip.hpp"

namespace wgcore {

class RateLimiter {
 public:
  static constexpr std::uint64_t kPacketsPerSecond = 20;
  static constexpr std::uint64_t kPacketsBurstable = 5;
  static constexpr std::int64_t kPacketCost = 1'000'000'000 / kPacketsPerSecond;  // ns
  static constexpr std::int64_t kTokenMax = kPacketCost * kPacketsBurstable;
  static constexpr std::size_t kMaxEntries = 1 << 16;

  bool allow(const IpAddr& source, Time now);
  std::size_t size() const { return table4_.size() + table6_.size(); }

 private:
  struct Bucket {
    Time last;
    std::int64_t tokens;
  };
  void collect_garbage(Time now);

  // IPv4 sources by address, IPv6 sources by /64 (one host usually owns a whole /64).
  std::unordered_map<std::uint64_t, Bucket> table4_;
  std::unordered_map<std::uint64_t, Bucket> table6_;
  std::optional<Time> last_gc_;
};

}  // namespace wgcore
