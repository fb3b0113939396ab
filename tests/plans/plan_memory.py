#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""plan_memory.py - a big plan is checked in memory proportional to its size (issue 17).

A 50 MB plan used to need 1.57 GB: libconfig's tree of the whole plan (about fifteen times its
text) stayed in memory beside every step's filled options, each with a "file:line" string of
its own. Now the step lists are parsed a slice at a time and the tree goes once the options are
filled. Each case runs `relhost --check` with its data segment limited (RLIMIT_DATA: the heap
and private writable mappings) to a base plus BUDGET times the plan's size; the base is the
least limit a plan of one step checks within, so the shared libraries and relhost's own start-up
are not counted. Over the limit, malloc fails and relhost aborts: the case fails. The steps are
written as plans write them (about 130 bytes each), and bare on one line (80 bytes each: --check
prints each step once described and frees its notes, which were most of its 11x).
Skipped in the sanitizer build, whose shadow memory and quarantine are not the program's.

The plan is read in slices (core/plan/plan_slices.h), so the cases below also hold that a
message about a step deep in a big plan keeps its exact file:line and wording.

Run one case: plan_memory.py <case>; all: plan_memory.py; names: plan_memory.py --list.
"""
import json
import os
import resource
import signal
import subprocess
import sys
import time

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))
import rh  # noqa: E402

BUDGET = 10               # bytes of data segment per byte of plan, over the base
SLACK = 1 << 20           # on top of the base: the allocator's rounding of a few big blocks
HEAD = 'plugin_path = {plugins};\nversion = "1.0";\nstate_dir = "state"; log_dir = "logs";\n'


def skip_sanitized():
    with open(rh.relhost_bin(), "rb") as f:
        if b"__asan_init" in f.read():
            raise rh.Skip("the sanitizer build reserves shadow memory beyond any budget")


def steps_plan(folder, n):
    """n command steps as a plan writes them: a name, a description, a command with arguments and
    a timeout (about 130 bytes a step)."""
    lines = [f'  {{ name = "check-{i:06d}"; plugin = "command"; description = "suite check {i}";\n'
             f'    cmd = ["test", "-d", "."]; timeout = "5m"; }}' for i in range(n)]
    text = (HEAD.format(plugins=json.dumps([rh.plugin_dir()])) + "steps = (\n" +
            ",\n".join(lines) + "\n);\n")
    return rh.write_plan(folder, text)


def list_plan(folder, mb):
    """Three steps, the middle one's cmd a list of mb MB of 100-byte strings."""
    item = '"' + "x" * 96 + '", '
    n = mb * 1000 * 1000 // len(item)
    rows = "\n".join("    " + item * min(10, n - i) for i in range(0, n, 10))
    text = (HEAD.format(plugins=json.dumps([rh.plugin_dir()])) + "steps = (\n"
            '  { name = "before"; plugin = "command"; cmd = ["true"]; },\n'
            '  { name = "big"; plugin = "command"; cmd = ["true",\n' + rows + '\n    "end"]; },\n'
            '  { name = "after"; plugin = "command"; cmd = ["true"]; }\n);\n')
    return rh.write_plan(folder, text)


def check_within(plan, limit):
    """relhost -c plan --check with RLIMIT_DATA = limit bytes: its CompletedProcess."""
    def lower():
        resource.setrlimit(resource.RLIMIT_DATA, (limit, limit))
    return subprocess.run([rh.relhost_bin(), "-c", plan, "--check"], cwd=os.path.dirname(plan),
                          env=rh.base_env(), stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                          stderr=subprocess.PIPE, text=True, timeout=300, preexec_fn=lower)


def base_limit():
    """The least RLIMIT_DATA (to 256 KiB) under which a plan of one step checks."""
    plan = steps_plan(rh.scratch("base"), 1)
    lo, hi = 0, 1 << 30
    if check_within(plan, hi).returncode != 0:
        rh.fail(f"a plan of one step does not even check within {hi >> 20} MiB")
    while hi - lo > 256 << 10:
        mid = (lo + hi) // 2
        if check_within(plan, mid).returncode == 0:
            hi = mid
        else:
            lo = mid
    return hi


def expect_within_budget(plan, what):
    size = os.path.getsize(plan)
    base = base_limit()
    limit = base + SLACK + BUDGET * size
    r = check_within(plan, limit)
    rh.check(r.returncode == 0,
             f"{what} ({size >> 10} KiB) did not check within {limit >> 20} MiB of data "
             f"(base {base >> 20} MiB + {BUDGET}x the plan): exit {r.returncode}\n"
             f"stderr: {r.stderr[-2000:]}")


def case_many_steps_within_ten_times_the_plan():
    skip_sanitized()
    expect_within_budget(steps_plan(rh.scratch(), 30000), "a plan of 30000 steps")


