/* SPDX-License-Identifier: MIT */
/*
 * metrics_regex's pattern tables: the default patterns every source reads and the format presets
 * a plan may switch on. Data only: compile.c turns each row into a compiled pattern.
 */
#include <math.h>
#include <string.h>

#include "metrics_regex_int.h"

/* ---- Default patterns ------------------------------------------------------------------------ */

/*
 * What real training logs print (DESIGN.md "Default metrics"). They agree with the seed's regexes
 * (\bSPS[:=]\s*(\d+(?:\.\d+)?) and \beval[_\s-]?success[_\s-]?rate[:=]\s*(0?\.\d+|1(?:\.0)?))
 * wherever those were right, and fix where they misread: "SPS: 31,000" is 31000 (not 31), the
 * value-first forms "87.75 ksps", "950 sps", "1.23 Msps", "87,750 SPS" are read with their unit,
 * "1.5e4" is 15000 (never 1.5), an eval rate of 1.5 is no match (not 1.0), and a number is never
 * taken from the next line (we match lines, the seed's \s crossed newlines).
 *
 * A number: thousands-grouped, plain with optional fraction and exponent, or a bare fraction,
 * atomic so that a longer number is never backtracked into a shorter one ("1.5e4" into 1.5) and
 * the many numbers on a metric line that are not SPS fail fast. The guard after a label-first
 * number refuses to cut a longer number short ("31,0000", "1.5.3"); a value-first number must
 * not be followed by a label ("step 12 SPS: 31000" is 31000, not 12). Every form captures the
 * whole value token where a value is expected, so that the grammar refuses what is not a number.
 */
#define MR_NUMBODY \
    "(?>\\d{1,3}+(?:,\\d{3})+(?:\\.\\d+)?|\\d+(?:\\.\\d+)?(?:[eE][+-]?\\d+)?|\\.\\d+(?:[eE][+-]?\\d+)?)"
#define MR_NUM "(?<value>[+-]?" MR_NUMBODY ")"
#define MR_NUMPCT "(?<value>[+-]?" MR_NUMBODY "%?)"
#define MR_GUARD "(?![\\d.,]?\\d)"
/* A number is read only when it ends at a token boundary (a space, the line's end, closing
 * punctuation) and is not the first half of a ratio ("1 / 40"); otherwise the whole token is
 * captured below and the grammar refuses it ("1/40", "1e-", "2k5", "1.5kk"): never a prefix. */
#define MR_END "(?=[\\s,;|)\\]}'\"]|$)(?!\\s*/\\s*[+-]?\\.?\\d)"
/* A byte of a value token: anything but a space or a delimiter. */
#define MR_TC "[^\\s;|)}\\]'\"]"
/* After "SPS:" or "eval_success_rate:", whatever stands where the value should be is captured,
 * so that it is refused with a note (nan, 31,0000, a Unicode minus, nothing at all, a ratio)
 * rather than silently skipped; a quoted value ({'sps': 'nan'}) is read inside its quotes. */
#define MR_BAD \
    "['\"](?<value>[^'\"]*)['\"]|(?<value>" MR_TC "*(?:\\s*/\\s*[+-]?\\.?\\d" MR_TC "*)?)"
/* The start of a value token where no separator announces one ("SPS   nan", "nan ksps"): a
 * digit, a sign, a dot, a non-ASCII minus, or a word that stands for no number. Anything else
 * ("SPS per env", "computing sps") is prose, not a value. */
#define MR_UMINUS                                                                              \
    "\\xe2\\x88\\x92|\\xe2\\x80[\\x90-\\x95]|\\xe2\\x81\\xbb|\\xe2\\x82\\x8b|\\xef\\xb9\\xa3|" \
    "\\xef\\xbc\\x8d"
#define MR_TSTART \
    "(?=[+\\-.\\d]|" MR_UMINUS "|(?:[+-]?(?:nan|inf(?:inity)?)|n/a|none|null)(?![a-z]))"
/* A value token before its unit word; it may not end with - _ . / ("--min-sps" is an option).
 * Possessive, up to the unit word: no backtracking through a token that is not followed by one. */
