#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""relhost out of memory in the middle of a run (issue 18: running out of a resource is a tool
error that names it). An allocation that fails aborts relhost; the fatal-signal handler must
name the exhausted memory and exit 75 (run again later), never report a crash of relhost or of
the plugin whose call was open (plugin_crashed, recorded ERROR against the step: a resume would
not run it again), and never a verdict. The resume, with memory back, runs what was not saved.
Out of descriptors at a job's start the same: the job is not at fault, so it is a retryable
tool error that names the limit (the release defers, exit 75), never a final ERROR that keeps
the release NOT DECIDED after the limit was raised.
One case per process: oom.py CASE (ctest: test_crash_oom__<case>).
"""
import json
import os
import re
import resource
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))
import rh  # noqa: E402

N = 12


def sanitized():
    cache = os.path.join(rh.build_dir(), "CMakeCache.txt")
    return os.path.exists(cache) and re.search(r"^RELHOST_SANITIZE:BOOL=ON", rh.read(cache), re.M)


def case_running_out_of_memory_mid_run_is_a_named_tool_error_and_the_resume_runs_the_rest():
    if sanitized():
        raise rh.Skip("the sanitizer's allocator cannot be replaced by an LD_PRELOAD library")
    shim = os.path.join(rh.build_dir(), "test-plugins", "crash", "libcrash_oom_preload.so")
    rh.check(os.path.exists(shim), f"{shim} was not built")
    d = rh.scratch()
    marker = os.path.join(d, "starve")
    # v3 starves relhost: every large allocation fails from then on
    cmds = [["sh", "-c", f"sleep 0.{i % 3}"] for i in range(N)]
    cmds[3] = ["sh", "-c", f": > {marker}; sleep 0.2"]
    vals = ",\n".join(f'{{ name = "v{i}"; cmd = {json.dumps(c)}; }}' for i, c in enumerate(cmds))
    plan = rh.write_plan(d, f"""
state_dir = "state"; log_dir = "logs";
runners = {{ local = {{ plugin = "runner_local"; max_parallel = 4; }}; }};
steps = ( {{ name = "s"; plugin = "workflow"; runner = "local"; validations = ( {vals} ); }} );
""")
    argv = ["-c", plan, "--no-color", "--no-interactive", "--release", "1"]
    env = rh.base_env({"LD_PRELOAD": shim, "RELHOST_TEST_OOM_AFTER": marker})
    r = rh.run(argv, cwd=d, env=env, timeout=120)
    rh.check(os.path.exists(marker), "the job that starves relhost never ran", r)
    rh.check(r.rc == 75, f"exit {r.rc}, want 75 (a tool error to run again later)", r)
    rh.check(re.search(r"out of memory \(ENOMEM\)", r.err), "the error does not name the "
             "exhausted memory", r)
    rh.check(not re.search(r"crashed|please report", r.err), "out of memory reported as a crash",
             r)
    rh.check(not re.search(r"^result: (PASSED|FAILED)", r.out, re.M), "a verdict", r)
    st = rh.load_state(os.path.join(d, "state", "release_1.json"))
    step = st.get("steps", {}).get("s", {})
    rh.check(step.get("reason") != "plugin_crashed" and step.get("outcome") != "ERROR",
             f"the step was recorded {step.get('outcome')} ({step.get('reason')})", r)
    os.unlink(marker)
    r2 = rh.run(argv, cwd=d, env=rh.base_env(), timeout=120)
    rh.expect(r2, 0)
    st = rh.load_state(os.path.join(d, "state", "release_1.json"))
    done = {rec["validation"] for rec in st.get("jobs", {}).values()
            if rec.get("lifecycle") == "completed" and rec.get("outcome") == "PASSED"}
    rh.check(done == {f"v{i}" for i in range(N)}, f"not every validation PASSED after the "
             f"resume: {sorted({f'v{i}' for i in range(N)} - done)}", r2)



def case_out_of_descriptors_at_job_start_defers_the_release_and_the_resume_runs_the_rest():
    d = rh.scratch()
    n = 60
    vals = ",\n".join(f'{{ name = "v{i}"; cmd = ["sh", "-c", "sleep 0.2"]; }}' for i in range(n))
    plan = rh.write_plan(d, f"""
state_dir = "state"; log_dir = "logs";
runners = {{ local = {{ plugin = "runner_local"; max_parallel = 40; }}; }};
steps = ( {{ name = "s"; plugin = "workflow"; runner = "local"; validations = ( {vals} ); }} );
""")
    argv = ["-c", plan, "--no-color", "--no-interactive", "--release", "1"]

    def few_fds():
        resource.setrlimit(resource.RLIMIT_NOFILE, (20, 20))

    p = subprocess.run([rh.relhost_bin()] + argv, cwd=d, env=rh.base_env(), preexec_fn=few_fds,
                       stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=120)
    r = rh.Result([rh.relhost_bin()] + argv, d, p.returncode, p.stdout, p.stderr)
    rh.check(re.search(r"EMFILE.*ulimit -n 20", r.all), "no error names the open file limit "
             "(did 40 jobs at once fit in 20 descriptors?)", r)
    rh.check(r.rc == 75, f"exit {r.rc}, want 75 (a retryable tool error: the release defers)", r)
    rh.check(not re.search(r"^result: (PASSED|FAILED)", r.out, re.M), "a verdict", r)
    r2 = rh.run(argv, cwd=d, env=rh.base_env(), timeout=120)
    rh.expect(r2, 0)
    st = rh.load_state(os.path.join(d, "state", "release_1.json"))
    done = {rec["validation"] for rec in st.get("jobs", {}).values()
            if rec.get("lifecycle") == "completed" and rec.get("outcome") == "PASSED"}
    rh.check(done == {f"v{i}" for i in range(n)}, f"not every validation PASSED after the "
             f"resume: {sorted({f'v{i}' for i in range(n)} - done)}", r2)


if __name__ == "__main__":
    sys.exit(rh.main(globals()))
