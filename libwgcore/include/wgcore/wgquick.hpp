// wg-quick(8) configuration files: parse the [Interface]/[Peer] format with wg's and wg-quick's
// acceptance rules, turn it into a DeviceUpdate (what `wg setconf` would apply) plus the
// wg-quick-only settings, and write it back (SaveConfig, exports). No I/O except load/save.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "wgcore/config.hpp"
#include "wgcore/ip.hpp"
#include "wgcore/key.hpp"
#include "wgcore/result.hpp"

namespace wgcore::config {

// "Table = off | auto | NUMBER | NAME" (a name from /etc/iproute2/rt_tables, resolved by the
// caller).
struct RouteTable {
  enum class Kind : std::uint8_t { kAuto, kOff, kId, kName };
  Kind kind = Kind::kAuto;
  std::uint32_t id = 0;
  std::string name;
  // wg-quick's values (a table id is 1..2^32-1; a name is letters, digits, '_', '-', '.'), as
  // the wg-quick parser and the NetworkManager profile read them; nothing when it is none.
  static std::optional<RouteTable> parse(std::string_view v);
  std::string to_string() const;
  friend bool operator==(const RouteTable&, const RouteTable&) = default;
};

// "Endpoint = host:port" / "[v6]:port", kept unresolved: a hostname is the caller's to resolve
// (getaddrinfo), as wg does when it applies the file.
struct EndpointSpec {
  std::string host;  // without brackets
  std::uint16_t port = 0;
  std::string to_string() const;  // brackets around hosts containing ':'
  friend bool operator==(const EndpointSpec&, const EndpointSpec&) = default;
};

struct WgQuickPeer {
  Key public_key;
  std::optional<Key> preshared_key;
  std::vector<IpPrefix> allowed_ips;      // as written, in order
  std::optional<EndpointSpec> endpoint;
  std::optional<std::uint16_t> persistent_keepalive;  // 0 = off
  int line = 0;                           // where its [Peer] header is (for messages)
};

struct WgQuickConfig {
  // The part `wg setconf` applies.
  std::optional<Key> private_key;
  std::optional<std::uint16_t> listen_port;
  std::optional<std::uint32_t> fwmark;    // 0 = off
  std::vector<WgQuickPeer> peers;
  // wg-quick's additions to [Interface].
  std::vector<IpPrefix> addresses;        // as written ("203.0.113.1/24"; bare = /32, /128)
  std::vector<IpAddr> dns;                // DNS servers
  std::vector<std::string> dns_search;    // DNS search domains
  std::optional<unsigned> mtu;
  std::optional<RouteTable> table;
  std::vector<std::string> pre_up, post_up, pre_down, post_down;
  bool save_config = false;
};

// Parses a file's text. `file` names it in errors: "FILE:LINE: KEY: message".
Result<WgQuickConfig> parse_wgquick(std::string_view text, std::string_view file);
// Reads and parses a file.
Result<WgQuickConfig> load_wgquick(const std::string& path);

// The canonical text: [Interface] with Address, DNS (servers, then search domains), MTU, Table,
// SaveConfig, PreUp, PostUp, PreDown, PostDown, ListenPort, FwMark, PrivateKey, then each peer
// (PublicKey, PresharedKey, AllowedIPs, Endpoint, PersistentKeepalive) after a blank line: the
// layout `wg-quick save` writes. parse_wgquick(format_wgquick(c)) equals c, and a file already
// in this layout comes back byte for byte.
std::string format_wgquick(const WgQuickConfig& config);
// Writes format_wgquick(config) to path atomically (temporary file + rename) with mode 0600.
Status save_wgquick(const std::string& path, const WgQuickConfig& config);

// Resolves an endpoint to a numeric one. The default accepts numeric hosts only.
using Resolver = std::function<Result<Endpoint>(const EndpointSpec&)>;
Result<Endpoint> resolve_numeric(const EndpointSpec& spec);
// Numeric hosts as they are; names through getaddrinfo (the first usable address), retrying a
// temporary failure (EAI_AGAIN) up to eagain_retries times a second apart. Blocks. The error
// message is the resolver's own ("Name or service not known"); callers add the host and their
// own wording.
Result<Endpoint> resolve_system(const EndpointSpec& spec, int eagain_retries);

// The pieces of the format other readers of the same values share (NM profiles, networkd).
// FwMark as wg reads it (strtoul base 0: decimal or 0x hex) plus "off" = 0; and as wg-quick
// save writes it ("off" or 0x hex).
std::optional<std::uint32_t> parse_fwmark(std::string_view s);
std::string format_fwmark(std::uint32_t mark);
// "host:port" or "[v6]:port", the last ':' separating the port, as wg splits it.
std::optional<EndpointSpec> parse_endpoint_spec(std::string_view s);
// wg-quick's DNS= rule: ^[0-9.]+$ or anything with ':' is a server, else a search domain.
bool is_dns_server_word(std::string_view w);
// What `wg setconf` would apply: replace_peers, each peer's allowed IPs replaced, keys, port,
// fwmark and keepalive as given.
Result<DeviceUpdate> to_device_update(const WgQuickConfig& config,
                                      const Resolver& resolve = resolve_numeric);

// wg-quick's naming rule: "wg0" means /etc/wireguard/wg0.conf; a path must end in
// NAME.conf with NAME 1-15 of [a-zA-Z0-9_=+.-]. Sets the interface name and the file path.
struct ConfigLocation {
  std::string path;
  std::string interface;
};
Result<ConfigLocation> locate_config(const std::string& conf_or_iface,
                                     const std::string& dir = "/etc/wireguard");
bool valid_interface_name(std::string_view name);

}  // namespace wgcore::config
