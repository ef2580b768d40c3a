// The engine's event handlers, in the order of the kernel's send.c, receive.c and timers.c: each
// handler names the timer events it triggers, so the state machine in timers.hpp stays the single
// description of when things happen.
#include "core/engine.hpp"

#include "core/crypto/key_cache.hpp"
#include "core/ecn.hpp"

#include <cstring>

#include "core/crypto/aead.hpp"

namespace wgcore {

namespace {

constexpr std::size_t kMaxInner = 65535;

std::uint16_t load_be16(const std::uint8_t* p) { return std::uint16_t(p[0] << 8 | p[1]); }

// Checks that a decrypted payload is an IPv4 or IPv6 packet and returns its length without the
// padding, plus its source address; nullopt if it is not a well-formed packet.
struct InnerInfo {
  std::size_t len;
  IpAddr src;
};
std::optional<InnerInfo> parse_inner(std::span<const std::uint8_t> p) {
  if (p.size() >= 20 && (p[0] >> 4) == 4) {
    std::size_t tot = load_be16(&p[2]);
    if (tot < 20 || tot > p.size()) return std::nullopt;
    return InnerInfo{tot, IpAddr::v4_bytes(&p[12])};
  }
  if (p.size() >= 40 && (p[0] >> 4) == 6) {
    std::size_t tot = std::size_t(load_be16(&p[4])) + 40;
    if (tot > p.size()) return std::nullopt;
    return InnerInfo{tot, IpAddr::v6_bytes(&p[8])};
  }
  return std::nullopt;
}

// A data message's payload (padded, tag room after it) becomes ciphertext and tag in place.
void seal_in_place(std::uint8_t* body, std::size_t plain_len, std::uint64_t counter, const Key& key) {
  crypto::aead_seal({body, plain_len + proto::kAeadTagLen}, {body, plain_len}, counter, {}, key.span());
}

}  // namespace

const char* to_string(EngineEvent e) {
  switch (e) {
    case EngineEvent::kInitiationSent: return "Sending handshake initiation";
    case EngineEvent::kInitiationReceived: return "Received handshake initiation";
    case EngineEvent::kResponseSent: return "Sending handshake response";
    case EngineEvent::kResponseReceived: return "Received handshake response";
    case EngineEvent::kCookieReplySent: return "Under load: sending cookie reply";
    case EngineEvent::kCookieReplyReceived: return "Received cookie reply";
    case EngineEvent::kSessionDerived: return "Derived new keypair";
    case EngineEvent::kKeepaliveSent: return "Sending keepalive packet";
    case EngineEvent::kHandshakeRetry: return "Handshake did not complete after 5 seconds, retrying";
    case EngineEvent::kHandshakeGaveUp: return "Handshake did not complete after 20 attempts, giving up";
    case EngineEvent::kPeerWentQuiet: return "Retrying handshake because we stopped hearing back after 15 seconds";
    case EngineEvent::kKeysZeroed: return "Removing all keys, since we haven't received a new one in 540 seconds";
    case EngineEvent::kEndpointChanged: return "Endpoint changed";
    case EngineEvent::kSessionExpired: return "Session expired: no new keypair in 180 seconds";
  }
  return "?";
}

Engine::Engine(Clock& clock, Random& rng, EngineSink& sink)
    : clock_(clock), rng_(rng), sink_(sink), scratch_(kMaxInner + 64) {}

Engine::~Engine() { clear_peers(); }

std::chrono::nanoseconds Engine::jitter() {
  return std::chrono::nanoseconds(rng_.u32() % std::chrono::nanoseconds(proto::kRekeyTimeoutJitterMax).count());
}

void Engine::count_drop(DropReason r, Peer* peer) {
  drops_.add(r);
  if (peer) peer->drops.add(r);
}

// ---------------------------------------------------------------- configuration

void Engine::set_private_key(const std::optional<Key>& key) {
  ++config_ops_;
  bool same = identity_.valid && key && !key->is_zero() && identity_.private_key == *key;
  if (same) return;
  identity_.set(key);
  if (identity_.valid) {
    checker_.init(identity_.public_key);
    // A peer with our own public key would be a conversation with ourselves: the kernel drops it.
    if (Peer* self = find_peer(identity_.public_key)) remove_peer(self);
  } else {
    checker_ = CookieChecker{};
  }
  for (auto& [id, p] : peers_) {
    noise::forget_static_static(p.handshake);
    expire_current_keypairs(p);
  }
}

Peer* Engine::add_peer(const Key& public_key) {
  ++config_ops_;
  if (Peer* p = find_peer(public_key)) return p;
  if (identity_.valid && public_key == identity_.public_key) return nullptr;
  // The Peer lives in the map node itself (one allocation, not two): node addresses are stable.
  const std::uint64_t id = next_peer_id_++;
  Peer* raw = &peers_.try_emplace(id, id, public_key).first->second;
  // Its handshake starts with the static-static stale: the first handshake computes it.
  raw->cookie.init(raw->public_key());  // the peer's own copy: the maker keeps a reference
  by_key_.insert(raw);
  return raw;
}

Peer* Engine::find_peer(const Key& public_key) const { return by_key_.find(public_key); }

void Engine::remove_peer(Peer* peer) {
  if (!peer) return;
  ++config_ops_;
  allowedips_.remove_by_peer(peer);
  clear_handshake(*peer);
  peer->keypairs.clear(dropped_);
  drop_keypairs(dropped_);
  peer->timers.stop_all();
  peer->staged.clear();
  unschedule(*peer);
  by_key_.remove(peer->public_key());
  peers_.erase(peer->id());
}

void Engine::clear_peers() {
  while (!peers_.empty()) remove_peer(&peers_.begin()->second);
}

void Engine::set_preshared_key(Peer& peer, const std::optional<Key>& psk) {
  ++config_ops_;
  if (psk)
    peer.handshake.preshared_key = *psk;
  else
    peer.handshake.preshared_key.clear();
}

void Engine::set_endpoint(Peer& peer, const Endpoint& endpoint) {
  ++config_ops_;
  peer.endpoint = endpoint;
  peer.local_source.reset();
}

bool Engine::set_persistent_keepalive(Peer& peer, std::uint16_t seconds, bool send_now) {
  ++config_ops_;
  bool turn_on = peer.persistent_keepalive_interval == 0 && seconds != 0;
  peer.persistent_keepalive_interval = seconds;
  if (seconds == 0) peer.timers.disarm(TimerKind::kPersistentKeepalive);
  if (turn_on && send_now) send_keepalive(peer);
  return turn_on;
}

void Engine::add_allowed_ip(Peer& peer, const IpPrefix& prefix) {
  ++config_ops_;
  allowedips_.insert(prefix, &peer);
}

bool Engine::remove_allowed_ip(Peer& peer, const IpPrefix& prefix) {
  ++config_ops_;
  return allowedips_.remove(prefix, &peer);
}

void Engine::clear_allowed_ips(Peer& peer) {
  ++config_ops_;
  allowedips_.remove_by_peer(&peer);
}

std::vector<IpPrefix> Engine::allowed_ips(const Peer& peer) const {
  return allowedips_.entries_for(&peer);
}

// ---------------------------------------------------------------- sessions and indices

std::uint32_t Engine::register_handshake_index(Peer& peer) {
  auto entry = Index::Entry::for_handshake(&peer, &peer.handshake);
  if (peer.handshake_index) index_.remove(*peer.handshake_index, entry);
  std::uint32_t idx = index_.insert(entry, rng_);
  peer.handshake_index = idx;
  return idx;
}

void Engine::clear_handshake(Peer& peer) {
  if (peer.handshake_index)
    index_.remove(*peer.handshake_index, Index::Entry::for_handshake(&peer, &peer.handshake));
  peer.handshake_index.reset();
  // A handshake under way has run the KDF on its chaining key: the hash contexts still hold it.
  if (peer.handshake.state != HandshakeState::kZeroed) crypto::forget_cached_keys();
  peer.handshake.clear();
}

void Engine::expire_current_keypairs(Peer& peer) {
  clear_handshake(peer);
  peer.last_sent_handshake.reset();
  peer.keypairs.expire_current_for_sending();
}

void Engine::drop_keypairs(std::vector<KeypairPtr>& dropped) {
  // The AEAD contexts of any thread may hold these keys: this one's go now, the others' at
  // their next use or when their owner wakes them (key_cache.hpp).
  if (!dropped.empty()) crypto::forget_cached_keys();
  for (auto& kp : dropped) {
    kp->dropped = true;
    index_.remove(kp->local_index,
                  Index::Entry::for_keypair(static_cast<Peer*>(kp->peer), kp.get()));
  }
  dropped.clear();  // last references: keys are wiped by Key's destructor
}

void Engine::install_session(Peer& peer, const SessionKeys& keys) {
  auto kp = std::make_shared<Keypair>(keys, clock_.now());
  kp->peer = &peer;
  // The handshake's index now names the keypair, so the peer's packets find the session.
  index_.replace(keys.local_index, Index::Entry::for_handshake(&peer, &peer.handshake),
                 Index::Entry::for_keypair(&peer, kp.get()));
  peer.handshake_index.reset();
  peer.keypairs.add(std::move(kp), dropped_);
  drop_keypairs(dropped_);
  peer.timers.session_derived(clock_.now());
  sink_.on_event(&peer, EngineEvent::kSessionDerived);
}

void Engine::handshake_complete(Peer& peer) {
  peer.timers.handshake_complete();
  peer.sent_lastminute_handshake = false;
  peer.last_handshake_wall = clock_.wall_now();
}

void Engine::update_endpoint(Peer& peer, const Endpoint& from, const Endpoint& local) {
  const bool changed = !peer.endpoint || !(*peer.endpoint == from);
  peer.endpoint = from;
  if (local.valid())
    peer.local_source = local;
  else
    peer.local_source.reset();
  if (changed) sink_.on_event(&peer, EngineEvent::kEndpointChanged);
}

// ---------------------------------------------------------------- sending

void Engine::send_handshake_initiation(Peer& peer, bool is_retry) {
  if (!is_retry) peer.timers.handshake_attempts = 0;
  Time now = clock_.now();
  // Rate limit: at most one initiation per REKEY_TIMEOUT per peer.
  if (peer.last_sent_handshake && now - *peer.last_sent_handshake < proto::kRekeyTimeout) return;
  if (!identity_.valid || !noise::static_static_ready(peer.handshake, identity_)) return;
  peer.last_sent_handshake = now;

  proto::MessageHandshakeInitiation msg;
  std::uint32_t idx = register_handshake_index(peer);
  if (!noise::create_initiation(msg, peer.handshake, identity_, idx, clock_.wall_now(), rng_)) {
    clear_handshake(peer);
    return;
  }
  auto bytes = std::span<std::uint8_t>(reinterpret_cast<std::uint8_t*>(&msg), sizeof msg);
  peer.cookie.add_macs(bytes, now);
  peer.timers.any_authenticated_packet_traversal(now, peer.persistent_keepalive_interval);
  peer.timers.any_authenticated_packet_sent();
  if (peer.endpoint) {
    sink_.on_event(&peer, EngineEvent::kInitiationSent);
    sink_.send_to_peer(peer, bytes);
    peer.tx_bytes += bytes.size();
  } else {
    count_drop(DropReason::kNoEndpoint, &peer);
  }
  peer.timers.handshake_initiated(now, jitter());
  reschedule(peer);
}

void Engine::send_handshake_response(Peer& peer) {
  Time now = clock_.now();
  peer.last_sent_handshake = now;
  proto::MessageHandshakeResponse msg;
  std::uint32_t idx = register_handshake_index(peer);
  if (!noise::create_response(msg, peer.handshake, identity_, idx, rng_)) {
    clear_handshake(peer);
    return;
  }
  auto bytes = std::span<std::uint8_t>(reinterpret_cast<std::uint8_t*>(&msg), sizeof msg);
  peer.cookie.add_macs(bytes, now);
  auto keys = noise::begin_session(peer.handshake);
  if (!keys) return;
  install_session(peer, *keys);
  peer.timers.any_authenticated_packet_traversal(now, peer.persistent_keepalive_interval);
  peer.timers.any_authenticated_packet_sent();
  sink_.on_event(&peer, EngineEvent::kResponseSent);
  sink_.send_to_peer(peer, bytes);
  peer.tx_bytes += bytes.size();
  reschedule(peer);
}

void Engine::send_packet(std::span<const std::uint8_t> inner) { send_packet(inner, {}); }

void Engine::send_packet(std::span<const std::uint8_t> inner, std::span<const std::uint8_t> tail) {
  const std::uint8_t* dst = nullptr;
  Peer* peer = nullptr;
  if (inner.size() >= 20 && (inner[0] >> 4) == 4) {
    dst = &inner[16];
    peer = allowedips_.lookup_v4(dst);
  } else if (inner.size() >= 40 && (inner[0] >> 4) == 6) {
    dst = &inner[24];
    peer = allowedips_.lookup_v6(dst);
  } else {
    count_drop(DropReason::kInvalidInnerPacket);
    return;
  }
  if (!peer) {
    count_drop(DropReason::kNoRoute);
    return;
  }
  send_to_peer(*peer, inner, tail);
}

void Engine::send_to_peer(Peer& peer, std::span<const std::uint8_t> inner) {
  send_to_peer(peer, inner, {});
}

void Engine::send_to_peer(Peer& peer, std::span<const std::uint8_t> inner,
                          std::span<const std::uint8_t> tail) {
  if (inner.size() + tail.size() > kMaxInner) {
    count_drop(DropReason::kInvalidInnerPacket, &peer);
    return;
  }
  // Fast path: a usable session and nothing queued ahead of this packet; no copy, no allocation.
  const KeypairPtr& kp = peer.keypairs.current();
  if (peer.staged.empty() && kp && kp->can_send(clock_.now()) && peer.endpoint) {
    encrypt_and_send(peer, *kp, inner, tail);
    keep_key_fresh_after_send(peer);
    reschedule(peer);
    return;
  }
  if (peer.staged.size() >= proto::kMaxStagedPackets) {
    peer.staged.erase_front(1);  // the oldest goes, as in the kernel
    count_drop(DropReason::kStagedOverflow, &peer);
  }
  auto& staged = peer.staged.emplace_back(inner.begin(), inner.end());
  staged.insert(staged.end(), tail.begin(), tail.end());
  send_staged(peer);
}

void Engine::send_keepalive(Peer& peer) {
  if (peer.staged.empty()) {
    peer.staged.emplace_back();
    sink_.on_event(&peer, EngineEvent::kKeepaliveSent);
  }
  send_staged(peer);
}

void Engine::send_staged(Peer& peer) {
  Time now = clock_.now();
  const KeypairPtr& kp = peer.keypairs.current();
  if (!kp || !kp->can_send(now)) {
    send_handshake_initiation(peer, false);
    return;
  }
  if (!peer.endpoint) {
    count_drop(DropReason::kNoEndpoint, &peer);
    return;  // stay staged: an endpoint learned from an incoming handshake will flush them
  }
  KeypairPtr hold = kp;  // keep it alive while we send
  std::size_t sent = 0;
  for (; sent < peer.staged.size(); ++sent) {
    if (!hold->can_send(now)) {
      send_handshake_initiation(peer, false);
      break;
    }
    encrypt_and_send(peer, *hold, peer.staged[sent]);
  }
  peer.staged.erase_front(sent);
  keep_key_fresh_after_send(peer);
  reschedule(peer);
}

void Engine::encrypt_and_send(Peer& peer, Keypair& kp, std::span<const std::uint8_t> inner,
                              std::span<const std::uint8_t> tail) {
  Time now = clock_.now();
  std::uint64_t counter = kp.sending_counter.fetch_add(1, std::memory_order_relaxed);
  const std::size_t len = inner.size() + tail.size();
  std::size_t padded = proto::padded_length(len, mtu_);
  std::size_t total = proto::kDataHeaderLen + padded + proto::kAeadTagLen;
  // Straight into the sink's packet buffer when it offers one: one copy of the payload less.
  std::span<std::uint8_t> direct = sink_.datagram_buffer(peer, total);
  std::uint8_t* buf = direct.size() >= total ? direct.data() : scratch_.data();
  proto::store_le32(buf, std::uint32_t(proto::MessageType::kData));
  proto::store_le32(buf + 4, kp.remote_index);
  proto::store_le64(buf + 8, counter);
  std::uint8_t* body = buf + proto::kDataHeaderLen;
  if (!inner.empty()) std::memcpy(body, inner.data(), inner.size());
  if (!tail.empty()) std::memcpy(body + inner.size(), tail.data(), tail.size());
  std::memset(body + len, 0, padded - len);
  // In the sink's own buffer the datapath may seal it later, with a batch; otherwise now.
  bool deferred = false;
  if (buf != scratch_.data()) {
    SealJob job{body, padded, counter, kp.shared_from_this()};
    deferred = sink_.seal_later(peer, job);
  }
  if (!deferred) seal_in_place(body, padded, counter, kp.sending_key);
  // The outer header's ECN from the inner packet (RFC 6040 4.1; core/ecn.hpp).
  const std::uint8_t ds = ecn::outer_ds(inner);
  if (buf == scratch_.data())
    sink_.send_data_to_peer(peer, {buf, total}, ds);
  else
    sink_.commit_to_peer(peer, total, ds);
  peer.tx_bytes += total;
  peer.timers.any_authenticated_packet_traversal(now, peer.persistent_keepalive_interval);
  peer.timers.any_authenticated_packet_sent();
  if (len != 0) peer.timers.data_sent_lazy(now, [this] { return jitter(); });
}

void Engine::keep_key_fresh_after_send(Peer& peer) {
  const KeypairPtr& kp = peer.keypairs.current();
  if (!kp || !kp->sending_valid) return;
  bool old_by_count = kp->sending_counter.load(std::memory_order_relaxed) > rekey_after_messages_;
  bool old_by_time = kp->i_am_initiator && kp->expired(clock_.now(), proto::kRekeyAfterTime);
  if (old_by_count || old_by_time) send_handshake_initiation(peer, false);
}

void Engine::keep_key_fresh_after_receive(Peer& peer) {
  if (peer.sent_lastminute_handshake) return;
  const KeypairPtr& kp = peer.keypairs.current();
  // The initiator rekeys shortly before the session dies if the peer is the only one talking.
  if (kp && kp->sending_valid && kp->i_am_initiator &&
      kp->expired(clock_.now(),
                  proto::kRejectAfterTime - proto::kKeepaliveTimeout - proto::kRekeyTimeout)) {
    peer.sent_lastminute_handshake = true;
    send_handshake_initiation(peer, false);
  }
}

// ---------------------------------------------------------------- receiving

void Engine::receive(std::span<std::uint8_t> datagram, const Endpoint& from,
                     const Endpoint& local, bool under_load, std::uint8_t outer_ds) {
  switch (proto::classify(datagram.data(), datagram.size())) {
    case proto::MessageType::kHandshakeInitiation:
    case proto::MessageType::kHandshakeResponse:
      receive_handshake(datagram, from, local, under_load);
      break;
    case proto::MessageType::kCookieReply:
      receive_cookie_reply(datagram);
      break;
    case proto::MessageType::kData:
      receive_data(datagram, from, local, outer_ds);
      break;
    case proto::MessageType::kInvalid:
      count_drop(DropReason::kInvalidSize);
      break;
  }
}

void Engine::receive_handshake(std::span<std::uint8_t> msg, const Endpoint& from,
                               const Endpoint& local, bool under_load) {
  Time now = clock_.now();
  if (!identity_.valid) {
    count_drop(DropReason::kNoIdentity);
    return;
  }
  MacState mac = checker_.validate(msg, from, under_load, now, rng_);
  if (mac == MacState::kInvalidMac) {
    count_drop(DropReason::kBadMac1);
    return;
  }
  if (under_load && mac == MacState::kValidMacButNoCookie) {
    // Prove the source address before spending DH operations on it.
    proto::MessageCookieReply reply;
    std::uint32_t sender = proto::load_le32(msg.data() + 4);
    checker_.create_reply(reply, msg, sender, from, now, rng_);
    sink_.on_event(nullptr, EngineEvent::kCookieReplySent);
    sink_.send_to_endpoint(from, local,
                           {reinterpret_cast<const std::uint8_t*>(&reply), sizeof reply});
    count_drop(DropReason::kCookieRequired);
    return;
  }
  // Under load even sources with a valid cookie are held to a per-source rate.
  if (under_load && !ratelimiter_.allow(from.ip(), now)) {
    count_drop(DropReason::kRateLimited);
    return;
  }

  Peer* peer = nullptr;
  if (msg.size() == proto::kInitiationLen) {
    proto::MessageHandshakeInitiation in;
    std::memcpy(&in, msg.data(), sizeof in);
    // An unknown initiator's handshake, verified here before the sink is asked to admit it.
    std::optional<Handshake> candidate;
    auto lookup = [this, &peer, &candidate](const Key& k) -> Handshake* {
      peer = by_key_.find(k);
      if (peer) return &peer->handshake;
      if (!sink_.admits_unknown() || k == identity_.public_key) return nullptr;
      candidate.emplace();
      candidate->remote_static = k;  // consume_initiation computes its static-static
      return &*candidate;
    };
    auto r = noise::consume_initiation(in, identity_, now, lookup);
    switch (r.error) {
      case noise::ConsumeError::kNone: break;
      case noise::ConsumeError::kUnknownPeer: count_drop(DropReason::kUnknownPeer); return;
      case noise::ConsumeError::kReplayedTimestamp: count_drop(DropReason::kHandshakeReplay, peer); return;
      case noise::ConsumeError::kFlood: count_drop(DropReason::kHandshakeFlood, peer); return;
      case noise::ConsumeError::kNoIdentity: count_drop(DropReason::kNoIdentity); return;
      case noise::ConsumeError::kDecryptFailed: count_drop(DropReason::kHandshakeInvalid, peer); return;
    }
    if (candidate) {
      const Key identity_before = identity_.public_key;  // admit() may in principle change it
      if (!sink_.admit(candidate->remote_static, from) || !(peer = by_key_.find(candidate->remote_static))) {
        count_drop(DropReason::kAdmissionRefused);
        return;  // the candidate's keys are wiped as it goes
      }
      // The admitted peer takes over the consumed initiation.
      Handshake& hs = peer->handshake;
      hs.secrets = std::move(candidate->secrets);
      hs.latest_timestamp = candidate->latest_timestamp;
      hs.last_initiation_consumption = candidate->last_initiation_consumption;
      hs.remote_index = candidate->remote_index;
      hs.state = candidate->state;
      // Its static-static too, computed by this consumption: one X25519 less at its next
      // handshake, unless the admission changed our key (then it is stale, as it must be).
      if (hs.static_static == StaticStatic::kStale && identity_.public_key == identity_before) {
        hs.precomputed_static_static = candidate->precomputed_static_static;
        hs.static_static = candidate->static_static;
      }
    }
    sink_.on_event(peer, EngineEvent::kInitiationReceived);
    update_endpoint(*peer, from, local);
    send_handshake_response(*peer);
  } else {
    proto::MessageHandshakeResponse in;
    std::memcpy(&in, msg.data(), sizeof in);
    std::uint32_t receiver = proto::load_le32(msg.data() + 8);
    const Index::Entry* e = index_.lookup(receiver, Index::Kind::kHandshake);
    if (!e) {
      count_drop(DropReason::kUnknownReceiverIndex);
      return;
    }
    peer = e->peer;
    if (noise::consume_response(in, peer->handshake, identity_) != noise::ConsumeError::kNone) {
      count_drop(DropReason::kHandshakeInvalid, peer);
      return;
    }
    sink_.on_event(peer, EngineEvent::kResponseReceived);
    update_endpoint(*peer, from, local);
    if (auto keys = noise::begin_session(peer->handshake)) {
      install_session(*peer, *keys);
      handshake_complete(*peer);
      // Sends what was staged, or a keepalive to confirm the session to the responder at once.
      send_keepalive(*peer);
    }
  }
  peer->rx_bytes += msg.size();
  peer->timers.any_authenticated_packet_received();
  peer->timers.any_authenticated_packet_traversal(now, peer->persistent_keepalive_interval);
  reschedule(*peer);
}

void Engine::receive_cookie_reply(std::span<const std::uint8_t> msg) {
  proto::MessageCookieReply reply;
  std::memcpy(&reply, msg.data(), sizeof reply);
  std::uint32_t receiver = proto::load_le32(msg.data() + 4);
  const Index::Entry* e = index_.lookup(receiver, Index::Kind::kHandshake);
  if (!e) e = index_.lookup(receiver, Index::Kind::kKeypair);
  if (!e) {
    count_drop(DropReason::kUnknownReceiverIndex);
    return;
  }
  if (!e->peer->cookie.consume_reply(reply, clock_.now())) {
    count_drop(DropReason::kBadCookieReply, e->peer);
    return;
  }
  sink_.on_event(e->peer, EngineEvent::kCookieReplyReceived);
}

void SealJob::run() noexcept { seal_in_place(body, plain_len, counter, keypair->sending_key); }

void release_seal_jobs(std::vector<SealJob>& jobs) noexcept {
  bool stale = false;
  for (const auto& j : jobs) stale = stale || j.keypair->dropped;
  jobs.clear();  // the last holders of a dropped keypair: its keys are wiped now
  // The forget of drop_keypairs came before these seals, which cached the key again.
  if (stale) crypto::forget_cached_keys();
}

void DataJob::open() noexcept {
  auto cipher = msg.subspan(proto::kDataHeaderLen);
  opened = crypto::aead_open(cipher.first(cipher.size() - proto::kAeadTagLen), cipher, counter, {},
                             keypair->receiving_key.span());
}

void Engine::receive_data(std::span<std::uint8_t> msg, const Endpoint& from, const Endpoint& local,
                          std::uint8_t outer_ds) {
  DataJob job;
  job.outer_ds = outer_ds;
  if (!begin_data(msg, job)) return;
  job.open();
  finish_data(job, from, local);
}

bool Engine::begin_data(std::span<std::uint8_t> msg, DataJob& job) {
  job.msg = msg;
  job.counter = proto::load_le64(msg.data() + 8);
  job.opened = false;
  const Index::Entry* e = index_.lookup(proto::load_le32(msg.data() + 4), Index::Kind::kKeypair);
  if (!e) {
    count_drop(DropReason::kUnknownReceiverIndex);
    return false;
  }
  Keypair& kp = *e->keypair;
  if (!kp.can_receive(clock_.now())) {
    kp.receiving_valid = false;
    count_drop(DropReason::kNoKeypair, e->peer);
    return false;
  }
  job.peer = e->peer;
  job.keypair = &kp;
  return true;
}

void Engine::finish_data(DataJob& job, const Endpoint& from, const Endpoint& local) {
  Time now = clock_.now();
  // The keypair must still be one of the peer's: by KeypairSet's contract a message finished
  // earlier in the batch may have retired it (received_with), and then this one is refused as
  // receive() would have refused it. Peers themselves only go away between batches.
  Peer& peer = *job.peer;
  if (!peer.keypairs.holds(job.keypair)) {
    count_drop(DropReason::kUnknownReceiverIndex);
    return;
  }
  Keypair& kp = *job.keypair;
  if (!job.opened) {
    count_drop(DropReason::kDecryptFailed, &peer);
    return;
  }
  if (!kp.replay.validate(job.counter)) {
    count_drop(DropReason::kReplay, &peer);
    return;
  }
  std::span<std::uint8_t> msg = job.msg;
  auto plain = msg.subspan(proto::kDataHeaderLen, msg.size() - proto::kDataHeaderLen - proto::kAeadTagLen);

  // Authenticated from here on.
  update_endpoint(peer, from, local);
  if (peer.keypairs.received_with(&kp, dropped_)) {
    drop_keypairs(dropped_);
    handshake_complete(peer);
    send_staged(peer);
  }
  keep_key_fresh_after_receive(peer);
  peer.timers.any_authenticated_packet_received();
  peer.timers.any_authenticated_packet_traversal(now, peer.persistent_keepalive_interval);
  peer.rx_bytes += msg.size();

  if (plain.empty()) {  // keepalive
    reschedule(peer);
    return;
  }
  peer.timers.data_received(now);
  reschedule(peer);
  auto info = parse_inner(plain);
  if (!info) {
    count_drop(DropReason::kInvalidInnerPacket, &peer);
    return;
  }
  // AllowedIPs as a source filter: a peer may only speak for the addresses it was given.
  if (allowedips_.lookup(info->src) != &peer) {
    count_drop(DropReason::kAllowedIpsMismatch, &peer);
    return;
  }
  // RFC 6040 at the egress: congestion marked on the way reaches the inner packet (core/ecn.hpp).
  auto inner = plain.first(info->len);
  if (!ecn::apply(ecn::decap(job.outer_ds, ecn::inner_ds(inner)), inner)) {
    count_drop(DropReason::kEcnCeNotEct, &peer);
    return;
  }
  sink_.deliver(peer, inner);
}

// ---------------------------------------------------------------- timers

void Engine::reschedule(Peer& peer) {
  auto next = peer.timers.next_deadline();
  if (!next) return;  // an earlier entry, if any, is re-evaluated when it comes due
  if (peer.scheduled_at && *peer.scheduled_at <= *next) return;
  unschedule(peer);
  schedule_.emplace(*next, peer.id());
  peer.scheduled_at = next;
}

void Engine::unschedule(Peer& peer) {
  if (peer.scheduled_at) schedule_.erase({*peer.scheduled_at, peer.id()});
  peer.scheduled_at.reset();
}

std::optional<Time> Engine::next_timer() const {
  if (schedule_.empty()) return std::nullopt;
  return schedule_.begin()->first;
}

void Engine::run_timers() {
  Time now = clock_.now();
  while (!schedule_.empty() && schedule_.begin()->first <= now) {
    auto [at, id] = *schedule_.begin();
    schedule_.erase(schedule_.begin());
    auto it = peers_.find(id);
    if (it == peers_.end()) continue;
    Peer& peer = it->second;
    peer.scheduled_at.reset();
    process_timers(peer, now);
    reschedule(peer);
  }
}

void Engine::process_timers(Peer& peer, Time now) {
  PeerTimers& t = peer.timers;
  if (t.take_if_due(TimerKind::kRetransmitHandshake, now)) {
    if (t.handshake_attempts > proto::kMaxTimerHandshakes) {
      // Give up: forget what waited for this session and erase keys in a while.
      sink_.on_event(&peer, EngineEvent::kHandshakeGaveUp);
      t.disarm(TimerKind::kSendKeepalive);
      peer.staged.clear();
      if (!t.pending(TimerKind::kZeroKeyMaterial))
        t.arm(TimerKind::kZeroKeyMaterial, now + proto::kZeroKeyMaterialAfter);
    } else {
      ++t.handshake_attempts;
      sink_.on_event(&peer, EngineEvent::kHandshakeRetry);
      peer.local_source.reset();  // the route may have changed: let the kernel pick a source
      send_handshake_initiation(peer, true);
    }
  }
  if (t.take_if_due(TimerKind::kSendKeepalive, now)) {
    send_keepalive(peer);
    if (t.need_another_keepalive) {
      t.need_another_keepalive = false;
      t.arm(TimerKind::kSendKeepalive, now + proto::kKeepaliveTimeout);
    }
  }
  if (t.take_if_due(TimerKind::kNewHandshake, now)) {
    // We sent data and heard nothing back for KEEPALIVE + REKEY_TIMEOUT: the session may be dead.
    sink_.on_event(&peer, EngineEvent::kPeerWentQuiet);
    peer.local_source.reset();
    send_handshake_initiation(peer, false);
  }
  if (t.take_session_expiry_if_due(now)) sink_.on_event(&peer, EngineEvent::kSessionExpired);
  if (t.take_if_due(TimerKind::kZeroKeyMaterial, now)) {
    sink_.on_event(&peer, EngineEvent::kKeysZeroed);
    clear_handshake(peer);
    peer.keypairs.clear(dropped_);
    drop_keypairs(dropped_);
  }
  if (t.take_if_due(TimerKind::kPersistentKeepalive, now)) {
    if (peer.persistent_keepalive_interval) send_keepalive(peer);
  }
}

}  // namespace wgcore
