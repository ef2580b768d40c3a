// A .netdev file (with its drop-ins) as systemd-networkd 252 reads it, for Kind=wireguard: the
// [Match] conditions, [NetDev] and the [WireGuard]/[WireGuardPeer] settings of systemd.netdev(5),
// with networkd's acceptance rules and messages (an invalid value drops that assignment, a peer
// without PublicKey drops that peer, no usable private key drops the netdev). Pure: key files
// are read through an injectable reader so the fuzzer and unit tests need no filesystem.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "wgcore/wgquick.hpp"
#include "diagnostics.hpp"
#include "wgcore/ip.hpp"
#include "wgcore/key.hpp"
#include "wgcore/result.hpp"

namespace wgcore::networkd {

struct PeerConfig {
  std::optional<Key> public_key;
  std::optional<Key> preshared_key;
  std::string preshared_key_file;              // absolute path; wins over PresharedKey=
  std::vector<IpPrefix> allowed_ips;           // masked to their prefix, in order
  std::optional<config::EndpointSpec> endpoint;  // hostname or literal, resolved by the daemon
  std::uint16_t persistent_keepalive = 0;      // 0 = off
  std::optional<std::uint32_t> route_table;    // set here: overrides [WireGuard] (0 = off)
  std::optional<std::uint32_t> route_metric;
  std::string file;                            // where its [WireGuardPeer] section starts
  unsigned line = 0;
};

struct WireGuardNetdev {
  std::string name;
  std::string description;
  std::optional<unsigned> mtu;                 // MTUBytes=
  std::optional<Key> private_key;
  std::string private_key_file;                // absolute path; wins over PrivateKey=
  std::uint16_t listen_port = 0;               // 0 = "auto": the kernel picks, as networkd does
  std::uint32_t fwmark = 0;
  std::uint32_t route_table = 0;               // 0 = no routes for AllowedIPs (the default)
  std::uint32_t route_metric = 0;
  std::vector<PeerConfig> peers;
  std::string file;                            // the main .netdev file
  std::vector<std::string> dropins;
};

// One condition of [Match]: KEY=[!]VALUE.
struct Condition {
  std::string key;
  std::string value;
  bool negate = false;
};

// What conditions are tested against (the daemon fills it from the running system).
struct MatchEnvironment {
  std::string hostname;
  std::string machine_id;
  std::string kernel_cmdline;
  std::string architecture;   // systemd's names: x86-64, arm64, ...
  std::string kernel_release; // uname -r
};
MatchEnvironment current_environment();

// The parse of one netdev (main file + drop-ins, in that order).
struct NetdevParse {
  std::string kind;
  std::string name;
  std::vector<Condition> conditions;
  std::optional<WireGuardNetdev> wireguard;    // set when Kind=wireguard and the file loaded
};

struct SourceText {
  std::string path;
  std::string text;
};

// Parses the texts in order (main file first). Returns nothing when networkd would ignore the
// file entirely (syntax error, no Name=/Kind=); diagnostics explain.
std::optional<NetdevParse> parse_netdev(const std::vector<SourceText>& sources, Diagnostics& diags);

// Evaluates [Match]: every condition must hold (networkd: "Conditions in the file do not match
// the system environment, skipping.").
bool conditions_match(const std::vector<Condition>& conditions, const MatchEnvironment& env,
                      Diagnostics& diags, const std::string& file);

// Reads a key file the way networkd does (whitespace ignored, base64, exactly 32 bytes; an
// AF_UNIX stream socket is connected to and read). Injectable for tests.
using KeyFileReader = std::function<Result<Key>(const std::string& path)>;
Result<Key> read_key_file(const std::string& path);

// networkd's wireguard_verify(): reads PrivateKeyFile=/PresharedKeyFile=, drops peers without
// PublicKey= or with an unreadable PresharedKeyFile=, and fails the netdev without a private
// key. On failure the netdev must not be created.
bool verify_wireguard(WireGuardNetdev& wg, Diagnostics& diags,
                      const KeyFileReader& reader = read_key_file);

// Parsers shared with the tests: route tables ("off"/false -> 0, "main", "default", "local",
// numbers) and sizes with K/M/G suffixes (base 1024).
std::optional<std::uint32_t> parse_route_table(const std::string& s);
std::optional<std::uint64_t> parse_size(const std::string& s);
bool valid_ifname(const std::string& s);

}  // namespace wgcore::networkd
