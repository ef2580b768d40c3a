// AllowedIPs: the per-device table that maps inner IP addresses to peers by longest-prefix match,
// one trie per family. The datapath asks it for every packet (TX: destination -> peer; RX: the
// source must map back to the peer that sent it); configuration inserts, re-owns and removes.
//
// Why this shape. The kernel uses a path-compressed binary trie: one dependent memory load per
// bit that branches, which at a million prefixes means a dozen cache misses per lookup. Here each
// trie node covers a stride of 6 address bits (a "tree bitmap", Eatherton et al. 2004):
//   - `prefixes` is a 64-bit map of the prefixes stored in this node whose lengths fall inside
//     the stride (0..5 bits past the node's depth); a prefix of relative length l and value v sits
//     at bit (1 << l) | v, so a longer prefix always has a higher bit. For a 6-bit chunk s of the
//     address, kCovering[s] masks the 6 bits that could cover s; the highest set bit of
//     (prefixes & kCovering[s]) is the longest match in this node, found without any loop.
//   - `kidmap` is a 64-bit map of child nodes. Child pointers and results are packed by popcount
//     into the node's own allocation, so a node costs memory for what it holds, not for 64
//     slots, and a lookup step reads that one node and nothing else.
//   - Chains of nodes that hold nothing and have one child are skipped (path compression): a child
//     may start several strides deeper; its stored key lets the lookup verify the skipped bits.
//   - A large IPv4 trie (16k+ prefixes) also gets a 4 MB table indexed by the first 18 address
//     bits, pointing past the first three strides (level compression, as in poptrie's direct
//     pointing): a random lookup then costs about one cache miss instead of four.
// Stride 6 is the widest whose in-node prefix map fits one machine word; stride 8 would save a
// level but need 256-bit maps and multi-word popcounts on every step. At 1M IPv4 prefixes this
// looks up a random address in ~40 ns (allowedips_bench); a binary trie needs several hundred.
// IPv6 walks up to 22 strides, in practice about 8 nodes for a /128 (compression removes the
// empty levels of a sparse space).
//
// Removal by peer: every stored prefix has an Entry in its peer's intrusive circular list, and the
// Entry points at its node, so remove_by_peer() costs time proportional to that peer's prefixes,
// not a walk of the whole trie (the kernel's weakness). Entries also remember nothing but their
// node and bit: the prefix itself is rebuilt from the node's key when entries_for() needs it.
//
// Not thread-safe: the device serializes writers against readers (an RCU-style scheme, if ever
// wanted, would publish whole new nodes instead of editing them in place).
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

template <class Peer, class Key, unsigned kBits>
auto Trie<Peer, Key, kBits>::new_node(Key key, unsigned depth, unsigned kid_cap,
                                      unsigned prefix_cap) -> Node* {
  Node* n = static_cast<Node*>(pool_.allocate(node_bytes(kid_cap, prefix_cap)));
  *n = Node{};
  n->key = key & mask(depth);
  n->depth = std::uint8_t(depth);
  n->kid_cap = std::uint8_t(kid_cap);
  n->prefix_cap = std::uint8_t(prefix_cap);
  return n;
}

// Moves a linked node into an allocation of another size. With may_fail (used for shrinking,
// from noexcept paths) an allocation failure keeps the old node; otherwise it throws before
// anything changed.
template <class Peer, class Key, unsigned kBits>
auto Trie<Peer, Key, kBits>::resize(Node* n, unsigned kid_cap, unsigned prefix_cap,
                                    bool may_fail) -> Node* {
  const std::size_t bytes = node_bytes(kid_cap, prefix_cap);
  void* mem = may_fail ? pool_.try_allocate(bytes) : pool_.allocate(bytes);
  if (!mem) return n;
  Node* m = static_cast<Node*>(mem);
  *m = *n;
  m->kid_cap = std::uint8_t(kid_cap);
  m->prefix_cap = std::uint8_t(prefix_cap);
  std::copy_n(n->kids(), n->kid_count(), m->kids());
  std::copy_n(n->peers(), n->prefix_count(), m->peers());
  std::copy_n(n->entries(), n->prefix_count(), m->entries());
  if (n->parent)
    n->parent->kids()[rank(n->parent->kidmap, n->slot)] = m;
  else
    root_ = m;
  for (unsigned i = 0; i < m->kid_count(); ++i) m->kids()[i]->parent = m;
  for (unsigned i = 0; i < m->prefix_count(); ++i) m->entries()[i]->node = m;
  free_node(n);
  return m;
}

