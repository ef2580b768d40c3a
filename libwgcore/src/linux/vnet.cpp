// virtio-net header codec, checksums and TCP segmentation for the TUN offloads.
#include "linux/vnet.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <cstring>

namespace wgcore::io {
namespace {

std::uint16_t ld16(const std::uint8_t* p) { return std::uint16_t(p[0] << 8 | p[1]); }
void st16(std::uint8_t* p, std::uint16_t v) {
  p[0] = std::uint8_t(v >> 8);
  p[1] = std::uint8_t(v);
}
std::uint32_t ld32(const std::uint8_t* p) {
  return std::uint32_t(p[0]) << 24 | std::uint32_t(p[1]) << 16 | std::uint32_t(p[2]) << 8 | p[3];
}
void st32(std::uint8_t* p, std::uint32_t v) {
  st16(p, std::uint16_t(v >> 16));
  st16(p + 2, std::uint16_t(v));
}
// Stores a checksum computed in host order (fold_csum) at p.
void st_csum(std::uint8_t* p, std::uint16_t c) { std::memcpy(p, &c, 2); }

constexpr std::uint8_t kFin = 0x01, kPsh = 0x08, kCwr = 0x80;

}  // namespace

VnetHdr VnetHdr::parse(const std::uint8_t* p) {
  VnetHdr h;
  h.flags = p[0];
  h.gso_type = p[1];
  std::memcpy(&h.hdr_len, p + 2, 2);
  std::memcpy(&h.gso_size, p + 4, 2);
  std::memcpy(&h.csum_start, p + 6, 2);
  std::memcpy(&h.csum_offset, p + 8, 2);
  return h;
}

void VnetHdr::write(std::uint8_t* p) const {
  p[0] = flags;
  p[1] = gso_type;
  std::memcpy(p + 2, &hdr_len, 2);
  std::memcpy(p + 4, &gso_size, 2);
  std::memcpy(p + 6, &csum_start, 2);
  std::memcpy(p + 8, &csum_offset, 2);
}

std::uint64_t csum_add(std::uint64_t sum, const std::uint8_t* p, std::size_t n) {
  // 32-bit words into a 64-bit accumulator: no carries lost below 2^32 words.
  while (n >= 32) {
    std::uint32_t w[8];
    std::memcpy(w, p, 32);
    sum += std::uint64_t(w[0]) + w[1] + w[2] + w[3] + w[4] + w[5] + w[6] + w[7];
    p += 32;
    n -= 32;
  }
  while (n >= 4) {
    std::uint32_t w;
    std::memcpy(&w, p, 4);
    sum += w;
    p += 4;
    n -= 4;
  }
  if (n >= 2) {
    std::uint16_t w;
    std::memcpy(&w, p, 2);
    sum += w;
    p += 2;
    n -= 2;
  }
  if (n == 1) {
    std::uint8_t last[2] = {p[0], 0};  // the odd byte is the high half of a zero-padded word
    std::uint16_t w;
    std::memcpy(&w, last, 2);
    sum += w;
  }
  return sum;
}

std::uint16_t fold_csum(std::uint64_t sum) {
  sum = (sum & 0xffffffffu) + (sum >> 32);
  sum = (sum & 0xffffffffu) + (sum >> 32);
  sum = (sum & 0xffff) + (sum >> 16);
  sum = (sum & 0xffff) + (sum >> 16);
  sum = (sum & 0xffff) + (sum >> 16);
  return std::uint16_t(~sum);
}

bool finish_checksum(std::span<std::uint8_t> pkt, const VnetHdr& h) {
  std::size_t start = h.csum_start, at = std::size_t(h.csum_start) + h.csum_offset;
  if (start > pkt.size() || at + 2 > pkt.size()) return false;
  // The field holds the pseudo-header sum already; summing over it completes the checksum.
  st_csum(pkt.data() + at, fold_csum(csum_add(0, pkt.data() + start, pkt.size() - start)));
  return true;
}

int tso_segment(std::span<const std::uint8_t> pkt, const VnetHdr& h, std::span<std::uint8_t> scratch,
                SegmentFn emit, void* ctx) {
  const std::uint8_t type = h.gso_type & std::uint8_t(~VnetHdr::kGsoEcn);
  if (pkt.empty() || h.gso_size == 0) return -1;
  const bool v4 = type == VnetHdr::kGsoTcpV4;
  if (!v4 && type != VnetHdr::kGsoTcpV6) return -1;
  const std::uint8_t* ip = pkt.data();
  std::size_t ip_len;
  if (v4) {
    if (pkt.size() < 20 || ip[0] != 0x45 || ip[9] != IPPROTO_TCP) return -1;
    ip_len = 20;
  } else {
    if (pkt.size() < 40 || (ip[0] >> 4) != 6 || ip[6] != IPPROTO_TCP) return -1;
    ip_len = 40;
  }
  if (pkt.size() < ip_len + 20) return -1;
  const std::size_t tcp_len = std::size_t(ip[ip_len + 12] >> 4) * 4;
  const std::size_t hdr = ip_len + tcp_len;
  if (tcp_len < 20 || pkt.size() < hdr) return -1;
  const std::size_t mss = h.gso_size;
  if (scratch.size() < hdr) return -1;

  const std::size_t payload = pkt.size() - hdr;
  const std::uint32_t seq0 = ld32(ip + ip_len + 4);
  const std::uint16_t id0 = v4 ? ld16(ip + 4) : 0;
  const std::uint8_t flags0 = ip[ip_len + 13];
  // The pseudo-header's addresses are the same for every segment.
  const std::uint64_t addr_sum = v4 ? csum_add(0, ip + 12, 8) : csum_add(0, ip + 8, 32);
  std::uint8_t* out = scratch.data();
  int n = 0;
  std::size_t off = 0;
  do {
    const std::size_t len = payload - off < mss ? payload - off : mss;
    const bool last = off + len >= payload;
    std::memcpy(out, ip, hdr);
    const std::uint8_t* data = ip + hdr + off;
    const std::size_t total = hdr + len;
    if (v4) {
      st16(out + 2, std::uint16_t(total));
      st16(out + 4, std::uint16_t(id0 + n));
      st16(out + 10, 0);
      st_csum(out + 10, fold_csum(csum_add(0, out, 20)));
    } else {
      st16(out + 4, std::uint16_t(total - 40));
    }
    std::uint8_t* tcp = out + ip_len;
    st32(tcp + 4, seq0 + std::uint32_t(off));
    std::uint8_t f = flags0;
    if (!last) f &= std::uint8_t(~(kFin | kPsh));
    if (n != 0) f &= std::uint8_t(~kCwr);
    tcp[13] = f;
    st16(tcp + 16, 0);
    const std::size_t l4 = tcp_len + len;
    std::uint64_t sum = addr_sum + htons(std::uint16_t(IPPROTO_TCP)) + htons(std::uint16_t(l4));
    // TCP headers are a multiple of 4 bytes, so the payload starts at an even offset and the
    // two sums add up.
    sum = csum_add(csum_add(sum, tcp, tcp_len), data, len);
    st_csum(tcp + 16, fold_csum(sum));
    emit(ctx, {out, hdr}, {data, len});
    ++n;
    off += len;
  } while (off < payload);
  return n;
}

}  // namespace wgcore::io

