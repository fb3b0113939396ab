/* SPDX-License-Identifier: MIT */
/*
 * Format presets of plugins/metrics_regex (issue 14 part 7): `presets = [...]` switches on the
 * pattern sets for Stable-Baselines3, Sample Factory, rl_games, RLlib, the Hugging Face Trainer
 * and tqdm/Lightning. Each case is output shaped exactly as those tools print it (their format
 * strings, colours and \r progress bars), fed whole, cut in two at every byte and in chunks of
 * every size; every run must post the same metrics, labels and notes. Default patterns stay on
 * unless a case says otherwise, so a case also proves that no preset line is read as sps_* or
 * eval_success_rate. Then: keys() declares exactly the keys open() can post, for every preset,
 * and bad preset lists are refused when the plan is opened.
 *
 * Expectation syntax, items separated by ';' (as in metrics_regex_table.c):
 *   key=VALUE     a metric with exactly this value (read with strtod)
 *   @key=TEXT     a label
 *   ~TEXT         a note containing TEXT
 *   !key          the source refused key's value (label RELHOST_LABEL_REFUSED "key")
 * Nothing else may be posted.
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
#define BAR10 \
    "\xe2\x96\x88\xe2\x96\x88\xe2\x96\x88\xe2\x96\x88\xe2\x96\x88\xe2\x96\x88\xe2\x96\x88\xe2\x96\x88\xe2\x96\x88\xe2\x96\x88"
#define BAR1 "\xe2\x96\x88"
#define RICH "\xe2\x94\x81\xe2\x94\x81\xe2\x94\x81\xe2\x94\x81\xe2\x94\x81\xe2\x94\x81"
#define DOT "\xe2\x80\xa2"

static const char *const SB3 = "presets = [\"sb3\"];";
static const char *const SF = "presets = [\"sample_factory\"];";
static const char *const RLG = "presets = \"rl_games\";";
static const char *const RLLIB = "presets = [\"rllib\"];";
static const char *const HF = "presets = [\"hf_trainer\"];";
static const char *const TQDM = "presets = [\"tqdm\"];";
static const char *const HF_TQDM = "presets = [\"hf_trainer\", \"tqdm\"];";
static const char *const TQDM_ONLY = "defaults = false; presets = [\"tqdm\"];";

/* Stable-Baselines3's HumanOutputFormat (PPO, verbose=1), an EvalCallback table and its prints. */
#define SB3_PPO(fps, ts)                             \
    "-----------------------------------------\n"    \
    "| rollout/                |             |\n"    \
    "|    ep_len_mean          | 22.4        |\n"    \
    "|    ep_rew_mean          | 22.4        |\n"    \
    "| time/                   |             |\n"    \
    "|    fps                  | " fps "        |\n" \
    "|    iterations           | 2           |\n"    \
    "|    time_elapsed         | 2           |\n"    \
    "|    total_timesteps      | " ts "        |\n"  \
    "| train/                  |             |\n"    \
    "|    approx_kl            | 0.008773518 |\n"    \
    "|    clip_fraction        | 0.102       |\n"    \
    "|    entropy_loss         | -0.686      |\n"    \
    "|    explained_variance   | -0.00337    |\n"    \
    "|    learning_rate        | 0.0003      |\n"    \
    "|    loss                 | 6.72        |\n"    \
    "-----------------------------------------\n"
#define SB3_EVAL(rew, rate, table_rate)                           \
    "Eval num_timesteps=5000, episode_reward=" rew " +/- 12.34\n" \
    "Episode length: 200.00 +/- 0.00\n"                           \
    "Success rate: " rate "\n"                                    \
    "New best mean reward!\n"                                     \
    "---------------------------------\n"                         \
    "| eval/              |          |\n"                         \
    "|    mean_ep_length  | 200      |\n"                         \
    "|    mean_reward     | " rew "  |\n"                         \
    "|    success_rate    | " table_rate "      |\n"              \
    "| time/              |          |\n"                         \
    "|    total_timesteps | 5000     |\n"                         \
    "---------------------------------\n"

