// Lookup tables the receive path consults for every message: receiver index -> handshake or
// keypair (the kernel's index_hashtable in peerlookup.c) and public key -> peer (its
// pubkey_hashtable). Neither is thread-safe; the device serializes changes and lookups.
#pragma once

#include <cstddef>
#include <cstdint>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

#include "core/environment.hpp"
#include "wgcore/key.hpp"

namespace wgcore {

// Open-addressing map from a 32-bit receiver index to a 32-bit handle, the untyped engine under
// IndexTable. Each slot is one 64-bit word holding both, so a probe touches a single cache line
// and a miss (the common case for packets with made-up indices) costs a couple of loads.
// Linear probing at load <= 1/2 with backward-shift deletion: no tombstones, so lookups never
// slow down as handshakes come and go. It grows but never shrinks.
class IndexMap {
 public:
  static constexpr std::uint32_t kNone = 0xffffffffU;

  // The handle stored for index, or kNone. Never allocates.
  std::uint32_t find(std::uint32_t index) const noexcept;
  bool contains(std::uint32_t index) const noexcept { return find(index) != kNone; }
  // Makes room so the next insert() cannot allocate; may throw std::bad_alloc.
  void reserve_one_more();
  // Precondition: index absent, handle != kNone, reserve_one_more() called since the last insert.
  void insert(std::uint32_t index, std::uint32_t handle) noexcept;
  // Removes index and returns its handle, or kNone if it was absent.
  std::uint32_t erase(std::uint32_t index) noexcept;
  void clear() noexcept;

  std::size_t size() const noexcept { return size_; }
  std::size_t capacity() const noexcept { return slots_.size(); }

 private:
  static constexpr std::size_t kMinCapacity = 16;
  std::size_t home(std::uint32_t index) const noexcept;
  void rehash(std::size_t new_capacity);

  // 0 = empty; otherwise (handle + 1) << 32 | index.
  std::vector<std::uint64_t> slots_;
  std::size_t mask_ = 0;
  unsigned shift_ = 64;
  std::size_t size_ = 0;
};

// Receiver index -> what it currently names. A handshake gets a fresh random index; when the
// handshake yields a keypair the same index is re-pointed at the keypair (replace), so the
// peer's next message with that index finds the session.
template <class Peer, class Handshake, class Keypair>
class IndexTable {
 public:
  struct Entry {
    enum class Kind : std::uint8_t { kHandshake, kKeypair };
    Kind kind = Kind::kHandshake;
    Peer* peer = nullptr;
    Handshake* handshake = nullptr;  // set when kind == kHandshake
    Keypair* keypair = nullptr;      // set when kind == kKeypair

    static Entry for_handshake(Peer* p, Handshake* h) noexcept {
      return Entry{Kind::kHandshake, p, h, nullptr};
    }
    static Entry for_keypair(Peer* p, Keypair* k) noexcept {
      return Entry{Kind::kKeypair, p, nullptr, k};
    }
    friend bool operator==(const Entry&, const Entry&) = default;
  };
  using Kind = typename Entry::Kind;

  // Stores e under a fresh random index not in use and returns it. Draws from rng until it
  // misses (with even 4 M entries a draw collides one time in a thousand). May throw
  // std::bad_alloc while growing; then nothing changed.
  std::uint32_t insert(const Entry& e, Random& rng) {
    std::uint32_t index;
    do {
      index = rng.u32();
    } while (map_.contains(index));
    map_.reserve_one_more();
    std::uint32_t handle;
    if (!free_.empty()) {
      handle = free_.back();
      free_.pop_back();
      entries_[handle] = e;
    } else {
      handle = static_cast<std::uint32_t>(entries_.size());
      entries_.push_back(e);
      // remove() pushes onto free_; having the room already keeps remove() allocation-free.
      // Following entries_' geometric capacity keeps this to a few reallocations in total.
      try {
        free_.reserve(entries_.capacity());
      } catch (...) {
        entries_.pop_back();
        throw;
      }
    }
    map_.insert(index, handle);
    return index;
  }

