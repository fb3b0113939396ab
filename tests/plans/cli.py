#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""cli.py - the command line's conventions on the real binary: --version is relhost's own
version and the release is --release/-r (the old `--version V` is refused with a hint), help per
command, `relhost` alone and `relhost help`, "did you mean" for commands, options, steps and plan
keys, global options before or after the command, the default plan ($RELHOST_CONFIG, relhost.cfg
at the repository root), --color with NO_COLOR/FORCE_COLOR, SIGTERM's exit 143, `status` (column
headers, --follow's exit code), --set on a list item, the manual's quoting, and the completion
scripts. Run one case: cli.py <case>."""
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))
import rh  # noqa: E402


def plan(folder, steps, top="", version='version = "1.0";', name="plan.cfg"):
    return rh.write_plan(folder, f"plugin_path = {json.dumps([rh.fixture('good')])};\n{version}\n"
                                 f"{top}steps = (\n{steps}\n);\n", name)


def marked(d):
    text, marker = rh.marker_step(d)
    return plan(d, "  " + text.rstrip(",")), marker


# ---- --version and --release ------------------------------------------------------------------

def case_version_prints_relhosts_own_version():
    short = rh.expect(rh.run(["-V"]), 0, out=[r"^relhost \d+\.\d+\.\d+ \(plugin ABI \d+\.\d+\)$"])
    r = rh.expect(rh.run(["--version"]), 0)
    rh.check(r.out == short.out and r.err == "", "--version prints what -V prints", r)
    # after a command too, as git and kubectl do
    rh.check(rh.expect(rh.run(["status", "--version"]), 0).out == short.out, "status --version")


def case_old_version_spelling_is_refused_with_a_hint():
    d = rh.scratch()
    p, marker = marked(d)
    hint = r"--version prints relhost's own version .*the release version is --release V \(-r V\)"
    for args in (["-c", p, "--version", "3.1"], ["--version", "3.1", "-c", p],
                 ["-c", p, "--version=3.1"], ["status", "-c", p, "--version", "3.1"]):
        rh.expect(rh.run(args, cwd=d), 2, err=[hint], not_out=[r"."])
    rh.absent(marker, None, "a refused command line runs nothing")


def case_release_option_names_the_release():
    d = rh.scratch()
    p, marker = marked(d)
    rh.expect(rh.run(["-c", p, "--release", "3.1"], cwd=d), 0, out=[r"release 3\.1 of plan"])
    rh.expect(rh.run(["-c", p, "-r", "3.2"], cwd=d), 0, out=[r"release 3\.2 of plan"])
    rh.expect(rh.run(["status", "-c", p, "-r", "3.1"], cwd=d), 0,
              out=[r"^release 3\.1 of plan plan"])


# ---- help ---------------------------------------------------------------------------------------

def case_command_help_is_the_commands_own():
    full = rh.expect(rh.run(["--help"]), 0).out
    for args in (["status", "--help"], ["help", "status"], ["status", "-h"], ["-h", "status"]):
        r = rh.expect(rh.run(args), 0, out=[r"^usage: relhost status ", r"^\s+--follow\b",
                                            r"^\s+--json\b", r"^\s+-c, --config PLAN"],
                      not_out=[r"--describe", r"--report-junit", r"relhost rollback"])
        rh.check(len(r.out.splitlines()) * 2 < len(full.splitlines()),
                 f"{args}: {len(r.out.splitlines())} lines, the global help has "
                 f"{len(full.splitlines())}", r)
    rh.expect(rh.run(["help", "rollback"]), 0, out=[r"^\s+--dry-run\b", r"^\s+--to VERSION"],
              not_out=[r"--follow"])


def case_bare_relhost_prints_short_help():
    r = rh.expect(rh.run([]), 0, out=[r"^usage: relhost", r"^  status\s+\S",
                                      r"relhost help COMMAND"], not_out=[r"^exit status"])
    rh.check(len(r.out.splitlines()) < 30, "short help is short", r)
    rh.check("completion" not in r.out, "the hidden completion command is not listed", r)


def case_help_command():
    r = rh.expect(rh.run(["help"]), 0, out=[r"^usage: relhost", r"^exit status:"])
    rh.check(r.out == rh.run(["--help"]).out, "`relhost help` is `relhost --help`", r)
    rh.expect(rh.run(["help", "stauts"]), 2,
              err=[r"no command 'stauts' \(did you mean 'status'\?\)"])


# ---- did you mean ------------------------------------------------------------------------------

def _named_plan(d):
    """A plan with a profile, a runner, a metrics source, two steps and a validation: the names
    a user may mistype."""
    return rh.write_plan(d, f"""plugin_path = {json.dumps([rh.plugin_dir()])};
