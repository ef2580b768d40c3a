// One WireGuard device the daemon serves: the in-process userspace device (TUN + engine) with
// its UAPI socket so `wg` sees it, or a kernel WireGuard link when the backend policy says so.
// Destroying it removes the interface.
#pragma once

#include <memory>
#include <string>

#include "control/backend.hpp"
#include "device/device.hpp"
#include "uapi/uapi_server.hpp"
#include "wgcore/control.hpp"

namespace wgcore::networkd {

class DeviceHost {
 public:
  // Creates interface `name` (MTU `mtu`) on the chosen backend (kAuto: choose_backend()).
  static Result<std::unique_ptr<DeviceHost>> create(const std::string& name, unsigned mtu,
                                                    BackendChoice backend);
  ~DeviceHost();

  Control& control() { return *control_; }
  const std::string& name() const { return name_; }
  const char* backend_name() const { return kernel_ ? "kernel" : "userspace"; }
  // False once the interface went away underneath us (e.g. `ip link del`).
  bool alive() const;
  Status set_mtu(unsigned mtu);

 private:
  DeviceHost() = default;
  std::string name_;
  bool kernel_ = false;
  std::unique_ptr<Device> device_;          // userspace
  std::unique_ptr<uapi::UapiServer> uapi_;  // userspace
  std::unique_ptr<Control> kernel_ctl_;     // kernel
  Control* control_ = nullptr;
};

}  // namespace wgcore::networkd
