// wg-quick's route and rule programming; see wgquick_routes.hpp.
#include "routing/wgquick_routes.hpp"

#include <algorithm>
#include <fstream>
#include <sstream>

#include "routing/address.hpp"
#include "routing/link.hpp"
#include "routing/quick_firewall.hpp"
#include "routing/route.hpp"
#include "routing/rule.hpp"
#include "routing/sysctl.hpp"

namespace wgcore::routing {

namespace {

const char* fam_flag(IpAddr::Family f) { return f == IpAddr::Family::V4 ? "-4" : "-6"; }

void say(const StepLog& log, const std::string& s) {
  if (log) log(s);
}

Status add_default(Netlink& nl, const QuickRoutesInput& in, const IpPrefix& p, std::uint32_t& fwmark,
                   const StepLog& log) {
  if (fwmark == 0) {
    std::uint32_t table = free_policy_table(nl);
    say(log, "set fwmark " + std::to_string(table) + " on " + in.iface + " (over the Control API: no wg runs)");
    if (!in.set_fwmark) return make_error(EINVAL, "setting fwmark on " + in.iface + ": no way to set it");
    if (Status st = in.set_fwmark(table); !st) return st;
    fwmark = table;
  }
  std::vector<Rule> added;
  if (Status st = add_default_policy(nl, in.iface, p.addr.family, fwmark, {}, added, log); !st) return st;
  // wg-quick's firewall for the family: nothing from outside reaches the tunnel's addresses,
  // and replies to the marked UDP keep the mark (see quick_firewall.hpp).
  auto addrs = list_addresses(nl, in.iface);
  if (!addrs) return addrs.error();
  std::vector<IpAddr> mine;
  for (const auto& a : *addrs)
    if (a.addr.family == p.addr.family) mine.push_back(a.addr);
  return add_quick_firewall(in.iface, p.addr.family, fwmark, mine, log);
}

// `ip route show dev IFACE match P` in the main table: a route on the device already covers P.
bool covered(Netlink& nl, const std::string& iface, const IpPrefix& p) {
  auto rs = list_routes(nl, p.addr.family, kTableMain);
  if (!rs) return false;
  return std::any_of(rs->begin(), rs->end(), [&](const Route& r) {
    return r.dev == iface && r.dst.len <= p.len && r.dst.contains(p.addr);
  });
}

unsigned link_mtu(Netlink& nl, const std::string& dev) {
  auto l = get_link(nl, dev);
  return l ? l->mtu : 0;
}

}  // namespace

unsigned quick_mtu(Netlink& nl, const config::WgQuickConfig& cfg, const DeviceUpdate& update) {
  if (cfg.mtu) return *cfg.mtu;
  std::vector<IpAddr> endpoints;
  for (const auto& p : update.peers)
    if (p.endpoint) endpoints.push_back(p.endpoint->ip());
  return auto_mtu(nl, endpoints);
}

Result<std::uint32_t> resolve_table(const config::RouteTable& t) {
  using K = config::RouteTable::Kind;
  if (t.kind == K::kId) return t.id;
  if (t.kind != K::kName) return make_error(EINVAL, "table " + t.to_string() + " has no number");
  if (t.name == "main") return kTableMain;
  if (t.name == "local") return kTableLocal;
  if (t.name == "default") return 253u;
  for (const char* file : {"/etc/iproute2/rt_tables", "/usr/share/iproute2/rt_tables"}) {
    std::ifstream in(file);
    std::string line;
    while (std::getline(in, line)) {
      std::istringstream ss(line.substr(0, line.find('#')));
      std::string id, name;
      if (ss >> id >> name && name == t.name) {
        try {
          return std::uint32_t(std::stoul(id, nullptr, 0));
        } catch (...) {
          break;
        }
      }
    }
  }
  return make_error(EINVAL, "table \"" + t.name + "\" is not in /etc/iproute2/rt_tables");
}

Result<std::optional<std::uint32_t>> add_quick_routes(Netlink& nl, const QuickRoutesInput& in,
                                                      const StepLog& log) {
  using K = config::RouteTable::Kind;
  std::optional<std::uint32_t> policy_table;
  if (in.table.kind == K::kOff) return policy_table;
  std::optional<std::uint32_t> fixed;
  if (in.table.kind != K::kAuto) {
    auto t = resolve_table(in.table);
    if (!t) return t.error();
    fixed = *t;
  }
  // wg-quick: sort -nr -k 2 -t / under LC_ALL=C: prefix length descending, ties by the whole
  // text, also descending ("::/0" before "0.0.0.0/0").
  std::vector<IpPrefix> ips = in.allowed_ips;
  std::stable_sort(ips.begin(), ips.end(), [](const IpPrefix& a, const IpPrefix& b) {
    if (a.len != b.len) return a.len > b.len;
    return a.to_string() > b.to_string();
  });
  std::uint32_t fwmark = in.fwmark;
  for (const auto& p : ips) {
    const char* v = fam_flag(p.addr.family);
    if (fixed) {
      Route r;
      r.dst = p;
      r.dev = in.iface;
      r.table = *fixed;
      say(log, std::string("ip ") + v + " route add " + p.to_string() + " dev " + in.iface + " table " +
                   std::to_string(*fixed));
      if (Status st = add_route(nl, r); !st) return st.error();
    } else if (p.len == 0) {
      if (Status st = add_default(nl, in, p, fwmark, log); !st) return st.error();
      policy_table = fwmark;
    } else if (!covered(nl, in.iface, p)) {
      Route r;
      r.dst = p;
      r.dev = in.iface;
      say(log, std::string("ip ") + v + " route add " + p.to_string() + " dev " + in.iface);
      if (Status st = add_route(nl, r); !st) return st.error();
    }
  }
  return policy_table;
}

Status remove_quick_rules(Netlink& nl, std::uint32_t table, const StepLog& log) {
  for (auto f : {IpAddr::Family::V4, IpAddr::Family::V6}) {
    const char* v = fam_flag(f);
    auto rules = list_rules(nl, f);
    if (!rules) return rules.error();
    // Deleted by priority, one exact rule at a time, the same set wg-quick's loops remove.
    for (const auto& r : *rules) {
      bool lookup_t = r.action == 1 && r.table == table;
      bool suppress = r.action == 1 && r.table == kTableMain && !r.from && !r.to && !r.fwmark &&
                      !r.invert && r.suppress_prefixlength == 0u;
      if (!lookup_t && !suppress) continue;
      Rule del;
      del.family = f;
      del.priority = r.priority;
      del.table = r.table;
      if (r.suppress_prefixlength) del.suppress_prefixlength = r.suppress_prefixlength;
      say(log, std::string("ip ") + v + " rule delete " +
                   (lookup_t ? "table " + std::to_string(table) : std::string("table main suppress_prefixlength 0")));
      if (Status st = delete_rule(nl, del); !st) return st;
    }
  }
  return {};
}

unsigned auto_mtu(Netlink& nl, const std::vector<IpAddr>& endpoints) {
  unsigned mtu = 0;
  for (const auto& ep : endpoints) {
    auto r = route_get(nl, ep);
    if (!r) continue;
    unsigned m = r->mtu ? *r->mtu : (r->dev.empty() ? 0 : link_mtu(nl, r->dev));
    mtu = std::max(mtu, m);
  }
  if (mtu == 0) {
    // `ip route show default`: the first default route of the main table (IPv4).
    auto rs = list_routes(nl, IpAddr::Family::V4, kTableMain);
    if (rs) {
      for (const auto& r : *rs) {
        if (r.dst.len != 0) continue;
        unsigned m = r.mtu ? *r.mtu : (r.dev.empty() ? 0 : link_mtu(nl, r.dev));
        mtu = std::max(mtu, m);
        break;
      }
    }
  }
  if (mtu == 0) mtu = 1500;
  return mtu - 80;
}

}  // namespace wgcore::routing
