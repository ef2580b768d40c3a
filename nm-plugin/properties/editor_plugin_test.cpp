// The built libnm-vpn-plugin-wgcore.so, loaded the way nmcli loads it (libnm's
// nm_vpn_editor_plugin_load_from_file: dlopen + nm_vpn_editor_plugin_factory + service check):
// it exports nothing else, imports every good fixture to a valid VPN connection, exports it back
// byte for byte (mode 0600), and refuses every bad fixture with "PATH:LINE: KEY: message".
#include <dlfcn.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "fixtures_testing.hpp"
#include "nm_profile.hpp"  // NetworkManager.h, with nm-errors.h usable from C++
#include "vpn_keys.hpp"

#ifndef NM_WGCORE_EDITOR_PLUGIN
#error "meson passes the built plugin's path as NM_WGCORE_EDITOR_PLUGIN"
#endif

namespace wgcore::nm {
namespace {

using testing::conf_names;
using testing::expected_error;
using testing::expected_export;
using testing::fixture_dir;
using testing::read_file;

struct Unref {
  void operator()(gpointer p) const { g_object_unref(p); }
};
struct ErrorFree {
  void operator()(GError* e) const { g_error_free(e); }
};
using ErrorPtr = std::unique_ptr<GError, ErrorFree>;

class EditorPlugin : public ::testing::Test {
 protected:
  void SetUp() override {
    GError* error = nullptr;
    plugin_.reset(nm_vpn_editor_plugin_load_from_file(NM_WGCORE_EDITOR_PLUGIN, kServiceName, -1,
                                                      nullptr, nullptr, &error));
    ASSERT_TRUE(plugin_) << (error ? error->message : "no error");
    char dir[] = "/tmp/nm-wgcore-editor-XXXXXX";
    ASSERT_NE(::mkdtemp(dir), nullptr);
    tmp_ = dir;
  }
  void TearDown() override {
    if (!tmp_.empty()) {
      std::string cmd = "rm -rf '" + tmp_ + "'";
      ASSERT_EQ(std::system(cmd.c_str()), 0);
    }
  }

  std::unique_ptr<NMConnection, Unref> import(const std::string& path, ErrorPtr* error_out) {
    GError* error = nullptr;
    NMConnection* c = nm_vpn_editor_plugin_import(plugin_.get(), path.c_str(), &error);
    if (error_out) error_out->reset(error);
    else if (error) g_error_free(error);
    return std::unique_ptr<NMConnection, Unref>(c);
  }

