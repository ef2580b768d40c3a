// ChaCha20-Poly1305 (RFC 8439) and XChaCha20-Poly1305 (draft-irtf-cfrg-xchacha) AEADs.
// ChaCha20-Poly1305 runs on OpenSSL libcrypto with a per-thread cached cipher context, so the
// datapath does no allocation per packet. HChaCha20 is the one primitive implemented here.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

namespace wgcore::crypto {

inline constexpr std::size_t kAeadKeyLen = 32;
inline constexpr std::size_t kAeadTag = 16;
inline constexpr std::size_t kXNonceLen = 24;

using Bytes = std::span<const std::uint8_t>;
using KeyRef = std::span<const std::uint8_t, kAeadKeyLen>;

// WireGuard's nonce: 32 zero bits then the 64-bit counter, little-endian.
// out.size() must be plain.size() + 16; out may alias plain exactly (in-place).
void aead_seal(std::span<std::uint8_t> out, Bytes plain, std::uint64_t counter, Bytes ad,
               KeyRef key) noexcept;
// out.size() must be cipher.size() - 16 (cipher.size() >= 16); out may alias cipher exactly.
// Returns false, with out unspecified, when the tag does not verify.
[[nodiscard]] bool aead_open(std::span<std::uint8_t> out, Bytes cipher, std::uint64_t counter,
                             Bytes ad, KeyRef key) noexcept;

// HChaCha20(key, 16-byte nonce) -> 32-byte subkey.
void hchacha20(std::span<std::uint8_t, 32> out, KeyRef key,
               std::span<const std::uint8_t, 16> nonce) noexcept;

// XChaCha20-Poly1305 with a 24-byte nonce (used for cookie replies).
void xaead_seal(std::span<std::uint8_t> out, Bytes plain, std::span<const std::uint8_t, kXNonceLen> nonce,
                Bytes ad, KeyRef key) noexcept;
[[nodiscard]] bool xaead_open(std::span<std::uint8_t> out, Bytes cipher,
                              std::span<const std::uint8_t, kXNonceLen> nonce, Bytes ad,
                              KeyRef key) noexcept;

// Same AEAD with a caller-supplied 12-byte nonce (the RFC 8439 form, used by the vectors and
// by XChaCha20-Poly1305 internally).
void chacha20poly1305_seal(std::span<std::uint8_t> out, Bytes plain,
                           std::span<const std::uint8_t, 12> nonce, Bytes ad, KeyRef key) noexcept;
[[nodiscard]] bool chacha20poly1305_open(std::span<std::uint8_t> out, Bytes cipher,
                                         std::span<const std::uint8_t, 12> nonce, Bytes ad,
                                         KeyRef key) noexcept;

}  // namespace wgcore::crypto
