// The configured state of one WireGuard device, kept indexed so an update costs what it changes:
// WireGuard's set semantics (a DeviceUpdate applied in order) run here once, for every user. The
// userspace device keeps one ConfigModel beside its engine and hears each operation through a
// ConfigObserver; apply_update (the pure function the other backends and the tests use) is the
// same model run on a copy of a DeviceState.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <unordered_map>
#include <vector>

#include "model/prefix_list.hpp"
#include "model/prefix_table.hpp"
#include "wgcore/config.hpp"
#include "wgcore/result.hpp"

namespace wgcore {

// Each change a commit makes, in the order it makes them, named by public key. A backend that
// mirrors the model (the userspace engine) performs exactly these, so an update touches only the
// peers and prefixes it names. All calls come from inside ConfigModel::commit.
class ConfigObserver {
 public:
  virtual ~ConfigObserver() = default;
  virtual void private_key_changed(const std::optional<Key>& key) = 0;  // clamped; nullopt removes
  virtual void peer_added(const Key& peer) = 0;
  virtual void peer_removed(const Key& peer) = 0;                        // with all its prefixes
  virtual void preshared_key_changed(const Key& peer, const std::optional<Key>& psk) = 0;
  virtual void endpoint_set(const Key& peer, const Endpoint& endpoint) = 0;
  virtual void keepalive_set(const Key& peer, std::uint16_t seconds) = 0;
  // The prefix now belongs to `peer` (taken from whichever peer held it).
  virtual void allowed_ip_added(const Key& peer, const IpPrefix& prefix) = 0;
  virtual void allowed_ip_removed(const Key& peer, const IpPrefix& prefix) = 0;
  virtual void allowed_ips_cleared(const Key& peer) = 0;
};

class ConfigModel {
 private:
  struct PrefixHash {
    std::size_t operator()(const IpPrefix& p) const noexcept;
  };
  // What apply_update keeps of a peer besides its configuration: its statistics and its
  // endpoint. Only a model built from a DeviceState has it (for every peer that has statistics
  // or an endpoint); a live backend's engine holds both itself (engine_state reads them there),
  // so its model leaves this null and an idle peer pays 8 bytes for it, not 72.
  struct Stats {
    std::optional<Endpoint> endpoint;
    std::int64_t last_handshake_time_sec = 0;
    std::int64_t last_handshake_time_nsec = 0;
    std::uint64_t rx_bytes = 0;
    std::uint64_t tx_bytes = 0;
    int protocol_version = 1;
    DropCounts drops;
  };
  // A peer: its configuration and its prefixes in order, in the node of the key index itself
  // (one allocation per peer; order by intrusive links). A removed prefix leaves a hole (len
  // kHole) that later compaction closes, so removal is O(1) and a re-added prefix can move to
  // the end as in the kernel's list.
  // Replacing (replace_peers, replace_allowed_ips) clears nothing at once: the peer's prefixes
  // before index `stale` belong to the configuration being replaced. They count as owned by
  // nobody for the update's own ops, keep routing to their peer meanwhile, become current again
  // when the update re-adds them (they move past `stale`), and the rest go at the end of the
  // commit. So `wg setconf` naming a peer's prefixes again never leaves the peer without them.
  struct Entry {
    const Key* key = nullptr;  // the index node's own key
    Entry* prev = nullptr;     // in the order peers were added
    Entry* next = nullptr;
    std::unique_ptr<Key> preshared_key;  // few peers have one: 8 bytes, not 33, for the rest
    PrefixList prefixes;
    std::unique_ptr<Stats> stats;
    std::uint32_t holes = 0;
    std::uint32_t stale = 0;
    std::uint16_t keepalive = 0;
    bool replaced = false;  // named by no block yet since replace_peers: removed at the end
    bool swept = false;     // listed in sweep_
  };
  static constexpr std::uint8_t kHole = 0xff;

