#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""notify.py - the notify gate end to end: the real relhost binary, the real plugin, the host's
HTTP service, against tests/fakes/webhook_fake.py (Discord and Slack) on 127.0.0.1.

What was posted is read from the fake's request log, not from relhost's word. The "at most once"
cases count POSTs across runs of one release: a reply that may have been lost is never followed by
a second POST, a re-run posts only to targets the state does not record as posted, and a target
whose delivery is unknown gets nothing until resend (or delivered) says so; one of them kills
relhost while the server holds the POST. The last case runs the asana and notify gates together
with -v and searches everything relhost wrote for the Asana token and the Discord webhook URL in
every form (raw, base64, URL-encoded).

Run one case: notify.py <case>; all: notify.py; names: notify.py --list.
"""
import base64
import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "support"))
import rh  # noqa: E402

WEBHOOK_FAKE = os.path.join(HERE, "..", "fakes", "webhook_fake.py")
ASANA_FAKE = os.path.join(HERE, "..", "fakes", "asana_fake.py")
PY = os.environ.get("PYTHON3", sys.executable)
STEP = "announce"
# A Discord webhook token is 68 characters of [A-Za-z0-9_-]; the URL holding it is the secret.
DISCORD_TOKEN = "Zx81-Qp_3kLmN0vB7cD2eF5gH8iJ1kL4mN7oP0qR3sT6uV9wX2yZ5aB8cD1eF4gH7iJ0k"
SLACK_SECRET = "q7W3e9R1t5Y8u2I4o6P0a3S5"
ASANA_TOKEN = "2/1204567890123456/1209876543210987:3f1b9c8e7d6a5b4c3d2e1f0a9b8c7d6e"
# no file it does not write: the seed's "Release notes: devops/stable/release-notes/..." named one
DEFAULT_MESSAGE = "Released stable version v1.0 \U0001F389"
CLEAN_ENV = {"ASANA_TOKEN": None, "ASANA_PROJECT_ID": None, "DISCORD_WEBHOOK_URL": None,
             "SLACK_WEBHOOK_URL": None, "RELHOST_CA_BUNDLE": None}


class Fake(rh.FakeProcess):
    """A fake server script in a process of its own; stop() ends it by its pid."""

    def __init__(self, script, *args):
        self.dir = rh.scratch("fake")
        self.log = os.path.join(self.dir, "requests.jsonl")
        self.errpath = os.path.join(self.dir, "stderr")
        self.err = open(self.errpath, "w")
        self.p = subprocess.Popen([PY, script, *args, "--log", self.log],
                                  stdout=subprocess.PIPE, stderr=self.err, text=True)
        line = self.p.stdout.readline().strip()
        if not line.isdigit():
            self.stop()
            rh.fail(f"{script} did not print its port (got {line!r}); stderr:\n"
                    + rh.read(self.errpath))
        self.port = int(line)

    def requests(self, service=None):
        if not os.path.exists(self.log):
            return []
        with open(self.log, encoding="utf-8") as f:
            reqs = [json.loads(line) for line in f if line.strip()]
        return [q for q in reqs if service is None or q.get("service") == service]


class Hooks(Fake):
    def __init__(self, discord="ok", slack="ok", *extra):
        super().__init__(WEBHOOK_FAKE, "--discord", discord, "--slack", slack,
                         "--discord-token", DISCORD_TOKEN, *extra)
        self.discord_url = f"http://127.0.0.1:{self.port}/api/webhooks/123456789012345678/" \
                           f"{DISCORD_TOKEN}"
        self.slack_url = f"http://127.0.0.1:{self.port}/services/T0123ABCD/B0456EFGH/" \
                         f"{SLACK_SECRET}"

    def env(self, discord=True, slack=False):
        return {"DISCORD_WEBHOOK_URL": self.discord_url if discord else None,
                "SLACK_WEBHOOK_URL": self.slack_url if slack else None}


class Plan:
    def __init__(self, extra="", required=True, timeout="2s", budget="10s", before=""):
        self.dir = rh.scratch()
        req = "" if required else " required = false;"
        self.path = rh.write_plan(
            self.dir,
            'version = "1.0";\n'
            "steps = (\n" + before +
            f'  {{ name = "{STEP}"; plugin = "notify";{req} timeout = "{timeout}";\n'
            f'    retry_budget = "{budget}"; {extra} }}\n'
            ");\n")

    def run(self, *args, env=None):
        e = dict(CLEAN_ENV)
        e.update(env or {})
        return rh.run(["-c", self.path, "--no-color", "--no-interactive", *args], cwd=self.dir,
                      env=e)

    def files(self):
        """Every file relhost keeps for this plan: state (*.json, *.journal, *.lock), logs."""
        out = []
        for root, _, names in os.walk(os.path.join(self.dir, ".relhost")):
            out += [os.path.join(root, n) for n in names]
        return out


def step(r):
    return rh.step_of(r, STEP)


def expect_step(r, outcome, reason):
    s = step(r)
    rh.check((s["outcome"], s["reason"]) == (outcome, reason),
             f"step {STEP} is {s['outcome']} / {s['reason']}, want {outcome} / {reason}", r)
    return s


def expect_posts(r, fake, service, bodies):
    """The fake got exactly these JSON bodies for service, as application/json POSTs."""
    reqs = fake.requests(service)
    got = [q["body"] for q in reqs]
    rh.check(got == bodies, f"{service} got {got!r}, want {bodies!r}", r)
    for q in reqs:
        rh.check(q["method"] == "POST" and q["content_type"].startswith("application/json"),
                 f"{service} request is not a JSON POST: {q}", r)
    return reqs


def cfg_str(s):
    """s as a libconfig string literal (libconfig knows no \\u escapes: UTF-8 goes in raw)."""
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def utf16_units(s):
    return len(s.encode("utf-16-le")) // 2


def state(plan):
    with open(os.path.join(plan.dir, ".relhost", "state", "release_1.0.json"),
              encoding="utf-8") as f:
        return json.load(f)


# ---- posting --------------------------------------------------------------------------------

def case_discord_posts_the_default_message():
    with Hooks() as fake:
        p = Plan()
        r = rh.expect(p.run(env=fake.env()), 0, out=[r"^result: PASSED \(exit 0\)"])
        s = expect_step(r, "PASSED", None)
        expect_posts(r, fake, "discord", [{"content": DEFAULT_MESSAGE}])
        rh.check("posted to Discord (HTTP 204)" in s["lines"], "no note of the post", r)
        rh.check(fake.requests("slack") == [], "Slack was posted to without a URL", r)
        labels = state(p)["steps"][STEP]["evidence"]["labels"]
        rh.check(labels == {"discord": "posted", "slack": "not_configured"}, f"labels {labels}", r)


def case_message_template_expands():
    with Hooks() as fake:
        p = Plan('message = "Shipped {version} ({step}), {{literally}}";')
        rh.expect(p.run(env=fake.env()), 0)
        expect_posts(None, fake, "discord", [{"content": "Shipped 1.0 (announce), {literally}"}])


def case_discord_wait_true_answers_200():
    with Hooks() as fake:
        p = Plan()
        env = fake.env()
        env["DISCORD_WEBHOOK_URL"] += "?wait=true"
        r = rh.expect(p.run(env=env), 0)
        rh.check("posted to Discord (HTTP 200)" in step(r)["lines"], "no note of the post", r)
        rh.check(fake.requests("discord")[0]["query"] == {"wait": "true"}, "query lost", r)


def case_discord_long_message_is_cut():
    # 1500 two-byte characters, 600 astral ones (two UTF-16 units each): 2703 units in all.
    msg = "\u00e9" * 1500 + "\U0001F389" * 600 + "end"
    with Hooks() as fake:
        p = Plan(f"message = {cfg_str(msg)};")
        r = rh.expect(p.run(env=fake.env(slack=True)), 0)
        s = expect_step(r, "PASSED", None)
        content = fake.requests("discord")[0]["body"]["content"]
        # The longest whole-character prefix that leaves room for the ellipsis.
        keep = ""
        for ch in msg:
            if utf16_units(keep + ch) > 1999:
                break
            keep += ch
        rh.check(content == keep + "\u2026", f"Discord got {len(content)} characters ending in "
                 f"{content[-3:]!r}, want the {len(keep)}-character prefix and an ellipsis", r)
        rh.check(len(content) <= 2000 and utf16_units(content) <= 2000, "content too long", r)
        rh.check(fake.requests("slack")[0]["body"] == {"text": msg}, "Slack did not get it all",
                 r)
        rh.check(any("the message is 2703 characters long" in ln for ln in s["lines"]),
                 "the cut is not noted", r)


def case_slack_posts_text():
    with Hooks() as fake:
        p = Plan()
        r = rh.expect(p.run(env=fake.env(discord=False, slack=True)), 0)
        s = expect_step(r, "PASSED", None)
        expect_posts(r, fake, "slack", [{"text": DEFAULT_MESSAGE}])
        rh.check("posted to Slack (HTTP 200)" in s["lines"], "no note of the post", r)
        rh.check(fake.requests("discord") == [], "Discord was posted to without a URL", r)


def case_both_services_get_the_message():
    with Hooks() as fake:
        p = Plan()
        r = rh.expect(p.run(env=fake.env(discord=True, slack=True)), 0)
        s = expect_step(r, "PASSED", None)
        expect_posts(r, fake, "discord", [{"content": DEFAULT_MESSAGE}])
        expect_posts(r, fake, "slack", [{"text": DEFAULT_MESSAGE}])
        rh.check("posted to Discord (HTTP 204)" in s["lines"] and
                 "posted to Slack (HTTP 200)" in s["lines"], "posts not noted", r)


def rate_limited_case(service):
    with Hooks(**{service: "rate_limited"}) as fake:
        p = Plan()
        env = fake.env(discord=service == "discord", slack=service == "slack")
        r = rh.expect(p.run(env=env), 0)
        expect_step(r, "PASSED", None)
        reqs = fake.requests(service)
        rh.check([q["status"] for q in reqs] == [429, 204 if service == "discord" else 200],
                 f"statuses {[q['status'] for q in reqs]}", r)
        rh.check(reqs[0]["body"] == reqs[1]["body"], "the retry sent another body", r)


def case_discord_rate_limited_then_posted():
    rate_limited_case("discord")


def case_slack_rate_limited_then_posted():
    rate_limited_case("slack")


# ---- errors -----------------------------------------------------------------------------------

def error_case(discord=None, slack=None, code=3, pattern="", requests=1, reason="tool_error"):
    with Hooks(discord or "ok", slack or "ok") as fake:
        p = Plan(timeout="1s", budget="3s")
        r = rh.expect(p.run(env=fake.env(discord=discord is not None, slack=slack is not None)),
                      code)
        s = expect_step(r, "ERROR", reason)
        rh.check(re.search(pattern, s["lines"][0]), f"message does not match /{pattern}/", r)
        n = len(fake.requests())
        rh.check(n >= requests if requests > 1 else n == requests,
                 f"{n} requests, want {'at least ' if requests > 1 else ''}{requests}", r)
        return r, fake


def case_discord_refused_is_an_error():
    r, _ = error_case(discord="refused", pattern=r"^notify: the Discord webhook refused the "
                      r"announcement: HTTP 400: Invalid Form Body \(code 50035\)$")
    rh.check("Discord: not posted: HTTP 400: Invalid Form Body (code 50035)" in step(r)["lines"],
             "no note", r)


def case_discord_gone_is_an_error():
    error_case(discord="gone", pattern=r"HTTP 404: Unknown Webhook \(code 10015\); check the "
               r"webhook URL in \$DISCORD_WEBHOOK_URL$")


def case_discord_non_json_error_is_quoted():
    error_case(discord="invalid_json", pattern=r'HTTP 400: body "<html><body>Bad Gateway\? no: '
               r'bad JSON</body></html>"$')


def case_slack_refused_is_an_error():
    error_case(slack="refused", pattern=r"^notify: the Slack webhook refused the announcement: "
               r"HTTP 400: invalid_payload$")


def case_slack_gone_is_an_error():
    error_case(slack="gone", pattern=r"HTTP 404: channel_not_found; check the webhook URL in "
               r"\$SLACK_WEBHOOK_URL$")


def unknown_case(service, scenario, note):
    """One POST, then ERROR delivery_unknown (exit 3, not deferred), the record "unknown", and
    the step's message says what to check and how to resend."""
    r, fake = error_case(**{service: scenario}, code=3, reason="delivery_unknown",
                         pattern=rf"^notify: delivery to {service.capitalize()} is unknown "
                                 rf"\({service}: unknown [0-9TZ:-]+: [^)]*\): the message may or "
                                 rf"may not be in the channel")
    s = step(r)
    rh.check(any(ln.startswith(f"{service.capitalize()}: delivery unknown: {note}")
                 for ln in s["lines"]), f"no note of the unknown delivery ({note})", r)
    rh.check(f"`relhost -c PLAN --step {STEP} --set steps.{STEP}.resend={service}` to post it "
             f"again" in s["lines"][0], "no resend advice", r)
    return r, fake


