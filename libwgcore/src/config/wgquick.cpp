// wg-quick configuration parsing and writing; see wgquick.hpp. The acceptance rules follow the
// two programs that read these files: wg-quick(8) takes its own keys from [Interface] (trimmed
// value, comma or space lists, everything after '#' dropped) and hands every other line to
// `wg setconf`, which drops all whitespace from a line before matching its key; both match keys
// and section names case-insensitively.
#include "wgcore/wgquick.hpp"

#include <netdb.h>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>
#include <thread>

#include "support/text.hpp"

namespace wgcore::config {

namespace {

using text::iequals;
using text::parse_decimal;
using text::strip_spaces;
using text::trim;
std::vector<std::string> words(std::string_view s) { return text::split_words(s); }

}  // namespace

// wg reads the fwmark with strtoul(base 0): decimal or 0x hex.
std::optional<std::uint32_t> parse_fwmark(std::string_view s) {
  if (s == "off") return 0u;
  if (s.size() > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
    if (s.size() > 10) return std::nullopt;
    std::uint32_t v = 0;
    for (char c : s.substr(2)) {
      int d = std::isdigit(static_cast<unsigned char>(c)) ? c - '0'
              : (c >= 'a' && c <= 'f')                    ? c - 'a' + 10
              : (c >= 'A' && c <= 'F')                    ? c - 'A' + 10
                                                          : -1;
      if (d < 0) return std::nullopt;
      v = v * 16 + std::uint32_t(d);
    }
    return v;
  }
  auto v = parse_decimal(s, 0xffffffffu);
  if (!v) return std::nullopt;
  return std::uint32_t(*v);
}

std::optional<EndpointSpec> parse_endpoint_spec(std::string_view s) {
  EndpointSpec e;
  std::string_view port;
  if (!s.empty() && s.front() == '[') {
    auto close = s.find(']');
    if (close == std::string_view::npos || close + 1 >= s.size() || s[close + 1] != ':')
      return std::nullopt;
    e.host = std::string(s.substr(1, close - 1));
    port = s.substr(close + 2);
  } else {
    // The last ':' separates the port, as wg does.
    auto colon = s.rfind(':');
    if (colon == std::string_view::npos) return std::nullopt;
    e.host = std::string(s.substr(0, colon));
    port = s.substr(colon + 1);
    if (e.host.find(':') != std::string::npos) return std::nullopt;  // IPv6 needs brackets
  }
  auto p = parse_decimal(port, 65535);
  if (e.host.empty() || !p) return std::nullopt;
  e.port = std::uint16_t(*p);
  return e;
}

bool is_dns_server_word(std::string_view w) {
  // wg-quick: ^[0-9.]+$ or anything with a ':' is a server; everything else a search domain.
  bool digits_dots = !w.empty();
  for (char c : w)
    if (!(std::isdigit(static_cast<unsigned char>(c)) || c == '.')) digits_dots = false;
  return digits_dots || w.find(':') != std::string_view::npos;
}

namespace {

class Parser {
 public:
  explicit Parser(std::string_view file) : file_(file) {}

  Result<WgQuickConfig> run(std::string_view text) {
    Status failed;
    wgcore::text::for_each_line(text, [&](std::string_view line, int n) {
      failed = parse_line(line, n);
      return failed.ok();
    });
    if (!failed) return failed.error();
    if (auto st = finish_peer(); !st) return st.error();
    return std::move(cfg_);
  }

 private:
  enum class Section { kNone, kInterface, kPeer };

  Error err(int line, std::string_view key, const std::string& msg) const {
    return make_error(EINVAL, std::string(file_) + ":" + std::to_string(line) + ": " +
                                  std::string(key) + ": " + msg);
  }

  Status finish_peer() {
    if (section_ == Section::kPeer && !have_public_key_)
      return err(cfg_.peers.back().line, "[Peer]", "missing PublicKey");
    return {};
  }

  Status parse_line(std::string_view raw, int n) {
    std::string_view stripped = raw.substr(0, raw.find('#'));
    if (trim(stripped).empty()) return {};
    auto eq = stripped.find('=');
    std::string_view key = trim(stripped.substr(0, eq));
    std::string_view value = eq == std::string_view::npos ? std::string_view() : trim(stripped.substr(eq + 1));
    if (!key.empty() && key.front() == '[') {
      std::string name = strip_spaces(stripped);
      if (auto st = finish_peer(); !st) return st;
      if (iequals(name, "[Interface]")) {
        section_ = Section::kInterface;
      } else if (iequals(name, "[Peer]")) {
        section_ = Section::kPeer;
        have_public_key_ = false;
        cfg_.peers.emplace_back();
        cfg_.peers.back().line = n;
      } else {
        return err(n, key, "unknown section (expected [Interface] or [Peer])");
      }
      return {};
    }
    if (eq == std::string_view::npos) return err(n, key, "expected KEY = VALUE");
    if (section_ == Section::kNone) return err(n, key, "key outside of a section");
    if (section_ == Section::kInterface) return interface_key(n, key, value);
    return peer_key(n, key, value);
  }

