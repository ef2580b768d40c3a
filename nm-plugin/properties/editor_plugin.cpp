// libnm-vpn-plugin-wgcore.so: the GTK-free NMVpnEditorPlugin nmcli loads (client side, through
// the [libnm] plugin= line of nm-wgcore-service.name) for `nmcli connection import type wgcore
// file wg0.conf` and `nmcli connection export`. It has no editor widget; all format rules are in
// ../shared. Only nm_vpn_editor_plugin_factory is exported (libnm-vpn-plugin-wgcore.ver).
#include <memory>
#include <string>

#include "nm_profile.hpp"
#include "vpn_keys.hpp"

namespace {

struct WgcoreEditorPlugin {
  GObject parent;
};
struct WgcoreEditorPluginClass {
  GObjectClass parent;
};

enum { PROP_0, PROP_NAME, PROP_DESC, PROP_SERVICE };

void wgcore_editor_plugin_interface_init(NMVpnEditorPluginInterface* iface);

}  // namespace

extern "C" {
GType wgcore_editor_plugin_get_type();
}

G_DEFINE_TYPE_WITH_CODE(WgcoreEditorPlugin, wgcore_editor_plugin, G_TYPE_OBJECT,
                        G_IMPLEMENT_INTERFACE(NM_TYPE_VPN_EDITOR_PLUGIN, wgcore_editor_plugin_interface_init))

