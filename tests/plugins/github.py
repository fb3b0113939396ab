#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""github.py - the github gate end to end: the real relhost binary, the real plugin, the host's
HTTP service, against tests/fakes/github_fake.py on 127.0.0.1.

What a case proves comes from the fake's request log (what was really asked, with which headers)
and from the fake's repository state (how many pull requests, releases, issues and comments
exist), not from relhost's word.

Run one case: github.py <case>; all: github.py; names: github.py --list.
"""
import base64
import json
import os
import re
import subprocess
import sys
import time
import urllib.parse

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "support"))
import rh  # noqa: E402
import http_tls  # noqa: E402

FAKE = os.path.join(HERE, "..", "fakes", "github_fake.py")
PY = os.environ.get("PYTHON3", sys.executable)
# Shaped like a fine-grained personal access token.
TOKEN = "github_pat_11ABCDEFG0zYxWvUtSrQpO_9a8B7c6D5e4F3g2H1i0JkLmNoPqRsTuVwXyZ0123456789abcdEFGH"
REPO = "octo-org/octo-repo"
WEB = "https://github.com/" + REPO
STEP = "github"
ALARM = "Release 1.0 did not qualify"
# Nothing from the developer's own environment may configure (or unconfigure) a case.
CLEAN_ENV = {"GITHUB_TOKEN": None, "GH_TOKEN": None, "RELHOST_CA_BUNDLE": None}


class Fake(rh.FakeProcess):
    """github_fake.py in a process of its own; stop() ends it by its pid."""

    def __init__(self, scenario="ok", prefix=""):
        self.dir = rh.scratch("fake")
        self.log = os.path.join(self.dir, "requests.jsonl")
        self.dump = os.path.join(self.dir, "state.json")
        self.errpath = os.path.join(self.dir, "stderr")
        self.err = open(self.errpath, "w")
        self.p = subprocess.Popen([PY, FAKE, scenario, "--log", self.log, "--dump", self.dump,
                                   "--token", TOKEN], stdout=subprocess.PIPE, stderr=self.err,
                                  text=True)
        line = self.p.stdout.readline().strip()
        if not line.isdigit():
            self.stop()
            rh.fail(f"github_fake.py {scenario} did not print its port (got {line!r}); stderr:\n"
                    + rh.read(self.errpath))
        self.port = int(line)
        self.prefix = prefix
        self.base = f"http://127.0.0.1:{self.port}{prefix}"

    def requests(self):
        if not os.path.exists(self.log):
            return []
        with open(self.log, encoding="utf-8") as f:
            return [json.loads(line) for line in f if line.strip()]

    def state(self):
        with open(self.dump, encoding="utf-8") as f:
            return json.load(f)


class Plan:
    def __init__(self, base, action, extra="", required=True, timeout="2s", budget="10s",
                 version="1.0", top=""):
        self.dir = rh.scratch()
        self.version = version
        req = "" if required else " required = false;"
        self.path = rh.write_plan(
            self.dir,
            f'version = "{version}";\n{top}'
            "steps = (\n"
            f'  {{ name = "{STEP}"; plugin = "github";{req} action = "{action}";\n'
            f'    repository = "{REPO}"; base_url = "{base}";\n'
            f'    timeout = "{timeout}"; retry_budget = "{budget}";\n'
            f"    {extra} }}\n"
            ");\n")

    def run(self, *args, token=TOKEN, env=None):
        e = dict(CLEAN_ENV)
        e["GITHUB_TOKEN"] = token
        e.update(env or {})
        # every run acts again (--rerun '*'): what is tested is the gate's own idempotence
        return rh.run(["-c", self.path, "--no-color", "--no-interactive", "--rerun", "*", *args],
                      cwd=self.dir, env=e)

    def notes(self, text):
        """Write the release notes file the gate posts: <state_dir>/release_<version>.md."""
        return rh.write(os.path.join(self.dir, ".relhost", "state",
                                     f"release_{self.version}.md"), text)

    def files(self):
        out = []
        for root, _, names in os.walk(os.path.join(self.dir, ".relhost")):
            out += [os.path.join(root, n) for n in names]
        return out

    def state(self):
        with open(os.path.join(self.dir, ".relhost", "state", f"release_{self.version}.json"),
                  encoding="utf-8") as f:
            return json.load(f)


def step(r):
    return rh.step_of(r, STEP)


def expect_step(r, outcome, reason):
    s = step(r)
    rh.check((s["outcome"], s["reason"]) == (outcome, reason),
             f"step {STEP} is {s['outcome']} / {s['reason']}, want {outcome} / {reason}", r)
    return s


def has_line(s, pattern):
    return any(re.search(pattern, ln) for ln in s["lines"])


def expect_line(r, s, pattern):
    rh.check(has_line(s, pattern), f"no line of step {STEP} matches /{pattern}/", r)


def expect_requests_sane(r, fake):
    """Every request reached this server, under its prefix, with the token and the headers
    GitHub documents; every body was JSON."""
    reqs = fake.requests()
    for q in reqs:
        rh.check(q["host"] == f"127.0.0.1:{fake.port}", f"request to another host: {q}", r)
        rh.check(q["path"].startswith(fake.prefix + "/"), f"request outside the base: {q}", r)
        rh.check(q["auth"] == "ok", f"request without the right bearer token: {q}", r)
        rh.check(q["accept"] == "application/vnd.github+json" and
                 q["api_version"] == "2022-11-28", f"request without GitHub's headers: {q}", r)
        if q["method"] != "GET":
            rh.check((q["content_type"] or "").startswith("application/json") and
                     isinstance(q["body"], dict), f"a body that is not a JSON object: {q}", r)
    return reqs


def calls(fake):
    return [(q["method"], q["path"], q["status"]) for q in fake.requests()]


R = "/repos/" + REPO


def git_repo():
    """A git repository with one commit: a plan naming it gets that commit as {commit}."""
    d = rh.scratch("repo")
    env = dict(os.environ, GIT_AUTHOR_NAME="t", GIT_AUTHOR_EMAIL="t@example.com",
               GIT_COMMITTER_NAME="t", GIT_COMMITTER_EMAIL="t@example.com")
    for argv in (["git", "init", "-q", "-b", "main", d],
                 ["git", "-C", d, "commit", "-q", "--allow-empty", "-m", "candidate"]):
        subprocess.run(argv, check=True, env=env, capture_output=True)
    sha = subprocess.run(["git", "-C", d, "rev-parse", "HEAD"], check=True, capture_output=True,
                         text=True).stdout.strip()
    return d, sha


# ---- pull request -------------------------------------------------------------------------------

def case_pull_request_created_then_reused():
    with Fake() as fake:
        p = Plan(fake.base, "pull_request", 'base = "stable"; draft = true;')
        p.notes("## Release 1.0\n\n- faster \u00e9val\n")
        r = rh.expect(p.run(), 0, out=[r"^result: PASSED \(exit 0\)"])
        s = expect_step(r, "PASSED", None)
        expect_line(r, s, rf'^opened pull request #4 "Release 1\.0" \(release/1\.0 into stable, '
                          rf'draft\): {re.escape(WEB)}/pull/4$')
        expect_line(r, s, r"^body: the release notes file .*/release_1\.0\.md \(30 characters\)$")
        reqs = expect_requests_sane(r, fake)
        rh.check(calls(fake) == [("POST", R + "/pulls", 201)], f"requests {calls(fake)}", r)
        rh.check(reqs[0]["body"] == {"title": "Release 1.0", "head": "release/1.0",
                                     "base": "stable", "body": "## Release 1.0\n\n- faster "
                                     "\u00e9val\n", "draft": True},
                 f"POST body {reqs[0]['body']}", r)
        st = p.state()["steps"][STEP]
        rh.check(st["evidence"]["labels"].get("pull_request") == WEB + "/pull/4",
                 f"label pull_request: {st['evidence']}", r)

        r = rh.expect(p.run(), 0)
        s = expect_step(r, "PASSED", None)
        expect_line(r, s, rf"^pull request #4 from release/1\.0 into stable is already open: "
                          rf"reused, not modified: {re.escape(WEB)}/pull/4$")
        rh.check(calls(fake)[1:] == [("POST", R + "/pulls", 422), ("GET", R + "/pulls", 200)],
                 f"second run's requests {calls(fake)[1:]}", r)
        q = fake.requests()[2]["query"]
        rh.check(q == {"head": "octo-org:release/1.0", "base": "stable", "state": "open",
                       "per_page": "100"}, f"lookup query {q}", r)
        mine = [x for x in fake.state()["pulls"] if x["head"]["ref"] == "release/1.0"]
        rh.check(len(mine) == 1, f"{len(mine)} pull requests from release/1.0 in the fake", r)


def case_pull_request_with_no_commits_passes_with_a_note():
    with Fake("no_commits") as fake:
        p = Plan(fake.base, "pull_request")
        r = rh.expect(p.run(), 0)
        s = expect_step(r, "PASSED", None)
        expect_line(r, s, r"^no pull request needed: GitHub says there are no commits between "
                          r"main and release/1\.0, so main already holds everything on "
                          r"release/1\.0$")
        rh.check(p.state()["steps"][STEP]["evidence"]["labels"].get("pull_request") == "none",
                 "label pull_request is not \"none\"", r)
        rh.check(len(fake.requests()) == 1, f"requests {calls(fake)}", r)


def case_pull_request_refused_by_validation_is_an_error():
    # A head branch that does not exist: GitHub's 422 with errors[] (not the handled cases).
    with Fake() as fake:
        p = Plan(fake.base, "pull_request", 'head = "no-such-branch";')
        r = rh.expect(p.run(), 3, out=[r"^result: NOT DECIDED \(exit 3\)"])
        msg = expect_step(r, "ERROR", "tool_error")["lines"][0]
        rh.check(re.search(r"POST http://127\.0\.0\.1:\d+/repos/octo-org/octo-repo/pulls "
                           r"answered HTTP 422: Validation Failed: PullRequest\.head invalid "
                           r"\(https://docs\.github\.com/rest/pulls/pulls#create-a-pull-request\):"
                           r" GitHub refused the request relhost built from the step's options "
                           + re.escape(f"({p.path}:"), msg), "message: " + msg, r)
        rh.check(len(fake.requests()) == 1, f"a 422 was retried: {calls(fake)}", r)
        rh.check(p.state()["steps"][STEP].get("retryable") is not True, "422 marked retryable", r)


# ---- release -------------------------------------------------------------------------------

def case_release_created_then_updated():
    repo, sha = git_repo()
    with Fake() as fake:
        p = Plan(fake.base, "release", 'release_name = "Stable {version}"; publishes = true;',
                 top=f'repo = "{repo}";\n')
        p.notes("first notes\n")
        r = rh.expect(p.run(), 0)
        s = expect_step(r, "PASSED", None)
        expect_line(r, s, rf'^created release "Stable 1\.0" \(tag v1\.0 at {sha}, id 100\): '
                          rf'{re.escape(WEB)}/releases/tag/v1\.0$')
        reqs = expect_requests_sane(r, fake)
        rh.check(calls(fake) == [("GET", R + "/releases/tags/v1.0", 404),
                                 ("GET", R + "/releases", 200), ("POST", R + "/releases", 201)],
                 f"requests {calls(fake)}", r)
        rh.check(reqs[2]["body"] == {"tag_name": "v1.0", "name": "Stable 1.0",
                                     "body": "first notes\n", "draft": False,
                                     "prerelease": False, "target_commitish": sha},
                 f"POST body {reqs[2]['body']}", r)

        p.notes("second notes\n")
        r = rh.expect(p.run(), 0)
        s = expect_step(r, "PASSED", None)
        expect_line(r, s, rf'^updated release "Stable 1\.0" \(tag v1\.0, id 100\): '
                          rf'{re.escape(WEB)}/releases/tag/v1\.0$')
        rh.check(calls(fake)[3:] == [("GET", R + "/releases/tags/v1.0", 200),
                                     ("PATCH", R + "/releases/100", 200)],
                 f"second run's requests {calls(fake)[3:]}", r)
        rh.check(fake.requests()[4]["body"] == {"name": "Stable 1.0", "body": "second notes\n",
                                                "prerelease": False},
                 f"PATCH body {fake.requests()[4]['body']}", r)
        rels = [x for x in fake.state()["releases"] if x["tag_name"] == "v1.0"]
        rh.check(len(rels) == 1 and rels[0]["body"] == "second notes\n",
                 f"releases of v1.0 in the fake: {rels}", r)
        rh.check(fake.state()["tags"].get("v1.0") == sha, "the tag is not at the candidate", r)

        # Nothing changed: nothing is written. (The host rewrites the notes at every step's end,
        # so the test puts its own back, as an unchanged release would have them.)
        p.notes("second notes\n")
        r = rh.expect(p.run(), 0)
        expect_line(r, expect_step(r, "PASSED", None),
                    r'^release "Stable 1\.0" \(tag v1\.0, id 100\) is up to date: nothing sent')
        rh.check([m for m, _, _ in calls(fake)[5:]] == ["GET"], f"requests {calls(fake)[5:]}", r)


def case_draft_release_is_found_and_published():
    # GitHub finds only PUBLISHED releases by tag: a draft must be found in the list, or a
    # re-run would create a second draft.
    with Fake() as fake:
        p = Plan(fake.base, "release", 'draft = true; target_commitish = "main";')
        p.notes("draft notes\n")
        r = rh.expect(p.run(), 0)
        expect_line(r, expect_step(r, "PASSED", None),
                    r'^created release "v1\.0" \(tag v1\.0 at main, draft, id 100\)')
        p.notes("draft notes\n")  # the host rewrote them at the end of the run
        r = rh.expect(p.run(), 0)
        expect_line(r, expect_step(r, "PASSED", None),
                    r'^release "v1\.0" \(tag v1\.0, id 100, draft\) is up to date: nothing sent')
        p2 = Plan(fake.base, "release", 'draft = false; target_commitish = "main";')
        r = rh.expect(p2.run(), 0)
        expect_line(r, expect_step(r, "PASSED", None),
                    r'^updated release "v1\.0" \(tag v1\.0, id 100, published the draft\)')
        rh.check(fake.requests()[-1]["body"].get("draft") is False, "the draft was not "
                 f"published: {fake.requests()[-1]}", r)
        rels = [x for x in fake.state()["releases"] if x["tag_name"] == "v1.0"]
        rh.check(len(rels) == 1 and rels[0]["draft"] is False, f"releases of v1.0: {rels}", r)
        rh.check([m for m, _, _ in calls(fake)].count("POST") == 1, f"{calls(fake)}", r)


def case_release_race_already_exists_is_updated():
    with Fake("release_race") as fake:
        p = Plan(fake.base, "release", 'target_commitish = "main";')
        r = rh.expect(p.run(), 0)
        expect_line(r, expect_step(r, "PASSED", None),
                    r'^updated release "v1\.0" \(tag v1\.0, id 100\) \(created by someone else '
                    r'meanwhile\)')
        rh.check(calls(fake) == [("GET", R + "/releases/tags/v1.0", 404),
                                 ("GET", R + "/releases", 200),
                                 ("POST", R + "/releases", 422),
                                 ("GET", R + "/releases/tags/v1.0", 200),
                                 ("PATCH", R + "/releases/100", 200)],
                 f"requests {calls(fake)}", r)
        rels = [x for x in fake.state()["releases"] if x["tag_name"] == "v1.0"]
        rh.check(len(rels) == 1 and rels[0]["name"] == "v1.0", f"releases of v1.0: {rels}", r)


def case_release_lost_reply_is_found_by_its_tag():
    with Fake("truncated_post") as fake:
        p = Plan(fake.base, "release", 'target_commitish = "main";')
        r = rh.expect(p.run(), 0)
        expect_line(r, expect_step(r, "PASSED", None),
                    r'^release "v1\.0" \(tag v1\.0, id 100\) is up to date \(found after a lost '
                    r'reply\): nothing sent')
        rh.check(calls(fake) == [("GET", R + "/releases/tags/v1.0", 404),
                                 ("GET", R + "/releases", 200), ("POST", R + "/releases", 201),
                                 ("GET", R + "/releases/tags/v1.0", 200)],
                 f"requests {calls(fake)}", r)
        rh.check(len([x for x in fake.state()["releases"] if x["tag_name"] == "v1.0"]) == 1,
                 "not exactly one release of v1.0", r)
        msg = p.state()["steps"][STEP]["message"]
        rh.check("was lost (no usable reply (timeout, reset or truncated)); the release of tag "
                 "v1.0 was found by its tag" in msg, f"message {msg!r}", r)


def case_release_without_a_commit_needs_an_existing_tag():
    with Fake() as fake:
        # No repo in the plan, no target_commitish: GitHub would tag its default branch.
        p = Plan(fake.base, "release")
        r = rh.expect(p.run(), 3)
        msg = expect_step(r, "ERROR", "tool_error")["lines"][0]
        rh.check("tag v1.0 does not exist in octo-org/octo-repo, and relhost knows no commit to "
                 "create it at" in msg, "message: " + msg, r)
        rh.check([m for m, _, _ in calls(fake)] == ["GET", "GET", "GET"] and
                 calls(fake)[2][1] == R + "/git/ref/tags/v1.0", f"requests {calls(fake)}", r)
        # An existing tag needs no target.
        p = Plan(fake.base, "release", 'tag = "v0.9.1";')
        r = rh.expect(p.run(), 0)
        expect_line(r, expect_step(r, "PASSED", None),
                    r'^created release "v0\.9\.1" \(tag v0\.9\.1 at the existing tag, id 100\)')
        rh.check("target_commitish" not in fake.requests()[-1]["body"], "a target was sent", r)


def case_release_of_another_commit_is_refused():
    a, b = "a" * 40, "b" * 40
    with Fake() as fake:
        rh.expect(Plan(fake.base, "release", f'target_commitish = "{a}";').run(), 0)
        p = Plan(fake.base, "release", f'target_commitish = "{b}";')
        r = rh.expect(p.run(), 3)
        msg = expect_step(r, "ERROR", "tool_error")["lines"][0]
        rh.check(f"was made for commit {a}, but this candidate is commit {b}" in msg,
                 "message: " + msg, r)
        rh.check(calls(fake)[-1][0] == "GET", f"something was written: {calls(fake)}", r)


# ---- issue ---------------------------------------------------------------------------------

def case_issue_opened_then_commented():
    with Fake() as fake:
        p = Plan(fake.base, "issue", 'labels = ["release-blocker", "v{version}"];',
                 required=False)
        p.notes("the eval regressed\n")
        r = rh.expect(p.run(), 0)
        s = expect_step(r, "PASSED", None)
        # #2 (closed) and #3 (a pull request) carry the same title: neither is the alarm.
        expect_line(r, s, rf'^opened issue #4 "{ALARM}": {re.escape(WEB)}/issues/4$')
        reqs = expect_requests_sane(r, fake)
        rh.check(calls(fake) == [("GET", R + "/issues", 200), ("POST", R + "/issues", 201)],
                 f"requests {calls(fake)}", r)
        rh.check(reqs[0]["query"] == {"state": "open", "per_page": "100"},
                 f"list query {reqs[0]['query']}", r)
        body = reqs[1]["body"]
        rh.check(body["title"] == ALARM and body["labels"] == ["release-blocker", "v1.0"] and
                 re.fullmatch(r"the eval regressed\n\n\n<!-- relhost: release 1\.0, step github,"
                              r" post [0-9a-f]{32} -->", body["body"]),
                 f"POST body {body}", r)

        p.notes("the eval regressed\n")  # the host rewrote them at the end of the run
        r = rh.expect(p.run(), 0)
        s = expect_step(r, "PASSED", None)
        expect_line(r, s, rf'^commented on open issue #4 "{ALARM}": '
                          rf'{re.escape(WEB)}/issues/4#issuecomment-\d+$')
        rh.check(calls(fake)[2:] == [("GET", R + "/issues", 200),
                                     ("POST", R + "/issues/4/comments", 201)],
                 f"second run's requests {calls(fake)[2:]}", r)
        st = fake.state()
        alarms = [i for i in st["issues"] if i["title"] == ALARM and i["state"] == "open"]
        rh.check(len(alarms) == 1, f"{len(alarms)} open alarm issues", r)
        rh.check(len(st["comments"].get("4", [])) == 1 and
                 st["comments"]["4"][0]["body"].startswith("the eval regressed\n"),
                 f"comments {st['comments']}", r)


def case_red_release_is_quarantined_and_raises_the_alarm():
    """A required validation fails: the release is quarantined in the registry with the failing
    step as its reason, and the on_failure issue step opens the alarm on (fake) GitHub."""
    with Fake() as fake:
        top = (f"plugin_path = {json.dumps([rh.fixture('good')])};\n"
               'registry_dir = ".relhost/registry";\n')
        p = Plan(fake.base, "issue", required=False, top=top)
        text = rh.read(p.path).replace(
            "steps = (\n",
            'steps = (\n  { name = "tests"; plugin = "fixture_gate"; outcome = "failed"; },\n'
            '  { name = "promote"; plugin = "registry"; action = "promote"; publishes = true; },\n'
            '  { name = "quarantine"; plugin = "registry"; action = "quarantine"; '
            'when = "on_failure"; required = false; },\n')
        text = text.replace('action = "issue";', 'action = "issue"; when = "on_failure";')
        rh.write(p.path, text)
        r = rh.expect(p.run(), 1)
        expect_line(r, expect_step(r, "PASSED", None), rf'^opened issue #4 "{ALARM}"')
        with open(os.path.join(p.dir, ".relhost", "registry", "manifest.json")) as f:
            m = json.load(f)
        e = m["releases"][0]
        rh.check(e["version"] == "1.0" and e["status"] == "quarantined" and
                 "step tests FAILED" in e["reason"], f"registry entry {e}", r)
        rh.check(m["pointers"]["last_green"] is None, "a red release became green", r)
        alarms = [i for i in fake.state()["issues"] if i["title"] == ALARM and
                  i["state"] == "open" and i["number"] == 4]
        rh.check(len(alarms) == 1, f"alarm issue #4 not opened: {fake.state()['issues']}", r)


def case_issue_found_on_the_second_page_of_an_enterprise_server():
    with Fake("many_issues", prefix="/api/v3") as fake:
        p = Plan(fake.base, "issue")
        r = rh.expect(p.run(), 0)
        expect_line(r, expect_step(r, "PASSED", None),
                    rf'^commented on open issue #4 "{ALARM}"')
        reqs = expect_requests_sane(r, fake)
        rh.check([(q["method"], q["path"]) for q in reqs] ==
                 [("GET", "/api/v3" + R + "/issues"),
                  ("GET", "/api/v3/repositories/1296269/issues"),
                  ("POST", "/api/v3" + R + "/issues/4/comments")],
                 f"requests {calls(fake)}", r)
        rh.check(reqs[1]["query"] == {"state": "open", "per_page": "100", "page": "2"},
                 f"second page's query {reqs[1]['query']}", r)


def case_issue_next_page_elsewhere_is_refused():
    with Fake("many_issues,link_elsewhere") as fake:
        p = Plan(fake.base, "issue")
        r = rh.expect(p.run(), 3)
        msg = expect_step(r, "ERROR", "tool_error")["lines"][0]
        rh.check("links its next page at https://api.github.com/repositories/1296269/issues?"
                 in msg and f"which is not under base_url {fake.base}: relhost sends the token "
                 "only there" in msg, "message: " + msg, r)
        rh.check(len(fake.requests()) == 1, f"requests {calls(fake)}", r)


def case_issue_lost_reply_is_found_not_repeated():
    # The POST takes effect but its reply is cut: the issue is found by its marker.
    with Fake("truncated_post") as fake:
        p = Plan(fake.base, "issue")
        r = rh.expect(p.run(), 0)
        expect_line(r, expect_step(r, "PASSED", None),
                    rf'^opened issue #4 "{ALARM}" \(found after a lost reply\): '
                    rf'{re.escape(WEB)}/issues/4$')
        rh.check(calls(fake) == [("GET", R + "/issues", 200), ("POST", R + "/issues", 201),
                                 ("GET", R + "/issues", 200)], f"requests {calls(fake)}", r)
        alarms = [i for i in fake.state()["issues"] if i["title"] == ALARM]
        rh.check(len(alarms) == 2, f"{len(alarms) - 1} new issues, want 1", r)


def case_issue_post_rate_limited_is_waited_out_and_sent_once():
    with Fake("ratelimit_post") as fake:
        p = Plan(fake.base, "issue")
        r = rh.expect(p.run(), 0)
        expect_line(r, expect_step(r, "PASSED", None), rf'^opened issue #4 "{ALARM}"')
        c = calls(fake)
        rh.check(c[0] == ("GET", R + "/issues", 200) and c[1] == ("POST", R + "/issues", 403) and
                 c[-2:] == [("GET", R + "/issues", 200), ("POST", R + "/issues", 201)] and
                 all(x[2] == 403 for x in c[2:-2]), f"requests {c}", r)
        alarms = [i for i in fake.state()["issues"] if i["title"] == ALARM]
        rh.check(len(alarms) == 2, f"{len(alarms) - 1} new issues, want 1", r)
        # The first attempt's failure does not stand as the message of a step that passed.
        msg = p.state()["steps"][STEP]["message"]
        rh.check(msg.endswith("took effect on attempt 2 (an earlier attempt got HTTP 403 (rate "
                              "limit used up) and had no effect)"), f"message {msg!r}", r)


# ---- errors -----------------------------------------------------------------------------------

def case_unauthorized_is_an_error():
    with Fake("unauthorized") as fake:
        p = Plan(fake.base, "pull_request")
        r = rh.expect(p.run(), 3)
        msg = expect_step(r, "ERROR", "tool_error")["lines"][0]
        rh.check(re.search(r"answered HTTP 401: Bad credentials \(https://docs\.github\.com/rest\)"
                           r": \$GITHUB_TOKEN does not hold a valid GitHub token .*create one "
                           r"with write access to pull requests .* on octo-org/octo-repo and "
                           r"export it as GITHUB_TOKEN", msg), "message: " + msg, r)
        rh.check(len(fake.requests()) == 1, "a 401 was retried", r)
        rh.check(p.state()["steps"][STEP].get("retryable") is not True, "401 retryable", r)
    # A wrong token is GitHub's call, not relhost's: the same error.
    with Fake() as fake:
        p = Plan(fake.base, "issue")
        r = rh.expect(p.run(token="ghp_not_the_right_token_at_all_0000000"), 3)
        rh.check("Bad credentials" in step(r)["lines"][0], "wrong token not reported", r)
        rh.check([q["auth"] for q in fake.requests()] == ["wrong"], f"{fake.requests()}", r)


def case_forbidden_or_not_found_is_an_error():
    # A 404 of the release's tag only means "no published release": the list of releases
    # (for a draft) is asked next, and its 404 is the error.
    for scenario, status, text, n in (("forbidden", 403,
                                       "Resource not accessible by personal access token", 1),
                                      ("not_found", 404, "Not Found", 2)):
        with Fake(scenario) as fake:
            p = Plan(fake.base, "release", 'target_commitish = "main";')
            r = rh.expect(p.run(), 3)
            msg = expect_step(r, "ERROR", "tool_error")["lines"][0]
            rh.check(f"answered HTTP {status}: {text} (https://docs.github.com/rest): the token "
                     "in $GITHUB_TOKEN lacks rights to octo-org/octo-repo, or it does not exist"
                     in msg and f"check repository ({p.path}:" in msg and
                     "Contents: write" in msg, "message: " + msg, r)
            rh.check(len(fake.requests()) == n, f"requests {calls(fake)}", r)


def case_retired_api_version_is_an_error():
    with Fake("gone") as fake:
        p = Plan(fake.base, "issue")
        r = rh.expect(p.run(), 3)
        msg = expect_step(r, "ERROR", "tool_error")["lines"][0]
        rh.check("answered HTTP 410 Gone: API version 2022-11-28 has been retired" in msg and
                 "upgrade relhost" in msg, "message: " + msg, r)
        rh.check(len(fake.requests()) == 1, f"requests {calls(fake)}", r)


def case_rate_limit_reset_is_waited_out():
    with Fake("ratelimit") as fake:
        p = Plan(fake.base, "pull_request")
        t0 = time.monotonic()
        r = rh.expect(p.run(), 0)
        expect_step(r, "PASSED", None)
        c = calls(fake)
        rh.check(c[0] == ("POST", R + "/pulls", 403) and c[-1] == ("POST", R + "/pulls", 201)
                 and len([x for x in c if x[2] == 201]) == 1, f"requests {c}", r)
        rh.check(time.monotonic() - t0 >= 0.5, "the reset was not waited for", r)
        rh.check(len(fake.state()["pulls"]) == 2, "not exactly one pull request was opened", r)
    with Fake("ratelimit_429") as fake:
        p = Plan(fake.base, "pull_request")
        r = rh.expect(p.run(), 0)
        expect_step(r, "PASSED", None)
        rh.check(calls(fake) == [("POST", R + "/pulls", 429), ("POST", R + "/pulls", 201)],
                 f"requests {calls(fake)}", r)


def case_rate_limit_exhausted_is_retryable():
    with Fake("ratelimit_exhausted") as fake:
        p = Plan(fake.base, "pull_request", budget="3s")
        r = rh.expect(p.run(), 75, out=[r"^result: NOT DECIDED \(exit 75\)"])
        msg = expect_step(r, "ERROR", "tool_error")["lines"][0]
        rh.check(re.search(r"the token's GitHub rate limit is used up \(HTTP 403, "
                           r"x-ratelimit-remaining: 0\) until \d\d:\d\d:\d\d UTC "
                           r"\(x-ratelimit-reset: \d+, 3\d\d\d s from now\), longer than "
                           r"retry_budget \(3 s\) allows after 1 attempt: API rate limit "
                           r"exceeded for user ID 1\..*; the next run tries again", msg),
                 "message: " + msg, r)
        rh.check(p.state()["steps"][STEP].get("retryable") is True, "not retryable", r)
        rh.check(len(fake.requests()) == 1, f"requests {calls(fake)}", r)
    with Fake("secondary_403") as fake:
        p = Plan(fake.base, "issue", budget="3s")
        r = rh.expect(p.run(), 75)
        msg = expect_step(r, "ERROR", "tool_error")["lines"][0]
        rh.check("GitHub's secondary rate limit (HTTP 403, retry-after: 60)" in msg,
                 "message: " + msg, r)


def case_server_error_is_retryable():
    with Fake("server_error") as fake:
        p = Plan(fake.base, "release", 'target_commitish = "main";', budget="4s")
        r = rh.expect(p.run(), 75)
        msg = expect_step(r, "ERROR", "tool_error")["lines"][0]
        n = len(fake.requests())
        rh.check(n >= 2, f"the 502 was not retried ({n} request)", r)
        rh.check(f"answered HTTP 502 after {n} attempts: Server Error" in msg, "message: " + msg,
                 r)


def case_truncated_reply_is_retryable():
    with Fake("truncated") as fake:
        p = Plan(fake.base, "pull_request", timeout="1s", budget="3s")
        r = rh.expect(p.run(), 75)
        s = expect_step(r, "ERROR", "tool_error")
        rh.check(re.search(r"POST http://127\.0\.0\.1:\d+/repos/octo-org/octo-repo/pulls failed "
                           r"after \d attempts .*(transfer closed|partial|Partial)",
                           s["lines"][0]), "message: " + s["lines"][0], r)
        expect_line(r, s, r"^opening a pull request from release/1\.0 into main in "
                          r"octo-org/octo-repo: no usable reply to POST .*/pulls \(a "
                          r"transient failure\)$")
        # The host repeated the POST; GitHub's "already exists" kept it single.
        rh.check(len(fake.state()["pulls"]) == 2, "a second pull request was opened", r)


def case_invalid_json_is_an_error():
    with Fake("invalid_json") as fake:
        p = Plan(fake.base, "issue")
        r = rh.expect(p.run(), 3)
        msg = expect_step(r, "ERROR", "tool_error")["lines"][0]
        rh.check(re.search(r"the reply to GET http://127\.0\.0\.1:\d+/repos/octo-org/octo-repo/"
                           r"issues\?state=open&per_page=100 \(HTTP 200, \d+ bytes\) is not "
                           r"valid JSON: .* it begins \"\{\"id\": 1, ", msg), "message: " + msg, r)
        # The rule of every HTTP plugin: an unreadable reply is not retried, and says why.
        rh.check("not retried (the same reply would come again)" in msg, "message: " + msg, r)
        rh.check(p.state()["steps"][STEP].get("retryable") is not True, "retryable", r)


# ---- TLS and plain http: the host's retry table ---------------------------------------------

def case_self_signed_certificate_is_not_retryable():
    d = rh.scratch("tls")
    try:
        t = http_tls.TlsFake(d)
    except http_tls.NoOpenssl as e:
        raise rh.Skip(str(e))
    with t:
        p = Plan(t.base, "pull_request", budget="30s")
        r = rh.expect(p.run(), 3, out=[r"^result: NOT DECIDED \(exit 3\)"])
        s = expect_step(r, "ERROR", "tool_error")
        rh.check(re.search(r"https://127\.0\.0\.1:\d+/repos/octo-org/octo-repo/.* failed after 1 "
                           r"attempt .*certificate.*RELHOST_CA_BUNDLE.*not retried",
                           s["lines"][0]), "message: " + s["lines"][0], r)
        rh.check(p.state()["steps"][STEP].get("retryable") is not True, "retryable", r)
        rh.check(t.requests() == [], "a request got through an untrusted TLS connection", r)


def case_token_over_plain_http_to_another_host_is_refused():
    # 2130706433 is 127.0.0.1 as one number: it reaches the fake, yet is not a loopback spelling
    # relhost accepts, so it stands for a remote host without traffic leaving this machine.
    with Fake() as fake:
        p = Plan(f"http://2130706433:{fake.port}", "issue")
        r = rh.expect(p.run(), 3, out=[r"^result: NOT DECIDED \(exit 3\)"])
        s = expect_step(r, "ERROR", "tool_error")
        rh.check(re.search(r"GET http://2130706433:\d+/repos/octo-org/octo-repo/issues\?.*: "
                           r"refusing to send the token in \$GITHUB_TOKEN \(bearer_env\) over "
                           r"plain http .*use https://", s["lines"][0]),
                 "message: " + s["lines"][0], r)
        expect_line(r, s, rf"relhost refused to send GET .*; check base_url \({re.escape(p.path)}:")
        rh.check(fake.requests() == [], f"the token was sent: {calls(fake)}", r)
        rh.check(p.state()["steps"][STEP].get("retryable") is not True, "retryable", r)


# ---- not configured, --check, launch, options ------------------------------------------------

def case_not_configured_optional_is_skipped_required_inconclusive():
    with Fake() as fake:
        p = Plan(fake.base, "pull_request", required=False)
        r = rh.expect(p.run(token=None), 0, out=[r"^result: PASSED \(exit 0\)"])
        s = expect_step(r, "SKIPPED", "not_configured")
        rh.check(s["lines"][0].startswith("GITHUB_TOKEN unset: GitHub is not configured"),
                 "message: " + s["lines"][0], r)
        p = Plan(fake.base, "release")
        r = rh.expect(p.run(token=None), 3, out=[r"^result: NOT DECIDED \(exit 3\)"])
        s = expect_step(r, "INCONCLUSIVE", "not_configured")
        rh.check(s["lines"][0].startswith("GITHUB_TOKEN unset"), "message: " + s["lines"][0], r)
        # An empty variable is as good as none.
        r = rh.expect(p.run(token=""), 3)
        expect_step(r, "INCONCLUSIVE", "not_configured")
        rh.check(fake.requests() == [], "GitHub was contacted without a token", r)


def case_check_makes_no_request():
    with Fake() as fake:
        b = fake.base
        for action, extra, want in (
                ("pull_request", "", [
                    rf'would POST {b}{R}/pulls: "Release 1.0" (head release/1.0 into base main)',
                    f"GET {b}{R}/pulls?head=octo-org%3Arelease%2F1.0&base=main&state=open",
                    "body: the default text (no release notes file at "]),
                ("release", 'target_commitish = "main"; prerelease = true;', [
                    f"would GET {b}{R}/releases/tags/v1.0 (a draft: GET {b}{R}/releases)",
                    f'else POST {b}{R}/releases: "v1.0" (tag v1.0 at main, pre-release)']),
                ("issue", 'labels = ["alarm"];', [
                    f"would GET {b}{R}/issues?state=open&per_page=100 (every page) for an open "
                    f'issue titled "{ALARM}"',
                    f"found: POST {b}{R}/issues/<number>/comments; else POST {b}{R}/issues: "
                    f'"{ALARM}"; labels: alarm'])):
            p = Plan(b, action, extra)
            r = rh.expect(p.run("--check"), 0, out=[rh.q(w) for w in want] + [
                rh.q("authenticated with $GITHUB_TOKEN"),
                r"^check: plan is valid; nothing was run$"])
            rh.check(TOKEN not in r.all, "the token was printed", r)
            rh.check(not os.path.exists(os.path.join(p.dir, ".relhost")), "--check wrote", r)
        r = rh.expect(p.run("--check", token=None), 0, out=[
            rh.q("GITHUB_TOKEN unset: the step would be SKIPPED (not_configured), INCONCLUSIVE "
                 "when it is required")])
        rh.check(fake.requests() == [], f"--check contacted GitHub: {calls(fake)}", r)


def case_launch_is_skipped():
    with Fake() as fake:
        p = Plan(fake.base, "pull_request")
        r = rh.run(["launch", "-c", p.path, "--no-color", "--no-interactive"], cwd=p.dir,
                   env=dict(CLEAN_ENV, GITHUB_TOKEN=TOKEN))
        rh.expect(r, 0)
        expect_step(r, "SKIPPED", "launch")
        rh.check(fake.requests() == [], f"launch contacted GitHub: {calls(fake)}", r)


def case_release_notes_too_long_is_an_error():
    with Fake() as fake:
        p = Plan(fake.base, "pull_request")
        p.notes("\u00e9" * 65537)
        r = rh.expect(p.run(), 3)
        msg = expect_step(r, "ERROR", "tool_error")["lines"][0]
        rh.check("holds 65537 characters; GitHub takes at most 65536 in a pull request, issue or "
                 "comment" in msg, "message: " + msg, r)
        # A release takes up to 125000.
        p = Plan(fake.base, "release", 'target_commitish = "main";')
        p.notes("\u00e9" * 65537)
        rh.expect(p.run(), 0)
        rh.check([q["method"] for q in fake.requests()] == ["GET", "GET", "POST"],
                 f"requests {calls(fake)}", r)


def case_bad_options_are_plan_errors():
    cases = [
        ('repository = "octo-org";', r'repository "octo-org" is not usable: it must be '
                                     r'owner/name'),
        ('repository = "octo-org/octo-repo.git";', r'drop the "\.git" ending'),
        ('base_url = "https://me:hunter2hunter2@api.github.com";',
         r"the token comes from token_env, never from the URL"),
        ('tag = "v1";', r'`tag` does not apply to action = "pull_request" \(it is for release\)'),
        ('labels = ["x"];', r'`labels` does not apply to action = "pull_request"'),
        ('head = "release/{version}..x";', r'head "release/1\.0\.\.x" is not a branch name'),
        ('title = "two\nlines";', r"title is not usable: it holds a line break"),
        ('action = "merge";', r"pull_request|release|issue"),
        ('token_env = "my token";', r"must name an environment variable"),
    ]
    for extra, pattern in cases:
        p = Plan("https://api.github.com", "pull_request")
        text = rh.read(p.path)
        for key in ("repository", "base_url", "action"):
            if extra.startswith(key + " "):
                text = re.sub(rf"\b{key} = \"[^\"]*\";", "", text, count=1)
        text = text.replace("retry_budget", extra.replace("\n", "\\n") + " retry_budget", 1)
        rh.write(p.path, text)
        r = rh.expect(p.run("--check"), 2, err=[pattern])
        rh.check(f"{p.path}:" in r.err, "no file:line in the error", r)
        rh.check("hunter2hunter2" not in r.all, "a password from base_url was printed", r)


# ---- secrets ----------------------------------------------------------------------------------

def forms(secret):
    """The forms a secret can leak in: raw, base64 (padding dropped), URL-encoded, and the
    base64 of the whole header value the reflecting server quotes."""
    b64 = base64.b64encode(secret.encode()).decode().rstrip("=")
    hdr = base64.b64encode(("Bearer " + secret).encode()).decode().rstrip("=")
    return {"raw": secret, "base64": b64, "url-encoded": urllib.parse.quote(secret, safe=""),
            "base64 header": hdr}


def case_secrets_never_leak():
    for scenario, action, code in (("ok", "issue", 0), ("reflect", "pull_request", 3),
                                   ("unauthorized", "release", 3),
                                   ("truncated_post", "issue", 0),
                                   ("server_error", "pull_request", 75)):
        with Fake(scenario) as fake:
            p = Plan(fake.base, action, 'target_commitish = "main";' if action == "release"
                     else "", budget="3s")
            r = rh.expect(p.run("-v"), code)
            rh.check(fake.requests() and fake.requests()[0]["auth"] == "ok",
                     "GitHub never got the token", r)
            rh.check(re.search(r"(GET|POST) http://127\.0\.0\.1:\d+/", r.all),
                     "-v did not log the requests", r)
            texts = {"stdout": r.out, "stderr": r.err}
            for path in p.files():
                with open(path, "rb") as f:
                    texts[path] = f.read().decode("utf-8", "replace")
            rh.check(any(k.endswith(".json") for k in texts) and
                     any(k.endswith(".journal") for k in texts),
                     f"no state files to search: {list(texts)}", r)
            if scenario == "reflect":
                # The control: the server really quoted the token back, and relhost showed
                # the message (masked).
                rh.check("answered HTTP 400: Problems parsing request: Bearer ********" in r.out,
                         "the reflected message was not shown", r)
            leaks = [f"{form} in {where}" for form, s in forms(TOKEN).items()
                     for where, text in texts.items() if s in text]
            rh.check(not leaks, f"{scenario}: the token leaked: " + "; ".join(leaks), r)
            r = rh.expect(p.run("-v", "--check"), 0)
            rh.check(not [s for s in forms(TOKEN).values() if s in r.all],
                     "--check leaked the token", r)


if __name__ == "__main__":
    sys.exit(rh.main(globals()))