def case_slack_200_without_ok_is_delivery_unknown():
    unknown_case("slack", "invalid_json", 'HTTP 200: "not ok" instead of "ok"')


def case_persistent_500_posts_once_and_fails_closed():
    unknown_case("discord", "server_error", "HTTP 500: 500: Internal Server Error (code 0)")


def case_timeout_posts_once_and_fails_closed():
    unknown_case("discord", "slow", "the request was sent")


def case_connection_reset_posts_once_and_fails_closed():
    unknown_case("slack", "reset", "the request was sent")


def case_truncated_reply_posts_once_and_fails_closed():
    unknown_case("discord", "truncated", "the request was sent")


def case_one_service_failing_still_posts_the_other():
    with Hooks("refused", "ok") as fake:
        p = Plan()
        r = rh.expect(p.run(env=fake.env(discord=True, slack=True)), 3)
        s = expect_step(r, "ERROR", "tool_error")
        expect_posts(r, fake, "slack", [{"text": DEFAULT_MESSAGE}])
        rh.check("1 of 2 webhooks have the message; a re-run posts only to the other"
                 in s["lines"], "the partial post is not explained", r)
        labels = state(p)["steps"][STEP]["evidence"]["labels"]
        rh.check(labels == {"discord": "failed", "slack": "posted"}, f"labels {labels}", r)
        recs = records(p)
        rh.check(recs["slack"].startswith("posted ") and
                 recs["discord"].startswith("not_delivered ") and
                 recs["discord"].endswith(": HTTP 400"), f"records {recs}", r)


