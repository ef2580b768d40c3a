// The trust policy Engine: remembers every offered prefix with its decision and keeps indexes
// (holder of each prefix, refusals by max-prefixes and by owner, per-peer counts) so that offer,
// withdraw and approve cost a few hash lookups, and a reload re-decides everything and returns
// only the differences. decide() is the one place the rules are applied, in Rule order.
#include <algorithm>
#include <set>
#include <unordered_map>
#include <utility>

#include "facts_index.hpp"
#include "prefix_hash.hpp"
#include "routing/policy.hpp"

namespace wgcore::routing::policy {
namespace {

struct Offer {
  Key peer;
  IpPrefix prefix;  // canonical
  Decision decision;
  bool installed = false;
};

struct PeerState {
  std::unordered_map<IpPrefix, std::uint64_t, PrefixHash> by_prefix;  // -> offer order
  std::uint64_t offered = 0;
  std::uint64_t active = 0;  // accepted + pending
  std::set<std::uint64_t> refused_by_max;
  std::set<IpPrefix> approved;  // operator approvals; survive withdraw and reload
};

bool active(const Decision& d) { return d.verdict != Verdict::kRefuse; }

std::string family_name(const IpPrefix& p) { return p.addr.is_v4() ? "ipv4" : "ipv6"; }

}  // namespace

struct Engine::State {
  std::vector<PrefixList> lists;
  std::vector<std::vector<std::string>> entry_text;  // "prefix-list NAME seq ..." per entry
  std::map<std::pair<IpAddr::Family, std::string>, std::size_t> list_index;
  std::vector<PeerPolicy> peers;
  std::unordered_map<Key, std::size_t, KeyHash> peer_index;
  FactsIndex facts;

  std::map<std::uint64_t, Offer> offers;  // by offer order
  std::uint64_t next_order = 0;
  std::unordered_map<Key, PeerState, KeyHash> peer_states;
  std::unordered_map<IpPrefix, std::uint64_t, PrefixHash> holder;  // accepted/pending: order
  std::unordered_map<IpPrefix, std::set<std::uint64_t>, PrefixHash> refused_by_owned;
  std::vector<std::string> warnings;

  const PeerPolicy* policy(const Key& k) const {
    auto it = peer_index.find(k);
    return it == peer_index.end() ? nullptr : &peers[it->second];
  }

  std::string name_of(const Key& k) const {
    const PeerPolicy* p = policy(k);
    return p && !p->name.empty() ? p->name : to_base64(k);
  }

  std::uint64_t active_count(const Key& k) const {
    auto it = peer_states.find(k);
    return it == peer_states.end() ? 0 : it->second.active;
  }

  bool approved(const Key& k, const IpPrefix& p) const {
    auto it = peer_states.find(k);
    return it != peer_states.end() && it->second.approved.count(p) > 0;
  }

