// wgcore::UdpTunnel: a Tunnel whose datagrams go through a UDP socket of the library's own, run
// by the application (run_once) or by a thread of the library's. One mutex serializes every
// call with the loop; the socket is non-blocking, so a loop turn never waits while holding it.
#include "wgcore/udp_tunnel.hpp"

#include <netinet/in.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "core/environment.hpp"

namespace wgcore {

namespace {

// IPv4 peers on a dual-stack socket appear as ::ffff:a.b.c.d: the tunnel sees plain IPv4, so a
// configured 192.0.2.1:51820 matches, and sends go back mapped.
Endpoint unmapped(const Endpoint& e) {
  if (e.family() != AF_INET6 || !IN6_IS_ADDR_V4MAPPED(&e.addr.in6.sin6_addr)) return e;
  return Endpoint::make(IpAddr::v4_bytes(&e.addr.in6.sin6_addr.s6_addr[12]), e.port());
}

Endpoint mapped(const Endpoint& e) {
  if (e.family() != AF_INET) return e;
  sockaddr_in6 s6{};
  s6.sin6_family = AF_INET6;
  s6.sin6_port = e.addr.in4.sin_port;
  s6.sin6_addr.s6_addr[10] = 0xff;
  s6.sin6_addr.s6_addr[11] = 0xff;
  std::memcpy(&s6.sin6_addr.s6_addr[12], &e.addr.in4.sin_addr, 4);
  return Endpoint::from_sockaddr(reinterpret_cast<const sockaddr*>(&s6), sizeof s6);
}

class UdpTunnelImpl final : public UdpTunnel, private TunnelHandler {
 public:
  UdpTunnelImpl(TunnelHandler& app, int fd, int wake, bool dual) : app_(app), fd_(fd), wake_(wake), dual_(dual) {}
  ~UdpTunnelImpl() override {
    stop();
    tunnel_.reset();
    ::close(fd_);
    ::close(wake_);
  }

  Status init(const Key& private_key, const TunnelOptions& options) {
    auto t = Tunnel::create(private_key, *this, options);
    if (!t) return t.error();
    tunnel_ = std::move(*t);
    sockaddr_storage ss{};
    socklen_t len = sizeof ss;
    if (getsockname(fd_, reinterpret_cast<sockaddr*>(&ss), &len) != 0) return make_error(errno, strerror(errno));
    port_ = Endpoint::from_sockaddr(reinterpret_cast<sockaddr*>(&ss), len).port();
    return {};
  }

  std::uint16_t listen_port() const override { return port_; }
  Status apply(const DeviceUpdate& update) override {
    std::lock_guard lock(mu_);
    return tunnel_->apply(update);
  }
  DeviceState state() const override {
    std::lock_guard lock(mu_);
    DeviceState s = tunnel_->state();
    s.listen_port = port_;
    return s;
  }
  Key public_key() const override {
    std::lock_guard lock(mu_);
    return tunnel_->public_key();
  }
  void send(std::span<const std::uint8_t> packet) override {
    std::lock_guard lock(mu_);
    tunnel_->send(packet);
  }
  int fd() const override { return fd_; }

  std::chrono::milliseconds next_timeout() const override {
    std::lock_guard lock(mu_);
    auto d = tunnel_->next_deadline();
    if (!d) return std::chrono::hours(1);
    auto left = *d - system_clock().now();
    if (left <= left.zero()) return std::chrono::milliseconds(0);
    return std::chrono::duration_cast<std::chrono::milliseconds>(left) + std::chrono::milliseconds(1);
  }

  void run_once(std::chrono::milliseconds max_wait) override {
    const auto wait = std::min(max_wait, next_timeout());
    pollfd p[2] = {{fd_, POLLIN, 0}, {wake_, POLLIN, 0}};
    if (::poll(p, 2, int(wait.count())) > 0 && (p[1].revents & POLLIN)) {
      std::uint64_t v;
      (void)!::read(wake_, &v, sizeof v);
    }
    std::lock_guard lock(mu_);
    // Everything that waits, in bounded turns, so one busy peer cannot hold the mutex for long.
    for (int i = 0; i < 256; ++i) {
      sockaddr_storage from{};
      socklen_t len = sizeof from;
      ssize_t n = ::recvfrom(fd_, buf_.data(), buf_.size(), MSG_DONTWAIT, reinterpret_cast<sockaddr*>(&from), &len);
      if (n < 0) break;
      tunnel_->receive(std::span<std::uint8_t>(buf_.data(), std::size_t(n)),
                       unmapped(Endpoint::from_sockaddr(reinterpret_cast<sockaddr*>(&from), len)));
    }
    tunnel_->process();
  }

