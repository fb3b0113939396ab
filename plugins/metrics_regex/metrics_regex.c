/* SPDX-License-Identifier: MIT */
/*
 * metrics_regex - a metrics source reading numbers and labels out of a job's log with PCRE2.
 *
 * The host feeds the log as it grows, cut anywhere. We read it line by line in constant memory:
 * complete lines are scanned straight out of the host's buffer, and only the unfinished tail of
 * a chunk is copied into a carry buffer that never grows past max_line (a longer line is skipped
 * and counted). A line is only handed to PCRE2 when it contains the pattern's literal prefilter,
 * found with a case-folded two-byte SIMD filter over the whole chunk (as ripgrep does), so the
 * cost on the many lines that mention no metric is a vector compare, not a regex run.
 *
 * Results are independent of how the log was cut: every line is processed exactly once, whole,
 * whether it came from the host's buffer or from the carry buffer.
 */
#define PCRE2_CODE_UNIT_WIDTH 8

#include <locale.h>
#include <math.h>
#include <pcre2.h>
#include <relhost/plugin.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

/* ---- Configuration --------------------------------------------------------------------------- */

/** One row of `patterns = ( {...}, ... )`. */
struct metrics_regex_pattern {
    const char *name;
    const char *regex;
    relhost_strlist reducers;
    const char *metric;
    double scale;
    int case_insensitive;
    const char *prefilter;
    int label;
};

struct metrics_regex_conf {
    int defaults;
    relhost_list patterns;
    uint64_t max_line;
    relhost_strlist presets;
};

/* The presets a plan may switch on (see "Format presets" below and the README). */
static const char *const metrics_regex_preset_names[] = {
    "sb3", "sample_factory", "rl_games", "rllib", "hf_trainer", "tqdm", NULL};

static const char *const metrics_regex_reducer_names[] = {"max",  "min",   "last", "first",
                                                          "mean", "count", NULL};

static const relhost_option metrics_regex_pattern_options[] = {
    {.name = "name",
     .type = RELHOST_OPT_STRING,
     .required = 1,
     .offset = offsetof(struct metrics_regex_pattern, name),
     .doc = "metric base name ([A-Za-z0-9_.-]); a pattern named like a default replaces it"},
    {.name = "regex",
     .type = RELHOST_OPT_STRING,
     .required = 1,
     .offset = offsetof(struct metrics_regex_pattern, regex),
     .doc = "PCRE2 regex run on each line (never templated); the value is the group named value, "
            "else the first capture group that took part; a group named unit scales it "
            "(k/K 1e3, m/M 1e6, g/G 1e9)"},
    {.name = "reducers",
     .type = RELHOST_OPT_STRLIST,
     .def = "last",
     .offset = offsetof(struct metrics_regex_pattern, reducers),
     .choices = metrics_regex_reducer_names,
     .doc = "max, min, last, first, mean, count; each posts the metric <name>_<reducer>"},
    {.name = "metric",
     .type = RELHOST_OPT_STRING,
     .offset = offsetof(struct metrics_regex_pattern, metric),
     .doc = "exact metric (or label) name, for a pattern with a single reducer"},
    {.name = "scale",
     .type = RELHOST_OPT_DOUBLE,
     .def = "1",
     .offset = offsetof(struct metrics_regex_pattern, scale),
     .doc = "multiplies every value (after the unit)"},
    {.name = "case_insensitive",
     .type = RELHOST_OPT_BOOL,
     .def = "true",
     .offset = offsetof(struct metrics_regex_pattern, case_insensitive),
     .doc = "match letters in either case"},
    {.name = "prefilter",
     .type = RELHOST_OPT_STRING,
     .offset = offsetof(struct metrics_regex_pattern, prefilter),
     .doc = "a literal that every match contains (searched case-insensitively before the regex "
            "runs); absent: derived from the regex; \"\": run the regex on every line"},
    {.name = "label",
     .type = RELHOST_OPT_BOOL,
     .def = "false",
     .offset = offsetof(struct metrics_regex_pattern, label),
     .doc = "the capture is a string label (reducer first or last), not a number"},
    {0}};

static const relhost_option metrics_regex_options[] = {
    {.name = "defaults",
     .type = RELHOST_OPT_BOOL,
     .def = "true",
     .offset = offsetof(struct metrics_regex_conf, defaults),
     .doc = "include the default patterns: sps (sps_max, sps_last), eval_success_rate, and the "
            "[SUMMARY] markers exit_code, termination_reason, restart_count"},
    {.name = "patterns",
     .type = RELHOST_OPT_GROUP_LIST,
     .offset = offsetof(struct metrics_regex_conf, patterns),
     .sub = metrics_regex_pattern_options,
     .item_size = sizeof(struct metrics_regex_pattern),
     .doc = "more patterns: ( { name = \"loss\"; regex = \"loss[:=]\\\\s*([0-9.]+)\"; }, ... )"},
    {.name = "max_line",
     .type = RELHOST_OPT_SIZE,
     .def = "1M",
     .offset = offsetof(struct metrics_regex_conf, max_line),
     .min = 64,
     .max = 268435456.0, /* 256 MiB: the carry buffer of a job is at most this */
     .doc = "longest line read, in bytes before the newline; longer lines are skipped and counted "
            "(a job's memory is bounded by it)"},
    {.name = "presets",
     .type = RELHOST_OPT_STRLIST,
     .offset = offsetof(struct metrics_regex_conf, presets),
     .choices = metrics_regex_preset_names,
     .doc = "format presets of other trainers, each posting its own keys named for what the number "
            "counts (never sps_*): "
            "sb3 (Stable-Baselines3's table: sb3_fps_max/_last env steps/s over all envs since "
            "learn() began; sb3_table_success_rate, the last success_rate row, eval/ or "
            "rollout/ alike; EvalCallback's lines: sb3_eval_success_rate, sb3_eval_mean_reward); "
            "sample_factory (Fps is (10 sec: ...): sample_factory_fps_10s/60s/300s_max/_last env "
            "frames/s incl. frameskip, all policies; sample_factory_total_frames); "
            "rl_games (fps step/fps step and policy inference/fps total: rl_games_fps_step, "
            "rl_games_fps_step_inference, rl_games_fps_total _max/_last, env steps/s over all "
            "actors, no frameskip); "
            "rllib (rllib_sample_throughput_max/_last from sample_throughput, env (or agent) "
            "steps/s of the sampling phase; rllib_env_steps_sampled_per_s_max/_last from "
            "num_env_steps_sampled_throughput_per_sec, env steps/s of the iteration); "
            "hf_trainer (HF Trainer log dicts: hf_loss_min/_last, hf_eval_loss, hf_train_loss, "
            "hf_epoch, hf_train_samples_per_second (training examples/s, not tokens), "
            "hf_train_steps_per_second (optimizer steps/s)); "
            "tqdm (tqdm and Lightning bars: tqdm_it_per_s_max/_last iterations/s of every bar in "
            "the log; 2.50s/it is read as 1/2.50 it/s); every value goes through the one number "
            "grammar and its refusals"},
    {0}};

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
 * not be followed by a label ("step 12 SPS: 31000" is 31000, not 12).
 */
#define MR_NUMBODY                                                                                 \
    "(?>\\d{1,3}+(?:,\\d{3})+(?:\\.\\d+)?|\\d+(?:\\.\\d+)?(?:[eE][+-]?\\d+)?|\\.\\d+(?:[eE][+-]?\\d+)?)"
#define MR_NUM "(?<value>[+-]?" MR_NUMBODY ")"
#define MR_NUMPCT "(?<value>[+-]?" MR_NUMBODY "%?)"
#define MR_GUARD "(?![\\d.,]?\\d)"
/* After "SPS:" or "eval_success_rate:", a token that is not a whole number is captured anyway so
 * that it is refused with a note (nan, 31,0000, a Unicode minus) rather than silently skipped. */
#define MR_BAD "(?<value>[^\\s;|)}\\]'\"]+)"
#define MR_UNIT "(?:(?<unit>[kmgb])(?:sps)?\\b|\\s*(?<unit>[kmgb])sps\\b)?"
#define MR_SPS_REGEX                                                                               \
    "\\bSPS['\"]?\\s*[:=]\\s*(?:" MR_NUM MR_GUARD MR_UNIT "|" MR_BAD ")"                          \
    "|\\bSPS\\s+" MR_NUM MR_GUARD MR_UNIT                                                        \
    "|(?<![\\w.,+-])" MR_NUM "\\s*+(?:(?<unit>[kmgb])\\s*+)?sps\\b"                              \
    "(?!['\"]?\\s*[:=]|\\s+[+-]?\\.?\\d)"
#define MR_STEPS_REGEX                                                                             \
    "(?<![\\w.,+-])" MR_NUM "\\s*+(?:(?<unit>[kmgb])\\s*+)?steps/s(?:ec(?:ond)?)?\\b"
#define MR_EVAL_REGEX                                                                              \
    "\\beval[_\\s-]?success[_\\s-]?rate['\"]?\\s*[:=]\\s*(?:" MR_NUMPCT MR_GUARD "|" MR_BAD ")"    \
    "|\\btotal\\s+\\d+\\s+evals?\\s+" MR_NUMPCT "\\s*successful\\b"                              \
    "|\\bsuccesses\\s*:\\s*\\d+\\s*/\\s*\\d+\\s*\\(\\s*" MR_NUMPCT "\\s*\\)"

struct mr_default {
    const char *name;
    const char *regex;
    const char *metric;
    const char *prefilter;
    const char *lead; /* every byte that can come before the prefilter inside a match */
    const char *reducers[3];
    int label;
    int case_sensitive; /* the [SUMMARY] markers are matched exactly as the trainer writes them */
    int alias;          /* more forms of the previous default of the same name: one accumulator */
    double lo, hi;      /* valid range: a value outside is refused, never clamped */
    int integer;        /* a whole number */
    int summary;        /* 1 + field of a [SUMMARY] block (1 exit code, 2 reason, 3 restarts) */
};

/* What may stand between a match's start and its literal: a number, spaces and a unit before
 * "sps"; "eval" and a separator before "success"; nothing before "[SUMMARY]" or "SPS:". */
#define MR_WS " \t\v\f\r"
#define MR_SPS_LEAD "0123456789.,eE+-kKmMgGbB" MR_WS
#define MR_EVAL_LEAD "evalEVAL_-totalsTOTALS0123456789.%" MR_WS

static const struct mr_default metrics_regex_defaults[] = {
    {"sps", MR_SPS_REGEX, NULL, "sps", MR_SPS_LEAD, {"max", "last", NULL}, 0, 0, 0, 0, HUGE_VAL,
     0, 0},
    {"eval_success_rate", MR_EVAL_REGEX, "eval_success_rate", "success", MR_EVAL_LEAD,
     {"last", NULL}, 0, 0, 0, 0, 1, 0, 0},
    /* The seed's runner took the FIRST marker and so reported a restarted job's failed attempt. */
    {"exit_code", "\\[SUMMARY\\] Exit code:[ \\t]*(\\S*)", "exit_code", "[summary]", "",
     {"last", NULL}, 0, 1, 0, -255, 255, 1, 1},
    {"termination_reason", "\\[SUMMARY\\] Termination reason:[ \\t]*([\\w.-]+)",
     "termination_reason", "[summary]", "", {"last", NULL}, 1, 1, 0, 0, 0, 0, 2},
    {"restart_count", "\\[SUMMARY\\] Restart Count:[ \\t]*(\\S*)", "restart_count", "[summary]",
     "", {"last", NULL}, 0, 1, 0, 0, 1e6, 1, 3},
    /* The seed trainer's older "87750 steps/sec": more samples of sps (no "sps" literal in it). */
    {"sps", MR_STEPS_REGEX, NULL, "steps/s", MR_SPS_LEAD, {"max", "last", NULL}, 0, 0, 1, 0,
     HUGE_VAL, 0, 0},
};

#define MR_N_DEFAULTS (sizeof(metrics_regex_defaults) / sizeof(metrics_regex_defaults[0]))

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
#define MR_TQDM_NUM                                                                                \
    "(?<![\\w.,+-])(?<value>\\d[\\d.,]*(?:[eE][+-]?\\d+)?) ?(?<unit>[kKMGTPEZY])?"

struct mr_preset_row {
    const char *name;   /* pattern name: posts <name>_<reducer>, or metric */
    const char *regex;  /* case-sensitive: these trainers print fixed text */
    const char *metric; /* one exact key, with one reducer */
    const char *prefilter;
    const char *reducers[3];
    double lo, hi; /* valid range: outside it a value is refused, never clamped */
    int integer;   /* a whole number */
    int alias;     /* more forms of the previous row of the same name: one accumulator */
    int invert;    /* the text is the reciprocal (tqdm's s/it): the value is 1/x */
    const char *counts; /* what the number counts */
};

struct mr_preset {
    const char *name;
    const char *where; /* for messages: preset "name" */
    const char *reads; /* what output it reads */
    const struct mr_preset_row *rows;
    size_t n;
};