/* Sample Factory's runner (the colour is colorlog's DEBUG cyan). */
#define SF_LINE(t, a, b, c, frames)                                                         \
    "[2023-05-01 10:00:" t ",123][01234] Fps is (10 sec: " a ", 60 sec: " b ", 300 sec: " c \
    "). Total num frames: " frames ". Throughput: 0: " a ". Samples: " frames               \
    ". Policy #0 lag: (min: 0.0, avg: 1.3, max: 3.0)\n"

static const struct tcase cases[] = {
    /* ---- sb3 ---- */
    {L(SB3_PPO("1398", "4096")), SB3, "sb3_fps_max=1398;sb3_fps_last=1398"},
    {L(SB3_PPO("1398", "4096") SB3_PPO("1402", "6144") SB3_PPO("1390", "8192")), SB3,
     "sb3_fps_max=1402;sb3_fps_last=1390"},
    {L(SB3_EVAL("200.00", "90.00%", "0.9")), SB3,
     "sb3_eval_mean_reward=200;sb3_eval_success_rate=0.9;sb3_table_success_rate=0.9"},
    {L(SB3_EVAL("-150.23", "0.00%", "0")), SB3,
     "sb3_eval_mean_reward=-150.23;sb3_eval_success_rate=0;sb3_table_success_rate=0"},
    /* the rollout/ table of an off-policy algorithm has a success_rate row too: the table's key
     * says "the last row", whichever section; EvalCallback's line is the evaluation's */
    {L(SB3_EVAL("-150.23", "75.00%",
                "0.75") "| rollout/           |          |\n"
                        "|    ep_len_mean     | 50       |\n|    success_rate    | 0.2      |\n"),
     SB3, "sb3_eval_mean_reward=-150.23;sb3_eval_success_rate=0.75;sb3_table_success_rate=0.2"},
    /* progress_bar=True: tqdm.rich redraws its bar with \r and erase codes around the table */
    {L("\r" E "[2K" E "[35m  20%" E "[0m " RICH " " E "[32m4,096/20,000 " E "[0m [ 0:00:02 < "
       "0:00:09 , 1,398 it/s ]\r" E "[2K|    fps                  | 1398        |\n"
       "|    fps                  | 1401        |\r\n"),
     SB3, "sb3_fps_max=1401;sb3_fps_last=1401"},
    /* floats are %-8.3g: exponents; the grammar's refusals hold */
    {L("|    success_rate    | 1e-05    |\n"), SB3, "sb3_table_success_rate=1e-05"},
    {L("|    success_rate    | 0.9      |\n|    success_rate    | nan      |\n"), SB3,
     "~sb3_table_success_rate;~not a finite number;~is not posted;!sb3_table_success_rate"},
    {L("Success rate: 100.00%\nSuccess rate: 120.00%\n"), SB3,
     "~sb3_eval_success_rate;~outside the valid range;!sb3_eval_success_rate"},
    /* without the preset nothing here is a metric (no sps_max from "fps") */
    {L(SB3_PPO("1398", "4096") SB3_EVAL("200.00", "90.00%", "0.9")), NULL, ""},
    /* ---- sample_factory ---- */
    {L(SF_LINE("05", "20480.0", "20480.0", "20480.0", "102400")), SF,
     "sample_factory_fps_10s_max=20480;sample_factory_fps_10s_last=20480;"
     "sample_factory_fps_60s_max=20480;sample_factory_fps_60s_last=20480;"
     "sample_factory_fps_300s_max=20480;sample_factory_fps_300s_last=20480;"
     "sample_factory_total_frames=102400"},
    /* the first report of a run has nan windows: refused with a note, never guessed */
    {L(SF_LINE("00", "nan", "nan", "nan", "0")
           SF_LINE("05", "20480.0", "20480.0", "20480.0", "102400")
               SF_LINE("10", "21504.3", "20992.1", "20992.1", "209920")),
     SF,
     "sample_factory_fps_10s_max=21504.3;sample_factory_fps_10s_last=21504.3;"
     "sample_factory_fps_60s_max=20992.1;sample_factory_fps_60s_last=20992.1;"
     "sample_factory_fps_300s_max=20992.1;sample_factory_fps_300s_last=20992.1;"
     "sample_factory_total_frames=209920;~sample_factory_fps_10s\": 1 match skipped;"
     "~not a finite number;~first on line 1"},
    /* colorlog colours the whole record */
    {L(E "[36m" SF_LINE("15", "19000.5", "20500.0", "20800.9", "307200") E
       "[0m" E "[36m[2023-05-01 10:00:20,123][01234] Fps is (10 sec: " E "[1m18000.0" E
       "[0m, 60 sec: "
       "20000.0, 300 sec: 20700.0). Total num frames: 409600. Throughput: 0: 18000.0. Samples: "
       "409600. Policy #0 lag: (min: 0.0, avg: 1.0, max: 2.0)" E "[0m\r\n"),
     SF,
     "sample_factory_fps_10s_max=19000.5;sample_factory_fps_10s_last=18000;"
     "sample_factory_fps_60s_max=20500;sample_factory_fps_60s_last=20000;"
     "sample_factory_fps_300s_max=20800.9;sample_factory_fps_300s_last=20700;"
     "sample_factory_total_frames=409600"},
    {L(SF_LINE("00", "nan", "nan", "nan", "0")), SF,
     "sample_factory_total_frames=0;~not a finite number;!sample_factory_fps_10s_max;"
     "!sample_factory_fps_10s_last;!sample_factory_fps_60s_max;!sample_factory_fps_60s_last;"
     "!sample_factory_fps_300s_max;!sample_factory_fps_300s_last"},
    {L(SF_LINE("05", "20480.0", "20480.0", "20480.0", "102400")), NULL, ""},
    /* ---- rl_games ---- */
    {L("fps step: 24312 fps step and policy inference: 20110 fps total: 15233 epoch: 1/500 "
       "frames: 0\n"
       "fps step: 25800 fps step and policy inference: 21012 fps total: 16002 epoch: 2/500 "
       "frames: 32768\n"
       "fps step: 25102 fps step and policy inference: 20500 fps total: 15800 epoch: 3/500 "
       "frames: 65536\n"),
     RLG,
     "rl_games_fps_step_max=25800;rl_games_fps_step_last=25102;"
     "rl_games_fps_step_inference_max=21012;rl_games_fps_step_inference_last=20500;"
     "rl_games_fps_total_max=16002;rl_games_fps_total_last=15800"},
    /* older releases: one decimal and two spaces before "fps total" */
    {L("fps step: 24312.5 fps step and policy inference: 20110.2  fps total: 15233.9\n"), RLG,
     "rl_games_fps_step_max=24312.5;rl_games_fps_step_last=24312.5;"
     "rl_games_fps_step_inference_max=20110.2;rl_games_fps_step_inference_last=20110.2;"
     "rl_games_fps_total_max=15233.9;rl_games_fps_total_last=15233.9"},
    {L("=> saving checkpoint 'runs/Ant/nn/last_Ant_ep_100_rew_4000.2'\n"
       "fps step: 98304 fps step and policy inference: 81920 fps total: 65536 epoch: 100/500 "
       "frames: 3244032\r\n"
       "fps step: inf fps step and policy inference: 81000 fps total: 65000 epoch: 101/500 "
       "frames: 3276800\n"),
     RLG,
     "rl_games_fps_step_max=98304;rl_games_fps_step_inference_max=81920;"
     "rl_games_fps_step_inference_last=81000;rl_games_fps_total_max=65536;"
     "rl_games_fps_total_last=65000;~rl_games_fps_step\": 1 match skipped;~not a finite number;"
     "~rl_games_fps_step_last is not posted;!rl_games_fps_step_last"},
    {L("fps step: 24312 fps step and policy inference: 20110 fps total: 15233 epoch: 1/500 "
       "frames: 0\n"),
     NULL, ""},
    /* ---- rllib ---- */
    {L("agent_timesteps_total: 4000\ncounters:\n  num_env_steps_sampled: 4000\n"
       "  num_env_steps_trained: 4000\nnum_env_steps_sampled_this_iter: 4000\n"
       "num_env_steps_sampled_throughput_per_sec: 781.2345\ntimers:\n"
       "  learn_throughput: 1234.567\n  learn_time_ms: 3240.1\n  sample_throughput: 2480.123\n"
       "  sample_time_ms: 1612.8\n"),
     RLLIB,
     "rllib_sample_throughput_max=2480.123;rllib_sample_throughput_last=2480.123;"
     "rllib_env_steps_sampled_per_s_max=781.2345;rllib_env_steps_sampled_per_s_last=781.2345"},
    {L("{'episode_reward_mean': 21.3, 'timers': {'training_iteration_time_ms': 5123.4, "
       "'sample_time_ms': 1612.8, 'sample_throughput': 2480.1, 'learn_time_ms': 3240.1, "
       "'learn_throughput': 1234.5}, 'num_env_steps_sampled_throughput_per_sec': 780.5}\n"
       "{'timers': {'sample_throughput': 2600.0}, "
       "'num_env_steps_sampled_throughput_per_sec': 800.25}\n"),
     RLLIB,
     "rllib_sample_throughput_max=2600;rllib_sample_throughput_last=2600;"
     "rllib_env_steps_sampled_per_s_max=800.25;rllib_env_steps_sampled_per_s_last=800.25"},
    {L("{\"timers\": {\"sample_throughput\": 2480.123, \"learn_throughput\": 1234.5}, "
       "\"num_env_steps_sampled_throughput_per_sec\": 781.5}\n"
       "num_env_steps_sampled_throughput_per_sec: .nan\n"),
     RLLIB,
     "rllib_sample_throughput_max=2480.123;rllib_sample_throughput_last=2480.123;"
     "rllib_env_steps_sampled_per_s_max=781.5;~not a finite number;~line 2;"
     "~rllib_env_steps_sampled_per_s_last is not posted;!rllib_env_steps_sampled_per_s_last"},
    /* ray's driver colours the trial lines */
    {L(E "[36m(PPO pid=4242)" E "[0m   sample_throughput: 1,234.5\n"), RLLIB,
     "rllib_sample_throughput_max=1234.5;rllib_sample_throughput_last=1234.5"},
    /* ---- hf_trainer ---- */
    {L("{'loss': 0.6931, 'grad_norm': 1.234, 'learning_rate': 4.5e-05, 'epoch': 0.33}\n"
       "{'loss': 0.5102, 'grad_norm': 0.98, 'learning_rate': 3e-05, 'epoch': 0.67}\n"
       "{'eval_loss': 0.5123, 'eval_accuracy': 0.81, 'eval_runtime': 1.2345, "
       "'eval_samples_per_second': 810.2, 'eval_steps_per_second': 101.3, 'epoch': 1.0}\n"
       "{'train_runtime': 60.123, 'train_samples_per_second': 133.1, "
       "'train_steps_per_second': 16.64, 'train_loss': 0.5987, 'epoch': 3.0}\n"),
     HF,
     "hf_loss_min=0.5102;hf_loss_last=0.5102;hf_eval_loss=0.5123;hf_epoch=3;"
     "hf_train_samples_per_second=133.1;hf_train_steps_per_second=16.64;hf_train_loss=0.5987"},
    /* newer releases quote the numbers */
    {L("{'loss': '0.6931', 'grad_norm': '1.234', 'learning_rate': '4.5e-05', 'epoch': '0.33'}\n"),
     HF, "hf_loss_min=0.6931;hf_loss_last=0.6931;hf_epoch=0.33"},
    /* fp16 overflow: a nan loss is the last one, never the earlier value */
    {L("{'loss': 0.25, 'learning_rate': 5e-05, 'epoch': 1.0}\n"
       "{'loss': nan, 'grad_norm': nan, 'learning_rate': 5e-05, 'epoch': 2.0}\n"),
     HF,
     "hf_loss_min=0.25;hf_epoch=2;~hf_loss\": 1 match skipped;~not a finite number;~line 2;"
     "~hf_loss_last is not posted;!hf_loss_last"},
    /* tqdm.write() under the bar: \r, the bar, \r, then the dict */
    {L(" 33%|\xe2\x96\x88\xe2\x96\x88\xe2\x96\x88\xe2\x96\x8e      | 500/1500 [00:30<01:00, "
       "16.52it/s]\r                                                  \r"
       "{'loss': 0.45, 'grad_norm': 0.8, 'learning_rate': 2e-05, 'epoch': 1.0}\n"
       " 33%|\xe2\x96\x88\xe2\x96\x88\xe2\x96\x88\xe2\x96\x8e      | 501/1500 [00:30<01:00, "
       "16.60it/s]\r 34%|\xe2\x96\x88\xe2\x96\x88\xe2\x96\x88\xe2\x96\x8d      | 510/1500 "
       "[00:31<00:59, 16.70it/s]\r"),
     HF_TQDM,
     "hf_loss_min=0.45;hf_loss_last=0.45;hf_epoch=1;tqdm_it_per_s_max=16.7;"
     "tqdm_it_per_s_last=16.7"},
    {L("{'loss': 0.6931, 'grad_norm': 1.234, 'learning_rate': 4.5e-05, 'epoch': 0.33}\n"), NULL,
     ""},
    /* ---- tqdm ---- */
    {L("  0%|          | 0/1000 [00:00<?, ?it/s]\r 10%|" BAR1 "         | 100/1000 "
       "[00:01<00:09, 98.76it/s]\r 20%|" BAR1 BAR1 "        | 200/1000 [00:02<00:08, 99.12it/s]"
       "\r100%|" BAR10 "| 1000/1000 [00:10<00:00, 97.50it/s]\n"),
     TQDM, "tqdm_it_per_s_max=99.12;tqdm_it_per_s_last=97.5"},
    /* slow loops: s/it is converted to it/s, so a bar that slows down is not stale */
    {L(" 10%|" BAR1 "         | 100/1000 [00:01<00:09, 98.76it/s]\r 10%|" BAR1 "         | "
       "101/1000 [00:04<40:00,  2.50s/it]\r 10%|" BAR1 "         | 102/1000 [00:08<60:00,  "
       "4.00s/it]\n"),
     TQDM, "tqdm_it_per_s_max=98.76;tqdm_it_per_s_last=0.25"},
    {L("  1%|          | 1/100 [00:01<02:04,  1.25s/it]\n"), TQDM,
     "tqdm_it_per_s_max=0.8;tqdm_it_per_s_last=0.8"},
    /* unit_scale, Lightning's TQDM bar with its postfix, colour= on the bar */
    {L("100%|" BAR10 "| 1.00M/1.00M [00:05<00:00, 198kit/s]\n"), TQDM,
     "tqdm_it_per_s_max=198000;tqdm_it_per_s_last=198000"},
    {L("Epoch 0:  50%|" E "[32m" BAR10 E "[39m     | 500/1000 [00:05<00:05, 98.76it/s, v_num=0, "
       "train_loss=0.512]\rEpoch 0: 100%|" E "[32m" BAR10 E "[39m| 1000/1000 [00:10<00:00, "
       "99.01it/s, v_num=0, train_loss=0.498]\n"),
     TQDM, "tqdm_it_per_s_max=99.01;tqdm_it_per_s_last=99.01"},
    /* Lightning's RichProgressBar and tqdm.rich (a space, a comma, K for thousands) */
    {L(E "[37mEpoch 1/9" E "[0m " E "[38;2;98;6;224m" RICH E "[0m " E "[37m1000/1000" E "[0m " E
         "[38;5;245m0:00:10 " DOT " 0:00:00" E "[0m " E "[38;5;249m98.76it/s" E "[0m " E
         "[37mv_num: 0" E "[0m\r\n"),
     TQDM, "tqdm_it_per_s_max=98.76;tqdm_it_per_s_last=98.76"},
    {L(E "[35m 20%" E "[0m " RICH " 4,096/20,000 [ 0:00:02 < 0:00:09 , 1,398.2 it/s ]\r" E
         "[35m 30%" E "[0m " RICH " 6,144/20,000 [ 0:00:03 < 0:00:08 , 1.4 Kit/s ]\r\n"),
     TQDM, "tqdm_it_per_s_max=1400;tqdm_it_per_s_last=1400"},
    /* the default patterns still read the bar's SPS postfix: two keys, each for what it counts */
    {L(" 10%|#         | 1/10 [00:01<00:09, 950.00it/s, SPS=31000]\n"), TQDM,
     "sps_max=31000;sps_last=31000;tqdm_it_per_s_max=950;tqdm_it_per_s_last=950"},
    {L(" 10%|#         | 1/10 [00:01<00:09, 950.00it/s]\n 10%|#         | 1/10 [00:01<00:09, "
       "1.20Tit/s]\n"),
     TQDM_ONLY,
     "tqdm_it_per_s_max=950;~unknown unit;~tqdm_it_per_s_last is not posted;!tqdm_it_per_s_last"},
    {L(" 10%|#         | 1/10 [00:01<00:09, 950.00it/s]\n"), NULL, ""},
};

