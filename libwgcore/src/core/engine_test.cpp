// Two engines talking through a fake network with a manual clock: handshakes, data, keepalives,
// rekeying by time and by message count, cookies under load, lost handshake messages, giving up,
// key erasure, roaming, replay and AllowedIPs source filtering, and hours of simulated traffic.
#include "core/engine.hpp"

#include <gtest/gtest.h>

#include <deque>
#include <algorithm>
#include <functional>
#include <random>

#include "core/crypto/x25519.hpp"
#include "core/testing/fakes.hpp"

namespace wgcore {
namespace {

using namespace std::chrono_literals;
using fakes::ManualClock;
using fakes::SeededRandom;

struct Datagram {
  Endpoint from, to;
  std::vector<std::uint8_t> bytes;
  std::uint8_t ds = 0;  // the outer IP header's DS field (ECN)
  proto::MessageType type() const { return proto::classify(bytes.data(), bytes.size()); }
};

class Network;

class Node : public EngineSink {
 public:
  Node(Network& net, ManualClock& clock, std::uint64_t seed, const char* addr)
      : net_(net), rng_(seed), engine(clock, rng_, *this), address(*Endpoint::parse(addr)) {
    Key priv = crypto::x25519_generate(rng_);
    engine.set_private_key(priv);
  }
  void send_to_peer(Peer& peer, std::span<const std::uint8_t> d) override;
  void send_data_to_peer(Peer& peer, std::span<const std::uint8_t> d, std::uint8_t ds) override;
  void send_to_endpoint(const Endpoint& to, const Endpoint&, std::span<const std::uint8_t> d) override;
  void deliver(Peer& peer, std::span<const std::uint8_t> inner) override {
    delivered.emplace_back(inner.begin(), inner.end());
    delivered_from.push_back(&peer);
  }
  const Key& public_key() const { return engine.identity().public_key; }
  // Admission of unknown initiators (off unless a test sets admit_as).
  bool admits_unknown() const override { return admit_as.has_value(); }
  bool admit(const Key& initiator, const Endpoint&) override {
    Peer* p = engine.add_peer(initiator);
    if (p) engine.add_allowed_ip(*p, *admit_as);
    return p != nullptr;
  }

 private:
  Network& net_;
  SeededRandom rng_;

 public:
  Engine engine;
  Endpoint address;
  std::optional<IpPrefix> admit_as;  // set: unknown initiators are admitted with this AllowedIP
  bool under_load = false;
  std::vector<std::vector<std::uint8_t>> delivered;
  std::vector<Peer*> delivered_from;
};

class Network {
 public:
  std::deque<Datagram> in_flight;
  std::vector<Node*> nodes;
  // Returns true to drop a datagram.
  std::function<bool(const Datagram&)> drop = [](const Datagram&) { return false; };
  // What the path does to a datagram's outer header (an AQM marking CE, say).
  std::function<void(Datagram&)> mark = [](Datagram&) {};
  std::vector<Datagram> log;  // everything that was sent, for inspection and replay
  // When set, runs of data messages to one node go through begin_data / open / finish_data as a
  // batch (the datapath's parallel receive), with run lengths and open order drawn from it.
  std::mt19937* batched = nullptr;

