# SPDX-License-Identifier: MIT
"""http_tls.py - an HTTPS server on 127.0.0.1 with a certificate relhost must not trust, for the
HTTP plugins' end-to-end tests (asana.py, github.py, metrics_wandb.py): a TLS or certificate
failure is not retryable (ERROR, exit 3), never a deferral (exit 75).

    with TlsFake(folder, cn="127.0.0.1") as t:     # self-signed: verification fails
        t.base                                     # https://127.0.0.1:<port>
        t.cert                                     # the certificate, for RELHOST_CA_BUNDLE
        t.requests()                               # what reached the server (nothing, here)

cn="localhost" makes a certificate for the name "localhost" only: trusted through
RELHOST_CA_BUNDLE, asked as 127.0.0.1, it is a host name mismatch. The key and certificate are
made at test time with `openssl req` in the test's scratch folder (no key is committed); without
openssl the case is skipped. The server is tests/http/fake_http.py; it only binds 127.0.0.1.
"""
import os
import shutil
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "support"))
import rh  # noqa: E402

FAKE_HTTP = os.path.join(HERE, "..", "http", "fake_http.py")
PY = os.environ.get("PYTHON3", sys.executable)


class NoOpenssl(Exception):
    """openssl is not installed: the caller skips the case."""


def make_cert(folder, cn):
    """A self-signed certificate and key for cn (an IP address or a DNS name) in folder."""
    if shutil.which("openssl") is None:
        raise NoOpenssl("openssl is not installed")
    cert = os.path.join(folder, f"{cn}-cert.pem")
    key = os.path.join(folder, f"{cn}-key.pem")
    san = f"IP:{cn}" if cn[0].isdigit() else f"DNS:{cn}"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key,
                    "-out", cert, "-days", "2", "-subj", f"/CN={cn}", "-addext",
                    f"subjectAltName={san}"], check=True, capture_output=True)
    return cert, key


class TlsFake(rh.FakeProcess):
    def __init__(self, folder, cn="127.0.0.1"):
        self.dir = folder
        self.cert, key = make_cert(folder, cn)
        self.log = os.path.join(folder, "tls-requests.jsonl")
        script = os.path.join(folder, "tls-script.json")
        with open(script, "w") as f:
            f.write('{"routes": {}, "default": {"status": 200, "body": "{}"}}')
        self.err = open(os.path.join(folder, "tls-stderr"), "w")
        self.p = subprocess.Popen([PY, FAKE_HTTP, "--port", "0", "--script", script, "--log",
                                   self.log, "--tls-cert", self.cert, "--tls-key", key],
                                  stdout=subprocess.PIPE, stderr=self.err, text=True)
        line = self.p.stdout.readline().strip()
        if not line.isdigit():
            self.stop()
            raise AssertionError(f"fake_http.py --tls-cert did not print its port: {line!r}")
        self.port = int(line)
        self.base = f"https://127.0.0.1:{self.port}"

    def requests(self):
        if not os.path.exists(self.log):
            return []
        with open(self.log, encoding="utf-8") as f:
            return [line for line in f if line.strip()]

