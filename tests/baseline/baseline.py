#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""baseline.py - baseline rules in acceptance checks and repeated validations, end to end.

Each case drives the real relhost binary on a small plan whose validations run bench.py (which
prints exact SPS / eval / latency values, a different one per repeat) and, where a case needs
one, a baseline store written here directly (promotion, which writes it for real, is tested with
the registry). Run one case: baseline.py <case>."""
import json
import os
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))
import rh  # noqa: E402

PY = os.environ.get("PYTHON3", sys.executable)
BENCH = os.path.join(os.path.dirname(os.path.abspath(__file__)), "bench.py")

# metrics_regex's defaults read SPS and eval_success_rate; latency_ms is the plan's own pattern.
PLAN = """state_dir = "state"; log_dir = "logs";
{top}
runners = {{ local = {{ plugin = "runner_local"; max_parallel = {mp}; grace = "1s"; }}; }};
metrics = {{ logs = {{ plugin = "metrics_regex";
                      patterns = ( {{ name = "latency_ms"; metric = "latency_ms";
                                     regex = "latency_ms[:=]\\\\s*([0-9.]+)"; }} ); }}; }};
steps = (
  {{ name = "tests"; plugin = "workflow"; metrics = ["logs"];
     validations = ( {vals} ); }}
);
"""


class Plan:
    def __init__(self, vals, top="", mp=4):
        self.dir = rh.scratch()
        self.baseline = os.path.join(self.dir, "state", "baseline.json")
        self.write(vals, top, mp)

    def write(self, vals, top="", mp=4):
        self.path = rh.write_plan(self.dir, PLAN.format(top=top, mp=mp, vals=",\n".join(vals)))

    def run(self, *args):
        return rh.run(["-c", self.path, "--no-color", "--no-interactive"] + list(args),
                      cwd=self.dir)

    def state(self, version="1"):
        with open(os.path.join(self.dir, "state", f"release_{version}.json")) as f:
            return json.load(f)

    def job(self, name, version="1"):
        jobs = self.state(version)["jobs"]
        rh.check(f"tests/{name}" in jobs, f"no job tests/{name} in the state: {sorted(jobs)}")
        return jobs[f"tests/{name}"]

    def store(self, entries, schema=1):
        """Write the baseline store: entries {"<validation>::<metric>": value or [samples]}."""
        m = {}
        for k, v in entries.items():
            s = v if isinstance(v, list) else [v]
            m[k] = {"value": sorted(s)[len(s) // 2], "samples": s, "stat": "median",
                    "version": "0.9", "commit": None, "recorded_at": "2025-10-01T00:00:00Z"}
        rh.write(self.baseline, json.dumps({"schema": schema, "metrics": m}, indent=2))

    def p(self, *parts):
        return os.path.join(self.dir, *parts)


def val(name, bench_args, acceptance, extra=""):
    cmd = ", ".join(json.dumps(a) for a in [PY, BENCH] + list(bench_args))
    return (f'{{ name = "{name}"; cmd = [{cmd}]; timeout_s = 60; {extra}\n'
            f'   acceptance = ( {acceptance} ); }}')


def counted(path):
    return open(path).read().split() if os.path.exists(path) else []


SPS_RULE = '{ metric = "sps_max"; baseline = "higher"; rel = 0.20; }'


def check_rec(job, i=0):
    return job["evidence"]["checks"][i]


def case_failed_checks_say_actual_relation_and_requirement():
    """A failed check reads as what it is everywhere: the value, the relation that broke the
    rule, and the rule (never "sps_max 12833 >= 30000", as if it held, nor ">= 0 (baseline
    48126)" for a baseline rule)."""
    thr = '{ metric = "sps_max"; op = ">="; value = 30000.0; }'
    pl = Plan([val("thr", ["--sps", "12833"], thr), val("base", ["--sps", "33154"], SPS_RULE)])
    pl.store({"base::sps_max": 48126.0})
    t, b = "sps_max 12833 < 30000 (needs >= 30000)", \
        "sps_max 33154 < bound 38500.8 (baseline 48126, -20%)"
    wrong = [r"sps_max 12833 >= 30000", r">= 0 \(baseline", r"may drop"]
    r = pl.run("--release", "1")
    rh.expect(r, 1, out=["FAIL " + rh.q(t) + "$", "FAIL " + rh.q(b) + "$"], not_out=wrong)
    r = rh.run(["explain", "-c", pl.path], cwd=pl.dir)
    rh.expect(r, 0, out=[r"^    tests/thr: " + rh.q(t) + "$", r"^    tests/base: " + rh.q(b) + "$"],
              not_out=wrong)
    r = rh.run(["report", "-c", pl.path, "--format", "junit"], cwd=pl.dir)
    rh.expect(r, 0, out=[rh.q(t.replace("<", "&lt;").replace(">", "&gt;")),
                         rh.q(b.replace("<", "&lt;"))], not_out=wrong)
    r = rh.run(["report", "-c", pl.path, "--format", "md"], cwd=pl.dir)  # the release notes
    rh.expect(r, 0, out=[rh.q(t.replace("<", "\\<")), rh.q(b.replace("<", "\\<"))], not_out=wrong)
    rh.check(b in json.dumps(pl.state()), "the state's note says the bound")


