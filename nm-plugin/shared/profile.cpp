// wg-quick <-> profile maps; see profile.hpp. The value syntax of each vpn.data item is the
// wg-quick syntax of the same key (so a user editing a profile with nmcli writes what they would
// write in a .conf), with lists comma-separated. Messages never contain a secret's value.
#include "profile.hpp"

#include <cctype>
#include <charconv>
#include <cstdio>
#include <optional>
#include <set>

#include "support/text.hpp"
#include "vpn_keys.hpp"

namespace wgcore::nm {

namespace {

using config::RouteTable;
using config::WgQuickConfig;
using config::WgQuickPeer;

using config::format_fwmark;
using config::is_dns_server_word;
using config::parse_fwmark;
using text::iequals;
using text::parse_decimal;
using text::strip_spaces;
using text::trim;
std::vector<std::string> words(std::string_view s) { return text::split_words(s); }

std::string join(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& i : items) out += (out.empty() ? "" : ",") + i;
  return out;
}

// Search domains are DNS names; anything else ('#', '=', control characters) would not survive
// the trip through a wg-quick file or NM's D-Bus strings.
bool is_domain_name(std::string_view w) {
  if (w.empty()) return false;
  for (char c : w)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-' || c == '_')) return false;
  return true;
}

// wg's endpoint syntax, and only characters that keep the exported line's meaning: a host name
// or an address (with a %scope inside brackets), no '#', '=' or spaces.
std::optional<config::EndpointSpec> parse_endpoint(std::string_view s) {
  auto e = config::parse_endpoint_spec(s);
  if (!e) return std::nullopt;
  for (char c : e->host)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-' || c == '_' || c == ':' ||
          c == '%'))
      return std::nullopt;
  return e;
}

Error data_error(std::string_view key, const std::string& msg) {
  return make_error(EINVAL, "vpn.data: " + std::string(key) + ": " + msg);
}

Error secret_error(std::string_view key, const std::string& msg) {
  return make_error(EINVAL, "vpn.secrets: " + std::string(key) + ": " + msg);
}

// "peer.<N>.<rest>" with N in canonical decimal (no leading zeros), so every item has one name.
struct PeerItem {
  std::size_t index = 0;
  std::string_view rest;
};
std::optional<PeerItem> split_peer_key(std::string_view key) {
  std::string_view prefix = kPeerPrefix;
  if (key.substr(0, prefix.size()) != prefix) return std::nullopt;
  key.remove_prefix(prefix.size());
  auto dot = key.find('.');
  if (dot == std::string_view::npos || dot == 0) return std::nullopt;
  std::string_view num = key.substr(0, dot);
  if (num.size() > 1 && num[0] == '0') return std::nullopt;
  auto n = parse_decimal(num, 1u << 20);
  if (!n) return std::nullopt;
  return PeerItem{std::size_t(*n), key.substr(dot + 1)};
}

// Where the keys a profile cannot hold, and FwMark's text, sit in a file the parser accepted.
struct SourceFacts {
  struct Hit {
    int line = 0;
    std::string key;  // as written, trimmed
  };
  std::optional<Hit> hook;         // first PreUp/PostUp/PreDown/PostDown
  std::optional<Hit> save_config;  // last SaveConfig (the one that counts)
  std::optional<std::string> fwmark;  // last FwMark value, spaces dropped as wg does
  std::vector<int> public_key_line;   // per peer, its (last) PublicKey line
};

