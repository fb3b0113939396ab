#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""faults.py - a plugin that crashes, aborts, exits or hangs inside a call never yields a verdict
it did not earn (the faulty fixture: tests/fixtures/plugins/faulty.c), run inside relhost
(isolate = false; isolate.py runs the same faults in the plugin's own process).

For each fault: relhost's exit code (never 0), the message naming the plugin and the call, the
console output that came before (never lost), the step recorded ERROR with the named reason, no
process left behind, and what the next resume does (it does not crash again unless asked with
--retry-failed).

Run one case: faults.py <case>; all: faults.py; names: faults.py --list.
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

CHILD_ARG = "987.25"  # faulty.c's child_segv starts `sleep 987.25`


def gate_plan(fault, at="run"):
    d = rh.scratch()
    marker_text, marker = rh.marker_step(d)
    p = rh.write_plan(d, f'version = "1.0"; state_dir = "st";\n'
                         f'plugin_path = [{json.dumps(rh.fixture("faulty"))}];\n'
                         f"steps = (\n  {marker_text}\n"
                         f'  {{ name = "gate"; plugin = "faulty"; fault = "{fault}"; '
                         f'at = "{at}"; isolate = false; }}\n);\n')
    return d, p, marker


def feed_plan(fault, at="feed"):
    d = rh.scratch()
    rh.write(os.path.join(d, "job.log"), "sps: 100\n" * 10)
    p = rh.write_plan(d, f'version = "1.0"; state_dir = "st"; log_dir = "logs";\n'
                         f'plugin_path = [{json.dumps(rh.fixture("faulty"))}];\n'
                         'runners = { local = { plugin = "runner_local"; }; };\n'
                         f'metrics = {{ bad = {{ plugin = "faulty"; fault = "{fault}"; '
                         f'at = "{at}"; isolate = false; }}; }};\n'
                         'steps = (\n  { name = "wf"; plugin = "workflow"; runner = "local"; '
                         'metrics = ["bad"];\n    validations = ( { name = "v"; cmd = ["cat", '
                         f'{json.dumps(os.path.join(d, "job.log"))}]; }} ); }}\n);\n')
    return d, p


def step_record(d, step):
    snap = os.path.join(d, "st", "release_1.0.json")
    r = rh.run(["status", "-c", os.path.join(d, "plan.cfg"), "--release", "1.0", "--json"], cwd=d)
    doc = json.loads(r.out) if r.rc == 0 and r.out.strip() else {}
    for s in doc.get("steps", []):
        if s.get("name") == step:
            return s
    rh.fail(f"no record of step {step} in the state ({snap})", r)


def children_left():
    left = []
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                argv = f.read().split(b"\0")
        except OSError:
            continue
        if len(argv) >= 2 and argv[0].endswith(b"sleep") and argv[1] == CHILD_ARG.encode():
            left.append(int(pid))
    return left


def expect_crash(r, sig, call, reason="plugin_crashed"):
    rh.check(r.rc == -sig or r.rc == 128 + sig, f"relhost must die of signal {sig}", r)
    rh.check(f"plugin faulty crashed during its {call}() call" in r.err,
             "the message names the plugin and the call", r)
    rh.check("faulty: about to misbehave" in r.out, "output before the crash survives", r)


def crash_case(fault, sig):
    d, p, marker = gate_plan(fault)
    r = rh.run(["-c", p], cwd=d)
    expect_crash(r, sig, "run")
    rh.check("PASSED" in r.out and "marker" in r.out, "the step before is reported", r)
    s = step_record(d, "gate")
    rh.check(s.get("outcome") == "ERROR" and s.get("reason") == "plugin_crashed",
             "the step is recorded ERROR (plugin_crashed)", r)
    r = rh.run(["-c", p], cwd=d)
    rh.expect(r, 3, not_out=[rh.q("about to misbehave")])
    rh.check("plugin_crashed" in r.all, "the resume says why the step is ERROR", r)
    r = rh.run(["-c", p, "--retry-failed"], cwd=d)
    expect_crash(r, sig, "run")


def case_gate_segfault_is_recorded_and_not_repeated():
    crash_case("segv", signal.SIGSEGV)


def case_gate_abort_is_recorded_and_not_repeated():
    crash_case("abort", signal.SIGABRT)


def exit_case(fault, code, call="exit"):
    d, p, marker = gate_plan(fault)
    rep = os.path.join(d, "report.json")
    r = rh.run(["-c", p, "--report-json", rep], cwd=d)
    rh.expect(r, 3, err=[rh.q(f"plugin faulty called {call}({code}) during its run() call "
                              "for step gate")])
    rh.check("faulty: about to misbehave" in r.out, "output before the exit survives", r)
    s = step_record(d, "gate")
    rh.check(s.get("outcome") == "ERROR" and s.get("reason") == "plugin_exited",
             "the step is recorded ERROR (plugin_exited)", r)
    rh.present(rep, r, "the JSON report is written before relhost exits")
    doc = json.loads(rh.read(rep))
    rh.check(doc.get("exit_code") == 3 or doc.get("release", {}).get("exit_code") == 3 or
             "ERROR" in json.dumps(doc), "the report does not read as a pass", r)


def case_gate_exit0_is_exit_3_not_green():
    exit_case("exit0", 0)


def case_gate_exit1_is_exit_3():
    exit_case("exit1", 1)


def case_gate_raw_exit0_is_exit_3_not_green():
    """_exit(0) skips every exit handler: relhost still ends 3, naming it, step recorded."""
    exit_case("_exit0", 0, call="_exit")


def case_gate_quick_exit0_is_exit_3_not_green():
    exit_case("quick_exit0", 0, call="quick_exit")


def case_gate_exec_is_exit_3_not_green():
    """A plugin that replaces relhost's process (execlp("true")) would end it with true's 0."""
    exit_case("exec", '"true"', call="execlp")


def fork_case(fault):
    """A child the plugin forked itself exits (exit(0): relhost's exit handlers run in it) or
    crashes (relhost's fatal-signal handler runs in it): neither is the call's fault. The
    child must neither record anything nor kill relhost's jobs; the gate passes."""
    d, p, marker = gate_plan(fault)
    r = rh.run(["-c", p], cwd=d)
    rh.expect(r, 0, out=[r"faulty: the child ended, the call returns", r"PASSED\s+gate"],
              not_any=[r"plugin_exited|plugin_crashed|crashed during|called exit"])
    s = step_record(d, "gate")
    rh.check(s.get("outcome") == "PASSED", f"the step is recorded {s.get('outcome')}", r)


def case_gate_child_that_exits_is_not_a_fault():
    fork_case("fork_exit0")


def case_gate_child_that_crashes_is_not_a_fault():
    fork_case("fork_segv")


def case_exit0_in_describe_under_check_is_exit_3_not_green():
    """--check runs each gate's describe(): an exit(0) there must not pass the check."""
    d, p, _ = gate_plan("exit0", at="describe")
    r = rh.run(["-c", p, "--check"], cwd=d)
    rh.expect(r, 3, err=[rh.q("plugin faulty called exit(0) during its describe() call")])


def case_exit0_while_loading_a_plugin_is_exit_3_not_green():
    """A plugin's loading runs its code (constructors, the entry point): an exit(0) there
    ends relhost with 3 and names the plugin, for a run and for --check."""
    d, p, _ = gate_plan("none")
    env = dict(os.environ, FAULTY_ENTRY_EXIT="1")
    for extra in ([], ["--check"]):
        r = rh.run(["-c", p] + extra, cwd=d, env=env)
        rh.expect(r, 3, err=[rh.q("plugin faulty called exit(0) during its load() call")])


def case_commands_that_only_read_a_release_load_no_plugin():
    """explain, report and site read what a release recorded: a plugin broken since (its entry
    point now exits) must not make a past release unreadable; they load no plugin at all."""
    d, p, _ = gate_plan("none")
    rh.expect(rh.run(["-c", p], cwd=d), 0)
    env = dict(os.environ, FAULTY_ENTRY_EXIT="1")
    rh.expect(rh.run(["explain", "-c", p], cwd=d, env=env), 0, out=[r"PASSED"])
    for fmt in ("json", "junit", "md"):
        rh.expect(rh.run(["report", "-c", p, "--format", fmt], cwd=d, env=env), 0)
    rh.expect(rh.run(["site", "-c", p, "-o", os.path.join(d, "site")], cwd=d, env=env), 0)
    r = rh.run(["explain", "-c", p], cwd=d, env={"LD_DEBUG": "files"})
    rh.check("faulty.so" not in r.err, "explain dlopened the plan's plugin", r)


def case_gate_in_a_loop_still_hears_sigterm():
    d, p, marker = gate_plan("loop")
    out = open(os.path.join(d, "out"), "w+")
    err = open(os.path.join(d, "err"), "w+")
    proc = subprocess.Popen([rh.relhost_bin(), "-c", p], cwd=d, env=rh.base_env(),
                            stdin=subprocess.DEVNULL, stdout=out, stderr=err)
    rh.wait_for(lambda: "about to misbehave" in rh.read(os.path.join(d, "out")),
                "the plugin to start its loop")
    t0 = time.time()
    proc.send_signal(signal.SIGTERM)
    try:
        rc = proc.wait(30)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
        rh.fail("relhost was deaf to SIGTERM while a plugin looped")
    took = time.time() - t0
    e = rh.read(os.path.join(d, "err"))
    rh.check(rc == 128 + signal.SIGTERM, f"exit {128 + signal.SIGTERM} after SIGTERM, not {rc}")
    rh.check("plugin faulty did not return from its run() call" in e, "the message names it: " + e)
    rh.check(took < 25, f"stopped within the grace ({took:.1f} s)")
    s = step_record(d, "gate")
    rh.check(s.get("outcome") == "ERROR" and s.get("reason") == "plugin_hung",
             "the step is recorded ERROR (plugin_hung)")


def case_child_of_a_crashed_plugin_is_killed_with_it():
    before = children_left()
    d, p, marker = gate_plan("child_segv")
    r = rh.run(["-c", p], cwd=d)
    expect_crash(r, signal.SIGSEGV, "run")
    rh.wait_for(lambda: [c for c in children_left() if c not in before] == [],
                "the plugin's child to be gone", timeout=10)


def case_metrics_source_segfault_in_feed_names_it_and_kills_the_job():
    d, p = feed_plan("segv")
    r = rh.run(["-c", p], cwd=d)
    expect_crash(r, signal.SIGSEGV, "feed")
    s = step_record(d, "wf")
    rh.check(s.get("outcome") == "ERROR" and s.get("reason") == "plugin_crashed",
             "the workflow step is recorded ERROR (plugin_crashed)", r)


def case_a_log_truncated_under_the_hosts_mapped_window_is_read_again():
    """The host reads a big log's written part through a mapped window (core/run/logmap.h); the
    file truncated under it (here by the source itself, mid-read, so that the cut surely lands
    in a window) makes the rest of the window read as NUL bytes instead of a SIGBUS that would end
    relhost: the host notices, reads the log again from byte 0 and counts a restart."""
    d = rh.scratch()
    big = os.path.join(d, "big.log")
    with open(big, "w") as f:
        f.write(("sps: 100 " + "z" * 90 + "\n") * 80000)  # 8 MB
    p = rh.write_plan(d, f'version = "1.0"; state_dir = "st"; log_dir = "logs";\n'
                         f'plugin_path = [{json.dumps(rh.fixture("faulty"))}];\n'
                         'runners = { local = { plugin = "runner_local"; }; };\n'
                         'metrics = { bad = { plugin = "faulty"; fault = "truncate_log"; '
                         'at = "feed"; isolate = false; }; };\n'
                         'steps = (\n  { name = "wf"; plugin = "workflow"; runner = "local"; '
                         'metrics = ["bad"];\n    validations = ( { name = "v"; cmd = ["sh", '
                         f'"-c", {json.dumps("cat " + big + "; sleep 1")}]; }} ); }}\n);\n')
    r = rh.run(["-c", p, "--release", "1.0"], cwd=d)
    rh.expect(r, 0, any=["truncated the log under the host's read"], not_any=["crashed"])
    with open(os.path.join(d, "st", "release_1.0.json")) as f:
        job = json.load(f)["jobs"]["wf/v"]
    notes = " ".join(job["evidence"].get("notes", []))
    rh.check("shrank while bytes" in notes and job["restarts"] >= 1,
              f"no restart for the cut window: restarts {job['restarts']}, notes {notes}", r)


def case_metrics_source_exit0_in_collect_is_exit_3():
    d, p = feed_plan("exit0", "collect")
    r = rh.run(["-c", p], cwd=d)
    rh.expect(r, 3, err=[rh.q("plugin faulty called exit(0) during its collect() call")])


def log_plan(d, script, max_log=None, log_dir="logs"):
    """One workflow validation running `python3 -c script`, with sps_max >= 1000 as its check."""
    ml = f' max_log = "{max_log}";' if max_log else ""
    return rh.write_plan(d, f'version = "1.0"; state_dir = "st"; log_dir = "{log_dir}";\n'
                            f'runners = {{ local = {{ plugin = "runner_local";{ml} }}; }};\n'
                            'metrics = { logs = { plugin = "metrics_regex"; }; };\n'
                            'steps = ( { name = "wf"; plugin = "workflow"; runner = "local"; '
                            'metrics = ["logs"];\n  validations = ( { name = "v"; cmd = '
                            f'["python3", "-c", {json.dumps(script)}]; acceptance = ( '
                            '("sps_max", ">=", 1000.0) ); } ); } );\n')


def job_of(d, step="wf", name="v"):
    snap = json.loads(rh.read(os.path.join(d, "st", "release_1.0.json")))
    return snap["jobs"][f"{step}/{name}"]


def case_max_log_keeps_head_and_tail_and_the_metrics_see_every_byte():
    # 3 MiB of output with max_log = 1M: the disk keeps about 1 MiB (head and tail), the file
    # keeps its length, and the only passing value, in the middle, still reached the metrics.
    d = rh.scratch()
    script = ("import sys\nw = sys.stdout.write\n"
              "for i in range(24000): w('noise line %06d sps: 10\\n' % i + 'x' * 90 + '\\n')\n"
              "w('sps: 50000\\n')\n"
              "for i in range(24000): w('noise line %06d sps: 10\\n' % i + 'x' * 90 + '\\n')\n")
    p = log_plan(d, script, max_log="1M")
    r = rh.run(["-c", p], cwd=d)
    rh.expect(r, 0)
    log = os.path.join(d, "logs", "1.0", "v.log")
    st = os.stat(log)
    rh.check(st.st_size > 5 * 1024 * 1024, f"the file keeps its length ({st.st_size})", r)
    rh.check(st.st_blocks * 512 < 2 * 1024 * 1024,
             f"the disk keeps about max_log ({st.st_blocks * 512} bytes)", r)
    job = job_of(d)
    rh.check(job["evidence"]["metrics"]["sps_max"]["value"] == 50000,
             "the value in the dropped middle reached the metrics", r)
    rh.check(any("max_log" in n for n in job["evidence"]["notes"]), "a note says so", r)


def case_a_full_log_disk_is_an_error_not_a_verdict():
    # The log folder is a 64 KiB tmpfs: the job's output does not fit. Whatever its exit code,
    # the job is ERROR log_write_failed naming ENOSPC, never PASSED on a cut log.
    rh.need_root("mount a small tmpfs")
    d = rh.scratch()
    logs = os.path.join(d, "logs")
    os.mkdir(logs, 0o755)
    m = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k,mode=0755", "tmpfs", logs],
                       capture_output=True, text=True)
    if m.returncode != 0:
        raise rh.Skip(f"cannot mount a tmpfs here: {m.stderr.strip()}")
    try:
        script = ("import sys\nprint('sps: 50000', flush=True)\n"
                  "try:\n    sys.stdout.write('y' * 200000 + '\\nsps: 5\\n'); sys.stdout.flush()\n"
                  "except OSError:\n    pass\n")
        p = log_plan(d, script)
        r = rh.run(["-c", p], cwd=d)
        rh.check(r.rc not in (0, 1), f"a cut log is no verdict (exit {r.rc})", r)
        job = job_of(d)
        rh.check(job["outcome"] == "ERROR" and job["reason"] == "log_write_failed",
                 f"the job is ERROR log_write_failed, not {job['outcome']} {job['reason']}", r)
        rh.check(any("No space left on device" in n for n in job["evidence"]["notes"]),
                 "ENOSPC is named", r)
    finally:
        subprocess.run(["umount", "-l", logs], check=False)


def case_a_log_planted_as_a_link_is_never_written_through():
    # Someone planted logs/1.0/v.log as a link to a file of theirs: relhost never truncates or
    # appends to the target; the job is ERROR naming the link, never a verdict on no log.
    d = rh.scratch()
    os.makedirs(os.path.join(d, "logs", "1.0"))
    victim = os.path.join(d, "victim")
    with open(victim, "w") as f:
        f.write("precious\n")
    os.symlink(victim, os.path.join(d, "logs", "1.0", "v.log"))
    p = log_plan(d, "print('sps: 50000')")
    r = rh.run(["-c", p], cwd=d)
    rh.check(rh.read(victim) == "precious\n", "the link's target keeps its bytes", r)
    rh.check(r.rc not in (0, 1), f"no verdict on a log relhost could not write (exit {r.rc})", r)
    job = job_of(d)
    rh.check(job["outcome"] == "ERROR", f"the job is ERROR, not {job['outcome']}", r)
    rh.check("symbolic link" in r.err + json.dumps(job), "the link is named", r)
    rh.check("precious" not in r.out + r.err, "the target is not shown as the job's log", r)


sys.exit(rh.main(globals()))
