// What to apply to a device for a netdev, and on reload only what changed: peers that are
// unchanged are not mentioned, so their sessions and handshakes survive (no replace_peers, no
// re-set endpoints). Also the routes networkd would add for AllowedIPs (RouteTable=, RouteMetric=).
// Pure: endpoints arrive already resolved.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "netdev.hpp"
#include "wgcore/config.hpp"

namespace wgcore::networkd {

// Resolved endpoints by peer public key (base64); peers missing here are sent without one.
using ResolvedEndpoints = std::map<std::string, Endpoint>;

// The whole configuration (replace_peers): for a freshly created device.
DeviceUpdate full_update(const WireGuardNetdev& w, const ResolvedEndpoints& ep);

// The change from `before` to `after` (same interface): empty peers and no device fields when
// nothing changed. `ep_before`/`ep_after` are the resolutions used for each.
DeviceUpdate diff_update(const WireGuardNetdev& before, const ResolvedEndpoints& ep_before,
                         const WireGuardNetdev& after, const ResolvedEndpoints& ep_after);
bool update_is_empty(const DeviceUpdate& u);

// A route networkd would add: prefix, table, metric (protocol static, scope universe).
struct PeerRoute {
  IpPrefix dst;
  std::uint32_t table = 0;
  std::uint32_t metric = 0;
  friend auto operator<=>(const PeerRoute&, const PeerRoute&) = default;
};
// networkd's wireguard_verify() route list: for each peer with a non-zero table (its own
// RouteTable= or [WireGuard]'s), each AllowedIPs prefix; metric from the peer or [WireGuard],
// 0 meaning the kernel default for IPv6 (1024). Sorted, duplicates removed.
std::vector<PeerRoute> peer_routes(const WireGuardNetdev& w);

}  // namespace wgcore::networkd
