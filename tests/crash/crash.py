#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""What a relhost killed with SIGKILL leaves behind, and what the next relhost does with it.

A local job runs in its own process group, so it outlives a relhost killed with SIGKILL. The next
relhost on that release must stop it (its group, and what escaped with setsid) before it starts
the validation again, as a new attempt with its own log: two copies of one job must never run at
once, nor write one log. One case per process: crash.py CASE (ctest: test_crash__<case>).
"""
import json
import os
import re
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))
import rh  # noqa: E402


def lines(path):
    if not os.path.exists(path):
        return []
    with open(path) as f:
        return [ln.split() for ln in f.read().splitlines() if ln.strip()]


def first(marker, word):
    return next((int(ln[1]) for ln in lines(marker) if ln[0] == word), None)


def state_mentions(d, text):
    """Whether the release's state (snapshot or journal) holds text yet: what a crash keeps."""
    folder = os.path.join(d, "state")
    if not os.path.isdir(folder):
        return False
    for name in os.listdir(folder):
        if name.endswith((".json", ".journal")):
            with open(os.path.join(folder, name), "rb") as f:
                if re.search(text.encode(), f.read()):
                    return True
    return False


# The job: records its start, its sleeping child, a child that escaped with setsid and its end
# (or the SIGTERM that stopped it) in a marker file; says which process it is in its log; ends
# at once when the flag file exists, else sleeps.
JOB = r"""#!/bin/sh
M="$1"; FLAG="$2"
trap 'echo "stop $$" >> "$M"; exit 143' TERM
echo "start $$ $RELHOST_ATTEMPT" >> "$M"
echo "output of pid $$ attempt $RELHOST_ATTEMPT"
if [ -e "$FLAG" ]; then
    echo "end $$" >> "$M"
    exit 0
fi
setsid sh -c 'echo "escaped $$" >> "$1"; exec sleep 120' sh "$M" < /dev/null > /dev/null 2>&1 &
sleep 120 &
echo "sleeping $!" >> "$M"
wait $!
echo "end $$" >> "$M"
"""


def orphaned_job():
    """A release whose relhost was killed with SIGKILL while its local job ran: returns the
    scratch folder, the marker and flag files, relhost's argv, and the pids of the orphaned
    job, its sleeping child and its child that escaped with setsid (all still running)."""
    d = rh.scratch()
    marker, flag = os.path.join(d, "marker"), os.path.join(d, "flag")
    job = rh.write(os.path.join(d, "job.sh"), JOB, mode=0o755)
    plan = rh.write_plan(d, f"""
state_dir = "state"; log_dir = "logs";
runners = {{ local = {{ plugin = "runner_local"; max_parallel = 2; grace = "2s"; }}; }};
steps = (
  {{ name = "tests"; plugin = "workflow"; runner = "local";
     validations = ( {{ name = "slow"; cmd = ["sh", {json.dumps(job)}, {json.dumps(marker)},
                                             {json.dumps(flag)}]; timeout_s = 90; }} ); }}
);
""")
    argv = [rh.relhost_bin(), "-c", plan, "--no-color", "--no-interactive", "--release", "1"]
    with open(os.path.join(d, "first.out"), "w") as out:
        # A session of its own, so that killing it cannot touch the job by accident.
        first_relhost = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT,
                                         stdin=subprocess.DEVNULL, cwd=d, env=rh.base_env(),
                                         start_new_session=True)
    try:
        rh.wait_for(lambda: first(marker, "sleeping") and first(marker, "escaped"), "the job to start")
        orphan, child, escaped = (first(marker, w) for w in ("start", "sleeping", "escaped"))
        # The job's identity must be durable before relhost dies, as it is some ticks after start.
        rh.wait_for(lambda: state_mentions(d, rf'"pid":\s*{orphan}\b'), "the job's pid in the state")
        os.kill(first_relhost.pid, signal.SIGKILL)  # relhost only: not its job's process group
        first_relhost.wait()
    finally:
        if first_relhost.poll() is None:
            first_relhost.kill()
            first_relhost.wait()
    return d, marker, flag, argv, orphan, child, escaped


