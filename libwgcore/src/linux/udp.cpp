// Socket setup for the two-family UDP port, and the recvmmsg/sendmmsg loops with IP_PKTINFO /
// IPV6_PKTINFO control messages that carry each datagram's local (sticky source) address.
#include "linux/udp.hpp"

#include <netinet/in.h>
#include <netinet/udp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cerrno>
#include <cstring>
#include <ctime>
#include <optional>
#include <string>
#include <utility>

namespace wgcore::io {
namespace {

// Large buffers absorb bursts between event-loop turns (wireguard-go uses the same size).
constexpr int kSocketBufferBytes = 7 << 20;
// How often bind(0) retries when the port the kernel picked for IPv4 is taken for IPv6.
constexpr int kBindRetries = 100;
// Room for one IPV6_PKTINFO (or IP_PKTINFO) message plus UDP_GRO (an int) or UDP_SEGMENT, and
// the arrival time (SCM_TIMESTAMPNS).
constexpr std::size_t kCtrlLen = 128;
// Receive: PKTINFO, UDP_GRO, the arrival time and the TOS / traffic class; send: PKTINFO,
// UDP_SEGMENT and the TOS / traffic class.
static_assert(CMSG_SPACE(sizeof(in6_pktinfo)) + CMSG_SPACE(sizeof(int)) + CMSG_SPACE(sizeof(timespec)) +
                  CMSG_SPACE(sizeof(int)) <= kCtrlLen);
static_assert(kGroBufferBytes >= 65535 && kMaxGsoBytes <= 65507);

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
// With gro, also asks for UDP_GRO; gro is cleared when the kernel refuses (no error: the
// socket simply receives one datagram per buffer).
int open_socket(int family, std::uint16_t port, std::uint32_t fwmark, bool& gro, int& err,
                std::string& msg) {
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
  if (err == 0 && gro && set_int(fd, SOL_UDP, UDP_GRO, 1) != 0) gro = false;
  // The outer header's ECN arrives with each datagram (IP_TOS / IPV6_TCLASS control messages;
  // core/ecn.hpp applies it to the inner packet). Without them congestion marks of the path
  // are lost, but the tunnel works: not fatal. And no automatic IPv6 flow label, as the kernel
  // module sends none.
  if (err == 0) {
    if (family == AF_INET) {
      (void)set_int(fd, IPPROTO_IP, IP_RECVTOS, 1);
    } else {
      (void)set_int(fd, IPPROTO_IPV6, IPV6_RECVTCLASS, 1);
      (void)set_int(fd, IPPROTO_IPV6, IPV6_AUTOFLOWLABEL, 0);
    }
  }
  // Arrival times for the receive queue's AQM (device/codel.hpp); without them it stays idle.
  if (err == 0) (void)set_int(fd, SOL_SOCKET, SO_TIMESTAMPNS, 1);
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

// Whether the kernel has UDP GSO (UDP_SEGMENT readable, since 4.18).
bool has_gso(int fd) {
  int v = 0;
  socklen_t len = sizeof v;
  return ::getsockopt(fd, SOL_UDP, UDP_SEGMENT, &v, &len) == 0;
}

// Reads what the kernel reported with a received datagram into p: the local address it came
// to, the UDP GRO segment size when the buffer holds several datagrams, and its arrival time.
void control_to_packet(msghdr& h, Packet& p) {
  LocalAddr local;
  p.gso_size = 0;
  p.rx_time = {};
  p.tos = 0;
  for (cmsghdr* c = CMSG_FIRSTHDR(&h); c != nullptr; c = CMSG_NXTHDR(&h, c)) {
    if (c->cmsg_level == SOL_UDP && c->cmsg_type == UDP_GRO &&
        c->cmsg_len >= CMSG_LEN(sizeof(int))) {
      int g;
      std::memcpy(&g, CMSG_DATA(c), sizeof g);
      if (g > 0 && g < 65536) p.gso_size = std::uint16_t(g);
      continue;
    }
    if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_TIMESTAMPNS &&
        c->cmsg_len >= CMSG_LEN(sizeof(timespec))) {
      timespec ts;
      std::memcpy(&ts, CMSG_DATA(c), sizeof ts);
      p.rx_time = std::chrono::seconds(ts.tv_sec) + std::chrono::nanoseconds(ts.tv_nsec);
      continue;
    }
    // IPv4 reports the TOS as one byte, IPv6 the traffic class as an int.
    if (c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_TOS && c->cmsg_len >= CMSG_LEN(1)) {
      p.tos = *CMSG_DATA(c);
      continue;
    }
    if (c->cmsg_level == IPPROTO_IPV6 && c->cmsg_type == IPV6_TCLASS && c->cmsg_len >= CMSG_LEN(sizeof(int))) {
      int tc;
      std::memcpy(&tc, CMSG_DATA(c), sizeof tc);
      p.tos = std::uint8_t(tc);
      continue;
    }
    if (c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_PKTINFO &&
        c->cmsg_len >= CMSG_LEN(sizeof(in_pktinfo))) {
      in_pktinfo pi;
      std::memcpy(&pi, CMSG_DATA(c), sizeof pi);
      // ipi_spec_dst is the local address a reply should come from (for unicast, the
      // destination; for broadcast, the interface's address).
      auto* a = reinterpret_cast<const std::uint8_t*>(&pi.ipi_spec_dst);
      local = LocalAddr::of(IpAddr::v4_bytes(a), std::uint32_t(pi.ipi_ifindex));
      continue;
    }
    if (c->cmsg_level == IPPROTO_IPV6 && c->cmsg_type == IPV6_PKTINFO &&
        c->cmsg_len >= CMSG_LEN(sizeof(in6_pktinfo))) {
      in6_pktinfo pi;
      std::memcpy(&pi, CMSG_DATA(c), sizeof pi);
      local = LocalAddr::of(IpAddr::v6_bytes(pi.ipi6_addr.s6_addr), pi.ipi6_ifindex);
    }
  }
  p.local = local;
}

// Writes the control messages for a send from p into ctrl: the sticky source when p->local is
// set, UDP_SEGMENT when gso_size is not 0, the TOS / traffic class when p->tos is not 0 (every
// segment of a GSO send gets it: send_segmented joins only packets with the same one).
// Returns their length (0: none).
// Only the address is pinned; the interface is left to routing, as the kernel module does, so
// a route change moves the flow instead of blackholing it.
std::size_t send_control(const Packet& p, int family, std::uint16_t gso_size, std::uint8_t* ctrl) {
  std::memset(ctrl, 0, kCtrlLen);
  std::size_t len = 0;
  if (p.local.set) len = CMSG_SPACE(family == AF_INET ? sizeof(in_pktinfo) : sizeof(in6_pktinfo));
  if (gso_size != 0) len += CMSG_SPACE(sizeof(std::uint16_t));
  if (p.tos != 0) len += CMSG_SPACE(sizeof(int));
  if (len == 0) return 0;
  msghdr h{};
  h.msg_control = ctrl;
  h.msg_controllen = len;
  cmsghdr* c = CMSG_FIRSTHDR(&h);
  if (p.tos != 0) {
    const int tos = p.tos;
    c->cmsg_level = family == AF_INET ? IPPROTO_IP : IPPROTO_IPV6;
    c->cmsg_type = family == AF_INET ? IP_TOS : IPV6_TCLASS;
    c->cmsg_len = CMSG_LEN(sizeof tos);
    std::memcpy(CMSG_DATA(c), &tos, sizeof tos);
    c = CMSG_NXTHDR(&h, c);
  }
  if (gso_size != 0) {
    c->cmsg_level = SOL_UDP;
    c->cmsg_type = UDP_SEGMENT;
    c->cmsg_len = CMSG_LEN(sizeof(std::uint16_t));
    std::memcpy(CMSG_DATA(c), &gso_size, sizeof gso_size);
    c = CMSG_NXTHDR(&h, c);
  }
  if (!p.local.set) return len;
  if (family == AF_INET) {
    c->cmsg_level = IPPROTO_IP;
    c->cmsg_type = IP_PKTINFO;
    c->cmsg_len = CMSG_LEN(sizeof(in_pktinfo));
    in_pktinfo pi{};
    std::memcpy(&pi.ipi_spec_dst, p.local.ip.bytes.data(), 4);
    std::memcpy(CMSG_DATA(c), &pi, sizeof pi);
  } else {
    c->cmsg_level = IPPROTO_IPV6;
    c->cmsg_type = IPV6_PKTINFO;
    c->cmsg_len = CMSG_LEN(sizeof(in6_pktinfo));
    in6_pktinfo pi{};
    std::memcpy(&pi.ipi6_addr, p.local.ip.bytes.data(), 16);
    std::memcpy(CMSG_DATA(c), &pi, sizeof pi);
  }
  return len;
}

// Clears a packet's send results before a send; a sticky source of the other family can never
// work for this peer, so it is dropped (and reported through source_cleared).
void begin_send(Packet* p, int family) {
  p->error = 0;
  p->source_cleared = false;
  if (p->local.set && p->local.ip.is_v4() != (family == AF_INET)) {
    p->local.clear();
    p->source_cleared = true;
  }
}

// One message of a sendmmsg: to p->remote, starting with the iovec `iov` (control data aside).
void start_message(mmsghdr& m, Packet* p, iovec* iov) {
  m.msg_hdr = msghdr{};
  m.msg_hdr.msg_name = &p->remote.addr;
  m.msg_hdr.msg_namelen = p->remote.socklen();
  m.msg_hdr.msg_iov = iov;
  m.msg_hdr.msg_iovlen = 1;
  m.msg_len = 0;
}

}  // namespace

UdpSockets::UdpSockets(UdpSockets&& o) noexcept
    : fd4_(std::exchange(o.fd4_, -1)),
      fd6_(std::exchange(o.fd6_, -1)),
      port_(std::exchange(o.port_, 0)),
      fwmark_(std::exchange(o.fwmark_, 0)),
      want_offloads_(o.want_offloads_),
      gro_(std::exchange(o.gro_, false)),
      gso_(o.gso_.exchange(false)) {}

UdpSockets& UdpSockets::operator=(UdpSockets&& o) noexcept {
  if (this != &o) {
    close();
    fd4_ = std::exchange(o.fd4_, -1);
    fd6_ = std::exchange(o.fd6_, -1);
    port_ = std::exchange(o.port_, 0);
    fwmark_ = std::exchange(o.fwmark_, 0);
    want_offloads_ = o.want_offloads_;
    gro_ = std::exchange(o.gro_, false);
    gso_.store(o.gso_.exchange(false));
  }
  return *this;
}

void UdpSockets::close() {
  if (fd4_ >= 0) ::close(fd4_);
  if (fd6_ >= 0) ::close(fd6_);
  fd4_ = fd6_ = -1;
  port_ = 0;
  gro_ = false;
  gso_.store(false);
}

Status UdpSockets::bind(std::uint16_t port, std::uint32_t fwmark) {
  close();
  int err = 0;
  std::string msg;
  for (int attempt = 0;; ++attempt) {
    bool gro = want_offloads_;
    int fd4 = open_socket(AF_INET, port, fwmark, gro, err, msg);
    if (fd4 < 0 && err != EAFNOSUPPORT) return errno_error(err, msg);
    std::uint16_t actual = fd4 >= 0 ? bound_port(fd4) : port;
    int fd6 = open_socket(AF_INET6, actual, fwmark, gro, err, msg);
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
    // GRO only if every open socket has it (IPv6 after IPv4 may have cleared it: then IPv4's
    // setting is harmless, its buffers are just sized for it).
    gro_ = gro;
    gso_.store(want_offloads_ && has_gso(fd4 >= 0 ? fd4 : fd6));
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
    control_to_packet(msgs[i].msg_hdr, *p);
    if (p->gso_size >= p->len()) p->gso_size = 0;  // one datagram after all
    p->error = 0;
    p->source_cleared = false;
    std::swap(pkts[good], pkts[i]);
    ++good;
  }
  return {good, 0, dropped};
}

IoResult UdpSockets::send_batch(std::span<Packet* const> pkts) {
  IoResult r;
  // Read the clock only once a send has filled the buffer: the common call never waits.
  std::optional<std::chrono::steady_clock::time_point> deadline;
  for (;;) {
    IoResult part = send_batch_once(pkts.subspan(r.count));
    r.count += part.count;
    r.error = part.error;
    if (part.error != EAGAIN || r.count == pkts.size()) return r;
    if (!deadline) deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(kSendWaitMs);
    const auto left = std::chrono::ceil<std::chrono::milliseconds>(
        *deadline - std::chrono::steady_clock::now());
    pollfd pfd{fd(pkts[r.count]->remote.family()), POLLOUT, 0};
    if (left.count() <= 0 || pfd.fd < 0) return r;
    int n = ::poll(&pfd, 1, int(left.count()));
    if (n < 0 && errno != EINTR) return r;
  }
}

IoResult UdpSockets::send_batch_once(std::span<Packet* const> pkts) {
  if (!gso()) return send_plain(pkts);
  IoResult r;
  while (r.count < pkts.size()) {
    const std::size_t start = r.count;
    const int family = pkts[start]->remote.family();
    const int fd = pkts[start]->remote.valid() ? this->fd(family) : -1;
    std::size_t end = start + 1;
    while (end < pkts.size() && end - start < kMaxBatch && pkts[end]->remote.family() == family)
      ++end;
    auto run = pkts.subspan(start, end - start);
    std::size_t plain_from = 0;
    if (fd >= 0) {
      IoResult s = send_segmented(fd, family, run, plain_from);
      if (s.error == EAGAIN) return {start + s.count, EAGAIN, 0};
    }
    if (plain_from < run.size()) {
      // An error in a segmented send (or no socket): the packet-by-packet path sorts it out.
      IoResult p = send_plain(run.subspan(plain_from));
      if (p.error == EAGAIN) return {start + plain_from + p.count, EAGAIN, 0};
    }
    r.count = end;
  }
  return r;
}

IoResult UdpSockets::send_segmented(int fd, int family, std::span<Packet* const> pkts,
                                    std::size_t& plain_from) {
  mmsghdr msgs[kMaxBatch];
  iovec iov[kMaxBatch];
  alignas(cmsghdr) std::uint8_t ctrl[kMaxBatch][kCtrlLen];
  std::size_t first[kMaxBatch];  // index of each message's first packet
  std::size_t bytes = 0;         // payload of the message being built
  std::size_t nmsg = 0;
  for (std::size_t i = 0; i < pkts.size(); ++i) {
    Packet* p = pkts[i];
    begin_send(p, family);
    iov[i] = {p->data(), p->len()};
    if (nmsg > 0) {
      const Packet* f = pkts[first[nmsg - 1]];
      std::size_t segs = i - first[nmsg - 1];
      // Every segment but the last must be exactly gso_size long (the first one's length).
      if (segs < kMaxGsoSegments && pkts[i - 1]->len() == f->len() && p->len() <= f->len() &&
          p->len() > 0 && bytes + p->len() <= kMaxGsoBytes && p->remote == f->remote &&
          p->local == f->local && p->tos == f->tos) {
        ++msgs[nmsg - 1].msg_hdr.msg_iovlen;
        bytes += p->len();
        continue;
      }
    }
    first[nmsg] = i;
    start_message(msgs[nmsg], p, &iov[i]);
    bytes = p->len();
    ++nmsg;
  }
  for (std::size_t m = 0; m < nmsg; ++m) {
    msghdr& h = msgs[m].msg_hdr;
    const Packet& f = *pkts[first[m]];
    std::uint16_t gso = h.msg_iovlen > 1 ? std::uint16_t(f.len()) : 0;
    if (std::size_t n = send_control(f, family, gso, ctrl[m]); n != 0) {
      h.msg_control = ctrl[m];
      h.msg_controllen = n;
    }
  }
  std::size_t done = 0;
  while (done < nmsg) {
    int rc = ::sendmmsg(fd, msgs + done, unsigned(nmsg - done), MSG_DONTWAIT);
    if (rc > 0) {
      done += std::size_t(rc);
      continue;
    }
    int err = errno;
    if (err == EINTR) continue;
    if (err == EAGAIN || err == EWOULDBLOCK) return {first[done], EAGAIN, 0};
    // EIO: the route's device cannot checksum segmented UDP; never try again (wireguard-go
    // does the same). Anything else (a stale sticky source, no route) is per packet.
    if (err == EIO && msgs[done].msg_hdr.msg_iovlen > 1) gso_.store(false);
    plain_from = first[done];
    return {first[done], 0, 0};
  }
  plain_from = pkts.size();
  return {pkts.size(), 0, 0};
}

IoResult UdpSockets::send_plain(std::span<Packet* const> pkts) {
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
      begin_send(p, family);
      iov[k] = {p->data(), p->len()};
      start_message(msgs[k], p, &iov[k]);
      if (p->local.set) {
        msgs[k].msg_hdr.msg_control = ctrl[k];
        msgs[k].msg_hdr.msg_controllen = send_control(*p, family, 0, ctrl[k]);
      }
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
