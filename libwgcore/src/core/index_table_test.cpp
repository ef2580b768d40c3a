// IndexTable / IndexMap / PeerMap tests: bulk inserts with a seeded generator, forced index
// collisions, replace/remove guards, growth, and long randomized runs against std::unordered_map.
#include "core/index_table.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <deque>
#include <random>
#include <unordered_map>
#include <unordered_set>
#include <vector>

namespace wgcore {
namespace {

struct Peer {
  int id;
  Key key{};  // PeerMap keys a peer by its own public_key()
  const Key& public_key() const { return key; }
};
struct Handshake {
  int id;
};
struct Keypair {
  int id;
};
using Table = IndexTable<Peer, Handshake, Keypair>;
using Entry = Table::Entry;
using Kind = Table::Kind;

// Deterministic generator (splitmix64) behind the Random interface.
class SeededRandom final : public Random {
 public:
  explicit SeededRandom(std::uint64_t seed) : state_(seed) {}
  void fill(std::span<std::uint8_t> out) override {
    for (auto& b : out) {
      if (avail_ == 0) {
        std::uint64_t z = (state_ += 0x9e3779b97f4a7c15ULL);
        z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
        z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
        buf_ = z ^ (z >> 31);
        avail_ = 8;
      }
      b = std::uint8_t(buf_);
      buf_ >>= 8;
      --avail_;
    }
  }

 private:
  std::uint64_t state_, buf_ = 0;
  int avail_ = 0;
};

// Hands out a scripted list of u32 values, then falls back to a counter; counts the draws.
class ScriptedRandom final : public Random {
 public:
  explicit ScriptedRandom(std::vector<std::uint32_t> script)
      : script_(script.begin(), script.end()) {}
  void fill(std::span<std::uint8_t> out) override {
    ASSERT_EQ(out.size(), sizeof(std::uint32_t));
    std::uint32_t v;
    if (!script_.empty()) {
      v = script_.front();
      script_.pop_front();
    } else {
      v = 0x80000000U + fallback_++;
    }
    std::memcpy(out.data(), &v, sizeof v);
    ++draws;
  }
  int draws = 0;

 private:
  std::deque<std::uint32_t> script_;
  std::uint32_t fallback_ = 0;
};

// Values confined to a small range, so a table of a few thousand entries is dense with retries.
class NarrowRandom final : public Random {
 public:
  NarrowRandom(std::uint64_t seed, std::uint32_t range) : rng_(seed), range_(range) {}
  void fill(std::span<std::uint8_t> out) override {
    const std::uint32_t v = std::uint32_t(rng_() % range_);
    std::memcpy(out.data(), &v, std::min(out.size(), sizeof v));
  }

