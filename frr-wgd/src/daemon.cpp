#include "daemon.hpp"

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstring>
#include <map>

#include <ifaddrs.h>
#include <sys/epoll.h>
#include <sys/stat.h>
#include <unistd.h>

#include "wgcore/log.hpp"
#include "support/signals.hpp"
#include "wgcore/interface.hpp"
#include "exporter.hpp"
#include "routing/address.hpp"
#include "routing/link.hpp"

namespace wgcore::frrwgd {

namespace policy = routing::policy;
using routing::feed::RouteUpdate;

std::vector<IpAddr> local_addresses() {
  std::vector<IpAddr> out;
  ifaddrs* ifa = nullptr;
  if (getifaddrs(&ifa) != 0) return out;
  for (auto* i = ifa; i; i = i->ifa_next) {
    if (!i->ifa_addr) continue;
    if (i->ifa_addr->sa_family == AF_INET) {
      auto* sin = reinterpret_cast<sockaddr_in*>(i->ifa_addr);
      out.push_back(IpAddr::v4_bytes(reinterpret_cast<const std::uint8_t*>(&sin->sin_addr)));
    } else if (i->ifa_addr->sa_family == AF_INET6) {
      auto* sin6 = reinterpret_cast<sockaddr_in6*>(i->ifa_addr);
      if (IN6_IS_ADDR_LINKLOCAL(&sin6->sin6_addr)) continue;
      out.push_back(IpAddr::v6_bytes(reinterpret_cast<const std::uint8_t*>(&sin6->sin6_addr)));
    }
  }
  freeifaddrs(ifa);
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

namespace {

bool has_holds(const InterfaceConfig& ic) {
  for (const auto& p : ic.peers)
    if (p.max_prefixes > 0 || p.approval) return true;
  return false;
}


std::string peer_label(const InterfaceConfig& ic, const Key& k) {
  if (const auto* p = ic.find_peer(k)) return p->name;
  return to_base64(k);
}

}  // namespace

Daemon::~Daemon() {
  if (control_fd_ >= 0) {
    const int fd = control_fd_;
    unwatch(control_fd_);
    close(fd);
    unlink(cfg_.control_socket.c_str());
  }
  close_import();
  stop_frr_sync();
}

Status Daemon::watch(int fd, std::function<void()> on_readable) {
  return loop_->add(fd, EPOLLIN, [cb = std::move(on_readable)](std::uint32_t) { cb(); });
}

void Daemon::unwatch(int& fd) {
  if (fd < 0) return;
  // The owner may have closed it already (FpmServer drops a connection before saying so): the
  // loop forgets the registration all the same.
  (void)loop_->remove(fd);
  fd = -1;
}

std::vector<policy::PeerPolicy> Daemon::peer_policies(const InterfaceConfig& ic) const {
  std::vector<policy::PeerPolicy> out;
  for (const auto& p : ic.peers) out.push_back(p.policy());
  return out;
}

std::vector<ImportPeer> Daemon::import_peers(const InterfaceConfig& ic) const {
  std::vector<ImportPeer> out;
  for (const auto& p : ic.peers) out.push_back({p.public_key, p.tunnel_addresses});
  return out;
}

Result<std::unique_ptr<Daemon>> Daemon::start(Config cfg) {
  std::unique_ptr<Daemon> d(new Daemon());
  d->cfg_ = std::move(cfg);
  auto nl = routing::Netlink::open();
  if (!nl) return nl.error();
  d->nl_.emplace(std::move(*nl));
  if (mkdir(d->cfg_.state_directory.c_str(), 0700) != 0 && errno != EEXIST)
    return make_error(errno, d->cfg_.state_directory + ": " + strerror(errno));

  // Before any thread starts (FrrSync's pushes, the device's): only the loop takes them.
  (void)block_daemon_signals();
  auto loop = EventLoop::create();
  if (!loop) return loop.error();
  d->loop_ = std::move(*loop);
  Daemon* self = d.get();
  if (auto st = d->loop_->on_signals({SIGTERM, SIGINT, SIGHUP}, [self](int signo) { self->on_signal(signo); }); !st)
    return st.error();
  d->refresh_timer_ = d->loop_->create_timer([self] { self->on_refresh_timer(); });
  d->sweep_timer_ = d->loop_->create_timer([self] { self->on_sweep_timer(); });

  for (const auto& ic : d->cfg_.interfaces)
    if (auto st = d->open_site(ic); !st) return st.error();
  if (auto st = d->open_import(); !st) return st.error();
  auto fd = control_listen(d->cfg_.control_socket);
  if (!fd) return fd.error();
  if (auto st = d->watch(*fd, [self] { self->on_control(); }); !st) {
    close(*fd);
    return st.error();
  }
  d->control_fd_ = *fd;
  d->loop_->arm_timer(d->refresh_timer_, std::chrono::milliseconds(d->cfg_.refresh_interval_ms));
  d->start_frr_sync();
  log::event(log::Prio::kInfo, "frr-wgd started: %zu interface(s), import %s, control socket %s", d->sites_.size(),
            d->cfg_.import == ImportSource::kFpm        ? "fpm"
            : d->cfg_.import == ImportSource::kRtnetlink ? "rtnetlink"
                                                         : "none",
            d->cfg_.control_socket.c_str());
  return d;
}

Status Daemon::open_site(const InterfaceConfig& ic) {
  auto s = std::make_unique<Site>();
  s->cfg = ic;
  s->holds = has_holds(ic);
  auto control = open_interface(ic.name);
  if (!control) return make_error(control.error().code, "interface " + ic.name + ": " + control.error().message);
  s->control = std::move(*control);
  auto link = routing::get_link(*nl_, ic.name);
  if (!link) return make_error(link.error().code, "interface " + ic.name + ": " + link.error().message);
  s->ifindex = link->index;
  s->importer = Importer(s->ifindex, cfg_.export_protocol);
  s->state_path = cfg_.state_directory + "/" + ic.name + ".imports";
  s->journal = ImportsJournal(s->state_path);

  // The previous run's imports: still ours (never static), kept until the first replay says
  // which of them the routing daemon still has.
  PrefixSets previous = load_imports(s->state_path);
  std::set<std::pair<std::string, IpPrefix>> preferred;
  for (const auto& [k, set] : previous)
    for (const auto& p : set) preferred.insert({to_base64(k), p});
  s->importer.set_preferred(std::move(preferred));
  s->allowed.ours = std::move(previous);

  auto state = s->control->get();
  if (!state) return make_error(state.error().code, "interface " + ic.name + ": " + state.error().message);
  s->allowed.set_device(*state);
  for (const auto& p : ic.peers) {
    bool found = false;
    for (const auto& dp : state->peers) found = found || dp.public_key == p.public_key;
    if (!found) log::event(log::Prio::kWarning, "%s: peer %s (%s) is not configured on the device (yet)", ic.name.c_str(),
                          p.name.c_str(), to_base64(p.public_key).c_str());
  }
  auto changes = s->engine.set_config(cfg_.prefix_lists, peer_policies(ic));
  std::vector<Offer> offers;
  s->importer.set_peers(import_peers(ic), offers);
  log::event(log::Prio::kInfo, "%s: %zu peer(s), backend %s, ifindex %d, %zu import(s) from the previous run", ic.name.c_str(),
            ic.peers.size(), s->control->backend().c_str(), s->ifindex,
            [&] { std::size_t n = 0; for (auto& [k, v] : s->allowed.ours) n += v.size(); return n; }());
  Site& ref = *s;
  sites_.push_back(std::move(s));
  apply_changes(ref, changes, "config");
  refresh(ref);
  if (cfg_.import == ImportSource::kNone) sync_site(ref);
  return {};
}

Status Daemon::open_import() {
  if (cfg_.import == ImportSource::kFpm) {
    routing::feed::FpmServer::Callbacks cb;
    // FpmServer accepts and drops connections inside poll_once(), and a new connection may
    // get the number the old one just gave back: the registrations follow its callbacks, which
    // fire in the order things happened.
    cb.connected = [this] {
      const int conn = fpm_->fds().back();
      if (auto st = watch(conn, [this] { on_fpm_readable(); }); !st)
        log::event(log::Prio::kErr, "fpm: %s", st.error().message.c_str());
      else
        fpm_conn_fd_ = conn;
      on_fpm_connected();
    };
    cb.disconnected = [this] {
      unwatch(fpm_conn_fd_);
      ++counters_.fpm_disconnects;
      log::event(log::Prio::kWarning, "fpm: zebra disconnected; imports stay until its replay after reconnecting");
    };
    cb.updates = [this](std::vector<RouteUpdate>& u) { on_routes(u); };
    auto srv = routing::feed::FpmServer::listen(cfg_.fpm_address, cfg_.fpm_port, std::move(cb));
    if (!srv) return make_error(srv.error().code, "fpm listen " + cfg_.fpm_address.to_string() + " port " +
                                                      std::to_string(cfg_.fpm_port) + ": " + srv.error().message);
    fpm_.emplace(std::move(*srv));
    const int listener = fpm_->fds().front();
    if (auto st = watch(listener, [this] { on_fpm_readable(); }); !st) {
      fpm_.reset();
      return st.error();
    }
    fpm_listen_fd_ = listener;
    log::event(log::Prio::kInfo, "fpm: listening on %s port %u", cfg_.fpm_address.to_string().c_str(), unsigned(cfg_.fpm_port));
  } else if (cfg_.import == ImportSource::kRtnetlink) {
    for (auto& s : sites_) {
      if (auto st = start_watch(*s); !st) return st.error();
      sync_site(*s);
    }
  }
  return {};
}

void Daemon::close_import() {
  unwatch(fpm_conn_fd_);
  unwatch(fpm_listen_fd_);
  fpm_.reset();
  for (auto& s : sites_) {
    unwatch(s->watch_fd);
    s->watch.reset();
  }
}

Status Daemon::start_watch(Site& s) {
  auto w = routing::feed::RtnetlinkWatch::open(s.ifindex, cfg_.watch_protocols);
  if (!w) return make_error(w.error().code, s.cfg.name + ": rtnetlink watch: " + w.error().message);
  s.watch.emplace(std::move(*w));
  watch_site_feed(s);
  std::vector<RouteUpdate> updates;
  if (auto st = s.watch->dump(updates); !st) return st.error();
  offer_routes(s, updates);
  return {};
}

void Daemon::offer_routes(Site& s, const std::vector<RouteUpdate>& updates) {
  if (updates.empty()) return;
  counters_.route_updates += updates.size();
  std::vector<Offer> offers;
  for (const auto& u : updates) s.importer.update(u, offers);
  process_offers(s, offers);
}

void Daemon::watch_site_feed(Site& s) {
  Site* site = &s;
  if (auto st = watch(s.watch->fd(), [this, site] { on_watch_readable(*site); }); !st)
    log::event(log::Prio::kErr, "%s: rtnetlink watch: %s", s.cfg.name.c_str(), st.error().message.c_str());
  else
    s.watch_fd = s.watch->fd();
}

void Daemon::on_watch_readable(Site& s) {
  std::vector<RouteUpdate> updates;
  if (auto st = s.watch->read(updates); !st) {
    ++counters_.feed_errors;
    log::event(log::Prio::kErr, "%s: rtnetlink watch: %s", s.cfg.name.c_str(), st.error().message.c_str());
  }
  offer_routes(s, updates);
}

void Daemon::on_fpm_readable() {
  if (!fpm_) return;
  if (auto st = fpm_->poll_once(0); !st) {
    ++counters_.feed_errors;
    log::event(log::Prio::kErr, "fpm: %s", st.error().message.c_str());
  }
}

void Daemon::start_frr_sync() {
  if (cfg_.frr_vtysh.empty()) return;
  if (!frr_sync_) {
    frr_sync_.emplace(cfg_.frr_vtysh, cfg_.frr_vty_socket);
    if (auto st = watch(frr_sync_->fd(), [this] { frr_sync_done(); }); !st)
      log::event(log::Prio::kErr, "frr: %s", st.error().message.c_str());
    else
      frr_sync_fd_ = frr_sync_->fd();
  }
  sync_frr(true);
}

void Daemon::stop_frr_sync() {
  unwatch(frr_sync_fd_);
  frr_sync_.reset();
}

void Daemon::log_warnings(Site& s) {
  for (const auto& w : s.engine.take_warnings()) log::event(log::Prio::kWarning, "%s: %s", s.cfg.name.c_str(), w.c_str());
}

void Daemon::save_state(Site& s) {
  if (auto st = s.journal.snapshot(s.allowed.ours); !st)
    log::event(log::Prio::kErr, "%s: state file: %s", s.cfg.name.c_str(), st.error().message.c_str());
}

bool Daemon::commit(Site& s, const DeviceUpdate& u, AllowedIps::Undo& undo) {
  if (u.peers.empty()) return true;
  ++counters_.device_updates;
  // An import the state file does not know would look static after a crash: no record, no add.
  if (auto st = s.journal.record_adds(u); !st) {
    ++counters_.device_errors;
    log::event(log::Prio::kErr, "%s: state file: %s; AllowedIPs left unchanged", s.cfg.name.c_str(), st.error().message.c_str());
    s.allowed.rollback(undo);
    return false;
  }
  if (auto st = s.control->apply(u); !st) {
    // The device is unchanged (apply is atomic): so is our view of it, once the plan is undone.
    ++counters_.device_errors;
    log::event(log::Prio::kErr, "%s: updating AllowedIPs failed: %s", s.cfg.name.c_str(), st.error().message.c_str());
    s.allowed.rollback(undo);
    return false;
  }
  if (auto st = s.journal.record_removes(u, s.allowed.ours); !st)
    log::event(log::Prio::kErr, "%s: state file: %s", s.cfg.name.c_str(), st.error().message.c_str());
  return true;
}

void Daemon::apply_changes(Site& s, std::vector<policy::Change> changes, const char* why) {
  s.holds_dirty = true;  // a reload, the facts or an approval: decisions may have moved
  release_held(s, changes, true);
  sync_holds(s);
  if (changes.empty()) return;
  for (const auto& c : changes)
    log::event(log::Prio::kInfo, "%s: %s: %s %s %s peer %s: %s", s.cfg.name.c_str(), why, c.install ? "install" : "remove",
              c.prefix.to_string().c_str(), c.install ? "for" : "from", peer_label(s.cfg, c.peer).c_str(),
              c.decision.to_string(c.prefix, peer_label(s.cfg, c.peer)).c_str());
  install(s, changes);
}

void Daemon::release_held(Site& s, std::vector<policy::Change>& changes, bool recheck) {
  if (s.held.empty()) return;
  // Lets go of one held offer; what that lets in for others joins `changes`.
  auto forget = [&](const Key& peer, const IpPrefix& prefix, std::string_view why) {
    s.holds_dirty = true;
    std::vector<policy::Change> more;
    s.engine.withdraw(peer, prefix, more);
    for (auto& m : more)
      if (m.install || !(m.peer == peer) || !(m.prefix == prefix)) changes.push_back(std::move(m));
    log::event(log::Prio::kInfo, "%s: %s from peer %s no longer held back (%.*s): bgpd asks the peer for it again",
               s.cfg.name.c_str(), prefix.to_string().c_str(), peer_label(s.cfg, peer).c_str(), int(why.size()),
               why.data());
  };
  std::vector<policy::Change> out;
  std::size_t i = 0;
  for (bool again = true; again;) {
    for (; i < changes.size(); ++i) {  // forget() may append
      policy::Change c = changes[i];
      auto it = s.held.find({c.peer, c.prefix});
      if (!c.install || it == s.held.end()) {
        out.push_back(std::move(c));
        continue;
      }
        s.held.erase(it);
      forget(c.peer, c.prefix, c.decision.rule == policy::Rule::kApproved ? "approved" : "now within the policy");
    }
    again = false;
    if (!recheck) break;
    // A reload may refuse a held offer for another reason now: no longer ours to hold.
    for (auto it = s.held.begin(); it != s.held.end();) {
      auto d = s.engine.decision(it->first, it->second);
      if (d && held_back(*d)) {
        ++it;
        continue;
      }
      const auto [peer, prefix] = *it;
      it = s.held.erase(it);
      if (d) forget(peer, prefix, policy::rule_name(d->rule));
      again = true;
      break;  // forget() changed the engine: look again from the start
    }
  }
  changes = std::move(out);
}

void Daemon::sync_holds(Site& s) {
  if (!s.holds || !s.holds_dirty || !frr_sync_) return;
  s.holds_dirty = false;
  sync_frr(false);
}

void Daemon::install(Site& s, const std::vector<policy::Change>& changes) {
  AllowedIps::Undo undo;
  DeviceUpdate u;
  s.allowed.plan(changes, u, &undo);
  commit(s, u, undo);
}

void Daemon::process_offers(Site& s, const std::vector<Offer>& offers) {
  std::vector<policy::Change> changes;
  for (const auto& o : offers) {
    const std::string name = peer_label(s.cfg, o.peer);
    if (o.withdraw) {
      // bgpd dropped it because we hold it back (FRR-WGD-HOLD list): the offer stays.
      if (frr_sync_)
        if (auto cur = s.engine.decision(o.peer, o.prefix); cur && held_back(*cur)) {
          s.held.insert({o.peer, o.prefix});
          continue;
        }
      s.held.erase({o.peer, o.prefix});
      const std::size_t from = changes.size();
      auto was = s.engine.withdraw(o.peer, o.prefix, changes);
      // Letting go of a held-back prefix, or one over max-prefixes taking the freed place.
      if ((was && held_back(*was)) || changes.size() > from) s.holds_dirty = true;
      // A line only for what had been accepted or pending: a refused route going away changes
      // nothing (its refusal simply leaves `show refused`).
      if (was && was->verdict != policy::Verdict::kRefuse)
        log::event(log::Prio::kInfo, "%s: withdraw %s from peer %s%s", s.cfg.name.c_str(),
                   o.prefix.to_string().c_str(), name.c_str(),
                   was->verdict == policy::Verdict::kPending ? " (was pending approval)" : "");
      // What the withdrawal lets in for another peer (refused as owned-by-peer or over
      // max-prefixes until now) is a decision of its own, and gets its own line.
      // (A held one is said by release_held.)
      for (std::size_t i = from; i < changes.size(); ++i)
        if (changes[i].install && !s.held.count({changes[i].peer, changes[i].prefix}))
          log::event(log::Prio::kInfo, "%s: %s", s.cfg.name.c_str(),
                     changes[i].decision.to_string(changes[i].prefix, peer_label(s.cfg, changes[i].peer)).c_str());
    } else {
      s.held.erase({o.peer, o.prefix});  // the route is back (FRR restarted, a list replaced)
      auto d = s.engine.offer(o.peer, o.prefix, changes);
      if (held_back(d)) s.holds_dirty = true;
      if (d.verdict == policy::Verdict::kRefuse)
        log::event(log::Prio::kWarning, "%s: %s", s.cfg.name.c_str(), d.to_string(o.prefix, name).c_str());
      else
        log::event(log::Prio::kInfo, "%s: %s", s.cfg.name.c_str(), d.to_string(o.prefix, name).c_str());
    }
  }
  // The offers' decisions are logged above; the installs they cause need no second line.
  release_held(s, changes, false);
  if (!changes.empty()) install(s, changes);
  sync_holds(s);
  log_warnings(s);
}

void Daemon::on_routes(std::vector<RouteUpdate>& updates) {
  last_feed_ = Clock::now();
  counters_.route_updates += updates.size();
  // zebra sends a changed route (an ECMP nexthop added or gone) as a delete followed by the new
  // route; taken one by one, a holder that keeps the prefix would lose it for an instant (and
  // an ECMP rival could take it). Only the last update of a prefix in a batch counts.
  std::map<std::pair<std::uint32_t, IpPrefix>, std::size_t> last;
  auto key = [&](std::size_t i) { return std::make_pair(updates[i].table, updates[i].prefix.canonical()); };
  for (std::size_t i = 0; i < updates.size(); ++i) last[key(i)] = i;
  if (last.size() != updates.size()) {
    std::size_t out = 0;
    for (std::size_t i = 0; i < updates.size(); ++i)
      if (last[key(i)] == i) {
        if (out != i) updates[out] = std::move(updates[i]);  // never a self-move
        ++out;
      }
    updates.resize(out);
  }
  for (auto& s : sites_) {
    std::vector<Offer> offers;
    for (const auto& u : updates) {
      const IpPrefix prefix = u.prefix.canonical();
      const bool was_unresolved = s->importer.unresolved().count(prefix) > 0;
      std::size_t n = s->importer.update(u, offers);
      if (auto it = s->importer.unresolved().find(prefix); it != s->importer.unresolved().end() && !was_unresolved)
        log::event(log::Prio::kWarning, "%s: route %s not imported: %s (see show refused)", s->cfg.name.c_str(),
                   prefix.to_string().c_str(), it->second.c_str());
      if (n > 1) {
        std::string names;
        for (const auto& k : s->importer.candidates(u.prefix.canonical()))
          names += (names.empty() ? "" : ", ") + peer_label(s->cfg, k);
        log::event(log::Prio::kInfo, "%s: ecmp %s across %zu peers; offered in this order, the first accepted keeps it: %s",
                  s->cfg.name.c_str(), u.prefix.canonical().to_string().c_str(), n, names.c_str());
      }
    }
    process_offers(*s, offers);
  }
}

void Daemon::on_fpm_connected() {
  ++counters_.fpm_connects;
  log::event(log::Prio::kInfo, "fpm: zebra connected; marking %zu route(s) until its replay is over",
            [&] { std::size_t n = 0; for (auto& s : sites_) n += s->importer.routes(); return n; }());
  for (auto& s : sites_) s->importer.mark();
  sweep_pending_ = true;
  last_feed_ = connected_at_ = Clock::now();
  loop_->arm_timer(sweep_timer_, std::chrono::milliseconds(std::max(cfg_.sweep_delay_ms, cfg_.replay_hold_ms)));
}

void Daemon::on_sweep_timer() {
  if (!sweep_pending_) return;
  // The replay is over once no message came for sweep_delay, and not before replay_hold after
  // the connection. Messages do not move the timer (a replay is thousands of batches); it looks
  // again when it fires early.
  const auto due = std::max(last_feed_ + std::chrono::milliseconds(cfg_.sweep_delay_ms),
                            connected_at_ + std::chrono::milliseconds(cfg_.replay_hold_ms));
  const auto now = Clock::now();
  if (now < due) {
    loop_->arm_timer(sweep_timer_, due - now);
    return;
  }
  sweep_all();
}

void Daemon::on_refresh_timer() {
  for (auto& s : sites_) refresh(*s);
  if (frr_sync_due_) sync_frr(true);
  loop_->arm_timer(refresh_timer_, std::chrono::milliseconds(cfg_.refresh_interval_ms));
}

void Daemon::sweep_all() {
  sweep_pending_ = false;
  ++counters_.sweeps;
  for (auto& s : sites_) {
    std::vector<Offer> offers;
    std::size_t n = s->importer.sweep(offers);
    counters_.swept_routes += n;
    log::event(log::Prio::kInfo, "%s: replay over: %zu route(s) known, %zu not replayed and withdrawn", s->cfg.name.c_str(),
              s->importer.routes(), n);
    process_offers(*s, offers);
    if (!s->synced) sync_site(*s);
    else log::event(log::Prio::kInfo, "%s: in sync with the routing daemon again (its replay withdrew %zu route(s))",
                    s->cfg.name.c_str(), n);
  }
}

void Daemon::sync_site(Site& s) {
  PrefixSets want;
  for (const auto& p : s.cfg.peers) {
    auto& set = want[p.public_key];
    for (const auto& e : s.engine.entries(p.public_key))
      if (e.installed) set.insert(e.prefix.canonical());
  }
  // Imports of peers no longer configured go too.
  for (const auto& [k, set] : s.allowed.ours)
    if (!want.count(k)) want[k];
  AllowedIps::Undo undo;
  DeviceUpdate u;
  s.allowed.reconcile(want, u, &undo);
  if (!s.synced) {
    std::size_t stale = 0;
    for (const auto& p : u.peers)
      for (const auto& op : p.allowed_ips)
        if (op.kind == AllowedIpOp::Kind::kRemove) {
          ++stale;
          log::event(log::Prio::kInfo, "%s: remove %s from peer %s: imported by an earlier run, not announced any more",
                    s.cfg.name.c_str(), op.prefix.to_string().c_str(), peer_label(s.cfg, p.public_key).c_str());
        }
    log::event(log::Prio::kInfo, "%s: in sync with the routing daemon (%zu stale import(s) removed)", s.cfg.name.c_str(), stale);
  }
  s.synced = true;
  commit(s, u, undo);
  save_state(s);  // a fresh snapshot once per sync (start, zebra's replay): the journal restarts
}

void Daemon::sync_frr(bool route_maps) {
  if (!frr_sync_) return;
  frr_sync_pending_ = true;
  frr_sync_maps_ = frr_sync_maps_ || route_maps;
  if (frr_sync_->busy()) return;  // started again when the running push ends (frr_sync_done)
  frr_sync_pending_ = false;
  FrrLists lists = frr_policy_lists(cfg_);
  for (const auto& s : sites_) {
    lists.merge(frr_guard_lists(s->cfg, s->facts));
    lists.merge(frr_hold_lists(s->cfg, s->engine));
  }
  if (frr_sync_->start(frr_sync_maps_ ? frr_route_maps(cfg_) : std::string(), lists)) ++counters_.frr_syncs;
  frr_sync_maps_ = false;
  frr_sync_due_ = false;
}

void Daemon::frr_sync_done() {
  auto o = frr_sync_->finish();
  if (!o) return;
  if (!o->status) {
    // FRR not up yet (frr-wgd starts first), or it refused a line: said once per different
    // complaint, and everything is sent again at the next refresh.
    ++counters_.frr_sync_errors;
    const std::string& m = o->status.error().message;
    log::event(m == frr_sync_error_ ? log::Prio::kDebug : log::Prio::kErr,
               "frr: FRR-WGD lists and route-maps not updated (retried at the next refresh): %s", m.c_str());
    frr_sync_error_ = m;
    frr_sync_due_ = true;
    frr_sync_maps_ = true;
    answer_frr_waiters("warning: FRR's FRR-WGD lists and route-maps not updated (retried at the next refresh): " + m);
    return;
  }
  frr_sync_error_.clear();
  if (o->lists)
    log::event(log::Prio::kInfo, "frr: %zu FRR-WGD prefix-list(s) updated in FRR through %s", o->lists,
               cfg_.frr_vtysh.c_str());
  if (frr_sync_pending_) sync_frr(false);
  if (!frr_sync_->busy()) answer_frr_waiters("FRR's FRR-WGD lists and route-maps updated through " + cfg_.frr_vtysh);
}

void Daemon::answer_frr_waiters(const std::string& note) {
  for (auto& [rq, reply] : frr_waiters_) {
    reply.text += note + "\n";
    control_answer(rq, reply);
  }
  frr_waiters_.clear();
}

void Daemon::refresh(Site& s) {
  if (auto link = routing::get_link(*nl_, s.cfg.name); link && link->index != s.ifindex) {
    log::event(log::Prio::kInfo, "%s: interface index changed %d -> %d", s.cfg.name.c_str(), s.ifindex, link->index);
    s.ifindex = link->index;
    s.importer.set_ifindex(link->index);
  }
  auto state = s.control->get();
  if (!state) {
    // The daemon behind the interface may have restarted: open it again next time.
    log::event(log::Prio::kErr, "%s: reading the device failed: %s", s.cfg.name.c_str(), state.error().message.c_str());
    if (auto c = open_interface(s.cfg.name)) s.control = std::move(*c);
    return;
  }
  s.allowed.set_device(*state);
  policy::Facts f;
  f.local_addresses = local_addresses();
  for (const auto& p : state->peers)
    if (p.endpoint && p.endpoint->valid()) f.peer_endpoints[p.public_key].push_back(p.endpoint->ip());
  f.static_allowed_ips = s.allowed.static_allowed();
  auto same = [](const policy::Facts& a, const policy::Facts& b) {
    return a.local_addresses == b.local_addresses && a.peer_endpoints == b.peer_endpoints &&
           a.static_allowed_ips == b.static_allowed_ips;
  };
  if (!same(f, s.facts)) {
    s.facts = f;
    auto changes = s.engine.set_facts(std::move(f));
    apply_changes(s, changes, "facts");
    log_warnings(s);
    sync_frr(false);  // an endpoint moved, an address or a static AllowedIP came or went
  }
  // Drift (someone removed an import by hand, or an update failed): put back what is accepted.
  if (s.synced) {
    PrefixSets want;
    for (const auto& p : s.cfg.peers) {
      auto& set = want[p.public_key];
      for (const auto& e : s.engine.entries(p.public_key))
        if (e.installed) set.insert(e.prefix.canonical());
    }
    DeviceUpdate u;
    AllowedIps::Undo undo;
    s.allowed.reconcile(want, u, &undo);
    if (!u.peers.empty()) {
      log::event(log::Prio::kWarning, "%s: AllowedIPs drifted from the accepted imports; repairing", s.cfg.name.c_str());
      commit(s, u, undo);
    }
  }
  export_sync(s);
}

void Daemon::export_sync(Site& s) {
  std::vector<routing::Route> want;
  if (s.cfg.export_enabled) {
    std::vector<IpPrefix> onlink;
    if (auto a = routing::list_addresses(*nl_, s.cfg.name)) onlink = std::move(*a);
    want = export_routes(s.cfg.name, s.cfg.export_table, cfg_.export_protocol, s.allowed.static_allowed(), onlink);
  }
  auto current = current_export_routes(*nl_, s.cfg.name, s.cfg.export_table, cfg_.export_protocol);
  if (!current) {
    ++counters_.export_errors;
    log::event(log::Prio::kErr, "%s: listing export routes: %s", s.cfg.name.c_str(), current.error().message.c_str());
    return;
  }
  auto diff = diff_routes(want, *current);
  for (const auto& r : diff.add) log::event(log::Prio::kInfo, "%s: export %s", s.cfg.name.c_str(), r.to_string().c_str());
  for (const auto& r : diff.remove) log::event(log::Prio::kInfo, "%s: unexport %s", s.cfg.name.c_str(), r.to_string().c_str());
  for (const auto& e : apply_diff(*nl_, diff)) {
    ++counters_.export_errors;
    log::event(log::Prio::kErr, "%s: export: %s", s.cfg.name.c_str(), e.c_str());
  }
  s.exported = std::move(want);
}

void Daemon::remove_site(Site& s) {
  PrefixSets want;
  for (const auto& [k, set] : s.allowed.ours) want[k];
  DeviceUpdate u;
  s.allowed.reconcile(want, u);
  if (!u.peers.empty())
    if (auto st = s.control->apply(u); !st)
      log::event(log::Prio::kErr, "%s: removing imports failed: %s", s.cfg.name.c_str(), st.error().message.c_str());
  s.cfg.export_enabled = false;
  export_sync(s);
  unlink(s.state_path.c_str());
  log::event(log::Prio::kInfo, "%s: no longer managed; its imports and exports are removed", s.cfg.name.c_str());
}

Reply Daemon::reload() {
  auto next = load_config(cfg_.path);
  if (!next) {
    ++counters_.reload_errors;
    log::event(log::Prio::kErr, "reload: %s; keeping the running configuration", next.error().message.c_str());
    return {1, next.error().message + "\nreload refused; the running configuration stays\n"};
  }
  ++counters_.reloads;
  Config old = std::move(cfg_);
  cfg_ = std::move(*next);
  std::string notes;
  if (old.control_socket != cfg_.control_socket || old.state_directory != cfg_.state_directory) {
    notes += "control-socket and state-directory changes take effect at the next start\n";
    cfg_.control_socket = old.control_socket;
    cfg_.state_directory = old.state_directory;
  }
  if (old.export_protocol != cfg_.export_protocol) {
    // Our old routes would be orphaned under the old number: remove them first.
    std::swap(old.export_protocol, cfg_.export_protocol);
    for (auto& s : sites_) {
      bool was = s->cfg.export_enabled;
      s->cfg.export_enabled = false;
      export_sync(*s);
      s->cfg.export_enabled = was;
    }
    std::swap(old.export_protocol, cfg_.export_protocol);
  }
  // Interfaces that went away.
  for (auto it = sites_.begin(); it != sites_.end();) {
    if (!cfg_.find_interface((*it)->cfg.name)) {
      remove_site(**it);
      unwatch((*it)->watch_fd);
      it = sites_.erase(it);
    } else {
      ++it;
    }
  }
  // Changed interfaces: only their differences.
  for (auto& s : sites_) {
    const InterfaceConfig& ic = *cfg_.find_interface(s->cfg.name);
    if (s->cfg.export_enabled && (!ic.export_enabled || ic.export_table != s->cfg.export_table)) {
      s->cfg.export_enabled = false;  // withdraw from the old table before adopting the new one
      export_sync(*s);
    }
    bool peers_changed = !(s->cfg.peers == ic.peers);
    s->cfg = ic;
    s->holds = has_holds(ic);
    auto changes = s->engine.set_config(cfg_.prefix_lists, peer_policies(ic));
    apply_changes(*s, changes, "reload");
    if (peers_changed) {
      std::vector<Offer> offers;
      s->importer.set_peers(import_peers(ic), offers);
      process_offers(*s, offers);
    }
    refresh(*s);
  }
  // New interfaces.
  for (const auto& ic : cfg_.interfaces) {
    bool have = false;
    for (auto& s : sites_) have = have || s->cfg.name == ic.name;
    if (have) continue;
    if (auto st = open_site(ic); !st) {
      notes += st.error().message + "\n";
      log::event(log::Prio::kErr, "reload: %s", st.error().message.c_str());
    }
  }
  bool import_changed = old.import != cfg_.import || old.fpm_address != cfg_.fpm_address ||
                        old.fpm_port != cfg_.fpm_port || old.watch_protocols != cfg_.watch_protocols;
  if (import_changed) {
    close_import();
    if (auto st = open_import(); !st) {
      notes += st.error().message + "\n";
      log::event(log::Prio::kErr, "reload: %s", st.error().message.c_str());
    }
  } else if (cfg_.import == ImportSource::kRtnetlink) {
    for (auto& s : sites_)
      if (!s->watch) {
        if (auto st = start_watch(*s); !st)
          log::event(log::Prio::kErr, "reload: %s", st.error().message.c_str());
        if (s->watch) sync_site(*s);  // opened, even if its first dump failed (as before)
      }
  }
  if (!cfg_.frr_vtysh.empty()) {
    start_frr_sync();
  } else {
    answer_frr_waiters("frr-vtysh removed: FRR's FRR-WGD lists are no longer updated");
    stop_frr_sync();
  }
  log::event(log::Prio::kInfo, "reload: %s applied", cfg_.path.c_str());
  return {0, notes + "reloaded " + cfg_.path + "\n"};
}

Reply Daemon::approve(const std::vector<std::string>& args) {
  // approve PEER PREFIX [INTERFACE]
  if (args.size() < 3 || args.size() > 4) return {2, "usage: frr-wgd approve PEER PREFIX [INTERFACE]\n"};
  auto prefix = IpPrefix::parse(args[2]);
  if (!prefix) return {2, "bad prefix '" + args[2] + "'\n"};
  for (auto& s : sites_) {
    if (args.size() == 4 && s->cfg.name != args[3]) continue;
    const PeerConfig* p = s->cfg.find_peer(args[1]);
    if (!p) continue;
    std::vector<policy::Change> changes;
    auto d = s->engine.approve(p->public_key, prefix->canonical(), changes);
    if (!d) return {1, prefix->canonical().to_string() + " is not pending for peer " + p->name + "\n"};
    log::event(log::Prio::kInfo, "%s: operator approval: %s", s->cfg.name.c_str(), d->to_string(prefix->canonical(), p->name).c_str());
    apply_changes(*s, changes, "approve");
    log_warnings(*s);
    return {0, d->to_string(prefix->canonical(), p->name) + "\n"};
  }
  return {1, "no peer '" + args[1] + "'\n"};
}

Reply Daemon::command(const std::vector<std::string>& args) {
  if (args.empty()) return {2, "empty request\n"};
  if (args[0] == "show") return show(args);
  if (args[0] == "approve") return approve(args);
  if (args[0] == "reload") return reload();
  return {2, "unknown command '" + args[0] + "'\n"};
}

void Daemon::on_signal(int signo) {
  if (signo == SIGHUP) {
    log::event(log::Prio::kInfo, "SIGHUP: reloading %s", cfg_.path.c_str());
    (void)reload();
    return;
  }
  log::event(log::Prio::kInfo, "signal %d: stopping (imports and exports stay; a restart reconciles them)", signo);
  stop_ = true;
  loop_->stop();
}

void Daemon::on_control() {
  auto rq = control_accept(control_fd_);
  if (!rq) return;
  Reply r = command(rq->args);
  // A reload answers once FRR has its change (answer_frr_waiters).
  if (rq->args.size() == 1 && rq->args[0] == "reload" && r.status == 0 && frr_sync_ && frr_sync_->busy())
    frr_waiters_.emplace_back(std::move(*rq), std::move(r));
  else
    control_answer(*rq, r);
}

int Daemon::run() {
  while (!stop_) loop_->run();
  return 0;
}

bool Daemon::run_once(std::optional<Clock::duration> max_wait) {
  if (!stop_) loop_->run_once(max_wait);
  return !stop_;
}

}  // namespace wgcore::frrwgd
