// RTM_NEWROUTE parsing through libnl's rtnl_route_parse; see route_parse.hpp.
#include "route_parse.hpp"

#include <linux/rtnetlink.h>
#include <netlink/msg.h>
#include <netlink/route/nexthop.h>
#include <netlink/route/route.h>

#include "nl_addr.hpp"

namespace wgcore::routing::detail {

std::optional<Route> parse_route(nlmsghdr* hdr) {
  rtnl_route* raw = nullptr;
  if (rtnl_route_parse(hdr, &raw) < 0 || raw == nullptr) return std::nullopt;
  std::unique_ptr<rtnl_route, void (*)(rtnl_route*)> r(raw, rtnl_route_put);
  Route out;
  int family = rtnl_route_get_family(r.get());
  if (family != AF_INET && family != AF_INET6) return std::nullopt;
  auto dst = from_nl_addr(rtnl_route_get_dst(r.get()));
  if (dst) {
    out.dst = *dst;
  } else {
    out.dst.addr = family == AF_INET ? IpAddr::v4(0) : IpAddr{IpAddr::Family::V6, {}};
    out.dst.len = 0;
  }
  out.table = rtnl_route_get_table(r.get());
  out.protocol = rtnl_route_get_protocol(r.get());
  out.scope = rtnl_route_get_scope(r.get());
  out.type = rtnl_route_get_type(r.get());
  std::uint32_t prio = rtnl_route_get_priority(r.get());
  if (prio != 0 || family == AF_INET6) out.metric = prio;
  std::uint32_t mtu = 0;
  if (rtnl_route_get_metric(r.get(), RTAX_MTU, &mtu) == 0 && mtu != 0) out.mtu = mtu;
  if (rtnl_route_get_nnexthops(r.get()) > 0) {
    rtnl_nexthop* nh = rtnl_route_nexthop_n(r.get(), 0);
    out.dev = ifname(rtnl_route_nh_get_ifindex(nh));
    if (auto gw = from_nl_addr(rtnl_route_nh_get_gateway(nh))) out.gateway = gw->addr;
  }
  return out;
}

}  // namespace wgcore::routing::detail
