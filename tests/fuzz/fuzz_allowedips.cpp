// Fuzz target: AllowedIps<int> driven by a byte stream of insert / remove / remove_by_peer /
// lookup operations and checked after every step against a deliberately naive reference (a
// map of canonical prefixes scanned linearly for the longest match). Any disagreement aborts.
#include <algorithm>
#include <cstdint>
#include <cstring>
#include <map>
#include <utility>
#include <vector>

#include "core/allowedips.hpp"
#include "fuzz_common.hpp"

using namespace wgcore;

namespace {

constexpr int kPeers = 6;
int g_peers[kPeers];

struct Reference {
  std::map<std::pair<IpAddr, std::uint8_t>, int*> table;  // canonical prefix -> owner

  void insert(const IpPrefix& p, int* peer) { table[{p.canonical().addr, p.len}] = peer; }
  bool remove(const IpPrefix& p, const int* peer) {
    auto it = table.find({p.canonical().addr, p.len});
    if (it == table.end() || it->second != peer) return false;
    table.erase(it);
    return true;
  }
  void remove_by_peer(const int* peer) {
    std::erase_if(table, [&](const auto& kv) { return kv.second == peer; });
  }
  // Longest match by trying every prefix length from the longest down: slow, obviously right.
  int* lookup(const IpAddr& a) const {
    for (int len = int(a.bits()); len >= 0; --len) {
      IpPrefix p = IpPrefix{a, std::uint8_t(len)}.canonical();
      auto it = table.find({p.addr, p.len});
      if (it != table.end()) return it->second;
    }
    return nullptr;
  }
  std::vector<IpPrefix> entries_for(const int* peer) const {
    std::vector<IpPrefix> out;
    for (const auto& [key, owner] : table)
      if (owner == peer) out.push_back(IpPrefix{key.first, key.second});
    return out;
  }
};

// Addresses come from a small pool of "bases" xor-ed with input bits, so prefixes nest and
// collide often instead of scattering over 2^128.
IpAddr read_addr(fuzz::Reader& r, bool v6) {
  IpAddr a;
  a.family = v6 ? IpAddr::Family::V6 : IpAddr::Family::V4;
  const std::uint8_t base = r.u8();
  const unsigned n = a.byte_len();
  for (unsigned i = 0; i < n; ++i) a.bytes[i] = std::uint8_t((base & 0x80) ? 0xff : 0x0a);
  // The low 7 bits of `base` say how many trailing bytes come from the input.
  const unsigned from_input = std::min<unsigned>(base & 0x7f, n);
  auto b = r.bytes(from_input);
  for (std::size_t i = 0; i < b.size(); ++i) a.bytes[n - b.size() + i] ^= b[i];
  // And a few leading bytes, so prefixes far apart in the trie appear too.
  if (base & 0x40) a.bytes[0] = r.u8();
  return a;
}

void check_peer(const AllowedIps<int>& t, const Reference& ref, int* peer) {
  auto got = t.entries_for(peer);
  auto want = ref.entries_for(peer);
  std::sort(got.begin(), got.end());
  std::sort(want.begin(), want.end());
  FUZZ_CHECK(got == want);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  fuzz::Reader r(data, size);
  AllowedIps<int> table;
  Reference ref;
  const std::uint8_t config = r.u8();
  // Eager compaction copies the trie on removals, so that path runs on tiny tables too. IPv4's
  // front table is left to allowedips_test: it is 4 MB rebuilt whole on each change of scale,
  // which under ASan would cut this target's speed a hundredfold.
  if (config & 2) table.set_compact_slack_for_testing(0);
  int steps = 0;
  while (!r.empty() && steps++ < 4000) {
    const std::uint8_t op = r.u8();
    const bool v6 = op & 0x10;
    int* peer = &g_peers[(op >> 5) % kPeers];
    switch (op & 0x7) {
      case 0:
      case 1:
      case 2: {  // insert (the most common op, so tables grow)
        IpAddr a = read_addr(r, v6);
        IpPrefix p{a, std::uint8_t(r.u8() % (a.bits() + 1))};
        table.insert(p, peer);
        ref.insert(p, peer);
        break;
      }
      case 3: {  // remove, with the owner or another peer
        IpAddr a = read_addr(r, v6);
        IpPrefix p{a, std::uint8_t(r.u8() % (a.bits() + 1))};
        FUZZ_CHECK(table.remove(p, peer) == ref.remove(p, peer));
        break;
      }
      case 4:
        table.remove_by_peer(peer);
        ref.remove_by_peer(peer);
        break;
      case 5:
      case 6: {  // lookup
        IpAddr a = read_addr(r, v6);
        FUZZ_CHECK(table.lookup(a) == ref.lookup(a));
        break;
      }
      case 7:
        check_peer(table, ref, peer);
        break;
    }
    FUZZ_CHECK(table.size() == ref.table.size());
  }
  // Every stored prefix's own address (and its last address) must resolve as the reference says.
  for (const auto& [key, owner] : ref.table) {
    FUZZ_CHECK(table.lookup(key.first) == ref.lookup(key.first));
    IpAddr last = key.first;
    for (unsigned bit = key.second; bit < last.bits(); ++bit)
      last.bytes[bit / 8] |= std::uint8_t(0x80 >> (bit % 8));
    FUZZ_CHECK(table.lookup(last) == ref.lookup(last));
  }
  for (int& p : g_peers) check_peer(table, ref, &p);
  return 0;
}
