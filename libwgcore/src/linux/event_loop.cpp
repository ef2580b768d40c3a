// The epoll loop: one turn waits for readiness (bounded by the earliest timer through a
// timerfd), then runs fd callbacks, posted functions and due timers, in that order.
#include "linux/event_loop.hpp"

#include <sys/eventfd.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <string>

namespace wgcore::io {
namespace {

// epoll data values of the loop's own fds; registrations start above them.
constexpr std::uint64_t kWakeId = 0;
constexpr std::uint64_t kTimerId = 1;
constexpr int kMaxEvents = 64;

Error errno_error(int err, std::string what) {
  return make_error(err, std::move(what) + ": " + std::strerror(err));
}

// std::push_heap builds a max-heap; this order makes the earliest deadline the front.
bool later(const std::pair<Time, std::uint64_t>& a, const std::pair<Time, std::uint64_t>& b) {
  return a > b;
}

}  // namespace

Result<std::unique_ptr<EventLoop>> EventLoop::create(const Clock& clock) {
  int epfd = ::epoll_create1(EPOLL_CLOEXEC);
  if (epfd < 0) return errno_error(errno, "epoll_create1");
  int wakefd = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  int timerfd = ::timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
  int err = errno;
  if (wakefd >= 0 && timerfd >= 0) {
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.u64 = kWakeId;
    int rc = ::epoll_ctl(epfd, EPOLL_CTL_ADD, wakefd, &ev);
    ev.data.u64 = kTimerId;
    if (rc == 0) rc = ::epoll_ctl(epfd, EPOLL_CTL_ADD, timerfd, &ev);
    if (rc == 0) return std::unique_ptr<EventLoop>(new EventLoop(clock, epfd, wakefd, timerfd));
    err = errno;
  }
  for (int fd : {epfd, wakefd, timerfd})
    if (fd >= 0) ::close(fd);
  return errno_error(err, "event loop setup (eventfd/timerfd)");
}

EventLoop::EventLoop(const Clock& clock, int epfd, int wakefd, int timerfd)
    : clock_(clock), epfd_(epfd), wakefd_(wakefd), timerfd_(timerfd) {}

EventLoop::~EventLoop() {
  ::close(timerfd_);
  ::close(wakefd_);
  ::close(epfd_);
}

void EventLoop::wake() {
  std::uint64_t one = 1;
  // Only fails when the counter would overflow, i.e. a wakeup is already pending.
  (void)!::write(wakefd_, &one, sizeof one);
}

void EventLoop::drain_fd(int fd) {
  std::uint64_t v;
  (void)!::read(fd, &v, sizeof v);
}

// ---- fds ----

Status EventLoop::add(int fd, std::uint32_t events, FdCallback cb) {
  std::lock_guard lk(mu_);
  if (fd_ids_.count(fd)) return make_error(EEXIST, "fd " + std::to_string(fd) + " already watched");
  std::uint64_t id = next_id_++;
  epoll_event ev{};
  ev.events = events;
  ev.data.u64 = id;
  if (::epoll_ctl(epfd_, EPOLL_CTL_ADD, fd, &ev) != 0)
    return errno_error(errno, "epoll add fd " + std::to_string(fd));
  entries_.emplace(id, std::make_shared<FdEntry>(FdEntry{fd, std::move(cb)}));
  fd_ids_.emplace(fd, id);
  return {};
}

Status EventLoop::modify(int fd, std::uint32_t events) {
  std::lock_guard lk(mu_);
  auto it = fd_ids_.find(fd);
  if (it == fd_ids_.end()) return make_error(ENOENT, "fd " + std::to_string(fd) + " not watched");
  epoll_event ev{};
  ev.events = events;
  ev.data.u64 = it->second;
  if (::epoll_ctl(epfd_, EPOLL_CTL_MOD, fd, &ev) != 0)
    return errno_error(errno, "epoll modify fd " + std::to_string(fd));
  return {};
}

Status EventLoop::remove(int fd) {
  std::lock_guard lk(mu_);
  auto it = fd_ids_.find(fd);
  if (it == fd_ids_.end()) return make_error(ENOENT, "fd " + std::to_string(fd) + " not watched");
  // Events already fetched for this registration are dropped at dispatch: their id is gone.
  entries_.erase(it->second);
  fd_ids_.erase(it);
  // EBADF/ENOENT: the owner closed the fd first (which already took it out of the epoll set),
  // perhaps with the number reused since; the registration is gone either way.
  if (::epoll_ctl(epfd_, EPOLL_CTL_DEL, fd, nullptr) != 0 && errno != EBADF && errno != ENOENT)
    return errno_error(errno, "epoll remove fd " + std::to_string(fd));
  return {};
}

// ---- posted work ----

void EventLoop::post(std::function<void()> fn) {
  bool need_wake;
  {
    std::lock_guard lk(mu_);
    posted_.push_back(std::move(fn));
    need_wake = !wake_pending_;
    wake_pending_ = true;
  }
  if (need_wake) wake();
}

void EventLoop::run_posted() {
  std::vector<std::function<void()>> work;
  {
    std::lock_guard lk(mu_);
    work.swap(posted_);
  }
  for (auto& fn : work) fn();
}

// ---- timers ----

EventLoop::TimerId EventLoop::create_timer(std::function<void()> cb) {
  std::lock_guard lk(mu_);
  TimerId id = next_id_++;
  Timer t;
  t.cb = std::make_shared<std::function<void()>>(std::move(cb));
  timers_.emplace(id, std::move(t));
  return id;
}

void EventLoop::arm_timer(TimerId id, Time deadline) {
  bool need_wake = false;
  {
    std::lock_guard lk(mu_);
    auto it = timers_.find(id);
    if (it == timers_.end()) return;
    Timer& t = it->second;
    t.deadline = deadline;
    t.armed = true;
    if (!t.queued || deadline < *t.queued) {
      heap_.emplace_back(deadline, id);
      std::push_heap(heap_.begin(), heap_.end(), later);
      t.queued = deadline;
      // The loop may be asleep on a later deadline (or none): make it recompute its wait.
      need_wake = !timerfd_deadline_ || deadline < *timerfd_deadline_;
    }
  }
  if (need_wake) wake();
}

void EventLoop::disarm_timer(TimerId id) {
  std::lock_guard lk(mu_);
  auto it = timers_.find(id);
  if (it != timers_.end()) it->second.armed = false;
}

void EventLoop::destroy_timer(TimerId id) {
  std::lock_guard lk(mu_);
  timers_.erase(id);
}

std::optional<Time> EventLoop::next_deadline_locked() {
  while (!heap_.empty()) {
    auto [when, id] = heap_.front();
    auto it = timers_.find(id);
    bool current = it != timers_.end() && it->second.queued == when;
    if (current && it->second.armed) return when;
    if (current) it->second.queued.reset();  // disarmed: its entry is no longer needed
    std::pop_heap(heap_.begin(), heap_.end(), later);
    heap_.pop_back();
  }
  return std::nullopt;
}

void EventLoop::collect_due_timers(Time now,
                                   std::vector<std::shared_ptr<std::function<void()>>>& out) {
  std::lock_guard lk(mu_);
  while (!heap_.empty() && heap_.front().first <= now) {
    auto [when, id] = heap_.front();
    std::pop_heap(heap_.begin(), heap_.end(), later);
    heap_.pop_back();
    auto it = timers_.find(id);
    if (it == timers_.end() || it->second.queued != when) continue;  // stale entry
    Timer& t = it->second;
    t.queued.reset();
    if (!t.armed) continue;
    if (t.deadline != when) {
      // Re-armed later since this entry was pushed: queue it at its real deadline, which
      // keeps due timers firing in deadline order (it may pop again in this same loop).
      heap_.emplace_back(t.deadline, id);
      std::push_heap(heap_.begin(), heap_.end(), later);
      t.queued = t.deadline;
      continue;
    }
    t.armed = false;
    out.push_back(t.cb);
  }
}

void EventLoop::run_due_timers() {
  std::vector<std::shared_ptr<std::function<void()>>> due;
  collect_due_timers(clock_.now(), due);
  for (auto& cb : due) (*cb)();
}

void EventLoop::set_timerfd_locked(std::optional<Time> deadline, Time now) {
  if (deadline == timerfd_deadline_) return;
  itimerspec its{};
  if (deadline) {
    // Relative to the injected clock's now; at least 1 ns, since zero would disarm.
    Time wait = std::max(*deadline - now, Time(1));
    its.it_value.tv_sec = std::chrono::duration_cast<std::chrono::seconds>(wait).count();
    its.it_value.tv_nsec = (wait % std::chrono::seconds(1)).count();
  }
  ::timerfd_settime(timerfd_, 0, &its, nullptr);
  timerfd_deadline_ = deadline;
}

// ---- the loop ----

void EventLoop::run_once(std::optional<Time> max_wait) {
  int timeout = -1;
  if (max_wait) {
    auto ms = std::chrono::ceil<std::chrono::milliseconds>(std::max(*max_wait, Time(0)));
    timeout = int(std::min<std::int64_t>(ms.count(), INT32_MAX));
  }
  {
    std::lock_guard lk(mu_);
    Time now = clock_.now();
    auto next = next_deadline_locked();
    if (!posted_.empty() || stop_.load()) timeout = 0;
    if (next && *next <= now) {
      timeout = 0;
    } else {
      set_timerfd_locked(next, now);
    }
  }

  epoll_event events[kMaxEvents];
  int n = ::epoll_wait(epfd_, events, kMaxEvents, timeout);
  for (int i = 0; i < n; ++i) {
    std::uint64_t id = events[i].data.u64;
    if (id == kWakeId) {
      drain_fd(wakefd_);
      std::lock_guard lk(mu_);
      wake_pending_ = false;
    } else if (id == kTimerId) {
      drain_fd(timerfd_);
      std::lock_guard lk(mu_);
      timerfd_deadline_.reset();  // one-shot: it is no longer armed
    } else {
      std::shared_ptr<FdEntry> e;
      {
        std::lock_guard lk(mu_);
        auto it = entries_.find(id);
        if (it == entries_.end()) continue;  // removed by an earlier callback this turn
        e = it->second;
      }
      e->cb(events[i].events);
    }
  }
  run_posted();
  run_due_timers();
}

void EventLoop::run() {
  while (!stop_.exchange(false)) run_once(std::nullopt);
}

void EventLoop::stop() {
  stop_.store(true);
  wake();
}

}  // namespace wgcore::io
