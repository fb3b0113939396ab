/* SPDX-License-Identifier: MIT */
/*
 * secrets.h - the one redactor. Secrets are named by environment variable; when the host reads
 * one for a plugin it registers the value here, and every line relhost writes (console, logs,
 * errors, state, reports) passes through secrets_redact(). Values shorter than 8 characters are
 * not registered: masking them would shred ordinary words and still protect nothing.
 */
#ifndef RELHOST_SECRETS_H
#define RELHOST_SECRETS_H

#include "base/util.h"

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
/** The redactor over a text that comes in chunks (a report written as it is rendered): the
 *  output is exactly secrets_redact() of the whole text, wherever the chunks are cut. It holds
 *  back at most the longest registered form plus 3 bytes (a secret split across two chunks, or
 *  shortened before "..."), never the whole text. */
typedef struct secrets_stream {
    strbuf pend;     /* bytes not decided yet: fewer than the longest form + 3 */
    size_t held_max; /* the most bytes held back at once (tests) */
} secrets_stream;
void secrets_stream_init(secrets_stream *st);
/** Append the masked, decided part of s (n bytes, after what was fed before) to out. */
void secrets_stream_feed(secrets_stream *st, strbuf *out, const char *s, size_t n);
/** The text's end: append the rest, masked, to out and free what the stream holds. */
void secrets_stream_end(secrets_stream *st, strbuf *out);
/** Redact in place into a new heap string. */
char *secrets_redact_dup(const char *s);
size_t secrets_count(void);
/** Forget every registered value and sealed name (tests). */
void secrets_clear(void);

/* ---- The seal: variables no child inherits ----------------------------------------------------
 * A sealed name is an environment variable relhost never hands to a process it starts (jobs on
 * every runner, command steps, git, sbatch, sky: core/run/proc.c drops it from the inherited
 * environment); a job's pass_env is the only way one goes in, as an explicit NAME=VALUE. Sealed
 * are every SECRET_ENV option's variable of every installed plugin (value or default), and every
 * variable of relhost's environment whose name looks secret (secrets_name_looks_secret). The value
 * of a sealed variable is masked like any secret when it is at least SECRETS_MIN_LEN bytes. */

/** Whether an environment variable's name looks like it holds a credential: it contains (case
 *  ignored) TOKEN, SECRET, PASSWORD, PASSWD, API_KEY, APIKEY, WEBHOOK, CREDENTIAL, PRIVATE_KEY or
 *  ACCESS_KEY, ending the name or followed by '_' (a plural 'S' and digits first are allowed:
 *  GH_TOKEN2): HF_TOKEN,
 *  PGPASSWORD, AWS_SECRET_ACCESS_KEY, GOOGLE_APPLICATION_CREDENTIALS, not TOKENIZERS_PARALLELISM.
 *  The list is SECRETS_NAME_WORDS, documented in relhost.cfg(5). */
int secrets_name_looks_secret(const char *name);
#define SECRETS_NAME_WORDS \
    "TOKEN, SECRET, PASSWORD, PASSWD, API_KEY, APIKEY, WEBHOOK, CREDENTIAL, PRIVATE_KEY, ACCESS_KEY"
/** Seal `name`; when it is set, register its value for masking. Returns the value's length
 *  (0 when unset or empty). */
size_t secrets_seal(const char *name);
/** Whether `name` (or its first n bytes) is sealed. */
int secrets_sealed(const char *name);
int secrets_sealed_n(const char *name, size_t n);
/** Every sealed name, in the order sealed. */
const strvec *secrets_sealed_names(void);
/** Seal every variable of the environment whose name looks secret. A value shorter than
 *  SECRETS_MIN_LEN is sealed but not masked (it would mask ordinary words): its name is added
 *  to *short_names (when not NULL) for a warning. */
void secrets_seal_environ(strvec *short_names);

/** Base64 (standard alphabet, padded) of n bytes. */
char *base64_encode(const unsigned char *p, size_t n);
/** Percent-encoding of everything but unreserved characters (RFC 3986). */
char *url_encode(const char *s);

/** The sealed names whose variable is set now with a value of at least SECRETS_MIN_LEN bytes
 *  (so masked), appended to out in the order sealed. Names only, never values: a release run
 *  stores them in its state ("sealed_env") for core/view/logview.h. */
void secrets_masked_names(strvec *out);

#endif
