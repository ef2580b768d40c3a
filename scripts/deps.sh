#!/bin/bash
# deps.sh: the one list of Debian 12 packages wgcore needs to build, test and run its demo, and
# the installer for it. Idempotent: when every package is already installed it touches nothing.
# Use: scripts/deps.sh [GROUP...] (as root), or source it and call deps_install [GROUP...].
# shellcheck shell=bash disable=SC2034  # DEPS_<group> arrays are read by name in deps_list

# Package groups. To add a suite's needs, add a DEPS_<group> array and its name to DEPS_GROUPS;
# `deps_install` with no arguments installs every group.
DEPS_GROUPS=(build test netns interop fuzz kernel bench nm frr networkd)

# Compilers, build system and the libraries libwgcore links.
DEPS_build=(meson ninja-build g++ pkg-config libssl-dev libnl-3-dev libnl-genl-3-dev
  libnl-route-3-dev libnftables-dev)
# Unit tests, microbenchmarks, and the tools test scripts use (python3: meson and test helpers;
# procps: pgrep; xxd: hex to bytes). A minimal Debian 12 root has none of these
# (scripts/fresh-check proves the list complete).
DEPS_test=(libgtest-dev libgmock-dev googletest libbenchmark-dev python3 procps xxd)
# End-to-end tests in network namespaces (tests/lib/netns.sh).
DEPS_netns=(iproute2 iputils-ping)
# Second implementations and traffic for interop tests and the demo. nftables: stock wg-quick
# writes its full-tunnel firewall rules with nft when it exists (iptables-restore otherwise), and
# `wgcore up` writes the same tables through libnftables: the test compares them (wireguard-tools
# only recommends either, and we install without recommends).
DEPS_interop=(wireguard-tools wireguard-go iperf3 iptables nftables)
# Fuzz targets (libFuzzer ships in clang's runtime package).
DEPS_fuzz=(clang libclang-rt-14-dev)
# Suite kernel: a Debian kernel booted in QEMU with an initramfs (tests/kernel/run_in_qemu.sh).
DEPS_kernel=(qemu-system-x86 busybox-static kmod cpio)
# bench/throughput: plots (the rest of its needs are in netns/interop/test).
DEPS_bench=(gnuplot-nox)
# NetworkManager VPN plugin (nm-plugin/) and suite nm: NM itself, libnm + GLib to build against,
# and a D-Bus daemon for the private system bus the tests start.
DEPS_nm=(network-manager libnm-dev libglib2.0-dev dbus-daemon)
# frr-wgd and suite frr: FRR 8.4 (zebra, bgpd, vtysh).
DEPS_frr=(frr)
# networkd-helper and suite networkd: libsystemd to build against (systemd-networkd ships in systemd).
DEPS_networkd=(libsystemd-dev systemd dbus-daemon)
# scripts/fresh-check alone (not in DEPS_GROUPS, so the demo and the tests never install it):
# mmdebstrap builds the minimal Debian root.
DEPS_freshcheck=(mmdebstrap)

# deps_list [GROUP...]: the packages of the named groups (all groups by default), one a line.
deps_list() {
  local -a groups=("$@")
  [[ ${#groups[@]} -gt 0 ]] || groups=("${DEPS_GROUPS[@]}")
  local g
  for g in "${groups[@]}"; do
    if ! declare -p "DEPS_${g}" >/dev/null 2>&1; then
      printf 'error: unknown package group "%s" (known: %s)\n' "$g" "${DEPS_GROUPS[*]}" >&2
      return 1
    fi
    local -n group_ref="DEPS_${g}"
    printf '%s\n' "${group_ref[@]}"
    unset -n group_ref
  done
}

# deps_missing [GROUP...]: the packages of those groups that dpkg does not have installed.
deps_missing() {
  local listing p status
  listing="$(deps_list "$@")" || return 1
  for p in $listing; do
    status="$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)"
    [[ "$status" == "install ok installed" ]] || printf '%s\n' "$p"
  done
}

# deps_install [GROUP...]: install what is missing; quiet, non-interactive, needs no stdin.
deps_install() {
  local -a missing
  local listing
  listing="$(deps_missing "$@")" || return 1
  mapfile -t missing < <(printf '%s' "$listing" | sed '/^$/d')
  if [[ ${#missing[@]} -eq 0 ]]; then
    printf '==> packages: all present\n' >&2
    return 0
  fi
  if [[ "$(id -u)" -ne 0 ]]; then
    printf 'error: missing packages: %s; run as root, or install them: apt-get install %s\n' \
      "${missing[*]}" "${missing[*]}" >&2
    return 1
  fi
  printf '==> packages: installing %s\n' "${missing[*]}" >&2
  local log
  log="$(mktemp "${TMPDIR:-/tmp}/wgcore-apt.XXXXXX")"
  # apt output goes to a log shown only on failure; the lock timeout waits out a concurrent
  # apt (for example unattended-upgrades on a fresh machine) instead of failing at once.
  if ! { apt-get -o DPkg::Lock::Timeout=300 update -qq &&
    DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=300 install -y -qq \
      --no-install-recommends "${missing[@]}"; } </dev/null >"$log" 2>&1; then
    printf 'error: package installation failed; apt said:\n' >&2
    tail -n 40 "$log" >&2
    rm -f "$log"
    return 1
  fi
  rm -f "$log"
  # Verify instead of trusting apt's exit code alone.
  listing="$(deps_missing "$@")" || return 1
  if [[ -n "$listing" ]]; then
    printf 'error: still missing after install: %s\n' "$(printf '%s' "$listing" | tr '\n' ' ')" >&2
    return 1
  fi
}

if [[ "${BASH_SOURCE[0]}" == "$0" ]]; then
  set -euo pipefail
  deps_install "$@"
fi
