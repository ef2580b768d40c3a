// Backend policy with injected availability checks: every combination of the two probes for
// each requested backend, and the reasons a user reads.
#include "wgcore/backend.hpp"

#include <gtest/gtest.h>

namespace wgcore {
namespace {

BackendProbes probes(bool tun, bool kernel, int* tun_calls = nullptr, int* kernel_calls = nullptr) {
  BackendProbes p;
  p.userspace = [=]() -> Status {
    if (tun_calls) ++*tun_calls;
    if (tun) return {};
    return make_error(EACCES, "cannot open /dev/net/tun: Permission denied");
  };
  p.kernel = [=]() -> Status {
    if (kernel_calls) ++*kernel_calls;
    if (kernel) return {};
    return make_error(ENOENT, "the kernel has no wireguard module");
  };
  return p;
}

TEST(Backend, ParseAndName) {
  EXPECT_EQ(parse_backend_choice("auto"), BackendChoice::kAuto);
  EXPECT_EQ(parse_backend_choice("userspace"), BackendChoice::kUserspace);
  EXPECT_EQ(parse_backend_choice("kernel"), BackendChoice::kKernel);
  EXPECT_FALSE(parse_backend_choice("Kernel"));
  EXPECT_FALSE(parse_backend_choice(""));
  for (auto c : {BackendChoice::kAuto, BackendChoice::kUserspace, BackendChoice::kKernel})
    EXPECT_EQ(parse_backend_choice(backend_choice_name(c)), c);
}

TEST(Backend, AutoPrefersUserspaceWithoutAskingTheKernel) {
  int tun = 0, kern = 0;
  for (bool k : {true, false}) {
    auto d = choose_backend(BackendChoice::kAuto, probes(true, k, &tun, &kern));
    ASSERT_TRUE(d);
    EXPECT_EQ(d->backend, BackendChoice::kUserspace);
    EXPECT_EQ(d->reason, "userspace: auto, /dev/net/tun is usable");
  }
  EXPECT_EQ(tun, 2);
  EXPECT_EQ(kern, 0);
}

TEST(Backend, AutoFallsBackToTheKernelWithTheReason) {
  auto d = choose_backend(BackendChoice::kAuto, probes(false, true));
  ASSERT_TRUE(d);
  EXPECT_EQ(d->backend, BackendChoice::kKernel);
  EXPECT_EQ(d->reason,
            "kernel: auto, the userspace datapath cannot start (cannot open /dev/net/tun: Permission "
            "denied), the wireguard module is available");
}

TEST(Backend, AutoWithNeitherNamesBothReasons) {
  auto d = choose_backend(BackendChoice::kAuto, probes(false, false));
  ASSERT_FALSE(d);
  EXPECT_EQ(d.error().code, ENODEV);
  EXPECT_EQ(d.error().message,
            "no WireGuard backend available: userspace: cannot open /dev/net/tun: Permission denied; "
            "kernel: the kernel has no wireguard module");
}

TEST(Backend, ExplicitChoicesAreCheckedAndNeverSubstituted) {
  int tun = 0, kern = 0;
  auto u = choose_backend(BackendChoice::kUserspace, probes(true, false, &tun, &kern));
  ASSERT_TRUE(u);
  EXPECT_EQ(u->backend, BackendChoice::kUserspace);
  EXPECT_EQ(kern, 0);
  auto u_bad = choose_backend(BackendChoice::kUserspace, probes(false, true));
  ASSERT_FALSE(u_bad);
  EXPECT_EQ(u_bad.error().code, EACCES);
  EXPECT_EQ(u_bad.error().message,
            "userspace backend requested but unavailable: cannot open /dev/net/tun: Permission denied");
  tun = 0;
  auto k = choose_backend(BackendChoice::kKernel, probes(false, true, &tun, &kern));
  ASSERT_TRUE(k);
  EXPECT_EQ(k->backend, BackendChoice::kKernel);
  EXPECT_EQ(tun, 0);
  auto k_bad = choose_backend(BackendChoice::kKernel, probes(true, false));
  ASSERT_FALSE(k_bad);
  EXPECT_EQ(k_bad.error().code, ENOENT);
  EXPECT_EQ(k_bad.error().message,
            "kernel backend requested but unavailable: the kernel has no wireguard module");
}

}  // namespace
}  // namespace wgcore
