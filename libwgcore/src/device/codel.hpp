// CoDel (RFC 8289) for the one queue a userspace WireGuard receiver has and cannot see into: the
// kernel's receive queue of its UDP socket. A bulk TCP flow through the tunnel fills that queue
// whenever the receiver is the slower side (it decrypts; the sender's kernel only encrypts what TCP
// hands it), and because nothing drops there until 7 MB are queued, every other packet of the peer
// (pings, ACKs, a VoIP stream) waits behind milliseconds of data: bufferbloat. The kernel module
// and wireguard-go lose packets in their own queues long before that, which is what keeps their
// latency down; CoDel does it on purpose, on the queue's delay, and only while a queue persists.
//
// The sojourn time of each decrypted data packet is the time since the kernel stamped the datagram
// on arrival (SO_TIMESTAMPNS) until we took it off the socket. Pure: the caller passes the time.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <span>

#include "core/environment.hpp"

namespace wgcore {

class CoDel {
 public:
  // The queue may stand above target for interval before the first drop. The RFC's Internet
  // defaults (5 ms, 100 ms) assume 100 ms paths; a tunnel between two machines (or namespaces)
  // has sub-millisecond round trips, and the goal is a delay below what the kernel module and
  // wireguard-go add. Interval stays well above the scheduler's time slices, so a receiver that
  // was merely descheduled for a few milliseconds drains its queue before anything is dropped.
  static constexpr std::chrono::nanoseconds kTarget = std::chrono::microseconds(500);
  static constexpr std::chrono::nanoseconds kInterval = std::chrono::milliseconds(10);

  explicit CoDel(std::chrono::nanoseconds target = kTarget, std::chrono::nanoseconds interval = kInterval)
      : target_(target), interval_(interval) {}

  // At most this many bytes left behind a packet is no standing queue, however long the packet
  // waited (RFC 8289's MAXPACKET): on a slow or busy host every packet may wait longer than
  // target, and a trickle of pings must not be taken for a queue.
  static constexpr std::size_t kMaxPacket = 2048;
  static constexpr std::size_t kUnknownBacklog = SIZE_MAX;

  // One packet leaves the queue at now after sojourn in it, with backlog bytes still queued
  // behind it (kUnknownBacklog when the caller cannot tell): true if CoDel drops (or marks) it.
  bool on_dequeue(Time now, std::chrono::nanoseconds sojourn, std::size_t backlog = kUnknownBacklog);

  // Forgets the queue's history (as if it had been empty), keeping the last drop rate for a
  // quick return to it.
  void reset() {
    first_above_ = Time{0};
    dropping_ = false;
  }

  bool dropping() const { return dropping_; }
  std::uint32_t count() const { return count_; }

 private:
  // interval / sqrt(count) after t: the control law that shortens the gaps between drops while
  // the queue does not go away.
  Time control_law(Time t) const;

  std::chrono::nanoseconds target_, interval_;
  Time first_above_{0};  // when the sojourn first went above target (+ interval); 0: it is below
  Time drop_next_{0};
  std::uint32_t count_ = 0, last_count_ = 0;
  bool dropping_ = false;
};

// ECN instead of a drop (RFC 3168): sets Congestion Experienced on an inner IPv4 or IPv6 packet
// whose sender declared it ECN-capable (ECT(0)/ECT(1)), fixing the IPv4 header checksum. False
// (packet unchanged) if it is not ECN-capable, so the caller drops it instead.
bool mark_ce(std::span<std::uint8_t> ip);

}  // namespace wgcore