/* Stable-Baselines3: HumanOutputFormat's table (keys sorted, "time/" then "   fps"; floats as
 * %-8.3g, ints as str) and EvalCallback's verbose prints. fps is
 * int((num_timesteps - num_timesteps_at_start) / time_elapsed), num_timesteps growing by n_envs
 * per vectorised step. */
static const struct mr_preset_row mr_preset_sb3[] = {
    {.name = "sb3_fps", .regex = MR_SB3_ROW("fps"), .prefilter = "fps",
     .reducers = {"max", "last"}, .lo = 0, .hi = HUGE_VAL,
     .counts = "env steps per second summed over all envs, averaged since learn() began "
               "(SB3's num_timesteps / time_elapsed; an Atari step with frame_skip 4 is 4 frames)"},
    {.name = "sb3_table_success_rate", .regex = MR_SB3_ROW("success_rate"),
     .metric = "sb3_table_success_rate", .prefilter = "success_rate", .reducers = {"last"},
     .lo = 0, .hi = 1,
     .counts = "fraction of episodes with info[\"is_success\"], from the table's last "
               "success_rate row: eval/ (EvalCallback) or rollout/ (off-policy algorithms) alike, "
               "since a row does not name its section"},
    {.name = "sb3_eval_success_rate", .regex = "^\\s*Success rate:\\s*" MR_TOK,
     .metric = "sb3_eval_success_rate", .prefilter = "Success rate:", .reducers = {"last"},
     .lo = 0, .hi = 1,
     .counts = "fraction of EvalCallback's evaluation episodes that succeeded (its \"Success "
               "rate: 90.00%\" line, verbose >= 1; the eval/success_rate value)"},
    {.name = "sb3_eval_mean_reward",
     .regex = "^\\s*Eval num_timesteps=\\d+, episode_reward=" MR_TOK,
     .metric = "sb3_eval_mean_reward", .prefilter = "Eval num_timesteps=", .reducers = {"last"},
     .lo = -HUGE_VAL, .hi = HUGE_VAL,
     .counts = "mean episode return of EvalCallback's last evaluation"},
};

/* Sample Factory: the runner's "Fps is (10 sec: %.1f, 60 sec: %.1f, 300 sec: %.1f). Total num
 * frames: %d. ..." (nan until a window has data: refused with a note). Frames count env frames
 * with env_frameskip applied, over all policies and workers. */
#define MR_SF_FPS "\\bFps is \\(10 sec:"
static const struct mr_preset_row mr_preset_sample_factory[] = {
    {.name = "sample_factory_fps_10s", .regex = MR_SF_FPS "\\s*" MR_TOK, .prefilter = "Fps is (",
     .reducers = {"max", "last"}, .lo = 0, .hi = HUGE_VAL,
     .counts = "env frames per second over the last 10 s, frameskip included (an agent step "
               "with env_frameskip 4 is 4 frames), all policies"},
    {.name = "sample_factory_fps_60s", .regex = MR_SF_FPS "[^)]*?\\b60 sec:\\s*" MR_TOK,
     .prefilter = "Fps is (", .reducers = {"max", "last"}, .lo = 0, .hi = HUGE_VAL,
     .counts = "env frames per second over the last 60 s, frameskip included"},
    {.name = "sample_factory_fps_300s", .regex = MR_SF_FPS "[^)]*?\\b300 sec:\\s*" MR_TOK,
     .prefilter = "Fps is (", .reducers = {"max", "last"}, .lo = 0, .hi = HUGE_VAL,
     .counts = "env frames per second over the last 300 s, frameskip included"},
    {.name = "sample_factory_total_frames",
     .regex = MR_SF_FPS "[^)]*\\)\\.\\s*Total num frames:\\s*" MR_TOK,
     .metric = "sample_factory_total_frames", .prefilter = "Fps is (", .reducers = {"last"},
     .lo = 0, .hi = HUGE_VAL, .integer = 1,
     .counts = "env frames collected so far, frameskip included"},
};

/* rl_games: a2c_common's "fps step: %.0f fps step and policy inference: %.0f fps total: %.0f
 * epoch: %d/%d frames: %d". Its frames are horizon_length x num_actors per epoch: one per env
 * step of each actor, no frameskip applied. */
static const struct mr_preset_row mr_preset_rl_games[] = {
    {.name = "rl_games_fps_step", .regex = "\\bfps step:\\s*" MR_TOK, .prefilter = "fps step:",
     .reducers = {"max", "last"}, .lo = 0, .hi = HUGE_VAL,
     .counts = "env steps per second of all actors during env stepping only (rl_games' frames "
               "are env steps; no frameskip)"},
    {.name = "rl_games_fps_step_inference",
     .regex = "\\bfps step and policy inference:\\s*" MR_TOK,
     .prefilter = "fps step and policy inference:", .reducers = {"max", "last"}, .lo = 0,
     .hi = HUGE_VAL, .counts = "env steps per second of all actors, stepping plus inference"},
    {.name = "rl_games_fps_total", .regex = "\\bfps total:\\s*" MR_TOK, .prefilter = "fps total:",
     .reducers = {"max", "last"}, .lo = 0, .hi = HUGE_VAL,
     .counts = "env steps per second of all actors over the whole epoch, training included"},
};

/* RLlib: result dicts printed by pretty_print (YAML), print(result) (a dict) or as JSON. */
static const struct mr_preset_row mr_preset_rllib[] = {
    {.name = "rllib_sample_throughput", .regex = MR_DKEY("sample_throughput"),
     .prefilter = "sample_throughput", .reducers = {"max", "last"}, .lo = 0, .hi = HUGE_VAL,
     .counts = "steps sampled per second of sampling time (timers.sample_throughput; env steps, "
               "or agent steps with count_steps_by=agent_steps); training time not included"},
    {.name = "rllib_env_steps_sampled_per_s",
     .regex = MR_DKEY("num_env_steps_sampled_throughput_per_sec"),
     .prefilter = "num_env_steps_sampled_throughput_per_sec", .reducers = {"max", "last"},
     .lo = 0, .hi = HUGE_VAL,
     .counts = "env steps sampled per second of the iteration's wall time "
               "(num_env_steps_sampled_throughput_per_sec)"},
};

/* Hugging Face Trainer: ProgressCallback's str(logs) ({'loss': 0.5, ...}; some versions quote
 * the numbers) and the final {'train_runtime': ..., 'train_samples_per_second': ...}. */
static const struct mr_preset_row mr_preset_hf_trainer[] = {
    {.name = "hf_loss", .regex = MR_DKEY("['\"]loss"), .prefilter = "loss",
     .reducers = {"min", "last"}, .lo = -HUGE_VAL, .hi = HUGE_VAL,
     .counts = "training loss of the last logging_steps window ('loss')"},
    {.name = "hf_eval_loss", .regex = MR_DKEY("['\"]eval_loss"), .metric = "hf_eval_loss",
     .prefilter = "eval_loss", .reducers = {"last"}, .lo = -HUGE_VAL, .hi = HUGE_VAL,
     .counts = "loss on the eval dataset at the last evaluation ('eval_loss')"},
    {.name = "hf_train_loss", .regex = MR_DKEY("['\"]train_loss"), .metric = "hf_train_loss",
     .prefilter = "train_loss", .reducers = {"last"}, .lo = -HUGE_VAL, .hi = HUGE_VAL,
     .counts = "mean training loss over the whole train() call ('train_loss', printed at the end)"},
    {.name = "hf_epoch", .regex = MR_DKEY("['\"]epoch"), .metric = "hf_epoch",
     .prefilter = "epoch", .reducers = {"last"}, .lo = 0, .hi = HUGE_VAL,
     .counts = "epochs done, fractional ('epoch')"},
    {.name = "hf_train_samples_per_second", .regex = MR_DKEY("['\"]train_samples_per_second"),
     .metric = "hf_train_samples_per_second", .prefilter = "train_samples_per_second",
     .reducers = {"last"}, .lo = 0, .hi = HUGE_VAL,
     .counts = "training examples (dataset rows, not tokens) per second of train()'s runtime"},
    {.name = "hf_train_steps_per_second", .regex = MR_DKEY("['\"]train_steps_per_second"),
     .metric = "hf_train_steps_per_second", .prefilter = "train_steps_per_second",
     .reducers = {"last"}, .lo = 0, .hi = HUGE_VAL,
     .counts = "optimizer steps (one per gradient_accumulation_steps batches) per second of "
               "train()'s runtime"},
};

/* tqdm's format_meter: "{rate:5.2f}it/s", or "{1/rate:5.2f}s/it" when an iteration takes over
 * 1 s; unit_scale adds an SI prefix (k, M, G; T and above are refused as an unknown unit).
 * Lightning's TQDM and Rich progress bars print the same "98.76it/s". "?it/s" (no rate yet) is
 * not a value and is not matched. */
static const struct mr_preset_row mr_preset_tqdm[] = {
    {.name = "tqdm_it_per_s", .regex = MR_TQDM_NUM "it/s\\b", .prefilter = "it/s",
     .reducers = {"max", "last"}, .lo = 0, .hi = HUGE_VAL,
     .counts = "loop iterations per second of every tqdm/Lightning bar in the log (what an "
               "iteration is depends on the loop: a batch, an optimizer step, an episode...)"},
    {.name = "tqdm_it_per_s", .regex = MR_TQDM_NUM "s/it\\b", .prefilter = "s/it",
     .reducers = {"max", "last"}, .lo = 0, .hi = HUGE_VAL, .alias = 1, .invert = 1,
     .counts = "s/it converted: 2.50s/it is 0.4 it/s (tqdm rounds to 2 decimals, so within "
               "0.2%)"},
};

#define MR_PRESET(n, r, rows) {n, "preset \"" n "\"", r, rows, sizeof(rows) / sizeof(rows[0])}
static const struct mr_preset metrics_regex_presets[] = {
    MR_PRESET("sb3", "Stable-Baselines3's logger table and EvalCallback lines", mr_preset_sb3),
    MR_PRESET("sample_factory", "Sample Factory's \"Fps is (10 sec: ...)\" line",
              mr_preset_sample_factory),
    MR_PRESET("rl_games", "rl_games' \"fps step: ... fps total: ...\" line", mr_preset_rl_games),
    MR_PRESET("rllib", "RLlib result dicts (pretty_print YAML, dict or JSON)", mr_preset_rllib),
    MR_PRESET("hf_trainer", "Hugging Face Trainer's logged dicts", mr_preset_hf_trainer),
    MR_PRESET("tqdm", "tqdm and Lightning progress bars", mr_preset_tqdm),
};

#define MR_N_PRESETS (sizeof(metrics_regex_presets) / sizeof(metrics_regex_presets[0]))

static const struct mr_preset *mr_preset_find(const char *name)
{
    for (size_t i = 0; name != NULL && i < MR_N_PRESETS; i++)
        if (strcmp(metrics_regex_presets[i].name, name) == 0)
            return &metrics_regex_presets[i];
    return NULL;
}

/* ---- Instance and job state ------------------------------------------------------------------ */

enum mr_reducer { MR_MAX, MR_MIN, MR_LAST, MR_FIRST, MR_MEAN, MR_COUNT, MR_N_REDUCERS };

#define MR_LIT_MAX 64    /* bytes of a prefilter literal that are used */
#define MR_LABEL_MAX 256 /* bytes of a label value kept */
#define MR_EXAMPLE_MAX 40
#define MR_MAX_GROUPS 32 /* value/unit groups per regex that we look at */

/** A case-folded literal and the two positions the vector filter compares first. */
struct mr_lit {
    unsigned char fold[MR_LIT_MAX]; /* letters lower-cased */
    unsigned char mask[MR_LIT_MAX]; /* 0x20 on letters: (byte | mask) == fold matches both cases */
    size_t len;                     /* 0: no prefilter, every line is a candidate */
    size_t i1, i2;                  /* the two rarest positions */
};

struct mr_pat {
    const char *name;        /* borrowed from conf or the defaults table */
    const char *regex;
    const void *where_field; /* &row->regex in the host's conf, or NULL for a default */
    pcre2_code *code;
    int jit;
    uint32_t value_groups[MR_MAX_GROUPS];
    size_t n_value;
    uint32_t unit_groups[MR_MAX_GROUPS];
    size_t n_unit;
    double scale;
    int label;
    enum mr_reducer reducers[MR_N_REDUCERS];
    char *keys[MR_N_REDUCERS]; /* metric (or label) names posted, owned */
    size_t n_out;
    struct mr_lit lit;
    /* Known: only bytes in lead_set stand between a match's start and the first literal it
     * holds, so a search may start at the first literal minus such bytes instead of at the
     * line's start (the many numbers before "SPS:" on a metric line are never tried). */
    int lead_known;
    uint8_t lead_set[32];
    int has_range, integer; /* a default's valid range and whole-number rule */
    double lo, hi;
    int summary;   /* 1 + field of a [SUMMARY] block, 0 for other patterns */
    int alias;     /* feeds the accumulator of pattern acc_id and posts nothing itself */
    int invert;    /* a preset's reciprocal form (tqdm's s/it): the value is 1/x */
    const char *where_text; /* "preset sb3" etc. for a preset's pattern, else NULL */
    size_t acc_id; /* index of the accumulator in job->acc */
};

