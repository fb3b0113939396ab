#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""End-to-end tests of the workflow gate, the local runner and release state, driving the real
relhost binary. One case per process: workflow.py CASE."""
import glob
import json
import re
import os
import signal
import subprocess
import sys
import tempfile
import time

BIN = os.environ["RELHOST_BIN"]
PY = os.environ.get("PYTHON3", sys.executable)
HERE = os.path.dirname(os.path.abspath(__file__))
PROBE = os.path.join(HERE, "probe.py")
TMP = os.environ.get("RELHOST_TEST_TMP", tempfile.gettempdir())


def fail(msg, out=None):
    print("FAIL:", msg)
    if out is not None:
        print("----- output -----")
        print(out)
    sys.exit(1)


def check(cond, msg, out=None):
    if not cond:
        fail(msg, out)


class Plan:
    def __init__(self, name):
        self.dir = tempfile.mkdtemp(prefix=name + "-", dir=TMP)
        self.path = os.path.join(self.dir, "plan.cfg")

    def write(self, validations, max_parallel=4, extra_steps="", grace="1s"):
        text = f"""
state_dir = "state"; log_dir = "logs";
runners = {{ local = {{ plugin = "runner_local"; max_parallel = {max_parallel}; grace = "{grace}"; }}; }};
metrics = {{ logs = {{ plugin = "metrics_regex"; }}; }};
steps = (
  {{ name = "tests"; plugin = "workflow"; metrics = ["logs"];
     validations = ( {validations} ); }}{extra_steps}
);
"""
        with open(self.path, "w") as f:
            f.write(text)

    def run(self, *args, timeout=60, env=None):
        p = subprocess.run([BIN, "-c", self.path, "--no-color", "--no-interactive", *args],
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                           timeout=timeout, env=env)
        return p.returncode, p.stdout

    def start(self, *args):
        return subprocess.Popen([BIN, "-c", self.path, "--no-color", "--no-interactive", *args],
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)

    def state(self, version):
        with open(os.path.join(self.dir, "state", f"release_{version}.json")) as f:
            return json.load(f)

    def p(self, *parts):
        return os.path.join(self.dir, *parts)


def val(name, argv, extra="", timeout=30):
    cmd = ", ".join(json.dumps(a) for a in argv)
    return f'{{ name = "{name}"; cmd = [{cmd}]; timeout_s = {timeout}; ' \
           f'acceptance = ( ("sps_max", ">=", 30000.0) ); {extra} }}'


def wait_for(pred, what, timeout=20):
    end = time.time() + timeout
    while time.time() < end:
        if pred():
            return
        time.sleep(0.05)
    fail("timed out waiting for " + what)


def pid_alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie is dead for our purpose, but relhost (the subreaper) must have reaped it.
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(")")[-1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def case_validation_names_are_unique():
    """A duplicate name, or a name that a repeated validation's runs use (<name>.r<k>), is a plan
    error; 20,000 distinct names are checked at once (sorted, not each against each)."""
    pl = Plan("names")
    pl.write(",".join([val("a", ["true"]), val("b", ["true"]), val("a", ["true"])]))
    rc, out = pl.run("--check")
    check(rc == 2 and 'duplicate validation name "a"' in out, f"exit {rc}", out)
    pl.write(",".join([val("x", ["true"], "repeats = 3;"), val("x.r2", ["true"])]))
    rc, out = pl.run("--check")
    check(rc == 2 and 'validation name "x.r2" is also the name of a run of the repeated '
          'validation x' in out, f"exit {rc}", out)
    pl.write(",".join([val("x", ["true"], "repeats = 3;"), val("x.r4", ["true"]),
                       val("x.rr", ["true"]), val("x.", ["true"])]))
    rc, out = pl.run("--check")
    check(rc == 0, f"x.r4 is no run of x repeated 3 times: exit {rc}", out)
    pl.write(",".join(f'{{ name = "v{i}"; cmd = ["true"]; }}' for i in range(20000)))
    rc, out = pl.run("--check", timeout=300)
    check(rc == 0, f"20,000 distinct names: exit {rc}", out[-2000:])


def case_parallel_limit():
    pl = Plan("parallel")
    d = pl.p("probe")
    os.mkdir(d)
    pl.write(",".join(val(f"v{i}", [PY, PROBE, "concurrency", d, f"v{i}"]) for i in range(6)),
             max_parallel=2)
    rc, out = pl.run("--release", "1")
    check(rc == 0, f"exit {rc}, want 0", out)
    mx = int(open(os.path.join(d, "max")).read())
    check(mx == 2, f"at most 2 jobs at once expected and 2 reached, saw {mx}", out)


def case_timeout_kills_tree():
    pl = Plan("timeout")
    pidfile = pl.p("grandchild.pid")
    pl.write(val("hang", [PY, PROBE, "escape", pidfile], timeout=2))
    rc, out = pl.run("--release", "1")
    check(rc == 1, f"exit {rc}, want 1 (FAILED)", out)
    check("timeout" in out, "reason timeout not reported", out)
    st = pl.state("1")
    job = st["jobs"]["tests/hang"]
    check(job["outcome"] == "FAILED" and job["reason"] == "timeout", f"job {job}", out)
    check(job["exit_code"] == 124, f"exit code {job['exit_code']}, want 124", out)
    log = open(job["log_path"]).read()
    check("[TIMEOUT]" in log, "no [TIMEOUT] line in the log", log)
    check(os.path.exists(pidfile), "the grandchild never started", out)
    gpid = int(open(pidfile).read())
    check(not pid_alive(gpid), f"setsid grandchild {gpid} that ignores SIGTERM survived", out)


def case_interrupt_saves_state():
    pl = Plan("interrupt")
    flag = pl.p("never")
    pl.write(val("quick", [PY, PROBE, "count", pl.p("count")]) + "," +
             val("slow", [PY, PROBE, "wait", flag], 'depends_on = ["quick"];'))
    p = pl.start("--release", "1")
    log = pl.p("logs", "1", "slow.log")
    wait_for(lambda: os.path.exists(log) and "waiting" in open(log).read(), "slow job start")
    p.send_signal(signal.SIGINT)
    try:
        out, _ = p.communicate(timeout=20)
    except subprocess.TimeoutExpired:
        p.kill()
        fail("relhost did not stop within 20 s of SIGINT")
    check(p.returncode == 130, f"exit {p.returncode}, want 130", out)
    st = pl.state("1")
    check(st["jobs"]["tests/quick"]["outcome"] == "PASSED", "finished job lost", json.dumps(st))
    check(st["jobs"]["tests/slow"]["lifecycle"] == "pending",
          "interrupted job must be pending (run again on resume)", json.dumps(st))
    check(st.get("finished") is False, "an interrupted release is not finished", json.dumps(st))
    # The next run without --release resumes it and does not re-run the finished job.
    open(flag, "w").close()
    rc, out = pl.run()
    check(rc == 0, f"resume exit {rc}", out)
    check("continuing release 1" in out, "did not resume release 1", out)
    check(len(open(pl.p("count")).read().split()) == 1, "completed validation ran again", out)


def case_resume_and_retry_failed():
    pl = Plan("resume")
    flag = pl.p("flag")
    pl.write(val("good", [PY, PROBE, "count", pl.p("good.count")]) + "," +
             val("flaky", [PY, PROBE, "fail-unless", flag]))
    rc, out = pl.run("--release", "7")
    check(rc == 1, f"first run exit {rc}, want 1", out)
    rc, out = pl.run("--release", "7")
    check(rc == 1, f"second run exit {rc}, want 1 (the failure stands)", out)
    check(len(open(pl.p("good.count")).read().split()) == 1, "completed validation re-ran", out)
    check("resumed" in out, "resumed results are not shown as such", out)
    open(flag, "w").close()
    rc, out = pl.run("--release", "7", "--retry-failed")
    check(rc == 0, f"--retry-failed exit {rc}, want 0", out)
    check(len(open(pl.p("good.count")).read().split()) == 1, "--retry-failed re-ran a pass", out)


def case_sigkill_resume():
    pl = Plan("sigkill")
    gate = pl.p("gate")
    pl.write(val("first", [PY, PROBE, "count", pl.p("first.count")]) + "," +
             val("second", [PY, PROBE, "wait", gate], 'depends_on = ["first"];'))
    p = pl.start("--release", "9")
    log = pl.p("logs", "9", "second.log")
    wait_for(lambda: os.path.exists(log) and "waiting" in open(log).read(), "second job start")
    p.kill()  # SIGKILL: no chance to save anything beyond what was already durable
    p.wait()
    open(gate, "w").close()
    rc, out = pl.run("--release", "9")
    check(rc == 0, f"re-run exit {rc}, want 0", out)
    check(len(open(pl.p("first.count")).read().split()) == 1,
          "a validation completed before SIGKILL ran again", out)


def case_command_not_found():
    pl = Plan("notfound")
    pl.write(val("missing", ["/nonexistent/trainer", "--x"]))
    rc, out = pl.run("--release", "1")
    check(rc == 3, f"exit {rc}, want 3 (ERROR, not retryable)", out)
    st = pl.state("1")
    job = st["jobs"]["tests/missing"]
    check(job["outcome"] == "ERROR" and job["reason"] == "exec_failed", f"job {job}", out)


def case_missing_metric_fails():
    pl = Plan("missing")
    pl.write('{ name = "quiet"; cmd = ["true"]; acceptance = ( ("sps_max", ">=", 1.0) ); }')
    rc, out = pl.run("--release", "1")
    check(rc == 1, f"exit {rc}, want 1", out)
    check("metric missing" in out, "note 'metric missing' not shown", out)
    job = pl.state("1")["jobs"]["tests/quiet"]
    chk = job["evidence"]["checks"][0]
    check(chk["actual"] is None and chk["passed"] is False and chk["note"] == "metric missing",
          f"check {chk}", out)


def case_a_log_the_job_rewrites_is_read_again():
    """A job that starts its log over (a restart writing from the top) is read again from byte
    0: sps_last is the new run's, not the stale one, and the restart is counted."""
    pl = Plan("rewrite")
    script = ('echo "SPS: 10"; echo "SPS: 10"; echo "SPS: 10"; sleep 0.8; '
              'printf "SPS: 40000\\n" > "$RELHOST_LOG"; sleep 0.8')
    pl.write('{ name = "restarts"; cmd = ["sh", "-c", ' + json.dumps(script) + '];'
             ' acceptance = ( ("sps_last", ">=", 30000.0), ("sps_max", "<=", 40000.0) ); }')
    rc, out = pl.run("--release", "1")
    check(rc == 0, f"exit {rc}, want 0 (the rewritten log passes)", out)
    job = pl.state("1")["jobs"]["tests/restarts"]
    check(job["restarts"] >= 1, f"restart not counted: {job['restarts']}", out)
    notes = " ".join(job["evidence"].get("notes", []))
    check("read again from byte 0" in notes, f"no note: {notes}", out)


