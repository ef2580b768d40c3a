// Export: each peer's static AllowedIPs become kernel routes FRR can redistribute. IPv4 goes to a
// dedicated table (zebra `ip import-table N`, bgpd `redistribute table N`); IPv6 to the main
// table (`redistribute kernel route-map` with `match interface`), because FRR 8.4 has no IPv6
// import-table. Routes carry frr-wgd's own protocol number, so the kernel tables themselves say
// which routes are ours: a restart lists them and removes what is no longer wanted.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "routing/netlink.hpp"
#include "routing/policy.hpp"  // operator< for Key (std::map<Key, ...>)
#include "routing/route.hpp"
#include "wgcore/ip.hpp"
#include "wgcore/key.hpp"

namespace wgcore::frrwgd {

// The routes for a set of static AllowedIPs: one per distinct prefix, host bits cleared. Left
// out: a /0 (it would announce a default route for the whole site) and prefixes inside the
// interface's own subnets (`onlink`, its address prefixes): those are connected routes already,
// and a host route for a peer's tunnel address would shadow the connected route zebra needs to
// resolve that peer's BGP next hop (an IPv6 route learned from it would stay inactive).
std::vector<routing::Route> export_routes(const std::string& dev, std::uint32_t table,
                                          std::uint8_t protocol,
                                          const std::map<Key, std::vector<IpPrefix>>& statics,
                                          const std::vector<IpPrefix>& onlink = {});

struct RouteDiff {
  std::vector<routing::Route> add;
  std::vector<routing::Route> remove;
};
// Compares by (dst, table, dev); `current` holds only our routes.
RouteDiff diff_routes(const std::vector<routing::Route>& want, const std::vector<routing::Route>& current);

// Our routes on `dev` now: protocol `protocol` in `table` (IPv4) and in main (IPv6).
Result<std::vector<routing::Route>> current_export_routes(routing::Netlink& nl, const std::string& dev,
                                                          std::uint32_t table, std::uint8_t protocol);

// Makes the kernel match `want`; errors are collected (one per failed route), the rest applied.
std::vector<std::string> apply_diff(routing::Netlink& nl, const RouteDiff& diff);

}  // namespace wgcore::frrwgd
