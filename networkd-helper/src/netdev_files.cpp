// .netdev discovery, masking and drop-ins (see netdev_files.hpp).
#include "netdev_files.hpp"

#include <sys/stat.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

namespace wgcore::networkd {

namespace fs = std::filesystem;
using Level = Diagnostic::Level;

namespace {

// Masked: a symlink to /dev/null, or an empty file (networkd's null_or_empty_path()).
bool is_masked(const fs::path& p) {
  std::error_code ec;
  if (fs::is_symlink(p, ec)) {
    auto target = fs::read_symlink(p, ec);
    if (!ec && target == "/dev/null") return true;
  }
  struct stat st {};
  if (stat(p.c_str(), &st) != 0) return false;
  if (S_ISCHR(st.st_mode) && p.string() != "/dev/null") {
    struct stat null {};
    return stat("/dev/null", &null) == 0 && st.st_rdev == null.st_rdev;
  }
  return S_ISREG(st.st_mode) && st.st_size == 0;
}

// Files named *suffix in dir (regular files or symlinks), by name.
std::vector<std::string> list_dir(const std::string& dir, const std::string& suffix) {
  std::vector<std::string> out;
  std::error_code ec;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    std::string name = it->path().filename().string();
    if (name.size() <= suffix.size() || name.compare(name.size() - suffix.size(), suffix.size(), suffix) != 0)
      continue;
    if (name[0] == '.') continue;
    std::error_code ec2;
    if (it->is_directory(ec2)) continue;
    out.push_back(name);
  }
  return out;
}

// networkd's warn_file_is_world_accessible(): secrets in a file others can read.
void warn_world_accessible(const std::string& path, Diagnostics& d) {
  struct stat st {};
  if (stat(path.c_str(), &st) != 0 || (st.st_mode & 0007) == 0) return;
  char mode[8];
  std::snprintf(mode, sizeof mode, "%04o", unsigned(st.st_mode & 07777));
  d.add(Diagnostic::Level::kWarning, path + " has " + mode +
                                         " mode that is too permissive, please adjust the "
                                         "ownership and access mode.");
}

bool has_inline_secret(const std::string& text) {
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    std::size_t i = line.find_first_not_of(" \t");
    if (i == std::string::npos) continue;
    for (const char* k : {"PrivateKey", "PresharedKey"}) {
      std::size_t n = std::strlen(k);
      if (line.compare(i, n, k) != 0) continue;
      std::size_t j = line.find_first_not_of(" \t", i + n);
      if (j == std::string::npos || line[j] != '=') continue;
      if (line.find_first_not_of(" \t\r", j + 1) != std::string::npos) return true;
    }
  }
  return false;
}

}  // namespace

SearchPath SearchPath::networkd(const std::string& root) {
  SearchPath sp;
  sp.dirs = {root + "/etc/systemd/network", root + "/run/systemd/network",
             root + "/usr/local/lib/systemd/network", root + "/usr/lib/systemd/network"};
  sp.run_dir = root + "/run/systemd/network";
  return sp;
}

std::vector<NetdevFile> find_netdev_files(const SearchPath& sp) {
  std::map<std::string, std::string> winner;  // basename -> path (first dir wins)
  for (const auto& dir : sp.dirs)
    for (const auto& name : list_dir(dir, ".netdev"))
      winner.emplace(name, dir + "/" + name);
  std::vector<NetdevFile> out;
  for (const auto& [name, path] : winner) {
    if (is_masked(path)) continue;
    NetdevFile f;
    f.basename = name;
    f.path = path;
    std::map<std::string, std::string> dropins;  // name -> path, highest priority first
    for (const auto& dir : sp.dirs)
      for (const auto& d : list_dir(dir + "/" + name + ".d", ".conf"))
        dropins.emplace(d, dir + "/" + name + ".d/" + d);
    for (const auto& [dname, dpath] : dropins) {
      if (dname == kHideDropin) continue;
      if (is_masked(dpath)) continue;
      f.dropins.push_back(dpath);
    }
    out.push_back(std::move(f));
  }
  return out;
}

std::optional<NetdevParse> load_netdev(const NetdevFile& f, Diagnostics& diags) {
  std::vector<SourceText> sources;
  std::vector<std::string> paths{f.path};
  paths.insert(paths.end(), f.dropins.begin(), f.dropins.end());
  for (const auto& p : paths) {
    std::ifstream in(p, std::ios::binary);
    if (!in) {
      diags.syntax(Level::kError, p, 0, "Failed to open file, ignoring: " + std::string(std::strerror(errno)));
      if (p == f.path) return std::nullopt;
      continue;
    }
    std::ostringstream ss;
    ss << in.rdbuf();
    sources.push_back({p, ss.str()});
  }
  auto parsed = parse_netdev(sources, diags);
  if (parsed && parsed->wireguard)
    for (const auto& s : sources)
      if (has_inline_secret(s.text)) warn_world_accessible(s.path, diags);
  return parsed;
}

LoadResult load_all(const SearchPath& sp, const MatchEnvironment& env, Diagnostics& diags,
                    const KeyFileReader& reader) {
  LoadResult r;
  std::map<std::string, std::string> names;  // ifname -> file that claimed it
  for (const auto& f : find_netdev_files(sp)) {
    auto parsed = load_netdev(f, diags);
    if (!parsed) continue;
    if (parsed->kind != "wireguard") {
      if (!parsed->name.empty()) names.emplace(parsed->name, f.path);
      continue;
    }
    if (!conditions_match(parsed->conditions, env, diags, f.path)) {
      diags.add(Level::kWarning, f.path + ": Conditions in the file do not match the system "
                                          "environment, skipping.");
      continue;
    }
    r.wireguard_files.push_back(f.basename);
    if (!parsed->wireguard) continue;
    auto& w = *parsed->wireguard;
    if (auto it = names.find(w.name); it != names.end()) {
      diags.netdev(Level::kError, w.name,
                   "Device was already configured by file " + it->second + ", ignoring " + f.path + ".");
      continue;
    }
    names.emplace(w.name, f.path);
    auto warning_reader = [&](const std::string& path) {
      warn_world_accessible(path, diags);
      return reader(path);
    };
    if (!verify_wireguard(w, diags, warning_reader)) continue;
    r.netdevs.push_back(std::move(w));
  }
  return r;
}

}  // namespace wgcore::networkd
