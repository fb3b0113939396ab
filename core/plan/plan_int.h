/* SPDX-License-Identifier: MIT */
/* plan_int.h - what plan.c and plan_steps.c share; not for the rest of core. */
#ifndef RELHOST_PLAN_INT_H
#define RELHOST_PLAN_INT_H

#include "plan/plan.h"

/** Set the error "<file:line of s>: <message>" and return RELHOST_EINVAL. */
int plan_perr(const config_setting_t *s, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/** A step, runner or source name: letters, digits, '-', '_', '.'. */
int plan_name_valid(const char *s);
/** Fill an instance (plugin, conf, where) from its group; reserved: host-level keys. */
int plan_fill_instance(plan *p, plan_instance *in, const config_setting_t *g, const char *kind,
                       optstore_reserved reserved);
/** steps, on_promote and on_rollback, into p->steps in that order. */
int plan_load_steps(plan *p);
int plan_load_profiles(plan *p);
/** The plan file at path and its @includes (resolved against dir) hold no integer literal that
 *  libconfig would wrap to 32 bits; 0 or RELHOST_EINVAL with file:line. depth: 0. */
int plan_check_int_literals(const char *path, const char *dir, int depth);
/** --set KEY.PATH=VALUE (plan_set.c) applied to cfg: 0, or RELHOST_EINVAL naming arg. */
int plan_apply_set(config_t *cfg, const char *arg);
/** A runner's max_log (plan_hostkeys.c). */
int plan_runner_max_log(const config_setting_t *e, plan_instance *in);
int plan_runner_queue_timeout(const config_setting_t *e, plan_instance *in);
/** The instance's isolate and call_timeout keys (plan_hostkeys.c), once its plugin is known. */
int plan_isolation(plan_instance *in, const config_setting_t *g, const char *kind);

#endif
