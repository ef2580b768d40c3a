// The routes a routing daemon installs, as a stream of add/delete events, from either of two
// sources: zebra's FPM connection (dplane_fpm_nl: netlink messages framed by an FPM header) or
// an rtnetlink watch of the kernel's tables (for setups without FPM). Both decode the same
// RTM_NEWROUTE/RTM_DELROUTE format and resolve nexthop objects (RTA_NH_ID) the same way.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <vector>

#include "routing/netlink.hpp"
#include "wgcore/ip.hpp"
#include "wgcore/result.hpp"

namespace wgcore::routing::feed {

struct Nexthop {
  std::optional<IpAddr> gateway;  // unset: directly connected on ifindex
  int ifindex = 0;
  std::uint8_t weight = 1;        // rtnh_hops + 1
  friend bool operator==(const Nexthop&, const Nexthop&) = default;
};

struct RouteUpdate {
  enum class Kind : std::uint8_t { kAdd, kDelete };
  Kind kind = Kind::kAdd;       // kAdd replaces any earlier route for the same (table, prefix)
  IpPrefix prefix;
  std::uint32_t table = 254;
  std::uint8_t protocol = 0;    // RTPROT_*: 186 bgp, 188 ospf, 11 zebra, ...
  std::uint32_t metric = 0;
  std::vector<Nexthop> nexthops;  // RTA_GATEWAY/RTA_OIF, RTA_MULTIPATH or the RTA_NH_ID group
  std::string to_string() const;  // "add 10.2.0.0/16 proto 186 via 10.99.0.2 dev 7"
};

// Decodes a byte stream from zebra's FPM client: frames of {u8 version=1, u8 type=1 (netlink),
// u16 length (network order, header included)} each holding one netlink message. Keeps the
// nexthop-object table (RTM_NEWNEXTHOP/RTM_DELNEXTHOP, groups included) to resolve RTA_NH_ID.
// Partial frames are buffered across feed() calls. Malformed input is an error, never a crash.
class FpmDecoder {
 public:
  Status feed(std::span<const std::uint8_t> bytes, std::vector<RouteUpdate>& out);
  void reset();  // a new connection: drop buffered bytes and the nexthop table
};

// A TCP server zebra connects to (`fpm address 127.0.0.1 port 2620`). One connection at a time;
// a new connection replaces the old one. Driven by the caller's poll loop through fd()/poll_once().
class FpmServer {
 public:
  struct Callbacks {
    std::function<void()> connected;      // zebra (re)connected: a full replay follows
    std::function<void()> disconnected;
    std::function<void(std::vector<RouteUpdate>&)> updates;
  };
  static Result<FpmServer> listen(const IpAddr& address, std::uint16_t port, Callbacks callbacks);
  std::vector<int> fds() const;                 // listening socket and the connection, if any
  Status poll_once(int timeout_ms);             // accept/read what is ready, fire callbacks
  bool connected() const;
};

// Watches kernel routes over rtnetlink (RTNLGRP_IPV4_ROUTE, RTNLGRP_IPV6_ROUTE): an initial dump,
// then changes; only routes whose protocol is in `protocols` and with a nexthop on `ifindex`
// are reported (and their deletions).
class RtnetlinkWatch {
 public:
  static Result<RtnetlinkWatch> open(int ifindex, std::set<std::uint8_t> protocols);
  int fd() const;
  Status dump(std::vector<RouteUpdate>& out);   // the current routes, as kAdd updates
  Status read(std::vector<RouteUpdate>& out);   // what changed since; non-blocking
};

}  // namespace wgcore::routing::feed
