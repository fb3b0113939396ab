#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""The manuals keep up with the code: every option `relhost --help` lists is in relhost(1), every
exit code is in both relhost(1) and --help, every top-level plan key the loader accepts is
in relhost.cfg(5), and every manual renders with groff without a warning (when groff is here)."""
import glob
import os
import re
import shutil
import subprocess
import sys

BIN = os.environ["RELHOST_BIN"]
SRC = os.environ["RELHOST_SOURCE_DIR"]


def man_text(name):
    raw = open(os.path.join(SRC, "docs", name)).read()
    return raw.replace("\\-", "-").replace("\\e", "\\")


def main():
    bad = []
    helptext = subprocess.run([BIN, "--help"], capture_output=True, text=True).stdout
    man1 = man_text("relhost.1")
    man5 = man_text("relhost.cfg.5")
    for opt in sorted(set(re.findall(r"(?<![\w-])--[a-z][a-z-]+", helptext))):
        if opt not in man1:
            bad.append(f"option {opt} is in --help but not in docs/relhost.1")
    for code in ["0", "1", "2", "3", "4", "75", "130", "143"]:
        if not re.search(r"^\s*" + code + r"\s", helptext, re.M):
            bad.append(f"exit code {code} missing from --help")
        if not re.search(r"^\.B " + code + r"$", man1, re.M):
            bad.append(f"exit code {code} missing from docs/relhost.1")
    core = subprocess.run([BIN, "plugins", "--describe", "core"], capture_output=True,
                          text=True).stdout
    keys = re.findall(r"^  ([a-z_]+)\s", core, re.M)
    if len(keys) < 10:
        bad.append(f"`relhost plugins --describe core` lists {len(keys)} keys:\n{core}")
    for key in keys:
        if not re.search(r"^\.B " + key + r"$", man5, re.M):
            bad.append(f"plan key {key} is accepted by core/plan/plan.c but not in "
                       "docs/relhost.cfg.5")
    if shutil.which("groff"):
        pages = sorted(glob.glob(os.path.join(SRC, "docs", "*.[135]")))
        g = subprocess.run(["groff", "-man", "-Tutf8", "-ww"] + pages, capture_output=True,
                           text=True)
        if g.returncode != 0 or g.stderr.strip():
            bad.append(f"groff -man -Tutf8 -ww {' '.join(os.path.basename(x) for x in pages)} "
                       f"warns (exit {g.returncode}):\n{g.stderr.strip()}")
    else:
        print("groff not found: the manuals' rendering is not checked")
    for b in bad:
        print("FAIL:", b)
    print("ok" if not bad else f"{len(bad)} problem(s)")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
