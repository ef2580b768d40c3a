// Runs inside the QEMU guest (tests/kernel/guest_test.sh) against the real wireguard module:
// small commands the guest script combines with stock `wg`, plus a self-test of what only the
// library can observe (split sets, dump continuations, removal emulation, rollback).
#include <net/if.h>
#include <netinet/in.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <iostream>
#include <iterator>
#include <string>

#include "model/config_apply.hpp"
#include "wgcore/interface.hpp"
#include "core/crypto/x25519.hpp"
#include "netlink/kernel.hpp"
#include "netlink/kernel_control.hpp"
#include "uapi/uapi_text.hpp"

using namespace wgcore;

namespace {

// SIOCGIFMTU, independent of the library; 0 when there is no such interface.
int mtu_of(const std::string& ifname) {
  int s = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  ifreq ifr{};
  std::strncpy(ifr.ifr_name, ifname.c_str(), IFNAMSIZ - 1);
  int rc = ::ioctl(s, SIOCGIFMTU, &ifr);
  ::close(s);
  return rc == 0 ? ifr.ifr_mtu : 0;
}

int fail(const std::string& what) {
  std::fprintf(stderr, "kernel_backend_test: %s\n", what.c_str());
  return 1;
}

// `wg show IFACE dump`, byte for byte.
std::string dump_text(const DeviceState& s) {
  std::string out;
  out += s.private_key ? to_base64(*s.private_key) : "(none)";
  out += '\t';
  out += s.public_key ? to_base64(*s.public_key) : "(none)";
  out += '\t' + std::to_string(s.listen_port) + '\t';
  if (s.fwmark) {
    char b[16];
    std::snprintf(b, sizeof b, "0x%x", s.fwmark);
    out += b;
  } else {
    out += "off";
  }
  out += '\n';
  for (const auto& p : s.peers) {
    out += to_base64(p.public_key) + '\t';
    out += p.preshared_key ? to_base64(*p.preshared_key) : "(none)";
    out += '\t';
    out += p.endpoint ? p.endpoint->to_string() : "(none)";
    out += '\t';
    if (p.allowed_ips.empty()) out += "(none)";
    for (std::size_t i = 0; i < p.allowed_ips.size(); ++i)
      out += (i ? "," : "") + p.allowed_ips[i].to_string();
    out += '\t' + std::to_string(p.last_handshake_time_sec) + '\t' + std::to_string(p.rx_bytes) +
           '\t' + std::to_string(p.tx_bytes) + '\t';
    out += p.persistent_keepalive_interval ? std::to_string(p.persistent_keepalive_interval)
                                           : "off";
    out += '\n';
  }
  return out;
}

Key test_key(std::uint32_t i) {
  Key k;
  for (std::size_t b = 0; b < kKeyLen; ++b)
    k[b] = static_cast<std::uint8_t>((i * 131 + b * 7) ^ (i >> 8));
  Key pub;
  crypto::x25519_clamp(k);
  if (!crypto::x25519_public(pub, k)) std::abort();
  return pub;
}

#define CHECK(cond)                                                              \
  do {                                                                           \
    if (!(cond)) return fail(std::string("selftest: check failed: ") + #cond +   \
                             " (line " + std::to_string(__LINE__) + ")");        \
  } while (0)
#define CHECK_OK(expr)                                                           \
  do {                                                                           \
    auto _st = (expr);                                                           \
    if (!_st) return fail(std::string("selftest: ") + #expr + ": " + _st.error().message); \
  } while (0)

// Compares two states' configuration (statistics ignored).
bool same_config(const DeviceState& a, const DeviceState& b) {
  if (a.private_key != b.private_key || a.listen_port != b.listen_port || a.fwmark != b.fwmark ||
      a.peers.size() != b.peers.size())
    return false;
  for (std::size_t i = 0; i < a.peers.size(); ++i)
    if (!same_peer_config(a.peers[i], b.peers[i])) return false;
  return true;
}

// Applies `u` through KernelControl and checks the kernel now holds exactly what apply_update
// predicts from the state before.
int apply_and_check(netlink::KernelControl& c, const DeviceUpdate& u, const char* what) {
  auto before = c.get();
  if (!before) return fail(std::string(what) + ": get: " + before.error().message);
  auto expect = apply_update(*before, u);
  if (!expect) return fail(std::string(what) + ": apply_update: " + expect.error().message);
  if (auto st = c.apply(u); !st) return fail(std::string(what) + ": apply: " + st.error().message);
  auto after = c.get();
  if (!after) return fail(std::string(what) + ": get: " + after.error().message);
  // The kernel picks a port for listen_port 0 only when the link is up; keep the comparison to
  // the configured fields.
  expect->listen_port = after->listen_port;
  if (!same_config(*after, *expect))
    return fail(std::string(what) + ": kernel state differs from apply_update's\n--- kernel\n" +
                dump_text(*after) + "--- expected\n" + dump_text(*expect));
  std::printf("selftest: %s: ok (%zu peers)\n", what, after->peers.size());
  return 0;
}

IpPrefix v4(std::uint32_t host, std::uint8_t len) {
  return IpPrefix{IpAddr::v4(host), len};
}

int selftest(const std::string& ifname) {
  auto opened = netlink::KernelControl::open(ifname);
  if (!opened) return fail(opened.error().message);
  auto& c = **opened;
  std::printf("selftest: kernel per-allowed-IP removal flag supported: %s\n",
              c.caps().allowedip_remove ? "yes" : "no (emulated)");

  // 1. One peer with 3000 allowed IPs: the set is split mid-peer and the dump continues the
  //    peer across messages.
  {
    DeviceUpdate u;
    u.replace_peers = true;
    PeerUpdate p;
    p.public_key = test_key(1);
    for (std::uint32_t i = 0; i < 3000; ++i)
      p.allowed_ips.push_back({AllowedIpOp::Kind::kAdd, v4(0x0a000000u + (i << 8), 24)});
    u.peers.push_back(p);
    if (int r = apply_and_check(c, u, "3000 allowed IPs on one peer")) return r;
  }
  // 2. Small message limit: many peers per set, every split point exercised.
  {
    c.set_message_limit(300);
    DeviceUpdate u;
    for (std::uint32_t i = 2; i < 40; ++i) {
      PeerUpdate p;
      p.public_key = test_key(i);
      p.persistent_keepalive_interval = static_cast<std::uint16_t>(i);
      p.endpoint =
          Endpoint::make(IpAddr::v4(0xc0000200u + i), static_cast<std::uint16_t>(1000 + i));
      for (std::uint32_t j = 0; j < i % 7; ++j)
        p.allowed_ips.push_back({AllowedIpOp::Kind::kAdd, v4(0xc6120000u + (i << 8) + j, 32)});
      u.peers.push_back(p);
    }
    if (int r = apply_and_check(c, u, "split at 300 bytes")) return r;
    c.set_message_limit(netlink::kDefaultMessageLimit);
  }
  // 3. Interleaved ops and single removals (emulated on kernels without the flag), including a
  //    prefix taken from another peer and then removed.
  {
    DeviceUpdate u;
    PeerUpdate p;
    p.public_key = test_key(5);
    p.allowed_ips = {{AllowedIpOp::Kind::kAdd, v4(0xc6120000u + (6 << 8), 32)},  // peer 6's
                     {AllowedIpOp::Kind::kRemove, v4(0xc6120000u + (5 << 8) + 1, 32)},
                     {AllowedIpOp::Kind::kRemove, v4(0xc6120000u + (6 << 8), 32)},
                     {AllowedIpOp::Kind::kAdd, v4(0xcb007100u, 24)}};
    u.peers.push_back(p);
    PeerUpdate q;
    q.public_key = test_key(9);
    q.allowed_ips = {{AllowedIpOp::Kind::kAdd, v4(0xcb007200u, 24)},
                     {AllowedIpOp::Kind::kReplaceAll, {}},
                     {AllowedIpOp::Kind::kAdd, v4(0xcb007300u, 24)}};
    u.peers.push_back(q);
    PeerUpdate skip;  // update_only on a missing peer: nothing, even across split entries
    skip.public_key = test_key(999);
    skip.update_only = true;
    skip.allowed_ips = {{AllowedIpOp::Kind::kAdd, v4(0xcb007400u, 24)},
                        {AllowedIpOp::Kind::kReplaceAll, {}},
                        {AllowedIpOp::Kind::kRemove, v4(0xcb007400u, 24)}};
    u.peers.push_back(skip);
    PeerUpdate rm;
    rm.public_key = test_key(3);
    rm.remove = true;
    u.peers.push_back(rm);
    if (int r = apply_and_check(c, u, "interleaved ops and single removals")) return r;
  }
  // 4. A failing apply changes nothing: the listen port is taken by another socket; the update
  //    also replaces every peer, so a half-applied set would be visible.
  {
    int s = ::socket(AF_INET, SOCK_DGRAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(43999);
    CHECK(s >= 0 && ::bind(s, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
    int s6 = ::socket(AF_INET6, SOCK_DGRAM, 0);
    sockaddr_in6 a6{};
    a6.sin6_family = AF_INET6;
    a6.sin6_port = htons(43999);
    int one = 1;
    ::setsockopt(s6, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
    ::bind(s6, reinterpret_cast<sockaddr*>(&a6), sizeof a6);
    auto before = c.get();
    CHECK(before.ok());
    DeviceUpdate u;
    u.fwmark = 0x77;
    u.listen_port = 43999;
    u.replace_peers = true;
    PeerUpdate p;
    p.public_key = test_key(777);
    u.peers.push_back(p);
    auto st = c.apply(u);
    ::close(s);
    ::close(s6);
    CHECK(!st.ok());
    std::printf("selftest: expected failure: %s\n", st.error().message.c_str());
    CHECK(st.error().code == EADDRINUSE);
    auto after = c.get();
    CHECK(after.ok());
    CHECK(same_config(*before, *after));
    std::printf("selftest: failed apply left the device unchanged: ok\n");
  }
  // 5. Invalid update: rejected before anything is sent.
  {
    auto before = c.get();
    CHECK(before.ok());
    DeviceUpdate u;
    u.replace_peers = true;
    PeerUpdate p;
    p.public_key = test_key(4242);
    p.protocol_version = 2;
    u.peers.push_back(p);
    auto st = c.apply(u);
    CHECK(!st.ok() && st.error().code == EINVAL);
    auto after = c.get();
    CHECK(after.ok() && same_config(*before, *after));
    std::printf("selftest: invalid update rejected, nothing changed: ok\n");
  }
  return 0;
}

// An owned kernel interface: created with its MTU, gone with its owner unless kept.
int lifecycle(const std::string& ifname) {
  InterfaceOptions o;
  o.name = ifname;
  o.backend = BackendChoice::kKernel;
  o.mtu = 1380;
  {
    auto k = Interface::create(o);
    if (!k) return fail(k.error().message);
    if ((*k)->backend().backend != BackendChoice::kKernel) return fail("not on the kernel backend");
    if (!(*k)->alive() || !netlink::is_kernel_wireguard(ifname)) return fail("no kernel link after create");
    if (mtu_of(ifname) != 1380) return fail("MTU " + std::to_string(mtu_of(ifname)) + ", expected 1380");
    if (auto st = (*k)->set_mtu(1300); !st || mtu_of(ifname) != 1300) return fail("set_mtu(1300)");
    if (auto st = (*k)->control().apply(DeviceUpdate{}); !st) return fail("apply: " + st.error().message);
  }
  if (netlink::is_kernel_wireguard(ifname)) return fail("the link outlived its Interface");
  {
    auto k = Interface::create(o);
    if (!k) return fail(k.error().message);
    if (auto st = (*k)->keep(); !st) return fail("keep: " + st.error().message);
  }
  if (!netlink::is_kernel_wireguard(ifname)) return fail("a kept link was deleted");
  if (auto st = delete_interface(ifname); !st) return fail("delete_interface: " + st.error().message);
  if (netlink::is_kernel_wireguard(ifname)) return fail("delete_interface left the link");
  std::printf("lifecycle: created with MTU 1380, set_mtu, removed with its owner, kept, deleted: ok\n");
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr,
                 "usage: kernel_backend_test create|delete|lifecycle|set|dump|get|is-kernel|selftest IFACE\n"
                 "       kernel_backend_test available\n");
    return 2;
  }
  std::string cmd = argv[1];
  if (cmd == "available") {
    auto st = netlink::kernel_module_available();
    if (!st) return fail(st.error().message);
    std::puts("available");
    return 0;
  }
  if (argc < 3) return fail("missing IFACE");
  std::string ifname = argv[2];
  // create/delete go through the public way every program of ours uses (wgcore/interface.hpp).
  if (cmd == "create") {
    InterfaceOptions o;
    o.name = ifname;
    o.backend = BackendChoice::kKernel;
    auto k = Interface::create(o);
    if (!k) return fail(k.error().message);
    if (auto st = (*k)->keep(); !st) return fail(st.error().message);
    return 0;
  }
  if (cmd == "delete") {
    auto st = delete_interface(ifname);
    return st ? 0 : fail(st.error().message);
  }
  if (cmd == "lifecycle") return lifecycle(ifname);
  if (cmd == "is-kernel") return netlink::is_kernel_wireguard(ifname) ? 0 : 1;
  if (cmd == "selftest") return selftest(ifname);
  // The rest go through wgcore::open_interface, so they exercise the netlink-first lookup.
  auto ctl = open_interface(ifname);
  if (!ctl) return fail(ctl.error().message);
  if (cmd == "set") {  // UAPI `set` body on stdin
    std::string body((std::istreambuf_iterator<char>(std::cin)), std::istreambuf_iterator<char>());
    auto u = uapi::parse_set(body);
    if (!u) return fail("parsing stdin: " + u.error().message);
    auto st = (*ctl)->apply(*u);
    if (!st) return fail(st.error().message);
    return 0;
  }
  if (cmd == "dump" || cmd == "get") {
    auto s = (*ctl)->get();
    if (!s) return fail(s.error().message);
    std::fputs((cmd == "dump" ? dump_text(*s) : uapi::format_get(*s)).c_str(), stdout);
    return 0;
  }
  if (cmd == "backend") {
    std::puts((*ctl)->backend().c_str());
    return 0;
  }
  return fail("unknown command " + cmd);
}
