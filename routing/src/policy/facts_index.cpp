// FactsIndex: see facts_index.hpp.
#include "facts_index.hpp"

#include <algorithm>

namespace wgcore::routing::policy {

IpAddr last_address(const IpPrefix& p) {
  IpAddr a = p.canonical().addr;
  const unsigned bits = a.bits();
  for (unsigned bit = p.len; bit < bits; ++bit)
    a.bytes[bit / 8] |= std::uint8_t(0x80u >> (bit % 8));
  return a;
}

void FactsIndex::build(const Facts& facts) {
  endpoints_.clear();
  for (const auto& [key, addrs] : facts.peer_endpoints)
    for (const auto& a : addrs) endpoints_.emplace_back(a, key);
  std::sort(endpoints_.begin(), endpoints_.end(),
            [](const auto& x, const auto& y) { return x.first < y.first; });
  locals_ = facts.local_addresses;
  std::sort(locals_.begin(), locals_.end());
  statics_.clear();
  static_index_.clear();
  v4_lengths_.fill(false);
  v6_lengths_.fill(false);
  for (const auto& [key, prefixes] : facts.static_allowed_ips) {
    for (const auto& raw : prefixes) {
      if (raw.len > raw.addr.bits()) continue;
      const IpPrefix p = raw.canonical();
      auto [it, fresh] = static_index_.try_emplace(p, statics_.size());
      if (fresh) statics_.push_back(Static{p, {}});
      statics_[it->second].owners.push_back(key);
      (p.addr.is_v4() ? v4_lengths_[p.len] : v6_lengths_[p.len]) = true;
    }
  }
}

const std::pair<IpAddr, Key>* FactsIndex::endpoint_in(const IpPrefix& p) const {
  const IpPrefix c = p.canonical();
  auto it = std::lower_bound(endpoints_.begin(), endpoints_.end(), c.addr,
                             [](const auto& e, const IpAddr& a) { return e.first < a; });
  if (it == endpoints_.end() || last_address(c) < it->first) return nullptr;
  return &*it;
}

const IpAddr* FactsIndex::local_in(const IpPrefix& p) const {
  const IpPrefix c = p.canonical();
  auto it = std::lower_bound(locals_.begin(), locals_.end(), c.addr);
  if (it == locals_.end() || last_address(c) < *it) return nullptr;
  return &*it;
}

const FactsIndex::Static* FactsIndex::longest_static_covering(const IpPrefix& p) const {
  if (statics_.empty()) return nullptr;
  const bool v4 = p.addr.is_v4();
  for (int len = p.len; len >= 0; --len) {
    if (!(v4 ? v4_lengths_[std::size_t(len)] : v6_lengths_[std::size_t(len)])) continue;
    auto it = static_index_.find(IpPrefix{p.addr, std::uint8_t(len)}.canonical());
    if (it != static_index_.end()) return &statics_[it->second];
  }
  return nullptr;
}

bool FactsIndex::is_own_static(const Key& peer, const IpPrefix& p) const {
  auto it = static_index_.find(p);
  if (it == static_index_.end()) return false;
  const auto& owners = statics_[it->second].owners;
  return std::find(owners.begin(), owners.end(), peer) != owners.end();
}

}  // namespace wgcore::routing::policy