def case_a_log_rewritten_past_its_old_length_is_read_again():
    """A job truncates its log and writes more than it held before the host's next read: the
    size never looks smaller, but the bytes already fed are gone. Read again from byte 0: the
    check judges the new run's 2000, not the stale 50000."""
    pl = Plan("regrow")
    script = ('echo "SPS: 50000"; sleep 1.5; : > "$RELHOST_LOG"; echo "SPS: 2000"; '
              'echo "===== restarted attempt 2, loading checkpoint and warming up the '
              'environments ====="; sleep 1.5')
    pl.write('{ name = "regrow"; cmd = ["sh", "-c", ' + json.dumps(script) + '];'
             ' acceptance = ( ("sps_last", ">=", 30000.0) ); }')
    rc, out = pl.run("--release", "1")
    check(rc == 1, f"exit {rc}, want 1 (the rewritten log holds SPS 2000 only)", out)
    job = pl.state("1")["jobs"]["tests/regrow"]
    check(job["outcome"] == "FAILED" and job["reason"] == "threshold", f"job {job}", out)
    check(job["restarts"] >= 1, f"restart not counted: {job['restarts']}", out)
    notes = " ".join(job["evidence"].get("notes", []))
    check("written again from the top" in notes, f"no note: {notes}", out)


# A job writing a log of `size` bytes in `parts` bursts (0.3 s apart, then 0.5 s before its
# end): filler lines of varying length with an "SPS: N" line every 7th, so that metric lines
# straddle the host's 64 KiB pieces and its 1 MiB and 4 MiB mapped windows (core/run/logmap.h).
BIG_LOG = r"""
import sys, time
size, parts = int(sys.argv[1]), int(sys.argv[2])
out, n, k = [], 0, 0
while n < size:
    k += 1
    line = ("SPS: %d\n" % (30000 + k % 9973)) if k % 7 == 0 else "x" * (k * 37 % 181) + "\n"
    line = line[:size - n - 1] + "\n" if n + len(line) > size else line
    out.append(line)
    n += len(line)
data = "".join(out).encode()
for i in range(parts):
    sys.stdout.buffer.write(data[len(data) * i // parts:len(data) * (i + 1) // parts])
    sys.stdout.buffer.flush()
    time.sleep(0.3)
time.sleep(0.5)
"""