def case_an_sps_drop_beyond_the_tolerance_fails_and_one_within_passes():
    pl = Plan([val("slow", ["--sps", "24000"], SPS_RULE),
               val("steady", ["--sps", "30000"], SPS_RULE)])
    pl.store({"slow::sps_max": 35000.0, "steady::sps_max": 35000.0})
    before = rh.read(pl.baseline)
    r = pl.run("--release", "1")
    rh.expect(r, 1, out=[rh.q("sps_max 24000 < bound 28000 (baseline 35000, -20%)"),
                         rh.q("expected >= baseline - 20% (baseline 35000, bound 28000)")])
    slow, steady = pl.job("slow"), pl.job("steady")
    rh.check((slow["outcome"], slow["reason"]) == ("FAILED", "threshold"), f"slow: {slow}", r)
    c = check_rec(slow)
    rh.check((c["actual"], c["baseline"], c["bound"], c["passed"], c["expected"], c["op"],
              c["stat"]) == (24000, 35000, 28000, False, None, ">=", "median"),
             f"slow's check record: {c}", r)
    rh.check(steady["outcome"] == "PASSED", f"a drop within 20% must pass: {steady}", r)
    c = check_rec(steady)
    rh.check((c["actual"], c["baseline"], c["bound"], c["passed"], c["note"]) ==
             (30000, 35000, 28000, True, None), f"steady's check record: {c}", r)
    rh.check(rh.read(pl.baseline) == before, "a run wrote the baseline store", r)


def case_an_absolute_tolerance_bounds_a_rate_in_its_unit():
    rule = '{ metric = "eval_success_rate"; baseline = "higher"; abs = 0.002; }'
    pl = Plan([val("near", ["--eval", "0.949"], rule), val("below", ["--eval", "0.947"], rule)])
    pl.store({"near::eval_success_rate": 0.95, "below::eval_success_rate": 0.95})
    r = pl.run("--release", "1")
    rh.expect(r, 1, out=rh.q("eval_success_rate 0.947 < bound 0.948 (baseline 0.95, -0.002)"))
    rh.check(pl.job("near")["outcome"] == "PASSED", "0.949 is within 0.002 of 0.95", r)
    rh.check(pl.job("below")["outcome"] == "FAILED", "0.947 is not", r)


def case_lower_is_better_bounds_latency_from_above():
    rule = '{ metric = "latency_ms"; baseline = "lower"; rel = 0.2; }'
    pl = Plan([val("fast", ["--latency", "110"], rule), val("slow", ["--latency", "130"], rule),
               val("faster", ["--latency", "20"], rule)])
    pl.store({"fast::latency_ms": 100.0, "slow::latency_ms": 100.0, "faster::latency_ms": 100.0})
    r = pl.run("--release", "1")
    rh.expect(r, 1, out=[rh.q("latency_ms 130 > bound 120 (baseline 100, +20%)"),
                         rh.q("expected <= baseline + 20%")])
    rh.check(pl.job("fast")["outcome"] == "PASSED", "110 ms is within 20% of 100 ms", r)
    rh.check(pl.job("faster")["outcome"] == "PASSED", "an improvement is no regression", r)
    c = check_rec(pl.job("slow"))
    rh.check((c["op"], c["bound"], c["passed"]) == ("<=", 120, False), f"slow: {c}", r)


