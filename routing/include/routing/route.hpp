// Routes: add, delete, list one table, and ask the kernel which route a destination takes
// (`ip route get`). A Route says what `ip route add DST dev DEV table T ...` says.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "routing/netlink.hpp"
#include "wgcore/ip.hpp"

namespace wgcore::routing {

inline constexpr std::uint32_t kTableMain = 254;   // RT_TABLE_MAIN
inline constexpr std::uint32_t kTableLocal = 255;  // RT_TABLE_LOCAL
inline constexpr std::uint8_t kProtoBoot = 3;      // RTPROT_BOOT, what `ip route add` uses
inline constexpr std::uint8_t kProtoKernel = 2;    // RTPROT_KERNEL: prefix routes of addresses
inline constexpr std::uint8_t kProtoStatic = 4;    // RTPROT_STATIC

struct Route {
  IpPrefix dst;                            // host bits must be clear (the kernel insists)
  std::string dev;                         // output device; empty for none (e.g. unreachable)
  std::optional<IpAddr> gateway;
  std::uint32_t table = kTableMain;
  std::optional<std::uint32_t> metric;     // unset: the kernel's default (0 for IPv4, 1024 IPv6)
  std::uint8_t protocol = kProtoBoot;
  // Unset: what `ip route add` picks: link for an IPv4 route without gateway, else universe.
  std::optional<std::uint8_t> scope;
  std::uint8_t type = 1;                   // RTN_UNICAST
  std::optional<unsigned> mtu;             // RTAX_MTU; read back, and set when given

  // In `ip route` words: "10.0.0.0/8 dev wg0 table 51820" (table left out for main, proto
  // for boot, metric when unset).
  std::string to_string() const;
};

// NLM_F_CREATE | NLM_F_EXCL, like `ip route add`: an existing route is EEXIST.
Status add_route(Netlink& nl, const Route& route);
// Deletes the route matching dst, table, dev, gateway and (when set) metric, like `ip route del`.
Status delete_route(Netlink& nl, const Route& route);
// The routes of one table and family in dump order (cached clones left out).
Result<std::vector<Route>> list_routes(Netlink& nl, IpAddr::Family family,
                                       std::uint32_t table = kTableMain);

// The route the kernel would use for dst now (`ip route get DST`): dev, gateway, mtu metric.
Result<Route> route_get(Netlink& nl, const IpAddr& dst);

}  // namespace wgcore::routing
