// frr-wgd's Daemon whole, on its own event loop, driven turn by turn: a real userspace WireGuard
// interface in a private network namespace (what the daemon reads and changes, found the way
// `wg` finds it), a TCP client standing in for zebra's FPM connection (the fake route feed: the
// frames zebra's dplane_fpm_nl sends, nexthop objects and all), the control socket, signals and
// the vtysh push. Needs root and /dev/net/tun; skips without them, fails under CI=true.
#include "daemon.hpp"

#include <gtest/gtest.h>
#include <net/if.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <future>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <thread>

#include "control_socket.hpp"
#include "test_helpers.hpp"
#include "test_messages.hpp"
#include "testing/netns.hpp"
#include "wgcore/interface.hpp"

namespace wgcore::frrwgd {
namespace {

namespace msg = routing::feed::testmsg;
using test::key;
using test::P;
using namespace std::chrono_literals;

constexpr std::uint32_t kNhB = 1;  // zebra's nexthop objects for the two peers
constexpr std::uint32_t kNhC = 2;

constexpr std::uint16_t kFpmPort = 2620;  // the namespace is the test's own: nothing else binds it

// zebra's end of the FPM connection: frames written as zebra writes them, starting as zebra
// does with its nexthop objects (one per peer, on the WireGuard interface).
class FakeZebra {
 public:
  explicit FakeZebra(int ifindex) {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    sa.sin_port = htons(kFpmPort);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(fd_, reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0) {
      ::close(fd_);
      fd_ = -1;
      return;
    }
    send(msg::nexthop(kNhB, "10.99.0.2", std::uint32_t(ifindex)));
    send(msg::nexthop(kNhC, "10.99.0.3", std::uint32_t(ifindex)));
  }
  ~FakeZebra() { close(); }
  bool ok() const { return fd_ >= 0; }
  void close() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }
  void send(const msg::Bytes& netlink) { send_raw(msg::frame(netlink)); }
  void send_raw(const msg::Bytes& b) {
    const std::uint8_t* p = b.data();
    std::size_t n = b.size();
    while (n > 0) {
      ssize_t w = ::write(fd_, p, n);
      ASSERT_GT(w, 0);
      p += w;
      n -= std::size_t(w);
    }
  }
  // A route per prefix on the peer's nexthop object.
  void announce(const std::vector<std::string>& prefixes, std::uint32_t nh) {
    msg::Bytes batch;
    for (const auto& p : prefixes) {
      auto slash = p.find('/');
      auto m = msg::frame(msg::route(RTM_NEWROUTE, p.substr(0, slash).c_str(),
                                     std::uint8_t(std::stoi(p.substr(slash + 1))), nh));
      batch.insert(batch.end(), m.begin(), m.end());
    }
    send_raw(batch);
  }
  void withdraw(const std::string& p, std::uint32_t nh) {
    auto slash = p.find('/');
    send(msg::route(RTM_DELROUTE, p.substr(0, slash).c_str(), std::uint8_t(std::stoi(p.substr(slash + 1))), nh));
  }

 private:
  int fd_ = -1;
};

// n /24s from 198.18.0.0 on (198.18.0.0/15 holds 512).
std::vector<std::string> site_b_prefixes(int n, int from = 0) {
  std::vector<std::string> out;
  for (int i = from; i < from + n; ++i)
    out.push_back("198." + std::to_string(18 + i / 256) + "." + std::to_string(i % 256) + ".0/24");
  return out;
}

std::set<std::string> as_set(const std::vector<std::string>& v) { return {v.begin(), v.end()}; }

class DaemonTest : public testing_support::TunTest {
 protected:
  void SetUp() override {
    TunTest::SetUp();
    if (HasFatalFailure() || IsSkipped()) return;
    char tmpl[] = "/tmp/frr-wgd-daemon-test-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    // The UAPI socket is where `wg` (and frr-wgd) look, /var/run/wireguard, which namespaces do
    // not separate: the name is this process's own.
    name_ = "fwd" + std::to_string(::getpid() % 1000000);
    InterfaceOptions o;
    o.name = name_;
    o.backend = BackendChoice::kUserspace;
    auto i = Interface::create(o);
    ASSERT_TRUE(i.ok()) << i.error().message;
    iface_ = std::move(*i);
    ifindex_ = int(if_nametoindex(name_.c_str()));
    ASSERT_GT(ifindex_, 0);
    // Peer b has a static AllowedIP frr-wgd must never touch.
    DeviceUpdate u;
    PeerUpdate b;
    b.public_key = key(2);
    b.allowed_ips.push_back({AllowedIpOp::Kind::kAdd, P("10.99.0.2/32")});
    PeerUpdate c;
    c.public_key = key(3);
    u.peers = {b, c};
    ASSERT_TRUE(iface_->control().apply(u).ok());
    write_config("198.18.0.0/15");
  }
  void TearDown() override {
    daemon_.reset();
    iface_.reset();
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }

