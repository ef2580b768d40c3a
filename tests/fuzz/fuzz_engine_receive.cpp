// Fuzz target: every datagram type through Engine::receive, with a live session so the data
// path decrypts, replay-checks, parses the inner packet and source-checks it. Two engines
// complete a handshake in the fuzzer's init; each input is a list of records, each either a
// raw datagram or one the harness completes (a real data header and counter around the input,
// encrypted with the session key or not; a handshake message with correct mac1/mac2), sent to
// either engine, with or without "under load". Replies move between the engines as in
// engine_test.
//
// Runs are deterministic: every input starts from the same state, the pair as make_world()
// leaves it. Rebuilding the pair costs two key setups and a full handshake (a dozen X25519
// operations, ~1 ms under ASan), so after an input the harness rewinds in place what inputs
// change: the clock (set back to the start), both random generators, and per peer its timers,
// endpoints, byte counters, handshake and cookie state, staged packets, and its keypairs'
// replay windows, send counters and validity flags. It rebuilds instead when the input may
// have changed state it cannot rewind: the engine's receiver-index table, timer schedule,
// cookie secret or rate limiter, or which keypair objects a peer holds. That is decided from
// what the engines show, not from what the records were meant to do:
//   - a generator was drawn from more often than once per cookie reply sent (each reply draws
//     its nonce and nothing else; index allocation, ephemeral keys, timer jitter and a new
//     cookie secret all draw, so the index table and the secret are unchanged otherwise);
//   - the index table's size, a peer's handshake index or keypair objects changed;
//   - the next timer or the peer's scheduled time changed (one peer per engine, so the
//     schedule holds at most that one entry);
//   - an under-load handshake message got past the mac checks (only then is the rate limiter
//     consulted).
// Every time an engine keeps is thus rewound or unchanged, so setting the clock back is sound.
// make_world() lets each engine make its cookie secret (the cookie reply is lost, so no peer
// holds a cookie): otherwise every under-load handshake would make it and force a rebuild;
// making a new one is still reached once two minutes pass. Drop counters are not rewound:
// only their changes within one input matter. AllowedIPs, identities and the peer list change
// only through configuration calls, which inputs cannot make. WGCORE_FUZZ_VERIFY_REWIND=1
// checks all this as it runs (slowly): after each rewind the pair must match a freshly built
// one, field by field and under a probe that lets time run (see transcript()).
//
// WGCORE_FUZZ_WRITE_SEEDS=DIR writes this target's seed corpus (real captured datagrams
// wrapped as records) into DIR and exits.
#include <array>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/crypto/aead.hpp"
#include "core/crypto/x25519.hpp"
#include "core/engine.hpp"
#include "core/messages.hpp"
#include "core/testing/fakes.hpp"
#include "fuzz_common.hpp"

using namespace wgcore;
using namespace std::chrono_literals;

namespace {

// Record header byte: low 3 bits say what to build, bit 3 = under load, bit 4 = which engine.
enum Variant : std::uint8_t {
  kRaw = 0,            // the payload as the datagram
  kSealed = 1,         // payload encrypted as inner packet under the live session, counter given
  kBadTag = 2,         // the same, then one byte flipped (decrypt failure on a known index)
  kHeaderOnly = 3,     // a real receiver index and counter, payload as "ciphertext"
  kInitiation = 4,     // payload fitted to 148 bytes, type 1, macs computed by the peer
  kResponse = 5,       // payload fitted to 92 bytes, type 2, macs computed by the peer
  kCookieReply = 6,    // payload fitted to 64 bytes, type 3, receiver index made valid
  kAdvanceClock = 7,   // payload[0] seconds pass and timers run
};
constexpr std::uint8_t kUnderLoad = 0x08;
constexpr std::uint8_t kToInitiator = 0x10;
constexpr std::size_t kMaxInFlight = 64;
constexpr int kMaxRecords = 16;

struct Datagram {
  int to = 0;  // node index
  std::vector<std::uint8_t> bytes;
};

// The engine's randomness, counting its draws: how many there were tells the harness whether
// an input reached state it cannot rewind (see the header comment).
class CountingRandom : public Random {
 public:
  explicit CountingRandom(std::uint64_t seed) : gen(seed) {}
  void fill(std::span<std::uint8_t> out) override {
    ++draws;
    gen.fill(out);
  }
  fakes::SeededRandom gen;
  std::uint64_t draws = 0;
};

struct World;

class Node : public EngineSink {
 public:
  Node(World& w, int index, std::uint64_t seed);
  void send_to_peer(Peer&, std::span<const std::uint8_t> d) override;
  void send_to_endpoint(const Endpoint&, const Endpoint&, std::span<const std::uint8_t> d) override;
  void deliver(Peer&, std::span<const std::uint8_t> inner) override { FUZZ_CHECK(!inner.empty()); }

