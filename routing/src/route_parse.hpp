// Turning an RTM_NEWROUTE message into a Route (shared by listing and `route get`). Private.
#pragma once

#include <optional>

#include "routing/route.hpp"

namespace wgcore::routing::detail {

std::optional<Route> parse_route(nlmsghdr* hdr);

}  // namespace wgcore::routing::detail
