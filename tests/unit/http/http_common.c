/* SPDX-License-Identifier: MIT */
/* tests/unit/http/http_common.c - the HTTP tests' helpers and fixtures: the fake server
 * (tests/http/fake_http.py) started with and without TLS, its script and request log, and SIGINT
 * timers. */

#include "http_common.h"

char tmp[PATH_MAX];
char script_path[PATH_MAX + 32];
char log_path[PATH_MAX + 32];
pid_t fake_pid = -1, tls_pid = -1, named_pid = -1;
int port, tls_port, named_port;
char cert_path[PATH_MAX + 32], key_path[PATH_MAX + 32];
/* A certificate for "localhost" only, served on 127.0.0.1: a host name mismatch. */
char named_cert[PATH_MAX + 32], named_key[PATH_MAX + 32];

/* ---- helpers ---- */

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

/* Replace the fake's script atomically: it reads the file for every request. */
void set_script(const char *json)
{
    char t[PATH_MAX + 40];
    FILE *f;
    snprintf(t, sizeof t, "%s.tmp", script_path);
    f = fopen(t, "we");
    assert_non_null(f);
    assert_true(fputs(json, f) >= 0);
    assert_int_equal(fclose(f), 0);
    assert_int_equal(rename(t, script_path), 0);
}

char *url_of(const char *path) { return xasprintf("http://127.0.0.1:%d%s", port, path); }

/* The requests the fake recorded whose path (without query) is `path`, oldest first. */
json_t *requests_for(const char *path)
{
    json_t *arr = json_array();
    char *text = slurp(log_path), *line, *save = NULL;
    if (!text)
        return arr;
    for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        json_t *o = json_loads(line, 0, NULL);
        const char *p = o ? json_string_value(json_object_get(o, "path")) : NULL;
        size_t pl = strlen(path);
        if (p && strncmp(p, path, pl) == 0 && (p[pl] == '\0' || p[pl] == '?'))
            json_array_append_new(arr, o);
        else
            json_decref(o);
    }
    free(text);
    return arr;
}

size_t count_requests(const char *path)
{
    json_t *a = requests_for(path);
    size_t n = json_array_size(a);
    json_decref(a);
    return n;
}

/* Header `name` of the i-th recorded request for path, copied ("" when absent). */
char *seen_header(const char *path, size_t i, const char *name)
{
    json_t *a = requests_for(path);
    const char *v =
        json_string_value(json_object_get(json_object_get(json_array_get(a, i), "headers"), name));
    char *out = xstrdup(v ? v : "");
    json_decref(a);
    return out;
}

relhost_http_request req_of(const char *method, const char *url)
{
    relhost_http_request r;
    memset(&r, 0, sizeof r);
    r.struct_size = sizeof r;
    r.method = method;
    r.url = url;
    return r;
}

const char *resp_header(const relhost_http_response *resp, const char *name)
{
    size_t nl = strlen(name);
    for (size_t i = 0; resp->headers[i]; i++)
        if (strncmp(resp->headers[i], name, nl) == 0 && resp->headers[i][nl] == ':')
            return resp->headers[i] + nl + 2;
    return NULL;
}

/* A port where connections are refused: bound, never listening, kept for the test. */
int refusing_port(int *fd_out)
{
    struct sockaddr_in a;
    socklen_t al = sizeof a;
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    assert_true(fd >= 0);
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &al), 0);
    *fd_out = fd;
    return ntohs(a.sin_port);
}

/* A real SIGINT to ourselves, sent from a loop timer callback while relhost waits. */
int sigint_tfd = -1;

static void on_sigint_timer(int fd, short revents, void *arg)
{
    uint64_t n;
    ssize_t r = read(fd, &n, sizeof n);
    (void)r;
    (void)revents;
    (void)arg;
    loop_unwatch_fd(fd);
    kill(getpid(), SIGINT);
}

void sigint_after(double secs)
{
    struct itimerspec its;
    memset(&its, 0, sizeof its);
    its.it_value.tv_sec = (time_t)secs;
    its.it_value.tv_nsec = (long)((secs - (double)(time_t)secs) * 1e9);
    sigint_tfd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
    assert_true(sigint_tfd >= 0);
    assert_int_equal(timerfd_settime(sigint_tfd, 0, &its, NULL), 0);
    assert_int_equal(loop_watch_fd(sigint_tfd, POLLIN, on_sigint_timer, NULL), 0);
}

/* ---- fixtures ---- */

int setup(void **state)
{
    (void)state;
    if (loop_init() != 0)
        return -1;
    log_init(0, 0);
    error_clear();
    return 0;
}

