// The frr-wgd.conf parser. Context follows FRR's: `interface` opens an interface, `peer` a peer
// inside it, and a top-level keyword (or `exit`) closes them; `!` and `#` start comments.
#include "config.hpp"

#include <cstring>
#include <fstream>
#include <map>
#include <sstream>

#include "support/text.hpp"

namespace wgcore::frrwgd {

namespace policy = routing::policy;

policy::PeerPolicy PeerConfig::policy() const {
  policy::PeerPolicy p;
  p.public_key = public_key;
  p.name = name;
  p.prefix_list_v4 = prefix_list_v4;
  p.prefix_list_v6 = prefix_list_v6;
  p.max_prefixes = max_prefixes;
  p.warn_prefixes = warn_prefixes;
  p.allow_default = allow_default;
  p.require_approval = approval;
  return p;
}

const PeerConfig* InterfaceConfig::find_peer(const Key& key) const {
  for (const auto& p : peers)
    if (p.public_key == key) return &p;
  return nullptr;
}

const PeerConfig* InterfaceConfig::find_peer(std::string_view name_or_key) const {
  for (const auto& p : peers)
    if (p.name == name_or_key || to_base64(p.public_key) == name_or_key) return &p;
  return nullptr;
}

const InterfaceConfig* Config::find_interface(std::string_view name) const {
  for (const auto& i : interfaces)
    if (i.name == name) return &i;
  return nullptr;
}

std::string prefix_list_line(const policy::PrefixList& list, const policy::PrefixListEntry& entry) {
  return std::string(list.family == IpAddr::Family::V4 ? "ip" : "ipv6") + " prefix-list " +
         list.name + " " + entry.to_string();
}

namespace {

std::vector<std::string> tokenize(std::string_view line) {
  std::vector<std::string> out;
  std::istringstream in{std::string(line)};
  std::string t;
  while (in >> t) {
    if (t[0] == '!' || t[0] == '#') break;
    out.push_back(t);
  }
  return out;
}

std::optional<std::uint64_t> number(const std::string& s, std::uint64_t max) {
  return text::parse_decimal(s, max);
}

std::optional<std::uint8_t> protocol_number(const std::string& s) {
  static const std::map<std::string, std::uint8_t> names = {
      {"bgp", 186}, {"isis", 187}, {"ospf", 188}, {"rip", 189}, {"ripng", 190},
      {"eigrp", 192}, {"static", 196}, {"babel", 42}, {"openfabric", 197}};
  if (auto it = names.find(s); it != names.end()) return it->second;
  if (auto n = number(s, 255)) return std::uint8_t(*n);
  return std::nullopt;
}

class Parser {
 public:
  Parser(std::string_view text, const std::string& path) : text_(text) { cfg_.path = path; }

  Result<Config> run() {
    std::size_t pos = 0;
    while (pos <= text_.size()) {
      std::size_t nl = text_.find('\n', pos);
      if (nl == std::string_view::npos) nl = text_.size();
      ++line_;
      std::string_view raw = text_.substr(pos, nl - pos);
      pos = nl + 1;
      auto toks = tokenize(raw);
      if (toks.empty()) continue;
      if (auto st = line(raw, toks); !st) return st.error();
      if (nl == text_.size()) break;
    }
    if (auto st = validate(); !st) return st.error();
    return std::move(cfg_);
  }

 private:
  Error err(const std::string& token, const std::string& why) const {
    return make_error(EINVAL, cfg_.path + ":" + std::to_string(line_) + ": " + why +
                                  (token.empty() ? "" : " '" + token + "'"));
  }
  Error err_at(int at, const std::string& why) const {
    return make_error(EINVAL, cfg_.path + ":" + std::to_string(at) + ": " + why);
  }

  InterfaceConfig* iface() { return in_iface_ ? &cfg_.interfaces.back() : nullptr; }
  PeerConfig* peer() { return in_peer_ ? &cfg_.interfaces.back().peers.back() : nullptr; }

