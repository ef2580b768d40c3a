// UDP and TUN against the real kernel, inside a private network namespace this process enters
// with unshare(CLONE_NEWNET): it dies with the process, so nothing needs cleaning up and the
// machine's own namespace is never touched. Needs root; skips (or, with CI=true, fails) without.
#include <arpa/inet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "core/environment.hpp"
#include "linux/packet.hpp"
#include "linux/tun.hpp"
#include "linux/udp.hpp"
#include "testing/netns.hpp"
#include "testing/packets.hpp"

namespace wgcore::io {
namespace {

using testing_support::make_udp_packet;

bool settle_local_address(const char* addr);


// The shared private namespace, plus a second, non-loopback-looking address on lo for the
// sticky source tests.
const std::string& netns_problem() {
  static const std::string problem = []() -> std::string {
    const std::string& base = testing_support::private_netns_problem();
    if (!base.empty()) return base;
    if (std::system("ip -6 addr add 2001:db8::1/128 dev lo nodad") != 0)
      return "`ip -6 addr add 2001:db8::1/128 dev lo` failed";
    if (!settle_local_address("2001:db8::1")) return "2001:db8::1 on lo never became usable";
    return "";
  }();
  return problem;
}

class NetnsTest : public ::testing::Test {
 protected:
  void SetUp() override { WGCORE_REQUIRE_ENV(netns_problem()); }
};

class TunTest : public ::testing::Test {
 protected:
  void SetUp() override {
    WGCORE_REQUIRE_ENV(netns_problem());
    WGCORE_REQUIRE_ENV(testing_support::tun_problem());
  }
};

// The namespace's addresses, routes and UDP counters, attached to failures to explain them.
std::string netns_state() {
  std::string out = "\n--- namespace state ---\n";
  FILE* f = ::popen("ip addr; ip -6 route show table all; nstat -asz | awk '$2 != 0' 2>&1",
                    "r");
  if (f == nullptr) return out + "(popen failed)";
  char buf[512];
  while (std::fgets(buf, sizeof buf, f) != nullptr) out += buf;
  ::pclose(f);
  return out;
}

bool wait_readable(int fd, int ms = 2000) {
  pollfd p{fd, POLLIN, 0};
  return ::poll(&p, 1, ms) == 1;
}

Endpoint ep(const char* s) { return *Endpoint::parse(s); }
IpAddr ip(const char* s) { return *IpAddr::parse(s); }

// A plain socket bound to one address, to see which source address our sends carry.
class PlainSocket {
 public:
  explicit PlainSocket(const Endpoint& bind_to) {
    fd_ = ::socket(bind_to.family(), SOCK_DGRAM | SOCK_CLOEXEC, 0);
    EXPECT_GE(fd_, 0);
    EXPECT_EQ(::bind(fd_, &bind_to.addr.sa, bind_to.socklen()), 0) << std::strerror(errno);
    socklen_t len = sizeof addr_.addr;
    ::getsockname(fd_, &addr_.addr.sa, &len);
  }
  ~PlainSocket() { ::close(fd_); }
  int fd() const { return fd_; }
  const Endpoint& addr() const { return addr_; }
  void send_to(const Endpoint& to, const std::string& payload) {
    ASSERT_EQ(::sendto(fd_, payload.data(), payload.size(), 0, &to.addr.sa, to.socklen()),
              ssize_t(payload.size()))
        << std::strerror(errno);
  }
  // Receives one datagram; returns its payload and stores the sender.
  std::string recv_from(Endpoint* from) {
    if (!wait_readable(fd_)) return "<timeout>";
    char buf[2048];
    socklen_t len = sizeof from->addr;
    ssize_t n = ::recvfrom(fd_, buf, sizeof buf, 0, &from->addr.sa, &len);
    return n < 0 ? "<error>" : std::string(buf, std::size_t(n));
  }

