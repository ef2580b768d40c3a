// Transport keypairs and the current/previous/next rotation of the kernel's noise.c: a responder's
// new keypair waits in `next` until the initiator proves it has it (first authenticated packet),
// an initiator's goes straight to `current`.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <vector>

#include "core/environment.hpp"
#include "core/messages.hpp"
#include "core/replay.hpp"
#include "wgcore/key.hpp"

namespace wgcore {

struct SessionKeys;

// Shared (KeypairPtr): the rotation holds it, and so does each SealJob in flight, so that a
// batch sealed later never needs a copy of the key.
struct Keypair : std::enable_shared_from_this<Keypair> {
  Key sending_key;
  Key receiving_key;
  std::atomic<std::uint64_t> sending_counter{0};
  ReplayWindow replay;  // receive side, updated in per-peer order
  Time birthdate{};
  bool i_am_initiator = false;
  bool sending_valid = true;
  bool receiving_valid = true;
  // Dropped by the engine (rotated out, peer removed) while SealJobs may still hold it.
  bool dropped = false;
  std::uint32_t local_index = 0;
  std::uint32_t remote_index = 0;
  void* peer = nullptr;  // owner, for index-table lookups

  Keypair(const SessionKeys& keys, Time now);
  Keypair(const Keypair&) = delete;
  Keypair& operator=(const Keypair&) = delete;

  bool expired(Time now, std::chrono::nanoseconds age) const { return now - birthdate >= age; }
  // Usable for sending: valid, younger than REJECT_AFTER_TIME, counter below the limit.
  bool can_send(Time now) const;
  bool can_receive(Time now) const;
};

using KeypairPtr = std::shared_ptr<Keypair>;

class KeypairSet {
 public:
  // Drops happen through `dropped`, so the caller can unregister their receiver indices.
  void add(KeypairPtr kp, std::vector<KeypairPtr>& dropped);
  // Promotes `next` to `current` on the first packet received with it; true if it did.
  bool received_with(const Keypair* kp, std::vector<KeypairPtr>& dropped);
  // Whether kp is still one of the three (not retired).
  bool holds(const Keypair* kp) const {
    return kp == current_.get() || kp == previous_.get() || kp == next_.get();
  }
  // Stops `current` from sending so the next packet starts a new handshake.
  void expire_current_for_sending();
  // Forgets everything (key-material zeroing, peer removal).
  void clear(std::vector<KeypairPtr>& dropped);

  const KeypairPtr& current() const { return current_; }
  const KeypairPtr& previous() const { return previous_; }
  const KeypairPtr& next() const { return next_; }

 private:
  KeypairPtr current_, previous_, next_;
};

}  // namespace wgcore
