#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""registry.py - the release registry, end to end on the real binary: a green candidate is staged
and promoted (pointers, symlink, baseline, audit), a red one quarantined and never promotable, a
changed staged artifact blocks promotion, rollback restores the previous green (and runs
on_rollback), a failing monitor run rolls back by itself, bad registry files are refused with
nothing changed, and a SIGKILL at every registry crash point leaves a consistent registry.

Verdicts come from fixture_gate; what hooks ran is proved by command steps appending to a file.
Run one case: registry.py <case>."""
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))
import rh  # noqa: E402


def appender(plan_dir, name, extra="", what="{step}"):
    log = os.path.join(plan_dir, "ran.log")
    return (f'  {{ name = "{name}"; plugin = "command"; {extra} '
            f'cmd = ["sh", "-c", "echo \\"$0\\" >> \\"$1\\"", "{what}", "{log}"]; }}')


class Reg:
    """A plan with stage -> tests -> promote, quarantine on failure, and hooks."""

    def __init__(self, tests_outcome="passed", extra_steps="", top="", quarantine=True):
        self.dir = rh.scratch()
        self.reg = os.path.join(self.dir, ".relhost", "registry")
        os.makedirs(os.path.join(self.dir, "dist"))
        self.artifact("model.bin", "weights v1\n")
        d = self.dir
        steps = [
            '  { name = "stage"; plugin = "registry"; action = "stage"; '
            'artifacts = ["dist/*.bin"]; }',
            f'  {{ name = "tests"; plugin = "fixture_gate"; outcome = "{tests_outcome}"; }}',
            '  { name = "promote"; plugin = "registry"; action = "promote"; publishes = true; }',
        ]
        if quarantine:
            steps.append('  { name = "quarantine"; plugin = "registry"; action = "quarantine"; '
                         'when = "on_failure"; required = false; }')
        if extra_steps:
            steps.append(extra_steps)
        self.path = rh.write_plan(
            d, f"plugin_path = {json.dumps([rh.fixture('good')])};\n"
               f'registry_dir = ".relhost/registry";\n{top}'
               "steps = (\n" + ",\n".join(steps) + "\n);\n"
               "on_promote = (\n" + appender(d, "celebrate", what="promoted {version}") + "\n);\n"
               "on_rollback = (\n" + appender(d, "announce",
                                             what="rollback {rollback_from} {rollback_to}")
               + "\n);\n")

    def artifact(self, name, text):
        rh.write(os.path.join(self.dir, "dist", name), text)

    def run(self, *args, env=None, code=None, **kw):
        r = rh.run(list(args[:1]) + ["-c", self.path] + list(args[1:])
                   if args and args[0] in ("rollback", "releases", "monitor", "waive", "explain")
                   else ["-c", self.path] + list(args), cwd=self.dir, env=env)
        if code is not None:
            rh.expect(r, code, **kw)
        return r

    def release(self, version, code=0, **kw):
        return self.run("--release", version, "--no-interactive", code=code, **kw)

    def manifest(self):
        with open(os.path.join(self.reg, "manifest.json")) as f:
            return json.load(f)

    def entry(self, version):
        return next(e for e in self.manifest()["releases"] if e["version"] == version)

    def audit(self):
        path = os.path.join(self.reg, "audit.jsonl")
        if not os.path.exists(path):
            return []
        with open(path) as f:
            return [json.loads(line) for line in f if line.strip()]

    def link(self):
        return os.readlink(os.path.join(self.reg, "last_green"))

    def ran(self):
        log = os.path.join(self.dir, "ran.log")
        return [x.strip() for x in open(log)] if os.path.exists(log) else []

    def baseline(self):
        path = os.path.join(self.dir, ".relhost", "state", "baseline.json")
        with open(path) as f:
            return json.load(f)


def case_green_candidate_is_staged_and_promoted():
    g = Reg()
    r = g.release("1.0")
    m = g.manifest()
    rh.check(m["schema"] == 1, f"schema {m}", r)
    rh.check(m["pointers"] == {"latest": "1.0", "last_green": "1.0", "previous_green": None},
             f"pointers {m['pointers']}", r)
    e = g.entry("1.0")
    rh.check(e["status"] == "promoted" and e["promoted_at"] and e["staged_at"], f"entry {e}", r)
    import hashlib
    want = hashlib.sha256(b"weights v1\n").hexdigest()
    rh.check(e["artifacts"] == [{"path": "model.bin", "sha256": want, "size": 11}],
             f"artifacts {e['artifacts']}", r)
    rh.check(g.link() == "staged/1.0", f"symlink {g.link()}", r)
    rh.check(rh.read(os.path.join(g.reg, "last_green", "model.bin")) == "weights v1\n",
             "the symlink does not lead to the staged bytes", r)
    ops = [(a["operation"], a.get("version")) for a in g.audit()]
    rh.check(ops == [("stage", "1.0"), ("promote", "1.0")], f"audit {ops}", r)
    for a in g.audit():
        rh.check(a.get("user") and a.get("host") and a.get("at") and a.get("id")
                 and isinstance(a.get("duration_ms"), (int, float)), f"audit fields {a}", r)
    rh.check(g.ran() == ["promoted 1.0"], f"on_promote ran {g.ran()}", r)
    rh.check(not os.path.exists(os.path.join(g.reg, "intent.json")), "intent left behind", r)
    # a re-run of the same release changes nothing
    before = g.manifest()
    g.release("1.0")
    rh.check(g.manifest() == before, "a re-run changed the manifest", r)
    rh.check(len(g.audit()) == 2, f"a re-run was audited again: {g.audit()}", r)
    # the next release moves the pointers
    g.artifact("model.bin", "weights v2\n")
    g.release("2.0")
    m = g.manifest()
    rh.check(m["pointers"] == {"latest": "2.0", "last_green": "2.0", "previous_green": "1.0"},
             f"pointers after 2.0: {m['pointers']}", r)
    rh.check(rh.read(os.path.join(g.reg, "staged", "1.0", "model.bin")) == "weights v1\n",
             "staged bytes of 1.0 changed", r)
    out = g.run("releases", code=0, out=[r"2\.0\s+promoted.*last_green", r"1\.0\s+promoted"])
    rh.check("previous_green 1.0" in out.out, "releases shows pointers", out)


def case_red_candidate_is_quarantined_and_never_promoted():
    g = Reg("failed")
    r = g.release("1.0", code=1)
    e = g.entry("1.0")
    rh.check(e["status"] == "quarantined", f"entry {e}", r)
    rh.check("tests" in (e["reason"] or "") and "FAILED" in e["reason"], f"reason {e}", r)
    rh.check(g.manifest()["pointers"]["last_green"] is None, "a red release became green", r)
    rh.check(not os.path.exists(os.path.join(g.reg, "last_green")), "symlink made", r)
    rh.check(g.ran() == [], f"on_promote ran for a red release: {g.ran()}", r)
    # the publishes guard refuses --step promote ...
    r = g.run("--release", "1.0", "--step", "promote", code=1,
              out=[r'required step "tests" is FAILED'])
    # ... and even when the tests are made to pass, the registry refuses a quarantined release
    r = g.run("--release", "1.0", "--set", 'steps.tests.outcome=passed', code=1,
              out=[r"quarantined"])
    rh.check(g.entry("1.0")["status"] == "quarantined", "quarantine lifted", r)
    rh.check(g.manifest()["pointers"]["last_green"] is None, "quarantined release promoted", r)


def case_changed_staged_artifact_blocks_promotion():
    g = Reg()
    r = g.run("--release", "1.0", "--step", "stage", "--step", "tests", code=0)
    staged = os.path.join(g.reg, "staged", "1.0", "model.bin")
    os.chmod(staged, 0o644)
    rh.write(staged, "tampered\n")
    r = g.run("--release", "1.0", "--step", "promote", code=1,
              out=[r"changed after staging: sha256 [0-9a-f]{64}, staged as [0-9a-f]{64}"])
    rh.check(g.manifest()["pointers"]["last_green"] is None, "tampered release promoted", r)
    rh.check(g.entry("1.0")["status"] == "staged", f"entry {g.entry('1.0')}", r)
    # staging again from the candidate repairs it, and then it is promoted
    r = g.run("--release", "1.0", "--rerun", "stage", "--step", "promote", code=0)
    rh.check(rh.read(staged) == "weights v1\n", "re-staging did not restore the bytes", r)
    rh.check(g.manifest()["pointers"]["last_green"] == "1.0", "not promoted after re-stage", r)


def case_stage_with_no_matching_artifact_fails():
    g = Reg()
    os.remove(os.path.join(g.dir, "dist", "model.bin"))
    g.release("1.0", code=1, out=[r"dist/\*\.bin matched nothing"])


def case_rollback_restores_the_previous_green_and_is_audited():
    g = Reg()
    g.release("1.0")
    g.artifact("model.bin", "weights v2\n")
    g.release("2.0")
    r = g.run("rollback", "--reason", "sps regression seen in prod", "--dry-run", code=0,
              out=[r"would roll back last_green 2\.0 -> 1\.0"])
    rh.check(g.manifest()["pointers"]["last_green"] == "2.0", "dry run changed the registry", r)
    n_audit = len(g.audit())
    r = g.run("rollback", "--reason", "sps regression seen in prod", code=0,
              out=[r"rolled back last_green 2\.0 -> 1\.0"])
    m = g.manifest()
    rh.check(m["pointers"]["last_green"] == "1.0" and m["pointers"]["latest"] == "2.0",
             f"pointers {m['pointers']}", r)
    rh.check(g.entry("2.0")["status"] == "rolled_back", f"{g.entry('2.0')}", r)
    rh.check(g.entry("2.0")["reason"] == "sps regression seen in prod", "reason kept", r)
    rh.check(g.link() == "staged/1.0", f"symlink {g.link()}", r)
    a = g.audit()[-1]
    rh.check(len(g.audit()) == n_audit + 1, "one audit line per rollback", r)
    rh.check(a["operation"] == "rollback" and a["from"] == "2.0" and a["to"] == "1.0"
             and a["reason"] == "sps regression seen in prod" and a["user"] and a["host"]
             and isinstance(a["duration_ms"], (int, float)), f"audit {a}", r)
    rh.check(g.ran()[-1] == "rollback 2.0 1.0", f"on_rollback ran {g.ran()}", r)
    # nothing earlier than 1.0 is green: a second rollback has nowhere to go
    g.run("rollback", "--reason", "again", code=2, out=[], err=[r"no earlier promoted release"])
    # --to back to 2.0 works (it was promoted once), unknown versions are refused
    g.run("rollback", "--reason", "false alarm", "--to", "9.9", code=2, err=[r"no such release"],
          not_err=[r"did you mean"])
    g.run("rollback", "--reason", "false alarm", "--to", "2.O", code=2,
          err=[r"--to 2\.O: no such release .*\(did you mean '2\.0'\?\)"])
    g.run("rollback", "--reason", "false alarm", "--to", "2.0", code=0)
    rh.check(g.manifest()["pointers"]["last_green"] == "2.0", "--to 2.0", r)
    rh.check(g.entry("2.0")["status"] == "promoted", "status after --to", r)


def banner(g):
    """The status page's banner tag and last-change tag, as the registry left them."""
    page = rh.read(os.path.join(g.reg, "site", "index.html"))
    b = re.search(r'<header id="banner"[^>]*>', page)
    last = re.search(r'<p id="last-change"[^>]*>(.*?)</p>', page, re.S)
    rh.check(b and last, "the status page has no banner with a last change")
    return b.group(0), last.group(0)


