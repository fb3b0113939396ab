/* SPDX-License-Identifier: MIT */
/*
 * slurm_shim.c - a counting stand-in for sbatch, squeue, scontrol, scancel and sacct, for
 * bench/slurm_scale (never a test: it stands in for a controller that is not there). Chosen by
 * the name it runs under; state in the folder $SLURM_SHIM_DIR:
 *   calls   one line per call: the tool's name (what the bench counts)
 *   jobs    one line per sbatch: "<id> <submit time> <tasks> <name>" (tasks 0: a plain job,
 *           N: a job array of tasks id_0..id_(N-1), sbatch --array=0-(N-1))
 *   next    the next job id (under flock)
 * A job is PENDING for its first $SLURM_SHIM_PEND seconds (default 1), RUNNING for the next
 * $SLURM_SHIM_RUN (default 1), then COMPLETED 0:0. Output shapes are Slurm 22.05's
 * (docs: ../../shared API_SHAPES.md): sbatch --parsable prints the id; squeue -h -o "%i|%T|%r|%j"
 * (-r: one line per array task "id_i"); scontrol show job -o [ID] prints JobId=... [ArrayJobId=
 * ArrayTaskId=] JobState=... ExitCode=c:s Restarts=n lines; scontrol show config prints
 * MaxArraySize ($SLURM_SHIM_MAX_ARRAY, default 1001).
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <time.h>
#include <unistd.h>

static char dir[4096];

static FILE *at(const char *name, const char *mode)
{
    char p[4200];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    return fopen(p, mode);
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double env_num(const char *name, double def)
{
    const char *v = getenv(name);
    return v && *v ? atof(v) : def;
}

static const char *state_of(double submitted, double t)
{
    double pend = env_num("SLURM_SHIM_PEND", 1), run = env_num("SLURM_SHIM_RUN", 1);
    return t - submitted < pend ? "PENDING" : t - submitted < pend + run ? "RUNNING" : "COMPLETED";
}

static int sbatch(int argc, char **argv)
{
    const char *name = "?", *out = NULL;
    unsigned long id = 100, tasks = 0;
    FILE *f;
    int lock;
    char p[4200];
    for (int i = 1; i < argc; i++) {
        if (!strncmp(argv[i], "--job-name=", 11))
            name = argv[i] + 11;
        else if (!strncmp(argv[i], "--output=", 9))
            out = argv[i] + 9;
        else if (!strncmp(argv[i], "--array=0-", 10))
            tasks = strtoul(argv[i] + 10, NULL, 10) + 1;
    }
    snprintf(p, sizeof p, "%s/next", dir);
    lock = open(p, O_RDWR | O_CREAT, 0644);
    if (lock < 0 || flock(lock, LOCK_EX) != 0)
        return 1;
    {
        char buf[32] = "";
        ssize_t n = pread(lock, buf, sizeof buf - 1, 0);
        if (n > 0)
            id = strtoul(buf, NULL, 10);
        n = snprintf(buf, sizeof buf, "%lu\n", id + 1);
        if (pwrite(lock, buf, (size_t)n, 0) != n)
            return 1;
    }
    f = at("jobs", "a");
    fprintf(f, "%lu %.3f %lu %s\n", id, now(), tasks, name);
    fclose(f);
    close(lock);
    if (out && !tasks) { /* "%%" is sbatch's "%" */
        char path[4200];
        size_t k = 0;
        for (const char *s = out; *s && k + 1 < sizeof path; s++) {
            path[k++] = *s;
            if (s[0] == '%' && s[1] == '%')
                s++;
        }
        path[k] = '\0';
        if ((f = fopen(path, "a"))) {
            fprintf(f, "job %lu\n", id);
            fclose(f);
        }
    }
    printf("%lu\n", id);
    return 0;
}

/* Every job (array tasks one by one), or the one named `only` ("123", "123_4"; NULL: all):
 * fn(id, task (-1: a plain job), state, name). */
static int each_job(const char *only, void (*fn)(unsigned long, long, const char *, const char *))
{
    FILE *f = at("jobs", "r");
    char line[1024], name[900];
    double t = now(), sub;
    unsigned long id, tasks, oid = only ? strtoul(only, NULL, 10) : 0;
    long otask = only && strchr(only, '_') ? strtol(strchr(only, '_') + 1, NULL, 10) : -1;
    int found = 0;
    if (!f)
        return 0;
    while (fgets(line, sizeof line, f))
        if (sscanf(line, "%lu %lf %lu %899s", &id, &sub, &tasks, name) == 4 &&
            (!only || id == oid)) {
            for (long i = tasks ? 0 : -1; i < (long)tasks; i++)
                if (!only || otask == i) {
                    fn(id, i, state_of(sub, t), name);
                    found = 1;
                }
        }
    fclose(f);
    return found;
}

static void squeue_line(unsigned long id, long task, const char *st, const char *name)
{
    const char *why = strcmp(st, "PENDING") ? "None" : "Priority";
    if (task >= 0)
        printf("%lu_%ld|%s|%s|%s\n", id, task, st, why, name);
    else
        printf("%lu|%s|%s|%s\n", id, st, why, name);
}

static void scontrol_line(unsigned long id, long task, const char *st, const char *name)
{
    if (task >= 0)
        printf("JobId=%lu ArrayJobId=%lu ArrayTaskId=%ld ", id * 100000 + (unsigned long)task, id,
               task);
    else
        printf("JobId=%lu ", id);
    printf("JobName=%s UserId=root(0) GroupId=root(0) MCS_label=N/A Priority=1 Nice=0 "
           "Account=(null) QOS=(null) JobState=%s Reason=None Dependency=(null) Requeue=1 "
           "Restarts=0 BatchFlag=1 Reboot=0 ExitCode=0:0 RunTime=00:00:01 TimeLimit=00:03:00 "
           "Partition=debug NodeList=localhost BatchHost=localhost NumNodes=1 NumCPUs=1 "
           "Command=/shim/script WorkDir=/tmp StdErr=/shim/out StdIn=/dev/null StdOut=/shim/out "
           "Power=\n",
           name, st);
}

int main(int argc, char **argv)
{
    const char *tool = strrchr(argv[0], '/') ? strrchr(argv[0], '/') + 1 : argv[0];
    const char *d = getenv("SLURM_SHIM_DIR");
    FILE *f;
    if (!d)
        return 2;
    snprintf(dir, sizeof dir, "%s", d);
    if ((f = at("calls", "a"))) {
        fprintf(f, "%s\n", tool);
        fclose(f);
    }
    if (!strcmp(tool, "sbatch"))
        return sbatch(argc, argv);
    if (!strcmp(tool, "squeue")) {
        for (int i = 1; i < argc; i++)
            if (!strcmp(argv[i], "-n") || !strcmp(argv[i], "-j"))
                return 0; /* lookups by name: nothing was lost in a bench */
        each_job(NULL, squeue_line);
        return 0;
    }
    if (!strcmp(tool, "scontrol")) {
        const char *last = argv[argc - 1];
        const char *only = strcmp(last, "-o") ? last : NULL;
        if (!strcmp(last, "config")) {
            const char *m = getenv("SLURM_SHIM_MAX_ARRAY");
            printf("MaxArraySize            = %s\nMaxJobCount             = 1000000\n",
                   m && *m ? m : "1001");
            return 0;
        }
        if (!each_job(only, scontrol_line) && only) {
            fprintf(stderr, "slurm_load_jobs error: Invalid job id specified\n");
            return 1;
        }
        return 0;
    }
    return 0; /* scancel, sacct: counted only */
}
