// AllowedIPs tests: the kernel selftest's cases (overlap, re-owning, removal, /0, families, host
// bits) by hand, then a long randomized run against a deliberately naive reference table.
#include "core/allowedips.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <vector>

namespace wgcore {
namespace {

struct TestPeer {
  int id;
};

IpPrefix P(const char* s) {
  auto p = IpPrefix::parse(s);
  EXPECT_TRUE(p) << s;
  return p.value_or(IpPrefix{});
}

IpAddr A(const char* s) {
  auto a = IpAddr::parse(s);
  EXPECT_TRUE(a) << s;
  return a.value_or(IpAddr{});
}

std::vector<std::string> Texts(std::vector<IpPrefix> v) {
  std::vector<std::string> out;
  for (const auto& p : v) out.push_back(p.to_string());
  std::sort(out.begin(), out.end());
  return out;
}

class AllowedIpsTest : public ::testing::Test {
 protected:
  TestPeer a{1}, b{2}, c{3}, d{4}, e{5}, f{6}, g{7}, h{8};
  AllowedIps<TestPeer> t;

  TestPeer* L(const char* addr) { return t.lookup(A(addr)); }
};

TEST_F(AllowedIpsTest, EmptyTableMatchesNothing) {
  EXPECT_EQ(L("192.0.2.1"), nullptr);
  EXPECT_EQ(L("2001:db8::1"), nullptr);
  EXPECT_EQ(t.size(), 0u);
  EXPECT_TRUE(t.entries_for(&a).empty());
  EXPECT_FALSE(t.remove(P("192.0.2.0/24"), &a));
}

// The kernel selftest's first table, with its expectations.
TEST_F(AllowedIpsTest, KernelSelftestOverlaps) {
  t.insert(P("192.168.4.0/24"), &a);
  t.insert(P("192.168.4.4/32"), &b);
  t.insert(P("192.168.0.0/16"), &c);
  t.insert(P("192.95.5.64/27"), &d);
  t.insert(P("192.95.5.65/27"), &c);  // same prefix after host bits go: c now owns it
  t.insert(P("2607:5300:60:6b00::/64"), &d);
  t.insert(P("2607:5300:60:6b00::c05f:543/128"), &e);
  t.insert(P("2607:5300:60:6b00::c05f:543/128"), &e);
  t.insert(P("10.0.0.0/25"), &f);
  t.insert(P("10.0.0.128/25"), &g);
  t.insert(P("10.1.0.0/16"), &f);
  t.insert(P("10.1.1.0/24"), &g);
  t.insert(P("10.1.1.1/32"), &h);
  t.insert(P("2001:db8::/32"), &h);

  EXPECT_EQ(L("192.168.4.20"), &a);
  EXPECT_EQ(L("192.168.4.0"), &a);
  EXPECT_EQ(L("192.168.4.4"), &b);
  EXPECT_EQ(L("192.168.200.182"), &c);
  EXPECT_EQ(L("192.95.5.68"), &c);
  EXPECT_EQ(L("192.95.5.96"), nullptr);
  EXPECT_EQ(L("2607:5300:60:6b00::c05f:543"), &e);
  EXPECT_EQ(L("2607:5300:60:6b00::c02e:1ee"), &d);
  EXPECT_EQ(L("2607:5300:60:6b01::1"), nullptr);
  EXPECT_EQ(L("10.0.0.1"), &f);
  EXPECT_EQ(L("10.0.0.127"), &f);
  EXPECT_EQ(L("10.0.0.128"), &g);
  EXPECT_EQ(L("10.0.0.255"), &g);
  EXPECT_EQ(L("10.1.0.1"), &f);
  EXPECT_EQ(L("10.1.1.2"), &g);
  EXPECT_EQ(L("10.1.1.1"), &h);
  EXPECT_EQ(L("10.2.0.0"), nullptr);
  EXPECT_EQ(L("2001:db8:ffff::1"), &h);
  EXPECT_EQ(L("2001:db9::1"), nullptr);
  EXPECT_EQ(t.size(), 12u);  // the /27 and the /128 were re-inserted, not added
  EXPECT_EQ(Texts(t.entries_for(&c)),
            (std::vector<std::string>{"192.168.0.0/16", "192.95.5.64/27"}));
  EXPECT_TRUE(t.entries_for(&d) == std::vector<IpPrefix>{P("2607:5300:60:6b00::/64")});
}

TEST_F(AllowedIpsTest, DefaultRoutesAreLeastSpecificAndPerFamily) {
  t.insert(P("0.0.0.0/0"), &a);
  EXPECT_EQ(L("192.0.2.1"), &a);
  EXPECT_EQ(L("255.255.255.255"), &a);
  EXPECT_EQ(L("0.0.0.0"), &a);
  EXPECT_EQ(L("2001:db8::1"), nullptr);  // a v4 default says nothing about v6
  t.insert(P("::/0"), &b);
  EXPECT_EQ(L("2001:db8::1"), &b);
  EXPECT_EQ(L("::"), &b);
  EXPECT_EQ(L("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"), &b);
  t.insert(P("192.0.2.0/24"), &c);
  t.insert(P("::1/128"), &c);
  EXPECT_EQ(L("192.0.2.7"), &c);
  EXPECT_EQ(L("192.0.3.7"), &a);
  EXPECT_EQ(L("::1"), &c);
  EXPECT_EQ(L("::2"), &b);
  EXPECT_TRUE(t.remove(P("0.0.0.0/0"), &a));
  EXPECT_EQ(L("192.0.3.7"), nullptr);
  EXPECT_EQ(L("192.0.2.7"), &c);
  EXPECT_EQ(L("::2"), &b);
  // "0.0.0.0/0" with host bits is still the default route.
  t.insert(P("10.1.2.3/0"), &d);
  EXPECT_EQ(L("192.0.3.7"), &d);
  EXPECT_EQ(Texts(t.entries_for(&d)), std::vector<std::string>{"0.0.0.0/0"});
}

TEST_F(AllowedIpsTest, FamiliesAreIndependent) {
  // ::/96 and 0.0.0.0/0 cover the "same" numeric bits; they must not see each other.
  t.insert(P("::/96"), &a);
  EXPECT_EQ(L("10.0.0.1"), nullptr);
  t.insert(P("10.0.0.0/8"), &b);
  EXPECT_EQ(L("::10.0.0.1"), &a);
  EXPECT_EQ(L("10.0.0.1"), &b);
  EXPECT_FALSE(t.remove(P("::a00:0/104"), &b));
  EXPECT_FALSE(t.remove(P("10.0.0.0/8"), &a));
  t.remove_by_peer(&b);
  EXPECT_EQ(L("10.0.0.1"), nullptr);
  EXPECT_EQ(L("::10.0.0.1"), &a);
  std::uint8_t v4[4] = {10, 0, 0, 1};
  std::uint8_t v6[16] = {0};
  EXPECT_EQ(t.lookup_v4(v4), nullptr);
  EXPECT_EQ(t.lookup_v6(v6), &a);
}

TEST_F(AllowedIpsTest, HostBitsAreIgnored) {
  t.insert(P("192.0.2.77/24"), &a);
  EXPECT_EQ(Texts(t.entries_for(&a)), std::vector<std::string>{"192.0.2.0/24"});
  EXPECT_EQ(L("192.0.2.1"), &a);
  t.insert(P("2001:db8:1:2:3:4:5:6/33"), &b);
  EXPECT_EQ(Texts(t.entries_for(&b)), std::vector<std::string>{"2001:db8::/33"});
  EXPECT_EQ(L("2001:db8:7fff::1"), &b);
  EXPECT_EQ(L("2001:db8:8000::1"), nullptr);
  // Removal canonicalizes too.
  EXPECT_TRUE(t.remove(P("192.0.2.200/24"), &a));
  EXPECT_TRUE(t.remove(P("2001:db8:0:ffff::/33"), &b));
  EXPECT_EQ(t.size(), 0u);
}

TEST_F(AllowedIpsTest, ReinsertMovesOwnership) {
  t.insert(P("192.0.2.0/24"), &a);
  t.insert(P("192.0.2.0/25"), &a);
  t.insert(P("192.0.2.0/24"), &b);
  EXPECT_EQ(L("192.0.2.200"), &b);
  EXPECT_EQ(L("192.0.2.1"), &a);
  EXPECT_EQ(Texts(t.entries_for(&a)), std::vector<std::string>{"192.0.2.0/25"});
  EXPECT_EQ(Texts(t.entries_for(&b)), std::vector<std::string>{"192.0.2.0/24"});
  EXPECT_EQ(t.size(), 2u);
  // The old owner can no longer remove it; removing all of a's prefixes leaves b's.
  EXPECT_FALSE(t.remove(P("192.0.2.0/24"), &a));
  t.remove_by_peer(&a);
  EXPECT_EQ(L("192.0.2.1"), &b);
  EXPECT_TRUE(t.entries_for(&a).empty());
  // Moving a peer's only prefix away leaves it with none.
  t.insert(P("192.0.2.0/24"), &c);
  EXPECT_TRUE(t.entries_for(&b).empty());
  EXPECT_EQ(L("192.0.2.1"), &c);
}

TEST_F(AllowedIpsTest, RemoveIsExactAndChecksOwner) {
  t.insert(P("10.0.0.0/8"), &a);
  t.insert(P("10.1.0.0/16"), &a);
  t.insert(P("10.1.2.0/24"), &b);
  EXPECT_FALSE(t.remove(P("10.1.2.0/24"), &a));  // owned by b
  EXPECT_FALSE(t.remove(P("10.1.0.0/17"), &a));  // not stored: covered by a /16
  EXPECT_FALSE(t.remove(P("10.0.0.0/7"), &a));   // not stored: covers the /8
  EXPECT_FALSE(t.remove(P("10.1.0.0/16"), &b));
  EXPECT_EQ(t.size(), 3u);
  EXPECT_TRUE(t.remove(P("10.1.0.0/16"), &a));
  EXPECT_FALSE(t.remove(P("10.1.0.0/16"), &a));  // already gone
  EXPECT_EQ(L("10.1.3.1"), &a);                  // falls back to the /8
  EXPECT_EQ(L("10.1.2.1"), &b);
  EXPECT_TRUE(t.remove(P("10.0.0.0/8"), &a));
  EXPECT_EQ(L("10.1.3.1"), nullptr);
  EXPECT_EQ(L("10.1.2.1"), &b);
  EXPECT_EQ(t.size(), 1u);
}

// Long shared IPv6 paths exercise path compression: nodes appear between compressed edges on
// insert and vanish again on removal, in every order.
TEST_F(AllowedIpsTest, CompressedPathsSplitAndMerge) {
  const char* prefixes[] = {"2001:db8::1/128", "2001:db8::/128", "2001:db8::/32",
                            "2001:db8::/64",   "2001:db8::/127", "2001:db8:0:1::/64",
                            "2000::/3"};
  const char* probes[] = {"2001:db8::1", "2001:db8::", "2001:db8::2", "2001:db8:0:1::5",
                          "2001:db8:1::", "2001:db9::", "3fff::1", "4000::"};
  TestPeer peers[7] = {{10}, {11}, {12}, {13}, {14}, {15}, {16}};
  std::vector<int> order = {0, 1, 2, 3, 4, 5, 6};
  auto expected = [&](const IpAddr& x, const std::vector<bool>& present) -> TestPeer* {
    TestPeer* best = nullptr;
    int best_len = -1;
    for (int i = 0; i < 7; ++i)
      if (present[i] && P(prefixes[i]).contains(x) && P(prefixes[i]).len > best_len) {
        best = &peers[i];
        best_len = P(prefixes[i]).len;
      }
    return best;
  };
  std::mt19937 rng(7);
  for (int round = 0; round < 50; ++round) {
    std::shuffle(order.begin(), order.end(), rng);
    std::vector<bool> present(7, false);
    for (int i : order) {
      t.insert(P(prefixes[i]), &peers[i]);
      present[i] = true;
      for (const char* q : probes) ASSERT_EQ(L(q), expected(A(q), present)) << q;
    }
    std::shuffle(order.begin(), order.end(), rng);
    for (int i : order) {
      ASSERT_TRUE(t.remove(P(prefixes[i]), &peers[i]));
      present[i] = false;
      for (const char* q : probes) ASSERT_EQ(L(q), expected(A(q), present)) << q;
    }
    ASSERT_EQ(t.size(), 0u);
  }
}

TEST_F(AllowedIpsTest, RemoveByPeerLeavesOthersAndFreesNodes) {
  for (unsigned i = 0; i < 256; ++i) {
    std::string s = "10.0." + std::to_string(i) + ".0/24";
    t.insert(P(s.c_str()), i % 2 ? &a : &b);
    std::string host = "10.0." + std::to_string(i) + ".1/32";
    t.insert(P(host.c_str()), &c);
  }
  t.insert(P("2001:db8::/48"), &a);
  t.insert(P("2001:db8::1/128"), &b);
  EXPECT_EQ(t.size(), 514u);
  t.remove_by_peer(&a);
  EXPECT_EQ(t.size(), 385u);
  EXPECT_TRUE(t.entries_for(&a).empty());
  EXPECT_EQ(L("10.0.1.9"), nullptr);
  EXPECT_EQ(L("10.0.2.9"), &b);
  EXPECT_EQ(L("10.0.1.1"), &c);
  EXPECT_EQ(L("2001:db8::1"), &b);
  EXPECT_EQ(L("2001:db8::2"), nullptr);
  t.remove_by_peer(&a);  // nothing left: a no-op
  EXPECT_EQ(t.size(), 385u);
  t.remove_by_peer(&b);
  t.remove_by_peer(&c);
  EXPECT_EQ(t.size(), 0u);
  EXPECT_EQ(L("10.0.2.1"), nullptr);
  // Every node but the roots went away with the prefixes.
  AllowedIps<TestPeer> fresh;
  fresh.insert(P("1.0.0.0/8"), &a);
  fresh.insert(P("1::/16"), &a);
  fresh.remove_by_peer(&a);
  EXPECT_EQ(t.memory_usage(), fresh.memory_usage());
}

// The pool hands a freed block back for the next request of its size, and counts what it holds.
TEST(NodePoolTest, ReusesFreedBlocksBySize) {
  allowedips_detail::NodePool pool;
  void* x = pool.allocate(40);
  void* y = pool.allocate(40);
  void* z = pool.allocate(200);
  EXPECT_NE(x, y);
  EXPECT_EQ(reinterpret_cast<std::uintptr_t>(z) % 16, 0u);
  EXPECT_EQ(pool.live_bytes(), 48u + 48u + 208u);
  const std::size_t reserved = pool.reserved_bytes();
  pool.deallocate(y, 40);
  pool.deallocate(z, 200);
  EXPECT_EQ(pool.live_bytes(), 48u);
  EXPECT_EQ(pool.allocate(200), z);  // its own size only...
  EXPECT_EQ(pool.allocate(33), y);   // ...rounded to 16-byte granules
  EXPECT_EQ(pool.reserved_bytes(), reserved);
  // Blocks larger than a chunk's start size still fit (a fresh chunk is sized for them).
  for (int i = 0; i < 100; ++i) EXPECT_NE(pool.allocate(2048), nullptr);
  EXPECT_GE(pool.reserved_bytes(), pool.live_bytes());
  pool.release();
  EXPECT_EQ(pool.reserved_bytes(), 0u);
  EXPECT_EQ(pool.live_bytes(), 0u);
}

std::vector<IpPrefix> ManyV4(std::size_t n, std::uint32_t seed) {
  std::mt19937 rng(seed);
  std::vector<IpPrefix> out;
  while (out.size() < n) {
    IpPrefix p;
    p.addr = IpAddr::v4(std::uint32_t(rng()));
    p.len = std::uint8_t(12 + rng() % 21);
    out.push_back(p.canonical());
  }
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

// A bulk removal leaves its memory for the prefixes that come next: removing a peer and giving
// the same prefixes back costs no more memory, and lookups see the old owner again.
TEST_F(AllowedIpsTest, RemoveByPeerMemoryIsReused) {
  t.set_front_thresholds_for_testing(1000, 250);  // the front table is rebuilt too
  const auto prefixes = ManyV4(30000, 7);
  for (std::size_t i = 0; i < prefixes.size(); ++i) t.insert(prefixes[i], i % 3 ? &b : &a);
  const std::size_t full = t.memory_usage();
  for (int round = 0; round < 3; ++round) {
    t.remove_by_peer(&a);
    for (std::size_t i = 0; i < prefixes.size(); i += 3) {
      IpAddr x = prefixes[i].addr;
      ASSERT_NE(t.lookup(x), &a) << prefixes[i].to_string();
    }
    for (std::size_t i = 0; i < prefixes.size(); i += 3) t.insert(prefixes[i], &a);
    EXPECT_LE(t.memory_usage(), full) << "round " << round;
    EXPECT_EQ(t.entries_for(&a).size(), (prefixes.size() + 2) / 3);
  }
  // Same answers as a table built once with the same owners.
  AllowedIps<TestPeer> rebuilt;
  for (std::size_t i = 0; i < prefixes.size(); ++i) rebuilt.insert(prefixes[i], i % 3 ? &b : &a);
  for (const auto& p : prefixes) ASSERT_EQ(t.lookup(p.addr), rebuilt.lookup(p.addr));
}

// When most of the table goes, so does most of its memory: the trie is rebuilt compactly and
// still answers like a table built from the survivors.
TEST_F(AllowedIpsTest, BulkRemovalGivesMemoryBack) {
  t.set_front_thresholds_for_testing(1000, 250);
  const auto prefixes = ManyV4(60000, 8);
  for (std::size_t i = 0; i < prefixes.size(); ++i) t.insert(prefixes[i], i % 20 ? &a : &b);
  const std::size_t full = t.memory_usage();
  t.remove_by_peer(&a);  // 95% of the prefixes
  AllowedIps<TestPeer> survivors;
  survivors.set_front_thresholds_for_testing(1000, 250);
  for (std::size_t i = 0; i < prefixes.size(); i += 20) survivors.insert(prefixes[i], &b);
  EXPECT_LT(t.memory_usage(), full / 4);
  EXPECT_LE(t.memory_usage(), 2 * survivors.memory_usage() + (1u << 20));
  std::mt19937 rng(3);
  for (const auto& p : prefixes) {
    ASSERT_EQ(t.lookup(p.addr), survivors.lookup(p.addr)) << p.to_string();
    IpAddr x = IpAddr::v4(std::uint32_t(rng()));
    ASSERT_EQ(t.lookup(x), survivors.lookup(x)) << x.to_string();
  }
  EXPECT_EQ(Texts(t.entries_for(&b)), Texts(survivors.entries_for(&b)));
  // And it keeps working: the removed prefixes come back.
  for (std::size_t i = 0; i < prefixes.size(); ++i)
    if (i % 20) t.insert(prefixes[i], &c);
  EXPECT_EQ(t.size(), prefixes.size());
  EXPECT_EQ(t.entries_for(&c).size(), prefixes.size() - survivors.size());
}

TEST_F(AllowedIpsTest, ClearEmptiesAndStaysUsable) {
  t.insert(P("192.0.2.0/24"), &a);
  t.insert(P("2001:db8::/32"), &b);
  t.clear();
  EXPECT_EQ(t.size(), 0u);
  EXPECT_EQ(L("192.0.2.1"), nullptr);
  EXPECT_TRUE(t.entries_for(&a).empty());
  t.insert(P("192.0.2.0/24"), &b);
  EXPECT_EQ(L("192.0.2.1"), &b);
}

TEST_F(AllowedIpsTest, EveryPrefixLengthRoundTrips) {
  // One prefix of each length on one path, each owned by a different peer index.
  std::vector<TestPeer> peers(129);
  for (int i = 0; i <= 128; ++i) peers[i].id = i;
  const IpAddr v6 = A("2001:db8:aaaa:5555:ffff:0:1234:8765");
  const IpAddr v4 = A("203.0.113.77");
  for (unsigned len = 0; len <= 128; ++len) {
    t.insert(IpPrefix{v6, std::uint8_t(len)}, &peers[len]);
    if (len <= 32) t.insert(IpPrefix{v4, std::uint8_t(len)}, &peers[len]);
  }
  EXPECT_EQ(t.size(), 129u + 33u);
  for (unsigned len = 0; len <= 128; ++len) {
    std::vector<IpPrefix> want{IpPrefix{v6, std::uint8_t(len)}.canonical()};
    if (len <= 32) want.insert(want.begin(), IpPrefix{v4, std::uint8_t(len)}.canonical());
    EXPECT_EQ(t.entries_for(&peers[len]), want) << len;
  }
  // Remove from the longest down: each lookup falls back by exactly one bit.
  for (int len = 128; len >= 0; --len) {
    EXPECT_EQ(t.lookup(v6), &peers[len]);
    ASSERT_TRUE(t.remove(IpPrefix{v6, std::uint8_t(len)}, &peers[len]));
  }
  EXPECT_EQ(t.lookup(v6), nullptr);
  EXPECT_EQ(t.lookup(v4), &peers[32]);
  // An address that leaves the v4 path at bit n matches the /n.
  for (unsigned n = 0; n < 32; ++n) {
    IpAddr x = v4;
    x.bytes[n / 8] ^= std::uint8_t(0x80 >> (n % 8));
    EXPECT_EQ(t.lookup(x), &peers[n]) << n;
  }
}

// ---- Randomized comparison with a naive reference ----

// Whether canonical prefix q covers a: the first q.len bits agree, byte by byte.
bool Covers(const IpPrefix& q, const IpAddr& a) {
  if (q.addr.family != a.family) return false;
  unsigned whole = q.len / 8u, rest = q.len % 8u;
  if (std::memcmp(q.addr.bytes.data(), a.bytes.data(), whole) != 0) return false;
  const auto top = std::uint8_t(0xff << (8 - rest));
  return rest == 0 || (a.bytes[whole] & top) == q.addr.bytes[whole];
}

// Obviously correct and slow: a flat list and linear scans.
class ReferenceTable {
 public:
  void insert(const IpPrefix& p, TestPeer* peer) {
    IpPrefix c = p.canonical();
    for (auto& [q, owner] : rows_)
      if (q == c) {
        owner = peer;
        return;
      }
    rows_.emplace_back(c, peer);
  }
  bool remove(const IpPrefix& p, const TestPeer* peer) {
    IpPrefix c = p.canonical();
    for (std::size_t i = 0; i < rows_.size(); ++i)
      if (rows_[i].first == c && rows_[i].second == peer) {
        rows_.erase(rows_.begin() + long(i));
        return true;
      }
    return false;
  }
  void remove_by_peer(const TestPeer* peer) {
    std::erase_if(rows_, [&](const auto& r) { return r.second == peer; });
  }
  TestPeer* lookup(const IpAddr& a) const {
    TestPeer* best = nullptr;
    int best_len = -1;
    for (const auto& [q, owner] : rows_)
      if (Covers(q, a) && q.len > best_len) {
        best = owner;
        best_len = q.len;
      }
    return best;
  }
  std::vector<IpPrefix> entries_for(const TestPeer* peer) const {
    std::vector<IpPrefix> out;
    for (const auto& [q, owner] : rows_)
      if (owner == peer) out.push_back(q);
    return out;
  }
  std::size_t size() const { return rows_.size(); }
  const std::vector<std::pair<IpPrefix, TestPeer*>>& rows() const { return rows_; }

 private:
  std::vector<std::pair<IpPrefix, TestPeer*>> rows_;
};

std::vector<IpPrefix> Sorted(std::vector<IpPrefix> v) {
  std::sort(v.begin(), v.end());
  return v;
}

// Operation count: WGCORE_ALLOWEDIPS_OPS overrides; sanitizer builds default to fewer.
long RandomOps() {
  if (const char* env = std::getenv("WGCORE_ALLOWEDIPS_OPS")) return std::atol(env);
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
  return 100000;
#else
  return 300000;
#endif
}

// Addresses and prefixes cluster around a few bases, so prefixes nest, collide, and share long
// compressed paths; lengths cover every stride position of both families.
class Generator {
 public:
  Generator(IpAddr::Family family, std::uint32_t seed) : family_(family), rng_(seed) {
    for (auto& base : bases_) base = random_address();
    // Neighbouring bases: equal up to a random bit, so some paths part deep.
    for (std::size_t i = 1; i < bases_.size(); i += 2) {
      base_of(i) = base_of(i - 1);
      flip(base_of(i), unsigned(rng_() % bits()));
    }
  }

  unsigned bits() const { return family_ == IpAddr::Family::V4 ? 32u : 128u; }

  IpAddr address() {
    if (rng_() % 16 == 0) return random_address();
    IpAddr a = bases_[rng_() % bases_.size()];
    // Flip a few bits, mostly low ones, so the address stays under some of the prefixes.
    unsigned flips = unsigned(rng_() % 4);
    for (unsigned i = 0; i < flips; ++i)
      flip(a, bits() - 1 - unsigned(rng_() % (bits() / 2 + 1)) % bits());
    return a;
  }

  IpPrefix prefix() {
    unsigned len;
    switch (rng_() % 4) {
      case 0: len = bits(); break;                                  // host routes
      case 1: len = unsigned(rng_() % (bits() + 1)); break;         // anything, /0 included
      default: len = bits() / 2 + unsigned(rng_() % (bits() / 2 + 1));  // mostly long
    }
    return IpPrefix{address(), std::uint8_t(len)};
  }

  std::mt19937& rng() { return rng_; }

 private:
  IpAddr random_address() {
    IpAddr a;
    a.family = family_;
    for (unsigned i = 0; i < a.byte_len(); ++i) a.bytes[i] = std::uint8_t(rng_());
    return a;
  }
  IpAddr& base_of(std::size_t i) { return bases_[i]; }
  static void flip(IpAddr& a, unsigned bit) { a.bytes[bit / 8] ^= std::uint8_t(0x80 >> (bit % 8)); }

  IpAddr::Family family_;
  std::mt19937 rng_;
  std::array<IpAddr, 12> bases_;
};

// front_on: prefix count from which the IPv4 front table exists (0: default thresholds).
// compact_always: rebuild the trie whenever it holds more than twice what it needs (normally
// only tables past 1 MiB do), so that compaction runs many times between the checks.
void RunRandomized(IpAddr::Family family, std::uint32_t seed, long ops, std::size_t front_on = 0,
                   bool compact_always = false) {
  constexpr int kPeers = 24;
  std::vector<TestPeer> peers(kPeers);
  for (int i = 0; i < kPeers; ++i) peers[i].id = i;
  AllowedIps<TestPeer> table;
  if (front_on) table.set_front_thresholds_for_testing(front_on, front_on / 4);
  if (compact_always) table.set_compact_slack_for_testing(0);
  ReferenceTable ref;
  Generator gen(family, seed);
  auto& rng = gen.rng();
  long removals_hit = 0, reowned = 0, nonnull = 0;

  for (long op = 0; op < ops; ++op) {
    const unsigned kind = unsigned(rng() % 100);
    // Keep the reference small enough that its linear scans stay cheap: grow to ~400, then
    // shrink through removals.
    const bool shrinking = ref.size() > 400;
    if (kind < (shrinking ? 15u : 40u)) {
      IpPrefix p = gen.prefix();
      TestPeer* peer = &peers[rng() % kPeers];
      const TestPeer* before = nullptr;
      for (const auto& [q, owner] : ref.rows())
        if (q == p.canonical()) before = owner;
      if (before && before != peer) ++reowned;
      table.insert(p, peer);
      ref.insert(p, peer);
    } else if (kind < 55) {
      // Half the time remove something that exists (possibly naming the wrong owner).
      IpPrefix p = gen.prefix();
      if (ref.size() && rng() % 2) p = ref.rows()[rng() % ref.size()].first;
      const TestPeer* peer = &peers[rng() % kPeers];
      if (rng() % 2 && ref.size()) {
        for (const auto& [q, owner] : ref.rows())
          if (q == p.canonical()) peer = owner;
      }
      const bool got = table.remove(p, peer);
      ASSERT_EQ(got, ref.remove(p, peer)) << "remove " << p.to_string() << " op " << op;
      removals_hit += got;
    } else if (kind < (shrinking ? 58u : 56u)) {
      const TestPeer* peer = &peers[rng() % kPeers];
      table.remove_by_peer(peer);
      ref.remove_by_peer(peer);
    } else {
      IpAddr a = gen.address();
      TestPeer* want = ref.lookup(a);
      nonnull += want != nullptr;
      ASSERT_EQ(table.lookup(a), want) << "lookup " << a.to_string() << " op " << op;
    }
    ASSERT_EQ(table.size(), ref.size()) << "op " << op;
    if (op % 5000 == 0 || op == ops - 1) {
      for (const auto& peer : peers)
        ASSERT_EQ(Sorted(table.entries_for(&peer)), Sorted(ref.entries_for(&peer)))
            << "peer " << peer.id << " op " << op;
      // Every stored prefix's own address maps to its owner or a longer prefix's owner.
      for (const auto& [q, owner] : ref.rows()) ASSERT_EQ(table.lookup(q.addr), ref.lookup(q.addr));
    }
  }
  // The run must have exercised the interesting paths, not just misses.
  EXPECT_GT(removals_hit, ops / 100);
  EXPECT_GT(reowned, ops / 1000);
  EXPECT_GT(nonnull, ops / 10);
}

TEST(AllowedIpsRandomized, MatchesReferenceV4) {
  RunRandomized(IpAddr::Family::V4, 4, RandomOps());
}
TEST(AllowedIpsRandomized, MatchesReferenceV6) {
  RunRandomized(IpAddr::Family::V6, 6, RandomOps());
}
// Large IPv4 tables enter lookups through a table of 2^18 slots kept in step with every change;
// here it is switched on at 64 prefixes (and off below 16). Each short prefix refreshes up to
// 2^18 slots, so this run is shorter.
TEST(AllowedIpsRandomized, MatchesReferenceV4WithFrontTable) {
  RunRandomized(IpAddr::Family::V4, 40, RandomOps() / 10, 64);
}

// The same with the trie rebuilt into fresh memory whenever more than half its pool is spare
// (after remove_by_peer, removals and growth), front table included.
TEST(AllowedIpsRandomized, MatchesReferenceWhileCompacting) {
  RunRandomized(IpAddr::Family::V4, 41, RandomOps() / 10, 64, true);
  RunRandomized(IpAddr::Family::V6, 61, RandomOps() / 3, 0, true);
}

// Both families in one table, interleaved, against one reference.
TEST(AllowedIpsRandomized, MixedFamiliesMatchReference) {
  std::vector<TestPeer> peers(8);
  AllowedIps<TestPeer> table;
  ReferenceTable ref;
  Generator g4(IpAddr::Family::V4, 44), g6(IpAddr::Family::V6, 66);
  std::mt19937 rng(1);
  const long ops = RandomOps() / 5;
  for (long op = 0; op < ops; ++op) {
    Generator& g = rng() % 2 ? g4 : g6;
    const unsigned kind = unsigned(rng() % 10);
    if (kind < 4 && ref.size() < 1000) {
      IpPrefix p = g.prefix();
      TestPeer* peer = &peers[rng() % 8];
      table.insert(p, peer);
      ref.insert(p, peer);
    } else if (kind < 6 && ref.size()) {
      auto [p, owner] = ref.rows()[rng() % ref.size()];
      ASSERT_TRUE(table.remove(p, owner));
      ASSERT_TRUE(ref.remove(p, owner));
    } else if (kind == 6 && rng() % 20 == 0) {
      TestPeer* peer = &peers[rng() % 8];
      table.remove_by_peer(peer);
      ref.remove_by_peer(peer);
    } else {
      IpAddr a = g.address();
      ASSERT_EQ(table.lookup(a), ref.lookup(a)) << a.to_string();
    }
    ASSERT_EQ(table.size(), ref.size());
  }
  for (auto& peer : peers)
    ASSERT_EQ(Sorted(table.entries_for(&peer)), Sorted(ref.entries_for(&peer)));
}

}  // namespace
}  // namespace wgcore
