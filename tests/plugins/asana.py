#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""asana.py - the asana gate end to end: the real relhost binary, the real plugin, the host's HTTP
service, against tests/fakes/asana_fake.py on 127.0.0.1.

What a case proves comes from the fake's request log (what was really asked, with which offset,
on which host), not from relhost's word. The expected blockers are read from the fake's own data
(asana_fake.build), so the list the report must show is the list the server holds.

Run one case: asana.py <case>; all: asana.py; names: asana.py --list.
"""
import json
import os
import re
import subprocess
import sys

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "support"))
sys.path.insert(0, os.path.join(HERE, "..", "fakes"))
import rh  # noqa: E402
import asana_fake  # noqa: E402
import http_tls  # noqa: E402

FAKE = os.path.join(HERE, "..", "fakes", "asana_fake.py")
PY = os.environ.get("PYTHON3", sys.executable)
# Shaped like a real personal access token: '/' and ':' make its URL-encoded form differ.
TOKEN = "2/1204567890123456/1209876543210987:3f1b9c8e7d6a5b4c3d2e1f0a9b8c7d6e"
STEP = "bug-check"
TASK_FIELDS = ("name", "completed", "permalink_url", "assignee.name", "custom_fields.name",
               "custom_fields.display_value", "memberships.section.name", "tags.name")
# Nothing from the developer's own environment may configure (or unconfigure) a case.
CLEAN_ENV = {"ASANA_TOKEN": None, "ASANA_PROJECT_ID": None, "DISCORD_WEBHOOK_URL": None,
             "SLACK_WEBHOOK_URL": None, "RELHOST_CA_BUNDLE": None}


class Fake(rh.FakeProcess):
    """asana_fake.py in a process of its own; stop() ends it by its pid."""

    def __init__(self, scenario, *extra):
        self.dir = rh.scratch("fake")
        self.log = os.path.join(self.dir, "requests.jsonl")
        self.err = open(os.path.join(self.dir, "stderr"), "w")
        self.p = subprocess.Popen([PY, FAKE, scenario, "--log", self.log, "--token", TOKEN,
                                   *extra], stdout=subprocess.PIPE, stderr=self.err, text=True)
        line = self.p.stdout.readline().strip()
        if not line.isdigit():
            self.stop()
            rh.fail(f"asana_fake.py {scenario} did not print its port (got {line!r}); stderr:\n"
                    + rh.read(os.path.join(self.dir, "stderr")))
        self.port = int(line)
        self.base = f"http://127.0.0.1:{self.port}/api/1.0"

    def requests(self):
        if not os.path.exists(self.log):
            return []
        with open(self.log, encoding="utf-8") as f:
            return [json.loads(line) for line in f if line.strip()]


class Plan:
    def __init__(self, base, extra="", required=True, project='project = "1201";',
                 timeout="2s", budget="10s"):
        self.dir = rh.scratch()
        req = "" if required else " required = false;"
        self.path = rh.write_plan(
            self.dir,
            'version = "1.0";\n'
            "steps = (\n"
            f'  {{ name = "{STEP}"; plugin = "asana";{req} {project}\n'
            f'    base_url = "{base}"; timeout = "{timeout}"; retry_budget = "{budget}";\n'
            f"    {extra} }}\n"
            ");\n")

    def run(self, *args, token=TOKEN, env=None, interactive=False):
        e = dict(CLEAN_ENV)
        e["ASANA_TOKEN"] = token
        e.update(env or {})
        flags = ["--no-color"] + ([] if interactive else ["--no-interactive"])
        return rh.run(["-c", self.path, *flags, *args], cwd=self.dir, env=e)


def step(r):
    return rh.step_of(r, STEP)


def expect_step(r, outcome, reason):
    s = step(r)
    rh.check((s["outcome"], s["reason"]) == (outcome, reason),
             f"step {STEP} is {s['outcome']} / {s['reason']}, want {outcome} / {reason}", r)
    return s


def blocker_line(t):
    who = f"assignee: {t['assignee']['name']}" if t["assignee"] else "unassigned"
    return f'blocker: "{t["name"]}" ({who}) {t["permalink_url"]}'


def expect_blockers(r, tasks):
    """The report lists exactly these tasks as blockers, each with name, assignee and link."""
    got = [ln for ln in step(r)["lines"] if ln.startswith("blocker: ")]
    want = [blocker_line(t) for t in tasks]
    missing = [w for w in want if w not in got]
    extra = [g for g in got if g not in want]
    rh.check(not missing and not extra and len(got) == len(want),
             f"blockers listed: {len(got)}, want {len(want)}; missing {missing[:5]}; "
             f"unexpected {extra[:5]}", r)


def open_tasks(scenario, section="1302", keep=lambda t: True):
    _, tasks = asana_fake.build(scenario)
    return [t for t in tasks[section] if not t["completed"] and keep(t)]


def expect_task_query(r, req):
    q = req["query"]
    rh.check(q.get("completed_since") == "now" and q.get("limit") == "100",
             f"tasks request without completed_since=now&limit=100: {req}", r)
    fields = q.get("opt_fields", "").split(",")
    missing = [f for f in TASK_FIELDS if f not in fields]
    rh.check(not missing, f"tasks request does not ask for {missing}: {req}", r)


def expect_requests_sane(r, fake):
    """Every request reached this server (the configured base), carried the bearer token, and
    sent only offsets the server had issued, each exactly once."""
    reqs = fake.requests()
    issued = [q["issued"] for q in reqs if "issued" in q]
    used = [q["query"]["offset"] for q in reqs if "offset" in q["query"]]
    for q in reqs:
        rh.check(q["host"] == f"127.0.0.1:{fake.port}", f"request to another host: {q}", r)
        rh.check(q["path"].startswith("/api/1.0/"), f"request outside the base path: {q}", r)
        rh.check(q["auth"] == "ok", f"request without the right bearer token: {q}", r)
        rh.check(q["offset"] in (None, "issued"), f"an offset the server never issued: {q}", r)
    rh.check(sorted(used) == sorted(issued),
             f"offsets used {used} are not exactly the offsets issued {issued}", r)
    return reqs


# ---- verdicts ---------------------------------------------------------------------------------

def case_no_blockers_passes():
    with Fake("empty") as fake:
        p = Plan(fake.base)
        r = rh.expect(p.run(), 0, out=[r"^result: PASSED \(exit 0\)"])
        s = expect_step(r, "PASSED", None)
        rh.check(any(re.match(r'no open blockers in section "Active" of project 1201 '
                              r'\(0 open tasks, 2 requests\)', ln) for ln in s["lines"]),
                 "no note saying the section is clear", r)
        reqs = expect_requests_sane(r, fake)
        rh.check([q["path"] for q in reqs] == ["/api/1.0/projects/1201/sections",
                                               "/api/1.0/sections/1302/tasks"],
                 f"requests: {[q['path'] for q in reqs]}", r)
        rh.check(reqs[0]["query"] == {"limit": "100"}, f"sections query {reqs[0]['query']}", r)
        expect_task_query(r, reqs[1])


def case_blockers_over_three_pages_fail():
    with Fake("blockers_pages") as fake:
        p = Plan(fake.base)
        r = rh.expect(p.run(), 1, out=[r"^result: FAILED \(exit 1\)"])
        s = expect_step(r, "FAILED", "blockers")
        want = open_tasks("blockers_pages")
        rh.check(len(want) == 250, f"test bug: the fake holds {len(want)} open tasks", r)
        rh.check(f'250 open blockers in section "Active" of project 1201:' in s["lines"],
                 "no count of the blockers", r)
        expect_blockers(r, want)
        rh.check("Done item" not in r.out, "a completed task was listed as a blocker", r)
        reqs = expect_requests_sane(r, fake)
        tasks = [q for q in reqs if q["path"].endswith("/tasks")]
        rh.check(len(tasks) == 3, f"{len(tasks)} task requests, want 3 pages", r)
        rh.check([q["offset"] for q in tasks] == [None, "issued", "issued"],
                 f"task pages' offsets: {[q['offset'] for q in tasks]}", r)
        # Each page asks again with the same filters, not the next_page.path's subset.
        for q in tasks:
            expect_task_query(r, q)
        # The offset sent is the one the previous page returned, byte for byte.
        for prev, q in zip(tasks, tasks[1:]):
            rh.check(q["query"]["offset"] == prev["issued"],
                     f"sent offset {q['query']['offset']!r} after {prev['issued']!r}", r)


def case_sections_over_two_pages():
    with Fake("many_sections") as fake:
        p = Plan(fake.base)
        r = rh.expect(p.run(), 1)
        expect_step(r, "FAILED", "blockers")
        expect_blockers(r, open_tasks("many_sections", "9999"))
        reqs = expect_requests_sane(r, fake)
        secs = [q for q in reqs if q["path"].endswith("/sections")]
        rh.check([q["offset"] for q in secs] == [None, "issued"],
                 f"sections pages' offsets: {[q['offset'] for q in secs]}", r)
        rh.check([q["path"] for q in reqs if q["path"].endswith("/tasks")] ==
                 ["/api/1.0/sections/9999/tasks"], "the tasks of the wrong section were read", r)


def case_duplicate_section_names_all_count():
    with Fake("duplicate") as fake:
        p = Plan(fake.base)
        r = rh.expect(p.run(), 1)
        s = expect_step(r, "FAILED", "blockers")
        expect_blockers(r, open_tasks("duplicate", "1304"))
        rh.check('project 1201 has 2 sections named "Active": all of them are checked'
                 in s["lines"], "the duplicate section is not pointed out", r)


# ---- narrowing --------------------------------------------------------------------------------

def tagged(name):
    return lambda t: any(g["name"] == name for g in t["tags"])


def priority(value=None):
    def keep(t):
        v = [f["display_value"] for f in t["custom_fields"] if f["name"] == "Priority"][0]
        return v == value if value is not None else bool(v)
    return keep


def narrowing_case(extra, keep, note):
    with Fake("narrowing") as fake:
        p = Plan(fake.base, extra)
        want = open_tasks("narrowing", keep=keep)
        rh.check(0 < len(want) < len(open_tasks("narrowing")), "test bug: narrowing nothing")
        r = rh.expect(p.run(), 1)
        s = expect_step(r, "FAILED", "blockers")
        expect_blockers(r, want)
        head = f'{len(want)} open blocker{"s" if len(want) > 1 else ""}{note} in section ' \
               f'"Active" of project 1201:'
        rh.check(head in s["lines"], f"no line {head!r}", r)
        expect_requests_sane(r, fake)


def case_narrow_by_tag():
    # Exact names: "Release-Blocker" is another tag, and a completed tagged task is no blocker.
    narrowing_case('tag = "release-blocker";', tagged("release-blocker"),
                   ' tagged "release-blocker"')


def case_narrow_by_custom_field_value():
    # "High " (trailing blank) is not "High".
    narrowing_case('custom_field = "Priority"; custom_value = "High";', priority("High"),
                   ' with Priority = "High"')


def case_narrow_by_custom_field_set():
    narrowing_case('custom_field = "Priority";', priority(), ' with custom field "Priority" set')


def case_narrow_by_tag_and_custom_field():
    narrowing_case('tag = "release-blocker"; custom_field = "Priority"; custom_value = "High";',
                   lambda t: tagged("release-blocker")(t) and priority("High")(t),
                   ' tagged "release-blocker" and with Priority = "High"')


def case_narrowing_that_matches_nothing_passes():
    with Fake("narrowing") as fake:
        p = Plan(fake.base, 'tag = "no-such-tag";')
        r = rh.expect(p.run(), 0)
        s = expect_step(r, "PASSED", None)
        n = len(open_tasks("narrowing"))
        rh.check(f'no open blockers tagged "no-such-tag" in section "Active" of project 1201 '
                 f'({n} open tasks, 2 requests)' in s["lines"], "no note on the narrowing", r)


# ---- errors -----------------------------------------------------------------------------------

def case_section_missing_is_an_error():
    with Fake("empty") as fake:
        p = Plan(fake.base, 'section = "Release Blockers";')
        r = rh.expect(p.run(), 3, out=[r"^result: NOT DECIDED \(exit 3\)"])
        s = expect_step(r, "ERROR", "tool_error")
        msg = s["lines"][0]
        rh.check('project 1201 has no section "Release Blockers"' in msg, "message: " + msg, r)
        rh.check(f"{p.path}:" in msg, "the message does not name file:line", r)
        rh.check('its sections are: "Backlog", "Active", "Done"' in msg,
                 "the message does not name the sections that exist: " + msg, r)
        rh.check(len(fake.requests()) == 1, "tasks were read without a section", r)
    with Fake("empty") as fake:
        p = Plan(fake.base, 'section = "active";')
        r = rh.expect(p.run(), 3)
        rh.check('did you mean "Active"?' in step(r)["lines"][0], "no hint at the right case", r)


def case_unauthorized_is_an_error():
    with Fake("unauthorized") as fake:
        p = Plan(fake.base)
        r = rh.expect(p.run(), 3)
        s = expect_step(r, "ERROR", "tool_error")
        rh.check(re.search(r"HTTP 401: Not Authorized: check that \$ASANA_TOKEN holds a valid",
                           s["lines"][0]), "message: " + s["lines"][0], r)
        rh.check(len(fake.requests()) == 1, "a 401 was retried", r)
    # A wrong token is the server's call, not relhost's: the same error.
    with Fake("empty") as fake:
        p = Plan(fake.base)
        r = rh.expect(p.run(token="not-the-right-token-at-all"), 3)
        rh.check("Not Authorized" in step(r)["lines"][0], "wrong token not reported", r)
        rh.check([q["auth"] for q in fake.requests()] == ["wrong"],
                 f"requests: {fake.requests()}", r)


def case_project_not_found_is_an_error():
    with Fake("not_found") as fake:
        p = Plan(fake.base)
        r = rh.expect(p.run(), 3)
        msg = expect_step(r, "ERROR", "tool_error")["lines"][0]
        rh.check("HTTP 404: project: Not a recognized ID: 1201" in msg, "message: " + msg, r)
        rh.check(f"check the project gid ({p.path}:" in msg, "no hint at the plan line", r)


def case_rate_limited_then_passes():
    with Fake("rate_limited") as fake:
        p = Plan(fake.base)
        r = rh.expect(p.run(), 0)
        expect_step(r, "PASSED", None)
        reqs = fake.requests()
        rh.check([q["status"] for q in reqs] == [429, 200, 200],
                 f"statuses {[q['status'] for q in reqs]}, want 429 then two 200", r)
        rh.check(reqs[0]["path"] == reqs[1]["path"] and reqs[0]["query"] == reqs[1]["query"],
                 "the rate-limited request was not asked again", r)


def case_server_error_is_retryable():
    with Fake("server_error") as fake:
        p = Plan(fake.base, budget="4s")
        r = rh.expect(p.run(), 75, out=[r"^result: NOT DECIDED \(exit 75\)"])
        msg = expect_step(r, "ERROR", "tool_error")["lines"][0]
        n = len(fake.requests())
        rh.check(n >= 2, f"the 500 was not retried ({n} request)", r)
        rh.check(f"answered HTTP 500 after {n} attempts: Server Error (phrase: "
                 f"{asana_fake.PHRASE})" in msg, "message: " + msg, r)
        st = json.load(open(os.path.join(p.dir, ".relhost", "state", "release_1.0.json")))
        rh.check(st["steps"][STEP].get("retryable") is True, f"state: {st['steps'][STEP]}", r)


def transport_case(scenario, pattern, extra=()):
    with Fake(scenario, *extra) as fake:
        p = Plan(fake.base, timeout="1s", budget="3s")
        r = rh.expect(p.run(), 75)
        s = expect_step(r, "ERROR", "tool_error")
        rh.check(re.search(pattern, s["lines"][0]), f"message does not match /{pattern}/", r)
        rh.check(re.match(r"listing the sections of project 1201: no usable reply \(.+\); the "
                          r"next run tries again$", s["lines"][1]), "no note naming the request", r)
        rh.check(len(fake.requests()) >= 2, "a transport failure was not retried", r)


def case_slow_reply_is_retryable():
    transport_case("slow", r"GET http://127\.0\.0\.1:\d+/api/1\.0/projects/1201/sections\?limit="
                   r"100 failed after \d attempts .*[Tt]imed? ?out", ("--delay", "5"))


def case_connection_reset_is_retryable():
    transport_case("reset", r"failed after \d attempts .*(reset|Recv failure|closed)")


def case_truncated_body_is_retryable():
    transport_case("truncated", r"failed after \d attempts .*(transfer closed|partial|"
                   r"remaining|Partial)")


def case_invalid_json_is_an_error():
    with Fake("invalid_json") as fake:
        p = Plan(fake.base)
        r = rh.expect(p.run(), 3)
        msg = expect_step(r, "ERROR", "tool_error")["lines"][0]
        rh.check(f"the reply to GET {fake.base}/projects/1201/sections?limit=100 (HTTP 200, "
                 in msg and "is not valid JSON" in msg and 'it begins "{"data": [' in msg,
                 "message: " + msg, r)
        # The rule of every HTTP plugin: an unreadable reply is not retried, and says why.
        rh.check("not retried (the same reply would come again)" in msg and
                 f"(base_url, {p.path}:" in msg, "message: " + msg, r)
        rh.check(state_of(p)["steps"][STEP].get("retryable") is not True,
                 "an unreadable reply was marked retryable", r)


def state_of(p):
    with open(os.path.join(p.dir, ".relhost", "state", "release_1.0.json")) as f:
        return json.load(f)


# ---- TLS and plain http: the host's retry table ---------------------------------------------

def tls_case(cn, env_of, pattern):
    """A TLS failure is an ERROR retrying won't fix: exit 3, not a deferral (75), one attempt."""
    d = rh.scratch("tls")
    try:
        t = http_tls.TlsFake(d, cn=cn)
    except http_tls.NoOpenssl as e:
        raise rh.Skip(str(e))
    with t:
        p = Plan(t.base + "/api/1.0", budget="30s")
        r = rh.expect(p.run(env=env_of(t)), 3, out=[r"^result: NOT DECIDED \(exit 3\)"])
        s = expect_step(r, "ERROR", "tool_error")
        rh.check(re.search(pattern, s["lines"][0]), f"message does not match /{pattern}/", r)
        rh.check("failed after 1 attempt " in s["lines"][0], "a TLS failure was retried", r)
        rh.check(state_of(p)["steps"][STEP].get("retryable") is not True,
                 "a TLS failure was marked retryable", r)
        rh.check(t.requests() == [], "a request got through an untrusted TLS connection", r)


