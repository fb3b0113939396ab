/* SPDX-License-Identifier: MIT */
#include "checks.h"

#include "options.h"

#include <math.h>
#include <string.h>

int checks_compare(const relhost_check_spec *s, double a)
{
    if (!isfinite(a))
        return 0;
    switch (s->op) {
    case RELHOST_OP_GE: return a >= s->expected;
    case RELHOST_OP_GT: return a > s->expected;
    case RELHOST_OP_LE: return a <= s->expected;
    case RELHOST_OP_LT: return a < s->expected;
    case RELHOST_OP_EQ: return a == s->expected;
    case RELHOST_OP_NE: return a != s->expected;
    case RELHOST_OP_RANGE: return a >= s->expected && a <= s->expected_hi;
    default: return 0;
    }
}

void checks_eval(evidence *ev, const relhost_checks *checks, relhost_verdict *out)
{
    int missing = 0, failed = 0;
    size_t esz = checks && checks->elem_size ? checks->elem_size : sizeof(relhost_check_spec);
    for (size_t i = 0; checks && i < checks->n; i++) {
        const relhost_check_spec *s =
            (const relhost_check_spec *)(const void *)((const char *)checks->v + i * esz);
        const ev_metric *m = evidence_find_metric(ev, s->key);
        relhost_check c = {.struct_size = sizeof c};
        c.key = s->key;
        c.op = options_op_name(s->op);
        c.expected = s->expected;
        c.expected_hi = s->expected_hi;
        if (!m) {
            c.note = "metric missing";
            missing++;
        } else if (!m->finite) {
            c.note = "value is not a finite number";
            failed++;
        } else {
            c.has_actual = 1;
            c.actual = m->value;
            c.passed = checks_compare(s, m->value);
            if (!c.passed)
                failed++;
        }
        evidence_check(ev, &c);
    }
    out->struct_size = sizeof *out;
    out->retryable = 0;
    if (failed) {
        out->outcome = RELHOST_FAILED;
        out->reason = "threshold";
    } else if (missing) {
        out->outcome = RELHOST_FAILED;
        out->reason = "metric_missing";
    } else {
        out->outcome = RELHOST_PASSED;
        out->reason = NULL;
    }
}
