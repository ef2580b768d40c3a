# guest_capture.sh: NOT part of the suite. How the byte strings in
# libwgcore/src/netlink/wg_genl_test.cpp were captured: stock `wg` (wireguard-tools 1.0.20210914)
# under strace in the QEMU guest (Linux 6.1.0-56-cloud-amd64), with fixed keys. Run with
#   tests/kernel/run_in_qemu.sh tests/kernel/guest_capture.sh /usr/bin/strace
# and paste the sendmsg/recvmsg payloads (strace -xx prints every byte as \xNN).
set -euo pipefail
CAP_PRIV=GIG8K6dcn+G1/Q6ZyhYsf0IOUJvRLxaYLNzWSO5sqmI=
CAP_PSK=8ElBJ1Dt4Woaxx9oIc8YiUOngIZZ1Mt6GMYEYsVQWEQ=
CAP_PEER1=lZ+YfwNR2JG0eUnh/nwbnFDod37Uq4W1sy9mDU2Fr18=
CAP_PEER2=5ky8wMPHPUDcRin+ciOElK/TO0S9D2Ki59dbXesPDQI=
ip link add wgc type wireguard
echo "${CAP_PRIV:?}" >/tmp/priv
echo "${CAP_PSK:?}" >/tmp/psk
ips=$(for i in $(seq 0 199); do printf '10.%d.%d.0/24,' $((i / 256)) $((i % 256)); done)
echo "=== set"
strace -e trace=sendmsg,sendto -e write=3,4,5 -s 0 wg set wgc private-key /tmp/priv listen-port 51820 \
  fwmark 0x1234 peer "${CAP_PEER1:?}" preshared-key /tmp/psk endpoint 192.0.2.1:51820 \
  persistent-keepalive 25 allowed-ips "${ips%,}" peer "${CAP_PEER2:?}" remove \
  2>&1 | grep -E "^(send| \\| )"
wg set wgc peer "$CAP_PEER2" endpoint '[2001:db8::1]:443' allowed-ips fd00::/64
echo "=== dump"
strace -e trace=recvmsg,recvfrom -e read=3,4,5 -s 0 wg show wgc dump 2>&1 | grep -E "^(recv| \\| )"
