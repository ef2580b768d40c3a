// inotify on networkd's configuration directories: says when a .netdev file or a .netdev.d
// drop-in was written, renamed or removed, so `networkctl reload` after an edit is all an
// administrator needs (the helper acts on the change itself, see daemon.hpp). The helper's own
// hide drop-ins are not changes.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "wgcore/result.hpp"

namespace wgcore::networkd {

class DirWatch {
 public:
  // Watches each existing directory of `dirs` and its *.netdev.d subdirectories; events for a
  // file named `ignore` (our own drop-in) are not changes.
  static Result<DirWatch> open(const std::vector<std::string>& dirs, std::string ignore);
  DirWatch(DirWatch&& o) noexcept;
  DirWatch& operator=(DirWatch&&) = delete;
  DirWatch(const DirWatch&) = delete;
  ~DirWatch();

  int fd() const { return fd_; }
  // Reads the pending events (adding watches for new .netdev.d directories); true when one was
  // a change to a .netdev or to a drop-in of one.
  bool drain();

 private:
  DirWatch(int fd, std::string ignore) : fd_(fd), ignore_(std::move(ignore)) {}
  void add(const std::string& dir, bool dropins);
  int fd_ = -1;
  std::string ignore_;
  struct Watched {
    std::string path;
    bool dropins = false;  // a .netdev.d directory
  };
  std::map<int, Watched> watched_;  // by watch descriptor
};

}  // namespace wgcore::networkd
