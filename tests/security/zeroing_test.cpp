// Key material is zeroed before its memory is freed. This binary replaces the global operator
// new/delete and OpenSSL's allocator (CRYPTO_set_mem_functions) with versions that, while armed,
// search every block being freed for the secrets the test registered: the static private keys,
// the PSK, every 32-byte draw of the (recorded) random generator — ephemeral keys and the cookie
// secret, raw and clamped — and the session keys the handshake derived. Two engines handshake,
// exchange data and rekey; then the peer is removed, the private key replaced and both engines
// destroyed. No freed block may contain any of them. A self-test proves the hooks see a leak.
#include <fcntl.h>
#include <malloc.h>
#include <openssl/crypto.h>
#include <sys/mman.h>

#include <gtest/gtest.h>

#include <atomic>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <thread>
#include <vector>
#include <new>
#include <string>
#include <unistd.h>

#include "common/secure_string.hpp"
#include "core/crypto/aead.hpp"
#include "core/crypto/x25519.hpp"
#include "core/engine.hpp"
#include "device/crypto_workers.hpp"
#include "core/testing/fakes.hpp"
#include "uapi/uapi_client.hpp"
#include "uapi/uapi_server.hpp"
#include "uapi/uapi_text.hpp"

// ---- the allocator hooks (no allocation inside them) -------------------------------------------
namespace leakscan {

constexpr int kMaxSecrets = 256;
constexpr std::size_t kNeedle = 32;
struct Secret {
  unsigned char bytes[kNeedle];
  const char* label;
  std::atomic<int> hits;
  std::size_t first_hit_block;
};
Secret g_secrets[kMaxSecrets];
std::atomic<int> g_count{0};
std::atomic<bool> g_armed{false};
std::atomic<long> g_blocks_scanned{0};

void add(const unsigned char* bytes, const char* label) {
  int i = g_count.load();
  if (i >= kMaxSecrets) std::abort();
  std::memcpy(g_secrets[i].bytes, bytes, kNeedle);
  g_secrets[i].label = label;
  g_secrets[i].hits = 0;
  g_count.store(i + 1);
}

void reset() {
  g_armed = false;
  for (int i = 0; i < g_count.load(); ++i) OPENSSL_cleanse(g_secrets[i].bytes, kNeedle);
  g_count = 0;
  g_blocks_scanned = 0;
}

void scan(const void* block, std::size_t size) {
  if (!block || !g_armed.load(std::memory_order_relaxed)) return;
  g_blocks_scanned.fetch_add(1, std::memory_order_relaxed);
  const auto* p = static_cast<const unsigned char*>(block);
  int n = g_count.load();
  if (size < kNeedle) return;
  for (int i = 0; i < n; ++i) {
    if (memmem(p, size, g_secrets[i].bytes, kNeedle)) {
      if (g_secrets[i].hits.fetch_add(1) == 0) g_secrets[i].first_hit_block = size;
    }
  }
}

int total_hits() {
  int t = 0;
  for (int i = 0; i < g_count.load(); ++i) t += g_secrets[i].hits.load();
  return t;
}

// Searches every writable mapping of this process, file-backed or not (heap, every thread's
// stack and TLS, anonymous memory, the .data and .bss of the program and its libraries), for
// the registered secrets, through /proc/self/mem into a buffer of its own mapping. The registry
// and that buffer are skipped: they hold the needles. Counts hits per secret (the `hits` used
// for freed blocks, which must be disarmed meanwhile); returns the bytes searched.
std::size_t scan_live_memory(std::string& where) {
  constexpr std::size_t kChunk = 1 << 20;
  void* buf = mmap(nullptr, kChunk, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (buf == MAP_FAILED) std::abort();
  const auto buf_lo = reinterpret_cast<std::uintptr_t>(buf), buf_hi = buf_lo + kChunk;
  const auto reg_lo = reinterpret_cast<std::uintptr_t>(&g_secrets[0]);
  const auto reg_hi = reinterpret_cast<std::uintptr_t>(&g_secrets[kMaxSecrets]);
  std::string maps;
  {
    int fd = ::open("/proc/self/maps", O_RDONLY | O_CLOEXEC);
    char b[4096];
    for (ssize_t n; (n = ::read(fd, b, sizeof b)) > 0;) maps.append(b, std::size_t(n));
    ::close(fd);
  }
  int mem = ::open("/proc/self/mem", O_RDONLY | O_CLOEXEC);
  std::size_t scanned = 0;
  std::size_t pos = 0;
  while (pos < maps.size()) {
    std::size_t eol = maps.find('\n', pos);
    std::string line = maps.substr(pos, eol - pos);
    pos = eol == std::string::npos ? maps.size() : eol + 1;
    unsigned long lo = 0, hi = 0;
    char perms[8] = {};
    if (std::sscanf(line.c_str(), "%lx-%lx %7s", &lo, &hi, perms) != 3 || perms[0] != 'r' || perms[1] != 'w') continue;
    if (line.find("[vvar]") != std::string::npos || line.find("[vsyscall]") != std::string::npos) continue;
    // The ranges to read: the mapping minus the scan buffer and the registry.
    std::vector<std::pair<std::uintptr_t, std::uintptr_t>> parts{{lo, hi}};
    for (auto [xlo, xhi] : {std::pair{buf_lo, buf_hi}, std::pair{reg_lo, reg_hi}}) {
      std::vector<std::pair<std::uintptr_t, std::uintptr_t>> next;
      for (auto [a, b] : parts) {
        if (xhi <= a || xlo >= b) {
          next.push_back({a, b});
          continue;
        }
        if (a < xlo) next.push_back({a, xlo});
        if (xhi < b) next.push_back({xhi, b});
      }
      parts = std::move(next);
    }
    for (auto [a, b] : parts) {
      // Chunks overlap by kNeedle - 1 bytes, so a secret across a chunk boundary is still seen.
      for (std::uintptr_t at = a; at < b;) {
        const std::size_t want = std::min<std::uintptr_t>(kChunk, b - at);
        ssize_t n = ::pread(mem, buf, want, off_t(at));
        if (n <= 0) break;  // a guard page
        scanned += std::size_t(n);
        for (int i = 0; i < g_count.load(); ++i) {
          const unsigned char* p = static_cast<const unsigned char*>(buf);
          const unsigned char* end = p + n;
          while (const void* hit = memmem(p, std::size_t(end - p), g_secrets[i].bytes, kNeedle)) {
            g_secrets[i].hits.fetch_add(1);
            const auto off = static_cast<const unsigned char*>(hit) - static_cast<const unsigned char*>(buf);
            char note[200];
            std::snprintf(note, sizeof note, "%s at 0x%lx in %s; ", g_secrets[i].label, (unsigned long)(at + off),
                          line.size() > 73 ? line.substr(73).c_str() : "[anon]");
            where += note;
            p = static_cast<const unsigned char*>(hit) + 1;
          }
        }
        if (std::size_t(n) < want || at + std::size_t(n) >= b) break;
        at += std::size_t(n) - (kNeedle - 1);
      }
    }
  }
  ::close(mem);
  OPENSSL_cleanse(buf, kChunk);
  munmap(buf, kChunk);
  return scanned;
}

std::string report() {
  std::string r;
  for (int i = 0; i < g_count.load(); ++i)
    if (g_secrets[i].hits.load())
      r += std::string(g_secrets[i].label) + " in " + std::to_string(g_secrets[i].hits.load()) +
           " freed block(s), first of " + std::to_string(g_secrets[i].first_hit_block) + " bytes; ";
  return r;
}

void free_block(void* p) {
  if (!p) return;
  scan(p, malloc_usable_size(p));
  std::free(p);
}

void* ossl_malloc(std::size_t n, const char*, int) { return std::malloc(n); }
void* ossl_realloc(void* p, std::size_t n, const char*, int) {
  // realloc may move the block and free the old one behind our back: do it by hand.
  if (!p) return std::malloc(n);
  void* q = std::malloc(n ? n : 1);
  if (!q) return nullptr;
  std::size_t old = malloc_usable_size(p);
  std::memcpy(q, p, old < n ? old : n);
  free_block(p);
  return q;
}
void ossl_free(void* p, const char*, int) { free_block(p); }

// Before any OpenSSL allocation (static initialisation of this binary).
const bool g_openssl_hooked = CRYPTO_set_mem_functions(ossl_malloc, ossl_realloc, ossl_free) == 1;

}  // namespace leakscan

void* operator new(std::size_t n) {
  if (void* p = std::malloc(n ? n : 1)) return p;
  throw std::bad_alloc();
}
void* operator new[](std::size_t n) { return operator new(n); }
void* operator new(std::size_t n, const std::nothrow_t&) noexcept { return std::malloc(n ? n : 1); }
void* operator new[](std::size_t n, const std::nothrow_t&) noexcept { return std::malloc(n ? n : 1); }
void* operator new(std::size_t n, std::align_val_t a) {
  void* p = nullptr;
  if (posix_memalign(&p, std::max(sizeof(void*), std::size_t(a)), n ? n : 1) != 0) throw std::bad_alloc();
  return p;
}
void* operator new[](std::size_t n, std::align_val_t a) { return operator new(n, a); }
void operator delete(void* p) noexcept { leakscan::free_block(p); }
void operator delete[](void* p) noexcept { leakscan::free_block(p); }
void operator delete(void* p, std::size_t) noexcept { leakscan::free_block(p); }
void operator delete[](void* p, std::size_t) noexcept { leakscan::free_block(p); }
void operator delete(void* p, std::align_val_t) noexcept { leakscan::free_block(p); }
void operator delete[](void* p, std::align_val_t) noexcept { leakscan::free_block(p); }
void operator delete(void* p, std::size_t, std::align_val_t) noexcept { leakscan::free_block(p); }
void operator delete[](void* p, std::size_t, std::align_val_t) noexcept { leakscan::free_block(p); }
void operator delete(void* p, const std::nothrow_t&) noexcept { leakscan::free_block(p); }
void operator delete[](void* p, const std::nothrow_t&) noexcept { leakscan::free_block(p); }

namespace wgcore {
namespace {

using namespace std::chrono_literals;

// Every 32-byte draw is a potential secret (ephemeral keys, the cookie secret): registered raw
// and clamped (x25519_generate clamps the draw it stores).
class RecordingRandom : public Random {
 public:
  explicit RecordingRandom(std::uint64_t seed) : inner_(seed) {}
  void fill(std::span<std::uint8_t> out) override {
    inner_.fill(out);
    if (out.size() == kKeyLen) {
      leakscan::add(out.data(), "random 32-byte draw (raw)");
      Key clamped(std::span<const std::uint8_t, kKeyLen>(out.data(), kKeyLen));
      crypto::x25519_clamp(clamped);
      leakscan::add(clamped.data(), "random 32-byte draw (clamped: ephemeral/static key)");
      ++draws;
    }
  }
  int draws = 0;

