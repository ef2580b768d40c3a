// The WireGuard UDP port: an IPv4 and an IPv6 socket on one port, batched receive (recvmmsg)
// that reports each datagram's local address, and batched send (sendmmsg) with per-packet
// destination and optional sticky source address.
#pragma once

#include <atomic>
#include <cstdint>
#include <span>

#include "linux/packet.hpp"
#include "wgcore/result.hpp"

namespace wgcore::io {

// UDP GSO: at most this many datagrams per send (the kernel's UDP_MAX_SEGMENTS was 64 before
// 6.10) and this many payload bytes (below the 65507 an IPv4 datagram can carry).
inline constexpr std::size_t kMaxGsoSegments = 64;
inline constexpr std::size_t kMaxGsoBytes = 65000;
// A receive buffer that takes any UDP GRO super-datagram without truncation.
inline constexpr std::size_t kGroBufferBytes = 65536;

// Threading: recv_batch (one thread per family) and send_batch (any number of threads) may run
// concurrently; they keep their scratch on the stack. bind() and close() replace the fds and
// must not overlap with I/O: the owner stops its I/O, rebinds, and re-registers fd4()/fd6()
// with its event loop. set_fwmark() is safe at any time.
class UdpSockets {
 public:
  UdpSockets() = default;
  UdpSockets(UdpSockets&& o) noexcept;
  UdpSockets& operator=(UdpSockets&& o) noexcept;
  UdpSockets(const UdpSockets&) = delete;
  UdpSockets& operator=(const UdpSockets&) = delete;
  ~UdpSockets() { close(); }

  // Closes any open sockets, then opens both families on port (0: the kernel picks a port for
  // IPv4 and IPv6 takes the same one, retried if that port is taken for IPv6). A kernel without
  // IPv6 (or without IPv4) leaves that family closed; at least one must open. Non-blocking.
  // With offloads (the default; see set_offloads) each socket also gets UDP_GRO when the kernel
  // has it, and sends coalesce with UDP_SEGMENT when the kernel has that.
  Status bind(std::uint16_t port, std::uint32_t fwmark = 0);
  // Whether the next bind() tries UDP GRO and GSO. Off: one datagram per buffer and per send.
  void set_offloads(bool on) { want_offloads_ = on; }
  // UDP GRO is on: a received buffer may hold several datagrams (Packet::gso_size), so receive
  // buffers need kGroBufferBytes of room or super-datagrams are dropped as too large.
  bool gro() const { return gro_; }
  // Sends coalesce runs of datagrams with UDP_SEGMENT. Turned off for good if the kernel
  // refuses a segmented send with EIO (no checksum offload on the route's device).
  bool gso() const { return gso_.load(std::memory_order_relaxed); }
  void close();
  bool is_open() const { return fd4_ >= 0 || fd6_ >= 0; }
  std::uint16_t local_port() const { return port_; }

  // SO_MARK on both sockets (0 clears it). Needs CAP_NET_ADMIN.
  Status set_fwmark(std::uint32_t mark);
  std::uint32_t fwmark() const { return fwmark_; }

  int fd4() const { return fd4_; }
  int fd6() const { return fd6_; }
  int fd(int family) const { return family == AF_INET6 ? fd6_ : family == AF_INET ? fd4_ : -1; }

  // Receives the datagrams already queued on the family's socket (AF_INET or AF_INET6), up to
  // pkts.size() and at most kMaxBatch. Each filled packet gets len, remote (sender), local
  // (our address and interface) and error = 0. Filled packets are pkts[0..count); datagrams
  // too large for a buffer are dropped and counted in IoResult::dropped (their packets are
  // moved behind count, still owned by the caller).
  IoResult recv_batch(int family, std::span<Packet*> pkts);

  // Sends each packet to p->remote, from p->local when set. With gso(), consecutive packets to
  // the same remote and source whose lengths are equal (the last of a run may be shorter) go
  // out as one UDP_SEGMENT send; any error in such a send re-sends the rest one by one, so the
  // per-packet results below hold either way. If a send with that source fails
  // (the address is gone: EINVAL on older kernels, ENETUNREACH on newer ones), it is retried
  // once without it; if that works, p->local is cleared and p->source_cleared set, so the owner
  // can forget the peer's cached source. A packet that still cannot be sent is skipped with
  // p->error set (its source kept). A full socket send buffer is waited on (poll for POLLOUT),
  // at most kSendWaitMs in all per call, as a blocking socket would push back on its writer
  // (wireguard-go's sends block): dropping the rest of a batch at the first EAGAIN lost, under a
  // handshake flood, the one handshake response that mattered. When the wait runs out the batch
  // stops there with EAGAIN.
  IoResult send_batch(std::span<Packet* const> pkts);
  static constexpr int kSendWaitMs = 20;

 private:
  // send_batch without the waiting: stops at the first EAGAIN.
  IoResult send_batch_once(std::span<Packet* const> pkts);
  // The one-datagram-per-message path (and the fallback of the segmented one).
  IoResult send_plain(std::span<Packet* const> pkts);
  // Segmented sends of pkts[start, end) (all one family); returns the packets done and the
  // first index left for send_plain (== end when all went out), or EAGAIN in error.
  IoResult send_segmented(int fd, int family, std::span<Packet* const> pkts, std::size_t& plain_from);

  int fd4_ = -1;
  int fd6_ = -1;
  std::uint16_t port_ = 0;
  std::uint32_t fwmark_ = 0;
  bool want_offloads_ = true;
  bool gro_ = false;
  std::atomic<bool> gso_{false};
};

}  // namespace wgcore::io
