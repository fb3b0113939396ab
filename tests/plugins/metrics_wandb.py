#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""End-to-end tests of the metrics_wandb source: the real relhost binary runs a workflow step
whose job prints a W&B run URL; the source reads the run from tests/fakes/wandb_fake.py over the
host's HTTP service; acceptance checks name the W&B metrics. One case per process:
metrics_wandb.py CASE (tests/plugins/metrics_wandb.cmake registers each).

Every HTTP case needs host->http_request (core/net/http.c); until the host offers it they fail with
the source's "no HTTP service" message, which is the correct report for such a host."""
import base64
import json
import math
import os
import subprocess
import sys
import tempfile
import urllib.parse

BIN = os.environ["RELHOST_BIN"]
PY = os.environ.get("PYTHON3", sys.executable)
HERE = os.path.dirname(os.path.abspath(__file__))
FAKE = os.path.join(HERE, "..", "fakes", "wandb_fake.py")
sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, HERE)
import http_tls  # noqa: E402
TMP = os.environ.get("RELHOST_TEST_TMP", tempfile.gettempdir())

KEY = "wbk-3f6c1e0d9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c4d"

# ---- the run the fake serves ---------------------------------------------------------------------

# 12 rows of history, stored newest first (the source orders by _step), plus rows the source must
# ignore: one without the key, one non-numeric.
SPS = [1000.0 * (s + 1) for s in range(12)]
HISTORY = ([{"_step": s, "overview/sps": SPS[s], "_runtime": 3.5 * s} for s in reversed(range(12))]
           + [{"_step": 12, "eval/success_rate": 0.9}, {"_step": 13, "overview/sps": "n/a"}])
SUMMARY = {"overview/sps": 31250.5, "eval/success_rate": 0.875, "_step": 13, "_runtime": 42.5,
           "_wandb": {"runtime": 42}}


def tail_mean(values, pct):
    """The documented rule: the mean of the last ceil(n * pct / 100) rows, at least one."""
    k = max(1, min(len(values), math.ceil(len(values) * pct / 100)))
    return sum(values[-k:]) / k


EXPECT = {"sps": 31250.5, "success": 0.875, "sps_max": 12000.0, "sps_min": 1000.0,
          "sps_mean": sum(SPS) / len(SPS), "sps_tail": tail_mean(SPS, 25)}

DATA = {
    "runs": {
        "ent/proj/abc": {"summary": SUMMARY, "history": HISTORY},
        "ent/proj/old1": {"summary": {"overview/sps": 5.0, "eval/success_rate": 0.1},
                          "history": [{"_step": 0, "overview/sps": 5.0}]},
        "ent/proj/err200": {"behavior": "errors200"},
        "ent/proj/down": {"behavior": "down500"},
        "ent/proj/slow": {"behavior": "slow", "delay": 30},
        "ent/proj/reset": {"behavior": "reset"},
        "ent/proj/trunc": {"behavior": "truncated"},
        "ent/proj/badjson": {"behavior": "invalid_json"},
        "ent/proj/leak": {"behavior": "echo_auth"},
    }
}

METRICS = """( { name = "sps"; key = "overview/sps"; },
               { name = "sps_max"; key = "overview/sps"; reducer = "max"; },
               { name = "sps_min"; key = "overview/sps"; reducer = "min"; },
               { name = "sps_mean"; key = "overview/sps"; reducer = "mean"; },
               { name = "sps_tail"; key = "overview/sps"; reducer = "mean_last_pct"; },
               { name = "success"; key = "eval/success_rate"; } )"""
ACCEPT = '("sps", ">=", 30000.0), ("sps_tail", ">=", 10000.0), ("success", ">=", 0.8)'


# ---- helpers -------------------------------------------------------------------------------------

def fail(msg, out=None):
    print("FAIL:", msg)
    if out is not None:
        print("----- output -----")
        print(out)
    sys.exit(1)


def check(cond, msg, out=None):
    if not cond:
        fail(msg, out)