// Returns n, or where n moved if it had to grow.
template <class Peer, class Key, unsigned kBits>
auto Trie<Peer, Key, kBits>::attach_kid(Node* n, unsigned s, Node* c) -> Node* {
  const unsigned count = n->kid_count();
  if (count == n->kid_cap) n = resize(n, grown(n->kid_cap), n->prefix_cap, false);
  Node** kids = n->kids();
  const unsigned at = rank(n->kidmap, s);
  std::copy_backward(kids + at, kids + count, kids + count + 1);
  kids[at] = c;
  n->kidmap |= std::uint64_t{1} << s;
  c->parent = n;
  c->slot = std::uint8_t(s);
  return n;
}

template <class Peer, class Key, unsigned kBits>
auto Trie<Peer, Key, kBits>::detach_kid(Node* n, unsigned s) noexcept -> Node* {
  const unsigned count = n->kid_count();
  Node** kids = n->kids();
  const unsigned at = rank(n->kidmap, s);
  std::copy(kids + at + 1, kids + count, kids + at);
  n->kidmap &= ~(std::uint64_t{1} << s);
  const unsigned cap = fitted(count - 1, n->kid_cap);
  return cap == n->kid_cap || doomed(n) || bulk_ ? n : resize(n, cap, n->prefix_cap, true);
}

// Removes e from its node (not from its peer's list); returns the node, which may have moved.
template <class Peer, class Key, unsigned kBits>
auto Trie<Peer, Key, kBits>::take_out_of_node(Entry* e) noexcept -> Node* {
  Node* n = e->node;
  const unsigned count = n->prefix_count();
  const unsigned at = rank(n->prefixes, e->bit);
  Peer** peers = n->peers();
  Entry** entries = n->entries();
  std::copy(peers + at + 1, peers + count, peers + at);
  std::copy(entries + at + 1, entries + count, entries + at);
  n->prefixes &= ~(std::uint64_t{1} << e->bit);
  --size_;
  const unsigned cap = fitted(count - 1, n->prefix_cap);
  return cap == n->prefix_cap || doomed(n) || bulk_ ? n : resize(n, n->kid_cap, cap, true);
}

template <class Peer, class Key, unsigned kBits>
auto Trie<Peer, Key, kBits>::find_node(Key key, unsigned depth) const noexcept -> Node* {
  Node* n = root_;
  while (n && n->depth < depth) n = kid(n, chunk(key, n->depth));
  return n && n->depth == depth && n->key == (key & mask(depth)) ? n : nullptr;
}

// Returns the node at exactly `depth` on key's path, creating it (and splitting a compressed
// edge) if needed.
template <class Peer, class Key, unsigned kBits>
auto Trie<Peer, Key, kBits>::find_or_make_node(Key key, unsigned depth) -> Node* {
  if (!root_) root_ = new_node(Key(0), 0, 0, 0);
  Node* n = root_;
  try {
    return descend_making(n, key, depth);
  } catch (...) {
    prune(n);  // a split node made on the way may now hold a single child
    throw;
  }
}

