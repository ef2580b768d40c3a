// The Facts in the shapes the rules query: sorted addresses answer "does this prefix contain any
// endpoint / local address" with one binary search, and static AllowedIPs keyed by prefix answer
// "which static prefix contains this one" with at most one hash lookup per prefix length in use.
#pragma once

#include <array>
#include <unordered_map>
#include <utility>
#include <vector>

#include "prefix_hash.hpp"
#include "routing/policy.hpp"

namespace wgcore::routing::policy {

class FactsIndex {
 public:
  struct Static {
    IpPrefix prefix;          // canonical
    std::vector<Key> owners;  // normally one; Facts may list a prefix twice
  };

  void build(const Facts& facts);
  // The lowest endpoint inside p (and its peer), or nullptr.
  const std::pair<IpAddr, Key>* endpoint_in(const IpPrefix& p) const;
  // The lowest local address inside p, or nullptr.
  const IpAddr* local_in(const IpPrefix& p) const;
  // The longest static AllowedIP equal to or containing p, or nullptr.
  const Static* longest_static_covering(const IpPrefix& p) const;
  // p (canonical) is exactly one of `peer`'s static AllowedIPs.
  bool is_own_static(const Key& peer, const IpPrefix& p) const;

 private:
  std::vector<std::pair<IpAddr, Key>> endpoints_;  // sorted by address
  std::vector<IpAddr> locals_;                     // sorted
  std::vector<Static> statics_;
  std::unordered_map<IpPrefix, std::size_t, PrefixHash> static_index_;
  std::array<bool, 33> v4_lengths_{};   // which static prefix lengths exist, so a lookup
  std::array<bool, 129> v6_lengths_{};  //   tries only those
};

// The last address of p (host bits all ones).
IpAddr last_address(const IpPrefix& p);

}  // namespace wgcore::routing::policy
