// The libnm side of a wgcore profile: copies vpn.data/vpn.secrets between an NMSettingVpn and a
// Profile (profile.hpp), and builds or reads a whole NMConnection for import/export. Used by the
// editor plugin (properties/) and the service (service/); all rules live in profile.hpp.
#pragma once

// libnm 1.42's nm-errors.h declares its error quarks (NM_CONNECTION_ERROR, NM_VPN_PLUGIN_ERROR,
// ...) without extern "C", so C++ callers would link against mangled names that do not exist.
// It includes nothing itself: give it GLib's types, then C linkage; NetworkManager.h's later
// include of it is a no-op.
#include <glib-object.h>
extern "C" {
#include <nm-errors.h>
}
#include <NetworkManager.h>

#include <string>
#include <vector>

#include "wgcore/wgquick.hpp"
#include "profile.hpp"
#include "wgcore/result.hpp"

namespace wgcore::nm {

// vpn.data and vpn.secrets of the setting, as they are (flags items included).
Profile profile_from_setting(NMSettingVpn* s_vpn);

// Replaces the setting's data and secrets with the profile's. Secret flags go through
// nm_setting_set_secret_flags, so NM sees them exactly as it would from nmcli.
void profile_to_setting(const Profile& profile, NMSettingVpn* s_vpn);

// The wg-quick model of the setting (validated; errors name the vpn.data/vpn.secrets key).
// Secret flags are read with nm_setting_get_secret_flags. With MissingSecrets::kError a declared
// secret that is absent and not NOT_REQUIRED is an error (call missing_secrets first).
Result<config::WgQuickConfig> wgquick_from_setting(NMSettingVpn* s_vpn,
                                                   MissingSecrets missing = MissingSecrets::kError);

// The secret names NM must still ask for (the hints of need-secrets); empty when none.
// A secret whose flags include NM_SETTING_SECRET_FLAG_NOT_REQUIRED is never missing.
std::vector<std::string> missing_secrets(NMSettingVpn* s_vpn);

// A new connection from a wg-quick file's text: connection.id = `id`, type vpn, a fresh UUID,
// vpn.service-type org.freedesktop.NetworkManager.wgcore, data + secrets + flags, ipv4 and ipv6
// settings with method auto. Errors are import_wgquick's ("FILE:LINE: KEY: message").
// The caller owns the returned reference (g_object_unref).
Result<NMConnection*> connection_from_wgquick(std::string_view text, std::string_view file,
                                              const std::string& id);

// The wg-quick text of a connection (its vpn setting must be ours).
Result<std::string> wgquick_from_connection(NMConnection* connection);

// The connection.id import gives a file: its basename without a trailing ".conf".
std::string id_from_path(std::string_view path);

}  // namespace wgcore::nm
