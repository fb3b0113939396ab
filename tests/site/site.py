#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""`relhost site`: the registry's static status page, end to end through the relhost binary.

Each case builds a registry by hand (manifest.json in the format core/registry/registry.h writes,
release states, a baseline store), runs `relhost site -c PLAN -o DIR`, and reads DIR/index.html.
Cases named browser_* render the page in headless Chromium (`--dump-dom`) and check the DOM the
browser built, so that what is asserted is what a reader sees, not what the bytes look like.
Without Chromium (Debian package `chromium`) they print SKIP and exit 77; CI installs it.
The other cases parse the file with html.parser and run everywhere.
"""
import html
import html.parser
import json
import os
import re
import shutil
import subprocess
import sys
import zlib

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))
import rh  # noqa: E402

HOSTILE_VERSION = "9.9<script>alert('v')</script>&\"x\""
HOSTILE_REASON = "<img src=x onerror=alert(1)> & \"double\" 'single' </td></tr>"


# ---- a DOM from HTML text -----------------------------------------------------------------------

VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source",
        "track", "wbr"}


class Node:
    def __init__(self, tag, attrs, parent):
        self.tag, self.attrs, self.parent = tag, dict(attrs), parent
        self.children, self.texts = [], []

    def classes(self):
        return (self.attrs.get("class") or "").split()

    def text(self):
        return "".join(self.texts) + "".join(c.text() for c in self.children)

    def iter(self):
        yield self
        for c in self.children:
            yield from c.iter()

    def find_all(self, tag=None, cls=None, **attrs):
        return [n for n in self.iter()
                if (tag is None or n.tag == tag) and (cls is None or cls in n.classes())
                and all(n.attrs.get(k.replace("_", "-")) == v for k, v in attrs.items())]

    def find(self, *a, **kw):
        found = self.find_all(*a, **kw)
        return found[0] if found else None


class Builder(html.parser.HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.root = Node("#document", {}, None)
        self.cur = self.root

    def handle_starttag(self, tag, attrs):
        n = Node(tag, attrs, self.cur)
        self.cur.children.append(n)
        if tag not in VOID:
            self.cur = n

    def handle_startendtag(self, tag, attrs):
        self.cur.children.append(Node(tag, attrs, self.cur))

    def handle_endtag(self, tag):
        n = self.cur
        while n is not None and n.tag != tag:
            n = n.parent
        if n is not None and n.parent is not None:
            self.cur = n.parent

    def handle_data(self, data):
        self.cur.texts.append(data)


def dom(text):
    b = Builder()
    b.feed(text)
    b.close()
    return b.root


def chromium():
    for c in ("chromium", "chromium-browser", "google-chrome"):
        p = shutil.which(c)
        if p:
            return p
    raise rh.Skip("no headless Chromium here (Debian: apt-get install chromium); "
                  "the page is checked in a browser in CI")


def rendered(page, folder, width=None):
    """The DOM Chromium builds from page (a file), as serialized by --dump-dom; width: the
    window's width in CSS px (Chromium's default when None). Chromium runs without network
    access beyond the file: every host name resolves to nothing."""
    exe = chromium()
    profile = os.path.join(folder, "chromium-profile")
    argv = [exe, "--headless=new", "--no-sandbox", "--disable-gpu", "--no-first-run",
            "--no-default-browser-check", "--disable-extensions", "--disable-dev-shm-usage",
            "--disable-background-networking", "--disable-component-update", "--disable-sync",
            "--host-resolver-rules=MAP * ~NOTFOUND", "--hide-scrollbars",
            "--force-device-scale-factor=1", f"--user-data-dir={profile}"]
    if width:
        argv.append(f"--window-size={width},2000")
    argv += ["--dump-dom", "file://" + page]
    env = dict(os.environ, HOME=folder)
    try:
        p = subprocess.run(argv, capture_output=True, text=True, timeout=120, env=env)
    except subprocess.TimeoutExpired:
        rh.fail(f"chromium --dump-dom {page} did not finish within 120 s")
    rh.check(p.returncode == 0 and "<html" in p.stdout,
             f"chromium --dump-dom failed (exit {p.returncode}):\n{p.stderr[-3000:]}")
    return dom(p.stdout)


# What the browser measured. Headless Chromium keeps its window at least 500 px wide, so the page
# is laid out in an <iframe> of the width wanted (srcdoc: same origin as its parent), in a COPY
# with a script injected (the page itself has none). Once laid out, the script writes into the
# parent's <html>: data-rh-measure, JSON with the viewport and document widths, every element
# whose box ends outside the viewport and is not inside a box that scrolls or clips it, SVG
# texts cut by their <svg>, and the smallest SVG text in screen px; data-rh-dom, the page's DOM.
MEASURE = r"""<script>(function () {
  var de = document.documentElement, vw = de.clientWidth, out = {
    vw: vw, inner: window.innerWidth, scroll: de.scrollWidth, over: [], cut: [],
    min_svg_font: null };
  function name(e) {
    return e.tagName.toLowerCase() + (e.id ? "#" + e.id : "") +
      (e.getAttribute("class") ? "." + e.getAttribute("class").split(" ").join(".") : "");
  }
  function contained(e) {
    for (var a = e.parentElement; a && a !== document.body; a = a.parentElement)
      if (getComputedStyle(a).overflowX !== "visible") return true;
    return false;
  }
  var all = document.body.getElementsByTagName("*");
  for (var i = 0; i < all.length; i++) {
    var e = all[i], r = e.getBoundingClientRect();
    if (e.tagName === "SCRIPT" || (r.width === 0 && r.height === 0)) continue;
    if ((r.right > vw + 0.5 || r.left < -0.5) && !contained(e))
      out.over.push(name(e) + " right=" + r.right.toFixed(1));
  }
  var texts = document.querySelectorAll("svg text");
  for (var j = 0; j < texts.length; j++) {
    var t = texts[j], svg = t.ownerSVGElement, tr = t.getBoundingClientRect();
    if (tr.width === 0 && tr.height === 0) continue;
    var sr = svg.getBoundingClientRect(), m = t.getScreenCTM();
    var px = parseFloat(getComputedStyle(t).fontSize) * Math.hypot(m.a, m.b);
    if (out.min_svg_font === null || px < out.min_svg_font) out.min_svg_font = px;
    if (tr.left < sr.left - 1 || tr.right > sr.right + 1 || tr.top < sr.top - 1 ||
        tr.bottom > sr.bottom + 1)
      out.cut.push(name(t) + " '" + t.textContent + "'");
  }
  var s = document.currentScript;
  s.parentNode.removeChild(s);
  var pe = parent.document.documentElement;
  pe.setAttribute("data-rh-measure", JSON.stringify(out));
  pe.setAttribute("data-rh-dom", de.outerHTML);
})();</script>"""


def measured(page, folder, width):
    """(dom, measures) of page laid out width px wide, measured by MEASURE in a copy of it."""
    raw = rh.read(page)
    rh.check(raw.count("</body>") == 1, f"{page} has no single </body>")
    doc = raw.replace("</body>", MEASURE + "</body>")
    frame = os.path.join(folder, f"measure-{width}.html")
    rh.write(frame, '<!DOCTYPE html><html><head><meta charset="utf-8"><style>body{margin:0}'
                    f'iframe{{border:0;display:block}}</style></head><body><iframe width="{width}"'
                    f' height="2000" srcdoc="{html.escape(doc, quote=True)}"></iframe></body>'
                    '</html>')
    outer = rendered(frame, folder, max(width, 800)).find("html")
    m, inner = outer.attrs.get("data-rh-measure"), outer.attrs.get("data-rh-dom")
    rh.check(m is not None and inner is not None, f"the measuring script did not run in {frame}")
    m = json.loads(m)
    rh.check(m["inner"] == width, f"the page was laid out {m['inner']} px wide, not {width}")
    return dom(inner), m


def fits(m, width, where, min_font=9.0):
    """Nothing of the page runs off a width px screen, no plot text is cut by its plot, and
    plot text is at least min_font px on screen."""
    rh.check(m["scroll"] <= m["vw"] and not m["over"],
             f"{where} at {width} px: the document is {m['scroll']} px wide for a {m['vw']} px "
             f"viewport; overflowing: {m['over'][:8]}")
    rh.check(not m["cut"], f"{where} at {width} px: plot text cut by its plot: {m['cut'][:8]}")
    rh.check(m["min_svg_font"] is None or m["min_svg_font"] >= min_font,
             f"{where} at {width} px: plot text shrinks to {m['min_svg_font']:.1f} px "
             f"(at least {min_font} px wanted)")


# ---- fixtures ----------------------------------------------------------------------------------

def plan(d):
    return rh.write_plan(d, 'name = "sitetest";\nversion = "auto";\nstate_dir = "state";\n'
                            'log_dir = "logs";\nregistry_dir = "registry";\n'
                            'steps = ( { name = "noop"; plugin = "command"; cmd = ["true"]; } );\n')


def job(validation, outcome, checks, metrics):
    return {"step": "workflow-tests", "validation": validation, "outcome": outcome,
            "lifecycle": "completed",
            "evidence": {"artifacts": [], "labels": {}, "notes": [], "checks": checks,
                         "metrics": {k: {"value": v, "samples": 1, "source": "logs"}
                                     for k, v in metrics.items()}}}


def check(key, op, expected, actual, passed, **more):
    c = {"key": key, "op": op, "expected": expected, "actual": actual, "passed": passed,
         "note": None}
    c.update(more)
    return c


def write_state(d, version, jobs, outcome="PASSED"):
    root = {"schema": 1, "version": version, "seq": 3, "finished": True,
            "exit_code": 0 if outcome == "PASSED" else 1,
            "steps": {"workflow-tests": {"outcome": outcome, "reason": None if outcome == "PASSED"
                                         else "validation_failed", "evidence": {"checks": []}}},
            "jobs": {f"workflow-tests/{j['validation']}": j for j in jobs}}
    rh.write(os.path.join(d, "state", f"release_{version}.json"), json.dumps(root, indent=2))


def release(version, status, commit, **kw):
    r = {"version": version, "commit": commit, "status": status, "staged_at": None,
         "promoted_at": None, "quarantined_at": None, "rolled_back_at": None, "reason": None,
         "artifacts": [{"path": "app.tar", "sha256": "ab" * 32, "size": 10}]}
    r.update(kw)
    return r


# The registry of fixture(): 5 releases, oldest first. 1.2 has no state file; 1.1 has no
# sps_max (so sps_max has 3 points and eval_success_rate 4); 1.3's eval rate is only a check's
# actual, not a metric.
RELEASES = ["0.9", "1.0", "1.1", "1.2", "1.3"]
STATUS = {"0.9": "promoted", "1.0": "promoted", "1.1": "rolled_back", "1.2": "quarantined",
          "1.3": "staged"}
POINTERS = {"latest": "1.3", "last_green": "1.0", "previous_green": "0.9"}
SPS = {"0.9": 35000.0, "1.0": 36500.0, "1.3": 31000.0}
EVAL = {"0.9": 0.91, "1.0": 0.93, "1.1": 0.7, "1.3": 0.95}


# More metrics for fixture(more=True): two flat ones nobody checks (exit_code and restart_count,
# 0 in every release) and one that moves, unchecked, with a unit in its name.
EPOCH = {"0.9": 61.5, "1.0": 58.0, "1.1": 57.25, "1.3": 66.0}


def more_metrics(version):
    m = {"exit_code": 0.0, "restart_count": 0.0}
    if version in EPOCH:
        m["epoch_time_s"] = EPOCH[version]
    return m


def audit(d, *lines):
    """The registry's audit log, one JSON object per line, as core/registry/audit.c appends."""
    path = os.path.join(d, "registry", "audit.jsonl")
    old = rh.read(path) if os.path.exists(path) else ""
    rh.write(path, old + "".join(json.dumps(x) + "\n" for x in lines))