def big_log_sps(size):
    """The SPS values BIG_LOG writes for `size` bytes, in order."""
    vals, n, k = [], 0, 0
    while n < size:
        k += 1
        line = ("SPS: %d\n" % (30000 + k % 9973)) if k % 7 == 0 else "x" * (k * 37 % 181) + "\n"
        if n + len(line) > size:
            line = line[:size - n - 1] + "\n"
        if line.startswith("SPS: ") and line.endswith("\n") and len(line) > 6:
            vals.append(float(line[5:-1]))
        n += len(line)
    return vals


def case_big_logs_read_through_mapped_windows():
    """The already-written part of a big log is read through mapped windows, not copies: the
    metrics are those of every line, for a log of exactly one window, one past several windows,
    and one growing while it is read."""
    pl = Plan("bigmap")
    sizes = {"window": (4 << 20, 1), "past": ((9 << 20) + 123, 1), "grow": ((11 << 20) + 5, 4)}
    pl.write(", ".join(val(n, [PY, "-c", BIG_LOG, str(sz), str(parts)])
                       for n, (sz, parts) in sizes.items()))
    rc, out = pl.run("--release", "1")
    check(rc == 0, f"exit {rc}, want 0", out)
    st = pl.state("1")
    for n, (sz, _) in sizes.items():
        job = st["jobs"]["tests/" + n]
        check(os.path.getsize(pl.p("logs", "1", n + ".log")) == sz, f"{n}: log size", out)
        want = big_log_sps(sz)
        got = job["evidence"]["metrics"]
        check(got["sps_last"]["samples"] == len(want) and got["sps_last"]["value"] == want[-1] and
              got["sps_max"]["value"] == max(want),
              f"{n}: metrics {got['sps_last']} {got['sps_max']}, want {len(want)} samples, "
              f"last {want[-1]}, max {max(want)}", out)
        check(job["restarts"] == 0, f"{n}: a restart counted: {job}", out)


