#include "frr_snippet.hpp"

#include <set>

namespace wgcore::frrwgd {

std::string frr_config_snippet(const Config& cfg) {
  std::string o;
  std::set<std::uint32_t> tables;
  std::vector<std::string> v6_ifaces;
  for (const auto& i : cfg.interfaces)
    if (i.export_enabled) {
      tables.insert(i.export_table);
      v6_ifaces.push_back(i.name);
    }
  o += "! FRR configuration for frr-wgd (" + cfg.path + "). Put it in zebra.conf/bgpd.conf or\n"
       "! paste it into `vtysh -c 'configure terminal'`.\n";
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
  o += "!\n! A WireGuard interface has a link-local address too: prefer the global IPv6 next hop,\n"
       "! the peer's tunnel-address, on routes learned over the tunnel\n";
  o += "route-map FRR-WGD-IN permit 10\n set ipv6 next-hop prefer-global\nexit\n";
  o += "!\n! bgpd\n";
  o += "router bgp " + (cfg.bgp_asn ? std::to_string(*cfg.bgp_asn) : std::string("ASN")) + "\n";
  if (!cfg.bgp_asn) o += " ! replace ASN with this router's AS number (or set bgp-asn in frr-wgd.conf)\n";
  o += " address-family ipv4 unicast\n";
  for (auto t : tables) o += "  redistribute table " + std::to_string(t) + "\n";
  o += " exit-address-family\n";
  o += " address-family ipv6 unicast\n";
  if (!v6_ifaces.empty()) o += "  redistribute kernel route-map FRR-WGD\n";
  for (const auto& i : cfg.interfaces)
    for (const auto& p : i.peers)
      for (const auto& a : p.tunnel_addresses)
        if (!a.is_v4()) o += "  neighbor " + a.to_string() + " route-map FRR-WGD-IN in\n";
  o += " exit-address-family\n";
  o += "exit\n";
  o += "!\n! Every BGP neighbor on a WireGuard interface must be one of its peers' tunnel-address:\n";
  for (const auto& i : cfg.interfaces)
    for (const auto& p : i.peers)
      for (const auto& a : p.tunnel_addresses)
        o += "!   " + i.name + " peer " + p.name + ": neighbor " + a.to_string() + "\n";
  return o;
}

}  // namespace wgcore::frrwgd