def case_status_page_says_what_is_live_who_rolled_back_and_why():
    """After a real promotion, rollback and freeze, the registry's own page is current."""
    g = Reg()
    g.release("1.0")
    g.artifact("model.bin", "weights v2\n")
    g.release("2.0")
    b, last = banner(g)
    rh.check('data-live="2.0"' in b and 'data-health="healthy"' in b, f"after promoting: {b}")
    rh.check('data-operation="promote"' in last, f"after promoting: {last}")
    g.run("rollback", "--reason", "sps regression seen in prod", code=0)
    user = g.audit()[-1]["user"]
    b, last = banner(g)
    rh.check('data-live="1.0"' in b and 'data-health="degraded"' in b, f"after rollback: {b}")
    rh.check('data-operation="rollback"' in last and f'data-by="{user}"' in last
             and "sps regression seen in prod" in last, f"after rollback: {last}")
    # The kill switch shows at once: freeze and unfreeze rewrite an existing page.
    rh.expect(rh.run(["freeze", "-c", g.path, "--reason", "incident 7"], cwd=g.dir), 0)
    b, _ = banner(g)
    rh.check('data-frozen="true"' in b, f"the page does not show the freeze: {b}")
    rh.expect(rh.run(["unfreeze", "-c", g.path, "--reason", "over"], cwd=g.dir), 0)
    b, _ = banner(g)
    rh.check('data-frozen="false"' in b, f"the page does not show the unfreeze: {b}")


