// Finding what serves a WireGuard interface, the way `wg` does: first a kernel WireGuard link
// (generic netlink), then a UAPI socket under /var/run/wireguard (userspace daemons: wgcored,
// wireguard-go).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "wgcore/control.hpp"

namespace wgcore {

// The Control for `iface`, or an error naming what was tried.
Result<std::unique_ptr<Control>> open_interface(const std::string& iface);
// Every interface some backend serves, sorted.
std::vector<std::string> list_interfaces();

}  // namespace wgcore