#define N_CASES (sizeof(cases) / sizeof(cases[0]))

static void test_plugins_metrics_regex_presets__every_case_at_every_chunking(void **state)
{
    (void)state;
    run_cases(cases, N_CASES);
}

/* ---- keys() ---------------------------------------------------------------------------------- */

struct keyset {
    char *v[256];
    size_t n;
};

static void keyset_add(void *payload, const char *key)
{
    struct keyset *ks = payload;
    assert_true(ks->n < 256);
    ks->v[ks->n] = strdup(key);
    assert_non_null(ks->v[ks->n]);
    ks->n++;
}

static int keyset_has(const struct keyset *ks, const char *key)
{
    for (size_t i = 0; i < ks->n; i++)
        if (strcmp(ks->v[i], key) == 0)
            return 1;
    return 0;
}

static void keyset_free(struct keyset *ks)
{
    for (size_t i = 0; i < ks->n; i++)
        free(ks->v[i]);
    ks->n = 0;
}

/* keys() lists each key once, and exactly the keys open() gave its patterns. */
static void keys_match_open(const char *conf, struct keyset *ks)
{
    struct runner r;
    runner_open(&r, conf);
    memset(ks, 0, sizeof(*ks));
    assert_int_equal(r.pl->metrics->keys(&r.conf, keyset_add, ks), 0);
    const struct metrics_regex *inst = r.inst;
    size_t n_open = 0;
    for (size_t i = 0; i < inst->n_pats; i++)
        for (size_t k = 0; k < inst->pats[i].n_out; k++) {
            n_open++;
            if (!keyset_has(ks, inst->pats[i].keys[k]))
                fail_msg("conf %s: open() posts %s but keys() does not list it", conf,
                         inst->pats[i].keys[k]);
        }
    for (size_t i = 0; i < ks->n; i++)
        for (size_t j = 0; j < i; j++)
            if (strcmp(ks->v[i], ks->v[j]) == 0)
                fail_msg("conf %s: keys() lists %s twice", conf, ks->v[i]);
    if (n_open != ks->n)
        fail_msg("conf %s: keys() lists %zu keys, open() posts %zu", conf, ks->n, n_open);
    runner_close(&r);
}