def case_rollback_dry_run_needs_no_reason():
    g = Reg()
    g.release("1.0")
    g.artifact("model.bin", "weights v2\n")
    g.release("2.0")
    before = g.manifest()
    g.run("rollback", "--dry-run", code=0,
          out=[r"would roll back last_green 2\.0 -> 1\.0 \(reason: none given\); "
               r"nothing changed"])
    rh.check(g.manifest() == before, "a dry run changed the manifest")
    # a real rollback still goes into the audit log with its reason
    g.run("rollback", code=2, err=[r"rollback needs --reason TEXT"])


def case_rollback_hooks_are_no_verdict_on_the_release():
    """After a rollback the on_rollback steps run for the rolled-back release: their console
    must not end in "result: PASSED", which reads as a verdict on that release."""
    g = Reg()
    g.release("1.0")
    g.artifact("model.bin", "weights v2\n")
    g.release("2.0")
    g.run("rollback", "--reason", "regression", code=0,
          out=[r"the on_rollback steps of plan plan, for release 2\.0 \(rolled back\)",
               r"^on_rollback steps: PASSED \(exit 0\): 1 PASSED; "
               r"release 2\.0 stays rolled back$"],
          not_out=[r"^result:", r"release 2\.0 of plan"])


def case_a_quarantined_releases_reason_says_actual_relation_and_requirement():
    """`releases`, the status page and explain name a failed check by its value, the relation
    that broke the rule and the rule: never "sps_max 12833 >= 30000", as if it held."""
    d = rh.scratch()
    os.makedirs(os.path.join(d, "dist"))
    rh.write(os.path.join(d, "dist", "model.bin"), "w\n")
    py = json.dumps(sys.executable)
    p = rh.write_plan(d, f"""plugin_path = {json.dumps([rh.fixture('good')])};
registry_dir = ".relhost/registry"; version = "1.0";
runners = {{ local = {{ plugin = "runner_local"; }}; }};
metrics = {{ logs = {{ plugin = "metrics_regex"; }}; }};
steps = (
  {{ name = "stage"; plugin = "registry"; action = "stage"; artifacts = ["dist/*.bin"]; }},
  {{ name = "tests"; plugin = "workflow"; metrics = ["logs"]; validations = (
     {{ name = "arena"; runner = "local"; cmd = [{py}, "-c", "print('step 1 SPS: 12833')"];
        acceptance = ( {{ metric = "sps_max"; op = ">="; value = 30000.0; }} ); }} ); }},
  {{ name = "promote"; plugin = "registry"; action = "promote"; publishes = true; }},
  {{ name = "quarantine"; plugin = "registry"; action = "quarantine"; when = "on_failure";
     required = false; }}
);
""")
    want = rh.q("arena: sps_max 12833 < 30000 (needs >= 30000)")
    wrong = [r"sps_max 12833 >= 30000"]
    rh.expect(rh.run(["-c", p, "--no-interactive"], cwd=d), 1, not_out=wrong)
    rh.expect(rh.run(["releases", "-c", p], cwd=d), 0, out=[r"^  1\.0\s+quarantined .*" + want],
              not_out=wrong)
    rh.expect(rh.run(["explain", "-c", p], cwd=d), 0, out=[want], not_out=wrong)
    rh.expect(rh.run(["site", "-c", p], cwd=d), 0)
    page = rh.read(os.path.join(d, ".relhost", "registry", "site", "index.html"))
    rh.check("sps_max 12833 &lt; 30000 (needs &gt;= 30000)" in page and
             "sps_max 12833 &gt;= 30000" not in page, "the status page's reason", None)


def case_rollback_to_a_quarantined_release_is_refused():
    g = Reg()
    g.release("1.0")
    g.run("--release", "1.5", "--no-interactive", "--set", 'steps.tests.outcome=failed',
          code=1)
    g.artifact("model.bin", "weights v2\n")
    g.release("2.0")
    before = g.manifest()
    g.run("rollback", "--reason", "x", "--to", "1.5", code=2, err=[r"quarantined"])
    rh.check(g.manifest() == before, "a refused rollback changed the manifest")
    r = g.run("rollback", "--reason", "x", code=0, out=[r"2\.0 -> 1\.0"])


def case_rollback_works_while_frozen():
    g = Reg()
    g.release("1.0")
    g.artifact("model.bin", "weights v2\n")
    g.release("2.0")
    rh.expect(rh.run(["freeze", "-c", g.path, "--reason", "incident"], cwd=g.dir), 0)
    r = g.run("rollback", "--reason", "incident", code=0)
    rh.check(g.manifest()["pointers"]["last_green"] == "1.0", "frozen rollback did not flip", r)
    ops = [a["operation"] for a in g.audit()]
    rh.check(ops[-2:] == ["freeze", "rollback"], f"one audit log for both: {ops}", r)


def case_failing_monitor_rolls_back_and_quarantines_by_itself():
    g = Reg()
    g.release("1.0")
    g.artifact("model.bin", "weights v2\n")
    g.release("2.0")
    r = g.run("monitor", "--dry-run", code=0,
              out=[r"against last green release 2\.0", r"roll back 2\.0 -> 1\.0"])
    rh.check(g.manifest()["pointers"]["last_green"] == "2.0", "dry run acted", r)
    # a passing monitor run changes nothing
    r = g.run("monitor", code=0)
    rh.check(g.manifest()["pointers"]["last_green"] == "2.0", "a green monitor rolled back", r)
    # the nightly suite now fails on the last green release
    r = g.run("monitor", "--set", 'steps.tests.outcome=failed', code=1,
              out=[r"rolled back last_green 2\.0 -> 1\.0; quarantined 2\.0"])
    m = g.manifest()
    rh.check(m["pointers"]["last_green"] == "1.0", f"pointers {m['pointers']}", r)
    e = g.entry("2.0")
    rh.check(e["status"] == "quarantined" and "monitor" in e["reason"] and "tests" in e["reason"],
             f"entry {e}", r)
    rh.check(g.link() == "staged/1.0", "symlink", r)
    rh.check(g.ran()[-1] == "rollback 2.0 1.0", f"on_rollback {g.ran()}", r)
    # the baseline went back with last_green, in the same audited step
    rh.expect(r, 1, out=[r"baseline restored to release 1\.0"])
    a = g.audit()[-1]
    rh.check(a["operation"] == "rollback+quarantine" and
             "restored to release 1.0" in a.get("baseline", ""), f"audit {a}", r)
    rh.check(rh.read(os.path.join(g.reg, "baselines", "1.0.json")) ==
             rh.read(os.path.join(g.dir, ".relhost", "state", "baseline.json")),
             "the baseline store is not 1.0's kept baseline", r)
    # a monitor run is a record of its own, never a resume of the release
    st = json.load(open(os.path.join(g.dir, ".relhost", "state", "release_2.0.json")))
    rh.check(st["steps"]["tests"]["outcome"] == "PASSED", "monitor rewrote the release state", r)
    mons = os.listdir(os.path.join(g.dir, ".relhost", "state", "monitor"))
    rh.check(sum(f.startswith("release_2.0-monitor-") and f.endswith(".json")
                 for f in mons) >= 1, f"monitor records {mons}", r)
    rh.check(len([x for x in g.ran() if x.startswith("promoted")]) == 2,
             f"a monitor run published: {g.ran()}", r)


