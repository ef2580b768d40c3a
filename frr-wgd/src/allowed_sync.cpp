#include "allowed_sync.hpp"

#include <cstdio>
#include <algorithm>
#include <cstring>
#include <fstream>
#include <sstream>

#include <fcntl.h>
#include <unistd.h>

namespace wgcore::frrwgd {

namespace {

PeerUpdate& peer_update(DeviceUpdate& u, const Key& k) {
  // Consecutive operations on one peer share an entry; order across peers is kept.
  if (u.peers.empty() || !(u.peers.back().public_key == k)) {
    PeerUpdate p;
    p.public_key = k;
    p.update_only = true;  // never create a peer the operator did not configure
    u.peers.push_back(std::move(p));
  }
  return u.peers.back();
}

void add(AllowedIps& a, DeviceUpdate& u, const Key& k, const IpPrefix& p, AllowedIps::Undo* undo) {
  peer_update(u, k).allowed_ips.push_back({AllowedIpOp::Kind::kAdd, p});
  // The device moves a prefix from whichever peer had it; mirror that, noting who had it when a
  // failed update may have to give it back.
  std::map<Key, std::uint8_t> held;
  for (auto& [key, set] : a.device)
    if (set.erase(p) && undo) held[key] |= 1;
  for (auto& [key, set] : a.ours)
    if (set.erase(p) && undo) held[key] |= 2;
  a.device[k].insert(p);
  a.ours[k].insert(p);
  if (undo) {
    AllowedIps::Undo::Step step;
    step.added = true;
    step.peer = k;
    step.prefix = p;
    step.held.assign(held.begin(), held.end());
    undo->steps.push_back(std::move(step));
  }
}

void remove(AllowedIps& a, DeviceUpdate& u, const Key& k, const IpPrefix& p, AllowedIps::Undo* undo) {
  const bool had_ours = a.ours[k].erase(p) > 0;
  const bool had_device = a.device[k].erase(p) > 0;
  if (had_device) peer_update(u, k).allowed_ips.push_back({AllowedIpOp::Kind::kRemove, p});
  if (undo && had_ours) {
    AllowedIps::Undo::Step step;
    step.peer = k;
    step.prefix = p;
    step.had_device = had_device;
    undo->steps.push_back(std::move(step));
  }
}

}  // namespace

void AllowedIps::set_device(const DeviceState& state) {
  device.clear();
  for (const auto& p : state.peers) {
    auto& s = device[p.public_key];
    for (const auto& a : p.allowed_ips) s.insert(a.canonical());
  }
  // What someone else removed is no longer ours to track.
  for (auto& [k, set] : ours) {
    auto it = device.find(k);
    for (auto p = set.begin(); p != set.end();) {
      if (it == device.end() || !it->second.count(*p)) p = set.erase(p);
      else ++p;
    }
  }
}

std::map<Key, std::vector<IpPrefix>> AllowedIps::static_allowed() const {
  std::map<Key, std::vector<IpPrefix>> out;
  for (const auto& [k, set] : device) {
    auto& v = out[k];
    auto o = ours.find(k);
    for (const auto& p : set)
      if (o == ours.end() || !o->second.count(p)) v.push_back(p);
  }
  return out;
}

void AllowedIps::plan(const std::vector<routing::policy::Change>& changes, DeviceUpdate& update,
                      Undo* undo) {
  for (const auto& c : changes) {
    const IpPrefix p = c.prefix.canonical();
    if (c.install) {
      if (device[c.peer].count(p)) continue;  // static, or already ours
      add(*this, update, c.peer, p, undo);
    } else if (ours[c.peer].count(p)) {
      remove(*this, update, c.peer, p, undo);
    }
  }
}

void AllowedIps::reconcile(const PrefixSets& want, DeviceUpdate& update, Undo* undo) {
  for (const auto& [k, set] : want) {
    std::vector<IpPrefix> drop;
    for (const auto& p : ours[k])
      if (!set.count(p)) drop.push_back(p);
    for (const auto& p : drop) remove(*this, update, k, p, undo);
    for (const auto& p : set)
      if (!device[k].count(p)) add(*this, update, k, p, undo);
  }
}

void AllowedIps::rollback(Undo& undo) {
  for (auto it = undo.steps.rbegin(); it != undo.steps.rend(); ++it) {
    if (it->added) {
      device[it->peer].erase(it->prefix);
      ours[it->peer].erase(it->prefix);
      for (const auto& [k, bits] : it->held) {
        if (bits & 1) device[k].insert(it->prefix);
        if (bits & 2) ours[k].insert(it->prefix);
      }
    } else {
      ours[it->peer].insert(it->prefix);
      if (it->had_device) device[it->peer].insert(it->prefix);
    }
  }
  undo.steps.clear();
}

namespace {

// fsync of the directory holding `path`, so a rename or a new file survives a crash.
int sync_directory(const std::string& path) {
  const auto slash = path.rfind('/');
  const std::string dir = slash == std::string::npos ? "." : (slash == 0 ? "/" : path.substr(0, slash));
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return errno;
  int rc = ::fsync(fd) == 0 ? 0 : errno;
  ::close(fd);
  return rc;
}

// Writes all of `text` to `fd`, then syncs it; an errno, or 0.
int write_synced(int fd, const std::string& text) {
  std::size_t off = 0;
  while (off < text.size()) {
    ssize_t n = ::write(fd, text.data() + off, text.size() - off);
    if (n < 0) {
      if (errno == EINTR) continue;
      return errno;
    }
    off += std::size_t(n);
  }
  return ::fdatasync(fd) == 0 ? 0 : errno;
}

}  // namespace

Status save_imports(const std::string& path, const PrefixSets& ours) {
  std::string text;
  for (const auto& [k, set] : ours)
    for (const auto& p : set) text += to_base64(k) + " " + p.to_string() + "\n";
  const std::string tmp = path + ".tmp";
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return make_error(errno, tmp + ": " + strerror(errno));
  int e = write_synced(fd, text);
  if (::close(fd) != 0 && e == 0) e = errno;
  if (e == 0 && ::rename(tmp.c_str(), path.c_str()) != 0) e = errno;
  if (e != 0) {
    ::unlink(tmp.c_str());
    return make_error(e, path + ": " + strerror(e));
  }
  if (int d = sync_directory(path); d != 0) return make_error(d, path + ": syncing its directory: " + strerror(d));
  return {};
}

PrefixSets load_imports(const std::string& path) {
  PrefixSets out;
  std::ifstream in(path);
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream ls(line);
    std::string first, k, p;
    if (!(ls >> first)) continue;
    char op = '=';
    if (first == "+" || first == "-") {
      op = first[0];
      if (!(ls >> k >> p)) continue;
    } else {
      k = first;
      if (!(ls >> p)) continue;
    }
    auto key = key_from_base64(k);
    auto prefix = IpPrefix::parse(p);
    if (!key || !prefix) continue;
    if (op == '-') {
      auto it = out.find(*key);
      if (it != out.end()) it->second.erase(prefix->canonical());
    } else {
      // An import belongs to one peer: a later add for another peer moves it, as on the device.
      if (op == '+')
        for (auto& [other, set] : out) set.erase(prefix->canonical());
      out[*key].insert(prefix->canonical());
    }
  }
  return out;
}