class Fake:
    """The fake W&B server on 127.0.0.1; it exits when its stdin closes (with us, at the latest)."""

    def __init__(self, folder, key=KEY, data=None):
        self.data_path = os.path.join(folder, "wandb-data.json")
        self.log_path = os.path.join(folder, "wandb-requests.jsonl")
        with open(self.data_path, "w") as f:
            json.dump(data or DATA, f)
        self.p = subprocess.Popen([PY, FAKE, "--key", key, "--data", self.data_path, "--log",
                                   self.log_path], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                  text=True)
        line = self.p.stdout.readline()  # the event we wait for: the fake is listening
        check(line.strip().isdigit(), f"the fake did not print its port: {line!r}")
        self.port = int(line)
        self.base = f"http://127.0.0.1:{self.port}"

    def requests(self):
        if not os.path.exists(self.log_path):
            return []
        with open(self.log_path) as f:
            return [json.loads(line) for line in f if line.strip()]

    def close(self):
        self.p.stdin.close()
        self.p.wait(timeout=10)


class Plan:
    def __init__(self, name):
        self.dir = tempfile.mkdtemp(prefix="wandb-" + name + "-", dir=TMP)
        self.path = os.path.join(self.dir, "plan.cfg")

    def p(self, *parts):
        return os.path.join(self.dir, *parts)

    def write(self, base, source="", log="", validation_extra="", metrics=METRICS,
              accept=ACCEPT):
        """One workflow step, one validation ("train") whose job prints `log`."""
        with open(self.p("job.log"), "w") as f:
            f.write(log)
        base_line = f'base_url = "{base}";' if base else ""
        text = f"""
state_dir = "state"; log_dir = "logs";
runners = {{ local = {{ plugin = "runner_local"; max_parallel = 2; grace = "1s"; }}; }};
metrics = {{ wandb = {{ plugin = "metrics_wandb"; {base_line} timeout = "2s"; {source}
                        metrics = {metrics}; }}; }};
steps = (
  {{ name = "tests"; plugin = "workflow"; metrics = ["wandb"];
     validations = ( {{ name = "train"; cmd = ["cat", {json.dumps(self.p("job.log"))}];
                        timeout_s = 60; acceptance = ( {accept} ); {validation_extra} }} ); }}
);
"""
        with open(self.path, "w") as f:
            f.write(text)

    def run(self, *args, key=KEY, timeout=120):
        env = {k: v for k, v in os.environ.items()
               if k not in ("RELHOST_PLUGIN_PATH", "WANDB_BASE_URL", "WANDB_API_KEY",
                            "RELHOST_CRASH_AT", "NO_COLOR")}
        env["LC_ALL"] = "C"
        if key is not None:
            env["WANDB_API_KEY"] = key
        p = subprocess.run([BIN, "-c", self.path, "--no-color", "--no-interactive",
                            "--release", "1", *args], stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, text=True, timeout=timeout, env=env)
        out = p.stdout + p.stderr
        st = None
        try:
            with open(self.p("state", "release_1.json")) as f:
                st = json.load(f)
        except FileNotFoundError:
            pass
        return p.returncode, out, st


def job_of(st, out):
    check(st is not None, "no state file written", out)
    job = st["jobs"].get("tests/train")
    check(job is not None, "no job tests/train in the state", json.dumps(st, indent=1))
    return job


def url_line(base, entity, project, run):
    # what wandb prints, colours and emoji included
    return (f"wandb: \U0001F680 View run bright-sun-7 at: \x1b[34m\x1b[4m{base}/{entity}/{project}"
            f"/runs/{run}\x1b[0m\n")


def train_log(base, run="abc", entity="ent", project="proj"):
    return ("wandb: Currently logged in as: someone\n"
            f"wandb: Syncing run bright-sun-7\n"
            f"wandb: \u2B50\uFE0F View project at {base}/{entity}/{project}\n"
            + url_line(base, entity, project, run) +
            "step 100 | SPS: 31000 | loss 0.25\n"
            "[SUMMARY] Exit code: 0\n")


def expect_passed(rc, out, st, values=EXPECT):
    job = job_of(st, out)
    check(rc == 0 and job["outcome"] == "PASSED",
          f"exit {rc}, job {job['outcome']} ({job.get('reason')}), want 0 and PASSED", out)
    metrics = job["evidence"]["metrics"]
    for k, v in values.items():
        check(k in metrics, f"metric {k} not posted", out)
        check(metrics[k]["value"] == v, f"{k} = {metrics[k]['value']!r}, want exactly {v!r}", out)
    return job