int teardown(void **state)
{
    (void)state;
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

/* Starts a fake (with TLS when cert is given) and reads its port; the test's own fork, not
 * relhost's proc. */
static int start_fake(const char *cert, const char *key, pid_t *pid_out)
{
    const char *src = getenv("RELHOST_SOURCE_DIR");
    const char *py = getenv("PYTHON3");
    char fake[PATH_MAX], line[32];
    size_t got = 0;
    pid_t pid;
    int p[2];
    if (!src)
        return -1;
    if (!py || !*py)
        py = "python3";
    snprintf(fake, sizeof fake, "%s/tests/http/fake_http.py", src);
    if (pipe2(p, O_CLOEXEC) != 0)
        return -1;
    pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        sigset_t none;
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, NULL);
        dup2(p[1], 1);
        if (cert)
            execlp(py, py, fake, "--port", "0", "--script", script_path, "--log", log_path,
                   "--tls-cert", cert, "--tls-key", key, (char *)NULL);
        else
            execlp(py, py, fake, "--port", "0", "--script", script_path, "--log", log_path,
                   (char *)NULL);
        _exit(127);
    }
    *pid_out = pid;
    close(p[1]);
    while (got + 1 < sizeof line) {
        ssize_t n = read(p[0], line + got, 1);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0 || line[got] == '\n')
            break;
        got++;
    }
    line[got] = '\0';
    close(p[0]);
    return atoi(line);
}

/* A self-signed certificate (openssl req) for subject cn and subjectAltName san; 0 when made. */
static int make_cert(const char *cert, const char *key, const char *cn, const char *san)
{
    pid_t pid;
    int st;
    pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        int devnull = open("/dev/null", O_WRONLY);
        dup2(devnull, 1);
        dup2(devnull, 2);
        execlp("openssl", "openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout",
               key, "-out", cert, "-days", "2", "-subj", cn, "-addext", san, (char *)NULL);
        _exit(127);
    }
    if (waitpid(pid, &st, 0) != pid || !WIFEXITED(st) || WEXITSTATUS(st) != 0)
        return -1;
    return 0;
}

int group_setup(void **state)
{
    const char *base = getenv("RELHOST_TEST_TMP");
    (void)state;
    if (!base)
        return -1;
    snprintf(tmp, sizeof tmp, "%s/unit_http", base);
    nftw(tmp, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
    if (path_mkdirs(tmp) != 0)
        return -1;
    snprintf(script_path, sizeof script_path, "%s/script.json", tmp);
    snprintf(log_path, sizeof log_path, "%s/requests.jsonl", tmp);
    set_script("{\"routes\": {}}");
    /* The fake is on loopback: a proxy from the environment must not be asked for it. */
    unsetenv("http_proxy");
    unsetenv("HTTP_PROXY");
    unsetenv("https_proxy");
    unsetenv("HTTPS_PROXY");
    unsetenv("all_proxy");
    unsetenv("ALL_PROXY");
    unsetenv("RELHOST_CA_BUNDLE");
    if (http_init() != 0)
        return -1;
    port = start_fake(NULL, NULL, &fake_pid);
    if (port <= 0)
        return -1;
    /* Without openssl the TLS test skips; every other test runs. */
    snprintf(cert_path, sizeof cert_path, "%s/cert.pem", tmp);
    snprintf(key_path, sizeof key_path, "%s/key.pem", tmp);
    snprintf(named_cert, sizeof named_cert, "%s/localhost-cert.pem", tmp);
    snprintf(named_key, sizeof named_key, "%s/localhost-key.pem", tmp);
    if (make_cert(cert_path, key_path, "/CN=127.0.0.1", "subjectAltName=IP:127.0.0.1") == 0)
        tls_port = start_fake(cert_path, key_path, &tls_pid);
    if (make_cert(named_cert, named_key, "/CN=localhost", "subjectAltName=DNS:localhost") == 0)
        named_port = start_fake(named_cert, named_key, &named_pid);
    return 0;
}

int group_teardown(void **state)
{
    (void)state;
    http_fini();
    secrets_clear();
    if (fake_pid > 0) {
        kill(fake_pid, SIGTERM);
        waitpid(fake_pid, NULL, 0);
    }
    if (tls_pid > 0) {
        kill(tls_pid, SIGTERM);
        waitpid(tls_pid, NULL, 0);
    }
    if (named_pid > 0) {
        kill(named_pid, SIGTERM);
        waitpid(named_pid, NULL, 0);
    }
    return 0;
}
