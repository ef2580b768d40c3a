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

  // What plan() and reconcile() changed in this view, so a device update that failed can be
  // taken back in O(what it changed) instead of copying the whole view before every batch.
  struct Undo {
    struct Step {
      bool added = false;  // an add (else a remove) of `prefix` for `peer`
      Key peer;
      IpPrefix prefix;
      bool had_device = false;  // remove: the device had it for `peer`
      std::vector<std::pair<Key, std::uint8_t>> held;  // add: who had it before (1 device, 2 ours)
    };
    std::vector<Step> steps;
  };

  void set_device(const DeviceState& state);
  // device minus ours: the operator's AllowedIPs, which the policy protects (hijack rule).
  std::map<Key, std::vector<IpPrefix>> static_allowed() const;
  // Adds to `update` (and to this view) what the policy's changes require. Installing a prefix
  // the peer already has statically changes nothing; removing one frr-wgd did not add neither.
  void plan(const std::vector<routing::policy::Change>& changes, DeviceUpdate& update,
            Undo* undo = nullptr);
  // Makes the imported part equal to `want` per peer (for peers in `want`): adds what is
  // missing from the device, removes what frr-wgd added and is no longer wanted.
  void reconcile(const PrefixSets& want, DeviceUpdate& update, Undo* undo = nullptr);
  // Takes back the steps recorded in `undo`, newest first.
  void rollback(Undo& undo);
};

// A snapshot of the imports, one line per prefix: "BASE64KEY PREFIX". Written to a temporary
// file, synced, renamed over `path`, and the directory synced: a crash leaves the old file or the
// new one, never a part.
Status save_imports(const std::string& path, const PrefixSets& ours);
// The snapshot's lines, then the journal's ("+ KEY PREFIX", "- KEY PREFIX"; see ImportsJournal)
// replayed in order. Missing or unreadable file: empty.
PrefixSets load_imports(const std::string& path);

// The imports state file kept as an append-only journal, so a batch costs what it changes:
// adds are appended and synced before the device gets them, removals after the device dropped
// them. A crash therefore never leaves an import the file does not know (which a restarted
// daemon would take for the operator's own, static, and protect); a recorded prefix the device
// lacks is dropped at the next start (AllowedIps::set_device). When the journal holds more than
// twice the live lines, it is compacted into a snapshot (save_imports).
class ImportsJournal {
 public:
  explicit ImportsJournal(std::string path) : path_(std::move(path)) {}
  // Appends the update's adds (before applying it) or removals (after: only those `ours`, the
  // imports after the update, does not hold), one sync per call;
  // compacts to `ours` when the file has grown past twice its live size.
  Status record_adds(const DeviceUpdate& u);
  Status record_removes(const DeviceUpdate& u, const PrefixSets& ours);
  // Writes a snapshot of `ours` (after start-up sync, and when compacting).
  Status snapshot(const PrefixSets& ours);
  const std::string& path() const { return path_; }

 private:
  // Removals listed only when `ours` (the imports after the update) no longer has them.
  Status append(const DeviceUpdate& u, AllowedIpOp::Kind kind, const PrefixSets* ours);
  std::string path_;
  std::size_t lines_ = 0;  // lines in the file (snapshot + journal)
};

}  // namespace wgcore::frrwgd
