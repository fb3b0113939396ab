#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""A deterministic stand-in for a training or benchmark run (tests/baseline).

bench.py [--sps LIST] [--eval X] [--latency X] [--repeat K] [--count FILE] [--fail-unless FILE]
         [--concurrency DIR]
  --sps LIST         comma-separated SPS values; run K prints the K-th (cycling), so a repeated
                     validation passing --repeat {repeat} gets a different value per run
  --eval, --latency  print eval_success_rate / latency_ms (comma lists like --sps)
  --count FILE       append one line (the repeat) to FILE: counts executions as a side effect
  --fail-unless FILE exit 1 (after printing) unless FILE exists
  --concurrency DIR  record in DIR/max the most runs seen at once (held ~0.4 s each)
"""
import argparse
import fcntl
import os
import sys
import time


def pick(values, k):
    v = values.split(",")
    return v[(k - 1) % len(v)]


def concurrency(d, k):
    lock = os.path.join(d, "lock")
    me = os.path.join(d, f"run-{os.getpid()}")
    with open(lock, "a+") as lf:
        fcntl.flock(lf, fcntl.LOCK_EX)
        open(me, "w").close()
        now = len([f for f in os.listdir(d) if f.startswith("run-")])
        mx = os.path.join(d, "max")
        old = int(open(mx).read()) if os.path.exists(mx) else 0
        open(mx, "w").write(str(max(old, now)))
        fcntl.flock(lf, fcntl.LOCK_UN)
    time.sleep(0.4)
    os.unlink(me)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--sps")
    ap.add_argument("--eval")
    ap.add_argument("--latency")
    ap.add_argument("--repeat", type=int, default=1)
    ap.add_argument("--count")
    ap.add_argument("--fail-unless")
    ap.add_argument("--concurrency")
    a = ap.parse_args()
    k = a.repeat
    if a.count:
        with open(a.count, "a") as f:
            f.write(f"{k}\n")
    if a.concurrency:
        concurrency(a.concurrency, k)
    print(f"bench: run {k} (RELHOST_REPEAT={os.environ.get('RELHOST_REPEAT')})", flush=True)
    if a.sps:
        print(f"step 1 SPS: {pick(a.sps, k)} loss 0.5", flush=True)
    if a.eval:
        print(f"eval_success_rate: {pick(a.eval, k)}", flush=True)
    if a.latency:
        print(f"latency_ms: {pick(a.latency, k)}", flush=True)
    if a.fail_unless and not os.path.exists(a.fail_unless):
        print("bench: failing on purpose", flush=True)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
