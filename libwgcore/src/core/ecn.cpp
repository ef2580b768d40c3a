// RFC 6040 at both ends of the tunnel; see ecn.hpp.
#include "core/ecn.hpp"

#include "core/messages.hpp"

namespace wgcore::ecn {
namespace {

void set_ecn(std::span<std::uint8_t> p, std::uint8_t ecn) noexcept {
  if (p.empty()) return;
  const unsigned version = p[0] >> 4;
  if (version == 4 && p.size() >= 20) {
    const std::uint8_t old_tos = p[1];
    const std::uint8_t new_tos = std::uint8_t((old_tos & ~proto::kEcnMask) | ecn);
    if (new_tos == old_tos) return;
    p[1] = new_tos;
    // RFC 1624: HC' = ~(~HC + ~m + m'), m the 16-bit word holding the TOS (version/IHL, TOS).
    const std::uint16_t m = std::uint16_t(p[0] << 8 | old_tos), m2 = std::uint16_t(p[0] << 8 | new_tos);
    std::uint32_t sum = std::uint16_t(~(p[10] << 8 | p[11])) + std::uint16_t(~m) + m2;
    sum = (sum & 0xffff) + (sum >> 16);
    sum = (sum & 0xffff) + (sum >> 16);
    const std::uint16_t hc = std::uint16_t(~sum);
    p[10] = std::uint8_t(hc >> 8);
    p[11] = std::uint8_t(hc);
  } else if (version == 6 && p.size() >= 40) {
    // Traffic class = low nibble of byte 0, high nibble of byte 1: ECN is bits 4-5 of byte 1.
    p[1] = std::uint8_t((p[1] & ~(proto::kEcnMask << 4)) | (ecn << 4));
  }
}

}  // namespace

std::uint8_t inner_ds(std::span<const std::uint8_t> p) noexcept {
  if (p.size() < 2) return 0;
  const unsigned version = p[0] >> 4;
  if (version == 4) return p[1];
  if (version == 6) return std::uint8_t((p[0] & 0x0f) << 4 | p[1] >> 4);
  return 0;
}

std::uint8_t outer_ds(std::span<const std::uint8_t> inner) noexcept {
  const std::uint8_t ecn = inner_ds(inner) & proto::kEcnMask;
  return ecn == proto::kEcnCe ? proto::kEcnEct0 : ecn;
}

Decap decap(std::uint8_t outer, std::uint8_t inner) noexcept {
  const std::uint8_t o = outer & proto::kEcnMask, i = inner & proto::kEcnMask;
  if (i == proto::kEcnNotEct) return o == proto::kEcnCe ? Decap::kDrop : Decap::kKeep;
  if (o == proto::kEcnCe) return i == proto::kEcnCe ? Decap::kKeep : Decap::kSetCe;
  if (o == proto::kEcnEct1 && i == proto::kEcnEct0) return Decap::kSetEct1;
  return Decap::kKeep;
}

bool apply(Decap d, std::span<std::uint8_t> packet) noexcept {
  switch (d) {
    case Decap::kKeep: return true;
    case Decap::kSetCe: set_ecn(packet, proto::kEcnCe); return true;
    case Decap::kSetEct1: set_ecn(packet, proto::kEcnEct1); return true;
    case Decap::kDrop: return false;
  }
  return true;
}

}  // namespace wgcore::ecn
