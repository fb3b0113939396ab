#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Writes the checked-in seeds of tests/fuzz/corpus/feed/ (run it from anywhere; it overwrites
only the files it names). Each seed is feed_fuzz.c's 5-byte header (conf and chunking mode, then a
little-endian seed) followed by a small realistic log."""
import os
import struct

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


def main():
    out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus", "feed")
    os.makedirs(out, exist_ok=True)
    for name, conf, mode, seed, log in SEEDS + [INVALID_UTF8]:
        body = log if isinstance(log, bytes) else log.encode("utf-8")
        with open(os.path.join(out, name), "wb") as f:
            f.write(bytes([conf | mode << 2]) + struct.pack("<I", seed) + body)


if __name__ == "__main__":
    main()
