// nm-wgcore-service: NetworkManager's VPN service for wgcore profiles. NM starts it from the
// program= line of nm-wgcore-service.name, with --bus-name NAME for each connection since the
// plugin supports several at once. This file only wires: options, the main loop, the guard mode.
#include <glib-unix.h>
#include <signal.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <string>

#include "common/log.hpp"
#include "rule_guard.hpp"
#include "service_plugin.hpp"
#include "vpn_keys.hpp"

namespace {

void usage(FILE* out) {
  fprintf(out,
          "Usage: nm-wgcore-service [--bus-name NAME] [--persist] [--debug]\n"
          "\n"
          "The NetworkManager VPN service for WireGuard profiles of type wgcore. NetworkManager\n"
          "starts it; it owns the D-Bus name %s (or NAME), brings tunnels up\n"
          "on the wgcore engine (userspace datapath, or the kernel module where the profile or\n"
          "the machine says so) and reports addresses, routes and DNS to NetworkManager.\n"
          "\n"
          "      --bus-name NAME  own NAME instead of the default (one instance per connection)\n"
          "      --persist        keep running when NetworkManager leaves the bus\n"
          "      --debug          verbose engine log on stderr (NetworkManager's log)\n"
          "  -h, --help           this help\n"
          "      --version        print the version\n",
          wgcore::nm::kServiceName);
}

std::string self_path(const char* argv0) {
  char buf[4096];
  ssize_t n = ::readlink("/proc/self/exe", buf, sizeof buf - 1);
  if (n > 0) return std::string(buf, std::size_t(n));
  return argv0;
}

void on_quit(NMVpnServicePlugin*, gpointer loop) { g_main_loop_quit(static_cast<GMainLoop*>(loop)); }

gboolean on_signal(gpointer loop) {
  g_main_loop_quit(static_cast<GMainLoop*>(loop));
  return G_SOURCE_REMOVE;
}

}  // namespace

int main(int argc, char** argv) {
  std::string bus_name = wgcore::nm::kServiceName;
  bool persist = false, debug = false;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--cleanup-guard") return wgcore::nm::RuleGuard::run_guard();
    if (a == "--bus-name" && i + 1 < argc) {
      bus_name = argv[++i];
    } else if (a.rfind("--bus-name=", 0) == 0) {
      bus_name = a.substr(11);
    } else if (a == "--persist") {
      persist = true;
    } else if (a == "--debug") {
      debug = true;
    } else if (a == "-h" || a == "--help") {
      usage(stdout);
      return 0;
    } else if (a == "--version") {
      printf("nm-wgcore-service %s\n", WGCORE_VERSION);
      return 0;
    } else {
      fprintf(stderr, "nm-wgcore-service: unknown argument '%s'\n", a.c_str());
      usage(stderr);
      return 1;
    }
  }
  if (bus_name.rfind(wgcore::nm::kServiceName, 0) != 0) {
    fprintf(stderr, "nm-wgcore-service: bus name '%s' is not under %s\n", bus_name.c_str(), wgcore::nm::kServiceName);
    return 1;
  }
  signal(SIGPIPE, SIG_IGN);
  wgcore::log::set_level(debug ? wgcore::log::Level::kVerbose : wgcore::log::level_from_env());
  wgcore::log::set_tag("nm-wgcore");
  g_message("nm-wgcore-service %s: starting as %s (pid %d)", WGCORE_VERSION, bus_name.c_str(), int(getpid()));

  GError* error = nullptr;
  GMainLoop* loop = g_main_loop_new(nullptr, FALSE);
  WgcoreVpnService* service = wgcore_vpn_service_new(bus_name.c_str(), !persist, self_path(argv[0]).c_str(), &error);
  if (!service) {
    g_printerr("nm-wgcore-service: cannot own %s: %s\n", bus_name.c_str(), error ? error->message : "unknown error");
    g_clear_error(&error);
    return 1;
  }
  g_signal_connect(service, "quit", G_CALLBACK(on_quit), loop);
  // SIGTERM/SIGINT: leave the loop so the tunnel comes down through the destructors.
  g_unix_signal_add(SIGTERM, on_signal, loop);
  g_unix_signal_add(SIGINT, on_signal, loop);
  g_main_loop_run(loop);
  // A failed Connect quits right after its error reply was queued; GDBus writes on its own
  // thread, so without a flush the process could exit first and NM would see NoReply ("The VPN
  // service stopped unexpectedly") instead of the reason.
  if (GDBusConnection* bus = nm_vpn_service_plugin_get_connection(NM_VPN_SERVICE_PLUGIN(service))) {
    g_dbus_connection_flush_sync(bus, nullptr, nullptr);
    g_object_unref(bus);
  }
  g_object_unref(service);  // tears down a tunnel still up, then stops the cleanup guard
  g_main_loop_unref(loop);
  return 0;
}
