// AllowedIPs trie: node layout, helpers and the lookup (the datapath's hot path). The
// updates (insert, removal, front table, compaction) are in allowedips_trie_update.hpp; the
// design and the reasons for it are described at the top of allowedips.hpp.
#pragma once

#include <algorithm>
#include <array>
#include <bit>
#include <cassert>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <new>
#include <type_traits>
#include <unordered_map>
#include <utility>
#include <vector>

#include "core/node_pool.hpp"
#include "wgcore/ip.hpp"

namespace wgcore {

namespace allowedips_detail {

using U128 = unsigned __int128;

inline constexpr unsigned kStride = 6;

// kCovering[s]: the prefix-map bits of every in-node prefix (lengths 0..5) that covers chunk s.
inline constexpr std::array<std::uint64_t, 64> kCovering = [] {
  std::array<std::uint64_t, 64> t{};
  for (unsigned s = 0; s < 64; ++s)
    for (unsigned l = 0; l < kStride; ++l)
      t[s] |= std::uint64_t{1} << ((1u << l) | (s >> (kStride - l)));
  return t;
}();

// Without the POPCNT instruction (absent from the baseline x86-64 that distributions build for)
// std::popcount is a libgcc call; the bit-slicing version inlines to a dozen instructions.
#if defined(__x86_64__) && !defined(__POPCNT__)
inline constexpr bool kNativePopcount = false;
#else
inline constexpr bool kNativePopcount = true;
#endif

template <bool kNative = kNativePopcount>
inline unsigned popcount64(std::uint64_t x) noexcept {
  if constexpr (kNative) {
    return unsigned(__builtin_popcountll(x));
  } else {
    x -= (x >> 1) & 0x5555555555555555u;
    x = (x & 0x3333333333333333u) + ((x >> 2) & 0x3333333333333333u);
    x = (x + (x >> 4)) & 0x0f0f0f0f0f0f0f0fu;
    return unsigned((x * 0x0101010101010101u) >> 56);
  }
}

inline unsigned leading_zeros(std::uint32_t x) noexcept { return unsigned(std::countl_zero(x)); }
inline unsigned leading_zeros(U128 x) noexcept {
  auto hi = std::uint64_t(x >> 64);
  return hi ? unsigned(std::countl_zero(hi)) : 64u + unsigned(std::countl_zero(std::uint64_t(x)));
}

inline std::uint32_t load_key(const std::uint8_t* p, std::uint32_t*) noexcept {
  return std::uint32_t(p[0]) << 24 | std::uint32_t(p[1]) << 16 | std::uint32_t(p[2]) << 8 | p[3];
}
inline U128 load_key(const std::uint8_t* p, U128*) noexcept {
  U128 k = 0;
  for (unsigned i = 0; i < 16; ++i) k = k << 8 | p[i];
  return k;
}
inline void store_key(std::uint32_t k, std::uint8_t* p) noexcept {
  for (unsigned i = 0; i < 4; ++i) p[i] = std::uint8_t(k >> (24 - 8 * i));
}
inline void store_key(U128 k, std::uint8_t* p) noexcept {
  for (unsigned i = 0; i < 16; ++i) p[i] = std::uint8_t(k >> (120 - 8 * i));
}

// One family's trie. Key is the address as an unsigned integer (first address byte most
// significant), kBits its width.
template <class Peer, class Key, unsigned kBits>
class Trie {
 public:
  Trie() = default;
  Trie(const Trie&) = delete;
  Trie& operator=(const Trie&) = delete;
  ~Trie() { clear(); }

  // Preconditions: len <= kBits, peer != nullptr. Host bits of key are ignored.
  void insert(Key key, unsigned len, Peer* peer);
  bool remove(Key key, unsigned len, const Peer* peer);
  std::size_t remove_by_peer(const Peer* peer);
  Peer* lookup(Key addr) const noexcept;
  // f(key, len) for each of the peer's prefixes.
  template <class F>
  void for_each_prefix(const Peer* peer, F&& f) const;
  std::size_t size() const noexcept { return size_; }
  void clear() noexcept;
  std::size_t memory_usage() const noexcept;
  // Tests use small thresholds so that small tables exercise the front table too.
  void set_front_thresholds(std::size_t on, std::size_t off) noexcept {
    front_on_ = on;
    front_off_ = off;
  }
  void set_compact_slack(std::size_t bytes) noexcept { compact_slack_ = bytes; }

 private:
  struct Node;
  struct Link {
    Link* prev;
    Link* next;
  };
  // One stored prefix: its place in the trie and in its peer's list.
  struct Entry : Link {
    Node* node;
    Peer* peer;
    std::uint8_t bit;  // position in node->prefixes
  };

