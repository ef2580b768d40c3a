// wgcore::Interface on the userspace backend, in a private network namespace: the TUN link with
// its MTU and its UAPI socket appear, the Control reaches the device, and destroying the object
// removes both; delete_interface refuses links that are not WireGuard. (The kernel backend's
// half runs in the QEMU guest: tests/kernel/guest_netlink.sh, `kernel_backend_test lifecycle`.)
#include "wgcore/interface.hpp"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <future>
#include <string>

#include "testing/netns.hpp"
#include "uapi/uapi_client.hpp"

namespace wgcore {
namespace {

using testing_support::sh;

std::string link_line(const std::string& name) { return sh("ip -o link show dev " + name + " 2>/dev/null"); }

class InterfaceTest : public testing_support::TunTest {
 protected:
  void SetUp() override {
    TunTest::SetUp();
    char tmpl[] = "/tmp/wgcore-iface-test-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override {
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
  std::string dir_;
};

TEST_F(InterfaceTest, UserspaceLinkSocketAndTeardown) {
  InterfaceOptions o;
  o.name = "wgci0";
  o.backend = BackendChoice::kUserspace;
  o.mtu = 1380;
  o.uapi_dir = dir_;
  {
    auto i = Interface::create(o);
    ASSERT_TRUE(i.ok()) << i.error().message;
    EXPECT_EQ((*i)->name(), "wgci0");
    EXPECT_EQ((*i)->backend().backend, BackendChoice::kUserspace);
    EXPECT_TRUE((*i)->alive());
    EXPECT_NE(link_line("wgci0").find(" mtu 1380 "), std::string::npos) << link_line("wgci0");
    EXPECT_EQ(uapi_socket_state("wgci0", dir_), UapiSocketState::kLive);
    ASSERT_TRUE((*i)->set_mtu(1300).ok());
    EXPECT_NE(link_line("wgci0").find(" mtu 1300 "), std::string::npos) << link_line("wgci0");
    DeviceUpdate u;
    u.listen_port = 51999;
    ASSERT_TRUE((*i)->control().apply(u).ok());
    auto st = (*i)->control().get();
    ASSERT_TRUE(st.ok());
    EXPECT_EQ(st->listen_port, 51999);
    // A userspace device cannot outlive its process: keep() says so and changes nothing.
    auto kept = (*i)->keep();
    EXPECT_FALSE(kept.ok());
    EXPECT_EQ(kept.error().code, EOPNOTSUPP);
  }
  EXPECT_EQ(link_line("wgci0"), "");
  EXPECT_EQ(uapi_socket_state("wgci0", dir_), UapiSocketState::kAbsent);
}

TEST_F(InterfaceTest, SocketProblemsFollowTheUapiMode) {
  InterfaceOptions o;
  o.name = "wgci1";
  o.backend = BackendChoice::kUserspace;
  ASSERT_EQ(std::system(("touch " + dir_ + "/file").c_str()), 0);
  o.uapi_dir = dir_ + "/file/sub";  // a directory that cannot be made
  auto required = Interface::create(o);
  ASSERT_FALSE(required.ok());
  EXPECT_NE(required.error().message.find("no UAPI socket for wgci1"), std::string::npos) << required.error().message;
  EXPECT_EQ(link_line("wgci1"), "") << "a failed create left the TUN";

  o.uapi = InterfaceOptions::Uapi::kBestEffort;
  auto best = Interface::create(o);
  ASSERT_TRUE(best.ok()) << best.error().message;
  EXPECT_NE((*best)->uapi_warning().find("no UAPI socket for wgci1"), std::string::npos);

  o.name = "wgci2";
  o.uapi = InterfaceOptions::Uapi::kNone;
  auto none = Interface::create(o);
  ASSERT_TRUE(none.ok()) << none.error().message;
  EXPECT_EQ((*none)->uapi_warning(), "");
}

// on_gone: told when the link is deleted from outside (what ends wgcored at once), never after
// the owner's own teardown.
TEST_F(InterfaceTest, OnGoneWhenDeletedFromOutsideOnly) {
  std::promise<void> told;
  std::atomic<int> calls{0};
  InterfaceOptions o;
  o.name = "wgci3";
  o.backend = BackendChoice::kUserspace;
  o.uapi_dir = dir_;
  o.on_gone = [&] {
    if (calls++ == 0) told.set_value();
  };
  auto i = Interface::create(o);
  ASSERT_TRUE(i.ok()) << i.error().message;
  ASSERT_EQ(std::system("ip link del wgci3"), 0);
  ASSERT_EQ(told.get_future().wait_for(std::chrono::seconds(5)), std::future_status::ready)
      << "on_gone not called after `ip link del`";
  EXPECT_FALSE((*i)->alive());
  i->reset();
  EXPECT_EQ(calls.load(), 1);

  std::atomic<int> calls2{0};
  o.name = "wgci4";
  o.on_gone = [&] { ++calls2; };
  auto j = Interface::create(o);
  ASSERT_TRUE(j.ok()) << j.error().message;
  j->reset();  // the owner's teardown
  EXPECT_EQ(calls2.load(), 0);
}

// The UAPI server answers small sets on the device's loop thread. While a large apply holds the
// device (its slices run on that thread, a control thread waiting between them), a small set
// arriving over the socket must neither block the loop (that would stall the large apply for
// good) nor be lost: it waits its turn on a connection thread, and both land.
TEST_F(InterfaceTest, SmallSetsOverTheSocketDuringALargeApply) {
  InterfaceOptions o;
  o.name = "wgci3";
  o.backend = BackendChoice::kUserspace;
  o.uapi_dir = dir_;
  auto i = Interface::create(o);
  ASSERT_TRUE(i.ok()) << i.error().message;
  Key big_peer, small_peer;
  big_peer[0] = 1;
  small_peer[0] = 2;
  DeviceUpdate big;
  PeerUpdate bp;
  bp.public_key = big_peer;
  for (std::uint32_t n = 0; n < 200000; ++n) {
    IpPrefix p;
    p.addr = IpAddr::v4(0x40000000u + (n << 8));
    p.len = 24;
    bp.allowed_ips.push_back({AllowedIpOp::Kind::kAdd, p});
  }
  big.peers = {bp};
  auto large = std::async(std::launch::async, [&] { return (*i)->control().apply(big); });
  uapi::UapiClient client = uapi::UapiClient::for_interface("wgci3", dir_);
  for (std::uint8_t n = 0; n < 20; ++n) {
    DeviceUpdate u;
    PeerUpdate p;
    p.public_key = small_peer;
    p.allowed_ips = {{AllowedIpOp::Kind::kAdd, *IpPrefix::parse("10.77." + std::to_string(n) + ".0/24")}};
    u.peers = {p};
    auto st = client.apply(u);
    ASSERT_TRUE(st.ok()) << st.error().message;
  }
  ASSERT_EQ(large.wait_for(std::chrono::seconds(60)), std::future_status::ready) << "the large apply never ended";
  ASSERT_TRUE(large.get().ok());
  auto st = client.get();
  ASSERT_TRUE(st.ok()) << st.error().message;
  ASSERT_EQ(st->peers.size(), 2u);
  for (const auto& p : st->peers)
    EXPECT_EQ(p.allowed_ips.size(), p.public_key == big_peer ? 200000u : 20u);
}

TEST_F(InterfaceTest, DeleteRefusesWhatIsNotWireGuard) {
  ASSERT_EQ(std::system("ip link add wgcidummy type veth peer name wgcidummy1"), 0);
  auto st = delete_interface("wgcidummy");
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error().code, ENODEV);
  EXPECT_NE(link_line("wgcidummy"), "") << "delete_interface removed a dummy link";
  EXPECT_FALSE(set_interface_mtu("wgcidummy", 100).ok());  // below what IPv4 needs
  EXPECT_TRUE(set_interface_mtu("wgcidummy", 1400).ok());
  EXPECT_NE(link_line("wgcidummy").find(" mtu 1400 "), std::string::npos);
  (void)std::system("ip link del wgcidummy");
}

}  // namespace
}  // namespace wgcore
