// The nexthop objects and routes behind both feeds; see detail::RouteState in route_feed.hpp.
#include <linux/rtnetlink.h>

#include "rtnl_msg.hpp"

namespace wgcore::routing::feed::detail {

Status RouteState::apply(std::span<const std::uint8_t> message, std::vector<RouteUpdate>& out) {
  auto h = rtnl::read_header(message);
  if (!h) return make_error(EBADMSG, "netlink: message shorter than its header");
  if (h->type == RTM_NEWROUTE || h->type == RTM_DELROUTE) {
    auto parsed = rtnl::parse_route(message);
    if (!parsed) return parsed.error();
    if (!*parsed || (*parsed)->cloned) return {};
    rtnl::ParsedRoute& p = **parsed;
    const Key key = p.update.key();
    if (p.update.kind == RouteUpdate::Kind::kAdd) {
      Tracked t;
      t.nh_id = p.nh_id;
      t.inline_nexthops = std::move(p.update.nexthops);
      t.route = std::move(p.update);
      t.route.nexthops = resolve(t);
      auto old = routes_.find(key);
      // The kernel re-announces routes after a nexthop object changed, which this state
      // already followed: an add that changes nothing is not reported again.
      bool same = old != routes_.end() && old->second.route == t.route;
      untrack(key);
      if (!same) out.push_back(t.route);
      if (t.nh_id != 0) users_[t.nh_id].insert(key);
      routes_.emplace(key, std::move(t));
      return {};
    }
    auto it = routes_.find(key);
    if (it == routes_.end()) {
      // zebra's RTM_DELROUTE repeats the metric, but `ip route del` style deletes need not:
      // fall back to the (first) route of that table and prefix.
      auto lb = routes_.lower_bound(Key{p.update.table, p.update.prefix, 0});
      if (lb != routes_.end() && std::get<0>(lb->first) == p.update.table &&
          std::get<1>(lb->first) == p.update.prefix)
        it = lb;
    }
    if (it == routes_.end()) {
      out.push_back(std::move(p.update));  // not seen: report what the message says
      return {};
    }
    RouteUpdate del = it->second.route;
    del.kind = RouteUpdate::Kind::kDelete;
    out.push_back(std::move(del));
    untrack(it->first);
    return {};
  }
  if (h->type == RTM_NEWNEXTHOP || h->type == RTM_DELNEXTHOP) {
    auto parsed = rtnl::parse_nexthop(message);
    if (!parsed) return parsed.error();
    if (!*parsed) return {};
    rtnl::ParsedNexthop& p = **parsed;
    if (p.is_delete) {
      forget_object(p.id, out);
      return {};
    }
    objects_[p.id] = std::move(p.object);
    std::set<std::uint32_t> changed{p.id};
    for (const auto& [gid, obj] : objects_)
      for (const auto& m : obj.group)
        if (m.id == p.id) changed.insert(gid);
    reresolve(changed, out);
    return {};
  }
  return {};  // neighbours, links, MPLS: not ours
}

void RouteState::clear() {
  objects_.clear();
  routes_.clear();
  users_.clear();
}

std::vector<Nexthop> RouteState::resolve(const Tracked& t) const {
  if (t.nh_id == 0) return t.inline_nexthops;
  auto it = objects_.find(t.nh_id);
  if (it == objects_.end()) return t.inline_nexthops;
  const Object& o = it->second;
  if (o.single) return {*o.single};
  std::vector<Nexthop> out;
  for (const auto& m : o.group) {
    auto mit = objects_.find(m.id);
    // The kernel allows only plain nexthops in a group; anything else resolves to nothing.
    if (mit == objects_.end() || !mit->second.single) continue;
    Nexthop nh = *mit->second.single;
    nh.weight = m.weight;
    out.push_back(nh);
  }
  return out;
}

void RouteState::reresolve(const std::set<std::uint32_t>& ids, std::vector<RouteUpdate>& out) {
  for (auto id : ids) {
    auto uit = users_.find(id);
    if (uit == users_.end()) continue;
    for (const auto& key : uit->second) {
      Tracked& t = routes_.at(key);
      auto nhs = resolve(t);
      if (nhs == t.route.nexthops) continue;
      t.route.nexthops = std::move(nhs);
      out.push_back(t.route);
    }
  }
}

void RouteState::forget_object(std::uint32_t first, std::vector<RouteUpdate>& out) {
  // A worklist, not recursion: a group that loses its last member goes too (as in the kernel),
  // and a hostile stream could nest groups as deep as it likes.
  std::vector<std::uint32_t> work{first};
  while (!work.empty()) {
    const std::uint32_t id = work.back();
    work.pop_back();
    objects_.erase(id);
    if (auto uit = users_.find(id); uit != users_.end()) {
      const std::set<Key> keys = uit->second;  // untrack() edits the set
      for (const auto& key : keys) {
        RouteUpdate del = routes_.at(key).route;
        del.kind = RouteUpdate::Kind::kDelete;
        out.push_back(std::move(del));
        untrack(key);
      }
    }
    std::set<std::uint32_t> shrunk;
    for (auto& [gid, obj] : objects_) {
      auto before = obj.group.size();
      std::erase_if(obj.group, [id](const Member& m) { return m.id == id; });
      if (obj.group.size() == before) continue;
      if (obj.group.empty())
        work.push_back(gid);
      else
        shrunk.insert(gid);
    }
    reresolve(shrunk, out);
  }
}

void RouteState::untrack(const Key& key) {
  auto it = routes_.find(key);
  if (it == routes_.end()) return;
  if (auto id = it->second.nh_id; id != 0) {
    auto uit = users_.find(id);
    if (uit != users_.end()) {
      uit->second.erase(key);
      if (uit->second.empty()) users_.erase(uit);
    }
  }
  routes_.erase(it);
}

}  // namespace wgcore::routing::feed::detail
