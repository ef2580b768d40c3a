// Small helpers the UAPI client and server share for AF_UNIX sockets and errno-based errors.
#pragma once

#include <sys/un.h>

#include <cstring>
#include <string>

#include "wgcore/result.hpp"

namespace wgcore::uapi {

// An Error whose message names what failed and the system's reason.
inline Error sys_error(int code, const std::string& what) {
  return make_error(code, what + ": " + std::strerror(code));
}

// Fills a sockaddr_un for `path`; false when the path does not fit sun_path.
inline bool fill_addr(sockaddr_un& addr, const std::string& path) {
  std::memset(&addr, 0, sizeof addr);
  addr.sun_family = AF_UNIX;
  if (path.size() >= sizeof addr.sun_path) return false;
  std::memcpy(addr.sun_path, path.data(), path.size());
  return true;
}

}  // namespace wgcore::uapi
