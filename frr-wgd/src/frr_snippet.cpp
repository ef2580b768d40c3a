#include "frr_snippet.hpp"

#include <set>

namespace wgcore::frrwgd {

namespace {

namespace policy = routing::policy;

std::string list_name(const std::string& ours) { return "FRR-WGD-" + ours; }
std::string in_map(const PeerConfig& p, bool v4) { return std::string("FRR-WGD-IN") + (v4 ? "4-" : "6-") + p.name; }

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
  std::set<std::pair<std::string, IpAddr::Family>> used;
  for (const auto& i : cfg.interfaces)
    for (const auto& p : i.peers) {
      if (!p.prefix_list_v4.empty()) used.insert({p.prefix_list_v4, IpAddr::Family::V4});
      if (!p.prefix_list_v6.empty()) used.insert({p.prefix_list_v6, IpAddr::Family::V6});
    }
  for (const auto& [name, family] : used)
    if (const auto* l = find_list(cfg, name, family))
      for (const auto& e : l->entries)
        o += std::string(family == IpAddr::Family::V4 ? "ip" : "ipv6") + " prefix-list " + list_name(name) + " " +
             e.to_string() + "\n";
  o += "ip prefix-list FRR-WGD-DEFAULT4 seq 5 permit 0.0.0.0/0\n";
  o += "ipv6 prefix-list FRR-WGD-DEFAULT6 seq 5 permit ::/0\n";
  for (const auto& i : cfg.interfaces)
    for (const auto& p : i.peers) {
      in_route_map(o, cfg, p, true);
      in_route_map(o, cfg, p, false);
    }
  o += "! what this router sends its peers is its own business: everything (FRR's default\n"
       "! `bgp ebgp-requires-policy` wants a policy each way on every eBGP session)\n";
  o += "route-map FRR-WGD-OUT permit 10\nexit\n";
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
