// Splits a wg-quick model into NM's VPN IP configuration and our own policy routing; see
// ip_plan.hpp.
#include "ip_plan.hpp"

#include <algorithm>

namespace wgcore::nm {

namespace {

void add_unique(std::vector<IpPrefix>& v, const IpPrefix& p) {
  if (std::find(v.begin(), v.end(), p) == v.end()) v.push_back(p);
}

}  // namespace

std::vector<IpPrefix> fixed_table_routes(const config::WgQuickConfig& cfg) {
  std::vector<IpPrefix> out;
  for (const auto& peer : cfg.peers)
    for (const auto& ip : peer.allowed_ips) add_unique(out, ip.canonical());
  return out;
}

IpPlan plan_ip(const config::WgQuickConfig& cfg) {
  using K = config::RouteTable::Kind;
  IpPlan plan;
  for (const auto& a : cfg.addresses) {
    FamilyPlan& f = a.addr.is_v4() ? plan.v4 : plan.v6;
    if (!f.address) f.address = a;
    else f.extra_addresses.push_back(a);
  }
  for (const auto& d : cfg.dns) (d.is_v4() ? plan.v4 : plan.v6).dns.push_back(d);
  plan.domains = cfg.dns_search;
  K kind = cfg.table ? cfg.table->kind : K::kAuto;
  if (kind == K::kOff) {
    plan.routes_off = true;
    return plan;
  }
  if (kind != K::kAuto) {
    plan.fixed_table = *cfg.table;
    return plan;
  }
  for (const auto& peer : cfg.peers) {
    for (const auto& ip : peer.allowed_ips) {
      IpPrefix p = ip.canonical();
      FamilyPlan& f = p.addr.is_v4() ? plan.v4 : plan.v6;
      if (p.len == 0) f.full_tunnel = true;
      else add_unique(f.routes, p);
    }
  }
  return plan;
}

}  // namespace wgcore::nm
