// Backend policy (ARCHITECTURE.md "auto | userspace | kernel"): which implementation serves a new
// interface, and why. auto prefers the userspace datapath and falls back to the kernel module
// when TUN cannot be used; neither being possible is an error naming both reasons.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "wgcore/result.hpp"

namespace wgcore {

enum class BackendChoice { kAuto, kUserspace, kKernel };

std::optional<BackendChoice> parse_backend_choice(std::string_view s);  // "auto" ...
const char* backend_choice_name(BackendChoice c);

struct BackendDecision {
  BackendChoice backend = BackendChoice::kUserspace;  // never kAuto
  std::string reason;                                 // one line for logs and `wgcore backend`
};

// The two availability checks, injectable for tests. Defaults: io::TunDevice::available() and
// netlink::kernel_module_available().
struct BackendProbes {
  std::function<Status()> userspace;
  std::function<Status()> kernel;
  static BackendProbes system();
};

// Decides the backend for a new interface and logs the choice and reason (log::verbose). An
// explicitly requested backend that is unavailable is an error too, with its reason.
Result<BackendDecision> choose_backend(BackendChoice requested,
                                       const BackendProbes& probes = BackendProbes::system());

// Which backend serves an existing interface, and how we know (kernel link over netlink, or a
// UAPI socket); an error when nothing serves it.
Result<BackendDecision> serving_backend(const std::string& iface);

}  // namespace wgcore