def case_a_job_left_running_by_a_killed_relhost_is_stopped_before_the_next_attempt():
    d, marker, flag, argv, orphan, child, escaped = orphaned_job()
    try:
        rh.check(rh.pid_alive(orphan) and rh.pid_alive(child) and rh.pid_alive(escaped),
                 "the job did not outlive the killed relhost: the test proves nothing")
        rh.write(flag, "")
        r = rh.run(argv[1:], cwd=d, env=rh.base_env(), timeout=90)
        rh.expect(r, 0)
        for pid, what in ((orphan, "the first attempt"), (child, "its sleeping child"),
                          (escaped, "its child that escaped with setsid")):
            rh.check(not rh.pid_alive(pid), f"{what} (pid {pid}) still runs after the resume", r)

        # Never two copies at once: each start comes after the previous copy ended or stopped.
        running, starts = set(), []
        for ln in lines(marker):
            if ln[0] == "start":
                rh.check(not running, f"attempt {ln[2]} (pid {ln[1]}) started while pid(s) "
                         f"{sorted(running)} still ran; marker: {lines(marker)}", r)
                running.add(ln[1])
                starts.append((int(ln[1]), ln[2]))
            elif ln[0] in ("stop", "end"):
                running.discard(ln[1])
        rh.check(len(starts) == 2 and starts[0] == (orphan, "1") and starts[1][1] == "2",
                 f"want attempt 1 (pid {orphan}) then attempt 2, ran {starts}", r)
        rh.check(["stop", str(orphan)] in lines(marker),
                 "the first attempt was not stopped with SIGTERM (no trap line)", r)
        second = starts[1][0]

        st = json.load(open(os.path.join(d, "state", "release_1.json")))
        job_rec = st["jobs"]["tests/slow"]
        rh.check(job_rec["outcome"] == "PASSED" and job_rec["attempt"] == 2,
                 f"job record {json.dumps(job_rec)}", r)
        notes = job_rec["evidence"]["notes"]
        rh.check(any(f"pid {orphan}" in n and "stopped" in n and "attempt 1" in n for n in notes),
                 f"no evidence note about the stopped attempt 1 (pid {orphan}): {notes}", r)
        rh.check(re.search(rf"pid {orphan}\b.*stopped", r.all) is not None,
                 "relhost did not say that it stopped the earlier attempt", r)

        # Each attempt its own log: the first attempt's log is evidence, untouched by the second.
        log1 = os.path.join(d, "logs", "1", "slow.log")
        text1 = rh.read(log1)
        rh.check(f"output of pid {orphan} attempt 1" in text1,
                 f"the first attempt's log lost its output: {text1!r}", r)
        rh.check(f"pid {second}" not in text1, f"the second attempt wrote into {log1}: {text1!r}",
                 r)
        rh.check(job_rec["log_path"] != log1 and
                 f"output of pid {second} attempt 2" in rh.read(job_rec["log_path"]),
                 f"the second attempt's log {job_rec['log_path']} is not its own", r)
    finally:
        for pid in (first(marker, "start"), first(marker, "sleeping"), first(marker, "escaped")):
            if pid and rh.pid_alive(pid):
                os.kill(pid, signal.SIGKILL)



def case_relhost_kill_stops_a_local_job_whose_relhost_died():
    """`relhost kill` after the relhost running a release was killed with SIGKILL: nothing
    holds the release any more, so the local job it left is an orphan that kill stops (group
    and escaped children), saying so; the next run counts it as stopped and runs attempt 2.
    While a relhost still runs the release, kill leaves its local jobs to it."""
    d, marker, flag, argv, orphan, child, escaped = orphaned_job()
    try:
        rh.check(rh.pid_alive(orphan) and rh.pid_alive(child) and rh.pid_alive(escaped),
                 "the job did not outlive the killed relhost: the test proves nothing")
        r = rh.run(["kill"] + argv[1:3] + ["--release", "1"], cwd=d, env=rh.base_env(),
                   timeout=90)
        rh.expect(r, 0, out=[rf"slow\s+stopped \(pid {orphan}, left running by a relhost "
                             r"that is gone\)", r"1 stopped"])
        for pid, what in ((orphan, "the orphaned job"), (child, "its sleeping child"),
                          (escaped, "its child that escaped with setsid")):
            rh.wait_for(lambda: not rh.pid_alive(pid), f"{what} (pid {pid}) to end", timeout=10)
        rh.write(flag, "")
        r = rh.run(argv[1:], cwd=d, env=rh.base_env(), timeout=90)
        rh.expect(r, 0)
        st = rh.load_state(os.path.join(d, "state", "release_1.json"))
        job_rec = st["jobs"]["tests/slow"]
        rh.check(job_rec["outcome"] == "PASSED" and job_rec["attempt"] == 2,
                 f"job record {json.dumps(job_rec)}", r)
        notes = job_rec["evidence"]["notes"]
        rh.check(any(f"pid {orphan}" in n and "stopped" in n for n in notes),
                 f"no evidence note about the stopped attempt 1 (pid {orphan}): {notes}", r)
    finally:
        for pid in (first(marker, "start"), first(marker, "sleeping"), first(marker, "escaped")):
            if pid and rh.pid_alive(pid):
                os.kill(pid, signal.SIGKILL)


