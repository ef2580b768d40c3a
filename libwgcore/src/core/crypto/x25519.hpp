// Curve25519 Diffie-Hellman (RFC 7748) over OpenSSL libcrypto.
#pragma once

#include "wgcore/key.hpp"

namespace wgcore {
class Random;
}

namespace wgcore::crypto {

// Clamps a private key the way every WireGuard implementation stores it.
void x25519_clamp(Key& priv) noexcept;
// A fresh clamped private key from rng.
Key x25519_generate(Random& rng);
// The public key for priv. Returns false only if libcrypto fails.
[[nodiscard]] bool x25519_public(Key& pub, const Key& priv) noexcept;
// shared = X25519(priv, pub). Returns false when the result is all zero (a low-order point),
// which the protocol treats as a failed handshake.
[[nodiscard]] bool x25519(Key& shared, const Key& priv, const Key& pub) noexcept;

}  // namespace wgcore::crypto
