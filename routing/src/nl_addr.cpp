// nl_addr and interface-index conversions; see nl_addr.hpp.
#include "nl_addr.hpp"

#include <net/if.h>
#include <netlink/addr.h>

namespace wgcore::routing::detail {

void NlAddrPut::operator()(nl_addr* a) const { nl_addr_put(a); }

int af_of(IpAddr::Family f) { return f == IpAddr::Family::V4 ? AF_INET : AF_INET6; }

NlAddrPtr to_nl_addr(const IpAddr& a, unsigned prefix_len) {
  NlAddrPtr out(nl_addr_build(af_of(a.family), a.bytes.data(), a.byte_len()));
  if (out) nl_addr_set_prefixlen(out.get(), int(prefix_len));
  return out;
}

std::optional<IpPrefix> from_nl_addr(const nl_addr* a) {
  if (a == nullptr) return std::nullopt;
  // libnl's getters take non-const pointers though they only read.
  auto* m = const_cast<nl_addr*>(a);
  int af = nl_addr_get_family(m);
  unsigned len = nl_addr_get_len(m);
  IpPrefix p;
  const auto* bytes = static_cast<const std::uint8_t*>(nl_addr_get_binary_addr(m));
  if (af == AF_INET && len == 4) {
    p.addr = IpAddr::v4_bytes(bytes);
  } else if (af == AF_INET6 && len == 16) {
    p.addr = IpAddr::v6_bytes(bytes);
  } else if ((af == AF_INET || af == AF_INET6) && len == 0) {
    // A default route's destination: the family's all-zero address.
    p.addr = af == AF_INET ? IpAddr::v4(0) : IpAddr{IpAddr::Family::V6, {}};
  } else {
    return std::nullopt;
  }
  p.len = std::uint8_t(nl_addr_get_prefixlen(m));
  return p;
}

Result<int> ifindex(const std::string& dev) {
  unsigned idx = if_nametoindex(dev.c_str());
  if (idx == 0) return make_error(ENODEV, "Cannot find device \"" + dev + "\"");
  return int(idx);
}

std::string ifname(int index) {
  char buf[IF_NAMESIZE] = {};
  if (index <= 0 || if_indextoname(unsigned(index), buf) == nullptr)
    return "if" + std::to_string(index);
  return buf;
}

}  // namespace wgcore::routing::detail
