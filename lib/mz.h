/* mz.h: the public header of libmz: what a tool's main, or an outside program, links against. */
#ifndef MZ_H
#define MZ_H

/* Conventions (every libmz header keeps them; the private module headers
 * beside this one, io.h to wafer.h, are for lib/ and the unit tests):
 *
 * Errors. A function returns 0 (or a pointer, or a count) on success and
 * -1 (or NULL) on failure, after recording one message with mz_error();
 * mz_errmsg() reads it. Only a tool's main prints it. A caller that adds
 * context (a file, a line, an option) does so with mz_error_prefix or
 * mz_error_suffix: there is one message buffer per process. An error
 * leaves no half-written output: an mz_out, mz_writer or run function
 * removes (a path) or aborts (stdout) what it could not finish.
 *
 * Ownership. A constructor's comment says how its result is freed; the
 * verbs pair as new/free, open/close, init/free, load/free, read/free,
 * alloc/free, copy/free. A *_free, an *_abort and an input's *_close
 * take NULL (or a zeroed struct) and do nothing; the closers that finish
 * an output (mz_out_close, mz_writer_close) need it open. Strings and
 * lists given in an options struct stay the caller's; "malloc'ed" results
 * are the caller's to free().
 *
 * Lifetimes. A pointer into an object (a reader's header, a record, a
 * row table) is valid until the next call on that object or its free,
 * as each declaration says ("valid until ...").
 *
 * Memory. Every module allocates through mz_malloc, mz_calloc, mz_realloc,
 * mz_strdup and the mz_buf functions. When malloc fails there, the one
 * exception to "the library never prints and never exits" applies: it
 * prints "mz: out of memory (N bytes)" and exits MZ_EXIT_DATA, unless the
 * program installed a handler with mz_set_oom_handler (which must not
 * return: longjmp to its own recovery point, or exit). Returning NULL from
 * there would add a failure path to some 450 call sites. Tables whose size
 * follows from an input's geometry are checked against a limit before
 * they are allocated, so a small config never asks for tens of GiB. */

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define MZ_VERSION "0.1.0"

/* Exit statuses of every tool, named in one place. */
enum { MZ_EXIT_OK = 0, MZ_EXIT_DATA = 1, MZ_EXIT_USAGE = 2 };

