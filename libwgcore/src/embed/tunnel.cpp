// wgcore::Tunnel: the protocol engine with its configuration model (embed/engine_applier.hpp,
// shared with the userspace device) behind the public embedding API. The engine's sink becomes
// the application's handler; peers are named by public key, never by internal pointers.
#include "wgcore/tunnel.hpp"

#include <utility>
#include <vector>

#include "core/engine.hpp"
#include "core/environment.hpp"
#include "core/handshake_load.hpp"
#include "core/messages.hpp"
#include "embed/engine_applier.hpp"

namespace wgcore {

const char* to_string(TunnelEvent event) {
  switch (event) {
    case TunnelEvent::kHandshakeCompleted: return "handshake-completed";
    case TunnelEvent::kEndpointChanged: return "endpoint-changed";
    case TunnelEvent::kPeerWentQuiet: return "peer-went-quiet";
    case TunnelEvent::kHandshakeGaveUp: return "handshake-gave-up";
    case TunnelEvent::kKeysZeroed: return "keys-zeroed";
    case TunnelEvent::kSessionExpired: return "session-expired";
  }
  return "?";
}

namespace {

// The application's time (manual_time) or the system's.
class TunnelClock final : public Clock {
 public:
  explicit TunnelClock(bool manual) : manual_(manual) {}
  Time now() const override { return manual_ ? now_ : system_clock().now(); }
  WallTime wall_now() const override { return manual_ ? wall_ : system_clock().wall_now(); }
  bool manual() const { return manual_; }
  bool set(Time now, WallTime wall) {
    if (now < now_) return false;
    now_ = now;
    wall_ = wall;
    return true;
  }

 private:
  bool manual_;
  Time now_{0};
  WallTime wall_{0};
};

std::optional<TunnelEvent> public_event(EngineEvent e) {
  switch (e) {
    case EngineEvent::kSessionDerived: return TunnelEvent::kHandshakeCompleted;
    case EngineEvent::kEndpointChanged: return TunnelEvent::kEndpointChanged;
    case EngineEvent::kPeerWentQuiet: return TunnelEvent::kPeerWentQuiet;
    case EngineEvent::kHandshakeGaveUp: return TunnelEvent::kHandshakeGaveUp;
    case EngineEvent::kKeysZeroed: return TunnelEvent::kKeysZeroed;
    case EngineEvent::kSessionExpired: return TunnelEvent::kSessionExpired;
    default: return std::nullopt;  // the handshake's steps: log material, not events
  }
}

class TunnelImpl final : public Tunnel, private EngineSink {
 public:
  TunnelImpl(TunnelHandler& handler, const TunnelOptions& options)
      : handler_(handler),
        admit_unknown_(options.admit_unknown),
        handshake_rate_(options.under_load_handshakes_per_second),
        clock_(options.manual_time),
        engine_(clock_, system_random(), *this) {
    engine_.set_mtu(options.mtu);
  }
  ~TunnelImpl() override = default;

  Status init(const Key& private_key) {
    DeviceUpdate u;
    u.private_key = private_key;
    return apply(u);
  }

  Status apply(const DeviceUpdate& update) override {
    if (update.listen_port || update.fwmark)
      return make_error(EINVAL, "a tunnel has no sockets: listen_port and fwmark do not apply");
    if (update.private_key && update.private_key->is_zero())
      return make_error(EINVAL, "a tunnel needs a private key: an all-zero key would remove it");
    auto checked = model_.check(update);
    if (!checked) return checked.error();
    EngineApplier applier(engine_, keepalives_due_);
    model_.commit(*checked, &applier);
    // First keepalives (and with them handshakes) once the whole update is in, as the device does.
    std::vector<Key> due = std::move(keepalives_due_);
    keepalives_due_.clear();
    for (const Key& k : due)
      if (Peer* p = engine_.find_peer(k)) engine_.send_keepalive(*p);
    return {};
  }

  DeviceState state() const override { return engine_state(model_, engine_); }
  Key public_key() const override { return engine_.identity().public_key; }

