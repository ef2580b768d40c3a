// The .netdev reader against systemd-networkd 252's rules: INI dialect, messages, which errors
// drop an assignment, a peer or the whole netdev, search path, masking and drop-ins.
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>

#include "ini.hpp"
#include "netdev.hpp"
#include "netdev_files.hpp"

namespace wgcore::networkd {
namespace {

const char* kPriv = "yAnz5TF+lXXJte14tji3zlMNq+hd2rYUIgJBgB3fBmk=";
const char* kPub1 = "xTIBA5rboUvnH4htodjb6e697QjLERt1NAB4mZqp8Dg=";
const char* kPub2 = "TrMvSoP4jYQlY6RIzBgbssQqY3vxI2Pi+y71lOWWXX0=";

std::optional<NetdevParse> parse(const std::string& text, Diagnostics& d,
                                 const std::string& file = "/etc/systemd/network/10-wg0.netdev") {
  return parse_netdev({{file, text}}, d);
}

TEST(Ini, ContinuationCommentsAndTrimming) {
  std::vector<IniAssignment> out;
  Diagnostics d;
  // As systemd.syntax(7)'s example: the backslash becomes a space, the next raw line is appended
  // (its leading whitespace kept), comment lines inside are dropped; the statement carries the
  // number of its last line.
  ASSERT_TRUE(parse_ini("# c\n; c\n[A]\n  Key  =  v1 \\\n# skipped\n  v2  \nX=\n", "f", {"A"}, out, d));
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0].key, "Key");
  EXPECT_EQ(out[0].value, "v1    v2");
  EXPECT_EQ(out[0].line, 6u);
  EXPECT_EQ(out[1].value, "");
  EXPECT_EQ(out[1].line, 7u);
  EXPECT_TRUE(d.empty()) << d.joined();
}

TEST(Ini, MissingEqualsAndStrayAssignmentsAreIgnored) {
  std::vector<IniAssignment> out;
  Diagnostics d;
  ASSERT_TRUE(parse_ini("A=1\n[A]\nfoo\n=x\nB=2\n", "f", {"A"}, out, d));
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(d.joined(), "f:1: Assignment outside of section. Ignoring.\n"
                        "f:3: Missing '=', ignoring line.\n"
                        "f:4: Missing key name before '=', ignoring line.\n");
}

TEST(Ini, UnknownSectionWarnsOnceAndDropsItsKeys) {
  std::vector<IniAssignment> out;
  Diagnostics d;
  ASSERT_TRUE(parse_ini("[Foo]\nA=1\n[X-Mine]\nB=2\n[A]\nC=3\n", "f.netdev", {"A"}, out, d));
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(d.joined(), "f.netdev:1: Unknown section 'Foo'. Ignoring.\n");
}

TEST(Ini, BadHeaderRejectsTheFile) {
  std::vector<IniAssignment> out;
  Diagnostics d;
  EXPECT_FALSE(parse_ini("[A]\nB=1\n[A\n", "f", {"A"}, out, d));
  EXPECT_EQ(d.joined(), "f:3: Invalid section header '[A'\nf:3: Failed to parse file: Bad message\n");
}

TEST(Netdev, FullWireGuardFile) {
  Diagnostics d;
  auto p = parse(std::string("[Match]\n[NetDev]\nName=wg0\nKind=wireguard\nMTUBytes=1.4K\nMTUBytes=1400\n"
                             "Description=test\n[WireGuard]\nPrivateKey=") + kPriv +
                     "\nListenPort=51820\nFirewallMark=42\nRouteTable=main\nRouteMetric=7\n"
                     "[WireGuardPeer]\nPublicKey=" + kPub1 +
                     "\nAllowedIPs=10.0.0.0/24, fd00:77::/64\nAllowedIPs=198.18.0.1\n"
                     "Endpoint=[2001:db8::1]:51820\nPersistentKeepalive=25\nRouteTable=off\n"
                     "[WireGuardPeer]\nPublicKey=" + kPub2 + "\nEndpoint=peer.example:4500\n",
                 d);
  ASSERT_TRUE(p && p->wireguard);
  const auto& w = *p->wireguard;
  EXPECT_EQ(w.name, "wg0");
  EXPECT_EQ(w.description, "test");
  EXPECT_EQ(w.mtu, 1400u);
  EXPECT_EQ(w.listen_port, 51820);
  EXPECT_EQ(w.fwmark, 42u);
  EXPECT_EQ(w.route_table, 254u);
  EXPECT_EQ(w.route_metric, 7u);
  ASSERT_EQ(w.peers.size(), 2u);
  EXPECT_EQ(to_base64(*w.peers[0].public_key), kPub1);
  ASSERT_EQ(w.peers[0].allowed_ips.size(), 3u);
  EXPECT_EQ(w.peers[0].allowed_ips[2].to_string(), "198.18.0.1/32");
  EXPECT_EQ(w.peers[0].endpoint->host, "2001:db8::1");
  EXPECT_EQ(w.peers[0].persistent_keepalive, 25);
  EXPECT_EQ(w.peers[0].route_table, 0u);
  EXPECT_EQ(w.peers[1].endpoint->host, "peer.example");
  EXPECT_EQ(w.peers[1].endpoint->port, 4500);
  EXPECT_EQ(w.peers[1].line, 21u);
  // "1.4K" is not an integer size: warned about, then overridden.
  EXPECT_NE(d.joined().find("10-wg0.netdev:5: Failed to parse MTUBytes=, ignoring assignment: 1.4K"),
            std::string::npos) << d.joined();
}

