// Test helpers for the tests/fixtures/nm folder, shared by the profile and editor plugin tests.
#pragma once

#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "testing/fixtures.hpp"

namespace wgcore::nm::testing {

using testing_support::file_exists;
using testing_support::read_file;
inline std::string fixture_dir() { return testing_support::fixture_dir("nm"); }
// Base names of the NAME.conf files in dir, sorted.
inline std::vector<std::string> conf_names(const std::string& dir) {
  return testing_support::names_with_suffix(dir, ".conf");
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
