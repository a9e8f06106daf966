/* opt.c: the option layer of the tools' mains: parse a table of options, print it with live defaults. */
#include <getopt.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "io.h"
#include "opt.h"

#define OPT_HELP 'h'
#define OPT_VERSION 1000 /* long only: -V means other things in other tools */
#define OPT_LONG_BASE 256 /* a long-only row i has the code OPT_LONG_BASE + i */

void mz_opt_usage_error(const mz_opt_tool *t, const char *fmt, ...)
{
    if (fmt) {
        va_list ap;
        fprintf(stderr, "%s: ", t->prog);
        va_start(ap, fmt);
        vfprintf(stderr, fmt, ap);
        va_end(ap);
        fputc('\n', stderr);
    }
    fprintf(stderr, "%sTry '%s --help' for more information.\n", t->usage, t->prog);
    exit(MZ_EXIT_USAGE);
}

/* The default of row o as --help shows it, in buf; NULL when it has none. */
static const char *shown_default(const mz_opt *o, char *buf, size_t size)
{
    if (o->dflt) return o->dflt;
    switch (o->kind) {
    case MZ_OPT_STR: return *(const char **)o->var;
    case MZ_OPT_INT: snprintf(buf, size, "%d", *(const int *)o->var); return buf;
    case MZ_OPT_ULONG: snprintf(buf, size, "%lu", *(const unsigned long *)o->var); return buf;
    case MZ_OPT_DOUBLE: snprintf(buf, size, "%g", *(const double *)o->var); return buf;
    default: return NULL;
    }
}

static void help_row(FILE *fp, int width, const char *left, const char *help, const char *dflt)
{
    const char *p = help, *nl;
    int n = fprintf(fp, "%s", left);
    fprintf(fp, "%*s", n + 2 <= width ? width - n : 2, "");
    /* the help's lines, the continuations under the first */
    for (;;) {
        nl = strchr(p, '\n');
        if (!nl) break;
        fprintf(fp, "%.*s\n%*s", (int)(nl - p), p, width, "");
        p = nl + 1;
    }
    if (dflt)
        fprintf(fp, "%s%s[%s]\n", p, *p ? " " : "", dflt);
    else
        fprintf(fp, "%s\n", p);
}

void mz_opt_help(const mz_opt_tool *t, FILE *fp)
{
    char left[128], val[64];
    fputs(t->usage, fp);
    if (t->about) fputs(t->about, fp);
    for (const mz_opt *o = t->opts; o->kind != MZ_OPT_END; o++) {
        int n = o->letter ? snprintf(left, sizeof left, "  -%c, --%s", o->letter, o->name)
                          : snprintf(left, sizeof left, "      --%s", o->name);
        if (o->arg) snprintf(left + n, sizeof left - n, " %s", o->arg);
        help_row(fp, t->width, left, o->help, shown_default(o, val, sizeof val));
    }
    help_row(fp, t->width, "  -h, --help", "show this help", NULL);
    help_row(fp, t->width, "      --version", "show the version", NULL);
    if (t->tail) fputs(t->tail, fp);
}

/* Set row o's variable from arg; 0, or -1 after mz_error(). */
static int set(const mz_opt *o, const char *arg)
{
    char what[64];
    long l;
    snprintf(what, sizeof what, "--%s", o->name);
    switch (o->kind) {
    case MZ_OPT_FLAG: *(int *)o->var = 1; break;
    case MZ_OPT_SET: *(int *)o->var = (int)o->lo; break;
    case MZ_OPT_STR: *(const char **)o->var = arg; break;
    case MZ_OPT_LIST: {
        char ***list = o->var;
        *list = mz_realloc(*list, (size_t)(*o->n + 1) * sizeof **list);
        (*list)[(*o->n)++] = (char *)arg;
        break;
    }
    case MZ_OPT_INT:
        if (mz_parse_long(arg, (long)o->lo, (long)o->hi, what, &l) < 0) return -1;
        *(int *)o->var = (int)l;
        break;
    case MZ_OPT_ULONG:
        if (mz_parse_long(arg, (long)o->lo, (long)o->hi, what, &l) < 0) return -1;
        *(unsigned long *)o->var = (unsigned long)l;
        break;
    case MZ_OPT_DOUBLE:
        if (mz_parse_double(arg, o->lo, o->hi, what, o->var) < 0) return -1;
        break;
    case MZ_OPT_PARSE: return o->fn(arg, o->var);
    }
    return o->fn ? o->fn(arg, o->var) : 0;
}

int mz_opt_parse(const mz_opt_tool *t, int argc, char **argv)
{
    int n = 0, c;
    struct option *longopts;
    mz_buf shorts = {0};
    while (t->opts[n].kind != MZ_OPT_END) n++;
    longopts = mz_calloc((size_t)n + 3, sizeof *longopts);
    for (int i = 0; i < n; i++) {
        const mz_opt *o = &t->opts[i];
        int has_arg = o->kind == MZ_OPT_FLAG || o->kind == MZ_OPT_SET ? no_argument : required_argument;
        longopts[i] = (struct option){o->name, has_arg, NULL, o->letter ? o->letter : OPT_LONG_BASE + i};
        if (o->letter) {
            char s[3] = {(char)o->letter, ':', '\0'};
            if (has_arg == no_argument) s[1] = '\0';
            mz_buf_puts(&shorts, s);
        }
    }
    longopts[n] = (struct option){"help", no_argument, NULL, OPT_HELP};
    longopts[n + 1] = (struct option){"version", no_argument, NULL, OPT_VERSION};
    mz_buf_puts(&shorts, "h");
    while ((c = getopt_long(argc, argv, shorts.s, longopts, NULL)) != -1) {
        const mz_opt *o = NULL;
        if (c == OPT_HELP || c == OPT_VERSION) {
            if (c == OPT_HELP)
                mz_opt_help(t, stdout);
            else
                mz_print_version(t->prog);
            free(longopts);
            mz_buf_free(&shorts);
            if (mz_close_stdout() < 0) {
                mz_perror(t->prog);
                exit(MZ_EXIT_DATA);
            }
            exit(MZ_EXIT_OK);
        }
        if (c >= OPT_LONG_BASE && c < OPT_LONG_BASE + n)
            o = &t->opts[c - OPT_LONG_BASE];
        else
            for (int i = 0; i < n && !o; i++)
                if (c == t->opts[i].letter) o = &t->opts[i];
        if (!o) {
            free(longopts);
            mz_buf_free(&shorts);
            mz_opt_usage_error(t, NULL); /* getopt has said what was wrong */
        }
        if (set(o, optarg) < 0) {
            free(longopts);
            mz_buf_free(&shorts);
            mz_opt_usage_error(t, "%s", mz_errmsg());
        }
    }
    free(longopts);
    mz_buf_free(&shorts);
    return optind;
}

int mz_opt_parse_level(const char *arg, void *var)
{
    long l;
    if (mz_parse_long(arg, 1, 9, "--level", &l) < 0) return -1;
    if (*(int *)var != 0) *(int *)var = (int)l;
    return 0;
}

void mz_opt_check_form(const mz_opt_tool *t, int uncompressed, int text)
{
    if (uncompressed && text) mz_opt_usage_error(t, "-u and -t exclude each other");
}

int mz_opt_refuse_tty(mz_writer *w)
{
    if (!mz_writer_is_tty(w)) return 0;
    mz_writer_abort(w);
    mz_error("refusing to write binary data to a terminal (use -o FILE, a pipe, or -t)");
    return -1;
}
