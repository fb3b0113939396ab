#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Helper process for workflow tests. Modes:
  concurrency DIR NAME  -- record how many probes run at once (max kept in DIR/max), then exit 0
  count FILE            -- append one line to FILE (counts executions), then print metrics
  escape PIDFILE        -- double-fork a grandchild that calls setsid() and ignores SIGTERM,
                           write its pid to PIDFILE, then sleep forever
  wait FILE             -- print a line, then wait until FILE exists, then exit 0
  fail-unless FILE      -- exit 1 unless FILE exists (then print metrics and exit 0)
  term REASON CODE NODES -- print metrics and the [SUMMARY] markers, then exit CODE
"""
import fcntl
import os
import signal
import sys
import time


def metrics():
    print("step 1 SPS: 31000 loss 0.5", flush=True)
    print("eval_success_rate: 0.95", flush=True)


def concurrency(d, name):
    lock = os.path.join(d, "lock")
    with open(lock, "a+") as lf:
        fcntl.flock(lf, fcntl.LOCK_EX)
        open(os.path.join(d, "run-" + name), "w").close()
        now = len([f for f in os.listdir(d) if f.startswith("run-")])
        mx = os.path.join(d, "max")
        old = int(open(mx).read()) if os.path.exists(mx) else 0
        open(mx, "w").write(str(max(old, now)))
        fcntl.flock(lf, fcntl.LOCK_UN)
    time.sleep(0.4)
    with open(lock, "a+") as lf:
        fcntl.flock(lf, fcntl.LOCK_EX)
        os.unlink(os.path.join(d, "run-" + name))
        fcntl.flock(lf, fcntl.LOCK_UN)
    metrics()


def escape(pidfile):
    if os.fork() == 0:
        os.setsid()
        if os.fork() == 0:
            signal.signal(signal.SIGTERM, signal.SIG_IGN)
            with open(pidfile + ".tmp", "w") as f:
                f.write(str(os.getpid()))
            os.rename(pidfile + ".tmp", pidfile)
            while True:
                time.sleep(1)
        os._exit(0)
    print("started a setsid grandchild", flush=True)
    while True:
        time.sleep(1)


def main():
    mode = sys.argv[1]
    if mode == "concurrency":
        concurrency(sys.argv[2], sys.argv[3])
    elif mode == "count":
        with open(sys.argv[2], "a") as f:
            f.write("x\n")
        metrics()
    elif mode == "escape":
        escape(sys.argv[2])
    elif mode == "wait":
        print("waiting for " + sys.argv[2], flush=True)
        while not os.path.exists(sys.argv[2]):
            time.sleep(0.05)
        metrics()
    elif mode == "term":
        metrics()
        print(f"nodes={sys.argv[4]}", flush=True)
        print(f"[SUMMARY] Exit code: {sys.argv[3]}", flush=True)
        print(f"[SUMMARY] Termination reason: {sys.argv[2]}", flush=True)
        return int(sys.argv[3])
    elif mode == "fail-unless":
        if not os.path.exists(sys.argv[2]):
            print("flag missing: failing", flush=True)
            return 1
        metrics()
    return 0


if __name__ == "__main__":
    sys.exit(main())
