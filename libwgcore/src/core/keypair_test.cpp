// Keypair tests: the current/previous/next rotation exactly as the kernel's add_new_keypair()
// and wg_noise_received_with_keypair() do it, what gets dropped when, and the send/receive
// limits (REJECT_AFTER_TIME, REJECT_AFTER_MESSAGES).
#include "core/keypair.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <memory>
#include <vector>

#include "core/noise.hpp"
#include "core/testing/fakes.hpp"

namespace wgcore {
namespace {

using namespace std::chrono_literals;

class KeypairTest : public ::testing::Test {
 protected:
  KeypairPtr make(bool initiator) {
    SessionKeys k;
    rng.fill(k.sending.span());
    rng.fill(k.receiving.span());
    k.i_am_initiator = initiator;
    k.local_index = ++next_index;
    k.remote_index = 1000 + next_index;
    return std::make_shared<Keypair>(k, clock.now());
  }
  // Adds and returns what was dropped, so each step's drops are checked exactly.
  std::vector<Keypair*> add(const KeypairPtr& kp) {
    std::vector<KeypairPtr> dropped;
    set.add(kp, dropped);
    return raw(dropped);
  }
  std::vector<Keypair*> received(const KeypairPtr& kp, bool expect_promoted) {
    std::vector<KeypairPtr> dropped;
    EXPECT_EQ(set.received_with(kp.get(), dropped), expect_promoted);
    return raw(dropped);
  }
  static std::vector<Keypair*> raw(const std::vector<KeypairPtr>& v) {
    std::vector<Keypair*> out;
    for (const auto& p : v) out.push_back(p.get());
    return out;
  }
  void expect_slots(const KeypairPtr& current, const KeypairPtr& previous, const KeypairPtr& next) {
    EXPECT_EQ(set.current().get(), current.get());
    EXPECT_EQ(set.previous().get(), previous.get());
    EXPECT_EQ(set.next().get(), next.get());
  }

