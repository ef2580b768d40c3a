// Links: read one (index, MTU, up, kind), bring it up or down, set its MTU, delete it. Creating
// links is the backend's business (TUN by wgcored, kind wireguard by the netlink backend).
#pragma once

#include <string>

#include "routing/netlink.hpp"

namespace wgcore::routing {

struct LinkInfo {
  std::string name;
  int index = 0;
  unsigned mtu = 0;
  bool up = false;       // IFF_UP (administrative state)
  std::string kind;      // IFLA_INFO_KIND ("wireguard", "veth", "tun"); empty when none
};

Result<LinkInfo> get_link(Netlink& nl, const std::string& dev);
Status set_link_up(Netlink& nl, const std::string& dev, bool up);
Status set_link_mtu(Netlink& nl, const std::string& dev, unsigned mtu);
Status delete_link(Netlink& nl, const std::string& dev);

}  // namespace wgcore::routing
