// Fuzz target: a NetworkManager profile's vpn.data and vpn.secrets, which anyone allowed to edit
// connections can set to anything (nmcli connection modify) and which the service reads as root.
// Input: one item per line, "key=value" for vpn.data, "*key=value" for vpn.secrets (or, when it
// starts with '[', a wg-quick file to import and export). The profile reader must never crash;
// its errors name the vpn.data/vpn.secrets item and never print a secret; an accepted profile
// exports to wg-quick text that imports back and exports to the same text; missing_secrets only
// lists secrets the profile declares.
#include <algorithm>
#include <string>

#include "fuzz_common.hpp"
#include "../../nm-plugin/shared/profile.hpp"

using namespace wgcore;

namespace {

// Secret values carry a marker no other input has (decode drops \x01 from everything else), so
// a message containing it printed a secret.
constexpr char kMark = '\x01';
nm::Profile marked(const nm::Profile& p) {
  nm::Profile m = p;
  for (auto& [name, value] : m.secrets)
    value = value.substr(0, value.size() / 2) + kMark + value.substr(value.size() / 2);
  return m;
}

nm::Profile decode(std::string_view text) {
  nm::Profile p;
  while (!text.empty()) {
    auto nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text = nl == std::string_view::npos ? std::string_view() : text.substr(nl + 1);
    bool secret = !line.empty() && line.front() == '*';
    if (secret) line.remove_prefix(1);
    auto eq = line.find('=');
    if (eq == std::string_view::npos) continue;
    auto& map = secret ? p.secrets : p.data;
    std::string key(line.substr(0, eq)), value(line.substr(eq + 1));
    std::erase(key, kMark);
    std::erase(value, kMark);
    map[key] = value;
  }
  return p;
}

// Input starting with '[': a wg-quick file as `nmcli connection import` reads it. What imports
// must export, and the export must import and export to the same text.
void import_export(std::string_view text) {
  auto p = nm::import_wgquick(text, "fuzz.conf");
  if (!p.ok()) {
    FUZZ_CHECK(p.error().message.rfind("fuzz.conf:", 0) == 0);
    return;
  }
  FUZZ_CHECK(nm::wgquick_from_profile(*p).ok() || !nm::missing_secrets(*p).empty());
  auto out = nm::export_wgquick(*p);
  FUZZ_CHECK(out.ok());
  auto again = nm::import_wgquick(*out, "export.conf");
  FUZZ_CHECK(again.ok());
  FUZZ_CHECK(*again == *p);
  auto out2 = nm::export_wgquick(*again);
  FUZZ_CHECK(out2.ok() && *out2 == *out);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size > 0 && data[0] == '[') {
    import_export(fuzz::as_text(data, size));
    return 0;
  }
  const nm::Profile profile = decode(fuzz::as_text(data, size));

  const auto declared = nm::declared_secrets(profile);
  for (const auto& name : nm::missing_secrets(profile))
    FUZZ_CHECK(std::find(declared.begin(), declared.end(), name) != declared.end());

  for (auto missing : {nm::MissingSecrets::kError, nm::MissingSecrets::kOmit}) {
    auto cfg = nm::wgquick_from_profile(profile, missing);
    if (!cfg.ok()) {
      const std::string& m = cfg.error().message;
      FUZZ_CHECK(m.rfind("vpn.data: ", 0) == 0 || m.rfind("vpn.secrets: ", 0) == 0);
    }
  }
  if (auto leak = nm::wgquick_from_profile(marked(profile)); !leak.ok())
    FUZZ_CHECK(leak.error().message.find(kMark) == std::string::npos);

  auto text = nm::export_wgquick(profile);
  FUZZ_CHECK(text.ok() == nm::wgquick_from_profile(profile, nm::MissingSecrets::kOmit).ok());
  if (!text.ok()) return 0;
  auto again = nm::import_wgquick(*text, "export.conf");
  FUZZ_CHECK(again.ok());
  auto text2 = nm::export_wgquick(*again);
  FUZZ_CHECK(text2.ok() && *text2 == *text);
  return 0;
}