def expect_error(rc, out, st, msg, retryable):
    """The source failed: the job is an ERROR (never FAILED: no verdict without data), the
    message is on the console and in the job's notes; exit 75 (deferred) when a later try may
    pass, else 3."""
    job = job_of(st, out)
    check(job["outcome"] == "ERROR", f"job {job['outcome']} ({job.get('reason')}), want ERROR",
          out)
    check(job["reason"] == "source_failed", f"reason {job['reason']}, want source_failed", out)
    notes = job["evidence"]["notes"]
    check(any("metrics source wandb failed: " in n and msg in n for n in notes),
          f"no note 'metrics source wandb failed: ...{msg}...' in {notes}", out)
    check(msg in out, f"the console does not show {msg!r}", out)
    check(not job["evidence"]["metrics"], f"metrics posted by a failed source: "
          f"{job['evidence']['metrics']}", out)
    want = 75 if retryable else 3
    check(rc == want, f"exit {rc}, want {want} ({'retryable' if retryable else 'not retryable'}"
          f" ERROR)", out)
    return job


def with_fake(name, fn, **fake_args):
    pl = Plan(name)
    fake = Fake(pl.dir, **fake_args)
    try:
        fn(pl, fake)
    finally:
        fake.close()


# ---- cases ---------------------------------------------------------------------------------------

def case_log_url_passes_with_exact_values():
    def go(pl, fake):
        pl.write(fake.base, log=train_log(fake.base))
        rc, out, st = pl.run()
        job = expect_passed(rc, out, st)
        m = job["evidence"]["metrics"]
        check(m["sps_tail"]["pattern"] == "overview/sps" and
              m["sps_tail"]["reducer"] == "mean_last_pct" and m["sps_tail"]["samples"] == 3,
              f"provenance of sps_tail: {m['sps_tail']}", out)
        check(m["sps_mean"]["samples"] == 12, f"sps_mean samples {m['sps_mean']}", out)
        check(m["sps"]["reducer"] == "last" and m["sps"]["samples"] == 1, f"sps {m['sps']}", out)
        check(job["evidence"]["labels"].get("wandb_run") == "ent/proj/abc",
              f"labels {job['evidence']['labels']}", out)
        url = f"{fake.base}/ent/proj/runs/abc"
        check(any(url in n and "W&B run ent/proj/abc (state finished)" in n
                  for n in job["evidence"]["notes"]), "no note with the run URL", out)
        check({"kind": "url", "uri": url, "sha256": None} in job["evidence"]["artifacts"],
              "the run URL is not an artifact", out)
        reqs = fake.requests()
        check([r["op"] for r in reqs] == ["Run", "RunSampledHistory"],
              f"requests {[r.get('op') for r in reqs]}, want Run then RunSampledHistory", out)
        check(all(r["auth"] == "ok" and r["auth_user"] == "api" and
                  r["content_type"] == "application/json" for r in reqs), f"requests {reqs}", out)
        check(reqs[0]["variables"] == {"entity": "ent", "project": "proj", "name": "abc"},
              f"Run variables {reqs[0]['variables']}", out)
        check(reqs[1]["variables"]["specs"] ==
              ['{"keys":["_step","overview/sps"],"samples":500}'],
              f"specs {reqs[1]['variables']['specs']}", out)
    with_fake("logurl", go)


def case_run_id_option():
    def go(pl, fake):
        pl.write(fake.base, source='entity = "ent"; project = "proj"; run_id = "abc";',
                 log="no W&B output at all\n")
        expect_passed(*pl.run())
    with_fake("runid", go)


def case_run_id_env():
    def go(pl, fake):
        pl.write(fake.base, source='entity = "ent"; project = "proj"; run_id_env = "WANDB_RUN_ID";',
                 log="no W&B output at all\n",
                 validation_extra='env = { WANDB_RUN_ID = "abc"; };')
        rc, out, st = pl.run()
        job = expect_passed(rc, out, st)
        check(any("run id from $WANDB_RUN_ID in the job's environment" in n
                  for n in job["evidence"]["notes"]), "the note does not say where the id came "
              "from", out)
    with_fake("runenv", go)


