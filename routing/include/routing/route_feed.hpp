// The routes a routing daemon installs, as a stream of add/delete events, from either of two
// sources: zebra's FPM connection (dplane_fpm_nl: netlink messages framed by an FPM header) or
// an rtnetlink watch of the kernel's tables (for setups without FPM). Both decode the same
// RTM_NEWROUTE/RTM_DELROUTE format and resolve nexthop objects (RTA_NH_ID) the same way.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <tuple>
#include <vector>

#include "routing/netlink.hpp"
#include "wgcore/ip.hpp"
#include "wgcore/result.hpp"

namespace wgcore::routing::feed {

struct Nexthop {
  std::optional<IpAddr> gateway;  // unset: directly connected on ifindex
  int ifindex = 0;
  std::uint8_t weight = 1;        // rtnh_hops + 1 (nexthop_grp weight + 1), capped at 255
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

  // Added after the first version of this header:
  std::uint8_t type = 1;          // RTN_*: 1 unicast, 6 blackhole, 7 unreachable, 8 prohibit
  // How the routes were identified: (table, prefix, metric). Equal for an add and its delete.
  auto key() const { return std::tuple(table, prefix, metric); }
  friend bool operator==(const RouteUpdate&, const RouteUpdate&) = default;
};

namespace detail {

// The state both sources share (route_state.cpp): the kernel's nexthop objects and the routes
// seen so far, so that
//  - RTA_NH_ID resolves through RTM_NEWNEXTHOP objects and groups; a route whose object is not
//    (yet) known is reported with the nexthops the message itself carries (none from zebra, the
//    compat RTA_GATEWAY/RTA_MULTIPATH from the kernel), and reported again once the object
//    arrives or changes;
//  - a delete carries what the route had (zebra's RTM_DELROUTE has no nexthops);
//  - an add identical to the route as last reported is not reported again;
//  - deleting a nexthop object deletes the routes on it and shrinks the groups holding it, as
//    the kernel does (which does not announce those route removals itself).
// Messages of other types and families (MPLS, neighbours) are ignored; cloned routes too.
class RouteState {
 public:
  // One netlink message, header included. EBADMSG names what was malformed; nothing changed then.
  Status apply(std::span<const std::uint8_t> message, std::vector<RouteUpdate>& out);
  void clear();
  std::size_t route_count() const { return routes_.size(); }
  std::size_t nexthop_count() const { return objects_.size(); }

  struct Member {
    std::uint32_t id = 0;
    std::uint8_t weight = 1;
  };
  struct Object {                    // one RTM_NEWNEXTHOP
    std::optional<Nexthop> single;   // gateway/oif; unset for a group or a blackhole
    std::vector<Member> group;
    bool blackhole = false;
  };
  struct Tracked {
    RouteUpdate route;               // as last reported (kind kAdd)
    std::uint32_t nh_id = 0;         // RTA_NH_ID, 0 for none
    std::vector<Nexthop> inline_nexthops;  // what the message carried besides RTA_NH_ID
  };
  using Key = std::tuple<std::uint32_t, IpPrefix, std::uint32_t>;

 private:
  std::vector<Nexthop> resolve(const Tracked& t) const;
  void reresolve(const std::set<std::uint32_t>& ids, std::vector<RouteUpdate>& out);
  void forget_object(std::uint32_t id, std::vector<RouteUpdate>& out);
  void untrack(const Key& key);

  std::map<std::uint32_t, Object> objects_;
  std::map<Key, Tracked> routes_;
  std::map<std::uint32_t, std::set<Key>> users_;  // nexthop id -> routes with that RTA_NH_ID
};

// A file descriptor that closes itself; movable, not copyable.
class Fd {
 public:
  Fd() = default;
  explicit Fd(int fd) : fd_(fd) {}
  Fd(Fd&& o) noexcept : fd_(o.release()) {}
  Fd& operator=(Fd&& o) noexcept;
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  ~Fd() { reset(); }
  int get() const { return fd_; }
  int release() { int f = fd_; fd_ = -1; return f; }
  void reset(int fd = -1);
  explicit operator bool() const { return fd_ >= 0; }