def case_a_log_truncated_while_read_is_read_again():
    """A job truncates its big log over and over while the host reads it (a window may be cut
    under the host's mapping: SIGBUS must not end relhost): the host survives, and the verdict is
    on the last run's value, 2000, never an earlier 50000."""
    pl = Plan("truncmap")
    script = ("import os, sys, time\n"
              "path = os.environ['RELHOST_LOG']\n"
              "chunk = (('SPS: 50000\\n' + 'y' * 200 + '\\n') * 40000).encode()\n"
              "for i in range(6):\n"
              "    sys.stdout.buffer.write(chunk * 3); sys.stdout.buffer.flush()\n"
              "    time.sleep(0.01 * i)\n"
              "    os.truncate(path, 0)\n"
              "print('SPS: 2000', flush=True)\n"
              "time.sleep(1.0)\n")
    pl.write('{ name = "trunc"; cmd = ["' + PY + '", "-c", ' + json.dumps(script) + '];'
             ' acceptance = ( ("sps_last", ">=", 30000.0) ); }')
    rc, out = pl.run("--release", "1")
    check(rc == 1, f"exit {rc}, want 1 (the last run's SPS is 2000)", out)
    job = pl.state("1")["jobs"]["tests/trunc"]
    check(job["outcome"] == "FAILED" and job["reason"] == "threshold", f"job {job}", out)
    check(job["evidence"]["metrics"]["sps_last"]["value"] == 2000.0, f"job {job}", out)


