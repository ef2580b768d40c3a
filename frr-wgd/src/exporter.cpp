#include "exporter.hpp"

#include <set>
#include <tuple>

namespace wgcore::frrwgd {

using routing::Route;

std::vector<Route> export_routes(const std::string& dev, std::uint32_t table, std::uint8_t protocol,
                                 const std::map<Key, std::vector<IpPrefix>>& statics,
                                 const std::vector<IpPrefix>& onlink) {
  auto on_link = [&](const IpPrefix& p) {
    for (const auto& c : onlink)
      if (c.addr.family == p.addr.family && c.len <= p.len && c.canonical().contains(p.addr)) return true;
    return false;
  };
  std::set<IpPrefix> prefixes;
  for (const auto& [k, v] : statics)
    for (const auto& p : v)
      if (p.len != 0 && !on_link(p.canonical())) prefixes.insert(p.canonical());
  std::vector<Route> out;
  for (const auto& p : prefixes) {
    Route r;
    r.dst = p;
    r.dev = dev;
    r.table = p.addr.is_v4() ? table : routing::kTableMain;
    r.protocol = protocol;
    out.push_back(std::move(r));
  }
  return out;
}

namespace {
auto route_key(const Route& r) { return std::tuple(r.dst, r.table, r.dev); }
}  // namespace

RouteDiff diff_routes(const std::vector<Route>& want, const std::vector<Route>& current) {
  RouteDiff d;
  std::set<std::tuple<IpPrefix, std::uint32_t, std::string>> have, wanted;
  for (const auto& r : current) have.insert(route_key(r));
  for (const auto& r : want) wanted.insert(route_key(r));
  for (const auto& r : want)
    if (!have.count(route_key(r))) d.add.push_back(r);
  for (const auto& r : current)
    if (!wanted.count(route_key(r))) d.remove.push_back(r);
  return d;
}

Result<std::vector<Route>> current_export_routes(routing::Netlink& nl, const std::string& dev,
                                                 std::uint32_t table, std::uint8_t protocol) {
  std::vector<Route> out;
  const std::pair<IpAddr::Family, std::uint32_t> where[] = {{IpAddr::Family::V4, table},
                                                            {IpAddr::Family::V6, routing::kTableMain}};
  for (const auto& [family, t] : where) {
    auto routes = routing::list_routes(nl, family, t);
    if (!routes) return routes.error();
    for (auto& r : *routes)
      if (r.protocol == protocol && r.dev == dev) out.push_back(std::move(r));
  }
  return out;
}

std::vector<std::string> apply_diff(routing::Netlink& nl, const RouteDiff& diff) {
  std::vector<std::string> errors;
  for (const auto& r : diff.remove)
    if (auto st = routing::delete_route(nl, r); !st && st.error().code != ESRCH)
      errors.push_back(st.error().message);
  for (const auto& r : diff.add)
    if (auto st = routing::add_route(nl, r); !st && st.error().code != EEXIST)
      errors.push_back(st.error().message);
  return errors;
}

}  // namespace wgcore::frrwgd
