// An epoll event loop for the device's control and I/O thread: fd readiness callbacks,
// functions posted from other threads (eventfd wakeup), and timers keyed by wgcore::Clock time
// (a min-heap behind one timerfd).
#pragma once

#include <sys/epoll.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <unordered_map>
#include <utility>
#include <vector>

#include "core/environment.hpp"
#include "wgcore/result.hpp"

namespace wgcore::io {

// Threading: run() on one thread. Every other method may be called from any thread, including
// from inside callbacks (a callback may remove its own fd or destroy its own timer). Callbacks
// run on the run() thread without the loop's lock held.
class EventLoop {
 public:
  using FdCallback = std::function<void(std::uint32_t events)>;  // EPOLLIN, EPOLLOUT, ...
  using TimerId = std::uint64_t;

  // The clock only needs to agree with CLOCK_MONOTONIC's rate (system_clock() does): waits are
  // computed as deadline - clock.now() and slept in real time.
  static Result<std::unique_ptr<EventLoop>> create(const Clock& clock = system_clock());
  ~EventLoop();
  EventLoop(const EventLoop&) = delete;
  EventLoop& operator=(const EventLoop&) = delete;

  const Clock& clock() const { return clock_; }

  // Watches fd for events (EPOLLIN, EPOLLOUT, EPOLLET, ...); one registration per fd. The
  // loop does not own or close fd. Remove it before closing it.
  Status add(int fd, std::uint32_t events, FdCallback cb);
  Status modify(int fd, std::uint32_t events);
  Status remove(int fd);

  // Runs fn on the loop thread soon, in posting order.
  void post(std::function<void()> fn);

  // Timers are created disarmed and live until destroyed; arm() (re)sets the deadline, so an
  // owner keeps one timer and re-arms it to its next deadline. A timer fires once per arming,
  // on the loop thread, at or after its deadline; timers due together fire in deadline order.
  TimerId create_timer(std::function<void()> cb);
  void arm_timer(TimerId id, Time deadline);
  void disarm_timer(TimerId id);
  void destroy_timer(TimerId id);

  // Runs until stop(). stop() may come from any thread or a callback; run() returns after the
  // callbacks of the current turn finish, and may be called again afterwards.
  void run();
  void stop();
  // One turn: waits up to max_wait (nullopt: until something happens) for readiness, due
  // timers or posted work, and dispatches what is ready. For tests and embedding.
  void run_once(std::optional<Time> max_wait);

 private:
  struct FdEntry {
    int fd;
    FdCallback cb;
  };
  struct Timer {
    std::shared_ptr<std::function<void()>> cb;
    Time deadline{};
    bool armed = false;
    // The deadline of this timer's earliest heap entry, if any. Heap entries with any other
    // deadline are stale and skipped when popped (lazy deletion), so re-arming to a later time
    // pushes nothing: the earlier entry pops first and re-queues the timer.
    std::optional<Time> queued;
  };
  using HeapEntry = std::pair<Time, TimerId>;

  EventLoop(const Clock& clock, int epfd, int wakefd, int timerfd);
  void wake();
  void drain_fd(int fd);
  // Pops due and stale entries; returns the callbacks to run, in deadline order.
  void collect_due_timers(Time now, std::vector<std::shared_ptr<std::function<void()>>>& out);
  std::optional<Time> next_deadline_locked();
  void set_timerfd_locked(std::optional<Time> deadline, Time now);
  void run_posted();
  void run_due_timers();

  const Clock& clock_;
  int epfd_, wakefd_, timerfd_;
  std::atomic<bool> stop_{false};

  std::mutex mu_;
  // Shared by fd registrations and timers, never reused; 0 and 1 tag the wake and timer fds.
  std::uint64_t next_id_ = 2;
  std::unordered_map<std::uint64_t, std::shared_ptr<FdEntry>> entries_;  // by registration id
  std::unordered_map<int, std::uint64_t> fd_ids_;
  std::vector<std::function<void()>> posted_;
  bool wake_pending_ = false;
  std::unordered_map<TimerId, Timer> timers_;
  std::vector<HeapEntry> heap_;  // min-heap by (deadline, id)
  std::optional<Time> timerfd_deadline_;  // what timerfd_ is armed for; skips redundant re-arms
};

}  // namespace wgcore::io
