#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""peek.py - the live table's running values (a metrics source's peek(), ABI 1.6).

On a terminal, each running job's row shows the latest values its metrics sources read so far,
the keys its checks read first; the values are for people only: what the table showed is never
judged (collect() alone posts the job's metrics), a source that crashes in peek() is an ERROR
like a crash in any other call, and without a terminal peek() is never called. Each case runs
with the source inside relhost and in a process of its own (isolate = true).

Run one case: peek.py <case>; all: peek.py; names: peek.py --list.
"""
import json
import os
import re
import signal
import sys

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))
import rh  # noqa: E402

# Prints a first value, waits long enough for several redraws (4 a second), then a second one.
SCRIPT = ("import sys, time\n"
          "print('step 1 sps: 1234', flush=True)\n"
          "time.sleep(2.5)\n"
          "print('step 2 sps: 5678', flush=True)\n"
          "time.sleep(0.3)\n")


def plan(d, source, check, isolate):
    return rh.write_plan(d, 'version = "1.0"; state_dir = "st"; log_dir = "logs";\n'
                            f'plugin_path = [{json.dumps(rh.fixture("faulty"))}];\n'
                            'runners = { local = { plugin = "runner_local"; }; };\n'
                            f'metrics = {{ src = {{ {source} isolate = {isolate}; }}; }};\n'
                            'steps = ( { name = "wf"; plugin = "workflow"; runner = "local"; '
                            'metrics = ["src"];\n  validations = ( { name = "v"; cmd = '
                            f'["python3", "-c", {json.dumps(SCRIPT)}]; acceptance = ( '
                            f'{check} ); }} ); }} );\n')


def rows(r):
    return [ln for ln in r.out.splitlines() if re.match(r"^    v\s+running\s", ln)]


def for_both(body):
    for isolate in ("false", "true"):
        body(isolate)


def case_a_running_jobs_row_shows_its_latest_values_checked_keys_first():
    def body(isolate):
        d = rh.scratch()
        p = plan(d, 'plugin = "metrics_regex";', '("sps_max", ">=", 1000.0)', isolate)
        r = rh.run_pty(["-c", p], cwd=d, cols=120)
        rh.expect(r, 0)
        live = rows(r)
        rh.check(any(re.search(r"\s{2}sps_max 1234(\s|$)", ln) for ln in live),
                 f"isolate={isolate}: a row showed the value read so far, the checked key "
                 f"first: {live!r}", r)
        rh.check(all(re.search(r"running\s+\S+\s{2}sps_max ", ln) for ln in live
                     if "sps" in ln), f"isolate={isolate}: the checked key comes first: {live!r}",
                 r)
        job = json.dumps(json.loads(rh.read(os.path.join(d, "st", "release_1.0.json")))
                         ["jobs"]["wf/v"])
        rh.check("5678" in job, f"isolate={isolate}: the job's evidence is collect()'s (the "
                 f"final max): {job}", r)
    for_both(body)


def case_values_the_table_showed_are_never_judged():
    # The fixture's peek() shows peeked_only = 42; its collect() posts nothing. A check of
    # peeked_only must find the metric missing, whatever the table showed.
    def body(isolate):
        d = rh.scratch()
        p = plan(d, 'plugin = "faulty";', '("peeked_only", ">=", 1.0)', isolate)
        r = rh.run_pty(["-c", p], cwd=d, cols=120)
        rh.expect(r, 1, out=[r"result: FAILED \(exit 1\)"])
        rh.check(any(re.search(r"peeked_only 42(\s|$)", ln) for ln in rows(r)),
                 f"isolate={isolate}: the table showed the peeked value: {rows(r)!r}", r)
        ex = rh.run(["explain", "-c", p, "--release", "1.0", "--json"], cwd=d)
        text = ex.out
        rh.check('"peeked_only"' in text and "missing" in text and "42" not in text,
                 f"isolate={isolate}: the check found the metric missing, no value 42 anywhere "
                 f"in the record: {text}", ex)
    for_both(body)


def case_a_source_that_crashes_in_peek_is_an_error_not_a_verdict():
    d = rh.scratch()
    p = plan(d, 'plugin = "faulty"; fault = "segv"; at = "peek";', '("peeked_only", ">=", 1.0)',
             "false")
    r = rh.run_pty(["-c", p], cwd=d, cols=120)
    rh.check(r.rc in (-signal.SIGSEGV, 128 + signal.SIGSEGV),
             "inside relhost: relhost dies of the plugin's SIGSEGV", r)
    rh.check("plugin faulty crashed during its peek() call" in r.out,
             "the message names the plugin and the call", r)
    st = rh.run(["status", "-c", p, "--release", "1.0", "--json"], cwd=d)
    doc = json.loads(st.out)
    wf = [s for s in doc.get("steps", []) if s.get("name") == "wf"]
    rh.check(wf and wf[0].get("outcome") == "ERROR" and wf[0].get("reason") == "plugin_crashed",
             f"the step is recorded ERROR (plugin_crashed): {wf}", st)

    d = rh.scratch()
    p = plan(d, 'plugin = "faulty"; fault = "segv"; at = "peek";', '("peeked_only", ">=", 1.0)',
             "true")
    r = rh.run_pty(["-c", p], cwd=d, cols=120)
    rh.expect(r, 3, out=[rh.q("plugin faulty crashed during its peek() call"),
                         r"result: NOT DECIDED \(exit 3\): 1 ERROR"])
    st = rh.run(["status", "-c", p, "--release", "1.0", "--json"], cwd=d)
    doc = json.loads(st.out)
    wf = [s for s in doc.get("steps", []) if s.get("name") == "wf"]
    rh.check(wf and wf[0].get("outcome") == "ERROR", f"isolated: the step is ERROR: {wf}", st)


def case_without_a_terminal_peek_is_never_called():
    def body(isolate):
        d = rh.scratch()
        p = plan(d, 'plugin = "faulty"; fault = "segv"; at = "peek";',
                 '("peeked_only", ">=", 1.0)', isolate)
        text = rh.read(p).replace('log_dir = "logs";', 'log_dir = "logs"; '
                                  'progress_interval = "1s";')
        with open(p, "w") as f:
            f.write(text)
        r = rh.run(["-c", p], cwd=d)
        rh.expect(r, 1, out=[r"^  \[wf\] 1 running", r"result: FAILED \(exit 1\)"],
                  not_any=[r"crashed", r"peeked_only 42"])
    for_both(body)


if __name__ == "__main__":
    sys.exit(rh.main(globals()))