# The audit log of fixture()'s registry: 0.9, 1.0 and 1.1 promoted, 1.1 rolled back to 1.0.
AUDIT = [
    {"at": "2026-01-01T11:00:00Z", "operation": "promote", "version": "0.9", "from": None,
     "to": "0.9", "id": "promote-1", "user": "alice", "host": "ci1"},
    {"at": "2026-01-02T11:00:00Z", "operation": "promote", "version": "1.0", "from": "0.9",
     "to": "1.0", "id": "promote-2", "user": "alice", "host": "ci1"},
    {"at": "2026-01-03T11:00:00Z", "operation": "promote", "version": "1.1", "from": "1.0",
     "to": "1.1", "id": "promote-3", "user": "alice", "host": "ci1"},
    {"at": "2026-01-03T15:00:00Z", "operation": "rollback", "from": "1.1", "to": "1.0",
     "reason": "eval rate regressed in production", "id": "rollback-4", "user": "bob",
     "host": "laptop7"},
    {"at": "2026-01-04T09:00:00Z", "operation": "quarantine", "version": "1.2",
     "reason": "gate sps_max failed", "id": "quarantine-5", "user": "carol", "host": "ci1"},
]


def fixture(d, extra_release=None, more=False):
    rels = [release("0.9", "promoted", "a" * 40, staged_at="2026-01-01T10:00:00Z",
                    promoted_at="2026-01-01T11:00:00Z"),
            release("1.0", "promoted", "b" * 40, staged_at="2026-01-02T10:00:00Z",
                    promoted_at="2026-01-02T11:00:00Z"),
            release("1.1", "rolled_back", "c" * 40, staged_at="2026-01-03T10:00:00Z",
                    promoted_at="2026-01-03T11:00:00Z", rolled_back_at="2026-01-03T15:00:00Z",
                    reason="eval rate regressed in production"),
            release("1.2", "quarantined", "d" * 40, staged_at="2026-01-04T10:00:00Z",
                    quarantined_at="2026-01-04T10:30:00Z", reason="gate sps_max failed"),
            release("1.3", "staged", None, staged_at="2026-01-05T10:00:00Z")]
    pointers = dict(POINTERS)
    if extra_release:
        rels.append(extra_release)
        pointers["latest"] = extra_release["version"]
    rh.write(os.path.join(d, "registry", "manifest.json"),
             json.dumps({"schema": 1, "pointers": pointers, "releases": rels}, indent=2))
    extra = more_metrics if more else (lambda v: {})
    write_state(d, "0.9", [job("smoke", "PASSED",
                               [check("sps_max", ">=", 30000.0, 35000.0, True,
                                      baseline=34000.0, bound=30600.0)],
                               dict({"sps_max": 35000.0, "eval_success_rate": 0.91},
                                    **extra("0.9")))])
    write_state(d, "1.0", [job("smoke", "PASSED",
                               [check("sps_max", ">=", 30000.0, 36500.0, True),
                                check("eval_success_rate", "range", 0.8, 0.93, True,
                                      expected_hi=1.0)],
                               dict({"sps_max": 36500.0, "eval_success_rate": 0.93},
                                    **extra("1.0")))])
    write_state(d, "1.1", [job("smoke", "PASSED", [],
                               dict({"eval_success_rate": 0.7}, **extra("1.1")))])
    write_state(d, "1.3", [job("smoke", "FAILED",
                               [check("sps_max", ">=", 32000.0, 31000.0, False),
                                check("eval_success_rate", ">=", 0.9, 0.95, True)],
                               dict({"sps_max": 31000.0}, **extra("1.3")))], outcome="FAILED")
    base = {"schema": 1, "metrics": {
        "smoke::sps_max": {"value": 36500.0, "samples": [36400.0, 36500.0], "version": "1.0",
                           "commit": "b" * 40, "recorded_at": "2026-01-02T11:00:00Z"},
        "smoke::eval_success_rate": {"value": 0.93, "samples": [0.93], "version": "1.0",
                                     "commit": "b" * 40, "recorded_at": "2026-01-02T11:00:00Z"}}}
    if more:
        for k, v in (("exit_code", 0.0), ("restart_count", 0.0), ("epoch_time_s", 58.0)):
            base["metrics"]["smoke::" + k] = {"value": v, "samples": [v], "version": "1.0",
                                              "commit": "b" * 40,
                                              "recorded_at": "2026-01-02T11:00:00Z"}
    rh.write(os.path.join(d, "state", "baseline.json"), json.dumps(base, indent=2))


