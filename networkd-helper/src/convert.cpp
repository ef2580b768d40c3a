// wg-quick -> networkd conversion (see convert.hpp). The mapping, and why:
//   Address=, DNS=, search domains -> .network [Network] Address=, DNS=, Domains=.
//   MTU= -> .netdev MTUBytes= (the helper sets it on the device it creates).
//   Table=auto (default): wg-quick adds a route per AllowedIPs prefix to main -> RouteTable=main;
//     with a /0 prefix it instead uses table 51820 + fwmark 51820 + two policy rules, written
//     as [RoutingPolicyRule] sections (networkd's documented equivalent).
//   Table=off -> RouteTable=off; Table=N -> RouteTable=N.
//   LinkLocalAddressing=no: wg-quick adds no IPv6 link-local address (networkd itself never
//     does for kind wireguard; our TUN device would otherwise get one).
#include "convert.hpp"

#include <set>

namespace wgcore::networkd {

namespace {

std::string join(const std::vector<IpPrefix>& v) {
  std::string out;
  for (const auto& p : v) {
    if (!out.empty()) out += ",";
    out += p.to_string();
  }
  return out;
}

bool has_default(const config::WgQuickConfig& c, bool v4) {
  for (const auto& p : c.peers)
    for (const auto& a : p.allowed_ips)
      if (a.len == 0 && a.addr.is_v4() == v4) return true;
  return false;
}

}  // namespace

Converted convert_wgquick(const config::WgQuickConfig& c, const std::string& iface) {
  Converted out;
  using config::RouteTable;
  RouteTable table = c.table.value_or(RouteTable{});
  const bool def4 = has_default(c, true), def6 = has_default(c, false);
  const bool policy = table.kind == RouteTable::Kind::kAuto && (def4 || def6);
  std::uint32_t fwmark = c.fwmark.value_or(0);
  std::string route_table;
  switch (table.kind) {
    case RouteTable::Kind::kAuto:
      route_table = policy ? "51820" : "main";
      if (policy && fwmark == 0) fwmark = 51820;
      break;
    case RouteTable::Kind::kOff: route_table = "off"; break;
    case RouteTable::Kind::kId: route_table = std::to_string(table.id); break;
    case RouteTable::Kind::kName:
      route_table = table.name;
      out.notes.push_back("Table = " + table.name +
                          ": networkd knows route table names only from RouteTable= in "
                          "networkd.conf(5); define it there.");
      break;
  }

  std::string& n = out.netdev;
  n += "# Converted from a wg-quick configuration by wgcore-networkd convert.\n";
  n += "[NetDev]\nName=" + iface + "\nKind=wireguard\n";
  if (c.mtu) n += "MTUBytes=" + std::to_string(*c.mtu) + "\n";
  n += "\n[WireGuard]\n";
  if (c.private_key) n += "PrivateKey=" + to_base64(*c.private_key) + "\n";
  if (c.listen_port) n += "ListenPort=" + std::to_string(*c.listen_port) + "\n";
  if (fwmark) n += "FirewallMark=" + std::to_string(fwmark) + "\n";
  n += "RouteTable=" + route_table + "\n";
  for (const auto& p : c.peers) {
    n += "\n[WireGuardPeer]\nPublicKey=" + to_base64(p.public_key) + "\n";
    if (p.preshared_key) n += "PresharedKey=" + to_base64(*p.preshared_key) + "\n";
    if (!p.allowed_ips.empty()) n += "AllowedIPs=" + join(p.allowed_ips) + "\n";
    if (p.endpoint) n += "Endpoint=" + p.endpoint->to_string() + "\n";
    if (p.persistent_keepalive && *p.persistent_keepalive)
      n += "PersistentKeepalive=" + std::to_string(*p.persistent_keepalive) + "\n";
  }

  std::string& w = out.network;
  w += "# Converted from a wg-quick configuration by wgcore-networkd convert.\n";
  w += "[Match]\nName=" + iface + "\n\n[Network]\n";
  for (const auto& a : c.addresses) w += "Address=" + a.to_string() + "\n";
  for (const auto& d : c.dns) w += "DNS=" + d.to_string() + "\n";
  if (!c.dns_search.empty()) {
    w += "Domains=";
    for (std::size_t i = 0; i < c.dns_search.size(); ++i) w += (i ? " " : "") + c.dns_search[i];
    w += "\n";
  }
  if (!c.dns.empty() && (def4 || def6)) w += "DNSDefaultRoute=yes\n";
  w += "LinkLocalAddressing=no\nIPv6AcceptRA=no\n";
  if (policy) {
    // wg-quick: "ip rule add not fwmark 51820 table 51820" and
    // "ip rule add table main suppress_prefixlength 0", per family with a default route.
    std::string family = def4 && def6 ? "both" : def4 ? "ipv4" : "ipv6";
    w += "\n[RoutingPolicyRule]\nFirewallMark=" + std::to_string(fwmark) +
         "\nInvertRule=yes\nTable=" + route_table + "\nFamily=" + family + "\n";
    w += "\n[RoutingPolicyRule]\nTable=main\nSuppressPrefixLength=0\nFamily=" + family + "\n";
  }
  if (!c.pre_up.empty() || !c.post_up.empty() || !c.pre_down.empty() || !c.post_down.empty())
    out.notes.push_back("PreUp/PostUp/PreDown/PostDown hooks have no networkd equivalent and were "
                        "left out; use a systemd unit ordered after wgcore-networkd.service.");
  if (c.save_config) out.notes.push_back("SaveConfig = true has no networkd equivalent; ignored.");
  return out;
}

}  // namespace wgcore::networkd