def case_self_signed_certificate_is_not_retryable():
    tls_case("127.0.0.1", lambda t: {},
             r"GET https://127\.0\.0\.1:\d+/api/1\.0/projects/1201/sections\?limit=100 failed .*"
             r"certificate.*RELHOST_CA_BUNDLE.*not retried")


def case_certificate_for_another_host_name_is_not_retryable():
    # Trusted (RELHOST_CA_BUNDLE), but made for "localhost" and asked as 127.0.0.1.
    tls_case("localhost", lambda t: {"RELHOST_CA_BUNDLE": t.cert},
             r"failed .*(certificate|subject|name).*not retried")


def case_token_over_plain_http_to_another_host_is_refused():
    # 2130706433 is 127.0.0.1 as one number: it reaches the fake, yet is not a loopback spelling
    # relhost accepts, so it stands for a remote host without traffic leaving this machine.
    with Fake("empty") as fake:
        p = Plan(f"http://2130706433:{fake.port}/api/1.0")
        r = rh.expect(p.run(), 3, out=[r"^result: NOT DECIDED \(exit 3\)"])
        s = expect_step(r, "ERROR", "tool_error")
        rh.check(re.search(r"GET http://2130706433:\d+/api/1\.0/projects/1201/sections\?limit=100"
                           r": refusing to send the token in \$ASANA_TOKEN \(bearer_env\) over "
                           r"plain http .*use https://", s["lines"][0]),
                 "message: " + s["lines"][0], r)
        rh.check(any(f"check base_url ({p.path}:" in ln for ln in s["lines"]),
                 "no note pointing at base_url", r)
        rh.check(fake.requests() == [], f"the token was sent: {fake.requests()}", r)
        rh.check(state_of(p)["steps"][STEP].get("retryable") is not True, "retryable", r)