// n: where the descent is, kept current for the caller's clean-up if this throws.
template <class Peer, class Key, unsigned kBits>
auto Trie<Peer, Key, kBits>::descend_making(Node*& n, Key key, unsigned depth) -> Node* {
  while (n->depth != depth) {
    const unsigned s = chunk(key, n->depth);
    Node* c = kid(n, s);
    if (!c) {
      Node* target = new_node(key, depth, 0, 1);
      try {
        n = attach_kid(n, s, target);
      } catch (...) {
        free_node(target);
        throw;
      }
      return target;
    }
    const unsigned lim = std::min<unsigned>(c->depth, depth);
    const unsigned common = std::min(leading_zeros(Key(key ^ c->key)), lim);
    if (common == c->depth) {  // c lies on key's path, not below the target
      n = c;
      continue;
    }
    // key leaves c's compressed edge (or the target sits inside it): put a node at the stride
    // where the paths part. c's chunk there differs from key's unless the node is the target.
    // Made with room for c, the target's branch and (if it is the target) one prefix, so
    // nothing below moves it while it is not yet linked.
    const unsigned split = common == depth ? depth : common - common % kStride;
    Node* mid = new_node(key, split, 2, split == depth ? 1 : 0);
    const unsigned cs = chunk(c->key, split);
    mid->kids()[0] = c;
    mid->kidmap = std::uint64_t{1} << cs;
    c->parent = mid;
    c->slot = std::uint8_t(cs);
    n->kids()[rank(n->kidmap, s)] = mid;
    mid->parent = n;
    mid->slot = std::uint8_t(s);
    n = mid;
  }
  return n;
}

template <class Peer, class Key, unsigned kBits>
auto Trie<Peer, Key, kBits>::list_for(const Peer* peer) -> Link& {
  auto [it, fresh] = lists_.try_emplace(peer);
  if (fresh) it->second.prev = it->second.next = &it->second;
  return it->second;
}

template <class Peer, class Key, unsigned kBits>
void Trie<Peer, Key, kBits>::link(Link& head, Entry* e) noexcept {
  e->prev = &head;
  e->next = head.next;
  head.next->prev = e;
  head.next = e;
}

template <class Peer, class Key, unsigned kBits>
void Trie<Peer, Key, kBits>::unlink(Entry* e) noexcept {
  e->prev->next = e->next;
  e->next->prev = e->prev;
  // Neighbours that coincide can only be the sentinel alone: the peer has no prefixes left.
  if (e->prev == e->next) lists_.erase(e->peer);
}

template <class Peer, class Key, unsigned kBits>
void Trie<Peer, Key, kBits>::insert(Key key, unsigned len, Peer* peer) {
  assert(len <= kBits && peer);
  len = std::min(len, kBits);
  key &= mask(len);
  const unsigned depth = len - len % kStride;
  const unsigned bit = prefix_bit(key, depth, len - depth);
  Node* n = find_or_make_node(key, depth);
  try {
    if (n->prefixes >> bit & 1) {  // the exact prefix exists: it now belongs to `peer`
      const unsigned at = rank(n->prefixes, bit);
      Entry* e = n->entries()[at];
      if (e->peer == peer) return;
      Link& head = list_for(peer);
      unlink(e);
      link(head, e);
      e->peer = peer;
      n->peers()[at] = peer;
      after_change(key, len);
      return;
    }
    Entry* e = new_entry();
    const unsigned count = n->prefix_count();
    Link* head;
    try {
      if (count == n->prefix_cap) n = resize(n, n->kid_cap, grown(n->prefix_cap), false);
      head = &list_for(peer);
    } catch (...) {
      free_entry(e);
      throw;
    }
    // Nothing below throws.
    const unsigned at = rank(n->prefixes, bit);
    Peer** peers = n->peers();
    Entry** entries = n->entries();
    std::copy_backward(peers + at, peers + count, peers + count + 1);
    std::copy_backward(entries + at, entries + count, entries + count + 1);
    peers[at] = peer;
    entries[at] = e;
    n->prefixes |= std::uint64_t{1} << bit;
    e->node = n;
    e->peer = peer;
    e->bit = std::uint8_t(bit);
    link(*head, e);
    ++size_;
    // A bulk removal's spare capacity is likely what this prefix just filled (the same peer's
    // prefixes coming back), so it no longer counts as spare.
    slack_ -= std::min(slack_, kSlackPerPrefix);
  } catch (...) {
    prune(n);  // the node may have been made for this prefix alone
    after_change(key, len);
    throw;
  }
  after_change(key, len);
  maybe_compact();
}