def site(d, out=None, code=0, **kw):
    out = out or os.path.join(d, "www")
    r = rh.run(["site", "-c", os.path.join(d, "plan.cfg"), "-o", out], cwd=d)
    if code == 0:
        rh.expect(r, 0, out=[rh.q(os.path.join(out, "index.html"))], **kw)
    else:
        rh.expect(r, code, **kw)
    return r, os.path.join(out, "index.html")


def no_active_content(text, where):
    """Nothing that runs or fetches: no script or embedded element, no event handler, no src,
    links only within the page, no CSS import or url()."""
    low = text.lower()
    for bad in ("<script", "<img", "<link", "<iframe", "<object", "<embed", "javascript:"):
        rh.check(bad not in low, f"{where} contains {bad!r}")
    doc = dom(text)
    for n in doc.iter():
        for k, v in n.attrs.items():
            rh.check(not k.startswith("on") and k != "src" and k != "xmlns",
                     f"{where}: <{n.tag}> has an attribute {k}={v!r}")
            rh.check(k != "href" or (v or "").startswith("#"),
                     f"{where}: <{n.tag}> links outside the page: {v!r}")
    style = "".join(n.text() for n in doc.find_all("style")).lower()
    rh.check("url(" not in style and "@import" not in style and "@font-face" not in style,
             f"{where}: its CSS fetches something")


# ---- cases -------------------------------------------------------------------------------------

def case_browser_page_shows_releases_pointers_checks_and_trends():
    d = rh.scratch()
    plan(d)
    fixture(d)
    _, page = site(d)
    raw = rh.read(page)
    no_active_content(raw, page)
    doc = rendered(page, d)
    rh.check(not doc.find_all("script"), "the rendered page has a <script> element")

    rows = doc.find_all("tr", cls="release")
    got = [(r.attrs.get("data-version"), r.attrs.get("data-status")) for r in rows]
    want = [(v, STATUS[v]) for v in reversed(RELEASES)]
    rh.check(got == want, f"release rows (newest first) are {got}, want {want}")
    for r in rows:
        v = r.attrs["data-version"]
        badges = sorted(s.attrs.get("data-pointer") for s in r.find_all("span", cls="pointer"))
        want_b = sorted(k for k, pv in POINTERS.items() if pv == v)
        rh.check(badges == want_b, f"row {v} has pointer badges {badges}, want {want_b}")
        status_text = r.find("td", cls="status").text().strip()
        rh.check(status_text == STATUS[v].replace("_", " "),
                 f"row {v} shows status {status_text!r}, want the word, not only a colour")
    row = {r.attrs["data-version"]: r for r in rows}
    rh.check(row["1.1"].find("td", cls="reason").text() == "eval rate regressed in production",
             "the rolled-back release's reason is not in its row")
    rh.check("gate sps_max failed" in row["1.2"].find("td", cls="reason").text(),
             "the quarantined release's reason is not in its row")
    rh.check(row["1.0"].find("td", cls="commit").text().strip() == "b" * 10,
             f"commit cell: {row['1.0'].find('td', cls='commit').text()!r}, want a short sha")
    rh.check(row["1.3"].find("td", cls="commit").text().strip() == "\u2014",
             "a release without a commit should show a dash")

    # Checks per release; 1.2's state is missing and it still has its section, with a note.
    checks = {s.attrs["data-version"]: s for s in doc.find_all("details", cls="release-checks")}
    rh.check(sorted(checks) == sorted(RELEASES), f"check sections for {sorted(checks)}")
    counts = {v: len(s.find_all("tr", cls="check")) for v, s in checks.items()}
    rh.check(counts == {"0.9": 1, "1.0": 2, "1.1": 0, "1.2": 0, "1.3": 2},
             f"check rows per release: {counts}")
    note = checks["1.2"].find("p", cls="state-missing")
    rh.check(note is not None and "no state file" in note.text(),
             "release 1.2 has no state file, but its section has no note saying so")
    step = checks["1.3"].find("li", cls="step", data_step="workflow-tests")
    rh.check(step is not None and step.attrs.get("data-outcome") == "FAILED"
             and "validation_failed" in step.text(), "1.3's failed step is not shown as such")
    failing = checks["1.3"].find("tr", cls="check", data_metric="sps_max")
    rh.check(failing is not None and failing.attrs.get("data-passed") == "false"
             and "FAIL" in failing.text() and "31000" in failing.text()
             and "32000" in failing.text(), "1.3's failing sps_max check row is wrong")
    rng = checks["1.0"].find("tr", cls="check", data_metric="eval_success_rate")
    rh.check(rng is not None and "0.8 .. 1" in rng.find("td", cls="expected").text(),
             "a range check should show its bounds")
    first = checks["0.9"].find("tr", cls="check")
    rh.check(first.find("td", cls="baseline") is not None
             and first.find("td", cls="baseline").text() == "34000"
             and first.find("td", cls="bound").text() == "30600",
             "0.9's check carries a baseline and a bound, and they are not shown")
    rh.check(checks["1.0"].find("td", cls="baseline") is None,
             "1.0's checks carry no baseline, but a baseline column is shown")

    # One figure per baseline metric, one point per release that has a value.
    figs = {f.attrs.get("data-metric"): f for f in doc.find_all("figure", cls="trend")}
    rh.check(sorted(figs) == ["smoke::eval_success_rate", "smoke::sps_max"],
             f"trend figures: {sorted(figs)}")
    for key, values in (("smoke::sps_max", SPS), ("smoke::eval_success_rate", EVAL)):
        svg = figs[key].find("svg")
        rh.check(svg is not None, f"figure {key} has no <svg>")
        pts = [n for n in svg.iter() if "point" in n.classes()]
        got = {p.attrs["data-version"]: (float(p.attrs["data-value"]), p.attrs["data-status"])
               for p in pts}
        want = {v: (x, STATUS[v]) for v, x in values.items()}
        rh.check(got == want and len(pts) == len(values),
                 f"{key}: points {got}, want {want}")
        base = svg.find_all("line", cls="baseline")
        rh.check(len(base) == 1 and float(base[0].attrs["data-value"]) ==
                 {"smoke::sps_max": 36500.0, "smoke::eval_success_rate": 0.93}[key],
                 f"{key}: the baseline line is missing or wrong")
        y_ticks(figs[key])
        rh.check(figs[key].attrs.get("data-points") == str(len(values)),
                 f"{key}: data-points is {figs[key].attrs.get('data-points')}")
    # Shapes: a quarantined or rolled-back point is not drawn like a promoted one.
    eval_svg = figs["smoke::eval_success_rate"].find("svg")
    shapes = {p.attrs["data-version"]: p.tag for p in eval_svg.iter() if "point" in p.classes()}
    rh.check(shapes["1.0"] == "circle" and shapes["1.1"] == "rect",
             f"point shapes by status: {shapes}")


def first_element(node):
    return next(c for c in node.children if c.tag not in ("#text",))


def banner_of(doc):
    body = doc.find("body")
    rh.check(body is not None and body.children, "the page has no body")
    first = first_element(body)
    rh.check(first.attrs.get("id") == "banner",
             f"the first thing in the body is <{first.tag} id={first.attrs.get('id')!r}>, "
             "not the banner")
    return first