 private:
  fakes::SeededRandom inner_;
};

class Wire;

class Node : public EngineSink {
 public:
  Node(Wire& wire, fakes::ManualClock& clock, std::uint64_t seed, const char* addr)
      : wire_(wire), rng(seed), engine(std::make_unique<Engine>(clock, rng, *this)),
        address(*Endpoint::parse(addr)) {}
  void send_to_peer(Peer& peer, std::span<const std::uint8_t> d) override;
  void send_to_endpoint(const Endpoint& to, const Endpoint&, std::span<const std::uint8_t> d) override;
  void deliver(Peer&, std::span<const std::uint8_t>) override { ++delivered; }

  Wire& wire_;
  RecordingRandom rng;
  std::unique_ptr<Engine> engine;
  Endpoint address;
  int delivered = 0;
};

class Wire {
 public:
  struct Datagram {
    Endpoint from, to;
    std::vector<std::uint8_t> bytes;
  };
  std::deque<Datagram> in_flight;
  std::vector<Node*> nodes;
  void run() {
    while (!in_flight.empty()) {
      Datagram g = std::move(in_flight.front());
      in_flight.pop_front();
      for (Node* n : nodes)
        if (n->address == g.to) n->engine->receive(g.bytes, g.from, g.to, false);
    }
  }
};

void Node::send_to_peer(Peer& peer, std::span<const std::uint8_t> d) {
  wire_.in_flight.push_back({address, *peer.endpoint, {d.begin(), d.end()}});
}
void Node::send_to_endpoint(const Endpoint& to, const Endpoint&, std::span<const std::uint8_t> d) {
  wire_.in_flight.push_back({address, to, {d.begin(), d.end()}});
}

std::vector<std::uint8_t> ipv4(const char* src, const char* dst) {
  std::vector<std::uint8_t> p(60);
  p[0] = 0x45;
  p[3] = 60;
  p[8] = 64;
  p[9] = 17;
  std::memcpy(&p[12], IpAddr::parse(src)->bytes.data(), 4);
  std::memcpy(&p[16], IpAddr::parse(dst)->bytes.data(), 4);
  return p;
}

Key known_key(std::uint8_t seed) {
  Key k;
  for (std::size_t i = 0; i < kKeyLen; ++i) k[i] = std::uint8_t(seed * 31 + i * 7 + 1);
  crypto::x25519_clamp(k);
  return k;
}

// a and b as each other's peer: identities, a PSK, endpoints, one tunnel address each.
// Returns a's view of b.
Peer* pair_up(Node& a, Node& b, const Key& priv_a, const Key& priv_b, const Key& psk) {
  a.engine->set_private_key(priv_a);
  b.engine->set_private_key(priv_b);
  Peer* a_b = a.engine->add_peer(b.engine->identity().public_key);
  Peer* b_a = b.engine->add_peer(a.engine->identity().public_key);
  a.engine->set_preshared_key(*a_b, psk);
  b.engine->set_preshared_key(*b_a, psk);
  a.engine->set_endpoint(*a_b, b.address);
  b.engine->set_endpoint(*b_a, a.address);
  a.engine->add_allowed_ip(*a_b, *IpPrefix::parse("203.0.113.2/32"));
  b.engine->add_allowed_ip(*b_a, *IpPrefix::parse("203.0.113.1/32"));
  return a_b;
}

// `n` packets each way, then the session's keys registered as secrets.
void traffic_then_register(Node& a, Node& b, Wire& wire, Peer* a_b, int n) {
  for (int i = 0; i < n; ++i) {
    a.engine->send_packet(ipv4("203.0.113.1", "203.0.113.2"));
    wire.run();
    b.engine->send_packet(ipv4("203.0.113.2", "203.0.113.1"));
    wire.run();
  }
  ASSERT_TRUE(a_b->keypairs.current()) << "no session";
  leakscan::add(a_b->keypairs.current()->sending_key.data(), "session key a->b");
  leakscan::add(a_b->keypairs.current()->receiving_key.data(), "session key b->a");
}

// The whole writable memory searched for every registered secret: hits on secrets whose label
// starts with "control" (a key that must still be there: proof the scan sees it) and on the rest
// (expired keys: there must be none).
struct LiveScan {
  int found = 0;
  int control = 0;
  std::size_t scanned = 0;
  std::string where;
};
LiveScan scan_registered_secrets() {
  LiveScan r;
  r.scanned = leakscan::scan_live_memory(r.where);
  for (int i = 0; i < leakscan::g_count.load(); ++i) {
    const int h = leakscan::g_secrets[i].hits.load();
    if (std::strncmp(leakscan::g_secrets[i].label, "control", 7) == 0) r.control += h;
    else r.found += h;
  }
  return r;
}

class ZeroingTest : public ::testing::Test {
 protected:
  void SetUp() override { leakscan::reset(); }
  void TearDown() override { leakscan::reset(); }
};

TEST_F(ZeroingTest, HooksSeeAKeyInAFreedBlock) {
  ASSERT_TRUE(leakscan::g_openssl_hooked) << "OpenSSL allocated before the hooks were installed";
  Key k = known_key(9);
  leakscan::add(k.data(), "self-test key");
  leakscan::g_armed = true;
  auto* v = new std::vector<std::uint8_t>(k.data(), k.data() + kKeyLen);
  delete v;
  EXPECT_EQ(leakscan::total_hits(), 1) << "operator delete hook";
  void* o = OPENSSL_malloc(100);
  std::memcpy(static_cast<char*>(o) + 50, k.data(), 32);
  OPENSSL_free(o);
  EXPECT_EQ(leakscan::total_hits(), 2) << "OpenSSL free hook";
}

TEST_F(ZeroingTest, EngineSessionLeavesNoKeyInFreedMemory) {
  ASSERT_TRUE(leakscan::g_openssl_hooked);
  fakes::ManualClock clock;
  Wire wire;
  std::weak_ptr<Keypair> old_keypair;
  {
    Node a(wire, clock, 1, "198.51.100.1:51820"), b(wire, clock, 2, "198.51.100.2:51820");
    wire.nodes = {&a, &b};
    const Key priv_a = known_key(1), priv_b = known_key(2), psk = known_key(3), priv_a2 = known_key(4);
    leakscan::add(priv_a.data(), "static private key a");
    leakscan::add(priv_b.data(), "static private key b");
    leakscan::add(psk.data(), "preshared key");
    leakscan::g_armed = true;  // from here on, every free is searched

    Peer* a_b = pair_up(a, b, priv_a, priv_b, psk);
    Peer* b_a = b.engine->find_peer(a.engine->identity().public_key);

    for (int round = 0; round < 5; ++round) {
      traffic_then_register(a, b, wire, a_b, 30);
      // A new handshake each round (past REKEY_TIMEOUT, alternating initiators), so keypairs
      // rotate through next/current/previous and old ones are freed during the run.
      clock.advance(6s);
      if (round % 2 == 0)
        a.engine->initiate_handshake(*a_b);
      else
        b.engine->initiate_handshake(*b_a);
      wire.run();
      a.engine->run_timers();
      b.engine->run_timers();
      wire.run();
    }
    EXPECT_GT(a.delivered, 100);
    EXPECT_GT(b.delivered, 100);
    EXPECT_GE(a.rng.draws + b.rng.draws, 6) << "ephemeral keys should have been drawn";
    old_keypair = a_b->keypairs.current();

    // Forget: the peer on a (PSK, handshake, keypairs), then a's identity, then everything.
    a.engine->remove_peer(a_b);
    a.engine->set_private_key(priv_a2);
    EXPECT_TRUE(old_keypair.expired()) << "the removed peer's keypair is still referenced";
    a.engine.reset();
    b.engine.reset();
  }
  leakscan::g_armed = false;
  EXPECT_GT(leakscan::g_blocks_scanned.load(), 100);
  EXPECT_EQ(leakscan::total_hits(), 0) << leakscan::report();
  std::printf("[ zeroing ] %d secrets registered, %ld freed blocks searched, %d hits\n",
              leakscan::g_count.load(), leakscan::g_blocks_scanned.load(), leakscan::total_hits());
}

// After a session's keys expire, nothing in the live process holds them: not the engine, not a
// thread's cached cipher or hash context (this thread's, and an idle crypto helper's that
// sealed with them), not a stack. The whole writable memory is searched for the session keys,
// the chaining keys of the handshakes, the ephemeral draws, the old private key and the PSK.
// Control: the live private key must be found, or the scan proves nothing.
TEST_F(ZeroingTest, LiveMemoryKeepsNoExpiredKey) {
  fakes::ManualClock clock;
  Wire wire;
  const Key priv_a2 = known_key(14);
  leakscan::add(priv_a2.data(), "control: the live private key");
  // Helpers that start at once (1 byte per thread) and never idle out during the test.
  CryptoWorkers workers(2, 1, std::chrono::milliseconds(600000));
  auto a = std::make_unique<Node>(wire, clock, 21, "198.51.100.1:51820");
  {
    Node b(wire, clock, 22, "198.51.100.2:51820");
    wire.nodes = {a.get(), &b};
    const Key priv_a = known_key(11), priv_b = known_key(12), psk = known_key(13);
    leakscan::add(priv_a.data(), "old private key a");
    leakscan::add(psk.data(), "preshared key");
    Peer* a_b = pair_up(*a, b, priv_a, priv_b, psk);
    for (int round = 0; round < 3; ++round) {
      clock.advance(6s);
      a->engine->initiate_handshake(*a_b);
      leakscan::add(a_b->handshake.secrets->chaining_key.data(), "chaining key after the initiation");
      leakscan::add(a_b->handshake.secrets->hash.data(), "handshake hash after the initiation");
      wire.run();
      traffic_then_register(*a, b, wire, a_b, 10);
    }
    // A crypto helper seals with the newest session key, as a Device's helpers do under load,
    // and then sits idle with the key in its cached context.
    const Keypair& kp = *a_b->keypairs.current();
    std::vector<std::vector<std::uint8_t>> out(4, std::vector<std::uint8_t>(64 + crypto::kAeadTag));
    std::vector<std::uint8_t> plain(64, 7);
    auto seal = [&](std::size_t i) { crypto::aead_seal(out[i], plain, i, {}, kp.sending_key.span()); };
    workers.for_each(out.size(), 1 << 20, seal);
    ASSERT_GE(workers.live_helpers(), 1u);

    // Expire: the peer goes (its PSK, handshake and keypairs), then the identity; b goes.
    a->engine->remove_peer(a_b);
    a->engine->set_private_key(priv_a2);
  }
  workers.wipe_stale_keys();  // what a Device does after each turn
  std::this_thread::sleep_for(200ms);
  ASSERT_GE(workers.live_helpers(), 1u) << "the helper must still be alive: an exit would wipe it anyway";
  const LiveScan scan = scan_registered_secrets();
  EXPECT_GE(scan.control, 1) << "the live private key was not found: the scan cannot be trusted";
  EXPECT_EQ(scan.found, 0) << scan.where;
  std::printf("[ live scan ] %d secrets, %zu bytes of writable memory searched, %d expired found, control %d\n",
              leakscan::g_count.load(), scan.scanned, scan.found, scan.control);
}

// A datapath that seals later, in batches, as the Device does: the engine leaves each message's
// seal as a SealJob in the node's buffer.
class DeferringNode : public Node {
 public:
  using Node::Node;
  std::span<std::uint8_t> datagram_buffer(Peer&, std::size_t size) override {
    if (!defer) return {};
    buffers.emplace_back(size);
    return buffers.back();
  }
  bool seal_later(Peer&, const SealJob& job) override {
    jobs.push_back(job);
    return true;
  }
  void commit_to_peer(Peer&, std::size_t, std::uint8_t) override {}
  bool defer = false;
  std::deque<std::vector<std::uint8_t>> buffers;
  std::vector<SealJob> jobs;
};

// A seal still queued when its keypair is dropped in the same turn (the peer removed, or the
// session rotated out) runs after the drop wiped the cached keys, and caches the key again: the
// end of the batch must wipe it once more, or the key outlives its session in this thread's
// cipher context.
TEST_F(ZeroingTest, SealQueuedBeforeADropLeavesNoKeyCached) {
  fakes::ManualClock clock;
  Wire wire;
  const Key priv_a2 = known_key(24);
  leakscan::add(priv_a2.data(), "control: the live private key");
  auto a = std::make_unique<DeferringNode>(wire, clock, 31, "198.51.100.1:51820");
  auto b = std::make_unique<Node>(wire, clock, 32, "198.51.100.2:51820");
  wire.nodes = {a.get(), b.get()};
  Peer* a_b = pair_up(*a, *b, known_key(21), known_key(22), known_key(23));
  a->engine->initiate_handshake(*a_b);
  wire.run();
  traffic_then_register(*a, *b, wire, a_b, 3);
  a->defer = true;
  a->engine->send_packet(ipv4("203.0.113.1", "203.0.113.2"));
  ASSERT_EQ(a->jobs.size(), 1u) << "the seal was not deferred";
  b.reset();  // b's copy of the session goes first (its own wipe comes before the seal)
  wire.nodes = {a.get()};
  a->engine->remove_peer(a_b);  // drops the keypair the queued job holds
  a->engine->set_private_key(priv_a2);
  for (auto& j : a->jobs) j.run();
  release_seal_jobs(a->jobs);
  EXPECT_TRUE(a->jobs.empty());
  const LiveScan scan = scan_registered_secrets();
  EXPECT_GE(scan.control, 1) << "the live private key was not found: the scan cannot be trusted";
  EXPECT_EQ(scan.found, 0) << scan.where;
}

// The UAPI text layer: a set body carrying a private key and a PSK in hex is parsed, and a get
// answer formatted from the resulting state; no freed block may keep the hex text (the caller
// wipes the answer it receives, as the server does).
TEST_F(ZeroingTest, UapiTextLeavesNoKeyTextInFreedMemory) {
  const Key priv = known_key(5), psk = known_key(6), pub = known_key(7);
  std::string priv_hex = to_hex(priv), psk_hex = to_hex(psk);
  // Needles: the first 32 characters of each hex text.
  leakscan::add(reinterpret_cast<const unsigned char*>(priv_hex.data()), "private key hex text");
  leakscan::add(reinterpret_cast<const unsigned char*>(psk_hex.data()), "preshared key hex text");
  leakscan::add(reinterpret_cast<const unsigned char*>(priv_hex.data() + 32), "private key hex (2nd half)");
  leakscan::add(priv.data(), "private key");
  leakscan::add(psk.data(), "preshared key");
  leakscan::g_armed = true;
  {
    SecretString body;
    body += "private_key=";
    body += priv_hex;
    body += "\nlisten_port=51820\npublic_key=" + to_hex(pub) + "\npreshared_key=";
    body += psk_hex;
    body += "\nallowed_ip=203.0.113.9/32\n";
    auto update = uapi::parse_set(body);
    ASSERT_TRUE(update) << update.error().message;
    DeviceState state;
    state.private_key = *update->private_key;
    state.listen_port = 51820;
    PeerState peer;
    peer.public_key = pub;
    peer.preshared_key = *update->peers.at(0).preshared_key;
    for (int i = 0; i < 40; ++i) state.peers.push_back(peer);  // a long answer that must grow
    std::string answer = uapi::format_get(state);
    EXPECT_NE(answer.find(psk_hex), std::string::npos);
    secure_zero(answer.data(), answer.size());
  }
  leakscan::g_armed = false;
  EXPECT_EQ(leakscan::total_hits(), 0) << leakscan::report();
  secure_zero(priv_hex.data(), priv_hex.size());
  secure_zero(psk_hex.data(), psk_hex.size());
}

// The client side of UAPI (what `wgcore` and the integrations use to configure a userspace
// daemon): a set request carries the private key and PSK in hex, a get answer carries the private
// key; neither may be left in freed memory, by the client or by the server answering it.
class MemoryControl : public Control {
 public:
  Result<DeviceState> get() override { return state_; }
  Status apply(const DeviceUpdate& u) override {
    if (u.private_key) state_.private_key = *u.private_key;
    if (u.listen_port) state_.listen_port = *u.listen_port;
    for (const auto& p : u.peers) {
      PeerState ps;
      ps.public_key = p.public_key;
      if (p.preshared_key) ps.preshared_key = *p.preshared_key;
      state_.peers.push_back(ps);
    }
    return {};
  }
  std::string backend() const override { return "memory"; }

