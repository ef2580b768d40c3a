// wgcore::UdpTunnel on real loopback sockets: two tunnels exchange packets over IPv4 and IPv6,
// driven by the test's own loop (run_once) and by the library's threads; bad options and a
// port in use are errors.
#include "wgcore/udp_tunnel.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <mutex>
#include <stdexcept>
#include <thread>
#include <vector>

#include "core/testing/fakes.hpp"
#include "embed/test_peers.hpp"
#include "testing/packets.hpp"

namespace wgcore {
namespace {

using namespace std::chrono_literals;
using fakes::public_key_of;
using fakes::seeded_private_key;

struct App : TunnelHandler {
  std::mutex mu;
  std::vector<std::vector<std::uint8_t>> delivered;
  int handshakes = 0;
  void send_datagram(const Key*, const Endpoint&, std::span<const std::uint8_t>) override { ADD_FAILURE() << "not used"; }
  void deliver(const Key&, std::span<const std::uint8_t> p) override {
    std::lock_guard lock(mu);
    delivered.emplace_back(p.begin(), p.end());
  }
  void on_event(const Key&, TunnelEvent e) override {
    std::lock_guard lock(mu);
    handshakes += e == TunnelEvent::kHandshakeCompleted;
  }
  std::size_t count() {
    std::lock_guard lock(mu);
    return delivered.size();
  }
};

std::vector<std::uint8_t> packet(const char* src, const char* dst) {
  return testing_support::make_udp_packet(*Endpoint::parse(src), *Endpoint::parse(dst), "over a real socket");
}

class UdpTunnelTest : public ::testing::TestWithParam<const char*> {
 protected:
  void SetUp() override {
    a_ = UdpTunnel::create(priv_a_, app_a_).value();
    b_ = UdpTunnel::create(priv_b_, app_b_).value();
    ASSERT_NE(a_->listen_port(), 0);
    ASSERT_NE(a_->listen_port(), b_->listen_port());
    const std::string loop = GetParam();
    const auto ep_b = *Endpoint::parse(loop + ":" + std::to_string(b_->listen_port()));
    ASSERT_TRUE(a_->apply(embed_testing::one_peer(public_key_of(priv_b_), "10.0.0.2/32", ep_b)));
    ASSERT_TRUE(b_->apply(embed_testing::one_peer(public_key_of(priv_a_), "10.0.0.1/32", std::nullopt)));
  }
  Key priv_a_ = seeded_private_key(11), priv_b_ = seeded_private_key(12);
  App app_a_, app_b_;
  std::unique_ptr<UdpTunnel> a_, b_;
};

TEST_P(UdpTunnelTest, ApplicationDrivenLoopBothWays) {
  a_->send(packet("10.0.0.1:1", "10.0.0.2:2"));
  for (int i = 0; i < 200 && app_b_.count() == 0; ++i) {
    a_->run_once(5ms);
    b_->run_once(5ms);
  }
  ASSERT_EQ(app_b_.count(), 1u);
  EXPECT_EQ(app_b_.delivered[0], packet("10.0.0.1:1", "10.0.0.2:2"));
  // B answers to the endpoint it learned (an IPv4 peer on the dual-stack socket stays IPv4).
  const DeviceState sb = b_->state();
  ASSERT_TRUE(sb.peers[0].endpoint);
  EXPECT_EQ(sb.peers[0].endpoint->port(), a_->listen_port());
  EXPECT_EQ(sb.peers[0].endpoint->family(), std::string(GetParam()).find(':') == std::string::npos ? AF_INET : AF_INET6);
  EXPECT_EQ(sb.listen_port, b_->listen_port());
  b_->send(packet("10.0.0.2:2", "10.0.0.1:1"));
  for (int i = 0; i < 200 && app_a_.count() == 0; ++i) {
    b_->run_once(5ms);
    a_->run_once(5ms);
  }
  EXPECT_EQ(app_a_.count(), 1u);
  EXPECT_LE(a_->next_timeout(), std::chrono::milliseconds(std::chrono::hours(1)));
}

TEST_P(UdpTunnelTest, LibraryThreads) {
  ASSERT_TRUE(a_->start());
  ASSERT_TRUE(b_->start());
  EXPECT_EQ(a_->start().error().code, EBUSY);
  for (int i = 0; i < 20; ++i) a_->send(packet("10.0.0.1:1", "10.0.0.2:2"));
  for (int i = 0; i < 500 && app_b_.count() < 20; ++i) std::this_thread::sleep_for(10ms);
  EXPECT_EQ(app_b_.count(), 20u) << "packets sent from the application's thread, received on the library's";
  a_->stop();
  b_->stop();
  a_->stop();  // twice is fine
  EXPECT_EQ(app_a_.handshakes, 1);
}

// A handler may stop the loop from a callback (the loop ends after that turn), and a handler
// that throws loses its datagram, not the process.
struct Stopping : App {
  UdpTunnel* tunnel = nullptr;
  void deliver(const Key& k, std::span<const std::uint8_t> p) override {
    App::deliver(k, p);
    if (count() == 1) tunnel->stop();
    if (count() == 2) throw std::runtime_error("the application's bug");
  }
};

TEST(UdpTunnelThread, StopFromACallbackAndAThrowingHandler) {
  App app_a;
  Stopping app_b;
  const Key priv_a = seeded_private_key(21), priv_b = seeded_private_key(22);
  auto a = UdpTunnel::create(priv_a, app_a).value();
  auto b = UdpTunnel::create(priv_b, app_b).value();
  app_b.tunnel = b.get();
  ASSERT_TRUE(a->apply(embed_testing::one_peer(public_key_of(priv_b), "10.0.0.2/32",
                                               *Endpoint::parse("127.0.0.1:" + std::to_string(b->listen_port())))));
  ASSERT_TRUE(b->apply(embed_testing::one_peer(public_key_of(priv_a), "10.0.0.1/32", std::nullopt)));
  ASSERT_TRUE(b->start());
  a->send(packet("10.0.0.1:1", "10.0.0.2:2"));
  for (int i = 0; i < 400 && app_b.count() < 1; ++i) a->run_once(5ms);
  ASSERT_EQ(app_b.count(), 1u);
  b->stop();  // joins the loop the callback ended
  ASSERT_TRUE(b->start());
  for (int i = 0; i < 3; ++i) a->send(packet("10.0.0.1:1", "10.0.0.2:2"));
  for (int i = 0; i < 400 && app_b.count() < 4; ++i) a->run_once(5ms);
  EXPECT_EQ(app_b.count(), 4u) << "the loop went on after the handler threw";
}

INSTANTIATE_TEST_SUITE_P(Loopback, UdpTunnelTest, ::testing::Values("127.0.0.1", "[::1]"));

TEST(UdpTunnelCreate, Errors) {
  App app;
  EXPECT_EQ(UdpTunnel::create(seeded_private_key(1), app, {.tunnel = {.manual_time = true}}).error().code, EINVAL);
  auto t = UdpTunnel::create(seeded_private_key(1), app).value();
  auto again = UdpTunnel::create(seeded_private_key(2), app, {.listen_port = t->listen_port()});
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().code, EADDRINUSE);
  EXPECT_NE(again.error().message.find(std::to_string(t->listen_port())), std::string::npos);
}

}  // namespace
}  // namespace wgcore
