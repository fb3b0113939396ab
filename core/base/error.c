/* SPDX-License-Identifier: MIT */
#include "base/error.h"

#include <stdio.h>
#include <string.h>

static char msg[4096];

int error_setv(int code, const char *fmt, va_list ap)
{
    vsnprintf(msg, sizeof msg, fmt, ap);
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
    memcpy(old, msg, sizeof old);
    va_start(ap, fmt);
    n = vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
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