/** Patterns sharing one prefilter literal: one search of the chunk serves them all. */
struct mr_group {
    struct mr_lit lit;
    size_t first; /* patterns are sorted so that a group is a run of them */
    size_t n;
};

struct metrics_regex {
    const relhost_host *host;
    const void *conf;    /* the host's, valid until close */
    struct mr_pat *pats; /* n_pats, sorted by group */
    size_t n_pats;
    struct mr_group *groups;
    size_t n_groups;
    uint32_t max_pairs; /* ovector pairs the largest pattern needs */
    size_t max_line;
    locale_t c_locale; /* numbers are read the same whatever LC_NUMERIC the host runs with */
    int avx2;          /* the CPU has AVX2: the prefilter compares 32 bytes at a time */
};

/* Why a matched value was refused. */
enum mr_cause { MR_C_NAN = 1, MR_C_MINUS, MR_C_RANGE, MR_C_INT, MR_C_LONG, MR_C_UNIT, MR_N_CAUSES };

#define MR_NUM_MAX 100 /* longest number text read, in bytes */

struct mr_acc {
    uint64_t n;
    double mean, min, max, first, last;
    uint64_t first_key, last_key; /* log positions of the first and last accepted values */
    uint64_t bad[MR_N_CAUSES];    /* refused values, per cause */
    uint64_t bad_line[MR_N_CAUSES];
    uint64_t bad_key[MR_N_CAUSES];   /* position of the first refused value, per cause */
    char bad_example[MR_N_CAUSES][MR_EXAMPLE_MAX + 1];
    uint64_t n_bad, last_bad_key, last_bad_line; /* the last refused value */
    int last_bad_cause;
    uint64_t block; /* [SUMMARY] block of the last value, accepted or refused */
    int has_block;
    char label[MR_LABEL_MAX + 1];
    int label_truncated;
};

/* Where a terminal escape sequence being removed stands. */
enum mr_esc { MR_GROUND, MR_ESC, MR_CSI, MR_INTER, MR_STR, MR_STR_ESC };

struct metrics_regex_job {
    struct metrics_regex *inst;
    pcre2_match_data *md;
    pcre2_match_context *mctx;
    pcre2_jit_stack *jit_stack;
    char *carry; /* the unfinished segment, escape sequences removed, at most max_line bytes */
    size_t carry_len, carry_cap;
    int skipping; /* inside a segment longer than max_line: drop bytes up to its \r or \n */
    int slow;     /* bytes go through mr_slow() until the next newline */
    int prev_cr;  /* the last byte was a \r: a \n right after ends no second segment */
    enum mr_esc esc;
    uint64_t abs;     /* log offset of the next byte fed */
    uint64_t seg_abs; /* log offset where the carried segment started */
    uint64_t line;    /* newlines before the current region or segment */
    /* The lines being matched: from the host's buffer (region != NULL, line numbers counted on
     * demand from it) or the carry (region == NULL). */
    const char *region, *count_ptr;
    uint64_t region_abs, count_lines;
    const char *cur_ls; /* start of the line being matched */
    uint64_t cur_abs;   /* its log offset */
    uint64_t block, block_line; /* the current [SUMMARY] block and the line it starts on */
    unsigned block_seen;
    uint64_t long_lines;
    uint64_t match_errors;
    int first_match_error;
    struct mr_acc *acc; /* one per pattern */
};

/*
 * The host table handed to the entry. Set once when the host loads the plugin and only read
 * afterwards (every instance copies it in open()); the ABI gives open() no other way to reach it.
 */
static const relhost_host *metrics_regex_host;

/* ---- Small helpers --------------------------------------------------------------------------- */