  // The rules, in Rule order. `self_active`: the prefix is currently accepted/pending for this
  // peer and so already counted against its max-prefixes.
  Decision decide(const Key& peer, const IpPrefix& p, bool self_active) const {
    auto refuse = [](Rule r, std::string detail) {
      return Decision{Verdict::kRefuse, r, std::move(detail)};
    };
    const PeerPolicy* pol = policy(peer);
    if (!pol) return refuse(Rule::kUnknownPeer, "no policy for peer " + to_base64(peer));
    const bool is_default = p.len == 0;
    if (is_default && !pol->allow_default)
      return refuse(Rule::kDefaultRoute,
                    "default route not allowed for peer " + name_of(peer) + " (allow-default off)");
    if (!is_default) {
      if (const auto* ep = facts.endpoint_in(p))
        return refuse(Rule::kCoversEndpoint, "covers endpoint " + ep->first.to_string() +
                                                 " of peer " + name_of(ep->second));
      if (const IpAddr* local = facts.local_in(p))
        return refuse(Rule::kCoversLocal, "covers local address " + local->to_string());
    }
    if (const auto* st = facts.longest_static_covering(p)) {
      const auto& owners = st->owners;
      if (std::find(owners.begin(), owners.end(), peer) == owners.end())
        return refuse(Rule::kHijack, std::string(st->prefix == p ? "equal to" : "inside") +
                                         " static AllowedIPs " + st->prefix.to_string() +
                                         " of peer " + name_of(owners.front()));
    }
    if (auto it = holder.find(p); it != holder.end()) {
      const Key& other = offers.at(it->second).peer;
      if (!(other == peer))
        return refuse(Rule::kOwnedByPeer, "already imported for peer " + name_of(other));
    }
    const std::string& list_name = p.addr.is_v4() ? pol->prefix_list_v4 : pol->prefix_list_v6;
    if (list_name.empty())
      return refuse(Rule::kNoPrefixList,
                    "no " + family_name(p) + " prefix-list for peer " + name_of(peer));
    auto li = list_index.find({p.addr.family, list_name});
    if (li == list_index.end())
      return refuse(Rule::kNoPrefixList,
                    "prefix-list " + list_name + " (" + family_name(p) + ") is not defined");
    const PrefixList& list = lists[li->second];
    std::size_t hit = 0;
    while (hit < list.entries.size() && !list.entries[hit].matches(p)) ++hit;
    if (hit == list.entries.size())
      return refuse(Rule::kImplicitDeny, "implicit deny (prefix-list " + list.name + ")");
    const std::string& rule_text = entry_text[li->second][hit];
    if (list.entries[hit].action == Action::kDeny) return refuse(Rule::kPrefixListDeny, rule_text);
    if (pol->max_prefixes > 0 && active_count(peer) - (self_active ? 1 : 0) >= pol->max_prefixes)
      return refuse(Rule::kMaxPrefixes,
                    "max-prefixes " + std::to_string(pol->max_prefixes) + " reached");
    if (!pol->require_approval) return {Verdict::kAccept, Rule::kPrefixListPermit, rule_text};
    if (approved(peer, p))
      return {Verdict::kAccept, Rule::kApproved, rule_text + "; approved by operator"};
    return {Verdict::kPending, Rule::kApprovalPending, rule_text + "; waiting for approval"};
  }

  // Adds/removes an offer's decision to/from the indexes.
  void index(std::uint64_t order, Offer& o) {
    PeerState& ps = peer_states[o.peer];
    if (active(o.decision)) {
      holder[o.prefix] = order;
      ++ps.active;
    } else if (o.decision.rule == Rule::kMaxPrefixes) {
      ps.refused_by_max.insert(order);
    } else if (o.decision.rule == Rule::kOwnedByPeer) {
      refused_by_owned[o.prefix].insert(order);
    }
    o.installed = o.decision.verdict == Verdict::kAccept && !facts.is_own_static(o.peer, o.prefix);
  }
  void unindex(std::uint64_t order, const Offer& o) {
    PeerState& ps = peer_states[o.peer];
    if (active(o.decision)) {
      if (auto it = holder.find(o.prefix); it != holder.end() && it->second == order)
        holder.erase(it);
      --ps.active;
    } else if (o.decision.rule == Rule::kMaxPrefixes) {
      ps.refused_by_max.erase(order);
    } else if (o.decision.rule == Rule::kOwnedByPeer) {
      auto it = refused_by_owned.find(o.prefix);
      if (it != refused_by_owned.end()) {
        it->second.erase(order);
        if (it->second.empty()) refused_by_owned.erase(it);
      }
    }
  }

  // The Change that moves an offer from `was_installed` to its current state, if any. A
  // prefix equal to the peer's own static AllowedIP is never removed: configuration owns it.
  void diff(const Offer& o, bool was_installed, std::vector<Change>& changes) const {
    if (was_installed == o.installed) return;
    if (!o.installed && facts.is_own_static(o.peer, o.prefix)) return;
    changes.push_back(Change{o.peer, o.prefix, o.installed, o.decision});
  }

