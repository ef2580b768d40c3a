// The trust policy Engine: one test per rule (verdict, rule and the detail naming the instance),
// the order of evaluation, reload and facts re-evaluation returning exactly the differences,
// approval, max-prefixes and ownership hand-over on withdraw, and a randomized determinism and
// consistency check (applying the returned changes always yields the installed set).
#include <gtest/gtest.h>

#include <random>
#include <set>

#include "routing/policy.hpp"

namespace wgcore::routing::policy {
namespace {

Key K(std::uint8_t b) {
  Key k;
  k[0] = b;
  k[31] = 0x5a;
  return k;
}
const Key kB = K(2), kC = K(3), kD = K(4), kStranger = K(9);

IpPrefix P(std::string_view s) {
  auto p = IpPrefix::parse(s);
  EXPECT_TRUE(p) << s;
  return p.value_or(IpPrefix{});
}
IpAddr A(std::string_view s) { return *IpAddr::parse(s); }

std::vector<PrefixList> Lists(std::initializer_list<std::string_view> lines) {
  std::vector<PrefixList> lists;
  for (auto l : lines) {
    auto st = parse_prefix_list_line(l, lists);
    EXPECT_TRUE(st.ok()) << l << ": " << (st.ok() ? "" : st.error().message);
  }
  return lists;
}

PeerPolicy Peer(const Key& k, std::string name, std::string v4, std::string v6 = "") {
  PeerPolicy p;
  p.public_key = k;
  p.name = std::move(name);
  p.prefix_list_v4 = std::move(v4);
  p.prefix_list_v6 = std::move(v6);
  return p;
}

std::string Show(const std::vector<Change>& cs) {
  std::string s;
  for (const auto& c : cs)
    s += std::string(c.install ? "+" : "-") + std::to_string(c.peer[0]) + " " +
         c.prefix.to_string() + ";";
  return s;
}

// The lab's three sites: site-b may announce 198.18.2.0/24 and longer up to /28, site-c
// 198.18.3.0/24 exactly and 2001:db8:103::/48 le 64; site-d has a list with a deny first.
class EngineTest : public ::testing::Test {
 protected:
  void SetUp() override {
    lists_ = Lists({
        "ip prefix-list SITE-B seq 10 permit 198.18.2.0/24 le 28",
        "ip prefix-list SITE-C seq 10 permit 198.18.3.0/24",
        "ip prefix-list SITE-C seq 20 permit 198.18.30.0/24",
        "ipv6 prefix-list SITE-C6 seq 10 permit 2001:db8:103::/48 le 64",
        "ip prefix-list SITE-D seq 5 deny 198.18.4.128/25",
        "ip prefix-list SITE-D seq 10 permit 198.18.4.0/24 le 25",
        "ip prefix-list OPEN permit any",
    });
    peers_ = {Peer(kB, "site-b", "SITE-B"), Peer(kC, "site-c", "SITE-C", "SITE-C6"),
              Peer(kD, "site-d", "SITE-D")};
    EXPECT_TRUE(engine_.set_config(lists_, peers_).empty());
    Facts f;
    f.local_addresses = {A("198.51.100.1"), A("203.0.113.1")};
    f.peer_endpoints[kB] = {A("198.51.100.2")};
    f.peer_endpoints[kC] = {A("198.51.100.3")};
    f.static_allowed_ips[kB] = {P("203.0.113.2/32"), P("198.18.2.0/24")};
    f.static_allowed_ips[kC] = {P("203.0.113.3/32")};
    facts_ = f;
    EXPECT_TRUE(engine_.set_facts(f).empty());
  }

  Decision Offer(const Key& k, std::string_view p) {
    std::vector<Change> cs;
    Decision d = engine_.offer(k, P(p), cs);
    last_ = cs;
    return d;
  }

  void ExpectRule(const Key& k, std::string_view p, Verdict v, Rule r, std::string_view detail) {
    Decision d = Offer(k, p);
    EXPECT_EQ(d.verdict, v) << p << ": " << d.detail;
    EXPECT_EQ(d.rule, r) << p << ": " << rule_name(d.rule) << " " << d.detail;
    EXPECT_EQ(d.detail, detail) << p;
    // evaluate() agrees and remembers nothing.
    EXPECT_EQ(engine_.evaluate(k, P(p)).rule, r);
  }