  Result<Key> key_value(int n, std::string_view key, std::string_view value) const {
    auto k = key_from_base64(strip_spaces(value));
    if (!k) return err(n, key, "invalid key (expected 44 characters of base64)");
    return std::move(*k);
  }

  Status interface_key(int n, std::string_view key, std::string_view value) {
    std::string v(value);
    if (iequals(key, "Address")) {
      for (const auto& w : words(value)) {
        auto p = IpPrefix::parse(w);
        if (!p) return err(n, key, "invalid address '" + w + "'");
        cfg_.addresses.push_back(*p);
      }
      return {};
    }
    if (iequals(key, "DNS")) {
      for (const auto& w : words(value)) {
        if (is_dns_server_word(w)) {
          auto a = IpAddr::parse(w);
          if (!a) return err(n, key, "invalid DNS server '" + w + "'");
          cfg_.dns.push_back(*a);
        } else {
          cfg_.dns_search.push_back(w);
        }
      }
      return {};
    }
    if (iequals(key, "MTU")) {
      auto m = parse_decimal(value, 65535);
      if (!m || *m < 68) return err(n, key, "invalid MTU '" + v + "' (expected 68-65535)");
      cfg_.mtu = unsigned(*m);
      return {};
    }
    if (iequals(key, "Table")) {
      auto t = RouteTable::parse(value);
      if (!t) return err(n, key, "invalid table '" + v + "' (expected off, auto, a number or a name)");
      cfg_.table = *t;
      return {};
    }
    if (iequals(key, "PreUp")) return cfg_.pre_up.push_back(v), Status();
    if (iequals(key, "PostUp")) return cfg_.post_up.push_back(v), Status();
    if (iequals(key, "PreDown")) return cfg_.pre_down.push_back(v), Status();
    if (iequals(key, "PostDown")) return cfg_.post_down.push_back(v), Status();
    if (iequals(key, "SaveConfig")) {
      if (iequals(value, "true")) cfg_.save_config = true;
      else if (iequals(value, "false")) cfg_.save_config = false;
      else return err(n, key, "'" + v + "' is neither true nor false");
      return {};
    }
    // The rest is `wg setconf`'s, which ignores all whitespace in the line.
    std::string wkey = strip_spaces(key), wval = strip_spaces(value);
    if (iequals(wkey, "PrivateKey")) {
      auto k = key_value(n, key, value);
      if (!k) return k.error();
      cfg_.private_key = std::move(*k);
      return {};
    }
    if (iequals(wkey, "ListenPort")) {
      auto p = parse_decimal(wval, 65535);
      if (!p) return err(n, key, "invalid port '" + wval + "'");
      cfg_.listen_port = std::uint16_t(*p);
      return {};
    }
    if (iequals(wkey, "FwMark")) {
      auto m = parse_fwmark(wval);
      if (!m) return err(n, key, "invalid fwmark '" + wval + "' (expected a number or off)");
      cfg_.fwmark = *m;
      return {};
    }
    return err(n, key, "unknown key in [Interface]");
  }

  Status peer_key(int n, std::string_view key, std::string_view value) {
    WgQuickPeer& p = cfg_.peers.back();
    std::string wkey = strip_spaces(key), wval = strip_spaces(value);
    if (iequals(wkey, "PublicKey")) {
      auto k = key_value(n, key, value);
      if (!k) return k.error();
      p.public_key = std::move(*k);
      have_public_key_ = true;
      return {};
    }
    if (iequals(wkey, "PresharedKey")) {
      auto k = key_value(n, key, value);
      if (!k) return k.error();
      p.preshared_key = std::move(*k);
      return {};
    }
    if (iequals(wkey, "AllowedIPs")) {
      std::size_t start = 0;
      while (start <= wval.size() && !wval.empty()) {
        auto comma = wval.find(',', start);
        std::string w = wval.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
        if (w.empty()) return err(n, key, "empty entry in list");
        auto pre = IpPrefix::parse(w);
        if (!pre) return err(n, key, "invalid allowed IP '" + w + "'");
        p.allowed_ips.push_back(*pre);
        if (comma == std::string::npos) break;
        start = comma + 1;
      }
      return {};
    }
    if (iequals(wkey, "Endpoint")) {
      auto e = parse_endpoint_spec(wval);
      if (!e) return err(n, key, "invalid endpoint '" + wval + "' (expected HOST:PORT or [IPv6]:PORT)");
      p.endpoint = std::move(*e);
      return {};
    }
    if (iequals(wkey, "PersistentKeepalive")) {
      if (wval == "off") {
        p.persistent_keepalive = 0;
        return {};
      }
      auto k = parse_decimal(wval, 65535);
      if (!k) return err(n, key, "invalid persistent keepalive '" + wval + "' (expected 0-65535 or off)");
      p.persistent_keepalive = std::uint16_t(*k);
      return {};
    }
    return err(n, key, "unknown key in [Peer]");
  }

