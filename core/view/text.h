/* SPDX-License-Identifier: MIT */
/*
 * text.h - the text every view shares: cleaning what a state or log holds before it is escaped
 * for XML, Markdown, HTML or a terminal, number formatting, how a check's rule reads, and
 * writing a rendered buffer through the redactor.
 */
#ifndef RELHOST_VIEW_TEXT_H
#define RELHOST_VIEW_TEXT_H

#include "base/util.h"
#include "record/record.h"

#include <stdio.h>

/**
 * Append s[0..n) to out redacted and cleaned: invalid UTF-8, NUL and other C0 controls (but tab
 * and newline) and U+FFFE/U+FFFF become U+FFFD; CR LF and lone CR become LF; ANSI CSI and OSC
 * escape sequences (colours, titles) are removed. The result is valid UTF-8 that XML 1.0 and
 * Markdown can carry once escaped for them.
 */
void text_clean(strbuf *out, const char *s, size_t n);

/** The shortest decimal that reads back as v, without an exponent for 1e-5 <= |v| < 1e15
 *  ("30000", "0.93", "12833.333333333334"); "NaN" / "inf" / "-inf" for non-finite values. */
void text_num_format(double v, char *buf, size_t cap);

/** v as snprintf(buf, cap, "%.1f", v) writes it, byte for byte (the sign of a negative that
 *  rounds to zero kept: "-0.0"), without printf's cost for the plain cases; cap at least 32. */
void text_fixed1(double v, char *buf, size_t cap);

/** "op expected" as reports show a check: ">= 30000", "in [0.5, 1]" (op "range"); a baseline
 *  rule as written, never its bound (a JUnit case name stays the same while the baseline moves):
 *  ">= baseline - 20%", "<= baseline + max(10%, 5)", ">= 30000 and >= baseline - 0.002"; a
 *  statistic other than the median is named: "... (min of the runs)". An absent expected or
 *  expected_hi is shown as "?". */
void text_check_expected(const check_record *c, strbuf *out);

/** A failed check in words that cannot be misread: the actual value, the relation that broke
 *  the rule, and the rule: "sps_max 12833 < 30000 (needs >= 30000)", "x 7 outside [1, 5] (needs
 *  in [1, 5])", a baseline rule by its bound: "sps_max 33154 < bound 38500.8 (baseline 48126,
 *  -20%)", "sps_max has no value (needs >= 30000)"; a statistic other than the median follows
 *  the name: "sps_max min 24000 < 25000 (needs >= 25000)". Returns 1 when the check's
 *  note says no more than this (the note core/run/checks.c gives a broken baseline bound). */
int text_check_failure(const check_record *c, strbuf *out);

/** Write b to out through the redactor; RELHOST_EIO (with *err a heap copy of the message, when
 *  err is not NULL) when the stream failed. */
int text_emit(FILE *out, const strbuf *b, char **err);

/**
 * Mask, in place, every string of rec that came from a run (core/base/secrets.h): messages, notes,
 * paths, argv, labels' values... Names the plan gave (step names, job ids, steps and
 * validations, metric and label keys) are left as they are, as the reports have always shown
 * them. A string that is not valid UTF-8 (a damaged state) becomes NULL (a note or an argv
 * entry keeps its place), a label with such a value is dropped. The file reports render a
 * record masked this way.
 */
void text_redact_record(release_record *rec);
/** The same for one job's record (a view that reads the jobs one at a time). */
void text_redact_job(job_record *j);

#endif
