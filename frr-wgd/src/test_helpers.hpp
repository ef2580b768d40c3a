// Shorthands the frr-wgd unit tests share: a key that is one byte, a prefix and an address from
// text (the tests' literals are valid; a typo fails loudly through the optional's value()).
#pragma once

#include <cstdint>

#include "wgcore/ip.hpp"
#include "wgcore/key.hpp"

namespace wgcore::frrwgd::test {

inline Key key(std::uint8_t b) {
  Key k;
  k[0] = b;
  return k;
}
inline IpPrefix P(const char* s) { return IpPrefix::parse(s).value(); }
inline IpAddr A(const char* s) { return IpAddr::parse(s).value(); }

}  // namespace wgcore::frrwgd::test
