/* SPDX-License-Identifier: MIT */
/* tests/unit/proc/proc_common.c - the proc tests' folder, helpers (files, specs, waits, /proc
 * status fields, the escapee's report) and fixtures. */

#include "proc_common.h"

char tmp[PATH_MAX];

/* The grandchild of this script double-forks away (a subshell that exits), calls setsid() and
 * ignores SIGTERM, then reports its Pid, NSpgid, NSsid and SigIgn into $1. The script waits for
 * that report, then stays ("stay") or exits 0 ("exit"), leaving the grandchild behind. */
static const char escape_sh[] =
    "#!/bin/sh\n"
    "( setsid sh -c 'trap \"\" TERM\n"
    "  grep -E \"^(Pid|NSpgid|NSsid|SigIgn):\" /proc/$$/status > \"$1.tmp\"\n"
    "  mv \"$1.tmp\" \"$1\"\n"
    "  exec sleep 1000' sh \"$1\" & )\n"
    "n=0\n"
    "while [ ! -s \"$1\" ] && [ $n -lt 500 ]; do sleep 0.01; n=$((n+1)); done\n"
    "[ \"$2\" = stay ] && exec sleep 1000\n"
    "exit 0\n";

char *path_in_tmp(const char *name) { return xasprintf("%s/%s", tmp, name); }

char *slurp(const char *path)
{
    strbuf b;
    char buf[4096];
    ssize_t n;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return NULL;
    sb_init(&b);
    while ((n = read(fd, buf, sizeof buf)) > 0)
        sb_add(&b, buf, (size_t)n);
    close(fd);
    return sb_take(&b);
}

void write_file(const char *path, const char *text, mode_t mode)
{
    FILE *f = fopen(path, "we");
    assert_non_null(f);
    assert_int_equal(fputs(text, f) >= 0, 1);
    assert_int_equal(fclose(f), 0);
    assert_int_equal(chmod(path, mode), 0);
}

relhost_proc_spec spec_of(const char *const *argv)
{
    relhost_proc_spec s;
    memset(&s, 0, sizeof s);
    s.struct_size = sizeof s;
    s.argv = argv;
    return s;
}

int pid_gone(pid_t pid) { return kill(pid, 0) == -1 && errno == ESRCH; }

/* Serves the loop (as relhost does) until the file exists and is not empty, or `limit` s. */
char *wait_for_file(const char *path, double limit)
{
    double until = loop_now() + limit;
    for (;;) {
        struct stat st;
        if (stat(path, &st) == 0 && st.st_size > 0)
            return slurp(path);
        if (loop_now() >= until)
            return NULL;
        loop_once(0.02);
    }
}

int wait_done(relhost_proc *p, relhost_proc_result *res, double limit)
{
    double until = loop_now() + limit;
    int done = 0;
    while (!done && loop_now() < until) {
        assert_int_equal(proc_poll(p, &done, res), 0);
        if (!done)
            loop_once(0.05);
    }
    return done;
}

/* Value of a "Name:\tvalue" line in a /proc status dump. */
long status_field(const char *text, const char *name, int base)
{
    char key[32];
    const char *at;
    snprintf(key, sizeof key, "%s:", name);
    at = strstr(text, key);
    assert_non_null(at);
    return strtol(at + strlen(key), NULL, base);
}

/* The escaped grandchild's report: asserts it really escaped (own session, not in the child's
 * group) and really ignores SIGTERM, and returns its pid. */
pid_t check_escapee(const char *report, pid_t child)
{
    pid_t pid = (pid_t)status_field(report, "Pid", 10);
    assert_true(pid > 0);
    assert_int_equal(status_field(report, "NSsid", 10), pid);
    assert_true(status_field(report, "NSpgid", 10) != child);
    assert_true(status_field(report, "SigIgn", 16) & (1L << (SIGTERM - 1)));
    return pid;
}

int setup(void **state)
{
    (void)state;
    proc_test_force_fd_fallback(0);
    if (loop_init() != 0)
        return -1;
    proc_init();
    return 0;
}

int teardown(void **state)
{
    (void)state;
    proc_kill_all();
    loop_fini();
    return 0;
}

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path) == 0 ? 0 : -1;
}

int group_setup(void **state)
{
    const char *base = getenv("RELHOST_TEST_TMP");
    char *script;
    (void)state;
    if (!base)
        return -1;
    /* One folder, emptied at the start: the last run's files stay for a look after a failure. */
    snprintf(tmp, sizeof tmp, "%s/unit_proc", base);
    nftw(tmp, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
    if (path_mkdirs(tmp) != 0)
        return -1;
    script = path_in_tmp("escape.sh");
    write_file(script, escape_sh, 0755);
    free(script);
    return 0;
}

/* "NAME=" line of `env` output, or NULL. */
const char *env_line(const char *out, const char *name)
{
    size_t n = strlen(name);
    for (const char *l = out; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL)
        if (strncmp(l, name, n) == 0 && l[n] == '=')
            return l + n + 1;
    return NULL;
}

int env_count(const char *out)
{
    int n = 0;
    for (const char *c = out; *c; c++)
        n += *c == '\n';
    return n;
}