def case_banner_says_what_is_live_since_when_and_the_last_change():
    d = rh.scratch()
    plan(d)
    fixture(d)
    audit(d, *AUDIT)
    _, page = site(d)
    b = banner_of(dom(rh.read(page)))
    txt = " ".join(b.text().split())
    rh.check(b.attrs.get("data-live") == "1.0", f"live: {b.attrs.get('data-live')!r}, want 1.0")
    rh.check(b.attrs.get("data-since") == "2026-01-03T15:00:00Z",
             f"since: {b.attrs.get('data-since')!r}, want the rollback that made 1.0 live")
    rh.check(b.attrs.get("data-health") == "degraded",
             f"health after a rollback: {b.attrs.get('data-health')!r}, want degraded")
    last = b.find(id="last-change")
    rh.check(last is not None and last.attrs.get("data-operation") == "rollback"
             and last.attrs.get("data-by") == "bob", f"last change: {last and last.attrs}")
    lt = " ".join(last.text().split())
    for want in ("1.1", "1.0", "bob", "eval rate regressed in production",
                 "2026-01-03T15:00:00Z"):
        rh.check(want in lt, f"the last change does not say {want!r}: {lt!r}")
    rh.check("1.0" in txt and "live" in txt.lower(), f"the banner does not say what is live: {txt}")

    # Promoted and passed, nothing else: healthy; the promotion is the last change.
    mpath = os.path.join(d, "registry", "manifest.json")
    m = json.loads(rh.read(mpath))
    r11 = next(r for r in m["releases"] if r["version"] == "1.1")
    r11.update(status="promoted", rolled_back_at=None, reason=None)
    m["pointers"]["last_green"] = "1.1"
    rh.write(mpath, json.dumps(m))
    os.remove(os.path.join(d, "registry", "audit.jsonl"))
    audit(d, *AUDIT[:3])
    _, page = site(d)
    b = banner_of(dom(rh.read(page)))
    rh.check((b.attrs.get("data-live"), b.attrs.get("data-health"), b.attrs.get("data-since"))
             == ("1.1", "healthy", "2026-01-03T11:00:00Z"), f"banner: {b.attrs}")
    last = b.find(id="last-change")
    rh.check(last.attrs.get("data-operation") == "promote" and last.attrs.get("data-by") ==
             "alice", f"last change: {last.attrs}")

    # A kill switch: degraded, with who and why.
    rh.write(os.path.join(d, "state", "frozen.json"),
             json.dumps({"reason": "incident 42", "by": "dave", "at": "2026-01-04T08:00:00Z"}))
    _, page = site(d)
    b = banner_of(dom(rh.read(page)))
    txt = " ".join(b.text().split())
    rh.check(b.attrs.get("data-health") == "degraded" and b.attrs.get("data-frozen") == "true"
             and "incident 42" in txt and "dave" in txt, f"frozen banner: {b.attrs} {txt}")
    # A kill switch that cannot be read: the page is still written, and says it cannot tell.
    rh.write(os.path.join(d, "state", "frozen.json"), '{"reason": ')
    _, page = site(d)
    b = banner_of(dom(rh.read(page)))
    rh.check(b.attrs.get("data-health") == "unknown" and "kill switch cannot be read" in
             " ".join(b.text().split()), f"unreadable freeze file: {b.attrs} {b.text()}")
    os.remove(os.path.join(d, "state", "frozen.json"))

    # The registry writes the page from the promote step, before the run ends: a run still going
    # is judged by the required steps that ended.
    spath = os.path.join(d, "state", "release_1.1.json")
    st = json.loads(rh.read(spath))
    st.update(finished=False, exit_code=None)
    st["steps"]["workflow-tests"]["required"] = True
    rh.write(spath, json.dumps(st))
    _, page = site(d)
    b = banner_of(dom(rh.read(page)))
    rh.check(b.attrs.get("data-health") == "healthy" and "still going" in b.text(),
             f"a promoted release whose run is still going: {b.attrs} {b.text()}")
    st["steps"]["workflow-tests"]["outcome"] = "ERROR"
    rh.write(spath, json.dumps(st))
    _, page = site(d)
    b = banner_of(dom(rh.read(page)))
    rh.check(b.attrs.get("data-health") == "unhealthy" and "workflow-tests" in b.text(),
             f"a required step that ended in ERROR: {b.attrs} {b.text()}")

    # The live release's run failed: unhealthy, and a line of the log that does not parse is
    # skipped with a note.
    write_state(d, "1.1", [job("smoke", "FAILED", [], {})], outcome="FAILED")
    audit(d, "not json")
    _, page = site(d)
    b = banner_of(dom(rh.read(page)))
    txt = " ".join(b.text().split())
    rh.check(b.attrs.get("data-health") == "unhealthy", f"failed live release: {b.attrs}")
    rh.check("could not be read" in txt and "audit" in txt,
             f"the unreadable audit line is not mentioned: {txt}")

    # No state for the live release: not healthy (unknown), never guessed.
    os.remove(os.path.join(d, "state", "release_1.1.json"))
    _, page = site(d)
    b = banner_of(dom(rh.read(page)))
    rh.check(b.attrs.get("data-health") == "unknown", f"live release without state: {b.attrs}")

    # Nothing live.
    m["pointers"]["last_green"] = None
    rh.write(mpath, json.dumps(m))
    _, page = site(d)
    b = banner_of(dom(rh.read(page)))
    rh.check(b.attrs.get("data-health") == "unhealthy" and "data-live" not in b.attrs
             and "nothing is live" in b.text().lower(), f"nothing live: {b.attrs} {b.text()}")


def case_banner_without_audit_log_takes_the_last_change_from_the_manifest():
    d = rh.scratch()
    plan(d)
    fixture(d)
    _, page = site(d)
    b = banner_of(dom(rh.read(page)))
    last = b.find(id="last-change")
    rh.check(last is not None and last.attrs.get("data-operation") == "rollback"
             and last.attrs.get("data-at") == "2026-01-03T15:00:00Z"
             and "data-by" not in last.attrs, f"last change: {last and last.attrs}")
    lt = " ".join(last.text().split())
    rh.check("eval rate regressed in production" in lt and "no audit log" in lt,
             f"the last change without an audit log: {lt!r}")


def figures_in_order(doc):
    sec = doc.find("section", id="trends")
    rh.check(sec is not None, "no trends section")
    return [f for f in sec.iter() if f.tag == "figure" and "trend" in f.classes()]


def is_nice_step(step):
    import math
    e = math.floor(math.log10(step))
    mant = step / 10 ** e
    return any(abs(mant - n) < 1e-6 for n in (1, 2, 2.5, 5, 10))


def y_ticks(fig):
    ticks = fig.find_all("text", cls="y-tick")
    vals = [float(t.attrs["data-value"]) for t in ticks]
    rh.check(len(vals) >= 3, f"{fig.attrs.get('data-metric')}: {len(vals)} y ticks, want >= 3")
    steps = sorted({round(b - a, 9) for a, b in zip(sorted(vals), sorted(vals)[1:])})
    rh.check(len(steps) == 1 and is_nice_step(steps[0]),
             f"{fig.attrs.get('data-metric')}: tick values {vals} are not evenly spaced by a "
             "nice step (1, 2, 2.5 or 5 times a power of ten)")
    for t, v in zip(ticks, vals):
        rh.check(t.text().strip().replace(",", "") and abs(float(t.text().replace(",", ""))
                                                           - v) < 1e-9 * max(1, abs(v)),
                 f"tick label {t.text()!r} does not read as {v}")
    return vals


