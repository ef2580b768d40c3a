// The UAPI socket server: listening (directory, umask, stale-socket handling as in
// wireguard-go's ipc/uapi_unix.go), bounded line reading, and the request loop of
// device/uapi.go's IpcHandle with whole-request parsing so that a bad set changes nothing.
#include "uapi/uapi_server.hpp"

#include <fcntl.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>

#include "common/secure_string.hpp"
#include "uapi/uapi_text.hpp"
#include "uapi/unix_socket.hpp"

namespace wgcore::uapi {
namespace {

// mkdir -p with the given mode for directories it creates.
Status make_dirs(const std::string& dir, mode_t mode) {
  std::string partial;
  std::size_t pos = 0;
  while (pos <= dir.size()) {
    auto slash = dir.find('/', pos);
    if (slash == std::string::npos) slash = dir.size();
    partial = dir.substr(0, slash);
    pos = slash + 1;
    if (partial.empty()) continue;
    if (::mkdir(partial.c_str(), mode) != 0 && errno != EEXIST)
      return sys_error(errno, "creating " + partial);
  }
  struct stat st {};
  if (::stat(dir.c_str(), &st) != 0) return sys_error(errno, "stat " + dir);
  if (!S_ISDIR(st.st_mode)) return make_error(ENOTDIR, dir + " is not a directory");
  return {};
}

// True if a daemon accepts connections on path.
bool valid_iface(const std::string& iface) {
  return !iface.empty() && iface.size() < 16 && iface != "." && iface != ".." && iface.find('/') == std::string::npos;
}

SocketState state_of(const std::string& path, const sockaddr_un& addr) {
  struct stat st {};
  if (::lstat(path.c_str(), &st) != 0) return errno == ENOENT ? SocketState::kAbsent : SocketState::kOther;
  if (!S_ISSOCK(st.st_mode)) return SocketState::kOther;
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return SocketState::kOther;
  int r = ::connect(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr);
  int err = errno;
  ::close(fd);
  if (r == 0) return SocketState::kLive;
  // Only a refusal proves nobody listens; a full backlog (EAGAIN) is a busy daemon.
  return err == ECONNREFUSED ? SocketState::kStale : err == ENOENT ? SocketState::kAbsent : SocketState::kLive;
}

// Reads lines from a connection through a fixed buffer, never holding more than the caller's
// limit of one line, and gives up when the server is stopping. Set requests carry keys: the
// buffer is zeroed when the connection ends (a thread's stack outlives it in glibc's cache),
// and lines go into SecretStrings.
class ConnReader {
 public:
  enum class Status { kLine, kEof, kTooLong, kStopped, kError };

  // `read`: what was read from the connection before (at most the buffer's size).
  ConnReader(int fd, int stop_fd, std::string_view read = {}) : fd_(fd), stop_fd_(stop_fd) {
    end_ = std::min(read.size(), sizeof buf_);
    std::memcpy(buf_, read.data(), end_);
  }
  ~ConnReader() { secure_zero(buf_, sizeof buf_); }
  ConnReader(const ConnReader&) = delete;
  ConnReader& operator=(const ConnReader&) = delete;

  // A line without its '\n'. At EOF a non-empty unterminated tail is returned as kLine once,
  // then kEof. On kTooLong the line's bytes read so far are discarded.
  Status read_line(SecretString& line, std::size_t max) {
    line.clear();
    for (;;) {
      for (std::size_t i = begin_; i < end_; ++i) {
        if (buf_[i] == '\n') {
          if (line.size() + (i - begin_) > max) return Status::kTooLong;
          line.append(buf_ + begin_, i - begin_);
          begin_ = i + 1;
          return Status::kLine;
        }
      }
      if (line.size() + (end_ - begin_) > max) return Status::kTooLong;
      line.append(buf_ + begin_, end_ - begin_);
      begin_ = end_ = 0;
      auto st = fill();
      if (st == Status::kEof) return line.empty() ? Status::kEof : Status::kLine;
      if (st != Status::kLine) return st;
    }
  }