template <class Peer, class Key, unsigned kBits>
bool Trie<Peer, Key, kBits>::remove(Key key, unsigned len, const Peer* peer) {
  if (len > kBits) return false;
  key &= mask(len);
  const unsigned depth = len - len % kStride;
  const unsigned bit = prefix_bit(key, depth, len - depth);
  Node* n = find_node(key, depth);
  if (!n || !(n->prefixes >> bit & 1)) return false;
  Entry* e = n->entries()[rank(n->prefixes, bit)];
  if (e->peer != peer) return false;
  n = take_out_of_node(e);
  unlink(e);
  free_entry(e);
  prune(n);
  after_change(key, len);
  maybe_compact();
  return true;
}

template <class Peer, class Key, unsigned kBits>
std::size_t Trie<Peer, Key, kBits>::remove_by_peer(const Peer* peer) {
  auto it = lists_.find(peer);
  if (it == lists_.end()) return 0;
  Link* head = &it->second;
  std::size_t removed = 0;
  // The front table is brought up to date once at the end, in one pass over the touched slots
  // (see fill_front).
  std::vector<std::uint64_t> dirty;
  if (front_) dirty.assign((std::size_t{1} << kFrontBits) / 64, 0);
  // Each entry's node, and often that node's parent, is a cache miss of its own: fetch them a
  // few entries ahead (nodes kAhead entries ahead, their parents half as far).
  constexpr int kAhead = 8;
  Link* ahead = head->next;
  Link* half = head->next;
  for (int i = 0; i < kAhead && ahead != head; ++i) {
    __builtin_prefetch(static_cast<Entry*>(ahead)->node);
    ahead = ahead->next;
    if (i >= kAhead / 2) half = half->next;
  }
  bulk_ = true;
  for (Link* l = head->next; l != head;) {
    auto* e = static_cast<Entry*>(l);
    l = l->next;
    if (ahead != head) {
      __builtin_prefetch(static_cast<Entry*>(ahead)->node);
      ahead = ahead->next;
    }
    if (half != head) {
      // The node's header has arrived by now: also fetch its packed arrays, which take_out
      // shifts and which often lie on other cache lines.
      const Node* hn = static_cast<Entry*>(half)->node;
      __builtin_prefetch(hn->parent);
      __builtin_prefetch(hn->peers());
      __builtin_prefetch(hn->entries());
      half = half->next;
    }
    const auto [key, len] = prefix_of(e);
    Node* n = take_out_of_node(e);
    free_entry(e);
    prune(n);
    ++removed;
    if (!dirty.empty()) {
      // The range is aligned to its power-of-two size: whole words, or bits inside one word.
      const std::size_t first = std::size_t(key >> (kBits - kFrontBits));
      const std::size_t count = len >= kFrontBits ? 1 : std::size_t{1} << (kFrontBits - len);
      if (count >= 64)
        std::fill_n(&dirty[first / 64], count / 64, ~std::uint64_t{0});
      else
        dirty[first / 64] |= ((std::uint64_t{1} << count) - 1) << (first % 64);
    }
  }
  bulk_ = false;
  slack_ += removed * kSlackPerPrefix;
  lists_.erase(it);
  if (size_ == 0) {
    clear();
    return removed;
  }
  if (front_ && size_ < front_off_) {
    front_.reset();
  } else if (front_) {
    const std::size_t all = std::size_t{1} << kFrontBits;
    fill_front(root_, 0, kFrontBits, nullptr, 0, all, [&](std::size_t first, std::size_t count) {
      if (count < 64)
        return (dirty[first / 64] >> (first % 64) & ((std::uint64_t{1} << count) - 1)) != 0;
      return std::any_of(&dirty[first / 64], &dirty[first / 64] + count / 64,
                         [](std::uint64_t w) { return w != 0; });
    });
  }
  maybe_compact();
  return removed;
}

