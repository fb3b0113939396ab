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


def sbatch(args):
    opts, script = {}, args[-1]
    for a in args[:-1]:
        if a.startswith("--") and "=" in a:
            k, v = a[2:].split("=", 1)
            opts[k] = v
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
    return 0


def reason_of(job, state):
    return {"PENDING": "Priority", "RUNNING": "None", "COMPLETED": "None",
            "FAILED": "NonZeroExitCode", "TIMEOUT": "TimeLimit", "NODE_FAIL": "NodeDown",
            "CANCELLED": "None", "OUT_OF_MEMORY": "OutOfMemory", "PREEMPTED": "None",
            "BOOT_FAIL": "NodeDown"}.get(state, "None")


def squeue(args):
    ids = names = None
    fmt = "%i|%T|%r|%j"
    it = iter(args)
    for a in it:
        if a == "-j":
            ids = next(it).split(",")
        elif a == "-n":
            names = next(it).split(",")
        elif a == "-o":
            fmt = next(it)
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
                print(fmt.replace("%i", jid).replace("%T", state)
                      .replace("%r", reason_of(j, state)).replace("%j", j["name"]))
                continue
            if names is None and j.get("hold", 0) <= len(jobs):
                j["looks"] += 1
            elif names is None and j["looks"] < 2:
                j["looks"] = 2
            state = "PENDING" if j["looks"] <= 1 else "RUNNING" if j["looks"] == 2 else j["end"]
            if j.get("cancelled"):
                state = "CANCELLED"
            print(fmt.replace("%i", jid).replace("%T", state)
                  .replace("%r", reason_of(j, state)).replace("%j", j["name"]))
    return 0


def scontrol(args):
    """`scontrol show job -o [ID]`: one job, or every job the controller holds."""
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
    print(f"JobId={jid} JobName={j['name']} UserId=root(0) GroupId=root(0) MCS_label=N/A "
          f"Priority=4294901759 Nice=0 Account=(null) QOS=(null) JobState={state} "
          f"Reason={reason_of(j, state)} Dependency=(null) Requeue=1 Restarts={j['restarts']} "
          f"BatchFlag=1 Reboot=0 ExitCode={ec} RunTime=00:00:01 TimeLimit=00:03:00 "
          f"Partition=debug NodeList=localhost BatchHost=localhost NumNodes=1 NumCPUs=1 "
          f"Command=/fake/script WorkDir=/tmp StdErr=/fake/out StdIn=/dev/null "
          f"StdOut=/fake/out Power= ")


def scancel(args):
    """`scancel [-M CLUSTER] ID...`: silent, exit 0, also for ended or unknown jobs."""
    ids = [a for a in args if a.isdigit()]
    with Db() as db:
        for jid in ids:
            j = db.data["jobs"].get(jid)
            if j:
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
