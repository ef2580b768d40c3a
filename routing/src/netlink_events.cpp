// See netlink_events.hpp.
#include "routing/netlink_events.hpp"

#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace wgcore::routing {

Result<NetlinkEvents> NetlinkEvents::open() {
  int fd = ::socket(AF_NETLINK, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, NETLINK_ROUTE);
  if (fd < 0) return make_error(errno, std::string("netlink socket: ") + strerror(errno));
  sockaddr_nl sa{};
  sa.nl_family = AF_NETLINK;
  sa.nl_groups = RTMGRP_LINK | RTMGRP_IPV4_ROUTE | RTMGRP_IPV6_ROUTE;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0) {
    int e = errno;
    ::close(fd);
    return make_error(e, std::string("netlink bind: ") + strerror(e));
  }
  return NetlinkEvents(fd);
}

NetlinkEvents& NetlinkEvents::operator=(NetlinkEvents&& o) noexcept {
  if (this != &o) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = o.fd_;
    o.fd_ = -1;
  }
  return *this;
}

NetlinkEvents::~NetlinkEvents() {
  if (fd_ >= 0) ::close(fd_);
}

bool NetlinkEvents::drain() {
  bool changed = false;
  alignas(nlmsghdr) char buf[16384];
  for (;;) {
    ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == ENOBUFS) {  // events were lost: assume the worst
        changed = true;
        continue;
      }
      return changed;  // EAGAIN: drained
    }
    if (n == 0) return changed;
    for (auto* h = reinterpret_cast<nlmsghdr*>(buf); NLMSG_OK(h, std::size_t(n)); h = NLMSG_NEXT(h, n))
      if (h->nlmsg_type == RTM_DELROUTE || h->nlmsg_type == RTM_NEWLINK || h->nlmsg_type == RTM_DELLINK)
        changed = true;
  }
}

}  // namespace wgcore::routing
