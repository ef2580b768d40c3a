// wg_flood: a bounded handshake-initiation flood for the reliability tests. It runs inside a test's
// own network namespace and sends
//   - MAC1-valid initiations with random content from random spoofed IPv4 sources (raw IP+UDP
//     through an IPPROTO_RAW socket), paced to --rate for --duration seconds or --max-packets,
//     which is what an attacker who knows the responder's public key can send: each one passes
//     the mac1 check and, unless cookies are on, costs the responder a Diffie-Hellman;
//   - optionally, from one real source address, a valid initiation of a configured peer that
//     answers the cookie reply and then repeats the message with a valid mac2 at --peer-rate:
//     only the per-source rate limiter stands between it and the responder's handshake code.
// It prints one JSON object with what it sent and what came back. It never sends more than
// --max-packets datagrams nor runs longer than --duration; SIGTERM/SIGINT end it early (the
// summary is still printed).
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/ip.h>
#include <netinet/udp.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "core/cookie.hpp"
#include "core/environment.hpp"
#include "core/messages.hpp"
#include "core/noise.hpp"
#include "wgcore/key.hpp"

namespace {

using namespace wgcore;

volatile sig_atomic_t g_stop = 0;
void on_signal(int) { g_stop = 1; }

struct Options {
  std::optional<Key> responder;
  in_addr target{};
  std::uint16_t port = 0;
  in_addr spoof_net{};
  int spoof_bits = 16;
  double rate = 60000;
  double duration = 5;
  std::uint64_t max_packets = 1'000'000;
  std::string peer_key_file;
  in_addr peer_source{};
  double peer_rate = 2000;
};

const char* kUsage =
    "Usage: wg_flood --responder-key BASE64 --target IPV4:PORT [options]\n"
    "Bounded handshake flood for tests (run it only inside a test network namespace).\n"
    "  --spoof-net IPV4/BITS   random spoofed sources from this prefix (default 198.18.0.0/16)\n"
    "  --rate N                spoofed initiations per second (default 60000)\n"
    "  --duration S            seconds of flooding (default 5)\n"
    "  --max-packets N         hard cap on spoofed datagrams (default 1000000)\n"
    "  --peer-key FILE         private key of a configured peer: also send its valid initiation\n"
    "  --peer-source IPV4      the real local address that peer sends from (needed with --peer-key)\n"
    "  --peer-rate N           its initiations per second once it holds a cookie (default 2000)\n"
    "Prints a JSON object: spoofed_sent, spoofed_seconds, spoofed_rate, send_errors, peer_*.\n";

bool parse_prefix(const std::string& s, in_addr& net, int& bits) {
  auto slash = s.find('/');
  if (slash == std::string::npos) return false;
  bits = std::atoi(s.c_str() + slash + 1);
  return bits >= 8 && bits <= 30 && inet_pton(AF_INET, s.substr(0, slash).c_str(), &net) == 1;
}

bool parse_endpoint(const std::string& s, in_addr& ip, std::uint16_t& port) {
  auto colon = s.rfind(':');
  if (colon == std::string::npos) return false;
  int p = std::atoi(s.c_str() + colon + 1);
  if (p <= 0 || p > 65535) return false;
  port = std::uint16_t(p);
  return inet_pton(AF_INET, s.substr(0, colon).c_str(), &ip) == 1;
}

std::optional<Options> parse(int argc, char** argv) {
  Options o;
  inet_pton(AF_INET, "198.18.0.0", &o.spoof_net);
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--help" || a == "-h") {
      fputs(kUsage, stdout);
      std::exit(0);
    }
    if (i + 1 >= argc) {
      fprintf(stderr, "wg_flood: %s needs a value\n", a.c_str());
      return std::nullopt;
    }
    std::string v = argv[++i];
    bool ok = true;
    if (a == "--responder-key") ok = (o.responder = key_from_base64(v)).has_value();
    else if (a == "--target") ok = parse_endpoint(v, o.target, o.port);
    else if (a == "--spoof-net") ok = parse_prefix(v, o.spoof_net, o.spoof_bits);
    else if (a == "--rate") ok = (o.rate = std::atof(v.c_str())) > 0;
    else if (a == "--duration") ok = (o.duration = std::atof(v.c_str())) > 0 && o.duration <= 60;
    else if (a == "--max-packets") ok = (o.max_packets = std::strtoull(v.c_str(), nullptr, 10)) > 0;
    else if (a == "--peer-key") o.peer_key_file = v;
    else if (a == "--peer-source") ok = inet_pton(AF_INET, v.c_str(), &o.peer_source) == 1;
    else if (a == "--peer-rate") ok = (o.peer_rate = std::atof(v.c_str())) > 0;
    else {
      fprintf(stderr, "wg_flood: unknown option %s\n%s", a.c_str(), kUsage);
      return std::nullopt;
    }
    if (!ok) {
      fprintf(stderr, "wg_flood: bad value for %s: %s\n", a.c_str(), v.c_str());
      return std::nullopt;
    }
  }
  if (!o.responder || o.port == 0) {
    fprintf(stderr, "wg_flood: --responder-key and --target are required\n%s", kUsage);
    return std::nullopt;
  }
  if (!o.peer_key_file.empty() && o.peer_source.s_addr == 0) {
    fprintf(stderr, "wg_flood: --peer-key needs --peer-source\n");
    return std::nullopt;
  }
  return o;
}