  Status start() override {
    std::lock_guard lock(thread_mu_);
    if (thread_.joinable()) return make_error(EBUSY, "the tunnel's thread runs already");
    stopping_ = false;
    thread_ = std::thread([this] {
      loop_id_ = std::this_thread::get_id();
      // A handler that throws (or an allocation that fails) must not end the process: the
      // datagram at hand is lost, the loop goes on.
      while (!stopping_) {
        try {
          run_once(std::chrono::milliseconds(1000));
        } catch (...) {
        }
      }
    });
    return {};
  }
  void stop() override {
    // From a callback on the loop thread itself: the loop ends after this turn (a thread cannot
    // join itself); the next stop() or the destructor, from another thread, joins it.
    if (std::this_thread::get_id() == loop_id_) {
      stopping_ = true;
      return;
    }
    std::lock_guard lock(thread_mu_);
    if (!thread_.joinable()) return;
    stopping_ = true;
    const std::uint64_t one = 1;
    (void)!::write(wake_, &one, sizeof one);
    thread_.join();
  }

 private:
  // TunnelHandler of the inner Tunnel: datagrams to the socket, the rest to the application.
  void send_datagram(const Key*, const Endpoint& to, std::span<const std::uint8_t> d) override {
    const Endpoint e = dual_ ? mapped(to) : to;
    if (!dual_ && to.family() != AF_INET) return;  // an IPv6 peer on an IPv4-only host
    (void)::sendto(fd_, d.data(), d.size(), MSG_DONTWAIT, &e.addr.sa, e.socklen());
  }
  void deliver(const Key& peer, std::span<const std::uint8_t> packet) override { app_.deliver(peer, packet); }
  void on_event(const Key& peer, TunnelEvent event) override { app_.on_event(peer, event); }
  std::optional<PeerUpdate> admit(const Key& initiator, const Endpoint& from) override {
    return app_.admit(initiator, from);
  }

  TunnelHandler& app_;
  const int fd_;
  const int wake_;
  const bool dual_;
  std::uint16_t port_ = 0;
  std::unique_ptr<Tunnel> tunnel_;
  mutable std::mutex mu_;
  std::vector<std::uint8_t> buf_ = std::vector<std::uint8_t>(65536);
  std::mutex thread_mu_;
  std::thread thread_;
  std::atomic<bool> stopping_{false};
  std::atomic<std::thread::id> loop_id_{};
};

// [::]:port with IPv4 mapped in; 0.0.0.0:port where the host has no IPv6.
Result<std::pair<int, bool>> bind_udp(std::uint16_t port) {
  int fd = ::socket(AF_INET6, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd >= 0) {
    int off = 0;
    ::setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &off, sizeof off);
    sockaddr_in6 a{};
    a.sin6_family = AF_INET6;
    a.sin6_port = htons(port);
    if (::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0) return std::make_pair(fd, true);
    const int e = errno;
    ::close(fd);
    if (e != EAFNOSUPPORT && e != EADDRNOTAVAIL) return make_error(e, "UDP port " + std::to_string(port) + ": " + strerror(e));
  }
  fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0) return make_error(errno, std::string("socket: ") + strerror(errno));
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  if (::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    const int e = errno;
    ::close(fd);
    return make_error(e, "UDP port " + std::to_string(port) + ": " + strerror(e));
  }
  return std::make_pair(fd, false);
}

}  // namespace

Result<std::unique_ptr<UdpTunnel>> UdpTunnel::create(const Key& private_key, TunnelHandler& handler,
                                                     UdpTunnelOptions options) {
  if (options.tunnel.manual_time) return make_error(EINVAL, "a UdpTunnel runs on real time: manual_time is not for it");
  auto sock = bind_udp(options.listen_port);
  if (!sock) return sock.error();
  int wake = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (wake < 0) {
    const int e = errno;
    ::close(sock->first);
    return make_error(e, std::string("eventfd: ") + strerror(e));
  }
  std::unique_ptr<UdpTunnelImpl> t;
  try {
    t = std::make_unique<UdpTunnelImpl>(handler, sock->first, wake, sock->second);  // owns both fds from here
  } catch (...) {
    ::close(sock->first);
    ::close(wake);
    throw;
  }
  if (auto st = t->init(private_key, options.tunnel); !st) return st.error();
  return std::unique_ptr<UdpTunnel>(std::move(t));
}

}  // namespace wgcore
