// The TCP end zebra's FPM client connects to: one connection at a time, non-blocking, driven
// by the caller's poll loop. zebra replays its whole FIB on every connect, so a replaced or
// dropped connection loses nothing: the decoder starts from scratch with it.
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstring>

#include "routing/route_feed.hpp"

namespace wgcore::routing::feed {
namespace {

Error sys_error(const std::string& what) {
  int e = errno;
  return make_error(e, "fpm: " + what + ": " + std::strerror(e));
}

// Reads at most this much per poll_once(), so one busy connection cannot starve the caller's
// other work; the rest stays readable for the next call.
constexpr std::size_t kReadBudget = 1 << 20;

}  // namespace

FpmServer::FpmServer(detail::Fd listener, std::uint16_t port, Callbacks callbacks)
    : listener_(std::move(listener)), port_(port), callbacks_(std::move(callbacks)) {}

Result<FpmServer> FpmServer::listen(const IpAddr& address, std::uint16_t port,
                                    Callbacks callbacks) {
  const std::string where = address.to_string() + " port " + std::to_string(port);
  Endpoint ep = Endpoint::make(address, port);
  detail::Fd fd(::socket(ep.family(), SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (!fd) return sys_error("socket for " + where);
  int one = 1;
  if (::setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0)
    return sys_error("SO_REUSEADDR on " + where);
  if (::bind(fd.get(), &ep.addr.sa, ep.socklen()) != 0) return sys_error("bind " + where);
  if (::listen(fd.get(), 4) != 0) return sys_error("listen on " + where);
  sockaddr_storage bound{};
  socklen_t len = sizeof bound;
  if (::getsockname(fd.get(), reinterpret_cast<sockaddr*>(&bound), &len) != 0)
    return sys_error("getsockname on " + where);
  std::uint16_t actual = Endpoint::from_sockaddr(reinterpret_cast<sockaddr*>(&bound), len).port();
  return FpmServer(std::move(fd), actual, std::move(callbacks));
}

std::vector<int> FpmServer::fds() const {
  std::vector<int> out{listener_.get()};
  if (conn_) out.push_back(conn_.get());
  return out;
}

bool FpmServer::connected() const { return static_cast<bool>(conn_); }

Status FpmServer::poll_once(int timeout_ms) {
  pollfd p[2] = {{listener_.get(), POLLIN, 0}, {conn_.get(), POLLIN, 0}};
  const nfds_t n = conn_ ? 2 : 1;
  int r = ::poll(p, n, timeout_ms);
  if (r < 0) return errno == EINTR ? Status{} : Status{sys_error("poll")};
  Status result;
  // The old connection's last bytes first, then a new connection replaces it.
  if (n == 2 && p[1].revents != 0) {
    std::vector<RouteUpdate> updates;
    bool closed = false;
    result = read_connection(updates, closed);
    // What arrived before a close or a broken frame still counts; then the disconnect.
    if (!updates.empty() && callbacks_.updates) callbacks_.updates(updates);
    if (closed) drop_connection();
  }
  if (p[0].revents & POLLIN) {
    Status st = accept_new();
    if (!st && result) result = st;
  }
  return result;
}

Status FpmServer::accept_new() {
  sockaddr_storage peer{};
  socklen_t len = sizeof peer;
  int c = ::accept4(listener_.get(), reinterpret_cast<sockaddr*>(&peer), &len,
                    SOCK_NONBLOCK | SOCK_CLOEXEC);
  if (c < 0) {
    if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR || errno == ECONNABORTED)
      return {};
    return sys_error("accept");
  }
  drop_connection();
  conn_.reset(c);
  decoder_.reset();
  if (callbacks_.connected) callbacks_.connected();
  return {};
}

Status FpmServer::read_connection(std::vector<RouteUpdate>& out, bool& closed) {
  std::uint8_t buf[65536];
  std::size_t total = 0;
  Status skipped;
  while (total < kReadBudget) {
    ssize_t got = ::read(conn_.get(), buf, sizeof buf);
    if (got < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) break;
      closed = true;
      return sys_error("read from zebra (connection dropped)");
    }
    if (got == 0) {  // zebra closed: it reconnects and replays
      closed = true;
      break;
    }
    total += static_cast<std::size_t>(got);
    Status st = decoder_.feed({buf, static_cast<std::size_t>(got)}, out);
    if (!st) {
      if (st.error().code == EPROTO) {
        closed = true;
        return make_error(EPROTO, st.error().message + " (connection dropped)");
      }
      if (skipped.ok()) skipped = st;
    }
  }
  return skipped;
}

void FpmServer::drop_connection() {
  if (!conn_) return;
  conn_.reset();
  decoder_.reset();
  if (callbacks_.disconnected) callbacks_.disconnected();
}

}  // namespace wgcore::routing::feed
