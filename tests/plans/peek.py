#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""peek.py - the live table's running values (a metrics source's peek(), ABI 1.6).

On a terminal, each running job's row shows the latest values its metrics sources read so far,
the keys its checks read first, however many values a source shows (isolated too); every line of
the table fits the terminal, however narrow, and leaves a clean screen. The values are for people
only: what the table showed is never judged (collect() alone posts the job's metrics) and reaches
no file and no other output; a source that crashes in peek() is an ERROR like a crash in any other
call, and without a terminal peek() is never called. Each case runs with the source inside relhost
and in a process of its own (isolate = true).

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


def wrapped_screen(raw, cols):
    """What a terminal of `cols` columns that wraps long lines (as xterm does: a character past
    the last column starts the next row) shows at the end of raw output: text, CR, LF, cursor up
    (ESC [ n A), erase to the end of the screen (ESC [ J) and of the line (ESC [ K); colours
    dropped. Rows are counted from the first line of output (no scrolling)."""
    if isinstance(raw, bytes):
        raw = raw.decode(errors="replace")
    text = re.sub(r"\x1b\[[0-9;]*m", "", raw)
    lines, row, col, pending = [""], 0, 0, False
    i = 0
    while i < len(text):
        m = re.match(r"\x1b\[(\d*)([AJK])", text[i:])
        if m:
            if m.group(2) == "A":
                row = max(0, row - int(m.group(1) or 1))
            elif m.group(2) == "J":
                lines[row] = lines[row][:col]
                del lines[row + 1:]
            else:
                lines[row] = lines[row][:col]
            pending = False
            i += m.end()
            continue
        ch = text[i]
        i += 1
        if ch in "\r\n":
            row, col, pending = row + (ch == "\n"), 0, False
        else:
            if pending:
                row, col, pending = row + 1, 0, False
            if row >= len(lines):
                lines += [""] * (row + 1 - len(lines))
            line = lines[row].ljust(col)
            lines[row] = line[:col] + ch + line[col + 1:]
            pending = col == cols - 1
            col = col if pending else col + 1
        if row >= len(lines):
            lines += [""] * (row + 1 - len(lines))
    return "\n".join(lines)


def numbers(doc):
    """Every number in a JSON document (a value 42 anywhere, not "42" inside a time or a
    duration such as 2.9542)."""
    if isinstance(doc, dict):
        return [n for v in doc.values() for n in numbers(v)]
    if isinstance(doc, list):
        return [n for v in doc for n in numbers(v)]
    return [doc] if isinstance(doc, (int, float)) and not isinstance(doc, bool) else []


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
    # peeked_only must find the metric missing, whatever the table showed. It also shows a key
    # holding ESC [2J, a bell and UTF-8: the terminal gets none of them.
    def body(isolate):
        d = rh.scratch()
        p = plan(d, 'plugin = "faulty";', '("peeked_only", ">=", 1.0)', isolate)
        r = rh.run_pty(["-c", p], cwd=d, cols=120)
        rh.expect(r, 1, out=[r"result: FAILED \(exit 1\)"])
        rh.check(any(re.search(r"peeked_only 42(\s|$)", ln) for ln in rows(r)),
                 f"isolate={isolate}: the table showed the peeked value: {rows(r)!r}", r)
        rh.check(any(re.search(r"\s{2}ctl\?\[2J\?\?\? -1(?!\d)", ln) for ln in rows(r)) and
                 "\x1b[2J" not in r.raw and "\x07" not in r.raw and "\u00e9" not in r.raw,
                 f"isolate={isolate}: a key's terminal code, bell and UTF-8 bytes were shown as "
                 f"'?', never sent to the terminal: {rows(r)!r}", r)
        ex = rh.run(["explain", "-c", p, "--release", "1.0", "--json"], cwd=d)
        text = ex.out
        rh.check('"peeked_only"' in text and "missing" in text and
                 42 not in numbers(json.loads(text)),
                 f"isolate={isolate}: the check found the metric missing, no value 42 anywhere "
                 f"in the record: {text}", ex)
    for_both(body)


def case_values_the_table_showed_reach_no_file_and_no_other_output():
    # The fixture's peek() shows peeked_only and bytes_fed, keys its collect() never posts,
    # beside metrics_regex's values; the release is staged, judged and promoted with every
    # report written. Neither key may be in any file of the run (state, journal, notes, logs,
    # reports, registry, baseline, audit, status page) nor in any command's output.
    def body(isolate):
        d = rh.scratch()
        os.makedirs(os.path.join(d, "dist"))
        rh.write(os.path.join(d, "dist", "m.bin"), "w\n")
        p = rh.write_plan(d, 'version = "1.0"; state_dir = "st"; log_dir = "logs"; '
                             'registry_dir = "reg";\n'
                             f'plugin_path = [{json.dumps(rh.fixture("faulty"))}];\n'
                             'runners = { local = { plugin = "runner_local"; }; };\n'
                             f'metrics = {{ pk = {{ plugin = "faulty"; isolate = {isolate}; }};\n'
                             f'  rx = {{ plugin = "metrics_regex"; isolate = {isolate}; }}; }};\n'
                             'steps = ( { name = "stage"; plugin = "registry"; action = "stage"; '
                             'artifacts = ["dist/*.bin"]; },\n'
                             ' { name = "wf"; plugin = "workflow"; runner = "local"; '
                             'metrics = ["pk", "rx"];\n  validations = ( { name = "v"; cmd = '
                             f'["python3", "-c", {json.dumps(SCRIPT)}]; acceptance = ( '
                             '("sps_max", ">=", 1.0) ); } ); },\n'
                             ' { name = "promote"; plugin = "registry"; action = "promote"; '
                             'publishes = true; } );\n')
        r = rh.run_pty(["-c", p, "--report-junit", "r.xml", "--report-json", "r.json",
                        "--report-md", "r.md"], cwd=d, cols=160)
        rh.expect(r, 0)
        rh.check(any(re.search(r"peeked_only 42\s+bytes_fed \d", ln) for ln in rows(r)),
                 f"isolate={isolate}: the table showed the peeked values: {rows(r)!r}", r)
        outputs = []
        for args in (["site"], ["explain"], ["explain", "--json"], ["status"],
                     ["status", "--json"], ["status", "--logs"], ["releases"],
                     ["releases", "--json"], ["report", "--format", "md", "-o", "-"],
                     ["report", "--format", "json", "-o", "-"],
                     ["report", "--format", "junit", "-o", "-"]):
            o = rh.run(args + ["-c", p], cwd=d)
            rh.expect(o, 0)
            outputs.append((" ".join(args), o.out + o.err))
        for root, _, files in os.walk(d):
            for f in files:
                path = os.path.join(root, f)
                if path != p:
                    with open(path, "rb") as fh:
                        outputs.append((path, fh.read().decode(errors="replace")))
        rh.check(any(name.endswith("index.html") for name, _ in outputs) and
                 any(name.endswith("release_1.0.md") for name, _ in outputs),
                 f"isolate={isolate}: the status page and the notes were written", r)
        leaks = [name for name, text in outputs if "peeked_only" in text or "bytes_fed" in text]
        rh.check(not leaks, f"isolate={isolate}: what only the table showed is in {leaks}", r)
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


def case_a_narrow_terminal_keeps_each_row_on_one_line_and_a_clean_screen():
    # At 20 and 40 columns every line of the table fits the width (a wrapped line takes rows the
    # redraw does not erase), and the final screen holds the report, none of the table.
    for cols in (20, 40):
        d = rh.scratch()
        p = plan(d, 'plugin = "metrics_regex";', '("sps_max", ">=", 1000.0)', "false")
        r = rh.run_pty(["-c", p], cwd=d, cols=cols)
        rh.expect(r, 0)
        table = [ln.lstrip("\r") for ln in re.sub(r"\x1b\[[0-9;]*[mAJK]", "", r.raw)
                 .split("\r\n") if "running" in ln]
        rh.check(table and all(len(ln) < cols for ln in table),
                 f"cols={cols}: each line of the table fits the terminal: {table!r}", r)
        shown = wrapped_screen(r.raw, cols)
        rh.check("running" not in shown and "result: PASSED" in shown.replace("\n", ""),
                 f"cols={cols}: the table is gone from the final screen, the report stays:\n"
                 + shown, r)


def case_a_low_terminal_keeps_the_table_within_its_height():
    # Six jobs run at once on a terminal 6 rows high: a table taller than the screen scrolls
    # its top into the scrollback, where no redraw erases it. The table lists the jobs that fit
    # (one row for the counts, one for "... and N more", one for the cursor) and counts the rest.
    d = rh.scratch()
    p = plan(d, 'plugin = "metrics_regex";', '("sps_max", ">=", 1000.0)', "false")
    v = rh.read(p).replace('plugin = "runner_local";', 'plugin = "runner_local"; max_parallel = 6;')
    head, tail = v.split("validations = ( ", 1)
    one = tail[:tail.rindex(" ); } );")]
    rh.write(p, head + "validations = ( " + ", ".join(one.replace('name = "v"', f'name = "v{i}"')
                                                      for i in range(6)) + " ); } );\n")
    r = rh.run_pty(["-c", p], cwd=d, cols=120, rows=6)
    rh.expect(r, 0)
    ups = [int(n) for n in re.findall(r"\x1b\[(\d+)A", r.raw)]
    rh.check(ups and max(ups) <= 5, f"each table drawn is at most 5 lines high: {sorted(set(ups))}",
             r)
    rh.check(re.search(r"^    \.\.\. and \d+ more running", r.out, re.M) is not None,
             "the jobs that do not fit are counted", r)


def case_an_isolated_source_showing_many_values_still_shows_the_checked_one():
    # 12 patterns under all six reducers, after the default patterns: over 72 values. The key
    # the check reads is among the last the source shows; the row shows it first, inside
    # relhost and isolated alike (an isolated source's values were cut at 64).
    n = 12
    pats = ", ".join(f'{{ name = "k{i:03d}"; regex = "k{i:03d}: (\\\\d+)"; reducers = '
                     '["min", "first", "last", "mean", "count", "max"]; }' for i in range(n))
    script = (f"import time\nprint('\\n'.join('k%03d: %d' % (i, 1000 + i) for i in range({n})),"
              " flush=True)\ntime.sleep(2.5)\n")

    def body(isolate):
        d = rh.scratch()
        p = plan(d, f'plugin = "metrics_regex"; patterns = ( {pats} );',
                 f'("k{n - 1:03d}_max", ">=", 1.0)', isolate)
        rh.write(p, rh.read(p).replace(json.dumps(SCRIPT), json.dumps(script)))
        r = rh.run_pty(["-c", p], cwd=d, cols=160)
        rh.expect(r, 0)
        live = [ln for ln in rows(r) if "k0" in ln]
        rh.check(live and all(re.search(rf"\s\S+\s{{2}}k{n - 1:03d}_max {1000 + n - 1}\s", ln)
                              for ln in live),
                 f"isolate={isolate}: the checked key comes first: {live[-3:]!r}", r)
    for_both(body)


def case_long_keys_cut_for_the_row_stay_apart_and_the_checked_one_comes_first():
    # Two keys longer than a row keeps (a 44-byte pattern name under max and last) differ only
    # past the cut: the row keeps both apart, and shows the one the check reads (last) first,
    # with its own value and the end of its name (no default patterns: these two keys only).
    name = "throughput_of_the_environment_steps_per_sec"
    script = ("import time\nprint('sps: 5000', flush=True)\nprint('sps: 1234', flush=True)\n"
              "time.sleep(2.5)\n")

    def body(isolate):
        d = rh.scratch()
        p = plan(d, f'plugin = "metrics_regex"; defaults = false; '
                    f'patterns = ( {{ name = "{name}"; '
                    'regex = "sps: (\\\\d+)"; reducers = ["max", "last"]; } );',
                 f'("{name}_last", ">=", 1.0)', isolate)
        rh.write(p, rh.read(p).replace(json.dumps(SCRIPT), json.dumps(script)))
        r = rh.run_pty(["-c", p], cwd=d, cols=200)
        rh.expect(r, 0)
        live = [ln for ln in rows(r) if "throughput" in ln]
        rh.check(live and all(re.search(r"\s{2}throughput\S*_last 1234\s{2}throughput\S*_max "
                                        r"5000(?!\d)", ln) for ln in live),
                 f"isolate={isolate}: the checked key first with its value, both keys apart: "
                 f"{live[-2:]!r}", r)
    for_both(body)


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