def case_plots_checked_first_flat_last_with_threshold_baseline_ticks_and_units():
    d = rh.scratch()
    plan(d)
    fixture(d, more=True)
    _, page = site(d)
    doc = dom(rh.read(page))
    figs = figures_in_order(doc)
    order = [f.attrs.get("data-metric") for f in figs]
    want = ["smoke::eval_success_rate", "smoke::sps_max", "smoke::epoch_time_s",
            "smoke::exit_code", "smoke::restart_count"]
    rh.check(order == want, f"plot order {order}, want checked first, flat last: {want}")
    fold = doc.find("details", cls="flat-metrics")
    rh.check(fold is not None and "open" not in fold.attrs and
             sorted(f.attrs.get("data-metric") for f in fold.find_all("figure")) ==
             ["smoke::exit_code", "smoke::restart_count"],
             "the flat metrics are not folded away in <details class=flat-metrics>")
    by = {f.attrs["data-metric"]: f for f in figs}
    rh.check(by["smoke::sps_max"].attrs.get("data-checked") == "true" and
             by["smoke::epoch_time_s"].attrs.get("data-checked") == "false",
             "data-checked is wrong")

    sps = by["smoke::sps_max"]
    th = sps.find_all("line", cls="threshold")
    rh.check([float(t.attrs["data-value"]) for t in th] == [32000.0],
             f"sps_max: threshold lines {[t.attrs for t in th]}, want one at 32000 (the "
             "newest check)")
    lab = sps.find("text", cls="threshold-label")
    rh.check(lab is not None and "32000" in lab.text() and ">=" in lab.text().replace("\u2265",
                                                                                     ">="),
             f"sps_max: the threshold is not labelled: {lab and lab.text()}")
    bl = sps.find("text", cls="baseline-label")
    rh.check(bl is not None and "baseline" in bl.text() and "36500" in bl.text()
             and "1.0" in bl.text(), f"sps_max: baseline label {bl and bl.text()!r}")
    rng = by["smoke::eval_success_rate"].find_all("line", cls="threshold")
    rh.check([float(t.attrs["data-value"]) for t in rng] == [0.9],
             f"eval_success_rate: thresholds {[t.attrs for t in rng]}")
    rh.check(not by["smoke::epoch_time_s"].find_all("line", cls="threshold"),
             "an unchecked metric got a threshold line")

    for f in figs:
        vals = y_ticks(f)
        pts = [float(p.attrs["data-value"]) for p in f.iter() if "point" in p.classes()]
        base = f.find("line", cls="baseline")
        allv = pts + ([float(base.attrs["data-value"])] if base is not None else [])
        rh.check(min(vals) <= min(allv) and max(vals) >= max(allv),
                 f"{f.attrs['data-metric']}: ticks {vals} do not span the values {allv}")
        title = f.find("text", cls="y-title")
        rh.check(title is not None and f.attrs["data-metric"].split("::")[1] in title.text(),
                 f"{f.attrs['data-metric']}: no y axis title naming the metric")
        xt = f.find("text", cls="x-title")
        rh.check(xt is not None and "release" in xt.text(), "no x axis title")
    unit = by["smoke::epoch_time_s"].find("text", cls="y-title").text()
    rh.check("(s)" in unit, f"epoch_time_s: the axis title {unit!r} does not give its unit (s)")

    # A baseline rule next to a fixed threshold: both drawn, the rule's bound labelled as one.
    write_state(d, "1.3", [job("smoke", "FAILED",
                               [check("sps_max", ">=", 32000.0, 31000.0, False),
                                check("sps_max", ">=", None, 31000.0, True, baseline=34000.0,
                                      bound=30600.0, direction="higher", rel=0.1)],
                               {"sps_max": 31000.0})], outcome="FAILED")
    _, page = site(d)
    fig = dom(rh.read(page)).find("figure", cls="trend", data_metric="smoke::sps_max")
    lines = sorted(float(t.attrs["data-value"]) for t in fig.find_all("line", cls="threshold"))
    labels = [t.text() for t in fig.find_all("text", cls="threshold-label")]
    rh.check(lines == [30600.0, 32000.0] and any("bound" in x and "30600" in x for x in labels),
             f"sps_max with a baseline rule: threshold lines {lines}, labels {labels}")


def case_plot_ticks_stay_apart_for_tiny_changes_and_huge_values():
    """Ticks are distinct round numbers whatever the scale: a metric that moves in the 7th
    decimal, one near the largest double (no overflow, no crash), and one that never moves."""
    d = rh.scratch()
    plan(d)
    cases = {"smoke::fine": [1.0000001, 1.0000003, 1.0000002],
             "smoke::huge": [-1.7e308, 1.7e308, 0.0],
             "smoke::big": [4.2e12, 4.2000001e12, 4.1999999e12],
             "smoke::same": [3.0, 3.0, 3.0]}
    versions = ["1.0", "1.1", "1.2"]
    rh.write(os.path.join(d, "registry", "manifest.json"), json.dumps(
        {"schema": 1, "pointers": {"latest": "1.2", "last_green": "1.2", "previous_green": None},
         "releases": [release(v, "promoted", None, promoted_at=f"2026-01-0{i + 1}T00:00:00Z")
                      for i, v in enumerate(versions)]}))
    for i, v in enumerate(versions):
        write_state(d, v, [job("smoke", "PASSED", [],
                               {k.split("::")[1]: vals[i] for k, vals in cases.items()})])
    rh.write(os.path.join(d, "state", "baseline.json"), json.dumps(
        {"schema": 1, "metrics": {k: {"value": vals[2], "version": "1.2"}
                                  for k, vals in cases.items()}}))
    _, page = site(d)
    doc = dom(rh.read(page))
    for k, vals in cases.items():
        fig = doc.find("figure", cls="trend", data_metric=k)
        rh.check(fig is not None, f"no plot for {k}")
        if k == "smoke::huge":
            ticks = [float(t.attrs["data-value"]) for t in fig.find_all("text", cls="y-tick")]
            rh.check(len(set(ticks)) == len(ticks) >= 3 and min(ticks) <= -1.7e308
                     and max(ticks) >= 1.7e308, f"{k}: ticks {ticks}")
        else:
            y_ticks(fig)
        for n in fig.iter():
            for a in ("x1", "y1", "x2", "y2", "cx", "cy", "x", "y"):
                if a in n.attrs:
                    rh.check(n.attrs[a] not in ("nan", "-nan", "inf", "-inf"),
                             f"{k}: <{n.tag} {a}={n.attrs[a]}>")


def case_baseline_from_a_rolled_back_release_is_labelled_as_such():
    d = rh.scratch()
    plan(d)
    fixture(d)
    bpath = os.path.join(d, "state", "baseline.json")
    b = json.loads(rh.read(bpath))
    b["metrics"]["smoke::eval_success_rate"].update(value=0.7, version="1.1")
    rh.write(bpath, json.dumps(b))
    _, page = site(d)
    doc = dom(rh.read(page))
    fig = doc.find("figure", cls="trend", data_metric="smoke::eval_success_rate")
    lab = fig.find("text", cls="baseline-label")
    cap = " ".join(fig.find("figcaption").text().split())
    rh.check(fig.attrs.get("data-baseline-status") == "rolled_back",
             f"data-baseline-status is {fig.attrs.get('data-baseline-status')!r}")
    rh.check("rolled back" in lab.text() and "1.1" in lab.text(),
             f"the baseline label {lab.text()!r} does not say it comes from rolled-back 1.1")
    rh.check("rolled-back release 1.1" in cap, f"caption: {cap!r}")
    other = doc.find("figure", cls="trend", data_metric="smoke::sps_max")
    rh.check("rolled back" not in other.find("text", cls="baseline-label").text(),
             "a baseline from a promoted release is labelled rolled back")


OVERFLOW_UNIT = """<!DOCTYPE html><html><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1"></head><body>
<div style="overflow-x:auto"><table><tr><td style="white-space:nowrap">%s</td></tr></table></div>
%s
<svg viewBox="0 0 %s 50" style="width:100%%"><text x="%s" y="20" style="font-size:12px">%s</text>
</svg></body></html>"""


def case_browser_overflow_check_catches_what_overflows():
    """The measuring helper itself: a page that overflows, cuts a plot's text or shrinks it is
    caught; the same content kept in a scrolling box is not."""
    d = rh.scratch()
    wide = "x" * 400
    good = os.path.join(d, "good.html")
    rh.write(good, OVERFLOW_UNIT % (wide, "<p>fits</p>", 300, 10, "ok"))
    _, m = measured(good, d, 390)
    fits(m, 390, "the page that fits")
    for name, body, vbw, x, label, what in (
            ("wide", '<div style="width:900px">wide</div>', 300, 10, "ok", "overflowing"),
            ("cut", "<p>x</p>", 300, 250, "a label too long", "plot text cut"),
            ("tiny", "<p>x</p>", 1000, 10, "ok", "shrinks to")):
        page = os.path.join(d, name + ".html")
        rh.write(page, OVERFLOW_UNIT % (wide, body, vbw, x, label))
        _, m = measured(page, d, 390)
        try:
            fits(m, 390, name)
        except rh.Failure as e:
            rh.check(what in str(e), f"{name}: caught, but as {e}")
            continue
        rh.fail(f"the {name} page passed the overflow check: {m}")