  // One byte, for the '\n' that must follow "get=1\n".
  Status read_byte(char& c) {
    if (begin_ == end_) {
      begin_ = end_ = 0;
      auto st = fill();
      if (st != Status::kLine) return st;
    }
    c = buf_[begin_++];
    return Status::kLine;
  }

 private:
  Status fill() {
    for (;;) {
      pollfd p[2] = {{fd_, POLLIN, 0}, {stop_fd_, POLLIN, 0}};
      int r = ::poll(p, 2, -1);
      if (r < 0) {
        if (errno == EINTR) continue;
        return Status::kError;
      }
      if (p[1].revents) return Status::kStopped;
      ssize_t n = ::recv(fd_, buf_, sizeof buf_, 0);
      if (n > 0) {
        end_ = std::size_t(n);
        return Status::kLine;
      }
      if (n == 0) return Status::kEof;
      if (errno == EINTR || errno == EAGAIN) continue;
      return Status::kError;
    }
  }

  int fd_;
  int stop_fd_;
  char buf_[16384];
  std::size_t begin_ = 0, end_ = 0;
};

// The errno a UAPI answer carries for a Control's failure (0 for success); an error without a
// code is answered as unknown.
int errno_of(const Error& e) { return e.code ? e.code : kErrUnknown; }
int errno_of(const Status& st) { return st ? 0 : errno_of(st.error()); }

bool write_all(int fd, int stop_fd, std::string_view data) {
  while (!data.empty()) {
    ssize_t n = ::send(fd, data.data(), data.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n > 0) {
      data.remove_prefix(std::size_t(n));
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK) return false;
    pollfd p[2] = {{fd, POLLOUT, 0}, {stop_fd, POLLIN, 0}};
    if (::poll(p, 2, -1) < 0 && errno != EINTR) return false;
    if (p[1].revents) return false;
  }
  return true;
}

}  // namespace

}  // namespace wgcore::uapi

namespace wgcore {

UapiSocketState uapi_socket_state(const std::string& iface, const std::string& dir) {
  sockaddr_un addr;
  std::string path = dir + "/" + iface + ".sock";
  if (!uapi::valid_iface(iface) || !uapi::fill_addr(addr, path)) return UapiSocketState::kOther;
  return uapi::state_of(path, addr);
}

bool remove_stale_uapi_socket(const std::string& iface, const std::string& dir) {
  if (uapi_socket_state(iface, dir) != UapiSocketState::kStale) return false;
  return ::unlink((dir + "/" + iface + ".sock").c_str()) == 0;
}

}  // namespace wgcore

namespace wgcore::uapi {

Result<std::unique_ptr<UapiServer>> UapiServer::listen(const std::string& iface, Control& ctl,
                                                       std::string dir, UapiHost* host) {
  // Interface names become file names: refuse anything that could leave the directory.
  if (!valid_iface(iface)) return make_error(EINVAL, "invalid interface name \"" + iface + "\"");
  if (auto st = make_dirs(dir, 0755); !st) return st.error();

  std::string path = dir + "/" + iface + ".sock";
  sockaddr_un addr;
  if (!fill_addr(addr, path)) return make_error(ENAMETOOLONG, "socket path too long: " + path);

  switch (state_of(path, addr)) {
    case SocketState::kAbsent:
      break;
    case SocketState::kLive:
      return make_error(EADDRINUSE, "another daemon is serving " + path);
    case SocketState::kOther:
      return make_error(EEXIST, path + " exists and is not a socket; not touching it");
    case SocketState::kStale:
      if (::unlink(path.c_str()) != 0 && errno != ENOENT) return sys_error(errno, "removing stale socket " + path);
      break;
  }

  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return sys_error(errno, "socket");
  // umask is process-wide, but bind is the only call that consults it here; 0177 gives a
  // socket mode of 0600 (wireguard-go's 077 gives 0700; execute has no meaning on a socket).
  mode_t old = ::umask(0177);
  int r = ::bind(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr);
  int bind_errno = errno;
  ::umask(old);
  if (r != 0) {
    ::close(fd);
    return sys_error(bind_errno, "binding " + path);
  }
  // Belt and braces against a umask changed by another thread in the window above.
  ::chmod(path.c_str(), 0600);
  struct stat st {};  // identifies our socket file, so the destructor unlinks only that
  if (::listen(fd, 16) != 0 || ::lstat(path.c_str(), &st) != 0) {
    int e = errno;
    ::unlink(path.c_str());
    ::close(fd);
    return sys_error(e, "listening on " + path);
  }
  int stop_fd = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (stop_fd < 0) {
    int e = errno;
    ::unlink(path.c_str());
    ::close(fd);
    return sys_error(e, "eventfd");
  }
  // Non-blocking: whoever accepts polls first, and another may have taken the connection since.
  ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK);
  std::unique_ptr<UapiServer> server(
      new UapiServer(ctl, std::move(path), fd, stop_fd, st.st_dev, st.st_ino));
  if (host) {
    // Set before the watch: a client may connect (the socket exists since bind) and the host
    // run host_accept() at once.
    server->host_ = host;
    server->spare_fd_ = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
    UapiServer* s = server.get();
    Status watched;
    host->run_on_host([&] { watched = host->watch(fd, [s] { s->host_accept(); }); });
    if (!watched) {
      server->host_ = nullptr;  // nothing to unwatch; the destructor unlinks the socket
      return watched.error();
    }
  } else {
    server->accept_thread_ = std::thread([s = server.get()] { s->accept_loop(); });
  }
  return server;
}

