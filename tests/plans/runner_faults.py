#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""runner_faults.py - a runner that crashes, aborts, exits or hangs inside one of its calls
(submit, poll, read_log, cancel) never yields a verdict it did not earn: the faulty fixture's
runner (tests/fixtures/plugins/faulty.c), a real one that runs each job through the host's
process service, in its own process (isolate = true, the default for a plugin found outside
relhost's own folder; core/isolate) and inside relhost (isolate = false; core/run/guard.c).

Isolated: relhost lives on and exits 3; every job the runner ran is ERROR with the named reason
(plugin_crashed, plugin_exited, plugin_hung), the message names the plugin, the call and the
signal or status; the jobs' processes and the runner's process are gone; a plain resume does not
run the step again, --retry-failed does. Inside relhost: exit() is exit 3 naming the plugin, a
fatal signal kills relhost after the step is recorded ERROR plugin_crashed; the jobs' processes
are killed all the same. The output printed before the fault is never lost.

Run one case: runner_faults.py <case>; all: runner_faults.py; names: runner_faults.py --list.
"""
import json
import os
import signal
import subprocess
import sys
import time

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))
import rh  # noqa: E402

CHILD_ARG = "987.25"  # the fixture's child_segv starts `sleep 987.25`; so do the jobs here
SERVER_ARG = b"--plugin-server-internal"


def runner_plan(fault, at, iso=None, timeout="3s"):
    """A marker step, then a workflow on the faulty runner: job v prints and ends soon, job w
    runs `sleep 987.25` (a process the fault must not leave behind)."""
    d = rh.scratch()
    marker_text, _ = rh.marker_step(d)
    isolate = "" if iso is None else f" isolate = {iso};"
    p = rh.write_plan(d, f'version = "1.0"; state_dir = "st"; log_dir = "logs";\n'
                         f'plugin_path = [{json.dumps(rh.fixture("faulty"))}];\n'
                         f'runners = {{ f = {{ plugin = "faulty"; fault = "{fault}"; at = "{at}"; '
                         f'call_timeout = "{timeout}";{isolate} }}; }};\n'
                         f"steps = (\n  {marker_text}\n"
                         '  { name = "wf"; plugin = "workflow"; runner = "f";\n'
                         '    validations = (\n'
                         '      { name = "v"; cmd = ["sh", "-c", "echo hello from v; sleep 1"]; },\n'
                         f'      {{ name = "w"; cmd = ["sleep", "{CHILD_ARG}"]; timeout_s = 60; }}'
                         ' ); }\n);\n')
    return d, p


def run(d, args):
    return rh.run(args, cwd=d, env={"RH_CASE_FOLDER": d})


def leftovers(d):
    return rh.case_leftovers(d, CHILD_ARG, SERVER_ARG)


def expect_nothing_left(d):
    rh.wait_for(lambda: leftovers(d) == [], "no job or plugin process left behind", timeout=15)


def status_of(d):
    r = rh.run(["status", "-c", os.path.join(d, "plan.cfg"), "--release", "1.0", "--json"], cwd=d)
    rh.check(r.rc == 0 and r.out.strip(), "relhost status --json answers", r)
    return json.loads(r.out)


def step_record(d, step):
    for s in status_of(d).get("steps", []):
        if s.get("name") == step:
            return s
    rh.fail(f"no record of step {step} in the state of {d}")


def jobs_of(d):
    snap = json.loads(rh.read(os.path.join(d, "st", "release_1.0.json")))
    return snap.get("jobs", {})


MESSAGES = {
    "segv": ("plugin_crashed", "crashed during its {call}() call", "signal 11, SIGSEGV"),
    "abort": ("plugin_crashed", "crashed during its {call}() call", "signal 6, SIGABRT"),
    "exit0": ("plugin_exited", "exited during its {call}() call", "ended with status 0"),
    "exit1": ("plugin_exited", "exited during its {call}() call", "ended with status 1"),
    "loop": ("plugin_hung", "did not return from its {call}() call within call_timeout 3s", ""),
    "child_segv": ("plugin_crashed", "crashed during its {call}() call", "signal 11, SIGSEGV"),
}


# ---- isolated (the default for a plugin from outside relhost's own folder) --------------------

def isolated_case(fault, at):
    d, p = runner_plan(fault, at)
    reason, what, detail = MESSAGES[fault]
    rep = os.path.join(d, "report.json")
    r = run(d, ["-c", p, "--report-json", rep])
    rh.expect(r, 3, err=[rh.q("plugin faulty " + what.format(call=at)), rh.q(detail),
                         rh.q("as runner f")],
              out=[rh.q("faulty: about to misbehave"), r"PASSED +marker",
                   r"ERROR +wf .*reason: " + reason, r"w +ERROR .*reason: " + reason],
              not_out=[r"(v|w) +(PASSED|FAILED)"])
    expect_nothing_left(d)
    s = step_record(d, "wf")
    rh.check(s.get("outcome") == "ERROR" and s.get("reason") == reason,
             f"the step is recorded ERROR ({reason}), not {s.get('outcome')} {s.get('reason')}", r)
    rh.check("plugin faulty" in (s.get("message") or "") and "as runner f" in s["message"],
             f"the step's message names the plugin and the runner: {s.get('message')}", r)
    jobs = jobs_of(d)
    for name in ("wf/v", "wf/w"):
        job = jobs.get(name, {})
        rh.check(job.get("outcome") == "ERROR" and job.get("reason") == reason,
                 f"job {name} is ERROR {reason}, not {job.get('outcome')} {job.get('reason')}", r)
        rh.check(any("plugin faulty" in n and "as runner f" in n
                     for n in job.get("evidence", {}).get("notes", [])),
                 f"job {name}'s evidence names the plugin and the runner", r)
    doc = json.loads(rh.read(rep))
    rh.check(reason in json.dumps(doc) and doc.get("exit_code", 3) == 3,
             "the JSON report names the reason", r)
    # a plain resume does not run the step again; --retry-failed does
    r = run(d, ["-c", p])
    rh.expect(r, 3, not_out=[rh.q("about to misbehave")], any=[reason])
    expect_nothing_left(d)
    r = run(d, ["-c", p, "--retry-failed"])
    rh.expect(r, 3, out=[rh.q("faulty: about to misbehave")], err=[rh.q(detail)])
    expect_nothing_left(d)


def case_isolated_segfault_in_poll_ends_every_job_of_the_runner():
    isolated_case("segv", "poll")


def case_isolated_abort_in_submit_is_an_error_of_its_jobs():
    isolated_case("abort", "submit")


def case_isolated_exit0_in_poll_is_exit_3_not_green():
    isolated_case("exit0", "poll")


def case_isolated_exit1_in_read_log_is_an_error_of_its_jobs():
    isolated_case("exit1", "read_log")


def case_isolated_endless_loop_in_poll_is_hung_at_call_timeout():
    isolated_case("loop", "poll")


def case_isolated_child_of_a_crashed_runner_is_killed_with_it():
    isolated_case("child_segv", "submit")


def case_isolated_runner_that_works_passes_and_its_log_arrives():
    d, p = runner_plan("none", "poll")
    # w would sleep: a runner that works is shown with quick jobs only
    rh.write_plan(d, rh.read(p).replace(f'["sleep", "{CHILD_ARG}"]', '["echo", "w done"]'))
    r = run(d, ["-c", p])
    rh.expect(r, 0, out=[r"PASSED +wf", r"v +PASSED", r"w +PASSED"])
    rh.check("hello from v" in rh.read(os.path.join(d, "logs", "1.0", "v.log")),
             "read_log() handed the job's output over from the runner's process", r)
    expect_nothing_left(d)


def case_isolated_sigterm_while_the_runner_cancels_stops_cleanly():
    # relhost stops on SIGTERM and cancels the running job: a segfault in cancel() is the
    # runner process's end, not relhost's; the job's process is killed all the same
    d, p = runner_plan("segv", "cancel")
    out = open(os.path.join(d, "out"), "w+")
    err = open(os.path.join(d, "err"), "w+")
    proc = subprocess.Popen([rh.relhost_bin(), "-c", p], cwd=d,
                            env=rh.base_env({"RH_CASE_FOLDER": d}),
                            stdin=subprocess.DEVNULL, stdout=out, stderr=err)
    rh.wait_for(lambda: any(pid for pid in leftovers(d) if b"sleep" in open(
        f"/proc/{pid}/cmdline", "rb").read()), "the job to start", timeout=30)
    proc.send_signal(signal.SIGTERM)
    try:
        rc = proc.wait(30)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
        rh.fail("relhost did not stop within 30 s of SIGTERM")
    e = rh.read(os.path.join(d, "err"))
    rh.check(rc == 143, f"a run stopped by SIGTERM (143), not {rc}: {e}")
    rh.check("plugin faulty crashed during its cancel() call" in e, "the message names it: " + e)
    expect_nothing_left(d)


def case_isolated_sigterm_while_the_runner_loops_stops_and_resumes():
    # SIGTERM while the runner's process computes (no call_timeout yet): the run ends
    # interrupted, not with a fault of the plugin; the jobs are stopped, not judged, and a
    # resume runs them again
    d, p = runner_plan("loop", "poll", timeout="1h")
    out = open(os.path.join(d, "out"), "w+")
    err = open(os.path.join(d, "err"), "w+")
    proc = subprocess.Popen([rh.relhost_bin(), "-c", p], cwd=d,
                            env=rh.base_env({"RH_CASE_FOLDER": d}),
                            stdin=subprocess.DEVNULL, stdout=out, stderr=err)
    rh.wait_for(lambda: "about to misbehave" in rh.read(os.path.join(d, "out")),
                "the runner to start its loop")
    proc.send_signal(signal.SIGTERM)
    try:
        rc = proc.wait(30)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
        rh.fail("relhost was deaf to SIGTERM while an isolated runner looped")
    o = rh.read(os.path.join(d, "out")) + rh.read(os.path.join(d, "err"))
    rh.check(rc == 143, f"a run stopped by SIGTERM (143), not {rc}: {o}")
    expect_nothing_left(d)
    for name, job in jobs_of(d).items():
        rh.check(job.get("outcome") in (None, "NONE") and job.get("reason") != "interrupted",
                 f"job {name} stopped, not judged: {job.get('outcome')} {job.get('reason')}")
    rh.write_plan(d, rh.read(p).replace('fault = "loop"', 'fault = "none"')
                  .replace(f'["sleep", "{CHILD_ARG}"]', '["echo", "w done"]'))
    r = run(d, ["-c", p])
    rh.expect(r, 0, out=[r"v +PASSED", r"w +PASSED"])
    expect_nothing_left(d)


# ---- inside relhost (isolate = false): the guards ---------------------------------------------

def inprocess_crash_case(fault, at, sig):
    d, p = runner_plan(fault, at, iso="false")
    r = run(d, ["-c", p])
    rh.check(r.rc in (-sig, 128 + sig), f"relhost dies of signal {sig}, not {r.rc}", r)
    rh.check(f"plugin faulty crashed during its {at}() call for step wf" in r.err,
             "the message names the plugin, the call and the step", r)
    rh.check("faulty: about to misbehave" in r.out and "PASSED" in r.out,
             "the output before the crash survives", r)
    expect_nothing_left(d)
    s = step_record(d, "wf")
    rh.check(s.get("outcome") == "ERROR" and s.get("reason") == "plugin_crashed",
             f"the step is recorded ERROR plugin_crashed, not {s.get('outcome')} "
             f"{s.get('reason')}", r)
    r = run(d, ["-c", p])
    rh.expect(r, 3, not_out=[rh.q("about to misbehave")], any=["plugin_crashed"])
    expect_nothing_left(d)
    r = run(d, ["-c", p, "--retry-failed"])
    rh.check(r.rc in (-sig, 128 + sig), f"--retry-failed runs it again: signal {sig}", r)
    expect_nothing_left(d)


def case_inprocess_segfault_in_poll_is_recorded_and_not_repeated():
    inprocess_crash_case("segv", "poll", signal.SIGSEGV)


def case_inprocess_abort_in_submit_is_recorded_and_not_repeated():
    inprocess_crash_case("abort", "submit", signal.SIGABRT)


def case_inprocess_segfault_in_open_is_recorded_and_not_repeated():
    # open() belongs to no step of its own: the step whose jobs needed the runner gets it
    inprocess_crash_case("segv", "open", signal.SIGSEGV)


def case_inprocess_segfault_in_read_log_is_recorded_and_not_repeated():
    inprocess_crash_case("segv", "read_log", signal.SIGSEGV)


def case_inprocess_child_of_a_crashed_runner_is_killed_with_it():
    inprocess_crash_case("child_segv", "poll", signal.SIGSEGV)


def inprocess_exit_case(fault, at, code):
    d, p = runner_plan(fault, at, iso="false")
    rep = os.path.join(d, "report.json")
    r = run(d, ["-c", p, "--report-json", rep])
    rh.expect(r, 3, err=[rh.q(f"plugin faulty called exit({code}) during its {at}() call "
                              "for step wf")],
              out=[rh.q("faulty: about to misbehave"), r"PASSED +marker"])
    expect_nothing_left(d)
    s = step_record(d, "wf")
    rh.check(s.get("outcome") == "ERROR" and s.get("reason") == "plugin_exited",
             f"the step is recorded ERROR plugin_exited, not {s.get('outcome')} "
             f"{s.get('reason')}", r)
    rh.present(rep, r, "the JSON report is written before relhost exits")
    rh.check("plugin_exited" in rh.read(rep), "the report names the reason", r)
    r = run(d, ["-c", p])
    rh.expect(r, 3, not_out=[rh.q("about to misbehave")], any=["plugin_exited"])
    expect_nothing_left(d)


def strict_journal(d):
    """Every frame of the release's journal whole, its CRC right and its seq one past the
    previous one (relhost refuses a gap when it loads the state): the records a crash appended
    follow the state as it was when the plugin crashed."""
    import struct
    import zlib
    snap = json.loads(rh.read(os.path.join(d, "st", "release_1.0.json")))
    data = open(os.path.join(d, "st", "release_1.0.journal"), "rb").read()
    off, seqs = 0, []
    while off < len(data):
        rh.check(off + 8 <= len(data), f"a torn frame header at byte {off} of the journal")
        n, crc = struct.unpack_from("<II", data, off)
        body = data[off + 8:off + 8 + n]
        rh.check(len(body) == n and zlib.crc32(body) == crc,
                 f"the frame at byte {off} of the journal is torn or has a wrong CRC: {body[:80]}")
        seqs.append(json.loads(body)["seq"])
        off += 8 + n
    for a, b in zip(seqs, seqs[1:]):
        rh.check(b == a + 1 or (b <= snap.get("seq", 0)),
                 f"journal seqs jump from {a} to {b} (records missing or repeated): {seqs}")
    return seqs


def case_inprocess_segfault_in_a_late_poll_is_recorded_and_the_state_reloads():
    """The crash records are prepared before a call and renumbered as the state moves on: a
    crash in the 40th poll, after many jobs ended and were recorded, appends them with the
    seqs that follow, so the next run loads the state (no gap, no bad CRC) and finds the step
    ERROR plugin_crashed; nothing recorded PASSED runs again."""
    d = rh.scratch()
    runs = os.path.join(d, "runs")
    vals = ",\n".join(f'{{ name = "v{i}"; cmd = ["sh", "-c", "echo v{i} >> {runs}; sleep 0.{i % 3}"]; }}'
                       for i in range(24))
    p = rh.write_plan(d, f'version = "1.0"; state_dir = "st"; log_dir = "logs";\n'
                         f'plugin_path = [{json.dumps(rh.fixture("faulty"))}];\n'
                         'runners = { f = { plugin = "faulty"; fault = "segv"; at = "poll"; '
                         'nth = 40; isolate = false; }; };\n'
                         'steps = ( { name = "wf"; plugin = "workflow"; runner = "f";\n'
                         f'    validations = ( {vals},\n'
                         f'      {{ name = "w"; cmd = ["sleep", "{CHILD_ARG}"]; timeout_s = 60; }}'
                         ' ); } );\n')
    r = run(d, ["-c", p])
    rh.check(r.rc in (-signal.SIGSEGV, 128 + signal.SIGSEGV),
             f"relhost dies of SIGSEGV in the 40th poll, not {r.rc}", r)
    rh.check("plugin faulty crashed during its poll() call for step wf" in r.err,
             "the message names the plugin, the call and the step", r)
    expect_nothing_left(d)
    seqs = strict_journal(d)
    rh.check(len(seqs) > 10, f"the state hardly moved before the crash: {seqs}", r)
    st = rh.load_state(os.path.join(d, "st", "release_1.0.json"))
    passed = {j["validation"] for j in st.get("jobs", {}).values()
              if j.get("outcome") == "PASSED" and j.get("lifecycle") == "completed"}
    rh.check(passed, "no job was recorded PASSED before the 40th poll: the test proves nothing", r)
    wf = st.get("steps", {}).get("wf", {})
    rh.check(wf.get("outcome") == "ERROR" and wf.get("reason") == "plugin_crashed",
             f"the step is recorded ERROR plugin_crashed, not {wf.get('outcome')} "
             f"{wf.get('reason')}", r)
    ran = rh.read(runs).split()
    r = run(d, ["-c", p])
    rh.expect(r, 3, not_out=[rh.q("about to misbehave")], any=["plugin_crashed"])
    rh.check(rh.read(runs).split() == ran, "a plain resume ran jobs of the ERROR step again", r)
    expect_nothing_left(d)


def case_inprocess_exit0_in_poll_is_exit_3_not_green():
    inprocess_exit_case("exit0", "poll", 0)


def case_inprocess_exit1_in_submit_is_exit_3():
    inprocess_exit_case("exit1", "submit", 1)


def case_inprocess_loop_in_poll_still_hears_sigterm():
    d, p = runner_plan("loop", "poll", iso="false")
    out = open(os.path.join(d, "out"), "w+")
    err = open(os.path.join(d, "err"), "w+")
    proc = subprocess.Popen([rh.relhost_bin(), "-c", p], cwd=d,
                            env=rh.base_env({"RH_CASE_FOLDER": d}),
                            stdin=subprocess.DEVNULL, stdout=out, stderr=err)
    rh.wait_for(lambda: "about to misbehave" in rh.read(os.path.join(d, "out")),
                "the runner to start its loop")
    proc.send_signal(signal.SIGTERM)
    try:
        rc = proc.wait(30)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
        rh.fail("relhost was deaf to SIGTERM while a runner looped")
    e = rh.read(os.path.join(d, "err"))
    rh.check(rc == 128 + signal.SIGTERM, f"exit {128 + signal.SIGTERM} after SIGTERM, not {rc}")
    rh.check("plugin faulty did not return from its poll() call" in e, "the message names it: " + e)
    expect_nothing_left(d)
    s = step_record(d, "wf")
    rh.check(s.get("outcome") == "ERROR" and s.get("reason") == "plugin_hung",
             f"the step is recorded ERROR plugin_hung, not {s.get('outcome')} {s.get('reason')}")


sys.exit(rh.main(globals()))
