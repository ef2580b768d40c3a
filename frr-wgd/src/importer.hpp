// From routes to offers: turns the route feed (FPM or rtnetlink) into "peer P announces prefix X"
// and "P no longer does" for the policy engine. A route is a candidate for a peer when one of its
// nexthops is the peer's tunnel address on the WireGuard interface. ECMP across peers gives one
// offer per peer in a fixed order (the peer that held the prefix before first, then config
// order), so the engine's first-come ownership is the same on every replay. Pure logic.
#pragma once

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "routing/route_feed.hpp"
#include "wgcore/ip.hpp"
#include "wgcore/key.hpp"

namespace wgcore::frrwgd {

struct Offer {
  Key peer;
  IpPrefix prefix;
  bool withdraw = false;
};

struct ImportPeer {
  Key key;
  std::vector<IpAddr> tunnel_addresses;
};

class Importer {
 public:
  // ifindex: the WireGuard interface's; exclude_protocol: our own export protocol.
  Importer(int ifindex, std::uint8_t exclude_protocol) : ifindex_(ifindex), exclude_(exclude_protocol) {}

  // Peers in config order. Re-resolves every known route and appends the resulting offers.
  void set_peers(std::vector<ImportPeer> peers, std::vector<Offer>& out);
  void set_ifindex(int ifindex) { ifindex_ = ifindex; }
  // Prefixes a peer held before (the previous run's imports): preferred in ECMP ordering.
  void set_preferred(std::set<std::pair<std::string, IpPrefix>> preferred) { preferred_ = std::move(preferred); }

  // Applies one route update; appends withdrawals first, then offers. Returns how many peers
  // the route now leads to (more than one: ECMP across peers, worth a log line).
  std::size_t update(const routing::feed::RouteUpdate& u, std::vector<Offer>& out);

  // Mark-and-sweep for a full replay: mark() before it, sweep() after it withdraws every
  // route the replay did not repeat.
  void mark();
  std::size_t sweep(std::vector<Offer>& out);
  bool marking() const { return marking_; }

  std::size_t routes() const { return routes_.size(); }
  // Routes through the WireGuard interface whose next hops are no peer's tunnel-address (an IPv6
  // link-local next hop, an address nobody configured): no peer to offer them to, so they are
  // recorded here with the reason instead of disappearing. Cleared by a delete or a resolvable
  // update, and swept like the rest.
  const std::map<IpPrefix, std::string>& unresolved() const { return unresolved_; }
  // Peers (in offer order) a prefix is currently offered by.
  std::vector<Key> candidates(const IpPrefix& p) const;

 private:
  std::vector<Key> resolve(const IpPrefix& prefix, const std::vector<routing::feed::Nexthop>& nhs) const;
  void replace(const IpPrefix& prefix, std::vector<Key> now, std::vector<Offer>& out);

  struct Known {
    std::vector<routing::feed::Nexthop> nexthops;
    std::vector<Key> peers;
  };
  int ifindex_;
  std::uint8_t exclude_;
  std::vector<ImportPeer> peers_;
  std::set<std::pair<std::string, IpPrefix>> preferred_;  // (base64 key, prefix)
  std::map<IpPrefix, Known> routes_;
  std::map<IpPrefix, std::string> unresolved_;
  std::set<IpPrefix> unconfirmed_;
  bool marking_ = false;
};

}  // namespace wgcore::frrwgd
