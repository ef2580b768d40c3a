// The AllowedIPs trust policy: which prefixes a routing protocol may put into a peer's AllowedIPs.
// AllowedIPs is a source filter as much as a route, so a prefix learned from a peer is refused
// unless an explicit rule permits it, and every verdict names the rule that made it (for logs,
// `frr-wgd show ... json` and audits). Pure logic: no I/O, no clock; the daemon feeds it facts.
#pragma once

#include <cstdint>
#include <map>
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

// One line of an FRR prefix-list. FRR semantics: without ge/le only the exact prefix matches; with
// them, prefixes inside `prefix` whose length is in [ge or prefix.len, le or max] match.
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

// Which rule decided. Order of evaluation is the order listed (first refusal wins).
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
  Decision decision;
};

// Stateful: remembers every prefix offered per peer and its decision, so limits, approvals and
// re-evaluation after a policy reload are exact. Not thread-safe; one owner.
class Engine {
 public:
  // Replace configuration or facts; every offered prefix is re-evaluated and the resulting
  // installs/removals returned (a reload applies only differences).
  std::vector<Change> set_config(std::vector<PrefixList> lists, std::vector<PeerPolicy> peers);
  std::vector<Change> set_facts(Facts facts);

  // A route for `prefix` via `peer` appeared (or was re-announced). Returns the decision and
  // appends to `changes` what must be installed (at most one install).
  Decision offer(const Key& peer, const IpPrefix& prefix, std::vector<Change>& changes);
  // The route is gone. Appends the removal when it had been installed; then re-evaluates
  // the peer's refused-by-max-prefixes and other peers' refused-by-owned prefixes, in offer
  // order, which may install them now.
  void withdraw(const Key& peer, const IpPrefix& prefix, std::vector<Change>& changes);
  // Operator approval of a pending prefix; nullopt when it is not pending.
  std::optional<Decision> approve(const Key& peer, const IpPrefix& prefix,
                                  std::vector<Change>& changes);

  // Evaluate without remembering (for `frr-wgd show policy check`).
  Decision evaluate(const Key& peer, const IpPrefix& prefix) const;

  struct Entry {
    IpPrefix prefix;
    Decision decision;
  };
  // Every offered prefix of a peer with its current decision, in offer order.
  std::vector<Entry> entries(const Key& peer) const;
  std::set<IpPrefix> accepted(const Key& peer) const;
  PeerCounters counters(const Key& peer) const;
  const PeerPolicy* peer(const Key& key) const;
  const std::vector<PeerPolicy>& peers() const;
};

}  // namespace wgcore::routing::policy
