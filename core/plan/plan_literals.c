/* SPDX-License-Identifier: MIT */
/* plan_literals.c - integers libconfig would silently wrap, found in the plan's text. */
#include "plan/plan_int.h"

#include "base/error.h"
#include "base/util.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* The text of plan file path into *text (NUL-terminated, *len bytes; NULL when it cannot be
 * opened: libconfig reports that itself, in its own words). Not a regular file is an error:
 * libconfig's scanner exit()s on a folder ("input in flex scanner failed"), and a device or
 * FIFO would be read here without end. */
static int read_plan_text(const char *path, char **text, size_t *len)
{
    FILE *f = fopen(path, "re");
    struct stat sb;
    size_t cap = 0;
    *text = NULL;
    *len = 0;
    if (!f)
        return 0;
    if (fstat(fileno(f), &sb) != 0 || !S_ISREG(sb.st_mode)) {
        fclose(f);
        return error_set(RELHOST_EINVAL, "plan %s is not a regular file", path);
    }
    for (;;) {
        size_t n;
        if (*len + 4096 + 1 > cap) {
            cap = cap ? cap * 2 : 8192;
            *text = xrealloc(*text, cap);
        }
        n = fread(*text + *len, 1, 4096, f);
        *len += n;
        if (n == 0)
            break;
    }
    fclose(f);
    (*text)[*len] = '\0';
    return 0;
}

/* libconfig 1.5 reads an integer literal without the L suffix into 32 bits and wraps it
 * (4294967299 becomes 3), so a plan value could mean something else than it says. Scan the
 * text (and its @includes) for such literals before libconfig sees them. */
int plan_check_int_literals(const char *path, const char *dir, int depth)
{
    char *text = NULL;
    size_t len = 0;
    unsigned line = 1;
    int rc;
    if (depth > 16)
        return 0;
    if ((rc = read_plan_text(path, &text, &len)) != 0 || !text)
        return rc;
    for (size_t i = 0; i < len && rc == 0; i++) {
        char c = text[i];
        if (c == '\n') {
            line++;
        } else if (c == '"') {
            for (i++; i < len && text[i] != '"'; i++) {
                if (text[i] == '\\')
                    i++;
                else if (text[i] == '\n')
                    line++;
            }
        } else if (c == '#' || (c == '/' && text[i + 1] == '/')) {
            while (i < len && text[i] != '\n')
                i++;
            line++;
        } else if (c == '/' && text[i + 1] == '*') {
            for (i += 2; i < len && !(text[i] == '*' && text[i + 1] == '/'); i++)
                if (text[i] == '\n')
                    line++;
            i++;
        } else if (c == '@' && strncmp(text + i, "@include", 8) == 0) {
            /* The whole text (a NUL in it included); the name, like libconfig's, ends at a NUL. */
            const char *q = memchr(text + i, '"', len - i);
            const char *e = q ? memchr(q + 1, '"', len - (size_t)(q + 1 - text)) : NULL;
            if (q && e) {
                char *name = xstrndup(q + 1, (size_t)(e - q - 1));
                char *inc = path_absolute(name, dir);
                struct stat ib;
                if (stat(inc, &ib) == 0 && !S_ISREG(ib.st_mode))
                    rc = error_set(RELHOST_EINVAL,
                                   "%s:%u: @include \"%s\": %s is not a regular "
                                   "file",
                                   path, line, name, inc);
                else
                    rc = plan_check_int_literals(inc, dir, depth + 1);
                free(name);
                free(inc);
                i = (size_t)(e - text);
            }
        } else if (isdigit((unsigned char)c) &&
                   (i == 0 || (!isalnum((unsigned char)text[i - 1]) && text[i - 1] != '.' &&
                               text[i - 1] != '_' &&
                               /* "build-2025...": digits inside a setting name */
                               !(text[i - 1] == '-' && i > 1 &&
                                 (isalnum((unsigned char)text[i - 2]) || text[i - 2] == '_' ||
                                  text[i - 2] == '-'))))) {
            size_t j = i;
            int hex = c == '0' && (text[i + 1] == 'x' || text[i + 1] == 'X');
            unsigned long long v;
            errno = 0;
            v = strtoull(text + i, NULL, hex ? 16 : 10);
            j += hex ? 2 : 0;
            while (j < len &&
                   (hex ? isxdigit((unsigned char)text[j]) : isdigit((unsigned char)text[j])))
                j++;
            /* floats (1.5, 1e9) and 64-bit literals (5000000000L) are read correctly */
            if (!(j < len &&
                  (text[j] == '.' || text[j] == 'e' || text[j] == 'E' || text[j] == 'L')) &&
                (errno == ERANGE || v > 2147483647ULL + (i > 0 && text[i - 1] == '-')))
                rc = error_set(RELHOST_EINVAL,
                               "%s:%u: integer %.*s does not fit in 32 bits, and libconfig would "
                               "silently wrap it; write it with an L suffix (%.*sL) or as a "
                               "string",
                               path, line, (int)(j - i), text + i, (int)(j - i), text + i);
            i = j - 1;
        }
    }
    free(text);
    return rc;
}
