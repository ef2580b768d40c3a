// sd_notify (see notify.hpp).
#include "notify.hpp"

#include <systemd/sd-daemon.h>

namespace wgcore::networkd {

void notify(const std::string& state) { sd_notify(0, state.c_str()); }

std::optional<std::chrono::milliseconds> watchdog_period() {
  std::uint64_t usec = 0;
  if (sd_watchdog_enabled(0, &usec) <= 0 || usec == 0) return std::nullopt;
  return std::chrono::milliseconds(usec / 2000);
}

}  // namespace wgcore::networkd
