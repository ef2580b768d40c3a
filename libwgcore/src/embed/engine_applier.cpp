#include "embed/engine_applier.hpp"

namespace wgcore {

void EngineApplier::private_key_changed(const std::optional<Key>& key) {
  last_ = nullptr;  // the engine drops a peer equal to the new identity
  engine_.set_private_key(key);
}

void EngineApplier::peer_added(const Key& pub) { last_ = engine_.add_peer(pub); }

void EngineApplier::peer_removed(const Key& pub) {
  engine_.remove_peer(peer(pub));
  last_ = nullptr;
}

void EngineApplier::preshared_key_changed(const Key& pub, const std::optional<Key>& psk) {
  if (Peer* p = peer(pub)) engine_.set_preshared_key(*p, psk);
}

void EngineApplier::endpoint_set(const Key& pub, const Endpoint& endpoint) {
  Peer* p = peer(pub);
  if (p && (!p->endpoint || !(*p->endpoint == endpoint))) engine_.set_endpoint(*p, endpoint);
}

void EngineApplier::keepalive_set(const Key& pub, std::uint16_t seconds) {
  Peer* p = peer(pub);
  if (p && p->persistent_keepalive_interval != seconds && engine_.set_persistent_keepalive(*p, seconds, false))
    keepalives_due_.push_back(pub);
}

void EngineApplier::allowed_ip_added(const Key& pub, const IpPrefix& prefix) {
  if (Peer* p = peer(pub)) engine_.add_allowed_ip(*p, prefix);
}

void EngineApplier::allowed_ip_removed(const Key& pub, const IpPrefix& prefix) {
  if (Peer* p = peer(pub)) engine_.remove_allowed_ip(*p, prefix);
}

void EngineApplier::allowed_ips_cleared(const Key& pub) {
  if (Peer* p = peer(pub)) engine_.clear_allowed_ips(*p);
}

Peer* EngineApplier::peer(const Key& pub) {
  if (!last_ || !(last_->public_key() == pub)) last_ = engine_.find_peer(pub);
  return last_;
}

DropCounts nonzero_drops(const DropCounters& c) {
  DropCounts out;
  for (std::size_t i = 0; i < kDropReasons; ++i)
    if (auto n = c.get(DropReason(i))) out.emplace_back(to_string(DropReason(i)), n);
  return out;
}

DeviceState engine_state(const ConfigModel& model, const Engine& engine) {
  DeviceState s = model.state();
  s.drops = nonzero_drops(engine.drops());
  for (PeerState& ps : s.peers) {
    Peer* p = engine.find_peer(ps.public_key);
    if (!p) continue;
    ps.endpoint = p->endpoint;
    ps.drops = nonzero_drops(p->drops);
    ps.rx_bytes = p->rx_bytes;
    ps.tx_bytes = p->tx_bytes;
    auto wall = p->last_handshake_wall.count();
    ps.last_handshake_time_sec = wall / 1'000'000'000;
    ps.last_handshake_time_nsec = wall % 1'000'000'000;
  }
  return s;
}

}  // namespace wgcore