def case_a_refused_last_value_decides_nothing():
    """The last eval rate the job printed is out of range (1.5): the earlier 0.9 is not judged
    (stale), and the check is INCONCLUSIVE (metric_refused), neither PASSED nor FAILED."""
    pl = Plan("refused")
    pl.write('{ name = "evalrate"; cmd = ["sh", "-c", "echo eval_success_rate: 0.9; '
             'echo eval_success_rate: 1.5"];'
             ' acceptance = ( ("eval_success_rate", ">=", 0.8) ); }')
    rc, out = pl.run("--release", "1")
    check(rc == 3, f"exit {rc}, want 3 (INCONCLUSIVE)", out)
    job = pl.state("1")["jobs"]["tests/evalrate"]
    check(job["outcome"] == "INCONCLUSIVE" and job["reason"] == "metric_refused", f"{job}", out)
    chk = job["evidence"]["checks"][0]
    check(chk["actual"] is None and "metric refused" in (chk["note"] or ""), f"check {chk}", out)


def case_depends_on_skips():
    pl = Plan("depends")
    pl.write('{ name = "broken"; cmd = ["false"]; },' +
             val("after", [PY, PROBE, "count", pl.p("after.count")], 'depends_on = ["broken"];'))
    rc, out = pl.run("--release", "1")
    check(rc == 1, f"exit {rc}, want 1", out)
    check("after SKIPPED (upstream_failed)" in out, "dependent validation not SKIPPED", out)
    check(not os.path.exists(pl.p("after.count")), "dependent validation ran", out)


def case_changed_acceptance_reevaluates():
    pl = Plan("accept")
    pl.write(val("v", [PY, PROBE, "count", pl.p("count")]))
    rc, out = pl.run("--release", "1")
    check(rc == 0, f"first exit {rc}", out)
    text = open(pl.path).read().replace('("sps_max", ">=", 30000.0)', '("sps_max", ">=", 40000.0)')
    open(pl.path, "w").write(text)
    rc, out = pl.run("--release", "1")
    check(rc == 1, f"tighter threshold exit {rc}, want 1", out)
    check(len(open(pl.p("count")).read().split()) == 1, "changed acceptance re-ran the job", out)
    check("re-evaluated" in out, "no note about re-evaluation", out)


def case_lock_held():
    pl = Plan("lock")
    gate = pl.p("gate")
    pl.write(val("w", [PY, PROBE, "wait", gate]))
    p = pl.start("--release", "1")
    log = pl.p("logs", "1", "w.log")
    wait_for(lambda: os.path.exists(log) and "waiting" in open(log).read(), "job start")
    rc, out = pl.run("--release", "1")
    open(gate, "w").close()
    p.communicate(timeout=20)
    check(rc == 2, f"second relhost on a locked release: exit {rc}, want 2", out)
    check(f"pid {p.pid}" in out, "the message does not name the holder's pid", out)


def case_corrupt_state_refused():
    pl = Plan("corrupt")
    pl.write(val("v", [PY, PROBE, "count", pl.p("count")]))
    os.makedirs(pl.p("state"))
    bad = pl.p("state", "release_1.json")
    open(bad, "w").write('{"schema": 1, "version": "1", "seq": 3, "jobs": {')
    before = open(bad).read()
    rc, out = pl.run("--release", "1")
    check(rc == 2, f"exit {rc}, want 2", out)
    check(open(bad).read() == before, "a corrupt state file was modified", out)
    check(not os.path.exists(pl.p("count")), "ran despite corrupt state", out)