/* Its first byte is consumed by a class, not tested by a lookahead, so that PCRE2 knows which
 * bytes can start a match and skips the others without trying the alternatives there. */
#define MR_VFIRST                                                                                      \
    "(?:[+\\-\\d]|\\.(?![\\s;|)}\\]'\"])|\\xe2(?=\\x88\\x92|\\x80[\\x90-\\x95]|\\x81\\xbb|\\x82\\x8b)" \
    "|\\xef(?=\\xb9\\xa3|\\xbc\\x8d)|n(?=an(?![a-z])|/a|one(?![a-z])|ull(?![a-z]))"                    \
    "|i(?=nf(?:inity)?(?![a-z])))"
#define MR_VTOK(unit_word) \
    "(?<value>" MR_VFIRST "(?:(?!(?:[kmgb]\\s*+)?" unit_word ")" MR_TC ")*+(?<![_./-])|-)"
/* Where a value-first token may start: the line's start, a space, an opening delimiter. */
#define MR_VLEFT "(?<![^\\s|(\\[{:=,;'\"\\x80-\\xff])"
/* A metric name is not preceded by a word byte or by - . / (an option, a path, a field). */
#define MR_NAME "(?<![\\w./-])"
#define MR_UNIT "(?:(?<unit>[kmgb])(?:sps)?\\b|\\s*(?<unit>[kmgb])sps\\b)?"
/* The remnant of a colour code whose ESC was lost ("[38;5;2mSPS[0m: 2000"): its digits and
 * "m" must not read as "2 Msps". A remnant touching the name or the value token is captured
 * as the value, and so refused: before the name, right after it, or inside a value-first token. */
#define MR_SGR "\\[[0-9;]*m"
#define MR_SGR_VAL(unit_word) "(?<value>" MR_SGR "\\S*?)\\s*+(?:[kmgb]\\s*+)?" unit_word
/* The name once, then its three forms (a lost colour code, a separator, spaces); the remnant
 * before a value-first token last: these forms cannot match at one start, so their order only
 * decides how fast a start that matches none of them is given up. */
#define MR_SPS_REGEX                                                                      \
    MR_NAME "SPS(?:(?<value>" MR_SGR ")['\"]?\\s*[:=]"                                    \
            "|['\"]?\\s*[:=]\\s*(?:" MR_NUM MR_GUARD MR_UNIT MR_END "|" MR_BAD ")"        \
            "|\\s+(?:" MR_NUM MR_GUARD MR_UNIT MR_END "|(?<value>" MR_TSTART MR_TC "+)))" \
            "|" MR_VLEFT MR_VTOK("sps\\b") "\\s*+(?:(?<unit>[kmgb])\\s*+)?sps\\b"         \
                                           "(?!['\"]?\\s*[:=]|\\s+" MR_TSTART             \
                                           ")|" MR_SGR_VAL("sps\\b")
#define MR_STEPS_REGEX                      \
    MR_SGR_VAL("steps/s(?:ec(?:ond)?)?\\b") \
    "|" MR_VLEFT MR_VTOK("steps/s") "\\s*+(?:(?<unit>[kmgb])\\s*+)?steps/s(?:ec(?:ond)?)?\\b"
#define MR_EVAL_NAME "eval[_\\s-]?success[_\\s-]?rate"
#define MR_EVAL_REGEX                                                                            \
    "(?<value>" MR_SGR ")" MR_EVAL_NAME "|" MR_NAME MR_EVAL_NAME "(?<value>" MR_SGR              \
    ")['\"]?\\s*[:=]"                                                                            \
    "|" MR_NAME "eval[_\\s-]?success[_\\s-]?rate['\"]?\\s*[:=]\\s*(?:" MR_NUMPCT MR_GUARD MR_END \
    "|" MR_BAD ")"                                                                               \
    "|" MR_NAME "total\\s+\\d+\\s+evals?\\s+(?<value>\\S+?)\\s*successful\\b"                    \
    "|" MR_NAME "successes\\s*:\\s*\\d+\\s*/\\s*\\d+\\s*\\((?<value>[^)]*)\\)"

