#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# custom_gate.sh - a third party can build a gate against the INSTALLED SDK and run it.
#
# Installs this build into a scratch prefix, builds examples/custom_gate out of tree with only
# `pkg-config relhost-plugin` (CMake with find_package switched off, and the Makefile
# alternative), puts the .so into a plugin folder of its own, and runs the installed relhost on
# plans that use it:
#   the file contains the text  -> exit 0, a line with PASSED and the step name
#   the file lacks the text     -> exit 1, a line with FAILED and the step name
#   the file is missing         -> exit 1, a line with FAILED and the step name
# Each plan lives in its own folder (own state), and relhost runs from an unrelated folder, so the
# relative `path` option must resolve against the plan's folder, not the working directory.
set -euo pipefail

name=plans_custom_gate
die() { printf '%s: FAIL: %s\n' "$name" "$*" >&2; exit 1; }
show() { printf '%s: --- %s ---\n' "$name" "$1" >&2; cat "$2" >&2 || true; }

: "${RELHOST_BUILD_DIR:?set by ctest}" "${RELHOST_SOURCE_DIR:?set by ctest}"
: "${RELHOST_TEST_TMP:?set by ctest}"
command -v pkg-config >/dev/null || die "pkg-config is not installed"

tmp=$RELHOST_TEST_TMP/$name
prefix=$tmp/prefix
rm -rf "$tmp"
mkdir -p "$tmp/elsewhere"

# --- install the SDK and the host into a scratch prefix ------------------------------------------
if ! cmake --install "$RELHOST_BUILD_DIR" --prefix "$prefix" >"$tmp/install.log" 2>&1; then
    show "cmake --install" "$tmp/install.log"
    die "cmake --install $RELHOST_BUILD_DIR --prefix $prefix failed (is the build complete?)"
fi
[ -f "$prefix/include/relhost/plugin.h" ] || die "the install has no include/relhost/plugin.h"
[ -x "$prefix/bin/relhost" ] || die "the install has no executable bin/relhost"
cmp -s "$prefix/include/relhost/plugin.h" "$RELHOST_SOURCE_DIR/include/relhost/plugin.h" ||
    die "the installed plugin.h differs from include/relhost/plugin.h"
# the shell completions, made from the installed binary's own option tables
for f in share/bash-completion/completions/relhost share/zsh/site-functions/_relhost \
         share/fish/vendor_completions.d/relhost.fish; do
    [ -s "$prefix/$f" ] || die "the install has no $f"
done
bashcomp=$prefix/share/bash-completion/completions/relhost
"$prefix/bin/relhost" completion bash | cmp -s - "$bashcomp" ||
    die "the installed bash completion is not what the installed relhost makes"
