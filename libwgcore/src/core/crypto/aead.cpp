// ChaCha20-Poly1305 (RFC 8439) on OpenSSL with one cipher context per thread, plus the
// WireGuard counter nonce and XChaCha20-Poly1305 on top of the hand-written HChaCha20.
#include "core/crypto/aead.hpp"

#include "core/crypto/key_cache.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace wgcore::crypto {
namespace {

// Sealing has no error channel and a failure would put unencrypted or uninitialised bytes on
// the wire; libcrypto only fails here on a broken installation or a violated precondition.
[[noreturn]] void crypto_fail(const char* what) noexcept {
  std::fprintf(stderr, "wgcore: libcrypto failure in %s\n", what);
  std::abort();
}

// The cipher is bound to the context once per thread; each call then only supplies key, nonce
// and direction, which OpenSSL handles without allocating. Setting a key is the expensive part
// of a call (OpenSSL copies and expands it, about as long as sealing a full-size packet), and
// the datapath uses the same key for long runs, so each context remembers its key and a call
// with the same key only sets the nonce. Sealing and opening have a context each, so a flow's
// data and its ACKs in the other direction do not evict each other's key.
// The context is made on first use and again after a wipe (key_cache.hpp): freeing it is the one
// way to be sure OpenSSL's copy of the key and its Poly1305 state are gone.
struct ThreadCipher {
  EVP_CIPHER_CTX* ctx = nullptr;
  std::uint8_t key[kAeadKeyLen] = {};
  bool keyed = false;
  ThreadCipher() noexcept = default;
  ~ThreadCipher() { wipe(); }
  ThreadCipher(const ThreadCipher&) = delete;
  ThreadCipher& operator=(const ThreadCipher&) = delete;

  void wipe() noexcept {
    OPENSSL_cleanse(key, sizeof key);
    keyed = false;
    EVP_CIPHER_CTX_free(ctx);  // clears the cipher state it frees
    ctx = nullptr;
  }

  // Starts a message: the nonce always, the key only when it differs from the loaded one.
  bool init(KeyRef k, const std::uint8_t* nonce, int enc) noexcept {
    wipe_if_stale();
    if (ctx == nullptr) {
      ctx = EVP_CIPHER_CTX_new();
      if (ctx == nullptr ||
          EVP_CipherInit_ex2(ctx, EVP_chacha20_poly1305(), nullptr, nullptr, 1, nullptr) != 1) {
        crypto_fail("chacha20-poly1305 context");
      }
    }
    const bool same = keyed && CRYPTO_memcmp(key, k.data(), kAeadKeyLen) == 0;
    if (EVP_CipherInit_ex2(ctx, nullptr, same ? nullptr : k.data(), nonce, enc, nullptr) != 1) {
      keyed = false;
      return false;
    }
    if (!same) {
      std::memcpy(key, k.data(), kAeadKeyLen);
      keyed = true;
    }
    return true;
  }
};

ThreadCipher& seal_cipher() noexcept {
  thread_local ThreadCipher c;
  return c;
}
ThreadCipher& open_cipher() noexcept {
  thread_local ThreadCipher c;
  return c;
}

// EVP lengths are int; WireGuard packets are far below that, so anything larger is a bug.
int as_len(std::size_t n, const char* what) noexcept {
  if (n > 0x7fffffff) crypto_fail(what);
  return static_cast<int>(n);
}

void wg_nonce(std::uint8_t (&nonce)[12], std::uint64_t counter) noexcept {
  std::memset(nonce, 0, 4);
  for (int i = 0; i < 8; ++i) nonce[4 + i] = static_cast<std::uint8_t>(counter >> (8 * i));
}

void x_nonce(std::uint8_t (&nonce)[12], std::span<const std::uint8_t, kXNonceLen> xnonce) noexcept {
  std::memset(nonce, 0, 4);
  std::memcpy(nonce + 4, xnonce.data() + 16, 8);
}

}  // namespace

void detail::wipe_aead_contexts() noexcept {
  seal_cipher().wipe();
  open_cipher().wipe();
}

