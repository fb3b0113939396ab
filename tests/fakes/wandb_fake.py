#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""A fake Weights & Biases GraphQL API for relhost's tests (Python 3 standard library only).

It reproduces the shapes of ../../../shared/API_SHAPES.md ("Weights & Biases"): POST {base}/graphql
with HTTP basic auth api:KEY, requests routed by operationName (never by query text), the run's
summaryMetrics as a JSON-encoded STRING inside the JSON reply, sampledHistory(specs) where each spec
is a JSON string and the answer is a list (one per spec) of lists of row objects, `run: null` and
`project: null` for what does not exist, and GraphQL errors both under HTTP 200 and with 4xx/5xx,
including non-object entries (`{"errors": ["Server down"]}`).

    wandb_fake.py --key KEY --data DATA.json [--log REQUESTS.jsonl]

It listens on 127.0.0.1, port 0, and prints the port on its first stdout line. It runs until its
stdin reaches end of file (the test closes it, or dies), so it never outlives its test.

DATA.json:
    {"runs": {"ENTITY/PROJECT/RUN_ID": {
        "state": "finished",              # optional
        "summary": {...},                 # served as summaryMetrics, JSON-encoded (a string)
        "summary_raw": "...",             # optional: the summaryMetrics string exactly as given
        "history": [{"_step": 0, ...}],   # rows; sampledHistory filters and samples them
        "behavior": "ok",                 # see below
        "behavior_ops": ["Run"],          # optional: only these operations misbehave
        "delay": 10                       # seconds, for "slow"
     }},
     "projects": ["ENTITY/PROJECT"]}      # optional: projects that exist without runs

behaviors: ok; errors200 (GraphQL errors with HTTP 200 and data.project null); down500
({"errors": ["Server down"]} with HTTP 500); slow (answer after `delay` seconds); reset (close
the connection with a TCP RST, no reply); truncated (Content-Length promises more than is sent);
invalid_json (HTTP 200, a cut JSON body); echo_auth (an error under HTTP 200 whose message quotes
the Authorization header it received, to prove that relhost redacts what a server echoes).

