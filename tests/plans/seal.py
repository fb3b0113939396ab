#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""seal.py - children never inherit a credential they were not given (issue "Secrets sealed in").

Every variable a secret option of an installed plugin names, and every variable whose name looks
secret, is sealed when relhost starts: no process it starts (command steps, local jobs, git...)
inherits it; pass_env hands one over by name, and is the only way. A short value in a variable
the plan uses is refused; in one sealed only by its name it is kept out and warned about.

Run one case: seal.py <case>; all: seal.py; names: seal.py --list.
"""
import json
import os
import sys

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))
import rh  # noqa: E402

# Distinct values, all long enough to mask; none appears in any other text of a run.
SECRETS = {
    "ASANA_TOKEN": "asana-0d1f3c5e7a9b",        # asana's token default: plan has no asana step
    "GITHUB_TOKEN": "ghp_9Qx7Lm2Vt5Rk8Zw3",     # github's default
    "WANDB_API_KEY": "wandbKey-4c8e1a7f2b6d",   # metrics_wandb's default
    "DISCORD_WEBHOOK_URL": "https://127.0.0.1:1/api/webhooks/123/abcDEFsecretPATHvalue",
    "MY_SERVICE_TOKEN": "svc-tok-77a1b2c3d4",   # sealed by its name only
    "PGPASSWORD": "pg-pass-5e6f7a8b9c",          # PASSWORD ending the name
    "HF_TOKEN": "hf_Abc123Def456Ghi",           # handed over with pass_env
}
PLAIN = {"TOKENIZERS_PARALLELISM": "false", "MY_SETTING": "plain-value-1"}


def dump_env_cmd(path):
    """A command that writes its environment, NUL-separated, to path."""
    return json.dumps(["/bin/sh", "-c", f'env -0 > "{path}"'])


def read_env(path):
    raw = open(path, "rb").read().decode("utf-8", "replace")
    return dict(e.split("=", 1) for e in raw.split("\0") if "=" in e)


def plan(folder, steps, extra=""):
    return rh.write_plan(folder, (
        f"plugin_path = {json.dumps([rh.plugin_dir()])};\n"
        f'version = "1.0"; state_dir = "state"; log_dir = "logs";\n'
        f'runners = {{ local = {{ plugin = "runner_local"; }}; }};\n'
        f"{extra}"
        f"steps = (\n{steps}\n);\n"))


def env_with(extra=None):
    e = dict(SECRETS)
    e.update(PLAIN)
    if extra:
        e.update(extra)
    return rh.base_env(e)


def case_command_and_job_inherit_no_secret_but_pass_env():
    d = rh.scratch()
    cmd_env, job_env = os.path.join(d, "cmd.env"), os.path.join(d, "job.env")
    p = plan(d, (
        f'{{ name = "cmd"; plugin = "command"; cmd = {dump_env_cmd(cmd_env)}; }},\n'
        f'{{ name = "jobs"; plugin = "workflow"; runner = "local";\n'
        f'  validations = ( {{ name = "dump"; cmd = {dump_env_cmd(job_env)};\n'
        f'                     pass_env = ["HF_TOKEN", "MY_SETTING"]; }} ); }}'))
    r = rh.run(["-c", p], env=env_with(), cwd=d)
    rh.expect(r, 0)
    for path, what in ((cmd_env, "a command step"), (job_env, "a local job")):
        got = read_env(path)
        for name in SECRETS:
            if name == "HF_TOKEN" and path == job_env:
                continue
            rh.check(name not in got, f"{what} inherited {name}", r)
            rh.check(SECRETS[name] not in "".join(got.values()),
                     f"{what} holds the value of {name} under another name", r)
        rh.check(got.get("TOKENIZERS_PARALLELISM") == "false",
                 f"{what} lost TOKENIZERS_PARALLELISM (it does not look secret)", r)
    got = read_env(job_env)
    rh.check(got.get("HF_TOKEN") == SECRETS["HF_TOKEN"], "pass_env did not hand HF_TOKEN over", r)
    rh.check(got.get("MY_SETTING") == PLAIN["MY_SETTING"], "pass_env did not hand MY_SETTING over", r)


def case_command_pass_env_hands_one_over():
    d = rh.scratch()
    out = os.path.join(d, "cmd.env")
    p = plan(d, f'{{ name = "cmd"; plugin = "command"; cmd = {dump_env_cmd(out)};\n'
                f'  pass_env = ["MY_SERVICE_TOKEN"]; }}')
    r = rh.run(["-c", p], env=env_with(), cwd=d)
    rh.expect(r, 0)
    got = read_env(out)
    rh.check(got.get("MY_SERVICE_TOKEN") == SECRETS["MY_SERVICE_TOKEN"],
             "a command step's pass_env did not hand MY_SERVICE_TOKEN over", r)
    rh.check("PGPASSWORD" not in got and "ASANA_TOKEN" not in got,
             "a command step got a secret it did not ask for", r)


def case_git_hook_sees_no_secret():
    d = rh.scratch()
    repo, hook_env = os.path.join(d, "repo"), os.path.join(d, "hook.env")
    genv = rh.base_env({"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.invalid",
                        "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.invalid"})
    import subprocess
    subprocess.run(["git", "init", "-q", "-b", "main", repo], check=True, env=genv)
    rh.write(os.path.join(repo, "f"), "x\n")
    subprocess.run(["git", "-C", repo, "add", "f"], check=True, env=genv)
    subprocess.run(["git", "-C", repo, "commit", "-qm", "one"], check=True, env=genv)
    # every hook git may run for what relhost does (worktree add runs post-checkout)
    for hook in ("post-checkout", "reference-transaction", "post-commit"):
        rh.write(os.path.join(repo, ".git", "hooks", hook),
                 f'#!/bin/sh\nenv -0 >> "{hook_env}"; printf "\\0" >> "{hook_env}"\n', mode=0o755)
    p = plan(d, f'{{ name = "build"; plugin = "command"; cmd = ["true"]; }}',
             extra=f'repo = "{repo}"; checkout = "worktree";\n')
    r = rh.run(["-c", p], env=env_with(genv), cwd=d)
    rh.expect(r, 0)
    if not os.path.exists(hook_env):
        raise rh.Skip("no git hook ran for this plan (relhost ran no git command that runs one)")
    text = open(hook_env, "rb").read().decode("utf-8", "replace")
    for name, value in SECRETS.items():
        rh.check(value not in text, f"a git hook saw {name}", r)


def case_short_secret_the_plan_uses_is_refused():
    d = rh.scratch()
    marker_text, marker = rh.marker_step(d)
    p = plan(d, f'{marker_text}\n{{ name = "cmd"; plugin = "command"; cmd = ["true"];\n'
                f'  pass_env = ["MY_SERVICE_TOKEN"]; }}')
    r = rh.run(["-c", p], env=env_with({"MY_SERVICE_TOKEN": "q7Zx"}), cwd=d)
    rh.expect(r, 2, err=[r"MY_SERVICE_TOKEN", r"fewer than 8 bytes"], not_any=["q7Zx"])
    rh.absent(marker, r, "a refused plan runs no step")


def case_short_secret_option_value_is_refused():
    d = rh.scratch()
    p = plan(d, '{ name = "wf"; plugin = "workflow"; runner = "local"; metrics = ["wb"];\n'
                '  validations = ( { name = "v"; cmd = ["true"]; } ); }',
             extra='metrics = { wb = { plugin = "metrics_wandb"; entity = "e"; project = "p";\n'
                   '  api_key_env = "WB_KEY"; metrics = ( { name = "m"; key = "m"; } ); }; };\n')
    r = rh.run(["-c", p, "--check"], env=env_with({"WB_KEY": "k3y"}), cwd=d)
    if r.rc == 2 and "api_key_env" not in r.err and "WB_KEY" not in r.err:
        raise rh.Skip("metrics_wandb has no api_key_env option: " + r.err.strip()[:200])
    rh.expect(r, 2, err=[r"WB_KEY", r"fewer than 8 bytes"], not_any=["k3y"])


def case_short_value_sealed_by_name_only_is_kept_out_and_warned():
    d = rh.scratch()
    out = os.path.join(d, "cmd.env")
    p = plan(d, f'{{ name = "cmd"; plugin = "command"; cmd = {dump_env_cmd(out)}; }}')
    r = rh.run(["-c", p], env=env_with({"MY_SERVICE_TOKEN": "q7Zx"}), cwd=d)
    rh.expect(r, 0, err=[r"MY_SERVICE_TOKEN looks like a secret but holds fewer than 8 bytes"],
              not_any=["q7Zx"])
    rh.check("MY_SERVICE_TOKEN" not in read_env(out), "a short sealed value reached a child", r)


def case_pass_env_naming_an_unset_variable_is_a_plan_error():
    d = rh.scratch()
    marker_text, marker = rh.marker_step(d)
    p = plan(d, f'{marker_text}\n{{ name = "jobs"; plugin = "workflow"; runner = "local";\n'
                f'  validations = ( {{ name = "v"; cmd = ["true"]; #HERE\n'
                f'                     pass_env = ["NOT_SET_ANYWHERE_X"]; }} ); }}')
    r = rh.run(["-c", p], env=env_with({"NOT_SET_ANYWHERE_X": None}), cwd=d)
    rh.expect(r, 2, err=[r"pass_env", r"NOT_SET_ANYWHERE_X", r"not set"])
    rh.absent(marker, r, "a refused plan runs no step")
    # reading the plan (status, report) does not need the variable
    r = rh.run(["status", "-c", p], env=env_with({"NOT_SET_ANYWHERE_X": None}), cwd=d)
    rh.check(r.rc != 2 or "NOT_SET_ANYWHERE_X" not in r.err,
             "status refused a plan over an unset pass_env variable", r)


def case_check_lists_the_secrets_each_step_passes():
    d = rh.scratch()
    p = plan(d, (
        '{ name = "cmd"; plugin = "command"; cmd = ["true"]; pass_env = ["MY_SERVICE_TOKEN"]; },\n'
        '{ name = "jobs"; plugin = "workflow"; runner = "local";\n'
        '  validations = ( { name = "v"; cmd = ["true"]; pass_env = ["HF_TOKEN", "MY_SETTING"]; } ); },\n'
        '{ name = "plain"; plugin = "command"; cmd = ["true"]; }'))
    r = rh.run(["-c", p, "--check"], env=env_with(), cwd=d)
    rh.expect(r, 0, out=[r"secrets: passes MY_SERVICE_TOKEN to its processes",
                         r"secrets: passes HF_TOKEN to its processes \(pass_env\); also hands over MY_SETTING",
                         r"secrets: passes none to its processes"],
              not_any=[v for v in SECRETS.values()])


def case_secret_in_a_failure_tail_is_masked_in_the_state():
    d = rh.scratch()
    tok = SECRETS["MY_SERVICE_TOKEN"]
    p = plan(d, '{ name = "leak"; plugin = "command";\n'
                '  cmd = ["/bin/sh", "-c", "echo token is $LEAKED; exit 1"]; env = { LEAKED = "' + tok + '"; }; }')
    r = rh.run(["-c", p], env=env_with(), cwd=d)
    rh.expect(r, 1, not_any=[tok])
    for root, _, files in os.walk(os.path.join(d, "state")):
        for f in files:
            data = open(os.path.join(root, f), "rb").read()
            rh.check(tok.encode() not in data, f"the state file {f} holds MY_SERVICE_TOKEN", r)


if __name__ == "__main__":
    sys.exit(rh.main(globals()))
