// wg-quick's nftables firewall through libnftables; see quick_firewall.hpp.
#include "routing/quick_firewall.hpp"

#include <nftables/libnftables.h>

#include <cerrno>
#include <memory>
#include <sstream>

namespace wgcore::routing {

namespace {

struct CtxFree {
  void operator()(nft_ctx* c) const { nft_ctx_free(c); }
};

// One libnftables batch; its output (for `list`), or the error nft printed.
Result<std::string> run_nft(const std::string& commands) {
  std::unique_ptr<nft_ctx, CtxFree> ctx(nft_ctx_new(NFT_CTX_DEFAULT));
  if (!ctx) return make_error(ENOMEM, "nft: cannot create a libnftables context");
  nft_ctx_buffer_output(ctx.get());
  nft_ctx_buffer_error(ctx.get());
  if (nft_run_cmd_from_buffer(ctx.get(), commands.c_str()) != 0) {
    const char* e = nft_ctx_get_error_buffer(ctx.get());
    std::string msg = e ? e : "";
    while (!msg.empty() && msg.back() == '\n') msg.pop_back();
    return make_error(EINVAL, "nft: " + (msg.empty() ? std::string("command failed") : msg));
  }
  const char* out = nft_ctx_get_output_buffer(ctx.get());
  return std::string(out ? out : "");
}

void each_line(const std::string& text, const std::function<void(const std::string&)>& log) {
  if (!log) return;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line))
    if (!line.empty()) log("nft " + line);
}

}  // namespace

std::string quick_firewall_commands(const std::string& iface, IpAddr::Family family, std::uint32_t fwmark,
                                    const std::vector<IpAddr>& addresses) {
  const std::string pf = family == IpAddr::Family::V4 ? "ip" : "ip6";
  const std::string t = pf + " wg-quick-" + iface;
  std::string c;
  c += "add table " + t + "\n";
  c += "add chain " + t + " preraw { type filter hook prerouting priority -300; }\n";
  c += "add chain " + t + " premangle { type filter hook prerouting priority -150; }\n";
  c += "add chain " + t + " postmangle { type filter hook postrouting priority -150; }\n";
  for (const auto& a : addresses)
    if (a.family == family)
      c += "add rule " + t + " preraw iifname != \"" + iface + "\" " + pf + " daddr " + a.to_string() +
           " fib saddr type != local drop\n";
  c += "add rule " + t + " postmangle meta l4proto udp mark " + std::to_string(fwmark) + " ct mark set mark \n";
  c += "add rule " + t + " premangle meta l4proto udp meta mark set ct mark \n";
  return c;
}

Status add_quick_firewall(const std::string& iface, IpAddr::Family family, std::uint32_t fwmark,
                          const std::vector<IpAddr>& addresses, const std::function<void(const std::string&)>& log) {
  const std::string c = quick_firewall_commands(iface, family, fwmark, addresses);
  each_line(c, log);
  auto r = run_nft(c);
  if (!r) return r.error();
  return {};
}

Status remove_quick_firewall(const std::string& iface, const std::function<void(const std::string&)>& log) {
  auto tables = run_nft("list tables");
  if (!tables) return tables.error();
  std::string c;
  std::istringstream in(*tables);
  std::string line;
  const std::string suffix = " wg-quick-" + iface;
  while (std::getline(in, line))
    if (line.size() > suffix.size() && line.compare(line.size() - suffix.size(), suffix.size(), suffix) == 0)
      c += "delete " + line + "\n";  // "table ip wg-quick-wg0"
  if (c.empty()) return {};
  each_line(c, log);
  auto r = run_nft(c);
  if (!r) return r.error();
  return {};
}

}  // namespace wgcore::routing
