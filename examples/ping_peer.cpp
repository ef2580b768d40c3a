// One embedded WireGuard peer on an ordinary UDP socket, no root, no TUN: it pings another
// WireGuard peer's tunnel address (wgcored, wireguard-go, the kernel module) by writing ICMP echo
// requests into its wgcore::Tunnel and reading the replies the tunnel delivers.
//
//   c++ -std=c++20 ping_peer.cpp $(pkg-config --cflags --libs wgcore) -o ping_peer
//   ./ping_peer PRIVATE_KEY_FILE PEER_PUBLIC_KEY PEER_ENDPOINT MY_ADDRESS PEER_ADDRESS [COUNT]
//   wg genkey >me.key; ./ping_peer me.key "$(cat peer.pub)" 192.0.2.1:51820 10.77.0.2 10.77.0.1 3
//
// Keys are base64, as `wg genkey` / `wg pubkey` print them (the private one from a file, so it
// is not on the command line for every user to see). Exit status 0 when every echo got its reply
// within 5 s.
#include <wgcore/tunnel.hpp>

#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <string>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;

std::uint16_t checksum(const std::uint8_t* p, std::size_t n) {
  std::uint32_t sum = 0;
  for (std::size_t i = 0; i + 1 < n; i += 2) sum += std::uint32_t(p[i] << 8 | p[i + 1]);
  if (n & 1) sum += std::uint32_t(p[n - 1] << 8);
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return std::uint16_t(~sum);
}

// IPv4 + ICMP echo request with identifier `id` and sequence `seq`.
std::vector<std::uint8_t> echo_request(const wgcore::IpAddr& src, const wgcore::IpAddr& dst, std::uint16_t id,
                                       std::uint16_t seq) {
  std::vector<std::uint8_t> p(20 + 8 + 16, 0);
  p[0] = 0x45;
  p[2] = std::uint8_t(p.size() >> 8);
  p[3] = std::uint8_t(p.size());
  p[8] = 64;  // TTL
  p[9] = 1;   // ICMP
  std::memcpy(&p[12], src.bytes.data(), 4);
  std::memcpy(&p[16], dst.bytes.data(), 4);
  std::uint16_t c = checksum(p.data(), 20);
  p[10] = std::uint8_t(c >> 8);
  p[11] = std::uint8_t(c);
  std::uint8_t* icmp = &p[20];
  icmp[0] = 8;  // echo request
  icmp[4] = std::uint8_t(id >> 8);
  icmp[5] = std::uint8_t(id);
  icmp[6] = std::uint8_t(seq >> 8);
  icmp[7] = std::uint8_t(seq);
  std::memcpy(icmp + 8, "wgcore ping_peer", 16);
  c = checksum(icmp, 8 + 16);
  icmp[2] = std::uint8_t(c >> 8);
  icmp[3] = std::uint8_t(c);
  return p;
}

class Pinger final : public wgcore::TunnelHandler {
 public:
  Pinger(int fd, std::uint16_t id) : fd_(fd), id_(id) {}
  void send_datagram(const wgcore::Key*, const wgcore::Endpoint& to, std::span<const std::uint8_t> d) override {
    if (sendto(fd_, d.data(), d.size(), 0, &to.addr.sa, to.socklen()) < 0) std::perror("sendto");
  }
  void deliver(const wgcore::Key&, std::span<const std::uint8_t> p) override {
    // An echo reply (ICMP type 0) to our identifier: note its sequence number.
    if (p.size() < 28 || (p[0] >> 4) != 4 || p[9] != 1) return;
    const std::uint8_t* icmp = p.data() + (p[0] & 0x0f) * 4;
    if (icmp[0] != 0 || (icmp[4] << 8 | icmp[5]) != id_) return;
    last_reply = std::uint16_t(icmp[6] << 8 | icmp[7]);
  }
  void on_event(const wgcore::Key&, wgcore::TunnelEvent e) override { std::printf("event: %s\n", wgcore::to_string(e)); }
  int last_reply = -1;

 private:
  int fd_;
  std::uint16_t id_;
};

}  // namespace

int main(int argc, char** argv) {
  if (argc < 6 || argc > 7) {
    std::fprintf(stderr, "usage: %s PRIVATE_KEY_FILE PEER_PUBLIC_KEY PEER_ENDPOINT MY_ADDRESS PEER_ADDRESS [COUNT]\n",
                 argv[0]);
    return 2;
  }
  std::string key_text;
  std::ifstream key_file(argv[1]);
  key_file >> key_text;
  auto priv = wgcore::key_from_base64(key_text);
  wgcore::secure_zero(key_text.data(), key_text.size());
  auto peer = wgcore::key_from_base64(argv[2]);
  auto endpoint = wgcore::Endpoint::parse(argv[3]);
  auto me = wgcore::IpAddr::parse(argv[4]);
  auto them = wgcore::IpAddr::parse(argv[5]);
  const int count = argc == 7 ? std::atoi(argv[6]) : 3;
  if (!priv || !peer || !endpoint || !me || !them || !me->is_v4() || !them->is_v4() || count < 1) {
    std::fprintf(stderr, "%s: bad key, endpoint or IPv4 address\n", argv[0]);
    return 2;
  }
  // Any unprivileged port: the kernel picks one.
  int fd = socket(endpoint->family(), SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return std::perror("socket"), 1;

  Pinger pinger(fd, std::uint16_t(getpid()));
  auto made = wgcore::Tunnel::create(*priv, pinger);
  if (!made) return std::fprintf(stderr, "%s\n", made.error().message.c_str()), 1;
  auto& tunnel = *made;
  wgcore::DeviceUpdate u;
  wgcore::PeerUpdate p;
  p.public_key = *peer;
  p.endpoint = *endpoint;
  p.allowed_ips.push_back({wgcore::AllowedIpOp::Kind::kAdd, wgcore::IpPrefix{*them, 32}});
  u.peers.push_back(p);
  if (auto st = tunnel->apply(u); !st) return std::fprintf(stderr, "%s\n", st.error().message.c_str()), 1;

  std::vector<std::uint8_t> buf(65536);
  for (int seq = 1; seq <= count; ++seq) {
    const auto sent = Clock::now();
    tunnel->send(echo_request(*me, *them, std::uint16_t(getpid()), std::uint16_t(seq)));
    while (pinger.last_reply != seq) {
      const auto now = Clock::now();
      if (now - sent > std::chrono::seconds(5)) {
        std::fprintf(stderr, "no reply to echo %d from %s\n", seq, argv[5]);
        return 1;
      }
      pollfd pfd{fd, POLLIN, 0};
      if (poll(&pfd, 1, 50) > 0) {
        sockaddr_storage from{};
        socklen_t len = sizeof from;
        ssize_t n = recvfrom(fd, buf.data(), buf.size(), 0, reinterpret_cast<sockaddr*>(&from), &len);
        if (n > 0)
          tunnel->receive(std::span<std::uint8_t>(buf.data(), std::size_t(n)),
                          wgcore::Endpoint::from_sockaddr(reinterpret_cast<sockaddr*>(&from), len));
      }
      tunnel->process();  // timers: handshake retries, keepalives
    }
    std::printf("reply %d from %s: %.2f ms\n", seq, argv[5],
                std::chrono::duration<double, std::milli>(Clock::now() - sent).count());
  }
  close(fd);
  return 0;
}
