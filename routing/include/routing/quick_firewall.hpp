// wg-quick's firewall for a full tunnel (its add_default and remove_firewall), in nftables through
// libnftables: per family a table `ip|ip6 wg-quick-IFACE` whose raw-priority rule drops packets
// addressed to the interface's addresses that arrive on any other interface (unless they come
// from a local address: nobody outside may reach the tunnel address from the LAN side), and the
// conntrack rules that copy the device's fwmark to its UDP flows and back, so replies to the
// encrypted packets pass reverse-path filtering. The same tables wg-quick makes with `nft -f`,
// so either tool's `down` removes the other's.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "wgcore/ip.hpp"
#include "wgcore/result.hpp"

namespace wgcore::routing {

// The nft commands, exactly as wg-quick writes them (one per line, each ending in '\n').
std::string quick_firewall_commands(const std::string& iface, IpAddr::Family family, std::uint32_t fwmark,
                                    const std::vector<IpAddr>& addresses);

// Runs the commands of quick_firewall_commands in one libnftables transaction; `log` gets each
// command as "nft ...".
Status add_quick_firewall(const std::string& iface, IpAddr::Family family, std::uint32_t fwmark,
                          const std::vector<IpAddr>& addresses,
                          const std::function<void(const std::string&)>& log = {});

// Deletes every table named wg-quick-IFACE (both families); none is no error.
Status remove_quick_firewall(const std::string& iface, const std::function<void(const std::string&)>& log = {});

}  // namespace wgcore::routing
