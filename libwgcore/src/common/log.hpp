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

}  // namespace wgcore::log