static int mr_is_alpha(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static int mr_is_digit(unsigned char c)
{
    return c >= '0' && c <= '9';
}

static unsigned char mr_lower(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') ? (unsigned char)(c | 0x20) : c;
}

/* Plugin-chosen names become metric keys and report columns: keep them to a safe alphabet. */
static int mr_valid_key(const char *s)
{
    size_t n = 0;
    for (; s[n] != '\0'; n++) {
        unsigned char c = (unsigned char)s[n];
        if (!mr_is_alpha(c) && !mr_is_digit(c) && c != '_' && c != '.' && c != '-')
            return 0;
    }
    return n > 0 && n <= 128;
}

/* Copy text for a note: bounded and printable, since it comes from an arbitrary log. */
static void mr_example(char *dst, size_t cap, const char *s, size_t n)
{
    size_t k = 0;
    for (size_t i = 0; i < n && k + 1 < cap; i++) {
        unsigned char c = (unsigned char)s[i];
        dst[k++] = (c >= 0x20 && c < 0x7f && c != '"') ? (char)c : '?';
    }
    dst[k] = '\0';
}

/* ---- Prefilter literals ---------------------------------------------------------------------- */

/* How common a byte is in training logs; the rarest two of a literal are compared first. */
static int mr_commonness(unsigned char c)
{
    static const char order[] = " 0123456789etaoinsrlhdcu.:=_-,/pmfgwybv|k()x[]jqz";
    const char *p = c != '\0' ? strchr(order, mr_lower(c)) : NULL;
    return p != NULL ? (int)(sizeof(order) - (size_t)(p - order)) : 0;
}

static void mr_lit_set(struct mr_lit *l, const unsigned char *s, size_t n)
{
    if (n > MR_LIT_MAX)
        n = MR_LIT_MAX; /* a prefix of a required literal is still required */
    l->len = n;
    for (size_t i = 0; i < n; i++) {
        l->fold[i] = mr_lower(s[i]);
        l->mask[i] = mr_is_alpha(s[i]) ? 0x20 : 0x00;
    }
    l->i1 = l->i2 = 0;
    for (size_t i = 0; i < n; i++)
        if (mr_commonness(l->fold[i]) < mr_commonness(l->fold[l->i1]))
            l->i1 = i;
    l->i2 = l->i1 == 0 && n > 1 ? 1 : 0;
    for (size_t i = 0; i < n; i++)
        if (i != l->i1 && mr_commonness(l->fold[i]) < mr_commonness(l->fold[l->i2]))
            l->i2 = i;
}

static int mr_lit_equal(const struct mr_lit *a, const struct mr_lit *b)
{
    return a->len == b->len && memcmp(a->fold, b->fold, a->len) == 0;
}

static int mr_lit_verify(const struct mr_lit *l, const unsigned char *s)
{
    for (size_t i = 0; i < l->len; i++)
        if ((unsigned char)(s[i] | l->mask[i]) != l->fold[i])
            return 0;
    return 1;
}

/*
 * First occurrence of the literal in [hay, hay+n), either case, or NULL; l->len > 0.
 * The vector loops compare the literal's two rarest bytes at their offsets for 16 or 32 starts
 * at once and verify only the starts where both agree. Every load ends at or before
 * i + i2 + (width - 1) <= last + i2 <= n - 1: never past the buffer.
 */
#if defined(__x86_64__) && defined(__GNUC__)
#define MR_HAVE_AVX2 1
#include <immintrin.h>

__attribute__((target("avx2"))) static const char *
mr_lit_find_avx2(const struct mr_lit *l, const unsigned char *h, size_t last, size_t *next)
{
    const unsigned char *a = h + l->i1, *b = h + l->i2;
    const __m256i c1 = _mm256_set1_epi8((char)l->fold[l->i1]);
    const __m256i m1 = _mm256_set1_epi8((char)l->mask[l->i1]);
    const __m256i c2 = _mm256_set1_epi8((char)l->fold[l->i2]);
    const __m256i m2 = _mm256_set1_epi8((char)l->mask[l->i2]);
    size_t i = 0;
    for (; i + 64 <= last + 1; i += 64) {
        __m256i e0 = _mm256_and_si256(
            _mm256_cmpeq_epi8(_mm256_or_si256(_mm256_loadu_si256((const void *)(a + i)), m1), c1),
            _mm256_cmpeq_epi8(_mm256_or_si256(_mm256_loadu_si256((const void *)(b + i)), m2), c2));
        __m256i e1 = _mm256_and_si256(
            _mm256_cmpeq_epi8(_mm256_or_si256(_mm256_loadu_si256((const void *)(a + i + 32)), m1),
                              c1),
            _mm256_cmpeq_epi8(_mm256_or_si256(_mm256_loadu_si256((const void *)(b + i + 32)), m2),
                              c2));
        __m256i any = _mm256_or_si256(e0, e1);
        if (_mm256_testz_si256(any, any))
            continue;
        uint64_t bits = (uint64_t)(uint32_t)_mm256_movemask_epi8(e0) |
                        (uint64_t)(uint32_t)_mm256_movemask_epi8(e1) << 32;
        while (bits != 0) {
            size_t k = (size_t)__builtin_ctzll(bits);
            if (mr_lit_verify(l, h + i + k))
                return (const char *)h + i + k;
            bits &= bits - 1;
        }
    }
    *next = i;
    return NULL;
}
#endif

static const char *mr_lit_find(const struct mr_lit *l, const char *hay, size_t n, int avx2)
{
    const unsigned char *h = (const unsigned char *)hay;
    if (n < l->len)
        return NULL;
    size_t last = n - l->len; /* last possible start */
    size_t i = 0;
#if defined(MR_HAVE_AVX2)
    if (avx2) {
        const char *hit = mr_lit_find_avx2(l, h, last, &i);
        if (hit != NULL)
            return hit;
    }
#else
    (void)avx2;
#endif
#if defined(__SSE2__)
    const unsigned char *a = h + l->i1, *b = h + l->i2;
    const __m128i c1 = _mm_set1_epi8((char)l->fold[l->i1]);
    const __m128i m1 = _mm_set1_epi8((char)l->mask[l->i1]);
    const __m128i c2 = _mm_set1_epi8((char)l->fold[l->i2]);
    const __m128i m2 = _mm_set1_epi8((char)l->mask[l->i2]);
    for (; i + 16 <= last + 1; i += 16) {
        __m128i x = _mm_or_si128(_mm_loadu_si128((const __m128i *)(a + i)), m1);
        __m128i y = _mm_or_si128(_mm_loadu_si128((const __m128i *)(b + i)), m2);
        unsigned bits = (unsigned)_mm_movemask_epi8(
            _mm_and_si128(_mm_cmpeq_epi8(x, c1), _mm_cmpeq_epi8(y, c2)));
        while (bits != 0) {
            size_t k = (size_t)__builtin_ctz(bits);
            if (mr_lit_verify(l, h + i + k))
                return hay + i + k;
            bits &= bits - 1;
        }
    }
#endif
    for (; i <= last; i++)
        if ((unsigned char)(h[i + l->i1] | l->mask[l->i1]) == l->fold[l->i1] &&
            mr_lit_verify(l, h + i))
            return hay + i;
    return NULL;
}

/*
 * Derive a literal that every match of `re` contains, or return 0 (no prefilter: the regex
 * runs on every line). Only top-level literal bytes count; groups, classes, escapes other than
 * escaped punctuation, and anything we do not fully understand end a run or give up, so the
 * answer is always safe (a shorter literal than possible, never a wrong one). *at_start is set
 * when nothing that consumes bytes comes before the literal, i.e. every match starts with it.
 * Called only on a regex that PCRE2 compiled, so its syntax is valid.
 */
static size_t mr_derive_literal(const char *re, unsigned char *best, size_t cap, int *at_start)
{
    unsigned char run[MR_LIT_MAX];
    size_t run_len = 0, best_len = 0;
    int last_literal = 0; /* the previous atom is the last byte of run */
    size_t atoms = 0;     /* atoms before the current one that may consume bytes */
    size_t run_atoms = 0; /* atoms before the run's first byte */
    const char *p = re;

    *at_start = 0;
#define MR_END_RUN()                                                                               \
    do {                                                                                           \
        if (run_len > best_len) {                                                                  \
            best_len = run_len < cap ? run_len : cap;                                              \
            memcpy(best, run, best_len);                                                           \
            *at_start = run_atoms == 0;                                                            \
        }                                                                                          \
        run_len = 0;                                                                               \
    } while (0)
#define MR_PUSH(byte)                                                                              \
    do {                                                                                           \
        if (run_len == sizeof(run))                                                                \
            MR_END_RUN();                                                                          \
        if (run_len == 0)                                                                          \
            run_atoms = atoms;                                                                     \
        run[run_len++] = (byte);                                                                   \
        atoms++;                                                                                   \
    } while (0)

    while (*p != '\0') {
        unsigned char c = (unsigned char)*p;
        if (c == '\\') {
            unsigned char n = (unsigned char)p[1];
            if (n == '\0')
                return 0;
            if (!mr_is_alpha(n) && !mr_is_digit(n)) {
                if (n >= 0x80)
                    return 0;
                MR_PUSH(n); /* escaped punctuation is that byte */
                last_literal = 1;
                p += 2;
                continue;
            }
            /* One-character escapes (classes, assertions, control characters). Others (\x, \p,
             * \Q, \g, \k, back-references...) take arguments: give up rather than misread. */
            if (strchr("dDsSwWbBhHvVRAzZGKXCntrfea", n) == NULL || (n == 'N' && p[2] == '{'))
                return 0;
            MR_END_RUN();
            if (strchr("bBAG", n) == NULL)
                atoms++; /* \b, \B, \A and \G consume nothing */
            last_literal = 0;
            p += 2;
            continue;
        }
        if (c == '[') {
            /* Skip a class: "]" first (after an optional "^") is literal, escapes and [:posix:]
             * names inside are skipped whole. */
            const char *q = p + 1;
            if (*q == '^')
                q++;
            if (*q == ']')
                q++;
            while (*q != '\0' && *q != ']') {
                if (*q == '\\' && q[1] != '\0')
                    q += 2;
                else if (*q == '[' && q[1] == ':') {
                    const char *e = strstr(q + 2, ":]");
                    if (e == NULL)
                        return 0;
                    q = e + 2;
                } else
                    q++;
            }
            if (*q != ']')
                return 0;
            MR_END_RUN();
            atoms++;
            last_literal = 0;
            p = q + 1;
            continue;
        }
        if (c == '(') {
            /* Option settings such as (?x) change how the rest reads: refuse those; skip every
             * other group whole (it may be optional or an alternation). */
            if (p[1] == '?') {
                const char *q = p + 2;
                while (mr_is_alpha((unsigned char)*q) || *q == '-' || *q == '^') {
                    if (*q == 'x')
                        return 0;
                    q++;
                }
            }
            int depth = 0;
            const char *q = p;
            while (*q != '\0') {
                if (*q == '\\' && q[1] != '\0') {
                    q += 2;
                    continue;
                }
                if (*q == '[') {
                    /* a class inside a group may hold parentheses */
                    const char *r = q + 1;
                    if (*r == '^')
                        r++;
                    if (*r == ']')
                        r++;
                    while (*r != '\0' && *r != ']') {
                        if (*r == '\\' && r[1] != '\0')
                            r += 2;
                        else if (*r == '[' && r[1] == ':') {
                            const char *e = strstr(r + 2, ":]");
                            if (e == NULL)
                                return 0;
                            r = e + 2;
                        } else
                            r++;
                    }
                    if (*r != ']')
                        return 0;
                    q = r + 1;
                    continue;
                }
                if (*q == '(')
                    depth++;
                else if (*q == ')' && --depth == 0)
                    break;
                q++;
            }
            if (*q != ')')
                return 0;
            MR_END_RUN();
            atoms++;
            last_literal = 0;
            p = q + 1;
            continue;
        }
        if (c == '|' || c == ')')
            return 0; /* a top-level alternation: no literal is common to every branch */
        if (c == '?' || c == '*' || c == '+' || c == '{') {
            unsigned long min = c == '+' ? 1 : 0;
            const char *q = p + 1;
            if (c == '{') {
                /* {n} {n,} {n,m} {,m}; anything else PCRE2 would read as literal text */
                int digits = 0;
                min = 0;
                while (mr_is_digit((unsigned char)*q)) {
                    min = min * 10 + (unsigned long)(*q - '0');
                    if (min > 100000)
                        return 0;
                    q++;
                    digits = 1;
                }
                if (*q == ',') {
                    q++;
                    while (mr_is_digit((unsigned char)*q)) {
                        q++;
                        digits = 1;
                    }
                }
                if (*q != '}' || !digits)
                    return 0;
                q++;
            }
            if (last_literal && run_len > 0 && min == 0)
                run_len--; /* the byte may be absent */
            MR_END_RUN();
            last_literal = 0;
            if (*q == '?' || *q == '+')
                q++; /* lazy or possessive */
            p = q;
            continue;
        }
        if (c == '.' || c == '^' || c == '$' || c >= 0x80 || c == '\n') {
            MR_END_RUN();
            if (c != '^')
                atoms++;
            last_literal = 0;
            p++;
            continue;
        }
        MR_PUSH(c);
        last_literal = 1;
        p++;
    }
    MR_END_RUN();
#undef MR_END_RUN
#undef MR_PUSH
    return best_len;
}

/* ---- Values ---------------------------------------------------------------------------------- */

/* Length of a minus-like character other than ASCII '-' ending at s[n-1] (U+2212, U+2010-2015,
 * U+207B, U+208B, U+FE63, U+FF0D in UTF-8), or 0. */
static size_t mr_minus_before(const unsigned char *s, size_t n)
{
    if (n < 3)
        return 0;
    const unsigned char *t = s + n - 3;
    if ((t[0] == 0xe2 && t[1] == 0x88 && t[2] == 0x92) ||
        (t[0] == 0xe2 && t[1] == 0x80 && t[2] >= 0x90 && t[2] <= 0x95) ||
        (t[0] == 0xe2 && t[1] == 0x81 && t[2] == 0xbb) ||
        (t[0] == 0xe2 && t[1] == 0x82 && t[2] == 0x8b) ||
        (t[0] == 0xef && t[1] == 0xb9 && t[2] == 0xa3) ||
        (t[0] == 0xef && t[1] == 0xbc && t[2] == 0x8d))
        return 3;
    return 0;
}

/*
 * Read a captured number, the one grammar of every pattern: an optional ASCII sign, digits with
 * optional thousands groups ("87,750"), an optional fraction and exponent, or a bare fraction
 * (".5"), then an optional "%" (divides by 100). Returns 0, or why it is refused: MR_C_MINUS for a
 * non-ASCII minus sign, MR_C_LONG for more than MR_NUM_MAX bytes, MR_C_NAN for anything else
 * ("nan", "inf", overflow, "31,0000").
 */
static int mr_parse_number(locale_t loc, const char *s, size_t n, double *out)
{
    char buf[MR_NUM_MAX + 8];
    size_t k = 0, i = 0, int_digits = 0, frac_digits = 0;
    int pct = 0;

    while (n > 0 && (s[0] == ' ' || s[0] == '\t'))
        s++, n--;
    while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t'))
        n--;
    if (n >= 3 && mr_minus_before((const unsigned char *)s, 3) != 0)
        return MR_C_MINUS;
    if (n > MR_NUM_MAX)
        return MR_C_LONG;
    if (n > 0 && s[n - 1] == '%') {
        pct = 1;
        n--;
    }
    if (n == 0)
        return MR_C_NAN;
    if (s[i] == '+' || s[i] == '-')
        buf[k++] = s[i++];
    while (i < n && mr_is_digit((unsigned char)s[i])) {
        buf[k++] = s[i++];
        int_digits++;
    }
    if (i < n && s[i] == ',') {
        if (int_digits < 1 || int_digits > 3)
            return MR_C_NAN;
        while (i < n && s[i] == ',') {
            if (i + 3 >= n || !mr_is_digit((unsigned char)s[i + 1]) ||
                !mr_is_digit((unsigned char)s[i + 2]) || !mr_is_digit((unsigned char)s[i + 3]))
                return MR_C_NAN;
            if (i + 4 < n && mr_is_digit((unsigned char)s[i + 4]))
                return MR_C_NAN;
            memcpy(buf + k, s + i + 1, 3);
            k += 3;
            int_digits += 3;
            i += 4;
        }
    }
    if (i < n && s[i] == '.') {
        buf[k++] = s[i++];
        while (i < n && mr_is_digit((unsigned char)s[i])) {
            buf[k++] = s[i++];
            frac_digits++;
        }
    }
    if (int_digits == 0 && frac_digits == 0)
        return MR_C_NAN;
    int has_exp = 0;
    if (i < n && (s[i] == 'e' || s[i] == 'E')) {
        size_t exp_digits = 0;
        has_exp = 1;
        buf[k++] = s[i++];
        if (i < n && (s[i] == '+' || s[i] == '-'))
            buf[k++] = s[i++];
        while (i < n && mr_is_digit((unsigned char)s[i])) {
            buf[k++] = s[i++];
            exp_digits++;
        }
        if (exp_digits == 0)
            return MR_C_NAN;
    }
    if (i != n)
        return MR_C_NAN;
    buf[k] = '\0';
    double v;
    /* Clinger's fast path: up to 15 digits and no exponent is an exact integer divided by an
     * exact power of ten, one correctly rounded operation, so the same double strtod gives. */
    if (int_digits + frac_digits <= 15 && !has_exp) {
        static const double pow10[] = {1e0, 1e1, 1e2,  1e3,  1e4,  1e5,  1e6,  1e7,
                                       1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15};
        uint64_t mant = 0;
        for (size_t j = 0; j < k; j++)
            if (mr_is_digit((unsigned char)buf[j]))
                mant = mant * 10 + (uint64_t)(buf[j] - '0');
        v = (double)mant / pow10[frac_digits];
        if (buf[0] == '-')
            v = -v;
    } else {
        char *end = NULL;
        v = strtod_l(buf, &end, loc);
        if (end != buf + k || !isfinite(v))
            return MR_C_NAN;
    }
    v = pct ? v / 100.0 : v;
    /* "-0" reads as 0: a negative zero would make max and min depend on the order two equal
     * values were seen in (found by the fuzzer: the whole log and its chunks disagreed). */
    *out = v == 0.0 ? 0.0 : v;
    return 0;
}

/* ---- Compiling patterns ---------------------------------------------------------------------- */

static int mr_reducer_from_name(const char *s)
{
    for (int i = 0; metrics_regex_reducer_names[i] != NULL; i++)
        if (strcmp(s, metrics_regex_reducer_names[i]) == 0)
            return i;
    return -1;
}

/* Where a setting came from, for messages: the plan's file:line or "default pattern". */
static const char *mr_where(const struct metrics_regex *inst, const relhost_ctx *ctx,
                            const struct mr_pat *p, const void *field)
{
    if (p->where_text != NULL)
        return p->where_text;
    if (p->where_field == NULL)
        return "default pattern";
    if (inst->host->where == NULL)
        return "the plan";
    const char *w = inst->host->where(ctx, field);
    return w != NULL ? w : "the plan";
}

/* Group numbers of every group called `name` (names may repeat across alternatives). */
static size_t mr_named_groups(const pcre2_code *code, const char *name, uint32_t *out, size_t cap)
{
    uint32_t count = 0, entry = 0;
    PCRE2_SPTR table = NULL;
    size_t n = 0;
    if (pcre2_pattern_info(code, PCRE2_INFO_NAMECOUNT, &count) != 0 || count == 0)
        return 0;
    pcre2_pattern_info(code, PCRE2_INFO_NAMEENTRYSIZE, &entry);
    pcre2_pattern_info(code, PCRE2_INFO_NAMETABLE, &table);
    for (uint32_t i = 0; i < count && n < cap; i++) {
        const unsigned char *e = table + (size_t)i * entry;
        if (strcmp((const char *)e + 2, name) == 0)
            out[n++] = ((uint32_t)e[0] << 8) | e[1];
    }
    return n;
}

/*
 * Compile one pattern (already holding name, regex, scale, label and where_field) and fill its
 * value/unit groups, reducers, keys and literal. Explains a failure through host->fail().
 */
static int mr_pat_build(struct metrics_regex *inst, const relhost_ctx *ctx, struct mr_pat *p,
                        const char *const *reducers, size_t n_reducers, const char *metric,
                        const char *prefilter, const char *lead, int case_insensitive,
                        const struct metrics_regex_pattern *row)
{
    const relhost_host *h = inst->host;
    int err = 0;
    PCRE2_SIZE off = 0;

    if (!mr_valid_key(p->name)) {
        h->fail(ctx, "pattern \"%s\" (%s): the name must be 1-128 characters of A-Z a-z 0-9 _ . -",
                p->name, mr_where(inst, ctx, p, row ? (const void *)&row->name : NULL));
        return RELHOST_EINVAL;
    }
    if (metric != NULL && !mr_valid_key(metric)) {
        h->fail(ctx, "pattern \"%s\" (%s): metric \"%s\" must be 1-128 characters of "
                "A-Z a-z 0-9 _ . -", p->name,
                mr_where(inst, ctx, p, row ? (const void *)&row->metric : NULL), metric);
        return RELHOST_EINVAL;
    }

    /* (*UTF) is refused: logs are bytes, and a JIT match on invalid UTF-8 would be undefined. */
    uint32_t opts = PCRE2_DUPNAMES | PCRE2_NEVER_UTF | (case_insensitive ? PCRE2_CASELESS : 0);
    p->code = pcre2_compile((PCRE2_SPTR)p->regex, PCRE2_ZERO_TERMINATED, opts, &err, &off, NULL);
    if (p->code == NULL) {
        PCRE2_UCHAR msg[256];
        if (pcre2_get_error_message(err, msg, sizeof(msg)) < 0)
            snprintf((char *)msg, sizeof(msg), "error %d", err);
        h->fail(ctx, "pattern \"%s\" (%s): regex does not compile: %s at offset %zu of \"%s\"",
                p->name, mr_where(inst, ctx, p, p->where_field), (const char *)msg, (size_t)off,
                p->regex);
        return RELHOST_EINVAL;
    }
    /* JIT is much faster; a build or platform without it still works with the interpreter. */
    p->jit = pcre2_jit_compile(p->code, PCRE2_JIT_COMPLETE) == 0;

    uint32_t captures = 0;
    pcre2_pattern_info(p->code, PCRE2_INFO_CAPTURECOUNT, &captures);
    if (captures + 1 > inst->max_pairs)
        inst->max_pairs = captures + 1;
    p->n_unit = mr_named_groups(p->code, "unit", p->unit_groups, MR_MAX_GROUPS);
    p->n_value = mr_named_groups(p->code, "value", p->value_groups, MR_MAX_GROUPS);
    if (p->n_value == 0) {
        for (uint32_t g = 1; g <= captures && p->n_value < MR_MAX_GROUPS; g++) {
            int is_unit = 0;
            for (size_t u = 0; u < p->n_unit; u++)
                is_unit |= p->unit_groups[u] == g;
            if (!is_unit)
                p->value_groups[p->n_value++] = g;
        }
    }
    if (p->n_value == 0) {
        h->fail(ctx, "pattern \"%s\" (%s): the regex has no capture group for the value; put the "
                "number in parentheses, e.g. \"loss[:=]\\\\s*([0-9.]+)\"",
                p->name, mr_where(inst, ctx, p, p->where_field));
        return RELHOST_EINVAL;
    }

    /* Reducers and the names they post. */
    const void *red_field = row ? (const void *)&row->reducers : NULL;
    if (n_reducers == 0) {
        h->fail(ctx, "pattern \"%s\" (%s): reducers is empty; use one or more of max, min, last, "
                "first, mean, count", p->name, mr_where(inst, ctx, p, red_field));
        return RELHOST_EINVAL;
    }
    if (n_reducers > MR_N_REDUCERS) {
        h->fail(ctx, "pattern \"%s\" (%s): %zu reducers given; each of max, min, last, first, "
                "mean, count may appear once", p->name, mr_where(inst, ctx, p, red_field),
                n_reducers);
        return RELHOST_EINVAL;
    }
    for (size_t i = 0; i < n_reducers; i++) {
        int r = mr_reducer_from_name(reducers[i]);
        if (r < 0) {
            h->fail(ctx, "pattern \"%s\" (%s): unknown reducer \"%s\"; use max, min, last, first, "
                    "mean or count", p->name, mr_where(inst, ctx, p, red_field), reducers[i]);
            return RELHOST_EINVAL;
        }
        for (size_t j = 0; j < i; j++)
            if ((int)p->reducers[j] == r) {
                h->fail(ctx, "pattern \"%s\" (%s): reducer \"%s\" is listed twice", p->name,
                        mr_where(inst, ctx, p, red_field), reducers[i]);
                return RELHOST_EINVAL;
            }
        p->reducers[i] = (enum mr_reducer)r;
    }
    p->n_out = n_reducers;
    if (p->label) {
        if (n_reducers != 1 || (p->reducers[0] != MR_LAST && p->reducers[0] != MR_FIRST)) {
            h->fail(ctx, "pattern \"%s\" (%s): a label keeps one value: reducers must be "
                    "\"last\" or \"first\"", p->name, mr_where(inst, ctx, p, red_field));
            return RELHOST_EINVAL;
        }
        p->keys[0] = strdup(metric != NULL ? metric : p->name);
        if (p->keys[0] == NULL)
            return RELHOST_ENOMEM;
    } else if (metric != NULL) {
        if (n_reducers != 1) {
            h->fail(ctx, "pattern \"%s\" (%s): metric names one metric but %zu reducers are "
                    "listed; keep one reducer, or drop metric to get %s_<reducer>", p->name,
                    mr_where(inst, ctx, p, row ? (const void *)&row->metric : NULL), n_reducers,
                    p->name);
            return RELHOST_EINVAL;
        }
        p->keys[0] = strdup(metric);
        if (p->keys[0] == NULL)
            return RELHOST_ENOMEM;
    } else {
        for (size_t i = 0; i < n_reducers; i++) {
            size_t len = strlen(p->name) + 1 + strlen(reducers[i]) + 1;
            p->keys[i] = malloc(len);
            if (p->keys[i] == NULL)
                return RELHOST_ENOMEM;
            snprintf(p->keys[i], len, "%s_%s", p->name, reducers[i]);
        }
    }

    /* The prefilter: given, derived, or none. */
    if (prefilter != NULL) {
        if (memchr(prefilter, '\n', strlen(prefilter)) != NULL) {
            h->fail(ctx, "pattern \"%s\" (%s): prefilter contains a newline, but lines never do",
                    p->name, mr_where(inst, ctx, p, row ? (const void *)&row->prefilter : NULL));
            return RELHOST_EINVAL;
        }
        mr_lit_set(&p->lit, (const unsigned char *)prefilter, strlen(prefilter));
        if (lead != NULL && p->lit.len > 0) {
            p->lead_known = 1;
            for (const unsigned char *b = (const unsigned char *)lead; *b != '\0'; b++)
                p->lead_set[*b >> 3] |= (uint8_t)(1u << (*b & 7));
        }
    } else {
        unsigned char lit[MR_LIT_MAX];
        int at_start = 0;
        size_t n = mr_derive_literal(p->regex, lit, sizeof(lit), &at_start);
        mr_lit_set(&p->lit, lit, n);
        p->lead_known = n > 0 && at_start; /* nothing may precede the literal */
    }
    return 0;
}

static void mr_pat_free(struct mr_pat *p)
{
    if (p == NULL)
        return;
    pcre2_code_free(p->code);
    for (size_t i = 0; i < MR_N_REDUCERS; i++)
        free(p->keys[i]);
}

static void metrics_regex_close(void *instp)
{
    struct metrics_regex *inst = instp;
    if (inst == NULL)
        return;
    for (size_t i = 0; i < inst->n_pats; i++)
        mr_pat_free(&inst->pats[i]);
    free(inst->pats);
    free(inst->groups);
    if (inst->c_locale != (locale_t)0)
        freelocale(inst->c_locale);
    free(inst);
}

static const struct metrics_regex_pattern *mr_row(const struct metrics_regex_conf *conf, size_t i)
{
    return (const struct metrics_regex_pattern *)((const char *)conf->patterns.items +
                                                  i * sizeof(struct metrics_regex_pattern));
}

/* Order patterns so that those sharing a literal are adjacent (one search serves them all),
 * keeping plan order otherwise; the every-line group, if any, comes last. */
static int mr_group_patterns(struct metrics_regex *inst)
{
    struct mr_pat *sorted = calloc(inst->n_pats, sizeof(*sorted));
    inst->groups = calloc(inst->n_pats, sizeof(*inst->groups));
    if (sorted == NULL || inst->groups == NULL) {
        free(sorted);
        return RELHOST_ENOMEM;
    }
    int *taken = calloc(inst->n_pats, sizeof(*taken));
    if (taken == NULL) {
        free(sorted);
        return RELHOST_ENOMEM;
    }
    size_t k = 0;
    for (size_t r = 0; r < 2 * inst->n_pats; r++) {
        size_t i = r % inst->n_pats;
        if (taken[i] || (r < inst->n_pats) != (inst->pats[i].lit.len > 0))
            continue;
        struct mr_group *g = &inst->groups[inst->n_groups++];
        g->lit = inst->pats[i].lit;
        g->first = k;
        for (size_t j = i; j < inst->n_pats; j++) {
            if (!taken[j] && mr_lit_equal(&inst->pats[j].lit, &g->lit)) {
                taken[j] = 1;
                sorted[k++] = inst->pats[j];
                g->n++;
            }
        }
    }
    free(taken);
    free(inst->pats);
    inst->pats = sorted;
    return 0;
}

static int metrics_regex_open(const relhost_ctx *ctx, const void *confp, void **out)
{
    const struct metrics_regex_conf *conf = confp;
    const relhost_host *h = metrics_regex_host;
    int rc;

    *out = NULL;
    if (h == NULL)
        return RELHOST_EINVAL;
    struct metrics_regex *inst = calloc(1, sizeof(*inst));
    if (inst == NULL) {
        h->fail(ctx, "out of memory opening metrics_regex");
        return RELHOST_ENOMEM;
    }
    inst->host = h;
    inst->conf = conf;
    inst->max_line = conf->max_line >= 64 ? (size_t)conf->max_line : 64;
    inst->max_pairs = 1;
    inst->c_locale = newlocale(LC_NUMERIC_MASK, "C", (locale_t)0);
#if defined(MR_HAVE_AVX2)
    __builtin_cpu_init(); /* cheap, and required before the first query in some load orders */
    inst->avx2 = __builtin_cpu_supports("avx2") != 0;
#endif
    size_t n_user = conf->patterns.n, n_preset_rows = 0;
    /* Presets: each a known name, listed once (the host does not check a list's choices). */
    for (size_t i = 0; i < conf->presets.n; i++) {
        const struct mr_preset *ps = mr_preset_find(conf->presets.v[i]);
        const char *w = h->where ? h->where(ctx, &conf->presets) : NULL;
        if (ps == NULL) {
            h->fail(ctx, "presets (%s): unknown preset \"%s\"; use sb3, sample_factory, rl_games, "
                    "rllib, hf_trainer or tqdm", w ? w : "the plan",
                    conf->presets.v[i] ? conf->presets.v[i] : "");
            metrics_regex_close(inst);
            return RELHOST_EINVAL;
        }
        for (size_t j = 0; j < i; j++)
            if (strcmp(conf->presets.v[j], conf->presets.v[i]) == 0) {
                h->fail(ctx, "presets (%s): preset \"%s\" is listed twice", w ? w : "the plan",
                        conf->presets.v[i]);
                metrics_regex_close(inst);
                return RELHOST_EINVAL;
            }
        n_preset_rows += ps->n;
    }
    inst->pats = calloc(MR_N_DEFAULTS + n_preset_rows + n_user, sizeof(*inst->pats));
    if (inst->pats == NULL || inst->c_locale == (locale_t)0) {
        h->fail(ctx, "out of memory opening metrics_regex");
        metrics_regex_close(inst);
        return RELHOST_ENOMEM;
    }

    /* Plan patterns must have distinct names; one named like a default replaces that default. */
    for (size_t i = 0; i < n_user; i++) {
        const struct metrics_regex_pattern *row = mr_row(conf, i);
        for (size_t j = 0; j < i; j++) {
            if (row->name != NULL && mr_row(conf, j)->name != NULL &&
                strcmp(row->name, mr_row(conf, j)->name) == 0) {
                const char *w = h->where ? h->where(ctx, &row->name) : NULL;
                h->fail(ctx, "pattern \"%s\" (%s) is defined twice; give each pattern its own "
                        "name", row->name, w ? w : "the plan");
                metrics_regex_close(inst);
                return RELHOST_EINVAL;
            }
        }
    }
    if (conf->defaults) {
        for (size_t d = 0; d < MR_N_DEFAULTS; d++) {
            const struct mr_default *def = &metrics_regex_defaults[d];
            int replaced = 0;
            for (size_t i = 0; i < n_user; i++)
                replaced |= mr_row(conf, i)->name && strcmp(mr_row(conf, i)->name, def->name) == 0;
            if (replaced)
                continue;
            struct mr_pat *p = &inst->pats[inst->n_pats++];
            size_t nr = 0;
            while (def->reducers[nr] != NULL)
                nr++;
            p->name = def->name;
            p->regex = def->regex;
            p->scale = 1.0;
            p->label = def->label;
            p->has_range = !def->label;
            p->lo = def->lo;
            p->hi = def->hi;
            p->integer = def->integer;
            p->summary = def->summary;
            p->alias = def->alias;
            rc = mr_pat_build(inst, ctx, p, def->reducers, nr, def->metric, def->prefilter,
                              def->lead, !def->case_sensitive, NULL);
            if (rc == 0 && p->alias) {
                for (size_t k = 0; k < MR_N_REDUCERS; k++) {
                    free(p->keys[k]);
                    p->keys[k] = NULL;
                }
                p->n_out = 0; /* its values are posted by the pattern it adds to */
            }
            if (rc != 0) {
                if (rc == RELHOST_ENOMEM)
                    h->fail(ctx, "out of memory compiling default pattern \"%s\"", p->name);
                metrics_regex_close(inst);
                return rc;
            }
        }
    }
    /* Preset patterns, like defaults: a plan pattern of the same name replaces one. */
    for (size_t i = 0; i < conf->presets.n; i++) {
        const struct mr_preset *ps = mr_preset_find(conf->presets.v[i]);
        for (size_t r = 0; r < ps->n; r++) {
            const struct mr_preset_row *pr = &ps->rows[r];
            int replaced = 0;
            for (size_t u = 0; u < n_user; u++)
                replaced |= mr_row(conf, u)->name && strcmp(mr_row(conf, u)->name, pr->name) == 0;
            if (replaced)
                continue;
            struct mr_pat *p = &inst->pats[inst->n_pats++];
            size_t nr = 0;
            while (nr < 3 && pr->reducers[nr] != NULL)
                nr++;
            p->name = pr->name;
            p->regex = pr->regex;
            p->where_text = ps->where;
            p->scale = 1.0;
            p->has_range = 1;
            p->lo = pr->lo;
            p->hi = pr->hi;
            p->integer = pr->integer;
            p->alias = pr->alias;
            p->invert = pr->invert;
            rc = mr_pat_build(inst, ctx, p, pr->reducers, nr, pr->metric, pr->prefilter, NULL, 0,
                              NULL);
            if (rc == 0 && p->alias) {
                for (size_t k = 0; k < MR_N_REDUCERS; k++) {
                    free(p->keys[k]);
                    p->keys[k] = NULL;
                }
                p->n_out = 0;
            }
            if (rc != 0) {
                if (rc == RELHOST_ENOMEM)
                    h->fail(ctx, "out of memory compiling %s pattern \"%s\"", ps->where, p->name);
                metrics_regex_close(inst);
                return rc;
            }
        }
    }
    for (size_t i = 0; i < n_user; i++) {
        const struct metrics_regex_pattern *row = mr_row(conf, i);
        struct mr_pat *p = &inst->pats[inst->n_pats++];
        p->name = row->name != NULL ? row->name : "";
        p->regex = row->regex != NULL ? row->regex : "";
        p->where_field = &row->regex;
        p->scale = row->scale;
        p->label = row->label;
        if (!isfinite(p->scale)) {
            const char *w = h->where ? h->where(ctx, &row->scale) : NULL;
            h->fail(ctx, "pattern \"%s\" (%s): scale must be a finite number", p->name,
                    w ? w : "the plan");
            metrics_regex_close(inst);
            return RELHOST_EINVAL;
        }
        rc = mr_pat_build(inst, ctx, p, row->reducers.v, row->reducers.n, row->metric,
                          row->prefilter, NULL, row->case_insensitive, row);
        if (rc != 0) {
            if (rc == RELHOST_ENOMEM)
                h->fail(ctx, "out of memory compiling pattern \"%s\"", p->name);
            metrics_regex_close(inst);
            return rc;
        }
    }
    if (inst->n_pats == 0) {
        h->fail(ctx, "metrics_regex has no patterns: set defaults = true, add presets or "
                "patterns");
        metrics_regex_close(inst);
        return RELHOST_EINVAL;
    }

    /* Two patterns posting one metric would overwrite each other's evidence. */
    for (size_t i = 0; i < inst->n_pats; i++)
        for (size_t j = 0; j <= i; j++)
            for (size_t a = 0; a < inst->pats[i].n_out; a++)
                for (size_t b = 0; b < inst->pats[j].n_out; b++) {
                    if ((i == j && b >= a) || strcmp(inst->pats[i].keys[a],
                                                     inst->pats[j].keys[b]) != 0)
                        continue;
                    h->fail(ctx, "patterns \"%s\" (%s) and \"%s\" (%s) both post \"%s\"; "
                            "rename one (a pattern named like a default or preset pattern "
                            "replaces it)",
                            inst->pats[j].name,
                            mr_where(inst, ctx, &inst->pats[j], inst->pats[j].where_field),
                            inst->pats[i].name,
                            mr_where(inst, ctx, &inst->pats[i], inst->pats[i].where_field),
                            inst->pats[i].keys[a]);
                    metrics_regex_close(inst);
                    return RELHOST_EINVAL;
                }

    rc = mr_group_patterns(inst);
    if (rc != 0) {
        h->fail(ctx, "out of memory opening metrics_regex");
        metrics_regex_close(inst);
        return rc;
    }
    /* An alias adds its samples to the default of the same name (sorting moved them). */
    for (size_t i = 0; i < inst->n_pats; i++) {
        inst->pats[i].acc_id = i;
        if (!inst->pats[i].alias)
            continue;
        for (size_t j = 0; j < inst->n_pats; j++)
            if (!inst->pats[j].alias && inst->pats[j].where_field == NULL &&
                inst->pats[j].where_text == inst->pats[i].where_text &&
                strcmp(inst->pats[j].name, inst->pats[i].name) == 0)
                inst->pats[i].acc_id = j;
    }
    *out = inst;
    return 0;
}

/* ---- Jobs ------------------------------------------------------------------------------------ */

static void metrics_regex_job_close(void *jobp)
{
    struct metrics_regex_job *job = jobp;
    if (job == NULL)
        return;
    pcre2_match_data_free(job->md);
    pcre2_match_context_free(job->mctx);
    pcre2_jit_stack_free(job->jit_stack);
    free(job->carry);
    free(job->acc);
    free(job);
}

static int metrics_regex_job_open(const relhost_ctx *ctx, void *instp, const relhost_job_spec *spec,
                                  void **out)
{
    struct metrics_regex *inst = instp;
    struct metrics_regex_job *job = calloc(1, sizeof(*job));
    *out = NULL;
    if (job == NULL)
        goto oom;
    job->inst = inst;
    job->acc = calloc(inst->n_pats, sizeof(*job->acc));
    job->md = pcre2_match_data_create(inst->max_pairs, NULL);
    job->mctx = pcre2_match_context_create(NULL);
    /* Room for user regexes that backtrack deeply; grown on demand, so it costs nothing here. */
    job->jit_stack = pcre2_jit_stack_create(32 * 1024, 1024 * 1024, NULL);
    if (job->acc == NULL || job->md == NULL || job->mctx == NULL || job->jit_stack == NULL)
        goto oom;
    pcre2_jit_stack_assign(job->mctx, NULL, job->jit_stack);
    *out = job;
    return 0;
oom:
    metrics_regex_job_close(job);
    inst->host->fail(ctx, "out of memory starting a metrics_regex job%s%s",
                     spec && spec->validation ? " for " : "",
                     spec && spec->validation ? spec->validation : "");
    return RELHOST_ENOMEM;
}

/* 1-based number of the line being matched, counting newlines on demand (only for notes). */
static uint64_t mr_line_no(struct metrics_regex_job *job)
{
    if (job->region == NULL)
        return job->line + 1;
    if (job->count_ptr == NULL || job->cur_ls < job->count_ptr) {
        job->count_ptr = job->region;
        job->count_lines = job->line;
    }
    for (const char *q = job->count_ptr; q < job->cur_ls;) {
        const char *nl = memchr(q, '\n', (size_t)(job->cur_ls - q));
        if (nl == NULL)
            break;
        job->count_lines++;
        q = nl + 1;
    }
    job->count_ptr = job->cur_ls;
    return job->count_lines + 1;
}

/* A [SUMMARY] marker: an exit code, or a field the current block already has, starts a block. */
static void mr_summary(struct metrics_regex_job *job, const struct mr_pat *p, struct mr_acc *a)
{
    if (p->summary == 0)
        return;
    unsigned bit = 1u << (p->summary - 1);
    if (p->summary == 1 || (job->block_seen & bit) != 0) {
        job->block++;
        job->block_seen = 0;
        job->block_line = mr_line_no(job);
    }
    job->block_seen |= bit;
    a->block = job->block;
    a->has_block = 1;
}

static void mr_refuse(struct metrics_regex_job *job, const struct mr_pat *p, struct mr_acc *a,
                      enum mr_cause cause, const char *s, size_t n, uint64_t key)
{
    uint64_t line = mr_line_no(job);
    /* First and last by position in the log, not by when they were seen: a one-chunk scan
     * visits each literal's lines in turn, a chunked one sees them interleaved. */
    if (a->bad[cause]++ == 0 || key < a->bad_key[cause]) {
        mr_example(a->bad_example[cause], sizeof(a->bad_example[cause]), s, n);
        a->bad_line[cause] = line;
        a->bad_key[cause] = key;
    }
    if (a->n_bad++ == 0 || key >= a->last_bad_key) {
        a->last_bad_key = key;
        a->last_bad_line = line;
        a->last_bad_cause = (int)cause;
    }
    mr_summary(job, p, a);
}

/* One match of pattern p: reduce its value (or keep its label), or refuse it with a cause. */
static void mr_sample(struct metrics_regex_job *job, const struct mr_pat *p, struct mr_acc *a,
                      const char *line, const PCRE2_SIZE *ov)
{
    const char *txt = NULL;
    size_t len = 0;
    uint64_t key = job->cur_abs + ov[0];
    for (size_t i = 0; i < p->n_value; i++) {
        uint32_t g = p->value_groups[i];
        if (ov[2 * g] != PCRE2_UNSET) {
            txt = line + ov[2 * g];
            len = ov[2 * g + 1] - ov[2 * g];
            break;
        }
    }
    if (txt == NULL) {
        mr_refuse(job, p, a, MR_C_NAN, line + ov[0], ov[1] - ov[0], key);
        return;
    }
    if (p->label) {
        mr_summary(job, p, a);
        if (p->reducers[0] == MR_FIRST && a->n > 0)
            return;
        size_t keep = len < MR_LABEL_MAX ? len : MR_LABEL_MAX;
        memcpy(a->label, txt, keep);
        a->label[keep] = '\0';
        a->label_truncated = keep < len;
        a->last_key = key;
        a->n++;
        return;
    }
    double v = 0.0, unit = 1.0;
    /* A minus sign the regex left out of the capture, if it is not ASCII: never read as +. */
    if (mr_minus_before((const unsigned char *)line, (size_t)(txt - line)) != 0) {
        mr_refuse(job, p, a, MR_C_MINUS, txt - 3, len + 3, key);
        return;
    }
    int cause = mr_parse_number(job->inst->c_locale, txt, len, &v);
    if (cause != 0) {
        mr_refuse(job, p, a, (enum mr_cause)cause, txt, len, key);
        return;
    }
    for (size_t i = 0; i < p->n_unit; i++) {
        uint32_t g = p->unit_groups[i];
        if (ov[2 * g] == PCRE2_UNSET || ov[2 * g + 1] == ov[2 * g])
            continue;
        /* Throughputs are never in milli units, so m and M both mean mega (see README). */
        switch (line[ov[2 * g]]) {
        case 'k': case 'K': unit = 1e3; break;
        case 'm': case 'M': unit = 1e6; break;
        case 'g': case 'G': case 'b': case 'B': unit = 1e9; break;
        default:
            mr_refuse(job, p, a, MR_C_UNIT, txt, ov[2 * g + 1] - (size_t)(txt - line), key);
            return;
        }
        break;
    }
    v *= unit;
    if (p->invert)
        v = 1.0 / v; /* 0 gives inf: refused below as not a finite number */
    v *= p->scale;
    if (!isfinite(v)) {
        mr_refuse(job, p, a, MR_C_NAN, txt, len, key);
        return;
    }
    if (p->has_range && !(v >= p->lo && v <= p->hi)) {
        mr_refuse(job, p, a, MR_C_RANGE, txt, len, key);
        return;
    }
    if (p->integer && v != (double)(long long)v) {
        mr_refuse(job, p, a, MR_C_INT, txt, len, key);
        return;
    }
    mr_summary(job, p, a);
    if (a->n == 0) {
        a->first = a->min = a->max = a->mean = a->last = v;
        a->first_key = a->last_key = key;
    } else {
        if (v < a->min)
            a->min = v;
        if (v > a->max)
            a->max = v;
        /* A running mean cannot overflow where a sum of large values would. */
        a->mean += (v - a->mean) / (double)(a->n + 1);
        /* Two patterns may feed one accumulator (a default and its alias): order by position. */
        if (key >= a->last_key) {
            a->last = v;
            a->last_key = key;
        }
        if (key < a->first_key) {
            a->first = v;
            a->first_key = key;
        }
    }
    a->n++;
}

/*
 * Run pattern p over one line (no newline), taking every non-overlapping match like findall.
 * Every match holds the pattern's literal, so the search ends when no literal is left; and when
 * the bytes that can precede the literal in a match are known, it starts just before the next
 * literal. PCRE2 still sees the whole line, so \b and lookbehinds read the bytes before `from`.
 */
static void mr_match_line(struct metrics_regex_job *job, size_t pi, const char *line, size_t len,
                          const char *hit)
{
    const struct mr_pat *p = &job->inst->pats[pi];
    struct mr_acc *a = &job->acc[p->acc_id];
    PCRE2_SIZE off = 0;
    for (;;) {
        PCRE2_SIZE from = off;
        if (p->lit.len > 0) {
            /* the scan's hit is the line's first literal; later ones are looked for here */
            const char *o = off == 0 && hit != NULL
                                ? hit
                                : mr_lit_find(&p->lit, line + off, len - off, job->inst->avx2);
            if (o == NULL)
                return;
            if (p->lead_known) {
                from = (PCRE2_SIZE)(o - line);
                while (from > off && (p->lead_set[(unsigned char)line[from - 1] >> 3] >>
                                      ((unsigned char)line[from - 1] & 7) & 1))
                    from--;
            }
        }
        int rc = p->jit ? pcre2_jit_match(p->code, (PCRE2_SPTR)line, len, from, 0, job->md,
                                          job->mctx)
                        : pcre2_match(p->code, (PCRE2_SPTR)line, len, from, 0, job->md, job->mctx);
        if (rc == PCRE2_ERROR_NOMATCH)
            return;
        if (rc < 0) {
            /* A match or stack limit on a pathological line: count it, keep going. */
            if (job->match_errors++ == 0)
                job->first_match_error = rc;
            return;
        }
        const PCRE2_SIZE *ov = pcre2_get_ovector_pointer(job->md);
        mr_sample(job, p, a, line, ov);
        PCRE2_SIZE next = ov[1];
        if (ov[1] <= ov[0] || ov[1] <= from)
            next = (ov[1] > from ? ov[1] : from) + 1; /* empty match: step on one byte */
        if (next > len)
            return;
        off = next;
    }
}

/* Line [ls, le) for every pattern of g; hit: the line's first literal, or NULL. */
static void mr_run_group_line(struct metrics_regex_job *job, const struct mr_group *g,
                              const char *ls, const char *le, const char *hit)
{
    job->cur_ls = ls;
    job->cur_abs = job->region != NULL ? job->region_abs + (uint64_t)(ls - job->region)
                                       : job->seg_abs;
    for (size_t i = 0; i < g->n; i++)
        mr_match_line(job, g->first + i, ls, (size_t)(le - ls), hit);
}

/* Run group g over the lines of [pos, end) that hold its literal (or over every line). */
static void mr_scan_group(struct metrics_regex_job *job, const struct mr_group *g, const char *pos,
                          const char *end)
{
    while (pos < end) {
        const char *ls = pos, *le, *hit = NULL;
        if (g->lit.len > 0) {
            hit = mr_lit_find(&g->lit, pos, (size_t)(end - pos), job->inst->avx2);
            if (hit == NULL)
                return;
            const char *nl = memrchr(pos, '\n', (size_t)(hit - pos));
            ls = nl != NULL ? nl + 1 : pos;
            le = memchr(hit, '\n', (size_t)(end - hit));
        } else {
            le = memchr(pos, '\n', (size_t)(end - pos));
        }
        if (le == NULL)
            le = end;
        mr_run_group_line(job, g, ls, le, hit);
        pos = le == end ? end : le + 1;
    }
}

/*
 * Scan [p, p+n): whole lines, p at a line start; the last line may lack its newline (the carry
 * or the log's unterminated end). No line here is longer than max_line.
 */
static void mr_scan(struct metrics_regex_job *job, const char *p, size_t n)
{
    /* One pass per literal: a 64 KiB chunk stays in L2 across passes, and a fused multi-literal
     * loop measured slower (its vectors no longer fit in registers). */
    for (size_t gi = 0; gi < job->inst->n_groups; gi++)
        mr_scan_group(job, &job->inst->groups[gi], p, p + n);
}

/* Lines [p, p+n), ending with a newline: skip (and count) those longer than max_line. */
static void mr_scan_complete(struct metrics_regex_job *job, const char *p, size_t n)
{
    size_t max = job->inst->max_line;
    while (n > 0) {
        if (n <= max + 1) {
            mr_scan(job, p, n);
            return;
        }
        /* The last newline in the next max+1 bytes; none means the line at p is too long. */
        const char *w = memrchr(p, '\n', max + 1);
        if (w == NULL) {
            const char *e = memchr(p + max + 1, '\n', n - max - 1); /* n ends with one */
            job->long_lines++;
            n -= (size_t)(e + 1 - p);
            p = e + 1;
            continue;
        }
        size_t k = (size_t)(w + 1 - p);
        mr_scan(job, p, k);
        p += k;
        n -= k;
    }
}

static int mr_carry_append(struct metrics_regex_job *job, const char *s, size_t n)
{
    size_t need = job->carry_len + n; /* callers keep need <= max_line */
    if (need > job->carry_cap) {
        size_t cap = job->carry_cap ? job->carry_cap * 2 : 4096;
        if (cap < need)
            cap = need;
        if (cap > job->inst->max_line)
            cap = job->inst->max_line;
        char *c = realloc(job->carry, cap);
        if (c == NULL)
            return RELHOST_ENOMEM;
        job->carry = c;
        job->carry_cap = cap;
    }
    memcpy(job->carry + job->carry_len, s, n);
    job->carry_len += n;
    return 0;
}

/* One segment (no \r or \n in it, escape sequences removed) from the carry, for every group. */
static void mr_scan_segment(struct metrics_regex_job *job, const char *p, size_t n)
{
    if (p == NULL)
        p = ""; /* an empty segment before any carry exists: NULL + 0 is undefined in C */
    job->region = NULL;
    for (size_t gi = 0; gi < job->inst->n_groups; gi++) {
        const struct mr_group *g = &job->inst->groups[gi];
        const char *hit = NULL;
        if (g->lit.len > 0 && (hit = mr_lit_find(&g->lit, p, n, job->inst->avx2)) == NULL)
            continue;
        mr_run_group_line(job, g, p, p + n, hit);
    }
}

#if defined(MR_HAVE_AVX2)
/* The AVX2 form of the loop below: 64 bytes a step, newlines counted with popcnt (every CPU
 * with AVX2 has it). Stops at the first 64-byte block holding an ESC or a \r (or too short). */
__attribute__((target("avx2,popcnt"))) static size_t mr_plain_prefix_avx2(const char *p, size_t n,
                                                                          uint64_t *nl)
{
    const __m256i vnl = _mm256_set1_epi8('\n'), vesc = _mm256_set1_epi8(0x1b);
    const __m256i vcr = _mm256_set1_epi8('\r');
    size_t i = 0;
    uint64_t c = 0;
    for (; i + 64 <= n; i += 64) {
        __m256i x = _mm256_loadu_si256((const void *)(p + i));
        __m256i y = _mm256_loadu_si256((const void *)(p + i + 32));
        __m256i sp = _mm256_or_si256(
            _mm256_or_si256(_mm256_cmpeq_epi8(x, vesc), _mm256_cmpeq_epi8(x, vcr)),
            _mm256_or_si256(_mm256_cmpeq_epi8(y, vesc), _mm256_cmpeq_epi8(y, vcr)));
        if (!_mm256_testz_si256(sp, sp))
            break;
        uint64_t bits = (uint64_t)(uint32_t)_mm256_movemask_epi8(_mm256_cmpeq_epi8(x, vnl)) |
                        (uint64_t)(uint32_t)_mm256_movemask_epi8(_mm256_cmpeq_epi8(y, vnl)) << 32;
        c += (uint64_t)__builtin_popcountll(bits);
    }
    *nl = c;
    return i;
}
#endif

/*
 * Length of the prefix of [p, p+n) holding no ESC and no \r (bytes the fast path cannot take),
 * and in *nl the newlines in it.
 */
static size_t mr_plain_prefix(const char *p, size_t n, uint64_t *nl, int avx2)
{
    size_t i = 0;
    uint64_t c = 0;
#if defined(MR_HAVE_AVX2)
    if (avx2) {
        i = mr_plain_prefix_avx2(p, n, &c);
        p += i;
        n -= i;
    }
    size_t done = i;
    i = 0;
#else
    (void)avx2;
    const size_t done = 0;
#endif
#if defined(__SSE2__)
    /* Newlines are summed in byte lanes (each lane gains at most 2 per step, flushed every 127
     * steps), not with a popcount per block: no popcnt instruction is assumed. */
    const __m128i vnl = _mm_set1_epi8('\n'), vesc = _mm_set1_epi8(0x1b), vcr = _mm_set1_epi8('\r');
    const __m128i zero = _mm_setzero_si128();
    __m128i acc = zero;
    unsigned steps = 0;
    for (; i + 32 <= n; i += 32) {
        __m128i x = _mm_loadu_si128((const __m128i *)(p + i));
        __m128i y = _mm_loadu_si128((const __m128i *)(p + i + 16));
        __m128i sp = _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(x, vesc), _mm_cmpeq_epi8(x, vcr)),
                                  _mm_or_si128(_mm_cmpeq_epi8(y, vesc), _mm_cmpeq_epi8(y, vcr)));
        if (_mm_movemask_epi8(sp) != 0)
            break; /* the scalar loop finds it and counts this block's newlines */
        acc = _mm_sub_epi8(acc, _mm_cmpeq_epi8(x, vnl));
        acc = _mm_sub_epi8(acc, _mm_cmpeq_epi8(y, vnl));
        if (++steps == 127) {
            __m128i sum = _mm_sad_epu8(acc, zero);
            c += (uint64_t)_mm_cvtsi128_si32(sum) + (uint64_t)_mm_extract_epi16(sum, 4);
            acc = zero;
            steps = 0;
        }
    }
    __m128i sum = _mm_sad_epu8(acc, zero);
    c += (uint64_t)_mm_cvtsi128_si32(sum) + (uint64_t)_mm_extract_epi16(sum, 4);
