// frr-wgd's configuration: an FRR-style file (frr-wgd.conf) naming the WireGuard interfaces, their
// peers by public key, the prefix-lists and limits of the trust policy, where routes come from
// (FPM or an rtnetlink watch) and how AllowedIPs are exported. Parsing only; no I/O besides
// reading the file. Errors name file:line and the offending token.
#pragma once

#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "routing/policy.hpp"
#include "wgcore/ip.hpp"
#include "wgcore/key.hpp"
#include "wgcore/result.hpp"

namespace wgcore::frrwgd {

// Not one of FRR's protocol numbers (zebra 11, babel 42, bgp 186 ... srte 198; see FRR's
// zebra/rt_netlink.h): zebra treats routes with its own numbers as leftovers and deletes them.
inline constexpr std::uint8_t kDefaultExportProtocol = 252;
inline constexpr std::uint32_t kDefaultExportTable = 10;
inline constexpr std::uint16_t kDefaultFpmPort = 2620;
inline constexpr const char* kDefaultConfigPath = "/etc/frr/frr-wgd.conf";
inline constexpr const char* kDefaultControlSocket = "/run/frr-wgd/frr-wgd.sock";
inline constexpr const char* kDefaultStateDirectory = "/run/frr-wgd";

struct PeerConfig {
  std::string name;
  Key public_key;
  std::vector<IpAddr> tunnel_addresses;  // BGP nexthops that identify the peer
  std::string prefix_list_v4;
  std::string prefix_list_v6;
  std::uint32_t max_prefixes = 0;
  std::uint32_t warn_prefixes = 0;
  bool allow_default = false;
  bool approval = false;
  // The peer's AS for `show frr-config`'s `neighbor ... remote-as`: a number, "external" (the
  // default: any AS but ours) or "internal".
  std::string remote_as = "external";
  int line = 0;
  routing::policy::PeerPolicy policy() const;
  friend bool operator==(const PeerConfig&, const PeerConfig&) = default;
};

struct InterfaceConfig {
  std::string name;
  std::vector<PeerConfig> peers;  // config order: also the ECMP tie-break order
  bool export_enabled = false;
  std::uint32_t export_table = kDefaultExportTable;  // IPv4; IPv6 exports go to the main table
  int line = 0;
  const PeerConfig* find_peer(const Key& key) const;
  const PeerConfig* find_peer(std::string_view name_or_key) const;
  friend bool operator==(const InterfaceConfig&, const InterfaceConfig&) = default;
};

enum class ImportSource : std::uint8_t { kNone, kFpm, kRtnetlink };

struct Config {
  std::string path;
  std::vector<InterfaceConfig> interfaces;
  std::vector<routing::policy::PrefixList> prefix_lists;
  ImportSource import = ImportSource::kNone;
  IpAddr fpm_address = IpAddr::v4(0x7f000001);
  std::uint16_t fpm_port = kDefaultFpmPort;
  // zebra marks no end of its replay: it is taken as over after sweep_delay_ms without a
  // message, and not before replay_hold_ms after the connection (after a restart of FRR, bgpd
  // hands zebra its routes only once its sessions are up again).
  std::uint32_t sweep_delay_ms = 2000;
  std::uint32_t replay_hold_ms = 10000;
  std::set<std::uint8_t> watch_protocols;   // rtnetlink watch: RTPROT numbers
  std::uint8_t export_protocol = kDefaultExportProtocol;
  std::uint32_t refresh_interval_ms = 5000; // re-read device facts (endpoints, static AllowedIPs)
  std::string control_socket = kDefaultControlSocket;
  std::string state_directory = kDefaultStateDirectory;
  std::optional<std::uint32_t> bgp_asn;     // only for `show frr-config`
  // frr-vtysh PATH [vty-socket DIR]: frr-wgd keeps the FRR-WGD-* prefix-lists and route-maps of
  // `show frr-config` in step itself, through this vtysh (after start, reload, fact changes).
  std::string frr_vtysh;
  std::string frr_vty_socket;

  const InterfaceConfig* find_interface(std::string_view name) const;
};

// Parses the text of a configuration file; `path` is used in error messages only.
Result<Config> parse_config(std::string_view text, const std::string& path);
Result<Config> load_config(const std::string& path);

// The control socket a configuration names (its last `control-socket` line), found without
// parsing the rest: the client needs only this, and a typo elsewhere in the file must not keep
// `show` or `reload` from reaching the daemon, which validates and logs. The default when the
// file is missing, unreadable or names none.
std::string control_socket_of(const std::string& path);

// Renders a prefix-list line as FRR prints it ("ip prefix-list NAME seq 10 permit ...").
std::string prefix_list_line(const routing::policy::PrefixList& list,
                             const routing::policy::PrefixListEntry& entry);

}  // namespace wgcore::frrwgd
