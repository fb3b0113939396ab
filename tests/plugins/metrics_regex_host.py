#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Issue 14, "Prove it": every case of tests/plugins/metrics_regex_table.c through the REAL host.

The cases are read from the C table itself (its logs, confs and expectations), so the two tests
cannot drift apart. Each case becomes one validation whose job cats a file holding the case's
bytes (cmd = ["cat", "case.log"]) and whose acceptance checks hold exactly when the expected
value is read: ("sps_max", "==", 31000.0) for each expected metric, a check on each refused key,
and, for a case that must post nothing, checks on the conf's keys that must end "metric missing".
All cases run in ONE relhost run: one workflow step per conf (one metrics source each), one
validation per case, each with its own log. Each job's outcome is then read from the state JSON
(<state_dir>/release_1.json, jobs["<step>/<case>"]):

  - a case expecting values only                  PASSED, every check passed
  - a case with a refused key ("!key" in the table) INCONCLUSIVE, reason metric_refused, the
    refused key's check noted "metric refused: ...", the others passed (plugin README: a check on
    a refused last value is never judged on the stale value)
  - a case posting no value at all                FAILED, reason metric_missing
  - a [SUMMARY] termination reason other than job_completed: FAILED, reason termination_reason
    (the launcher's word outranks the exit status; checks are not run)

and the job's evidence must hold exactly the expected metrics (same values), labels and refused
keys, and a note containing each expected note text.
"""
import json
import os
import re
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))
import rh  # noqa: E402

TABLE = os.path.join("tests", "plugins", "metrics_regex_table.c")

# Keys each conf can post (metrics_regex README "Keys it declares"); a case that posts nothing
# checks these and expects every one "metric missing".
DEFAULT_KEYS = ["sps_max", "sps_last", "eval_success_rate", "exit_code", "restart_count"]


# ---- reading the C table --------------------------------------------------------------------------

_TOKEN = re.compile(r'''
    (?P<str>"(?:[^"\\\n]|\\.)*")
  | (?P<comment>/\*.*?\*/|//[^\n]*)
  | (?P<pp>\#[^\n]*)
  | (?P<id>[A-Za-z_]\w*)
  | (?P<num>\d+)
  | (?P<punct>[{}(),;=*\[\]])
  | (?P<ws>\s+)
  | (?P<other>.)
''', re.S | re.X)

_ESC = {"n": 10, "r": 13, "t": 9, "a": 7, "b": 8, "f": 12, "v": 11, "\\": 92, '"': 34, "'": 39,
        "?": 63}


def c_string(lit):
    """The bytes of one C string literal (with its quotes), as a C compiler reads it."""
    s, out, i = lit[1:-1], bytearray(), 0
    while i < len(s):
        c = s[i]
        if c != "\\":
            out += c.encode("utf-8")
            i += 1
            continue
        n = s[i + 1]
        if n in _ESC:
            out.append(_ESC[n])
            i += 2
        elif n in "01234567":
            m = re.match(r"[0-7]{1,3}", s[i + 1:])
            out.append(int(m.group(0), 8))
            i += 1 + len(m.group(0))
        elif n == "x":
            m = re.match(r"[0-9A-Fa-f]+", s[i + 2:])   # C: \x takes every hex digit that follows
            v = int(m.group(0), 16)
            if v > 255:
                rh.fail(f"{TABLE}: hex escape \\x{m.group(0)} is out of range in {lit}")
            out.append(v)
            i += 2 + len(m.group(0))
        else:
            rh.fail(f"{TABLE}: unknown escape \\{n} in {lit}")
    return bytes(out)


def tokens(text):
    out = []
    for m in _TOKEN.finditer(text):
        kind = m.lastgroup
        if kind in ("comment", "ws"):
            continue
        out.append((kind, m.group(0)))
    return out


class Parser:
    def __init__(self, toks, macros, consts):
        self.t, self.i, self.macros, self.consts = toks, 0, macros, consts

    def peek(self):
        return self.t[self.i] if self.i < len(self.t) else (None, None)

    def take(self, value=None, kind=None):
        k, v = self.peek()
        if (value is not None and v != value) or (kind is not None and k != kind):
            ctx = " ".join(v for _, v in self.t[max(0, self.i - 8):self.i + 8])
            rh.fail(f"{TABLE}: cannot read the case table: want {value or kind}, got {v!r} near: "
                    f"{ctx}\n(update metrics_regex_host.py's reader)")
        self.i += 1
        return v

    def strexpr(self):
        """Adjacent string literals and string macros (E, UMINUS), concatenated."""
        out = b""
        while True:
            k, v = self.peek()
            if k == "str":
                out += c_string(self.take())
            elif k == "id" and v in self.macros:
                out += self.macros[self.take()]
            else:
                break
        return out


def read_table(path):
    """[(index, log bytes, conf text or None, conf name, expectation)] from the C table."""
    text = open(path, encoding="utf-8").read()
    macros = {m.group(1): c_string(m.group(2))
              for m in re.finditer(r'^#define\s+(\w+)\s+("(?:[^"\\\n]|\\.)*")', text, re.M)}
    consts = {}
    for m in re.finditer(r"static const char \*const (\w+)\s*=\s*(.*?);\s*$", text, re.M | re.S):
        p = Parser(tokens(m.group(2)), macros, consts)
        consts[m.group(1)] = p.strexpr().decode("utf-8")
    # big_digits is filled in main(): "SPS: " + 10,000 sevens + "\n"; check that it still is.
    if not re.search(r"memcpy\(big_digits, \"SPS: \", 5\);\s*memset\(big_digits \+ 5, '7', 10000\);"
                     r"\s*big_digits\[10005\] = '\\n';", text):
        rh.fail(f"{TABLE}: main() no longer fills big_digits as this reader assumes")
    arrays = {"big_digits": b"SPS: " + b"7" * 10000 + b"\n"}
    start = text.index("static const struct tcase cases[] = {")
    end = text.index("\n};", start)
    p = Parser(tokens(text[start:end]), macros, consts)
    for v in ("static", "const", "struct", "tcase", "cases", "[", "]", "=", "{"):
        p.take(v)
    cases = []
    while p.peek()[1] is not None:
        p.take("{")
        if p.peek()[1] == "L":
            p.take("L")
            p.take("(")
            log = p.strexpr()
            p.take(")")
        else:
            name = p.take(kind="id")
            if name not in arrays:
                rh.fail(f"{TABLE}: case log {name} is not known to metrics_regex_host.py")
            log = arrays[name]
            p.take(",")
            p.take("0")
        p.take(",")
        conf_name = p.take(kind="id")
        if conf_name != "NULL" and conf_name not in consts:
            rh.fail(f"{TABLE}: conf {conf_name} is not a string constant of the file")
        p.take(",")
        expect = p.strexpr().decode("utf-8")
        p.take("}")
        if p.peek()[1] == ",":
            p.take(",")
        cases.append((len(cases), log, consts.get(conf_name), conf_name, expect))
    return cases


def parse_expect(expect):
    """'key=V;@key=T;~note;!key' -> metrics {key: float}, labels {key: text}, notes, refused."""
    metrics, labels, notes, refused = {}, {}, [], []
    for item in filter(None, expect.split(";")):
        if item.startswith("~"):
            notes.append(item[1:])
        elif item.startswith("!"):
            refused.append(item[1:])
        elif item.startswith("@"):
            k, _, v = item[1:].partition("=")
            labels[k] = v
        else:
            k, _, v = item.partition("=")
            metrics[k] = float(v)
    return metrics, labels, notes, refused


def conf_keys(conf):
    """The keys a conf posts, for a case that must post none of them."""
    if conf is None or "defaults = false" not in conf:
        keys = list(DEFAULT_KEYS)
    else:
        keys = []
    for m in re.finditer(r'\{ name = "(\w+)";(.*?)\}', conf or "", re.S):
        body = m.group(2)
        metric = re.search(r'metric = "(\w+)"', body)
        reducers = re.findall(r'"(max|min|last|first|mean|count)"', body) or ["last"]
        keys += [metric.group(1)] if metric else [f"{m.group(1)}_{r}" for r in reducers]
    return keys


# ---- the plan ---------------------------------------------------------------------------------------

def libconfig_str(s):
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


def number(v):
    r = repr(float(v))   # '31000.0', '1e-05', '3000000000.0': a libconfig float, read exactly
    return r if re.search(r"[.eE]", r) else r + ".0"


def build(folder, cases):
    confs = []                       # conf names in first-seen order; NULL is the defaults
    for c in cases:
        if c[3] not in confs:
            confs.append(c[3])
    sources, steps, jobs = [], [], []
    for ci, cname in enumerate(confs):
        conf = next(c[2] for c in cases if c[3] == cname)
        src = f"src{ci}"
        sources.append(f'  {src} = {{ plugin = "metrics_regex"; {conf or ""} }};')
        step = "tests" if cname == "NULL" else f"tests_{cname.lower()}"
        vals = []
        for idx, log, _, cn, expect in cases:
            if cn != cname:
                continue
            path = os.path.join(folder, "logs-in", f"case{idx:03d}.log")
            with open(path, "wb") as f:
                f.write(log)
            metrics, labels, notes, refused = parse_expect(expect)
            checks = [(k, "==", number(v)) for k, v in metrics.items()]
            checks += [(k, ">=", "-1.0e300") for k in refused]
            if not checks:
                checks = [(k, ">=", "-1.0e300") for k in conf_keys(conf)]
            acc = ", ".join(f"({libconfig_str(k)}, {libconfig_str(op)}, {v})" for k, op, v in checks)
            name = f"case{idx:03d}"
            vals.append(f'    {{ name = "{name}"; cmd = ["cat", {libconfig_str(path)}]; '
                        f'timeout_s = 60; acceptance = ( {acc} ); }}')
            jobs.append((f"{step}/{name}", idx, log, cn, expect, checks))
        steps.append(f'  {{ name = "{step}"; plugin = "workflow"; required = false; metrics = ["{src}"];\n'
                     f'    validations = (\n' + ",\n".join(vals) + "\n    ); }")
    plan = ('state_dir = "state"; log_dir = "logs";\n'
            'runners = { local = { plugin = "runner_local"; max_parallel = 16; grace = "1s"; }; };\n'
            "metrics = {\n" + "\n".join(sources) + "\n};\n"
            "steps = (\n" + ",\n".join(steps) + "\n);\n")
    return rh.write_plan(folder, plan), jobs


def shown(log):
    s = log[:70].decode("latin-1").encode("unicode_escape").decode("ascii")
    return s + ("..." if len(log) > 70 else "")


def judge(job_id, idx, log, conf, expect, checks, job):
    """Problems with one job's outcome and evidence (empty: the case holds)."""
    metrics, labels, notes, refused = parse_expect(expect)
    ev = job.get("evidence") or {}
    problems = []
    term = labels.get("termination_reason")
    if term is not None and term not in ("job_completed", "max_runtime_reached"):
        want = ("FAILED", "termination_reason")
    elif refused:
        want = ("INCONCLUSIVE", "metric_refused")
    elif not metrics:
        want = ("FAILED", "metric_missing")
    else:
        want = ("PASSED", None)
    got = (job.get("outcome"), job.get("reason"))
    if got != want:
        problems.append(f"outcome {got}, want {want}")
    if want[1] != "termination_reason":
        recs = {c["key"]: c for c in ev.get("checks", [])}
        for k, _, _ in checks:
            c = recs.get(k)
            if c is None:
                problems.append(f"no check record for {k}")
            elif k in metrics:
                if not (c["passed"] and c.get("actual") == metrics[k]):
                    problems.append(f"check {k} == {metrics[k]!r}: {c}")
            elif k in refused:
                if c["passed"] or not (c.get("note") or "").startswith("metric refused"):
                    problems.append(f"check on refused {k}: {c}")
            elif c["passed"] or c.get("note") != "metric missing":
                problems.append(f"check on {k} (nothing posted): {c}")
    # The evidence holds exactly what the table lists (the C test's "nothing else may be posted").
    got_metrics = {k: (v.get("value") if isinstance(v, dict) else v)
                   for k, v in evidence_metrics(ev).items()}
    if got_metrics != metrics:
        problems.append(f"metrics {got_metrics}, want {metrics}")
    got_labels = evidence_labels(ev)
    want_labels = dict(labels)
    for k in refused:
        want_labels.setdefault("refused:" + k, None)
    for k, v in want_labels.items():
        if k not in got_labels or (v is not None and got_labels[k] != v):
            problems.append(f"label {k}={v!r} missing (labels {got_labels})")
    for k in got_labels:
        if k not in want_labels:
            problems.append(f"unexpected label {k}={got_labels[k]!r}")
    ev_notes = ev.get("notes") or []
    for n in notes:
        if not any(n in x for x in ev_notes):
            problems.append(f"no note contains {n!r} (notes {ev_notes})")
    return problems


def evidence_metrics(ev):
    m = ev.get("metrics") or {}
    if isinstance(m, list):
        return {x["key"]: x for x in m}
    return m


def evidence_labels(ev):
    lab = ev.get("labels") or {}
    if isinstance(lab, list):
        return {x["key"]: x["value"] for x in lab}
    return lab


# ---- cases ------------------------------------------------------------------------------------------

def case_the_reader_takes_every_case_of_the_table():
    """The reader finds as many cases as the C table has rows, at least 100."""
    path = os.path.join(rh.source_dir(), TABLE)
    cases = read_table(path)
    text = open(path, encoding="utf-8").read()
    body = text[text.index("cases[] = {"):]
    body = body[:body.index("\n};")]
    rows = len(re.findall(r"^\s*\{(?:L\(|big_digits,)", body, re.M))
    rh.check(len(cases) == rows, f"read {len(cases)} cases, the table has {rows} rows")
    rh.check(len(cases) >= 100, f"only {len(cases)} cases")
    # spot checks of the C escapes: the colour code, a NUL, U+2212, a \x escape before a letter
    logs = [c[1] for c in cases]
    for want in (b"\x1b[1mSPS \x1b[0m: 2000\n", b"x\x00y\x00 SPS=950 \x00tail\n",
                 b"\xe2\x88\x925 sps\n", b"\x1b[1\xffSPS: 16\n"):
        rh.check(want in logs, f"no case log {want!r}")


def case_every_table_case_through_the_host():
    d = rh.scratch()
    os.makedirs(os.path.join(d, "logs-in"))
    cases = read_table(os.path.join(rh.source_dir(), TABLE))
    plan, jobs = build(d, cases)
    r = rh.run(["-c", plan, "--no-color", "--no-interactive", "--release", "1"], cwd=d,
               timeout=300, env={"RELHOST_PLUGIN_PATH": None})
    state = os.path.join(d, "state", "release_1.json")
    rh.check(os.path.isfile(state) and r.rc in (0, 1, 3),
             f"relhost did not run the plan (exit {r.rc}, state file {state})", r)
    with open(state, encoding="utf-8") as f:
        doc = json.load(f)
    failures = []
    for job_id, idx, log, conf, expect, checks in jobs:
        job = doc.get("jobs", {}).get(job_id)
        if job is None:
            failures.append(f"case {idx} ({job_id}): no job in the state")
            continue
        problems = judge(job_id, idx, log, conf, expect, checks, job)
        if problems:
            failures.append(f"case {idx} \"{shown(log)}\" conf {conf} expect \"{expect}\":\n    "
                            + "\n    ".join(problems))
    print(f"{len(jobs)} cases through one relhost run ({len(jobs) - len(failures)} held)")
    if failures:
        rh.fail(f"{len(failures)} of {len(jobs)} cases failed through the host:\n"
                + "\n".join(failures) + f"\n(plan {plan})", r)


if __name__ == "__main__":
    raise SystemExit(rh.main(globals()))