UapiServer::UapiServer(Control& ctl, std::string path, int listen_fd, int stop_fd, dev_t dev,
                       ino_t ino)
    : ctl_(ctl), path_(std::move(path)), listen_fd_(listen_fd), stop_fd_(stop_fd), dev_(dev),
      ino_(ino) {}

UapiServer::~UapiServer() {
  stop();
  struct stat st {};
  if (::lstat(path_.c_str(), &st) == 0 && st.st_dev == dev_ && st.st_ino == ino_)
    ::unlink(path_.c_str());
  ::close(stop_fd_);
}

void UapiServer::stop() {
  if (stopped_.exchange(true)) return;
  std::uint64_t one = 1;
  ssize_t n = ::write(stop_fd_, &one, sizeof one);
  (void)n;  // an eventfd write of 1 cannot fail short of overflow
  if (host_) {
    // On the host's thread, so no callback of ours runs there after this.
    host_->run_on_host([this] {
      host_->unwatch(listen_fd_);
      while (!host_conns_.empty()) host_close(host_conns_.size() - 1);
    });
    if (spare_fd_ >= 0) ::close(spare_fd_);
    spare_fd_ = -1;
  }
  if (accept_thread_.joinable()) accept_thread_.join();
  // Closing the listener resets connections still waiting in its backlog, so no client hangs
  // on a server that will never accept it. The socket file stays until destruction.
  ::close(listen_fd_);
  listen_fd_ = -1;
  std::vector<std::thread> workers;
  {
    std::lock_guard lock(conns_mu_);
    stopping_ = true;
    workers.swap(workers_);
    exited_.clear();
  }
  conns_cv_.notify_all();
  for (auto& t : workers) t.join();
  // Accepted but never served (every worker saw stopping_ with work left only at shutdown).
  for (auto& p : pending_) ::close(p.fd);
  pending_.clear();
}

void UapiServer::join_exited() {
  std::vector<std::thread> done;
  {
    std::lock_guard lock(conns_mu_);
    for (auto id : exited_) {
      auto it = std::find_if(workers_.begin(), workers_.end(),
                             [&](const std::thread& t) { return t.get_id() == id; });
      if (it != workers_.end()) {
        done.push_back(std::move(*it));
        workers_.erase(it);
      }
    }
    exited_.clear();
  }
  for (auto& t : done) t.join();
}

void UapiServer::accept_loop() {
  for (;;) {
    pollfd p[2] = {{listen_fd_, POLLIN, 0}, {stop_fd_, POLLIN, 0}};
    if (::poll(p, 2, -1) < 0) {
      if (errno == EINTR) continue;
      return;
    }
    if (p[1].revents) return;
    int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) {
      if (errno == EINTR || errno == EAGAIN || errno == ECONNABORTED) continue;
      // EMFILE and friends: back off briefly instead of spinning on a ready listener.
      ::poll(p + 1, 1, 100);
      continue;
    }
    enqueue(fd);
  }
}

