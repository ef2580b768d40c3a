// Small text helpers shared by the configuration readers (wg-quick files, NM profiles, frr-wgd
// and networkd configs): the same trimming, word splitting and number reading everywhere, so
// a value means the same thing whichever file it came from.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace wgcore::text {

// Without leading and trailing whitespace (isspace in the C locale).
std::string_view trim(std::string_view s);
// Every whitespace character removed (wg's key = value lines ignore spaces anywhere).
std::string strip_spaces(std::string_view s);
// ASCII case-insensitive equality (section and key names).
bool iequals(std::string_view a, std::string_view b);
// Split on commas and whitespace, dropping empty words (bash's ${value//,/ } word splitting,
// which is how wg-quick reads Address and DNS).
std::vector<std::string> split_words(std::string_view s);
// Calls f(line, number) for each '\n'-separated line, numbered from 1 (a last line without '\n'
// counts; a trailing '\n' adds none). f returns false to stop; the result says whether it ran to
// the end.
template <class F>
bool for_each_line(std::string_view s, F&& f) {
  int n = 0;
  std::size_t pos = 0;
  while (pos < s.size()) {
    std::size_t nl = s.find('\n', pos);
    std::string_view line = s.substr(pos, nl == std::string_view::npos ? s.npos : nl - pos);
    pos = nl == std::string_view::npos ? s.size() : nl + 1;
    if (!f(line, ++n)) return false;
  }
  return true;
}

// Decimal digits only (no sign, no spaces), at most max; nullopt otherwise.
std::optional<std::uint64_t> parse_decimal(std::string_view s, std::uint64_t max);

}  // namespace wgcore::text
