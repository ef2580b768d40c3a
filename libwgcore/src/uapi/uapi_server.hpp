// Serves a Control over the cross-platform UAPI socket (DIR/IFACE.sock), the way wireguard-go
// does: connection threads answer any number of get=1 / set=1 requests, and stop() wakes them
// all through an eventfd. Who accepts:
//  - with a UapiHost (the userspace Device's loop thread), the host: it answers a small set
//    request there and then, with no handoff between threads (wireguard-go answers in the one
//    goroutine too), and gives every other connection (a get, a large set, a client that is
//    slow to send) to a connection thread;
//  - without one, a thread of the server's own.
#pragma once

#include <sys/types.h>

#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "common/secure_string.hpp"
#include "wgcore/control.hpp"
#include "wgcore/interface.hpp"
#include "wgcore/result.hpp"

namespace wgcore::uapi {

inline constexpr const char* kDefaultSocketDir = kUapiSocketDir;

// Bounds on what one client can make the server hold. A line in a set body longer than
// kMaxLineBytes is answered errno=-EIO (wireguard-go's line scanner fails the same way at
// 64 KiB); a set body over kMaxRequestBytes is answered errno=-EMSGSIZE; either closes the
// connection, since the rest of the stream can no longer be framed. An operation line longer
// than kMaxOpLineBytes, or one that is neither "get=1" nor "set=1", closes the connection
// without an answer (wireguard-go does the same for unknown operations).
inline constexpr std::size_t kMaxOpLineBytes = 64;
inline constexpr std::size_t kMaxLineBytes = 64 * 1024;
inline constexpr std::size_t kMaxRequestBytes = 64 * 1024 * 1024;
inline constexpr std::size_t kMaxConnections = 64;

// uapi_socket_state() and remove_stale_uapi_socket() (wgcore/interface.hpp) are implemented here.
using SocketState = UapiSocketState;

// A set request answered on the host's thread is at most this long. Connections stay on the
// host between requests (and before their first), at most kMaxHostWaiting at a time: beyond
// that, the oldest goes to a connection thread. (kMaxConnections counts the threads' only.)
// Once the host's thread has ended (the device stopped), connections wait in the backlog until
// the server is destroyed, which its owner does when the interface goes.
inline constexpr std::size_t kMaxHostRequestBytes = 4096;
inline constexpr std::size_t kMaxHostWaiting = 8;

// The thread a Control runs on, offered to its server (control/interface.cpp adapts the Device).
class UapiHost {
 public:
  virtual ~UapiHost() = default;
  // Runs fn on the host's thread and returns once it ran (at once when called there, or on the
  // caller's thread when the host's thread has ended).
  virtual void run_on_host(const std::function<void()>& fn) = 0;
  // On the host's thread: calls on_readable there whenever fd has input, until unwatch(fd).
  virtual Status watch(int fd, std::function<void()> on_readable) = 0;
  virtual void unwatch(int fd) = 0;
  // On the host's thread: applies `update` now if it is small enough not to hold the thread
  // (a few peers and prefixes, no key change, nothing replaced) and no other control call is
  // under way; nullopt otherwise (the caller gives it to a connection thread).
  virtual std::optional<Status> try_apply_now(const DeviceUpdate& update) = 0;
};

class UapiServer {
 public:
  // Creates DIR (mode 0755, like wireguard-go) if missing and listens on DIR/IFACE.sock with
  // mode 0600 whatever the process umask. An existing socket that a live daemon answers on is
  // an error (EADDRINUSE); a stale one is unlinked; anything else at that path (a regular file,
  // a directory) is an error (EEXIST) and left alone. `ctl` must outlive the server; calls into
  // it are serialised by the server, so it needs no locking of its own for UAPI use.
  // `host`, when given, must be the thread `ctl` runs on and outlive the server.
  static Result<std::unique_ptr<UapiServer>> listen(const std::string& iface, Control& ctl,
                                                    std::string dir = kDefaultSocketDir,
                                                    UapiHost* host = nullptr);

  UapiServer(const UapiServer&) = delete;
  UapiServer& operator=(const UapiServer&) = delete;
  // stop(), then unlink the socket if it is still the one we created.
  ~UapiServer();

  // Stops accepting, wakes and joins every connection thread. Idempotent; requests being
  // processed finish first (a set either applies fully or not at all).
  void stop();

  const std::string& path() const { return path_; }
  // Set requests answered on the host's thread so far.
  std::uint64_t host_answers() const { return host_answers_.load(std::memory_order_relaxed); }

 private:
  UapiServer(Control& ctl, std::string path, int listen_fd, int stop_fd, dev_t dev, ino_t ino);
  void accept_loop();
  // A connection to a thread, with the bytes of it already read (and not yet answered).
  void enqueue(int fd, SecretString read = {});
  void serve(int fd, const SecretString& read);
  // The host's side: accepting, and a connection's input (a complete small set is answered).
  struct HostConn {
    int fd;
    SecretString read;
  };
  void host_accept();
  void host_readable(int fd);
  void host_hand_off(std::size_t i);  // the i-th of host_conns_ goes to a thread
  void host_close(std::size_t i);
  // A connection thread: serves accepted connections one after another, and leaves after
  // kWorkerIdle without one. Reusing threads keeps a request's cost near wireguard-go's (a new
  // thread per connection cost more than the request itself).
  void worker();
  // Joins the threads of workers that left while idle; takes conns_mu_ itself.
  void join_exited();

  Control& ctl_;
  std::mutex ctl_mu_;  // one request at a time reaches the Control, as wireguard-go's ipcMutex
  std::string path_;
  int listen_fd_;
  int stop_fd_;  // eventfd: once written it stays readable, so every poller wakes
  dev_t dev_;    // identity of the socket inode we bound, so we never unlink a successor's
  ino_t ino_;
  std::thread accept_thread_;
  std::mutex conns_mu_;  // guards the fields below
  std::condition_variable conns_cv_;
  struct Pending {
    int fd;
    SecretString read;
  };
  std::deque<Pending> pending_;       // accepted, waiting for a worker
  std::vector<std::thread> workers_;  // joined only at stop(); finished ones in exited_
  std::vector<std::thread::id> exited_;
  std::size_t busy_ = 0;              // workers serving a connection
  std::size_t idle_ = 0;              // workers waiting for one
  bool stopping_ = false;
  std::atomic<bool> stopped_{false};
  UapiHost* host_ = nullptr;
  int spare_fd_ = -1;  // with a host: room to refuse a connection when out of descriptors
  std::vector<HostConn> host_conns_;  // the host's thread only; oldest first
  std::atomic<std::uint64_t> host_answers_{0};
};

}  // namespace wgcore::uapi
