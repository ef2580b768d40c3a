// .netdev parsing and verification for Kind=wireguard (see netdev.hpp). Each parser mirrors the
// networkd 252 function named in its comment; messages keep networkd's words.
#include "netdev.hpp"

#include <fcntl.h>
#include <fnmatch.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <cstring>
#include <map>

#include "ini.hpp"

namespace wgcore::networkd {

using Level = Diagnostic::Level;

namespace {

constexpr std::string_view kSections[] = {"Match", "NetDev", "WireGuard", "WireGuardPeer"};

template <class T>
std::optional<T> parse_uint(std::string_view s) {
  if (s.empty()) return std::nullopt;
  T v{};
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size()) return std::nullopt;
  return v;
}

std::optional<bool> parse_boolean(const std::string& s) {
  std::string l = s;
  std::transform(l.begin(), l.end(), l.begin(), [](unsigned char c) { return std::tolower(c); });
  if (l == "1" || l == "yes" || l == "y" || l == "true" || l == "t" || l == "on") return true;
  if (l == "0" || l == "no" || l == "n" || l == "false" || l == "f" || l == "off") return false;
  return std::nullopt;
}

// wireguard_decode_key_and_warn(): base64 with whitespace ignored, exactly 32 bytes.
bool decode_key(const IniAssignment& a, std::optional<Key>& out, Diagnostics& d) {
  if (a.value.empty()) {
    out.reset();
    return true;
  }
  std::string compact;
  for (char c : a.value)
    if (!is_ws(c)) compact += c;
  std::uint8_t buf[96];
  auto n = base64_decode(compact, std::span<std::uint8_t>(buf, sizeof buf));
  if (!n) {
    d.syntax(Level::kWarning, a.file, a.line,
             "Failed to decode wireguard key provided by " + a.key +
                 "=, ignoring assignment: Invalid argument");
    secure_zero(buf, sizeof buf);
    return false;
  }
  if (*n != kKeyLen) {
    d.syntax(Level::kWarning, a.file, a.line,
             "Wireguard key provided by " + a.key + "= has invalid length (" +
                 std::to_string(*n) + " bytes), ignoring assignment.");
    secure_zero(buf, sizeof buf);
    return false;
  }
  out = Key(std::span<const std::uint8_t, kKeyLen>(buf, kKeyLen));
  secure_zero(buf, sizeof buf);
  return true;
}

// dns_name_is_valid(), roughly: dot-separated labels of 1-63 bytes, 253 bytes in all, no
// whitespace, brackets, colons or control characters.
bool valid_dns_name(const std::string& s) {
  if (s.empty() || s.size() > 253) return false;
  std::size_t label = 0;
  for (unsigned char c : s) {
    if (c == '.') {
      if (label == 0) return false;
      label = 0;
      continue;
    }
    if (c <= 32 || c >= 127 || c == '[' || c == ']' || c == ':' || c == '/' || c == '\\') return false;
    if (++label > 63) return false;
  }
  return true;
}

void bad_value(const IniAssignment& a, Diagnostics& d) {
  d.syntax(Level::kWarning, a.file, a.line,
           "Failed to parse " + a.key + "=, ignoring assignment: " + a.value);
}

void bad_priority(const IniAssignment& a, Diagnostics& d) {
  d.syntax(Level::kWarning, a.file, a.line,
           "Could not parse route priority \"" + a.value + "\", ignoring assignment: Invalid argument");
}

void unknown_key(const IniAssignment& a, Diagnostics& d) {
  if (a.key.rfind("X-", 0) == 0) return;  // extension fields are silently ignored
  d.syntax(Level::kWarning, a.file, a.line,
           "Unknown key name '" + a.key + "' in section '" + a.section + "', ignoring.");
}

// config_parse_path(): absolute path, empty clears.
void parse_path(const IniAssignment& a, std::string& out, Diagnostics& d) {
  if (a.value.empty()) {
    out.clear();
    return;
  }
  if (a.value[0] != '/') {
    d.syntax(Level::kWarning, a.file, a.line,
             a.key + "= path is not absolute, ignoring: " + a.value);
    return;
  }
  out = a.value;
}

// config_parse_wireguard_endpoint(): a literal "IPv4:port" / "[IPv6]:port", else
// "hostname:port" split at the last colon.
void parse_endpoint(const IniAssignment& a, std::optional<config::EndpointSpec>& out, Diagnostics& d) {
  if (a.value.empty()) {
    out.reset();
    return;
  }
  if (auto lit = Endpoint::parse(a.value); lit && lit->port() != 0) {
    out = config::EndpointSpec{lit->ip().to_string(), lit->port()};
    return;
  }
  std::string_view v = a.value;
  auto colon = v.rfind(':');
  if (colon == std::string_view::npos) {
    d.syntax(Level::kWarning, a.file, a.line,
             "Unable to find port of endpoint, ignoring assignment: " + a.value);
    return;
  }
  std::string host(v.substr(0, colon));
  if (!valid_dns_name(host)) {
    d.syntax(Level::kWarning, a.file, a.line,
             "Invalid domain name of endpoint, ignoring assignment: " + a.value);
    return;
  }
  auto p = parse_uint<std::uint16_t>(v.substr(colon + 1));
  if (!p || *p == 0) {
    d.syntax(Level::kWarning, a.file, a.line,
             "Invalid port of endpoint, ignoring assignment: " + a.value);
    return;
  }
  out = config::EndpointSpec{host, *p};
}

// config_parse_wireguard_allowed_ips(): comma/whitespace separated prefixes, empty clears.
void parse_allowed_ips(const IniAssignment& a, std::vector<IpPrefix>& out, Diagnostics& d) {
  if (a.value.empty()) {
    out.clear();
    return;
  }
  std::string_view rest = a.value;
  while (!rest.empty()) {
    std::size_t i = 0;
    while (i < rest.size() && (rest[i] == ',' || is_ws(rest[i]))) ++i;
    rest.remove_prefix(i);
    if (rest.empty()) break;
    std::size_t j = 0;
    while (j < rest.size() && rest[j] != ',' && !is_ws(rest[j])) ++j;
    std::string word(rest.substr(0, j));
    rest.remove_prefix(j);
    auto p = IpPrefix::parse(word);
    if (!p) {
      d.syntax(Level::kWarning, a.file, a.line,
               "Network address is invalid, ignoring assignment: " + word);
      continue;
    }
    IpPrefix c = p->canonical();
    if (!(c == *p))
      d.syntax(Level::kWarning, a.file, a.line,
               "Specified address '" + word + "' is not properly masked, assuming '" +
                   c.to_string() + "'.");
    out.push_back(c);
  }
}

void parse_condition(const IniAssignment& a, std::vector<Condition>& conds) {
  if (a.value.empty()) {  // clears this key's earlier conditions
    std::erase_if(conds, [&](const Condition& c) { return c.key == a.key; });
    return;
  }
  Condition c;
  c.key = a.key;
  std::string_view v = a.value;
  if (!v.empty() && v[0] == '|') v.remove_prefix(1);  // triggering conditions: treated as AND
  if (!v.empty() && v[0] == '!') {
    c.negate = true;
    v.remove_prefix(1);
  }
  c.value = std::string(trim(v));
  conds.push_back(std::move(c));
}

struct Parsed {
  std::string kind, name, description;
  std::optional<unsigned> mtu;
  std::vector<Condition> conditions;
  bool has_netdev_section = false;
};

void parse_netdev_key(const IniAssignment& a, Parsed& p, Diagnostics& d) {
  if (a.key == "Description") {
    p.description = a.value;
  } else if (a.key == "Name") {
    if (a.value.empty()) {
      p.name.clear();
    } else if (!valid_ifname(a.value)) {
      d.syntax(Level::kWarning, a.file, a.line,
               "Interface name is not valid or too long, ignoring assignment: " + a.value);
    } else {
      p.name = a.value;
    }
  } else if (a.key == "Kind") {
    if (a.value.empty()) {
      p.kind.clear();
    } else if (!p.kind.empty() && p.kind != a.value) {
      d.syntax(Level::kWarning, a.file, a.line,
               "Specified netdev kind is different from the previous value '" + p.kind +
                   "', ignoring assignment: " + a.value);
    } else {
      p.kind = a.value;
    }
  } else if (a.key == "MTUBytes") {
    if (a.value.empty()) {
      p.mtu.reset();
      return;
    }
    auto s = parse_size(a.value);
    if (!s || *s > 0xffffffffu) {
      bad_value(a, d);
    } else if (*s < 68) {
      d.syntax(Level::kWarning, a.file, a.line,
               "Specified MTU is too small (" + a.value + "), ignoring assignment.");
    } else {
      p.mtu = unsigned(*s);
    }
  } else if (a.key == "MACAddress") {
    // Not supported for TUN devices (systemd.netdev(5)); networkd ignores it there too.
  } else {
    unknown_key(a, d);
  }
}

void parse_wireguard_key(const IniAssignment& a, WireGuardNetdev& w, Diagnostics& d) {
  if (a.key == "PrivateKey") {
    decode_key(a, w.private_key, d);
  } else if (a.key == "PrivateKeyFile") {
    parse_path(a, w.private_key_file, d);
  } else if (a.key == "ListenPort") {
    if (a.value.empty() || a.value == "auto") {
      w.listen_port = 0;
      return;
    }
    auto p = parse_uint<std::uint16_t>(a.value);
    if (!p || *p == 0)
      d.syntax(Level::kWarning, a.file, a.line,
               "Invalid port specification, ignoring assignment: " + a.value);
    else
      w.listen_port = *p;
  } else if (a.key == "FirewallMark" || a.key == "FwMark") {
    auto m = parse_uint<std::uint32_t>(a.value);
    if (!m) bad_value(a, d);
    else w.fwmark = *m;
  } else if (a.key == "RouteTable") {
    auto t = parse_route_table(a.value);
    if (!t) bad_value(a, d);
    else w.route_table = *t;
  } else if (a.key == "RouteMetric") {
    auto m = a.value.empty() ? std::optional<std::uint32_t>(0) : parse_uint<std::uint32_t>(a.value);
    if (!m) bad_priority(a, d);
    else w.route_metric = *m;
  } else {
    unknown_key(a, d);
  }
}

void parse_peer_key(const IniAssignment& a, PeerConfig& p, Diagnostics& d) {
  if (a.key == "PublicKey") {
    decode_key(a, p.public_key, d);
  } else if (a.key == "PresharedKey") {
    decode_key(a, p.preshared_key, d);
  } else if (a.key == "PresharedKeyFile") {
    parse_path(a, p.preshared_key_file, d);
  } else if (a.key == "AllowedIPs") {
    parse_allowed_ips(a, p.allowed_ips, d);
  } else if (a.key == "Endpoint") {
    parse_endpoint(a, p.endpoint, d);
  } else if (a.key == "PersistentKeepalive") {
    if (a.value.empty() || a.value == "off") {
      p.persistent_keepalive = 0;
      return;
    }
    auto k = parse_uint<std::uint16_t>(a.value);
    if (!k)
      d.syntax(Level::kWarning, a.file, a.line,
               "Failed to parse \"" + a.value +
                   "\" as keepalive interval (range 0–65535), ignoring assignment: Invalid argument");
    else
      p.persistent_keepalive = *k;
  } else if (a.key == "RouteTable") {
    if (a.value.empty()) {
      p.route_table.reset();
      return;
    }
    auto t = parse_route_table(a.value);
    if (!t) bad_value(a, d);
    else p.route_table = *t;
  } else if (a.key == "RouteMetric") {
    if (a.value.empty()) {
      p.route_metric.reset();
      return;
    }
    auto m = parse_uint<std::uint32_t>(a.value);
    if (!m) bad_priority(a, d);
    else p.route_metric = *m;
  } else {
    unknown_key(a, d);
  }
}

bool match_kernel_cmdline(const std::string& cmdline, const std::string& want) {
  std::size_t i = 0;
  while (i < cmdline.size()) {
    while (i < cmdline.size() && is_ws(cmdline[i])) ++i;
    std::size_t j = i;
    while (j < cmdline.size() && !is_ws(cmdline[j])) ++j;
    std::string word = cmdline.substr(i, j - i);
    i = j;
    if (word.empty()) continue;
    if (want.find('=') != std::string::npos) {
      if (word == want) return true;
    } else if (word == want || word.rfind(want + "=", 0) == 0) {
      return true;
    }
  }
  return false;
}

bool match_kernel_version(const std::string& release, const std::string& expr) {
  static const char* ops[] = {">=", "<=", "!=", "=", ">", "<"};
  std::string_view e = expr;
  for (const char* op : ops) {
    std::size_t n = std::strlen(op);
    if (e.substr(0, n) == op) {
      std::string v(trim(e.substr(n)));
      int c = strverscmp(release.c_str(), v.c_str());
      std::string o = op;
      if (o == ">=") return c >= 0;
      if (o == "<=") return c <= 0;
      if (o == "!=") return c != 0;
      if (o == "=") return c == 0;
      if (o == ">") return c > 0;
      return c < 0;
    }
  }
  return fnmatch(expr.c_str(), release.c_str(), 0) == 0;
}

std::string read_small_file(const char* path) {
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return {};
  char buf[4096];
  ssize_t n = read(fd, buf, sizeof buf - 1);
  close(fd);
  if (n <= 0) return {};
  return std::string(trim(std::string_view(buf, std::size_t(n))));
}

}  // namespace