def case_rel_and_abs_together_take_the_looser_bound():
    # rel 10% of 20 = 2, abs 5: allowed 5 (the looser), bound 15; 16 passes, 14 fails
    rule = '{ metric = "eval_success_rate"; baseline = "higher"; rel = 0.1; abs = 0.05; }'
    pl = Plan([val("ok", ["--eval", "0.16"], rule), val("bad", ["--eval", "0.14"], rule)])
    pl.store({"ok::eval_success_rate": 0.2, "bad::eval_success_rate": 0.2})
    r = pl.run("--release", "1")
    rh.expect(r, 1, out=rh.q("-max(10%, 0.05)"))
    rh.check(pl.job("ok")["outcome"] == "PASSED", "within abs 0.05 though beyond rel 10%", r)
    rh.check(abs(check_rec(pl.job("bad"))["bound"] - 0.15) < 1e-12, "bound 0.15", r)


def case_no_baseline_yet_passes_with_a_note():
    pl = Plan([val("smoke", ["--sps", "1000"], SPS_RULE + ', ("sps_max", ">=", 500.0)')])
    pl.store({"other::sps_max": 35000.0})  # another validation's entry is not this one's
    r = pl.run("--release", "1")
    rh.expect(r, 0, out=rh.q("no baseline yet for smoke::sps_max"))
    c = check_rec(pl.job("smoke"))
    rh.check((c["baseline"], c["bound"], c["passed"]) == (None, None, True), f"check: {c}", r)
    os.unlink(pl.baseline)
    r = pl.run("--release", "2")
    rh.expect(r, 0, out=rh.q("no baseline yet"))
    rh.absent(pl.baseline, r, "a run never writes the baseline store")


def case_require_baseline_makes_a_missing_baseline_inconclusive():
    pl = Plan([val("smoke", ["--sps", "90000"], SPS_RULE)], top="require_baseline = true;")
    r = pl.run("--release", "1")
    rh.expect(r, 3, out=[r"INCONCLUSIVE\s+tests", rh.q("reason: no_baseline"),
                         rh.q("require_baseline = true")])
    job = pl.job("smoke")
    rh.check((job["outcome"], job["reason"]) == ("INCONCLUSIVE", "no_baseline"), f"{job}", r)
    rh.check(pl.state()["steps"]["tests"]["reason"] == "no_baseline",
             "the step does not say why it is INCONCLUSIVE", r)
    # with a baseline the same validation decides
    pl.store({"smoke::sps_max": 80000.0})
    r = pl.run("--release", "2")
    rh.expect(r, 0)


def case_a_bad_baseline_store_stops_the_run_before_anything_runs():
    for text, says in (('{"schema": 1, "metrics": {"smoke::sps_max": {"value": 1',
                        "not valid JSON"),
                       ('{"schema": 2, "metrics": {}}', "has schema 2, newer than the 1 this "
                                                        "relhost reads"),
                       ('{"schema": 1, "metrics": {"smoke::sps_max": {"value": "35000"}}}',
                        '"smoke::sps_max".value must be a finite number'),
                       ("", "not valid JSON")):
        pl = Plan([])
        pl.write([val("smoke", ["--sps", "1000", "--count", pl.p("ran")], SPS_RULE)])
        rh.write(pl.baseline, text)
        r = pl.run("--release", "1")
        rh.expect(r, 2, err=[rh.q(pl.baseline), rh.q(says), r"left as it is"])
        rh.absent(pl.p("ran"), r, "a validation ran with a bad baseline store")
        rh.check(rh.read(pl.baseline) == text, "the bad store was modified", r)


