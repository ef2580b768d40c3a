// The three dictionaries a VPN service hands NetworkManager once its tunnel is up (generic
// config, IPv4 config, IPv6 config), built from the tunnel's plan. NM then adds the addresses,
// the routes and the DNS; it never gets a default route (see full_tunnel.hpp for why).
#pragma once

#include <glib.h>

#include <optional>
#include <string>

#include "ip_plan.hpp"
#include "wgcore/ip.hpp"

namespace wgcore::nm {

struct NmConfigInput {
  std::string tundev;
  unsigned mtu = 0;
  std::optional<IpAddr> gateway;  // the first peer endpoint
  IpPlan plan;
};

// Floating references, as nm_vpn_service_plugin_set_*config take them.
GVariant* build_generic_config(const NmConfigInput& in);
GVariant* build_ip4_config(const NmConfigInput& in);  // nullptr when there is no IPv4 address
GVariant* build_ip6_config(const NmConfigInput& in);  // nullptr when there is no IPv6 address

}  // namespace wgcore::nm
