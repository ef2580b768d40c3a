#include "frr_sync.hpp"

#include <fcntl.h>
#include <spawn.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "frr_snippet.hpp"

extern char** environ;

namespace wgcore::frrwgd {

namespace {

Result<std::string> run_vtysh(const std::string& vtysh, const std::string& vty_socket, const std::string& script) {
  char path[] = "/tmp/frr-wgd-sync-XXXXXX";
  int fd = ::mkstemp(path);
  if (fd < 0) return make_error(errno, std::string("frr sync: temporary file: ") + strerror(errno));
  // `vtysh -f` reads the file as configuration (no `configure terminal`).
  const std::string& text = script;
  bool written = ::write(fd, text.data(), text.size()) == ssize_t(text.size());
  ::close(fd);
  if (!written) {
    ::unlink(path);
    return make_error(EIO, "frr sync: cannot write the vtysh script");
  }
  int out[2];
  if (::pipe2(out, O_CLOEXEC) != 0) {
    ::unlink(path);
    return make_error(errno, "frr sync: pipe");
  }
  std::vector<std::string> args = {vtysh};
  if (!vty_socket.empty()) args.insert(args.end(), {"--vty_socket", vty_socket});
  args.insert(args.end(), {"-f", path});
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(&fa, out[1], 1);
  posix_spawn_file_actions_adddup2(&fa, out[1], 2);
  pid_t pid = -1;
  int rc = ::posix_spawn(&pid, vtysh.c_str(), &fa, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&fa);
  ::close(out[1]);
  std::string output;
  if (rc == 0) {
    char buf[4096];
    ssize_t n;
    while ((n = ::read(out[0], buf, sizeof buf)) > 0 || (n < 0 && errno == EINTR))
      if (n > 0) output.append(buf, std::size_t(n));
  }
  ::close(out[0]);
  ::unlink(path);
  if (rc != 0) return make_error(rc, "frr sync: cannot run " + vtysh + ": " + strerror(rc));
  int st = 0;
  while (::waitpid(pid, &st, 0) < 0 && errno == EINTR) {
  }
  bool error_line = output.rfind("%", 0) == 0 || output.find("\n%") != std::string::npos;
  if (!WIFEXITED(st) || WEXITSTATUS(st) != 0 || error_line)
    return make_error(EPROTO, "frr sync: vtysh refused the update: " + output);
  return output;
}

}  // namespace

FrrSync::FrrSync(Runner run) : run_(std::move(run)), event_fd_(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) {}

FrrSync::FrrSync(std::string vtysh, std::string vty_socket)
    : FrrSync([vtysh = std::move(vtysh), sock = std::move(vty_socket)](const std::string& script) {
        return run_vtysh(vtysh, sock, script);
      }) {}

FrrSync::~FrrSync() {
  if (worker_.joinable()) worker_.join();
  if (event_fd_ >= 0) ::close(event_fd_);
}

bool FrrSync::start(const std::string& route_maps, const FrrLists& lists) {
  if (worker_.joinable()) return false;
  std::string script = route_maps;
  std::size_t n = 0;
  for (const auto& [name, list] : lists) {
    auto it = pushed_.find(name);
    if (it != pushed_.end() && it->second == list) continue;
    script += frr_replace_list(name, list);
    ++n;
  }
  if (script.empty()) return false;
  in_flight_ = lists;
  in_flight_count_ = n;
  {
    std::lock_guard<std::mutex> lock(mu_);
    result_.reset();
  }
  worker_ = std::thread([this, script = std::move(script)] {
    auto r = run_(script);
    {
      std::lock_guard<std::mutex> lock(mu_);
      result_ = r ? Status() : Status(r.error());
    }
    std::uint64_t one = 1;
    ssize_t w = ::write(event_fd_, &one, sizeof one);
    (void)w;
  });
  return true;
}

std::optional<FrrSync::Outcome> FrrSync::finish() {
  std::uint64_t count;
  ssize_t rd = ::read(event_fd_, &count, sizeof count);
  (void)rd;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!result_) return std::nullopt;
  }
  worker_.join();
  Outcome o;
  {
    std::lock_guard<std::mutex> lock(mu_);
    o.status = *result_;
    result_.reset();
  }
  if (o.status) {
    for (auto& [name, list] : in_flight_) pushed_[name] = std::move(list);
    o.lists = in_flight_count_;
  } else {
    pushed_.clear();
  }
  in_flight_.clear();
  return o;
}

}  // namespace wgcore::frrwgd
