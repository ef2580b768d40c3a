#include "wgcore/log.hpp"

#include <gtest/gtest.h>
#include <stdlib.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <regex>
#include <sstream>
#include <string>

namespace wgcore::log {
namespace {

TEST(EventLog, JournaldGetsThePriorityAndNoTime) {
  EXPECT_EQ(event_line(Prio::kWarning, "wg0: refuse 10.0.0.0/8", true, 0), "<4>wg0: refuse 10.0.0.0/8\n");
  EXPECT_EQ(event_line(Prio::kErr, "x", true, 0), "<3>x\n");
  EXPECT_EQ(event_line(Prio::kDebug, "x", true, 0), "<7>x\n");
}

TEST(EventLog, ElsewhereEachLineSaysWhenAndHowBad) {
  setenv("TZ", "UTC", 1);
  tzset();
  // 2026-12-07 06:02:29 UTC
  EXPECT_EQ(event_line(Prio::kInfo, "in sync", false, 1796623349L), "2026-12-07 06:02:29 info: in sync\n");
  EXPECT_EQ(event_line(Prio::kWarning, "w", false, 1796623349L), "2026-12-07 06:02:29 warning: w\n");
  EXPECT_EQ(event_line(Prio::kErr, "e", false, 1796623349L), "2026-12-07 06:02:29 error: e\n");
  EXPECT_EQ(event_line(Prio::kNotice, "n", false, 1796623349L), "2026-12-07 06:02:29 notice: n\n");
}

// event() itself: what reaches stderr, and debug lines only when asked for.
TEST(EventLog, WritesOneLinePerEventAndDebugOnlyWhenEnabled) {
  unsetenv("JOURNAL_STREAM");
  char path[] = "/tmp/wgc-eventlog-XXXXXX";
  int fd = mkstemp(path);
  ASSERT_GE(fd, 0);
  fflush(stderr);
  int saved = dup(2);
  ASSERT_GE(saved, 0);
  dup2(fd, 2);
  set_debug(false);
  event(Prio::kInfo, "first %d", 1);
  event(Prio::kDebug, "hidden");
  set_debug(true);
  event(Prio::kDebug, "shown");
  set_debug(false);
  setenv("JOURNAL_STREAM", "8:12345", 1);
  event(Prio::kWarning, "to the journal");
  unsetenv("JOURNAL_STREAM");
  fflush(stderr);
  dup2(saved, 2);
  close(saved);
  close(fd);
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  unlink(path);
  std::string out = ss.str();
  EXPECT_TRUE(std::regex_search(out, std::regex("^[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9:]{8} info: first 1\n"))) << out;
  EXPECT_EQ(out.find("hidden"), std::string::npos) << out;
  EXPECT_NE(out.find(" debug: shown\n"), std::string::npos) << out;
  EXPECT_NE(out.find("\n<4>to the journal\n"), std::string::npos) << out;
}

}  // namespace
}  // namespace wgcore::log