TEST(Netdev, Endpoints) {
  auto ep = [](const std::string& v, Diagnostics& d) {
    auto p = parse(std::string("[NetDev]\nName=wg0\nKind=wireguard\n[WireGuardPeer]\nPublicKey=") + kPub1 +
                       "\nEndpoint=" + v + "\n", d);
    return p->wireguard->peers[0].endpoint;
  };
  Diagnostics d;
  EXPECT_EQ(ep("198.51.100.2:51820", d)->to_string(), "198.51.100.2:51820");
  EXPECT_EQ(ep("[2001:db8::1]:51820", d)->host, "2001:db8::1");
  EXPECT_EQ(ep("vpn.example.com:4500", d)->host, "vpn.example.com");
  EXPECT_TRUE(d.empty()) << d.joined();
  EXPECT_FALSE(ep("vpn.example.com", d));
  EXPECT_FALSE(ep("bad host:1", d));
  EXPECT_FALSE(ep("vpn.example.com:0", d));
  EXPECT_FALSE(ep("[2001:db8::1:5", d));
  const std::string f = "/etc/systemd/network/10-wg0.netdev:6: ";
  EXPECT_EQ(d.joined(), f + "Unable to find port of endpoint, ignoring assignment: vpn.example.com\n" +
                            f + "Invalid domain name of endpoint, ignoring assignment: bad host:1\n" +
                            f + "Invalid port of endpoint, ignoring assignment: vpn.example.com:0\n" +
                            f + "Invalid domain name of endpoint, ignoring assignment: [2001:db8::1:5\n");
}

TEST(Netdev, EmptyAllowedIPsResetsTheList) {
  Diagnostics d;
  auto p = parse(std::string("[NetDev]\nName=wg0\nKind=wireguard\n[WireGuardPeer]\nPublicKey=") + kPub1 +
                     "\nAllowedIPs=10.0.0.0/8\nAllowedIPs=\nAllowedIPs=10.1.0.0/16\n",
                 d);
  ASSERT_TRUE(p && p->wireguard);
  ASSERT_EQ(p->wireguard->peers[0].allowed_ips.size(), 1u);
  EXPECT_EQ(p->wireguard->peers[0].allowed_ips[0].to_string(), "10.1.0.0/16");
}

TEST(Netdev, MessagesNameFileLineAndKey) {
  Diagnostics d;
  auto p = parse("[NetDev]\nName=wg0\nKind=wireguard\n[WireGuard]\nPrivateKey=AAAA\nFoo=1\n"
                 "ListenPort=70000\n[WireGuardPeer]\nAllowedIPs=10.0.0.300/24\nEndpoint=1.2.3.4\n"
                 "PersistentKeepalive=x\n[Bogus]\nX=1\n",
                 d);
  ASSERT_TRUE(p && p->wireguard);
  const std::string f = "/etc/systemd/network/10-wg0.netdev";
  const std::string all = d.joined();
  for (const std::string& want :
       {f + ":5: Wireguard key provided by PrivateKey= has invalid length (3 bytes), ignoring assignment.",
        f + ":6: Unknown key name 'Foo' in section 'WireGuard', ignoring.",
        f + ":7: Invalid port specification, ignoring assignment: 70000",
        f + ":9: Network address is invalid, ignoring assignment: 10.0.0.300/24",
        f + ":10: Unable to find port of endpoint, ignoring assignment: 1.2.3.4",
        f + ":11: Failed to parse \"x\" as keepalive interval",
        f + ":12: Unknown section 'Bogus'. Ignoring."})
    EXPECT_NE(all.find(want), std::string::npos) << "missing: " << want << "\nin:\n" << all;
  // The bad key leaves no private key: the netdev is dropped; the peer lacks a PublicKey.
  Diagnostics v;
  EXPECT_FALSE(verify_wireguard(*p->wireguard, v, read_key_file));
  EXPECT_EQ(v.joined(), "wg0: " + f + ": Missing PrivateKey= or PrivateKeyFile=, Ignoring network device.\n");
}

