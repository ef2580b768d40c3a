// `wgcore up` / `wgcore down`: wg-quick(8)'s behaviour on either backend, with routes and rules
// through routing/ (libnl-route-3). Process work only (hooks, spawning wgcored, resolvconf);
// the configuration model and routing logic live in the libraries.
#pragma once

#include <string>
#include <vector>

namespace wgcore::cli {

int cmd_up(const std::vector<std::string>& args);
int cmd_down(const std::vector<std::string>& args);
int cmd_backend(const std::vector<std::string>& args);

}  // namespace wgcore::cli
