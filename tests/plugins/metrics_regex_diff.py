#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Differential test: metrics_regex's default patterns against the seed's own regexes.

Generates random logs in the formats the seed read correctly (`step 12 SPS: 31000 loss 0.3`,
`SPS=31000`, `eval_success_rate: 0.93`, noise), feeds each to the real plugin through
metrics_regex_feed in seeded random chunks, and compares sps_max, sps_last and eval_success_rate
(and their sample counts) with what Python `re` finds using the seed's regexes exactly, reading
the whole text at once as the seed did. Formats where the seed misread (DESIGN.md "Default
metrics") are deliberately not generated: there relhost is right and the seed is not.

usage: metrics_regex_diff.py PATH/TO/metrics_regex_feed [N_LOGS]
"""
import json
import random
import re
import subprocess
import sys

SEED_SPS = re.compile(r"\bSPS[:=]\s*(\d+(?:\.\d+)?)", re.IGNORECASE)
SEED_EVAL = re.compile(r"\beval[_\s-]?success[_\s-]?rate[:=]\s*(0?\.\d+|1(?:\.0)?)", re.IGNORECASE)

WORDS = ["INFO", "DEBUG", "WARNING", "trainer", "epoch", "reward", "agent_steps", "loss",
         "policy", "value", "entropy", "grad_norm", "checkpoint", "saved", "to", "/tmp/ckpt",
         "lr", "env", "arena", "heartbeat", "ok", "|", "-", "=", "[train]", "(avg)", "12:00:01"]


def number(rng):
    """A number as the seed's (\\d+(?:\\.\\d+)?) captures it whole."""
    n = str(rng.choice([rng.randint(0, 9), rng.randint(10, 999), rng.randint(1000, 200000)]))
    if rng.random() < 0.3:
        n += "." + str(rng.randint(0, 99999))
    return n


def case(rng, word):
    return rng.choice([word.lower(), word.upper(), word.capitalize(), word])


def noise(rng):
    parts = []
    for _ in range(rng.randint(0, 10)):
        w = rng.choice(WORDS)
        parts.append(w if rng.random() < 0.7 else number(rng))
    return " ".join(parts)


def sps_item(rng):
    sep = rng.choice([":", "=", ": ", "= ", ":  ", ":\t"])
    return case(rng, "SPS") + sep + number(rng)


def eval_item(rng):
    s1 = rng.choice(["_", " ", "-", "", "\t"])
    s2 = rng.choice(["_", " ", "-", ""])
    name = case(rng, "eval") + s1 + case(rng, "success") + s2 + case(rng, "rate")
    value = rng.choice(["0." + str(rng.randint(0, 999)), "." + str(rng.randint(0, 99)), "1",
                        "1.0", "0.5"])
    return name + rng.choice([":", "=", ": "]) + value


def line(rng):
    """One line; metric items are separated from neighbours by a space or the line's ends."""
    r = rng.random()
    if r < 0.45:
        return noise(rng)
    items = [noise(rng)] if rng.random() < 0.5 else []
    for _ in range(rng.choice([1, 1, 1, 2])):
        items.append(sps_item(rng) if rng.random() < 0.7 else eval_item(rng))
        if rng.random() < 0.5:
            items.append(noise(rng))
    if rng.random() < 0.2:
        items.insert(0, "step %d" % rng.randint(0, 10**6))
    return " ".join(i for i in items if i)


def make_log(rng):
    eol = rng.choice(["\n", "\n", "\r\n"])
    text = eol.join(line(rng) for _ in range(rng.randint(0, 300)))
    if text and rng.random() < 0.7:
        text += eol
    return text


def expected(text):
    sps = [float(x) for x in SEED_SPS.findall(text)]
    ev = [float(x) for x in SEED_EVAL.findall(text)]
    want = {}
    if sps:
        want["sps_max"] = (max(sps), len(sps))
        want["sps_last"] = (sps[-1], len(sps))
    if ev:
        want["eval_success_rate"] = (ev[-1], len(ev))
    return want


def main():
    if len(sys.argv) < 2:
        print(__doc__, file=sys.stderr)
        return 2
    feed = sys.argv[1]
    n_logs = int(sys.argv[2]) if len(sys.argv) > 2 else 200
    failures = 0
    compared = 0
    for i in range(n_logs):
        rng = random.Random(1000 + i)
        text = make_log(rng)
        max_chunk = rng.choice([1, 2, 7, 64, 4096, 65536])
        out = subprocess.run([feed, "--seed", str(i), "--max-chunk", str(max_chunk)],
                             input=text.encode(), capture_output=True, check=False)
        if out.returncode != 0:
            print("log %d: feed failed (%d): %s" % (i, out.returncode, out.stderr.decode()))
            failures += 1
            continue
        got = {}
        for raw in out.stdout.decode().splitlines():
            rec = json.loads(raw)
            if rec.get("metric") in ("sps_max", "sps_last", "eval_success_rate"):
                got[rec["metric"]] = (rec["value"], rec["samples"])
        want = expected(text)
        compared += len(want)
        if got != want:
            failures += 1
            print("log %d (max chunk %d): relhost %s, seed regexes %s" % (i, max_chunk, got, want))
            for key in set(got) | set(want):
                if got.get(key) != want.get(key):
                    print("  %s differs" % key)
            if failures > 5:
                break
    # The comparison is only worth something when the logs actually held values.
    if compared < n_logs:
        print("only %d metric values compared over %d logs" % (compared, n_logs))
        failures += 1
    print("%d passed, %d failed" % (n_logs - failures, failures))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
