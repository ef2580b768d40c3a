// Test support for tests that need root and a network namespace: the test program moves itself
// into a private network namespace (unshare(CLONE_NEWNET)) that disappears with the process, so
// nothing needs cleaning up and the machine's own namespace is never touched. Without root such
// tests skip, or fail loudly when CI=true (CI has root; a silent skip there would hide a break).
#pragma once

#include <gtest/gtest.h>
#include <sched.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "linux/tun.hpp"

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

// Why /dev/net/tun cannot be used, or "".
inline std::string tun_problem() {
  Status st = io::TunDevice::available();
  return st.ok() ? "" : st.error().message;
}

// In a fixture's SetUp (or a test): skip when `why` is non-empty, or fail when CI=true.
#define WGCORE_REQUIRE_ENV(why)                                                        \
  do {                                                                                 \
    const std::string wgcore_why_ = (why);                                             \
    if (!wgcore_why_.empty()) {                                                        \
      if (::wgcore::testing_support::in_ci())                                          \
        FAIL() << "CI=true but this test's environment is missing: " << wgcore_why_;   \
      GTEST_SKIP() << "skipping: " << wgcore_why_;                                     \
    }                                                                                  \
  } while (0)

// Fixture: runs the test inside the private namespace.
class NetnsTest : public ::testing::Test {
 protected:
  void SetUp() override { WGCORE_REQUIRE_ENV(private_netns_problem()); }
};

// Fixture: as NetnsTest, and /dev/net/tun must be usable.
class TunTest : public ::testing::Test {
 protected:
  void SetUp() override {
    WGCORE_REQUIRE_ENV(private_netns_problem());
    WGCORE_REQUIRE_ENV(tun_problem());
  }
};

}  // namespace wgcore::testing_support
