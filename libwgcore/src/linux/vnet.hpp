// TUN offload helpers (IFF_VNET_HDR): the virtio-net header the kernel puts in front of every
// packet, TCP segmentation of the 64 KiB super-packets it hands us with TSO on, and completion
// of the checksums it leaves partial with TUN_F_CSUM. Pure functions on byte spans, no I/O.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

namespace wgcore::io {

inline constexpr std::size_t kVnetHdrBytes = 10;  // struct virtio_net_hdr (TUN's default size)

// struct virtio_net_hdr in host byte order (TUN uses the host's order for a little-endian
// host, which is all we build for).
struct VnetHdr {
  static constexpr std::uint8_t kNeedsCsum = 1;  // VIRTIO_NET_HDR_F_NEEDS_CSUM
  static constexpr std::uint8_t kGsoNone = 0, kGsoTcpV4 = 1, kGsoUdp = 3, kGsoTcpV6 = 4;
  static constexpr std::uint8_t kGsoEcn = 0x80;

  std::uint8_t flags = 0;
  std::uint8_t gso_type = 0;
  std::uint16_t hdr_len = 0;
  std::uint16_t gso_size = 0;
  std::uint16_t csum_start = 0;
  std::uint16_t csum_offset = 0;

  static VnetHdr parse(const std::uint8_t* p);
  void write(std::uint8_t* p) const;
  friend bool operator==(const VnetHdr&, const VnetHdr&) = default;
};

// The Internet checksum's running sum over bytes (RFC 1071), in the host's byte order: add
// sums, then fold_csum. Order-independent, so callers may sum pieces in any order as long as
// each piece starts at an even offset of the checksummed range.
std::uint64_t csum_add(std::uint64_t sum, const std::uint8_t* p, std::size_t n);
std::uint16_t fold_csum(std::uint64_t sum);  // folded and inverted, ready to store (host order)

// Completes a VIRTIO_NET_HDR_F_NEEDS_CSUM packet in place: the checksum over [csum_start, end)
// stored at csum_start + csum_offset. False if the offsets are outside the packet.
bool finish_checksum(std::span<std::uint8_t> pkt, const VnetHdr& h);

// Splits a TSO super-packet (IPv4 or IPv6 + TCP, VnetHdr gso_type TCPV4/TCPV6) into segments of
// at most gso_size payload bytes, each with its own IP header (total/payload length, IPv4 ID +i
// and header checksum), TCP sequence number, flags (FIN/PSH only on the last, CWR only on the
// first) and full TCP checksum. Each segment's headers are built in `scratch` (at least the
// IP+TCP header length) and passed as emit(ctx, headers, payload), the payload pointing into
// pkt (not copied), before the next segment overwrites the headers. Returns the number of
// segments, or -1 (nothing emitted) if the packet is malformed, uses IPv4 options/IPv6
// extension headers we do not segment, or the scratch is too small.
using SegmentFn = void (*)(void* ctx, std::span<const std::uint8_t> headers,
                           std::span<const std::uint8_t> payload);
int tso_segment(std::span<const std::uint8_t> pkt, const VnetHdr& h, std::span<std::uint8_t> scratch,
                SegmentFn emit, void* ctx);

}  // namespace wgcore::io

namespace wgcore::io {

// Receive-side coalescing (GRO) for TUN writes: consecutive, in-order TCP segments of one flow
// become one super-packet the kernel takes with a virtio-net header (GSO TCPV4/TCPV6), so its
// TCP stack sees one 64 KiB packet instead of ~45. Only plain data segments coalesce: same
// addresses, ports, TOS/TTL (IPv4: no options, not fragmented; IPv6: TCP right after the
// fixed header), identical TCP options and ACK/window, flags ACK (PSH allowed, it ends the
// run), sequence numbers back to back, every payload gso_size long except a shorter last one.
// Checksums are not verified: like the kernel module, a packet that passed the AEAD is trusted,
// and the super-packet goes up with a partial checksum (CHECKSUM_PARTIAL).
class TcpCoalescer {
 public:
  static constexpr std::size_t kMaxBytes = 65535;  // IPv4 total length / IPv6 payload length
  static constexpr std::size_t kMaxHeader = kVnetHdrBytes + 40 + 60;

  // Starts a run at pkt; false if pkt cannot head one (not a plain TCP data segment).
  bool start(std::span<const std::uint8_t> pkt);
  // Appends pkt to the run if it continues it; false (run unchanged) if not.
  bool append(std::span<const std::uint8_t> pkt);
  std::size_t segments() const { return segments_; }
  // The virtio-net header and the head's IP+TCP headers fixed for the whole run (lengths,
  // IPv4 header checksum, PSH of the last segment, pseudo-header checksum), written to out
  // (kMaxHeader bytes); returns its length. The payloads follow it: the head's and each
  // appended segment's bytes after their headers (payload_offset()).
  std::size_t header(std::uint8_t* out) const;
  std::size_t payload_offset() const { return hdr_len_; }

 private:
  std::span<const std::uint8_t> head_;
  std::size_t ip_len_ = 0, hdr_len_ = 0;
  std::size_t gso_size_ = 0, payload_ = 0, segments_ = 0;
  std::uint32_t next_seq_ = 0;
  bool closed_ = false, psh_ = false;
};

}  // namespace wgcore::io