  std::string config_path() const { return dir_ + "/frr-wgd.conf"; }
  void write_config(const std::string& site_b_list, const std::string& extra = "", bool with_interface = true) {
    std::ofstream f(config_path());
    f << "control-socket " << dir_ << "/run/frr-wgd.sock\n"
      << "state-directory " << dir_ << "/state\n"
      << "fpm listen 127.0.0.1 port " << kFpmPort << "\n"
      << "fpm sweep-delay 150\n"
      << "fpm replay-hold 300\n"
      << "refresh-interval 200\n"
      << extra << "ip prefix-list SITE-B seq 10 permit " << site_b_list << " le 32\n"
      << "ip prefix-list SITE-C seq 10 permit 198.51.100.0/24 le 32\n";
    if (with_interface)
      f << "interface " << name_ << "\n"
        << " peer b public-key " << to_base64(key(2)) << "\n"
        << "  tunnel-address 10.99.0.2\n"
        << "  prefix-list ipv4 SITE-B\n"
        << " peer c public-key " << to_base64(key(3)) << "\n"
        << "  tunnel-address 10.99.0.3\n"
        << "  prefix-list ipv4 SITE-C\n"
        << "exit\n";
  }
  void start() {
    auto cfg = load_config(config_path());
    ASSERT_TRUE(cfg.ok()) << cfg.error().message;
    auto d = Daemon::start(std::move(*cfg));
    ASSERT_TRUE(d.ok()) << d.error().message;
    daemon_ = std::move(*d);
  }
  // Turns of the daemon's loop until pred() holds or 10 s passed; returns pred().
  template <class Pred>
  bool pump(Pred pred, std::chrono::milliseconds limit = 10s) {
    const auto end = std::chrono::steady_clock::now() + limit;
    while (!pred() && std::chrono::steady_clock::now() < end) daemon_->run_once(20ms);
    return pred();
  }
  void pump_for(std::chrono::milliseconds d) {
    pump([] { return false; }, d);
  }
  // What the device has (read through its own Control, as `wg show` would).
  std::set<std::string> allowed(const Key& peer) {
    std::set<std::string> out;
    auto st = iface_->control().get();
    EXPECT_TRUE(st.ok());
    if (!st) return out;
    for (const auto& p : st->peers)
      if (p.public_key == peer)
        for (const auto& a : p.allowed_ips) out.insert(a.to_string());
    return out;
  }
  std::set<std::string> imported_b() {
    auto s = allowed(key(2));
    s.erase("10.99.0.2/32");
    return s;
  }
  std::string state_file() const { return dir_ + "/state/" + name_ + ".imports"; }