def case_repeats_are_judged_on_the_median_of_their_runs():
    pl = Plan([val("speed", ["--sps", "24000,31000,30000", "--repeat", "{repeat}"],
                   '("sps_max", ">=", 29000.0)', "repeats = 3;")])
    r = pl.run("--release", "1")
    # median 30000 passes; the min (24000) or the mean (28333) would not
    rh.expect(r, 0, out=rh.q("sps_max over 3 runs: min 24000, median 30000, max 31000"))
    agg = pl.job("speed")
    m = agg["evidence"]["metrics"]["sps_max"]
    rh.check((agg["outcome"], agg["repeats"], m["value"], m["repeats"]) ==
             ("PASSED", 3, 30000, [24000, 31000, 30000]), f"the aggregate: {agg}", r)
    rh.check(agg["runs"] == ["tests/speed.r1", "tests/speed.r2", "tests/speed.r3"],
             f"runs: {agg['runs']}", r)
    c = check_rec(agg)
    rh.check((c["actual"], c["stat"], c["passed"]) == (30000, "median", True), f"{c}", r)
    for k in (1, 2, 3):
        run = pl.job(f"speed.r{k}")
        rh.check((run["repeat_of"], run["repeat"], run["outcome"], run["key"]) ==
                 ("speed", k, "PASSED", f"rh-1-speed.r{k}-a1"), f"run {k}: {run}", r)
        rh.check(run["evidence"]["checks"] == [], "a run is judged only through its aggregate", r)
        log = rh.read(run["log_path"])
        rh.check(f"run {k} (RELHOST_REPEAT={k})" in log, f"run {k} log: {log}", r)


def case_a_value_refused_in_one_repeat_leaves_the_aggregate_undecided():
    """Repeat 2's last SPS is `nan` (refused by the source): the aggregate's check is
    INCONCLUSIVE metric_refused, as it is for one job, not FAILED as if the metric were missing."""
    script = 'echo "SPS: 50000"; if [ "$0" = 2 ]; then echo "SPS: nan"; fi'
    cmd = ", ".join(json.dumps(a) for a in ["sh", "-c", script, "{repeat}"])
    pl = Plan([f'{{ name = "speed"; cmd = [{cmd}]; timeout_s = 60; repeats = 3;\n'
               '   acceptance = ( ("sps_last", ">=", 30000.0) ); }'])
    r = pl.run("--release", "1")
    rh.expect(r, 3)
    agg = pl.job("speed")
    rh.check((agg["outcome"], agg["reason"]) == ("INCONCLUSIVE", "metric_refused"),
             f"the aggregate: {agg['outcome']} {agg['reason']}", r)
    c = check_rec(agg)
    rh.check(not c["passed"] and "refused" in c.get("note", "") and "repeat 2" in c["note"],
             f"the check: {c}", r)


def case_a_checks_stat_picks_min_max_or_mean_of_the_runs():
    acc = ('{ metric = "sps_max"; op = ">="; value = 25000.0; stat = "min"; },'
           '{ metric = "sps_max"; op = "<="; value = 31000.0; stat = "max"; },'
           '{ metric = "sps_max"; op = ">="; value = 28000.0; stat = "mean"; }')
    pl = Plan([val("speed", ["--sps", "24000,31000,30000", "--repeat", "{repeat}"], acc,
                   "repeats = 3;")])
    r = pl.run("--release", "1")
    # the failed check: its value, what broke, the rule
    rh.expect(r, 1, out=["FAIL " + rh.q("sps_max min 24000 < 25000 (needs >= 25000)") + "$"])
    got = [(c["stat"], round(c["actual"], 3), c["passed"])
           for c in pl.job("speed")["evidence"]["checks"]]
    rh.check(got == [("min", 24000, False), ("max", 31000, True), ("mean", 28333.333, True)],
             f"checks: {got}", r)


def case_a_baseline_rule_on_repeats_compares_like_with_like():
    # min now 27500 vs the baseline's min 30000 (bound 27000): pass; against the baseline's
    # median (35000, bound 31500) it would fail
    rule = '{ metric = "sps_max"; baseline = "higher"; rel = 0.1; stat = "min"; }'
    pl = Plan([val("speed", ["--sps", "27500,33000,34000", "--repeat", "{repeat}"], rule,
                   "repeats = 3;")])
    pl.store({"speed::sps_max": [30000.0, 35000.0, 36000.0]})
    r = pl.run("--release", "1")
    rh.expect(r, 0)
    c = check_rec(pl.job("speed"))
    rh.check((c["actual"], c["baseline"], c["bound"]) == (27500, 30000, 27000), f"{c}", r)


def case_repeats_respect_the_runners_max_parallel():
    d = rh.scratch("probe")
    pl = Plan([val("par", ["--sps", "1000", "--repeat", "{repeat}", "--concurrency", d,
                           "--count", os.path.join(d, "count")], '("sps_max", ">=", 1.0)',
                   "repeats = 5;")], mp=2)
    r = pl.run("--release", "1")
    rh.expect(r, 0)
    rh.check(sorted(counted(os.path.join(d, "count"))) == ["1", "2", "3", "4", "5"],
             "every repeat ran once", r)
    mx = int(rh.read(os.path.join(d, "max")))
    rh.check(mx == 2, f"at most 2 runs at once expected, and 2 reached; saw {mx}", r)


