// The daemon: serves every Kind=wireguard netdev of networkd's search path. Start loads the
// files, hides them from networkd (a /run drop-in it skips), creates each device and applies
// its configuration; reload applies only the differences; a periodic tick retries failed
// resolutions, re-resolves hostnames, keeps the AllowedIPs routes in place and recreates
// devices that disappeared. One netdev failing never stops the others.
#pragma once

#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "wgcore/log.hpp"
#include "wgcore/backend.hpp"
#include "wgcore/interface.hpp"
#include "netdev.hpp"
#include "netdev_files.hpp"
#include "networkd_bus.hpp"
#include "plan.hpp"

namespace wgcore::networkd {

struct DaemonOptions {
  SearchPath search = SearchPath::networkd();
  BackendChoice backend = BackendChoice::kAuto;
  bool use_bus = true;                       // talk to networkd (ReconfigureLink)
  bool hide_from_networkd = true;            // write the /run drop-ins
  std::chrono::seconds reresolve{300};       // hostname endpoints: re-resolution interval
  std::chrono::seconds retry{5};             // after a failed resolution or device creation
};

class Daemon {
 public:
  explicit Daemon(DaemonOptions opts) : opts_(std::move(opts)) {}
  ~Daemon();

  void start();
  void reload();
  void tick();   // call about once a second
  // The configuration directories changed (DirWatch): reload, then have systemd-networkd read
  // its files again and reconfigure our links, so the administrator's `networkctl reload`
  // (before or after our reload) is all it takes, and a link networkd gave up on recovers.
  void files_changed();
  // A route was deleted or a link changed: the next tick compares routes at once.
  void check_routes_now() { next_route_check_ = Clock::time_point{}; }
  void stop();   // removes devices and the routes we added
  std::string status_line() const;  // for STATUS=

 private:
  using Clock = std::chrono::steady_clock;
  struct Served {
    WireGuardNetdev cfg;
    std::string basename;                  // of the .netdev, to tell "broken" from "removed"
    ResolvedEndpoints endpoints;
    std::unique_ptr<Interface> host;
    std::vector<PeerRoute> routes;         // installed by us
    std::set<PeerRoute> route_failures;    // already warned about (checked every second)
    Clock::time_point next_resolve{};
    Clock::time_point next_create{};
    int reconfigure_tries = 0;             // ReconfigureLink attempts left after creation
    // Created after networkd may have read its .netdev (a new file and `networkctl reload`):
    // networkd then holds a failed netdev of that name and refuses our link ("wrong KIND tun").
    // Deleting the link makes it drop that netdev; the link is created once more.
    bool recreate_if_unknown = false;
    int create_failures = 0;               // consecutive: the retry delay doubles up to 60 s
  };

  void load(std::vector<WireGuardNetdev>& netdevs, std::vector<std::string>& files);
  void write_hide_dropins(const std::vector<std::string>& files);
  void bring_up(Served& s);
  ResolvedEndpoints resolve_all(Served& s, bool log_failures);
  void sync_routes(Served& s, bool remove_all = false);
  void try_reconfigure(Served& s);
  // Manager.Reload over the bus; false (logged at `failure`) when networkd cannot be asked.
  bool networkd_reload(log::Prio failure);
  static std::string basename_of(const std::string& path);

  DaemonOptions opts_;
  std::map<std::string, Served> served_;   // by interface name
  std::unique_ptr<NetworkdBus> bus_;
  Clock::time_point next_route_check_{};
};

}  // namespace wgcore::networkd