/* What may stand between a match's start and its literal: a value token, spaces and a unit
 * before "sps" (a lead holding a space also takes the value token before it: see scan.c);
 * nothing before "[SUMMARY]" or "SPS:". The eval forms have none: "total 0 evals nan%
 * successful" holds words and a token before its literal, so its search starts at the line. */
#define MR_WS " \t\v\f\r"
#define MR_SPS_LEAD "0123456789.,eE+-kKmMgGbB" MR_WS

const struct mr_default metrics_regex_defaults[] = {
    {"sps",
     MR_SPS_REGEX,
     NULL,
     "sps",
     MR_SPS_LEAD,
     {"max", "last", NULL},
     0,
     0,
     0,
     0,
     HUGE_VAL,
     0,
     0,
     MR_FAST_SPS},
    {"eval_success_rate",
     MR_EVAL_REGEX,
     "eval_success_rate",
     "success",
     NULL,
     {"last", NULL},
     0,
     0,
     0,
     0,
     1,
     0,
     0,
     MR_FAST_EVAL},
    /* The seed's runner took the FIRST marker and so reported a restarted job's failed attempt. */
    {"exit_code",
     "\\[SUMMARY\\] Exit code:[ \\t]*(\\S*)",
     RELHOST_METRIC_EXIT_CODE,
     "[summary]",
     "",
     {"last", NULL},
     0,
     1,
     0,
     -255,
     255,
     1,
     1,
     0},
    {"termination_reason",
     "\\[SUMMARY\\] Termination reason:[ \\t]*([\\w.-]+)",
     RELHOST_LABEL_TERMINATION_REASON,
     "[summary]",
     "",
     {"last", NULL},
     1,
     1,
     0,
     0,
     0,
     0,
     2,
     0},
    {"restart_count",
     "\\[SUMMARY\\] Restart Count:[ \\t]*(\\S*)",
     RELHOST_METRIC_RESTART_COUNT,
     "[summary]",
     "",
     {"last", NULL},
     0,
     1,
     0,
     0,
     1e6,
     1,
     3,
     0},
    /* The seed trainer's older "87750 steps/sec": more samples of sps (no "sps" literal in it). */
    {"sps",
     MR_STEPS_REGEX,
     NULL,
     "steps/s",
     MR_SPS_LEAD,
     {"max", "last", NULL},
     0,
     0,
     1,
     0,
     HUGE_VAL,
     0,
     0,
     0},
};

const size_t mr_n_defaults = sizeof(metrics_regex_defaults) / sizeof(metrics_regex_defaults[0]);

/* ---- Format presets -------------------------------------------------------------------------- */

/*
 * Pattern sets for other trainers' output, switched on per source with `presets = [...]` (the
 * README's "Format presets"). Each row is data for the same engine as the defaults and plan
 * patterns: one number grammar, ranges, refusals, notes. Every row posts its own key, named for
 * what its number counts; none posts sps_*, eval_success_rate or another default's key, because
 * a trainer's "fps" is not always env steps per second. `counts` says what each number is, from
 * the trainer's own code; the README's table repeats it.
 *
 * A value is captured as a whole token (MR_TOK: anything up to a space or a delimiter, with
 * a comma only inside a number) and read by the grammar, so "nan", "1,2345" or a Unicode minus
 * is refused with a note instead of cut short into a wrong number or silently skipped.
 */
#define MR_TOK "(?<value>(?:[^\\s,;|(){}\\[\\]'\"<>]|,(?=\\d))+)"
/* a Python dict, JSON or YAML key of a result: 'key': v, "key": v, key: v, key=v */
#define MR_DKEY(k) "(?<!\\w)" k "['\"]?\\s*[:=]\\s*['\"]?" MR_TOK
/* an SB3 table row: "|    fps             | 1234     |" */
#define MR_SB3_ROW(k) "^\\s*\\|\\s+" k "\\s*\\|\\s*" MR_TOK "\\s*\\|"
/* a tqdm rate: 98.76it/s, 198kit/s (unit_scale), 2.50s/it (an iteration over 1 s), and
 * tqdm.rich's "1,398.2 it/s" / "1.4 Kit/s" */
