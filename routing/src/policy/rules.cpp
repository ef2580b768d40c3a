// Names and printing of rules and decisions: the stable strings the daemon's JSON and logs use.
#include "routing/policy.hpp"

namespace wgcore::routing::policy {

std::string_view rule_name(Rule r) {
  switch (r) {
    case Rule::kUnknownPeer:
      return "unknown-peer";
    case Rule::kDefaultRoute:
      return "default-route";
    case Rule::kCoversEndpoint:
      return "covers-endpoint";
    case Rule::kCoversLocal:
      return "covers-local";
    case Rule::kHijack:
      return "hijack";
    case Rule::kOwnedByPeer:
      return "owned-by-peer";
    case Rule::kNoPrefixList:
      return "no-prefix-list";
    case Rule::kPrefixListDeny:
      return "prefix-list-deny";
    case Rule::kImplicitDeny:
      return "implicit-deny";
    case Rule::kMaxPrefixes:
      return "max-prefixes";
    case Rule::kPrefixListPermit:
      return "prefix-list-permit";
    case Rule::kApprovalPending:
      return "approval-pending";
    case Rule::kApproved:
      return "approved";
  }
  return "unknown";
}

std::string Decision::to_string(const IpPrefix& prefix, std::string_view peer_name) const {
  std::string_view verb = verdict == Verdict::kAccept    ? "accept"
                          : verdict == Verdict::kPending ? "pending"
                                                         : "refuse";
  std::string s(verb);
  s += ' ';
  s += prefix.to_string();
  s += " from peer ";
  s += peer_name;
  s += ": ";
  s += detail;
  return s;
}

}  // namespace wgcore::routing::policy
