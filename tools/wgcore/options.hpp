// Command-line options of `wgcore` subcommands through getopt_long: an unknown option, a
// missing value or an option given to a command that does not take it is an error that names
// it (exit status 2), never an operand by accident (`wgcore show --jsno`).
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

namespace wgcore::cli {

struct OptionSpec {
  const char* name;  // long name, without "--"
  bool value;        // takes a value (--name VALUE or --name=VALUE)
  char short_name = 0;
};

struct ParsedArgs {
  std::map<std::string, std::string> options;  // given options by long name ("" for flags)
  std::vector<std::string> operands;
  bool has(const std::string& name) const { return options.count(name) > 0; }
};

// Parses `args` (the words after the subcommand). On error prints "wgcore COMMAND: ..." and
// returns nothing; the caller prints its usage and exits 2.
std::optional<ParsedArgs> parse_options(const std::string& command, const std::vector<std::string>& args,
                                        const std::vector<OptionSpec>& spec);

}  // namespace wgcore::cli
