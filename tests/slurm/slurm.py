#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""End-to-end tests of runner_slurm through the real relhost binary.

Cases named real_* run against a real single-node Slurm 22.05 cluster on 127.0.0.1 started for
the case by cluster.py (munged, slurmctld, slurmd; stopped at the end whatever happens). When the
daemons cannot start here, such a case prints "SKIPPED: slurm daemons did not start: <reason>"
and exits 77, which ctest reports as skipped: never as passed.

Cases named fake_* drive the same runner with tests/slurm/fake_slurm.py in place of the Slurm
tools, for the end states a one-node cluster cannot produce; they run everywhere.

Counting is done through side effects, never through relhost's own word: shims first on PATH
append one line per sbatch / squeue / scontrol / scancel call before exec'ing the real tool.
"""
import contextlib
import json
import os
import re
import shlex
import shutil
import signal
import stat
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "support"))
sys.path.insert(0, HERE)
import cluster  # noqa: E402
import rh  # noqa: E402

PY = sys.executable
JOB = os.path.join(HERE, "job.py")
FAKE = os.path.join(HERE, "fake_slurm.py")
TOOLS = ("sbatch", "squeue", "scontrol", "scancel")
TOKEN = "rh-test-Token-5f3a9c1e77"       # handed to jobs through pass_env
UNLISTED = "rh-unlisted-Secret-0b1d2e3f"  # in relhost's environment, never handed over


# ---- the cluster and the counting shims ---------------------------------------------------------

@contextlib.contextmanager
def slurm(**kw):
    c = cluster.Cluster(**kw)
    try:
        c.start()
    except cluster.NotStarted as e:
        c.stop()
        msg = cluster.skip_message(e)
        print(msg, flush=True)
        raise rh.Skip(msg) from None
    try:
        yield c
    finally:
        c.stop()


def counting_shims(folder, kill_after_sbatch=False):
    """folder/bin/{sbatch,...}: log "<time> <args>" to folder/calls.<tool>, exec the real one.
    kill_after_sbatch: sbatch SIGKILLs its caller (relhost) once the real one answered."""
    b = os.path.join(folder, "bin")
    os.makedirs(b, exist_ok=True)
    for t in TOOLS:
        real = shutil.which(t, path="/usr/bin:/bin:/usr/sbin:/sbin")
        rh.check(real is not None, f"{t} is not installed")
        log = shlex.quote(os.path.join(folder, "calls." + t))
        run_it = f'exec {shlex.quote(real)} "$@"\n'
        if kill_after_sbatch and t == "sbatch":
            run_it = f'{shlex.quote(real)} "$@"\nrc=$?\nkill -9 $PPID\nexit $rc\n'
        path = os.path.join(b, t)
        if os.path.exists(path):
            os.unlink(path)
        rh.write(path, f'#!/bin/sh\necho "$(date +%s.%N) $*" >> {log}\n' + run_it, mode=0o755)
    return b


def fake_tools(folder):
    """folder/bin/{sbatch,...} -> fake_slurm.py, its state in folder/fake."""
    b = os.path.join(folder, "bin")
    os.makedirs(b, exist_ok=True)
    os.makedirs(os.path.join(folder, "fake"), exist_ok=True)
    for t in TOOLS:
        os.symlink(FAKE, os.path.join(b, t))
    return b


def calls(folder, tool):
    p = os.path.join(folder, "calls." + tool)
    if not os.path.exists(p):
        return []
    with open(p) as f:
        return [line.split(" ", 1) for line in f.read().splitlines()]


def fake_calls(folder, tool):
    p = os.path.join(folder, "fake", "calls.log")
    if not os.path.exists(p):
        return []
    with open(p) as f:
        return [c[1:] for c in map(json.loads, f.read().splitlines()) if c[0] == tool]


def env_for(c, folder, bindir, extra=None):
    """relhost's environment: the shims first on PATH, the cluster's SLURM_CONF, a token that a
    validation hands over with pass_env and one nobody hands over."""
    e = {"PATH": bindir + ":" + os.environ.get("PATH", "/usr/bin:/bin"),
         "RH_TEST_TOKEN": TOKEN, "RH_TEST_UNLISTED": UNLISTED}
    if c is not None:
        e["SLURM_CONF"] = c.conf
    else:
        e["SLURM_FAKE_DIR"] = os.path.join(folder, "fake")
        e["SLURM_CONF"] = None
    e.update(extra or {})
    return e


# ---- plans ------------------------------------------------------------------------------------

def val(name, argv, extra="", timeout=120):
    cmd = ", ".join(json.dumps(a) for a in argv)
    return f'{{ name = "{name}"; cmd = [{cmd}]; timeout_s = {timeout}; {extra} }}'


def plan(folder, validations, runner="", poll="1s", top=""):
    return rh.write_plan(folder, f"""
state_dir = "state"; log_dir = "logs";
{top}
runners = {{ slurm = {{ plugin = "runner_slurm"; partition = "debug"; poll_interval = "{poll}";
                        {runner} }}; }};
