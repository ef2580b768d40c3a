#include "allowed_sync.hpp"

#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>

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

void add(AllowedIps& a, DeviceUpdate& u, const Key& k, const IpPrefix& p) {
  peer_update(u, k).allowed_ips.push_back({AllowedIpOp::Kind::kAdd, p});
  // The device moves a prefix from whichever peer had it; mirror that.
  for (auto& [key, set] : a.device) set.erase(p);
  for (auto& [key, set] : a.ours) set.erase(p);
  a.device[k].insert(p);
  a.ours[k].insert(p);
}

void remove(AllowedIps& a, DeviceUpdate& u, const Key& k, const IpPrefix& p) {
  a.ours[k].erase(p);
  if (a.device[k].erase(p)) peer_update(u, k).allowed_ips.push_back({AllowedIpOp::Kind::kRemove, p});
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

void AllowedIps::plan(const std::vector<routing::policy::Change>& changes, DeviceUpdate& update) {
  for (const auto& c : changes) {
    const IpPrefix p = c.prefix.canonical();
    if (c.install) {
      if (device[c.peer].count(p)) continue;  // static, or already ours
      add(*this, update, c.peer, p);
    } else if (ours[c.peer].count(p)) {
      remove(*this, update, c.peer, p);
    }
  }
}

void AllowedIps::reconcile(const PrefixSets& want, DeviceUpdate& update) {
  for (const auto& [k, set] : want) {
    std::vector<IpPrefix> drop;
    for (const auto& p : ours[k])
      if (!set.count(p)) drop.push_back(p);
    for (const auto& p : drop) remove(*this, update, k, p);
    for (const auto& p : set)
      if (!device[k].count(p)) add(*this, update, k, p);
  }
}

Status save_imports(const std::string& path, const PrefixSets& ours) {
  std::string tmp = path + ".tmp";
  FILE* f = fopen(tmp.c_str(), "w");
  if (!f) return make_error(errno, tmp + ": " + strerror(errno));
  for (const auto& [k, set] : ours)
    for (const auto& p : set) fprintf(f, "%s %s\n", to_base64(k).c_str(), p.to_string().c_str());
  bool ok = fflush(f) == 0;
  ok = (fclose(f) == 0) && ok;
  if (!ok || rename(tmp.c_str(), path.c_str()) != 0) {
    int e = errno;
    unlink(tmp.c_str());
    return make_error(e, path + ": " + strerror(e));
  }
  return {};
}

PrefixSets load_imports(const std::string& path) {
  PrefixSets out;
  std::ifstream in(path);
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream ls(line);
    std::string k, p;
    if (!(ls >> k >> p)) continue;
    auto key = key_from_base64(k);
    auto prefix = IpPrefix::parse(p);
    if (key && prefix) out[*key].insert(prefix->canonical());
  }
  return out;
}

}  // namespace wgcore::frrwgd
