# SPDX-License-Identifier: MIT
"""rh.py - helpers for relhost's end-to-end tests (Python 3 standard library only).

A test script defines functions named case_<name> and ends with `rh.main(globals())`. ctest runs
the script once per case (`script.py <name>`, one ctest entry each; tests/plans/plans.cmake finds the
names by the `def case_` lines), so every case is its own process with its own scratch folder.

    d = rh.scratch()                           # a fresh folder under $RELHOST_TEST_TMP
    p = rh.write_plan(d, '''version = "1.0"; steps = ( ... );''')
    r = rh.run(["-c", p], cwd=d)               # argv list, never a shell; 60 s timeout
    rh.expect(r, 2, err=[rh.at(p, 4) + r"step \"x\": 'count' must be an integer"])

Every failure message shows the command, its exit code and its full stdout and stderr.
"""
import fcntl
import os
import re
import select
import shutil
import struct
import subprocess
import sys
import tempfile
import termios
import time
import traceback

TIMEOUT = 60          # seconds, for one relhost run
SKIP = 77             # exit code ctest treats as "skipped" (SKIP_RETURN_CODE in plans.cmake)


class Failure(AssertionError):
    """A test expectation that did not hold."""


class Skip(Exception):
    """The case cannot run here (e.g. it needs root); ctest reports it as skipped."""


# ---- environment --------------------------------------------------------------------------------

def _env(name):
    v = os.environ.get(name)
    if not v:
        raise Failure(f"${name} is not set: run this test through ctest "
                      f"(tests/CMakeLists.txt sets it), e.g. ctest -R test_plans")
    return v


def relhost_bin():
    return _env("RELHOST_BIN")


def build_dir():
    return _env("RELHOST_BUILD_DIR")


def source_dir():
    return _env("RELHOST_SOURCE_DIR")


def plugin_dir():
    """<build>/plugins: the bundled plugins (command, manual, runner_local, ...)."""
    return _env("RELHOST_PLUGIN_DIR")


def fixture(case):
    """<build>/test-plugins/<case>: one folder of tests/fixtures/plugins (see its README.md)."""
    d = os.path.join(build_dir(), "test-plugins", case)
    if not os.path.isdir(d):
        raise Failure(f"fixture folder {d} does not exist: build the target relhost_test_plugins "
                      f"(a full build does) before running these tests")
    return d


_case_name = "case"      # <script>__<case> while a case runs: the prefix of its scratch folders
_scratch_dirs = []


def scratch(tag=None):
    """A new, empty, private folder for this case under $RELHOST_TEST_TMP (never reused)."""
    base = _env("RELHOST_TEST_TMP")
    os.makedirs(base, exist_ok=True)
    d = tempfile.mkdtemp(prefix=f"{_case_name}-{tag + '-' if tag else ''}", dir=base)
    os.chmod(d, 0o755)
    _scratch_dirs.append(d)
    return d


def write(path, text, mode=None):
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)
    if mode is not None:
        os.chmod(path, mode)
    return path


def write_plan(folder, text, name="plan.cfg"):
    """Write a plan file into folder and return its absolute path."""
    return write(os.path.abspath(os.path.join(folder, name)), text)


def line_of(path_or_text, mark):
    """1-based number of the first line containing mark (in a file's text, or in a string)."""
    text = path_or_text
    if os.path.isfile(path_or_text):
        with open(path_or_text, encoding="utf-8") as f:
            text = f.read()
    for i, line in enumerate(text.splitlines(), 1):
        if mark in line:
            return i
    raise Failure(f"test bug: no line containing {mark!r} in:\n{text}")


def at(path, line_or_mark):
    """Regex for the location prefix '<path>:<line>: ' of a message (line may be a mark)."""
    line = line_or_mark if isinstance(line_or_mark, int) else line_of(path, line_or_mark)
    return re.escape(f"{path}:{line}: ")


def q(s):
    """Regex matching the literal string s."""
    return re.escape(s)


def base_env(extra=None, drop=()):
    """The environment relhost runs in: ours, minus anything that would change its behaviour
    behind a test's back (RELHOST_PLUGIN_PATH, NO_COLOR, FORCE_COLOR, RELHOST_CONFIG,
    RELHOST_CRASH_AT), plus extra; in the C locale, so that system messages (strerror) read the
    same everywhere."""
    env = dict(os.environ)
    for k in ("RELHOST_PLUGIN_PATH", "NO_COLOR", "FORCE_COLOR", "RELHOST_CONFIG", "RELHOST_CRASH_AT",
              "LANGUAGE") + tuple(drop):
        env.pop(k, None)
    env["LC_ALL"] = "C"
    if extra:
        for k, v in extra.items():
            if v is None:
                env.pop(k, None)
            else:
                env[k] = v
    return env