namespace wgcore::io {
namespace {

constexpr std::uint8_t kAck = 0x10;

// IP and TCP header lengths of a plain TCP packet we may coalesce; 0 if it is not one.
std::size_t tcp_headers(std::span<const std::uint8_t> p, std::size_t& ip_len) {
  if (p.size() < 40) return 0;
  const std::uint8_t* ip = p.data();
  if (ip[0] == 0x45) {
    // Not fragmented (MF clear, offset 0; DF is fine), TCP, total length matching the buffer.
    if (ip[9] != IPPROTO_TCP || (ld16(ip + 6) & 0x3fff) != 0 || ld16(ip + 2) != p.size()) return 0;
    ip_len = 20;
  } else if ((ip[0] >> 4) == 6) {
    if (p.size() < 60 || ip[6] != IPPROTO_TCP || ld16(ip + 4) + 40u != p.size()) return 0;
    ip_len = 40;
  } else {
    return 0;
  }
  std::size_t tcp_len = std::size_t(ip[ip_len + 12] >> 4) * 4;
  if (tcp_len < 20 || ip_len + tcp_len > p.size()) return 0;
  return ip_len + tcp_len;
}

}  // namespace

bool TcpCoalescer::start(std::span<const std::uint8_t> pkt) {
  segments_ = 0;
  std::size_t ip_len = 0;
  std::size_t hdr = tcp_headers(pkt, ip_len);
  if (hdr == 0 || hdr == pkt.size()) return false;  // no payload: nothing to coalesce
  std::uint8_t flags = pkt[ip_len + 13];
  if ((flags & ~std::uint8_t(kPsh)) != kAck) return false;
  head_ = pkt;
  ip_len_ = ip_len;
  hdr_len_ = hdr;
  gso_size_ = pkt.size() - hdr;
  payload_ = gso_size_;
  next_seq_ = ld32(pkt.data() + ip_len + 4) + std::uint32_t(gso_size_);
  psh_ = flags & kPsh;
  closed_ = psh_;
  segments_ = 1;
  return true;
}

bool TcpCoalescer::append(std::span<const std::uint8_t> pkt) {
  if (segments_ == 0 || closed_) return false;
  std::size_t ip_len = 0;
  if (tcp_headers(pkt, ip_len) != hdr_len_ || ip_len != ip_len_) return false;
  const std::size_t len = pkt.size() - hdr_len_;
  if (len == 0 || len > gso_size_ || hdr_len_ + payload_ + len > kMaxBytes + (ip_len_ == 40 ? 40 : 0))
    return false;
  const std::uint8_t* a = head_.data();
  const std::uint8_t* b = pkt.data();
  if (ip_len_ == 20) {
    // TOS, TTL, protocol, addresses; DF must agree too.
    if (a[1] != b[1] || a[8] != b[8] || (a[6] & 0x40) != (b[6] & 0x40) ||
        std::memcmp(a + 12, b + 12, 8) != 0)
      return false;
  } else {
    // Version, traffic class, flow label; hop limit; addresses.
    if (std::memcmp(a, b, 4) != 0 || a[7] != b[7] || std::memcmp(a + 8, b + 8, 32) != 0) return false;
  }
  const std::uint8_t* ta = a + ip_len_;
  const std::uint8_t* tb = b + ip_len_;
  std::uint8_t flags = tb[13];
  if ((flags & ~std::uint8_t(kPsh)) != kAck) return false;
  // Ports; ACK number; window; urgent pointer; options (e.g. timestamps) byte for byte.
  if (std::memcmp(ta, tb, 4) != 0 || std::memcmp(ta + 8, tb + 8, 4) != 0 ||
      std::memcmp(ta + 14, tb + 14, 2) != 0 || std::memcmp(ta + 18, tb + 18, 2) != 0 ||
      std::memcmp(ta + 20, tb + 20, hdr_len_ - ip_len_ - 20) != 0)
    return false;
  if (ld32(tb + 4) != next_seq_) return false;
  next_seq_ += std::uint32_t(len);
  payload_ += len;
  ++segments_;
  if (len < gso_size_ || (flags & kPsh)) closed_ = true;  // only the last may be short
  psh_ = psh_ || (flags & kPsh);
  return true;
}

std::size_t TcpCoalescer::header(std::uint8_t* out) const {
  VnetHdr v;
  const bool v4 = ip_len_ == 20;
  if (segments_ > 1) {
    v.flags = VnetHdr::kNeedsCsum;
    v.gso_type = v4 ? VnetHdr::kGsoTcpV4 : VnetHdr::kGsoTcpV6;
    v.hdr_len = std::uint16_t(hdr_len_);
    v.gso_size = std::uint16_t(gso_size_);
    v.csum_start = std::uint16_t(ip_len_);
    v.csum_offset = 16;
  }
  v.write(out);
  std::uint8_t* ip = out + kVnetHdrBytes;
  std::memcpy(ip, head_.data(), hdr_len_);
  if (segments_ == 1) return kVnetHdrBytes + hdr_len_;  // unchanged, checksums complete
  const std::size_t total = hdr_len_ + payload_;
  std::uint8_t* tcp = ip + ip_len_;
  if (v4) {
    st16(ip + 2, std::uint16_t(total));
    st16(ip + 10, 0);
    st_csum(ip + 10, fold_csum(csum_add(0, ip, 20)));
  } else {
    st16(ip + 4, std::uint16_t(total - 40));
  }
  if (psh_) tcp[13] |= kPsh;
  // CHECKSUM_PARTIAL: the field holds the pseudo-header sum (folded, not inverted) for the whole
  // TCP length; whoever segments or checksums the packet later completes it.
  const std::size_t l4 = total - ip_len_;
  std::uint64_t sum = (v4 ? csum_add(0, ip + 12, 8) : csum_add(0, ip + 8, 32)) +
                      htons(std::uint16_t(IPPROTO_TCP)) + htons(std::uint16_t(l4));
  st_csum(tcp + 16, std::uint16_t(~fold_csum(sum)));
  return kVnetHdrBytes + hdr_len_;
}

}  // namespace wgcore::io