SourceFacts scan_source(std::string_view text) {
  SourceFacts f;
  bool in_peer = false;
  wgcore::text::for_each_line(text, [&](std::string_view line, int n) {
    std::string_view stripped = line.substr(0, line.find('#'));
    auto eq = stripped.find('=');
    std::string_view key = trim(stripped.substr(0, eq));
    if (!key.empty() && key.front() == '[') {
      in_peer = iequals(strip_spaces(stripped), "[Peer]");
      if (in_peer) f.public_key_line.push_back(0);
      return true;
    }
    if (eq == std::string_view::npos) return true;
    std::string_view value = stripped.substr(eq + 1);
    std::string wkey = strip_spaces(key);
    if (in_peer) {
      if (iequals(wkey, "PublicKey") && !f.public_key_line.empty()) f.public_key_line.back() = n;
      return true;
    }
    if (iequals(key, "PreUp") || iequals(key, "PostUp") || iequals(key, "PreDown") ||
        iequals(key, "PostDown")) {
      if (!f.hook) f.hook = SourceFacts::Hit{n, std::string(key)};
    } else if (iequals(key, "SaveConfig")) {
      f.save_config = SourceFacts::Hit{n, std::string(key)};
    } else if (iequals(wkey, "FwMark")) {
      f.fwmark = strip_spaces(value);
    }
    return true;
  });
  return f;
}

Error file_error(std::string_view file, int line, std::string_view key, const std::string& msg) {
  return make_error(EINVAL, std::string(file) + ":" + std::to_string(line) + ": " + std::string(key) +
                                ": " + msg);
}

std::optional<std::uint32_t> parse_flags(std::string_view v) {
  auto f = parse_decimal(v, kSecretFlagsAll);
  if (!f) return std::nullopt;
  return std::uint32_t(*f);
}

// Reads one secret: absent or empty is "not there"; a present one must be a key.
Result<std::optional<Key>> read_secret(const Profile& p, const std::string& name, std::uint32_t flags,
                                        bool declared, MissingSecrets missing) {
  auto it = p.secrets.find(name);
  if (it == p.secrets.end() || it->second.empty()) {
    if (declared && missing == MissingSecrets::kError && !(flags & kSecretFlagNotRequired))
      return secret_error(name, "missing (not stored in the profile and not supplied by a secret agent)");
    return std::optional<Key>();
  }
  auto k = key_from_base64(trim(it->second));
  if (!k) return secret_error(name, "not a key (expected 44 characters of base64)");
  return std::optional<Key>(std::move(*k));
}

}  // namespace

std::string peer_key(std::size_t index, std::string_view key) {
  return std::string(kPeerPrefix) + std::to_string(index) + "." + std::string(key);
}

std::string flags_key(std::string_view secret) { return std::string(secret) + "-flags"; }

Profile profile_from_wgquick(const WgQuickConfig& c, std::uint32_t secret_flags_value) {
  Profile p;
  const std::string flags = std::to_string(secret_flags_value & kSecretFlagsAll);
  if (!c.addresses.empty()) {
    std::vector<std::string> a;
    for (const auto& x : c.addresses) a.push_back(x.to_string());
    p.data[kKeyAddress] = join(a);
  }
  if (!c.dns.empty() || !c.dns_search.empty()) {
    std::vector<std::string> d;
    for (const auto& x : c.dns) d.push_back(x.to_string());
    for (const auto& x : c.dns_search) d.push_back(x);
    p.data[kKeyDns] = join(d);
  }
  if (c.mtu) p.data[kKeyMtu] = std::to_string(*c.mtu);
  if (c.table) p.data[kKeyTable] = c.table->to_string();
  if (c.listen_port) p.data[kKeyListenPort] = std::to_string(*c.listen_port);
  if (c.fwmark) p.data[kKeyFwmark] = format_fwmark(*c.fwmark);
  // The flags item exists even without a key in the file: NM then asks for it at activation.
  p.data[flags_key(kSecretPrivateKey)] = flags;
  if (c.private_key) p.secrets[kSecretPrivateKey] = to_base64(*c.private_key);
  p.data[kKeyPeerCount] = std::to_string(c.peers.size());
  for (std::size_t i = 0; i < c.peers.size(); ++i) {
    const WgQuickPeer& peer = c.peers[i];
    p.data[peer_key(i, kPeerPublicKey)] = to_base64(peer.public_key);
    if (!peer.allowed_ips.empty()) {
      std::vector<std::string> a;
      for (const auto& x : peer.allowed_ips) a.push_back(x.to_string());
      p.data[peer_key(i, kPeerAllowedIps)] = join(a);
    }
    if (peer.endpoint) p.data[peer_key(i, kPeerEndpoint)] = peer.endpoint->to_string();
    if (peer.persistent_keepalive)
      p.data[peer_key(i, kPeerKeepalive)] =
          *peer.persistent_keepalive ? std::to_string(*peer.persistent_keepalive) : "off";
    if (peer.preshared_key) {
      p.data[flags_key(peer_key(i, kPeerPresharedKey))] = flags;
      p.secrets[peer_key(i, kPeerPresharedKey)] = to_base64(*peer.preshared_key);
    }
  }
  return p;
}

