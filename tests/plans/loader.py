#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""loader.py - finding and loading plugins, one failure (or rule) per case.

Each plan's plugin_path holds exactly one fixture folder (tests/fixtures/plugins/README.md), or a
private copy of one when the case changes permissions or ownership. A plugin the host must refuse
abort()s in every op, so a host that used it anyway crashes the case instead of passing it. Every
refused plan also has a first `command` step that would leave a marker: plugin errors are plan
errors, found before anything runs.

Run one case: loader.py <case>; all: loader.py; names: loader.py --list.
"""
import json
import os
import shutil
import sys

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))
import rh  # noqa: E402


def setup(plugin_path, plugin, step_opts=""):
    """A scratch folder with a plan: marker step, then step "gate" using plugin."""
    d = rh.scratch()
    marker_text, marker = rh.marker_step(d)
    p = rh.write_plan(d, f"plugin_path = {json.dumps(plugin_path)};\n"
                         f'version = "1.0";\n'
                         f"steps = (\n  {marker_text}\n"
                         f'  {{ name = "gate"; plugin = "{plugin}"; {step_opts} }}  #GATE\n);\n')
    return d, p, marker


def refused(plugin_path, plugin, err, env=None):
    """The plan must be refused (exit 2) with err (regexes) after '<plan>:<gate line>: step
    "gate": '; nothing may run."""
    d, p, marker = setup(plugin_path, plugin)
    r = rh.run(["-c", p], cwd=d, env=env)
    rh.expect(r, 2, err=[rh.at(p, "#GATE") + rh.q('step "gate": ')] + list(err))
    rh.check(r.out == "", "nothing may be reported as run", r)
    rh.absent(marker, r, "a plugin error is a plan error: nothing may run")
    rh.absent(os.path.join(d, ".relhost"), r, "a refused plan must not create state")
    return r


def copy_fixture(case, mode_dir=0o755, mode_file=0o755):
    """A private copy of fixture folder `case` (so its permissions can be changed)."""
    src = rh.fixture(case)
    dst = os.path.join(rh.scratch("plugins"), os.path.basename(case))
    os.mkdir(dst)
    for f in os.listdir(src):
        if f.endswith(".so"):
            shutil.copy(os.path.join(src, f), os.path.join(dst, f))
            os.chmod(os.path.join(dst, f), mode_file)
    os.chmod(dst, mode_dir)
    return dst


def case_plugin_not_found():
    # shadowgate exists (in shadow/a) but not on this plan's path.
    good = rh.fixture("good")
    refused([good], "shadowgate",
            [rh.q('plugin "shadowgate" not found; searched: '),
             rh.q(f"searched: {good}, {rh.plugin_dir()}"),
             rh.q("plugin_path"), rh.q("RELHOST_PLUGIN_PATH")])


def case_no_entry_symbol():
    d = rh.fixture("no_entry")
    refused([d], "no_entry", [rh.q(f"{d}/no_entry.so is not a relhost plugin"),
                              rh.q("relhost_plugin_entry")])


def case_abi_major_2():
    d = rh.fixture("abi_major2")
    refused([d], "abi_major2", [rh.q(f"{d}/abi_major2.so"), rh.q("wanted 1.x"),
                                rh.q("got 2.0")])


def case_abi_minor_newer():
    d = rh.fixture("abi_minor_newer")
    refused([d], "abi_minor_newer", [rh.q(f"{d}/abi_minor_newer.so"), rh.q("wanted 1.x"),
                                     rh.q("got 1.99")])


def case_entry_fails():
    d = rh.fixture("entry_fails")
    refused([d], "entry_fails", [rh.q(f"{d}/entry_fails.so"), r"refused to load"])


def case_duplicate_name_in_one_folder():
    # A plugin's file is named after it, so one folder cannot hold two plugins of one name: the
    # plan's "dupgate" is dupgate.so; dupgate_copy.so, which also declares "dupgate", is never
    # opened for it, and `relhost plugins` lists it BROKEN with the rename to make.
    d = rh.fixture("dup_name")
    w, p, marker = setup([d], "dupgate")
    r = rh.run(["-c", p], cwd=w)
    rh.expect(r, 0)
    rh.check("dupgate copy a ran" in rh.step_of(r, "gate")["lines"], "dupgate.so runs", r)
    r = rh.run(["plugins", "-c", p], cwd=w)
    rh.expect(r, 0, out=[r"^dupgate_copy\s+BROKEN\s+.*declares plugin \"dupgate\"",
                         rh.q("rename the file dupgate.so")])


def case_an_unused_plugin_is_never_opened():
    # Every other .so on the path stays closed (its constructors never run) for a run, --check
    # and status; `relhost plugins` opens them all.
    d = rh.fixture("ctor_marker")
    w, p, marker = setup([d, rh.fixture("good")], "fixture_gate")
    flag = os.path.join(w, "constructor-ran")
    env = {"RELHOST_TEST_CTOR_MARKER": flag}
    for args in (["-c", p], ["-c", p, "--check"], ["status", "-c", p]):
        r = rh.run(args, cwd=w, env=env)
        rh.absent(flag, r, f"relhost {' '.join(args[:1])}: an unused plugin was opened")
    r = rh.run(["plugins", "-c", p], cwd=w, env=env)
    rh.expect(r, 0, out=[r"^ctor_marker\s"])
    rh.present(flag, r, "relhost plugins opens every plugin")


