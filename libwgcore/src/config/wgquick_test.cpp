// wg-quick config parsing and writing: the fixture folder (good files parse and write back
// canonically, bad files fail with exactly the expected message), field-level checks, the
// DeviceUpdate that `wg setconf` would apply, and randomized format/parse round trips.
#include "wgcore/wgquick.hpp"

#include <unistd.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <random>
#include <sstream>

#include "testing/fixtures.hpp"

namespace wgcore::config {
namespace {

using testing_support::file_exists;
using testing_support::read_file;
std::string fixture_dir() { return testing_support::fixture_dir("wgquick"); }
std::vector<std::string> confs(const std::string& dir) {
  return testing_support::names_with_suffix(dir, ".conf");
}

Key K(const char* b64) { return *key_from_base64(b64); }

constexpr const char* kPriv = "KMhChefH/EWdlsw4Bln1DQOZc9Sko/b3VE0QlpoBf3k=";
constexpr const char* kPub2 = "pgBaYhzzwd2OjI7QYzXiEYsAqkR8M84O2AVOBRiPgnw=";
constexpr const char* kPub3 = "vzu4kBGTi+iauvgY2seNEBUjGaW5lL+z4A3q8M3IuDY=";
constexpr const char* kPsk = "prXh5nywPjYE5vmFrHDkmuk3DqqLLobZoTr6j7NV5YY=";

TEST(WgQuickFixtures, GoodFilesParseAndWriteBackCanonically) {
  auto names = confs(fixture_dir() + "/good");
  ASSERT_GE(names.size(), 4u) << "fixtures missing under " << fixture_dir();
  for (const auto& n : names) {
    SCOPED_TRACE(n);
    std::string text = read_file(fixture_dir() + "/good/" + n + ".conf");
    auto c = parse_wgquick(text, n + ".conf");
    ASSERT_TRUE(c) << c.error().message;
    std::string canon_path = fixture_dir() + "/good/" + n + ".canonical";
    std::string want = file_exists(canon_path) ? read_file(canon_path) : text;
    std::string got = format_wgquick(*c);
    EXPECT_EQ(got, want);
    // Canonical text is a fixed point.
    auto again = parse_wgquick(got, "again.conf");
    ASSERT_TRUE(again) << again.error().message;
    EXPECT_EQ(format_wgquick(*again), got);
  }
}

TEST(WgQuickFixtures, BadFilesFailWithTheExpectedMessage) {
  auto names = confs(fixture_dir() + "/bad");
  ASSERT_GE(names.size(), 20u);
  for (const auto& n : names) {
    SCOPED_TRACE(n);
    std::string err_path = fixture_dir() + "/bad/" + n + ".err";
    ASSERT_TRUE(file_exists(err_path)) << "no .err file for " << n;
    std::string want = read_file(err_path);
    while (!want.empty() && want.back() == '\n') want.pop_back();
    auto c = parse_wgquick(read_file(fixture_dir() + "/bad/" + n + ".conf"), n + ".conf");
    ASSERT_FALSE(c) << "accepted a bad file";
    EXPECT_EQ(c.error().message, want);
    EXPECT_EQ(c.error().code, EINVAL);
  }
}

TEST(WgQuick, FullFileFields) {
  auto c = load_wgquick(fixture_dir() + "/good/full.conf");
  ASSERT_TRUE(c) << c.error().message;
  ASSERT_EQ(c->addresses.size(), 2u);
  EXPECT_EQ(c->addresses[0].to_string(), "203.0.113.1/24");
  EXPECT_EQ(c->addresses[1].to_string(), "fd00:77::1/64");
  ASSERT_EQ(c->dns.size(), 2u);
  EXPECT_EQ(c->dns[1].to_string(), "fd00:77::53");
  EXPECT_EQ(c->dns_search, std::vector<std::string>{"corp.example"});
  EXPECT_EQ(c->mtu, std::optional<unsigned>(1380));
  ASSERT_TRUE(c->table);
  EXPECT_EQ(c->table->kind, RouteTable::Kind::kId);
  EXPECT_EQ(c->table->id, 51820u);
  EXPECT_TRUE(c->save_config);
  EXPECT_EQ(c->post_up, std::vector<std::string>{"iptables -A FORWARD -i %i -j ACCEPT; echo \"up\""});
  EXPECT_EQ(c->listen_port, std::optional<std::uint16_t>(51820));
  EXPECT_EQ(c->fwmark, std::optional<std::uint32_t>(0x1234));
  ASSERT_TRUE(c->private_key);
  EXPECT_TRUE(*c->private_key == K(kPriv));
  ASSERT_EQ(c->peers.size(), 2u);
  EXPECT_TRUE(c->peers[0].public_key == K(kPub2));
  ASSERT_TRUE(c->peers[0].preshared_key);
  EXPECT_TRUE(*c->peers[0].preshared_key == K(kPsk));
  EXPECT_EQ(c->peers[0].allowed_ips.size(), 2u);
  EXPECT_EQ(c->peers[0].endpoint->to_string(), "198.51.100.2:51821");
  EXPECT_EQ(c->peers[0].persistent_keepalive, std::optional<std::uint16_t>(25));
  EXPECT_EQ(c->peers[1].endpoint->host, "2001:db8:1::3");
  EXPECT_EQ(c->peers[1].endpoint->port, 51822);
  EXPECT_FALSE(c->peers[1].persistent_keepalive);
  EXPECT_EQ(c->peers[1].line, 25);
}

TEST(WgQuick, OffValuesAndHostnames) {
  auto c = load_wgquick(fixture_dir() + "/good/table_off.conf");
  ASSERT_TRUE(c) << c.error().message;
  EXPECT_EQ(c->table->kind, RouteTable::Kind::kOff);
  EXPECT_EQ(c->fwmark, std::optional<std::uint32_t>(0));
  EXPECT_EQ(c->listen_port, std::optional<std::uint16_t>(0));
  EXPECT_EQ(c->peers[0].persistent_keepalive, std::optional<std::uint16_t>(0));
  EXPECT_EQ(c->peers[0].endpoint->host, "vpn.example.org");
  // The parser never resolves names; the numeric resolver refuses, a caller's resolver decides.
  auto numeric = to_device_update(*c);
  ASSERT_FALSE(numeric);
  EXPECT_EQ(numeric.error().message, "endpoint vpn.example.org:51820: not a numeric address");
  std::string asked;
  auto resolved = to_device_update(*c, [&](const EndpointSpec& s) -> Result<Endpoint> {
    asked = s.host;
    return Endpoint::make(*IpAddr::parse("198.51.100.9"), s.port);
  });
  ASSERT_TRUE(resolved) << resolved.error().message;
  EXPECT_EQ(asked, "vpn.example.org");
  EXPECT_EQ(resolved->peers[0].endpoint->to_string(), "198.51.100.9:51820");
}

TEST(WgQuick, DeviceUpdateIsWhatSetconfApplies) {
  auto c = load_wgquick(fixture_dir() + "/good/full.conf");
  ASSERT_TRUE(c);
  auto u = to_device_update(*c);
  ASSERT_TRUE(u) << u.error().message;
  EXPECT_TRUE(u->replace_peers);
  EXPECT_TRUE(*u->private_key == K(kPriv));
  EXPECT_EQ(u->listen_port, std::optional<std::uint16_t>(51820));
  EXPECT_EQ(u->fwmark, std::optional<std::uint32_t>(0x1234));
  ASSERT_EQ(u->peers.size(), 2u);
  const PeerUpdate& p = u->peers[0];
  EXPECT_TRUE(p.public_key == K(kPub2));
  EXPECT_FALSE(p.remove);
  EXPECT_FALSE(p.update_only);
  EXPECT_EQ(p.endpoint->to_string(), "198.51.100.2:51821");
  EXPECT_EQ(p.persistent_keepalive_interval, std::optional<std::uint16_t>(25));
  ASSERT_EQ(p.allowed_ips.size(), 3u);
  EXPECT_EQ(p.allowed_ips[0].kind, AllowedIpOp::Kind::kReplaceAll);
  EXPECT_EQ(p.allowed_ips[1], (AllowedIpOp{AllowedIpOp::Kind::kAdd, *IpPrefix::parse("0.0.0.0/0")}));
  EXPECT_EQ(p.allowed_ips[2], (AllowedIpOp{AllowedIpOp::Kind::kAdd, *IpPrefix::parse("::/0")}));
  EXPECT_EQ(u->peers[1].endpoint->to_string(), "[2001:db8:1::3]:51822");
  EXPECT_FALSE(u->peers[1].preshared_key);
  EXPECT_FALSE(u->peers[1].persistent_keepalive_interval);
}

TEST(WgQuick, LocateConfigFollowsWgQuickNaming) {
  char tmpl[] = "/tmp/wgquick_test.XXXXXX";
  ASSERT_NE(::mkdtemp(tmpl), nullptr);
  std::string dir = tmpl;
  std::ofstream(dir + "/wg0.conf") << "[Interface]\n";
  std::ofstream(dir + "/not a name.conf") << "[Interface]\n";
  std::ofstream(dir + "/toolonginterfacename.conf") << "[Interface]\n";
  auto byname = locate_config("wg0", dir);
  ASSERT_TRUE(byname) << byname.error().message;
  EXPECT_EQ(byname->path, dir + "/wg0.conf");
  EXPECT_EQ(byname->interface, "wg0");
  auto bypath = locate_config(dir + "/wg0.conf", "/nonexistent");
  ASSERT_TRUE(bypath);
  EXPECT_EQ(bypath->interface, "wg0");
  auto missing = locate_config("wg9", dir);
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().message, "`" + dir + "/wg9.conf' does not exist");
  auto badname = locate_config(dir + "/not a name.conf");
  ASSERT_FALSE(badname);
  EXPECT_EQ(badname.error().message, "The config file must be a valid interface name, followed by .conf");
  EXPECT_FALSE(locate_config(dir + "/toolonginterfacename.conf"));
  EXPECT_TRUE(valid_interface_name("wg-0.a=+_"));
  EXPECT_FALSE(valid_interface_name("wg/0"));
  EXPECT_FALSE(valid_interface_name(""));
  for (const char* f : {"/wg0.conf", "/not a name.conf", "/toolonginterfacename.conf"}) ::unlink((dir + f).c_str());
  ::rmdir(dir.c_str());
}

TEST(WgQuick, SaveWritesPrivatelyAndAtomically) {
  char tmpl[] = "/tmp/wgquick_test.XXXXXX";
  ASSERT_NE(::mkdtemp(tmpl), nullptr);
  std::string path = std::string(tmpl) + "/wg0.conf";
  auto c = load_wgquick(fixture_dir() + "/good/full.conf");
  ASSERT_TRUE(c);
  ::umask(022);
  ASSERT_TRUE(save_wgquick(path, *c).ok());
  struct stat st;
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  EXPECT_EQ(read_file(path), read_file(fixture_dir() + "/good/full.conf"));
  EXPECT_FALSE(file_exists(path + ".tmp"));
  ::unlink(path.c_str());
  ::rmdir(tmpl);
}

// Random configurations survive format -> parse -> format unchanged, and every field is kept.
TEST(WgQuick, RandomRoundTrips) {
  std::mt19937 rng(4242);
  auto u = [&](std::uint32_t n) { return std::uniform_int_distribution<std::uint32_t>(0, n - 1)(rng); };
  auto rkey = [&] {
    Key k;
    for (std::size_t i = 0; i < k.size(); ++i) k[i] = std::uint8_t(u(256));
    return k;
  };
  auto rprefix = [&] {
    IpPrefix p;
    if (u(2)) {
      p.addr = IpAddr::v4(u(0xffffffffu));
      p.len = std::uint8_t(u(33));
    } else {
      std::uint8_t b[16];
      for (auto& x : b) x = std::uint8_t(u(256));
      p.addr = IpAddr::v6_bytes(b);
      p.len = std::uint8_t(u(129));
    }
    return p;
  };
  const char* hooks[] = {"echo %i", "ip link show %i; true", "printf '%s\\n' \"a  b\"", "x=1"};
  for (int iter = 0; iter < 300; ++iter) {
    WgQuickConfig c;
    for (unsigned i = u(3); i > 0; --i) c.addresses.push_back(rprefix());
    for (unsigned i = u(3); i > 0; --i) c.dns.push_back(rprefix().addr);
    if (u(2)) c.dns_search.push_back("d" + std::to_string(u(100)) + ".example");
    if (u(2)) c.mtu = 68 + u(65535 - 68 + 1);
    if (u(2)) {
      RouteTable t;
      t.kind = RouteTable::Kind(u(4));
      t.id = 1 + u(0xfffffffeu);
      t.name = t.kind == RouteTable::Kind::kName ? "tbl" + std::to_string(u(9)) : "";
      if (t.kind != RouteTable::Kind::kId) t.id = 0;
      c.table = t;
    }
    c.save_config = u(2);
    for (auto* v : {&c.pre_up, &c.post_up, &c.pre_down, &c.post_down})
      for (unsigned i = u(3); i > 0; --i) v->push_back(hooks[u(4)]);
    if (u(2)) c.listen_port = std::uint16_t(u(65536));
    if (u(2)) c.fwmark = u(0xffffffffu);
    if (u(2)) c.private_key = rkey();
    for (unsigned i = u(4); i > 0; --i) {
      WgQuickPeer p;
      p.public_key = rkey();
      if (u(2)) p.preshared_key = rkey();
      for (unsigned j = u(4); j > 0; --j) p.allowed_ips.push_back(rprefix());
      if (u(2)) {
        IpAddr a = rprefix().addr;
        p.endpoint = EndpointSpec{u(4) ? a.to_string() : "host" + std::to_string(u(9)) + ".example",
                                  std::uint16_t(u(65536))};
      }
      if (u(2)) p.persistent_keepalive = std::uint16_t(u(65536));
      c.peers.push_back(std::move(p));
    }
    std::string text = format_wgquick(c);
    auto back = parse_wgquick(text, "random.conf");
    ASSERT_TRUE(back) << back.error().message << "\n" << text;
    EXPECT_EQ(format_wgquick(*back), text);
    ASSERT_EQ(back->peers.size(), c.peers.size());
    EXPECT_EQ(back->addresses, c.addresses);
    EXPECT_EQ(back->dns, c.dns);
    EXPECT_EQ(back->mtu, c.mtu);
    EXPECT_EQ(back->table, c.table);
    EXPECT_EQ(back->fwmark, c.fwmark);
    EXPECT_EQ(back->post_down, c.post_down);
    for (std::size_t i = 0; i < c.peers.size(); ++i) {
      EXPECT_TRUE(back->peers[i].public_key == c.peers[i].public_key);
      EXPECT_EQ(back->peers[i].allowed_ips, c.peers[i].allowed_ips);
      EXPECT_EQ(back->peers[i].endpoint, c.peers[i].endpoint);
      EXPECT_EQ(back->peers[i].persistent_keepalive, c.peers[i].persistent_keepalive);
    }
  }
}

}  // namespace
// One parser for Table= (the wg-quick file and the NetworkManager profile both use it).
TEST(RouteTable, ParseIsWgQuicks) {
  EXPECT_EQ(RouteTable::parse("off")->kind, RouteTable::Kind::kOff);
  EXPECT_EQ(RouteTable::parse("auto")->kind, RouteTable::Kind::kAuto);
  EXPECT_EQ(RouteTable::parse("4294967295")->id, 4294967295u);
  EXPECT_EQ(RouteTable::parse("main")->name, "main");
  EXPECT_EQ(RouteTable::parse("vpn-1.x_y")->kind, RouteTable::Kind::kName);
  for (const char* bad : {"0", "", "a b", "t/1", "table;", "é"}) EXPECT_FALSE(RouteTable::parse(bad)) << bad;
  EXPECT_EQ(RouteTable::parse("4294967296")->kind, RouteTable::Kind::kName) << "too large for an id: a name, as wg-quick";
  for (const char* v : {"off", "auto", "7", "main"}) EXPECT_EQ(RouteTable::parse(v)->to_string(), v);
}

}  // namespace wgcore::config
