// Interface discovery; see wgcore/interface.hpp.
#include "wgcore/interface.hpp"

#include <sys/stat.h>

#include <algorithm>

#include "netlink/kernel.hpp"
#include "uapi/uapi_client.hpp"
#include "uapi/uapi_server.hpp"

namespace wgcore {

Result<std::unique_ptr<Control>> open_interface(const std::string& iface) {
  // Like `wg`: a kernel WireGuard link of that name wins over a UAPI socket.
  if (netlink::is_kernel_wireguard(iface)) return netlink::open_kernel(iface);
  std::string path = std::string(uapi::kDefaultSocketDir) + "/" + iface + ".sock";
  struct stat st;
  if (stat(path.c_str(), &st) == 0 && S_ISSOCK(st.st_mode))
    return std::unique_ptr<Control>(new uapi::UapiClient(path));
  return make_error(ENODEV, "Unable to access interface " + iface +
                                ": not a kernel WireGuard link and no UAPI socket at " + path);
}

std::vector<std::string> list_interfaces() {
  auto names = uapi::uapi_list_interfaces();
  for (auto& k : netlink::list_kernel_interfaces()) names.push_back(std::move(k));
  std::sort(names.begin(), names.end());
  names.erase(std::unique(names.begin(), names.end()), names.end());
  return names;
}

}  // namespace wgcore