# ---- at most once across runs -----------------------------------------------------------------

def records(plan):
    return state(plan)["steps"][STEP].get("records", {})


def closed_port():
    """A 127.0.0.1 port nothing listens on: a connection to it is refused."""
    with socket.socket() as sk:
        sk.bind(("127.0.0.1", 0))
        return sk.getsockname()[1]


def case_rerun_after_partial_failure_posts_only_to_the_rest():
    with Hooks() as fake:
        p = Plan(timeout="1s", budget="2s")
        env = fake.env(discord=True, slack=True)
        good_slack = env["SLACK_WEBHOOK_URL"]
        env["SLACK_WEBHOOK_URL"] = (f"http://127.0.0.1:{closed_port()}/services/T0123ABCD/"
                                    f"B0456EFGH/{SLACK_SECRET}")
        # Refused connections prove nothing arrived: retryable, the release is deferred.
        r = rh.expect(p.run(env=env), 75)
        s = expect_step(r, "ERROR", "tool_error")
        rh.check("Slack: not posted: the request did not reach the webhook in $SLACK_WEBHOOK_URL"
                 in s["lines"], "no note of the refused connection", r)
        expect_posts(r, fake, "discord", [{"content": DEFAULT_MESSAGE}])
        rh.check(records(p)["slack"].startswith("not_delivered "), f"records {records(p)}", r)
        env["SLACK_WEBHOOK_URL"] = good_slack
        r = rh.expect(p.run(env=env), 0)
        s = expect_step(r, "PASSED", None)
        expect_posts(r, fake, "discord", [{"content": DEFAULT_MESSAGE}])   # still one
        expect_posts(r, fake, "slack", [{"text": DEFAULT_MESSAGE}])
        rh.check(any(ln.startswith("Discord: already posted in an earlier run (posted ")
                     for ln in s["lines"]), "no note that Discord was skipped", r)
        recs = records(p)
        rh.check(recs["discord"].startswith("posted ") and recs["slack"].startswith("posted "),
                 f"records {recs}", r)
        # --rerun runs the step again; the targets it posted to are not posted again.
        r = rh.expect(p.run("--rerun", STEP, env=env), 0)
        expect_step(r, "PASSED", None)
        rh.check("every configured webhook already had the message: nothing was posted"
                 in step(r)["lines"], "no note that nothing was posted", r)
        rh.check(len(fake.requests()) == 2, f"{len(fake.requests())} requests, want 2", r)