 private:
  std::mt19937_64 rng_;
  std::uint32_t range_;
};

TEST(IndexMap, EmptyFindsNothing) {
  IndexMap m;
  EXPECT_EQ(m.find(0), IndexMap::kNone);
  EXPECT_EQ(m.find(0xffffffffU), IndexMap::kNone);
  EXPECT_EQ(m.erase(5), IndexMap::kNone);
  EXPECT_EQ(m.size(), 0u);
}

TEST(IndexMap, ExtremeIndicesAndHandles) {
  IndexMap m;
  const std::uint32_t idx[] = {0, 1, 0x7fffffffU, 0x80000000U, 0xfffffffeU, 0xffffffffU};
  std::uint32_t h = 0;
  for (auto i : idx) {
    m.reserve_one_more();
    m.insert(i, h == 3 ? 0xfffffffeU : h);  // the largest handle that fits
    ++h;
  }
  h = 0;
  for (auto i : idx) {
    EXPECT_EQ(m.find(i), h == 3 ? 0xfffffffeU : h) << i;
    ++h;
  }
  EXPECT_EQ(m.erase(0), 0u);
  EXPECT_EQ(m.find(0), IndexMap::kNone);
  EXPECT_EQ(m.find(0xffffffffU), 5u);
}

TEST(IndexMap, GrowsAndKeepsLoadAtMostHalf) {
  IndexMap m;
  std::size_t last_cap = 0;
  int growths = 0;
  for (std::uint32_t i = 0; i < 100000; ++i) {
    m.reserve_one_more();
    m.insert(i * 7919U, i);  // structured indices on purpose
    ASSERT_LE(m.size() * 2, m.capacity());
    if (m.capacity() != last_cap) {
      ++growths;
      last_cap = m.capacity();
      // Every earlier entry survives the rehash.
      for (std::uint32_t j = 0; j <= i; ++j) ASSERT_EQ(m.find(j * 7919U), j);
    }
  }
  EXPECT_GE(growths, 10);
  for (std::uint32_t i = 0; i < 100000; ++i) ASSERT_EQ(m.find(i * 7919U), i);
  for (std::uint32_t i = 100000; i < 101000; ++i) ASSERT_EQ(m.find(i * 7919U), IndexMap::kNone);
}

// Dense small tables: clusters wrap around the end of the slot array and deletions must shift
// entries back across it.
TEST(IndexMap, RandomizedSmallTablesAgainstReference) {
  std::mt19937_64 rng(42);
  for (int round = 0; round < 2000; ++round) {
    IndexMap m;
    std::unordered_map<std::uint32_t, std::uint32_t> ref;
    const std::uint32_t space = 4 + std::uint32_t(rng() % 60);
    for (int op = 0; op < 100; ++op) {
      const std::uint32_t idx = std::uint32_t(rng() % space) * 0x01000193U;
      if (rng() % 3 != 0) {
        if (ref.count(idx)) continue;
        const std::uint32_t h = std::uint32_t(rng() % 1000);
        m.reserve_one_more();
        m.insert(idx, h);
        ref[idx] = h;
      } else {
        const auto it = ref.find(idx);
        const std::uint32_t want = it == ref.end() ? IndexMap::kNone : it->second;
        ASSERT_EQ(m.erase(idx), want);
        if (it != ref.end()) ref.erase(it);
      }
      ASSERT_EQ(m.size(), ref.size());
      for (std::uint32_t k = 0; k < space; ++k) {
        const std::uint32_t key = k * 0x01000193U;
        const auto it = ref.find(key);
        ASSERT_EQ(m.find(key), it == ref.end() ? IndexMap::kNone : it->second)
            << "round " << round << " op " << op;
      }
    }
  }
}

TEST(IndexTable, InsertManyUniqueAndFound) {
  constexpr int kN = 100000;
  Table t;
  SeededRandom rng(1);
  std::vector<Peer> peers(kN);
  std::vector<Handshake> hs(kN);
  std::vector<Keypair> kps(kN);
  std::vector<std::uint32_t> idx(kN);
  std::unordered_set<std::uint32_t> seen;
  for (int i = 0; i < kN; ++i) {
    peers[i].id = hs[i].id = kps[i].id = i;
    const Entry e = i % 2 ? Entry::for_handshake(&peers[i], &hs[i])
                          : Entry::for_keypair(&peers[i], &kps[i]);
    idx[i] = t.insert(e, rng);
    ASSERT_TRUE(seen.insert(idx[i]).second) << "index reused";
  }
  EXPECT_EQ(t.size(), std::size_t(kN));
  for (int i = 0; i < kN; ++i) {
    const Kind want = i % 2 ? Kind::kHandshake : Kind::kKeypair;
    const Kind other = i % 2 ? Kind::kKeypair : Kind::kHandshake;
    const Entry* e = t.lookup(idx[i], want);
    ASSERT_NE(e, nullptr) << i;
    EXPECT_EQ(e->kind, want);
    EXPECT_EQ(e->peer, &peers[i]);
    if (want == Kind::kHandshake) {
      EXPECT_EQ(e->handshake, &hs[i]);
      EXPECT_EQ(e->keypair, nullptr);
    } else {
      EXPECT_EQ(e->keypair, &kps[i]);
      EXPECT_EQ(e->handshake, nullptr);
    }
    ASSERT_EQ(t.lookup(idx[i], other), nullptr) << i;
  }
  // Indices nobody was given are not found.
  SeededRandom probe(999);
  int misses = 0;
  for (int i = 0; i < 10000; ++i) {
    const std::uint32_t x = probe.u32();
    if (seen.count(x)) continue;
    ++misses;
    ASSERT_EQ(t.lookup(x, Kind::kHandshake), nullptr);
    ASSERT_EQ(t.lookup(x, Kind::kKeypair), nullptr);
  }
  EXPECT_GT(misses, 9900);
}

TEST(IndexTable, CollisionsAreRetried) {
  Table t;
  Peer p{1};
  Handshake h1{1}, h2{2}, h3{3};
  ScriptedRandom rng({7, 7, 7, 7, 9, 9, 7, 0, 0xffffffffU});
  EXPECT_EQ(t.insert(Entry::for_handshake(&p, &h1), rng), 7u);
  EXPECT_EQ(rng.draws, 1);
  EXPECT_EQ(t.insert(Entry::for_handshake(&p, &h2), rng), 9u);  // three 7s rejected
  EXPECT_EQ(rng.draws, 5);
  EXPECT_EQ(t.insert(Entry::for_handshake(&p, &h3), rng), 0u);  // 9 and 7 rejected; 0 is valid
  EXPECT_EQ(rng.draws, 8);
  EXPECT_EQ(t.lookup(7, Kind::kHandshake)->handshake, &h1);
  EXPECT_EQ(t.lookup(9, Kind::kHandshake)->handshake, &h2);
  EXPECT_EQ(t.lookup(0, Kind::kHandshake)->handshake, &h3);
  // After a removal the freed index may be handed out again.
  ASSERT_TRUE(t.remove(7));
  ScriptedRandom again({9, 0, 7});
  EXPECT_EQ(t.insert(Entry::for_handshake(&p, &h1), again), 7u);
  EXPECT_EQ(again.draws, 3);
  EXPECT_EQ(t.size(), 3u);
}

TEST(IndexTable, ReplaceMovesIndexFromHandshakeToKeypair) {
  Table t;
  Peer p{1};
  Handshake hs{1};
  Keypair kp{1};
  ScriptedRandom rng({1234});
  const auto he = Entry::for_handshake(&p, &hs);
  const auto ke = Entry::for_keypair(&p, &kp);
  const std::uint32_t i = t.insert(he, rng);
  ASSERT_NE(t.lookup(i, Kind::kHandshake), nullptr);
  EXPECT_EQ(t.lookup(i, Kind::kKeypair), nullptr);

  EXPECT_FALSE(t.replace(i + 1, ke));  // absent
  EXPECT_FALSE(t.replace(i, ke, ke));  // guard: index does not name ke
  EXPECT_NE(t.lookup(i, Kind::kHandshake), nullptr);
  EXPECT_TRUE(t.replace(i, he, ke));
  EXPECT_EQ(t.size(), 1u);
  EXPECT_EQ(t.lookup(i, Kind::kHandshake), nullptr);
  const Entry* e = t.lookup(i, Kind::kKeypair);
  ASSERT_NE(e, nullptr);
  EXPECT_EQ(e->keypair, &kp);
  EXPECT_EQ(e->peer, &p);
  EXPECT_EQ(e->handshake, nullptr);

  // Tearing down the handshake by its old entry must not remove the keypair.
  EXPECT_FALSE(t.remove(i, he));
  EXPECT_NE(t.lookup(i, Kind::kKeypair), nullptr);
  EXPECT_TRUE(t.remove(i, ke));
  EXPECT_EQ(t.lookup(i, Kind::kKeypair), nullptr);
  EXPECT_FALSE(t.remove(i));
  EXPECT_FALSE(t.replace(i, ke));
  EXPECT_TRUE(t.empty());

  // Unguarded forms.
  const std::uint32_t j = t.insert(he, rng);
  EXPECT_TRUE(t.replace(j, ke));
  EXPECT_NE(t.lookup(j, Kind::kKeypair), nullptr);
  EXPECT_TRUE(t.remove(j));
  EXPECT_FALSE(t.remove(j));
  EXPECT_EQ(t.size(), 0u);
}

TEST(IndexTable, GrowthAndChurnKeepEveryEntry) {
  Table t;
  SeededRandom rng(7);
  std::vector<Peer> peers(50000);
  std::unordered_map<std::uint32_t, Peer*> live;
  // Grow, remove half, grow again: entries and reused slab handles stay consistent.
  for (int round = 0; round < 3; ++round) {
    for (auto& p : peers) live[t.insert(Entry::for_keypair(&p, nullptr), rng)] = &p;
    int n = 0;
    for (auto it = live.begin(); it != live.end();) {
      if (n++ % 2) {
        ASSERT_TRUE(t.remove(it->first));
        it = live.erase(it);
      } else {
        ++it;
      }
    }
    ASSERT_EQ(t.size(), live.size());
    for (const auto& [i, p] : live) {
      const Entry* e = t.lookup(i, Kind::kKeypair);
      ASSERT_NE(e, nullptr);
      ASSERT_EQ(e->peer, p);
    }
  }
  t.clear();
  EXPECT_EQ(t.size(), 0u);
  for (const auto& [i, p] : live) ASSERT_EQ(t.lookup(i, Kind::kKeypair), nullptr);
}

// ~200 k mixed operations against std::unordered_map, once with full-range indices and once
// with a narrow index space that forces constant collisions and long probe clusters.
void RandomizedAgainstReference(Random& index_rng, std::uint64_t seed, std::size_t max_live) {
  Table t;
  std::mt19937_64 rng(seed);
  std::vector<Peer> peers(64);
  std::vector<Handshake> hss(64);
  std::vector<Keypair> kps(64);
  std::unordered_map<std::uint32_t, Entry> ref;
  std::vector<std::uint32_t> keys;  // ref's keys, for picking a random live one
  auto random_entry = [&] {
    const std::size_t k = rng() % 64;
    return rng() % 2 ? Entry::for_handshake(&peers[k], &hss[rng() % 64])
                     : Entry::for_keypair(&peers[k], &kps[rng() % 64]);
  };
  auto pick_index = [&]() -> std::uint32_t {
    if (!keys.empty() && rng() % 4 != 0) return keys[rng() % keys.size()];
    return index_rng.u32();  // usually absent
  };
  auto erase_key = [&](std::uint32_t i) {
    for (std::size_t k = 0; k < keys.size(); ++k) {
      if (keys[k] == i) {
        keys[k] = keys.back();
        keys.pop_back();
        return;
      }
    }
  };
  for (int op = 0; op < 200000; ++op) {
    const unsigned what = unsigned(rng() % 10);
    if (what < 3 && ref.size() < max_live) {
      const Entry e = random_entry();
      const std::uint32_t i = t.insert(e, index_rng);
      ASSERT_EQ(ref.count(i), 0u) << "insert returned a live index";
      ref.emplace(i, e);
      keys.push_back(i);
    } else if (what < 5) {
      const std::uint32_t i = pick_index();
      const auto it = ref.find(i);
      const bool guarded = rng() % 2;
      const Entry e = random_entry();
      if (guarded) {
        // Half the time pass the right expectation, half the time a random (wrong) one.
        const Entry expected = (it != ref.end() && rng() % 2) ? it->second : random_entry();
        const bool want = it != ref.end() && it->second == expected;
        ASSERT_EQ(t.replace(i, expected, e), want);
        if (want) it->second = e;
      } else {
        ASSERT_EQ(t.replace(i, e), it != ref.end());
        if (it != ref.end()) it->second = e;
      }
    } else if (what < 7) {
      const std::uint32_t i = pick_index();
      const auto it = ref.find(i);
      bool want;
      if (rng() % 2) {
        const Entry expected = (it != ref.end() && rng() % 2) ? it->second : random_entry();
        want = it != ref.end() && it->second == expected;
        ASSERT_EQ(t.remove(i, expected), want);
      } else {
        want = it != ref.end();
        ASSERT_EQ(t.remove(i), want);
      }
      if (want) {
        ref.erase(it);
        erase_key(i);
      }
    } else {
      const std::uint32_t i = pick_index();
      const Kind kind = rng() % 2 ? Kind::kHandshake : Kind::kKeypair;
      const auto it = ref.find(i);
      const Entry* got = t.lookup(i, kind);
      if (it == ref.end() || it->second.kind != kind) {
        ASSERT_EQ(got, nullptr) << "op " << op;
      } else {
        ASSERT_NE(got, nullptr) << "op " << op;
        ASSERT_EQ(*got, it->second);
      }
    }
    ASSERT_EQ(t.size(), ref.size());
  }
  for (const auto& [i, e] : ref) ASSERT_EQ(*t.lookup(i, e.kind), e);
}

TEST(IndexTable, RandomizedAgainstReferenceFullRange) {
  SeededRandom idx(11);
  RandomizedAgainstReference(idx, 12, 1u << 30);
}

TEST(IndexTable, RandomizedAgainstReferenceNarrowRange) {
  NarrowRandom idx(13, 3000);
  RandomizedAgainstReference(idx, 14, 2500);  // up to 5/6 of the space in use
}

Key key_of(std::uint32_t n) {
  Key k;
  for (int i = 0; i < 4; ++i) k[i] = std::uint8_t(n >> (8 * i));
  k[31] = 0x5a;
  return k;
}

TEST(PeerMap, InsertFindRemove) {
  PeerMap<Peer> m;
  Peer a{1, key_of(1)}, b{2, key_of(1)};
  EXPECT_EQ(m.find(key_of(1)), nullptr);
  EXPECT_TRUE(m.insert(&a));
  EXPECT_FALSE(m.insert(&b));  // duplicate key keeps the first peer
  EXPECT_EQ(m.find(key_of(1)), &a);
  b.key = key_of(2);
  EXPECT_TRUE(m.insert(&b));
  EXPECT_EQ(m.find(key_of(2)), &b);
  EXPECT_EQ(m.size(), 2u);
  // Keys differing only in the last byte are distinct.
  Key other = key_of(1);
  other[31] ^= 1;
  EXPECT_EQ(m.find(other), nullptr);
  EXPECT_TRUE(m.remove(key_of(1)));
  EXPECT_FALSE(m.remove(key_of(1)));
  EXPECT_EQ(m.find(key_of(1)), nullptr);
  EXPECT_EQ(m.find(key_of(2)), &b);
  m.clear();
  EXPECT_TRUE(m.empty());
}

TEST(PeerMap, ManyPeersAndForEach) {
  constexpr std::uint32_t kN = 100000;
  PeerMap<Peer> m;
  std::vector<Peer> peers(kN);
  for (std::uint32_t i = 0; i < kN; ++i) {
    peers[i].id = int(i);
    peers[i].key = key_of(i);
    ASSERT_TRUE(m.insert(&peers[i]));
  }
  for (std::uint32_t i = 0; i < kN; i += 3) ASSERT_TRUE(m.remove(key_of(i)));
  std::vector<int> visits(kN, 0);
  std::size_t count = 0;
  m.for_each([&](const Key& k, Peer* p) {
    ++count;
    ++visits[std::size_t(p->id)];
    EXPECT_TRUE(k == key_of(std::uint32_t(p->id)));
  });
  EXPECT_EQ(count, m.size());
  for (std::uint32_t i = 0; i < kN; ++i) {
    ASSERT_EQ(visits[i], i % 3 ? 1 : 0) << i;
    ASSERT_EQ(m.find(key_of(i)), i % 3 ? &peers[i] : nullptr);
  }
}

}  // namespace
}  // namespace wgcore
