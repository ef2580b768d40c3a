// A wgcore NetworkManager profile as plain maps (vpn.data and vpn.secrets), and its conversion to
// and from libwgcore's wg-quick model. No GLib here: the editor plugin, the service and the fuzz
// target share these rules, and nm_profile.hpp only copies maps in and out of NMSettingVpn.
// Key names: vpn_keys.hpp; the format is documented in docs/nm-plugin-profile.md.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "wgcore/wgquick.hpp"
#include "wgcore/result.hpp"

namespace wgcore::nm {

// NMSettingSecretFlags, as numbers (NM stores them in vpn.data as "<secret>-flags").
inline constexpr std::uint32_t kSecretFlagNone = 0;         // system-owned: NM stores it
inline constexpr std::uint32_t kSecretFlagAgentOwned = 1;   // a secret agent stores it
inline constexpr std::uint32_t kSecretFlagNotSaved = 2;     // asked for at every activation
inline constexpr std::uint32_t kSecretFlagNotRequired = 4;  // may be absent
inline constexpr std::uint32_t kSecretFlagsAll = 7;

struct Profile {
  std::map<std::string, std::string> data;     // vpn.data, including the "<secret>-flags" items
  std::map<std::string, std::string> secrets;  // vpn.secrets: private-key, peer.N.preshared-key
  friend bool operator==(const Profile&, const Profile&) = default;
};

// "peer.<index>.<key>", the vpn.data / vpn.secrets name of a per-peer item.
std::string peer_key(std::size_t index, std::string_view key);
// "<secret>-flags".
std::string flags_key(std::string_view secret);

// The profile of a parsed wg-quick file: private key and preshared keys go to secrets (never to
// data) with `secret_flags` as their flags (default system-owned, like NM's own WireGuard import).
// PreUp/PostUp/PreDown/PostDown and SaveConfig = true have no place in a profile: use
// import_wgquick, which refuses them with the file's line; here they are simply not copied.
Profile profile_from_wgquick(const config::WgQuickConfig& cfg,
                             std::uint32_t secret_flags = kSecretFlagNone);

// Parses wg-quick text (`file` names it in messages, "FILE:LINE: KEY: message") and builds its
// profile. Refuses what a profile cannot hold: PreUp, PostUp, PreDown, PostDown (NM runs no
// shell hooks) and SaveConfig = true (NM owns the profile; SaveConfig = false is the default and
// is accepted). FwMark is kept as written ("0x1234", "4660", "off") so export reproduces it.
Result<Profile> import_wgquick(std::string_view text, std::string_view file,
                               std::uint32_t secret_flags = kSecretFlagNone);

// What to do when a secret the profile declares (by its flags item or, for the private key,
// always) is not in `secrets`.
enum class MissingSecrets : std::uint8_t {
  kError,  // the service: connecting without the key would fail later and less clearly
  kOmit,   // export: an agent-owned or not-saved key is simply not written
};

// Validates every vpn.data and vpn.secrets item and builds the wg-quick model. Errors name the
// item: "vpn.data: peer.1.allowed-ips: 10.0.0.0/33 is not a prefix". Unknown keys are errors.
Result<config::WgQuickConfig> wgquick_from_profile(const Profile& profile,
                                                   MissingSecrets missing = MissingSecrets::kError);

// The wg-quick text of a profile (format_wgquick's canonical layout, with FwMark as the profile
// wrote it). Missing secrets are omitted. A "backend" other than auto is not representable in
// wg-quick and is dropped.
Result<std::string> export_wgquick(const Profile& profile);

// The datapath the profile asks for: "auto" (also when absent), "userspace" or "kernel".
Result<std::string> profile_backend(const Profile& profile);

// Secret flags of `secret` ("private-key", "peer.0.preshared-key"): the "<secret>-flags" item,
// 0 when absent; an error when it is not a number made of the known bits.
Result<std::uint32_t> secret_flags(const Profile& profile, std::string_view secret);

// Every secret the profile has or declares, in order: "private-key" (always: WireGuard needs
// one), then "peer.N.preshared-key" for each peer with that secret or its flags item, by N.
std::vector<std::string> declared_secrets(const Profile& profile);

// The secrets a connection still needs, for NM's need-secrets flow (the hint list): the private
// key and every preshared key the profile declares (a "peer.N.preshared-key-flags" item or the
// secret itself) whose value is absent or empty, unless its flags include NOT_REQUIRED.
std::vector<std::string> missing_secrets(const Profile& profile);

}  // namespace wgcore::nm