Result<Profile> import_wgquick(std::string_view text, std::string_view file, std::uint32_t flags) {
  auto cfg = config::parse_wgquick(text, file);
  if (!cfg) return cfg.error();
  SourceFacts facts = scan_source(text);
  if (facts.hook)
    return file_error(file, facts.hook->line, facts.hook->key,
                      "not supported in a NetworkManager profile (NetworkManager runs no wg-quick "
                      "hook commands; use a NetworkManager dispatcher script instead)");
  if (cfg->save_config && facts.save_config)
    return file_error(file, facts.save_config->line, facts.save_config->key,
                      "not supported in a NetworkManager profile (NetworkManager owns the profile; "
                      "remove the line or set it to false)");
  if (flags & ~kSecretFlagsAll)
    return make_error(EINVAL,
                      "secret flags " + std::to_string(flags) + " are not valid (known bits: 1, 2, 4)");
  std::map<std::string, std::size_t> seen;
  for (std::size_t i = 0; i < cfg->peers.size(); ++i) {
    auto [it, fresh] = seen.emplace(to_base64(cfg->peers[i].public_key), i);
    if (!fresh) {
      int line = i < facts.public_key_line.size() ? facts.public_key_line[i] : cfg->peers[i].line;
      int first = it->second < facts.public_key_line.size() ? facts.public_key_line[it->second]
                                                             : cfg->peers[it->second].line;
      return file_error(file, line, "PublicKey",
                        "duplicate peer (the same key as the peer at line " + std::to_string(first) + ")");
    }
  }
  Profile p = profile_from_wgquick(*cfg, flags);
  if (cfg->fwmark && facts.fwmark && parse_fwmark(*facts.fwmark) == cfg->fwmark)
    p.data[kKeyFwmark] = *facts.fwmark;
  // wg-quick is laxer than a profile in a few values (a search domain or endpoint host with odd
  // characters): refuse here what the service would refuse later.
  if (auto check = wgquick_from_profile(p, MissingSecrets::kOmit); !check)
    return make_error(EINVAL, std::string(file) + ": " + check.error().message);
  return p;
}

Result<std::uint32_t> secret_flags(const Profile& profile, std::string_view secret) {
  std::string key = flags_key(secret);
  auto it = profile.data.find(key);
  if (it == profile.data.end()) return kSecretFlagNone;
  auto f = parse_flags(trim(it->second));
  if (!f)
    return data_error(key, "'" + it->second +
                               "' is not a secret flags value (0-7: 1 agent-owned, 2 not-saved, 4 not-required)");
  return *f;
}

Result<std::string> profile_backend(const Profile& profile) {
  auto it = profile.data.find(kKeyBackend);
  if (it == profile.data.end()) return std::string("auto");
  std::string_view v = trim(it->second);
  if (v == "auto" || v == "userspace" || v == "kernel") return std::string(v);
  return data_error(kKeyBackend,
                    "'" + it->second + "' is not a backend (expected auto, userspace or kernel)");
}

