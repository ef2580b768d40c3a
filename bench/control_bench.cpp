// Configuration at routing and churn scale, wgcored against wireguard-go in the same run, both
// driven over their UAPI sockets exactly as `wg` drives them (issue 15): one prefix added or
// removed next to 100 000, one peer added or removed next to 10 000, a bulk set of 10 000 peers,
// `get` with 10 000 peers, and idle memory per peer (RSS growth over the 10 000). Single changes
// are repeated and the median reported, each daemon at rest before its series, the two taking
// turns, under three placements: unpinned, both on the client's CPU ("one CPU"), and the daemon
// on another CPU than the client ("two CPUs"); see Placement for why. The ratio column is
// wireguard-go's time over wgcored's (above 1: wgcored is faster). Not pass/fail: the machine is
// shared and noisy.
//
// Use (as root; the program moves itself into a private network namespace):
//   control_bench [--wgcored PATH] [--peer PATH] [--peers N] [--prefixes N] [--v6-prefixes N]
//                 [--reps N]
// Defaults: $WGCORED, the newest wireguard-go in ../shared/peers/ beside the source tree (else
// `wireguard-go` on PATH, named as such in the report), 10 000 peers, 100 000 prefixes, 21 reps
// per round (three rounds: 63 of each single change per placement).
#include <dirent.h>
#include <sched.h>
#include <signal.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <set>
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

// The daemons running now, so that an exit on error (Side::must, without unwinding) ends them too.
std::set<pid_t>& running_daemons() {
  static std::set<pid_t> pids;
  return pids;
}
// Ends a daemon this program started and still runs (once, however it is reached).
void end_daemon(pid_t pid) {
  if (running_daemons().erase(pid) == 0) return;
  ::kill(pid, SIGTERM);
  int st;
  ::waitpid(pid, &st, 0);
}
void end_running_daemons() {
  while (!running_daemons().empty()) end_daemon(*running_daemons().begin());
}

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
    if (pid_ > 0) running_daemons().insert(pid_);
  }
  ~Daemon() { end_daemon(pid_); }
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

// Where the client (this program) and the daemon run during single changes. A single change's
// time here is mostly two wakeups, the daemon's and then the client's; a wakeup on another CPU
// (an interprocessor interrupt, and on a VM an exit) costs several times one on the same CPU, and
// the scheduler keeps whichever placement a run happened to start with. Unpinned, two daemons
// measured one after the other can land differently, and the ratio then says where they landed
// (measured on the 2-CPU VM: 0.016 ms same CPU, 0.074 ms across, for one and the same wgcored).
// So each single change is measured unpinned, then with every thread of both pinned to one CPU,
// then with the daemon's threads on a CPU other than the client's: the same placement for both
// daemons, named in the row.
enum class Placement { kFree, kSameCpu, kOtherCpu };
// Each series starts with the daemon at rest this long. The scheduler places a woken thread by
// its recent load: right after bulk work a daemon's is woken on the idle CPU, away from the
// client, a rested one on the client's (the same wgcored, unpinned: 0.06-0.07 ms straight after
// the big set, 0.017-0.023 ms 50 ms later). Long enough for that load average (32 ms half-life)
// to forget the bulk work; not so long that the VM's CPUs go to rest, which made every later
// request slower for a while (after 500 ms, adding a peer on one CPU: 0.13-0.16 ms, against
// 0.02-0.03 after 50-150).
constexpr auto kSettle = std::chrono::milliseconds(100);
constexpr int kRounds = 3;  // series per daemon and placement; a cell is the median of them all

// The CPUs this program may use when it starts: "free" restores them.
const cpu_set_t& allowed_cpus() {
  static const cpu_set_t set = [] {
    cpu_set_t s;
    CPU_ZERO(&s);
    if (::sched_getaffinity(0, sizeof s, &s) != 0) CPU_SET(0, &s);
    return s;
  }();
  return set;
}

// The n-th allowed CPU, or -1.
int nth_cpu(int n) {
  for (int cpu = 0; cpu < CPU_SETSIZE; ++cpu)
    if (CPU_ISSET(cpu, &allowed_cpus()) && n-- == 0) return cpu;
  return -1;
}

std::vector<Placement> placements() {
  if (nth_cpu(1) < 0) {
    std::fprintf(stderr, "control_bench: one CPU only: single changes measured unpinned and on it\n");
    return {Placement::kFree, Placement::kSameCpu};
  }
  return {Placement::kFree, Placement::kSameCpu, Placement::kOtherCpu};
}

