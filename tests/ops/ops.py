#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""ops.py - the operator's commands: `relhost explain` and `relhost status --json / --follow`.

explain: fixed states (built below, one per verdict) and a real run of etc/demo.cfg's failing
profile must be explained: verdict first, the blocking step, failing checks as actual vs
expected (and baseline, bound, stat when a check carries them), failing jobs with log paths,
retries, defers, waivers, skipped steps, the registry's word. status --json and explain --json
must conform to docs/status.schema.json and docs/explain.schema.json (with the small validator
of tests/reports/reports.py, and with python3-jsonschema too when it is installed), and their
key sets must equal tests/ops/status_keys.golden and explain_keys.golden. After a deliberate
change of shape, regenerate with
    RELHOST_UPDATE_GOLDEN=1 ctest -R 'test_ops__(status|explain)_json'
bump STATUS_SCHEMA / EXPLAIN_SCHEMA, and review the diff like code.

status --follow: against a real run whose job waits for a file the test creates, on a pipe
(appended lines, only for rows that changed) and on a pseudo-terminal (redrawn in place); it
must end by itself when the run ends, stop at once on SIGINT / SIGTERM, and never keep a
`relhost run` of the release from taking its lock.

Run one case: ops.py <case>; all: ops.py; names: ops.py --list.
"""
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "support"))
sys.path.insert(0, os.path.join(HERE, "..", "reports"))
import rh  # noqa: E402
import reports  # noqa: E402  (its JSON Schema validator: one implementation for all schemas)

VERSION = "1.0"
NO_ACCOUNTS = {"GITHUB_TOKEN": None, "GH_TOKEN": None, "ASANA_TOKEN": None,
               "ASANA_PROJECT_ID": None, "WANDB_API_KEY": None, "RELHOST_FREEZE": None}


# ---- fixtures ---------------------------------------------------------------------------------

def step(pos, outcome, plugin="command", required=True, publishes=False, reason=None,
         message=None, notes=(), **extra):
    s = {"position": pos, "plugin": plugin, "required": required, "publishes": publishes,
         "outcome": outcome, "reason": reason, "retryable": False, "message": message,
         "started_at": "2026-01-02T03:04:05Z", "ended_at": "2026-01-02T03:04:06Z",
         "duration_s": 1.0, "evidence": {"artifacts": [], "checks": [], "labels": {},
                                         "metrics": {}, "notes": list(notes)}}
    s.update(extra)
    return s


def job(stepname, validation, outcome, attempt=1, checks=(), lifecycle="completed", **extra):
    j = {"step": stepname, "validation": validation, "runner": "local", "lifecycle": lifecycle,
         "attempt": attempt, "key": f"rh-{VERSION}-{validation}-a{attempt}",
         "external_id": f"local-rh-{VERSION}-{validation}-a{attempt}",
         "log_path": f"/logs/{VERSION}/{validation}.log", "spec_hash": "s", "accept_hash": "a",
         "argv": ["train"], "started_at": "2026-01-02T03:04:05Z",
         "evidence": {"artifacts": [], "checks": list(checks), "labels": {}, "metrics": {},
                      "notes": []}}
    if lifecycle == "completed":
        j.update({"ended_at": "2026-01-02T03:05:05Z", "duration_s": 60.0, "outcome": outcome,
                  "reason": None if outcome == "PASSED" else "threshold", "retryable": False,
                  "exit_code": 0, "termination_reason": "job_completed", "restarts": 0})
    j.update(extra)
    return j


def check(key, expected, actual, passed, op=">=", **extra):
    c = {"key": key, "op": op, "expected": expected, "actual": actual, "passed": passed,
         "note": None}
    c.update(extra)
    return c


def state(kind, plan_path):
    """A release state for one verdict: passed, failed, frozen, deferred, undecided, running."""
    s = {"schema": 1, "version": VERSION, "seq": 40, "plan": plan_path, "plan_name": "ops",
         "plan_hash": "0123456789abcdef", "created_at": "2026-01-02T03:04:05Z",
         "updated_at": "2026-01-02T03:09:05Z", "finished": True, "exit_code": 0,
         "candidate": {"commit": "a" * 40, "repo": "/src/project", "ref": "HEAD",
                       "checkout": "head"},
         "steps": {"preflight": step(0, "PASSED"),
                   "fetch": step(1, "PASSED"),
                   "tests": step(2, "PASSED", plugin="workflow"),
                   "tag": step(3, "PASSED", plugin="git", publishes=True)},
         "jobs": {"tests/train": job("tests", "train", "PASSED",
                                     checks=[check("sps_max", 30000.0, 36000.0, True)])}}
    st, jobs = s["steps"], s["jobs"]
    if kind == "failed":
        s["exit_code"] = 1
        st["fetch"]["defers"] = 2
        st["tests"] = step(2, "FAILED", plugin="workflow", reason="validation_failed",
                           notes=["1 of 2 validation(s) passed"])
        st["tag"] = step(3, "SKIPPED", plugin="git", publishes=True, reason="upstream_failed",
                         message='required step "tests" did not pass')
        st["announce"] = step(4, "FAILED", plugin="notify", required=False, reason="http_error",
                              message="webhook answered 500")
        jobs["tests/train"] = job("tests", "train", "FAILED", attempt=3, restarts=1, checks=[
            check("sps_max", 30000.0, 12000.0, False),
            check("eval_success_rate", 0.9, 0.95, True),
            check("sps_mean", 0.9, 25000.0, False, op="within_baseline", baseline=31000.0,
                  bound=27900.0, stat="median", note="10% under the baseline")])
        jobs["tests/train"]["restarts"] = 1
        jobs["tests/eval"] = job("tests", "eval", "PASSED")
        s["waivers"] = [{"step": "tests", "validation": "flaky", "who": "alice",
                         "reason": "known flake, issue 42", "expires": "2026-12-01T00:00:00Z"}]
    elif kind == "frozen":
        s["exit_code"] = 4
        st["tag"] = step(3, "SKIPPED", plugin="git", publishes=True, reason="frozen",
                         message="publishing is frozen: maintenance (by bob at "
                                 "2026-01-02T03:00:00Z)")
    elif kind == "deferred":
        s["finished"], s["exit_code"] = False, 75
        st["fetch"] = step(1, "ERROR", reason="tool_error", message="HTTP 503 from the API",
                           defers=1, retryable=True)
        del st["tests"], st["tag"]
        del jobs["tests/train"]
    elif kind == "undecided":
        s["exit_code"] = 3
        st["fetch"] = step(1, "INCONCLUSIVE", reason="not_configured",
                           message="no token: nobody could decide")
        del st["tests"], st["tag"]
        del jobs["tests/train"]
    elif kind == "running":
        s["finished"], s["exit_code"] = False, None
        del st["tests"], st["tag"]
        jobs["tests/train"] = job("tests", "train", None, lifecycle="running",
                                  external_id="4242")
    return s


def fixture_plan(d):
    """A plan whose state folder is d/state (registry: the default d/.relhost/registry)."""
    return rh.write_plan(d, 'name = "ops"; version = "auto"; state_dir = "state"; '
                            'log_dir = "logs";\n'
                            'steps = ( { name = "preflight"; plugin = "command"; '
                            'cmd = ["true"]; } );\n')


def with_state(kind, d=None):
    d = d or rh.scratch(kind)
    p = fixture_plan(d)
    rh.write(os.path.join(d, "state", f"release_{VERSION}.json"), json.dumps(state(kind, p)))
    return d, p


def manifest(d, status, reason=None, text=None):
    path = os.path.join(d, ".relhost", "registry", "manifest.json")
    if text is None:
        entry = {"version": VERSION, "commit": "a" * 40, "status": status}
        if reason:
            entry["reason"] = reason
        text = json.dumps({"schema": 1, "releases": [
            {"version": VERSION, "status": "staged"}, entry,
            {"version": "0.9", "status": "promoted"}]})
    rh.write(path, text)
    return path


def explain(p, *extra, env=None):
    return rh.run(["explain", "-c", p, "--release", VERSION] + list(extra),
                  env=dict(NO_ACCOUNTS, **(env or {})))


def explain_json(p, env=None):
    r = explain(p, "--json", env=env)
    rh.expect(r, 0)
    try:
        return json.loads(r.out), r
    except ValueError as e:
        rh.fail(f"explain --json printed no JSON ({e})", r)


def first_line(r):
    return r.out.split("\n", 1)[0]


# ---- schemas and key sets ---------------------------------------------------------------------

def load_schema(name):
    with open(os.path.join(rh.source_dir(), "docs", name), encoding="utf-8") as f:
        return json.load(f)


def conforms(doc, name, what):
    s = load_schema(name)
    errs = reports.validate(doc, s, s)
    try:
        import jsonschema
    except ImportError:
        jsonschema = None
    if jsonschema is not None:
        v = jsonschema.Draft202012Validator(s)
        errs += [f"jsonschema: {'/'.join(map(str, e.path))}: {e.message}"
                 for e in v.iter_errors(doc)]
    rh.check(not errs, f"{what} does not conform to docs/{name}:\n" + "\n".join(errs[:20]) +
             f"\n--- document ---\n{json.dumps(doc, indent=1)[:3000]}")


def keypaths(v, prefix="", out=None):
    """Every member path of v: objects by key, array elements as []."""
    out = set() if out is None else out
    if isinstance(v, dict):
        for k, x in v.items():
            out.add(prefix + k)
            keypaths(x, prefix + k + ".", out)
    elif isinstance(v, list):
        for x in v:
            keypaths(x, prefix[:-1] + "[].", out)
    return out


def golden_keys(name, docs):
    got = set()
    for doc in docs:
        keypaths(doc, "", got)
    path = os.path.join(HERE, name)
    text = "".join(k + "\n" for k in sorted(got))
    if os.environ.get("RELHOST_UPDATE_GOLDEN"):
        rh.write(path, text)
        print(f"rewrote {path}")
        return
    want = set(rh.read(path).split())
    rh.check(got == want, f"the key set differs from tests/ops/{name} (a deliberate change? see "
             f"this script's docstring):\n  new: {sorted(got - want)}\n  "
             f"gone: {sorted(want - got)}")


# ---- explain ----------------------------------------------------------------------------------

def demo_copy(d):
    """etc/demo.cfg in d/etc with d/examples -> the sources' examples: its ../.relhost paths
    (state, logs, the scratch repository, the registry) then land in d, not in the source tree."""
    os.makedirs(os.path.join(d, "etc"))
    shutil.copy(os.path.join(rh.source_dir(), "etc", "demo.cfg"), os.path.join(d, "etc"))
    os.symlink(os.path.join(rh.source_dir(), "examples"), os.path.join(d, "examples"))
    return os.path.join(d, "etc", "demo.cfg")


def case_the_demo_asks_nothing_on_a_terminal():
    # The README's first command runs the demo on a newcomer's terminal: it must end by itself
    # (the bug gate without an Asana account is SKIPPED, never a question nobody expects).
    d = rh.scratch()
    p = demo_copy(d)
    r = rh.run_pty(["-c", p], cwd=d, env=NO_ACCOUNTS, timeout=240)
    rh.expect(r, 0, out=[r"^\[\d+/\d+\] SKIPPED\s+bug-check\s.*reason: not_configured",
                         r"^result: PASSED \(exit 0\)"],
              not_out=[r"\[y/n\]", r"\? "])


def case_explain_names_the_demo_failing_threshold():
    d = rh.scratch()
    p = demo_copy(d)
    r = rh.run(["-c", p, "--profile", "failing", "--new", "--no-interactive"], cwd=d,
               env=NO_ACCOUNTS)
    rh.expect(r, 1, out=[r"FAIL sps_max \d+ < 30000 \(needs >= 30000\)$"])
    r = rh.run(["explain", "-c", p], cwd=d, env=NO_ACCOUNTS)
    rh.expect(r, 0, out=[r"^  why: required step workflow-tests is FAILED \(validation_failed\)",
                         r"^  failing checks:\n    workflow-tests/arena_slow_node: sps_max "
                         r"1\d{4} < 30000 \(needs >= 30000\)$",
                         r"^    workflow-tests/arena_slow_node: FAILED \(threshold\), attempt 1",
                         r"^      log: " + rh.q(d) + r"/\.relhost/demo/logs/.*/arena_slow_node\.log$",
                         r"^    tag: SKIPPED, upstream_failed: required step \"workflow-tests\"",
                         r"^  retries: none", r"^  defers: none \(max_defers 3 per step\)"],
              not_out=[r"arena_local_smoke: "])
    # The demo quarantines a red release in its registry: then that is the verdict.
    rh.check(re.match(r"(FAILED: release \S+ of plan demo: a required step failed \(exit 1\)|"
                      r"QUARANTINED: release \S+ of plan demo: never published, never "
                      r"promotable \(the run: failed, exit 1\))$", first_line(r)),
             "the first line is not the verdict", r)
    doc = json.loads(rh.run(["explain", "-c", p, "--json"], cwd=d, env=NO_ACCOUNTS).out)
    conforms(doc, "explain.schema.json", "explain --json of the demo")
    fc = doc["failing_checks"]
    rh.check(doc["verdict"] in ("failed", "quarantined") and len(fc) == 1 and fc[0]["key"] == "sps_max" and
             fc[0]["validation"] == "arena_slow_node" and fc[0]["expected"] == 30000 and
             10000 <= fc[0]["actual"] < 30000, f"explain --json: {json.dumps(doc)[:2000]}")
    r = rh.run(["status", "-c", p, "--json"], cwd=d, env=NO_ACCOUNTS)
    rh.expect(r, 0)
    conforms(json.loads(r.out), "status.schema.json", "status --json of the demo")


def case_explain_shows_checks_retries_defers_waivers_and_skips():
    d, p = with_state("failed")
    r = explain(p)
    rh.expect(r, 0, out=[
        r"^  candidate: aaaaaaaaaaaa \(HEAD of /src/project\)$",
        r"^  why: required step tests is FAILED \(validation_failed\): 1 of 2 validation\(s\) "
        r"passed$",
        r"^    tests/train: sps_max 12000 < 30000 \(needs >= 30000\)$",
        r"^    tests/train: sps_mean 25000 < bound 27900 \(baseline 31000, -10%\)  - 10% under the "
        r"baseline$",
        r"^    tests/train: FAILED \(threshold\), attempt 3, exit 0, job_completed, 1 restart",
        r"^      log: /logs/1\.0/train\.log$",
        r"^  optional steps that did not pass:\n    announce: FAILED, http_error: webhook "
        r"answered 500$",
        r"^  skipped:\n    tag: SKIPPED, upstream_failed: required step \"tests\" did not pass$",
        r"^  waivers:\n    tests/flaky waived by alice until 2026-12-01T00:00:00Z: known flake, "
        r"issue 42$",
        r"^  retries: 2: tests/train attempt 3$",
        r"^  defers: fetch 2 \(max_defers 3 per step\)$"],
        not_out=[r"eval_success_rate", r"tests/eval"])
    rh.check(first_line(r) == "FAILED: release 1.0 of plan ops: a required step failed (exit 1)",
             "wrong verdict line", r)
    doc, _ = explain_json(p)
    conforms(doc, "explain.schema.json", "explain --json of the failed fixture")
    want = {"verdict": "failed", "blocking_step": "tests", "retries": 2, "defers": 2,
            "checks": ["sps_max", "sps_mean"], "waiver": "alice", "bound": 27900,
            "stat": "median", "baseline": 31000}
    got = {"verdict": doc["verdict"], "blocking_step": doc["blocking_step"]["name"],
           "retries": doc["retries"]["spent"], "defers": doc["defers"]["spent"],
           "checks": [c["key"] for c in doc["failing_checks"]],
           "waiver": doc["waivers"][0]["who"], "bound": doc["failing_checks"][1]["bound"],
           "stat": doc["failing_checks"][1]["stat"],
           "baseline": doc["failing_checks"][1]["baseline"]}
    rh.check(got == want, f"explain --json says {got}, want {want}")


def case_explain_takes_the_registry_verdict():
    d, p = with_state("passed")
    r = explain(p)
    rh.expect(r, 0, out=[r"^  registry: none \(no .*/manifest\.json\); the verdict comes from "
                         r"the release state$"], not_out=[r"why:"])
    rh.check(first_line(r) == "PASSED (not promoted): release 1.0 of plan ops: every required "
             "step passed (exit 0)", "wrong verdict line without a registry", r)
    m = manifest(d, "promoted")
    r = explain(p)
    rh.expect(r, 0, out=[r"^  registry: promoted in " + rh.q(m) + "$"])
    rh.check(first_line(r).startswith("PROMOTED: release 1.0 of plan ops"), "not PROMOTED", r)
    manifest(d, "quarantined", reason="canary error rate 4%")
    r = explain(p)
    rh.expect(r, 0, out=[r"^  registry: quarantined in " + rh.q(m) + ": canary error rate 4%$"])
    rh.check(first_line(r).startswith("QUARANTINED: release 1.0"), "not QUARANTINED", r)
    doc, _ = explain_json(p)
    rh.check((doc["verdict"], doc["registry"]["status"], doc["registry"]["reason"]) ==
             ("quarantined", "quarantined", "canary error rate 4%"), f"{doc['registry']}")
    manifest(d, None, text=json.dumps({"schema": 1, "releases": [{"version": "0.9",
                                                                   "status": "promoted"}]}))
    rh.expect(explain(p), 0, out=[r"^PASSED \(not promoted\)",
                                  r"^  registry: .*manifest\.json has no entry for this release$"])
    manifest(d, None, text="{ not json")
    r = explain(p)
    rh.expect(r, 0, out=[r"^PASSED \(not promoted\)", r"^  registry: cannot read .*manifest\.json"
                         r": .*; the verdict comes from the release state$"],
              err=[r"warning: cannot read .*manifest\.json"])


def case_explain_each_verdict_of_the_state():
    want = {
        "frozen": (r"FROZEN: release 1\.0 of plan ops: every gate passed, but publishing is "
                   r"frozen \(exit 4\)$",
                   [r"^  why: required step tag is SKIPPED \(frozen\): publishing is frozen: "
                    r"maintenance \(by bob at 2026-01-02T03:00:00Z\)$"]),
        "deferred": (r"DEFERRED: release 1\.0 of plan ops: a retryable tool error; run it again "
                     r"to retry \(exit 75\)$",
                     [r"^  why: required step fetch is ERROR \(tool_error\): HTTP 503 from the "
                      r"API$", r"^  defers: fetch 1 \(max_defers 3 per step\)$"]),
        "undecided": (r"UNDECIDED: release 1\.0 of plan ops: a required step could not decide "
                      r"\(exit 3\)$",
                      [r"^  why: required step fetch is INCONCLUSIVE \(not_configured\)"]),
        "running": (r"IN PROGRESS: release 1\.0 of plan ops: 0 of 1 job\(s\) finished, no "
                    r"decision yet$",
                    [r"^  unfinished jobs:\n    tests/train: running, attempt 1, external id "
                     r"4242$"]),
    }
    docs = []
    for kind, (head, lines) in want.items():
        d, p = with_state(kind)
        r = explain(p)
        rh.expect(r, 0, out=lines)
        rh.check(re.match(head, first_line(r)), f"{kind}: wrong verdict line", r)
        doc, _ = explain_json(p)
        conforms(doc, "explain.schema.json", f"explain --json of the {kind} fixture")
        docs.append(doc)
    rh.check([x["verdict"] for x in docs] == ["frozen", "deferred", "undecided", "in_progress"],
             f"verdicts {[x['verdict'] for x in docs]}")


def case_explain_without_state_is_a_usage_error():
    d = rh.scratch()
    p = fixture_plan(d)
    r = explain(p)
    rh.expect(r, 2, err=[r"no state for release 1\.0 in " + rh.q(os.path.join(d, "state")) +
                         r": nothing to explain; no release has state there; pass --release V"])
    rh.check(r.out == "", "explain printed something without a state", r)
    r = rh.run(["explain", "-c", p, "--follow"])
    rh.expect(r, 2, err=[r"--follow goes with `relhost status`"])
    r = rh.run(["report", "-c", p, "--json", "--format", "json"])
    rh.expect(r, 2, err=[r"--json goes with `relhost status`"])
    r = rh.run(["status", "-c", p, "--json", "--follow"])
    rh.expect(r, 2, err=[r"status --follow shows the table; it takes neither --json"])


def case_explain_json_key_set_is_frozen():
    docs = []
    for kind in ("failed", "passed", "frozen", "deferred", "undecided", "running"):
        d, p = with_state(kind)
        if kind == "passed":
            manifest(d, "quarantined", reason="why")
        docs.append(explain_json(p)[0])
    golden_keys("explain_keys.golden", docs)


# ---- status --json ----------------------------------------------------------------------------

def case_status_json_conforms_and_says_what_the_state_says():
    d, p = with_state("failed")
    r = rh.run(["freeze", "-c", p, "--reason", "maintenance window"], env=NO_ACCOUNTS)
    rh.expect(r, 0)
    r = rh.run(["status", "-c", p, "--release", VERSION, "--json"], env=NO_ACCOUNTS)
    rh.expect(r, 0)
    doc = json.loads(r.out)
    conforms(doc, "status.schema.json", "status --json of the failed fixture")
    got = {"schema": doc["status_schema"], "version": doc["release"]["version"],
           "commit": doc["release"]["candidate"]["commit"],
           "decision": doc["release"]["decision"], "exit": doc["release"]["exit_code"],
           "frozen": (doc["freeze"]["frozen"], doc["freeze"]["reason"],
                      doc["freeze"]["from_env"]),
           "defers": (doc["defers"]["spent"], doc["defers"]["max_defers"]),
           "fetch_defers": [s["defers"] for s in doc["steps"] if s["name"] == "fetch"],
           "steps": [s["name"] for s in doc["steps"]],
           "jobs": [(j["id"], j["lifecycle"], j["outcome"], j["attempt"], j["restarts"],
                     j["external_id"], j["termination_reason"], j["log_path"], j["live"])
                    for j in doc["jobs"]],
           "lifecycle": doc["summary"]["lifecycle"]["completed"]}
    want = {"schema": 1, "version": "1.0", "commit": "a" * 40, "decision": "failed", "exit": 1,
            "frozen": (True, "maintenance window", False), "defers": (2, 3),
            "fetch_defers": [2], "steps": ["preflight", "fetch", "tests", "tag", "announce"],
            "jobs": [("tests/eval", "completed", "PASSED", 1, 0, "local-rh-1.0-eval-a1",
                      "job_completed", "/logs/1.0/eval.log", None),
                     ("tests/train", "completed", "FAILED", 3, 1, "local-rh-1.0-train-a3",
                      "job_completed", "/logs/1.0/train.log", None)],
            "lifecycle": 2}
    rh.check(got == want, f"status --json says\n{got}\nwant\n{want}", r)
    r = rh.run(["status", "-c", p, "--release", VERSION, "--json", "--only", "ev*"],
               env=dict(NO_ACCOUNTS, RELHOST_FREEZE="1"))
    doc = json.loads(r.out)
    rh.check([j["validation"] for j in doc["jobs"]] == ["eval"] and
             doc["summary"]["jobs"]["total"] == 2 and doc["freeze"]["from_env"],
             "--only must narrow jobs (not the summary); RELHOST_FREEZE must show", r)
    # The schema is no rubber stamp: a missing member, an extra one, a wrong type all fail.
    s = load_schema("status.schema.json")
    for bad, why in ((dict(doc, extra=1), "an extra member"),
                     ({k: v for k, v in doc.items() if k != "freeze"}, "no freeze"),
                     (dict(doc, defers=dict(doc["defers"], spent="2")), "a string count")):
        rh.check(reports.validate(bad, s, s), f"the schema check accepted {why}")


def launched_on_the_fake_sky(d):
    """status --json of a release launched on tests/fakes/sky whose job runs until a gate file
    exists: the job is polled through runner_skypilot, so `live` says what the engine says."""
    sky_dir, gate = os.path.join(d, "sky"), os.path.join(d, "gate")
    job_py = os.path.join(rh.source_dir(), "tests", "skypilot", "job.py")
    p = rh.write_plan(d, f'''name = "ops"; version = "auto"; state_dir = "state"; log_dir = "logs";
runners = {{ sky = {{ plugin = "runner_skypilot";
                      sky = "{os.path.join(rh.source_dir(), "tests", "fakes", "sky")}";
                      poll_interval = "1s"; }}; }};
steps = ( {{ name = "tests"; plugin = "workflow"; runner = "sky";
            validations = ( {{ name = "long"; timeout_s = 120;
                              cmd = ["{sys.executable}", "{job_py}", "sps", "31000",
                                     "{gate}"]; }} ); }} );
''')
    env = dict(NO_ACCOUNTS, FAKE_SKY_DIR=sky_dir)
    fake_state = os.path.join(sky_dir, "state.json")

    def fake_job():
        try:
            return next(iter(json.loads(rh.read(fake_state))["jobs"].values()), None)
        except (OSError, ValueError):
            return None
    try:
        rh.expect(rh.run(["launch", "-c", p, "--release", VERSION], env=env), 0)
        wait_for(lambda: (fake_job() or {}).get("status") == "RUNNING", "the fake sky job")
        r = rh.run(["status", "-c", p, "--release", VERSION, "--json"], env=env)
        rh.expect(r, 0)
        doc = json.loads(r.out)
    finally:
        rh.write(gate, "")
        j = fake_job() or {}
        for pid, group in ((j.get("cmd_pgid"), True), (j.get("worker_pid"), False)):
            try:
                if pid:
                    (os.killpg if group else os.kill)(pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
    jobs = doc["jobs"]
    rh.check(len(jobs) == 1 and jobs[0]["lifecycle"] == "running" and
             jobs[0]["live"] == {"state": "RUNNING", "restarts": 0} and
             jobs[0]["external_id"] == str(j.get("id")) and
             doc["summary"]["lifecycle"]["running"] == 1 and
             doc["release"]["decision"] == "in_progress",
             f"status --json of a launched job:\n{json.dumps(doc, indent=1)[:3000]}", r)
    return doc


def case_status_json_live_comes_from_the_engine():
    doc = launched_on_the_fake_sky(rh.scratch())
    conforms(doc, "status.schema.json", "status --json of a launched job")


def case_status_json_key_set_is_frozen():
    docs = [launched_on_the_fake_sky(rh.scratch("sky"))]
    for kind in ("failed", "passed", "running", "deferred"):
        d, p = with_state(kind)
        r = rh.run(["status", "-c", p, "--release", VERSION, "--json"], env=NO_ACCOUNTS)
        rh.expect(r, 0)
        docs.append(json.loads(r.out))
        conforms(docs[-1], "status.schema.json", f"status --json of the {kind} fixture")
    golden_keys("status_keys.golden", docs)


# ---- status --follow --------------------------------------------------------------------------

def follow_plan(d, go):
    """A plan whose validation `gated` runs until the file go exists, next to a quick one."""
    return rh.write_plan(d, f'''name = "ops"; version = "auto"; state_dir = "state";
log_dir = "logs";
runners = {{ local = {{ plugin = "runner_local"; }}; }};
steps = (
  {{ name = "first"; plugin = "command"; cmd = ["true"]; }},
  {{ name = "wf"; plugin = "workflow";
    validations = (
      {{ name = "gated"; runner = "local";
        cmd = ["sh", "-c", "while [ ! -e {go} ]; do sleep 0.05; done; echo done"]; }},
      {{ name = "quick"; runner = "local"; cmd = ["true"]; }} ); }}
);
''')


def start(args, **kw):
    return subprocess.Popen([rh.relhost_bin()] + args, env=rh.base_env(NO_ACCOUNTS),
                            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, **kw)


def wait_for(cond, what, timeout=30):
    deadline = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > deadline:
            rh.fail(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.02)


def read_until(proc, pattern, lines, timeout=30):
    """Read proc's stdout lines into `lines` until one matches pattern."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            rh.fail(f"stdout ended before a line matched /{pattern}/; got:\n{''.join(lines)}"
                    f"stderr:\n{proc.stderr.read()}")
        lines.append(line)
        if re.search(pattern, line):
            return line
    rh.fail(f"no line matched /{pattern}/ within {timeout} s; got:\n{''.join(lines)}")


