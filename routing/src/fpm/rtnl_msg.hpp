// Raw rtnetlink decoding of one RTM_NEWROUTE/RTM_DELROUTE or RTM_NEWNEXTHOP/RTM_DELNEXTHOP
// message into plain structs, with every length checked. Depends only on kernel headers and
// libwgcore (no libnl), so the fuzz build can link it. Private to routing/src/fpm.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "routing/route_feed.hpp"

namespace wgcore::routing::feed::rtnl {

using Bytes = std::span<const std::uint8_t>;
using RouteState = detail::RouteState;

struct MsgHeader {
  std::uint32_t len = 0;
  std::uint16_t type = 0;
  std::uint16_t flags = 0;
  std::uint32_t seq = 0;
  std::uint32_t pid = 0;
};
inline constexpr std::size_t kMsgHeaderLen = 16;

// The nlmsghdr at the start of `message`; nullopt when shorter than 16 bytes.
std::optional<MsgHeader> read_header(Bytes message);

struct ParsedRoute {
  RouteUpdate update;            // kind from the message type; nexthops from the message itself
  std::uint32_t nh_id = 0;       // RTA_NH_ID
  bool has_metric = false;       // RTA_PRIORITY was present
  bool cloned = false;           // RTM_F_CLONED: a cache entry, not a route
};

struct ParsedNexthop {
  bool is_delete = false;
  std::uint32_t id = 0;
  RouteState::Object object;
};

// nullopt: a family this feed does not carry (MPLS, bridge, ...); an Error (EBADMSG) says
// which length or attribute was wrong. `message` is exactly one netlink message.
Result<std::optional<ParsedRoute>> parse_route(Bytes message);
Result<std::optional<ParsedNexthop>> parse_nexthop(Bytes message);

}  // namespace wgcore::routing::feed::rtnl
