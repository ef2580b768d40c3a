// The kernel-module backend: WireGuard interfaces served by the in-kernel module, driven over
// generic netlink (the "wireguard" family) and rtnetlink (link creation), with libnl-3.
// This header is the contract between the netlink code and its users (backend policy, CLI).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "wgcore/control.hpp"

namespace wgcore::netlink {

// Ok when the kernel has the wireguard generic netlink family (module loaded or loadable: the
// check creates nothing). Otherwise an error saying why (no module, no permission).
Status kernel_module_available();

// True when `ifname` exists and is a kernel WireGuard link.
bool is_kernel_wireguard(const std::string& ifname);

// Names of every link of kind "wireguard" in this network namespace, sorted.
std::vector<std::string> list_kernel_interfaces();

// rtnetlink: create a link of kind "wireguard" named ifname / delete it. kAny deletes whatever
// link has the name (the TUN of a userspace device: the caller checked what it is).
enum class LinkKind { kWireGuard, kAny };
Status create_link(const std::string& ifname);
Status delete_link(const std::string& ifname, LinkKind kind = LinkKind::kWireGuard);

// The Control for an existing kernel WireGuard interface (get/apply over WG_CMD_GET_DEVICE /
// WG_CMD_SET_DEVICE, multi-message dumps and split sets; backend() == "kernel").
Result<std::unique_ptr<Control>> open_kernel(const std::string& ifname);

}  // namespace wgcore::netlink