  Status expect_count(const std::vector<std::string>& t, std::size_t n) {
    if (t.size() > n) return err(t[n], "unexpected token");
    if (t.size() < n) return err(t.back(), "missing argument after");
    return {};
  }

  Status line(std::string_view raw, const std::vector<std::string>& t) {
    const std::string& k = t[0];
    if (k == "exit" || k == "end") {
      if (in_peer_) in_peer_ = false;
      else in_iface_ = false;
      return {};
    }
    if (peer() && is_peer_keyword(k)) return peer_line(t);
    if (iface() && (k == "peer" || k == "export" || k == "no")) return iface_line(t);
    in_peer_ = in_iface_ = false;
    return top_line(raw, t);
  }

  static bool is_peer_keyword(const std::string& k) {
    return k == "tunnel-address" || k == "prefix-list" || k == "max-prefixes" ||
           k == "allow-default" || k == "approval" || k == "remote-as";
  }

  Status top_line(std::string_view raw, const std::vector<std::string>& t) {
    const std::string& k = t[0];
    if (k == "ip" || k == "ipv6") {
      if (t.size() < 2 || t[1] != "prefix-list") return err(t.size() > 1 ? t[1] : k, "expected prefix-list after");
      if (auto st = policy::parse_prefix_list_line(raw, cfg_.prefix_lists); !st)
        return err_at(line_, st.error().message);
      return {};
    }
    if (k == "interface") {
      if (auto st = expect_count(t, 2); !st) return st;
      if (t[1].size() > 15) return err(t[1], "interface name longer than 15 characters");
      if (cfg_.find_interface(t[1])) return err(t[1], "interface configured twice");
      InterfaceConfig ic;
      ic.name = t[1];
      ic.line = line_;
      cfg_.interfaces.push_back(std::move(ic));
      in_iface_ = true;
      return {};
    }
    if (k == "fpm") {
      // fpm listen ADDRESS port N | fpm sweep-delay MS
      if (t.size() >= 2 && (t[1] == "sweep-delay" || t[1] == "replay-hold")) {
        if (auto st = expect_count(t, 3); !st) return st;
        auto n = number(t[2], 600000);
        if (!n) return err(t[2], "bad milliseconds");
        (t[1] == "sweep-delay" ? cfg_.sweep_delay_ms : cfg_.replay_hold_ms) = std::uint32_t(*n);
        return {};
      }
      if (t.size() < 2 || t[1] != "listen")
        return err(t.size() > 1 ? t[1] : k, "expected listen, sweep-delay or replay-hold after");
      if (t.size() != 3 && t.size() != 5) return err(t.back(), "expected 'fpm listen ADDRESS [port N]' at");
      auto a = IpAddr::parse(t[2]);
      if (!a) return err(t[2], "bad address");
      cfg_.fpm_address = *a;
      if (t.size() == 5) {
        if (t[3] != "port") return err(t[3], "expected port, got");
        auto n = number(t[4], 65535);
        if (!n || *n == 0) return err(t[4], "bad port");
        cfg_.fpm_port = std::uint16_t(*n);
      }
      if (cfg_.import == ImportSource::kRtnetlink) return err(k, "fpm and watch rtnetlink are exclusive:");
      cfg_.import = ImportSource::kFpm;
      return {};
    }
    if (k == "watch") {
      if (t.size() < 4 || t[1] != "rtnetlink" || t[2] != "proto")
        return err(t.size() > 1 ? t[1] : k, "expected 'watch rtnetlink proto NAME...' at");
      for (std::size_t i = 3; i < t.size(); ++i) {
        auto p = protocol_number(t[i]);
        if (!p) return err(t[i], "unknown route protocol");
        cfg_.watch_protocols.insert(*p);
      }
      if (cfg_.import == ImportSource::kFpm) return err(k, "fpm and watch rtnetlink are exclusive:");
      cfg_.import = ImportSource::kRtnetlink;
      return {};
    }
    if (k == "export-protocol") {
      if (auto st = expect_count(t, 2); !st) return st;
      auto p = number(t[1], 255);
      if (!p || *p < 1) return err(t[1], "bad protocol number");
      if (*p == 2 || *p == 3 || *p == 4 || *p == 11 || *p == 42 || (*p >= 186 && *p <= 198))
        return err(t[1], "protocol number belongs to the kernel or FRR (zebra would own the routes):");
      cfg_.export_protocol = std::uint8_t(*p);
      return {};
    }
    if (k == "refresh-interval") {
      if (auto st = expect_count(t, 2); !st) return st;
      auto n = number(t[1], 3600000);
      if (!n || *n < 100) return err(t[1], "bad milliseconds (at least 100)");
      cfg_.refresh_interval_ms = std::uint32_t(*n);
      return {};
    }
    if (k == "control-socket" || k == "state-directory") {
      if (auto st = expect_count(t, 2); !st) return st;
      if (t[1][0] != '/') return err(t[1], "not an absolute path:");
      (k == "control-socket" ? cfg_.control_socket : cfg_.state_directory) = t[1];
      return {};
    }
    if (k == "frr-vtysh") {
      // frr-vtysh PATH [vty-socket DIR]
      if (t.size() != 2 && t.size() != 4) return err(t.back(), "expected 'frr-vtysh PATH [vty-socket DIR]' at");
      if (t[1][0] != '/') return err(t[1], "not an absolute path:");
      cfg_.frr_vtysh = t[1];
      if (t.size() == 4) {
        if (t[2] != "vty-socket") return err(t[2], "expected vty-socket, got");
        if (t[3][0] != '/') return err(t[3], "not an absolute path:");
        cfg_.frr_vty_socket = t[3];
      }
      return {};
    }
    if (k == "bgp-asn") {
      if (auto st = expect_count(t, 2); !st) return st;
      auto n = number(t[1], 4294967295ULL);
      if (!n || *n == 0) return err(t[1], "bad AS number");
      cfg_.bgp_asn = std::uint32_t(*n);
      return {};
    }
    if (is_peer_keyword(k)) return err(k, "outside a peer block:");
    if (k == "peer" || k == "export") return err(k, "outside an interface block:");
    return err(k, "unknown keyword");
  }

