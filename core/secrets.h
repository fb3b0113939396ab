/* SPDX-License-Identifier: MIT */
/*
 * secrets.h - the one redactor. Secrets are named by environment variable; when the host reads
 * one for a plugin it registers the value here, and every line relhost writes (console, logs,
 * errors, state, reports) passes through secrets_redact(). Values shorter than 8 characters are
 * not registered: masking them would shred ordinary words and still protect nothing.
 */
#ifndef RELHOST_SECRETS_H
#define RELHOST_SECRETS_H

#include "util.h"

#define SECRETS_MIN_LEN 8
#define SECRETS_MASK "********"

/** Register a secret value: from now on its raw form, its URL-encoded forms (upper- or
 *  lower-case hex, '/' encoded or not) and its base64 forms (alone, and inside a longer base64
 *  text at any byte offset, e.g. of "user:value") are masked. */
void secrets_add(const char *value);
/** Register an exact derived string (e.g. "api:KEY" before base64 of basic auth). */
void secrets_add_derived(const char *value);
/** Read environment variable `name`, register its value; NULL when unset or empty. */
const char *secrets_getenv(const char *name);
/** Append s (n bytes) to out with every registered form replaced by SECRETS_MASK. */
void secrets_redact(strbuf *out, const char *s, size_t n);
/** Redact in place into a new heap string. */
char *secrets_redact_dup(const char *s);
size_t secrets_count(void);
void secrets_clear(void);

/** Base64 (standard alphabet, padded) of n bytes. */
char *base64_encode(const unsigned char *p, size_t n);
/** Percent-encoding of everything but unreserved characters (RFC 3986). */
char *url_encode(const char *s);

#endif
