// Keypair rotation, transcribed from the kernel's wg_noise_* keypair functions.
#include "core/keypair.hpp"

#include "core/noise.hpp"

namespace wgcore {

Keypair::Keypair(const SessionKeys& keys, Time now)
    : sending_key(keys.sending),
      receiving_key(keys.receiving),
      birthdate(now),
      i_am_initiator(keys.i_am_initiator),
      local_index(keys.local_index),
      remote_index(keys.remote_index) {}

bool Keypair::can_send(Time now) const {
  return sending_valid && !expired(now, proto::kRejectAfterTime) &&
         sending_counter.load(std::memory_order_relaxed) < proto::kRejectAfterMessages;
}

bool Keypair::can_receive(Time now) const {
  // The kernel stops once the next expected counter (greatest + 1) reaches the limit.
  return receiving_valid && !expired(now, proto::kRejectAfterTime) &&
         replay.greatest() < proto::kRejectAfterMessages - 1;
}

void KeypairSet::add(KeypairPtr kp, std::vector<KeypairPtr>& dropped) {
  if (kp->i_am_initiator) {
    // We initiated, so the peer already has it: it becomes current at once. If a `next` was
    // waiting (we were also a responder a moment ago), it is kept as previous: the peer may be
    // using it, and current is dropped instead.
    if (next_) {
      if (current_) dropped.push_back(std::move(current_));
      if (previous_) dropped.push_back(std::move(previous_));
      previous_ = std::move(next_);
    } else {
      if (previous_) dropped.push_back(std::move(previous_));
      previous_ = std::move(current_);
    }
    next_.reset();
    current_ = std::move(kp);
  } else {
    // We responded: wait for the initiator's first packet before sending with it.
    if (next_) dropped.push_back(std::move(next_));
    if (previous_) dropped.push_back(std::move(previous_));
    previous_.reset();
    next_ = std::move(kp);
  }
}

bool KeypairSet::received_with(const Keypair* kp, std::vector<KeypairPtr>& dropped) {
  if (!next_ || next_.get() != kp) return false;
  if (previous_) dropped.push_back(std::move(previous_));
  previous_ = std::move(current_);
  current_ = std::move(next_);
  next_.reset();
  return true;
}

void KeypairSet::expire_current_for_sending() {
  if (next_) next_->sending_valid = false;
  if (current_) current_->sending_valid = false;
}

void KeypairSet::clear(std::vector<KeypairPtr>& dropped) {
  for (auto* slot : {&current_, &previous_, &next_})
    if (*slot) dropped.push_back(std::move(*slot));
  current_.reset();
  previous_.reset();
  next_.reset();
}

}  // namespace wgcore