TEST(Netdev, PeerWithoutPublicKeyIsDroppedOthersKept) {
  Diagnostics d;
  auto p = parse(std::string("[NetDev]\nName=wg0\nKind=wireguard\n[WireGuard]\nPrivateKeyFile=/k\n"
                             "[WireGuardPeer]\nAllowedIPs=10.0.0.0/8\n[WireGuardPeer]\nPublicKey=") + kPub1 + "\n",
                 d);
  ASSERT_TRUE(p && p->wireguard);
  Diagnostics v;
  auto reader = [](const std::string& path) -> Result<Key> {
    EXPECT_EQ(path, "/k");
    return *key_from_base64(kPriv);
  };
  ASSERT_TRUE(verify_wireguard(*p->wireguard, v, reader));
  ASSERT_EQ(p->wireguard->peers.size(), 1u);
  EXPECT_EQ(v.joined(), "wg0: /etc/systemd/network/10-wg0.netdev: WireGuardPeer section without "
                        "PublicKey= configured. Ignoring [WireGuardPeer] section from line 6.\n");
}

// Found by fuzz_netdev: two sections for one key made a reload of an unchanged file non-empty.
TEST(Netdev, SecondSectionForTheSamePublicKeyIsIgnored) {
  Diagnostics d;
  auto p = parse(std::string("[NetDev]\nName=wg0\nKind=wireguard\n[WireGuard]\nPrivateKey=") + kPriv +
                     "\n[WireGuardPeer]\nPublicKey=" + kPub1 + "\nAllowedIPs=10.1.0.0/16\n" +
                     "[WireGuardPeer]\nPublicKey=" + kPub1 + "\nAllowedIPs=10.2.0.0/16\n",
                 d);
  ASSERT_TRUE(p && p->wireguard);
  Diagnostics v;
  ASSERT_TRUE(verify_wireguard(*p->wireguard, v, read_key_file));
  ASSERT_EQ(p->wireguard->peers.size(), 1u);
  EXPECT_EQ(p->wireguard->peers[0].allowed_ips[0].to_string(), "10.1.0.0/16");
  EXPECT_EQ(v.joined(), "wg0: /etc/systemd/network/10-wg0.netdev: WireGuardPeer section with the same "
                        "PublicKey= as the section at /etc/systemd/network/10-wg0.netdev:6. Ignoring "
                        "[WireGuardPeer] section from line 9.\n");
}

TEST(Netdev, PrivateKeyFileWinsAndItsFailureDropsTheNetdev) {
  Diagnostics d;
  auto p = parse(std::string("[NetDev]\nName=wg0\nKind=wireguard\n[WireGuard]\nPrivateKey=") + kPriv +
                     "\nPrivateKeyFile=/missing\n", d);
  Diagnostics v;
  EXPECT_FALSE(verify_wireguard(*p->wireguard, v, read_key_file));
  EXPECT_NE(v.joined().find("wg0: Failed to read private key from /missing. Ignoring network device. "
                            "(No such file or directory)"), std::string::npos) << v.joined();
}

TEST(Netdev, OtherKindsAreNotOursAndMissingNameIsReported) {
  Diagnostics d;
  auto p = parse("[NetDev]\nName=br0\nKind=bridge\n[Bridge]\nSTP=yes\n", d);
  ASSERT_TRUE(p);
  EXPECT_FALSE(p->wireguard);
  EXPECT_TRUE(d.empty());
  auto q = parse("[NetDev]\nKind=wireguard\n", d);
  EXPECT_FALSE(q->wireguard);
  EXPECT_NE(d.joined().find("NetDev without Name= configured in"), std::string::npos);
}

