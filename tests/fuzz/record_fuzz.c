/* SPDX-License-Identifier: MIT */
/*
 * record_fuzz - a libFuzzer harness for core/record/record_codec.h record_decode(), the reader
 * of each entry of the status page's index (<registry_dir>/site_index.jsonl): any bytes.
 *
 * Oracle: no crash, leak or sanitizer report; what decodes is a record the views can use (its
 * job ids, steps and validations are strings, its outcomes in range, record_decision() answers)
 * and whose own text decodes again to the same text (record_encode() of it twice is one text);
 * what does not decode leaves *out empty.
 *
 * Input layout: the record's text, as it stands in an index entry after "V K L ".
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/util.h"
#include "fuzz_util.h"
#include "record/record.h"
#include "record/record_codec.h"

static void usable(const release_record *r)
{
    for (size_t i = 0; i < r->njobs; i++)
        if (!r->jobs[i].id || !r->jobs[i].step || !r->jobs[i].validation)
            fuzz_die("job %zu decoded without its id, step or validation", i);
    for (size_t i = 0; i < r->nsteps; i++)
        if (!r->steps[i].name || r->steps[i].outcome > RELHOST_WAIVED)
            fuzz_die("step %zu decoded without a name or with outcome %d", i,
                     (int)r->steps[i].outcome);
    if (!record_decision(r))
        fuzz_die("no decision");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    release_record r, again;
    strbuf t1, t2;
    if (record_decode((const char *)data, size, &r) != 0) {
        if (r.version || r.nsteps || r.njobs || r.nwaivers || r.nsealed)
            fuzz_die("a refused text left a record behind");
        return 0;
    }
    usable(&r);
    sb_init(&t1);
    record_encode(&r, &t1);
    record_free(&r);
    if (record_decode(t1.s, t1.len, &again) != 0)
        fuzz_die("the text of a decoded record does not decode: %s", t1.s);
    sb_init(&t2);
    record_encode(&again, &t2);
    record_free(&again);
    if (t1.len != t2.len || memcmp(t1.s, t2.s, t1.len) != 0)
        fuzz_die("a record's text changed on a second round: %s / %s", t1.s, t2.s);
    sb_free(&t1);
    sb_free(&t2);
    return 0;
}
