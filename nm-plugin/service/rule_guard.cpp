// The cleanup guard process and the service's end of its pipe; see rule_guard.hpp.
#include "rule_guard.hpp"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <dirent.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <deque>
#include <fstream>
#include <sstream>
#include <thread>
#include <vector>

#include "routing/netlink.hpp"
#include "wgcore/interface.hpp"

extern char** environ;

namespace wgcore::nm {

namespace {

std::string opt_u32(const std::optional<std::uint32_t>& v) { return v ? std::to_string(*v) : "-"; }

Result<std::optional<std::uint32_t>> parse_opt_u32(const std::string& s) {
  if (s == "-") return std::optional<std::uint32_t>{};
  try {
    std::size_t used = 0;
    unsigned long v = std::stoul(s, &used, 10);
    if (used != s.size() || v > 0xffffffffUL) return make_error(EINVAL, "bad number '" + s + "'");
    return std::optional<std::uint32_t>(std::uint32_t(v));
  } catch (...) {
    return make_error(EINVAL, "bad number '" + s + "'");
  }
}

}  // namespace

std::string RuleGuard::encode(const routing::Rule& r) {
  std::ostringstream out;
  out << (r.family == IpAddr::Family::V4 ? 4 : 6) << ' ' << opt_u32(r.priority) << ' '
      << (r.invert ? 1 : 0) << ' ' << opt_u32(r.fwmark) << ' ' << r.table << ' '
      << opt_u32(r.suppress_prefixlength);
  return out.str();
}

Result<routing::Rule> RuleGuard::decode(const std::string& text) {
  std::istringstream in(text);
  std::string fam, prio, inv, mark, table, sup, extra;
  if (!(in >> fam >> prio >> inv >> mark >> table >> sup) || (in >> extra))
    return make_error(EINVAL, "bad rule line '" + text + "'");
  routing::Rule r;
  if (fam != "4" && fam != "6") return make_error(EINVAL, "bad family '" + fam + "'");
  r.family = fam == "4" ? IpAddr::Family::V4 : IpAddr::Family::V6;
  auto p = parse_opt_u32(prio);
  auto m = parse_opt_u32(mark);
  auto t = parse_opt_u32(table);
  auto s = parse_opt_u32(sup);
  if (!p || !m || !t || !s || !*t || **t == 0 || (inv != "0" && inv != "1"))
    return make_error(EINVAL, "bad rule line '" + text + "'");
  r.priority = *p;
  r.invert = inv == "1";
  r.fwmark = *m;
  r.table = **t;
  r.suppress_prefixlength = *s;
  return r;
}

Status RuleGuard::start(const std::string& self) {
  if (fd_ >= 0) return {};
  int fds[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) != 0)
    return make_error(errno, "cleanup guard: socketpair failed");
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, fds[0], 0);
  const char* argv[] = {self.c_str(), "--cleanup-guard", nullptr};
  pid_t pid = -1;
  int rc = ::posix_spawn(&pid, self.c_str(), &fa, nullptr, const_cast<char* const*>(argv), environ);
  posix_spawn_file_actions_destroy(&fa);
  ::close(fds[0]);
  if (rc != 0) {
    ::close(fds[1]);
    return make_error(rc, "cleanup guard: cannot start " + self);
  }
  fd_ = fds[1];
  pid_ = pid;
  return {};
}

Status RuleGuard::send(const std::string& line, int pass_fd) {
  if (fd_ < 0) return make_error(EPIPE, "cleanup guard is not running");
  std::string l = line + "\n";
  iovec iov{l.data(), l.size()};
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  alignas(cmsghdr) char cbuf[CMSG_SPACE(sizeof(int))];
  if (pass_fd >= 0) {
    std::memset(cbuf, 0, sizeof cbuf);
    msg.msg_control = cbuf;
    msg.msg_controllen = sizeof cbuf;
    cmsghdr* c = CMSG_FIRSTHDR(&msg);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(sizeof(int));
    std::memcpy(CMSG_DATA(c), &pass_fd, sizeof(int));
  }
  if (::sendmsg(fd_, &msg, MSG_NOSIGNAL) != ssize_t(l.size()))
    return make_error(errno ? errno : EPIPE, "cleanup guard: write failed");
  return {};
}

namespace {

// This process's fd on /dev/net/tun attached to `ifname` (its fdinfo has "iff:\tIFNAME").
int find_tun_fd(const std::string& ifname) {
  DIR* d = ::opendir("/proc/self/fdinfo");
  if (!d) return -1;
  int found = -1;
  while (dirent* e = ::readdir(d)) {
    if (e->d_name[0] == '.') continue;
    std::ifstream in(std::string("/proc/self/fdinfo/") + e->d_name);
    std::string line;
    while (std::getline(in, line))
      if (line.rfind("iff:", 0) == 0 && line.substr(line.find_first_not_of(" \t", 4)) == ifname) found = std::atoi(e->d_name);
    if (found >= 0) break;
  }
  ::closedir(d);
  return found;
}

}  // namespace

Status RuleGuard::hold_tun(const std::string& ifname) {
  int fd = find_tun_fd(ifname);
  if (fd < 0) return make_error(ENOENT, "cleanup guard: no TUN fd for " + ifname);
  return send("tun " + ifname, fd);
}