  // A node is one allocation: this header (32 bytes for IPv4, 48 for IPv6), then
  //   Node*  kids[kid_cap]        children, packed in kidmap order
  //   Peer*  peers[prefix_cap]    owners of the prefixes, packed in `prefixes` order
  //   Entry* entries[prefix_cap]  the same prefixes' entries (updates only)
  // so a lookup step reads one node and nothing else. Growing a node moves it; resize() re-points
  // its parent, children and entries.
  struct Node {
    Key key;                  // address bits above `depth`; the rest are zero
    std::uint8_t depth;       // first address bit of this node's stride (a multiple of kStride)
    std::uint8_t slot;        // this node's chunk in parent->kidmap
    std::uint8_t kid_cap;
    std::uint8_t prefix_cap;
    std::uint64_t prefixes;
    std::uint64_t kidmap;
    Node* parent;

    Node** kids() noexcept { return reinterpret_cast<Node**>(this + 1); }
    Node* const* kids() const noexcept { return reinterpret_cast<Node* const*>(this + 1); }
    Peer** peers() noexcept { return reinterpret_cast<Peer**>(kids() + kid_cap); }
    Peer* const* peers() const noexcept {
      return reinterpret_cast<Peer* const*>(kids() + kid_cap);
    }
    Entry** entries() noexcept { return reinterpret_cast<Entry**>(peers() + prefix_cap); }
    Entry* const* entries() const noexcept {
      return reinterpret_cast<Entry* const*>(peers() + prefix_cap);
    }
    unsigned kid_count() const noexcept { return popcount64(kidmap); }
    unsigned prefix_count() const noexcept { return popcount64(prefixes); }
  };
  static_assert(std::is_trivially_copyable_v<Node>);

  static constexpr Key mask(unsigned len) noexcept {
    return len == 0 ? Key(0) : Key(~Key(0)) << (kBits - len);
  }
  // The kStride bits of key starting at bit `depth` (zero-padded past the last address bit).
  static unsigned chunk(Key key, unsigned depth) noexcept {
    return unsigned(Key(key << depth) >> (kBits - kStride));
  }
  // How many bits of map lie below `bit`: the index of that bit's item in a packed array.
  template <bool kNative = kNativePopcount>
  static unsigned rank(std::uint64_t map, unsigned bit) noexcept {
    return popcount64<kNative>(map & ((std::uint64_t{1} << bit) - 1));
  }
  static unsigned prefix_bit(Key key, unsigned depth, unsigned rel) noexcept {
    return (1u << rel) | (rel ? chunk(key, depth) >> (kStride - rel) : 0u);
  }
  template <class N>
  static N* kid(N* n, unsigned s) noexcept {
    return (n->kidmap >> s & 1) ? n->kids()[rank(n->kidmap, s)] : nullptr;
  }
  // Capacities double up to 64 (a stride's worth); they shrink when a quarter is in use.
  static unsigned grown(unsigned cap) noexcept { return cap ? std::min(2 * cap, 64u) : 1u; }
  static unsigned fitted(unsigned count, unsigned cap) noexcept {
    return count * 4 > cap ? cap : count ? std::bit_ceil(count) : 0u;
  }
  // Whether prune() is about to free n anyway (so shrinking it first would be wasted work).
  bool doomed(const Node* n) const noexcept {
    return n != root_ && n->prefixes == 0 && n->kid_count() <= 1;
  }
  static std::size_t node_bytes(unsigned kid_cap, unsigned prefix_cap) noexcept {
    return sizeof(Node) + (kid_cap + 2 * prefix_cap) * sizeof(void*);
  }

  template <bool kNative>
  Peer* lookup_walk(Key addr) const noexcept;
  Peer* lookup_popcnt(Key addr) const noexcept;
  Node* new_node(Key key, unsigned depth, unsigned kid_cap, unsigned prefix_cap);
  void free_node(Node* n) noexcept { pool_.deallocate(n, node_bytes(n->kid_cap, n->prefix_cap)); }
  Entry* new_entry() { return static_cast<Entry*>(pool_.allocate(sizeof(Entry))); }
  void free_entry(Entry* e) noexcept { pool_.deallocate(e, sizeof(Entry)); }
  Node* resize(Node* n, unsigned kid_cap, unsigned prefix_cap, bool may_fail);
  Node* attach_kid(Node* n, unsigned s, Node* c);
  Node* detach_kid(Node* n, unsigned s) noexcept;
  Node* take_out_of_node(Entry* e) noexcept;
  Node* find_node(Key key, unsigned depth) const noexcept;
  Node* find_or_make_node(Key key, unsigned depth);
  Node* descend_making(Node*& n, Key key, unsigned depth);
  void unlink(Entry* e) noexcept;
  void link(Link& head, Entry* e) noexcept;
  Link& list_for(const Peer* peer);
  void prune(Node* n) noexcept;

