// wgcore-networkd: serves systemd-networkd's Kind=wireguard .netdev files on the wgcore engine.
// This file only wires the commands: daemon (default), status, check, convert.
#include <getopt.h>
#include <sys/epoll.h>
#include <signal.h>
#include <sys/stat.h>
#include <time.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <optional>
#include <string>
#include <vector>

#include "wgcore/log.hpp"
#include "support/signals.hpp"
#include "wgcore/event_loop.hpp"
#include "support/text.hpp"
#include "wgcore/wgquick.hpp"
#include "convert.hpp"
#include "daemon.hpp"
#include "dir_watch.hpp"
#include "netdev_files.hpp"
#include "notify.hpp"
#include "routing/netlink_events.hpp"
#include "status.hpp"

using namespace wgcore;
using namespace wgcore::networkd;

namespace {

void usage(FILE* out) {
  fprintf(out,
          "Usage: wgcore-networkd [OPTIONS] [run]\n"
          "       wgcore-networkd [OPTIONS] status [--json]\n"
          "       wgcore-networkd [OPTIONS] check\n"
          "       wgcore-networkd convert WG-QUICK.conf [--output-dir DIR] [--name IFACE]\n"
          "\n"
          "Serves the Kind=wireguard .netdev files of systemd-networkd (/etc, /run,\n"
          "/usr/local/lib, /usr/lib systemd/network, drop-ins and masking as networkd reads them)\n"
          "on the wgcore engine; systemd-networkd configures the links with the .network files.\n"
          "SIGHUP reloads, applying only the differences.\n"
          "\n"
          "  run        the daemon (default; Type=notify, watchdog)\n"
          "  status     backend, networkd link state and handshakes of each netdev\n"
          "  check      parse the files and print every warning and error; exit 1 on errors\n"
          "  convert    write IFACE.netdev and IFACE.network from a wg-quick configuration\n"
          "\n"
          "  --root DIR          read DIR/etc/systemd/network etc. (tests, images)\n"
          "  --backend B         auto (default), userspace or kernel\n"
          "  --no-bus            do not call systemd-networkd over D-Bus\n"
          "  --reresolve SECS    re-resolve hostname endpoints this often (default 300)\n"
          "  --retry SECS        retry failed resolutions and device creation after (default 5)\n"
          "  -v, --verbose       debug logging\n"
          "  -h, --help          this help\n"
          "      --version       print the version\n");
}

// Whether a message is about netdev `w`: networkd's messages start with its name ("wg0: ") or
// with one of its files ("FILE:LINE: ").
bool about(const Diagnostic& i, const WireGuardNetdev& w) {
  auto starts = [&](const std::string& p) { return i.text.rfind(p, 0) == 0; };
  if (starts(w.name + ": ") || starts(w.file + ":")) return true;
  for (const auto& d : w.dropins)
    if (starts(d + ":")) return true;
  return false;
}

int cmd_check(const SearchPath& sp) {
  Diagnostics d;
  auto r = load_all(sp, current_environment(), d);
  std::size_t errors = 0;
  for (const auto& i : d.items()) {
    printf("%s\n", i.text.c_str());
    if (i.level == Diagnostic::Level::kError) ++errors;
  }
  // "ok" only for a netdev no error names: one that lost a peer or a key is served, but as less
  // than its files say.
  for (const auto& w : r.netdevs) {
    std::size_t own = 0;
    for (const auto& i : d.items())
      if (i.level == Diagnostic::Level::kError && about(i, w)) ++own;
    if (own == 0)
      printf("%s: %s: ok (%zu peer(s))\n", w.name.c_str(), w.file.c_str(), w.peers.size());
    else
      printf("%s: %s: %zu error(s) above; served without what they name (%zu peer(s))\n", w.name.c_str(),
             w.file.c_str(), own, w.peers.size());
  }
  if (r.netdevs.empty() && errors == 0) {
    std::string dirs;
    for (const auto& dir : sp.dirs) dirs += (dirs.empty() ? "" : ", ") + dir;
    fprintf(stderr, "wgcore-networkd: no .netdev with Kind=wireguard (and a [Match] that holds) in %s\n",
            dirs.c_str());
    return 1;
  }
  if (errors) fprintf(stderr, "wgcore-networkd: %zu error(s)\n", errors);
  return errors ? 1 : 0;
}

int write_file(const std::string& path, const std::string& text, mode_t mode) {
  std::string tmp = path + ".tmp";
  mode_t old = umask(0777 & ~mode);
  std::ofstream out(tmp, std::ios::trunc);
  umask(old);
  out << text;
  out.close();
  if (!out || chmod(tmp.c_str(), mode) != 0 || rename(tmp.c_str(), path.c_str()) != 0) {
    fprintf(stderr, "wgcore-networkd: cannot write %s: %s\n", path.c_str(), strerror(errno));
    return 1;
  }
  return 0;
}

int cmd_convert(std::string file, const std::string& dir, std::string name) {
  if (name.empty()) {
    auto loc = config::locate_config(file);
    if (!loc) {
      fprintf(stderr, "wgcore-networkd convert: %s\n", loc.error().message.c_str());
      return 1;
    }
    name = loc->interface;
    file = loc->path;
  }
  auto cfg = config::load_wgquick(file);
  if (!cfg) {
    fprintf(stderr, "wgcore-networkd convert: %s\n", cfg.error().message.c_str());
    return 1;
  }
  auto out = convert_wgquick(*cfg, name);
  for (const auto& n : out.notes) fprintf(stderr, "wgcore-networkd convert: %s: %s\n", file.c_str(), n.c_str());
  // The .netdev holds the private key: not world-readable (systemd.netdev(5) suggests
  // root:systemd-network 0640).
  if (write_file(dir + "/" + name + ".netdev", out.netdev, 0640)) return 1;
  if (write_file(dir + "/" + name + ".network", out.network, 0644)) return 1;
  printf("%s/%s.netdev\n%s/%s.network\n", dir.c_str(), name.c_str(), dir.c_str(), name.c_str());
  return 0;
}

int run_daemon(DaemonOptions opts) {
  // Blocked before any thread starts: only the loop's signalfd takes them.
  (void)block_daemon_signals();
  auto loop_r = EventLoop::create();
  if (!loop_r) {
    fprintf(stderr, "wgcore-networkd: %s\n", loop_r.error().message.c_str());
    return 1;
  }
  EventLoop& loop = **loop_r;
  // Route deletions and link changes wake the loop at once: a route networkd removed (say, on
  // `networkctl reconfigure`) comes back on its event, not at the next tick.
  auto events = routing::NetlinkEvents::open();
  if (!events) log::event(log::Prio::kWarning, "%s; routes are checked once a second only", events.error().message.c_str());

  // Edits of the .netdev files are acted on as they happen (debounced), not only on SIGHUP.
  auto watch = DirWatch::open(opts.search.dirs, kHideDropin);
  if (!watch) log::event(log::Prio::kWarning, "%s; file changes need `systemctl reload wgcore-networkd`", watch.error().message.c_str());

  Daemon d(std::move(opts));
  d.start();
  notify("READY=1\nSTATUS=" + d.status_line());
  log::event(log::Prio::kInfo, "%s", d.status_line().c_str());
  auto wd = watchdog_period();
  auto period = std::chrono::milliseconds(1000);
  if (wd && *wd < period) period = *wd;

  bool stopping = false;
  Status st = loop.on_signals({SIGTERM, SIGINT, SIGHUP}, [&](int sig) {
    if (sig != SIGHUP) {
      stopping = true;
      loop.stop();
      return;
    }
    if (stopping) return;
    timespec mono{};
    clock_gettime(CLOCK_MONOTONIC, &mono);
    notify("RELOADING=1\nMONOTONIC_USEC=" +
           std::to_string(std::uint64_t(mono.tv_sec) * 1000000 + std::uint64_t(mono.tv_nsec) / 1000));
    log::event(log::Prio::kInfo, "Reloading");
    d.reload();
    notify("READY=1\nSTATUS=" + d.status_line());
    log::event(log::Prio::kInfo, "%s", d.status_line().c_str());
  });
  if (!st) {
    fprintf(stderr, "wgcore-networkd: %s\n", st.error().message.c_str());
    return 1;
  }
  // A route event or a file change is acted on at once: the daemon's tick does the work.
  if (events)
    (void)loop.add(events->fd(), EPOLLIN, [&](std::uint32_t) {
      if (events->drain()) {
        d.check_routes_now();
        d.tick();
      }
    });
  // An editor writes a file in several steps: act 100 ms after the last change.
  const auto files_timer = loop.create_timer([&] {
    d.files_changed();
    notify("STATUS=" + d.status_line());
    d.tick();
  });
  if (watch)
    (void)loop.add(watch->fd(), EPOLLIN, [&](std::uint32_t) {
      if (watch->drain()) loop.arm_timer(files_timer, std::chrono::milliseconds(100));
    });
  // The periodic duties (retries, re-resolution, routes, recreated devices) and the watchdog.
  EventLoop::TimerId tick_timer = 0;
  tick_timer = loop.create_timer([&] {
    d.tick();
    if (wd) notify("WATCHDOG=1");
    loop.arm_timer(tick_timer, period);
  });
  loop.arm_timer(tick_timer, period);
  loop.run();

  if (events) (void)loop.remove(events->fd());
  if (watch) (void)loop.remove(watch->fd());
  notify("STOPPING=1\nSTATUS=Removing devices");
  log::event(log::Prio::kInfo, "Shutting down");
  d.stop();
  return 0;
}

// A number of seconds for `option`: decimal digits, 1..86400; nothing (and a message) otherwise.
std::optional<std::chrono::seconds> seconds_option(const char* option, const char* text) {
  auto n = text::parse_decimal(text, 86400);
  if (!n || *n == 0) {
    fprintf(stderr, "wgcore-networkd: %s: '%s' is not a number of seconds from 1 to 86400\n", option, text);
    return std::nullopt;
  }
  return std::chrono::seconds(*n);
}

}  // namespace