static void test_plugins_metrics_regex_presets__keys_declare_every_preset_key(void **state)
{
    (void)state;
    static const char *const want[] = {"sb3_fps_max",
                                       "sb3_fps_last",
                                       "sb3_table_success_rate",
                                       "sb3_eval_success_rate",
                                       "sb3_eval_mean_reward",
                                       "sample_factory_fps_10s_max",
                                       "sample_factory_fps_10s_last",
                                       "sample_factory_fps_60s_max",
                                       "sample_factory_fps_60s_last",
                                       "sample_factory_fps_300s_max",
                                       "sample_factory_fps_300s_last",
                                       "sample_factory_total_frames",
                                       "rl_games_fps_step_max",
                                       "rl_games_fps_step_last",
                                       "rl_games_fps_step_inference_max",
                                       "rl_games_fps_step_inference_last",
                                       "rl_games_fps_total_max",
                                       "rl_games_fps_total_last",
                                       "rllib_sample_throughput_max",
                                       "rllib_sample_throughput_last",
                                       "rllib_env_steps_sampled_per_s_max",
                                       "rllib_env_steps_sampled_per_s_last",
                                       "hf_loss_min",
                                       "hf_loss_last",
                                       "hf_eval_loss",
                                       "hf_train_loss",
                                       "hf_epoch",
                                       "hf_train_samples_per_second",
                                       "hf_train_steps_per_second",
                                       "tqdm_it_per_s_max",
                                       "tqdm_it_per_s_last",
                                       "sps_max",
                                       "sps_last",
                                       "eval_success_rate",
                                       "exit_code",
                                       "termination_reason",
                                       "restart_count",
                                       NULL};
    struct keyset ks;
    keys_match_open("presets = [\"sb3\", \"sample_factory\", \"rl_games\", \"rllib\", "
                    "\"hf_trainer\", \"tqdm\"];",
                    &ks);
    for (size_t i = 0; want[i] != NULL; i++)
        if (!keyset_has(&ks, want[i]))
            fail_msg("keys() does not list %s", want[i]);
    size_t n_want = 0;
    while (want[n_want] != NULL)
        n_want++;
    assert_int_equal(ks.n, n_want);
    keyset_free(&ks);

    /* each preset alone, without the defaults: only its keys */
    for (size_t p = 0; p < MR_N_PRESETS; p++) {
        char conf[128];
        snprintf(conf, sizeof(conf), "defaults = false; presets = [\"%s\"];",
                 metrics_regex_presets[p].name);
        keys_match_open(conf, &ks);
        assert_true(ks.n > 0);
        for (size_t i = 0; i < ks.n; i++)
            if (strncmp(ks.v[i], metrics_regex_presets[p].name,
                        strlen(metrics_regex_presets[p].name)) != 0 &&
                !(strcmp(metrics_regex_presets[p].name, "hf_trainer") == 0 &&
                  strncmp(ks.v[i], "hf_", 3) == 0))
                fail_msg("preset %s declares %s", metrics_regex_presets[p].name, ks.v[i]);
        for (size_t i = 0; i < ks.n; i++)
            assert_true(strncmp(ks.v[i], "sps", 3) != 0 && strcmp(ks.v[i], "eval_success_rate"));
        keyset_free(&ks);
    }

    /* a plan pattern named like a preset pattern replaces it, in keys() as in open() */
    keys_match_open("presets = [\"sb3\", \"tqdm\"]; patterns = ( { name = \"sb3_fps\"; "
                    "regex = \"fps=(\\\\d+)\"; reducers = \"max\"; }, { name = \"tqdm_it_per_s\"; "
                    "regex = \"(\\\\d+) it\"; metric = \"iters\"; } );",
                    &ks);
    assert_true(keyset_has(&ks, "sb3_fps_max"));
    assert_false(keyset_has(&ks, "sb3_fps_last"));
    assert_true(keyset_has(&ks, "iters"));
    assert_false(keyset_has(&ks, "tqdm_it_per_s_max"));
    assert_false(keyset_has(&ks, "tqdm_it_per_s_last"));
    keyset_free(&ks);
}

