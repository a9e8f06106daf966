/* header.c: the text header of mz streams: "@TAG\tkey:value" lines kept in order. */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "io.h"

static void add_line(mz_header *h, char *line)
{
    if (h->n == h->m) {
        h->m = h->m ? h->m * 2 : 16;
        h->line = mz_realloc(h->line, h->m * sizeof *h->line);
    }
    h->line[h->n++] = line;
}

int mz_header_parse(mz_header *h, const char *text, size_t len)
{
    size_t i = 0;
    int lineno = 0;
    memset(h, 0, sizeof *h);
    while (i < len) {
        const char *nl = memchr(text + i, '\n', len - i);
        size_t n = nl ? (size_t)(nl - (text + i)) : len - i;
        char *line;
        lineno++;
        if (!nl) {
            mz_error("header line %d: no newline at its end", lineno);
            goto fail;
        }
        if (n < 3 || text[i] != '@' || memchr(text + i, '\0', n)) {
            mz_error("header line %d: does not start with '@TAG'", lineno);
            goto fail;
        }
        line = mz_malloc(n + 1);
        memcpy(line, text + i, n);
        line[n] = '\0';
        add_line(h, line);
        i += n + 1;
    }
    return 0;
fail:
    mz_header_free(h);
    return -1;
}

void mz_header_free(mz_header *h)
{
    for (int i = 0; i < h->n; i++) free(h->line[i]);
    free(h->line);
    memset(h, 0, sizeof *h);
}

void mz_header_copy(mz_header *dst, const mz_header *src)
{
    memset(dst, 0, sizeof *dst);
    for (int i = 0; i < src->n; i++) add_line(dst, mz_strdup(src->line[i]));
}

void mz_header_add(mz_header *h, const char *fmt, ...)
{
    va_list ap;
    int n;
    char *line;
    va_start(ap, fmt);
    n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    line = mz_malloc(n + 1);
    va_start(ap, fmt);
    vsnprintf(line, n + 1, fmt, ap);
    va_end(ap);
    /* a header line never holds a newline */
    for (char *p = line; *p; p++)
        if (*p == '\n') *p = ' ';
    add_line(h, line);
}

/* s into b with its tabs as spaces (a tab would split a header field). */
static void put_untabbed(mz_buf *b, const char *s)
{
    for (; *s; s++) mz_buf_put(b, *s == '\t' ? " " : s, 1);
}

void mz_header_add_pg_resolved(mz_header *h, const char *prog, int argc, char **argv, int n,
                               const char *const *key, const char *const *path)
{
    mz_buf b = {0};
    int id = 0;
    while (mz_header_find(h, "@PG", id) >= 0) id++;
    mz_buf_printf(&b, "@PG\tID:%d\tPN:%s\tVN:%s", id, prog, MZ_VERSION);
    for (int i = 0; i < n; i++) {
        char *real = path[i] ? mz_real_path(path[i]) : mz_strdup("built-in");
        mz_buf_printf(&b, "\t%s:", key[i]);
        put_untabbed(&b, real);
        free(real);
    }
    mz_buf_puts(&b, "\tCL:");
    for (int i = 0; i < argc; i++) {
        if (i) mz_buf_puts(&b, " ");
        put_untabbed(&b, argv[i]);
    }
    mz_header_add(h, "%s", b.s);
    mz_buf_free(&b);
}

void mz_header_add_pg(mz_header *h, const char *prog, int argc, char **argv)
{
    mz_header_add_pg_resolved(h, prog, argc, argv, 0, NULL, NULL);
}

void mz_header_remove(mz_header *h, const char *tag)
{
    int k = 0;
    size_t tl = strlen(tag);
    for (int i = 0; i < h->n; i++) {
        const char *l = h->line[i];
        if (strncmp(l, tag, tl) == 0 && (l[tl] == '\t' || l[tl] == '\0'))
            free(h->line[i]);
        else
            h->line[k++] = h->line[i];
    }
    h->n = k;
}

int mz_header_find(const mz_header *h, const char *tag, int nth)
{
    size_t tl = strlen(tag);
    for (int i = 0; i < h->n; i++) {
        const char *l = h->line[i];
        if (strncmp(l, tag, tl) == 0 && (l[tl] == '\t' || l[tl] == '\0') && nth-- == 0) return i;
    }
    return -1;
}

const char *mz_header_value(const mz_header *h, int i, const char *key, char *buf, size_t size)
{
    size_t kl = strlen(key);
    const char *p;
    if (i < 0 || i >= h->n) return NULL;
    for (p = strchr(h->line[i], '\t'); p; p = strchr(p + 1, '\t')) {
        if (strncmp(p + 1, key, kl) == 0 && p[1 + kl] == ':') {
            const char *v = p + 2 + kl, *end = strchr(v, '\t');
            size_t n = end ? (size_t)(end - v) : strlen(v);
            if (n >= size) n = size - 1;
            memcpy(buf, v, n);
            buf[n] = '\0';
            return buf;
        }
    }
    return NULL;
}

/* "@TR steps": the field's name for error messages. */
static const char *field_name(const mz_header *h, int i, const char *key, char *buf, size_t size)
{
    const char *l = i >= 0 && i < h->n ? h->line[i] : "@??";
    int tl = (int)strcspn(l, "\t");
    snprintf(buf, size, "header %.*s %s", tl, l, key);
    return buf;
}

int mz_header_long(const mz_header *h, int i, const char *key, long lo, long hi, long *out)
{
    char v[256], name[128];
    field_name(h, i, key, name, sizeof name);
    if (!mz_header_value(h, i, key, v, sizeof v)) {
        mz_error("%s: missing", name);
        return -1;
    }
    return mz_parse_long(v, lo, hi, name, out);
}

int mz_header_double(const mz_header *h, int i, const char *key, double lo, double hi, double *out)
{
    char v[256], name[128];
    field_name(h, i, key, name, sizeof name);
    if (!mz_header_value(h, i, key, v, sizeof v)) {
        mz_error("%s: missing", name);
        return -1;
    }
    return mz_parse_double(v, lo, hi, name, out);
}

void mz_header_text(const mz_header *h, mz_buf *b)
{
    for (int i = 0; i < h->n; i++) {
        mz_buf_puts(b, h->line[i]);
        mz_buf_put(b, "\n", 1);
    }
}
