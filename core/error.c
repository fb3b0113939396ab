/* SPDX-License-Identifier: MIT */
#include "error.h"

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
    char prefix[1024];
    va_list ap;
    memcpy(old, msg, sizeof old);
    va_start(ap, fmt);
    vsnprintf(prefix, sizeof prefix, fmt, ap);
    va_end(ap);
    snprintf(msg, sizeof msg, "%s: %s", prefix, old);
    return code;
}

const char *error_last(void) { return msg; }

void error_clear(void) { msg[0] = '\0'; }
