#!/bin/sh
# SPDX-License-Identifier: MIT
# run_fuzz.sh BINARY CORPUS WORKDIR SECONDS [CRASHES [TIMES]]: the ctest entry of a libFuzzer
# harness (fuzz.cmake). First replays every saved reproducer in CRASHES (a bug found once stays a
# test), then fuzzes a fresh copy of the checked-in CORPUS for TIMES (default 1) times SECONDS
# (RELHOST_FUZZ_SECONDS in the environment overrides SECONDS) and exits non-zero on any crash, sanitizer report or oracle abort; the
# input that did it is left in WORKDIR/artifacts/. Extra libFuzzer flags: RELHOST_FUZZ_ARGS
# (e.g. "-jobs=8 -workers=8"). The mutation seed is fixed (RELHOST_FUZZ_SEED, default 1) so that
# a CI run explores a prefix of one reproducible sequence: a red CI is the same red on any machine
# that gets as far, and a bug is found by a longer local run first (RELHOST_FUZZ_SEED=0: random).
set -eu
# LeakSanitizer ignores what tests/lsan.supp names (libconfig's own leak on some syntax errors),
# as in the ASan build; CI exports the same LSAN_OPTIONS.
here=$(cd "$(dirname "$0")" && pwd)
LSAN_OPTIONS=${LSAN_OPTIONS:-suppressions=$here/../lsan.supp:print_suppressions=0}
export LSAN_OPTIONS
bin=$1 corpus=$2 work=$3
crashes=${5:-}
secs=$((${RELHOST_FUZZ_SECONDS:-$4} * ${6:-1}))
rm -rf "$work"
mkdir -p "$work/corpus" "$work/artifacts"
# absolute paths: the fuzzer runs in $work (where -jobs writes its fuzz-N.log files)
bin=$(cd "$(dirname "$bin")" && pwd)/$(basename "$bin")
work=$(cd "$work" && pwd)
if [ -n "$crashes" ] && [ -d "$crashes" ] && [ -n "$(ls "$crashes")" ]; then
  echo "replaying the saved reproducers in $crashes"
  for f in "$crashes"/*; do
    if ! "$bin" "$f" >"$work/replay.log" 2>&1; then
      cat "$work/replay.log"
      echo "FAIL: saved reproducer $f still fails (see $(dirname "$(dirname "$crashes")")/README.md)"
      exit 1
    fi
  done
fi
cp "$corpus"/* "$work/corpus/"
cd "$work"
echo "fuzzing $(basename "$bin") for $secs s on a copy of $corpus ($(ls "$work/corpus" | wc -l) seeds)"
set +e
# shellcheck disable=SC2086
"$bin" -seed="${RELHOST_FUZZ_SEED:-1}" -max_total_time="$secs" -max_len=65536 -rss_limit_mb=2048 -timeout=30 \
  -print_final_stats=1 -artifact_prefix="$work/artifacts/" ${RELHOST_FUZZ_ARGS:-} "$work/corpus"
rc=$?
set -e
if [ "$rc" -ne 0 ] || [ -n "$(ls "$work/artifacts")" ]; then
  echo "FAIL: the fuzzer exited with $rc; reproducer(s): $(ls -d "$work"/artifacts/* 2>/dev/null)"
  echo "replay one with: $bin <file>"
  exit 1
fi
echo "PASS: no crash in $secs s"
