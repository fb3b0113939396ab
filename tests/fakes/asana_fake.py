#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""asana_fake.py - a fake Asana REST API (the subset the asana gate uses) on 127.0.0.1.

    asana_fake.py SCENARIO --log FILE [--token TOKEN] [--delay SECONDS]

Listens on 127.0.0.1, port 0 (the kernel picks), and prints the port as the first line of stdout.
Serves {base}/projects/{gid}/sections and {base}/sections/{gid}/tasks under the base path
/api/1.0, with the shapes of ../../../shared/API_SHAPES.md (Asana section):
  - next_page appears only when `limit` was sent (1..100); it is {"offset", "path", "uri"} or
    null. The offset is an opaque random token holding '+', '/' and '=' (a client that does not
    percent-encode it sends a different token); the uri names https://app.asana.com, NOT this
    server, so a client that follows it leaves the test. Any offset this server did not issue,
    or issued for another list, gets 400 with an errors body.
  - completed_since=now hides completed tasks; without opt_fields a task is compact
    {gid, resource_type, name, resource_subtype}; opt_fields (dotted: assignee.name) selects.
  - every request needs `Authorization: Bearer TOKEN` (--token, or $ASANA_FAKE_TOKEN; any
    bearer when neither): else 401 {"errors":[{"message":"Not Authorized", ...}]}.
Every request is appended to the --log file as one JSON object per line BEFORE the reply is
sent (so a client that got its reply finds its request logged): n, method, path, query, host,
auth (ok / missing / wrong; never the token), offset (null, "issued", "unknown"), status, fault.

Scenarios (also $ASANA_FAKE_SCENARIO when no argument is given): project 1201 has the sections
Backlog (1301), Active (1302), Done (1303) unless said otherwise.
  empty           Active holds completed tasks only
  blockers        Active holds 3 open tasks (one unassigned) and 2 completed ones
  blockers_pages  Active holds 250 open tasks (3 pages of 100) and 40 completed ones
  narrowing       Active holds 8 open tasks with tags and a Priority custom field
  many_sections   150 sections (2 pages); Active is on the second page and holds 2 open tasks
  duplicate       two sections named Active; only the second holds an open task
  unauthorized    401 Not Authorized to everything
  not_found       the project does not exist (404)
  rate_limited    the first request gets 429 with Retry-After: 1, then as `empty`
  server_error    500 with errors[].phrase to everything
  slow            as `empty`, but every reply waits --delay seconds (default 5) first
  reset           every connection is reset (TCP RST) instead of answered
  truncated       every reply announces more bytes (Content-Length) than it sends, then closes
  invalid_json    200 with a body that is not JSON
  bad_shape       200 with {"data": {...}} (an object where a list belongs)
  echo_token      Active holds one open task whose name quotes the bearer token it received
                  (to prove that relhost masks what a server echoes; tests/secrets)
  echo_error      400 to everything, its errors[].message quoting the bearer token
