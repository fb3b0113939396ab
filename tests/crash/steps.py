#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""What a relhost killed with SIGKILL leaves running of a plan STEP, and what the next relhost on
that release does with it.

A step's command runs in a process group of its own, so it outlives a relhost killed with
SIGKILL. Every process relhost starts while it works on a release carries RELHOST_RELEASE=<absolute
state folder> and RELHOST_HOST=<relhost pid>.<its start time>; the next relhost on any release of
that folder stops, before any step runs, every process carrying the tag whose relhost is no longer
alive, and nothing else. One case per process: steps.py CASE (ctest: test_crash_steps__<case>).
"""
import json
import os
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))
import rh  # noqa: E402


def start_time(pid):
    """Field 22 of /proc/<pid>/stat."""
    with open(f"/proc/{pid}/stat") as f:
        return int(f.read().rsplit(")", 1)[1].split()[19])


def environ(pid):
    try:
        with open(f"/proc/{pid}/environ", "rb") as f:
            return dict(e.decode(errors="replace").split("=", 1)
                        for e in f.read().split(b"\0") if b"=" in e)
    except OSError:
        return {}


def read_pid(path):
    try:
        with open(path) as f:
            t = f.read().strip()
        return int(t) if t else None
    except (OSError, ValueError):
        return None


def tag_of(d):
    return os.path.realpath(os.path.join(d, "state"))


# The step: a child that escaped with setsid, a child in its own group, then step.pid (written
# last: once it exists, every pid file does) and a long wait.
STEP = r"""
cd "$1"
setsid sh -c 'echo $$ > escaped.pid; exec sleep 30' < /dev/null > /dev/null 2>&1 &
sleep 30 &
echo $! > child.pid
while [ ! -s escaped.pid ]; do sleep 0.05; done
echo $$ > step.pid
sleep 30
"""

# The resumed step: proves, while it runs, that nothing of the old one is left.
CHECK = r"""
cd "$1"
for f in step.pid child.pid escaped.pid; do
    p=$(cat $f)
    if [ -d /proc/$p ] && ! grep -q '^State:[[:space:]]*Z' /proc/$p/status 2>/dev/null; then
        echo "alive $f $p" >> check.log
    fi
done
echo checked >> check.log
"""


def plan_text(d, body):
    script = rh.write(os.path.join(d, "step.sh"), body)
    return f"""