  void threshold_warnings(const Key& peer, std::uint64_t before) {
    const PeerPolicy* pol = policy(peer);
    if (!pol) return;
    const std::uint64_t after = active_count(peer);
    const std::string max_text =
        pol->max_prefixes ? "max-prefixes " + std::to_string(pol->max_prefixes) : "no max-prefixes";
    if (pol->warn_prefixes && before < pol->warn_prefixes && after >= pol->warn_prefixes)
      warnings.push_back("peer " + name_of(peer) + ": " + std::to_string(after) +
                         " prefixes accepted or pending, warn-prefixes " +
                         std::to_string(pol->warn_prefixes) + " (" + max_text + ")");
    if (pol->max_prefixes && before < pol->max_prefixes && after >= pol->max_prefixes)
      warnings.push_back("peer " + name_of(peer) + ": " + max_text +
                         " reached, further prefixes are refused");
  }

  // Re-decides one remembered offer in place and appends the resulting change.
  void redecide(std::uint64_t order, std::vector<Change>& changes) {
    Offer& o = offers.at(order);
    const bool was_installed = o.installed, was_active = active(o.decision);
    const std::uint64_t before = active_count(o.peer);
    unindex(order, o);
    o.decision = decide(o.peer, o.prefix, false);
    index(order, o);
    diff(o, was_installed, changes);
    threshold_warnings(o.peer, before);
    if (was_active && !active(o.decision)) released(o.peer, o.prefix, changes);
  }

  // A slot of `peer` and the prefix `p` became free: offers that were refused for exactly
  // that reason get their turn, in offer order.
  void released(const Key& peer, const IpPrefix& p, std::vector<Change>& changes) {
    const PeerPolicy* pol = policy(peer);
    if (pol && pol->max_prefixes) {
      const auto& waiting = peer_states[peer].refused_by_max;
      const std::vector<std::uint64_t> queue(waiting.begin(), waiting.end());
      for (std::uint64_t order : queue) {
        if (active_count(peer) >= pol->max_prefixes) break;
        redecide(order, changes);
      }
    }
    if (auto it = refused_by_owned.find(p); it != refused_by_owned.end()) {
      const std::vector<std::uint64_t> queue(it->second.begin(), it->second.end());
      for (std::uint64_t order : queue) redecide(order, changes);
    }
  }

