// Creating and removing interfaces; see wgcore/interface.hpp.
#include "wgcore/interface.hpp"

#include "device/device.hpp"
#include "linux/tun.hpp"
#include "netlink/kernel.hpp"
#include "uapi/uapi_server.hpp"

namespace wgcore {

Status delete_interface(const std::string& name) {
  if (netlink::is_kernel_wireguard(name)) return netlink::delete_link(name);
  // A userspace daemon's TUN: only when a daemon answers on its socket, so that a typo cannot
  // delete some other link of the same name.
  if (uapi_socket_state(name) == UapiSocketState::kLive) return netlink::delete_link(name, netlink::LinkKind::kAny);
  return make_error(ENODEV, name + " is not a WireGuard interface (no kernel WireGuard link, no daemon on " +
                                std::string(kUapiSocketDir) + "/" + name + ".sock)");
}

Status set_interface_mtu(const std::string& name, unsigned mtu) {
  if (mtu < 576 || mtu > 65535)  // what the kernel accepts for an interface carrying IPv4
    return make_error(EINVAL, "MTU " + std::to_string(mtu) + " of " + name + " is outside 576..65535");
  return io::set_interface_mtu(name, int(mtu));
}

namespace {

// The Device's loop thread as the UAPI server's host: small set requests are answered there.
class DeviceHost final : public uapi::UapiHost {
 public:
  explicit DeviceHost(Device& d) : d_(d) {}
  void run_on_host(const std::function<void()>& fn) override { d_.run_on_loop(fn); }
  Status watch(int fd, std::function<void()> on_readable) override { return d_.watch(fd, std::move(on_readable)); }
  void unwatch(int fd) override { d_.unwatch(fd); }
  std::optional<Status> try_apply_now(const DeviceUpdate& u) override { return d_.try_apply_now(u); }

 private:
  Device& d_;
};

// The userspace backend: the Device in this process, served on its UAPI socket.
class UserspaceInterface final : public Interface {
 public:
  UserspaceInterface(BackendDecision d, std::unique_ptr<Device> dev)
      : decision_(std::move(d)), device_(std::move(dev)), host_(*device_) {}
  ~UserspaceInterface() override {
    uapi_.reset();    // stops serving and removes the socket first: no client sees a half-gone device
    device_.reset();  // closes the TUN: the kernel deletes the interface and its routes
  }
  Status serve(const InterfaceOptions& opts) {
    if (opts.uapi == InterfaceOptions::Uapi::kNone) return {};
    auto server = uapi::UapiServer::listen(device_->name(), *device_, opts.uapi_dir, &host_);
    if (server) {
      uapi_ = std::move(*server);
      return {};
    }
    std::string msg = "no UAPI socket for " + device_->name() + " (`wg` will not see it): " + server.error().message;
    if (opts.uapi == InterfaceOptions::Uapi::kRequired) return make_error(server.error().code, msg);
    uapi_warning_ = msg;
    return {};
  }
  Control& control() override { return *device_; }
  const std::string& name() const override { return device_->name(); }
  const BackendDecision& backend() const override { return decision_; }
  bool alive() const override { return device_->running(); }
  Status set_mtu(unsigned mtu) override { return set_interface_mtu(name(), mtu); }
  const std::string& uapi_warning() const override { return uapi_warning_; }
  Status keep() override {
    return make_error(EOPNOTSUPP, "a userspace interface ends with the process that serves it (run wgcored to keep one)");
  }

 private:
  BackendDecision decision_;
  std::unique_ptr<Device> device_;
  DeviceHost host_;
  std::unique_ptr<uapi::UapiServer> uapi_;
  std::string uapi_warning_;
};

// The kernel backend: a link of kind wireguard, driven over generic netlink.
class KernelInterface final : public Interface {
 public:
  KernelInterface(BackendDecision d, std::string name) : decision_(std::move(d)), name_(std::move(name)) {}
  ~KernelInterface() override {
    control_.reset();
    if (!kept_) (void)netlink::delete_link(name_);  // ENODEV when someone deleted it already
  }
  Status open() {
    auto ctl = netlink::open_kernel(name_);
    if (!ctl) return ctl.error();
    control_ = std::move(*ctl);
    return {};
  }
  Control& control() override { return *control_; }
  const std::string& name() const override { return name_; }
  const BackendDecision& backend() const override { return decision_; }
  bool alive() const override { return netlink::is_kernel_wireguard(name_); }
  Status set_mtu(unsigned mtu) override { return set_interface_mtu(name_, mtu); }
  const std::string& uapi_warning() const override { return no_warning_; }
  Status keep() override {
    kept_ = true;
    return {};
  }

 private:
  BackendDecision decision_;
  std::string name_;
  std::unique_ptr<Control> control_;
  bool kept_ = false;
  std::string no_warning_;
};

}  // namespace

Result<std::unique_ptr<Interface>> Interface::create(const InterfaceOptions& opts) {
  // An explicit userspace request is simply tried: the availability probe wants CAP_NET_ADMIN,
  // which a persistent TUN owned by an unprivileged user does not need (wgcored --user).
  auto decision = opts.backend == BackendChoice::kUserspace
                      ? Result<BackendDecision>(BackendDecision{BackendChoice::kUserspace, "userspace: requested"})
                      : choose_backend(opts.backend);
  if (!decision) return decision.error();
  if (decision->backend == BackendChoice::kKernel) {
    if (Status st = netlink::create_link(opts.name); !st)
      return make_error(st.error().code, "creating kernel WireGuard interface " + opts.name + ": " + st.error().message);
    // From here the object owns the link: an early return deletes it.
    auto k = std::make_unique<KernelInterface>(*decision, opts.name);
    if (Status st = k->open(); !st) return st.error();
    if (Status st = k->set_mtu(opts.mtu); !st) return st.error();
    return std::unique_ptr<Interface>(std::move(k));
  }
  DeviceOptions dopts;
  dopts.name = opts.name;
  dopts.mtu = int(opts.mtu);
  dopts.on_failed = opts.on_gone;
  auto dev = Device::create(dopts);
  if (!dev) return make_error(dev.error().code, "creating TUN interface " + opts.name + ": " + dev.error().message);
  auto u = std::make_unique<UserspaceInterface>(*decision, std::move(*dev));
  if (Status st = u->serve(opts); !st) return st.error();
  return std::unique_ptr<Interface>(std::move(u));
}

}  // namespace wgcore
