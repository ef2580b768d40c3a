#!/bin/bash
# smoke.sh EXE NAME SECONDS CORPUS: a short libFuzzer run of one target for the `fuzz` suite.
# It fuzzes from a scratch copy of the committed seed corpus (libFuzzer adds new inputs to the
# first corpus directory it is given, which must never be the committed one) and keeps any
# crashing input under $WGCORE_BUILD_ROOT/fuzz-artifacts/NAME/ for reproduction:
#   EXE path/to/crash-...   (runs just that input)
set -uo pipefail
exe="$1" name="$2" seconds="$3" corpus="$4"
scratch="$(mktemp -d "${TMPDIR:-/tmp}/wgcore-fuzz-${name}.XXXXXX")"
trap 'rm -rf "$scratch"' EXIT
artifacts="${WGCORE_BUILD_ROOT:-.}/fuzz-artifacts/${name}"
mkdir -p "$artifacts"
cp -r "$corpus"/. "$scratch"/
# libFuzzer's own exit code for a crash is 77, which meson reads as SKIP: make every finding a
# plain failure.
"$exe" -max_total_time="$seconds" -rss_limit_mb=1024 -timeout=10 -print_final_stats=1 \
  -error_exitcode=1 -timeout_exitcode=1 \
  -artifact_prefix="$artifacts/" "$scratch" 2>&1 | grep -v -E '^#[0-9]+\s+(NEW|REDUCE|pulse)'
rc=${PIPESTATUS[0]}
if [[ $rc -ne 0 ]]; then
  echo "FAIL: fuzz target ${name} exited ${rc}; crashing input(s) in ${artifacts}/" >&2
  ls -l "$artifacts" >&2
fi
exit "$rc"
