// Parsing and formatting of UAPI set/get bodies. The accepted syntax follows wireguard-go's
// device/uapi.go (strconv.ParseUint, netip.ParsePrefix, hex.DecodeString rules) so that a
// request it refuses we refuse too, with the same errno.
#include "uapi/uapi_text.hpp"

#include <charconv>
#include <cstdint>
#include <limits>
#include <optional>

#include "common/secure_string.hpp"
#include "core/crypto/x25519.hpp"

namespace wgcore::uapi {
namespace {

// Splits text into lines the way bufio.ScanLines does: '\n' separated, one trailing '\r'
// dropped, a final unterminated line kept.
class LineReader {
 public:
  explicit LineReader(std::string_view text) : text_(text) {}
  bool next(std::string_view& line) {
    if (pos_ >= text_.size()) return false;
    auto nl = text_.find('\n', pos_);
    std::size_t end = nl == std::string_view::npos ? text_.size() : nl;
    line = text_.substr(pos_, end - pos_);
    pos_ = nl == std::string_view::npos ? text_.size() : nl + 1;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    ++number_;
    return true;
  }
  int number() const { return number_; }
  std::string_view rest() const { return text_.substr(pos_); }

 private:
  std::string_view text_;
  std::size_t pos_ = 0;
  int number_ = 0;
};

// Go's strconv.ParseUint(s, 10, bits): ASCII digits only, no sign, no spaces, in range.
std::optional<std::uint64_t> parse_uint(std::string_view s, std::uint64_t max) {
  if (s.empty()) return std::nullopt;
  for (char c : s)
    if (c < '0' || c > '9') return std::nullopt;
  std::uint64_t v = 0;
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || ptr != s.data() + s.size() || v > max) return std::nullopt;
  return v;
}

// Go's netip.ParsePrefix: "ADDR/BITS" with the slash required, BITS decimal without sign or
// leading zeros, no IPv6 zone.
std::optional<IpPrefix> parse_prefix(std::string_view s) {
  auto slash = s.rfind('/');
  if (slash == std::string_view::npos) return std::nullopt;
  auto bits = s.substr(slash + 1);
  if (bits.size() > 1 && bits[0] == '0') return std::nullopt;
  auto len = parse_uint(bits, 255);
  if (!len) return std::nullopt;
  auto addr = IpAddr::parse(s.substr(0, slash));
  if (!addr || *len > addr->bits()) return std::nullopt;
  return IpPrefix{*addr, std::uint8_t(*len)};
}

bool is_secret_key(std::string_view key) {
  return key == "private_key" || key == "preshared_key";
}

// "line 3: invalid listen_port \"70000\"". Secret values never enter a message; long values
// are cut so a hostile request cannot make the log line huge.
Error bad_value(int line, std::string_view key, std::string_view value, int code = kErrInvalid) {
  std::string msg = "line " + std::to_string(line) + ": invalid " + std::string(key);
  if (!is_secret_key(key)) {
    constexpr std::size_t kMaxEcho = 64;
    msg += " \"";
    msg += value.substr(0, kMaxEcho);
    if (value.size() > kMaxEcho) msg += "...";
    msg += "\"";
  }
  return make_error(code, std::move(msg));
}

Error bad_key(int line, std::string_view what, std::string_view key) {
  constexpr std::size_t kMaxEcho = 64;
  std::string k(key.substr(0, kMaxEcho));
  if (key.size() > kMaxEcho) k += "...";
  return make_error(kErrInvalid, "line " + std::to_string(line) + ": " + std::string(what) + " \"" +
                                     k + "\"");
}

Error no_equals(int line) {
  return make_error(kErrProtocol, "line " + std::to_string(line) + ": no '=' in line");
}

// Built in a SecretString: get answers and set requests carry keys, and a growing string would
// otherwise leave copies of them in the blocks it frees.
void put(SecretString& out, std::string_view key, std::string_view value) {
  out.append(key);
  out += '=';
  out.append(value);
  out += '\n';
}

void put_key(SecretString& out, std::string_view key, const Key& k) {
  static constexpr char kHex[] = "0123456789abcdef";
  char hex[2 * kKeyLen];
  for (std::size_t i = 0; i < kKeyLen; ++i) {
    hex[2 * i] = kHex[k[i] >> 4];
    hex[2 * i + 1] = kHex[k[i] & 15];
  }
  put(out, key, std::string_view(hex, sizeof hex));
  secure_zero(hex, sizeof hex);
}

void put_num(SecretString& out, std::string_view key, std::uint64_t v) {
  char buf[24];
  auto [ptr, ec] = std::to_chars(buf, buf + sizeof buf, v);
  (void)ec;
  put(out, key, std::string_view(buf, std::size_t(ptr - buf)));
}

// The public key for a private key, or nullopt when libcrypto fails.
std::optional<Key> derive_public(const Key& priv) {
  Key pub;
  if (!crypto::x25519_public(pub, priv)) return std::nullopt;
  return pub;
}

}  // namespace