def case_status_follow_ends_when_the_relhost_running_the_release_died():
    """`status --follow` after the relhost running a release was killed with SIGKILL: no run will
    record the release's end, so following it would wait forever (a CI step waiting on it hung,
    the job shown "running" after its relhost was gone). It says so, names the commands that
    stop what is left and resume the release, and exits 3 (not decided). While the relhost
    runs, --follow waits for it."""
    d, marker, flag, argv, orphan, child, escaped = orphaned_job()
    try:
        r = rh.run(["status"] + argv[1:3] + ["--release", "1", "--follow"], cwd=d,
                   env=rh.base_env(), timeout=90)
        rh.expect(r, 3, out=[r"release 1: no relhost runs it, and its run ended without "
                             r"recording an end \(it died or was killed\); 1 job\(s\) left "
                             r"unfinished; `relhost kill -c .* --release 1` stops",
                             r"`relhost -c .* --release 1` resumes the release"])
        rh.write(flag, "")
        r = rh.run(["kill"] + argv[1:3] + ["--release", "1"], cwd=d, env=rh.base_env(),
                   timeout=90)
        rh.expect(r, 0)
        r = rh.run(argv[1:], cwd=d, env=rh.base_env(), timeout=90)
        rh.expect(r, 0)
        r = rh.run(["status"] + argv[1:3] + ["--release", "1", "--follow"], cwd=d,
                   env=rh.base_env(), timeout=90)
        rh.expect(r, 0, out=[r"release 1 ended: .*\(exit 0\)"], not_out=[r"no relhost runs it"])
    finally:
        for pid in (first(marker, "start"), first(marker, "sleeping"), first(marker, "escaped")):
            if pid and rh.pid_alive(pid):
                os.kill(pid, signal.SIGKILL)


def case_restarts_reported_by_the_runner_are_never_lowered():
    """The runner reports restarts while a job runs and a lower count (or none) later; the log's
    [SUMMARY] marker may say less again: the job keeps the highest count it was ever told."""
    d = rh.scratch()
    fake = os.path.join(rh.build_dir(), "test-plugins", "crash")
    rh.check(os.path.isdir(fake), f"{fake} missing: build the target crash_restarts")
    plan = rh.write_plan(d, f"""
plugin_path = [{json.dumps(fake)}];
state_dir = "state"; log_dir = "logs";
runners = {{ fake = {{ plugin = "crash_restarts"; }}; }};
metrics = {{ logs = {{ plugin = "metrics_regex"; }}; }};
steps = (
  {{ name = "tests"; plugin = "workflow"; runner = "fake"; metrics = ["logs"];
     validations = (
       {{ name = "later_poll_says_0"; cmd = ["x"]; env = {{ FAKE_RESTARTS = "2,0,0,0"; }}; }},
       {{ name = "log_says_less"; cmd = ["x"];
          env = {{ FAKE_RESTARTS = "0,3,3,1"; FAKE_LOG = "[SUMMARY] Restart Count: 1"; }}; }},
       {{ name = "log_says_more"; cmd = ["x"];
          env = {{ FAKE_RESTARTS = "1,1,0"; FAKE_LOG = "[SUMMARY] Restart Count: 4"; }}; }}
     ); }}
);
""")
    r = rh.run(["-c", plan, "--no-color", "--no-interactive", "--release", "1"], cwd=d,
               env=rh.base_env())
    rh.expect(r, 0)
    jobs = json.load(open(os.path.join(d, "state", "release_1.json")))["jobs"]
    got = {k.split("/", 1)[1]: v["restarts"] for k, v in jobs.items()}
    want = {"later_poll_says_0": 2, "log_says_less": 3, "log_says_more": 4}
    rh.check(got == want, f"restarts {got}, want {want}", r)


if __name__ == "__main__":
    sys.exit(rh.main(globals()))
