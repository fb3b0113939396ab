#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""End-to-end tests of runner_skypilot: the real relhost binary, the real plugin, and
tests/fakes/sky, a fake SkyPilot CLI that prints one version's formats (ANSI colours included),
really runs each job's command detached, and logs every invocation to calls.log. Submissions are
counted there (a side effect), never taken from relhost's word. One case per process:
skypilot.py CASE."""
import glob
import hashlib
import json
import os
import random
import signal
import string
import subprocess
import sys
import tempfile
import time

BIN = os.environ["RELHOST_BIN"]
SRC = os.environ.get("RELHOST_SOURCE_DIR",
                     os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
PY = os.environ.get("PYTHON3", sys.executable)
HERE = os.path.dirname(os.path.abspath(__file__))
JOB = os.path.join(HERE, "job.py")
FAKE = os.path.join(SRC, "tests", "fakes", "sky")
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


def wait_for(pred, what, timeout=30, out=None):
    end = time.time() + timeout
    while time.time() < end:
        if pred():
            return
        time.sleep(0.05)
    fail("timed out waiting for " + what, out)


def val(name, argv, extra="", accept=True, timeout=120):
    cmd = ", ".join(json.dumps(a, ensure_ascii=False) for a in argv)  # libconfig has no \\u
    acc = 'acceptance = ( ("sps_max", ">=", 30000.0) ); ' if accept else ""
    return f'{{ name = "{name}"; cmd = [{cmd}]; timeout_s = {timeout}; {acc}{extra} }}'


class Plan:
    """A plan folder with its own fake SkyPilot ($FAKE_SKY_DIR = <plan>/sky)."""

    def __init__(self, name):
        self.dir = tempfile.mkdtemp(prefix="sky-" + name + "-", dir=TMP)
        self.path = os.path.join(self.dir, "plan.cfg")
        self.sky_dir = os.path.join(self.dir, "sky")
        self.env = dict(os.environ, FAKE_SKY_DIR=self.sky_dir)
        for k in list(self.env):
            if k.startswith("FAKE_SKY_") and k != "FAKE_SKY_DIR":
                del self.env[k]

    def write(self, validations, runner_extra="", sky=FAKE, poll="1s"):
        text = f"""
state_dir = "state"; log_dir = "logs";
runners = {{ sky = {{ plugin = "runner_skypilot"; sky = "{sky}"; poll_interval = "{poll}";
                      {runner_extra} }}; }};