  Status iface_line(const std::vector<std::string>& t) {
    InterfaceConfig& ic = *iface();
    const std::string& k = t[0];
    if (k == "export" || (k == "no" && t.size() >= 2 && t[1] == "export")) {
      if (k == "no") {
        if (auto st = expect_count(t, 2); !st) return st;
        ic.export_enabled = false;
        return {};
      }
      // export [table N]
      if (t.size() == 1) {
        ic.export_enabled = true;
        return {};
      }
      if (t[1] != "table") return err(t[1], "expected table, got");
      if (auto st = expect_count(t, 3); !st) return st;
      auto n = number(t[2], 4294967295ULL);
      if (!n || *n == 0 || *n == 253 || *n == 254 || *n == 255)
        return err(t[2], "bad table (1-252 or above 255; not default, main or local)");
      ic.export_enabled = true;
      ic.export_table = std::uint32_t(*n);
      return {};
    }
    if (k == "no") return err(t.size() > 1 ? t[1] : k, "unknown interface keyword after no:");
    // peer NAME public-key KEY
    if (t.size() != 4 || t[2] != "public-key")
      return err(t.size() > 2 ? t[2] : t.back(), "expected 'peer NAME public-key KEY' at");
    auto key = key_from_base64(t[3]);
    if (!key) return err(t[3], "bad public key");
    for (const auto& i : cfg_.interfaces)
      for (const auto& p : i.peers) {
        if (p.public_key == *key) return err(t[3], "public key already used by peer " + p.name + ":");
        if (&i == &ic && p.name == t[1]) return err(t[1], "peer name used twice");
      }
    PeerConfig pc;
    pc.name = t[1];
    pc.public_key = *key;
    pc.line = line_;
    ic.peers.push_back(std::move(pc));
    in_peer_ = true;
    return {};
  }

