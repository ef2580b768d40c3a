// The NMVpnServicePlugin subclass behind org.freedesktop.NetworkManager.wgcore: NM's Connect,
// NeedSecrets, NewSecrets and Disconnect calls mapped onto a Tunnel. All GLib glue lives here;
// the tunnel itself runs on its own threads, so the main loop only carries D-Bus.
#pragma once

#include <glib.h>

// libnm declares this one outside its extern "C" block (nm-vpn-dbus-interface.h); a C
// declaration first keeps C linkage for the header's own redeclaration.
extern "C" GQuark nm_vpn_plugin_error_quark(void);

#include <NetworkManager.h>

G_BEGIN_DECLS

#define WGCORE_TYPE_VPN_SERVICE (wgcore_vpn_service_get_type())
G_DECLARE_FINAL_TYPE(WgcoreVpnService, wgcore_vpn_service, WGCORE, VPN_SERVICE, NMVpnServicePlugin)

// A new service owning `bus_name` on the system bus; NULL with `error` set when the name or the
// bus is unavailable. `watch_peer`: quit when NM leaves the bus.
WgcoreVpnService* wgcore_vpn_service_new(const char* bus_name, gboolean watch_peer, const char* self_path,
                                         GError** error);

G_END_DECLS
