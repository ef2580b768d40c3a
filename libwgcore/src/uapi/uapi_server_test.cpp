// End-to-end tests of the UAPI server and client over real unix sockets in a private temp
// directory, backed by an in-memory Control that applies updates with apply_update.
#include "uapi/uapi_server.hpp"

#include <gtest/gtest.h>
#include <poll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <future>
#include <mutex>
#include <thread>

#include "linux/event_loop.hpp"
#include "model/config_apply.hpp"
#include "uapi/uapi_client.hpp"
#include "uapi/uapi_text.hpp"

namespace wgcore::uapi {
namespace {

namespace fs = std::filesystem;

class MemoryControl : public Control {
 public:
  Result<DeviceState> get() override {
    std::lock_guard lock(mu_);
    ++gets;
    return state_;
  }
  Status apply(const DeviceUpdate& u) override {
    std::lock_guard lock(mu_);
    if (fail_code) return make_error(fail_code, "injected failure");
    auto next = apply_update(state_, u);
    if (!next) return next.error();
    state_ = *next;
    return {};
  }
  std::string backend() const override { return "memory"; }
  DeviceState snapshot() {
    std::lock_guard lock(mu_);
    return state_;
  }
  std::atomic<int> gets{0};
  int fail_code = 0;

 private:
  std::mutex mu_;
  DeviceState state_;
};

class TempDir {
 public:
  TempDir() {
    char tmpl[] = "/tmp/wgcore-uapi-test-XXXXXX";
    char* d = ::mkdtemp(tmpl);  // mode 0700
    EXPECT_NE(d, nullptr);
    path_ = d ? d : "/nonexistent";
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

Key key_of(std::uint8_t b) {
  Key k;
  for (std::size_t i = 0; i < k.size(); ++i) k[i] = b;
  return k;
}

int connect_to(const std::string& path) {
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::strncpy(addr.sun_path, path.c_str(), sizeof addr.sun_path - 1);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

bool send_all(int fd, std::string_view data) {
  while (!data.empty()) {
    ssize_t n = ::send(fd, data.data(), data.size(), MSG_NOSIGNAL);
    if (n <= 0) return false;
    data.remove_prefix(std::size_t(n));
  }
  return true;
}

// Reads until `answers` blank-line-terminated answers arrived, EOF, error or timeout.
struct ReadResult {
  std::string data;
  bool closed = false;
};
ReadResult read_answers(int fd, int answers, int timeout_ms = 5000) {
  ReadResult r;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  auto count = [&] {
    int n = 0;
    for (std::size_t pos = 0; (pos = r.data.find("\n\n", pos)) != std::string::npos; pos += 2) ++n;
    return n;
  };
  while (count() < answers) {
    int left = int(std::chrono::duration_cast<std::chrono::milliseconds>(
                       deadline - std::chrono::steady_clock::now())
                       .count());
    if (left <= 0) break;
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, left) <= 0) break;
    char buf[65536];
    ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n <= 0) {
      r.closed = true;
      break;
    }
    r.data.append(buf, std::size_t(n));
  }
  return r;
}

// One raw exchange on a fresh connection.
std::string raw(const std::string& path, const std::string& request, int answers = 1) {
  int fd = connect_to(path);
  EXPECT_GE(fd, 0);
  if (fd < 0) return "";
  EXPECT_TRUE(send_all(fd, request));
  auto r = read_answers(fd, answers);
  ::close(fd);
  return r.data;
}

bool eventually_closed(int fd) {
  auto r = read_answers(fd, 1, 5000);
  return r.closed && r.data.empty();
}

struct Fixture : ::testing::Test {
  TempDir dir;
  MemoryControl ctl;
  std::unique_ptr<UapiServer> server;
  void SetUp() override {
    auto s = UapiServer::listen("wgt0", ctl, dir.path());
    ASSERT_TRUE(s.ok()) << s.error().message;
    server = std::move(*s);
  }
  std::string path() const { return dir.path() + "/wgt0.sock"; }
};

std::string peer_hex(std::uint8_t b) { return to_hex(key_of(b)); }

TEST_F(Fixture, SocketPathAndMode) {
  EXPECT_EQ(server->path(), path());
  struct stat st {};
  ASSERT_EQ(::lstat(path().c_str(), &st), 0);
  EXPECT_TRUE(S_ISSOCK(st.st_mode));
  EXPECT_EQ(st.st_mode & 07777, 0600u);
}

TEST(UapiServer, SocketIs0600WhateverTheUmask) {
  TempDir dir;
  MemoryControl ctl;
  mode_t old = ::umask(0);
  auto s = UapiServer::listen("wgt1", ctl, dir.path());
  ::umask(old);
  ASSERT_TRUE(s.ok()) << s.error().message;
  struct stat st {};
  ASSERT_EQ(::lstat((dir.path() + "/wgt1.sock").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0600u);
  EXPECT_EQ(::umask(old), old);  // the process umask is restored
}

TEST(UapiServer, CreatesMissingDirectoriesWith0755) {
  TempDir dir;
  MemoryControl ctl;
  std::string sub = dir.path() + "/run/wireguard";
  mode_t old = ::umask(0);
  auto s = UapiServer::listen("wgt2", ctl, sub);
  ::umask(old);
  ASSERT_TRUE(s.ok()) << s.error().message;
  struct stat st {};
  ASSERT_EQ(::stat(sub.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0755u);
}

TEST(UapiServer, RefusesBadInterfaceNames) {
  TempDir dir;
  MemoryControl ctl;
  for (const char* name : {"", "a/b", "..", ".", "sixteen-chars-xx"}) {
    auto s = UapiServer::listen(name, ctl, dir.path());
    ASSERT_FALSE(s.ok()) << name;
    EXPECT_EQ(s.error().code, EINVAL);
  }
}

TEST_F(Fixture, EmptyDeviceGetIsJustErrnoZero) {
  EXPECT_EQ(raw(path(), "get=1\n\n"), "errno=0\n\n");
}

TEST_F(Fixture, EmptySetIsValid) { EXPECT_EQ(raw(path(), "set=1\n\n"), "errno=0\n\n"); }

TEST_F(Fixture, ClientApplyThenGetRoundTrip) {
  UapiClient client = UapiClient::for_interface("wgt0", dir.path());
  EXPECT_EQ(client.backend(), "uapi:" + path());
  DeviceUpdate u;
  u.private_key = key_of(0x40);
  u.listen_port = 51820;
  u.fwmark = 9;
  PeerUpdate p;
  p.public_key = key_of(0x11);
  p.preshared_key = key_of(0x22);
  p.endpoint = Endpoint::parse("[2001:db8::1]:51820");
  p.persistent_keepalive_interval = 25;
  p.allowed_ips = {{AllowedIpOp::Kind::kAdd, *IpPrefix::parse("10.0.0.1/24")},
                   {AllowedIpOp::Kind::kAdd, *IpPrefix::parse("2001:db8:1::/48")}};
  u.peers = {p};
  auto st = client.apply(u);
  ASSERT_TRUE(st.ok()) << st.error().message;

  auto got = client.get();
  ASSERT_TRUE(got.ok()) << got.error().message;
  EXPECT_EQ(got->name, "wgt0");
  DeviceState want = ctl.snapshot();
  EXPECT_EQ(format_get(*got), format_get(want));
  EXPECT_TRUE(got->public_key == want.public_key);
  ASSERT_EQ(got->peers.size(), 1u);
  EXPECT_EQ(got->peers[0].allowed_ips[0].to_string(), "10.0.0.0/24");
  // And the raw bytes are exactly format_get + errno.
  EXPECT_EQ(raw(path(), "get=1\n\n"), format_get(want) + "errno=0\n\n");
}

TEST_F(Fixture, BadSetAnswersErrnoChangesNothingAndKeepsServing) {
  int fd = connect_to(path());
  ASSERT_GE(fd, 0);
  std::string req = "set=1\nlisten_port=1234\npublic_key=" + peer_hex(0x11) +
                    "\nallowed_ip=10.0.0.0/8\nendpoint=not-an-endpoint\n\n";
  ASSERT_TRUE(send_all(fd, req));
  EXPECT_EQ(read_answers(fd, 1).data, "errno=-22\n\n");
  // Same connection, next request.
  ASSERT_TRUE(send_all(fd, "get=1\n\n"));
  EXPECT_EQ(read_answers(fd, 1).data, "errno=0\n\n");  // nothing was half-applied
  ::close(fd);
  EXPECT_EQ(ctl.snapshot().listen_port, 0);
  EXPECT_TRUE(ctl.snapshot().peers.empty());
}

TEST_F(Fixture, LineWithoutEqualsIsEproto) {
  EXPECT_EQ(raw(path(), "set=1\nlisten_port\n\n"), "errno=-71\n\n");
}

TEST_F(Fixture, UnknownKeyIsEinval) {
  EXPECT_EQ(raw(path(), "set=1\nmtu=1280\n\n"), "errno=-22\n\n");
}

TEST_F(Fixture, SeveralRequestsInOneWrite) {
  std::string req = "set=1\nlisten_port=5\n\nget=1\n\nset=1\nfwmark=3\n\nget=1\n\n";
  auto got = raw(path(), req, 4);
  EXPECT_EQ(got,
            "errno=0\n\nlisten_port=5\nerrno=0\n\nerrno=0\n\nlisten_port=5\nfwmark=3\nerrno=0\n\n");
}

TEST_F(Fixture, GetWithTrailingCharacterIsEinvalAndTheConnectionGoesOn) {
  // wireguard-go consumes the one byte after "get=1\n"; if it is not '\n' the answer is
  // errno=-22 and the next operation is read from the following byte.
  EXPECT_EQ(raw(path(), "get=1\nxget=1\n\n", 2), "errno=-22\n\nerrno=0\n\n");
}

TEST_F(Fixture, CrLfLinesInSetBody) {
  EXPECT_EQ(raw(path(), "set=1\nlisten_port=9\r\n\r\n"), "errno=0\n\n");
  EXPECT_EQ(ctl.snapshot().listen_port, 9);
}

TEST_F(Fixture, UnknownOperationClosesWithoutAnswer) {
  int fd = connect_to(path());
  ASSERT_GE(fd, 0);
  ASSERT_TRUE(send_all(fd, "get=2\n\n"));
  EXPECT_TRUE(eventually_closed(fd));
  ::close(fd);
  EXPECT_EQ(raw(path(), "get=1\n\n"), "errno=0\n\n");
}

TEST_F(Fixture, MegabyteGarbageLineIsRefusedAndServerSurvives) {
  int fd = connect_to(path());
  ASSERT_GE(fd, 0);
  std::string garbage(1 << 20, 'A');
  garbage += '\n';
  // The server closes early, so the writer may see EPIPE; it runs apart from the reader.
  std::thread writer([&] { send_all(fd, garbage); });
  EXPECT_TRUE(eventually_closed(fd));
  writer.join();
  ::close(fd);
  EXPECT_EQ(raw(path(), "get=1\n\n"), "errno=0\n\n");
}

TEST_F(Fixture, MegabyteLineInSetBodyAnswersEioAndAppliesNothing) {
  int fd = connect_to(path());
  ASSERT_GE(fd, 0);
  std::string req = "set=1\nlisten_port=77\nallowed_ip=" + std::string(1 << 20, '1') + "\n\n";
  std::thread writer([&] { send_all(fd, req); });
  auto r = read_answers(fd, 1);
  EXPECT_EQ(r.data, "errno=-5\n\n");
  EXPECT_TRUE(eventually_closed(fd));
  writer.join();
  ::close(fd);
  EXPECT_EQ(ctl.snapshot().listen_port, 0);
  EXPECT_EQ(raw(path(), "get=1\n\n"), "errno=0\n\n");
}

TEST_F(Fixture, SetCutShortByEofIsAppliedLikeWireguardGo) {
  int fd = connect_to(path());
  ASSERT_GE(fd, 0);
  ASSERT_TRUE(send_all(fd, "set=1\nlisten_port=7"));
  ::shutdown(fd, SHUT_WR);
  auto r = read_answers(fd, 1);
  EXPECT_EQ(r.data, "errno=0\n\n");
  ::close(fd);
  EXPECT_EQ(ctl.snapshot().listen_port, 7);
}

TEST_F(Fixture, ControlErrorCodeIsForwardedNegated) {
  ctl.fail_code = EADDRINUSE;
  EXPECT_EQ(raw(path(), "set=1\nlisten_port=1\n\n"), "errno=-98\n\n");
  UapiClient client(path());
  DeviceUpdate u;
  u.listen_port = 1;
  auto st = client.apply(u);
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error().code, EADDRINUSE);
}

TEST_F(Fixture, ClientSeesServerValidationErrors) {
  UapiClient client(path());
  DeviceUpdate u;
  PeerUpdate p;
  p.public_key = key_of(1);
  p.protocol_version = 2;
  u.peers = {p};
  auto st = client.apply(u);
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error().code, EINVAL);
  EXPECT_NE(st.error().message.find("errno=-22"), std::string::npos) << st.error().message;
}

TEST_F(Fixture, ConcurrentClients) {
  constexpr int kThreads = 8, kRounds = 40;
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      UapiClient client(path());
      for (int i = 0; i < kRounds; ++i) {
        DeviceUpdate u;
        PeerUpdate p;
        p.public_key = key_of(std::uint8_t(t + 1));
        p.allowed_ips = {
            {AllowedIpOp::Kind::kAdd,
             IpPrefix{IpAddr::v4((10u << 24) | (unsigned(t) << 16) | unsigned(i)), 32}}};
        u.peers = {p};
        if (!client.apply(u).ok()) ++failures;
        if (!client.get().ok()) ++failures;
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(failures.load(), 0);
  auto s = ctl.snapshot();
  ASSERT_EQ(s.peers.size(), std::size_t(kThreads));
  for (const auto& p : s.peers) EXPECT_EQ(p.allowed_ips.size(), std::size_t(kRounds));
}

TEST_F(Fixture, SecondServerOnALiveSocketIsRefused) {
  MemoryControl other;
  auto s = UapiServer::listen("wgt0", other, dir.path());
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().code, EADDRINUSE);
  EXPECT_EQ(raw(path(), "get=1\n\n"), "errno=0\n\n");  // the first one still serves
}

TEST(UapiServer, StaleSocketIsReplaced) {
  TempDir dir;
  std::string path = dir.path() + "/wgt3.sock";
  {
    int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::strncpy(addr.sun_path, path.c_str(), sizeof addr.sun_path - 1);
    ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
    ::close(fd);  // a crashed daemon's leftover: the file exists, nobody listens
  }
  MemoryControl ctl;
  auto s = UapiServer::listen("wgt3", ctl, dir.path());
  ASSERT_TRUE(s.ok()) << s.error().message;
  EXPECT_EQ(raw(path, "get=1\n\n"), "errno=0\n\n");
}

// What a restarted service asks before it reuses a name (nm-wgcore-service after SIGKILL):
// only a socket nobody listens on is stale, and only that is removed.
TEST(UapiServer, SocketStateTellsLiveStaleAndOther) {
  TempDir dir;
  EXPECT_EQ(uapi_socket_state("wgs0", dir.path()), SocketState::kAbsent);
  MemoryControl ctl;
  auto live = UapiServer::listen("wgs1", ctl, dir.path());
  ASSERT_TRUE(live.ok());
  EXPECT_EQ(uapi_socket_state("wgs1", dir.path()), SocketState::kLive);
  EXPECT_FALSE(remove_stale_uapi_socket("wgs1", dir.path()));
  EXPECT_EQ(raw((*live)->path(), "get=1\n\n"), "errno=0\n\n");
  {
    int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::string p = dir.path() + "/wgs2.sock";
    std::strncpy(addr.sun_path, p.c_str(), sizeof addr.sun_path - 1);
    ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
    ::close(fd);
  }
  EXPECT_EQ(uapi_socket_state("wgs2", dir.path()), SocketState::kStale);
  std::FILE* f = std::fopen((dir.path() + "/wgs3.sock").c_str(), "w");
  ASSERT_NE(f, nullptr);
  std::fclose(f);
  EXPECT_EQ(uapi_socket_state("wgs3", dir.path()), SocketState::kOther);
  EXPECT_EQ(uapi_socket_state("../x", dir.path()), SocketState::kOther);
  EXPECT_FALSE(remove_stale_uapi_socket("wgs3", dir.path()));
  EXPECT_TRUE(remove_stale_uapi_socket("wgs2", dir.path()));
  EXPECT_EQ(uapi_socket_state("wgs2", dir.path()), SocketState::kAbsent);
  EXPECT_EQ(uapi_socket_state("wgs3", dir.path()), SocketState::kOther);
}

TEST(UapiServer, NonSocketAtThePathIsLeftAlone) {
  TempDir dir;
  std::string path = dir.path() + "/wgt4.sock";
  {
    std::FILE* f = std::fopen(path.c_str(), "w");
    ASSERT_NE(f, nullptr);
    std::fclose(f);
  }
  MemoryControl ctl;
  auto s = UapiServer::listen("wgt4", ctl, dir.path());
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().code, EEXIST);
  struct stat st {};
  ASSERT_EQ(::lstat(path.c_str(), &st), 0);
  EXPECT_TRUE(S_ISREG(st.st_mode));
}

TEST(UapiServer, DestructionUnlinksOnlyItsOwnSocket) {
  TempDir dir;
  MemoryControl ctl;
  std::string path = dir.path() + "/wgt5.sock";
  {
    auto s = UapiServer::listen("wgt5", ctl, dir.path());
    ASSERT_TRUE(s.ok());
  }
  EXPECT_NE(::access(path.c_str(), F_OK), 0);
  {
    auto s = UapiServer::listen("wgt5", ctl, dir.path());
    ASSERT_TRUE(s.ok());
    ASSERT_EQ(::unlink(path.c_str()), 0);  // someone else takes the name
    std::FILE* f = std::fopen(path.c_str(), "w");
    ASSERT_NE(f, nullptr);
    std::fclose(f);
  }
  EXPECT_EQ(::access(path.c_str(), F_OK), 0);
}

TEST_F(Fixture, StopWakesIdleConnectionsPromptly) {
  int fd = connect_to(path());
  ASSERT_GE(fd, 0);
  ASSERT_TRUE(send_all(fd, "get=1\n\n"));
  EXPECT_EQ(read_answers(fd, 1).data, "errno=0\n\n");
  // A half-sent request and an idle connection must not hold stop() up.
  int fd2 = connect_to(path());
  ASSERT_GE(fd2, 0);
  ASSERT_TRUE(send_all(fd2, "set=1\nlisten_port=3\n"));
  auto t0 = std::chrono::steady_clock::now();
  server->stop();
  server->stop();  // idempotent
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(2));
  EXPECT_TRUE(eventually_closed(fd));
  EXPECT_TRUE(eventually_closed(fd2));
  ::close(fd);
  ::close(fd2);
  EXPECT_EQ(ctl.snapshot().listen_port, 0);
}

