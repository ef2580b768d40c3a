// Test fixture for routing/: the test process enters a private network namespace once
// (unshare(CLONE_NEWNET)), so routes and rules it programs vanish with it and the machine's own
// namespace is never touched. Needs root; skips, or with CI=true fails, without. `ip` is the
// independent reference the tests compare against.
#pragma once

#include <cstdlib>
#include <string>

#include <optional>

#include "routing/netlink.hpp"
#include "testing/netns.hpp"

namespace wgcore::routing::testing {

using testing_support::sh;

// The shared private namespace plus two persistent TUN links (no module beyond tun needed) to
// hang routes on.
inline const std::string& netns_problem() {
  static const std::string problem = []() -> std::string {
    const std::string& base = testing_support::private_netns_problem();
    if (!base.empty()) return base;
    if (std::system("ip tuntap add dev rt0 mode tun && ip tuntap add dev rt1 mode tun") != 0)
      return "`ip tuntap add` failed (no /dev/net/tun?)";
    return "";
  }();
  return problem;
}

// Runs inside the namespace with an rtnetlink socket open in `nl`.
class NetnsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    WGCORE_REQUIRE_ENV(netns_problem());
    auto n = Netlink::open();
    ASSERT_TRUE(n) << n.error().message;
    nl.emplace(std::move(*n));
  }
  std::optional<Netlink> nl;
};

}  // namespace wgcore::routing::testing