const char* placement_suffix(Placement p) {
  switch (p) {
    case Placement::kFree: return "";
    case Placement::kSameCpu: return ", one CPU";
    case Placement::kOtherCpu: return ", two CPUs";
  }
  return "";
}

// Pins this program and every thread of `daemon` (threads it starts later inherit the mask).
bool place(pid_t daemon, Placement p) {
  cpu_set_t mine = allowed_cpus(), theirs = allowed_cpus();
  if (p != Placement::kFree) {
    CPU_ZERO(&mine);
    CPU_SET(nth_cpu(0), &mine);
    CPU_ZERO(&theirs);
    CPU_SET(nth_cpu(p == Placement::kSameCpu ? 0 : 1), &theirs);
  }
  if (::sched_setaffinity(0, sizeof mine, &mine) != 0) return false;
  // Again until a walk finds no thread it had not pinned: a thread the daemon starts during a
  // walk, from one not yet pinned, would otherwise keep the old mask.
  const std::string tasks = "/proc/" + std::to_string(daemon) + "/task";
  std::set<pid_t> pinned;
  bool ok = true;
  for (bool found_new = true; found_new;) {
    found_new = false;
    DIR* dir = ::opendir(tasks.c_str());
    if (!dir) return false;
    while (dirent* e = ::readdir(dir)) {
      if (e->d_name[0] == '.') continue;
      const pid_t tid = pid_t(std::atoi(e->d_name));
      if (!pinned.insert(tid).second) continue;
      found_new = true;
      // A thread may end between the listing and the call; the others must still be pinned.
      if (::sched_setaffinity(tid, sizeof theirs, &theirs) != 0 && errno != ESRCH) ok = false;
    }
    ::closedir(dir);
  }
  return ok;
}

using Results = std::map<std::string, double>;

// One daemon under test: its process, a client on its socket, the peers it holds, its rows.
struct Side {
  Side(const std::string& path, const std::string& ifname) : name(ifname), d(path, ifname) {}
  std::string name;
  Daemon d;
  std::unique_ptr<uapi::UapiClient> c;
  fakes::SeededRandom rng{42};
  std::vector<Key> keys;
  Results r;

  void must(const Status& st, const char* what) const {
    if (!st) {
      std::fprintf(stderr, "error: %s: %s: %s\n", name.c_str(), what, st.error().message.c_str());
      std::exit(1);
    }
  }
  // Milliseconds one apply took.
  double timed(const DeviceUpdate& u, const char* what) {
    auto t0 = Clock::now();
    must(c->apply(u), what);
    return ms_since(t0);
  }
};

// Everything but single changes, one daemon at a time: they are long, and their ratios large.
bool load(const Options& o, Side& s) {
  if (s.d.pid() <= 0 || !s.d.wait_ready()) {
    std::fprintf(stderr, "error: %s did not start (no socket %s)\n", s.name.c_str(), s.d.socket().c_str());
    return false;
  }
  s.c = std::make_unique<uapi::UapiClient>(s.d.socket(), std::chrono::seconds(600));
  DeviceUpdate base;
  base.private_key = random_key(s.rng);
  base.listen_port = 0;
  s.must(s.c->apply(base), "private key");
  (void)s.c->get();
  const long rss0 = rss_kib(s.d.pid());

  // Bulk set: N peers, one /32 each (the issue's `wg setconf` shape), replacing all peers.
  DeviceUpdate bulk;
  bulk.replace_peers = true;
  for (int i = 0; i < o.peers; ++i) {
    PeerUpdate p;
    p.public_key = random_key(s.rng);
    s.keys.push_back(p.public_key);
    p.allowed_ips = {{AllowedIpOp::Kind::kAdd, prefix4(0x0a000000u + std::uint32_t(i), 32)}};
    bulk.peers.push_back(p);
  }
  s.r["bulk set of N peers (ms)"] = s.timed(bulk, "bulk set");

  std::vector<double> gets;
  for (int i = 0; i < 5; ++i) {
    auto t0 = Clock::now();
    auto got = s.c->get();
    gets.push_back(ms_since(t0));
    if (!got || int(got->peers.size()) != o.peers) {
      std::fprintf(stderr, "error: %s: get returned %zu peers\n", s.name.c_str(), got ? got->peers.size() : 0);
      return false;
    }
  }
  s.r["get with N peers (ms)"] = median(gets);
  const long rss1 = rss_kib(s.d.pid());
  s.r["idle memory per peer (bytes, RSS)"] = double(rss1 - rss0) * 1024.0 / o.peers;

  // One peer takes M prefixes (in one set, as a routing feed's first batch would).
  DeviceUpdate big;
  PeerUpdate bp;
  bp.public_key = s.keys[0];
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
  s.r["set M prefixes on one peer (ms)"] = s.timed(big, "M prefixes");
  return true;
}

