// The outer IP header of a data message against the inner packet it carries, as the kernel
// module does it (ip_tunnel_ecn_encap on send, INET_ECN_decapsulate on receive; RFC 6040):
//
//   send     outer DS field = DSCP 0 (the inner DSCP is not revealed, as the kernel's), ECN
//            copied from the inner packet, except that CE goes out as ECT(0) (RFC 6040 4.1:
//            a mark is not copied outward, it would count twice).
//   receive  the ECN the inner packet is delivered with, from the outer (column) and inner
//            (row) codepoints (RFC 6040 figure 4):
//
//                      outer Not-ECT  ECT(0)   ECT(1)   CE
//            Not-ECT         Not-ECT  Not-ECT  Not-ECT  drop
//            ECT(0)          ECT(0)   ECT(0)   ECT(1)   CE
//            ECT(1)          ECT(1)   ECT(1)   ECT(1)   CE
//            CE              CE       CE       CE       CE
//
//            The one difference from the kernel module: it delivers a Not-ECT packet that
//            arrived with CE unchanged (it ignores INET_ECN_decapsulate's "drop"); RFC 6040
//            says drop, since that mark is the only congestion signal such a flow can get, and
//            we do (counted as ecn_ce_not_ect).
//
// TTL / hop limit and the IPv6 flow label of the outer header are the UDP socket's (the
// system's default TTL, no flow label), like the kernel module's; the inner ones are never
// copied out or changed on the way in (docs/ecn.md).
#pragma once

#include <cstdint>
#include <span>

namespace wgcore::ecn {

// The DS field (IPv4 TOS, IPv6 traffic class) of an IP packet; 0 for anything else.
std::uint8_t inner_ds(std::span<const std::uint8_t> packet) noexcept;

// The outer header's DS field for a data message carrying `inner` (empty: a keepalive).
std::uint8_t outer_ds(std::span<const std::uint8_t> inner) noexcept;

enum class Decap : std::uint8_t { kKeep, kSetCe, kSetEct1, kDrop };
// The receive rule for the outer and inner DS fields (only their ECN bits count).
Decap decap(std::uint8_t outer_ds, std::uint8_t inner_ds) noexcept;

// Applies `d` to the inner packet in place (kSetCe / kSetEct1 rewrite the ECN bits, IPv4's
// header checksum updated incrementally); false for kDrop. Packets too short for their IP
// header are left alone (the engine refused them before).
bool apply(Decap d, std::span<std::uint8_t> packet) noexcept;

}  // namespace wgcore::ecn
