// NM's VPN plugin calls on a Tunnel; see service_plugin.hpp.
//
// Secrets: NM first asks NeedSecrets. While a secret the profile declares (private key, a
// preshared key with flags) is missing we say "vpn" once, so NM fetches what agents have saved;
// if it is still missing we let NM connect and ask through SecretsRequired with hints naming
// the missing keys, the one path on which nmcli (--ask, passwd-file) and other agents know what
// to prompt for. NewSecrets then resumes the connect. An agent that supplies nothing makes NM
// fail the activation with "no valid secrets".
#include "service_plugin.hpp"

#include <memory>
#include <set>
#include <string>
#include <vector>

#include "nm_config.hpp"
#include "nm_profile.hpp"
#include "rule_guard.hpp"
#include "tunnel.hpp"

struct _WgcoreVpnService {
  NMVpnServicePlugin parent;
  std::string* self_path;
  wgcore::nm::RuleGuard* guard;
  std::unique_ptr<wgcore::nm::Tunnel>* tunnel;
  std::set<std::string>* asked_saved;  // connection UUIDs NM already fetched saved secrets for
  guint send_id;
  guint watch_id;
};

G_DEFINE_TYPE(WgcoreVpnService, wgcore_vpn_service, NM_TYPE_VPN_SERVICE_PLUGIN)

