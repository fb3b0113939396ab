#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""model.py - model-based test of verdict integrity.

Seeded random sequences of operations on one plan with passing, failing, flaky, dependent and
slow validations, a registry (stage, promote, quarantine on failure) and a publishing step: full
runs, --only subsets, --step, --retry-failed, profiles, --new, waivers, freeze / unfreeze, flag
changes that make validations pass or fail, and SIGKILL at random moments followed by a resume.

The jobs themselves are the independent witness: each writes what it did into runs.log (start,
end with PASS or FAIL) and holds an flock for its validation while it runs, writing OVERLAP when
another attempt of the same validation still holds it. After every operation the test checks:

 (a) nothing was published (tag step, promotion) unless, for that release, the preflight step and
     every validation the release requires (by the profile of its first run: all four, or the
     quick profile's c with its dependency a) had a PASS written by the job itself, or a waiver
     the model recorded; nothing was published while publishing was frozen;
 (b) explain --json, status --json and the JSON report agree with the state on every step's
     outcome, and explain never says passed/promoted while a required step did not pass;
 (c) no two attempts of one validation ever ran at once (no OVERLAP), every finished job in the
     state has the result its job wrote last, and no job outlives a finished run.

RELHOST_MODEL_OPS (default 500) sets the number of operations, RELHOST_MODEL_SEED the seed
(default: a fixed one, so CI is repeatable); RELHOST_MODEL_RUNS runs several seeds in a row.
"""
import glob
import json
import os
import random
import signal
import subprocess
import sys
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))
import rh  # noqa: E402

ALL = ["a", "b", "c", "d"]
QUICK = ["a", "c"]          # profile quick = ["c"], and c depends on a

JOB = r'''#!/bin/sh
# $1 = validation; behaviour from flag files; witness lines in runs.log
name=$1
exec 9>"locks/$RELHOST_VERSION.$name"
if ! flock -n 9; then echo "OVERLAP $RELHOST_VERSION $name $$" >> runs.log; flock 9; fi
echo "start $RELHOST_VERSION $name $$ $RELHOST_ATTEMPT" >> runs.log
case $name in
  a) [ -e ok.a ] && r=PASS || r=FAIL ;;
  b) n=$(cat count.b 2>/dev/null || echo 0); n=$((n + 1)); echo $n > count.b
     [ $((n % 2)) = 1 ] && r=PASS || r=FAIL ;;
  c) [ -e ok.c ] && r=PASS || r=FAIL ;;
  d) sleep 0.25; r=PASS ;;
esac
echo "end $RELHOST_VERSION $name $$ $r" >> runs.log
if [ $r = PASS ]; then echo "SPS: 40000"; else echo "SPS: 10"; fi
'''


def plan_text(d):
    vals = []
    for n in ALL:
        dep = ' depends_on = ["a"];' if n == "c" else ""
        vals.append(f'{{ name = "{n}";{dep} cmd = ["sh", "{d}/job.sh", "{n}"]; cwd = "{d}"; '
                    f'env = {{ MODEL_TAG = "{d}"; }}; timeout_s = 30; '
                    f'acceptance = ( ("sps_max", ">=", 30000.0) ); }}')
    vals_text = ",\n      ".join(vals)
    return f"""
plugin_path = {json.dumps([rh.plugin_dir()])};
version = "auto";
registry_dir = ".relhost/registry";
runners = {{ local = {{ plugin = "runner_local"; max_parallel = 2; grace = "1s"; }}; }};
metrics = {{ logs = {{ plugin = "metrics_regex"; }}; }};
steps = (
  {{ name = "pre"; plugin = "command";
     cmd = ["sh", "-c", "test ! -e pre.fail && echo \\"pre $0 ok\\" >> runs.log", "{{version}}"]; }},
  {{ name = "stage"; plugin = "registry"; action = "stage"; artifacts = ["art.txt"]; }},
  {{ name = "tests"; plugin = "workflow"; metrics = ["logs"]; validations = (
      {vals_text}
  ); }},
  {{ name = "tag"; plugin = "command"; publishes = true;
     cmd = ["sh", "-c", "echo \\"$0\\" >> published.log", "{{version}}"]; }},
  {{ name = "promote"; plugin = "registry"; action = "promote"; publishes = true; }},
  {{ name = "quarantine"; plugin = "registry"; action = "quarantine"; when = "on_failure";
     required = false; }}
);
profiles = {{ quick = ["c"]; }};
"""


class Model:
    def __init__(self, seed, ops):
        self.rng = random.Random(seed)
        self.seed, self.ops = seed, ops
        self.dir = rh.scratch(f"seed{seed}")
        d = self.dir
        rh.write(os.path.join(d, "job.sh"), JOB, 0o755)
        rh.write(os.path.join(d, "art.txt"), "artifact\n")
        os.makedirs(os.path.join(d, "locks"))
        self.plan = rh.write_plan(d, plan_text(d))
        self.frozen = False
        self.waived = set()          # (version, validation) the model waived
        self.profiles = {}           # version -> set of profiles ops asked for on it
        self.published_seen = 0
        self.promoted_seen = set()
        self.history = []
        self.killed_pending = False  # a SIGKILLed run may have left a job: checked after resume
        for f in ("ok.a", "ok.c"):
            rh.write(os.path.join(d, f), "")

    # ---- helpers ----
    def p(self, *parts):
        return os.path.join(self.dir, *parts)

    def run(self, *args, timeout=120):
        return rh.run(["-c", self.plan, "--no-interactive", "--no-color"] + list(args),
                      cwd=self.dir, timeout=timeout)

    def cmd(self, sub, *args):
        return rh.run([sub, "-c", self.plan] + list(args), cwd=self.dir)

    def versions(self):
        files = glob.glob(self.p(".relhost", "state", "release_*.json"))
        return sorted((os.path.getmtime(f), os.path.basename(f)[8:-5]) for f in files)

    def newest(self):
        v = self.versions()
        return v[-1][1] if v else None

    def state(self, v):
        with open(self.p(".relhost", "state", f"release_{v}.json")) as f:
            st = json.load(f)
        # the journal holds what happened after the snapshot: read through relhost instead
        r = self.cmd("status", "--release", v, "--json")
        return st, r

    def lines(self, name):
        p = self.p(name)
        return [l.split() for l in open(p)] if os.path.exists(p) else []

    def fail(self, msg, res=None):
        tail = "\n".join(self.history[-15:])
        rh.fail(f"seed {self.seed}, op {len(self.history)}: {msg}\nlast operations:\n{tail}", res)

    # ---- operations ----
    def op(self):
        rng = self.rng
        k = rng.random()
        newest = self.newest()
        if k < 0.20:
            return "run", self.run()
        if k < 0.32:
            sel = rng.sample(ALL, rng.randint(1, 2))
            args = []
            for s in sel:
                args += ["--only", s]
            return f"run --only {sel}", self.run(*args)
        if k < 0.40:
            s = rng.choice(["pre", "stage", "tests", "tag", "promote"])
            return f"run --step {s}", self.run("--step", s)
        if k < 0.48:
            return "run --retry-failed", self.run("--retry-failed")
        if k < 0.53:
            new = rng.random() < 0.5
            return (f"run --profile quick{' --new' if new else ''}",
                    self.run("--profile", "quick", *(["--new"] if new else [])))
        if k < 0.57:
            return "run --new", self.run("--new")
        if k < 0.70:
            f = rng.choice(["ok.a", "ok.c", "pre.fail"])
            if os.path.exists(self.p(f)):
                os.unlink(self.p(f))
                return f"rm {f}", None
            rh.write(self.p(f), "")
            return f"touch {f}", None
        if k < 0.76 and newest:
            val = rng.choice(ALL)
            r = self.cmd("waive", "--release", newest, "--step", "tests", "--validation", val,
                         "--reason", "model: infra")
            if r.rc == 0:
                self.waived.add((newest, val))
            return f"waive {newest} {val}", r
        if k < 0.80:
            if self.frozen:
                r = self.cmd("unfreeze")
            else:
                r = self.cmd("freeze", "--reason", "model")
            if r.rc == 0:
                self.frozen = not self.frozen
            return ("unfreeze" if not self.frozen else "freeze"), r
        return self.sigkill()

    def sigkill(self):
        argv = [rh.relhost_bin(), "-c", self.plan, "--no-interactive"]
        p = subprocess.Popen(argv, cwd=self.dir, env=rh.base_env(), stdin=subprocess.DEVNULL,
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                             start_new_session=True)
        time.sleep(self.rng.uniform(0.0, 0.5))
        try:
            os.kill(p.pid, signal.SIGKILL)  # relhost only: its jobs are left behind
        except ProcessLookupError:
            pass
        p.wait()
        self.killed_pending = True
        return "run, SIGKILL", None

    # ---- invariants ----
    def check_published(self):
        pub = [l[0] for l in self.lines("published.log")]
        promoted = set()
        mp = self.p(".relhost", "registry", "manifest.json")
        if os.path.exists(mp):
            with open(mp) as f:
                for e in json.load(f).get("releases", []):
                    if e.get("status") in ("promoted", "rolled_back") or e.get("promoted_at"):
                        promoted.add(e["version"])
        new = pub[self.published_seen:] + sorted(promoted - self.promoted_seen)
        if new and self.frozen_at_op:
            self.fail(f"published {new} while publishing was frozen")
        runs = self.lines("runs.log")
        for v in new:
            req = self.required_of(v)
            passed = {l[2] for l in runs if l[0] == "end" and l[1] == v and l[4] == "PASS"}
            pre = any(l[0] == "pre" and l[1] == v for l in runs)
            missing = [n for n in req if n not in passed and (v, n) not in self.waived]
            if missing or not pre:
                self.fail(f"release {v} was published although {missing or 'pre'} never passed "
                          f"(required {req}, waived {sorted(self.waived)})")
        self.published_seen = len(pub)
        self.promoted_seen |= promoted

    def required_of(self, v):
        st = rh.load_state(self.p(".relhost", "state", f"release_{v}.json"))
        req = st.get("requirements")
        if not req:
            self.fail(f"release {v} was published but records no requirements")
        prof = req.get("profile")
        want = QUICK if prof == "quick" else ALL
        got = sorted(req["steps"].get("tests", []))
        if got != sorted(want):
            self.fail(f"release {v}: requirements {got}, want {want} for profile {prof}")
        asked = self.profiles.get(v, set())
        if asked and prof not in asked:
            self.fail(f"release {v} records profile {prof} but runs asked for {asked}")
        return want

    def check_views(self, v):
        s = self.cmd("status", "--release", v, "--json")
        if s.rc != 0:
            self.fail("status --json failed", s)
        st = json.loads(s.out)
        rep = self.cmd("report", "--release", v, "--format", "json", "-o", "-")
        if rep.rc != 0:
            self.fail("report failed", rep)
        rj = json.loads(rep.out)
        ex = self.cmd("explain", "--release", v, "--json")
        if ex.rc != 0:
            self.fail("explain --json failed", ex)
        xj = json.loads(ex.out)
        so = {s["name"]: s.get("outcome") for s in st.get("steps", [])}
        ro = {s["name"]: s.get("outcome") for s in rj.get("steps", [])}
        if so != ro:
            self.fail(f"status says {so}, the report says {ro}")
        required_ok = all(so.get(n) in ("PASSED", "WAIVED") for n in ("pre", "stage", "tests"))
        if xj.get("verdict") in ("passed", "promoted") and not required_ok:
            self.fail(f"explain says {xj.get('verdict')} while steps are {so}", ex)
        jobs = {j.get("id") or f"{j.get('step')}/{j.get('validation')}": j
                for j in st.get("jobs", [])} if isinstance(st.get("jobs"), list) else {}
        runs = self.lines("runs.log")
        for jid, j in jobs.items():
            name = jid.split("/", 1)[-1]
            if j.get("outcome") not in ("PASSED", "FAILED") or name not in ALL:
                continue
            ends = [l[4] for l in runs if l[0] == "end" and l[1] == v and l[2] == name]
            if not ends:
                self.fail(f"release {v}: job {name} is {j.get('outcome')} but never ended")

    def check_processes(self):
        alive = []
        for pid in os.listdir("/proc"):
            if not pid.isdigit():
                continue
            try:
                with open(f"/proc/{pid}/environ", "rb") as f:
                    env = f.read()
            except OSError:
                continue
            if f"MODEL_TAG={self.dir}".encode() in env.split(b"\0"):
                alive.append(pid)
        if alive:
            self.fail(f"job process(es) {alive} outlived a finished run")

    def check(self, name, res):
        for l in self.lines("runs.log"):
            if l[0] == "OVERLAP":
                self.fail(f"two attempts of {l[2]} of release {l[1]} ran at once")
        if res is not None and res.rc not in (0, 1, 2, 3, 4, 75):
            self.fail(f"exit code {res.rc}", res)
        self.check_published()
        v = self.newest()
        if v:
            self.check_views(v)
        # A run refused before it started anything (exit 2: a profile change on the release...)
        # is no finished run; orphans a kill left are stopped by the next run that starts.
        if not name.endswith("SIGKILL") and res is not None and name.startswith("run") and \
                res.rc != 2:
            self.check_processes()
            self.killed_pending = False

    def go(self):
        for i in range(self.ops):
            self.frozen_at_op = self.frozen
            before = {v for _, v in self.versions()}
            name, res = self.op()
            self.history.append(f"{i}: {name} -> {res.rc if res is not None else '-'}")
            after = self.versions()
            for _, v in after:
                if v not in before or v == (after[-1][1] if after else None):
                    if "--profile quick" in name:
                        self.profiles.setdefault(v, set()).add("quick")
                    elif name.startswith("run") and res is not None and res.rc != 2:
                        self.profiles.setdefault(v, set()).add(None)
            self.check(name, res)
        # the end: resume whatever a last kill left, and nothing may stay behind
        self.run()
        self.check("run", rh.Result([], "", 0, "", ""))
        return len(self.history)


def case_model():
    ops = int(os.environ.get("RELHOST_MODEL_OPS", "500"))
    seed = int(os.environ.get("RELHOST_MODEL_SEED", "13"))
    runs = int(os.environ.get("RELHOST_MODEL_RUNS", "1"))
    total = 0
    t0 = time.monotonic()
    for k in range(runs):
        total += Model(seed + k, ops).go()
    print(f"model: {total} operations over {runs} seed(s) from {seed} in "
          f"{time.monotonic() - t0:.1f} s")


if __name__ == "__main__":
    sys.exit(rh.main(globals()))
