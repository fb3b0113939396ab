#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""printer.py - a validation job (or command step) that prints secrets in every encoding.

    printer.py SECRETS.json [--exit N] [--wandb-url URL] [--cut | --cut-long] [--env-out FILE]

SECRETS.json maps a variable name to its value (what tests/secrets/leak.py set). The job did not
inherit them (relhost seals them); it read them from a file, as a job that fetches its own
credentials would. For each value it prints: the raw value, base64 of the value inside a longer
text at byte offsets 0, 1 and 2, base64 of "api:VALUE" (HTTP basic auth as W&B sends it),
URL-encoding with upper- and lower-case hex ('/' encoded or kept) and inside JSON. --cut ends the
log so that the first value straddles the start of the last 64 KiB (where log tails begin to
read) and the rest of that window is a few long lines; --cut-long ends it with one line longer
than 16 KiB in which the first value straddles the point 16 KiB before the end (where a tail
bounded in bytes cuts). --wandb-url prints the line W&B prints
for a run (so metrics_wandb asks that server). --env-out writes the job's environment (JSON).
"""
import base64
import json
import os
import sys
import urllib.parse


def lower_hex(s, safe=""):
    return "".join(c if c.isalnum() or c in "-_.~" + safe else "%%%02x" % ord(c) for c in s)


def main():
    args = sys.argv[1:]
    path = args.pop(0)
    code, wandb, cut, cut_long, env_out = 0, None, False, False, None
    while args:
        a = args.pop(0)
        if a == "--exit":
            code = int(args.pop(0))
        elif a == "--wandb-url":
            wandb = args.pop(0)
        elif a == "--cut":
            cut = True
        elif a == "--cut-long":
            cut_long = True
        elif a == "--env-out":
            env_out = args.pop(0)
    with open(path, encoding="utf-8") as f:
        values = json.load(f)
    if env_out:
        with open(env_out, "w", encoding="utf-8") as f:
            json.dump(dict(os.environ), f)
    out = sys.stdout
    out.write("step 100 | SPS: 31000 | loss 0.25\n")     # a metric for the acceptance check
    for name, v in sorted(values.items()):
        b = v.encode()
        out.write(f"{name} raw: {v}\n")
        sys.stderr.write(f"{name} on stderr: {v}\n")
        for k in range(3):
            text = b"x" * k + b"prefix " + b + b" and a suffix"
            out.write(f"{name} b64 at {k}: {base64.b64encode(text[: k + 7 + len(b) + 5]).decode()}"
                      f"\n")
        out.write(f"{name} b64 alone: {base64.b64encode(b).decode()}\n")
        out.write(f"{name} basic auth: Authorization: Basic "
                  f"{base64.b64encode(b'api:' + b).decode()}\n")
        out.write(f"{name} url upper: {urllib.parse.quote(v, safe='')}\n")
        out.write(f"{name} url lower: {lower_hex(v)}\n")
        out.write(f"{name} url keeps slash: {urllib.parse.quote(v, safe='/')}\n")
        out.write(f"{name} in json: {json.dumps({'token': v})}\n")
    if wandb:
        out.write(f"wandb: View run leaky at: {wandb}\n")
    if cut:
        # The first value straddles the start of the last 65536 bytes: its first 8 bytes lie
        # before it, the rest after, followed by ten long lines (fewer than any tail's line count).
        v = sorted(values.items())[0][1]
        tail = ("y" * 5999 + "\n") * 10
        pad = 65536 + 8 - len(v) - 1 - len(tail)
        out.write("cut here: " + v + "z" * pad + "\n" + tail)
    if cut_long:
        # One last line longer than 16 KiB, with the first value straddling the point 16 KiB
        # before the end (where a tail bounded in bytes cuts a long line).
        v = sorted(values.items())[0][1]
        out.write("long line: " + "q" * 20000 + v + "w" * (16384 + 8 - len(v) - 1) + "\n")
    out.flush()
    return code


if __name__ == "__main__":
    sys.exit(main())
