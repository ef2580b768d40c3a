#!/bin/bash
# run_in_qemu.sh: boots Debian's cloud kernel under QEMU with a throw-away initramfs (static
# busybox, the wireguard/veth/tun/sch_netem modules, our binaries and their libraries) and runs one guest
# script as root there; the script's exit status comes back over the serial console.
# The machine running this needs no wireguard module and no root: only qemu, busybox-static,
# kmod, cpio and apt access for the kernel package (fetched once into a cache).
#
# Use: run_in_qemu.sh GUEST_SCRIPT [BINARY...]   (binaries are copied to the same paths)
# Env: WGCORE_KERNEL_CACHE (default /var/cache/wgcore-kernel, else $WGCORE_BUILD_ROOT/kernel-cache)
#      WGCORE_KERNEL_PKG (default: what linux-image-cloud-amd64 depends on)
#      WGCORE_QEMU_ACCEL=auto|kvm|tcg, WGCORE_QEMU_TIMEOUT (seconds, default 240)
#      WGCORE_QEMU_LOG=FILE keeps the serial console log.
# Exit: the guest script's status; 77 (skip) / 1 under CI=true when prerequisites are missing.
set -euo pipefail
# shellcheck source=../../scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../../scripts/lib.sh"

[[ $# -ge 1 ]] || die "usage: $0 GUEST_SCRIPT [BINARY...]"
guest_script=$1
shift
bins=("$@")

for c in qemu-system-x86_64 cpio depmod modprobe dpkg-deb apt-get apt-cache ldd gzip; do
  command -v "$c" >/dev/null 2>&1 ||
    skip_or_fail "needs '$c' (packages of the kernel group: qemu-system-x86 busybox-static kmod cpio)"
done
busybox=""
for b in /bin/busybox /usr/bin/busybox; do
  if [[ -x $b ]] && LC_ALL=C file -L "$b" 2>/dev/null | grepq 'statically linked'; then busybox=$b; break; fi
  # Without `file`, ldd says so for static binaries.
  if [[ -x $b ]] && ! ldd "$b" >/dev/null 2>&1; then busybox=$b; break; fi
done
[[ -n $busybox ]] || skip_or_fail "needs a static busybox (package busybox-static)"

# --- the kernel: apt-get download into a cache, unpacked once -------------------------------
cache=${WGCORE_KERNEL_CACHE:-/var/cache/wgcore-kernel}
if ! mkdir -p "$cache" 2>/dev/null || [[ ! -w $cache ]]; then
  cache=${WGCORE_BUILD_ROOT:-${WGC_ROOT}/build}/kernel-cache
  mkdir -p "$cache"
fi
# find_kernel_deb: the cloud kernel .deb in the cache, downloading it when apt knows the package.
find_kernel_deb() {
  local pkg=${WGCORE_KERNEL_PKG:-}
  if [[ -z $pkg ]]; then
    pkg=$(apt-cache depends linux-image-cloud-amd64 2>/dev/null |
      awk '/Depends: linux-image-/ {print $2; exit}')
  fi
  if [[ -z $pkg ]]; then
    # apt lists unknown: use a cached kernel if any.
    ls "$cache"/linux-image-*-cloud-amd64_*.deb 2>/dev/null | tail -n 1 || true
    return
  fi
  local found
  found=$(ls "$cache/${pkg}"_*.deb 2>/dev/null | tail -n 1 || true)
  if [[ -z $found ]]; then
    log "downloading $pkg into $cache"
    # apt drops privileges to _apt for downloads; it needs to write there.
    chmod 1777 "$cache" 2>/dev/null || true
    (cd "$cache" && apt-get download -q "$pkg") >&2 || true
    found=$(ls "$cache/${pkg}"_*.deb 2>/dev/null | tail -n 1 || true)
  fi
  printf '%s\n' "$found"
}
deb=$(find_kernel_deb)
if [[ -z $deb ]]; then
  # Package lists missing or stale (scripts/deps.sh skips `apt-get update` when every package is
  # installed): refresh them once and try again.
  log "refreshing apt package lists to find the cloud kernel"
  apt-get update -qq >&2 || true
  deb=$(find_kernel_deb)
fi
[[ -n $deb && -f $deb ]] ||
  skip_or_fail "cannot get the Debian cloud kernel package (apt-get update; network access to Debian mirrors)"
kroot=$cache/root-$(basename "$deb" .deb)
if [[ ! -f $kroot/.done ]]; then
  rm -rf "$kroot"
  mkdir -p "$kroot"
  dpkg-deb -x "$deb" "$kroot"
  kver=$(ls "$kroot/lib/modules" | head -n 1)
  # The .deb ships no modules.dep (postinst builds it); modprobe needs it for the order.
  depmod -b "$kroot" "$kver"
  touch "$kroot/.done"
fi
kver=$(ls "$kroot/lib/modules" | head -n 1)
vmlinuz=$kroot/boot/vmlinuz-$kver
[[ -f $vmlinuz ]] || die "no kernel image in $deb"

# --- the initramfs ----------------------------------------------------------------------------
work=$(mktemp -d "${TMPDIR:-/tmp}/wgcore-qemu.XXXXXX")
qpid=""
cleanup() {
  [[ -n $qpid ]] && kill "$qpid" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT
root=$work/root
mkdir -p "$root"/{bin,sbin,usr/bin,usr/sbin,usr/local/bin,lib64,proc,sys,dev,run,tmp,etc,root,test,var}
ln -s ../run "$root/var/run"  # `ip netns` and UAPI sockets use /var/run

copy_file() {  # copy_file HOST_PATH: to the same path in the guest, symlinks resolved
  mkdir -p "$root$(dirname "$1")"
  cp -L "$1" "$root$1"
}
add_bin() {  # add_bin BINARY [GUEST_PATH]: the binary and every library ldd names
  local b=$1 lib
  [[ $b == /* ]] || b=$(command -v "$b") || die "binary $1 not found"
  local dst=${2:-$b}
  mkdir -p "$root$(dirname "$dst")"
  cp -L "$b" "$root$dst"
  chmod 755 "$root$dst"
  # The guest has no ld.so.cache: libraries go to the host's paths, which LD_LIBRARY_PATH lists.
  while read -r lib; do
    [[ -e $root$lib ]] || copy_file "$lib"
  done < <(ldd "$b" 2>/dev/null | awk '/=> \// {print $3} /^[ \t]*\// {print $1}')
}
# The guest scripts run under bash (busybox's ash prefers its own applets, e.g. its `ip`).
for b in bash ip wg ping tc; do add_bin "$b"; done
# Ours go on the guest's PATH by name (the build dir may be under /tmp, a tmpfs in the guest).
for b in "${bins[@]}"; do add_bin "$b" "/usr/local/bin/$(basename "$b")"; done
cp "$busybox" "$root/bin/busybox"
for a in $("$busybox" --list); do
  [[ -e $root/bin/$a || -e $root/usr/bin/$a || -e $root/sbin/$a || -e $root/usr/sbin/$a ]] ||
    ln -s busybox "$root/bin/$a"
done

# Modules with their dependencies, in load order (modprobe --show-depends sorts them).
: >"$root/etc/modules.order"
for m in wireguard veth tun sch_netem; do
  modprobe -d "$kroot" -S "$kver" --show-depends "$m" >"$work/dep" 2>&1 ||
    { grep -q builtin "$work/dep" && continue; die "module $m: $(cat "$work/dep")"; }
  while read -r kind path _; do
    [[ $kind == insmod ]] || continue
    rel=${path#"$kroot"}
    dst=${rel%.xz}; dst=${dst%.zst}; dst=${dst%.gz}
    grep -qxF "$dst" "$root/etc/modules.order" && continue
    mkdir -p "$root$(dirname "$dst")"
    case $path in  # busybox insmod may not decompress (trixie ships .ko.xz)
      *.xz) xz -dc "$path" >"$root$dst" ;;
      *.zst) zstd -qdc "$path" >"$root$dst" ;;
      *.gz) gzip -dc "$path" >"$root$dst" ;;
      *) cp "$path" "$root$dst" ;;
    esac
    echo "$dst" >>"$root/etc/modules.order"
  done <"$work/dep"
done

cp "$guest_script" "$root/test/guest.sh"
# Helpers the guest scripts source (the kernel/wgcored pair of guest_interop.sh and guest_netem.sh).
cp "$(dirname "${BASH_SOURCE[0]}")/guest_lib.sh" "$root/test/guest_lib.sh"
cp "$(dirname "${BASH_SOURCE[0]}")/../../scripts/lib.sh" "$root/test/lib.sh"  # grepq and friends
cat >"$root/init" <<'INIT'
#!/bin/busybox sh
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export LD_LIBRARY_PATH=/lib/x86_64-linux-gnu:/usr/lib/x86_64-linux-gnu:/lib64
export HOME=/root
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mkdir -p /dev/pts /dev/shm /dev/net
mount -t devpts devpts /dev/pts
mount -t tmpfs tmpfs /run
mount -t tmpfs tmpfs /tmp
ln -s /proc/self/fd /dev/fd
ip link set lo up
rc=0
while read -r m; do
  insmod "$m" || { echo "@@WGC insmod $m failed@@"; rc=126; }
done </etc/modules.order
[ -c /dev/net/tun ] || mknod /dev/net/tun c 10 200
echo "@@WGC_BEGIN kernel=$(uname -r) uptime=$(cut -d' ' -f1 /proc/uptime)@@"
if [ $rc = 0 ]; then
  cd /root
  @BASH@ /test/guest.sh 2>&1
  rc=$?
fi
echo "@@WGC_END rc=$rc uptime=$(cut -d' ' -f1 /proc/uptime)@@"
sync
poweroff -f
INIT
sed -i "s#@BASH@#$(command -v bash)#" "$root/init"
chmod 755 "$root/init"
(cd "$root" && find . | cpio -o -H newc --quiet | gzip -1) >"$work/initrd.gz"

# --- boot -------------------------------------------------------------------------------------
accel=${WGCORE_QEMU_ACCEL:-auto}
if [[ $accel == auto ]]; then
  # /dev/kvm can exist while the CPU is itself virtualized without VMX/SVM; QEMU's KVM then
  # emulates and is ~100x slower than TCG (and fails outright on some hosts). Use KVM only when
  # the device is usable and the CPU advertises hardware virtualization.
  accel=tcg
  if [[ -r /dev/kvm && -w /dev/kvm ]] && grep -qwE 'vmx|svm' /proc/cpuinfo; then accel=kvm; fi
fi
case $accel in
  kvm) qaccel=(-accel kvm -cpu host) ;;
  tcg) qaccel=(-accel tcg,thread=multi -cpu max) ;;
  *) die "WGCORE_QEMU_ACCEL must be auto, kvm or tcg" ;;
esac
console=${WGCORE_QEMU_LOG:-$work/console.log}
log "booting $kver ($accel), initramfs $(du -k "$work/initrd.gz" | cut -f1) KiB"
: >"$console"
set +e
timeout --foreground -k 5 "${WGCORE_QEMU_TIMEOUT:-240}" qemu-system-x86_64 "${qaccel[@]}" \
  -smp 2 -m 768M -nodefaults -no-user-config -display none -vga none -no-reboot \
  -serial "file:$console" -kernel "$vmlinuz" -initrd "$work/initrd.gz" \
  -append "console=ttyS0 panic=-1 oops=panic quiet loglevel=3" </dev/null &
qpid=$!
wait "$qpid"
qrc=$?
qpid=""
set -e
tr -d '\r' <"$console" | sed -n '/@@WGC_BEGIN/,/@@WGC_END/p'
rc=$(tr -d '\r' <"$console" | sed -n 's/.*@@WGC_END rc=\([0-9]*\).*/\1/p' | tail -n 1)
if [[ -n $rc ]]; then
  log "guest script exit status $rc"
  exit "$rc"
fi
if [[ $qrc == 124 || $qrc == 137 ]]; then
  echo "FAIL: the VM timed out; console tail:" >&2
else
  echo "FAIL: the VM ended without a result (qemu status $qrc); console tail:" >&2
fi
tail -n 40 "$console" >&2
exit 1