def case_monitor_without_a_green_release_is_an_error():
    g = Reg()
    g.run("monitor", code=2, err=[r"no last green release"])


def case_corrupt_or_newer_manifest_is_refused_and_untouched():
    g = Reg()
    g.release("1.0")
    path = os.path.join(g.reg, "manifest.json")
    for text, msg in (("{not json", r"manifest .* is not valid"),
                      (json.dumps({"schema": 99, "pointers": {}, "releases": []}),
                       r"schema 99, newer than")):
        rh.write(path, text)
        g.run("releases", code=2, err=[msg])
        g.run("rollback", "--reason", "x", code=2, err=[msg])
        g.artifact("model.bin", "weights v3\n")
        r = g.release("3.0", code=3)
        rh.check(rh.read(path) == text, "a bad manifest was rewritten", r)


def case_unwritable_registry_is_an_error():
    if os.geteuid() == 0:
        # root writes anyway: make the registry path a file instead; that is found before
        # any step runs (exit 2), not at the stage step
        g = Reg()
        os.makedirs(os.path.join(g.dir, ".relhost"))
        rh.write(g.reg, "not a folder\n")
        r = g.release("1.0", code=2)
        rh.check(f"registry_dir refused: {g.reg} is not a folder (found before any step ran)"
                 in r.err, "the registry is named before anything runs", r)
        return
    g = Reg()
    os.makedirs(g.reg)
    os.chmod(g.reg, 0o500)
    g.release("1.0", code=3)


def case_waiver_lets_a_release_promote_and_shows_as_waived():
    # this plan quarantines nothing: a quarantined release stays unpromotable, waiver or not
    g = Reg("failed", quarantine=False)
    r = g.release("1.0", code=1)
    g.run("waive", "--release", "1.0", "--step", "nosuch", "--reason", "x", code=2,
          err=[r'no step "nosuch"'])
    g.run("waive", "--release", "1.0", "--step", "tests", "--reason", "x", "--expires",
          "2001-01-01T00:00:00Z", code=2, err=[r"in the past"])
    g.run("waive", "--release", "../9.9", "--step", "tests", "--reason", "x", code=2,
          err=[r'release version "\.\./9\.9" is not valid'])
    g.run("waive", "--release", "1.0", "--step", "tests", "--reason",
          "known flaky fixture, INC-7", "--expires", "7d", code=0,
          out=[r"waived step tests of release 1\.0"])
    r = g.release("1.0", code=0, out=[r"WAIVED\s+tests", r"known flaky fixture, INC-7"])
    st = json.load(open(os.path.join(g.dir, ".relhost", "state", "release_1.0.json")))
    s = st["steps"]["tests"]
    rh.check(s["outcome"] == "WAIVED" and s["waived_from"]["outcome"] == "FAILED" and
             "known flaky fixture" in s["message"], f"step record {s}", r)
    rh.check(st["waivers"][0]["reason"] == "known flaky fixture, INC-7" and
             st["waivers"][0]["by"] and st["waivers"][0]["expires"], f"waivers {st['waivers']}", r)
    rh.check(g.manifest()["pointers"]["last_green"] == "1.0", "a waived release not promoted", r)
    ops = [a["operation"] for a in g.audit()]
    rh.check("waive" in ops, f"waiver not audited: {ops}", r)
    g.run("explain", "--release", "1.0", code=0,
          out=[r"tests waived by \S+ until \S+: known flaky fixture, INC-7"])
    for fmt, pat in (("md", "WAIVED"), ("junit", "WAIVED"), ("json", '"WAIVED"')):
        rep = rh.run(["report", "-c", g.path, "--release", "1.0", "--format", fmt], cwd=g.dir)
        rh.expect(rep, 0, out=[pat, "known flaky fixture"])


def case_an_expired_waiver_waives_nothing():
    g = Reg("failed", quarantine=False)
    g.release("1.0", code=1)
    g.run("waive", "--release", "1.0", "--step", "tests", "--reason", "for a second",
          "--expires", "1s", code=0)
    time.sleep(1.5)
    r = g.release("1.0", code=1, out=[r"FAILED\s+tests"])
    rh.check(g.manifest()["pointers"]["last_green"] is None, "an expired waiver promoted", r)
    r = g.run("--release", "1.0", "--step", "promote", code=1, out=[r'"tests" is FAILED'])


POINTS = ["registry.stage.copied", "registry.intent", "registry.swap", "registry.manifest",
          "registry.baseline", "registry.link", "registry.audit"]