  // Re-decides every offer: current holders first (so a reload does not move a prefix or a
  // max-prefixes slot to another offer), each group in offer order. Removals come before
  // installs so that a prefix moving between peers is never briefly in two places.
  std::vector<Change> redecide_all() {
    std::vector<std::pair<std::uint64_t, bool>> was;  // order, installed
    std::vector<std::uint64_t> first, second;
    was.reserve(offers.size());
    std::unordered_map<Key, std::uint64_t, KeyHash> before;
    for (auto& [order, o] : offers) {
      was.emplace_back(order, o.installed);
      (active(o.decision) ? first : second).push_back(order);
    }
    for (auto& [key, ps] : peer_states) {
      before[key] = ps.active;
      ps.active = 0;
      ps.refused_by_max.clear();
    }
    holder.clear();
    refused_by_owned.clear();
    for (const auto* group : {&first, &second})
      for (std::uint64_t order : *group) {
        Offer& o = offers.at(order);
        o.decision = decide(o.peer, o.prefix, false);
        index(order, o);
      }
    std::vector<Change> removals, installs;
    for (const auto& [order, was_installed] : was) {
      const Offer& o = offers.at(order);
      diff(o, was_installed, o.installed ? installs : removals);
    }
    for (const auto& [key, count] : before) threshold_warnings(key, count);
    removals.insert(removals.end(), std::make_move_iterator(installs.begin()),
                    std::make_move_iterator(installs.end()));
    return removals;
  }
};

Engine::Engine() : s_(std::make_unique<State>()) {}
Engine::~Engine() = default;
Engine::Engine(const Engine& o) : s_(std::make_unique<State>(*o.s_)) {}
Engine& Engine::operator=(const Engine& o) {
  if (this != &o) s_ = std::make_unique<State>(*o.s_);
  return *this;
}
Engine::Engine(Engine&& o) noexcept : s_(std::move(o.s_)) { o.s_ = nullptr; }
Engine& Engine::operator=(Engine&& o) noexcept {
  s_ = std::move(o.s_);
  return *this;
}

std::vector<Change> Engine::set_config(std::vector<PrefixList> lists,
                                       std::vector<PeerPolicy> peers) {
  if (!s_) s_ = std::make_unique<State>();
  // Lists built by code may be unsorted or repeat a name: merge and sort as the parser would.
  s_->lists.clear();
  s_->list_index.clear();
  for (auto& l : lists) {
    auto [it, fresh] = s_->list_index.try_emplace({l.family, l.name}, s_->lists.size());
    if (fresh)
      s_->lists.push_back(std::move(l));
    else
      for (auto& e : l.entries) s_->lists[it->second].entries.push_back(std::move(e));
  }
  s_->entry_text.clear();
  for (auto& l : s_->lists) {
    std::stable_sort(
        l.entries.begin(), l.entries.end(),
        [](const PrefixListEntry& a, const PrefixListEntry& b) { return a.seq < b.seq; });
    auto& texts = s_->entry_text.emplace_back();
    for (auto& e : l.entries) {
      if (e.any) e.prefix = IpPrefix{IpAddr{l.family, {}}, 0};  // code may leave it unset
      texts.push_back("prefix-list " + l.name + " " + e.to_string());
    }
  }
  s_->peers = std::move(peers);
  s_->peer_index.clear();
  for (std::size_t i = 0; i < s_->peers.size(); ++i)
    s_->peer_index.try_emplace(s_->peers[i].public_key, i);
  return s_->redecide_all();
}

std::vector<Change> Engine::set_facts(Facts facts) {
  if (!s_) s_ = std::make_unique<State>();
  s_->facts.build(facts);
  return s_->redecide_all();
}

Decision Engine::offer(const Key& peer, const IpPrefix& prefix, std::vector<Change>& changes) {
  if (!s_) s_ = std::make_unique<State>();
  if (prefix.len > prefix.addr.bits())
    return {Verdict::kRefuse, Rule::kImplicitDeny,
            "invalid prefix length " + std::to_string(prefix.len)};
  const IpPrefix p = prefix.canonical();
  PeerState& ps = s_->peer_states[peer];
  ++ps.offered;
  if (auto it = ps.by_prefix.find(p); it != ps.by_prefix.end()) {
    s_->redecide(it->second, changes);
    return s_->offers.at(it->second).decision;
  }
  const std::uint64_t order = s_->next_order++;
  const std::uint64_t before = ps.active;
  ps.by_prefix.emplace(p, order);
  Offer& o = s_->offers.emplace_hint(s_->offers.end(), order, Offer{peer, p, {}, false})->second;
  o.decision = s_->decide(peer, p, false);
  s_->index(order, o);
  s_->diff(o, false, changes);
  s_->threshold_warnings(peer, before);
  return o.decision;
}

std::optional<Decision> Engine::withdraw(const Key& peer, const IpPrefix& prefix, std::vector<Change>& changes) {
  if (!s_ || prefix.len > prefix.addr.bits()) return std::nullopt;
  const IpPrefix p = prefix.canonical();
  auto ps_it = s_->peer_states.find(peer);
  if (ps_it == s_->peer_states.end()) return std::nullopt;
  auto it = ps_it->second.by_prefix.find(p);
  if (it == ps_it->second.by_prefix.end()) return std::nullopt;
  const std::uint64_t order = it->second;
  ps_it->second.by_prefix.erase(it);
  auto node = s_->offers.extract(order);
  const Offer& o = node.mapped();
  s_->unindex(order, o);
  if (o.installed) changes.push_back(Change{peer, p, false, o.decision});
  if (active(o.decision)) s_->released(peer, p, changes);
  return o.decision;
}

std::optional<Decision> Engine::approve(const Key& peer, const IpPrefix& prefix,
                                        std::vector<Change>& changes) {
  if (!s_ || prefix.len > prefix.addr.bits()) return std::nullopt;
  const IpPrefix p = prefix.canonical();
  auto ps_it = s_->peer_states.find(peer);
  if (ps_it == s_->peer_states.end()) return std::nullopt;
  auto it = ps_it->second.by_prefix.find(p);
  if (it == ps_it->second.by_prefix.end()) return std::nullopt;
  const std::uint64_t order = it->second;
  if (s_->offers.at(order).decision.verdict != Verdict::kPending) return std::nullopt;
  ps_it->second.approved.insert(p);
  s_->redecide(order, changes);
  return s_->offers.at(order).decision;
}

Decision Engine::evaluate(const Key& peer, const IpPrefix& prefix) const {
  if (prefix.len > prefix.addr.bits())
    return {Verdict::kRefuse, Rule::kImplicitDeny,
            "invalid prefix length " + std::to_string(prefix.len)};
  const IpPrefix p = prefix.canonical();
  if (!s_) return State{}.decide(peer, p, false);
  bool self_active = false;
  if (auto ps = s_->peer_states.find(peer); ps != s_->peer_states.end())
    if (auto it = ps->second.by_prefix.find(p); it != ps->second.by_prefix.end())
      self_active = active(s_->offers.at(it->second).decision);
  return s_->decide(peer, p, self_active);
}

std::vector<Engine::Entry> Engine::entries(const Key& peer) const {
  std::vector<Entry> out;
  if (!s_) return out;
  auto ps = s_->peer_states.find(peer);
  if (ps == s_->peer_states.end()) return out;
  std::vector<std::uint64_t> orders;
  orders.reserve(ps->second.by_prefix.size());
  for (const auto& [prefix, order] : ps->second.by_prefix) orders.push_back(order);
  std::sort(orders.begin(), orders.end());
  out.reserve(orders.size());
  for (std::uint64_t order : orders) {
    const Offer& o = s_->offers.at(order);
    out.push_back(Entry{o.prefix, o.decision, o.installed});
  }
  return out;
}

std::set<IpPrefix> Engine::accepted(const Key& peer) const {
  std::set<IpPrefix> out;
  if (!s_) return out;
  auto ps = s_->peer_states.find(peer);
  if (ps == s_->peer_states.end()) return out;
  for (const auto& [prefix, order] : ps->second.by_prefix)
    if (s_->offers.at(order).decision.verdict == Verdict::kAccept) out.insert(prefix);
  return out;
}

std::optional<Decision> Engine::decision(const Key& peer, const IpPrefix& prefix) const {
  if (!s_) return std::nullopt;
  auto ps = s_->peer_states.find(peer);
  if (ps == s_->peer_states.end()) return std::nullopt;
  auto it = ps->second.by_prefix.find(prefix);
  if (it == ps->second.by_prefix.end()) return std::nullopt;
  return s_->offers.at(it->second).decision;
}

PeerCounters Engine::counters(const Key& peer) const {
  PeerCounters c;
  if (!s_) return c;
  auto ps = s_->peer_states.find(peer);
  if (ps == s_->peer_states.end()) return c;
  c.offered = ps->second.offered;
  for (const auto& [prefix, order] : ps->second.by_prefix) {
    const Decision& d = s_->offers.at(order).decision;
    if (d.verdict == Verdict::kAccept) {
      ++c.accepted;
    } else if (d.verdict == Verdict::kPending) {
      ++c.pending;
    } else {
      ++c.refused;
      ++c.refused_by_rule[d.rule];
    }
  }
  return c;
}

const PeerPolicy* Engine::peer(const Key& key) const { return s_ ? s_->policy(key) : nullptr; }

const std::vector<PeerPolicy>& Engine::peers() const {
  static const std::vector<PeerPolicy> kNone;
  return s_ ? s_->peers : kNone;
}

std::vector<std::string> Engine::take_warnings() {
  if (!s_) return {};
  return std::exchange(s_->warnings, {});
}

}  // namespace wgcore::routing::policy
