#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""integrity.py - verdict integrity: no sequence of commands turns a failing release green.

Each case reproduces one way a failing release was once reported green (or a resume that did not
continue the release), through the real binary, the bundled plugins and real local jobs. What a
job does is steered by files in the scratch folder (a validation passes when its flag file
exists), so one release can fail, be narrowed, fixed and re-run. Run one: integrity.py <case>."""
import glob
import json
import os
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))
import rh  # noqa: E402


def validation(name, extra=""):
    """A validation that prints a passing SPS when <dir>/ok.<name> exists, a failing one else."""
    return (f'{{ name = "{name}"; {extra} cmd = ["sh", "-c", "if [ -e ok.{name} ]; then echo '
            f'\\"SPS: 40000\\"; else echo \\"SPS: 10\\"; fi"]; '
            f'acceptance = ( ("sps_max", ">=", 30000.0) ); }}')


def appender(name, extra=""):
    """A command step that appends its name to <dir>/ran.log: what ran is proved by the file."""
    return (f'{{ name = "{name}"; plugin = "command"; {extra} '
            f'cmd = ["sh", "-c", "echo {name} >> ran.log"]; }}')


class Release:
    def __init__(self, validations, steps_after=(), top="", profiles=""):
        self.dir = rh.scratch()
        vals = ",\n      ".join(validations)
        after = "".join(",\n  " + s for s in steps_after)
        self.path = rh.write_plan(self.dir, f"""
