#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""What the Slurm test jobs run. Modes:
  metrics                 print training-like lines (SPS, eval success rate), exit 0
  sleep SECONDS           print a line, sleep, print metrics, exit 0
  wait FILE               print "waiting", wait until FILE exists, print metrics, exit 0
  exit CODE               print a line, exit CODE
  env OUT NAME...         write {NAME: value or null} and the job's folder as JSON to OUT, exit 0
"""
import json
import os
import sys
import time


def metrics():
    print("epoch 1 | 87,750 SPS | loss 0.41", flush=True)
    print("step 2 SPS: 31000", flush=True)
    print("eval_success_rate: 0.93", flush=True)


def main():
    mode, args = sys.argv[1], sys.argv[2:]
    if mode == "metrics":
        metrics()
    elif mode == "sleep":
        print("sleeping " + args[0], flush=True)
        time.sleep(float(args[0]))
        metrics()
    elif mode == "wait":
        print("waiting for " + args[0], flush=True)
        while not os.path.exists(args[0]):
            time.sleep(0.1)
        metrics()
    elif mode == "exit":
        print("about to exit with " + args[0], flush=True)
        return int(args[0])
    elif mode == "env":
        out = {n: os.environ.get(n) for n in args[1:]}
        out["__cwd__"] = os.getcwd()
        with open(args[0] + ".tmp", "w") as f:
            json.dump(out, f)
        os.rename(args[0] + ".tmp", args[0])
        print("environment written", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