def bare_plan(folder, n):
    """n command steps on one line each, nothing but a name and a command (about 80 bytes)."""
    lines = [f'  {{ name = "step-{i:06d}"; plugin = "command"; cmd = ["true"]; required = true; }}'
             for i in range(n)]
    text = (HEAD.format(plugins=json.dumps([rh.plugin_dir()])) + "steps = (\n" +
            ",\n".join(lines) + "\n);\n")
    return rh.write_plan(folder, text)


def case_bare_one_line_steps_within_ten_times_the_plan():
    skip_sanitized()
    expect_within_budget(bare_plan(rh.scratch(), 30000), "a plan of 30000 bare one-line steps")


def case_a_huge_list_within_ten_times_the_plan():
    skip_sanitized()
    expect_within_budget(list_plan(rh.scratch(), 8), "a plan with an 8 MB string list")


def case_the_limit_bites():
    """The limit is real: the same plan does not check within a tenth of its budget."""
    skip_sanitized()
    plan = steps_plan(rh.scratch(), 30000)
    limit = base_limit() + BUDGET * os.path.getsize(plan) // 10
    r = check_within(plan, limit)
    rh.check(r.returncode != 0, f"checked within {limit >> 20} MiB: the limit does not bite")


# ---- a big plan is read in slices: every file:line and message stays the file's own ----------

def big_plan_with(step_text, at=1500, n=2000):
    """n steps with step number `at` (1-based) replaced by step_text (marked #HERE)."""
    d = rh.scratch()
    lines = [f'  {{ name = "step-{i:06d}"; plugin = "command"; cmd = ["true"]; }},'
             for i in range(1, n + 1)]
    lines[at - 1] = "  " + step_text + ",  #HERE"
    lines[-1] = lines[-1].rstrip(",")
    text = (HEAD.format(plugins=json.dumps([rh.plugin_dir()])) + "steps = (\n" +
            "\n".join(lines) + "\n);\n")
    return d, rh.write_plan(d, text)


def refused(path, d, err):
    r = rh.run(["-c", path, "--check"], cwd=d)
    rh.expect(r, 2, err=[err])
    return r


def case_an_unknown_key_late_in_a_big_plan_names_its_line():
    d, p = big_plan_with('{ name = "late"; plugin = "command"; cmd = ["true"]; colour = 1; }')
    refused(p, d, rh.at(p, "#HERE") + r"step \"late\": 'colour' is not a known key; allowed: ")


def case_a_duplicate_late_in_a_big_plan_names_both_lines():
    d, p = big_plan_with('{ name = "step-000002"; plugin = "command"; cmd = ["true"]; }')
    first = f"{p}:{rh.line_of(p, 'name = ' + chr(34) + 'step-000002')})"
    refused(p, d, rh.at(p, "#HERE") + rh.q(f'duplicate step name "step-000002" (first at {first}'))


def case_a_syntax_error_late_in_a_big_plan_is_libconfigs():
    d, p = big_plan_with('{ name = "late"; plugin = "command"; cmd = ["true"]; } }')
    refused(p, d, rh.at(p, "#HERE") + r"syntax error \(libconfig syntax; see relhost\.cfg\(5\)\)")


def case_a_bad_value_late_in_a_big_plan_names_its_line_and_set_still_reaches_it():
    d, p = big_plan_with('{ name = "late"; plugin = "command"; cmd = ["true"]; timeout = "soon"; }')
    refused(p, d, rh.at(p, "#HERE") + r"step \"late\": 'timeout' ")
    r = rh.run(["-c", p, "--check", "--set", "steps.late.timeout=5m"], cwd=d)
    rh.expect(r, 0, out=[r"late"])


def case_sigint_during_a_long_plan_load_stops_at_once():
    # Filling the steps of a plan of 200,000 steps takes seconds; a Ctrl-C meanwhile must end
    # relhost then, not after the whole load. The last step has a bad value, found only when
    # its slice is filled (the syntax is checked first, and fast): a relhost that finished the
    # load would report it and exit 2.
    d = rh.scratch()
    lines = [f'  {{ name = "step-{i:06d}"; plugin = "command"; cmd = ["true"]; }},'
             for i in range(200000)]
    text = (HEAD.format(plugins=json.dumps([rh.plugin_dir()])) + "steps = (\n" +
            "\n".join(lines) +
            '\n  { name = "late"; plugin = "command"; cmd = ["true"]; timeout = "soon"; }\n);\n')
    p = rh.write_plan(d, text)
    proc = subprocess.Popen([rh.relhost_bin(), "-c", p, "--check"], cwd=d, env=rh.base_env(),
                            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    try:
        time.sleep(0.5)
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=300)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    rh.check(proc.returncode in (-signal.SIGINT, 130),
             f"SIGINT during the load ends relhost (exit {proc.returncode})\nstderr: {err[-500:]}")
    rh.check("soon" not in err, "it stopped before the load was over: " + err[-500:])


if __name__ == "__main__":
    sys.exit(rh.main(globals()))