 private:
  int fd_ = -1;
  Endpoint addr_;
};

// Waits until datagrams to a freshly added local address get through. Right after `ip addr
// add` the first IPv6 datagram to the address is occasionally dropped as unroutable
// (Ip6OutNoRoutes, seen on 6.18 about once in 20 namespaces), so tests probe before relying
// on it. Returns false if it never settles.
bool settle_local_address(const char* addr) {
  IpAddr a = *IpAddr::parse(addr);
  PlainSocket rx(Endpoint::make(a, 0));
  PlainSocket tx(a.is_v4() ? ep("127.0.0.1:0") : ep("[::1]:0"));
  int in_a_row = 0;
  for (int i = 0; i < 200 && in_a_row < 3; ++i) {
    tx.send_to(rx.addr(), "probe");
    Endpoint from;
    in_a_row = wait_readable(rx.fd(), 10) && rx.recv_from(&from) == "probe" ? in_a_row + 1 : 0;
  }
  return in_a_row == 3;
}

void fill(Packet* p, const std::string& s) {
  std::memcpy(p->data(), s.data(), s.size());
  p->set_len(s.size());
}
std::string text(const Packet* p) {
  return std::string(reinterpret_cast<const char*>(p->data()), p->len());
}

// Receives exactly `want` datagrams on one family into fresh pool packets.
std::vector<Packet*> recv_n(UdpSockets& s, int family, PacketPool& pool, std::size_t want) {
  std::vector<Packet*> got;
  auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (got.size() < want && std::chrono::steady_clock::now() < give_up) {
    if (!wait_readable(s.fd(family), 200)) continue;
    PacketBatch b;
    b.resize(pool.get(b.slots()));
    IoResult r = s.recv_batch(family, b.span());
    EXPECT_EQ(r.error, 0);
    for (std::size_t i = 0; i < b.size(); ++i) {
      if (i < r.count) {
        got.push_back(b[i]);
      } else {
        pool.put(b[i]);
      }
    }
  }
  return got;
}

int get_int_opt(int fd, int level, int opt) {
  int v = -1;
  socklen_t len = sizeof v;
  EXPECT_EQ(::getsockopt(fd, level, opt, &v, &len), 0);
  return v;
}

std::uint16_t sock_port(int fd) {
  Endpoint e;
  socklen_t len = sizeof e.addr;
  ::getsockname(fd, &e.addr.sa, &len);
  return e.port();
}

// ---------------------------------------------------------------- UDP

TEST_F(NetnsTest, UdpPortZeroBindsBothFamiliesToOnePort) {
  UdpSockets s;
  ASSERT_TRUE(s.bind(0).ok());
  ASSERT_GE(s.fd4(), 0);
  ASSERT_GE(s.fd6(), 0);
  EXPECT_NE(s.local_port(), 0);
  EXPECT_EQ(sock_port(s.fd4()), s.local_port());
  EXPECT_EQ(sock_port(s.fd6()), s.local_port());
  EXPECT_EQ(get_int_opt(s.fd6(), IPPROTO_IPV6, IPV6_V6ONLY), 1);
  EXPECT_GE(get_int_opt(s.fd4(), SOL_SOCKET, SO_RCVBUF), 7 << 20);  // FORCE worked as root
}

TEST_F(NetnsTest, UdpFixedPortRebindAndConflict) {
  UdpSockets a;
  ASSERT_TRUE(a.bind(0).ok());
  std::uint16_t port = a.local_port();
  UdpSockets b;
  Status st = b.bind(port);
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error().code, EADDRINUSE);
  EXPECT_NE(st.error().message.find(std::to_string(port)), std::string::npos) << st.error().message;
  EXPECT_FALSE(b.is_open());

