/* SPDX-License-Identifier: MIT */
/* The option table as `relhost plugins --describe` prints it. */
#include "plan/options.h"
#include "plan/options_int.h"

#include <stdio.h>

const char *opt_type_name(relhost_opt_type t)
{
    switch (t) {
    case RELHOST_OPT_STRING: return "string";
    case RELHOST_OPT_INT: return "integer";
    case RELHOST_OPT_BOOL: return "boolean";
    case RELHOST_OPT_DOUBLE: return "number";
    case RELHOST_OPT_SIZE: return "size";
    case RELHOST_OPT_DURATION: return "duration";
    case RELHOST_OPT_ENUM: return "choice";
    case RELHOST_OPT_STRLIST: return "list of strings";
    case RELHOST_OPT_SECRET_ENV: return "env var name";
    case RELHOST_OPT_GROUP: return "group";
    case RELHOST_OPT_GROUP_LIST: return "list of groups";
    case RELHOST_OPT_REF: return "name";
    case RELHOST_OPT_REF_LIST: return "list of names";
    case RELHOST_OPT_CHECKS: return "acceptance checks";
    case RELHOST_OPT_MAP: return "group of values";
    default: return "?";
    }
}

/* A default as one line: control characters (a two-line message) are shown escaped. */
static const char *one_line(const char *s, char *buf, size_t cap)
{
    size_t o = 0;
    for (; s && *s && o + 3 < cap; s++) {
        if (*s == '\n') {
            buf[o++] = '\\';
            buf[o++] = 'n';
        } else if ((unsigned char)*s < 0x20) {
            buf[o++] = ' ';
        } else {
            buf[o++] = *s;
        }
    }
    buf[o] = '\0';
    return buf;
}

static void describe_rows(const relhost_plugin *pl, const relhost_option *opts, int depth,
                          FILE *out)
{
    for (size_t k = 0; opts && options_row(pl, opts, k).name; k++) {
        relhost_option r = options_row(pl, opts, k);
        char defbuf[512];
        fprintf(out, "%*s%-22s %-18s %s%s%s", depth * 2 + 2, "", r.name, opt_type_name(r.type),
                r.required ? "required" : "default ", r.required ? "" : " ",
                r.required ? "" : (r.def ? one_line(r.def, defbuf, sizeof defbuf) : "(none)"));
        fprintf(out, "\n%*s%s", depth * 2 + 4, "", r.doc ? r.doc : "");
        if (r.type == RELHOST_OPT_ENUM) {
            fprintf(out, " (one of:");
            for (size_t i = 0; r.choices && r.choices[i]; i++)
                fprintf(out, " %s", r.choices[i]);
            fprintf(out, ")");
        }
        if (r.min != 0 || r.max != 0)
            fprintf(out, " (%g..%g)", r.min, r.max);
        if (r.flags & RELHOST_OPTF_TEMPLATE)
            fprintf(out, " [template]");
        fprintf(out, "\n");
        if (r.type == RELHOST_OPT_GROUP || r.type == RELHOST_OPT_GROUP_LIST)
            describe_rows(pl, r.sub, depth + 1, out);
    }
}

void options_describe(const relhost_plugin *pl, FILE *out)
{
    fprintf(out, "%s %s - %s\n", pl->name, pl->version ? pl->version : "?",
            pl->description ? pl->description : "");
    fprintf(out, "capabilities:%s%s%s\n", pl->gate ? " gate" : "", pl->metrics ? " metrics" : "",
            pl->runner ? " runner" : "");
    fprintf(out, "options:\n");
    if (!pl->options || !options_row(pl, pl->options, 0).name)
        fprintf(out, "  (none)\n");
    describe_rows(pl, pl->options, 0, out);
}