Each request is logged as one JSON line: operation, variables, whether auth was ok, the status
sent. The Authorization header's value is never logged.
"""
import argparse
import base64
import json
import os
import socket
import struct
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

ARGS = None
DATA = {}
LOG_LOCK = threading.Lock()


def log_request(entry):
    if not ARGS.log:
        return
    with LOG_LOCK, open(ARGS.log, "a", encoding="utf-8") as f:
        f.write(json.dumps(entry, sort_keys=True) + "\n")


def project_exists(entity, project):
    want = f"{entity}/{project}"
    if want in DATA.get("projects", []):
        return True
    return any(k.rsplit("/", 1)[0] == want for k in DATA.get("runs", {}))


def history_keys(rows):
    keys = {}
    for r in rows:
        for k, v in r.items():
            t = "number" if isinstance(v, (int, float)) and not isinstance(v, bool) else "string"
            e = keys.setdefault(k, {"typeCounts": []})
            for tc in e["typeCounts"]:
                if tc["type"] == t:
                    tc["count"] += 1
                    break
            else:
                e["typeCounts"].append({"type": t, "count": 1})
    last = max((r.get("_step", 0) for r in rows), default=0)
    return {"lastStep": last, "keys": keys}


def sample(rows, n):
    """At most n rows, evenly spaced, first and last included (W&B samples; tests keep their
    histories shorter than `samples` so that values are exact)."""
    if len(rows) <= n:
        return rows
    if n == 1:
        return [rows[-1]]
    idx = sorted({round(i * (len(rows) - 1) / (n - 1)) for i in range(n)})
    return [rows[i] for i in idx]


class GraphQLError(Exception):
    def __init__(self, status, message):
        super().__init__(message)
        self.status = status


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "wandb-fake/1.0"

    def log_message(self, fmt, *args):  # quiet: the JSON-lines log is the record
        pass

    # ---- replies --------------------------------------------------------------------------------

    def send_json(self, status, obj, raw=None):
        body = raw if raw is not None else json.dumps(obj).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
        return status

    def reset(self):
        """Close with RST: SO_LINGER 0, then close, so the client sees 'connection reset'."""
        self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.connection.close()
        self.close_connection = True
        self.wfile = _Sink()
        return "reset"

    # ---- routing --------------------------------------------------------------------------------

    def do_GET(self):
        st = self.send_json(405, {"errors": [{"message": "use POST /graphql"}]})
        log_request({"method": "GET", "path": self.path, "status": st})

    def do_POST(self):
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        entry = self.entry = {"method": "POST", "path": self.path}
        try:
            status = self.route(raw, entry)
        except GraphQLError as e:
            status = self.send_json(e.status, {"errors": [{"message": str(e)}]})
        except (BrokenPipeError, ConnectionResetError):
            status = "client gone"
        if not entry.pop("logged", False):
            entry["status"] = status
            log_request(entry)

    def auth_ok(self, entry):
        h = self.headers.get("Authorization") or ""
        if not h.startswith("Basic "):
            entry["auth"] = "missing"
            return False
        try:
            user, _, password = base64.b64decode(h[6:], validate=True).decode().partition(":")
        except (ValueError, UnicodeDecodeError):
            entry["auth"] = "malformed"
            return False
        entry["auth_user"] = user
        entry["auth"] = "ok" if user == "api" and password == ARGS.key else "bad"
        return entry["auth"] == "ok"

    def route(self, raw, entry):
        if self.path != "/graphql":
            raise GraphQLError(404, f"no route {self.path}")
        entry["content_type"] = self.headers.get("Content-Type")
        try:
            req = json.loads(raw)
        except ValueError:
            raise GraphQLError(400, "body is not JSON") from None
        if not isinstance(req, dict):
            raise GraphQLError(400, "body is not a JSON object")
        op = req.get("operationName")
        variables = req.get("variables")
        entry["op"] = op
        entry["variables"] = variables
        entry["has_query"] = isinstance(req.get("query"), str) and bool(req.get("query"))
        if not self.auth_ok(entry):
            return self.send_json(401, {"errors": [{"message": "user is not logged in",
                                                    "extensions": {"code": "PERMISSION_ERROR"}}]})
        if not entry["has_query"]:
            raise GraphQLError(400, "Must provide query string.")
        if op not in ("Run", "RunSampledHistory"):
            raise GraphQLError(400, f"Unknown operation named \"{op}\".")
        if not isinstance(variables, dict):
            raise GraphQLError(400, "variables must be an object")
        for name in ("project", "entity", "name"):
            if not isinstance(variables.get(name), str):
                raise GraphQLError(400, f"Variable \"${name}\" of required type \"String!\" was "
                                        f"not provided.")
        key = f"{variables['entity']}/{variables['project']}/{variables['name']}"
        run = DATA.get("runs", {}).get(key)
        if run is not None:
            ops = run.get("behavior_ops")
            behavior = run.get("behavior", "ok") if ops is None or op in ops else "ok"
            st = self.misbehave(behavior, run)
            if st is not None:
                return st
        if not project_exists(variables["entity"], variables["project"]):
            return self.send_json(200, {"data": {"project": None}})
        if run is None:
            return self.send_json(200, {"data": {"project": {"run": None}}})
        if op == "Run":
            return self.send_json(200, {"data": {"project": {"run": self.run_fields(key, run)}}})
        return self.sampled_history(variables, run)

    def misbehave(self, behavior, run):
        if behavior == "ok":
            return None
        if behavior == "errors200":
            return self.send_json(200, {
                "errors": [{"message": "run history is temporarily unavailable",
                            "path": ["project", "run"],
                            "extensions": {"code": "INTERNAL_SERVER_ERROR"}}],
                "data": {"project": None}})
        if behavior == "down500":
            return self.send_json(500, {"errors": ["Server down"]})
        if behavior == "echo_auth":
            return self.send_json(200, {"errors": [{"message": "bad credentials: " +
                                                    (self.headers.get("Authorization") or "")}],
                                        "data": None})
        if behavior == "slow":
            # logged on arrival: the client will have given up long before the answer
            self.entry["status"] = "slow"
            log_request(self.entry)
            self.entry["logged"] = True
            time.sleep(float(run.get("delay", 10)))
            return None
        if behavior == "reset":
            return self.reset()
        if behavior == "truncated":
            body = json.dumps({"data": {"project": {"run": None}}}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body) + 500))
            self.end_headers()
            self.wfile.write(body[: len(body) // 2])
            self.wfile.flush()
            # an orderly close (FIN) before the promised length: "transfer closed with N bytes
            # remaining", not a reset
            self.connection.shutdown(socket.SHUT_RDWR)
            self.connection.close()
            self.close_connection = True
            self.wfile = _Sink()
            return "truncated"
        if behavior == "invalid_json":
            cut = b'{"data": {"project": {"run": {"summaryMetrics": '
            return self.send_json(200, None, raw=cut)
        raise GraphQLError(500, f"fake: unknown behavior {behavior!r}")

    # ---- data -----------------------------------------------------------------------------------

    def run_fields(self, key, run):
        rows = run.get("history", [])
        summary = run.get("summary_raw")
        if summary is None:
            summary = json.dumps(run.get("summary", {}))
        run_id = key.rsplit("/", 1)[1]
        return {
            "id": base64.b64encode(f"Run:v1:{run_id}:{key.rsplit('/', 1)[0]}".encode()).decode(),
            "name": run_id,
            "displayName": run.get("displayName", "fake-run-1"),
            "state": run.get("state", "finished"),
            "summaryMetrics": summary,          # a JSON-encoded string, as W&B sends it
            "historyKeys": history_keys(rows),
            "historyLineCount": len(rows),
        }

    def sampled_history(self, variables, run):
        specs = variables.get("specs")
        if not isinstance(specs, list) or not specs:
            raise GraphQLError(400, "Variable \"$specs\" of required type \"[JSONString!]!\" was "
                                    "not provided.")
        out = []
        for s in specs:
            # JSONString: each spec must be a string holding JSON, never an object
            if not isinstance(s, str):
                raise GraphQLError(400, f"Variable \"$specs\" got invalid value {json.dumps(s)}; "
                                        f"JSONString cannot represent a non string value")
            try:
                spec = json.loads(s)
            except ValueError:
                raise GraphQLError(400, f"spec {s!r} is not JSON") from None
            keys, samples = spec.get("keys"), spec.get("samples")
            if not isinstance(keys, list) or not all(isinstance(k, str) for k in keys) or \
                    not isinstance(samples, int) or samples < 1:
                raise GraphQLError(400, f"bad spec {s!r}")
            rows = [{k: r[k] for k in keys} for r in run.get("history", [])
                    if all(k in r for k in keys)]
            out.append(sample(rows, samples))
        return self.send_json(200, {"data": {"project": {"run": {"sampledHistory": out}}}})


class _Sink:
    """Stands in for a closed connection's wfile, so the handler's cleanup does not fail."""

    closed = False

    def write(self, b):
        return len(b)

    def flush(self):
        pass

    def close(self):
        pass


def main():
    global ARGS, DATA
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--key", required=True, help="the API key the fake accepts")
    ap.add_argument("--data", required=True, help="scenario JSON")
    ap.add_argument("--log", help="append one JSON line per request here")
    ARGS = ap.parse_args()
    with open(ARGS.data, encoding="utf-8") as f:
        DATA = json.load(f)
    srv = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    srv.daemon_threads = True
    print(srv.server_address[1], flush=True)

    def watch_stdin():
        try:
            while sys.stdin.buffer.read(4096):
                pass
        finally:
            os._exit(0)

    threading.Thread(target=watch_stdin, daemon=True).start()
    srv.serve_forever()


if __name__ == "__main__":
    main()