  std::string dir_;
  std::string name_;
  int ifindex_ = 0;
  std::unique_ptr<Interface> iface_;
  std::unique_ptr<Daemon> daemon_;
};

TEST_F(DaemonTest, FpmReplayInstallsAndItsSweepWithdrawsOnlyWhatZebraNoLongerHas) {
  ASSERT_NO_FATAL_FAILURE(start());
  FakeZebra z(ifindex_);
  ASSERT_TRUE(z.ok());
  const auto b = site_b_prefixes(512);
  z.announce(b, kNhB);
  z.announce({"198.51.100.0/25", "198.51.100.128/25"}, kNhC);
  z.announce({"203.0.113.0/24"}, kNhB);  // no prefix-list of b permits it
  ASSERT_TRUE(pump([&] { return daemon_->counters().sweeps == 1; })) << "the replay never ended";
  EXPECT_EQ(imported_b(), as_set(b));
  EXPECT_EQ(allowed(key(3)), (std::set<std::string>{"198.51.100.0/25", "198.51.100.128/25"}));
  EXPECT_TRUE(allowed(key(2)).count("10.99.0.2/32")) << "the static AllowedIP stays";
  EXPECT_TRUE(std::filesystem::exists(state_file()));
  EXPECT_EQ(daemon_->counters().fpm_connects, 1u);

  // A route zebra withdraws leaves at once; one it adds arrives at once (no replay pending).
  z.withdraw(b[0], kNhB);
  ASSERT_TRUE(pump([&] { return !imported_b().count(b[0]); }));
  EXPECT_EQ(imported_b().size(), 511u);

  // zebra restarts: the connection drops, every import stays, a new connection replays only
  // half of b's routes and c's. Until the replay is over nothing is removed; then exactly the
  // routes not replayed are.
  z.close();
  ASSERT_TRUE(pump([&] { return daemon_->counters().fpm_disconnects == 1; }));
  EXPECT_EQ(imported_b().size(), 511u) << "a disconnect removed imports";
  FakeZebra z2(ifindex_);
  ASSERT_TRUE(z2.ok());
  const auto half = site_b_prefixes(256, 256);
  z2.announce(half, kNhB);
  z2.announce({"198.51.100.0/25", "198.51.100.128/25"}, kNhC);
  const auto updates_before = daemon_->counters().route_updates;
  ASSERT_TRUE(pump([&] { return daemon_->counters().route_updates >= updates_before + 258; }));
  EXPECT_TRUE(daemon_->replay_pending());
  EXPECT_EQ(imported_b().size(), 511u) << "imports removed before the replay was over";
  ASSERT_TRUE(pump([&] { return daemon_->counters().sweeps == 2; }));
  EXPECT_EQ(imported_b(), as_set(half));
  EXPECT_EQ(allowed(key(3)).size(), 2u);
  // 255 of b's and the refused 203.0.113.0/24: routes the daemon knew, not only its imports.
  EXPECT_EQ(daemon_->counters().swept_routes, 256u);
  EXPECT_TRUE(allowed(key(2)).count("10.99.0.2/32"));
}

TEST_F(DaemonTest, BrokenStreamDropsTheConnectionAndTheNextOneIsServed) {
  ASSERT_NO_FATAL_FAILURE(start());
  FakeZebra z(ifindex_);
  ASSERT_TRUE(z.ok());
  z.announce(site_b_prefixes(4), kNhB);
  ASSERT_TRUE(pump([&] { return daemon_->counters().sweeps == 1; }));
  ASSERT_EQ(imported_b().size(), 4u);
  // A protobuf frame (type 2): the stream cannot be resynchronised; the daemon drops it.
  z.send_raw(msg::frame(msg::route(RTM_NEWROUTE, "198.18.9.0", 24, kNhB), 1, 2));
  ASSERT_TRUE(pump([&] { return daemon_->counters().fpm_disconnects == 1; }));
  EXPECT_EQ(daemon_->counters().feed_errors, 1u);
  EXPECT_EQ(imported_b().size(), 4u);
  // Connections come and go many times (the descriptor number is reused each time): every new
  // one is read.
  for (int round = 0; round < 20; ++round) {
    FakeZebra again(ifindex_);
    ASSERT_TRUE(again.ok());
    again.announce(site_b_prefixes(4 + round % 2), kNhB);
    const auto connects = daemon_->counters().fpm_connects;
    ASSERT_TRUE(pump([&] { return daemon_->counters().fpm_connects == connects + 1; })) << "round " << round;
    const auto updates = daemon_->counters().route_updates;
    again.announce({"198.51.100.0/24"}, kNhC);
    ASSERT_TRUE(pump([&] { return daemon_->counters().route_updates > updates; })) << "round " << round;
  }
  ASSERT_TRUE(pump([&] { return !daemon_->replay_pending(); }));
  EXPECT_EQ(imported_b(), as_set(site_b_prefixes(5)));
  EXPECT_EQ(allowed(key(3)), std::set<std::string>{"198.51.100.0/24"});
}

TEST_F(DaemonTest, ReloadAppliesTheDifferenceRefusesABadFileAndFollowsSighup) {
  ASSERT_NO_FATAL_FAILURE(start());
  FakeZebra z(ifindex_);
  ASSERT_TRUE(z.ok());
  const auto b = site_b_prefixes(512);
  z.announce(b, kNhB);
  z.announce({"198.51.100.0/24"}, kNhC);
  ASSERT_TRUE(pump([&] { return daemon_->counters().sweeps == 1; }));
  ASSERT_EQ(imported_b().size(), 512u);

  // Narrowed: 198.19.0.0/16 leaves b; c is not touched.
  write_config("198.18.0.0/16");
  Reply r = daemon_->command({"reload"});
  EXPECT_EQ(r.status, 0) << r.text;
  EXPECT_EQ(imported_b(), as_set(site_b_prefixes(256)));
  EXPECT_EQ(allowed(key(3)), std::set<std::string>{"198.51.100.0/24"});

  // A file with an error changes nothing and says where the error is.
  {
    std::ofstream f(config_path(), std::ios::app);
    f << "bogus-keyword 1\n";
  }
  r = daemon_->command({"reload"});
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.text.find(config_path() + ":"), std::string::npos) << r.text;
  EXPECT_NE(r.text.find("bogus-keyword"), std::string::npos) << r.text;
  EXPECT_EQ(imported_b().size(), 256u);
  EXPECT_EQ(daemon_->counters().reload_errors, 1u);

