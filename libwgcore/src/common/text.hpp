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
// Decimal digits only (no sign, no spaces), at most max; nullopt otherwise.
std::optional<std::uint64_t> parse_decimal(std::string_view s, std::uint64_t max);

}  // namespace wgcore::text
