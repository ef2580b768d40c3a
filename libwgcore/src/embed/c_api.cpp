// The C ABI (wgcore.h) over wgcore::Tunnel. Every entry point checks its pointers and sizes
// first (a bad argument is -EINVAL with a message, never a crash), catches every exception (none
// may cross into C) and keeps keys only in wgcore::Key, which zeroes itself.
#include "wgcore.h"

#include <cstdio>
#include <cstring>
#include <memory>
#include <new>
#include <string>

#include "core/counters.hpp"
#include "core/crypto/x25519.hpp"
#include "core/environment.hpp"
#include "wgcore/tunnel.hpp"
#include "wgcore/udp_tunnel.hpp"

// The C event numbers are the C++ enum's: an event passes through as int.
static_assert(int(wgcore::TunnelEvent::kHandshakeCompleted) == WGCORE_EVENT_HANDSHAKE_COMPLETED);
static_assert(int(wgcore::TunnelEvent::kEndpointChanged) == WGCORE_EVENT_ENDPOINT_CHANGED);
static_assert(int(wgcore::TunnelEvent::kPeerWentQuiet) == WGCORE_EVENT_PEER_WENT_QUIET);
static_assert(int(wgcore::TunnelEvent::kHandshakeGaveUp) == WGCORE_EVENT_HANDSHAKE_GAVE_UP);
static_assert(int(wgcore::TunnelEvent::kKeysZeroed) == WGCORE_EVENT_KEYS_ZEROED);
static_assert(int(wgcore::TunnelEvent::kSessionExpired) == WGCORE_EVENT_SESSION_EXPIRED);

namespace {

using wgcore::Endpoint;
using wgcore::Key;

int fail(wgcore_error* err, int code, const std::string& message) {
  if (err) {
    err->code = -code;
    std::snprintf(err->message, sizeof err->message, "%s", message.c_str());
  }
  return -code;
}

int fail(wgcore_error* err, const wgcore::Error& e) { return fail(err, e.code, e.message); }

int ok(wgcore_error* err) {
  if (err) {
    err->code = 0;
    err->message[0] = '\0';
  }
  return 0;
}

Key key_of(const std::uint8_t* p) { return Key(std::span<const std::uint8_t, wgcore::kKeyLen>(p, wgcore::kKeyLen)); }

// A caller's struct covers `field` when its size reaches past it.
template <class S, class F>
bool covers(const S* s, const F S::*field) {
  const auto end = reinterpret_cast<const char*>(&(s->*field)) - reinterpret_cast<const char*>(s) + sizeof(F);
  return s->size >= std::size_t(end);
}

std::optional<Endpoint> endpoint_of(const sockaddr* sa, socklen_t len) {
  if (!sa || len < socklen_t(offsetof(sockaddr, sa_family) + sizeof(sa_family_t))) return std::nullopt;
  if (sa->sa_family == AF_INET && len >= socklen_t(sizeof(sockaddr_in))) return Endpoint::from_sockaddr(sa, len);
  if (sa->sa_family == AF_INET6 && len >= socklen_t(sizeof(sockaddr_in6))) return Endpoint::from_sockaddr(sa, len);
  return std::nullopt;
}

// A wgcore_peer as the typed change it asks for; nothing (and `err` filled) when it is invalid.
std::optional<wgcore::PeerUpdate> peer_update_of(const wgcore_peer& peer, wgcore_error* err) {
  wgcore::PeerUpdate pu;
  pu.public_key = key_of(peer.public_key);
  if (peer.set_preshared_key) pu.preshared_key = key_of(peer.preshared_key);
  if (peer.endpoint) {
    auto ep = endpoint_of(peer.endpoint, peer.endpoint_len);
    if (!ep) return fail(err, EINVAL, "endpoint is not an IPv4 or IPv6 socket address of its size"), std::nullopt;
    pu.endpoint = *ep;
  }
  if (peer.set_keepalive) pu.persistent_keepalive_interval = peer.persistent_keepalive;
  if (peer.replace_allowed_ips) pu.allowed_ips.push_back({wgcore::AllowedIpOp::Kind::kReplaceAll, {}});
  if (peer.allowed_ips_len && !peer.allowed_ips) return fail(err, EINVAL, "allowed_ips is NULL"), std::nullopt;
  for (std::size_t i = 0; i < peer.allowed_ips_len; ++i) {
    const char* s = peer.allowed_ips[i];
    if (!s) return fail(err, EINVAL, "allowed_ips[" + std::to_string(i) + "] is NULL"), std::nullopt;
    auto p = wgcore::IpPrefix::parse(s);
    if (!p)
      return fail(err, EINVAL, "allowed_ips[" + std::to_string(i) + "]: '" + std::string(s) + "' is not a prefix"),
             std::nullopt;
    pu.allowed_ips.push_back({wgcore::AllowedIpOp::Kind::kAdd, p->canonical()});
  }
  return pu;
}

class CHandler final : public wgcore::TunnelHandler {
 public:
  explicit CHandler(const wgcore_callbacks& cb) : cb_(cb) {}
  void send_datagram(const Key* peer, const Endpoint& to, std::span<const std::uint8_t> d) override {
    cb_.send_datagram(cb_.user, peer ? peer->data() : nullptr, &to.addr.sa, to.socklen(), d.data(), d.size());
  }
  void deliver(const Key& peer, std::span<const std::uint8_t> p) override {
    cb_.deliver(cb_.user, peer.data(), p.data(), p.size());
  }
  void on_event(const Key& peer, wgcore::TunnelEvent e) override {
    if (cb_.event) cb_.event(cb_.user, peer.data(), int(e));
  }
  std::optional<wgcore::PeerUpdate> admit(const Key& initiator, const Endpoint& from) override {
    if (!cb_.admit) return std::nullopt;
    wgcore_peer p{};
    p.size = sizeof p;
    std::memcpy(p.public_key, initiator.data(), initiator.size());
    // The application may have written a preshared key into p: wiped whatever the answer.
    struct Wipe {
      wgcore_peer& p;
      ~Wipe() { wgcore::secure_zero(&p, sizeof p); }
    } wipe{p};
    if (!cb_.admit(cb_.user, initiator.data(), &from.addr.sa, from.socklen(), &p)) return std::nullopt;
    std::memcpy(p.public_key, initiator.data(), initiator.size());
    return peer_update_of(p, nullptr);  // an invalid answer refuses
  }

