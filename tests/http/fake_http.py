#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""A scriptable HTTP server on 127.0.0.1 for testing relhost's HTTP service.

    fake_http.py --script SCRIPT.json --log REQUESTS.jsonl [--port 0] [--verbose]
                 [--tls-cert CERT.pem --tls-key KEY.pem]

The first line on stdout is the port it listens on (--port 0 picks a free one). It serves until
SIGTERM/SIGINT. It only ever binds 127.0.0.1. With --tls-cert/--tls-key it speaks HTTPS.

SCRIPT.json is read again for every request, so a test may replace it between requests (write a
temporary file and rename it over the old one):

    {"routes": {"/path": [REPLY, REPLY, ...]}, "default": REPLY}

A route matches the request path without its query string. Its replies are used in order, one
per request; the last one repeats. A path with no route gets "default" (404 when absent).
A REPLY is an object; every key is optional:

    status      HTTP status (200)
    headers     {"Name": "value"}; in values "{now+N}" becomes the epoch second N seconds from
                now and "{httpdate+N}" the same instant as an HTTP-date (N may be negative or 0)
    body        the body text (UTF-8) ("")
    body_size   a body of this many bytes of "x" instead, sent in 64 KiB pieces (huge bodies)
    delay       seconds to wait after reading the request, before replying
    reset       "before": reset the connection (RST) without replying; "mid": send the head and
                half of the body, then reset
    truncate    announce the full Content-Length but send only this many body bytes, then close
    no_length   no Content-Length: the body ends when the connection closes
    close       add "Connection: close" and close after the reply

Every request is appended to REQUESTS.jsonl, one JSON object per line, BEFORE the reply is sent:
    {"n": 1, "time": 1700000000.123, "method": "GET", "path": "/x?q=1",
     "headers": {"authorization": "Bearer ..."}, "body": "..."}
Header names are lower-cased. The body is decoded as UTF-8 with invalid bytes replaced.
"""

import argparse
import email.utils
import http.server
import json
import re
import socket
import socketserver
import ssl
import struct
import sys
import threading
import time

_TEMPLATE = re.compile(r"\{(now|httpdate)([+-]\d+(?:\.\d+)?)?\}")


def expand(value):
    def sub(m):
        at = time.time() + float(m.group(2) or 0)
        if m.group(1) == "now":
            return str(int(at))
        return email.utils.formatdate(at, usegmt=True)

    return _TEMPLATE.sub(sub, str(value))


class State:
    def __init__(self, script, log):
        self.script = script
        self.log = log
        self.lock = threading.Lock()
        self.counts = {}
        self.n = 0

    def reply_for(self, path):
        with open(self.script, encoding="utf-8") as f:
            script = json.load(f)
        routes = script.get("routes", {})
        with self.lock:
            if path in routes and routes[path]:
                replies = routes[path]
                i = self.counts.get(path, 0)
                self.counts[path] = i + 1
                return replies[min(i, len(replies) - 1)]
        return script.get("default", {"status": 404, "body": "no route for " + path})

    def record(self, entry):
        with self.lock:
            self.n += 1
            entry["n"] = self.n
            with open(self.log, "a", encoding="utf-8") as f:
                f.write(json.dumps(entry) + "\n")
                f.flush()


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "fake_http/1"

    def log_message(self, fmt, *args):
        if self.server.verbose:
            sys.stderr.write("fake_http: " + (fmt % args) + "\n")

    def _reset(self):
        # SO_LINGER with a zero timeout turns close() into a RST.
        self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.connection.close()
        self.close_connection = True

    def _handle(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length > 0 else b""
        state = self.server.state
        state.record({
            "time": time.time(),
            "method": self.command,
            "path": self.path,
            "headers": {k.lower(): v for k, v in self.headers.items()},
            "body": body.decode("utf-8", "replace"),
        })
        reply = state.reply_for(self.path.split("?", 1)[0])
        if reply.get("delay"):
            time.sleep(float(reply["delay"]))
        if reply.get("reset") == "before":
            self._reset()
            return
        if "body_size" in reply:
            size = int(reply["body_size"])
            data = None
        else:
            data = str(reply.get("body", "")).encode("utf-8")
            size = len(data)
        self.send_response(int(reply.get("status", 200)))
        for name, value in reply.get("headers", {}).items():
            self.send_header(name, expand(value))
        if reply.get("no_length") or reply.get("close"):
            self.send_header("Connection", "close")
            self.close_connection = True
        if not reply.get("no_length"):
            self.send_header("Content-Length", str(size))
        self.end_headers()
        if self.command == "HEAD":
            return
        send = size
        if reply.get("reset") == "mid":
            send = size // 2
        elif "truncate" in reply:
            send = min(size, int(reply["truncate"]))
        self._write(data, send)
        if reply.get("reset") == "mid":
            self._reset()
        elif "truncate" in reply:
            self.wfile.flush()
            self.connection.shutdown(socket.SHUT_RDWR)
            self.close_connection = True

    def _write(self, data, n):
        if data is not None:
            self.wfile.write(data[:n])
            return
        piece = b"x" * 65536
        while n > 0:
            k = min(n, len(piece))
            self.wfile.write(piece[:k])
            n -= k

    def setup(self):
        if isinstance(self.request, ssl.SSLSocket):
            self.request.do_handshake()
        super().setup()

    def handle_one_request(self):
        # A client that gives up (timeout, size cap) leaves us writing into a closed socket.
        try:
            super().handle_one_request()
        except (BrokenPipeError, ConnectionResetError, OSError):
            self.close_connection = True

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = _handle


class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    verbose = False

    def handle_error(self, request, client_address):
        # A client rejecting our certificate or hanging up is what some tests are about.
        if self.verbose:
            super().handle_error(request, client_address)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--script", required=True)
    ap.add_argument("--log", required=True)
    ap.add_argument("--verbose", action="store_true")
    ap.add_argument("--tls-cert")
    ap.add_argument("--tls-key")
    args = ap.parse_args()
    srv = Server(("127.0.0.1", args.port), Handler)
    if args.tls_cert:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(args.tls_cert, args.tls_key)
        # The handshake runs in each request's thread: a client that rejects the certificate
        # must not stall the accept loop.
        srv.socket = ctx.wrap_socket(srv.socket, server_side=True, do_handshake_on_connect=False)
    srv.state = State(args.script, args.log)
    srv.verbose = args.verbose
    sys.stdout.write("%d\n" % srv.server_address[1])
    sys.stdout.flush()
    try:
        srv.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        srv.server_close()


if __name__ == "__main__":
    main()