Result<DeviceUpdate> parse_set(std::string_view body) {
  DeviceUpdate u;
  LineReader lines(body);
  std::string_view line;
  PeerUpdate* peer = nullptr;  // the block being filled; nullptr while in the device section
  bool peer_removed = false;   // remove=true seen in this block: later lines only validated

  while (lines.next(line)) {
    const int n = lines.number();
    if (line.empty()) break;  // the blank line that ends a request
    auto eq = line.find('=');
    if (eq == std::string_view::npos) return no_equals(n);
    auto key = line.substr(0, eq);
    auto value = line.substr(eq + 1);

    if (key == "public_key") {
      auto k = key_from_hex(value);
      if (!k) return bad_value(n, key, value);
      u.peers.push_back(PeerUpdate{});
      peer = &u.peers.back();
      peer->public_key = *k;
      peer_removed = false;
      continue;
    }

    if (!peer) {
      if (key == "private_key") {
        auto k = key_from_hex(value);
        if (!k) return bad_value(n, key, value);
        u.private_key = *k;
      } else if (key == "listen_port") {
        auto v = parse_uint(value, 0xffff);
        if (!v) return bad_value(n, key, value);
        u.listen_port = std::uint16_t(*v);
      } else if (key == "fwmark") {
        auto v = parse_uint(value, 0xffffffffu);
        if (!v) return bad_value(n, key, value);
        u.fwmark = std::uint32_t(*v);
      } else if (key == "replace_peers") {
        if (value != "true") return bad_value(n, key, value);
        u.replace_peers = true;
      } else {
        return bad_key(n, "invalid UAPI device key", key);
      }
      continue;
    }

    // Peer keys. Every value is validated even in a removed block, as wireguard-go does.
    PeerUpdate scratch;
    PeerUpdate& p = peer_removed ? scratch : *peer;
    if (key == "update_only") {
      if (value != "true") return bad_value(n, key, value);
      p.update_only = true;
    } else if (key == "remove") {
      if (value != "true") return bad_value(n, key, value);
      if (!peer_removed) {
        Key pub = peer->public_key;
        *peer = PeerUpdate{};
        peer->public_key = pub;
        peer->remove = true;
        peer_removed = true;
      }
    } else if (key == "preshared_key") {
      auto k = key_from_hex(value);
      if (!k) return bad_value(n, key, value);
      p.preshared_key = *k;
    } else if (key == "endpoint") {
      auto e = Endpoint::parse(value);
      if (!e) return bad_value(n, key, value);
      p.endpoint = *e;
    } else if (key == "persistent_keepalive_interval") {
      auto v = parse_uint(value, 0xffff);
      if (!v) return bad_value(n, key, value);
      p.persistent_keepalive_interval = std::uint16_t(*v);
    } else if (key == "replace_allowed_ips") {
      if (value != "true") return bad_value(n, key, value);
      p.allowed_ips.push_back(AllowedIpOp{AllowedIpOp::Kind::kReplaceAll, {}});
    } else if (key == "allowed_ip") {
      bool remove = !value.empty() && value[0] == '-';
      auto prefix = parse_prefix(remove ? value.substr(1) : value);
      if (!prefix) return bad_value(n, key, value);
      p.allowed_ips.push_back(
          AllowedIpOp{remove ? AllowedIpOp::Kind::kRemove : AllowedIpOp::Kind::kAdd, *prefix});
    } else if (key == "protocol_version") {
      if (value != "1") return bad_value(n, key, value);
      p.protocol_version = 1;
    } else {
      return bad_key(n, "invalid UAPI peer key", key);
    }
  }
  return u;
}

