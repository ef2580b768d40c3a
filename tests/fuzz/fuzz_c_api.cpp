// Fuzz target: the C ABI's datagram input (wgcore.h), as an application would feed it. Two
// tunnels on a manual clock, A configured with B, B admitting unknown initiators by a check that
// accepts every other one (so admission, refusal and configured peers are all reached). Each
// input is a list of records:
//   0: the payload as a datagram to B (from A's endpoint or another address);
//   1: the payload as an inner packet A sends (its datagrams, handshake included, go to B);
//   2: the payload as a datagram to A;
//   3: payload[0] seconds pass and both tunnels run their timers;
//   4: B's preshared key for A replaced with payload bytes.
// Whatever the tunnels emit is carried to the other side. Invariants checked: every call
// returns 0 (all inputs are well-formed calls; bad datagrams are counted drops, not errors),
// and B delivers only packets whose source is A's 10.0.0.1 or an admitted peer's range.
#include <arpa/inet.h>
#include <netinet/in.h>

#include <cstring>
#include <deque>
#include <vector>

#include "embed/test_peers.hpp"
#include "fuzz_common.hpp"
#include "wgcore.h"

namespace {

struct Side {
  std::deque<std::vector<std::uint8_t>> out;
  int admissions = 0;
};

void send_cb(void* user, const uint8_t*, const sockaddr*, socklen_t, const uint8_t* d, size_t n) {
  auto* s = static_cast<Side*>(user);
  if (s->out.size() < 64) s->out.emplace_back(d, d + n);
}
void deliver_a(void*, const uint8_t*, const uint8_t*, size_t) {}
void deliver_b(void*, const uint8_t*, const uint8_t* p, size_t n) {
  // Only sources B's AllowedIPs permit: A's 10.0.0.1, or 10.9.0.0/16 of admitted peers.
  FUZZ_CHECK(n >= 20);
  if ((p[0] >> 4) == 4) FUZZ_CHECK((p[12] == 10 && p[13] == 0 && p[14] == 0 && p[15] == 1) || (p[12] == 10 && p[13] == 9));
}
int admit_cb(void* user, const uint8_t*, const sockaddr*, socklen_t, wgcore_peer* peer) {
  static const char* allowed[] = {"10.9.0.0/16"};
  auto* s = static_cast<Side*>(user);
  if (++s->admissions % 2) return 0;
  peer->allowed_ips = allowed;
  peer->allowed_ips_len = 1;
  peer->replace_allowed_ips = 1;
  return 1;
}

sockaddr_in addr4(const char* ip) { return wgcore::embed_testing::addr4(ip, 51820); }

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static std::uint8_t priv_a[32], priv_b[32], pub_a[32], pub_b[32];
  static bool keys = false;
  if (!keys) {
    FUZZ_CHECK(wgcore_generate_private_key(priv_a) == 0 && wgcore_generate_private_key(priv_b) == 0);
    FUZZ_CHECK(wgcore_public_key(priv_a, pub_a) == 0 && wgcore_public_key(priv_b, pub_b) == 0);
    keys = true;
  }
  Side sa, sb;
  wgcore_callbacks ca{}, cb{};
  ca.size = cb.size = sizeof ca;
  ca.user = &sa;
  cb.user = &sb;
  ca.send_datagram = cb.send_datagram = send_cb;
  ca.deliver = deliver_a;
  cb.deliver = deliver_b;
  cb.admit = admit_cb;
  wgcore_tunnel_options oa{}, ob{};
  oa.size = ob.size = sizeof oa;
  oa.manual_time = ob.manual_time = 1;
  ob.admit_unknown = 1;
  wgcore_tunnel *a = nullptr, *b = nullptr;
  FUZZ_CHECK(wgcore_tunnel_new(priv_a, &ca, &oa, &a, nullptr) == 0);
  FUZZ_CHECK(wgcore_tunnel_new(priv_b, &cb, &ob, &b, nullptr) == 0);
  std::int64_t now = 1'000'000'000;
  const std::int64_t wall = 1'700'000'000'000'000'000;
  FUZZ_CHECK(wgcore_tunnel_set_time(a, now, wall + now, nullptr) == 0);
  FUZZ_CHECK(wgcore_tunnel_set_time(b, now, wall + now, nullptr) == 0);
  const sockaddr_in ep_a = addr4("192.0.2.1"), ep_b = addr4("192.0.2.2"), other = addr4("198.51.100.9");
  FUZZ_CHECK(wgcore::embed_testing::c_set_peer(a, pub_b, &ep_b, "10.0.0.0/24", nullptr) == 0);
  FUZZ_CHECK(wgcore::embed_testing::c_set_peer(b, pub_a, nullptr, "10.0.0.1/32", nullptr) == 0);

  auto carry = [&] {
    for (int round = 0; round < 8 && (!sa.out.empty() || !sb.out.empty()); ++round) {
      while (!sa.out.empty()) {
        auto d = std::move(sa.out.front());
        sa.out.pop_front();
        FUZZ_CHECK(wgcore_tunnel_receive(b, d.data(), d.size(), reinterpret_cast<const sockaddr*>(&ep_a), sizeof ep_a, nullptr) == 0);
      }
      while (!sb.out.empty()) {
        auto d = std::move(sb.out.front());
        sb.out.pop_front();
        FUZZ_CHECK(wgcore_tunnel_receive(a, d.data(), d.size(), reinterpret_cast<const sockaddr*>(&ep_b), sizeof ep_b, nullptr) == 0);
      }
    }
  };

  wgcore::fuzz::Reader r(data, size);
  for (int records = 0; records < 16 && !r.empty(); ++records) {
    const std::uint8_t kind = r.u8();
    const std::size_t len = r.u16() % 1600;
    auto bytes = r.bytes(len);
    std::vector<std::uint8_t> buf(bytes.begin(), bytes.end());
    switch (kind % 5) {
      case 0: {
        const sockaddr_in& from = (kind & 0x80) ? other : ep_a;
        FUZZ_CHECK(wgcore_tunnel_receive(b, buf.data(), buf.size(), reinterpret_cast<const sockaddr*>(&from), sizeof from, nullptr) == 0);
        break;
      }
      case 1:
        FUZZ_CHECK(wgcore_tunnel_send(a, buf.data(), buf.size(), nullptr) == 0);
        break;
      case 2:
        FUZZ_CHECK(wgcore_tunnel_receive(a, buf.data(), buf.size(), reinterpret_cast<const sockaddr*>(&ep_b), sizeof ep_b, nullptr) == 0);
        break;
      case 3:
        now += std::int64_t(buf.empty() ? 1 : buf[0]) * 1'000'000'000;
        FUZZ_CHECK(wgcore_tunnel_set_time(a, now, wall + now, nullptr) == 0);
        FUZZ_CHECK(wgcore_tunnel_set_time(b, now, wall + now, nullptr) == 0);
        FUZZ_CHECK(wgcore_tunnel_process(a, nullptr) == 0 && wgcore_tunnel_process(b, nullptr) == 0);
        break;
      case 4: {
        std::uint8_t psk[32] = {};
        if (!buf.empty()) std::memcpy(psk, buf.data(), std::min<std::size_t>(buf.size(), 32));  // data() may be null
        FUZZ_CHECK(wgcore_tunnel_set_preshared_key(b, pub_a, psk, nullptr) == 0);
        break;
      }
    }
    carry();
  }
  wgcore_tunnel_free(a);
  wgcore_tunnel_free(b);
  return 0;
}
