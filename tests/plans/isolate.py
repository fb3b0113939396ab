#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""isolate.py - plugin instances in a process of their own (isolate = true; core/isolate).

The faulty fixture (tests/fixtures/plugins/faulty.c) as an isolated gate and metrics source (its
runner: runner_faults.py): for each fault (segfault, abort, exit(0), exit(1), an endless loop, a
child started through the process service then a segfault) relhost itself lives on: exit 3, the
step ERROR with the named reason (plugin_crashed, plugin_exited, plugin_hung), a message naming the
plugin, the call and the signal or status, the output before it kept, no process of the plugin left
behind, and a plain resume that does not run the step again (--retry-failed does). The bundled
plugins give the same report isolated as inside relhost (runner_local too); time inside host
services is not the plugin's.

Run one case: isolate.py <case>; all: isolate.py; names: isolate.py --list.
"""
import json
import os
import signal
import subprocess
import sys
import time

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))
import rh  # noqa: E402

CHILD_ARG = "987.25"  # faulty.c's child_segv starts `sleep 987.25`
SERVER_ARG = b"--plugin-server-internal"


def gate_plan(fault, at="run", extra="", timeout="3s"):
    d = rh.scratch()
    marker_text, marker = rh.marker_step(d)
    # no isolate key: a plugin from outside relhost's own folder is isolated by default
    p = rh.write_plan(d, f'version = "1.0"; state_dir = "st";\n'
                         f'plugin_path = [{json.dumps(rh.fixture("faulty"))}];\n'
                         f"steps = (\n  {marker_text}\n"
                         f'  {{ name = "gate"; plugin = "faulty"; fault = "{fault}"; '
                         f'at = "{at}"; call_timeout = "{timeout}";{extra} }}\n);\n')
    return d, p


def feed_plan(fault, at="feed"):
    d = rh.scratch()
    rh.write(os.path.join(d, "job.log"), "sps: 100\n" * 10)
    p = rh.write_plan(d, f'version = "1.0"; state_dir = "st"; log_dir = "logs";\n'
                         f'plugin_path = [{json.dumps(rh.fixture("faulty"))}];\n'
                         'runners = { local = { plugin = "runner_local"; }; };\n'
                         f'metrics = {{ bad = {{ plugin = "faulty"; fault = "{fault}"; '
                         f'at = "{at}"; isolate = true; call_timeout = 3; }}; }};\n'
                         'steps = (\n  { name = "wf"; plugin = "workflow"; runner = "local"; '
                         'metrics = ["bad"];\n    validations = ( { name = "v"; cmd = ["cat", '
                         f'{json.dumps(os.path.join(d, "job.log"))}]; }} ); }}\n);\n')
    return d, p


def step_record(d, step):
    r = rh.run(["status", "-c", os.path.join(d, "plan.cfg"), "--release", "1.0", "--json"], cwd=d)
    doc = json.loads(r.out) if r.rc == 0 and r.out.strip() else {}
    for s in doc.get("steps", []):
        if s.get("name") == step:
            return s
    rh.fail(f"no record of step {step} in the state of {d}", r)


def leftovers(d):
    return rh.case_leftovers(d, CHILD_ARG, SERVER_ARG)


def run(d, args):
    return rh.run(args, cwd=d, env={"RH_CASE_FOLDER": d})


def expect_nothing_left(d):
    rh.wait_for(lambda: leftovers(d) == [], "no plugin process left behind", timeout=15)


MESSAGES = {
    "segv": ("plugin_crashed", "crashed during its {call}() call", "signal 11, SIGSEGV"),
    "abort": ("plugin_crashed", "crashed during its {call}() call", "signal 6, SIGABRT"),
    "exit0": ("plugin_exited", "exited during its {call}() call", "ended with status 0"),
    "exit1": ("plugin_exited", "exited during its {call}() call", "ended with status 1"),
    "loop": ("plugin_hung", "did not return from its {call}() call within call_timeout 3s", ""),
    "child_segv": ("plugin_crashed", "crashed during its {call}() call", "signal 11, SIGSEGV"),
}


def gate_case(fault):
    d, p = gate_plan(fault)
    reason, what, detail = MESSAGES[fault]
    r = run(d, ["-c", p])
    rh.expect(r, 3, err=[rh.q("plugin faulty " + what.format(call="run")), rh.q(detail)],
              out=[rh.q("faulty: about to misbehave"), r"PASSED +marker",
                   r"ERROR +gate .*reason: " + reason])
    expect_nothing_left(d)
    s = step_record(d, "gate")
    rh.check(s.get("outcome") == "ERROR" and s.get("reason") == reason,
             f"the step is recorded ERROR ({reason}), not {s.get('outcome')} {s.get('reason')}", r)
    r = run(d, ["-c", p])
    rh.expect(r, 3, not_out=[rh.q("about to misbehave")], any=[reason])
    r = run(d, ["-c", p, "--retry-failed"])
    rh.expect(r, 3, out=[rh.q("faulty: about to misbehave")], err=[rh.q(detail)])
    expect_nothing_left(d)


def case_gate_segfault_is_an_error_of_its_step():
    gate_case("segv")


def case_gate_abort_is_an_error_of_its_step():
    gate_case("abort")


def case_gate_exit0_is_exit_3_not_green():
    gate_case("exit0")


def case_gate_exit1_is_an_error_of_its_step():
    gate_case("exit1")


def case_gate_endless_loop_is_hung_at_call_timeout():
    gate_case("loop")


def case_gate_child_is_killed_with_the_crashed_plugin():
    gate_case("child_segv")


def source_case(fault, at):
    d, p = feed_plan(fault, at)
    reason, what, detail = MESSAGES[fault]
    r = run(d, ["-c", p])
    rh.expect(r, 3, err=[rh.q("plugin faulty " + what.format(call=at)), rh.q(detail)],
              out=[rh.q("faulty: about to misbehave"), r"ERROR +wf .*reason: " + reason,
                   r"v +ERROR .*reason: " + reason])
    expect_nothing_left(d)
    s = step_record(d, "wf")
    rh.check(s.get("outcome") == "ERROR" and s.get("reason") == reason,
             f"the step is recorded ERROR ({reason}), not {s.get('outcome')} {s.get('reason')}", r)
    r = run(d, ["-c", p])
    rh.expect(r, 3, not_out=[rh.q("about to misbehave")], any=[reason])


def case_source_segfault_in_feed_is_an_error_of_its_job():
    source_case("segv", "feed")


def case_source_abort_in_collect_is_an_error_of_its_job():
    source_case("abort", "collect")


def case_source_exit0_in_feed_is_exit_3():
    source_case("exit0", "feed")


def case_source_exit1_in_collect_is_exit_3():
    source_case("exit1", "collect")


def case_source_endless_loop_in_feed_is_hung():
    source_case("loop", "feed")


def case_source_child_is_killed_with_the_crashed_plugin():
    source_case("child_segv", "collect")


def case_a_later_job_of_a_dead_source_is_an_error_not_a_verdict():
    # one job at a time: the second job's source state is asked for after the server died;
    # its acceptance check must not read the missing metric as FAILED
    d = rh.scratch()
    log = rh.write(os.path.join(d, "job.log"), "sps: 100\n" * 10)
    p = rh.write_plan(d, f'version = "1.0"; state_dir = "st"; log_dir = "logs";\n'
                         f'plugin_path = [{json.dumps(rh.fixture("faulty"))}];\n'
                         'runners = { local = { plugin = "runner_local"; max_parallel = 1; }; };\n'
                         'metrics = { bad = { plugin = "faulty"; fault = "segv"; at = "feed"; '
                         '}; };\n'
                         'steps = ( { name = "wf"; plugin = "workflow"; runner = "local"; '
                         'metrics = ["bad"];\n  validations = (\n'
                         f'   {{ name = "v"; cmd = ["cat", {json.dumps(log)}]; }},\n'
                         f'   {{ name = "w"; cmd = ["cat", {json.dumps(log)}];\n'
                         '      acceptance = ( ("sps_max", ">=", 1.0) ); } ); } );\n')
    r = run(d, ["-c", p])
    rh.expect(r, 3, out=[r"v +ERROR .*reason: plugin_crashed", r"w +ERROR .*reason: plugin_crashed"],
              not_out=[r"w +FAILED"])
    expect_nothing_left(d)


def case_a_plan_edited_during_the_run_is_refused_by_the_plugin_server():
    # with no acceptance check to verify at the gates' open, the source's server starts at its
    # first job, after the first step edited the plan: it must not run the plugin on a
    # configuration relhost never validated
    d = rh.scratch()
    p = os.path.join(d, "plan.cfg")
    edit = json.dumps(["sh", "-c", 'echo "# edited" >> "$0"', p])
    rh.write_plan(d, 'version = "1.0"; state_dir = "st"; log_dir = "logs";\n'
                     'runners = { local = { plugin = "runner_local"; }; };\n'
                     'metrics = { logs = { plugin = "metrics_regex"; isolate = true; }; };\n'
                     f'steps = (\n  {{ name = "edit"; plugin = "command"; cmd = {edit}; }},\n'
                     '  { name = "wf"; plugin = "workflow"; runner = "local"; metrics = ["logs"];\n'
                     '    validations = ( { name = "v"; cmd = ["echo", "sps: 100"]; } ); }\n);\n')
    r = run(d, ["-c", p])
    rh.expect(r, 3, out=[rh.q(f"{p} changed since relhost read it"), r"v +ERROR"],
              not_out=[r"v +PASSED"])
    rh.check("# edited" in rh.read(p), "the first step edited the plan", r)


def case_an_isolated_source_lists_its_keys_for_the_plan_check():
    # keys() runs in the source's server: the gate's open still refuses an unknown key, with the
    # same message as inside relhost, and no server outlives the refusal
    msgs = []
    for iso in ("true", "false"):
        d = rh.scratch()
        p = rh.write_plan(d, 'version = "1.0"; state_dir = "st"; log_dir = "logs";\n'
                             'runners = { local = { plugin = "runner_local"; }; };\n'
                             f'metrics = {{ logs = {{ plugin = "metrics_regex"; isolate = {iso}; '
                             '}; };\n'
                             'steps = ( { name = "wf"; plugin = "workflow"; runner = "local"; '
                             'metrics = ["logs"];\n  validations = ( { name = "v"; cmd = '
                             '["true"];\n    acceptance = ( ("sps_maxx", ">=", 1.0) ); } ); } );\n')
        r = run(d, ["-c", p])
        rh.expect(r, 2, err=[rh.q('acceptance key "sps_maxx" is not posted by metrics source '
                                  'logs (metrics_regex); did you mean "sps_max"?')])
        msgs.append(r.err.replace(d, "<d>"))
        expect_nothing_left(d)
    rh.check(msgs[0] == msgs[1], f"the same message isolated and inside: {msgs}")


def case_isolate_false_keeps_the_plugin_inside_relhost():
    d, p = gate_plan("segv", extra=" isolate = false;")
    r = run(d, ["-c", p])
    rh.check(r.rc in (-signal.SIGSEGV, 128 + signal.SIGSEGV), "in-process: relhost dies of it", r)


def case_an_isolated_runner_is_accepted_and_runs_its_jobs():
    # isolate = true on a runner: its ops go to its own process (once refused); the jobs run
    # through the host's process service as before, and no process is left behind
    d = rh.scratch()
    p = rh.write_plan(d, 'version = "1.0"; state_dir = "st"; log_dir = "logs";\n'
                         'runners = { local = { plugin = "runner_local";\n isolate = true; }; };\n'
                         'steps = ( { name = "wf"; plugin = "workflow"; runner = "local";\n'
                         '  validations = ( { name = "v"; cmd = ["echo", "from the job"]; } ); } );\n')
    r = run(d, ["-c", p])
    rh.expect(r, 0, out=[r"PASSED +wf", r"v +PASSED"])
    rh.check("from the job" in rh.read(os.path.join(d, "logs", "1.0", "v.log")), "the job ran", r)
    expect_nothing_left(d)


def case_bad_isolate_and_call_timeout_values_are_plan_errors():
    d = rh.scratch()
    for key, msg in (('isolate = "yes";', "isolate must be true or false"),
                     ('call_timeout = "soon";', "call_timeout must be a duration")):
        p = rh.write_plan(d, 'version = "1.0"; state_dir = "st";\n'
                             f'steps = ( {{ name = "c"; plugin = "command"; cmd = ["true"];\n'
                             f'  {key} }} );\n')
        r = run(d, ["-c", p])
        rh.expect(r, 2, err=[rh.q(f"{p}:{rh.line_of(p, key)}"), rh.q(msg)])


BUNDLED = '''version = "1.0"; state_dir = "st"; log_dir = "logs";
runners = {{ local = {{ plugin = "runner_local"; isolate = {runner_iso}; }}; }};
metrics = {{ logs = {{ plugin = "metrics_regex"; isolate = {iso}; }}; }};
steps = (
  {{ name = "pre"; plugin = "command"; cmd = ["echo", "hello {{version}}"]; isolate = {iso}; }},
  {{ name = "wf"; plugin = "workflow"; runner = "local"; metrics = ["logs"]; isolate = {iso};
    call_timeout = "1s";
    validations = (
      {{ name = "fast"; cmd = ["python3", "-c", "print('sps: 45000'); print('eval_success_rate: 0.9')"];
         acceptance = ( ("sps_max", ">=", 30000.0), ("eval_success_rate", ">=", 0.8) ); }},
      {{ name = "slow"; cmd = ["sh", "-c", "sleep 1.5; echo sps: 12000"];
         acceptance = ( ("sps_max", ">=", 30000.0) ); }} ); }}
);
'''


def report_of(iso, runner_iso=None):
    d = rh.scratch()
    p = rh.write_plan(d, BUNDLED.format(iso=iso, runner_iso=runner_iso or iso))
    rep = os.path.join(d, "report.json")
    r = run(d, ["-c", p, "--report-json", rep])
    rh.expect(r, 1, out=[r"FAILED +wf", r"slow +FAILED"])
    doc = json.loads(rh.read(rep))
    expect_nothing_left(d)
    return doc, r


def comparable(x):
    """The report without what differs run to run (times, folders)."""
    if isinstance(x, dict):
        return {k: comparable(v) for k, v in x.items()
                if not any(w in k for w in ("time", "duration", "started", "ended", "path",
                                             "dir", "plan", "log", "at", "url", "host"))}
    if isinstance(x, list):
        return [comparable(v) for v in x]
    if isinstance(x, str) and "/" in x:
        return "<path>"
    return x


def case_bundled_plugins_isolated_give_the_same_report():
    # the workflow gate waits 1.5 s for its slow job with call_timeout = 1s: time inside host
    # services (job_wait) is not the plugin's
    inside, _ = report_of("false")
    isolated, r = report_of("true")
    a, b = comparable(inside), comparable(isolated)
    rh.check(a == b, "the same report isolated as in-process:\n" + json.dumps(a, indent=1)[:3000]
             + "\n---\n" + json.dumps(b, indent=1)[:3000], r)


def case_an_isolated_runner_local_gives_the_same_report():
    # only the runner in its own process: submit, poll (every job in one message), cancel and
    # release through it give the report runner_local gives inside relhost
    inside, _ = report_of("false")
    isolated, r = report_of("false", runner_iso="true")
    a, b = comparable(inside), comparable(isolated)
    rh.check(a == b, "the same report with an isolated runner:\n" +
             json.dumps(a, indent=1)[:3000] + "\n---\n" + json.dumps(b, indent=1)[:3000], r)


def case_sigterm_stops_an_isolated_loop():
    d, p = gate_plan("loop", timeout="1h")
    out = open(os.path.join(d, "out"), "w+")
    err = open(os.path.join(d, "err"), "w+")
    proc = subprocess.Popen([rh.relhost_bin(), "-c", p], cwd=d,
                            env=rh.base_env({"RH_CASE_FOLDER": d}),
                            stdin=subprocess.DEVNULL, stdout=out, stderr=err)
    rh.wait_for(lambda: "about to misbehave" in rh.read(os.path.join(d, "out")),
                "the plugin to start its loop")
    t0 = time.time()
    proc.send_signal(signal.SIGTERM)
    try:
        rc = proc.wait(30)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
        rh.fail("relhost was deaf to SIGTERM while an isolated plugin looped")
    # the plugin's process is stopped, relhost is not: a terminated run, resumable (143)
    rh.check(rc == 143, f"exit 143 after SIGTERM, not {rc}")
    rh.check(time.time() - t0 < 25, "stopped within the grace")
    expect_nothing_left(d)


def case_sigterm_to_the_whole_group_is_an_interrupt_not_a_crash():
    # `systemctl stop` sends SIGTERM to every process of the service at once: relhost, its
    # plugin server and the step's own child. The server's death by SIGTERM is a stop from
    # outside, never plugin_crashed: the run is interrupted (143) and a resume runs the step.
    d = rh.scratch()
    p = rh.write_plan(d, 'version = "1.0"; state_dir = "st"; log_dir = "logs";\n'
                         f'steps = ( {{ name = "build"; plugin = "command"; isolate = true; '
                         f'cmd = ["sleep", "{CHILD_ARG}"]; }} );\n')
    out = open(os.path.join(d, "out"), "w+")
    err = open(os.path.join(d, "err"), "w+")
    proc = subprocess.Popen([rh.relhost_bin(), "-c", p], cwd=d,
                            env=rh.base_env({"RH_CASE_FOLDER": d}),
                            stdin=subprocess.DEVNULL, stdout=out, stderr=err)
    try:
        rh.wait_for(lambda: len(leftovers(d)) == 2, "the plugin server and its sleep")
        for pid in [proc.pid] + leftovers(d):
            try:
                os.kill(pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
        rc = proc.wait(60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    e = rh.read(os.path.join(d, "err"))
    rh.check(rc == 143, f"an interrupted run (143), not {rc}: {e}")
    rh.check("plugin_crashed" not in e and "crashed" not in rh.read(os.path.join(d, "out")),
             "a stop from outside is no crash: " + e)
    expect_nothing_left(d)
    s = step_record(d, "build")
    rh.check(s.get("outcome") in (None, "NONE"), f"the step is not judged: {s}")
    rh.write_plan(d, rh.read(p).replace(f'["sleep", "{CHILD_ARG}"]', '["true"]'))
    r = run(d, ["-c", p])
    rh.expect(r, 0, out=[r"PASSED +build"])


def case_check_fails_when_an_isolated_plugin_dies_describing_its_step():
    # --check is a verdict on the plan: a plugin that crashes, exits or hangs in describe()
    # (isolated, so relhost lives on) fails it, never "plan is valid" with exit 0.
    for fault in ("segv", "exit0", "loop"):
        d, p = gate_plan(fault, at="describe", timeout="2s")
        r = run(d, ["-c", p, "--check"])
        rh.expect(r, 3, out=[r"^check: FAILED \(exit 3\): 1 plugin died, exited or hung"],
                  err=[rh.q("plugin faulty "), r"then check again"],
                  not_out=[r"plan is valid"])
        expect_nothing_left(d)


sys.exit(rh.main(globals()))