Status RuleGuard::release_tun(const std::string& ifname) {
  if (Status st = send("untun " + ifname); !st) return st;
  // The guard answers once its copy is closed.
  pollfd p{fd_, POLLIN, 0};
  if (::poll(&p, 1, 2000) <= 0) return make_error(ETIMEDOUT, "cleanup guard did not release " + ifname);
  char c;
  if (::read(fd_, &c, 1) != 1) return make_error(EPIPE, "cleanup guard did not release " + ifname);
  return {};
}

RuleGuard::~RuleGuard() {
  if (fd_ >= 0) ::close(fd_);
  if (pid_ > 0) {
    int st;
    while (::waitpid(pid_, &st, 0) < 0 && errno == EINTR) {
    }
  }
}

int RuleGuard::run_guard() {
  // Inherit nothing of the service but stdin: an inherited TUN fd would keep an interface alive
  // for good; the ones the guard holds come explicitly (hold_tun) and are closed at the end.
  ::syscall(SYS_close_range, 3u, ~0u, 0u);
  // Our own group, so a signal to the service's process group does not end the guard first.
  ::setpgid(0, 0);
  ::signal(SIGINT, SIG_IGN);
  ::signal(SIGHUP, SIG_IGN);
  ::signal(SIGPIPE, SIG_IGN);
  std::vector<routing::Rule> rules;
  std::vector<std::string> links;
  std::vector<std::pair<std::string, int>> tuns;
  std::deque<int> passed;  // fds received, in order; each belongs to the next "tun" line
  std::string buf;
  while (true) {
    char data[4096];
    alignas(cmsghdr) char cbuf[CMSG_SPACE(sizeof(int) * 4)];
    iovec iov{data, sizeof data};
    msghdr msg{};
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = cbuf;
    msg.msg_controllen = sizeof cbuf;
    ssize_t n = ::recvmsg(0, &msg, MSG_CMSG_CLOEXEC);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;  // EOF: the service is gone
    for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
      if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS) continue;
      std::size_t count = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
      for (std::size_t i = 0; i < count; ++i) {
        int fd;
        std::memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
        passed.push_back(fd);
      }
    }
    buf.append(data, std::size_t(n));
    std::size_t nl;
    while ((nl = buf.find('\n')) != std::string::npos) {
      std::string line = buf.substr(0, nl);
      buf.erase(0, nl + 1);
      auto sp = line.find(' ');
      std::string verb = line.substr(0, sp);
      std::string arg = sp == std::string::npos ? "" : line.substr(sp + 1);
      if (verb == "link") {
        links.push_back(arg);
      } else if (verb == "unlink") {
        std::erase(links, arg);
      } else if (verb == "tun") {
        if (!passed.empty()) {
          tuns.emplace_back(arg, passed.front());
          passed.pop_front();
        }
      } else if (verb == "untun") {
        std::erase_if(tuns, [&](const std::pair<std::string, int>& t) {
          if (t.first != arg) return false;
          ::close(t.second);
          return true;
        });
        ssize_t w = ::write(0, "k", 1);  // the service waits for this before closing its own
        (void)w;
      } else if (verb == "rule" || verb == "unrule") {
        auto r = decode(arg);
        if (!r) continue;
        if (verb == "rule") {
          rules.push_back(*r);
        } else {
          std::erase_if(rules, [&](const routing::Rule& x) { return encode(x) == arg; });
        }
      }
    }
  }
  for (int fd : passed) ::close(fd);
  auto nl = routing::Netlink::open();
  int status = 0;
  for (const auto& r : rules) {
    Status st = nl ? routing::delete_rule(*nl, r) : Status(nl.error());
    fprintf(stderr, "nm-wgcore-service: cleanup after exit: ip %s rule del %s: %s\n",
            r.family == IpAddr::Family::V4 ? "-4" : "-6", r.to_string().c_str(),
            st ? "done" : st.error().message.c_str());
    if (!st && st.error().code != ENOENT) status = 1;
  }
  for (const auto& l : links) {
    Status st = delete_interface(l);  // a kernel WireGuard link (watch_link)
    fprintf(stderr, "nm-wgcore-service: cleanup after exit: ip link del %s: %s\n", l.c_str(),
            st ? "done" : st.error().message.c_str());
    if (!st && st.error().code != ENODEV) status = 1;
  }
  if (!tuns.empty()) {
    // Let NetworkManager see the service leave the bus before the interface vanishes.
    std::this_thread::sleep_for(std::chrono::milliseconds(1500));
    for (auto& t : tuns) {
      ::close(t.second);
      fprintf(stderr, "nm-wgcore-service: cleanup after exit: closed %s\n", t.first.c_str());
      // The service's UAPI socket outlives a SIGKILL; nobody listens on it any more.
      if (remove_stale_uapi_socket(t.first))
        fprintf(stderr, "nm-wgcore-service: cleanup after exit: removed %s/%s.sock\n", kUapiSocketDir,
                t.first.c_str());
    }
  }
  return status;
}

}  // namespace wgcore::nm
