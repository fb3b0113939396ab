#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""release_flow.py - what guards publishing: the publishes guard across invocations, the freeze
switch (relhost freeze / RELHOST_FREEZE), on_failure steps, and bounded defer that fails closed.

Verdicts come from fixture_gate; what ran is proved by command steps appending to a file.
Run one case: release_flow.py <case>."""
import json
import os
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))
import rh  # noqa: E402

VERSION = "1.0"


class Plan:
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
        return rh.read(self.log).split() if os.path.exists(self.log) else []

    def state(self):
        with open(os.path.join(self.dir, ".relhost", "state", f"release_{VERSION}.json")) as f:
            return json.load(f)

    def audit(self):
        path = os.path.join(self.dir, ".relhost", "registry", "audit.jsonl")
        with open(path) as f:
            return [json.loads(line) for line in f if line.strip()]


def gate(name, opts="", extra=""):
    return f'  {{ name = "{name}"; plugin = "fixture_gate"; {opts} {extra} }}'


def appender(plan_dir, name, extra=""):
    log = os.path.join(plan_dir, "ran.log")
    return (f'  {{ name = "{name}"; plugin = "command"; {extra} '
            f'cmd = ["sh", "-c", "echo \\"$0\\" >> \\"$1\\"", "{{step}}", "{log}"]; }}')


def steps(outcome):
    return lambda d: [gate("tests", f'outcome = "{outcome}";'),
                      appender(d, "release", "publishes = true;"),
                      appender(d, "alarm", 'when = "on_failure"; required = false;')]


def case_step_release_after_a_failure_refuses():
    p = Plan(steps("failed"))
    rh.expect(p.run(), 1)
    r = rh.expect(p.run("--step", "release"), 1,
                  out=[r'required step "tests" is FAILED for this candidate'])
    rh.check("release" not in p.ran(), f"a failed candidate was published: {p.ran()}", r)
    rh.check(p.state()["steps"]["release"]["reason"] == "not_qualified", "state reason", r)


def case_step_release_after_a_pass_publishes():
    p = Plan(steps("passed"))
    rh.expect(p.run("--step", "tests"), 0)
    r = rh.expect(p.run("--step", "release"), 0)
    rh.check(p.ran() == ["release"], f"ran {p.ran()}", r)


def case_step_release_alone_never_publishes_an_untested_candidate():
    p = Plan(steps("passed"))
    r = rh.expect(p.run("--step", "release"), 3, out=[r'"tests" is not run for this candidate'])
    rh.check(p.ran() == [], f"published without tests: {p.ran()}", r)


def case_on_failure_steps_run_only_when_the_release_fails():
    p = Plan(steps("failed"))
    r = rh.expect(p.run(), 1)
    rh.check(p.ran() == ["alarm"], f"on a failure only the alarm runs: {p.ran()}", r)
    q = Plan(steps("passed"))
    r = rh.expect(q.run(), 0)
    rh.check(q.ran() == ["release"], f"on a pass the alarm stays quiet: {q.ran()}", r)


def case_freeze_skips_publishing_and_exits_4():
    p = Plan(steps("passed"))
    rh.expect(rh.run(["freeze", "-c", p.path, "--reason", "incident 42"], cwd=p.dir), 0)
    r = rh.expect(p.run(), 4, out=[r"publishing is frozen: incident 42"])
    rh.check(p.ran() == [], f"a frozen release published: {p.ran()}", r)
    rh.check(p.state()["steps"]["release"]["reason"] == "frozen", "state reason", r)
    rh.expect(rh.run(["unfreeze", "-c", p.path, "--reason", "resolved"], cwd=p.dir), 0)
    r = rh.expect(p.run(), 0)
    rh.check(p.ran() == ["release"], f"unfrozen release did not publish: {p.ran()}", r)
    ops = [(a["operation"], a.get("reason")) for a in p.audit()]
    rh.check(ops == [("freeze", "incident 42"), ("unfreeze", "resolved")], f"audit {ops}", r)
    rh.check(all(a.get("user") and a.get("at") for a in p.audit()), "who and when audited", r)


def case_freeze_from_the_environment():
    p = Plan(steps("passed"))
    r = rh.expect(p.run(env={"RELHOST_FREEZE": "1"}), 4, out=[r"RELHOST_FREEZE"])
    rh.check(p.ran() == [], f"published while RELHOST_FREEZE=1: {p.ran()}", r)


def case_freeze_needs_a_reason():
    p = Plan(steps("passed"))
    rh.expect(rh.run(["freeze", "-c", p.path], cwd=p.dir), 2, err=[r"--reason"])


def case_a_corrupt_freeze_file_fails_closed():
    p = Plan(steps("passed"))
    os.makedirs(os.path.join(p.dir, ".relhost", "state"))
    rh.write(os.path.join(p.dir, ".relhost", "state", "frozen.json"), "{not json")
    r = rh.expect(p.run(), 2, err=[r"frozen.json is unreadable"])
    rh.check(p.ran() == [], "ran despite an unreadable kill switch", r)


def case_a_tool_error_defers_then_fails_closed():
    p = Plan(lambda d: [gate("flaky", 'outcome = "error"; retryable = true;'),
                        appender(d, "alarm", 'when = "on_failure"; required = false;')],
             top="max_defers = 2;\n")
    for n in (1, 2):
        r = rh.expect(p.run(), 75)
        st = p.state()
        rh.check(st["steps"]["flaky"]["defers"] == n, f"defer count {st['steps']['flaky']}", r)
        rh.check(st["finished"] is False, "a deferred release is not finished", r)
        rh.check(p.ran() == [], f"alarm ran on a deferral: {p.ran()}", r)
    r = rh.expect(p.run(), 1, out=[r"tool_error_exhausted"])
    rh.check(p.state()["steps"]["flaky"]["outcome"] == "FAILED", "fail closed", r)
    rh.check(p.ran() == ["alarm"], f"the on_failure alarm must run once: {p.ran()}", r)


def case_a_verdict_is_never_deferred():
    p = Plan(lambda d: [gate("bad", 'outcome = "failed";')])
    rh.expect(p.run(), 1)
    rh.check("defers" not in p.state()["steps"]["bad"], "a verdict was deferred")


if __name__ == "__main__":
    sys.exit(rh.main(globals()))
