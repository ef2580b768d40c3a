// wgcore::EventLoop (the public header) on io::EventLoop, plus signals through signalfd.
#include <signal.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "linux/event_loop.hpp"
#include "wgcore/event_loop.hpp"

namespace wgcore {
namespace {

class PublicLoop final : public EventLoop {
 public:
  explicit PublicLoop(std::unique_ptr<io::EventLoop> loop) : loop_(std::move(loop)) {}
  ~PublicLoop() override {
    if (signal_fd_ >= 0) {
      (void)loop_->remove(signal_fd_);
      ::close(signal_fd_);
    }
  }

  Status add(int fd, std::uint32_t events, FdCallback cb) override { return loop_->add(fd, events, std::move(cb)); }
  Status remove(int fd) override { return loop_->remove(fd); }
  void post(std::function<void()> fn) override { loop_->post(std::move(fn)); }
  TimerId create_timer(std::function<void()> cb) override { return loop_->create_timer(std::move(cb)); }
  void arm_timer(TimerId id, std::chrono::steady_clock::duration after) override {
    loop_->arm_timer(id, loop_->clock().now() + std::chrono::duration_cast<std::chrono::nanoseconds>(after));
  }
  void disarm_timer(TimerId id) override { loop_->disarm_timer(id); }
  void destroy_timer(TimerId id) override { loop_->destroy_timer(id); }

  Status on_signals(std::initializer_list<int> signals, std::function<void(int)> cb) override {
    if (signal_fd_ >= 0) return make_error(EBUSY, "signals are already taken by this loop");
    sigset_t set;
    sigemptyset(&set);
    for (int s : signals) sigaddset(&set, s);
    signal_fd_ = ::signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
    if (signal_fd_ < 0) return make_error(errno, std::string("signalfd: ") + std::strerror(errno));
    return loop_->add(signal_fd_, EPOLLIN, [this, cb = std::move(cb)](std::uint32_t) {
      signalfd_siginfo si;
      while (::read(signal_fd_, &si, sizeof si) == ssize_t(sizeof si)) cb(int(si.ssi_signo));
    });
  }

  void run() override { loop_->run(); }
  void stop() override { loop_->stop(); }
  void run_once(std::optional<std::chrono::steady_clock::duration> max_wait) override {
    std::optional<Time> wait;
    if (max_wait) wait = std::chrono::duration_cast<Time>(*max_wait);
    loop_->run_once(wait);
  }

 private:
  std::unique_ptr<io::EventLoop> loop_;
  int signal_fd_ = -1;
};

}  // namespace

Result<std::unique_ptr<EventLoop>> EventLoop::create() {
  auto loop = io::EventLoop::create();
  if (!loop) return loop.error();
  return std::unique_ptr<EventLoop>(new PublicLoop(std::move(*loop)));
}

}  // namespace wgcore
