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

#include <cstddef>
#include <cstdint>
#include <vector>

#include "core/allowedips_trie.hpp"
#include "wgcore/ip.hpp"

namespace wgcore {


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
