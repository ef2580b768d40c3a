// Messages about configuration files, worded and placed the way systemd-networkd words them
// ("FILE:LINE: Unknown key name 'Foo' in section 'WireGuard', ignoring."), collected rather than
// printed so the daemon logs them, `check` prints them and tests compare them.
#pragma once

#include <string>
#include <vector>

namespace wgcore::networkd {

struct Diagnostic {
  enum class Level { kWarning, kError };
  Level level = Level::kWarning;
  std::string text;  // complete message, file and line included
};

class Diagnostics {
 public:
  // "FILE:LINE: MESSAGE" (log_syntax's format); line 0 leaves the line out.
  void syntax(Diagnostic::Level level, const std::string& file, unsigned line,
              const std::string& message);
  // "IFNAME: MESSAGE" (log_netdev_*'s format); an empty name leaves the prefix out.
  void netdev(Diagnostic::Level level, const std::string& ifname, const std::string& message);
  void add(Diagnostic::Level level, std::string text) { items_.push_back({level, std::move(text)}); }

  const std::vector<Diagnostic>& items() const { return items_; }
  bool empty() const { return items_.empty(); }
  std::string joined() const;  // one message a line, for tests and `check`

 private:
  std::vector<Diagnostic> items_;
};

}  // namespace wgcore::networkd