TEST(Netdev, Conditions) {
  Diagnostics d;
  auto p = parse("[Match]\nHost=!*\n[NetDev]\nName=wg0\nKind=wireguard\n", d);
  MatchEnvironment env;
  env.hostname = "box";
  env.kernel_cmdline = "quiet wg=on";
  env.kernel_release = "6.1.0-13-amd64";
  EXPECT_FALSE(conditions_match(p->conditions, env, d, "f"));
  auto q = parse("[Match]\nHost=b*\nKernelCommandLine=wg\nKernelVersion=>=5.6\nHost=\nHost=box\n"
                 "[NetDev]\nName=wg0\nKind=wireguard\n", d);
  EXPECT_TRUE(conditions_match(q->conditions, env, d, "f"));
  auto r = parse("[Match]\nKernelCommandLine=wg=off\n[NetDev]\nName=wg0\nKind=wireguard\n", d);
  EXPECT_FALSE(conditions_match(r->conditions, env, d, "f"));
}

TEST(Netdev, RouteTableAndSize) {
  EXPECT_EQ(parse_route_table("off"), 0u);
  EXPECT_EQ(parse_route_table("no"), 0u);
  EXPECT_EQ(parse_route_table("main"), 254u);
  EXPECT_EQ(parse_route_table("1234"), 1234u);
  EXPECT_FALSE(parse_route_table("nosuchname"));
  EXPECT_EQ(parse_size("1K"), 1024u);
  EXPECT_EQ(parse_size("1420"), 1420u);
  EXPECT_FALSE(parse_size("x"));
}

// --- files -----------------------------------------------------------------------------------

class Files : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/nwd-files-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    root_ = tmpl;
  }
  void TearDown() override { std::filesystem::remove_all(root_); }
  void write(const std::string& rel, const std::string& text) {
    auto p = std::filesystem::path(root_ + rel);
    std::filesystem::create_directories(p.parent_path());
    std::ofstream(p) << text;
  }
  std::string root_;
};

TEST_F(Files, PrecedenceMaskingAndDropins) {
  const std::string base = std::string("[NetDev]\nName=wg0\nKind=wireguard\n[WireGuard]\nPrivateKey=") +
                           kPriv + "\nListenPort=1000\n";
  write("/usr/lib/systemd/network/10-wg0.netdev", base);
  write("/run/systemd/network/10-wg0.netdev", base + "FirewallMark=5\n");
  write("/usr/lib/systemd/network/10-wg0.netdev.d/50-port.conf", "[WireGuard]\nListenPort=2000\n");
  write("/etc/systemd/network/10-wg0.netdev.d/50-port.conf", "[WireGuard]\nListenPort=3000\n");
  write("/usr/lib/systemd/network/10-wg0.netdev.d/60-mtu.conf", "[NetDev]\nMTUBytes=1300\n");
  write(std::string("/run/systemd/network/10-wg0.netdev.d/") + kHideDropin, "[Match]\nHost=!*\n");
  write("/usr/lib/systemd/network/20-wg1.netdev", base);  // masked below
  write("/etc/systemd/network/20-wg1.netdev", "");
  write("/usr/lib/systemd/network/30-wg2.netdev", base);
  std::filesystem::create_directories(root_ + "/etc/systemd/network");
  std::filesystem::create_symlink("/dev/null", root_ + "/etc/systemd/network/30-wg2.netdev");

  auto files = find_netdev_files(SearchPath::networkd(root_));
  ASSERT_EQ(files.size(), 1u);
  EXPECT_EQ(files[0].path, root_ + "/run/systemd/network/10-wg0.netdev");
  ASSERT_EQ(files[0].dropins.size(), 2u);
  EXPECT_EQ(files[0].dropins[0], root_ + "/etc/systemd/network/10-wg0.netdev.d/50-port.conf");

  Diagnostics d;
  auto r = load_all(SearchPath::networkd(root_), MatchEnvironment{}, d);
  ASSERT_EQ(r.netdevs.size(), 1u) << d.joined();
  EXPECT_EQ(r.netdevs[0].listen_port, 3000);
  EXPECT_EQ(r.netdevs[0].fwmark, 5u);
  EXPECT_EQ(r.netdevs[0].mtu, 1300u);
  EXPECT_EQ(r.wireguard_files, std::vector<std::string>{"10-wg0.netdev"});
}

