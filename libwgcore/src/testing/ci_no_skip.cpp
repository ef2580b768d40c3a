// Linked into every gtest binary: under CI=true a skipped test case makes its binary fail. Meson
// judges a gtest executable by its exit status, so a GTEST_SKIP (no root, a kernel feature the
// product's own detection says is missing) would otherwise pass silently while the summary reads
// "0 failed". On a developer's machine a skip stays a skip.
#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace {

bool in_ci() {
  const char* ci = std::getenv("CI");
  return ci != nullptr && (std::strcmp(ci, "true") == 0 || std::strcmp(ci, "1") == 0);
}

class NoSkipUnderCi final : public ::testing::EmptyTestEventListener {
 public:
  void OnTestEnd(const ::testing::TestInfo& info) override {
    if (!info.result()->Skipped()) return;
    ++skipped_;
    std::fprintf(stderr, "CI=true: %s.%s was skipped\n", info.test_suite_name(), info.name());
  }
  // gtest delivers end events to listeners in reverse order: this one, appended first, runs after
  // the result printers (the XML report is written).
  void OnTestProgramEnd(const ::testing::UnitTest&) override {
    if (skipped_ == 0) return;
    std::fprintf(stderr, "CI=true: %d test case(s) skipped: a skip is a failure under CI\n", skipped_);
    std::fflush(nullptr);
    std::_Exit(1);
  }

 private:
  int skipped_ = 0;
};

const bool registered = [] {
  if (in_ci()) ::testing::UnitTest::GetInstance()->listeners().Append(new NoSkipUnderCi);
  return true;
}();

}  // namespace
