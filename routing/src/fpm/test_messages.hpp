// Test helpers: netlink route/nexthop messages and FPM frames built by hand, and the fixture
// directory. Tests only.
#pragma once

#include <linux/nexthop.h>
#include <linux/rtnetlink.h>
#include <sys/socket.h>

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "routing/route_feed.hpp"
#include "testing/fixtures.hpp"

namespace wgcore::routing::feed::testmsg {

using Bytes = std::vector<std::uint8_t>;

inline std::string fixture_dir() { return testing_support::fixture_dir("fpm"); }

inline Bytes read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return Bytes(std::istreambuf_iterator<char>(in), {});
}

template <class T>
void put(Bytes& b, T v) {
  std::uint8_t raw[sizeof(T)];
  std::memcpy(raw, &v, sizeof(T));
  b.insert(b.end(), raw, raw + sizeof(T));
}

// Appends one attribute (padded to 4).
inline void attr(Bytes& b, std::uint16_t type, const Bytes& value) {
  put<std::uint16_t>(b, static_cast<std::uint16_t>(4 + value.size()));
  put<std::uint16_t>(b, type);
  b.insert(b.end(), value.begin(), value.end());
  while (b.size() % 4) b.push_back(0);
}
inline Bytes u32(std::uint32_t v) {
  Bytes b;
  put(b, v);
  return b;
}
inline Bytes ip(const char* s) {
  auto a = IpAddr::parse(s);
  return Bytes(a->bytes.begin(), a->bytes.begin() + a->byte_len());
}

// nlmsghdr + body, length filled in.
inline Bytes message(std::uint16_t type, const Bytes& body, std::uint16_t flags = 0x501) {
  Bytes m;
  put<std::uint32_t>(m, static_cast<std::uint32_t>(16 + body.size()));
  put<std::uint16_t>(m, type);
  put<std::uint16_t>(m, flags);
  put<std::uint32_t>(m, 0);
  put<std::uint32_t>(m, 0);
  m.insert(m.end(), body.begin(), body.end());
  return m;
}

// rtmsg header for a route message; attributes follow.
inline Bytes rtmsg_body(std::uint8_t family, std::uint8_t dst_len, std::uint8_t proto = 186,
                        std::uint8_t type = RTN_UNICAST, std::uint8_t table = 254) {
  return Bytes{family, dst_len, 0, 0, table, proto, 0, type, 0, 0, 0, 0};
}

inline Bytes route(std::uint16_t msg_type, const char* dst, std::uint8_t dst_len,
                   std::uint32_t nh_id, std::uint8_t proto = 186) {
  bool v6 = std::strchr(dst, ':') != nullptr;
  Bytes body = rtmsg_body(v6 ? AF_INET6 : AF_INET, dst_len, proto);
  attr(body, RTA_DST, ip(dst));
  attr(body, RTA_PRIORITY, u32(20));
  if (nh_id) attr(body, RTA_NH_ID, u32(nh_id));
  return message(msg_type, body);
}

inline Bytes nexthop(std::uint32_t id, const char* gw, std::uint32_t oif) {
  Bytes body{AF_INET, 0, 11, 0, 0, 0, 0, 0};
  attr(body, NHA_ID, u32(id));
  attr(body, NHA_GATEWAY, ip(gw));
  attr(body, NHA_OIF, u32(oif));
  return message(RTM_NEWNEXTHOP, body);
}

// members: {id, weight as in `ip nexthop add ... group id,weight`}
inline Bytes group(std::uint32_t id, std::vector<std::pair<std::uint32_t, unsigned>> members) {
  Bytes body{AF_UNSPEC, 0, 11, 0, 0, 0, 0, 0};
  attr(body, NHA_ID, u32(id));
  Bytes g;
  for (auto [mid, w] : members) {
    put<std::uint32_t>(g, mid);
    put<std::uint8_t>(g, static_cast<std::uint8_t>((w - 1) & 0xff));
    put<std::uint8_t>(g, static_cast<std::uint8_t>((w - 1) >> 8));
    put<std::uint16_t>(g, 0);
  }
  attr(body, NHA_GROUP, g);
  return message(RTM_NEWNEXTHOP, body);
}

inline Bytes del_nexthop(std::uint32_t id) {
  Bytes body{AF_UNSPEC, 0, 11, 0, 0, 0, 0, 0};
  attr(body, NHA_ID, u32(id));
  return message(RTM_DELNEXTHOP, body);
}

// FPM frame around a netlink message.
inline Bytes frame(const Bytes& nl, std::uint8_t version = 1, std::uint8_t type = 1) {
  std::size_t len = nl.size() + 4;
  Bytes f{version, type, static_cast<std::uint8_t>(len >> 8), static_cast<std::uint8_t>(len)};
  f.insert(f.end(), nl.begin(), nl.end());
  return f;
}

inline Bytes cat(std::initializer_list<Bytes> parts) {
  Bytes out;
  for (const auto& p : parts) out.insert(out.end(), p.begin(), p.end());
  return out;
}

inline std::vector<std::string> strings(const std::vector<RouteUpdate>& us) {
  std::vector<std::string> out;
  for (const auto& u : us) out.push_back(u.to_string());
  return out;
}

}  // namespace wgcore::routing::feed::testmsg