Result<WgQuickConfig> wgquick_from_profile(const Profile& p, MissingSecrets missing) {
  WgQuickConfig c;
  std::size_t peer_count = 0;
  if (auto it = p.data.find(kKeyPeerCount); it != p.data.end()) {
    auto n = parse_decimal(trim(it->second), 1u << 16);
    if (!n) return data_error(kKeyPeerCount, "'" + it->second + "' is not a number of peers");
    peer_count = std::size_t(*n);
  }
  std::vector<std::map<std::string_view, std::string_view>> peer_items(peer_count);

  for (const auto& [key, raw] : p.data) {
    std::string_view v = trim(raw);
    const std::string quoted = "'" + raw + "'";
    if (key == kKeyPeerCount) continue;
    if (key == kKeyAddress) {
      for (const auto& w : words(v)) {
        auto a = IpPrefix::parse(w);
        if (!a) return data_error(key, w + " is not an address (expected ADDRESS/PREFIX)");
        c.addresses.push_back(*a);
      }
    } else if (key == kKeyDns) {
      for (const auto& w : words(v)) {
        if (is_dns_server_word(w)) {
          auto a = IpAddr::parse(w);
          if (!a) return data_error(key, w + " is not an IP address");
          c.dns.push_back(*a);
        } else if (is_domain_name(w)) {
          c.dns_search.push_back(w);
        } else {
          return data_error(key, "'" + w + "' is neither an IP address nor a search domain");
        }
      }
    } else if (key == kKeyMtu) {
      auto m = parse_decimal(v, 65535);
      if (!m || *m < 68) return data_error(key, quoted + " is not an MTU (expected 68-65535)");
      c.mtu = unsigned(*m);
    } else if (key == kKeyTable) {
      auto t = RouteTable::parse(v);
      if (!t) return data_error(key, quoted + " is not a table (expected off, auto, a number or a name)");
      c.table = *t;
    } else if (key == kKeyListenPort) {
      auto port = parse_decimal(v, 65535);
      if (!port) return data_error(key, quoted + " is not a port (expected 0-65535)");
      c.listen_port = std::uint16_t(*port);
    } else if (key == kKeyFwmark) {
      auto m = parse_fwmark(v);
      if (!m) return data_error(key, quoted + " is not a fwmark (expected a number, 0x-hex or off)");
      c.fwmark = *m;
    } else if (key == kKeyBackend) {
      if (auto b = profile_backend(p); !b) return b.error();
    } else if (key == flags_key(kSecretPrivateKey)) {
      if (auto f = secret_flags(p, kSecretPrivateKey); !f) return f.error();
    } else if (auto item = split_peer_key(key)) {
      if (item->index >= peer_count)
        return data_error(key, "peer " + std::to_string(item->index) + " does not exist (" +
                                   std::string(kKeyPeerCount) + " = " + std::to_string(peer_count) + ")");
      peer_items[item->index][item->rest] = v;
    } else {
      return data_error(key, "unknown key");
    }
  }

  auto pk_flags = secret_flags(p, kSecretPrivateKey);
  if (!pk_flags) return pk_flags.error();
  auto pk = read_secret(p, kSecretPrivateKey, *pk_flags, true, missing);
  if (!pk) return pk.error();
  c.private_key = std::move(*pk);

  const std::string psk_flags_rest = flags_key(kPeerPresharedKey);
  std::map<std::string, std::size_t> seen;
  for (std::size_t i = 0; i < peer_count; ++i) {
    WgQuickPeer peer;
    bool have_public = false, psk_declared = false;
    for (const auto& [rest, v] : peer_items[i]) {
      const std::string key = peer_key(i, rest);
      const std::string quoted = "'" + std::string(v) + "'";
      if (rest == kPeerPublicKey) {
        auto k = key_from_base64(v);
        if (!k) return data_error(key, quoted + " is not a key (expected 44 characters of base64)");
        peer.public_key = std::move(*k);
        have_public = true;
      } else if (rest == kPeerAllowedIps) {
        for (const auto& w : words(v)) {
          auto a = IpPrefix::parse(w);
          if (!a) return data_error(key, w + " is not a prefix");
          peer.allowed_ips.push_back(*a);
        }
      } else if (rest == kPeerEndpoint) {
        auto e = parse_endpoint(v);
        if (!e) return data_error(key, quoted + " is not an endpoint (expected HOST:PORT or [IPv6]:PORT)");
        peer.endpoint = std::move(*e);
      } else if (rest == kPeerKeepalive) {
        auto k = v == "off" ? std::optional<std::uint64_t>(0) : parse_decimal(v, 65535);
        if (!k) return data_error(key, quoted + " is not a keepalive interval (expected 0-65535 or off)");
        peer.persistent_keepalive = std::uint16_t(*k);
      } else if (rest == psk_flags_rest) {
        if (auto f = secret_flags(p, peer_key(i, kPeerPresharedKey)); !f) return f.error();
        psk_declared = true;
      } else {
        return data_error(key, "unknown key");
      }
    }
    if (!have_public)
      return data_error(peer_key(i, kPeerPublicKey), "missing (every peer needs a public key)");
    const std::string pub = to_base64(peer.public_key);
    if (auto [it, fresh] = seen.emplace(pub, i); !fresh)
      return data_error(peer_key(i, kPeerPublicKey),
                        "the same key as " + peer_key(it->second, kPeerPublicKey));
    const std::string psk_name = peer_key(i, kPeerPresharedKey);
    auto f = secret_flags(p, psk_name);
    if (!f) return f.error();
    auto psk = read_secret(p, psk_name, *f, psk_declared, missing);
    if (!psk) return psk.error();
    peer.preshared_key = std::move(*psk);
    c.peers.push_back(std::move(peer));
  }

  for (const auto& [name, value] : p.secrets) {
    (void)value;
    if (name == kSecretPrivateKey) continue;
    auto item = split_peer_key(name);
    if (!item || item->rest != kPeerPresharedKey) return secret_error(name, "unknown secret");
    if (item->index >= peer_count)
      return secret_error(name, "peer " + std::to_string(item->index) + " does not exist (" +
                                    std::string(kKeyPeerCount) + " = " + std::to_string(peer_count) + ")");
  }
  return c;
}