double now_s() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return double(ts.tv_sec) + double(ts.tv_nsec) * 1e-9;
}

void sleep_until(double t) {
  timespec ts;
  ts.tv_sec = time_t(t);
  ts.tv_nsec = long((t - double(ts.tv_sec)) * 1e9);
  clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, nullptr);
}

// One raw IPv4+UDP datagram carrying a handshake initiation. The kernel fills the IP checksum,
// total length and ID (IP_HDRINCL rules); a zero UDP checksum means "none" in IPv4.
struct RawInitiation {
  iphdr ip;
  udphdr udp;
  proto::MessageHandshakeInitiation msg;
} __attribute__((packed));

struct SpoofStats {
  std::uint64_t sent = 0;
  std::uint64_t errors = 0;
  double seconds = 0;
};

// Sends random-source initiations, paced per batch of 64 with sendmmsg.
SpoofStats spoof_flood(const Options& o, int fd) {
  constexpr std::size_t kPool = 4096, kBatch = 64;
  // The pool: distinct MAC1-valid initiations. Random ephemeral, static and timestamp fields
  // never decrypt, so the responder spends a DH on each before it can reject it.
  std::vector<proto::MessageHandshakeInitiation> pool(kPool);
  CookieMaker maker;
  maker.init(*o.responder);
  Random& rng = system_random();
  for (auto& m : pool) {
    rng.fill(std::span<std::uint8_t>(reinterpret_cast<std::uint8_t*>(&m), sizeof m));
    proto::store_le32(reinterpret_cast<std::uint8_t*>(&m.type),
                      std::uint32_t(proto::MessageType::kHandshakeInitiation));
    maker.add_macs(std::span<std::uint8_t>(reinterpret_cast<std::uint8_t*>(&m), sizeof m), Time{});
  }
  std::vector<RawInitiation> out(kBatch);
  std::vector<iovec> iov(kBatch);
  std::vector<mmsghdr> hdrs(kBatch);
  sockaddr_in dst{};
  dst.sin_family = AF_INET;
  dst.sin_addr = o.target;
  std::uint32_t net = ntohl(o.spoof_net.s_addr), host_mask = (1u << (32 - o.spoof_bits)) - 1;
  std::uint64_t x = 0x9e3779b97f4a7c15ULL ^ std::uint64_t(getpid());
  SpoofStats st;
  double start = now_s(), interval = double(kBatch) / o.rate, next = start;
  std::size_t pool_at = 0;
  while (!g_stop && st.sent < o.max_packets && now_s() - start < o.duration) {
    std::size_t n = std::min<std::uint64_t>(kBatch, o.max_packets - st.sent);
    for (std::size_t i = 0; i < n; ++i) {
      x ^= x << 13, x ^= x >> 7, x ^= x << 17;  // xorshift64: sources and ports only
      RawInitiation& r = out[i];
      std::memset(&r.ip, 0, sizeof r.ip);
      r.ip.version = 4;
      r.ip.ihl = 5;
      r.ip.ttl = 64;
      r.ip.protocol = IPPROTO_UDP;
      std::uint32_t h = std::uint32_t(x) & host_mask;
      if (h == 0 || h == host_mask) h = 1;  // no network or broadcast address
      r.ip.saddr = htonl(net | h);
      r.ip.daddr = o.target.s_addr;
      r.udp.source = htons(std::uint16_t(1024 + (x >> 32) % 64000));
      r.udp.dest = htons(o.port);
      r.udp.len = htons(sizeof r.udp + sizeof r.msg);
      r.udp.check = 0;
      r.msg = pool[pool_at++ % kPool];
      iov[i] = {&r, sizeof r};
      hdrs[i] = {};
      hdrs[i].msg_hdr.msg_name = &dst;
      hdrs[i].msg_hdr.msg_namelen = sizeof dst;
      hdrs[i].msg_hdr.msg_iov = &iov[i];
      hdrs[i].msg_hdr.msg_iovlen = 1;
    }
    int k = sendmmsg(fd, hdrs.data(), unsigned(n), 0);
    if (k < 0) {
      ++st.errors;  // ENOBUFS under pressure: the datagrams were not sent, count them as such
      if (errno != ENOBUFS && errno != EAGAIN && errno != EINTR) {
        perror("wg_flood: sendmmsg");
        break;
      }
    } else {
      st.sent += std::uint64_t(k);
    }
    next += interval;
    double t = now_s();
    if (next > t) sleep_until(next);
    else if (t - next > 0.05) next = t;  // fell behind: do not burst to catch up
  }
  st.seconds = now_s() - start;
  return st;
}

