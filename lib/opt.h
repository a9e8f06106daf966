/* opt.h: the command-line option layer every tool's main shares (public, with mz.h): one table, live defaults in --help. */
#ifndef MZ_OPT_H
#define MZ_OPT_H

#include "mz.h"

/* What an option does with its argument (the kind of its variable). */
enum {
    MZ_OPT_END = 0, /* ends a table */
    MZ_OPT_FLAG,    /* no argument: *(int *)var = 1 */
    MZ_OPT_SET,     /* no argument: *(int *)var = (int)lo */
    MZ_OPT_STR,     /* *(const char **)var = the argument */
    MZ_OPT_LIST,    /* the argument appended to *(char ***)var, *n counts (repeatable) */
    MZ_OPT_INT,     /* *(int *)var: an integer in [lo, hi] */
    MZ_OPT_ULONG,   /* *(unsigned long *)var: an integer in [lo, hi] (seeds to 2^32 - 1) */
    MZ_OPT_DOUBLE,  /* *(double *)var: a number in [lo, hi] */
    MZ_OPT_PARSE    /* fn(argument, var) parses it: 0, or -1 after mz_error() */
};

/* One row of a tool's option table. A row's help line reads
 * "  -L, --NAME ARG   HELP [DEFAULT]": DEFAULT is dflt when given, else the
 * variable's value when the table is printed (so --help shows what the
 * option is now, not a copy of it), else nothing (a flag, a list, a
 * string still NULL). '\n' in help starts a continuation line; a help
 * ending in '\n' puts the default on a line of its own. For the kinds
 * other than MZ_OPT_PARSE, fn (when set) checks the parsed value. */
typedef struct {
    int letter;       /* the short option, or 0 for a long one only */
    const char *name; /* the long option, without "--" */
    int kind;         /* MZ_OPT_* */
    const char *arg;  /* the argument's name in --help, NULL for none */
    void *var;
    double lo, hi;    /* MZ_OPT_INT, MZ_OPT_DOUBLE: the range; MZ_OPT_SET: the value */
    const char *help;
    const char *dflt; /* the default as --help shows it, NULL: the variable's value */
    int (*fn)(const char *arg, void *var);
    int *n;           /* MZ_OPT_LIST: the count */
} mz_opt;

/* Rows, in --help's order. -h/--help and --version follow the table in
 * every tool: they are not rows. */
#define MZ_OPT_FLAG(c, name, var, help) {c, name, MZ_OPT_FLAG, NULL, var, 0, 0, help, NULL, NULL, NULL}
#define MZ_OPT_SET(c, name, var, value, help) {c, name, MZ_OPT_SET, NULL, var, value, 0, help, NULL, NULL, NULL}
#define MZ_OPT_STR(c, name, arg, var, help) {c, name, MZ_OPT_STR, arg, var, 0, 0, help, NULL, NULL, NULL}
#define MZ_OPT_STR_D(c, name, arg, var, help, dflt) {c, name, MZ_OPT_STR, arg, var, 0, 0, help, dflt, NULL, NULL}
#define MZ_OPT_LIST(c, name, arg, var, n, help) {c, name, MZ_OPT_LIST, arg, var, 0, 0, help, NULL, NULL, n}
#define MZ_OPT_INT(c, name, arg, var, lo, hi, help) {c, name, MZ_OPT_INT, arg, var, lo, hi, help, NULL, NULL, NULL}
#define MZ_OPT_INT_D(c, name, arg, var, lo, hi, help, dflt) {c, name, MZ_OPT_INT, arg, var, lo, hi, help, dflt, NULL, NULL}
#define MZ_OPT_INT_CHECK(c, name, arg, var, lo, hi, help, fn) {c, name, MZ_OPT_INT, arg, var, lo, hi, help, NULL, fn, NULL}
#define MZ_OPT_ULONG(c, name, arg, var, lo, hi, help) {c, name, MZ_OPT_ULONG, arg, var, lo, hi, help, NULL, NULL, NULL}
#define MZ_OPT_DOUBLE(c, name, arg, var, lo, hi, help) {c, name, MZ_OPT_DOUBLE, arg, var, lo, hi, help, NULL, NULL, NULL}
#define MZ_OPT_PARSE(c, name, arg, var, fn, help, dflt) {c, name, MZ_OPT_PARSE, arg, var, 0, 0, help, dflt, fn, NULL}
#define MZ_OPT_TABLE_END {0, NULL, MZ_OPT_END, NULL, NULL, 0, 0, NULL, NULL, NULL, NULL}

/* The options every tool that writes a file shares, with the same letters
 * and names everywhere (mozart-tools(7)). */
#define MZ_OPT_OUTPUT(var, help) MZ_OPT_STR('o', "output", "FILE", var, help)
/* The rows of a tool that writes a stream: -u (gzip level 0), -t, --level
 * N. -u wins over --level, whatever their order; -u with -t is a usage
 * error (mz_opt_check_form(t, level == 0, text)). */
#define MZ_OPT_STREAM_FORM(level, text)                                         \
    MZ_OPT_SET('u', "uncompressed", level, 0, "binary without gzip (for pipes)"), \
    MZ_OPT_FLAG('t', "text", text, "text form instead of binary"),               \
    MZ_OPT_PARSE(0, "level", "N", level, mz_opt_parse_level, "gzip level 1-9", "1")
/* -o and the stream-form rows: every tool that writes an mz stream. */
#define MZ_OPT_STREAM_OUTPUT(out, help, level, text) MZ_OPT_OUTPUT(out, help), MZ_OPT_STREAM_FORM(level, text)
/* --level's parser: 1-9 into *(int *)var, unless -u has set it to 0. */
int mz_opt_parse_level(const char *arg, void *var);

/* A tool's command line: its usage lines ("Usage: ...\n", shown by --help
 * and by every usage error), the text --help shows between them and the
 * options, the options, the text after them, and the column where the
 * options' help starts. */
typedef struct {
    const char *prog;
    const char *usage;
    const char *about; /* ends with "\n\n" (or NULL) */
    const mz_opt *opts;
    const char *tail;  /* NULL for none */
    int width;
} mz_opt_tool;

/* Parse argv against the table, setting the variables; returns the index
 * of the first operand (getopt's optind). Like mz_die, for mains only: on
 * -h/--help or --version it prints to stdout and exits (0, or 1 when
 * stdout cannot be written, after "PROG: write error ..."); on an unknown option or a bad value it
 * prints the message and the usage to stderr and exits MZ_EXIT_USAGE. The
 * lists (MZ_OPT_LIST) are malloc'ed; the caller frees them. */
int mz_opt_parse(const mz_opt_tool *t, int argc, char **argv);
/* Print --help's text (usage, about, the table with live defaults, tail). */
void mz_opt_help(const mz_opt_tool *t, FILE *fp);
/* "PROG: message" (when fmt is not NULL), the usage lines and "Try 'PROG
 * --help' for more information." on stderr; exit(MZ_EXIT_USAGE). */
void mz_opt_usage_error(const mz_opt_tool *t, const char *fmt, ...)
    __attribute__((format(printf, 2, 3), noreturn));
/* The two forms a stream-writing tool may be told to write: -u
 * (uncompressed binary) and -t (text) exclude each other, the same usage
 * error in every tool. */
void mz_opt_check_form(const mz_opt_tool *t, int uncompressed, int text);

#endif
