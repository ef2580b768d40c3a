// systemd INI reader (see ini.hpp); the wording of each message is conf-parser.c's.
#include "ini.hpp"

#include <algorithm>

namespace wgcore::networkd {

using Level = Diagnostic::Level;

bool is_ws(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

std::string_view trim(std::string_view s) {
  while (!s.empty() && is_ws(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_ws(s.back())) s.remove_suffix(1);
  return s;
}

bool parse_ini(std::string_view text, const std::string& file,
               const std::vector<std::string_view>& known_sections,
               std::vector<IniAssignment>& out, Diagnostics& diags) {
  std::string section;
  unsigned section_line = 0;
  bool section_ignored = false;
  bool have_continuation = false;
  std::string continuation;  // raw lines joined, each trailing backslash turned into a space
  unsigned line_no = 0;

  // parse_line(): one logical line; false when the whole file is rejected.
  auto parse_line = [&](std::string_view l) -> bool {
    l = trim(l);
    if (l.empty()) return true;
    if (l.front() == '[') {
      if (l.back() != ']') {
        diags.syntax(Diagnostic::Level::kError, file, line_no,
                     "Invalid section header '" + std::string(l) + "'");
        diags.syntax(Diagnostic::Level::kError, file, line_no, "Failed to parse file: Bad message");
        return false;
      }
      std::string n(l.substr(1, l.size() - 2));
      if (std::find(known_sections.begin(), known_sections.end(), n) == known_sections.end()) {
        if (n.rfind("X-", 0) != 0)
          diags.syntax(Level::kWarning, file, line_no, "Unknown section '" + n + "'. Ignoring.");
        section.clear();
        section_line = 0;
        section_ignored = true;
      } else {
        section = std::move(n);
        section_line = line_no;
        section_ignored = false;
      }
      return true;
    }
    if (section.empty()) {
      if (!section_ignored)
        diags.syntax(Level::kWarning, file, line_no, "Assignment outside of section. Ignoring.");
      return true;
    }
    std::size_t eq = l.find('=');
    if (eq == std::string_view::npos) {
      diags.syntax(Level::kWarning, file, line_no, "Missing '=', ignoring line.");
      return true;
    }
    if (eq == 0) {
      diags.syntax(Level::kWarning, file, line_no, "Missing key name before '=', ignoring line.");
      return true;
    }
    IniAssignment a;
    a.file = file;
    a.section = section;
    a.section_line = section_line;
    a.key = std::string(trim(l.substr(0, eq)));
    a.value = std::string(trim(l.substr(eq + 1)));
    a.line = line_no;
    out.push_back(std::move(a));
    return true;
  };

  std::size_t pos = 0;
  while (pos < text.size()) {
    std::size_t nl = text.find('\n', pos);
    std::string_view buf = text.substr(pos, nl == std::string_view::npos ? std::string_view::npos : nl - pos);
    pos = nl == std::string_view::npos ? text.size() : nl + 1;
    ++line_no;
    if (buf.find('\0') != std::string_view::npos) {
      diags.syntax(Level::kError, file, line_no, "Failed to parse file: Invalid argument");
      return false;
    }
    std::string_view lead = buf;
    while (!lead.empty() && is_ws(lead.front())) lead.remove_prefix(1);
    if (!lead.empty() && (lead.front() == '#' || lead.front() == ';')) continue;  // comments, always
    if (line_no == 1 && buf.substr(0, 3) == "\xEF\xBB\xBF") buf.remove_prefix(3);  // UTF-8 BOM

    std::string p = have_continuation ? continuation + std::string(buf) : std::string(buf);
    bool escaped = false;
    for (char c : p) escaped = escaped ? false : c == '\\';
    if (escaped) {
      p.back() = ' ';
      continuation = std::move(p);
      have_continuation = true;
      continue;
    }
    if (!parse_line(p)) return false;
    have_continuation = false;
    continuation.clear();
  }
  if (have_continuation) {
    ++line_no;
    if (!parse_line(continuation)) return false;
  }
  return true;
}

}  // namespace wgcore::networkd
