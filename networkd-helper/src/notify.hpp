// The service manager side of the daemon: sd_notify (READY, STATUS, RELOADING, STOPPING,
// WATCHDOG). Log lines go through wgcore::log::event (wgcore/log.hpp), which carries the syslog
// priority to journald.
#pragma once

#include <chrono>
#include <optional>
#include <string>

namespace wgcore::networkd {

void notify(const std::string& state);  // no-op without NOTIFY_SOCKET
// Half the watchdog interval when WatchdogSec= is set for us: how often to send WATCHDOG=1.
std::optional<std::chrono::milliseconds> watchdog_period();

}  // namespace wgcore::networkd