// Single changes under each placement (see Placement), each daemon's series at rest first, the
// two taking turns series by series (three rounds, the order swapped each round) so that what
// else the shared machine does falls on both alike. Not request by request: wireguard-go's
// runtime spins for a while after each answer, and on one CPU that delayed whichever daemon was
// asked next (wgcored's peer additions measured 0.14-0.22 ms that way, 0.06 ms in a series).
bool single_changes(const Options& o, std::vector<Side*> sides) {
  std::uint32_t n = 0;
  for (Placement where : placements()) {
    for (Side* s : sides)
      if (!place(s->d.pid(), where)) {
        std::fprintf(stderr, "error: %s: could not pin its threads\n", s->name.c_str());
        return false;
      }
    std::map<Side*, std::array<std::vector<double>, 4>> times;
    for (int round = 0; round < kRounds; ++round) {
      for (std::size_t k = 0; k < sides.size(); ++k) {
        Side* s = sides[round % 2 ? sides.size() - 1 - k : k];
        auto& t = times[s];
        std::this_thread::sleep_for(kSettle);  // at rest first, as a `wg set` finds a daemon
        for (int i = 0; i < o.reps; ++i, ++n) {
          DeviceUpdate peer;
          PeerUpdate p;
          p.public_key = random_key(s->rng);
          p.allowed_ips = {{AllowedIpOp::Kind::kAdd, prefix4(0x0b000000u + n, 32)}};
          peer.peers.push_back(p);
          t[0].push_back(s->timed(peer, "add one peer"));
          peer.peers[0] = PeerUpdate{};
          peer.peers[0].public_key = p.public_key;
          peer.peers[0].remove = true;
          t[1].push_back(s->timed(peer, "remove one peer"));
        }
        for (int i = 0; i < o.reps; ++i, ++n) {
          DeviceUpdate prefix;
          PeerUpdate q;
          q.public_key = s->keys[0];
          q.update_only = true;
          q.allowed_ips = {{AllowedIpOp::Kind::kAdd, prefix4(0xc0a80000u + ((n & 0xffffu) << 8), 24)}};
          prefix.peers.push_back(q);
          t[2].push_back(s->timed(prefix, "add one prefix"));
          prefix.peers[0].allowed_ips[0].kind = AllowedIpOp::Kind::kRemove;
          t[3].push_back(s->timed(prefix, "remove one prefix"));
        }
      }
    }
    const std::string tail = std::string(placement_suffix(where)) + " (ms)";
    for (Side* s : sides) {
      s->r["add 1 peer next to N" + tail] = median(times[s][0]);
      s->r["remove 1 peer of N" + tail] = median(times[s][1]);
      s->r["add 1 prefix next to M" + tail] = median(times[s][2]);
      s->r["remove 1 prefix of M" + tail] = median(times[s][3]);
    }
  }
  for (Side* s : sides) {
    (void)place(s->d.pid(), Placement::kFree);
    s->r["RSS with N peers and M prefixes (MiB)"] = double(rss_kib(s->d.pid())) / 1024.0;
  }
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
  (void)allowed_cpus();  // before anything is pinned
  std::atexit(end_running_daemons);
  Side ours(o.wgcored, "wgcb" + tag + "a");
  if (!load(o, ours)) return 1;
  Side theirs(o.peer, "wgcb" + tag + "b");
  if (!load(o, theirs)) return 1;
  if (!single_changes(o, {&ours, &theirs})) return 1;

  std::printf("control_bench: N = %d peers, M = %d IPv4 + %d IPv6 prefixes; single changes: median of "
              "%d requests (%d rounds of %d) per cell\n",
              o.peers, o.prefixes, o.v6_prefixes, kRounds * o.reps, kRounds, o.reps);
  std::printf("peer: %s\n\n", o.peer.c_str());
  std::printf("| %-40s | %12s | %12s | %8s |\n", "", "wgcored", "wireguard-go", "ratio");
  std::printf("|%s|%s|%s|%s|\n", std::string(42, '-').c_str(), std::string(14, '-').c_str(),
              std::string(14, '-').c_str(), std::string(10, '-').c_str());
  for (const auto& [row, v] : ours.r) {
    const double w = theirs.r[row];
    std::printf("| %-40s | %12.3f | %12.3f | %7.2fx |\n", row.c_str(), v, w, v > 0 ? w / v : 0.0);
  }
  return 0;
}