# ---- processes -----------------------------------------------------------------------------------

class FakeProcess:
    """A fake server started as a child process (self.p, its stderr file self.err): stop() ends
    it (SIGTERM, then SIGKILL after 10 s); usable as a context manager."""

    def stop(self):
        if self.p.poll() is None:
            self.p.terminate()
            try:
                self.p.wait(10)
            except subprocess.TimeoutExpired:
                self.p.kill()
                self.p.wait()
        self.err.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()


def pid_alive(pid):
    """Whether pid runs (a zombie does not: it waits for a parent that is not relhost)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[-1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def wait_for(pred, what, timeout=30):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if pred():
            return
        time.sleep(0.05)
    fail("timed out waiting for " + what)


# ---- running relhost ----------------------------------------------------------------------------

class Result:
    def __init__(self, argv, cwd, rc, out, err):
        self.argv, self.cwd, self.rc, self.out, self.err = argv, cwd, rc, out, err
        self.raw = out

    @property
    def all(self):
        return self.out + self.err

    def show(self):
        return (f"command: {' '.join(map(_shq, self.argv))}\n"
                f"cwd:     {self.cwd}\n"
                f"exit:    {self.rc}\n"
                f"--- stdout ({len(self.out)} chars) ---\n{self.out}"
                f"{'' if self.out.endswith(chr(10)) or not self.out else chr(10)}"
                f"--- stderr ({len(self.err)} chars) ---\n{self.err}"
                f"{'' if self.err.endswith(chr(10)) or not self.err else chr(10)}"
                f"--- end ---")


def _shq(s):
    return s if re.fullmatch(r"[A-Za-z0-9_./=:,+@%-]+", s) else "'" + s.replace("'", "'\\''") + "'"


def run(args, env=None, cwd=None, timeout=TIMEOUT, stdin=subprocess.DEVNULL):
    """Run relhost with args (a list; never a shell). env: extra variables (None removes one)."""
    argv = [relhost_bin()] + list(args)
    cwd = cwd or os.getcwd()
    try:
        p = subprocess.run(argv, cwd=cwd, env=base_env(env), stdin=stdin, capture_output=True,
                           timeout=timeout)
    except subprocess.TimeoutExpired as e:
        r = Result(argv, cwd, None, _dec(e.stdout), _dec(e.stderr))
        raise Failure(f"relhost did not finish within {timeout} s\n{r.show()}") from None
    return Result(argv, cwd, p.returncode, _dec(p.stdout), _dec(p.stderr))


def _dec(b):
    if b is None:
        return ""
    return b.decode("utf-8", "replace") if isinstance(b, bytes) else b


def run_pty(args, env=None, cwd=None, timeout=TIMEOUT, script=(), cols=None, rows=None):
    """Run relhost on a new pseudo-terminal that is its controlling terminal (stdin, stdout and
    stderr on the pty slave, in a session of its own, so /dev/tty is the pty).

    script: (regex, action) pairs, in order: once regex appears in the output read since the
    previous action, action runs: bytes are typed on the terminal; a callable gets the Popen.
    Returns a Result whose out is everything the terminal showed (stderr merged into it) without
    colour escapes and with \\n line ends; .raw is what the terminal got, byte for byte.
    cols: the terminal's width (default: what openpty gives, 0, which programs take as 80);
    rows: its height (default 24, when cols is given)."""
    argv = [relhost_bin()] + list(args)
    cwd = cwd or os.getcwd()
    master, slave = os.openpty()
    if cols or rows:
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", rows or 24, cols or 80, 0, 0))

    def make_ctty():
        fcntl.ioctl(0, termios.TIOCSCTTY, 0)

    try:
        p = subprocess.Popen(argv, cwd=cwd, env=base_env(env), stdin=slave, stdout=slave,
                             stderr=slave, start_new_session=True, preexec_fn=make_ctty)
    finally:
        os.close(slave)
    buf = bytearray()
    mark = 0
    pending = [(re.compile(pat.encode()), action) for pat, action in script]
    deadline = time.monotonic() + timeout
    exited_at = None
    try:
        while True:
            while pending:
                m = pending[0][0].search(buf, mark)
                if not m:
                    break
                action = pending.pop(0)[1]
                mark = m.end()
                if callable(action):
                    action(p)
                elif action:
                    os.write(master, action)
            if time.monotonic() > deadline:
                r = Result(argv, cwd, None, buf.decode("utf-8", "replace"), "")
                waiting = f" (still waiting for {pending[0][0].pattern!r})" if pending else ""
                raise Failure(f"relhost on a pty did not finish within {timeout} s{waiting}\n"
                              f"{r.show()}")
            ready, _, _ = select.select([master], [], [], 0.05)
            if ready:
                try:
                    data = os.read(master, 65536)
                except OSError:          # EIO: every slave fd is closed, the child is gone
                    data = b""
                if not data:
                    break
                buf += data
            elif p.poll() is not None:
                # Exited: what it wrote stays readable until EIO, unless something it started
                # still holds the terminal; then stop waiting after a grace period.
                exited_at = exited_at or time.monotonic()
                if time.monotonic() - exited_at > 2:
                    break
    finally:
        if p.poll() is None:
            p.kill()
        rc = p.wait()
        os.close(master)
    r = Result(argv, cwd, rc, plain(buf.decode("utf-8", "replace")), "")
    r.raw = buf.decode("utf-8", "replace")
    if pending:
        raise Failure(f"relhost ended before the terminal showed {pending[0][0].pattern!r}\n"
                      f"{r.show()}")
    return r


def plain(text):
    """Terminal output as a pipe would have it: no colour escapes, \\n line ends."""
    return re.sub(r"\x1b\[[0-9;]*m", "", text).replace("\r\n", "\n")


# ---- expectations -------------------------------------------------------------------------------

def fail(msg, res=None):
    raise Failure(msg + ("\n" + res.show() if res is not None else ""))


def check(cond, msg, res=None):
    if not cond:
        fail(msg, res)


def expect(res, code, out=(), err=(), any=(), not_out=(), not_err=(), not_any=()):
    """Exit code must be code (None: do not check); every regex in out/err/any must match stdout
    / stderr / either (multiline); none in not_* may. All problems are reported together."""
    problems = []
    if code is not None and res.rc != code:
        problems.append(f"exit code {res.rc}, expected {code}")
    for pats, text, where, want in ((out, res.out, "stdout", True), (err, res.err, "stderr", True),
                                    (any, res.all, "stdout/stderr", True),
                                    (not_out, res.out, "stdout", False),
                                    (not_err, res.err, "stderr", False),
                                    (not_any, res.all, "stdout/stderr", False)):
        if isinstance(pats, str):
            pats = (pats,)
        for pat in pats:
            found = re.search(pat, text, re.M) is not None
            if found and not want:
                problems.append(f"{where} matches /{pat}/ but must not")
            elif not found and want:
                problems.append(f"{where} does not match /{pat}/")
    if problems:
        fail("; ".join(problems), res)
    return res


def absent(path, res=None, why="nothing may run"):
    check(not os.path.lexists(path), f"{path} exists, but {why}", res)


def present(path, res=None, why=""):
    check(os.path.lexists(path), f"{path} does not exist{': ' + why if why else ''}", res)


# ---- reading relhost's console report --------------------------------------------------------

_STEP_RE = re.compile(r"^\[(\d+)/(\d+)\] (\w+)\s+(\S+)\s+\(([^,)]+)(, optional)?\)"
                      r"(?: [0-9.]+s)?(?:  reason: (\S+))?\s*$")


def report(text):
    """The step lines of a run's report, in order: dicts with idx, total, outcome, name, plugin,
    optional, reason and lines (the indented lines under the step: message, notes)."""
    steps = []
    for line in text.replace("\r\n", "\n").splitlines():
        m = _STEP_RE.match(line)
        if m:
            steps.append({"idx": int(m.group(1)), "total": int(m.group(2)),
                          "outcome": m.group(3), "name": m.group(4), "plugin": m.group(5),
                          "optional": bool(m.group(6)), "reason": m.group(7), "lines": []})
        elif steps and line.startswith("      "):
            steps[-1]["lines"].append(line[6:])
        elif steps and not line.startswith(" "):
            steps.append({"name": None, "lines": []})   # the block ended (result line, ...)
    return [s for s in steps if s["name"] is not None]


def step_of(res, name):
    for s in report(res.out):
        if s["name"] == name:
            return s
    fail(f"the report has no line for step {name!r}", res)


def notes(res, name):
    """fixture_gate's notes of step name as {option: value} ("count = 7" -> {"count": "7"})."""
    out = {}
    for line in step_of(res, name)["lines"]:
        k, sep, v = line.partition(" = ")
        if sep and re.fullmatch(r"[a-z_]+", k):
            out[k] = v
    return out