  void send(const Endpoint& from, const Endpoint& to, std::span<const std::uint8_t> d, std::uint8_t ds = 0) {
    Datagram g{from, to, {d.begin(), d.end()}, ds};
    log.push_back(g);
    mark(g);
    if (!drop(g)) in_flight.push_back(std::move(g));
  }
  // Delivers until quiet; returns how many datagrams moved.
  int run() {
    int n = 0;
    while (!in_flight.empty() && n < 100000) {
      if (batched && in_flight.front().type() == proto::MessageType::kData) {
        n += run_data_batch();
        continue;
      }
      Datagram g = std::move(in_flight.front());
      in_flight.pop_front();
      for (Node* node : nodes)
        if (node->address == g.to) node->engine.receive(g.bytes, g.from, g.to, node->under_load, g.ds);
      ++n;
    }
    return n;
  }
  // Up to 16 consecutive data messages to one node: every begin_data first, then the opens in a
  // random order (as worker threads would finish them), then every finish_data in arrival order.
  int run_data_batch() {
    std::vector<Datagram> batch;
    const Endpoint to = in_flight.front().to;
    std::size_t want = 1 + (*batched)() % 16;
    while (batch.size() < want && !in_flight.empty() && in_flight.front().to == to &&
           in_flight.front().type() == proto::MessageType::kData) {
      batch.push_back(std::move(in_flight.front()));
      in_flight.pop_front();
    }
    Node* node = nullptr;
    for (Node* x : nodes)
      if (x->address == to) node = x;
    if (!node) return int(batch.size());
    std::vector<DataJob> jobs(batch.size());
    std::vector<bool> begun(batch.size());
    for (std::size_t i = 0; i < batch.size(); ++i) {
      jobs[i].outer_ds = batch[i].ds;
      begun[i] = node->engine.begin_data(batch[i].bytes, jobs[i]);
    }
    std::vector<std::size_t> order(batch.size());
    for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
    std::shuffle(order.begin(), order.end(), *batched);
    for (std::size_t i : order)
      if (begun[i]) jobs[i].open();
    for (std::size_t i = 0; i < batch.size(); ++i)
      if (begun[i]) node->engine.finish_data(jobs[i], batch[i].from, batch[i].to);
    return int(batch.size());
  }
  int count(proto::MessageType t) const {
    int n = 0;
    for (const auto& g : log) n += g.type() == t;
    return n;
  }
};

void Node::send_to_peer(Peer& peer, std::span<const std::uint8_t> d) {
  ASSERT_TRUE(peer.endpoint.has_value());
  net_.send(address, *peer.endpoint, d);
}
void Node::send_data_to_peer(Peer& peer, std::span<const std::uint8_t> d, std::uint8_t ds) {
  ASSERT_TRUE(peer.endpoint.has_value());
  net_.send(address, *peer.endpoint, d, ds);
}
void Node::send_to_endpoint(const Endpoint& to, const Endpoint&, std::span<const std::uint8_t> d) {
  net_.send(address, to, d);
}

// A minimal IPv4 packet from src to dst carrying `payload_len` bytes of a counter pattern.
std::vector<std::uint8_t> ipv4(const char* src, const char* dst, std::size_t payload_len = 40,
                               std::uint8_t fill = 0) {
  std::vector<std::uint8_t> p(20 + payload_len);
  p[0] = 0x45;
  p[2] = std::uint8_t(p.size() >> 8);
  p[3] = std::uint8_t(p.size());
  p[8] = 64;
  p[9] = 17;
  auto s = *IpAddr::parse(src), d = *IpAddr::parse(dst);
  std::memcpy(&p[12], s.bytes.data(), 4);
  std::memcpy(&p[16], d.bytes.data(), 4);
  for (std::size_t i = 0; i < payload_len; ++i) p[20 + i] = std::uint8_t(fill + i);
  return p;
}

std::vector<std::uint8_t> ipv6(const char* src, const char* dst, std::size_t payload_len = 24) {
  std::vector<std::uint8_t> p(40 + payload_len);
  p[0] = 0x60;
  p[4] = std::uint8_t(payload_len >> 8);
  p[5] = std::uint8_t(payload_len);
  p[6] = 17;
  p[7] = 64;
  auto s = *IpAddr::parse(src), d = *IpAddr::parse(dst);
  std::memcpy(&p[8], s.bytes.data(), 16);
  std::memcpy(&p[24], d.bytes.data(), 16);
  return p;
}

class EngineTest : public ::testing::Test {
 protected:
  ManualClock clock;
  Network net;
  Node a{net, clock, 1, "192.0.2.1:51820"};
  Node b{net, clock, 2, "192.0.2.2:51820"};
  Peer* a_b = nullptr;  // a's view of b
  Peer* b_a = nullptr;  // b's view of a

  void SetUp() override {
    net.nodes = {&a, &b};
    a_b = a.engine.add_peer(b.public_key());
    b_a = b.engine.add_peer(a.public_key());
    ASSERT_TRUE(a_b && b_a);
    a.engine.set_endpoint(*a_b, b.address);
    b.engine.set_endpoint(*b_a, a.address);
    a.engine.add_allowed_ip(*a_b, *IpPrefix::parse("10.0.0.2/32"));
    a.engine.add_allowed_ip(*a_b, *IpPrefix::parse("fd00::2/128"));
    b.engine.add_allowed_ip(*b_a, *IpPrefix::parse("10.0.0.1/32"));
    b.engine.add_allowed_ip(*b_a, *IpPrefix::parse("fd00::1/128"));
  }