#endif
    for (; i < n; i++) {
        if (p[i] == 0x1b || p[i] == '\r')
            break;
        c += p[i] == '\n';
    }
    *nl = c;
    return done + i;
}

/* End the carried segment at a \r or \n: match it unless it was too long. */
static void mr_end_segment(struct metrics_regex_job *job)
{
    if (!job->skipping)
        mr_scan_segment(job, job->carry, job->carry_len);
    job->carry_len = 0;
    job->skipping = 0;
}

/*
 * The careful path, a byte state machine: removes terminal escape sequences (CSI, OSC/DCS/SOS/
 * PM/APC strings ended by BEL or ST, two-byte and charset sequences), ends a segment at each \r
 * and \n, and keeps the segment in the carry (at most max_line bytes, else it is skipped). The
 * state lives in the job, so a sequence cut between chunks is removed all the same. Returns the
 * bytes consumed: up to and including the first \n (then the fast path takes over), or all.
 */
static int mr_slow(struct metrics_regex_job *job, const char *buf, size_t len, size_t *used)
{
    size_t max = job->inst->max_line, i = 0;
    uint64_t base = job->abs;
    while (i < len) {
        unsigned char c = (unsigned char)buf[i];
        if (c == '\n' || c == '\r') {
            /* Ends any sequence: an unterminated one never eats the rest of the log. */
            job->esc = MR_GROUND;
            if (!(c == '\n' && job->prev_cr && job->carry_len == 0 && !job->skipping))
                mr_end_segment(job);
            job->prev_cr = c == '\r';
            i++;
            job->seg_abs = base + i;
            if (c == '\n') {
                job->line++;
                job->slow = 0;
                break;
            }
            continue;
        }
        job->prev_cr = 0;
        if (job->skipping) {
            while (i < len && buf[i] != '\n' && buf[i] != '\r')
                i++;
            continue;
        }
        switch (job->esc) {
        case MR_GROUND: {
            if (c == 0x1b) {
                job->esc = MR_ESC;
                i++;
                break;
            }
            size_t j = i + 1;
            while (j < len && buf[j] != '\n' && buf[j] != '\r' && buf[j] != 0x1b)
                j++;
            if (job->carry_len + (j - i) > max) {
                job->long_lines++;
                job->skipping = 1;
                job->carry_len = 0;
            } else if (mr_carry_append(job, buf + i, j - i) != 0) {
                *used = i;
                job->abs = base + i;
                return RELHOST_ENOMEM;
            }
            i = j;
            break;
        }
        case MR_ESC:
            if (c == '[')
                job->esc = MR_CSI;
            else if (c == ']' || c == 'P' || c == 'X' || c == '^' || c == '_')
                job->esc = MR_STR;
            else if (c >= 0x20 && c <= 0x2f)
                job->esc = MR_INTER;
            else if (c != 0x1b)
                job->esc = MR_GROUND; /* a two-byte sequence, or garbage: dropped */
            i++;
            break;
        case MR_CSI:
            if (c == 0x1b)
                job->esc = MR_ESC;
            else if (c < 0x20 || c > 0x3f)
                job->esc = MR_GROUND; /* the final byte, or an invalid one: dropped */
            i++;
            break;
        case MR_INTER:
            if (c == 0x1b)
                job->esc = MR_ESC;
            else if (c < 0x20 || c > 0x2f)
                job->esc = MR_GROUND;
            i++;
            break;
        case MR_STR:
            if (c == 0x07)
                job->esc = MR_GROUND;
            else if (c == 0x1b)
                job->esc = MR_STR_ESC;
            i++;
            break;
        case MR_STR_ESC:
            if (c == '\\') {
                job->esc = MR_GROUND;
                i++;
            } else {
                job->esc = MR_ESC; /* not ST: this ESC starts a new sequence */
            }
            break;
        }
    }
    *used = i;
    job->abs = base + i;
    return 0;
}