def expect_notes(res, name, want):
    """Every option in want must have exactly that value in step name's notes."""
    got = notes(res, name)
    bad = [f"  {k}: got {got.get(k, '<no note>')!s}, want {v}" for k, v in want.items()
           if got.get(k) != v]
    if bad:
        fail(f"step {name!r}: wrong option values:\n" + "\n".join(bad), res)


def expect_outcomes(res, want):
    """want: [(name, outcome, reason or None)...]: the report's steps, in this order."""
    got = [(s["name"], s["outcome"], s["reason"]) for s in report(res.out)]
    if got != list(want):
        fail(f"report steps are {got}, want {list(want)}", res)


def read(path):
    with open(path, encoding="utf-8") as f:
        return f.read()



def case_leftovers(d, child_arg, server_arg=b"--plugin-server-internal"):
    """pids still alive of the case in folder d: its `sleep <child_arg>` processes (jobs and
    fixtures started for the case carry RH_CASE_FOLDER=d in their environment) and the plugin
    servers of d's plan.cfg. Cases run in parallel: only this case's count. Zombies do not."""
    left = []
    mark = ("RH_CASE_FOLDER=" + d).encode()
    plan = os.path.join(d, "plan.cfg").encode()
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                argv = f.read().split(b"\0")
            with open(f"/proc/{pid}/stat", "rb") as f:
                zombie = f.read().rsplit(b")", 1)[1].split()[0] == b"Z"
            with open(f"/proc/{pid}/environ", "rb") as f:
                env = f.read().split(b"\0")
        except (OSError, IndexError):
            continue
        if zombie:
            continue
        if len(argv) >= 2 and argv[0].endswith(b"sleep") and argv[1] == child_arg.encode() \
                and mark in env:
            left.append(int(pid))
        if len(argv) >= 5 and argv[1] == server_arg and argv[4] == plan:
            left.append(int(pid))
    return left

