// Parsing and formatting of addresses, prefixes and endpoints in the forms `wg` uses.
#include "wgcore/ip.hpp"

#include <arpa/inet.h>

#include <charconv>
#include <cstring>

namespace wgcore {

IpAddr IpAddr::v4(std::uint32_t host_order) {
  IpAddr a;
  a.family = Family::V4;
  std::uint32_t n = htonl(host_order);
  std::memcpy(a.bytes.data(), &n, 4);
  return a;
}

IpAddr IpAddr::v4_bytes(const std::uint8_t* four) {
  IpAddr a;
  a.family = Family::V4;
  std::memcpy(a.bytes.data(), four, 4);
  return a;
}

IpAddr IpAddr::v6_bytes(const std::uint8_t* sixteen) {
  IpAddr a;
  a.family = Family::V6;
  std::memcpy(a.bytes.data(), sixteen, 16);
  return a;
}

std::optional<IpAddr> IpAddr::parse(std::string_view s) {
  if (s.empty() || s.size() >= INET6_ADDRSTRLEN) return std::nullopt;
  char buf[INET6_ADDRSTRLEN];
  std::memcpy(buf, s.data(), s.size());
  buf[s.size()] = 0;
  IpAddr a;
  if (s.find(':') == std::string_view::npos) {
    a.family = Family::V4;
    if (inet_pton(AF_INET, buf, a.bytes.data()) != 1) return std::nullopt;
  } else {
    a.family = Family::V6;
    if (inet_pton(AF_INET6, buf, a.bytes.data()) != 1) return std::nullopt;
  }
  return a;
}

std::string IpAddr::to_string() const {
  char buf[INET6_ADDRSTRLEN];
  inet_ntop(is_v4() ? AF_INET : AF_INET6, bytes.data(), buf, sizeof buf);
  return buf;
}

std::optional<IpPrefix> IpPrefix::parse(std::string_view s) {
  auto slash = s.find('/');
  auto addr = IpAddr::parse(s.substr(0, slash));
  if (!addr) return std::nullopt;
  IpPrefix p{*addr, std::uint8_t(addr->bits())};
  if (slash != std::string_view::npos) {
    auto len = s.substr(slash + 1);
    unsigned v = 0;
    auto [ptr, ec] = std::from_chars(len.data(), len.data() + len.size(), v);
    if (len.empty() || ec != std::errc() || ptr != len.data() + len.size() || v > addr->bits())
      return std::nullopt;
    p.len = std::uint8_t(v);
  }
  return p;
}

std::string IpPrefix::to_string() const { return addr.to_string() + "/" + std::to_string(len); }

IpPrefix IpPrefix::canonical() const {
  IpPrefix p = *this;
  for (unsigned i = 0; i < 16; ++i) {
    unsigned bit = i * 8;
    if (bit >= len)
      p.addr.bytes[i] = 0;
    else if (bit + 8 > len)
      p.addr.bytes[i] &= std::uint8_t(0xff << (8 - (len - bit)));
  }
  return p;
}

bool IpPrefix::contains(const IpAddr& a) const {
  if (a.family != addr.family) return false;
  IpPrefix host{a, len};
  return host.canonical().addr == canonical().addr;
}

Endpoint Endpoint::from_sockaddr(const sockaddr* sa, socklen_t len) {
  Endpoint e;
  if (sa->sa_family == AF_INET && len >= sizeof(sockaddr_in))
    std::memcpy(&e.addr.in4, sa, sizeof(sockaddr_in));
  else if (sa->sa_family == AF_INET6 && len >= sizeof(sockaddr_in6))
    std::memcpy(&e.addr.in6, sa, sizeof(sockaddr_in6));
  return e;
}

Endpoint Endpoint::make(const IpAddr& ip, std::uint16_t port) {
  Endpoint e;
  if (ip.is_v4()) {
    e.addr.in4.sin_family = AF_INET;
    e.addr.in4.sin_port = htons(port);
    std::memcpy(&e.addr.in4.sin_addr, ip.bytes.data(), 4);
  } else {
    e.addr.in6.sin6_family = AF_INET6;
    e.addr.in6.sin6_port = htons(port);
    std::memcpy(&e.addr.in6.sin6_addr, ip.bytes.data(), 16);
  }
  return e;
}

std::optional<Endpoint> Endpoint::parse(std::string_view s) {
  std::string_view host, port;
  if (!s.empty() && s[0] == '[') {
    auto close = s.find(']');
    if (close == std::string_view::npos || close + 1 >= s.size() || s[close + 1] != ':')
      return std::nullopt;
    host = s.substr(1, close - 1);
    port = s.substr(close + 2);
    // Scope ids ("fe80::1%eth0") are not carried by the UAPI's numeric form.
    if (host.find(':') == std::string_view::npos) return std::nullopt;
  } else {
    auto colon = s.rfind(':');
    if (colon == std::string_view::npos) return std::nullopt;
    host = s.substr(0, colon);
    port = s.substr(colon + 1);
    if (host.find(':') != std::string_view::npos) return std::nullopt;
  }
  unsigned p = 0;
  auto [ptr, ec] = std::from_chars(port.data(), port.data() + port.size(), p);
  if (port.empty() || ec != std::errc() || ptr != port.data() + port.size() || p > 65535)
    return std::nullopt;
  auto ip = IpAddr::parse(host);
  if (!ip) return std::nullopt;
  return make(*ip, std::uint16_t(p));
}

std::string Endpoint::to_string() const {
  if (!valid()) return "(none)";
  std::string host = ip().to_string();
  if (family() == AF_INET6) host = "[" + host + "]";
  return host + ":" + std::to_string(port());
}

socklen_t Endpoint::socklen() const {
  return family() == AF_INET6 ? sizeof(sockaddr_in6) : family() == AF_INET ? sizeof(sockaddr_in) : 0;
}

std::uint16_t Endpoint::port() const {
  return ntohs(family() == AF_INET6 ? addr.in6.sin6_port : addr.in4.sin_port);
}

IpAddr Endpoint::ip() const {
  if (family() == AF_INET6) return IpAddr::v6_bytes(addr.in6.sin6_addr.s6_addr);
  return IpAddr::v4_bytes(reinterpret_cast<const std::uint8_t*>(&addr.in4.sin_addr));
}

bool operator==(const Endpoint& a, const Endpoint& b) {
  if (a.family() != b.family()) return false;
  if (a.family() == AF_INET)
    return a.addr.in4.sin_port == b.addr.in4.sin_port &&
           a.addr.in4.sin_addr.s_addr == b.addr.in4.sin_addr.s_addr;
  if (a.family() == AF_INET6)
    return a.addr.in6.sin6_port == b.addr.in6.sin6_port &&
           std::memcmp(&a.addr.in6.sin6_addr, &b.addr.in6.sin6_addr, 16) == 0 &&
           a.addr.in6.sin6_scope_id == b.addr.in6.sin6_scope_id;
  return true;
}

}  // namespace wgcore
