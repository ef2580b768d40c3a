// Test fixtures on disk (tests/fixtures/...): where the source tree is, reading a file whole,
// and listing a fixture directory. Header-only, for the gtest binaries of every component.
#pragma once

#include <dirent.h>
#include <sys/stat.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

namespace wgcore::testing_support {

// The source tree: WGCORE_SOURCE_ROOT (meson sets it for every test), else found from this
// header's own path, so a test binary run by hand from the build directory works too.
inline std::string source_root() {
  if (const char* root = std::getenv("WGCORE_SOURCE_ROOT")) return root;
  const std::string file = __FILE__;
  const auto cut = file.rfind("libwgcore/src/testing/");
  return cut == std::string::npos || cut == 0 ? "." : file.substr(0, cut - 1);
}

// tests/fixtures/NAME under the source tree.
inline std::string fixture_dir(const std::string& name) {
  return source_root() + "/tests/fixtures/" + name;
}

// The whole file (binary-safe); empty when it cannot be read.
inline std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

inline bool file_exists(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0;
}

// The names in dir that end in `suffix`, without it, sorted: the cases of a fixture directory.
inline std::vector<std::string> names_with_suffix(const std::string& dir, const std::string& suffix) {
  std::vector<std::string> out;
  if (DIR* d = ::opendir(dir.c_str())) {
    while (dirent* e = ::readdir(d)) {
      const std::string n = e->d_name;
      if (n.size() > suffix.size() && n.ends_with(suffix)) out.push_back(n.substr(0, n.size() - suffix.size()));
    }
    ::closedir(d);
  }
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace wgcore::testing_support
