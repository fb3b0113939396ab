#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""github_fake.py - a fake GitHub REST API (the subset the github gate uses) on 127.0.0.1.

    github_fake.py [SCENARIO[,SCENARIO...]] --log FILE [--dump FILE] [--token TOKEN]

Listens on 127.0.0.1, port 0 (the kernel picks), and prints the port as the first line of stdout.
Serves the API at the root (like https://api.github.com) and under /api/v3 (like a GitHub
Enterprise Server); links it sends back (Link rel="next") keep the prefix the request used.
One repository, octo-org/octo-repo (id 1296269); any other is 404. Shapes follow
../../../shared/API_SHAPES.md (GitHub REST section) and GitHub's REST reference:
  - every request needs `Authorization: Bearer TOKEN` (--token, else $GITHUB_FAKE_TOKEN): else
    401 {"message":"Bad credentials","documentation_url":...,"status":"401"}; and
    `Accept: application/vnd.github+json` and `X-GitHub-Api-Version: 2022-11-28`, else 400
    (stricter than GitHub, which falls back to defaults, so a client that forgets them shows);
  - errors are {"message", "documentation_url", "status": "<code as a string>"}, 422s add
    "errors": [{"resource", "code", "field"|"message"}];
  - every reply carries x-ratelimit-limit/-remaining/-reset/-used/-resource;
  - POST /repos/{o}/{r}/pulls: 201; the same head and base again while one is open: 422
    "A pull request already exists for octo-org:BRANCH."; a head that is no branch: 422
    {"resource":"PullRequest","field":"head","code":"invalid"}. Branches: main, stable and any
    release/*; GET .../pulls?head=OWNER:BRANCH&base=&state= filters like GitHub;
  - releases: GET .../releases/tags/{tag} finds PUBLISHED releases only (404 for a draft, as on
    GitHub); GET .../releases lists all, drafts included, newest first; POST with a tag that a
    published release already has: 422 already_exists; a draft creates no tag until it is
    published; PATCH .../releases/{id}; GET .../git/ref/tags/{tag} 200 or 404;
  - issues: GET .../issues lists open issues AND pull requests (those with a "pull_request"
    key), newest first, paged (per_page <= 100) with a Link header naming
    /repositories/1296269/issues?...&page=N (GitHub's own form); POST .../issues;
    POST/GET .../issues/{n}/comments (GET honours since=).
Seed: tag v0.9 with a published release (id 1); tag v0.9.1 without a release; issue #1 "Flaky
eval on arena" (open); issue #2 "Release 1.0 did not qualify" (CLOSED); pull request #3
"Release 1.0 did not qualify" (open, so the issues list shows it with a "pull_request" key).

Every request is appended to --log as one JSON object per line BEFORE the reply is sent: n,
method, path, query, host, auth (ok / missing / wrong; never the token), accept, api_version,
content_type, body (parsed JSON, or the raw text), status, fault. After every change the whole
repository state is written to --dump (temp file + rename) for tests to read.

Scenarios (comma-separated; also $GITHUB_FAKE_SCENARIO):
  ok                  behave
  unauthorized        401 Bad credentials to everything (a revoked token)
  forbidden           403 "Resource not accessible by personal access token" to everything
  not_found           404 Not Found to everything
  gone                410 to everything (a retired API version)
  reflect             400 whose message quotes the Authorization header (raw and base64)
  no_commits          POST .../pulls: 422 "No commits between main and BRANCH"
  ratelimit           the first request opens a 1 s primary rate-limit window: every request in
                      it gets 403 with x-ratelimit-remaining: 0 and x-ratelimit-reset = its end
  ratelimit_post      the same, opened by the first POST
  ratelimit_429       the first request gets 429 with retry-after: 1 (a secondary limit)
  ratelimit_exhausted every request gets 403, x-ratelimit-remaining: 0, reset in an hour
  secondary_403       every request gets 403 with retry-after: 60 and the secondary-limit message
  server_error        502 to everything
  truncated           every reply announces more bytes (Content-Length) than it sends, closes
  truncated_post      the first POST takes effect, then its reply is truncated
  invalid_json        every 2xx reply is not JSON (the request takes effect)
  link_elsewhere      the issues list's next page is linked on https://api.github.com
  many_issues         an open issue #4 "Release 1.0 did not qualify" and 150 newer open issues,
                      so the issues list has 2 pages of 100 and #4 is on the second
  release_race        the first POST .../releases finds a release of its tag made meanwhile
                      (published by someone else just before) and answers 422 already_exists
"""
import argparse
import base64
import datetime
import json
import os
import re
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, unquote, urlencode, urlsplit

OWNER, REPO, REPO_ID = "octo-org", "octo-repo", 1296269
FULL = f"{OWNER}/{REPO}"
WEB = f"https://github.com/{FULL}"
API_VERSION = "2022-11-28"
ACCEPT = "application/vnd.github+json"
MAIN_SHA = "6dcb09b5b57875f334f61aebed695e2e4193db5e"
V09_SHA = "c5b97d5ae6c19d5c5df71a34c7fbeeda2479ccbc"
DOCS = "https://docs.github.com/rest"
PREFIXES = ("/api/v3", "")

SCENARIOS = ("ok", "unauthorized", "forbidden", "not_found", "gone", "reflect", "no_commits",
             "ratelimit", "ratelimit_post", "ratelimit_429", "ratelimit_exhausted",
             "secondary_403", "server_error", "truncated", "truncated_post", "invalid_json",
             "link_elsewhere", "many_issues", "release_race")

PRIMARY_MSG = "API rate limit exceeded for user ID 1."
SECONDARY_MSG = ("You have exceeded a secondary rate limit. Please wait a few minutes before you "
                 "try again. If you reach out to GitHub Support for help, please include the "
                 "request ID 0000:0000:0000:0000:00000000.")


def now_iso(t=None):
    return datetime.datetime.fromtimestamp(t if t is not None else time.time(),
                                           datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_iso(s):
    return datetime.datetime.strptime(s, "%Y-%m-%dT%H:%M:%SZ").replace(
        tzinfo=datetime.timezone.utc).timestamp()


def err(status, message, doc=DOCS, errors=None):
    body = {"message": message, "documentation_url": doc, "status": str(status)}
    if errors is not None:
        body["errors"] = errors
    return body


class State:
    def __init__(self, scenarios, log, dump, token):
        self.sc = set(scenarios)
        self.log = open(log, "a", encoding="utf-8")
        self.dump_path = dump
        self.token = token
        self.lock = threading.RLock()
        self.n = 0
        self.posts = 0
        self.limit_until = None      # end (epoch seconds) of an open primary rate-limit window
        self.limit_used = False      # the one-shot rate-limit scenarios fired already
        self.race_used = False       # release_race fired already
        self.next_number = 4
        self.next_id = 100
        self.tags = {"v0.9": V09_SHA, "v0.9.1": V09_SHA}
        self.releases = [{
            "id": 1, "tag_name": "v0.9", "target_commitish": "main", "name": "v0.9",
            "body": "The old release.", "draft": False, "prerelease": False,
            "created_at": "2025-01-01T00:00:00Z", "published_at": "2025-01-01T00:00:00Z"}]
        self.issues = [
            self.issue_obj(1, "Flaky eval on arena", "It flakes.", "open"),
            self.issue_obj(2, "Release 1.0 did not qualify", "An old alarm.", "closed"),
        ]
        self.pulls = [self.pull_obj(3, "Release 1.0 did not qualify", "release/0.9-fix", "main",
                                    "Unrelated pull request with the alarm's title.", False)]
        self.comments = {}           # issue number -> [comment]
        if "many_issues" in self.sc:
            # The alarm is already raised, in the oldest open issue: on the last page.
            self.issues.append(self.issue_obj(self.next_number, "Release 1.0 did not qualify",
                                              "Raised by hand.", "open"))
            self.next_number += 1
            for i in range(150):
                self.issues.append(self.issue_obj(self.next_number, f"Chore {i:03d}",
                                                  "Nothing to see.", "open"))
                self.next_number += 1
        self.save()

    # ---- objects, in GitHub's shapes ----

    def issue_obj(self, number, title, body, state, labels=()):
        return {"id": 9000 + number, "number": number, "title": title, "body": body,
                "state": state, "html_url": f"{WEB}/issues/{number}",
                "url": f"https://api.github.com/repos/{FULL}/issues/{number}",
                "labels": [{"name": n} for n in labels], "comments": 0,
                "user": {"login": "relhost-bot"}, "created_at": now_iso()}

    def pull_obj(self, number, title, head, base, body, draft):
        return {"id": 8000 + number, "number": number, "state": "open", "title": title,
                "body": body, "draft": draft, "html_url": f"{WEB}/pull/{number}",
                "url": f"https://api.github.com/repos/{FULL}/pulls/{number}",
                "head": {"ref": head, "label": f"{OWNER}:{head}", "sha": MAIN_SHA},
                "base": {"ref": base, "label": f"{OWNER}:{base}"},
                "user": {"login": "relhost-bot"}, "created_at": now_iso()}

    def pull_as_issue(self, p):
        o = self.issue_obj(p["number"], p["title"], p["body"], p["state"])
        o["pull_request"] = {"url": p["url"], "html_url": p["html_url"],
                             "diff_url": p["html_url"] + ".diff",
                             "patch_url": p["html_url"] + ".patch", "merged_at": None}
        return o

    def release_out(self, r):
        o = dict(r)
        tag = r["tag_name"] if not r["draft"] else f"untagged-{r['id']:08x}"
        o["html_url"] = f"{WEB}/releases/tag/{tag}"
        o["url"] = f"https://api.github.com/repos/{FULL}/releases/{r['id']}"
        return o

    # ---- records ----

    def record(self, entry):
        with self.lock:
            self.n += 1
            entry["n"] = self.n
            self.log.write(json.dumps(entry) + "\n")
            self.log.flush()
            os.fsync(self.log.fileno())

    def save(self):
        if not self.dump_path:
            return
        with self.lock:
            data = {"pulls": self.pulls, "releases": self.releases, "issues": self.issues,
                    "comments": {str(k): v for k, v in self.comments.items()},
                    "tags": self.tags}
            tmp = self.dump_path + ".tmp"
            with open(tmp, "w", encoding="utf-8") as f:
                json.dump(data, f, indent=1)
            os.replace(tmp, self.dump_path)


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "GitHubFake/1.0"

    def log_message(self, fmt, *args):  # quiet: the JSON-lines log is the record
        pass

    def finish(self):
        try:
            super().finish()
        except OSError:
            pass

    # ---- replies ----

    def reply(self, status, body, entry, headers=None, fault="none"):
        st = self.server.state
        if "truncated" in st.sc:
            fault = "truncated"
        if "invalid_json" in st.sc and 200 <= status < 300:
            fault = "invalid_json"
            body = b'{"id": 1, "html_url": "https://github.com/octo-org/octo-repo", "body": '
        raw = body if isinstance(body, bytes) else json.dumps(body).encode()
        entry["status"] = status
        entry["fault"] = fault
        st.record(entry)
        reset = int(time.time()) + 3600
        h = {"Content-Type": "application/json; charset=utf-8",
             "X-GitHub-Media-Type": "github.v3; format=json",
             "x-ratelimit-limit": "5000", "x-ratelimit-remaining": "4999",
             "x-ratelimit-reset": str(reset), "x-ratelimit-used": "1",
             "x-ratelimit-resource": "core"}
        h.update(headers or {})
        try:
            self.send_response(status)
            for k, v in h.items():
                self.send_header(k, v)
            if fault == "truncated":
                self.send_header("Content-Length", str(len(raw) + 500))
                self.send_header("Connection", "close")
                self.end_headers()
                self.wfile.write(raw[: len(raw) // 2])
                self.wfile.flush()
                self.close_connection = True
                return
            self.send_header("Content-Length", str(len(raw)))
            self.end_headers()
            self.wfile.write(raw)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True

    # ---- the request ----

    def do_GET(self):
        self.handle_any("GET")

    def do_POST(self):
        self.handle_any("POST")

    def do_PATCH(self):
        self.handle_any("PATCH")

    def handle_any(self, method):
        st = self.server.state
        u = urlsplit(self.path)
        q = {k: v[-1] for k, v in parse_qs(u.query, keep_blank_values=True).items()}
        n = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(n) if n else b""
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = raw.decode("utf-8", "replace")
        auth = self.headers.get("Authorization")
        entry = {"method": method, "path": u.path, "query": q, "host": self.headers.get("Host"),
                 "accept": self.headers.get("Accept"),
                 "api_version": self.headers.get("X-GitHub-Api-Version"),
                 "content_type": self.headers.get("Content-Type"), "body": body}
        if auth is None:
            entry["auth"] = "missing"
        elif auth != "Bearer " + st.token:
            entry["auth"] = "wrong"
        else:
            entry["auth"] = "ok"
        prefix = next(p for p in PREFIXES if p == "" or u.path.startswith(p + "/"))
        path = u.path[len(prefix):]
        with st.lock:
            return self.route(method, prefix, path, q, body, entry, auth)

    def route(self, method, prefix, path, q, body, entry, auth):
        st = self.server.state
        if entry["auth"] != "ok" or "unauthorized" in st.sc:
            return self.reply(401, err(401, "Bad credentials"), entry)
        if entry["accept"] != ACCEPT or entry["api_version"] != API_VERSION:
            return self.reply(400, err(400, "fake: send Accept: application/vnd.github+json and "
                                            "X-GitHub-Api-Version: 2022-11-28"), entry)
        if method != "GET" and not (entry["content_type"] or "").startswith("application/json"):
            return self.reply(400, err(400, "fake: a body must be application/json"), entry)
        if "reflect" in st.sc:
            b64 = base64.b64encode(auth.encode()).decode()
            return self.reply(400, err(400, f"Problems parsing request: {auth} ({b64})"), entry)
        if "gone" in st.sc:
            return self.reply(410, err(410, f"API version {API_VERSION} has been retired; use "
                                            "a supported version"), entry)
        if "server_error" in st.sc:
            return self.reply(502, err(502, "Server Error"), entry)
        if "forbidden" in st.sc:
            return self.reply(403, err(403, "Resource not accessible by personal access token"),
                              entry)
        if "not_found" in st.sc:
            return self.reply(404, err(404, "Not Found"), entry)
        if "secondary_403" in st.sc:
            return self.reply(403, err(403, SECONDARY_MSG), entry, {"retry-after": "60"})
        now = time.time()
        if "ratelimit_exhausted" in st.sc:
            return self.reply(403, err(403, PRIMARY_MSG), entry,
                              {"x-ratelimit-remaining": "0",
                               "x-ratelimit-reset": str(int(now) + 3600)})
        if "ratelimit_429" in st.sc and not st.limit_used:
            st.limit_used = True
            return self.reply(429, err(429, SECONDARY_MSG), entry, {"retry-after": "1"})
        opens = ("ratelimit" in st.sc or ("ratelimit_post" in st.sc and method == "POST"))
        if opens and not st.limit_used:
            st.limit_used = True
            st.limit_until = int(now) + 1
        if st.limit_until is not None and now < st.limit_until:
            return self.reply(403, err(403, PRIMARY_MSG), entry,
                              {"x-ratelimit-remaining": "0",
                               "x-ratelimit-reset": str(st.limit_until)})
        if method == "POST":
            st.posts += 1

        m = re.fullmatch(r"/repositories/(\d+)(/.*)", path)
        if m:
            if int(m.group(1)) != REPO_ID:
                return self.reply(404, err(404, "Not Found"), entry)
            rest = m.group(2)
        else:
            m = re.fullmatch(r"/repos/([^/]+)/([^/]+)(/.*)", path)
            if not m or (m.group(1), m.group(2)) != (OWNER, REPO):
                return self.reply(404, err(404, "Not Found"), entry)
            rest = m.group(3)
        return self.repo_route(method, prefix, rest, q, body, entry)

    def repo_route(self, method, prefix, rest, q, body, entry):
        if rest == "/pulls" and method == "POST":
            return self.create_pull(body, entry)
        if rest == "/pulls" and method == "GET":
            return self.list_pulls(q, entry)
        m = re.fullmatch(r"/releases/tags/(.+)", rest)
        if m and method == "GET":
            return self.release_by_tag(unquote(m.group(1)), entry)
        if rest == "/releases" and method == "GET":
            return self.page(prefix, "releases", q, entry,
                             [self.server.state.release_out(r) for r in
                              sorted(self.server.state.releases, key=lambda r: -r["id"])])
        if rest == "/releases" and method == "POST":
            return self.create_release(body, entry)
        m = re.fullmatch(r"/releases/(\d+)", rest)
        if m and method == "PATCH":
            return self.update_release(int(m.group(1)), body, entry)
        m = re.fullmatch(r"/git/ref/tags/(.+)", rest)
        if m and method == "GET":
            return self.get_tag(unquote(m.group(1)), entry)
        if rest == "/issues" and method == "GET":
            return self.list_issues(prefix, q, entry)
        if rest == "/issues" and method == "POST":
            return self.create_issue(body, entry)
        m = re.fullmatch(r"/issues/(\d+)/comments", rest)
        if m and method == "POST":
            return self.create_comment(int(m.group(1)), body, entry)
        if m and method == "GET":
            return self.list_comments(prefix, int(m.group(1)), q, entry)
        return self.reply(404, err(404, "Not Found"), entry)

    # ---- helpers ----

    def fault_for_post(self):
        """truncated_post: the first POST's reply is truncated (after it took effect)."""
        st = self.server.state
        if "truncated_post" in st.sc and st.posts == 1:
            return "truncated"
        return "none"

    def page(self, prefix, kind, q, entry, items, issue=None):
        st = self.server.state
        try:
            per_page = min(max(int(q.get("per_page", "30")), 1), 100)
            page = max(int(q.get("page", "1")), 1)
        except ValueError:
            return self.reply(400, err(400, "fake: bad per_page or page"), entry)
        chunk = items[(page - 1) * per_page: page * per_page]
        last = max((len(items) + per_page - 1) // per_page, 1)
        headers = {}
        if page < last:
            base = f"http://{self.headers.get('Host')}{prefix}"
            if "link_elsewhere" in st.sc:
                base = "https://api.github.com"
            sub = f"/issues/{issue}/comments" if issue else f"/{kind}"
            keep = {k: v for k, v in q.items() if k != "page"}

            def link(p):
                return f"{base}/repositories/{REPO_ID}{sub}?{urlencode(dict(keep, page=p))}"
            headers["Link"] = f'<{link(page + 1)}>; rel="next", <{link(last)}>; rel="last"'
        return self.reply(200, chunk, entry, headers)

    # ---- pulls ----

    def branch_exists(self, ref):
        return ref in ("main", "stable") or ref.startswith("release/")

    def create_pull(self, b, entry):
        st = self.server.state
        doc = "https://docs.github.com/rest/pulls/pulls#create-a-pull-request"
        if not isinstance(b, dict) or not b.get("title") or not b.get("head") or not b.get("base"):
            return self.reply(422, err(422, "Validation Failed", doc, [
                {"resource": "PullRequest", "code": "missing_field", "field": "head"}]), entry)
        head = b["head"].split(":", 1)[-1]
        if not self.branch_exists(head):
            return self.reply(422, err(422, "Validation Failed", doc, [
                {"resource": "PullRequest", "field": "head", "code": "invalid"}]), entry)
        if not self.branch_exists(b["base"]):
            return self.reply(422, err(422, "Validation Failed", doc, [
                {"resource": "PullRequest", "field": "base", "code": "invalid"}]), entry)
        if "no_commits" in st.sc:
            return self.reply(422, err(422, "Validation Failed", doc, [
                {"resource": "PullRequest", "code": "custom",
                 "message": f"No commits between {b['base']} and {head}"}]), entry)
        for p in st.pulls:
            if p["state"] == "open" and p["head"]["ref"] == head and p["base"]["ref"] == b["base"]:
                return self.reply(422, err(422, "Validation Failed", doc, [
                    {"resource": "PullRequest", "code": "custom",
                     "message": f"A pull request already exists for {OWNER}:{head}."}]), entry)
        p = st.pull_obj(st.next_number, b["title"], head, b["base"], b.get("body"),
                        bool(b.get("draft")))
        st.next_number += 1
        st.pulls.append(p)
        st.save()
        return self.reply(201, p, entry, fault=self.fault_for_post())

    def list_pulls(self, q, entry):
        st = self.server.state
        out = [p for p in st.pulls
               if q.get("state", "open") in ("all", p["state"])
               and ("head" not in q or q["head"] == p["head"]["label"])
               and ("base" not in q or q["base"] == p["base"]["ref"])]
        return self.reply(200, out, entry)

    # ---- releases ----

    def release_by_tag(self, tag, entry):
        st = self.server.state
        for r in st.releases:
            if r["tag_name"] == tag and not r["draft"]:
                return self.reply(200, st.release_out(r), entry)
        return self.reply(404, err(404, "Not Found", "https://docs.github.com/rest/releases/"
                                                     "releases#get-a-release-by-tag-name"), entry)

    def get_tag(self, tag, entry):
        st = self.server.state
        if tag in st.tags:
            return self.reply(200, {"ref": f"refs/tags/{tag}",
                                    "object": {"sha": st.tags[tag], "type": "commit"}}, entry)
        return self.reply(404, err(404, "Not Found", "https://docs.github.com/rest/git/refs"
                                                     "#get-a-reference"), entry)

    def commitish_ok(self, c):
        return bool(re.fullmatch(r"[0-9a-f]{40}", c)) or self.branch_exists(c)

    def publish_tag(self, r):
        st = self.server.state
        if not r["draft"] and r["tag_name"] not in st.tags:
            c = r["target_commitish"]
            st.tags[r["tag_name"]] = c if re.fullmatch(r"[0-9a-f]{40}", c) else MAIN_SHA

    def create_release(self, b, entry):
        st = self.server.state
        doc = "https://docs.github.com/rest/releases/releases#create-a-release"
        if not isinstance(b, dict) or not b.get("tag_name"):
            return self.reply(422, err(422, "Validation Failed", doc, [
                {"resource": "Release", "code": "missing_field", "field": "tag_name"}]), entry)
        tag = b["tag_name"]
        if "release_race" in st.sc and not st.race_used:
            st.race_used = True
            other = {"id": st.next_id, "tag_name": tag, "target_commitish": "main",
                     "name": "made by someone else", "body": "someone else's notes",
                     "draft": False, "prerelease": False, "created_at": now_iso(),
                     "published_at": now_iso()}
            st.next_id += 1
            st.releases.append(other)
            self.publish_tag(other)
            st.save()
        if any(r["tag_name"] == tag and not r["draft"] for r in st.releases):
            return self.reply(422, err(422, "Validation Failed", doc, [
                {"resource": "Release", "code": "already_exists", "field": "tag_name"}]), entry)
        target = b.get("target_commitish") or "main"
        if tag not in st.tags and not self.commitish_ok(target):
            return self.reply(422, err(422, "Validation Failed", doc, [
                {"resource": "Release", "code": "invalid", "field": "target_commitish"}]), entry)
        r = {"id": st.next_id, "tag_name": tag, "target_commitish": target,
             "name": b.get("name") or tag, "body": b.get("body"), "draft": bool(b.get("draft")),
             "prerelease": bool(b.get("prerelease")), "created_at": now_iso(),
             "published_at": None if b.get("draft") else now_iso()}
        st.next_id += 1
        st.releases.append(r)
        self.publish_tag(r)
        st.save()
        return self.reply(201, st.release_out(r), entry, fault=self.fault_for_post())

    def update_release(self, rid, b, entry):
        st = self.server.state
        for r in st.releases:
            if r["id"] == rid:
                for k in ("tag_name", "target_commitish", "name", "body", "draft", "prerelease"):
                    if isinstance(b, dict) and k in b:
                        r[k] = b[k]
                if not r["draft"] and not r["published_at"]:
                    r["published_at"] = now_iso()
                self.publish_tag(r)
                st.save()
                return self.reply(200, st.release_out(r), entry)
        return self.reply(404, err(404, "Not Found"), entry)

    # ---- issues ----

    def list_issues(self, prefix, q, entry):
        st = self.server.state
        want = q.get("state", "open")
        items = [i for i in st.issues if want in ("all", i["state"])]
        items += [st.pull_as_issue(p) for p in st.pulls if want in ("all", p["state"])]
        items.sort(key=lambda i: -i["number"])
        return self.page(prefix, "issues", q, entry, items)

    def create_issue(self, b, entry):
        st = self.server.state
        doc = "https://docs.github.com/rest/issues/issues#create-an-issue"
        if not isinstance(b, dict) or not b.get("title"):
            return self.reply(422, err(422, "Validation Failed", doc, [
                {"resource": "Issue", "code": "missing_field", "field": "title"}]), entry)
        labels = b.get("labels") or []
        if not isinstance(labels, list) or not all(isinstance(x, str) for x in labels):
            return self.reply(422, err(422, "Validation Failed", doc, [
                {"resource": "Issue", "code": "invalid", "field": "labels"}]), entry)
        i = st.issue_obj(st.next_number, b["title"], b.get("body"), "open", labels)
        st.next_number += 1
        st.issues.append(i)
        st.save()
        return self.reply(201, i, entry, fault=self.fault_for_post())

    def find_issue(self, n):
        st = self.server.state
        for i in st.issues:
            if i["number"] == n:
                return i
        return None

    def create_comment(self, n, b, entry):
        st = self.server.state
        issue = self.find_issue(n)
        if issue is None:
            return self.reply(404, err(404, "Not Found"), entry)
        if not isinstance(b, dict) or not b.get("body"):
            return self.reply(422, err(422, "Validation Failed", errors=[
                {"resource": "IssueComment", "code": "missing_field", "field": "body"}]), entry)
        cid = 70000 + st.next_id
        st.next_id += 1
        c = {"id": cid, "html_url": f"{issue['html_url']}#issuecomment-{cid}",
             "body": b["body"], "user": {"login": "relhost-bot"},
             "created_at": now_iso(), "updated_at": now_iso()}
        st.comments.setdefault(n, []).append(c)
        issue["comments"] += 1
        st.save()
        return self.reply(201, c, entry, fault=self.fault_for_post())

    def list_comments(self, prefix, n, q, entry):
        st = self.server.state
        if self.find_issue(n) is None:
            return self.reply(404, err(404, "Not Found"), entry)
        items = st.comments.get(n, [])
        if "since" in q:
            try:
                since = parse_iso(q["since"])
            except ValueError:
                return self.reply(422, err(422, "Validation Failed", errors=[
                    {"resource": "IssueComment", "code": "invalid", "field": "since"}]), entry)
            items = [c for c in items if parse_iso(c["updated_at"]) >= since]
        return self.page(prefix, "comments", q, entry, items, issue=n)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("scenario", nargs="?", default=os.environ.get("GITHUB_FAKE_SCENARIO", "ok"))
    ap.add_argument("--log", required=True)
    ap.add_argument("--dump")
    ap.add_argument("--token", default=os.environ.get("GITHUB_FAKE_TOKEN"))
    a = ap.parse_args()
    scenarios = [s for s in a.scenario.split(",") if s]
    bad = [s for s in scenarios if s not in SCENARIOS]
    if bad:
        ap.error(f"scenario {bad[0]!r} unknown; one of: {', '.join(SCENARIOS)}")
    if not a.token:
        ap.error("give the token the client must send: --token or $GITHUB_FAKE_TOKEN")
    srv = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    srv.daemon_threads = True
    srv.state = State(scenarios, a.log, a.dump, a.token)
    print(srv.server_address[1], flush=True)
    try:
        srv.serve_forever()
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
