// getaddrinfo-based endpoint resolution (see resolver.hpp).
#include "resolver.hpp"

namespace wgcore::networkd {

bool endpoint_is_literal(const config::EndpointSpec& spec) {
  return IpAddr::parse(spec.host).has_value();
}

// One attempt: the daemon retries on its own schedule (and re-resolves periodically).
Result<Endpoint> resolve_endpoint(const config::EndpointSpec& spec) {
  auto ep = config::resolve_system(spec, 0);
  if (!ep) {
    if (ep.error().code == EAFNOSUPPORT)
      return make_error(EHOSTUNREACH, "No usable address for '" + spec.host + "'");
    return make_error(EHOSTUNREACH, "Failed to resolve '" + spec.host + "': " + ep.error().message);
  }
  return ep;
}

}  // namespace wgcore::networkd