  // IPv4 at scale skips the first three strides through a table indexed by the first 18
  // address bits: each slot holds the node at depth >= 18 that the walk from the root reaches
  // with those bits, and the longest match shorter than /18. It costs 4 MB, so it exists only
  // while the trie is large; a change refreshes just the slots under its prefix.
  struct Front {
    const Node* node;
    Peer* best;
  };
  static constexpr bool kUseFront = kBits == 32;
  static constexpr unsigned kFrontBits = 3 * kStride;
  std::size_t front_on_ = 16384;  // prefixes; dropped again below front_off_
  std::size_t front_off_ = 4096;
  void refresh_front(Key key, unsigned len) noexcept;
  template <class Wanted>
  void fill_front(const Node* n, std::size_t first, unsigned span, Peer* best, std::size_t lo,
                  std::size_t hi, const Wanted& wanted) noexcept;
  void after_change(Key key, unsigned len) noexcept;
  std::pair<Key, unsigned> prefix_of(const Entry* e) const noexcept;

  // Memory stays proportional to the prefixes held: when the pool holds more than twice what the
  // trie needs (free blocks of sizes not asked for again, capacity left by bulk removals), the
  // trie is copied into one fresh chunk. That costs O(size) but needs at least as many bytes
  // freed since the last copy, so it is amortized over the removals that freed them.
  std::size_t compact_slack_ = std::size_t{1} << 20;  // bytes a small table may keep spare
  void maybe_compact() noexcept;
  void compact() noexcept;
  Node* copy_nodes(Node* o, Node* parent, NodePool& to) noexcept;
  static unsigned fit(unsigned count) noexcept { return count ? std::bit_ceil(count) : 0u; }

  Node* root_ = nullptr;
  std::size_t size_ = 0;
  std::unique_ptr<Front[]> front_;
  NodePool pool_;  // holds every node and entry
  // remove_by_peer leaves nodes at their capacity (shrinking one moves it: more cache misses per
  // removal); slack_ estimates the bytes left unused that way and not yet filled again.
  // Per prefix removed that way: at most its peer and entry slots and one child slot.
  static constexpr std::size_t kSlackPerPrefix = 3 * sizeof(void*);
  bool bulk_ = false;
  std::size_t slack_ = 0;
  // Each peer's circular list of entries; the Link in the map is the sentinel (unordered_map
  // never moves its elements, so entries may point at it).
  std::unordered_map<const Peer*, Link> lists_;
};

// The lookup does two popcounts per node; without the POPCNT instruction the longer loop lets
// the CPU overlap fewer lookups' cache misses (1.6x slower at a million prefixes with libgcc's
// popcount). So where the build does not assume POPCNT, the loop is compiled twice and the CPU
// picks at run time.
#if defined(__x86_64__) && !defined(__POPCNT__)
inline const bool kHavePopcnt = [] {
  __builtin_cpu_init();
  return bool(__builtin_cpu_supports("popcnt"));
}();

template <class Peer, class Key, unsigned kBits>
__attribute__((target("popcnt"))) Peer* Trie<Peer, Key, kBits>::lookup_popcnt(
    Key addr) const noexcept {
  return lookup_walk<true>(addr);
}

template <class Peer, class Key, unsigned kBits>
Peer* Trie<Peer, Key, kBits>::lookup(Key addr) const noexcept {
  return kHavePopcnt ? lookup_popcnt(addr) : lookup_walk<false>(addr);
}
#else
template <class Peer, class Key, unsigned kBits>
Peer* Trie<Peer, Key, kBits>::lookup(Key addr) const noexcept {
  return lookup_walk<true>(addr);
}
#endif

template <class Peer, class Key, unsigned kBits>
template <bool kNative>
__attribute__((always_inline)) inline Peer* Trie<Peer, Key, kBits>::lookup_walk(
    Key addr) const noexcept {
  const Node* n = root_;
  Peer* above = nullptr;
  if constexpr (kUseFront) {
    if (const Front* front = front_.get()) {
      const Front& f = front[addr >> (kBits - kFrontBits)];
      n = f.node;
      above = f.best;
    }
  }
  const Node* best = nullptr;
  std::uint64_t best_match = 0;
  while (n) {
    // Path compression skipped the bits between the parent's stride and this node: check them.
    if ((addr ^ n->key) & mask(n->depth)) break;
    const unsigned s = chunk(addr, n->depth);
    if (const std::uint64_t m = n->prefixes & kCovering[s]) {
      best = n;
      best_match = m;
    }
    if (!(n->kidmap >> s & 1)) break;
    n = n->kids()[rank<kNative>(n->kidmap, s)];
  }
  if (!best) return above;
  const unsigned bit = 63u - unsigned(std::countl_zero(best_match));
  return best->peers()[rank<kNative>(best->prefixes, bit)];
}

}  // namespace allowedips_detail
}  // namespace wgcore

#include "core/allowedips_trie_update.hpp"
