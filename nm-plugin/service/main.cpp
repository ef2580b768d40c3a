// nm-wgcore-service: NetworkManager's VPN service for wgcore profiles. NM starts it from the
// program= line of nm-wgcore-service.name, with --bus-name NAME for each connection since the
// plugin supports several at once. This file only wires: options, the main loop, the guard mode.
#include <glib-unix.h>
#include <signal.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <string>

#include "wgcore/log.hpp"
#include "rule_guard.hpp"
#include "service_plugin.hpp"
#include "vpn_keys.hpp"

namespace {

constexpr const char* kSummary =
    "The NetworkManager VPN service for WireGuard profiles of type wgcore. NetworkManager\n"
    "starts it; it owns the D-Bus name org.freedesktop.NetworkManager.wgcore (or NAME), brings\n"
    "tunnels up on the wgcore engine (userspace datapath, or the kernel module where the profile\n"
    "or the machine says so) and reports addresses, routes and DNS to NetworkManager.";

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
  // GOptionContext, as NetworkManager's own VPN services parse theirs: an unknown option or a
  // missing value is an error naming it (exit status 2); --help comes from GLib.
  gchar* bus_name_opt = nullptr;
  gboolean persist = FALSE, debug = FALSE, version = FALSE, guard = FALSE;
  GOptionEntry entries[] = {
      {"bus-name", 0, 0, G_OPTION_ARG_STRING, &bus_name_opt, "Own NAME instead of the default (one instance per connection)", "NAME"},
      {"persist", 0, 0, G_OPTION_ARG_NONE, &persist, "Keep running when NetworkManager leaves the bus", nullptr},
      {"debug", 0, 0, G_OPTION_ARG_NONE, &debug, "Verbose engine log on stderr (NetworkManager's log)", nullptr},
      {"version", 0, 0, G_OPTION_ARG_NONE, &version, "Print the version", nullptr},
      {"cleanup-guard", 0, G_OPTION_FLAG_HIDDEN, G_OPTION_ARG_NONE, &guard, "internal: the rule guard", nullptr},
      {nullptr, 0, 0, G_OPTION_ARG_NONE, nullptr, nullptr, nullptr}};
  GOptionContext* ctx = g_option_context_new(nullptr);
  g_option_context_set_summary(ctx, kSummary);
  g_option_context_add_main_entries(ctx, entries, nullptr);
  GError* opt_error = nullptr;
  const bool parsed = g_option_context_parse(ctx, &argc, &argv, &opt_error);
  g_option_context_free(ctx);
  if (!parsed || argc > 1) {
    fprintf(stderr, "nm-wgcore-service: %s (see --help)\n",
            parsed ? ("unexpected argument '" + std::string(argv[1]) + "'").c_str() : opt_error->message);
    g_clear_error(&opt_error);
    return 2;
  }
  if (guard) return wgcore::nm::RuleGuard::run_guard();
  if (version) {
    printf("nm-wgcore-service %s\n", WGCORE_VERSION);
    return 0;
  }
  std::string bus_name = bus_name_opt ? bus_name_opt : wgcore::nm::kServiceName;
  g_free(bus_name_opt);
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