def case_unexpected_shape_is_an_error():
    with Fake("bad_shape") as fake:
        p = Plan(fake.base)
        r = rh.expect(p.run(), 3)
        msg = expect_step(r, "ERROR", "tool_error")["lines"][0]
        rh.check(f'unexpected reply to GET {fake.base}/projects/1201/sections?limit=100: '
                 f'"data" is not a list' in msg, "message: " + msg, r)


# ---- not configured ---------------------------------------------------------------------------

def case_not_configured_required_is_inconclusive():
    with Fake("empty") as fake:
        p = Plan(fake.base)
        r = rh.expect(p.run(token=None), 3, out=[r"^result: NOT DECIDED \(exit 3\)"])
        s = expect_step(r, "INCONCLUSIVE", "not_configured")
        rh.check(any("Asana is not configured: $ASANA_TOKEN is not set" in ln
                     for ln in s["lines"]), "the note does not say what is missing", r)
        # A token but no project (neither `project` nor $ASANA_PROJECT_ID) is not configured
        # either.
        p = Plan(fake.base, project="")
        r = rh.expect(p.run(), 3)
        s = expect_step(r, "INCONCLUSIVE", "not_configured")
        rh.check(any("Asana is not configured: no project (set `project` or $ASANA_PROJECT_ID)"
                     in ln for ln in s["lines"]), "missing project not reported", r)
        rh.check(fake.requests() == [], "Asana was contacted without configuration", r)


