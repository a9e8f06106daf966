/* fuzz-speedup.c: libFuzzer harness of mz-speedup's command line: the script and the tools it runs, as processes. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <locale.h>
#include <math.h>
#include <signal.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>

#include "fuzz.h"

/* Where mz-speedup and the tools it runs are: make fuzz builds them with
 * AddressSanitizer and UBSan into build/fuzz/tools; the replay in make check
 * uses bin/ (built as everything else, so asan=1 replays under ASan). */
#ifndef MZ_FUZZ_BIN
#define MZ_FUZZ_BIN "bin"
#endif
#ifndef MZ_FUZZ_MODELS
#define MZ_FUZZ_MODELS "models"
#endif
#define MAX_ARGS 32
#define MAX_ARG 256
#define TIMEOUT_S 12.0

/* The input is the command line, one argument per line, after
 * "-n 1 -b 4 -L 16" (later options win, so a run stays short unless the
 * input asks for more). A first line "@de" runs it under de_DE.UTF-8 (when
 * installed), else LC_ALL=C. Inputs with an argument that starts with '/' or
 * holds "..", a NUL, or too many or too long arguments are skipped: the
 * harness runs as whoever fuzzes, and -k DIR writes into DIR.
 * Checks, on every run that ends within 12 s (a longer one, asked for by
 * its options, is killed and not judged; with @de it runs twice, within
 * libFuzzer's -timeout=30):
 *   - it exits (no signal) with 0, 1 or 2, never a sanitizer's status;
 *   - every line on standard error is a tool's message ("mz-...: "), a
 *     usage line or its continuation (indented, or mz-cost's capacity
 *     report, "group DRAM: ..." and the like, after its "does not fit"):
 *     no shell error of the script, no sanitizer report (the children's
 *     sanitizers exit with 86 and 87);
 *   - 0: standard output is the #mz-speedup line, the header and the four
 *     variants in order, numbers positive and finite (unless -S changed the
 *     wafer: absurd overrides are mz-cost's checks, fuzzed by its own harness);
 *   - 1 or 2: nothing on standard output, a message on standard error; 2
 *     with the usage;
 *   - under de_DE.UTF-8: the same status and standard output as under C. */

static char run_dir[400];

static int rm_one(const char *p, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st, (void)flag;
    if (ftw->level > 0) remove(p);
    return 0;
}

/* Empty directory dir (its contents, not itself). */
static void empty_dir(const char *dir) { nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS); }

/* At exit, before fuzz_cleanup (registered earlier, so run later). */
static void remove_run_dir(void)
{
    empty_dir(run_dir);
    rmdir(run_dir);
}