def case_a_name_over_the_limit_is_refused_never_cut():
    # Two validations whose 170-byte names differ only at the end: cut at a fixed size they
    # would collide as "duplicate" (or worse, share a key and a log). Each is refused with the
    # plan line that names it, before anything runs.
    pl = Plan("longname")
    a, b = "v" * 169 + "a", "v" * 169 + "b"
    pl.write(val(a, [PY, PROBE, "count", pl.p("count")]) + ", " +
             val(b, [PY, PROBE, "count", pl.p("count")]))
    rc, out = pl.run("--release", "1")
    check(rc == 2, f"exit {rc}, want 2", out)
    check("is 170 bytes, more than the 160 a job name may hold" in out, "the limit is named", out)
    check(re.search(r"plan\.cfg:\d+: validation name", out), "the plan line is named", out)
    check("duplicate" not in out, "a long name must not read as a duplicate", out)
    check(not os.path.exists(pl.p("count")), "nothing may run", out)
    pl.write(val("v" * 160, [PY, PROBE, "count", pl.p("count")]))
    rc, out = pl.run("--release", "2")
    check("more than the 160" not in out, "160 bytes is allowed", out)


def case_matrix_expands_and_checks_termination():
    pl = Plan("matrix")
    pl.write('{ name = "cluster"; cmd = [' + json.dumps(PY) + ', ' + json.dumps(PROBE) +
             ', "term"]; matrix = { nodes = [1, 2]; conditions = ('
             ' { name = "normal"; args = ["job_completed", "0", "{nodes}"]; },'
             ' { name = "heartbeat"; args = ["heartbeat_timeout", "1", "{nodes}"];'
             '   termination_reason = "heartbeat_timeout"; },'
             ' { name = "wrong"; args = ["job_completed", "0", "{nodes}"];'
             '   termination_reason = "heartbeat_timeout"; } ); };'
             ' acceptance = ( ("sps_max", ">=", 1.0) ); }')
    rc, out = pl.run("--release", "1")
    check(rc == 1, f"exit {rc}, want 1 (the 'wrong' cells fail)", out)
    jobs = pl.state("1")["jobs"]
    names = sorted(k.split("/", 1)[1] for k in jobs)
    want = sorted(f"cluster.{n}n.{c}" for n in (1, 2) for c in ("normal", "heartbeat", "wrong"))
    check(names == want, f"expanded {names}, want {want}", out)
    for n in (1, 2):
        check(jobs[f"tests/cluster.{n}n.normal"]["outcome"] == "PASSED", "normal cell", out)
        hb = jobs[f"tests/cluster.{n}n.heartbeat"]
        check(hb["outcome"] == "PASSED" and hb["termination_reason"] == "heartbeat_timeout",
              f"expected heartbeat timeout counts as success: {hb}", out)
        wr = jobs[f"tests/cluster.{n}n.wrong"]
        check(wr["outcome"] == "FAILED" and wr["reason"] == "termination_reason", f"{wr}", out)
        log = open(hb["log_path"]).read()
        check(f"nodes={n}" in log, "{nodes} did not expand in the cell's arguments", log)
    rc, out = pl.run("--release", "2", "--only", "cluster.2n.normal")
    # one cell runs; the release still requires all six, so the step cannot pass yet
    check(rc == 3 and list(pl.state("2")["jobs"]) == ["tests/cluster.2n.normal"],
          "--only did not pick one matrix cell", out)
    check("reason: incomplete" in out, "a narrowed run passed the step", out)


