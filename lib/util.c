/* util.c: errors, allocation, strict number parsing and small buffers. */
#include <ctype.h>
#include <errno.h>
#include <gsl/gsl_errno.h>
#include <limits.h>
#include <locale.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "io.h"

static char errmsg[1024];

void mz_error(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(errmsg, sizeof errmsg, fmt, ap);
    va_end(ap);
}

const char *mz_errmsg(void) { return errmsg[0] ? errmsg : "unknown error"; }

/* errmsg = a sep b, cut to the buffer (as one snprintf would cut it) */
static void join(const char *a, const char *sep, const char *b)
{
    size_t n = 0;
    for (const char *part[3] = {a, sep, b}, **p = part; p < part + 3; p++)
        for (const char *c = *p; *c && n + 1 < sizeof errmsg; c++) errmsg[n++] = *c;
    errmsg[n] = '\0';
}

void mz_error_prefix(const char *fmt, ...)
{
    char old[sizeof errmsg], prefix[sizeof errmsg];
    va_list ap;
    snprintf(old, sizeof old, "%s", mz_errmsg());
    va_start(ap, fmt);
    vsnprintf(prefix, sizeof prefix, fmt, ap);
    va_end(ap);
    join(prefix, ": ", old);
}

void mz_error_suffix(const char *fmt, ...)
{
    char old[sizeof errmsg], suffix[sizeof errmsg];
    va_list ap;
    snprintf(old, sizeof old, "%s", mz_errmsg());
    va_start(ap, fmt);
    vsnprintf(suffix, sizeof suffix, fmt, ap);
    va_end(ap);
    join(old, "", suffix);
}

void mz_perror(const char *prog) { fprintf(stderr, "%s: %s\n", prog, mz_errmsg()); }

void mz_die(const char *prog, const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "%s: ", prog);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    exit(MZ_EXIT_DATA);
}

void mz_tool_init(void)
{
    signal(SIGPIPE, SIG_DFL);
    setlocale(LC_ALL, "C");
    /* no dependency ends the process: GSL's default handler prints and
     * calls abort(); off, its functions return error codes that libmz
     * checks and turns into messages */
    gsl_set_error_handler_off();
}

int mz_check_table(double bytes, const char *what, const char *how)
{
    if (bytes <= (double)MZ_MAX_TABLE_BYTES) return 0;
    mz_error("%s would take %.1f GiB, more than the limit of %.0f GiB: %s", what, bytes / (1u << 30),
             (double)MZ_MAX_TABLE_BYTES / (1u << 30), how);
    return -1;
}

void mz_print_version(const char *prog) { printf("%s (mozart-tools) %s\n", prog, MZ_VERSION); }

/* The one place the library may end the process (see mz.h's preamble). */
static void (*oom_handler)(size_t n);

void mz_set_oom_handler(void (*handler)(size_t n)) { oom_handler = handler; }

static void oom(size_t n)
{
    if (oom_handler) oom_handler(n); /* does not return (longjmp or exit) */
    fprintf(stderr, "mz: out of memory (%zu bytes)\n", n);
    exit(MZ_EXIT_DATA);
}

void *mz_malloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (!p) oom(n);
    return p;
}

void *mz_calloc(size_t n, size_t size)
{
    void *p = calloc(n ? n : 1, size ? size : 1);
    if (!p) oom(n * size);
    return p;
}

void *mz_realloc(void *p, size_t n)
{
    p = realloc(p, n ? n : 1);
    if (!p) oom(n);
    return p;
}

char *mz_strdup(const char *s)
{
    size_t n = strlen(s) + 1;
    return memcpy(mz_malloc(n), s, n);
}

int mz_parse_long(const char *s, long lo, long hi, const char *what, long *out)
{
    char *end;
    long v;
    if (!s || !*s) {
        mz_error("%s: empty value, expected an integer", what);
        return -1;
    }
    errno = 0;
    v = strtol(s, &end, 10);
    /* strtol skips leading blanks: " 5" is not the number 5 */
    if (*end || end == s || isspace((unsigned char)*s)) {
        mz_error("%s: '%s' is not an integer", what, s);
        return -1;
    }
    if (errno == ERANGE || v < lo || v > hi) {
        mz_error("%s: %s is out of range [%ld, %ld]", what, s, lo, hi);
        return -1;
    }
    *out = v;
    return 0;
}

