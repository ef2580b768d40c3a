// RFC 6040 as core/ecn.hpp implements it: the decapsulation table cell by cell (figure 4, plus
// the Not-ECT/CE drop), the encapsulation rule, and the in-place rewrite on random IPv4 and IPv6
// headers against a slow reference (full checksum recomputation, bit-by-bit comparison).
#include "core/ecn.hpp"

#include <gtest/gtest.h>

#include <random>
#include <vector>

#include "core/messages.hpp"

namespace wgcore {
namespace {

using ecn::Decap;
constexpr std::uint8_t N = proto::kEcnNotEct, E1 = proto::kEcnEct1, E0 = proto::kEcnEct0, CE = proto::kEcnCe;

// The ECN the inner packet leaves with, or -1 for drop: RFC 6040 figure 4, rows inner, columns
// outer in the order Not-ECT, ECT(0), ECT(1), CE.
int rfc6040(std::uint8_t inner, std::uint8_t outer) {
  const int col = outer == N ? 0 : outer == E0 ? 1 : outer == E1 ? 2 : 3;
  static const int table[4][4] = {
      /* Not-ECT */ {N, N, N, -1},
      /* ECT(0)  */ {E0, E0, E1, CE},
      /* ECT(1)  */ {E1, E1, E1, CE},
      /* CE      */ {CE, CE, CE, CE},
  };
  const int row = inner == N ? 0 : inner == E0 ? 1 : inner == E1 ? 2 : 3;
  return table[row][col];
}

std::uint16_t ipv4_checksum(const std::uint8_t* h, std::size_t len) {
  std::uint32_t s = 0;
  for (std::size_t i = 0; i < len; i += 2)
    if (i != 10) s += std::uint32_t(h[i] << 8 | h[i + 1]);
  while (s >> 16) s = (s & 0xffff) + (s >> 16);
  return std::uint16_t(~s);
}

std::vector<std::uint8_t> random_ipv4(std::mt19937& rng, std::uint8_t tos) {
  std::vector<std::uint8_t> p(20 + rng() % 40);
  for (auto& b : p) b = std::uint8_t(rng());
  p[0] = 0x45;
  p[1] = tos;
  const std::uint16_t c = ipv4_checksum(p.data(), 20);
  p[10] = std::uint8_t(c >> 8);
  p[11] = std::uint8_t(c);
  return p;
}

TEST(Ecn, DecapsulationFollowsRfc6040Figure4) {
  for (std::uint8_t inner : {N, E0, E1, CE}) {
    for (std::uint8_t outer : {N, E0, E1, CE}) {
      std::mt19937 rng(inner * 4 + outer);
      // The DSCP bits of either header never matter.
      const std::uint8_t inner_ds = std::uint8_t(rng() & 0xfc) | inner, outer_ds = std::uint8_t(rng() & 0xfc) | outer;
      auto p = random_ipv4(rng, inner_ds);
      const Decap d = ecn::decap(outer_ds, inner_ds);
      const bool kept = ecn::apply(d, p);
      const int want = rfc6040(inner, outer);
      if (want < 0) {
        EXPECT_EQ(d, Decap::kDrop) << int(inner) << "/" << int(outer);
        EXPECT_FALSE(kept);
        continue;
      }
      ASSERT_TRUE(kept) << int(inner) << "/" << int(outer);
      EXPECT_EQ(p[1] & proto::kEcnMask, want) << "inner " << int(inner) << ", outer " << int(outer);
      EXPECT_EQ(p[1] & 0xfc, inner_ds & 0xfc) << "the inner DSCP changed";
    }
  }
}

TEST(Ecn, EncapsulationCopiesEcnButNotDscpAndTurnsCeIntoEct0) {
  for (std::uint8_t dscp : {0x00, 0xb8 /* EF */, 0x28 /* AF11 */, 0xfc}) {
    for (std::uint8_t e : {N, E0, E1, CE}) {
      std::mt19937 rng(dscp + e);
      auto v4 = random_ipv4(rng, std::uint8_t(dscp | e));
      const std::uint8_t want = e == CE ? E0 : e;
      EXPECT_EQ(ecn::outer_ds(v4), want) << "IPv4 DSCP " << int(dscp) << " ECN " << int(e);
      std::vector<std::uint8_t> v6(40, 0);
      const std::uint8_t tc = std::uint8_t(dscp | e);
      v6[0] = std::uint8_t(0x60 | tc >> 4);
      v6[1] = std::uint8_t(tc << 4 | 0x0a);  // and some flow label bits
      EXPECT_EQ(ecn::inner_ds(v6), tc);
      EXPECT_EQ(ecn::outer_ds(v6), want) << "IPv6 traffic class " << int(tc);
    }
  }
  EXPECT_EQ(ecn::outer_ds({}), 0) << "a keepalive";
  const std::uint8_t junk[] = {0x15, 0xff};
  EXPECT_EQ(ecn::outer_ds(junk), 0) << "not IP";
}

// The rewrite against a slow reference: random headers, every codepoint; the IPv4 checksum must
// be what a full recomputation gives, and nothing but the ECN bits may change.
TEST(Ecn, RewriteKeepsHeadersValid) {
  std::mt19937 rng(6040);
  for (int i = 0; i < 4000; ++i) {
    const std::uint8_t tos = std::uint8_t(rng());
    const Decap d = (i & 1) ? Decap::kSetCe : Decap::kSetEct1;
    if (i % 3) {
      auto p = random_ipv4(rng, tos);
      const auto before = p;
      ASSERT_TRUE(ecn::apply(d, p));
      const std::uint8_t want = d == Decap::kSetCe ? CE : E1;
      ASSERT_EQ(p[1], std::uint8_t((tos & 0xfc) | want));
      const std::uint16_t c = ipv4_checksum(p.data(), 20);
      ASSERT_EQ(p[10], std::uint8_t(c >> 8)) << "checksum after rewriting TOS " << int(tos);
      ASSERT_EQ(p[11], std::uint8_t(c));
      for (std::size_t k = 0; k < p.size(); ++k) {
        if (k != 1 && k != 10 && k != 11) {
          ASSERT_EQ(p[k], before[k]) << k;
        }
      }
    } else {
      std::vector<std::uint8_t> p(40 + rng() % 20);
      for (auto& b : p) b = std::uint8_t(rng());
      p[0] = std::uint8_t(0x60 | (p[0] & 0x0f));
      const auto before = p;
      ASSERT_TRUE(ecn::apply(d, p));
      const std::uint8_t want = d == Decap::kSetCe ? CE : E1;
      ASSERT_EQ(ecn::inner_ds(p), std::uint8_t((ecn::inner_ds(before) & 0xfc) | want));
      for (std::size_t k = 0; k < p.size(); ++k) {
        if (k != 1) {
          ASSERT_EQ(p[k], before[k]) << k;
        }
      }
      ASSERT_EQ(p[1] & 0xcf, before[1] & 0xcf) << "flow label or DSCP bits changed";
    }
  }
}

}  // namespace
}  // namespace wgcore