def case_shadowing_earlier_folder_wins():
    a, b = rh.fixture("shadow/a"), rh.fixture("shadow/b")
    d, p, _ = setup([a, b], "shadowgate")
    r = rh.run(["-c", p], cwd=d)
    rh.expect(r, 0)
    rh.expect_outcomes(r, [("marker", "PASSED", None), ("gate", "PASSED", None)])
    rh.check("shadowgate 1.0.0 from folder a ran" in rh.step_of(r, "gate")["lines"],
             "folder a is first: its copy (1.0.0) must run", r)
    d, p, _ = setup([b, a], "shadowgate")
    r = rh.run(["-c", p], cwd=d)
    rh.expect(r, 1)
    rh.expect_outcomes(r, [("marker", "PASSED", None),
                           ("gate", "FAILED", "shadowed_copy_ran")])
    rh.check("shadowgate 2.0.0 from folder b ran" in rh.step_of(r, "gate")["lines"],
             "folder b is first: its copy (2.0.0) must run", r)


def case_file_writable_by_others():
    d = copy_fixture("good", mode_file=0o757)
    f = f"{d}/fixture_gate.so"
    refused([d], "fixture_gate", [rh.q(f"refused: file {f} is writable by others"),
                                  rh.q(f"chmod go-w {f}")])


def case_file_writable_by_group():
    d = copy_fixture("good", mode_file=0o775)
    f = f"{d}/fixture_gate.so"
    refused([d], "fixture_gate", [rh.q(f"refused: file {f} is writable by its group")])


def case_folder_writable_by_group():
    d = copy_fixture("good", mode_dir=0o775)
    refused([d], "fixture_gate", [rh.q(f"refused: folder {d} is writable by its group"),
                                  rh.q(f"chmod go-w {d}")])


def case_file_owned_by_another_user():
    rh.need_root("chown to another uid")
    d = copy_fixture("good")
    os.chown(f"{d}/fixture_gate.so", 54321, -1)
    refused([d], "fixture_gate", [rh.q(f"refused: file {d}/fixture_gate.so is owned by uid "
                                       f"54321")])


def case_folder_below_a_folder_others_may_write():
    # As ssh's StrictModes: every folder up to "/" counts. A parent that anyone may write (and
    # that has no sticky bit, unlike /tmp) could swap the plugin folder for another.
    d = copy_fixture("good")
    parent = os.path.dirname(d)
    os.chmod(parent, 0o777)
    real = os.path.realpath(parent)
    refused([d], "fixture_gate", [rh.q(f"refused: {d} is below {real}, which anyone may write"),
                                  rh.q(f"chmod go-w {real}")])


def case_unsafe_copy_is_not_skipped():
    # An unsafe copy in an earlier folder must be reported, never silently passed over for a
    # later folder's copy of the same name (which would make the search order meaningless).
    bad = copy_fixture("good", mode_file=0o757)
    refused([bad, rh.fixture("good")], "fixture_gate",
            [rh.q(f"refused: file {bad}/fixture_gate.so is writable by others")])


def case_unused_broken_plugins_are_harmless():
    # Broken plugins on the path that no step names do not stop a plan; `relhost plugins`
    # lists them as BROKEN with the reason.
    ne, a2, good = rh.fixture("no_entry"), rh.fixture("abi_major2"), rh.fixture("good")
    d, p, marker = setup([ne, a2, good], "fixture_gate")
    r = rh.run(["-c", p], cwd=d)
    rh.expect(r, 0)
    rh.present(marker, r)
    r = rh.run(["plugins", "-c", p], cwd=d)
    rh.expect(r, 0, out=[r"^no_entry\s+BROKEN\s+.*is not a relhost plugin",
                         r"^abi_major2\s+BROKEN\s+.*wanted 1\.x.*got 2\.0",
                         r"^fixture_gate\s+1\.0\.0\s+gate\s+" + rh.q(good)])


def case_plugin_path_relative_to_plan():
    # A relative plugin_path entry is relative to the plan's folder, not to the cwd.
    d, p, marker = setup(["myplugins"], "fixture_gate")
    shutil.copytree(rh.fixture("good"), os.path.join(d, "myplugins"))
    os.chmod(os.path.join(d, "myplugins"), 0o755)
    r = rh.run(["-c", p], cwd=rh.scratch("cwd"))
    rh.expect(r, 0)
    rh.present(marker, r)


def case_env_path_searched_after_plugin_path():
    a, b, good = rh.fixture("shadow/a"), rh.fixture("shadow/b"), rh.fixture("good")
    # plugin_path has b, RELHOST_PLUGIN_PATH has a: b's copy (2.0.0) runs.
    d, p, _ = setup([b], "shadowgate")
    r = rh.run(["-c", p], cwd=d, env={"RELHOST_PLUGIN_PATH": a})
    rh.expect(r, 1)
    rh.check("shadowgate 2.0.0 from folder b ran" in rh.step_of(r, "gate")["lines"],
             "plugin_path comes before RELHOST_PLUGIN_PATH", r)
    # A plugin found only through RELHOST_PLUGIN_PATH (colon-separated) is used.
    d, p, marker = setup([good], "shadowgate")
    empty = rh.scratch("empty")
    r = rh.run(["-c", p], cwd=d, env={"RELHOST_PLUGIN_PATH": f"{empty}:{a}"})
    rh.expect(r, 0)
    rh.check("shadowgate 1.0.0 from folder a ran" in rh.step_of(r, "gate")["lines"],
             "RELHOST_PLUGIN_PATH is searched", r)
    r = rh.run(["plugins", "-c", p], cwd=d, env={"RELHOST_PLUGIN_PATH": f"{empty}:{a}"})
    rh.expect(r, 0, out=["^searched: " + rh.q(f"{good} {empty} {a} {rh.plugin_dir()}")])


if __name__ == "__main__":
    sys.exit(rh.main(globals()))