// getopt_long: an unknown option, a missing value, a malformed number or an option the command
// does not take is an error that names it, with exit status 2.
int main(int argc, char** argv) {
  DaemonOptions opts;
  bool json = false;
  std::optional<std::string> output_dir, name;
  enum { kRoot = 256, kBackend, kNoBus, kReresolve, kRetry, kJson, kOutputDir, kName, kVersion };
  static const option longopts[] = {
      {"root", required_argument, nullptr, kRoot},        {"backend", required_argument, nullptr, kBackend},
      {"no-bus", no_argument, nullptr, kNoBus},           {"reresolve", required_argument, nullptr, kReresolve},
      {"retry", required_argument, nullptr, kRetry},      {"verbose", no_argument, nullptr, 'v'},
      {"json", no_argument, nullptr, kJson},              {"output-dir", required_argument, nullptr, kOutputDir},
      {"name", required_argument, nullptr, kName},        {"help", no_argument, nullptr, 'h'},
      {"version", no_argument, nullptr, kVersion},        {nullptr, 0, nullptr, 0}};
  for (int c; (c = getopt_long(argc, argv, "vh", longopts, nullptr)) != -1;) {
    switch (c) {
      case kRoot: opts.search = SearchPath::networkd(optarg); break;
      case kBackend: {
        auto b = parse_backend_choice(optarg);
        if (!b) {
          fprintf(stderr, "wgcore-networkd: --backend: unknown backend '%s' (expected auto, userspace or kernel)\n", optarg);
          return 2;
        }
        opts.backend = *b;
        break;
      }
      case kNoBus: opts.use_bus = false; break;
      case kReresolve:
      case kRetry: {
        auto secs = seconds_option(c == kRetry ? "--retry" : "--reresolve", optarg);
        if (!secs) return 2;
        (c == kRetry ? opts.retry : opts.reresolve) = *secs;
        break;
      }
      case 'v':
        log::set_debug(true);
        log::set_level(log::Level::kVerbose);
        break;
      case kJson: json = true; break;
      case kOutputDir: output_dir = optarg; break;
      case kName: name = optarg; break;
      case 'h': usage(stdout); return 0;
      case kVersion: printf("wgcore-networkd %s\n", WGCORE_VERSION); return 0;
      default: usage(stderr); return 2;  // getopt_long said which option
    }
  }
  std::vector<std::string> operands(argv + optind, argv + argc);
  const std::string command = operands.empty() ? "run" : operands[0];
  auto refuse = [&](const std::string& what) {
    fprintf(stderr, "wgcore-networkd %s: %s\n", command.c_str(), what.c_str());
    usage(stderr);
    return 2;
  };
  if (command != "run" && command != "status" && command != "check" && command != "convert")
    return refuse("unknown command");
  if (json && command != "status") return refuse("--json is for status only");
  if ((output_dir || name) && command != "convert") return refuse("--output-dir and --name are for convert only");
  if (command == "convert") {
    if (operands.size() != 2) return refuse(operands.size() < 2 ? "needs a wg-quick configuration" : "unexpected argument '" + operands[2] + "'");
    return cmd_convert(operands[1], output_dir.value_or("."), name.value_or(""));
  }
  if (operands.size() > 1) return refuse("unexpected argument '" + operands[1] + "'");
  if (command == "check") return cmd_check(opts.search);
  if (command == "status") return cmd_status(opts.search, json, opts.use_bus);
  log::set_tag("wgcore-networkd");
  return run_daemon(std::move(opts));
}
