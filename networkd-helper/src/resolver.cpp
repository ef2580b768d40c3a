// getaddrinfo-based endpoint resolution (see resolver.hpp).
#include "resolver.hpp"

#include <netdb.h>

#include <cstring>

namespace wgcore::networkd {

bool endpoint_is_literal(const config::EndpointSpec& spec) {
  return IpAddr::parse(spec.host).has_value();
}

Result<Endpoint> resolve_endpoint(const config::EndpointSpec& spec) {
  if (auto ip = IpAddr::parse(spec.host)) return Endpoint::make(*ip, spec.port);
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_DGRAM;
  hints.ai_protocol = IPPROTO_UDP;
  addrinfo* res = nullptr;
  std::string port = std::to_string(spec.port);
  int rc = getaddrinfo(spec.host.c_str(), port.c_str(), &hints, &res);
  if (rc != 0)
    return make_error(EHOSTUNREACH, "Failed to resolve '" + spec.host + "': " + gai_strerror(rc));
  Endpoint ep;
  for (addrinfo* ai = res; ai; ai = ai->ai_next) {
    ep = Endpoint::from_sockaddr(ai->ai_addr, ai->ai_addrlen);
    if (ep.valid()) break;
  }
  freeaddrinfo(res);
  if (!ep.valid()) return make_error(EHOSTUNREACH, "No usable address for '" + spec.host + "'");
  return ep;
}

}  // namespace wgcore::networkd