namespace {

// Imports in all: what the file holds after a snapshot, and what a journal is compacted against.
std::size_t import_count(const PrefixSets& ours) {
  std::size_t n = 0;
  for (const auto& [k, set] : ours) n += set.size();
  return n;
}

}  // namespace

Status ImportsJournal::append(const DeviceUpdate& u, AllowedIpOp::Kind kind, const PrefixSets* ours) {
  std::string text;
  std::size_t n = 0;
  for (const auto& p : u.peers)
    for (const auto& op : p.allowed_ips)
      if (op.kind == kind) {
        // Removals come after all the update's adds in the file: one the update undid (removed,
        // then added again) must not be written, or the replay would lose the import.
        if (ours) {
          auto it = ours->find(p.public_key);
          if (it != ours->end() && it->second.count(op.prefix.canonical())) continue;
        }
        text += (kind == AllowedIpOp::Kind::kAdd ? "+ " : "- ") + to_base64(p.public_key) + " " +
                op.prefix.canonical().to_string() + "\n";
        ++n;
      }
  if (n == 0) return {};
  const bool created = ::access(path_.c_str(), F_OK) != 0;
  int fd = ::open(path_.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  if (fd < 0) return make_error(errno, path_ + ": " + strerror(errno));
  int e = write_synced(fd, text);
  if (::close(fd) != 0 && e == 0) e = errno;
  if (e == 0 && created) e = sync_directory(path_);
  if (e != 0) return make_error(e, path_ + ": " + strerror(e));
  lines_ += n;
  return {};
}

Status ImportsJournal::record_adds(const DeviceUpdate& u) {
  return append(u, AllowedIpOp::Kind::kAdd, nullptr);
}

Status ImportsJournal::record_removes(const DeviceUpdate& u, const PrefixSets& ours) {
  if (auto st = append(u, AllowedIpOp::Kind::kRemove, &ours); !st) return st;
  // The live count from the imports themselves (a running count of adds and removals would
  // overcount moves and re-adds, and compact too late); O(peers).
  if (lines_ > 64 && lines_ > 2 * import_count(ours)) return snapshot(ours);
  return {};
}

Status ImportsJournal::snapshot(const PrefixSets& ours) {
  if (auto st = save_imports(path_, ours); !st) return st;
  lines_ = import_count(ours);
  return {};
}

}  // namespace wgcore::frrwgd