metrics = {{ logs = {{ plugin = "metrics_regex"; }}; }};
steps = (
  {{ name = "tests"; plugin = "workflow"; metrics = ["logs"]; runner = "slurm";
     validations = ( {", ".join(validations)} ); }}
);
""")


def state(folder, version):
    with open(os.path.join(folder, "state", f"release_{version}.json")) as f:
        return json.load(f)


def job_of(folder, version, name):
    return state(folder, version)["jobs"]["tests/" + name]


def run(args, env, cwd, timeout=rh.TIMEOUT):
    """rh.run, and no sanitizer report (an ASan build exits 1 or 23, which a case expecting a
    failure could mistake for relhost's own answer)."""
    r = rh.run(args, env=env, cwd=cwd, timeout=timeout)
    rh.check(not re.search(r"Sanitizer|runtime error:", r.all), "sanitizer report", r)
    return r


def start(args, env):
    return subprocess.Popen([rh.relhost_bin()] + list(args), env=rh.base_env(env),
                            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)


def wait_for(pred, what, timeout=30.0, proc=None):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if pred():
            return
        if proc is not None and proc.poll() is not None:
            rh.fail(f"relhost exited ({proc.returncode}) while waiting for {what}:\n"
                    f"{proc.stdout.read()}")
        time.sleep(0.1)
    rh.fail(f"timed out after {timeout:.0f} s waiting for {what}")


def squeue_jobs(c):
    """{job name: (id, state)} of every job the cluster knows."""
    r = subprocess.run(["squeue", "-h", "-t", "all", "-o", "%i|%T|%j"], env=c.env(),
                       capture_output=True, text=True, timeout=30)
    rh.check(r.returncode == 0, f"squeue failed: {r.stderr}")
    out = {}
    for line in r.stdout.splitlines():
        jid, st, name = line.split("|", 2)
        out.setdefault(name, []).append((jid, st))
    return out


def slurm_state(c, name):
    jobs = squeue_jobs(c).get(name, [])
    return jobs[-1][1] if jobs else None


def metric(job, key):
    m = job["evidence"]["metrics"].get(key)
    return m["value"] if m else None


def expect_job(job, outcome, reason=None, exit_code="any", res=None):
    got = (job.get("outcome"), job.get("reason"))
    rh.check(got == (outcome, reason), f"job {job['validation']}: outcome/reason {got}, "
             f"want {(outcome, reason)}; notes {job['evidence'].get('notes')}", res)
    if exit_code != "any":
        rh.check(job.get("exit_code") == exit_code,
                 f"job {job['validation']}: exit_code {job.get('exit_code')}, want {exit_code}",
                 res)


# ---- real cluster -----------------------------------------------------------------------------

def case_real_pass_reads_metrics_from_the_slurm_output():
    d = rh.scratch()
    with slurm() as c:
        b = counting_shims(d)
        p = plan(d, [val("train", [PY, JOB, "metrics"],
                         'acceptance = ( ("sps_max", ">=", 30000.0) );')])
        r = run(["-c", p, "--release", "1", "--no-color"], env=env_for(c, d, b), cwd=d)
        rh.expect(r, 0, out=[r"PASSED\s+tests", r"sps_max = 87750"])
        job = job_of(d, "1", "train")
        expect_job(job, "PASSED", None, 0, r)
        rh.check(metric(job, "sps_max") == 87750.0, f"sps_max {metric(job, 'sps_max')}", r)
        rh.check(re.fullmatch(r"\d+", job["external_id"] or ""), f"id {job['external_id']}", r)
        # Slurm itself wrote the log relhost read, under the job's idempotency key.
        rh.check(squeue_jobs(c).get("rh-1-train-a1") == [(job["external_id"], "COMPLETED")],
                 f"squeue: {squeue_jobs(c)}", r)
        sc = subprocess.run(["scontrol", "show", "job", "-o", job["external_id"]], env=c.env(),
                            capture_output=True, text=True).stdout
        rh.check(f"StdOut={job['log_path']} " in sc, f"Slurm's StdOut is not the log: {sc}", r)
        rh.check("87,750 SPS" in rh.read(job["log_path"]), "the log lacks the job's output", r)
        rh.check(len(calls(d, "sbatch")) == 1, f"sbatch calls: {calls(d, 'sbatch')}", r)


def case_real_exit_code_fails():
    d = rh.scratch()
    with slurm() as c:
        b = counting_shims(d)
        p = plan(d, [val("broken", [PY, JOB, "exit", "3"])])
        r = run(["-c", p, "--release", "1", "--no-color"], env=env_for(c, d, b), cwd=d)
        rh.expect(r, 1, out=[r"FAILED\s+tests", r"exited with 3", r"about to exit with 3"])
        job = job_of(d, "1", "broken")
        expect_job(job, "FAILED", "exit_code", 3, r)
        rh.check(slurm_state(c, "rh-1-broken-a1") == "FAILED", "Slurm disagrees", r)


def case_real_environment_and_secrets():
    d = rh.scratch()
    weird = "it's \"quoted\" $(touch /tmp/rh-pwned) `id` $HOME \\ back\nslash; *"
    out = os.path.join(d, "env.json")
    work = os.path.join(d, "work dir")
    os.mkdir(work)
    with slurm() as c:
        b = counting_shims(d)
        names = ["WEIRD", "RH_TEST_TOKEN", "RH_TEST_UNLISTED", "RELHOST_JOB", "SLURM_JOB_ID"]
        p = plan(d, [val("env", [PY, JOB, "env", out] + names,
                         f'env = {{ WEIRD = {json.dumps(weird)}; }}; '
                         f'pass_env = ["RH_TEST_TOKEN"]; cwd = {json.dumps(work)};')])
        r = run(["-c", p, "--release", "1", "--no-color", "-v"], env=env_for(c, d, b), cwd=d)
        rh.expect(r, 0, not_any=[re.escape(TOKEN), re.escape(UNLISTED)])
        got = json.loads(rh.read(out))
        rh.check(got["WEIRD"] == weird, f"WEIRD arrived as {got['WEIRD']!r}", r)
        rh.check(got["RH_TEST_TOKEN"] == TOKEN, "the pass_env token did not reach the job", r)
        rh.check(got["RH_TEST_UNLISTED"] is None,
                 "a variable nobody handed over reached the job (sbatch --export of all of "
                 "relhost's environment)", r)
        rh.check(got["RELHOST_JOB"] == "rh-1-env-a1", f"RELHOST_JOB {got['RELHOST_JOB']}", r)
        rh.check(got["SLURM_JOB_ID"] == job_of(d, "1", "env")["external_id"], "not Slurm's", r)
        rh.check(got["__cwd__"] == work, f"the job ran in {got['__cwd__']}, want {work}", r)
        rh.check(not os.path.exists("/tmp/rh-pwned"), "a value was run by the shell", r)
        script = job_of(d, "1", "env")["log_path"] + ".sbatch"
        mode = stat.S_IMODE(os.stat(script).st_mode)
        rh.check(mode == 0o700, f"batch script mode {mode:o}, want 700", r)
        text = rh.read(script)
        rh.check(TOKEN not in text and UNLISTED not in text, "a secret is in the script", r)
        rh.check("export WEIRD=" in text, "the plan's env is not in the script", r)
        for t in TOOLS:
            for _, args in calls(d, t):
                rh.check(TOKEN not in args, f"the token is in the argv of {t}: {args}", r)
        sc = subprocess.run(["scontrol", "show", "job", "-o"], env=c.env(), capture_output=True,
                            text=True).stdout
        rh.check(TOKEN not in sc, "the token shows in scontrol show job", r)


def case_real_host_deadline_cancels_the_job():
    d = rh.scratch()
    with slurm() as c:
        b = counting_shims(d)
        # relhost's deadline is timeout_s plus its own 30 s slack; Slurm's --time is
        # ceil((2 s + time_slack 2m) / 60) = 3 minutes, so relhost's deadline comes first.
        p = plan(d, [val("hang", [PY, JOB, "sleep", "600"], timeout=2)])
        r = run(["-c", p, "--release", "1", "--no-color"], env_for(c, d, b), d,
                timeout=120)
        rh.expect(r, 1, out=[r"FAILED\s+tests", r"timeout"])
        expect_job(job_of(d, "1", "hang"), "FAILED", "timeout", 124, r)
        argv = calls(d, "sbatch")[0][1]
        rh.check("--time=3 " in argv, f"sbatch argv {argv}", r)
        wait_for(lambda: slurm_state(c, "rh-1-hang-a1") == "CANCELLED", "scancel to land", 20)
        rh.check(len(calls(d, "scancel")) >= 1, "no scancel", r)


def case_real_slurm_time_limit_while_relhost_is_down():
    """relhost is SIGKILLed; Slurm's own --time ends the job (TIMEOUT); the next run re-attaches
    without a second sbatch and records FAILED timeout with exit code 124. Takes 1-2 minutes:
    Slurm's smallest limit is one minute and it checks limits every 30 s."""
    d = rh.scratch()
    with slurm() as c:
        b = counting_shims(d)
        env = env_for(c, d, b)
        p = plan(d, [val("slow", [PY, JOB, "sleep", "600"], timeout=30)],
                 runner='time_slack = "0s";')
        proc = start(["-c", p, "--release", "1", "--no-color"], env)
        wait_for(lambda: slurm_state(c, "rh-1-slow-a1") == "RUNNING", "the job to run", 30, proc)
        proc.kill()
        proc.wait()
        proc.stdout.close()
        rh.check("--time=1 " in calls(d, "sbatch")[0][1], f"argv {calls(d, 'sbatch')}")
        wait_for(lambda: slurm_state(c, "rh-1-slow-a1") == "TIMEOUT", "Slurm's TIMEOUT", 150)
        r = run(["-c", p, "--release", "1", "--no-color"], env=env, cwd=d)
        rh.expect(r, 1, out=[r"FAILED\s+tests"], any=[r"re-attached"])
        job = job_of(d, "1", "slow")
        expect_job(job, "FAILED", "timeout", 124, r)
        rh.check(len(calls(d, "sbatch")) == 1, f"sbatch ran {len(calls(d, 'sbatch'))} times", r)


def sigkill_and_rerun(d, c, acceptance):
    """Start relhost on one waiting job, SIGKILL it once the job runs, let the job finish, run
    relhost again: (result of the second run, its state record of the job)."""
    flag = os.path.join(d, "go")
    b = counting_shims(d)
    env = env_for(c, d, b)
    p = plan(d, [val("long", [PY, JOB, "wait", flag], acceptance)])
    proc = start(["-c", p, "--release", "1", "--no-color"], env)
    log = os.path.join(d, "logs", "1", "long.log")
    wait_for(lambda: os.path.exists(log) and "waiting" in rh.read(log), "the job to run", 30, proc)
    proc.kill()  # SIGKILL: nothing is saved beyond what was already durable
    proc.wait()
    proc.stdout.close()
    rh.check(slurm_state(c, "rh-1-long-a1") == "RUNNING", "the job died with relhost")
    open(flag, "w").close()
    r = run(["-c", p, "--release", "1", "--no-color"], env=env, cwd=d)
    rh.check("re-attached to slurm job" in r.all, "the second run did not re-attach", r)
    rh.check(len(calls(d, "sbatch")) == 1, f"sbatch ran {len(calls(d, 'sbatch'))} times", r)
    rh.check(len(squeue_jobs(c)["rh-1-long-a1"]) == 1, f"{squeue_jobs(c)}", r)
    return r, job_of(d, "1", "long")


def case_real_sigkill_reattaches_without_a_second_sbatch():
    d = rh.scratch()
    with slurm() as c:
        r, job = sigkill_and_rerun(d, c, "")
        rh.expect(r, 0, out=[r"PASSED\s+tests"])
        expect_job(job, "PASSED", None, 0, r)


def case_real_reattached_job_is_fed_to_metrics():
    """After a restart the host re-reads the job's log from byte 0 into fresh metrics sources
    (DESIGN: sources keep nothing durable); the result's duration is a duration."""
    d = rh.scratch()
    with slurm() as c:
        r, job = sigkill_and_rerun(d, c, 'acceptance = ( ("sps_max", ">=", 30000.0) );')
        rh.check(metric(job, "sps_max") == 87750.0,
                 f"metrics were not read after re-attach: {job['evidence']}", r)
        expect_job(job, "PASSED", None, 0, r)
        rh.check(0 <= job.get("duration_s", -1) < 3600, f"duration_s {job.get('duration_s')}", r)


def case_real_crash_around_sbatch_submits_once():
    """A crash after sbatch answered but before its id was recorded: the next run finds the job
    by its key (squeue -n) instead of submitting it again. A crash before sbatch: find says
    not found, and the job is submitted exactly once."""
    d = rh.scratch()
    with slurm() as c:
        b = counting_shims(d)
        env = env_for(c, d, b)
        p = plan(d, [val("a", [PY, JOB, "metrics"]), val("b", [PY, JOB, "metrics"])],
                 runner="arrays = false;")
        r = run(["-c", p, "--release", "1", "--no-color"],
                   env=dict(env, RELHOST_CRASH_AT="jobs.after_submit"), cwd=d)
        rh.check(r.rc != 0 and "dying at jobs.after_submit" in r.err, "no crash", r)
        rh.check(len(calls(d, "sbatch")) == 1, f"sbatch calls {calls(d, 'sbatch')}", r)
        r = run(["-c", p, "--release", "1", "--no-color"],
                   env=dict(env, RELHOST_CRASH_AT="jobs.before_submit"), cwd=d)
        rh.check(r.rc != 0 and "dying at jobs.before_submit" in r.err, "no crash", r)
        rh.check(len(calls(d, "sbatch")) == 1, f"sbatch calls {calls(d, 'sbatch')}", r)
        r = run(["-c", p, "--release", "1", "--no-color"], env=env, cwd=d)
        rh.expect(r, 0, out=[r"PASSED\s+tests"])
        names = [re.search(r"--job-name=(\S+)", a).group(1) for _, a in calls(d, "sbatch")]
        rh.check(sorted(names) == ["rh-1-a-a1", "rh-1-b-a1"], f"sbatch calls {names}", r)
        jobs = squeue_jobs(c)
        rh.check(len(jobs["rh-1-a-a1"]) == 1 and len(jobs["rh-1-b-a1"]) == 1, f"{jobs}", r)
        rh.check(any(f"-n rh-1-" in a for _, a in calls(d, "squeue")), "find(key) never ran", r)


def case_real_one_squeue_per_poll_interval():
    d = rh.scratch()
    with slurm() as c:
        b = counting_shims(d)
        p = plan(d, [val(f"j{i}", [PY, JOB, "sleep", "5"],
                         'acceptance = ( ("sps_max", ">=", 30000.0) );') for i in range(4)])
        t0 = time.monotonic()
        r = run(["-c", p, "--release", "1", "--no-color"], env=env_for(c, d, b), cwd=d)
        wall = time.monotonic() - t0
        rh.expect(r, 0, out=[r"PASSED\s+tests"])
        polls = [a for _, a in calls(d, "squeue") if "--me" in a.split()]
        # poll_interval 1 s: about one squeue per second for all four jobs, never one per job,
        # selecting the user's jobs rather than listing ids.
        rh.check(len(polls) <= wall + 2, f"{len(polls)} squeue calls in {wall:.1f} s: "
                 f"{polls}", r)
        rh.check(len(polls) >= 3, f"only {len(polls)} squeue calls in {wall:.1f} s", r)
        rh.check(not any(" -j " in f" {a} " for a in polls), f"ids listed: {polls}", r)
        ends = calls(d, "scontrol")
        rh.check(1 <= len(ends) <= len(polls),
                 f"at most one scontrol per poll expected, got {ends}", r)


def case_real_1200_tasks_as_arrays_under_ulimit_1024():
    """1,200 validations of `true` on the real cluster under `ulimit -n 1024` (once: INTERRUPTED
    with "Too many open files", a descriptor held per submitted job): all pass, submitted as job
    arrays (a handful of sbatch calls, not 1,200), with one squeue per poll interval and at most
    one scontrol per poll (besides the one `scontrol show config`)."""
    d = rh.scratch()
    n = 1200
    with slurm(cpus=64) as c:
        b = counting_shims(d)
        # all at once (the remote default max_parallel is 1000): ONE array of 1,200 tasks
        p = plan(d, [val(f"t{i}", ["true"], timeout=600) for i in range(n)],
                 runner=f"max_parallel = {n};")
        t0 = time.monotonic()
        r = run_limited(["-c", p, "--release", "1", "--no-color", "-q"], env_for(c, d, b), d,
                        1024, timeout=580)
        wall = time.monotonic() - t0
        rh.expect(r, 0, not_any=[r"Too many open files", r"INTERRUPTED", r"no job arrays"])
        jobs = state(d, "1")["jobs"]
        bad = [k for k, j in jobs.items() if j.get("outcome") != "PASSED"]
        rh.check(len(jobs) == n and not bad, f"{len(jobs)} jobs, not passed: {bad[:5]}", r)
        sb = calls(d, "sbatch")
        rh.check(len(sb) == 1 and all(f"--array=0-{n - 1}" in a for _, a in sb),
                 f"{len(sb)} sbatch calls: {[a[:120] for _, a in sb[:3]]}", r)
        tasks = [j["external_id"] for j in jobs.values()]
        rh.check(all(re.fullmatch(r"\d+_\d+", t) for t in tasks), f"ids {tasks[:5]}", r)
        polls = [a for _, a in calls(d, "squeue") if "--me" in a.split()]
        rh.check(len(polls) <= wall + 2, f"{len(polls)} polls in {wall:.0f} s", r)
        ends = [a for _, a in calls(d, "scontrol") if not a.startswith("show config")]
        rh.check(len(ends) <= len(polls), f"{len(ends)} scontrol for {len(polls)} polls", r)
        print(f"1,200 tasks: {wall:.0f} s, {len(sb)} sbatch, {len(polls)} polls, "
              f"{len(ends)} scontrol calls")


def case_real_array_reattach_by_key_and_task_exit_codes():
    """relhost SIGKILLed as soon as sbatch accepted the array (no task id recorded yet): the
    array runs on, the next run finds each task by its key and submits nothing again; the task
    that exits 3 fails alone."""
    d = rh.scratch()
    flag = os.path.join(d, "go")
    with slurm() as c:
        env = env_for(c, d, counting_shims(d, kill_after_sbatch=True))
        p = plan(d, [val(f"w{i}", [PY, JOB, "wait", flag]) for i in range(3)] +
                 [val("bad", [PY, JOB, "exit", "3"])])
        r = run(["-c", p, "--release", "1", "--no-color"], env=env, cwd=d)
        rh.check(r.rc == -9, f"relhost was not killed after sbatch: exit {r.rc}", r)
        sb = calls(d, "sbatch")
        rh.check(len(sb) == 1 and "--array=0-3" in sb[0][1], f"sbatch calls {sb}", r)
        counting_shims(d)
        open(flag, "w").close()
        r = run(["-c", p, "--release", "1", "--no-color"], env=env, cwd=d)
        rh.expect(r, 1, out=[r"FAILED\s+tests"])
        rh.check(r.all.count("re-attached to slurm job") == 4, "not every task re-attached", r)
        rh.check(len(calls(d, "sbatch")) == 1, f"sbatch calls {calls(d, 'sbatch')}", r)
        for i in range(3):
            job = job_of(d, "1", f"w{i}")
            expect_job(job, "PASSED", None, 0, r)
            rh.check("environment" in rh.read(job["log_path"]) or
                     "waiting" in rh.read(job["log_path"]), f"w{i}: its log is empty", r)
        expect_job(job_of(d, "1", "bad"), "FAILED", "exit_code", 3, r)


def case_real_interrupt_detaches_then_kill_cancels():
    """The first SIGINT leaves the Slurm job running (re-attachable) and prints the command that
    cancels it; `relhost kill -c PLAN --release V` then cancels it."""
    d = rh.scratch()
    flag = os.path.join(d, "never")
    with slurm() as c:
        b = counting_shims(d)
        env = env_for(c, d, b)
        p = plan(d, [val("long", [PY, JOB, "wait", flag])])
        proc = start(["-c", p, "--release", "1", "--no-color"], env)
        wait_for(lambda: slurm_state(c, "rh-1-long-a1") == "RUNNING", "the job to run", 30, proc)
        proc.send_signal(signal.SIGINT)
        try:
            out, _ = proc.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            rh.fail("relhost did not stop within 30 s of SIGINT")
        rh.check(proc.returncode == 130, f"exit {proc.returncode}, want 130\n{out}")
        rh.check("relhost kill -c" in out, f"no `relhost kill -c PLAN` hint:\n{out}")
        rh.check(slurm_state(c, "rh-1-long-a1") == "RUNNING", "the first SIGINT cancelled it")
        r = run(["kill", "-c", p, "--release", "1", "--no-color"], env=env, cwd=d)
        rh.expect(r, 0)
        wait_for(lambda: slurm_state(c, "rh-1-long-a1") == "CANCELLED", "the job to be cancelled",
                 20)
        rh.check(len(calls(d, "sbatch")) == 1, f"sbatch calls {calls(d, 'sbatch')}", r)


def case_real_launch_status_kill():
    """`relhost launch` submits and returns; `status` shows the job; `kill` cancels it."""
    d = rh.scratch()
    flag = os.path.join(d, "never")
    with slurm() as c:
        b = counting_shims(d)
        env = env_for(c, d, b)
        p = plan(d, [val("long", [PY, JOB, "wait", flag])])
        r = run(["launch", "-c", p, "--release", "1", "--no-color"], env=env, cwd=d)
        rh.expect(r, 0)
        rh.check(len(calls(d, "sbatch")) == 1, f"sbatch calls {calls(d, 'sbatch')}", r)
        rh.check(slurm_state(c, "rh-1-long-a1") in ("PENDING", "RUNNING"),
                 f"launched job: {squeue_jobs(c)}", r)
        r = run(["status", "-c", p, "--release", "1", "--no-color"], env=env, cwd=d)
        # The engine's own word comes from runner_slurm's poll.
        rh.expect(r, 0, out=[r"^\s*long\s.*(PENDING|RUNNING)"])
        r = run(["kill", "-c", p, "--release", "1", "--no-color"], env=env, cwd=d)
        rh.expect(r, 0)
        wait_for(lambda: slurm_state(c, "rh-1-long-a1") == "CANCELLED", "the job to be cancelled",
                 20)
        rh.check(len(calls(d, "sbatch")) == 1, f"sbatch calls {calls(d, 'sbatch')}", r)


def case_real_stable_plan_launch_status_kill():
    """The real plan, etc/stable.cfg, pointed at the test cluster with --set: launch submits the
    Slurm cells of its cluster matrix, status shows them, kill cancels them."""
    d = rh.scratch()
    stable = os.path.join(rh.source_dir(), "etc", "stable.cfg")
    with slurm() as c:
        b = counting_shims(d)
        env = env_for(c, d, b)
        sets = ["--set", f"state_dir={d}/state", "--set", f"log_dir={d}/logs",
                "--set", "runners.slurm.partition=debug", "--set", "runners.slurm.poll_interval=1s",
                "--profile", "cluster", "--only", "cluster.1n.*"]
        try:
            r = run(["launch", "-c", stable, "--release", "st1", "--no-color"] + sets, env=env,
                    cwd=d)
            rh.expect(r, 0, out=[r"LAUNCHED"])
            sb = calls(d, "sbatch")
            # the four cells share a submission shape: one job array of four tasks
            rh.check(len(sb) == 1 and "--array=0-3" in sb[0][1],
                     f"4 cells of cluster.1n.* launched as one array, sbatch calls: {sb}", r)
            r = run(["status", "-c", stable, "--release", "st1", "--no-color"] + sets[:8], env=env,
                    cwd=d)
            rh.expect(r, 0, out=[r"^\s*cluster\.1n\.normal\s", r"^\s*cluster\.1n\.cmd_fails\s"])
            r = run(["kill", "-c", stable, "--release", "st1", "--no-color"] + sets[:8], env=env,
                    cwd=d)
            rh.expect(r, 0, out=[r"release st1: \d+ cancelled"])
            rh.check(len(calls(d, "sbatch")) == 1, "kill submitted something", r)
        finally:
            # the plan checks the candidate out in a worktree of this repository: remove it
            subprocess.run(["git", "-C", rh.source_dir(), "worktree", "remove", "--force",
                            os.path.join(d, "state", "worktrees", "st1")],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            subprocess.run(["git", "-C", rh.source_dir(), "worktree", "prune"],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


# ---- fake Slurm tools -------------------------------------------------------------------------

def fake_run(d, validations, version="1", runner="", top="", args=()):
    b = fake_tools(d)
    p = plan(d, validations, runner=runner, poll="0.1s", top=top)
    r = run(["-c", p, "--release", version, "--no-color"] + list(args),
               env=env_for(None, d, b), cwd=d)
    return p, r


def ended(name, end, extra=""):
    return val(name, [PY, JOB, "metrics"], f'env = {{ FAKE_END = "{end}"; {extra} }};')


def case_fake_end_states_map_to_outcomes():
    end_states(rh.scratch())


def case_fake_isolated_runner_maps_the_same_end_states():
    """runner_slurm in a process of its own (isolate = true): the same outcomes, restarts and
    notes through the proxied submit and poll, and still one squeue for all jobs per poll."""
    end_states(rh.scratch(), runner="isolate = true;")


def case_fake_isolated_launch_status_kill():
    """`relhost launch`, `status` and `kill` with an isolated runner_slurm: status polls the
    engine through the runner's process, kill cancels through it."""
    d = rh.scratch()
    b = fake_tools(d)
    env = env_for(None, d, b)
    p = plan(d, [val("long", [PY, JOB, "metrics"], 'env = { FAKE_END = "COMPLETED 0:0 0"; };'),
                 val("long2", [PY, JOB, "metrics"], 'env = { FAKE_END = "COMPLETED 0:0 0"; };')],
             runner="isolate = true;", poll="0.1s")
    r = run(["launch", "-c", p, "--release", "1", "--no-color"], env=env, cwd=d)
    rh.expect(r, 0)
    sb = fake_calls(d, "sbatch")
    # one job array for both: submit queues them in the runner's process, its poll sends them
    rh.check(len(sb) == 1 and "--array=0-1" in sb[0], f"sbatch calls {sb}", r)
    looks = len(fake_calls(d, "squeue"))
    r = run(["status", "-c", p, "--release", "1", "--no-color"], env=env, cwd=d)
    rh.expect(r, 0, out=[r"^\s*long\s.*(PENDING|RUNNING)"])
    rh.check(len(fake_calls(d, "squeue")) == looks + 1, "status polled the engine once", r)
    r = run(["kill", "-c", p, "--release", "1", "--no-color"], env=env, cwd=d)
    rh.expect(r, 0, out=[r"long +cancelled", r"long2 +cancelled"])
    # both in one scancel: cancel_many goes through the runner's process too
    rh.check(len(fake_calls(d, "scancel")) == 1, f"scancel calls {fake_calls(d, 'scancel')}", r)


def end_states(d, runner=""):
    cases = [  # name, FAKE_END, outcome, reason, exit_code, restarts
        ("completed", "COMPLETED 0:0 2", "PASSED", None, 0, 2),
        ("failed3", "FAILED 3:0 0", "FAILED", "exit_code", 3, 0),
        ("killed", "FAILED 0:9 0", "FAILED", "signal", None, 0),
        ("timeout", "TIMEOUT 0:15 0", "FAILED", "timeout", 124, 0),
        ("deadline", "DEADLINE 0:0 0", "FAILED", "timeout", 124, 0),
        ("cancelled", "CANCELLED 0:15 0", "FAILED", "cancelled", None, 0),
        ("oom", "OUT_OF_MEMORY 0:125 0", "FAILED", "signal", None, 0),
        ("nodefail", "NODE_FAIL 0:0 1", "ERROR", "infra", None, 1),
        ("preempted", "PREEMPTED 0:0 0", "ERROR", "infra", None, 0),
        ("bootfail", "BOOT_FAIL 0:0 0", "ERROR", "infra", None, 0),
        ("nocode", "FAILED 0:0 0", "ERROR", "infra", None, 0),
        ("notfound", "FAILED 127:0 0", "ERROR", "exec_failed", 127, 0),
    ]
    vals = [ended(n, e) for n, e, *_ in cases]
    vals.append(val("gone", [PY, JOB, "metrics"], 'env = { FAKE_GONE = "1"; };'))
    _, r = fake_run(d, vals, runner=runner)
    rh.expect(r, 1, out=[r"FAILED\s+tests", r"ended on slurm as NODE_FAIL: NodeDown",
                         r"killed by signal 9"])
    for name, _, outcome, reason, code, restarts in cases:
        job = job_of(d, "1", name)
        expect_job(job, outcome, reason, "any", r)
        if code is not None:
            rh.check(job["exit_code"] == code, f"{name}: exit_code {job['exit_code']}", r)
        rh.check(job["restarts"] == restarts, f"{name}: restarts {job['restarts']}", r)
        rh.check(job["retryable"] == (outcome == "ERROR" and reason == "infra"),
                 f"{name}: retryable {job['retryable']}", r)
    gone = job_of(d, "1", "gone")
    expect_job(gone, "ERROR", "infra", "any", r)
    rh.check(any("no longer lists job" in n for n in gone["evidence"]["notes"]),
             f"{gone['evidence']}", r)
    for name in ("nodefail", "cancelled", "gone"):
        rh.check(job_of(d, "1", name)["exit_code"] is None,
                 f"{name}: Slurm's 0:0 is no exit code: {job_of(d, '1', name)['exit_code']}", r)
    # One squeue per poll for all jobs, selected without an argument that grows with them, and
    # at most one job-end query (scontrol) per poll, never one per ended job.
    polls = fake_calls(d, "squeue")
    rh.check(polls and all("--me" in a and "-j" not in a for a in polls),
             f"polls must select the user's jobs (--me), not list ids: {polls[:2]}", r)
    ends = fake_calls(d, "scontrol")
    rh.check(0 < len(ends) <= len(polls), f"{len(ends)} scontrol calls for {len(polls)} polls: "
             f"{ends}", r)


def run_limited(args, env, cwd, nofile, timeout=rh.TIMEOUT):
    """relhost under `ulimit -n nofile` (set in the child before exec, never through a shell)."""
    import resource

    def limit():
        resource.setrlimit(resource.RLIMIT_NOFILE, (nofile, nofile))
    argv = [rh.relhost_bin()] + list(args)
    p = subprocess.run(argv, cwd=cwd, env=rh.base_env(env), stdin=subprocess.DEVNULL,
                       capture_output=True, timeout=timeout, preexec_fn=limit)
    return rh.Result(argv, cwd, p.returncode, rh._dec(p.stdout), rh._dec(p.stderr))


def case_fake_many_running_jobs_under_a_low_descriptor_limit():
    """80 Slurm jobs running at once under `ulimit -n 48`: a remote job's log is open only while
    it is read, so relhost holds no descriptor per submitted job."""
    d = rh.scratch()
    n = 80
    b = fake_tools(d)
    p = plan(d, [ended(f"j{i}", "COMPLETED 0:0 0", f'FAKE_HOLD = "{n}";') for i in range(n)],
             runner=f"max_parallel = {n}; arrays = false;", poll="0.1s")
    r = run_limited(["-c", p, "--release", "1", "--no-color"], env_for(None, d, b), d, 48,
                    timeout=300)
    rh.expect(r, 0, out=[r"PASSED\s+tests"], not_any=[r"Too many open files"])
    for i in range(n):
        expect_job(job_of(d, "1", f"j{i}"), "PASSED", None, 0, r)
    rh.check(len(fake_calls(d, "sbatch")) == n, "one sbatch per job", r)


def case_fake_default_parallelism_is_a_cluster_users():
    """Without max_parallel a Slurm runner submits more than a handful of jobs at once: 12 jobs
    that each run until all 12 were submitted all pass."""
    d = rh.scratch()
    vals = [ended(f"j{i}", "COMPLETED 0:0 0", 'FAKE_HOLD = "12";') for i in range(12)]
    vals = [v.replace("timeout_s = 120", "timeout_s = 20") for v in vals]
    _, r = fake_run(d, vals, runner="arrays = false;")
    rh.expect(r, 0, out=[r"PASSED\s+tests"])
    rh.check(len(fake_calls(d, "sbatch")) == 12, "one sbatch per job", r)


def case_fake_timeout_counts_from_the_start_not_the_queue():
    """timeout_s = 1 for a job that waits 33 s in the queue (past timeout_s and the host's 30 s
    slack) and then runs briefly: it passes, its time limit counts from its start."""
    d = rh.scratch()
    _, r = fake_run(d, [ended("queued", "COMPLETED 0:0 0", 'FAKE_PEND_S = "33";')
                        .replace("timeout_s = 120", "timeout_s = 1")])
    rh.expect(r, 0, out=[r"PASSED\s+tests"])
    expect_job(job_of(d, "1", "queued"), "PASSED", None, 0, r)
    rh.check(not fake_calls(d, "scancel"), "a queued job was cancelled", r)


def case_fake_queue_timeout_cancels_a_job_that_never_starts():
    """A job still pending after the runner's queue_timeout is cancelled: a tool error (nothing
    was tested), never a verdict, and the note names queue_timeout."""
    d = rh.scratch()
    _, r = fake_run(d, [ended("stuck", "COMPLETED 0:0 0", 'FAKE_PEND_S = "1000";')],
                    runner='queue_timeout = "2s";')
    rh.check(r.rc in (3, 75), "a tool error: exit 3 or 75", r)
    job = job_of(d, "1", "stuck")
    expect_job(job, "ERROR", "infra", "any", r)
    rh.check(any("queue_timeout" in n for n in job["evidence"]["notes"]),
             f"no note names queue_timeout: {job['evidence']['notes']}", r)
    rh.check(fake_calls(d, "scancel"), "the stuck job was not cancelled", r)


def case_fake_kill_cancels_the_release_in_one_scancel_pending_first():
    """`relhost kill` cancels every job of the release in one scancel, the jobs still waiting to
    start listed first (so that Slurm starts none of them into the CPUs the others free)."""
    d = rh.scratch()
    b = fake_tools(d)
    env = env_for(None, d, b)
    # r*: running at the first look (held); w*: pending at the first look (the kill's poll)
    vals = []
    for i in range(3):
        vals.append(ended(f"r{i}", "COMPLETED 0:0 0", 'FAKE_HOLD = "1000";'))
        vals.append(ended(f"w{i}", "COMPLETED 0:0 0"))
    p = plan(d, vals, runner="max_parallel = 10; arrays = false;", poll="0.1s")
    r = run(["launch", "-c", p, "--release", "1", "--no-color"], env=env, cwd=d)
    rh.expect(r, 0)
    rh.check(len(fake_calls(d, "sbatch")) == 6, f"sbatch calls {fake_calls(d, 'sbatch')}", r)
    r = run(["kill", "-c", p, "--release", "1", "--no-color"], env=env, cwd=d)
    rh.expect(r, 0, out=[r"release 1: 6 cancelled"])
    sc = fake_calls(d, "scancel")
    rh.check(len(sc) == 1, f"one scancel for the release expected, got {sc}", r)
    ids = {n: job_of(d, "1", n)["external_id"] for n in [f"{k}{i}" for k in "rw" for i in range(3)]}
    waiting = sorted(ids[f"w{i}"] for i in range(3))
    running = sorted(ids[f"r{i}"] for i in range(3))
    rh.check(sorted(sc[0][:3]) == waiting and sorted(sc[0][3:]) == running,
             f"scancel {sc[0]}: the pending jobs {waiting} first, then {running}", r)
    jobs = json.load(open(os.path.join(d, "fake", "jobs.json")))["jobs"]
    rh.check(all(j.get("cancelled") for j in jobs.values()), f"not all cancelled: {jobs}", r)


def case_fake_a_single_vanished_job_is_lost():
    """squeue answers "Invalid job id specified" (exit 1) when ONE unknown id is asked for."""
    d = rh.scratch()
    _, r = fake_run(d, [val("gone", [PY, JOB, "metrics"], 'env = { FAKE_GONE = "1"; };')])
    expect_job(job_of(d, "1", "gone"), "ERROR", "infra", "any", r)


def case_fake_sbatch_arguments_and_environment():
    d = rh.scratch()
    pc = "logs%x"  # sbatch --output expands %x: the runner must write %%
    _, r = fake_run(
        d, [val("big", [PY, JOB, "metrics"],
                'nodes = 2; gpus = 4; pass_env = ["RH_TEST_TOKEN"]; env = { PLAIN = "v"; }; '
                'runner_args = { partition = "override"; constraint = "h100"; gres = "nvme:1"; };',
                timeout=90)],
        runner='account = "acct"; qos = "high"; extra_args = ["--mem=1G", "--exclusive"];',
        top="")
    rh.expect(r, 0)
    argv = fake_calls(d, "sbatch")
    rh.check(len(argv) == 1, f"sbatch calls {argv}", r)
    a = argv[0]
    log = job_of(d, "1", "big")["log_path"]
    want = ["--parsable", "--job-name=rh-1-big-a1", f"--output={log}", "--open-mode=append",
            "--export=ALL", "--nodes=2", "--gpus-per-node=4", "--partition=override",
            "--account=acct", "--qos=high", "--constraint=h100", "--gres=nvme:1",
            "--time=4", "--mem=1G", "--exclusive", log + ".sbatch"]
    rh.check(a == want, f"sbatch argv\n  got  {a}\n  want {want}", r)
    env_names = json.loads(rh.read(os.path.join(d, "fake", "sbatch_env.log")).splitlines()[0])
    rh.check("RH_TEST_TOKEN" in env_names, f"pass_env not handed to sbatch: {env_names}", r)
    rh.check("RH_TEST_UNLISTED" not in env_names, f"unlisted variable given to sbatch", r)
    rh.check("PLAIN" not in env_names, "the plan's env belongs in the script", r)
    text = rh.read(log + ".sbatch")
    rh.check(TOKEN not in text and "export PLAIN='v'" in text, f"script:\n{text}", r)
    # A log folder with a '%' in it: sbatch must get %% (else %x would expand).
    d2 = rh.scratch()
    b = fake_tools(d2)
    p = rh.write_plan(d2, f"""
state_dir = "state"; log_dir = "{pc}";
runners = {{ slurm = {{ plugin = "runner_slurm"; poll_interval = "0.1s"; }}; }};
steps = ( {{ name = "tests"; plugin = "workflow"; runner = "slurm";
             validations = ( {val("p", [PY, JOB, "metrics"])} ); }} );
""")
    r = run(["-c", p, "--release", "1", "--no-color"], env=env_for(None, d2, b), cwd=d2)
    rh.expect(r, 0)
    out = [x for x in fake_calls(d2, "sbatch")[0] if x.startswith("--output=")]
    rh.check(out == [f"--output={d2}/logs%%x/1/p.log"], f"{out}", r)


def case_fake_sbatch_errors():
    d = rh.scratch()
    _, r = fake_run(d, [
        val("badpart", [PY, JOB, "metrics"],
            'env = { FAKE_SBATCH_ERR = "Batch job submission failed: Invalid partition name '
            'specified"; };'),
        val("busy", [PY, JOB, "metrics"],
            'env = { FAKE_SBATCH_ERR = "Batch job submission failed: Socket timed out on '
            'send/recv operation"; };'),
        val("badarg", [PY, JOB, "metrics"], 'runner_args = { memory = "1G"; };'),
    ], runner="arrays = false;")
    rh.check(r.rc in (3, 75), "tool errors only: exit 3 (or 75 when deferred)", r)
    bad = job_of(d, "1", "badpart")
    expect_job(bad, "ERROR", "submit_failed", "any", r)
    rh.check(not bad["retryable"], "a bad partition is not transient", r)
    rh.check(any("Invalid partition name specified" in n for n in bad["evidence"]["notes"]),
             f"sbatch's message is lost: {bad['evidence']['notes']}", r)
    busy = job_of(d, "1", "busy")
    expect_job(busy, "ERROR", "submit_failed", "any", r)
    rh.check(busy["retryable"], "a controller timeout is transient", r)
    rh.check(any("-n" in a for a in fake_calls(d, "squeue")),
             "after a timed-out sbatch the runner must look for the job before retrying", r)
    badarg = job_of(d, "1", "badarg")
    expect_job(badarg, "ERROR", "submit_failed", "any", r)
    rh.check(any("runner_args key \"memory\"" in n and "partition, account" in n
                 for n in badarg["evidence"]["notes"]), f"{badarg['evidence']['notes']}", r)


def case_fake_time_limit_and_defaults():
    d = rh.scratch()
    _, r = fake_run(d, [val("short", [PY, JOB, "metrics"], timeout=30),
                        val("untimed", [PY, JOB, "metrics"], timeout=0)],
                    runner='time_slack = "45s";')
    rh.expect(r, 0)
    by = {re.search(r"--job-name=rh-1-(\w+)-a1", " ".join(a)).group(1): a
          for a in fake_calls(d, "sbatch")}
    rh.check("--time=2" in by["short"], f"ceil((30 s + 45 s) / 60) = 2: {by['short']}", r)
    rh.check(not any(x.startswith("--time") for x in by["untimed"]),
             f"timeout_s = 0 must leave Slurm's default: {by['untimed']}", r)
    rh.check("--nodes=1" in by["short"] and not any("gpus" in x for x in by["short"]),
             f"{by['short']}", r)


# ---- job arrays -------------------------------------------------------------------------------

def fake_env(d, **extra):
    return env_for(None, d, fake_tools(d), {k: str(v) for k, v in extra.items()})


def array_run(d, validations, runner="", args=(), cmd=None, **extra):
    p = plan(d, validations, runner=runner, poll="0.1s")
    env = fake_env(d, **extra)
    argv = [p if a is None else a for a in (cmd or ["-c", None])]
    r = run(argv + ["--release", "1", "--no-color"] + list(args), env=env, cwd=d)
    return p, env, r


def arrays_of(d):
    """The --array ranges of the sbatch calls, None for a single submission."""
    return [next((a[8:] for a in c if a.startswith("--array=")), None)
            for c in fake_calls(d, "sbatch")]


def case_fake_array_chunks_at_max_array_size():
    """Seven validations of one shape on a cluster whose MaxArraySize is 3: arrays of 3, 3 and
    the last one on its own; one `scontrol show config`; each task's output in its own log;
    polls list tasks one by one (squeue -r)."""
    d = rh.scratch()
    vals = [ended(f"t{i}", "COMPLETED 0:0 0", f'FAKE_OUTPUT = "sps_max: {1000 + i}";')
            for i in range(7)]
    _, _, r = array_run(d, vals, SLURM_FAKE_MAX_ARRAY=3)
    rh.expect(r, 0, out=[r"PASSED\s+tests"], not_any=[r"no job arrays"])
    rh.check(arrays_of(d) == ["0-2", "0-2", None], f"sbatch calls {fake_calls(d, 'sbatch')}", r)
    sc = fake_calls(d, "scontrol")
    rh.check([c for c in sc if c[:2] == ["show", "config"]] == [["show", "config"]],
             f"MaxArraySize is read once: {sc}", r)
    ids = {}
    for i in range(7):
        job = job_of(d, "1", f"t{i}")
        expect_job(job, "PASSED", None, 0, r)
        ids[i] = job["external_id"]
        rh.check(f"sps_max: {1000 + i}" in rh.read(job["log_path"]),
                 f"t{i}: its own output is not in its log {job['log_path']}", r)
    rh.check(re.fullmatch(r"\d+_0", ids[0]) and ids[1] == ids[0][:-1] + "1", f"ids {ids}", r)
    rh.check(re.fullmatch(r"\d+", ids[6]), f"the 7th went out on its own: {ids}", r)
    first = fake_calls(d, "sbatch")[0]
    name = next(a for a in first if a.startswith("--job-name="))
    rh.check(name == "--job-name=rh-1-t*", f"the array's name is the keys' prefix: {first}", r)
    script = first[-1]
    text = rh.read(script)
    rh.check("#rh-task 2 rh-1-t2-a1" in text and "SLURM_ARRAY_TASK_ID" in text, text, r)
    rh.check(any(a == f"--comment=relhost-array:{script}" for a in first), f"{first}", r)
    polls = [c for c in fake_calls(d, "squeue") if "--me" in c and "%i|%T|%r|%j" in c]
    rh.check(polls and all("-r" in c for c in polls), f"polls without -r: {polls[:2]}", r)


def case_fake_array_task_exit_codes_are_their_own():
    """One array of four; the task that exits 3 fails its validation alone, and a task Slurm
    could not start (127) is a tool error: Slurm's per-task ends map as for single jobs."""
    d = rh.scratch()
    vals = [ended("ok0", "COMPLETED 0:0 0"), ended("bad", "FAILED 3:0 0"),
            ended("ok1", "COMPLETED 0:0 1"), ended("noexec", "FAILED 127:0 0")]
    _, _, r = array_run(d, vals)
    rh.expect(r, 1, out=[r"FAILED\s+tests"])
    rh.check(arrays_of(d) == ["0-3"], f"one array: {fake_calls(d, 'sbatch')}", r)
    expect_job(job_of(d, "1", "ok0"), "PASSED", None, 0, r)
    expect_job(job_of(d, "1", "bad"), "FAILED", "exit_code", 3, r)
    expect_job(job_of(d, "1", "noexec"), "ERROR", "exec_failed", 127, r)
    ok1 = job_of(d, "1", "ok1")
    expect_job(ok1, "PASSED", None, 0, r)
    rh.check(ok1["restarts"] == 1, f"restarts of a task: {ok1['restarts']}", r)


def case_fake_array_refused_falls_back_to_single_jobs():
    """A cluster that refuses arrays (sbatch's "Invalid job array specification", or a
    MaxArraySize of 0): one sbatch per validation, all pass, a warning says why."""
    for extra, word in ((dict(SLURM_FAKE_ARRAY_ERR="Batch job submission failed: Invalid job "
                                                   "array specification"),
                         "Invalid job array specification"),
                        (dict(SLURM_FAKE_MAX_ARRAY=0), "MaxArraySize is 0")):
        d = rh.scratch()
        _, _, r = array_run(d, [ended(f"t{i}", "COMPLETED 0:0 0") for i in range(4)], **extra)
        rh.expect(r, 0, out=[r"PASSED\s+tests"])
        rh.check("no job arrays on this cluster" in r.err and word in r.err,
                 f"no warning naming {word!r}", r)
        singles = [a for a in arrays_of(d) if a is None]
        rh.check(len(singles) == 4, f"sbatch calls {fake_calls(d, 'sbatch')}", r)
        for i in range(4):
            expect_job(job_of(d, "1", f"t{i}"), "PASSED", None, 0, r)


def case_fake_array_sbatch_failure_fails_each_task():
    """An array sbatch refuses for another reason: each of its tasks is a tool error naming
    sbatch's message (retryable when the controller was only busy); none was submitted."""
    for msg, retryable in (("Batch job submission failed: Invalid partition name specified",
                            False),
                           ("Batch job submission failed: Socket timed out on send/recv "
                            "operation", True)):
        d = rh.scratch()
        _, _, r = array_run(d, [ended(f"t{i}", "COMPLETED 0:0 0") for i in range(3)],
                            SLURM_FAKE_ARRAY_ERR=msg)
        rh.check(r.rc in (3, 75), "tool errors only: exit 3 (or 75 when deferred)", r)
        for i in range(3):
            job = job_of(d, "1", f"t{i}")
            expect_job(job, "ERROR", "submit_failed", "any", r)
            rh.check(job["retryable"] == retryable, f"retryable {job['retryable']}", r)
            rh.check(any(msg.split(": ")[1][:40] in n for n in job["evidence"]["notes"]),
                     f"sbatch's message is lost: {job['evidence']['notes']}", r)
            rh.check(not job.get("external_id"), f"an id for a refused job: {job}", r)
        rh.check(arrays_of(d) == ["0-2"], f"sbatch calls {fake_calls(d, 'sbatch')}", r)


def case_fake_array_kill_is_one_scancel_per_array():
    """`relhost kill` of a release of two arrays names each array once (its id cancels all of
    its tasks), in one scancel, instead of one id per task."""
    d = rh.scratch()
    vals = [ended(f"t{i}", "COMPLETED 0:0 0", 'FAKE_HOLD = "1000";') for i in range(6)]
    p, env, r = array_run(d, vals, runner="max_parallel = 10;", cmd=["launch", "-c", None],
                          SLURM_FAKE_MAX_ARRAY=3)
    rh.expect(r, 0)
    rh.check(arrays_of(d) == ["0-2", "0-2"], f"sbatch calls {fake_calls(d, 'sbatch')}", r)
    r = run(["kill", "-c", p, "--release", "1", "--no-color"], env=env, cwd=d)
    rh.expect(r, 0, out=[r"release 1: 6 cancelled"])
    sc = fake_calls(d, "scancel")
    arrays = sorted({job_of(d, "1", f"t{i}")["external_id"].split("_")[0] for i in range(6)})
    rh.check(len(sc) == 1 and sorted(sc[0]) == arrays, f"scancel {sc}, arrays {arrays}", r)
    jobs = json.load(open(os.path.join(d, "fake", "jobs.json")))["jobs"]
    rh.check(len(jobs) == 6 and all(j.get("cancelled") for j in jobs.values()), f"{jobs}", r)


def case_fake_array_sigkill_after_sbatch_reattaches_by_key():
    """relhost SIGKILLed right after sbatch accepted the array, before any task's id was
    recorded: the next run finds each task by its key (the array's name and script) and
    submits nothing again."""
    d = rh.scratch()
    vals = [ended(f"t{i}", "COMPLETED 0:0 0", f'FAKE_OUTPUT = "step 1 SPS: {1000 + i}";')
            for i in range(5)]
    p, env, r = array_run(d, vals, SLURM_FAKE_KILL_PARENT=1)
    rh.check(r.rc == -9, f"relhost was not killed by sbatch: {r.rc}", r)
    rh.check(arrays_of(d) == ["0-4"], f"sbatch calls {fake_calls(d, 'sbatch')}", r)
    env.pop("SLURM_FAKE_KILL_PARENT")
    r = run(["-c", p, "--release", "1", "--no-color"], env=env, cwd=d)
    rh.expect(r, 0, out=[r"PASSED\s+tests"])
    rh.check(len(fake_calls(d, "sbatch")) == 1, f"submitted twice: {fake_calls(d, 'sbatch')}", r)
    base = json.load(open(os.path.join(d, "fake", "jobs.json")))["next"] - 5
    for i in range(5):
        job = job_of(d, "1", f"t{i}")
        expect_job(job, "PASSED", None, 0, r)
        rh.check(job["external_id"] == f"{base}_{i}", f"t{i} re-attached to {job}", r)
        rh.check(metric(job, "sps_max") == 1000 + i, f"t{i}: {job['evidence']}", r)


def case_fake_arrays_false_submits_one_job_each():
    """arrays = false: one sbatch per validation, no --array, no `scontrol show config`."""
    d = rh.scratch()
    _, _, r = array_run(d, [ended(f"t{i}", "COMPLETED 0:0 0") for i in range(4)],
                        runner="arrays = false;")
    rh.expect(r, 0, out=[r"PASSED\s+tests"])
    rh.check(arrays_of(d) == [None] * 4, f"sbatch calls {fake_calls(d, 'sbatch')}", r)
    rh.check(not any(c[:2] == ["show", "config"] for c in fake_calls(d, "scontrol")),
             "scontrol show config ran", r)


if __name__ == "__main__":
    sys.exit(rh.main(globals()))
