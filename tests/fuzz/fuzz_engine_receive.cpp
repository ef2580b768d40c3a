// Fuzz target: every datagram type through Engine::receive, with a live session so the data
// path decrypts, replay-checks, parses the inner packet and source-checks it. Two engines
// complete a handshake in the fuzzer's init; each input is a list of records, each either a
// raw datagram or one the harness completes (a real data header and counter around the input,
// encrypted with the session key or not; a handshake message with correct mac1/mac2), sent to
// either engine, with or without "under load". Replies move between the engines as in
// engine_test. Runs are deterministic: the pair is rebuilt from fixed seeds whenever an input
// may have changed state beyond drop counters.
//
// WGCORE_FUZZ_WRITE_SEEDS=DIR writes this target's seed corpus (real captured datagrams
// wrapped as records) into DIR and exits.
#include <array>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <memory>
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

struct Datagram {
  int to;  // node index
  std::vector<std::uint8_t> bytes;
};

struct World;

class Node : public EngineSink {
 public:
  Node(World& w, int index, std::uint64_t seed);
  void send_to_peer(Peer&, std::span<const std::uint8_t> d) override;
  void send_to_endpoint(const Endpoint&, const Endpoint&, std::span<const std::uint8_t> d) override;
  void deliver(Peer&, std::span<const std::uint8_t> inner) override {
    FUZZ_CHECK(!inner.empty());
    ++activity;
  }

  World& world;
  int index;
  fakes::SeededRandom rng;
  Engine engine;
  Endpoint address;
  Peer* peer = nullptr;  // the other node
  std::uint64_t activity = 0;  // sends and deliveries: anything beyond a counted drop
};

struct World {
  fakes::ManualClock clock;
  std::deque<Datagram> in_flight;
  std::vector<Datagram>* capture = nullptr;  // seed writing
  Node a{*this, 0, 1};  // initiator
  Node b{*this, 1, 2};  // responder
  Node& node(int i) { return i == 0 ? a : b; }

  void send(int from, std::span<const std::uint8_t> d) {
    if (capture) capture->push_back({1 - from, {d.begin(), d.end()}});
    if (in_flight.size() < kMaxInFlight) in_flight.push_back({1 - from, {d.begin(), d.end()}});
  }
  void run(bool under_load = false) {
    for (int n = 0; n < 256 && !in_flight.empty(); ++n) {
      Datagram g = std::move(in_flight.front());
      in_flight.pop_front();
      Node& to = node(g.to);
      to.engine.receive(g.bytes, node(1 - g.to).address, to.address, under_load);
    }
    in_flight.clear();
  }
};

Node::Node(World& w, int i, std::uint64_t seed)
    : world(w), index(i), rng(seed), engine(w.clock, rng, *this),
      address(*Endpoint::parse(i == 0 ? "192.0.2.1:51820" : "[2001:db8::2]:51820")) {
  engine.set_private_key(crypto::x25519_generate(rng));
}
void Node::send_to_peer(Peer&, std::span<const std::uint8_t> d) {
  ++activity;
  world.send(index, d);
}
void Node::send_to_endpoint(const Endpoint&, const Endpoint&, std::span<const std::uint8_t> d) {
  ++activity;
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
  a.activity = b.activity = 0;
  w->capture = nullptr;
  return w;
}

// State that must be unchanged for the next input to start where a fresh world starts.
struct Fingerprint {
  std::size_t index_a, index_b;
  std::optional<Time> timers_a, timers_b;
  std::uint64_t rx_a, rx_b, tx_a, tx_b;
  const Keypair *cur_a, *cur_b, *prev_a, *prev_b, *next_a, *next_b;
  friend bool operator==(const Fingerprint&, const Fingerprint&) = default;
};
Fingerprint fingerprint(const World& w) {
  const Peer &pa = *w.a.peer, &pb = *w.b.peer;
  return {w.a.engine.index_size(),          w.b.engine.index_size(),
          w.a.engine.next_timer(),          w.b.engine.next_timer(),
          pa.rx_bytes,                      pb.rx_bytes,
          pa.tx_bytes,                      pb.tx_bytes,
          pa.keypairs.current().get(),      pb.keypairs.current().get(),
          pa.keypairs.previous().get(),     pb.keypairs.previous().get(),
          pa.keypairs.next().get(),         pb.keypairs.next().get()};
}

// Drops that leave every piece of engine state as it was (only the counter moves).
bool stateless(DropReason r) {
  switch (r) {
    case DropReason::kInvalidSize:
    case DropReason::kBadMac1:
    case DropReason::kUnknownReceiverIndex:
    case DropReason::kDecryptFailed:
    case DropReason::kUnknownPeer:
    case DropReason::kBadCookieReply:
      return true;
    default:
      return false;
  }
}

std::unique_ptr<World> g_world;
Fingerprint g_clean;
bool g_dirty = false;

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
  g_world = make_world();
  g_clean = fingerprint(*g_world);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (g_dirty) {
    g_world.reset();  // the old pair goes first: two live worlds would share nothing but time
    g_world = make_world();
    g_clean = fingerprint(*g_world);
    g_dirty = false;
  }
  World& w = *g_world;
  fuzz::Reader r(data, size);
  std::vector<std::uint8_t> datagram;
  for (int records = 0; !r.empty() && records < 16; ++records) {
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
      g_dirty = true;
      continue;
    }
    if (!build(v, sender, receiver, payload, counter, datagram)) continue;
    const std::uint64_t drops = receiver.engine.drops().total();
    std::array<std::uint64_t, kDropReasons> by_reason;
    for (std::size_t i = 0; i < kDropReasons; ++i)
      by_reason[i] = receiver.engine.drops().get(DropReason(i));
    const std::uint64_t activity = w.a.activity + w.b.activity;

    receiver.engine.receive(datagram, sender.address, receiver.address, under_load);
    w.run(under_load);

    // Clean only if the datagram was dropped for a reason that touches no state.
    bool clean = w.a.activity + w.b.activity == activity &&
                 receiver.engine.drops().total() == drops + 1;
    if (clean)
      for (std::size_t i = 0; i < kDropReasons; ++i)
        if (receiver.engine.drops().get(DropReason(i)) != by_reason[i] && !stateless(DropReason(i)))
          clean = false;
    if (!clean) g_dirty = true;
  }
  // A safety net for the rule above: anything visible that moved forces a rebuild.
  if (!g_dirty && !(fingerprint(w) == g_clean)) g_dirty = true;
  return 0;
}
