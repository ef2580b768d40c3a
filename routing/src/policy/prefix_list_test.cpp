// Prefix-list parsing and matching: FRR's ge/le semantics checked against a slow reference
// matcher on random prefixes and entries, and the parser's FRR behaviours and errors.
#include <gtest/gtest.h>

#include <random>

#include "routing/policy.hpp"

namespace wgcore::routing::policy {
namespace {

IpPrefix P(std::string_view s) {
  auto p = IpPrefix::parse(s);
  EXPECT_TRUE(p) << s;
  return p.value_or(IpPrefix{});
}

PrefixListEntry Parse1(std::string_view line) {
  std::vector<PrefixList> lists;
  auto st = parse_prefix_list_line(line, lists);
  EXPECT_TRUE(st.ok()) << line << ": " << (st.ok() ? "" : st.error().message);
  if (lists.size() != 1 || lists[0].entries.size() != 1) {
    ADD_FAILURE() << "no single entry from " << line;
    return {};
  }
  return lists[0].entries[0];
}

std::string ParseError(std::string_view line) {
  std::vector<PrefixList> lists;
  auto st = parse_prefix_list_line(line, lists);
  EXPECT_FALSE(st.ok()) << line;
  EXPECT_TRUE(lists.empty()) << "lists changed on error: " << line;
  return st.ok() ? "" : st.error().message;
}

// The reference: every rule spelled out bit by bit, no IpPrefix helpers.
bool ReferenceMatch(const PrefixListEntry& e, const IpPrefix& p) {
  if (p.addr.family != e.prefix.addr.family) return false;
  const unsigned max = p.addr.is_v4() ? 32 : 128;
  if (e.any) return true;
  for (unsigned bit = 0; bit < e.prefix.len; ++bit) {
    if (bit >= p.len) return false;
    const unsigned byte = bit / 8, mask = 0x80u >> (bit % 8);
    if ((p.addr.bytes[byte] & mask) != (e.prefix.addr.bytes[byte] & mask)) return false;
  }
  unsigned lo = e.prefix.len, hi = e.prefix.len;
  if (e.ge || e.le) {
    lo = e.ge ? *e.ge : e.prefix.len;
    hi = e.le ? *e.le : max;
  }
  return p.len >= lo && p.len <= hi;
}

TEST(PrefixListParse, FullLine) {
  auto e = Parse1("ip prefix-list SITE-C seq 10 permit 10.0.0.0/8 le 24");
  EXPECT_EQ(e.seq, 10u);
  EXPECT_EQ(e.action, Action::kPermit);
  EXPECT_EQ(e.prefix, P("10.0.0.0/8"));
  EXPECT_FALSE(e.ge);
  EXPECT_EQ(e.le, 24);
  EXPECT_EQ(e.to_string(), "seq 10 permit 10.0.0.0/8 le 24");
}

TEST(PrefixListParse, GeLeInEitherOrderAndIpv6) {
  auto a = Parse1("ipv6 prefix-list V6 seq 7 deny 2001:db8:100::/40 le 64 ge 48");
  EXPECT_EQ(a.prefix.addr.family, IpAddr::Family::V6);
  EXPECT_EQ(a.ge, 48);
  EXPECT_EQ(a.le, 64);
  EXPECT_EQ(a.action, Action::kDeny);
  EXPECT_EQ(a.to_string(), "seq 7 deny 2001:db8:100::/40 ge 48 le 64");
}

TEST(PrefixListParse, AnyIsSlashZeroLeMax) {
  auto a = Parse1("ip prefix-list X permit any");
  EXPECT_TRUE(a.any);
  EXPECT_EQ(a.to_string(), "seq 5 permit any");
  EXPECT_TRUE(a.matches(P("0.0.0.0/0")));
  EXPECT_TRUE(a.matches(P("198.18.1.7/32")));
  EXPECT_FALSE(a.matches(P("2001:db8::/32")));
  auto b = Parse1("ipv6 prefix-list X deny any");
  EXPECT_TRUE(b.matches(P("::/0")));
  EXPECT_TRUE(b.matches(P("2001:db8::1/128")));
  EXPECT_FALSE(b.matches(P("10.0.0.0/8")));
}

TEST(PrefixListParse, AutomaticSeqIsFrrs) {
  std::vector<PrefixList> lists;
  ASSERT_TRUE(parse_prefix_list_line("ip prefix-list L permit 10.0.0.0/8", lists).ok());
  ASSERT_TRUE(parse_prefix_list_line("ip prefix-list L permit 10.1.0.0/16", lists).ok());
  ASSERT_TRUE(parse_prefix_list_line("ip prefix-list L seq 23 permit 10.2.0.0/16", lists).ok());
  ASSERT_TRUE(parse_prefix_list_line("ip prefix-list L deny 10.3.0.0/16", lists).ok());
  ASSERT_TRUE(parse_prefix_list_line("ip prefix-list L seq 1 deny 10.4.0.0/16", lists).ok());
  ASSERT_EQ(lists.size(), 1u);
  std::vector<std::uint32_t> seqs;
  for (const auto& e : lists[0].entries) seqs.push_back(e.seq);
  // (highest / 5) * 5 + 5: 5, 10, then 25 after 23; entries kept sorted.
  EXPECT_EQ(seqs, (std::vector<std::uint32_t>{1, 5, 10, 23, 25}));
}

TEST(PrefixListParse, SameSeqReplacesAndNamesAndFamiliesAreSeparate) {
  std::vector<PrefixList> lists;
  ASSERT_TRUE(parse_prefix_list_line("ip prefix-list L seq 10 permit 10.0.0.0/8", lists).ok());
  ASSERT_TRUE(parse_prefix_list_line("ip prefix-list L seq 10 deny 10.0.0.0/8 le 16", lists).ok());
  ASSERT_TRUE(parse_prefix_list_line("ipv6 prefix-list L seq 10 permit 2001:db8::/32", lists).ok());
  ASSERT_TRUE(parse_prefix_list_line("ip prefix-list M seq 10 permit 10.0.0.0/8", lists).ok());
  ASSERT_EQ(lists.size(), 3u);
  ASSERT_EQ(lists[0].entries.size(), 1u);
  EXPECT_EQ(lists[0].entries[0].to_string(), "seq 10 deny 10.0.0.0/8 le 16");
  EXPECT_EQ(lists[1].family, IpAddr::Family::V6);
}

TEST(PrefixListParse, HostBitsAreMaskedAsFrrDoes) {
  auto e = Parse1("ip prefix-list L permit 10.0.0.1/8");
  EXPECT_EQ(e.prefix, P("10.0.0.0/8"));
}

TEST(PrefixListParse, DescriptionCommentsAndBlankLines) {
  std::vector<PrefixList> lists;
  EXPECT_TRUE(parse_prefix_list_line("", lists).ok());
  EXPECT_TRUE(parse_prefix_list_line("   ", lists).ok());
  EXPECT_TRUE(parse_prefix_list_line("! comment", lists).ok());
  EXPECT_TRUE(lists.empty());
  EXPECT_TRUE(parse_prefix_list_line("ip prefix-list D description site d routes", lists).ok());
  ASSERT_EQ(lists.size(), 1u);
  EXPECT_TRUE(lists[0].entries.empty());
}

TEST(PrefixListParse, Errors) {
  EXPECT_NE(ParseError("ipx prefix-list L permit 10.0.0.0/8").find("'ipx'"), std::string::npos);
  EXPECT_NE(ParseError("ip prefix-lists L permit 10.0.0.0/8").find("prefix-list"),
            std::string::npos);
  EXPECT_NE(ParseError("ip prefix-list").find("name"), std::string::npos);
  EXPECT_NE(ParseError("ip prefix-list L seq 0 permit 10.0.0.0/8").find("seq '0'"),
            std::string::npos);
  EXPECT_NE(ParseError("ip prefix-list L seq 4294967296 permit 10.0.0.0/8").find("4294967296"),
            std::string::npos);
  EXPECT_NE(ParseError("ip prefix-list L seq x permit 10.0.0.0/8").find("'x'"), std::string::npos);
  EXPECT_NE(ParseError("ip prefix-list L allow 10.0.0.0/8").find("'allow'"), std::string::npos);
  EXPECT_NE(ParseError("ip prefix-list L permit").find("missing prefix"), std::string::npos);
  EXPECT_NE(ParseError("ip prefix-list L permit 10.0.0.0").find("'10.0.0.0'"), std::string::npos);
  EXPECT_NE(ParseError("ip prefix-list L permit 10.0.0.0/33").find("10.0.0.0/33"),
            std::string::npos);
  EXPECT_NE(ParseError("ip prefix-list L permit 2001:db8::/32").find("not IPv4"),
            std::string::npos);
  EXPECT_NE(ParseError("ipv6 prefix-list L permit 10.0.0.0/8").find("not IPv6"), std::string::npos);
  EXPECT_NE(ParseError("ip prefix-list L permit 10.0.0.0/8 ge 8").find("len < ge <= le"),
            std::string::npos);
  EXPECT_NE(ParseError("ip prefix-list L permit 10.0.0.0/16 le 8").find("len < ge <= le"),
            std::string::npos);
  EXPECT_NE(ParseError("ip prefix-list L permit 10.0.0.0/8 ge 24 le 16").find("len < ge <= le"),
            std::string::npos);
  EXPECT_NE(ParseError("ip prefix-list L permit 10.0.0.0/8 le 33").find("'33'"), std::string::npos);
  EXPECT_NE(ParseError("ipv6 prefix-list L permit 2001:db8::/32 le 129").find("'129'"),
            std::string::npos);
  EXPECT_NE(ParseError("ip prefix-list L permit 10.0.0.0/8 le 24 le 25").find("twice"),
            std::string::npos);
  EXPECT_NE(ParseError("ip prefix-list L permit 10.0.0.0/8 le").find("missing length"),
            std::string::npos);
  EXPECT_NE(ParseError("ip prefix-list L permit any le 32").find("after 'any'"), std::string::npos);
  EXPECT_NE(ParseError("ip prefix-list L permit 10.0.0.0/8 exact").find("'exact'"),
            std::string::npos);
  // Errors name the line.
  EXPECT_NE(ParseError("ip prefix-list L permit 10.0.0.0/8 ge 8").find("ip prefix-list L permit"),
            std::string::npos);
}

TEST(PrefixListParse, DuplicateValueAtAnotherSeqIsRefusedAndListKept) {
  std::vector<PrefixList> lists;
  ASSERT_TRUE(parse_prefix_list_line("ip prefix-list L seq 5 permit 10.0.0.0/8 le 24", lists).ok());
  auto st = parse_prefix_list_line("ip prefix-list L seq 10 deny 10.0.0.0/8 le 24", lists);
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.error().message.find("duplicated prefix list value"), std::string::npos);
  ASSERT_EQ(lists[0].entries.size(), 1u);
  EXPECT_EQ(lists[0].entries[0].action, Action::kPermit);
}

// Edge cases of FRR's ge/le, each stated as FRR documents them.
TEST(PrefixListMatch, GeLeEdges) {
  struct Case {
    const char* line;
    const char* prefix;
    bool match;
  } cases[] = {
      {"ip prefix-list L permit 10.0.0.0/8", "10.0.0.0/8", true},
      {"ip prefix-list L permit 10.0.0.0/8", "10.1.0.0/16", false},  // exact length only
      {"ip prefix-list L permit 10.0.0.0/8", "11.0.0.0/8", false},
      {"ip prefix-list L permit 10.0.0.0/8 le 24", "10.0.0.0/8", true},  // le alone: [len, le]
      {"ip prefix-list L permit 10.0.0.0/8 le 24", "10.9.9.0/24", true},
      {"ip prefix-list L permit 10.0.0.0/8 le 24", "10.9.9.0/25", false},
      {"ip prefix-list L permit 10.0.0.0/8 le 24", "10.0.0.0/7", false},  // shorter: not inside
      {"ip prefix-list L permit 10.0.0.0/8 le 8", "10.0.0.0/8", true},    // le == len is exact
      {"ip prefix-list L permit 10.0.0.0/8 ge 16", "10.0.0.0/8", false},  // ge alone: [ge, 32]
      {"ip prefix-list L permit 10.0.0.0/8 ge 16", "10.2.0.0/16", true},
      {"ip prefix-list L permit 10.0.0.0/8 ge 16", "10.2.3.4/32", true},
      {"ip prefix-list L permit 10.0.0.0/8 ge 16", "10.2.0.0/15", false},
      {"ip prefix-list L permit 10.0.0.0/8 ge 16 le 24", "10.2.0.0/16", true},
      {"ip prefix-list L permit 10.0.0.0/8 ge 16 le 24", "10.2.3.0/24", true},
      {"ip prefix-list L permit 10.0.0.0/8 ge 16 le 24", "10.2.3.0/25", false},
      {"ip prefix-list L permit 10.0.0.0/8 ge 24 le 24", "10.2.3.0/24", true},  // ge == le
      {"ip prefix-list L permit 10.0.0.0/8 ge 24 le 24", "10.2.0.0/23", false},
      {"ip prefix-list L permit 0.0.0.0/0", "0.0.0.0/0", true},  // only the default route
      {"ip prefix-list L permit 0.0.0.0/0", "10.0.0.0/8", false},
      {"ip prefix-list L permit 0.0.0.0/0 le 32", "10.0.0.0/8", true},
      {"ip prefix-list L permit 10.0.0.0/8 le 32", "2001:db8::/32", false},  // family
      {"ipv6 prefix-list L permit 2001:db8:100::/40 ge 48 le 64", "2001:db8:100:7::/64", true},
      {"ipv6 prefix-list L permit 2001:db8:100::/40 ge 48 le 64", "2001:db8:100:7::/65", false},
      {"ipv6 prefix-list L permit 2001:db8:100::/40 ge 48 le 64", "2001:db8:200::/48", false},
      {"ipv6 prefix-list L permit 2001:db8:100::/40 ge 128", "2001:db8:100::1/128", true},
  };
  for (const auto& c : cases) {
    auto e = Parse1(c.line);
    EXPECT_EQ(e.matches(P(c.prefix)), c.match) << c.line << " vs " << c.prefix;
    EXPECT_EQ(ReferenceMatch(e, P(c.prefix).canonical()), c.match) << "reference: " << c.line;
  }
}

// Random entries built through the parser (so only valid ones) against random prefixes, most of
// them near the entry so that matches are frequent.
TEST(PrefixListMatch, RandomizedAgainstReference) {
  std::mt19937_64 rng(20261122);
  auto rnd = [&](unsigned n) { return unsigned(rng() % n); };
  std::size_t matched = 0, total = 0;
  for (int round = 0; round < 4000; ++round) {
    const bool v6 = rnd(2) == 1;
    const unsigned max = v6 ? 128 : 32;
    IpAddr a;
    a.family = v6 ? IpAddr::Family::V6 : IpAddr::Family::V4;
    for (unsigned i = 0; i < a.byte_len(); ++i) a.bytes[i] = std::uint8_t(rng());
    const unsigned len = rnd(max + 1);
    IpPrefix ep = IpPrefix{a, std::uint8_t(len)}.canonical();
    std::string line = std::string(v6 ? "ipv6" : "ip") + " prefix-list R permit ";
    const unsigned form = rnd(5);
    if (form == 4) {
      line += "any";
    } else {
      line += ep.to_string();
      if ((form == 1 || form == 3) && len < max)
        line += " ge " + std::to_string(len + 1 + rnd(max - len));
      if (form == 2 || form == 3) {
        unsigned lo = len;
        if (auto g = line.find(" ge "); g != std::string::npos)
          lo = unsigned(std::stoul(line.substr(g + 4)));
        line += " le " + std::to_string(lo + rnd(max - lo + 1));
      }
    }
    std::vector<PrefixList> lists;
    auto st = parse_prefix_list_line(line, lists);
    ASSERT_TRUE(st.ok()) << line << ": " << st.error().message;
    const PrefixListEntry& e = lists[0].entries[0];
    for (int k = 0; k < 50; ++k) {
      IpPrefix cand;
      const bool other_family = rnd(20) == 0;
      cand.addr.family = (v6 != other_family) ? IpAddr::Family::V6 : IpAddr::Family::V4;
      const unsigned cmax = cand.addr.bits();
      cand.len = std::uint8_t(rnd(cmax + 1));
      for (unsigned i = 0; i < cand.addr.byte_len(); ++i) cand.addr.bytes[i] = std::uint8_t(rng());
      if (!other_family && rnd(4) != 0) {  // inside or near the entry's prefix
        for (unsigned bit = 0; bit < ep.len && bit < cmax; ++bit) {
          const unsigned byte = bit / 8, mask = 0x80u >> (bit % 8);
          cand.addr.bytes[byte] =
              std::uint8_t((cand.addr.bytes[byte] & ~mask) | (ep.addr.bytes[byte] & mask));
        }
        if (rnd(2))
          cand.len = std::uint8_t(std::min<unsigned>(cmax, ep.len + rnd(cmax - ep.len + 1)));
      }
      cand = cand.canonical();
      const bool want = ReferenceMatch(e, cand);
      ASSERT_EQ(e.matches(cand), want) << line << " vs " << cand.to_string();
      matched += want;
      ++total;
    }
  }
  // The generator must exercise both outcomes substantially.
  EXPECT_GT(matched, total / 10);
  EXPECT_LT(matched, total * 9 / 10);
}

}  // namespace
}  // namespace wgcore::routing::policy
