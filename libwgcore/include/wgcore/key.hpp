// Key material: fixed-size byte strings that zero themselves on destruction, compare in
// constant time and have no stream operator, so a key reaches a log only through an explicit,
// greppable encoding call.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace wgcore {

// Zeroes memory in a way the optimizer may not elide.
void secure_zero(void* p, std::size_t n) noexcept;
// Constant-time equality of two equal-length buffers.
bool ct_equal(const std::uint8_t* a, const std::uint8_t* b, std::size_t n) noexcept;

template <std::size_t N>
class SecretBytes {
 public:
  static constexpr std::size_t kSize = N;

  SecretBytes() noexcept { bytes_.fill(0); }
  explicit SecretBytes(std::span<const std::uint8_t, N> src) noexcept {
    for (std::size_t i = 0; i < N; ++i) bytes_[i] = src[i];
  }
  SecretBytes(const SecretBytes&) noexcept = default;
  SecretBytes& operator=(const SecretBytes&) noexcept = default;
  ~SecretBytes() { secure_zero(bytes_.data(), N); }

  std::uint8_t* data() noexcept { return bytes_.data(); }
  const std::uint8_t* data() const noexcept { return bytes_.data(); }
  static constexpr std::size_t size() noexcept { return N; }
  std::span<std::uint8_t, N> span() noexcept { return std::span<std::uint8_t, N>(bytes_); }
  std::span<const std::uint8_t, N> span() const noexcept {
    return std::span<const std::uint8_t, N>(bytes_);
  }
  std::uint8_t& operator[](std::size_t i) noexcept { return bytes_[i]; }
  std::uint8_t operator[](std::size_t i) const noexcept { return bytes_[i]; }

  void clear() noexcept { secure_zero(bytes_.data(), N); }
  // Constant time: an all-zero private key means "no key" in the UAPI.
  bool is_zero() const noexcept {
    std::uint8_t acc = 0;
    for (auto b : bytes_) acc |= b;
    return acc == 0;
  }
  friend bool operator==(const SecretBytes& a, const SecretBytes& b) noexcept {
    return ct_equal(a.bytes_.data(), b.bytes_.data(), N);
  }

 private:
  std::array<std::uint8_t, N> bytes_;
};

inline constexpr std::size_t kKeyLen = 32;
using Key = SecretBytes<kKeyLen>;

// Explicit encodings. Callers that log must use redacted() for secrets.
std::string to_base64(const Key& k);
std::string to_hex(const Key& k);
std::optional<Key> key_from_base64(std::string_view s);
std::optional<Key> key_from_hex(std::string_view s);
inline constexpr std::string_view redacted() { return "<redacted>"; }

// Hash for unordered containers keyed by public keys. Public keys are not secret, and
// tables are filled only from configuration, so a fast non-cryptographic hash is enough.
struct KeyHash {
  std::size_t operator()(const Key& k) const noexcept;
};

// Orders public keys for ordered containers (std::map<Key, ...>, sorted output). Plain byte
// order, not constant time: for public keys only, never to compare secrets.
inline bool operator<(const Key& a, const Key& b) noexcept {
  for (std::size_t i = 0; i < Key::size(); ++i)
    if (a[i] != b[i]) return a[i] < b[i];
  return false;
}

// Generic helpers shared by key and config code.
std::string base64_encode(std::span<const std::uint8_t> in);
std::optional<std::size_t> base64_decode(std::string_view in, std::span<std::uint8_t> out);
std::string hex_encode(std::span<const std::uint8_t> in);
bool hex_decode(std::string_view in, std::span<std::uint8_t> out);

}  // namespace wgcore
