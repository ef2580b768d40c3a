// Levelled logging in wireguard-go's format ("DEBUG: (wg0) 2026/01/02 15:04:05 message"), level
// from LOG_LEVEL (verbose|debug, error, silent) as wireguard-go reads it. Keys never reach here
// except through wgcore::redacted().
#pragma once

#include <cstdarg>
#include <string>

namespace wgcore::log {

enum class Level { kSilent = 0, kError = 1, kVerbose = 2 };

void set_level(Level l);
Level level();
// Parses LOG_LEVEL; unknown or unset values mean kError, like wireguard-go.
Level level_from_env();
void set_tag(std::string tag);  // the "(wg0)" part

void error(const char* fmt, ...) __attribute__((format(printf, 1, 2)));
void verbose(const char* fmt, ...) __attribute__((format(printf, 1, 2)));

// The daemons' event log (frr-wgd, wgcore-networkd): one line per event on stderr. Under
// journald (systemd sets JOURNAL_STREAM) "<N>message": journald takes the syslog priority from
// <N> and adds the time itself; elsewhere "2026-12-07 06:02:29 warning: message", so a log
// written to a file still says when. kDebug lines only after set_debug(true).
enum class Prio { kErr = 3, kWarning = 4, kNotice = 5, kInfo = 6, kDebug = 7 };
void set_debug(bool on);
void event(Prio p, const char* fmt, ...) __attribute__((format(printf, 2, 3)));
// The text event() writes for `message` at time `now` (exposed for the test).
std::string event_line(Prio p, const std::string& message, bool journald, long now);

}  // namespace wgcore::log
