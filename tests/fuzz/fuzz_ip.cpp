// Fuzz target: the text forms users and the UAPI hand us — IpAddr/IpPrefix/Endpoint::parse and
// the key encodings — must never crash, and whatever parses must print back to a string that
// parses to the same value (and, for keys, to the exact canonical text `wg` would print).
#include <cctype>
#include <cstdint>
#include <cstring>
#include <string>

#include "fuzz_common.hpp"
#include "wgcore/ip.hpp"
#include "wgcore/key.hpp"

using namespace wgcore;

namespace {

void check_text(std::string_view s) {
  if (auto a = IpAddr::parse(s)) {
    auto again = IpAddr::parse(a->to_string());
    FUZZ_CHECK(again && *again == *a);
    // Unused bytes of an IPv4 address stay zero (AllowedIPs keys and comparisons rely on it).
    if (a->is_v4())
      for (unsigned i = 4; i < 16; ++i) FUZZ_CHECK(a->bytes[i] == 0);
  }
  if (auto p = IpPrefix::parse(s)) {
    FUZZ_CHECK(p->len <= p->addr.bits());
    auto again = IpPrefix::parse(p->to_string());
    FUZZ_CHECK(again && *again == *p);
    IpPrefix c = p->canonical();
    FUZZ_CHECK(c.canonical() == c);
    FUZZ_CHECK(c.len == p->len && c.addr.family == p->addr.family);
    FUZZ_CHECK(p->contains(p->addr) && c.contains(p->addr) && p->contains(c.addr));
  }
  if (auto e = Endpoint::parse(s)) {
    FUZZ_CHECK(e->valid());
    std::string t = e->to_string();
    auto again = Endpoint::parse(t);
    FUZZ_CHECK(again && *again == *e);
    FUZZ_CHECK(again->port() == e->port() && again->ip() == e->ip());
    FUZZ_CHECK(Endpoint::make(e->ip(), e->port()) == *e);
  }
  if (auto k = key_from_base64(s)) {
    // `wg` accepts only the canonical 44-character form, so one key has one spelling.
    FUZZ_CHECK(to_base64(*k) == s);
  }
  if (auto k = key_from_hex(s)) {
    std::string h = to_hex(*k);
    FUZZ_CHECK(h.size() == s.size());
    for (std::size_t i = 0; i < h.size(); ++i)
      FUZZ_CHECK(h[i] == std::tolower(static_cast<unsigned char>(s[i])));
    auto again = key_from_hex(h);
    FUZZ_CHECK(again && *again == *k);
  }
}

// Binary values: whatever the bytes, printing and parsing must give them back.
void check_binary(fuzz::Reader& r) {
  std::uint8_t mode = r.u8();
  std::uint8_t raw[32] = {};
  auto b = r.bytes(sizeof raw);
  std::memcpy(raw, b.data(), b.size());
  IpAddr a = (mode & 1) ? IpAddr::v6_bytes(raw) : IpAddr::v4_bytes(raw);
  auto a2 = IpAddr::parse(a.to_string());
  FUZZ_CHECK(a2 && *a2 == a);
  IpPrefix p{a, std::uint8_t(mode % (a.bits() + 1))};
  auto p2 = IpPrefix::parse(p.to_string());
  FUZZ_CHECK(p2 && *p2 == p);
  Endpoint e = Endpoint::make(a, std::uint16_t(raw[16] | raw[17] << 8));
  auto e2 = Endpoint::parse(e.to_string());
  FUZZ_CHECK(e2 && *e2 == e);
  Key k(std::span<const std::uint8_t, 32>(raw, 32));
  auto k2 = key_from_base64(to_base64(k));
  FUZZ_CHECK(k2 && *k2 == k);
  auto k3 = key_from_hex(to_hex(k));
  FUZZ_CHECK(k3 && *k3 == k);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  check_text(fuzz::as_text(data, size));
  fuzz::Reader r(data, size);
  check_binary(r);
  return 0;
}