def case_rerun_after_unknown_posts_nothing_until_resend():
    with Hooks("server_error") as broken, Hooks() as fake:
        p = Plan(timeout="1s", budget="3s")
        r = rh.expect(p.run(env=broken.env()), 3)
        expect_step(r, "ERROR", "delivery_unknown")
        rh.check(len(broken.requests()) == 1, f"{len(broken.requests())} POSTs, want 1", r)
        # The channel works again; still nothing goes out on a plain run (nor on --rerun).
        for args in ((), ("--rerun", STEP)):
            r = rh.expect(p.run(*args, env=fake.env()), 3)
            s = expect_step(r, "ERROR", "delivery_unknown")
            rh.check(any(ln.startswith("Discord: delivery unknown since an earlier run "
                                       "(unknown ") for ln in s["lines"]),
                     "no note of the earlier unknown delivery", r)
            rh.check(fake.requests() == [], f"posted without being asked: {fake.requests()}", r)
        rh.check(records(p)["discord"].startswith("unknown ") and
                 records(p)["discord"].endswith(": HTTP 500"), f"records {records(p)}", r)
        # The operator checked the channel: the documented action posts once.
        r = rh.expect(p.run("--step", STEP, "--set", f"steps.{STEP}.resend=discord",
                            env=fake.env()), 0)
        s = expect_step(r, "PASSED", None)
        rh.check(any(ln.startswith("Discord: posting again, as resend = discord asks") for ln in
                     s["lines"]), "no note of the resend", r)
        expect_posts(r, fake, "discord", [{"content": DEFAULT_MESSAGE}])
        # The resend left in place changes nothing now: the target is posted.
        r = rh.expect(p.run("--step", STEP, "--rerun", STEP, "--set",
                            f"steps.{STEP}.resend=discord", env=fake.env()), 0)
        rh.check("Discord: resend = discord ignored: it applies only to a target whose delivery "
                 "is unknown" in step(r)["lines"], "no note that resend was ignored", r)
        expect_posts(r, fake, "discord", [{"content": DEFAULT_MESSAGE}])


