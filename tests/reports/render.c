/* SPDX-License-Identifier: MIT */
/*
 * tests/reports/render.c - report_render STATE.json junit|json|md [REPO]: one report of a state
 * file on stdout, through the same report_write() the command line uses. The golden-file, schema
 * and xmllint tests (reports.py) drive it until `relhost report` can be used for the same.
 */
#include "run/loop.h"
#include "run/proc.h"
#include "view/report_files.h"

#include <stdio.h>
#include <stdlib.h>

int main(int argc, char **argv)
{
    json_error_t je;
    json_t *root;
    report_format fmt;
    char *err = NULL;
    int rc;

    if (argc < 3 || argc > 4 || (fmt = report_format_parse(argv[2])) == REPORT_NONE) {
        fprintf(stderr, "usage: report_render STATE.json junit|json|md [REPO]\n");
        return 2;
    }
    root = json_load_file(argv[1], JSON_REJECT_DUPLICATES, &je);
    if (!root) {
        fprintf(stderr, "report_render: %s:%d: %s\n", argv[1], je.line, je.text);
        return 2;
    }
    /* report_md() runs git through core/run/proc.c, which needs the event loop. */
    if (loop_init() != 0) {
        fprintf(stderr, "report_render: cannot start the event loop\n");
        json_decref(root);
        return 2;
    }
    proc_init();
    rc = report_write(fmt, root, argc == 4 ? argv[3] : NULL, "-", 0, &err);
    if (rc != 0)
        fprintf(stderr, "report_render: %s\n", err ? err : "failed");
    free(err);
    loop_fini();
    json_decref(root);
    return rc != 0;
}