void UapiServer::enqueue(int fd, SecretString read) {
  join_exited();
  std::lock_guard lock(conns_mu_);
  if (stopping_ || busy_ + pending_.size() >= kMaxConnections) {
    ::close(fd);  // over the limit: refuse by closing, as a full backlog would
    return;
  }
  pending_.push_back({fd, std::move(read)});
  if (idle_ < pending_.size()) workers_.emplace_back([this] { worker(); });
  conns_cv_.notify_one();
}

void UapiServer::host_accept() {
  for (int i = 0; i < 16; ++i) {  // a burst, not forever: the host has packets to move too
    int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK);
    if (fd < 0) {
      if ((errno == EMFILE || errno == ENFILE) && spare_fd_ >= 0) {
        // Out of descriptors, the listener would stay readable and wake the device's loop every
        // turn. The spare descriptor makes room to accept the connection and close it (a
        // refusal, as over kMaxConnections), the way event loops such as libev's do.
        ::close(spare_fd_);
        int c = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
        if (c >= 0) ::close(c);
        spare_fd_ = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
        if (c >= 0) continue;
      }
      return;  // EAGAIN (drained), or an error that the next readiness retries
    }
    if (host_conns_.size() >= kMaxHostWaiting) host_hand_off(0);
    if (!host_->watch(fd, [this, fd] { host_readable(fd); })) {
      enqueue(fd);
      continue;
    }
    host_conns_.push_back({fd, {}});
    // A client writes its request right after connecting: often it is there already, and
    // reading now saves a turn of the loop. (Waiting up to 40 us for it here was tried and
    // measured no better in control_bench.)
    host_readable(fd);
  }
}

void UapiServer::host_close(std::size_t i) {
  host_->unwatch(host_conns_[i].fd);
  ::close(host_conns_[i].fd);
  host_conns_.erase(host_conns_.begin() + std::ptrdiff_t(i));
}

void UapiServer::host_hand_off(std::size_t i) {
  HostConn c = std::move(host_conns_[i]);
  host_conns_.erase(host_conns_.begin() + std::ptrdiff_t(i));
  host_->unwatch(c.fd);
  enqueue(c.fd, std::move(c.read));
}

void UapiServer::host_readable(int fd) {
  std::size_t i = 0;
  while (i < host_conns_.size() && host_conns_[i].fd != fd) ++i;
  if (i == host_conns_.size()) return;
  SecretString& in = host_conns_[i].read;
  char buf[kMaxHostRequestBytes + 1];
  ssize_t n = ::recv(fd, buf, sizeof buf - in.size(), MSG_DONTWAIT);
  if (n < 0) {
    if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) host_close(i);
    return;
  }
  if (n == 0) {
    // The client is done. A request cut short by EOF is a thread's to judge (wireguard-go
    // applies such a set as it stands).
    if (in.empty()) host_close(i);
    else host_hand_off(i);
    return;
  }
  in.append(buf, std::size_t(n));
  secure_zero(buf, std::size_t(n));
  // Only "set=1\n" BODY "\n" whole, alone and small is answered here; anything else (a get,
  // whose answer may be large, a long or pipelined request, '\r' line ends) goes to a thread
  // with what was read, which serves it exactly as if it had read it itself.
  constexpr std::string_view kSet = "set=1\n";
  if (in.size() < kSet.size()) {
    if (kSet.substr(0, in.size()) != std::string_view(in)) host_hand_off(i);
    return;  // more to come
  }
  if (std::string_view(in).substr(0, kSet.size()) != kSet || in.size() > kMaxHostRequestBytes ||
      in.find('\r') != SecretString::npos) {
    host_hand_off(i);
    return;
  }
  const std::size_t end = in.find("\n\n", kSet.size() - 1);
  if (end == SecretString::npos) return;  // the blank line has not come yet
  if (end + 2 != in.size()) {
    host_hand_off(i);
    return;
  }
  int code = 0;
  {
    SecretString body(in, kSet.size(), end + 1 - kSet.size());
    auto update = parse_set(body);
    if (!update) {
      code = update.error().code;
    } else {
      std::unique_lock lock(ctl_mu_, std::try_to_lock);
      std::optional<Status> applied;
      if (lock) applied = host_->try_apply_now(*update);
      if (!applied) {  // large, or another control call is under way: a thread waits for it
        if (lock) lock.unlock();
        host_hand_off(i);
        burn_stack(16 * 1024);
        return;
      }
      code = errno_of(*applied);
    }
  }
  secure_zero(in.data(), in.size());  // clear() keeps the buffer, and the request had keys
  in.clear();
  burn_stack(16 * 1024);  // the parse's frames held the request's keys
  const std::string answer = format_errno(code);
  host_answers_.fetch_add(1, std::memory_order_relaxed);  // before the client can see the answer
  ssize_t w = ::send(fd, answer.data(), answer.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
  if (w != ssize_t(answer.size())) host_close(i);  // a fresh socket takes a few bytes; else the client is gone
}

