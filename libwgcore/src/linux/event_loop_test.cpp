// Tests for the epoll loop: fd readiness, removal during dispatch, cross-thread post and stop,
// timers in deadline order (real clock), and a randomized timer run against a reference
// model driven by a manual clock.
#include "linux/event_loop.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <map>
#include <random>
#include <thread>
#include <vector>

namespace wgcore::io {
namespace {

using namespace std::chrono_literals;

class Pipe {
 public:
  Pipe() { EXPECT_EQ(::pipe2(fds_, O_NONBLOCK | O_CLOEXEC), 0); }
  ~Pipe() {
    ::close(fds_[0]);
    ::close(fds_[1]);
  }
  int r() const { return fds_[0]; }
  int w() const { return fds_[1]; }
  void put() { ASSERT_EQ(::write(fds_[1], "x", 1), 1); }
  void take() {
    char c;
    ASSERT_EQ(::read(fds_[0], &c, 1), 1);
  }

 private:
  int fds_[2];
};

std::unique_ptr<EventLoop> make_loop(const Clock& clock = system_clock()) {
  auto r = EventLoop::create(clock);
  EXPECT_TRUE(r.ok()) << r.error().message;
  return std::move(r).value();
}

TEST(EventLoop, FdCallbackRunsOnlyWhenReady) {
  auto loop = make_loop();
  Pipe p;
  int calls = 0;
  std::uint32_t seen = 0;
  ASSERT_TRUE(loop->add(p.r(), EPOLLIN, [&](std::uint32_t ev) {
    ++calls;
    seen = ev;
    p.take();
  }).ok());
  loop->run_once(10ms);
  EXPECT_EQ(calls, 0);
  p.put();
  loop->run_once(1s);
  EXPECT_EQ(calls, 1);
  EXPECT_TRUE(seen & EPOLLIN);
  loop->run_once(10ms);  // drained: level-triggered readiness is gone
  EXPECT_EQ(calls, 1);

  EXPECT_FALSE(loop->add(p.r(), EPOLLIN, [](std::uint32_t) {}).ok());  // one registration per fd
  ASSERT_TRUE(loop->remove(p.r()).ok());
  EXPECT_FALSE(loop->remove(p.r()).ok());
  p.put();
  loop->run_once(10ms);
  EXPECT_EQ(calls, 1);
}

TEST(EventLoop, ModifySwitchesInterest) {
  auto loop = make_loop();
  Pipe p;
  int out = 0;
  ASSERT_TRUE(loop->add(p.w(), 0, [&](std::uint32_t ev) { out += (ev & EPOLLOUT) != 0; }).ok());
  loop->run_once(10ms);
  EXPECT_EQ(out, 0);
  ASSERT_TRUE(loop->modify(p.w(), EPOLLOUT).ok());
  loop->run_once(1s);
  EXPECT_EQ(out, 1);
  EXPECT_FALSE(loop->modify(12345, EPOLLIN).ok());
}

TEST(EventLoop, CallbackMayRemoveAnotherReadyFd) {
  auto loop = make_loop();
  Pipe a, b;
  int calls = 0;
  auto cb = [&](std::uint32_t) {
    ++calls;
    // Whichever runs first unregisters both; the other's already-fetched event is dropped.
    (void)loop->remove(a.r());
    (void)loop->remove(b.r());
  };
  ASSERT_TRUE(loop->add(a.r(), EPOLLIN, cb).ok());
  ASSERT_TRUE(loop->add(b.r(), EPOLLIN, cb).ok());
  a.put();
  b.put();
  loop->run_once(1s);
  EXPECT_EQ(calls, 1);
}

TEST(EventLoop, PostFromOtherThreadRunsInOrderAndStops) {
  auto loop = make_loop();
  std::vector<int> order;
  std::thread producer([&] {
    for (int i = 0; i < 1000; ++i) loop->post([&order, i] { order.push_back(i); });
    loop->post([&] { loop->stop(); });
  });
  loop->run();  // returns only through the posted stop()
  producer.join();
  ASSERT_EQ(order.size(), 1000u);
  for (int i = 0; i < 1000; ++i) ASSERT_EQ(order[i], i);
}

TEST(EventLoop, StopFromOtherThreadWakesAnIdleLoop) {
  auto loop = make_loop();
  auto start = std::chrono::steady_clock::now();
  std::thread stopper([&] {
    std::this_thread::sleep_for(20ms);
    loop->stop();
  });
  loop->run();
  stopper.join();
  EXPECT_LT(std::chrono::steady_clock::now() - start, 5s);
  // A stop() before run() makes run() return at once (the request is consumed).
  loop->stop();
  loop->run();
}

TEST(EventLoop, TimersFireInDeadlineOrderNotBefore) {
  auto loop = make_loop();
  const Clock& clock = loop->clock();
  std::vector<int> fired;
  std::vector<Time> fired_at;
  Time base = clock.now();
  const std::vector<Time> offsets = {40ms, 10ms, 30ms, 20ms, 50ms};
  std::vector<EventLoop::TimerId> ids;
  for (std::size_t i = 0; i < offsets.size(); ++i) {
    ids.push_back(loop->create_timer([&, i] {
      fired.push_back(int(i));
      fired_at.push_back(clock.now());
      if (fired.size() == 3) loop->stop();
    }));
  }
  for (std::size_t i = 0; i < offsets.size(); ++i) loop->arm_timer(ids[i], base + offsets[i]);
  loop->disarm_timer(ids[2]);             // 30ms: never fires
  loop->arm_timer(ids[0], base + 5ms);    // 40ms -> 5ms: moved earlier
  loop->arm_timer(ids[1], base + 45ms);   // 10ms -> 45ms: moved later
  loop->destroy_timer(ids[4]);            // 50ms: gone
  loop->run();
  ASSERT_EQ(fired, (std::vector<int>{0, 3, 1}));
  EXPECT_GE(fired_at[0], base + 5ms);
  EXPECT_GE(fired_at[1], base + 20ms);
  EXPECT_GE(fired_at[2], base + 45ms);
  // Fired timers are disarmed but reusable.
  loop->arm_timer(ids[3], clock.now());
  loop->run_once(1s);
  EXPECT_EQ(fired.back(), 3);
}

TEST(EventLoop, TimerArmedFromOtherThreadWakesTheLoop) {
  auto loop = make_loop();
  bool fired = false;
  auto id = loop->create_timer([&] {
    fired = true;
    loop->stop();
  });
  Time armed_for{};
  std::thread armer([&] {
    std::this_thread::sleep_for(10ms);  // let run() go to sleep with no deadline
    armed_for = loop->clock().now() + 20ms;
    loop->arm_timer(id, armed_for);
  });
  loop->run();
  armer.join();
  EXPECT_TRUE(fired);
  EXPECT_GE(loop->clock().now(), armed_for);
}

class ManualClock final : public Clock {
 public:
  Time now() const override { return now_; }
  WallTime wall_now() const override { return now_; }
  void advance(Time d) { now_ += d; }