void chacha20poly1305_seal(std::span<std::uint8_t> out, Bytes plain,
                           std::span<const std::uint8_t, 12> nonce, Bytes ad,
                           KeyRef key) noexcept {
  if (out.size() != plain.size() + kAeadTag) crypto_fail("aead_seal: output size");
  ThreadCipher& c = seal_cipher();
  if (!c.init(key, nonce.data(), 1)) crypto_fail("aead_seal init");
  EVP_CIPHER_CTX* ctx = c.ctx;
  int n = 0;
  if (!ad.empty() &&
      EVP_CipherUpdate(ctx, nullptr, &n, ad.data(), as_len(ad.size(), "aead_seal ad")) != 1) {
    crypto_fail("aead_seal ad");
  }
  int produced = 0;
  if (!plain.empty()) {
    if (EVP_CipherUpdate(ctx, out.data(), &n, plain.data(), as_len(plain.size(), "aead_seal")) !=
        1) {
      crypto_fail("aead_seal update");
    }
    produced = n;
  }
  if (EVP_CipherFinal_ex(ctx, out.data() + produced, &n) != 1) crypto_fail("aead_seal final");
  produced += n;
  if (static_cast<std::size_t>(produced) != plain.size() ||
      EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_GET_TAG, static_cast<int>(kAeadTag),
                          out.data() + plain.size()) != 1) {
    crypto_fail("aead_seal tag");
  }
}

bool chacha20poly1305_open(std::span<std::uint8_t> out, Bytes cipher,
                           std::span<const std::uint8_t, 12> nonce, Bytes ad,
                           KeyRef key) noexcept {
  if (cipher.size() < kAeadTag || out.size() != cipher.size() - kAeadTag) return false;
  const std::size_t len = cipher.size() - kAeadTag;
  // Copied out first: OpenSSL only compares the tag in Final, after out has been written.
  std::uint8_t tag[kAeadTag];
  std::memcpy(tag, cipher.data() + len, kAeadTag);

  ThreadCipher& c = open_cipher();
  if (!c.init(key, nonce.data(), 0)) return false;
  EVP_CIPHER_CTX* ctx = c.ctx;
  int n = 0;
  if (EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_SET_TAG, static_cast<int>(kAeadTag), tag) != 1) return false;
  if (!ad.empty() && EVP_CipherUpdate(ctx, nullptr, &n, ad.data(),
                                      as_len(ad.size(), "aead_open ad")) != 1) {
    return false;
  }
  int produced = 0;
  if (len != 0) {
    if (EVP_CipherUpdate(ctx, out.data(), &n, cipher.data(), as_len(len, "aead_open")) != 1) {
      return false;
    }
    produced = n;
  }
  // Final verifies the tag (in constant time inside OpenSSL) and writes nothing for a stream
  // cipher; point it at a scratch byte so an empty `out` is never dereferenced.
  std::uint8_t scratch[16];
  if (EVP_CipherFinal_ex(ctx, scratch, &n) != 1 ||
      static_cast<std::size_t>(produced) + static_cast<std::size_t>(n) != len) {
    // Do not leave unauthenticated plaintext where a careless caller might use it.
    if (!out.empty()) OPENSSL_cleanse(out.data(), out.size());
    return false;
  }
  return true;
}

void aead_seal(std::span<std::uint8_t> out, Bytes plain, std::uint64_t counter, Bytes ad,
               KeyRef key) noexcept {
  std::uint8_t nonce[12];
  wg_nonce(nonce, counter);
  chacha20poly1305_seal(out, plain, std::span<const std::uint8_t, 12>(nonce), ad, key);
}

bool aead_open(std::span<std::uint8_t> out, Bytes cipher, std::uint64_t counter, Bytes ad,
               KeyRef key) noexcept {
  std::uint8_t nonce[12];
  wg_nonce(nonce, counter);
  return chacha20poly1305_open(out, cipher, std::span<const std::uint8_t, 12>(nonce), ad, key);
}

void xaead_seal(std::span<std::uint8_t> out, Bytes plain,
                std::span<const std::uint8_t, kXNonceLen> nonce, Bytes ad, KeyRef key) noexcept {
  std::uint8_t subkey[kAeadKeyLen];
  hchacha20(std::span<std::uint8_t, 32>(subkey), key, nonce.first<16>());
  std::uint8_t n12[12];
  x_nonce(n12, nonce);
  chacha20poly1305_seal(out, plain, std::span<const std::uint8_t, 12>(n12), ad, KeyRef(subkey));
  OPENSSL_cleanse(subkey, sizeof subkey);
}

bool xaead_open(std::span<std::uint8_t> out, Bytes cipher,
                std::span<const std::uint8_t, kXNonceLen> nonce, Bytes ad, KeyRef key) noexcept {
  std::uint8_t subkey[kAeadKeyLen];
  hchacha20(std::span<std::uint8_t, 32>(subkey), key, nonce.first<16>());
  std::uint8_t n12[12];
  x_nonce(n12, nonce);
  const bool ok = chacha20poly1305_open(out, cipher, std::span<const std::uint8_t, 12>(n12), ad,
                                        KeyRef(subkey));
  OPENSSL_cleanse(subkey, sizeof subkey);
  return ok;
}

}  // namespace wgcore::crypto
