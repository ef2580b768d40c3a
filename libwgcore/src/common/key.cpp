// Key encodings and the constant-time / zeroing primitives behind SecretBytes.
#include "wgcore/key.hpp"

#include <openssl/crypto.h>

#include <cstring>

namespace wgcore {

void secure_zero(void* p, std::size_t n) noexcept { OPENSSL_cleanse(p, n); }

bool ct_equal(const std::uint8_t* a, const std::uint8_t* b, std::size_t n) noexcept {
  return CRYPTO_memcmp(a, b, n) == 0;
}

// The codecs below handle private and preshared keys, so they neither branch on nor index a
// table with the key's bits or characters (a lookup or a branch would leak them through the cache
// or the branch predictor): every character is classified by arithmetic on masks, and an invalid
// one is only noted, all positions being treated alike, as wireguard-tools' encoding.c does.
namespace {

// All ones when lo <= c <= hi, else 0. With c in 0..255 and lo, hi in 0..127, both differences
// are negative exactly inside the range, and neither exceeds 8 bits otherwise (C++20: >> of a
// negative int is arithmetic).
int in_range(int c, int lo, int hi) { return ((lo - 1 - c) & (c - hi - 1)) >> 8; }
// All ones when x >= k, else 0, for x and k in 0..255.
int at_least(int x, int k) { return (k - 1 - x) >> 8; }

// The 6-bit value of a base64 character, or -1.
int b64_value(unsigned char ch) {
  const int c = ch;
  return -1 + (in_range(c, 'A', 'Z') & (c - 'A' + 1)) + (in_range(c, 'a', 'z') & (c - 'a' + 27)) +
         (in_range(c, '0', '9') & (c - '0' + 53)) + (in_range(c, '+', '+') & 63) + (in_range(c, '/', '/') & 64);
}

char b64_char(int x) {  // x in 0..63
  return char(x + 'A' + (at_least(x, 26) & 6) - (at_least(x, 52) & 75) - (at_least(x, 62) & 15) + (at_least(x, 63) & 3));
}

// The value of a hex digit (either case), or -1.
int hex_value(unsigned char ch) {
  const int c = ch;
  return -1 + (in_range(c, '0', '9') & (c - '0' + 1)) + (in_range(c, 'a', 'f') & (c - 'a' + 11)) +
         (in_range(c, 'A', 'F') & (c - 'A' + 11));
}

char hex_char(int n) { return char(n + '0' + (at_least(n, 10) & ('a' - '0' - 10))); }  // n in 0..15

}  // namespace

std::string base64_encode(std::span<const std::uint8_t> in) {
  std::string out;
  out.reserve((in.size() + 2) / 3 * 4);
  std::size_t i = 0;
  for (; i + 3 <= in.size(); i += 3) {
    std::uint32_t v = std::uint32_t(in[i]) << 16 | std::uint32_t(in[i + 1]) << 8 | in[i + 2];
    for (int shift = 18; shift >= 0; shift -= 6) out += b64_char(int(v >> shift) & 63);
  }
  std::size_t rest = in.size() - i;
  if (rest) {
    std::uint32_t v = std::uint32_t(in[i]) << 16 | (rest == 2 ? std::uint32_t(in[i + 1]) << 8 : 0);
    out += b64_char(int(v >> 18));
    out += b64_char(int(v >> 12) & 63);
    out += rest == 2 ? b64_char(int(v >> 6) & 63) : '=';
    out += '=';
  }
  return out;
}

// Strict: length a multiple of 4, padding only at the end, unused bits zero (as `wg` checks).
// Only the length and the padding (public) decide the control flow; a bad character anywhere
// is noted and refuses the whole input at the end.
std::optional<std::size_t> base64_decode(std::string_view in, std::span<std::uint8_t> out) {
  if (in.size() % 4 != 0) return std::nullopt;
  int pad = 0;
  if (!in.empty() && in.back() == '=') pad = in[in.size() - 2] == '=' ? 2 : 1;
  if (in.size() / 4 * 3 - std::size_t(pad) > out.size()) return std::nullopt;
  int bad = 0;
  std::size_t n = 0;
  for (std::size_t i = 0; i < in.size(); i += 4) {
    const int chars = i + 4 == in.size() ? 4 - pad : 4;
    std::uint32_t v = 0;
    for (int j = 0; j < 4; ++j) {
      const int d = j < chars ? b64_value(static_cast<unsigned char>(in[i + std::size_t(j)])) : 0;
      bad |= d;  // -1 sets the sign bit
      v = v << 6 | std::uint32_t(d & 63);
    }
    // The padded group's unused bits must be zero: -1 (the sign bit) when they are not.
    const int last = int(i + 4 == in.size());
    bad |= -(int(pad == 1) & last & int((v & 0xff) != 0));
    bad |= -(int(pad == 2) & last & int((v & 0xffff) != 0));
    for (int j = 0; j < 3 - (i + 4 == in.size() ? pad : 0); ++j) out[n++] = std::uint8_t(v >> (16 - 8 * j));
  }
  if (bad < 0) {
    secure_zero(out.data(), n);
    return std::nullopt;
  }
  return n;
}

std::string hex_encode(std::span<const std::uint8_t> in) {
  std::string out;
  out.reserve(in.size() * 2);
  for (auto b : in) {
    out += hex_char(b >> 4);
    out += hex_char(b & 15);
  }
  return out;
}

bool hex_decode(std::string_view in, std::span<std::uint8_t> out) {
  if (in.size() != out.size() * 2) return false;
  int bad = 0;
  for (std::size_t i = 0; i < out.size(); ++i) {
    const int hi = hex_value(static_cast<unsigned char>(in[2 * i]));
    const int lo = hex_value(static_cast<unsigned char>(in[2 * i + 1]));
    bad |= hi | lo;
    out[i] = std::uint8_t((hi & 15) << 4 | (lo & 15));
  }
  if (bad < 0) {
    secure_zero(out.data(), out.size());
    return false;
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