"""
import argparse
import base64
import json
import os
import re
import socket
import struct
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, quote, urlsplit

BASE = "/api/1.0"
PUBLIC = "https://app.asana.com/api/1.0"
HELP = ("For more information on API status codes and how to handle them, read the docs on "
        "errors: https://developers.asana.com/docs/errors")
PHRASE = "6 sad squid snuggle softly"

SCENARIOS = ("empty", "blockers", "blockers_pages", "narrowing", "many_sections", "duplicate",
             "unauthorized", "not_found", "rate_limited", "server_error", "slow", "reset",
             "truncated", "invalid_json", "bad_shape", "echo_token", "echo_error")


def task(gid, name, completed=False, assignee=None, tags=(), priority=None, section=None):
    return {
        "gid": gid, "resource_type": "task", "resource_subtype": "default_task", "name": name,
        "completed": completed,
        "permalink_url": f"https://app.asana.com/1/12345/task/{gid}",
        "assignee": {"gid": "1464" + gid[-3:], "resource_type": "user", "name": assignee}
        if assignee else None,
        "tags": [{"gid": "77" + str(len(t)), "resource_type": "tag", "name": t} for t in tags],
        "custom_fields": [{"gid": "5501", "resource_type": "custom_field", "name": "Priority",
                           "display_value": priority},
                          {"gid": "5502", "resource_type": "custom_field", "name": "Estimate",
                           "display_value": "3"}],
        "memberships": [{"project": {"gid": "1201", "resource_type": "project",
                                     "name": "Releases"},
                         "section": {"gid": section[0], "resource_type": "section",
                                     "name": section[1]}}] if section else [],
    }


def build(scenario):
    """(sections [(gid, name)], {section gid: [task]}) of the scenario."""
    sections = [("1301", "Backlog"), ("1302", "Active"), ("1303", "Done")]
    active = ("1302", "Active")
    tasks = {"1301": [task("2001", "Someday: refactor", section=sections[0])],
             "1302": [], "1303": [task("2002", "Shipped thing", True, section=sections[2])]}
    done = [task(f"29{i:02d}", f"Finished {i}", True, "C. Done", section=active)
            for i in range(2)]
    if scenario in ("empty", "slow", "rate_limited"):
        tasks["1302"] = done
    elif scenario == "blockers":
        tasks["1302"] = [
            task("1204", "Fix eval regression", assignee="A. Person", priority="High",
                 section=active),
            done[0],
            task("1205", "Crash on resume \u2014 \u00e9t\u00e9 build", assignee="B. \u00d8st",
                 priority="Low", section=active),
            task("1206", "Docs: release notes", section=active),
            done[1],
        ]
    elif scenario == "blockers_pages":
        # 250 open tasks (3 pages of 100) with 40 completed ones among them.
        ts, ndone = [], 0
        for i in range(290):
            if i % 7 == 3 and ndone < 40:
                ndone += 1
                ts.append(task(f"3{i:04d}", f"Done item {i:03d}", True, "C. Done",
                               section=active))
            else:
                ts.append(task(f"4{i:04d}", f"Blocker {i:03d}",
                               assignee=None if i % 5 == 0 else f"Person {i % 11}",
                               section=active))
        tasks["1302"] = ts
    elif scenario == "narrowing":
        rb = "release-blocker"
        tasks["1302"] = [
            task("5001", "Tagged high", assignee="A. Person", tags=[rb], priority="High",
                 section=active),
            task("5002", "Tagged low", tags=[rb, "docs"], priority="Low", section=active),
            task("5003", "Untagged high", assignee="B. Person", priority="High", section=active),
            task("5004", "Untagged, no priority", section=active),
            task("5005", "Other tag high", tags=["docs"], priority="High", section=active),
            task("5006", "Tagged, no priority", tags=[rb], section=active),
            task("5007", "Almost the tag", tags=["Release-Blocker"], priority="High",
                 section=active),
            task("5008", "High but completed", True, tags=[rb], priority="High",
                 section=active),
            task("5009", "Untagged highish", priority="High ", section=active),
        ]
    elif scenario == "many_sections":
        sections = [(f"{9000 + i}", f"Sprint {i}") for i in range(149)]
        sections.insert(120, ("9999", "Active"))
        tasks = {gid: [] for gid, _ in sections}
        tasks["9999"] = [task("6001", "Late blocker", assignee="D. Person",
                              section=("9999", "Active")),
                         task("6002", "Another late blocker", section=("9999", "Active"))]
    elif scenario == "duplicate":
        sections = [("1301", "Backlog"), ("1302", "Active"), ("1304", "Active")]
        tasks = {"1301": [], "1302": [], "1304": [task("7001", "Hidden in the second Active",
                                                       assignee="E. Person",
                                                       section=("1304", "Active"))]}
    return sections, tasks


def project_fields(obj, fields):
    """Asana's opt_fields: gid plus the requested (dotted) fields of obj."""
    if not isinstance(obj, dict):
        return obj
    tree = {}
    for f in fields:
        head, _, rest = f.partition(".")
        tree.setdefault(head, [])
        if rest:
            tree[head].append(rest)
    out = {"gid": obj["gid"]} if "gid" in obj else {}
    for k, sub in tree.items():
        if k not in obj:
            continue
        v = obj[k]
        if sub and isinstance(v, list):
            out[k] = [project_fields(x, sub) for x in v]
        elif sub and isinstance(v, dict):
            out[k] = project_fields(v, sub)
        else:
            out[k] = v
    return out


