// The Control API for any userspace WireGuard daemon behind a UAPI socket (wireguard-go,
// boringtun, wgcored): one connection per call, the same requests stock `wg` sends.
#pragma once

#include <chrono>
#include <string>
#include <string_view>
#include <vector>

#include "common/secure_string.hpp"
#include "uapi/uapi_server.hpp"
#include "wgcore/control.hpp"

namespace wgcore::uapi {

class UapiClient : public Control {
 public:
  // socket_path: e.g. "/var/run/wireguard/wg0.sock". The interface name reported in get()
  // is the file name without ".sock".
  explicit UapiClient(std::string socket_path,
                      std::chrono::milliseconds timeout = std::chrono::seconds(30));
  static UapiClient for_interface(const std::string& iface,
                                  const std::string& dir = kDefaultSocketDir);

  // Sends "get=1\n\n" and parses the answer. Connection errors keep their errno (ENOENT when
  // no daemon serves the interface); a daemon's errno=-N becomes code N.
  Result<DeviceState> get() override;
  // Sends "set=1\n" + format_set(update) + "\n"; the daemon's errno=-N becomes code N.
  Status apply(const DeviceUpdate& update) override;
  std::string backend() const override { return "uapi:" + path_; }

  const std::string& path() const { return path_; }

 private:
  // One request/answer exchange: the answer up to and including the blank line.
  // Request and answer may hold keys in hex: the answer comes in a zeroing string.
  Result<SecretString> exchange(std::string_view request);

  std::string path_;
  std::string name_;
  std::chrono::milliseconds timeout_;
};

// Interfaces with a live UAPI socket in dir, sorted: every DIR/NAME.sock that is a socket and
// accepts a connection (stale sockets are skipped, not removed). Empty if dir does not exist.
std::vector<std::string> uapi_list_interfaces(const std::string& dir = kDefaultSocketDir);

}  // namespace wgcore::uapi
