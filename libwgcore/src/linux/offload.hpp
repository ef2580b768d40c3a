// Whether the datapath may use kernel offloads (UDP GSO/GRO, TUN virtio-net headers). On by
// default; WGCORE_OFFLOADS=0 in the environment turns every offload off, to compare or to work
// around a kernel or driver that mishandles them. Each offload also falls back on its own when
// the kernel refuses it.
#pragma once

#include <cstdlib>
#include <cstring>

namespace wgcore::io {

inline bool offloads_enabled_by_env() {
  const char* v = std::getenv("WGCORE_OFFLOADS");
  return v == nullptr || !(std::strcmp(v, "0") == 0 || std::strcmp(v, "off") == 0 ||
                           std::strcmp(v, "no") == 0 || std::strcmp(v, "false") == 0);
}

}  // namespace wgcore::io