  std::string_view file_;
  WgQuickConfig cfg_;
  Section section_ = Section::kNone;
  bool have_public_key_ = false;
};


}  // namespace

std::string format_fwmark(std::uint32_t m) {
  if (m == 0) return "off";
  char buf[16];
  std::snprintf(buf, sizeof buf, "0x%x", m);
  return buf;
}

std::optional<RouteTable> RouteTable::parse(std::string_view v) {
  RouteTable t;
  if (v == "off") {
    t.kind = Kind::kOff;
  } else if (v == "auto") {
    t.kind = Kind::kAuto;
  } else if (auto id = parse_decimal(v, 0xffffffffu)) {
    if (*id == 0) return std::nullopt;
    t.kind = Kind::kId;
    t.id = std::uint32_t(*id);
  } else {
    if (v.empty()) return std::nullopt;
    for (char c : v)
      if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-' || c == '.')) return std::nullopt;
    t.kind = Kind::kName;
    t.name = std::string(v);
  }
  return t;
}

std::string RouteTable::to_string() const {
  switch (kind) {
    case Kind::kAuto: return "auto";
    case Kind::kOff: return "off";
    case Kind::kId: return std::to_string(id);
    case Kind::kName: return name;
  }
  return "auto";
}

std::string EndpointSpec::to_string() const {
  if (host.find(':') != std::string::npos) return "[" + host + "]:" + std::to_string(port);
  return host + ":" + std::to_string(port);
}

Result<WgQuickConfig> parse_wgquick(std::string_view text, std::string_view file) {
  return Parser(file).run(text);
}

Result<WgQuickConfig> load_wgquick(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return make_error(errno ? errno : ENOENT, path + ": " + std::strerror(errno ? errno : ENOENT));
  std::ostringstream ss;
  ss << in.rdbuf();
  return parse_wgquick(ss.str(), path);
}

std::string format_wgquick(const WgQuickConfig& c) {
  std::string s = "[Interface]\n";
  auto line = [&s](const char* k, const std::string& v) { s += std::string(k) + " = " + v + "\n"; };
  for (const auto& a : c.addresses) line("Address", a.to_string());
  for (const auto& d : c.dns) line("DNS", d.to_string());
  for (const auto& d : c.dns_search) line("DNS", d);
  if (c.mtu) line("MTU", std::to_string(*c.mtu));
  if (c.table) line("Table", c.table->to_string());
  if (c.save_config) line("SaveConfig", "true");
  for (const auto& h : c.pre_up) line("PreUp", h);
  for (const auto& h : c.post_up) line("PostUp", h);
  for (const auto& h : c.pre_down) line("PreDown", h);
  for (const auto& h : c.post_down) line("PostDown", h);
  if (c.listen_port) line("ListenPort", std::to_string(*c.listen_port));
  if (c.fwmark) line("FwMark", format_fwmark(*c.fwmark));
  if (c.private_key) line("PrivateKey", to_base64(*c.private_key));
  for (const auto& p : c.peers) {
    s += "\n[Peer]\n";
    line("PublicKey", to_base64(p.public_key));
    if (p.preshared_key) line("PresharedKey", to_base64(*p.preshared_key));
    if (!p.allowed_ips.empty()) {
      std::string ips;
      for (const auto& a : p.allowed_ips) ips += (ips.empty() ? "" : ", ") + a.to_string();
      line("AllowedIPs", ips);
    }
    if (p.endpoint) line("Endpoint", p.endpoint->to_string());
    if (p.persistent_keepalive)
      line("PersistentKeepalive", *p.persistent_keepalive ? std::to_string(*p.persistent_keepalive) : "off");
  }
  return s;
}

Status save_wgquick(const std::string& path, const WgQuickConfig& config) {
  std::string tmp = path + ".tmp";
  std::string text = format_wgquick(config);
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return make_error(errno, "Could not write configuration file " + tmp + ": " + std::strerror(errno));
  ::fchmod(fd, 0600);
  std::size_t off = 0;
  while (off < text.size()) {
    ssize_t w = ::write(fd, text.data() + off, text.size() - off);
    if (w < 0) {
      int e = errno;
      ::close(fd);
      ::unlink(tmp.c_str());
      return make_error(e, "Could not write configuration file " + tmp + ": " + std::strerror(e));
    }
    off += std::size_t(w);
  }
  ::fsync(fd);
  ::close(fd);
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    int e = errno;
    ::unlink(tmp.c_str());
    return make_error(e, "Could not move configuration file to " + path + ": " + std::strerror(e));
  }
  return {};
}

