// Test doubles for the protocol core's injected environment: a clock that moves only when told to
// and deterministic "randomness", so two peers can run in one test process and every run repeats
// exactly. Header-only; for tests, never for production (none of this is secure).
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <span>
#include <string_view>
#include <vector>

#include "core/crypto/x25519.hpp"
#include "core/environment.hpp"
#include "wgcore/config.hpp"
#include "wgcore/key.hpp"

namespace wgcore::fakes {

// Both clocks start at fixed, non-zero points (code that treats time 0 as "never" shows up) and
// move together on advance(). The wall clock can also be set on its own, as a real one can jump.
class ManualClock : public Clock {
 public:
  static constexpr Time kDefaultStart = std::chrono::hours(1);
  // 2025-06-01T00:00:00Z, so TAI64N timestamps look like real ones.
  static constexpr WallTime kDefaultWallStart = std::chrono::seconds(1748736000);

  explicit ManualClock(Time start = kDefaultStart, WallTime wall_start = kDefaultWallStart)
      : now_(start), wall_(wall_start) {}

  Time now() const override { return now_; }
  WallTime wall_now() const override { return wall_; }

  // Monotonic time never goes backwards: a negative step is ignored for it.
  void advance(std::chrono::nanoseconds d) {
    if (d.count() > 0) now_ += d;
    wall_ += d;
  }
  void set_wall(WallTime w) { wall_ = w; }

 private:
  Time now_;
  WallTime wall_;
};

// splitmix64: tiny, fast, full-period, and good enough to make keys and indices look random.
// The same seed always gives the same byte stream.
class SeededRandom : public Random {
 public:
  explicit SeededRandom(std::uint64_t seed = 0x5eed) : state_(seed) {}

  void fill(std::span<std::uint8_t> out) override {
    std::size_t i = 0;
    while (i < out.size()) {
      std::uint64_t v = next();
      for (int b = 0; b < 8 && i < out.size(); ++b, ++i) out[i] = std::uint8_t(v >> (8 * b));
    }
  }

  std::uint64_t next() {
    std::uint64_t z = (state_ += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  }

 private:
  std::uint64_t state_;
};

// Hands out scripted bytes first (push() them in the order the code under test will ask), then
// falls back to a seeded stream. Every fill() is recorded, so a test can see what a secret was.
class ScriptedRandom : public Random {
 public:
  explicit ScriptedRandom(std::uint64_t seed = 0x5c21) : fallback_(seed) {}

  void push(std::span<const std::uint8_t> bytes) { script_.insert(script_.end(), bytes.begin(), bytes.end()); }

  void fill(std::span<std::uint8_t> out) override {
    for (auto& b : out) {
      if (!script_.empty()) {
        b = script_.front();
        script_.pop_front();
      } else {
        std::uint8_t one[1];
        fallback_.fill(one);
        b = one[0];
      }
    }
    fills_.emplace_back(out.begin(), out.end());
  }

  std::size_t scripted_left() const { return script_.size(); }
  // Every fill() so far, in order.
  const std::vector<std::vector<std::uint8_t>>& fills() const { return fills_; }

 private:
  std::deque<std::uint8_t> script_;
  SeededRandom fallback_;
  std::vector<std::vector<std::uint8_t>> fills_;
};

// Test vectors are written as hex; a malformed literal is a bug in the test, so it yields an
// empty vector that no size check will accept.
inline std::vector<std::uint8_t> unhex(std::string_view hex) {
  std::vector<std::uint8_t> out(hex.size() / 2);
  if (hex.size() % 2 != 0 || !hex_decode(hex, out)) return {};
  return out;
}

// A test's key pair: the private key drawn from SeededRandom(seed), and the public key of any
// private key (all zero if the derivation fails, which a test's comparison then shows).
inline Key seeded_private_key(std::uint64_t seed) {
  SeededRandom r(seed);
  return crypto::x25519_generate(r);
}
inline Key public_key_of(const Key& priv) {
  Key pub;
  if (!crypto::x25519_public(pub, priv)) return Key{};
  return pub;
}

// An IPv4 prefix from a host-order address and a length, host bits cleared.
inline IpPrefix prefix4(std::uint32_t host_order, std::uint8_t len) {
  IpPrefix p;
  p.addr = IpAddr::v4(host_order);
  p.len = len;
  return p.canonical();
}

// A key of 32 bytes from `r`: a peer's public key where any bytes will do.
inline Key random_key(Random& r) {
  Key k;
  r.fill(std::span<std::uint8_t>(k.data(), 32));
  return k;
}

// A one-block update, as `wg set wg0 peer KEY allowed-ips ...` sends: the peer's allowed-IP
// ops, `update_only`, or its removal.
struct OneBlock {
  bool update_only = false;
  bool remove = false;
};
inline DeviceUpdate one_block(const Key& peer, std::vector<AllowedIpOp> ops, OneBlock how = {}) {
  DeviceUpdate u;
  PeerUpdate p;
  p.public_key = peer;
  p.update_only = how.update_only;
  p.remove = how.remove;
  p.allowed_ips = std::move(ops);
  u.peers.push_back(std::move(p));
  return u;
}

}  // namespace wgcore::fakes
