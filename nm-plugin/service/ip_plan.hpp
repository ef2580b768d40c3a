// What the service tells NetworkManager about a tunnel and what it routes itself, computed from
// the profile's wg-quick model alone (no I/O, no GLib), so the split is unit-tested: NM gets the
// first address of each family, the DNS, the MTU and a route per non-default AllowedIPs entry;
// a default route (0.0.0.0/0, ::/0) never goes to NM but to wg-quick's fwmark policy routing.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "wgcore/wgquick.hpp"
#include "wgcore/ip.hpp"

namespace wgcore::nm {

struct FamilyPlan {
  std::optional<IpPrefix> address;    // the one address NM's VPN config carries per family
  std::vector<IpPrefix> extra_addresses;  // further Address entries (not representable: logged)
  std::vector<IpPrefix> routes;       // for NM to add on the tunnel device (canonical, unique)
  std::vector<IpAddr> dns;
  bool full_tunnel = false;           // a peer routes the default: policy routing by fwmark
  bool has_config() const { return address.has_value(); }
};

struct IpPlan {
  FamilyPlan v4, v6;
  std::vector<std::string> domains;   // DNS search domains
  // Table = N: every AllowedIPs route goes into table N (wg-quick's behaviour); NM gets none.
  std::optional<config::RouteTable> fixed_table;
  bool routes_off = false;            // Table = off
};

IpPlan plan_ip(const config::WgQuickConfig& cfg);

// The routes the service programs itself in fixed_table (Table = N), canonical and unique.
std::vector<IpPrefix> fixed_table_routes(const config::WgQuickConfig& cfg);

}  // namespace wgcore::nm
