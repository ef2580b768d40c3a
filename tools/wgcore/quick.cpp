// wg-quick's up/down on libwgcore + routing/; see quick.hpp. Steps and their order follow
// /usr/bin/wg-quick (cmd_up, cmd_down, del_if, save_config); each step is echoed as "[#] ..."
// on stderr the way wg-quick echoes its commands.
#include "quick.hpp"
#include "options.hpp"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <optional>
#include <thread>

#include "wgcore/interface.hpp"
#include "wgcore/wgquick.hpp"
#include "routing/address.hpp"
#include "routing/link.hpp"
#include "routing/quick_firewall.hpp"
#include "routing/wgquick_routes.hpp"

extern char** environ;

namespace wgcore::cli {

namespace {

// Where our netlink request is exactly what an `ip` command sends, the step shows that command
// (as wg-quick does, so logs compare line by line); where no command does what we do (no `wg`
// runs: the configuration goes over the Control API), it says in words what happens.
void step(const std::string& s) { fprintf(stderr, "[#] %s\n", s.c_str()); }

std::string control_path(BackendChoice backend, const std::string& iface) {
  return backend == BackendChoice::kKernel
             ? "generic netlink (kernel module)"
             : "the UAPI socket " + std::string(kUapiSocketDir) + "/" + iface + ".sock";
}

int die(const std::string& msg) {
  fprintf(stderr, "wgcore: %s\n", msg.c_str());
  return 1;
}

void replace_all(std::string& s, const std::string& from, const std::string& to) {
  for (std::size_t pos = 0; (pos = s.find(from, pos)) != std::string::npos; pos += to.size())
    s.replace(pos, from.size(), to);
}

// Runs argv (PATH lookup) with optional stdin text; returns the exit status or -1.
int run(const std::vector<std::string>& argv, const std::string* input = nullptr) {
  int pipefd[2] = {-1, -1};
  if (input && ::pipe2(pipefd, O_CLOEXEC) != 0) return -1;
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  if (input) posix_spawn_file_actions_adddup2(&fa, pipefd[0], 0);
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  pid_t pid;
  int rc = posix_spawnp(&pid, args[0], &fa, nullptr, args.data(), environ);
  posix_spawn_file_actions_destroy(&fa);
  if (input) {
    ::close(pipefd[0]);
    if (rc == 0) {
      ssize_t n = ::write(pipefd[1], input->data(), input->size());
      (void)n;
    }
    ::close(pipefd[1]);
  }
  if (rc != 0) return -1;
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

bool have_command(const std::string& name) {
  const char* path = std::getenv("PATH");
  std::string p = path ? path : "/usr/sbin:/usr/bin:/sbin:/bin";
  std::size_t start = 0;
  while (start <= p.size()) {
    auto colon = p.find(':', start);
    std::string dir = p.substr(start, colon == std::string::npos ? std::string::npos : colon - start);
    if (!dir.empty() && ::access((dir + "/" + name).c_str(), X_OK) == 0) return true;
    if (colon == std::string::npos) break;
    start = colon + 1;
  }
  return false;
}

// Hooks run through bash with %i replaced, like wg-quick's execute_hooks; a failing hook
// fails the command (wg-quick runs under set -e).
Status run_hooks(const std::vector<std::string>& hooks, const std::string& iface) {
  for (std::string h : hooks) {
    replace_all(h, "%i", iface);
    step(h);
    int rc = run({"bash", "-c", h});
    if (rc != 0) return make_error(EIO, "hook failed (exit status " + std::to_string(rc) + "): " + h);
  }
  return {};
}

// resolvconf's interface-order prefix (wg-quick's resolvconf_iface_prefix).
std::string resolvconf_prefix() {
  std::ifstream in("/etc/resolvconf/interface-order");
  std::string line;
  while (std::getline(in, line)) {
    if (line.size() < 2 || line.back() != '*') continue;
    std::string name = line.substr(0, line.size() - 1);
    bool ok = !name.empty();
    for (char c : name)
      if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '-')) ok = false;
    if (ok) return name + ".";
  }
  return "";
}

Status set_dns(const config::WgQuickConfig& c, const std::string& iface) {
  if (c.dns.empty()) return {};
  if (!have_command("resolvconf"))
    return make_error(ENOENT, "DNS is set but resolvconf(8) is not installed (install openresolv or resolvconf)");
  std::string text;
  for (const auto& d : c.dns) text += "nameserver " + d.to_string() + "\n";
  if (!c.dns_search.empty()) {
    text += "search";
    for (const auto& s : c.dns_search) text += " " + s;
    text += "\n";
  }
  std::string name = resolvconf_prefix() + iface;
  step("resolvconf -a " + name + " -m 0 -x");
  if (run({"resolvconf", "-a", name, "-m", "0", "-x"}, &text) != 0)
    return make_error(EIO, "resolvconf -a " + name + " failed");
  return {};
}

void unset_dns(const config::WgQuickConfig& c, const std::string& iface) {
  if (c.dns.empty() || !have_command("resolvconf")) return;
  std::string name = resolvconf_prefix() + iface;
  step("resolvconf -d " + name + " -f");
  run({"resolvconf", "-d", name, "-f"});
}

// wg's wording; it retries temporary resolver failures for a while (the network may be coming up).
Result<Endpoint> resolve_endpoint(const config::EndpointSpec& spec) {
  auto ep = config::resolve_system(spec, 15);
  if (!ep) return make_error(ep.error().code, ep.error().message + ": " + spec.host);
  return ep;
}

std::string self_dir() {
  char buf[4096];
  ssize_t n = ::readlink("/proc/self/exe", buf, sizeof buf - 1);
  if (n <= 0) return "";
  std::string p(buf, std::size_t(n));
  return p.substr(0, p.rfind('/'));
}

std::string wgcored_path() {
  if (const char* e = std::getenv("WGCORE_WGCORED"); e && *e) return e;
  std::string next = self_dir() + "/wgcored";
  if (::access(next.c_str(), X_OK) == 0) return next;
  std::string tree = self_dir() + "/../wgcored/wgcored";
  if (::access(tree.c_str(), X_OK) == 0) return tree;
  return "wgcored";
}

// Starts wgcored (it daemonizes once its TUN and UAPI socket are ready) and waits for the socket.
Status start_userspace(const std::string& iface) {
  std::string bin = wgcored_path();
  step(bin + " " + iface);
  // The daemon must detach: a foreground request in our environment is not meant for it.
  ::unsetenv("WG_PROCESS_FOREGROUND");
  int rc = run({bin, iface});
  if (rc != 0) return make_error(EIO, "starting " + bin + " " + iface + " failed (exit status " + std::to_string(rc) + ")");
  std::string sock = std::string(kUapiSocketDir) + "/" + iface + ".sock";
  for (int i = 0; i < 100; ++i) {
    struct stat st;
    if (::stat(sock.c_str(), &st) == 0 && S_ISSOCK(st.st_mode)) return {};
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return make_error(ETIMEDOUT, bin + " did not create " + sock);
}

bool has_default_route(const DeviceState& d) {
  for (const auto& p : d.peers)
    for (const auto& a : p.allowed_ips)
      if (a.len == 0) return true;
  return false;
}

// wg-quick's del_if: policy rules (when Table is auto and a default route was routed by
// fwmark), then the interface; deleting the TUN ends wgcored.
Status del_if(routing::Netlink& nl, const config::WgQuickConfig& c, const std::string& iface, Control* ctl) {
  bool auto_table = !c.table || c.table->kind == config::RouteTable::Kind::kAuto;
  if (auto_table && ctl != nullptr) {
    auto st = ctl->get();
    if (st && st->fwmark != 0 && has_default_route(*st)) {
      if (Status r = routing::remove_quick_rules(nl, st->fwmark, step); !r) return r;
    }
  }
  step("ip link delete dev " + iface);
  Status st = delete_interface(iface);
  // wg-quick's remove_firewall: its tables go whether or not the link went.
  Status fw = routing::remove_quick_firewall(iface, [](const std::string& s) { step(s); });
  return !st ? st : fw;
}

struct UpArgs {
  std::string conf;
  BackendChoice backend = BackendChoice::kAuto;
};

int usage_up(FILE* out) {
  fprintf(out,
          "Usage: wgcore up CONFIG_FILE|INTERFACE [--backend auto|userspace|kernel]\n"
          "\n"
          "Brings up a WireGuard interface from a wg-quick(8) configuration, as `wg-quick up` does:\n"
          "PreUp hooks, create the interface (userspace: wgcored; kernel: the wireguard module),\n"
          "apply the keys and peers, Address, MTU (automatic when unset), link up, DNS through\n"
          "resolvconf(8), a route per AllowedIPs entry (Table = auto|off|N|NAME; a default route\n"
          "uses fwmark policy routing), PostUp hooks. INTERFACE means /etc/wireguard/INTERFACE.conf.\n"
          "--backend: auto (default) uses the userspace datapath when /dev/net/tun is usable,\n"
          "else the kernel module.\n");
  return out == stdout ? 0 : 2;
}

int usage_down(FILE* out) {
  fprintf(out,
          "Usage: wgcore down CONFIG_FILE|INTERFACE\n"
          "\n"
          "Takes down an interface brought up from a wg-quick(8) configuration, as `wg-quick down`\n"
          "does: PreDown hooks, SaveConfig (writes the live configuration back to the file),\n"
          "policy-routing rules removed, the interface deleted (a userspace daemon exits with it),\n"
          "DNS removed from resolvconf(8), PostDown hooks.\n");
  return out == stdout ? 0 : 2;
}

int usage_backend(FILE* out) {
  fprintf(out,
          "Usage: wgcore backend [INTERFACE] [--backend auto|userspace|kernel]\n"
          "\n"
          "With INTERFACE: which backend serves it (kernel module or a userspace daemon) and how\n"
          "that is known. Without: which backend `wgcore up` would use on this machine, and why.\n");
  return out == stdout ? 0 : 2;
}

// --backend's value; nothing (and a message) if it is none of auto, userspace, kernel.
std::optional<BackendChoice> backend_option(const ParsedArgs& p, const char* command) {
  auto it = p.options.find("backend");
  if (it == p.options.end()) return BackendChoice::kAuto;
  auto b = parse_backend_choice(it->second);
  if (!b)
    fprintf(stderr, "wgcore %s: --backend: unknown backend '%s' (expected auto, userspace or kernel)\n", command,
            it->second.c_str());
  return b;
}

}  // namespace

int cmd_up(const std::vector<std::string>& args) {
  auto opts = parse_options("up", args, {{"backend", true}, {"help", false, 'h'}});
  if (!opts) return usage_up(stderr);
  if (opts->has("help")) return usage_up(stdout);
  if (opts->operands.size() != 1) return usage_up(stderr);
  UpArgs a;
  a.conf = opts->operands[0];
  auto b = backend_option(*opts, "up");
  if (!b) return 2;
  a.backend = *b;
  auto loc = config::locate_config(a.conf);
  if (!loc) return die(loc.error().message);
  auto cfg = config::load_wgquick(loc->path);
  if (!cfg) return die(cfg.error().message);
  const std::string& iface = loc->interface;
  auto nlr = routing::Netlink::open();
  if (!nlr) return die(nlr.error().message);
  routing::Netlink& nl = *nlr;
  if (routing::get_link(nl, iface)) return die("`" + iface + "' already exists");
  auto decision = choose_backend(a.backend);
  if (!decision) return die(decision.error().message);
  step("backend " + decision->reason);

  bool created = false, dns_set = false;
  std::unique_ptr<Interface> kernel_link;  // kernel: ours until everything is up, then kept
  std::unique_ptr<Control> uapi_ctl;       // userspace: wgcored's socket
  Control* ctl = nullptr;
  auto fail = [&](const Error& e) {
    // wg-quick's trap: undo what exists so far.
    if (dns_set) unset_dns(*cfg, iface);
    if (created) {
      Status st = del_if(nl, *cfg, iface, ctl);
      if (!st) fprintf(stderr, "wgcore: %s\n", st.error().message.c_str());
    }
    return die(e.message);
  };

  if (Status st = run_hooks(cfg->pre_up, iface); !st) return fail(st.error());
  if (decision->backend == BackendChoice::kKernel) {
    step("ip link add " + iface + " type wireguard");
    InterfaceOptions io;
    io.name = iface;
    io.backend = BackendChoice::kKernel;
    auto k = Interface::create(io);
    if (!k) return fail(k.error());
    kernel_link = std::move(*k);
    ctl = &kernel_link->control();
    created = true;
  } else {
    // The device must outlive this command: wgcored serves it.
    if (Status st = start_userspace(iface); !st) return fail(st.error());
    created = true;
    auto c = open_interface(iface);
    if (!c) return fail(c.error());
    uapi_ctl = std::move(*c);
    ctl = uapi_ctl.get();
  }
  auto update = config::to_device_update(*cfg, resolve_endpoint);
  if (!update) return fail(update.error());
  step("configure " + iface + " from " + loc->path + " (" + std::to_string(update->peers.size()) +
       " peer(s)) over " + control_path(decision->backend, iface));
  if (Status st = ctl->apply(*update); !st) return fail(st.error());
  for (const auto& addr : cfg->addresses) {
    step(std::string("ip ") + (addr.addr.is_v4() ? "-4" : "-6") + " address add " + addr.to_string() +
         " dev " + iface);
    if (Status st = routing::add_address(nl, iface, addr); !st) return fail(st.error());
  }
  auto state = ctl->get();
  if (!state) return fail(state.error());
  const unsigned mtu = routing::quick_mtu(nl, *cfg, *update);
  step("ip link set mtu " + std::to_string(mtu) + " up dev " + iface);
  if (Status st = routing::set_link_mtu(nl, iface, mtu); !st) return fail(st.error());
  if (Status st = routing::set_link_up(nl, iface, true); !st) return fail(st.error());
  if (Status st = set_dns(*cfg, iface); !st) return fail(st.error());
  dns_set = !cfg->dns.empty();
  routing::QuickRoutesInput in;
  in.iface = iface;
  if (cfg->table) in.table = *cfg->table;
  for (const auto& p : state->peers)
    for (const auto& ip : p.allowed_ips) in.allowed_ips.push_back(ip.canonical());
  in.fwmark = state->fwmark;
  in.set_fwmark = [&](std::uint32_t m) {
    DeviceUpdate u;
    u.fwmark = m;
    return ctl->apply(u);
  };
  auto routed = routing::add_quick_routes(nl, in, step);
  if (!routed) return fail(routed.error());
  if (Status st = run_hooks(cfg->post_up, iface); !st) return fail(st.error());
  if (kernel_link) (void)kernel_link->keep();  // up: the link stays after we exit, as with wg-quick
  return 0;
}

int cmd_down(const std::vector<std::string>& args) {
  auto opts = parse_options("down", args, {{"help", false, 'h'}});
  if (!opts) return usage_down(stderr);
  if (opts->has("help")) return usage_down(stdout);
  if (opts->operands.size() != 1) return usage_down(stderr);
  auto loc = config::locate_config(opts->operands[0]);
  if (!loc) return die(loc.error().message);
  auto cfg = config::load_wgquick(loc->path);
  if (!cfg) return die(cfg.error().message);
  const std::string& iface = loc->interface;
  auto serving = serving_backend(iface);
  if (!serving) return die("`" + iface + "' is not a WireGuard interface");
  auto c = open_interface(iface);
  if (!c) return die(c.error().message);
  std::unique_ptr<Control> ctl = std::move(*c);
  auto nlr = routing::Netlink::open();
  if (!nlr) return die(nlr.error().message);
  routing::Netlink& nl = *nlr;

  if (Status st = run_hooks(cfg->pre_down, iface); !st) return die(st.error().message);
  if (cfg->save_config) {
    // wg-quick's save_config: the live addresses, keys and peers; MTU only when the file had one.
    auto state = ctl->get();
    if (!state) return die(state.error().message);
    config::WgQuickConfig saved = *cfg;
    auto addrs = routing::list_addresses(nl, iface);
    if (!addrs) return die(addrs.error().message);
    saved.addresses = *addrs;
    if (cfg->mtu) {
      auto l = routing::get_link(nl, iface);
      if (l) saved.mtu = l->mtu;
    }
    saved.private_key = state->private_key;
    saved.listen_port = state->listen_port ? std::optional<std::uint16_t>(state->listen_port) : std::nullopt;
    saved.fwmark = state->fwmark ? std::optional<std::uint32_t>(state->fwmark) : std::nullopt;
    saved.peers.clear();
    for (const auto& p : state->peers) {
      config::WgQuickPeer q;
      q.public_key = p.public_key;
      q.preshared_key = p.preshared_key;
      q.allowed_ips = p.allowed_ips;
      if (p.endpoint) {
        IpAddr ip = p.endpoint->ip();
        q.endpoint = config::EndpointSpec{ip.to_string(), p.endpoint->port()};
      }
      if (p.persistent_keepalive_interval) q.persistent_keepalive = p.persistent_keepalive_interval;
      saved.peers.push_back(std::move(q));
    }
    step("save the running configuration of " + iface + " (read over " + control_path(serving->backend, iface) +
         ") to " + loc->path);
    if (Status st = config::save_wgquick(loc->path, saved); !st) return die(st.error().message);
  }
  if (Status st = del_if(nl, *cfg, iface, ctl.get()); !st) return die(st.error().message);
  unset_dns(*cfg, iface);
  if (Status st = run_hooks(cfg->post_down, iface); !st) return die(st.error().message);
  return 0;
}

int cmd_backend(const std::vector<std::string>& args) {
  auto opts = parse_options("backend", args, {{"backend", true}, {"help", false, 'h'}});
  if (!opts) return usage_backend(stderr);
  if (opts->has("help")) return usage_backend(stdout);
  if (opts->operands.size() > 1) return usage_backend(stderr);
  auto want_choice = backend_option(*opts, "backend");
  if (!want_choice) return 2;
  const BackendChoice want = *want_choice;
  const std::string iface = opts->operands.empty() ? std::string() : opts->operands[0];
  auto d = iface.empty() ? choose_backend(want) : serving_backend(iface);
  if (!d) return die(d.error().message);
  printf("%s\n", d->reason.c_str());
  return 0;
}

}  // namespace wgcore::cli