def case_not_configured_optional_is_skipped():
    with Fake("empty") as fake:
        p = Plan(fake.base, required=False)
        r = rh.expect(p.run(token=None), 0, out=[r"^result: PASSED \(exit 0\)"])
        expect_step(r, "SKIPPED", "not_configured")
        rh.check(fake.requests() == [], "Asana was contacted without configuration", r)


def case_project_from_environment():
    with Fake("blockers") as fake:
        p = Plan(fake.base, project="")
        r = rh.expect(p.run(env={"ASANA_PROJECT_ID": "1201"}), 1)
        expect_blockers(r, open_tasks("blockers"))
        # The plan's project wins over the environment's.
        p = Plan(fake.base)
        r = rh.expect(p.run(env={"ASANA_PROJECT_ID": "999"}), 1)
        expect_blockers(r, open_tasks("blockers"))
        r = rh.expect(Plan(fake.base, project="").run(env={"ASANA_PROJECT_ID": "12/../34"}), 2,
                      err=[r'\$ASANA_PROJECT_ID "12/\.\./34" is not an Asana project gid'])


QUESTION = r"Asana is not configured: confirm there are no open release blockers\? \[y/n\] "


def pty_env():
    e = dict(CLEAN_ENV)
    return e


def case_not_configured_on_a_terminal_yes_passes():
    with Fake("empty") as fake:
        p = Plan(fake.base)
        r = rh.run_pty(["-c", p.path, "--no-color"], cwd=p.dir, env=pty_env(),
                       script=[(QUESTION, b"y\n")])
        rh.expect(r, 0, out=[r"answered yes"])
        expect_step(r, "PASSED", None)
        rh.check(fake.requests() == [], "Asana was contacted without configuration", r)


