// IP addresses, prefixes and UDP endpoints: value types shared by the core (AllowedIPs),
// the config model and the datapath. Text forms follow `wg`: 192.0.2.1, 2001:db8::1,
// 10.0.0.0/8, 192.0.2.1:51820, [2001:db8::1]:51820.
#pragma once

#include <array>
#include <compare>
#include <cstdint>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>

#include <netinet/in.h>
#include <sys/socket.h>

namespace wgcore {

struct IpAddr {
  enum class Family : std::uint8_t { V4 = 4, V6 = 6 };
  Family family = Family::V4;
  // Network byte order; an IPv4 address uses bytes[0..3] and leaves the rest zero.
  std::array<std::uint8_t, 16> bytes{};

  static IpAddr v4(std::uint32_t host_order);
  static IpAddr v4_bytes(const std::uint8_t* four);
  static IpAddr v6_bytes(const std::uint8_t* sixteen);
  static std::optional<IpAddr> parse(std::string_view s);
  std::string to_string() const;
  bool is_v4() const { return family == Family::V4; }
  unsigned bits() const { return is_v4() ? 32u : 128u; }
  unsigned byte_len() const { return is_v4() ? 4u : 16u; }
  friend auto operator<=>(const IpAddr&, const IpAddr&) = default;
};

struct IpPrefix {
  IpAddr addr;
  std::uint8_t len = 0;

  // "10.0.0.0/8"; a bare address means a host prefix (/32 or /128), like `wg`.
  static std::optional<IpPrefix> parse(std::string_view s);
  std::string to_string() const;
  // The same prefix with host bits cleared (what AllowedIPs stores and `wg show` prints).
  IpPrefix canonical() const;
  bool contains(const IpAddr& a) const;
  friend auto operator<=>(const IpPrefix&, const IpPrefix&) = default;
};

// A UDP endpoint. Kept as a sockaddr union so the datapath can hand it to the kernel as is.
struct Endpoint {
  union {
    sockaddr sa;
    sockaddr_in in4;
    sockaddr_in6 in6;
  } addr{};

  // `addr{}` value-initializes only the union's first member (16 bytes of sockaddr); clang leaves
  // sockaddr_in6's flowinfo/scope_id bytes as they were, so zero the whole union explicitly.
  Endpoint() {
    std::memset(&addr, 0, sizeof addr);
    addr.sa.sa_family = AF_UNSPEC;
  }
  static Endpoint from_sockaddr(const sockaddr* sa, socklen_t len);
  static Endpoint make(const IpAddr& ip, std::uint16_t port);
  // Numeric forms only ("192.0.2.1:51820", "[2001:db8::1]:51820"); name resolution is the
  // caller's job (the UAPI carries numeric endpoints).
  static std::optional<Endpoint> parse(std::string_view s);
  std::string to_string() const;
  bool valid() const { return addr.sa.sa_family == AF_INET || addr.sa.sa_family == AF_INET6; }
  int family() const { return addr.sa.sa_family; }
  socklen_t socklen() const;
  std::uint16_t port() const;
  IpAddr ip() const;
  friend bool operator==(const Endpoint& a, const Endpoint& b);
};

}  // namespace wgcore