def consistent(g, why):
    """After a crash and one restart: manifest, symlink, baseline and audit agree."""
    r = g.run("releases", code=0)
    m = g.manifest() if os.path.exists(os.path.join(g.reg, "manifest.json")) else \
        {"pointers": {"last_green": None}, "releases": []}
    rh.check(not os.path.exists(os.path.join(g.reg, "intent.json")), f"{why}: intent left", r)
    lg = m["pointers"].get("last_green")
    link = os.path.join(g.reg, "last_green")
    if lg:
        rh.check(os.readlink(link) == f"staged/{lg}", f"{why}: symlink vs manifest", r)
        rh.check(os.path.isdir(link), f"{why}: symlink dangles", r)
    else:
        rh.check(not os.path.lexists(link), f"{why}: symlink without a green release", r)
    for e in m["releases"]:
        rh.check(not (e["status"] == "quarantined" and lg == e["version"]),
                 f"{why}: {e['version']} both green and quarantined", r)
        if e["status"] in ("staged", "promoted"):
            for a in e["artifacts"]:
                p = os.path.join(g.reg, "staged", e["version"], a["path"])
                rh.check(os.path.exists(p), f"{why}: staged file {p} missing", r)
    ops = [(a["operation"], a.get("version") or a.get("to")) for a in g.audit()]
    ids = [a["id"] for a in g.audit() if "id" in a]
    rh.check(len(ids) == len(set(ids)), f"{why}: an operation audited twice: {ops}", r)
    promoted = [e["version"] for e in m["releases"] if e["promoted_at"]]
    audited = [v for op, v in ops if op == "promote"]
    rh.check(sorted(promoted) == sorted(audited), f"{why}: promoted {promoted} vs audit {ops}", r)
    # only a promotion writes the baseline: it exists exactly when a release was promoted
    bl = os.path.join(g.dir, ".relhost", "state", "baseline.json")
    rh.check(os.path.exists(bl) == bool(promoted), f"{why}: baseline vs promoted {promoted}", r)
    if promoted:
        rh.check(g.baseline()["schema"] == 1, f"{why}: baseline unreadable", r)
    # the baseline store is the one last_green's promotion kept
    if lg:
        kept = os.path.join(g.reg, "baselines", f"{lg}.json")
        rh.check(os.path.exists(kept) and rh.read(kept) == rh.read(bl),
                 f"{why}: the baseline store is not the one {lg} kept", r)
    return m


def case_a_reader_never_finds_the_symlink_ahead_of_the_manifest():
    # Read right after the kill, before any relhost command finishes the intent: the manifest
    # is the commit point, so last_green may lag behind it but never names a release the
    # manifest has not promoted (a deploy that follows the link sees no uncommitted release).
    killed = 0
    for point, hit in [(p, n) for p in POINTS for n in (1, 2)]:
        g = Reg()
        g.release("1.0")
        g.artifact("model.bin", "weights v2\n")
        env = dict(os.environ, RELHOST_CRASH_AT=f"{point}:{hit}")
        r = g.run("--release", "2.0", "--no-interactive", env=env)
        if r.rc != -signal.SIGKILL:
            continue
        killed += 1
        m = g.manifest()
        link = os.path.join(g.reg, "last_green")
        target = os.readlink(link).split("/", 1)[1] if os.path.lexists(link) else None
        promoted = {e["version"] for e in m["releases"] if e.get("promoted_at")}
        rh.check(target is None or target in promoted,
                 f"killed at {point}: last_green names {target}, which the manifest has not "
                 f"promoted ({sorted(promoted)})", r)
    rh.check(killed >= len(POINTS), f"only {killed} kills happened: the points moved?")


def case_a_kill_at_every_registry_point_leaves_it_consistent():
    for point in POINTS:
        for op in ("stage", "promote", "quarantine", "rollback"):
            g = Reg()
            env = dict(os.environ, RELHOST_CRASH_AT=point)
            if op in ("stage", "promote"):
                # stage is the first registry commit of a run, promote the second
                env["RELHOST_CRASH_AT"] = f"{point}:{1 if op == 'stage' else 2}" \
                    if point != "registry.stage.copied" else point
                r = g.run("--release", "1.0", "--no-interactive", env=env)
            elif op == "quarantine":
                g = Reg("failed")
                r = g.run("--release", "1.0", "--no-interactive", env=env)
            else:
                g.release("1.0")
                g.artifact("model.bin", "weights v2\n")
                g.release("2.0")
                r = g.run("rollback", "--reason", "crash test", env=env)
            if r.rc != -signal.SIGKILL:
                continue  # that operation does not pass that point
            why = f"{op} killed at {point}"
            m = consistent(g, why)
            # the operation happened entirely or not at all; a re-run completes the release
            if op == "rollback":
                lg = m["pointers"]["last_green"]
                rh.check(lg in ("1.0", "2.0"), f"{why}: last_green {lg}", r)
                if lg == "1.0":
                    rh.check([a["operation"] for a in g.audit()].count("rollback") == 1,
                             f"{why}: rollback finished but not audited once", r)
            else:
                r2 = g.run("--release", "1.0", "--no-interactive")
                consistent(g, why + ", then re-run")
                e = g.entry("1.0")
                want = "quarantined" if op == "quarantine" else "promoted"
                rh.check(e["status"] == want, f"{why}: after re-run {e}", r2)


def trainer_plan(d, sps, acceptance, top=""):
    """A workflow step running the fake trainer at ~sps SPS, then promote."""
    trainer = os.path.join(rh.source_dir(), "examples", "fake_trainer", "train.py")
    return rh.write_plan(d, f"""{top}
registry_dir = ".relhost/registry";
runners = {{ local = {{ plugin = "runner_local"; }}; }};
metrics = {{ logs = {{ plugin = "metrics_regex"; }}; }};
steps = (
  {{ name = "tests"; plugin = "workflow"; runner = "local"; metrics = ["logs"];
     validations = (
       {{ name = "smoke"; cmd = ["python3", "{trainer}", "--sps", "{sps}", "--lines", "3",
                                "--seed", "1"];
          timeout_s = "1m"; acceptance = ( {acceptance} ); }}
     ); }},
  {{ name = "promote"; plugin = "registry"; action = "promote"; publishes = true; }}
);
""")


def case_the_promoted_baseline_judges_the_next_release():
    """1.0 is promoted at ~30000 SPS and writes the baseline; 2.0 at ~20000 drops more than 20%
    and fails with actual vs baseline (and is not promoted); 3.0 at ~27000 is within it."""
    d = rh.scratch()
    rule = '{ metric = "sps_max"; baseline = "higher"; rel = 0.20; }'

    def run(version, sps, code):
        return rh.expect(rh.run(["-c", trainer_plan(d, sps, rule), "--release", version,
                                 "--no-interactive"], cwd=d), code)

    r = run("1.0", 30000, 0)
    rh.check("no baseline yet" in r.out, "the first release has no baseline to compare", r)
    with open(os.path.join(d, ".relhost", "state", "baseline.json")) as f:
        base = json.load(f)["metrics"]["smoke::sps_max"]["value"]
    r = run("2.0", 20000, 1)
    rh.check(re.search(r"sps_max .*< bound [0-9.]+ \(baseline [0-9.]+, -20%\)", r.out),
             "no actual vs baseline in the failure", r)
    with open(os.path.join(d, ".relhost", "registry", "manifest.json")) as f:
        m = json.load(f)
    rh.check(m["pointers"]["last_green"] == "1.0", f"a regressed release promoted: {m}", r)
    with open(os.path.join(d, ".relhost", "state", "baseline.json")) as f:
        rh.check(json.load(f)["metrics"]["smoke::sps_max"]["value"] == base,
                 "a failed release moved the baseline", r)
    r = run("3.0", 27000, 0)
    with open(os.path.join(d, ".relhost", "registry", "manifest.json")) as f:
        rh.check(json.load(f)["pointers"]["last_green"] == "3.0", "3.0 not promoted", r)