def case_two_sources_of_one_key_need_a_priority():
    pl = Plan("sources")
    pl.write(val("v", [PY, PROBE, "count", pl.p("count")], 'metrics = ["logs", "more"];'))
    text = open(pl.path).read().replace(
        'logs = { plugin = "metrics_regex"; };',
        'logs = { plugin = "metrics_regex"; }; more = { plugin = "metrics_regex"; };')
    open(pl.path, "w").write(text)
    rc, out = pl.run("--release", "1")
    check(rc == 3, f"equal priority: exit {rc}, want 3 (ERROR metric_conflict)", out)
    job = pl.state("1")["jobs"]["tests/v"]
    check(job["reason"] == "metric_conflict", f"{job['reason']}", out)
    check("give one a higher `priority`" in out, "the note does not say what to do", out)
    open(pl.path, "w").write(text.replace('more = { plugin = "metrics_regex"; };',
                                          'more = { plugin = "metrics_regex"; priority = 1; };'))
    rc, out = pl.run("--release", "2")
    check(rc == 0, f"with a priority: exit {rc}, want 0", out)
    m = pl.state("2")["jobs"]["tests/v"]["evidence"]["metrics"]["sps_max"]
    check(m["source"] == "more", f"the higher priority did not win: {m}", out)


def case_jobs_get_secrets_only_through_pass_env():
    pl = Plan("secrets")
    token = "tok-9f8e7d6c5b4a39281706"
    pl.write('{ name = "plain"; cmd = ["env"]; },'
             '{ name = "given"; cmd = ["env"]; pass_env = ["ASANA_TOKEN"]; }',
             extra_steps=',\n  { name = "bugs"; plugin = "asana"; required = false; }')
    env = dict(os.environ, ASANA_TOKEN=token)
    env.pop("ASANA_PROJECT_ID", None)
    rc, out = pl.run("--release", "1", env=env)
    check(rc == 0, f"exit {rc}", out)
    plain = open(pl.p("logs", "1", "plain.log")).read()
    given = open(pl.p("logs", "1", "given.log")).read()
    check("ASANA_TOKEN" not in plain, "a job inherited a secret it was not given", plain)
    check(f"ASANA_TOKEN={token}" in given, "pass_env did not hand the secret over", given)


CRASH_POINTS = ["jobs.before_submit", "jobs.after_submit", "jobs.after_result",
                "state.journal.before_write", "state.journal.after_write",
                "state.journal.after_sync", "state.snapshot.before_write",
                "state.snapshot.before_rename", "state.snapshot.after_rename",
                "state.snapshot.before_truncate", "state.snapshot.after_truncate"]


def case_a_kill_at_every_crash_point_loses_no_result():
    """relhost dies (SIGKILL) at each write boundary, at its 1st, 2nd and 3rd hit; the next run
    finishes the release, every validation passes, and a validation whose result was durable
    before the crash is never run again (counted through a side effect, not relhost's word)."""
    for point in CRASH_POINTS:
        for hit in (1, 2, 3):
            pl = Plan("crash")
            pl.write(",".join(val(f"v{i}", [PY, PROBE, "count", pl.p(f"c{i}")]) for i in range(3)),
                     max_parallel=1)
            env = dict(os.environ, RELHOST_CRASH_AT=f"{point}:{hit}")
            rc, out = pl.run("--release", "1", env=env)
            if rc == 0:
                continue  # the point was not reached that many times: nothing to prove
            check(rc == -signal.SIGKILL, f"{point}:{hit}: exit {rc}, want death by SIGKILL", out)
            durable = set()
            snap = pl.p("state", "release_1.json")
            if os.path.exists(snap):
                # what a reader sees now, journal included, through relhost's own status
                st = subprocess.run([BIN, "status", "-c", pl.path, "--release", "1",
                                     "--no-color"], capture_output=True, text=True)
                check(st.returncode == 0, f"{point}:{hit}: status after crash failed",
                      st.stdout + st.stderr)
                for line in st.stdout.splitlines():
                    parts = line.split()
                    if len(parts) > 1 and parts[1] == "PASSED":
                        durable.add(parts[0])
            rc, out2 = pl.run("--release", "1")
            check(rc == 0, f"{point}:{hit}: the run after the crash exit {rc}", out + out2)
            jobs = pl.state("1")["jobs"]
            for i in range(3):
                check(jobs[f"tests/v{i}"]["outcome"] == "PASSED", f"{point}:{hit}: v{i}", out2)
                runs = len(open(pl.p(f"c{i}")).read().split())
                limit = 1 if f"v{i}" in durable else 2
                check(1 <= runs <= limit,
                      f"{point}:{hit}: v{i} ran {runs} times (durable before crash: "
                      f"{f'v{i}' in durable})", out + out2)