def load_state(snapshot_path):
    """A release's durable state as relhost loads it: the snapshot release_V.json, then every
    intact record of release_V.journal beside it with a seq past the snapshot's (frames of
    [length LE32][CRC-32 LE32][{"seq", "path", "value"}]; no value: the member is removed).
    A step's end makes its changes durable in the journal only; the snapshot is rewritten once
    the journal outgrew it, so a test that reads the snapshot alone after a kill reads the past."""
    import json
    import struct
    import zlib
    with open(snapshot_path, encoding="utf-8") as f:
        st = json.load(f)
    journal = snapshot_path[:-len(".json")] + ".journal"
    data = open(journal, "rb").read() if os.path.exists(journal) else b""
    off, seq = 0, st.get("seq", 0)
    while off + 8 <= len(data):
        n, crc = struct.unpack_from("<II", data, off)
        body = data[off + 8:off + 8 + n]
        if n == 0 or len(body) < n or zlib.crc32(body) != crc:
            break  # a torn tail: relhost cuts it too
        off += 8 + n
        rec = json.loads(body)
        if rec["seq"] <= seq:
            continue
        node = st
        for k in rec["path"][:-1]:
            node = node.setdefault(k, {})
        if "value" in rec:
            node[rec["path"][-1]] = rec["value"]
        else:
            node.pop(rec["path"][-1], None)
        st["seq"] = seq = rec["seq"]
    return st


# ---- the case runner ----------------------------------------------------------------------------

def cases_of(ns):
    return {k[len("case_"):]: v for k, v in ns.items() if k.startswith("case_") and callable(v)}