def case_monitor_runs_the_plans_monitor_profile_against_last_green():
    d = rh.scratch()
    top = 'monitor_profile = "nightly";\nprofiles = { nightly = ["smoke"]; };\n'
    path = trainer_plan(d, 30000, '("sps_max", ">=", 1000.0)', top)
    rh.expect(rh.run(["-c", path, "--release", "1.0", "--no-interactive"], cwd=d), 0)
    r = rh.expect(rh.run(["monitor", "-c", path], cwd=d), 0,
                  out=[r"monitoring last green release 1\.0", r"profile nightly"])
    recs = [f for f in os.listdir(os.path.join(d, ".relhost", "state", "monitor"))
            if f.endswith(".json")]
    rh.check(len(recs) == 1, f"monitor records {recs}", r)
    with open(os.path.join(d, ".relhost", "state", "monitor", recs[0])) as f:
        st = json.load(f)
    rh.check(st["version"].startswith("1.0-monitor-") and
             st["jobs"]["tests/smoke"]["outcome"] == "PASSED", f"monitor record {st}", r)
    rh.check(st["steps"]["promote"]["reason"] == "monitor", "a monitor run published", r)


def case_baseline_is_written_by_promotion_only():
    d = rh.scratch()

    def plan(sps):
        return trainer_plan(d, sps, '("sps_max", ">=", 1000.0)')

    path = plan(30000)
    r = rh.expect(rh.run(["-c", path, "--release", "1.0", "--no-interactive"], cwd=d), 0)
    with open(os.path.join(d, ".relhost", "state", "baseline.json")) as f:
        b = json.load(f)
    rh.check(b["schema"] == 1, f"schema {b}", r)
    e = b["metrics"].get("smoke::sps_max")
    rh.check(e and e["version"] == "1.0" and e["value"] > 20000, f"baseline entry {e}", r)
    rh.check(isinstance(e.get("samples"), list) and e.get("recorded_at"), f"entry {e}", r)
    # a failed release writes no baseline
    path = plan(10)
    before = rh.read(os.path.join(d, ".relhost", "state", "baseline.json"))
    rh.expect(rh.run(["-c", path, "--release", "2.0", "--no-interactive"], cwd=d), 1)
    rh.check(rh.read(os.path.join(d, ".relhost", "state", "baseline.json")) == before,
             "a failed release changed the baseline")


# ---- the baseline follows last_green (each promoted release keeps the baseline it wrote) ------

class Trained:
    """trainer_plan in a scratch folder: release(version, sps) runs and promotes it."""

    def __init__(self, top="", rule='("sps_max", ">=", 1000.0)'):
        self.dir = rh.scratch()
        self.top, self.rule = top, rule
        self.reg = os.path.join(self.dir, ".relhost", "registry")
        self.bl = os.path.join(self.dir, ".relhost", "state", "baseline.json")
        self.path = trainer_plan(self.dir, 30000, rule, top)

    def release(self, version, sps, code=0, **kw):
        self.path = trainer_plan(self.dir, sps, self.rule, self.top)
        return rh.expect(rh.run(["-c", self.path, "--release", version, "--no-interactive"],
                                cwd=self.dir), code, **kw)

    def run(self, *args, code=None, env=None, **kw):
        r = rh.run([args[0], "-c", self.path] + list(args[1:]), cwd=self.dir, env=env)
        return rh.expect(r, code, **kw) if code is not None else r

    def sps(self):
        """(version, value) of the baseline's smoke::sps_max entry, or None without a store."""
        if not os.path.exists(self.bl):
            return None
        with open(self.bl) as f:
            e = json.load(f)["metrics"].get("smoke::sps_max")
        return (e["version"], e["value"]) if e else ("-", None)

    def audit(self):
        with open(os.path.join(self.reg, "audit.jsonl")) as f:
            return [json.loads(x) for x in f if x.strip()]

    def manifest(self):
        with open(os.path.join(self.reg, "manifest.json")) as f:
            return json.load(f)


def case_rollback_restores_the_baseline_of_the_release_it_returns_to():
    """A promoted at ~30000 SPS, B at ~40000: B's promotion moves the baseline to B. Rolling B back
    (an SPS regression) makes A's baseline current again, in the same step as last_green, and says
    so; the next candidate at ~27000 is judged against A's bound (24000), not B's (32000)."""
    t = Trained()
    t.release("1.0", 30000)
    a = t.sps()
    rh.check(a and a[0] == "1.0", f"baseline after 1.0: {a}")
    t.release("2.0", 40000)
    b = t.sps()
    rh.check(b and b[0] == "2.0" and b[1] > a[1], f"baseline after 2.0: {b}")
    r = t.run("rollback", "--reason", "sps regression", "--dry-run", code=0,
              out=[r"would roll back last_green 2\.0 -> 1\.0", r"baseline.*release 1\.0"])
    rh.check(t.sps() == b, "a dry run moved the baseline", r)
    r = t.run("rollback", "--reason", "sps regression", code=0,
              out=[r"rolled back last_green 2\.0 -> 1\.0", r"baseline restored to release 1\.0"])
    rh.check(t.sps() == a, f"after rollback to 1.0 the baseline is {t.sps()}, want {a}", r)
    line = t.audit()[-1]
    rh.check(line["operation"] == "rollback" and "restored to release 1.0" in line.get("baseline", ""),
             f"the audit line does not say the baseline was restored: {line}", r)
    # forward again with --to: 2.0's own baseline comes back
    t.run("rollback", "--reason", "false alarm", "--to", "2.0", code=0,
          out=[r"baseline restored to release 2\.0"])
    rh.check(t.sps() == b, f"after --to 2.0 the baseline is {t.sps()}, want {b}")
    t.run("rollback", "--reason", "sps regression", "--to", "1.0", code=0)
    rh.check(t.sps() == a, f"after the second rollback the baseline is {t.sps()}, want {a}")
    # the next candidate is judged against 1.0's values
    t.rule = '{ metric = "sps_max"; baseline = "higher"; rel = 0.20; }'
    r = t.release("3.0", 27000, code=0)
    rh.check(t.manifest()["pointers"]["last_green"] == "3.0",
             "3.0 was judged against the rolled-back release's baseline", r)
    rh.check(t.sps()[0] == "3.0", f"3.0's promotion did not write the baseline: {t.sps()}", r)


