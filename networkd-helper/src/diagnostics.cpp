// Formatting of configuration diagnostics (see diagnostics.hpp).
#include "diagnostics.hpp"

namespace wgcore::networkd {

void Diagnostics::syntax(Diagnostic::Level level, const std::string& file, unsigned line,
                         const std::string& message) {
  std::string t = file;
  if (line > 0) t += ":" + std::to_string(line);
  t += ": " + message;
  add(level, std::move(t));
}

void Diagnostics::netdev(Diagnostic::Level level, const std::string& ifname,
                         const std::string& message) {
  add(level, ifname.empty() ? message : ifname + ": " + message);
}

std::string Diagnostics::joined() const {
  std::string out;
  for (const auto& d : items_) out += d.text + "\n";
  return out;
}

}  // namespace wgcore::networkd
