#include "exporter.hpp"

#include <gtest/gtest.h>

#include "test_helpers.hpp"

namespace wgcore::frrwgd {
namespace {

using test::key;
using test::P;

std::vector<std::string> names(const std::vector<routing::Route>& v) {
  std::vector<std::string> out;
  for (const auto& r : v) out.push_back(r.to_string());
  return out;
}

TEST(Export, Ipv4InTheTableIpv6InMainOurProtocol) {
  auto r = export_routes("wg0", 10, 252,
                         {{key(2), {P("198.18.22.0/24"), P("2001:db8:122::/48"), P("203.0.113.2/32")}},
                          {key(3), {P("198.18.22.0/24"), P("0.0.0.0/0"), P("::/0"), P("10.1.2.3/8")}}},
                         {P("203.0.113.1/24"), P("fd00:77::1/64")});
  EXPECT_EQ(names(r), (std::vector<std::string>{"10.0.0.0/8 dev wg0 table 10 proto 252",
                                                "198.18.22.0/24 dev wg0 table 10 proto 252",
                                                "2001:db8:122::/48 dev wg0 proto 252"}))
      << "deduplicated, canonical, no default routes, nothing inside the interface's own subnets";
  for (const auto& x : r) EXPECT_EQ(x.protocol, 252);
}

TEST(Export, DiffAddsMissingAndRemovesStale) {
  auto want = export_routes("wg0", 10, 252, {{key(2), {P("198.18.22.0/24"), P("198.18.23.0/24")}}});
  auto current = export_routes("wg0", 10, 252, {{key(2), {P("198.18.23.0/24"), P("198.18.99.0/24")}}});
  auto d = diff_routes(want, current);
  EXPECT_EQ(names(d.add), std::vector<std::string>{"198.18.22.0/24 dev wg0 table 10 proto 252"});
  EXPECT_EQ(names(d.remove), std::vector<std::string>{"198.18.99.0/24 dev wg0 table 10 proto 252"});
  auto moved = export_routes("wg0", 11, 252, {{key(2), {P("198.18.23.0/24")}}});
  auto d2 = diff_routes(moved, current);
  EXPECT_EQ(d2.add.size(), 1u) << "another table is another route";
  EXPECT_EQ(d2.remove.size(), 2u);
}

}  // namespace
}  // namespace wgcore::frrwgd