version = "1.0";
runners = {{ local = {{ plugin = "runner_local"; }}; }};
metrics = {{ logs = {{ plugin = "metrics_regex"; }}; }};
profiles = {{ quick = ["train"]; }};
steps = (
  {{ name = "smoke"; plugin = "command"; cmd = ["true"]; }},
  {{ name = "wf"; plugin = "workflow"; metrics = ["logs"];
     validations = ( {{ name = "train"; cmd = ["echo", "sps: 5"]; runner = "local";
                        acceptance = ( ("sps_max", ">=", 1.0) ); }} ); }}
);
""")


def case_did_you_mean_every_name_looked_up():
    d = rh.scratch()
    p = _named_plan(d)
    dym = r"\(did you mean '{}'\?\)"
    for args, err in (
            (["--rerun", "smok"], r"--rerun smok: no such step .*" + dym.format("smoke")),
            (["--profile", "quik"], r"--profile quik: no such profile .*" + dym.format("quick")),
            (["--set", "steps.smok.timeout=5"], r"no 'smok' on that path " + dym.format("smoke")),
            (["--set", "runnrs.local.max_parallel=2"], r"no 'runnrs' .*" + dym.format("runners")),
            (["--set", "steps.wf.validations.trian.timeout_s=5"],
             r"no 'trian' on that path " + dym.format("train")),
            (["--set", "steps.wf.metrics.0=log"],
             r"unknown metrics source .*\"log\" " + dym.format("logs")),
            (["--set", "steps.wf.validations.train.runner=locl"],
             r"unknown runner .*\"locl\" " + dym.format("local")),
            (["--set", "steps.smoke.cmd.0={versoin}"],
             r"unknown placeholder \{versoin\} .*" + dym.format("{version}")),
            (["--set", "steps.smoke.plugin=comand"],
             r"plugin \"comand\" not found.*" + dym.format("command")),
            (["--set", "steps.wf.validations.train.acceptance.0.0=sps_mx"],
             r"acceptance key \"sps_mx\" .*did you mean \"sps_max\"\?")):
        rh.expect(rh.run(["-c", p, "--check"] + args, cwd=d), 2, err=[err])
    # a glob that matches nothing gets no guess; a name far from every step neither
    rh.expect(rh.run(["-c", p, "--check", "--rerun", "zz*"], cwd=d), 2,
              err=[r"--rerun zz\*: no such step"], not_err=[r"did you mean"])
    rh.expect(rh.run(["-c", p, "--check", "--profile", "zzzzzz"], cwd=d), 2,
              not_err=[r"did you mean"])
    # plugins --describe, with and without a plan
    rh.expect(rh.run(["-c", p, "plugins", "--describe", "runner_locl"], cwd=d), 2,
              err=[r"plugin \"runner_locl\" not found.*" + dym.format("runner_local")])
    rh.expect(rh.run(["plugins", "--describe", "comand"], cwd=d,
                     env={"RELHOST_PLUGIN_PATH": rh.plugin_dir()}), 2,
              err=[r"plugin \"comand\" not found.*" + dym.format("command")])
    rh.expect(rh.run(["-c", p, "plugins", "--describe", "cor"], cwd=d), 2,
              err=[dym.format("core")])


def case_did_you_mean_releases_validations_and_values():
    d = rh.scratch()
    p = _named_plan(d)
    rh.expect(rh.run(["-c", p, "--no-interactive"], cwd=d), 0)
    dym = r"\(did you mean '{}'\?\)"
    for args, err in (
            (["waive", "-r", "1.0", "--step", "smok", "--reason", "x"],
             r'no step "smok" .*' + dym.format("smoke")),
            (["waive", "-r", "1.0", "--step", "wf", "--validation", "trian", "--reason", "x"],
             r'has no validation "trian" ' + dym.format("train")),
            (["explain", "-r", "1.O"], r"no state for release 1\.O .*releases there: 1\.0 "
                                       + dym.format("1.0")),
            (["status", "-r", "1.1"], r"no state for release 1\.1 .*" + dym.format("1.0")),
            (["report", "-r", "1.O", "--format", "json"], r"no state .*" + dym.format("1.0")),
            (["report", "--format", "jsn"], r"not 'jsn'.*" + dym.format("json")),
            (["--color", "alwyas", "status"], r"got 'alwyas'.*" + dym.format("always")),
            (["completion", "bsh"], r"not 'bsh'.*" + dym.format("bash"))):
        rh.expect(rh.run(["-c", p] + args, cwd=d), 2, err=[err])
    # a release far from every one gets the list and no guess
    rh.expect(rh.run(["-c", p, "explain", "-r", "zzzzzz"], cwd=d), 2,
              err=[r"releases there: 1\.0"], not_err=[r"did you mean"])


def case_did_you_mean_commands_and_options():
    rh.expect(rh.run(["stauts"]), 2, err=[r"unknown command 'stauts' \(did you mean 'status'\?\)"])
    rh.expect(rh.run(["rolback", "--dry-run"]), 2, err=[r"did you mean 'rollback'\?"])
    rh.expect(rh.run(["status", "--follw"]), 2,
              err=[r"unknown option --follw \(did you mean --follow\?\)"])
    rh.expect(rh.run(["--chekc"]), 2, err=[r"did you mean --check\?"])
    rh.expect(rh.run(["--relase=1"]), 2,
              err=[r"unknown option --relase \(did you mean --release\?\)"])
    # nothing near: no guess
    rh.expect(rh.run(["zzzzzz"]), 2, err=[r"unknown command 'zzzzzz'; try"],
              not_err=[r"did you mean"])


def case_did_you_mean_steps_and_plan_keys():
    d = rh.scratch()
    p = plan(d, '  { name = "smoke"; plugin = "fixture_gate"; }')
    rh.expect(rh.run(["-c", p, "--step", "smok"], cwd=d), 2,
              err=[r"--step smok: no such step .*did you mean 'smoke'\?"])
    bad = plan(d, '  { name = "smoke"; plugin = "fixture_gate"; outcom = "passed"; }',
               name="bad.cfg")
    rh.expect(rh.run(["-c", bad, "--check"], cwd=d), 2,
              err=[r"outcom.*is not a known key.*did you mean 'outcome'\?"])
    top = rh.write_plan(d, f'plugin_pth = {json.dumps([rh.fixture("good")])};\n'
                           'steps = ( { name = "x"; plugin = "command"; cmd = ["true"]; } );\n',
                        "top.cfg")
    rh.expect(rh.run(["-c", top, "--check"], cwd=d), 2,
              err=[r"unknown plan key 'plugin_pth'.*did you mean 'plugin_path'\?"])


# ---- global options anywhere, the default plan -----------------------------------------------

def case_global_options_before_or_after_the_command():
    d = rh.scratch()
    p, _ = marked(d)
    rh.expect(rh.run(["-c", p, "--release", "1.0"], cwd=d), 0)
    for args in (["-c", p, "status"], ["--no-color", "-c", p, "explain"],
                 ["-q", "-c", p, "status", "-r", "1.0"], ["status", "-c", p]):
        rh.expect(rh.run(args, cwd=d), 0, not_err=[r"unexpected argument"])


def case_default_plan_from_relhost_config():
    d = rh.scratch()
    p, marker = marked(d)
    rh.expect(rh.run(["--check"], cwd=d, env={"RELHOST_CONFIG": p}), 0,
              out=[r"^check: plan is valid"])
    rh.expect(rh.run(["-r", "1.0"], cwd=d, env={"RELHOST_CONFIG": p}), 0)
    rh.present(marker, None, "the plan of RELHOST_CONFIG ran")


def case_default_plan_at_the_repository_root():
    d = rh.scratch()
    if not shutil.which("git"):
        raise rh.Skip("needs git")
    subprocess.run(["git", "init", "-q", d], check=True)
    p, marker = marked(d)
    os.rename(p, os.path.join(d, "relhost.cfg"))
    sub = os.path.join(d, "src", "deep")
    os.makedirs(sub)
    rh.expect(rh.run(["--check"], cwd=sub), 0, out=[rh.q(os.path.join(d, "relhost.cfg"))])
    # RELHOST_CONFIG comes first
    other = plan(d, '  { name = "other"; plugin = "fixture_gate"; }', name="other.cfg")
    rh.expect(rh.run(["--check"], cwd=sub, env={"RELHOST_CONFIG": other}), 0,
              out=[r"^  1\. other\s"])


def case_no_plan_names_both_defaults():
    d = rh.scratch()
    if not shutil.which("git"):
        raise rh.Skip("needs git")
    subprocess.run(["git", "init", "-q", d], check=True)
    r = rh.expect(rh.run(["status"], cwd=d), 2,
                  err=[r"no plan given: pass -c PLAN, set RELHOST_CONFIG, or add relhost\.cfg "
                       r"at the repository root", rh.q(os.path.join(d, "relhost.cfg"))])
    rh.check(r.out == "", "nothing on stdout", r)


# ---- colour -----------------------------------------------------------------------------------

def case_color_auto_always_never():
    d = rh.scratch()
    p, _ = marked(d)
    esc = "\x1b["
    runs = []

    def coloured(args, env=None):
        runs.append(1)  # a release of its own each time: --new does not start 1.0 again
        r = rh.run(["-c", p, "--release", f"1.{len(runs)}"] + args, cwd=d, env=env)
        rh.expect(r, 0)
        return esc in r.out + r.err

    rh.check(not coloured([]), "no colour into a pipe by default")
    rh.check(coloured(["--color=always"]), "--color=always colours a pipe")
    rh.check(coloured(["--color", "always"]), "--color always (a separate word)")
    rh.check(coloured([], {"FORCE_COLOR": "1"}), "FORCE_COLOR colours a pipe")
    rh.check(not coloured([], {"FORCE_COLOR": "1", "NO_COLOR": "1"}), "NO_COLOR wins over FORCE")
    rh.check(not coloured(["--color=never"], {"FORCE_COLOR": "1"}), "--color=never wins")
    rh.check(not coloured(["--no-color"], {"FORCE_COLOR": "1"}), "--no-color wins")
    rh.check(coloured(["--color=always"], {"NO_COLOR": "1"}), "--color=always wins over NO_COLOR")
    rh.expect(rh.run(["-c", p, "--color=sometimes"], cwd=d), 2,
              err=[r"--color wants auto, always or never, got 'sometimes'"])


def case_color_auto_is_plain_on_a_dumb_terminal():
    # A terminal that says TERM=dumb (an editor's shell buffer) shows escapes as text.
    d = rh.scratch()
    p, _ = marked(d)
    r = rh.run_pty(["-c", p, "--release", "1.1"], cwd=d, env={"TERM": "xterm"})
    rh.expect(r, 0)
    rh.check("\x1b[" in r.raw, "a capable terminal gets colours", r)
    r = rh.run_pty(["-c", p, "--release", "1.2"], cwd=d, env={"TERM": "dumb"})
    rh.expect(r, 0)
    rh.check("\x1b[" not in r.raw, "TERM=dumb: no escape sequence at all", r)
    r = rh.run_pty(["-c", p, "--release", "1.3", "--color=always"], cwd=d, env={"TERM": "dumb"})
    rh.expect(r, 0)
    rh.check("\x1b[" in r.raw, "--color=always wins over TERM=dumb", r)
    r = rh.run_pty(["-c", p, "--release", "1.4"], cwd=d, env={"TERM": "dumb", "FORCE_COLOR": "1"})
    rh.expect(r, 0)
    rh.check("\x1b[" in r.raw, "FORCE_COLOR wins over TERM=dumb", r)


def case_new_beside_a_release_that_ran_is_refused():
    # --new with the plan's fixed version (or --release V) named a release that had run: it was
    # continued quietly, as if --new had not been given (its PASSED steps "already completed").
    d = rh.scratch()
    p, marker = marked(d)
    rh.expect(rh.run(["-c", p], cwd=d), 0)
    os.remove(marker)
    for args in ([], ["--release", "1.0"]):
        r = rh.run(["-c", p, "--new"] + args, cwd=d)
        rh.expect(r, 2, err=[r"--new starts a new release, but release 1\.0 ran before \(first "
                             r"run 20\d\d-.*drop --new to continue it, or give another version"],
                  not_out=[r"already completed", r"result:"])
        rh.check(not os.path.exists(marker), "the refused run ran nothing", r)
    r = rh.run(["-c", p, "--new", "--release", "2.0"], cwd=d)
    rh.expect(r, 0)
    rh.check(os.path.exists(marker), "--new with a version never run starts it", r)
    auto = plan(d, "  " + rh.marker_step(d)[0].rstrip(","), version='version = "auto";',
                name="auto.cfg")
    first = rh.run(["-c", auto], cwd=d)
    r = rh.run(["-c", auto, "--new"], cwd=d)
    rh.expect(r, 0, not_out=[r"already completed"])
    made = [re.search(r"release (\S+) of plan", x.out) for x in (first, r)]
    rh.check(all(made) and made[0].group(1) != made[1].group(1),
             "with version = \"auto\", --new makes another version", r)


# ---- signals, status ----------------------------------------------------------------------------

def _stopped_by(sig):
    d = rh.scratch()
    started = os.path.join(d, "started")
    p = plan(d, f'  {{ name = "slow"; plugin = "command"; '
                f'cmd = ["sh", "-c", "touch {started}; exec sleep 60"]; }}')
    proc = subprocess.Popen([rh.relhost_bin(), "-c", p, "--no-interactive"], cwd=d,
                            env=rh.base_env(), stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            # a test run in the background inherits SIGINT ignored
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    try:
        rh.wait_for(lambda: os.path.exists(started), "the step to start")
        proc.send_signal(sig)
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    st = json.load(open(os.path.join(d, ".relhost", "state", "release_1.0.json")))
    return proc.returncode, out.decode(), st


def case_sigterm_exits_143_sigint_130():
    rc, out, st = _stopped_by(signal.SIGTERM)
    rh.check(rc == 143, f"exit {rc} after SIGTERM, want 143\n{out}")
    rh.check(re.search(r"^result: INTERRUPTED \(exit 143\)", out, re.M), out)
    rh.check(st.get("exit_code") == 143, f"the state records {st.get('exit_code')}")
    rc, out, st = _stopped_by(signal.SIGINT)
    rh.check(rc == 130, f"exit {rc} after SIGINT, want 130\n{out}")


def case_status_has_column_headers():
    d = rh.scratch()
    p = plan(d, '  { name = "wf"; plugin = "workflow"; validations = (\n'
                '    { name = "quick"; runner = "local"; cmd = ["true"]; } ); }',
             top='runners = { local = { plugin = "runner_local"; }; };\n')
    rh.expect(rh.run(["-c", p], cwd=d), 0)
    r = rh.expect(rh.run(["status", "-c", p], cwd=d), 0,
                  out=[r"^release 1\.0 of plan plan: 1 job\(s\)",
                       r"^  JOB\s+STATE\s+EXIT\s+TERMINATION\s+RST\s+EXTERNAL ID\s+RUNNER$"])
    lines = r.out.splitlines()
    head = next(i for i, ln in enumerate(lines) if ln.startswith("  JOB"))
    rh.check(lines[head + 1].split()[1] == "PASSED", "a job row follows the header", r)


def case_status_follow_exits_with_the_releases_code():
    d = rh.scratch()
    p = plan(d, '  { name = "t"; plugin = "command"; cmd = ["false"]; }')
    rh.expect(rh.run(["-c", p], cwd=d), 1)
    rh.expect(rh.run(["status", "-c", p, "--follow"], cwd=d), 1,
              out=[r"^release 1\.0 ended: .*\(exit 1\)$"])
    p2 = plan(d, '  { name = "t"; plugin = "command"; cmd = ["true"]; }', name="ok.cfg",
              version='version = "2.0";')
    rh.expect(rh.run(["-c", p2], cwd=d), 0)
    rh.expect(rh.run(["status", "-c", p2, "--follow"], cwd=d), 0)


# ---- --set on a list item; the manual's quoting -------------------------------------------------

def case_set_a_list_item_by_index():
    d = rh.scratch()
    p = plan(d, '  { name = "t"; plugin = "command"; cmd = ["touch", "a"]; }')
    rh.expect(rh.run(["-c", p, "--set", "steps.t.cmd.1=b", "--new"], cwd=d), 0)
    rh.check(os.path.exists(os.path.join(d, "b")) and not os.path.exists(os.path.join(d, "a")),
             f"cmd.1 replaced the second item: {sorted(os.listdir(d))}")
    rh.expect(rh.run(["-c", p, "--set", "steps.t.cmd.2=c", "--release", "1.1"], cwd=d), 0)
    rh.check(os.path.exists(os.path.join(d, "c")), "cmd.2 (the length) appended an item")
    rh.expect(rh.run(["-c", p, "--set", "steps.t.cmd.5=x", "--check"], cwd=d), 2,
              err=[r"--set steps\.t\.cmd\.5=x: '5' is no index of that list \(it has 2 item\(s\)"])
    rh.expect(rh.run(["-c", p, "--set", "steps.0.cmd.0=touch", "--check"], cwd=d), 0)
    # an empty name between dots is a typo, not a path to guess at
    for bad in ("steps..cmd=x", ".steps.t.cmd.0=x", "steps.t.cmd.=x"):
        rh.expect(rh.run(["-c", p, "--set", bad, "--check"], cwd=d), 2,
                  err=[rf"--set {re.escape(bad)}: expected KEY.PATH=VALUE "
                       r"\(an empty name between dots\)"])


def case_manuals_render_without_doubled_quotes():
    groff = shutil.which("groff")
    if not groff:
        raise rh.Skip("needs groff")
    for page in ("relhost.1", "relhost.cfg.5"):
        r = subprocess.run([groff, "-man", "-Tutf8", "-P-c", "-P-b", "-P-u",
                            os.path.join(rh.source_dir(), "docs", page)],
                           capture_output=True, text=True, env=rh.base_env())
        bad = [ln.strip() for ln in r.stdout.splitlines() if re.search(r'""\w|\w""', ln)]
        rh.check(not bad, f"{page} renders doubled quotes: {bad}")


# ---- completion ----------------------------------------------------------------------------------

def _bash_complete(script, words):
    line = " ".join(words)
    prog = (f'source "{script}"\nCOMP_WORDS=({line})\nCOMP_CWORD={len(words) - 1}\n'
            '_relhost\nprintf "%s\\n" "${COMPREPLY[@]}"\n')
    r = subprocess.run(["bash", "--norc", "--noprofile", "-c", prog], capture_output=True,
                       text=True)
    rh.check(r.returncode == 0 and r.stderr == "", f"bash: {r.stderr}")
    return r.stdout.split()


def case_completion_scripts():
    if not shutil.which("bash"):
        raise rh.Skip("needs bash")
    d = rh.scratch()
    r = rh.expect(rh.run(["completion", "bash"]), 0, out=[r"complete -F _relhost relhost"])
    script = rh.write(os.path.join(d, "relhost.bash"), r.out)
    got = _bash_complete(script, ["relhost", "sta"])
    rh.check(got == ["status"], f"relhost sta<TAB>: {got}")
    got = _bash_complete(script, ["relhost", "status", "--fo"])
    rh.check(got == ["--follow"], f"relhost status --fo<TAB>: {got}")
    got = _bash_complete(script, ["relhost", "-c", "x", "rollback", "--d"])
    rh.check(got == ["--dry-run"], f"relhost -c x rollback --d<TAB>: {got}")
    got = _bash_complete(script, ["relhost", "--re"])
    rh.check("--release" in got and "--rerun" in got and "--reason" not in got,
             f"relhost --re<TAB> (run's options): {got}")
    got = _bash_complete(script, ["relhost", "report", "--format", ""])
    rh.check(got == ["junit", "json", "md"], f"--format <TAB>: {got}")
    # every long option of the tables is completed for some command
    text = r.out
    helptext = rh.run(["--help"]).out
    for opt in set(re.findall(r"^\s+(?:-\w, )?(--[a-z-]+)", helptext, re.M)):
        rh.check(re.search(rf"(?<![\w-]){re.escape(opt)}(?![\w-])", text),
                 f"{opt} is in no completion")
    # bash registers it: `complete -p relhost` names the function
    c = subprocess.run(["bash", "--norc", "--noprofile", "-c", f'source "{script}"; complete -p relhost'],
                       capture_output=True, text=True)
    rh.check(c.returncode == 0 and "complete -F _relhost relhost" in c.stdout,
             f"complete -p relhost: {c.stdout} {c.stderr}")
    rh.expect(rh.run(["completion", "tcsh"]), 2, err=[r"completion wants bash, zsh or fish"])


def _shell_or_skip(name):
    path = shutil.which(name)
    if not path:
        raise rh.Skip(f"needs {name} on PATH to check `relhost completion {name}` "
                      f"(.ci/setup installs it; apt-get install {name})")
    return path


def case_completion_zsh():
    zsh = _shell_or_skip("zsh")
    d = rh.scratch()
    r = rh.expect(rh.run(["completion", "zsh"]), 0, out=[r"^#compdef relhost$"])
    f = rh.write(os.path.join(d, "_relhost"), r.out)
    c = subprocess.run([zsh, "-n", f], capture_output=True, text=True)
    rh.check(c.returncode == 0, f"zsh -n: {c.stderr}")
    # Installed in fpath and found by compinit, as a user's zsh finds it; compadd and _files are
    # replaced by functions that print what the completion offers (zsh filters by PREFIX itself).
    prog = f"""fpath=({d} $fpath)
