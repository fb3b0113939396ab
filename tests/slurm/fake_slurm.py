#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""fake_slurm.py - sbatch, squeue, scontrol and scancel as Slurm 22.05 prints them, for the end
states a one-node test cluster cannot produce (NODE_FAIL, PREEMPTED, OUT_OF_MEMORY, a Slurm
TIMEOUT without waiting minutes, restarts, transient controller errors).

The tool is chosen by the name it is run under (the tests make symlinks sbatch, squeue, scontrol,
scancel). State lives in the folder $SLURM_FAKE_DIR (a SLURM_* name: runner_slurm hands sbatch's
own settings through): jobs.json, and calls.log with one line per invocation (tool and argv).

A job's fate comes from its batch script (the runner writes the validation's env into it):
  FAKE_END='STATE CODE:SIGNAL RESTARTS'   e.g. 'NODE_FAIL 0:0 0', 'COMPLETED 0:0 2'
  FAKE_SBATCH_ERR='message'               sbatch prints "sbatch: error: message", exits 1
  FAKE_GONE=1                             squeue and scontrol never heard of the job
  FAKE_OUTPUT='text'                      written to the job's --output file
  FAKE_HOLD=N                             RUNNING (not counting looks) until N jobs were submitted
  FAKE_PEND_S=S                           PENDING (not counting looks) for S seconds after sbatch