def case_not_configured_on_a_terminal_no_fails():
    with Fake("empty") as fake:
        p = Plan(fake.base)
        r = rh.run_pty(["-c", p.path, "--no-color"], cwd=p.dir, env=pty_env(),
                       script=[(QUESTION, b"n\n")])
        rh.expect(r, 1, out=[r"answered no"])
        expect_step(r, "FAILED", "declined")
        # manual_fallback = false: nobody is asked, even on a terminal.
        p = Plan(fake.base, "manual_fallback = false;")
        r = rh.run_pty(["-c", p.path, "--no-color"], cwd=p.dir, env=pty_env())
        rh.expect(r, 3, not_out=[r"\[y/n\]"])
        expect_step(r, "INCONCLUSIVE", "not_configured")


# ---- --check and configuration errors -----------------------------------------------------------

def case_check_mode_contacts_nothing():
    with Fake("blockers") as fake:
        p = Plan(fake.base, 'tag = "release-blocker";')
        r = rh.expect(p.run("--check"), 0, out=[
            rh.q(f"would list the sections of project 1201 (GET {fake.base}/projects/1201/"
                 f"sections?limit=100) and find section \"Active\""),
            rh.q("authenticated with $ASANA_TOKEN"),
            rh.q('blockers: incomplete tasks in the section tagged "release-blocker"'),
            r"^check: plan is valid; nothing was run$"])
        rh.check(TOKEN not in r.all, "the token was printed", r)
        r = rh.expect(p.run("--check", token=None), 0, out=[
            rh.q("Asana is not configured: $ASANA_TOKEN is not set: the step would be SKIPPED")])
        rh.check(fake.requests() == [], f"--check contacted Asana: {fake.requests()}", r)


def case_bad_options_are_plan_errors():
    cases = [
        ('base_url = "https://me:hunter2hunter2@app.asana.com/api/1.0";',
         r"the token comes from token_env, never from the URL"),
        ('base_url = "ftp://app.asana.com";', r"it must start with https://"),
        ('section = "";', r"section is empty"),
        ('custom_value = "High";', r"custom_value is set without custom_field"),
        ('token_env = "my token";', r"must name an environment variable"),
    ]
    for extra, pattern in cases:
        p = Plan("https://app.asana.com/api/1.0", extra)
        base = 'base_url = "https://app.asana.com/api/1.0";'
        if extra.startswith("base_url"):
            text = rh.read(p.path).replace(base, "")
            rh.write(p.path, text)
        r = rh.expect(p.run("--check"), 2, err=[pattern])
        rh.check(f"{p.path}:" in r.err, "no file:line in the error", r)
        rh.check("hunter2hunter2" not in r.all, "a password from base_url was printed", r)


if __name__ == "__main__":
    sys.exit(rh.main(globals()))
