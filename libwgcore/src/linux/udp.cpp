// Socket setup for the two-family UDP port, and the recvmmsg/sendmmsg loops with IP_PKTINFO /
// IPV6_PKTINFO control messages that carry each datagram's local (sticky source) address.
#include "linux/udp.hpp"

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <string>
#include <utility>

namespace wgcore::io {
namespace {

// Large buffers absorb bursts between event-loop turns (wireguard-go uses the same size).
constexpr int kSocketBufferBytes = 7 << 20;
// How often bind(0) retries when the port the kernel picked for IPv4 is taken for IPv6.
constexpr int kBindRetries = 100;
// Room for one IPV6_PKTINFO (or IP_PKTINFO) message; later UDP_GRO/UDP_SEGMENT fit too.
constexpr std::size_t kCtrlLen = 64;
static_assert(CMSG_SPACE(sizeof(in6_pktinfo)) + CMSG_SPACE(sizeof(int)) <= kCtrlLen);

const char* family_name(int family) { return family == AF_INET6 ? "IPv6" : "IPv4"; }

Error errno_error(int err, std::string what) {
  return make_error(err, std::move(what) + ": " + std::strerror(err));
}

void set_buffer(int fd, int force_opt, int opt) {
  int v = kSocketBufferBytes;
  // The FORCE variants ignore net.core.[rw]mem_max but need CAP_NET_ADMIN; without it the
  // plain option still gets as much as the sysctl allows. Neither failing is fatal.
  if (::setsockopt(fd, SOL_SOCKET, force_opt, &v, sizeof v) != 0)
    (void)::setsockopt(fd, SOL_SOCKET, opt, &v, sizeof v);
}

int set_int(int fd, int level, int opt, int v) {
  return ::setsockopt(fd, level, opt, &v, sizeof v) == 0 ? 0 : errno;
}

// Opens, configures and binds one family's socket. On failure returns the errno in err and a
// message in msg, so bind() can tell "port taken" (retry) from real errors.
int open_socket(int family, std::uint16_t port, std::uint32_t fwmark, int& err, std::string& msg) {
  int fd = ::socket(family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_UDP);
  if (fd < 0) {
    err = errno;
    msg = std::string("create ") + family_name(family) + " UDP socket";
    return -1;
  }
  set_buffer(fd, SO_RCVBUFFORCE, SO_RCVBUF);
  set_buffer(fd, SO_SNDBUFFORCE, SO_SNDBUF);
  if (family == AF_INET) {
    err = set_int(fd, IPPROTO_IP, IP_PKTINFO, 1);
    msg = "enable IP_PKTINFO";
  } else {
    err = set_int(fd, IPPROTO_IPV6, IPV6_V6ONLY, 1);
    msg = "set IPV6_V6ONLY";
    if (err == 0) {
      err = set_int(fd, IPPROTO_IPV6, IPV6_RECVPKTINFO, 1);
      msg = "enable IPV6_RECVPKTINFO";
    }
  }
  if (err == 0 && fwmark != 0) {
    err = set_int(fd, SOL_SOCKET, SO_MARK, int(fwmark));
    msg = "set fwmark " + std::to_string(fwmark) + " (needs CAP_NET_ADMIN)";
  }
  if (err == 0) {
    Endpoint any;
    if (family == AF_INET) {
      any.addr.in4.sin_family = AF_INET;
      any.addr.in4.sin_port = htons(port);
      any.addr.in4.sin_addr.s_addr = htonl(INADDR_ANY);
    } else {
      any.addr.in6.sin6_family = AF_INET6;
      any.addr.in6.sin6_port = htons(port);
      any.addr.in6.sin6_addr = in6addr_any;
    }
    if (::bind(fd, &any.addr.sa, any.socklen()) != 0) {
      err = errno;
      msg = std::string("bind ") + family_name(family) + " UDP port " + std::to_string(port);
    }
  }
  if (err != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

std::uint16_t bound_port(int fd) {
  Endpoint e;
  socklen_t len = sizeof e.addr;
  if (::getsockname(fd, &e.addr.sa, &len) != 0) return 0;
  return e.port();
}

// Reads the local address the kernel reported for a received datagram.
LocalAddr local_from_control(msghdr& h) {
  for (cmsghdr* c = CMSG_FIRSTHDR(&h); c != nullptr; c = CMSG_NXTHDR(&h, c)) {
    if (c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_PKTINFO &&
        c->cmsg_len >= CMSG_LEN(sizeof(in_pktinfo))) {
      in_pktinfo pi;
      std::memcpy(&pi, CMSG_DATA(c), sizeof pi);
      // ipi_spec_dst is the local address a reply should come from (for unicast, the
      // destination; for broadcast, the interface's address).
      auto* a = reinterpret_cast<const std::uint8_t*>(&pi.ipi_spec_dst);
      return LocalAddr::of(IpAddr::v4_bytes(a), std::uint32_t(pi.ipi_ifindex));
    }
    if (c->cmsg_level == IPPROTO_IPV6 && c->cmsg_type == IPV6_PKTINFO &&
        c->cmsg_len >= CMSG_LEN(sizeof(in6_pktinfo))) {
      in6_pktinfo pi;
      std::memcpy(&pi, CMSG_DATA(c), sizeof pi);
      return LocalAddr::of(IpAddr::v6_bytes(pi.ipi6_addr.s6_addr), pi.ipi6_ifindex);
    }
  }
  return {};
}

// Writes the sticky-source control message for p into ctrl; returns its length (0: none).
// Only the address is pinned; the interface is left to routing, as the kernel module does, so
// a route change moves the flow instead of blackholing it.
std::size_t source_control(const Packet& p, int family, std::uint8_t* ctrl) {
  std::memset(ctrl, 0, kCtrlLen);
  msghdr h{};
  h.msg_control = ctrl;
  if (family == AF_INET) {
    h.msg_controllen = CMSG_SPACE(sizeof(in_pktinfo));
    cmsghdr* c = CMSG_FIRSTHDR(&h);
    c->cmsg_level = IPPROTO_IP;
    c->cmsg_type = IP_PKTINFO;
    c->cmsg_len = CMSG_LEN(sizeof(in_pktinfo));
    in_pktinfo pi{};
    std::memcpy(&pi.ipi_spec_dst, p.local.ip.bytes.data(), 4);
    std::memcpy(CMSG_DATA(c), &pi, sizeof pi);
  } else {
    h.msg_controllen = CMSG_SPACE(sizeof(in6_pktinfo));
    cmsghdr* c = CMSG_FIRSTHDR(&h);
    c->cmsg_level = IPPROTO_IPV6;
    c->cmsg_type = IPV6_PKTINFO;
    c->cmsg_len = CMSG_LEN(sizeof(in6_pktinfo));
    in6_pktinfo pi{};
    std::memcpy(&pi.ipi6_addr, p.local.ip.bytes.data(), 16);
    std::memcpy(CMSG_DATA(c), &pi, sizeof pi);
  }
  return h.msg_controllen;
}

}  // namespace

UdpSockets::UdpSockets(UdpSockets&& o) noexcept
    : fd4_(std::exchange(o.fd4_, -1)),
      fd6_(std::exchange(o.fd6_, -1)),
      port_(std::exchange(o.port_, 0)),
      fwmark_(std::exchange(o.fwmark_, 0)) {}

UdpSockets& UdpSockets::operator=(UdpSockets&& o) noexcept {
  if (this != &o) {
    close();
    fd4_ = std::exchange(o.fd4_, -1);
    fd6_ = std::exchange(o.fd6_, -1);
    port_ = std::exchange(o.port_, 0);
    fwmark_ = std::exchange(o.fwmark_, 0);
  }
  return *this;
}

void UdpSockets::close() {
  if (fd4_ >= 0) ::close(fd4_);
  if (fd6_ >= 0) ::close(fd6_);
  fd4_ = fd6_ = -1;
  port_ = 0;
}

Status UdpSockets::bind(std::uint16_t port, std::uint32_t fwmark) {
  close();
  int err = 0;
  std::string msg;
  for (int attempt = 0;; ++attempt) {
    int fd4 = open_socket(AF_INET, port, fwmark, err, msg);
    if (fd4 < 0 && err != EAFNOSUPPORT) return errno_error(err, msg);
    std::uint16_t actual = fd4 >= 0 ? bound_port(fd4) : port;
    int fd6 = open_socket(AF_INET6, actual, fwmark, err, msg);
    if (fd6 < 0 && err != EAFNOSUPPORT) {
      if (fd4 >= 0) ::close(fd4);
      // The kernel picked the IPv4 port without looking at IPv6; try another pick.
      if (err == EADDRINUSE && port == 0 && fd4 >= 0 && attempt < kBindRetries) continue;
      return errno_error(err, msg);
    }
    if (fd4 < 0 && fd6 < 0) return errno_error(EAFNOSUPPORT, "neither IPv4 nor IPv6 UDP sockets");
    fd4_ = fd4;
    fd6_ = fd6;
    port_ = fd4 >= 0 ? actual : bound_port(fd6);
    fwmark_ = fwmark;
    return {};
  }
}

Status UdpSockets::set_fwmark(std::uint32_t mark) {
  for (int fd : {fd4_, fd6_}) {
    if (fd < 0) continue;
    if (int err = set_int(fd, SOL_SOCKET, SO_MARK, int(mark)); err != 0)
      return errno_error(err, "set fwmark " + std::to_string(mark) + " (needs CAP_NET_ADMIN)");
  }
  fwmark_ = mark;
  return {};
}

IoResult UdpSockets::recv_batch(int family, std::span<Packet*> pkts) {
  int fd = this->fd(family);
  if (fd < 0) return {0, EBADF};
  std::size_t n = std::min(pkts.size(), kMaxBatch);
  if (n == 0) return {};

  mmsghdr msgs[kMaxBatch];
  iovec iov[kMaxBatch];
  alignas(cmsghdr) std::uint8_t ctrl[kMaxBatch][kCtrlLen];
  for (std::size_t i = 0; i < n; ++i) {
    Packet* p = pkts[i];
    iov[i] = {p->data(), p->room()};
    msghdr& h = msgs[i].msg_hdr;
    h = msghdr{};
    h.msg_name = &p->remote.addr;  // the kernel writes the sender straight into the packet
    h.msg_namelen = sizeof p->remote.addr;
    h.msg_iov = &iov[i];
    h.msg_iovlen = 1;
    h.msg_control = ctrl[i];
    h.msg_controllen = kCtrlLen;
    msgs[i].msg_len = 0;
  }
  int rc;
  do {
    rc = ::recvmmsg(fd, msgs, unsigned(n), MSG_DONTWAIT, nullptr);
  } while (rc < 0 && errno == EINTR);
  if (rc < 0) {
    if (errno == EAGAIN || errno == EWOULDBLOCK) return {};
    return {0, errno};
  }

  std::size_t good = 0, dropped = 0;
  for (std::size_t i = 0; i < std::size_t(rc); ++i) {
    // Swaps below only touch positions <= i, so pkts[i] is still the packet of msgs[i].
    Packet* p = pkts[i];
    if (msgs[i].msg_hdr.msg_flags & MSG_TRUNC) {  // bigger than our buffers: drop
      p->error = EMSGSIZE;
      ++dropped;
      continue;
    }
    p->set_len(msgs[i].msg_len);
    p->local = local_from_control(msgs[i].msg_hdr);
    p->error = 0;
    p->source_cleared = false;
    std::swap(pkts[good], pkts[i]);
    ++good;
  }
  return {good, 0, dropped};
}

IoResult UdpSockets::send_batch(std::span<Packet* const> pkts) {
  IoResult r;
  mmsghdr msgs[kMaxBatch];
  iovec iov[kMaxBatch];
  alignas(cmsghdr) std::uint8_t ctrl[kMaxBatch][kCtrlLen];

  while (r.count < pkts.size()) {
    // One sendmmsg per run of packets of the same family (each family has its own socket).
    const std::size_t start = r.count;
    const int family = pkts[start]->remote.family();
    const int fd = pkts[start]->remote.valid() ? this->fd(family) : -1;
    if (fd < 0) {
      pkts[start]->error = pkts[start]->remote.valid() ? EAFNOSUPPORT : EDESTADDRREQ;
      ++r.count;
      continue;
    }
    std::size_t end = start;
    while (end < pkts.size() && end - start < kMaxBatch && pkts[end]->remote.family() == family)
      ++end;

    for (std::size_t i = start; i < end; ++i) {
      Packet* p = pkts[i];
      std::size_t k = i - start;
      p->error = 0;
      p->source_cleared = false;
      if (p->local.set && p->local.ip.is_v4() != (family == AF_INET)) {
        p->local.clear();  // a source of the other family can never work for this peer
        p->source_cleared = true;
      }
      iov[k] = {p->data(), p->len()};
      msghdr& h = msgs[k].msg_hdr;
      h = msghdr{};
      h.msg_name = &p->remote.addr;
      h.msg_namelen = p->remote.socklen();
      h.msg_iov = &iov[k];
      h.msg_iovlen = 1;
      if (p->local.set) {
        h.msg_control = ctrl[k];
        h.msg_controllen = source_control(*p, family, ctrl[k]);
      }
      msgs[k].msg_len = 0;
    }

    const std::size_t total = end - start;
    std::size_t done = 0;         // packets of this run sent or given up on
    std::size_t retried = total;  // index whose sticky source was just dropped for a retry
    while (done < total) {
      int rc = ::sendmmsg(fd, msgs + done, unsigned(total - done), MSG_DONTWAIT);
      if (rc > 0) {
        if (retried >= done && retried < done + std::size_t(rc)) {
          // Sent once the sticky source was left out: that source is unusable (address
          // removed or moved). Tell the owner, like the kernel module's endpoint source reset.
          Packet* p = pkts[start + retried];
          p->local.clear();
          p->source_cleared = true;
        }
        done += std::size_t(rc);
        continue;
      }
      // rc < 0: the first remaining message failed (sendmmsg reports a later failure as a
      // short count, and the next call then starts at the failing one).
      int err = errno;
      if (err == EINTR) continue;
      if (err == EAGAIN || err == EWOULDBLOCK) {
        r.count = start + done;
        r.error = EAGAIN;
        return r;
      }
      msghdr& h = msgs[done].msg_hdr;
      if (h.msg_control != nullptr) {
        // Kernels refuse a source that is not ours with EINVAL (older) or ENETUNREACH (newer);
        // rather than guess from the errno, try once without it.
        h.msg_control = nullptr;
        h.msg_controllen = 0;
        retried = done;
        continue;
      }
      pkts[start + done]->error = err;  // drop this one (e.g. no route), go on with the rest
      ++done;
    }
    r.count = end;
  }
  return r;
}

}  // namespace wgcore::io
