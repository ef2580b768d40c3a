// The wgcore-networkd daemon logic (see daemon.hpp).
#include "daemon.hpp"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <set>

#include "wgcore/log.hpp"
#include "notify.hpp"
#include "resolver.hpp"
#include "routing/link.hpp"
#include "routing/route.hpp"

namespace wgcore::networkd {

namespace fs = std::filesystem;

namespace {

constexpr unsigned kDefaultMtu = 1420;  // the kernel module's default, what networkd gets there

void log_diagnostics(const Diagnostics& d) {
  for (const auto& i : d.items())
    log::event(i.level == Diagnostic::Level::kError ? log::Prio::kErr : log::Prio::kWarning, "%s", i.text.c_str());
}

routing::Route to_route(const PeerRoute& r, const std::string& dev) {
  routing::Route x;
  x.dst = r.dst;
  x.dev = dev;
  x.table = r.table;
  x.metric = r.metric;
  x.protocol = routing::kProtoStatic;  // what networkd uses for these routes
  x.scope = 0;                         // RT_SCOPE_UNIVERSE
  return x;
}

}  // namespace

Daemon::~Daemon() { stop(); }

std::string Daemon::basename_of(const std::string& path) { return fs::path(path).filename().string(); }

void Daemon::load(std::vector<WireGuardNetdev>& netdevs, std::vector<std::string>& files) {
  Diagnostics d;
  auto r = load_all(opts_.search, current_environment(), d);
  log_diagnostics(d);
  netdevs = std::move(r.netdevs);
  files = std::move(r.wireguard_files);
}

// networkd refuses a link whose kind differs from its .netdev's ("Received newlink with wrong
// KIND tun, expected wireguard") and then never configures it; a [Match] that cannot hold makes
// it skip the netdev instead, so the user's .network applies to our device.
void Daemon::write_hide_dropins(const std::vector<std::string>& files) {
  if (!opts_.hide_from_networkd) return;
  std::set<std::string> want(files.begin(), files.end());
  for (const auto& f : files) {
    fs::path dir = fs::path(opts_.search.run_dir) / (f + ".d");
    std::error_code ec;
    fs::create_directories(dir, ec);
    fs::path p = dir / kHideDropin;
    std::ofstream out(p, std::ios::trunc);
    out << "# Written by wgcore-networkd, which serves this WireGuard netdev on the wgcore engine:\n"
           "# systemd-networkd must not create it (see wgcore-networkd(8)). Removed when the\n"
           "# .netdev goes away.\n[Match]\nHost=!*\n";
    if (!out) log::event(log::Prio::kErr, "Failed to write %s: networkd may refuse %s", p.c_str(), f.c_str());
  }
  // Stale ones (their .netdev was removed or is no longer wireguard).
  std::error_code ec;
  for (fs::directory_iterator it(opts_.search.run_dir, ec), end; !ec && it != end; it.increment(ec)) {
    std::string n = it->path().filename().string();
    if (n.size() < 10 || n.compare(n.size() - 9, 9, ".netdev.d") != 0) continue;
    if (want.count(n.substr(0, n.size() - 2))) continue;
    std::error_code ec2;
    fs::remove(it->path() / kHideDropin, ec2);
    fs::remove(it->path(), ec2);  // only when empty
  }
}

ResolvedEndpoints Daemon::resolve_all(Served& s, bool log_failures) {
  ResolvedEndpoints out;
  bool failed = false, hostname = false;
  for (const auto& p : s.cfg.peers) {
    if (!p.endpoint) continue;
    const std::string k = to_base64(*p.public_key);
    if (!endpoint_is_literal(*p.endpoint)) hostname = true;
    auto ep = resolve_endpoint(*p.endpoint);
    if (!ep) {
      failed = true;
      if (log_failures)
        log::event(log::Prio::kWarning, "%s: %s:%u: Endpoint=%s: %s, retrying in %llds", s.cfg.name.c_str(),
             p.file.c_str(), p.line, p.endpoint->to_string().c_str(), ep.error().message.c_str(),
             (long long)opts_.retry.count());
      // Keep the previous resolution, if any: better than none.
      if (auto it = s.endpoints.find(k); it != s.endpoints.end()) out[k] = it->second;
      continue;
    }
    out[k] = *ep;
  }
  auto now = Clock::now();
  if (failed) s.next_resolve = now + opts_.retry;
  else if (hostname) s.next_resolve = now + opts_.reresolve;
  else s.next_resolve = Clock::time_point::max();
  return out;
}

void Daemon::try_reconfigure(Served& s) {
  if (!opts_.use_bus || s.reconfigure_tries <= 0 || !s.host) return;
  if (!bus_) {
    auto b = NetworkdBus::open();
    if (!b) {
      log::event(log::Prio::kDebug, "%s: %s", s.cfg.name.c_str(), b.error().message.c_str());
      --s.reconfigure_tries;
      return;
    }
    bus_ = std::move(*b);
  }
  Status st = bus_->reconfigure(s.cfg.name);
  if (st) {
    log::event(log::Prio::kInfo, "%s: asked systemd-networkd to reconfigure the link", s.cfg.name.c_str());
    s.reconfigure_tries = 0;
    return;
  }
  // networkd may not know the link yet (it learns of it asynchronously): retried from tick().
  log::event(log::Prio::kDebug, "%s: %s", s.cfg.name.c_str(), st.error().message.c_str());
  if (s.recreate_if_unknown && st.error().message.find("not known") != std::string::npos) {
    // networkd answers but ignores the link: it holds the netdev it failed to create from this
    // file before our hide drop-in existed. Our link going away makes it drop that netdev
    // (RTM_DELLINK); the next tick creates the link again, which networkd then manages.
    log::event(log::Prio::kInfo,
               "%s: systemd-networkd read %s before it was hidden and holds a failed netdev of that name; "
               "re-creating the link so that it lets go",
               s.cfg.name.c_str(), s.cfg.file.c_str());
    s.recreate_if_unknown = false;
    s.host.reset();
    s.routes.clear();
    s.next_create = Clock::now();
    return;
  }
  if (--s.reconfigure_tries > 0) return;
  if (st.error().message.find("not known") != std::string::npos)
    // networkd answers but ignores the link: it loaded this .netdev before we hid it, and it
    // never forgets a loaded netdev ("Received newlink with wrong KIND tun").
    log::event(log::Prio::kWarning,
         "%s: systemd-networkd does not manage the link; it probably loaded %s before "
         "wgcore-networkd started. Restart systemd-networkd once.",
         s.cfg.name.c_str(), s.cfg.file.c_str());
  else
    log::event(log::Prio::kNotice, "%s: could not ask systemd-networkd to reconfigure the link: %s",
         s.cfg.name.c_str(), st.error().message.c_str());
}

void Daemon::bring_up(Served& s) {
  const unsigned mtu = s.cfg.mtu.value_or(kDefaultMtu);
  InterfaceOptions io;
  io.name = s.cfg.name;
  io.mtu = mtu;
  io.backend = opts_.backend;
  auto host = Interface::create(io);
  if (!host) {
    auto delay = std::min<std::chrono::seconds>(opts_.retry * (1 << std::min(s.create_failures, 6)),
                                                std::max<std::chrono::seconds>(opts_.retry, std::chrono::seconds(60)));
    ++s.create_failures;
    log::event(log::Prio::kErr, "%s: %s: Failed to create the WireGuard device: %s, retrying in %llds",
         s.cfg.name.c_str(), s.cfg.file.c_str(), host.error().message.c_str(),
         (long long)delay.count());
    s.next_create = Clock::now() + delay;
    return;
  }
  s.create_failures = 0;
  s.host = std::move(*host);
  s.routes.clear();
  s.endpoints = resolve_all(s, true);
  Status st = s.host->control().apply(full_update(s.cfg, s.endpoints));
  if (!st) {
    log::event(log::Prio::kErr, "%s: %s: Failed to configure the WireGuard device: %s", s.cfg.name.c_str(),
         s.cfg.file.c_str(), st.error().message.c_str());
    s.host.reset();
    s.next_create = Clock::now() + opts_.retry;
    return;
  }
  log::event(log::Prio::kInfo, "%s: created on the %s backend from %s (%zu peers)", s.cfg.name.c_str(),
       backend_choice_name(s.host->backend().backend), s.cfg.file.c_str(), s.cfg.peers.size());
  s.reconfigure_tries = 10;  // from tick(): after READY=1, when networkd may be running
  sync_routes(s);
}

void Daemon::sync_routes(Served& s, bool remove_all) {
  std::vector<PeerRoute> want = remove_all || !s.host ? std::vector<PeerRoute>{} : peer_routes(s.cfg);
  if (want.empty() && s.routes.empty()) return;
  auto nl = routing::Netlink::open();
  if (!nl) return;
  for (const auto& r : s.routes) {
    if (std::find(want.begin(), want.end(), r) != want.end()) continue;
    Status st = routing::delete_route(*nl, to_route(r, s.cfg.name));
    if (!st && st.error().code != ESRCH && st.error().code != ENODEV)
      log::event(log::Prio::kWarning, "%s: %s", s.cfg.name.c_str(), st.error().message.c_str());
  }
  s.routes.clear();
  if (want.empty()) return;
  // Routes need the link up, which networkd does when it applies the .network; until then (and
  // whenever something removed them) they are added again here.
  auto link = routing::get_link(*nl, s.cfg.name);
  if (!link || !link->up) return;
  std::map<std::pair<int, std::uint32_t>, std::vector<routing::Route>> present;
  for (const auto& r : want) {
    auto fam = r.dst.addr.family;
    auto key = std::make_pair(int(fam), r.table);
    if (!present.count(key)) {
      auto l = routing::list_routes(*nl, fam, r.table);
      present[key] = l ? *l : std::vector<routing::Route>{};
    }
    bool have = false;
    for (const auto& x : present[key])
      if (x.dst == r.dst && x.dev == s.cfg.name && x.metric.value_or(fam == IpAddr::Family::V4 ? 0 : 1024) == r.metric)
        have = true;
    if (!have) {
      Status st = routing::add_route(*nl, to_route(r, s.cfg.name));
      if (!st && st.error().code != EEXIST) {
        if (s.route_failures.insert(r).second)
          log::event(log::Prio::kWarning, "%s: Could not set route %s table %u metric %u: %s", s.cfg.name.c_str(),
               r.dst.to_string().c_str(), r.table, r.metric, st.error().message.c_str());
        continue;
      }
      s.route_failures.erase(r);
      if (st) log::event(log::Prio::kDebug, "%s: added route %s table %u", s.cfg.name.c_str(), r.dst.to_string().c_str(), r.table);
    }
    s.routes.push_back(r);
  }
}

void Daemon::start() {
  std::vector<WireGuardNetdev> netdevs;
  std::vector<std::string> files;
  load(netdevs, files);
  write_hide_dropins(files);
  // A networkd that is already running may have loaded these files before they were hidden
  // (a late start): have it read them again; a link it still refuses is re-created once (see
  // Served::recreate_if_unknown). At boot networkd is not up yet: nothing to say.
  (void)networkd_reload(log::Prio::kDebug);
  for (auto& w : netdevs) {
    Served s;
    s.basename = basename_of(w.file);
    s.cfg = std::move(w);
    std::string name = s.cfg.name;
    auto [it, _] = served_.emplace(name, std::move(s));
    bring_up(it->second);
    it->second.recreate_if_unknown = true;
  }
}

void Daemon::reload() {
  std::vector<WireGuardNetdev> netdevs;
  std::vector<std::string> files;
  load(netdevs, files);
  write_hide_dropins(files);
  std::set<std::string> seen;
  for (auto& w : netdevs) {
    seen.insert(w.name);
    auto it = served_.find(w.name);
    if (it == served_.end()) {
      Served s;
      s.basename = basename_of(w.file);
      s.cfg = std::move(w);
      auto [nit, _] = served_.emplace(s.cfg.name, std::move(s));
      bring_up(nit->second);
      continue;
    }
    Served& s = it->second;
    WireGuardNetdev old = std::move(s.cfg);
    s.cfg = std::move(w);
    s.basename = basename_of(s.cfg.file);
    if (!s.host) {
      bring_up(s);
      continue;
    }
    ResolvedEndpoints old_ep = s.endpoints;
    s.endpoints = resolve_all(s, true);
    DeviceUpdate u = diff_update(old, old_ep, s.cfg, s.endpoints);
    if (!update_is_empty(u)) {
      Status st = s.host->control().apply(u);
      if (!st) {
        log::event(log::Prio::kErr, "%s: %s: Failed to apply the changed configuration, keeping the previous one: %s",
             s.cfg.name.c_str(), s.cfg.file.c_str(), st.error().message.c_str());
        s.cfg = std::move(old);
        s.endpoints = old_ep;
        continue;
      }
      log::event(log::Prio::kInfo, "%s: applied changes from %s (%zu peer changes)", s.cfg.name.c_str(),
           s.cfg.file.c_str(), u.peers.size());
    }
    if (old.mtu != s.cfg.mtu) {
      if (Status st = s.host->set_mtu(s.cfg.mtu.value_or(kDefaultMtu)); !st)
        log::event(log::Prio::kWarning, "%s: %s", s.cfg.name.c_str(), st.error().message.c_str());
    }
    sync_routes(s);
  }
  std::set<std::string> file_set(files.begin(), files.end());
  std::set<std::string> loaded_files;  // basenames that loaded this time (perhaps renamed)
  for (const auto& [name, s] : served_)
    if (seen.count(name)) loaded_files.insert(s.basename);
  for (auto it = served_.begin(); it != served_.end();) {
    if (seen.count(it->first)) {
      ++it;
      continue;
    }
    if (file_set.count(it->second.basename) && !loaded_files.count(it->second.basename) &&
        it->second.host) {
      // The file is still there but no longer loads: keep what runs rather than cut the tunnel.
      log::event(log::Prio::kErr, "%s: %s no longer loads (see above); keeping the running configuration",
           it->first.c_str(), it->second.cfg.file.c_str());
      ++it;
      continue;
    }
    log::event(log::Prio::kInfo, "%s: netdev removed, removing the device", it->first.c_str());
    sync_routes(it->second, true);
    it = served_.erase(it);
  }
}

void Daemon::files_changed() {
  log::event(log::Prio::kInfo, "configuration files changed: reloading");
  std::set<std::string> before;
  for (const auto& [name, s] : served_)
    if (s.host) before.insert(name);
  reload();
  for (auto& [name, s] : served_)
    if (s.host && !before.count(name)) s.recreate_if_unknown = true;
  // networkd read the new files when the administrator ran `networkctl reload`, perhaps before
  // our hide drop-ins existed: it tried to create the netdev itself and failed. Reading them
  // again with the drop-ins, it leaves the netdev to us; then each link is reconfigured.
  if (!networkd_reload(log::Prio::kWarning)) return;
  for (auto& [name, s] : served_)
    if (s.host) s.reconfigure_tries = 10;
}

bool Daemon::networkd_reload(log::Prio failure) {
  if (!opts_.use_bus) return false;
  if (!bus_) {
    auto b = NetworkdBus::open();
    if (!b) {
      log::event(failure, "cannot ask systemd-networkd to reload: %s", b.error().message.c_str());
      return false;
    }
    bus_ = std::move(*b);
  }
  if (Status st = bus_->reload(); !st) {
    log::event(failure, "asking systemd-networkd to reload: %s", st.error().message.c_str());
    return false;
  }
  log::event(log::Prio::kInfo, "asked systemd-networkd to reload");
  return true;
}

void Daemon::tick() {
  auto now = Clock::now();
  bool routes_due = now >= next_route_check_;
  if (routes_due) next_route_check_ = now + std::chrono::seconds(1);
  for (auto& [name, s] : served_) {
    if (s.host && !s.host->alive()) {
      log::event(log::Prio::kWarning, "%s: the interface disappeared, creating it again", name.c_str());
      s.host.reset();
      s.routes.clear();
      s.next_create = now;
    }
    if (!s.host) {
      if (now >= s.next_create) bring_up(s);
      continue;
    }
    if (now >= s.next_resolve) {
      ResolvedEndpoints before = s.endpoints;
      ResolvedEndpoints after = resolve_all(s, true);
      DeviceUpdate u = diff_update(s.cfg, before, s.cfg, after);
      if (!update_is_empty(u)) {
        if (Status st = s.host->control().apply(u); st) {
          log::event(log::Prio::kInfo, "%s: endpoint resolution changed for %zu peer(s)", name.c_str(), u.peers.size());
          s.endpoints = after;
        }
      } else {
        s.endpoints = after;
      }
    }
    if (s.reconfigure_tries > 0) try_reconfigure(s);
    if (routes_due) sync_routes(s);
  }
}

void Daemon::stop() {
  for (auto& [name, s] : served_) sync_routes(s, true);
  served_.clear();
}

std::string Daemon::status_line() const {
  std::size_t up = 0, peers = 0;
  for (const auto& [name, s] : served_) {
    if (s.host) ++up;
    peers += s.cfg.peers.size();
  }
  return "Serving " + std::to_string(up) + " of " + std::to_string(served_.size()) +
         " WireGuard netdev(s), " + std::to_string(peers) + " peer(s)";
}

}  // namespace wgcore::networkd
