// The per-peer timer state machine of the WireGuard paper (section 6) and the kernel's timers.c.
// Five timers, each armed and disarmed by events named for what triggers them:
//
//   retransmit_handshake  armed when we send an initiation (REKEY_TIMEOUT + jitter); disarmed when
//                         a handshake completes. Fires: retry the initiation, or after
//                         MAX_TIMER_HANDSHAKES attempts give up and arm zero_key_material.
//   send_keepalive        armed when we receive data (KEEPALIVE_TIMEOUT) and nothing is pending;
//                         disarmed by any authenticated packet we send. Fires: send a keepalive so
//                         the sender learns we got its data.
//   new_handshake         armed when we send data (KEEPALIVE_TIMEOUT + REKEY_TIMEOUT + jitter) and
//                         nothing is pending; disarmed by any authenticated packet we receive.
//                         Fires: the peer went quiet after our data, start a fresh handshake.
//   zero_key_material     armed when a session is derived (3 x REJECT_AFTER_TIME). Fires: erase
//                         every keypair and the handshake.
//   persistent_keepalive  re-armed by any authenticated packet in either direction when the user
//                         set an interval. Fires: send a keepalive (keeps NAT mappings open).
//
// And one deadline that is only told, never acted on by the protocol: session expiry, at
// REJECT_AFTER_TIME after the newest session was derived, when no keypair can carry data any
// more (the application's "session expired" event). It needs no slot of its own: the newest
// session also armed zero_key_material, 3 x REJECT_AFTER_TIME after it, so the expiry is that
// deadline minus 2 x REJECT_AFTER_TIME while a flag says a session armed it (a handshake that
// gave up arms it too, without a session).
//
// This class only keeps deadlines; the engine reads due() and performs the actions. docs/timers.md
// has the same list with a diagram.
#pragma once

#include <array>
#include <cstdint>
#include <optional>

#include "core/environment.hpp"
#include "core/messages.hpp"

namespace wgcore {

enum class TimerKind : std::uint8_t {
  kRetransmitHandshake,
  kSendKeepalive,
  kNewHandshake,
  kZeroKeyMaterial,
  kPersistentKeepalive,
};
inline constexpr std::size_t kTimerKinds = 5;
const char* to_string(TimerKind k);

class PeerTimers {
 public:
  // ---- events ----
  void data_sent(Time now, std::chrono::nanoseconds jitter);
  // The same, drawing the jitter only when the timer is actually armed: data_sent runs for every
  // data packet, and a random draw per packet is a syscall per packet.
  template <class JitterFn>
  void data_sent_lazy(Time now, JitterFn&& jitter) {
    if (!pending(TimerKind::kNewHandshake)) data_sent(now, jitter());
  }
  void data_received(Time now);
  void any_authenticated_packet_sent();
  void any_authenticated_packet_received();
  void any_authenticated_packet_traversal(Time now, std::uint16_t persistent_keepalive_interval);
  void handshake_initiated(Time now, std::chrono::nanoseconds jitter);
  void handshake_complete();
  void session_derived(Time now);
  void stop_all();

  // ---- expiry ----
  bool pending(TimerKind k) const { return deadline_[idx(k)] != kUnarmed; }
  std::optional<Time> deadline(TimerKind k) const {
    const Time d = deadline_[idx(k)];
    return d == kUnarmed ? std::nullopt : std::optional<Time>(d);
  }
  std::optional<Time> next_deadline() const;
  // Disarms and returns true when k is due at `now`.
  bool take_if_due(TimerKind k, Time now);
  // When the newest session stops carrying data, while that is still to come.
  std::optional<Time> session_expiry() const;
  // Returns true (once) when the session expiry is due at `now`.
  bool take_session_expiry_if_due(Time now);
  void arm(TimerKind k, Time at) { deadline_[idx(k)] = at; }
  void disarm(TimerKind k) { deadline_[idx(k)] = kUnarmed; }

  // ---- state the handlers use ----
  int handshake_attempts = 0;
  bool need_another_keepalive = false;

 private:
  bool session_expiry_pending_ = false;  // in the padding after the two above: no bytes per peer

  static std::size_t idx(TimerKind k) { return static_cast<std::size_t>(k); }
  // Time::min() marks an unarmed timer: half the size of std::optional<Time>, which matters per
  // idle peer (docs/performance-microbench.md). No deadline is ever that far in the past.
  static constexpr Time kUnarmed = Time::min();
  static constexpr std::array<Time, kTimerKinds> all_unarmed() {
    std::array<Time, kTimerKinds> a{};
    a.fill(kUnarmed);
    return a;
  }
  std::array<Time, kTimerKinds> deadline_ = all_unarmed();
};

}  // namespace wgcore
