// wgcore::Tunnel as an application uses it: two tunnels in one process on a manual clock, their
// datagrams carried by the test (an application's own transport), through the public header only
// (wgcore/tunnel.hpp) plus the test helpers for keys and packets.
#include "wgcore/tunnel.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <deque>
#include <map>
#include <string>
#include <vector>

#include "core/testing/fakes.hpp"
#include "embed/test_peers.hpp"
#include "testing/packets.hpp"

namespace wgcore {
namespace {

using namespace std::chrono_literals;
using fakes::public_key_of;
using fakes::seeded_private_key;

struct Datagram {
  Endpoint to;
  std::vector<std::uint8_t> bytes;
};

// One side: what its Tunnel hands out, recorded.
struct Side : TunnelHandler {
  std::deque<Datagram> out;  // to the transport
  std::vector<std::vector<std::uint8_t>> delivered;
  std::vector<std::pair<Key, TunnelEvent>> events;
  int null_peer_sends = 0;
  void send_datagram(const Key* peer, const Endpoint& to, std::span<const std::uint8_t> d) override {
    if (!peer) ++null_peer_sends;
    out.push_back({to, {d.begin(), d.end()}});
  }
  void deliver(const Key&, std::span<const std::uint8_t> p) override { delivered.emplace_back(p.begin(), p.end()); }
  void on_event(const Key& peer, TunnelEvent e) override { events.emplace_back(peer, e); }
  int count(TunnelEvent e) const {
    return int(std::count_if(events.begin(), events.end(), [&](const auto& x) { return x.second == e; }));
  }
};

const Endpoint kEpA = *Endpoint::parse("192.0.2.1:51820");
const Endpoint kEpB = *Endpoint::parse("192.0.2.2:51820");

class TunnelTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto a = Tunnel::create(priv_a_, side_a_, {.manual_time = true});
    auto b = Tunnel::create(priv_b_, side_b_, {.manual_time = true});
    ASSERT_TRUE(a && b);
    a_ = std::move(*a);
    b_ = std::move(*b);
    tick(0s);
    ASSERT_TRUE(a_->apply(peer(pub_b_, "10.0.0.2/32", kEpB)));
    ASSERT_TRUE(b_->apply(peer(pub_a_, "10.0.0.1/32", std::nullopt)));
  }

  static DeviceUpdate peer(const Key& k, const char* allowed, std::optional<Endpoint> ep) {
    return embed_testing::one_peer(k, allowed, ep);
  }