std::string format_set(const DeviceUpdate& u) {
  SecretString out;
  if (u.private_key) put_key(out, "private_key", *u.private_key);
  if (u.listen_port) put_num(out, "listen_port", *u.listen_port);
  if (u.fwmark) put_num(out, "fwmark", *u.fwmark);
  if (u.replace_peers) put(out, "replace_peers", "true");
  for (const auto& p : u.peers) {
    put_key(out, "public_key", p.public_key);
    if (p.remove) {
      put(out, "remove", "true");
      continue;
    }
    // update_only first, so that wireguard-go never creates the peer even transiently.
    if (p.update_only) put(out, "update_only", "true");
    if (p.protocol_version) put_num(out, "protocol_version", std::uint64_t(*p.protocol_version));
    if (p.preshared_key) put_key(out, "preshared_key", *p.preshared_key);
    if (p.endpoint && p.endpoint->valid()) put(out, "endpoint", p.endpoint->to_string());
    if (p.persistent_keepalive_interval)
      put_num(out, "persistent_keepalive_interval", *p.persistent_keepalive_interval);
    for (const auto& op : p.allowed_ips) {
      switch (op.kind) {
        case AllowedIpOp::Kind::kReplaceAll:
          put(out, "replace_allowed_ips", "true");
          break;
        case AllowedIpOp::Kind::kAdd:
          put(out, "allowed_ip", op.prefix.to_string());
          break;
        case AllowedIpOp::Kind::kRemove:
          put(out, "allowed_ip", "-" + op.prefix.to_string());
          break;
      }
    }
  }
  return std::string(out.data(), out.size());
}

std::string format_get(const DeviceState& s) {
  SecretString out;
  out.reserve(200 + s.peers.size() * 400);
  if (s.private_key && !s.private_key->is_zero()) put_key(out, "private_key", *s.private_key);
  if (s.listen_port) put_num(out, "listen_port", s.listen_port);
  if (s.fwmark) put_num(out, "fwmark", s.fwmark);
  // Extension keys: stock `wg` skips keys it does not know, so counters cost it nothing.
  for (const auto& [reason, n] : s.drops) put_num(out, std::string(kDropKeyPrefix) + reason, n);
  const Key zero;
  for (const auto& p : s.peers) {
    put_key(out, "public_key", p.public_key);
    put_key(out, "preshared_key", p.preshared_key ? *p.preshared_key : zero);
    put_num(out, "protocol_version", std::uint64_t(p.protocol_version));
    if (p.endpoint && p.endpoint->valid()) put(out, "endpoint", p.endpoint->to_string());
    put_num(out, "last_handshake_time_sec", std::uint64_t(p.last_handshake_time_sec));
    put_num(out, "last_handshake_time_nsec", std::uint64_t(p.last_handshake_time_nsec));
    put_num(out, "tx_bytes", p.tx_bytes);
    put_num(out, "rx_bytes", p.rx_bytes);
    put_num(out, "persistent_keepalive_interval", p.persistent_keepalive_interval);
    for (const auto& [reason, n] : p.drops) put_num(out, std::string(kDropKeyPrefix) + reason, n);
    for (const auto& a : p.allowed_ips) put(out, "allowed_ip", a.to_string());
  }
  return std::string(out.data(), out.size());
}

