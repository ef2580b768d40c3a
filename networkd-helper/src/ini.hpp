// systemd's INI dialect (systemd.syntax(7)) as conf-parser.c reads it: comments (# ;), trailing
// backslash continuation (the backslash becomes a space, the next raw line is appended, comment
// lines inside are skipped), a leading UTF-8 BOM skipped, whitespace trimmed around the key
// and value, [Section] headers, unknown sections warned about once and their keys dropped
// (X- sections silently). Pure: text in, assignments and diagnostics out.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "diagnostics.hpp"

namespace wgcore::networkd {

struct IniAssignment {
  std::string file;
  std::string section;
  unsigned section_line = 0;  // line of the [Section] header: identifies repeated sections
  std::string key;
  std::string value;
  unsigned line = 0;
};

// Parses one file's text. Returns false on an error that makes systemd reject the whole file
// (an invalid section header); diagnostics say why with file:line. Lines without '=' and
// assignments outside a section are warned about and skipped, as systemd does.
bool parse_ini(std::string_view text, const std::string& file,
               const std::vector<std::string_view>& known_sections,
               std::vector<IniAssignment>& out, Diagnostics& diags);

// systemd's whitespace set for trimming and word splitting.
bool is_ws(char c);
std::string_view trim(std::string_view s);

}  // namespace wgcore::networkd