  World& world;
  int index;
  CountingRandom rng;
  Engine engine;
  Endpoint address;
  Peer* peer = nullptr;  // the other node
  std::uint64_t cookie_replies = 0;  // send_to_endpoint is only ever a cookie reply
};

struct World {
  fakes::ManualClock clock;
  std::vector<Datagram>* capture = nullptr;  // seed writing
  Node a{*this, 0, 1};  // initiator
  Node b{*this, 1, 2};  // responder
  // Set when an under-load handshake message got past the mac checks: the engine's rate limiter
  // (which nothing can rewind) may have moved.
  bool rate_limiter_touched = false;
  Node& node(int i) { return i == 0 ? a : b; }

  // Datagrams in flight: a ring of reused buffers, so moving replies allocates nothing.
  std::array<Datagram, kMaxInFlight> ring;
  std::size_t head = 0, count = 0;
  std::vector<std::uint8_t> current;  // the datagram being received (the ring may wrap onto it)
  std::vector<std::uint8_t> built;    // the datagram a record asks for

  void send(int from, std::span<const std::uint8_t> d) {
    if (capture) capture->push_back({1 - from, {d.begin(), d.end()}});
    if (count == kMaxInFlight) return;
    Datagram& g = ring[(head + count++) % kMaxInFlight];
    g.to = 1 - from;
    g.bytes.assign(d.begin(), d.end());
  }
  void receive(Node& to, std::span<std::uint8_t> d, bool under_load) {
    const auto type = proto::classify(d.data(), d.size());
    const bool handshake = under_load && (type == proto::MessageType::kHandshakeInitiation ||
                                          type == proto::MessageType::kHandshakeResponse);
    const DropCounters& drops = to.engine.drops();
    const std::uint64_t stopped_by_macs =
        drops.get(DropReason::kBadMac1) + drops.get(DropReason::kCookieRequired);
    to.engine.receive(d, node(1 - to.index).address, to.address, under_load);
    if (handshake && drops.get(DropReason::kBadMac1) + drops.get(DropReason::kCookieRequired) ==
                         stopped_by_macs)
      rate_limiter_touched = true;
  }
  void run(bool under_load = false) {
    for (int n = 0; n < 256 && count != 0; ++n) {
      Datagram& g = ring[head];
      head = (head + 1) % kMaxInFlight;
      --count;
      current.assign(g.bytes.begin(), g.bytes.end());
      receive(node(g.to), current, under_load);
    }
    head = count = 0;
  }
};

Node::Node(World& w, int i, std::uint64_t seed)
    : world(w), index(i), rng(seed), engine(w.clock, rng, *this),
      address(*Endpoint::parse(i == 0 ? "192.0.2.1:51820" : "[2001:db8::2]:51820")) {
  engine.set_private_key(crypto::x25519_generate(rng));
}
void Node::send_to_peer(Peer&, std::span<const std::uint8_t> d) { world.send(index, d); }
void Node::send_to_endpoint(const Endpoint&, const Endpoint&, std::span<const std::uint8_t> d) {
  ++cookie_replies;
  world.send(index, d);
}

std::vector<std::uint8_t> ipv4_packet(const char* src, const char* dst, std::size_t payload) {
  std::vector<std::uint8_t> p(20 + payload);
  p[0] = 0x45;
  p[2] = std::uint8_t(p.size() >> 8);
  p[3] = std::uint8_t(p.size());
  p[8] = 64;
  p[9] = 17;
  std::memcpy(&p[12], IpAddr::parse(src)->bytes.data(), 4);
  std::memcpy(&p[16], IpAddr::parse(dst)->bytes.data(), 4);
  return p;
}

// Two peers with a confirmed session both ways (both hold a current keypair).
std::unique_ptr<World> make_world(std::vector<Datagram>* capture = nullptr) {
  auto w = std::make_unique<World>();
  w->capture = capture;
  Node &a = w->a, &b = w->b;
  a.peer = a.engine.add_peer(b.engine.identity().public_key);
  b.peer = b.engine.add_peer(a.engine.identity().public_key);
  FUZZ_CHECK(a.peer && b.peer);
  a.engine.set_endpoint(*a.peer, b.address);
  b.engine.set_endpoint(*b.peer, a.address);
  Key psk;
  psk[0] = 0x42;
  a.engine.set_preshared_key(*a.peer, psk);
  b.engine.set_preshared_key(*b.peer, psk);
  a.engine.add_allowed_ip(*a.peer, *IpPrefix::parse("10.0.0.2/32"));
  a.engine.add_allowed_ip(*a.peer, *IpPrefix::parse("fd00::2/128"));
  b.engine.add_allowed_ip(*b.peer, *IpPrefix::parse("10.0.0.1/32"));
  b.engine.add_allowed_ip(*b.peer, *IpPrefix::parse("fd00::/64"));
  a.engine.send_packet(ipv4_packet("10.0.0.1", "10.0.0.2", 40));
  w->run();
  b.engine.send_packet(ipv4_packet("10.0.0.2", "10.0.0.1", 12));
  w->run();
  FUZZ_CHECK(a.peer->keypairs.current() && b.peer->keypairs.current());
  w->capture = nullptr;
  // Each engine makes its cookie secret now, on an under-load initiation whose cookie reply is
  // then lost (so neither peer holds a cookie): otherwise the first under-load handshake of
  // every input would make it, a change to hidden state that would force a rebuild. Making a
  // new one is still reached: the secret expires after two minutes (kAdvanceClock).
  for (Node* n : {&a, &b}) {
    Node& from = n == &a ? b : a;
    std::vector<std::uint8_t> msg(proto::kInitiationLen, 0);
    proto::store_le32(msg.data(), std::uint32_t(proto::MessageType::kHandshakeInitiation));
    CookieMaker maker = from.peer->cookie;  // a copy: the real one remembers what it sent
    maker.add_macs(msg, w->clock.now());
    n->engine.receive(msg, from.address, n->address, true);
    FUZZ_CHECK(w->count == 1);
    w->head = w->count = 0;
  }
  return w;
}

// ---------------------------------------------------------------- rewinding

// What an input may change in one keypair; which keypair objects a peer holds must not change.
struct KeypairState {
  const Keypair* kp = nullptr;
  ReplayWindow replay;
  std::uint64_t sending_counter = 0;
  bool sending_valid = false;
  bool receiving_valid = false;

