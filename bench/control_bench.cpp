// Configuration at routing and churn scale, wgcored against wireguard-go in the same run, both
// driven over their UAPI sockets exactly as `wg` drives them (issue 15): one prefix added or
// removed next to 100 000, one peer added or removed next to 10 000, a bulk set of 10 000 peers,
// `get` with 10 000 peers, and idle memory per peer (RSS growth over the 10 000). Single changes
// are repeated and the median reported; the ratio column is wireguard-go's time over wgcored's
// (above 1: wgcored is faster). Not pass/fail: the machine is shared and noisy.
//
// Use (as root; the program moves itself into a private network namespace):
//   control_bench [--wgcored PATH] [--peer PATH] [--peers N] [--prefixes N] [--v6-prefixes N]
//                 [--reps N]
// Defaults: $WGCORED, the newest wireguard-go in ../shared/peers/ beside the source tree (else
// `wireguard-go` on PATH, named as such in the report), 10 000 peers, 100 000 prefixes, 21 reps.
#include <signal.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <functional>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "core/testing/fakes.hpp"
#include "testing/private_netns.hpp"
#include "uapi/uapi_client.hpp"

extern char** environ;

namespace wgcore {
namespace {

using Clock = std::chrono::steady_clock;

struct Options {
  std::string wgcored;
  std::string peer;
  int peers = 10'000;
  int prefixes = 100'000;
  int v6_prefixes = 0;  // IPv6 /48s on the same peer (a full BGP table: 1 000 000 + 100 000)
  int reps = 21;
};

double ms_since(Clock::time_point t0) {
  return std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0 : v[v.size() / 2];
}

long rss_kib(pid_t pid) {
  std::ifstream f("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(f, line))
    if (line.rfind("VmRSS:", 0) == 0) return std::strtol(line.c_str() + 6, nullptr, 10);
  return -1;
}

using fakes::prefix4;
using fakes::random_key;

// A daemon in the foreground on interface `name`, until destroyed.
class Daemon {
 public:
  Daemon(const std::string& path, const std::string& name) : name_(name) {
    std::vector<std::string> args = {path, "-f", name};
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    std::vector<std::string> env_store = {"LOG_LEVEL=error", "PATH=/usr/sbin:/usr/bin:/sbin:/bin"};
    std::vector<char*> envp;
    for (auto& e : env_store) envp.push_back(e.data());
    envp.push_back(nullptr);
    if (posix_spawn(&pid_, path.c_str(), nullptr, nullptr, argv.data(), envp.data()) != 0) pid_ = -1;
  }
  ~Daemon() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGTERM);
    int st;
    ::waitpid(pid_, &st, 0);
  }
  pid_t pid() const { return pid_; }
  std::string socket() const { return std::string(uapi::kDefaultSocketDir) + "/" + name_ + ".sock"; }
  bool wait_ready() const {
    for (int i = 0; i < 200; ++i) {
      struct stat st;
      if (::stat(socket().c_str(), &st) == 0 && S_ISSOCK(st.st_mode)) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return false;
  }

 private:
  std::string name_;
  pid_t pid_ = -1;
};

using Results = std::map<std::string, double>;

// Every measurement against one daemon; keys are row names.
bool measure(const Options& o, const std::string& path, const std::string& name, Results& r) {
  Daemon d(path, name);
  if (d.pid() <= 0 || !d.wait_ready()) {
    std::fprintf(stderr, "error: %s did not start (no socket %s)\n", path.c_str(), d.socket().c_str());
    return false;
  }
  uapi::UapiClient c(d.socket(), std::chrono::seconds(600));
  auto must = [&](const Status& st, const char* what) {
    if (!st) {
      std::fprintf(stderr, "error: %s: %s: %s\n", name.c_str(), what, st.error().message.c_str());
      std::exit(1);
    }
  };
  fakes::SeededRandom rng(42);
  DeviceUpdate base;
  base.private_key = random_key(rng);
  base.listen_port = 0;
  must(c.apply(base), "private key");
  (void)c.get();
  const long rss0 = rss_kib(d.pid());

  // Bulk set: N peers, one /32 each (the issue's `wg setconf` shape), replacing all peers.
  DeviceUpdate bulk;
  bulk.replace_peers = true;
  std::vector<Key> keys;
  for (int i = 0; i < o.peers; ++i) {
    PeerUpdate p;
    p.public_key = random_key(rng);
    keys.push_back(p.public_key);
    p.allowed_ips = {{AllowedIpOp::Kind::kAdd, prefix4(0x0a000000u + std::uint32_t(i), 32)}};
    bulk.peers.push_back(p);
  }
  auto t0 = Clock::now();
  must(c.apply(bulk), "bulk set");
  r["bulk set of N peers (ms)"] = ms_since(t0);

  std::vector<double> gets;
  for (int i = 0; i < 5; ++i) {
    t0 = Clock::now();
    auto s = c.get();
    gets.push_back(ms_since(t0));
    if (!s || int(s->peers.size()) != o.peers) {
      std::fprintf(stderr, "error: %s: get returned %zu peers\n", name.c_str(), s ? s->peers.size() : 0);
      return false;
    }
  }
  r["get with N peers (ms)"] = median(gets);
  const long rss1 = rss_kib(d.pid());
  r["idle memory per peer (bytes, RSS)"] = double(rss1 - rss0) * 1024.0 / o.peers;

  std::vector<double> adds, removes;
  for (int i = 0; i < o.reps; ++i) {
    DeviceUpdate add;
    PeerUpdate p;
    p.public_key = random_key(rng);
    p.allowed_ips = {{AllowedIpOp::Kind::kAdd, prefix4(0x0b000000u + std::uint32_t(i), 32)}};
    add.peers.push_back(p);
    t0 = Clock::now();
    must(c.apply(add), "add one peer");
    adds.push_back(ms_since(t0));
    DeviceUpdate rm;
    PeerUpdate q;
    q.public_key = p.public_key;
    q.remove = true;
    rm.peers.push_back(q);
    t0 = Clock::now();
    must(c.apply(rm), "remove one peer");
    removes.push_back(ms_since(t0));
  }
  r["add 1 peer next to N (ms)"] = median(adds);
  r["remove 1 peer of N (ms)"] = median(removes);

  // One peer takes M prefixes (in one set, as a routing feed's first batch would).
  DeviceUpdate big;
  PeerUpdate bp;
  bp.public_key = keys[0];
  bp.update_only = true;
  for (int i = 0; i < o.prefixes; ++i)
    bp.allowed_ips.push_back({AllowedIpOp::Kind::kAdd, prefix4(0x40000000u + (std::uint32_t(i) << 8), 24)});
  for (int i = 0; i < o.v6_prefixes; ++i) {
    IpPrefix p;  // 2001:db8::/32 is too small for 100 000 /48s: 2a00::/12 as a transit table has it
    p.addr.family = IpAddr::Family::V6;
    p.addr.bytes[0] = 0x2a;
    p.addr.bytes[1] = std::uint8_t(i >> 24);
    p.addr.bytes[2] = std::uint8_t(i >> 16);
    p.addr.bytes[3] = std::uint8_t(i >> 8);
    p.addr.bytes[4] = std::uint8_t(i);
    p.len = 48;
    bp.allowed_ips.push_back({AllowedIpOp::Kind::kAdd, p});
  }
  big.peers.push_back(bp);
  t0 = Clock::now();
  must(c.apply(big), "M prefixes");
  r["set M prefixes on one peer (ms)"] = ms_since(t0);

  std::vector<double> padds, premoves;
  for (int i = 0; i < o.reps; ++i) {
    DeviceUpdate add;
    PeerUpdate p;
    p.public_key = keys[0];
    p.update_only = true;
    p.allowed_ips = {{AllowedIpOp::Kind::kAdd, prefix4(0xc0a80000u + (std::uint32_t(i) << 8), 24)}};
    add.peers.push_back(p);
    t0 = Clock::now();
    must(c.apply(add), "add one prefix");
    padds.push_back(ms_since(t0));
    add.peers[0].allowed_ips[0].kind = AllowedIpOp::Kind::kRemove;
    t0 = Clock::now();
    must(c.apply(add), "remove one prefix");
    premoves.push_back(ms_since(t0));
  }
  r["add 1 prefix next to M (ms)"] = median(padds);
  r["remove 1 prefix of M (ms)"] = median(premoves);
  r["RSS with N peers and M prefixes (MiB)"] = double(rss_kib(d.pid())) / 1024.0;
  return true;
}

std::string default_peer() {
  if (const char* src = std::getenv("WGCORE_SOURCE_ROOT")) {
    std::string p = std::string(src) + "/../shared/peers/wireguard-go-0.0.20250522";
    if (::access(p.c_str(), X_OK) == 0) return p;
  }
  return "/usr/bin/wireguard-go";
}

}  // namespace
}  // namespace wgcore

