// Fuzz target: netlink bytes as the kernel (or anything that can answer on a netlink socket)
// hands them to kernel_control: split_messages over a receive buffer, then every message
// through the GET_DEVICE dump parser, the SET_DEVICE decoder and the policy-dump reader. None
// may crash or read out of bounds; a parsed dump must describe a state the rest of the library
// can print (format_get and back).
#include <vector>

#include "fuzz_common.hpp"
#include "netlink/wg_genl.hpp"
#include "uapi/uapi_text.hpp"

using namespace wgcore;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  auto split = netlink::split_messages({data, size});
  if (!split.ok()) return 0;
  std::vector<netlink::Bytes> messages;
  std::size_t total = 0;
  for (auto m : *split) {
    FUZZ_CHECK(m.data() >= data && m.data() + m.size() <= data + size);
    total += m.size();
    messages.emplace_back(m.begin(), m.end());
    auto decoded = netlink::decode_set(m);
    (void)decoded;
  }
  FUZZ_CHECK(total <= size);
  (void)netlink::parse_caps_from_policy(messages);
  auto state = netlink::parse_get_dump(messages);
  if (!state.ok()) return 0;
  DeviceState s = *state;
  s.name.clear();
  for (auto& p : s.peers)
    if (p.preshared_key && p.preshared_key->is_zero()) p.preshared_key.reset();
  auto back = uapi::parse_get(uapi::format_get(s));
  FUZZ_CHECK(back.ok());
  return 0;
}
