// GVariant forms of NM's VPN config dictionaries (nm-vpn-dbus-interface.h); see nm_config.hpp.
#include "nm_config.hpp"

#include <NetworkManager.h>

#include <cstring>

namespace wgcore::nm {

namespace {

// IPv4 in NM's VPN dictionaries: a uint32 in network byte order.
guint32 v4_u32(const IpAddr& a) {
  guint32 v;
  std::memcpy(&v, a.bytes.data(), 4);
  return v;
}

GVariant* v6_bytes(const IpAddr& a) {
  return g_variant_new_fixed_array(G_VARIANT_TYPE_BYTE, a.bytes.data(), 16, 1);
}

void add_domains(GVariantBuilder* b, const NmConfigInput& in) {
  if (in.plan.domains.empty()) return;
  GVariantBuilder d;
  g_variant_builder_init(&d, G_VARIANT_TYPE("as"));
  for (const auto& s : in.plan.domains) g_variant_builder_add(&d, "s", s.c_str());
  g_variant_builder_add(b, "{sv}", NM_VPN_PLUGIN_IP4_CONFIG_DOMAINS, g_variant_builder_end(&d));
}

}  // namespace

GVariant* build_generic_config(const NmConfigInput& in) {
  GVariantBuilder b;
  g_variant_builder_init(&b, G_VARIANT_TYPE_VARDICT);
  g_variant_builder_add(&b, "{sv}", NM_VPN_PLUGIN_CONFIG_TUNDEV, g_variant_new_string(in.tundev.c_str()));
  if (in.mtu) g_variant_builder_add(&b, "{sv}", NM_VPN_PLUGIN_CONFIG_MTU, g_variant_new_uint32(in.mtu));
  // NM insists on an external gateway; with no endpoint at all (a listen-only profile) the
  // unspecified address says "none".
  if (in.gateway && !in.gateway->is_v4())
    g_variant_builder_add(&b, "{sv}", NM_VPN_PLUGIN_CONFIG_EXT_GATEWAY, v6_bytes(*in.gateway));
  else
    g_variant_builder_add(&b, "{sv}", NM_VPN_PLUGIN_CONFIG_EXT_GATEWAY,
                          g_variant_new_uint32(in.gateway ? v4_u32(*in.gateway) : 0));
  g_variant_builder_add(&b, "{sv}", NM_VPN_PLUGIN_CONFIG_HAS_IP4, g_variant_new_boolean(in.plan.v4.has_config()));
  g_variant_builder_add(&b, "{sv}", NM_VPN_PLUGIN_CONFIG_HAS_IP6, g_variant_new_boolean(in.plan.v6.has_config()));
  return g_variant_builder_end(&b);
}

GVariant* build_ip4_config(const NmConfigInput& in) {
  const FamilyPlan& f = in.plan.v4;
  if (!f.address) return nullptr;
  GVariantBuilder b;
  g_variant_builder_init(&b, G_VARIANT_TYPE_VARDICT);
  g_variant_builder_add(&b, "{sv}", NM_VPN_PLUGIN_IP4_CONFIG_ADDRESS, g_variant_new_uint32(v4_u32(f.address->addr)));
  g_variant_builder_add(&b, "{sv}", NM_VPN_PLUGIN_IP4_CONFIG_PREFIX, g_variant_new_uint32(f.address->len));
  // Routes as "aau": destination, prefix, next hop (0: on-link), metric (0: NM's default).
  GVariantBuilder routes;
  g_variant_builder_init(&routes, G_VARIANT_TYPE("aau"));
  for (const auto& r : f.routes) {
    GVariantBuilder one;
    g_variant_builder_init(&one, G_VARIANT_TYPE("au"));
    g_variant_builder_add(&one, "u", v4_u32(r.addr));
    g_variant_builder_add(&one, "u", guint32(r.len));
    g_variant_builder_add(&one, "u", guint32(0));
    g_variant_builder_add(&one, "u", guint32(0));
    g_variant_builder_add_value(&routes, g_variant_builder_end(&one));
  }
  g_variant_builder_add(&b, "{sv}", NM_VPN_PLUGIN_IP4_CONFIG_ROUTES, g_variant_builder_end(&routes));
  if (!f.dns.empty()) {
    GVariantBuilder dns;
    g_variant_builder_init(&dns, G_VARIANT_TYPE("au"));
    for (const auto& d : f.dns) g_variant_builder_add(&dns, "u", v4_u32(d));
    g_variant_builder_add(&b, "{sv}", NM_VPN_PLUGIN_IP4_CONFIG_DNS, g_variant_builder_end(&dns));
  }
  add_domains(&b, in);
  // Never the default route through NM: a full tunnel's default lives in the fwmark table.
  g_variant_builder_add(&b, "{sv}", NM_VPN_PLUGIN_IP4_CONFIG_NEVER_DEFAULT, g_variant_new_boolean(TRUE));
  return g_variant_builder_end(&b);
}

GVariant* build_ip6_config(const NmConfigInput& in) {
  const FamilyPlan& f = in.plan.v6;
  if (!f.address) return nullptr;
  GVariantBuilder b;
  g_variant_builder_init(&b, G_VARIANT_TYPE_VARDICT);
  g_variant_builder_add(&b, "{sv}", NM_VPN_PLUGIN_IP6_CONFIG_ADDRESS, v6_bytes(f.address->addr));
  g_variant_builder_add(&b, "{sv}", NM_VPN_PLUGIN_IP6_CONFIG_PREFIX, g_variant_new_uint32(f.address->len));
  // Routes as "a(ayuayu)": destination, prefix, next hop (:: = on-link), metric.
  GVariantBuilder routes;
  g_variant_builder_init(&routes, G_VARIANT_TYPE("a(ayuayu)"));
  IpAddr any;
  any.family = IpAddr::Family::V6;
  for (const auto& r : f.routes)
    g_variant_builder_add(&routes, "(@ayu@ayu)", v6_bytes(r.addr), guint32(r.len), v6_bytes(any), guint32(0));
  g_variant_builder_add(&b, "{sv}", NM_VPN_PLUGIN_IP6_CONFIG_ROUTES, g_variant_builder_end(&routes));
  if (!f.dns.empty()) {
    GVariantBuilder dns;
    g_variant_builder_init(&dns, G_VARIANT_TYPE("aay"));
    for (const auto& d : f.dns) g_variant_builder_add_value(&dns, v6_bytes(d));
    g_variant_builder_add(&b, "{sv}", NM_VPN_PLUGIN_IP6_CONFIG_DNS, g_variant_builder_end(&dns));
  }
  if (!in.plan.v4.has_config()) add_domains(&b, in);  // once is enough; NM merges them
  g_variant_builder_add(&b, "{sv}", NM_VPN_PLUGIN_IP6_CONFIG_NEVER_DEFAULT, g_variant_new_boolean(TRUE));
  return g_variant_builder_end(&b);
}

}  // namespace wgcore::nm
