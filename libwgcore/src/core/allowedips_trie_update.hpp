// AllowedIPs trie updates: node allocation and resizing, insert, remove, remove_by_peer, the
// 18-bit front table refresh and compaction. Included by allowedips_trie.hpp only.
#pragma once

#include "core/allowedips_trie.hpp"

namespace wgcore {
namespace allowedips_detail {

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
}  // namespace wgcore