static int metrics_regex_feed(const relhost_ctx *ctx, void *jobp, const char *buf, size_t len)
{
    struct metrics_regex_job *job = jobp;

    while (len > 0) {
        if (job->slow) {
            size_t used = 0;
            if (mr_slow(job, buf, len, &used) != 0)
                goto oom;
            buf += used;
            len -= used;
            continue;
        }
        /* At a line start with nothing carried: whole lines free of ESC and \r are matched
         * straight out of the host's buffer. */
        uint64_t nl = 0;
        size_t q = mr_plain_prefix(buf, len, &nl, job->inst->avx2);
        const char *last = q > 0 ? memrchr(buf, '\n', q) : NULL;
        size_t whole = last != NULL ? (size_t)(last + 1 - buf) : 0;
        if (whole > 0) {
            job->region = buf;
            job->region_abs = job->abs;
            job->count_ptr = NULL;
            mr_scan_complete(job, buf, whole);
            job->region = NULL;
            job->line += nl;
            job->abs += whole;
            buf += whole;
            len -= whole;
        }
        if (len > 0) {
            job->slow = 1;
            job->seg_abs = job->abs;
        }
    }
    return 0;
oom:
    job->inst->host->fail(ctx, "out of memory keeping a partial log line (%zu bytes)",
                          job->carry_len);
    return RELHOST_ENOMEM;
}

