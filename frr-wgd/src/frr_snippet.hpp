// `frr-wgd show frr-config [zebra|bgpd]`: the FRR configuration the daemon's setup needs, as a
// snippet derived from frr-wgd.conf (export table, FPM address, the policy's static rules as
// prefix-lists and route-maps, one BGP session per tunnel-address). Whole, it is what `vtysh -f`
// takes (integrated configuration, FRR's default); the zebra or bgpd part alone is that daemon's
// configuration file.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "config.hpp"

namespace wgcore::frrwgd {

enum class SnippetPart { kAll, kZebra, kBgpd };
std::optional<SnippetPart> parse_snippet_part(std::string_view word);  // "zebra", "bgpd"

std::string frr_config_snippet(const Config& cfg, SnippetPart part = SnippetPart::kAll);

// The parts frr-wgd keeps in step itself when frr-vtysh is set. Prefix-lists are keyed by name,
// each a list of complete `ip[v6] prefix-list NAME seq N ...` lines:
//  - the policy's lists as FRR-WGD-<NAME>, and FRR-WGD-DEFAULT4/6;
//  - per peer and family FRR-WGD-GUARD4-<PEER> / GUARD6-<PEER>: every prefix the fact-based
//    rules refuse for that peer (containing any peer's endpoint or a local address, /1 and
//    longer; equal to or inside another peer's static AllowedIPs), after deny entries for the
//    peer's own statics, which are no hijack. The route-maps deny what the guard permits.
struct FrrList {
  bool v4 = true;                  // `ip prefix-list` or `ipv6 prefix-list`
  std::vector<std::string> lines;
  friend bool operator==(const FrrList&, const FrrList&) = default;
};
using FrrLists = std::map<std::string, FrrList>;
FrrLists frr_policy_lists(const Config& cfg);
FrrLists frr_guard_lists(const InterfaceConfig& ic, const routing::policy::Facts& facts);
// Per peer, FRR-WGD-HOLD4-<PEER> / HOLD6-<PEER>: the prefixes the engine holds back (refused over max-prefixes, pending approval), so that bgpd drops them too
// and they leave the kernel's FIB. frr-wgd keeps such a prefix (show refused/pending) after
// bgpd dropped it, and lets go of it when the engine would install it (approval, room under
// max-prefixes, a reload): it leaves the list, bgpd asks the peer again, and a prefix the peer
// still announces comes back through FPM as a new offer.
FrrLists frr_hold_lists(const InterfaceConfig& ic, const routing::policy::Engine& engine);
bool held_back(const routing::policy::Decision& d);  // max-prefixes or approval-pending
// The per-peer inbound route-maps and FRR-WGD-OUT (adding them again changes nothing).
std::string frr_route_maps(const Config& cfg);
// vtysh input (configuration mode) that makes list `name` exactly `list`.
std::string frr_replace_list(const std::string& name, const FrrList& list);

}  // namespace wgcore::frrwgd
