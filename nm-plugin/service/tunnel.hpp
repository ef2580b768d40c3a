// One WireGuard tunnel brought up for an NM connection, on either backend: the in-process
// userspace Device (its own loop thread, plus a UAPI socket so stock `wg` sees it) or a
// kernel WireGuard link over netlink. Applies keys and peers, MTU and link state, and the
// routing NM cannot express (full-tunnel policy rules, Table = N); addresses and ordinary
// routes are NM's, reported through the VPN IP config. No GLib here.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "full_tunnel.hpp"
#include "ip_plan.hpp"
#include "routing/netlink.hpp"
#include "rule_guard.hpp"
#include "wgcore/interface.hpp"
#include "wgcore/wgquick.hpp"

namespace wgcore::nm {

using LogFn = std::function<void(const std::string&)>;

struct TunnelRequest {
  config::WgQuickConfig config;
  BackendChoice backend = BackendChoice::kAuto;
  std::string name_hint;  // the connection id: used as the interface name when it is a valid, free one
};

class Tunnel {
 public:
  // Brings the tunnel up; on error nothing it created is left. `guard` must outlive the tunnel.
  static Result<std::unique_ptr<Tunnel>> up(const TunnelRequest& req, RuleGuard& guard, const LogFn& log);
  ~Tunnel();  // down()

  // Removes our rules and the interface (the kernel drops its routes and NM's addresses with it).
  Status down();

  const std::string& iface() const { return iface_; }
  unsigned mtu() const { return mtu_; }
  const IpPlan& plan() const { return plan_; }
  // The first peer endpoint: NM's "external gateway" of the VPN.
  const std::optional<IpAddr>& gateway() const { return gateway_; }
  const std::string& backend_reason() const { return backend_reason_; }
  BackendChoice backend() const { return backend_; }
  std::uint32_t policy_table() const { return full_ ? full_->table() : 0; }
  // False once the interface is gone (deleted from outside, or the device loop failed).
  bool alive();

 private:
  Tunnel(RuleGuard& guard, const LogFn& log) : guard_(guard), log_(log) {}
  Status bring_up(const TunnelRequest& req);

  RuleGuard& guard_;
  LogFn log_;
  std::optional<routing::Netlink> nl_;
  BackendChoice backend_ = BackendChoice::kUserspace;
  std::string backend_reason_;
  std::string iface_;
  std::unique_ptr<Interface> link_;
  bool link_watched_ = false;                     // kernel: the guard deletes the link if we die
  bool tun_held_ = false;                         // userspace: the guard holds a copy of the TUN fd
  std::optional<FullTunnel> full_;
  IpPlan plan_;
  unsigned mtu_ = 0;
  std::optional<IpAddr> gateway_;
};

// The interface name for a connection: `hint` when it is a valid interface name not in use,
// else the first free "wgcN". `exists` says whether a name is taken (a link or a UAPI socket).
std::string choose_iface_name(const std::string& hint, const std::function<bool(const std::string&)>& exists);

// Resolves an Endpoint host (numeric, else getaddrinfo; retried while the resolver says "try
// again", as wg does).
Result<Endpoint> resolve_endpoint(const config::EndpointSpec& spec);

}  // namespace wgcore::nm
