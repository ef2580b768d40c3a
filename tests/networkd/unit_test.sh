#!/bin/bash
# wgcore-networkd.service: systemd-analyze accepts it (syntax, directives, ExecStart= exists)
# and rates its sandboxing (capability bounding set, ProtectSystem=strict, ...) as exposure
# below 4.0 ("OK"); the directives the issue asks for are present.
set -euo pipefail
source "${WGCORE_SOURCE_ROOT}/scripts/lib.sh"
require_cmd systemd-analyze
unit="$1"
systemd-analyze verify --man=no "$unit" || { echo "FAIL: systemd-analyze verify"; exit 1; }
out="$(systemd-analyze security --offline=yes --threshold=40 "$unit" 2>&1)" || {
  printf '%s\n' "$out"; echo "FAIL: exposure above 4.0"; exit 1; }
printf '%s\n' "$out" | tail -1
for d in 'Type=notify' 'ExecReload=' 'WatchdogSec=' 'CapabilityBoundingSet=CAP_NET_ADMIN CAP_NET_BIND_SERVICE' \
         'ProtectSystem=strict' 'ProtectHome=yes' 'NoNewPrivileges=yes' \
         'RestrictAddressFamilies=AF_UNIX AF_NETLINK AF_INET AF_INET6' 'DeviceAllow=/dev/net/tun' \
         'Before=systemd-networkd.service'; do
  grep -q "^${d}" "$unit" || { echo "FAIL: unit lacks ${d}"; exit 1; }
done
echo "PASS: unit verified"