plugin_path = {json.dumps([rh.plugin_dir()])};
{top}
runners = {{ local = {{ plugin = "runner_local"; max_parallel = 2; }}; }};
metrics = {{ logs = {{ plugin = "metrics_regex"; }}; }};
steps = (
  {{ name = "tests"; plugin = "workflow"; metrics = ["logs"]; validations = (
      {vals}
  ); }}{after}
);
{profiles}
""")

    def ok(self, *names):
        for n in names:
            rh.write(os.path.join(self.dir, "ok." + n), "")

    def bad(self, *names):
        for n in names:
            os.unlink(os.path.join(self.dir, "ok." + n))

    def run(self, *args, env=None):
        return rh.run(["-c", self.path, "--no-interactive"] + list(args), cwd=self.dir, env=env)

    def cmd(self, sub, *args, env=None):
        """A subcommand (explain, status, waive...): it comes first on the command line."""
        return rh.run([sub, "-c", self.path] + list(args), cwd=self.dir, env=env)

    def ran(self):
        p = os.path.join(self.dir, "ran.log")
        return rh.read(p).split() if os.path.exists(p) else []

    def versions(self):
        return sorted(os.path.basename(f)[len("release_"):-len(".json")]
                      for f in glob.glob(os.path.join(self.dir, ".relhost", "state",
                                                      "release_*.json")))

    def state(self, version=None):
        version = version or self.versions()[-1]
        with open(os.path.join(self.dir, ".relhost", "state", f"release_{version}.json")) as f:
            return json.load(f)

    def state_bytes(self):
        out = {}
        for f in sorted(glob.glob(os.path.join(self.dir, ".relhost", "state", "release_*"))):
            if not f.endswith(".lock"):
                with open(f, "rb") as fh:
                    out[f] = fh.read()
        return out


PUBLISH = appender("release", "publishes = true;")


def release_on_a_repo():
    """A release of validation a whose candidate is a commit of a scratch repository (one commit
    made); returns it and commit(message), which adds an empty commit."""
    import subprocess
    rel = Release([validation("a")], [PUBLISH], top='repo = "repo"; checkout = "worktree";')
    repo = os.path.join(rel.dir, "repo")
    os.makedirs(repo)
    g = ["git", "-C", repo, "-c", "user.email=t@t", "-c", "user.name=t"]
    subprocess.run(g + ["init", "-q"], check=True)

    def commit(message):
        subprocess.run(g + ["commit", "-q", "--allow-empty", "-m", message], check=True)
    commit("one")
    return rel, commit


def case_a_record_claiming_a_pass_without_a_required_steps_record_is_not_passed():
    """A hand-edited (or forged) state that says finished, exit 0, while a required step has no
    record (or a FAILED one under a passing exit code) is not read as a passed release: explain,
    the reports and the releases list say undecided, and a run continues it instead of treating
    it as decided."""
    rel = Release([validation("a")], [appender("notify")])
    rel.ok("a")
    rh.expect(rel.run("--release", "1"), 0)
    snap = os.path.join(rel.dir, ".relhost", "state", "release_1.json")
    st = rh.load_state(snap)
    rh.check(st.get("finished") is True and st.get("exit_code") == 0, f"state {st}")
    rh.check("tests" in st["requirements"]["required_steps"], f"requirements {st}")
    for edit in ("drop", "fail"):
        forged = json.loads(json.dumps(st))
        if edit == "drop":
            del forged["steps"]["tests"]
        else:
            forged["steps"]["tests"]["outcome"] = "FAILED"
        rh.write(snap, json.dumps(forged))
        journal = snap[:-len(".json")] + ".journal"
        if os.path.exists(journal):
            os.unlink(journal)
        r = rel.cmd("explain", "--release", "1")
        rh.check(not rh.re.search(r"\bPASSED\b.*\(exit 0\)|decision:\s*passed|result: PASSED",
                                  r.out), f"{edit}: explain calls it passed", r)
        rh.expect(r, 0, out=[r"^UNDECIDED: .*required step tests has no passing record"])
        r = rel.cmd("releases", "--json")
        rh.check('"passed"' not in r.out, f"{edit}: releases --json calls it passed", r)
        # a script waiting on the release learns it was not decided, not exit 0
        rh.expect(rel.cmd("status", "--release", "1", "--follow"), 3, out=[r"undecided"])
    # the run decides it again: the step without a passing record runs
    r = rel.run("--release", "1")
    rh.expect(r, 0, out=[r"PASSED\s+tests"])
    rh.expect(rel.cmd("explain", "--release", "1"), 0, out=[r"^PASSED"])


def case_only_after_a_failure_never_publishes():
    """A FAILED release re-run with --only naming a passing validation stays FAILED: the
    publishing step does not run, and explain does not say PASSED."""
    rel = Release([validation("a"), validation("b")], [PUBLISH])
    rel.ok("a")
    r = rel.run()
    rh.expect(r, 1)
    r = rel.run("--only", "a")
    rh.expect(r, 1, out=[r"FAILED\s+tests", r"required validation\(s\) FAILED in this "
                                             r"release's record: b"])
    rh.check(rel.ran() == [], "the publishing step ran", r)
    e = rel.cmd("explain")
    rh.expect(e, 0, out=[r"^FAILED"], not_out=[r"^PASSED"])
    st = rel.state()
    rh.check(st["steps"]["tests"]["outcome"] == "FAILED", "the recorded step outcome is not FAILED")


def case_only_leaves_the_rest_incomplete():
    """A first run narrowed by --only leaves the step INCONCLUSIVE (incomplete), naming what is
    missing; nothing is published; the full run then completes the same release."""
    rel = Release([validation("a"), validation("b")], [PUBLISH])
    rel.ok("a", "b")
    r = rel.run("--only", "a")
    rh.expect(r, 3, out=[r"INCONCLUSIVE\s+tests.*reason: incomplete", r"result\(s\)? ?.*b|: b;"])
    rh.check(rel.ran() == [], "published an incomplete release", r)
    r = rel.run()
    rh.expect(r, 0, out=[r"PASSED\s+tests", r"\(resumed"])
    rh.check(rel.ran() == ["release"], "not published exactly once", r)
    rh.check(len(rel.versions()) == 1, f"a second release was opened: {rel.versions()}", r)


def case_depends_on_runs_its_dependency_first():
    """--only naming a validation whose dependency never ran runs the dependency first and says
    so; a failed dependency skips it and fails the step."""
    rel = Release([validation("smoke"), validation("eval", 'depends_on = ["smoke"];')], [PUBLISH],
                  profiles='profiles = { quick = ["eval"]; };')
    rel.ok("smoke", "eval")
    r = rel.run("--profile", "quick", "--only", "eval")
    rh.expect(r, 0, out=[r"validation smoke runs too", r"smoke\s+PASSED", r"eval\s+PASSED"])
    rel2 = Release([validation("smoke"), validation("eval", 'depends_on = ["smoke"];')],
                   [PUBLISH])
    rel2.ok("eval")
    r = rel2.run("--only", "eval")
    rh.expect(r, 1, out=[r"smoke\s+FAILED", r"validation eval SKIPPED \(upstream_failed\)"])
    rh.check(rel2.ran() == [], "published", r)


def case_plain_rerun_continues_the_release():
    """After a failed run, a plain re-run continues the same release (no new version): passed
    validations are resumed, a passed step does not run again; after a publication the next run
    is a new release."""
    rel = Release([validation("a")], [appender("notify", "required = false;"), PUBLISH],
                  top='version = "auto";')
    rel.ok("a")
    rh.write(os.path.join(rel.dir, "fail-release"), "")
    rel_step = rel.path
    # the publishing step fails the first time: make it fail through a missing file check
    text = rh.read(rel_step).replace('cmd = ["sh", "-c", "echo release >> ran.log"]',
                                     'cmd = ["sh", "-c", "test ! -e fail-release && '
                                     'echo release >> ran.log"]')
    rh.write(rel_step, text)
    r = rel.run()
    rh.expect(r, 1)
    v1 = rel.versions()
    rh.check(len(v1) == 1, f"versions {v1}", r)
    os.unlink(os.path.join(rel.dir, "fail-release"))
    r = rel.run()
    rh.expect(r, 0, out=[r"already completed", r"PASSED\s+release"],
              err=[r"continuing release " + rh.q(v1[0])])
    rh.check(rel.versions() == v1, f"a new release was opened: {rel.versions()}", r)
    rh.check(rel.ran().count("notify") == 1, f"notify ran twice: {rel.ran()}", r)
    r = rel.run("--rerun", "notify")
    rh.check(len(rel.versions()) == 2, f"after a publication, not a new release: "
                                       f"{rel.versions()}", r)


def case_step_continues_the_same_release():
    """The seed's documented sequence: --step tests, then --step release, on one release."""
    rel = Release([validation("a")], [PUBLISH], top='version = "auto";')
    rel.ok("a")
    r = rel.run("--step", "tests")
    rh.expect(r, 0)
    r = rel.run("--step", "release")
    rh.expect(r, 0, out=[r"PASSED\s+release"])
    rh.check(len(rel.versions()) == 1, f"--step opened a new release: {rel.versions()}", r)
    rh.check(rel.ran() == ["release"], f"ran {rel.ran()}", r)
    r = rel.run("--step", "tests")
    rh.check(len(rel.versions()) == 2, "a published release was continued", r)