struct PeerStats {
  bool got_cookie = false;
  std::uint64_t cookie_replies = 0;
  std::uint64_t responses = 0;
  std::uint64_t sent_before_cookie = 0;
  std::uint64_t sent_with_cookie = 0;
};

// The cookie-aware source: one valid initiation of a configured peer, resent unchanged (its
// TAI64N is fixed, so whatever passes the rate limiter after the first is a counted replay).
std::optional<PeerStats> peer_flood(const Options& o, const std::atomic<bool>& stop) {
  std::ifstream f(o.peer_key_file);
  std::string line;
  std::getline(f, line);
  auto priv = key_from_base64(line);
  if (!priv) {
    fprintf(stderr, "wg_flood: %s:1: not a base64 private key\n", o.peer_key_file.c_str());
    return std::nullopt;
  }
  Identity id;
  id.set(priv);
  Handshake hs;
  hs.remote_static = *o.responder;
  noise::precompute_static_static(hs, id);
  proto::MessageHandshakeInitiation msg;
  if (!noise::create_initiation(msg, hs, id, system_random().u32(), system_clock().wall_now(),
                                system_random())) {
    fprintf(stderr, "wg_flood: cannot build the peer's initiation\n");
    return std::nullopt;
  }
  auto bytes = std::span<std::uint8_t>(reinterpret_cast<std::uint8_t*>(&msg), sizeof msg);
  CookieMaker maker;
  maker.init(*o.responder);
  maker.add_macs(bytes, system_clock().now());

  int fd = socket(AF_INET, SOCK_DGRAM, 0);
  sockaddr_in src{}, dst{};
  src.sin_family = dst.sin_family = AF_INET;
  src.sin_addr = o.peer_source;
  dst.sin_addr = o.target;
  dst.sin_port = htons(o.port);
  if (fd < 0 || bind(fd, reinterpret_cast<sockaddr*>(&src), sizeof src) != 0 ||
      connect(fd, reinterpret_cast<sockaddr*>(&dst), sizeof dst) != 0) {
    perror("wg_flood: peer socket");
    if (fd >= 0) close(fd);
    return std::nullopt;
  }
  PeerStats st;
  double interval = 1.0 / o.peer_rate, next = now_s();
  while (!stop.load()) {
    // Before the cookie: one try every 20 ms (the peer's own pace); after it: --peer-rate.
    if (send(fd, &msg, sizeof msg, 0) == ssize_t(sizeof msg))
      ++(st.got_cookie ? st.sent_with_cookie : st.sent_before_cookie);
    next += st.got_cookie ? interval : 0.02;
    std::uint8_t buf[256];
    for (;;) {
      pollfd p{fd, POLLIN, 0};
      double wait = next - now_s();
      if (poll(&p, 1, wait > 0 ? int(wait * 1000) : 0) <= 0) break;
      ssize_t n = recv(fd, buf, sizeof buf, 0);
      if (n == ssize_t(sizeof(proto::MessageCookieReply)) && buf[0] == 3) {
        ++st.cookie_replies;
        proto::MessageCookieReply reply;
        std::memcpy(&reply, buf, sizeof reply);
        if (!st.got_cookie && maker.consume_reply(reply, system_clock().now())) {
          maker.add_macs(bytes, system_clock().now());  // now with mac2
          st.got_cookie = true;
        }
      } else if (n == ssize_t(sizeof(proto::MessageHandshakeResponse)) && buf[0] == 2) {
        ++st.responses;
      }
    }
    double t = now_s();
    if (next > t) sleep_until(next);
    else if (t - next > 0.05) next = t;
  }
  close(fd);
  return st;
}

}  // namespace

