// UAPI client: connects, writes one request, reads until the blank line that ends the answer
// (body lines are never empty, so the first "\n\n" is the end), with a deadline and a size cap.
#include "uapi/uapi_client.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "common/secure_string.hpp"
#include "uapi/uapi_text.hpp"
#include "uapi/unix_socket.hpp"

namespace wgcore::uapi {
namespace {

// Generous: a get answer for 100k peers with several allowed IPs each stays well below this.
constexpr std::size_t kMaxAnswerBytes = 256 * 1024 * 1024;

class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return fd_; }

 private:
  int fd_;
};

std::string base_name(const std::string& path) {
  auto slash = path.rfind('/');
  std::string name = slash == std::string::npos ? path : path.substr(slash + 1);
  if (name.size() > 5 && name.ends_with(".sock")) name.resize(name.size() - 5);
  return name;
}

}  // namespace

UapiClient::UapiClient(std::string socket_path, std::chrono::milliseconds timeout)
    : path_(std::move(socket_path)), name_(base_name(path_)), timeout_(timeout) {}

UapiClient UapiClient::for_interface(const std::string& iface, const std::string& dir) {
  return UapiClient(dir + "/" + iface + ".sock");
}

Result<SecretString> UapiClient::exchange(std::string_view request) {
  sockaddr_un addr;
  if (!fill_addr(addr, path_)) return make_error(ENAMETOOLONG, "socket path too long: " + path_);
  Fd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (fd.get() < 0) return sys_error(errno, "socket");
  // A unix stream connect completes or fails at once (it waits only while the listener's
  // backlog is full); the exchange after it runs non-blocking against the deadline.
  if (::connect(fd.get(), reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0)
    return sys_error(errno, "connecting to " + path_);
  if (::fcntl(fd.get(), F_SETFL, ::fcntl(fd.get(), F_GETFL) | O_NONBLOCK) != 0)
    return sys_error(errno, "fcntl");

  const auto deadline = std::chrono::steady_clock::now() + timeout_;
  auto wait = [&](short events) -> Status {
    for (;;) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) return make_error(ETIMEDOUT, "no answer from " + path_);
      pollfd p{fd.get(), events, 0};
      int r = ::poll(&p, 1, int(std::min<long long>(left.count(), 1 << 30)));
      if (r > 0) return {};
      if (r < 0 && errno != EINTR) return sys_error(errno, "poll on " + path_);
    }
  };

  std::string_view out = request;
  while (!out.empty()) {
    ssize_t n = ::send(fd.get(), out.data(), out.size(), MSG_NOSIGNAL);
    if (n > 0) {
      out.remove_prefix(std::size_t(n));
    } else if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
      if (auto st = wait(POLLOUT); !st) return st.error();
    } else {
      return sys_error(errno, "writing to " + path_);
    }
  }

  SecretString answer;  // a get answer holds the private key in hex
  std::size_t scanned = 0;  // "\n\n" does not start before this offset
  char buf[16384];
  struct WipeOnExit {  // the last read of a get answer holds the private key
    char* p;
    ~WipeOnExit() { secure_zero(p, sizeof buf); }
  } wipe{buf};
  for (;;) {
    // The answer ends at the first empty line: "\n\n", or a lone "\n" at the very start.
    if (answer.starts_with("\n")) return answer.substr(0, 1);
    if (auto end = answer.find("\n\n", scanned); end != std::string::npos)
      return answer.substr(0, end + 2);
    scanned = answer.empty() ? 0 : answer.size() - 1;
    if (answer.size() > kMaxAnswerBytes)
      return make_error(EMSGSIZE, "answer from " + path_ + " is too large");
    ssize_t n = ::recv(fd.get(), buf, sizeof buf, 0);
    if (n > 0) {
      answer.append(buf, std::size_t(n));
      continue;
    }
    if (n == 0) return make_error(EPROTO, "connection to " + path_ + " closed mid-answer");
    if (errno == EAGAIN || errno == EINTR) {
      if (auto st = wait(POLLIN); !st) return st.error();
      continue;
    }
    return sys_error(errno, "reading from " + path_);
  }
}

Result<DeviceState> UapiClient::get() {
  auto answer = exchange("get=1\n\n");
  if (!answer) return answer.error();
  auto state = parse_get(*answer);
  if (!state) {
    Error e = state.error();
    e.message = path_ + ": " + e.message;
    return e;
  }
  state->name = name_;
  return state;
}

Status UapiClient::apply(const DeviceUpdate& update) {
  // The request carries keys in hex: build it in a zeroing string and wipe format_set's block.
  SecretString request = "set=1\n";
  {
    std::string body = format_set(update);
    request.append(body);
    secure_zero(body.data(), body.size());
  }
  request += '\n';
  auto answer = exchange(request);
  if (!answer) return answer.error();
  // Exactly "errno=N\n\n".
  std::string_view a = *answer;
  if (!a.starts_with("errno=") || !a.ends_with("\n\n"))
    return make_error(EPROTO, path_ + ": unexpected answer to set");
  auto num = a.substr(6, a.size() - 8);
  bool neg = num.starts_with("-");
  if (neg) num.remove_prefix(1);
  if (num.empty() || num.size() > 9 ||
      !std::all_of(num.begin(), num.end(), [](char c) { return c >= '0' && c <= '9'; }))
    return make_error(EPROTO, path_ + ": unexpected answer to set");
  int code = std::stoi(std::string(num));
  if (code != 0)
    return make_error(code, path_ + ": set failed: errno=" + std::string(neg ? "-" : "") +
                                std::string(num) + " (" + std::strerror(code) + ")");
  return {};
}

std::vector<std::string> uapi_list_interfaces(const std::string& dir) {
  std::vector<std::string> names;
  DIR* d = ::opendir(dir.c_str());
  if (!d) return names;
  while (dirent* e = ::readdir(d)) {
    std::string file = e->d_name;
    if (file.size() <= 5 || !file.ends_with(".sock")) continue;
    std::string path = dir + "/" + file;
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0 || !S_ISSOCK(st.st_mode)) continue;
    sockaddr_un addr;
    if (!fill_addr(addr, path)) continue;
    int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) continue;
    bool live = ::connect(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) == 0;
    ::close(fd);
    if (live) names.push_back(file.substr(0, file.size() - 5));
  }
  ::closedir(d);
  std::sort(names.begin(), names.end());
  return names;
}

}  // namespace wgcore::uapi