bool valid_ifname(const std::string& s) {
  if (s.empty() || s.size() > 15 || s == "." || s == "..") return false;
  for (unsigned char c : s)
    if (c <= 32 || c >= 127 || c == '/' || c == ':' || c == '%') return false;
  return true;
}

std::optional<std::uint32_t> parse_route_table(const std::string& s) {
  if (s.empty()) return 0;
  if (auto b = parse_boolean(s); b && !*b) return 0;
  if (s == "default") return 253;
  if (s == "main") return 254;
  if (s == "local") return 255;
  auto n = parse_uint<std::uint32_t>(s);
  if (!n || *n == 0) return std::nullopt;
  return n;
}

std::optional<std::uint64_t> parse_size(const std::string& s) {
  std::string_view v = trim(s);
  std::uint64_t mult = 1;
  if (!v.empty()) {
    char c = v.back();
    if (c == 'K') mult = 1024;
    else if (c == 'M') mult = 1024 * 1024;
    else if (c == 'G') mult = 1024ull * 1024 * 1024;
    if (c == 'K' || c == 'M' || c == 'G' || c == 'B') v.remove_suffix(1);
  }
  auto n = parse_uint<std::uint64_t>(trim(v));
  if (!n || *n > UINT64_MAX / mult) return std::nullopt;
  return *n * mult;
}

