/* SPDX-License-Identifier: MIT */
/*
 * Table-driven tests of plugins/metrics_regex (issue 14): each case is a log (bytes, NULs and
 * invalid UTF-8 allowed), an optional plan conf, and everything the source must post. Each case
 * is fed whole, cut in two at every byte, and in equal chunks of every size from 1 byte to the
 * whole log; every run must post identical metrics, labels and notes.
 *
 * Expectation syntax, items separated by ';':
 *   key=VALUE     a metric with exactly this value (read with strtod)
 *   @key=TEXT     a label
 *   ~TEXT         a note containing TEXT
 *   !key          the source refused key's value (label RELHOST_LABEL_REFUSED "key")
 * Nothing else may be posted: a metric or label not listed fails the case, and a case listing no
 * note must post none.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The plugin's private header (its files are linked in). */
#include <math.h>

#include "../../plugins/metrics_regex/metrics_regex_int.h"

#include <cmocka.h>

#include "base/error.h"
#include "mock_host.h"
#include "plan/options.h"

#include "metrics_regex_cases.h"

#define E "\033"
#define UMINUS "\xe2\x88\x92" /* U+2212 MINUS SIGN */

static const char *const LOSS_CONF =
    "defaults = false; patterns = ( { name = \"loss\"; regex = \"loss=(\\\\S+)\"; "
    "reducers = [\"max\", \"last\"]; } );";
static const char *const LOSS_DIGITS_CONF =
    "defaults = false; patterns = ( { name = \"loss\"; regex = \"([0-9.]+) loss\"; } );";
static const char *const TOK_CONF =
    "defaults = false; patterns = ( { name = \"tok\"; metric = \"tokens\"; "
    "regex = \"tok=(?<value>[0-9.,]+)(?<unit>[kMGb])?\"; reducers = \"max\"; } );";
static const char *const ML64 = "max_line = 64;";

static char big_digits[10100]; /* "SPS: " + 10,000 digits + "\n", filled in main */

