// `wgcore-networkd convert`: a wg-quick(8) configuration as a .netdev + .network pair that
// wgcore-networkd and systemd-networkd turn into the same tunnel wg-quick would build.
// Pure text generation; notes list what has no networkd equivalent (hooks, SaveConfig).
#pragma once

#include <string>
#include <vector>

#include "wgcore/wgquick.hpp"

namespace wgcore::networkd {

struct Converted {
  std::string netdev;              // NAME.netdev text (contains the private key: write 0640)
  std::string network;             // NAME.network text
  std::vector<std::string> notes;  // warnings for the user, one line each
};

// `iface` is the interface name (wg-quick's: from the file name).
Converted convert_wgquick(const config::WgQuickConfig& c, const std::string& iface);

}  // namespace wgcore::networkd