static char *slurp(const char *path, size_t *n)
{
    mz_buf b = {0};
    char chunk[65536];
    size_t got;
    FILE *f = fopen(path, "rb");
    if (!f) abort();
    while ((got = fread(chunk, 1, sizeof chunk, f)) > 0) mz_buf_put(&b, chunk, got);
    fclose(f);
    *n = b.n;
    if (!b.s) mz_buf_put(&b, "", 0);
    return b.s;
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* A positive finite number, the whole field. */
static int positive_number(const char *s)
{
    char *end;
    double v = strtod(s, &end);
    return end != s && *end == '\0' && isfinite(v) && v > 0;
}

/* Check a table mz-speedup printed with exit 0. */
static void check_table(char *out, int finite, const char *cmd)
{
    static const char *const variants[] = {"Baseline", "Mozart-A", "Mozart-B", "Mozart-C"};
    char *line[8], *f[12];
    int n = mz_split(out, '\n', line, 8), nf;
    FUZZ_CHECK(n == 7 && line[6][0] == '\0', "%s: %d lines on standard output, want 6", cmd, n - 1);
    FUZZ_CHECK(strncmp(line[0], "#mz-speedup\tmodel:", 18) == 0, "%s: first line '%.80s'", cmd, line[0]);
    /* -E adds the energy model's columns */
    if (strcmp(line[1], "model\tvariant\tlatency_s\tnormalized\tspeedup\tct") == 0)
        nf = 6;
    else if (strcmp(line[1], "model\tvariant\tlatency_s\tnormalized\tspeedup\tct\tenergy_J\tpower_W\ttokens_per_J") == 0)
        nf = 9;
    else
        nf = 0;
    FUZZ_CHECK(nf, "%s: header '%.120s'", cmd, line[1]);
    for (int r = 0; r < 4; r++) {
        FUZZ_CHECK(mz_split(line[2 + r], '\t', f, 12) == nf, "%s: row %d has not %d fields", cmd, r + 1, nf);
        FUZZ_CHECK(strcmp(f[1], variants[r]) == 0, "%s: row %d is '%s'", cmd, r + 1, f[1]);
        for (int c = 2; finite && c < nf; c++)
            FUZZ_CHECK(positive_number(f[c]), "%s: row %s: '%s' is not a positive finite number", cmd, f[1], f[c]);
    }
}

/* A line of mz-cost's capacity report: one per kind of memory over capacity. */
static int capacity_line(const char *l)
{
    static const char *const kind[] = {"group DRAM: ", "root DRAM: ", "chiplet SRAM: ", "root SRAM: "};
    for (int k = 0; k < 4; k++)
        if (strncmp(l, kind[k], strlen(kind[k])) == 0) return 1;
    return 0;
}

/* Every line of standard error a message of a tool, a usage line or a
 * continuation: indented, or the capacity report's lines after mz-cost's
 * "the step does not fit the wafer" (its warning, or its error under
 * --strict). */
static void check_stderr(char *err, const char *cmd)
{
    /* (a sanitizer's report starts its lines with "==PID==" or "FILE:LINE: runtime
     * error", never with "mz-": the line check catches it; a tool's message
     * may quote an argument such as 'Sanitizer') */
    int report = 0; /* in a capacity report */
    for (char *l = err, *nl; *l; l = nl + 1) {
        if (!(nl = strchr(l, '\n'))) nl = l + strlen(l) - 1;
        if (report && capacity_line(l)) {
            if (!nl[1]) break;
            continue;
        }
        FUZZ_CHECK(strncmp(l, "mz-", 3) == 0 || strncmp(l, "Usage: ", 7) == 0 || strncmp(l, "Try '", 5) == 0 ||
                       l[0] == ' ' || l[0] == '\n',
                   "%s: a line on standard error that is no tool's message: '%.*s'", cmd, (int)(nl - l), l);
        {
            const char *fit = strstr(l, "the step does not fit the wafer");
            report = strncmp(l, "mz-cost: ", 9) == 0 && fit && fit < nl;
        }
        if (!nl[1]) break;
    }
}

/* Run argv (NULL-terminated) under locale loc in an emptied run_dir:
 * returns 1 with *st, *out and *err (malloc'ed) filled, 0 after a timeout. */
static int run_once(char **argv, const char *loc, int *st, char **out, size_t *nout, char **err, size_t *nerr)
{
    char env_loc[64], env_models[600], env_tmp[600], outp[450], errp[450], tmpd[450];
    char *envp[] = {"PATH=/usr/bin:/bin", env_loc, env_models, env_tmp, "ASAN_OPTIONS=exitcode=86:detect_leaks=1",
                    "UBSAN_OPTIONS=exitcode=87:print_stacktrace=1", NULL};
    posix_spawn_file_actions_t fa;
    posix_spawnattr_t at;
    pid_t pid;
    double t0;
    int timed_out = 0;
    if (!run_dir[0]) {
        snprintf(run_dir, sizeof run_dir, "%s/run", fuzz_tmpdir());
        atexit(remove_run_dir);
    }
    snprintf(env_loc, sizeof env_loc, "LC_ALL=%s", loc);
    snprintf(env_models, sizeof env_models, "MZ_MODELS=%s", MZ_FUZZ_MODELS);
    snprintf(tmpd, sizeof tmpd, "%s/tmp", run_dir);
    snprintf(env_tmp, sizeof env_tmp, "TMPDIR=%s", tmpd);
    snprintf(outp, sizeof outp, "%s", fuzz_path("out"));
    snprintf(errp, sizeof errp, "%s", fuzz_path("err"));
    mkdir(run_dir, 0755);
    empty_dir(run_dir);
    mkdir(tmpd, 0755);
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&fa, 1, outp, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    posix_spawn_file_actions_addopen(&fa, 2, errp, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    posix_spawn_file_actions_addchdir_np(&fa, run_dir);
    posix_spawnattr_init(&at);
    posix_spawnattr_setpgroup(&at, 0); /* its own process group: a timeout kills the whole pipeline */
    posix_spawnattr_setflags(&at, POSIX_SPAWN_SETPGROUP);
    FUZZ_CHECK(posix_spawn(&pid, "/bin/sh", &fa, &at, argv, envp) == 0, "cannot run /bin/sh: %s", strerror(errno));
    posix_spawn_file_actions_destroy(&fa);
    posix_spawnattr_destroy(&at);
    t0 = now();
    for (;;) {
        pid_t w = waitpid(pid, st, WNOHANG);
        if (w == pid) break;
        FUZZ_CHECK(w == 0 || errno == EINTR, "waitpid: %s", strerror(errno));
        if (now() - t0 > TIMEOUT_S) {
            /* asked for more than the harness waits for: not judged */
            kill(-pid, SIGKILL);
            waitpid(pid, st, 0);
            timed_out = 1;
            break;
        }
        {
            struct timespec d = {0, 5000000};
            nanosleep(&d, NULL);
        }
    }
    kill(-pid, SIGKILL); /* nothing of the run outlives it */
    if (timed_out) {
        empty_dir(run_dir);
        return 0;
    }
    *out = slurp(outp, nout);
    *err = slurp(errp, nerr);
    empty_dir(run_dir);
    return 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *const pre[] = {"-n", "1", "-b", "4", "-L", "16"};
    char *copy, *arg[MAX_ARGS + 1], *argv[MAX_ARGS + 16], cmd[4096];
    int n, first = 0, de = 0, finite = 1, argc = 0, st, asks_help = 0;
    size_t nout, nerr;
    char *out, *err;
    if (memchr(data, '\0', size) || size > MAX_ARGS * MAX_ARG) return 0;
    copy = mz_malloc(size + 1);
    memcpy(copy, data, size);
    copy[size] = '\0';
    if ((n = mz_split(copy, '\n', arg, MAX_ARGS + 1)) < 0) goto skip;
    if (n > 0 && arg[n - 1][0] == '\0') n--; /* a final newline ends the last argument */
    if (n > 0 && strcmp(arg[0], "@de") == 0) de = 1, first = 1;
    for (int i = first; i < n; i++) {
        if (strlen(arg[i]) >= MAX_ARG || arg[i][0] == '/' || strstr(arg[i], "..")) goto skip;
        if (strcmp(arg[i], "-S") == 0 || strncmp(arg[i], "--set", 5) == 0) finite = 0;
        if (strcmp(arg[i], "-h") == 0 || strcmp(arg[i], "--help") == 0 || strcmp(arg[i], "--version") == 0) asks_help = 1;
    }
    if (de) {
        locale_t l = newlocale(LC_ALL_MASK, "de_DE.UTF-8", (locale_t)0);
        if (l) freelocale(l); else de = 0;
    }
    argv[argc++] = "sh";
    argv[argc++] = MZ_FUZZ_BIN "/mz-speedup";
    for (size_t i = 0; i < sizeof pre / sizeof *pre; i++) argv[argc++] = (char *)pre[i];
    for (int i = first; i < n; i++) argv[argc++] = arg[i];
    argv[argc] = NULL;
    {
        size_t len = snprintf(cmd, sizeof cmd, "mz-speedup");
        for (int i = 2; i < argc && len < sizeof cmd - 1; i++) len += snprintf(cmd + len, sizeof cmd - len, " '%s'", argv[i]);
        if (de && len < sizeof cmd - 1) snprintf(cmd + len, sizeof cmd - len, " (LC_ALL=de_DE.UTF-8)");
    }
    if (!run_once(argv, de ? "de_DE.UTF-8" : "C", &st, &out, &nout, &err, &nerr)) goto skip;
    FUZZ_CHECK(WIFEXITED(st), "%s: killed by signal %d:\n%.2000s", cmd, WIFSIGNALED(st) ? WTERMSIG(st) : -1, err);
    FUZZ_CHECK(WEXITSTATUS(st) <= 2, "%s: exit status %d:\n%.2000s", cmd, WEXITSTATUS(st), err);
    if (de) {
        /* the same bytes as under the C locale */
        int st2;
        size_t nout2, nerr2;
        char *out2, *err2;
        if (run_once(argv, "C", &st2, &out2, &nout2, &err2, &nerr2)) {
            FUZZ_CHECK(st2 == st && nout2 == nout && memcmp(out2, out, nout) == 0,
                       "%s: exit %d and %zu bytes, under LC_ALL=C exit %d and %zu bytes:\n%.2000s", cmd,
                       WEXITSTATUS(st), nout, WEXITSTATUS(st2), nout2, err);
            free(out2);
            free(err2);
        }
    }
    check_stderr(err, cmd);
    if (WEXITSTATUS(st) == 0 && asks_help && strncmp(out, "Usage: mz-speedup ", 18) == 0) {
        /* -h or --help among the arguments: the usage, on standard output */
    } else if (WEXITSTATUS(st) == 0 && asks_help && strncmp(out, "mz-speedup ", 11) == 0 && !strchr(out, '\t')) {
        /* --version */
    } else if (WEXITSTATUS(st) == 0) {
        check_table(out, finite, cmd);
    } else {
        FUZZ_CHECK(nout == 0, "%s: exit %d with %zu bytes on standard output", cmd, WEXITSTATUS(st), nout);
        FUZZ_CHECK(nerr > 0, "%s: exit %d without a message", cmd, WEXITSTATUS(st));
        FUZZ_CHECK(WEXITSTATUS(st) != 2 || strstr(err, "Usage: "), "%s: exit 2 without the usage", cmd);
    }
    free(out);
    free(err);
skip:
    free(copy);
    return 0;
}
