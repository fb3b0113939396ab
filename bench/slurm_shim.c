/* SPDX-License-Identifier: MIT */
/*
 * slurm_shim.c - a counting stand-in for sbatch, squeue, scontrol, scancel and sacct, for
 * bench/slurm_scale (never a test: it stands in for a controller that is not there). Chosen by
 * the name it runs under; state in the folder $SLURM_SHIM_DIR:
 *   calls   one line per call: the tool's name (what the bench counts)
 *   jobs    one line per submitted job: "<id> <submit time> <name>"
 *   next    the next job id (under flock)
 * A job is PENDING for its first $SLURM_SHIM_PEND seconds (default 1), RUNNING for the next
 * $SLURM_SHIM_RUN (default 1), then COMPLETED 0:0. Output shapes are Slurm 22.05's
 * (docs: ../../shared API_SHAPES.md): sbatch --parsable prints the id; squeue -h -o "%i|%T|%r|%j";
 * scontrol show job -o [ID] prints JobId=... JobState=... ExitCode=c:s Restarts=n lines.
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
    unsigned long id = 100;
    FILE *f;
    int lock;
    char p[4200];
    for (int i = 1; i < argc; i++) {
        if (!strncmp(argv[i], "--job-name=", 11))
            name = argv[i] + 11;
        else if (!strncmp(argv[i], "--output=", 9))
            out = argv[i] + 9;
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
    fprintf(f, "%lu %.3f %s\n", id, now(), name);
    fclose(f);
    close(lock);
    if (out) { /* "%%" is sbatch's "%" */
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

/* Every job, or the one numbered `only` (0: all): fn(id, state, name). */
static int each_job(unsigned long only, void (*fn)(unsigned long, const char *, const char *))
{
    FILE *f = at("jobs", "r");
    char line[1024], name[900];
    double t = now(), sub;
    unsigned long id;
    int found = 0;
    if (!f)
        return 0;
    while (fgets(line, sizeof line, f))
        if (sscanf(line, "%lu %lf %899s", &id, &sub, name) == 3 && (!only || id == only)) {
            fn(id, state_of(sub, t), name);
            found = 1;
        }
    fclose(f);
    return found;
}

static void squeue_line(unsigned long id, const char *st, const char *name)
{
    printf("%lu|%s|%s|%s\n", id, st, strcmp(st, "PENDING") ? "None" : "Priority", name);
}

static void scontrol_line(unsigned long id, const char *st, const char *name)
{
    printf("JobId=%lu JobName=%s UserId=root(0) GroupId=root(0) MCS_label=N/A Priority=1 Nice=0 "
           "Account=(null) QOS=(null) JobState=%s Reason=None Dependency=(null) Requeue=1 "
           "Restarts=0 BatchFlag=1 Reboot=0 ExitCode=0:0 RunTime=00:00:01 TimeLimit=00:03:00 "
           "Partition=debug NodeList=localhost BatchHost=localhost NumNodes=1 NumCPUs=1 "
           "Command=/shim/script WorkDir=/tmp StdErr=/shim/out StdIn=/dev/null StdOut=/shim/out "
           "Power=\n",
           id, name, st);
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
        each_job(0, squeue_line);
        return 0;
    }
    if (!strcmp(tool, "scontrol")) {
        const char *last = argv[argc - 1];
        unsigned long only = strcmp(last, "-o") ? strtoul(last, NULL, 10) : 0;
        if (!each_job(only, scontrol_line) && only) {
            fprintf(stderr, "slurm_load_jobs error: Invalid job id specified\n");
            return 1;
        }
        return 0;
    }
    return 0; /* scancel, sacct: counted only */
}
