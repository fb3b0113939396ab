#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""plan_features.py - what a valid plan means, end to end.

fixture_gate (tests/fixtures/plugins) posts one note per option saying what the host stored in its
conf, so these cases check typed filling (parsing, defaults, coercion, bounds, PATH resolution,
templates, groups, refs, checks) through the real binary; plus @include, --set, --check, -V,
--help and `relhost plugins`.

Run one case: plan_features.py <case>; all: plan_features.py; names: plan_features.py --list.
"""
import json
import os
import re
import sys

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))
import rh  # noqa: E402

FIXTURE_CASES = ["no_entry", "abi_major2", "abi_minor_newer", "entry_fails", "open_fails",
                 "dup_name", "shadow/a", "shadow/b", "good"]


def plan(folder, steps, top="", version='version = "2.0.1";', plugin_path=None, name="plan.cfg"):
    pp = plugin_path if plugin_path is not None else [rh.fixture("good")]
    return rh.write_plan(folder, f"plugin_path = {json.dumps(pp)};\n{version}\n{top}"
                                 f"steps = (\n{steps}\n);\n", name)


def case_fixtures_built():
    """Setup check: the fixture plugins and the bundled plugins these tests use exist."""
    missing = []
    for case in FIXTURE_CASES:
        d = os.path.join(rh.build_dir(), "test-plugins", case)
        if not os.path.isdir(d) or not any(f.endswith(".so") for f in os.listdir(d)):
            missing.append(d)
    for so in ("command", "manual", "runner_local", "metrics_regex"):
        f = os.path.join(rh.plugin_dir(), so + ".so")
        if not os.path.isfile(f):
            missing.append(f)
    if not os.access(rh.relhost_bin(), os.X_OK):
        missing.append(rh.relhost_bin())
    rh.check(not missing, "not built (build everything, or at least the targets relhost and "
                          "relhost_test_plugins): " + ", ".join(missing))


# ---- typed filling -----------------------------------------------------------------------------

TYPED = '''  { name = "greet"; plugin = "fixture_gate"; },
  { name = "typed"; plugin = "fixture_gate";
    text = "v={version} s={step} {{lit}}";  #TEXT
    count = 7;
    flag = true;
    ratio = 1;
    size = "64M";
    timeout = "1h30m";
    color = "blue";
    tags = ["x", "y-{version}"];
    token_env = "RH_E2E_TOKEN";
    server = { host = "db"; port = 5432; };
    items = ( { name = "a"; weight = 2; tags = ["t"]; }, { name = "b"; } );
    runner = "local";
    after = "greet";
    metrics = ["logs"];
    acceptance = ( ("sps", ">=", 30000),  #CHECK1
                   ("acc", "range", 0.5, 0.9),  #CHECK2
                   { metric = "loss"; op = "<"; value = 2.5; } );  #CHECK3
    env = { A = "1"; B = "{version}"; C = 3; };
    file = "data/x.txt";
  },
  { name = "single"; plugin = "fixture_gate";
    tags = "only-{step}";
    ratio = 0.25;
    size = 2048;
    timeout = 90;
    token_env = "RH_E2E_UNSET_VARIABLE";
    server = { tls = false; };
    acceptance = ("sps", ">", 1.5);  #CHECK4
    file = "/abs/elsewhere.txt";
  }'''

SECRET = "s3cr3t-e2e-Value-0123456789"


def case_typed_filling():
    d = rh.scratch()
    p = plan(d, TYPED, top='runners = { local = { plugin = "runner_local"; }; };\n'
                           'metrics = { logs = { plugin = "metrics_regex"; }; };\n')
    elsewhere = rh.scratch("cwd")
    r = rh.run(["-c", p], cwd=elsewhere, env={"RH_E2E_TOKEN": SECRET,
                                              "RH_E2E_UNSET_VARIABLE": None})
    rh.expect(r, 0, not_any=[rh.q(SECRET)])
    w = {m: f"{p}:{rh.line_of(p, '#' + m)}" for m in ("TEXT", "CHECK1", "CHECK2", "CHECK3",
                                                       "CHECK4")}
    rh.expect_notes(r, "typed", {
        "text": '"v=2.0.1 s=typed {lit}"',
        "count": "7",
        "flag": "true",
        "ratio": "1",                      # the integer 1, coerced to a double
        "size": "67108864",                # "64M"
        "timeout": "5400",                 # "1h30m"
        "color": "blue",
        "tags": '["x", "y-2.0.1"]',
        "token_env": "RH_E2E_TOKEN (set)",
        "server": '{host = "db", port = 5432, tls = true}',   # tls from the group's default
        "items": '[{name = "a", weight = 2, tags = ["t"]}, {name = "b", weight = 1, tags = []}]',
        "runner": '"local"',
        "after": '"greet"',
        "metrics": '["logs"]',
        "acceptance": f'[sps >= 30000 ({w["CHECK1"]}), acc range 0.5..0.9 ({w["CHECK2"]}), '
                      f'loss < 2.5 ({w["CHECK3"]})]',
        "env": '{A = "1", B = "2.0.1", C = "3"}',
        "file": json.dumps(os.path.join(d, "data", "x.txt")),   # against the plan's folder
    })
    rh.check(f"text from {w['TEXT']}" in rh.step_of(r, "typed")["lines"],
             f"host->where(&text) should say {w['TEXT']}", r)
    rh.expect_notes(r, "single", {
        "tags": '["only-single"]',         # one string is a list of one
        "ratio": "0.25",
        "size": "2048",                    # an integer is a number of bytes
        "timeout": "90",                   # a number is seconds
        "token_env": "RH_E2E_UNSET_VARIABLE (not set)",
        "server": '{host = "localhost", port = 443, tls = false}',
        "acceptance": f'[sps > 1.5 ({w["CHECK4"]})]',   # one check without the outer list
        "file": '"/abs/elsewhere.txt"',    # absolute stays as written
    })


def case_defaults():
    d = rh.scratch()
    p = plan(d, '  { name = "bare"; plugin = "fixture_gate"; }')
    r = rh.expect(rh.run(["-c", p], cwd=d), 0)
    rh.expect_notes(r, "bare", {
        "outcome": "passed", "reason": "<unset>", "retryable": "false", "run_return": "ok",
        "text": "<unset>", "count": "3", "flag": "false", "ratio": "0.5", "size": "67108864",
        "timeout": "600", "color": "green", "tags": "[]", "token_env": "<unset>",
        "server": '{host = "localhost", port = 443, tls = true}', "items": "[]",
        "runner": "<unset>", "after": "<unset>", "metrics": "[]", "acceptance": "[]",
        "env": "{}", "file": "<unset>",
    })


def case_duration_and_size_forms():
    durations = [('"90s"', "90"), ('"10m"', "600"), ('"2h"', "7200"), ('"1d"', "86400"),
                 ('"500ms"', "0.5"), ('"1h30m"', "5400"), ('"90"', "90"), ("45", "45"),
                 ("2.5", "2.5"), ('"1m30s"', "90")]
    sizes = [('"512K"', "524288"), ('"64M"', "67108864"), ('"2G"', "2147483648"),
             ('"1KiB"', "1024"), ('"1.5K"', "1536"), ('"64MB"', "67108864"), ('"100"', "100"),
             ("4096", "4096"), ('"1T"', "1099511627776")]
    steps = []
    for i, (v, _) in enumerate(durations):
        steps.append(f'  {{ name = "d{i}"; plugin = "fixture_gate"; timeout = {v}; }}')
    for i, (v, _) in enumerate(sizes):
        steps.append(f'  {{ name = "s{i}"; plugin = "fixture_gate"; size = {v}; }}')
    d = rh.scratch()
    p = plan(d, ",\n".join(steps))
    r = rh.expect(rh.run(["-c", p], cwd=d), 0)
    bad = []
    for i, (v, want) in enumerate(durations):
        got = rh.notes(r, f"d{i}").get("timeout")
        if got != want:
            bad.append(f"timeout = {v}: got {got}, want {want}")
    for i, (v, want) in enumerate(sizes):
        got = rh.notes(r, f"s{i}").get("size")
        if got != want:
            bad.append(f"size = {v}: got {got}, want {want}")
    rh.check(not bad, "; ".join(bad), r)


# ---- @include, --set, templates ----------------------------------------------------------------

def case_include_relative_to_plan():
    d = rh.scratch()
    plan_dir = os.path.join(d, "plans")
    rh.write(os.path.join(plan_dir, "parts", "steps.inc"),
             '{ name = "inc1"; plugin = "fixture_gate"; count = 11; text = "in {step}";\n'
             '  file = "data.txt"; },\n'
             '{ name = "inc2"; plugin = "fixture_gate"; count = 12; }\n')
    p = plan(plan_dir, '  { name = "first"; plugin = "fixture_gate"; },\n'
                       '  @include "parts/steps.inc"\n'
                       '  , { name = "last"; plugin = "fixture_gate"; }')
    # From an unrelated folder, with the plan named absolutely and relatively.
    elsewhere = rh.scratch("cwd")
    for n, (cwd, arg) in enumerate(((elsewhere, p), (d, os.path.join("plans", "plan.cfg")))):
        r = rh.expect(rh.run(["-c", arg, "--release", f"v{n}"], cwd=cwd), 0)
        rh.expect_outcomes(r, [("first", "PASSED", None), ("inc1", "PASSED", None),
                               ("inc2", "PASSED", None), ("last", "PASSED", None)])
        # Relative paths in an included file resolve against the TOP-LEVEL plan's folder.
        rh.expect_notes(r, "inc1", {"count": "11", "text": '"in inc1"',
                                    "file": json.dumps(os.path.join(plan_dir, "data.txt"))})
        rh.expect_notes(r, "inc2", {"count": "12"})
        inc = os.path.join(plan_dir, "parts", "steps.inc")
        rh.check(f"text from {inc}:1" in rh.step_of(r, "inc1")["lines"],
                 f"host->where(&text) should name {inc}:1 (absolute: relhost may run anywhere)",
                 r)
        rh.absent(os.path.join(cwd, ".relhost"), r, "state belongs in the plan's folder")
        rh.present(os.path.join(plan_dir, ".relhost", "state"), r)


def case_set_overrides_value():
    d = rh.scratch()
    p = plan(d, '  { name = "a"; plugin = "fixture_gate"; count = 3; color = "blue"; },\n'
                '  { name = "b"; plugin = "fixture_gate"; count = 4; server = { port = 80; }; }')
    r = rh.run(["-c", p, "--set", "steps.a.count=7", "--set", "steps.a.color=red",
                "--set", "steps.a.flag=true", "--set", "steps.1.count=9",
                "--set", "steps.b.server.port=8080", "--set", "version=7.7.7",
                "--set", "steps.a.text=from-the-command-line"], cwd=d)
    rh.expect(r, 0, out=[r"^relhost \S+: release 7\.7\.7 of plan "])
    rh.expect_notes(r, "a", {"count": "7", "color": "red", "flag": "true",
                             "text": '"from-the-command-line"'})
    rh.check("text from --set steps.a.text=from-the-command-line" in rh.step_of(r, "a")["lines"],
             "host->where() of a value set by --set names that --set", r)
    rh.expect_notes(r, "b", {"count": "9", "server": '{host = "localhost", port = 8080, '
                                                     'tls = true}'})
    rh.present(os.path.join(d, ".relhost", "state", "release_7.7.7.json"), r)


def case_set_validated_like_file():
    d = rh.scratch()
    marker_text, marker = rh.marker_step(d)
    p = plan(d, f'  {marker_text}\n  {{ name = "a"; plugin = "fixture_gate"; count = 3; }}')
    for args, msg in ((["--set", "steps.a.count=5000"], "'count' is 5000, outside 0..1000"),
                      (["--set", "steps.a.count=x"], "'count' must be an integer"),
                      (["--set", "steps.a.colour=red"], "'colour' is not a known key"),
                      (["--set", "steps.a.color=purple"], "'color' must be one of: red, green, "
                                                          "blue")):
        r = rh.run(["-c", p] + args, cwd=d)
        rh.expect(r, 2, err=[rh.q('step "a": ' + msg)])
        rh.absent(marker, r, "an invalid --set must stop the run before any step")
        rh.absent(os.path.join(d, ".relhost"), r)


def case_templates_expanded():
    d = rh.scratch()
    p = plan(d, f'  {{ name = "mk"; plugin = "command";\n'
                f'    cmd = ["touch", "{d}/out-{{version}}-{{step}}"]; }},\n'
                f'  {{ name = "tpl"; plugin = "fixture_gate"; text = "{{version}}/{{step}}";\n'
                f'    tags = ["{{step}}", "{{{{step}}}}"]; env = {{ V = "{{version}}"; }}; }}',
             version='version = "1.0";')
    r = rh.expect(rh.run(["-c", p, "--release", "3.1.4-rc1"], cwd=d), 0,
                  out=[r"release 3\.1\.4-rc1 of plan"])
    rh.present(os.path.join(d, "out-3.1.4-rc1-mk"), r, "cmd templates expand {version} {step}")
    rh.expect_notes(r, "tpl", {"text": '"3.1.4-rc1/tpl"', "tags": '["tpl", "{step}"]',
                               "env": '{V = "3.1.4-rc1"}'})
    rh.check("fixture_gate: mode=run version=3.1.4-rc1 step=tpl commit=<none> interactive=0"
             in rh.step_of(r, "tpl")["lines"], "ctx carries the version and step", r)


# ---- --check, -V, --help, plugins --------------------------------------------------------------

def case_check_runs_nothing():
    d = rh.scratch()
    marker_text, marker = rh.marker_step(d)
    p = plan(d, f'  {marker_text}\n'
                f'  {{ name = "verdict"; plugin = "fixture_gate"; outcome = "failed"; count = 5;\n'
                f'    description = "would fail if it ran"; }},\n'
                f'  {{ name = "later"; plugin = "fixture_gate"; required = false; }}',
             version="")                       # no version: "auto"
    before = sorted(os.listdir(d))
    r = rh.run(["-c", p, "--check"], cwd=d)
    rh.expect(r, 0, out=[
        rh.q(f"plan plan ({p})"),
        r"^  version    \d{4}\.\d{2}\.\d{2}-\d{4} \(auto\)$",
        "^  plugins    from " + rh.q(f"{rh.fixture('good')} {rh.plugin_dir()}"),
        r"^steps:$",
        r"^  1\. marker\s+command required$",
        r"^      would run: touch " + rh.q(marker),
        r"^  2\. verdict\s+fixture_gate required$",
        r"^      would fail if it ran$",
        r"^      fixture_gate: mode=check version=\S+ step=verdict ",
        r"^      count = 5$",
        r"^  3\. later\s+fixture_gate optional$",
        r"^check: plan is valid; nothing was run$"],
        not_out=[r"^\[\d+/\d+\]", r"^result:"])
    rh.absent(marker, r, "--check runs nothing")
    rh.check(sorted(os.listdir(d)) == before,
             f"--check must write nothing: the plan folder went from {before} to "
             f"{sorted(os.listdir(d))}", r)


def _project_version():
    text = rh.read(os.path.join(rh.source_dir(), "CMakeLists.txt"))
    m = re.search(r"project\(relhost\s+VERSION\s+([0-9.]+)", text)
    rh.check(m is not None, "cannot find project(relhost VERSION x.y.z) in CMakeLists.txt")
    return m.group(1)


def _abi():
    text = rh.read(os.path.join(rh.source_dir(), "include", "relhost", "plugin.h"))
    return (re.search(r"#define RELHOST_ABI_MAJOR (\d+)", text).group(1),
            re.search(r"#define RELHOST_ABI_MINOR (\d+)", text).group(1))


def case_version_flag():
    major, minor = _abi()
    r = rh.run(["-V"])
    rh.expect(r, 0, out=["^" + rh.q(f"relhost {_project_version()} (plugin ABI {major}.{minor})")
                         + "$"])
    rh.check(r.err == "", "-V prints nothing on stderr", r)
    # --release names the release: alone it needs a value (--version is relhost's: cli.py).
    rh.expect(rh.run(["--release"]), 2, err=[r"--release needs a value"])


def case_libcurl_is_loaded_only_when_http_is_spoken():
    # Mapping libcurl and its thirty libraries cost about 5 ms of every start; a command that
    # speaks no HTTP (-V, --check of a plan without HTTP) must not load it. The dynamic loader
    # lists every file it maps under LD_DEBUG=files.
    d = rh.scratch()
    p = rh.write_plan(d, 'version = "1.0";\nsteps = ( { name = "s"; plugin = "command"; '
                         'cmd = ["true"]; } );\n')
    for args in (["-V"], ["-c", p, "--check"], ["-c", p]):
        r = rh.run(args, cwd=d, env={"LD_DEBUG": "files"})
        rh.expect(r, 0)
        rh.check("libcurl" not in r.err, f"relhost {' '.join(args)} loaded libcurl", r)


def _long_options():
    """The long options and short letters relhost accepts (the option table of
    core/cli/cli_args.c, which getopt_long, the help and the completions are made from)."""
    text = rh.read(os.path.join(rh.source_dir(), "core", "cli", "cli_args.c"))
    rows = re.findall(r'^\s*\{"([a-z][a-z-]*)", (?:\'(\w)\'|0), ', text, re.M)
    rh.check(len(rows) > 20, "cannot find the option table in core/cli/cli_args.c")
    return [r[0] for r in rows], [r[1] for r in rows if r[1]]


def case_help_mentions_everything():
    r = rh.run(["--help"])
    rh.expect(r, 0)
    longs, shorts = _long_options()
    missing = [f"--{o}" for o in longs if not re.search(rf"--{re.escape(o)}\b", r.out)]
    missing += [f"-{c}" for c in shorts if not re.search(rf"(^|[\s,|])-{c}\b", r.out, re.M)]
    for code in ("0", "1", "2", "3", "4", "75", "130", "143"):
        if not re.search(rf"^\s+{code}\s+\S", r.out, re.M):
            missing.append(f"exit status {code}")
    for word in ("RELHOST_PLUGIN_PATH", "NO_COLOR", "plugins"):
        if word not in r.out:
            missing.append(word)
    rh.check(not missing, f"--help does not mention: {', '.join(missing)}", r)
    rh.expect(rh.run(["-h"]), 0, out=[r"^usage: relhost"])


def case_man_page_mentions_every_option():
    page = rh.read(os.path.join(rh.source_dir(), "docs", "relhost.1")).replace("\\-", "-")
    longs, shorts = _long_options()
    missing = [f"--{o}" for o in longs if not re.search(rf"--{re.escape(o)}\b", page)]
    missing += [f"-{c}" for c in shorts if not re.search(rf"(^|[\s,|])-{c}\b", page, re.M)]
    rh.check(not missing, f"docs/relhost.1 does not mention: {', '.join(missing)}")


def case_plugins_list_and_shadowing():
    d = rh.scratch()
    a, b, good = rh.fixture("shadow/a"), rh.fixture("shadow/b"), rh.fixture("good")
    p = plan(d, '  { name = "x"; plugin = "shadowgate"; }', plugin_path=[a, b, good])
    r = rh.run(["plugins", "-c", p], cwd=d)
    pd = rh.plugin_dir()

    def row(name, version, caps, path, tail=""):
        return (rf"^{name}\s+{re.escape(version)}\s+{caps}\s+{re.escape(path)}"
                + (r"\s+" + re.escape(tail) if tail else "") + "$")

    rh.expect(r, 0, out=[
        row("shadowgate", "1.0.0", "gate", f"{a}/shadowgate.so"),
        row("shadowgate", "2.0.0", "gate", f"{b}/shadowgate.so",
            "(shadowed by an earlier folder)"),
        row("fixture_gate", "1.0.0", "gate", f"{good}/fixture_gate.so"),
        row("command", r"1.0.0", "gate", f"{pd}/command.so"),
        row("runner_local", "1.0.0", "runner", f"{pd}/runner_local.so"),
        row("metrics_regex", "1.0.0", "metrics", f"{pd}/metrics_regex.so"),
        "^searched: " + rh.q(f"{a} {b} {good} {pd}")],
        not_out=[row("shadowgate", "1.0.0", "gate", f"{a}/shadowgate.so", "(shadowed")])
    order = [ln.split()[0] for ln in r.out.splitlines() if ln.startswith("shadowgate")]
    rh.check(len(order) == 2, "both shadowgate copies are listed", r)
    rh.check(r.out.index(f"{a}/shadowgate.so") < r.out.index(f"{b}/shadowgate.so"),
             "plugins are listed in search order", r)


def case_plugins_describe():
    d = rh.scratch()
    p = plan(d, '  { name = "x"; plugin = "fixture_gate"; }')
    r = rh.run(["plugins", "-c", p, "--describe", "fixture_gate"], cwd=d)
    rh.expect(r, 0, out=[
        r"^fixture_gate 1\.0\.0 - fixture: options of every type",
        r"^capabilities: gate$",
        r"^options:$",
        r"^  outcome\s+choice\s+default\s+passed$",
        r"one of: passed failed error inconclusive skipped",
        r"^  count\s+integer\s+default\s+3$",
        r"\(0\.\.1000\)",
        r"^  ratio\s+number\s+default\s+0\.5$",
        r"^  size\s+size\s+default\s+64M$",
        r"^  timeout\s+duration\s+default\s+10m$",
        r"^  color\s+choice\s+default\s+green$",
        r"\(one of: red green blue\)",
        r"^  tags\s+list of strings\s+default\s+\(none\)$",
        r"\[template\]",
        r"^  token_env\s+env var name\s+default",
        r"^  server\s+group\s+",
        r"^    port\s+integer\s+default\s+443$",
        r"\(1\.\.65535\)",
        r"^  items\s+list of groups\s+",
        r"^    name\s+string\s+required$",
        r"^  runner\s+name\s+",
        r"^  metrics\s+list of names\s+",
        r"^  acceptance\s+acceptance checks\s+",
        r"^  env\s+group of values\s+",
        r"^  file\s+string\s+"])
    # Also from the search path alone (no plan), and an unknown name is an error.
    r = rh.run(["plugins", "--describe", "fixture_gate"],
               env={"RELHOST_PLUGIN_PATH": rh.fixture("good")})
    rh.expect(r, 0, out=[r"^fixture_gate 1\.0\.0 - "])
    r = rh.run(["plugins", "--describe", "nosuch"])
    rh.expect(r, 2, err=[rh.q('plugin "nosuch" not found; searched: ')])


if __name__ == "__main__":
    sys.exit(rh.main(globals()))
