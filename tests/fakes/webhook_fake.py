#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""webhook_fake.py - fake Discord and Slack incoming webhooks on 127.0.0.1.

    webhook_fake.py --log FILE [--discord SCENARIO] [--slack SCENARIO]
                    [--discord-token TOKEN] [--delay SECONDS]

Listens on 127.0.0.1, port 0, and prints the port as the first line of stdout. Shapes as in
../../../shared/API_SHAPES.md:
  POST /api/webhooks/{id}/{token}   Discord: body {"content": "..."} (at most 2000 characters,
        counted as Python does, in code points); success 204 No Content, or 200 with a message
        object when ?wait=true; errors {"message", "code"}; a token other than --discord-token
        gets 401 {"message": "Invalid Webhook Token", "code": 50027}.
  POST /services/{T}/{B}/{secret}   Slack: body {"text": "..."}; success 200 with the body "ok";
        errors are plain words (invalid_payload, no_text, channel_not_found...).
Every request is appended to --log as one JSON object per line BEFORE the reply is sent: n,
service, method, path, query, content_type, body (parsed JSON, or null), raw (the body text when
it is not JSON), status, fault.

Scenarios, per service (default ok; also $DISCORD_FAKE_SCENARIO / $SLACK_FAKE_SCENARIO):
  ok                 accept a well-formed post
  rate_limited       the service's first request gets 429 (Discord: Retry-After: 1 and
                     {"message": "You are being rate limited.", "retry_after": 0.5,
                     "global": false}; Slack: Retry-After: 1, body rate_limited), then ok
  refused            Discord 400 {"message": "Invalid Form Body", "code": 50035};
                     Slack 400 invalid_payload
  gone               Discord 404 {"message": "Unknown Webhook", "code": 10015};
                     Slack 404 channel_not_found
  server_error       500 every time (Discord {"message": "500: Internal Server Error",
                     "code": 0}; Slack internal_error)
  slow               as ok, after --delay seconds (default 5)
  reset              the connection is reset (TCP RST) instead of answered
  truncated          the reply announces more bytes than it sends, then closes (Discord:
                     a 200 with a message object, since a 204 has no body to cut)
  invalid_json       Discord: 400 with a body that is not JSON; Slack: 200 with "not ok"
  echo               404 quoting the request path, webhook token included (Discord
                     {"message": "Unknown Webhook /api/webhooks/ID/TOKEN", "code": 10015};
                     Slack "channel_not_found: /services/T/B/SECRET"), to prove that relhost
                     masks what a server echoes (tests/secrets)