  void advance(std::chrono::nanoseconds d) {
    clock.advance(d);
    a.engine.run_timers();
    b.engine.run_timers();
    net.run();
  }
  // Advances in small steps so timers fire close to their deadlines.
  void advance_steps(std::chrono::nanoseconds total, std::chrono::nanoseconds step = 100ms) {
    for (std::chrono::nanoseconds t{0}; t < total; t += step) advance(step);
  }
  void a_to_b(std::size_t len = 40, std::uint8_t fill = 0) {
    a.engine.send_packet(ipv4("10.0.0.1", "10.0.0.2", len, fill));
    net.run();
  }
  void b_to_a(std::size_t len = 40, std::uint8_t fill = 0) {
    b.engine.send_packet(ipv4("10.0.0.2", "10.0.0.1", len, fill));
    net.run();
  }
};

TEST_F(EngineTest, FirstPacketTriggersHandshakeAndIsDeliveredAfterIt) {
  auto pkt = ipv4("10.0.0.1", "10.0.0.2", 100, 7);
  a.engine.send_packet(pkt);
  EXPECT_EQ(a_b->staged.size(), 1u);
  net.run();
  EXPECT_EQ(net.count(proto::MessageType::kHandshakeInitiation), 1);
  EXPECT_EQ(net.count(proto::MessageType::kHandshakeResponse), 1);
  ASSERT_EQ(b.delivered.size(), 1u);
  EXPECT_EQ(b.delivered[0], pkt);
  EXPECT_EQ(b.delivered_from[0], b_a);
  EXPECT_TRUE(a_b->staged.empty());
  // The responder's keypair was promoted from next to current by the first data packet.
  ASSERT_TRUE(b_a->keypairs.current());
  EXPECT_FALSE(b_a->keypairs.next());
  EXPECT_TRUE(a_b->keypairs.current()->i_am_initiator);
  EXPECT_FALSE(b_a->keypairs.current()->i_am_initiator);
  EXPECT_NE(a_b->last_handshake_wall.count(), 0);
  EXPECT_NE(b_a->last_handshake_wall.count(), 0);
  EXPECT_EQ(a.engine.drops().total(), 0u);
  EXPECT_EQ(b.engine.drops().total(), 0u);
}

TEST_F(EngineTest, BothDirectionsAndIpv6) {
  a_to_b();
  b_to_a(60, 3);
  ASSERT_EQ(a.delivered.size(), 1u);
  EXPECT_EQ(a.delivered[0], ipv4("10.0.0.2", "10.0.0.1", 60, 3));
  auto v6 = ipv6("fd00::1", "fd00::2", 33);
  a.engine.send_packet(v6);
  net.run();
  ASSERT_EQ(b.delivered.size(), 2u);
  EXPECT_EQ(b.delivered[1], v6);
  // Only one handshake for all of that.
  EXPECT_EQ(net.count(proto::MessageType::kHandshakeInitiation), 1);
}

// RFC 6040 end to end (core/ecn.hpp): the outer ECN follows the inner packet's (DSCP never
// leaves), a CE mark on the way reaches an ECT inner packet with a valid checksum, and a Not-ECT
// packet marked CE is dropped and counted.
TEST_F(EngineTest, EcnCrossesTheTunnelLikeRfc6040) {
  a_to_b();  // the session
  auto with_tos = [](std::vector<std::uint8_t> p, std::uint8_t tos) {
    p[1] = tos;
    std::uint32_t s = 0;
    p[10] = p[11] = 0;
    for (int i = 0; i < 20; i += 2) s += std::uint32_t(p[i] << 8 | p[i + 1]);
    while (s >> 16) s = (s & 0xffff) + (s >> 16);
    p[10] = std::uint8_t(~s >> 8);
    p[11] = std::uint8_t(~s);
    return p;
  };
  const auto ef_ect0 = with_tos(ipv4("10.0.0.1", "10.0.0.2", 40, 1), 0xb8 | proto::kEcnEct0);
  a.engine.send_packet(ef_ect0);
  net.run();
  ASSERT_EQ(net.log.back().type(), proto::MessageType::kData);
  EXPECT_EQ(net.log.back().ds, proto::kEcnEct0) << "outer: ECT(0), DSCP 0";
  ASSERT_EQ(b.delivered.back(), ef_ect0) << "unmarked: delivered as sent";

  net.mark = [](Datagram& g) {
    if (g.type() == proto::MessageType::kData) g.ds |= proto::kEcnCe;
  };
  a.engine.send_packet(ef_ect0);
  net.run();
  EXPECT_EQ(b.delivered.back(), with_tos(ef_ect0, 0xb8 | proto::kEcnCe)) << "CE on the way: CE inside, checksum valid";

  const std::size_t before = b.delivered.size();
  a.engine.send_packet(ipv4("10.0.0.1", "10.0.0.2", 40, 2));  // Not-ECT
  net.run();
  EXPECT_EQ(net.log.back().ds, 0);
  EXPECT_EQ(b.delivered.size(), before) << "Not-ECT marked CE must be dropped";
  EXPECT_EQ(b.engine.drops().get(DropReason::kEcnCeNotEct), 1u);

  auto v6 = ipv6("fd00::1", "fd00::2", 20);
  v6[1] = std::uint8_t(proto::kEcnEct1 << 4);  // traffic class ECT(1)
  a.engine.send_packet(v6);
  net.run();
  EXPECT_EQ(net.log.back().ds, proto::kEcnEct1);
  auto v6_ce = v6;
  v6_ce[1] = std::uint8_t(proto::kEcnCe << 4);
  EXPECT_EQ(b.delivered.back(), v6_ce);
}

// A packet handed over in two pieces (headers, payload: how the TSO segmenter sends) arrives
// as the same packet, both when staged before the handshake and on the fast path after it.
TEST_F(EngineTest, TwoPieceSendIsTheSamePacket) {
  auto first = ipv4("10.0.0.1", "10.0.0.2", 300, 5);
  auto second = ipv4("10.0.0.1", "10.0.0.2", 1200, 9);
  for (const auto* pkt : {&first, &second}) {
    std::span<const std::uint8_t> all(*pkt);
    a.engine.send_packet(all.first(40), all.subspan(40));
    net.run();
  }
  ASSERT_EQ(b.delivered.size(), 2u);
  EXPECT_EQ(b.delivered[0], first);
  EXPECT_EQ(b.delivered[1], second);
  EXPECT_EQ(a.engine.drops().total(), 0u);
}

TEST_F(EngineTest, ByteCountersMatchWhatCrossedTheWire) {
  a_to_b(100);
  b_to_a(10);
  std::uint64_t a_sent = 0, b_sent = 0;
  for (const auto& g : net.log) (g.from == a.address ? a_sent : b_sent) += g.bytes.size();
  EXPECT_EQ(a_b->tx_bytes, a_sent);
  EXPECT_EQ(b_a->rx_bytes, a_sent);
  EXPECT_EQ(b_a->tx_bytes, b_sent);
  EXPECT_EQ(a_b->rx_bytes, b_sent);
}

TEST_F(EngineTest, PaddingToSixteenCappedByMtu) {
  a_to_b(1);  // 21-byte inner packet pads to 32
  const Datagram& d = net.log.back();
  ASSERT_EQ(d.type(), proto::MessageType::kData);
  EXPECT_EQ(d.bytes.size(), proto::kDataHeaderLen + 32 + proto::kAeadTagLen);
  a.engine.set_mtu(1420);
  a_to_b(1420 - 20 - 3);  // 1417 bytes: padding stops at the MTU
  EXPECT_EQ(net.log.back().bytes.size(), proto::kDataHeaderLen + 1420 + proto::kAeadTagLen);
  EXPECT_EQ(b.delivered.back().size(), 1417u);  // padding removed by the inner length
}

TEST_F(EngineTest, PassiveKeepaliveAfterReceivingData) {
  a_to_b();
  int before = int(net.log.size());
  advance_steps(9s);
  EXPECT_EQ(int(net.log.size()), before);  // nothing yet
  advance_steps(2s);
  ASSERT_EQ(int(net.log.size()), before + 1);
  const Datagram& k = net.log.back();
  EXPECT_EQ(k.from, b.address);
  EXPECT_EQ(k.bytes.size(), proto::kDataMinLen);  // an empty, authenticated packet
  EXPECT_EQ(a.delivered.size(), 0u);              // keepalives are not delivered
  EXPECT_EQ(a.engine.drops().total(), 0u);
}

TEST_F(EngineTest, NoKeepaliveWhenReplyTrafficFlows) {
  a_to_b();
  advance(1s);
  b_to_a();  // b's own data acknowledges a's packet
  int before = int(net.log.size());
  advance_steps(11s);
  // a received data from b, so a sends a keepalive; b owes nothing.
  int from_b = 0;
  for (std::size_t i = before; i < net.log.size(); ++i) from_b += net.log[i].from == b.address;
  EXPECT_EQ(from_b, 0);
}

TEST_F(EngineTest, NewHandshakeWhenPeerStopsAnswering) {
  a_to_b();
  b_to_a();
  net.drop = [&](const Datagram& g) { return g.from == b.address; };  // b goes silent
  advance(1s);
  a_to_b();
  int inits = net.count(proto::MessageType::kHandshakeInitiation);
  advance_steps(14s);  // KEEPALIVE (10) + REKEY_TIMEOUT (5) + jitter after the data
  EXPECT_EQ(net.count(proto::MessageType::kHandshakeInitiation), inits);
  advance_steps(2s);
  EXPECT_EQ(net.count(proto::MessageType::kHandshakeInitiation), inits + 1);
}

TEST_F(EngineTest, RekeyAfterTimeByInitiator) {
  a_to_b();
  b_to_a();
  auto first = a_b->keypairs.current();
  advance_steps(121s, 1s);
  a_to_b();  // sending on a session older than REKEY_AFTER_TIME starts a new handshake
  EXPECT_EQ(net.count(proto::MessageType::kHandshakeInitiation), 2);
  ASSERT_TRUE(a_b->keypairs.current());
  EXPECT_NE(a_b->keypairs.current(), first);
  EXPECT_EQ(a_b->keypairs.previous(), first);
  // The packet that triggered it still went out on the old session, and traffic continues.
  std::size_t got = b.delivered.size();
  a_to_b();
  EXPECT_EQ(b.delivered.size(), got + 1);
}

TEST_F(EngineTest, ResponderDoesNotRekeyByTimeButInitiatorDoesLastMinute) {
  a_to_b();
  b_to_a();
  // Only b talks from now on; b is the responder and must not initiate for age alone.
  for (int i = 0; i < 170; ++i) {
    advance(1s);
    b_to_a();
  }
  // a (the initiator) received on a session older than REJECT - KEEPALIVE - REKEY (165 s) and
  // rekeyed once ("last minute" handshake).
  EXPECT_EQ(net.count(proto::MessageType::kHandshakeInitiation), 2);
  int from_b = 0;
  for (const auto& g : net.log)
    from_b += g.from == b.address && g.type() == proto::MessageType::kHandshakeInitiation;
  EXPECT_EQ(from_b, 0);
  EXPECT_EQ(a.delivered.size(), 171u);
}

TEST_F(EngineTest, RekeyAfterMessages) {
  a.engine.set_rekey_after_messages_for_testing(10);
  a_to_b();
  advance(6s);  // past the one-initiation-per-REKEY_TIMEOUT rate limit
  for (int i = 0; i < 9; ++i) a_to_b();
  EXPECT_EQ(net.count(proto::MessageType::kHandshakeInitiation), 1);
  a_to_b();  // counter passed the threshold: this packet goes out and a handshake starts
  EXPECT_EQ(net.count(proto::MessageType::kHandshakeInitiation), 2);
  a_to_b();
  EXPECT_EQ(b.delivered.size(), 12u);
  // The new session carried the confirming keepalive and the last packet.
  EXPECT_EQ(a_b->keypairs.current()->sending_counter.load(), 2u);
}

TEST_F(EngineTest, RecoversFromLostInitiation) {
  int seen = 0;
  net.drop = [&](const Datagram& g) {
    return g.type() == proto::MessageType::kHandshakeInitiation && seen++ == 0;
  };
  a_to_b();
  EXPECT_EQ(b.delivered.size(), 0u);
  EXPECT_EQ(a_b->staged.size(), 1u);
  advance_steps(4900ms);
  EXPECT_EQ(net.count(proto::MessageType::kHandshakeInitiation), 1);
  advance_steps(600ms, 50ms);  // REKEY_TIMEOUT + jitter < 333 ms
  EXPECT_EQ(net.count(proto::MessageType::kHandshakeInitiation), 2);
  EXPECT_EQ(b.delivered.size(), 1u);
  EXPECT_EQ(a_b->timers.handshake_attempts, 0);
}

TEST_F(EngineTest, RecoversFromLostResponse) {
  int seen = 0;
  net.drop = [&](const Datagram& g) {
    return g.type() == proto::MessageType::kHandshakeResponse && seen++ == 0;
  };
  a_to_b();
  EXPECT_EQ(b.delivered.size(), 0u);
  advance_steps(6s);
  EXPECT_EQ(b.delivered.size(), 1u);
  // b's unconfirmed keypair from the lost response was replaced by the new one.
  EXPECT_TRUE(b_a->keypairs.current());
  EXPECT_EQ(b.engine.index_size(), 1u);  // one live session index, nothing leaked
}

TEST_F(EngineTest, GivesUpAfterMaxHandshakeAttemptsAndErasesKeys) {
  net.drop = [](const Datagram&) { return true; };
  a_to_b();
  advance_steps(200s, 250ms);
  // The first initiation plus MAX_TIMER_HANDSHAKES + 1 retries (the kernel logs "giving up
  // after MAX_TIMER_HANDSHAKES + 2 attempts").
  EXPECT_EQ(net.count(proto::MessageType::kHandshakeInitiation), 2 + proto::kMaxTimerHandshakes);
  EXPECT_TRUE(a_b->staged.empty());
  EXPECT_TRUE(a_b->timers.pending(TimerKind::kZeroKeyMaterial));
  advance_steps(600s, 10s);
  EXPECT_EQ(net.count(proto::MessageType::kHandshakeInitiation), 2 + proto::kMaxTimerHandshakes);
  EXPECT_EQ(a.engine.index_size(), 0u);
  EXPECT_EQ(a_b->handshake.state, HandshakeState::kZeroed);
}

TEST_F(EngineTest, KeysErasedAfterThreeRejectAfterTimes) {
  a_to_b();
  b_to_a();
  ASSERT_TRUE(a_b->keypairs.current());
  advance_steps(539s, 1s);
  EXPECT_TRUE(a_b->keypairs.current());
  advance_steps(2s, 1s);
  EXPECT_FALSE(a_b->keypairs.current());
  EXPECT_FALSE(a_b->keypairs.previous());
  EXPECT_FALSE(b_a->keypairs.current());
  EXPECT_EQ(a.engine.index_size(), 0u);
  EXPECT_EQ(b.engine.index_size(), 0u);
  // And a new packet simply starts over.
  a_to_b();
  EXPECT_EQ(b.delivered.size(), 2u);
}

TEST_F(EngineTest, CookieUnderLoadThenHandshakeCompletes) {
  b.under_load = true;
  a_to_b();
  EXPECT_EQ(net.count(proto::MessageType::kCookieReply), 1);
  EXPECT_EQ(net.count(proto::MessageType::kHandshakeResponse), 0);
  EXPECT_EQ(b.engine.drops().get(DropReason::kCookieRequired), 1u);
  EXPECT_TRUE(a_b->cookie.has_valid_cookie(clock.now()));
  advance_steps(6s);  // the retransmission carries mac2
  EXPECT_EQ(net.count(proto::MessageType::kHandshakeResponse), 1);
  EXPECT_EQ(b.delivered.size(), 1u);
  EXPECT_EQ(b.engine.drops().get(DropReason::kCookieRequired), 1u);
}

TEST_F(EngineTest, ForgedMac1IsDroppedWithoutAnswer) {
  a.engine.initiate_handshake(*a_b);
  ASSERT_EQ(net.in_flight.size(), 1u);
  net.in_flight.front().bytes[20] ^= 1;
  net.run();
  EXPECT_EQ(b.engine.drops().get(DropReason::kBadMac1), 1u);
  EXPECT_EQ(net.count(proto::MessageType::kHandshakeResponse), 0);
}

TEST_F(EngineTest, ReplayedInitiationAndDataAreDropped) {
  a_to_b();
  std::vector<Datagram> captured = net.log;
  for (const auto& g : captured)
    if (g.from == a.address) net.in_flight.push_back(g);
  net.run();
  EXPECT_EQ(b.engine.drops().get(DropReason::kHandshakeReplay), 1u);
  EXPECT_EQ(b.engine.drops().get(DropReason::kReplay), 1u);
  EXPECT_EQ(b.delivered.size(), 1u);
}

TEST_F(EngineTest, ReorderedDataWithinWindowIsDeliveredOnce) {
  a_to_b();
  net.drop = [](const Datagram&) { return true; };
  std::size_t first = net.log.size();
  for (int i = 0; i < 50; ++i) a.engine.send_packet(ipv4("10.0.0.1", "10.0.0.2", 40, std::uint8_t(i)));
  std::vector<Datagram> batch(net.log.begin() + first, net.log.end());
  std::mt19937 gen(5);
  std::shuffle(batch.begin(), batch.end(), gen);
  for (auto& g : batch) net.in_flight.push_back(g);
  for (auto& g : batch) net.in_flight.push_back(g);  // and every one twice
  net.drop = [](const Datagram&) { return false; };
  net.run();
  EXPECT_EQ(b.delivered.size(), 51u);
  EXPECT_EQ(b.engine.drops().get(DropReason::kReplay), 50u);
}

TEST_F(EngineTest, SourceOutsideAllowedIpsIsDropped) {
  a_to_b();
  a.engine.add_allowed_ip(*a_b, *IpPrefix::parse("10.9.0.0/24"));  // so a routes it to b
  a.engine.send_packet(ipv4("10.0.0.77", "10.9.0.1"));  // spoofed source
  net.run();
  EXPECT_EQ(b.delivered.size(), 1u);
  EXPECT_EQ(b.engine.drops().get(DropReason::kAllowedIpsMismatch), 1u);
  EXPECT_EQ(b_a->drops.get(DropReason::kAllowedIpsMismatch), 1u);
}

TEST_F(EngineTest, NoRouteIsCounted) {
  a.engine.send_packet(ipv4("10.0.0.1", "10.7.7.7"));
  EXPECT_EQ(a.engine.drops().get(DropReason::kNoRoute), 1u);
  EXPECT_TRUE(net.log.empty());
}

TEST_F(EngineTest, TamperedDataFailsToDecrypt) {
  a_to_b();
  a.engine.send_packet(ipv4("10.0.0.1", "10.0.0.2"));
  ASSERT_EQ(net.in_flight.size(), 1u);
  net.in_flight.front().bytes[30] ^= 0x80;
  net.run();
  EXPECT_EQ(b.engine.drops().get(DropReason::kDecryptFailed), 1u);
  EXPECT_EQ(b.delivered.size(), 1u);
}

TEST_F(EngineTest, RoamingFollowsAuthenticatedPackets) {
  a_to_b();
  Endpoint moved = *Endpoint::parse("198.51.100.9:4000");
  a.address = moved;
  a_to_b();
  ASSERT_TRUE(b_a->endpoint);
  EXPECT_EQ(*b_a->endpoint, moved);
  b_to_a();
  EXPECT_EQ(a.delivered.size(), 1u);  // b's reply reached a at its new address
  // An unauthenticated packet from elsewhere does not move the endpoint.
  std::vector<std::uint8_t> junk(64, 0);
  junk[0] = 4;
  b.engine.receive(junk, *Endpoint::parse("203.0.113.5:1"), b.address, false);
  EXPECT_EQ(*b_a->endpoint, moved);
}

TEST_F(EngineTest, UnknownPeerIsRejected) {
  ManualClock c2;
  Node c{net, clock, 3, "192.0.2.3:51820"};
  net.nodes.push_back(&c);
  Peer* c_b = c.engine.add_peer(b.public_key());
  c.engine.set_endpoint(*c_b, b.address);
  c.engine.add_allowed_ip(*c_b, *IpPrefix::parse("10.0.0.2/32"));
  c.engine.send_packet(ipv4("10.0.0.3", "10.0.0.2"));
  net.run();
  EXPECT_EQ(b.engine.drops().get(DropReason::kUnknownPeer), 1u);
  EXPECT_EQ(net.count(proto::MessageType::kHandshakeResponse), 0);
}

TEST_F(EngineTest, PresharedKeyMustMatch) {
  SeededRandom r(9);
  Key psk = crypto::x25519_generate(r);
  a.engine.set_preshared_key(*a_b, psk);
  a_to_b();
  EXPECT_EQ(b.delivered.size(), 0u);
  EXPECT_EQ(a.engine.drops().get(DropReason::kHandshakeInvalid), 1u);  // b's response fails at a
  b.engine.set_preshared_key(*b_a, psk);
  advance_steps(6s);
  EXPECT_EQ(b.delivered.size(), 1u);
}

TEST_F(EngineTest, PersistentKeepaliveKeepsSending) {
  a_to_b();
  a.engine.set_persistent_keepalive(*a_b, 25);  // turning it on sends one at once
  net.run();
  int keepalives = 0;
  auto count_keepalives = [&] {
    int n = 0;
    for (const auto& g : net.log)
      n += g.from == a.address && g.bytes.size() == proto::kDataMinLen;
    return n;
  };
  keepalives = count_keepalives();
  EXPECT_EQ(keepalives, 1);
  // Any authenticated packet re-arms the interval: b's passive keepalive at 10 s (for the data
  // at 0 s) moves a's next one to 35 s, then 60, 85, 110.
  advance_steps(34s, 1s);
  EXPECT_EQ(count_keepalives(), 1);
  advance_steps(77s, 1s);
  EXPECT_EQ(count_keepalives(), 1 + 4);
  a.engine.set_persistent_keepalive(*a_b, 0);
  advance_steps(60s, 1s);
  EXPECT_EQ(count_keepalives(), 5);
}

TEST_F(EngineTest, PrivateKeyChangeForcesNewHandshake) {
  a_to_b();
  SeededRandom r(11);
  Key new_priv = crypto::x25519_generate(r);
  a.engine.set_private_key(new_priv);
  // b must learn a's new key before anything works again.
  b.engine.remove_peer(b_a);
  b_a = b.engine.add_peer(a.public_key());
  b.engine.add_allowed_ip(*b_a, *IpPrefix::parse("10.0.0.1/32"));
  a_to_b();
  EXPECT_EQ(net.count(proto::MessageType::kHandshakeInitiation), 2);
  EXPECT_EQ(b.delivered.size(), 2u);
}

// Adding a peer or changing our key costs no X25519 (issue 15: 10 000 peers in one setconf);
// the first handshake computes DH(static, static), and a key change makes it stale again.
TEST_F(EngineTest, StaticStaticWaitsForTheFirstHandshake) {
  EXPECT_EQ(a_b->handshake.static_static, StaticStatic::kStale);
  EXPECT_EQ(b_a->handshake.static_static, StaticStatic::kStale);
  a_to_b();
  ASSERT_EQ(b.delivered.size(), 1u);
  EXPECT_EQ(a_b->handshake.static_static, StaticStatic::kReady);
  EXPECT_EQ(b_a->handshake.static_static, StaticStatic::kReady);

  SeededRandom r(12);
  a.engine.set_private_key(crypto::x25519_generate(r));
  EXPECT_EQ(a_b->handshake.static_static, StaticStatic::kStale);
  EXPECT_TRUE(a_b->handshake.precomputed_static_static.is_zero());

  // A low-order peer key: found out at the first handshake, which is then never sent.
  Peer* low = a.engine.add_peer(Key{});
  ASSERT_NE(low, nullptr);
  a.engine.set_endpoint(*low, b.address);
  a.engine.add_allowed_ip(*low, *IpPrefix::parse("10.0.0.9/32"));
  EXPECT_EQ(low->handshake.static_static, StaticStatic::kStale);
  const int before = net.count(proto::MessageType::kHandshakeInitiation);
  a.engine.send_packet(ipv4("10.0.0.1", "10.0.0.9"));
  net.run();
  EXPECT_EQ(low->handshake.static_static, StaticStatic::kNone);
  EXPECT_EQ(net.count(proto::MessageType::kHandshakeInitiation), before);
}

// An admitted initiator's peer keeps the static-static its initiation's consumption computed
// (it equals the eager one), and a session comes up.
TEST_F(EngineTest, AnAdmittedPeerKeepsTheStaticStaticItsInitiationComputed) {
  b.engine.remove_peer(b_a);
  b.admit_as = *IpPrefix::parse("10.0.0.1/32");
  a_to_b();
  Peer* admitted = b.engine.find_peer(a.public_key());
  ASSERT_NE(admitted, nullptr);
  ASSERT_EQ(b.delivered.size(), 1u);
  EXPECT_EQ(admitted->handshake.static_static, StaticStatic::kReady);
  Handshake eager;
  eager.remote_static = a.public_key();
  noise::precompute_static_static(eager, b.engine.identity());
  EXPECT_EQ(admitted->handshake.precomputed_static_static, eager.precomputed_static_static);
}

TEST_F(EngineTest, OwnPublicKeyIsNeverAPeer) {
  EXPECT_EQ(a.engine.add_peer(a.public_key()), nullptr);
  EXPECT_EQ(a.engine.peer_count(), 1u);
}

TEST_F(EngineTest, RemovingPeerReleasesItsIndicesAndRoutes) {
  a_to_b();
  EXPECT_GT(a.engine.index_size(), 0u);
  a.engine.remove_peer(a_b);
  EXPECT_EQ(a.engine.index_size(), 0u);
  EXPECT_EQ(a.engine.allowedips().size(), 0u);
  EXPECT_EQ(a.engine.peer_count(), 0u);
  b_to_a();  // a no longer knows the session
  EXPECT_EQ(a.engine.drops().get(DropReason::kUnknownReceiverIndex), 1u);
  EXPECT_FALSE(a.engine.next_timer().has_value());
}

TEST_F(EngineTest, StagedQueueIsBounded) {
  net.drop = [](const Datagram&) { return true; };
  for (std::size_t i = 0; i < proto::kMaxStagedPackets + 10; ++i) a_to_b();
  EXPECT_EQ(a_b->staged.size(), proto::kMaxStagedPackets);
  EXPECT_EQ(a.engine.drops().get(DropReason::kStagedOverflow), 10u);
  EXPECT_EQ(net.count(proto::MessageType::kHandshakeInitiation), 1);  // rate limited
}

// Hours of simulated time with lossy links and random traffic: sessions keep rotating, nothing
// is sent on a keypair older than REJECT_AFTER_TIME, and traffic keeps flowing.
TEST_F(EngineTest, SimulatedHoursWithLoss) {
  std::mt19937 gen(42);
  std::bernoulli_distribution lose(0.10);
  net.drop = [&](const Datagram&) { return lose(gen); };
  std::size_t sent_ab = 0, sent_ba = 0;
  const auto hours = 3h;
  for (std::chrono::nanoseconds t{0}; t < hours; t += 500ms) {
    if (gen() % 3 == 0) a_to_b(40, std::uint8_t(sent_ab++));
    if (gen() % 5 == 0) b_to_a(40, std::uint8_t(sent_ba++));
    for (Peer* p : {a_b, b_a}) {
      const KeypairPtr& kp = p->keypairs.current();
      if (kp && kp->can_send(clock.now())) {
        ASSERT_LT(clock.now() - kp->birthdate, proto::kRejectAfterTime);
      }
    }
    advance(500ms);
  }
  // With 10% loss each way (plus handshake stalls) well over 80% should arrive.
  EXPECT_GT(double(b.delivered.size()), 0.8 * double(sent_ab));
  EXPECT_GT(double(a.delivered.size()), 0.8 * double(sent_ba));
  // About one handshake every two minutes, not a storm.
  int inits = net.count(proto::MessageType::kHandshakeInitiation);
  EXPECT_GT(inits, 3 * 60 / 3);
  EXPECT_LT(inits, 3 * 60 * 2);
  EXPECT_LE(a.engine.index_size(), 4u);
  EXPECT_LE(b.engine.index_size(), 4u);
}

// The datapath receives data in batches: begin_data for each message, the opens on worker
// threads in any order, finish_data in arrival order. That must be indistinguishable from
// receive() one message at a time: the same packets delivered in the same order, the same drops
// for the same reasons, the same datagrams sent back. A random scenario with rekeying (so
// batches straddle keypair rotations and retirements), reordering, duplicates and corruption
// runs twice from the same seeds, serially and batched, and the outcomes are compared.
struct Outcome {
  std::vector<std::vector<std::uint8_t>> a_got, b_got;
  std::vector<std::uint64_t> a_drops, b_drops;
  std::vector<std::vector<std::uint8_t>> wire;
};

Outcome run_scenario(std::uint64_t seed, bool batched) {
  ManualClock clock;
  Network net;
  std::mt19937 batch_rng{std::uint32_t(seed * 7 + 1)};
  if (batched) net.batched = &batch_rng;
  Node a{net, clock, 1, "192.0.2.1:51820"};
  Node b{net, clock, 2, "192.0.2.2:51820"};
  net.nodes = {&a, &b};
  Peer* a_b = a.engine.add_peer(b.public_key());
  Peer* b_a = b.engine.add_peer(a.public_key());
  a.engine.set_endpoint(*a_b, b.address);
  b.engine.set_endpoint(*b_a, a.address);
  a.engine.add_allowed_ip(*a_b, *IpPrefix::parse("10.0.0.2/32"));
  b.engine.add_allowed_ip(*b_a, *IpPrefix::parse("10.0.0.1/32"));
  // Rekeying by count every few dozen messages puts rotations inside batches.
  a.engine.set_rekey_after_messages_for_testing(40);
  b.engine.set_rekey_after_messages_for_testing(60);

  std::mt19937 gen{std::uint32_t(seed)};
  std::uint8_t fill = 0;
  std::vector<Datagram> late;
  for (int step = 0; step < 400; ++step) {
    int burst = int(gen() % 24);
    for (int i = 0; i < burst; ++i) {
      // Mostly a→b, some b→a, and now and then a spoofed source (an AllowedIPs drop).
      switch (gen() % 8) {
        case 0: b.engine.send_packet(ipv4("10.0.0.2", "10.0.0.1", 30 + gen() % 200, fill++)); break;
        case 1: b.engine.send_packet(ipv4("10.9.9.9", "10.0.0.1", 40, fill++)); break;
        default: a.engine.send_packet(ipv4("10.0.0.1", "10.0.0.2", 30 + gen() % 1300, fill++)); break;
      }
    }
    // Network trouble on what is in flight: swaps (reordering), duplicates, a flipped bit, and
    // datagrams held back for a few steps (so messages under retired keys arrive behind the
    // ones that retired them, in the same batch).
    auto& q = net.in_flight;
    if (!late.empty() && gen() % 3 == 0) {
      std::size_t at = q.empty() ? 0 : gen() % (q.size() + 1);
      q.insert(q.begin() + std::ptrdiff_t(at), late.begin(), late.end());
      late.clear();
    }
    for (std::size_t i = 0; i < q.size(); ++i)
      if (gen() % 40 == 0) late.push_back(q[i]);
    for (std::size_t i = 1; i < q.size(); ++i)
      if (gen() % 6 == 0) std::swap(q[i - 1], q[i]);
    if (!q.empty() && gen() % 4 == 0) q.push_back(q[gen() % q.size()]);
    if (!q.empty() && gen() % 9 == 0) {
      auto& bytes = q[gen() % q.size()].bytes;
      bytes[gen() % bytes.size()] ^= 0x20;
    }
    net.run();
    clock.advance(std::chrono::milliseconds(gen() % 4000));
    a.engine.run_timers();
    b.engine.run_timers();
    net.run();
  }
  Outcome o;
  o.a_got = a.delivered;
  o.b_got = b.delivered;
  for (std::size_t r = 0; r < kDropReasons; ++r) {
    o.a_drops.push_back(a.engine.drops().get(DropReason(r)));
    o.b_drops.push_back(b.engine.drops().get(DropReason(r)));
  }
  for (const auto& g : net.log) o.wire.push_back(g.bytes);
  return o;
}

TEST(EngineBatchedReceive, SameOutcomeAsOneAtATime) {
  for (std::uint64_t seed = 1; seed <= 12; ++seed) {
    SCOPED_TRACE("seed " + std::to_string(seed));
    Outcome serial = run_scenario(seed, false);
    Outcome batched = run_scenario(seed, true);
    EXPECT_GT(serial.b_got.size(), 500u);
    EXPECT_EQ(serial.b_drops, batched.b_drops);
    EXPECT_EQ(serial.a_drops, batched.a_drops);
    EXPECT_TRUE(serial.b_got == batched.b_got);
    EXPECT_TRUE(serial.a_got == batched.a_got);
    EXPECT_TRUE(serial.wire == batched.wire);
  }
  // Across the seeds the interesting drop reasons all occurred (so the comparison meant something).
  std::vector<std::uint64_t> sum(kDropReasons);
  for (std::uint64_t seed = 1; seed <= 12; ++seed) {
    Outcome o = run_scenario(seed, true);
    for (std::size_t r = 0; r < kDropReasons; ++r) sum[r] += o.a_drops[r] + o.b_drops[r];
  }
  EXPECT_GT(sum[std::size_t(DropReason::kReplay)], 0u);
  EXPECT_GT(sum[std::size_t(DropReason::kDecryptFailed)], 0u);
  EXPECT_GT(sum[std::size_t(DropReason::kAllowedIpsMismatch)], 0u);
}

}  // namespace
}  // namespace wgcore