squeue shows a job PENDING on its first look, RUNNING on its second and ended from the third
(a look is a poll: an squeue that is not a search by name).
Job arrays (`sbatch --array=0-N`): task i's fate comes from the batch script the array script's
`i) exec /bin/sh '<script>' >>'<log>'` line names; tasks are listed as "ID_i" (`squeue -r`;
without -r a pending array's tasks collapse into "ID_[a-b]"), `scontrol show job` prints their
own JobId with ArrayJobId/ArrayTaskId, `scancel ID` cancels every task, `scancel ID_i` one.
$SLURM_FAKE_MAX_ARRAY is `scontrol show config`'s MaxArraySize (default 1001);
$SLURM_FAKE_ARRAY_ERR makes every sbatch --array fail with that message;
$SLURM_FAKE_KILL_PARENT=1 makes sbatch SIGKILL its parent (relhost) once the job is recorded.
Every output format is the real one, as printed by Slurm 22.05.8 (and ../shared/API_SHAPES.md).
"""
import fcntl
import json
import os
import re
import sys
import time


def db_path(name):
    return os.path.join(os.environ["SLURM_FAKE_DIR"], name)


class Db:
    def __enter__(self):
        self.lock = open(db_path("lock"), "a+")
        fcntl.flock(self.lock, fcntl.LOCK_EX)
        try:
            with open(db_path("jobs.json")) as f:
                self.data = json.load(f)
        except FileNotFoundError:
            self.data = {"next": 100, "jobs": {}}
        return self

    def __exit__(self, *exc):
        with open(db_path("jobs.json.tmp"), "w") as f:
            json.dump(self.data, f)
        os.rename(db_path("jobs.json.tmp"), db_path("jobs.json"))
        self.lock.close()


def script_vars(path):
    """The `export NAME='value'` lines runner_slurm writes, unquoted as sh would."""
    out = {}
    with open(path) as f:
        text = f.read()
    for m in re.finditer(r"^export ([A-Za-z_][A-Za-z0-9_]*)=((?:'[^']*'|\\')*)$", text, re.M):
        out[m.group(1)] = re.sub(r"'([^']*)'|\\'", lambda x: x.group(1) or "'", m.group(2))
    return out


def array_tasks(path):
    """[(script, log)] of an array script, by task index."""
    with open(path) as f:
        text = f.read()
    return [(m.group(2), m.group(3)) for m in
            re.finditer(r"^(\d+)\) exec /bin/sh '([^']*)' >>'([^']*)' 2>&1 ;;$", text, re.M)]


def new_job(fate, name, comment, t):
    state, ec, restarts = fate.get("FAKE_END", "COMPLETED 0:0 0").split()
    return {"name": name, "end": state, "ec": ec, "restarts": int(restarts), "looks": 0,
            "gone": fate.get("FAKE_GONE") == "1", "hold": int(fate.get("FAKE_HOLD", "0")),
            "t": t, "pend": float(fate.get("FAKE_PEND_S", "0")), "comment": comment}


def sbatch_array(opts, script):
    lo, hi = (int(x) for x in opts["array"].split("%")[0].split("-"))
    tasks = array_tasks(script)
    if os.environ.get("SLURM_FAKE_ARRAY_ERR"):
        sys.stderr.write("sbatch: error: " + os.environ["SLURM_FAKE_ARRAY_ERR"] + "\n")
        return 1
    if hi >= int(os.environ.get("SLURM_FAKE_MAX_ARRAY", "1001")) or len(tasks) != hi + 1:
        sys.stderr.write("sbatch: error: Batch job submission failed: Invalid job array "
                         "specification\n")
        return 1
    with Db() as db:
        base = db.data["next"]
        db.data["next"] += len(tasks)
        for i, (sc, log) in enumerate(tasks):
            fate = script_vars(sc)
            j = new_job(fate, opts.get("job-name", "?"), opts.get("comment", ""), time.time())
            j.update(array=str(base), task=i, raw=str(base + i))
            db.data["jobs"][f"{base}_{i}"] = j
            with open(log, "a") as f:
                f.write(fate.get("FAKE_OUTPUT", f"fake job {base}_{i}") + "\n")
    print(base)
    return 0


def sbatch(args):
    opts, script = {}, args[-1]
    for a in args[:-1]:
        if a.startswith("--") and "=" in a:
            k, v = a[2:].split("=", 1)
            opts[k] = v
    if "array" in opts:
        with open(db_path("sbatch_env.log"), "a") as f:
            f.write(json.dumps(sorted(os.environ)) + "\n")
        rc = sbatch_array(opts, script)
        if rc == 0 and os.environ.get("SLURM_FAKE_KILL_PARENT") == "1":
            os.kill(os.getppid(), 9)
        return rc
    fate = script_vars(script)
    # What sbatch itself was given: its environment (names only) and its argv.
    with open(db_path("sbatch_env.log"), "a") as f:
        f.write(json.dumps(sorted(os.environ)) + "\n")
    if "FAKE_SBATCH_ERR" in fate:
        sys.stderr.write("sbatch: error: " + fate["FAKE_SBATCH_ERR"] + "\n")
        return 1
    with Db() as db:
        jid = str(db.data["next"])
        db.data["next"] += 1
        state, ec, restarts = fate.get("FAKE_END", "COMPLETED 0:0 0").split()
        db.data["jobs"][jid] = {"name": opts.get("job-name", "?"), "end": state, "ec": ec,
                                "restarts": int(restarts), "looks": 0,
                                "gone": fate.get("FAKE_GONE") == "1",
                                "hold": int(fate.get("FAKE_HOLD", "0")),
                                "t": time.time(), "pend": float(fate.get("FAKE_PEND_S", "0"))}
    out = opts.get("output", "").replace("%%", "%")
    if out:
        with open(out, "a") as f:
            f.write(fate.get("FAKE_OUTPUT", "fake job " + jid) + "\n")
    print(jid)
    if os.environ.get("SLURM_FAKE_KILL_PARENT") == "1":
        os.kill(os.getppid(), 9)
    return 0


def reason_of(job, state):
    return {"PENDING": "Priority", "RUNNING": "None", "COMPLETED": "None",
            "FAILED": "NonZeroExitCode", "TIMEOUT": "TimeLimit", "NODE_FAIL": "NodeDown",
            "CANCELLED": "None", "OUT_OF_MEMORY": "OutOfMemory", "PREEMPTED": "None",
            "BOOT_FAIL": "NodeDown"}.get(state, "None")


def show(fmt, jid, j, state):
    return (fmt.replace("%i", jid).replace("%T", state).replace("%r", reason_of(j, state))
          .replace("%A", j.get("array", jid)).replace("%k", j.get("comment") or "(null)")
          .replace("%j", j["name"]))


def squeue(args):
    ids = names = None
    fmt = "%i|%T|%r|%j"
    it = iter(args)
    rows = []
    for a in it:
        if a == "-j":
            ids = next(it).split(",")
        elif a == "-n":
            names = next(it).split(",")
        elif a == "-o":
            fmt = next(it)
    rc = squeue_rows(ids, names, fmt, rows)
    if "-r" not in args and "%i" in fmt:
        rows = collapse(rows, fmt)
    for r in rows:
        print(r)
    return rc


def collapse(rows, fmt):
    """Without -r, squeue shows an array's pending tasks as one "ID_[a-b]" line."""
    out, pend = [], {}
    for r in rows:
        m = re.match(r"^(\d+)_(\d+)\|PENDING\|", r) if fmt.startswith("%i|%T") else None
        if m:
            pend.setdefault(m.group(1), []).append((int(m.group(2)), r))
        else:
            out.append(r)
    for a, ts in pend.items():
        lo, hi = min(t for t, _ in ts), max(t for t, _ in ts)
        out.append(ts[0][1].replace(f"{a}_{ts[0][0]}|", f"{a}_[{lo}-{hi}]|", 1))
    return out


def squeue_rows(ids, names, fmt, rows):
    with Db() as db:
        jobs = db.data["jobs"]
        if ids is not None and len(ids) == 1 and (ids[0] not in jobs or jobs[ids[0]]["gone"]):
            sys.stderr.write("slurm_load_jobs error: Invalid job id specified\n")
            return 1
        for jid, j in jobs.items():
            if j["gone"] or (ids is not None and jid not in ids) or \
               (names is not None and j["name"] not in names):
                continue
            if time.time() - j.get("t", 0) < j.get("pend", 0):
                state = "CANCELLED" if j.get("cancelled") else "PENDING"
                rows.append(show(fmt, jid, j, state))
                continue
            if names is None and j.get("hold", 0) <= len(jobs):
                j["looks"] += 1
            elif names is None and j["looks"] < 2:
                j["looks"] = 2
            state = "PENDING" if j["looks"] <= 1 else "RUNNING" if j["looks"] == 2 else j["end"]
            if j.get("cancelled"):
                state = "CANCELLED"
            rows.append(show(fmt, jid, j, state))
    return 0


def scontrol(args):
    """`scontrol show job -o [ID]`: one job, or every job the controller holds;
    `scontrol show config`."""
    if args[:2] == ["show", "config"]:
        print("Configuration data as of 2026-12-07T02:00:00")
        print("AccountingStorageType   = accounting_storage/none")
        print(f"MaxArraySize            = {os.environ.get('SLURM_FAKE_MAX_ARRAY', '1001')}")
        print("MaxJobCount             = 10000")
        print("MinJobAge               = 300 sec")
        return 0
    with Db() as db:
        if args[-1] != "-o":
            jid = args[-1]
            j = db.data["jobs"].get(jid)
            if not j or j["gone"]:
                sys.stderr.write("slurm_load_jobs error: Invalid job id specified\n")
                return 1
            show_job(jid, j)
        else:
            for jid, j in db.data["jobs"].items():
                if not j["gone"]:
                    show_job(jid, j)
    return 0


def show_job(jid, j):
    state = "CANCELLED" if j.get("cancelled") else j["end"] if j["looks"] > 2 else "RUNNING"
    ec = "0:15" if j.get("cancelled") else j["ec"]
    arr = f"ArrayJobId={j['array']} ArrayTaskId={j['task']} " if "array" in j else ""
    print(f"JobId={j.get('raw', jid)} {arr}JobName={j['name']} UserId=root(0) GroupId=root(0) "
          f"MCS_label=N/A "
          f"Priority=4294901759 Nice=0 Account=(null) QOS=(null) JobState={state} "
          f"Reason={reason_of(j, state)} Dependency=(null) Requeue=1 Restarts={j['restarts']} "
          f"BatchFlag=1 Reboot=0 ExitCode={ec} RunTime=00:00:01 TimeLimit=00:03:00 "
          f"Partition=debug NodeList=localhost BatchHost=localhost NumNodes=1 NumCPUs=1 "
          f"Command=/fake/script WorkDir=/tmp StdErr=/fake/out StdIn=/dev/null "
          f"StdOut=/fake/out Power= ")


def scancel(args):
    """`scancel [-M CLUSTER] ID...`: silent, exit 0, also for ended or unknown jobs."""
    ids = [a for a in args if re.match(r"^\d+(_\d+)?$", a)]
    with Db() as db:
        for jid in ids:
            for k, j in db.data["jobs"].items():
                if k == jid or j.get("array") == jid:
                    j["cancelled"] = True
    return 0


def main():
    tool = os.path.basename(sys.argv[0])
    with open(db_path("calls.log"), "a") as f:
        f.write(json.dumps([tool] + sys.argv[1:]) + "\n")
    return {"sbatch": sbatch, "squeue": squeue, "scontrol": scontrol,
            "scancel": scancel}[tool](sys.argv[1:])


if __name__ == "__main__":
    sys.exit(main())