"""
import argparse
import json
import os
import re
import socket
import struct
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

SCENARIOS = ("ok", "rate_limited", "refused", "gone", "server_error", "slow", "reset",
             "truncated", "invalid_json", "echo")
DISCORD_MAX = 2000


class State:
    def __init__(self, log, discord, slack, token, delay):
        self.log = open(log, "a", encoding="utf-8")
        self.scenario = {"discord": discord, "slack": slack}
        self.token = token
        self.delay = delay
        self.lock = threading.Lock()
        self.n = 0
        self.seen = {"discord": 0, "slack": 0, "unknown": 0}

    def record(self, entry):
        with self.lock:
            self.n += 1
            entry["n"] = self.n
            self.log.write(json.dumps(entry) + "\n")
            self.log.flush()
            os.fsync(self.log.fileno())


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "WebhookFake/1.0"

    def log_message(self, fmt, *args):
        pass

    def finish(self):
        try:
            super().finish()
        except OSError:
            pass

    def reply(self, status, body, entry, ctype="application/json", headers=None, scenario="ok"):
        st = self.server.state
        if body is None:
            raw = b""
        elif isinstance(body, bytes):
            raw = body
        elif isinstance(body, str):
            raw = body.encode()
        else:
            raw = json.dumps(body).encode()
        fault = scenario if scenario in ("reset", "truncated") else "none"
        if fault == "truncated" and status == 204:
            # A 204 has no body to cut (a client rightly ignores one): cut a 200 instead, as
            # Discord answers with ?wait=true.
            status = 200
        entry["status"] = status
        entry["fault"] = fault
        st.record(entry)
        if scenario == "slow":
            time.sleep(st.delay)
        if fault == "reset":
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                       struct.pack("ii", 1, 0))
            self.close_connection = True
            self.connection.close()
            return
        try:
            self.send_response(status)
            if raw or fault == "truncated":
                self.send_header("Content-Type", ctype)
            for k, v in (headers or {}).items():
                self.send_header(k, v)
            if fault == "truncated":
                if not raw:
                    raw = b'{"id": "1", "content": "posted"}'
                self.send_header("Content-Length", str(len(raw) + 500))
                self.send_header("Connection", "close")
                self.end_headers()
                self.wfile.write(raw[: len(raw) // 2])
                self.wfile.flush()
                self.close_connection = True
                return
            if status != 204:
                self.send_header("Content-Length", str(len(raw)))
            self.end_headers()
            if status != 204:
                self.wfile.write(raw)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True

    def do_POST(self):
        st = self.server.state
        u = urlsplit(self.path)
        q = {k: v[-1] for k, v in parse_qs(u.query, keep_blank_values=True).items()}
        n = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(n) if n > 0 else b""
        ctype = self.headers.get("Content-Type", "")
        try:
            body = json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            body = None
        m_discord = re.fullmatch(r"/api/webhooks/(\d+)/([A-Za-z0-9_-]+)", u.path)
        m_slack = re.fullmatch(r"/services/(T\w+)/(B\w+)/(\w+)", u.path)
        service = "discord" if m_discord else "slack" if m_slack else "unknown"
        entry = {"service": service, "method": "POST", "path": u.path, "query": q,
                 "content_type": ctype, "body": body,
                 "raw": None if body is not None else raw.decode("utf-8", "replace")}
        with st.lock:
            nth = st.seen[service]
            st.seen[service] += 1
        if service == "unknown":
            return self.reply(404, {"message": "404: Not Found", "code": 0}, entry)
        sc = st.scenario[service]
        if service == "discord":
            return self.discord(entry, sc, nth, m_discord.group(2), q, body, ctype)
        return self.slack(entry, sc, nth, body, ctype)

    def do_GET(self):
        self.reply(405, {"message": "405: Method Not Allowed", "code": 0},
                   {"service": "unknown", "method": "GET", "path": self.path})

    def discord(self, entry, sc, nth, token, q, body, ctype):
        st = self.server.state
        if sc == "rate_limited" and nth == 0:
            return self.reply(429, {"message": "You are being rate limited.",
                                    "retry_after": 0.5, "global": False}, entry,
                              headers={"Retry-After": "1", "X-RateLimit-Limit": "5",
                                       "X-RateLimit-Remaining": "0",
                                       "X-RateLimit-Reset-After": "0.5",
                                       "X-RateLimit-Scope": "user"})
        if sc == "refused":
            return self.reply(400, {"message": "Invalid Form Body", "code": 50035}, entry)
        if sc == "gone":
            return self.reply(404, {"message": "Unknown Webhook", "code": 10015}, entry)
        if sc == "echo":
            return self.reply(404, {"message": "Unknown Webhook " + entry["path"],
                                    "code": 10015}, entry)
        if sc == "server_error":
            return self.reply(500, {"message": "500: Internal Server Error", "code": 0}, entry)
        if sc == "invalid_json":
            return self.reply(400, "<html><body>Bad Gateway? no: bad JSON</body></html>", entry,
                              ctype="text/html")
        if st.token and token != st.token:
            return self.reply(401, {"message": "Invalid Webhook Token", "code": 50027}, entry)
        if not ctype.startswith("application/json") or not isinstance(body, dict):
            return self.reply(400, {"message": "Cannot send an empty message", "code": 50006},
                              entry, scenario=sc)
        content = body.get("content")
        if not isinstance(content, str) or content == "":
            return self.reply(400, {"message": "Cannot send an empty message", "code": 50006},
                              entry, scenario=sc)
        if len(content) > DISCORD_MAX:
            return self.reply(400, {"message": "Invalid Form Body", "code": 50035, "errors": {
                "content": {"_errors": [{"code": "BASE_TYPE_MAX_LENGTH",
                                         "message": "Must be 2000 or fewer in length."}]}}},
                entry, scenario=sc)
        if q.get("wait") == "true":
            return self.reply(200, {"id": "1", "type": 0, "content": content,
                                    "channel_id": "2", "webhook_id": "3"}, entry, scenario=sc)
        return self.reply(204, None, entry, scenario=sc)

    def slack(self, entry, sc, nth, body, ctype):
        text = "text/plain"
        if sc == "rate_limited" and nth == 0:
            return self.reply(429, "rate_limited", entry, ctype=text,
                              headers={"Retry-After": "1"})
        if sc == "refused":
            return self.reply(400, "invalid_payload", entry, ctype=text)
        if sc == "gone":
            return self.reply(404, "channel_not_found", entry, ctype=text)
        if sc == "echo":
            return self.reply(404, "channel_not_found: " + entry["path"], entry, ctype=text)
        if sc == "server_error":
            return self.reply(500, "internal_error", entry, ctype=text)
        if sc == "invalid_json":
            return self.reply(200, "not ok", entry, ctype=text)
        if not isinstance(body, dict):
            return self.reply(400, "invalid_payload", entry, ctype=text, scenario=sc)
        if not isinstance(body.get("text"), str) or body["text"] == "":
            return self.reply(400, "no_text", entry, ctype=text, scenario=sc)
        return self.reply(200, "ok", entry, ctype=text, scenario=sc)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--log", required=True)
    ap.add_argument("--discord", default=os.environ.get("DISCORD_FAKE_SCENARIO", "ok"),
                    choices=SCENARIOS)
    ap.add_argument("--slack", default=os.environ.get("SLACK_FAKE_SCENARIO", "ok"),
                    choices=SCENARIOS)
    ap.add_argument("--discord-token", default=None)
    ap.add_argument("--delay", type=float, default=5.0)
    a = ap.parse_args()
    srv = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    srv.daemon_threads = True
    srv.state = State(a.log, a.discord, a.slack, a.discord_token, a.delay)
    print(srv.server_address[1], flush=True)
    try:
        srv.serve_forever()
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
