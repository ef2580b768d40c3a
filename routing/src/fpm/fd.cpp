// detail::Fd: the sockets of the FPM server and the rtnetlink watch close themselves.
#include <unistd.h>

#include "routing/route_feed.hpp"

namespace wgcore::routing::feed::detail {

Fd& Fd::operator=(Fd&& o) noexcept {
  if (this != &o) reset(o.release());
  return *this;
}

void Fd::reset(int fd) {
  if (fd_ >= 0) ::close(fd_);
  fd_ = fd;
}

}  // namespace wgcore::routing::feed::detail
