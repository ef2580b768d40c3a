// An Engine configured through a ConfigModel: the pieces the userspace device and the embedding
// Tunnel share, so both apply an update and read the state back the same way.
#pragma once

#include <optional>
#include <vector>

#include "model/config_model.hpp"
#include "core/engine.hpp"
#include "wgcore/config.hpp"

namespace wgcore {

// The model's changes performed on the engine, one engine operation each, so an update costs
// what it names (DeviceTest.AnUpdateCostsTheEngineOperationsItNames counts them). Endpoint and
// keepalive are compared with the engine's live values: re-setting the endpoint a peer roamed
// from would reset its sticky source, and turning a keepalive on queues the peer in
// `keepalives_due` for its first keepalive, which the caller sends once the update is applied.
class EngineApplier final : public ConfigObserver {
 public:
  EngineApplier(Engine& engine, std::vector<Key>& keepalives_due)
      : engine_(engine), keepalives_due_(keepalives_due) {}

  void private_key_changed(const std::optional<Key>& key) override;
  void peer_added(const Key& pub) override;
  void peer_removed(const Key& pub) override;
  void preshared_key_changed(const Key& pub, const std::optional<Key>& psk) override;
  void endpoint_set(const Key& pub, const Endpoint& endpoint) override;
  void keepalive_set(const Key& pub, std::uint16_t seconds) override;
  void allowed_ip_added(const Key& pub, const IpPrefix& prefix) override;
  void allowed_ip_removed(const Key& pub, const IpPrefix& prefix) override;
  void allowed_ips_cleared(const Key& pub) override;

 private:
  // Consecutive operations usually name the same peer (a block's prefixes): one lookup for them.
  Peer* peer(const Key& pub);

  Engine& engine_;
  std::vector<Key>& keepalives_due_;
  Peer* last_ = nullptr;
};

// Non-zero drop counters by reason name.
DropCounts nonzero_drops(const DropCounters& c);
// The model's configuration with the engine's live values: the endpoint a peer roamed to, its
// byte counters, last handshake and drops, and the device-wide drops. Name, port and fwmark are
// the caller's.
DeviceState engine_state(const ConfigModel& model, const Engine& engine);

}  // namespace wgcore
