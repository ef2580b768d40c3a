// Noise IKpsk2 for WireGuard. Every step is named after the paper's notation (Ci/Hi, Cr/Hr); the
// consume functions work on copies and touch the peer's handshake only once everything verified,
// so a forged message can never disturb a handshake in progress.
#include "core/noise.hpp"

#include <cstring>

#include "core/crypto/aead.hpp"
#include "core/crypto/blake2s.hpp"
#include "core/crypto/x25519.hpp"

namespace wgcore {

using crypto::Bytes;

void Identity::set(const std::optional<Key>& priv) {
  if (!priv || priv->is_zero()) {
    private_key.clear();
    public_key.clear();
    valid = false;
    return;
  }
  private_key = *priv;
  crypto::x25519_clamp(private_key);
  valid = crypto::x25519_public(public_key, private_key);
}

const char* to_string(HandshakeState s) {
  switch (s) {
    case HandshakeState::kZeroed: return "zeroed";
    case HandshakeState::kCreatedInitiation: return "created-initiation";
    case HandshakeState::kConsumedInitiation: return "consumed-initiation";
    case HandshakeState::kCreatedResponse: return "created-response";
    case HandshakeState::kConsumedResponse: return "consumed-response";
  }
  return "?";
}

HandshakeSecrets::~HandshakeSecrets() {
  secure_zero(hash.data(), hash.size());
  secure_zero(chaining_key.data(), chaining_key.size());
}

void Handshake::clear() noexcept {
  state = HandshakeState::kZeroed;
  secrets.reset();
  local_index = 0;
  remote_index = 0;
}

namespace noise {
namespace {

Bytes bytes(std::string_view s) { return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()}; }

struct InitialState {
  HashBytes ck;
  HashBytes h;
  InitialState() {
    crypto::blake2s(ck, {bytes(proto::kConstruction)});
    crypto::blake2s(h, {ck, bytes(proto::kIdentifier)});
  }
};

const InitialState& initial() {
  static const InitialState s;
  return s;
}

// Scratch chaining state of one handshake step; wiped when it goes out of scope.
struct Chain {
  HashBytes ck;
  HashBytes h;
  Key key;  // the current AEAD key (k in the paper)
  Chain() = default;
  Chain(const HashBytes& c, const HashBytes& hh) : ck(c), h(hh) {}
  ~Chain() {
    secure_zero(ck.data(), ck.size());
    secure_zero(h.data(), h.size());
  }
  void mix_hash(Bytes data) { crypto::blake2s(h, {h, data}); }
  // C = Kdf1(C, input)
  void mix_key(Bytes input) {
    HashBytes t1;
    crypto::kdf(ck, input, t1);
    ck = t1;
    secure_zero(t1.data(), t1.size());
  }
  // (C, k) = Kdf2(C, input)
  void mix_key_and_key(Bytes input) {
    HashBytes t1;
    crypto::kdf(ck, input, t1, key.span());
    ck = t1;
    secure_zero(t1.data(), t1.size());
  }
  // (C, k) = Kdf2(C, DH(priv, pub)); false on a low-order point.
  bool mix_dh(const Key& priv, const Key& pub) {
    Key shared;
    if (!crypto::x25519(shared, priv, pub)) return false;
    mix_key_and_key(shared.span());
    return true;
  }
  // C = Kdf1(C, DH(priv, pub)); false on a low-order point.
  bool mix_dh_ck_only(const Key& priv, const Key& pub) {
    Key shared;
    if (!crypto::x25519(shared, priv, pub)) return false;
    mix_key(shared.span());
    return true;
  }
  // (C, tau, k) = Kdf3(C, psk); H = Hash(H || tau)
  void mix_psk(const Key& psk) {
    HashBytes t1;
    Key tau;
    crypto::kdf(ck, psk.span(), t1, tau.span(), key.span());
    ck = t1;
    secure_zero(t1.data(), t1.size());
    mix_hash(tau.span());
  }
  // A fresh ephemeral: (Epriv, Epub) = DH-Generate(); C = Kdf1(C, Epub); H = Hash(H || Epub).
  // Writes Epub to the message; false only if libcrypto fails.
  bool mix_new_ephemeral(Key& e_priv, std::uint8_t* msg_ephemeral, Random& rng) {
    e_priv = crypto::x25519_generate(rng);
    Key e_pub;
    if (!crypto::x25519_public(e_pub, e_priv)) return false;
    std::memcpy(msg_ephemeral, e_pub.data(), kKeyLen);
    mix_key(e_pub.span());
    mix_hash(e_pub.span());
    return true;
  }
  // out = AEAD(k, 0, plain, H); H = Hash(H || out)
  void encrypt_and_hash(std::uint8_t* out, Bytes plain) {
    crypto::aead_seal({out, plain.size() + proto::kAeadTagLen}, plain, 0, h, key.span());
    mix_hash({out, plain.size() + proto::kAeadTagLen});
  }
  // plain = AEAD-open(k, 0, cipher, H); H = Hash(H || cipher)
  bool decrypt_and_hash(std::uint8_t* plain, Bytes cipher) {
    if (!crypto::aead_open({plain, cipher.size() - proto::kAeadTagLen}, cipher, 0, h, key.span()))
      return false;
    mix_hash(cipher);
    return true;
  }
};

Key key_from(const std::uint8_t* p) { return Key(std::span<const std::uint8_t, kKeyLen>(p, kKeyLen)); }

}  // namespace

const HashBytes& initial_chaining_key() { return initial().ck; }
const HashBytes& initial_hash() { return initial().h; }

void precompute_static_static(Handshake& hs, const Identity& id) {
  const bool ok = id.valid && crypto::x25519(hs.precomputed_static_static, id.private_key, hs.remote_static);
  if (!ok) hs.precomputed_static_static.clear();
  hs.static_static = ok ? StaticStatic::kReady : StaticStatic::kNone;
}

void forget_static_static(Handshake& hs) noexcept {
  hs.precomputed_static_static.clear();
  hs.static_static = StaticStatic::kStale;
}

bool static_static_ready(Handshake& hs, const Identity& id) {
  if (hs.static_static == StaticStatic::kStale) precompute_static_static(hs, id);
  return hs.static_static == StaticStatic::kReady;
}

bool create_initiation(proto::MessageHandshakeInitiation& out, Handshake& hs, const Identity& id,
                       std::uint32_t local_index, WallTime wall_now, Random& rng) {
  if (!id.valid || !static_static_ready(hs, id)) return false;
  std::memset(&out, 0, sizeof out);
  proto::store_le32(reinterpret_cast<std::uint8_t*>(&out.type),
                    std::uint32_t(proto::MessageType::kHandshakeInitiation));

  Chain c(initial().ck, initial().h);
  c.mix_hash(hs.remote_static.span());  // Hi = Hash(Hi || Spub_r)

  Key e_priv;  // Ci = Kdf1(Ci, Epub_i); Hi = Hash(Hi || msg.ephemeral)
  if (!c.mix_new_ephemeral(e_priv, out.unencrypted_ephemeral, rng)) return false;

  if (!c.mix_dh(e_priv, hs.remote_static)) return false;  // (Ci, k) = Kdf2(Ci, DH(Epriv_i, Spub_r))
  c.encrypt_and_hash(out.encrypted_static, id.public_key.span());

  c.mix_key_and_key(hs.precomputed_static_static.span());  // (Ci, k) = Kdf2(Ci, DH(Spriv_i, Spub_r))
  crypto::Tai64n ts = crypto::tai64n(wall_now);
  c.encrypt_and_hash(out.encrypted_timestamp, ts);

  proto::store_le32(reinterpret_cast<std::uint8_t*>(&out.sender_index), local_index);
  HandshakeSecrets& s = hs.begin_secrets();
  s.ephemeral_private = e_priv;
  s.chaining_key = c.ck;
  s.hash = c.h;
  hs.local_index = local_index;
  hs.state = HandshakeState::kCreatedInitiation;
  return true;
}

ConsumeResult consume_initiation(const proto::MessageHandshakeInitiation& msg, const Identity& id,
                                 Time now, const HandshakeLookup& lookup) {
  if (!id.valid) return {nullptr, ConsumeError::kNoIdentity};

  Chain c(initial().ck, initial().h);
  c.mix_hash(id.public_key.span());

  Key e = key_from(msg.unencrypted_ephemeral);
  c.mix_key(e.span());
  c.mix_hash(e.span());

  if (!c.mix_dh(id.private_key, e)) return {nullptr, ConsumeError::kDecryptFailed};
  Key s;
  if (!c.decrypt_and_hash(s.data(), {msg.encrypted_static, sizeof msg.encrypted_static}))
    return {nullptr, ConsumeError::kDecryptFailed};

  Handshake* hs = lookup(s);
  if (!hs) return {nullptr, ConsumeError::kUnknownPeer};
  if (!static_static_ready(*hs, id)) return {nullptr, ConsumeError::kDecryptFailed};

  c.mix_key_and_key(hs->precomputed_static_static.span());
  crypto::Tai64n ts;
  if (!c.decrypt_and_hash(ts.data(), {msg.encrypted_timestamp, sizeof msg.encrypted_timestamp}))
    return {nullptr, ConsumeError::kDecryptFailed};

  if (!crypto::tai64n_after(ts, hs->latest_timestamp)) return {hs, ConsumeError::kReplayedTimestamp};
  if (hs->last_initiation_consumption &&
      *hs->last_initiation_consumption + std::chrono::nanoseconds(std::chrono::seconds(1)) / proto::kInitiationsPerSecond > now)
    return {hs, ConsumeError::kFlood};

  HandshakeSecrets& sec = hs->begin_secrets();
  sec.remote_ephemeral = e;
  hs->latest_timestamp = ts;
  hs->last_initiation_consumption = now;
  sec.hash = c.h;
  sec.chaining_key = c.ck;
  hs->remote_index = proto::load_le32(reinterpret_cast<const std::uint8_t*>(&msg.sender_index));
  hs->state = HandshakeState::kConsumedInitiation;
  return {hs, ConsumeError::kNone};
}

bool create_response(proto::MessageHandshakeResponse& out, Handshake& hs, const Identity& id,
                     std::uint32_t local_index, Random& rng) {
  if (!id.valid || hs.state != HandshakeState::kConsumedInitiation || !hs.secrets) return false;
  HandshakeSecrets& s = *hs.secrets;
  std::memset(&out, 0, sizeof out);
  auto* o = reinterpret_cast<std::uint8_t*>(&out);
  proto::store_le32(o + offsetof(proto::MessageHandshakeResponse, type),
                    std::uint32_t(proto::MessageType::kHandshakeResponse));

  Chain c(s.chaining_key, s.hash);
  Key e_priv;  // Cr = Kdf1(Cr, Epub_r); Hr = Hash(Hr || msg.ephemeral)
  if (!c.mix_new_ephemeral(e_priv, out.unencrypted_ephemeral, rng)) return false;
  if (!c.mix_dh_ck_only(e_priv, s.remote_ephemeral)) return false;  // Cr = Kdf1(Cr, DH(Epriv_r, Epub_i))
  if (!c.mix_dh_ck_only(e_priv, hs.remote_static)) return false;     // Cr = Kdf1(Cr, DH(Epriv_r, Spub_i))
  c.mix_psk(hs.preshared_key);
  c.encrypt_and_hash(out.encrypted_nothing, {});

  proto::store_le32(o + offsetof(proto::MessageHandshakeResponse, sender_index), local_index);
  proto::store_le32(o + offsetof(proto::MessageHandshakeResponse, receiver_index), hs.remote_index);
  s.ephemeral_private = e_priv;
  s.chaining_key = c.ck;
  s.hash = c.h;
  hs.local_index = local_index;
  hs.state = HandshakeState::kCreatedResponse;
  return true;
}

ConsumeError consume_response(const proto::MessageHandshakeResponse& msg, Handshake& hs,
                              const Identity& id) {
  if (!id.valid) return ConsumeError::kNoIdentity;
  if (hs.state != HandshakeState::kCreatedInitiation || !hs.secrets) return ConsumeError::kDecryptFailed;
  HandshakeSecrets& s = *hs.secrets;

  Chain c(s.chaining_key, s.hash);
  Key e = key_from(msg.unencrypted_ephemeral);
  c.mix_key(e.span());
  c.mix_hash(e.span());
  if (!c.mix_dh_ck_only(s.ephemeral_private, e)) return ConsumeError::kDecryptFailed;
  if (!c.mix_dh_ck_only(id.private_key, e)) return ConsumeError::kDecryptFailed;
  c.mix_psk(hs.preshared_key);
  std::uint8_t nothing[1];
  if (!c.decrypt_and_hash(nothing, {msg.encrypted_nothing, sizeof msg.encrypted_nothing}))
    return ConsumeError::kDecryptFailed;

  s.remote_ephemeral = e;
  s.chaining_key = c.ck;
  s.hash = c.h;
  hs.remote_index = proto::load_le32(reinterpret_cast<const std::uint8_t*>(&msg.sender_index));
  hs.state = HandshakeState::kConsumedResponse;
  return ConsumeError::kNone;
}

std::optional<SessionKeys> begin_session(Handshake& hs) {
  SessionKeys k;
  if (!hs.secrets) return std::nullopt;
  if (hs.state == HandshakeState::kConsumedResponse) {
    k.i_am_initiator = true;  // (Tsend_i, Trecv_i) = Kdf2(Ci, e)
    crypto::kdf(hs.secrets->chaining_key, {}, k.sending.span(), k.receiving.span());
  } else if (hs.state == HandshakeState::kCreatedResponse) {
    k.i_am_initiator = false;  // (Trecv_r, Tsend_r) = Kdf2(Cr, e)
    crypto::kdf(hs.secrets->chaining_key, {}, k.receiving.span(), k.sending.span());
  } else {
    return std::nullopt;
  }
  k.local_index = hs.local_index;
  k.remote_index = hs.remote_index;
  hs.clear();
  return k;
}

}  // namespace noise
}  // namespace wgcore