int mz_parse_double(const char *s, double lo, double hi, const char *what, double *out)
{
    char *end;
    double v;
    if (!s || !*s) {
        mz_error("%s: empty value, expected a number", what);
        return -1;
    }
    errno = 0;
    v = strtod(s, &end);
    if (*end || end == s || isnan(v) || isspace((unsigned char)*s)) {
        mz_error("%s: '%s' is not a number", what, s);
        return -1;
    }
    if (errno == ERANGE || v < lo || v > hi) {
        mz_error("%s: %s is out of range [%g, %g]", what, s, lo, hi);
        return -1;
    }
    *out = v;
    return 0;
}

static int cmp_int(const void *a, const void *b)
{
    int x = *(const int *)a, y = *(const int *)b;
    return (x > y) - (x < y);
}

int mz_parse_ranges(const char *s, int lo, int hi, const char *what, int **out)
{
    int n = 0, *v = NULL;
    unsigned long long total = 0;
    char *copy = mz_strdup(s), *p, *tok;
    /* first pass: check every item and count the values it lists (64-bit:
     * 0-2147483647 lists 2^31 of them), so that the count is bounded
     * before anything is allocated */
    if (!*s) goto bad;
    for (int pass = 0; pass < 2; pass++) {
        strcpy(copy, s);
        p = copy;
        while ((tok = strsep(&p, ",")) != NULL) {
            char *dash = strchr(tok + (*tok == '-'), '-');
            long a, b;
            if (dash) *dash = '\0';
            if (mz_parse_long(tok, lo, hi, what, &a) < 0) goto fail;
            b = a;
            if (dash && mz_parse_long(dash + 1, lo, hi, what, &b) < 0) goto fail;
            if (b < a) goto bad;
            if (pass == 0)
                total += (unsigned long long)(b - a) + 1;
            else
                for (long x = a; x <= b; x++) v[n++] = (int)x;
        }
        if (pass == 0) {
            if (total > MZ_RANGES_MAX) {
                mz_error("%s: %s lists %llu values, more than %d", what, s, total, MZ_RANGES_MAX);
                goto fail;
            }
            v = mz_malloc((size_t)total * sizeof *v);
        }
    }
    qsort(v, n, sizeof *v, cmp_int);
    {
        int k = 0;
        for (int i = 0; i < n; i++)
            if (k == 0 || v[i] != v[k - 1]) v[k++] = v[i];
        n = k;
    }
    free(copy);
    *out = v;
    return n;
bad:
    mz_error("%s: '%s' is not a list of ranges like 0-3,7", what, s);
fail:
    free(copy);
    free(v);
    return -1;
}

char *mz_format_ranges(const int *v, int n, char *buf, size_t size)
{
    size_t len = 0;
    buf[0] = '\0';
    for (int i = 0; i < n;) {
        int j = i;
        while (j + 1 < n && v[j + 1] == v[j] + 1) j++;
        if (j == i)
            len += snprintf(buf + len, len < size ? size - len : 0, "%s%d", i ? "," : "", v[i]);
        else
            len += snprintf(buf + len, len < size ? size - len : 0, "%s%d-%d", i ? "," : "", v[i], v[j]);
        i = j + 1;
    }
    return buf;
}

int mz_format_float(char *buf, size_t size, float v)
{
    int n = 0;
    for (int prec = 1; prec <= 9; prec++) {
        n = snprintf(buf, size, "%.*g", prec, (double)v);
        if (strtof(buf, NULL) == v) break;
    }
    return n;
}

void mz_buf_reserve(mz_buf *b, size_t extra)
{
    if (b->n + extra + 1 > b->m) {
        b->m = (b->n + extra + 1) * 2;
        b->s = mz_realloc(b->s, b->m);
    }
}

void mz_buf_put(mz_buf *b, const void *p, size_t n)
{
    mz_buf_reserve(b, n);
    memcpy(b->s + b->n, p, n);
    b->n += n;
    b->s[b->n] = '\0';
}

void mz_buf_puts(mz_buf *b, const char *s) { mz_buf_put(b, s, strlen(s)); }

void mz_buf_printf(mz_buf *b, const char *fmt, ...)
{
    va_list ap;
    int n;
    va_start(ap, fmt);
    n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    mz_buf_reserve(b, n);
    va_start(ap, fmt);
    vsnprintf(b->s + b->n, n + 1, fmt, ap);
    va_end(ap);
    b->n += n;
}

void mz_buf_free(mz_buf *b)
{
    free(b->s);
    b->s = NULL;
    b->n = b->m = 0;
}

int mz_split(char *s, char sep, char **fields, int max)
{
    int n = 0;
    if (max <= 0) return 0;
    fields[n++] = s;
    for (; *s; s++)
        if (*s == sep) {
            *s = '\0';
            if (n == max) return -1;
            fields[n++] = s + 1;
        }
    return n;
}
