// BLAKE2s-256, keyed BLAKE2s-128 MAC, HMAC-BLAKE2s and the WireGuard KDF over OpenSSL 3.
// Algorithms are fetched once per process and contexts are cached per thread and re-initialised
// on each call, so the handshake path does not pay for provider look-ups.
#include "core/crypto/blake2s.hpp"

#include "core/crypto/key_cache.hpp"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace wgcore::crypto {
namespace {

// These functions have no error channel: libcrypto failing here means a broken installation
// (missing default provider) or a caller violating a precondition, and continuing would leave
// key material uninitialised. Stop loudly instead.
[[noreturn]] void crypto_fail(const char* what) noexcept {
  std::fprintf(stderr, "wgcore: libcrypto failure in %s\n", what);
  std::abort();
}

// OpenSSL treats a null key pointer as "keep the previous key"; an empty span may have a null
// data(), so point at something real.
const unsigned char* nonnull(Bytes b) noexcept {
  static const unsigned char kDummy = 0;
  return b.data() != nullptr ? b.data() : &kDummy;
}

// Fetched once; intentionally never freed (they live as long as the process).
const EVP_MD* blake2s_md() noexcept {
  static const EVP_MD* md = [] {
    EVP_MD* m = EVP_MD_fetch(nullptr, "BLAKE2S-256", nullptr);
    if (m == nullptr) crypto_fail("EVP_MD_fetch(BLAKE2S-256)");
    return m;
  }();
  return md;
}

EVP_MAC* fetch_mac(const char* name) noexcept {
  EVP_MAC* m = EVP_MAC_fetch(nullptr, name, nullptr);
  if (m == nullptr) crypto_fail(name);
  return m;
}

// One context of each kind per thread, made on first use and again after a wipe (the MAC
// contexts keep their last key: key_cache.hpp), freed when the thread exits.
struct ThreadContexts {
  EVP_MD_CTX* md = nullptr;
  EVP_MAC_CTX* blake_mac = nullptr;
  EVP_MAC_CTX* hmac = nullptr;

  ThreadContexts() noexcept = default;
  ~ThreadContexts() { wipe(); }
  ThreadContexts(const ThreadContexts&) = delete;
  ThreadContexts& operator=(const ThreadContexts&) = delete;

  void wipe() noexcept {
    EVP_MD_CTX_free(md);  // OpenSSL clears the state it frees
    EVP_MAC_CTX_free(blake_mac);
    EVP_MAC_CTX_free(hmac);
    md = nullptr;
    blake_mac = nullptr;
    hmac = nullptr;
  }

  void ensure() noexcept {
    if (md != nullptr) return;
    static EVP_MAC* const blake_mac_alg = fetch_mac("BLAKE2SMAC");
    static EVP_MAC* const hmac_alg = fetch_mac("HMAC");
    md = EVP_MD_CTX_new();
    blake_mac = EVP_MAC_CTX_new(blake_mac_alg);
    hmac = EVP_MAC_CTX_new(hmac_alg);
    if (md == nullptr || blake_mac == nullptr || hmac == nullptr) crypto_fail("context alloc");

    // The output size and digest are properties of the context, set once here; per call only
    // the key changes.
    std::size_t mac_len = kBlake2sMacLen;
    OSSL_PARAM mac_params[] = {OSSL_PARAM_construct_size_t(OSSL_MAC_PARAM_SIZE, &mac_len),
                               OSSL_PARAM_construct_end()};
    if (EVP_MAC_CTX_set_params(blake_mac, mac_params) != 1) crypto_fail("BLAKE2SMAC size");
    char digest[] = "BLAKE2S-256";
    OSSL_PARAM hmac_params[] = {
        OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0),
        OSSL_PARAM_construct_end()};
    if (EVP_MAC_CTX_set_params(hmac, hmac_params) != 1) crypto_fail("HMAC digest");
  }
};

ThreadContexts& thread_contexts() noexcept {
  thread_local ThreadContexts ctx;
  return ctx;
}