TEST_F(Files, DuplicateNameAndBadFileDoNotTakeOthersDown) {
  const std::string ok = std::string("[NetDev]\nName=wg0\nKind=wireguard\n[WireGuard]\nPrivateKey=") + kPriv + "\n";
  write("/etc/systemd/network/10-a.netdev", ok);
  write("/etc/systemd/network/20-b.netdev", ok);  // same Name=
  write("/etc/systemd/network/30-c.netdev", "[NetDev\nName=wg3\n");
  write("/etc/systemd/network/40-d.netdev", "[NetDev]\nName=wg4\nKind=wireguard\n[WireGuard]\nPrivateKey=AAA=\n");
  write("/etc/systemd/network/50-e.netdev", std::string("[NetDev]\nName=wg5\nKind=wireguard\n[WireGuard]\nPrivateKey=") + kPriv + "\n");
  Diagnostics d;
  auto r = load_all(SearchPath::networkd(root_), MatchEnvironment{}, d);
  ASSERT_EQ(r.netdevs.size(), 2u) << d.joined();
  EXPECT_EQ(r.netdevs[0].name, "wg0");
  EXPECT_EQ(r.netdevs[1].name, "wg5");
  EXPECT_NE(d.joined().find("wg0: Device was already configured by file " + root_ +
                            "/etc/systemd/network/10-a.netdev, ignoring"), std::string::npos);
  EXPECT_NE(d.joined().find("30-c.netdev:1: Invalid section header '[NetDev'"), std::string::npos);
}

// A drop-in repeating a peer of the main file: the message names the drop-in for the ignored
// section and the main file for the one kept.
TEST_F(Files, DropinRepeatingAPeerNamesBothFiles) {
  write("/etc/systemd/network/10-a.netdev",
        std::string("[NetDev]\nName=wg0\nKind=wireguard\n[WireGuard]\nPrivateKey=") + kPriv +
            "\n[WireGuardPeer]\nPublicKey=" + kPub1 + "\nAllowedIPs=10.1.0.0/16\n");
  write("/etc/systemd/network/10-a.netdev.d/50-peer.conf",
        std::string("# the same peer again\n[WireGuardPeer]\nPublicKey=") + kPub1 + "\nAllowedIPs=10.2.0.0/16\n");
  chmod((root_ + "/etc/systemd/network/10-a.netdev").c_str(), 0640);
  chmod((root_ + "/etc/systemd/network/10-a.netdev.d/50-peer.conf").c_str(), 0640);
  Diagnostics d;
  auto r = load_all(SearchPath::networkd(root_), MatchEnvironment{}, d);
  ASSERT_EQ(r.netdevs.size(), 1u) << d.joined();
  ASSERT_EQ(r.netdevs[0].peers.size(), 1u);
  EXPECT_EQ(d.joined(), "wg0: " + root_ + "/etc/systemd/network/10-a.netdev.d/50-peer.conf: WireGuardPeer section "
                        "with the same PublicKey= as the section at " + root_ +
                        "/etc/systemd/network/10-a.netdev:6. Ignoring [WireGuardPeer] section from line 2.\n");
}

TEST_F(Files, WorldReadableSecretsAreWarnedAbout) {
  write("/etc/systemd/network/10-a.netdev",
        std::string("[NetDev]\nName=wg0\nKind=wireguard\n[WireGuard]\nPrivateKey=") + kPriv + "\n");
  write("/etc/systemd/network/20-b.netdev",
        "[NetDev]\nName=wg1\nKind=wireguard\n[WireGuard]\nPrivateKeyFile=" + root_ + "/k\n");
  write("/k", std::string(kPriv) + "\n");
  chmod((root_ + "/etc/systemd/network/10-a.netdev").c_str(), 0644);
  chmod((root_ + "/k").c_str(), 0604);
  Diagnostics d;
  auto r = load_all(SearchPath::networkd(root_), MatchEnvironment{}, d);
  EXPECT_EQ(r.netdevs.size(), 2u);
  EXPECT_NE(d.joined().find(root_ + "/etc/systemd/network/10-a.netdev has 0644 mode that is too "
                            "permissive, please adjust the ownership and access mode."),
            std::string::npos) << d.joined();
  EXPECT_NE(d.joined().find(root_ + "/k has 0604 mode"), std::string::npos) << d.joined();
  chmod((root_ + "/etc/systemd/network/10-a.netdev").c_str(), 0640);
  chmod((root_ + "/k").c_str(), 0600);
  Diagnostics quiet;
  (void)load_all(SearchPath::networkd(root_), MatchEnvironment{}, quiet);
  EXPECT_TRUE(quiet.empty()) << quiet.joined();
}

}  // namespace
}  // namespace wgcore::networkd