// Restores the shape invariant after n lost something: no node other than the root is empty,
// and none holds no prefixes with a single child (that child hangs from the parent instead).
template <class Peer, class Key, unsigned kBits>
void Trie<Peer, Key, kBits>::prune(Node* n) noexcept {
  while (n != root_ && n->prefixes == 0) {
    Node* parent = n->parent;
    const unsigned kids = n->kid_count();
    if (kids >= 2) return;
    if (kids == 1) {
      Node* only = n->kids()[0];
      parent->kids()[rank(parent->kidmap, n->slot)] = only;
      only->parent = parent;
      only->slot = n->slot;
      free_node(n);
      return;
    }
    parent = detach_kid(parent, n->slot);
    free_node(n);
    n = parent;
  }
}

template <class Peer, class Key, unsigned kBits>
void Trie<Peer, Key, kBits>::clear() noexcept {
  pool_.release();  // every node and entry lives there
  slack_ = 0;
  root_ = nullptr;
  size_ = 0;
  lists_.clear();
  front_.reset();
}

// Rewrites the front slots [first, first + 2^span) from the trie, where n is the node the walk
// from the root reaches after the range's common kFrontBits - span bits (not yet checked against
// them: it may lie over a compressed edge) and best the longest match above it. One pass visits
// each node above the front's depth once and writes slots in address order; a walk from the root
// per slot would redo the upper strides for each of them (a /8 covers 1024 slots).
// Only slots in [lo, hi) are written, and only sub-ranges for which wanted(first, count) says
// yes are visited (every slot written is correct for the trie as it is, so both only save work).
template <class Peer, class Key, unsigned kBits>
template <class Wanted>
void Trie<Peer, Key, kBits>::fill_front(const Node* n, std::size_t first, unsigned span,
                                        Peer* best, std::size_t lo, std::size_t hi,
                                        const Wanted& wanted) noexcept {
  const std::size_t count = std::size_t{1} << span;
  if (first >= hi || first + count <= lo) return;
  const unsigned level = kFrontBits - span;  // address bits the range fixes
  const Key a = Key(first) << (kBits - kFrontBits);
  // Writes the slots of [from, to) that lie in [lo, hi).
  auto put = [&](std::size_t from, std::size_t to, Front f) {
    from = std::max(from, lo);
    to = std::min(to, hi);
    if (from < to) std::fill(&front_[from], &front_[to], f);
  };
  if (n && ((a ^ n->key) & mask(level))) n = nullptr;
  if (n && n->depth > level) {
    // A compressed edge fixes more bits than the range does: only the part of the range that
    // follows it leads to n; the rest has no node below.
    const unsigned sub = kFrontBits - std::min<unsigned>(n->depth, kFrontBits);
    const std::size_t at = std::size_t(n->key >> (kBits - kFrontBits)) >> sub << sub;
    const std::size_t end = at + (std::size_t{1} << sub);
    put(first, at, Front{nullptr, best});
    put(end, first + count, Front{nullptr, best});
    if (sub == 0)
      put(at, end, Front{n, best});
    else
      fill_front(n, at, sub, best, lo, hi, wanted);  // n->depth is now the range's level
    return;
  }
  if (!n) {
    put(first, first + count, Front{nullptr, best});
    return;
  }
  // n->depth == level < kFrontBits: one sub-range per chunk, those that meet [lo, hi) only.
  const unsigned sub = span - kStride;
  const unsigned s_lo = lo > first ? unsigned((lo - first) >> sub) : 0u;
  const unsigned s_hi = hi < first + count ? unsigned((hi - 1 - first) >> sub) : 63u;
  if (sub == 0 && s_lo == 0 && s_hi == 63) {
    // All 64 slots under the last stride above the front: paint them from the node's prefixes
    // in bit order (shorter prefixes first, so longer ones overwrite), then its children,
    // instead of a longest-match and a rank per slot.
    Front* f = &front_[first];
    std::fill_n(f, 64, Front{nullptr, best});
    unsigned i = 0;
    for (std::uint64_t m = n->prefixes; m; m &= m - 1, ++i) {
      const unsigned bit = unsigned(std::countr_zero(m));
      const unsigned rel = 31u - unsigned(std::countl_zero(bit));
      const unsigned width = kStride - rel;
      const unsigned from = (bit ^ (1u << rel)) << width;
      for (unsigned x = from; x < from + (1u << width); ++x) f[x].best = n->peers()[i];
    }
    i = 0;
    for (std::uint64_t m = n->kidmap; m; m &= m - 1, ++i)
      f[std::countr_zero(m)].node = n->kids()[i];
    return;
  }
  for (unsigned s = s_lo; s <= s_hi; ++s) {
    const std::size_t at = first + (std::size_t{s} << sub);
    if (!wanted(at, std::size_t{1} << sub)) continue;
    Peer* b = best;
    if (const std::uint64_t m = n->prefixes & kCovering[s])
      b = n->peers()[rank(n->prefixes, 63u - unsigned(std::countl_zero(m)))];
    const Node* c = kid(n, s);
    if (sub == 0)
      // A child of the last stride above the front starts with exactly this slot's bits: no
      // need to touch it (a cache miss) to check them.
      front_[at] = Front{c, b};
    else
      fill_front(c, at, sub, b, lo, hi, wanted);
  }
}