 public:
  ConfigModel() = default;
  explicit ConfigModel(const DeviceState& state);  // O(size of state)
  ConfigModel(const ConfigModel&) = delete;  // entries point into each other: no copies
  ConfigModel& operator=(const ConfigModel&) = delete;

  // An update that passed check(): commit cannot fail, so a caller may do its own fallible step
  // (rebinding sockets) in between and still change nothing when that step fails.
  struct Checked {
    const DeviceUpdate* update = nullptr;
    bool key_changes = false;
    std::optional<Key> private_key;  // clamped, when key_changes (nullopt: removed)
    std::optional<Key> public_key;
  };
  // Everything that can make the update fail (EINVAL: protocol_version other than 1, an endpoint
  // that is not IPv4/IPv6, a prefix longer than its family; EIO: the key derivation), in
  // O(size of the update). `update` must outlive the returned value.
  Result<Checked> check(const DeviceUpdate& update) const;
  // Applies a checked update, in the order of apply_update's rules (config_apply.hpp), telling
  // `observer` (may be null) each change. Costs O(what it names), except replace_peers, which
  // costs O(peers and prefixes replaced).
  void commit(const Checked& checked, ConfigObserver* observer);
  Status apply(const DeviceUpdate& update, ConfigObserver* observer = nullptr);

  // The same commit in slices, so a live backend can let its datapath run between them: each
  // step() makes about `budget` changes (a peer's whole prefix list cleared counts as its size)
  // and returns true once the update is fully applied. Between steps the model holds the first
  // changes of the update in order; nothing else may change the model until the last step.
  class Commit {
   public:
    explicit Commit(const Checked& checked) : checked_(checked) {}

   private:
    friend class ConfigModel;
    enum class Phase : std::uint8_t { kStart, kReplace, kBlocks, kSweepPeers, kSweepPrefixes, kDone };
    Checked checked_;
    Phase phase_ = Phase::kStart;
    Entry* cursor_ = nullptr;   // kReplace, kSweepPeers: the next peer to look at
    std::size_t swept_ = 0;     // kSweepPrefixes: the next of sweep_
    std::size_t block_ = 0;     // kBlocks: the peer block, and the next of its allowed-IP ops
    std::size_t op_ = 0;
    bool block_started_ = false;
    bool skip_block_ = false;   // the block names nobody to change (self, update_only, remove)
    Entry* peer_ = nullptr;     // the block's peer, once started
    // A large removal in progress (a peer's first drain_end_ prefixes, one change each), which
    // finishes before anything else; then the peer itself goes when drain_erase_.
    Entry* drain_ = nullptr;
    std::uint32_t drain_pos_ = 0;
    std::uint32_t drain_end_ = 0;
    bool drain_erase_ = false;
  };
  bool step(Commit& commit, ConfigObserver* observer, std::size_t budget);

  // The whole state (peers in the order they were added, each peer's prefixes in the order they
  // were added). O(size).
  DeviceState state() const;
  // Visits each peer in order, as state() would list it, without building a DeviceState.
  template <class F>
  void for_each_peer(F&& f) const {
    PeerState ps;
    for (const Entry* e = head_; e; e = e->next) {
      export_peer(*e, ps);
      f(static_cast<const PeerState&>(ps));
    }
  }

  const std::optional<Key>& private_key() const { return private_key_; }
  const std::optional<Key>& public_key() const { return public_key_; }
  std::uint16_t listen_port() const { return listen_port_; }
  std::uint32_t fwmark() const { return fwmark_; }
  // The backend's actual values (the port it bound when 0 was asked for).
  void set_listen_port(std::uint16_t port) { listen_port_ = port; }
  void set_fwmark(std::uint32_t mark) { fwmark_ = mark; }
  // The peer's prefixes in order (empty if there is no such peer); O(its prefixes).
  std::vector<IpPrefix> allowed_ips(const Key& peer) const;
  bool has_peer(const Key& peer) const { return peers_.count(peer) > 0; }
  // About how many changes committing `update` makes, counted as step() counts them (a new or
  // removed peer kPeerCost, a prefix 1, a peer's prefixes when they go at once; a new private key
  // or replace_peers touch every peer): what the update costs its backend. O(size of update).
  std::size_t change_cost(const DeviceUpdate& update) const;
  std::size_t peer_count() const { return peers_.size(); }
  std::size_t prefix_count() const { return owner_.size(); }
  // The peer's prefixes, counted in O(1) (0 if there is no such peer).
  std::size_t prefix_count(const Key& peer) const {
    auto it = peers_.find(peer);
    return it == peers_.end() ? 0 : it->second.prefixes.size() - it->second.holes;
  }