TEST(UapiClient, ListInterfacesSeesOnlyLiveSockets) {
  TempDir dir;
  MemoryControl c1, c2;
  auto s1 = UapiServer::listen("wgb", c1, dir.path());
  auto s2 = UapiServer::listen("wga", c2, dir.path());
  ASSERT_TRUE(s1.ok() && s2.ok());
  {
    auto s3 = UapiServer::listen("gone", c1, dir.path());
    ASSERT_TRUE(s3.ok());
    (*s3)->stop();
    // Leave a stale socket: re-create the file by binding without listening.
    int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::string stale = dir.path() + "/stale.sock";
    std::strncpy(addr.sun_path, stale.c_str(), sizeof addr.sun_path - 1);
    ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
    ::close(fd);
  }
  {
    std::FILE* f = std::fopen((dir.path() + "/file.sock").c_str(), "w");
    std::fclose(f);
  }
  EXPECT_EQ(uapi_list_interfaces(dir.path()), (std::vector<std::string>{"wga", "wgb"}));
  EXPECT_TRUE(uapi_list_interfaces(dir.path() + "/missing").empty());
}

TEST(UapiClient, MissingSocketIsEnoent) {
  TempDir dir;
  UapiClient client(dir.path() + "/nope.sock");
  auto r = client.get();
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ENOENT);
  EXPECT_FALSE(client.apply(DeviceUpdate{}).ok());
}