# shellcheck disable=SC1091
got=$(bash --norc --noprofile -c 'source "$1"; COMP_WORDS=(relhost status --fol); COMP_CWORD=2
      _relhost; echo "${COMPREPLY[*]}"' _ "$prefix/share/bash-completion/completions/relhost")
[ "$got" = "--follow" ] || die "the installed bash completion of 'relhost status --fol': '$got'"

pcpath=
for d in "$prefix/lib/pkgconfig" "$prefix/lib/x86_64-linux-gnu/pkgconfig" "$prefix/lib64/pkgconfig"
do
    [ -f "$d/relhost-plugin.pc" ] && pcpath=${pcpath:+$pcpath:}$d
done
[ -n "$pcpath" ] || die "no relhost-plugin.pc under $prefix/lib{,/x86_64-linux-gnu,64}/pkgconfig"
export PKG_CONFIG_PATH=$pcpath

# A .pc that still names the configure-time prefix would build against some other header (or
# none): a third party installing with --prefix must get the header they just installed.
incdir=$(pkg-config --variable=includedir relhost-plugin)
[ "$incdir/relhost/plugin.h" -ef "$prefix/include/relhost/plugin.h" ] ||
    die "relhost-plugin.pc says includedir=$incdir, not $prefix/include: the installed .pc is not" \
        "relocatable (cmake --install --prefix must yield a .pc naming that prefix, e.g. with" \
        "prefix=\${pcfiledir}/../.. in relhost-plugin.pc.in)"

# --- build the example out of tree, against the installed SDK only -----------------------------
src=$RELHOST_SOURCE_DIR/examples/custom_gate
# The pkg-config way (the CMake package's way is tests/plans/sdk_install.sh): find_package is
# switched off, so an SDK installed elsewhere on this machine cannot be picked up instead.
if ! cmake -S "$src" -B "$tmp/build-gate" -DCMAKE_C_FLAGS="-Werror" \
    -DCMAKE_DISABLE_FIND_PACKAGE_relhost-plugin=ON >"$tmp/configure.log" 2>&1; then
    show "configure examples/custom_gate" "$tmp/configure.log"
    die "configuring examples/custom_gate against the installed relhost-plugin failed"
fi
if ! cmake --build "$tmp/build-gate" >"$tmp/build.log" 2>&1; then
    show "build examples/custom_gate" "$tmp/build.log"
    die "building examples/custom_gate failed"
fi
so=$tmp/build-gate/custom_gate.so
[ -f "$so" ] || die "the out-of-tree build made no custom_gate.so (MODULE, PREFIX \"\")"
if command -v nm >/dev/null; then
    syms=$(nm -D --defined-only "$so" | awk '$2 ~ /^[TDBR]$/ {print $3}')
    grep -qx relhost_plugin_entry <<<"$syms" ||
        die "custom_gate.so does not export relhost_plugin_entry"
    extra=$(grep -vx -e relhost_plugin_entry -e '_init' -e '_fini' <<<"$syms" || true)
    [ -z "$extra" ] || die "custom_gate.so exports more than its entry: $extra"
fi

# The Makefile alternative builds the same plugin.
if command -v make >/dev/null; then
    mkdir -p "$tmp/build-make"
    if ! make -C "$tmp/build-make" -f "$src/Makefile" CFLAGS="-O2 -Wall -Wextra -Werror" \
        >"$tmp/make.log" 2>&1; then
        show "make -f examples/custom_gate/Makefile" "$tmp/make.log"
        die "the Makefile build of examples/custom_gate failed"
    fi
    [ -f "$tmp/build-make/custom_gate.so" ] || die "the Makefile made no custom_gate.so"
fi

# --- a plugin folder the loader accepts: not writable by group or others -----------------------
mkdir -p "$tmp/myplugins"
cp "$so" "$tmp/myplugins/custom_gate.so"
chmod 755 "$tmp/myplugins"
chmod 644 "$tmp/myplugins/custom_gate.so"

# write_plan DIR CONTAINS: a plan in DIR whose one required step checks DIR/evidence.txt.
write_plan() {
    mkdir -p "$1"
    cat >"$1/plan.cfg" <<EOF
version = "1.0.0";
state_dir = "state";
log_dir = "logs";
plugin_path = [ "$tmp/myplugins" ];
steps = (
  { name = "evidence-check"; plugin = "custom_gate"; required = true;
    path = "evidence.txt"; contains = "$2"; }
);
EOF
}

# run_plan DIR: the installed relhost, from an unrelated folder, no TTY; sets $out and $rc.
run_plan() {
    set +e
    out=$(cd "$tmp/elsewhere" && env -u RELHOST_PLUGIN_PATH "$prefix/bin/relhost" \
        -c "$1/plan.cfg" --no-color </dev/null 2>&1)
    rc=$?
    set -e
    printf '%s: --- relhost -c %s ---\n%s\n' "$name" "$1/plan.cfg" "$out"
}

# expect_line WORD WHAT: some output line names both the outcome WORD and the step.
expect_line() {
    grep -E "$1.*evidence-check|evidence-check.*$1" <<<"$out" >/dev/null ||
        die "$2: no output line contains both $1 and evidence-check (output above)"
}

write_plan "$tmp/pass" "release approved"
printf 'build 1.0.0\nrelease approved by QA\n' >"$tmp/pass/evidence.txt"
run_plan "$tmp/pass"
[ "$rc" -eq 0 ] || die "file contains the text: expected exit 0, got $rc"
expect_line PASSED "file contains the text"

write_plan "$tmp/fail" "release approved"
printf 'build 1.0.0\nrelease rejected by QA\n' >"$tmp/fail/evidence.txt"
run_plan "$tmp/fail"
[ "$rc" -eq 1 ] || die "file lacks the text: expected exit 1 (a required step FAILED), got $rc"
expect_line FAILED "file lacks the text"

write_plan "$tmp/missing" "release approved"
run_plan "$tmp/missing"
[ "$rc" -eq 1 ] || die "file is missing: expected exit 1 (a required step FAILED), got $rc"
expect_line FAILED "file is missing"

echo "$name: ok"