 private:
  static void live_prefixes(const Entry& e, std::vector<IpPrefix>& out);
  static void export_peer(const Entry& e, PeerState& out);
  Entry* find(const Key& pub);
  Entry& add_peer(const Key& pub);
  void link_last(Entry& e);
  void unlink(Entry& e);
  void erase_peer(Entry& e);
  void clear_prefixes(Entry& e);
  void add_prefix(Entry& e, const IpPrefix& p);
  bool remove_prefix(Entry& e, const IpPrefix& p);
  void punch(Entry& e, std::uint32_t pos);
  // A peer named after replace_peers starts again from defaults and moves to the end, as a
  // re-created peer would.
  void recreate(Entry& e, const PeerUpdate& pu, ConfigObserver* obs);
  // Marks every prefix of the peer as belonging to the configuration being replaced.
  void make_stale(Entry& e);
  // Removes the peer's prefixes that are still stale (one clear for a short list named nowhere
  // again, else a drain); returns the cost.
  std::size_t sweep(Commit& c, Entry& e, ConfigObserver* obs);
  // Makes the commit remove the peer's first `end` prefixes, one change each, before anything
  // else; then the peer itself when `erase`.
  void start_drain(Commit& c, Entry& e, std::uint32_t end, bool erase);
  // Removes a peer with all its prefixes (a large set: starts a drain); returns the cost.
  std::size_t remove_peer(Commit& c, Entry& e, ConfigObserver* obs);
  // Closes every hole in the peer's list and renumbers what moved (the stale part keeps its live
  // prefixes); returns the cost.
  std::size_t compact(Entry& e);
  // Continues the drain within the budget; true once it finished.
  bool drain_step(Commit& c, ConfigObserver* obs, std::size_t& spent, std::size_t budget);
  // Above this many prefixes a removal runs as a drain, so a slice stays short.
  static constexpr std::uint32_t kDrainAbove = 64;
  // A new or removed peer against a prefix, as measured in bench/control_bench (10 000 peers with
  // a prefix each: 2.5 us a peer; 100 000 prefixes: 0.73 us a prefix). It was 16 while adding a
  // peer computed its static-static X25519; the first handshake does that now.
  static constexpr std::size_t kPeerCost = 4;
  // A peer block's own fields (remove, create, preshared key, endpoint, keepalive); false when
  // the block changes nothing further.
  bool start_block(Commit& c, const PeerUpdate& pu, ConfigObserver* obs);
  // One allowed-IP op of the block; returns its cost.
  std::size_t run_op(Entry& e, const PeerUpdate& pu, const AllowedIpOp& op, ConfigObserver* obs);

  bool detailed_ = false;  // built from a DeviceState: keeps Stats (endpoints, statistics)
  std::optional<Key> private_key_;
  std::optional<Key> public_key_;
  std::uint16_t listen_port_ = 0;
  std::uint32_t fwmark_ = 0;
  std::unordered_map<Key, Entry, KeyHash> peers_;  // node-based: entries never move
  Entry* head_ = nullptr;                          // the order peers were added in
  Entry* tail_ = nullptr;
  // One owner per prefix, as in the trie, and the prefix's index in owner->prefixes.
  PrefixOwners<Entry, PrefixHash> owner_;
  std::vector<Key> sweep_;    // peers with stale prefixes, outside a replace_peers commit
};

}  // namespace wgcore
