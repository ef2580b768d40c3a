// Conversions between wgcore's address types and libnl's nl_addr, and interface names and
// indexes (in the calling thread's namespace). Private to routing/.
#pragma once

#include <memory>
#include <optional>
#include <string>

#include "wgcore/ip.hpp"
#include "wgcore/result.hpp"

struct nl_addr;

namespace wgcore::routing::detail {

struct NlAddrPut {
  void operator()(nl_addr* a) const;
};
using NlAddrPtr = std::unique_ptr<nl_addr, NlAddrPut>;

int af_of(IpAddr::Family f);
NlAddrPtr to_nl_addr(const IpAddr& a, unsigned prefix_len);
inline NlAddrPtr to_nl_addr(const IpPrefix& p) { return to_nl_addr(p.addr, p.len); }
// nullopt for an absent or non-IP address.
std::optional<IpPrefix> from_nl_addr(const nl_addr* a);

// if_nametoindex with an error naming the device ("Cannot find device \"wg0\"", as `ip` says).
Result<int> ifindex(const std::string& dev);
std::string ifname(int index);

}  // namespace wgcore::routing::detail
