// The text of the cross-platform WireGuard UAPI (wireguard.com/xplatform): parsing and formatting
// the bodies of `set=1` and `get=1`, byte for byte as wireguard-go speaks them and stock `wg`
// reads them. No I/O here; uapi_server and uapi_client move the bytes.
#pragma once

#include <cerrno>
#include <cstddef>
#include <string>
#include <string_view>

#include "wgcore/config.hpp"
#include "wgcore/result.hpp"

namespace wgcore::uapi {

// The errno values wireguard-go answers with (ipc/uapi_unix.go), as positive codes; the wire
// carries them negated ("errno=-22"), which is what `wg` expects: it negates the number back
// and treats any value >= 0 as success.
inline constexpr int kErrIo = EIO;             // reading or writing the request failed
inline constexpr int kErrProtocol = EPROTO;    // a line without '='
inline constexpr int kErrInvalid = EINVAL;     // unknown key or bad value
inline constexpr int kErrPortInUse = EADDRINUSE;  // listen_port / fwmark could not be applied
inline constexpr int kErrUnknown = 55;         // ENOANO: any other failure

// Parses the body of a set operation: the lines after "set=1\n", up to (not including) the
// blank line that ends the request. A final line without '\n' is accepted, and one trailing '\r'
// per line is dropped, as wireguard-go's line scanner does; an empty line ends the body early.
// Errors carry kErrProtocol or kErrInvalid and a message such as "line 3: invalid public_key
// value"; lines are numbered from 1 = the first line after "set=1".
//
// Normalisations (none changes the effect of the request):
//  - device keys (private_key, listen_port, fwmark, replace_peers) may repeat; the last wins;
//  - in a peer block, remove=true discards every other setting of that block (the lines after
//    it are still validated), so the update carries only the removal: this is the kernel's
//    and `wg`'s model. (wireguard-go would apply allowed_ip lines that precede remove=true
//    before removing the peer, which can take prefixes from other peers; nothing sends that.)
//  - allowed_ip=PREFIX is AllowedIpOp::kAdd, allowed_ip=-PREFIX is kRemove (newer wg and
//    wireguard-go), replace_allowed_ips=true is kReplaceAll, all in line order. Prefixes are
//    kept as written; apply_update clears host bits.
Result<DeviceUpdate> parse_set(std::string_view body);

// The body of a set operation for `update`, each line ending in '\n', in the order `wg` writes
// them; without "set=1\n" and without the terminating blank line. A peer with remove=true is
// written as its public_key and remove=true only. parse_set(format_set(u)) == u for any update
// parse_set can produce.
std::string format_set(const DeviceUpdate& update);

// The body of a get answer for `state`, exactly as wireguard-go writes it (device/uapi.go):
//   private_key (if set), listen_port (if not 0), fwmark (if not 0), then per peer:
//   public_key, preshared_key (64 zeros when none), protocol_version=1, endpoint (if set),
//   last_handshake_time_sec, last_handshake_time_nsec, tx_bytes, rx_bytes,
//   persistent_keepalive_interval, allowed_ip (one line each, in order).
// Keys are lowercase hex. The caller (the server) appends "errno=0\n\n". DeviceState::name and
// public_key are not part of the protocol and are not written.
std::string format_get(const DeviceState& state);

// Prefix of wgcore's extension keys in a get answer: one "wgcore_drop_REASON=N" line per
// non-zero drop counter, device-wide before the first peer and per peer inside its block.
inline constexpr std::string_view kDropKeyPrefix = "wgcore_drop_";

// Parses a get answer: the body, optionally followed by an "errno=N" line and the blank line
// that ends the answer. A non-zero errno becomes an error with code -N. The device public key
// is derived from the private key (as `wg` does); name is left empty for the caller to fill.
// Unknown keys are skipped, as `wg` skips them, so daemons with extensions can still be read;
// known keys with bad values, peer keys before any public_key, device keys inside a peer and
// anything after the errno line are errors. parse_get(format_get(s)) == s for any state whose
// optional fields are normalised (no all-zero preshared key, public_key derived, name empty).
Result<DeviceState> parse_get(std::string_view text);

// The exact status line pair the server writes after a request: "errno=0\n\n" for success,
// "errno=-N\n\n" for an error with code N.
std::string format_errno(int positive_code);

}  // namespace wgcore::uapi