  std::unique_ptr<NMVpnEditorPlugin, Unref> plugin_;
  std::string tmp_;
};

TEST(EditorPluginModule, ExportsOnlyTheFactory) {
  void* h = ::dlopen(NM_WGCORE_EDITOR_PLUGIN, RTLD_NOW | RTLD_LOCAL);
  ASSERT_NE(h, nullptr) << ::dlerror();
  EXPECT_NE(::dlsym(h, "nm_vpn_editor_plugin_factory"), nullptr);
  // Internals (GType, libwgcore, the profile code) stay hidden.
  EXPECT_EQ(::dlsym(h, "wgcore_editor_plugin_get_type"), nullptr);
  // wgcore::nm::import_wgquick(std::string_view, std::string_view, unsigned), which it contains.
  EXPECT_EQ(::dlsym(h, "_ZN6wgcore2nm14import_wgquickESt17basic_string_viewIcSt11char_traitsIcEES4_j"),
            nullptr);
  auto factory =
      reinterpret_cast<NMVpnEditorPlugin* (*)(GError**)>(::dlsym(h, "nm_vpn_editor_plugin_factory"));
  ASSERT_NE(factory, nullptr);
  GError* error = nullptr;
  std::unique_ptr<NMVpnEditorPlugin, Unref> plugin(factory(&error));
  ASSERT_TRUE(plugin) << (error ? error->message : "");
  EXPECT_TRUE(NM_IS_VPN_EDITOR_PLUGIN(plugin.get()));
  plugin.reset();
  // libnm never unloads editor plugins (their GType stays registered); neither do we.
}

TEST_F(EditorPlugin, DescribesItselfAsTheWgcoreImportExportPlugin) {
  char* service = nullptr;
  g_object_get(plugin_.get(), NM_VPN_EDITOR_PLUGIN_SERVICE, &service, nullptr);
  EXPECT_STREQ(service, kServiceName);
  g_free(service);
  auto caps = nm_vpn_editor_plugin_get_capabilities(plugin_.get());
  EXPECT_TRUE(caps & NM_VPN_EDITOR_PLUGIN_CAPABILITY_IMPORT);
  EXPECT_TRUE(caps & NM_VPN_EDITOR_PLUGIN_CAPABILITY_EXPORT);
  EXPECT_TRUE(caps & NM_VPN_EDITOR_PLUGIN_CAPABILITY_IPV6);
  GError* error = nullptr;
  EXPECT_EQ(nm_vpn_editor_plugin_get_editor(plugin_.get(), nullptr, &error), nullptr);
  ASSERT_NE(error, nullptr);
  g_error_free(error);
}

TEST_F(EditorPlugin, ImportsAndExportsEveryGoodFileExactly) {
  auto names = conf_names(fixture_dir() + "/good");
  ASSERT_GE(names.size(), 8u);
  for (const auto& name : names) {
    SCOPED_TRACE(name);
    ErrorPtr error;
    auto c = import(fixture_dir() + "/good/" + name + ".conf", &error);
    ASSERT_TRUE(c) << (error ? error->message : "");
    GError* verify = nullptr;
    EXPECT_TRUE(nm_connection_verify(c.get(), &verify)) << (verify ? verify->message : "");
    g_clear_error(&verify);
    EXPECT_STREQ(nm_connection_get_id(c.get()), name.c_str());
    EXPECT_STREQ(nm_connection_get_connection_type(c.get()), NM_SETTING_VPN_SETTING_NAME);
    EXPECT_EQ(std::string(nm_connection_get_uuid(c.get())).size(), 36u);
    NMSettingVpn* s_vpn = nm_connection_get_setting_vpn(c.get());
    ASSERT_NE(s_vpn, nullptr);
    EXPECT_STREQ(nm_setting_vpn_get_service_type(s_vpn), kServiceName);
    EXPECT_EQ(nm_setting_vpn_get_data_item(s_vpn, kSecretPrivateKey), nullptr);
    NMSettingSecretFlags flags = NM_SETTING_SECRET_FLAG_AGENT_OWNED;
    EXPECT_TRUE(nm_setting_get_secret_flags(NM_SETTING(s_vpn), kSecretPrivateKey, &flags, nullptr));
    EXPECT_EQ(flags, NM_SETTING_SECRET_FLAG_NONE);  // system-owned, like NM's WireGuard import
    EXPECT_NE(nm_connection_get_setting_ip4_config(c.get()), nullptr);

    char* suggested = nm_vpn_editor_plugin_get_suggested_filename(plugin_.get(), c.get());
    EXPECT_EQ(std::string(suggested), name + ".conf");
    std::string out = tmp_ + "/" + suggested;
    g_free(suggested);
    GError* export_error = nullptr;
    ASSERT_TRUE(nm_vpn_editor_plugin_export(plugin_.get(), out.c_str(), c.get(), &export_error))
        << (export_error ? export_error->message : "");
    EXPECT_EQ(read_file(out), expected_export(name));
    struct stat st;
    ASSERT_EQ(::stat(out.c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0777, 0600u);
  }
}

TEST_F(EditorPlugin, ImportCarriesSecretsOnlyInVpnSecrets) {
  auto c = import(fixture_dir() + "/good/two_peers.conf", nullptr);
  ASSERT_TRUE(c);
  NMSettingVpn* s_vpn = nm_connection_get_setting_vpn(c.get());
  EXPECT_STREQ(nm_setting_vpn_get_secret(s_vpn, "private-key"), "YNMMLfApKT3dcOMAdLai+GAO499Np0dTDVHuG0wCkUs=");
  EXPECT_STREQ(nm_setting_vpn_get_secret(s_vpn, "peer.1.preshared-key"), "Y/vnNvTCTH4pNgYWgnicOLY3Vy1o2P6T58ntdQBSOec=");
  EXPECT_STREQ(nm_setting_vpn_get_data_item(s_vpn, "peer.1.public-key"), "L2ewpjf98EiqPqOm9Ohof3QCYavnHPdiOBu2TxH3zgU=");
  EXPECT_STREQ(nm_setting_vpn_get_data_item(s_vpn, "peers"), "2");
  // The connection as NM would store it to disk without secrets: no key material is left.
  std::unique_ptr<NMConnection, Unref> copy(nm_simple_connection_new_clone(c.get()));
  nm_connection_clear_secrets(copy.get());
  GVariant* dict = nm_connection_to_dbus(copy.get(), NM_CONNECTION_SERIALIZE_ALL);
  char* text = g_variant_print(dict, FALSE);
  EXPECT_EQ(std::string(text).find("YNMMLfApKT3d"), std::string::npos);
  EXPECT_EQ(std::string(text).find("Y/vnNvTCTH4p"), std::string::npos);
  g_free(text);
  g_variant_unref(dict);
}

TEST_F(EditorPlugin, RefusesEveryBadFileWithPathLineAndKey) {
  auto names = conf_names(fixture_dir() + "/bad");
  ASSERT_GE(names.size(), 8u);
  for (const auto& name : names) {
    SCOPED_TRACE(name);
    ErrorPtr error;
    auto c = import(fixture_dir() + "/bad/" + name + ".conf", &error);
    EXPECT_FALSE(c);
    ASSERT_TRUE(error);
    EXPECT_EQ(std::string(error->message), fixture_dir() + "/bad/" + expected_error(name));
    EXPECT_TRUE(g_error_matches(error.get(), NM_CONNECTION_ERROR, NM_CONNECTION_ERROR_FAILED));
  }
  ErrorPtr error;
  EXPECT_FALSE(import(tmp_ + "/absent.conf", &error));
  ASSERT_TRUE(error);
  EXPECT_NE(std::string(error->message).find("absent.conf"), std::string::npos) << error->message;
}

TEST_F(EditorPlugin, ExportReportsAnInvalidProfile) {
  auto c = import(fixture_dir() + "/good/full.conf", nullptr);
  ASSERT_TRUE(c);
  nm_setting_vpn_add_data_item(nm_connection_get_setting_vpn(c.get()), "peer.0.allowed-ips", "10.0.0.0/33");
  std::string out = tmp_ + "/full.conf";
  GError* error = nullptr;
  EXPECT_FALSE(nm_vpn_editor_plugin_export(plugin_.get(), out.c_str(), c.get(), &error));
  ASSERT_NE(error, nullptr);
  EXPECT_EQ(std::string(error->message), out + ": vpn.data: peer.0.allowed-ips: 10.0.0.0/33 is not a prefix");
  g_error_free(error);
  EXPECT_NE(::access(out.c_str(), F_OK), 0);
}

}  // namespace
}  // namespace wgcore::nm
