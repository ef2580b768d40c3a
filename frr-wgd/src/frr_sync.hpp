// Keeps FRR's copy of the trust policy (the FRR-WGD-* prefix-lists of `show frr-config`) in step
// with frr-wgd: after a start, a reload and every change of the facts (endpoints, local
// addresses, static AllowedIPs) it replaces each list whose content changed, through vtysh
// (config key frr-vtysh). A list is sent again only when it changed; a failed push is retried at
// the next sync.
#pragma once

#include <functional>
#include <map>
#include <string>
#include <vector>

#include "frr_snippet.hpp"
#include "wgcore/result.hpp"

namespace wgcore::frrwgd {

class FrrSync {
 public:
  // Runs `vtysh [--vty_socket DIR] -f FILE` and returns its output; an error when it exits
  // non-zero or prints a `%` line (FRR's error marker). Replaceable for tests.
  using Runner = std::function<Result<std::string>(const std::string& script)>;

  FrrSync(std::string vtysh, std::string vty_socket);
  explicit FrrSync(Runner run) : run_(std::move(run)) {}

  // Pushes the lists that differ from what was last pushed (name -> complete lines). Returns
  // how many lists were sent; on error nothing is recorded as pushed.
  Result<std::size_t> sync(const FrrLists& lists);
  // Sends `script` as is (route-maps); an error as above.
  Status send(const std::string& script);
  // Forget what was pushed (FRR restarted, say): the next sync sends everything.
  void forget() { pushed_.clear(); }

 private:
  Runner run_;
  FrrLists pushed_;
};

}  // namespace wgcore::frrwgd