  fakes::ManualClock clock;
  fakes::SeededRandom rng{3};
  KeypairSet set;
  std::uint32_t next_index = 0;
  const KeypairPtr none;
  using V = std::vector<Keypair*>;
};

TEST_F(KeypairTest, ConstructionCopiesTheSession) {
  SessionKeys k;
  rng.fill(k.sending.span());
  rng.fill(k.receiving.span());
  k.i_am_initiator = true;
  k.local_index = 11;
  k.remote_index = 22;
  Keypair kp(k, clock.now());
  EXPECT_EQ(kp.sending_key, k.sending);
  EXPECT_EQ(kp.receiving_key, k.receiving);
  EXPECT_TRUE(kp.i_am_initiator);
  EXPECT_EQ(kp.local_index, 11u);
  EXPECT_EQ(kp.remote_index, 22u);
  EXPECT_EQ(kp.birthdate, clock.now());
  EXPECT_EQ(kp.sending_counter.load(), 0u);
  EXPECT_TRUE(kp.sending_valid);
  EXPECT_TRUE(kp.receiving_valid);
  EXPECT_FALSE(kp.replay.seen_any());
}

TEST_F(KeypairTest, InitiatorKeypairBecomesCurrentAtOnce) {
  auto k1 = make(true);
  EXPECT_EQ(add(k1), V{});
  expect_slots(k1, none, none);
  auto k2 = make(true);
  EXPECT_EQ(add(k2), V{});  // old current slides to previous
  expect_slots(k2, k1, none);
  auto k3 = make(true);
  EXPECT_EQ(add(k3), V{k1.get()});  // old previous goes
  expect_slots(k3, k2, none);
}

TEST_F(KeypairTest, ResponderKeypairWaitsInNext) {
  auto c = make(true);
  add(c);
  auto p = make(true);
  add(p);  // current p, previous c
  auto r1 = make(false);
  // The kernel drops previous (and any old next) and slides in the new next; current stays.
  EXPECT_EQ(add(r1), V{c.get()});
  expect_slots(p, none, r1);
  auto r2 = make(false);
  EXPECT_EQ(add(r2), V{r1.get()});  // an unconfirmed next is replaced
  expect_slots(p, none, r2);
}

TEST_F(KeypairTest, FirstPacketWithNextPromotesIt) {
  auto c = make(true);
  add(c);
  auto p = make(true);
  add(p);  // current p, previous c
  auto n = make(false);
  add(n);  // drops c; current p, next n
  EXPECT_EQ(received(n, true), V{});
  expect_slots(n, p, none);
  // Later packets with it change nothing.
  EXPECT_EQ(received(n, false), V{});
  expect_slots(n, p, none);
}

TEST_F(KeypairTest, NextAndPreviousNeverCoexist) {
  // A responder add empties previous and an initiator add or a promotion empties next, so a
  // promotion never has an old previous to drop: the slots walk current -> previous only.
  auto a = make(false);
  EXPECT_EQ(add(a), V{});
  EXPECT_EQ(received(a, true), V{});
  expect_slots(a, none, none);
  auto b = make(false);
  EXPECT_EQ(add(b), V{});
  EXPECT_EQ(received(b, true), V{});
  expect_slots(b, a, none);
  auto c = make(false);
  EXPECT_EQ(add(c), V{a.get()});
  expect_slots(b, none, c);
  EXPECT_EQ(received(c, true), V{});
  expect_slots(c, b, none);
}

TEST_F(KeypairTest, OnlyNextIsPromoted) {
  auto c = make(true);
  add(c);
  auto p = make(true);
  add(p);  // current p, previous c
  EXPECT_EQ(received(p, false), V{});  // current
  EXPECT_EQ(received(c, false), V{});  // previous
  auto stranger = make(false);
  EXPECT_EQ(received(stranger, false), V{});  // not ours at all
  expect_slots(p, c, none);
  KeypairSet empty;
  std::vector<KeypairPtr> d;
  EXPECT_FALSE(empty.received_with(nullptr, d));  // nothing in next: even nullptr is no match
  EXPECT_FALSE(empty.received_with(stranger.get(), d));
}

TEST_F(KeypairTest, InitiatorAddWhileNextPendingKeepsNextAsPrevious) {
  // Kernel: if a next keypair was pending, it becomes previous (the peer may be using it) and
  // the old current is freed along with the old previous.
  auto c0 = make(true);
  add(c0);
  auto c = make(true);
  add(c);  // current c, previous c0
  auto n = make(false);
  EXPECT_EQ(add(n), V{c0.get()});  // current c, next n
  auto i = make(true);
  EXPECT_EQ(add(i), V{c.get()});
  expect_slots(i, n, none);
}

TEST_F(KeypairTest, ClearReturnsEverything) {
  auto c = make(true), p = make(true), n = make(false);
  add(c);
  add(p);
  add(n);  // current p, next n (c dropped)
  std::vector<KeypairPtr> d;
  set.clear(d);
  std::vector<Keypair*> got = raw(d);
  std::sort(got.begin(), got.end());
  std::vector<Keypair*> want{p.get(), n.get()};
  std::sort(want.begin(), want.end());
  EXPECT_EQ(got, want);
  expect_slots(none, none, none);
}

TEST_F(KeypairTest, DroppedKeypairsAreTheLastReferences) {
  std::weak_ptr<Keypair> weak;
  {
    auto k1 = make(true);
    weak = k1;
    add(std::move(k1));
  }
  add(make(true));
  std::vector<KeypairPtr> d;
  set.add(make(true), d);  // k1 was previous: now dropped
  ASSERT_EQ(d.size(), 1u);
  EXPECT_FALSE(weak.expired());
  d.clear();
  EXPECT_TRUE(weak.expired());  // nobody else held it
}

TEST_F(KeypairTest, ExpireCurrentForSendingHitsCurrentAndNextOnly) {
  auto p = make(true), c = make(true);
  add(p);
  add(c);  // current c, previous p
  set.expire_current_for_sending();
  EXPECT_FALSE(c->sending_valid);
  EXPECT_TRUE(p->sending_valid);    // previous is never sent with anyway
  EXPECT_TRUE(c->receiving_valid);  // packets in flight may still arrive
  EXPECT_FALSE(c->can_send(clock.now()));
  EXPECT_TRUE(c->can_receive(clock.now()));

  auto n = make(false);
  add(n);  // current c, next n
  n->sending_valid = true;
  set.expire_current_for_sending();
  EXPECT_FALSE(n->sending_valid);  // a pending next must not start sending later either
  EXPECT_TRUE(n->receiving_valid);

  KeypairSet empty;
  empty.expire_current_for_sending();  // no slots: nothing to do
}

TEST_F(KeypairTest, RejectAfterTime) {
  auto k = make(true);
  EXPECT_TRUE(k->can_send(clock.now()));
  EXPECT_TRUE(k->can_receive(clock.now()));
  clock.advance(proto::kRejectAfterTime - 1ns);
  EXPECT_TRUE(k->can_send(clock.now()));
  EXPECT_TRUE(k->can_receive(clock.now()));
  EXPECT_FALSE(k->expired(clock.now(), proto::kRejectAfterTime));
  clock.advance(1ns);  // exactly 180 s old: the kernel's birthdate + 180 s <= now
  EXPECT_TRUE(k->expired(clock.now(), proto::kRejectAfterTime));
  EXPECT_FALSE(k->can_send(clock.now()));
  EXPECT_FALSE(k->can_receive(clock.now()));
}

TEST_F(KeypairTest, ExpiredIsAgeBased) {
  auto k = make(true);
  clock.advance(proto::kRekeyAfterTime);
  EXPECT_TRUE(k->expired(clock.now(), proto::kRekeyAfterTime));
  EXPECT_FALSE(k->expired(clock.now(), proto::kRekeyAfterTime + 1ns));
  EXPECT_TRUE(k->can_send(clock.now()));  // rekey time is a hint, not a limit
}

TEST_F(KeypairTest, SendingStopsAtRejectAfterMessages) {
  auto k = make(true);
  k->sending_counter = proto::kRejectAfterMessages - 1;
  EXPECT_TRUE(k->can_send(clock.now()));  // nonce REJECT_AFTER_MESSAGES - 1 may still be used
  k->sending_counter = proto::kRejectAfterMessages;
  EXPECT_FALSE(k->can_send(clock.now()));
  k->sending_counter = ~std::uint64_t{0};
  EXPECT_FALSE(k->can_send(clock.now()));
  k->sending_counter = proto::kRekeyAfterMessages + 1;  // past rekey, far below reject
  EXPECT_TRUE(k->can_send(clock.now()));
}

TEST_F(KeypairTest, ReceivingStopsAtRejectAfterMessages) {
  auto k = make(true);
  ASSERT_TRUE(k->replay.validate(proto::kRejectAfterMessages - 2));
  EXPECT_TRUE(k->can_receive(clock.now()));
  // Once the last usable counter (REJECT_AFTER_MESSAGES - 1) has been received, the keypair has
  // carried REJECT_AFTER_MESSAGES messages and must receive no more. The kernel checks
  // receiving_counter.counter (greatest + 1) >= REJECT_AFTER_MESSAGES.
  ASSERT_TRUE(k->replay.validate(proto::kRejectAfterMessages - 1));
  EXPECT_FALSE(k->can_receive(clock.now()));
}

TEST_F(KeypairTest, InvalidFlagsWin) {
  auto k = make(true);
  k->sending_valid = false;
  EXPECT_FALSE(k->can_send(clock.now()));
  EXPECT_TRUE(k->can_receive(clock.now()));
  k->receiving_valid = false;
  EXPECT_FALSE(k->can_receive(clock.now()));
}

}  // namespace
}  // namespace wgcore