 private:
  DeviceState state_;
};

TEST_F(ZeroingTest, UapiClientLeavesNoKeyTextInFreedMemory) {
  char dir_template[] = "/tmp/wgcore-zeroing.XXXXXX";
  ASSERT_NE(::mkdtemp(dir_template), nullptr);
  const std::string dir = dir_template;
  MemoryControl ctl;
  auto server = uapi::UapiServer::listen("zt0", ctl, dir);
  ASSERT_TRUE(server) << server.error().message;
  const Key priv = known_key(11), psk = known_key(12), pub = known_key(13);
  std::string priv_hex = to_hex(priv), psk_hex = to_hex(psk);
  leakscan::add(reinterpret_cast<const unsigned char*>(priv_hex.data()), "private key hex text");
  leakscan::add(reinterpret_cast<const unsigned char*>(priv_hex.data() + 32), "private key hex (2nd half)");
  leakscan::add(reinterpret_cast<const unsigned char*>(psk_hex.data()), "preshared key hex text");
  leakscan::add(priv.data(), "private key");
  leakscan::add(psk.data(), "preshared key");
  leakscan::g_armed = true;
  {
    uapi::UapiClient client = uapi::UapiClient::for_interface("zt0", dir);
    DeviceUpdate u;
    u.private_key = priv;
    u.listen_port = 51820;
    for (int i = 0; i < 40; ++i) {  // a request and an answer long enough to grow their buffers
      PeerUpdate p;
      p.public_key = pub;
      p.public_key[0] = std::uint8_t(i);
      p.preshared_key = psk;
      u.peers.push_back(p);
    }
    auto st = client.apply(u);
    ASSERT_TRUE(st) << st.error().message;
    auto got = client.get();
    ASSERT_TRUE(got) << got.error().message;
    ASSERT_TRUE(got->private_key);
    EXPECT_TRUE(*got->private_key == priv);
    EXPECT_EQ(got->peers.size(), 40u);
  }
  server->reset();  // joins the server's connection threads before the hooks are disarmed
  leakscan::g_armed = false;
  EXPECT_EQ(leakscan::total_hits(), 0) << leakscan::report();
  secure_zero(priv_hex.data(), priv_hex.size());
  secure_zero(psk_hex.data(), psk_hex.size());
  ::rmdir(dir.c_str());
}

}  // namespace
}  // namespace wgcore
