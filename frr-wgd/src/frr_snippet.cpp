#include "frr_snippet.hpp"

#include <algorithm>
#include <map>
#include <set>

namespace wgcore::frrwgd {

namespace {

namespace policy = routing::policy;

std::string list_name(const std::string& ours) { return "FRR-WGD-" + ours; }
std::string in_map(const PeerConfig& p, bool v4) { return std::string("FRR-WGD-IN") + (v4 ? "4-" : "6-") + p.name; }
std::string guard_name(const PeerConfig& p, bool v4) { return std::string("FRR-WGD-GUARD") + (v4 ? "4-" : "6-") + p.name; }
std::string hold_name(const PeerConfig& p, bool v4) { return std::string("FRR-WGD-HOLD") + (v4 ? "4-" : "6-") + p.name; }

const policy::PrefixList* find_list(const Config& cfg, const std::string& name, IpAddr::Family f) {
  for (const auto& l : cfg.prefix_lists)
    if (l.name == name && l.family == f) return &l;
  return nullptr;
}

// One family's inbound route-map for a peer: the policy's static rules in bgpd's terms. A
// default route is denied unless allow-default; then the peer's own prefix-list decides, as in
// frr-wgd (no list: nothing is permitted, the route-map's implicit deny).
void in_route_map(std::string& o, const Config& cfg, const PeerConfig& p, bool v4) {
  const std::string name = in_map(p, v4);
  const std::string ip = v4 ? "ip" : "ipv6";
  // Filled and kept in step by frr-wgd itself (frr-vtysh): the fact-based rules.
  o += "route-map " + name + " deny 3\n";
  o += " match " + ip + " address prefix-list " + guard_name(p, v4) + "\n";
  o += "exit\n";
  // Also frr-wgd's: what it holds back over max-prefixes or until approval (empty without
  // them; there for every peer, since adding route-maps again never removes an entry).
  o += "route-map " + name + " deny 4\n";
  o += " match " + ip + " address prefix-list " + hold_name(p, v4) + "\n";
  o += "exit\n";
  if (!p.allow_default) {
    o += "route-map " + name + " deny 5\n";
    o += " match " + ip + " address prefix-list " + (v4 ? "FRR-WGD-DEFAULT4" : "FRR-WGD-DEFAULT6") + "\n";
    o += "exit\n";
  }
  const std::string& list = v4 ? p.prefix_list_v4 : p.prefix_list_v6;
  if (!list.empty() && find_list(cfg, list, v4 ? IpAddr::Family::V4 : IpAddr::Family::V6)) {
    o += "route-map " + name + " permit 10\n";
    o += " match " + ip + " address prefix-list " + list_name(list) + "\n";
    if (!v4) o += " set ipv6 next-hop prefer-global\n";
    o += "exit\n";
  } else {
    o += "! peer " + p.name + " has no " + ip + " prefix-list: frr-wgd refuses all its " + ip +
         " routes, and so does this route-map\n";
    o += "route-map " + name + " deny 10\nexit\n";
  }
}

// Everything bgpd reads: the policy's prefix-lists and route-maps, and the sessions.
std::string bgpd_part(const Config& cfg, const std::set<std::uint32_t>& tables, const std::vector<std::string>& v6_ifaces) {
  std::string o;
  // The trust policy's static rules, enforced by bgpd too: what frr-wgd would refuse for these
  // reasons never becomes a BGP route here, so it never reaches the kernel's FIB either.
  o += "!\n! The trust policy at the BGP door: frr-wgd's prefix-lists (renamed FRR-WGD-*) and its\n"
       "! default-route rule filter what each peer announces before bgpd accepts it\n";
  for (const auto& [name, list] : frr_policy_lists(cfg))
    for (const auto& l : list.lines) o += l + "\n";
  o += frr_route_maps(cfg);
  if (!v6_ifaces.empty()) {
    o += "!\n! IPv6 exports are kernel routes in the main table (FRR 8.4 has no ipv6 import-table)\n";
    int seq = 10;
    for (const auto& name : v6_ifaces) {
      o += "route-map FRR-WGD permit " + std::to_string(seq) + "\n";
      o += " match interface " + name + "\n";
      o += "exit\n";
      seq += 10;
    }
  }

  o += "!\n! bgpd: one session per tunnel-address (IPv4 for ipv4 unicast, IPv6 for ipv6 unicast;\n"
       "! a WireGuard interface has a link-local address too, so the IPv6 maps prefer the global\n"
       "! next hop, the peer's tunnel-address). Add your own network/redistribute statements.\n";
  o += "router bgp " + (cfg.bgp_asn ? std::to_string(*cfg.bgp_asn) : std::string("ASN")) + "\n";
  if (!cfg.bgp_asn) o += " ! replace ASN with this router's AS number (or set bgp-asn in frr-wgd.conf)\n";
  for (const auto& i : cfg.interfaces)
    for (const auto& p : i.peers)
      for (const auto& a : p.tunnel_addresses)
        o += " neighbor " + a.to_string() + " remote-as " + p.remote_as + "\n";
  for (bool v4 : {true, false}) {
    o += std::string(" address-family ") + (v4 ? "ipv4" : "ipv6") + " unicast\n";
    if (v4)
      for (auto t : tables) o += "  redistribute table " + std::to_string(t) + "\n";
    if (!v4 && !v6_ifaces.empty()) o += "  redistribute kernel route-map FRR-WGD\n";
    for (const auto& i : cfg.interfaces)
      for (const auto& p : i.peers)
        for (const auto& a : p.tunnel_addresses) {
          const std::string n = "  neighbor " + a.to_string();
          if (a.is_v4() != v4) {
            // FRR's default activates every neighbor for ipv4 unicast: not the IPv6 sessions.
            if (v4) o += "  no" + n.substr(1) + " activate\n";
            continue;
          }
          o += n + " activate\n";
          o += n + " route-map " + in_map(p, v4) + " in\n";
          o += n + " route-map FRR-WGD-OUT out\n";
        }
    o += " exit-address-family\n";
  }
  o += "exit\n";
  return o;
}

}  // namespace

FrrLists frr_policy_lists(const Config& cfg) {
  FrrLists out;
  std::set<std::pair<std::string, IpAddr::Family>> used;
  for (const auto& i : cfg.interfaces)
    for (const auto& p : i.peers) {
      if (!p.prefix_list_v4.empty()) used.insert({p.prefix_list_v4, IpAddr::Family::V4});
      if (!p.prefix_list_v6.empty()) used.insert({p.prefix_list_v6, IpAddr::Family::V6});
    }
  for (const auto& [name, family] : used)
    if (const auto* l = find_list(cfg, name, family))
      for (const auto& e : l->entries) {
        auto& list = out[list_name(name)];
        list.v4 = family == IpAddr::Family::V4;
        list.lines.push_back(std::string(list.v4 ? "ip" : "ipv6") + " prefix-list " + list_name(name) + " " +
                             e.to_string());
      }
  out["FRR-WGD-DEFAULT4"] = {true, {"ip prefix-list FRR-WGD-DEFAULT4 seq 5 permit 0.0.0.0/0"}};
  out["FRR-WGD-DEFAULT6"] = {false, {"ipv6 prefix-list FRR-WGD-DEFAULT6 seq 5 permit ::/0"}};
  return out;
}

std::string frr_route_maps(const Config& cfg) {
  std::string o;
  for (const auto& i : cfg.interfaces)
    for (const auto& p : i.peers) {
      in_route_map(o, cfg, p, true);
      in_route_map(o, cfg, p, false);
    }
  o += "! what this router sends its peers is its own business: everything (FRR's default\n"
       "! `bgp ebgp-requires-policy` wants a policy each way on every eBGP session)\n";
  o += "route-map FRR-WGD-OUT permit 10\nexit\n";
  return o;
}

FrrLists frr_guard_lists(const InterfaceConfig& ic, const policy::Facts& f) {
  FrrLists out;
  for (const auto& p : ic.peers)
    for (bool v4 : {true, false}) {
      const auto fam = v4 ? IpAddr::Family::V4 : IpAddr::Family::V6;
      const std::uint8_t bits = v4 ? 32 : 128;
      // Entries in the order FRR must try them (first match decides), mirroring the engine's:
      // the "covers" rules come before hijack; within the statics, the longest one containing
      // the prefix decides (another peer's: hijack, permit; this peer's own: no hijack, deny).
      std::vector<std::pair<bool, std::string>> entries;  // (permit, "PREFIX[ le N]")
      std::set<std::string> seen;
      auto add = [&](bool permit, const IpPrefix& pre, bool and_inside) {
        std::string v = pre.canonical().to_string();
        if (and_inside && pre.len < bits) v += " le " + std::to_string(bits);
        if (seen.insert(v).second) entries.push_back({permit, v});
      };
      // covers-endpoint / covers-local: every prefix containing the address, /1 and longer (a
      // /0 is the default-route rule's, and allow-default lets it skip these two rules).
      std::vector<IpAddr> addrs = f.local_addresses;
      for (const auto& [k, eps] : f.peer_endpoints) addrs.insert(addrs.end(), eps.begin(), eps.end());
      for (const auto& a : addrs)
        if (a.family == fam)
          for (unsigned len = 1; len <= bits; ++len) add(true, IpPrefix{a, std::uint8_t(len)}, false);
      std::vector<std::pair<IpPrefix, bool>> statics;  // (static, another peer's)
      for (const auto& [k, list] : f.static_allowed_ips)
        for (const auto& st : list)
          if (st.addr.family == fam) statics.push_back({st, !(k == p.public_key)});
      std::stable_sort(statics.begin(), statics.end(),
                       [](const auto& x, const auto& y) { return x.first.len > y.first.len; });
      for (const auto& [st, others] : statics) add(others, st, true);
      auto& list = out[guard_name(p, v4)];
      list.v4 = v4;
      std::uint32_t seq = 0;
      for (const auto& [permit, v] : entries)
        list.lines.push_back(std::string(v4 ? "ip" : "ipv6") + " prefix-list " + guard_name(p, v4) + " seq " +
                        std::to_string(seq += 5) + (permit ? " permit " : " deny ") + v);
    }
  return out;
}

FrrLists frr_hold_lists(const InterfaceConfig& ic, const policy::Engine& engine) {
  FrrLists out;
  for (const auto& p : ic.peers) {
    // Every peer's, empty ones too: a reload that drops max-prefixes or approval must empty
    // what FRR still holds.
    auto& l4 = out[hold_name(p, true)];
    auto& l6 = out[hold_name(p, false)];
    l6.v4 = false;
    if (p.max_prefixes == 0 && !p.approval) continue;
    std::uint32_t seq4 = 0, seq6 = 0;
    for (const auto& e : engine.entries(p.public_key)) {
      if (!held_back(e.decision)) continue;
      const bool v4 = e.prefix.addr.family == IpAddr::Family::V4;
      (v4 ? l4 : l6).lines.push_back(std::string(v4 ? "ip" : "ipv6") + " prefix-list " + hold_name(p, v4) + " seq " +
                                     std::to_string(v4 ? (seq4 += 5) : (seq6 += 5)) + " permit " + e.prefix.to_string());
    }
  }
  return out;
}

bool held_back(const policy::Decision& d) {
  return d.rule == policy::Rule::kMaxPrefixes || d.rule == policy::Rule::kApprovalPending;
}

std::string frr_replace_list(const std::string& name, const FrrList& list) {
  const std::string ip = list.v4 ? "ip" : "ipv6";
  // The description creates the list when it is missing, so `no` never fails; the entries then
  // come back without the description. bgpd re-evaluates routes only after its route-map delay,
  // so the moment without entries changes nothing.
  std::string o = ip + " prefix-list " + name + " description frr-wgd\n" + "no " + ip + " prefix-list " + name + "\n";
  for (const auto& l : list.lines) o += l + "\n";
  return o;
}

std::optional<SnippetPart> parse_snippet_part(std::string_view word) {
  if (word == "zebra") return SnippetPart::kZebra;
  if (word == "bgpd") return SnippetPart::kBgpd;
  return std::nullopt;
}

std::string frr_config_snippet(const Config& cfg, SnippetPart part) {
  std::string o;
  std::set<std::uint32_t> tables;
  std::vector<std::string> v6_ifaces;
  for (const auto& i : cfg.interfaces)
    if (i.export_enabled) {
      tables.insert(i.export_table);
      v6_ifaces.push_back(i.name);
    }
  o += "! FRR configuration for frr-wgd (" + cfg.path + "). Feed it to a running FRR with\n"
       "! `vtysh -f FILE`, or paste it into `vtysh` after `configure terminal`; it only adds.\n";
  if (part == SnippetPart::kBgpd) return o + bgpd_part(cfg, tables, v6_ifaces);
  o += "!\n! zebra\n";
  for (auto t : tables) o += "ip import-table " + std::to_string(t) + "\n";
  if (cfg.import == ImportSource::kFpm) {
    o += "! zebra must run with the FPM module: add '-M dplane_fpm_nl' to zebra_options in\n"
         "! /etc/frr/daemons (FPM replays the whole FIB on every reconnect)\n";
    std::string addr = cfg.fpm_address.to_string();
    o += "fpm address " + addr + " port " + std::to_string(cfg.fpm_port) + "\n";
    o += "! FRR 8.4 cannot encode every nexthop object for FPM; inline nexthops always work\n";
    o += "no fpm use-next-hop-groups\n";
  } else if (cfg.import == ImportSource::kRtnetlink) {
    o += "! import: frr-wgd watches kernel routes over rtnetlink; no zebra option is needed\n";
  }

  if (part == SnippetPart::kZebra) return o;
  return o + bgpd_part(cfg, tables, v6_ifaces);
}

}  // namespace wgcore::frrwgd