/* The host checks no list of choices: open() refuses an unknown or repeated preset, and a plan
 * pattern posting a preset's key, naming the preset. */
static void expect_open_fails(const char *conf, const char *msg)
{
    mock_host m;
    const relhost_plugin *pl = NULL;
    struct metrics_regex_conf c;
    optstore *st = NULL;
    void *inst = NULL;
    memset(&c, 0, sizeof(c));
    mock_host_init(&m);
    assert_int_equal(relhost_plugin_entry(&m.host, &pl), 0);
    if (options_fill_text(pl, &c, conf, &st) != 0)
        fail_msg("conf %s: %s", conf, error_last());
    assert_int_equal(pl->metrics->open(&m.ctx, &c, &inst), RELHOST_EINVAL);
    assert_null(inst);
    const char *why = mock_host_last_fail(&m);
    if (why == NULL || strstr(why, msg) == NULL)
        fail_msg("conf %s: failure \"%s\" does not say \"%s\"", conf, why ? why : "(none)", msg);
    optstore_free(st);
    mock_host_free(&m);
}

static void test_plugins_metrics_regex_presets__bad_preset_lists_are_refused(void **state)
{
    (void)state;
    expect_open_fails("presets = [\"stable_baselines\"];", "unknown preset \"stable_baselines\"");
    expect_open_fails("presets = [\"tqdm\", \"tqdm\"];", "\"tqdm\" is listed twice");
    expect_open_fails(
        "presets = [\"sb3\"]; patterns = ( { name = \"evals\"; regex = \"e=(\\\\d)\"; "
        "metric = \"sb3_eval_success_rate\"; } );",
        "preset \"sb3\"");
    expect_open_fails("defaults = false; presets = [];", "add presets or patterns");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_plugins_metrics_regex_presets__every_case_at_every_chunking),
        cmocka_unit_test(test_plugins_metrics_regex_presets__keys_declare_every_preset_key),
        cmocka_unit_test(test_plugins_metrics_regex_presets__bad_preset_lists_are_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
