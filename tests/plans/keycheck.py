#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""keycheck.py - acceptance keys and source credentials are checked when the plan is opened.

A typo in an acceptance metric (`eval_succes_rate`) used to pass --check and fail the release
with "metric missing" after its jobs had run; a required step whose metrics_wandb source had no
$WANDB_API_KEY found out after hours of jobs. Both are now exit 2 at --check AND at a real run
before any job starts, with file:line (found through a `#HERE` comment), the keys the sources
post and a "did you mean". Plans that are right, and optional steps, still go ahead.

Run one case: keycheck.py <case>; all: keycheck.py; names: keycheck.py --list.
"""
import json
import os
import sys

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))
import rh  # noqa: E402

REGEX_DEFAULT_KEYS = ["sps_max", "sps_last", "eval_success_rate", "exit_code",
                      "termination_reason", "restart_count"]

WANDB_SOURCE = ('wandb = { plugin = "metrics_wandb"; entity = "e"; project = "p"; #SOURCE\n'
                '            metrics = ( { name = "success_rate"; key = "eval/success_rate"; },\n'
                '                        { name = "sps_tail"; key = "overview/sps";\n'
                '                          reducer = "mean_last_pct"; } ); };\n')


class Plan:
    """A scratch folder with a plan: a marker step, then one workflow step whose only validation
    would touch a file (`job_marker`) when its job runs."""

    def __init__(self, acceptance, sources='["logs"]', required="true", regex_extra="",
                 wandb=False, validation_extra=""):
        self.dir = rh.scratch()
        marker_text, self.marker = rh.marker_step(self.dir)
        self.job_marker = os.path.join(self.dir, "job-ran")
        self.state = os.path.join(self.dir, "state")
        self.logs = os.path.join(self.dir, "logs")
        self.text = (
            f"plugin_path = {json.dumps([rh.plugin_dir()])};\n"
            f'version = "1.0";\n'
            f'state_dir = "state"; log_dir = "logs";\n'
            f'runners = {{ local = {{ plugin = "runner_local"; }}; }};\n'
            f"metrics = {{\n"
            f'  logs = {{ plugin = "metrics_regex"; {regex_extra} }};\n'
            f"  {WANDB_SOURCE if wandb else ''}"
            f"}};\n"
            f"steps = (\n"
            f"  {marker_text}\n"
            f'  {{ name = "workflow-tests"; plugin = "workflow"; required = {required};\n'
            f"    metrics = {sources}; runner = \"local\";\n"
            f"    validations = (\n"
            f'      {{ name = "smoke"; cmd = ["touch", "{self.job_marker}"]; {validation_extra}\n'
            f"        acceptance = (\n"
            f"{acceptance}\n"
            f"        ); }}\n"
            f"    ); }}\n"
            f");\n")
        self.path = rh.write_plan(self.dir, self.text)

    def at(self, mark="#HERE"):
        return rh.at(self.path, mark)

    def run(self, args=(), env=None):
        return rh.run(["-c", self.path] + list(args), env=env, cwd=self.dir)

    def refused(self, r, err):
        """Exit 2 with one error line matching every regex in err, and nothing ran: no step, no
        job, no job log, no state."""
        rh.expect(r, 2, err=err)
        lines = r.err.splitlines()
        rh.check(len(lines) == 1 and lines[0].startswith("relhost error: "),
                 f"expected exactly one line 'relhost error: ...' on stderr, got {len(lines)}", r)
        rh.absent(self.marker, r, "a refused plan runs no step")
        rh.absent(self.job_marker, r, "a refused plan starts no job")
        logs = [os.path.join(d, f) for d, _, fs in os.walk(self.logs) for f in fs]
        rh.check(not logs, f"a refused plan writes no job log, found {logs}", r)
        rh.absent(self.state, r, "a refused plan creates no release state")


def check_line(key, op=">=", value="0.5", mark=""):
    """One check of an acceptance list; mark (e.g. "#HERE") goes into a comment on its line."""
    return (f'("{key}", "{op}", {value})', mark)


def acceptance(*checks):
    return "\n".join(f"          {text}{',' if i + 1 < len(checks) else ''}"
                     f"{'  ' + mark if mark else ''}"
                     for i, (text, mark) in enumerate(checks))


# ---- unknown keys -------------------------------------------------------------------------------

def case_typo_refused_at_check_and_run():
    p = Plan(acceptance(check_line("sps_max", value="30000.0"),
                        check_line("eval_succes_rate", value="0.8", mark="#HERE")))
    want = [p.at() + rh.q('acceptance key "eval_succes_rate" is not posted by metrics source '
                          'logs (metrics_regex); did you mean "eval_success_rate"? keys it posts: '),
            rh.q(", ".join(REGEX_DEFAULT_KEYS))]
    p.refused(p.run(["--check"]), want)
    # The real run says the same before its first step (or job) starts.
    p.refused(p.run(), want)


def case_correct_plan_passes_check():
    p = Plan(acceptance(check_line("sps_max", value="30000.0"),
                        check_line("eval_success_rate", value="0.8"),
                        check_line("exit_code", op="==", value="0.0"),
                        check_line("restart_count", op="<=", value="1.0")))
    r = p.run(["--check"])
    rh.expect(r, 0, out=[r"plan is valid"], not_err=[r"not posted"])
    rh.absent(p.job_marker, r, "--check starts no job")


def case_every_unknown_key_is_named():
    p = Plan(acceptance(check_line("sps_mx", value="1.0", mark="#HERE"),
                        check_line("eval_success_rate"),
                        check_line("completely_unrelated")))
    p.refused(p.run(["--check"]),
              [p.at() + rh.q('acceptance key "sps_mx" is not posted by metrics source logs '
                             '(metrics_regex); did you mean "sps_max"? (nor "completely_unrelated")'
                             '; keys it posts: sps_max')])


def case_a_key_without_reducer_suggests_the_reduced_names():
    p = Plan(acceptance(check_line("sps", value="1.0", mark="#HERE")))
    p.refused(p.run(["--check"]),
              [p.at() + rh.q('acceptance key "sps" is not posted by metrics source logs '
                             '(metrics_regex); did you mean "sps_max" or "sps_last"?')])


def case_far_off_key_gets_no_suggestion():
    p = Plan(acceptance(check_line("throughput", value="1.0", mark="#HERE")))
    r = p.run(["--check"])
    p.refused(r, [p.at() + rh.q('acceptance key "throughput" is not posted by metrics source '
                                'logs (metrics_regex); keys it posts: sps_max')])
    rh.expect(r, 2, not_err=[r"did you mean"])


def case_configured_patterns_declare_their_derived_keys():
    extra = ('patterns = ( { name = "loss"; regex = "loss=([0-9.]+)"; reducers = ["min", "mean"]; },'
             ' { name = "sps"; regex = "steps/s=([0-9.]+)"; reducers = ["mean"]; },'
             ' { name = "gpu"; regex = "gpu=(\\\\w+)"; label = true; metric = "gpu_model"; },'
             ' { name = "lr"; regex = "lr=([0-9.e-]+)"; metric = "learning_rate"; } );')
    good = Plan(acceptance(check_line("loss_min", op="<=", value="2.0"),
                           check_line("loss_mean", op="<=", value="3.0"),
                           check_line("sps_mean", value="100.0"),
                           check_line("learning_rate", op=">", value="0.0"),
                           check_line("eval_success_rate")),
                regex_extra=extra)
    rh.expect(good.run(["--check"]), 0, out=[r"plan is valid"])
    # A plan pattern named like a default replaces it: sps_max is no longer posted.
    bad = Plan(acceptance(check_line("sps_max", value="1.0", mark="#HERE")), regex_extra=extra)
    r = bad.run(["--check"])
    bad.refused(r, [bad.at() + rh.q('acceptance key "sps_max" is not posted by metrics source '
                                    'logs (metrics_regex); did you mean "sps_mean"?'),
                    rh.q("loss_min, loss_mean, sps_mean, gpu_model, learning_rate")])
    rh.expect(r, 2, not_err=[r"keys it posts:[^\n]*sps_last"])


def case_several_sources_pool_their_keys():
    p = Plan(acceptance(check_line("sps_max", value="1.0"),
                        check_line("success_rate"),
                        check_line("sps_tial", value="1.0", mark="#HERE")),
             sources='["logs", "wandb"]', wandb=True)
    env = {"WANDB_API_KEY": "dummy-key-for-tests-0123456789"}
    p.refused(p.run(["--check"], env=env),
              [p.at() + rh.q('acceptance key "sps_tial" is not posted by metrics sources logs '
                             '(metrics_regex), wandb (metrics_wandb); did you mean "sps_tail"? '
                             'keys they post: '),
               rh.q("success_rate, sps_tail, wandb_run")])
    ok = Plan(acceptance(check_line("sps_max", value="1.0"), check_line("success_rate"),
                         check_line("sps_tail", value="1.0")),
              sources='["logs", "wandb"]', wandb=True)
    rh.expect(ok.run(["--check"], env=env), 0, out=[r"plan is valid"])


def case_checks_without_a_source_are_refused():
    p = Plan(acceptance(check_line("sps_max", value="1.0")), sources="[]")
    p.refused(p.run(["--check"]),
              [rh.q('acceptance checks read "sps_max" but no metrics source is named to post '
                    'them; name one with metrics = ["..."] (defined: logs)')])


# ---- credentials of a required step's sources ---------------------------------------------------

def wandb_plan(required, key_env=None):
    p = Plan(acceptance(check_line("success_rate", value="0.8")), sources='["wandb"]',
             wandb=True, required=required)
    if key_env is not None:
        p.text = p.text.replace('project = "p";', f'project = "p"; api_key_env = "{key_env}";')
        rh.write_plan(p.dir, p.text)
    return p


def case_unset_wandb_key_refuses_a_required_step():
    p = wandb_plan("true")
    want = [p.at("#SOURCE") + rh.q("metrics source wandb needs $WANDB_API_KEY (its option "
                                   "api_key_env) for required step workflow-tests; set it, or "
                                   "make the step optional")]
    p.refused(p.run(["--check"], env={"WANDB_API_KEY": None}), want)
    p.refused(p.run(env={"WANDB_API_KEY": None}), want)
    # Set but empty is as good as unset.
    p.refused(p.run(["--check"], env={"WANDB_API_KEY": ""}), want)


def case_the_variable_api_key_env_names_is_the_one_required():
    # The source declares the variable its api_key_env names (credentials()), not WANDB_API_KEY.
    p = wandb_plan("true", key_env="RH_TEST_WB_KEY")
    want = [p.at("#SOURCE") + rh.q("metrics source wandb needs $RH_TEST_WB_KEY (its option "
                                   "api_key_env) for required step workflow-tests; set it, or "
                                   "make the step optional")]
    p.refused(p.run(["--check"], env={"RH_TEST_WB_KEY": None, "WANDB_API_KEY": "unused-value"}),
              want)
    r = p.run(["--check"], env={"RH_TEST_WB_KEY": "set-value-0123", "WANDB_API_KEY": None})
    rh.expect(r, 0, out=[r"plan is valid"], not_err=[r"needs \$", rh.q("set-value-0123")])


def case_set_wandb_key_passes_and_is_never_shown():
    p = wandb_plan("true")
    secret = "wandb-secret-value-0123456789abcdef"
    r = p.run(["--check"], env={"WANDB_API_KEY": secret})
    rh.expect(r, 0, out=[r"plan is valid"], not_any=[rh.q(secret)])


def case_unset_wandb_key_is_allowed_in_an_optional_step():
    p = wandb_plan("false")
    r = p.run(["--check"], env={"WANDB_API_KEY": None})
    rh.expect(r, 0, out=[r"plan is valid"], not_err=[r"WANDB_API_KEY"])
    # The run goes ahead: the job runs (its metrics source then fails, which is the step's
    # business, not the plan's).
    r = p.run(env={"WANDB_API_KEY": None})
    rh.check(r.rc != 2, "an optional step's missing credential must not refuse the plan", r)
    rh.present(p.job_marker, r, "the optional step's job must have run")


def case_a_wandb_run_folder_needs_no_key():
    # Reading files/wandb-summary.json of a run folder needs no API key (metrics_wandb README).
    p = Plan(acceptance(check_line("success_rate", value="0.8")), sources='["wandb"]',
             wandb=True)
    p.text = p.text.replace('project = "p";', 'project = "p"; run_dir = "wandb/latest-run";')
    rh.write_plan(p.dir, p.text)
    r = p.run(["--check"], env={"WANDB_API_KEY": None})
    rh.expect(r, 0, out=[r"plan is valid"], not_err=[r"WANDB_API_KEY"])


# ---- the shipped plans ----------------------------------------------------------------------------

def shipped_plan_check(name):
    path = os.path.join(rh.source_dir(), "etc", name)
    # Their steps' own credentials (Asana, GitHub, webhooks) are looked up only when they run.
    r = rh.run(["-c", path, "--check"], cwd=os.path.join(rh.source_dir(), "etc"))
    rh.expect(r, 0, out=[r"plan is valid"], not_err=[r"not posted", r"needs \$"])


def case_demo_plan_passes_check():
    shipped_plan_check("demo.cfg")


def case_stable_plan_passes_check():
    shipped_plan_check("stable.cfg")


if __name__ == "__main__":
    sys.exit(rh.main(globals()))
