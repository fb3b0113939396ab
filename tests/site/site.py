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
import html.parser
import json
import os
import shutil
import subprocess
import sys

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


def rendered(page, folder):
    """The DOM Chromium builds from page (a file), as serialized by --dump-dom."""
    exe = chromium()
    profile = os.path.join(folder, "chromium-profile")
    argv = [exe, "--headless=new", "--no-sandbox", "--disable-gpu", "--no-first-run",
            "--no-default-browser-check", "--disable-extensions", "--disable-dev-shm-usage",
            f"--user-data-dir={profile}", "--dump-dom", "file://" + page]
    env = dict(os.environ, HOME=folder)
    try:
        p = subprocess.run(argv, capture_output=True, text=True, timeout=120, env=env)
    except subprocess.TimeoutExpired:
        rh.fail(f"chromium --dump-dom {page} did not finish within 120 s")
    rh.check(p.returncode == 0 and "<html" in p.stdout,
             f"chromium --dump-dom failed (exit {p.returncode}):\n{p.stderr[-3000:]}")
    return dom(p.stdout)


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


def fixture(d, extra_release=None):
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
    write_state(d, "0.9", [job("smoke", "PASSED",
                               [check("sps_max", ">=", 30000.0, 35000.0, True,
                                      baseline=34000.0, bound=30600.0)],
                               {"sps_max": 35000.0, "eval_success_rate": 0.91})])
    write_state(d, "1.0", [job("smoke", "PASSED",
                               [check("sps_max", ">=", 30000.0, 36500.0, True),
                                check("eval_success_rate", "range", 0.8, 0.93, True,
                                      expected_hi=1.0)],
                               {"sps_max": 36500.0, "eval_success_rate": 0.93})])
    write_state(d, "1.1", [job("smoke", "PASSED", [], {"eval_success_rate": 0.7})])
    write_state(d, "1.3", [job("smoke", "FAILED",
                               [check("sps_max", ">=", 32000.0, 31000.0, False),
                                check("eval_success_rate", ">=", 0.9, 0.95, True)],
                               {"sps_max": 31000.0})], outcome="FAILED")
    base = {"schema": 1, "metrics": {
        "smoke::sps_max": {"value": 36500.0, "samples": [36400.0, 36500.0], "version": "1.0",
                           "commit": "b" * 40, "recorded_at": "2026-01-02T11:00:00Z"},
        "smoke::eval_success_rate": {"value": 0.93, "samples": [0.93], "version": "1.0",
                                     "commit": "b" * 40, "recorded_at": "2026-01-02T11:00:00Z"}}}
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
        rh.check(svg.find("text", cls="y-max") is not None and
                 svg.find("text", cls="y-min") is not None, f"{key}: no min/max axis labels")
        rh.check(figs[key].attrs.get("data-points") == str(len(values)),
                 f"{key}: data-points is {figs[key].attrs.get('data-points')}")
    # Shapes: a quarantined or rolled-back point is not drawn like a promoted one.
    eval_svg = figs["smoke::eval_success_rate"].find("svg")
    shapes = {p.attrs["data-version"]: p.tag for p in eval_svg.iter() if "point" in p.classes()}
    rh.check(shapes["1.0"] == "circle" and shapes["1.1"] == "rect",
             f"point shapes by status: {shapes}")


def case_browser_hostile_strings_are_escaped():
    d = rh.scratch()
    plan(d)
    fixture(d, extra_release=release(HOSTILE_VERSION, "quarantined", "<b>bold</b>",
                                     staged_at="<i>x</i>", reason=HOSTILE_REASON))
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


def case_demo_plan_gives_a_readable_page():
    """The demo, run in a copy of etc/ and examples/ (its state and registry go to
    <copy>/.relhost/demo), then its status page: every release of its registry, with its state."""
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


if __name__ == "__main__":
    sys.exit(rh.main(globals()))
