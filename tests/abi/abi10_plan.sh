#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# abi10_plan.sh - a gate compiled against the frozen ABI 1.0 header loads and runs in this host.
# The plugin (tests/abi/abi10_gate.c) lives alone in <build>/test-plugins/abi10; a plan pointing
# plugin_path there must PASS it (exit 0), and with fail = true report FAILED (exit 1): both the
# descriptor/option table and the verdict written through the 1.0 layout reach the host intact.
set -euo pipefail

die() { printf 'abi_plan_abi10: FAIL: %s\n' "$*" >&2; exit 1; }

: "${RELHOST_BIN:?set by ctest}" "${RELHOST_BUILD_DIR:?set by ctest}"
: "${RELHOST_TEST_TMP:?set by ctest}"
plugdir=$RELHOST_BUILD_DIR/test-plugins/abi10
[ -f "$plugdir/abi10_gate.so" ] ||
    die "$plugdir/abi10_gate.so is missing (build the abi10_gate target)"
[ -x "$RELHOST_BIN" ] || die "relhost binary $RELHOST_BIN is missing"

tmp=$RELHOST_TEST_TMP/abi_plan_abi10
rm -rf "$tmp"
mkdir -p "$tmp"

# write_plan DIR FAIL: one plan per folder, so each run has its own state and never resumes the
# other's result.
write_plan() {
    mkdir -p "$1"
    cat >"$1/plan.cfg" <<EOF
version = "1.0.0";
state_dir = "state";
log_dir = "logs";
plugin_path = [ "$plugdir" ];
steps = (
  { name = "abi10-step"; plugin = "abi10_gate"; required = true;
    greeting = "built for {version}"; times = 2; fail = $2; }
);
EOF
}

# run_plan DIR: runs relhost from an unrelated folder; sets $out and $rc.
run_plan() {
    set +e
    out=$(cd "$tmp" && "$RELHOST_BIN" -c "$1/plan.cfg" --no-color 2>&1)
    rc=$?
    set -e
}

write_plan "$tmp/pass" false
run_plan "$tmp/pass"
printf '%s\n' "$out"
[ "$rc" -eq 0 ] || die "a 1.0 gate that passes: expected exit 0, got $rc"
grep -E 'PASSED.*abi10-step|abi10-step.*PASSED' <<<"$out" >/dev/null ||
    die "a 1.0 gate that passes: no line with PASSED and abi10-step in the output above"
# The notes prove the 1.0 option table was walked with the plugin's row size and the conf filled
# at 1.0 offsets: the templated greeting arrives expanded, and `times` = 2 posts it twice.
n=$(grep -c 'abi10_gate (ABI 1.0): built for 1.0.0' <<<"$out" || true)
[ "$n" -eq 2 ] ||
    die "a 1.0 gate that passes: expected its note \"built for 1.0.0\" twice, found it $n time(s)"

write_plan "$tmp/fail" true
run_plan "$tmp/fail"
printf '%s\n' "$out"
[ "$rc" -eq 1 ] || die "a 1.0 gate that fails: expected exit 1, got $rc"
grep -E 'FAILED.*abi10-step|abi10-step.*FAILED' <<<"$out" >/dev/null ||
    die "a 1.0 gate that fails: no line with FAILED and abi10-step in the output above"

echo "abi_plan_abi10: ok"