def case_run_dir_summary():
    # No HTTP at all: the fake is not even started, and no API key is set.
    pl = Plan("rundir")
    d = pl.p("wandb", "run-20251002_120000-abc", "files")
    os.makedirs(d)
    with open(os.path.join(d, "wandb-summary.json"), "w") as f:
        f.write('{"overview/sps": 31250.5, "eval/success_rate": 0.875, "lr": NaN, "_step": 13}')
    os.symlink("run-20251002_120000-abc", pl.p("wandb", "latest-run"))
    pl.write(None, source='entity = "ent"; project = "proj"; run_dir = "wandb/latest-run";',
             metrics='( { name = "sps"; key = "overview/sps"; }, '
                     '{ name = "success"; key = "eval/success_rate"; }, '
                     '{ name = "lr"; key = "lr"; } )',
             accept='("sps", ">=", 30000.0), ("success", ">=", 0.8)', log="training\n")
    rc, out, st = pl.run(key=None)
    job = expect_passed(rc, out, st, {"sps": 31250.5, "success": 0.875})
    check(job["evidence"]["labels"].get("wandb_run") == "ent/proj/abc",
          f"labels {job['evidence']['labels']}", out)
    check(any("W&B key lr of run ent/proj/abc is not finite" in n
              for n in job["evidence"]["notes"]), "no note about the NaN summary value", out)


def case_offline_run_dir_without_summary():
    pl = Plan("offline")
    os.makedirs(pl.p("wandb", "offline-run-20251002_120000-off1", "files"))
    pl.write(None, source='run_dir = "wandb/offline-run-20251002_120000-off1";', log="x\n")
    rc, out, st = pl.run(key=None)
    d = pl.p("wandb", "offline-run-20251002_120000-off1")
    expect_error(rc, out, st, f"offline W&B run {d} has no files/wandb-summary.json (offline runs "
                 f"may not write it); sync the run (wandb sync {d})", retryable=False)


def case_run_null():
    def go(pl, fake):
        pl.write(fake.base, log=train_log(fake.base, run="gone"))
        rc, out, st = pl.run()
        expect_error(rc, out, st, f"W&B run gone not found (run: null) in project ent/proj at "
                     f"{fake.base}; the run id came from the run URL in the log", retryable=False)
    with_fake("runnull", go)


def case_project_null():
    def go(pl, fake):
        pl.write(fake.base, log=train_log(fake.base, project="nope"))
        rc, out, st = pl.run()
        expect_error(rc, out, st, f"W&B project ent/nope not found (project: null) at {fake.base}",
                     retryable=False)
    with_fake("projnull", go)


def case_graphql_errors_under_200():
    def go(pl, fake):
        pl.write(fake.base, log=train_log(fake.base, run="err200"))
        rc, out, st = pl.run()
        expect_error(rc, out, st, "W&B answered the Run query for run ent/proj/err200 with an "
                     "error (HTTP 200): run history is temporarily unavailable "
                     "[INTERNAL_SERVER_ERROR] (at project.run)", retryable=False)
    with_fake("err200", go)


def case_server_down_500():
    def go(pl, fake):
        pl.write(fake.base, log=train_log(fake.base, run="down"))
        rc, out, st = pl.run()
        expect_error(rc, out, st, "W&B answered the Run query for run ent/proj/down with an error "
                     "(HTTP 500): Server down", retryable=True)
        check(len(fake.requests()) >= 2, "a 500 was not retried by the host", out)
    with_fake("down", go)


