#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""leak.py - secrets sealed in (issue 15, "Prove it"): nothing relhost writes or prints holds a
secret, in any form, and no process it starts inherits one it was not given.

Every secret variable the installed plugins know (found with `relhost plugins --describe`: every
"env var name" option's default) gets a distinct random value of at least 8 bytes, and so does
MY_SERVICE_TOKEN and RELEASE_DB_PASSWORD, variables no plugin names (secret by their names
alone; the second's value holds " \\ < & > ', which JSON, XML and HTML escape). Fake servers on
127.0.0.1 (tests/fakes) echo the secrets back: Asana in a task name and in an error body,
GitHub in an error quoting the Authorization header, W&B in a GraphQL error quoting the basic
auth header, Discord and Slack in a 404 quoting the webhook path. Local jobs and command steps
print every value raw, as base64 inside a longer text at byte offsets 0, 1 and 2, as base64 of
"api:VALUE", URL-encoded with upper- and lower-case hex ('/' encoded or kept), and inside JSON
(tests/secrets/printer.py).

Then every subcommand runs, each as its own process: run (with --report-junit/json/md), run -v
again, --check, status, status --logs, status --json, report in every format (stdout and -o),
explain, explain --json, site, releases, kill, waive, freeze (then status --json, explain, site
and a publishing run while frozen), unfreeze, rollback --dry-run, plugins; the plan stages and
promotes the release, so the registry, `releases` and the site show it. Every byte relhost wrote
(the plan's folder: state, journal, audit log, registry, reports, site; also as it was while
frozen) and printed (stdout and stderr) is searched for every form of every secret, and for any
12-byte piece of a random value (a secret cut in two is still a leak): zero hits. Only the raw
job logs are not searched: they keep the bytes the job wrote, by design (the test checks that
they do, so the job really printed what the rest must not show). Markdown and JSON backslash
escapes and HTML/XML entities are undone before searching too (a form found only then is
reported as FORM^).

Cases, one ctest entry each (tests/secrets/secrets.cmake):
  every_subcommand_every_sink     the whole scene, printing steps first
  masking_independent_of_order    the same scene with the printing steps last
  discord_404_echoes_webhook      Why: a Discord 404 echoing the webhook path (and Slack's)
  asana_task_name_holds_token     Why: an Asana task named with the token; an error quoting it
  job_prints_every_encoding       Why: a job printing secrets: run output, --report-junit,
                                  report, status --logs, explain
  later_processes_mask            Why: report/explain/status --logs as later processes
  viewer_without_the_secret       a later view without a variable the run had: log bytes
                                  withheld, the variable named; with it: masked as before
  log_tail_cut_in_a_secret        a secret straddling the start of a log tail's window, or the
                                  point where a tail bounded in bytes cuts a long line
  children_sealed                 Why: a job's, a command step's and git hooks' environments hold
                                  no secret that was not passed; a pass_env'd one arrives
"""
import base64
import html
import json
import os
import re
import secrets as rnd
import stat
import string
import subprocess
import sys
import urllib.parse

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "support"))
import rh  # noqa: E402

FAKES = os.path.join(HERE, "..", "fakes")
PRINTER = os.path.join(HERE, "printer.py")
PY = os.environ.get("PYTHON3", sys.executable)
VERSION = "1.0"
# What the plugins bundled today name; the test also finds any other "env var name" option.
KNOWN = {"ASANA_TOKEN", "GITHUB_TOKEN", "WANDB_API_KEY", "DISCORD_WEBHOOK_URL",
         "SLACK_WEBHOOK_URL"}
UNRELATED = "MY_SERVICE_TOKEN"
QUOTED = "RELEASE_DB_PASSWORD"  # secret by its name too; its value holds what escapers change
FRAGMENT = 12       # bytes of a random value that count as a leak wherever they appear
GIT_ENV = {"GIT_CONFIG_NOSYSTEM": "1", "GIT_AUTHOR_NAME": "Tess Ter",
           "GIT_AUTHOR_EMAIL": "tess@example.com", "GIT_COMMITTER_NAME": "Tess Ter",
           "GIT_COMMITTER_EMAIL": "tess@example.com"}


# ---- the secrets -------------------------------------------------------------------------------

def secret_env_names():
    """Every default of an "env var name" option of every installed plugin."""
    r = rh.expect(rh.run(["plugins"]), 0)
    names = set()
    for line in r.out.splitlines():
        m = re.match(r"^(\w+)\s+\S+\s+\w+\s+/", line)
        if not m:
            continue
        d = rh.expect(rh.run(["plugins", "--describe", m.group(1)]), 0)
        names |= set(re.findall(r"^\s+\w+\s+env var name\s+default\s+(\w+)\s*$", d.out, re.M))
    missing = KNOWN - names
    rh.check(not missing, f"`relhost plugins --describe` names no option for {sorted(missing)}",
             r)
    return names


def rand(n, alphabet=string.ascii_letters + string.digits):
    return "".join(rnd.choice(alphabet) for _ in range(n))


class Secrets:
    """Distinct random values; URL secrets are completed once the fakes' ports are known.
    .env: NAME -> value (what relhost gets); .values: what to search for, NAME -> value, the
    webhook tokens inside the URLs included; .randoms: the random parts (for fragments)."""

    def __init__(self, hooks_port=1, names=None):
        names = names or secret_env_names()
        self.discord_token = rand(40, string.ascii_letters + string.digits + "_-")
        self.slack_secret = rand(24)
        self.env = {}
        for n in sorted(names | {UNRELATED, QUOTED}):
            if n == "ASANA_TOKEN":
                # Asana's shape: '/' and ':' are URL-encoded, so the forms differ.
                v = (f"2/{rand(16, string.digits)}/{rand(16, string.digits)}:"
                     f"{rand(32, '0123456789abcdef')}")
            elif n == "GITHUB_TOKEN":
                v = "ghp_" + rand(36)
            elif n == "WANDB_API_KEY":
                v = rand(40, "0123456789abcdef")
            elif n == "DISCORD_WEBHOOK_URL":
                v = (f"http://127.0.0.1:{hooks_port}/api/webhooks/{rand(18, string.digits)}/"
                     f"{self.discord_token}")
            elif n == "SLACK_WEBHOOK_URL":
                v = (f"http://127.0.0.1:{hooks_port}/services/T{rand(8).upper()}/"
                     f"B{rand(8).upper()}/{self.slack_secret}")
            elif n == UNRELATED:
                v = "svc+" + rand(20) + "/=="
            elif n == QUOTED:
                # What JSON, XML, HTML and Markdown escape: is it masked before it is escaped?
                v = 'pw"' + rand(10) + "\\<&>" + rand(10) + "'"
            else:
                v = rand(12) + "+/" + rand(12)
            self.env[n] = v
        self.values = dict(self.env)
        self.values["the Discord webhook token"] = self.discord_token
        self.values["the Slack webhook secret"] = self.slack_secret
        self.randoms = {}
        for n, v in self.values.items():
            if n.endswith("_URL"):
                continue        # its random part is listed on its own above
            self.randoms[n] = v

    def file(self, folder):
        """The values as a JSON file for printer.py (outside every folder that is searched)."""
        return rh.write(os.path.join(folder, "secrets.json"), json.dumps(self.env))


def b64_cores(b):
    """What base64 of b shows whatever surrounds it, for b at byte offset 0, 1 and 2 of a longer
    text: the characters that encode b's bits alone."""
    out = []
    for k in range(3):
        enc = base64.b64encode(b"\0" * k + b).decode()
        first, end = (8 * k + 5) // 6, (8 * (k + len(b))) // 6
        out.append(enc[first:end])
    return out


def forms(value):
    """Short form name -> the form's text (the names appear in failure messages)."""
    b = value.encode()
    f = {"raw": value,
         "b64": base64.b64encode(b).decode().rstrip("="),
         "url": urllib.parse.quote(value, safe=""),
         "url-lower": re.sub(r"%[0-9A-F]{2}", lambda m: m.group(0).lower(),
                             urllib.parse.quote(value, safe="")),
         "url-slash": urllib.parse.quote(value, safe="/")}
    for k, core in enumerate(b64_cores(b)):
        f[f"b64@{k}"] = core
    if json.dumps(value)[1:-1] != value:
        f["json"] = json.dumps(value)[1:-1]     # inside a JSON string, as a job prints it
    return f


def views(text):
    """The text as searched: as is, with Markdown/JSON backslash escapes and HTML entities
    undone (a renderer escapes after it masks: an escaped secret is still one)."""
    unbs = re.sub(r"\\([!-/:-@\[-`{-~])", r"\1", text)
    return (text, unbs, html.unescape(text), html.unescape(unbs))


def find_leaks(sec, texts):
    """[(where, what, form)] of every secret form (and random fragment) in texts. A form found
    only once escapes are undone is reported as "FORM^" (a renderer escaped it unmasked, or
    the job printed it escaped, e.g. inside JSON)."""
    leaks = []
    pats = [(n, fn, s) for n, v in sec.values.items() for fn, s in forms(v).items()]
    for where, text in texts.items():
        found = [(n, fn, s) for n, fn, s in pats if s in text]
        leaks += [(where, n, fn) for n, fn, s in found]
        # What is found as is does not count again once unescaped.
        for s in sorted({s for _, _, s in found}, key=len, reverse=True):
            text = text.replace(s, "\0")
        vs = views(text)
        for n, fn, s in pats:
            if (n, fn, s) not in found and any(s in t for t in vs[1:]):
                leaks.append((where, n, fn + "^"))
        for n, v in sec.randoms.items():
            if any((where, n, fn) in leaks for fn in ("raw", "raw^")):
                continue
            if any(v[i:i + FRAGMENT] in t for t in vs for i in range(len(v) - FRAGMENT + 1)):
                leaks.append((where, n, "piece"))
    return leaks


def leak_report(leaks):
    """One line per sink: NAME[form,form] ... (forms: raw, b64 of the value alone, b64@K the
    value at byte offset K of a longer base64 text, url / url-lower / url-slash encodings,
    json: escaped inside a JSON string, piece: 12 bytes of the value; FORM^: found once escapes
    were undone)."""
    by = {}
    for where, n, fn in leaks:
        by.setdefault(where, {}).setdefault(n, []).append(fn)
    return "\n".join(f"  {w}: " + " ".join(f"{n}[{','.join(f)}]" for n, f in sorted(d.items()))
                     for w, d in sorted(by.items()))


def expect_no_leaks(sec, texts, what=""):
    leaks = find_leaks(sec, texts)
    if leaks:
        rh.fail(f"{what}secrets leaked:\n" + leak_report(leaks))


# ---- fakes ---------------------------------------------------------------------------------------

class Fake:
    """A fake server script in a process of its own; stop() ends it by its pid."""

    def __init__(self, script, *args, stdin=False):
        self.dir = rh.scratch("fake")
        self.log = os.path.join(self.dir, "requests.jsonl")
        self.errpath = os.path.join(self.dir, "stderr")
        self.err = open(self.errpath, "w")
        self.p = subprocess.Popen([PY, os.path.join(FAKES, script), *args, "--log", self.log],
                                  stdout=subprocess.PIPE, stderr=self.err, text=True,
                                  stdin=subprocess.PIPE if stdin else subprocess.DEVNULL)
        line = self.p.stdout.readline().strip()
        if not line.isdigit():
            self.stop()
            rh.fail(f"{script} did not print its port (got {line!r}); stderr:\n"
                    + rh.read(self.errpath))
        self.port = int(line)
        self.base = f"http://127.0.0.1:{self.port}"

    def requests(self):
        if not os.path.exists(self.log):
            return []
        with open(self.log, encoding="utf-8") as f:
            return [json.loads(line) for line in f if line.strip()]

    def stop(self):
        if self.p.stdin:
            self.p.stdin.close()
        if self.p.poll() is None:
            self.p.terminate()
            try:
                self.p.wait(10)
            except subprocess.TimeoutExpired:
                self.p.kill()
                self.p.wait()
        self.err.close()


class Fakes:
    """The fakes a scene asks for, started in order; every one stopped at the end."""

    def __init__(self):
        self.all = []

    def start(self, *a, **kw):
        f = Fake(*a, **kw)
        self.all.append(f)
        return f

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        for f in self.all:
            f.stop()


# ---- the scene -----------------------------------------------------------------------------------

def printing_steps(sec_file, wandb_url=None, cut=False, metrics=('"logs"',)):
    w = f', "--wandb-url", "{wandb_url}"' if wandb_url else ""
    c = ', "--cut"' if cut else ""
    cl = ', "--cut-long"' if cut else ""
    ms = ", ".join(metrics)
    return (
        f'  {{ name = "jobs"; plugin = "workflow"; required = false; metrics = [{ms}];\n'
        f'    validations = (\n'
        f'      {{ name = "prints_and_fails";\n'
        f'        cmd = ["{PY}", "{PRINTER}", "{sec_file}", "--exit", "3"{w}{c}];\n'
        f'        timeout_s = "1m"; acceptance = ( ("sps_max", ">=", 1.0) ); }},\n'
        f'      {{ name = "prints_and_passes"; cmd = ["{PY}", "{PRINTER}", "{sec_file}"{cl}];\n'
        f'        timeout_s = "1m"; acceptance = ( ("sps_max", ">=", 1.0) ); }}\n'
        f'    ); }},\n'
        f'  {{ name = "cmd-prints"; plugin = "command"; required = false;\n'
        f'    cmd = ["{PY}", "{PRINTER}", "{sec_file}", "--exit", "4"]; tail_lines = 1000; }},\n')


class Scene:
    """A plan folder, the fakes it talks to, and every output relhost made for it."""

    def __init__(self, fakes, asana="echo_token", github="reflect", discord="echo",
                 slack="echo", wandb=True, printing="first", cut=False):
        self.dir = rh.scratch()
        self.input = rh.scratch("input")    # what the test gives the jobs: never searched
        hooks = fakes.start("webhook_fake.py", "--discord", discord, "--slack", slack) \
            if discord or slack else None
        self.sec = Secrets(hooks.port if hooks else 1)
        env = dict(self.sec.env)
        sec_file = self.sec.file(self.input)
        steps_before, steps_after = "", ""
        if asana:
            af = fakes.start("asana_fake.py", asana, "--token", env["ASANA_TOKEN"])
            steps_after += (f'  {{ name = "bug-check"; plugin = "asana"; required = false; '
                            f'project = "1201"; base_url = "{af.base}/api/1.0"; '
                            f'retry_budget = "2s"; timeout = "2s"; }},\n')
        if github:
            gf = fakes.start("github_fake.py", github, "--token", env["GITHUB_TOKEN"])
            steps_after += (f'  {{ name = "alarm"; plugin = "github"; required = false; '
                            f'action = "issue"; repository = "octo-org/octo-repo"; '
                            f'base_url = "{gf.base}"; retry_budget = "2s"; timeout = "2s"; }},\n')
        # Every variable stays set, used by a step or not: relhost masks what it knows to be
        # secret, whichever steps the plan has.
        if discord or slack:
            steps_after += ('  { name = "announce"; plugin = "notify"; required = false; '
                            'retry_budget = "2s"; timeout = "2s"; },\n')
        metrics = ['"logs"']
        wandb_url = None
        top_metrics = 'logs = { plugin = "metrics_regex"; };'
        if wandb:
            data = rh.write(os.path.join(self.input, "wandb.json"),
                            json.dumps({"runs": {"ent/proj/leak": {"behavior": "echo_auth"}}}))
            wf = fakes.start("wandb_fake.py", "--key", env["WANDB_API_KEY"], "--data", data,
                             stdin=True)
            wandb_url = f"{wf.base}/ent/proj/runs/leak"
            top_metrics += (f' wandb = {{ plugin = "metrics_wandb"; base_url = "{wf.base}"; '
                            f'timeout = "2s"; metrics = ( {{ name = "sps"; '
                            f'key = "overview/sps"; }} ); }};')
            metrics.append('"wandb"')
        printers = printing_steps(sec_file, wandb_url, cut, metrics)
        if printing == "first":
            steps_before = printers
        elif printing == "last":
            steps_after += printers
        # Staged and promoted: the registry, `releases` and the site then show this release.
        rh.write(self.p("dist", "artifact.txt"), "an artifact\n")
        self.plan = rh.write_plan(self.dir, (
            f'name = "leak"; version = "{VERSION}";\n'
            'state_dir = "state"; log_dir = "logs"; registry_dir = "registry";\n'
            'runners = { local = { plugin = "runner_local"; max_parallel = 2; grace = "1s"; }; };\n'
            f'metrics = {{ {top_metrics} }};\n'
            'steps = (\n'
            '  { name = "stage"; plugin = "registry"; action = "stage"; '
            'artifacts = ["dist/artifact.txt"]; },\n' + steps_before + steps_after +
            '  { name = "promote"; plugin = "registry"; action = "promote"; publishes = true; }\n'
            ');\n'))
        self.env = env
        self.outputs = {}       # "what ran: stdout" -> text
        self.codes = {}         # what ran -> its exit code
        self.snapshots = {}     # files as they were at some point, by a name that says when

    def run(self, *args, code=None, key=None, env=None):
        r = rh.run(list(args), cwd=self.dir, env=env or self.env, timeout=120)
        k = key or " ".join(args).replace(self.plan, "PLAN").replace(self.dir + "/", "")
        self.outputs[f"`relhost {k}`: stdout"] = r.out
        self.outputs[f"`relhost {k}`: stderr"] = r.err
        self.codes[k] = r.rc
        if code is not None:
            rh.expect(r, code)
        return r

    def p(self, *parts):
        return os.path.join(self.dir, *parts)

    def raw_logs(self):
        """The job logs the state names (log_path of every job): they keep what the job wrote.
        Anything else relhost puts under log_dir is searched like the rest."""
        try:
            with open(self.p("state", f"release_{VERSION}.json"), encoding="utf-8") as f:
                jobs = json.load(f).get("jobs") or {}
        except (OSError, ValueError):
            return []
        out = []
        for j in jobs.values():
            lp = j.get("log_path") if isinstance(j, dict) else None
            if isinstance(lp, str):
                out.append(os.path.realpath(os.path.join(self.dir, lp)))
        return out

    def files(self):
        """Every file relhost wrote in the plan's folder but the raw job logs (and the plan)."""
        raw = set(self.raw_logs())
        out = {}
        for root, _, names in os.walk(self.dir):
            for n in names:
                path = os.path.join(root, n)
                if os.path.realpath(path) in raw or path == self.plan or \
                        not os.path.isfile(path):
                    continue
                with open(path, "rb") as f:
                    out[os.path.relpath(path, self.dir)] = f.read().decode("utf-8", "replace")
        return out

    def texts(self):
        t = dict(self.outputs)
        t.update(self.snapshots)
        t.update(self.files())
        return t

    def expect_no_leaks(self, what=""):
        expect_no_leaks(self.sec, self.texts(), what)

    def raw_logs_keep_bytes(self):
        """The control: the job logs hold what the jobs printed (raw), so the searches
        looked for something that was there to find."""
        logs = "".join(rh.read(p) for p in self.raw_logs())
        return all(v in logs for v in self.sec.env.values())

    def run_everything(self):
        """The run and every subcommand after it, each a process of its own."""
        c = ["-c", self.plan, "--no-color", "--no-interactive"]
        rep = self.p("out")
        os.makedirs(rep, exist_ok=True)
        self.run(*c, "--report-junit", f"{rep}/run.xml", "--report-json", f"{rep}/run.json",
                 "--report-md", f"{rep}/run.md", key="run --report-*")
        self.run(*c, "-v", "--rerun", "*", key="run -v --rerun *")
        self.run(*c, "--check", key="run --check")
        self.run(*c, "--check", "-v", key="run --check -v")
        for sub in (["status"], ["status", "--logs"], ["status", "--logs", "--tail", "500"],
                    ["status", "--json"], ["explain"], ["explain", "--json"], ["releases"],
                    ["releases", "--json"], ["kill"]):
            self.run(sub[0], *c, *sub[1:], key=" ".join(sub))
        for fmt in ("junit", "json", "md"):
            self.run("report", *c, "--format", fmt, key=f"report --format {fmt}")
            self.run("report", *c, "--format", fmt, "-o", f"{rep}/report.{fmt}",
                     key=f"report --format {fmt} -o FILE")
        self.run("site", *c, "-o", self.p("site"), key="site -o DIR")
        self.run("site", *c, key="site")
        # A waiver and the freeze are audited: their reasons are text relhost writes.
        reason = "rotated after " + self.sec.env[UNRELATED] + " was seen"
        self.run("waive", *c, "--release", VERSION, "--step", "jobs", "--validation",
                 "prints_and_fails", "--reason", reason, key="waive")
        self.run("freeze", *c, "--reason", reason, key="freeze")
        for sub in (["status", "--json"], ["explain"], ["explain", "--json"], ["releases"]):
            self.run(sub[0], *c, *sub[1:], key=" ".join(sub) + " (frozen)")
        self.run("site", *c, "-o", self.p("site-frozen"), key="site (frozen)")
        self.run(*c, "--rerun", "promote", key="run --rerun promote (frozen)")
        # The freeze's own file goes with unfreeze: searched while it is there.
        self.snapshots.update({f"{k} (while frozen)": v for k, v in self.files().items()})
        self.run("unfreeze", *c, "--reason", reason, key="unfreeze")
        self.run("explain", *c, key="explain (after the waiver)")
        self.run("rollback", *c, "--reason", reason, "--dry-run", key="rollback --dry-run")
        self.run("releases", *c, key="releases (at the end)")
        self.run("plugins", "-c", self.plan, key="plugins")


def all_out(scene, pattern):
    return "\n".join(v for k, v in scene.outputs.items() if re.search(pattern, k))


# ---- cases ---------------------------------------------------------------------------------------
# Each case searches first and checks its controls (the echo came back, something was masked)
# after, and reports both together: a leak list is the news, a failed control says the search
# could not have found one.

class Controls:
    def __init__(self, scene):
        self.scene = scene
        self.failed = []

    def check(self, cond, msg):
        if not cond:
            self.failed.append(msg)

    def out_has(self, key_pattern, pattern, msg):
        text = all_out(self.scene, key_pattern)
        self.check(re.search(pattern, text, re.M), f"{msg} (/{pattern}/ not in the outputs of "
                   f"{key_pattern})")

    def finish(self, what=""):
        leaks = find_leaks(self.scene.sec, self.scene.texts())
        msgs = []
        if leaks:
            msgs.append(f"{what}secrets leaked:\n" + leak_report(leaks))
        if self.failed:
            msgs.append("controls failed:\n  " + "\n  ".join(self.failed))
        if msgs:
            rh.fail("\n".join(msgs))


def whole_scene(printing):
    with Fakes() as fakes:
        sc = Scene(fakes, printing=printing)
        sc.run_everything()
        ctl = Controls(sc)
        # Every subcommand did its work (a search of an error message proves little).
        bad = {k: rc for k, rc in sc.codes.items()
               if rc != {"rollback --dry-run": 2, "run --rerun promote (frozen)": 4}.get(k, 0)}
        ctl.check(not bad, f"subcommands exited otherwise than expected: {bad}")
        ctl.check(sc.raw_logs_keep_bytes(), "the job logs do not hold every value raw: the jobs "
                  "did not print them")
        st = sc.files().get(f"state/release_{VERSION}.json", "")
        ctl.check(st, f"no state file state/release_{VERSION}.json: {sorted(sc.files())}")
        for needle in ("Rotate the leaked token ", "Unknown Webhook", "bad credentials"):
            ctl.check(needle in st, f"the state does not hold the echo {needle!r}")
        ctl.check("********" in st, "nothing masked in the state")
        audit = sc.files().get("registry/audit.jsonl", "")
        ctl.check(audit.count("rotated after ******** was seen") >= 3,
                  "the audit log does not hold the waiver's and the freeze's reasons, masked")
        ctl.out_has(r"status --json \(frozen\)", r"rotated after \*{8} was seen",
                    "status --json does not show the freeze's reason, masked")
        ctl.finish(f"printing steps {printing}: ")


def case_every_subcommand_every_sink():
    whole_scene("first")


def case_masking_independent_of_order():
    # The printing steps run after every plugin that reads a secret (and, in the case above,
    # before): masking may not depend on which step read a secret first.
    whole_scene("last")


def case_discord_404_echoes_webhook():
    with Fakes() as fakes:
        sc = Scene(fakes, asana=None, github=None, wandb=False, printing=None)
        c = ["-c", sc.plan, "--no-color", "--no-interactive"]
        sc.run(*c, "-v", key="run -v")
        for sub in (["status", "--logs"], ["explain"], ["explain", "--json"]):
            sc.run(sub[0], *c, *sub[1:], key=" ".join(sub))
        for fmt in ("junit", "json", "md"):
            sc.run("report", *c, "--format", fmt, key=f"report --format {fmt}")
        sc.run("site", *c, "-o", sc.p("site"), key="site")
        ctl = Controls(sc)
        ctl.out_has("run -v", r"Unknown Webhook /api/webhooks/\S*\*{8}",
                    "the run does not show the 404's message, masked")
        st = sc.files().get(f"state/release_{VERSION}.json", "")
        ctl.check("Unknown Webhook /api/webhooks/" in st and "channel_not_found: /services/" in st,
                  "the state does not hold both echoed 404s")
        ctl.finish()


def case_asana_task_name_holds_token():
    for scenario, needle in (("echo_token", "Rotate the leaked token ********"),
                             ("echo_error", "Invalid token ********")):
        with Fakes() as fakes:
            sc = Scene(fakes, asana=scenario, github=None, discord=None, slack=None,
                       wandb=False, printing=None)
            c = ["-c", sc.plan, "--no-color", "--no-interactive"]
            sc.run(*c, key="run")
            for sub in (["status"], ["explain"], ["explain", "--json"]):
                sc.run(sub[0], *c, *sub[1:], key=" ".join(sub))
            for fmt in ("junit", "json", "md"):
                sc.run("report", *c, "--format", fmt, key=f"report --format {fmt}")
            sc.run("site", *c, "-o", sc.p("site"), key="site")
            ctl = Controls(sc)
            ctl.out_has("^`relhost run`", re.escape(needle), f"{scenario}: the run does not show "
                        "the echo, masked")
            ctl.finish(f"{scenario}: ")


def case_job_prints_every_encoding():
    with Fakes() as fakes:
        sc = Scene(fakes, asana=None, github=None, discord=None, slack=None, wandb=False)
        c = ["-c", sc.plan, "--no-color", "--no-interactive"]
        sc.run(*c, "--report-junit", sc.p("run.xml"), key="run --report-junit")
        sc.run("status", *c, "--logs", "--tail", "500", key="status --logs --tail 500")
        sc.run("explain", *c, key="explain")
        sc.run("explain", *c, "--json", key="explain --json")
        for fmt in ("junit", "json", "md"):
            sc.run("report", *c, "--format", fmt, key=f"report --format {fmt}")
        ctl = Controls(sc)
        ctl.check(sc.raw_logs_keep_bytes(), "the job logs do not hold every value raw")
        ctl.out_has("run --report-junit`: stdout", r"last lines of", "the run shows no "
                    "failure tail")
        ctl.out_has("run --report-junit`: stdout", r"raw: \*{8}", "the run's failure tail "
                    "shows no masked line")
        ctl.out_has("status --logs", r"raw: \*{8}", "status --logs shows no masked line")
        junit = rh.read(sc.p("run.xml")) if os.path.exists(sc.p("run.xml")) else ""
        ctl.check(re.search(r"raw: \*{8}", junit), "no masked line in the JUnit system-out")
        ctl.finish()


def case_later_processes_mask():
    # The run that read the secrets is over; later processes (other subcommands, other
    # shells) hold the same variables and must mask the same way, with nothing cached.
    with Fakes() as fakes:
        sc = Scene(fakes, github=None, wandb=False)
        c = ["-c", sc.plan, "--no-color", "--no-interactive"]
        sc.run(*c, "-q", key="run -q")
        for sub in (["status", "--logs"], ["status", "--json"], ["explain"],
                    ["explain", "--json"], ["releases"]):
            sc.run(sub[0], *c, *sub[1:], key=" ".join(sub))
        for fmt in ("junit", "json", "md"):
            sc.run("report", *c, "--format", fmt, key=f"report --format {fmt}")
        sc.run("site", *c, "-o", sc.p("site"), key="site")
        ctl = Controls(sc)
        for k in ("status --logs", "explain`", "report --format json"):
            ctl.out_has(k, r"\*{8}", f"`relhost {k}` masked nothing: it saw no secret to mask")
        ctl.finish()


def case_log_tail_cut_in_a_secret():
    # The tail windows (the run's failure tail, status --logs, JUnit system-out) begin 64 KiB
    # before the end; in one job's log a value straddles that point. In the other's, the last
    # line is longer than JUnit's 16 KiB byte bound and a value straddles the point where that
    # bound cuts it. No piece of either may show.
    with Fakes() as fakes:
        sc = Scene(fakes, asana=None, github=None, discord=None, slack=None, wandb=False,
                   cut=True)
        c = ["-c", sc.plan, "--no-color", "--no-interactive"]
        sc.run(*c, "--report-junit", sc.p("run.xml"), key="run --report-junit")
        sc.run("status", *c, "--logs", key="status --logs")
        sc.run("status", *c, "--logs", "--tail", "5000", key="status --logs --tail 5000")
        sc.run("report", *c, "--format", "junit", key="report --format junit")
        ctl = Controls(sc)
        ctl.out_has("status --logs --tail 5000", r"y{5999}", "status --logs --tail 5000 does "
                    "not show the long lines after the cut")
        ctl.finish()


def case_viewer_without_the_secret():
    # A later process WITHOUT a secret variable the run had (a CI report step without secrets)
    # cannot mask that value: every view of a job log's bytes (status --logs, JUnit
    # system-out) withholds them and names the variable; the same views with the variable set
    # show the masked tail; the command exits as it would otherwise.
    missing = "ASANA_TOKEN"
    with Fakes() as fakes:
        sc = Scene(fakes, asana=None, github=None, discord=None, slack=None, wandb=False)
        c = ["-c", sc.plan, "--no-color", "--no-interactive"]
        unset = dict(sc.env, **{missing: None})
        sc.run(*c, key="run")
        st = json.loads(rh.read(sc.p("state", f"release_{VERSION}.json")) or "{}")
        views_ = [["status", "--logs"], ["status", "--logs", "--tail", "500"], ["explain"],
                  ["explain", "--json"], ["report", "--format", "junit"],
                  ["report", "--format", "json"], ["report", "--format", "md"]]
        for sub in views_:
            k = " ".join(sub)
            sc.run(sub[0], *c, *sub[1:], key=k + " (set)")
            sc.run(sub[0], *c, *sub[1:], key=k + " (unset)", env=unset)
        sc.run("report", *c, "--format", "junit", "-o", sc.p("unset.xml"),
               key="report --format junit -o FILE (unset)", env=unset)
        # A later run without it (of a step that prints nothing): the name stays stored.
        sc.run(*c, "--step", "stage", "--rerun", "stage", key="run --step stage (unset)",
               env=unset)
        st2 = json.loads(rh.read(sc.p("state", f"release_{VERSION}.json")) or "{}")
        sc.run("status", *c, "--logs", key="status --logs (set, after the rerun)")
        ctl = Controls(sc)
        ctl.check(sc.raw_logs_keep_bytes(), "the job logs do not hold every value raw")
        stored = st.get("sealed_env") or []
        ctl.check(missing in stored and UNRELATED in stored and QUOTED in stored,
                  f"the state's sealed_env does not name the secrets set: {stored}")
        ctl.check(not any(v in json.dumps(stored) for v in sc.env.values()),
                  "sealed_env holds a value")
        ctl.check(missing in (st2.get("sealed_env") or []),
                  "a run without the variable dropped it from sealed_env (no union)")
        withheld = (r"\[log withheld: " + missing + r" was set when the job ran but is not set "
                    r"now, so its value could not be masked; run this command with the same "
                    r"secret variables set\]")
        for sub in views_:
            k = " ".join(sub)
            ctl.check(sc.codes.get(k + " (set)") == sc.codes.get(k + " (unset)"),
                      f"`{k}` exits {sc.codes.get(k + ' (unset)')} without {missing}, "
                      f"{sc.codes.get(k + ' (set)')} with it")
        for k in ("status --logs", "status --logs --tail 500", "report --format junit"):
            ctl.out_has(re.escape(k) + r" \(unset\)`: stdout", withheld,
                        f"`{k}` without {missing} does not say the log is withheld")
            ctl.out_has(re.escape(k) + r" \(set\)`: stdout", r"raw: \*{8}",
                        f"`{k}` with {missing} set shows no masked tail")
            # (A shown tail would hold the value raw: the leak search below finds it. The
            # command step's output is state text, masked when stored, and still shown.)
        ctl.out_has(r"status --logs \(set, after the rerun\)`: stdout", r"raw: \*{8}",
                    "status --logs with every variable set shows no masked tail after the rerun")
        xml = rh.read(sc.p("unset.xml")) if os.path.exists(sc.p("unset.xml")) else ""
        ctl.check(re.search(withheld, xml),
                  "the JUnit file written without the variable does not withhold the tail")
        ctl.finish()


def write_hook(repo, name, out_dir):
    path = os.path.join(repo, ".git", "hooks", name)
    rh.write(path, "#!/bin/sh\n"
             f'"{PY}" -c \'import json, os, sys; '
             f'json.dump(dict(os.environ), open(sys.argv[1], "w"))\' '
             f'"{out_dir}/{name}-$$.json"\n'
             'exit 0\n')
    os.chmod(path, os.stat(path).st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)


def case_children_sealed():
    d = rh.scratch()
    envs = rh.scratch("envs")
    inp = rh.scratch("input")
    sec = Secrets()
    genv = dict(GIT_ENV, GIT_CONFIG_GLOBAL=rh.write(os.path.join(inp, "gitconfig"), ""),
                GIT_CEILING_DIRECTORIES=os.path.realpath(os.path.dirname(d)))
    work = os.path.join(d, "work")
    os.makedirs(work)

    def git(*a):
        subprocess.run(["git", "-C", work, *a], check=True, capture_output=True,
                       env=rh.base_env(genv))
    git("init", "-q", "-b", "main")
    rh.write(os.path.join(work, "a.txt"), "one\n")
    git("add", "a.txt")
    git("commit", "-q", "-m", "one")
    subprocess.run(["git", "init", "-q", "--bare", os.path.join(d, "origin.git")], check=True,
                   env=rh.base_env(genv))
    git("remote", "add", "origin", os.path.join(d, "origin.git"))
    for hook in ("post-checkout", "reference-transaction", "pre-push"):
        write_hook(work, hook, envs)
    sec_file = sec.file(inp)
    plan = rh.write_plan(d, (
        f'name = "sealed"; version = "{VERSION}"; state_dir = "state"; log_dir = "logs";\n'
        'repo = "work"; checkout = "worktree";\n'
        'runners = { local = { plugin = "runner_local"; max_parallel = 1; grace = "1s"; }; };\n'
        'metrics = { logs = { plugin = "metrics_regex"; }; };\n'
        'steps = (\n'
        '  { name = "jobs"; plugin = "workflow"; metrics = ["logs"]; validations = (\n'
        f'      {{ name = "env"; cmd = ["{PY}", "{PRINTER}", "{sec_file}", "--env-out", '
        f'"{envs}/job.json"]; pass_env = ["GITHUB_TOKEN"]; timeout_s = "1m"; '
        '        acceptance = ( ("sps_max", ">=", 1.0) ); } ); },\n'
        f'  {{ name = "cmd"; plugin = "command"; cmd = ["{PY}", "{PRINTER}", "{sec_file}", '
        f'"--env-out", "{envs}/command.json"]; }},\n'
        '  { name = "branch"; plugin = "git"; action = "prepare_branch"; repo = "work"; '
        'branch = "release/{version}"; push = true; }\n'
        ');\n'))
    env = dict(sec.env, **genv)
    r = rh.run(["-c", plan, "--no-color", "--no-interactive"], cwd=d, env=env, timeout=120)
    got = {n: json.load(open(os.path.join(envs, n))) for n in sorted(os.listdir(envs))}
    for want in ("job.json", "command.json"):
        rh.check(want in got, f"{want} was not written (the step did not run)", r)
    rh.check(any(n.startswith("post-checkout") for n in got),
             f"no post-checkout hook ran (worktree add): {sorted(got)}", r)
    rh.check(any(n.startswith("reference-transaction") for n in got),
             f"no reference-transaction hook ran (the git step): {sorted(got)}", r)
    problems = []
    for where, e in got.items():
        passed = {"GITHUB_TOKEN"} if where == "job.json" else set()
        for n, v in sec.env.items():
            if n in passed:
                if e.get(n) != v:
                    problems.append(f"{where}: pass_env'd {n} did not arrive "
                                    f"({'unset' if n not in e else 'another value'})")
                continue
            if n in e:
                problems.append(f"{where}: holds {n}")
            holders = [k for k, x in e.items() if v in x and k not in passed]
            if holders and n not in e:
                problems.append(f"{where}: the value of {n} is in {holders}")
    rh.check(not problems, "children inherited secrets:\n  " + "\n  ".join(problems), r)


if __name__ == "__main__":
    sys.exit(rh.main(globals()))
