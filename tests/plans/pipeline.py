#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""pipeline.py - running a plan: order, fail-fast, outcomes -> exit codes, the manual gate.

Verdicts come from fixture_gate's `outcome` / `retryable` / `run_return` options; side effects
from `command` steps appending to a file (what ran is proved by the file, not by relhost's word).
The manual gate's terminal path runs relhost on a pseudo-terminal that is its controlling
terminal, reads until the question appears and answers as a person would.

Run one case: pipeline.py <case>; all: pipeline.py; names: pipeline.py --list.
"""
import glob
import json
import os
import re
import shlex
import signal
import subprocess
import sys
import time

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))
import rh  # noqa: E402

VERSION = "1.0"


class Plan:
    """A scratch folder with a plan; steps_fn(folder) returns the step texts."""

    def __init__(self, steps_fn, top=""):
        self.dir = rh.scratch()
        self.log = os.path.join(self.dir, "ran.log")
        self.path = rh.write_plan(self.dir,
                                  f"plugin_path = {json.dumps([rh.fixture('good')])};\n"
                                  f'version = "{VERSION}";\n{top}'
                                  f"steps = (\n" + ",\n".join(steps_fn(self.dir)) + "\n);\n")

    def run(self, *args, env=None):
        return rh.run(["-c", self.path] + list(args), cwd=self.dir, env=env)

    def ran(self):
        """The names the `appender` steps wrote, in order."""
        return rh.read(self.log).split() if os.path.exists(self.log) else []

    def state(self):
        f = os.path.join(self.dir, ".relhost", "state", f"release_{VERSION}.json")
        rh.check(os.path.isfile(f), f"no state file {f}")
        with open(f, encoding="utf-8") as fh:
            return json.load(fh)

    def expect_state(self, res, want, exit_code=None, finished=None):
        """want: {step: (outcome or None, reason or None)} as recorded in the state file."""
        st = self.state()
        got = {n: (s.get("outcome"), s.get("reason")) for n, s in st.get("steps", {}).items()}
        bad = [f"{n}: state has {got.get(n, '<no entry>')}, want {w}" for n, w in want.items()
               if got.get(n) != w]
        if exit_code is not None and st.get("exit_code") != exit_code:
            bad.append(f"state exit_code {st.get('exit_code')}, want {exit_code}")
        if finished is not None and st.get("finished") != finished:
            bad.append(f"state finished {st.get('finished')}, want {finished}")
        if bad:
            rh.fail("; ".join(bad), res)


def gate(name, opts="", required=True):
    req = "" if required else " required = false;"
    return f'  {{ name = "{name}"; plugin = "fixture_gate";{req} {opts} }}'


def appender(plan_dir, name, required=True):
    """A command step that appends its name to ran.log (proof that it ran, and when)."""
    log = os.path.join(plan_dir, "ran.log")
    req = "" if required else " required = false;"
    return (f'  {{ name = "{name}"; plugin = "command";{req} '
            f'cmd = ["sh", "-c", "echo \\"$0\\" >> \\"$1\\"", "{{step}}", "{log}"]; }}')


# ---- order and fail-fast -----------------------------------------------------------------------

def case_steps_run_in_plan_order():
    p = Plan(lambda d: [appender(d, "one"), gate("g1"), appender(d, "two"), gate("g2"),
                        appender(d, "three")])
    r = rh.expect(p.run(), 0, out=[r"^result: PASSED \(exit 0\): 5 PASSED$"])
    rh.check(p.ran() == ["one", "two", "three"], f"ran.log says {p.ran()}", r)
    rh.expect_outcomes(r, [(n, "PASSED", None) for n in ("one", "g1", "two", "g2", "three")])
    rh.check([s["idx"] for s in rh.report(r.out)] == [1, 2, 3, 4, 5], "numbered 1..5 of 5", r)
    p.expect_state(r, {n: ("PASSED", None) for n in ("one", "g1", "two", "g2", "three")},
                   exit_code=0, finished=True)


def case_release_notes_are_current_for_a_publishing_step():
    """The notes are rewritten at most once a second while steps end, but a publishing step
    (the one that reads them: tag message, release body) sees every step before it."""
    def steps(d):
        notes = os.path.join(d, ".relhost", "state", f"release_{VERSION}.md")
        seen = os.path.join(d, "seen.md")
        return ([appender(d, f"s{i}") for i in range(30)] +
                [f'  {{ name = "pub"; plugin = "command"; publishes = true; '
                 f'cmd = ["cp", "{notes}", "{seen}"]; }}'])
    p = Plan(steps)
    r = rh.expect(p.run(), 0, out=[r"^result: PASSED \(exit 0\): 31 PASSED$"])
    seen = rh.read(os.path.join(p.dir, "seen.md"))
    for i in range(30):
        rh.check(f"| s{i} | command | yes | PASSED |" in seen,
                 f"the notes the publishing step read lack step s{i}:\n{seen}", r)
    final = rh.read(os.path.join(p.dir, ".relhost", "state", f"release_{VERSION}.md"))
    rh.check("| pub | command | yes, publishes | PASSED |" in final,
             f"the notes at the run's end lack the publishing step:\n{final}", r)


def case_required_failed_stops_the_run():
    p = Plan(lambda d: [appender(d, "before"), gate("verdict", 'outcome = "failed"; '
                                                               'reason = "threshold";'),
                        appender(d, "after"), gate("later")])
    r = rh.expect(p.run(), 1, out=[r"^result: FAILED \(exit 1\): 1 PASSED 1 FAILED 2 SKIPPED$",
                                   r'required step "verdict" did not pass'])
    rh.check(p.ran() == ["before"], f"only 'before' may run; ran.log says {p.ran()}", r)
    rh.expect_outcomes(r, [("before", "PASSED", None), ("verdict", "FAILED", "threshold"),
                           ("after", "SKIPPED", "upstream_failed"),
                           ("later", "SKIPPED", "upstream_failed")])
    p.expect_state(r, {"verdict": ("FAILED", "threshold"),
                       "after": ("SKIPPED", "upstream_failed"),
                       "later": ("SKIPPED", "upstream_failed")}, exit_code=1, finished=True)


def case_optional_failure_warns_and_continues():
    p = Plan(lambda d: [gate("soft", 'outcome = "failed";', required=False),
                        appender(d, "after")])
    r = rh.expect(p.run(), 0, out=[r"^result: PASSED \(exit 0\)"],
                  err=[r"^relhost \[soft\] warning: optional step FAILED; the release goes on$"])
    rh.check(p.ran() == ["after"], f"'after' must run; ran.log says {p.ran()}", r)
    rh.expect_outcomes(r, [("soft", "FAILED", "fixture"), ("after", "PASSED", None)])
    rh.check(rh.step_of(r, "soft")["optional"], "the report marks it optional", r)


def _stops(outcome_opts, code, outcome, reason, result_word):
    p = Plan(lambda d: [gate("g", outcome_opts), appender(d, "after")])
    r = rh.expect(p.run(), code, out=[rf"^result: {result_word} \(exit {code}\):"])
    rh.expect_outcomes(r, [("g", outcome, reason), ("after", "SKIPPED", "upstream_failed")])
    rh.check(p.ran() == [], f"nothing may run after the required step; ran.log: {p.ran()}", r)
    return p, r


def case_required_error_exit_3():
    p, r = _stops('outcome = "error"; reason = "api_down";', 3, "ERROR", "api_down",
                  "NOT DECIDED")
    p.expect_state(r, {"g": ("ERROR", "api_down")}, exit_code=3, finished=True)


def case_retryable_error_exit_75():
    p, r = _stops('outcome = "error"; retryable = true;', 75, "ERROR", "fixture", "NOT DECIDED")
    # Deferred: the release is not finished, so the next run resumes it.
    p.expect_state(r, {"g": ("ERROR", "fixture")}, exit_code=75, finished=False)
    rh.check(p.state()["steps"]["g"]["retryable"] is True, "state records retryable", r)


def case_required_inconclusive_exit_3():
    _stops('outcome = "inconclusive"; reason = "no_data";', 3, "INCONCLUSIVE", "no_data",
           "NOT DECIDED")


def case_run_efail_is_tool_error():
    p, r = _stops('run_return = "efail";', 3, "ERROR", "tool_error", "NOT DECIDED")
    msg = "fixture_gate: run() fails on purpose (run_return = efail)"
    rh.check(msg in rh.step_of(r, "g")["lines"], "the plugin's host->fail() message is shown", r)
    rh.check(p.state()["steps"]["g"]["message"] == msg, "the message is kept in the state", r)


def case_failed_outranks_error():
    # A required FAILED, then a required ERROR: exit 1 (a verdict outranks could-not-decide).
    # With fail-fast the ERROR step never runs; an optional ERROR before both does not count.
    p = Plan(lambda d: [gate("flaky", 'outcome = "error";', required=False),
                        gate("bad", 'outcome = "failed";'),
                        gate("broken", 'outcome = "error";')])
    r = rh.expect(p.run(), 1, out=[r"^result: FAILED \(exit 1\)"])
    rh.expect_outcomes(r, [("flaky", "ERROR", "fixture"), ("bad", "FAILED", "fixture"),
                           ("broken", "SKIPPED", "upstream_failed")])


def case_required_skipped_fails_closed():
    # A required step that reports SKIPPED did not pass: the release must not come out green
    # (exit 0 means "every required step passed or was waived"). It cannot decide: exit 3, and
    # the steps after it do not run.
    p = Plan(lambda d: [gate("g", 'outcome = "skipped"; reason = "nothing_to_check";'),
                        appender(d, "after")])
    r = p.run()
    rh.expect(r, 3, not_out=[r"^result: PASSED"])
    rh.check(p.ran() == [], f"nothing may run after it; ran.log: {p.ran()}", r)


def case_not_configured_required_vs_optional():
    # DESIGN: a service that is not configured is INCONCLUSIVE when required, SKIPPED when
    # optional.
    opts = 'outcome = "skipped"; reason = "not_configured";'
    p = Plan(lambda d: [gate("opt", opts, required=False), appender(d, "mid"), gate("req", opts),
                        appender(d, "after")])
    r = rh.expect(p.run(), 3)
    rh.expect_outcomes(r, [("opt", "SKIPPED", "not_configured"), ("mid", "PASSED", None),
                           ("req", "INCONCLUSIVE", "not_configured"),
                           ("after", "SKIPPED", "upstream_failed")])
    rh.check(p.ran() == ["mid"], f"ran.log: {p.ran()}", r)


# ---- the manual gate ---------------------------------------------------------------------------

def manual_plan(required=True):
    req = "" if required else " required = false;"
    return Plan(lambda d: [f'  {{ name = "sign-off"; plugin = "manual";{req} '
                           f'question = "Ship {{version}}?"; }}', appender(d, "after")])


QUESTION = r"Ship 1\.0\? \[y/n\] "


def case_manual_no_interactive():
    p = manual_plan()
    r = rh.expect(p.run("--no-interactive"), 3, out=[r"nobody to ask \"Ship 1\.0\?\""])
    rh.expect_outcomes(r, [("sign-off", "INCONCLUSIVE", "no_tty"),
                           ("after", "SKIPPED", "upstream_failed")])
    # Even on a terminal, --no-interactive never asks.
    r = rh.run_pty(["-c", p.path, "--no-interactive"], cwd=p.dir)
    rh.expect(r, 3, not_out=[r"\[y/n\]"])
    rh.expect_outcomes(r, [("sign-off", "INCONCLUSIVE", "no_tty"),
                           ("after", "SKIPPED", "upstream_failed")])
    # Optional: INCONCLUSIVE, a warning, and the release goes on.
    p = manual_plan(required=False)
    r = rh.expect(p.run("--no-interactive"), 0, err=[r"optional step INCONCLUSIVE"])
    rh.expect_outcomes(r, [("sign-off", "INCONCLUSIVE", "no_tty"), ("after", "PASSED", None)])


def case_manual_without_tty():
    # stdin is not a terminal (here /dev/null): nobody to ask, never a silent yes.
    p = manual_plan()
    r = rh.expect(p.run(), 3)
    rh.expect_outcomes(r, [("sign-off", "INCONCLUSIVE", "no_tty"),
                           ("after", "SKIPPED", "upstream_failed")])


def case_manual_pty_yes():
    p = manual_plan()
    r = rh.run_pty(["-c", p.path], cwd=p.dir, script=[(QUESTION, b"y\n")])
    rh.expect(r, 0, out=[QUESTION, r'asked "Ship 1\.0\?": \S+ answered yes'])
    rh.expect_outcomes(r, [("sign-off", "PASSED", None), ("after", "PASSED", None)])
    rh.check(p.ran() == ["after"], f"ran.log: {p.ran()}", r)


def case_manual_pty_no():
    p = manual_plan()
    r = rh.run_pty(["-c", p.path], cwd=p.dir, script=[(QUESTION, b"n\n")])
    rh.expect(r, 1, out=[r'asked "Ship 1\.0\?": \S+ answered no'])
    rh.expect_outcomes(r, [("sign-off", "FAILED", "declined"),
                           ("after", "SKIPPED", "upstream_failed")])
    rh.check(p.ran() == [], f"ran.log: {p.ran()}", r)


def case_manual_pty_asks_again():
    # An answer that is neither yes nor no is asked again; nothing is decided from it.
    p = manual_plan()
    r = rh.run_pty(["-c", p.path], cwd=p.dir,
                   script=[(QUESTION, b"maybe\n"), (r"please answer y or n", b""),
                           (QUESTION, b"yes\n")])
    rh.expect(r, 0)
    rh.expect_outcomes(r, [("sign-off", "PASSED", None), ("after", "PASSED", None)])


def case_manual_pty_sigint():
    p = manual_plan()
    r = rh.run_pty(["-c", p.path], cwd=p.dir,
                   script=[(QUESTION, lambda proc: proc.send_signal(signal.SIGINT))])
    rh.expect(r, 130, out=[r"^result: INTERRUPTED \(exit 130\)"],
              not_out=[r"answered", r"\] (PASSED|FAILED)\s+sign-off"])
    rh.check(p.ran() == [], f"nothing may run after the interrupt; ran.log: {p.ran()}", r)
    # No outcome was recorded: the release is unfinished and the next run asks again.
    p.expect_state(r, {"sign-off": (None, "interrupted")}, exit_code=130, finished=False)
    r = rh.run_pty(["-c", p.path], cwd=p.dir, script=[(QUESTION, b"y\n")])
    rh.expect(r, 0)
    rh.expect_outcomes(r, [("sign-off", "PASSED", None), ("after", "PASSED", None)])


def sleeper_plan_text(secs):
    return ('version = "1.0"; state_dir = "st"; log_dir = "logs";\n'
            'runners = { local = { plugin = "runner_local"; }; };\n'
            'steps = ( { name = "first"; plugin = "command"; cmd = ["true"]; },\n'
            '  { name = "wf"; plugin = "workflow"; runner = "local"; validations = (\n'
            f'    {{ name = "v"; cmd = ["sleep", "{secs}"]; }},\n'
            f'    {{ name = "w"; cmd = ["sleep", "{secs}"]; }} ); }},\n'
            '  { name = "last"; plugin = "command"; cmd = ["true"]; } );\n')


def sleeper_plan(d, secs):
    """A command step, then a workflow of two local validations sleeping secs, then a step."""
    return rh.write_plan(d, sleeper_plan_text(secs))


def interrupted_run(d, args, version="1.0"):
    """relhost args, SIGINT once both validations run; (exit code, stdout, stderr)."""
    out, err = os.path.join(d, "out"), os.path.join(d, "err")
    with open(out, "w") as fo, open(err, "w") as fe:
        proc = subprocess.Popen([rh.relhost_bin()] + args, cwd=d, env=rh.base_env(),
                                stdin=subprocess.DEVNULL, stdout=fo, stderr=fe)
        try:
            rh.wait_for(lambda: all(glob.glob(os.path.join(d, "logs", version, v + ".log"))
                                    for v in ("v", "w")), "both validations to start")
            time.sleep(0.3)
            proc.send_signal(signal.SIGINT)
            rc = proc.wait(60)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    return rc, rh.read(out), rh.read(err)


def case_an_interrupt_says_what_stopped_and_how_to_resume():
    # The summary after Ctrl-C uses documented words (no NONE outcome, no "pending 0.0s" for a
    # job that ran), and ends with the command that resumes the release; that command works.
    d = rh.scratch()
    p = sleeper_plan(d, 2)
    rc, out, err = interrupted_run(d, ["-c", p, "--rerun", "first"])
    res = rh.Result(["relhost"], d, rc, out, err)
    rh.expect(res, 130, out=[r"^\[2/3\] STOPPED\s+wf\s", r"stopped before it decided",
                             r"^      v\s+stopped\s+[0-9.]+s",
                             # the verdict line counts the stopped step (it ended in ':' alone
                             # when no step had decided)
                             r"^result: INTERRUPTED \(exit 130\): 1 PASSED 1 STOPPED$"],
              not_out=[r"\bNONE\b", r"pending\s+0\.0s"])
    m = re.search(r"^resume with: (.*)$", out, re.M)
    rh.check(m is not None, "the summary names the command that resumes", res)
    words = shlex.split(m.group(1))
    rh.check(words[1:] == ["-c", p, "--release", "1.0"],
             f"the same command, less --rerun, naming the release: {words}", res)
    r = rh.run(words[1:], cwd=d)
    rh.expect(r, 0)
    rh.expect_outcomes(r, [("first", "PASSED", "already_completed"), ("wf", "PASSED", None),
                           ("last", "PASSED", None)])


def case_status_and_explain_call_an_interrupted_runs_jobs_stopped():
    # The state keeps a job an interrupt stopped as "pending" (it runs again on resume); read as
    # text, "pending" says it never started. status and explain say "stopped", as the summary.
    d = rh.scratch()
    p = sleeper_plan(d, 5)
    rc, out, err = interrupted_run(d, ["-c", p])
    rh.check(rc == 130, f"exit {rc}\n{out}{err}")
    r = rh.expect(rh.run(["status", "-c", p], cwd=d), 0,
                  out=[r"^release 1\.0 of plan plan: 2 job\(s\) \(interrupted: run it again to resume\)$",
                       r"^  v\s+stopped\s", r"^  w\s+stopped\s"], not_out=[r"pending"])
    rh.expect(rh.run(["explain", "-c", p], cwd=d), 0,
              out=[r"^    wf/v: stopped, attempt 1", r"^    wf/w: stopped, attempt 1"],
              not_out=[r"pending"])
    # the JSON keeps the state's word (docs/status.schema.json)
    j = json.loads(rh.expect(rh.run(["status", "-c", p, "--json"], cwd=d), 0).out)
    rh.check(all(x["lifecycle"] == "pending" for x in j["jobs"]), f"{j['jobs']}")


def case_the_resume_command_resumes_that_release_not_a_new_one():
    # --new (and --rerun, also abbreviated as getopt allows) would not resume: the command drops
    # them and names the release, so that a release started meanwhile is not the one continued.
    d = rh.scratch()
    p = rh.write_plan(d, sleeper_plan_text(2).replace('version = "1.0";', 'version = "auto";'))
    rh.expect(rh.run(["-c", p, "--step", "first"], cwd=d), 0)
    rc, out, err = interrupted_run(d, ["-c", p, "--new", "--rer", "first", "--only=*", "--"],
                                   version="*")
    res = rh.Result(["relhost"], d, rc, out, err)
    rh.expect(res, 130)
    releases = sorted(os.path.basename(f)[8:-5] for f in glob.glob(os.path.join(d, "st", "release_*.json")))
    m = re.search(r"^relhost 0\S*: release (\S+) of plan", out, re.M)
    rh.check(len(releases) == 2 and m and m.group(1) in releases, f"two releases {releases}", res)
    words = shlex.split(re.search(r"^resume with: (.*)$", out, re.M).group(1))
    rh.check(words[1:] == ["-c", p, "--only=*", "--release", m.group(1), "--"],
             f"resume command: {words}", res)
    r = rh.run(words[1:], cwd=d)
    rh.expect(r, 0, out=[r"release " + re.escape(m.group(1)) + " of plan"])
    rh.expect_outcomes(r, [("first", "PASSED", "already_completed"), ("wf", "PASSED", None),
                           ("last", "PASSED", None)])
    after = glob.glob(os.path.join(d, "st", "release_*.json"))
    rh.check(len(after) == 2, f"resuming made no third release: {after}", r)


def case_quiet_prints_only_the_verdict_line():
    d = rh.scratch()
    p = sleeper_plan(d, 0)
    r = rh.run(["-c", p, "-q"], cwd=d)
    rh.expect(r, 0)
    rh.check(r.out == "result: PASSED (exit 0): 3 PASSED\n", "-q prints the verdict line only", r)
    r = rh.run(["-c", p, "-q", "--check"], cwd=d)
    rh.expect(r, 0)
    rh.check(r.out == "check: plan is valid; nothing was run\n", "-q --check: one line", r)


def screen(raw):
    """What a terminal shows at the end of raw output: text, CR, LF, cursor up (ESC [ n A),
    erase to the end of the screen (ESC [ J) and of the line (ESC [ K); colours dropped."""
    text = re.sub(r"\x1b\[[0-9;]*m", "", raw.decode(errors="replace") if isinstance(raw, bytes)
                  else raw)
    lines, row, col = [""], 0, 0
    i = 0
    while i < len(text):
        m = re.match(r"\x1b\[(\d*)([AJK])", text[i:])
        if m:
            n = int(m.group(1) or 1)
            if m.group(2) == "A":
                row = max(0, row - n)
            elif m.group(2) == "J":
                lines[row] = lines[row][:col]
                del lines[row + 1:]
            else:
                lines[row] = lines[row][:col]
            i += m.end()
            continue
        ch = text[i]
        i += 1
        if ch == "\r":
            col = 0
        elif ch == "\n":
            row += 1
            col = 0
            if row == len(lines):
                lines.append("")
        else:
            line = lines[row].ljust(col)
            lines[row] = line[:col] + ch + line[col + 1:]
            col += 1
    return "\n".join(lines)


def case_progress_on_a_terminal_is_a_live_table_that_leaves_a_clean_report():
    d = rh.scratch()
    p = sleeper_plan(d, 1)
    r = rh.run_pty(["-c", p], cwd=d)
    rh.expect(r, 0)
    rh.check(re.search(r"\[wf\] 2 running, 0 queued, 0 passed, 0 failed after", r.out) is not None,
             "while the jobs ran, the table counted them", r)
    rh.check(re.search(r"^    v\s+running\s+[0-9.]+s", r.out, re.M) is not None,
             "and listed each running job with its time", r)
    shown = screen(r.raw)
    rh.check("running," not in shown and not re.search(r"^    v\s+running", shown, re.M),
             "the table is gone from the final screen:\n" + shown, r)
    rh.check(re.search(r"^\[2/3\] PASSED\s+wf", shown, re.M) is not None and
             "result: PASSED (exit 0): 3 PASSED" in shown, "the report stays:\n" + shown, r)


def case_progress_table_fits_a_narrow_terminal():
    # A long validation name must not push a running job's state and time off a 50-column
    # terminal (the table cuts lines at the width, so the name is what gives way).
    d = rh.scratch()
    long = "a_validation_whose_name_runs_on_and_on_past_any_column"
    p = rh.write_plan(d, sleeper_plan_text(1).replace('name = "v";', f'name = "{long}";'))
    r = rh.run_pty(["-c", p], cwd=d, cols=50)
    rh.expect(r, 0)
    rows = [re.sub(r"\x1b\[K", "", ln) for ln in r.out.splitlines()
            if ln.startswith("    a_validation")]
    rh.check(rows, "the table listed the long-named job", r)
    for ln in rows:
        rh.check(len(ln) <= 49 and re.search(r"\brunning\s+[0-9.]+s$", ln),
                 f"a table row wider than the terminal or without state and time: {ln!r}", r)


def case_progress_without_a_terminal_is_a_line_per_job_end_and_per_interval():
    d = rh.scratch()
    p = sleeper_plan(d, 2)
    text = rh.read(p).replace('log_dir = "logs";', 'log_dir = "logs"; progress_interval = "1s";')
    with open(p, "w") as f:
        f.write(text)
    r = rh.run(["-c", p], cwd=d)
    rh.expect(r, 0, out=[r"^  \[wf\] [12] running, 0 queued, [01] passed, 0 failed after \d+\.\ds$",
                         r"^  \[wf\] v PASSED after \d+\.\ds \(exit 0\)$",
                         r"^  \[wf\] w PASSED after \d+\.\ds \(exit 0\)$"],
              not_out=[r"\x1b"])
    d = rh.scratch()
    p = sleeper_plan(d, 2)
    with open(p, "w") as f:
        f.write(text.replace('progress_interval = "1s"', "progress_interval = 0"))
    r = rh.run(["-c", p], cwd=d)
    rh.expect(r, 0, out=[r"^  \[wf\] v PASSED after"], not_out=[r"running, .* queued"])


def case_release_notes_show_log_paths_relative_to_the_repository():
    # The notes become a release's body and a tag's message, read far from this disk.
    d = rh.scratch()
    for args in (["init", "-q", "-b", "main"], ["add", "-A"],
                 ["-c", "user.name=t", "-c", "user.email=t@t", "commit", "-q", "--allow-empty",
                  "-m", "c"]):
        subprocess.run(["git", "-C", d] + args, check=True, capture_output=True)
    with open(os.path.join(d, ".gitignore"), "w") as f:
        f.write("*\n")
    p = sleeper_plan(d, 0)
    rh.write_plan(d, 'repo = ".";\n' + rh.read(p))
    r = rh.run(["-c", p], cwd=d)
    rh.expect(r, 0)
    notes = rh.read(os.path.join(d, "st", "release_1.0.md"))
    rh.check("`logs/1.0/v.log`" in notes and d + "/logs" not in notes,
             "log paths in the notes are the repository's:\n" + notes, r)


# ---- console output ----------------------------------------------------------------------------

def case_no_color():
    p = Plan(lambda d: [gate("g"), gate("soft", 'outcome = "failed";', required=False)])
    # On a terminal relhost colours its report (the control for the checks below)...
    r = rh.run_pty(["-c", p.path], cwd=p.dir)
    rh.expect(r, 0)
    rh.check("\x1b[" in r.raw, "on a terminal the report should be coloured", r)
    rh.check("interactive=1" in r.out, "on a terminal the run is interactive", r)
    # ...and not with NO_COLOR set, with --no-color, or into a pipe.
    for args, env, how in (([], {"NO_COLOR": "1"}, "NO_COLOR=1"),
                           (["--no-color"], None, "--no-color")):
        r = rh.run_pty(["-c", p.path] + args, cwd=p.dir, env=env)
        rh.expect(r, 0, out=[r"^result: PASSED"])
        rh.check("\x1b" not in r.raw, f"{how}: the output holds ESC bytes", r)
    r = rh.expect(p.run(), 0)
    rh.check("\x1b" not in r.all, "into a pipe: the output holds ESC bytes", r)


def case_quiet_silences_warnings():
    p = Plan(lambda d: [gate("soft", 'outcome = "failed";', required=False),
                        appender(d, "after")])
    r = rh.expect(p.run(), 0, err=[r"warning: optional step FAILED"])
    r = rh.expect(p.run("-q"), 0, out=[r"^result: PASSED"])
    rh.check(r.err == "", "-q: nothing but errors on stderr", r)
    r = rh.expect(p.run("--quiet"), 0)
    rh.check(r.err == "", "--quiet: nothing but errors on stderr", r)
    # Errors still come out.
    r = rh.expect(p.run("-q", "--step", "nosuch"), 2, err=[r"^relhost error: --step nosuch"])


if __name__ == "__main__":
    sys.exit(rh.main(globals()))
