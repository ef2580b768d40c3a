// The "wireguard" generic netlink protocol as pure functions over byte buffers: turning a
// DeviceUpdate into WG_CMD_SET_DEVICE messages (split the way the kernel and `wg` expect) and
// WG_CMD_GET_DEVICE dump messages back into a DeviceState. No sockets here; see kernel_control.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "wgcore/config.hpp"
#include "wgcore/result.hpp"

namespace wgcore::netlink {

using Bytes = std::vector<std::uint8_t>;
using ByteView = std::span<const std::uint8_t>;

// Constants of include/uapi/linux/wireguard.h, spelled out here because Debian 12's copy of the
// header predates the per-allowed-IP flags (Linux 6.17).
namespace wg {
inline constexpr char kFamilyName[] = "wireguard";
inline constexpr std::uint8_t kGenlVersion = 1;
enum Cmd : std::uint8_t { kCmdGetDevice = 0, kCmdSetDevice = 1 };
enum DeviceAttr : std::uint16_t {
  kDeviceIfindex = 1, kDeviceIfname, kDevicePrivateKey, kDevicePublicKey, kDeviceFlags,
  kDeviceListenPort, kDeviceFwmark, kDevicePeers,
};
inline constexpr std::uint32_t kDeviceFReplacePeers = 1u << 0;
enum PeerAttr : std::uint16_t {
  kPeerPublicKey = 1, kPeerPresharedKey, kPeerFlags, kPeerEndpoint,
  kPeerPersistentKeepalive, kPeerLastHandshakeTime, kPeerRxBytes, kPeerTxBytes,
  kPeerAllowedIps, kPeerProtocolVersion,
};
inline constexpr std::uint32_t kPeerFRemoveMe = 1u << 0;
inline constexpr std::uint32_t kPeerFReplaceAllowedIps = 1u << 1;
inline constexpr std::uint32_t kPeerFUpdateOnly = 1u << 2;
enum AllowedIpAttr : std::uint16_t {
  kAllowedIpFamily = 1, kAllowedIpAddr, kAllowedIpCidrMask, kAllowedIpFlags,
};
inline constexpr std::uint32_t kAllowedIpFRemoveMe = 1u << 0;
}  // namespace wg

// `wg` sizes every SET_DEVICE message to libmnl's ideal socket buffer (a 4 KiB page); the
// kernel accepts larger ones, but the same limit keeps our bytes identical to wg's.
inline constexpr std::size_t kDefaultMessageLimit = 4096;

// What the running kernel's wireguard family understands beyond the 5.6 baseline.
struct KernelCaps {
  bool allowedip_remove = false;  // WGALLOWEDIP_A_FLAGS / WGALLOWEDIP_F_REMOVE_ME
};

// One peer entry of a SET_DEVICE message, in the kernel's terms.
struct NlAllowedIp {
  IpPrefix prefix;
  bool remove = false;  // sent as WGALLOWEDIP_F_REMOVE_ME
  friend bool operator==(const NlAllowedIp&, const NlAllowedIp&) = default;
};
struct NlPeer {
  Key public_key;
  std::uint32_t flags = 0;           // wg::kPeerF*
  std::optional<Key> preshared_key;  // all zero clears
  std::optional<Endpoint> endpoint;
  std::optional<std::uint16_t> persistent_keepalive_interval;
  std::vector<NlAllowedIp> allowed_ips;
  friend bool operator==(const NlPeer&, const NlPeer&) = default;
};
// A whole set, before it is cut into messages.
struct SetPlan {
  std::optional<Key> private_key;  // all zero removes the key
  std::optional<std::uint16_t> listen_port;
  std::optional<std::uint32_t> fwmark;
  bool replace_peers = false;
  std::vector<NlPeer> peers;  // in order; one key may appear in several entries
  friend bool operator==(const SetPlan&, const SetPlan&) = default;
};

// Validates `update` against `current` (apply_update's rules: a bad update is rejected before
// anything is sent) and translates its ordered operations into kernel peer entries: each
// kReplaceAll starts a new entry for the same key with WGPEER_F_REPLACE_ALLOWEDIPS, so the
// interleaving of adds and clears is kept exactly; the update_only flag is repeated on every
// entry so a skipped peer is not created by a later one.
// kRemove of one allowed IP uses WGALLOWEDIP_F_REMOVE_ME when caps.allowedip_remove; on older
// kernels (6.1 rejects the unknown attribute) it is EMULATED: the block's adds are still sent
// (they may take prefixes from other peers), followed by one entry that replaces the peer's list
// with what apply_update computed for it after that block. The result is the same state.
Result<SetPlan> plan_set(const DeviceState& current, const DeviceUpdate& update,
                         const KernelCaps& caps);

// The plan that puts `before` back after a failed set of `plan` (best effort: the kernel applies
// each message, and even each peer, as it goes). Peers the plan may have created are removed;
// every peer of `before` gets its configuration back with REPLACE_ALLOWEDIPS (no REPLACE_PEERS,
// so untouched peers keep their sessions). An endpoint cannot be unset over netlink.
SetPlan plan_restore(const DeviceState& before, const SetPlan& plan);

// Encodes `plan` into WG_CMD_SET_DEVICE messages (NLM_F_REQUEST | NLM_F_ACK; sequence number
// and port id zero, the sender fills them in), each at most `limit` bytes. Device attributes go
// in the first message only; when a peer's allowed IPs do not fit, the next message continues
// the peer with its key, its REMOVE_ME / UPDATE_ONLY flags and the remaining allowed IPs (the
// layout of wireguard-tools' ipc-linux.h, so our bytes match `wg set`).
Result<std::vector<Bytes>> encode_set(const SetPlan& plan, std::uint16_t family_id,
                                      const std::string& ifname,
                                      std::size_t limit = kDefaultMessageLimit);

// One decoded SET_DEVICE message (for tests and debugging): the plan fragment it carries.
struct DecodedSet {
  std::string ifname;
  SetPlan plan;
};
Result<DecodedSet> decode_set(ByteView message);

// WG_CMD_GET_DEVICE for `ifname` (NLM_F_REQUEST | NLM_F_ACK | NLM_F_DUMP).
Bytes encode_get_request(std::uint16_t family_id, const std::string& ifname);

// Builds a DeviceState from the messages of one GET_DEVICE dump, in order. A peer whose key
// equals the previous peer's continues it (the kernel splits a peer's allowed IPs across
// messages). Attributes unknown to this version are ignored; malformed ones are an EPROTO error.
class DumpParser {
 public:
  // One message, nlmsghdr included. NLMSG_DONE / NLMSG_NOOP are accepted and ignored.
  Status add(ByteView message);
  // True when a message carried NLM_F_DUMP_INTR: the device changed mid-dump; start over.
  bool interrupted() const { return interrupted_; }
  DeviceState take() { return std::move(state_); }

 private:
  Status add_peer(ByteView nest);
  DeviceState state_;
  bool interrupted_ = false;
};
Result<DeviceState> parse_get_dump(const std::vector<Bytes>& messages);

// CTRL_CMD_GETPOLICY dump request for a generic netlink family (Linux >= 5.7).
Bytes encode_getpolicy_request(std::uint16_t family_id);
// Reads the policy dump and reports whether the allowed-IP policy knows WGALLOWEDIP_A_FLAGS.
// The allowed-IP policy is recognized by its shape (attribute 3, CIDR_MASK, of type u8); a
// kernel that does not publish nested policies reads as "unsupported", which is safe: the
// removal is then emulated.
KernelCaps parse_caps_from_policy(const std::vector<Bytes>& messages);

// Splits a receive buffer into whole netlink messages (nlmsghdr included); EPROTO when a length
// is inconsistent.
Result<std::vector<ByteView>> split_messages(ByteView buffer);

}  // namespace wgcore::netlink
