// A WireGuard interface inside an application: no TUN, no sockets, no privileges. The
// application writes inner IP packets in and gets datagrams out for its transport (UDP sockets
// of its own, p2p connections, relays), feeds received datagrams in and gets inner packets out.
// Multi-peer: inner packets are routed by AllowedIPs and received ones are checked against them,
// exactly as in wgcored, whose protocol engine this is.
//
// Threads: a Tunnel is not thread-safe; the application serializes calls (its own loop, or a
// lock). Callbacks run inside the call that caused them (send, receive, process, apply) and must
// not call back into the same Tunnel.
//
// Time: by default the Tunnel reads CLOCK_MONOTONIC / CLOCK_REALTIME itself. With
// TunnelOptions::manual_time it uses only what set_time() gave it, so an application on a
// simulated clock (or a test) drives the timers. Either way, call process() at next_deadline().
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>

#include "wgcore/config.hpp"
#include "wgcore/ip.hpp"
#include "wgcore/key.hpp"
#include "wgcore/result.hpp"

namespace wgcore {

enum class TunnelEvent : std::uint8_t {
  kHandshakeCompleted,  // a new session with the peer (whichever side initiated)
  kEndpointChanged,     // an authenticated datagram came from a new endpoint: replies go there
  kPeerWentQuiet,       // data sent, nothing back for 15 s: a new handshake starts
  kHandshakeGaveUp,     // no answer after 20 attempts (90 s); queued packets are dropped
  kKeysZeroed,          // the peer's session keys are erased (no new session for 540 s)
  kSessionExpired,      // the newest session is 180 s old: no data flows until a new handshake
};
// "handshake-completed", "endpoint-changed", "peer-went-quiet", "handshake-gave-up", "keys-zeroed",
// "session-expired".
const char* to_string(TunnelEvent event);

// What the Tunnel hands to the application.
class TunnelHandler {
 public:
  virtual ~TunnelHandler() = default;
  // A datagram for the transport, to `to`. `peer` is the peer it is for, or null for a reply to
  // an address that is not an authenticated peer yet (a cookie reply under load).
  virtual void send_datagram(const Key* peer, const Endpoint& to, std::span<const std::uint8_t> datagram) = 0;
  // An authenticated inner IP packet from `peer`, its source inside the peer's AllowedIPs.
  virtual void deliver(const Key& peer, std::span<const std::uint8_t> packet) = 0;
  virtual void on_event(const Key& peer, TunnelEvent event) {
    (void)peer;
    (void)event;
  }
  // With TunnelOptions::admit_unknown: an initiation from a key no peer has, already verified
  // (mac1, the initiator's static key, its timestamp). Return the peer to add, to admit it: its
  // AllowedIPs and anything else a PeerUpdate sets (public_key is set to `initiator`; an endpoint
  // left out becomes `from`). Return nothing to refuse: no response is sent and nothing of the
  // initiator stays (counted as admission_refused). Called before any answer leaves.
  virtual std::optional<PeerUpdate> admit(const Key& initiator, const Endpoint& from) {
    (void)initiator;
    (void)from;
    return std::nullopt;
  }
};

struct TunnelOptions {
  std::size_t mtu = 1420;      // inner MTU: caps the padding of data messages
  bool manual_time = false;    // time only from set_time()
  bool admit_unknown = false;  // offer initiations from unknown keys to TunnelHandler::admit
  // Load defence: past this many handshake messages in a second, an initiator must first prove
  // its address with a cookie (a cookie reply instead of a response; no DH operation, no admit()
  // call, nothing kept), and even then is held to a per-address rate; for a second after the
  // last time it was over. 0: 1000 per second.
  std::uint32_t under_load_handshakes_per_second = 0;
};

class Tunnel {
 public:
  // A tunnel with this identity (the private key is clamped, as `wg` does). `handler` must
  // outlive the Tunnel. Errors: EINVAL for an all-zero key or an MTU outside 576..65535.
  static Result<std::unique_ptr<Tunnel>> create(const Key& private_key, TunnelHandler& handler,
                                                TunnelOptions options = {});
  virtual ~Tunnel() = default;

  // ---- configuration: typed, atomic, O(change) ----
  // WireGuard's set semantics (as `wg set`): add, change or remove peers, replace or edit their
  // AllowedIPs, set or clear a preshared key. All or nothing: on error nothing changed. A new
  // preshared key takes effect at the next handshake; the current session keeps running, so a
  // key exchange beside WireGuard (a post-quantum one such as Rosenpass) can feed it any time.
  // listen_port and fwmark are refused (EINVAL): a Tunnel has no sockets.
  virtual Status apply(const DeviceUpdate& update) = 0;
  // The configuration with live values: each peer's endpoint (where it roamed), bytes, last
  // handshake and per-reason drop counters, and the tunnel-wide drops.
  virtual DeviceState state() const = 0;
  virtual Key public_key() const = 0;

  // ---- datapath ----
  // Inner IPv4/IPv6 packets, each to the peer whose AllowedIPs contain its destination; sealed
  // datagrams come out through send_datagram (a packet for a peer without a session is queued
  // and starts a handshake). A packet no peer takes is dropped and counted (no_route).
  virtual void send(std::span<const std::uint8_t> packet) = 0;
  virtual void send(std::span<const std::span<const std::uint8_t>> packets) = 0;
  // Datagrams from the transport and where they came from. Decrypted in place (the buffer is
  // overwritten); inner packets come out through deliver, replies through send_datagram.
  virtual void receive(std::span<std::uint8_t> datagram, const Endpoint& from) = 0;
  // from[i] is datagrams[i]'s source; datagrams without a valid source are ignored.
  virtual void receive(std::span<const std::span<std::uint8_t>> datagrams, std::span<const Endpoint> from) = 0;

  // ---- time ----
  // Runs what is due now: handshake retries, keepalives, rekeying, key erasure.
  virtual void process() = 0;
  // When process() wants to run next (monotonic time, as set_time's or CLOCK_MONOTONIC's);
  // nothing when no timer is armed.
  virtual std::optional<std::chrono::nanoseconds> next_deadline() const = 0;
  // manual_time only: the current monotonic time (never backwards) and wall-clock time (Unix
  // epoch; for handshake timestamps, which a responder requires to increase).
  virtual Status set_time(std::chrono::nanoseconds monotonic, std::chrono::nanoseconds wall) = 0;
};

}  // namespace wgcore
