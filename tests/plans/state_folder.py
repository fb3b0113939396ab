#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""state_folder.py - the state folder is relhost's own: what it refuses, and that it never writes
through a link.

A state folder that another user could write, or "/" itself, is refused before anything runs,
with the chmod / chown that fixes it. Inside the folder no file is opened through a symbolic
link: a planted link is an error that names it, and its target keeps its bytes. A folder given
as a link is followed once (and then checked). A snapshot whose members have the wrong types is
refused as corrupt and left as it was, never half-used.

Run one case: state_folder.py <case>; all: state_folder.py; names: state_folder.py --list.
"""
import json
import os
import re
import shutil
import subprocess
import sys

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))
import rh  # noqa: E402


def plan(state_dir):
    """A scratch folder with a one-step plan keeping its state in state_dir: (folder, plan, marker)."""
    d = rh.scratch()
    marker_text, marker = rh.marker_step(d)
    p = rh.write_plan(d, f'version = "1.0";\nstate_dir = {json.dumps(state_dir)};  #STATE\n'
                         f"steps = (\n  {marker_text[:-1]}\n);\n")
    return d, p, marker


def refused(state_dir, err, make=None):
    d, p, marker = plan(state_dir)
    if make:
        make(d)
    r = rh.run(["-c", p], cwd=d)
    rh.expect(r, 2, err=err)
    rh.absent(marker, r, "a refused state folder is found before anything runs")
    return d, r


def case_root_folder_is_refused():
    d, r = refused("/", [rh.q('state folder refused: / is the root folder "/"'),
                         rh.q("give relhost a folder of its own")])
    rh.absent("/release_1.0.lock", r, "nothing may be written into /")
    rh.absent("/release_1.0.journal", r, "nothing may be written into /")


def case_group_writable_folder_is_refused_with_the_fix():
    def make(d):
        os.mkdir(os.path.join(d, "st"), 0o700)
        os.chmod(os.path.join(d, "st"), 0o775)
    d, r = refused("st", [rh.q("is writable by its group"), rh.q("chmod go-w ")], make)
    rh.check(os.listdir(os.path.join(d, "st")) == [], "a refused folder stays empty", r)


def case_folder_of_another_user_is_refused_with_the_fix():
    rh.need_root("chown to another uid")

    def make(d):
        os.mkdir(os.path.join(d, "st"), 0o755)
        os.chown(os.path.join(d, "st"), 54321, -1)
    refused("st", [rh.q("is owned by uid 54321, not by uid 0 running relhost"),
                   rh.q("chown 0 ")], make)


def case_folder_below_a_folder_anyone_may_write_is_refused():
    # Another user could rename the folder away and put theirs in its place.
    def make(d):
        os.mkdir(os.path.join(d, "ww"), 0o755)
        os.chmod(os.path.join(d, "ww"), 0o777)
    d, r = refused("ww/st", [rh.q("which anyone may write"), rh.q("chmod go-w ")],
                   lambda d: (make(d), os.mkdir(os.path.join(d, "ww", "st"), 0o755)))


def planted(name):
    """A case: release_1.0.<name> in the state folder is a link to a victim file, which must
    keep its bytes; the run fails naming the link."""
    def make(d):
        os.mkdir(os.path.join(d, "st"), 0o755)
        rh.write(os.path.join(d, "victim"), "precious\n")
        os.symlink(os.path.join(d, "victim"), os.path.join(d, "st", f"release_1.0.{name}"))
    d, r = refused("st", [rh.q(f"st/release_1.0.{name}"), rh.q("it is a symbolic link"),
                          rh.q("remove the link")], make)
    rh.check(rh.read(os.path.join(d, "victim")) == "precious\n",
             f"a link planted as the {name} must never be written through", r)


def case_linked_journal_is_refused_and_its_target_untouched():
    planted("journal")


def case_linked_lock_is_refused_and_its_target_untouched():
    planted("lock")


def case_linked_snapshot_is_refused_and_its_target_untouched():
    planted("json")


def case_folder_given_as_a_link_is_followed_once():
    d, p, marker = plan("st")
    os.mkdir(os.path.join(d, "real"), 0o755)
    os.symlink(os.path.join(d, "real"), os.path.join(d, "st"))
    r = rh.run(["-c", p], cwd=d)
    rh.expect(r, 0)
    rh.present(marker, r)
    rh.present(os.path.join(d, "real", "release_1.0.json"), r, "the state lives in the target")


def case_snapshot_with_wrong_types_is_refused_as_corrupt_and_untouched():
    d, p, marker = plan("st")
    r = rh.run(["-c", p], cwd=d)
    rh.expect(r, 0)
    snap = os.path.join(d, "st", "release_1.0.json")
    doc = json.loads(rh.read(snap))
    doc["jobs"] = True
    rh.write(snap, json.dumps(doc))
    before = rh.read(snap)
    r = rh.run(["-c", p, "--release", "1.0", "--rerun", "marker"], cwd=d)
    rh.expect(r, 2, err=[rh.q("state of release 1.0 is corrupt: it has \"jobs\" as a boolean "
                              "where an object belongs"), rh.q(snap)])
    rh.check(rh.read(snap) == before, "a corrupt snapshot is left as it was", r)
    r = rh.run(["status", "-c", p, "--release", "1.0"], cwd=d)
    rh.check(r.rc != 0, "status must not show a corrupt release as if it were fine", r)
    rh.check("is corrupt" in r.err, "status names the corruption", r)
    doc["jobs"] = {}
    doc["steps"]["marker"]["outcome"] = 1
    rh.write(snap, json.dumps(doc))
    r = rh.run(["-c", p, "--release", "1.0", "--rerun", "marker"], cwd=d)
    rh.expect(r, 2, err=[rh.q("it has steps \"marker\" with \"outcome\" as an integer where a "
                              "string belongs")])
    # members a verdict leans on, each refused rather than dropped and rewritten
    for path, value, said in [
            (("requirements", "required_steps"), "marker", "requirements with \"required_steps\""),
            (("requirements", "required_steps"), [1], "requirements required_steps[0]"),
            (("steps", "marker", "outcome"), "bogus", "\"outcome\" \"bogus\", which relhost never"),
            (("steps", "marker", "message"), 5, "\"message\" as an integer")]:
        bad = json.loads(before)
        bad["jobs"] = {}
        node = bad
        for k in path[:-1]:
            node = node.setdefault(k, {})
        node[path[-1]] = value
        rh.write(snap, json.dumps(bad))
        r = rh.run(["-c", p, "--release", "1.0", "--rerun", "marker"], cwd=d)
        rh.expect(r, 2, err=[rh.q("is corrupt"), rh.q(said)])


def case_a_step_once_required_stays_required_without_the_requirement_set():
    # The requirement set is gone (a hand edit) and the plan now says optional: the step's own
    # record still says required, so the FAILED step still fails the release.
    d = rh.scratch()
    p = rh.write_plan(d, 'version = "1.0"; state_dir = "st";\n'
                         'steps = ( { name = "pre"; plugin = "command"; cmd = ["false"]; } );\n')
    r = rh.run(["-c", p], cwd=d)
    rh.expect(r, 1)
    snap = os.path.join(d, "st", "release_1.0.json")
    doc = json.loads(rh.read(snap))
    doc.pop("requirements", None)
    rh.write(snap, json.dumps(doc))
    rh.write_plan(d, 'version = "1.0"; state_dir = "st";\n'
                     'steps = ( { name = "pre"; plugin = "command"; cmd = ["false"]; '
                     'required = false; } );\n')
    r = rh.run(["-c", p, "--release", "1.0"], cwd=d)
    rh.check(r.rc == 1, f"once required, the FAILED step still fails the release (exit {r.rc})", r)
    r = rh.run(["explain", "-c", p, "--release", "1.0", "--json"], cwd=d)
    x = json.loads(r.out)
    rh.check(x["verdict"] == "failed" and (x.get("blocking_step") or {}).get("name") == "pre",
             "explain names the required step that blocks the release", r)


def case_group_writable_registry_folder_is_refused_with_the_fix():
    # The registry says what is live: a folder another user may write is refused before its
    # manifest is read or written.
    d = rh.scratch()
    reg = os.path.join(d, "reg")
    os.mkdir(reg, 0o700)
    os.chmod(reg, 0o775)
    p = rh.write_plan(d, 'version = "1.0"; state_dir = "st"; registry_dir = "reg";\n'
                         'steps = ( { name = "m"; plugin = "command"; cmd = ["true"]; } );\n')
    r = rh.run(["releases", "-c", p], cwd=d)
    rh.expect(r, 2, err=[rh.q(f"registry folder refused: folder {reg} is writable by its group"),
                         rh.q(f"chmod go-w {reg}")])
    rh.check(os.listdir(reg) == [], "nothing was written into it", r)


def case_a_manifest_planted_as_a_link_is_refused():
    # manifest.json in the registry is a link to another file: its releases must never enter
    # the registry (read or written through the link).
    d = rh.scratch()
    reg = os.path.join(d, "reg")
    os.mkdir(reg, 0o755)
    foreign = os.path.join(d, "foreign.json")
    rh.write(foreign, json.dumps({"schema": 1, "pointers": {"latest": "0.9", "last_green": "0.9",
                                                            "previous_green": None},
                                  "releases": []}))
    before = rh.read(foreign)
    os.symlink(foreign, os.path.join(reg, "manifest.json"))
    p = rh.write_plan(d, 'version = "1.0"; state_dir = "st"; registry_dir = "reg";\n'
                         'steps = ( { name = "m"; plugin = "command"; cmd = ["true"]; } );\n')
    r = rh.run(["releases", "-c", p], cwd=d)
    rh.expect(r, 2, err=[rh.q("manifest.json"), rh.q("it is a symbolic link")])
    rh.check(rh.read(foreign) == before, "the link's target is untouched", r)


def unmount_keeping(folder):
    """Unmount the tmpfs at folder, keeping its files: they are copied into the folder below."""
    keep = folder + ".kept"
    shutil.copytree(folder, keep)
    subprocess.run(["umount", "-l", folder], check=False)
    for f in os.listdir(keep):
        shutil.copy2(os.path.join(keep, f), os.path.join(folder, f))


def case_full_state_disk_stops_the_run_with_75():
    # The state folder is a 48 KiB tmpfs: the journal fills it part way through 400 steps. The
    # run must stop at once (no later step runs), end with 75 naming the journal and ENOSPC,
    # and every step it reported as done must be in the state read back afterwards.
    rh.need_root("mount a small tmpfs")
    d = rh.scratch()
    st = os.path.join(d, "st")
    os.mkdir(st, 0o755)
    m = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=48k,mode=0755", "tmpfs", st],
                       capture_output=True, text=True)
    if m.returncode != 0:
        raise rh.Skip(f"cannot mount a tmpfs here: {m.stderr.strip()}")
    try:
        steps = ",\n".join(f'  {{ name = "s{i:03d}"; plugin = "command"; cmd = ["touch", '
                           f'"{d}/ran-{i:03d}"]; }}' for i in range(400))
        p = rh.write_plan(d, f'version = "1.0"; state_dir = "st";\nsteps = (\n{steps}\n);\n')
        r = rh.run(["-c", p], cwd=d)
        rh.expect(r, 75, err=[rh.q(f"{st}/release_1.0.") + r"(journal|json\.tmp)",
                              rh.q("No space left on device"),
                              rh.q("the run was stopped: ")],
                  out=[r"^result: NOT SAVED \(exit 75\)"])
        ran = sorted(f for f in os.listdir(d) if f.startswith("ran-"))
        rh.check(0 < len(ran) < 400, f"the run stops part way ({len(ran)} of 400 ran)", r)
        unmount_keeping(st)
        m = None
        done = re.findall(r"\] PASSED\s+(s\d{3}) ", r.out)
        s = rh.run(["status", "-c", p, "--release", "1.0", "--json"], cwd=d)
        rh.check(s.rc == 0, "the state kept before the disk filled reads back", s)
        stored = {x["name"] for x in json.loads(s.out).get("steps", [])
                  if x.get("outcome") == "PASSED"}
        rh.check(set(done) <= stored, "nothing reported as done that the state lost", r)
        rh.check(len(ran) <= len(done) + 1, "no step starts after the state broke", r)
    finally:
        if m is not None:
            subprocess.run(["umount", "-l", st], check=False)


def case_full_state_disk_during_jobs_says_their_results_were_not_saved():
    # 300 jobs of one workflow step on a 48 KiB state tmpfs: the state breaks while jobs end.
    # Every job the console lists as PASSED without the NOT SAVED line above it must be in the
    # state read back afterwards.
    rh.need_root("mount a small tmpfs")
    d = rh.scratch()
    st = os.path.join(d, "st")
    os.mkdir(st, 0o755)
    m = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=48k,mode=0755", "tmpfs", st],
                       capture_output=True, text=True)
    if m.returncode != 0:
        raise rh.Skip(f"cannot mount a tmpfs here: {m.stderr.strip()}")
    try:
        vals = ",\n".join(f'    {{ name = "v{i:03d}"; cmd = ["true"]; }}' for i in range(300))
        p = rh.write_plan(d, 'version = "1.0"; state_dir = "st"; log_dir = "logs";\n'
                             'runners = { local = { plugin = "runner_local"; }; };\n'
                             'steps = ( { name = "wf"; plugin = "workflow"; runner = "local";\n'
                             f'  validations = (\n{vals}\n  ); }} );\n')
        r = rh.run(["-c", p], cwd=d)
        rh.expect(r, 75, out=[r"^result: NOT SAVED \(exit 75\)"])
        unmount_keeping(st)
        m = None
        head, _, rows = r.out.partition("NOT SAVED: the release state could not be written")
        listed = set(re.findall(r"^\s+(v\d{3})\s+PASSED", head, re.M))
        s = rh.run(["status", "-c", p, "--release", "1.0", "--json"], cwd=d)
        rh.check(s.rc == 0, "the state kept before the disk filled reads back", s)
        stored = {x.get("validation", x.get("name", "")).split("/")[-1]
                  for x in json.loads(s.out).get("jobs", []) if x.get("outcome") == "PASSED"}
        rh.check(listed <= stored, f"listed PASSED without a NOT SAVED line but not stored: "
                                   f"{sorted(listed - stored)[:5]}", r)
        rh.check(rows != "" or not listed, "the jobs of the broken step are marked", r)
        # the resume finishes the release; its notes on the cut attempts say what happened
        # (the run stopped), never that a relhost died
        r = rh.run(["-c", p], cwd=d)
        rh.expect(r, 0, not_any=[r"relhost running it died"])
        s = rh.run(["status", "-c", p, "--release", "1.0", "--json"], cwd=d)
        rh.check("running it died" not in s.out, "a resume note says relhost died", s)
    finally:
        if m is not None:
            subprocess.run(["umount", "-l", st], check=False)


def log_plan(make):
    """A one-step plan (its marker) with log_dir = "logs", after make(d)."""
    d = rh.scratch()
    marker_text, marker = rh.marker_step(d)
    p = rh.write_plan(d, 'version = "1.0"; state_dir = "st"; log_dir = "logs";  #LOGS\n'
                         f"steps = (\n  {marker_text[:-1]}\n);\n")
    make(d)
    return d, p, marker


def case_a_log_folder_others_may_write_is_refused_with_the_fix():
    # the metrics are read from the logs: a log folder another user may write is refused
    def make(d):
        os.mkdir(os.path.join(d, "logs"), 0o700)
        os.chmod(os.path.join(d, "logs"), 0o777)
    d, p, marker = log_plan(make)
    r = rh.run(["-c", p], cwd=d)
    rh.expect(r, 2, err=[rh.q("log_dir "), rh.q("chmod go-w ")])
    rh.absent(marker, r, "a refused log folder is found before anything runs")


def case_a_release_log_folder_planted_as_a_link_is_refused():
    # logs/1.0 -> a folder elsewhere: no log is written there
    def make(d):
        os.mkdir(os.path.join(d, "logs"), 0o755)
        os.mkdir(os.path.join(d, "elsewhere"), 0o755)
        os.symlink(os.path.join(d, "elsewhere"), os.path.join(d, "logs", "1.0"))
    d, p, marker = log_plan(make)
    r = rh.run(["-c", p], cwd=d)
    rh.expect(r, 2, err=[rh.q("logs/1.0 is a symbolic link, not a folder")])
    rh.absent(marker, r, "nothing runs")
    rh.check(os.listdir(os.path.join(d, "elsewhere")) == [], "nothing lands through the link", r)


def case_a_registry_folder_others_may_write_is_refused_before_any_step_runs():
    # not at the promote step after every gate ran: before the first step, --check included
    d = rh.scratch()
    marker_text, marker = rh.marker_step(d)
    reg = os.path.join(d, "reg")
    os.mkdir(reg, 0o700)
    os.chmod(reg, 0o777)
    p = rh.write_plan(d, 'version = "1.0"; state_dir = "st"; registry_dir = "reg";\n'
                         f"steps = (\n  {marker_text[:-1]}\n);\n")
    for extra in (["--check"], []):
        r = rh.run(["-c", p] + extra, cwd=d)
        rh.expect(r, 2, err=[rh.q(f"registry_dir refused: folder {reg} is writable by others"),
                             rh.q(f"chmod go-w {reg}")])
        rh.absent(marker, r, "nothing runs")


sys.exit(rh.main(globals()))