def case_key_missing_is_metric_missing():
    def go(pl, fake):
        pl.write(fake.base, log=train_log(fake.base),
                 metrics='( { name = "sps"; key = "overview/sps"; }, '
                         '{ name = "loss"; key = "train/loss"; } )',
                 accept='("sps", ">=", 30000.0), ("loss", "<=", 1.0)')
        rc, out, st = pl.run()
        job = job_of(st, out)
        check(rc == 1 and job["outcome"] == "FAILED" and job["reason"] == "metric_missing",
              f"exit {rc}, job {job['outcome']} ({job['reason']}), want 1, FAILED, metric_missing",
              out)
        chk = [c for c in job["evidence"]["checks"] if c["key"] == "loss"][0]
        check(chk["actual"] is None and chk["note"] == "metric missing", f"check {chk}", out)
        note = ("W&B key train/loss not in run ent/proj/abc (the W&B API; keys present: "
                "overview/sps, eval/success_rate)")
        check(note in job["evidence"]["notes"], f"no note {note!r}", out)
        check("metric missing" in out and note in out, "the console lacks the reason", out)
        check(job["evidence"]["metrics"]["sps"]["value"] == 31250.5, "sps not posted", out)
    with_fake("keymissing", go)


def case_wrong_key_401():
    def go(pl, fake):
        pl.write(fake.base, log=train_log(fake.base))
        rc, out, st = pl.run(key="wbk-not-the-right-key-000000000000")
        expect_error(rc, out, st, "W&B rejected the API key (HTTP 401)", retryable=False)
        check(all(r["auth"] == "bad" for r in fake.requests()), "the fake saw a good key", out)
        check("wbk-not-the-right-key" not in out, "the wrong key was printed", out)
    with_fake("401", go)


def transient(name, run, msg, transport=True):
    """A reply that may come right later: ERROR, retryable (exit 75). transport: no HTTP reply
    arrived at all, so the host's message stands, after the source's note naming the query."""
    def go(pl, fake):
        pl.write(fake.base, log=train_log(fake.base, run=run))
        rc, out, st = pl.run()
        job = expect_error(rc, out, st, msg, retryable=True)
        if transport:
            # the host's message names the URL and the cause; ours, before it, the query
            note = (f"W&B Run query for run ent/proj/{run} at {fake.base}/graphql got no usable "
                    f"answer")
            check(note in job["evidence"]["notes"], f"no note {note!r}", out)
            check(f"metrics source wandb failed: POST {fake.base}/graphql" in out,
                  "the host's message does not name the request", out)
        check(len(fake.requests()) >= 1, "no request reached the fake", out)
    with_fake(name, go)


def case_slow_reply():
    # timeout 2 s per attempt, at most 4x that per query; the fake answers after 30 s
    transient("slow", "slow", "timed out")


def case_connection_reset():
    transient("reset", "reset", "Connection reset by peer")


def case_truncated_body():
    transient("trunc", "trunc", "transfer closed with")


def case_invalid_json():
    # The rule of every HTTP plugin: an unreadable reply is not retried (exit 3, not 75): the
    # same reply would come again.
    def go(pl, fake):
        pl.write(fake.base, log=train_log(fake.base, run="badjson"))
        rc, out, st = pl.run()
        expect_error(rc, out, st, "W&B's reply to the Run query for run ent/proj/badjson is "
                     f"unreadable: the reply to POST {fake.base}/graphql (HTTP 200, ",
                     retryable=False)
        check("is not valid JSON: " in out and "not retried (the same reply would come again)"
              in out and f"base_url ({pl.path}:" in out, "the message does not say why", out)
        check(len(fake.requests()) == 1, f"{len(fake.requests())} requests, want 1", out)
    with_fake("badjson", go)


def case_api_key_over_plain_http_to_another_host_is_refused():
    # 2130706433 is 127.0.0.1 as one number: it would reach the fake, but it is not a loopback
    # spelling relhost accepts, so it stands for a remote W&B server without any traffic leaving
    # this machine. The host refuses to send the key there; nothing reaches the server.
    def go(pl, fake):
        far = f"http://2130706433:{fake.port}"
        pl.write(far, log=train_log(far))
        rc, out, st = pl.run()
        expect_error(rc, out, st, f"POST {far}/graphql: refusing to send the credential in "
                     "$WANDB_API_KEY (basic_env) over plain http", retryable=False)
        check("use https://" in out, "the message does not say to use https", out)
        check(f"check base_url ({pl.path}:" in out, "no note pointing at base_url", out)
        check(fake.requests() == [], f"the key was sent: {fake.requests()}", out)
    with_fake("plainhttp", go)


