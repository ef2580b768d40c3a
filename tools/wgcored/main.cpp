// wgcored: the userspace WireGuard daemon, with wireguard-go's command-line contract so that
// `WG_QUICK_USERSPACE_IMPLEMENTATION=wgcored wg-quick up wg0` and stock `wg` work unchanged.
// This file only wires: the device and the UAPI server are in libwgcore.
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <string>

#include "wgcore/event_loop.hpp"
#include "wgcore/interface.hpp"
#include "wgcore/log.hpp"
#include "support/signals.hpp"
#include "privileges.hpp"

namespace {

void usage(FILE* out) {
  fprintf(out,
          "Usage: wgcored [OPTIONS] INTERFACE-NAME\n"
          "\n"
          "Creates the TUN interface INTERFACE-NAME (or attaches to a persistent one) and runs a\n"
          "userspace WireGuard device on it, configured through the UAPI socket\n"
          "/var/run/wireguard/INTERFACE-NAME.sock (use `wg`). Daemonizes unless -f/--foreground or\n"
          "WG_PROCESS_FOREGROUND=1. Logs to stderr at LOG_LEVEL=verbose|debug|error|silent\n"
          "(default error). Exits, removing the interface, on SIGTERM/SIGINT or when the interface\n"
          "is deleted. After setup it drops every capability but CAP_NET_ADMIN (fwmark) and\n"
          "CAP_NET_BIND_SERVICE (ports below 1024), which later configuration changes need.\n"
          "Kernel offloads (UDP GSO/GRO, TUN TSO and checksum offload) are used where the kernel has\n"
          "them; WGCORE_OFFLOADS=0 turns them all off. Bulk traffic is sealed and opened on up to\n"
          "one thread per usable CPU, started with load and ended when idle;\n"
          "WGCORE_CRYPTO_THREADS=N caps that (1: the event-loop thread only).\n"
          "\n"
          "  -f, --foreground      stay in the foreground\n"
          "      --user USER       run as USER (name or uid) after setup\n"
          "      --group GROUP     run as GROUP (name or gid) after setup (default: USER's group)\n"
          "      --drop-all-caps   keep no capability at all (fwmark and ports < 1024 then fail)\n"
          "      --socket-dir DIR  UAPI socket directory (default /var/run/wireguard; stock `wg`\n"
          "                        looks only there)\n"
          "  -h, --help            this help\n"
          "      --version         print the version\n");
}

// Creates the device and serves it until a signal or the interface goes away. `ready` is a
// pipe to the parent when daemonized: one byte 0 on success, else the error text.
int run(const std::string& iface, const std::string& socket_dir,
        const wgcored::PrivilegeOptions& privs, int ready) {
  auto report = [&](const std::string& msg) {
    if (ready >= 0) {
      std::string out = msg.empty() ? std::string(1, '\0') : msg;
      ssize_t n = write(ready, out.data(), out.size());
      (void)n;
      close(ready);
      ready = -1;
    }
  };

  // Block the signals before any thread starts, so that only the loop's signalfd takes them.
  (void)wgcore::block_daemon_signals();
  auto loop = wgcore::EventLoop::create();
  if (!loop) {
    std::string msg = "Failed to create the event loop: " + loop.error().message;
    wgcore::log::error("%s", msg.c_str());
    report(msg);
    return 1;
  }

  if (auto err = wgcored::prepare_socket_dir(socket_dir); !err.empty()) {
    std::string msg = "Failed to prepare the uapi socket directory: " + err;
    wgcore::log::error("%s", msg.c_str());
    report(msg);
    return 1;
  }
  // The device and its UAPI socket, as every program of ours creates an interface.
  wgcore::InterfaceOptions opts;
  opts.name = iface;
  opts.backend = wgcore::BackendChoice::kUserspace;
  opts.uapi_dir = socket_dir;
  // The interface deleted from outside (`ip link del`, wg-quick down) ends the daemon at once.
  bool gone = false;
  opts.on_gone = [&loop = *loop, &gone] {
    loop->post([&] {
      gone = true;
      loop->stop();
    });
  };
  auto dev = wgcore::Interface::create(opts);
  if (!dev) {
    std::string msg = "Failed to create the device: " + dev.error().message;
    wgcore::log::error("%s", msg.c_str());
    report(msg);
    return 1;
  }
  wgcore::log::verbose("Device started");
  wgcore::log::verbose("UAPI listener started");
  // Setup is done: the TUN is open, UDP is bound and the socket listens. Nothing after this
  // needs more than CAP_NET_ADMIN and CAP_NET_BIND_SERVICE; a failed drop is fatal, never a
  // daemon with more rights than it was asked to keep.
  if (auto err = wgcored::drop_privileges(privs); !err.empty()) {
    std::string msg = "Failed to drop privileges: " + err;
    wgcore::log::error("%s", msg.c_str());
    report(msg);
    return 1;
  }
  wgcore::log::verbose("Privileges dropped (uid %u, gid %u, CAP_NET_ADMIN and "
                       "CAP_NET_BIND_SERVICE %s)",
                       unsigned(getuid()), unsigned(getgid()),
                       privs.drop_all_caps ? "dropped" : "kept if held");
  report("");

  (void)(*loop)->on_signals({SIGTERM, SIGINT}, [&](int) {
    wgcore::log::verbose("Shutting down");
    (*loop)->stop();
  });
  if ((*dev)->alive()) (*loop)->run();  // until a signal or the interface goes away
  if (gone) wgcore::log::verbose("Interface closed, shutting down");
  dev->reset();  // stops serving, removes the socket and closes the TUN: the kernel removes the interface
  wgcore::log::verbose("Device closed");
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  bool foreground = false;
  std::string iface;
  std::string socket_dir = wgcore::kUapiSocketDir;
  wgcored::PrivilegeOptions privs;
  std::optional<gid_t> user_gid;
  // getopt_long: unknown options, missing values and extra words are errors (exit 2) that name
  // what was wrong, as in every GNU tool.
  enum { kUser = 256, kGroup, kDropAllCaps, kSocketDir, kVersion };
  static const option longopts[] = {
      {"foreground", no_argument, nullptr, 'f'},  {"user", required_argument, nullptr, kUser},
      {"group", required_argument, nullptr, kGroup}, {"drop-all-caps", no_argument, nullptr, kDropAllCaps},
      {"socket-dir", required_argument, nullptr, kSocketDir}, {"help", no_argument, nullptr, 'h'},
      {"version", no_argument, nullptr, kVersion},  {nullptr, 0, nullptr, 0}};
  for (int c; (c = getopt_long(argc, argv, "fh", longopts, nullptr)) != -1;) {
    switch (c) {
      case 'f': foreground = true; break;
      case kUser: {
        uid_t uid = 0;
        if (auto err = wgcored::parse_user(optarg, uid, user_gid); !err.empty()) {
          fprintf(stderr, "wgcored: --user: %s\n", err.c_str());
          return 2;
        }
        privs.uid = uid;
        break;
      }
      case kGroup: {
        gid_t gid = 0;
        if (auto err = wgcored::parse_group(optarg, gid); !err.empty()) {
          fprintf(stderr, "wgcored: --group: %s\n", err.c_str());
          return 2;
        }
        privs.gid = gid;
        break;
      }
      case kDropAllCaps: privs.drop_all_caps = true; break;
      case kSocketDir: socket_dir = optarg; break;
      case 'h': usage(stdout); return 0;
      case kVersion: printf("wgcored v%s\n", WGCORE_VERSION); return 0;
      default: usage(stderr); return 2;  // getopt_long said which option
    }
  }
  if (optind != argc - 1) {
    if (optind < argc - 1) fprintf(stderr, "wgcored: unexpected argument '%s' after the interface name\n", argv[optind + 1]);
    else fprintf(stderr, "wgcored: no interface name\n");
    usage(stderr);
    return 2;
  }
  iface = argv[optind];
  if (iface.size() >= 16) {
    fprintf(stderr, "wgcored: interface name '%s' is longer than 15 characters\n", iface.c_str());
    return 1;
  }
  if (privs.uid && !privs.gid) {
    if (!user_gid) {
      fprintf(stderr, "wgcored: user %u has no passwd entry: give --group too\n",
              unsigned(*privs.uid));
      return 1;
    }
    privs.gid = user_gid;
  }
  const char* fg = getenv("WG_PROCESS_FOREGROUND");
  if (fg && std::string(fg) == "1") foreground = true;
  wgcore::log::set_level(wgcore::log::level_from_env());
  wgcore::log::set_tag(iface);

  if (foreground) return run(iface, socket_dir, privs, -1);

  // Daemonize before any thread exists: the child does the work and tells the parent through a
  // pipe whether the device came up, so `wg-quick up` sees failures in our exit status.
  int fds[2];
  if (pipe(fds) != 0) {
    perror("wgcored: pipe");
    return 1;
  }
  pid_t pid = fork();
  if (pid < 0) {
    perror("wgcored: fork");
    return 1;
  }
  if (pid > 0) {
    close(fds[1]);
    char buf[512];
    ssize_t n = read(fds[0], buf, sizeof buf - 1);
    close(fds[0]);
    if (n == 1 && buf[0] == '\0') return 0;
    if (n > 0) {
      buf[n] = 0;
      fprintf(stderr, "%s\n", buf);
    }
    return 1;
  }
  close(fds[0]);
  setsid();
  if (chdir("/") != 0) { /* keep going: nothing depends on cwd */ }
  // stdin/stdout go to /dev/null; stderr stays for logs (wireguard-go keeps it too).
  int null = open("/dev/null", O_RDWR);
  if (null >= 0) {
    dup2(null, 0);
    dup2(null, 1);
    if (null > 2) close(null);
  }
  return run(iface, socket_dir, privs, fds[1]);
}
