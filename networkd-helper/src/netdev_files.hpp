// Finding .netdev files the way systemd-networkd does (systemd.netdev(5)): the search path
// /etc, /run, /usr/local/lib, /usr/lib (each + systemd/network) in that priority, one file per
// name (the highest-priority directory wins), masking by an empty file or a /dev/null symlink,
// and drop-ins NAME.netdev.d/*.conf from every directory, sorted by file name, a same-named
// drop-in taken from the highest-priority directory.
#pragma once

#include <string>
#include <vector>

#include "diagnostics.hpp"
#include "netdev.hpp"

namespace wgcore::networkd {

// The drop-in this program writes to /run/systemd/network/NAME.netdev.d/ so that networkd
// skips the netdevs wgcore-networkd serves (networkd would otherwise refuse the link: a TUN
// device is not of kind "wireguard"). Never read back by us.
inline constexpr const char* kHideDropin = "99-wgcore-networkd.conf";

struct SearchPath {
  std::vector<std::string> dirs;  // highest priority first
  std::string run_dir;            // where the hide drop-ins go (the /run entry)
  // networkd's directories under `root` ("" = the real system).
  static SearchPath networkd(const std::string& root = "");
};

struct NetdevFile {
  std::string basename;               // "10-wg0.netdev"
  std::string path;                   // the winning main file
  std::vector<std::string> dropins;   // in application order
};

// Every unmasked .netdev, sorted by basename (networkd's processing order).
std::vector<NetdevFile> find_netdev_files(const SearchPath& sp);

// Reads a file and its drop-ins and parses them. Unreadable files are reported and skipped.
std::optional<NetdevParse> load_netdev(const NetdevFile& f, Diagnostics& diags);

// The result of loading the whole search path: the wireguard netdevs we serve (verified) and
// the basenames of every Kind=wireguard file whose [Match] holds (to hide from networkd).
struct LoadResult {
  std::vector<WireGuardNetdev> netdevs;
  std::vector<std::string> wireguard_files;  // basenames
};
LoadResult load_all(const SearchPath& sp, const MatchEnvironment& env, Diagnostics& diags,
                    const KeyFileReader& reader = read_key_file);

}  // namespace wgcore::networkd
