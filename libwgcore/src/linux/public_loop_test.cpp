// wgcore::EventLoop (the public facade): fds, posts, timers and signals through signalfd, the
// way the daemons use it.
#include "wgcore/event_loop.hpp"

#include <gtest/gtest.h>
#include <pthread.h>
#include <signal.h>
#include <sys/epoll.h>
#include <unistd.h>

#include <thread>
#include <vector>

namespace wgcore {
namespace {

using namespace std::chrono_literals;

TEST(PublicEventLoop, FdsPostsTimersAndSignals) {
  // Blocked first, in this thread (the test's only one so far), as a daemon does at start.
  sigset_t set, old;
  sigemptyset(&set);
  sigaddset(&set, SIGUSR1);
  sigaddset(&set, SIGUSR2);
  ASSERT_EQ(pthread_sigmask(SIG_BLOCK, &set, &old), 0);
  auto loop = EventLoop::create().value();
  std::vector<std::string> seen;
  int p[2];
  ASSERT_EQ(::pipe(p), 0);
  ASSERT_TRUE(loop->add(p[0], EPOLLIN, [&](std::uint32_t) {
    char c;
    ASSERT_EQ(::read(p[0], &c, 1), 1);
    seen.push_back(std::string("fd ") + c);
  }));
  ASSERT_TRUE(loop->on_signals({SIGUSR1, SIGUSR2}, [&](int s) {
    seen.push_back(s == SIGUSR1 ? "USR1" : "USR2");
    if (s == SIGUSR2) loop->stop();
  }));
  EXPECT_FALSE(loop->on_signals({SIGHUP}, [](int) {})) << "one signalfd per loop";
  auto t = loop->create_timer([&] {
    seen.push_back("timer");
    ::pthread_kill(::pthread_self(), SIGUSR1);  // this thread: no other may take it
    ::pthread_kill(::pthread_self(), SIGUSR2);
  });
  loop->arm_timer(t, 20ms);
  std::thread other([&] {
    loop->post([&] { seen.push_back("post"); });
    ASSERT_EQ(::write(p[1], "x", 1), 1);
  });
  other.join();
  loop->run();
  // post and the fd in either order, then the timer, then both signals in order.
  ASSERT_EQ(seen.size(), 5u);
  EXPECT_EQ(seen[2], "timer");
  EXPECT_EQ(seen[3], "USR1");
  EXPECT_EQ(seen[4], "USR2");
  loop->destroy_timer(t);
  ASSERT_TRUE(loop->remove(p[0]));
  ::close(p[0]);
  ::close(p[1]);
  loop.reset();
  // Nothing was left pending for the default action after the mask is restored.
  sigset_t pending;
  sigpending(&pending);
  EXPECT_FALSE(sigismember(&pending, SIGUSR1));
  ASSERT_EQ(pthread_sigmask(SIG_SETMASK, &old, nullptr), 0);
}

}  // namespace
}  // namespace wgcore
