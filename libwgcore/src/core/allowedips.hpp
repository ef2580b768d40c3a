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
  static Node* new_node(Key key, unsigned depth, unsigned kid_cap, unsigned prefix_cap);
  static void free_node(Node* n) noexcept { ::operator delete(n); }
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
  static void delete_subtree(Node* n) noexcept;

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
  void refresh_front_slot(std::size_t x) noexcept;
  void after_change(Key key, unsigned len) noexcept;
  std::pair<Key, unsigned> prefix_of(const Entry* e) const noexcept;

  Node* root_ = nullptr;
  std::size_t size_ = 0;
  std::unique_ptr<Front[]> front_;
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
  Node* n = static_cast<Node*>(::operator new(node_bytes(kid_cap, prefix_cap)));
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
  void* mem = may_fail ? ::operator new(bytes, std::nothrow) : ::operator new(bytes);
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
  return cap == n->kid_cap || doomed(n) ? n : resize(n, cap, n->prefix_cap, true);
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
  return cap == n->prefix_cap || doomed(n) ? n : resize(n, n->kid_cap, cap, true);
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
    auto e = std::make_unique<Entry>();
    const unsigned count = n->prefix_count();
    if (count == n->prefix_cap) n = resize(n, n->kid_cap, grown(n->prefix_cap), false);
    Link& head = list_for(peer);
    // Nothing below throws.
    const unsigned at = rank(n->prefixes, bit);
    Peer** peers = n->peers();
    Entry** entries = n->entries();
    std::copy_backward(peers + at, peers + count, peers + count + 1);
    std::copy_backward(entries + at, entries + count, entries + count + 1);
    peers[at] = peer;
    entries[at] = e.get();
    n->prefixes |= std::uint64_t{1} << bit;
    e->node = n;
    e->peer = peer;
    e->bit = std::uint8_t(bit);
    link(head, e.release());
    ++size_;
  } catch (...) {
    prune(n);  // the node may have been made for this prefix alone
    after_change(key, len);
    throw;
  }
  after_change(key, len);
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
  delete e;
  prune(n);
  after_change(key, len);
  return true;
}

template <class Peer, class Key, unsigned kBits>
std::size_t Trie<Peer, Key, kBits>::remove_by_peer(const Peer* peer) {
  auto it = lists_.find(peer);
  if (it == lists_.end()) return 0;
  Link* head = &it->second;
  std::size_t removed = 0;
  // The front table is brought up to date once at the end, walking the touched slots in address
  // order (consecutive slots share their upper nodes, so the walks stay in cache).
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
  for (Link* l = head->next; l != head;) {
    auto* e = static_cast<Entry*>(l);
    l = l->next;
    if (ahead != head) {
      __builtin_prefetch(static_cast<Entry*>(ahead)->node);
      ahead = ahead->next;
    }
    if (half != head) {
      __builtin_prefetch(static_cast<Entry*>(half)->node->parent);
      half = half->next;
    }
    const auto [key, len] = prefix_of(e);
    Node* n = take_out_of_node(e);
    delete e;
    prune(n);
    ++removed;
    if (!dirty.empty()) {
      const std::size_t first = std::size_t(key >> (kBits - kFrontBits));
      const std::size_t count = len >= kFrontBits ? 1 : std::size_t{1} << (kFrontBits - len);
      for (std::size_t x = first; x < first + count; ++x)
        dirty[x / 64] |= std::uint64_t{1} << (x % 64);
    }
  }
  lists_.erase(it);
  if (front_ && size_ < front_off_) {
    front_.reset();
  } else if (front_) {
    for (std::size_t w = 0; w < dirty.size(); ++w)
      for (std::uint64_t bits = dirty[w]; bits; bits &= bits - 1)
        refresh_front_slot(w * 64 + unsigned(std::countr_zero(bits)));
  }
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
void Trie<Peer, Key, kBits>::delete_subtree(Node* n) noexcept {
  for (unsigned i = 0; i < n->kid_count(); ++i) delete_subtree(n->kids()[i]);
  for (unsigned i = 0; i < n->prefix_count(); ++i) delete n->entries()[i];
  free_node(n);
}

template <class Peer, class Key, unsigned kBits>
void Trie<Peer, Key, kBits>::clear() noexcept {
  if (root_) delete_subtree(root_);
  root_ = nullptr;
  size_ = 0;
  lists_.clear();
  front_.reset();
}

template <class Peer, class Key, unsigned kBits>
void Trie<Peer, Key, kBits>::refresh_front_slot(std::size_t x) noexcept {
  const Key a = Key(x) << (kBits - kFrontBits);
  const Node* n = root_;
  Peer* best = nullptr;
  while (n) {
    if ((a ^ n->key) & mask(std::min<unsigned>(n->depth, kFrontBits))) {
      n = nullptr;
      break;
    }
    if (n->depth >= kFrontBits) {
      // Reached over a compressed edge from above the last stride: the node belongs to this
      // slot only if its bits above the front's depth are x (else x has no node below).
      break;
    }
    const unsigned s = chunk(a, n->depth);
    if (const std::uint64_t m = n->prefixes & kCovering[s])
      best = n->peers()[rank(n->prefixes, 63u - unsigned(std::countl_zero(m)))];
    const bool last = n->depth + kStride == kFrontBits;
    n = kid(n, s);
    // A child of the last stride above the front starts with exactly x's bits: no need to
    // touch it (it is a cache miss) to check them.
    if (last) break;
  }
  front_[x] = Front{n, best};
}

template <class Peer, class Key, unsigned kBits>
void Trie<Peer, Key, kBits>::refresh_front(Key key, unsigned len) noexcept {
  const std::size_t first = std::size_t(key >> (kBits - kFrontBits));
  const std::size_t count = len >= kFrontBits ? 1 : std::size_t{1} << (kFrontBits - len);
  for (std::size_t x = first; x < first + count; ++x) refresh_front_slot(x);
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

// Bytes this trie owns, allocator overhead excluded (the benchmark measures that separately).
template <class Peer, class Key, unsigned kBits>
std::size_t Trie<Peer, Key, kBits>::memory_usage() const noexcept {
  using ListNode = typename decltype(lists_)::value_type;
  std::size_t bytes = size_ * sizeof(Entry) + lists_.bucket_count() * sizeof(void*) +
                      lists_.size() * (sizeof(ListNode) + sizeof(void*));
  std::vector<const Node*> todo;
  if (root_) todo.push_back(root_);
  while (!todo.empty()) {
    const Node* n = todo.back();
    todo.pop_back();
    bytes += node_bytes(n->kid_cap, n->prefix_cap);
    for (unsigned i = 0; i < n->kid_count(); ++i) todo.push_back(n->kids()[i]);
  }
  return bytes;
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