  void send(std::span<const std::uint8_t> packet) override { engine_.send_packet(packet); }
  void send(std::span<const std::span<const std::uint8_t>> packets) override {
    for (auto p : packets) engine_.send_packet(p);
  }
  void receive(std::span<std::uint8_t> datagram, const Endpoint& from) override {
    engine_.receive(datagram, from, Endpoint{}, under_load(datagram));
  }
  void receive(std::span<const std::span<std::uint8_t>> datagrams, std::span<const Endpoint> from) override {
    // A datagram without a source cannot be answered (or roam a peer to nowhere): not taken.
    for (std::size_t i = 0; i < datagrams.size() && i < from.size(); ++i)
      if (from[i].valid()) engine_.receive(datagrams[i], from[i], Endpoint{}, under_load(datagrams[i]));
  }

  void process() override { engine_.run_timers(); }
  std::optional<std::chrono::nanoseconds> next_deadline() const override { return engine_.next_timer(); }
  Status set_time(std::chrono::nanoseconds monotonic, std::chrono::nanoseconds wall) override {
    if (!clock_.manual()) return make_error(EINVAL, "set_time needs TunnelOptions::manual_time");
    if (!clock_.set(monotonic, wall)) return make_error(EINVAL, "monotonic time cannot go backwards");
    return {};
  }

 private:
  // Handshakes are handled as they come in, so their rate is the load (core/handshake_load.hpp):
  // over TunnelOptions::under_load_handshakes_per_second, an initiator must prove its address
  // with a cookie before any DH operation, and admit() is only asked about those that did.
  bool under_load(std::span<const std::uint8_t> datagram) {
    const auto type = proto::classify(datagram.data(), datagram.size());
    if (type != proto::MessageType::kHandshakeInitiation && type != proto::MessageType::kHandshakeResponse)
      return false;
    return handshake_rate_.arrived(clock_.now());
  }

  // EngineSink
  void send_to_peer(Peer& peer, std::span<const std::uint8_t> datagram) override {
    if (!peer.endpoint) return;  // the engine sends only to peers with an endpoint
    handler_.send_datagram(&peer.public_key(), *peer.endpoint, datagram);
  }
  void send_to_endpoint(const Endpoint& to, const Endpoint& local, std::span<const std::uint8_t> datagram) override {
    (void)local;
    handler_.send_datagram(nullptr, to, datagram);
  }
  void deliver(Peer& peer, std::span<const std::uint8_t> inner) override { handler_.deliver(peer.public_key(), inner); }
  void on_event(Peer* peer, EngineEvent event) override {
    if (!peer) return;
    if (auto e = public_event(event)) handler_.on_event(peer->public_key(), *e);
  }
  bool admits_unknown() const override { return admit_unknown_; }
  // The application's peer goes in like any update (model and engine), from inside the engine's
  // handling of the initiation, which then finds it.
  bool admit(const Key& initiator, const Endpoint& from) override {
    std::optional<PeerUpdate> pu = handler_.admit(initiator, from);
    if (!pu) return false;
    pu->public_key = initiator;
    pu->remove = false;
    pu->update_only = false;
    if (!pu->endpoint) pu->endpoint = from;
    DeviceUpdate u;
    u.peers.push_back(std::move(*pu));
    auto checked = model_.check(u);
    if (!checked) return false;
    EngineApplier applier(engine_, keepalives_due_);
    model_.commit(*checked, &applier);
    // The handshake under way is the session; keepalives follow it, no initiation of our own.
    keepalives_due_.clear();
    return true;
  }

  TunnelHandler& handler_;
  bool admit_unknown_;
  HandshakeRate handshake_rate_;
  TunnelClock clock_;
  Engine engine_;
  ConfigModel model_;
  std::vector<Key> keepalives_due_;
};

}  // namespace

Result<std::unique_ptr<Tunnel>> Tunnel::create(const Key& private_key, TunnelHandler& handler, TunnelOptions options) {
  if (private_key.is_zero()) return make_error(EINVAL, "the private key is all zero");
  if (options.mtu < 576 || options.mtu > 65535)
    return make_error(EINVAL, "MTU " + std::to_string(options.mtu) + " is outside 576..65535");
  auto t = std::make_unique<TunnelImpl>(handler, options);
  if (auto st = t->init(private_key); !st) return st.error();
  return std::unique_ptr<Tunnel>(std::move(t));
}

}  // namespace wgcore
