// Endpoint hostnames: resolved with getaddrinfo when the netdev is applied, retried while
// resolution fails and re-resolved on a fixed interval (getaddrinfo does not expose the TTL),
// the way wg-quick's reresolve-dns.sh does it from a timer.
#pragma once

#include "wgcore/wgquick.hpp"
#include "wgcore/ip.hpp"
#include "wgcore/result.hpp"

namespace wgcore::networkd {

// A literal address needs no lookup; a hostname takes the first address getaddrinfo returns
// (IPv4 and IPv6 alike, in the resolver's preference order).
Result<Endpoint> resolve_endpoint(const config::EndpointSpec& spec);
bool endpoint_is_literal(const config::EndpointSpec& spec);

}  // namespace wgcore::networkd