void UapiServer::worker() {
  constexpr auto kWorkerIdle = std::chrono::seconds(5);
  std::unique_lock lock(conns_mu_);
  for (;;) {
    ++idle_;
    conns_cv_.wait_for(lock, kWorkerIdle, [this] { return stopping_ || !pending_.empty(); });
    --idle_;
    // Still empty: idle too long, or stopping with nothing left to serve.
    if (pending_.empty()) break;
    Pending p = std::move(pending_.front());
    pending_.pop_front();
    const int fd = p.fd;
    ++busy_;
    lock.unlock();
    serve(fd, p.read);
    p.read.clear();
    // Keys passed through this thread's frames (parsing, Control calls); the next connection
    // and, once the thread leaves, glibc's stack cache reuse this stack.
    burn_stack();
    ::close(fd);
    lock.lock();
    --busy_;
  }
  if (!stopping_) exited_.push_back(std::this_thread::get_id());
}

void UapiServer::serve(int fd, const SecretString& read) {
  ConnReader in(fd, stop_fd_, read);
  SecretString op, line, body, answer;
  for (;;) {
    if (in.read_line(op, kMaxOpLineBytes) != ConnReader::Status::kLine) return;
    if (op == "get=1") {
      char c = 0;
      if (in.read_byte(c) != ConnReader::Status::kLine) return;
      answer.clear();
      if (c != '\n') {
        answer = format_errno(kErrInvalid);  // "trailing character in UAPI get"
      } else {
        Result<DeviceState> state = [&] {
          std::lock_guard lock(ctl_mu_);
          return ctl_.get();
        }();
        if (state) {
          // format_get's result is one exact-size block holding the keys in hex: copy it into
          // the zeroing string and wipe it.
          std::string text = format_get(*state);
          answer.assign(text);
          secure_zero(text.data(), text.size());
          answer += format_errno(0);
        } else {
          answer = format_errno(errno_of(state.error()));
        }
      }
      if (!write_all(fd, stop_fd_, answer)) return;
    } else if (op == "set=1") {
      body.clear();
      int fail = 0;
      bool eof = false;
      for (;;) {
        auto st = in.read_line(line, kMaxLineBytes);
        if (st == ConnReader::Status::kEof) {
          eof = true;  // like wireguard-go, a set cut short by EOF is applied as it stands
          break;
        }
        if (st == ConnReader::Status::kTooLong) {
          fail = kErrIo;
          break;
        }
        if (st != ConnReader::Status::kLine) return;
        if (line.empty() || line == "\r") break;
        if (body.size() + line.size() + 1 > kMaxRequestBytes) {
          fail = EMSGSIZE;
          break;
        }
        body += line;
        body += '\n';
      }
      if (fail) {
        write_all(fd, stop_fd_, format_errno(fail));
        return;  // the stream is no longer framed
      }
      int code = 0;
      auto update = parse_set(body);
      if (!update) {
        code = update.error().code;
      } else {
        std::lock_guard lock(ctl_mu_);
        auto st = ctl_.apply(*update);
        code = errno_of(st);
      }
      if (!write_all(fd, stop_fd_, format_errno(code)) || eof) return;
    } else {
      return;  // unknown operation: wireguard-go closes the connection without an answer
    }
  }
}

}  // namespace wgcore::uapi