def case_a_passed_step_runs_again_only_with_rerun():
    rel = Release([validation("a")], [appender("notify", "required = false;")])
    rel.ok("a")
    rh.expect(rel.run("--release", "1"), 0)
    r = rel.run("--release", "1")
    rh.expect(r, 0, out=[r"already completed"])
    rh.check(rel.ran() == ["notify"], f"ran {rel.ran()}", r)
    r = rel.run("--release", "1", "--rerun", "notify")
    rh.expect(r, 0)
    rh.check(rel.ran() == ["notify", "notify"], f"ran {rel.ran()}", r)
    rh.expect(rel.run("--release", "1", "--rerun", "nope"), 2, err=[r"--rerun nope: no such step"])


def case_after_a_quarantine_a_new_release_starts():
    rel = Release([validation("a")],
                  ['{ name = "quarantine"; plugin = "registry"; action = "quarantine"; '
                   'when = "on_failure"; required = false; }'],
                  top='version = "auto"; registry_dir = ".relhost/registry";')
    r = rel.run()
    rh.expect(r, 1)
    rel.ok("a")
    r = rel.run()
    rh.expect(r, 0, err=[r"was quarantined \(never promotable\): starting a new release"])
    rh.check(len(rel.versions()) == 2, f"versions {rel.versions()}", r)


def case_a_profile_change_is_refused_and_changes_nothing():
    rel = Release([validation("a"), validation("b")], [PUBLISH],
                  profiles='profiles = { quick = ["a"]; };')
    rel.ok("a")
    rh.expect(rel.run("--release", "1"), 1)
    before = rel.state_bytes()
    r = rel.run("--release", "1", "--profile", "quick")
    rh.expect(r, 2, err=[r"release 1 was started with no profile.*profile quick: start a new release "
                         r"with it \(--new, or --release and another version\)"])
    rh.check(rel.state_bytes() == before, "the refused run changed the state", r)
    rh.check(rel.ran() == [], "published", r)


def case_a_resume_on_another_commit_is_refused_and_changes_nothing():
    rel, commit = release_on_a_repo()
    rh.expect(rel.run("--release", "1"), 1)
    commit("two")
    before = rel.state_bytes()
    r = rel.run("--release", "1")
    rh.expect(r, 2, err=[r"--new-candidate"])
    rh.check(rel.state_bytes() == before, "the refused run changed the state", r)


