/* SPDX-License-Identifier: MIT */
/*
 * sky_fuzz - a libFuzzer harness for plugins/runner_skypilot/sky_parse.c: what SkyPilot's CLI
 * prints (`sky jobs queue`'s table, `sky jobs launch`'s id, `sky jobs logs`' summary, trailer and
 * timeout marks, an error line) and the task template filter, in the order sky_cli.c and
 * sky_task.c call them: ANSI stripped first, a cut escape held back.
 *
 * Oracle: no crash or sanitizer report; stripping never grows the text; every queue row has
 * a terminated name and a status word without a space; a launch id is all digits; a summary exit
 * code is in 0..255; a filtered template keeps none of the keys it was asked to drop.
 *
 * Input layout: byte 0 chooses which keys the template filter drops; the rest is the CLI's
 * output, which is also read as the task template.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../plugins/runner_skypilot/runner_skypilot.h"

#include "fuzz_util.h"

static void check_queue(const char *text)
{
    sky_queue q;
    char err[256];
    if (sky_parse_queue(text, &q, err, sizeof err) == 0) {
        for (size_t i = 0; i < q.n; i++) {
            const sky_row *r = &q.rows[i];
            if (memchr(r->name, '\0', sizeof r->name) == NULL ||
                memchr(r->status, '\0', sizeof r->status) == NULL || strchr(r->status, ' '))
                fuzz_die("queue row %zu: name or status not a terminated word", i);
            if (r->id < 0 || r->recoveries < -1)
                fuzz_die("queue row %zu: id %lld, recoveries %d", i, r->id, r->recoveries);
            relhost_job_state st;
            relhost_job_end end;
            sky_map_status(r->status, &st, &end);
        }
    } else if (err[0] == '\0') {
        fuzz_die("sky_parse_queue refused the output without a reason");
    }
    sky_queue_free(&q);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *const drops[4][4] = {
        {NULL}, {"name", "resources", NULL}, {"run", "setup", "envs", NULL}, {"num_nodes", NULL}};
    unsigned sel = size ? data[0] : 0;
    if (size) {
        data++;
        size--;
    }
    char *s = malloc(size + 1);
    if (s == NULL)
        abort();
    memcpy(s, data, size);
    s[size] = '\0';

    /* Raw: the task template is read as written, and a log before stripping. */
    sky_buf y = {0};
    char err[256] = "";
    const char *const *drop = drops[sel & 3];
    if (sky_yaml_filter(s, drop, &y, err, sizeof err) == 0) {
        for (size_t i = 0; drop[i]; i++)
            if (y.s != NULL && sky_yaml_has_key(y.s, drop[i]))
                fuzz_die("the filtered template still has \"%s\"", drop[i]);
    } else if (err[0] == '\0') {
        fuzz_die("sky_yaml_filter refused the template without a reason");
    }
    sky_buf_free(&y);

    size_t len = sky_strip_ansi(s, size);
    if (len > size)
        fuzz_die("sky_strip_ansi grew the text: %zu > %zu", len, size);
    s[len] = '\0';
    size_t complete = sky_complete_len(s, len);
    if (complete > len)
        fuzz_die("sky_complete_len %zu > %zu", complete, len);

    check_queue(s);

    char id[64];
    if (sky_launch_id(s, id, sizeof id) && !sky_all_digits(id))
        fuzz_die("sky_launch_id gave \"%s\"", id);
    int code = -1;
    if (sky_summary_exit_code(s, complete, &code) && (code < 0 || code > 255))
        fuzz_die("sky_summary_exit_code gave %d", code);
    sky_remote_timeout(s, complete);
    char status[32];
    if (sky_finished_status(s, complete, status, sizeof status) &&
        memchr(status, '\0', sizeof status) == NULL)
        fuzz_die("sky_finished_status: unterminated");
    char line[300];
    sky_error_line(s, line, sizeof line);
    if (memchr(line, '\0', sizeof line) == NULL)
        fuzz_die("sky_error_line: unterminated");
    relhost_job_state st;
    relhost_job_end end;
    const char *word = NULL;
    sky_map_logs_exit((int)sel, &st, &end, &word);
    free(s);
    return 0;
}