MatchEnvironment current_environment() {
  MatchEnvironment env;
  char host[256] = {};
  if (gethostname(host, sizeof host - 1) == 0) env.hostname = host;
  env.machine_id = read_small_file("/etc/machine-id");
  env.kernel_cmdline = read_small_file("/proc/cmdline");
  env.kernel_release = read_small_file("/proc/sys/kernel/osrelease");
#if defined(__x86_64__)
  env.architecture = "x86-64";
#elif defined(__aarch64__)
  env.architecture = "arm64";
#elif defined(__i386__)
  env.architecture = "x86";
#elif defined(__arm__)
  env.architecture = "arm";
#elif defined(__riscv) && __riscv_xlen == 64
  env.architecture = "riscv64";
#elif defined(__powerpc64__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
  env.architecture = "ppc64-le";
#elif defined(__s390x__)
  env.architecture = "s390x";
#endif
  return env;
}

bool conditions_match(const std::vector<Condition>& conditions, const MatchEnvironment& env,
                      Diagnostics& diags, const std::string& file) {
  for (const auto& c : conditions) {
    bool r = true;
    if (c.key == "Host") {
      r = fnmatch(c.value.c_str(), env.hostname.c_str(), FNM_CASEFOLD) == 0 ||
          (!env.machine_id.empty() && c.value == env.machine_id);
    } else if (c.key == "KernelCommandLine") {
      r = match_kernel_cmdline(env.kernel_cmdline, c.value);
    } else if (c.key == "Architecture") {
      r = c.value == env.architecture;
    } else if (c.key == "KernelVersion") {
      r = match_kernel_version(env.kernel_release, c.value);
    } else {
      // Virtualization=, Credential=, Firmware=: not evaluated here; say so rather than guess.
      diags.syntax(Level::kWarning, file, 0,
                   c.key + "= is not evaluated by wgcore-networkd, assuming it matches.");
      continue;
    }
    if (r == c.negate) return false;
  }
  return true;
}

