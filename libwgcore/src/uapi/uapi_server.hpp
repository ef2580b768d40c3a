// Serves a Control over the cross-platform UAPI socket (DIR/IFACE.sock), the way wireguard-go
// does: one thread accepts, one thread per connection answers any number of get=1 / set=1
// requests, and stop() wakes them all through an eventfd.
#pragma once

#include <sys/types.h>

#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

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

class UapiServer {
 public:
  // Creates DIR (mode 0755, like wireguard-go) if missing and listens on DIR/IFACE.sock with
  // mode 0600 whatever the process umask. An existing socket that a live daemon answers on is
  // an error (EADDRINUSE); a stale one is unlinked; anything else at that path (a regular file,
  // a directory) is an error (EEXIST) and left alone. `ctl` must outlive the server; calls into
  // it are serialised by the server, so it needs no locking of its own for UAPI use.
  static Result<std::unique_ptr<UapiServer>> listen(const std::string& iface, Control& ctl,
                                                    std::string dir = kDefaultSocketDir);

  UapiServer(const UapiServer&) = delete;
  UapiServer& operator=(const UapiServer&) = delete;
  // stop(), then unlink the socket if it is still the one we created.
  ~UapiServer();

  // Stops accepting, wakes and joins every connection thread. Idempotent; requests being
  // processed finish first (a set either applies fully or not at all).
  void stop();

  const std::string& path() const { return path_; }

 private:
  UapiServer(Control& ctl, std::string path, int listen_fd, int stop_fd, dev_t dev, ino_t ino);
  void accept_loop();
  void serve(int fd);
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
  std::deque<int> pending_;           // accepted, waiting for a worker
  std::vector<std::thread> workers_;  // joined only at stop(); finished ones in exited_
  std::vector<std::thread::id> exited_;
  std::size_t busy_ = 0;              // workers serving a connection
  std::size_t idle_ = 0;              // workers waiting for one
  bool stopping_ = false;
  std::atomic<bool> stopped_{false};
};

}  // namespace wgcore::uapi