static double mr_reduce(const struct mr_acc *a, enum mr_reducer r)
{
    switch (r) {
    case MR_MAX: return a->max;
    case MR_MIN: return a->min;
    case MR_LAST: return a->last;
    case MR_FIRST: return a->first;
    case MR_MEAN: return a->mean;
    case MR_COUNT: return (double)a->n;
    default: return NAN;
    }
}

/* Say that key's value was refused (ABI 1.3 RELHOST_LABEL_REFUSED): a check of it is then
 * INCONCLUSIVE, not judged on a stale value nor FAILED as missing. */
static void mr_post_refused(const relhost_host *h, const relhost_ctx *ctx, const char *key,
                            unsigned long long line)
{
    char name[300], why[120];
    snprintf(name, sizeof(name), "%s%s", RELHOST_LABEL_REFUSED, key);
    snprintf(why, sizeof(why), "the log's last value of %s (line %llu) was refused: see the notes",
             key, line);
    h->label_set(ctx, name, why);
}

static int metrics_regex_collect(const relhost_ctx *ctx, void *jobp)
{
    struct metrics_regex_job *job = jobp;
    const struct metrics_regex *inst = job->inst;
    const relhost_host *h = inst->host;
    int rc = 0;

    /* A log cut off without its last newline still ends in a segment (an escape sequence cut
     * at the end is dropped). */
    if (job->slow && job->carry_len > 0 && !job->skipping)
        mr_scan_segment(job, job->carry, job->carry_len);
    job->carry_len = 0;
    job->esc = MR_GROUND;

    for (size_t i = 0; i < inst->n_pats; i++) {
        const struct mr_pat *p = &inst->pats[i];
        const struct mr_acc *a = &job->acc[i];
        if (p->alias)
            continue; /* its samples are in the accumulator of the pattern it adds to */
        for (int c = MR_C_NAN; c < MR_N_CAUSES && h->note_add != NULL; c++) {
            char why[96];
            if (a->bad[c] == 0)
                continue;
            if (c == MR_C_RANGE)
                snprintf(why, sizeof(why), "outside the valid range %g..%g%s", p->lo, p->hi,
                         p->lo == 0 && p->hi == 1 ? " (a rate; 87.5% is 0.875)" : "");
            else
                snprintf(why, sizeof(why), "%s",
                         c == MR_C_NAN     ? "not a finite number"
                         : c == MR_C_MINUS ? "signed with a non-ASCII minus (unreadable, never "
                                             "read as positive)"
                         : c == MR_C_INT   ? "not a whole number"
                         : c == MR_C_LONG  ? "too long to be a number (over 100 characters)"
                                           : "in an unknown unit");
            h->note_add(ctx, "pattern \"%s\": %llu match%s skipped, the value was %s (first: "
                        "\"%s\", first on line %llu)", p->name, (unsigned long long)a->bad[c],
                        a->bad[c] == 1 ? "" : "es", why, a->bad_example[c],
                        (unsigned long long)a->bad_line[c]);
        }
        /* A [SUMMARY] field missing from the last block is missing: not the earlier block's. */
        if (p->summary != 0 && a->has_block && a->block != job->block) {
            if (h->note_add != NULL)
                h->note_add(ctx, "\"%s\" is absent from the last [SUMMARY] block (line %llu); "
                            "the value of an earlier block is not reported", p->keys[0],
                            (unsigned long long)job->block_line);
            continue;
        }
        /* The last match was refused: `last` would be a stale earlier value. */
        int last_refused = a->n_bad > 0 && (a->n == 0 || a->last_bad_key > a->last_key);
        if (last_refused && !p->label && h->label_set != NULL)
            for (size_t k = 0; k < p->n_out; k++)
                if (a->n == 0 || p->reducers[k] == MR_LAST)
                    mr_post_refused(h, ctx, p->keys[k], a->last_bad_line);
        if (a->n == 0)
            continue; /* not posted: the host's checks say "metric missing" */
        if (p->label) {
            if (a->label_truncated && h->note_add != NULL)
                h->note_add(ctx, "label \"%s\" was cut to %d bytes", p->keys[0], MR_LABEL_MAX);
            int r = h->label_set ? h->label_set(ctx, p->keys[0], a->label) : RELHOST_ENOTSUP;
            if (r < 0 && rc == 0) {
                h->fail(ctx, "the host refused label \"%s\" (error %d)", p->keys[0], r);
                rc = r;
            }
            continue;
        }
        for (size_t k = 0; k < p->n_out; k++) {
            if (last_refused && p->reducers[k] == MR_LAST) {
                if (h->note_add != NULL)
                    h->note_add(ctx, "pattern \"%s\": its last match (line %llu) was refused, "
                                "so %s is not posted rather than the earlier value %g",
                                p->name, (unsigned long long)a->last_bad_line, p->keys[k],
                                a->last);
                continue;
            }
            relhost_metric_info info = {
                .struct_size = sizeof(info),
                .source = NULL,
                .pattern = p->regex,
                .reducer = metrics_regex_reducer_names[p->reducers[k]],
                .samples = a->n,
            };
            int r = h->metric_set ? h->metric_set(ctx, p->keys[k], mr_reduce(a, p->reducers[k]),
                                                  &info)
                                  : RELHOST_ENOTSUP;
            if (r < 0 && rc == 0) {
                h->fail(ctx, "the host refused metric \"%s\" (error %d)", p->keys[k], r);
                rc = r;
            }
        }
    }
    if (job->long_lines > 0 && h->note_add != NULL)
        h->note_add(ctx, "%llu log line%s longer than max_line (%zu bytes) skipped (each \\r-ended "
                    "segment counts alone); metrics on them were not read", (unsigned long long)job->long_lines,
                    job->long_lines == 1 ? "" : "s", inst->max_line);
    if (job->match_errors > 0 && h->note_add != NULL) {
        PCRE2_UCHAR msg[128];
        if (pcre2_get_error_message(job->first_match_error, msg, sizeof(msg)) < 0)
            snprintf((char *)msg, sizeof(msg), "error %d", job->first_match_error);
        h->note_add(ctx, "%llu line%s could not be matched (PCRE2: %s); values on them were not "
                    "read", (unsigned long long)job->match_errors,
                    job->match_errors == 1 ? "" : "s", (const char *)msg);
    }
    return rc;
}

