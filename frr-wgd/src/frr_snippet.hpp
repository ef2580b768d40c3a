// `frr-wgd show frr-config [zebra|bgpd]`: the FRR configuration the daemon's setup needs, as a
// snippet derived from frr-wgd.conf (export table, FPM address, the policy's static rules as
// prefix-lists and route-maps, one BGP session per tunnel-address). Whole, it is what `vtysh -f`
// takes (integrated configuration, FRR's default); the zebra or bgpd part alone is that daemon's
// configuration file.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "config.hpp"

namespace wgcore::frrwgd {

enum class SnippetPart { kAll, kZebra, kBgpd };
std::optional<SnippetPart> parse_snippet_part(std::string_view word);  // "zebra", "bgpd"

std::string frr_config_snippet(const Config& cfg, SnippetPart part = SnippetPart::kAll);

}  // namespace wgcore::frrwgd
