#include "control_socket.hpp"

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <sstream>

#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

namespace wgcore::frrwgd {

namespace {

Result<sockaddr_un> unix_address(const std::string& path) {
  sockaddr_un sa{};
  sa.sun_family = AF_UNIX;
  if (path.size() >= sizeof sa.sun_path) return make_error(ENAMETOOLONG, path + ": socket path too long");
  memcpy(sa.sun_path, path.c_str(), path.size() + 1);
  return sa;
}

// MSG_NOSIGNAL: a peer that hung up (a client gone before its answer, a daemon gone before the
// request) is an EPIPE to return, not a SIGPIPE that ends the writing process.
bool write_all(int fd, const std::string& s) {
  std::size_t off = 0;
  while (off < s.size()) {
    ssize_t n = send(fd, s.data() + off, s.size() - off, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    off += std::size_t(n);
  }
  return true;
}

void set_timeouts(int fd, int seconds) {
  timeval tv{seconds, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
}

}  // namespace

Result<int> control_listen(const std::string& path) {
  auto sa = unix_address(path);
  if (!sa) return sa.error();
  std::string dir = path.substr(0, path.rfind('/'));
  if (!dir.empty()) {
    if (mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST)
      return make_error(errno, dir + ": " + strerror(errno));
  }
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0) return make_error(errno, std::string("socket: ") + strerror(errno));
  unlink(path.c_str());
  mode_t old = umask(077);
  int rc = bind(fd, reinterpret_cast<sockaddr*>(&*sa), sizeof(sockaddr_un));
  int e = errno;
  umask(old);
  if (rc != 0 || listen(fd, 8) != 0) {
    if (rc == 0) e = errno;
    close(fd);
    return make_error(e, path + ": " + strerror(e));
  }
  chmod(path.c_str(), 0600);
  return fd;
}

std::optional<Request> control_accept(int listen_fd) {
  int c = accept4(listen_fd, nullptr, nullptr, SOCK_CLOEXEC);
  if (c < 0) return std::nullopt;
  set_timeouts(c, 2);
  std::string req;
  char buf[1024];
  while (req.find('\n') == std::string::npos && req.size() < 65536) {
    ssize_t n = read(c, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    req.append(buf, std::size_t(n));
  }
  auto nl = req.find('\n');
  if (nl == std::string::npos) {
    close(c);
    return std::nullopt;
  }
  req.resize(nl);
  Request r{c, {}};
  std::istringstream in(req);
  std::string a;
  while (in >> a) r.args.push_back(a);
  return r;
}

void control_answer(const Request& r, const Reply& reply) {
  write_all(r.fd, "status " + std::to_string(reply.status) + "\n" + reply.text);
  close(r.fd);
}

Result<Reply> control_request(const std::string& path, const std::vector<std::string>& args) {
  auto sa = unix_address(path);
  if (!sa) return sa.error();
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return make_error(errno, std::string("socket: ") + strerror(errno));
  if (connect(fd, reinterpret_cast<sockaddr*>(&*sa), sizeof(sockaddr_un)) != 0) {
    int e = errno;
    close(fd);
    return make_error(e, path + ": " + strerror(e) + " (is frr-wgd running?)");
  }
  set_timeouts(fd, 30);
  std::string line;
  for (const auto& a : args) line += (line.empty() ? "" : " ") + a;
  line += "\n";
  if (!write_all(fd, line)) {
    int e = errno;
    close(fd);
    return make_error(e, path + ": " + strerror(e));
  }
  std::string out;
  char buf[4096];
  for (;;) {
    ssize_t n = read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    out.append(buf, std::size_t(n));
  }
  close(fd);
  Reply r;
  auto nl = out.find('\n');
  if (out.rfind("status ", 0) != 0 || nl == std::string::npos)
    return make_error(EPROTO, path + ": malformed answer from frr-wgd");
  r.status = atoi(out.c_str() + 7);
  r.text = out.substr(nl + 1);
  return r;
}

}  // namespace wgcore::frrwgd