def case_delivered_records_the_post_without_posting():
    with Hooks("server_error") as broken, Hooks() as fake:
        p = Plan(timeout="1s", budget="3s")
        rh.expect(p.run(env=broken.env()), 3)
        r = rh.expect(p.run("--set", f"steps.{STEP}.delivered=discord", env=fake.env()), 0)
        expect_step(r, "PASSED", None)
        rh.check(fake.requests() == [], f"posted: {fake.requests()}", r)
        rh.check(records(p)["discord"].startswith("posted ") and
                 "confirmed by a person" in records(p)["discord"], f"records {records(p)}", r)


def case_resend_names_only_targets():
    p = Plan()
    rh.expect(p.run("--check", "--set", f"steps.{STEP}.resend=discord,teams"), 2,
              err=[r'resend: "teams" is not a target of this step; the targets are discord '
                   r'and slack'])


class _KillingHandler(BaseHTTPRequestHandler):
    """Takes the POST, then SIGKILLs relhost before answering."""
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        pass

    def do_POST(self):
        n = int(self.headers.get("Content-Length") or 0)
        self.rfile.read(n)
        srv = self.server
        srv.posts += 1
        if srv.victim is not None:
            os.kill(srv.victim.pid, signal.SIGKILL)
            srv.victim = None
        self.close_connection = True