def case_rollback_to_a_release_without_a_kept_baseline_removes_the_baseline():
    """A release promoted by an older relhost kept no baseline: a rollback to it removes the
    current one (fail closed: "no baseline yet", never the rolled-back release's values), says so
    in its output and audit line, and under require_baseline the next check is INCONCLUSIVE."""
    t = Trained(top="require_baseline = true;\n")
    t.release("1.0", 30000)
    t.release("2.0", 40000)
    kept = os.path.join(t.reg, "baselines", "1.0.json")
    rh.check(os.path.exists(kept), f"1.0's promotion kept no baseline at {kept}")
    os.remove(kept)  # as an older relhost left it
    r = t.run("rollback", "--reason", "sps regression", code=0,
              out=[r"rolled back last_green 2\.0 -> 1\.0", r"no baseline kept for release 1\.0"])
    rh.check(t.sps() is None, f"the rolled-back release's baseline stayed: {t.sps()}", r)
    line = t.audit()[-1]
    rh.check("no baseline kept for release 1.0" in line.get("baseline", ""),
             f"the audit line does not say so: {line}", r)
    t.rule = '{ metric = "sps_max"; baseline = "higher"; rel = 0.20; }'
    r = t.release("3.0", 27000, code=3, out=[r"no baseline yet"])
    rh.check(t.manifest()["pointers"]["last_green"] == "1.0", "3.0 promoted without a baseline", r)


def case_a_kill_during_rollback_keeps_baseline_and_last_green_together():
    """SIGKILL at every crash point of a rollback; after the next command the baseline store is
    the one of the release last_green names (A's or B's, never a mix)."""
    base = Trained()
    base.release("1.0", 30000)
    a = base.sps()
    base.release("2.0", 40000)
    b = base.sps()
    seen = 0
    for point in POINTS:
        d = rh.scratch()
        shutil.rmtree(d)
        shutil.copytree(base.dir, d, symlinks=True)
        t = Trained.__new__(Trained)
        t.dir, t.top, t.rule = d, "", base.rule
        t.reg = os.path.join(d, ".relhost", "registry")
        t.bl = os.path.join(d, ".relhost", "state", "baseline.json")
        t.path = os.path.join(d, os.path.basename(base.path))
        r = t.run("rollback", "--reason", "crash test", env={"RELHOST_CRASH_AT": point})
        if r.rc != -signal.SIGKILL:
            continue
        seen += 1
        why = f"rollback killed at {point}"
        t.run("releases", code=0)
        lg = t.manifest()["pointers"]["last_green"]
        rh.check(not os.path.exists(os.path.join(t.reg, "intent.json")), f"{why}: intent left", r)
        rh.check(os.readlink(os.path.join(t.reg, "last_green")) == f"staged/{lg}",
                 f"{why}: symlink vs manifest ({lg})", r)
        want = {"1.0": a, "2.0": b}[lg]
        rh.check(t.sps() == want, f"{why}: last_green {lg} but the baseline is {t.sps()}", r)
        n = [x["operation"] for x in t.audit()].count("rollback")
        rh.check(n == (1 if lg == "1.0" else 0), f"{why}: {n} rollback audit lines", r)
    rh.check(seen >= 4, f"only {seen} crash points were hit by a rollback")


# ---- the plans of etc/ keep their own folders ----------------------------------------------------

def etc_copy():
    """etc/ in a scratch git repository d (stable.cfg's repo = ".." is d), examples/ linked."""
    d = rh.scratch()
    shutil.copytree(os.path.join(rh.source_dir(), "etc"), os.path.join(d, "etc"))
    os.symlink(os.path.join(rh.source_dir(), "examples"), os.path.join(d, "examples"))
    git = ["git", "-C", d, "-c", "user.email=t@relhost.invalid", "-c", "user.name=t"]
    for args in (["init", "-q"], ["add", "etc"], ["commit", "-q", "-m", "etc"]):
        subprocess.run(git + args, check=True, capture_output=True)
    return d


def plan_folders(d, name):
    """{state_dir, log_dir, registry_dir} of etc/<name>.cfg, as relhost reads them."""
    path = os.path.join(d, "etc", f"{name}.cfg")
    r = rh.expect(rh.run(["-c", path, "--check"], cwd=d, env=NO_ACCOUNTS), None)
    got = dict(re.findall(r"^  (state_dir|log_dir)\s+(\S+)$", r.out, re.M))
    m = re.search(r"^registry (\S+)$", rh.expect(rh.run(["releases", "-c", path], cwd=d), 0).out,
                  re.M)
    rh.check(len(got) == 2 and m, f"{name}.cfg: no state_dir / log_dir / registry in", r)
    got["registry_dir"] = m.group(1)
    return got


NO_ACCOUNTS = {"ASANA_TOKEN": None, "ASANA_PROJECT_ID": None, "GITHUB_TOKEN": None}


def case_etc_plans_keep_their_own_state_logs_and_registry():
    """etc/demo.cfg and etc/stable.cfg share no state, log or registry folder (all under the
    git-ignored .relhost/): after the README's demo, `monitor -c etc/stable.cfg --dry-run` finds
    no last green release instead of targeting the demo's."""
    d = etc_copy()
    demo, stable = plan_folders(d, "demo"), plan_folders(d, "stable")
    for k in ("state_dir", "log_dir", "registry_dir"):
        rh.check(demo[k] != stable[k], f"demo and stable share {k} {demo[k]}")
        for name, f in (("demo", demo), ("stable", stable)):
            rh.check(f[k].startswith(os.path.join(d, ".relhost") + "/"),
                     f"{name}.cfg's {k} {f[k]} is not under the git-ignored .relhost/")
    every = [f[k] for f in (demo, stable) for k in f]
    for a in every:
        for b in every:
            rh.check(a == b or not b.startswith(a + "/"), f"{b} is inside {a}")
    r = rh.run(["-c", os.path.join(d, "etc", "demo.cfg"), "--no-interactive"], cwd=d,
               env=NO_ACCOUNTS, timeout=300)
    rh.check(r.rc == 0, "the demo did not pass", r)
    with open(os.path.join(demo["registry_dir"], "manifest.json")) as f:
        rh.check(json.load(f)["pointers"]["last_green"], "the demo promoted nothing", r)
    rh.expect(rh.run(["monitor", "-c", os.path.join(d, "etc", "stable.cfg"), "--dry-run"],
                     cwd=d, env=NO_ACCOUNTS), 2, err=[r"no last green release"],
              not_out=[r"against last green release"])
    rh.check(not os.path.exists(stable["registry_dir"]) and
             not os.path.exists(os.path.join(stable["state_dir"], "baseline.json")),
             "the demo wrote into the stable plan's folders")


