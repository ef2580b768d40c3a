// Interface discovery; see open.hpp.
#include "control/open.hpp"

#include <sys/stat.h>

#include <algorithm>

#include "uapi/uapi_client.hpp"
#include "uapi/uapi_server.hpp"

namespace wgcore {

Result<std::unique_ptr<Control>> open_interface(const std::string& iface) {
  std::string path = std::string(uapi::kDefaultSocketDir) + "/" + iface + ".sock";
  struct stat st;
  if (stat(path.c_str(), &st) == 0 && S_ISSOCK(st.st_mode))
    return std::unique_ptr<Control>(new uapi::UapiClient(path));
  return make_error(ENODEV, "Unable to access interface " + iface + ": no UAPI socket at " + path);
}

std::vector<std::string> list_interfaces() {
  auto names = uapi::uapi_list_interfaces();
  std::sort(names.begin(), names.end());
  return names;
}

}  // namespace wgcore
