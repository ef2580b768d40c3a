// Inner IP packets for tests that push traffic through a TUN or an engine: UDP over IPv4 or IPv6
// with correct checksums. The checksum arithmetic is written out here on purpose, apart from the
// datapath's own (linux/vnet.hpp), so a test does not check the code with itself.
#pragma once

#include <netinet/in.h>

#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "wgcore/ip.hpp"

namespace wgcore::testing_support {

inline std::uint32_t ones_sum(std::uint32_t sum, const std::uint8_t* p, std::size_t n) {
  for (std::size_t i = 0; i + 1 < n; i += 2) sum += std::uint32_t(p[i] << 8 | p[i + 1]);
  if (n & 1) sum += std::uint32_t(p[n - 1] << 8);
  return sum;
}
inline std::uint16_t ones_fold(std::uint32_t sum) {
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return std::uint16_t(~sum);
}
inline void put_be16(std::uint8_t* p, std::uint16_t v) {
  p[0] = std::uint8_t(v >> 8);
  p[1] = std::uint8_t(v);
}

// A UDP packet from src to dst: IPv4 with a checksummed header and UDP checksum 0, or IPv6 with
// the UDP checksum it requires. `ecn` goes into the IP header's ECN bits (2 = ECT(0)).
inline std::vector<std::uint8_t> make_udp_packet(const Endpoint& src, const Endpoint& dst,
                                                 const std::string& payload, std::uint8_t ecn = 0) {
  const bool v4 = src.family() == AF_INET;
  const std::size_t ip_len = v4 ? 20 : 40;
  const std::size_t udp_len = 8 + payload.size();
  std::vector<std::uint8_t> pkt(ip_len + udp_len);
  std::uint8_t* h = pkt.data();
  const IpAddr s = src.ip(), d = dst.ip();
  if (v4) {
    h[0] = 0x45;
    h[1] = ecn & 3;
    put_be16(h + 2, std::uint16_t(pkt.size()));
    h[8] = 64;
    h[9] = IPPROTO_UDP;
    std::memcpy(h + 12, s.bytes.data(), 4);
    std::memcpy(h + 16, d.bytes.data(), 4);
    put_be16(h + 10, ones_fold(ones_sum(0, h, 20)));
  } else {
    h[0] = 0x60;
    h[1] = std::uint8_t((ecn & 3) << 4);
    put_be16(h + 4, std::uint16_t(udp_len));
    h[6] = IPPROTO_UDP;
    h[7] = 64;
    std::memcpy(h + 8, s.bytes.data(), 16);
    std::memcpy(h + 24, d.bytes.data(), 16);
  }
  std::uint8_t* u = h + ip_len;
  put_be16(u, src.port());
  put_be16(u + 2, dst.port());
  put_be16(u + 4, std::uint16_t(udp_len));
  std::memcpy(u + 8, payload.data(), payload.size());
  if (!v4) {
    std::uint32_t sum = ones_sum(0, h + 8, 32);  // pseudo-header: addresses, length, next header
    sum += std::uint32_t(udp_len) + IPPROTO_UDP;
    const std::uint16_t c = ones_fold(ones_sum(sum, u, udp_len));
    put_be16(u + 6, c == 0 ? 0xffff : c);
  }
  return pkt;
}

}  // namespace wgcore::testing_support
