// BLAKE2s-256 hashing, keyed BLAKE2s MAC (16 bytes), HMAC-BLAKE2s and the WireGuard paper's
// HKDF (Kdf1/2/3), all over OpenSSL 3 libcrypto.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <span>

namespace wgcore::crypto {

inline constexpr std::size_t kBlake2sLen = 32;
inline constexpr std::size_t kBlake2sMacLen = 16;
using Bytes = std::span<const std::uint8_t>;

// out = BLAKE2s-256(parts[0] || parts[1] || ...)
void blake2s(std::span<std::uint8_t, kBlake2sLen> out, std::initializer_list<Bytes> parts);
// out = keyed BLAKE2s with 16-byte output (the paper's MAC(key, msg)); key is 1..32 bytes.
void blake2s_mac(std::span<std::uint8_t, kBlake2sMacLen> out, Bytes key, Bytes msg);
// out = HMAC-BLAKE2s-256(key, msg)
void hmac_blake2s(std::span<std::uint8_t, kBlake2sLen> out, Bytes key, Bytes msg);

// The paper's KDF_n(key, input): t0 = HMAC(key, input); t1 = HMAC(t0, 0x1);
// t_i = HMAC(t0, t_{i-1} || i). Outputs are 32 bytes each. Overloads rather than defaulted
// arguments because a fixed-extent span has no empty state. Outputs may alias the inputs.
void kdf(Bytes chaining_key, Bytes input, std::span<std::uint8_t, 32> t1);
void kdf(Bytes chaining_key, Bytes input, std::span<std::uint8_t, 32> t1,
         std::span<std::uint8_t, 32> t2);
void kdf(Bytes chaining_key, Bytes input, std::span<std::uint8_t, 32> t1,
         std::span<std::uint8_t, 32> t2, std::span<std::uint8_t, 32> t3);

}  // namespace wgcore::crypto
