// The frr-wgd daemon: libwgcore's event loop (wgcore::EventLoop) wiring the route feed (FPM
// server or rtnetlink watch), the trust policy engine, the WireGuard interfaces (Control API),
// the export routes, the control socket, the vtysh pushes and signals (SIGHUP reload,
// SIGTERM/SIGINT stop) through signalfd. Every file descriptor is registered once, when it is
// opened, and removed before it is closed (but the FPM connection, which FpmServer closes
// before it says so: its registration goes in the disconnected callback); timers carry the
// refresh and the end of zebra's replay. Logic lives in the small modules it calls (importer, allowed_sync, exporter, config);
// this file sequences them.
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "allowed_sync.hpp"
#include "config.hpp"
#include "control_socket.hpp"
#include "frr_sync.hpp"
#include "importer.hpp"
#include "routing/netlink.hpp"
#include "routing/policy.hpp"
#include "routing/route.hpp"
#include "routing/route_feed.hpp"
#include "wgcore/control.hpp"
#include "wgcore/event_loop.hpp"

namespace wgcore::frrwgd {

using Clock = std::chrono::steady_clock;

struct Counters {
  std::uint64_t fpm_connects = 0;
  std::uint64_t fpm_disconnects = 0;
  std::uint64_t route_updates = 0;
  std::uint64_t feed_errors = 0;
  std::uint64_t sweeps = 0;
  std::uint64_t swept_routes = 0;
  std::uint64_t device_updates = 0;
  std::uint64_t device_errors = 0;
  std::uint64_t export_errors = 0;
  std::uint64_t reloads = 0;
  std::uint64_t reload_errors = 0;
  std::uint64_t frr_syncs = 0;        // vtysh pushes of FRR-WGD-* lists (frr-vtysh)
  std::uint64_t frr_sync_errors = 0;
};

// One WireGuard interface and everything frr-wgd keeps about it.
struct Site {
  InterfaceConfig cfg;
  std::unique_ptr<Control> control;
  int ifindex = 0;
  routing::policy::Engine engine;
  Importer importer{0, kDefaultExportProtocol};
  AllowedIps allowed;
  std::optional<routing::feed::RtnetlinkWatch> watch;
  int watch_fd = -1;  // watch's descriptor as registered with the daemon's loop
  routing::policy::Facts facts;
  std::vector<routing::Route> exported;   // our export routes as last synced
  std::string state_path;
  ImportsJournal journal{""};  // the imports state file at state_path
  bool synced = false;  // the first full replay has been swept: the engine is authoritative
  // Held back (max-prefixes, approval) and dropped by bgpd on our FRR-WGD-HOLD list: the route
  // left FPM, the engine keeps the offer until it would install it (release_held).
  std::set<std::pair<Key, IpPrefix>> held;
  bool holds = false;  // some peer has max-prefixes or approval: there are hold lists to keep
  bool holds_dirty = false;  // what the engine holds back may have changed since the last push
};

class Daemon {
 public:
  static Result<std::unique_ptr<Daemon>> start(Config cfg);
  ~Daemon();
  // Runs until SIGTERM/SIGINT; returns the exit status.
  int run();
  // One turn of the loop (tests drive the daemon with it): waits up to max_wait for something
  // to happen and handles it. False once a stop signal was taken.
  bool run_once(std::optional<Clock::duration> max_wait);
  // A control-socket request (also used by tests).
  Reply command(const std::vector<std::string>& args);
  // For tests and logs.
  const Counters& counters() const { return counters_; }
  bool replay_pending() const { return sweep_pending_; }

 private:
  Daemon() = default;
  Status open_site(const InterfaceConfig& ic);
  Status open_import();
  void close_import();
  // The loop's registrations, made when a descriptor opens and removed before it closes.
  Status watch(int fd, std::function<void()> on_readable);
  void unwatch(int& fd);  // and sets fd to -1
  // rtnetlink import: opens the site's watch, registers it and offers its first dump.
  Status start_watch(Site& s);
  // Routes from the site's watch, offered to its policy engine in one batch.
  void offer_routes(Site& s, const std::vector<routing::feed::RouteUpdate>& updates);
  void watch_site_feed(Site& s);
  void on_watch_readable(Site& s);
  void on_signal(int signo);
  void on_control();
  void on_refresh_timer();
  void on_sweep_timer();
  void start_frr_sync();
  void stop_frr_sync();
  std::vector<routing::policy::PeerPolicy> peer_policies(const InterfaceConfig& ic) const;
  std::vector<ImportPeer> import_peers(const InterfaceConfig& ic) const;

