// X25519 (RFC 7748) through OpenSSL's EVP_PKEY interface, with WireGuard's clamping and its
// rejection of all-zero shared secrets (low-order peer points).
//
// Cost (bench/handshake_bench, docs/performance-microbench.md): importing a raw private key
// with EVP_PKEY_new_raw_private_key also derives its public key, one more scalar
// multiplication that a Diffie-Hellman never uses. x25519() therefore imports the private key
// through EVP_PKEY_fromdata together with a public half, which OpenSSL then stores instead of
// computing; the derivation reads only the private half of our key and the public half of the
// peer's. The import contexts are per thread and reused, so a call allocates only the two
// short-lived keys. Private key copies inside OpenSSL are cleansed by EVP_PKEY_free.
#include "core/crypto/x25519.hpp"

#include <openssl/crypto.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/params.h>

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

// One X25519 key-management context per thread for EVP_PKEY_fromdata, created on first use.
struct ThreadImport {
  EVP_PKEY_CTX* ctx = EVP_PKEY_CTX_new_from_name(nullptr, "X25519", nullptr);
  ThreadImport() = default;
  ThreadImport(const ThreadImport&) = delete;
  ThreadImport& operator=(const ThreadImport&) = delete;
  ~ThreadImport() { EVP_PKEY_CTX_free(ctx); }
};

// A key holding `priv` for derivation only: `stand_in_pub` is stored as its public half
// without being checked, which spares the base-point multiplication. Never export it.
EVP_PKEY* private_key_for_derive(const Key& priv, const Key& stand_in_pub) noexcept {
  thread_local ThreadImport import;
  if (import.ctx == nullptr || EVP_PKEY_fromdata_init(import.ctx) != 1) return nullptr;
  // OSSL_PARAM wants non-const pointers; OpenSSL only copies out of them.
  OSSL_PARAM params[] = {
      OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_PRIV_KEY,
                                        const_cast<std::uint8_t*>(priv.data()), priv.size()),
      OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_PUB_KEY,
                                        const_cast<std::uint8_t*>(stand_in_pub.data()),
                                        stand_in_pub.size()),
      OSSL_PARAM_construct_end(),
  };
  EVP_PKEY* key = nullptr;
  if (EVP_PKEY_fromdata(import.ctx, &key, EVP_PKEY_KEYPAIR, params) != 1) return nullptr;
  return key;
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
  // X25519(priv, 9) through the same derivation as a Diffie-Hellman: OpenSSL 3.0's own
  // public-from-private path (a fixed-base multiplication in portable 32-bit code) costs more
  // than its Montgomery ladder in x86-64 assembly. OpenSSL clamps the scalar, so the product
  // with the base point is never all zero and x25519()'s low-order check cannot trip here.
  static const Key kBasePoint = [] {
    Key k;
    k[0] = 9;
    return k;
  }();
  if (!x25519(pub, priv, kBasePoint)) {
    pub.clear();
    return false;
  }
  return true;
}

bool x25519(Key& shared, const Key& priv, const Key& pub) noexcept {
  shared.clear();
  Owned<EVP_PKEY, PkeyDeleter> mine(private_key_for_derive(priv, pub));
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