def case_a_required_step_after_a_publishing_step_is_a_plan_error():
    rel = Release([validation("a")], [PUBLISH, appender("late")])
    r = rel.run("--check")
    rh.expect(r, 2, err=[rh.at(rel.path, 'name = "late"') +
                         r'step "late" is required but comes after the publishing step "release"'])


def case_a_waiver_completes_a_failed_release():
    """infra-style failure -> waive the validation with a reason -> re-run -> published; the
    original failure stays in the record as evidence."""
    rel = Release([validation("a"), validation("b")], [PUBLISH])
    rel.ok("a")
    rh.expect(rel.run("--release", "1"), 1)
    r = rel.cmd("waive", "--release", "1", "--step", "tests", "--validation", "b",
                "--reason", "node lost, tracked in INFRA-1")
    rh.expect(r, 0)
    r = rel.run("--release", "1")
    rh.expect(r, 0, out=[r"WAIVED\s+tests|PASSED\s+tests"])
    rh.check(rel.ran() == ["release"], f"ran {rel.ran()}", r)
    st = rel.state("1")
    rh.check(st["jobs"]["tests/b"]["outcome"] == "FAILED", "the original failure was lost")


def case_waiving_the_failures_of_a_narrowed_run_does_not_waive_what_never_ran():
    """--only a (fails), waive a: validation c never ran, so the step is not WAIVED, and nothing
    is published; only a waiver of the whole step (a person's decision) would cover it."""
    rel = Release([validation("a"), validation("c")], [PUBLISH])
    rh.expect(rel.run("--release", "1", "--only", "a"), 1)
    rh.expect(rel.cmd("waive", "--release", "1", "--step", "tests", "--validation", "a",
                      "--reason", "flaky node"), 0)
    r = rel.run("--release", "1", "--only", "a")
    rh.expect(r, 3, out=[r"INCONCLUSIVE\s+tests.*incomplete", r": c;"], not_out=[r"WAIVED\s+tests"])
    rh.check(rel.ran() == [], f"published: {rel.ran()}", r)
    r = rel.run("--release", "1", "--step", "release")
    rh.expect(r, 3, out=[r"not_qualified"])
    rh.check(rel.ran() == [], f"published: {rel.ran()}", r)


def case_a_step_once_required_stays_required_for_the_release():
    """Editing the plan to make a failing required step optional does not let the release
    publish: the requirement set fixed at the first run holds (a new release follows the new
    plan)."""
    rel = Release([validation("a")], [PUBLISH])
    rh.expect(rel.run("--release", "1"), 1)
    rh.write(rel.path, rh.read(rel.path).replace('plugin = "workflow";',
                                                 'plugin = "workflow"; required = false;'))
    r = rel.run("--release", "1")
    rh.expect(r, 1, out=[r"FAILED\s+tests", r"SKIPPED\s+release"])
    rh.check(rel.ran() == [], f"published: {rel.ran()}", r)
    rh.expect(rel.run("--release", "1", "--step", "release"), 1, out=[r"not_qualified"])
    rh.check(rel.ran() == [], f"published: {rel.ran()}", r)
    r = rel.run("--release", "2")
    rh.expect(r, 0)
    rh.check(rel.ran() == ["release"], f"ran {rel.ran()}", r)


def registry_release(extra_validation_opts=""):
    rel = Release([validation("a", extra_validation_opts)],
                  ['{ name = "promote"; plugin = "registry"; action = "promote"; '
                   'publishes = true; }'],
                  top='registry_dir = ".relhost/registry";')
    rh.write(rel.path, rh.read(rel.path).replace(
        "steps = (\n", 'steps = (\n  { name = "stage"; plugin = "registry"; action = "stage"; '
        'artifacts = ["art.txt"]; },\n'))
    rh.write(os.path.join(rel.dir, "art.txt"), "weights\n")
    return rel


def last_green(rel):
    p = os.path.join(rel.dir, ".relhost", "registry", "manifest.json")
    if not os.path.exists(p):
        return None
    with open(p) as f:
        return json.load(f)["pointers"]["last_green"]


