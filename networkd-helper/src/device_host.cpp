// Creating and removing served devices (see device_host.hpp).
#include "device_host.hpp"

#include "netlink/kernel.hpp"
#include "routing/link.hpp"

namespace wgcore::networkd {

Result<std::unique_ptr<DeviceHost>> DeviceHost::create(const std::string& name, unsigned mtu,
                                                       BackendChoice backend) {
  auto decision = choose_backend(backend);
  if (!decision) return decision.error();
  std::unique_ptr<DeviceHost> h(new DeviceHost());
  h->name_ = name;
  if (decision->backend == BackendChoice::kKernel) {
    if (Status st = netlink::create_link(name); !st) return st.error();
    h->kernel_ = true;
    auto ctl = netlink::open_kernel(name);
    if (!ctl) {
      (void)netlink::delete_link(name);
      return ctl.error();
    }
    h->kernel_ctl_ = std::move(*ctl);
    h->control_ = h->kernel_ctl_.get();
    if (Status st = h->set_mtu(mtu); !st) return st.error();
    return h;
  }
  DeviceOptions opts;
  opts.name = name;
  opts.mtu = int(mtu);
  auto dev = Device::create(opts);
  if (!dev) return dev.error();
  h->device_ = std::move(*dev);
  auto server = uapi::UapiServer::listen(name, *h->device_);
  if (!server) return server.error();
  h->uapi_ = std::move(*server);
  h->control_ = h->device_.get();
  return h;
}

DeviceHost::~DeviceHost() {
  uapi_.reset();
  device_.reset();
  if (kernel_) {
    kernel_ctl_.reset();
    (void)netlink::delete_link(name_);
  }
}

bool DeviceHost::alive() const {
  if (device_) return device_->running();
  return netlink::is_kernel_wireguard(name_);
}

Status DeviceHost::set_mtu(unsigned mtu) {
  auto nl = routing::Netlink::open();
  if (!nl) return nl.error();
  return routing::set_link_mtu(*nl, name_, mtu);
}

}  // namespace wgcore::networkd