def case_browser_page_fits_1280_and_390():
    d = rh.scratch()
    plan(d)
    long_version = "2026.12.06-release-candidate-with-a-very-long-name"
    fixture(d, more=True, extra_release=release(
        long_version, "quarantined", "e" * 40, staged_at="2026-01-06T10:00:00Z",
        quarantined_at="2026-01-06T10:30:00Z", reason="R" * 300))
    audit(d, *AUDIT, {"at": "2026-01-06T10:30:00Z", "operation": "rollback", "from": "1.0",
                      "to": "0.9", "reason": "W" * 300, "id": "rollback-6", "user": "erin",
                      "host": "h"})
    m = json.loads(rh.read(os.path.join(d, "registry", "manifest.json")))
    m["pointers"]["last_green"] = "0.9"
    rh.write(os.path.join(d, "registry", "manifest.json"), json.dumps(m))
    _, page = site(d)
    for width in (1280, 390):
        doc, m = measured(page, d, width)
        fits(m, width, "the status page")
        b = banner_of(doc)
        rh.check(b.attrs.get("data-live") == "0.9" and b.find(id="last-change") is not None,
                 f"at {width} px the banner is {b.attrs}")
        figs = figures_in_order(doc)
        rh.check([f.attrs.get("data-metric") for f in figs][:2] ==
                 ["smoke::eval_success_rate", "smoke::sps_max"],
                 f"at {width} px the checked plots do not come first")
        sps = next(f for f in figs if f.attrs.get("data-metric") == "smoke::sps_max")
        for cls in ("threshold", "baseline"):
            rh.check(sps.find("line", cls=cls) is not None and
                     sps.find("text", cls=cls + "-label") is not None,
                     f"at {width} px sps_max has no labelled {cls} line")
        t = doc.find("table", cls="releases")
        rh.check(t is not None and "table-scroll" in t.parent.classes(),
                 "the releases table is not in a box of its own that scrolls")


def case_browser_hostile_strings_are_escaped():
    d = rh.scratch()
    plan(d)
    fixture(d, extra_release=release(HOSTILE_VERSION, "quarantined", "<b>bold</b>",
                                     staged_at="<i>x</i>", reason=HOSTILE_REASON))
    audit(d, {"at": "<u>t</u>", "operation": "rollback", "from": HOSTILE_VERSION, "to": "1.0",
              "reason": HOSTILE_REASON, "user": "<b>mallory</b>", "host": "\"><svg onload=x>"})
    _, page = site(d)
    raw = rh.read(page)
    no_active_content(raw, page)
    rh.check("&lt;script&gt;" in raw and "&lt;img src=x" in raw,
             "the hostile version and reason are not HTML-escaped in the file")
    doc = rendered(page, d)
    rh.check(not doc.find_all("script") and not doc.find_all("img")
             and not doc.find_all("b") and not doc.find_all("i"),
             "a user string became an element in the rendered page")
    rows = doc.find_all("tr", cls="release")
    rh.check(rows[0].attrs.get("data-version") == HOSTILE_VERSION,
             f"the newest row's data-version is {rows[0].attrs.get('data-version')!r}")
    rh.check(rows[0].find("td", cls="reason").text() == HOSTILE_REASON,
             f"the reason reads {rows[0].find('td', cls='reason').text()!r} in the browser")
    rh.check(rows[0].find("td", cls="version").text() == HOSTILE_VERSION,
             "the version cell does not show the version as text")
    rh.check([s.attrs.get("data-pointer") for s in rows[0].find_all("span", cls="pointer")]
             == ["latest"], "the latest badge is not on the hostile release's row")
    rh.check(len(rows) == len(RELEASES) + 1 and all(len(r.find_all("td")) == 8 for r in rows),
             "the hostile reason broke the table's rows or cells")
    last = banner_of(doc).find(id="last-change")
    rh.check(last.attrs.get("data-by") == "<b>mallory</b>" and HOSTILE_REASON in last.text()
             and HOSTILE_VERSION in last.text() and "\"><svg onload=x>" in last.text()
             and not last.find_all("svg"),
             f"the hostile audit line is not shown as text: {last.attrs} {last.text()!r}")
    sec = doc.find("details", cls="release-checks", data_version=HOSTILE_VERSION)
    rh.check(sec is not None and sec.find("p", cls="state-missing") is not None,
             "the hostile release has no section with a note about its unreadable state")


def case_page_without_browser_lists_every_release():
    """The same page, read with html.parser: runs where Chromium is absent."""
    d = rh.scratch()
    plan(d)
    fixture(d)
    r, page = site(d)
    rh.expect(r, 0, not_err=[r"."])
    raw = rh.read(page)
    no_active_content(raw, page)
    doc = dom(raw)
    got = [t.attrs.get("data-version") for t in doc.find_all("tr", cls="release")]
    rh.check(got == list(reversed(RELEASES)), f"rows {got}")
    rh.check(raw.startswith("<!DOCTYPE html>") and "<style>" in raw, "not a self-contained page")
    rh.check(not os.path.exists(page + ".tmp"), "index.html.tmp was left behind")
    # Writing again replaces the page (atomically, through index.html.tmp).
    os.remove(os.path.join(d, "state", "baseline.json"))
    mpath = os.path.join(d, "registry", "manifest.json")
    m = json.loads(rh.read(mpath))
    m["pointers"]["previous_green"] = "0.1"      # names no listed release
    rh.write(mpath, json.dumps(m))
    site(d)
    doc = dom(rh.read(page))
    rh.check(not doc.find_all("figure", cls="trend") and doc.find("p", id="no-baseline"),
             "without a baseline store the page must say there are no plots")
    rh.check(not doc.find_all("span", cls="pointer", data_pointer="previous_green"),
             "a pointer naming no listed release got a badge on some row")
    li = doc.find("li", data_pointer_target="previous_green")
    rh.check(li is not None and "0.1" in li.text() and "not in the list of releases" in li.text(),
             "the pointer summary does not say previous_green names an unlisted release")


def case_unreadable_state_is_a_note_not_an_error():
    d = rh.scratch()
    plan(d)
    fixture(d)
    rh.write(os.path.join(d, "state", "release_1.3.json"), '{"schema": 1, "version": ')
    _, page = site(d)
    doc = dom(rh.read(page))
    sec = doc.find("details", cls="release-checks", data_version="1.3")
    note = sec.find("p", cls="state-missing") if sec else None
    rh.check(note is not None and "could not be read" in note.text()
             and "release_1.3.json" in note.text(),
             f"release 1.3's corrupt state should be a note naming its file: "
             f"{note.text() if note else sec}")
    fig = doc.find("figure", cls="trend", data_metric="smoke::sps_max")
    rh.check(fig.attrs.get("data-points") == "2", "1.3's value should be gone from the plot")


def case_empty_registry_says_so():
    d = rh.scratch()
    plan(d)
    _, page = site(d)
    doc = dom(rh.read(page))
    rh.check(doc.find("p", id="no-releases") is not None and
             "No releases in the registry yet" in doc.find("p", id="no-releases").text(),
             "an empty registry should say 'No releases in the registry yet'")
    rh.check(doc.find("p", id="no-baseline") is not None, "no note about the missing baseline")
    rh.check(not doc.find_all("tr", cls="release"), "release rows in an empty registry")


def case_default_output_is_registry_site_folder():
    d = rh.scratch()
    plan(d)
    fixture(d)
    r = rh.run(["site", "-c", os.path.join(d, "plan.cfg")], cwd=d)
    page = os.path.join(d, "registry", "site", "index.html")
    rh.expect(r, 0, out=[rh.q(page)])
    rh.present(page, r)


def case_corrupt_manifest_is_an_error_and_nothing_is_written():
    d = rh.scratch()
    plan(d)
    fixture(d)
    mpath = os.path.join(d, "registry", "manifest.json")
    out = os.path.join(d, "www")
    page = os.path.join(out, "index.html")
    rh.write(page, "OLD PAGE")
    cases = [
        ('{"schema": 1, "pointers": {}, "releases": [', [r"not valid JSON \(line \d+"]),
        ('{"schema": 2, "pointers": {}, "releases": []}',
         [r"has schema 2, newer than the 1 this relhost .* reads: upgrade relhost"]),
        ('{"schema": 1, "releases": {"1.0": {}}}', [rh.q('"releases" must be an array')]),
        ('{"schema": 1, "releases": [{"version": "1.0"}]}',
         [rh.q('release #1 has no "status" string')]),
        ('{"schema": 1, "pointers": {"latest": 3}, "releases": []}',
         [rh.q('pointer "latest" must be a version string or null')]),
        ('[1, 2]', [r"is not a JSON object"]),
    ]
    for text, errs in cases:
        rh.write(mpath, text)
        r, _ = site(d, out=out, code=2,
                    err=[rh.q(mpath)] + errs + [r"nothing was written"], not_out=[r"written to"])
        rh.check(rh.read(page) == "OLD PAGE", f"index.html changed after an error\n{r.show()}")
        rh.check(not os.path.exists(page + ".tmp"), "a temporary file was left", r)
    # A corrupt baseline store is refused the same way.
    fixture(d)
    bpath = os.path.join(d, "state", "baseline.json")
    rh.write(bpath, '{"schema": 1, "metrics": [1]}')
    site(d, out=out, code=2, err=[rh.q(bpath), rh.q('"metrics" must be an object'),
                                  r"nothing was written"])
    rh.check(rh.read(page) == "OLD PAGE", "index.html changed after a baseline error")