template <class Peer, class Key, unsigned kBits>
void Trie<Peer, Key, kBits>::refresh_front(Key key, unsigned len) noexcept {
  const std::size_t lo = std::size_t(key >> (kBits - kFrontBits));
  const std::size_t hi = lo + (len >= kFrontBits ? 1 : std::size_t{1} << (kFrontBits - len));
  fill_front(root_, 0, kFrontBits, nullptr, lo, hi, [](std::size_t, std::size_t) { return true; });
}

// Keeps the front table in step with a change to prefix key/len, making or dropping it as the
// trie crosses the size thresholds.
template <class Peer, class Key, unsigned kBits>
void Trie<Peer, Key, kBits>::after_change(Key key, unsigned len) noexcept {
  if constexpr (kUseFront) {
    if (front_ && size_ < front_off_) {
      front_.reset();
    } else if (front_) {
      refresh_front(key & mask(len), len);
    } else if (size_ >= front_on_) {
      front_.reset(new (std::nothrow) Front[std::size_t{1} << kFrontBits]);
      if (front_) refresh_front(0, 0);  // without memory, lookups just walk from the root
    }
  }
}

template <class Peer, class Key, unsigned kBits>
void Trie<Peer, Key, kBits>::maybe_compact() noexcept {
  if (size_ == 0) {
    clear();  // an emptied trie keeps nothing, not even its root
    return;
  }
  const std::size_t needed = pool_.live_bytes() - std::min(slack_, pool_.live_bytes());
  if (pool_.reserved_bytes() > 2 * needed + compact_slack_) compact();
}

// Copies the subtree at o into `to` with capacities fitted to the contents. The copies'
// entries() still name the old entries; each old entry's node now names its node's copy.
template <class Peer, class Key, unsigned kBits>
auto Trie<Peer, Key, kBits>::copy_nodes(Node* o, Node* parent, NodePool& to) noexcept -> Node* {
  const unsigned kids = o->kid_count(), prefixes = o->prefix_count();
  auto* m = static_cast<Node*>(to.try_allocate(node_bytes(fit(kids), fit(prefixes))));
  *m = *o;  // compact() reserved room for every copy: m is not null
  m->kid_cap = std::uint8_t(fit(kids));
  m->prefix_cap = std::uint8_t(fit(prefixes));
  m->parent = parent;
  std::copy_n(o->peers(), prefixes, m->peers());
  std::copy_n(o->entries(), prefixes, m->entries());
  for (unsigned i = 0; i < prefixes; ++i) o->entries()[i]->node = m;
  for (unsigned i = 0; i < kids; ++i) m->kids()[i] = copy_nodes(o->kids()[i], m, to);
  return m;
}

