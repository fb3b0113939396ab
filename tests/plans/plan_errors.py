#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""plan_errors.py - every class of plan (and command-line) error is refused up front.

One case per error class. Each plan starts with a `command` step that would create a marker file,
and has its error further down: relhost must exit 2, run nothing (no marker, no state folder, no
report on stdout), and print ONE error line on stderr that says what is wrong and, for anything
that comes from the plan file, the file:line of the offending setting (found through a `#HERE`
comment on that line, so editing a plan cannot silently shift the expectation).

Run one case: plan_errors.py <case>; all: plan_errors.py; names: plan_errors.py --list.
"""
import json
import os
import sys

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))
import rh  # noqa: E402

TOP_KEYS = ["name", "version", "state_dir", "log_dir", "plugin_path", "repo", "ref", "runners",
            "metrics", "steps", "profiles"]
STEP_KEYS = ["name", "plugin", "required", "publishes", "description"]
FIXTURE_KEYS = ["outcome", "reason", "retryable", "run_return", "open_error", "text", "count",
                "flag", "ratio", "size", "timeout", "color", "tags", "token_env", "server",
                "items", "runner", "after", "metrics", "acceptance", "env", "file"]


class Plan:
    """A scratch folder with a plan: plugin_path, version, [top], steps = (marker, body)."""

    def __init__(self, body, top="", plugin_path=None, version='version = "1.0";'):
        self.dir = rh.scratch()
        marker_text, self.marker = rh.marker_step(self.dir)
        pp = plugin_path if plugin_path is not None else [rh.fixture("good")]
        self.text = (f"plugin_path = {json.dumps(pp)};\n"
                     f"{version}\n"
                     f"{top}"
                     f"steps = (\n"
                     f"  {marker_text}\n"
                     f"{body}\n"
                     f");\n")
        self.path = rh.write_plan(self.dir, self.text)

    def at(self, mark="#HERE"):
        return rh.at(self.path, mark)

    def reject(self, args=(), err=(), not_any=(), env=None, cwd=None, state_may_exist=False):
        """Run; expect exit 2, one error line matching every regex in err, nothing run."""
        r = rh.run(["-c", self.path] + list(args), env=env, cwd=cwd or self.dir)
        rh.expect(r, 2, err=err, not_any=not_any)
        lines = r.err.splitlines()
        rh.check(len(lines) == 1 and lines[0].startswith("relhost error: "),
                 f"expected exactly one line 'relhost error: ...' on stderr, got {len(lines)}", r)
        rh.check(r.out == "", "stdout must be empty: nothing may be reported as run", r)
        rh.absent(self.marker, r, "the plan is invalid, so its first step must not run")
        if not state_may_exist:
            rh.absent(os.path.join(self.dir, ".relhost"), r,
                      "an invalid plan must not create state or log folders")
        return r


def fixture_step(options, name="x"):
    return f'  {{ name = "{name}"; plugin = "fixture_gate";\n    {options}\n  }}'


def all_listed(keys, r, after):
    """Every key must appear in the comma-separated list that follows `after` in stderr."""
    tail = r.err.split(after, 1)
    rh.check(len(tail) == 2, f"stderr has no {after!r}", r)
    listed = {k.strip() for k in tail[1].strip().split(",")}
    missing = [k for k in keys if k not in listed]
    rh.check(not missing, f"the allowed-keys list lacks {missing}", r)


# ---- syntax and structure ----------------------------------------------------------------------

def case_syntax_error():
    p = Plan('  { name = "x"; plugin = "fixture_gate"; };  #HERE: a list element ends with ";"')
    p.reject(err=[p.at() + r"syntax error"])


def case_unknown_top_level_key():
    p = Plan(fixture_step(""), top="statedir = \".relhost/s\";  #HERE\n")
    # a typo gets the nearest key first, then the whole list
    r = p.reject(err=[p.at() + rh.q("unknown plan key 'statedir' (did you mean 'state_dir'?); "
                                    "allowed at top level: ")])
    all_listed(TOP_KEYS, r, "allowed at top level: ")


def case_unknown_step_key():
    p = Plan(fixture_step('count = 4;\n    colour = "blue";  #HERE'))
    r = p.reject(err=[p.at() + rh.q("step \"x\": 'colour' is not a known key (did you mean "
                                    "'color'?); allowed: ")])
    all_listed(STEP_KEYS + FIXTURE_KEYS, r, "allowed: ")


def case_step_key_wrong_type():
    p = Plan(fixture_step('required = 1;  #HERE'))
    p.reject(err=[p.at() + rh.q("step \"x\": 'required' must be true or false")])


def case_wrong_type():
    p = Plan(fixture_step('count = "x";  #HERE'))
    p.reject(err=[p.at() + rh.q("step \"x\": 'count' must be an integer")])


def case_missing_required_option():
    # command's cmd is required; the error points at the step that lacks it.
    p = Plan('  { name = "build"; plugin = "command";  #HERE\n    timeout = "1m"; }')
    p.reject(err=[p.at() + rh.q("step \"build\": 'cmd' is required")])


def case_missing_required_in_group_list():
    # fixture_gate's items[].name is required in every item; the error points at that item.
    p = Plan(fixture_step('items = ( { name = "a"; },\n'
                          '            { weight = 2; }  #HERE\n    );'))
    p.reject(err=[p.at() + rh.q("step \"x\": 'name' is required")])


def case_missing_step_name():
    p = Plan('  { plugin = "fixture_gate"; count = 1; }  #HERE')
    p.reject(err=[p.at() + rh.q('step 2 needs name = "..."')])


def case_missing_step_plugin():
    p = Plan('  { name = "x"; count = 1; }  #HERE')
    p.reject(err=[p.at() + rh.q('step "x" needs plugin = "NAME"')])


def case_duplicate_step_name():
    p = Plan('  { name = "x"; plugin = "fixture_gate"; },  #FIRST\n'
             '  { name = "y"; plugin = "fixture_gate"; },\n'
             '  { name = "x"; plugin = "fixture_gate"; }  #HERE')
    first = rh.line_of(p.path, "#FIRST")
    p.reject(err=[p.at() + rh.q(f'duplicate step name "x" (first at {p.path}:{first})')])


# ---- plugins -----------------------------------------------------------------------------------

def case_unknown_plugin():
    extra = rh.scratch("extra-plugins")
    p = Plan('  { name = "x"; plugin = "nosuch_gate"; }  #HERE')
    good = rh.fixture("good")
    # The folders searched, in search order: plugin_path, then RELHOST_PLUGIN_PATH, then the
    # build tree's plugins folder (relhost runs from its build tree here).
    p.reject(env={"RELHOST_PLUGIN_PATH": extra},
             err=[p.at() + rh.q('step "x": plugin "nosuch_gate" not found; searched: '),
                  rh.q(f"searched: {good}, {extra}, {rh.plugin_dir()}")])


def case_wrong_capability_step():
    # runner_local is a runner: a step needs a gate.
    p = Plan('  { name = "x"; plugin = "runner_local"; }  #HERE')
    p.reject(err=[p.at() + rh.q('step "x": plugin "runner_local" is not a gate (it offers: '
                                'runner)')])


def case_wrong_capability_runner():
    p = Plan(fixture_step(""),
             top='runners = {\n  local = { plugin = "fixture_gate"; };  #HERE\n};\n')
    p.reject(err=[p.at() + rh.q('runner "local": plugin "fixture_gate" is not a runner')])


def case_unknown_runner_ref():
    p = Plan(fixture_step('runner = "gpu";  #HERE'),
             top='runners = { local = { plugin = "runner_local"; }; };\n')
    p.reject(err=[p.at() + r'.*"x".*' + rh.q('unknown runner (plan key runners) "gpu"')])


def case_unknown_metrics_ref():
    p = Plan(fixture_step('metrics = ["logs", "wandb"];  #HERE'),
             top='metrics = { logs = { plugin = "metrics_regex"; }; };\n')
    p.reject(err=[p.at() + r'.*"x".*' + rh.q('unknown metrics source (plan key metrics) '
                                             '"wandb"')])


def case_unknown_step_ref():
    p = Plan(fixture_step('after = "build";  #HERE'))
    p.reject(err=[p.at() + r'.*"x".*' + rh.q('unknown step "build"')])


# ---- values ------------------------------------------------------------------------------------

def case_enum_not_allowed():
    p = Plan(fixture_step('color = "purple";  #HERE'))
    p.reject(err=[p.at() + rh.q("step \"x\": 'color' must be one of: red, green, blue")])


def case_int_out_of_range():
    for value, shown in (("1001", "1001"), ("-1", "-1")):
        p = Plan(fixture_step(f'count = {value};  #HERE'))
        p.reject(err=[p.at() + rh.q(f"step \"x\": 'count' is {shown}, outside 0..1000")])
    # Inside a group: server.port is 1..65535.
    p = Plan(fixture_step('server = { host = "db";\n      port = 0; };  #HERE'))
    p.reject(err=[p.at() + rh.q("step \"x\": 'port' is 0, outside 1..65535")])


def case_int_too_big_for_32_bits():
    # 4294967299 = 2^32 + 3. It must be refused as out of range (or as not an integer), never
    # read as 3 (which is in range): a plan value must mean what it says.
    p = Plan(fixture_step('count = 4294967299;  #HERE'))
    p.reject(err=[p.at() + r".*\b4294967299\b"], not_any=[r"count = 3\b"])


def case_int_scan_ignores_names():
    # The other side of int_too_big_for_32_bits: digits inside a setting NAME (libconfig names
    # may hold '-') are no integer literal, so this valid plan must run.
    p = Plan(fixture_step('env = { build-20251002120000 = "x"; };'))
    r = rh.run(["-c", p.path], cwd=p.dir)
    rh.expect(r, 0, out=[rh.q('env = {build-20251002120000 = "x"}')])


def case_double_out_of_range():
    p = Plan(fixture_step('ratio = 1.5;  #HERE'))
    p.reject(err=[p.at() + rh.q("step \"x\": 'ratio' is 1.5, outside 0..1")])


def case_bad_duration():
    p = Plan(fixture_step('timeout = "10x";  #HERE'))
    p.reject(err=[p.at() + rh.q("step \"x\": 'timeout' \"10x\" is not a duration")])


def case_duration_out_of_range():
    p = Plan(fixture_step('timeout = "2d";  #HERE'))
    p.reject(err=[p.at() + rh.q("step \"x\": 'timeout' is 172800, outside 0..86400")])


def case_bad_size():
    p = Plan(fixture_step('size = "12Q";  #HERE'))
    p.reject(err=[p.at() + rh.q("step \"x\": 'size' \"12Q\" is not a size")])


def case_size_overflow():
    # 1e30 bytes does not fit in 64 bits: refuse it, never store 0 or a wrapped value.
    p = Plan(fixture_step('size = "1e30";  #HERE'))
    p.reject(err=[p.at() + rh.q("step \"x\": 'size' ")])


def case_secret_env_not_a_name():
    # Someone pasted the token itself: refused, and the value is never echoed back.
    secret = "ghp_Zq8s3cr3t-T0ken"
    p = Plan(fixture_step(f'token_env = "{secret}";  #HERE'))
    p.reject(err=[p.at() + rh.q("step \"x\": 'token_env' must name an environment variable")],
             not_any=[rh.q(secret)])


def case_unknown_placeholder():
    p = Plan(fixture_step('text = "x {nope}";  #HERE'))
    p.reject(err=[p.at() + rh.q("step \"x\": 'text': unknown placeholder {nope}"),
                  rh.q("{version}")])


def case_literal_brace_is_not_a_placeholder():
    # The other side of unknown_placeholder: {{ and }} are literal braces, so this plan is valid.
    p = Plan(fixture_step('text = "x {{nope}} {version}";'))
    r = rh.run(["-c", p.path], cwd=p.dir)
    rh.expect(r, 0, out=[r'^      text = "x \{nope\} 1\.0"$'])


def case_placeholder_without_value():
    # {commit} needs the plan's repo; without one the plan is invalid, and the error says where.
    p = Plan(fixture_step('text = "release-{commit}";  #HERE'))
    p.reject(err=[p.at() + r".*'text'.*" + rh.q("{commit}")])


# ---- the command line --------------------------------------------------------------------------

def case_bad_release_version():
    p = Plan(fixture_step(""))
    for v in ("a..b", "x.lock", "-x", "a/b", ""):
        p.reject(["--release", v], err=[rh.q(f'release version "{v}" is not valid')])
    p.reject(["--release", "v" * 65], err=[r"release version \"v{65}\" is not valid"])


def case_bad_release_version_in_plan():
    p = Plan(fixture_step(""), version='version = "2.0..1";  #HERE')
    p.reject(err=[p.at() + rh.q('release version "2.0..1" is not valid')])


def case_unknown_step_option():
    p = Plan(fixture_step(""))
    p.reject(["--step", "x", "--step", "deploy"],
             err=[rh.q(f"--step deploy: no such step in {p.path}; steps: marker, x")])


def case_unknown_profile():
    p = Plan(fixture_step(""), top='profiles = { quick = ["a"]; nightly = ["a", "b"]; };\n')
    p.reject(["--profile", "weekly"],
             err=[rh.q(f"--profile weekly: no such profile in {p.path}; profiles: quick, nightly")])


def case_set_missing_path():
    p = Plan(fixture_step(""))
    for arg, seg in (("steps.x.nope.port=1", "nope"), ("steps.deploy.count=1", "deploy"),
                     ("nope.count=1", "nope")):
        p.reject(["--set", arg], err=[rh.q(f"--set {arg}: the plan has no '{seg}' on that path")])
    p.reject(["--set", "steps.x.count"], err=[rh.q("--set steps.x.count: expected KEY.PATH=VALUE")])


def case_set_error_names_its_origin():
    # A value that came from --set is invalid: the error must name the --set argument, not a
    # made-up plan location such as "<plan>:0".
    p = Plan(fixture_step("count = 4;"))
    r = p.reject(["--set", "steps.x.count=5000"], err=[rh.q("'count' is 5000, outside 0..1000")])
    rh.expect(r, 2, err=[rh.q("--set steps.x.count=5000")], not_err=[rh.q("<plan>:0")])


def case_set_repeated_names_the_last_one():
    # The same key set twice: the later --set wins, and an error names the one that set the
    # value (color=purple), never the earlier, valid one.
    p = Plan(fixture_step('color = "blue"; count = 4;'))
    p.reject(["--set", "steps.x.color=red", "--set", "steps.x.color=purple"],
             err=[rh.q("--set steps.x.color=purple: step \"x\": 'color' must be one of")],
             not_any=[rh.q("steps.x.color=red:")])
    p.reject(["--set", "steps.x.count=5", "--set", "steps.x.count=5000"],
             err=[rh.q("--set steps.x.count=5000: step \"x\": 'count' is 5000, outside")])


def case_a_number_that_is_not_finite_is_refused():
    # strtod reads "nan" and "inf" from --set, and libconfig reads 1e400 as inf: none is a
    # number a plan may hold. A NaN passed every range (ratio 0..1, timeout 0..86400: every
    # comparison with NaN is false), and a check ("m", "!=", nan) passed whatever m was.
    p = Plan(fixture_step('ratio = 0.5; timeout = "10s"; acceptance = ( ("m", "!=", 1.0) );'))
    for arg in ("steps.x.ratio=nan", "steps.x.ratio=-nan", "steps.x.timeout=nan",
                "steps.x.acceptance.0.2=nan", "steps.x.acceptance.0.2=inf",
                "steps.x.acceptance.0.2=-infinity"):
        p.reject(["--set", arg], err=[rh.q(f"--set {arg}: ")])
    q = Plan(fixture_step('acceptance = ( ("m", "<", 1e400) );'))
    q.reject(err=[rh.q('step "x": \'acceptance\' check value for "m" must be a finite number')])
    q = Plan(fixture_step('ratio = 1e400;'))
    q.reject(err=[rh.q('step "x": \'ratio\' must be a number (a finite one)')])


def case_state_dir_cannot_be_created():
    # state_dir lies under a regular file: it cannot be created; the error names the folder,
    # why, and where the plan sets it.
    p = Plan(fixture_step(""), top='state_dir = "blocker/state";  #HERE\n')
    rh.write(os.path.join(p.dir, "blocker"), "a file, not a folder\n")
    folder = os.path.join(p.dir, "blocker", "state")
    p.reject(err=[r"state_dir.*" + rh.q(folder) + r".*Not a directory", p.at()],
             state_may_exist=True)
    rh.absent(folder)


def case_control_characters_in_input_are_escaped_in_messages():
    # A version (or any quoted input) with a terminal escape and a carriage return: the message shows
    # them as \xHH; the raw bytes never reach the terminal, so no line can be forged.
    p = Plan(fixture_step(""))
    r = p.reject(["--release", "1.0\x1b[31mred\rforged"],
                 err=[rh.q('release version "1.0\\x1b[31mred\\x0dforged" is not valid')])
    rh.check("\x1b" not in r.err and "\r" not in r.err, "no raw control byte in the message", r)
    # a newline inside a quoted value would start a line of its own ("fake: PASSED")
    r = p.reject(["--release", "1.0\nfake: PASSED"],
                 err=[rh.q('release version "1.0\\x0afake: PASSED" is not valid')])
    rh.check(not any(l.startswith("fake") for l in r.err.splitlines()), "no forged line", r)


def case_a_jobs_control_sequences_never_reach_the_terminal():
    # A command's output tail (OSC: sets the window title) and a validation's log (CSI: clears
    # the screen) are shown in the run's console, `status --logs` and `explain` without a raw
    # control byte; the text stays.
    d = rh.scratch()
    p = rh.write_plan(d, 'version = "1.0"; state_dir = "st"; log_dir = "logs";\n'
                         'runners = { local = { plugin = "runner_local"; }; };\n'
                         'steps = (\n'
                         '  { name = "wf"; plugin = "workflow"; runner = "local"; required = false;\n'
                         '    validations = ( { name = "v"; cmd = ["sh", "-c", '
                         '"printf \'bad\\033[2Jlog\\n\' >&2; exit 3"]; } ); },\n'
                         '  { name = "c"; plugin = "command"; cmd = ["sh", "-c", '
                         '"printf \'out\\033]0;pwn\\007tail\\n\'; exit 3"]; }\n);\n')
    for args in (["-c", p], ["status", "-c", p, "--release", "1.0", "--logs"],
                 ["explain", "-c", p, "--release", "1.0"]):
        r = rh.run(args, cwd=d)
        rh.check("\x1b" not in r.out and "\x07" not in r.out,
                 f"relhost {args[0]}: a raw control byte reached the terminal", r)
    r = rh.run(["-c", p, "--release", "1.0", "--rerun", "c"], cwd=d)
    rh.check("outtail" in r.out.replace("\n", ""), "the text of the output stays", r)


def case_gate_open_refuses():
    # The open_fails fixture's open() calls host->fail(): its message, the step and the plan
    # location of the step come out; nothing runs.
    p = Plan('  { name = "gate"; plugin = "open_fails"; }  #HERE',
             plugin_path=[rh.fixture("open_fails")])
    p.reject(err=[p.at() + rh.q('step "gate" (plugin open_fails): ') +
                  r".*always refuses to open"])


def case_gate_open_error_option():
    # fixture_gate's open() refuses when open_error is set, prefixing host->where(&open_error).
    p = Plan('  { name = "gate"; plugin = "fixture_gate";  #STEP\n'
             '    open_error = "bucket must be set";  #HERE\n  }')
    p.reject(err=[p.at("#STEP") + rh.q('step "gate" (plugin fixture_gate): ') + p.at() +
                  rh.q("bucket must be set")])


def case_typo_in_last_step():
    # Validation is whole-plan: a typo in the LAST step stops the run before the FIRST step.
    p = Plan(fixture_step("count = 1;", "a") + ",\n" + fixture_step("count = 2;", "b") + ",\n" +
             fixture_step("count = 3;", "c") + ",\n" +
             fixture_step('coutn = 4;  #HERE', "last"))
    p.reject(err=[p.at() + rh.q("step \"last\": 'coutn' is not a known key")])


def case_error_in_included_file():
    # An error inside an @include'd file names that file so that it can be opened from where
    # relhost was run: here an absolute path (relhost runs from an unrelated folder).
    p = Plan('  @include "parts/more.inc"')
    inc = os.path.join(p.dir, "parts", "more.inc")
    rh.write(inc, '{ name = "inc"; plugin = "fixture_gate";\n  coutn = 4;  #HERE\n}\n')
    elsewhere = rh.scratch("elsewhere")
    p.reject(cwd=elsewhere, err=[rh.at(inc, "#HERE") + rh.q("step \"inc\": 'coutn' is not a "
                                                           "known key")])


if __name__ == "__main__":
    sys.exit(rh.main(globals()))
