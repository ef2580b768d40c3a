// `wgcore-networkd status`: for each WireGuard netdev of the search path, which backend serves
// it, what systemd-networkd says about the link (over sd-bus), and its peers' handshakes.
#pragma once

#include "netdev_files.hpp"

namespace wgcore::networkd {

int cmd_status(const SearchPath& sp, bool json, bool use_bus);

}  // namespace wgcore::networkd
