/* SPDX-License-Identifier: MIT */
/*
 * exits.c - the ways out of a process that skip exit() handlers, interposed for the plugins
 * (core/run/guard.h). A plugin running in relhost's process that calls _exit(0), _Exit(0),
 * quick_exit(0) or an exec function would end (or replace) relhost with a status of its own
 * choosing, past the on_exit() guard: a gate's `_exit(0)` would read as a green release.
 *
 * The relhost executable defines these functions and exports only them to the libraries it
 * loads (cli/exports.list, linked with --dynamic-list), so a plugin's calls resolve here.
 * Inside an open plugin call in relhost's own process they record the step ERROR
 * (plugin_exited), name the call and exit 3, as exit() does. Anywhere else (relhost itself, a
 * child a plugin forked, the spawn child that shares relhost's memory) they do what libc does:
 * _exit is the exit_group system call, execve the execve system call (no lock, no allocation:
 * safe in that spawn child), the others libc's own, looked up once at start.
 * What no interposition can reach: a raw syscall(SYS_exit_group) or a signal the plugin sends
 * itself; an isolated plugin (its own process) is contained whatever it calls.
 */
#include "run/guard.h"

#include <dlfcn.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <unistd.h>

typedef int (*execv_fn)(const char *, char *const[]);
typedef int (*execvpe_fn)(const char *, char *const[], char *const[]);
typedef int (*fexecve_fn)(int, char *const[], char *const[]);
typedef int (*execveat_fn)(int, const char *, char *const[], char *const[], int);
typedef void (*quick_exit_fn)(int);

static struct {
    execv_fn execv, execvp;
    execvpe_fn execvpe;
    fexecve_fn fexecve;
    execveat_fn execveat;
    quick_exit_fn quick_exit;
} real;

__attribute__((constructor)) static void find_real(void)
{
    real.execv = (execv_fn)dlsym(RTLD_NEXT, "execv");
    real.execvp = (execv_fn)dlsym(RTLD_NEXT, "execvp");
    real.execvpe = (execvpe_fn)dlsym(RTLD_NEXT, "execvpe");
    real.fexecve = (fexecve_fn)dlsym(RTLD_NEXT, "fexecve");
    real.execveat = (execveat_fn)dlsym(RTLD_NEXT, "execveat");
    real.quick_exit = (quick_exit_fn)dlsym(RTLD_NEXT, "quick_exit");
}

static void status_call(const char *fn, int status)
{
    char what[64];
    if (!guard_in_call())
        return;
    snprintf(what, sizeof what, "called %s(%d)", fn, status);
    guard_ended_in_call(what);
}

static void exec_call(const char *fn, const char *file)
{
    char what[320];
    if (!guard_in_call())
        return;
    snprintf(what, sizeof what, "called %s(\"%.256s\")", fn, file ? file : "");
    guard_ended_in_call(what);
}

static int missing(void)
{
    errno = ENOSYS;
    return -1;
}

void _exit(int status)
{
    status_call("_exit", status);
    for (;;)
        syscall(SYS_exit_group, status);
}

void _Exit(int status)
{
    status_call("_Exit", status);
    for (;;)
        syscall(SYS_exit_group, status);
}

void quick_exit(int status)
{
    status_call("quick_exit", status);
    if (real.quick_exit)
        real.quick_exit(status);
    for (;;)
        syscall(SYS_exit_group, status);
}

int execve(const char *path, char *const argv[], char *const envp[])
{
    exec_call("execve", path);
    return (int)syscall(SYS_execve, path, argv, envp);
}

int execv(const char *path, char *const argv[])
{
    exec_call("execv", path);
    return real.execv ? real.execv(path, argv) : missing();
}

int execvp(const char *file, char *const argv[])
{
    exec_call("execvp", file);
    return real.execvp ? real.execvp(file, argv) : missing();
}

int execvpe(const char *file, char *const argv[], char *const envp[])
{
    exec_call("execvpe", file);
    return real.execvpe ? real.execvpe(file, argv, envp) : missing();
}

int fexecve(int fd, char *const argv[], char *const envp[])
{
    exec_call("fexecve", "(a file descriptor)");
    return real.fexecve ? real.fexecve(fd, argv, envp) : missing();
}

int execveat(int dirfd, const char *path, char *const argv[], char *const envp[], int flags)
{
    exec_call("execveat", path);
    return real.execveat ? real.execveat(dirfd, path, argv, envp, flags) : missing();
}

/* The list forms: their arguments gathered into an argv, up to the terminating NULL (and, for
 * execle, the environment after it). How many there are, arg0 included: */
static size_t count_args(va_list *ap)
{
    va_list cnt;
    size_t n;
    va_copy(cnt, *ap);
    for (n = 1; va_arg(cnt, const char *); n++)
        ;
    va_end(cnt);
    return n;
}

static void fill_argv(const char **argv, size_t n, const char *arg0, va_list *ap)
{
    argv[0] = arg0;
    for (size_t i = 1; i < n; i++)
        argv[i] = va_arg(*ap, const char *);
    argv[n] = NULL;
}

/* execl and execlp: the list as an argv, then libc's execv or execvp (fn). */
static int exec_list(execv_fn fn, const char *file, const char *arg, va_list *ap)
{
    size_t n = count_args(ap);
    const char *argv[n + 1];
    fill_argv(argv, n, arg, ap);
    return fn ? fn(file, (char *const *)argv) : missing();
}

int execl(const char *path, const char *arg, ...)
{
    va_list ap;
    int rc;
    exec_call("execl", path);
    va_start(ap, arg);
    rc = exec_list(real.execv, path, arg, &ap);
    va_end(ap);
    return rc;
}

int execlp(const char *file, const char *arg, ...)
{
    va_list ap;
    int rc;
    exec_call("execlp", file);
    va_start(ap, arg);
    rc = exec_list(real.execvp, file, arg, &ap);
    va_end(ap);
    return rc;
}

int execle(const char *path, const char *arg, ...)
{
    va_list ap;
    size_t n;
    exec_call("execle", path);
    va_start(ap, arg);
    n = count_args(&ap);
    {
        const char *argv[n + 1];
        char *const *envp;
        fill_argv(argv, n, arg, &ap);
        (void)va_arg(ap, const char *); /* the NULL that ends the list */
        envp = va_arg(ap, char *const *);
        va_end(ap);
        return (int)syscall(SYS_execve, path, (char *const *)argv, envp);
    }
}
