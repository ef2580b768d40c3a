// Route programming and listing over rtnetlink (libnl rtnl_route); see route.hpp.
#include "routing/route.hpp"

#include <linux/rtnetlink.h>
#include <netlink/msg.h>
#include <netlink/route/nexthop.h>
#include <netlink/route/route.h>

#include "nl_addr.hpp"
#include "nl_request.hpp"
#include "route_parse.hpp"

namespace wgcore::routing {

std::string Route::to_string() const {
  std::string s;
  if (type == RTN_UNREACHABLE) s = "unreachable ";
  else if (type == RTN_BLACKHOLE) s = "blackhole ";
  else if (type == RTN_PROHIBIT) s = "prohibit ";
  else if (type == RTN_LOCAL) s = "local ";
  s += dst.len == 0 ? std::string("default") : dst.to_string();
  if (gateway) s += " via " + gateway->to_string();
  if (!dev.empty()) s += " dev " + dev;
  if (table != kTableMain) s += " table " + std::to_string(table);
  if (protocol != kProtoBoot) s += " proto " + std::to_string(protocol);
  if (scope && *scope != RT_SCOPE_UNIVERSE) s += " scope " + std::to_string(*scope);
  if (metric) s += " metric " + std::to_string(*metric);
  if (mtu) s += " mtu " + std::to_string(*mtu);
  return s;
}

namespace {

struct RoutePut {
  void operator()(rtnl_route* r) const { rtnl_route_put(r); }
};

Status modify(Netlink& nl, const Route& route, bool add) {
  std::string what = std::string(add ? "adding" : "deleting") + " route " + route.to_string();
  std::unique_ptr<rtnl_route, RoutePut> r(rtnl_route_alloc());
  auto dst = detail::to_nl_addr(route.dst);
  if (!r || !dst) return errno_error(ENOMEM, what);
  rtnl_route_set_family(r.get(), std::uint8_t(detail::af_of(route.dst.addr.family)));
  rtnl_route_set_dst(r.get(), dst.get());
  rtnl_route_set_table(r.get(), route.table);
  rtnl_route_set_type(r.get(), route.type);
  if (add) {
    rtnl_route_set_protocol(r.get(), route.protocol);
    std::uint8_t scope = RT_SCOPE_UNIVERSE;
    if (route.scope) scope = *route.scope;
    else if (route.dst.addr.is_v4() && !route.gateway && route.type == RTN_UNICAST) scope = RT_SCOPE_LINK;
    rtnl_route_set_scope(r.get(), scope);
    if (route.mtu) rtnl_route_set_metric(r.get(), RTAX_MTU, *route.mtu);
  } else {
    // `ip route del` matches any protocol and scope.
    rtnl_route_set_protocol(r.get(), RTPROT_UNSPEC);
    rtnl_route_set_scope(r.get(), route.scope.value_or(RT_SCOPE_NOWHERE));
  }
  if (route.metric) rtnl_route_set_priority(r.get(), *route.metric);
  if (!route.dev.empty() || route.gateway) {
    rtnl_nexthop* nh = rtnl_route_nh_alloc();
    if (nh == nullptr) return errno_error(ENOMEM, what);
    if (!route.dev.empty()) {
      auto idx = detail::ifindex(route.dev);
      if (!idx) {
        rtnl_route_nh_free(nh);
        return errno_error(idx.error().code, what);
      }
      rtnl_route_nh_set_ifindex(nh, *idx);
    }
    if (route.gateway) {
      auto gw = detail::to_nl_addr(*route.gateway, route.gateway->bits());
      rtnl_route_nh_set_gateway(nh, gw.get());
    }
    rtnl_route_add_nexthop(r.get(), nh);  // the route owns nh from here
  }
  nl_msg* msg = nullptr;
  int rc = add ? rtnl_route_build_add_request(r.get(), NLM_F_CREATE | NLM_F_EXCL, &msg)
               : rtnl_route_build_del_request(r.get(), 0, &msg);
  if (rc < 0) return nl_error(rc, what);
  return nl.transact(msg, what);
}

}  // namespace

Status add_route(Netlink& nl, const Route& route) { return modify(nl, route, true); }
Status delete_route(Netlink& nl, const Route& route) { return modify(nl, route, false); }

Result<std::vector<Route>> list_routes(Netlink& nl, IpAddr::Family family, std::uint32_t table) {
  std::string what = "listing IPv" + std::to_string(int(family)) + " routes of table " +
                     std::to_string(table);
  rtmsg req{};
  req.rtm_family = std::uint8_t(detail::af_of(family));
  nl_msg* msg = detail::new_request(RTM_GETROUTE, NLM_F_DUMP, req);
  std::vector<Route> out;
  Status st = nl.transact(msg, what, [&](nlmsghdr* hdr) {
    if (hdr->nlmsg_type != RTM_NEWROUTE) return;
    auto* rtm = static_cast<rtmsg*>(nlmsg_data(hdr));
    if (rtm->rtm_flags & RTM_F_CLONED) return;
    auto r = detail::parse_route(hdr);
    if (r && r->table == table && r->dst.addr.family == family) out.push_back(std::move(*r));
  });
  if (!st) return st.error();
  return out;
}

}  // namespace wgcore::routing