def case_unwritable_output_is_an_error():
    d = rh.scratch()
    plan(d)
    fixture(d)
    blocker = rh.write(os.path.join(d, "file"), "a file, not a folder")
    out = os.path.join(blocker, "www")
    site(d, out=out, code=2, err=[r"cannot write the status page " + rh.q(out + "/index.html"),
                                  r"pick another folder with -o DIR"])


def case_site_takes_o_only_with_site_or_report():
    d = rh.scratch()
    p = plan(d)
    r = rh.run(["status", "-c", p, "-o", os.path.join(d, "x")], cwd=d)
    rh.expect(r, 2, err=[rh.q("-o with `report` or `site`")])


def demo_page():
    """The demo run in a copy of etc/ and examples/, then its status page: (folder, www)."""
    d = rh.scratch()
    src = rh.source_dir()
    shutil.copytree(os.path.join(src, "etc"), os.path.join(d, "etc"))
    shutil.copytree(os.path.join(src, "examples"), os.path.join(d, "examples"))
    demo = os.path.join(d, "etc", "demo.cfg")
    r = rh.run(["-c", demo, "--no-interactive"], cwd=d, timeout=300,
               env={"ASANA_TOKEN": None, "GITHUB_TOKEN": None})
    # The page is under test, not the demo's verdict: any decision will do (not exit 2 or 3).
    rh.check(r.rc in (0, 1, 4), "the demo run did not come to a decision", r)
    out = os.path.join(d, "www")
    r = rh.run(["site", "-c", demo, "-o", out], cwd=d)
    rh.expect(r, 0, out=[rh.q(os.path.join(out, "index.html"))], not_err=[r"."])
    return d, out


def case_browser_demo_page_fits_1280_and_390():
    """The demo's page as on-call sees it: the banner first, the checked plots before the
    others, nothing off screen at either width."""
    d, out = demo_page()
    page = os.path.join(out, "index.html")
    for width in (1280, 390):
        doc, m = measured(page, d, width)
        fits(m, width, "the demo's page")
        b = banner_of(doc)
        rh.check(b.attrs.get("data-live") and b.attrs.get("data-health") in
                 ("healthy", "degraded", "unhealthy", "unknown"), f"demo banner: {b.attrs}")
        figs = figures_in_order(doc)
        checked = [f.attrs.get("data-checked") for f in figs]
        rh.check(checked and checked == sorted(checked, key=lambda c: c != "true")
                 and checked[0] == "true", f"the demo's plots are not checked first: "
                 f"{[(f.attrs.get('data-metric'), c) for f, c in zip(figs, checked)]}")
        fold = doc.find("details", cls="flat-metrics")
        folded = [f.attrs.get("data-metric") for f in fold.find_all("figure")] if fold else []
        for f in figs:
            k = f.attrs.get("data-metric")
            if k.endswith(("::restart_count", "::exit_code")) and f.attrs.get(
                    "data-checked") != "true":
                rh.check(k in folded, f"the demo's flat {k} is not folded away")


def case_demo_plan_gives_a_readable_page():
    """The demo, run in a copy of etc/ and examples/ (its state and registry go to
    <copy>/.relhost/demo), then its status page: every release of its registry, with its state."""
    d, out = demo_page()
    raw = rh.read(os.path.join(out, "index.html"))
    no_active_content(raw, "the demo's page")
    doc = dom(raw)
    rh.check(doc.find("h1") is not None and "demo" in doc.find("h1").text(), "no title")
    manifest = os.path.join(d, ".relhost", "demo", "registry", "manifest.json")
    rels = json.loads(rh.read(manifest))["releases"] if os.path.exists(manifest) else []
    rows = [(t.attrs.get("data-version"), t.attrs.get("data-status"))
            for t in doc.find_all("tr", cls="release")]
    want = [(x["version"], x["status"]) for x in reversed(rels)]
    rh.check(rows == want, f"the demo's page lists {rows}, its registry holds {want}")
    if not rels:
        rh.check(doc.find("p", id="no-releases") is not None,
                 "the demo's registry is empty but the page does not say so")
    for sec in doc.find_all("details", cls="release-checks"):
        rh.check(sec.find("p", cls="state-missing") is None,
                 f"release {sec.attrs.get('data-version')} of the demo has a state, but the "
                 f"page says it could not be read: {sec.text()}")


# ---- the index of release states (core/view/site_index.h) -------------------------------------

def index_path(d):
    return os.path.join(d, "registry", "site_index.jsonl")


def timeless(page):
    """The page without its generation time (two runs differ only there)."""
    return re.sub(r'Generated <time datetime="[^"]*">[^<]*</time>', "Generated", rh.read(page))


def index_entries(d):
    """The index's header and its entries by version (each with its record's tokens: rh's
    record_tokens()); fails when the file is not whole."""
    with open(index_path(d), "rb") as f:
        head, body = f.read().split(b"\n", 1)
    head = json.loads(head)
    rh.check(head["bytes"] == len(body), f"index header {head} vs {len(body)} bytes")
    rh.check(head["crc32"] == "%08x" % zlib.crc32(body), f"index CRC, header {head}")
    entries = {v: {"version": v, "key": k, "record": rh.record_tokens(rec)}
               for v, k, rec, _ in rh.site_index_entries(body)}
    rh.check(head["releases"] == len(entries), f"index header {head} vs {len(entries)} entries")
    return head, entries


def full_read_page(d, tag):
    """The page drawn from the release states themselves: the index moved away for the run and
    put back after (the run rebuilds one; that one is dropped)."""
    kept = index_path(d) + ".kept"
    had = os.path.exists(index_path(d))
    if had:
        os.rename(index_path(d), kept)
    _, page = site(d, os.path.join(d, tag))
    if had:
        os.replace(kept, index_path(d))
    return timeless(page)


