// `frr-wgd show frr-config`: the FRR configuration the daemon's setup needs, as a vtysh-ready
// snippet derived from frr-wgd.conf (export table, interfaces, FPM address).
#pragma once

#include <string>

#include "config.hpp"

namespace wgcore::frrwgd {

std::string frr_config_snippet(const Config& cfg);

}  // namespace wgcore::frrwgd
