// The control socket against real UNIX sockets: a request and its answer, and a client that hangs
// up before its (large) answer, which must cost the daemon an EPIPE, not a SIGPIPE that ends it
// (this test process keeps SIGPIPE's default action, so a SIGPIPE would end the test).
#include "control_socket.hpp"

#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <cstdlib>
#include <cstring>
#include <functional>
#include <string>
#include <thread>
#include <optional>
#include <chrono>
#include <atomic>

namespace wgcore::frrwgd {
namespace {

// One connection served as the daemon serves it: accept, handle, answer.
void control_serve_one(int listen_fd, const std::function<Reply(const std::vector<std::string>&)>& handler) {
  if (auto r = control_accept(listen_fd)) control_answer(*r, handler(r->args));
}

class ControlSocketTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/frr-wgd-ctl.XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    path_ = dir_ + "/sub/frr-wgd.sock";
    auto fd = control_listen(path_);
    ASSERT_TRUE(fd) << fd.error().message;
    listen_fd_ = *fd;
  }
  void TearDown() override {
    if (listen_fd_ >= 0) ::close(listen_fd_);
    std::system(("rm -rf " + dir_).c_str());
  }
  bool wait_pending() {
    pollfd p{listen_fd_, POLLIN, 0};
    return ::poll(&p, 1, 5000) == 1;
  }
  std::string dir_, path_;
  int listen_fd_ = -1;
};

TEST_F(ControlSocketTest, RequestAndAnswer) {
  std::thread server([&] {
    ASSERT_TRUE(wait_pending());
    control_serve_one(listen_fd_, [](const std::vector<std::string>& args) {
      return Reply{3, "args:" + std::to_string(args.size()) + ":" + args.at(1) + "\n"};
    });
  });
  auto r = control_request(path_, {"show", "imported", "json"});
  server.join();
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->status, 3);
  EXPECT_EQ(r->text, "args:3:imported\n");
}

TEST_F(ControlSocketTest, ClientThatHangsUpDoesNotEndTheServer) {
  int c = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  ASSERT_GE(c, 0);
  sockaddr_un sa{};
  sa.sun_family = AF_UNIX;
  std::memcpy(sa.sun_path, path_.c_str(), path_.size() + 1);
  ASSERT_EQ(::connect(c, reinterpret_cast<sockaddr*>(&sa), sizeof sa), 0);
  const std::string request = "show imported json\n";
  ASSERT_EQ(::write(c, request.data(), request.size()), ssize_t(request.size()));
  ::close(c);  // gone before the answer
  ASSERT_TRUE(wait_pending());
  bool answered = false;
  // Far more than a socket buffer, so the write cannot complete into the buffer before it sees
  // the closed peer.
  control_serve_one(listen_fd_, [&](const std::vector<std::string>&) {
    answered = true;
    return Reply{0, std::string(8 << 20, 'x')};
  });
  EXPECT_TRUE(answered);
  // Still serving: the next request is answered.
  std::thread server([&] {
    ASSERT_TRUE(wait_pending());
    control_serve_one(listen_fd_, [](const std::vector<std::string>&) { return Reply{0, "ok\n"}; });
  });
  auto r = control_request(path_, {"show"});
  server.join();
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->text, "ok\n");
}

// A request held open (reload waiting for FRR) while others are answered, then answered later.
TEST_F(ControlSocketTest, HeldRequestIsAnsweredLater) {
  std::optional<Request> held;
  std::atomic<bool> held_ready{false}, first_done{false};
  std::thread server([&] {
    ASSERT_TRUE(wait_pending());
    held = control_accept(listen_fd_);
    held_ready = true;
    ASSERT_TRUE(wait_pending());
    control_serve_one(listen_fd_, [](const std::vector<std::string>&) { return Reply{0, "second\n"}; });
  });
  std::optional<Result<Reply>> first;
  std::thread client([&] {
    first = control_request(path_, {"reload"});
    first_done = true;
  });
  for (int i = 0; i < 1000 && !held_ready; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  ASSERT_TRUE(held_ready && held);
  auto second = control_request(path_, {"show"});
  server.join();
  ASSERT_TRUE(second) << second.error().message;
  EXPECT_EQ(second->text, "second\n");
  EXPECT_FALSE(first_done);  // still waiting
  ASSERT_EQ(held->args, std::vector<std::string>{"reload"});
  control_answer(*held, Reply{0, "reloaded\n"});
  client.join();
  ASSERT_TRUE(first && *first);
  EXPECT_EQ((*first)->text, "reloaded\n");
}

}  // namespace
}  // namespace wgcore::frrwgd