#define MR_TQDM_NUM "(?<![\\w.,+-])(?<value>\\d[\\d.,]*(?:[eE][+-]?\\d+)?) ?(?<unit>[kKMGTPEZY])?"

/* Stable-Baselines3: HumanOutputFormat's table (keys sorted, "time/" then "   fps"; floats as
 * %-8.3g, ints as str) and EvalCallback's verbose prints. fps is
 * int((num_timesteps - num_timesteps_at_start) / time_elapsed), num_timesteps growing by n_envs
 * per vectorised step. */
static const struct mr_preset_row mr_preset_sb3[] = {
    {.name = "sb3_fps",
     .regex = MR_SB3_ROW("fps"),
     .prefilter = "fps",
     .reducers = {"max", "last"},
     .lo = 0,
     .hi = HUGE_VAL,
     .counts = "env steps per second summed over all envs, averaged since learn() began "
               "(SB3's num_timesteps / time_elapsed; an Atari step with frame_skip 4 is 4 frames)"},
    {.name = "sb3_table_success_rate",
     .regex = MR_SB3_ROW("success_rate"),
     .metric = "sb3_table_success_rate",
     .prefilter = "success_rate",
     .reducers = {"last"},
     .lo = 0,
     .hi = 1,
     .counts = "fraction of episodes with info[\"is_success\"], from the table's last "
               "success_rate row: eval/ (EvalCallback) or rollout/ (off-policy algorithms) alike, "
               "since a row does not name its section"},
    {.name = "sb3_eval_success_rate",
     .regex = "^\\s*Success rate:\\s*" MR_TOK,
     .metric = "sb3_eval_success_rate",
     .prefilter = "Success rate:",
     .reducers = {"last"},
     .lo = 0,
     .hi = 1,
     .counts = "fraction of EvalCallback's evaluation episodes that succeeded (its \"Success "
               "rate: 90.00%\" line, verbose >= 1; the eval/success_rate value)"},
    {.name = "sb3_eval_mean_reward",
     .regex = "^\\s*Eval num_timesteps=\\d+, episode_reward=" MR_TOK,
     .metric = "sb3_eval_mean_reward",
     .prefilter = "Eval num_timesteps=",
     .reducers = {"last"},
     .lo = -HUGE_VAL,
     .hi = HUGE_VAL,
     .counts = "mean episode return of EvalCallback's last evaluation"},
};

/* Sample Factory: the runner's "Fps is (10 sec: %.1f, 60 sec: %.1f, 300 sec: %.1f). Total num
 * frames: %d. ..." (nan until a window has data: refused with a note). Frames count env frames
 * with env_frameskip applied, over all policies and workers. */
#define MR_SF_FPS "\\bFps is \\(10 sec:"
static const struct mr_preset_row mr_preset_sample_factory[] = {
    {.name = "sample_factory_fps_10s",
     .regex = MR_SF_FPS "\\s*" MR_TOK,
     .prefilter = "Fps is (",
     .reducers = {"max", "last"},
     .lo = 0,
     .hi = HUGE_VAL,
     .counts = "env frames per second over the last 10 s, frameskip included (an agent step "
               "with env_frameskip 4 is 4 frames), all policies"},
    {.name = "sample_factory_fps_60s",
     .regex = MR_SF_FPS "[^)]*?\\b60 sec:\\s*" MR_TOK,
     .prefilter = "Fps is (",
     .reducers = {"max", "last"},
     .lo = 0,
     .hi = HUGE_VAL,
     .counts = "env frames per second over the last 60 s, frameskip included"},
    {.name = "sample_factory_fps_300s",
     .regex = MR_SF_FPS "[^)]*?\\b300 sec:\\s*" MR_TOK,
     .prefilter = "Fps is (",
     .reducers = {"max", "last"},
     .lo = 0,
     .hi = HUGE_VAL,
     .counts = "env frames per second over the last 300 s, frameskip included"},
    {.name = "sample_factory_total_frames",
     .regex = MR_SF_FPS "[^)]*\\)\\.\\s*Total num frames:\\s*" MR_TOK,
     .metric = "sample_factory_total_frames",
     .prefilter = "Fps is (",
     .reducers = {"last"},
     .lo = 0,
     .hi = HUGE_VAL,
     .integer = 1,
     .counts = "env frames collected so far, frameskip included"},
};