  static KeypairState of(const KeypairPtr& p) {
    KeypairState s;
    s.kp = p.get();
    if (p) {
      s.replay = p->replay;
      s.sending_counter = p->sending_counter.load(std::memory_order_relaxed);
      s.sending_valid = p->sending_valid;
      s.receiving_valid = p->receiving_valid;
    }
    return s;
  }
  void restore(const KeypairPtr& p) const {
    if (!p) return;
    p->replay = replay;
    p->sending_counter.store(sending_counter, std::memory_order_relaxed);
    p->sending_valid = sending_valid;
    p->receiving_valid = receiving_valid;
  }
};

// One node's peer and engine, as far as the harness can see and rewind them.
struct NodeState {
  fakes::SeededRandom rng{0};
  std::size_t index_size = 0;
  std::optional<Time> next_timer;
  OptionalTime scheduled_at;
  std::optional<std::uint32_t> handshake_index;
  std::array<KeypairState, 3> keypairs;  // current, previous, next
  Handshake handshake;
  CookieMaker cookie;
  PeerTimers timers;
  std::optional<Endpoint> endpoint, local_source;
  std::uint16_t persistent_keepalive_interval = 0;
  bool sent_lastminute_handshake = false;
  OptionalTime last_sent_handshake;
  std::uint64_t rx_bytes = 0, tx_bytes = 0;
  WallTime last_handshake_wall{};