int main(int argc, char** argv) {
  auto o = parse(argc, argv);
  if (!o) return 2;
  struct sigaction sa {};
  sa.sa_handler = on_signal;
  sigaction(SIGTERM, &sa, nullptr);
  sigaction(SIGINT, &sa, nullptr);
  int fd = socket(AF_INET, SOCK_RAW, IPPROTO_RAW);
  if (fd < 0) {
    perror("wg_flood: raw socket (needs CAP_NET_RAW)");
    return 1;
  }
  int sndbuf = 4 << 20;
  setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &sndbuf, sizeof sndbuf);

  std::atomic<bool> stop{false};
  std::optional<PeerStats> peer;
  bool peer_failed = false;
  std::thread peer_thread;
  if (!o->peer_key_file.empty()) peer_thread = std::thread([&] {
    peer = peer_flood(*o, stop);
    peer_failed = !peer;
  });
  SpoofStats s = spoof_flood(*o, fd);
  stop.store(true);
  if (peer_thread.joinable()) peer_thread.join();
  close(fd);

  printf("{\"spoofed_sent\": %llu, \"spoofed_seconds\": %.3f, \"spoofed_rate\": %.0f, \"send_errors\": %llu",
         static_cast<unsigned long long>(s.sent), s.seconds, s.seconds > 0 ? double(s.sent) / s.seconds : 0.0,
         static_cast<unsigned long long>(s.errors));
  if (peer)
    printf(", \"peer_got_cookie\": %s, \"peer_cookie_replies\": %llu, \"peer_responses\": %llu, "
           "\"peer_sent_before_cookie\": %llu, \"peer_sent_with_cookie\": %llu",
           peer->got_cookie ? "true" : "false", static_cast<unsigned long long>(peer->cookie_replies),
           static_cast<unsigned long long>(peer->responses),
           static_cast<unsigned long long>(peer->sent_before_cookie),
           static_cast<unsigned long long>(peer->sent_with_cookie));
  printf("}\n");
  return peer_failed ? 1 : 0;
}
