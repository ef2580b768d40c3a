// Token buckets keyed by source; see ratelimiter.hpp.
#include "core/ratelimiter.hpp"

#include <algorithm>

namespace wgcore {
namespace {

// The address for IPv4, the top 64 bits for IPv6.
std::uint64_t key_of(const IpAddr& a) {
  std::uint64_t k = 0;
  for (unsigned i = 0; i < (a.is_v4() ? 4u : 8u); ++i) k = k << 8 | a.bytes[i];
  return k;
}

}  // namespace

void RateLimiter::collect_garbage(Time now) {
  if (last_gc_ && now - *last_gc_ < std::chrono::seconds(1)) return;
  last_gc_ = now;
  auto stale = [&](const auto& kv) { return now - kv.second.last >= std::chrono::seconds(1); };
  std::erase_if(table4_, stale);
  std::erase_if(table6_, stale);
}

bool RateLimiter::allow(const IpAddr& source, Time now) {
  collect_garbage(now);
  auto& table = source.is_v4() ? table4_ : table6_;
  std::uint64_t key = key_of(source);
  auto it = table.find(key);
  if (it == table.end()) {
    if (size() >= kMaxEntries) return false;
    table.emplace(key, Bucket{now, kTokenMax - kPacketCost});
    return true;
  }
  Bucket& b = it->second;
  b.tokens = std::min<std::int64_t>(kTokenMax, b.tokens + (now - b.last).count());
  b.last = now;
  if (b.tokens < kPacketCost) return false;
  b.tokens -= kPacketCost;
  return true;
}

}  // namespace wgcore