TEST(UapiClient, TimesOutOnASilentServer) {
  TempDir dir;
  std::string path = dir.path() + "/mute.sock";
  int lfd = ::socket(AF_UNIX, SOCK_STREAM, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::strncpy(addr.sun_path, path.c_str(), sizeof addr.sun_path - 1);
  ASSERT_EQ(::bind(lfd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  ASSERT_EQ(::listen(lfd, 4), 0);  // accepts (in the backlog) but never answers
  UapiClient client(path, std::chrono::milliseconds(200));
  auto r = client.get();
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ETIMEDOUT);
  ::close(lfd);
}

// ---- A host thread: small sets answered where the Control runs ----

// The Device's loop thread in miniature: an io::EventLoop running on a thread of its own, which
// applies a small update at once (MemoryControl's apply) when `take_small` says it may.
class LoopHost final : public UapiHost {
 public:
  explicit LoopHost(Control& ctl) : ctl_(ctl) {
    auto loop = io::EventLoop::create();
    EXPECT_TRUE(loop.ok());
    loop_ = std::move(*loop);
    thread_ = std::thread([this] {
      id_ = std::this_thread::get_id();
      started_.set_value();
      loop_->run();
    });
    started_.get_future().wait();
  }
  ~LoopHost() override {
    loop_->stop();
    thread_.join();
  }
  void run_on_host(const std::function<void()>& fn) override {
    if (std::this_thread::get_id() == id_) return fn();
    std::promise<void> done;
    loop_->post([&] {
      fn();
      done.set_value();
    });
    done.get_future().wait();
  }
  Status watch(int fd, std::function<void()> cb) override {
    EXPECT_EQ(std::this_thread::get_id(), id_);
    return loop_->add(fd, POLLIN, [cb = std::move(cb)](std::uint32_t) { cb(); });
  }
  void unwatch(int fd) override {
    EXPECT_EQ(std::this_thread::get_id(), id_);
    (void)loop_->remove(fd);
  }
  std::optional<Status> try_apply_now(const DeviceUpdate& u) override {
    EXPECT_EQ(std::this_thread::get_id(), id_);
    if (!take_small) return std::nullopt;
    ++applied_here;
    return ctl_.apply(u);
  }
  std::atomic<bool> take_small{true};
  std::atomic<int> applied_here{0};

 private:
  Control& ctl_;
  std::unique_ptr<io::EventLoop> loop_;
  std::thread thread_;
  std::thread::id id_;
  std::promise<void> started_;
};

struct HostFixture : ::testing::Test {
  TempDir dir;
  MemoryControl ctl;
  LoopHost host{ctl};
  std::unique_ptr<UapiServer> server;
  void SetUp() override {
    auto s = UapiServer::listen("wgh0", ctl, dir.path(), &host);
    ASSERT_TRUE(s.ok()) << s.error().message;
    server = std::move(*s);
  }
  void TearDown() override { server.reset(); }  // before the host it runs on
  std::string path() const { return dir.path() + "/wgh0.sock"; }
  std::string add_peer(std::uint8_t b, const char* prefix) {
    return "set=1\npublic_key=" + peer_hex(b) + "\nallowed_ip=" + prefix + "\n\n";
  }
};

TEST_F(HostFixture, SmallSetIsAnsweredOnTheHostAndGetByAThread) {
  EXPECT_EQ(raw(path(), add_peer(0x11, "10.1.0.0/16")), "errno=0\n\n");
  EXPECT_EQ(server->host_answers(), 1u);
  EXPECT_EQ(host.applied_here, 1);
  ASSERT_EQ(ctl.snapshot().peers.size(), 1u);
  // A get (its answer may be large) and everything after it on that connection: a thread.
  EXPECT_EQ(raw(path(), "get=1\n\n"), format_get(ctl.snapshot()) + "errno=0\n\n");
  EXPECT_EQ(server->host_answers(), 1u);
  // A bad set is answered on the host too, and changes nothing.
  EXPECT_EQ(raw(path(), "set=1\nlisten_port=1\nendpoint=nope\n\n"), "errno=-22\n\n");
  EXPECT_EQ(server->host_answers(), 2u);
  EXPECT_EQ(ctl.snapshot().listen_port, 0);
  // The stock client's way: UapiClient (as `wg set`) gets the same answers.
  UapiClient client = UapiClient::for_interface("wgh0", dir.path());
  DeviceUpdate u;
  PeerUpdate p;
  p.public_key = key_of(0x12);
  p.allowed_ips = {{AllowedIpOp::Kind::kAdd, *IpPrefix::parse("10.2.0.0/16")}};
  u.peers = {p};
  ASSERT_TRUE(client.apply(u).ok());
  EXPECT_EQ(server->host_answers(), 3u);
  auto got = client.get();
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(got->peers.size(), 2u);
}

TEST_F(HostFixture, ManySetsOnOneConnectionAndSplitWrites) {
  int fd = connect_to(path());
  ASSERT_GE(fd, 0);
  for (std::uint8_t b = 1; b <= 20; ++b) {
    const std::string req = add_peer(b, ("10.9." + std::to_string(b) + ".0/24").c_str());
    // Byte by byte for some: the host waits for the blank line that ends the request.
    if (b % 5 == 0) {
      for (char c : req) {
        ASSERT_TRUE(send_all(fd, std::string_view(&c, 1)));
        std::this_thread::sleep_for(std::chrono::microseconds(200));
      }
    } else {
      ASSERT_TRUE(send_all(fd, req));
    }
    ASSERT_EQ(read_answers(fd, 1).data, "errno=0\n\n") << int(b);
  }
  ::close(fd);
  EXPECT_EQ(ctl.snapshot().peers.size(), 20u);
  EXPECT_EQ(server->host_answers(), 20u);
}

TEST_F(HostFixture, WhatTheHostDoesNotTakeAThreadServesAsBefore) {
  // Pipelined: two requests in one write. A thread answers both, in order.
  EXPECT_EQ(raw(path(), add_peer(0x21, "10.3.0.0/16") + "get=1\n\n", 2).substr(0, 9), "errno=0\n\n");
  // Larger than the host takes: a thread.
  std::string big = "set=1\npublic_key=" + peer_hex(0x22) + "\n";
  for (int i = 0; i < 300; ++i) big += "allowed_ip=10.4." + std::to_string(i / 250) + "." + std::to_string(i % 250) + "/32\n";
  big += "\n";
  ASSERT_GT(big.size(), kMaxHostRequestBytes);
  EXPECT_EQ(raw(path(), big), "errno=0\n\n");
  // A "\r" line ending the request (a thread takes it as the blank line), and the host refusing
  // (another control call under way, or a large change): a thread applies it.
  EXPECT_EQ(raw(path(), "set=1\npublic_key=" + peer_hex(0x23) + "\n\r\n"), "errno=0\n\n");
  host.take_small = false;
  EXPECT_EQ(raw(path(), add_peer(0x24, "10.5.0.0/16")), "errno=0\n\n");
  host.take_small = true;
  // A set cut short by EOF is applied as it stands, as wireguard-go does.
  {
    int fd = connect_to(path());
    ASSERT_GE(fd, 0);
    ASSERT_TRUE(send_all(fd, "set=1\npublic_key=" + peer_hex(0x25) + "\n"));
    ::shutdown(fd, SHUT_WR);
    EXPECT_EQ(read_answers(fd, 1).data, "errno=0\n\n");
    ::close(fd);
  }
  // An unknown operation: closed without an answer, as before.
  {
    int fd = connect_to(path());
    ASSERT_TRUE(send_all(fd, "bogus=1\n\n"));
    EXPECT_TRUE(eventually_closed(fd));
    ::close(fd);
  }
  EXPECT_EQ(server->host_answers(), 0u);
  EXPECT_EQ(host.applied_here, 0);
  const auto s = ctl.snapshot();
  ASSERT_EQ(s.peers.size(), 5u);
  EXPECT_EQ(s.peers[1].allowed_ips.size(), 300u);
}

TEST_F(HostFixture, SilentClientsDoNotBlockTheRestAndStopClosesThem) {
  // More silent connections than the host keeps waiting: the oldest go to threads; all of them
  // are still served once they speak, and a request on a new connection is answered meanwhile.
  std::vector<int> silent;
  for (std::size_t i = 0; i < kMaxHostWaiting + 4; ++i) {
    int fd = connect_to(path());
    ASSERT_GE(fd, 0);
    silent.push_back(fd);
  }
  EXPECT_EQ(raw(path(), add_peer(0x31, "10.6.0.0/16")), "errno=0\n\n");
  for (std::size_t i = 0; i < silent.size(); ++i) {
    const std::string req = add_peer(std::uint8_t(0x40 + i), ("10.7." + std::to_string(i) + ".0/24").c_str());
    ASSERT_TRUE(send_all(silent[i], req));
    EXPECT_EQ(read_answers(silent[i], 1).data, "errno=0\n\n") << i;
  }
  EXPECT_EQ(ctl.snapshot().peers.size(), 1u + silent.size());
  // Idle connections, some on the host and some on threads, end with the server.
  server->stop();
  for (int fd : silent) {
    EXPECT_TRUE(eventually_closed(fd));
    ::close(fd);
  }
}

TEST_F(HostFixture, OutOfDescriptorsRefusesInsteadOfSpinning) {
  // The client's socket first; then no descriptor is left for the server to accept with.
  int client = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  ASSERT_GE(client, 0);
  rlimit old{};
  ASSERT_EQ(::getrlimit(RLIMIT_NOFILE, &old), 0);
  std::vector<int> fillers;
  rlimit low = old;
  low.rlim_cur = std::min<rlim_t>(old.rlim_cur, 4096);
  ASSERT_EQ(::setrlimit(RLIMIT_NOFILE, &low), 0);
  for (int fd; (fd = ::dup(client)) >= 0;) fillers.push_back(fd);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::strncpy(addr.sun_path, path().c_str(), sizeof addr.sun_path - 1);
  ASSERT_EQ(::connect(client, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  (void)send_all(client, add_peer(0x51, "10.8.0.0/16"));  // may find it refused already (EPIPE)
  // accept4 fails with EMFILE on the host. Left in the backlog, the connection would keep the
  // listener readable and the device's loop spinning; the server refuses it (closes it) with
  // the help of its spare descriptor, so the client learns at once.
  const ReadResult r = read_answers(client, 1, 2000);
  for (int fd : fillers) ::close(fd);
  ASSERT_EQ(::setrlimit(RLIMIT_NOFILE, &old), 0);
  EXPECT_TRUE(r.closed && r.data.empty()) << "not refused: '" << r.data << "'";
  ::close(client);
  EXPECT_EQ(server->host_answers(), 0u);
  EXPECT_TRUE(ctl.snapshot().peers.empty());
  // With descriptors back, requests are answered on the host again.
  EXPECT_EQ(raw(path(), add_peer(0x52, "10.9.0.0/16")), "errno=0\n\n");
  EXPECT_EQ(server->host_answers(), 1u);
  EXPECT_EQ(ctl.snapshot().peers.size(), 1u);
}

}  // namespace
}  // namespace wgcore::uapi
