// Links and addresses against the kernel in a private namespace, checked with `ip`.
#include <gtest/gtest.h>

#include "netns_fixture.hpp"
#include "routing/address.hpp"
#include "routing/link.hpp"

namespace wgcore::routing {
namespace {

using testing::NetnsTest;
using testing::sh;

IpPrefix P(const char* s) { return *IpPrefix::parse(s); }

TEST_F(NetnsTest, LinkUpDownAndMtu) {
  ASSERT_TRUE(set_link_mtu(*nl, "rt0", 1380).ok());
  ASSERT_TRUE(set_link_up(*nl, "rt0", true).ok());
  EXPECT_NE(sh("ip link show rt0").find("mtu 1380"), std::string::npos);
  EXPECT_NE(sh("ip link show rt0").find("UP"), std::string::npos);
  auto info = get_link(*nl, "rt0");
  ASSERT_TRUE(info) << info.error().message;
  EXPECT_EQ(info->name, "rt0");
  EXPECT_EQ(info->mtu, 1380u);
  EXPECT_TRUE(info->up);
  EXPECT_EQ(info->kind, "tun");
  // /sys shows the namespace the process started in, so ask `ip` for the index.
  EXPECT_EQ(std::to_string(info->index) + ":\n", sh("ip -o link show rt0 | cut -d' ' -f1"));
  ASSERT_TRUE(set_link_up(*nl, "rt0", false).ok());
  auto down = get_link(*nl, "rt0");
  ASSERT_TRUE(down);
  EXPECT_FALSE(down->up);
  EXPECT_EQ(sh("ip -o link show rt0").find(",UP"), std::string::npos);
  // The kernel's own limits come back with its errno and the object named.
  Status bad = set_link_mtu(*nl, "rt0", 10);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().code, EINVAL);
  EXPECT_EQ(bad.error().message, "setting mtu 10 on rt0: Invalid argument");
}

TEST_F(NetnsTest, MissingLinkIsNamed) {
  auto info = get_link(*nl, "nosuch0");
  ASSERT_FALSE(info);
  EXPECT_EQ(info.error().code, ENODEV);
  EXPECT_EQ(info.error().message, "reading link nosuch0: No such device");
  Status st = set_link_up(*nl, "nosuch0", true);
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error().message, "setting link nosuch0 up: No such device");
}

TEST_F(NetnsTest, DeleteLink) {
  ASSERT_EQ(std::system("ip tuntap add dev rtdel mode tun"), 0);
  ASSERT_TRUE(delete_link(*nl, "rtdel").ok());
  EXPECT_EQ(sh("ip link show rtdel 2>&1").find("rtdel:"), std::string::npos);
  EXPECT_FALSE(delete_link(*nl, "rtdel").ok());
}

TEST_F(NetnsTest, AddListDeleteAddresses) {
  ASSERT_TRUE(add_address(*nl, "rt1", P("203.0.113.1/24")).ok());
  ASSERT_TRUE(add_address(*nl, "rt1", P("fd00:77::1/64")).ok());
  ASSERT_TRUE(add_address(*nl, "rt1", P("203.0.113.9/32")).ok());
  // `ip` sees exactly these, with the prefix lengths as written.
  std::string ip4 = sh("ip -4 -o addr show dev rt1");
  EXPECT_NE(ip4.find("inet 203.0.113.1/24"), std::string::npos) << ip4;
  EXPECT_NE(ip4.find("inet 203.0.113.9/32"), std::string::npos) << ip4;
  EXPECT_NE(sh("ip -6 -o addr show dev rt1").find("inet6 fd00:77::1/64"), std::string::npos);
  // An address `ip` added is read back too.
  ASSERT_EQ(std::system("ip addr add 198.51.100.7/25 dev rt1"), 0);
  auto list = list_addresses(*nl, "rt1");
  ASSERT_TRUE(list) << list.error().message;
  std::vector<std::string> got;
  for (const auto& a : *list) got.push_back(a.to_string());
  EXPECT_EQ(got, (std::vector<std::string>{"203.0.113.1/24", "203.0.113.9/32", "198.51.100.7/25",
                                           "fd00:77::1/64"}));
  Status dup = add_address(*nl, "rt1", P("203.0.113.1/24"));
  ASSERT_FALSE(dup.ok());
  EXPECT_EQ(dup.error().code, EEXIST);
  EXPECT_EQ(dup.error().message, "adding address 203.0.113.1/24 dev rt1: File exists");
  ASSERT_TRUE(delete_address(*nl, "rt1", P("203.0.113.9/32")).ok());
  ASSERT_TRUE(delete_address(*nl, "rt1", P("fd00:77::1/64")).ok());
  EXPECT_EQ(sh("ip -o addr show dev rt1").find("203.0.113.9"), std::string::npos);
  EXPECT_EQ(sh("ip -o addr show dev rt1").find("fd00:77::1"), std::string::npos);
  Status gone = delete_address(*nl, "rt1", P("fd00:77::1/64"));
  ASSERT_FALSE(gone.ok());
  EXPECT_EQ(gone.error().message.rfind("deleting address fd00:77::1/64 dev rt1: ", 0), 0u);
  Status nodev = add_address(*nl, "nosuch0", P("203.0.113.1/24"));
  ASSERT_FALSE(nodev.ok());
  EXPECT_EQ(nodev.error().message, "adding address 203.0.113.1/24 dev nosuch0: No such device");
}

}  // namespace
}  // namespace wgcore::routing
