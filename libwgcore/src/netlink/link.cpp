// rtnetlink side of the kernel backend (libnl-route-3): links of kind "wireguard".
#include <linux/netlink.h>
#include <netlink/cache.h>
#include <netlink/route/link.h>

#include <algorithm>
#include <cstring>

#include "netlink/kernel.hpp"
#include "netlink/nl_socket.hpp"

namespace wgcore::netlink {
namespace {

struct LinkDeleter {
  void operator()(rtnl_link* l) const { rtnl_link_put(l); }
};
using LinkPtr = std::unique_ptr<rtnl_link, LinkDeleter>;

bool valid_ifname(const std::string& n) {
  return !n.empty() && n.size() < 16 && n.find('/') == std::string::npos &&
         n.find_first_of(" \t\n") == std::string::npos && n != "." && n != "..";
}

}  // namespace

bool is_kernel_wireguard(const std::string& ifname) {
  if (!valid_ifname(ifname)) return false;
  auto sock = NlSocket::connect(NETLINK_ROUTE);
  if (!sock) return false;
  rtnl_link* raw = nullptr;
  if (rtnl_link_get_kernel(sock->get(), 0, ifname.c_str(), &raw) < 0 || !raw) return false;
  LinkPtr link(raw);
  const char* kind = rtnl_link_get_type(link.get());
  return kind && std::strcmp(kind, "wireguard") == 0;
}

std::vector<std::string> list_kernel_interfaces() {
  std::vector<std::string> names;
  auto sock = NlSocket::connect(NETLINK_ROUTE);
  if (!sock) return names;
  nl_cache* cache = nullptr;
  if (rtnl_link_alloc_cache(sock->get(), AF_UNSPEC, &cache) < 0) return names;
  for (nl_object* o = nl_cache_get_first(cache); o; o = nl_cache_get_next(o)) {
    auto* link = reinterpret_cast<rtnl_link*>(o);
    const char* kind = rtnl_link_get_type(link);
    if (kind && std::strcmp(kind, "wireguard") == 0) names.emplace_back(rtnl_link_get_name(link));
  }
  nl_cache_free(cache);
  std::sort(names.begin(), names.end());
  return names;
}

Status create_link(const std::string& ifname) {
  if (!valid_ifname(ifname)) return make_error(EINVAL, "invalid interface name \"" + ifname + "\"");
  auto sock = NlSocket::connect(NETLINK_ROUTE);
  if (!sock) return sock.error();
  LinkPtr link(rtnl_link_alloc());
  if (!link) return make_error(ENOMEM, "out of memory");
  rtnl_link_set_name(link.get(), ifname.c_str());
  if (int r = rtnl_link_set_type(link.get(), "wireguard"); r < 0)
    return nl_error(r, "creating " + ifname);
  int r = rtnl_link_add(sock->get(), link.get(), NLM_F_CREATE | NLM_F_EXCL);
  if (r < 0) {
    Error e = nl_error(r, "creating kernel WireGuard interface " + ifname);
    if (e.code == EOPNOTSUPP)
      e.message += " (the kernel has no wireguard link type: module missing?)";
    return e;
  }
  return {};
}

Status delete_link(const std::string& ifname, LinkKind kind) {
  if (!valid_ifname(ifname)) return make_error(EINVAL, "invalid interface name \"" + ifname + "\"");
  if (kind == LinkKind::kWireGuard && !is_kernel_wireguard(ifname))
    return make_error(ENODEV, ifname + " is not a kernel WireGuard interface");
  auto sock = NlSocket::connect(NETLINK_ROUTE);
  if (!sock) return sock.error();
  LinkPtr link(rtnl_link_alloc());
  if (!link) return make_error(ENOMEM, "out of memory");
  rtnl_link_set_name(link.get(), ifname.c_str());
  if (int r = rtnl_link_delete(sock->get(), link.get()); r < 0)
    return nl_error(r, "deleting " + ifname);
  return {};
}

}  // namespace wgcore::netlink