# ---- waivers before the first run ------------------------------------------------------------

def case_a_waiver_recorded_before_the_first_run_is_found_by_it():
    """A known, accepted failure is waived for a named --release before that release ever ran:
    the waiver is recorded (audited) without a run, and the release's first run finds it: the
    failing step is WAIVED, the release promoted, never quarantined."""
    g = Reg("failed")
    r = g.run("waive", "--release", "1.0", "--step", "tests", "--reason", "known flaky fixture, INC-9",
              "--expires", "7d", code=0,
              out=[r"waived step tests of release 1\.0", r"before its first run"])
    a = [x for x in g.audit() if x["operation"] == "waive"]
    rh.check(len(a) == 1 and a[0]["version"] == "1.0" and a[0]["step"] == "tests" and
             a[0]["reason"] == "known flaky fixture, INC-9" and a[0]["user"], f"audit {a}", r)
    st = json.load(open(os.path.join(g.dir, ".relhost", "state", "release_1.0.json")))
    rh.check(len(st.get("waivers", [])) == 1 and not st.get("steps") and not st.get("jobs") and
             "candidate" not in st, f"the waiver made a run: {st}", r)
    rh.check(not os.path.exists(os.path.join(g.reg, "manifest.json")) or
             not any(e["version"] == "1.0" for e in g.manifest()["releases"]),
             "the waiver entered the release in the registry", r)
    # a second waiver ahead adds to the first
    g.run("waive", "--release", "1.0", "--step", "promote", "--reason", "belt and braces",
          code=0)
    r = g.release("1.0", code=0, out=[r"WAIVED\s+tests", r"known flaky fixture, INC-9"])
    e = g.entry("1.0")
    rh.check(e["status"] == "promoted" and g.manifest()["pointers"]["last_green"] == "1.0",
             f"the waived release was not promoted: {e}", r)
    st = json.load(open(os.path.join(g.dir, ".relhost", "state", "release_1.0.json")))
    rh.check(st["steps"]["tests"]["outcome"] == "WAIVED" and
             st["steps"]["tests"]["waived_from"]["outcome"] == "FAILED" and
             len(st["waivers"]) == 2 and st.get("plan_hash"), f"state {st}", r)
    g.run("explain", "--release", "1.0", code=0,
          out=[r"tests waived by \S+ until \S+: known flaky fixture, INC-9"])


def case_a_validation_waiver_before_the_first_run_is_found_by_it():
    """--validation N before the step ever ran: the job that fails on its first run is WAIVED."""
    t = Trained(rule='("sps_max", ">=", 90000.0)')
    rh.expect(rh.run(["waive", "-c", t.path, "--release", "1.0", "--step", "tests",
                      "--validation", "smoke", "--reason", "slow runner until INC-10"],
                     cwd=t.dir), 0, out=[r"waived validation smoke of release 1\.0"])
    r = t.release("1.0", 30000, code=0, out=[r"WAIVED\s+tests"])
    rh.check(t.manifest()["pointers"]["last_green"] == "1.0", "not promoted", r)


def case_a_quarantined_release_is_not_waived():
    """A waiver cannot make a quarantined release promotable: it is refused, nothing recorded."""
    g = Reg("failed")
    g.release("1.0", code=1)
    rh.check(g.entry("1.0")["status"] == "quarantined", "not quarantined")
    n = len(g.audit())
    g.run("waive", "--release", "1.0", "--step", "tests", "--reason", "x", code=2,
          err=[r"quarantined"])
    st = json.load(open(os.path.join(g.dir, ".relhost", "state", "release_1.0.json")))
    rh.check(not st.get("waivers") and len(g.audit()) == n, "a refused waiver was recorded")


def site_index(g):
    """The status page's index of release states, by version (core/view/site_index.h)."""
    path = os.path.join(g.reg, "site_index.jsonl")
    rh.check(os.path.exists(path), "the registry has no site_index.jsonl")
    with open(path, "rb") as f:
        body = f.read().split(b"\n", 1)[1]
    return {v: {"version": v, "key": k, "record": rh.record_tokens(rec)}
            for v, k, rec, _ in rh.site_index_entries(body)}


def timeless_page(path):
    return re.sub(r'Generated <time datetime="[^"]*">[^<]*</time>', "", rh.read(path))


def case_promotion_and_rollback_update_the_status_page_index():
    g = Reg()
    g.release("1.0")
    ix = site_index(g)
    rh.check(sorted(ix) == ["1.0"], f"after promoting 1.0 the index holds {sorted(ix)}")
    g.artifact("model.bin", "weights v2\n")
    g.release("2.0")
    ix = site_index(g)
    rh.check(sorted(ix) == ["1.0", "2.0"], f"after promoting 2.0 the index holds {sorted(ix)}")
    # the promote step wrote the page while 2.0's run went on: that entry is of an unfinished
    # run, and the rollback's page reads 2.0's finished state instead of it
    rh.check(ix["2.0"]["record"][rh.RECORD_FINISHED] != "1", f"2.0's entry {ix['2.0']}")
    g.run("rollback", "--reason", "sps regression seen in prod", code=0)
    ix = site_index(g)
    rh.check(ix["2.0"]["record"][rh.RECORD_FINISHED] == "1" and
             ix["2.0"]["record"][rh.RECORD_EXIT_CODE] == "100",
             f"after the rollback 2.0's entry is still the unfinished run's: {ix['2.0']}")
    page = os.path.join(g.reg, "site", "index.html")
    rh.check('data-operation="rollback"' in rh.read(page), "the page does not show the rollback")
    # the page the rollback wrote is the one the states give without any index
    os.unlink(os.path.join(g.reg, "site_index.jsonl"))
    out = os.path.join(g.dir, "full")
    rh.expect(rh.run(["site", "-c", g.path, "-o", out], cwd=g.dir), 0)
    rh.check(timeless_page(page) == timeless_page(os.path.join(out, "index.html")),
             "the rollback's page differs from the one drawn from the release states")


if __name__ == "__main__":
    sys.exit(rh.main(globals()))