state_dir = "state"; log_dir = "logs";
steps = (
  {{ name = "long"; plugin = "command"; timeout = "5m";
     cmd = ["sh", {json.dumps(script)}, {json.dumps(d)}]; }}
);
"""


def case_a_step_left_running_by_a_killed_relhost_is_stopped_by_the_next_run():
    d = rh.scratch()
    plan = rh.write_plan(d, plan_text(d, STEP))
    argv = [rh.relhost_bin(), "-c", plan, "--no-color", "--no-interactive", "--release", "1"]
    pids = {}
    unrelated = subprocess.Popen(["sleep", "60"], stdin=subprocess.DEVNULL,
                                 start_new_session=True, env=rh.base_env())
    try:
        with open(os.path.join(d, "first.out"), "w") as out:
            # A session of its own, so that killing it cannot touch the step by accident.
            first = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL, cwd=d, env=rh.base_env(),
                                     start_new_session=True)
        try:
            rh.wait_for(lambda: read_pid(os.path.join(d, "step.pid")), "the step to start")
            for f in ("step", "child", "escaped"):
                pids[f] = read_pid(os.path.join(d, f + ".pid"))
            host = f"{first.pid}.{start_time(first.pid)}"
            for f, pid in pids.items():
                env = environ(pid)
                rh.check(env.get("RELHOST_RELEASE") == tag_of(d) and
                         env.get("RELHOST_HOST") == host,
                         f"the step's {f} process (pid {pid}) is not tagged: RELHOST_RELEASE="
                         f"{env.get('RELHOST_RELEASE')!r} (want {tag_of(d)!r}), RELHOST_HOST="
                         f"{env.get('RELHOST_HOST')!r} (want {host!r})")
            os.kill(first.pid, signal.SIGKILL)  # relhost only: not its step's process group
            first.wait()
        finally:
            if first.poll() is None:
                first.kill()
                first.wait()
        time.sleep(0.2)
        for f, pid in pids.items():
            rh.check(rh.pid_alive(pid), f"the step's {f} process (pid {pid}) did not outlive the "
                     "killed relhost: the test proves nothing")

        rh.write_plan(d, plan_text(d, CHECK))
        r = rh.run(argv[1:], cwd=d, env=rh.base_env(), timeout=90)
        rh.expect(r, 0)
        check = rh.read(os.path.join(d, "check.log"))
        rh.check(check.strip() == "checked", f"the resumed step still saw the old step's "
                 f"processes while it ran: {check!r}", r)
        for f, pid in pids.items():
            rh.check(not rh.pid_alive(pid), f"the step's {f} process (pid {pid}) still runs after "
                     "the resumed release finished", r)
        rh.check(f"stopped pid {pids['step']} (sh), left running by relhost pid {first.pid} "
                 "that died" in r.all, "relhost did not say that it stopped the old step", r)
        rh.check(f"stopped pid {pids['escaped']} (sleep), left running by relhost pid "
                 f"{first.pid} that died" in r.all,
                 "relhost did not say that it stopped the step's escaped child", r)
        rh.check(rh.pid_alive(unrelated.pid), "an unrelated sleep (no release tag) was stopped", r)
    finally:
        for pid in pids.values():
            if pid and rh.pid_alive(pid):
                os.kill(pid, signal.SIGKILL)
        unrelated.kill()
        unrelated.wait()


def case_a_tagged_process_of_a_live_relhost_is_never_signalled():
    d = rh.scratch()
    plan = rh.write_plan(d, plan_text(d, "true\n"))
    me = os.getpid()
    live = f"{me}.{start_time(me)}"
    dead = f"{me}.{start_time(me) + 1}"  # this pid, another start time: a relhost long gone
    trap = ["sh", "-c", "trap 'echo TERM >> \"$0\"' TERM; while :; do sleep 0.1; done"]

    def start(name, env):
        return subprocess.Popen(trap[:2] + [trap[2], os.path.join(d, name + ".signals")],
                                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL, env=rh.base_env(env))

    procs = {}
    try:
        # Its relhost is alive (this very test): never signalled, not even with SIGTERM.
        procs["live"] = start("live", {"RELHOST_RELEASE": tag_of(d), "RELHOST_HOST": live})
        # Another state folder's tag, its relhost dead: not this folder's business.
        procs["other"] = start("other", {"RELHOST_RELEASE": tag_of(d) + "x",
                                         "RELHOST_HOST": dead})
        # No RELHOST_HOST: nothing says its relhost died.
        procs["nohost"] = start("nohost", {"RELHOST_RELEASE": tag_of(d), "RELHOST_HOST": None})
        # The control: this release, its relhost dead. It shares this test's process group,
        # whose leader carries no tag: only the process itself may be signalled.
        procs["dead"] = start("dead", {"RELHOST_RELEASE": tag_of(d), "RELHOST_HOST": dead})
        rh.wait_for(lambda: all(environ(p.pid).get("RELHOST_HOST") or n == "nohost"
                             for n, p in procs.items()), "the processes to start")
        r = rh.run(["-c", plan, "--no-color", "--no-interactive", "--release", "1"], cwd=d,
                   env=rh.base_env(), timeout=60)
        rh.expect(r, 0)
        rh.check(procs["dead"].poll() is not None,
                 "the control (this release's tag, its relhost dead) was not stopped: the test "
                 "proves nothing", r)
        rh.check(f"stopped pid {procs['dead'].pid} (sh)" in r.all,
                 "relhost did not say that it stopped the control", r)
        for n in ("live", "other", "nohost"):
            p = procs[n]
            rh.check(p.poll() is None, f"the '{n}' process (pid {p.pid}) was stopped", r)
            sig = os.path.join(d, n + ".signals")
            if os.path.exists(sig):
                rh.fail(f"the '{n}' process was sent SIGTERM: {rh.read(sig)!r}", r)
        rh.check(rh.pid_alive(me), "the test itself was signalled", r)
    finally:
        for p in procs.values():
            if p.poll() is None:
                p.kill()
            p.wait()


if __name__ == "__main__":
    sys.exit(rh.main(globals()))
