// The model's two prefix containers against the standard ones over random operations:
// PrefixOwners against std::map (with the model's kind of hash, and with hashes so poor that
// probe runs wrap around the array and every erase has entries to shift back, which is where an
// open-addressed table goes wrong), and PrefixList against std::vector (across its move from
// inline to heap storage and back).
#include "model/prefix_list.hpp"
#include "model/prefix_table.hpp"

#include <gtest/gtest.h>

#include <map>
#include <random>
#include <utility>
#include <vector>

namespace wgcore {
namespace {

struct Owner {
  int id;
};

struct GoodHash {
  std::size_t operator()(const IpPrefix& p) const noexcept {
    std::size_t h = p.len;
    for (auto b : p.addr.bytes) h = h * 131 + b;
    return h * 0x9e3779b97f4a7c15ull;
  }
};
// Eight homes for everything: long runs, wrap-around at the array's end.
struct PoorHash {
  std::size_t operator()(const IpPrefix& p) const noexcept { return std::size_t(p.addr.bytes[3] % 8) + 5; }
};
// Everything in the last slot's run: each probe wraps.
struct WorstHash {
  std::size_t operator()(const IpPrefix&) const noexcept { return ~std::size_t(0); }
};

IpPrefix prefix(std::uint32_t n, bool v6) {
  IpPrefix p;
  if (v6) {
    p.addr.family = IpAddr::Family::V6;
    p.addr.bytes[0] = 0x20;
    p.addr.bytes[3] = std::uint8_t(n);
    p.addr.bytes[4] = std::uint8_t(n >> 8);
    p.len = 64;
  } else {
    p.addr = IpAddr::v4(0x0a000000u | (n << 8));
    p.addr.bytes[3] = std::uint8_t(n);  // varies the poor hashes' byte
    p.len = std::uint8_t(24 + n % 9);
  }
  return p;
}

template <class Hash>
void against_reference(std::uint32_t keys, int ops, std::uint32_t seed) {
  PrefixOwners<Owner, Hash> table;
  std::map<IpPrefix, std::pair<Owner*, std::uint32_t>> ref;
  std::vector<Owner> owners(4);
  std::mt19937 rng(seed);
  for (int i = 0; i < ops; ++i) {
    const IpPrefix k = prefix(rng() % keys, rng() % 2 == 0);
    switch (rng() % 3) {
      case 0: {  // insert or overwrite
        Owner* o = &owners[rng() % owners.size()];
        const std::uint32_t pos = rng();
        auto [e, made] = table.try_emplace(k);
        ASSERT_EQ(made, ref.count(k) == 0) << k.to_string();
        ASSERT_EQ(e->key, k);
        e->owner = o;
        e->pos = pos;
        ref[k] = {o, pos};
        break;
      }
      case 1:
        ASSERT_EQ(table.erase(k), ref.erase(k) == 1) << k.to_string();
        break;
      default: {
        auto* e = table.find(k);
        auto it = ref.find(k);
        ASSERT_EQ(e != nullptr, it != ref.end()) << k.to_string();
        if (e) {
          ASSERT_EQ(e->owner, it->second.first);
          ASSERT_EQ(e->pos, it->second.second);
        }
      }
    }
    ASSERT_EQ(table.size(), ref.size());
  }
  // Everything the reference holds is found, and then erased down to nothing.
  for (const auto& [k, v] : ref) {
    auto* e = table.find(k);
    ASSERT_NE(e, nullptr) << k.to_string();
    EXPECT_EQ(e->owner, v.first);
  }
  for (const auto& [k, v] : ref) ASSERT_TRUE(table.erase(k)) << k.to_string();
  EXPECT_EQ(table.size(), 0u);
  for (std::uint32_t n = 0; n < keys; ++n) EXPECT_EQ(table.find(prefix(n, false)), nullptr);
}

TEST(PrefixOwners, MatchesAMapWithAGoodHash) {
  for (std::uint32_t seed = 1; seed <= 4; ++seed) against_reference<GoodHash>(5000, 60000, seed);
}

TEST(PrefixOwners, MatchesAMapWhenProbeRunsCollideAndWrap) {
  for (std::uint32_t seed = 1; seed <= 4; ++seed) {
    against_reference<PoorHash>(300, 20000, seed);
    against_reference<WorstHash>(100, 5000, seed);
  }
}

TEST(PrefixOwners, ASlotIs32Bytes) {
  EXPECT_EQ(sizeof(PrefixOwners<Owner, GoodHash>::Entry), 32u);
}

TEST(PrefixList, MatchesAVectorInlineAndOnTheHeap) {
  for (std::uint32_t seed = 1; seed <= 20; ++seed) {
    std::mt19937 rng(seed);
    PrefixList list;
    std::vector<IpPrefix> ref;
    for (int op = 0; op < 3000; ++op) {
      const unsigned what = rng() % 10;
      if (what < 6) {
        const IpPrefix p = prefix(rng() % 100000, rng() % 2 == 0);
        list.push_back(p);
        ref.push_back(p);
      } else if (what < 8) {
        const std::size_t n = ref.empty() ? 0 : rng() % (ref.size() + 1);
        list.resize(n);
        ref.resize(n);
      } else if (what == 8 && rng() % 8 == 0) {
        list.clear();
        ref.clear();
      } else if (!ref.empty()) {
        const std::size_t i = rng() % ref.size();
        list[i].len = 0xff;  // the model punches holes this way
        ref[i].len = 0xff;
      }
      ASSERT_EQ(list.size(), ref.size()) << "seed " << seed << " op " << op;
      ASSERT_TRUE(std::equal(list.begin(), list.end(), ref.begin(), ref.end())) << "seed " << seed << " op " << op;
    }
  }
  EXPECT_EQ(sizeof(PrefixList), 40u);
}

}  // namespace
}  // namespace wgcore