// Nodes are laid out depth-first (a lookup's path tends to share cache lines and pages), then
// entries in each peer's list order (remove_by_peer reads them in sequence).
template <class Peer, class Key, unsigned kBits>
void Trie<Peer, Key, kBits>::compact() noexcept {
  std::size_t bytes = size_ * NodePool::block_bytes(sizeof(Entry));
  auto count = [&](auto& self, const Node* n) -> void {
    bytes += NodePool::block_bytes(node_bytes(fit(n->kid_count()), fit(n->prefix_count())));
    for (unsigned i = 0; i < n->kid_count(); ++i) self(self, n->kids()[i]);
  };
  count(count, root_);
  NodePool fresh;
  if (!fresh.reserve_exact(bytes)) return;  // no memory: stay as we are
  Node* root = copy_nodes(root_, nullptr, fresh);
  for (auto& [peer, head] : lists_) {
    Link* prev = &head;
    for (Link* l = head.next; l != &head;) {
      auto* o = static_cast<Entry*>(l);
      l = l->next;
      auto* e = static_cast<Entry*>(fresh.try_allocate(sizeof(Entry)));
      e->node = o->node;  // already the copy
      e->peer = o->peer;
      e->bit = o->bit;
      e->node->entries()[rank(e->node->prefixes, e->bit)] = e;
      e->prev = prev;
      prev->next = e;
      prev = e;
    }
    prev->next = &head;
    head.prev = prev;
  }
  pool_ = std::move(fresh);
  root_ = root;
  slack_ = 0;
  if (front_) refresh_front(0, 0);
}

template <class Peer, class Key, unsigned kBits>
auto Trie<Peer, Key, kBits>::prefix_of(const Entry* e) const noexcept -> std::pair<Key, unsigned> {
  const unsigned rel = 31u - unsigned(std::countl_zero(unsigned(e->bit)));
  const unsigned depth = e->node->depth;
  Key key = e->node->key;
  if (rel) key |= Key(e->bit ^ (1u << rel)) << (kBits - depth - rel);
  return {key, depth + rel};
}

template <class Peer, class Key, unsigned kBits>
template <class F>
void Trie<Peer, Key, kBits>::for_each_prefix(const Peer* peer, F&& f) const {
  auto it = lists_.find(peer);
  if (it == lists_.end()) return;
  for (const Link* l = it->second.next; l != &it->second; l = l->next) {
    const auto [key, len] = prefix_of(static_cast<const Entry*>(l));
    f(key, len);
  }
}

// Bytes this trie owns: its pool (blocks in use, blocks free for reuse, unused chunk tails) and
// the peer lists (their allocator overhead excluded).
template <class Peer, class Key, unsigned kBits>
std::size_t Trie<Peer, Key, kBits>::memory_usage() const noexcept {
  using ListNode = typename decltype(lists_)::value_type;
  return pool_.reserved_bytes() + lists_.bucket_count() * sizeof(void*) +
         lists_.size() * (sizeof(ListNode) + sizeof(void*));
}

}  // namespace allowedips_detail

// The device's AllowedIPs table. Peer is opaque: only Peer* is stored and returned.
// Not thread-safe (see the top of this file).
template <class Peer>
class AllowedIps {
 public:
  // Inserts p (host bits cleared), or re-owns it if the exact prefix exists: it then belongs to
  // `peer`, as in the kernel. Precondition: peer != nullptr, p.len <= p.addr.bits().
  // Control path: may throw std::bad_alloc, leaving the table as it was.
  void insert(const IpPrefix& p, Peer* peer) {
    const IpPrefix c = p.canonical();
    if (c.addr.is_v4())
      v4_.insert(key4(c.addr.bytes.data()), c.len, peer);
    else
      v6_.insert(key6(c.addr.bytes.data()), c.len, peer);
  }

