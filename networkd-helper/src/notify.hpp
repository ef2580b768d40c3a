// The service manager and journal side of the daemon: sd_notify (READY, STATUS, RELOADING,
// STOPPING, WATCHDOG) and log lines carrying syslog priorities ("<4>...") that journald reads
// from stderr when systemd connected it (JOURNAL_STREAM); plain lines otherwise.
#pragma once

#include <chrono>
#include <optional>
#include <string>

namespace wgcore::networkd {

enum class Prio { kErr = 3, kWarning = 4, kNotice = 5, kInfo = 6, kDebug = 7 };

void set_log_verbose(bool on);  // debug lines shown (default: info and above)
void logp(Prio p, const char* fmt, ...) __attribute__((format(printf, 2, 3)));

void notify(const std::string& state);  // no-op without NOTIFY_SOCKET
// Half the watchdog interval when WatchdogSec= is set for us: how often to send WATCHDOG=1.
std::optional<std::chrono::milliseconds> watchdog_period();

}  // namespace wgcore::networkd