def case_matrix_cells_are_repeated_each():
    cmd = ", ".join(json.dumps(a) for a in [PY, BENCH, "--sps", "1000,2000", "--repeat",
                                            "{repeat}", "--eval", "0.{nodes}"])
    pl = Plan(['{ name = "cluster"; cmd = [' + cmd + ']; repeats = 2; matrix = { nodes = [1, 2]; };'
               ' acceptance = ( ("sps_max", ">=", 1500.0) ); }'])
    r = pl.run("--release", "1")
    rh.expect(r, 0)
    jobs = pl.state()["jobs"]
    want = sorted(f"tests/cluster.{n}n{s}" for n in (1, 2) for s in ("", ".r1", ".r2"))
    rh.check(sorted(jobs) == want, f"jobs {sorted(jobs)}, want {want}", r)
    for n in (1, 2):
        agg = jobs[f"tests/cluster.{n}n"]
        ev = agg["evidence"]["metrics"]
        rh.check((agg["outcome"], ev["sps_max"]["value"], ev["eval_success_rate"]["value"]) ==
                 ("PASSED", 1500, n / 10), f"cell {n}n: {agg}", r)


def case_resume_runs_only_the_repeats_that_are_missing():
    count = None

    def vals(n):
        return [val("speed", ["--sps", "1000,2000,3000", "--repeat", "{repeat}", "--count", count],
                    '("sps_max", ">=", 1.0)', f"repeats = {n};")]
    pl = Plan([])
    count = pl.p("count")
    pl.write(vals(2))
    r = pl.run("--release", "1")
    rh.expect(r, 0)
    rh.check(sorted(counted(count)) == ["1", "2"], f"first run: {counted(count)}", r)
    pl.write(vals(3))
    r = pl.run("--release", "1")
    rh.expect(r, 0, out=rh.q("sps_max over 3 runs: min 1000, median 2000, max 3000"))
    rh.check(sorted(counted(count)) == ["1", "2", "3"],
             f"a third repeat runs alone: {counted(count)}", r)
    r = pl.run("--release", "1")
    rh.expect(r, 0, out=r"PASSED\s+tests.*already_completed")
    r = pl.run("--release", "1", "--rerun", "tests")
    rh.expect(r, 0, out=r"speed\s+PASSED.*\(resumed")
    rh.check(len(counted(count)) == 3, "a finished release ran a repeat again", r)


def case_retry_failed_runs_every_repeat_again():
    pl = Plan([])
    count, flag = pl.p("count"), pl.p("flag")
    pl.write([val("speed", ["--sps", "1000", "--repeat", "{repeat}", "--count", count,
                            "--fail-unless", flag + "{repeat}"], '("sps_max", ">=", 1.0)',
                  "repeats = 2;")])
    rh.write(flag + "1", "")
    r = pl.run("--release", "1")
    rh.expect(r, 1, out=rh.q("repeat 2 of 2 (speed.r2): FAILED, reason exit_code"))
    agg = pl.job("speed")
    rh.check((agg["outcome"], agg["reason"]) == ("FAILED", "exit_code"), f"{agg}", r)
    r = pl.run("--release", "1")
    rh.expect(r, 1)
    rh.check(len(counted(count)) == 2, "a plain resume re-ran a repeat", r)
    rh.write(flag + "2", "")
    r = pl.run("--release", "1", "--retry-failed")
    rh.expect(r, 0)
    rh.check(sorted(counted(count)) == ["1", "1", "2", "2"],
             f"--retry-failed must take a new set of samples: {counted(count)}", r)


def case_changed_acceptance_rejudges_the_runs_without_running_them():
    pl = Plan([])
    count = pl.p("count")
    acc = '("sps_max", ">=", 29000.0)'
    pl.write([val("speed", ["--sps", "24000,31000,30000", "--repeat", "{repeat}", "--count",
                            count], acc, "repeats = 3;")])
    rh.expect(pl.run("--release", "1"), 0)
    pl.write([val("speed", ["--sps", "24000,31000,30000", "--repeat", "{repeat}", "--count",
                            count], '("sps_max", ">=", 30500.0)', "repeats = 3;")])
    r = pl.run("--release", "1")
    rh.expect(r, 1, out=rh.q("acceptance changed since the run"))
    rh.check(len(counted(count)) == 3, "changed acceptance re-ran the repeats", r)


