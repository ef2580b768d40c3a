// frr-wgd: one binary for the daemon (`frr-wgd daemon`) and its client (`frr-wgd show ...`,
// `approve`, `reload` over the control socket). Wiring only; the logic is in src/.
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include <getopt.h>
#include <sys/stat.h>

#include "src/config.hpp"
#include "src/control_socket.hpp"
#include "src/daemon.hpp"
#include "src/frr_snippet.hpp"

using namespace wgcore::frrwgd;

namespace {

void usage(FILE* out) {
  fprintf(out,
          "Usage: frr-wgd [-f CONFIG] [-s SOCKET] COMMAND [ARGS]\n"
          "\n"
          "Keeps WireGuard AllowedIPs and FRR routes in step under an explicit trust policy.\n"
          "\n"
          "Daemon:\n"
          "  daemon                  run in the foreground (logs to stderr; SIGHUP reloads)\n"
          "  check                   parse the configuration, print a summary or the error\n"
          "Client (talks to the running daemon over its control socket):\n"
          "  show peers|imported|pending|refused|exported|counters|policy [json]\n"
          "  show frr-config [zebra|bgpd]\n"
          "                          the FRR configuration this setup needs (whole: for vtysh -f;\n"
          "                          a part: that daemon's configuration file)\n"
          "  approve PEER PREFIX [INTERFACE]\n"
          "                          accept a prefix waiting for approval (peer name or key)\n"
          "  reload                  re-read the configuration, apply only the differences\n"
          "\n"
          "Options:\n"
          "  -f, --config FILE       configuration (default %s)\n"
          "  -s, --socket PATH       control socket (default: the configuration's\n"
          "                          control-socket, else %s)\n"
          "  -h, --help              this help\n"
          "      --version           print the version\n"
          "\n"
          "See frr-wgd(8) and docs/frr-wgd.md.\n",
          kDefaultConfigPath, kDefaultControlSocket);
}

bool exists(const std::string& p) {
  struct stat st;
  return stat(p.c_str(), &st) == 0;
}

}  // namespace

int main(int argc, char** argv) {
  std::string config_path;
  std::string socket_path;
  // getopt_long, options before the command ('+': the command's own words are not options):
  // an unknown option or a missing value is an error naming it, exit status 2.
  enum { kVersion = 256 };
  static const option longopts[] = {{"config", required_argument, nullptr, 'f'},
                                    {"socket", required_argument, nullptr, 's'},
                                    {"help", no_argument, nullptr, 'h'},
                                    {"version", no_argument, nullptr, kVersion},
                                    {nullptr, 0, nullptr, 0}};
  for (int c; (c = getopt_long(argc, argv, "+f:s:h", longopts, nullptr)) != -1;) {
    switch (c) {
      case 'f': config_path = optarg; break;
      case 's': socket_path = optarg; break;
      case 'h': usage(stdout); return 0;
      case kVersion: printf("frr-wgd %s\n", WGCORE_VERSION); return 0;
      default: usage(stderr); return 2;  // getopt_long said which option
    }
  }
  std::vector<std::string> args(argv + optind, argv + argc);
  if (!args.empty() && args[0] == "help") {
    usage(stdout);
    return 0;
  }
  if (args.empty()) {
    usage(stderr);
    return 2;
  }
  const bool explicit_config = !config_path.empty();
  if (config_path.empty()) config_path = kDefaultConfigPath;

  if (args[0] == "daemon" || args[0] == "check") {
    auto cfg = load_config(config_path);
    if (!cfg) {
      fprintf(stderr, "frr-wgd: %s\n", cfg.error().message.c_str());
      return 1;
    }
    if (args[0] == "check") {
      std::size_t peers = 0;
      for (const auto& i : cfg->interfaces) peers += i.peers.size();
      printf("%s: OK: %zu interface(s), %zu peer(s), %zu prefix-list(s)\n", config_path.c_str(),
             cfg->interfaces.size(), peers, cfg->prefix_lists.size());
      return 0;
    }
    if (!socket_path.empty()) cfg->control_socket = socket_path;
    auto d = Daemon::start(std::move(*cfg));
    if (!d) {
      fprintf(stderr, "frr-wgd: %s\n", d.error().message.c_str());
      return 1;
    }
    return (*d)->run();
  }

  if (args[0] != "show" && args[0] != "approve" && args[0] != "reload") {
    fprintf(stderr, "frr-wgd: unknown command '%s'\n", args[0].c_str());
    usage(stderr);
    return 2;
  }
  // The client reads only the socket's path from the file; the daemon validates the rest.
  if (socket_path.empty()) socket_path = control_socket_of(config_path);
  auto r = control_request(socket_path, args);
  if (!r) {
    // The FRR snippet only needs the configuration: print it without a daemon too.
    if (args.size() >= 2 && args.size() <= 3 && args[0] == "show" && args[1] == "frr-config" &&
        (explicit_config || exists(config_path))) {
      auto part = args.size() == 3 ? parse_snippet_part(args[2]) : std::optional<SnippetPart>(SnippetPart::kAll);
      if (!part) {
        fprintf(stderr, "frr-wgd: show frr-config: expected zebra or bgpd, got '%s'\n", args[2].c_str());
        return 2;
      }
      auto cfg = load_config(config_path);
      if (cfg) {
        fputs(frr_config_snippet(*cfg, *part).c_str(), stdout);
        return 0;
      }
      fprintf(stderr, "frr-wgd: %s\nfrr-wgd: and no daemon to ask: %s\n", cfg.error().message.c_str(),
              r.error().message.c_str());
      return 1;
    }
    fprintf(stderr, "frr-wgd: %s\n", r.error().message.c_str());
    return 1;
  }
  fputs(r->text.c_str(), r->status == 0 ? stdout : stderr);
  return r->status;
}