  // The engine's installs/removals onto the device (one update), and the state file.
  // Applies `u` to the device; on failure restores `before` as the view of it.
  // Applies `u` to the device: its adds journaled first, its removals after; on failure the
  // view goes back by `undo` (what planning `u` changed in it).
  bool commit(Site& s, const DeviceUpdate& u, AllowedIps::Undo& undo);
  void apply_changes(Site& s, std::vector<routing::policy::Change> changes, const char* why);
  // An install of a prefix bgpd dropped on our word cannot be applied (the route is gone): the
  // engine forgets the offer, the prefix leaves the hold list, and bgpd's route refresh brings it
  // back as a new offer if the peer still announces it. With `recheck` (reload, facts), also
  // every held offer the engine now refuses for another reason.
  void release_held(Site& s, std::vector<routing::policy::Change>& changes, bool recheck);
  void sync_holds(Site& s);  // the site's hold lists may have changed: push them
  // The policy's changes planned into one device update and committed (undone on failure).
  void install(Site& s, const std::vector<routing::policy::Change>& changes);
  void process_offers(Site& s, const std::vector<Offer>& offers);
  void on_routes(std::vector<routing::feed::RouteUpdate>& updates);
  void on_fpm_connected();
  void on_fpm_readable();
  void sweep_all();
  void sync_site(Site& s);  // first sweep done: make imports equal to the engine's
  void refresh(Site& s);
  // frr-vtysh: FRR's FRR-WGD-* prefix-lists (and, with route_maps, the route-maps) made equal to
  // the policy and the facts again.
  void sync_frr(bool route_maps);
  void frr_sync_done();  // the push started by sync_frr ended (its fd turned readable)
  // Answers the reloads that waited for the push that carries their change to FRR.
  void answer_frr_waiters(const std::string& note);
  void export_sync(Site& s);
  void remove_site(Site& s);
  void save_state(Site& s);
  void log_warnings(Site& s);
  Reply reload();
  Reply approve(const std::vector<std::string>& args);

  // show (daemon_show.cpp)
  Reply show(const std::vector<std::string>& args);
  std::string show_peers(bool json);
  std::string show_imported(bool json, bool pending);
  std::string show_refused(bool json);
  std::string show_exported(bool json);
  std::string show_counters(bool json);
  std::string show_policy(bool json);
  const PeerConfig* peer_config(const Site& s, const Key& k) const;

  Config cfg_;
  std::optional<FrrSync> frr_sync_;  // frr-vtysh set
  bool frr_sync_due_ = false;        // the last push failed (FRR not up yet?): retried each refresh
  bool frr_sync_pending_ = false;    // asked for while a push ran: started when it ends
  bool frr_sync_maps_ = false;       // the next push includes the route-maps
  std::string frr_sync_error_;       // the last complaint, logged once
  // `frr-wgd reload` answers once FRR has the new lists, so that a script's next vtysh command
  // sees them (and cannot be undone by a push still on its way).
  std::vector<std::pair<Request, Reply>> frr_waiters_;
  std::unique_ptr<EventLoop> loop_;
  EventLoop::TimerId refresh_timer_ = 0;
  EventLoop::TimerId sweep_timer_ = 0;
  std::optional<routing::Netlink> nl_;
  std::vector<std::unique_ptr<Site>> sites_;
  std::optional<routing::feed::FpmServer> fpm_;
  int fpm_listen_fd_ = -1;  // as registered with the loop
  int fpm_conn_fd_ = -1;
  int frr_sync_fd_ = -1;
  int control_fd_ = -1;
  bool stop_ = false;
  Counters counters_;
  // FPM replay tracking: sweep once no message came for sweep_delay after a (re)connect.
  bool sweep_pending_ = false;
  Clock::time_point last_feed_{};
  Clock::time_point connected_at_{};
  std::vector<routing::feed::RouteUpdate> pending_updates_;
};

// Addresses of this host (every interface), for the policy's "covers local" rule.
std::vector<IpAddr> local_addresses();

}  // namespace wgcore::frrwgd