int main(int argc, char** argv) {
  using namespace wgcore;
  Options o;
  if (const char* w = std::getenv("WGCORED")) o.wgcored = w;
  o.peer = default_peer();
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "error: %s needs a value\n", a.c_str());
        std::exit(2);
      }
      return argv[++i];
    };
    auto number = [&]() {
      std::string v = value();
      char* end = nullptr;
      long n = std::strtol(v.c_str(), &end, 10);
      if (v.empty() || *end != '\0' || n <= 0) {
        std::fprintf(stderr, "error: %s: not a positive number: %s\n", a.c_str(), v.c_str());
        std::exit(2);
      }
      return int(n);
    };
    if (a == "--wgcored") o.wgcored = value();
    else if (a == "--peer") o.peer = value();
    else if (a == "--peers") o.peers = number();
    else if (a == "--prefixes") o.prefixes = number();
    else if (a == "--v6-prefixes") o.v6_prefixes = number();
    else if (a == "--reps") o.reps = number();
    else {
      std::fprintf(stderr,
                   "usage: control_bench [--wgcored PATH] [--peer PATH] [--peers N] [--prefixes N] "
                   "[--v6-prefixes N] [--reps N]\nerror: unknown argument %s\n", a.c_str());
      return 2;
    }
  }
  if (o.wgcored.empty()) {
    std::fprintf(stderr, "error: no wgcored: set WGCORED or pass --wgcored PATH\n");
    return 2;
  }
  if (const auto& why = testing_support::private_netns_problem(); !why.empty()) {
    std::fprintf(stderr, "error: %s\n", why.c_str());
    return 1;
  }
  const std::string tag = std::to_string(::getpid() % 100000);
  Results ours, theirs;
  if (!measure(o, o.wgcored, "wgcb" + tag + "a", ours)) return 1;
  if (!measure(o, o.peer, "wgcb" + tag + "b", theirs)) return 1;

  std::printf("control_bench: N = %d peers, M = %d IPv4 + %d IPv6 prefixes, %d repetitions (median)\n",
              o.peers, o.prefixes, o.v6_prefixes, o.reps);
  std::printf("peer: %s\n\n", o.peer.c_str());
  std::printf("| %-40s | %12s | %12s | %8s |\n", "", "wgcored", "wireguard-go", "ratio");
  std::printf("|%s|%s|%s|%s|\n", std::string(42, '-').c_str(), std::string(14, '-').c_str(),
              std::string(14, '-').c_str(), std::string(10, '-').c_str());
  for (const auto& [row, v] : ours) {
    const double w = theirs[row];
    std::printf("| %-40s | %12.3f | %12.3f | %7.2fx |\n", row.c_str(), v, w, v > 0 ? w / v : 0.0);
  }
  return 0;
}
