#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# sdk_install.sh - `cmake --install` gives a plugin author everything the SDK promises:
#   - a CMake package config, so an out-of-tree plugin does find_package(relhost-plugin): the
#     installed copy of examples/custom_gate is configured and built against the scratch prefix
#     with nothing but CMAKE_PREFIX_PATH, and the header it compiles with is the installed one;
#     the package version is the plugin ABI (find_package(relhost-plugin 1.0) is accepted, a
#     newer minor or another major is refused);
#   - the JSON schemas of every JSON output (docs/*.schema.json) under share/relhost/schemas;
#   - the examples and the demo plan under share/relhost (etc/demo.cfg finds its helpers by the
#     same relative paths as in the source tree: a copy of the folder passes `relhost --check`);
#   - the manual pages relhost(1), relhost.cfg(5) and relhost-plugin(3), which man renders.
# Why (issue 19): find_package failed (only pkg-config worked); the schemas, the example, the
# demo plan and a plugin API manual were not installed.
set -euo pipefail

name=plans_sdk_install
die() { printf '%s: FAIL: %s\n' "$name" "$*" >&2; exit 1; }
show() { printf '%s: --- %s ---\n' "$name" "$1" >&2; cat "$2" >&2 || true; }

: "${RELHOST_BUILD_DIR:?set by ctest}" "${RELHOST_SOURCE_DIR:?set by ctest}"
: "${RELHOST_TEST_TMP:?set by ctest}"

tmp=$RELHOST_TEST_TMP/$name
prefix=$tmp/prefix
rm -rf "$tmp"
mkdir -p "$tmp"

if ! cmake --install "$RELHOST_BUILD_DIR" --prefix "$prefix" >"$tmp/install.log" 2>&1; then
    show "cmake --install" "$tmp/install.log"
    die "cmake --install $RELHOST_BUILD_DIR --prefix $prefix failed (is the build complete?)"
fi

# --- installed files -----------------------------------------------------------------------------
cfg=$(find "$prefix" -name relhost-plugin-config.cmake -print -quit)
[ -n "$cfg" ] || die "no relhost-plugin-config.cmake installed: find_package(relhost-plugin) cannot work"
[ -f "$(dirname "$cfg")/relhost-plugin-config-version.cmake" ] ||
    die "no relhost-plugin-config-version.cmake beside $cfg"
share=$prefix/share/relhost
for s in "$RELHOST_SOURCE_DIR"/docs/*.schema.json; do
    cmp -s "$s" "$share/schemas/$(basename "$s")" ||
        die "schema $(basename "$s") is not installed as $share/schemas/$(basename "$s")"
done
for f in etc/demo.cfg examples/demo/make-repo.sh examples/fake_trainer/train.py \
         examples/custom_gate/CMakeLists.txt examples/custom_gate/Makefile \
         examples/custom_gate/README.md examples/custom_gate/custom_gate.c; do
    cmp -s "$RELHOST_SOURCE_DIR/$f" "$share/$f" || die "$f is not installed as $share/$f"
done
for m in man1/relhost.1 man5/relhost.cfg.5 man3/relhost-plugin.3; do
    [ -f "$prefix/share/man/$m" ] || die "manual page $m is not installed under $prefix/share/man"
done
if command -v man >/dev/null; then
    MANWIDTH=80 man -l "$prefix/share/man/man3/relhost-plugin.3" >"$tmp/man3.txt" 2>"$tmp/man3.err" ||
        { show "man relhost-plugin.3" "$tmp/man3.err"; die "man cannot render relhost-plugin(3)"; }
    for word in relhost_plugin_entry RELHOST_ABI_MAJOR struct_size close find_package; do
        grep -q "$word" "$tmp/man3.txt" || die "relhost-plugin(3) does not mention $word"
    done
fi

# --- find_package(relhost-plugin) from the installed example ------------------------------------
# Built from the INSTALLED copy of the example, so what a user finds in share/ is complete. No
# PKG_CONFIG_PATH: find_package alone must do it.
src=$tmp/custom_gate
cp -r "$share/examples/custom_gate" "$src"
if ! env -u PKG_CONFIG_PATH cmake -S "$src" -B "$tmp/build" -DCMAKE_PREFIX_PATH="$prefix" \
    -DCMAKE_C_FLAGS="-Werror" >"$tmp/configure.log" 2>&1; then
    show "configure the installed examples/custom_gate" "$tmp/configure.log"
    die "find_package(relhost-plugin) against $prefix failed"
fi
found=$(sed -n 's/^relhost-plugin_DIR:PATH=//p' "$tmp/build/CMakeCache.txt")
[ "$found" -ef "$(dirname "$cfg")" ] ||
    die "find_package(relhost-plugin) found $found, not the scratch install's $(dirname "$cfg")"
if ! cmake --build "$tmp/build" -v >"$tmp/build.log" 2>&1; then
    show "build the installed examples/custom_gate" "$tmp/build.log"
    die "building examples/custom_gate with find_package(relhost-plugin) failed"
fi
[ -f "$tmp/build/custom_gate.so" ] || die "the find_package build made no custom_gate.so"
grep -q -- "-I$prefix/include\|-isystem $prefix/include" "$tmp/build.log" ||
    die "the plugin did not compile against $prefix/include (build log: $tmp/build.log)"
# It installs into the SDK's plugin folder, the one the installed relhost searches.
if ! cmake --install "$tmp/build" >"$tmp/plugin-install.log" 2>&1; then
    show "cmake --install the plugin" "$tmp/plugin-install.log"
    die "installing the example plugin failed"
fi
[ -f "$prefix/lib/relhost/plugins/custom_gate.so" ] ||
    ls "$prefix"/lib*/relhost/plugins/custom_gate.so >/dev/null 2>&1 ||
    die "the plugin did not install into the SDK's plugin folder (RELHOST_PLUGIN_DIR)"

