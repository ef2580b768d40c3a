// Timer events, transcribed from the kernel's wg_timers_* hooks; see timers.hpp for the why.
#include "core/timers.hpp"

namespace wgcore {

const char* to_string(TimerKind k) {
  switch (k) {
    case TimerKind::kRetransmitHandshake: return "retransmit_handshake";
    case TimerKind::kSendKeepalive: return "send_keepalive";
    case TimerKind::kNewHandshake: return "new_handshake";
    case TimerKind::kZeroKeyMaterial: return "zero_key_material";
    case TimerKind::kPersistentKeepalive: return "persistent_keepalive";
  }
  return "?";
}

void PeerTimers::data_sent(Time now, std::chrono::nanoseconds jitter) {
  if (!pending(TimerKind::kNewHandshake))
    arm(TimerKind::kNewHandshake, now + proto::kKeepaliveTimeout + proto::kRekeyTimeout + jitter);
}

void PeerTimers::data_received(Time now) {
  if (!pending(TimerKind::kSendKeepalive))
    arm(TimerKind::kSendKeepalive, now + proto::kKeepaliveTimeout);
  else
    need_another_keepalive = true;
}

void PeerTimers::any_authenticated_packet_sent() { disarm(TimerKind::kSendKeepalive); }

void PeerTimers::any_authenticated_packet_received() { disarm(TimerKind::kNewHandshake); }

void PeerTimers::any_authenticated_packet_traversal(Time now, std::uint16_t interval) {
  if (interval) arm(TimerKind::kPersistentKeepalive, now + std::chrono::seconds(interval));
}

void PeerTimers::handshake_initiated(Time now, std::chrono::nanoseconds jitter) {
  arm(TimerKind::kRetransmitHandshake, now + proto::kRekeyTimeout + jitter);
}

void PeerTimers::handshake_complete() {
  disarm(TimerKind::kRetransmitHandshake);
  handshake_attempts = 0;
}

void PeerTimers::session_derived(Time now) {
  arm(TimerKind::kZeroKeyMaterial, now + proto::kZeroKeyMaterialAfter);
  session_expiry_pending_ = true;
}

void PeerTimers::stop_all() {
  deadline_.fill(kUnarmed);
  need_another_keepalive = false;
  session_expiry_pending_ = false;
}

std::optional<Time> PeerTimers::session_expiry() const {
  if (!session_expiry_pending_ || !pending(TimerKind::kZeroKeyMaterial)) return std::nullopt;
  return deadline_[idx(TimerKind::kZeroKeyMaterial)] - (proto::kZeroKeyMaterialAfter - proto::kRejectAfterTime);
}

bool PeerTimers::take_session_expiry_if_due(Time now) {
  auto at = session_expiry();
  if (!at || *at > now) return false;
  session_expiry_pending_ = false;
  return true;
}

std::optional<Time> PeerTimers::next_deadline() const {
  std::optional<Time> best = session_expiry();
  for (const Time d : deadline_)
    if (d != kUnarmed && (!best || d < *best)) best = d;
  return best;
}

bool PeerTimers::take_if_due(TimerKind k, Time now) {
  auto& d = deadline_[idx(k)];
  if (d == kUnarmed || d > now) return false;
  d = kUnarmed;
  return true;
}

}  // namespace wgcore
