/* SPDX-License-Identifier: MIT */
/* plan_hostkeys.c - an instance's host-level keys that are not the plugin's: a runner's max_log,
 * and isolate and call_timeout (core/isolate/isolate.h). */
#include "plan/plan_int.h"

/* A runner's max_log: a size ("512M", "2G") or a byte count, at least PLAN_MAX_LOG_MIN. */
int plan_runner_max_log(const config_setting_t *e, plan_instance *in)
{
    config_setting_t *ml = config_setting_get_member(e, "max_log");
    uint64_t v = 0;
    int t, ok;
    in->max_log = PLAN_MAX_LOG;
    if (!ml)
        return 0;
    t = config_setting_type(ml);
    if (t == CONFIG_TYPE_INT || t == CONFIG_TYPE_INT64)
        ok = config_setting_get_int64(ml) > 0 && (v = (uint64_t)config_setting_get_int64(ml));
    else
        ok = t == CONFIG_TYPE_STRING && options_parse_size(config_setting_get_string(ml), &v) == 0;
    if (!ok || v < PLAN_MAX_LOG_MIN)
        return plan_perr(
            ml, "runner \"%s\": max_log must be a size of at least 64K (e.g. \"512M\")", in->name);
    in->max_log = v;
    return 0;
}

/* A runner's queue_timeout: how long a remote job may wait in its engine's queue before it starts
 * (timeout_s counts from the start); a duration or seconds, 0 for no limit. */
int plan_runner_queue_timeout(const config_setting_t *e, plan_instance *in)
{
    config_setting_t *t = config_setting_get_member(e, "queue_timeout");
    int ty;
    double v = -1;
    in->queue_timeout = PLAN_QUEUE_TIMEOUT;
    if (!t)
        return 0;
    ty = config_setting_type(t);
    if (ty == CONFIG_TYPE_INT || ty == CONFIG_TYPE_INT64)
        v = (double)config_setting_get_int64(t);
    else if (ty == CONFIG_TYPE_FLOAT)
        v = config_setting_get_float(t);
    else if (ty == CONFIG_TYPE_STRING && options_parse_duration(config_setting_get_string(t), &v))
        v = -1;
    if (!(v >= 0 && v <= 30 * 86400.0))
        return plan_perr(t,
                         "runner \"%s\": queue_timeout must be a duration of at most 30d "
                         "(\"2h\", \"1d\") or 0 for none",
                         in->name);
    in->queue_timeout = v;
    return 0;
}

/* call_timeout: a duration ("90s", "10m") or a number of seconds; 0 means no deadline. */
static int call_timeout(const config_setting_t *t, plan_instance *in, const char *kind)
{
    int ty = config_setting_type(t);
    double v = -1;
    if (ty == CONFIG_TYPE_INT || ty == CONFIG_TYPE_INT64)
        v = (double)config_setting_get_int64(t);
    else if (ty == CONFIG_TYPE_FLOAT)
        v = config_setting_get_float(t);
    else if (ty == CONFIG_TYPE_STRING && options_parse_duration(config_setting_get_string(t), &v))
        v = -1;
    if (!(v >= 0 && v <= 7 * 86400.0))
        return plan_perr(t,
                         "%s \"%s\": call_timeout must be a duration of at most 7d (\"90s\", "
                         "\"10m\") or 0 for none",
                         kind, in->name);
    in->call_timeout = v;
    return 0;
}

int plan_isolation(plan_instance *in, const config_setting_t *g, const char *kind)
{
    const config_setting_t *s = config_setting_get_member(g, "isolate");
    const config_setting_t *t = config_setting_get_member(g, "call_timeout");
    /* relhost's own plugins run inside it; anyone else's in a process of its own */
    in->isolate = !loader_is_own(in->pl);
    in->call_timeout = PLAN_CALL_TIMEOUT;
    if (s && config_setting_type(s) != CONFIG_TYPE_BOOL)
        return plan_perr(s, "%s \"%s\": isolate must be true or false", kind, in->name);
    if (s)
        in->isolate = config_setting_get_bool(s);
    if (t && call_timeout(t, in, kind) != 0)
        return RELHOST_EINVAL;
    return 0;
}