# The package version is the plugin ABI: an older or equal minor of the same major is accepted,
# a newer minor or another major is refused.
abi_major=$(sed -n 's/^#define RELHOST_ABI_MAJOR \([0-9]*\)$/\1/p' "$RELHOST_SOURCE_DIR/include/relhost/plugin.h")
abi_minor=$(sed -n 's/^#define RELHOST_ABI_MINOR \([0-9]*\)$/\1/p' "$RELHOST_SOURCE_DIR/include/relhost/plugin.h")
probe() {  # probe VERSION: configure a project that asks for relhost-plugin VERSION
    mkdir -p "$tmp/probe-$1"
    cat >"$tmp/probe-$1/CMakeLists.txt" <<EOF
cmake_minimum_required(VERSION 3.18)
project(probe LANGUAGES C)
find_package(relhost-plugin $1 REQUIRED)
if(NOT TARGET relhost::plugin OR NOT RELHOST_PLUGIN_DIR OR NOT RELHOST_SCHEMA_DIR)
  message(FATAL_ERROR "relhost-plugin gave no relhost::plugin target, RELHOST_PLUGIN_DIR or RELHOST_SCHEMA_DIR")
endif()
if(NOT EXISTS "\${RELHOST_SCHEMA_DIR}/report.schema.json")
  message(FATAL_ERROR "RELHOST_SCHEMA_DIR \${RELHOST_SCHEMA_DIR} has no report.schema.json")
endif()
EOF
    cmake -S "$tmp/probe-$1" -B "$tmp/probe-$1/build" -DCMAKE_PREFIX_PATH="$prefix" \
        >"$tmp/probe-$1.log" 2>&1
}
probe "$abi_major.0" || { show probe "$tmp/probe-$abi_major.0.log"; die "find_package(relhost-plugin $abi_major.0) was refused"; }
probe "$abi_major.$abi_minor" || { show probe "$tmp/probe-$abi_major.$abi_minor.log"; die "find_package(relhost-plugin $abi_major.$abi_minor) was refused"; }
! probe "$abi_major.$((abi_minor + 1))" || die "find_package(relhost-plugin $abi_major.$((abi_minor + 1))) was accepted by an SDK of ABI $abi_major.$abi_minor"
! probe "$((abi_major + 1)).0" || die "find_package(relhost-plugin $((abi_major + 1)).0) was accepted by an SDK of ABI $abi_major.$abi_minor"

# --- the installed demo plan, copied to a writable folder, checks with the installed relhost ---
cp -r "$share" "$tmp/demo"
if ! (cd "$tmp" && env -u RELHOST_PLUGIN_PATH "$prefix/bin/relhost" -c "$tmp/demo/etc/demo.cfg" \
    --check --no-color </dev/null >"$tmp/check.log" 2>&1); then
    show "relhost --check on the installed demo plan" "$tmp/check.log"
    die "the installed demo plan does not pass relhost --check"
fi

echo "$name: ok"