def case_dropping_publishes_never_promotes_a_failed_release():
    """A step once publishing stays guarded for the release, and the registry's promotion
    refuses an unqualified release whatever the plan says about the step."""
    rel = registry_release()
    rh.expect(rel.run("--release", "1"), 1)
    r = rel.run("--release", "1", "--step", "promote", "--set", "steps.promote.publishes=false")
    rh.check(r.rc != 0, "exit 0 for a failed release", r)
    rh.check(last_green(rel) is None, f"promoted: {last_green(rel)}", r)
    rel2 = registry_release()
    rh.write(rel2.path, rh.read(rel2.path).replace("publishes = true; }", "}"))
    rh.expect(rel2.run("--release", "1"), 1)
    r = rel2.run("--release", "1", "--step", "promote")
    rh.expect(r, 1, out=[r"not promoted: required step \"tests\" is FAILED"])
    rh.check(last_green(rel2) is None, f"promoted: {last_green(rel2)}", r)


def case_a_freeze_set_during_a_run_holds():
    rel = Release([validation("a", 'timeout_s = 60;')], [PUBLISH])
    rel.ok("a")
    text = rh.read(rel.path).replace('"if [ -e ok.a ]', '"sleep 2; if [ -e ok.a ]')
    rh.write(rel.path, text)
    import subprocess
    import time
    p = subprocess.Popen([rh.relhost_bin(), "-c", rel.path, "--no-interactive", "--release", "1"],
                         cwd=rel.dir, env=rh.base_env(), stdout=subprocess.PIPE,
                         stderr=subprocess.STDOUT, text=True)
    time.sleep(0.7)
    rh.expect(rel.cmd("freeze", "--reason", "incident 42"), 0)
    out, _ = p.communicate(timeout=60)
    rh.check(p.returncode == 4, f"exit {p.returncode}, want 4 (frozen)\n{out}")
    rh.check("incident 42" in out and rel.ran() == [], f"published while frozen\n{out}")


def case_new_candidate_drops_the_old_commits_waivers():
    rel, commit = release_on_a_repo()
    rh.expect(rel.run("--release", "1"), 1)
    rh.expect(rel.cmd("waive", "--release", "1", "--step", "tests", "--validation", "a",
                      "--reason", "infra on commit one"), 0)
    commit("two")
    r = rel.run("--release", "1", "--new-candidate")
    rh.expect(r, 1, err=[r"earlier results and waivers are dropped"], not_out=[r"WAIVED"])
    rh.check(rel.ran() == [], f"published: {rel.ran()}", r)


def case_a_passed_publishing_step_never_repeats_after_a_plan_edit():
    rel = Release([validation("a")], [PUBLISH, appender("announce",
                                                        "publishes = true; required = false;")])
    rel.ok("a")
    text = rh.read(rel.path).replace('echo announce >> ran.log', 'test -e ann && echo announce >> ran.log')
    rh.write(rel.path, text)
    rh.expect(rel.run("--release", "1"), 0)
    rh.check(rel.ran() == ["release"], f"ran {rel.ran()}")
    rh.write(rel.path, rh.read(rel.path) + "\n# an edit\n")
    rh.write(os.path.join(rel.dir, "ann"), "")
    r = rel.run("--release", "1")
    rh.expect(r, 0, out=[r"PASSED\s+release.*already_completed"])
    rh.check(rel.ran() == ["release", "announce"], f"ran {rel.ran()}", r)


def case_a_publishing_step_cut_by_a_kill_is_not_run_again_blindly():
    import signal
    import subprocess
    import time
    rel = Release([validation("a")], [appender("release", "publishes = true;")])
    rel.ok("a")
    rh.write(rel.path, rh.read(rel.path).replace('echo release >> ran.log',
                                                 'echo release >> ran.log; sleep 30'))
    p = subprocess.Popen([rh.relhost_bin(), "-c", rel.path, "--no-interactive", "--release", "1"],
                         cwd=rel.dir, env=rh.base_env(), stdout=subprocess.DEVNULL,
                         stderr=subprocess.DEVNULL, start_new_session=True)
    deadline = time.time() + 30
    while rel.ran() != ["release"] and time.time() < deadline:
        time.sleep(0.05)
    os.killpg(p.pid, signal.SIGKILL)
    p.wait()
    rh.write(rel.path, rh.read(rel.path).replace('; sleep 30', ''))
    r = rel.run("--release", "1")
    rh.expect(r, 3, out=[r"INCONCLUSIVE\s+release.*interrupted_publish", r"--rerun release"])
    rh.check(rel.ran() == ["release"], f"ran again: {rel.ran()}", r)
    r = rel.run("--release", "1", "--rerun", "release")
    rh.expect(r, 0)
    rh.check(rel.ran() == ["release", "release"], f"ran {rel.ran()}", r)


