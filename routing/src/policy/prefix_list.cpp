// FRR prefix-lists: matching one entry, printing it as FRR does, and parsing the configuration
// line that defines it. The engine (engine.cpp) evaluates whole lists; the rules here follow
// FRR 8's lib/plist.c and lib/filter_cli.c so a list copied from frr.conf means the same thing.
#include <algorithm>
#include <charconv>
#include <string>
#include <vector>

#include "routing/policy.hpp"

namespace wgcore::routing::policy {
namespace {

unsigned family_bits(IpAddr::Family f) { return f == IpAddr::Family::V4 ? 32u : 128u; }

std::vector<std::string_view> split(std::string_view line) {
  std::vector<std::string_view> out;
  std::size_t i = 0;
  while (i < line.size()) {
    while (i < line.size() && (line[i] == ' ' || line[i] == '\t' || line[i] == '\r')) ++i;
    std::size_t j = i;
    while (j < line.size() && line[j] != ' ' && line[j] != '\t' && line[j] != '\r') ++j;
    if (j > i) out.push_back(line.substr(i, j - i));
    i = j;
  }
  return out;
}

std::optional<std::uint64_t> parse_uint(std::string_view s) {
  std::uint64_t v = 0;
  if (s.empty() || s.size() > 19) return std::nullopt;
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || ptr != s.data() + s.size()) return std::nullopt;
  return v;
}

Error err(std::string_view line, std::string msg) {
  return make_error(EINVAL, "prefix-list line \"" + std::string(line) + "\": " + msg);
}

bool same_match(const PrefixListEntry& a, const PrefixListEntry& b) {
  if (a.any || b.any) return a.any == b.any;
  return a.prefix == b.prefix && a.ge == b.ge && a.le == b.le;
}

}  // namespace

bool PrefixListEntry::matches(const IpPrefix& p) const {
  if (p.addr.family != prefix.addr.family) return false;
  const unsigned max = p.addr.bits();
  if (p.len > max) return false;
  if (any) return true;
  if (p.len < prefix.len || !prefix.contains(p.addr)) return false;
  if (!ge && !le) return p.len == prefix.len;
  if (le && p.len > *le) return false;
  if (ge && p.len < *ge) return false;
  return true;
}

std::string PrefixListEntry::to_string() const {
  std::string s =
      "seq " + std::to_string(seq) + (action == Action::kPermit ? " permit " : " deny ");
  if (any) return s + "any";
  s += prefix.to_string();
  if (ge) s += " ge " + std::to_string(*ge);
  if (le) s += " le " + std::to_string(*le);
  return s;
}

