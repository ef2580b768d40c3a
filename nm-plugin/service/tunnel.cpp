// Bring-up and teardown of one tunnel; see tunnel.hpp. The steps follow `wgcore up`
// (tools/wgcore/quick.cpp) minus what NM does itself: addresses, routes in the main table, DNS.
#include "tunnel.hpp"

#include "routing/link.hpp"
#include "routing/route.hpp"
#include "routing/wgquick_routes.hpp"

namespace wgcore::nm {

std::string choose_iface_name(const std::string& hint, const std::function<bool(const std::string&)>& exists) {
  if (config::valid_interface_name(hint) && !exists(hint)) return hint;
  for (int i = 0;; ++i) {
    std::string n = "wgc" + std::to_string(i);
    if (!exists(n)) return n;
  }
}

Result<Endpoint> resolve_endpoint(const config::EndpointSpec& spec) {
  auto ep = config::resolve_system(spec, 5);
  if (!ep) return make_error(ep.error().code, "endpoint " + spec.host + ": " + ep.error().message);
  return ep;
}

Result<std::unique_ptr<Tunnel>> Tunnel::up(const TunnelRequest& req, RuleGuard& guard, const LogFn& log) {
  std::unique_ptr<Tunnel> t(new Tunnel(guard, log));
  if (Status st = t->bring_up(req); !st) {
    (void)t->down();
    return st.error();
  }
  return t;
}

Status Tunnel::bring_up(const TunnelRequest& req) {
  const config::WgQuickConfig& cfg = req.config;
  auto nl = routing::Netlink::open();
  if (!nl) return nl.error();
  nl_.emplace(std::move(*nl));
  routing::Netlink& nl_ref = *nl_;

  auto decision = choose_backend(req.backend);
  if (!decision) return decision.error();
  backend_ = decision->backend;
  backend_reason_ = decision->reason;

  iface_ = choose_iface_name(req.name_hint, [&](const std::string& n) {
    if (routing::get_link(nl_ref, n).ok()) return true;
    // A socket nobody listens on (a service killed with SIGKILL left it) does not hold the
    // name: it goes, and the tunnel comes up under the name the user chose.
    if (remove_stale_uapi_socket(n)) log_("removed the stale socket of a dead daemon for " + n);
    return uapi_socket_state(n) != UapiSocketState::kAbsent;
  });

  // Everything that can fail without side effects first: endpoints, the device update, the MTU.
  auto update = config::to_device_update(cfg, resolve_endpoint);
  if (!update) return update.error();
  for (const auto& p : update->peers)
    if (p.endpoint && !gateway_) gateway_ = p.endpoint->ip();
  mtu_ = routing::quick_mtu(nl_ref, cfg, *update);
  plan_ = plan_ip(cfg);

  InterfaceOptions io;
  io.name = iface_;
  io.backend = backend_;
  io.mtu = mtu_;
  io.uapi = InterfaceOptions::Uapi::kBestEffort;  // stock `wg show IFACE` finds the device by it
  if (backend_ == BackendChoice::kKernel) {
    (void)guard_.watch_link(iface_);  // best effort, as for rules (full_tunnel.cpp)
    link_watched_ = true;
  }
  auto link = Interface::create(io);
  if (!link) return link.error();
  link_ = std::move(*link);
  if (!link_->uapi_warning().empty()) log_("warning: " + link_->uapi_warning());
  if (backend_ == BackendChoice::kUserspace) {
    if (Status st = guard_.hold_tun(iface_); st) tun_held_ = true;
    else log_("warning: " + st.error().message);
  }
  Control* ctl = &link_->control();
  if (Status st = ctl->apply(*update); !st) return make_error(st.error().code, "configuring " + iface_ + ": " + st.error().message);
  if (Status st = routing::set_link_up(nl_ref, iface_, true); !st) return st;

  if (plan_.v4.full_tunnel || plan_.v6.full_tunnel) {
    auto state = ctl->get();
    if (!state) return state.error();
    FullTunnel::Request fr;
    fr.iface = iface_;
    fr.v4 = plan_.v4.full_tunnel;
    fr.v6 = plan_.v6.full_tunnel;
    fr.fwmark = state->fwmark;
    fr.set_fwmark = [ctl](std::uint32_t m) {
      DeviceUpdate u;
      u.fwmark = m;
      return ctl->apply(u);
    };
    auto ft = FullTunnel::add(nl_ref, fr, guard_);
    if (!ft) return ft.error();
    full_ = std::move(*ft);
    log_("full tunnel: default route in table " + std::to_string(full_->table()) + ", fwmark " +
         std::to_string(full_->table()) + ", suppress_prefixlength 0 keeps the endpoints reachable");
  } else if (plan_.fixed_table) {
    auto table = routing::resolve_table(*plan_.fixed_table);
    if (!table) return table.error();
    for (const auto& p : fixed_table_routes(cfg)) {
      routing::Route r;
      r.dst = p;
      r.dev = iface_;
      r.table = *table;
      if (Status st = routing::add_route(nl_ref, r); !st) return st;  // gone with the interface
    }
  }
  return {};
}

bool Tunnel::alive() { return link_ && link_->alive(); }

Status Tunnel::down() {
  Status first;
  if (full_ && nl_) {
    first = full_->remove(*nl_, guard_);
    full_.reset();
  }
  if (tun_held_) {
    Status st = guard_.release_tun(iface_);
    if (!st) log_("warning: " + st.error().message);
    tun_held_ = false;
  }
  // Removes the UAPI socket and the interface (the kernel drops its routes with it).
  link_.reset();
  if (link_watched_) {
    (void)guard_.forget_link(iface_);
    link_watched_ = false;
  }
  return first;
}

Tunnel::~Tunnel() { (void)down(); }

}  // namespace wgcore::nm