 private:
  wgcore_callbacks cb_;
};

}  // namespace

// Either kind of tunnel: the application's transport (tunnel) or the library's socket (udp).
struct wgcore_tunnel {
  std::unique_ptr<CHandler> handler;
  std::unique_ptr<wgcore::Tunnel> tunnel;
  std::unique_ptr<wgcore::UdpTunnel> udp;
  wgcore::Status apply(const wgcore::DeviceUpdate& u) { return udp ? udp->apply(u) : tunnel->apply(u); }
  wgcore::DeviceState state() const { return udp ? udp->state() : tunnel->state(); }
  Key public_key() const { return udp ? udp->public_key() : tunnel->public_key(); }
  void send(std::span<const std::uint8_t> p) { udp ? udp->send(p) : tunnel->send(p); }
};

namespace {

// Runs `f` with exceptions turned into -ENOMEM / -EIO.
template <class F>
int guarded(wgcore_error* err, F&& f) {
  try {
    return f();
  } catch (const std::bad_alloc&) {
    return fail(err, ENOMEM, "out of memory");
  } catch (const std::exception& e) {
    return fail(err, EIO, e.what());
  } catch (...) {
    return fail(err, EIO, "unexpected error");
  }
}

const wgcore::PeerState* find_peer(const wgcore::DeviceState& s, const Key& k) {
  for (const auto& p : s.peers)
    if (p.public_key == k) return &p;
  return nullptr;
}

// Both constructors: the checks, then a Tunnel (the application's transport) or, with
// `listen_port`, a UdpTunnel (the library's socket, which needs no send_datagram and no manual time).
int new_tunnel(const uint8_t* private_key, const wgcore_callbacks* callbacks, const wgcore_tunnel_options* options,
               std::optional<std::uint16_t> listen_port, wgcore_tunnel** out, wgcore_error* err) {
  if (!out) return fail(err, EINVAL, "out is NULL");
  *out = nullptr;
  if (!private_key) return fail(err, EINVAL, "private_key is NULL");
  if (!callbacks) return fail(err, EINVAL, "callbacks is NULL");
  if (!covers(callbacks, &wgcore_callbacks::deliver))
    return fail(err, EINVAL, "callbacks->size " + std::to_string(callbacks->size) + " is too small");
  if (!callbacks->deliver) return fail(err, EINVAL, "callbacks->deliver is required");
  if (!listen_port && !callbacks->send_datagram)
    return fail(err, EINVAL, "callbacks->send_datagram is required (or wgcore_tunnel_new_udp)");
  wgcore::TunnelOptions opts;
  if (options) {
    if (!covers(options, &wgcore_tunnel_options::size)) return fail(err, EINVAL, "options->size is too small");
    if (covers(options, &wgcore_tunnel_options::mtu) && options->mtu) opts.mtu = options->mtu;
    if (covers(options, &wgcore_tunnel_options::manual_time)) opts.manual_time = options->manual_time != 0;
    if (covers(options, &wgcore_tunnel_options::admit_unknown)) opts.admit_unknown = options->admit_unknown != 0;
    if (covers(options, &wgcore_tunnel_options::under_load_handshakes_per_second))
      opts.under_load_handshakes_per_second = options->under_load_handshakes_per_second;
  }
  if (listen_port && opts.manual_time)
    return fail(err, EINVAL, "a tunnel with its own socket runs on real time: manual_time is not for it");
  return guarded(err, [&] {
    // Field by field: a pointer only partly inside the caller's `size` is not one.
    wgcore_callbacks cb{};
    cb.size = sizeof cb;
    cb.user = callbacks->user;
    cb.send_datagram = callbacks->send_datagram;
    cb.deliver = callbacks->deliver;
    if (covers(callbacks, &wgcore_callbacks::event)) cb.event = callbacks->event;
    if (covers(callbacks, &wgcore_callbacks::admit)) cb.admit = callbacks->admit;
    auto t = std::make_unique<wgcore_tunnel>();
    t->handler = std::make_unique<CHandler>(cb);
    if (listen_port) {
      auto made = wgcore::UdpTunnel::create(key_of(private_key), *t->handler, {.listen_port = *listen_port, .tunnel = opts});
      if (!made) return fail(err, made.error());
      t->udp = std::move(*made);
    } else {
      auto made = wgcore::Tunnel::create(key_of(private_key), *t->handler, opts);
      if (!made) return fail(err, made.error());
      t->tunnel = std::move(*made);
    }
    *out = t.release();
    return ok(err);
  });
}

}  // namespace

