// The AllowedIPs trust policy: which prefixes a routing protocol may put into a peer's AllowedIPs.
// AllowedIPs is a source filter as much as a route, so a prefix learned from a peer is refused
// unless an explicit rule permits it, and every verdict names the rule that made it (for logs,
// `frr-wgd show ... json` and audits). Pure logic: no I/O, no clock; the daemon feeds it facts.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "wgcore/ip.hpp"
#include "wgcore/key.hpp"
#include "wgcore/result.hpp"

namespace wgcore::routing::policy {

enum class Action : std::uint8_t { kPermit, kDeny };

// One line of an FRR prefix-list. FRR semantics (lib/plist.c prefix_list_entry_match): a candidate
// must be of the entry's family and inside `prefix`; without ge/le only the exact length matches;
// `le N` alone: length in [prefix.len, N]; `ge N` alone: [N, 32 or 128]; both: [ge, le].
// `any` is 0.0.0.0/0 le 32 (::/0 le 128). Valid entries (what the parser accepts, as FRR's
// "len < ge <= le"): ge > prefix.len, le >= prefix.len, ge <= le, both <= the family's bits;
// `prefix` is stored canonical (FRR corrects "10.0.0.1/8" to 10.0.0.0/8 the same way).
struct PrefixListEntry {
  std::uint32_t seq = 0;
  Action action = Action::kDeny;
  IpPrefix prefix;
  std::optional<std::uint8_t> ge;
  std::optional<std::uint8_t> le;
  bool any = false;  // "any": every prefix of the list's family
  // As FRR prints it: "seq 10 permit 10.2.0.0/16 le 24".
  std::string to_string() const;
  bool matches(const IpPrefix& p) const;
};

// Entries are evaluated in seq order; the first match decides; no match is an implicit deny.
struct PrefixList {
  std::string name;
  IpAddr::Family family = IpAddr::Family::V4;  // `ip prefix-list` or `ipv6 prefix-list`
  std::vector<PrefixListEntry> entries;        // kept sorted by seq
};

// Parses one FRR configuration line, "ip prefix-list NAME [seq N] permit|deny PREFIX|any [ge N]
// [le N]" or "ipv6 prefix-list ...", and merges it into `lists` (a missing seq takes the last seq
// + 5, as FRR does). Errors name the offending token.
// Details, as FRR 8 does them: seq is 1..4294967295; a missing seq is (highest seq / 5) * 5 + 5,
// so 5 for the first entry; ge and le may come in either order, each at most once, and not after
// `any`; a prefix needs its "/len" and is masked to it (10.0.0.1/8 becomes 10.0.0.0/8); a prefix
// of the other family (an IPv6 prefix in `ip prefix-list`) is an error; an entry whose seq exists
// replaces that entry; an entry matching the same prefix/ge/le/any as another seq is an error
// ("duplicated prefix list value"); "ip prefix-list NAME description ..." creates the list and is
// otherwise ignored. Empty lines and lines starting with '!' or '#' are accepted and ignored.
// On error `lists` is unchanged.
Status parse_prefix_list_line(std::string_view line, std::vector<PrefixList>& lists);

struct PeerPolicy {
  Key public_key;
  std::string name;                 // the config's name for the peer, used in every message
  std::string prefix_list_v4;       // names of prefix-lists; empty: no prefix of that family
  std::string prefix_list_v6;       //   is permitted (rule kNoPrefixList)
  std::uint32_t max_prefixes = 0;   // hard limit on accepted imports; 0: no limit
  std::uint32_t warn_prefixes = 0;  // reaching this many accepted raises a warning; 0: none
  bool allow_default = false;       // 0.0.0.0/0 and ::/0 are refused unless this is set
  bool require_approval = false;    // permitted prefixes wait in kPending until approve()
};

// What the rules check besides the policy itself; the daemon refreshes it when the device or
// the host changes (set_facts re-evaluates).
struct Facts {
  std::vector<IpAddr> local_addresses;                    // addresses of this host
  std::map<Key, std::vector<IpAddr>> peer_endpoints;      // endpoint IP(s) of each peer
  std::map<Key, std::vector<IpPrefix>> static_allowed_ips;  // configured, not imported
};

enum class Verdict : std::uint8_t { kAccept, kRefuse, kPending };

// Which rule decided. Order of evaluation is the order listed (first refusal wins). Prefixes are
// evaluated canonical (host bits cleared). What each rule means exactly:
//  - kDefaultRoute: a /0 is refused unless allow_default. When allowed, a /0 skips the two
//    "covers" rules below (a default route always contains them; routing it safely is the
//    daemon's job, with fwmark policy routing as wg-quick does), but not the prefix-list.
//  - kCoversEndpoint / kCoversLocal: the prefix contains the endpoint IP of ANY peer (the
//    offering one included) / any local address; the detail names the lowest such address.
//  - kHijack: the longest static AllowedIP (Facts) that contains or equals the prefix belongs to
//    another peer: traffic for it goes to that peer today. Inside the offering peer's own static
//    AllowedIPs (also when that is more specific than another peer's) is no hijack.
//    A prefix EQUAL to one of the offering peer's own static AllowedIPs goes through the rules
//    like any other, but is never installed or removed (it is already there and a withdrawal
//    must not remove configuration): Entry::installed is false, and no Change is produced.
//  - kOwnedByPeer: the exact prefix is accepted or pending for another peer. First come keeps
//    it; re-evaluation (reload, facts) keeps current holders first, so a reload never moves a
//    prefix between peers unless the holder loses it.
//  - kNoPrefixList: the peer has no list name for the family, or the name is not defined (an
//    undefined list refuses everything, unlike FRR route-maps where it permits).
//  - kMaxPrefixes: accepted + pending of the peer reached max_prefixes (pending counts, so an
//    approval can never exceed the limit).
//  - kApprovalPending / kApproved: with require_approval, a permitted prefix waits; approve()
//    accepts it. Approvals are remembered per (peer, prefix) across withdraw/re-offer and
//    reloads, as long as the list still permits it.
enum class Rule : std::uint8_t {
  kUnknownPeer,      // no PeerPolicy for this key
  kDefaultRoute,     // /0 without allow_default
  kCoversEndpoint,   // would contain a peer's endpoint: the tunnel would route into itself
  kCoversLocal,      // would contain one of this host's addresses
  kHijack,           // equal to or inside another peer's static AllowedIPs
  kOwnedByPeer,      // already imported for another peer (first come keeps it)
  kNoPrefixList,     // no prefix-list configured for this family
  kPrefixListDeny,   // an explicit deny entry matched
  kImplicitDeny,     // the list has no matching entry
  kMaxPrefixes,      // the peer already has max_prefixes accepted
  kPrefixListPermit, // accepted (or pending) by a permit entry
  kApprovalPending,  // permitted, waiting for approve()
  kApproved,         // permitted and approved by an operator
};
std::string_view rule_name(Rule r);  // "default-route", "hijack", ... (stable: used in JSON)

struct Decision {
  Verdict verdict = Verdict::kRefuse;
  Rule rule = Rule::kImplicitDeny;
  std::string detail;  // e.g. "prefix-list SITE-C seq 10 permit 10.3.0.0/16 le 24"
  // "accept 10.2.0.0/16 from peer site-b: prefix-list SITE-B seq 10 permit 10.2.0.0/16 le 24"
  std::string to_string(const IpPrefix& prefix, std::string_view peer_name) const;
};

struct PeerCounters {
  std::uint64_t offered = 0;     // offers received (re-offers of a known prefix included)
  std::uint64_t accepted = 0;    // currently accepted
  std::uint64_t pending = 0;     // currently pending approval
  std::uint64_t refused = 0;     // currently refused (offered and not withdrawn)
  std::map<Rule, std::uint64_t> refused_by_rule;  // currently refused, by rule
};

// A change in what should be in a peer's AllowedIPs, produced by offer/withdraw/approve and by
// re-evaluation after set_* calls. The daemon applies exactly these to the device.
struct Change {
  Key peer;
  IpPrefix prefix;
  bool install = false;  // true: add to AllowedIPs; false: remove from AllowedIPs
  Decision decision;  // a withdrawal carries the decision that had installed the prefix
};

// Stateful: remembers every prefix offered per peer and its decision, so limits, approvals and
// re-evaluation after a policy reload are exact. Not thread-safe; one owner.
class Engine {
 public:
  Engine();
  ~Engine();
  Engine(const Engine&);
  Engine& operator=(const Engine&);
  Engine(Engine&&) noexcept;
  Engine& operator=(Engine&&) noexcept;