/* ---------------------------------------------------------------- errors and memory (util.c) */
void mz_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
const char *mz_errmsg(void);
/* The recorded message becomes "PREFIX: message", e.g. mz_error_prefix("%s", path). */
void mz_error_prefix(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* The recorded message becomes "message" and the text, e.g. mz_error_suffix(" (in record %llu)", n). */
void mz_error_suffix(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Called with the request's size when an allocation fails; must not
 * return. NULL restores the default (print and exit). */
void mz_set_oom_handler(void (*handler)(size_t n));
void *mz_malloc(size_t n);              /* free() the result */
void *mz_calloc(size_t n, size_t size); /* free() the result */
void *mz_realloc(void *p, size_t n);
char *mz_strdup(const char *s);         /* free() the result */

/* For tools' mains (never called by the library): mz_tool_init first
 * (default SIGPIPE, C locale numbers, GSL's abort handler off); "prog:
 * message" on stderr; the same and exit(MZ_EXIT_DATA); "PROG (mozart-tools)
 * VERSION" on stdout. */
void mz_tool_init(void);
void mz_perror(const char *prog);
void mz_die(const char *prog, const char *fmt, ...) __attribute__((format(printf, 2, 3), noreturn));
void mz_print_version(const char *prog);

/* Strict numbers: the whole string a number in [lo, hi]; 'what' names the field in the error. */
int mz_parse_long(const char *s, long lo, long hi, const char *what, long *out);
int mz_parse_double(const char *s, double lo, double hi, const char *what, double *out);

/* ---------------------------------------------------------------- names of choices (-1: unknown) */
enum { MZ_LAYOUT_RANDOM, MZ_LAYOUT_STRIDED, MZ_LAYOUT_BLOCKED };      /* topics onto expert ids */
int mz_layout_parse(const char *s);
enum { MZ_COUNTS_AUTO, MZ_COUNTS_SGLANG, MZ_COUNTS_LAYER_JSON, MZ_COUNTS_EPLB }; /* count-set formats */
int mz_counts_format_parse(const char *s);
enum { MZ_LAYERS_AUTO, MZ_LAYERS_BLOCK, MZ_LAYERS_MOE }; /* what a count set's rows number */
int mz_layer_index_parse(const char *s);
enum { MZ_PLACEMAP_TSV, MZ_PLACEMAP_VLLM, MZ_PLACEMAP_SGLANG, MZ_PLACEMAP_EPLB }; /* placement files */
int mz_placemap_format_parse(const char *s);
int mz_place_algorithm_parse(const char *name); /* contiguous, round-robin, ..., eplb */
/* Parse "warmup,repeat" or "all" into a set of bits 1 << kind (import.h's MZ_ANOM_*); 0 or -1. */
int mz_anomaly_parse(const char *list, unsigned *set);

/* ---------------------------------------------------------------- the tools' work
 * Each tool's main parses its options into one of these structs (the
 * defaults from its _init), checks them (a usage error when _check says
 * no) and makes one call: 0, or -1 and the error, everything freed and
 * every unfinished output removed. prog names the tool in warnings and in
 * the @PG line with argc/argv; warn (NULL: nowhere) takes warnings. */

/* mz-trace (runtrace.c): draw a routing trace from a model's prior to
 * out_path. A negative coact, seq_stick, layer_stick, skew or topic_layout,
 * or a topic_size of 0, keeps the prior's. */
typedef struct {
    const char *prog; int argc; char **argv;
    const char *model;       /* -m: a catalogue name or a config.json path */
    const char *prior;       /* -p: a prior file, or NULL (the catalogue's, else built in) */
    const char *layers;      /* -l: MoE layers traced, or NULL for all */
    int steps, seqs, seq_len;
    unsigned long seed;      /* 1 to 2^32 - 1 */
    int weights;             /* record gate weights */
    double coact, seq_stick, layer_stick, skew;
    int topic_size, topic_layout;
    int text, level;         /* text form; else binary at gzip level (0: none) */
} mz_trace_run_opts;
void mz_trace_run_opts_init(mz_trace_run_opts *o);
int mz_trace_run(const mz_trace_run_opts *o, const char *out_path);

/* mz-import (runimport.c): a real routing log (vLLM JSONL, TSV/CSV) to a
 * trace, or a count set to a loads table. Anomalies are errors unless
 * dropped; each one found, and the summary, go to warn. */
enum { MZ_IMPORT_AUTO, MZ_IMPORT_JSONL, MZ_IMPORT_TSV, MZ_IMPORT_CSV, MZ_IMPORT_COUNTS };
typedef struct {
    int format;          /* MZ_IMPORT_* */
    int seqs;            /* sequences per step */
    int seq_len;         /* split longer sequences into pieces of this; 0: no split */
    int max_run;         /* identical routes in a row that make a warm-up run; 0: off */
    unsigned drop;       /* anomaly kinds to drop, bits 1 << kind */
    int weights;         /* keep gate weights (JSONL topk_weights) */
    const int *layers; int n_layers; /* layers to import (others are skipped), or NULL */
    void (*report)(void *arg, const char *msg); void *arg; /* each anomaly ("FILE: line N: kind: what"), or NULL */
    const char *fields;  /* JSONL key names (mz-import(1), FIELD MAPPING), or NULL for ours */
    int packed_len;      /* one sequence id and a sequence longer than this: packed batches; 0: off */
    int counts_format;   /* MZ_IMPORT_COUNTS: which MZ_COUNTS_* (0 = sniff) */
} mz_import_opts;
typedef struct {
    const char *prog; int argc; char **argv;
    const char *model;     /* -m */
    const char *layers;    /* -l: MoE layers imported, or NULL for the log's */
    int layer_index;       /* count sets: MZ_LAYERS_* */
    int text, level;
    FILE *warn;            /* NULL: -q */
    mz_import_opts im;     /* the reader's (layers, report and arg are set by mz_import_run) */
} mz_import_run_opts;
void mz_import_run_opts_init(mz_import_run_opts *o);
int mz_import_run_check(const mz_import_run_opts *o, int n_inputs);
int mz_import_run(const mz_import_run_opts *o, const char *in_path, const char *out_path);

/* mz-stat (runstat.c): the trace's routing statistics table; with their
 * paths, the load vectors and co-activation pairs. */
typedef struct {
    int chiplets;           /* contiguous layout over this many chiplets; 0: 16, or one per expert */
    int per_chiplet;        /* or this many experts per chiplet (chiplets 0); 0: not given */
    const char *loads_path; /* per-layer load vectors (layer expert count share), or NULL */
    const char *coact_path; /* per-layer co-activation pairs (layer i j count), or NULL */
} mz_stat_run_opts;
void mz_stat_run_opts_init(mz_stat_run_opts *o);
int mz_stat_run(const mz_stat_run_opts *o, const char *in_path, const char *out_path);

/* mz-fit (runfit.c): a routing prior for model fitted to the loads in
 * in_path (a loads table, a count set, or a trace when trace is set). */
typedef struct {
    const char *model;      /* -m */
    const char *from;       /* -F: the loads were measured on this model, or NULL */
    int trace;              /* in_path is a trace (-r), not a table (-T) */
    int counts_format;      /* a count set in this MZ_COUNTS_* format; 0: sniff */
    int layer_index;        /* MZ_LAYERS_* */
    char **select; int n_select; /* -S "COL=V[,V]": keep the rows that match */
    double coact;
    int topic_size;         /* 0: top-k */
    int topic_layout;       /* MZ_LAYOUT_*; -1: the prior's */
    int topic_seed;
    double seq_stick, layer_stick;
    int iters, tokens, seed; /* fixed-point iterations, tokens per iteration, seed */
    char **notes; int n_notes; /* '#' provenance lines */
    const char *report_path; /* target vs fitted skew per layer (TSV), or NULL */
} mz_fit_run_opts;
void mz_fit_run_opts_init(mz_fit_run_opts *o);
int mz_fit_run(const mz_fit_run_opts *o, const char *in_path, const char *out_path);

/* mz-place (runplace.c): place a trace's experts (or read a placement,
 * -R) and pass the trace on with it; the reports and files on the side.
 * Outputs finished before an error stay. */
typedef struct {
    const char *prog; int argc; char **argv;
    FILE *warn;
    const char *algorithm;     /* -a: mz_place_algorithm_parse's names or "latency" ["mozart"] */
    int algorithm_given;       /* -a was given: it excludes -R */
    int chiplets, groups;      /* -c, -g [16, 4] */
    int chiplets_given, groups_given; /* they override a -R file's topology */
    int profile;               /* --profile: profiled steps, 0 all */
    unsigned long seed;        /* -s [1] */
    int sample, kicks, alloc_nodes; /* [65536, 0, 100000] */
    int replicas;              /* --replicas */
    double max_load;           /* --max-load over the mean, 0 none */
    char **wafers, **sets;     /* -w and -S, in order */
    int n_wafers, n_sets;
    const char *report, *latency_report, *write_placement, *read_placement; /* -r, --latency-report, -W, -R */
    int format;                /* MZ_PLACEMAP_*, -1: -R by content, -W tsv */
    int text, level;
} mz_place_run_opts;
void mz_place_run_opts_init(mz_place_run_opts *o);
int mz_place_run_check(const mz_place_run_opts *o);
int mz_place_run(const mz_place_run_opts *o, const char *in_path, const char *out_path);

/* mz-sched (runsched.c): a placed trace to its schedule stream. The
 * variant is the one given, else baseline, A, B (overlap and dedup on the
 * contiguous placement), C (on any other) or dedup; the wafers' SRAM
 * decides the order, the prefetch depth and where shared experts run. */
enum { MZ_ORDER_AUTO, MZ_ORDER_LAYER, MZ_ORDER_MB };       /* mz_sched_opts.order */
enum { MZ_SHARED_AUTO, MZ_SHARED_ROOT, MZ_SHARED_SPREAD }; /* .shared_on */
enum { MZ_OPT_SGD, MZ_OPT_ADAM };                          /* .optimizer */
typedef struct {
    char variant[16];    /* baseline, A, B, C, or custom */
    int overlap, dedup;  /* streaming; efficient all-to-all */
    int micro_batches;   /* per step; sequence s is in micro-batch s * N / seqs */
    int slices;          /* token slices per micro-batch when streaming */
    int order;           /* MZ_ORDER_*: auto chooses from the SRAM (mz-model(7) 4.1) */
    int prefetch;        /* blocks of expert weights a chiplet holds; 0: from its SRAM */
    double sram_bytes;   /* per expert chiplet (0: unknown) */
    double root_sram_bytes; /* of the attention chiplet (0: unknown) */
    int load_chunks;     /* a chiplet's block weights stream in at most this many chunks */
    int shared_on;       /* MZ_SHARED_* */
    int optimizer;       /* MZ_OPT_*: sgd (no state) or adam (FP32 master and moments) */
    int bytes;           /* bytes per element of weights and activations (FP16: 2) */
    int grad_bytes;      /* bytes per element of gradient accumulators */
    int depth_fwd, depth_bwd; /* resolved by the builder: blocks of expert weights held */
} mz_sched_opts;
typedef struct {
    mz_sched_opts sched;  /* the builder's; variant and the SRAM set from the fields below */
    const char *variant;  /* baseline, A, B or C, or NULL */
    char *const *wafers, *const *sets; /* layered in order; "section.key=value" overrides */
    int n_wafers, n_sets;
    int text, level;
    const char *prog; int argc; char **argv;
} mz_sched_run_opts;
void mz_sched_run_opts_init(mz_sched_run_opts *o);
int mz_sched_run(const mz_sched_run_opts *o, const char *in_path, const char *out_path);

/* mz-cost (runcost.c): time a schedule on a wafer, step by step, with its
 * tables; or (area) the wafer's area table; or (fit) fit wafer constants. */
typedef struct {
    const char *prog;
    char **wafers, **sets;   /* -w (layered), -S */
    int n_wafers, n_sets;
    const char *breakdown, *resources, *footprint, *timeline; /* -b, -r, -F, -T, or NULL */
    const char *timeline_steps; /* ["0"] */
    int strict;              /* a step that does not fit is an error */
    int area;                /* --area */
    const char *fit;         /* --fit TARGETS, or NULL */
    const char *free_list;   /* --free KEY[=LO:HI],... */
    int quiet;               /* no fit progress */
    FILE *warn;              /* fit progress, the does-not-fit warning */
} mz_cost_file_opts;
void mz_cost_file_opts_init(mz_cost_file_opts *o);
int mz_cost_file_check(const mz_cost_file_opts *o, int n_schedules);
int mz_cost_file(const mz_cost_file_opts *o, const char *in_path, const char *out_path);

/* mz-view (runview.c): any stream's header and summary, record count,
 * or a copy (text or binary, the -n/-l selection only); every record checked. */
typedef struct {
    const char *prog; int argc; char **argv;
    int header_only, count_only; /* -H, -c */
    int text, binary, level;     /* -t; -b at gzip level (0: -u) */
    const char *steps, *layers;  /* -n, -l (traces), or NULL */
} mz_view_opts;
void mz_view_opts_init(mz_view_opts *o);
int mz_view_check(const mz_view_opts *o, int n_inputs);
int mz_view_run(const mz_view_opts *o, const char *in_path, const char *out_path);

#endif
