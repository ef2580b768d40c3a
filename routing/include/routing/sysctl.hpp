// Writing a sysctl under /proc/sys (per network namespace for net.*), e.g. wg-quick's
// net.ipv4.conf.all.src_valid_mark=1 for fwmark-based policy routing.
#pragma once

#include <string>

#include "wgcore/result.hpp"

namespace wgcore::routing {

// key in dotted form ("net.ipv4.conf.all.src_valid_mark").
Status write_sysctl(const std::string& key, const std::string& value);
Result<std::string> read_sysctl(const std::string& key);

}  // namespace wgcore::routing