namespace {

using wgcore::nm::Tunnel;

void log_info(const std::string& s) { g_message("nm-wgcore-service: %s", s.c_str()); }
void log_warn(const std::string& s) { g_warning("nm-wgcore-service: %s", s.c_str()); }

void clear_sources(WgcoreVpnService* self) {
  if (self->send_id) g_source_remove(self->send_id);
  if (self->watch_id) g_source_remove(self->watch_id);
  self->send_id = self->watch_id = 0;
}

gboolean send_config(gpointer data) {
  auto* self = WGCORE_VPN_SERVICE(data);
  self->send_id = 0;
  Tunnel* t = self->tunnel->get();
  if (!t) return G_SOURCE_REMOVE;
  wgcore::nm::NmConfigInput in;
  in.tundev = t->iface();
  in.mtu = t->mtu();
  in.gateway = t->gateway();
  in.plan = t->plan();
  auto* plugin = NM_VPN_SERVICE_PLUGIN(self);
  nm_vpn_service_plugin_set_config(plugin, wgcore::nm::build_generic_config(in));
  if (GVariant* v4 = wgcore::nm::build_ip4_config(in)) nm_vpn_service_plugin_set_ip4_config(plugin, v4);
  if (GVariant* v6 = wgcore::nm::build_ip6_config(in)) nm_vpn_service_plugin_set_ip6_config(plugin, v6);
  return G_SOURCE_REMOVE;
}

// The interface can vanish under us (`ip link del`, a device failure): tell NM.
gboolean watch_tunnel(gpointer data) {
  auto* self = WGCORE_VPN_SERVICE(data);
  Tunnel* t = self->tunnel->get();
  if (!t) {
    self->watch_id = 0;
    return G_SOURCE_REMOVE;
  }
  if (t->alive()) return G_SOURCE_CONTINUE;
  log_warn("interface " + t->iface() + " disappeared; the VPN connection is down");
  self->watch_id = 0;
  (void)t->down();
  self->tunnel->reset();
  nm_vpn_service_plugin_failure(NM_VPN_SERVICE_PLUGIN(self), NM_VPN_PLUGIN_FAILURE_CONNECT_FAILED);
  return G_SOURCE_REMOVE;
}

NMSettingVpn* vpn_setting(NMConnection* c, GError** error) {
  NMSettingVpn* s = nm_connection_get_setting_vpn(c);
  if (!s)
    g_set_error_literal(error, NM_VPN_PLUGIN_ERROR, NM_VPN_PLUGIN_ERROR_BAD_ARGUMENTS,
                        "the connection has no vpn setting");
  return s;
}

std::string join(const std::vector<std::string>& v) {
  std::string out;
  for (const auto& s : v) out += (out.empty() ? "" : ", ") + s;
  return out;
}

// Brings the tunnel up and schedules the config for NM. Missing secrets: asks for them.
gboolean do_connect(WgcoreVpnService* self, NMConnection* connection, GError** error) {
  NMSettingVpn* s_vpn = vpn_setting(connection, error);
  if (!s_vpn) return FALSE;
  const char* id = nm_connection_get_id(connection);
  std::string name = id ? id : "";
  if (self->tunnel->get()) {
    g_set_error(error, NM_VPN_PLUGIN_ERROR, NM_VPN_PLUGIN_ERROR_ALREADY_STARTED,
                "'%s': this service instance already runs a tunnel", name.c_str());
    return FALSE;
  }
  auto missing = wgcore::nm::missing_secrets(s_vpn);
  if (!missing.empty()) {
    std::string msg = "'" + name + "' needs " + join(missing) + " (WireGuard keys kept by a secret agent)";
    log_info("asking the secret agent for " + join(missing));
    std::vector<const char*> hints;
    for (const auto& m : missing) hints.push_back(m.c_str());
    hints.push_back(nullptr);
    nm_vpn_service_plugin_secrets_required(NM_VPN_SERVICE_PLUGIN(self), msg.c_str(), hints.data());
    return TRUE;  // NM answers with NewSecrets, or fails the activation
  }
  auto profile = wgcore::nm::profile_from_setting(s_vpn);
  auto backend_name = wgcore::nm::profile_backend(profile);
  auto cfg = wgcore::nm::wgquick_from_setting(s_vpn);
  std::optional<wgcore::BackendChoice> backend;
  if (backend_name) backend = wgcore::parse_backend_choice(*backend_name);
  if (!cfg || !backend_name || !backend) {
    std::string why = !cfg ? cfg.error().message
                           : !backend_name ? backend_name.error().message : "vpn.data: backend: unknown value";
    log_warn("'" + name + "': invalid profile: " + why);
    g_set_error(error, NM_VPN_PLUGIN_ERROR, NM_VPN_PLUGIN_ERROR_BAD_ARGUMENTS, "invalid profile '%s': %s",
                name.c_str(), why.c_str());
    return FALSE;
  }
  if (cfg->peers.empty()) log_warn("'" + name + "' has no [Peer]: the tunnel will carry nothing");
  if (wgcore::Status st = self->guard->start(*self->self_path); !st)
    log_warn(st.error().message + " (rules of a crashed service would stay)");
  wgcore::nm::TunnelRequest req;
  req.config = std::move(*cfg);
  req.backend = *backend;
  req.name_hint = name;
  auto t = Tunnel::up(req, *self->guard, log_info);
  if (!t) {
    log_warn("'" + name + "': bringing up the tunnel failed: " + t.error().message);
    g_set_error(error, NM_VPN_PLUGIN_ERROR, NM_VPN_PLUGIN_ERROR_LAUNCH_FAILED, "'%s': %s", name.c_str(),
                t.error().message.c_str());
    return FALSE;
  }
  const Tunnel& tun = **t;
  log_info("'" + name + "' up on " + tun.iface() + ": backend " + tun.backend_reason() + ", mtu " +
           std::to_string(tun.mtu()) + (tun.gateway() ? ", endpoint " + tun.gateway()->to_string() : ""));
  // Further addresses reach the interface through ipv4.addresses / ipv6.addresses (the import
  // puts them there); one that is not there is said, with the way to add it.
  for (const auto* f : {&tun.plan().v4, &tun.plan().v6})
    for (const auto& a : f->extra_addresses) {
      NMSettingIPConfig* s_ip = a.addr.is_v4() ? NM_SETTING_IP_CONFIG(nm_connection_get_setting_ip4_config(connection))
                                               : NM_SETTING_IP_CONFIG(nm_connection_get_setting_ip6_config(connection));
      bool carried = false;
      for (guint i = 0; s_ip && i < nm_setting_ip_config_get_num_addresses(s_ip); ++i) {
        NMIPAddress* ip = nm_setting_ip_config_get_address(s_ip, i);
        carried |= a.addr.to_string() == nm_ip_address_get_address(ip) && a.len == nm_ip_address_get_prefix(ip);
      }
      if (!carried)
        log_warn("Address " + a.to_string() + " left out: a VPN's configuration carries one address per family; `nmcli connection modify '" +
                 name + "' +" + (a.addr.is_v4() ? "ipv4" : "ipv6") + ".addresses " + a.to_string() + "` adds it");
    }
  *self->tunnel = std::move(*t);
  self->send_id = g_idle_add(send_config, self);
  self->watch_id = g_timeout_add_seconds(1, watch_tunnel, self);
  return TRUE;
}

gboolean real_connect(NMVpnServicePlugin* plugin, NMConnection* connection, GError** error) {
  return do_connect(WGCORE_VPN_SERVICE(plugin), connection, error);
}

gboolean real_connect_interactive(NMVpnServicePlugin* plugin, NMConnection* connection, GVariant*,
                                  GError** error) {
  return do_connect(WGCORE_VPN_SERVICE(plugin), connection, error);
}

gboolean real_new_secrets(NMVpnServicePlugin* plugin, NMConnection* connection, GError** error) {
  auto* self = WGCORE_VPN_SERVICE(plugin);
  NMSettingVpn* s_vpn = vpn_setting(connection, error);
  if (!s_vpn) return FALSE;
  auto missing = wgcore::nm::missing_secrets(s_vpn);
  if (!missing.empty()) {
    g_set_error(error, NM_VPN_PLUGIN_ERROR, NM_VPN_PLUGIN_ERROR_BAD_ARGUMENTS,
                "the secret agent did not supply %s", join(missing).c_str());
    return FALSE;
  }
  return do_connect(self, connection, error);
}

gboolean real_need_secrets(NMVpnServicePlugin* plugin, NMConnection* connection, const char** setting_name,
                           GError** error) {
  auto* self = WGCORE_VPN_SERVICE(plugin);
  NMSettingVpn* s_vpn = vpn_setting(connection, error);
  if (!s_vpn) return FALSE;
  auto missing = wgcore::nm::missing_secrets(s_vpn);
  if (missing.empty()) return FALSE;
  const char* uuid = nm_connection_get_uuid(connection);
  std::string key = uuid ? uuid : "";
  if (self->asked_saved->insert(key).second) {
    *setting_name = NM_SETTING_VPN_SETTING_NAME;  // first: the secrets agents have saved
    return TRUE;
  }
  return FALSE;  // then: connect, which asks with hints (see the top of this file)
}

gboolean real_disconnect(NMVpnServicePlugin* plugin, GError** error) {
  auto* self = WGCORE_VPN_SERVICE(plugin);
  clear_sources(self);
  self->asked_saved->clear();
  if (!self->tunnel->get()) return TRUE;
  std::string iface = (*self->tunnel)->iface();
  wgcore::Status st = (*self->tunnel)->down();
  self->tunnel->reset();
  if (!st) {
    log_warn("disconnect " + iface + ": " + st.error().message);
    g_set_error(error, NM_VPN_PLUGIN_ERROR, NM_VPN_PLUGIN_ERROR_FAILED, "disconnect %s: %s", iface.c_str(),
                st.error().message.c_str());
    return FALSE;
  }
  log_info("disconnected; " + iface + " removed");
  return TRUE;
}

void finalize(GObject* object) {
  auto* self = WGCORE_VPN_SERVICE(object);
  clear_sources(self);
  delete self->tunnel;  // down() before the guard goes
  delete self->guard;
  delete self->asked_saved;
  delete self->self_path;
  G_OBJECT_CLASS(wgcore_vpn_service_parent_class)->finalize(object);
}

}  // namespace