 private:
  Time now_ = 1000s;
};

// Random arm / re-arm / disarm / destroy / advance; after each advance the loop must fire
// exactly the reference's due timers, in (deadline, creation) order.
TEST(EventLoop, RandomizedTimersAgainstReference) {
  ManualClock clock;
  auto loop = make_loop(clock);
  std::mt19937 rng(7);
  struct Ref {
    bool armed = false;
    Time deadline{};
  };
  std::map<EventLoop::TimerId, Ref> ref;
  std::vector<EventLoop::TimerId> fired;
  std::vector<EventLoop::TimerId> ids;
  for (int step = 0; step < 20000; ++step) {
    int op = rng() % 10;
    if (op == 0 || ids.empty()) {
      EventLoop::TimerId id = 0;
      id = loop->create_timer([&fired, &ids, n = ids.size()] { fired.push_back(ids[n]); });
      ids.push_back(id);
      ref[id] = {};
    } else if (op <= 5) {
      auto id = ids[rng() % ids.size()];
      Time d = clock.now() + Time(std::int64_t(rng() % 100));
      loop->arm_timer(id, d);
      if (ref.count(id)) ref[id] = {true, d};
    } else if (op == 6) {
      auto id = ids[rng() % ids.size()];
      loop->disarm_timer(id);
      if (ref.count(id)) ref[id].armed = false;
    } else if (op == 7 && rng() % 8 == 0) {
      auto id = ids[rng() % ids.size()];
      loop->destroy_timer(id);
      ref.erase(id);
    } else {
      clock.advance(Time(std::int64_t(rng() % 30)));
      std::vector<std::pair<Time, EventLoop::TimerId>> want;
      for (auto& [id, r] : ref) {
        if (r.armed && r.deadline <= clock.now()) {
          want.emplace_back(r.deadline, id);
          r.armed = false;
        }
      }
      std::sort(want.begin(), want.end());
      fired.clear();
      loop->run_once(Time(0));
      ASSERT_EQ(fired.size(), want.size()) << "step " << step;
      for (std::size_t i = 0; i < want.size(); ++i) ASSERT_EQ(fired[i], want[i].second);
    }
  }
}

}  // namespace
}  // namespace wgcore::io