std::optional<NetdevParse> parse_netdev(const std::vector<SourceText>& sources, Diagnostics& diags) {
  if (sources.empty()) return std::nullopt;
  const std::string& main_file = sources.front().path;
  std::vector<IniAssignment> items;
  Diagnostics local;
  const std::vector<std::string_view> known(std::begin(kSections), std::end(kSections));
  for (const auto& s : sources) {
    if (!parse_ini(s.text, s.path, known, items, local)) {
      // Only worth reporting for netdevs that are ours; a syntax error is, whatever the kind.
      for (const auto& d : local.items()) diags.add(d.level, d.text);
      return std::nullopt;
    }
  }
  Parsed p;
  Diagnostics kind_diags;
  for (const auto& a : items)
    if (a.section == "NetDev" && a.key == "Kind") parse_netdev_key(a, p, kind_diags);
  NetdevParse out;
  out.kind = p.kind;
  if (p.kind != "wireguard") {
    // Not ours: networkd handles it. Only its name matters (for duplicate names).
    for (const auto& a : items)
      if (a.section == "NetDev" && a.key == "Name" && valid_ifname(a.value)) out.name = a.value;
    return out;
  }
  for (const auto& d : local.items()) diags.add(d.level, d.text);

  WireGuardNetdev w;
  w.file = main_file;
  for (std::size_t i = 1; i < sources.size(); ++i) w.dropins.push_back(sources[i].path);
  std::map<std::pair<std::string, unsigned>, std::size_t> peer_index;
  p.kind.clear();
  for (const auto& a : items) {
    if (a.section == "Match") {
      static const char* keys[] = {"Host", "Virtualization", "KernelCommandLine", "KernelVersion",
                                   "Credential", "Architecture", "Firmware"};
      if (std::find_if(std::begin(keys), std::end(keys), [&](const char* k) { return a.key == k; }) ==
          std::end(keys))
        unknown_key(a, diags);
      else
        parse_condition(a, p.conditions);
    } else if (a.section == "NetDev") {
      p.has_netdev_section = true;
      parse_netdev_key(a, p, diags);
    } else if (a.section == "WireGuard") {
      parse_wireguard_key(a, w, diags);
    } else if (a.section == "WireGuardPeer") {
      auto key = std::make_pair(a.file, a.section_line);
      auto it = peer_index.find(key);
      if (it == peer_index.end()) {
        PeerConfig peer;
        peer.file = a.file;
        peer.line = a.section_line;
        w.peers.push_back(std::move(peer));
        it = peer_index.emplace(key, w.peers.size() - 1).first;
      }
      parse_peer_key(a, w.peers[it->second], diags);
    }
  }
  out.conditions = p.conditions;
  if (p.name.empty()) {
    diags.add(Level::kWarning, "NetDev without Name= configured in " + main_file + ". Ignoring");
    return out;
  }
  out.name = p.name;
  w.name = p.name;
  w.description = p.description;
  w.mtu = p.mtu;
  out.wireguard = std::move(w);
  return out;
}

