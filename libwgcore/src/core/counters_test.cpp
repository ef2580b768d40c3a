// Drop reason names are the keys of `wgcore show --json`: stable, unique, snake_case, and each one
// explained in wgcore(8), so a reason added to the enum cannot reach users undocumented.
#include "core/counters.hpp"

#include <gtest/gtest.h>

#include <cctype>
#include <cstdlib>
#include <fstream>
#include <set>
#include <sstream>
#include <string>

namespace wgcore {
namespace {

TEST(DropReasons, NamesAreUniqueSnakeCase) {
  std::set<std::string> seen;
  for (std::size_t i = 0; i < kDropReasons; ++i) {
    const std::string name = to_string(DropReason(i));
    EXPECT_NE(name, "unknown") << "reason " << i << " has no name";
    EXPECT_TRUE(seen.insert(name).second) << name << " twice";
    for (char c : name) EXPECT_TRUE((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_') << name;
  }
}

TEST(DropReasons, EveryReasonIsInTheManPage) {
  const char* root = std::getenv("WGCORE_SOURCE_ROOT");
  ASSERT_NE(root, nullptr) << "WGCORE_SOURCE_ROOT is set by meson test";
  std::ifstream f(std::string(root) + "/docs/man/wgcore.8");
  ASSERT_TRUE(f) << "docs/man/wgcore.8";
  std::stringstream text;
  text << f.rdbuf();
  const std::string s = text.str();
  for (std::size_t i = 0; i < kDropReasons; ++i) {
    const std::string name = to_string(DropReason(i));
    // groff bold lists: ".BR name ..." or ", name" or " name ,"; a plain word search is enough,
    // with the name delimited so "replay" does not match "handshake_replay".
    bool found = false;
    for (std::size_t at = s.find(name); at != std::string::npos && !found; at = s.find(name, at + 1)) {
      const char before = at ? s[at - 1] : ' ';
      const char after = at + name.size() < s.size() ? s[at + name.size()] : ' ';
      found = !(std::isalnum(static_cast<unsigned char>(before)) || before == '_') &&
              !(std::isalnum(static_cast<unsigned char>(after)) || after == '_');
    }
    EXPECT_TRUE(found) << name << " is not explained in docs/man/wgcore.8";
  }
}

}  // namespace
}  // namespace wgcore