static const struct tcase cases[] = {
    /* ---- SPS, plain ---- */
    {L("SPS: 31000\n"), NULL, "sps_max=31000;sps_last=31000"},
    {L("step 12 SPS: 31000 loss 0.3\n"), NULL, "sps_max=31000;sps_last=31000"},
    {L("SPS=31000"), NULL, "sps_max=31000;sps_last=31000"},
    {L("[train] sps: 31,000 (avg)\n"), NULL, "sps_max=31000;sps_last=31000"},
    {L("throughput 87.75 ksps\n"), NULL, "sps_max=87750;sps_last=87750"},
    {L("950 sps\n"), NULL, "sps_max=950;sps_last=950"},
    {L("agent steps 1.23 Msps\n"), NULL, "sps_max=1230000;sps_last=1230000"},
    {L("| 1024 | 87,750 SPS | 0.31 |\n"), NULL, "sps_max=87750;sps_last=87750"},
    {L("SPS: 1.5e4\n"), NULL, "sps_max=15000;sps_last=15000"},
    {L("SPS: 1.5e+4\n"), NULL, "sps_max=15000;sps_last=15000"},
    {L("rate 1.5e4 sps\n"), NULL, "sps_max=15000;sps_last=15000"},
    {L("SPS: 87.75k\n"), NULL, "sps_max=87750;sps_last=87750"},
    {L("SPS:  1,234,567.5 \n"), NULL, "sps_max=1234567.5;sps_last=1234567.5"},
    {L("SPS: +1,000\n"), NULL, "sps_max=1000;sps_last=1000"},
    {L("SPS: 10 | SPS: 20\n"), NULL, "sps_max=20;sps_last=20"},
    {L("SPS: 1\nSPS: 2"), NULL, "sps_max=2;sps_last=2"},
    {L("SPS: 3\r\nSPS: 2\r\n"), NULL, "sps_max=3;sps_last=2"},
    /* PufferLib's dashboard, the seed trainer's older formats, a rich table cell */
    {L("SPS   25.1k\n"), NULL, "sps_max=25100;sps_last=25100"},
    {L("  SPS         3b   \n"), NULL, "sps_max=3000000000;sps_last=3000000000"},
    {L("SPS 2M\n"), NULL, "sps_max=2000000;sps_last=2000000"},
    {L("Steps 12 SPS 31000\n"), NULL, "sps_max=31000;sps_last=31000"},
    {L("87750 steps/sec\n"), NULL, "sps_max=87750;sps_last=87750"},
    {L("epoch 3: 1,200 steps/s\n"), NULL, "sps_max=1200;sps_last=1200"},
    {L("SPS: 100\n87750 steps/sec\n950 sps\n"), NULL, "sps_max=87750;sps_last=950"},
    {L("950 sps\n87750 steps/sec\n"), NULL, "sps_max=87750;sps_last=87750"},
    {L("\xe2\x94\x82 87,750 SPS \xe2\x94\x82\n"), NULL, "sps_max=87750;sps_last=87750"},
    {L("{'sps': 31000, 'epoch': 1}\n"), NULL, "sps_max=31000;sps_last=31000"},
    /* ---- SPS, coloured: reads exactly like plain ---- */
    {L(E "[1mSPS " E "[0m: 2000\n"), NULL, "sps_max=2000;sps_last=2000"},
    {L(E "[38;5;2mSPS" E "[0m: 2000\n"), NULL, "sps_max=2000;sps_last=2000"},
    {L(E "[1mSPS: 2000" E "[0m"), NULL, "sps_max=2000;sps_last=2000"},
    {L("\xe2\x94\x82 " E "[1m87,750" E "[0m SPS \xe2\x94\x82\n"), NULL,
     "sps_max=87750;sps_last=87750"},
    {L("SPS: " E "[32m2000" E "[0m\n"), NULL, "sps_max=2000;sps_last=2000"},
    {L(E "[37mSPS" E "[0m   25.1k\n"), NULL, "sps_max=25100;sps_last=25100"},
    {L(E "[37mSPS" E "[0m   " E "[36m37" E "[0m\n"), NULL, "sps_max=37;sps_last=37"},
    {L("SPS: 2" E "[38;5;2m000\n"), NULL, "sps_max=2000;sps_last=2000"},
    {L("SPS: 5" E "[1m\n"), NULL, "sps_max=5;sps_last=5"},
    {L("5" E "[0m sps\n"), NULL, "sps_max=5;sps_last=5"},
    {L(E "[1m5" E "[0m ksps\n"), NULL, "sps_max=5000;sps_last=5000"},
    {L(E "[38:2:255:0:0mSPS: 17\n"), NULL, "sps_max=17;sps_last=17"},
    {L(E "[?25lSPS: 10" E "[?25h\n"), NULL, "sps_max=10;sps_last=10"},
    {L("\r" E "[2KSPS: 11\n"), NULL, "sps_max=11;sps_last=11"},
    {L(E "[KSPS: 12\n"), NULL, "sps_max=12;sps_last=12"},
    {L("\033\033[1mSPS: 13\n"), NULL, "sps_max=13;sps_last=13"},
    {L(E "[1\xffSPS: 16\n"), NULL, "sps_max=16;sps_last=16"},
    /* OSC (BEL or ST), DCS, lone two-byte sequences, charset designation */
    {L(E "]0;title\007SPS: 500\n"), NULL, "sps_max=500;sps_last=500"},
    {L(E "]8;;http://x/1" E "\\SPS: 600" E "]8;;" E "\\\n"), NULL, "sps_max=600;sps_last=600"},
    {L(E "]0;SPS: 9\007SPS: 601\n"), NULL, "sps_max=601;sps_last=601"},
    {L(E "]0;title\nSPS: 14\n"), NULL, "sps_max=14;sps_last=14"},
    {L(E "Pq#0;2;0;0;0" E "\\SPS: 15\n"), NULL, "sps_max=15;sps_last=15"},
    {L(E "7SPS: 700" E "8\n"), NULL, "sps_max=700;sps_last=700"},
    {L(E "(BSPS: 800\n"), NULL, "sps_max=800;sps_last=800"},
    /* an escape sequence cut at the very end of the log */
    {L("SPS: 900\n" E "[3"), NULL, "sps_max=900;sps_last=900"},
    {L("SPS: 900\n" E "]0;abc"), NULL, "sps_max=900;sps_last=900"},
    {L("SPS: 950" E "[0"), NULL, "sps_max=950;sps_last=950"},
    {L("SPS: 950" E), NULL, "sps_max=950;sps_last=950"},
    {L(E "[0m"), NULL, ""},
    /* ---- NUL bytes, invalid UTF-8 ---- */
    {L("x\0y\0 SPS=950 \0tail\n"), NULL, "sps_max=950;sps_last=950"},
    {L(E "[1m\0SPS: 5\n"), NULL, "sps_max=5;sps_last=5"},
    {L("progress \xff\xfe\xc3 87.75 ksps \xe2\x82\n"), NULL, "sps_max=87750;sps_last=87750"},
    /* a number is read only when it ends at a token boundary: never a prefix of "5\xff" */
    {L("SPS: 5\xff\n"), NULL, "~sps;~not a finite number;!sps_max;!sps_last"},
    {L("\xc3\x28\xa0\xa1 eval_success_rate: 0.5 \xf0\x28\x8c\x28\n"), NULL,
     "eval_success_rate=0.5"},
    /* ---- SPS refused: a note, never a wrong value ---- */
    {L(UMINUS "5 sps\n"), NULL, "~sps;~minus;!sps_max;!sps_last"},
    {L("SPS: " UMINUS "5\n"), NULL, "~sps;~minus;!sps_max;!sps_last"},
    {L("SPS: -5\n"), NULL, "~sps;~outside;!sps_max;!sps_last"},
    {L("-5 sps\n"), NULL, "~sps;~outside;!sps_max;!sps_last"},
    {L("SPS: 1e999\n"), NULL, "~sps;~not a finite number;!sps_max;!sps_last"},
    {L("SPS: nan\n"), NULL, "~sps;~not a finite number;!sps_max;!sps_last"},
    {L("SPS: 31,0000\n"), NULL, "~sps;~not a finite number;!sps_max;!sps_last"},
    {L("SPS: 100\nSPS: nan\nSPS: 200\n"), NULL,
     "sps_max=200;sps_last=200;~1 match skipped;~line 2"},
    {L("SPS: 100\nSPS: nan\n"), NULL, "sps_max=100;~line 2;~sps_last is not posted;!sps_last"},
    {L("SPS: 100\nSPS: -1\nSPS: -2\n"), NULL,
     "sps_max=100;~2 matches skipped;~first on line 2;~sps_last is not posted;!sps_last"},
    {L("sps_max: 31000\n"), NULL, ""},
    {L("SPS:\n31000\n"), NULL, "~sps;~not a finite number;!sps_max;!sps_last"},
    /* ---- the last occurrence unreadable in any default form: refused, never a stale last ---- */
    {L("Successes: 35/40 (87.5%)\nSuccesses: 0/0 (nan%)\n"), NULL,
     "~eval_success_rate is not posted;~line 2;~\"nan%\";!eval_success_rate"},
    {L("total  40 evals 87.5% successful\ntotal  0 evals nan% successful\n"), NULL,
     "~eval_success_rate is not posted;~line 2;!eval_success_rate"},
    {L("50000 steps/sec\nnan steps/sec\n"), NULL,
     "sps_max=50000;~sps_last is not posted;~\"nan\";!sps_last"},
    {L("50.0 ksps\nnan ksps\n"), NULL, "sps_max=50000;~sps_last is not posted;!sps_last"},
    {L("SPS   50.0k\nSPS   nan\n"), NULL, "sps_max=50000;~sps_last is not posted;!sps_last"},
    {L("SPS   50.0k\nSPS   -\n"), NULL, "sps_max=50000;~sps_last is not posted;!sps_last"},
    {L("\xe2\x94\x82 50,000 SPS \xe2\x94\x82\n\xe2\x94\x82 nan SPS \xe2\x94\x82\n"), NULL,
     "sps_max=50000;~sps_last is not posted;!sps_last"},
    {L("SPS: 50000\nSPS:\n"), NULL, "sps_max=50000;~sps_last is not posted;!sps_last"},
    {L("SPS: 50000\nSPS:    \n"), NULL, "sps_max=50000;~sps_last is not posted;!sps_last"},
    {L("SPS: 50000\nSPS=\n"), NULL, "sps_max=50000;~sps_last is not posted;!sps_last"},
    {L("eval_success_rate: 0.93\neval_success_rate:\n"), NULL,
     "~eval_success_rate is not posted;!eval_success_rate"},
    {L("{\"sps\": 50000}\n{\"sps\": \"nan\"}\n"), NULL,
     "sps_max=50000;~sps_last is not posted;!sps_last"},
    {L("{'eval_success_rate': 0.93}\n{'eval_success_rate': 'nan'}\n"), NULL,
     "~eval_success_rate is not posted;!eval_success_rate"},
    {L("{'sps': '50000'}\n"), NULL, "sps_max=50000;sps_last=50000"},
    /* ---- a value ends at a token boundary: a prefix of its token is refused ---- */
    {L("eval_success_rate: 0.5\neval_success_rate: 1/40\n"), NULL,
     "~eval_success_rate is not posted;~\"1/40\";!eval_success_rate"},
    {L("eval_success_rate: 0.5\neval_success_rate: 1 / 40\n"), NULL,
     "~eval_success_rate is not posted;~\"1 / 40\";!eval_success_rate"},
    {L("eval_success_rate: 0.5\neval_success_rate: 1e\n"), NULL,
     "~eval_success_rate is not posted;~\"1e\";!eval_success_rate"},
    {L("eval_success_rate: 0.5\neval_success_rate: 1e-\n"), NULL,
     "~eval_success_rate is not posted;~\"1e-\";!eval_success_rate"},
    {L("eval_success_rate: 0.5\neval_success_rate: 1x\n"), NULL,
     "~eval_success_rate is not posted;~\"1x\";!eval_success_rate"},
    {L("eval_success_rate: 0.5\neval_success_rate: 1-05\n"), NULL,
     "~eval_success_rate is not posted;~\"1-05\";!eval_success_rate"},
    {L("eval_success_rate: 0.5\neval_success_rate: 1:05\n"), NULL,
     "~eval_success_rate is not posted;~\"1:05\";!eval_success_rate"},
    {L("eval_success_rate: 0.5\neval_success_rate: 1.5.3\n"), NULL,
     "~eval_success_rate is not posted;~\"1.5.3\";!eval_success_rate"},
    {L("eval_success_rate: 0.5\neval_success_rate: 0.9abc\n"), NULL,
     "~eval_success_rate is not posted;~\"0.9abc\";!eval_success_rate"},
    {L("SPS: 40000\nSPS: 2k5\n"), NULL, "sps_max=40000;~sps_last is not posted;~\"2k5\";!sps_last"},
    {L("SPS: 40000\nSPS: 1.5kk\n"), NULL,
     "sps_max=40000;~sps_last is not posted;~\"1.5kk\";!sps_last"},
    {L("SPS: 40000\nSPS: 1e\n"), NULL, "sps_max=40000;~sps_last is not posted;~\"1e\";!sps_last"},
    {L("SPS: 40000\nSPS: 1x\n"), NULL, "sps_max=40000;~sps_last is not posted;~\"1x\";!sps_last"},
    {L("SPS: 40000\nSPS: 50000abc\n"), NULL,
     "sps_max=40000;~sps_last is not posted;~\"50000abc\";!sps_last"},
    {L("SPS: 40000\nSPS: 3:05\n"), NULL,
     "sps_max=40000;~sps_last is not posted;~\"3:05\";!sps_last"},
    {L("SPS   50.0k\nSPS   2k5\n"), NULL, "sps_max=50000;~sps_last is not posted;!sps_last"},
    {L("40000 sps\n1.5kk sps\n"), NULL, "sps_max=40000;~sps_last is not posted;!sps_last"},
    {L("40000 sps\n2x steps/sec\n"), NULL, "sps_max=40000;~sps_last is not posted;!sps_last"},
    {L("{'sps': 40000}\n{'sps': 1e-, 'x': 1}\n"), NULL,
     "sps_max=40000;~sps_last is not posted;!sps_last"},
    /* a number then a space and a word is read: "SPS: 31000 (avg)", "1 of 40 episodes" */
    {L("SPS: 31000 (avg)\neval_success_rate: 1 of 40 episodes\n"), NULL,
     "sps_max=31000;sps_last=31000;eval_success_rate=1"},
    {L("SPS: 31000, eval_success_rate: 0.9; SPS=32000|\n"), NULL,
     "sps_max=32000;sps_last=32000;eval_success_rate=0.9"},
    /* ---- a name preceded by - _ . / is an option or an identifier, not that metric ---- */
    {L("Running: python train.py --min-sps 50000\n"), NULL, ""},
    {L("SPS: 2000\nRunning: python train.py --min-sps 50000\n"), NULL,
     "sps_max=2000;sps_last=2000"},
    {L("SPS: 2000\nargs: --sps=50000 --min_sps: 50000 cfg.sps: 50000 train/sps: 50000\n"), NULL,
     "sps_max=2000;sps_last=2000"},
    {L("SPS: 2000\n--min-ksps 50 --target-sps 50000 x.sps 50000 a/sps 5\n"), NULL,
     "sps_max=2000;sps_last=2000"},
    {L("eval_success_rate: 0.5\n--min-eval-success-rate=0.9 cfg.eval_success_rate: 0.95\n"), NULL,
     "eval_success_rate=0.5"},
    {L("eval_success_rate: 0.5\n--total 40 evals 90% successful\n"), NULL, "eval_success_rate=0.5"},
    {L("(SPS: 2000) [SPS=3000] {'sps': 4000} |SPS 5000|\n"), NULL, "sps_max=5000;sps_last=5000"},
    /* ---- 8-bit C1 controls, cursor moves, backspaces, colour codes that lost their ESC ---- */
    {L("\x9b"
       "31mSPS\x9b"
       "0m: 2000\n"),
     NULL, "sps_max=2000;sps_last=2000"},
    {L("\xc2\x9b"
       "31mSPS\xc2\x9b"
       "0m: 2000\n"),
     NULL, "sps_max=2000;sps_last=2000"},
    {L("\x9d"
       "0;title\x07SPS: 2000\n\xc2\x9d"
       "0;t\x07SPS: 3000\n"),
     NULL, "sps_max=3000;sps_last=3000"},
    {L("\x9d"
       "0;\xe2\x80\x9c"
       "t\xe2\x80\x9d\x9cSPS: 2000\n"),
     NULL, "sps_max=2000;sps_last=2000"},
    {L("\xe2\x80\x9b SPS: 2000 \xe2\x80\x9d\n"), NULL, "sps_max=2000;sps_last=2000"},
    {L("\xe0\x9b"
       "1mSPS: 2000\n"),
     NULL, "sps_max=2000;sps_last=2000"},
    {L("SPS: 50000" E "[2K" E "[1GSPS: 2000\n"), NULL, "sps_max=50000;sps_last=2000"},
    {L("SPS: 50000" E "[GSPS: 2000\n"), NULL, "sps_max=50000;sps_last=2000"},
    {L("SPS: 50000" E "[1;1HSPS: 2000\n"), NULL, "sps_max=50000;sps_last=2000"},
    {L("SPS: 50000" E "[ASPS: 2000\n"), NULL, "sps_max=50000;sps_last=2000"},
    {L("SPS: 2000" E "[K" E "[?25l\n"), NULL, "sps_max=2000;sps_last=2000"},
    {L("SPS: 100\nSPS: 99999\b\b\b\b\b2000\n"), NULL,
     "sps_max=100;~rewritten;~sps_last is not posted;~line 2;!sps_last"},
    {L("SPS: 100\nSPS: 99999" E "[5D2000\n"), NULL,
     "sps_max=100;~rewritten;~sps_last is not posted;!sps_last"},
    {L("SPS: 100\nSPS: 99999" E "[6G2000\n"), NULL,
     "sps_max=100;~rewritten;~sps_last is not posted;!sps_last"},
    {L("SPS: 100\nSPS: 2000\b\b\b\b" E "[4C" E "[K\n"), NULL, "sps_max=2000;sps_last=2000"},
    {L("SPS: 100\nSPS: 99\b\b\rSPS: 2000\n"), NULL, "sps_max=2000;sps_last=2000"},
    {L("SPS: 100\n[38;5;2mSPS[0m: 2000\n"), NULL,
     "sps_max=100;~sps_last is not posted;~\"[38;!sps_last"},
    {L("SPS: 100\nSPS[0m: 2000\n"), NULL, "sps_max=100;~sps_last is not posted;!sps_last"},
    {L("SPS: 100\n[1m2m[0m SPS\n"), NULL, "sps_max=100;~sps_last is not posted;!sps_last"},
    {L("SPS: 100\n[1m50000[0m steps/sec\n"), NULL, "sps_max=100;~sps_last is not posted;!sps_last"},
    {L("SPS: 100\nSPS: [1m2000[0m\n"), NULL, "sps_max=100;~sps_last is not posted;!sps_last"},
    {L("eval_success_rate: 0.5\n[1meval_success_rate[0m: 0.9\n"), NULL,
     "~eval_success_rate is not posted;!eval_success_rate"},
    {L("[1] SPS: 2000 [done]\n"), NULL, "sps_max=2000;sps_last=2000"},
    /* prose around the names is not a value */
    {L("SPS per env is logged\ncomputing sps now\n|  SPS  |\n"), NULL, ""},
    {L("Steps 12 SPS nan\n"), NULL, "~sps;~not a finite number;!sps_max;!sps_last"},
    {L("SPS: 31000 / tmp\n"), NULL, "sps_max=31000;sps_last=31000"},
    {L(""), NULL, ""},
    {big_digits, 0, NULL, "~sps;~too long;!sps_max;!sps_last"},
    /* ---- eval_success_rate ---- */
    {L("eval_success_rate: 0.93\n"), NULL, "eval_success_rate=0.93"},
    {L("eval_success_rate: 1e-05\n"), NULL, "eval_success_rate=1e-05"},
    {L("eval_success_rate: 1.0e-3\n"), NULL, "eval_success_rate=0.001"},
    {L("eval_success_rate: 0.5e-1\n"), NULL, "eval_success_rate=0.05"},
    {L("eval_success_rate: 1E2\n"), NULL, "~eval_success_rate;~outside;!eval_success_rate"},
    {L("eval_success_rate: 87.5%\n"), NULL, "eval_success_rate=0.875"},
    {L("eval_success_rate: 1%\n"), NULL, "eval_success_rate=0.01"},
    {L("eval_success_rate: 12%\n"), NULL, "eval_success_rate=0.12"},
    {L("eval_success_rate: 100%\n"), NULL, "eval_success_rate=1"},
    {L("eval_success_rate: 1.5\n"), NULL, "~eval_success_rate;~outside;!eval_success_rate"},
    {L("eval_success_rate: 101%\n"), NULL, "~eval_success_rate;~outside;!eval_success_rate"},
    {L("eval_success_rate: -0.5\n"), NULL, "~eval_success_rate;~outside;!eval_success_rate"},
    {L("eval_success_rate: " UMINUS "0.5\n"), NULL, "~eval_success_rate;~minus;!eval_success_rate"},
    {L("eval_success_rate: 0.8\neval_success_rate: nan\n"), NULL,
     "~not a finite number;~eval_success_rate is not posted;~line 2;!eval_success_rate"},
    {L("eval_success_rate: 0.8\neval_success_rate: 1.0000001\n"), NULL,
     "~outside;~eval_success_rate is not posted;!eval_success_rate"},
    {L("eval_success_rate: 0.9\neval_success_rate: 0.8\n"), NULL, "eval_success_rate=0.8"},
    {L("eval success rate: .5\n"), NULL, "eval_success_rate=0.5"},
    {L("EVAL_SUCCESS_RATE: 0\n"), NULL, "eval_success_rate=0"},
    {L("eval-success rate=1.0\n"), NULL, "eval_success_rate=1"},
    {L("total  40 evals 87.5% successful\n"), NULL, "eval_success_rate=0.875"},
    {L("Successes: 35/40 (87.5%)\n"), NULL, "eval_success_rate=0.875"},
    {L("{'eval_success_rate': 0.93, 'epoch': 1.0}\n"), NULL, "eval_success_rate=0.93"},
    {L("{\"eval_success_rate\": 0.25}\n"), NULL, "eval_success_rate=0.25"},
    {L(E "[32m2025-01-01 12:00:00" E "[0m | " E "[1mINFO" E "[0m | eval_success_rate: " E "[1m0.9" E
         "[0m\n"),
     NULL, "eval_success_rate=0.9"},
    {L("eval_success_rate: 0.5\reval_success_rate: 0.93\n"), NULL, "eval_success_rate=0.93"},
    /* ---- [SUMMARY] markers: exact, fresh blocks ---- */
    {L("[SUMMARY] Exit code: 0\n"), NULL, "exit_code=0"},
    {L("[SUMMARY] Exit code: 137\n[SUMMARY] Termination reason: oom\n"
       "[SUMMARY] Restart Count: 2\n"),
     NULL, "exit_code=137;@termination_reason=oom;restart_count=2"},
    {L("[summary] Exit code: 0\n"), NULL, ""},
    {L("[Summary] Exit code: 1\n"), NULL, ""},
    {L("[SUMMARY]Exit code: 0\n"), NULL, ""},
    {L("[SUMMARY] exit code: 0\n"), NULL, ""},
    {L("[SUMMARY] Exit code: 0\n[SUMMARY] Termination reason: job_completed\n"
       "[SUMMARY] Restart Count: 0\nrestarting\n[SUMMARY] Exit code: 1\n"),
     NULL, "exit_code=1;~termination_reason;~restart_count;~last [SUMMARY] block"},
    {L("[SUMMARY] Exit code: 1\n[SUMMARY] Termination reason: crash\n"
       "[SUMMARY] Exit code: 0\n[SUMMARY] Termination reason: job_completed\r\n"),
     NULL, "exit_code=0;@termination_reason=job_completed"},
    {L("[SUMMARY] Exit code: 1\n[SUMMARY] Termination reason: crash\nrestarting\n"
       "[SUMMARY] Termination reason: job_completed\n"),
     NULL, "@termination_reason=job_completed;~exit_code;~last [SUMMARY] block"},
    {L("[SUMMARY] Restart Count: N/A\n"), NULL, "~restart_count;~N/A;!restart_count"},
    {L("[SUMMARY] Exit code: 0\n[SUMMARY] Restart Count: N/A\n"), NULL,
     "exit_code=0;~restart_count;~N/A;!restart_count"},
    {L("[SUMMARY] Exit code: 0\n[SUMMARY] Exit code: N/A\n"), NULL,
     "~exit_code is not posted;~N/A;!exit_code"},
    {L("[SUMMARY] Exit code: 999\n"), NULL, "~exit_code;~outside;!exit_code"},
    {L("[SUMMARY] Exit code: -9\n"), NULL, "exit_code=-9"},
    {L("[SUMMARY] Restart Count: 1.5\n"), NULL, "~restart_count;~whole number;!restart_count"},
    {L("[SUMMARY] Exit code: 3\r\n"), NULL, "exit_code=3"},
    {L(E "[1m[SUMMARY]" E "[0m Exit code: " E "[31m3" E "[0m\n"), NULL, "exit_code=3"},
    {L("[SUMMARY] Exit code: 0" E "[0"), NULL, "exit_code=0"},
    /* ---- \r ends a segment: progress bars, max_line per segment ---- */
    {L("SPS: 100\rSPS: 200\rSPS: 300\n"), NULL, "sps_max=300;sps_last=300"},
    {L("SPS: 300\rSPS: 200\r"), NULL, "sps_max=300;sps_last=200"},
    {L(" 10%|#         | 1/10 [00:01<00:09, 950.00it/s, SPS=950]\r"
       " 20%|##        | 2/10 [00:02<00:08, 951.00it/s, SPS=951]\r"
       " 30%|###       | 3/10 [00:03<00:07, 949.00it/s, SPS=949]\n"),
     ML64, "sps_max=951;sps_last=949"},
    {L("SPS: 1\rxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx SPS: 9"
       "\rSPS: 2\n"),
     ML64, "sps_max=2;sps_last=2;~1 log line"},
    {L("SPS: 1\n" E "[1mxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx" E
       "[0m\nSPS: 2\n"),
     ML64, "sps_max=2;sps_last=2"},
    {L("SPS: 1\nxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\nSPS: 2\n"),
     ML64, "sps_max=2;sps_last=2;~1 log line"},
    /* ---- plan patterns use the same grammar ---- */
    {L("loss=0.5\nloss=1,234.5\n"), LOSS_CONF, "loss_max=1234.5;loss_last=1234.5"},
    {L("loss=2.5e-3\n"), LOSS_CONF, "loss_max=0.0025;loss_last=0.0025"},
    {L("loss=50%\n"), LOSS_CONF, "loss_max=0.5;loss_last=0.5"},
    {L("loss=0.5\nloss=nan\n"), LOSS_CONF,
     "loss_max=0.5;~not a finite number;~loss_last is not posted;!loss_last"},
    {L("loss=" UMINUS "0.5\n"), LOSS_CONF, "~minus;!loss_max;!loss_last"},
    {L(UMINUS "0.5 loss\n"), LOSS_DIGITS_CONF, "~minus;!loss_last"},
    {L("0.5 loss\n"), LOSS_DIGITS_CONF, "loss_last=0.5"},
    {L("loss=-0.5\n"), LOSS_CONF, "loss_max=-0.5;loss_last=-0.5"},
    {L("loss=" E "[1m0.25" E "[0m\n"), LOSS_CONF, "loss_max=0.25;loss_last=0.25"},
    {L("tok=2b\ntok=1.5k\n"), TOK_CONF, "tokens=2000000000"},
    {L("tok=3M\n"), TOK_CONF, "tokens=3000000"},
};