Status parse_prefix_list_line(std::string_view line, std::vector<PrefixList>& lists) {
  const auto t = split(line);
  if (t.empty() || t[0].front() == '!' || t[0].front() == '#') return {};
  IpAddr::Family family;
  if (t[0] == "ip")
    family = IpAddr::Family::V4;
  else if (t[0] == "ipv6")
    family = IpAddr::Family::V6;
  else
    return err(line, "expected 'ip' or 'ipv6', got '" + std::string(t[0]) + "'");
  if (t.size() < 2 || t[1] != "prefix-list")
    return err(line, "expected 'prefix-list' after '" + std::string(t[0]) + "'");
  if (t.size() < 3) return err(line, "missing prefix-list name");
  const std::string name(t[2]);
  auto list_it = std::find_if(lists.begin(), lists.end(), [&](const PrefixList& l) {
    return l.name == name && l.family == family;
  });

  std::size_t i = 3;
  if (i < t.size() && t[i] == "description") {
    if (list_it == lists.end()) lists.push_back(PrefixList{name, family, {}});
    return {};
  }

  PrefixListEntry e;
  bool have_seq = false;
  if (i < t.size() && t[i] == "seq") {
    if (i + 1 >= t.size()) return err(line, "missing number after 'seq'");
    auto v = parse_uint(t[i + 1]);
    if (!v || *v < 1 || *v > 4294967295u)
      return err(line, "invalid seq '" + std::string(t[i + 1]) + "' (1-4294967295)");
    e.seq = std::uint32_t(*v);
    have_seq = true;
    i += 2;
  }
  if (i >= t.size()) return err(line, "missing 'permit' or 'deny'");
  if (t[i] == "permit")
    e.action = Action::kPermit;
  else if (t[i] == "deny")
    e.action = Action::kDeny;
  else
    return err(line, "expected 'permit' or 'deny', got '" + std::string(t[i]) + "'");
  ++i;
  if (i >= t.size()) return err(line, "missing prefix or 'any'");
  const unsigned max = family_bits(family);
  if (t[i] == "any") {
    e.any = true;
    e.prefix.addr.family = family;
    e.prefix.len = 0;
    e.le = std::uint8_t(max);
    ++i;
    if (i < t.size()) return err(line, "unexpected '" + std::string(t[i]) + "' after 'any'");
  } else {
    const std::string_view ptok = t[i];
    auto p = ptok.find('/') == std::string_view::npos ? std::nullopt : IpPrefix::parse(ptok);
    if (!p) return err(line, "invalid prefix '" + std::string(ptok) + "' (want ADDRESS/LEN)");
    if (p->addr.family != family)
      return err(line, "prefix '" + std::string(ptok) + "' is not " +
                           (family == IpAddr::Family::V4 ? "IPv4 (ip prefix-list)"
                                                         : "IPv6 (ipv6 prefix-list)"));
    e.prefix = p->canonical();
    ++i;
    while (i < t.size()) {
      const std::string_view kw = t[i];
      if (kw != "ge" && kw != "le") return err(line, "unexpected '" + std::string(kw) + "'");
      auto& slot = kw == "ge" ? e.ge : e.le;
      if (slot) return err(line, "'" + std::string(kw) + "' given twice");
      if (i + 1 >= t.size()) return err(line, "missing length after '" + std::string(kw) + "'");
      auto v = parse_uint(t[i + 1]);
      if (!v || *v > max)
        return err(line, "invalid length '" + std::string(t[i + 1]) + "' after '" +
                             std::string(kw) + "' (0-" + std::to_string(max) + ")");
      slot = std::uint8_t(*v);
      i += 2;
    }
    const unsigned len = e.prefix.len;
    if ((e.ge && *e.ge <= len) || (e.le && *e.le < len) || (e.ge && e.le && *e.ge > *e.le))
      return err(
          line, "invalid prefix range for " + e.prefix.to_string() + ", make sure: len < ge <= le");
  }

  PrefixList* list;
  if (list_it == lists.end()) {
    lists.push_back(PrefixList{name, family, {}});
    list = &lists.back();
  } else {
    list = &*list_it;
  }
  auto& entries = list->entries;
  if (!have_seq) {
    std::uint64_t highest = 0;
    for (const auto& x : entries) highest = std::max<std::uint64_t>(highest, x.seq);
    const std::uint64_t next = highest / 5 * 5 + 5;
    if (next > 4294967295u)
      return err(line, "no sequence number left after " + std::to_string(highest));
    e.seq = std::uint32_t(next);
  }
  for (const auto& x : entries)
    if (x.seq != e.seq && same_match(x, e)) {
      return err(line, "duplicated prefix list value: " +
                           std::string(e.any ? "any" : e.prefix.to_string()) + " (seq " +
                           std::to_string(x.seq) + ")");
    }
  auto pos = std::lower_bound(entries.begin(), entries.end(), e.seq,
                              [](const PrefixListEntry& x, std::uint32_t s) { return x.seq < s; });
  if (pos != entries.end() && pos->seq == e.seq)
    *pos = e;
  else
    entries.insert(pos, e);
  return {};
}

}  // namespace wgcore::routing::policy