  // A Handshake owns its secrets and cannot be copied (so the engine never copies a key by
  // accident): the snapshot copies them by hand.
  static void copy_handshake(Handshake& to, const Handshake& from) {
    to.state = from.state;
    to.remote_static = from.remote_static;
    to.preshared_key = from.preshared_key;
    to.precomputed_static_static = from.precomputed_static_static;
    to.static_static = from.static_static;
    to.secrets = from.secrets ? std::make_unique<HandshakeSecrets>(*from.secrets) : nullptr;
    to.latest_timestamp = from.latest_timestamp;
    to.local_index = from.local_index;
    to.remote_index = from.remote_index;
    to.last_initiation_consumption = from.last_initiation_consumption;
  }

  void save(const Node& n) {
    const Peer& p = *n.peer;
    rng = n.rng.gen;
    index_size = n.engine.index_size();
    next_timer = n.engine.next_timer();
    scheduled_at = p.scheduled_at;
    handshake_index = p.handshake_index;
    keypairs = {KeypairState::of(p.keypairs.current()), KeypairState::of(p.keypairs.previous()),
                KeypairState::of(p.keypairs.next())};
    copy_handshake(handshake, p.handshake);
    cookie = p.cookie;
    timers = p.timers;
    endpoint = p.endpoint;
    local_source = p.local_source;
    persistent_keepalive_interval = p.persistent_keepalive_interval;
    sent_lastminute_handshake = p.sent_lastminute_handshake;
    last_sent_handshake = p.last_sent_handshake;
    rx_bytes = p.rx_bytes;
    tx_bytes = p.tx_bytes;
    last_handshake_wall = p.last_handshake_wall;
  }
  // Whether everything the harness cannot rewind is as saved.
  bool rewindable(const Node& n) const {
    const Peer& p = *n.peer;
    return n.rng.draws == n.cookie_replies && n.engine.index_size() == index_size &&
           n.engine.next_timer() == next_timer && p.scheduled_at == scheduled_at &&
           p.handshake_index == handshake_index && p.keypairs.current().get() == keypairs[0].kp &&
           p.keypairs.previous().get() == keypairs[1].kp && p.keypairs.next().get() == keypairs[2].kp;
  }
  void restore(Node& n) const {
    Peer& p = *n.peer;
    n.rng.gen = rng;
    n.rng.draws = n.cookie_replies = 0;
    keypairs[0].restore(p.keypairs.current());
    keypairs[1].restore(p.keypairs.previous());
    keypairs[2].restore(p.keypairs.next());
    copy_handshake(p.handshake, handshake);
    p.cookie = cookie;
    p.timers = timers;
    p.endpoint = endpoint;
    p.local_source = local_source;
    p.persistent_keepalive_interval = persistent_keepalive_interval;
    p.sent_lastminute_handshake = sent_lastminute_handshake;
    p.last_sent_handshake = last_sent_handshake;
    p.staged.clear();  // nothing is staged in a fresh world
    p.rx_bytes = rx_bytes;
    p.tx_bytes = tx_bytes;
    p.last_handshake_wall = last_handshake_wall;
  }
};

struct Snapshot {
  fakes::ManualClock clock;
  NodeState a, b;
  void save(const World& w) {
    FUZZ_CHECK(w.a.peer->staged.empty() && w.b.peer->staged.empty() && w.count == 0);
    clock = w.clock;
    a.save(w.a);
    b.save(w.b);
  }
  bool rewind(World& w) const {
    if (w.rate_limiter_touched || !a.rewindable(w.a) || !b.rewindable(w.b)) return false;
    w.clock = clock;
    a.restore(w.a);
    b.restore(w.b);
    return true;
  }
};

std::unique_ptr<World> g_world;
Snapshot g_start;
bool g_verify_rewind = false;

void fresh_world() {
  g_world.reset();  // the old pair goes first: two live worlds would share nothing but time
  g_world = make_world();
  g_start.save(*g_world);
  g_world->a.rng.draws = g_world->b.rng.draws = 0;
  g_world->a.cookie_replies = g_world->b.cookie_replies = 0;
}

// The datagram a record asks for, built around its payload. Returns false to skip the record.
bool build(Variant v, Node& sender, Node& receiver, std::span<const std::uint8_t> payload,
           std::uint64_t counter_hint, std::vector<std::uint8_t>& out) {
  Time now = sender.engine.clock().now();
  switch (v) {
    case kRaw:
      out.assign(payload.begin(), payload.end());
      return true;
    case kSealed:
    case kBadTag:
    case kHeaderOnly: {
      // Receiver's current keypair, seen from the sender: its remote index is the receiver's
      // local index, and its sending key is what the receiver opens with.
      const KeypairPtr& kp = sender.peer->keypairs.current();
      if (!kp) return false;
      const bool sealed = v != kHeaderOnly;
      out.assign(proto::kDataHeaderLen + payload.size() + (sealed ? proto::kAeadTagLen : 0), 0);
      proto::store_le32(out.data(), std::uint32_t(proto::MessageType::kData));
      proto::store_le32(out.data() + 4, kp->remote_index);
      proto::store_le64(out.data() + 8, counter_hint);
      auto body = std::span(out).subspan(proto::kDataHeaderLen);
      if (sealed) {
        crypto::aead_seal(body, payload, counter_hint, {}, kp->sending_key.span());
        if (v == kBadTag) body[counter_hint % body.size()] ^= std::uint8_t(1u << (counter_hint >> 8) % 8);
      } else {
        std::memcpy(body.data(), payload.data(), payload.size());
      }
      if (out.size() < proto::kDataMinLen) out.resize(proto::kDataMinLen);
      return true;
    }
    case kInitiation:
    case kResponse: {
      const std::size_t len = v == kInitiation ? proto::kInitiationLen : proto::kResponseLen;
      out.assign(len, 0);
      std::memcpy(out.data(), payload.data(), std::min(len, payload.size()));
      proto::store_le32(out.data(), std::uint32_t(v == kInitiation ? 1 : 2));
      if (v == kResponse && (counter_hint & 1)) {
        // Aim the response at a handshake the receiver may really have in progress.
        const auto& hs = receiver.peer->handshake;
        proto::store_le32(out.data() + 8, hs.local_index);
      }
      // A copy of the sender's cookie state, so computing macs changes nothing in the world.
      CookieMaker maker = sender.peer->cookie;
      maker.add_macs(out, now);
      return true;
    }
    case kCookieReply: {
      out.assign(proto::kCookieReplyLen, 0);
      std::memcpy(out.data(), payload.data(), std::min(out.size(), payload.size()));
      proto::store_le32(out.data(), 3);
      const auto& kp = sender.peer->keypairs.current();
      proto::store_le32(out.data() + 4, (counter_hint & 1) && kp ? kp->remote_index
                                                                 : receiver.peer->handshake.local_index);
      return true;
    }
    case kAdvanceClock:
      return false;
  }
  return false;
}

// WGCORE_FUZZ_VERIFY_REWIND=1 checks the rewinding itself (slowly: not for fuzzing): after
// each rewind, the pair must equal a freshly built one in everything the harness rewinds, and
// behave the same under a probe that lets time run in small steps (timers, schedule, clocks,
// random generators, receiver indices, cookie secrets: whatever differs shows in what the
// engines send, and when).
std::vector<std::uint8_t> transcript(World& w) {
  std::vector<std::uint8_t> t;
  auto note = [&t](std::uint64_t v) {
    for (int i = 0; i < 8; ++i) t.push_back(std::uint8_t(v >> (8 * i)));
  };
  auto bytes = [&t](std::span<const std::uint8_t> b) { t.insert(t.end(), b.begin(), b.end()); };
  note(std::uint64_t(w.clock.now().count()));
  note(std::uint64_t(w.clock.wall_now().count()));
  for (Node* n : {&w.a, &w.b}) {
    const Peer& p = *n->peer;
    for (const KeypairPtr* kp : {&p.keypairs.current(), &p.keypairs.previous(), &p.keypairs.next()}) {
      if (!*kp) continue;
      ReplayWindow replay = (*kp)->replay;  // a copy: probing it changes nothing
      for (std::uint64_t c = 0; c < 2 * proto::kCounterWindowSize; ++c) t.push_back(replay.validate(c));
      note((*kp)->sending_counter.load());
      note(std::uint64_t((*kp)->sending_valid) | std::uint64_t((*kp)->receiving_valid) << 1);
    }
    for (std::size_t k = 0; k < kTimerKinds; ++k) {
      const auto d = p.timers.deadline(TimerKind(k));
      note(d ? std::uint64_t(d->count()) : 0);
    }
    note(std::uint64_t(p.timers.handshake_attempts) | std::uint64_t(p.timers.need_another_keepalive) << 32);
    const Handshake& hs = p.handshake;
    note(std::uint64_t(hs.state) | std::uint64_t(hs.local_index) << 8);
    note(hs.remote_index);
    static const HandshakeSecrets kNone;  // no handshake under way: all zero, as before it moved
    const HandshakeSecrets& sec = hs.secrets ? *hs.secrets : kNone;
    bytes(sec.ephemeral_private.span());
    bytes(sec.remote_ephemeral.span());
    bytes(sec.hash);
    bytes(sec.chaining_key);
    bytes(hs.latest_timestamp);
    note(hs.last_initiation_consumption ? std::uint64_t((*hs.last_initiation_consumption).count()) : 0);
    CookieMaker maker = p.cookie;  // its macs show its cookie and key state
    std::vector<std::uint8_t> msg(proto::kInitiationLen, 0);
    maker.add_macs(msg, w.clock.now());
    bytes(msg);
    note(p.endpoint ? 1 + (*p.endpoint == n->address ? 1 : 0) : 0);
    note(p.local_source.has_value());
    note(p.sent_lastminute_handshake);
    note(p.last_sent_handshake ? std::uint64_t((*p.last_sent_handshake).count()) : 0);
    note(p.staged.size());
    note(p.rx_bytes);
    note(p.tx_bytes);
    note(std::uint64_t(p.last_handshake_wall.count()));
  }
  // Now time runs: one second at a time, then a packet that needs a fresh session.
  std::vector<Datagram> sent;
  w.capture = &sent;
  std::vector<std::uint8_t> d;
  for (Node* rx : {&w.b, &w.a}) {  // cookie replies: the checker's secret and the generators
    Node& tx = rx == &w.b ? w.a : w.b;
    std::vector<std::uint8_t> zeros(proto::kInitiationLen, 0);
    if (build(kInitiation, tx, *rx, zeros, 0, d)) w.receive(*rx, d, true);
    w.run();
  }
  for (int second = 0; second < 200; ++second) {
    w.clock.advance(1s);
    w.a.engine.run_timers();
    w.b.engine.run_timers();
    w.run();
    if (second == 130) w.a.engine.send_packet(ipv4_packet("10.0.0.1", "10.0.0.2", 8));
    w.run();
    note(sent.size());
  }
  w.capture = nullptr;
  for (Node* n : {&w.a, &w.b}) {
    note(n->peer->rx_bytes);
    note(n->peer->tx_bytes);
    note(n->engine.index_size());
    note(n->rng.gen.next());
  }
  for (const Datagram& g : sent) {
    note(std::uint64_t(g.to));
    bytes(g.bytes);
  }
  return t;
}

void write_seeds(const char* dir) {
  std::vector<Datagram> captured;
  auto w = make_world(&captured);
  w->capture = &captured;
  // A cookie reply and the initiation that provoked it: b under load answers a's new initiation.
  w->clock.advance(10s);
  w->a.engine.initiate_handshake(*w->a.peer);
  w->run(true);
  int n = 0;
  auto put = [&](const std::string& name, const std::vector<std::uint8_t>& bytes) {
    std::string path = std::string(dir) + "/" + name;
    FILE* f = std::fopen(path.c_str(), "wb");
    FUZZ_CHECK(f);
    std::fwrite(bytes.data(), 1, bytes.size(), f);
    std::fclose(f);
    ++n;
  };
  auto record = [](std::uint8_t header, std::span<const std::uint8_t> payload) {
    std::vector<std::uint8_t> r{header, std::uint8_t(std::min<std::size_t>(payload.size(), 255))};
    r.insert(r.end(), payload.begin(), payload.begin() + std::min<std::size_t>(payload.size(), 255));
    return r;
  };
  for (std::size_t i = 0; i < captured.size(); ++i) {
    const Datagram& g = captured[i];
    std::uint8_t to = g.to == 0 ? kToInitiator : 0;
    put("captured_" + std::to_string(i) + "_type" + std::to_string(g.bytes[0]),
        record(kRaw | to, g.bytes));
  }
  auto inner4 = ipv4_packet("10.0.0.1", "10.0.0.2", 8);
  auto inner6 = std::vector<std::uint8_t>(48, 0);
  inner6[0] = 0x60;
  inner6[5] = 8;
  inner6[6] = 17;
  inner6[7] = 64;
  std::memcpy(&inner6[8], IpAddr::parse("fd00::1")->bytes.data(), 16);
  std::memcpy(&inner6[24], IpAddr::parse("fd00::2")->bytes.data(), 16);
  // Record layout for kSealed etc.: header, counter byte, length, payload.
  auto sealed = [&](std::uint8_t header, std::uint8_t counter, std::span<const std::uint8_t> p) {
    auto r = record(header, p);
    r.insert(r.begin() + 1, counter);
    return r;
  };
  put("sealed_v4", sealed(kSealed, 5, inner4));
  put("sealed_v6", sealed(kSealed, 6, inner6));
  put("sealed_keepalive", sealed(kSealed, 7, {}));
  put("sealed_to_initiator", sealed(kSealed | kToInitiator, 8, ipv4_packet("10.0.0.2", "10.0.0.1", 3)));
  put("sealed_wrong_source", sealed(kSealed, 9, ipv4_packet("10.9.9.9", "10.0.0.2", 3)));
  auto twice = sealed(kSealed, 10, inner4);
  auto again = sealed(kSealed, 10, inner4);
  twice.insert(twice.end(), again.begin(), again.end());
  put("sealed_replayed", twice);
  put("bad_tag", sealed(kBadTag, 11, inner4));
  put("header_only", sealed(kHeaderOnly, 12, inner4));
  std::vector<std::uint8_t> zeros(148, 0);
  put("initiation_fixed_macs", sealed(kInitiation, 0, zeros));
  put("initiation_under_load", sealed(kInitiation | kUnderLoad, 0, zeros));
  put("response_fixed_macs", sealed(kResponse | kToInitiator, 1, std::span(zeros).first(92)));
  put("cookie_reply", sealed(kCookieReply | kToInitiator, 0, std::span(zeros).first(64)));
  put("advance_clock", sealed(kAdvanceClock, 0, std::vector<std::uint8_t>{130}));
  std::fprintf(stderr, "wrote %d seeds to %s\n", n, dir);
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  if (const char* dir = std::getenv("WGCORE_FUZZ_WRITE_SEEDS")) {
    write_seeds(dir);
    std::exit(0);
  }
  g_verify_rewind = std::getenv("WGCORE_FUZZ_VERIFY_REWIND") != nullptr;
  fresh_world();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  World& w = *g_world;
  fuzz::Reader r(data, size);
  std::vector<std::uint8_t>& datagram = w.built;
  for (int records = 0; !r.empty() && records < kMaxRecords; ++records) {
    const std::uint8_t header = r.u8();
    const auto v = Variant(header & 7);
    const bool under_load = header & kUnderLoad;
    Node& receiver = (header & kToInitiator) ? w.a : w.b;
    Node& sender = (header & kToInitiator) ? w.b : w.a;
    // Sealed data counters: near the start of the window, so replays and reordering happen.
    const std::uint64_t counter = v == kRaw ? 0 : r.u8();
    auto payload = r.bytes(r.u8());
    if (v == kAdvanceClock) {
      w.clock.advance(std::chrono::seconds(payload.empty() ? 1 : payload[0]));
      w.a.engine.run_timers();
      w.b.engine.run_timers();
      w.run();
      continue;
    }
    if (!build(v, sender, receiver, payload, counter, datagram)) continue;
    w.receive(receiver, datagram, under_load);
    w.run(under_load);
  }
  // Back to the start for the next input: rewound in place when possible, else rebuilt.
  if (!g_start.rewind(w)) {
    fresh_world();
  } else if (g_verify_rewind) {
    auto fresh = make_world();
    FUZZ_CHECK(transcript(w) == transcript(*fresh));
    fresh.reset();
    fresh_world();
  }
  return 0;
}
