// Key encodings and the constant-time / zeroing primitives behind SecretBytes.
#include "wgcore/key.hpp"

#include <openssl/crypto.h>

#include <cstring>

namespace wgcore {

void secure_zero(void* p, std::size_t n) noexcept { OPENSSL_cleanse(p, n); }

bool ct_equal(const std::uint8_t* a, const std::uint8_t* b, std::size_t n) noexcept {
  return CRYPTO_memcmp(a, b, n) == 0;
}

namespace {
constexpr char kB64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

int b64_value(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '+') return 62;
  if (c == '/') return 63;
  return -1;
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}
}  // namespace

std::string base64_encode(std::span<const std::uint8_t> in) {
  std::string out;
  out.reserve((in.size() + 2) / 3 * 4);
  std::size_t i = 0;
  for (; i + 3 <= in.size(); i += 3) {
    std::uint32_t v = std::uint32_t(in[i]) << 16 | std::uint32_t(in[i + 1]) << 8 | in[i + 2];
    out += kB64[v >> 18];
    out += kB64[(v >> 12) & 63];
    out += kB64[(v >> 6) & 63];
    out += kB64[v & 63];
  }
  std::size_t rest = in.size() - i;
  if (rest) {
    std::uint32_t v = std::uint32_t(in[i]) << 16 | (rest == 2 ? std::uint32_t(in[i + 1]) << 8 : 0);
    out += kB64[v >> 18];
    out += kB64[(v >> 12) & 63];
    out += rest == 2 ? kB64[(v >> 6) & 63] : '=';
    out += '=';
  }
  return out;
}

// Strict: length a multiple of 4, padding only at the end, unused bits zero (as `wg` checks).
std::optional<std::size_t> base64_decode(std::string_view in, std::span<std::uint8_t> out) {
  if (in.size() % 4 != 0) return std::nullopt;
  std::size_t n = 0;
  for (std::size_t i = 0; i < in.size(); i += 4) {
    bool last = i + 4 == in.size();
    int pad = 0;
    if (last && in[i + 3] == '=') pad = in[i + 2] == '=' ? 2 : 1;
    std::uint32_t v = 0;
    for (int j = 0; j < 4; ++j) {
      int d = j >= 4 - pad ? 0 : b64_value(in[i + j]);
      if (d < 0) return std::nullopt;
      v = v << 6 | std::uint32_t(d);
    }
    if ((pad == 1 && (v & 0xff)) || (pad == 2 && (v & 0xffff))) return std::nullopt;
    for (int j = 0; j < 3 - pad; ++j) {
      if (n >= out.size()) return std::nullopt;
      out[n++] = std::uint8_t(v >> (16 - 8 * j));
    }
  }
  return n;
}

std::string hex_encode(std::span<const std::uint8_t> in) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(in.size() * 2);
  for (auto b : in) {
    out += kHex[b >> 4];
    out += kHex[b & 15];
  }
  return out;
}

bool hex_decode(std::string_view in, std::span<std::uint8_t> out) {
  if (in.size() != out.size() * 2) return false;
  for (std::size_t i = 0; i < out.size(); ++i) {
    int hi = hex_value(in[2 * i]), lo = hex_value(in[2 * i + 1]);
    if (hi < 0 || lo < 0) return false;
    out[i] = std::uint8_t(hi << 4 | lo);
  }
  return true;
}

std::string to_base64(const Key& k) { return base64_encode(k.span()); }
std::string to_hex(const Key& k) { return hex_encode(k.span()); }

std::optional<Key> key_from_base64(std::string_view s) {
  if (s.size() != 44 || s[43] != '=') return std::nullopt;
  Key k;
  auto n = base64_decode(s, k.span());
  if (!n || *n != kKeyLen) return std::nullopt;
  return k;
}

std::optional<Key> key_from_hex(std::string_view s) {
  Key k;
  if (!hex_decode(s, k.span())) return std::nullopt;
  return k;
}

std::size_t KeyHash::operator()(const Key& k) const noexcept {
  std::uint64_t a, b;
  std::memcpy(&a, k.data(), 8);
  std::memcpy(&b, k.data() + 8, 8);
  return std::size_t(a ^ (b * 0x9e3779b97f4a7c15ULL));
}

}  // namespace wgcore
