# lib.sh: shell functions shared by scripts/ and the end-to-end tests: logging, root and namespace
# checks (skip outside CI, fail loudly under CI=true), and meson build-directory setup.
# Source it from bash; it defines functions and a few variables and changes no shell options.
# shellcheck shell=bash

[[ -n "${WGC_LIB_SH_LOADED:-}" ]] && return 0
WGC_LIB_SH_LOADED=1

# Repository root, from this file's location, so callers may run from any directory.
WGC_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export WGC_ROOT

# --- logging: progress and errors go to stderr; stdout stays for results ---------------------

# Each line carries the time since the script started, so a CI log shows what each stage cost.
log() { printf '==> [%02d:%02d] %s\n' $((SECONDS / 60)) $((SECONDS % 60)) "$*" >&2; }
warn() { printf 'warning: %s\n' "$*" >&2; }
die() {
  printf 'error: %s\n' "$*" >&2
  exit 1
}

# True when running under CI (CI=true, as the CI runner and most CI systems set it).
is_ci() { [[ "${CI:-}" == "true" || "${CI:-}" == "1" ]]; }

# grepq [GREP OPTIONS] PATTERN: `grep -q` that reads all of its input before it answers. Under
# pipefail, `cmd | grep -q` fails when grep exits at the first match while cmd is still writing
# (ip flushes every line): cmd dies of SIGPIPE and a check whose output matched reports a
# failure. Empty input stays empty (a here-string would add a line `grep -v` matches).
grepq() {
  local in
  in="$(cat)"
  if [[ -z "$in" ]]; then grep -q "$@" </dev/null; else grep -q "$@" <<<"$in"; fi
}

# --- prerequisites ---------------------------------------------------------------------------

# For scripts a user runs (demo, test): they install packages and create namespaces, so they
# need root. Say so plainly instead of failing later in apt or ip.
ensure_root() {
  [[ "$(id -u)" -eq 0 ]] || die "run as root (for example: sudo $0); it installs packages and uses network namespaces"
}

# For tests: a missing prerequisite is a skip (exit 77, which meson reports as SKIP) on a
# developer's machine, but a failure under CI, where a silent skip would hide a broken suite.
skip_or_fail() {
  if is_ci; then
    printf 'FAIL: %s (CI=true: a missing prerequisite is a failure, not a skip)\n' "$*" >&2
    exit 1
  fi
  printf 'SKIP: %s\n' "$*" >&2
  exit 77
}

require_root() {
  [[ "$(id -u)" -eq 0 ]] || skip_or_fail "needs root"
}

require_cmd() {
  local c
  for c in "$@"; do
    command -v "$c" >/dev/null 2>&1 || skip_or_fail "needs command '$c' (see scripts/deps.sh)"
  done
}

# Proves that network namespaces can actually be created here (root alone is not enough inside
# some containers) by adding and deleting a uniquely named probe namespace.
require_netns_support() {
  require_root
  require_cmd ip
  local probe="wgc-probe-$$-${RANDOM}"
  local err
  if ! err="$(ip netns add "$probe" 2>&1)"; then
    skip_or_fail "cannot create network namespaces: ${err}"
  fi
  ip netns del "$probe" 2>/dev/null || warn "could not delete probe namespace $probe"
}

# The userspace datapath needs a TUN device node it can open.
require_tun() {
  require_root
  [[ -c /dev/net/tun ]] || skip_or_fail "needs /dev/net/tun (a character device)"
  (exec 3<>/dev/net/tun) 2>/dev/null || skip_or_fail "cannot open /dev/net/tun"
}

# --- building --------------------------------------------------------------------------------

# Options every build directory gets. Warnings are errors always (not only under CI): a
# developer's ./scripts/test must fail exactly where CI would. WGCORE_WERROR=0 relaxes it for
# local experiments.
wgc_common_meson_opts() {
  local werror=true
  [[ "${WGCORE_WERROR:-1}" == "0" ]] && werror=false
  printf '%s\n' "-Dwerror=${werror}"
}

# meson_setup DIR [OPTION...]: configure DIR for the source tree at WGC_ROOT, reconfiguring
# when DIR already holds a configured build (so options given here always take effect).
meson_setup() {
  local dir="$1"
  shift
  local -a opts
  mapfile -t opts < <(wgc_common_meson_opts)
  opts+=("$@")
  if [[ -f "${dir}/meson-private/coredata.dat" ]]; then
    meson setup --reconfigure "${dir}" "${WGC_ROOT}" "${opts[@]}"
  else
    meson setup "${dir}" "${WGC_ROOT}" "${opts[@]}"
  fi
}

# --- sanitizers --------------------------------------------------------------------------------

# The unit tests (meson test names) whose code runs on several threads: ThreadSanitizer runs these.
# shellcheck disable=SC2034  # used by scripts/test
WGC_TSAN_TESTS=(device crypto_workers uapi linux_io crypto engine frr_wgd frr_wgd_daemon tunnel interface)

# sanitizer_reports_reset DIR: an empty DIR for the log_path= files of one sanitizer stage.
sanitizer_reports_reset() {
  rm -rf "$1"
  mkdir -p "$1"
}

# sanitizer_reports_check DIR WHAT: fail (return 1) and print them when any process of the stage
# wrote a sanitizer report into DIR.
sanitizer_reports_check() {
  local dir="$1" what="$2" f
  local -a files=()
  for f in "$dir"/*; do
    [[ -s "$f" ]] && files+=("$f")
  done
  if [[ ${#files[@]} -eq 0 ]]; then
    log "${what}: no sanitizer reports"
    return 0
  fi
  printf 'FAILED: %s: %d sanitizer report(s) in %s (counted as 1 failure)\n' "$what" "${#files[@]}" "$dir" >&2
  for f in "${files[@]}"; do
    printf -- '--- %s\n' "$f" >&2
    head -n 60 "$f" >&2
  done
  return 1
}

# build_test_inputs DIR SUITE...: compile in DIR every build output that a test of the SUITEs
# names in its command line or environment (WGCORED, WGCORE_CLI, helper binaries), besides the
# targets meson test builds by itself (a test's `depends` may not list every binary it runs).
build_test_inputs() {
  local dir="$1"
  shift
  local -a outputs
  mapfile -t outputs < <(meson introspect --tests "$dir" | python3 -c '
import json, os, subprocess, sys
build = os.path.realpath(sys.argv[1])
suites = set(sys.argv[2:])
known = set()
for line in subprocess.run(["ninja", "-C", build, "-t", "targets", "all"], capture_output=True,
                           text=True).stdout.splitlines():
    known.add(line.split(":", 1)[0])
wanted = set()
for t in json.load(sys.stdin):
    if not any(s.split(":", 1)[-1] in suites for s in t.get("suite", [])):
        continue
    for word in list(t.get("cmd", [])) + list((t.get("env") or {}).values()):
        path = os.path.realpath(word) if word.startswith("/") else ""
        if path.startswith(build + "/"):
            rel = os.path.relpath(path, build)
            if rel in known:
                wanted.add(rel)
print("\n".join(sorted(wanted)))' "$dir" "$@")
  [[ ${#outputs[@]} -eq 0 ]] && return 0
  log "compiling in ${dir}: ${outputs[*]}"
  ninja -C "$dir" "${outputs[@]}"
}

# build_main: configure and compile the main build directory, build/ under the source root.
build_main() {
  log "configuring build/"
  meson_setup "${WGC_ROOT}/build" || return 1
  log "compiling build/"
  meson compile -C "${WGC_ROOT}/build"
}