def git(repo, *args):
    subprocess.run(["git", "-C", repo, *args], check=True, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL)


def case_candidate_commit_is_fixed():
    pl = Plan("candidate")
    repo = pl.p("repo")
    os.mkdir(repo)
    git(repo, "init", "-q")
    git(repo, "-c", "user.email=t@t", "-c", "user.name=t", "commit", "-q", "--allow-empty",
        "-m", "one")
    first = subprocess.run(["git", "-C", repo, "rev-parse", "HEAD"], capture_output=True,
                           text=True).stdout.strip()
    cmd = [PY, PROBE, "count", pl.p("count")]
    pl.write('{ name = "v"; cmd = ["sh", "-c", "git rev-parse HEAD > ' + pl.p("seen") +
             '; echo {commit} > ' + pl.p("templ") + '; exec \\"$@\\"", "sh", ' +
             ", ".join(json.dumps(a) for a in cmd) +
             ']; acceptance = ( ("sps_max", ">=", 1.0) ); }')
    text = open(pl.path).read().replace('state_dir = "state";',
                                        'state_dir = "state"; repo = "repo"; checkout = "worktree";')
    open(pl.path, "w").write(text)
    rc, out = pl.run("--release", "1")
    check(rc == 0, f"first run exit {rc}", out)
    check(open(pl.p("seen")).read().strip() == first, "the job did not run on the candidate", out)
    check(open(pl.p("templ")).read().strip() == first, "{commit} did not expand", out)
    check(pl.state("1")["candidate"]["commit"] == first, "candidate not in state", out)
    git(repo, "-c", "user.email=t@t", "-c", "user.name=t", "commit", "-q", "--allow-empty",
        "-m", "two")
    rc, out = pl.run("--release", "1")
    check(rc == 2, f"resume on another commit: exit {rc}, want 2", out)
    check("--new-candidate" in out, "the refusal does not say what to do", out)
    rc, out = pl.run("--release", "1", "--new-candidate")
    check(rc == 0, f"--new-candidate exit {rc}", out)
    check(open(pl.p("seen")).read().strip() != first, "requalification ran the old commit", out)
    check(len(open(pl.p("count")).read().split()) == 2, "old results were reused", out)


def case_checkout_head_refuses_a_dirty_tree():
    pl = Plan("dirty")
    repo = pl.p("repo")
    os.mkdir(repo)
    git(repo, "init", "-q")
    open(os.path.join(repo, "f"), "w").write("a\n")
    git(repo, "add", "f")
    git(repo, "-c", "user.email=t@t", "-c", "user.name=t", "commit", "-q", "-m", "one")
    open(os.path.join(repo, "f"), "w").write("changed\n")
    pl.write(val("v", [PY, PROBE, "count", pl.p("count")]))
    text = open(pl.path).read().replace('state_dir = "state";', 'state_dir = "state"; repo = "repo";')
    open(pl.path, "w").write(text)
    rc, out = pl.run("--release", "1")
    check(rc == 2, f"exit {rc}, want 2", out)
    check("uncommitted changes" in out, "the refusal does not name the dirty tree", out)
    check(not os.path.exists(pl.p("count")), "a validation ran on a dirty tree", out)


CASES = {k[5:]: v for k, v in globals().items() if k.startswith("case_")}

if __name__ == "__main__":
    if len(sys.argv) != 2 or sys.argv[1] not in CASES:
        print("usage: workflow.py CASE; cases:", " ".join(sorted(CASES)))
        sys.exit(2)
    CASES[sys.argv[1]]()
    print("ok")