Result<DeviceState> parse_get(std::string_view text) {
  DeviceState s;
  LineReader lines(text);
  std::string_view line;
  PeerState* peer = nullptr;
  bool saw_errno = false;
  constexpr auto kI64Max = std::uint64_t(std::numeric_limits<std::int64_t>::max());

  while (lines.next(line)) {
    const int n = lines.number();
    if (line.empty()) {
      // The blank line closes the answer; nothing may follow it.
      if (!lines.rest().empty())
        return make_error(kErrProtocol, "line " + std::to_string(n) + ": data after end of answer");
      break;
    }
    if (saw_errno)
      return make_error(kErrProtocol, "line " + std::to_string(n) + ": data after errno line");
    auto eq = line.find('=');
    if (eq == std::string_view::npos) return no_equals(n);
    auto key = line.substr(0, eq);
    auto value = line.substr(eq + 1);

    if (key == "errno") {
      bool neg = !value.empty() && value[0] == '-';
      auto v = parse_uint(neg ? value.substr(1) : value, 0x7fffffff);
      if (!v) return bad_value(n, key, value, kErrProtocol);
      if (*v != 0) {
        int code = int(*v);
        return make_error(code, "get answered errno=" + std::string(value));
      }
      saw_errno = true;
      continue;
    }
    if (key == "public_key") {
      auto k = key_from_hex(value);
      if (!k) return bad_value(n, key, value);
      s.peers.push_back(PeerState{});
      peer = &s.peers.back();
      peer->public_key = *k;
      continue;
    }
    if (key == "private_key" || key == "listen_port" || key == "fwmark") {
      if (peer) return bad_key(n, "device key inside a peer", key);
      if (key == "private_key") {
        auto k = key_from_hex(value);
        if (!k) return bad_value(n, key, value);
        if (k->is_zero()) {
          s.private_key.reset();
          s.public_key.reset();
        } else {
          s.private_key = *k;
          s.public_key = derive_public(*k);
          if (!s.public_key) return make_error(kErrIo, "x25519 public key derivation failed");
        }
      } else if (key == "listen_port") {
        auto v = parse_uint(value, 0xffff);
        if (!v) return bad_value(n, key, value);
        s.listen_port = std::uint16_t(*v);
      } else {
        auto v = parse_uint(value, 0xffffffffu);
        if (!v) return bad_value(n, key, value);
        s.fwmark = std::uint32_t(*v);
      }
      continue;
    }

    if (key.substr(0, kDropKeyPrefix.size()) == kDropKeyPrefix) {
      auto v = parse_uint(value, ~std::uint64_t(0));
      if (!v) return bad_value(n, key, value);
      (peer ? peer->drops : s.drops).emplace_back(std::string(key.substr(kDropKeyPrefix.size())), *v);
      continue;
    }
    bool peer_key = key == "preshared_key" || key == "protocol_version" || key == "endpoint" ||
                    key == "last_handshake_time_sec" || key == "last_handshake_time_nsec" ||
                    key == "tx_bytes" || key == "rx_bytes" ||
                    key == "persistent_keepalive_interval" || key == "allowed_ip";
    if (!peer_key) continue;  // an extension we do not know: skipped, as `wg` does
    if (!peer) return bad_key(n, "peer key before any public_key", key);

    if (key == "preshared_key") {
      auto k = key_from_hex(value);
      if (!k) return bad_value(n, key, value);
      if (k->is_zero())
        peer->preshared_key.reset();
      else
        peer->preshared_key = *k;
    } else if (key == "protocol_version") {
      auto v = parse_uint(value, 0x7fffffff);
      if (!v) return bad_value(n, key, value);
      peer->protocol_version = int(*v);
    } else if (key == "endpoint") {
      auto e = Endpoint::parse(value);
      if (!e) return bad_value(n, key, value);
      peer->endpoint = *e;
    } else if (key == "last_handshake_time_sec") {
      auto v = parse_uint(value, kI64Max);
      if (!v) return bad_value(n, key, value);
      peer->last_handshake_time_sec = std::int64_t(*v);
    } else if (key == "last_handshake_time_nsec") {
      auto v = parse_uint(value, kI64Max);
      if (!v) return bad_value(n, key, value);
      peer->last_handshake_time_nsec = std::int64_t(*v);
    } else if (key == "tx_bytes") {
      auto v = parse_uint(value, ~std::uint64_t(0));
      if (!v) return bad_value(n, key, value);
      peer->tx_bytes = *v;
    } else if (key == "rx_bytes") {
      auto v = parse_uint(value, ~std::uint64_t(0));
      if (!v) return bad_value(n, key, value);
      peer->rx_bytes = *v;
    } else if (key == "persistent_keepalive_interval") {
      auto v = parse_uint(value, 0xffff);
      if (!v) return bad_value(n, key, value);
      peer->persistent_keepalive_interval = std::uint16_t(*v);
    } else {  // allowed_ip
      auto p = parse_prefix(value);
      if (!p) return bad_value(n, key, value);
      peer->allowed_ips.push_back(*p);
    }
  }
  return s;
}

std::string format_errno(int positive_code) {
  if (positive_code == 0) return "errno=0\n\n";
  return "errno=-" + std::to_string(positive_code < 0 ? -positive_code : positive_code) + "\n\n";
}

}  // namespace wgcore::uapi
