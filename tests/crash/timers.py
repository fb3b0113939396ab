#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""A job's deadline is a loop timer: it fires while another job's metrics source waits on HTTP.

Two validations of one step run at once on runner_local. "stuck" has timeout_s = 2 and sleeps
forever (it notes the wall time at which SIGTERM reached it). "quick" ends at once, and its
metrics source (metrics_wandb, pointed at the fake W&B server, which stalls 20 s before it
answers) then waits on HTTP inside collect(). Before the loop had timers, a local job's deadline
was only looked at when jobs_wait polled its runner, i.e. after that HTTP wait: "stuck" got its
SIGTERM ~20 s late. Now it must get it at ~2 s, long before the HTTP reply. Ordering is asserted
with wide margins, never a tight wall-clock bound. One case per process: timers.py CASE
(ctest: test_crash_timers__<case>).
"""
import json
import os
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))
import rh  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
FAKE = os.path.join(HERE, "..", "fakes", "wandb_fake.py")
KEY = "wbk-0123456789abcdef0123456789abcdef01234567"
STALL_S = 20

# bash's $EPOCHREALTIME, not $(date): a `date` started by the trap could itself be killed when
# the grace ends on a slow (sanitizer) build, leaving "term" without its time.
STUCK = r"""#!/bin/bash
M="$1"
trap 'echo "term $EPOCHREALTIME" >> "$M"; exit 143' TERM
echo "start $EPOCHREALTIME" >> "$M"
sleep 600 &
wait $!
"""


def start_fake(d):
    data = {"runs": {
        "ent/proj/stuck": {"summary": {"loss": 1.0}},
        "ent/proj/quick": {"summary": {"loss": 1.0}, "behavior": "slow", "delay": STALL_S},
    }}
    data_path = rh.write(os.path.join(d, "wandb-data.json"), json.dumps(data))
    p = subprocess.Popen([os.environ.get("PYTHON3", sys.executable), FAKE, "--key", KEY,
                          "--data", data_path, "--log", os.path.join(d, "wandb.jsonl")],
                         stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    line = p.stdout.readline()
    rh.check(line.strip().isdigit(), f"the fake W&B server did not print its port: {line!r}")
    return p, int(line)


def marks(path):
    out = {}
    if os.path.exists(path):
        for ln in open(path).read().split("\n"):
            parts = ln.split()
            # a line the job was writing when it was killed is cut: the word it got to counts
            if len(parts) == 2:
                try:
                    out.setdefault(parts[0], float(parts[1]))
                except ValueError:
                    pass
    return out


def case_a_deadline_fires_while_another_job_waits_on_http():
    d = rh.scratch()
    marker = os.path.join(d, "marker")
    job = rh.write(os.path.join(d, "stuck.sh"), STUCK, mode=0o755)
    fake, port = start_fake(d)
    try:
        plan = rh.write_plan(d, f"""
state_dir = "state"; log_dir = "logs";
runners = {{ local = {{ plugin = "runner_local"; max_parallel = 2; grace = "1s"; }}; }};
metrics = {{ wandb = {{ plugin = "metrics_wandb"; base_url = "http://127.0.0.1:{port}";
                        entity = "ent"; project = "proj"; run_id = "{{validation}}";
                        timeout = "60s"; metrics = ( {{ name = "loss"; key = "loss"; }} ); }}; }};
steps = (
  {{ name = "tests"; plugin = "workflow"; runner = "local"; metrics = ["wandb"];
     validations = (
       {{ name = "stuck"; cmd = ["bash", {json.dumps(job)}, {json.dumps(marker)}];
          timeout_s = 2; }},
       {{ name = "quick"; cmd = ["true"]; timeout_s = 120; }}
     ); }}
);
""")
        env = rh.base_env({"WANDB_API_KEY": KEY})
        r = rh.run(["-c", plan, "--no-color", "--no-interactive", "--release", "1"], cwd=d,
                   env=env, timeout=180)
    finally:
        fake.stdin.close()
        fake.wait(timeout=10)
    st = json.load(open(os.path.join(d, "state", "release_1.json")))
    stuck, quick = st["jobs"]["tests/stuck"], st["jobs"]["tests/quick"]
    m = marks(marker)
    rh.check("start" in m and "term" in m, f"the stuck job never got SIGTERM: {m}", r)
    waited = m["term"] - m["start"]
    rh.check(waited < STALL_S / 2,
             f"stuck got SIGTERM {waited:.1f} s after it started: its 2 s deadline waited for "
             f"the other job's {STALL_S} s HTTP call", r)
    rh.check(quick.get("duration_s", 0) >= STALL_S - 2,
             f"quick's metrics call did not wait on the stalled server: {quick}", r)
    rh.check(stuck.get("outcome") == "FAILED" and stuck.get("reason") == "timeout"
             and stuck.get("exit_code") == 124, f"stuck is not FAILED timeout 124: {stuck}", r)
    log = open(stuck["log_path"]).read()
    rh.check("[TIMEOUT] relhost: killed after 2s" in log, f"no [TIMEOUT] line in the log: {log}",
             r)


if __name__ == "__main__":
    sys.exit(rh.main(globals()))
