// TSO segmentation and checksum completion against a slow, obviously-correct reference, on
// random super-packets (IPv4/IPv6, TCP options, flags, payload sizes, MSS values).
#include "linux/vnet.hpp"

#include <netinet/in.h>

#include <gtest/gtest.h>

#include <cstring>
#include <random>
#include <vector>

namespace wgcore::io {
namespace {

using Bytes = std::vector<std::uint8_t>;

std::uint16_t ref_csum(const Bytes& b) {  // RFC 1071, big-endian words, one at a time
  std::uint32_t sum = 0;
  for (std::size_t i = 0; i < b.size(); i += 2) {
    sum += std::uint32_t(b[i]) << 8 | (i + 1 < b.size() ? b[i + 1] : 0);
    sum = (sum & 0xffff) + (sum >> 16);
  }
  return std::uint16_t(~sum);
}
void put16(std::uint8_t* p, std::uint32_t v) {
  p[0] = std::uint8_t(v >> 8);
  p[1] = std::uint8_t(v);
}
std::uint32_t get32(const std::uint8_t* p) {
  return std::uint32_t(p[0]) << 24 | std::uint32_t(p[1]) << 16 | std::uint32_t(p[2]) << 8 | p[3];
}

// TCP checksum of a whole IP packet, computed the long way with an explicit pseudo-header.
std::uint16_t ref_tcp_csum(const Bytes& pkt, bool v4) {
  std::size_t ip_len = v4 ? 20 : 40;
  Bytes ph;
  if (v4) ph.insert(ph.end(), pkt.begin() + 12, pkt.begin() + 20);
  else ph.insert(ph.end(), pkt.begin() + 8, pkt.begin() + 40);
  std::size_t l4 = pkt.size() - ip_len;
  if (v4) {
    ph.push_back(0);
    ph.push_back(IPPROTO_TCP);
    ph.push_back(std::uint8_t(l4 >> 8));
    ph.push_back(std::uint8_t(l4));
  } else {
    Bytes tail = {std::uint8_t(l4 >> 24), std::uint8_t(l4 >> 16), std::uint8_t(l4 >> 8),
                  std::uint8_t(l4), 0, 0, 0, IPPROTO_TCP};
    ph.insert(ph.end(), tail.begin(), tail.end());
  }
  ph.insert(ph.end(), pkt.begin() + std::ptrdiff_t(ip_len), pkt.end());
  ph[ph.size() - l4 + 16] = ph[ph.size() - l4 + 17] = 0;  // the checksum field itself
  return ref_csum(ph);
}

// The reference: every segment as a fresh copy of the headers, fixed field by field.
std::vector<Bytes> ref_segment(const Bytes& pkt, bool v4, std::size_t mss) {
  std::size_t ip_len = v4 ? 20 : 40, tcp_len = std::size_t(pkt[ip_len + 12] >> 4) * 4;
  std::size_t hdr = ip_len + tcp_len, payload = pkt.size() - hdr;
  std::vector<Bytes> out;
  for (std::size_t off = 0, i = 0; off < payload || (payload == 0 && i == 0); off += mss, ++i) {
    std::size_t len = std::min(mss, payload - off);
    Bytes s(pkt.begin(), pkt.begin() + std::ptrdiff_t(hdr));
    s.insert(s.end(), pkt.begin() + std::ptrdiff_t(hdr + off), pkt.begin() + std::ptrdiff_t(hdr + off + len));
    if (v4) {
      put16(&s[2], std::uint32_t(s.size()));
      put16(&s[4], (std::uint32_t(pkt[4]) << 8 | pkt[5]) + std::uint32_t(i));
      s[10] = s[11] = 0;
      std::uint16_t c = ref_csum(Bytes(s.begin(), s.begin() + 20));
      put16(&s[10], c);
    } else {
      put16(&s[4], std::uint32_t(s.size() - 40));
    }
    std::uint32_t seq = get32(&pkt[ip_len + 4]) + std::uint32_t(off);
    s[ip_len + 4] = std::uint8_t(seq >> 24);
    s[ip_len + 5] = std::uint8_t(seq >> 16);
    s[ip_len + 6] = std::uint8_t(seq >> 8);
    s[ip_len + 7] = std::uint8_t(seq);
    bool last = off + len >= payload;
    if (!last) s[ip_len + 13] &= std::uint8_t(~0x09);  // FIN, PSH
    if (i != 0) s[ip_len + 13] &= std::uint8_t(~0x80);  // CWR
    put16(&s[ip_len + 16], ref_tcp_csum(s, v4));
    out.push_back(s);
    if (payload == 0) break;
  }
  return out;
}

Bytes random_super_packet(std::mt19937& rng, bool v4, std::size_t payload) {
  std::size_t ip_len = v4 ? 20 : 40;
  std::size_t tcp_len = 20 + 4 * (rng() % 11);
  Bytes p(ip_len + tcp_len + payload);
  for (auto& b : p) b = std::uint8_t(rng());
  if (v4) {
    p[0] = 0x45;
    put16(&p[2], std::uint32_t(p.size() & 0xffff));
    p[9] = IPPROTO_TCP;
  } else {
    p[0] = 0x60;
    put16(&p[4], std::uint32_t((p.size() - 40) & 0xffff));
    p[6] = IPPROTO_TCP;
  }
  p[ip_len + 12] = std::uint8_t((tcp_len / 4) << 4);
  return p;
}

void collect(void* ctx, std::span<const std::uint8_t> hdr, std::span<const std::uint8_t> payload) {
  Bytes seg(hdr.begin(), hdr.end());
  seg.insert(seg.end(), payload.begin(), payload.end());
  static_cast<std::vector<Bytes>*>(ctx)->push_back(std::move(seg));
}

TEST(Vnet, HeaderRoundTrip) {
  VnetHdr h{VnetHdr::kNeedsCsum, VnetHdr::kGsoTcpV6, 74, 1368, 40, 16};
  std::uint8_t b[kVnetHdrBytes];
  h.write(b);
  EXPECT_EQ(VnetHdr::parse(b), h);
  EXPECT_EQ(b[0], 1);
  EXPECT_EQ(b[1], 4);
}

TEST(Vnet, ChecksumMatchesReferenceAtEveryLengthAndAlignment) {
  std::mt19937 rng(7);
  Bytes buf(3000);
  for (auto& b : buf) b = std::uint8_t(rng());
  for (std::size_t start = 0; start < 8; start += 2) {
    for (std::size_t n = 0; n < 300; ++n) {
      Bytes piece(buf.begin() + std::ptrdiff_t(start), buf.begin() + std::ptrdiff_t(start + n));
      std::uint16_t host = fold_csum(csum_add(0, buf.data() + start, n));
      std::uint8_t be[2];
      std::memcpy(be, &host, 2);
      ASSERT_EQ(std::uint16_t(be[0] << 8 | be[1]), ref_csum(piece)) << start << "+" << n;
    }
  }
}

TEST(Vnet, TsoSegmentsMatchReferenceOnRandomPackets) {
  std::mt19937 rng(12345);
  std::vector<std::uint8_t> scratch(65536 + 128);
  for (int iter = 0; iter < 400; ++iter) {
    bool v4 = rng() % 2;
    std::size_t mss = rng() % 4 == 0 ? 1 + rng() % 64 : 500 + rng() % 1000;
    std::size_t payload = rng() % 3 == 0 ? rng() % 2000 : rng() % 64000;
    Bytes pkt = random_super_packet(rng, v4, payload);
    VnetHdr h;
    h.gso_type = std::uint8_t((v4 ? VnetHdr::kGsoTcpV4 : VnetHdr::kGsoTcpV6) |
                              (rng() % 2 ? VnetHdr::kGsoEcn : 0));
    h.gso_size = std::uint16_t(mss);
    h.flags = VnetHdr::kNeedsCsum;
    std::vector<Bytes> got;
    int n = tso_segment(pkt, h, scratch, collect, &got);
    auto want = ref_segment(pkt, v4, mss);
    ASSERT_EQ(n, int(want.size())) << "iter " << iter;
    ASSERT_EQ(got.size(), want.size());
    for (std::size_t i = 0; i < got.size(); ++i) ASSERT_EQ(got[i], want[i]) << "iter " << iter << " seg " << i;
  }
}

TEST(Vnet, TsoRejectsWhatItCannotSegment) {
  std::mt19937 rng(1);
  std::vector<std::uint8_t> scratch(65536 + 128);
  std::vector<Bytes> got;
  Bytes v4 = random_super_packet(rng, true, 3000);
  VnetHdr h;
  h.gso_type = VnetHdr::kGsoTcpV4;
  h.gso_size = 1000;
  Bytes opts = v4;
  opts[0] = 0x46;  // IPv4 options
  EXPECT_EQ(tso_segment(opts, h, scratch, collect, &got), -1);
  Bytes udp = v4;
  udp[9] = IPPROTO_UDP;
  EXPECT_EQ(tso_segment(udp, h, scratch, collect, &got), -1);
  EXPECT_EQ(tso_segment(std::span(v4).first(30), h, scratch, collect, &got), -1);
  EXPECT_EQ(tso_segment(v4, h, std::span(scratch).first(30), collect, &got), -1);
  h.gso_type = VnetHdr::kGsoUdp;
  EXPECT_EQ(tso_segment(v4, h, scratch, collect, &got), -1);
  EXPECT_TRUE(got.empty());
}

TEST(Vnet, FinishChecksumCompletesPartialTcpChecksum) {
  std::mt19937 rng(99);
  for (int iter = 0; iter < 200; ++iter) {
    bool v4 = rng() % 2;
    Bytes pkt = random_super_packet(rng, v4, rng() % 1500);
    std::size_t ip_len = v4 ? 20 : 40, l4 = pkt.size() - ip_len;
    // What the kernel leaves with CHECKSUM_PARTIAL: the folded, uninverted pseudo-header sum.
    Bytes ph;
    if (v4) ph.assign(pkt.begin() + 12, pkt.begin() + 20);
    else ph.assign(pkt.begin() + 8, pkt.begin() + 40);
    Bytes tail = {0, IPPROTO_TCP, std::uint8_t(l4 >> 8), std::uint8_t(l4)};
    ph.insert(ph.end(), tail.begin(), tail.end());
    put16(&pkt[ip_len + 16], std::uint16_t(~ref_csum(ph)));
    VnetHdr h;
    h.flags = VnetHdr::kNeedsCsum;
    h.csum_start = std::uint16_t(ip_len);
    h.csum_offset = 16;
    ASSERT_TRUE(finish_checksum(pkt, h));
    EXPECT_EQ(std::uint16_t(pkt[ip_len + 16] << 8 | pkt[ip_len + 17]), ref_tcp_csum(pkt, v4)) << iter;
  }
  Bytes tiny(10);
  VnetHdr h;
  h.csum_start = 8;
  h.csum_offset = 6;
  EXPECT_FALSE(finish_checksum(tiny, h));
}


// A plain data super-packet: flags ACK, sometimes PSH (set on the last segment only).
Bytes random_data_packet(std::mt19937& rng, bool v4, std::size_t payload) {
  Bytes p = random_super_packet(rng, v4, payload);
  std::size_t ip_len = v4 ? 20 : 40;
  p[ip_len + 13] = std::uint8_t(0x10 | (rng() % 2 ? 0x08 : 0));
  if (v4) {  // DF or nothing: not a fragment
    p[6] &= 0x40;
    p[7] = 0;
  }
  return p;
}

std::vector<Bytes> segments_of(const Bytes& pkt, bool v4, std::size_t mss) {
  std::vector<std::uint8_t> scratch(65536 + 128);
  VnetHdr h;
  h.gso_type = v4 ? VnetHdr::kGsoTcpV4 : VnetHdr::kGsoTcpV6;
  h.gso_size = std::uint16_t(mss);
  std::vector<Bytes> segs;
  EXPECT_GT(tso_segment(pkt, h, scratch, collect, &segs), 0);
  return segs;
}

// Coalescing what tso_segment split gives a super-packet that splits into the same segments,
// and whose partial checksum completes to the right TCP checksum.
TEST(Vnet, CoalesceUndoesSegmentationOnRandomFlows) {
  std::mt19937 rng(2024);
  std::vector<std::uint8_t> scratch(65536 + 128);
  for (int iter = 0; iter < 300; ++iter) {
    bool v4 = rng() % 2;
    std::size_t mss = 1000 + rng() % 461;
    Bytes pkt = random_data_packet(rng, v4, 1 + rng() % 60000);
    auto segs = segments_of(pkt, v4, mss);
    TcpCoalescer c;
    ASSERT_TRUE(c.start(segs[0])) << iter;
    for (std::size_t i = 1; i < segs.size(); ++i) ASSERT_TRUE(c.append(segs[i])) << iter << " seg " << i;
    ASSERT_EQ(c.segments(), segs.size());
    std::uint8_t hdr[TcpCoalescer::kMaxHeader];
    std::size_t hl = c.header(hdr);
    VnetHdr vh = VnetHdr::parse(hdr);
    Bytes super(hdr + kVnetHdrBytes, hdr + hl);
    for (const Bytes& sg : segs) super.insert(super.end(), sg.begin() + std::ptrdiff_t(c.payload_offset()), sg.end());
    if (segs.size() == 1) {
      EXPECT_EQ(vh, VnetHdr{});
      EXPECT_EQ(super, segs[0]);
      continue;
    }
    EXPECT_EQ(vh.gso_size, mss);
    EXPECT_EQ(vh.hdr_len, c.payload_offset());
    std::vector<Bytes> again;
    ASSERT_EQ(tso_segment(super, vh, scratch, collect, &again), int(segs.size()));
    ASSERT_EQ(again, segs) << iter;
    Bytes completed = super;
    ASSERT_TRUE(finish_checksum(completed, vh));
    std::size_t ip_len = v4 ? 20 : 40;
    EXPECT_EQ(std::uint16_t(completed[ip_len + 16] << 8 | completed[ip_len + 17]), ref_tcp_csum(completed, v4));
    if (v4) {
      EXPECT_EQ(ref_csum(Bytes(super.begin(), super.begin() + 20)), 0);  // header checksum valid
    }
  }
}

TEST(Vnet, CoalesceRefusesWhatDoesNotContinueTheFlow) {
  std::mt19937 rng(5);
  for (bool v4 : {true, false}) {
    std::size_t ip_len = v4 ? 20 : 40;
    Bytes pkt = random_data_packet(rng, v4, 5000);
    pkt[ip_len + 13] = 0x10;  // ACK only, so every segment may be followed
    auto segs = segments_of(pkt, v4, 1000);
    ASSERT_EQ(segs.size(), 5u);
    auto refused = [&](auto mutate) {
      TcpCoalescer c;
      EXPECT_TRUE(c.start(segs[0]));
      Bytes next = segs[1];
      mutate(next);
      return !c.append(next) && c.segments() == 1;
    };
    EXPECT_TRUE(refused([&](Bytes& b) { b[ip_len + 1] ^= 1; }));            // source port
    EXPECT_TRUE(refused([&](Bytes& b) { b[ip_len + 7] ^= 1; }));            // sequence gap
    EXPECT_TRUE(refused([&](Bytes& b) { b[ip_len + 11] ^= 1; }));           // ACK number
    EXPECT_TRUE(refused([&](Bytes& b) { b[ip_len + 15] ^= 1; }));           // window
    EXPECT_TRUE(refused([&](Bytes& b) { b[ip_len + 13] = 0x11; }));         // FIN
    EXPECT_TRUE(refused([&](Bytes& b) { b[ip_len + 13] = 0x12; }));         // SYN
    EXPECT_TRUE(refused([&](Bytes& b) { b[v4 ? 8 : 7] ^= 1; }));            // TTL / hop limit
    EXPECT_TRUE(refused([&](Bytes& b) { b[v4 ? 15 : 23] ^= 1; }));          // source address
    EXPECT_TRUE(refused([&](Bytes& b) { b.push_back(0); put16(&b[v4 ? 2 : 4], std::uint32_t(v4 ? b.size() : b.size() - 40)); }));  // longer
    if (std::size_t(pkt[ip_len + 12] >> 4) * 4 > 20) {
      EXPECT_TRUE(refused([&](Bytes& b) { b[ip_len + 20] ^= 1; }));  // TCP options
    }
    if (v4) {
      EXPECT_TRUE(refused([&](Bytes& b) { b[6] |= 0x20; }));  // more fragments
    }
    // After a short segment the run is closed.
    TcpCoalescer c;
    ASSERT_TRUE(c.start(segs[0]));
    Bytes shorter = segs[1];
    shorter.resize(shorter.size() - 10);
    put16(&shorter[v4 ? 2 : 4], std::uint32_t(v4 ? shorter.size() : shorter.size() - 40));
    ASSERT_TRUE(c.append(shorter));
    EXPECT_FALSE(c.append(segs[2]));
    // A bare ACK (no payload) heads nothing.
    Bytes ack(segs[0].begin(), segs[0].begin() + std::ptrdiff_t(ip_len + (pkt[ip_len + 12] >> 4) * 4));
    put16(&ack[v4 ? 2 : 4], std::uint32_t(v4 ? ack.size() : ack.size() - 40));
    EXPECT_FALSE(c.start(ack));
  }
}

}  // namespace
}  // namespace wgcore::io
