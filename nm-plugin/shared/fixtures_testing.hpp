// Test helpers for the tests/fixtures/nm folder, shared by the profile and editor plugin tests.
#pragma once

#include <dirent.h>
#include <sys/stat.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

namespace wgcore::nm::testing {

inline std::string fixture_dir() {
  // meson sets WGCORE_SOURCE_ROOT; otherwise find the tree from this file's path.
  const char* root = std::getenv("WGCORE_SOURCE_ROOT");
  std::string file = __FILE__;
  auto cut = file.rfind("nm-plugin/");
  std::string base = root ? root : cut == std::string::npos || cut == 0 ? "." : file.substr(0, cut - 1);
  return base + "/tests/fixtures/nm";
}

inline std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

inline bool file_exists(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0;
}

// Base names of the NAME.conf files in dir, sorted.
inline std::vector<std::string> conf_names(const std::string& dir) {
  std::vector<std::string> out;
  if (DIR* d = ::opendir(dir.c_str())) {
    while (dirent* e = ::readdir(d)) {
      std::string n = e->d_name;
      if (n.size() > 5 && n.substr(n.size() - 5) == ".conf") out.push_back(n.substr(0, n.size() - 5));
    }
    ::closedir(d);
  }
  std::sort(out.begin(), out.end());
  return out;
}

// What exporting good/NAME.conf must give back.
inline std::string expected_export(const std::string& name) {
  std::string canonical = fixture_dir() + "/good/" + name + ".canonical";
  return read_file(file_exists(canonical) ? canonical : fixture_dir() + "/good/" + name + ".conf");
}

// "key=value" lines (the .data / .secrets files).
inline std::map<std::string, std::string> read_items(const std::string& path) {
  std::map<std::string, std::string> out;
  std::istringstream in(read_file(path));
  for (std::string line; std::getline(in, line);) {
    auto eq = line.find('=');
    if (eq != std::string::npos) out[line.substr(0, eq)] = line.substr(eq + 1);
  }
  return out;
}

// The one-line message of bad/NAME.err, without its newline.
inline std::string expected_error(const std::string& name) {
  std::string e = read_file(fixture_dir() + "/bad/" + name + ".err");
  while (!e.empty() && (e.back() == '\n' || e.back() == '\r')) e.pop_back();
  return e;
}

}  // namespace wgcore::nm::testing
