// The C ABI (wgcore.h) as a C program calls it: two tunnels exchanging a packet through plain
// callbacks, and every kind of bad input (null handles, wrong struct sizes, invalid keys and
// prefixes, unknown names) answered with a negative errno and a message, never a crash.
#include "wgcore.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <gtest/gtest.h>

#include <atomic>
#include <cstring>
#include <deque>
#include <string>
#include <vector>

#include "embed/test_peers.hpp"
#include "testing/packets.hpp"

namespace {

struct Wire {
  std::deque<std::vector<std::uint8_t>> to_b, to_a;  // datagrams in flight
  std::vector<std::vector<std::uint8_t>> delivered_a, delivered_b;
  std::vector<int> events_a, events_b;
};

struct SideCtx {
  Wire* wire;
  bool is_a;
};

void send_cb(void* user, const uint8_t*, const struct sockaddr*, socklen_t, const uint8_t* d, size_t n) {
  auto* c = static_cast<SideCtx*>(user);
  (c->is_a ? c->wire->to_b : c->wire->to_a).emplace_back(d, d + n);
}
void deliver_cb(void* user, const uint8_t*, const uint8_t* p, size_t n) {
  auto* c = static_cast<SideCtx*>(user);
  (c->is_a ? c->wire->delivered_a : c->wire->delivered_b).emplace_back(p, p + n);
}
void event_cb(void* user, const uint8_t*, int e) {
  auto* c = static_cast<SideCtx*>(user);
  (c->is_a ? c->wire->events_a : c->wire->events_b).push_back(e);
}

using wgcore::embed_testing::addr4;
using wgcore::embed_testing::c_set_peer;

// A new key pair through the C ABI itself.
bool fresh_keys(uint8_t* priv, uint8_t* pub) {
  return wgcore_generate_private_key(priv) == 0 && wgcore_public_key(priv, pub) == 0;
}

wgcore_callbacks callbacks(SideCtx* ctx) {
  wgcore_callbacks cb{};
  cb.size = sizeof cb;
  cb.user = ctx;
  cb.send_datagram = send_cb;
  cb.deliver = deliver_cb;
  cb.event = event_cb;
  return cb;
}

TEST(CApi, TwoTunnelsExchangeAPacket) {
  Wire wire;
  SideCtx ca{&wire, true}, cb{&wire, false};
  uint8_t priv_a[32], priv_b[32], pub_a[32], pub_b[32];
  ASSERT_TRUE(fresh_keys(priv_a, pub_a) && fresh_keys(priv_b, pub_b));
  wgcore_tunnel *a = nullptr, *b = nullptr;
  wgcore_error err{};
  auto cba = callbacks(&ca), cbb = callbacks(&cb);
  // B's struct ends in the middle of `event` (an older or broken caller): that half pointer must
  // never be called. Were it called, the garbage in it would crash the test.
  cbb.size = offsetof(wgcore_callbacks, event) + 4;
  cbb.event = reinterpret_cast<void (*)(void*, const uint8_t*, int)>(std::uintptr_t(0x1));
  ASSERT_EQ(wgcore_tunnel_new(priv_a, &cba, nullptr, &a, &err), 0) << err.message;
  ASSERT_EQ(wgcore_tunnel_new(priv_b, &cbb, nullptr, &b, &err), 0) << err.message;
  uint8_t got[32];
  ASSERT_EQ(wgcore_tunnel_public_key(a, got), 0);
  EXPECT_EQ(std::memcmp(got, pub_a, 32), 0);

  const sockaddr_in ep_a = addr4("192.0.2.1", 51820), ep_b = addr4("192.0.2.2", 51820);
  ASSERT_EQ(c_set_peer(a, pub_b, &ep_b, "10.0.0.2/32", &err), 0) << err.message;
  ASSERT_EQ(c_set_peer(b, pub_a, nullptr, "10.0.0.1/32", &err), 0) << err.message;

  auto pkt = wgcore::testing_support::make_udp_packet(*wgcore::Endpoint::parse("10.0.0.1:1000"),
                                                      *wgcore::Endpoint::parse("10.0.0.2:2000"), "hello");
  ASSERT_EQ(wgcore_tunnel_send(a, pkt.data(), pkt.size(), &err), 0);
  for (int i = 0; i < 10 && (!wire.to_a.empty() || !wire.to_b.empty()); ++i) {
    while (!wire.to_b.empty()) {
      auto d = std::move(wire.to_b.front());
      wire.to_b.pop_front();
      ASSERT_EQ(wgcore_tunnel_receive(b, d.data(), d.size(), reinterpret_cast<const sockaddr*>(&ep_a), sizeof ep_a, &err), 0);
    }
    while (!wire.to_a.empty()) {
      auto d = std::move(wire.to_a.front());
      wire.to_a.pop_front();
      ASSERT_EQ(wgcore_tunnel_receive(a, d.data(), d.size(), reinterpret_cast<const sockaddr*>(&ep_b), sizeof ep_b, &err), 0);
    }
  }
  ASSERT_EQ(wire.delivered_b.size(), 1u);
  EXPECT_EQ(wire.delivered_b[0], pkt);
  ASSERT_FALSE(wire.events_a.empty());
  EXPECT_TRUE(wire.events_b.empty()) << "a callback outside the caller's size was called";
  EXPECT_STREQ(wgcore_event_name(wire.events_a[0]), "handshake-completed");

  wgcore_peer_stats st{};
  st.size = sizeof st;
  ASSERT_EQ(wgcore_tunnel_peer_stats(a, pub_b, &st, &err), 0) << err.message;
  EXPECT_GT(st.tx_bytes, 0u);
  EXPECT_GT(st.last_handshake_sec, 0);
  EXPECT_GE(wgcore_tunnel_next_deadline(a), 0) << "timers armed after a handshake";
  EXPECT_EQ(wgcore_tunnel_process(a, &err), 0);

  // An unrouted packet is a counted drop.
  auto stray = wgcore::testing_support::make_udp_packet(*wgcore::Endpoint::parse("10.0.0.1:1"),
                                                        *wgcore::Endpoint::parse("10.7.7.7:2"), "x");
  ASSERT_EQ(wgcore_tunnel_send(a, stray.data(), stray.size(), &err), 0);
  uint64_t n = 0;
  ASSERT_EQ(wgcore_tunnel_drop_count(a, nullptr, "no_route", &n, &err), 0) << err.message;
  EXPECT_EQ(n, 1u);

  // PSK replaced, peer removed.
  uint8_t psk[32];
  std::memset(psk, 7, sizeof psk);
  EXPECT_EQ(wgcore_tunnel_set_preshared_key(a, pub_b, psk, &err), 0) << err.message;
  EXPECT_EQ(wgcore_tunnel_remove_peer(a, pub_b, &err), 0) << err.message;
  EXPECT_EQ(wgcore_tunnel_remove_peer(a, pub_b, &err), -ENOENT);
  EXPECT_EQ(wgcore_tunnel_set_preshared_key(a, pub_b, psk, &err), -ENOENT);
  wgcore_tunnel_free(a);
  wgcore_tunnel_free(b);
}

// Admission through the C callback: the application's check decides, and fills the peer.
int admit_cb(void* user, const uint8_t* initiator, const struct sockaddr* from, socklen_t from_len, wgcore_peer* peer) {
  auto* allow = static_cast<bool*>(user);
  static const char* allowed[] = {"10.0.0.1/32"};
  EXPECT_NE(from, nullptr);
  EXPECT_EQ(from_len, socklen_t(sizeof(sockaddr_in)));
  EXPECT_EQ(std::memcmp(peer->public_key, initiator, 32), 0);
  EXPECT_EQ(peer->size, sizeof *peer);
  peer->allowed_ips = allowed;
  peer->allowed_ips_len = 1;
  return *allow ? 1 : 0;
}

TEST(CApi, AdmissionByCallback) {
  Wire wire;
  SideCtx ca{&wire, true};
  bool allow = false;
  uint8_t priv_a[32], priv_b[32], pub_b[32];
  ASSERT_EQ(wgcore_generate_private_key(priv_a), 0);
  ASSERT_EQ(wgcore_generate_private_key(priv_b), 0);
  ASSERT_EQ(wgcore_public_key(priv_b, pub_b), 0);
  auto cba = callbacks(&ca);
  wgcore_callbacks cbb{};
  cbb.size = sizeof cbb;
  cbb.user = &allow;
  cbb.send_datagram = [](void*, const uint8_t*, const struct sockaddr*, socklen_t, const uint8_t*, size_t) {};
  cbb.deliver = [](void*, const uint8_t*, const uint8_t*, size_t) {};
  cbb.admit = admit_cb;
  wgcore_tunnel_options opts{};
  opts.size = sizeof opts;
  opts.admit_unknown = 1;
  wgcore_tunnel *a = nullptr, *b = nullptr;
  wgcore_error err{};
  ASSERT_EQ(wgcore_tunnel_new(priv_a, &cba, nullptr, &a, &err), 0) << err.message;
  ASSERT_EQ(wgcore_tunnel_new(priv_b, &cbb, &opts, &b, &err), 0) << err.message;
  const sockaddr_in ep_a = addr4("192.0.2.1", 51820), ep_b = addr4("192.0.2.2", 51820);
  ASSERT_EQ(c_set_peer(a, pub_b, &ep_b, "10.0.0.2/32", &err), 0) << err.message;
  auto pkt = wgcore::testing_support::make_udp_packet(*wgcore::Endpoint::parse("10.0.0.1:1000"),
                                                      *wgcore::Endpoint::parse("10.0.0.2:2000"), "hello");
  ASSERT_EQ(wgcore_tunnel_send(a, pkt.data(), pkt.size(), &err), 0);
  ASSERT_EQ(wire.to_b.size(), 1u);
  auto initiation = wire.to_b.front();
  auto d = initiation;
  ASSERT_EQ(wgcore_tunnel_receive(b, d.data(), d.size(), reinterpret_cast<const sockaddr*>(&ep_a), sizeof ep_a, &err), 0);
  uint64_t n = 0;
  ASSERT_EQ(wgcore_tunnel_drop_count(b, nullptr, "admission_refused", &n, &err), 0);
  EXPECT_EQ(n, 1u);
  uint8_t pub_a[32];
  ASSERT_EQ(wgcore_public_key(priv_a, pub_a), 0);
  wgcore_peer_stats st{};
  st.size = sizeof st;
  EXPECT_EQ(wgcore_tunnel_peer_stats(b, pub_a, &st, &err), -ENOENT) << "a refused initiator became a peer";
  allow = true;
  d = initiation;
  ASSERT_EQ(wgcore_tunnel_receive(b, d.data(), d.size(), reinterpret_cast<const sockaddr*>(&ep_a), sizeof ep_a, &err), 0);
  EXPECT_EQ(wgcore_tunnel_peer_stats(b, pub_a, &st, &err), 0) << err.message;
  wgcore_tunnel_free(a);
  wgcore_tunnel_free(b);
}

// The library's own sockets through the C ABI: two tunnels on loopback, one run by the test's
// loop (run_once), one by the library's thread (start).
TEST(CApi, UdpTunnelsOnLoopback) {
  struct Got {
    std::atomic<int> packets{0};
  } got_a, got_b;
  auto deliver = [](void* user, const uint8_t*, const uint8_t*, size_t) { ++static_cast<Got*>(user)->packets; };
  wgcore_callbacks ca{}, cb{};
  ca.size = cb.size = sizeof ca;
  ca.deliver = cb.deliver = deliver;
  ca.user = &got_a;
  cb.user = &got_b;
  uint8_t priv_a[32], priv_b[32], pub_a[32], pub_b[32];
  ASSERT_TRUE(fresh_keys(priv_a, pub_a) && fresh_keys(priv_b, pub_b));
  wgcore_tunnel *a = nullptr, *b = nullptr;
  wgcore_error err{};
  ASSERT_EQ(wgcore_tunnel_new_udp(priv_a, &ca, nullptr, 0, &a, &err), 0) << err.message;
  ASSERT_EQ(wgcore_tunnel_new_udp(priv_b, &cb, nullptr, 0, &b, &err), 0) << err.message;
  const int port_b = wgcore_tunnel_listen_port(b);
  ASSERT_GT(port_b, 0);
  EXPECT_GE(wgcore_tunnel_fd(a), 0);
  const sockaddr_in ep_b = addr4("127.0.0.1", uint16_t(port_b));
  ASSERT_EQ(c_set_peer(a, pub_b, &ep_b, "10.0.0.2/32", &err), 0) << err.message;
  ASSERT_EQ(c_set_peer(b, pub_a, nullptr, "10.0.0.1/32", &err), 0) << err.message;
  ASSERT_EQ(wgcore_tunnel_start(b, &err), 0) << err.message;  // B on the library's thread
  EXPECT_EQ(wgcore_tunnel_start(b, &err), -EBUSY);
  auto pkt = wgcore::testing_support::make_udp_packet(*wgcore::Endpoint::parse("10.0.0.1:1000"),
                                                      *wgcore::Endpoint::parse("10.0.0.2:2000"), "hello");
  for (int i = 0; i < 5; ++i) ASSERT_EQ(wgcore_tunnel_send(a, pkt.data(), pkt.size(), &err), 0);
  for (int i = 0; i < 400 && got_b.packets < 5; ++i) ASSERT_EQ(wgcore_tunnel_run_once(a, 5, &err), 0);  // A on ours
  EXPECT_EQ(got_b.packets, 5);
  // What only the other kind does is refused, not misapplied.
  uint8_t d[4] = {};
  EXPECT_EQ(wgcore_tunnel_receive(a, d, 4, reinterpret_cast<const sockaddr*>(&ep_b), sizeof ep_b, &err), -EINVAL);
  EXPECT_EQ(wgcore_tunnel_process(a, &err), -EINVAL);
  EXPECT_EQ(wgcore_tunnel_run_once(a, -1, &err), -EINVAL);
  wgcore_tunnel_options manual{};
  manual.size = sizeof manual;
  manual.manual_time = 1;
  wgcore_tunnel* m = nullptr;
  EXPECT_EQ(wgcore_tunnel_new_udp(priv_a, &ca, &manual, 0, &m, &err), -EINVAL);
  wgcore_tunnel_stop(b);
  wgcore_tunnel_free(a);
  wgcore_tunnel_free(b);  // stops a thread still running too
}

TEST(CApi, BadInputIsAnErrorNeverACrash) {
  Wire wire;
  SideCtx ctx{&wire, true};
  auto cbs = callbacks(&ctx);
  uint8_t priv[32], pub[32];
  ASSERT_EQ(wgcore_generate_private_key(priv), 0);
  ASSERT_EQ(wgcore_public_key(priv, pub), 0);
  wgcore_error err{};
  wgcore_tunnel* t = nullptr;
  auto expect_error = [&](int rc, int code, const char* what) {
    EXPECT_EQ(rc, -code) << what;
    EXPECT_EQ(err.code, -code) << what;
    EXPECT_GT(std::strlen(err.message), 0u) << what;
    err = {};
  };

  // Creating.
  expect_error(wgcore_tunnel_new(priv, &cbs, nullptr, nullptr, &err), EINVAL, "out NULL");
  expect_error(wgcore_tunnel_new(nullptr, &cbs, nullptr, &t, &err), EINVAL, "key NULL");
  expect_error(wgcore_tunnel_new(priv, nullptr, nullptr, &t, &err), EINVAL, "callbacks NULL");
  wgcore_callbacks small = cbs;
  small.size = 4;
  expect_error(wgcore_tunnel_new(priv, &small, nullptr, &t, &err), EINVAL, "callbacks size");
  wgcore_callbacks no_deliver = cbs;
  no_deliver.deliver = nullptr;
  expect_error(wgcore_tunnel_new(priv, &no_deliver, nullptr, &t, &err), EINVAL, "deliver NULL");
  uint8_t zero[32] = {};
  expect_error(wgcore_tunnel_new(zero, &cbs, nullptr, &t, &err), EINVAL, "zero key");
  wgcore_tunnel_options opts{};
  opts.size = sizeof opts;
  opts.mtu = 100;
  expect_error(wgcore_tunnel_new(priv, &cbs, &opts, &t, &err), EINVAL, "mtu");
  EXPECT_EQ(t, nullptr);
  // An older, shorter options struct is fine: only what it covers is read.
  opts.size = offsetof(wgcore_tunnel_options, manual_time);
  opts.mtu = 1280;
  ASSERT_EQ(wgcore_tunnel_new(priv, &cbs, &opts, &t, &err), 0) << err.message;
  expect_error(wgcore_tunnel_set_time(t, 1, 1, &err), EINVAL, "set_time without manual_time");

  // Peers.
  wgcore_peer p{};
  p.size = sizeof p;
  expect_error(wgcore_tunnel_set_peer(nullptr, &p, &err), EINVAL, "tunnel NULL");
  expect_error(wgcore_tunnel_set_peer(t, nullptr, &err), EINVAL, "peer NULL");
  p.size = 8;
  expect_error(wgcore_tunnel_set_peer(t, &p, &err), EINVAL, "peer size");
  p.size = sizeof p;
  std::memset(p.public_key, 9, 32);
  const char* bad_prefix[] = {"10.0.0.0/33"};
  p.allowed_ips = bad_prefix;
  p.allowed_ips_len = 1;
  expect_error(wgcore_tunnel_set_peer(t, &p, &err), EINVAL, "bad prefix");
  const char* null_prefix[] = {nullptr};
  p.allowed_ips = null_prefix;
  expect_error(wgcore_tunnel_set_peer(t, &p, &err), EINVAL, "NULL prefix");
  p.allowed_ips = nullptr;
  expect_error(wgcore_tunnel_set_peer(t, &p, &err), EINVAL, "NULL list");
  p.allowed_ips_len = 0;
  sockaddr_in short_ep = addr4("192.0.2.9", 1);
  p.endpoint = reinterpret_cast<const sockaddr*>(&short_ep);
  p.endpoint_len = 4;
  expect_error(wgcore_tunnel_set_peer(t, &p, &err), EINVAL, "short endpoint");
  sockaddr unix_ep{};
  unix_ep.sa_family = AF_UNIX;
  p.endpoint = &unix_ep;
  p.endpoint_len = sizeof unix_ep;
  expect_error(wgcore_tunnel_set_peer(t, &p, &err), EINVAL, "AF_UNIX endpoint");
  std::memcpy(p.public_key, pub, 32);
  p.endpoint = nullptr;
  // Our own key as a peer is ignored, as `wg` does; nothing fails.
  EXPECT_EQ(wgcore_tunnel_set_peer(t, &p, &err), 0) << err.message;
  expect_error(wgcore_tunnel_remove_peer(t, nullptr, &err), EINVAL, "remove NULL key");
  expect_error(wgcore_tunnel_set_preshared_key(nullptr, pub, nullptr, &err), EINVAL, "psk NULL tunnel");

  // Datapath with nonsense: garbage datagrams are counted drops, not errors.
  expect_error(wgcore_tunnel_send(t, nullptr, 10, &err), EINVAL, "send NULL");
  uint8_t junk[7] = {1, 2, 3, 4, 5, 6, 7};
  EXPECT_EQ(wgcore_tunnel_send(t, junk, sizeof junk, &err), 0);
  const sockaddr_in from = addr4("192.0.2.3", 5);
  EXPECT_EQ(wgcore_tunnel_receive(t, junk, sizeof junk, reinterpret_cast<const sockaddr*>(&from), sizeof from, &err), 0);
  expect_error(wgcore_tunnel_receive(t, junk, sizeof junk, nullptr, 0, &err), EINVAL, "receive from NULL");
  uint64_t n = 0;
  ASSERT_EQ(wgcore_tunnel_drop_count(t, nullptr, "invalid_size", &n, &err), 0);
  EXPECT_EQ(n, 1u);
  expect_error(wgcore_tunnel_drop_count(t, nullptr, "no_such_reason", &n, &err), EINVAL, "unknown reason");
  uint8_t stranger[32];
  std::memset(stranger, 3, 32);
  expect_error(wgcore_tunnel_drop_count(t, stranger, "replay", &n, &err), ENOENT, "unknown peer");
  wgcore_peer_stats st{};
  st.size = 4;
  expect_error(wgcore_tunnel_peer_stats(t, stranger, &st, &err), EINVAL, "stats size");
  st.size = sizeof st;
  expect_error(wgcore_tunnel_peer_stats(t, stranger, &st, &err), ENOENT, "stats unknown peer");
  expect_error(wgcore_tunnel_process(nullptr, &err), EINVAL, "process NULL");
  EXPECT_EQ(wgcore_tunnel_next_deadline(nullptr), -1);
  EXPECT_EQ(wgcore_event_name(99), nullptr);
  EXPECT_EQ(wgcore_event_name(-1), nullptr);
  EXPECT_EQ(wgcore_event_name(WGCORE_EVENT_SESSION_EXPIRED + 1), nullptr);
  EXPECT_STREQ(wgcore_event_name(WGCORE_EVENT_SESSION_EXPIRED), "session-expired");
  EXPECT_STREQ(wgcore_event_name(WGCORE_EVENT_KEYS_ZEROED), "keys-zeroed");
  EXPECT_EQ(wgcore_drop_reason_name(1000), nullptr);
  EXPECT_STREQ(wgcore_drop_reason_name(0), "invalid_size");

  // Keys.
  uint8_t k[32];
  EXPECT_EQ(wgcore_key_from_base64("not a key", k), -EINVAL);
  EXPECT_EQ(wgcore_key_from_base64(nullptr, k), -EINVAL);
  char text[45];
  ASSERT_EQ(wgcore_key_to_base64(pub, text, sizeof text), 0);
  EXPECT_EQ(wgcore_key_to_base64(pub, text, 44), -EINVAL);
  ASSERT_EQ(wgcore_key_from_base64(text, k), 0);
  EXPECT_EQ(std::memcmp(k, pub, 32), 0);
  EXPECT_EQ(wgcore_public_key(nullptr, k), -EINVAL);
  // A NULL err is allowed everywhere.
  EXPECT_EQ(wgcore_tunnel_set_peer(t, nullptr, nullptr), -EINVAL);
  wgcore_tunnel_free(t);
  wgcore_tunnel_free(nullptr);
}

}  // namespace
