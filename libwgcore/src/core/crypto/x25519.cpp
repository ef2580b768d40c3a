// X25519 (RFC 7748) through OpenSSL's raw-key EVP_PKEY interface, with WireGuard's clamping
// and its rejection of all-zero shared secrets (low-order peer points).
#include "core/crypto/x25519.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "core/environment.hpp"

namespace wgcore::crypto {
namespace {

// Owns one EVP_PKEY / EVP_PKEY_CTX for the duration of a call.
struct PkeyDeleter {
  void operator()(EVP_PKEY* p) const noexcept { EVP_PKEY_free(p); }
};
struct PkeyCtxDeleter {
  void operator()(EVP_PKEY_CTX* p) const noexcept { EVP_PKEY_CTX_free(p); }
};
template <typename T, typename D>
struct Owned {
  T* p;
  explicit Owned(T* v) noexcept : p(v) {}
  ~Owned() { D()(p); }
  Owned(const Owned&) = delete;
  Owned& operator=(const Owned&) = delete;
};

EVP_PKEY* private_key(const Key& priv) noexcept {
  return EVP_PKEY_new_raw_private_key_ex(nullptr, "X25519", nullptr, priv.data(), priv.size());
}

}  // namespace

void x25519_clamp(Key& priv) noexcept {
  priv[0] &= 248;
  priv[31] = static_cast<std::uint8_t>((priv[31] & 127) | 64);
}

Key x25519_generate(Random& rng) {
  Key k;
  rng.fill(k.span());
  x25519_clamp(k);
  return k;
}

bool x25519_public(Key& pub, const Key& priv) noexcept {
  Owned<EVP_PKEY, PkeyDeleter> key(private_key(priv));
  if (key.p == nullptr) return false;
  std::size_t len = pub.size();
  if (EVP_PKEY_get_raw_public_key(key.p, pub.data(), &len) != 1 || len != pub.size()) {
    pub.clear();
    return false;
  }
  return true;
}

bool x25519(Key& shared, const Key& priv, const Key& pub) noexcept {
  shared.clear();
  Owned<EVP_PKEY, PkeyDeleter> mine(private_key(priv));
  Owned<EVP_PKEY, PkeyDeleter> theirs(
      EVP_PKEY_new_raw_public_key_ex(nullptr, "X25519", nullptr, pub.data(), pub.size()));
  if (mine.p == nullptr || theirs.p == nullptr) return false;
  Owned<EVP_PKEY_CTX, PkeyCtxDeleter> ctx(EVP_PKEY_CTX_new_from_pkey(nullptr, mine.p, nullptr));
  if (ctx.p == nullptr || EVP_PKEY_derive_init(ctx.p) != 1 ||
      // No peer validation: RFC 7748 accepts any 32-byte string, and the all-zero check below
      // is the protocol's only rule about peer points.
      EVP_PKEY_derive_set_peer_ex(ctx.p, theirs.p, 0) != 1) {
    return false;
  }
  std::size_t len = shared.size();
  // OpenSSL itself fails the derivation for an all-zero result; either way the answer is
  // "no shared secret".
  if (EVP_PKEY_derive(ctx.p, shared.data(), &len) != 1 || len != shared.size()) {
    shared.clear();
    return false;
  }
  // Constant-time: the secret's bytes must not steer a branch before they are reduced to one
  // bit.
  if (shared.is_zero()) {
    shared.clear();
    return false;
  }
  return true;
}

}  // namespace wgcore::crypto