  // Re-points an existing index at e (handshake -> keypair). False if index is absent.
  bool replace(std::uint32_t index, const Entry& e) noexcept {
    const std::uint32_t h = map_.find(index);
    if (h == IndexMap::kNone) return false;
    entries_[h] = e;
    return true;
  }
  // As above, but only while index still names `expected`. This is the kernel's guard: the
  // owner of an index may have been cleared, and its index reused, since it was looked up.
  bool replace(std::uint32_t index, const Entry& expected, const Entry& e) noexcept {
    const std::uint32_t h = map_.find(index);
    if (h == IndexMap::kNone || !(entries_[h] == expected)) return false;
    entries_[h] = e;
    return true;
  }

  bool remove(std::uint32_t index) noexcept {
    const std::uint32_t h = map_.erase(index);
    if (h == IndexMap::kNone) return false;
    release(h);
    return true;
  }
  // Removes index only while it still names `expected`, so a handshake being torn down after
  // its index moved to a keypair does not take the keypair's entry with it.
  bool remove(std::uint32_t index, const Entry& expected) noexcept {
    const std::uint32_t h = map_.find(index);
    if (h == IndexMap::kNone || !(entries_[h] == expected)) return false;
    map_.erase(index);
    release(h);
    return true;
  }

  // The entry for index if it is of the given kind, else nullptr. Never allocates. The
  // pointer is valid until the next insert or remove.
  const Entry* lookup(std::uint32_t index, Kind kind) const noexcept {
    const std::uint32_t h = map_.find(index);
    if (h == IndexMap::kNone) return nullptr;
    const Entry& e = entries_[h];
    return e.kind == kind ? &e : nullptr;
  }

  std::size_t size() const noexcept { return map_.size(); }
  bool empty() const noexcept { return map_.size() == 0; }
  void clear() noexcept {
    map_.clear();
    entries_.clear();
    free_.clear();
  }

 private:
  void release(std::uint32_t h) noexcept {
    entries_[h] = Entry{};  // drop the stale pointers
    free_.push_back(h);     // capacity reserved in insert()
  }

  IndexMap map_;
  std::vector<Entry> entries_;      // dense; handles index into it
  std::vector<std::uint32_t> free_;  // handles of removed entries, reused first
};

// Public key -> peer. Filled from configuration only, so a plain hash table is enough; lookups
// happen once per handshake initiation. The key is the peer's own `public_key()`, not a copy: the
// table holds just the pointer (half the node size of a map from Key, which counts per idle peer;
// docs/performance-microbench.md). A peer's key must not change while it is in the table.
template <class Peer>
class PeerMap {
 public:
  // False (and no change) if a peer with the same key is already present.
  bool insert(Peer* peer) { return set_.insert(peer).second; }
  bool remove(const Key& public_key) {
    const auto it = set_.find(public_key);
    if (it == set_.end()) return false;
    set_.erase(it);
    return true;
  }
  Peer* find(const Key& public_key) const noexcept {
    const auto it = set_.find(public_key);
    return it == set_.end() ? nullptr : *it;
  }
  std::size_t size() const noexcept { return set_.size(); }
  bool empty() const noexcept { return set_.empty(); }
  void clear() noexcept { set_.clear(); }
  // Calls f(const Key&, Peer*) for every peer, in no particular order. f must not change the map.
  template <class F>
  void for_each(F&& f) const {
    for (Peer* peer : set_) f(peer->public_key(), peer);
  }

 private:
  // Transparent, so find() takes a Key without building a Peer.
  struct Hash {
    using is_transparent = void;
    std::size_t operator()(const Key& k) const noexcept { return KeyHash{}(k); }
    std::size_t operator()(const Peer* p) const noexcept { return KeyHash{}(p->public_key()); }
  };
  struct Equal {
    using is_transparent = void;
    bool operator()(const Peer* a, const Peer* b) const noexcept {
      return a->public_key() == b->public_key();
    }
    bool operator()(const Key& a, const Peer* b) const noexcept { return a == b->public_key(); }
    bool operator()(const Peer* a, const Key& b) const noexcept { return a->public_key() == b; }
  };
  std::unordered_set<Peer*, Hash, Equal> set_;
};

}  // namespace wgcore