def case_kill_during_post_is_unknown_on_the_next_run():
    srv = ThreadingHTTPServer(("127.0.0.1", 0), _KillingHandler)
    srv.daemon_threads = True
    srv.posts = 0
    srv.victim = None
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{srv.server_address[1]}/api/webhooks/1/{DISCORD_TOKEN}"
        p = Plan("publishes = true;", timeout="5s", budget="10s")
        e = dict(CLEAN_ENV)
        e["DISCORD_WEBHOOK_URL"] = url
        argv = [rh.relhost_bin(), "-c", p.path, "--no-color", "--no-interactive"]
        srv.victim = proc = subprocess.Popen(argv, cwd=p.dir, env=rh.base_env(e),
                                             stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        out, err = proc.communicate(timeout=rh.TIMEOUT)
        res = rh.Result(argv, p.dir, proc.returncode, rh._dec(out), rh._dec(err))
        rh.check(proc.returncode == -signal.SIGKILL and srv.posts == 1,
                 f"relhost was not killed during the POST (exit {proc.returncode}, "
                 f"{srv.posts} POSTs)", res)
        # The record made before the POST survived the kill: the next runs post nothing.
        r = rh.expect(p.run(env=e), 3)
        expect_step(r, "INCONCLUSIVE", "interrupted_publish")
        r = rh.expect(p.run("--rerun", STEP, env=e), 3)
        s = expect_step(r, "ERROR", "delivery_unknown")
        rh.check(any(ln.startswith("Discord: delivery unknown since an earlier run (sending ")
                     for ln in s["lines"]), "no note of the interrupted post", r)
        rh.check(srv.posts == 1, f"{srv.posts} POSTs, want 1", r)
    finally:
        srv.shutdown()
        srv.server_close()


def case_url_that_is_not_https_is_refused_unshown():
    url = "http://hooks.example.com/api/webhooks/1/" + DISCORD_TOKEN
    p = Plan()
    r = rh.expect(p.run(env={"DISCORD_WEBHOOK_URL": url}), 3)
    s = expect_step(r, "ERROR", "tool_error")
    rh.check("$DISCORD_WEBHOOK_URL does not hold a usable Discord webhook URL: it is not an "
             "https:// URL" in s["lines"][0], "message: " + s["lines"][0], r)
    rh.check(DISCORD_TOKEN not in r.all and "hooks.example.com" not in r.all,
             "the URL was shown", r)


# ---- not configured, --check, plan errors ---------------------------------------------------

def case_not_configured_is_skipped_or_inconclusive():
    with Hooks() as fake:
        r = rh.expect(Plan(required=False).run(), 0, out=[r"^result: PASSED \(exit 0\)"])
        s = expect_step(r, "SKIPPED", "not_configured")
        rh.check("no webhook configured: set $DISCORD_WEBHOOK_URL and/or $SLACK_WEBHOOK_URL to "
                 "announce the release" in s["lines"], "no note on what to set", r)
        r = rh.expect(Plan().run(), 3, out=[r"^result: NOT DECIDED \(exit 3\)"])
        expect_step(r, "INCONCLUSIVE", "not_configured")
        rh.check(fake.requests() == [], "something was posted", r)


def case_check_prints_the_message_and_sends_nothing():
    with Hooks() as fake:
        p = Plan('message = "Shipped {version}\nsecond line";')
        r = rh.expect(p.run("--check", env=fake.env(discord=True, slack=False)), 0, out=[
            r"^      would post to Discord \(webhook URL from \$DISCORD_WEBHOOK_URL\):\n"
            r"      Shipped 1\.0\n      second line$",
            rh.q("Slack: not configured ($SLACK_WEBHOOK_URL is not set): nothing would be "
                 "posted there"),
            r"^check: plan is valid; nothing was run$"])
        rh.check(fake.discord_url not in r.all and DISCORD_TOKEN not in r.all,
                 "--check printed the webhook URL", r)
        r = rh.expect(p.run("--check"), 0, out=[
            rh.q("neither webhook is configured: the step would be SKIPPED (not_configured); "
                 "the message would be:"), r"^      Shipped 1\.0$"])
        rh.check(fake.requests() == [], f"--check posted: {fake.requests()}", r)
        rh.check(not os.path.exists(os.path.join(p.dir, ".relhost")), "--check wrote state", r)


def case_bad_options_are_plan_errors():
    for extra, pattern in (('message = "";', r"message is empty"),
                           ('discord_url_env = "https://discord.com/api/webhooks/1/x";',
                            r"must name an environment variable"),
                           ('message = "v{nope}";', r"nope")):
        p = Plan(extra)
        r = rh.expect(p.run("--check"), 2, err=[pattern])
        rh.check(f"{p.path}:" in r.err, "no file:line in the error", r)


# ---- secrets ----------------------------------------------------------------------------------

def forms(secret):
    """The forms a secret can leak in: raw, base64 (padding dropped), URL-encoded."""
    b64 = base64.b64encode(secret.encode()).decode().rstrip("=")
    return {"raw": secret, "base64": b64, "url-encoded": urllib.parse.quote(secret, safe="")}


def expect_no_secret(r, plan, secrets):
    texts = {"stdout": r.out, "stderr": r.err}
    for path in plan.files():
        with open(path, "rb") as f:
            texts[path] = f.read().decode("utf-8", "replace")
    leaks = [f"{what} ({form}) in {where}"
             for what, secret in secrets.items() for form, s in forms(secret).items()
             for where, text in texts.items() if s in text]
    rh.check(not leaks, "secrets leaked: " + "; ".join(leaks), r)
    return texts


def case_secrets_never_leak():
    for discord_sc, asana_sc, code in (("ok", "blockers", 0), ("gone", "server_error", 3),
                                       ("server_error", "unauthorized", 3)):
        with Hooks(discord_sc, "ok") as hooks, \
                Fake(ASANA_FAKE, asana_sc, "--token", ASANA_TOKEN) as asana:
            secrets = {"ASANA_TOKEN": ASANA_TOKEN, "DISCORD_WEBHOOK_URL": hooks.discord_url,
                       "the Discord webhook token": DISCORD_TOKEN}
            base = f"http://127.0.0.1:{asana.port}/api/1.0"
            p = Plan(budget="3s", before=(
                f'  {{ name = "bug-check"; plugin = "asana"; required = false; '
                f'project = "1201"; base_url = "{base}"; retry_budget = "3s"; }},\n'))
            env = dict(hooks.env(discord=True))
            env["ASANA_TOKEN"] = ASANA_TOKEN
            r = rh.expect(p.run("-v", env=env), code)
            # The controls: both secrets were really used, and -v really printed where the
            # webhook URL would have been (masked).
            rh.check([q["auth"] for q in asana.requests()][:1] == ["ok"],
                     "Asana never got the token", r)
            rh.check(hooks.requests("discord"), "Discord was never posted to", r)
            rh.check("POST ********" in r.all, "-v did not log the (masked) webhook request", r)
            texts = expect_no_secret(r, p, secrets)
            rh.check(any(k.endswith(".json") for k in texts) and
                     any(k.endswith(".journal") for k in texts),
                     f"no state files to search: {list(texts)}", r)
            r = rh.expect(p.run("-v", "--check", env=env), 0)
            expect_no_secret(r, p, secrets)


if __name__ == "__main__":
    sys.exit(rh.main(globals()))