Result<Key> read_key_file(const std::string& path) {
  std::string data;
  struct stat st {};
  if (stat(path.c_str(), &st) != 0) return make_error(errno, std::strerror(errno));
  int fd = -1;
  if (S_ISSOCK(st.st_mode)) {
    fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_un sun{};
    sun.sun_family = AF_UNIX;
    if (fd < 0 || path.size() >= sizeof sun.sun_path) {
      if (fd >= 0) close(fd);
      return make_error(EINVAL, "cannot connect to socket");
    }
    std::memcpy(sun.sun_path, path.c_str(), path.size());
    if (connect(fd, reinterpret_cast<sockaddr*>(&sun), sizeof sun) != 0) {
      int e = errno;
      close(fd);
      return make_error(e, std::strerror(e));
    }
  } else {
    fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return make_error(errno, std::strerror(errno));
  }
  char buf[512];
  for (;;) {
    ssize_t n = read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    data.append(buf, std::size_t(n));
    if (data.size() > 4096) break;
  }
  secure_zero(buf, sizeof buf);
  close(fd);
  std::string compact;
  for (char c : data)
    if (!is_ws(c)) compact += c;
  secure_zero(data.data(), data.size());
  std::uint8_t out[96];
  auto n = base64_decode(compact, std::span<std::uint8_t>(out, sizeof out));
  secure_zero(compact.data(), compact.size());
  if (!n || *n != kKeyLen) {
    secure_zero(out, sizeof out);
    return make_error(EINVAL, "Invalid argument");
  }
  Key k(std::span<const std::uint8_t, kKeyLen>(out, kKeyLen));
  secure_zero(out, sizeof out);
  return k;
}

