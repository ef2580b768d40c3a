// Finding what serves a WireGuard interface, the way `wg` does: a UAPI socket under
// /var/run/wireguard (userspace daemons: wgcored, wireguard-go). The kernel-module backend over
// netlink joins this lookup with its own issue.
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
