// The profile format: every fixture imports and exports back byte for byte, bad files and bad
// profile items fail with messages naming file:line:key or the vpn.data/vpn.secrets item,
// secrets never reach vpn.data, and secret flags decide what is missing. The last tests run the
// same through libnm's NMSettingVpn (nm_profile.hpp).
#include "profile.hpp"

#include <gtest/gtest.h>

#include <memory>

#include "fixtures_testing.hpp"
#include "nm_profile.hpp"
#include "vpn_keys.hpp"

namespace wgcore::nm {
namespace {

using testing::conf_names;
using testing::expected_error;
using testing::expected_export;
using testing::file_exists;
using testing::fixture_dir;
using testing::read_file;
using testing::read_items;

Profile import_fixture(const std::string& name, std::uint32_t flags = kSecretFlagNone) {
  auto p = import_wgquick(read_file(fixture_dir() + "/good/" + name + ".conf"), name + ".conf", flags);
  EXPECT_TRUE(p.ok()) << name << ": " << (p.ok() ? "" : p.error().message);
  return p.ok() ? *p : Profile{};
}

std::string error_of(const Profile& p, MissingSecrets missing = MissingSecrets::kError) {
  auto c = wgquick_from_profile(p, missing);
  return c.ok() ? "(accepted)" : c.error().message;
}

// Secrets are never in vpn.data: no data key names a secret and no data value holds one.
void expect_secrets_not_in_data(const Profile& p, const std::string& name) {
  for (const auto& [k, v] : p.data) {
    EXPECT_NE(k, kSecretPrivateKey) << name;
    const std::string psk = std::string(".") + kPeerPresharedKey;
    EXPECT_FALSE(k.size() >= psk.size() && k.compare(k.size() - psk.size(), psk.size(), psk) == 0) << name;
    for (const auto& [sk, sv] : p.secrets) EXPECT_EQ(v.find(sv), std::string::npos) << name << ": " << k;
  }
}

TEST(ProfileFixtures, EveryGoodFileRoundTripsExactly) {
  auto names = conf_names(fixture_dir() + "/good");
  ASSERT_GE(names.size(), 8u) << "fixtures missing under " << fixture_dir();
  for (const auto& name : names) {
    SCOPED_TRACE(name);
    Profile p = import_fixture(name);
    expect_secrets_not_in_data(p, name);
    auto text = export_wgquick(p);
    ASSERT_TRUE(text.ok()) << text.error().message;
    EXPECT_EQ(*text, expected_export(name));
    // The exported text imports to the same profile (export is a fixed point).
    auto again = import_wgquick(*text, name + ".conf");
    ASSERT_TRUE(again.ok()) << again.error().message;
    EXPECT_EQ(*again, p);
  }
}

TEST(ProfileFixtures, DataAndSecretsItemsAreExactlyTheDocumentedOnes) {
  int checked = 0;
  for (const auto& name : conf_names(fixture_dir() + "/good")) {
    std::string base = fixture_dir() + "/good/" + name;
    if (!file_exists(base + ".data")) continue;
    SCOPED_TRACE(name);
    Profile p = import_fixture(name);
    EXPECT_EQ(p.data, read_items(base + ".data"));
    EXPECT_EQ(p.secrets, read_items(base + ".secrets"));
    ++checked;
  }
  EXPECT_GE(checked, 2);
}

TEST(ProfileFixtures, EveryBadFileIsRefusedWithFileLineAndKey) {
  auto names = conf_names(fixture_dir() + "/bad");
  ASSERT_GE(names.size(), 8u);
  for (const auto& name : names) {
    SCOPED_TRACE(name);
    auto p = import_wgquick(read_file(fixture_dir() + "/bad/" + name + ".conf"), name + ".conf");
    ASSERT_FALSE(p.ok());
    EXPECT_EQ(p.error().message, expected_error(name));
  }
}

TEST(ProfileImport, HooksAreRefusedWhereverTheyAre) {
  for (const char* key : {"PreUp", "PostUp", "PreDown", "PostDown", "POSTUP"}) {
    std::string text = std::string("[Interface]\nListenPort = 1\n") + key + " = true\n";
    auto p = import_wgquick(text, "h.conf");
    ASSERT_FALSE(p.ok()) << key;
    EXPECT_EQ(p.error().message.rfind(std::string("h.conf:3: ") + key + ": not supported", 0), 0u)
        << p.error().message;
  }
  // SaveConfig = false is the default and harmless.
  EXPECT_TRUE(import_wgquick("[Interface]\nSaveConfig = false\n", "s.conf").ok());
}

TEST(ProfileImport, SecretFlagsApplyToEverySecret) {
  Profile p = import_fixture("two_peers", kSecretFlagAgentOwned);
  EXPECT_EQ(p.data.at("private-key-flags"), "1");
  EXPECT_EQ(p.data.at("peer.0.preshared-key-flags"), "1");
  EXPECT_EQ(p.data.at("peer.1.preshared-key-flags"), "1");
  EXPECT_EQ(secret_flags(p, "peer.1.preshared-key").value(), kSecretFlagAgentOwned);
  EXPECT_FALSE(import_wgquick("[Interface]\n", "f.conf", 8).ok());
}

TEST(ProfileImport, FwMarkKeepsItsSpelling) {
  for (const char* mark : {"4660", "0x1234", "0X1234", "off", "0"}) {
    std::string text = std::string("[Interface]\nFwMark = ") + mark + "\n";
    auto p = import_wgquick(text, "m.conf");
    ASSERT_TRUE(p.ok());
    EXPECT_EQ(p->data.at(kKeyFwmark), mark);
    auto out = export_wgquick(*p);
    ASSERT_TRUE(out.ok());
    EXPECT_NE(out->find(std::string("FwMark = ") + mark + "\n"), std::string::npos) << *out;
  }
}

TEST(ProfileModel, ConvertsToTheWgQuickModel) {
  Profile p = import_fixture("full");
  auto c = wgquick_from_profile(p);
  ASSERT_TRUE(c.ok()) << c.error().message;
  EXPECT_EQ(to_base64(*c->private_key), p.secrets.at("private-key"));
  EXPECT_EQ(c->listen_port, 51820);
  EXPECT_EQ(c->fwmark, 0x1234u);
  EXPECT_EQ(c->mtu, 1380u);
  ASSERT_TRUE(c->table);
  EXPECT_EQ(c->table->kind, config::RouteTable::Kind::kId);
  EXPECT_EQ(c->table->id, 51820u);
  ASSERT_EQ(c->addresses.size(), 2u);
  EXPECT_EQ(c->addresses[1].to_string(), "fd00:77::1/64");
  ASSERT_EQ(c->dns.size(), 2u);
  EXPECT_EQ(c->dns_search, (std::vector<std::string>{"corp.example", "lab.example"}));
  ASSERT_EQ(c->peers.size(), 1u);
  EXPECT_EQ(to_base64(*c->peers[0].preshared_key), p.secrets.at("peer.0.preshared-key"));
  EXPECT_EQ(c->peers[0].endpoint->to_string(), "198.51.100.2:51821");
  EXPECT_EQ(c->peers[0].persistent_keepalive, 25);
  EXPECT_EQ(c->peers[0].allowed_ips.size(), 2u);
  EXPECT_EQ(profile_backend(p).value(), "auto");
}

TEST(ProfileModel, HandWrittenItemsMayUseSpacesInLists) {
  Profile p = import_fixture("minimal");
  p.data["address"] = " 203.0.113.1/24, fd00:77::1/64 ";
  p.data["peers"] = "1";
  p.data["peer.0.public-key"] = "wBKmSQCwgyCYrhrHCPchtsVIkjLoXKbrqhqyTo/uems=";
  p.data["peer.0.allowed-ips"] = "10.0.0.0/8, 10.1.0.0/16";
  auto c = wgquick_from_profile(p);
  ASSERT_TRUE(c.ok()) << c.error().message;
  EXPECT_EQ(c->addresses.size(), 2u);
  EXPECT_EQ(c->peers[0].allowed_ips.size(), 2u);
}

TEST(ProfileModel, EveryBadItemIsNamed) {
  const Profile base = import_fixture("two_peers");
  struct Case {
    const char* key;
    const char* value;
    const char* message;
  } cases[] = {
      {"peer.1.allowed-ips", "10.0.0.0/33", "vpn.data: peer.1.allowed-ips: 10.0.0.0/33 is not a prefix"},
      {"address", "203.0.113.1/24,nonsense", "vpn.data: address: nonsense is not an address (expected ADDRESS/PREFIX)"},
      {"dns", "203.0.113.999", "vpn.data: dns: 203.0.113.999 is not an IP address"},
      {"dns", "203.0.113.53,corp#x", "vpn.data: dns: 'corp#x' is neither an IP address nor a search domain"},
      {"peer.0.endpoint", "host#x:1", "vpn.data: peer.0.endpoint: 'host#x:1' is not an endpoint (expected HOST:PORT or [IPv6]:PORT)"},
      {"mtu", "67", "vpn.data: mtu: '67' is not an MTU (expected 68-65535)"},
      {"table", "0", "vpn.data: table: '0' is not a table (expected off, auto, a number or a name)"},
      {"table", "my table", "vpn.data: table: 'my table' is not a table (expected off, auto, a number or a name)"},
      {"listen-port", "65536", "vpn.data: listen-port: '65536' is not a port (expected 0-65535)"},
      {"fwmark", "0xZZ", "vpn.data: fwmark: '0xZZ' is not a fwmark (expected a number, 0x-hex or off)"},
      {"fwmark", "0x100000000", "vpn.data: fwmark: '0x100000000' is not a fwmark (expected a number, 0x-hex or off)"},
      {"backend", "fast", "vpn.data: backend: 'fast' is not a backend (expected auto, userspace or kernel)"},
      {"peers", "two", "vpn.data: peers: 'two' is not a number of peers"},
      {"peers", "1", "vpn.data: peer.1.allowed-ips: peer 1 does not exist (peers = 1)"},
      {"gateway", "203.0.113.254", "vpn.data: gateway: unknown key"},
      {"peer.01.endpoint", "198.51.100.2:1", "vpn.data: peer.01.endpoint: unknown key"},
      {"peer.0.colour", "blue", "vpn.data: peer.0.colour: unknown key"},
      {"peer.0.public-key", "short", "vpn.data: peer.0.public-key: 'short' is not a key (expected 44 characters of base64)"},
      {"peer.1.public-key", "wBKmSQCwgyCYrhrHCPchtsVIkjLoXKbrqhqyTo/uems=",
       "vpn.data: peer.1.public-key: the same key as peer.0.public-key"},
      {"peer.0.endpoint", "198.51.100.2", "vpn.data: peer.0.endpoint: '198.51.100.2' is not an endpoint (expected HOST:PORT or [IPv6]:PORT)"},
      {"peer.0.endpoint", "2001:db8::1:51820", "vpn.data: peer.0.endpoint: '2001:db8::1:51820' is not an endpoint (expected HOST:PORT or [IPv6]:PORT)"},
      {"peer.0.persistent-keepalive", "-1", "vpn.data: peer.0.persistent-keepalive: '-1' is not a keepalive interval (expected 0-65535 or off)"},
      {"private-key-flags", "8", "vpn.data: private-key-flags: '8' is not a secret flags value (0-7: 1 agent-owned, 2 not-saved, 4 not-required)"},
      {"peer.0.preshared-key-flags", "x", "vpn.data: peer.0.preshared-key-flags: 'x' is not a secret flags value (0-7: 1 agent-owned, 2 not-saved, 4 not-required)"},
  };
  for (const auto& c : cases) {
    Profile p = base;
    p.data[c.key] = c.value;
    EXPECT_EQ(error_of(p), c.message) << c.key << "=" << c.value;
  }
  Profile no_pub = base;
  no_pub.data.erase("peer.1.public-key");
  EXPECT_EQ(error_of(no_pub), "vpn.data: peer.1.public-key: missing (every peer needs a public key)");
}

TEST(ProfileModel, BadSecretsAreNamedButNeverPrinted) {
  const Profile base = import_fixture("two_peers");
  struct Case {
    const char* key;
    const char* value;
    const char* message;
  } cases[] = {
      {"private-key", "c2VjcmV0LXRleHQ=", "vpn.secrets: private-key: not a key (expected 44 characters of base64)"},
      {"peer.1.preshared-key", "c2VjcmV0LXRleHQ=", "vpn.secrets: peer.1.preshared-key: not a key (expected 44 characters of base64)"},
      {"password", "c2VjcmV0LXRleHQ=", "vpn.secrets: password: unknown secret"},
      {"peer.2.preshared-key", "c2VjcmV0LXRleHQ=", "vpn.secrets: peer.2.preshared-key: peer 2 does not exist (peers = 2)"},
  };
  for (const auto& c : cases) {
    Profile p = base;
    p.secrets[c.key] = c.value;
    std::string m = error_of(p);
    EXPECT_EQ(m, c.message) << c.key;
    EXPECT_EQ(m.find(c.value), std::string::npos);
  }
}

TEST(ProfileSecrets, NothingMissingAfterImport) {
  for (const auto& name : {"full", "two_peers", "minimal"}) EXPECT_TRUE(missing_secrets(import_fixture(name)).empty());
  // A file without PrivateKey still declares one: NM will ask for it.
  Profile p = import_fixture("no_private_key");
  EXPECT_EQ(missing_secrets(p), std::vector<std::string>{"private-key"});
  EXPECT_EQ(error_of(p), "vpn.secrets: private-key: missing (not stored in the profile and not supplied by a secret agent)");
  EXPECT_EQ(error_of(p, MissingSecrets::kOmit), "(accepted)");
}

TEST(ProfileSecrets, FlagsDecideWhatIsMissing) {
  const Profile base = import_fixture("two_peers");
  for (std::uint32_t flags : {kSecretFlagNone, kSecretFlagAgentOwned, kSecretFlagNotSaved,
                              kSecretFlagAgentOwned | kSecretFlagNotSaved}) {
    SCOPED_TRACE(flags);
    Profile p = base;
    p.data["private-key-flags"] = std::to_string(flags);
    p.data["peer.1.preshared-key-flags"] = std::to_string(flags);
    p.secrets.erase("private-key");
    p.secrets["peer.1.preshared-key"] = "";  // an agent that answered with nothing
    EXPECT_EQ(missing_secrets(p), (std::vector<std::string>{"private-key", "peer.1.preshared-key"}));
    EXPECT_NE(error_of(p), "(accepted)");
    // Export writes what it has and leaves the rest out.
    auto text = export_wgquick(p);
    ASSERT_TRUE(text.ok()) << text.error().message;
    EXPECT_EQ(text->find("PrivateKey"), std::string::npos);
    EXPECT_EQ(text->find("PresharedKey = Y/vn"), std::string::npos);
    EXPECT_NE(text->find("PresharedKey = C6Dn"), std::string::npos);
  }
  Profile p = base;
  p.data["private-key-flags"] = "4";
  p.data["peer.0.preshared-key-flags"] = "5";
  p.secrets.erase("private-key");
  p.secrets.erase("peer.0.preshared-key");
  EXPECT_TRUE(missing_secrets(p).empty());
  auto c = wgquick_from_profile(p);
  ASSERT_TRUE(c.ok()) << c.error().message;
  EXPECT_FALSE(c->private_key);
  EXPECT_FALSE(c->peers[0].preshared_key);
  EXPECT_TRUE(c->peers[1].preshared_key);
}

TEST(ProfileSecrets, ASecretWithoutFlagsItemIsStillUsed) {
  Profile p = import_fixture("minimal");
  p.data["peers"] = "1";
  p.data["peer.0.public-key"] = "wBKmSQCwgyCYrhrHCPchtsVIkjLoXKbrqhqyTo/uems=";
  p.secrets["peer.0.preshared-key"] = "C6DnQ56PMquBdhaWPBIn64hJr4MkZx1t+fHrkneyIIA=";
  auto c = wgquick_from_profile(p);
  ASSERT_TRUE(c.ok()) << c.error().message;
  EXPECT_TRUE(c->peers[0].preshared_key);
  p.secrets["peer.0.preshared-key"] = "";
  EXPECT_EQ(missing_secrets(p), std::vector<std::string>{"peer.0.preshared-key"});
}

TEST(ProfileBackend, IsReadButNotExported) {
  Profile p = import_fixture("minimal");
  p.data["backend"] = "kernel";
  EXPECT_EQ(profile_backend(p).value(), "kernel");
  auto text = export_wgquick(p);
  ASSERT_TRUE(text.ok());
  EXPECT_EQ(*text, expected_export("minimal"));
}

// --- the same through libnm ---------------------------------------------------------------

struct Unref {
  void operator()(gpointer p) const { g_object_unref(p); }
};

TEST(NmProfile, SettingRoundTripKeepsDataSecretsAndFlags) {
  Profile p = import_fixture("two_peers", kSecretFlagNotSaved);
  std::unique_ptr<NMSettingVpn, Unref> s(NM_SETTING_VPN(nm_setting_vpn_new()));
  profile_to_setting(p, s.get());
  EXPECT_EQ(profile_from_setting(s.get()), p);
  NMSettingSecretFlags flags = NM_SETTING_SECRET_FLAG_NONE;
  ASSERT_TRUE(nm_setting_get_secret_flags(NM_SETTING(s.get()), "peer.1.preshared-key", &flags, nullptr));
  EXPECT_EQ(flags, NM_SETTING_SECRET_FLAG_NOT_SAVED);
  EXPECT_STREQ(nm_setting_vpn_get_data_item(s.get(), "private-key-flags"), "2");
  EXPECT_EQ(nm_setting_vpn_get_data_item(s.get(), "private-key"), nullptr);
  EXPECT_STREQ(nm_setting_vpn_get_secret(s.get(), "private-key"), "YNMMLfApKT3dcOMAdLai+GAO499Np0dTDVHuG0wCkUs=");
  auto c = wgquick_from_setting(s.get());
  ASSERT_TRUE(c.ok()) << c.error().message;
  EXPECT_EQ(c->peers.size(), 2u);
  EXPECT_TRUE(missing_secrets(s.get()).empty());

  // Replacing drops what the new profile lacks.
  profile_to_setting(import_fixture("minimal"), s.get());
  EXPECT_EQ(profile_from_setting(s.get()), import_fixture("minimal"));
}

TEST(NmProfile, MissingSecretsFollowNmFlags) {
  Profile p = import_fixture("two_peers", kSecretFlagAgentOwned);
  p.secrets.clear();  // what NM hands the service before the agent answered
  p.data["peer.0.preshared-key-flags"] = "4";
  std::unique_ptr<NMSettingVpn, Unref> s(NM_SETTING_VPN(nm_setting_vpn_new()));
  profile_to_setting(p, s.get());
  EXPECT_EQ(missing_secrets(s.get()), (std::vector<std::string>{"private-key", "peer.1.preshared-key"}));
  EXPECT_EQ(missing_secrets(s.get()), missing_secrets(p));
  auto c = wgquick_from_setting(s.get());
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.error().message, "vpn.secrets: private-key: missing (not stored in the profile and not supplied by a secret agent)");
  nm_setting_vpn_add_secret(s.get(), "private-key", "YNMMLfApKT3dcOMAdLai+GAO499Np0dTDVHuG0wCkUs=");
  nm_setting_vpn_add_secret(s.get(), "peer.1.preshared-key", "Y/vnNvTCTH4pNgYWgnicOLY3Vy1o2P6T58ntdQBSOec=");
  EXPECT_TRUE(missing_secrets(s.get()).empty());
  EXPECT_TRUE(wgquick_from_setting(s.get()).ok());
}

TEST(NmProfile, ConnectionFromFileIsAValidVpnConnection) {
  std::string text = read_file(fixture_dir() + "/good/full.conf");
  auto conn = connection_from_wgquick(text, "/etc/wireguard/full.conf", id_from_path("/etc/wireguard/full.conf"));
  ASSERT_TRUE(conn.ok()) << conn.error().message;
  std::unique_ptr<NMConnection, Unref> c(*conn);
  EXPECT_TRUE(nm_connection_verify(c.get(), nullptr));
  EXPECT_STREQ(nm_connection_get_id(c.get()), "full");
  EXPECT_STREQ(nm_connection_get_connection_type(c.get()), NM_SETTING_VPN_SETTING_NAME);
  NMSettingVpn* s_vpn = nm_connection_get_setting_vpn(c.get());
  ASSERT_NE(s_vpn, nullptr);
  EXPECT_STREQ(nm_setting_vpn_get_service_type(s_vpn), kServiceName);
  EXPECT_STREQ(nm_setting_vpn_get_data_item(s_vpn, "peer.0.endpoint"), "198.51.100.2:51821");
  auto out = wgquick_from_connection(c.get());
  ASSERT_TRUE(out.ok()) << out.error().message;
  EXPECT_EQ(*out, text);

  EXPECT_EQ(id_from_path("wg0.conf"), "wg0");
  EXPECT_EQ(id_from_path("/a/b/office"), "office");
  auto bad = connection_from_wgquick("[Interface]\nPostUp = x\n", "p.conf", "p");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().message.rfind("p.conf:2: PostUp: not supported", 0), 0u);
}

TEST(NmProfile, ExportRefusesOtherVpnTypes) {
  std::unique_ptr<NMConnection, Unref> c(nm_simple_connection_new());
  NMSetting* s_vpn = nm_setting_vpn_new();
  g_object_set(s_vpn, NM_SETTING_VPN_SERVICE_TYPE, "org.freedesktop.NetworkManager.openvpn", nullptr);
  nm_connection_add_setting(c.get(), s_vpn);
  auto out = wgquick_from_connection(c.get());
  ASSERT_FALSE(out.ok());
  EXPECT_EQ(out.error().message,
            "vpn.service-type: 'org.freedesktop.NetworkManager.openvpn' is not org.freedesktop.NetworkManager.wgcore");
}

}  // namespace
}  // namespace wgcore::nm