#define N_CASES (sizeof(cases) / sizeof(cases[0]))

static void test_plugins_metrics_regex_table__every_case_at_every_chunking(void **state)
{
    (void)state;
    assert_true(N_CASES >= 100);
    run_cases(cases, N_CASES);
}

/* The fused prefilter (one pass for every literal, on CPUs with AVX2) finds what one pass per
 * literal finds: each case, whole and in 7-byte chunks, posts the same either way. */
static void
test_plugins_metrics_regex_table__the_fused_prefilter_posts_what_one_pass_per_literal_posts(
    void **state)
{
    (void)state;
    for (size_t c = 0; c < N_CASES; c++) {
        size_t len = cases[c].len ? cases[c].len : strlen(cases[c].log);
        struct runner r;
        runner_open(&r, cases[c].conf);
        struct metrics_regex *inst = r.inst;
        int fused = inst->fuse.on;
        char *whole = run(&r, cases[c].log, len, 0, len ? len : 1);
        char *cut = run(&r, cases[c].log, len, 0, 7);
        inst->fuse.on = 0;
        char *plain = run(&r, cases[c].log, len, 0, len ? len : 1);
        char *plain_cut = run(&r, cases[c].log, len, 0, 7);
        inst->fuse.on = fused;
        if (strcmp(whole, plain) != 0 || strcmp(cut, plain_cut) != 0)
            fail_msg("case %zu: fused posts\n%s\nbut one pass per literal posts\n%s", c, whole,
                     plain);
        free(whole);
        free(cut);
        free(plain);
        free(plain_cut);
        runner_close(&r);
    }
}

