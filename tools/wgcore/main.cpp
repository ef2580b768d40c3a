// wgcore: the extended CLI. `wgcore show [IFACE] [--json]` reads any WireGuard interface through
// the Control API (whatever backend serves it); `wgcore backend` explains the backend choice;
// `wgcore up|down` do wg-quick's job (quick.cpp). Wiring only: logic lives in the libraries.
#include <cstdio>
#include <ctime>
#include <string>
#include <vector>

#include "support/json.hpp"
#include "wgcore/interface.hpp"
#include "options.hpp"
#include "quick.hpp"

namespace {

void usage(FILE* out) {
  fprintf(out,
          "Usage: wgcore <command> [arguments]\n"
          "\n"
          "Commands:\n"
          "  show [INTERFACE] [--json]   current configuration and statistics of one or all\n"
          "                              interfaces (private and preshared keys are never printed)\n"
          "  backend [INTERFACE]         which backend serves INTERFACE and why, or which one\n"
          "                              `up` would use on this machine (auto) and why\n"
          "  up CONFIG|INTERFACE [--backend auto|userspace|kernel]\n"
          "                              bring up an interface from a wg-quick(8) config\n"
          "  down CONFIG|INTERFACE       take it down again (SaveConfig, hooks, routes, DNS)\n"
          "  help                        this help\n"
          "  version                     print the version (also --version)\n"
          "\n"
          "`wgcore COMMAND --help` describes one command.\n");
}

std::string bytes_text(std::uint64_t b) {
  char buf[64];
  if (b < 1024) snprintf(buf, sizeof buf, "%llu B", (unsigned long long)b);
  else if (b < 1024ULL * 1024) snprintf(buf, sizeof buf, "%.2f KiB", b / 1024.0);
  else if (b < 1024ULL * 1024 * 1024) snprintf(buf, sizeof buf, "%.2f MiB", b / (1024.0 * 1024));
  else if (b < 1024ULL * 1024 * 1024 * 1024) snprintf(buf, sizeof buf, "%.2f GiB", b / (1024.0 * 1024 * 1024));
  else snprintf(buf, sizeof buf, "%.2f TiB", b / (1024.0 * 1024 * 1024 * 1024));
  return buf;
}

std::string ago_text(std::int64_t when) {
  std::int64_t s = std::int64_t(time(nullptr)) - when;
  if (s < 0) s = 0;
  if (s == 0) return "Now";
  std::string out;
  auto part = [&](std::int64_t n, const char* unit) {
    if (!n) return;
    if (!out.empty()) out += ", ";
    out += std::to_string(n) + " " + unit + (n == 1 ? "" : "s");
  };
  part(s / 86400, "day");
  part(s / 3600 % 24, "hour");
  part(s / 60 % 60, "minute");
  part(s % 60, "second");
  return out + " ago";
}

std::string drops_text(const wgcore::DropCounts& drops) {
  std::string out;
  for (const auto& [reason, n] : drops) out += (out.empty() ? "" : ", ") + reason + " " + std::to_string(n);
  return out;
}

void print_text(const std::string& name, const std::string& backend, const wgcore::DeviceState& d) {
  printf("interface: %s\n", name.c_str());
  printf("  backend: %s\n", backend.c_str());
  if (d.public_key) printf("  public key: %s\n", wgcore::to_base64(*d.public_key).c_str());
  if (d.private_key) printf("  private key: (hidden)\n");
  if (d.listen_port) printf("  listening port: %u\n", d.listen_port);
  if (d.fwmark) printf("  fwmark: 0x%x\n", d.fwmark);
  if (!d.drops.empty()) printf("  dropped: %s\n", drops_text(d.drops).c_str());
  for (const auto& p : d.peers) {
    printf("\npeer: %s\n", wgcore::to_base64(p.public_key).c_str());
    if (p.preshared_key) printf("  preshared key: (hidden)\n");
    if (p.endpoint) printf("  endpoint: %s\n", p.endpoint->to_string().c_str());
    std::string ips;
    for (const auto& a : p.allowed_ips) ips += (ips.empty() ? "" : ", ") + a.to_string();
    printf("  allowed ips: %s\n", ips.empty() ? "(none)" : ips.c_str());
    if (p.last_handshake_time_sec) printf("  latest handshake: %s\n", ago_text(p.last_handshake_time_sec).c_str());
    if (p.rx_bytes || p.tx_bytes)
      printf("  transfer: %s received, %s sent\n", bytes_text(p.rx_bytes).c_str(), bytes_text(p.tx_bytes).c_str());
    if (p.persistent_keepalive_interval)
      printf("  persistent keepalive: every %u seconds\n", p.persistent_keepalive_interval);
    if (!p.drops.empty()) printf("  dropped: %s\n", drops_text(p.drops).c_str());
  }
}

void write_drops(wgcore::JsonWriter& w, const wgcore::DropCounts& drops) {
  w.key("drops").begin_object();
  for (const auto& [reason, n] : drops) w.key(reason).value(n);
  w.end_object();
}

void write_json(wgcore::JsonWriter& w, const std::string& name, const std::string& backend,
                const wgcore::DeviceState& d) {
  w.begin_object();
  w.key("name").value(name);
  w.key("backend").value(backend);
  w.key("public_key");
  if (d.public_key) w.value(wgcore::to_base64(*d.public_key)); else w.null();
  w.key("has_private_key").value(d.private_key.has_value());
  w.key("listen_port").value(unsigned(d.listen_port));
  w.key("fwmark").value(unsigned(d.fwmark));
  write_drops(w, d.drops);
  w.key("peers").begin_array();
  for (const auto& p : d.peers) {
    w.begin_object();
    w.key("public_key").value(wgcore::to_base64(p.public_key));
    w.key("has_preshared_key").value(p.preshared_key.has_value());
    w.key("endpoint");
    if (p.endpoint) w.value(p.endpoint->to_string()); else w.null();
    w.key("allowed_ips").begin_array();
    for (const auto& a : p.allowed_ips) w.value(a.to_string());
    w.end_array();
    w.key("latest_handshake").value(p.last_handshake_time_sec);
    w.key("latest_handshake_nsec").value(p.last_handshake_time_nsec);
    w.key("rx_bytes").value(p.rx_bytes);
    w.key("tx_bytes").value(p.tx_bytes);
    w.key("persistent_keepalive").value(unsigned(p.persistent_keepalive_interval));
    write_drops(w, p.drops);
    w.end_object();
  }
  w.end_array();
  w.end_object();
}

void usage_show(FILE* out) {
  fprintf(out,
          "Usage: wgcore show [INTERFACE...|all] [--json]\n"
          "\n"
          "Current configuration and statistics of one or all WireGuard interfaces, whatever\n"
          "backend serves them. Private and preshared keys are never printed.\n");
}

int show(const std::vector<std::string>& args) {
  auto p = wgcore::cli::parse_options("show", args, {{"json", false}, {"help", false, 'h'}});
  if (!p) {
    usage_show(stderr);
    return 2;
  }
  if (p->has("help")) {
    usage_show(stdout);
    return 0;
  }
  const bool json = p->has("json");
  std::vector<std::string> names;
  for (const auto& a : p->operands)
    if (a != "all") names.push_back(a);
  bool explicit_names = !names.empty();
  if (!explicit_names) names = wgcore::list_interfaces();
  int rc = 0;
  wgcore::JsonWriter w;
  w.begin_object().key("interfaces").begin_array();
  bool first = true;
  for (const auto& name : names) {
    auto ctl = wgcore::open_interface(name);
    if (!ctl) {
      fprintf(stderr, "wgcore: %s\n", ctl.error().message.c_str());
      rc = 1;
      continue;
    }
    auto state = (*ctl)->get();
    if (!state) {
      fprintf(stderr, "wgcore: %s: %s\n", name.c_str(), state.error().message.c_str());
      rc = 1;
      continue;
    }
    if (json) {
      write_json(w, name, (*ctl)->backend(), *state);
    } else {
      if (!first) printf("\n");
      print_text(name, (*ctl)->backend(), *state);
    }
    first = false;
  }
  w.end_array().end_object();
  if (json) printf("%s\n", w.str().c_str());
  return rc;
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  if (args.empty()) return show({});
  std::string cmd = args[0];
  args.erase(args.begin());
  if (cmd == "show") return show(args);
  if (cmd == "backend") return wgcore::cli::cmd_backend(args);
  if (cmd == "up") return wgcore::cli::cmd_up(args);
  if (cmd == "down") return wgcore::cli::cmd_down(args);
  if (cmd == "help" || cmd == "--help" || cmd == "-h") {
    usage(stdout);
    return 0;
  }
  if (cmd == "--version" || cmd == "version") {
    printf("wgcore v%s\n", WGCORE_VERSION);
    return 0;
  }
  fprintf(stderr, "wgcore: unknown %s '%s'\n", cmd.rfind("-", 0) == 0 ? "option" : "command", cmd.c_str());
  usage(stderr);
  return 2;
}
