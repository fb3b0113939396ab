/* SPDX-License-Identifier: MIT */
#include "run/crash.h"

#ifdef RELHOST_TESTING

#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Hits of the one point RELHOST_CRASH_AT names. A process only counts when the variable is set,
 * so a test parent that forks a crashing child never carries a count into it. */
static unsigned long hits;

void crash_point(const char *name)
{
    const char *want = getenv("RELHOST_CRASH_AT");
    size_t n;
    unsigned long nth = 1;
    if (!want || !*want)
        return;
    n = strlen(name);
    if (strncmp(want, name, n) != 0)
        return;
    if (want[n] == ':') {
        char *end;
        nth = strtoul(want + n + 1, &end, 10);
        if (*end || nth == 0)
            return;
    } else if (want[n] != '\0') {
        return;
    }
    if (++hits < nth)
        return;
    /* write(2), not stdio: buffered output must die with the process, as it would under kill -9. */
    {
        static const char pre[] = "relhost: RELHOST_CRASH_AT: dying at ";
        ssize_t r = write(2, pre, sizeof pre - 1);
        r = write(2, want, strlen(want));
        r = write(2, "\n", 1);
        (void)r;
    }
    raise(SIGKILL);
    abort(); /* not reached: SIGKILL cannot be caught */
}

#else

/* An ISO C translation unit may not be empty. */
typedef int crash_point_disabled;

#endif
