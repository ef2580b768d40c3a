// See dir_watch.hpp.
#include "dir_watch.hpp"

#include <sys/inotify.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

namespace wgcore::networkd {

namespace fs = std::filesystem;

namespace {

bool ends_with(const std::string& s, const char* suffix) {
  std::size_t n = std::strlen(suffix);
  return s.size() > n && s.compare(s.size() - n, n, suffix) == 0;
}

constexpr std::uint32_t kMask = IN_CREATE | IN_DELETE | IN_MOVED_FROM | IN_MOVED_TO | IN_CLOSE_WRITE | IN_ATTRIB;

}  // namespace

Result<DirWatch> DirWatch::open(const std::vector<std::string>& dirs, std::string ignore) {
  int fd = ::inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
  if (fd < 0) return make_error(errno, std::string("inotify: ") + strerror(errno));
  DirWatch w(fd, std::move(ignore));
  for (const auto& d : dirs) {
    std::error_code ec;
    if (!fs::is_directory(d, ec)) continue;
    w.add(d, false);
    for (fs::directory_iterator it(d, ec), end; !ec && it != end; it.increment(ec))
      if (ends_with(it->path().filename().string(), ".netdev.d") && it->is_directory(ec)) w.add(it->path().string(), true);
  }
  return w;
}

DirWatch::DirWatch(DirWatch&& o) noexcept : fd_(o.fd_), ignore_(std::move(o.ignore_)), watched_(std::move(o.watched_)) {
  o.fd_ = -1;
}

DirWatch::~DirWatch() {
  if (fd_ >= 0) ::close(fd_);
}

void DirWatch::add(const std::string& dir, bool dropins) {
  int wd = ::inotify_add_watch(fd_, dir.c_str(), kMask | IN_ONLYDIR);
  if (wd >= 0) watched_[wd] = Watched{dir, dropins};
}

bool DirWatch::drain() {
  bool changed = false;
  alignas(inotify_event) char buf[8192];
  for (;;) {
    ssize_t n = ::read(fd_, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return changed;
    for (char* p = buf; p < buf + n;) {
      auto* ev = reinterpret_cast<inotify_event*>(p);
      p += sizeof(inotify_event) + ev->len;
      if (ev->mask & IN_Q_OVERFLOW) {
        changed = true;
        continue;
      }
      auto it = watched_.find(ev->wd);
      if (it == watched_.end()) continue;
      if (ev->mask & IN_IGNORED) {  // the directory went
        watched_.erase(it);
        continue;
      }
      const std::string name = ev->len ? std::string(ev->name) : std::string();
      if (it->second.dropins) {  // inside X.netdev.d
        if (name != ignore_ && ends_with(name, ".conf")) changed = true;
        continue;
      }
      if (ends_with(name, ".netdev")) changed = true;
      if (ends_with(name, ".netdev.d") && (ev->mask & IN_ISDIR)) {
        // A drop-in directory came or went: watch a new one; what it holds is a change.
        if (ev->mask & (IN_CREATE | IN_MOVED_TO)) add(it->second.path + "/" + name, true);
        changed = true;
      }
    }
  }
}

}  // namespace wgcore::networkd