Result<Endpoint> resolve_numeric(const EndpointSpec& spec) {
  auto ip = IpAddr::parse(spec.host);
  if (!ip) return make_error(EINVAL, "endpoint " + spec.to_string() + ": not a numeric address");
  return Endpoint::make(*ip, spec.port);
}

Result<Endpoint> resolve_system(const EndpointSpec& spec, int eagain_retries) {
  if (auto ip = IpAddr::parse(spec.host)) return Endpoint::make(*ip, spec.port);
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_DGRAM;
  hints.ai_protocol = IPPROTO_UDP;
  addrinfo* res = nullptr;
  int rc;
  // Temporary failures are retried a second apart, as wg does (the network may be coming up).
  for (int i = 0; (rc = ::getaddrinfo(spec.host.c_str(), nullptr, &hints, &res)) == EAI_AGAIN &&
                  i < eagain_retries;
       ++i)
    std::this_thread::sleep_for(std::chrono::seconds(1));
  if (rc != 0) return make_error(EHOSTUNREACH, gai_strerror(rc));
  Endpoint ep;
  for (addrinfo* ai = res; ai != nullptr && !ep.valid(); ai = ai->ai_next)
    ep = Endpoint::from_sockaddr(ai->ai_addr, ai->ai_addrlen);
  ::freeaddrinfo(res);
  if (!ep.valid()) return make_error(EAFNOSUPPORT, "no usable address");
  return Endpoint::make(ep.ip(), spec.port);
}

Result<DeviceUpdate> to_device_update(const WgQuickConfig& c, const Resolver& resolve) {
  DeviceUpdate u;
  u.private_key = c.private_key;
  u.listen_port = c.listen_port;
  u.fwmark = c.fwmark;
  u.replace_peers = true;
  for (const auto& p : c.peers) {
    PeerUpdate pu;
    pu.public_key = p.public_key;
    pu.preshared_key = p.preshared_key;
    pu.persistent_keepalive_interval = p.persistent_keepalive;
    if (p.endpoint) {
      auto ep = resolve(*p.endpoint);
      if (!ep) return ep.error();
      pu.endpoint = *ep;
    }
    pu.allowed_ips.push_back(AllowedIpOp{AllowedIpOp::Kind::kReplaceAll, {}});
    for (const auto& a : p.allowed_ips) pu.allowed_ips.push_back(AllowedIpOp{AllowedIpOp::Kind::kAdd, a});
    u.peers.push_back(std::move(pu));
  }
  return u;
}

bool valid_interface_name(std::string_view name) {
  if (name.empty() || name.size() > 15) return false;
  for (char c : name)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '=' || c == '+' || c == '.' || c == '-'))
      return false;
  return true;
}

Result<ConfigLocation> locate_config(const std::string& arg, const std::string& dir) {
  ConfigLocation loc;
  loc.path = valid_interface_name(arg) ? dir + "/" + arg + ".conf" : arg;
  struct stat st;
  if (::stat(loc.path.c_str(), &st) != 0)
    return make_error(ENOENT, "`" + loc.path + "' does not exist");
  std::string_view base = loc.path;
  if (auto slash = base.rfind('/'); slash != std::string_view::npos) base.remove_prefix(slash + 1);
  constexpr std::string_view kSuffix = ".conf";
  if (base.size() <= kSuffix.size() || base.substr(base.size() - kSuffix.size()) != kSuffix ||
      !valid_interface_name(base.substr(0, base.size() - kSuffix.size())))
    return make_error(EINVAL, "The config file must be a valid interface name, followed by .conf");
  loc.interface = std::string(base.substr(0, base.size() - kSuffix.size()));
  return loc;
}

}  // namespace wgcore::config
