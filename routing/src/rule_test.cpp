// Policy rules against the kernel in a private namespace, compared with `ip rule`.
#include <gtest/gtest.h>

#include "netns_fixture.hpp"
#include "routing/rule.hpp"

namespace wgcore::routing {
namespace {

using testing::NetnsTest;
using testing::sh;

std::vector<std::string> strings(const std::vector<Rule>& rs) {
  std::vector<std::string> out;
  for (const auto& r : rs) out.push_back(r.to_string());
  return out;
}

// wg-quick's two rules for one family, ours versus `ip rule add`'s, in the same namespace.
TEST_F(NetnsTest, WgQuickRulesMatchIpRule) {
  for (auto fam : {IpAddr::Family::V4, IpAddr::Family::V6}) {
    const char* v = fam == IpAddr::Family::V4 ? "-4" : "-6";
    std::string before = sh(std::string("ip -d ") + v + " rule show");
    Rule mark;
    mark.family = fam;
    mark.invert = true;
    mark.fwmark = 51820;
    mark.table = 51820;
    Rule suppress;
    suppress.family = fam;
    suppress.table = 254;
    suppress.suppress_prefixlength = 0;
    ASSERT_TRUE(add_rule(*nl, mark).ok());
    ASSERT_TRUE(add_rule(*nl, suppress).ok());
    std::string ours = sh(std::string("ip -d ") + v + " rule show");
    // Back to the start, then the same through `ip`.
    ASSERT_TRUE(delete_rule(*nl, suppress).ok());
    ASSERT_TRUE(delete_rule(*nl, mark).ok());
    EXPECT_EQ(sh(std::string("ip -d ") + v + " rule show"), before);
    ASSERT_EQ(std::system((std::string("ip ") + v + " rule add not fwmark 51820 table 51820 && ip " + v +
                           " rule add table main suppress_prefixlength 0").c_str()), 0);
    std::string ref = sh(std::string("ip -d ") + v + " rule show");
    EXPECT_EQ(ours, ref);
    EXPECT_NE(ours.find("not from all fwmark 0xca6c lookup 51820"), std::string::npos) << ours;
    EXPECT_NE(ours.find("from all lookup main suppress_prefixlength 0"), std::string::npos) << ours;
    // Read back: the two rules above the defaults (which the kernel made: proto kernel), with
    // the kernel's priorities; ours carry no protocol, as `ip rule add` sends none.
    auto list = list_rules(*nl, fam);
    ASSERT_TRUE(list) << list.error().message;
    std::vector<std::string> got = strings(*list);
    std::vector<std::string> want = {"0: from all lookup local proto 2",
                                     "32764: from all lookup main suppress_prefixlength 0",
                                     "32765: not from all fwmark 0xca6c lookup 51820",
                                     "32766: from all lookup main proto 2"};
    if (fam == IpAddr::Family::V4) want.push_back("32767: from all lookup default proto 2");
    EXPECT_EQ(got, want);
    ASSERT_EQ(std::system((std::string("ip ") + v + " rule del table 51820 && ip " + v +
                           " rule del table main suppress_prefixlength 0").c_str()), 0);
  }
}

TEST_F(NetnsTest, RuleFieldsRoundTrip) {
  Rule r;
  r.family = IpAddr::Family::V4;
  r.priority = 1000;
  r.from = *IpPrefix::parse("198.51.100.0/24");
  r.to = *IpPrefix::parse("203.0.113.0/25");
  r.fwmark = 0x10;
  r.fwmask = 0xff;
  r.table = 4242;
  r.protocol = 4;
  ASSERT_TRUE(add_rule(*nl, r).ok());
  EXPECT_NE(sh("ip -4 rule show").find("1000:\tfrom 198.51.100.0/24 to 203.0.113.0/25 fwmark 0x10/0xff lookup 4242"),
            std::string::npos)
      << sh("ip -4 rule show");
  auto list = list_rules(*nl, IpAddr::Family::V4);
  ASSERT_TRUE(list);
  bool found = false;
  for (const auto& x : *list) {
    if (x.priority != 1000u) continue;
    found = true;
    EXPECT_EQ(x.from, r.from);
    EXPECT_EQ(x.to, r.to);
    EXPECT_EQ(x.fwmark, r.fwmark);
    EXPECT_EQ(x.fwmask, r.fwmask);
    EXPECT_EQ(x.table, 4242u);
    EXPECT_EQ(x.protocol, r.protocol);
    EXPECT_FALSE(x.invert);
    EXPECT_FALSE(x.suppress_prefixlength);
  }
  EXPECT_TRUE(found);
  Status dup = add_rule(*nl, r);
  ASSERT_FALSE(dup.ok());
  EXPECT_EQ(dup.error().code, EEXIST);
  EXPECT_EQ(dup.error().message,
            "adding IPv4 rule 1000: from 198.51.100.0/24 to 203.0.113.0/25 fwmark 0x10/0xff lookup 4242 "
            "proto 4: File exists");
  // Delete by table alone, as wg-quick's `ip rule delete table T` does.
  Rule by_table;
  by_table.table = 4242;
  ASSERT_TRUE(delete_rule(*nl, by_table).ok());
  EXPECT_EQ(sh("ip -4 rule show").find("4242"), std::string::npos);
  Status gone = delete_rule(*nl, by_table);
  ASSERT_FALSE(gone.ok());
  EXPECT_EQ(gone.error().code, ENOENT);
  EXPECT_EQ(gone.error().message, "deleting IPv4 rule from all lookup 4242: No such file or directory");
}

}  // namespace
}  // namespace wgcore::routing
