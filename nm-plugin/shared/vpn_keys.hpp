// The names NetworkManager stores a wgcore VPN profile under: the D-Bus service, and the keys of
// vpn.data (non-secret settings) and vpn.secrets (private and preshared keys). Shared by the
// service (nm-wgcore-service), the editor plugin (import/export) and the tests; a key renamed
// here breaks saved profiles, so these are a stable interface.
#pragma once

namespace wgcore::nm {

inline constexpr const char* kServiceName = "org.freedesktop.NetworkManager.wgcore";
inline constexpr const char* kVpnType = "wgcore";  // `nmcli connection import type wgcore`

// vpn.data, [Interface]. Lists are comma-separated ("203.0.113.1/24,fd00:77::1/64"), in the
// order the file had them, so export reproduces the file.
inline constexpr const char* kKeyAddress = "address";
inline constexpr const char* kKeyDns = "dns";                // servers, then search domains
inline constexpr const char* kKeyMtu = "mtu";
inline constexpr const char* kKeyTable = "table";            // off | auto | number | name
inline constexpr const char* kKeyListenPort = "listen-port";
inline constexpr const char* kKeyFwmark = "fwmark";          // as written: "0x1234" or decimal
inline constexpr const char* kKeyBackend = "backend";        // auto | userspace | kernel
inline constexpr const char* kKeyPeerCount = "peers";        // number of [Peer] sections

// vpn.data, per peer: "peer.<N>.<key>" with N from 0 in file order.
inline constexpr const char* kPeerPrefix = "peer.";
inline constexpr const char* kPeerPublicKey = "public-key";
inline constexpr const char* kPeerAllowedIps = "allowed-ips";
inline constexpr const char* kPeerEndpoint = "endpoint";
inline constexpr const char* kPeerKeepalive = "persistent-keepalive";

// vpn.secrets. Their NM secret flags live in vpn.data as "<secret>-flags" (NM's convention):
// 0 system-owned, 1 agent-owned, 2 not-saved, 4 not-required.
inline constexpr const char* kSecretPrivateKey = "private-key";
inline constexpr const char* kPeerPresharedKey = "preshared-key";  // "peer.<N>.preshared-key"

}  // namespace wgcore::nm
