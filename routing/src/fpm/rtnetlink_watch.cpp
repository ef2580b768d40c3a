// The kernel's routes over rtnetlink, for setups without FPM: one socket joined to the route and
// nexthop groups for changes, one without groups for dumps (so dump answers and change
// notifications never interleave). Changes queued while a dump runs are applied after it; they
// are ordered, so the last word on each route wins and the result converges.
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <cstring>

#include "rtnl_msg.hpp"

namespace wgcore::routing::feed {
namespace {

Error sys_error(const std::string& what) {
  int e = errno;
  return make_error(e, "rtnetlink watch: " + what + ": " + std::strerror(e));
}

Result<detail::Fd> open_socket(bool events) {
  int flags = SOCK_RAW | SOCK_CLOEXEC | (events ? SOCK_NONBLOCK : 0);
  detail::Fd fd(::socket(AF_NETLINK, flags, NETLINK_ROUTE));
  if (!fd) return sys_error("socket(NETLINK_ROUTE)");
  // Route bursts (a BGP session coming up) are large; overflow costs a full resync.
  int size = 4 << 20;
  if (::setsockopt(fd.get(), SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof size) != 0)
    (void)::setsockopt(fd.get(), SOL_SOCKET, SO_RCVBUF, &size, sizeof size);
  sockaddr_nl sa{};
  sa.nl_family = AF_NETLINK;
  if (::bind(fd.get(), reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0)
    return sys_error("bind");
  if (events) {
    for (int group : {RTNLGRP_IPV4_ROUTE, RTNLGRP_IPV6_ROUTE, RTNLGRP_NEXTHOP}) {
      if (::setsockopt(fd.get(), SOL_NETLINK, NETLINK_ADD_MEMBERSHIP, &group, sizeof group) == 0)
        continue;
      // Kernels before 5.3 have no nexthop objects, so no group for them either.
      if (group == RTNLGRP_NEXTHOP) continue;
      return sys_error("join group " + std::to_string(group));
    }
  } else {
    timeval tv{5, 0};  // a dump that stalls must not hang the daemon
    (void)::setsockopt(fd.get(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  }
  return fd;
}

// Calls f(message) for each whole message in a receive buffer; stops at a broken length.
template <class F>
void for_each_message(const std::uint8_t* data, std::size_t size, F&& f) {
  std::size_t off = 0;
  while (size - off >= rtnl::kMsgHeaderLen) {
    auto h = rtnl::read_header({data + off, size - off});
    if (h->len < rtnl::kMsgHeaderLen || h->len > size - off) return;
    if (!f(*h, rtnl::Bytes{data + off, h->len})) return;
    off += std::min<std::size_t>(size - off, NLMSG_ALIGN(h->len));
  }
}

}  // namespace

RtnetlinkWatch::RtnetlinkWatch(detail::Fd events, detail::Fd dumper, int ifindex,
                               std::set<std::uint8_t> protocols)
    : events_(std::move(events)),
      dumper_(std::move(dumper)),
      ifindex_(ifindex),
      protocols_(std::move(protocols)) {}

Result<RtnetlinkWatch> RtnetlinkWatch::open(int ifindex, std::set<std::uint8_t> protocols) {
  auto events = open_socket(true);
  if (!events) return events.error();
  auto dumper = open_socket(false);
  if (!dumper) return dumper.error();
  return RtnetlinkWatch(std::move(*events), std::move(*dumper), ifindex, std::move(protocols));
}

int RtnetlinkWatch::fd() const { return events_.get(); }

bool RtnetlinkWatch::matches(const RouteUpdate& u) const {
  if (!protocols_.empty() && protocols_.count(u.protocol) == 0) return false;
  if (ifindex_ <= 0) return true;
  for (const auto& nh : u.nexthops)
    if (nh.ifindex == ifindex_) return true;
  return false;
}

void RtnetlinkWatch::filter(std::vector<RouteUpdate>& in, std::vector<RouteUpdate>& out) {
  for (auto& u : in) {
    const auto key = u.key();
    auto it = reported_.find(key);
    if (u.kind == RouteUpdate::Kind::kAdd && matches(u)) {
      reported_[key] = u;
      out.push_back(std::move(u));
    } else if (it != reported_.end()) {
      // Deleted, or replaced by a route we do not report: the consumer's copy goes.
      RouteUpdate del = std::move(it->second);
      del.kind = RouteUpdate::Kind::kDelete;
      reported_.erase(it);
      out.push_back(std::move(del));
    }
  }
  in.clear();
}

Status RtnetlinkWatch::dump_family(std::uint16_t type, std::uint8_t family, bool optional,
                                   std::vector<RouteUpdate>& updates) {
  const std::string what = std::string(type == RTM_GETNEXTHOP ? "nexthop" : "route") +
                           " dump (family " + std::to_string(family) + ")";
  struct {
    nlmsghdr h;
    std::uint8_t body[12];  // rtmsg (12) or nhmsg (8): only the family byte is set
  } req{};
  req.h.nlmsg_len = sizeof req;
  req.h.nlmsg_type = type;
  req.h.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
  req.h.nlmsg_seq = ++seq_;
  req.body[0] = family;
  if (type == RTM_GETNEXTHOP) req.h.nlmsg_len = NLMSG_LENGTH(8);
  if (::send(dumper_.get(), &req, req.h.nlmsg_len, 0) < 0) return sys_error("send " + what);
  std::vector<std::uint8_t> buf(1 << 16);
  bool done = false, interrupted = false;
  Status failed;
  while (!done) {
    ssize_t got = ::recv(dumper_.get(), buf.data(), buf.size(), 0);
    if (got < 0) {
      if (errno == EINTR) continue;
      return sys_error("receive " + what);
    }
    for_each_message(buf.data(), static_cast<std::size_t>(got), [&](const rtnl::MsgHeader& h,
                                                                      rtnl::Bytes m) {
      if (h.seq != seq_) return true;
      if (h.flags & NLM_F_DUMP_INTR) interrupted = true;
      if (h.type == NLMSG_DONE) {
        done = true;
        return false;
      }
      if (h.type == NLMSG_ERROR) {
        int err = 0;
        if (m.size() >= rtnl::kMsgHeaderLen + 4) std::memcpy(&err, m.data() + 16, 4);
        done = true;
        // No nexthop objects in this kernel: nothing to resolve through.
        if (err != 0 && !(optional && (-err == EOPNOTSUPP || -err == EINVAL)))
          failed = make_error(-err, "rtnetlink watch: " + what + ": " + std::strerror(-err));
        return false;
      }
      // The kernel's own messages; one we cannot read is skipped rather than stopping the watch.
      (void)state_.apply(m, updates);
      return true;
    });
  }
  if (!failed) return failed;
  if (interrupted) return make_error(EAGAIN, "rtnetlink watch: " + what + " interrupted");
  return {};
}

Status RtnetlinkWatch::dump(std::vector<RouteUpdate>& out) {
  std::vector<RouteUpdate> updates;
  Status st;
  for (int attempt = 0; attempt < 4; ++attempt) {
    state_.clear();
    updates.clear();
    st = dump_family(RTM_GETNEXTHOP, AF_UNSPEC, true, updates);
    if (st) st = dump_family(RTM_GETROUTE, AF_INET, false, updates);
    if (st) st = dump_family(RTM_GETROUTE, AF_INET6, false, updates);
    if (st || st.error().code != EAGAIN) break;  // retry only a dump the kernel interrupted
  }
  if (!st) return st;
  // The dump's final word on each route, then the difference to what was reported before.
  std::map<detail::RouteState::Key, RouteUpdate> now;
  for (auto& u : updates) {
    if (u.kind == RouteUpdate::Kind::kAdd && matches(u))
      now[u.key()] = std::move(u);
    else
      now.erase(u.key());
  }
  for (auto& [key, old] : reported_) {
    if (now.count(key)) continue;
    RouteUpdate del = std::move(old);
    del.kind = RouteUpdate::Kind::kDelete;
    out.push_back(std::move(del));
  }
  for (const auto& [key, u] : now) out.push_back(u);
  reported_ = std::move(now);
  return {};
}

Status RtnetlinkWatch::read(std::vector<RouteUpdate>& out) {
  std::vector<std::uint8_t> buf(1 << 16);
  std::vector<RouteUpdate> updates;
  bool overflow = false;
  while (true) {
    ssize_t got = ::recv(events_.get(), buf.data(), buf.size(), MSG_DONTWAIT);
    if (got < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) break;
      if (errno == ENOBUFS) {  // changes were lost: resync from a dump once drained
        overflow = true;
        continue;
      }
      return sys_error("receive");
    }
    for_each_message(buf.data(), static_cast<std::size_t>(got), [&](const rtnl::MsgHeader& h,
                                                                      rtnl::Bytes m) {
      if (h.type >= NLMSG_MIN_TYPE) (void)state_.apply(m, updates);
      return true;
    });
    filter(updates, out);
  }
  if (overflow) return dump(out);
  return {};
}

}  // namespace wgcore::routing::feed