 private:
  int fd_ = -1;
};

}  // namespace detail

// Decodes a byte stream from zebra's FPM client: frames of {u8 version=1, u8 type=1 (netlink),
// u16 length (network order, header included)} each holding one netlink message. Keeps the
// nexthop-object table (RTM_NEWNEXTHOP/RTM_DELNEXTHOP, groups included) to resolve RTA_NH_ID.
// Partial frames are buffered across feed() calls. Malformed input is an error, never a crash:
//  - EPROTO: the framing is broken (version != 1, protobuf type 2, length < 4, a netlink
//    message that does not fill its frame). The stream cannot be resynchronised: every later
//    feed() fails the same way until reset(). Drop the connection; zebra reconnects and replays.
//  - EBADMSG: one frame's netlink message was malformed; it was skipped, the other frames of
//    this feed() were decoded into `out` as usual.
class FpmDecoder {
 public:
  Status feed(std::span<const std::uint8_t> bytes, std::vector<RouteUpdate>& out);
  void reset();  // a new connection: drop buffered bytes and the nexthop table

  // Added: introspection for logs and tests.
  std::size_t buffered() const { return buffer_.size(); }
  const detail::RouteState& state() const { return state_; }
  static constexpr std::size_t kMaxFrame = 65535;  // the u16 length field

 private:
  std::vector<std::uint8_t> buffer_;  // an incomplete frame, at most kMaxFrame bytes
  detail::RouteState state_;
  std::optional<Error> broken_;       // the EPROTO that stopped the stream
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
  // Accepts/reads what is ready and fires callbacks (updates at most once per call). An error
  // is for the log, the server keeps listening: a broken stream (EPROTO) or a read error
  // drops the connection first (disconnected fires); a malformed message (EBADMSG) is skipped.
  Status poll_once(int timeout_ms);
  bool connected() const;

  // Added: the bound port (useful after listen(..., 0, ...)).
  std::uint16_t port() const { return port_; }

 private:
  FpmServer(detail::Fd listener, std::uint16_t port, Callbacks callbacks);
  Status accept_new();
  Status read_connection(std::vector<RouteUpdate>& out, bool& closed);
  void drop_connection();

  detail::Fd listener_;
  detail::Fd conn_;
  std::uint16_t port_ = 0;
  Callbacks callbacks_;
  FpmDecoder decoder_;
};

// Watches kernel routes over rtnetlink (RTNLGRP_IPV4_ROUTE, RTNLGRP_IPV6_ROUTE): an initial dump,
// then changes; only routes whose protocol is in `protocols` and with a nexthop on `ifindex`
// are reported (and their deletions). An empty protocol set means any protocol, ifindex <= 0
// any interface. A route that stops matching (replaced onto another interface) is reported as
// deleted. Nexthop objects (RTNLGRP_NEXTHOP) resolve RTA_NH_ID like the FPM decoder does.
// Routes are reported whole: all nexthops, not only those on ifindex.
class RtnetlinkWatch {
 public:
  static Result<RtnetlinkWatch> open(int ifindex, std::set<std::uint8_t> protocols);
  int fd() const;
  // The current routes, as kAdd updates; called again (a resync), also kDelete for reported
  // routes that are gone.
  Status dump(std::vector<RouteUpdate>& out);
  // What changed since; non-blocking. A receive-buffer overflow (ENOBUFS) resyncs by dump().
  Status read(std::vector<RouteUpdate>& out);

 private:
  RtnetlinkWatch(detail::Fd events, detail::Fd dumper, int ifindex,
                 std::set<std::uint8_t> protocols);
  bool matches(const RouteUpdate& u) const;
  void filter(std::vector<RouteUpdate>& in, std::vector<RouteUpdate>& out);
  Status dump_family(std::uint16_t type, std::uint8_t family, bool optional,
                     std::vector<RouteUpdate>& updates);

  detail::Fd events_;   // joined to the route and nexthop groups, non-blocking
  detail::Fd dumper_;   // no groups: dump answers only
  int ifindex_ = 0;
  std::set<std::uint8_t> protocols_;
  detail::RouteState state_;
  std::map<detail::RouteState::Key, RouteUpdate> reported_;
  std::uint32_t seq_ = 0;
};

}  // namespace wgcore::routing::feed
