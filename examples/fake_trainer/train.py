#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""A stand-in for a training run, for relhost's demo plan and tests.

It prints what real trainers print (progress lines with SPS in several formats, an eval
success rate, the [SUMMARY] markers of the cluster launcher) without needing a GPU, an
account or the network. Options choose the speed, the eval result and how the run ends.
"""
import argparse
import random
import sys
import time


def fmt_sps(sps, style):
    if style == "ksps":
        return f"{sps / 1000:.2f} ksps"
    if style == "table":
        return f"{int(sps):,} SPS"
    return f"SPS: {int(sps)}"


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--timesteps", type=int, default=1000)
    ap.add_argument("--sps", type=float, default=35000.0, help="mean steps per second printed")
    ap.add_argument("--eval", type=float, default=0.93, help="eval success rate printed at the end")
    ap.add_argument("--style", choices=["plain", "ksps", "table"], default="plain")
    ap.add_argument("--lines", type=int, default=10, help="progress lines")
    ap.add_argument("--delay", type=float, default=0.02, help="seconds between progress lines")
    ap.add_argument("--exit", type=int, default=0, help="exit code")
    ap.add_argument("--termination", default="job_completed")
    ap.add_argument("--seed", type=int, default=1)
    a = ap.parse_args()
    rng = random.Random(a.seed)
    print(f"trainer: starting run, total_timesteps={a.timesteps}", flush=True)
    for i in range(1, a.lines + 1):
        step = a.timesteps * i // a.lines
        sps = a.sps * (0.9 + 0.2 * rng.random())
        loss = 1.0 / (1 + i)
        print(f"[step {step:>8}/{a.timesteps}] {fmt_sps(sps, a.style)} | loss {loss:.4f}", flush=True)
        time.sleep(a.delay)
    print(f"evaluation: episodes=32 eval_success_rate: {a.eval:.3f}", flush=True)
    print(f"[SUMMARY] Exit code: {a.exit}", flush=True)
    print(f"[SUMMARY] Termination reason: {a.termination}", flush=True)
    print("[SUMMARY] Restart Count: 0", flush=True)
    return a.exit


if __name__ == "__main__":
    sys.exit(main())
