#include "log.hpp"

#include <cstdarg>
#include <cstdio>

namespace wgcore::frrwgd::log {

namespace {
void emit(const char* level, const char* fmt, va_list ap) {
  char buf[2048];
  vsnprintf(buf, sizeof buf, fmt, ap);
  fprintf(stderr, "%s: %s\n", level, buf);
  fflush(stderr);
}
}  // namespace

void info(const char* fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  emit("info", fmt, ap);
  va_end(ap);
}
void warn(const char* fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  emit("warning", fmt, ap);
  va_end(ap);
}
void error(const char* fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  emit("error", fmt, ap);
  va_end(ap);
}

}  // namespace wgcore::frrwgd::log