  // Widened again, by SIGHUP through the loop: the routes zebra still has come back.
  write_config("198.18.0.0/15");
  const auto reloads = daemon_->counters().reloads;
  ASSERT_EQ(::raise(SIGHUP), 0);
  ASSERT_TRUE(pump([&] { return daemon_->counters().reloads == reloads + 1; }));
  EXPECT_EQ(imported_b(), as_set(b));

  // The interface leaves the configuration: its imports leave the device, the static one stays,
  // and its state file goes.
  write_config("198.18.0.0/15", "", false);
  r = daemon_->command({"reload"});
  EXPECT_EQ(r.status, 0) << r.text;
  EXPECT_EQ(allowed(key(2)), std::set<std::string>{"10.99.0.2/32"});
  EXPECT_TRUE(allowed(key(3)).empty());
  EXPECT_FALSE(std::filesystem::exists(state_file()));
  // zebra keeps sending: nothing is imported for an interface no longer managed.
  z.announce({"198.18.7.0/25"}, kNhB);
  const auto updates = daemon_->counters().route_updates;
  ASSERT_TRUE(pump([&] { return daemon_->counters().route_updates > updates; }));
  EXPECT_EQ(allowed(key(2)), std::set<std::string>{"10.99.0.2/32"});
}

TEST_F(DaemonTest, ImportsSurviveARestartOfTheDaemonUntilTheReplaySaysOtherwise) {
  ASSERT_NO_FATAL_FAILURE(start());
  {
    FakeZebra z(ifindex_);
    ASSERT_TRUE(z.ok());
    z.announce(site_b_prefixes(8), kNhB);
    ASSERT_TRUE(pump([&] { return daemon_->counters().sweeps == 1; }));
  }
  daemon_.reset();  // stops: imports stay on the device
  EXPECT_EQ(imported_b().size(), 8u);
  ASSERT_NO_FATAL_FAILURE(start());
  pump_for(400ms);  // no zebra yet: nothing is removed
  EXPECT_EQ(imported_b().size(), 8u);
  FakeZebra z(ifindex_);
  ASSERT_TRUE(z.ok());
  z.announce(site_b_prefixes(3), kNhB);
  ASSERT_TRUE(pump([&] { return daemon_->counters().sweeps == 1; }));
  EXPECT_EQ(imported_b(), as_set(site_b_prefixes(3)));
}