  // Replace configuration or facts; every offered prefix is re-evaluated and the resulting
  // installs/removals returned (a reload applies only differences): all removals first, then
  // all installs, each in offer order, so a prefix moving between peers is never in two places.
  // Prefix-list entries are sorted by seq here (lists built by code need not be); two lists of
  // the same name and family are merged; the first PeerPolicy of a key counts.
  std::vector<Change> set_config(std::vector<PrefixList> lists, std::vector<PeerPolicy> peers);
  std::vector<Change> set_facts(Facts facts);

  // A route for `prefix` via `peer` appeared (or was re-announced). Returns the decision and
  // appends to `changes` what must be installed (at most one install). A re-announcement keeps
  // its place in offer order. A length beyond the family's bits is refused and not remembered.
  Decision offer(const Key& peer, const IpPrefix& prefix, std::vector<Change>& changes);
  // The route is gone. Appends the removal when it had been installed; then re-evaluates
  // the peer's refused-by-max-prefixes and other peers' refused-by-owned prefixes, in offer
  // order, which may install them now. Returns the decision the route had (nullopt when it was
  // never offered), so an audit log says "withdraw" only for what had been accepted or pending.
  std::optional<Decision> withdraw(const Key& peer, const IpPrefix& prefix, std::vector<Change>& changes);
  // Operator approval of a pending prefix; nullopt when it is not pending.
  std::optional<Decision> approve(const Key& peer, const IpPrefix& prefix,
                                  std::vector<Change>& changes);

  // Evaluate without remembering (for `frr-wgd show policy check`).
  Decision evaluate(const Key& peer, const IpPrefix& prefix) const;

  struct Entry {
    IpPrefix prefix;
    Decision decision;
    bool installed = false;  // accepted and not equal to one of the peer's static AllowedIPs
  };
  // Every offered prefix of a peer with its current decision, in offer order.
  std::vector<Entry> entries(const Key& peer) const;
  // The current decision for one offered prefix (canonical); nullopt when it was not offered.
  std::optional<Decision> decision(const Key& peer, const IpPrefix& prefix) const;
  std::set<IpPrefix> accepted(const Key& peer) const;
  PeerCounters counters(const Key& peer) const;
  const PeerPolicy* peer(const Key& key) const;
  const std::vector<PeerPolicy>& peers() const;

  // Warnings raised since the last call, oldest first, then cleared: a peer's accepted + pending
  // count reaching warn_prefixes, or reaching max_prefixes (once per crossing upwards).
  // Example: "peer site-b: 80 prefixes accepted or pending, warn-prefixes 80 (max-prefixes 100)".
  std::vector<std::string> take_warnings();

 private:
  struct State;
  std::unique_ptr<State> s_;
};

}  // namespace wgcore::routing::policy