/* rl_games: a2c_common's "fps step: %.0f fps step and policy inference: %.0f fps total: %.0f
 * epoch: %d/%d frames: %d". Its frames are horizon_length x num_actors per epoch: one per env
 * step of each actor, no frameskip applied. */
static const struct mr_preset_row mr_preset_rl_games[] = {
    {.name = "rl_games_fps_step",
     .regex = "\\bfps step:\\s*" MR_TOK,
     .prefilter = "fps step:",
     .reducers = {"max", "last"},
     .lo = 0,
     .hi = HUGE_VAL,
     .counts = "env steps per second of all actors during env stepping only (rl_games' frames "
               "are env steps; no frameskip)"},
    {.name = "rl_games_fps_step_inference",
     .regex = "\\bfps step and policy inference:\\s*" MR_TOK,
     .prefilter = "fps step and policy inference:",
     .reducers = {"max", "last"},
     .lo = 0,
     .hi = HUGE_VAL,
     .counts = "env steps per second of all actors, stepping plus inference"},
    {.name = "rl_games_fps_total",
     .regex = "\\bfps total:\\s*" MR_TOK,
     .prefilter = "fps total:",
     .reducers = {"max", "last"},
     .lo = 0,
     .hi = HUGE_VAL,
     .counts = "env steps per second of all actors over the whole epoch, training included"},
};

/* RLlib: result dicts printed by pretty_print (YAML), print(result) (a dict) or as JSON. */
static const struct mr_preset_row mr_preset_rllib[] = {
    {.name = "rllib_sample_throughput",
     .regex = MR_DKEY("sample_throughput"),
     .prefilter = "sample_throughput",
     .reducers = {"max", "last"},
     .lo = 0,
     .hi = HUGE_VAL,
     .counts = "steps sampled per second of sampling time (timers.sample_throughput; env steps, "
               "or agent steps with count_steps_by=agent_steps); training time not included"},
    {.name = "rllib_env_steps_sampled_per_s",
     .regex = MR_DKEY("num_env_steps_sampled_throughput_per_sec"),
     .prefilter = "num_env_steps_sampled_throughput_per_sec",
     .reducers = {"max", "last"},
     .lo = 0,
     .hi = HUGE_VAL,
     .counts = "env steps sampled per second of the iteration's wall time "
               "(num_env_steps_sampled_throughput_per_sec)"},
};

/* Hugging Face Trainer: ProgressCallback's str(logs) ({'loss': 0.5, ...}; some versions quote
 * the numbers) and the final {'train_runtime': ..., 'train_samples_per_second': ...}. */