def compact_task(t):
    return {k: t[k] for k in ("gid", "resource_type", "name", "resource_subtype")}


class State:
    def __init__(self, scenario, log, token, delay):
        self.scenario = scenario
        self.sections, self.tasks = build(scenario)
        self.log = open(log, "a", encoding="utf-8")
        self.token = token
        self.delay = delay
        self.lock = threading.Lock()
        self.n = 0
        self.offsets = {}      # token -> (list key, start index)

    def record(self, entry):
        with self.lock:
            self.n += 1
            entry["n"] = self.n
            self.log.write(json.dumps(entry) + "\n")
            self.log.flush()
            os.fsync(self.log.fileno())
            return self.n

    def issue(self, key, start):
        # Opaque, random, and holding the characters a sloppy client mangles in a query.
        tok = base64.b64encode(os.urandom(18)).decode() + "+/="
        with self.lock:
            self.offsets[tok] = (key, start)
        return tok


def errors_body(message, phrase=None):
    e = {"message": message, "help": HELP}
    if phrase:
        e["phrase"] = phrase
    return {"errors": [e]}


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "AsanaFake/1.0"

    def log_message(self, fmt, *args):  # quiet: the JSON-lines log is the record
        pass

    # ---- replies ----

    def reply(self, status, body, entry, headers=None):
        raw = body if isinstance(body, bytes) else json.dumps(body).encode()
        entry["status"] = status
        st = self.server.state
        fault = "none"
        if st.scenario == "reset":
            fault = "reset"
        elif st.scenario == "truncated":
            fault = "truncated"
        entry["fault"] = fault
        st.record(entry)
        if st.scenario == "slow":
            time.sleep(st.delay)
        if fault == "reset":
            # SO_LINGER 0: close() sends RST, not FIN: the client sees "connection reset".
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                       struct.pack("ii", 1, 0))
            self.close_connection = True
            self.connection.close()
            return
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/json; charset=UTF-8")
            for k, v in (headers or {}).items():
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
        except (BrokenPipeError, ConnectionResetError):  # the client gave up (slow): fine
            self.close_connection = True

    def finish(self):
        try:
            super().finish()
        except OSError:
            pass

    # ---- routing ----

    def do_GET(self):
        st = self.server.state
        u = urlsplit(self.path)
        q = {k: v[-1] for k, v in parse_qs(u.query, keep_blank_values=True).items()}
        auth = self.headers.get("Authorization")
        entry = {"method": "GET", "path": u.path, "query": q, "host": self.headers.get("Host"),
                 "offset": None}
        if auth is None:
            entry["auth"] = "missing"
        elif not auth.startswith("Bearer ") or (st.token and auth[7:] != st.token):
            entry["auth"] = "wrong"
        else:
            entry["auth"] = "ok"
        if entry["auth"] != "ok" or st.scenario == "unauthorized":
            return self.reply(401, errors_body("Not Authorized"), entry)
        if st.scenario == "server_error":
            return self.reply(500, errors_body("Server Error", PHRASE), entry)
        if st.scenario == "echo_error":
            return self.reply(400, errors_body(f"Invalid token {auth[7:]}: revoked"), entry)
        if st.scenario == "rate_limited" and st.n == 0:
            return self.reply(429, errors_body(
                "You have made too many requests recently. Please, be chill."), entry,
                {"Retry-After": "1"})
        if st.scenario == "invalid_json":
            return self.reply(200, b'{"data": [{"gid": "1302", "name": "Active"', entry)
        if st.scenario == "bad_shape":
            return self.reply(200, {"data": {"gid": "1302", "name": "Active"},
                                    "next_page": None}, entry)
        if not u.path.startswith(BASE + "/"):
            return self.reply(404, errors_body("Not Found: no route " + u.path), entry)
        path = u.path[len(BASE):]
        m = re.fullmatch(r"/projects/([^/]+)/sections", path)
        if m:
            if m.group(1) != "1201" or st.scenario == "not_found":
                return self.reply(404, errors_body(
                    f"project: Not a recognized ID: {m.group(1)}"), entry)
            items = [{"gid": g, "resource_type": "section", "name": n} for g, n in st.sections]
            return self.page(f"sections:{m.group(1)}", items, q, entry)
        m = re.fullmatch(r"/sections/([^/]+)/tasks", path)
        if m:
            if m.group(1) not in st.tasks:
                return self.reply(404, errors_body(
                    f"section: Not a recognized ID: {m.group(1)}"), entry)
            ts = st.tasks[m.group(1)]
            if st.scenario == "echo_token" and m.group(1) == "1302":
                ts = [task("8001", f"Rotate the leaked token {auth[7:]} today",
                           assignee="F. Person", section=("1302", "Active"))]
            if q.get("completed_since") == "now":
                ts = [t for t in ts if not t["completed"]]
            if "opt_fields" in q:
                fields = [f for f in q["opt_fields"].split(",") if f]
                ts = [project_fields(t, fields) for t in ts]
            else:
                ts = [compact_task(t) for t in ts]
            return self.page(f"tasks:{m.group(1)}", ts, q, entry)
        return self.reply(404, errors_body("Not Found: no route " + u.path), entry)

    def page(self, key, items, q, entry):
        st = self.server.state
        if "limit" not in q:
            if "offset" in q:
                entry["offset"] = "unknown"
                return self.reply(400, errors_body("offset: Your pagination token is invalid."),
                                  entry)
            return self.reply(200, {"data": items}, entry)
        try:
            limit = int(q["limit"])
        except ValueError:
            limit = 0
        if not 1 <= limit <= 100:
            return self.reply(400, errors_body("limit: Must be between 1 and 100"), entry)
        start = 0
        if "offset" in q:
            with st.lock:
                got = st.offsets.get(q["offset"])
            if got is None or got[0] != key:
                entry["offset"] = "unknown"
                return self.reply(400, errors_body(
                    "offset: Your pagination token is invalid or has expired."), entry)
            entry["offset"] = "issued"
            start = got[1]
        chunk = items[start:start + limit]
        nxt = None
        if start + limit < len(items):
            tok = st.issue(key, start + limit)
            entry["issued"] = tok
            rest = "&".join(f"{k}={v}" for k, v in q.items() if k != "offset")
            path = urlsplit(self.path).path[len(BASE):] + f"?{rest}&offset={quote(tok, safe='')}"
            nxt = {"offset": tok, "path": path, "uri": PUBLIC + path}
        return self.reply(200, {"data": chunk, "next_page": nxt}, entry)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("scenario", nargs="?", default=os.environ.get("ASANA_FAKE_SCENARIO"))
    ap.add_argument("--log", required=True)
    ap.add_argument("--token", default=os.environ.get("ASANA_FAKE_TOKEN"))
    ap.add_argument("--delay", type=float, default=5.0)
    a = ap.parse_args()
    if a.scenario not in SCENARIOS:
        ap.error(f"scenario {a.scenario!r} unknown; one of: {', '.join(SCENARIOS)}")
    srv = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    srv.daemon_threads = True
    srv.state = State(a.scenario, a.log, a.token, a.delay)
    print(srv.server_address[1], flush=True)
    try:
        srv.serve_forever()
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
