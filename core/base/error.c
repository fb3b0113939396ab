/* SPDX-License-Identifier: MIT */
#include "base/error.h"

#include <stdio.h>
#include <string.h>

static char msg[4096];

size_t error_escape(char *dst, size_t cap, const char *src)
{
    size_t o = 0;
    int quoted = 0;
    for (; *src && o + 1 < cap; src++) {
        unsigned char c = (unsigned char)*src;
        quoted ^= c == '"';
        if ((c < 0x20 && ((c != '\n' && c != '\t') || quoted)) || c == 0x7f) {
            if (o + 5 >= cap)
                break;
            snprintf(dst + o, cap - o, "\\x%02x", c);
            o += 4;
        } else {
            dst[o++] = (char)c;
        }
    }
    dst[o] = '\0';
    return o;
}

int error_setv(int code, const char *fmt, va_list ap)
{
    char raw[sizeof msg];
    vsnprintf(raw, sizeof raw, fmt, ap);
    error_escape(msg, sizeof msg, raw);
    return code;
}

int error_set(int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    error_setv(code, fmt, ap);
    va_end(ap);
    return code;
}

int error_wrap(int code, const char *fmt, ...)
{
    char old[sizeof msg];
    va_list ap;
    int n;
    char raw[sizeof msg];
    memcpy(old, msg, sizeof old);
    va_start(ap, fmt);
    vsnprintf(raw, sizeof raw, fmt, ap);
    va_end(ap);
    error_escape(msg, sizeof msg, raw);
    n = (int)strlen(msg);
    if (n >= 0 && (size_t)n + 3 < sizeof msg) {
        size_t room = sizeof msg - (size_t)n - 3;
        size_t ol = strnlen(old, room);
        msg[n] = ':';
        msg[n + 1] = ' ';
        memcpy(msg + n + 2, old, ol);
        msg[(size_t)n + 2 + ol] = '\0';
    }
    return code;
}

const char *error_last(void) { return msg; }

void error_clear(void) { msg[0] = '\0'; }
