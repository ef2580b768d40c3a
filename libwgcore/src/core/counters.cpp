// Stable names for drop reasons.
#include "core/counters.hpp"

namespace wgcore {

const char* to_string(DropReason r) {
  switch (r) {
    case DropReason::kInvalidSize: return "invalid_size";
    case DropReason::kBadMac1: return "bad_mac1";
    case DropReason::kCookieRequired: return "cookie_required";
    case DropReason::kRateLimited: return "rate_limited";
    case DropReason::kHandshakeInvalid: return "handshake_invalid";
    case DropReason::kHandshakeReplay: return "handshake_replay";
    case DropReason::kHandshakeFlood: return "handshake_flood";
    case DropReason::kUnknownPeer: return "unknown_peer";
    case DropReason::kUnknownReceiverIndex: return "unknown_receiver_index";
    case DropReason::kBadCookieReply: return "bad_cookie_reply";
    case DropReason::kNoKeypair: return "no_keypair";
    case DropReason::kDecryptFailed: return "decrypt_failed";
    case DropReason::kReplay: return "replay";
    case DropReason::kAllowedIpsMismatch: return "allowedips_source_mismatch";
    case DropReason::kInvalidInnerPacket: return "invalid_inner_packet";
    case DropReason::kNoRoute: return "no_route";
    case DropReason::kNoEndpoint: return "no_endpoint";
    case DropReason::kStagedOverflow: return "staged_overflow";
    case DropReason::kTunWriteFailed: return "tun_write_failed";
    case DropReason::kSendFailed: return "send_failed";
    case DropReason::kNoIdentity: return "no_identity";
    case DropReason::kQueueDelay: return "queue_delay";
    case DropReason::kAdmissionRefused: return "admission_refused";
    case DropReason::kEcnCeNotEct: return "ecn_ce_not_ect";
  }
  return "unknown";
}

DropCounters::Block* DropCounters::install() noexcept {
  // Allocation failure here ends the process, as it would for any other small allocation.
  auto* fresh = new Block();
  Block* expected = nullptr;
  if (block_.compare_exchange_strong(expected, fresh, std::memory_order_acq_rel,
                                     std::memory_order_acquire)) {
    return fresh;
  }
  delete fresh;
  return expected;
}

}  // namespace wgcore