  Status peer_line(const std::vector<std::string>& t) {
    PeerConfig& p = *peer();
    const std::string& k = t[0];
    if (k == "tunnel-address") {
      if (auto st = expect_count(t, 2); !st) return st;
      auto a = IpAddr::parse(t[1]);
      if (!a) return err(t[1], "bad address");
      p.tunnel_addresses.push_back(*a);
      return {};
    }
    if (k == "prefix-list") {
      if (auto st = expect_count(t, 3); !st) return st;
      if (t[1] == "ipv4") p.prefix_list_v4 = t[2];
      else if (t[1] == "ipv6") p.prefix_list_v6 = t[2];
      else return err(t[1], "expected ipv4 or ipv6, got");
      refs_.push_back({t[2], t[1] == "ipv4" ? IpAddr::Family::V4 : IpAddr::Family::V6, line_});
      return {};
    }
    if (k == "max-prefixes") {
      // max-prefixes N [warn M]
      if (t.size() != 2 && t.size() != 4) return err(t.back(), "expected 'max-prefixes N [warn M]' at");
      auto n = number(t[1], 100000000);
      if (!n) return err(t[1], "bad number");
      p.max_prefixes = std::uint32_t(*n);
      if (t.size() == 4) {
        if (t[2] != "warn") return err(t[2], "expected warn, got");
        auto w = number(t[3], 100000000);
        if (!w) return err(t[3], "bad number");
        if (p.max_prefixes && *w > p.max_prefixes) return err(t[3], "warn threshold above the limit:");
        p.warn_prefixes = std::uint32_t(*w);
      }
      return {};
    }
    if (k == "remote-as") {
      if (auto st = expect_count(t, 2); !st) return st;
      if (t[1] != "external" && t[1] != "internal" && !(number(t[1], 4294967295ULL) && *number(t[1], 4294967295ULL) > 0))
        return err(t[1], "expected an AS number, external or internal, got");
      p.remote_as = t[1];
      return {};
    }
    if (k == "allow-default" || k == "approval") {
      if (auto st = expect_count(t, 1); !st) return st;
      (k == "approval" ? p.approval : p.allow_default) = true;
      return {};
    }
    return err(k, "unknown peer keyword");
  }

  Status validate() {
    for (const auto& r : refs_) {
      const policy::PrefixList* found = nullptr;
      for (const auto& l : cfg_.prefix_lists)
        if (l.name == r.name) found = &l;
      if (!found) return err_at(r.line, "prefix-list '" + r.name + "' is not defined");
      if (found->family != r.family)
        return err_at(r.line, "prefix-list '" + r.name + "' is an " +
                                  (found->family == IpAddr::Family::V4 ? "ip" : "ipv6") +
                                  " prefix-list");
    }
    for (const auto& i : cfg_.interfaces)
      for (const auto& p : i.peers)
        if (p.tunnel_addresses.empty() && cfg_.import != ImportSource::kNone)
          return err_at(p.line, "peer " + p.name + " has no tunnel-address: its routes could not be told apart");
    return {};
  }

  struct Ref {
    std::string name;
    IpAddr::Family family;
    int line;
  };
  std::string_view text_;
  Config cfg_;
  int line_ = 0;
  bool in_iface_ = false;
  bool in_peer_ = false;
  std::vector<Ref> refs_;
};

}  // namespace

Result<Config> parse_config(std::string_view text, const std::string& path) {
  return Parser(text, path).run();
}

Result<Config> load_config(const std::string& path) {
  std::ifstream in(path);
  if (!in) return make_error(errno ? errno : ENOENT, path + ": cannot open: " + strerror(errno));
  std::stringstream ss;
  ss << in.rdbuf();
  return parse_config(ss.str(), path);
}

std::string control_socket_of(const std::string& path) {
  std::ifstream in(path);
  std::string line, found = kDefaultControlSocket;
  while (std::getline(in, line)) {
    auto t = tokenize(line);
    if (t.size() == 2 && t[0] == "control-socket" && t[1][0] == '/') found = t[1];
  }
  return found;
}

}  // namespace wgcore::frrwgd
