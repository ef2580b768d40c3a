#include "options.hpp"

#include <getopt.h>

#include <cstdio>

namespace wgcore::cli {

std::optional<ParsedArgs> parse_options(const std::string& command, const std::vector<std::string>& args,
                                        const std::vector<OptionSpec>& spec) {
  std::vector<option> longopts;
  std::string shortopts = ":";  // leading ':': a missing value is reported as ':' and said here
  for (std::size_t i = 0; i < spec.size(); ++i) {
    longopts.push_back({spec[i].name, spec[i].value ? required_argument : no_argument, nullptr, int(256 + i)});
    if (spec[i].short_name) {
      shortopts += spec[i].short_name;
      if (spec[i].value) shortopts += ':';
    }
  }
  longopts.push_back({nullptr, 0, nullptr, 0});
  const std::string prog = "wgcore " + command;
  std::vector<std::string> words{prog};
  words.insert(words.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& w : words) argv.push_back(w.data());
  argv.push_back(nullptr);
  ParsedArgs out;
  opterr = 0;  // messages below, with the command's name
  optind = 0;  // glibc: start over (earlier calls in the same process)
  for (int c, idx = -1; (c = getopt_long(int(words.size()), argv.data(), shortopts.c_str(), longopts.data(), &idx)) != -1; idx = -1) {
    if (c == '?' || c == ':') {
      const char* bad = argv[optind - 1];
      if (c == ':')
        fprintf(stderr, "%s: option '%s' needs a value\n", prog.c_str(), bad);
      else
        fprintf(stderr, "%s: unknown option '%s'\n", prog.c_str(), optopt && optopt < 256 ? std::string(1, char(optopt)).insert(0, "-").c_str() : bad);
      return std::nullopt;
    }
    std::size_t i = c >= 256 ? std::size_t(c - 256) : spec.size();
    if (c < 256)
      for (std::size_t k = 0; k < spec.size(); ++k)
        if (spec[k].short_name == c) i = k;
    if (i >= spec.size()) return std::nullopt;
    out.options[spec[i].name] = spec[i].value && optarg ? optarg : "";
  }
  // getopt_long moved the operands behind the options in argv (not in words).
  for (int k = optind; k < int(words.size()); ++k) out.operands.push_back(argv[std::size_t(k)]);
  return out;
}

}  // namespace wgcore::cli