  // Both clocks to t (wall time well past the epoch: handshake timestamps must increase).
  void tick(std::chrono::nanoseconds d) {
    now_ += d;
    ASSERT_TRUE(a_->set_time(now_, 1'700'000'000s + now_));
    ASSERT_TRUE(b_->set_time(now_, 1'700'000'000s + now_));
    a_->process();
    b_->process();
  }

  // Carries datagrams both ways until none is left; A's leave from `from_a` (B sees that).
  void pump(Endpoint from_a = kEpA, bool drop_b = false) {
    for (int i = 0; i < 100 && (!side_a_.out.empty() || !side_b_.out.empty()); ++i) {
      while (!side_a_.out.empty()) {
        Datagram d = std::move(side_a_.out.front());
        side_a_.out.pop_front();
        if (d.to == kEpB) b_->receive(d.bytes, from_a);
      }
      while (!side_b_.out.empty()) {
        Datagram d = std::move(side_b_.out.front());
        side_b_.out.pop_front();
        if (!drop_b) a_->receive(d.bytes, kEpB);
      }
    }
  }

  static std::vector<std::uint8_t> packet(const char* src, const char* dst, std::size_t payload = 64) {
    return testing_support::make_udp_packet(*Endpoint::parse(src), *Endpoint::parse(dst), std::string(payload, 'z'));
  }
  std::vector<std::uint8_t> a_to_b(std::size_t payload = 64) { return packet("10.0.0.1:1000", "10.0.0.2:2000", payload); }
  std::vector<std::uint8_t> b_to_a(std::size_t payload = 64) { return packet("10.0.0.2:2000", "10.0.0.1:1000", payload); }

  Key priv_a_ = seeded_private_key(1), priv_b_ = seeded_private_key(2);
  Key pub_a_ = public_key_of(priv_a_), pub_b_ = public_key_of(priv_b_);
  Side side_a_, side_b_;
  std::unique_ptr<Tunnel> a_, b_;
  std::chrono::nanoseconds now_{1s};
};

TEST_F(TunnelTest, TwoTunnelsExchangePacketsBothWays) {
  auto p = a_to_b();
  a_->send(p);
  pump();
  ASSERT_EQ(side_b_.delivered.size(), 1u);
  EXPECT_EQ(side_b_.delivered[0], p);
  auto q = b_to_a(200);
  b_->send(q);
  pump();
  ASSERT_EQ(side_a_.delivered.size(), 1u);
  EXPECT_EQ(side_a_.delivered[0], q);
  EXPECT_EQ(side_a_.count(TunnelEvent::kHandshakeCompleted), 1);
  EXPECT_EQ(side_b_.count(TunnelEvent::kHandshakeCompleted), 1);
  // B learned A's endpoint from the handshake: an endpoint change from none.
  EXPECT_EQ(side_b_.count(TunnelEvent::kEndpointChanged), 1);
  // Batches too.
  std::vector<std::vector<std::uint8_t>> many;
  for (int i = 0; i < 10; ++i) many.push_back(a_to_b(100 + i));
  std::vector<std::span<const std::uint8_t>> spans(many.begin(), many.end());
  a_->send(spans);
  std::vector<Datagram> wire(side_a_.out.begin(), side_a_.out.end());
  side_a_.out.clear();
  ASSERT_EQ(wire.size(), 10u);
  std::vector<std::span<std::uint8_t>> in;
  std::vector<Endpoint> from(wire.size(), kEpA);
  for (auto& d : wire) in.emplace_back(d.bytes);
  // Fewer sources than datagrams: the ones without a source are not taken.
  b_->receive(std::span(in).first(2), std::span(from).first(1));
  ASSERT_EQ(side_b_.delivered.size(), 2u);
  EXPECT_TRUE(*b_->state().peers[0].endpoint == kEpA) << "a datagram without a source moved the endpoint";
  b_->receive(std::span(in).subspan(2), std::span(from).subspan(2));
  ASSERT_EQ(side_b_.delivered.size(), 10u) << "1 + 1 + the last 8: the one without a source was dropped";
  EXPECT_EQ(side_b_.delivered.back(), many.back());
  // Statistics and the public key through state().
  auto s = a_->state();
  ASSERT_EQ(s.peers.size(), 1u);
  EXPECT_TRUE(s.peers[0].public_key == pub_b_);
  EXPECT_GT(s.peers[0].tx_bytes, 1000u);
  EXPECT_GT(s.peers[0].last_handshake_time_sec, 1'700'000'000);
  EXPECT_TRUE(a_->public_key() == pub_a_);
}

TEST_F(TunnelTest, UnroutedPacketsAndForeignSourcesAreDroppedAndCounted) {
  a_->send(packet("10.0.0.1:1000", "10.9.9.9:2000"));
  EXPECT_TRUE(side_a_.out.empty());
  auto s = a_->state();
  ASSERT_FALSE(s.drops.empty());
  EXPECT_EQ(s.drops[0].first, "no_route");
  // B's tunnel delivers only what A's AllowedIPs at B permit: a packet from 10.0.0.9 is not A's.
  a_->send(a_to_b());
  pump();
  ASSERT_TRUE(a_->apply(peer(pub_b_, "10.0.0.9/32", std::nullopt)));  // A may send to 10.0.0.9 via B
  a_->send(packet("10.0.0.9:1", "10.0.0.2:2"));
  pump();
  EXPECT_EQ(side_b_.delivered.size(), 1u) << "a spoofed source got through";
  bool counted = false;
  const DeviceState sb = b_->state();
  for (const auto& [reason, n] : sb.peers[0].drops) counted = counted || (reason == "allowedips_source_mismatch" && n == 1);
  EXPECT_TRUE(counted);
}

TEST_F(TunnelTest, EndpointChangedWhenThePeerRoams) {
  a_->send(a_to_b());
  pump();
  const int before = side_b_.count(TunnelEvent::kEndpointChanged);
  const Endpoint roamed = *Endpoint::parse("198.51.100.7:4000");
  a_->send(a_to_b());
  pump(roamed);
  EXPECT_EQ(side_b_.count(TunnelEvent::kEndpointChanged), before + 1);
  EXPECT_TRUE(*b_->state().peers[0].endpoint == roamed);
  b_->send(b_to_a());
  ASSERT_FALSE(side_b_.out.empty());
  EXPECT_TRUE(side_b_.out.back().to == roamed) << "replies go to the new endpoint";
  side_b_.out.clear();
  a_->send(a_to_b());
  pump(roamed);
  EXPECT_EQ(side_b_.count(TunnelEvent::kEndpointChanged), before + 1) << "same endpoint: no event";
}

TEST_F(TunnelTest, PeerWentQuietThenHandshakeGaveUpThenKeysZeroed) {
  a_->send(a_to_b());
  pump();
  ASSERT_EQ(side_a_.count(TunnelEvent::kHandshakeCompleted), 1);
  // B goes silent: A's data gets no answer for KEEPALIVE + REKEY_TIMEOUT (15 s).
  a_->send(a_to_b());
  side_a_.out.clear();
  for (int i = 0; i < 20; ++i) tick(1s);
  EXPECT_EQ(side_a_.count(TunnelEvent::kPeerWentQuiet), 1);
  // Its new handshakes go unanswered: it gives up after 20 retries (about 90 s).
  for (int i = 0; i < 130 && side_a_.count(TunnelEvent::kHandshakeGaveUp) == 0; ++i) {
    side_a_.out.clear();
    tick(1s);
  }
  EXPECT_EQ(side_a_.count(TunnelEvent::kHandshakeGaveUp), 1);
  // 540 s after the last session the keys go.
  for (int i = 0; i < 600 && side_a_.count(TunnelEvent::kKeysZeroed) == 0; ++i) {
    side_a_.out.clear();
    tick(1s);
  }
  EXPECT_EQ(side_a_.count(TunnelEvent::kKeysZeroed), 1);
  // 180 s after the session its keypair carried nothing more: told once, between the two.
  EXPECT_EQ(side_a_.count(TunnelEvent::kSessionExpired), 1);
  std::vector<TunnelEvent> order;
  for (const auto& [k, e] : side_a_.events) {
    EXPECT_TRUE(k == pub_b_) << to_string(e);
    if (e != TunnelEvent::kEndpointChanged) order.push_back(e);
  }
  EXPECT_EQ(order, (std::vector<TunnelEvent>{TunnelEvent::kHandshakeCompleted, TunnelEvent::kPeerWentQuiet,
                                             TunnelEvent::kHandshakeGaveUp, TunnelEvent::kSessionExpired,
                                             TunnelEvent::kKeysZeroed}));
}

// A session that is used is renewed before it expires (REKEY_AFTER_TIME, 120 s): no
// session-expired event while traffic flows; it comes 180 s after the last renewal once it stops.
TEST_F(TunnelTest, SessionExpiresOnlyWhenNotRenewed) {
  for (int i = 0; i < 400; ++i) {
    a_->send(a_to_b());
    b_->send(b_to_a());
    pump();
    tick(1s);
  }
  EXPECT_GE(side_a_.count(TunnelEvent::kHandshakeCompleted), 3);
  EXPECT_EQ(side_a_.count(TunnelEvent::kSessionExpired), 0);
  EXPECT_EQ(side_b_.count(TunnelEvent::kSessionExpired), 0);
  EXPECT_EQ(side_b_.delivered.size(), 400u);
  int seconds = 0;
  for (; seconds < 200 && side_a_.count(TunnelEvent::kSessionExpired) == 0; ++seconds) {
    side_a_.out.clear();
    side_b_.out.clear();
    tick(1s);
  }
  EXPECT_EQ(side_a_.count(TunnelEvent::kSessionExpired), 1);
  EXPECT_LE(seconds, 180) << "the last renewal was at most 120 s before the traffic stopped";
}

// A new preshared key at runtime: the session keeps running, the next handshake uses the new
// key; a key only one side has makes that handshake fail, so the key is really used.
TEST_F(TunnelTest, PresharedKeyReplacedWithoutDroppingTheSession) {
  auto set_psk = [](Tunnel& t, const Key& peer, std::uint8_t fill) {
    DeviceUpdate u;
    PeerUpdate p;
    p.public_key = peer;
    p.update_only = true;
    Key psk;
    for (std::size_t i = 0; i < psk.size(); ++i) psk[i] = fill;
    p.preshared_key = psk;
    u.peers.push_back(p);
    return t.apply(u);
  };
  ASSERT_TRUE(set_psk(*a_, pub_b_, 1) && set_psk(*b_, pub_a_, 1));
  a_->send(a_to_b());
  pump();
  ASSERT_EQ(side_b_.delivered.size(), 1u);
  // Both sides take a new key (as a key exchange beside WireGuard would feed it).
  ASSERT_TRUE(set_psk(*a_, pub_b_, 2) && set_psk(*b_, pub_a_, 2));
  a_->send(a_to_b());
  pump();
  EXPECT_EQ(side_b_.delivered.size(), 2u) << "the running session stopped";
  EXPECT_EQ(side_a_.count(TunnelEvent::kHandshakeCompleted), 1) << "no new handshake needed";
  // Past REKEY_AFTER_TIME (120 s) A's next send starts a handshake, with the new key: it works.
  for (int i = 0; i < 125; ++i) {
    tick(1s);
    pump();
  }
  a_->send(a_to_b());
  pump();
  EXPECT_EQ(side_a_.count(TunnelEvent::kHandshakeCompleted), 2);
  EXPECT_EQ(side_b_.delivered.size(), 3u);
  // Now only A changes its key: the following rekey fails at B.
  ASSERT_TRUE(set_psk(*a_, pub_b_, 3));
  for (int i = 0; i < 125; ++i) {
    tick(1s);
    pump();
  }
  a_->send(a_to_b());
  pump();
  EXPECT_EQ(side_a_.count(TunnelEvent::kHandshakeCompleted), 2) << "a handshake with a different key succeeded";
  // IKpsk2 mixes the key in at the response: A, the initiator, finds B's response invalid.
  bool refused = false;
  const DeviceState sa = a_->state();
  for (const auto& [reason, n] : sa.drops) refused = refused || (reason == "handshake_invalid" && n > 0);
  EXPECT_TRUE(refused);
}

// B admits initiators it was not configured with, by its own check (here: a list of keys).
struct Admitting : Side {
  std::vector<Key> welcome;
  int asked = 0;
  bool invalid_answer = false;
  std::optional<PeerUpdate> admit(const Key& initiator, const Endpoint&) override {
    ++asked;
    if (std::find(welcome.begin(), welcome.end(), initiator) == welcome.end()) return std::nullopt;
    PeerUpdate pu;
    pu.allowed_ips.push_back({AllowedIpOp::Kind::kAdd, *IpPrefix::parse("10.0.0.1/32")});
    if (invalid_answer) pu.protocol_version = 2;
    return pu;
  }
};

class AdmissionTest : public ::testing::Test {
 protected:
  void SetUp() override {
    a_ = Tunnel::create(priv_a_, side_a_, {.manual_time = true}).value();
    b_ = Tunnel::create(priv_b_, side_b_, {.manual_time = true, .admit_unknown = true}).value();
    ASSERT_TRUE(a_->set_time(1s, 1'700'000'000s));
    ASSERT_TRUE(b_->set_time(1s, 1'700'000'000s));
    ASSERT_TRUE(a_->apply(embed_testing::one_peer(pub_b_, "10.0.0.2/32", kEpB)));
  }
  // A's initiation (and whatever follows) to B; B's answers back to A.
  void exchange() {
    for (int i = 0; i < 10 && (!side_a_.out.empty() || !side_b_.out.empty()); ++i) {
      while (!side_a_.out.empty()) {
        auto d = std::move(side_a_.out.front());
        side_a_.out.pop_front();
        b_->receive(d.bytes, kEpA);
      }
      while (!side_b_.out.empty()) {
        auto d = std::move(side_b_.out.front());
        side_b_.out.pop_front();
        a_->receive(d.bytes, kEpB);
      }
    }
  }
  std::uint64_t b_drops(const char* reason) {
    const DeviceState s = b_->state();
    for (const auto& [r, n] : s.drops)
      if (r == reason) return n;
    return 0;
  }
  Key priv_a_ = seeded_private_key(1), priv_b_ = seeded_private_key(2);
  Key pub_a_ = public_key_of(priv_a_), pub_b_ = public_key_of(priv_b_);
  Side side_a_;
  Admitting side_b_;
  std::unique_ptr<Tunnel> a_, b_;
};

TEST_F(AdmissionTest, AnAdmittedInitiatorBecomesAPeerAndItsTrafficFlows) {
  side_b_.welcome.push_back(pub_a_);
  auto p = testing_support::make_udp_packet(*Endpoint::parse("10.0.0.1:1"), *Endpoint::parse("10.0.0.2:2"), "hi");
  a_->send(p);
  exchange();
  EXPECT_EQ(side_b_.asked, 1);
  ASSERT_EQ(side_b_.delivered.size(), 1u);
  EXPECT_EQ(side_b_.delivered[0], p);
  const DeviceState s = b_->state();
  ASSERT_EQ(s.peers.size(), 1u);
  EXPECT_TRUE(s.peers[0].public_key == pub_a_);
  EXPECT_TRUE(*s.peers[0].endpoint == kEpA) << "an endpoint left out becomes the initiation's source";
  ASSERT_EQ(s.peers[0].allowed_ips.size(), 1u);
  EXPECT_EQ(s.peers[0].allowed_ips[0].to_string(), "10.0.0.1/32");
  // The admitted peer is an ordinary peer now: B can remove it like any other.
  DeviceUpdate rm;
  rm.peers.push_back({.public_key = pub_a_, .remove = true});
  ASSERT_TRUE(b_->apply(rm));
  EXPECT_TRUE(b_->state().peers.empty());
}

// Load defence: B admits anyone on its list, but past 3 handshake messages in a second it asks
// for cookies first. Six initiators at once: three are admitted; the other three get cookie
// replies, no admit() call and no state. Their retries carry the cookie (mac2) and get in even
// while a flood keeps B under load.
TEST(AdmissionUnderLoad, CookiesBeforeAdmissionAndNoStateForTheUnproven) {
  const Key priv_b = seeded_private_key(2), pub_b = public_key_of(priv_b);
  Admitting side_b;
  auto b = Tunnel::create(priv_b, side_b, {.manual_time = true, .admit_unknown = true,
                                           .under_load_handshakes_per_second = 3}).value();
  constexpr int kN = 6;
  std::vector<Side> sides(kN);
  std::vector<std::unique_ptr<Tunnel>> in;
  std::vector<Key> pubs;
  std::vector<Endpoint> eps;
  std::chrono::nanoseconds now = 1s;
  auto set_all = [&] {
    ASSERT_TRUE(b->set_time(now, 1'700'000'000s + now));
    for (auto& t : in) ASSERT_TRUE(t->set_time(now, 1'700'000'000s + now));
  };
  for (int i = 0; i < kN; ++i) {
    const Key priv = seeded_private_key(std::uint8_t(10 + i));
    pubs.push_back(public_key_of(priv));
    side_b.welcome.push_back(pubs.back());
    eps.push_back(*Endpoint::parse("192.0.2." + std::to_string(10 + i) + ":51820"));
    in.push_back(Tunnel::create(priv, sides[i], {.manual_time = true}).value());
  }
  set_all();
  for (int i = 0; i < kN; ++i) {
    ASSERT_TRUE(in[i]->apply(embed_testing::one_peer(pub_b, "10.0.0.2/32", kEpB)));
    in[i]->send(testing_support::make_udp_packet(*Endpoint::parse("10.0.0.1:1"), *Endpoint::parse("10.0.0.2:2"), "hi"));
  }
  // Everything B sends goes to the initiator at that endpoint.
  auto carry_b = [&] {
    while (!side_b.out.empty()) {
      auto d = std::move(side_b.out.front());
      side_b.out.pop_front();
      for (int i = 0; i < kN; ++i)
        if (d.to == eps[i]) in[i]->receive(d.bytes, kEpB);
    }
  };
  std::vector<std::vector<std::uint8_t>> first(kN);
  for (int i = 0; i < kN; ++i) {
    ASSERT_EQ(sides[i].out.size(), 1u);
    first[i] = sides[i].out.front().bytes;
    sides[i].out.pop_front();
    auto copy = first[i];
    b->receive(copy, eps[i]);
  }
  EXPECT_EQ(side_b.asked, 3) << "only the handshakes under the limit reach admit()";
  EXPECT_EQ(b->state().peers.size(), 3u);
  EXPECT_EQ(side_b.null_peer_sends, 3) << "a cookie reply to each of the others";
  std::uint64_t cookie_required = 0;
  for (const auto& [r, n] : b->state().drops)
    if (r == "cookie_required") cookie_required = n;
  EXPECT_EQ(cookie_required, 3u);
  carry_b();
  for (int i = 0; i < 3; ++i) EXPECT_EQ(sides[i].count(TunnelEvent::kHandshakeCompleted), 1) << i;
  for (int i = 3; i < kN; ++i) EXPECT_EQ(sides[i].count(TunnelEvent::kHandshakeCompleted), 0) << i;

  // The three retry (REKEY_TIMEOUT) with the cookie. A flood of replays keeps B under load.
  now += 6s;
  set_all();
  for (auto& t : in) t->process();
  for (int k = 0; k < 4; ++k) {
    auto replay = first[0];
    b->receive(replay, eps[0]);
  }
  const int asked_before = side_b.asked;
  for (int i = 3; i < kN; ++i) {
    ASSERT_FALSE(sides[i].out.empty()) << i << " did not retry";
    while (!sides[i].out.empty()) {
      auto d = std::move(sides[i].out.front());
      sides[i].out.pop_front();
      b->receive(d.bytes, eps[i]);
    }
  }
  EXPECT_EQ(side_b.asked, asked_before + 3) << "a proven address reaches admit() under load";
  EXPECT_EQ(b->state().peers.size(), std::size_t(kN));
  carry_b();
  for (int i = 3; i < kN; ++i) EXPECT_EQ(sides[i].count(TunnelEvent::kHandshakeCompleted), 1) << i;
}

TEST_F(AdmissionTest, ARefusedInitiatorGetsNoResponseAndLeavesNothing) {
  a_->send(testing_support::make_udp_packet(*Endpoint::parse("10.0.0.1:1"), *Endpoint::parse("10.0.0.2:2"), "hi"));
  ASSERT_EQ(side_a_.out.size(), 1u);
  auto initiation = side_a_.out.front().bytes;
  exchange();
  EXPECT_EQ(side_b_.asked, 1);
  EXPECT_TRUE(side_b_.out.empty());
  EXPECT_EQ(side_b_.null_peer_sends, 0);
  EXPECT_TRUE(b_->state().peers.empty());
  EXPECT_EQ(b_drops("admission_refused"), 1u);
  EXPECT_FALSE(b_->next_deadline()) << "a refused initiator armed a timer";
  // An answer the tunnel cannot apply refuses as well.
  side_b_.welcome.push_back(pub_a_);
  side_b_.invalid_answer = true;
  auto again = initiation;
  b_->receive(again, kEpA);
  EXPECT_EQ(side_b_.asked, 2);
  EXPECT_TRUE(b_->state().peers.empty());
  EXPECT_EQ(b_drops("admission_refused"), 2u);
  // A tampered initiation is not even offered: mac1 fails first.
  auto bad = initiation;
  bad[60] ^= 1;
  b_->receive(bad, kEpA);
  EXPECT_EQ(side_b_.asked, 2);
  EXPECT_EQ(b_drops("bad_mac1"), 1u);
}

TEST(TunnelAdmission, WithoutTheOptionUnknownInitiatorsAreNeverOffered) {
  Side side_a;
  Admitting side_b;
  const Key priv_a = seeded_private_key(1), priv_b = seeded_private_key(2);
  auto a = Tunnel::create(priv_a, side_a).value();
  auto b = Tunnel::create(priv_b, side_b).value();
  side_b.welcome.push_back(public_key_of(priv_a));
  ASSERT_TRUE(a->apply(embed_testing::one_peer(public_key_of(priv_b), "10.0.0.2/32", kEpB)));
  a->send(testing_support::make_udp_packet(*Endpoint::parse("10.0.0.1:1"), *Endpoint::parse("10.0.0.2:2"), "hi"));
  ASSERT_EQ(side_a.out.size(), 1u);
  b->receive(side_a.out.front().bytes, kEpA);
  EXPECT_EQ(side_b.asked, 0);
  EXPECT_TRUE(side_b.out.empty());
  const DeviceState s = b->state();
  ASSERT_EQ(s.drops.size(), 1u);
  EXPECT_EQ(s.drops[0].first, "unknown_peer");
}

TEST(TunnelCreate, RefusesWhatATunnelCannotBe) {
  Side side;
  EXPECT_EQ(Tunnel::create(Key(), side).error().code, EINVAL);
  EXPECT_EQ(Tunnel::create(seeded_private_key(3), side, {.mtu = 100}).error().code, EINVAL);
  auto t = Tunnel::create(seeded_private_key(3), side);
  ASSERT_TRUE(t);
  DeviceUpdate u;
  u.listen_port = 51820;
  auto st = (*t)->apply(u);
  ASSERT_FALSE(st);
  EXPECT_NE(st.error().message.find("no sockets"), std::string::npos);
  u = {};
  u.private_key = Key();
  EXPECT_FALSE((*t)->apply(u)) << "removing the identity";
  u = {};
  PeerUpdate p;
  p.public_key = seeded_private_key(4);
  p.protocol_version = 2;
  u.peers.push_back(p);
  EXPECT_FALSE((*t)->apply(u)) << "protocol version 2";
  EXPECT_TRUE((*t)->state().peers.empty()) << "a refused update changed something";
  EXPECT_FALSE((*t)->set_time(1s, 1s)) << "set_time without manual_time";
}

}  // namespace
}  // namespace wgcore