/* A 100 MB line without a newline, between two metric lines: bounded memory, a note. */
static void test_plugins_metrics_regex_table__a_100mb_line_is_skipped_in_bounded_memory(
    void **state)
{
    (void)state;
    struct runner r;
    runner_open(&r, NULL);
    const relhost_metrics_ops *ops = r.pl->metrics;
    void *jobp = NULL;
    assert_int_equal(ops->job_open(&r.m.ctx, r.inst, NULL, &jobp), 0);
    struct metrics_regex_job *job = jobp;
    static char chunk[65536];
    assert_int_equal(ops->feed(&r.m.ctx, job, "SPS: 7\n", 7), 0);
    for (size_t i = 0; i < sizeof(chunk); i++)
        chunk[i] = (char)(i % 64 == 0 ? ' ' : '0' + i % 10);
    memcpy(chunk + 100, "SPS: 99999 " E "[1m", 15);
    for (size_t fed = 0; fed < (size_t)100 << 20; fed += sizeof(chunk)) {
        assert_int_equal(ops->feed(&r.m.ctx, job, chunk, sizeof(chunk)), 0);
        assert_true(job->carry_cap <= 1u << 20);
    }
    assert_int_equal(ops->feed(&r.m.ctx, job, "\nSPS: 8\n", 8), 0);
    assert_int_equal(ops->collect(&r.m.ctx, job), 0);
    assert_true(mock_host_metric(&r.m, "sps_max")->value == 8);
    assert_true(mock_host_metric(&r.m, "sps_last")->value == 8);
    assert_non_null(mock_host_note(&r.m, "1 log line"));
    ops->job_close(job);
    runner_close(&r);
}