metrics = {{ logs = {{ plugin = "metrics_regex"; }}; }};
steps = (
  {{ name = "tests"; plugin = "workflow"; runner = "sky"; metrics = ["logs"];
     validations = ( {validations} ); }}
);
"""
        with open(self.path, "w") as f:
            f.write(text)

    def argv(self, *args, command=None):
        return [BIN] + ([command] if command else []) + ["-c", self.path, "--no-color",
                                                         "--no-interactive", *args]

    def run(self, *args, timeout=90, command=None, **env):
        p = subprocess.run(self.argv(*args, command=command), stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, text=True, timeout=timeout,
                           env=dict(self.env, **env))
        return p.returncode, p.stdout

    def start(self, *args, **env):
        return subprocess.Popen(self.argv(*args), stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, text=True, env=dict(self.env, **env))

    def state(self, version="1"):
        with open(os.path.join(self.dir, "state", f"release_{version}.json")) as f:
            return json.load(f)

    def job(self, name, version="1"):
        return self.state(version)["jobs"]["tests/" + name]

    def p(self, *parts):
        return os.path.join(self.dir, *parts)

    def calls(self, sub=None):
        try:
            with open(os.path.join(self.sky_dir, "calls.log")) as f:
                lines = [json.loads(line) for line in f if line.strip()]
        except FileNotFoundError:
            return []
        return [c for c in lines if sub is None or c["argv"][0] == sub]

    def fake(self):
        try:
            with open(os.path.join(self.sky_dir, "state.json")) as f:
                return json.load(f)
        except FileNotFoundError:
            return {"jobs": {}}

    def fake_job(self, name):
        for j in self.fake()["jobs"].values():
            if j["name"] == name:
                return j
        return None

    def cleanup(self):
        """No job of the fake, and no `sky jobs launch` of this plan, outlives its test."""
        for pid in procs_with("jobs", "launch", within=self.dir):
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        for j in self.fake()["jobs"].values():
            for pid, group in ((j.get("cmd_pgid"), True), (j.get("worker_pid"), False)):
                if not pid:
                    continue
                # The run shell leads its own session; timeout(1) moves the command into a
                # process group of its own within it: kill the whole session.
                for p in in_session(pid) if group else [pid]:
                    try:
                        os.kill(p, signal.SIGKILL)
                    except (ProcessLookupError, PermissionError):
                        pass

    def worker_errors(self):
        path = os.path.join(self.sky_dir, "worker-errors.log")
        return open(path).read() if os.path.exists(path) else ""


def key(name, attempt=1, version="1"):
    return f"rh-{version}-{name}-a{attempt}"


def launches(pl, name=None, attempt=None):
    out = []
    for c in pl.calls("launch"):
        a = c["argv"]
        k = a[a.index("--name") + 1]
        if name is None or k == key(name, attempt or 1) or (attempt is None and
                                                             k.startswith(f"rh-1-{name}-a")):
            out.append(c)
    return out


# ---- cases ----------------------------------------------------------------------------------

def case_pass_streams_sps():
    pl = Plan("pass")
    gate = pl.p("gate")
    pl.write(val("smoke", [PY, JOB, "sps", "31000", gate]))
    p = pl.start("--release", "1")
    log = pl.p("logs", "1", "smoke.log")
    try:
        # The metric line reaches relhost's log while the job still runs: streamed, not copied
        # at the end.
        wait_for(lambda: os.path.exists(log) and "SPS: 31000" in open(log).read(),
                 "the SPS line in relhost's copy of the log")
        j = pl.fake_job(key("smoke"))
        check(j and j["status"] == "RUNNING", f"the job should still run, fake says {j}")
        open(gate, "w").close()
        out, _ = p.communicate(timeout=60)
    finally:
        if p.poll() is None:
            p.kill()
        pl.cleanup()
    check(p.returncode == 0, f"exit {p.returncode}, want 0", out)
    job = pl.job("smoke")
    check(job["outcome"] == "PASSED" and job["exit_code"] == 0, f"job {job}", out)
    check(job["external_id"] == str(pl.fake_job(key("smoke"))["id"]), f"external id {job}", out)
    check(job["evidence"]["metrics"]["sps_max"]["value"] == 31000.0, "sps_max not read", out)
    text = open(log).read()
    check("\x1b" not in text, "ANSI codes reached the local log", text)
    check(text.count("SPS: 31000") == 1, "the log was copied more than once", text)
    check("Managed job finished: " in text and "(status: SUCCEEDED)" in text,
          "the log's end was not fetched", text)
    check(len(pl.calls("launch")) == 1, f"{len(pl.calls('launch'))} launches, want 1", out)
    check(len(pl.calls("logs")) >= 2, "the log was not fetched while the job ran", out)


def case_secrets_never_on_disk_or_argv():
    pl = Plan("secret")
    token = "tok-" + "".join(random.choice(string.ascii_letters) for _ in range(24))
    out_file = pl.p("secret.out")
    pl.write(val("s", [PY, JOB, "secret", out_file, "MY_TOKEN"], 'pass_env = ["MY_TOKEN"];'))
    try:
        rc, out = pl.run("--release", "1", "-v", MY_TOKEN=token)
    finally:
        pl.cleanup()
    check(rc == 0, f"exit {rc}, want 0", out)
    got = open(out_file).read()
    check(got == hashlib.sha256(token.encode()).hexdigest(), "the job did not get the secret",
          out)
    check(token not in out, "the secret is in relhost's -v output", out)
    for c in pl.calls():
        check(token not in " ".join(c["argv"]), f"the secret is on sky's argv: {c}")
    check(["--env", "MY_TOKEN"] == launches(pl)[0]["argv"][7:9] or
          "MY_TOKEN" in launches(pl)[0]["argv"], "not passed as --env MY_TOKEN", out)
    for path in glob.glob(pl.dir + "/**", recursive=True):
        if os.path.isfile(path):
            with open(path, "rb") as f:
                check(token.encode() not in f.read(), f"the secret is written to {path}")
    yaml_text = open(pl.p("logs", "1", key("s") + ".sky.yaml")).read()
    check("MY_TOKEN:" not in yaml_text, "the secret is among the task's envs", yaml_text)


def case_argv_quoting_survives_the_task():
    pl = Plan("argv")
    out_file = pl.p("argv.json")
    args = ["it's", 'a "quoted" arg', "$HOME", "`id`", "back\\slash", "multi\nline", "ünï",
            "tab\there", "", "--flag=x y"]
    pl.write(val("q", [PY, JOB, "argv", out_file, *args], 'env = { PLAIN = "p l a i n"; };'))
    try:
        rc, out = pl.run("--release", "1")
    finally:
        pl.cleanup()
    check(rc == 0, f"exit {rc}, want 0", out)
    got = json.load(open(out_file))
    check(got["argv"] == args, f"argv changed on its way: {got['argv']!r} != {args!r}", out)
    env = got["env"]
    check(env.get("RELHOST_JOB") == key("q"), f"RELHOST_JOB {env}", out)
    check(env.get("RELHOST_VALIDATION") == "q" and env.get("RELHOST_ATTEMPT") == "1", f"{env}")
    check(env.get("PLAIN") == "p l a i n", f"plan env not delivered: {env}", out)
    check("RELHOST_LOG" not in env and "RELHOST_PROC" not in env,
          f"a local path or relhost's cookie reached the cluster: {env}", out)
    check(got["cwd"] == pl.dir, f"workdir {got['cwd']}, want the plan's folder", out)


def case_failure_keeps_the_exit_code():
    pl = Plan("failure")
    pl.write(val("summary", [PY, JOB, "fail", "7", "summary"]) + "," +
             val("plain", [PY, JOB, "fail", "5"]))
    try:
        rc, out = pl.run("--release", "1")
    finally:
        pl.cleanup()
    check(rc == 1, f"exit {rc}, want 1 (FAILED)", out)
    j = pl.job("summary")
    check(j["outcome"] == "FAILED" and j["reason"] == "exit_code" and j["exit_code"] == 7,
          f"with a [SUMMARY] line: {j}", out)
    j = pl.job("plain")
    # SkyPilot says FAILED, not the code: without a [SUMMARY] line the runner reports 1.
    check(j["outcome"] == "FAILED" and j["exit_code"] == 1, f"without a [SUMMARY] line: {j}",
          out)
    check("exited with 7" in out, "the exit code is not shown", out)


def case_slow_launch_reports_the_id_later():
    pl = Plan("slow")
    gate = pl.p("launch-gate")
    slow_env = f'env = {{ FAKE_SKY_LAUNCH_GATE = "{gate}"; }};'
    pl.write(val("slow", [PY, JOB, "sps", "31000"], slow_env) + "," +
             val("fast", [PY, JOB, "sps", "32000"]))
    p = pl.start("--release", "1", "-v")
    fast_log = pl.p("logs", "1", "fast.log")
    try:
        # `sky jobs launch` of slow hangs until the gate opens; relhost must meanwhile run fast
        # from launch to its final log. A runner that waited for the launch would hang here.
        wait_for(lambda: os.path.exists(fast_log) and
                 "Managed job finished" in open(fast_log).read(),
                 "fast to finish while slow is still launching")
        check(pl.fake_job(key("slow")) is None, "slow was submitted before its gate opened")
        check(len(pl.calls("launch")) == 2, "slow's launch was not started at once")
        open(gate, "w").close()
        out, _ = p.communicate(timeout=60)
    finally:
        if p.poll() is None:
            p.kill()
        pl.cleanup()
    check(p.returncode == 0, f"exit {p.returncode}, want 0", out)
    slow = pl.fake_job(key("slow"))
    check(pl.job("slow")["external_id"] == str(slow["id"]), "slow's id not recorded", out)
    check(f"{key('slow')} launched as managed job {slow['id']}" in out, "no id line", out)
    check(pl.job("slow")["outcome"] == "PASSED" and pl.job("fast")["outcome"] == "PASSED",
          "both must pass", out)
    check(len(pl.calls("launch")) == 2, "launched more than once", out)


def case_no_resource_is_retried():
    pl = Plan("noresource")
    pl.write(val("smoke", [PY, JOB, "sps", "31000"], "retries = 1;"))
    try:
        rc, out = pl.run("--release", "1", FAKE_SKY_NO_RESOURCE="1")
    finally:
        pl.cleanup()
    check(rc == 0, f"exit {rc}, want 0 (the retry passes)", out)
    j = pl.job("smoke")
    check(j["outcome"] == "PASSED" and j["attempt"] == 2, f"job {j}", out)
    check(len(launches(pl, "smoke", 1)) == 1 and len(launches(pl, "smoke", 2)) == 1,
          f"launches {[c['argv'] for c in pl.calls('launch')]}", out)
    first = open(pl.p("logs", "1", "smoke.log")).read()
    check("ResourcesUnavailableError" in first, "attempt 1's log lacks the cause", first)
    check("FAILED_NO_RESOURCE" in out or "infra" in out, "the retry's cause is not shown", out)


def case_no_resource_without_retries_defers():
    pl = Plan("defer")
    pl.write(val("smoke", [PY, JOB, "sps", "31000"]))
    try:
        rc, out = pl.run("--release", "1", FAKE_SKY_NO_RESOURCE="1")
    finally:
        pl.cleanup()
    j = pl.job("smoke")
    check(j["outcome"] == "ERROR" and j["retryable"] is True and j["reason"] == "infra",
          f"job {j}", out)
    note = " ".join(j["evidence"]["notes"])
    check("FAILED_NO_RESOURCE" in note and "ResourcesUnavailableError" in note,
          f"the note does not say why: {note}", out)
    check(rc == 75, f"exit {rc}, want 75 (deferred: a retryable tool error)", out)


def case_engine_statuses_map_to_outcomes():
    pl = Plan("statuses")
    force = 'env = {{ FAKE_SKY_FORCE_STATUS = "{}"; }};'
    pl.write(",".join(val(n, [PY, JOB, "sps", "31000"], force.format(s)) for n, s in
                      (("prechecks", "FAILED_PRECHECKS"), ("controller", "FAILED_CONTROLLER"),
                       ("setup", "FAILED_SETUP"), ("cancelled", "CANCELLED"))))
    try:
        rc, out = pl.run("--release", "1")
    finally:
        pl.cleanup()
    check(rc == 1, f"exit {rc}, want 1", out)
    want = {"prechecks": ("ERROR", "exec_failed", False), "controller": ("ERROR", "infra", True),
            "setup": ("FAILED", "exit_code", False), "cancelled": ("FAILED", "cancelled", False)}
    for name, (oc, reason, retry) in want.items():
        j = pl.job(name)
        check((j["outcome"], j["reason"], j["retryable"]) == (oc, reason, retry),
              f"{name}: {j['outcome']} {j['reason']} retryable={j['retryable']}, want "
              f"{oc} {reason} retryable={retry}", out)
    check(pl.job("setup")["exit_code"] == 1, "FAILED_SETUP without a summary is exit 1", out)


def case_restarts_come_from_recoveries():
    pl = Plan("recover")
    pl.write(val("r", [PY, JOB, "sleep", "2.5"]))
    try:
        rc, out = pl.run("--release", "1", FAKE_SKY_RECOVER="1")
    finally:
        pl.cleanup()
    check(rc == 0, f"exit {rc}, want 0", out)
    j = pl.job("r")
    check(j["restarts"] == 1, f"restarts {j['restarts']}, want 1 (#RECOVERIES)", out)
    check(pl.fake_job(key("r"))["recoveries"] == 1, "the fake did not recover the job")


def case_remote_timeout_is_a_timeout():
    """remote_timeout (the default) runs the command under timeout(1) on the cluster. SkyPilot
    then only says FAILED (API_SHAPES.md: no exit code), so the run script itself names the
    timeout in the log: the job must be recorded as exit 124, reason timeout, as on local and
    Slurm, not as exit 1 (exit_code). The restart count SkyPilot showed while the job ran
    (#RECOVERIES) must still be there at its end."""
    pl = Plan("remote-timeout")
    pl.write(val("slow", [PY, JOB, "sleep", "60"], accept=False, timeout=2) + "," +
             val("recovered", [PY, JOB, "sleep", "60"], 'env = { FAKE_SKY_RECOVER = "1"; };',
                 accept=False, timeout=2) + "," +
             val("plain", [PY, JOB, "fail", "5"], accept=False))
    t0 = time.time()
    try:
        rc, out = pl.run("--release", "1")
    finally:
        pl.cleanup()
    took = time.time() - t0
    check(rc == 1, f"exit {rc}, want 1 (FAILED)", out)
    for name in ("slow", "recovered"):
        j = pl.job(name)
        check((j["outcome"], j["reason"], j["exit_code"]) == ("FAILED", "timeout", 124),
              f"{name}: {j['outcome']} {j['reason']} exit {j['exit_code']}, want FAILED "
              f"timeout 124", out)
        fj = pl.fake_job(key(name))
        check(fj["status"] == "FAILED" and not fj.get("cancel"),
              f"{name}: the cluster's timeout(1) must have ended it, not a cancel: {fj}", out)
        log = open(pl.p("logs", "1", name + ".log")).read()
        check("relhost-sky: timeout_s reached" in log, f"{name}: no timeout line in the log",
              log)
    check("past its deadline" not in out and took < 30,
          f"relhost's own deadline ended a job ({took:.0f} s): the remote timeout was not seen",
          out)
    check(pl.job("recovered")["restarts"] == 1,
          f"restarts {pl.job('recovered')['restarts']}, want 1 (#RECOVERIES)", out)
    check(pl.fake_job(key("recovered"))["recoveries"] == 1, "the fake did not recover the job")
    # An ordinary failure stays an ordinary failure (SkyPilot says FAILED, not the code).
    j = pl.job("plain")
    check((j["outcome"], j["reason"], j["exit_code"]) == ("FAILED", "exit_code", 1),
          f"plain: {j['outcome']} {j['reason']} exit {j['exit_code']}", out)


def sigkill_while_running(pl, accept):
    """Starts a job that waits for a gate, SIGKILLs relhost while it runs, opens the gate and
    runs relhost again; returns (exit code, output, log path)."""
    gate = pl.p("gate")
    pl.write(val("long", [PY, JOB, "sps", "31000", gate], accept=accept))
    p = pl.start("--release", "1")
    log = pl.p("logs", "1", "long.log")
    try:
        wait_for(lambda: os.path.exists(log) and "waiting for the gate" in open(log).read(),
                 "the job to run")
        p.kill()  # SIGKILL: nothing saved beyond what was already durable
        p.wait()
        open(gate, "w").close()
        rc, out = pl.run("--release", "1")
    finally:
        if p.poll() is None:
            p.kill()
        pl.cleanup()
    return rc, out, log


def case_sigkill_reattaches_without_a_second_launch():
    pl = Plan("sigkill")
    rc, out, _ = sigkill_while_running(pl, accept=False)
    check(rc == 0, f"re-run exit {rc}, want 0", out)
    check("re-attached to sky job" in out, "the re-run does not say it re-attached", out)
    check(len(pl.calls("launch")) == 1, f"{len(pl.calls('launch'))} launches, want 1", out)
    j = pl.job("long")
    check(j["outcome"] == "PASSED" and j["external_id"] == "1", f"job {j}", out)


def case_reattached_job_keeps_its_metrics_and_log():
    # After a restart the host must re-feed the log from byte 0 into fresh metrics sources
    # (DESIGN.md) and must not append a second copy of what relhost's log already holds.
    pl = Plan("reattach-metrics")
    rc, out, log = sigkill_while_running(pl, accept=True)
    j = pl.job("long")
    check("sps_max" in j["evidence"]["metrics"], "sps_max lost on re-attach (core/run/jobs.c opens "
          "no metrics sources for a re-attached job)", out)
    text = open(log).read()
    check(text.count("SPS: 31000") == 1, "relhost's copy of the log holds the job's start twice "
          "after re-attaching", text)
    check(rc == 0 and j["outcome"] == "PASSED", f"exit {rc}, job {j}", out)
    check(j["duration_s"] < 600, f"duration {j['duration_s']} s after re-attaching", out)


def in_session(sid):
    """pids of the processes of session sid."""
    found = []
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open(f"/proc/{d}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if len(fields) > 3 and fields[3] == str(sid):
            found.append(int(d))
    return found


def procs_with(*words, within=None):
    """pids of the processes whose argv holds every word (and, with within, an argument inside
    that folder: other tests use the same keys)."""
    found = []
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            argv = open(f"/proc/{d}/cmdline", "rb").read().split(b"\0")
        except OSError:
            continue
        if all(w.encode() in argv for w in words) and (
                within is None or any(a.startswith(within.encode() + b"/") for a in argv)):
            found.append(int(d))
    return found


def case_sigkill_during_launch_waits_for_it():
    pl = Plan("sigkill-launch")
    gate = pl.p("launch-gate")
    pl.write(val("v", [PY, JOB, "sps", "31000"], f'env = {{ FAKE_SKY_LAUNCH_GATE = "{gate}"; }};',
                 accept=False))
    p = pl.start("--release", "1")
    p2 = None
    try:
        wait_for(lambda: pl.calls("launch") and procs_with("launch", within=pl.dir),
                 "the launch to start")
        launch_pid = procs_with("launch", "--name", key("v"), within=pl.dir)[0]
        p.kill()  # relhost dies; `sky jobs launch` goes on, as it would
        p.wait()
        p2 = pl.start("--release", "1")
        # The new relhost must wait for that launch (find(key) cannot see the job yet).
        wait_for(lambda: procs_with("tail", f"--pid={launch_pid}"), "the re-run to wait for the "
                 "earlier launch")
        open(gate, "w").close()
        out, _ = p2.communicate(timeout=60)
        rc = p2.returncode
    finally:
        for q in (p, p2):
            if q and q.poll() is None:
                q.kill()
        pl.cleanup()
    check(rc == 0, f"re-run exit {rc}, want 0", out)
    check(len(pl.calls("launch")) == 1, f"{len(pl.calls('launch'))} launches, want 1: the "
          "re-run must wait for the launch of the relhost it replaces", out)
    check("still running" in out and "an earlier launch submitted it as job 1" in out,
          "the wait for the earlier launch is not explained", out)
    check(pl.job("v")["outcome"] == "PASSED", f"job {pl.job('v')}", out)


def case_interrupt_during_launch_relaunches_on_resume():
    pl = Plan("interrupt-launch")
    gate = pl.p("launch-gate")
    pl.write(val("v", [PY, JOB, "sps", "31000"], f'env = {{ FAKE_SKY_LAUNCH_GATE = "{gate}"; }};',
                 accept=False))
    p = pl.start("--release", "1")
    try:
        # calls.log: the fake has started its launch (a process alone may not have yet)
        wait_for(lambda: pl.calls("launch") and procs_with("launch", within=pl.dir),
                 "the launch to start")
        p.send_signal(signal.SIGINT)
        out, _ = p.communicate(timeout=30)
    finally:
        if p.poll() is None:
            p.kill()
    check(p.returncode == 130, f"exit {p.returncode}, want 130", out)
    # relhost stops what it started: no `sky jobs launch` outlives a clean exit.
    check(not procs_with("launch", within=pl.dir), "the launch outlived relhost", out)
    check(pl.fake_job(key("v")) is None, "SkyPilot got a job from a stopped launch", out)
    open(gate, "w").close()
    try:
        rc, out = pl.run("--release", "1")
    finally:
        pl.cleanup()
    check(rc == 0, f"resume exit {rc}, want 0", out)
    check(len(pl.calls("launch")) == 2 and len(pl.fake()["jobs"]) == 1,
          f"{len(pl.calls('launch'))} launches, {len(pl.fake()['jobs'])} jobs: want 2 and 1", out)


def case_old_header_parses():
    pl = Plan("oldheader")
    pl.write(val("o", [PY, JOB, "sleep", "2.5"]))
    try:
        rc, out = pl.run("--release", "1", FAKE_SKY_OLD_HEADER="1", FAKE_SKY_RECOVER="1")
    finally:
        pl.cleanup()
    check(rc == 0, f"exit {rc}, want 0", out)
    check(pl.job("o")["restarts"] == 1, "#RECOVERIES not read from the old header", out)
    queue = subprocess.run([FAKE, "jobs", "queue"], capture_output=True, text=True,
                           env=dict(pl.env, FAKE_SKY_OLD_HEADER="1")).stdout
    check("RESOURCES" in queue or "No in-progress" in queue, "the fake ignores the old header",
          queue)


def case_one_queue_per_interval_for_all_jobs():
    pl = Plan("batch")
    pl.write(",".join(val(f"v{i}", [PY, JOB, "sleep", "3"]) for i in range(4)))
    t0 = time.time()
    try:
        rc, out = pl.run("--release", "1")
    finally:
        pl.cleanup()
    elapsed = time.time() - t0
    check(rc == 0, f"exit {rc}, want 0", out)
    check(len(pl.calls("launch")) == 4, "4 launches expected", out)
    qs = [c["t"] for c in pl.calls("queue")]
    check(len(qs) >= 2, f"{len(qs)} queue calls", out)
    gaps = [b - a for a, b in zip(qs, qs[1:])]
    # poll_interval is 1 s: one queue per interval for the four jobs together, never one per job
    # (a burst of four). The fake stamps a call once Python has started: allow for its jitter.
    check(min(gaps) >= 0.5 and sum(gaps) / len(gaps) >= 0.9,
          f"queue calls closer than the 1 s poll_interval: {gaps}", out)
    check(len(qs) <= elapsed + 2, f"{len(qs)} queue calls in {elapsed:.1f} s", out)


def case_launch_failure_is_retryable():
    pl = Plan("launchfail")
    pl.write(val("smoke", [PY, JOB, "sps", "31000"]))
    try:
        rc, out = pl.run("--release", "1", FAKE_SKY_FAIL_LAUNCH="9")
    finally:
        pl.cleanup()
    j = pl.job("smoke")
    check(j["outcome"] == "ERROR" and j["retryable"] is True, f"job {j}", out)
    note = " ".join(j["evidence"]["notes"])
    check("LAUNCH_FAILED" in note and "jobs controller is not reachable" in note,
          f"the note lacks the CLI's error line: {note}", out)
    check(rc == 75, f"exit {rc}, want 75", out)
    # Retried within the run, the second launch succeeds.
    pl2 = Plan("launchfail-retry")
    pl2.write(val("smoke", [PY, JOB, "sps", "31000"], "retries = 1;"))
    try:
        rc, out = pl2.run("--release", "1", FAKE_SKY_FAIL_LAUNCH="1")
    finally:
        pl2.cleanup()
    check(rc == 0, f"retry exit {rc}, want 0", out)
    check(len(pl2.calls("launch")) == 2 and pl2.job("smoke")["attempt"] == 2,
          f"launches {len(pl2.calls('launch'))}, job {pl2.job('smoke')}", out)


def case_missing_cli_is_not_retryable():
    pl = Plan("nocli")
    pl.write(val("smoke", [PY, JOB, "sps", "31000"]), sky="/nonexistent/bin/sky")
    rc, out = pl.run("--release", "1")
    j = pl.job("smoke")
    check(j["outcome"] == "ERROR" and j["retryable"] is False and j["reason"] == "exec_failed",
          f"job {j}", out)
    check("cannot run the SkyPilot CLI" in " ".join(j["evidence"]["notes"]), f"notes {j}", out)
    check(rc == 3, f"exit {rc}, want 3", out)


def case_kill_cancels_launched_jobs():
    pl = Plan("kill")
    pl.write(val("long", [PY, JOB, "sps", "31000", pl.p("never")]))
    try:
        rc, out = pl.run("--release", "1", command="launch")
        if "unknown command" in out:
            fail("`relhost launch` does not exist yet in this build", out)
        wait_for(lambda: (pl.fake_job(key("long")) or {}).get("status") == "RUNNING",
                 "the launched job to run", out=out)
        rc2, out2 = pl.run("--release", "1", command="status")
        check(rc2 == 0 and "long" in out2 and "RUNNING" in out2,
              "relhost status does not show the job RUNNING (one poll through the runner)", out2)
        rc3, out3 = pl.run("--release", "1", command="kill")
        check(rc3 == 0, f"relhost kill exit {rc3}", out3)
        wait_for(lambda: pl.fake_job(key("long"))["status"] == "CANCELLED", "the cancel",
                 out=out3)
    finally:
        pl.cleanup()
    check(rc == 0 and "LAUNCHED" in out, f"relhost launch exit {rc}", out)
    cancels = pl.calls("cancel")
    check(len(cancels) == 1 and cancels[0]["argv"][-1] == str(pl.fake_job(key("long"))["id"]),
          f"cancel calls {cancels}", out3)


def case_task_template_is_the_base():
    pl = Plan("template")
    with open(pl.p("task.yaml"), "w") as f:
        f.write("# the team's base task\nname: base\nresources:\n  cloud: aws\n"
                "  use_spot: true\nsetup: |\n  echo setting up\nenvs:\n  FROM_TEMPLATE: yes\n"
                "run: echo never\n")
    out_file = pl.p("argv.json")
    pl.write(val("t", [PY, JOB, "argv", out_file], 'runner_args = { accelerators = "H100:8"; };'),
             runner_extra='task_template = "task.yaml";')
    try:
        rc, out = pl.run("--release", "1")
    finally:
        pl.cleanup()
    check(rc == 0, f"exit {rc}, want 0", out)
    got = json.load(open(out_file))
    check(got["env"].get("FROM_TEMPLATE") == "True" or got["env"].get("FROM_TEMPLATE") == "yes",
          f"the template's envs did not reach the job: {got}", out)
    task = pl.fake_job(key("t"))["task"]
    check(task["resources"]["cloud"] == "aws" and task["setup"] == "echo setting up\n",
          f"the template's keys are gone: {task}", out)
    check(task["name"] == key("t") and "never" not in task["run"], f"name/run kept: {task}", out)
    argv = launches(pl)[0]["argv"]
    check(argv[argv.index("--gpus") + 1] == "H100:8", f"--gpus not passed: {argv}", out)
    check(pl.fake_job(key("t"))["requested"] == "1x[H100:8]", "the fake did not see --gpus", out)


CASES = {k[5:]: v for k, v in globals().items() if k.startswith("case_")}

if __name__ == "__main__":
    if len(sys.argv) != 2 or sys.argv[1] not in CASES:
        print("usage: skypilot.py CASE; cases:", " ".join(sorted(CASES)))
        sys.exit(2)
    CASES[sys.argv[1]]()
    print("ok")
