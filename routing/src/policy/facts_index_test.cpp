// FactsIndex's range and covering queries against brute force over random facts.
#include "facts_index.hpp"

#include <gtest/gtest.h>

#include <random>

namespace wgcore::routing::policy {
namespace {

Key K(std::uint8_t b) {
  Key k;
  k[0] = b;
  return k;
}

IpAddr RandomV4(std::mt19937_64& rng) {
  // A small space (198.18.0.0/22) so that prefixes and addresses collide often.
  return IpAddr::v4(0xc6120000u | std::uint32_t(rng() % 1024));
}

TEST(FactsIndex, LastAddress) {
  EXPECT_EQ(last_address(*IpPrefix::parse("198.18.0.0/23")).to_string(), "198.18.1.255");
  EXPECT_EQ(last_address(*IpPrefix::parse("198.18.0.5/32")).to_string(), "198.18.0.5");
  EXPECT_EQ(last_address(*IpPrefix::parse("2001:db8::/64")).to_string(),
            "2001:db8::ffff:ffff:ffff:ffff");
  EXPECT_EQ(last_address(*IpPrefix::parse("0.0.0.0/0")).to_string(), "255.255.255.255");
}

TEST(FactsIndex, RandomizedAgainstBruteForce) {
  std::mt19937_64 rng(7);
  for (int round = 0; round < 50; ++round) {
    Facts f;
    for (int i = 0; i < 20; ++i) f.local_addresses.push_back(RandomV4(rng));
    for (std::uint8_t k = 1; k <= 8; ++k) {
      f.peer_endpoints[K(k)].push_back(RandomV4(rng));
      for (int i = 0; i < 4; ++i)
        f.static_allowed_ips[K(k)].push_back(
            IpPrefix{RandomV4(rng), std::uint8_t(22 + rng() % 11)});
    }
    f.local_addresses.push_back(*IpAddr::parse("2001:db8:1::1"));
    FactsIndex idx;
    idx.build(f);
    for (int q = 0; q < 500; ++q) {
      const IpPrefix p = IpPrefix{RandomV4(rng), std::uint8_t(20 + rng() % 13)}.canonical();
      const IpAddr* want_local = nullptr;
      for (const auto& a : f.local_addresses)
        if (p.contains(a) && (!want_local || a < *want_local)) want_local = &a;
      const IpAddr* got_local = idx.local_in(p);
      ASSERT_EQ(got_local == nullptr, want_local == nullptr) << p.to_string();
      if (got_local) {
        EXPECT_EQ(*got_local, *want_local);
      }

      std::optional<IpAddr> want_ep;
      for (const auto& [key, addrs] : f.peer_endpoints)
        for (const auto& a : addrs)
          if (p.contains(a) && (!want_ep || a < *want_ep)) want_ep = a;
      const auto* got_ep = idx.endpoint_in(p);
      ASSERT_EQ(got_ep == nullptr, !want_ep) << p.to_string();
      if (got_ep) {
        EXPECT_EQ(got_ep->first, *want_ep);
      }

      int want_len = -1;
      for (const auto& [key, prefixes] : f.static_allowed_ips)
        for (const auto& s : prefixes)
          if (s.len <= p.len && s.canonical().contains(p.addr))
            want_len = std::max<int>(want_len, s.len);
      const auto* got_static = idx.longest_static_covering(p);
      ASSERT_EQ(got_static == nullptr, want_len < 0) << p.to_string();
      if (got_static) {
        EXPECT_EQ(got_static->prefix.len, want_len);
        EXPECT_TRUE(got_static->prefix.contains(p.addr));
      }
    }
  }
}

TEST(FactsIndex, OwnStatic) {
  Facts f;
  f.static_allowed_ips[K(1)] = {*IpPrefix::parse("198.18.1.9/24")};  // host bits ignored
  FactsIndex idx;
  idx.build(f);
  EXPECT_TRUE(idx.is_own_static(K(1), *IpPrefix::parse("198.18.1.0/24")));
  EXPECT_FALSE(idx.is_own_static(K(2), *IpPrefix::parse("198.18.1.0/24")));
  EXPECT_FALSE(idx.is_own_static(K(1), *IpPrefix::parse("198.18.1.0/25")));
}

}  // namespace
}  // namespace wgcore::routing::policy