Result<std::string> export_wgquick(const Profile& profile) {
  auto cfg = wgquick_from_profile(profile, MissingSecrets::kOmit);
  if (!cfg) return cfg.error();
  std::string text = config::format_wgquick(*cfg);
  // format_wgquick writes FwMark in hex; put back the profile's own spelling of the same value.
  auto it = profile.data.find(kKeyFwmark);
  if (cfg->fwmark && it != profile.data.end()) {
    const std::string canonical = "FwMark = " + format_fwmark(*cfg->fwmark) + "\n";
    if (auto pos = text.find(canonical); pos != std::string::npos)
      text.replace(pos, canonical.size(), "FwMark = " + std::string(trim(it->second)) + "\n");
  }
  return text;
}

std::vector<std::string> declared_secrets(const Profile& p) {
  std::vector<std::string> out{kSecretPrivateKey};
  // Preshared keys: declared by their flags item (import writes one) or by the secret itself.
  std::set<std::size_t> peers;
  const std::string psk_flags_rest = flags_key(kPeerPresharedKey);
  for (const auto& [key, value] : p.data) {
    (void)value;
    auto item = split_peer_key(key);
    if (item && item->rest == psk_flags_rest) peers.insert(item->index);
  }
  for (const auto& [key, value] : p.secrets) {
    (void)value;
    auto item = split_peer_key(key);
    if (item && item->rest == kPeerPresharedKey) peers.insert(item->index);
  }
  for (std::size_t i : peers) out.push_back(peer_key(i, kPeerPresharedKey));
  return out;
}

std::vector<std::string> missing_secrets(const Profile& p) {
  std::vector<std::string> out;
  for (const auto& name : declared_secrets(p)) {
    auto it = p.secrets.find(name);
    if (it != p.secrets.end() && !trim(it->second).empty()) continue;
    auto f = secret_flags(p, name);
    // Unreadable flags: ask anyway; wgquick_from_profile reports the bad item.
    if (f && (*f & kSecretFlagNotRequired)) continue;
    out.push_back(name);
  }
  return out;
}

}  // namespace wgcore::nm