namespace {

using namespace wgcore::nm;


void get_property(GObject* object, guint id, GValue* value, GParamSpec* pspec) {
  switch (id) {
    case PROP_NAME: g_value_set_string(value, "WireGuard (wgcore)"); break;
    case PROP_DESC:
      g_value_set_string(value, "WireGuard through wgcore: userspace datapath with kernel fallback");
      break;
    case PROP_SERVICE: g_value_set_string(value, kServiceName); break;
    default: G_OBJECT_WARN_INVALID_PROPERTY_ID(object, id, pspec);
  }
}

NMConnection* import_from_file(NMVpnEditorPlugin*, const char* path, GError** error) {
  char* contents = nullptr;
  gsize length = 0;
  if (!g_file_get_contents(path, &contents, &length, error)) return nullptr;
  std::string text(contents, length);
  g_free(contents);
  auto connection = connection_from_wgquick(text, path, id_from_path(path));
  // The text holds the private key: do not leave it in freed memory.
  wgcore::secure_zero(text.data(), text.size());
  if (!connection) {
    g_set_error_literal(error, NM_CONNECTION_ERROR, NM_CONNECTION_ERROR_FAILED,
                        connection.error().message.c_str());
    return nullptr;
  }
  return *connection;
}

// `nmcli connection export` hands over the profile as NM sends it to clients: without secrets.
// A wg-quick file without its PrivateKey is of little use, so ask NM for the stored
// (system-owned) ones, as `nmcli --show-secrets` would; NM answers only callers allowed to see
// them. Agent-owned and not-saved keys are not NM's to give and stay out of the file.
struct Unref {
  void operator()(gpointer p) const { g_object_unref(p); }
};
std::unique_ptr<NMConnection, Unref> with_stored_secrets(NMConnection* connection) {
  NMSettingVpn* s_vpn = nm_connection_get_setting_vpn(connection);
  if (!NM_IS_REMOTE_CONNECTION(connection) || !s_vpn || missing_secrets(s_vpn).empty()) return nullptr;
  G_GNUC_BEGIN_IGNORE_DEPRECATIONS  // the async variant would need a main loop of our own here
  GVariant* secrets = nm_remote_connection_get_secrets(NM_REMOTE_CONNECTION(connection),
                                                       NM_SETTING_VPN_SETTING_NAME, nullptr, nullptr);
  G_GNUC_END_IGNORE_DEPRECATIONS
  if (!secrets) return nullptr;
  std::unique_ptr<NMConnection, Unref> copy(nm_simple_connection_new_clone(connection));
  bool ok = nm_connection_update_secrets(copy.get(), NM_SETTING_VPN_SETTING_NAME, secrets, nullptr);
  g_variant_unref(secrets);
  if (!ok) return nullptr;
  return copy;
}

gboolean export_to_file(NMVpnEditorPlugin*, const char* path, NMConnection* connection, GError** error) {
  auto complete = with_stored_secrets(connection);
  NMConnection* used = complete ? complete.get() : connection;
  auto text = wgquick_from_connection(used);
  if (!text) {
    g_set_error(error, NM_CONNECTION_ERROR, NM_CONNECTION_ERROR_FAILED, "%s: %s", path,
                text.error().message.c_str());
    return FALSE;
  }
  // A key NM does not hold (agent-owned, not saved) is left out: said on the terminal and at the
  // top of the file, which wg-quick cannot use until it is put back.
  if (NMSettingVpn* s_vpn = nm_connection_get_setting_vpn(used)) {
    std::vector<std::string> missing;
    for (const auto& m : missing_secrets(s_vpn)) {
      NMSettingSecretFlags flags = NM_SETTING_SECRET_FLAG_NONE;
      // A key the profile never had (system-owned, absent) was not left out by the export.
      if (nm_setting_get_secret_flags(NM_SETTING(s_vpn), m.c_str(), &flags, nullptr) &&
          (flags & (NM_SETTING_SECRET_FLAG_AGENT_OWNED | NM_SETTING_SECRET_FLAG_NOT_SAVED)))
        missing.push_back(m);
    }
    if (!missing.empty()) {
      std::string names;
      for (const auto& m : missing) names += (names.empty() ? "" : ", ") + m;
      std::string note = "# Not exported: " + names +
                         " (kept by a secret agent or not saved, not by NetworkManager); add before use.\n";
      text->insert(0, note);
      g_printerr("wgcore: %s: left out %s: NetworkManager does not hold %s (agent-owned or not saved)\n", path,
                 names.c_str(), missing.size() == 1 ? "it" : "them");
    }
  }
  // Mode 0600, like wg-quick's own files: the text holds the private key.
  gboolean ok = g_file_set_contents_full(path, text->data(), gssize(text->size()),
                                         G_FILE_SET_CONTENTS_CONSISTENT, 0600, error);
  wgcore::secure_zero(text->data(), text->size());
  return ok;
}

char* get_suggested_filename(NMVpnEditorPlugin*, NMConnection* connection) {
  const char* id = connection ? nm_connection_get_id(connection) : nullptr;
  return g_strdup_printf("%s.conf", id && *id ? id : "wg0");
}

NMVpnEditorPluginCapability get_capabilities(NMVpnEditorPlugin*) {
  // IPV6: the tunnel carries IPv6 (editors then offer the connection's IPv6 settings).
  return NMVpnEditorPluginCapability(NM_VPN_EDITOR_PLUGIN_CAPABILITY_IMPORT |
                                     NM_VPN_EDITOR_PLUGIN_CAPABILITY_EXPORT |
                                     NM_VPN_EDITOR_PLUGIN_CAPABILITY_IPV6);
}

NMVpnEditor* get_editor(NMVpnEditorPlugin*, NMConnection*, GError** error) {
  g_set_error_literal(error, NM_CONNECTION_ERROR, NM_CONNECTION_ERROR_FAILED,
                      "wgcore has no graphical editor; use nmcli (vpn.data, vpn.secrets) or "
                      "import a wg-quick file");
  return nullptr;
}

void wgcore_editor_plugin_interface_init(NMVpnEditorPluginInterface* iface) {
  iface->get_editor = get_editor;
  iface->get_capabilities = get_capabilities;
  iface->import_from_file = import_from_file;
  iface->export_to_file = export_to_file;
  iface->get_suggested_filename = get_suggested_filename;
}

}  // namespace

static void wgcore_editor_plugin_init(WgcoreEditorPlugin*) {}

static void wgcore_editor_plugin_class_init(WgcoreEditorPluginClass* klass) {
  GObjectClass* object_class = G_OBJECT_CLASS(klass);
  object_class->get_property = get_property;
  g_object_class_override_property(object_class, PROP_NAME, NM_VPN_EDITOR_PLUGIN_NAME);
  g_object_class_override_property(object_class, PROP_DESC, NM_VPN_EDITOR_PLUGIN_DESCRIPTION);
  g_object_class_override_property(object_class, PROP_SERVICE, NM_VPN_EDITOR_PLUGIN_SERVICE);
}

extern "C" G_MODULE_EXPORT NMVpnEditorPlugin* nm_vpn_editor_plugin_factory(GError** error) {
  g_return_val_if_fail(!error || !*error, nullptr);
  return NM_VPN_EDITOR_PLUGIN(g_object_new(wgcore_editor_plugin_get_type(), nullptr));
}
