// RouteUpdate in log form: "add 10.2.0.0/16 proto 186 via 10.99.0.2 dev 7".
#include <linux/rtnetlink.h>

#include "routing/route_feed.hpp"

namespace wgcore::routing::feed {

std::string RouteUpdate::to_string() const {
  std::string s = kind == Kind::kAdd ? "add " : "delete ";
  switch (type) {
    case RTN_UNICAST: break;
    case RTN_BLACKHOLE: s += "blackhole "; break;
    case RTN_UNREACHABLE: s += "unreachable "; break;
    case RTN_PROHIBIT: s += "prohibit "; break;
    default: s += "type " + std::to_string(type) + " "; break;
  }
  s += prefix.to_string();
  if (table != RT_TABLE_MAIN) s += " table " + std::to_string(table);
  s += " proto " + std::to_string(protocol);
  if (metric != 0) s += " metric " + std::to_string(metric);
  for (const auto& nh : nexthops) {
    if (nh.gateway) s += " via " + nh.gateway->to_string();
    s += " dev " + std::to_string(nh.ifindex);
    if (nh.weight != 1) s += " weight " + std::to_string(nh.weight);
  }
  return s;
}

}  // namespace wgcore::routing::feed
