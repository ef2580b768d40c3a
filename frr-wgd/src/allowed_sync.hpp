// Which AllowedIPs frr-wgd owns, and the device updates that carry policy decisions into them.
// Ownership rule: a prefix is frr-wgd's ("imported") only if frr-wgd added it; everything else
// a peer has is static (configured by the operator) and is never removed. The imported set is
// kept in a state file so a restarted daemon can tell its leftovers from static entries.
#pragma once

#include <map>
#include <set>
#include <string>
#include <vector>

#include "routing/policy.hpp"
#include "wgcore/config.hpp"
#include "wgcore/result.hpp"

namespace wgcore::frrwgd {

using PrefixSets = std::map<Key, std::set<IpPrefix>>;

struct AllowedIps {
  PrefixSets device;  // what the device has, per peer (as last read or written)
  PrefixSets ours;    // the part of it frr-wgd added

  void set_device(const DeviceState& state);
  // device minus ours: the operator's AllowedIPs, which the policy protects (hijack rule).
  std::map<Key, std::vector<IpPrefix>> static_allowed() const;
  // Adds to `update` (and to this view) what the policy's changes require. Installing a prefix
  // the peer already has statically changes nothing; removing one frr-wgd did not add neither.
  void plan(const std::vector<routing::policy::Change>& changes, DeviceUpdate& update);
  // Makes the imported part equal to `want` per peer (for peers in `want`): adds what is
  // missing from the device, removes what frr-wgd added and is no longer wanted.
  void reconcile(const PrefixSets& want, DeviceUpdate& update);
};

// One line per imported prefix: "BASE64KEY PREFIX". Written to a temporary file and renamed.
Status save_imports(const std::string& path, const PrefixSets& ours);
PrefixSets load_imports(const std::string& path);  // missing or unreadable file: empty

}  // namespace wgcore::frrwgd
