// NMSettingVpn <-> Profile and whole-connection import/export; see nm_profile.hpp.
#include "nm_profile.hpp"

#include <sys/socket.h>

#include <memory>

#include "vpn_keys.hpp"

namespace wgcore::nm {

namespace {

void collect(const char* key, const char* value, gpointer user_data) {
  (*static_cast<std::map<std::string, std::string>*>(user_data))[key] = value ? value : "";
}

// "<secret>-flags" items are set through libnm's secret-flags API, so the setting holds them in
// NM's own form; a value that is no flags number is copied as is for validation to report.
bool is_flags_item(const std::string& key, std::string* secret) {
  constexpr std::string_view kSuffix = "-flags";
  if (key.size() <= kSuffix.size() || key.compare(key.size() - kSuffix.size(), kSuffix.size(), kSuffix) != 0)
    return false;
  *secret = key.substr(0, key.size() - kSuffix.size());
  return *secret == kSecretPrivateKey ||
         (secret->rfind(kPeerPrefix, 0) == 0 && secret->size() > std::string_view(kPeerPresharedKey).size() &&
          secret->compare(secret->size() - std::string_view(kPeerPresharedKey).size(),
                          std::string::npos, kPeerPresharedKey) == 0);
}

struct GObjectUnref {
  void operator()(gpointer p) const { g_object_unref(p); }
};

}  // namespace

Profile profile_from_setting(NMSettingVpn* s_vpn) {
  Profile p;
  nm_setting_vpn_foreach_data_item(s_vpn, collect, &p.data);
  nm_setting_vpn_foreach_secret(s_vpn, collect, &p.secrets);
  return p;
}

void profile_to_setting(const Profile& profile, NMSettingVpn* s_vpn) {
  Profile old = profile_from_setting(s_vpn);
  for (const auto& [k, v] : old.data) nm_setting_vpn_remove_data_item(s_vpn, k.c_str());
  for (const auto& [k, v] : old.secrets) nm_setting_vpn_remove_secret(s_vpn, k.c_str());
  for (const auto& [k, v] : profile.data) {
    std::string secret;
    auto flags = is_flags_item(k, &secret) ? secret_flags(profile, secret) : Result<std::uint32_t>(Error{});
    if (flags.ok()) {
      nm_setting_set_secret_flags(NM_SETTING(s_vpn), secret.c_str(),
                                  static_cast<NMSettingSecretFlags>(*flags), nullptr);
    } else {
      nm_setting_vpn_add_data_item(s_vpn, k.c_str(), v.c_str());
    }
  }
  for (const auto& [k, v] : profile.secrets) nm_setting_vpn_add_secret(s_vpn, k.c_str(), v.c_str());
}

Result<config::WgQuickConfig> wgquick_from_setting(NMSettingVpn* s_vpn, MissingSecrets missing) {
  return wgquick_from_profile(profile_from_setting(s_vpn), missing);
}

std::vector<std::string> missing_secrets(NMSettingVpn* s_vpn) {
  // The candidates are the pure rule's; whether one is required is NM's own reading of its flags.
  std::vector<std::string> out;
  std::vector<std::string> candidates = declared_secrets(profile_from_setting(s_vpn));
  for (const auto& name : candidates) {
    const char* value = nm_setting_vpn_get_secret(s_vpn, name.c_str());
    if (value && *value) continue;
    NMSettingSecretFlags flags = NM_SETTING_SECRET_FLAG_NONE;
    if (nm_setting_get_secret_flags(NM_SETTING(s_vpn), name.c_str(), &flags, nullptr) &&
        (flags & NM_SETTING_SECRET_FLAG_NOT_REQUIRED))
      continue;
    out.push_back(name);
  }
  return out;
}

std::string id_from_path(std::string_view path) {
  std::string_view base = path;
  if (auto slash = base.rfind('/'); slash != std::string_view::npos) base.remove_prefix(slash + 1);
  constexpr std::string_view kSuffix = ".conf";
  if (base.size() > kSuffix.size() && base.substr(base.size() - kSuffix.size()) == kSuffix)
    base.remove_suffix(kSuffix.size());
  return std::string(base);
}

Result<NMConnection*> connection_from_wgquick(std::string_view text, std::string_view file,
                                              const std::string& id) {
  auto profile = import_wgquick(text, file);
  if (!profile) return profile.error();

  std::unique_ptr<NMConnection, GObjectUnref> connection(nm_simple_connection_new());
  NMSetting* s_con = nm_setting_connection_new();
  char* uuid = nm_utils_uuid_generate();
  g_object_set(s_con, NM_SETTING_CONNECTION_ID, id.c_str(), NM_SETTING_CONNECTION_UUID, uuid,
               NM_SETTING_CONNECTION_TYPE, NM_SETTING_VPN_SETTING_NAME, nullptr);
  g_free(uuid);
  nm_connection_add_setting(connection.get(), s_con);

  NMSetting* s_vpn = nm_setting_vpn_new();
  g_object_set(s_vpn, NM_SETTING_VPN_SERVICE_TYPE, kServiceName, nullptr);
  profile_to_setting(*profile, NM_SETTING_VPN(s_vpn));
  nm_connection_add_setting(connection.get(), s_vpn);

  // Addresses, DNS and routes come from the service at activation (from vpn.data), as for
  // every VPN plugin; these only say "take what the VPN reports". A VPN's configuration carries
  // one address per family, so every further Address of the file goes to ipv4.addresses /
  // ipv6.addresses, which NetworkManager adds to the VPN's own.
  NMSetting* s_ip4 = nm_setting_ip4_config_new();
  g_object_set(s_ip4, NM_SETTING_IP_CONFIG_METHOD, NM_SETTING_IP4_CONFIG_METHOD_AUTO, nullptr);
  NMSetting* s_ip6 = nm_setting_ip6_config_new();
  g_object_set(s_ip6, NM_SETTING_IP_CONFIG_METHOD, NM_SETTING_IP6_CONFIG_METHOD_AUTO, nullptr);
  auto model = wgquick_from_profile(*profile, MissingSecrets::kOmit);
  if (!model) return model.error();
  bool first4 = true, first6 = true;
  for (const auto& a : model->addresses) {
    bool& first = a.addr.is_v4() ? first4 : first6;
    if (first) {
      first = false;
      continue;
    }
    GError* err = nullptr;
    NMIPAddress* ip = nm_ip_address_new(a.addr.is_v4() ? AF_INET : AF_INET6, a.addr.to_string().c_str(), a.len, &err);
    if (!ip) {
      Error e = make_error(EINVAL, std::string(file) + ": Address " + a.to_string() + ": " +
                                       (err ? err->message : "not an address"));
      g_clear_error(&err);
      return e;
    }
    nm_setting_ip_config_add_address(NM_SETTING_IP_CONFIG(a.addr.is_v4() ? s_ip4 : s_ip6), ip);
    nm_ip_address_unref(ip);
  }
  nm_connection_add_setting(connection.get(), s_ip4);
  nm_connection_add_setting(connection.get(), s_ip6);

  GError* error = nullptr;
  if (!nm_connection_normalize(connection.get(), nullptr, nullptr, &error)) {
    Error e = make_error(EINVAL, std::string(file) + ": the imported connection is not valid: " +
                                     (error ? error->message : "unknown error"));
    g_clear_error(&error);
    return e;
  }
  return connection.release();
}

Result<std::string> wgquick_from_connection(NMConnection* connection) {
  NMSettingVpn* s_vpn = nm_connection_get_setting_vpn(connection);
  if (!s_vpn) return make_error(EINVAL, "the connection has no vpn setting");
  const char* service = nm_setting_vpn_get_service_type(s_vpn);
  if (!service || std::string_view(service) != kServiceName)
    return make_error(EINVAL, std::string("vpn.service-type: '") + (service ? service : "") +
                                  "' is not " + kServiceName);
  return export_wgquick(profile_from_setting(s_vpn));
}

}  // namespace wgcore::nm
