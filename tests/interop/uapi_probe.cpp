// uapi_probe: a tiny CLI over UapiClient for the wireguard-go interop test.
//   uapi_probe SOCKET set FILE   parse FILE as a set body locally, then apply it via the client;
//                                exit status = the error code (0 on success)
//   uapi_probe SOCKET dump       print the device like `wg show IFACE dump`
//   uapi_probe SOCKET errno FILE send FILE as a raw set body; print "<ours> <daemon>": the code
//                                parse_set gives it and the one the daemon answers
//   uapi_probe SOCKET serve      serve an in-memory device (apply_update) on SOCKET until
//                                SIGTERM/SIGINT, for stock `wg` to talk to
#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>

#include "model/config_apply.hpp"
#include "uapi/uapi_client.hpp"
#include "uapi/uapi_server.hpp"
#include "uapi/uapi_text.hpp"

namespace {

using namespace wgcore;

std::string read_file(const char* path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// The dump format of wireguard-tools' show.c: tab separated, base64 keys, "(none)" / "off".
void dump(const DeviceState& s) {
  auto key_or_none = [](const std::optional<Key>& k) {
    return k ? to_base64(*k) : std::string("(none)");
  };
  std::cout << key_or_none(s.private_key) << '\t' << key_or_none(s.public_key) << '\t'
            << s.listen_port << '\t'
            << (s.fwmark ? "0x" + [&] {
                 char b[16];
                 std::snprintf(b, sizeof b, "%x", s.fwmark);
                 return std::string(b);
               }()
                         : std::string("off"))
            << '\n';
  for (const auto& p : s.peers) {
    std::string ips;
    for (const auto& a : p.allowed_ips) ips += (ips.empty() ? "" : ",") + a.to_string();
    std::cout << to_base64(p.public_key) << '\t' << key_or_none(p.preshared_key) << '\t'
              << (p.endpoint ? p.endpoint->to_string() : "(none)") << '\t'
              << (ips.empty() ? "(none)" : ips) << '\t' << p.last_handshake_time_sec << '\t'
              << p.rx_bytes << '\t' << p.tx_bytes << '\t'
              << (p.persistent_keepalive_interval ? std::to_string(p.persistent_keepalive_interval)
                                                  : "off")
              << '\n';
  }
}

// Sends "set=1\n" + body + "\n" and returns the daemon's errno, negated back to positive.
int raw_set_errno(const std::string& path, const std::string& body) {
  int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::strncpy(addr.sun_path, path.c_str(), sizeof addr.sun_path - 1);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) return -1;
  std::string req = "set=1\n" + body + "\n";
  if (::write(fd, req.data(), req.size()) != ssize_t(req.size())) return -1;
  std::string answer;
  char buf[256];
  ssize_t n;
  while (answer.find("\n\n") == std::string::npos && (n = ::read(fd, buf, sizeof buf)) > 0)
    answer.append(buf, std::size_t(n));
  ::close(fd);
  int code = 0;
  if (std::sscanf(answer.c_str(), "errno=%d", &code) != 1) return -1;
  return -code;
}

class MemoryControl : public Control {
 public:
  Result<DeviceState> get() override { return state_; }
  Status apply(const DeviceUpdate& u) override {
    auto next = apply_update(state_, u);
    if (!next) return next.error();
    state_ = *next;
    return {};
  }
  std::string backend() const override { return "memory"; }

 private:
  DeviceState state_;
};

int serve(const std::string& path) {
  auto slash = path.rfind('/');
  std::string dir = path.substr(0, slash), file = path.substr(slash + 1);
  if (file.size() <= 5 || file.substr(file.size() - 5) != ".sock") return 2;
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);  // before the server's threads inherit the mask
  MemoryControl ctl;
  auto server = uapi::UapiServer::listen(file.substr(0, file.size() - 5), ctl, dir);
  if (!server) {
    std::cerr << server.error().message << "\n";
    return server.error().code;
  }
  int sig = 0;
  sigwait(&set, &sig);
  return 0;  // the server's destructor stops it and unlinks the socket
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3) {
    std::cerr << "usage: uapi_probe SOCKET set FILE | dump | errno FILE\n";
    return 2;
  }
  std::string path = argv[1], cmd = argv[2];
  uapi::UapiClient client(path);
  if (cmd == "set" && argc == 4) {
    auto update = uapi::parse_set(read_file(argv[3]));
    if (!update) {
      std::cerr << "parse: " << update.error().message << "\n";
      return update.error().code;
    }
    auto st = client.apply(*update);
    if (!st) {
      std::cerr << st.error().message << "\n";
      return st.error().code;
    }
    return 0;
  }
  if (cmd == "dump") {
    auto s = client.get();
    if (!s) {
      std::cerr << s.error().message << "\n";
      return s.error().code;
    }
    dump(*s);
    return 0;
  }
  if (cmd == "serve") return serve(path);
  if (cmd == "errno" && argc == 4) {
    std::string body = read_file(argv[3]);
    auto ours = uapi::parse_set(body);
    std::cout << (ours ? 0 : ours.error().code) << ' ' << raw_set_errno(path, body) << '\n';
    return 0;
  }
  std::cerr << "bad arguments\n";
  return 2;
}
