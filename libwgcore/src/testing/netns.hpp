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
#include "testing/private_netns.hpp"

namespace wgcore::testing_support {

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