def case_index_is_rebuilt_when_missing_or_damaged_and_gives_the_same_page():
    d = rh.scratch()
    plan(d)
    fixture(d, more=True)
    rh.check(not os.path.exists(index_path(d)), "the fixture has no index")
    r, page = site(d, os.path.join(d, "first"))
    want = timeless(page)
    _, entries = index_entries(d)
    # 1.2 has no state file: no entry, its note comes from the folder every time
    rh.check(sorted(entries) == ["0.9", "1.0", "1.1", "1.3"], f"index entries {sorted(entries)}")
    rh.check(31000.0 in rh.record_reals(entries["1.3"]["record"]), f"1.3's entry {entries['1.3']}")
    _, page = site(d, os.path.join(d, "again"))
    rh.check(timeless(page) == want, "the page drawn from the index differs from the first")
    rh.check(full_read_page(d, "full") == want, "the page from the states differs")
    # deleted: rebuilt, same page
    os.unlink(index_path(d))
    _, page = site(d, os.path.join(d, "deleted"))
    rh.check(timeless(page) == want and os.path.exists(index_path(d)), "deleted index")
    good = rh.read(index_path(d))
    damages = {
        "a value changed": (good.replace(rh.real_token(31000.0), rh.real_token(99999.0)),
                            "CRC-32"),
        "cut short": (good[:len(good) // 2], "cut short"),
        "garbage": ("not json\n" + good, "not an index header"),
        "no header": ("", "no header line"),
        "another folder": (good.replace('"state_dir":"', '"state_dir":"/elsewhere'),
                           "another state folder"),

        "newer": (good.replace('"relhost_site_index":3', '"relhost_site_index":9'), "newer"),
        "older": (good.replace('"relhost_site_index":3', '"relhost_site_index":2'), "older"),
    }
    # damage a CRC cannot see (the header made to fit the body): entries that are not entries
    head = json.loads(good.split("\n")[0])
    lines = [e[3].decode() for e in rh.site_index_entries(good.split("\n", 1)[1].encode())]

    def resealed(body_lines, count=None):
        body = "".join(body_lines)
        h = dict(head, bytes=len(body.encode()), crc32="%08x" % zlib.crc32(body.encode()),
                 releases=len(body_lines) if count is None else count)
        return json.dumps(h, separators=(",", ":"), sort_keys=True) + "\n" + body

    # the entry of the JSON index this format replaced, a record cut short, a length too long
    damages["not an entry"] = (resealed(lines[:1] + ['["1.0","-;-;",{"finished":true}]\n'] +
                                        lines[2:]), "an entry is not a version, a key")
    first = lines[0].split(" ", 3)
    damages["record cut short"] = (
        resealed([" ".join(first[:3]) + " " + first[3][:len(first[3]) // 2] + "\n"] + lines[1:]),
        "an entry is not a version, a key")
    damages["length too long"] = (
        resealed([" ".join(first[:2] + [str(int(first[2]) + 1)]) + " " + first[3]] + lines[1:]),
        "an entry is not a version, a key")
    damages["a release twice"] = (resealed(lines + lines[:1]), "two entries are of one release")
    damages["miscounted"] = (resealed(lines, count=len(lines) + 1), "another number of entries")
    for what, (text, why) in damages.items():
        rh.check(text != good, f"the damage '{what}' changed nothing")
        rh.write(index_path(d), text)
        r, page = site(d, os.path.join(d, "damaged"), err=[rh.q(why), "rebuilt from the release"])
        rh.check(timeless(page) == want, f"index {what}: the page differs", r)
        rh.check("99999" not in rh.read(page), f"index {what}: a damaged value was used", r)
        _, entries = index_entries(d)
        rh.check(sorted(entries) == ["0.9", "1.0", "1.1", "1.3"], f"rebuilt after {what}")
        r, _ = site(d, os.path.join(d, "after"))
        rh.check("not used" not in r.err, f"the rebuilt index after {what} is not used", r)


def case_index_entry_whose_state_does_not_parse_is_read_from_the_state():
    d = rh.scratch()
    plan(d)
    fixture(d)
    _, page = site(d, os.path.join(d, "first"))
    want = timeless(page)
    text = rh.read(index_path(d))
    head, body = text.split("\n", 1)
    lines = [e[3].decode() for e in rh.site_index_entries(body.encode())]
    k = next(i for i, x in enumerate(lines) if x.startswith("1.3 "))
    # the record no longer decodes (a NULL string made a word), its length kept
    v, key, n, rec = lines[k].split(" ", 3)
    rh.check(" ~ " in rec, f"1.3's record {rec}")
    lines[k] = " ".join([v, key, n, rec.replace(" ~ ", " x ", 1)])
    body = "".join(lines)
    h = dict(json.loads(head), bytes=len(body.encode()), crc32="%08x" % zlib.crc32(body.encode()))
    rh.write(index_path(d), json.dumps(h, separators=(",", ":"), sort_keys=True) + "\n" + body)
    r, page = site(d, os.path.join(d, "second"))
    rh.check(timeless(page) == want, "an entry whose state does not parse changed the page", r)
    _, entries = index_entries(d)
    rh.check(sorted(entries) == ["0.9", "1.0", "1.1", "1.3"], "the entry was not replaced", r)


def case_index_entry_is_read_again_when_the_state_changed():
    """The state files are the authority: a release whose state changed after the index was
    written is drawn from its state, and its entry replaced."""
    d = rh.scratch()
    plan(d)
    fixture(d)
    site(d)
    # 1.3 runs again: its snapshot is replaced by a rename (a new file), as the store does
    snap = os.path.join(d, "state", "release_1.3.json")
    root = json.loads(rh.read(snap))
    root["jobs"]["workflow-tests/smoke"]["evidence"]["metrics"]["sps_max"]["value"] = 33333.0
    rh.write(snap + ".tmp", json.dumps(root, indent=2))
    os.rename(snap + ".tmp", snap)
    # 1.1 gets a journal record (appended, as a run does)
    rh.write(os.path.join(d, "state", "release_1.1.journal"), "")
    r, page = site(d, os.path.join(d, "changed"))
    text = rh.read(page)
    rh.check('data-value="33333"' in text, "the changed 1.3 state is not on the page", r)
    rh.check(timeless(page) == full_read_page(d, "full"), "the page differs from the states'")
    _, entries = index_entries(d)
    rh.check(33333.0 in rh.record_reals(entries["1.3"]["record"]), "1.3's entry was not replaced")
    # a state that becomes unreadable loses its entry: the page says so, as without an index
    rh.write(snap, "{ not json")
    r, page = site(d, os.path.join(d, "broken"))
    rh.check("its state could not be read" in rh.read(page), "a broken state was drawn from the "
             "index", r)
    _, entries = index_entries(d)
    rh.check("1.3" not in entries, "the broken release keeps its entry")
    # a state that is removed loses its entry too
    os.unlink(os.path.join(d, "state", "release_1.0.json"))
    r, page = site(d, os.path.join(d, "removed"))
    _, entries = index_entries(d)
    rh.check("1.0" not in entries and timeless(page) == full_read_page(d, "full2"),
             "a removed state is still drawn from the index", r)


def case_index_keeps_what_the_verdict_reads():
    """A state saying finished, exit 0 beside a required step without a record is not a passed
    run (record_decision()): the page drawn from the index says so as the states do; the index
    keeps the release's requirement set, without which it would read as passed."""
    d = rh.scratch()
    plan(d)
    fixture(d)
    snap = os.path.join(d, "state", "release_1.0.json")
    root = json.loads(rh.read(snap))
    root["requirements"] = {"required_steps": ["workflow-tests", "gate"]}
    rh.write(snap + ".tmp", json.dumps(root, indent=2))
    os.rename(snap + ".tmp", snap)
    site(d)  # builds the index
    r, page = site(d, os.path.join(d, "from-index"))
    _, entries = index_entries(d)
    rh.check(entries["1.0"]["record"][rh.RECORD_UNMET_REQUIRED] == "gate",
             f"the entry lost the requirement set: {entries['1.0']}", r)
    text = rh.read(page)
    rh.check(re.search(r'data-version="1\.0"[^<]*<summary>1\.0 .*? &#8212; run undecided;', text), "the page drawn from the index does not say undecided", r)
    rh.check(timeless(page) == full_read_page(d, "full"), "the page differs from the states'")


def case_index_writers_at_once_leave_a_whole_index():
    """Many `relhost site` at once, while states change: every write is whole (the registry's
    lock, temp and rename), and the last page equals the one drawn from the states."""
    d = rh.scratch()
    plan(d)
    fixture(d)
    argv = [rh.relhost_bin(), "site", "-c", os.path.join(d, "plan.cfg")]
    for rnd in range(3):
        if os.path.exists(index_path(d)):
            os.unlink(index_path(d))
        snap = os.path.join(d, "state", "release_0.9.json")
        root = json.loads(rh.read(snap))
        root["seq"] = 10 + rnd
        rh.write(snap + ".tmp", json.dumps(root, indent=1 + rnd))
        os.rename(snap + ".tmp", snap)
        procs = [subprocess.Popen(argv + ["-o", os.path.join(d, f"w{rnd}-{k}")], cwd=d,
                                  env=rh.base_env(), stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE) for k in range(8)]
        for p in procs:
            out, err = p.communicate(timeout=120)
            rh.check(p.returncode == 0 and b"not used" not in err,
                     f"a concurrent site run: exit {p.returncode}, {err.decode()}")
        head, entries = index_entries(d)
        rh.check(sorted(entries) == ["0.9", "1.0", "1.1", "1.3"], f"round {rnd}: {head}")
    r, page = site(d, os.path.join(d, "last"))
    rh.check("not used" not in r.err, "the index left by the writers is not used", r)
    rh.check(timeless(page) == full_read_page(d, "full"), "the page differs from the states'")


if __name__ == "__main__":
    sys.exit(rh.main(globals()))
