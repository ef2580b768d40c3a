// FpmServer over 127.0.0.1 on an ephemeral port, a plain TCP client standing in for zebra:
// the real captured stream in split writes, reconnects replacing the connection, a broken
// stream dropping it. No root needed.
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>

#include "test_messages.hpp"
#include "routing/route_feed.hpp"

namespace wgcore::routing::feed {
namespace {

using namespace testmsg;

struct Recorder {
  std::vector<std::string> events;  // "connected", "disconnected", "updates N"
  std::vector<RouteUpdate> updates;
  FpmServer::Callbacks callbacks() {
    return {[this] { events.push_back("connected"); },
            [this] { events.push_back("disconnected"); },
            [this](std::vector<RouteUpdate>& us) {
              events.push_back("updates " + std::to_string(us.size()));
              updates.insert(updates.end(), us.begin(), us.end());
            }};
  }
};

int connect_client(std::uint16_t port) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_port = htons(port);
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

void send_all(int fd, const std::uint8_t* p, std::size_t n) {
  while (n > 0) {
    ssize_t w = ::write(fd, p, n);
    ASSERT_GT(w, 0);
    p += w;
    n -= static_cast<std::size_t>(w);
  }
}

// Polls until pred() or 3 s; returns pred().
template <class P>
bool pump(FpmServer& s, P pred) {
  auto end = std::chrono::steady_clock::now() + std::chrono::seconds(3);
  while (!pred() && std::chrono::steady_clock::now() < end) {
    Status st = s.poll_once(20);
    EXPECT_TRUE(st) << st.error().message;
  }
  return pred();
}

Result<FpmServer> listen_local(Recorder& r) {
  return FpmServer::listen(*IpAddr::parse("127.0.0.1"), 0, r.callbacks());
}

TEST(FpmServer, DecodesZebraStreamInSplitWritesAndSurvivesReconnect) {
  Recorder r;
  auto made = listen_local(r);
  ASSERT_TRUE(made) << made.error().message;
  FpmServer server = std::move(*made);  // movable, as Result<FpmServer> needs
  ASSERT_NE(server.port(), 0);
  EXPECT_EQ(server.fds().size(), 1u);
  EXPECT_FALSE(server.connected());

  Bytes stream = read_file(fixture_dir() + "/zebra_nhg.bin");
  FpmDecoder reference;
  std::vector<RouteUpdate> expected;
  ASSERT_TRUE(reference.feed(stream, expected));
  ASSERT_EQ(expected.size(), 9u);

  int c1 = connect_client(server.port());
  ASSERT_GE(c1, 0);
  ASSERT_TRUE(pump(server, [&] { return server.connected(); }));
  EXPECT_EQ(server.fds().size(), 2u);
  // Three writes cutting frames in the middle (header and body), with reads in between.
  // The routes start at byte 440, after the nexthop objects.
  for (auto [from, to] : {std::pair{0, 3}, std::pair{3, 470}, std::pair{470, 964}}) {
    send_all(c1, stream.data() + from, static_cast<std::size_t>(to - from));
    for (int i = 0; i < 3; ++i) ASSERT_TRUE(server.poll_once(10));
  }
  ASSERT_TRUE(pump(server, [&] { return r.updates.size() >= expected.size(); }));
  EXPECT_EQ(r.updates, expected);

  // zebra reconnects (a new connection while the old is open): disconnected, then connected,
  // and a full replay decodes from scratch.
  int c2 = connect_client(server.port());
  ASSERT_GE(c2, 0);
  r.events.clear();
  ASSERT_TRUE(pump(server, [&] { return r.events.size() >= 2; }));
  EXPECT_EQ(r.events, (std::vector<std::string>{"disconnected", "connected"}));
  std::uint8_t b;
  EXPECT_EQ(::read(c1, &b, 1), 0);  // the old connection was closed
  r.updates.clear();
  send_all(c2, stream.data(), stream.size());
  ASSERT_TRUE(pump(server, [&] { return r.updates.size() >= expected.size(); }));
  EXPECT_EQ(r.updates, expected);

  // zebra goes away.
  r.events.clear();
  ::close(c2);
  ASSERT_TRUE(pump(server, [&] { return !server.connected(); }));
  EXPECT_EQ(r.events, (std::vector<std::string>{"disconnected"}));
  ::close(c1);
}

TEST(FpmServer, BrokenStreamDropsTheConnectionAfterDeliveringWhatCameBefore) {
  Recorder r;
  auto server = listen_local(r);
  ASSERT_TRUE(server) << server.error().message;
  int c = connect_client(server->port());
  ASSERT_GE(c, 0);
  ASSERT_TRUE(pump(*server, [&] { return server->connected(); }));
  Bytes bytes = cat({frame(route(RTM_NEWROUTE, "198.18.7.0", 24, 0)),
                     frame(route(RTM_NEWROUTE, "198.18.8.0", 24, 0), 1, 2 /* protobuf */)});
  send_all(c, bytes.data(), bytes.size());
  Status st;
  auto end = std::chrono::steady_clock::now() + std::chrono::seconds(3);
  while (st && server->connected() && std::chrono::steady_clock::now() < end)
    st = server->poll_once(20);
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().code, EPROTO);
  EXPECT_NE(st.error().message.find("protobuf"), std::string::npos) << st.error().message;
  EXPECT_FALSE(server->connected());
  EXPECT_EQ(r.events, (std::vector<std::string>{"connected", "updates 1", "disconnected"}));
  ::close(c);
  // Still listening: zebra's next attempt is accepted.
  int c2 = connect_client(server->port());
  ASSERT_GE(c2, 0);
  EXPECT_TRUE(pump(*server, [&] { return server->connected(); }));
  ::close(c2);
}

TEST(FpmServer, PortInUseIsAnErrorNamingIt) {
  Recorder r;
  auto first = listen_local(r);
  ASSERT_TRUE(first);
  auto second = FpmServer::listen(*IpAddr::parse("127.0.0.1"), first->port(), r.callbacks());
  ASSERT_FALSE(second);
  EXPECT_EQ(second.error().code, EADDRINUSE);
  EXPECT_NE(second.error().message.find("bind 127.0.0.1 port " + std::to_string(first->port())),
            std::string::npos)
      << second.error().message;
}

TEST(FpmServer, PollWithNothingReadyReturns) {
  Recorder r;
  auto server = listen_local(r);
  ASSERT_TRUE(server);
  auto t0 = std::chrono::steady_clock::now();
  EXPECT_TRUE(server->poll_once(30));
  EXPECT_GE(std::chrono::steady_clock::now() - t0, std::chrono::milliseconds(25));
  EXPECT_TRUE(r.events.empty());
}

}  // namespace
}  // namespace wgcore::routing::feed
