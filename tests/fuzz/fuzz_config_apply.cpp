// Fuzz target: a UAPI set body parsed with parse_set and applied with apply_update to a small
// fixed device, as wgcored does for every request. Beyond "no crash", the result must be a
// state the datapath can load: unique peers, none with the device's own key, canonical
// allowed IPs owned by exactly one peer; re-applying the update must change nothing; and the
// state must survive the get=1 text round trip.
#include <algorithm>
#include <set>
#include <string>
#include <utility>

#include "model/config_apply.hpp"
#include "core/crypto/x25519.hpp"
#include "fuzz_common.hpp"
#include "uapi/uapi_text.hpp"

using namespace wgcore;

namespace {

Key key_of(std::uint8_t fill) {
  Key k;
  for (std::size_t i = 0; i < k.size(); ++i) k[i] = std::uint8_t(fill + i);
  return k;
}

// The public key of key_of(1) comes from X25519 on first use; the peers' keys are arbitrary.
const DeviceState& initial_state() {
  static const DeviceState state = [] {
    DeviceState s;
    s.name = "wg0";
    Key priv = key_of(1);
    priv[0] &= 248;
    priv[31] = std::uint8_t((priv[31] & 127) | 64);
    Key pub;
    FUZZ_CHECK(crypto::x25519_public(pub, priv));
    s.private_key = priv;
    s.public_key = pub;
    s.listen_port = 51820;
    for (std::uint8_t i = 0; i < 3; ++i) {
      PeerState p;
      p.public_key = key_of(std::uint8_t(0x11 * (i + 1)));
      if (i == 1) p.preshared_key = key_of(0x77);
      p.endpoint = Endpoint::parse(i == 2 ? "[2001:db8::2]:51820" : "192.0.2.2:51820");
      p.allowed_ips.push_back(*IpPrefix::parse(i == 0 ? "10.0.0.0/24" : i == 1 ? "10.0.1.1/32"
                                                                               : "fd00::/64"));
      p.allowed_ips.push_back(*IpPrefix::parse(i == 0 ? "0.0.0.0/0" : i == 1 ? "10.0.2.0/23"
                                                                             : "::/0"));
      p.rx_bytes = 1000u * i;
      p.last_handshake_time_sec = 1748736000 + i;
      s.peers.push_back(std::move(p));
    }
    return s;
  }();
  return state;
}

void check_loadable(const DeviceState& s) {
  FUZZ_CHECK(s.public_key.has_value() == s.private_key.has_value());
  if (s.private_key) {
    Key pub;
    FUZZ_CHECK(crypto::x25519_public(pub, *s.private_key));
    FUZZ_CHECK(pub == *s.public_key);
  }
  std::set<std::string> keys;
  std::set<IpPrefix> prefixes;
  for (const auto& p : s.peers) {
    FUZZ_CHECK(keys.insert(to_hex(p.public_key)).second);
    if (s.public_key) FUZZ_CHECK(!(p.public_key == *s.public_key));
    FUZZ_CHECK(!p.preshared_key || !p.preshared_key->is_zero());
    FUZZ_CHECK(p.protocol_version == 1);
    if (p.endpoint) FUZZ_CHECK(p.endpoint->valid());
    for (const auto& a : p.allowed_ips) {
      FUZZ_CHECK(a.len <= a.addr.bits());
      FUZZ_CHECK(a.canonical() == a);
      FUZZ_CHECK(prefixes.insert(a).second);  // no prefix twice, in one peer or across peers
    }
  }
}

bool has_update_only(const DeviceUpdate& u) {
  return std::any_of(u.peers.begin(), u.peers.end(), [](const PeerUpdate& p) { return p.update_only; });
}

bool same_config(const DeviceState& a, const DeviceState& b) {
  if (!(a.private_key == b.private_key && a.public_key == b.public_key &&
        a.listen_port == b.listen_port && a.fwmark == b.fwmark && a.peers.size() == b.peers.size()))
    return false;
  for (std::size_t i = 0; i < a.peers.size(); ++i)
    if (!same_peer_config(a.peers[i], b.peers[i])) return false;
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  auto update = uapi::parse_set(fuzz::as_text(data, size));
  if (!update.ok()) return 0;
  const DeviceState& before = initial_state();
  auto after = apply_update(before, *update);
  if (!after.ok()) {
    FUZZ_CHECK(after.error().code > 0 && !after.error().message.empty());
    return 0;
  }
  check_loadable(*after);
  FUZZ_CHECK(after->name == before.name);

  // The diff names exactly the peers that appeared, vanished or changed.
  DeviceDiff d = diff_states(before, *after);
  auto find = [](const DeviceState& s, const Key& k) -> const PeerState* {
    for (const auto& p : s.peers)
      if (p.public_key == k) return &p;
    return nullptr;
  };
  for (const Key& k : d.peers_added) FUZZ_CHECK(!find(before, k) && find(*after, k));
  for (const Key& k : d.peers_removed) FUZZ_CHECK(find(before, k) && !find(*after, k));
  for (const Key& k : d.peers_changed) {
    const PeerState *p = find(before, k), *q = find(*after, k);
    FUZZ_CHECK(p && q && !same_peer_config(*p, *q));
  }
  std::size_t kept = 0;
  for (const auto& p : before.peers) kept += find(*after, p.public_key) != nullptr;
  FUZZ_CHECK(after->peers.size() == kept + d.peers_added.size());
  FUZZ_CHECK(diff_states(*after, *after).empty());

  // An empty update changes nothing; the same update again changes nothing more (except where
  // update_only blocks were skipped the first time because their peer did not exist yet).
  auto noop = apply_update(*after, DeviceUpdate{});
  FUZZ_CHECK(noop.ok() && *noop == *after);
  if (!has_update_only(*update)) {
    auto twice = apply_update(*after, *update);
    FUZZ_CHECK(twice.ok());
    FUZZ_CHECK(same_config(*twice, *after));
  }

  // What `wg show` would read back over the UAPI is the same state.
  DeviceState unnamed = *after;
  unnamed.name.clear();
  auto read_back = uapi::parse_get(uapi::format_get(unnamed));
  FUZZ_CHECK(read_back.ok());
  FUZZ_CHECK(*read_back == unnamed);
  return 0;
}