  // listen_port changes at runtime: rebinding releases the old port.
  ASSERT_TRUE(a.bind(0).ok());
  EXPECT_NE(a.local_port(), port);
  ASSERT_TRUE(b.bind(port).ok()) << b.bind(port).error().message;
  EXPECT_EQ(b.local_port(), port);
  EXPECT_EQ(sock_port(b.fd6()), port);
  b.close();
  EXPECT_FALSE(b.is_open());
  EXPECT_EQ(b.fd4(), -1);
}

TEST_F(NetnsTest, UdpFwmarkAtBindAndLive) {
  UdpSockets s;
  ASSERT_TRUE(s.bind(0, 0x1234).ok());
  EXPECT_EQ(get_int_opt(s.fd4(), SOL_SOCKET, SO_MARK), 0x1234);
  EXPECT_EQ(get_int_opt(s.fd6(), SOL_SOCKET, SO_MARK), 0x1234);
  ASSERT_TRUE(s.set_fwmark(42).ok());
  EXPECT_EQ(s.fwmark(), 42u);
  EXPECT_EQ(get_int_opt(s.fd4(), SOL_SOCKET, SO_MARK), 42);
  EXPECT_EQ(get_int_opt(s.fd6(), SOL_SOCKET, SO_MARK), 42);
  ASSERT_TRUE(s.set_fwmark(0).ok());
  EXPECT_EQ(get_int_opt(s.fd4(), SOL_SOCKET, SO_MARK), 0);
}

TEST_F(NetnsTest, UdpBatchBothFamiliesInOrder) {
  PacketPool pool(512);
  UdpSockets a, c;
  // One datagram per buffer on the receiver (no UDP GRO), so it sees each send on its own
  // even where the sender's GSO coalesced the same-size IPv4 run.
  a.set_offloads(false);
  ASSERT_TRUE(a.bind(0).ok());
  ASSERT_TRUE(c.bind(0).ok());
  Endpoint to4 = Endpoint::make(ip("127.0.0.1"), a.local_port());
  Endpoint to6 = Endpoint::make(ip("::1"), a.local_port());

  // 200 packets alternating families in one call (longer than one sendmmsg run).
  constexpr int kN = 200;
  std::vector<Packet*> out;
  for (int i = 0; i < kN; ++i) {
    Packet* p = pool.get();
    fill(p, "pkt-" + std::to_string(i));
    p->remote = i % 2 ? to6 : to4;
    out.push_back(p);
  }
  // Consecutive same-family runs too: the last 60 are all IPv4.
  for (int i = kN - 60; i < kN; ++i) out[i]->remote = to4;
  IoResult r = c.send_batch(out);
  EXPECT_EQ(r.count, std::size_t(kN));
  EXPECT_EQ(r.error, 0);
  for (Packet* p : out) EXPECT_EQ(p->error, 0);

  std::vector<std::string> want4, want6;
  for (int i = 0; i < kN; ++i)
    (out[i]->remote.family() == AF_INET ? want4 : want6).push_back("pkt-" + std::to_string(i));
  pool.put(out);

  auto got4 = recv_n(a, AF_INET, pool, want4.size());
  auto got6 = recv_n(a, AF_INET6, pool, want6.size());
  ASSERT_EQ(got4.size(), want4.size());
  ASSERT_EQ(got6.size(), want6.size());
  for (std::size_t i = 0; i < got4.size(); ++i) {
    EXPECT_EQ(text(got4[i]), want4[i]);
    EXPECT_EQ(got4[i]->remote.port(), c.local_port());
    EXPECT_EQ(got4[i]->local.ip, ip("127.0.0.1"));
    EXPECT_EQ(got4[i]->local.ifindex, if_nametoindex("lo"));
  }
  for (std::size_t i = 0; i < got6.size(); ++i) {
    EXPECT_EQ(text(got6[i]), want6[i]);
    EXPECT_EQ(got6[i]->remote, Endpoint::make(ip("::1"), c.local_port()));
    EXPECT_EQ(got6[i]->local.ip, ip("::1"));
  }
  pool.put(got4);
  pool.put(got6);
  EXPECT_EQ(pool.available(), pool.count());

  // Nothing left: a receive returns no packets and no error.
  PacketBatch b;
  b.resize(pool.get(b.slots()));
  IoResult empty = a.recv_batch(AF_INET, b.span());
  EXPECT_EQ(empty.count, 0u);
  EXPECT_EQ(empty.error, 0);
  pool.put(b.span());
}

// Every received datagram carries the kernel's arrival time (the receive AQM's sojourn time is
// measured from it), with or without UDP GRO, in both families; and a datagram left in the
// queue shows the wait.
TEST_F(NetnsTest, UdpReceiveCarriesTheArrivalTime) {
  for (bool offloads : {false, true}) {
    PacketPool pool(64, kGroBufferBytes);
    UdpSockets a, c;
    a.set_offloads(offloads);
    ASSERT_TRUE(a.bind(0).ok());
    ASSERT_TRUE(c.bind(0).ok());
    for (int family : {AF_INET, AF_INET6}) {
      const Endpoint to = Endpoint::make(ip(family == AF_INET ? "127.0.0.1" : "::1"), a.local_port());
      std::vector<Packet*> out;
      for (int i = 0; i < 8; ++i) {
        Packet* p = pool.get();
        fill(p, std::string(100, char('a' + i)));
        p->remote = to;
        out.push_back(p);
      }
      const auto before = system_clock().wall_now();
      ASSERT_EQ(c.send_batch(out).count, out.size());
      pool.put(out);
      // Left waiting in the socket for 30 ms before we read it.
      ::usleep(30'000);
      auto got = recv_n(a, family, pool, 1);
      const auto after = system_clock().wall_now();
      ASSERT_FALSE(got.empty());
      for (Packet* p : got) {
        EXPECT_GE(p->rx_time, before) << "offloads " << offloads << " family " << family;
        EXPECT_LE(p->rx_time, after - std::chrono::milliseconds(30)) << "offloads " << offloads << " family " << family;
      }
      pool.put(got);
      // Drain what recv_n left (GRO may have coalesced everything into one buffer, or not).
      PacketBatch b;
      b.resize(pool.get(b.slots()));
      IoResult rest = a.recv_batch(family, b.span());
      for (std::size_t i = 0; i < rest.count; ++i) EXPECT_GE(b[i]->rx_time, before);
      pool.put(b.span());
    }
  }
}

// A datagram to a secondary local address is reported with that address, and replying from
// the same packet (the device's flow) makes the reply come from it: the sticky source.
void check_sticky_reply(const char* bind_peer, const char* our_addr) {
  PacketPool pool(8);
  UdpSockets a;
  ASSERT_TRUE(a.bind(0).ok());
  PlainSocket peer(ep(bind_peer));
  peer.send_to(Endpoint::make(ip(our_addr), a.local_port()), "hello");
  int family = peer.addr().family();
  auto got = recv_n(a, family, pool, 1);
  ASSERT_EQ(got.size(), 1u) << netns_state();
  Packet* p = got[0];
  EXPECT_EQ(text(p), "hello");
  EXPECT_EQ(p->remote, peer.addr());
  ASSERT_TRUE(p->local.set);
  EXPECT_EQ(p->local.ip, ip(our_addr));
  EXPECT_EQ(p->local.ifindex, if_nametoindex("lo"));

  fill(p, "sticky");
  IoResult r = a.send_batch(std::span<Packet* const>(&p, 1));
  EXPECT_EQ(r.count, 1u);
  EXPECT_EQ(p->error, 0);
  EXPECT_FALSE(p->source_cleared);
  Endpoint from;
  EXPECT_EQ(peer.recv_from(&from), "sticky");
  EXPECT_EQ(from, Endpoint::make(ip(our_addr), a.local_port()));

  // Without a sticky source, routing picks the peer's own loopback address instead.
  p->local.clear();
  fill(p, "routed");
  r = a.send_batch(std::span<Packet* const>(&p, 1));
  EXPECT_EQ(r.count, 1u);
  EXPECT_EQ(peer.recv_from(&from), "routed");
  EXPECT_EQ(from.ip(), peer.addr().ip());
  pool.put(p);
}

TEST_F(NetnsTest, UdpStickySourceV4) { check_sticky_reply("127.0.0.1:0", "127.0.0.5"); }
TEST_F(NetnsTest, UdpStickySourceV6) { check_sticky_reply("[::1]:0", "2001:db8::1"); }

// A source address that is not (or no longer) ours: the kernel refuses it, the packet goes
// out without it, and only that packet is flagged.
void check_sticky_fallback(const char* peer_addr, const char* gone, const char* good) {
  PacketPool pool(8);
  UdpSockets a;
  ASSERT_TRUE(a.bind(0).ok());
  PlainSocket peer(ep(peer_addr));
  Packet* ps[3];
  ASSERT_EQ(pool.get(ps), 3u);
  for (int i = 0; i < 3; ++i) {
    fill(ps[i], "m" + std::to_string(i));
    ps[i]->remote = peer.addr();
  }
  ps[0]->local = LocalAddr::of(ip(gone));
  ps[1]->local = LocalAddr::of(ip(good));
  IoResult r = a.send_batch(ps);
  EXPECT_EQ(r.count, 3u);
  EXPECT_EQ(r.error, 0);
  EXPECT_TRUE(ps[0]->source_cleared);
  EXPECT_FALSE(ps[0]->local.set);
  EXPECT_FALSE(ps[1]->source_cleared);
  EXPECT_TRUE(ps[1]->local.set);
  for (Packet* p : ps) EXPECT_EQ(p->error, 0);
  Endpoint from;
  EXPECT_EQ(peer.recv_from(&from), "m0");
  EXPECT_EQ(from.ip(), peer.addr().ip());
  EXPECT_EQ(peer.recv_from(&from), "m1");
  EXPECT_EQ(from.ip(), ip(good));
  EXPECT_EQ(peer.recv_from(&from), "m2");
  pool.put(ps);
}

TEST_F(NetnsTest, UdpStickySourceFallbackV4) {
  check_sticky_fallback("127.0.0.1:0", "192.0.2.77", "127.0.0.5");
}
TEST_F(NetnsTest, UdpStickySourceFallbackV6) {
  check_sticky_fallback("[::1]:0", "2001:db8::77", "2001:db8::1");
}

TEST_F(NetnsTest, UdpPerPacketErrorsDoNotStopTheBatch) {
  PacketPool pool(8);
  UdpSockets a;
  ASSERT_TRUE(a.bind(0).ok());
  PlainSocket peer(ep("127.0.0.1:0"));
  Packet* ps[4];
  ASSERT_EQ(pool.get(ps), 4u);
  for (Packet* p : ps) {
    fill(p, "x");
    p->remote = peer.addr();
  }
  ps[1]->remote = ep("198.51.100.1:9");  // this namespace has no route there
  ps[2]->remote = Endpoint();            // no destination at all
  IoResult r = a.send_batch(ps);
  EXPECT_EQ(r.count, 4u);
  EXPECT_EQ(ps[0]->error, 0);
  EXPECT_EQ(ps[1]->error, ENETUNREACH);
  EXPECT_EQ(ps[2]->error, EDESTADDRREQ);
  EXPECT_EQ(ps[3]->error, 0);
  Endpoint from;
  EXPECT_EQ(peer.recv_from(&from), "x");
  EXPECT_EQ(peer.recv_from(&from), "x");
  pool.put(ps);
}

// A full send buffer is waited on, not a reason to drop the rest of the batch: a tbf qdisc on a
// veth holds the datagrams (charged to the socket) and a tiny SO_SNDBUF makes sendmmsg stop
// with EAGAIN after a few of them. The qdisc drains 64 x 1000 bytes in about 0.5 ms at 1 Gbit/s,
// far inside send_batch's wait budget, so every packet must be sent.
TEST_F(NetnsTest, UdpFullSendBufferIsWaitedOn) {
  ASSERT_EQ(std::system("ip link add wgc-sb0 type veth peer name wgc-sb1 && "
                        "ip link set wgc-sb0 up && ip link set wgc-sb1 up && "
                        "ip addr add 198.51.100.1/24 dev wgc-sb0 && "
                        "ip neigh add 198.51.100.2 lladdr 02:00:00:00:00:02 dev wgc-sb0 && "
                        "tc qdisc add dev wgc-sb0 root tbf rate 1gbit burst 2kb latency 100ms"),
            0);
  constexpr std::size_t kCount = 64;
  PacketPool pool(kCount);
  for (bool offloads : {false, true}) {
    UdpSockets a;
    a.set_offloads(offloads);
    ASSERT_TRUE(a.bind(0).ok());
    int small = 1;  // the kernel rounds it up to its minimum (a few KiB)
    ASSERT_EQ(::setsockopt(a.fd(AF_INET), SOL_SOCKET, SO_SNDBUF, &small, sizeof small), 0);
    // A segmented send is one datagram per 64 KiB to the kernel: give the packets different
    // lengths so UDP GSO cannot merge them and the buffer fills the same way.
    Packet* ps[kCount];
    ASSERT_EQ(pool.get(ps), kCount);
    for (std::size_t i = 0; i < kCount; ++i) {
      fill(ps[i], std::string(1000 + i, 'x'));
      ps[i]->remote = ep("198.51.100.2:9");
    }
    IoResult r = a.send_batch(ps);
    EXPECT_EQ(r.count, kCount) << "offloads " << offloads << ", error " << r.error;
    EXPECT_EQ(r.error, 0);
    for (Packet* p : ps) EXPECT_EQ(p->error, 0);
    pool.put(ps);
  }
  EXPECT_EQ(std::system("ip link del wgc-sb0"), 0);
}

TEST_F(NetnsTest, UdpOversizedDatagramIsDroppedNotTruncated) {
  PacketPool pool(4, 64);
  UdpSockets a;
  ASSERT_TRUE(a.bind(0).ok());
  PlainSocket peer(ep("127.0.0.1:0"));
  Endpoint to = Endpoint::make(ip("127.0.0.1"), a.local_port());
  peer.send_to(to, std::string(200, 'B'));
  peer.send_to(to, "small");
  ASSERT_TRUE(wait_readable(a.fd4()));
  Packet* ps[4];
  ASSERT_EQ(pool.get(ps), 4u);
  IoResult r = a.recv_batch(AF_INET, ps);
  EXPECT_EQ(r.count, 1u);
  EXPECT_EQ(r.dropped, 1u);
  EXPECT_EQ(text(ps[0]), "small");
  EXPECT_EQ(ps[1]->error, EMSGSIZE);  // the big one, moved behind the good ones
  pool.put(ps);
}

// ---------------------------------------------------------------- UDP offloads

// Sends `sizes` datagrams (payload i filled with byte 'a'+i%26) from c to a's IPv4 port, then
// receives until all bytes are in; returns the datagrams as a saw them after splitting GRO
// buffers by gso_size, and how many receive buffers carried more than one.
struct OffloadRun {
  std::vector<std::string> got;
  std::size_t coalesced_buffers = 0;
};
OffloadRun offload_roundtrip(UdpSockets& a, UdpSockets& c, const std::vector<std::size_t>& sizes) {
  PacketPool pool(256);
  PacketPool big(8, kGroBufferBytes);
  Endpoint to = Endpoint::make(ip("127.0.0.1"), a.local_port());
  std::vector<Packet*> out;
  std::size_t total = 0;
  for (std::size_t i = 0; i < sizes.size(); ++i) {
    Packet* p = pool.get();
    fill(p, std::string(sizes[i], char('a' + i % 26)));
    p->remote = to;
    out.push_back(p);
    total += sizes[i];
  }
  IoResult r = c.send_batch(out);
  EXPECT_EQ(r.count, out.size());
  EXPECT_EQ(r.error, 0);
  for (Packet* p : out) EXPECT_EQ(p->error, 0);
  pool.put(out);

  OffloadRun run;
  std::size_t bytes = 0;
  auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (bytes < total && std::chrono::steady_clock::now() < give_up) {
    if (!wait_readable(a.fd4(), 200)) continue;
    Packet* ps[8];
    std::size_t n = big.get(ps);
    IoResult rr = a.recv_batch(AF_INET, std::span<Packet*>(ps, n));
    EXPECT_EQ(rr.error, 0);
    EXPECT_EQ(rr.dropped, 0u);
    for (std::size_t i = 0; i < rr.count; ++i) {
      Packet* p = ps[i];
      std::size_t seg = p->gso_size ? p->gso_size : p->len();
      if (seg < p->len()) ++run.coalesced_buffers;
      for (std::size_t off = 0; off < p->len(); off += seg) {
        std::size_t len = std::min(seg, p->len() - off);
        run.got.emplace_back(reinterpret_cast<const char*>(p->data() + off), len);
        bytes += len;
      }
    }
    big.put(std::span<Packet*>(ps, n));
  }
  return run;
}

std::vector<std::string> expected(const std::vector<std::size_t>& sizes) {
  std::vector<std::string> want;
  for (std::size_t i = 0; i < sizes.size(); ++i) want.emplace_back(sizes[i], char('a' + i % 26));
  return want;
}

// Equal-size runs with a shorter tail, a size change in the middle and more than
// kMaxGsoSegments in one run: the receiver sees exactly the datagrams sent, in order, whether
// they travelled segmented (GSO) and coalesced (GRO) or one by one.
std::vector<std::size_t> offload_sizes() {
  std::vector<std::size_t> sizes(70, 1452);
  sizes.push_back(600);                                  // short tail ends the first run
  for (int i = 0; i < 20; ++i) sizes.push_back(1100);   // a second run of another size
  sizes.push_back(1200);                                 // longer than the run: a new message
  sizes.push_back(32);
  return sizes;
}

TEST_F(NetnsTest, UdpGsoAndGroCarryEveryDatagramInOrder) {
  UdpSockets a, c;
  ASSERT_TRUE(a.bind(0).ok());
  ASSERT_TRUE(c.bind(0).ok());
  if (!c.gso() || !a.gro()) GTEST_SKIP() << "kernel without UDP GSO/GRO";
  auto sizes = offload_sizes();
  OffloadRun run = offload_roundtrip(a, c, sizes);
  EXPECT_EQ(run.got, expected(sizes));
  // On loopback the kernel hands the segmented sends to a GRO socket unsplit.
  EXPECT_GT(run.coalesced_buffers, 0u);
}

TEST_F(NetnsTest, UdpGsoSenderToPlainReceiver) {
  UdpSockets a, c;
  a.set_offloads(false);
  ASSERT_TRUE(a.bind(0).ok());
  ASSERT_TRUE(c.bind(0).ok());
  EXPECT_FALSE(a.gro());
  EXPECT_FALSE(a.gso());
  auto sizes = offload_sizes();
  OffloadRun run = offload_roundtrip(a, c, sizes);
  EXPECT_EQ(run.got, expected(sizes));
  EXPECT_EQ(run.coalesced_buffers, 0u);  // a receiver without UDP_GRO gets them split
}

TEST_F(NetnsTest, UdpOffloadsOffSendsOneByOne) {
  UdpSockets a, c;
  c.set_offloads(false);
  ASSERT_TRUE(a.bind(0).ok());
  ASSERT_TRUE(c.bind(0).ok());
  EXPECT_FALSE(c.gso());
  auto sizes = offload_sizes();
  OffloadRun run = offload_roundtrip(a, c, sizes);
  EXPECT_EQ(run.got, expected(sizes));
  // The kernel may still coalesce plain datagrams for a GRO socket on some paths; the content
  // and order are what matter here.
}

// A segmented send whose sticky source is unusable falls back to the per-packet path, which
// retries without the source and reports it cleared on every packet of the message.
TEST_F(NetnsTest, UdpGsoStaleStickySourceFallsBack) {
  PacketPool pool(16);
  UdpSockets a, c;
  ASSERT_TRUE(a.bind(0).ok());
  ASSERT_TRUE(c.bind(0).ok());
  if (!c.gso()) GTEST_SKIP() << "kernel without UDP GSO";
  Endpoint to = Endpoint::make(ip("127.0.0.1"), a.local_port());
  std::vector<Packet*> out;
  for (int i = 0; i < 5; ++i) {
    Packet* p = pool.get();
    fill(p, std::string(500, char('k' + i)));
    p->remote = to;
    p->local = LocalAddr::of(ip("198.51.100.77"));  // not an address of this namespace
    out.push_back(p);
  }
  IoResult r = c.send_batch(out);
  EXPECT_EQ(r.count, out.size());
  for (Packet* p : out) {
    EXPECT_EQ(p->error, 0);
    EXPECT_TRUE(p->source_cleared);
  }
  pool.put(out);
  auto got = recv_n(a, AF_INET, pool, 5);
  std::size_t bytes = 0;
  for (Packet* p : got) bytes += p->len();
  EXPECT_EQ(bytes, 2500u);
  pool.put(got);
}

// ---------------------------------------------------------------- TUN


TEST_F(TunTest, CreateNamesMtuAndLifetime) {
  std::string name;
  {
    auto t = TunDevice::create("wgiotest0");
    ASSERT_TRUE(t.ok()) << t.error().message;
    name = t->name();
    EXPECT_EQ(name, "wgiotest0");
    EXPECT_GE(t->fd(), 0);
    EXPECT_NE(if_nametoindex(name.c_str()), 0u);
    ASSERT_TRUE(t->set_mtu(1380).ok());
    auto mtu = t->mtu();
    ASSERT_TRUE(mtu.ok()) << mtu.error().message;
    EXPECT_EQ(*mtu, 1380);
    EXPECT_FALSE(t->set_mtu(10).ok());  // below the minimum: the kernel refuses

    // A second single-queue open of the same name is refused with a useful message.
    auto again = TunDevice::create("wgiotest0");
    ASSERT_FALSE(again.ok());
    EXPECT_EQ(again.error().code, EBUSY);
    EXPECT_NE(again.error().message.find("wgiotest0"), std::string::npos);

    // Moving keeps the interface; only the last owner closes it.
    TunDevice moved = std::move(t.value());
    EXPECT_EQ(moved.name(), name);
    EXPECT_FALSE(t->is_open());
  }
  EXPECT_EQ(if_nametoindex(name.c_str()), 0u) << "interface should vanish with its fd";

  auto templ = TunDevice::create("wgio%d");
  ASSERT_TRUE(templ.ok()) << templ.error().message;
  EXPECT_EQ(templ->name().rfind("wgio", 0), 0u);
  EXPECT_NE(templ->name(), "wgio%d");

  auto too_long = TunDevice::create("this-name-is-too-long");
  ASSERT_FALSE(too_long.ok());
  EXPECT_EQ(too_long.error().code, EINVAL);
}

TEST_F(TunTest, MultiQueueAttachesMoreQueues) {
  auto q0 = TunDevice::create("wgiomq0", {.multi_queue = true});
  ASSERT_TRUE(q0.ok()) << q0.error().message;
  auto q1 = TunDevice::create("wgiomq0", {.multi_queue = true});
  ASSERT_TRUE(q1.ok()) << q1.error().message;
  EXPECT_NE(q0->fd(), q1->fd());
  EXPECT_EQ(q1->name(), "wgiomq0");
}

TEST_F(TunTest, PacketLargerThanTheBuffersIsDroppedAndCounted) {
  auto t = TunDevice::create("wgiotun2");
  ASSERT_TRUE(t.ok()) << t.error().message;
  // No IPv6 on this one, so no router solicitations or MLD reports join the count.
  ASSERT_EQ(std::system("sysctl -qw net.ipv6.conf.wgiotun2.disable_ipv6=1 && "
                        "ip addr add 198.51.100.1/24 dev wgiotun2 && ip link set wgiotun2 up"),
            0);
  PacketPool pool(4, 100);
  PlainSocket s(ep("0.0.0.0:0"));
  s.send_to(ep("198.51.100.2:9"), std::string(500, 'L'));
  s.send_to(ep("198.51.100.2:9"), "short");
  IoResult total;
  Packet* ps[4];
  ASSERT_EQ(pool.get(ps), 4u);
  auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (total.count + total.dropped < 2 && std::chrono::steady_clock::now() < give_up) {
    if (!wait_readable(t->fd(), 200)) continue;
    IoResult r = t->read_batch(std::span<Packet*>(ps).subspan(total.count));
    EXPECT_EQ(r.error, 0);
    total.count += r.count;
    total.dropped += r.dropped;
  }
  EXPECT_EQ(total.dropped, 1u);
  ASSERT_EQ(total.count, 1u);
  EXPECT_EQ(ps[0]->len(), 20u + 8u + 5u);
  EXPECT_EQ(std::string(reinterpret_cast<const char*>(ps[0]->data()) + 28, 5), "short");
  pool.put(ps);
}

// With offloads the same traffic goes through the virtio-net header: reads strip it (small
// UDP packets come unsegmented), writes prepend it.
void traffic_both_ways(bool offloads) {
  TunOptions opts;
  opts.offloads = offloads;
  auto t = TunDevice::create("wgiotun1", opts);
  ASSERT_TRUE(t.ok()) << t.error().message;
  EXPECT_EQ(t->vnet_hdr(), offloads);
  ASSERT_EQ(std::system("ip addr add 192.0.2.1/24 dev wgiotun1 && "
                        "ip -6 addr add 2001:db8:1::1/64 dev wgiotun1 nodad && "
                        "ip link set wgiotun1 up"),
            0);
  ASSERT_TRUE(settle_local_address("192.0.2.1"));
  ASSERT_TRUE(settle_local_address("2001:db8:1::1"));
  PacketPool pool(256);

  // Kernel -> TUN: datagrams routed into the interface come out of read_batch as IP packets.
  PlainSocket s4(ep("0.0.0.0:0"));
  constexpr int kN = 10;
  for (int i = 0; i < kN; ++i) s4.send_to(ep("192.0.2.2:9999"), "out-" + std::to_string(i));
  std::vector<std::string> seen;
  auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (seen.size() < kN && std::chrono::steady_clock::now() < give_up) {
    if (!wait_readable(t->fd(), 200)) continue;
    PacketBatch b;
    b.resize(pool.get(b.slots()));
    IoResult r = t->read_batch(b.span());
    EXPECT_EQ(r.error, 0);
    for (std::size_t i = 0; i < r.count; ++i) {
      const std::uint8_t* d = b[i]->data();
      // IPv6 housekeeping (MLD, router solicitations) may show up too; skip it.
      if (b[i]->len() < 28 || d[0] >> 4 != 4) continue;
      EXPECT_EQ(d[9], IPPROTO_UDP);
      EXPECT_EQ(IpAddr::v4_bytes(d + 16), ip("192.0.2.2"));
      EXPECT_EQ(IpAddr::v4_bytes(d + 12), ip("192.0.2.1"));
      EXPECT_EQ(d[22] << 8 | d[23], 9999);
      seen.emplace_back(reinterpret_cast<const char*>(d + 28), b[i]->len() - 28);
    }
    pool.put(b.span());
  }
  ASSERT_EQ(seen.size(), std::size_t(kN));
  for (int i = 0; i < kN; ++i) EXPECT_EQ(seen[i], "out-" + std::to_string(i));

  // TUN -> kernel: packets written in one batch arrive on our UDP sockets, reported as
  // received on the TUN interface.
  UdpSockets u;
  ASSERT_TRUE(u.bind(0).ok());
  Endpoint peer4 = ep("192.0.2.2:4444"), peer6 = ep("[2001:db8:1::2]:4444");
  Endpoint me4 = Endpoint::make(ip("192.0.2.1"), u.local_port());
  Endpoint me6 = Endpoint::make(ip("2001:db8:1::1"), u.local_port());
  std::vector<Packet*> in;
  for (int i = 0; i < kN; ++i) {
    bool v6 = i % 2;
    auto bytes = make_udp_packet(v6 ? peer6 : peer4, v6 ? me6 : me4, "in-" + std::to_string(i));
    Packet* p = pool.get();
    std::memcpy(p->data(), bytes.data(), bytes.size());
    p->set_len(bytes.size());
    in.push_back(p);
  }
  Packet* junk = pool.get();
  fill(junk, "\x10 version 1 is neither IPv4 nor IPv6");
  in.insert(in.begin() + 3, junk);
  IoResult w = t->write_batch(in);
  EXPECT_EQ(w.count, in.size());
  EXPECT_EQ(w.error, 0);
  EXPECT_EQ(junk->error, EINVAL);
  for (Packet* p : in) {
    if (p != junk) {
      EXPECT_EQ(p->error, 0);
    }
  }
  pool.put(in);

  unsigned tun_index = if_nametoindex("wgiotun1");
  auto got4 = recv_n(u, AF_INET, pool, kN / 2);
  auto got6 = recv_n(u, AF_INET6, pool, kN / 2);
  ASSERT_EQ(got4.size(), std::size_t(kN / 2));
  ASSERT_EQ(got6.size(), std::size_t(kN / 2));
  for (int i = 0; i < kN / 2; ++i) {
    EXPECT_EQ(text(got4[i]), "in-" + std::to_string(2 * i));
    EXPECT_EQ(got4[i]->remote, peer4);
    EXPECT_EQ(got4[i]->local.ip, ip("192.0.2.1"));
    EXPECT_EQ(got4[i]->local.ifindex, tun_index);
    EXPECT_EQ(text(got6[i]), "in-" + std::to_string(2 * i + 1));
    EXPECT_EQ(got6[i]->remote, peer6);
    EXPECT_EQ(got6[i]->local.ip, ip("2001:db8:1::1"));
    EXPECT_EQ(got6[i]->local.ifindex, tun_index);
  }
  pool.put(got4);
  pool.put(got6);
}

TEST_F(TunTest, TrafficBothWays) { traffic_both_ways(false); }
TEST_F(TunTest, TrafficBothWaysWithVnetHeader) { traffic_both_ways(true); }

}  // namespace
}  // namespace wgcore::io