def main(ns):
    """Run the case named by argv[1] (`--list` prints the names; no argument runs them all)."""
    global _case_name
    cases = cases_of(ns)
    args = sys.argv[1:]
    if args == ["--list"]:
        print("\n".join(cases))
        return 0
    names = args or list(cases)
    unknown = [n for n in names if n not in cases]
    if unknown:
        print(f"unknown case(s): {', '.join(unknown)}; cases: {', '.join(cases)}", file=sys.stderr)
        return 2
    script = os.path.basename(sys.argv[0])
    stem = os.path.splitext(script)[0]
    failed = skipped = 0
    for n in names:
        _case_name = f"{stem}__{n}"
        # What an earlier failing run of this case left behind goes now.
        base = os.environ.get("RELHOST_TEST_TMP")
        if base and os.path.isdir(base) and not os.environ.get("RELHOST_KEEP_TMP"):
            for old in os.listdir(base):
                if old.startswith(_case_name + "-"):
                    shutil.rmtree(os.path.join(base, old), ignore_errors=True)
        t0 = time.monotonic()
        try:
            cases[n]()
        except Skip as e:
            _scratch_dirs.clear()
            skipped += 1
            print(f"SKIP {script} {n}: {e}")
            continue
        except Failure as e:
            _scratch_dirs.clear()
            failed += 1
            print(f"FAIL {script} {n}: {e}", file=sys.stderr)
            continue
        except Exception:  # a bug in the test itself: show where
            _scratch_dirs.clear()
            failed += 1
            print(f"FAIL {script} {n}: unexpected exception\n{traceback.format_exc()}",
                  file=sys.stderr)
            continue
        print(f"PASS {script} {n} ({time.monotonic() - t0:.2f} s)")
        # A passing case's folders go; a failing one's stay for a look (as does everything
        # with RELHOST_KEEP_TMP=1).
        if not os.environ.get("RELHOST_KEEP_TMP"):
            for d in _scratch_dirs:
                shutil.rmtree(d, ignore_errors=True)
        _scratch_dirs.clear()
    sys.stdout.flush()
    if failed:
        return 1
    return SKIP if skipped == len(names) else 0


def marker_step(folder, name="marker"):
    """A first step that leaves a file behind when it runs: (plan text, marker path)."""
    path = os.path.join(folder, "ran-" + name)
    return (f'{{ name = "{name}"; plugin = "command"; cmd = ["touch", "{path}"]; }},', path)


def need_root(why):
    if os.geteuid() != 0:
        raise Skip(f"needs root ({why})")



# ---- the status page's index (core/view/site_index.h, core/record/record_codec.h) ------------

def site_index_entries(body):
    """The entries of an index body (bytes after its header line): [(version, key, record
    bytes, the entry's whole bytes)], in order. Entries are framed by their record's length
    (a record's strings may hold line ends)."""
    out, i = [], 0
    while i < len(body):
        v_end = body.index(b" ", i)
        k_end = body.index(b" ", v_end + 1)
        n_end = body.index(b" ", k_end + 1)
        n = int(body[k_end + 1:n_end])
        rec = body[n_end + 1:n_end + 1 + n]
        end = n_end + 2 + n
        check(body[end - 1:end] == b"\n", f"an index entry does not end with a line end: "
              f"{body[i:end]!r}")
        out.append((body[i:v_end].decode(), body[v_end + 1:k_end].decode(), rec, body[i:end]))
        i = end
    return out


def record_tokens(rec):
    """A record's text as its tokens, in the order record_codec.c writes them: a string as
    str, NULL as None, anything else as its text."""
    out, i = [], 0
    while i < len(rec):
        sp, colon = rec.index(b" ", i), rec.find(b":", i)
        if rec[i:i + 2] == b"~ ":
            out.append(None)
            i += 2
        elif 0 <= colon < sp and rec[i:colon].isdigit():
            n = int(rec[i:colon])
            out.append(rec[colon + 1:colon + 1 + n].decode("utf-8", "replace"))
            i = colon + 2 + n
        else:
            out.append(rec[i:sp].decode())
            i = sp + 1
    return out


def record_reals(tokens):
    """The values of the record_real tokens (set ones) of a record's tokens."""
    return [struct.unpack(">d", bytes.fromhex(t[2:]))[0] for t in tokens
            if isinstance(t, str) and re.fullmatch(r"1[01][0-9a-f]{16}", t)]


def real_token(x):
    """x as record_codec.c writes a set real that was no JSON integer."""
    return "10" + struct.pack(">d", x).hex()


# a release record's first tokens (record_codec.c c_release())
RECORD_FINISHED, RECORD_EXIT_CODE, RECORD_UNMET_REQUIRED = 11, 14, 17
