// Privilege drop for wgcored once the TUN is open, the UDP sockets are bound and the UAPI socket
// listens: no_new_privs, optionally another user and group, and only the capabilities the
// running daemon still uses. Capabilities belong to threads, and the device's threads exist
// by then, so every thread of the process is changed, not only the caller.
#pragma once

#include <sys/types.h>

#include <optional>
#include <string>

namespace wgcored {

struct PrivilegeOptions {
  std::optional<uid_t> uid;  // --user: switch to this user (and its primary group)
  std::optional<gid_t> gid;  // --group: overrides the user's primary group
  // --drop-all-caps: keep nothing, not even CAP_NET_ADMIN and CAP_NET_BIND_SERVICE (then a
  // fwmark, a port below 1024 and the FORCE socket-buffer sizes fail with EPERM).
  bool drop_all_caps = false;
};

// Parses a user name or numeric uid; sets the user's primary group in `gid` when it has one.
// Returns an error message, empty on success.
std::string parse_user(const std::string& spec, uid_t& uid, std::optional<gid_t>& gid);
std::string parse_group(const std::string& spec, gid_t& gid);

// Applies the drop to every thread of the process. Keeps CAP_NET_ADMIN and CAP_NET_BIND_SERVICE
// in the effective and permitted sets unless drop_all_caps or the process never had them
// (runtime reconfiguration: fwmark, ports below 1024); clears everything else,
// including the bounding, inheritable and ambient sets where the process may. Returns an error
// message, empty on success; on error the process must not go on serving.
std::string drop_privileges(const PrivilegeOptions& opts);

// The socket directory's contract: created with mode 0700 when missing; an existing directory
// owned by us is tightened to 0700; one owned by somebody else is left alone, but refused if
// others may write to it. Returns an error message, empty on success.
std::string prepare_socket_dir(const std::string& dir);

}  // namespace wgcored