autoload -Uz compinit && compinit -u -D
print -r -- "comp=${{_comps[relhost]}}"
compadd() {{ print -r -- "ADD ${{@:#--}}"; }}
_files() {{ print -r -- FILES; }}
words=(relhost sta); CURRENT=2; PREFIX=sta; _relhost
words=(relhost -c x status --fo); CURRENT=5; PREFIX=--fo; _relhost
words=(relhost report --format ''); CURRENT=4; PREFIX=; _relhost
words=(relhost -c ''); CURRENT=3; PREFIX=; _relhost
"""
    c = subprocess.run([zsh, "-f", "-c", prog], capture_output=True, text=True, cwd=d)
    rh.check(c.returncode == 0 and c.stderr == "", f"zsh -f: {c.stderr}")
    lines = c.stdout.splitlines()
    rh.check(lines[:1] == ["comp=_relhost"], f"compinit did not register _relhost: {c.stdout}")
    rh.check(len(lines) == 5, f"one answer per completion asked: {c.stdout}")
    rh.check("status" in lines[1].split() and "--follow" not in lines[1].split(),
             f"relhost sta<TAB> (the commands): {lines[1]}")
    rh.check("--follow" in lines[2].split() and "--dry-run" not in lines[2].split(),
             f"relhost -c x status --fo<TAB> (status's options): {lines[2]}")
    rh.check(lines[3] == "ADD junit json md", f"--format <TAB>: {lines[3]}")
    rh.check(lines[4] == "FILES", f"-c <TAB> completes files: {lines[4]}")


def _fish_complete(fish, script, line):
    c = subprocess.run([fish, "--no-config", "-c", f"source {script}; complete -C '{line}'"],
                       capture_output=True, text=True, cwd=os.path.dirname(script))
    rh.check(c.returncode == 0 and c.stderr == "", f"fish complete -C '{line}': {c.stderr}")
    return [ln.split("\t") for ln in c.stdout.splitlines()]


def case_completion_fish():
    fish = _shell_or_skip("fish")
    d = rh.scratch()
    r = rh.expect(rh.run(["completion", "fish"]), 0, out=[r"complete -c relhost"])
    f = rh.write(os.path.join(d, "relhost.fish"), r.out)
    c = subprocess.run([fish, "--no-execute", f], capture_output=True, text=True)
    rh.check(c.returncode == 0, f"fish --no-execute: {c.stderr}")
    got = _fish_complete(fish, f, "relhost sta")
    rh.check([g[0] for g in got] == ["status"], f"relhost sta<TAB>: {got}")
    # the description is the summary's first clause, whole (an apostrophe does not cut it)
    rh.check(got[0][1:] == ["refresh and show the release's jobs"], f"its description: {got}")
    got = [g[0] for g in _fish_complete(fish, f, "relhost -c x status --fo")]
    rh.check(got == ["--follow"], f"relhost -c x status --fo<TAB>: {got}")
    got = [g[0] for g in _fish_complete(fish, f, "relhost rollback --")]
    rh.check("--dry-run" in got and "--follow" not in got, f"rollback --<TAB>: {got}")
    got = [g[0] for g in _fish_complete(fish, f, "relhost report --format ")]
    rh.check(sorted(got) == ["json", "junit", "md"], f"--format <TAB>: {got}")
    full = _fish_complete(fish, f, "relhost --color ")
    got = [g[0] for g in full]
    rh.check(sorted(got) == ["always", "auto", "never"], f"--color <TAB>: {got}")
    # each value's description says what the option does (it read "auto" beside all three)
    rh.check(all(len(g) == 2 and "colour" in g[1] for g in full), f"--color <TAB>: {full}")
    got = [g[0] for g in _fish_complete(fish, f, "relhost -c ")]
    rh.check(got == ["relhost.fish"], f"-c <TAB> offers the folder's files: {got}")
    got = [g[0] for g in _fish_complete(fish, f, "relhost --release ")]
    rh.check(got == [], f"--release <TAB> offers no files: {got}")


if __name__ == "__main__":
    sys.exit(rh.main(globals()))
