/* SPDX-License-Identifier: MIT */
/*
 * audit.h - the audit log: <dir>/audit.jsonl (dir is the plan's registry_dir), one JSON object a
 * line, appended with one write() and fsync'ed. Every line has at, operation, user and host;
 * registry operations add id, version, from, to, reason and duration_ms. Lines are never
 * rewritten; a reader skips a line it cannot parse and says so.
 */
#ifndef RELHOST_AUDIT_H
#define RELHOST_AUDIT_H

#include <jansson.h>
#include <stddef.h>

/** Who runs relhost ($SUDO_USER, else the effective user) and on which host. */
void audit_who(char *user, size_t ucap, char *host, size_t hcap);
/** Append {at, operation, user, host, ...fields} (n name/value string pairs). */
int audit_append(const char *dir, const char *operation, const char *const *fields, size_t n);
/** Append obj as one line (at, user and host are added when obj lacks them). */
int audit_append_obj(const char *dir, json_t *obj);
/** 1 when a line of the log carries "id": id (an operation finished after a crash is not
 *  logged twice), 0 when none does or the log does not exist. */
int audit_has_id(const char *dir, const char *id);

#endif
