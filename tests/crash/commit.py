#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Group commit of the state (plan key state_commit_window, issue 18 item 3).

The results of jobs that end within the window share one fdatasync of the journal; a local
job's start never waits for one (its intent is written first; a cluster job's is durable before
it is submitted). The guarantee: each result is written as its end is seen, so a SIGKILL loses
none; a power loss loses at most the results of jobs that ended within the window, and those run
again on resume; nothing the state holds is lost, and nothing it holds runs again.
One case per process: commit.py CASE (ctest: test_crash_commit__<case>).
"""
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))
import rh  # noqa: E402

N = 60


def plan_of(d, runs, window, n=N, cmd=None):
    vals = ",\n".join(
        f'{{ name = "v{i}"; cmd = {json.dumps(cmd(i) if cmd else ["sh", "-c", f"echo v{i} >> {runs}; sleep 0.05"])}; }}'
        for i in range(n))
    return rh.write_plan(d, f"""
state_dir = "state"; log_dir = "logs"; state_commit_window = "{window}";
runners = {{ local = {{ plugin = "runner_local"; max_parallel = {n if cmd else 4}; }}; }};
steps = ( {{ name = "s"; plugin = "workflow"; runner = "local"; validations = ( {vals} ); }} );
""")


def counts(runs):
    out = {}
    if os.path.exists(runs):
        for ln in open(runs).read().split():
            out[ln] = out.get(ln, 0) + 1
    return out


def completed(st):
    return {rec["validation"] for rec in st.get("jobs", {}).values()
            if rec.get("lifecycle") == "completed" and rec.get("outcome") == "PASSED"}


def sigkill_when(argv, d, ready, what, seen=None, pause=0.0):
    """Starts relhost (argv) in d and SIGKILLs it once ready() holds, pause seconds later;
    returns what seen() gave when ready() first held (None without seen)."""
    with open(os.path.join(d, "first.out"), "w") as out:
        first = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT,
                                 stdin=subprocess.DEVNULL, cwd=d, env=rh.base_env(),
                                 start_new_session=True)
    try:
        rh.wait_for(ready, what)
        got = seen() if seen else None
        time.sleep(pause)
        os.kill(first.pid, signal.SIGKILL)
        first.wait()
    finally:
        if first.poll() is None:
            first.kill()
            first.wait()
    return got


def case_a_sigkill_mid_run_loses_nothing_recorded_and_the_rest_runs_on_resume():
    d = rh.scratch()
    runs = os.path.join(d, "runs")
    plan = plan_of(d, runs, "500ms")
    argv = [rh.relhost_bin(), "-c", plan, "--no-color", "--no-interactive", "--release", "1"]
    sigkill_when(argv, d, lambda: sum(counts(runs).values()) >= N // 3,
                 "a third of the jobs to run")
    rh.check(sum(counts(runs).values()) < N, "every job ran before the kill: the test proves "
             "nothing")
    recorded = completed(rh.load_state(os.path.join(d, "state", "release_1.json")))
    rh.check(recorded, "no result was durable at the kill: the test proves nothing")
    ran_before = counts(runs)
    r = rh.run(argv[1:], cwd=d, env=rh.base_env(), timeout=120)
    rh.expect(r, 0)
    st = rh.load_state(os.path.join(d, "state", "release_1.json"))
    done, after = completed(st), counts(runs)
    rh.check(done == {f"v{i}" for i in range(N)}, f"not every job PASSED after the resume: "
             f"missing {sorted({f'v{i}' for i in range(N)} - done)}", r)
    for v in sorted(recorded):
        rh.check(after.get(v) == 1, f"{v} was recorded before the kill but ran "
                 f"{after.get(v)} times", r)
    for i in range(N):
        v = f"v{i}"
        if v not in recorded:
            rh.check(after.get(v, 0) == ran_before.get(v, 0) + 1,
                     f"{v}, not recorded at the kill, ran {ran_before.get(v, 0)} time(s) before "
                     f"and {after.get(v, 0)} in all: the resume must run it once more", r)


def need_strace():
    """Skips the case when strace is absent or cannot trace here."""
    if not shutil.which("strace"):
        raise rh.Skip("strace is not installed")
    probe = subprocess.run(["strace", "-qq", "-e", "trace=none", "true"], capture_output=True)
    if probe.returncode != 0:
        raise rh.Skip("strace cannot trace here (ptrace refused)")


def fdatasyncs(d, window):
    """fdatasync calls of relhost running 8 jobs that end 0.25 s apart, under strace."""
    runs = os.path.join(d, "runs")
    plan = plan_of(d, runs, window, n=8,
                   cmd=lambda i: ["sh", "-c", f"sleep {0.3 + 0.25 * i:.2f}; echo v{i} >> {runs}"])
    trace = os.path.join(d, "trace")
    env = rh.base_env()
    # LeakSanitizer cannot run under a tracer; the sanitizer build checks leaks in other cases
    env["ASAN_OPTIONS"] = env.get("ASAN_OPTIONS", "") + ":detect_leaks=0"
    r = subprocess.run(["strace", "-f", "-qq", "-e", "trace=fdatasync", "-o", trace,
                        rh.relhost_bin(), "-c", plan, "--no-color", "--no-interactive",
                        "--release", "1"], cwd=d, env=env, stdin=subprocess.DEVNULL,
                       capture_output=True, text=True, timeout=120)
    rh.check(r.returncode == 0, f"relhost under strace exited {r.returncode}: {r.stderr}")
    rh.check(len(counts(runs)) == 8, "not every job ran")
    return len(re.findall(r"fdatasync\(", rh.read(trace)))


def case_one_fdatasync_serves_the_results_of_jobs_ending_within_the_window():
    need_strace()
    each = fdatasyncs(rh.scratch("each"), "0")
    shared = fdatasyncs(rh.scratch("shared"), "5s")
    # window 0: one sync per job end (8), besides the start and the step's end; a window longer
    # than the burst: the 8 results go out with the step's end
    rh.check(each - shared >= 5, f"fdatasync calls: {each} with no window, {shared} with a 5 s "
             "window over 8 job ends 0.25 s apart (want at least 5 fewer)")


def case_a_disk_that_fails_fdatasync_stops_the_run_and_reports_nothing_unstored():
    """fdatasync fails with EIO from its 4th call on (strace injects it): the kernel may have
    dropped the pages, so the store is broken. The run stops with an error naming the journal
    and the failure, exits 75 (NOT SAVED), and reports no verdict it could not store: no
    "PASSED" result, no report claiming one."""
    need_strace()
    d = rh.scratch()
    runs = os.path.join(d, "runs")
    plan = plan_of(d, runs, "0", n=8,
                   cmd=lambda i: ["sh", "-c", f"sleep {0.1 * i:.2f}; echo v{i} >> {runs}"])
    env = rh.base_env()
    env["ASAN_OPTIONS"] = env.get("ASAN_OPTIONS", "") + ":detect_leaks=0"
    rep = os.path.join(d, "report.json")
    r = subprocess.run(["strace", "-f", "-qq", "-o", "/dev/null", "-e", "trace=fdatasync",
                        "-e", "inject=fdatasync:error=EIO:when=4+", rh.relhost_bin(), "-c", plan,
                        "--no-color", "--no-interactive", "--release", "1",
                        "--report-json", rep],
                       cwd=d, env=env, stdin=subprocess.DEVNULL, capture_output=True, text=True,
                       timeout=120)
    out, err = r.stdout, r.stderr
    rh.check(r.returncode == 75, f"exit {r.returncode}, want 75 (not saved)\n{out}\n{err}")
    rh.check(re.search(r"Input/output error|EIO", err) and re.search(r"journal|state", err),
             f"the error names the failure and the store: {err}")
    rh.check(not re.search(r"^result: PASSED", out, re.M), f"a verdict it could not store: {out}")
    rh.check(re.search(r"^result: NOT SAVED", out, re.M), f"no NOT SAVED verdict line: {out}")
    rh.check(not re.search(r"\bNONE\b", out), f"NONE is no outcome a reader knows: {out}")
    if os.path.exists(rep):
        doc = json.loads(rh.read(rep))
        rh.check(doc.get("release", {}).get("decision") != "passed",
                 f"the report claims a pass: {doc.get('release')}")



def case_results_in_the_window_are_written_at_once_so_a_sigkill_loses_none():
    """The window delays only the fdatasync: an ended job's result is written to the journal in
    the tick that saw the end, so a SIGKILL of relhost (the kernel keeps what was written) loses
    none of them, however long the window; only a power loss could."""
    d = rh.scratch()
    runs = os.path.join(d, "runs")
    n = 8
    plan = plan_of(d, runs, "10s", n=n,
                   cmd=lambda i: ["sh", "-c", f"sleep {0.2 + 0.4 * i:.2f}; echo v{i} >> {runs}"])
    argv = [rh.relhost_bin(), "-c", plan, "--no-color", "--no-interactive", "--release", "1"]
    # the host reaps an end within a tick (0.15 s allowed); the next job ends 0.4 s later
    ended = sigkill_when(argv, d, lambda: len(counts(runs)) >= 3, "three jobs to end",
                         seen=lambda: set(counts(runs)), pause=0.15)
    rh.check(len(counts(runs)) < n, "every job ended before the kill: the test proves nothing")
    recorded = completed(rh.load_state(os.path.join(d, "state", "release_1.json")))
    rh.check(ended <= recorded, f"jobs {sorted(ended - recorded)} ended before the SIGKILL but "
             f"their results were lost (recorded: {sorted(recorded)}); a 10 s window may delay "
             "their fdatasync, not their write")
    r = rh.run(argv[1:], cwd=d, env=rh.base_env(), timeout=120)
    rh.expect(r, 0)
    after = counts(runs)
    for v in sorted(recorded):
        rh.check(after.get(v) == 1, f"{v} was recorded before the kill but ran "
                 f"{after.get(v)} times", r)


def case_local_jobs_start_without_waiting_for_an_fdatasync_each():
    """A local job's intent is written before it starts (it survives relhost's death, which the
    job may outlive); a power loss would end the job too, so its start does not wait for an
    fdatasync: 40 jobs started 4 at a time share the window's syncs instead of one per start."""
    need_strace()
    d = rh.scratch()
    runs = os.path.join(d, "runs")
    n = 40
    vals = ",\n".join(f'{{ name = "v{i}"; cmd = ["sh", "-c", "echo v{i} >> {runs}"]; }}'
                       for i in range(n))
    plan = rh.write_plan(d, f"""
state_dir = "state"; log_dir = "logs"; state_commit_window = "10s";
runners = {{ local = {{ plugin = "runner_local"; max_parallel = 4; }}; }};
steps = ( {{ name = "s"; plugin = "workflow"; runner = "local"; validations = ( {vals} ); }} );
""")
    trace = os.path.join(d, "trace")
    env = rh.base_env()
    env["ASAN_OPTIONS"] = env.get("ASAN_OPTIONS", "") + ":detect_leaks=0"
    r = subprocess.run(["strace", "-qq", "-e", "trace=fdatasync", "-o", trace,
                        rh.relhost_bin(), "-c", plan, "--no-color", "--no-interactive",
                        "--release", "1"], cwd=d, env=env, stdin=subprocess.DEVNULL,
                       capture_output=True, text=True, timeout=120)
    rh.check(r.returncode == 0, f"relhost under strace exited {r.returncode}: {r.stderr}")
    rh.check(len(counts(runs)) == n, "not every job ran")
    syncs = len(re.findall(r"fdatasync\(", rh.read(trace)))
    rh.check(syncs < 10, f"{syncs} fdatasync calls for {n} local jobs started 4 at a time "
             "with a 10 s window: a start waited for one (want fewer than one per 4 starts)")
    st = rh.load_state(os.path.join(d, "state", "release_1.json"))
    rh.check(len(completed(st)) == n, f"not every result was stored: {sorted(completed(st))}")

if __name__ == "__main__":
    sys.exit(rh.main(globals()))