/* Values captured as whole tokens of any bytes ("nan ksps", "total 0 evals nan% successful"):
 * the search shortcuts (literals, lead sets, the fused prefilter) must still start before the
 * token, so the defaults post what they post with every shortcut off. */
static void test_plugins_metrics_regex_table__shortcuts_find_whole_value_tokens_of_any_bytes(
    void **state)
{
    static const char *const frags[] = {
        "nan ksps", "1x sps",     "n/a steps/sec",      "--min-sps", "2k5 sps", "total 3 evals",
        "nan%",     "successful", "Successes: 0/0 (",   ")",         "SPS:",    "50000",
        "SPS",      "-",          "eval_success_rate:", "1/40",      "|",       "'nan'",
    };
    static char log[32 * 1024];
    size_t n = 0;
    unsigned seed = 7;
    (void)state;
    for (int line = 0; line < 800; line++) {
        int parts = 1 + (int)(seed % 5);
        for (int i = 0; i < parts; i++) {
            seed = seed * 1103515245u + 12345u;
            const char *f = frags[(seed >> 8) % (sizeof(frags) / sizeof(frags[0]))];
            n += (size_t)snprintf(log + n, sizeof(log) - n, "%s%s", f,
                                  (seed >> 20) % 3 == 0 ? "" : " ");
        }
        n += (size_t)snprintf(log + n, sizeof(log) - n, "\n");
        assert_true(n < sizeof(log) - 256);
    }
    struct runner r;
    runner_open(&r, NULL);
    char *got = run(&r, log, n, 0, 61);
    struct metrics_regex *inst = r.inst;
    for (size_t i = 0; i < inst->n_pats; i++) {
        inst->pats[i].lit.len = 0;
        inst->pats[i].lead_known = 0;
    }
    for (size_t i = 0; i < inst->n_groups; i++)
        inst->groups[i].lit.len = 0;
    inst->fuse.on = 0;
    char *want = run(&r, log, n, 0, n);
    assert_string_equal(got, want);
    assert_non_null(strstr(want, "not a finite number")); /* the log is worth comparing */
    free(want);
    free(got);
    runner_close(&r);
}

int main(void)
{
    memcpy(big_digits, "SPS: ", 5);
    memset(big_digits + 5, '7', 10000);
    big_digits[10005] = '\n';
    big_digits[10006] = '\0';
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_plugins_metrics_regex_table__every_case_at_every_chunking),
        cmocka_unit_test(
            test_plugins_metrics_regex_table__a_100mb_line_is_skipped_in_bounded_memory),
        cmocka_unit_test(
            test_plugins_metrics_regex_table__the_fused_prefilter_posts_what_one_pass_per_literal_posts),
        cmocka_unit_test(
            test_plugins_metrics_regex_table__shortcuts_find_whole_value_tokens_of_any_bytes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