static void wgcore_vpn_service_init(WgcoreVpnService* self) {
  self->self_path = new std::string();
  self->guard = new wgcore::nm::RuleGuard();
  self->tunnel = new std::unique_ptr<Tunnel>();
  self->asked_saved = new std::set<std::string>();
  self->send_id = self->watch_id = 0;
}

static void wgcore_vpn_service_class_init(WgcoreVpnServiceClass* klass) {
  GObjectClass* oc = G_OBJECT_CLASS(klass);
  oc->finalize = finalize;
  NMVpnServicePluginClass* pc = NM_VPN_SERVICE_PLUGIN_CLASS(klass);
  pc->connect = real_connect;
  pc->connect_interactive = real_connect_interactive;
  pc->need_secrets = real_need_secrets;
  pc->new_secrets = real_new_secrets;
  pc->disconnect = real_disconnect;
}

WgcoreVpnService* wgcore_vpn_service_new(const char* bus_name, gboolean watch_peer, const char* self_path,
                                         GError** error) {
  auto* self = static_cast<WgcoreVpnService*>(
      g_initable_new(WGCORE_TYPE_VPN_SERVICE, nullptr, error, NM_VPN_SERVICE_PLUGIN_DBUS_SERVICE_NAME, bus_name,
                     NM_VPN_SERVICE_PLUGIN_DBUS_WATCH_PEER, watch_peer, nullptr));
  if (self) *self->self_path = self_path;
  return self;
}
