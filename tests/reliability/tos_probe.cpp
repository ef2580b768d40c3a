// tos_probe: inner traffic with a chosen DS field, and what arrives with which (the ECN tests:
// tests/reliability/ecn_test.sh on the host, tests/kernel/guest_netem.sh in the QEMU guest,
// which has no Python).
//
//   tos_probe send ADDR PORT COUNT TOS       COUNT UDP datagrams to ADDR:PORT with IP_TOS (IPv4)
//                                            or IPV6_TCLASS (IPv6) = TOS, 2 ms apart
//   tos_probe recv ADDR PORT COUNT SECONDS [READY-FILE]
//                                            binds ADDR:PORT (then writes READY-FILE), takes up to
//                                            COUNT datagrams or stops after SECONDS without one,
//                                            and prints a JSON object: DS field -> count
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <string>

namespace {

int usage() {
  std::fprintf(stderr,
               "usage: tos_probe send ADDR PORT COUNT TOS\n"
               "       tos_probe recv ADDR PORT COUNT SECONDS [READY-FILE]\n");
  return 2;
}

bool parse_addr(const char* addr, int port, sockaddr_storage& ss, socklen_t& len) {
  std::memset(&ss, 0, sizeof ss);
  auto* v4 = reinterpret_cast<sockaddr_in*>(&ss);
  auto* v6 = reinterpret_cast<sockaddr_in6*>(&ss);
  if (inet_pton(AF_INET, addr, &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    v4->sin_port = htons(std::uint16_t(port));
    len = sizeof *v4;
    return true;
  }
  if (inet_pton(AF_INET6, addr, &v6->sin6_addr) == 1) {
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons(std::uint16_t(port));
    len = sizeof *v6;
    return true;
  }
  return false;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 6) return usage();
  const std::string mode = argv[1];
  sockaddr_storage ss;
  socklen_t len = 0;
  if (!parse_addr(argv[2], std::atoi(argv[3]), ss, len)) return usage();
  const int count = std::atoi(argv[4]);
  const bool v4 = ss.ss_family == AF_INET;
  int fd = ::socket(ss.ss_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return std::perror("socket"), 1;
  const int on = 1;
  if (mode == "send") {
    const int tos = int(std::strtol(argv[5], nullptr, 0));
    if (::setsockopt(fd, v4 ? IPPROTO_IP : IPPROTO_IPV6, v4 ? IP_TOS : IPV6_TCLASS, &tos, sizeof tos) != 0)
      return std::perror("setsockopt TOS"), 1;
    for (int i = 0; i < count; ++i) {
      char msg[32];
      int n = std::snprintf(msg, sizeof msg, "tos-probe %d", i);
      if (::sendto(fd, msg, std::size_t(n), 0, reinterpret_cast<sockaddr*>(&ss), len) < 0)
        return std::perror("sendto"), 1;
      ::usleep(2000);
    }
    return 0;
  }
  if (mode != "recv") return usage();
  if (::setsockopt(fd, v4 ? IPPROTO_IP : IPPROTO_IPV6, v4 ? IP_RECVTOS : IPV6_RECVTCLASS, &on, sizeof on) != 0)
    return std::perror("setsockopt RECVTOS"), 1;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&ss), len) != 0) return std::perror("bind"), 1;
  if (argc > 6) {
    FILE* f = std::fopen(argv[6], "w");
    if (f) {
      std::fputs("ready\n", f);
      std::fclose(f);
    }
  }
  const int quiet_ms = std::atoi(argv[5]) * 1000;
  std::map<int, int> seen;
  for (int got = 0; got < count; ++got) {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, quiet_ms) <= 0) break;
    char buf[2048];
    alignas(cmsghdr) char ctrl[CMSG_SPACE(sizeof(int))];
    iovec iov{buf, sizeof buf};
    msghdr h{};
    h.msg_iov = &iov;
    h.msg_iovlen = 1;
    h.msg_control = ctrl;
    h.msg_controllen = sizeof ctrl;
    if (::recvmsg(fd, &h, 0) < 0) return std::perror("recvmsg"), 1;
    int ds = -1;
    for (cmsghdr* c = CMSG_FIRSTHDR(&h); c; c = CMSG_NXTHDR(&h, c)) {
      if (c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_TOS) ds = *CMSG_DATA(c);
      if (c->cmsg_level == IPPROTO_IPV6 && c->cmsg_type == IPV6_TCLASS) std::memcpy(&ds, CMSG_DATA(c), sizeof ds);
    }
    ++seen[ds];
  }
  std::string out = "{";
  for (const auto& [ds, n] : seen) {
    if (out.size() > 1) out += ", ";
    out += "\"" + std::to_string(ds) + "\": " + std::to_string(n);
  }
  std::printf("%s}\n", out.c_str());
  return 0;
}