extern "C" {

const char* wgcore_event_name(int event) {
  if (event < 0 || event > int(wgcore::TunnelEvent::kSessionExpired)) return nullptr;
  return wgcore::to_string(wgcore::TunnelEvent(event));
}

int wgcore_tunnel_new(const uint8_t* private_key, const wgcore_callbacks* callbacks,
                      const wgcore_tunnel_options* options, wgcore_tunnel** out, wgcore_error* err) {
  return new_tunnel(private_key, callbacks, options, std::nullopt, out, err);
}

void wgcore_tunnel_free(wgcore_tunnel* tunnel) { delete tunnel; }

int wgcore_tunnel_new_udp(const uint8_t* private_key, const wgcore_callbacks* callbacks,
                          const wgcore_tunnel_options* options, uint16_t listen_port, wgcore_tunnel** out,
                          wgcore_error* err) {
  return new_tunnel(private_key, callbacks, options, listen_port, out, err);
}

int wgcore_tunnel_listen_port(const wgcore_tunnel* tunnel) {
  if (!tunnel) return -EINVAL;
  return tunnel->udp ? tunnel->udp->listen_port() : 0;
}

int wgcore_tunnel_fd(const wgcore_tunnel* tunnel) {
  if (!tunnel) return -EINVAL;
  return tunnel->udp ? tunnel->udp->fd() : -ENOTSUP;
}

int wgcore_tunnel_run_once(wgcore_tunnel* tunnel, int timeout_ms, wgcore_error* err) {
  if (!tunnel) return fail(err, EINVAL, "tunnel is NULL");
  if (!tunnel->udp) return fail(err, EINVAL, "this tunnel has no socket of its own (wgcore_tunnel_new_udp makes one)");
  if (timeout_ms < 0) return fail(err, EINVAL, "timeout_ms is negative");
  return guarded(err, [&] {
    tunnel->udp->run_once(std::chrono::milliseconds(timeout_ms));
    return ok(err);
  });
}

int wgcore_tunnel_start(wgcore_tunnel* tunnel, wgcore_error* err) {
  if (!tunnel) return fail(err, EINVAL, "tunnel is NULL");
  if (!tunnel->udp) return fail(err, EINVAL, "this tunnel has no socket of its own (wgcore_tunnel_new_udp makes one)");
  return guarded(err, [&] {
    if (auto st = tunnel->udp->start(); !st) return fail(err, st.error());
    return ok(err);
  });
}

void wgcore_tunnel_stop(wgcore_tunnel* tunnel) {
  if (tunnel && tunnel->udp) (void)guarded(nullptr, [&] {
      tunnel->udp->stop();
      return 0;
    });
}

int wgcore_tunnel_public_key(const wgcore_tunnel* tunnel, uint8_t* out) {
  if (!tunnel || !out) return -EINVAL;
  return guarded(nullptr, [&] {
    Key k = tunnel->public_key();
    std::memcpy(out, k.data(), k.size());
    return 0;
  });
}

int wgcore_tunnel_set_peer(wgcore_tunnel* tunnel, const wgcore_peer* peer, wgcore_error* err) {
  if (!tunnel) return fail(err, EINVAL, "tunnel is NULL");
  if (!peer) return fail(err, EINVAL, "peer is NULL");
  if (!covers(peer, &wgcore_peer::allowed_ips_len))
    return fail(err, EINVAL, "peer->size " + std::to_string(peer->size) + " is too small");
  return guarded(err, [&] {
    auto pu = peer_update_of(*peer, err);
    if (!pu) return err ? err->code : -EINVAL;
    wgcore::DeviceUpdate u;
    u.peers.push_back(std::move(*pu));
    if (auto st = tunnel->apply(u); !st) return fail(err, st.error());
    return ok(err);
  });
}

int wgcore_tunnel_remove_peer(wgcore_tunnel* tunnel, const uint8_t* public_key, wgcore_error* err) {
  if (!tunnel || !public_key) return fail(err, EINVAL, "tunnel or public_key is NULL");
  return guarded(err, [&] {
    const Key k = key_of(public_key);
    if (!find_peer(tunnel->state(), k)) return fail(err, ENOENT, "no such peer");
    wgcore::DeviceUpdate u;
    u.peers.push_back({.public_key = k, .remove = true});
    if (auto st = tunnel->apply(u); !st) return fail(err, st.error());
    return ok(err);
  });
}

int wgcore_tunnel_set_preshared_key(wgcore_tunnel* tunnel, const uint8_t* public_key, const uint8_t* psk,
                                    wgcore_error* err) {
  if (!tunnel || !public_key) return fail(err, EINVAL, "tunnel or public_key is NULL");
  return guarded(err, [&] {
    const Key k = key_of(public_key);
    if (!find_peer(tunnel->state(), k)) return fail(err, ENOENT, "no such peer");
    wgcore::DeviceUpdate u;
    u.peers.push_back({.public_key = k, .update_only = true, .preshared_key = psk ? key_of(psk) : Key()});
    if (auto st = tunnel->apply(u); !st) return fail(err, st.error());
    return ok(err);
  });
}

int wgcore_tunnel_send(wgcore_tunnel* tunnel, const uint8_t* packet, size_t len, wgcore_error* err) {
  if (!tunnel || (!packet && len)) return fail(err, EINVAL, "tunnel or packet is NULL");
  return guarded(err, [&] {
    tunnel->send(std::span<const std::uint8_t>(packet, len));
    return ok(err);
  });
}

int wgcore_tunnel_receive(wgcore_tunnel* tunnel, uint8_t* datagram, size_t len, const struct sockaddr* from,
                          socklen_t from_len, wgcore_error* err) {
  if (!tunnel || (!datagram && len)) return fail(err, EINVAL, "tunnel or datagram is NULL");
  auto ep = endpoint_of(from, from_len);
  if (!ep) return fail(err, EINVAL, "from is not an IPv4 or IPv6 socket address of its size");
  if (tunnel->udp) return fail(err, EINVAL, "this tunnel owns its UDP socket: wgcore_tunnel_run_once receives");
  return guarded(err, [&] {
    tunnel->tunnel->receive(std::span<std::uint8_t>(datagram, len), *ep);
    return ok(err);
  });
}

int wgcore_tunnel_process(wgcore_tunnel* tunnel, wgcore_error* err) {
  if (!tunnel) return fail(err, EINVAL, "tunnel is NULL");
  if (tunnel->udp) return fail(err, EINVAL, "this tunnel owns its UDP socket: wgcore_tunnel_run_once runs its timers");
  return guarded(err, [&] {
    tunnel->tunnel->process();
    return ok(err);
  });
}

int64_t wgcore_tunnel_next_deadline(const wgcore_tunnel* tunnel) {
  if (!tunnel || tunnel->udp) return -1;
  auto d = tunnel->tunnel->next_deadline();
  return d ? std::int64_t(d->count()) : -1;
}

int wgcore_tunnel_set_time(wgcore_tunnel* tunnel, int64_t monotonic_ns, int64_t wall_ns, wgcore_error* err) {
  if (!tunnel) return fail(err, EINVAL, "tunnel is NULL");
  if (tunnel->udp) return fail(err, EINVAL, "this tunnel owns its UDP socket and runs on real time");
  return guarded(err, [&] {
    if (auto st = tunnel->tunnel->set_time(std::chrono::nanoseconds(monotonic_ns), std::chrono::nanoseconds(wall_ns)); !st)
      return fail(err, st.error());
    return ok(err);
  });
}

int wgcore_tunnel_peer_stats(const wgcore_tunnel* tunnel, const uint8_t* public_key, wgcore_peer_stats* out,
                             wgcore_error* err) {
  if (!tunnel || !public_key || !out) return fail(err, EINVAL, "tunnel, public_key or out is NULL");
  if (!covers(out, &wgcore_peer_stats::size)) return fail(err, EINVAL, "out->size is too small");
  return guarded(err, [&] {
    auto s = tunnel->state();
    const wgcore::PeerState* p = find_peer(s, key_of(public_key));
    if (!p) return fail(err, ENOENT, "no such peer");
    wgcore_peer_stats st{};
    st.size = sizeof st;
    st.rx_bytes = p->rx_bytes;
    st.tx_bytes = p->tx_bytes;
    st.last_handshake_sec = p->last_handshake_time_sec;
    st.last_handshake_nsec = p->last_handshake_time_nsec;
    for (const auto& [reason, n] : p->drops) st.drops += n;
    const std::size_t size = out->size;
    std::memcpy(out, &st, std::min(size, sizeof st));
    out->size = size;
    return ok(err);
  });
}

int wgcore_tunnel_drop_count(const wgcore_tunnel* tunnel, const uint8_t* public_key, const char* reason,
                             uint64_t* out, wgcore_error* err) {
  if (!tunnel || !reason || !out) return fail(err, EINVAL, "tunnel, reason or out is NULL");
  return guarded(err, [&] {
    bool known = false;
    for (std::size_t i = 0; i < wgcore::kDropReasons; ++i) known = known || std::strcmp(reason, wgcore_drop_reason_name(i)) == 0;
    if (!known) return fail(err, EINVAL, "unknown drop reason '" + std::string(reason) + "'");
    auto s = tunnel->state();
    const wgcore::DropCounts* drops = &s.drops;
    if (public_key) {
      const wgcore::PeerState* p = find_peer(s, key_of(public_key));
      if (!p) return fail(err, ENOENT, "no such peer");
      drops = &p->drops;
    }
    *out = 0;
    for (const auto& [name, n] : *drops)
      if (name == reason) *out = n;
    return ok(err);
  });
}

const char* wgcore_drop_reason_name(size_t i) {
  return i < wgcore::kDropReasons ? wgcore::to_string(wgcore::DropReason(i)) : nullptr;
}

int wgcore_generate_private_key(uint8_t* out) {
  if (!out) return -EINVAL;
  Key k = wgcore::crypto::x25519_generate(wgcore::system_random());
  std::memcpy(out, k.data(), k.size());
  return 0;
}

int wgcore_public_key(const uint8_t* private_key, uint8_t* out) {
  if (!private_key || !out) return -EINVAL;
  Key priv = key_of(private_key);
  wgcore::crypto::x25519_clamp(priv);
  Key pub;
  if (!wgcore::crypto::x25519_public(pub, priv)) return -EIO;
  std::memcpy(out, pub.data(), pub.size());
  return 0;
}

int wgcore_key_from_base64(const char* text, uint8_t* out) {
  if (!text || !out) return -EINVAL;
  auto k = wgcore::key_from_base64(text);
  if (!k) return -EINVAL;
  std::memcpy(out, k->data(), k->size());
  return 0;
}

int wgcore_key_to_base64(const uint8_t* key, char* out, size_t out_len) {
  if (!key || !out || out_len < 45) return -EINVAL;
  return guarded(nullptr, [&] {
    std::string s = wgcore::to_base64(key_of(key));  // often a private key: wiped before it goes
    std::memcpy(out, s.c_str(), s.size() + 1);
    wgcore::secure_zero(s.data(), s.size());
    return 0;
  });
}

}  // extern "C"
