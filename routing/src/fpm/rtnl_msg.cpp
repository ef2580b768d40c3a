// Raw rtnetlink route and nexthop messages; see rtnl_msg.hpp. Reads go through memcpy on
// checked offsets: the input may be any bytes (a TCP stream, a fuzzer), aligned or not.
#include "rtnl_msg.hpp"

#include <linux/nexthop.h>
#include <linux/rtnetlink.h>
#include <sys/socket.h>

#include <algorithm>
#include <cstring>

namespace wgcore::routing::feed::rtnl {
namespace {

constexpr std::size_t kRtmsgLen = 12;   // struct rtmsg
constexpr std::size_t kNhmsgLen = 8;    // struct nhmsg
constexpr std::size_t kRtnhLen = 8;     // struct rtnexthop
constexpr std::size_t kGrpLen = 8;      // struct nexthop_grp
static_assert(sizeof(rtmsg) == kRtmsgLen && sizeof(rtnexthop) == kRtnhLen);

template <class T>
T load(Bytes b, std::size_t off) {
  T v{};
  std::memcpy(&v, b.data() + off, sizeof(T));
  return v;
}

Error bad(const std::string& what) { return make_error(EBADMSG, "netlink: " + what); }

struct Attr {
  std::uint16_t type;
  Bytes value;
};

// Splits an attribute area; any attribute that does not fit is an error (a message that lies
// about lengths is not trusted at all). Padding after the last attribute may be short.
Result<std::vector<Attr>> attrs(Bytes area, const char* where) {
  std::vector<Attr> out;
  std::size_t off = 0;
  while (area.size() - off >= 4) {
    auto len = load<std::uint16_t>(area, off);
    auto type = load<std::uint16_t>(area, off + 2);
    if (len < 4 || len > area.size() - off)
      return bad(std::string(where) + ": attribute " + std::to_string(type & NLA_TYPE_MASK) +
                 " length " + std::to_string(len) + " does not fit");
    out.push_back({static_cast<std::uint16_t>(type & NLA_TYPE_MASK),
                   area.subspan(off + 4, len - 4)});
    std::size_t step = (static_cast<std::size_t>(len) + 3) & ~std::size_t{3};
    off = std::min(area.size(), off + step);
  }
  return out;
}

Result<std::uint32_t> u32(const Attr& a, const char* name) {
  if (a.value.size() < 4) return bad(std::string(name) + " shorter than 4 bytes");
  return load<std::uint32_t>(a.value, 0);
}

std::optional<IpAddr> addr(int family, Bytes v) {
  if (family == AF_INET && v.size() == 4) return IpAddr::v4_bytes(v.data());
  if (family == AF_INET6 && v.size() == 16) return IpAddr::v6_bytes(v.data());
  return std::nullopt;
}

Result<IpAddr> gateway(int family, const Attr& a) {
  auto gw = addr(family, a.value);
  if (!gw) return bad("RTA_GATEWAY of " + std::to_string(a.value.size()) + " bytes");
  return *gw;
}

// RTA_VIA: {u16 family; address}, an IPv6 gateway for an IPv4 route (or the reverse).
Result<IpAddr> via(const Attr& a) {
  if (a.value.size() < 2) return bad("RTA_VIA too short");
  auto fam = load<std::uint16_t>(a.value, 0);
  auto gw = addr(fam, a.value.subspan(2));
  if (!gw) return bad("RTA_VIA family " + std::to_string(fam) + " with " +
                      std::to_string(a.value.size() - 2) + " address bytes");
  return *gw;
}

std::uint8_t weight_of(unsigned w) { return static_cast<std::uint8_t>(std::min(w, 255u)); }

Result<std::vector<Nexthop>> multipath(int family, Bytes v) {
  std::vector<Nexthop> out;
  std::size_t off = 0;
  while (v.size() - off >= kRtnhLen) {
    auto len = load<std::uint16_t>(v, off);
    if (len < kRtnhLen || len > v.size() - off)
      return bad("RTA_MULTIPATH: rtnexthop length " + std::to_string(len) + " does not fit");
    Nexthop nh;
    nh.weight = weight_of(static_cast<unsigned>(v[off + 3]) + 1);
    nh.ifindex = load<std::int32_t>(v, off + 4);
    auto as = attrs(v.subspan(off + kRtnhLen, len - kRtnhLen), "RTA_MULTIPATH");
    if (!as) return as.error();
    for (const auto& a : *as) {
      if (a.type == RTA_GATEWAY) {
        auto gw = gateway(family, a);
        if (!gw) return gw.error();
        nh.gateway = *gw;
      } else if (a.type == RTA_VIA) {
        auto gw = via(a);
        if (!gw) return gw.error();
        nh.gateway = *gw;
      }
    }
    out.push_back(nh);
    std::size_t step = (static_cast<std::size_t>(len) + 3) & ~std::size_t{3};
    off = std::min(v.size(), off + step);
  }
  return out;
}

}  // namespace

std::optional<MsgHeader> read_header(Bytes m) {
  if (m.size() < kMsgHeaderLen) return std::nullopt;
  MsgHeader h;
  h.len = load<std::uint32_t>(m, 0);
  h.type = load<std::uint16_t>(m, 4);
  h.flags = load<std::uint16_t>(m, 6);
  h.seq = load<std::uint32_t>(m, 8);
  h.pid = load<std::uint32_t>(m, 12);
  return h;
}

Result<std::optional<ParsedRoute>> parse_route(Bytes m) {
  auto h = read_header(m);
  if (!h || m.size() < kMsgHeaderLen + kRtmsgLen) return bad("route message shorter than rtmsg");
  const std::uint8_t family = m[16];
  if (family != AF_INET && family != AF_INET6) return std::optional<ParsedRoute>{};
  ParsedRoute p;
  RouteUpdate& u = p.update;
  u.kind = h->type == RTM_DELROUTE ? RouteUpdate::Kind::kDelete : RouteUpdate::Kind::kAdd;
  const IpAddr::Family fam = family == AF_INET ? IpAddr::Family::V4 : IpAddr::Family::V6;
  u.prefix.addr.family = fam;
  u.prefix.len = m[17];
  if (u.prefix.len > u.prefix.addr.bits())
    return bad("rtm_dst_len " + std::to_string(u.prefix.len) + " for " +
               (family == AF_INET ? "IPv4" : "IPv6"));
  u.table = m[20];
  u.protocol = m[21];
  u.type = m[23];
  p.cloned = (load<std::uint32_t>(m, 24) & RTM_F_CLONED) != 0;
  auto as = attrs(m.subspan(kMsgHeaderLen + kRtmsgLen), "route");
  if (!as) return as.error();
  Nexthop single;
  bool have_single = false;
  for (const auto& a : *as) {
    switch (a.type) {
      case RTA_DST: {
        auto d = addr(family, a.value);
        if (!d) return bad("RTA_DST of " + std::to_string(a.value.size()) + " bytes");
        u.prefix.addr = *d;
        break;
      }
      case RTA_TABLE: {
        auto t = u32(a, "RTA_TABLE");
        if (!t) return t.error();
        u.table = *t;
        break;
      }
      case RTA_PRIORITY: {
        auto v = u32(a, "RTA_PRIORITY");
        if (!v) return v.error();
        u.metric = *v;
        p.has_metric = true;
        break;
      }
      case RTA_OIF: {
        auto v = u32(a, "RTA_OIF");
        if (!v) return v.error();
        single.ifindex = static_cast<int>(*v);
        have_single = true;
        break;
      }
      case RTA_GATEWAY: {
        auto gw = gateway(family, a);
        if (!gw) return gw.error();
        single.gateway = *gw;
        have_single = true;
        break;
      }
      case RTA_VIA: {
        auto gw = via(a);
        if (!gw) return gw.error();
        single.gateway = *gw;
        have_single = true;
        break;
      }
      case RTA_MULTIPATH: {
        auto hops = multipath(family, a.value);
        if (!hops) return hops.error();
        u.nexthops.insert(u.nexthops.end(), hops->begin(), hops->end());
        break;
      }
      case RTA_NH_ID: {
        auto v = u32(a, "RTA_NH_ID");
        if (!v) return v.error();
        p.nh_id = *v;
        break;
      }
      default:
        break;
    }
  }
  // The kernel never sends both; if a message does, the single nexthop comes first.
  if (have_single) u.nexthops.insert(u.nexthops.begin(), single);
  // The kernel keeps host bits clear; a peer sending them set would make two keys for one route.
  u.prefix = u.prefix.canonical();
  return std::optional<ParsedRoute>{std::move(p)};
}

Result<std::optional<ParsedNexthop>> parse_nexthop(Bytes m) {
  auto h = read_header(m);
  if (!h || m.size() < kMsgHeaderLen + kNhmsgLen) return bad("nexthop message shorter than nhmsg");
  const std::uint8_t family = m[16];
  ParsedNexthop p;
  p.is_delete = h->type == RTM_DELNEXTHOP;
  auto as = attrs(m.subspan(kMsgHeaderLen + kNhmsgLen), "nexthop");
  if (!as) return as.error();
  Nexthop single;
  bool have_single = false;
  bool fdb = false;
  for (const auto& a : *as) {
    switch (a.type) {
      case NHA_ID: {
        auto v = u32(a, "NHA_ID");
        if (!v) return v.error();
        p.id = *v;
        break;
      }
      case NHA_GROUP: {
        if (a.value.size() % kGrpLen != 0)
          return bad("NHA_GROUP of " + std::to_string(a.value.size()) + " bytes");
        for (std::size_t off = 0; off < a.value.size(); off += kGrpLen) {
          RouteState::Member mem;
          mem.id = load<std::uint32_t>(a.value, off);
          // weight (u8) and, since Linux 6.12, weight_high (u8): the stored weight minus one.
          unsigned w = (static_cast<unsigned>(a.value[off + 5]) << 8 | a.value[off + 4]) + 1;
          mem.weight = weight_of(w);
          p.object.group.push_back(mem);
        }
        break;
      }
      case NHA_BLACKHOLE:
        p.object.blackhole = true;
        break;
      case NHA_OIF: {
        auto v = u32(a, "NHA_OIF");
        if (!v) return v.error();
        single.ifindex = static_cast<int>(*v);
        have_single = true;
        break;
      }
      case NHA_GATEWAY: {
        auto gw = addr(family, a.value);
        if (!gw) return bad("NHA_GATEWAY of " + std::to_string(a.value.size()) + " bytes");
        single.gateway = *gw;
        have_single = true;
        break;
      }
      case NHA_FDB:
        fdb = true;
        break;
      default:
        break;
    }
  }
  if (p.id == 0) return bad("nexthop message without NHA_ID");
  if (fdb) return std::optional<ParsedNexthop>{};  // bridge FDB nexthops route nothing
  if (have_single && p.object.group.empty() && !p.object.blackhole) p.object.single = single;
  return std::optional<ParsedNexthop>{std::move(p)};
}

}  // namespace wgcore::routing::feed::rtnl
