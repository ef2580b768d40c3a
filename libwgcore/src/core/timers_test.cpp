// Timer tests: every PeerTimers event arms or disarms exactly what timers.hpp (and the kernel's
// timers.c) says, the expiry helpers, and - through a one-peer Engine - the jitter bounds, the
// one-initiation-per-REKEY_TIMEOUT limit and giving up after MAX_TIMER_HANDSHAKES retries.
#include "core/timers.hpp"

#include <gtest/gtest.h>

#include <set>
#include <string>
#include <vector>

#include "core/engine.hpp"
#include "core/testing/fakes.hpp"

namespace wgcore {
namespace {

using namespace std::chrono_literals;
using TK = TimerKind;

constexpr TK kAll[] = {TK::kRetransmitHandshake, TK::kSendKeepalive, TK::kNewHandshake,
                       TK::kZeroKeyMaterial, TK::kPersistentKeepalive};

class TimersTest : public ::testing::Test {
 protected:
  // Which timers are armed, for "nothing else changed" checks.
  std::set<TK> armed() const {
    std::set<TK> s;
    for (TK k : kAll)
      if (t.pending(k)) s.insert(k);
    return s;
  }
  PeerTimers t;
  Time now = 5000s;
};

TEST_F(TimersTest, FreshTimersAreIdle) {
  EXPECT_EQ(armed(), std::set<TK>{});
  EXPECT_FALSE(t.next_deadline().has_value());
  EXPECT_EQ(t.handshake_attempts, 0);
  EXPECT_FALSE(t.need_another_keepalive);
  for (TK k : kAll) EXPECT_FALSE(t.take_if_due(k, now + 1000s));
}

TEST_F(TimersTest, DataSentArmsNewHandshakeOnlyIfIdle) {
  t.data_sent(now, 100ms);
  EXPECT_EQ(armed(), std::set<TK>{TK::kNewHandshake});
  // KEEPALIVE_TIMEOUT + REKEY_TIMEOUT + jitter: the peer had a keepalive's time to answer.
  EXPECT_EQ(t.deadline(TK::kNewHandshake), now + 15s + 100ms);
  // More data does not push it back: the peer must answer the first unanswered packet.
  t.data_sent(now + 3s, 0ms);
  EXPECT_EQ(t.deadline(TK::kNewHandshake), now + 15s + 100ms);
  // Any authenticated packet from the peer is the answer.
  t.any_authenticated_packet_received();
  EXPECT_FALSE(t.pending(TK::kNewHandshake));
  t.data_sent(now + 4s, 332ms);
  EXPECT_EQ(t.deadline(TK::kNewHandshake), now + 4s + 15s + 332ms);
}

TEST_F(TimersTest, DataReceivedArmsKeepaliveOrAsksForAnother) {
  t.data_received(now);
  EXPECT_EQ(armed(), std::set<TK>{TK::kSendKeepalive});
  EXPECT_EQ(t.deadline(TK::kSendKeepalive), now + proto::kKeepaliveTimeout);
  EXPECT_FALSE(t.need_another_keepalive);
  t.data_received(now + 2s);  // already pending: not moved, but another is owed afterwards
  EXPECT_EQ(t.deadline(TK::kSendKeepalive), now + 10s);
  EXPECT_TRUE(t.need_another_keepalive);
}

TEST_F(TimersTest, AnyPacketSentCancelsTheKeepaliveOnly) {
  t.data_received(now);
  t.data_sent(now, 0ms);
  t.handshake_initiated(now, 0ms);
  t.session_derived(now);
  t.any_authenticated_packet_traversal(now, 25);
  t.any_authenticated_packet_sent();  // our packet carries the acknowledgement
  EXPECT_EQ(armed(), (std::set<TK>{TK::kRetransmitHandshake, TK::kNewHandshake,
                                   TK::kZeroKeyMaterial, TK::kPersistentKeepalive}));
}

TEST_F(TimersTest, AnyPacketReceivedCancelsNewHandshakeOnly) {
  t.data_received(now);
  t.data_sent(now, 0ms);
  t.handshake_initiated(now, 0ms);
  t.session_derived(now);
  t.any_authenticated_packet_traversal(now, 25);
  t.any_authenticated_packet_received();
  EXPECT_EQ(armed(), (std::set<TK>{TK::kRetransmitHandshake, TK::kSendKeepalive,
                                   TK::kZeroKeyMaterial, TK::kPersistentKeepalive}));
}

TEST_F(TimersTest, TraversalRearmsPersistentKeepaliveWhenConfigured) {
  t.any_authenticated_packet_traversal(now, 0);
  EXPECT_FALSE(t.pending(TK::kPersistentKeepalive));
  t.any_authenticated_packet_traversal(now, 25);
  EXPECT_EQ(t.deadline(TK::kPersistentKeepalive), now + 25s);
  // Every packet in either direction pushes it back: the NAT mapping was just refreshed.
  t.any_authenticated_packet_traversal(now + 7s, 25);
  EXPECT_EQ(t.deadline(TK::kPersistentKeepalive), now + 32s);
  t.any_authenticated_packet_traversal(now + 8s, 65535);
  EXPECT_EQ(t.deadline(TK::kPersistentKeepalive), now + 8s + 65535s);
  // Interval 0 arms nothing (turning it off is the engine's disarm, not this event's).
  t.any_authenticated_packet_traversal(now + 9s, 0);
  EXPECT_EQ(t.deadline(TK::kPersistentKeepalive), now + 8s + 65535s);
  EXPECT_EQ(armed(), std::set<TK>{TK::kPersistentKeepalive});
}

TEST_F(TimersTest, HandshakeInitiatedArmsRetransmitWithJitter) {
  t.handshake_initiated(now, 0ms);
  EXPECT_EQ(armed(), std::set<TK>{TK::kRetransmitHandshake});
  EXPECT_EQ(t.deadline(TK::kRetransmitHandshake), now + proto::kRekeyTimeout);
  // Each initiation re-arms it from its own send time (mod_timer, not "if idle").
  t.handshake_initiated(now + 5s, 250ms);
  EXPECT_EQ(t.deadline(TK::kRetransmitHandshake), now + 10s + 250ms);
}

TEST_F(TimersTest, HandshakeCompleteStopsRetransmitsAndResetsAttempts) {
  t.handshake_initiated(now, 0ms);
  t.handshake_attempts = 7;
  t.data_received(now);
  t.handshake_complete();
  EXPECT_FALSE(t.pending(TK::kRetransmitHandshake));
  EXPECT_EQ(t.handshake_attempts, 0);
  EXPECT_TRUE(t.pending(TK::kSendKeepalive));
}

TEST_F(TimersTest, SessionDerivedArmsZeroKeyMaterial) {
  t.session_derived(now);
  EXPECT_EQ(armed(), std::set<TK>{TK::kZeroKeyMaterial});
  EXPECT_EQ(t.deadline(TK::kZeroKeyMaterial), now + 3 * proto::kRejectAfterTime);
  EXPECT_EQ(t.deadline(TK::kZeroKeyMaterial), now + 540s);
  t.session_derived(now + 100s);  // each new session pushes it back
  EXPECT_EQ(t.deadline(TK::kZeroKeyMaterial), now + 640s);
}

TEST_F(TimersTest, StopAllDisarmsEverything) {
  t.data_received(now);
  t.data_received(now);
  t.data_sent(now, 0ms);
  t.handshake_initiated(now, 0ms);
  t.session_derived(now);
  t.any_authenticated_packet_traversal(now, 1);
  ASSERT_EQ(armed().size(), kTimerKinds);
  ASSERT_TRUE(t.need_another_keepalive);
  t.stop_all();
  EXPECT_EQ(armed(), std::set<TK>{});
  EXPECT_FALSE(t.need_another_keepalive);
  EXPECT_FALSE(t.next_deadline().has_value());
  EXPECT_FALSE(t.session_expiry().has_value());
}

// The session expiry is told REJECT_AFTER_TIME after the newest session, once; a newer session
// moves it; a handshake that gave up (zero_key_material armed without a session) tells none.
TEST_F(TimersTest, SessionExpiryFollowsTheNewestSession) {
  EXPECT_FALSE(t.session_expiry().has_value());
  t.session_derived(now);
  EXPECT_EQ(t.session_expiry(), now + 180s);
  EXPECT_EQ(t.next_deadline(), now + 180s);
  t.session_derived(now + 120s);  // rekeyed
  EXPECT_EQ(t.session_expiry(), now + 300s);
  EXPECT_FALSE(t.take_session_expiry_if_due(now + 300s - 1ns));
  EXPECT_TRUE(t.take_session_expiry_if_due(now + 300s));
  EXPECT_FALSE(t.take_session_expiry_if_due(now + 301s)) << "told once";
  EXPECT_EQ(t.next_deadline(), now + 120s + 540s) << "then only the zeroing is left";
  EXPECT_TRUE(t.take_if_due(TK::kZeroKeyMaterial, now + 660s));

  PeerTimers gave_up;
  gave_up.arm(TK::kZeroKeyMaterial, now + 540s);
  EXPECT_FALSE(gave_up.session_expiry().has_value());
  EXPECT_FALSE(gave_up.take_session_expiry_if_due(now + 1000s));
}

TEST_F(TimersTest, TakeIfDueFiresOnceAtTheDeadline) {
  t.handshake_initiated(now, 0ms);
  Time due = now + 5s;
  EXPECT_FALSE(t.take_if_due(TK::kRetransmitHandshake, due - 1ns));
  EXPECT_TRUE(t.pending(TK::kRetransmitHandshake));
  EXPECT_FALSE(t.take_if_due(TK::kSendKeepalive, due));  // another kind: not armed
  EXPECT_TRUE(t.take_if_due(TK::kRetransmitHandshake, due));
  EXPECT_FALSE(t.pending(TK::kRetransmitHandshake));
  EXPECT_FALSE(t.take_if_due(TK::kRetransmitHandshake, due + 1s));
  // Late is still due.
  t.session_derived(now);
  EXPECT_TRUE(t.take_if_due(TK::kZeroKeyMaterial, now + 10000s));
}

TEST_F(TimersTest, NextDeadlineIsTheEarliest) {
  t.session_derived(now);                        // +180 s (session expiry), +540 s (zeroing)
  EXPECT_EQ(t.next_deadline(), now + 180s);
  t.any_authenticated_packet_traversal(now, 30);  // +30 s
  EXPECT_EQ(t.next_deadline(), now + 30s);
  t.data_sent(now, 1ms);  // +15.001 s
  EXPECT_EQ(t.next_deadline(), now + 15s + 1ms);
  t.data_received(now);  // +10 s
  EXPECT_EQ(t.next_deadline(), now + 10s);
  t.handshake_initiated(now, 2ms);  // +5.002 s
  EXPECT_EQ(t.next_deadline(), now + 5s + 2ms);
  t.handshake_complete();
  EXPECT_EQ(t.next_deadline(), now + 10s);
  t.disarm(TK::kSendKeepalive);
  EXPECT_EQ(t.next_deadline(), now + 15s + 1ms);
  t.arm(TK::kSendKeepalive, now - 1s);  // already due
  EXPECT_EQ(t.next_deadline(), now - 1s);
}

TEST_F(TimersTest, KindsPrintDistinctly) {
  std::set<std::string> names;
  for (TK k : kAll) {
    std::string n = to_string(k);
    EXPECT_NE(n, "?");
    names.insert(n);
  }
  EXPECT_EQ(names.size(), kTimerKinds);
}

// ---------------------------------------------------------------- through the engine

class CountingSink : public EngineSink {
 public:
  void send_to_peer(Peer&, std::span<const std::uint8_t> d) override {
    if (proto::classify(d.data(), d.size()) == proto::MessageType::kHandshakeInitiation)
      ++initiations;
    else
      ++others;
  }
  void send_to_endpoint(const Endpoint&, const Endpoint&, std::span<const std::uint8_t>) override {}
  void deliver(Peer&, std::span<const std::uint8_t>) override {}
  int initiations = 0;
  int others = 0;
};

// One device with one peer that never answers.
struct LonelyEngine {
  explicit LonelyEngine(std::uint64_t seed) : rng(seed), engine(clock, rng, sink) {
    Key priv, peer_pub;
    rng.fill(priv.span());
    rng.fill(peer_pub.span());
    engine.set_private_key(priv);
    peer = engine.add_peer(peer_pub);
    engine.set_endpoint(*peer, *Endpoint::parse("192.0.2.44:51820"));
  }
  fakes::ManualClock clock;
  fakes::SeededRandom rng;
  CountingSink sink;
  Engine engine;
  Peer* peer = nullptr;
};

TEST(TimersEngine, RetransmitJitterIsWithinZeroToAThirdOfASecond) {
  std::chrono::nanoseconds lo = 1h, hi = 0ns;
  for (std::uint64_t seed = 1; seed <= 200; ++seed) {
    LonelyEngine e(seed);
    ASSERT_NE(e.peer, nullptr);
    e.engine.initiate_handshake(*e.peer);
    ASSERT_EQ(e.sink.initiations, 1);
    auto d = e.peer->timers.deadline(TK::kRetransmitHandshake);
    ASSERT_TRUE(d.has_value());
    auto jitter = *d - e.clock.now() - proto::kRekeyTimeout;
    ASSERT_GE(jitter, 0ns) << seed;
    ASSERT_LT(jitter, proto::kRekeyTimeoutJitterMax) << seed;
    lo = std::min(lo, jitter);
    hi = std::max(hi, jitter);
    EXPECT_EQ(e.engine.next_timer(), d);
  }
  // It is really random, not a constant: 200 draws cover most of the range.
  EXPECT_LT(lo, 30ms);
  EXPECT_GT(hi, 300ms);
}

TEST(TimersEngine, AtMostOneInitiationPerRekeyTimeout) {
  LonelyEngine e(9);
  e.engine.initiate_handshake(*e.peer);
  e.clock.advance(proto::kRekeyTimeout - 1ns);
  e.engine.initiate_handshake(*e.peer);
  e.engine.send_keepalive(*e.peer);  // wants a session: would initiate, but rate-limited
  EXPECT_EQ(e.sink.initiations, 1);
  e.clock.advance(1ns);
  e.engine.initiate_handshake(*e.peer);
  EXPECT_EQ(e.sink.initiations, 2);
}

TEST(TimersEngine, RetransmitsThenGivesUpAndSchedulesZeroing) {
  LonelyEngine e(11);
  std::uint8_t ping[28] = {0x45};
  e.engine.send_to_peer(*e.peer, ping);  // staged, starts the first handshake
  ASSERT_EQ(e.sink.initiations, 1);
  ASSERT_EQ(e.peer->staged.size(), 1u);
  Time started = e.clock.now();
  // Run the timers until nothing but zero_key_material is left.
  for (int guard = 0; guard < 100 && e.peer->timers.pending(TK::kRetransmitHandshake); ++guard) {
    auto next = e.engine.next_timer();
    ASSERT_TRUE(next.has_value());
    e.clock.advance(*next - e.clock.now());
    e.engine.run_timers();
  }
  // The kernel's rule: retry while attempts <= MAX_TIMER_HANDSHAKES, so 1 + 19 initiations
  // spread over a bit more than REKEY_ATTEMPT_TIME.
  EXPECT_EQ(e.sink.initiations, proto::kMaxTimerHandshakes + 2);
  EXPECT_GE(e.clock.now() - started, 20 * proto::kRekeyTimeout);
  EXPECT_LT(e.clock.now() - started, 20 * (proto::kRekeyTimeout + proto::kRekeyTimeoutJitterMax));
  EXPECT_FALSE(e.peer->timers.pending(TK::kRetransmitHandshake));
  EXPECT_TRUE(e.peer->staged.empty());  // packets waiting for that session are dropped
  EXPECT_EQ(e.peer->timers.deadline(TK::kZeroKeyMaterial), e.clock.now() + 540s);
  // Nothing more is sent on its own.
  e.clock.advance(600s);
  e.engine.run_timers();
  EXPECT_EQ(e.sink.initiations, proto::kMaxTimerHandshakes + 2);
  // New traffic starts a fresh round of attempts.
  e.engine.send_to_peer(*e.peer, ping);
  EXPECT_EQ(e.sink.initiations, proto::kMaxTimerHandshakes + 3);
  EXPECT_EQ(e.peer->timers.handshake_attempts, 0);
}

}  // namespace
}  // namespace wgcore

namespace wgcore {
namespace {

// data_sent runs per data packet: the jitter (a random draw) must be taken only when the timer is
// armed, not on every packet.
TEST(PeerTimersLazy, DataSentDrawsJitterOnlyWhenArming) {
  PeerTimers t;
  int draws = 0;
  auto jitter = [&] {
    ++draws;
    return std::chrono::nanoseconds(std::chrono::milliseconds(100));
  };
  Time now{std::chrono::seconds(1)};
  for (int i = 0; i < 1000; ++i) t.data_sent_lazy(now, jitter);
  EXPECT_EQ(draws, 1);
  ASSERT_TRUE(t.pending(TimerKind::kNewHandshake));
  EXPECT_EQ(*t.deadline(TimerKind::kNewHandshake),
            now + proto::kKeepaliveTimeout + proto::kRekeyTimeout + std::chrono::milliseconds(100));
  t.any_authenticated_packet_received();  // disarms it
  t.data_sent_lazy(now, jitter);
  EXPECT_EQ(draws, 2);
}

}  // namespace
}  // namespace wgcore
