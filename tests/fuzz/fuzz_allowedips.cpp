// Fuzz target: AllowedIps<int> driven by a byte stream of insert / remove / remove_by_peer /
// lookup operations and checked after every step against a deliberately naive reference (a
// list of canonical prefixes scanned linearly for the longest match). Any disagreement aborts.
//
// Speed: an input runs at most kMaxSteps operations, so the reference never holds more than a
// few hundred prefixes and its linear scan stays cheap; the trie's size-dependent paths (node
// capacities, pool chunks, compaction) are all reached well below that. At the end, the first
// and last address of every stored prefix are looked up while the table is small, and of an
// evenly spread sample of kEndChecks prefixes beyond that (the per-step lookups already
// compare every address an input names).
#include <algorithm>
#include <cstdint>
#include <vector>

#include "core/allowedips.hpp"
#include "fuzz_common.hpp"

using namespace wgcore;

namespace {

constexpr int kPeers = 6;
constexpr int kMaxSteps = 256;
constexpr std::size_t kEndChecks = 64;
int g_peers[kPeers];

// The reference's own branches are not what is being fuzzed: left uninstrumented, they neither
// cost a coverage callback per comparison (most of this target's time otherwise) nor add
// features that guide the fuzzer by the reference's shape rather than the trie's. Such code
// cannot inline instrumented library code (std::array, IpAddr), so it works on plain bytes.
#define REFERENCE_CODE __attribute__((no_sanitize("coverage")))

// A linear list of canonical prefixes, written without IpPrefix so that the reference shares
// no code with the table under test.
class Reference {
 public:
  REFERENCE_CODE void insert(const IpPrefix& p, int* peer) {
    Entry e = entry(p, peer);
    if (Entry* old = find(e))
      old->owner = peer;
    else
      table_.push_back(e);
  }
  REFERENCE_CODE bool remove(const IpPrefix& p, const int* peer) {
    Entry* e = find(entry(p, nullptr));
    if (e == nullptr || e->owner != peer) return false;
    *e = table_.back();  // order does not matter
    table_.pop_back();
    return true;
  }
  REFERENCE_CODE void remove_by_peer(const int* peer) {
    std::size_t kept = 0;
    Entry* t = table_.data();
    for (std::size_t i = 0, n = table_.size(); i < n; ++i)
      if (t[i].owner != peer) t[kept++] = t[i];
    table_.resize(kept);
  }
  // Longest match: of the entries whose network holds the address, the longest wins.
  REFERENCE_CODE int* lookup(const IpAddr& a) const {
    const std::uint8_t* bytes = a.bytes.data();
    const bool v6 = !a.is_v4();
    const Entry* best = nullptr;
    const Entry* t = table_.data();
    for (std::size_t i = 0, n = table_.size(); i < n; ++i)
      if ((best == nullptr || t[i].len > best->len) && holds(t[i], v6, bytes)) best = &t[i];
    return best ? best->owner : nullptr;
  }
  // Whether `got` lists exactly the prefixes `peer` owns, each once, in any order.
  REFERENCE_CODE bool owned_by(const std::vector<IpPrefix>& got, const int* peer) {
    std::vector<bool> seen(table_.size());
    std::size_t owned = 0;
    for (std::size_t i = 0, n = table_.size(); i < n; ++i) owned += table_[i].owner == peer;
    if (got.size() != owned) return false;
    for (const IpPrefix& p : got) {
      const Entry want = entry(p, nullptr);
      const Entry* e = find(want);
      if (e == nullptr || e->owner != peer || seen[std::size_t(e - table_.data())]) return false;
      const std::uint8_t* bytes = p.addr.bytes.data();
      for (unsigned i = 0; i < 16; ++i)  // as stored: no host bits
        if (bytes[i] != want.net[i]) return false;
      seen[std::size_t(e - table_.data())] = true;
    }
    return true;
  }
  std::size_t size() const { return table_.size(); }
  IpPrefix prefix(std::size_t i) const { return prefix(table_[i]); }

 private:
  struct Entry {
    std::uint8_t net[16];  // host bits zero
    bool v6;
    unsigned len;
    int* owner;
  };
  std::vector<Entry> table_;  // at most one entry per (v6, net, len)

  REFERENCE_CODE static Entry entry(const IpPrefix& p, int* owner) {
    Entry e{{}, !p.addr.is_v4(), p.len, owner};
    const std::uint8_t* bytes = p.addr.bytes.data();
    for (unsigned i = 0; i < 16; ++i) {
      const unsigned bit = i * 8;
      e.net[i] = bit + 8 <= e.len ? bytes[i]
                 : bit < e.len    ? std::uint8_t(bytes[i] & (0xff00u >> (e.len - bit)))
                                  : 0;
    }
    return e;
  }
  REFERENCE_CODE static bool holds(const Entry& e, bool v6, const std::uint8_t* bytes) {
    if (e.v6 != v6) return false;
    for (unsigned bit = 0; bit < e.len; bit += 8) {
      const unsigned keep = e.len - bit >= 8 ? 0xffu : (0xff00u >> (e.len - bit)) & 0xffu;
      if ((bytes[bit / 8] ^ e.net[bit / 8]) & keep) return false;
    }
    return true;
  }
  REFERENCE_CODE Entry* find(const Entry& want) {
    Entry* t = table_.data();
    for (std::size_t i = 0, n = table_.size(); i < n; ++i) {
      if (t[i].v6 != want.v6 || t[i].len != want.len) continue;
      unsigned j = 0;
      while (j < 16 && t[i].net[j] == want.net[j]) ++j;
      if (j == 16) return &t[i];
    }
    return nullptr;
  }
  static IpPrefix prefix(const Entry& e) {
    IpAddr a;
    a.family = e.v6 ? IpAddr::Family::V6 : IpAddr::Family::V4;
    std::copy(e.net, e.net + 16, a.bytes.begin());
    return IpPrefix{a, std::uint8_t(e.len)};
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

void check_peer(const AllowedIps<int>& t, Reference& ref, int* peer) {
  FUZZ_CHECK(ref.owned_by(t.entries_for(peer), peer));
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
  while (!r.empty() && steps++ < kMaxSteps) {
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
    FUZZ_CHECK(table.size() == ref.size());
  }
  // A stored prefix's own first and last address must resolve as the reference says: all of
  // them while the table is small, an evenly spread sample beyond that.
  const std::size_t n = ref.size();
  const std::size_t stride = n <= kEndChecks ? 1 : (n + kEndChecks - 1) / kEndChecks;
  for (std::size_t i = 0; i < n; i += stride) {
    const IpPrefix p = ref.prefix(i);
    FUZZ_CHECK(table.lookup(p.addr) == ref.lookup(p.addr));
    IpAddr last = p.addr;
    for (unsigned bit = p.len; bit < last.bits(); ++bit)
      last.bytes[bit / 8] |= std::uint8_t(0x80 >> (bit % 8));
    FUZZ_CHECK(table.lookup(last) == ref.lookup(last));
  }
  for (int& p : g_peers) check_peer(table, ref, &p);
  return 0;
}