ThreadContexts& contexts() noexcept {
  wipe_if_stale();
  ThreadContexts& c = thread_contexts();
  c.ensure();
  return c;
}

void mac_run(EVP_MAC_CTX* ctx, Bytes key, Bytes msg, std::uint8_t* out, std::size_t out_len,
             const char* what) noexcept {
  std::size_t written = 0;
  if (EVP_MAC_init(ctx, nonnull(key), key.size(), nullptr) != 1 ||
      (!msg.empty() && EVP_MAC_update(ctx, msg.data(), msg.size()) != 1) ||
      EVP_MAC_final(ctx, out, &written, out_len) != 1 || written != out_len) {
    crypto_fail(what);
  }
}

}  // namespace

void detail::wipe_hash_contexts() noexcept { thread_contexts().wipe(); }

void blake2s(std::span<std::uint8_t, kBlake2sLen> out, std::initializer_list<Bytes> parts) {
  EVP_MD_CTX* ctx = contexts().md;
  if (EVP_DigestInit_ex2(ctx, blake2s_md(), nullptr) != 1) crypto_fail("blake2s init");
  for (Bytes p : parts) {
    if (!p.empty() && EVP_DigestUpdate(ctx, p.data(), p.size()) != 1) {
      crypto_fail("blake2s update");
    }
  }
  unsigned int written = 0;
  if (EVP_DigestFinal_ex(ctx, out.data(), &written) != 1 || written != kBlake2sLen) {
    crypto_fail("blake2s final");
  }
}

void blake2s_mac(std::span<std::uint8_t, kBlake2sMacLen> out, Bytes key, Bytes msg) {
  mac_run(contexts().blake_mac, key, msg, out.data(), out.size(), "blake2s_mac");
}

void hmac_blake2s(std::span<std::uint8_t, kBlake2sLen> out, Bytes key, Bytes msg) {
  mac_run(contexts().hmac, key, msg, out.data(), out.size(), "hmac_blake2s");
}

namespace {

// Computes up to three outputs into locals first, so outputs may alias the chaining key or
// the input (Noise does `C = Kdf1(C, x)`).
void kdf_n(Bytes chaining_key, Bytes input, std::uint8_t* const* outs, int n) {
  std::uint8_t t0[kBlake2sLen];
  std::uint8_t t[3][kBlake2sLen];
  hmac_blake2s(std::span<std::uint8_t, kBlake2sLen>(t0), chaining_key, input);
  std::uint8_t buf[kBlake2sLen + 1];
  for (int i = 0; i < n; ++i) {
    std::size_t len = 0;
    if (i > 0) {
      std::memcpy(buf, t[i - 1], kBlake2sLen);
      len = kBlake2sLen;
    }
    buf[len++] = static_cast<std::uint8_t>(i + 1);
    hmac_blake2s(std::span<std::uint8_t, kBlake2sLen>(t[i]), Bytes(t0, sizeof t0),
                 Bytes(buf, len));
  }
  for (int i = 0; i < n; ++i) std::memcpy(outs[i], t[i], kBlake2sLen);
  OPENSSL_cleanse(t0, sizeof t0);
  OPENSSL_cleanse(t, sizeof t);
  OPENSSL_cleanse(buf, sizeof buf);
}

}  // namespace

void kdf(Bytes chaining_key, Bytes input, std::span<std::uint8_t, 32> t1) {
  std::uint8_t* outs[] = {t1.data()};
  kdf_n(chaining_key, input, outs, 1);
}

void kdf(Bytes chaining_key, Bytes input, std::span<std::uint8_t, 32> t1,
         std::span<std::uint8_t, 32> t2) {
  std::uint8_t* outs[] = {t1.data(), t2.data()};
  kdf_n(chaining_key, input, outs, 2);
}

void kdf(Bytes chaining_key, Bytes input, std::span<std::uint8_t, 32> t1,
         std::span<std::uint8_t, 32> t2, std::span<std::uint8_t, 32> t3) {
  std::uint8_t* outs[] = {t1.data(), t2.data(), t3.data()};
  kdf_n(chaining_key, input, outs, 3);
}

}  // namespace wgcore::crypto
