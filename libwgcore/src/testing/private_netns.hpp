// The part of the root-test support that needs no test framework (benchmarks use it too): move
// the process into a private network namespace that disappears with it, so nothing needs
// cleaning up and the machine's own namespace is never touched.
#pragma once

#include <sched.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

namespace wgcore::testing_support {

inline bool in_ci() {
  const char* ci = std::getenv("CI");
  return ci != nullptr && (std::string(ci) == "true" || std::string(ci) == "1");
}

// Enters the private namespace once for the whole program (gtest runs tests on the main thread,
// the one unshare() moves; system() children inherit it) and brings loopback up. Returns why it
// could not, or "" on success.
inline const std::string& private_netns_problem() {
  static const std::string problem = []() -> std::string {
    if (::geteuid() != 0) return "needs root (unshare(CLONE_NEWNET))";
    if (::unshare(CLONE_NEWNET) != 0)
      return std::string("unshare(CLONE_NEWNET): ") + std::strerror(errno);
    if (std::system("ip link set lo up") != 0) return "`ip link set lo up` failed";
    return "";
  }();
  return problem;
}

// Runs cmd through the shell (inside the namespace) and returns its stdout: `ip` and friends are
// the independent reference such tests compare against.
inline std::string sh(const std::string& cmd) {
  std::string out;
  FILE* f = ::popen(cmd.c_str(), "r");
  if (f == nullptr) return out;
  char buf[512];
  std::size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, f)) > 0) out.append(buf, n);
  ::pclose(f);
  return out;
}

}  // namespace wgcore::testing_support