TEST_F(DaemonTest, ReloadIsAnsweredOnceTheVtyshPushCarryingItEnded) {
  // vtysh stands in as a script that waits for a go-ahead file and records what it was sent:
  // the daemon must keep serving FPM meanwhile and answer `reload` only when the push ended.
  const std::string vtysh = dir_ + "/vtysh";
  {
    std::ofstream f(vtysh);
    f << "#!/bin/sh\n"
      << "while [ ! -e " << dir_ << "/go ]; do sleep 0.02; done\n"
      << "for a; do f=$a; done\n"  // the last argument: the file of commands
      << "cat \"$f\" >> " << dir_ << "/pushed\n";
  }
  std::filesystem::permissions(vtysh, std::filesystem::perms::owner_all);
  write_config("198.18.0.0/15", "frr-vtysh " + vtysh + "\n");
  ASSERT_NO_FATAL_FAILURE(start());
  ASSERT_EQ(std::system(("touch " + dir_ + "/go").c_str()), 0);
  ASSERT_TRUE(pump([&] { return std::filesystem::exists(dir_ + "/pushed"); }));
  pump_for(100ms);
  std::filesystem::remove(dir_ + "/go");

  write_config("198.18.0.0/16", "frr-vtysh " + vtysh + "\n");
  const std::string sock = dir_ + "/run/frr-wgd.sock";
  auto answer = std::async(std::launch::async, [sock] { return control_request(sock, {"reload"}); });
  // FPM is served while the push waits.
  FakeZebra z(ifindex_);
  ASSERT_TRUE(z.ok());
  z.announce(site_b_prefixes(2), kNhB);
  ASSERT_TRUE(pump([&] { return daemon_->counters().sweeps == 1; }));
  EXPECT_EQ(imported_b().size(), 2u);
  EXPECT_EQ(answer.wait_for(0s), std::future_status::timeout) << "answered before FRR had the lists";
  ASSERT_EQ(std::system(("touch " + dir_ + "/go").c_str()), 0);
  ASSERT_TRUE(pump([&] { return answer.wait_for(0s) == std::future_status::ready; }));
  auto r = answer.get();
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->status, 0) << r->text;
  EXPECT_NE(r->text.find("updated through " + vtysh), std::string::npos) << r->text;
  std::ifstream pushed(dir_ + "/pushed");
  std::stringstream all;
  all << pushed.rdbuf();
  EXPECT_NE(all.str().find("permit 198.18.0.0/16 le 32"), std::string::npos) << all.str();
}

TEST_F(DaemonTest, ControlSocketIsServedAndSigtermStopsTheLoop) {
  ASSERT_NO_FATAL_FAILURE(start());
  FakeZebra z(ifindex_);
  ASSERT_TRUE(z.ok());
  z.announce({"198.18.1.0/24"}, kNhB);
  ASSERT_TRUE(pump([&] { return daemon_->counters().sweeps == 1; }));
  const std::string sock = dir_ + "/run/frr-wgd.sock";
  auto answer = std::async(std::launch::async, [sock] { return control_request(sock, {"show", "imported", "json"}); });
  ASSERT_TRUE(pump([&] { return answer.wait_for(0s) == std::future_status::ready; }));
  auto r = answer.get();
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->status, 0);
  EXPECT_NE(r->text.find("\"198.18.1.0/24\""), std::string::npos) << r->text;

  ASSERT_EQ(::raise(SIGTERM), 0);
  ASSERT_TRUE(pump([&] { return !daemon_->run_once(0ms); }));
  EXPECT_EQ(daemon_->run(), 0) << "run() after a stop returns at once";
  EXPECT_EQ(imported_b().size(), 1u) << "a stop leaves the imports";
}

}  // namespace
}  // namespace wgcore::frrwgd