def case_status_lists_the_aggregate_and_its_runs():
    pl = Plan([val("speed", ["--sps", "1000", "--repeat", "{repeat}"], '("sps_max", ">=", 1.0)',
                   "repeats = 2;")])
    rh.expect(pl.run("--release", "1"), 0)
    r = rh.run(["status", "-c", pl.path, "--release", "1", "--no-color"], cwd=pl.dir)
    rh.expect(r, 0, out=[r"^\s+speed\s+PASSED", r"^\s+speed\.r1\s+PASSED",
                         r"^\s+speed\.r2\s+PASSED", r"3 job\(s\)"])


def case_a_kill_at_any_write_loses_no_repeat():
    """relhost dies (SIGKILL) at a write boundary, at its 1st..4th hit, while running 3 repeats
    one at a time; the next run finishes the aggregate with all three values, and no repeat ran
    more than twice (once more only when its result was not durable yet)."""
    import signal
    for point in ("jobs.before_submit", "jobs.after_submit", "jobs.after_result",
                  "state.journal.after_sync", "state.snapshot.after_rename"):
        for hit in (1, 2, 3, 4):
            pl = Plan([])
            count = pl.p("count")
            pl.write([val("speed", ["--sps", "1000,2000,3000", "--repeat", "{repeat}", "--count",
                                    count], '("sps_max", ">=", 1.0)', "repeats = 3;")], mp=1)
            r = rh.run(["-c", pl.path, "--no-color", "--no-interactive", "--release", "1"],
                       cwd=pl.dir, env={"RELHOST_CRASH_AT": f"{point}:{hit}"})
            if r.rc == 0:
                continue  # not reached that often: nothing to prove
            rh.check(r.rc == -signal.SIGKILL, f"{point}:{hit}: exit {r.rc}, want SIGKILL", r)
            r = pl.run("--release", "1")
            rh.expect(r, 0)
            agg = pl.job("speed")
            rh.check(agg["evidence"]["metrics"]["sps_max"]["repeats"] == [1000, 2000, 3000],
                     f"{point}:{hit}: {agg}", r)
            runs = counted(count)
            for k in "123":
                rh.check(1 <= runs.count(k) <= 2, f"{point}:{hit}: repeat {k} ran "
                         f"{runs.count(k)} times: {runs}", r)


def case_bad_checks_in_a_plan_name_file_and_line():
    for acc, says in (('{ metric = "sps_max"; baseline = "higher"; }', "needs rel = 0.2"),
                      ('{ metric = "sps_max"; baseline = "up"; rel = 0.1; }',
                       'baseline must be "higher"'),
                      ('{ metric = "sps_max"; rel = 0.1; op = ">="; value = 1.0; }',
                       'rel needs baseline = "higher" or "lower"'),
                      ('{ metric = "sps_max"; baseline = "higher"; rel = -0.1; }',
                       "rel must be a number >= 0"),
                      ('{ metric = "sps_max"; op = ">="; value = 1.0; stat = "p99"; }',
                       "stat must be one of median, min, max, mean"),
                      ('{ metric = "sps_max"; op = ">="; }', "a threshold needs both op and value"),
                      ('{ metric = "sps_max"; }', "needs op and value (a threshold), baseline"),
                      ('{ metric = "sps_max"; tolerance = 0.1; }',
                       "unknown key 'tolerance'; allowed: metric, op, value, max, baseline, rel, "
                       "abs, stat")):
        pl = Plan([])
        pl.write([val("smoke", ["--sps", "1", "--count", pl.p("ran")], acc)])
        r = pl.run("--release", "1")
        rh.expect(r, 2, err=[rh.q(pl.path) + r":\d+: ", rh.q(says)])
        rh.absent(pl.p("ran"), r)
    pl = Plan([])
    pl.write([val("smoke", ["--sps", "1"], '("sps_max", ">=", 1.0)', "repeats = 101;")])
    rh.expect(pl.run("--release", "1"), 2, err=rh.q("repeats"))


if __name__ == "__main__":
    sys.exit(rh.main(globals()))
