#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""A validation's command for skypilot.py, run by the fake sky "on the cluster". Modes:
  sps VALUE [GATE]       print an SPS line (coloured, as trainers do); with GATE, wait until that
                         file exists; then the eval rate and [SUMMARY] Exit code: 0; exit 0
  fail CODE [summary]    print an SPS line (and [SUMMARY] Exit code: CODE); exit CODE
  argv OUT ARGS...       write {"argv": ARGS, "env": {...}} to OUT as JSON; print an SPS line
  secret OUT NAME        write the sha256 of $NAME to OUT (never the value); print an SPS line
  sleep SECONDS          print an SPS line, sleep, exit 0
"""
import hashlib
import json
import os
import sys
import time


def sps(value="31000"):
    print(f"\x1b[32mstep 1 SPS: {value} loss 0.5\x1b[0m", flush=True)


def main():
    mode = sys.argv[1]
    if mode == "sps":
        sps(sys.argv[2])
        if len(sys.argv) > 3:
            print("waiting for the gate", flush=True)
            end = time.time() + 90
            while not os.path.exists(sys.argv[3]) and time.time() < end:
                time.sleep(0.05)
        print("eval_success_rate: 0.95", flush=True)
        print("[SUMMARY] Exit code: 0", flush=True)
        return 0
    if mode == "fail":
        sps()
        if len(sys.argv) > 3:
            print(f"[SUMMARY] Exit code: {sys.argv[2]}", flush=True)
        return int(sys.argv[2])
    if mode == "argv":
        keep = ("RELHOST_JOB", "RELHOST_VALIDATION", "RELHOST_ATTEMPT", "RELHOST_LOG", "PLAIN",
                "FROM_TEMPLATE", "RELHOST_PROC")
        with open(sys.argv[2], "w") as f:
            json.dump({"argv": sys.argv[3:], "cwd": os.getcwd(),
                       "env": {k: os.environ[k] for k in keep if k in os.environ}}, f)
        sps()
        return 0
    if mode == "secret":
        with open(sys.argv[2], "w") as f:
            f.write(hashlib.sha256(os.environ.get(sys.argv[3], "").encode()).hexdigest())
        sps()
        return 0
    if mode == "sleep":
        sps()
        time.sleep(float(sys.argv[2]))
        return 0
    print("job.py: unknown mode", mode, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
