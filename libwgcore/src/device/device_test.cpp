// The userspace device as a Control: configuration round trips through get(), and an update that
// fails (bad value, port in use) changes nothing. Runs in a private network namespace (root).
#include "device/device.hpp"

#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/crypto/x25519.hpp"
#include "core/testing/fakes.hpp"
#include "testing/netns.hpp"

namespace wgcore {
namespace {

class DeviceTest : public testing_support::TunTest {
 protected:
  void SetUp() override {
    TunTest::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    DeviceOptions opts;
    opts.name = "wgctest" + std::to_string(counter_++);
    auto d = Device::create(opts);
    ASSERT_TRUE(d) << d.error().message;
    dev = std::move(*d);
  }
  Key key(std::uint64_t seed) {
    fakes::SeededRandom r(seed);
    return crypto::x25519_generate(r);
  }
  Key pub(const Key& priv) {
    Key p;
    EXPECT_TRUE(crypto::x25519_public(p, priv));
    return p;
  }
  DeviceUpdate base_config() {
    DeviceUpdate u;
    u.private_key = key(1);
    u.listen_port = 0;
    PeerUpdate p;
    p.public_key = pub(key(2));
    p.endpoint = *Endpoint::parse("198.51.100.2:51820");
    p.persistent_keepalive_interval = 0;
    p.allowed_ips = {{AllowedIpOp::Kind::kAdd, *IpPrefix::parse("203.0.113.0/24")},
                     {AllowedIpOp::Kind::kAdd, *IpPrefix::parse("fd00:77::/64")}};
    u.peers.push_back(p);
    return u;
  }

  std::unique_ptr<Device> dev;
  static inline int counter_ = 0;
};

TEST_F(DeviceTest, ConfigurationRoundTripsThroughGet) {
  ASSERT_TRUE(dev->apply(base_config()));
  auto s = dev->get();
  ASSERT_TRUE(s);
  EXPECT_EQ(s->name, dev->name());
  ASSERT_TRUE(s->public_key);
  EXPECT_TRUE(*s->public_key == pub(key(1)));
  EXPECT_NE(s->listen_port, 0);  // a random port was bound
  ASSERT_EQ(s->peers.size(), 1u);
  EXPECT_TRUE(s->peers[0].public_key == pub(key(2)));
  EXPECT_EQ(s->peers[0].endpoint->to_string(), "198.51.100.2:51820");
  ASSERT_EQ(s->peers[0].allowed_ips.size(), 2u);
  EXPECT_EQ(s->peers[0].allowed_ips[0].to_string(), "203.0.113.0/24");
  EXPECT_EQ(dev->backend(), "userspace");
}

TEST_F(DeviceTest, InvalidUpdateChangesNothing) {
  ASSERT_TRUE(dev->apply(base_config()));
  auto before = dev->get();
  ASSERT_TRUE(before);
  DeviceUpdate bad;
  bad.fwmark = 7;
  PeerUpdate p;
  p.public_key = pub(key(3));
  p.allowed_ips = {{AllowedIpOp::Kind::kAdd, *IpPrefix::parse("198.18.0.0/15")}};
  bad.peers.push_back(p);
  PeerUpdate q;
  q.public_key = pub(key(2));
  q.protocol_version = 2;  // rejected: only version 1 exists
  bad.peers.push_back(q);
  EXPECT_FALSE(dev->apply(bad));
  auto after = dev->get();
  ASSERT_TRUE(after);
  EXPECT_EQ(after->fwmark, before->fwmark);
  EXPECT_EQ(after->peers.size(), 1u);
}

TEST_F(DeviceTest, PortInUseFailsWithAddrInUseAndKeepsEverything) {
  ASSERT_TRUE(dev->apply(base_config()));
  auto before = dev->get();
  ASSERT_TRUE(before);
  // Occupy a port on IPv4.
  int fd = ::socket(AF_INET, SOCK_DGRAM, 0);
  ASSERT_GE(fd, 0);
  sockaddr_in sin{};
  sin.sin_family = AF_INET;
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&sin), sizeof sin), 0);
  socklen_t len = sizeof sin;
  ASSERT_EQ(::getsockname(fd, reinterpret_cast<sockaddr*>(&sin), &len), 0);
  std::uint16_t busy = ntohs(sin.sin_port);

  DeviceUpdate u;
  u.listen_port = busy;
  PeerUpdate p;
  p.public_key = pub(key(4));
  u.peers.push_back(p);
  auto st = dev->apply(u);
  ::close(fd);
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().code, EADDRINUSE);
  auto after = dev->get();
  ASSERT_TRUE(after);
  EXPECT_EQ(after->listen_port, before->listen_port);  // still bound where it was
  EXPECT_EQ(after->peers.size(), 1u);                   // the new peer was not added
}

TEST_F(DeviceTest, ReplacePeersKeepsOnlyTheNewSet) {
  ASSERT_TRUE(dev->apply(base_config()));
  DeviceUpdate u;
  u.replace_peers = true;
  PeerUpdate p;
  p.public_key = pub(key(5));
  p.allowed_ips = {{AllowedIpOp::Kind::kAdd, *IpPrefix::parse("203.0.113.0/24")}};
  u.peers.push_back(p);
  ASSERT_TRUE(dev->apply(u));
  auto s = dev->get();
  ASSERT_TRUE(s);
  ASSERT_EQ(s->peers.size(), 1u);
  EXPECT_TRUE(s->peers[0].public_key == pub(key(5)));
}

// Turning a persistent keepalive on starts a handshake at once, as in the kernel — but from the
// event loop after apply() returned, so applying thousands of peers does not block on handshakes.
TEST_F(DeviceTest, KeepaliveTurnedOnSendsAnInitiationAfterApply) {
  int fd = ::socket(AF_INET, SOCK_DGRAM, 0);
  ASSERT_GE(fd, 0);
  sockaddr_in sin{};
  sin.sin_family = AF_INET;
  sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&sin), sizeof sin), 0);
  socklen_t len = sizeof sin;
  ASSERT_EQ(::getsockname(fd, reinterpret_cast<sockaddr*>(&sin), &len), 0);
  timeval tv{5, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);

  DeviceUpdate u = base_config();
  u.peers[0].endpoint = *Endpoint::parse("127.0.0.1:" + std::to_string(ntohs(sin.sin_port)));
  u.peers[0].persistent_keepalive_interval = 25;
  ASSERT_TRUE(dev->apply(u));
  std::uint8_t buf[512];
  ssize_t n = ::recv(fd, buf, sizeof buf, 0);
  ::close(fd);
  ASSERT_EQ(n, ssize_t(proto::kInitiationLen));
  EXPECT_EQ(proto::classify(buf, std::size_t(n)), proto::MessageType::kHandshakeInitiation);
  auto s = dev->get();
  ASSERT_TRUE(s);
  EXPECT_EQ(s->peers[0].persistent_keepalive_interval, 25);
  EXPECT_EQ(s->peers[0].tx_bytes, proto::kInitiationLen);
}

TEST_F(DeviceTest, InterfaceDeletionStopsTheDevice) {
  ASSERT_TRUE(dev->running());
  ASSERT_EQ(std::system(("ip link del " + dev->name()).c_str()), 0);
  for (int i = 0; i < 50 && dev->running(); ++i) usleep(100 * 1000);
  EXPECT_FALSE(dev->running());
  // Control calls still answer after the loop stopped.
  EXPECT_TRUE(dev->get());
}

}  // namespace
}  // namespace wgcore
