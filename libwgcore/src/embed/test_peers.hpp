// Shorthands the embedding API's tests and its fuzz target share: a one-peer update (C++) and a
// one-peer wgcore_peer (C ABI), with one allowed prefix and an optional endpoint.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>

#include <cstring>
#include <optional>

#include "wgcore.h"
#include "wgcore/config.hpp"

namespace wgcore::embed_testing {

inline DeviceUpdate one_peer(const Key& key, const char* allowed, std::optional<Endpoint> endpoint) {
  DeviceUpdate u;
  PeerUpdate p;
  p.public_key = key;
  p.endpoint = endpoint;
  p.allowed_ips.push_back({AllowedIpOp::Kind::kAdd, *IpPrefix::parse(allowed)});
  u.peers.push_back(p);
  return u;
}

inline sockaddr_in addr4(const char* ip, std::uint16_t port) {
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_port = htons(port);
  inet_pton(AF_INET, ip, &sa.sin_addr);
  return sa;
}

// wgcore_tunnel_set_peer with `key`, `allowed` and, unless null, `endpoint`.
inline int c_set_peer(wgcore_tunnel* t, const std::uint8_t* key, const sockaddr_in* endpoint, const char* allowed,
                      wgcore_error* err) {
  const char* list[] = {allowed};
  wgcore_peer p{};
  p.size = sizeof p;
  std::memcpy(p.public_key, key, WGCORE_KEY_LEN);
  p.endpoint = reinterpret_cast<const sockaddr*>(endpoint);
  p.endpoint_len = endpoint ? sizeof *endpoint : 0;
  p.allowed_ips = list;
  p.allowed_ips_len = 1;
  return wgcore_tunnel_set_peer(t, &p, err);
}

}  // namespace wgcore::embed_testing
