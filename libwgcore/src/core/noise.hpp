// Noise IKpsk2 handshake exactly as the WireGuard paper (section 5.4) specifies it: building and
// consuming initiations and responses, and deriving the transport keypair. No I/O and no clock:
// the caller passes time, randomness and the receiver indices it allocated.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>

#include "core/crypto/tai64n.hpp"
#include "core/environment.hpp"
#include "core/messages.hpp"
#include "core/optional_time.hpp"
#include "wgcore/key.hpp"

namespace wgcore {

using HashBytes = std::array<std::uint8_t, proto::kHashLen>;

// The device's static key pair.
struct Identity {
  Key private_key;
  Key public_key;
  bool valid = false;
  // Sets both keys; an all-zero private key clears the identity.
  void set(const std::optional<Key>& priv);
};

enum class HandshakeState : std::uint8_t {
  kZeroed,
  kCreatedInitiation,
  kConsumedInitiation,
  kCreatedResponse,
  kConsumedResponse,
};
const char* to_string(HandshakeState s);

// The secrets of a handshake under way: made when one starts, wiped and freed when it ends, so
// that an idle peer (nearly every peer, nearly always) carries none of their 128 bytes
// (docs/performance-microbench.md counts every idle byte).
struct HandshakeSecrets {
  Key ephemeral_private;
  Key remote_ephemeral;
  HashBytes hash{};
  HashBytes chaining_key{};
  ~HandshakeSecrets();  // wipes hash and chaining key (a Key wipes itself)
};

// DH(S_priv_local, S_pub_remote), a peer's one X25519 that depends only on configuration. It is
// computed at the first handshake that needs it, not when the peer is added or our key changes:
// a `wg setconf` of 10 000 peers, or a new private key beside them, would otherwise spend one
// scalar multiplication per peer (about 30 us each) on peers that may never handshake, on the
// thread that carries packets (issue 15; the kernel and wireguard-go compute it eagerly).
enum class StaticStatic : std::uint8_t {
  kStale,  // not computed since the peer was added or our key changed
  kReady,  // precomputed_static_static holds it
  kNone,   // no shared secret: no private key, or a low-order peer key; no handshake can succeed
};

// Per-peer handshake state. Everything secret lives in Key or is wiped by clear().
// (Largest members first, the one-byte ones last: 136 bytes, not 144, in every peer.)
struct Handshake {
  Key remote_static;
  Key preshared_key;                // all-zero when none is configured (Noise uses zero then)
  Key precomputed_static_static;    // when static_static is kReady (see StaticStatic)
  std::unique_ptr<HandshakeSecrets> secrets;  // while state != kZeroed
  OptionalTime last_initiation_consumption;
  crypto::Tai64n latest_timestamp{};
  std::uint32_t local_index = 0;
  std::uint32_t remote_index = 0;
  HandshakeState state = HandshakeState::kZeroed;
  StaticStatic static_static = StaticStatic::kStale;

  // Forgets the session in progress (not the peer's keys or the timestamp high-water mark).
  void clear() noexcept;
  // The secrets, made when absent (a handshake starts).
  HandshakeSecrets& begin_secrets() {
    if (!secrets) secrets = std::make_unique<HandshakeSecrets>();
    return *secrets;
  }
  ~Handshake() { clear(); }
};

// Symmetric transport keys derived from a completed handshake.
struct SessionKeys {
  Key sending;
  Key receiving;
  bool i_am_initiator = false;
  std::uint32_t local_index = 0;
  std::uint32_t remote_index = 0;
};

namespace noise {

// Computes DH(static, static) for a peer now; kReady or kNone afterwards.
void precompute_static_static(Handshake& hs, const Identity& id);
// Forgets it (kStale): call on peer creation and identity change; the next handshake computes it.
void forget_static_static(Handshake& hs) noexcept;
// True when a handshake with this peer can use DH(static, static), computing it if stale.
[[nodiscard]] bool static_static_ready(Handshake& hs, const Identity& id);

// Fills everything but mac1/mac2. `local_index` is the sender index the caller registered.
[[nodiscard]] bool create_initiation(proto::MessageHandshakeInitiation& out, Handshake& hs,
                                     const Identity& id, std::uint32_t local_index,
                                     WallTime wall_now, Random& rng);

// Finds the peer's handshake by the initiator's static key (decrypted from the message).
using HandshakeLookup = std::function<Handshake*(const Key& remote_static)>;

enum class ConsumeError : std::uint8_t {
  kNone,
  kNoIdentity,
  kDecryptFailed,      // bad ephemeral/static/timestamp, unknown key material
  kUnknownPeer,
  kReplayedTimestamp,  // TAI64N not newer than the last accepted one
  kFlood,              // initiations from this peer faster than kInitiationsPerSecond
};

struct ConsumeResult {
  Handshake* handshake = nullptr;
  ConsumeError error = ConsumeError::kNone;
};

// Validates and consumes an initiation; on success the found peer's handshake moves to
// kConsumedInitiation. mac1/mac2 must have been checked by the caller.
ConsumeResult consume_initiation(const proto::MessageHandshakeInitiation& msg, const Identity& id,
                                 Time now, const HandshakeLookup& lookup);

// Requires kConsumedInitiation; fills everything but mac1/mac2.
[[nodiscard]] bool create_response(proto::MessageHandshakeResponse& out, Handshake& hs,
                                   const Identity& id, std::uint32_t local_index, Random& rng);

// `hs` is the handshake the receiver index maps to; requires kCreatedInitiation.
ConsumeError consume_response(const proto::MessageHandshakeResponse& msg, Handshake& hs,
                              const Identity& id);

// From kCreatedResponse (responder) or kConsumedResponse (initiator): derives the transport
// keys and wipes the handshake. Returns nullopt in any other state.
std::optional<SessionKeys> begin_session(Handshake& hs);

// The chaining key and hash every handshake starts from (Hash(Construction),
// Hash(Hash(Construction) || Identifier)), exposed for tests.
const HashBytes& initial_chaining_key();
const HashBytes& initial_hash();

}  // namespace noise
}  // namespace wgcore
