// WireGuard interfaces of this machine: finding what serves one the way `wg` does (a kernel
// WireGuard link over generic netlink first, then a UAPI socket under /var/run/wireguard, where
// userspace daemons such as wgcored and wireguard-go listen), and creating one on a chosen
// backend, owned by the caller, with its teardown. Every program of ours that brings up an
// interface (wgcored, `wgcore up`, the NetworkManager plugin, wgcore-networkd) does it here.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "wgcore/backend.hpp"
#include "wgcore/control.hpp"

namespace wgcore {

// The Control for `iface`, or an error naming what was tried.
Result<std::unique_ptr<Control>> open_interface(const std::string& iface);
// Every interface some backend serves, sorted.
std::vector<std::string> list_interfaces();

// Where stock `wg` looks for userspace daemons' sockets (DIR/IFACE.sock).
inline constexpr const char* kUapiSocketDir = "/var/run/wireguard";

// What DIR/IFACE.sock is: nothing; a socket a daemon answers on; a stale socket (connect is
// refused: whoever bound it is gone, e.g. killed with SIGKILL); or something else (a file, a
// directory, or a socket we cannot tell about). Names that could leave DIR are kOther.
enum class UapiSocketState { kAbsent, kLive, kStale, kOther };
UapiSocketState uapi_socket_state(const std::string& iface, const std::string& dir = kUapiSocketDir);
// Unlinks DIR/IFACE.sock if, and only if, it is stale. Returns whether it removed one.
bool remove_stale_uapi_socket(const std::string& iface, const std::string& dir = kUapiSocketDir);

// Deletes the network interface `name` whatever it is (a kernel WireGuard link, or the TUN of a
// userspace daemon, which then exits): `ip link delete dev NAME`. ENODEV when there is none.
Status delete_interface(const std::string& name);
// Sets the MTU of the network interface `name` (SIOCSIFMTU).
Status set_interface_mtu(const std::string& name, unsigned mtu);

struct InterfaceOptions {
  std::string name;                            // at most 15 bytes
  BackendChoice backend = BackendChoice::kAuto;
  unsigned mtu = 1420;                         // wireguard-go's default; wg-quick computes its own
  // The userspace device serves DIR/NAME.sock so that stock `wg` and `wg-quick` see it; without
  // it only this process can reach the device (control()). kBestEffort: a socket that cannot be
  // set up is a warning (uapi_warning()), not a failure.
  enum class Uapi { kRequired, kBestEffort, kNone };
  Uapi uapi = Uapi::kRequired;
  std::string uapi_dir = kUapiSocketDir;
  // Userspace backend: called (on the device's own thread) when the interface goes away
  // underneath its owner (`ip link del`, the TUN failing), so a daemon's loop can end at once
  // (post to it; do not destroy the Interface from inside). Not called after the owner's own
  // teardown, nor on the kernel backend (watch the link, or poll alive()).
  std::function<void()> on_gone;
};

// An interface this process created and owns: the in-process userspace device (TUN, UDP and
// the engine on their own threads, plus the UAPI socket), or a kernel WireGuard link. Destroying
// it removes the interface (and with it the kernel's routes and addresses on it), unless
// keep() was called.
class Interface {
 public:
  // Chooses the backend (choose_backend; kUserspace is tried without probing, so that a
  // persistent TUN the caller's user owns works without privileges), creates the interface and
  // sets its MTU. On error nothing is left behind.
  static Result<std::unique_ptr<Interface>> create(const InterfaceOptions& opts);
  virtual ~Interface() = default;

  // Reads and changes the interface's WireGuard configuration.
  virtual Control& control() = 0;
  virtual const std::string& name() const = 0;
  virtual const BackendDecision& backend() const = 0;
  // False once the interface is gone: deleted from outside (`ip link del`), or its device loop
  // stopped.
  virtual bool alive() const = 0;
  virtual Status set_mtu(unsigned mtu) = 0;
  // Why the UAPI socket could not be set up (Uapi::kBestEffort), else empty.
  virtual const std::string& uapi_warning() const = 0;
  // A kernel link outlives this object (as after `wg-quick up`). A userspace device cannot
  // outlive its process; for it this returns an error and changes nothing.
  virtual Status keep() = 0;
};

}  // namespace wgcore
