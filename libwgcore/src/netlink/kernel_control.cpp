// KernelControl and the kernel.hpp entry points that need the wireguard genl family.
#include "netlink/kernel_control.hpp"

#include <linux/netlink.h>

#include "netlink/kernel.hpp"

namespace wgcore::netlink {
namespace {

// A dump that raced with a change is retried; after this many tries the device is changing
// faster than we can read it.
constexpr int kDumpAttempts = 10;

Error with_context(const Error& e, const std::string& context) {
  return make_error(e.code, context + ": " + e.message);
}

}  // namespace

Result<std::unique_ptr<KernelControl>> KernelControl::open(const std::string& ifname) {
  auto sock = NlSocket::connect(NETLINK_GENERIC);
  if (!sock) return sock.error();
  auto family = sock->resolve_family(wg::kFamilyName);
  if (!family) return with_context(family.error(), "kernel WireGuard is not available");
  std::unique_ptr<KernelControl> c(new KernelControl(ifname, std::move(*sock), *family));
  return c;
}

Result<DeviceState> KernelControl::get() {
  for (int attempt = 0; attempt < kDumpAttempts; ++attempt) {
    DumpParser parser;
    auto st = sock_.exchange(encode_get_request(family_, ifname_),
                             [&](ByteView m) { return parser.add(m); });
    if (!st) {
      if (st.error().code == ENODEV)
        return make_error(ENODEV, "Unable to access interface " + ifname_ + ": No such device");
      if (st.error().code == EOPNOTSUPP)
        return make_error(EOPNOTSUPP, ifname_ + " is not a kernel WireGuard interface");
      return with_context(st.error(), "reading " + ifname_);
    }
    if (parser.interrupted()) continue;
    DeviceState s = parser.take();
    if (s.name.empty()) s.name = ifname_;
    return s;
  }
  return make_error(EAGAIN, "reading " + ifname_ + ": the device kept changing during the dump");
}

const KernelCaps& KernelControl::caps() {
  if (!caps_) {
    std::vector<Bytes> msgs;
    auto st = sock_.exchange(encode_getpolicy_request(family_), [&](ByteView m) {
      msgs.emplace_back(m.begin(), m.end());
      return Status{};
    });
    // No policy dump (Linux < 5.7) means no flags either.
    caps_ = st ? parse_caps_from_policy(msgs) : KernelCaps{};
  }
  return *caps_;
}

Status KernelControl::send_plan(const SetPlan& plan, std::size_t* sent, std::size_t* total) {
  auto msgs = encode_set(plan, family_, ifname_, limit_);
  if (!msgs) return msgs.error();
  *total = msgs->size();
  *sent = 0;
  for (auto& m : *msgs) {
    if (auto st = sock_.exchange(std::move(m), [](ByteView) { return Status{}; }); !st)
      return st;
    ++*sent;
  }
  return {};
}

Status KernelControl::apply(const DeviceUpdate& update) {
  auto before = get();
  if (!before) return before.error();
  auto plan = plan_set(*before, update, caps());
  if (!plan) return with_context(plan.error(), ifname_);
  std::size_t sent = 0, total = 0;
  auto st = send_plan(*plan, &sent, &total);
  if (st) return {};
  // The kernel applies each message, and each peer inside one, as it goes: put the old
  // configuration back so a failed apply changes nothing (what Control promises).
  std::string what = ifname_ + ": the kernel rejected the update (message " +
                     std::to_string(sent + 1) + " of " + std::to_string(total) +
                     "): " + st.error().message;
  if (sent == 0 && total == 0) return make_error(st.error().code, what);
  std::size_t rsent = 0, rtotal = 0;
  auto rs = send_plan(plan_restore(*before, *plan), &rsent, &rtotal);
  if (!rs)
    return make_error(st.error().code,
                      what + "; restoring the previous configuration failed too: " +
                          rs.error().message);
  return make_error(st.error().code, what + "; the previous configuration was restored");
}

Status kernel_module_available() {
  auto sock = NlSocket::connect(NETLINK_GENERIC);
  if (!sock) return sock.error();
  auto family = sock->resolve_family(wg::kFamilyName);
  if (!family) {
    if (family.error().code == ENOENT)
      return make_error(ENOENT,
                        "the kernel has no WireGuard support (module wireguard not loaded and "
                        "not loadable)");
    return with_context(family.error(), "probing kernel WireGuard");
  }
  return {};
}

Result<std::unique_ptr<Control>> open_kernel(const std::string& ifname) {
  if (!is_kernel_wireguard(ifname))
    return make_error(ENODEV, ifname + " is not a kernel WireGuard interface");
  auto c = KernelControl::open(ifname);
  if (!c) return c.error();
  return std::unique_ptr<Control>(std::move(*c));
}

}  // namespace wgcore::netlink
