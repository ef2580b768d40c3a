// org.freedesktop.network1 client over sd-bus (see networkd_bus.hpp).
#include "networkd_bus.hpp"

#include <systemd/sd-bus.h>

#include <cstdarg>
#include <cstdlib>
#include <cstring>

namespace wgcore::networkd {

namespace {

constexpr const char* kService = "org.freedesktop.network1";
constexpr const char* kPath = "/org/freedesktop/network1";
constexpr const char* kManager = "org.freedesktop.network1.Manager";
constexpr const char* kLink = "org.freedesktop.network1.Link";

// A method call that never starts networkd through bus activation: at boot we run before
// systemd-networkd.service, and activating it from here would wait for our own readiness.
int call(sd_bus* bus, const char* path, const char* iface, const char* member, sd_bus_error* err,
         sd_bus_message** reply, const char* types, ...) {
  sd_bus_message* m = nullptr;
  int r = sd_bus_message_new_method_call(bus, &m, kService, path, iface, member);
  if (r < 0) return r;
  (void)sd_bus_message_set_auto_start(m, 0);
  va_list ap;
  va_start(ap, types);
  r = sd_bus_message_appendv(m, types, ap);
  va_end(ap);
  if (r >= 0) r = sd_bus_call(bus, m, 5 * 1000 * 1000, err, reply);
  sd_bus_message_unref(m);
  return r;
}

Error bus_error(int r, const sd_bus_error& e, const std::string& what) {
  std::string msg = what + ": ";
  msg += e.message ? e.message : std::strerror(-r);
  return make_error(-r, msg);
}

}  // namespace

Result<std::unique_ptr<NetworkdBus>> NetworkdBus::open() {
  sd_bus* b = nullptr;
  int r = sd_bus_open_system(&b);
  if (r < 0) return make_error(-r, std::string("Failed to connect to the system bus: ") + std::strerror(-r));
  return std::unique_ptr<NetworkdBus>(new NetworkdBus(b));
}

NetworkdBus::~NetworkdBus() { sd_bus_flush_close_unref(bus_); }

namespace {

struct LinkObject {
  int ifindex = 0;
  std::string path;  // the link's D-Bus object, for its properties
};

// Manager.GetLinkByName: the one call both the index and the state start from.
Result<LinkObject> get_link_by_name(sd_bus* bus, const std::string& ifname) {
  sd_bus_error err = SD_BUS_ERROR_NULL;
  sd_bus_message* reply = nullptr;
  int r = call(bus, kPath, kManager, "GetLinkByName", &err, &reply, "s", ifname.c_str());
  if (r < 0) {
    Error e = bus_error(r, err, "GetLinkByName(" + ifname + ")");
    sd_bus_error_free(&err);
    return e;
  }
  LinkObject link;
  const char* p = nullptr;
  r = sd_bus_message_read(reply, "io", &link.ifindex, &p);
  link.path = p ? p : "";
  sd_bus_message_unref(reply);
  if (r < 0) return make_error(-r, "GetLinkByName: bad reply");
  return link;
}

}  // namespace

Result<int> NetworkdBus::link_index(const std::string& ifname) {
  auto link = get_link_by_name(bus_, ifname);
  if (!link) return link.error();
  return link->ifindex;
}

Status NetworkdBus::reconfigure(const std::string& ifname) {
  auto idx = link_index(ifname);
  if (!idx) return idx.error();
  sd_bus_error err = SD_BUS_ERROR_NULL;
  int r = call(bus_, kPath, kManager, "ReconfigureLink", &err, nullptr, "i", *idx);
  if (r < 0) {
    Error e = bus_error(r, err, "ReconfigureLink(" + ifname + ")");
    sd_bus_error_free(&err);
    return e;
  }
  return {};
}

Status NetworkdBus::reload() {
  sd_bus_error err = SD_BUS_ERROR_NULL;
  int r = call(bus_, kPath, kManager, "Reload", &err, nullptr, "");
  if (r < 0) {
    Error e = bus_error(r, err, "Reload");
    sd_bus_error_free(&err);
    return e;
  }
  return {};
}

Result<LinkState> NetworkdBus::link_state(const std::string& ifname) {
  auto link = get_link_by_name(bus_, ifname);
  if (!link) return link.error();
  LinkState st;
  st.ifindex = link->ifindex;
  const std::string& path = link->path;
  auto prop = [&](const char* name, std::string& out) -> Status {
    char* v = nullptr;
    sd_bus_error e2 = SD_BUS_ERROR_NULL;
    int rr = sd_bus_get_property_string(bus_, kService, path.c_str(), kLink, name, &e2, &v);
    if (rr < 0) {
      Error e = bus_error(rr, e2, std::string("Get ") + name);
      sd_bus_error_free(&e2);
      return e;
    }
    out = v;
    free(v);
    return {};
  };
  if (Status s = prop("AdministrativeState", st.administrative); !s) return s.error();
  if (Status s = prop("OperationalState", st.operational); !s) return s.error();
  (void)prop("CarrierState", st.carrier);
  (void)prop("AddressState", st.address);
  (void)prop("OnlineState", st.online);
  return st;
}

}  // namespace wgcore::networkd
