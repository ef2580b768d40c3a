// One line per event on stderr, with a level word journald and humans both read
// ("info: accept 198.18.2.0/24 from peer site-b: ..."). Never given private key material.
#pragma once

namespace wgcore::frrwgd::log {

void info(const char* fmt, ...) __attribute__((format(printf, 1, 2)));
void warn(const char* fmt, ...) __attribute__((format(printf, 1, 2)));
void error(const char* fmt, ...) __attribute__((format(printf, 1, 2)));

}  // namespace wgcore::frrwgd::log
