// The loggers behind log.hpp: one line per call to stderr, serialized by a mutex.
#include "wgcore/log.hpp"

#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <mutex>
#include <string_view>

namespace wgcore::log {
namespace {

Level g_level = Level::kError;
std::string g_tag;
std::mutex g_mu;

__attribute__((format(printf, 2, 0))) void emit(const char* prefix, const char* fmt, va_list ap) {
  char msg[1024];
  vsnprintf(msg, sizeof msg, fmt, ap);
  time_t now = time(nullptr);
  struct tm tm;
  localtime_r(&now, &tm);
  char when[32];
  strftime(when, sizeof when, "%Y/%m/%d %H:%M:%S", &tm);
  std::lock_guard<std::mutex> lock(g_mu);
  if (g_tag.empty())
    fprintf(stderr, "%s: %s %s\n", prefix, when, msg);
  else
    fprintf(stderr, "%s: (%s) %s %s\n", prefix, g_tag.c_str(), when, msg);
  fflush(stderr);
}

}  // namespace

void set_level(Level l) { g_level = l; }
Level level() { return g_level; }
void set_tag(std::string tag) { g_tag = std::move(tag); }

Level level_from_env() {
  const char* v = getenv("LOG_LEVEL");
  if (!v) return Level::kError;
  std::string_view s(v);
  if (s == "verbose" || s == "debug") return Level::kVerbose;
  if (s == "silent") return Level::kSilent;
  return Level::kError;
}

void error(const char* fmt, ...) {
  if (g_level < Level::kError) return;
  va_list ap;
  va_start(ap, fmt);
  emit("ERROR", fmt, ap);
  va_end(ap);
}

void verbose(const char* fmt, ...) {
  if (g_level < Level::kVerbose) return;
  va_list ap;
  va_start(ap, fmt);
  emit("DEBUG", fmt, ap);
  va_end(ap);
}

namespace {
bool g_debug = false;

const char* prio_word(Prio p) {
  switch (p) {
    case Prio::kErr: return "error";
    case Prio::kWarning: return "warning";
    case Prio::kNotice: return "notice";
    case Prio::kInfo: return "info";
    case Prio::kDebug: return "debug";
  }
  return "info";
}
}  // namespace

void set_debug(bool on) { g_debug = on; }

std::string event_line(Prio p, const std::string& message, bool journald, long now) {
  if (journald) return "<" + std::to_string(int(p)) + ">" + message + "\n";
  time_t t = time_t(now);
  struct tm tm;
  localtime_r(&t, &tm);
  char when[32];
  strftime(when, sizeof when, "%Y-%m-%d %H:%M:%S", &tm);
  return std::string(when) + " " + prio_word(p) + ": " + message + "\n";
}

void event(Prio p, const char* fmt, ...) {
  if (p == Prio::kDebug && !g_debug) return;
  char msg[2048];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  std::string line = event_line(p, msg, getenv("JOURNAL_STREAM") != nullptr, long(time(nullptr)));
  std::lock_guard<std::mutex> lock(g_mu);
  fputs(line.c_str(), stderr);
  fflush(stderr);
}

}  // namespace wgcore::log
