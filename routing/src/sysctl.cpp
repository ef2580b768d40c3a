// sysctl access through /proc/sys; see sysctl.hpp.
#include "routing/sysctl.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>

namespace wgcore::routing {

namespace {

std::string path_of(const std::string& key) {
  std::string p = key;
  std::replace(p.begin(), p.end(), '.', '/');
  return "/proc/sys/" + p;
}

}  // namespace

Status write_sysctl(const std::string& key, const std::string& value) {
  std::string what = "setting " + key + "=" + value;
  int fd = ::open(path_of(key).c_str(), O_WRONLY | O_CLOEXEC);
  if (fd < 0) return make_error(errno, what + ": " + std::strerror(errno));
  std::string line = value + "\n";
  ssize_t n = ::write(fd, line.data(), line.size());
  int err = errno;
  ::close(fd);
  if (n != ssize_t(line.size())) return make_error(err, what + ": " + std::strerror(err));
  return {};
}

Result<std::string> read_sysctl(const std::string& key) {
  int fd = ::open(path_of(key).c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return make_error(errno, "reading " + key + ": " + std::strerror(errno));
  char buf[256];
  ssize_t n = ::read(fd, buf, sizeof buf);
  int err = errno;
  ::close(fd);
  if (n < 0) return make_error(err, "reading " + key + ": " + std::strerror(err));
  std::string s(buf, std::size_t(n));
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  return s;
}

}  // namespace wgcore::routing