/* ---- Keys (ABI 1.3) -------------------------------------------------------------------------- */

/*
 * The keys the plan's checks may name: exactly the names open() gives its patterns (see
 * mr_pat_build): a label or a pattern with `metric` posts that one name (a label without it, its
 * pattern's name), any other pattern posts <name>_<reducer> per reducer, and a plan pattern named
 * like a default replaces that default. keys() gets only the conf (the host asks before any
 * instance exists) and hands each name to the host, which copies it.
 */
static int mr_add_key(void (*add)(void *, const char *), void *payload, const char *a,
                      const char *b)
{
    size_t len;
    char *k;
    if (b == NULL) {
        add(payload, a);
        return 0;
    }
    len = strlen(a) + 1 + strlen(b) + 1; /* as long as open() makes it: no cap */
    k = malloc(len);
    if (k == NULL)
        return RELHOST_ENOMEM; /* keys() fails: the host then checks no key of this source */
    snprintf(k, len, "%s_%s", a, b);
    add(payload, k);
    free(k);
    return 0;
}

static int metrics_regex_keys(const void *confp, void (*add)(void *payload, const char *key),
                              void *payload)
{
    const struct metrics_regex_conf *conf = confp;
    if (conf == NULL || add == NULL)
        return RELHOST_EINVAL;
    if (conf->defaults) {
        for (size_t d = 0; d < MR_N_DEFAULTS; d++) {
            const struct mr_default *def = &metrics_regex_defaults[d];
            int replaced = 0;
            for (size_t i = 0; i < conf->patterns.n; i++)
                replaced |= mr_row(conf, i)->name && strcmp(mr_row(conf, i)->name, def->name) == 0;
            if (replaced || def->alias)
                continue;
            if (def->label || def->metric != NULL) {
                if (mr_add_key(add, payload, def->metric != NULL ? def->metric : def->name, NULL))
                    return RELHOST_ENOMEM;
                continue;
            }
            for (size_t r = 0; def->reducers[r] != NULL; r++)
                if (mr_add_key(add, payload, def->name, def->reducers[r]))
                    return RELHOST_ENOMEM;
        }
    }
    /* Presets' keys, as open() posts them: an unknown preset fails open() with its message. */
    for (size_t i = 0; i < conf->presets.n; i++) {
        const struct mr_preset *ps = mr_preset_find(conf->presets.v[i]);
        int twice = 0;
        for (size_t j = 0; ps != NULL && j < i; j++)
            twice |= strcmp(conf->presets.v[j], conf->presets.v[i]) == 0;
        for (size_t r = 0; ps != NULL && !twice && r < ps->n; r++) {
            const struct mr_preset_row *pr = &ps->rows[r];
            int replaced = 0;
            for (size_t u = 0; u < conf->patterns.n; u++)
                replaced |= mr_row(conf, u)->name && strcmp(mr_row(conf, u)->name, pr->name) == 0;
            if (replaced || pr->alias)
                continue;
            if (pr->metric != NULL) {
                if (mr_add_key(add, payload, pr->metric, NULL))
                    return RELHOST_ENOMEM;
                continue;
            }
            for (size_t k = 0; k < 3 && pr->reducers[k] != NULL; k++)
                if (mr_add_key(add, payload, pr->name, pr->reducers[k]))
                    return RELHOST_ENOMEM;
        }
    }
    for (size_t i = 0; i < conf->patterns.n; i++) {
        const struct metrics_regex_pattern *row = mr_row(conf, i);
        if (row->name == NULL)
            continue;
        if (row->label || row->metric != NULL) {
            if (mr_add_key(add, payload, row->metric != NULL ? row->metric : row->name, NULL))
                return RELHOST_ENOMEM;
            continue;
        }
        for (size_t r = 0; r < row->reducers.n; r++)
            if (row->reducers.v[r] != NULL)
                if (mr_add_key(add, payload, row->name, row->reducers.v[r]))
                    return RELHOST_ENOMEM;
    }
    return 0;
}

/* ---- Descriptor ------------------------------------------------------------------------------ */

static const relhost_metrics_ops metrics_regex_ops = {
    .struct_size = sizeof(relhost_metrics_ops),
    .open = metrics_regex_open,
    .job_open = metrics_regex_job_open,
    .feed = metrics_regex_feed,
    .collect = metrics_regex_collect,
    .job_close = metrics_regex_job_close,
    .close = metrics_regex_close,
    .keys = metrics_regex_keys,
};

static const relhost_plugin metrics_regex_plugin = {
    RELHOST_PLUGIN_HEADER,
    .name = "metrics_regex",
    .version = "1.0.0",
    .description = "metrics from log lines: PCRE2 patterns with reducers, units and prefilters",
    .options = metrics_regex_options,
    .option_size = sizeof(relhost_option),
    .conf_size = sizeof(struct metrics_regex_conf),
    .metrics = &metrics_regex_ops,
};

RELHOST_EXPORT int relhost_plugin_entry(const relhost_host *host, const relhost_plugin **out)
{
    if (host == NULL || out == NULL)
        return RELHOST_EINVAL;
    metrics_regex_host = host;
    *out = &metrics_regex_plugin;
    return 0;
}
