// The control socket: a UNIX stream socket (0600 in a 0700 directory) over which `frr-wgd show
// ...`, `approve` and `reload` reach the daemon. One request per connection: the arguments on
// one line separated by spaces; the answer is "status N\n" and then the output.
#pragma once

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "wgcore/result.hpp"

namespace wgcore::frrwgd {

struct Reply {
  int status = 0;  // the client's exit status
  std::string text;
};

// Creates the directory (0700) if needed, replaces a stale socket, listens (non-blocking).
Result<int> control_listen(const std::string& path);
// A connection whose request was read and is not answered yet.
struct Request {
  int fd = -1;
  std::vector<std::string> args;
};
// Accepts one pending connection and reads its request (a slow client is cut off after 2 s);
// nothing when there was none or it sent no full line.
std::optional<Request> control_accept(int listen_fd);
// Sends the answer and closes the connection: at once, or later (reload waits for FRR).
void control_answer(const Request& r, const Reply& reply);
// Client side.
Result<Reply> control_request(const std::string& path, const std::vector<std::string>& args);

}  // namespace wgcore::frrwgd
