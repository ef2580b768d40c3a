// wg-quick(8)'s routing for a tunnel, on routing/'s primitives: a route per allowed IP (in the
// main table, a given table, or none), the default-route policy routing (fwmark table, `not
// fwmark` rule, `suppress_prefixlength 0` rule, src_valid_mark), its removal on `down`, and the
// automatic MTU. The same steps and order as /usr/bin/wg-quick, without shelling out to `ip`.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "wgcore/wgquick.hpp"
#include "routing/default_policy.hpp"
#include "routing/netlink.hpp"
#include "wgcore/ip.hpp"

namespace wgcore::routing {

struct QuickRoutesInput {
  std::string iface;
  config::RouteTable table;                 // unset Table = auto
  std::vector<IpPrefix> allowed_ips;        // every peer's, as the device reports them
  std::uint32_t fwmark = 0;                 // the device's current fwmark (0 = off)
  // Sets the device's fwmark (wg set IFACE fwmark T), when the default route needs one.
  std::function<Status(std::uint32_t)> set_fwmark;
};

// Adds the routes (longest prefixes first, as wg-quick sorts them). Returns the policy-routing
// table when a default route took that path, else nullopt.
Result<std::optional<std::uint32_t>> add_quick_routes(Netlink& nl, const QuickRoutesInput& in,
                                                      const StepLog& log = {});

// wg-quick's del_if rule cleanup for fwmark table T, both families: every rule that looks up T
// and every "from all lookup main suppress_prefixlength 0" rule.
Status remove_quick_rules(Netlink& nl, std::uint32_t table, const StepLog& log = {});

// wg-quick's automatic MTU: the largest MTU of the routes toward the endpoints (the route's mtu
// metric, else its device's), else the default route's device's, else 1500; minus 80.
unsigned auto_mtu(Netlink& nl, const std::vector<IpAddr>& endpoints);
// The interface MTU wg-quick sets: the file's MTU =, else auto_mtu() toward the endpoints the
// update gives its peers (`wgcore up` and the NetworkManager plugin).
unsigned quick_mtu(Netlink& nl, const config::WgQuickConfig& cfg, const DeviceUpdate& update);

// A table name (/etc/iproute2/rt_tables, main/local/default built in) or number.
Result<std::uint32_t> resolve_table(const config::RouteTable& table);

}  // namespace wgcore::routing