def case_self_signed_certificate_is_not_retryable():
    pl = Plan("tls")
    try:
        t = http_tls.TlsFake(pl.dir)
    except http_tls.NoOpenssl:
        print("skipped: no openssl")
        sys.exit(77)
    try:
        pl.write(t.base, log=train_log(t.base))
        rc, out, st = pl.run()
        expect_error(rc, out, st, f"POST {t.base}/graphql failed after 1 attempt ",
                     retryable=False)
        check("certificate" in out and "RELHOST_CA_BUNDLE" in out and "not retried" in out,
              "the message does not explain the certificate failure", out)
        check(t.requests() == [], "a request got through an untrusted TLS connection", out)
    finally:
        t.stop()


def case_last_of_two_urls_wins():
    def go(pl, fake):
        pl.write(fake.base, log=train_log(fake.base, run="old1") +
                 "[SUMMARY] Restart Count: 1\nrestarting...\n" + train_log(fake.base, run="abc"))
        rc, out, st = pl.run()
        job = expect_passed(rc, out, st)
        check(job["evidence"]["labels"].get("wandb_run") == "ent/proj/abc", "not the last run", out)
        check(any("more than one W&B run (first ent/proj/old1, last ent/proj/abc)" in n
                  for n in job["evidence"]["notes"]), "no note about the restarted job", out)
        check({r["variables"]["name"] for r in fake.requests()} == {"abc"},
              "the first run was queried", out)
    with_fake("twourls", go)


def case_no_run_id():
    def go(pl, fake):
        pl.write(fake.base, source='run_id_env = "WANDB_RUN_ID";',
                 log="wandb: W&B syncing is set to `offline`\nhttps://example.com/a/b/runs/c\n")
        rc, out, st = pl.run()
        expect_error(rc, out, st, "no W&B run id: no run_id option; $WANDB_RUN_ID is not in the "
                     "job's environment; the log printed no W&B run URL", retryable=False)
        check(fake.requests() == [], "a request was made without a run id", out)
    with_fake("norunid", go)


def case_secret_never_leaks():
    # A key whose URL-encoded form differs from it; both runs with -v (debug logging).
    key = "s3cr3t+wandb/key=" + "9f8e7d6c5b4a39281706f5e4"
    forms = {
        "raw": key,
        "base64(api:KEY)": base64.b64encode(("api:" + key).encode()).decode(),
        "base64(KEY)": base64.b64encode(key.encode()).decode().rstrip("="),
        "url-encoded": urllib.parse.quote(key, safe=""),
        "url-encoded lower": urllib.parse.quote(key, safe="").lower(),
    }

    def go(pl, fake):
        outputs = []
        pl.write(fake.base, log=train_log(fake.base))
        rc, out, st = pl.run("-v", key=key)
        expect_passed(rc, out, st)
        outputs.append(out)
        # a server that echoes the Authorization header it got into its error message
        pl2 = Plan("secret-leak")
        pl2.write(fake.base, log=train_log(fake.base, run="leak"))
        rc, out, st = pl2.run("-v", key=key)
        job_of(st, out)
        check(rc != 0, "the echoing server's error was not reported", out)
        check("bad credentials: Basic " in out, "the echoed message is not shown at all", out)
        outputs.append(out)
        check(all(r["auth"] == "ok" for r in fake.requests()), "the fake refused the key", out)
        files = []
        for d in (pl.dir, pl2.dir):
            for root, _, names in os.walk(d):
                files += [os.path.join(root, n) for n in names]
        for path in files:
            with open(path, "rb") as f:
                outputs.append(f.read().decode("utf-8", "replace"))
        for i, text in enumerate(outputs):
            for name, form in forms.items():
                where = "relhost output" if i < 2 else files[i - 2]
                check(form not in text, f"the {name} form of the key appears in {where}", text)
    with_fake("secret", go, key=key)


CASES = {k[5:]: v for k, v in globals().items() if k.startswith("case_")}

if __name__ == "__main__":
    if len(sys.argv) != 2 or sys.argv[1] not in CASES:
        print("usage: metrics_wandb.py CASE; cases:", " ".join(sorted(CASES)))
        sys.exit(2)
    CASES[sys.argv[1]]()
    print("ok")
