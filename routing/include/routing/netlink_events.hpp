// A wake-up for daemons that keep kernel state in place: a netlink socket subscribed to route and
// link changes, whose fd a poll loop watches. It says only that something changed (a route was
// deleted, a link changed); the daemon then compares what it wants with what the kernel has.
#pragma once

#include "wgcore/result.hpp"

namespace wgcore::routing {

class NetlinkEvents {
 public:
  static Result<NetlinkEvents> open();
  NetlinkEvents(NetlinkEvents&& o) noexcept : fd_(o.fd_) { o.fd_ = -1; }
  NetlinkEvents& operator=(NetlinkEvents&& o) noexcept;
  NetlinkEvents(const NetlinkEvents&) = delete;
  NetlinkEvents& operator=(const NetlinkEvents&) = delete;
  ~NetlinkEvents();

  int fd() const { return fd_; }
  // Reads every pending message; true when one was a route deletion or a link change (the
  // events after which something of ours may be gone). Overflow counts as a change.
  bool drain();

 private:
  explicit NetlinkEvents(int fd) : fd_(fd) {}
  int fd_ = -1;
};

}  // namespace wgcore::routing
