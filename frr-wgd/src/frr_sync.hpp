// Keeps FRR's copy of the trust policy (the FRR-WGD-* prefix-lists and route-maps of `show
// frr-config`) in step with frr-wgd: after a start, a reload and every change of the facts
// (endpoints, local addresses, static AllowedIPs) it replaces each list whose content changed,
// through vtysh (config key frr-vtysh). A list is sent again only when it changed; a failed push
// is forgotten and retried.
//
// A push runs in a thread of its own: vtysh waits for bgpd, bgpd may wait for zebra, and zebra
// may wait for frr-wgd to read its FPM stream. Were the daemon's loop to wait for vtysh, the
// four could wait for each other for good (seen at 100 000 routes).
#pragma once

#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
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
  explicit FrrSync(Runner run);
  ~FrrSync();  // waits for a push still running
  FrrSync(const FrrSync&) = delete;
  FrrSync& operator=(const FrrSync&) = delete;

  // Starts a push of `route_maps` (as is; may be empty) and of the lists that differ from what
  // was last pushed. False when there is nothing to send, or when a push is still running (the
  // caller tries again after finish()).
  bool start(const std::string& route_maps, const FrrLists& lists);
  bool busy() const { return worker_.joinable(); }
  // Readable (an eventfd) once a started push has ended.
  int fd() const { return event_fd_; }

  struct Outcome {
    Status status;
    std::size_t lists = 0;  // lists replaced in FRR
  };
  // After fd() turned readable: the push's outcome. On success its lists count as pushed; on
  // failure everything is forgotten, so the next start sends every list.
  std::optional<Outcome> finish();

 private:
  Runner run_;
  int event_fd_ = -1;
  std::thread worker_;
  std::mutex mu_;
  std::optional<Status> result_;  // set by the worker
  FrrLists pushed_;
  FrrLists in_flight_;
  std::size_t in_flight_count_ = 0;
};

}  // namespace wgcore::frrwgd