def finish(proc, what, timeout=30):
    """Wait for proc and return the rest of its (stdout, stderr). Read through the file objects,
    not communicate(): that reads the pipes' fds and would lose what readline() buffered."""
    timer = threading.Timer(timeout, proc.kill)
    timer.start()
    try:
        out, err = proc.stdout.read(), proc.stderr.read()
        proc.wait()
    finally:
        timer.cancel()
    if proc.returncode == -signal.SIGKILL:
        rh.fail(f"{what} did not end within {timeout} s\nstdout:\n{out}\nstderr:\n{err}")
    return out, err


def running_release(d):
    go = os.path.join(d, "GO")
    p = follow_plan(d, go)
    run = start(["-c", p, "--release", VERSION, "--no-interactive"])
    snap = os.path.join(d, "state", f"release_{VERSION}.json")
    wait_for(lambda: os.path.exists(snap) or run.poll() is not None, "the run's state")
    return p, go, run


def stop(*procs):
    for pr in procs:
        if pr.poll() is None:
            pr.kill()
            pr.communicate()


def case_status_follow_on_a_pipe_prints_changes_and_ends_with_the_run():
    d = rh.scratch()
    p, go, run = running_release(d)
    fol = None
    try:
        fol = start(["status", "-c", p, "--release", VERSION, "--follow"])
        lines = []
        read_until(fol, r"^\d\d:\d\d:\d\d  gated\s+running", lines)
        rh.write(go, "")
        out, err = finish(fol, "status --follow")
        lines += out.splitlines(True)
        rout, rerr = finish(run, "the run")
    finally:
        stop(run, *(x for x in (fol,) if x))
    text = "".join(lines)
    rh.check(run.returncode == 0, f"the run exited {run.returncode}:\n{rout}\n{rerr}")
    rh.check(fol.returncode == 0 and err == "", f"follow exited {fol.returncode}, stderr {err!r}"
             f"\n{text}")
    rh.check(re.match(r"release 1\.0 of plan ops: [0-2] job\(s\)$", lines[0]),
             f"header:\n{text}")
    rh.check(re.search(r"^\d\d:\d\d:\d\d  quick\s+PASSED", text, re.M), f"no quick:\n{text}")
    rh.check(re.search(r"^\d\d:\d\d:\d\d  gated\s+PASSED", text, re.M) and
             re.search(r"^\d\d:\d\d:\d\d  step wf\s+PASSED$", text, re.M) and
             lines[-1] == f"release {VERSION} ended: passed (exit 0)\n",
             f"follow did not show the end:\n{text}")
    rows = {}
    for line in lines[1:-1]:
        m = re.match(r"^\d\d:\d\d:\d\d  (?:step )?(\S+)\s+(.*)$", line)
        rh.check(m, f"unexpected line {line!r}:\n{text}")
        rh.check(rows.get(m.group(1)) != m.group(2),
                 f"row {m.group(1)} printed again unchanged:\n{text}")
        rows[m.group(1)] = m.group(2)