bool verify_wireguard(WireGuardNetdev& w, Diagnostics& d, const KeyFileReader& reader) {
  if (!w.private_key_file.empty()) {
    auto k = reader(w.private_key_file);
    if (!k) {
      d.netdev(Level::kError, w.name,
               "Failed to read private key from " + w.private_key_file +
                   ". Ignoring network device. (" + k.error().message + ")");
      return false;
    }
    w.private_key = *k;
  }
  if (!w.private_key || w.private_key->is_zero()) {
    d.netdev(Level::kError, w.name,
             w.file + ": Missing PrivateKey= or PrivateKeyFile=, Ignoring network device.");
    return false;
  }
  std::vector<PeerConfig> kept;
  for (auto& p : w.peers) {
    if (!p.public_key || p.public_key->is_zero()) {
      d.netdev(Level::kError, w.name,
               p.file + ": WireGuardPeer section without PublicKey= configured. Ignoring "
                        "[WireGuardPeer] section from line " + std::to_string(p.line) + ".");
      continue;
    }
    // One peer per public key: a second section for the same key would make the device
    // configuration depend on merge rules (and a reload diff ambiguous), so it is refused.
    auto same = std::find_if(kept.begin(), kept.end(),
                             [&](const PeerConfig& q) { return *q.public_key == *p.public_key; });
    if (same != kept.end()) {
      d.netdev(Level::kWarning, w.name,
               p.file + ": WireGuardPeer section with the same PublicKey= as the section at " + same->file + ":" +
                   std::to_string(same->line) + ". Ignoring [WireGuardPeer] section from line " +
                   std::to_string(p.line) + ".");
      continue;
    }
    if (!p.preshared_key_file.empty()) {
      auto k = reader(p.preshared_key_file);
      if (!k) {
        d.netdev(Level::kError, w.name,
                 p.file + ": Failed to read preshared key from '" + p.preshared_key_file +
                     "'. Ignoring [WireGuardPeer] section from line " + std::to_string(p.line) +
                     ". (" + k.error().message + ")");
        continue;
      }
      p.preshared_key = *k;
    }
    kept.push_back(std::move(p));
  }
  w.peers = std::move(kept);
  return true;
}

}  // namespace wgcore::networkd
