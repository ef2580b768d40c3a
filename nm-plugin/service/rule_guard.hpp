// The cleanup guard: a child process (this same binary, run as `--cleanup-guard`) that outlives
// a crashed service just long enough to delete what the kernel would otherwise keep: the fwmark
// policy rules of a full tunnel and a kernel-backend WireGuard link. The service tells it each
// object as it adds it and again as it removes it (one line each on a socket); when the socket
// reaches EOF (the service exited, however) the guard deletes whatever is still listed.
// A TUN interface and its routes go with their last fd, so the guard also holds a copy of the
// TUN fd and closes it a moment after the service died: NetworkManager then sees the service
// leave the bus first and fails the connection as "service stopped", instead of seeing only a
// device vanish (a plain "disconnected").
#pragma once

#include <sys/types.h>

#include <string>

#include "routing/rule.hpp"
#include "wgcore/result.hpp"

namespace wgcore::nm {

class RuleGuard {
 public:
  RuleGuard() = default;
  RuleGuard(const RuleGuard&) = delete;
  RuleGuard& operator=(const RuleGuard&) = delete;
  ~RuleGuard();  // closes the pipe: the guard deletes what is still listed, then exits

  // Starts the guard (once; later calls are no-ops). `self` is this program's path.
  Status start(const std::string& self);

  Status watch_rule(const routing::Rule& r) { return send("rule " + encode(r)); }
  Status forget_rule(const routing::Rule& r) { return send("unrule " + encode(r)); }
  Status watch_link(const std::string& ifname) { return send("link " + ifname); }
  Status forget_link(const std::string& ifname) { return send("unlink " + ifname); }
  // Hands the guard a copy of this process's TUN fd for `ifname` / takes it back (waits until
  // the guard closed it, so the interface goes when the device closes its own).
  Status hold_tun(const std::string& ifname);
  Status release_tun(const std::string& ifname);

  // The text form of a rule on the pipe, and back (exposed for the unit test).
  static std::string encode(const routing::Rule& r);
  static Result<routing::Rule> decode(const std::string& text);

  // The guard process's main: reads stdin until EOF, then cleans up. Returns the exit status.
  static int run_guard();

 private:
  Status send(const std::string& line, int pass_fd = -1);
  int fd_ = -1;
  pid_t pid_ = -1;
};

}  // namespace wgcore::nm