def case_status_follow_on_a_terminal_redraws_in_place():
    d = rh.scratch()
    p, go, run = running_release(d)
    try:
        r = rh.run_pty(["status", "-c", p, "--release", VERSION, "--follow"],
                       env=dict(NO_ACCOUNTS, NO_COLOR="1"),
                       script=[(r"gated\s+running", lambda _p: rh.write(go, ""))])
        rout, rerr = finish(run, "the run")
    finally:
        stop(run)
    rh.expect(r, 0, out=[r"refreshing every 2 s until the release ends; Ctrl-C stops",
                         r"gated\s+PASSED", f"release {re.escape(VERSION)} ended: passed "
                         r"\(exit 0\)"])
    rh.check(r.raw.count("\x1b[H\x1b[2J") >= 2, "the table was not redrawn in place (no "
             "cursor-home + clear before each frame)", r)
    rh.check(run.returncode == 0, f"the run exited {run.returncode}:\n{rout}\n{rerr}")


def case_status_follow_stops_on_sigint_and_sigterm_and_blocks_no_run():
    d = rh.scratch()
    go = os.path.join(d, "GO")
    p = follow_plan(d, go)
    # A launch leaves the release unfinished with no relhost holding it: follow waits on it.
    rh.expect(rh.run(["launch", "-c", p, "--release", VERSION], env=NO_ACCOUNTS), 0)
    procs = []
    try:
        for sig in (signal.SIGINT, signal.SIGTERM):
            fol = start(["status", "-c", p, "--release", VERSION, "--follow"])
            procs.append(fol)
            read_until(fol, r"^release 1\.0 of plan ops: 0 job\(s\)$", [])
            t0 = time.monotonic()
            fol.send_signal(sig)
            out, err = finish(fol, f"status --follow after {sig.name}", timeout=10)
            rh.check(fol.returncode == 128 + sig and err == "",
                     f"after {sig.name}: exit {fol.returncode}, stderr {err!r}, stdout {out!r}")
            rh.check(time.monotonic() - t0 < 5, f"{sig.name} took {time.monotonic() - t0:.1f} s")
        # Following while the run starts: the run takes the release's lock and decides.
        fol = start(["status", "-c", p, "--release", VERSION, "--follow"])
        procs.append(fol)
        read_until(fol, r"^release 1\.0 of plan ops: 0 job\(s\)$", [])
        rh.write(go, "")
        run = start(["-c", p, "--release", VERSION, "--no-interactive"])
        procs.append(run)
        rout, rerr = finish(run, "the run")
        rh.check(run.returncode == 0, f"the run exited {run.returncode} while status --follow "
                 f"watched:\n{rout}\n{rerr}")
        out, err = finish(fol, "status --follow")
        rh.check(fol.returncode == 0 and out.endswith(f"release {VERSION} ended: passed "
                                                      f"(exit 0)\n"),
                 f"follow: exit {fol.returncode}\n{out}\n{err}")
    finally:
        stop(*procs)


if __name__ == "__main__":
    sys.exit(rh.main(globals()))
