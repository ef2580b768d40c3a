// An event loop for programs built on libwgcore (our daemons use it; so may an application):
// readiness callbacks for file descriptors, functions posted from any thread, one-shot timers,
// and signals taken synchronously through signalfd. It is the loop the userspace device runs on.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <memory>
#include <optional>

#include "wgcore/result.hpp"

namespace wgcore {

class EventLoop {
 public:
  using FdCallback = std::function<void(std::uint32_t events)>;  // EPOLLIN, EPOLLOUT, ...
  using TimerId = std::uint64_t;

  static Result<std::unique_ptr<EventLoop>> create();
  virtual ~EventLoop() = default;

  // Watches fd for events (EPOLLIN, ...); one registration per fd, which the loop does not own.
  virtual Status add(int fd, std::uint32_t events, FdCallback cb) = 0;
  virtual Status remove(int fd) = 0;
  // Runs fn on the loop thread soon, in posting order; callable from any thread.
  virtual void post(std::function<void()> fn) = 0;
  // A timer fires once per arming, on the loop thread; it lives until destroyed.
  virtual TimerId create_timer(std::function<void()> cb) = 0;
  virtual void arm_timer(TimerId id, std::chrono::steady_clock::duration after) = 0;
  virtual void disarm_timer(TimerId id) = 0;
  virtual void destroy_timer(TimerId id) = 0;
  // Takes `signals` through a signalfd and calls cb(signo) on the loop for each one. They must be
  // blocked in every thread (block them before starting any: threads inherit the mask), or the
  // default action may run first. One call per loop.
  virtual Status on_signals(std::initializer_list<int> signals, std::function<void(int)> cb) = 0;

  // Runs until stop() (from any thread or a callback).
  virtual void run() = 0;
  virtual void stop() = 0;
  // One turn: waits up to max_wait (nullopt: until something happens) and dispatches it.
  virtual void run_once(std::optional<std::chrono::steady_clock::duration> max_wait) = 0;
};

}  // namespace wgcore
