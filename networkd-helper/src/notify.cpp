// sd_notify and journal-friendly logging (see notify.hpp).
#include "notify.hpp"

#include <systemd/sd-daemon.h>

#include <cstdarg>
#include <cstdio>
#include <cstdlib>

namespace wgcore::networkd {

namespace {
bool g_verbose = false;
}

void set_log_verbose(bool on) { g_verbose = on; }

void logp(Prio p, const char* fmt, ...) {
  if (p == Prio::kDebug && !g_verbose) return;
  char buf[2048];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(buf, sizeof buf, fmt, ap);
  va_end(ap);
  if (getenv("JOURNAL_STREAM"))
    fprintf(stderr, "<%d>%s\n", int(p), buf);
  else
    fprintf(stderr, "%s\n", buf);
  fflush(stderr);
}

void notify(const std::string& state) { sd_notify(0, state.c_str()); }

std::optional<std::chrono::milliseconds> watchdog_period() {
  std::uint64_t usec = 0;
  if (sd_watchdog_enabled(0, &usec) <= 0 || usec == 0) return std::nullopt;
  return std::chrono::milliseconds(usec / 2000);
}

}  // namespace wgcore::networkd
