// Interface addresses: add and delete one (`ip address add 203.0.113.1/24 dev wg0`), and list
// those of a device in the kernel's order (for SaveConfig and for tests).
#pragma once

#include <string>
#include <vector>

#include "routing/netlink.hpp"
#include "wgcore/ip.hpp"

namespace wgcore::routing {

// The address is kept as written (host bits are the address; len is the on-link prefix).
Status add_address(Netlink& nl, const std::string& dev, const IpPrefix& address);
Status delete_address(Netlink& nl, const std::string& dev, const IpPrefix& address);
// Both families, IPv4 first (as the kernel dumps them), link-local IPv6 included.
Result<std::vector<IpPrefix>> list_addresses(Netlink& nl, const std::string& dev);

}  // namespace wgcore::routing
