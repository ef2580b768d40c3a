// Backend selection; see backend.hpp.
#include "wgcore/backend.hpp"

#include "wgcore/log.hpp"
#include "wgcore/interface.hpp"
#include "linux/tun.hpp"
#include "netlink/kernel.hpp"

namespace wgcore {

std::optional<BackendChoice> parse_backend_choice(std::string_view s) {
  if (s == "auto") return BackendChoice::kAuto;
  if (s == "userspace") return BackendChoice::kUserspace;
  if (s == "kernel") return BackendChoice::kKernel;
  return std::nullopt;
}

const char* backend_choice_name(BackendChoice c) {
  switch (c) {
    case BackendChoice::kAuto: return "auto";
    case BackendChoice::kUserspace: return "userspace";
    case BackendChoice::kKernel: return "kernel";
  }
  return "auto";
}

BackendProbes BackendProbes::system() {
  BackendProbes p;
  p.userspace = [] { return io::TunDevice::available(); };
  p.kernel = [] { return netlink::kernel_module_available(); };
  return p;
}

namespace {

Result<BackendDecision> decide(BackendChoice requested, const BackendProbes& probes) {
  Status user = requested == BackendChoice::kKernel ? Status() : probes.userspace();
  switch (requested) {
    case BackendChoice::kUserspace:
      if (!user) {
        return make_error(user.error().code,
                          "userspace backend requested but unavailable: " + user.error().message);
      }
      return BackendDecision{BackendChoice::kUserspace, "userspace: requested (/dev/net/tun is usable)"};
    case BackendChoice::kKernel: {
      Status kern = probes.kernel();
      if (!kern) {
        return make_error(kern.error().code,
                          "kernel backend requested but unavailable: " + kern.error().message);
      }
      return BackendDecision{BackendChoice::kKernel, "kernel: requested (the wireguard module is available)"};
    }
    case BackendChoice::kAuto:
      break;
  }
  if (user) return BackendDecision{BackendChoice::kUserspace, "userspace: auto, /dev/net/tun is usable"};
  Status kern = probes.kernel();
  if (kern) {
    return BackendDecision{BackendChoice::kKernel,
                           "kernel: auto, the userspace datapath cannot start (" +
                               user.error().message + "), the wireguard module is available"};
  }
  return make_error(ENODEV, "no WireGuard backend available: userspace: " + user.error().message +
                                "; kernel: " + kern.error().message);
}

}  // namespace

Result<BackendDecision> choose_backend(BackendChoice requested, const BackendProbes& probes) {
  auto d = decide(requested, probes);
  if (d) log::verbose("backend %s", d->reason.c_str());
  else log::error("%s", d.error().message.c_str());
  return d;
}

Result<BackendDecision> serving_backend(const std::string& iface) {
  if (netlink::is_kernel_wireguard(iface))
    return BackendDecision{BackendChoice::kKernel, "kernel: " + iface + " is a kernel WireGuard link"};
  auto ctl = open_interface(iface);
  if (!ctl) return ctl.error();
  std::string how = (*ctl)->backend();
  if (how == "kernel")
    return BackendDecision{BackendChoice::kKernel, "kernel: " + iface + " is a kernel WireGuard link"};
  return BackendDecision{BackendChoice::kUserspace,
                         "userspace: " + iface + " is served by a userspace daemon (" + how + ")"};
}

}  // namespace wgcore
