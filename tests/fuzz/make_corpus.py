#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Writes the checked-in seeds of tests/fuzz/corpus/*/ (run it from anywhere; it overwrites
only the files it names). A feed seed is feed_fuzz.c's 5-byte header (conf and chunking mode, then
a little-endian seed) followed by a small realistic log; the other harnesses' layouts are in each
harness's comment and README.md. Replies and outputs have the shapes of /work/shared/API_SHAPES.md
(and the fakes in tests/fakes, tests/slurm)."""
import json
import os
import struct
import zlib

E = "\x1b"
MINUS = "\u2212"
# conf: 0 defaults, 1 custom patterns, 2 max_line = 64, 3 custom only (max_line = 128)
# mode: 0 1-16 byte chunks, 1 random chunks, 2 fixed-size chunks, 3 one cut
SEEDS = [
    ("sps_plain", 0, 0, 1, "step 12 SPS: 31000 loss 0.3\nSPS: 31,000\nSPS: 87.75k\n950 sps\n"),
    ("sps_coloured_rich", 0, 1, 7,
     f"{E}[1mSPS {E}[0m: 2000\n{E}[38;5;2mSPS{E}[0m: 2000\n\u2502 {E}[1m87,750{E}[0m SPS \u2502\n"),
    ("pufferlib_dashboard", 0, 2, 5,
     f"{E}[37mSPS{E}[0m   {E}[36m25.1k{E}[0m\n  SPS         3b   \nSteps 12 SPS 31000\n"
     "87750 steps/sec\nepoch 3: 1,200 steps/s\n"),
    ("tqdm_bar", 2, 0, 3,
     " 10%|#         | 1/10 [00:01<00:09, 950.00it/s, SPS=950]\r"
     " 20%|##        | 2/10 [00:02<00:08, 951.00it/s, SPS=951]\r"
     " 30%|###       | 3/10 [00:03<00:07, 949.00it/s, SPS=949]\n"),
    ("tqdm_bar_long_segment", 2, 1, 11,
     "SPS: 1\r" + "x" * 80 + " SPS: 9\rSPS: 2\n" + f"{E}[2K\rSPS: 11\n"),
    ("summary_blocks", 0, 3, 40,
     "[SUMMARY] Exit code: 0\n[SUMMARY] Termination reason: job_completed\n"
     "[SUMMARY] Restart Count: 0\nrestarting\n[SUMMARY] Exit code: 1\n"),
    ("summary_restart", 0, 0, 9,
     "[SUMMARY] Exit code: 137\n[SUMMARY] Termination reason: oom\n[SUMMARY] Restart Count: 2\n"
     "[SUMMARY] Exit code: 0\n[SUMMARY] Termination reason: job_completed\r\n"
     "[SUMMARY] Restart Count: N/A\n[summary] Exit code: 5\n[SUMMARY]Exit code: 6\n"),
    ("summary_coloured", 0, 1, 2,
     f"{E}[1m[SUMMARY]{E}[0m Exit code: {E}[31m3{E}[0m\n[SUMMARY] Exit code: 0{E}[0"),
    ("eval_lines", 0, 2, 1,
     "eval_success_rate: 0.93\neval_success_rate: 1e-05\neval_success_rate: 87.5%\n"
     "eval success rate: .5\neval-success rate=1.0\ntotal  40 evals 87.5% successful\n"
     "Successes: 35/40 (87.5%)\n"),
    ("eval_dicts", 0, 0, 77,
     "{'eval_success_rate': 0.93, 'epoch': 1.0}\n{\"eval_success_rate\": 0.25}\n"
     "{'sps': 31000, 'epoch': 1}\n"),
    ("eval_refused", 0, 3, 25,
     f"eval_success_rate: 0.8\neval_success_rate: 1.0000001\neval_success_rate: {MINUS}0.5\n"
     "eval_success_rate: 1E2\neval_success_rate: nan\n"),
    ("loguru_line", 0, 1, 123,
     f"{E}[32m2025-01-01 12:00:00{E}[0m | {E}[1mINFO{E}[0m | eval_success_rate: "
     f"{E}[1m0.9{E}[0m\n{E}[32m2025-01-01 12:00:01{E}[0m | SPS: {E}[32m2000{E}[0m\n"),
    ("osc_dcs_codes", 0, 0, 4,
     f"{E}]0;title\x07SPS: 500\n{E}]8;;http://x/1{E}\\SPS: 600{E}]8;;{E}\\\n"
     f"{E}Pq#0;2;0;0;0{E}\\SPS: 15\n{E}7SPS: 700{E}8\n{E}(BSPS: 800\n{E}[?25lSPS: 10{E}[?25h\n"),
    ("cut_escape_end", 0, 3, 9, f"SPS: 900\n{E}[3"),
    ("cut_osc_end", 0, 2, 3, f"SPS: 950\n{E}]0;abc"),
    ("nul_bytes", 0, 0, 13, "x\0y\0 SPS=950 \0tail\n" + f"{E}[1m\0SPS: 5\n\0\0\0"),
    ("sps_refused", 0, 1, 8,
     f"{MINUS}5 sps\nSPS: {MINUS}5\nSPS: -5\nSPS: 1e999\nSPS: nan\nSPS: 31,0000\nSPS: 100\nSPS: nan\n"),
    ("long_number", 0, 2, 6, "SPS: " + "7" * 300 + "\n"),
    ("custom_patterns", 1, 0, 17,
     "loss=0.5\nloss=1,234.5\nloss=2.5e-3\nloss=nan\ntok=2b\ntok=1.5k\nwandb run-abc123\n"
     "acc: 0.5\naccuracy=0.75\nsuccess 0.9\n"),
    ("custom_only", 3, 1, 31,
     "0.5 loss\nstep 1\nstep 2 " + "y" * 150 + "\n" + f"{MINUS}0.5 loss\nstep 3\r0.25 loss\n"),
    ("crlf_progress", 0, 2, 2, "SPS: 100\rSPS: 200\rSPS: 300\r\nSPS: 3\r\nSPS: 2\r\n"),
]
INVALID_UTF8 = ("invalid_utf8", 0, 0, 21,
                b"progress \xff\xfe\xc3 87.75 ksps \xe2\x82\n"
                b"\xc3\x28\xa0\xa1 eval_success_rate: 0.5 \xf0\x28\x8c\x28\n"
                b"\x1b[1\xffSPS: 16\nSPS: 5\xff\n")



# ---- the harnesses of plugin replies (fuzz_host.h): records separated by RS, each opened by
# its envelope byte.
RS, US = b"\x1e", b"\x1f"
# HTTP envelope: status index (low nibble) | header set << 4 (fuzz_host.c's tables)
H200, H201, H404, H422, H429, H500, H401, H403 = 0, 2, 4, 5, 6, 7, 8, 9
NO_HDR, RETRY, PRIMARY, JSON_HDR, LINK_NEXT = 0, 1, 2, 3, 4


def http(status, body, headers=NO_HDR):
    if not isinstance(body, (bytes, str)):
        body = json.dumps(body, separators=(",", ":"))
    if isinstance(body, str):
        body = body.encode("utf-8")
    return bytes([status | headers << 4]) + body


def proc(out, err="", code=0):
    # process envelope: 0 exit 0, 3 exit 1, 5 killed by signal 9, 6 timed out, 7 exec failed
    return bytes([code]) + out.encode("utf-8") + US + err.encode("utf-8")


def records(*recs):
    return RS.join(recs)


ASANA_TASK = {"gid": "1204", "name": "Fix eval regression", "completed": False,
              "permalink_url": "https://app.asana.com/1/12345/task/1204",
              "assignee": {"gid": "14641", "name": "A. Person"},
              "custom_fields": [{"gid": "5501", "name": "Priority", "display_value": "High"}],
              "memberships": [{"section": {"gid": "12346", "name": "Active"}}],
              "tags": [{"gid": "77", "name": "release-blocker"}]}
ASANA_SECTIONS = {"data": [{"gid": "12346", "resource_type": "section", "name": "Active"},
                           {"gid": "12347", "resource_type": "section",
                            "name": "Release blockers"}], "next_page": None}
ASANA = [  # (name, conf 0 plain, 1 section, 2 tag, 3 custom field; replies)
    ("sections_then_no_tasks", 1, [http(H200, ASANA_SECTIONS),
                                   http(H200, {"data": [], "next_page": None})]),
    ("one_blocker", 0, [http(H200, ASANA_SECTIONS), http(H200, {"data": [ASANA_TASK],
                                                                 "next_page": None})]),
    ("two_pages", 2, [http(H200, ASANA_SECTIONS),
                      http(H200, {"data": [ASANA_TASK], "next_page": {
                          "offset": "eyJ0eXAiOJiKV1iQLCJhbGciOiJIUzI1NiJ9",
                          "path": "/sections/12346/tasks?limit=100&offset=eyJ0eXAiOJiKV1iQLCJhbGciOiJIUzI1NiJ9",
                          "uri": "https://app.asana.com/api/1.0/sections/12346/tasks?limit=100"}}),
                      http(H200, {"data": [dict(ASANA_TASK, gid="1205", completed=True)],
                                  "next_page": None})]),
    ("custom_field", 3, [http(H200, ASANA_SECTIONS),
                         http(H200, {"data": [ASANA_TASK, dict(ASANA_TASK, gid="9", custom_fields=[
                             {"gid": "5501", "name": "Priority", "display_value": None}])],
                             "next_page": None})]),
    ("unauthorized", 0, [http(H401, {"errors": [{"message": "Not Authorized"}]})]),
    ("server_error_phrase", 1, [http(H500, {"errors": [{"message": "Server Error",
                                                         "phrase": "6 sad squid snuggle softly"}]})]),
    ("rate_limited", 0, [http(H429, {"errors": [{"message": "Rate limit exceeded"}]}, RETRY)]),
    ("not_json", 0, [http(H200, "<html>gateway</html>")]),
]

GH_PULL = {"number": 42, "html_url": "https://github.com/octo-org/octo-repo/pull/42",
           "state": "open", "head": {"ref": "release/1.0", "label": "octo-org:release/1.0"},
           "base": {"ref": "main"}, "title": "Release 1.0", "body": "notes"}
GH_RELEASE = {"id": 1, "html_url": "https://github.com/octo-org/octo-repo/releases/v1.0",
              "tag_name": "v1.0", "body": "notes", "draft": False, "prerelease": False,
              "name": "1.0"}
GH_ISSUE = {"number": 7, "html_url": "https://github.com/octo-org/octo-repo/issues/7",
            "title": "Release test did not qualify", "state": "open", "body": "quarantined",
            "labels": [{"name": "quarantine"}]}
GITHUB = [  # (name, conf 0 pull_request, 1 release, 2 issue; replies in the order asked)
    ("pull_created", 0, [http(H201, GH_PULL)]),
    ("pull_exists", 0, [http(H422, {
        "message": "Validation Failed", "errors": [{"resource": "PullRequest", "code": "custom",
        "message": "A pull request already exists for octo-org:release/1.0."}], "status": "422"}),
        http(H200, [GH_PULL]), http(H200, GH_PULL)]),
    ("pull_no_commits", 0, [http(H422, {
        "message": "Validation Failed", "errors": [{"resource": "PullRequest", "code": "custom",
        "message": "No commits between main and release/1.0"}], "status": "422"})]),
    ("pull_server_error", 0, [http(H500, "", RETRY), http(H200, [GH_PULL], LINK_NEXT),
                              http(H200, [])]),
    ("release_created", 1, [http(H404, {"message": "Not Found", "documentation_url":
                                        "https://docs.github.com/rest", "status": "404"}),
                            http(H200, []), http(H201, GH_RELEASE)]),
    ("release_exists", 1, [http(H200, GH_RELEASE), http(H200, GH_RELEASE)]),
    ("release_draft_found", 1, [http(H404, {"message": "Not Found"}),
                                http(H200, [dict(GH_RELEASE, draft=True, id=5)], LINK_NEXT),
                                http(H200, []), http(H200, dict(GH_RELEASE, id=5))]),
    ("release_tag_exists", 1, [http(H404, {"message": "Not Found"}), http(H200, []), http(H422, {
        "message": "Validation Failed", "errors": [{"resource": "Release", "code": "already_exists",
                                                    "field": "tag_name"}]}),
        http(H200, GH_RELEASE)]),
    ("issue_paged", 2, [http(H200, [dict(GH_ISSUE, number=3, title="other")], LINK_NEXT),
                        http(H200, [GH_ISSUE]), http(H200, [{"id": 8, "body": "earlier"}]),
                        http(H201, {"id": 9, "html_url":
                                    "https://github.com/octo-org/octo-repo/issues/7#issuecomment-9"})]),
    ("issue_created", 2, [http(H200, []), http(H201, GH_ISSUE)]),
    ("bad_credentials", 2, [http(H401, {"message": "Bad credentials", "documentation_url":
                                        "https://docs.github.com/rest", "status": "401"})]),
    ("rate_limited_primary", 0, [http(H403, {"message": "API rate limit exceeded"}, PRIMARY)]),
    ("secondary_retry_after", 1, [http(H429, {"message": "You have exceeded a secondary rate "
                                                          "limit"}, RETRY)]),
]

WB_SUMMARY = {"overview/sps": 31000.5, "eval/success_rate": 0.93, "losses/loss": 0.12,
              "_step": 1000, "_runtime": 120.2, "_timestamp": 1733500000.1}
WB_RUN = {"data": {"project": {"run": {"id": "UnVuOnYxOmFiYzEyMw==", "name": "abc123",
          "displayName": "train-a1", "state": "finished",
          "summaryMetrics": json.dumps(WB_SUMMARY),
          "historyKeys": {"keys": {"overview/sps": {"typeCounts": [{"type": "number",
                                                                     "count": 5}]}},
                          "lastStep": 1000}, "historyLineCount": 5}}}}
WB_HISTORY = {"data": {"project": {"run": {"sampledHistory": [[
    {"_step": 0, "overview/sps": 30000}, {"_step": 200, "overview/sps": 31000.5},
    {"_step": 400, "overview/sps": "NaN"}, {"_step": 600},
    {"_step": 800, "overview/sps": 29000, "losses/loss": 0.2},
    {"_step": 1000, "overview/sps": 31500, "losses/loss": 0.12}]]}}}}
WANDB = [  # (name, conf 0 summary only, 1 history reducers too; replies)
    ("summary_only", 0, [http(H200, WB_RUN)]),
    ("summary_and_history", 1, [http(H200, WB_RUN), http(H200, WB_HISTORY)]),
    ("run_null", 0, [http(H200, {"data": {"project": {"run": None}}})]),
    ("project_null", 1, [http(H200, {"data": {"project": None}})]),
    ("graphql_errors", 0, [http(H200, {"errors": [{"message": "run not found", "path": ["project",
                                                   "run"], "extensions": {"code": "NOT_FOUND"}}],
                                       "data": None})]),
    ("errors_strings", 1, [http(H500, {"errors": ["Server down"]})]),
    ("summary_nonfinite", 1, [http(H200, '{"data":{"project":{"run":{"id":"x","name":"abc123",'
                                         '"state":"running","summaryMetrics":"{\\"overview/sps\\":'
                                         ' NaN, \\"eval/success_rate\\": Infinity}",'
                                         '"historyKeys":null,"historyLineCount":0}}}}'),
                              http(H200, {"data": {"project": {"run": {"sampledHistory": [[]]}}}})]),
    ("unauthorized", 0, [http(H401, {"errors": [{"message": "user is not logged in"}]})]),
]

SQ = "101|RUNNING|None|rh-2026.12.06-train-a1\n102|COMPLETED|None|rh-2026.12.06-eval-a1\n"
SCONTROL = ("JobId={id} JobName=rh-2026.12.06-eval-a1 UserId=root(0) GroupId=root(0) "
            "MCS_label=N/A Priority=4294901759 Nice=0 Account=(null) QOS=(null) JobState={state} "
            "Reason={reason} Dependency=(null) Requeue=1 Restarts={restarts} BatchFlag=1 Reboot=0 "
            "ExitCode={ec} RunTime=00:00:01 TimeLimit=00:03:00 Partition=debug NodeList=localhost "
            "BatchHost=localhost NumNodes=1 NumCPUs=1 Command=/fake/script WorkDir=/tmp "
            "StdErr=/fake/out StdIn=/dev/null StdOut=/fake/out Power= \n")
SLURM = [  # the first record goes to slurm_parse.c directly, the rest answer poll and find
    ("sbatch_then_poll", [proc("123\n"), proc(SQ), proc(SCONTROL.format(
        id=102, state="COMPLETED", reason="None", restarts=0, ec="0:0")),
        proc("7|FAILED|NonZeroExitCode|rh-x\n"), proc(SCONTROL.format(
            id=7, state="FAILED", reason="NonZeroExitCode", restarts=1, ec="3:0")),
        proc("99|rh-2026.12.06-train-a1\n101|rh-2026.12.06-train-a1\n")]),
    ("sbatch_cluster", [proc("4711;gpu\n"), proc("101|PENDING|Priority|rh-a\n"
                                                  "102|TIMEOUT|TimeLimit|rh-b\n"),
                        proc(SCONTROL.format(id=102, state="TIMEOUT", reason="TimeLimit",
                                             restarts=0, ec="0:15")),
                        proc("", "squeue: error: Invalid job id specified\n", 3)]),
    ("submit_failed", [proc("", "sbatch: error: Batch job submission failed: Invalid account "
                                "or account/partition combination specified\n", 3),
                       proc("", "slurm_load_jobs error: Unable to contact slurm controller "
                                "(connect failure)\n", 3)]),
    ("scontrol_gone", [proc("JobId=102 JobState=OUT_OF_MEMORY Reason=OutOfMemory Restarts=2 "
                            "ExitCode=0:9\n"),
                       proc("102|OUT_OF_MEMORY|OutOfMemory|rh-b|with|bars\n"),
                       proc("", "slurm_load_jobs error: Invalid job id specified\n", 3),
                       proc("", "", 6)]),
    ("cancelled_requeued", [proc("sbatch: wrapper says hi\n555\n"),
                            proc("101|CANCELLED|None|rh-a\n102|NODE_FAIL|NodeDown|rh-b\n"),
                            proc(SCONTROL.format(id=101, state="REQUEUED", reason="BeginTime",
                                                 restarts=1, ec="0:0")),
                            proc(SCONTROL.format(id=102, state="NODE_FAIL", reason="NodeDown",
                                                 restarts=0, ec="0:0")),
                            proc("", "", 5)]),
]

E = "\x1b"
SKY_HEADER = ("ID  TASK  NAME     REQUESTED   SUBMITTED    TOT. DURATION  JOB DURATION  "
              "#RECOVERIES  STATUS     PROGRESS  POOL")
SKY = [  # (name, byte 0: which keys the template filter drops, output)
    ("queue_current", 0, "Fetching managed job statuses...\n" + E + "[1mManaged jobs" + E +
     "[0m\nIn progress tasks: 1 PENDING, 2 RUNNING\n" + SKY_HEADER + "\n"
     "12  -     rh-train  1x[H100:8]  2 mins ago   2m 3s          1m 50s        1            "
     + E + "[32mRUNNING" + E + "[0m    -         -\n"
     "11  -     sky-cmd   1x[CPU:2+]  6 mins ago   1m 1s          5s            0            "
     "SUCCEEDED  -         -\n\n"),
    ("queue_old_header", 1, "Managed jobs\nIn progress tasks: 1 RECOVERING\n"
     "ID  TASK  NAME      RESOURCES   SUBMITTED   TOT. DURATION  JOB DURATION  #RECOVERIES  STATUS\n"
     "7   -     rh-eval   1x[A100:1]  1 hr ago    1h 2m          58m           3            RECOVERING\n"
     "    0     setup     1x[A100:1]  1 hr ago    1m             1m            0            SUCCEEDED\n"),
    ("queue_empty", 2, "Fetching managed job statuses...\nManaged jobs\n"
     "No in-progress managed jobs.\n"),
    ("launch", 3, "Considered resources (1 node):\n" + E + "]8;;https://sky\aLink" + E +
     "]8;;\a\n\u2699\ufe0e Job submitted, ID: 152\n\ud83d\udccb Useful Commands\n"
     "Managed Job ID: 152\n"),
    ("logs_summary", 0, "(setup pid=1) ok\nrelhost-sky: the command exited with 124\n"
     "relhost-sky: timeout_s reached\n[SUMMARY] Exit code: 0\n[SUMMARY] Exit code: 124\n"
     "\u2713 Managed job finished: 7 (status: FAILED).\n" + E + "[3"),
    ("cancel_error", 1, "Job 99 not found. Skipped.\nNo job to cancel.\n"
     "sky.exceptions.ClusterNotUpError: Sky controller is not up.\n"),
    ("task_template", 2, "name: train\nnum_nodes: 2\nresources:\n  accelerators: H100:8\n"
     "  use_spot: false\n  job_recovery:\n    max_restarts_on_errors: 3\nenvs:\n  A: 1\n"
     "setup: |\n  pip install -e .\nrun: |\n  python train.py\nworkdir: .\n"),
    ("template_flow", 1, "{name: x, run: y}\n---\nname: z\n\trun: tab\n"),
]


def frame(seq, path, value=None, has_value=True):
    rec = {"seq": seq, "path": path}
    if has_value:
        rec["value"] = value
    payload = json.dumps(rec, separators=(",", ":")).encode()
    return struct.pack("<II", len(payload), zlib.crc32(payload)) + payload


STATE_ROOT = {"schema": 1, "version": "1.0", "seq": 3, "created_at": "2026-12-06T17:00:00Z",
              "plan": "/srv/release.cfg", "candidate": {"commit": "0123abcd" * 5, "ref": "main"},
              "steps": {"train": {"position": 0, "plugin": "command", "required": True,
                                  "outcome": "PASSED", "started_at": "2026-12-06T17:00:01Z",
                                  "ended_at": "2026-12-06T17:10:01Z", "duration_s": 600.0,
                                  "evidence": {"metrics": {"sps": {"value": 31000.5,
                                               "source": "metrics_regex", "pattern": "sps",
                                               "reducer": "max", "samples": 12}},
                                               "checks": [{"key": "sps", "op": ">=",
                                                           "expected": 30000, "actual": 31000.5,
                                                           "passed": True}],
                                               "labels": {"wandb_run": "e/p/abc"},
                                               "notes": ["ok"], "artifacts": [{"kind": "url",
                                               "uri": "https://wandb.ai/e/p/runs/abc"}]},
                                  "records": {"pr": "42"}},
                        "eval": {"position": 1, "plugin": "command", "outcome": "ERROR",
                                 "reason": "tool_error", "retryable": True, "defers": 1,
                                 "in_flight": "submitting",
                                 "waived_from": {"reason": "threshold"}}},
              "jobs": {"eval/a1": {"step": "eval", "validation": "a1", "runner": "slurm",
                                   "lifecycle": "running", "attempt": 1, "key": "rh-1.0-eval-a1",
                                   "external_id": "101", "argv": ["python", "eval.py"]}},
              "waivers": [{"step": "eval", "who": "a.person", "why": "known flake"}],
              "sealed_env": ["HF_TOKEN"], "finished": False}


def state_seed(flags, snapshot, journal):
    snap = snapshot if isinstance(snapshot, bytes) else json.dumps(snapshot).encode()
    return bytes([flags]) + struct.pack("<H", len(snap)) + snap + journal


STATE = [
    ("snapshot_only", state_seed(2, STATE_ROOT, b"")),
    ("snapshot_and_journal", state_seed(0, STATE_ROOT, frame(4, ["steps", "eval", "outcome"], "PASSED")
                                        + frame(5, ["finished"], True)
                                        + frame(6, ["jobs", "eval/a1"], has_value=False))),
    ("journal_only", state_seed(1, b"", frame(1, ["created_at"], "2026-12-06T17:00:00Z")
                                + frame(2, ["steps", "a"], {"outcome": "FAILED", "reason": "threshold"}))),
    ("torn_tail_then_write", state_seed(4, STATE_ROOT, frame(4, ["x"], 1) + frame(5, ["y"], 2)[:9])),
    ("old_schema", state_seed(0, dict(STATE_ROOT, schema=0), frame(4, ["steps", "train", "defers"], 2))),
    ("newer_schema", state_seed(2, dict(STATE_ROOT, schema=9), b"")),
    ("seq_gap", state_seed(0, STATE_ROOT, frame(4, ["a"], 1) + frame(6, ["b"], 2))),
    ("bad_crc_mid", state_seed(0, STATE_ROOT, frame(4, ["a"], 1)[:-1] + b"X" + frame(5, ["b"], 2))),
    ("not_a_change", state_seed(0, STATE_ROOT, struct.pack("<II", 2, zlib.crc32(b"[]")) + b"[]")),
]

PLAN = [  # (name, plan text, --set values)
    ("minimal", 'name = "demo";\nsteps = ( { name = "train"; plugin = "command"; argv = ["true"]; } );\n', []),
    ("full", '# a release plan\nname = "metta";\nversion = "auto";\nstate_dir = "state";\n'
     'log_dir = "logs";\nrepo = ".";\nref = "main";\ncheckout = "worktree";\nmax_defers = 3;\n'
     'defer_deadline = "2h";\nregistry_dir = "registry";\nrequire_baseline = true;\n'
     'plugin_path = [ "plugins" ];\nrunners = ( { name = "slurm"; plugin = "runner_slurm";\n'
     '  max_parallel = 2; partition = "debug"; } );\nmetrics = ( { name = "log"; plugin = "metrics_regex"; } );\n'
     'steps = (\n  { name = "train"; plugin = "command"; argv = ["python", "train.py", "{version}"];\n'
     '    required = true; when = "success"; description = "train"; },\n'
     '  { name = "notes"; plugin = "github"; action = "release"; publishes = true; }\n);\n'
     'profiles = { smoke = [ "train" ]; };\nmonitor_profile = "smoke";\n', []),
    ("sets", 'name = "demo";\nsteps = ( { name = "a"; plugin = "command"; argv = ["true"]; timeout = 10; } );\n',
     ["name=other", "steps.a.timeout=20", "max_defers=0x10", "nothing"]),
    ("bad_syntax", 'name = "demo"\nsteps = ( { name = ; } );\n', []),
    ("int_literals", 'name = "demo";\nmax_defers = 0777;\ndefer_deadline = 12L;\nx = 1e400;\n'
     'steps = ();\n', ["max_defers=99999999999999999999"]),
    ("include_and_unknown", '@include "missing.cfg"\nname = "demo";\nsurprise = 1;\n', []),
    ("ref_without_repo", 'name = "demo";\nref = "main";\ncheckout = "worktree";\nsteps = ();\n', []),
]


# Records as record_codec.c writes them (an index entry after "V K L "): one of every kind of
# member (tests/unit/record/record_codec.c's rich_state), a small one, an empty one, and an
# entry of bench/status_site's registry.
RECORD = [
    ("rich", (
    b"8:2.0-rc.1 1:p 5:a b\nc 1:h 20:2026-01-01T00:00:00Z 1:u 1 2:c0 1:r 4:main 4:/x y 1 1 0 100 1"
    b"01 107 2:s2 2 2:s1 100 8:workflow 3:r 1 6:m\xc3\xa9 \t~ 1:a 1:b 6 6:WAIVED 1 0 1 10800000000"
    b"0000000 113 2 1:x 1:f 2:ph 2 2:k1 3:v 1 2:k2 2:v2 2 1:a ~ ~ ~ 114008000000000000 1 0 0 0 1:b"
    b" 4:logs 1:p 3:max 107e37e43c8800759c 0 4 1 3 103ff8000000000000 - 114000000000000000 2 1:b 5"
    b":range 4:mean 6:higher 1:n 103fb999999999999a 103fd3333333333333 103fc999999999999a 103fa999"
    b"999999999a 113ff0000000000000 - 104004000000000000 0 1 7 1:a ~ ~ ~ ~ - - - - - - - 0 0 0 1 4"
    b":host 2:n1 1 4:file 3:u:1 2:ab 2 3:one 5:two 2 2:s2 101 ~ ~ ~ ~ ~ 3 10:NOT A WORD 1 0 0 - - "
    b"0 ~ ~ ~ 0 0 0 0 0 0 2 5:s1/v1 2:s1 2:v1 1 1 5:local 1:k 2:42 ~ 6:exited 9:completed 4 1 6:PA"
    b"SSED 0 102 10-9223372036854775807 101 103 - ~ 1:s 1:e 1:l 2:sh 2:ah 11404e000000000000 3 4:t"
    b"rue 3:a b 0: 1 3:sps ~ ~ ~ 1040dd4c2000000000 0 0 0 0 0 0 0 0 5:s2/v2 2:s2 2:v2 0 0 ~ ~ ~ ~ "
    b"~ 3:odd 0 0 ~ 0 - - - - 102 2:v1 ~ ~ ~ ~ ~ - 0 0 0 0 0 0 2 2:s1 ~ 2:me 6:why: 2 ~ 2:me 2:h1 "
    b"1:t 2:s1 ~ 3:old ~ ~ ~ ~ ~ 2 5:TOKEN 1:~ ")),
    ("small", (
    b"1:1 ~ ~ ~ ~ ~ 0 ~ ~ ~ ~ 0 0 0 - - - ~ 1 1:s - ~ ~ ~ ~ ~ 1 6:PASSED 0 0 0 - - 0 ~ ~ ~ 0 0 0 0"
    b" 0 0 1 3:s/v 1:s 1:v 1 1 ~ ~ ~ ~ ~ ~ 0 0 ~ 0 - - - - - ~ ~ ~ ~ ~ ~ - 0 0 0 0 0 0 0 0 ")),
    ("empty", b'~ ~ ~ ~ ~ ~ 0 ~ ~ ~ ~ 0 0 0 - - - ~ 0 0 0 0 '),
    ("bench_entry", (
    b"5:1.0.0 ~ ~ ~ ~ ~ 0 ~ ~ ~ ~ 1 0 0 100 101 103 ~ 1 14:workflow-tests 100 8:workflow ~ ~ 20:20"
    b"26-01-01T10:00:00Z 20:2026-01-01T10:00:00Z 1 6:PASSED 0 0 0 - - 0 ~ ~ ~ 0 0 0 0 0 0 1 20:wor"
    b"kflow-tests/smoke 14:workflow-tests 5:smoke 1 1 ~ ~ ~ ~ ~ ~ 0 0 ~ 0 - - - - - ~ ~ ~ ~ ~ ~ - "
    b"0 2 17:eval_success_rate ~ ~ ~ 103fe999999999999a 1 0 0 0 7:sps_max ~ ~ ~ 1040dd4c0000000000"
    b" 0 0 0 0 2 7:sps_max 2:>= ~ ~ ~ 1040dd4c0000000000 - 1040dd4c0000000000 - - - - 1 1 0 17:eva"
    b"l_success_rate 5:range ~ ~ ~ 103fe999999999999a 103ff0000000000000 103fe999999999999a - - - "
    b"- 1 1 0 0 0 0 0 0 ")),
]


def write_all(folder, seeds):
    out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus", folder)
    os.makedirs(out, exist_ok=True)
    for name, data in seeds:
        with open(os.path.join(out, name), "wb") as f:
            f.write(data)


def main_others():
    write_all("asana", [(n, bytes([c]) + records(*r)) for n, c, r in ASANA])
    write_all("github", [(n, bytes([c]) + records(*r)) for n, c, r in GITHUB])
    write_all("metrics_wandb", [(n, bytes([c]) + records(*r)) for n, c, r in WANDB])
    write_all("runner_slurm", [(n, records(*r)) for n, r in SLURM])
    write_all("runner_skypilot", [(n, bytes([c]) + t.encode("utf-8", "surrogatepass"))
                                  for n, c, t in SKY])
    write_all("state", STATE)
    write_all("record", RECORD)
    write_all("plan", [(n, "\x1e".join([t] + sets).encode()) for n, t, sets in PLAN])


def main():
    out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus", "feed")
    os.makedirs(out, exist_ok=True)
    for name, conf, mode, seed, log in SEEDS + [INVALID_UTF8]:
        body = log if isinstance(log, bytes) else log.encode("utf-8")
        with open(os.path.join(out, name), "wb") as f:
            f.write(bytes([conf | mode << 2]) + struct.pack("<I", seed) + body)
    main_others()


if __name__ == "__main__":
    main()