  // Removes exactly p (host bits ignored) if `peer` owns it; a covering or covered prefix, or
  // one owned by another peer, stays. Returns whether something was removed.
  bool remove(const IpPrefix& p, const Peer* peer) {
    const IpPrefix c = p.canonical();
    return c.addr.is_v4() ? v4_.remove(key4(c.addr.bytes.data()), c.len, peer)
                          : v6_.remove(key6(c.addr.bytes.data()), c.len, peer);
  }

  // Removes every prefix of `peer`, in time proportional to that peer's prefix count.
  void remove_by_peer(const Peer* peer) {
    v4_.remove_by_peer(peer);
    v6_.remove_by_peer(peer);
  }

  // Datapath: longest-prefix match; nullptr when nothing matches. addr is 4 (v4) or 16 (v6)
  // bytes in network order. No allocation, no exceptions.
  Peer* lookup_v4(const std::uint8_t* addr) const noexcept { return v4_.lookup(key4(addr)); }
  Peer* lookup_v6(const std::uint8_t* addr) const noexcept { return v6_.lookup(key6(addr)); }
  Peer* lookup(const IpAddr& a) const noexcept {
    return a.is_v4() ? lookup_v4(a.bytes.data()) : lookup_v6(a.bytes.data());
  }

  // The peer's prefixes, canonical, IPv4 first; order within a family is unspecified.
  std::vector<IpPrefix> entries_for(const Peer* peer) const {
    std::vector<IpPrefix> out;
    v4_.for_each_prefix(peer, [&](std::uint32_t key, unsigned len) {
      IpPrefix p;
      p.addr.family = IpAddr::Family::V4;
      allowedips_detail::store_key(key, p.addr.bytes.data());
      p.len = std::uint8_t(len);
      out.push_back(p);
    });
    v6_.for_each_prefix(peer, [&](allowedips_detail::U128 key, unsigned len) {
      IpPrefix p;
      p.addr.family = IpAddr::Family::V6;
      allowedips_detail::store_key(key, p.addr.bytes.data());
      p.len = std::uint8_t(len);
      out.push_back(p);
    });
    return out;
  }

  std::size_t size() const noexcept { return v4_.size() + v6_.size(); }
  void clear() noexcept {
    v4_.clear();
    v6_.clear();
  }
  // For tests: build IPv4's front table (see Trie) from `on` prefixes, drop it below `off`.
  void set_front_thresholds_for_testing(std::size_t on, std::size_t off) noexcept {
    v4_.set_front_thresholds(on, off);
  }
  // For tests: compact once more than twice the needed memory plus `bytes` is held (default 1 MiB).
  void set_compact_slack_for_testing(std::size_t bytes) noexcept {
    v4_.set_compact_slack(bytes);
    v6_.set_compact_slack(bytes);
  }
  // Diagnostics: bytes held by the table, allocator overhead excluded.
  std::size_t memory_usage() const noexcept { return v4_.memory_usage() + v6_.memory_usage(); }

 private:
  static std::uint32_t key4(const std::uint8_t* p) noexcept {
    return allowedips_detail::load_key(p, static_cast<std::uint32_t*>(nullptr));
  }
  static allowedips_detail::U128 key6(const std::uint8_t* p) noexcept {
    return allowedips_detail::load_key(p, static_cast<allowedips_detail::U128*>(nullptr));
  }

  allowedips_detail::Trie<Peer, std::uint32_t, 32> v4_;
  allowedips_detail::Trie<Peer, allowedips_detail::U128, 128> v6_;
};

}  // namespace wgcore
