#include "importer.hpp"

#include <algorithm>

namespace wgcore::frrwgd {

using routing::feed::Nexthop;
using routing::feed::RouteUpdate;

namespace {
constexpr std::uint32_t kMainTable = 254;
constexpr std::uint8_t kProtoKernel = 2;
}  // namespace

std::vector<Key> Importer::resolve(const IpPrefix& prefix, const std::vector<Nexthop>& nhs) const {
  // index in peers_ -> best weight among its nexthops
  std::map<std::size_t, unsigned> hit;
  for (const auto& nh : nhs) {
    if (!nh.gateway) continue;
    if (nh.ifindex != 0 && nh.ifindex != ifindex_) continue;
    for (std::size_t i = 0; i < peers_.size(); ++i)
      for (const auto& a : peers_[i].tunnel_addresses)
        if (a == *nh.gateway) hit[i] = std::max<unsigned>(hit[i], nh.weight);
  }
  std::vector<std::size_t> order;
  for (const auto& [i, w] : hit) order.push_back(i);
  auto pref = [&](std::size_t i) {
    return preferred_.count({to_base64(peers_[i].key), prefix}) ? 1 : 0;
  };
  std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
    if (pref(a) != pref(b)) return pref(a) > pref(b);
    if (hit.at(a) != hit.at(b)) return hit.at(a) > hit.at(b);
    return a < b;
  });
  std::vector<Key> out;
  for (auto i : order) out.push_back(peers_[i].key);
  return out;
}

void Importer::replace(const IpPrefix& prefix, std::vector<Key> now, std::vector<Offer>& out) {
  std::vector<Key> before;
  if (auto it = routes_.find(prefix); it != routes_.end()) before = it->second.peers;
  for (const auto& k : before)
    if (std::find(now.begin(), now.end(), k) == now.end()) out.push_back({k, prefix, true});
  for (const auto& k : now)
    if (std::find(before.begin(), before.end(), k) == before.end()) out.push_back({k, prefix, false});
}

std::size_t Importer::update(const RouteUpdate& u, std::vector<Offer>& out) {
  if (u.table != kMainTable) return 0;
  const IpPrefix prefix = u.prefix.canonical();
  if (u.kind == RouteUpdate::Kind::kDelete) {
    unconfirmed_.erase(prefix);
    replace(prefix, {}, out);
    routes_.erase(prefix);
    unresolved_.erase(prefix);
    return 0;
  }
  unconfirmed_.erase(prefix);
  unresolved_.erase(prefix);
  std::vector<Key> now;
  if (u.protocol != exclude_ && u.protocol != kProtoKernel) {
    now = resolve(prefix, u.nexthops);
    // A gateway on the WireGuard interface means a peer was meant; a route without one is the
    // interface's own (zebra's import-table copy of an export, a device route), not an import.
    if (now.empty())
      for (const auto& nh : u.nexthops)
        if (nh.gateway && nh.ifindex == ifindex_ && ifindex_ != 0) {
          unresolved_[prefix] = "next hop " + nh.gateway->to_string() +
                                " on the WireGuard interface is no peer's tunnel-address";
          break;
        }
  }
  replace(prefix, now, out);
  const std::size_t n = now.size();
  if (now.empty()) routes_.erase(prefix);
  else routes_[prefix] = Known{u.nexthops, std::move(now)};
  return n;
}

void Importer::set_peers(std::vector<ImportPeer> peers, std::vector<Offer>& out) {
  peers_ = std::move(peers);
  std::vector<IpPrefix> gone;
  for (auto& [prefix, known] : routes_) {
    auto now = resolve(prefix, known.nexthops);
    replace(prefix, now, out);
    known.peers = std::move(now);
    if (known.peers.empty()) gone.push_back(prefix);
  }
  for (const auto& p : gone) routes_.erase(p);
}

void Importer::mark() {
  marking_ = true;
  unconfirmed_.clear();
  for (const auto& [prefix, known] : routes_) unconfirmed_.insert(prefix);
  for (const auto& [prefix, why] : unresolved_) unconfirmed_.insert(prefix);
}

std::size_t Importer::sweep(std::vector<Offer>& out) {
  std::size_t n = unconfirmed_.size();
  for (const auto& prefix : unconfirmed_) {
    replace(prefix, {}, out);
    routes_.erase(prefix);
    unresolved_.erase(prefix);
  }
  unconfirmed_.clear();
  marking_ = false;
  return n;
}

std::vector<Key> Importer::candidates(const IpPrefix& p) const {
  if (auto it = routes_.find(p); it != routes_.end()) return it->second.peers;
  return {};
}

}  // namespace wgcore::frrwgd