  std::vector<PrefixList> lists_;
  std::vector<PeerPolicy> peers_;
  Facts facts_;
  Engine engine_;
  std::vector<Change> last_;
};

TEST_F(EngineTest, UnknownPeer) {
  ExpectRule(kStranger, "198.18.9.0/24", Verdict::kRefuse, Rule::kUnknownPeer,
             "no policy for peer " + to_base64(kStranger));
  EXPECT_TRUE(last_.empty());
}

TEST_F(EngineTest, DefaultRouteRefusedUnlessAllowed) {
  ExpectRule(kC, "0.0.0.0/0", Verdict::kRefuse, Rule::kDefaultRoute,
             "default route not allowed for peer site-c (allow-default off)");
  ExpectRule(kC, "::/0", Verdict::kRefuse, Rule::kDefaultRoute,
             "default route not allowed for peer site-c (allow-default off)");
  // Allowed: it skips the "covers" rules (it always covers them) but still needs the list.
  peers_[1].allow_default = true;
  peers_[1].prefix_list_v4 = "OPEN";
  auto cs = engine_.set_config(lists_, peers_);
  EXPECT_EQ(Show(cs), "+3 0.0.0.0/0;");
  EXPECT_EQ(engine_.entries(kC)[0].decision.rule, Rule::kPrefixListPermit);
  EXPECT_EQ(engine_.entries(kC)[1].decision.rule, Rule::kImplicitDeny);  // ::/0 not in SITE-C6
}

TEST_F(EngineTest, CoversEndpointOfAnyPeer) {
  peers_[1].prefix_list_v4 = "OPEN";
  ASSERT_TRUE(engine_.set_config(lists_, peers_).empty());
  ExpectRule(kC, "198.51.100.0/30", Verdict::kRefuse, Rule::kCoversEndpoint,
             "covers endpoint 198.51.100.2 of peer site-b");
  ExpectRule(kC, "198.51.100.3/32", Verdict::kRefuse, Rule::kCoversEndpoint,
             "covers endpoint 198.51.100.3 of peer site-c");
  ExpectRule(kC, "198.51.100.4/30", Verdict::kAccept, Rule::kPrefixListPermit,
             "prefix-list OPEN seq 5 permit any");
}

TEST_F(EngineTest, CoversLocal) {
  peers_[1].prefix_list_v4 = "OPEN";
  ASSERT_TRUE(engine_.set_config(lists_, peers_).empty());
  ExpectRule(kC, "198.51.100.0/31", Verdict::kRefuse, Rule::kCoversLocal,
             "covers local address 198.51.100.1");
  ExpectRule(kC, "203.0.113.0/24", Verdict::kRefuse, Rule::kCoversLocal,
             "covers local address 203.0.113.1");
}

TEST_F(EngineTest, HijackOfAnotherPeersStaticAllowedIps) {
  peers_[1].prefix_list_v4 = "OPEN";
  ASSERT_TRUE(engine_.set_config(lists_, peers_).empty());
  ExpectRule(kC, "198.18.2.0/24", Verdict::kRefuse, Rule::kHijack,
             "equal to static AllowedIPs 198.18.2.0/24 of peer site-b");
  ExpectRule(kC, "198.18.2.64/26", Verdict::kRefuse, Rule::kHijack,
             "inside static AllowedIPs 198.18.2.0/24 of peer site-b");
  ExpectRule(kC, "203.0.113.2/32", Verdict::kRefuse, Rule::kHijack,
             "equal to static AllowedIPs 203.0.113.2/32 of peer site-b");
  // Less specific than another peer's static prefix: not a hijack (the longer one still wins).
  ExpectRule(kC, "198.18.0.0/22", Verdict::kAccept, Rule::kPrefixListPermit,
             "prefix-list OPEN seq 5 permit any");
  // Inside the peer's OWN static prefix, even when that one sits inside another peer's.
  Facts f = facts_;
  f.static_allowed_ips[kC].push_back(P("198.18.2.128/25"));
  std::vector<Change> cs = engine_.set_facts(f);
  EXPECT_EQ(Show(cs), "") << "the /26 is inside b's /24 but not inside c's /25";
  ExpectRule(kC, "198.18.2.192/26", Verdict::kAccept, Rule::kPrefixListPermit,
             "prefix-list OPEN seq 5 permit any");
}

TEST_F(EngineTest, OwnStaticPrefixIsAcceptedButNeverInstalledOrRemoved) {
  Decision d = Offer(kB, "198.18.2.0/24");
  EXPECT_EQ(d.verdict, Verdict::kAccept);
  EXPECT_TRUE(last_.empty()) << Show(last_);
  EXPECT_FALSE(engine_.entries(kB)[0].installed);
  std::vector<Change> cs;
  engine_.withdraw(kB, P("198.18.2.0/24"), cs);
  EXPECT_TRUE(cs.empty()) << "a withdrawal must not remove configured AllowedIPs";
  // Its more-specifics are ordinary imports.
  Offer(kB, "198.18.2.16/28");
  EXPECT_EQ(Show(last_), "+2 198.18.2.16/28;");
}

TEST_F(EngineTest, OwnedByPeerFirstComeKeepsItUntilWithdrawn) {
  peers_[2].prefix_list_v4 = "OPEN";  // site-d accepts anything
  peers_.push_back(Peer(K(5), "site-e", "OPEN"));
  ASSERT_TRUE(engine_.set_config(lists_, peers_).empty());
  ExpectRule(kC, "198.18.3.0/24", Verdict::kAccept, Rule::kPrefixListPermit,
             "prefix-list SITE-C seq 10 permit 198.18.3.0/24");
  EXPECT_EQ(Show(last_), "+3 198.18.3.0/24;");
  ExpectRule(kD, "198.18.3.0/24", Verdict::kRefuse, Rule::kOwnedByPeer,
             "already imported for peer site-c");
  EXPECT_TRUE(last_.empty());
  ExpectRule(K(5), "198.18.3.0/24", Verdict::kRefuse, Rule::kOwnedByPeer,
             "already imported for peer site-c");
  // The owner withdraws: the earliest refused offer (site-d's) takes it; site-e's now names d.
  std::vector<Change> cs;
  auto was = engine_.withdraw(kC, P("198.18.3.0/24"), cs);
  ASSERT_TRUE(was);
  EXPECT_EQ(was->verdict, Verdict::kAccept);  // what the route had: the audit log's "withdraw"
  EXPECT_EQ(Show(cs), "-3 198.18.3.0/24;+4 198.18.3.0/24;");
  EXPECT_EQ(engine_.entries(K(5))[0].decision.detail, "already imported for peer site-d");
  // A re-offer by site-c now finds it taken.
  ExpectRule(kC, "198.18.3.0/24", Verdict::kRefuse, Rule::kOwnedByPeer,
             "already imported for peer site-d");
  // A refused route's withdrawal says so (refused, no change), and an unknown one is nullopt.
  cs.clear();
  was = engine_.withdraw(K(5), P("198.18.3.0/24"), cs);
  ASSERT_TRUE(was);
  EXPECT_EQ(was->verdict, Verdict::kRefuse);
  EXPECT_TRUE(cs.empty()) << Show(cs);
  EXPECT_FALSE(engine_.withdraw(K(5), P("198.18.3.0/24"), cs));
  EXPECT_FALSE(engine_.withdraw(kB, P("203.0.113.0/24"), cs));
}

TEST_F(EngineTest, NoPrefixList) {
  ExpectRule(kB, "2001:db8:102::/48", Verdict::kRefuse, Rule::kNoPrefixList,
             "no ipv6 prefix-list for peer site-b");
  peers_[0].prefix_list_v4 = "MISSING";
  engine_.set_config(lists_, peers_);
  ExpectRule(kB, "198.18.2.16/28", Verdict::kRefuse, Rule::kNoPrefixList,
             "prefix-list MISSING (ipv4) is not defined");
  // Names are per family: an ipv4 list named like an ipv6 one is a different list.
  peers_[0].prefix_list_v4 = "SITE-C6";
  engine_.set_config(lists_, peers_);
  ExpectRule(kB, "198.18.2.16/28", Verdict::kRefuse, Rule::kNoPrefixList,
             "prefix-list SITE-C6 (ipv4) is not defined");
}

TEST_F(EngineTest, PrefixListDenyImplicitDenyAndSeqOrder) {
  ExpectRule(kD, "198.18.4.128/25", Verdict::kRefuse, Rule::kPrefixListDeny,
             "prefix-list SITE-D seq 5 deny 198.18.4.128/25");
  ExpectRule(kD, "198.18.4.0/25", Verdict::kAccept, Rule::kPrefixListPermit,
             "prefix-list SITE-D seq 10 permit 198.18.4.0/24 le 25");
  ExpectRule(kD, "198.18.4.0/26", Verdict::kRefuse, Rule::kImplicitDeny,
             "implicit deny (prefix-list SITE-D)");
  ExpectRule(kC, "198.18.3.0/25", Verdict::kRefuse, Rule::kImplicitDeny,
             "implicit deny (prefix-list SITE-C)");
  ExpectRule(kC, "2001:db8:103:5::/64", Verdict::kAccept, Rule::kPrefixListPermit,
             "prefix-list SITE-C6 seq 10 permit 2001:db8:103::/48 le 64");
  // Lists built by code out of order are evaluated by seq: moving the deny behind the permit
  // lets the /25 through.
  std::vector<PrefixList> lists = lists_;
  for (auto& l : lists)
    if (l.name == "SITE-D") {
      l.entries[0].seq = 20;
      EXPECT_GT(l.entries[0].seq, l.entries[1].seq);  // now unsorted on purpose
    }
  auto cs = engine_.set_config(lists, peers_);
  EXPECT_EQ(Show(cs), "+4 198.18.4.128/25;");
  EXPECT_EQ(engine_.entries(kD)[0].decision.detail,
            "prefix-list SITE-D seq 10 permit 198.18.4.0/24 le 25");
}

TEST_F(EngineTest, EvaluationOrderFirstRefusalWins) {
  peers_[1].prefix_list_v4 = "";
  ASSERT_TRUE(engine_.set_config(lists_, peers_).empty());
  // Covers an endpoint AND a local address AND has no list: endpoint comes first.
  EXPECT_EQ(Offer(kC, "198.51.100.0/24").rule, Rule::kCoversEndpoint);
  // Covers a local address and has no list.
  EXPECT_EQ(Offer(kC, "203.0.113.0/30").rule, Rule::kCoversLocal);
  // Hijack and no list.
  EXPECT_EQ(Offer(kC, "198.18.2.0/25").rule, Rule::kHijack);
  // Default route beats everything but the unknown peer.
  EXPECT_EQ(Offer(kC, "0.0.0.0/0").rule, Rule::kDefaultRoute);
  EXPECT_EQ(Offer(kStranger, "0.0.0.0/0").rule, Rule::kUnknownPeer);
  // Owned beats the prefix-list: site-d's deny would also refuse it.
  peers_[1].prefix_list_v4 = "OPEN";
  engine_.set_config(lists_, peers_);
  Offer(kC, "198.18.4.128/25");
  EXPECT_EQ(Offer(kD, "198.18.4.128/25").rule, Rule::kOwnedByPeer);
  // Deny beats max-prefixes.
  peers_[2].max_prefixes = 1;
  engine_.set_config(lists_, peers_);
  EXPECT_EQ(Offer(kD, "198.18.4.0/24").verdict, Verdict::kAccept);
  EXPECT_EQ(Offer(kD, "198.18.4.0/25").rule, Rule::kMaxPrefixes);
  EXPECT_EQ(Offer(kD, "198.18.4.0/26").rule, Rule::kImplicitDeny);
}

TEST_F(EngineTest, MaxPrefixesAndWithdrawInOfferOrder) {
  peers_[0].max_prefixes = 2;
  peers_[0].warn_prefixes = 1;
  engine_.set_config(lists_, peers_);
  EXPECT_EQ(Offer(kB, "198.18.2.0/28").verdict, Verdict::kAccept);
  EXPECT_EQ(engine_.take_warnings(),
            std::vector<std::string>{
                "peer site-b: 1 prefixes accepted or pending, warn-prefixes 1 (max-prefixes 2)"});
  EXPECT_EQ(Offer(kB, "198.18.2.16/28").verdict, Verdict::kAccept);
  EXPECT_EQ(engine_.take_warnings(),
            std::vector<std::string>{
                "peer site-b: max-prefixes 2 reached, further prefixes are refused"});
  ExpectRule(kB, "198.18.2.32/28", Verdict::kRefuse, Rule::kMaxPrefixes, "max-prefixes 2 reached");
  ExpectRule(kB, "198.18.2.48/28", Verdict::kRefuse, Rule::kMaxPrefixes, "max-prefixes 2 reached");
  EXPECT_TRUE(engine_.take_warnings().empty()) << "warned once per crossing";
  // Re-offering an accepted prefix does not count twice.
  EXPECT_EQ(Offer(kB, "198.18.2.0/28").verdict, Verdict::kAccept);
  EXPECT_TRUE(last_.empty());
  EXPECT_EQ(engine_.counters(kB).accepted, 2u);
  EXPECT_EQ(engine_.counters(kB).offered, 5u);
  EXPECT_EQ(engine_.counters(kB).refused_by_rule.at(Rule::kMaxPrefixes), 2u);
  // A withdrawal frees one slot: the earliest refused offer gets it.
  std::vector<Change> cs;
  engine_.withdraw(kB, P("198.18.2.16/28"), cs);
  EXPECT_EQ(Show(cs), "-2 198.18.2.16/28;+2 198.18.2.32/28;");
  EXPECT_EQ(engine_.entries(kB).back().decision.rule, Rule::kMaxPrefixes);
  // Withdrawing a refused prefix changes nothing else.
  cs.clear();
  engine_.withdraw(kB, P("198.18.2.48/28"), cs);
  EXPECT_TRUE(cs.empty());
  // Raising the limit in a reload installs what waits, nothing else.
  Offer(kB, "198.18.2.64/28");
  peers_[0].max_prefixes = 0;
  EXPECT_EQ(Show(engine_.set_config(lists_, peers_)), "+2 198.18.2.64/28;");
  // Lowering it keeps the earliest holders.
  peers_[0].max_prefixes = 1;
  EXPECT_EQ(Show(engine_.set_config(lists_, peers_)), "-2 198.18.2.32/28;-2 198.18.2.64/28;");
  EXPECT_EQ(engine_.accepted(kB), (std::set<IpPrefix>{P("198.18.2.0/28")}));
}

TEST_F(EngineTest, ApprovalFlow) {
  peers_[1].require_approval = true;
  engine_.set_config(lists_, peers_);
  ExpectRule(kC, "198.18.3.0/24", Verdict::kPending, Rule::kApprovalPending,
             "prefix-list SITE-C seq 10 permit 198.18.3.0/24; waiting for approval");
  EXPECT_TRUE(last_.empty());
  EXPECT_EQ(engine_.counters(kC).pending, 1u);
  // Pending holds the prefix against other peers.
  peers_[2].prefix_list_v4 = "OPEN";
  engine_.set_config(lists_, peers_);
  EXPECT_EQ(engine_.evaluate(kD, P("198.18.3.0/24")).rule, Rule::kOwnedByPeer);
  std::vector<Change> cs;
  EXPECT_FALSE(engine_.approve(kC, P("198.18.30.0/24"), cs)) << "never offered";
  auto d = engine_.approve(kC, P("198.18.3.0/24"), cs);
  ASSERT_TRUE(d);
  EXPECT_EQ(d->verdict, Verdict::kAccept);
  EXPECT_EQ(d->rule, Rule::kApproved);
  EXPECT_EQ(d->detail, "prefix-list SITE-C seq 10 permit 198.18.3.0/24; approved by operator");
  EXPECT_EQ(Show(cs), "+3 198.18.3.0/24;");
  EXPECT_EQ(engine_.decision(kC, P("198.18.3.0/24"))->rule, Rule::kApproved);
  EXPECT_FALSE(engine_.decision(kC, P("198.18.30.0/24")));
  EXPECT_FALSE(engine_.decision(kD, P("198.18.3.0/24")));
  cs.clear();
  EXPECT_FALSE(engine_.approve(kC, P("198.18.3.0/24"), cs)) << "no longer pending";
  // The approval survives a withdraw and re-offer, and a reload.
  engine_.withdraw(kC, P("198.18.3.0/24"), cs);
  EXPECT_EQ(Offer(kC, "198.18.3.0/24").rule, Rule::kApproved);
  EXPECT_EQ(Show(last_), "+3 198.18.3.0/24;");
  EXPECT_TRUE(engine_.set_config(lists_, peers_).empty());
  // Approval does not override the list.
  EXPECT_EQ(Offer(kC, "198.18.3.0/25").rule, Rule::kImplicitDeny);
  EXPECT_FALSE(engine_.approve(kC, P("198.18.3.0/25"), cs));
}

TEST_F(EngineTest, ReloadReturnsExactlyTheDifferences) {
  Offer(kB, "198.18.2.0/28");
  Offer(kC, "198.18.3.0/24");
  Offer(kC, "198.18.31.0/24");  // implicit deny today
  Offer(kD, "198.18.4.0/24");
  ASSERT_EQ(engine_.accepted(kC).size(), 1u);
  // Adding a permit installs exactly the prefix it permits.
  auto lists = lists_;
  ASSERT_TRUE(
      parse_prefix_list_line("ip prefix-list SITE-C seq 30 permit 198.18.31.0/24", lists).ok());
  EXPECT_EQ(Show(engine_.set_config(lists, peers_)), "+3 198.18.31.0/24;");
  EXPECT_EQ(engine_.entries(kC)[1].decision.detail,
            "prefix-list SITE-C seq 30 permit 198.18.31.0/24");
  // The same configuration again changes nothing.
  EXPECT_TRUE(engine_.set_config(lists, peers_).empty());
  // Removing an entry revokes exactly what it permitted.
  for (auto& l : lists)
    if (l.name == "SITE-C") std::erase_if(l.entries, [](const auto& e) { return e.seq == 10; });
  auto cs = engine_.set_config(lists, peers_);
  EXPECT_EQ(Show(cs), "-3 198.18.3.0/24;");
  ASSERT_EQ(cs.size(), 1u);
  EXPECT_EQ(cs[0].decision.rule, Rule::kImplicitDeny);
  // Removing a peer from the configuration revokes all of its imports.
  peers_.erase(peers_.begin());
  EXPECT_EQ(Show(engine_.set_config(lists, peers_)), "-2 198.18.2.0/28;");
}

TEST_F(EngineTest, ReloadKeepsCurrentHolders) {
  // site-d offers first but is refused by its list; site-c then takes the prefix.
  EXPECT_EQ(Offer(kD, "198.18.3.0/24").rule, Rule::kImplicitDeny);
  EXPECT_EQ(Offer(kC, "198.18.3.0/24").verdict, Verdict::kAccept);
  // Now site-d's list permits it too: the holder keeps it, site-d is refused as owned.
  peers_[2].prefix_list_v4 = "OPEN";
  EXPECT_TRUE(engine_.set_config(lists_, peers_).empty());
  EXPECT_EQ(engine_.entries(kD)[0].decision.rule, Rule::kOwnedByPeer);
}

TEST_F(EngineTest, FactsChangeRevokesAndRestores) {
  Offer(kB, "198.18.2.0/28");
  Offer(kB, "198.18.2.16/28");
  Facts f = facts_;
  f.local_addresses.push_back(A("198.18.2.17"));
  auto cs = engine_.set_facts(f);
  EXPECT_EQ(Show(cs), "-2 198.18.2.16/28;");
  ASSERT_EQ(cs.size(), 1u);
  EXPECT_EQ(cs[0].decision.detail, "covers local address 198.18.2.17");
  // An endpoint moving into an accepted prefix revokes it as well.
  f.peer_endpoints[kC] = {A("198.18.2.5")};
  EXPECT_EQ(Show(engine_.set_facts(f)), "-2 198.18.2.0/28;");
  EXPECT_EQ(engine_.entries(kB)[0].decision.detail, "covers endpoint 198.18.2.5 of peer site-c");
  // Back to the original facts: both come back, in offer order.
  EXPECT_EQ(Show(engine_.set_facts(facts_)), "+2 198.18.2.0/28;+2 198.18.2.16/28;");
}

TEST_F(EngineTest, FactsStaticOfPeerBecomingEqualIsLeftToConfiguration) {
  Offer(kB, "198.18.2.16/28");
  EXPECT_EQ(Show(last_), "+2 198.18.2.16/28;");
  Facts f = facts_;
  f.static_allowed_ips[kB].push_back(P("198.18.2.16/28"));
  EXPECT_TRUE(engine_.set_facts(f).empty()) << "configuration now owns it; no removal";
  EXPECT_FALSE(engine_.entries(kB)[0].installed);
  EXPECT_EQ(Show(engine_.set_facts(facts_)), "+2 198.18.2.16/28;") << "an import again";
}

TEST_F(EngineTest, HostBitsAndInvalidLengths) {
  Offer(kB, "198.18.2.17/28");
  EXPECT_EQ(Show(last_), "+2 198.18.2.16/28;");
  std::vector<Change> cs;
  engine_.withdraw(kB, P("198.18.2.18/28"), cs);
  EXPECT_EQ(Show(cs), "-2 198.18.2.16/28;");
  IpPrefix bad = P("198.18.2.0/24");
  bad.len = 40;
  EXPECT_EQ(engine_.offer(kB, bad, cs).verdict, Verdict::kRefuse);
  EXPECT_TRUE(engine_.entries(kB).empty());
}

TEST_F(EngineTest, CodeBuiltListsMergeAndAnyTakesTheListFamily) {
  PrefixList v6{"CODE6", IpAddr::Family::V6, {}};
  PrefixListEntry any;
  any.seq = 10;
  any.action = Action::kPermit;
  any.any = true;  // prefix left at its IPv4 default
  v6.entries.push_back(any);
  PrefixList deny{"CODE6", IpAddr::Family::V6, {}};  // same name again: merged, sorted by seq
  PrefixListEntry d;
  d.seq = 5;
  d.action = Action::kDeny;
  d.prefix = P("2001:db8:100::/40");
  d.le = 128;
  deny.entries.push_back(d);
  lists_.push_back(v6);
  lists_.push_back(deny);
  peers_[0].prefix_list_v6 = "CODE6";
  engine_.set_config(lists_, peers_);
  ExpectRule(kB, "2001:db8:200::/48", Verdict::kAccept, Rule::kPrefixListPermit,
             "prefix-list CODE6 seq 10 permit any");
  ExpectRule(kB, "2001:db8:100::/48", Verdict::kRefuse, Rule::kPrefixListDeny,
             "prefix-list CODE6 seq 5 deny 2001:db8:100::/40 le 128");
}

TEST_F(EngineTest, DecisionToStringAndRuleNames) {
  Decision d = Offer(kC, "198.18.3.0/24");
  EXPECT_EQ(
      d.to_string(P("198.18.3.0/24"), "site-c"),
      "accept 198.18.3.0/24 from peer site-c: prefix-list SITE-C seq 10 permit 198.18.3.0/24");
  EXPECT_EQ(rule_name(Rule::kUnknownPeer), "unknown-peer");
  EXPECT_EQ(rule_name(Rule::kHijack), "hijack");
  EXPECT_EQ(rule_name(Rule::kApproved), "approved");
  std::set<std::string_view> names;
  for (int r = 0; r <= int(Rule::kApproved); ++r) names.insert(rule_name(Rule(r)));
  EXPECT_EQ(names.size(), std::size_t(Rule::kApproved) + 1) << "names are distinct";
}

TEST_F(EngineTest, CopiesAreIndependent) {
  Offer(kC, "198.18.3.0/24");
  Engine copy = engine_;
  std::vector<Change> cs;
  copy.withdraw(kC, P("198.18.3.0/24"), cs);
  EXPECT_EQ(cs.size(), 1u);
  EXPECT_EQ(engine_.accepted(kC).size(), 1u);
  EXPECT_TRUE(copy.accepted(kC).empty());
  EXPECT_EQ(engine_.peer(kC)->name, "site-c");
  EXPECT_EQ(engine_.peers().size(), 3u);
  EXPECT_EQ(engine_.peer(kStranger), nullptr);
}

// Random operations: applying every returned Change to a model of the AllowedIPs must always
// give exactly the engine's installed set, no prefix is ever installed for two peers, limits
// hold, and the same operations give the same results twice.
TEST(EngineRandomized, ChangesReproduceInstalledStateAndAreDeterministic) {
  auto run = [](std::uint64_t seed) {
    std::mt19937_64 rng(seed);
    std::vector<PrefixList> lists = Lists({
        "ip prefix-list L1 seq 10 deny 198.18.0.0/26 le 32",
        "ip prefix-list L1 seq 20 permit 198.18.0.0/24 le 30",
        "ip prefix-list L2 permit 198.18.0.0/23 ge 25",
    });
    std::vector<PeerPolicy> peers;
    for (std::uint8_t k = 1; k <= 4; ++k) {
      PeerPolicy p = Peer(K(k), "p" + std::to_string(k), k % 2 ? "L1" : "L2");
      p.max_prefixes = k * 3;
      p.require_approval = k == 4;
      peers.push_back(p);
    }
    Engine e;
    std::string log;
    std::map<IpPrefix, Key> model;  // what the device would hold
    auto apply = [&](const std::vector<Change>& cs) {
      for (const auto& c : cs) {
        log += Show({c});
        if (c.install) {
          EXPECT_EQ(model.count(c.prefix), 0u) << "installed twice: " << c.prefix.to_string();
          model[c.prefix] = c.peer;
        } else {
          auto it = model.find(c.prefix);
          EXPECT_TRUE(it != model.end() && it->second == c.peer) << c.prefix.to_string();
          if (it != model.end()) model.erase(it);
        }
      }
    };
    apply(e.set_config(lists, peers));
    for (int step = 0; step < 3000; ++step) {
      const Key k = K(std::uint8_t(1 + rng() % 4));
      // Lengths 24..30 except the statics' 28, so an offer is never equal to a static prefix.
      static constexpr std::uint8_t kLens[] = {24, 25, 26, 27, 29, 30};
      const IpPrefix p =
          IpPrefix{IpAddr::v4(0xc6120000u | std::uint32_t(rng() % 512)), kLens[rng() % 6]}
              .canonical();
      std::vector<Change> cs;
      switch (rng() % 10) {
        case 0:
        case 1:
        case 2:
        case 3:
          e.offer(k, p, cs);
          break;
        case 4:
        case 5:
          e.withdraw(k, p, cs);
          break;
        case 6: {
          auto entries = e.entries(K(4));
          if (!entries.empty()) e.approve(K(4), entries[rng() % entries.size()].prefix, cs);
          break;
        }
        case 7: {
          Facts f;
          f.local_addresses.push_back(IpAddr::v4(0xc6120000u | std::uint32_t(rng() % 512)));
          f.static_allowed_ips[K(1 + rng() % 4)].push_back(
              IpPrefix{IpAddr::v4(0xc6120000u | std::uint32_t(rng() % 512)), 28}.canonical());
          cs = e.set_facts(f);
          break;
        }
        case 8: {
          auto& pl = peers[rng() % peers.size()];
          pl.max_prefixes = std::uint32_t(rng() % 8);
          cs = e.set_config(lists, peers);
          break;
        }
        default: {
          auto entries = e.entries(k);
          if (!entries.empty()) e.withdraw(k, entries[rng() % entries.size()].prefix, cs);
        }
      }
      apply(cs);
      // The installed set equals the model; limits and exclusivity hold.
      std::map<IpPrefix, Key> installed;
      for (std::uint8_t kk = 1; kk <= 4; ++kk) {
        std::size_t active = 0;
        for (const auto& en : e.entries(K(kk))) {
          if (en.installed) installed[en.prefix] = K(kk);
          if (en.decision.verdict != Verdict::kRefuse) ++active;
        }
        const auto* pol = e.peer(K(kk));
        if (pol->max_prefixes) {
          EXPECT_LE(active, pol->max_prefixes);
        }
      }
      EXPECT_EQ(installed.size(), model.size()) << "step " << step;
      for (const auto& [pfx, owner] : installed)
        EXPECT_TRUE(model.count(pfx) && model[pfx] == owner);
      if (::testing::Test::HasFailure()) break;
    }
    for (std::uint8_t kk = 1; kk <= 4; ++kk)
      for (const auto& en : e.entries(K(kk)))
        log += en.prefix.to_string() + std::string(rule_name(en.decision.rule)) + ";";
    return log;
  };
  const std::string a = run(42), b = run(42), c = run(43);
  EXPECT_EQ(a, b);
  EXPECT_NE(a, c);
  EXPECT_GT(a.size(), 1000u);
}

}  // namespace
}  // namespace wgcore::routing::policy