static const struct mr_preset_row mr_preset_hf_trainer[] = {
    {.name = "hf_loss",
     .regex = MR_DKEY("['\"]loss"),
     .prefilter = "loss",
     .reducers = {"min", "last"},
     .lo = -HUGE_VAL,
     .hi = HUGE_VAL,
     .counts = "training loss of the last logging_steps window ('loss')"},
    {.name = "hf_eval_loss",
     .regex = MR_DKEY("['\"]eval_loss"),
     .metric = "hf_eval_loss",
     .prefilter = "eval_loss",
     .reducers = {"last"},
     .lo = -HUGE_VAL,
     .hi = HUGE_VAL,
     .counts = "loss on the eval dataset at the last evaluation ('eval_loss')"},
    {.name = "hf_train_loss",
     .regex = MR_DKEY("['\"]train_loss"),
     .metric = "hf_train_loss",
     .prefilter = "train_loss",
     .reducers = {"last"},
     .lo = -HUGE_VAL,
     .hi = HUGE_VAL,
     .counts = "mean training loss over the whole train() call ('train_loss', printed at the end)"},
    {.name = "hf_epoch",
     .regex = MR_DKEY("['\"]epoch"),
     .metric = "hf_epoch",
     .prefilter = "epoch",
     .reducers = {"last"},
     .lo = 0,
     .hi = HUGE_VAL,
     .counts = "epochs done, fractional ('epoch')"},
    {.name = "hf_train_samples_per_second",
     .regex = MR_DKEY("['\"]train_samples_per_second"),
     .metric = "hf_train_samples_per_second",
     .prefilter = "train_samples_per_second",
     .reducers = {"last"},
     .lo = 0,
     .hi = HUGE_VAL,
     .counts = "training examples (dataset rows, not tokens) per second of train()'s runtime"},
    {.name = "hf_train_steps_per_second",
     .regex = MR_DKEY("['\"]train_steps_per_second"),
     .metric = "hf_train_steps_per_second",
     .prefilter = "train_steps_per_second",
     .reducers = {"last"},
     .lo = 0,
     .hi = HUGE_VAL,
     .counts = "optimizer steps (one per gradient_accumulation_steps batches) per second of "
               "train()'s runtime"},
};

/* tqdm's format_meter: "{rate:5.2f}it/s", or "{1/rate:5.2f}s/it" when an iteration takes over
 * 1 s; unit_scale adds an SI prefix (k, M, G; T and above are refused as an unknown unit).
 * Lightning's TQDM and Rich progress bars print the same "98.76it/s". "?it/s" (no rate yet) is
 * not a value and is not matched. */
static const struct mr_preset_row mr_preset_tqdm[] = {
    {.name = "tqdm_it_per_s",
     .regex = MR_TQDM_NUM "it/s\\b",
     .prefilter = "it/s",
     .reducers = {"max", "last"},
     .lo = 0,
     .hi = HUGE_VAL,
     .counts = "loop iterations per second of every tqdm/Lightning bar in the log (what an "
               "iteration is depends on the loop: a batch, an optimizer step, an episode...)"},
    {.name = "tqdm_it_per_s",
     .regex = MR_TQDM_NUM "s/it\\b",
     .prefilter = "s/it",
     .reducers = {"max", "last"},
     .lo = 0,
     .hi = HUGE_VAL,
     .alias = 1,
     .invert = 1,
     .counts = "s/it converted: 2.50s/it is 0.4 it/s (tqdm rounds to 2 decimals, so within "
               "0.2%)"},
};

#define MR_PRESET(n, r, rows)                                          \
    {                                                                  \
        n, "preset \"" n "\"", r, rows, sizeof(rows) / sizeof(rows[0]) \
    }
const struct mr_preset metrics_regex_presets[] = {
    MR_PRESET("sb3", "Stable-Baselines3's logger table and EvalCallback lines", mr_preset_sb3),
    MR_PRESET("sample_factory", "Sample Factory's \"Fps is (10 sec: ...)\" line",
              mr_preset_sample_factory),
    MR_PRESET("rl_games", "rl_games' \"fps step: ... fps total: ...\" line", mr_preset_rl_games),
    MR_PRESET("rllib", "RLlib result dicts (pretty_print YAML, dict or JSON)", mr_preset_rllib),
    MR_PRESET("hf_trainer", "Hugging Face Trainer's logged dicts", mr_preset_hf_trainer),
    MR_PRESET("tqdm", "tqdm and Lightning progress bars", mr_preset_tqdm),
};
const size_t mr_n_presets = sizeof(metrics_regex_presets) / sizeof(metrics_regex_presets[0]);

const struct mr_preset *mr_preset_find(const char *name)
{
    for (size_t i = 0; name != NULL && i < MR_N_PRESETS; i++)
        if (strcmp(metrics_regex_presets[i].name, name) == 0)
            return &metrics_regex_presets[i];
    return NULL;
}
