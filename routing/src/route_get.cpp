// `ip route get DST`: one RTM_GETROUTE request, answered with the route the kernel would use.
#include <linux/rtnetlink.h>
#include <netlink/attr.h>
#include <netlink/msg.h>

#include "nl_addr.hpp"
#include "nl_request.hpp"
#include "route_parse.hpp"
#include "routing/route.hpp"

namespace wgcore::routing {

Result<Route> route_get(Netlink& nl, const IpAddr& dst) {
  std::string what = "looking up the route to " + dst.to_string();
  rtmsg req{};
  req.rtm_family = std::uint8_t(detail::af_of(dst.family));
  req.rtm_dst_len = std::uint8_t(dst.bits());
  nl_msg* msg = detail::new_request(RTM_GETROUTE, 0, req);
  if (msg != nullptr && nla_put(msg, RTA_DST, int(dst.byte_len()), dst.bytes.data()) < 0) {
    nlmsg_free(msg);
    msg = nullptr;
  }
  std::optional<Route> found;
  Status st = nl.transact(msg, what, [&](nlmsghdr* hdr) {
    if (hdr->nlmsg_type == RTM_NEWROUTE && !found) found = detail::parse_route(hdr);
  });
  if (!st) return st.error();
  if (!found) return errno_error(ENETUNREACH, what);
  return std::move(*found);
}

}  // namespace wgcore::routing