def case_resume_continues_the_release_created_last():
    import time
    rel = Release([validation("a")], [PUBLISH], top='version = "auto";')
    rh.expect(rel.run(), 1)
    first = rel.versions()[0]
    time.sleep(1.1)
    rh.expect(rel.run("--new"), 1)
    second = [v for v in rel.versions() if v != first][0]
    rh.expect(rel.run("--release", first, "--step", "tests"), 1)  # touches the older one
    r = rel.run("--step", "tests")
    rh.expect(r, 1, err=[r"continuing release " + rh.q(second)])


def case_a_release_only_waived_ahead_is_not_continued_by_a_plain_run():
    rel = Release([validation("a")], [PUBLISH], top='version = "auto";')
    rel.ok("a")
    rh.expect(rel.cmd("waive", "--release", "9.9-typo", "--step", "tests", "--reason", "ahead"), 0)
    r = rel.run()
    rh.expect(r, 0, not_err=[r"continuing release 9\.9-typo"])
    rh.check(len(rel.versions()) == 2, f"versions {rel.versions()}", r)


def case_waive_an_infra_failure_then_promote_with_an_etc_style_plan():
    """The shipped plans' shape (stage, tests, promote, quarantine on failure): an infrastructure
    failure (the trainer cannot be started: ERROR, undecided) does not quarantine the release;
    a waiver with a reason, then a re-run, promotes it; the audit log has the waiver and the
    promotion, and the original failure stays in the record as evidence."""
    d = rh.scratch()
    rh.write(os.path.join(d, "dist", "model.bin"), "weights\n")
    path = rh.write_plan(d, f"""
plugin_path = {json.dumps([rh.plugin_dir()])};
registry_dir = ".relhost/registry";
runners = {{ local = {{ plugin = "runner_local"; }}; }};
metrics = {{ logs = {{ plugin = "metrics_regex"; }}; }};
steps = (
  {{ name = "stage"; plugin = "registry"; action = "stage"; artifacts = ["dist/*.bin"]; }},
  {{ name = "tests"; plugin = "workflow"; metrics = ["logs"]; validations = (
      {validation("smoke")},
      {{ name = "gpu_node"; cmd = ["./no-such-launcher"]; }}
  ); }},
  {{ name = "promote"; plugin = "registry"; action = "promote"; publishes = true; }},
  {{ name = "quarantine"; plugin = "registry"; action = "quarantine"; when = "on_failure";
     required = false; }}
);
""")
    rh.write(os.path.join(d, "ok.smoke"), "")

    def run(*a):
        return rh.run(list(a[:1]) + ["-c", path] + list(a[1:]), cwd=d) if a and a[0] in (
            "waive", "explain", "releases") else rh.run(["-c", path, "--no-interactive"] +
                                                        list(a), cwd=d)
    r = run("--release", "1")
    rh.expect(r, 3, out=[r"not quarantined: the release is undecided"])
    with open(os.path.join(d, ".relhost", "registry", "manifest.json")) as f:
        man = json.load(f)
    entry = [e for e in man["releases"] if e["version"] == "1"]
    rh.check(not entry or entry[0]["status"] != "quarantined", f"quarantined: {entry}", r)
    r = run("waive", "--release", "1", "--step", "tests", "--validation", "gpu_node",
            "--reason", "node lost its driver, INFRA-7")
    rh.expect(r, 0)
    r = run("--release", "1")
    rh.expect(r, 0, out=[r"WAIVED\s+tests", r"PASSED\s+promote"])
    with open(os.path.join(d, ".relhost", "registry", "manifest.json")) as f:
        man = json.load(f)
    rh.check(man["pointers"]["last_green"] == "1", f"not promoted: {man['pointers']}", r)
    with open(os.path.join(d, ".relhost", "registry", "audit.jsonl")) as f:
        audit = [json.loads(x) for x in f if x.strip()]
    text = json.dumps(audit)
    rh.check("INFRA-7" in text and "promote" in text, f"audit {audit}", r)
    with open(os.path.join(d, ".relhost", "state", "release_1.json")) as f:
        st = json.load(f)
    job = st["jobs"]["tests/gpu_node"]
    rh.check(job["outcome"] == "ERROR", f"the original failure is gone: {job}", r)
    rh.check(st["steps"]["tests"].get("waived_from", {}).get("outcome") == "ERROR",
             f"waived_from {st['steps']['tests'].get('waived_from')}", r)


if __name__ == "__main__":
    sys.exit(rh.main(globals()))
