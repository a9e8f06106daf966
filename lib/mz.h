/* mz.h: the one public header of libmz, the library behind the mozart-tools programs. */
#ifndef MZ_H
#define MZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define MZ_VERSION "0.1.0"

/* Exit statuses of every tool, named in one place. */
enum { MZ_EXIT_OK = 0, MZ_EXIT_DATA = 1, MZ_EXIT_USAGE = 2 };

/* ---------------------------------------------------------------- errors
 * Library functions return 0 (or a pointer) on success and -1 (or NULL) on
 * failure, after recording a message with mz_error(). Only tools print.
 * A caller that adds context (the file, the line, the option) does so with
 * mz_error_prefix or mz_error_suffix, never by copying mz_errmsg() and
 * calling mz_error again: there is one message buffer, per process.
 *
 * The library never prints and never exits, with one exception: when
 * malloc, calloc or realloc fails inside mz_malloc, mz_calloc, mz_realloc,
 * mz_strdup or the mz_buf functions (which every module allocates
 * through), it prints "mz: out of memory (N bytes)" and exits with
 * MZ_EXIT_DATA. Returning NULL from there would add a failure path to
 * some 450 call sites; instead a program that embeds libmz and must
 * survive can install a handler with mz_set_oom_handler, which is called
 * first and must not return (longjmp to its own recovery point, or exit).
 * mz_die and mz_tool_init are for tools' mains, never called by the
 * library itself. */

void mz_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
const char *mz_errmsg(void);
/* The recorded message becomes "PREFIX: message" (PREFIX formatted from
 * fmt), e.g. mz_error_prefix("%s", path) after a parser failed. */
void mz_error_prefix(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* The recorded message becomes "message" followed by the formatted text,
 * e.g. mz_error_suffix(" (in record %llu)", n). */
void mz_error_suffix(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Called with the request's size when an allocation fails, before the
 * library's exit (see above); must not return. NULL restores the default. */
void mz_set_oom_handler(void (*handler)(size_t n));
/* Print "prog: message" to stderr. */
void mz_perror(const char *prog);
/* Print "prog: fmt..." to stderr and exit(MZ_EXIT_DATA). */
void mz_die(const char *prog, const char *fmt, ...)
    __attribute__((format(printf, 2, 3), noreturn));

void *mz_malloc(size_t n);
void *mz_calloc(size_t n, size_t size);
void *mz_realloc(void *p, size_t n);
char *mz_strdup(const char *s);

/* Every tool calls this first: default SIGPIPE (a closed pipe ends the
 * tool quietly), C locale numbers, GSL's error handler off (GSL returns
 * error codes instead of aborting; libmz checks them). */
void mz_tool_init(void);
/* Tables whose size follows from the input's geometry (the generator's,
 * co-activation counts) are checked before they are allocated (issue 14):
 * a small config must not ask for tens of GiB. mz_check_table returns 0
 * when bytes is within MZ_MAX_TABLE_BYTES, else -1 and the error
 * "WHAT would take N GiB, more than the limit of 2 GiB: HOW" (HOW: how to
 * ask for less). */
#define MZ_MAX_TABLE_BYTES (2ull << 30)
int mz_check_table(double bytes, const char *what, const char *how);

/* Print "PROG (mozart-tools) VERSION" to stdout. */
void mz_print_version(const char *prog);

/* ---------------------------------------------------------------- parsing
 * Strict number parsing: the whole string must be a number in [lo, hi].
 * 'what' names the field in the error message. */
int mz_parse_long(const char *s, long lo, long hi, const char *what, long *out);
int mz_parse_double(const char *s, double lo, double hi, const char *what, double *out);
/* Parse "0-3,7,9-11" into a sorted list of unique ints in [lo, hi].
 * *out is malloc'ed; returns the count or -1. The items may list at most
 * MZ_RANGES_MAX values together (counted before allocating); callers pass
 * the bounds the input allows (layers of the model, steps of the trace). */
#define MZ_RANGES_MAX (1 << 24)
int mz_parse_ranges(const char *s, int lo, int hi, const char *what, int **out);
/* Format a sorted int list as ranges ("0-3,7"); returns buf. */
char *mz_format_ranges(const int *v, int n, char *buf, size_t size);
/* Shortest decimal text that reads back (strtof) as exactly v. */
int mz_format_float(char *buf, size_t size, float v);

/* A growable byte buffer. */
typedef struct {
    char *s;
    size_t n, m;
} mz_buf;
void mz_buf_reserve(mz_buf *b, size_t extra);
void mz_buf_put(mz_buf *b, const void *p, size_t n);
void mz_buf_puts(mz_buf *b, const char *s);
void mz_buf_printf(mz_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void mz_buf_free(mz_buf *b);

/* Split s in place at 'sep' into at most max fields; returns the count,
 * or -1 when there are more than max. */
int mz_split(char *s, char sep, char **fields, int max);

/* ---------------------------------------------------------------- files
 * mz_in reads "-" (stdin) or a path, plain or gzip, sniffed by content.
 * Truncated or corrupt gzip is an error, never a silent short read. */
typedef struct mz_in mz_in;
mz_in *mz_in_open(const char *path);
/* Read exactly n bytes: returns n, 0 at a clean end of input before the
 * first byte, or -1 (error, including a short read in the middle). */
long mz_in_read(mz_in *in, void *buf, size_t n);
/* Read one line without its '\n' (NUL-terminated, valid to the next
 * call). Returns its length, or -1 at end of input or on error
 * (check mz_in_failed). A final line without '\n' is an error. */
long mz_in_getline(mz_in *in, char **line);
/* Look at up to n bytes without consuming them; returns count (< n at end). */
long mz_in_peek(mz_in *in, void *buf, size_t n);
/* Read the same file again from its first byte, through the descriptor
 * opened (not the path, which may name another file by now). Only for a
 * regular file; returns 0 or -1. */
int mz_in_rewind(mz_in *in);
int mz_in_is_regular(const mz_in *in);  /* 1 if the input is a regular file */
int mz_in_failed(const mz_in *in);
int mz_in_is_gzip(const mz_in *in);
const char *mz_in_name(const mz_in *in);
long mz_in_lineno(const mz_in *in);   /* lines read so far by getline */
uint64_t mz_in_offset(const mz_in *in); /* uncompressed bytes consumed */
int mz_in_close(mz_in *in);

/* mz_out writes "-" (stdout) or a path, gzip (level 1-9) or plain
 * (level 0). A path is written to a temporary file beside it and renamed
 * into place by mz_out_close, so an error never leaves half a file. */
typedef struct mz_out mz_out;
mz_out *mz_out_open(const char *path, int level);
int mz_out_write(mz_out *out, const void *p, size_t n);
int mz_out_puts(mz_out *out, const char *s);
int mz_out_printf(mz_out *out, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Flush and close; checks every write. Returns 0 or -1. */
int mz_out_close(mz_out *out);
/* Discard: close and remove the temporary file. */
void mz_out_abort(mz_out *out);
int mz_out_is_tty(const mz_out *out);

/* Flush and close stdout, treating a full disk as an error. */
int mz_close_stdout(void);

/* Locate a data file (model config, prior, wafer) named on a command line.
 * The rule has no exceptions: NAME with a '/' is a path, used as it is (it
 * must exist); NAME without one is a catalogue name, looked up in
 * $MZ_MODELS, then ../models beside the running program, then the installed
 * data directory, and never in the current directory (a file there is
 * ./NAME; the error says so when one exists). Returns a malloc'ed path or
 * NULL. */
char *mz_find_data(const char *name);
/* The absolute, canonical form of an existing path (realpath), malloc'ed;
 * the path itself when it cannot be resolved. For provenance. */
char *mz_real_path(const char *path);
const char *mz_program_dir(void);

/* ---------------------------------------------------------------- header
 * The text header every mz stream carries: lines "@TAG\tkey:value\t...",
 * kept in order. Tools read the sections they know, pass the others
 * through, and append their own section and an @PG provenance line. */
typedef struct {
    int n, m;
    char **line; /* without '\n' */
} mz_header;

int mz_header_parse(mz_header *h, const char *text, size_t len);
void mz_header_free(mz_header *h);
void mz_header_copy(mz_header *dst, const mz_header *src);
void mz_header_add(mz_header *h, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void mz_header_add_pg(mz_header *h, const char *prog, int argc, char **argv);
/* The same with what the tool resolved the names it was given to (issue
 * 14): a field KEY:PATH per name before CL (key[i] such as "model" or
 * "prior"; PATH absolute and canonical, "built-in" when path[i] is NULL). */
void mz_header_add_pg_resolved(mz_header *h, const char *prog, int argc, char **argv, int n,
                               const char *const *key, const char *const *path);
/* Remove every line with this tag. */
void mz_header_remove(mz_header *h, const char *tag);
/* Index of the nth (0-based) line with TAG, or -1. */
int mz_header_find(const mz_header *h, const char *tag, int nth);
/* Value of key in line i, copied into buf; returns buf or NULL if absent. */
const char *mz_header_value(const mz_header *h, int i, const char *key, char *buf, size_t size);
/* Required fields: error naming tag and key when absent or out of range. */
int mz_header_long(const mz_header *h, int i, const char *key, long lo, long hi, long *out);
int mz_header_double(const mz_header *h, int i, const char *key, double lo, double hi, double *out);
void mz_header_text(const mz_header *h, mz_buf *b); /* all lines, '\n' after each */

/* ---------------------------------------------------------------- streams
 * The container every mz tool reads and writes. Two encodings of one model
 * (like SAM/BAM):
 *   binary: "MZ" kind major, u32 header length, header text, u32 CRC-32 of
 *           the header text, then records
 *           (u32 length > 0, payload, u32 CRC-32 of payload), then the end
 *           marker (u32 0, u64 record count); gzip unless level 0.
 *   text:   the header lines, one line per record, then "@EOF\t<count>".
 * Kinds: 'T' routing trace, 'S' schedule. Every integer is little-endian. */
#define MZ_MAJOR 1
#define MZ_MINOR 0
#define MZ_KIND_TRACE 'T'
#define MZ_KIND_SCHED 'S'
#define MZ_MAX_RECORD (1u << 26)
#define MZ_MAX_HEADER (64u << 20) /* bytes of header text */

/* Little-endian integers of the container and its codecs. */
static inline uint32_t mz_get_u32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}
static inline void mz_put_u32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v, p[1] = (uint8_t)(v >> 8), p[2] = (uint8_t)(v >> 16), p[3] = (uint8_t)(v >> 24);
}
/* CRC-32 of n bytes continuing crc (0 to start): zlib's crc32, the same
 * value, slicing by 16 bytes (stream.c). */
uint32_t mz_crc32(uint32_t crc, const void *buf, size_t n);

/* A record codec: converts one record between binary and text. */
typedef struct mz_codec {
    char kind;
    const char *name;
    void *(*init)(const mz_header *h);     /* NULL and mz_error on bad header */
    void (*done)(void *ctx);
    /* Append the text line (no '\n') of a binary record; -1 if invalid. */
    int (*to_text)(void *ctx, const uint8_t *rec, size_t len, mz_buf *line);
    /* Replace out with the binary record of a text line; -1 if invalid. */
    int (*from_text)(void *ctx, char *line, mz_buf *out);
} mz_codec;
const mz_codec *mz_codec_for(char kind);

typedef struct mz_reader mz_reader;
/* Open and read the header. 'kind' is the kind expected, or 0 for any. */
mz_reader *mz_reader_open(const char *path, char kind);
const mz_header *mz_reader_header(const mz_reader *r);
char mz_reader_kind(const mz_reader *r);
int mz_reader_is_text(const mz_reader *r);
const char *mz_reader_name(const mz_reader *r);
/* Next record in binary form (text input is converted through the codec).
 * Returns 1 with rec and len valid until the next call, 0 after a verified
 * end marker, -1 on error (message names file and record or line). */
int mz_reader_next(mz_reader *r, const uint8_t **rec, size_t *len);
uint64_t mz_reader_count(const mz_reader *r);
/* Two passes over one input (mz-place): call mz_reader_remember before the
 * first record, read to the end, then mz_reader_rewind to read it again
 * from its first byte through the descriptor opened (a regular file only).
 * The second pass checks that the header is the same and that every
 * record is the one read first (by CRC-32, logged to a temporary file), so
 * a file replaced or rewritten in between is an error, never a mix. */
int mz_reader_remember(mz_reader *r);
int mz_reader_rewind(mz_reader *r);
int mz_reader_is_regular(const mz_reader *r);
int mz_reader_is_gzip(const mz_reader *r);
/* Describe the current position for error messages ("FILE: record N"). */
const char *mz_reader_where(const mz_reader *r);
int mz_reader_close(mz_reader *r);

typedef struct mz_writer mz_writer;
/* text: write the text form; level: gzip level for binary (0 = plain).
 * Refuses (NULL, nothing written, no file made) a header its readers would
 * refuse: longer than MZ_MAX_HEADER, a line that would not read back, a
 * geometry the codec refuses. mz_writer_put refuses a record of 0 or more
 * than MZ_MAX_RECORD bytes. */
mz_writer *mz_writer_open(const char *path, char kind, const mz_header *h, int text, int level);
int mz_writer_put(mz_writer *w, const uint8_t *rec, size_t len);
int mz_writer_close(mz_writer *w);   /* writes the end marker */
void mz_writer_abort(mz_writer *w);
int mz_writer_is_tty(const mz_writer *w);

/* ---------------------------------------------------------------- models
 * MoE model geometry, from a Hugging Face config.json or from the @MD
 * header line that carries it downstream. */
#define MZ_NAME_MAX 64
typedef struct {
    char name[MZ_NAME_MAX];
    int layers;            /* transformer blocks */
    uint8_t *moe;          /* [layers]: 1 if the block's FFN is MoE */
    int n_moe;             /* number of MoE blocks */
    int experts;           /* routed experts per MoE block */
    int shared;            /* shared experts per MoE block */
    int topk;              /* routed experts per token */
    int hidden;            /* model width */
    int ffn;               /* routed expert FFN width */
    int shared_ffn;        /* FFN width of one shared expert (0 if none) */
    int dense_ffn;         /* FFN width of dense blocks (0 if none) */
    int heads, kv_heads, head_dim;
    int vocab;
    int groups, topk_groups; /* group-limited routing (1, 1 if none) */
    int gated;             /* 1: SwiGLU (3 matrices), 0: 2 matrices */
    /* multi-head latent attention (DeepSeek-V2/V3); 0 when absent */
    int q_lora_rank, kv_lora_rank, qk_nope_dim, qk_rope_dim, v_head_dim;
    /* Bytes per element, from quantization_config (2, FP16/BF16, without
     * one): weight_bytes for the routed and shared experts' weights,
     * other_weight_bytes for attention, router and dense FFN weights,
     * act_bytes for activations. E.g. FP8 (DeepSeek-V3, Kimi-K2) 1, 1, 1;
     * GPTQ/AWQ int4 0.5, 0.5, 2; MXFP4 (gpt-oss) 0.53125, 2, 2. quant: the
     * quant_method, "" when none. (Carried in @MD; mz-sched does not use
     * them yet: its bytes per element are mz_sched_opts.bytes.) */
    double weight_bytes, other_weight_bytes, act_bytes;
    char quant[24];
    /* Attention span of each block: MZ_ATTN_* per layer, or NULL when every
     * block attends to its whole causal prefix; window (sliding) and chunk
     * (chunked) in tokens, 0 when no block uses them. */
    uint8_t *attn_kind;
    int window, chunk;
} mz_model;
enum { MZ_ATTN_FULL = 0, MZ_ATTN_SLIDING = 1, MZ_ATTN_CHUNKED = 2 };

/* Load a catalogue name (NAME or NAME.json: models/NAME.json) or a path
 * (anything with a '/', such as ./config.json); see mz_find_data. */
int mz_model_load(const char *name_or_path, mz_model *m);
/* The file mz_model_load reads for name_or_path (malloc'ed), or NULL. */
char *mz_model_find(const char *name_or_path);
int mz_model_from_header(const mz_header *h, mz_model *m);
void mz_model_to_header(const mz_model *m, mz_header *h);
void mz_model_free(mz_model *m);
/* Index of each MoE layer among MoE layers, -1 for dense: [layers]. */
int mz_model_moe_index(const mz_model *m, int layer);
/* Parameters (elements) of one routed expert, one shared expert, one dense
 * FFN, the attention block and the router of one layer. */
double mz_model_expert_params(const mz_model *m);
double mz_model_shared_params(const mz_model *m);
double mz_model_dense_params(const mz_model *m);
double mz_model_attn_params(const mz_model *m);
/* Query-key pairs that causal attention of block 'layer' scores over a
 * sequence of n tokens: n(n+1)/2 for full attention; with a sliding window
 * W a token sees at most W tokens (itself included): W(W+1)/2 + (n-W)W for
 * n > W; with chunks of C tokens a token sees its chunk's tokens up to
 * itself: q C(C+1)/2 + r(r+1)/2, n = qC + r. Attention FLOPs per head
 * dimension are 4 times this (scores and values, forward). */
double mz_model_attn_pairs(const mz_model *m, int layer, double n);

/* ---------------------------------------------------------------- traces
 * A routing trace: for each step, sequence and token, the top-k routed
 * expert ids (rank order) of every traced MoE layer, and optional gate
 * weights. One record per token. */
typedef struct {
    mz_model model;
    int steps, seqs, seq_len; /* trace geometry (upper bounds for imports) */
    int n_layers;             /* traced MoE layers */
    int *layers;              /* their layer numbers, ascending */
    int id_bytes;             /* 1 if experts <= 256, else 2 */
    int weights;              /* gate weights present */
} mz_trace_info;

typedef struct {
    uint32_t step, seq, tok;
    uint16_t *ids;  /* [n_layers * topk] */
    float *w;       /* [n_layers * topk] or NULL */
} mz_token;

int mz_trace_info_from_header(const mz_header *h, mz_trace_info *t);
/* Write @MD and @TR for t into h (replacing existing ones). */
void mz_trace_info_to_header(const mz_trace_info *t, mz_header *h);
void mz_trace_info_free(mz_trace_info *t);
size_t mz_trace_record_size(const mz_trace_info *t);
/* Decode/encode one binary trace record; decode validates ids. */
int mz_token_decode(const mz_trace_info *t, const uint8_t *rec, size_t len, mz_token *tok);
void mz_token_encode(const mz_trace_info *t, const mz_token *tok, uint8_t *rec);
void mz_token_alloc(const mz_trace_info *t, mz_token *tok);
void mz_token_free(mz_token *tok);
/* Records come ordered by (step, sequence, token), each token once: 0 if
 * tok may follow last (then last becomes tok's), else -1 and the error.
 * *have_last is 0 before the first token. */
int mz_token_check_order(uint32_t last[3], int *have_last, const mz_token *tok);

/* mz-view's work (runview.c): the options of the command line, defaults
 * from mz_view_opts_init; the strings are the caller's. */
typedef struct {
    const char *prog;
    int argc;
    char **argv;                /* the command line, for @PG when selecting */
    int header_only, count_only; /* -H, -c */
    int text, binary, level;    /* -t; -b at gzip level (0: -u) */
    const char *steps, *layers; /* -n, -l: ranges kept (traces), or NULL */
} mz_view_opts;
void mz_view_opts_init(mz_view_opts *o);
/* The command line's combination rules for n_inputs FILE operands: 0, or
 * -1 and the error (a usage error). */
int mz_view_check(const mz_view_opts *o, int n_inputs);
/* Read the stream at in_path ("-": stdin) and write its header and a
 * summary, its record count, or a copy (text or binary, the selection
 * only) to out_path. Every record is checked. Returns 0, or -1 and the
 * error, the output removed and everything freed. */
int mz_view_run(const mz_view_opts *o, const char *in_path, const char *out_path);

/* Typed trace reading on top of mz_reader. */
typedef struct {
    mz_reader *r;
    mz_trace_info info;
    mz_token tok;
    uint32_t last[3]; int have_last;
} mz_trace_reader;
int mz_trace_open(mz_trace_reader *tr, const char *path);
/* 1: tr->tok holds the next token; 0: end; -1: error. */
int mz_trace_next(mz_trace_reader *tr);
/* The second pass of a trace opened and mz_reader_remember'ed (see there). */
int mz_trace_rewind(mz_trace_reader *tr);
int mz_trace_close(mz_trace_reader *tr);

/* ---------------------------------------------------------------- priors
 * Routing prior: what mz-trace samples from. Per MoE layer a popularity
 * logit per expert; tokens pick a latent topic (a set of experts that fire
 * together) and add 'coact' to its members' logits; top-k is then drawn
 * without replacement in proportion to exp(logit). */
enum { MZ_LAYOUT_RANDOM, MZ_LAYOUT_STRIDED, MZ_LAYOUT_BLOCKED };
/* Defaults of a prior's parameters: coact and seq_stick are those fitted to
 * the real Qwen1.5-MoE route log (Algorithm 1's C_T 3.16 vs contiguous 3.64,
 * and mz-stat's seq_share_ratio 1.49, within- over across-sequence overlap);
 * layer_stick is an assumption (no multi-layer real log). */
#define MZ_DEFAULT_COACT 2.5
#define MZ_DEFAULT_SEQ_STICK 0.5
#define MZ_DEFAULT_LAYER_STICK 0.3
#define MZ_DEFAULT_TOPIC_SEED 1
typedef struct {
    char model[MZ_NAME_MAX];
    int experts, topk;
    int n_layers;           /* MoE layers described */
    int *layers;            /* their layer numbers */
    double *logit;          /* [n_layers * experts] */
    double *share;          /* target selection shares, or NULL */
    double coact;           /* logit boost of the token's topic */
    int topic_size;         /* experts per latent topic */
    int topic_layout;       /* how topics map onto expert ids */
    double seq_stick;       /* P(token uses its sequence's topic) */
    double layer_stick;     /* P(token keeps its topic index from the previous layer) */
    double skew;            /* multiplier on logits (1 = as fitted) */
    unsigned long topic_seed; /* fixes the random topic layout: a model property */
    char *source;           /* provenance text ('#' lines), or NULL */
} mz_prior;

int mz_prior_read(const char *path, mz_prior *p);
int mz_prior_write(const mz_prior *p, mz_out *out);
/* Built-in prior for a model with no prior file: log-normal popularity
 * with the spread measured on real models. */
void mz_prior_builtin(const mz_model *m, mz_prior *p);
/* Prior with built-in parameters and a row (zero logits, no shares) for
 * every MoE layer of m. */
void mz_prior_for_model(const mz_model *m, mz_prior *p);
/* Index of a layer's logits in p (row of p->logit), or -1. */
int mz_prior_slot(const mz_prior *p, int layer);
/* Check that p fits the model m (experts, top-k, every MoE layer). */
int mz_prior_check(const mz_prior *p, const mz_model *m, const char *path);
void mz_prior_free(mz_prior *p);
const char *mz_layout_name(int layout);
int mz_layout_parse(const char *s);

/* ---------------------------------------------------------------- generator */
typedef struct mz_gen mz_gen;
/* Prepare sampling tables for every traced layer of t from prior p; NULL
 * and an error when they would exceed MZ_MAX_TABLE_BYTES (checked first). */
mz_gen *mz_gen_new(const mz_trace_info *t, const mz_prior *p, uint64_t seed);
/* The same check alone, before a prior is built for n_layers layers of m
 * with topics of topic_size experts: 0, or -1 and the error. */
int mz_gen_check(const mz_model *m, int n_layers, int topic_size);
/* Start a new sequence (draws its per-layer home topics). */
void mz_gen_sequence(mz_gen *g);
/* Route one token: fills tok->ids (and tok->w when t->weights). */
void mz_gen_token(mz_gen *g, mz_token *tok);
/* Topic of each expert of traced layer i (for tests and mz-stat). */
const int *mz_gen_topics(const mz_gen *g, int i);
void mz_gen_free(mz_gen *g);

/* mz-trace's work (runtrace.c): the options of the command line, defaults
 * from mz_trace_run_opts_init; the strings are the caller's. A negative
 * coact, seq_stick, layer_stick, skew or topic_layout, or a topic_size
 * of 0, keeps the prior's. */
typedef struct {
    const char *prog;
    int argc;
    char **argv;             /* the command line, for @PG */
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
/* Draw the trace o describes and write it to out_path ("-": stdout).
 * Returns 0, or -1 and the error, the output removed and everything freed. */
int mz_trace_run(const mz_trace_run_opts *o, const char *out_path);

/* ---------------------------------------------------------------- placement
 * Which expert chiplet hosts each routed expert of each placed MoE layer.
 * Chiplet c hangs off switch (group) c * groups / chiplets: the hardware
 * fixes the groups, a placement chooses chiplets. Carried downstream as an
 * @PT line (topology, algorithm) and one @PL line per layer. */
typedef struct {
    int chiplets, groups;
    int experts, n_layers;
    int *layers;           /* placed MoE layer numbers, ascending */
    int *chiplet;          /* [n_layers * experts] */
    char algorithm[32];
    /* replicas read from a placement map (placemap.c): n_replicas triples
     * (layer number, expert, chiplet) of copies beyond each expert's primary
     * one in chiplet[]; reported and carried in @PR lines, not costed */
    int n_replicas, cap_replicas;
    int *replica;
} mz_placement;

/* Empty placement for the traced layers of t (chiplet = -1). */
int mz_placement_init(mz_placement *p, const mz_trace_info *t, int chiplets, int groups);
/* Expert e on chiplet e * chiplets / experts (the paper's default layout). */
void mz_placement_contiguous(mz_placement *p);
/* 1 and p filled if the header has a placement, 0 if it has none, -1 on error. */
int mz_placement_from_header(const mz_header *h, const mz_trace_info *t, mz_placement *p);
void mz_placement_to_header(const mz_placement *p, mz_header *h);
/* TSV "layer expert chiplet group" with a header line. */
int mz_placement_read_tsv(const char *path, const mz_trace_info *t, int chiplets, int groups,
                          mz_placement *p);
int mz_placement_write_tsv(const mz_placement *p, mz_out *out);
/* Every expert of every layer on exactly one chiplet in range. */
int mz_placement_check(const mz_placement *p);
void mz_placement_free(mz_placement *p);
static inline int mz_group_of(const mz_placement *p, int chiplet)
{
    return chiplet * p->groups / p->chiplets;
}
/* Row of layer (a layer number) in p, or -1. */
int mz_placement_slot(const mz_placement *p, int layer);


/* ---------------------------------------------------------------- statistics (stat.c; mz-stat)
 * Measures of a routing trace, accumulated token by token in bounded memory
 * (counts only; the trace is never held). Definitions in bin/mz-stat.1. */

/* Skew of a load vector c[0..n-1] (selection counts). NaN when sum(c) = 0. */
double mz_stat_cv(const uint64_t *c, int n);           /* population sd / mean */
double mz_stat_entropy_norm(const uint64_t *c, int n); /* -sum p ln p / ln n, p = c / sum */
double mz_stat_gini(const uint64_t *c, int n);         /* sum_ij |c_i - c_j| / (2 n sum c) */
int mz_stat_hottest(const uint64_t *c, int n);         /* index of the largest, lowest on ties */
/* Mutual information in bits of the joint count table j[a * nb + b]. */
double mz_stat_mi_bits(const uint64_t *j, int na, int nb);
/* Co-activation concentration. pair[i * n + j] (i < j) counts tokens that
 * chose both i and j, load[i] tokens that chose i. Over the top
 * ceil(frac * n(n-1)/2) pairs by count (ties: lower i, then lower j):
 * *share = their share of all pair counts, *lift = their count over what
 * independent selection given the loads would give them. Returns 0, or -1
 * when there is no co-activation at all (both NaN). */
int mz_stat_coact_top(const uint64_t *pair, const uint64_t *load, int n, double frac, double *share,
                      double *lift);

/* One row of the mz-stat table; NaN where a value is not defined (NA). */
typedef struct {
    int layer;               /* layer number, -1 for the all row */
    uint64_t tokens;
    double cv;
    int hottest;             /* -1 in the all row */
    double hottest_over_uniform, entropy_norm, gini;
    double coact_share, coact_lift;         /* top 1% of expert pairs */
    double seq_overlap, xseq_overlap, seq_share;
    double mi_next_bits;     /* with the next MoE layer, when it is traced */
    double ct_k, ct_dedup, ct_placed;
} mz_stat_row;

typedef struct mz_stat mz_stat;
/* Accumulator for trace t. The contiguous layout puts expert e on chiplet
 * e * chiplets / experts (per_chiplet = 0) or e / per_chiplet (chiplets = 0).
 * placed: an optional second placement (e.g. the header's), or NULL. */
mz_stat *mz_stat_new(const mz_trace_info *t, int chiplets, int per_chiplet, const mz_placement *placed);
/* Add one token; tokens of one sequence (step, seq) must be consecutive.
 * Returns 0, or -1 past 2^32 - 1 tokens (32-bit counters). */
int mz_stat_add(mz_stat *s, const mz_token *tok);
/* Compute the rows (n_layers, then the all row); valid until mz_stat_free. */
const mz_stat_row *mz_stat_rows(mz_stat *s, int *n);
int mz_stat_chiplets(const mz_stat *s);  /* chiplets of the contiguous layout */
/* The table, the per-layer load vectors and co-activation pairs as TSV. */
int mz_stat_write(mz_stat *s, mz_out *out);
int mz_stat_write_loads(const mz_stat *s, mz_out *out);
int mz_stat_write_coact(mz_stat *s, mz_out *out);
void mz_stat_free(mz_stat *s);

/* mz-stat's work (runstat.c): measure the trace at in_path ("-": standard
 * input) and write the table to out_path ("-": standard output) and, when
 * their paths are set, the load vectors and co-activation pairs. Returns 0,
 * or -1 with the error recorded (outputs not yet complete are removed). */
typedef struct {
    int chiplets;           /* contiguous layout over this many chiplets; 0: 16, or one per expert */
    int per_chiplet;        /* or this many experts per chiplet (chiplets 0); 0: not given */
    const char *loads_path; /* per-layer load vectors (layer expert count share), or NULL */
    const char *coact_path; /* per-layer co-activation pairs (layer i j count), or NULL */
} mz_stat_run_opts;
void mz_stat_run_opts_init(mz_stat_run_opts *o);
int mz_stat_run(const mz_stat_run_opts *o, const char *in_path, const char *out_path);


/* ---------------------------------------------------------------- import (import.c; mz-import)
 * Real routing logs to traces: the vLLM route-log JSONL ("meta" and "route"
 * lines) or a TSV/CSV of "sequence token layer id...". Malformed lines are
 * errors naming file and line; anomalies are reported, counted and dropped
 * only when asked. Memory grows with the longest sequence, not the log. */
enum { MZ_IMPORT_AUTO, MZ_IMPORT_JSONL, MZ_IMPORT_TSV, MZ_IMPORT_CSV, MZ_IMPORT_COUNTS };
enum {
    MZ_ANOM_RANGE,     /* expert id out of range */
    MZ_ANOM_DUPLICATE, /* an expert twice in one token's top-k */
    MZ_ANOM_COUNT,     /* not top-k ids (or weights) */
    MZ_ANOM_GAP,       /* tokens missing in a sequence, or a token missing layers */
    MZ_ANOM_REPEAT,    /* a token logged again for a layer */
    MZ_ANOM_WARMUP,    /* a long run of identical routes */
    MZ_ANOM_KINDS
};
const char *mz_anomaly_name(int kind);
/* Parse "warmup,repeat" or "all" into a set of bits 1 << kind. */
int mz_anomaly_parse(const char *list, unsigned *set);

typedef struct {
    int format;          /* MZ_IMPORT_* */
    int seqs;            /* sequences per step */
    int seq_len;         /* split longer sequences into pieces of this; 0: no split */
    int max_run;         /* identical routes in a row that make a warm-up run; 0: off */
    unsigned drop;       /* anomaly kinds to drop, bits 1 << kind */
    int weights;         /* keep gate weights (JSONL topk_weights) */
    const int *layers;   /* layers to import (others are skipped), or NULL */
    int n_layers;
    /* called with each anomaly ("FILE: line N: kind: what"), or NULL */
    void (*report)(void *arg, const char *msg);
    void *arg;
    /* JSONL key names: "ids=experts,weights=gating_probs,req=a+b,token=t,
     * layer=l,type=-" (see mz-import.1, FIELD MAPPING), or NULL for ours */
    const char *fields;
    /* a log with one sequence id whose longest sequence exceeds this many
     * tokens is reported as packed batches; 0: off */
    int packed_len;
    /* format MZ_IMPORT_COUNTS: which count format (MZ_COUNTS_*; 0 = sniff) */
    int counts_format;
} mz_import_opts;

typedef struct {
    long lines, rows, meta_lines;
    long skipped_rows;              /* rows of layers not asked for (-l) */
    uint64_t tokens_in, tokens;     /* tokens assembled, tokens kept */
    long seqs_in, seqs;             /* sequences in the log, in the trace */
    long found[MZ_ANOM_KINDS];      /* anomalies found */
    uint64_t dropped[MZ_ANOM_KINDS]; /* tokens (repeat: rows) dropped */
    long longest;                   /* longest sequence in the trace */
    long longest_src;               /* longest sequence of the log (tokens kept, before -L) */
    int packed;                     /* reported as packed batches */
} mz_import_counts;

typedef struct mz_import mz_import;
mz_import *mz_import_open(const char *path, const mz_model *m, const mz_import_opts *o);
/* Read and check the whole log, spooling the kept tokens to a temporary
 * file. Returns 0, or -1 on malformed input or an I/O error. */
int mz_import_read(mz_import *im);
const mz_import_counts *mz_import_get_counts(const mz_import *im);
/* Anomaly kinds found but not allowed to be dropped (bits 1 << kind). */
unsigned mz_import_refused(const mz_import *im);
/* After a read: the trace header (@MD, @TR, @IM import section, @CO when
 * the log covers only some MoE layers). */
int mz_import_header(const mz_import *im, mz_header *h);
int mz_import_write(mz_import *im, mz_writer *w);
void mz_import_close(mz_import *im);

/* mz-import's work (runimport.c): the options of the command line,
 * defaults from mz_import_run_opts_init; the strings are the caller's. */
typedef struct {
    const char *prog;
    int argc;
    char **argv;           /* the command line, for @PG */
    const char *model;     /* -m: a catalogue name or a config.json path */
    const char *layers;    /* -l: MoE layers imported, or NULL for the log's */
    int layer_index;       /* count sets: MZ_LAYERS_* */
    int text, level;       /* text form; else binary at gzip level (0: none) */
    FILE *warn;            /* each anomaly and the summary, or NULL (-q) */
    mz_import_opts im;     /* the reader's options (its layers, report and arg set by mz_import_run) */
} mz_import_run_opts;
void mz_import_run_opts_init(mz_import_run_opts *o);
/* The command line's combination rules for n_inputs FILE operands: 0, or
 * -1 and the error (a usage error). */
int mz_import_run_check(const mz_import_run_opts *o, int n_inputs);
/* Import the log at in_path ("-": stdin) as a trace, or a count set as a
 * loads table, to out_path. A log with anomalies not dropped is refused.
 * Returns 0, or -1 and the error, the output removed and everything freed. */
int mz_import_run(const mz_import_run_opts *o, const char *in_path, const char *out_path);


/* ---------------------------------------------------------------- prior fitting (fit.c; mz-fit)
 * Measured expert loads: per layer, the share of selections per expert. */
typedef struct {
    int experts, n_layers;
    int *layer;     /* layer numbers, ascending */
    double *share;  /* [n_layers * experts], rows sum to 1 */
} mz_loads;

/* Read a TSV with columns layer, expert and share or count (others allowed),
 * keeping rows whose columns match every "COLUMN=VALUE[,VALUE]" of select,
 * summing the matches per layer and expert. */
int mz_loads_read_table(const char *path, char **select, int n_select, mz_loads *d);
/* Count the selections of a trace. */
int mz_loads_from_trace(const char *path, mz_loads *d);
/* Normalise each layer of d to sum 1 (layers ascending); -1 if one has no
 * load (the error names path). */
int mz_loads_normalise(mz_loads *d, const char *path);

/* Expert selection counts as serving stacks write them (counts.c; formats
 * and the layer rule in bin/mz-import.1, COUNT SETS): SGLang count matrices
 * ({"counts": [[...]], "num_layers", "num_experts"}, or "logical_count"),
 * per-layer JSON ({"0": [...], ...}), EPLB tables ("layer expert count"
 * rows or a matrix of per-layer rows). */
enum { MZ_COUNTS_AUTO, MZ_COUNTS_SGLANG, MZ_COUNTS_LAYER_JSON, MZ_COUNTS_EPLB };
/* Rows name blocks (MZ_LAYERS_BLOCK), MoE layers in order (MZ_LAYERS_MOE),
 * or either by the documented rule (MZ_LAYERS_AUTO). */
enum { MZ_LAYERS_AUTO, MZ_LAYERS_BLOCK, MZ_LAYERS_MOE };
const char *mz_counts_format_name(int format);
int mz_counts_format_parse(const char *s);   /* -1 if unknown */
int mz_layer_index_parse(const char *s);     /* -1 if unknown */
/* Read a count set for model m into d: d->share holds the raw counts (call
 * mz_loads_normalise for shares), d->layer block numbers, ascending; rows
 * of zeros are dropped. note (or NULL) gets a line saying how the rows were
 * read. Returns 0 or -1. Free d with mz_loads_free. */
int mz_counts_read(const char *path, const mz_model *m, int format, int layer_index, mz_loads *d, mz_buf *note);
/* The same from an open input (read to its end; the caller closes it). */
int mz_counts_read_in(mz_in *in, const mz_model *m, int format, int layer_index, mz_loads *d, mz_buf *note);
/* Which count format the first n bytes of an input look like: MZ_COUNTS_SGLANG
 * or _LAYER_JSON (a JSON object whose first key is a layer number or an
 * SGLang key), _EPLB (a first row of 3 fields: numbers, or a header naming
 * expert and count), 0 for anything else (a route log). */
int mz_counts_sniff(const char *head, size_t n);
/* A loads table of counts ("layer expert count", what mz-fit -T reads),
 * with an optional '#' note line first. */
int mz_loads_write_counts(const mz_loads *d, const char *note, mz_out *out);
/* A count set instead of a route log (given as MZ_IMPORT_COUNTS, or
 * sniffed): its MZ_COUNTS_* format, else 0. Read it with
 * mz_import_read_counts (see mz_counts_read) instead of mz_import_read. */
int mz_import_counts_format(const mz_import *im);
int mz_import_read_counts(mz_import *im, int layer_index, mz_loads *d, mz_buf *note);
void mz_loads_free(mz_loads *d);
/* Fill p->share for every MoE layer of m from loads d measured on model src
 * (pass m itself for its own loads): measured layers as they are, the others
 * by interpolated shape (see fit.c). Appends one '#' line per layer to note. */
int mz_fit_targets(const mz_loads *d, const mz_model *src, const mz_model *m, unsigned long seed,
                   mz_prior *p, mz_buf *note);
/* Fit p->logit so that the generator's shares match p->share; 'fitted'
 * ([n_layers * experts] or NULL) receives the shares of a final sample. */
int mz_fit_logits(mz_prior *p, const mz_model *m, int iters, int tokens, uint64_t seed, double *fitted);
/* Load skew of one share vector: coefficient of variation, hottest share
 * over uniform, entropy normalised by log(E). */
void mz_load_skew(const double *share, int E, double *cv, double *max_over_uniform, double *entropy);

/* mz-fit's work (runfit.c): fit a routing prior for o->model to the loads
 * measured in in_path (a loads table or a count set, or a trace when
 * o->trace is set) and write it to out_path ("-": standard output), the
 * report to o->report_path when set. Returns 0, or -1 with the error
 * recorded (outputs not yet complete are removed). */
typedef struct {
    const char *model;      /* -m: the model the prior is for (catalogue name or config.json) */
    const char *from;       /* -F: the loads were measured on this model, or NULL */
    int trace;              /* in_path is a trace (-r), not a table (-T) */
    int counts_format;      /* the table is a count set in this MZ_COUNTS_* format; 0: sniff */
    int layer_index;        /* MZ_LAYERS_*: what a count set's rows are */
    char **select;          /* -S "COL=V[,V]": keep the table rows that match (not for a count set) */
    int n_select;
    double coact;           /* co-activation strength */
    int topic_size;         /* experts per latent topic; 0: top-k */
    int topic_layout;       /* MZ_LAYOUT_*; -1: the prior's (random) */
    int topic_seed;
    double seq_stick, layer_stick;
    int iters, tokens, seed; /* fixed-point iterations, tokens sampled per iteration, seed */
    char **notes;           /* '#' provenance lines */
    int n_notes;
    const char *report_path; /* per-layer TSV of target vs fitted skew, or NULL */
} mz_fit_run_opts;
/* mz-fit's defaults: the MZ_DEFAULT_* prior constants, 30 iterations of
 * 20000 tokens, seed 1, topic_layout -1, the other fields 0 or NULL. */
void mz_fit_run_opts_init(mz_fit_run_opts *o);
int mz_fit_run(const mz_fit_run_opts *o, const char *in_path, const char *out_path);


/* ---------------------------------------------------------------- placement algorithms (place.c; mz-place)
 * Activation priors of each placed MoE layer from a profiling prefix of a
 * trace, the algorithms that turn them into a placement (the paper's
 * Algorithm 1 and Eq. 5 among them), and the C_T/balance report. */
enum { MZ_PLACE_CONTIGUOUS, MZ_PLACE_ROUND_ROBIN, MZ_PLACE_RANDOM, MZ_PLACE_BALANCED, MZ_PLACE_MOZART,
       MZ_PLACE_CTSWAP, MZ_PLACE_EPLB, MZ_PLACE_NALGO };
/* Algorithm number of a name, or -1. */
int mz_place_algorithm_parse(const char *name);
const char *mz_place_algorithm_name(int algo);
/* 1 if the algorithm needs the activation priors (reads the trace first). */
int mz_place_needs_priors(int algo);

/* Experts per chiplet in the contiguous layout (E mod Nc chiplets host one
 * more, spread evenly over the groups): cap[chiplets]. Every algorithm but
 * round-robin fills chiplets to these counts. */
void mz_place_capacity(int experts, int chiplets, int *cap);

/* Activation priors per placed layer: V (selections per expert) and C
 * (tokens selecting both i and j, i != j; symmetric, zero diagonal), and a
 * seeded uniform sample of the profiled tokens for algorithms that evaluate
 * C_T exactly. C is dense (E x E per layer, 10 bytes a pair while counting)
 * when that takes at most MZ_COACT_DENSE_BYTES, else sparse: a hash of the
 * pairs that occur while counting (8 bytes a slot, at most 3/4 full), then
 * per layer a symmetric CSR (rows rowptr, columns col, counts val: 6 bytes
 * an entry, two entries a pair), so that memory grows with the pairs that
 * occur, not with E^2. Sparse counts are 32-bit: at most 2^32 - 1 profiled
 * tokens. */
#define MZ_COACT_DENSE_BYTES (64ull << 20)
enum { MZ_COACT_AUTO, MZ_COACT_DENSE, MZ_COACT_SPARSE };
typedef struct {
    uint64_t *slot;      /* key i * E + j (i < j) << 32 | count; UINT64_MAX: empty */
    size_t cap, n;       /* slots (a power of 2), pairs */
} mz_pairhash;
typedef struct {
    size_t *rowptr;      /* [E + 1] */
    uint16_t *col;
    uint32_t *val;
} mz_coact_csr;
typedef struct {
    int experts, topk, n_layers;
    uint64_t tokens;     /* profiled tokens */
    uint64_t *load;      /* [n_layers * experts] */
    uint64_t *coact;     /* [n_layers * experts * experts]; upper triangle until finished */
    size_t keep, kept;   /* sample capacity and size (tokens) */
    uint16_t *ids;       /* [kept * n_layers * topk] sampled tokens' expert ids */
    size_t ids_cap;      /* tokens ids has room for */
    void *rng;           /* gsl_rng of the reservoir sample */
    uint16_t *block;     /* tokens not yet counted, counted layer by layer (cache) */
    size_t nblock;
    uint16_t *coact16;   /* [n_layers * experts * experts]: pairs in rank order since the last fold into coact (cache) */
    uint32_t since_fold; /* tokens counted in coact16 */
    int sparse;          /* 1: C in hash[] (counting), then csr[] (finished); coact is NULL */
    mz_pairhash *hash;   /* [n_layers] */
    mz_coact_csr *csr;   /* [n_layers] */
    double sparse_bytes; /* the hashes' size, checked against MZ_MAX_TABLE_BYTES as they grow */
    int failed;          /* a hash would have exceeded the limit: the error is set, mz_priors_finish fails */
    int finished;
} mz_priors;
/* keep: tokens to sample for exact C_T evaluation (0: none). Returns 0, or
 * -1 and an error when the E x E tables of the traced layers would exceed
 * MZ_MAX_TABLE_BYTES (checked before allocating). */
int mz_priors_init(mz_priors *p, const mz_trace_info *t, size_t keep, unsigned long seed);
/* The same with the form of C chosen: MZ_COACT_AUTO (dense when it takes at
 * most MZ_COACT_DENSE_BYTES), _DENSE or _SPARSE. */
int mz_priors_init_mode(mz_priors *p, const mz_trace_info *t, size_t keep, unsigned long seed, int mode);
void mz_priors_add(mz_priors *p, const mz_token *tok);
/* Mirror C into a full symmetric matrix (dense) or build the CSR rows
 * (sparse); call once after the last add. Returns 0, or -1 and the error
 * when a sparse table outgrew MZ_MAX_TABLE_BYTES while counting. */
int mz_priors_finish(mz_priors *p);
/* C_ij of layer slot l, either form (finished). */
uint64_t mz_priors_coact(const mz_priors *p, int l, int i, int j);
void mz_priors_free(mz_priors *p);

/* The paper's Algorithm 1 on one layer's E x E co-activation matrix: fills
 * cluster_of[E] with clusters 0..nc-1; the first E mod nc clusters hold
 * ceil(E/nc) experts, the others floor(E/nc). Deterministic (see place.c). */
void mz_place_cluster(const uint64_t *coact, int experts, int nc, int *cluster_of);
/* The same on C in CSR form (both triangles, no diagonal): identical clusters. */
void mz_place_cluster_csr(const mz_coact_csr *C, int experts, int nc, int *cluster_of);

/* Eq. 5 outcome: the deviation of the group loads from the even share, in
 * integers: dev = max_g |groups * load_g - total|, sq = sum_g of its square. */
typedef struct {
    uint64_t dev;
    double sq;
    long nodes;  /* branch-and-bound nodes visited */
    int exact;   /* 1: search completed (optimal); 0: node budget ran out */
    uint64_t lb; /* no allocation has a smaller dev (= dev when exact) */
    uint64_t total; /* the clusters' summed load: dev / (groups * total) is a share */
} mz_alloc_stats;
/* Eq. 5: put n clusters (n = number of chiplets) of load load[i] and size
 * size[i] onto chiplets with capacities cap[] (a cluster goes to a chiplet
 * of its size; group g = chiplets c with c * groups / n == g), minimising
 * dev, then sq. init: a feasible chiplet per cluster to start from, or NULL.
 * budget: node limit of the exact search (<= 0: none), counted in nodes of
 * a 4-group search: a node over G > 4 groups costs about (G/4)^2 of them
 * (G children, each bounded over G groups), so the search visits
 * budget * 16 / G^2 nodes, at least 1 (mz_place_alloc_budget). Fills chiplet[n];
 * returns 0, or -1 if the sizes do not match the capacities. */
int mz_place_allocate(int n, int groups, const uint64_t *load, const int *size, const int *cap,
                      long budget, const int *init, int *chiplet, mz_alloc_stats *st);
/* The nodes a budget allows over G groups (see mz_place_allocate). */
long mz_place_alloc_budget(long budget, int groups);

typedef struct {
    int algorithm;
    unsigned long seed;  /* random layout, token sample */
    long alloc_nodes;    /* Eq. 5 node budget per layer */
    long kicks;          /* ctswap: perturbation rounds per layer */
    double max_load;     /* 0: no cap; else no chiplet above max_load x the layer's mean chiplet load (V) */
} mz_place_opts;
/* What happened per layer. */
typedef struct {
    int group_alloc;     /* 0 none, 1 exact, 2 heuristic (budget ran out) */
    double gap;          /* heuristic: the group deviation (a share) less its lower bound; exact: 0 */
    double seconds;      /* time spent placing the layer */
    long swaps;          /* ctswap: swaps made */
    int over_cap;        /* max_load given: a chiplet's load is above the cap (mz_place_over_cap) */
} mz_place_info;
/* Compute every layer's placement into p (from mz_placement_init) from the
 * priors pr (finished; may be NULL for data-independent algorithms).
 * info[p->n_layers] is filled when not NULL. Returns 0 or -1. */
int mz_place_compute(mz_placement *p, const mz_priors *pr, const mz_place_opts *o, mz_place_info *info);
/* The load cap of one layer: the largest chiplet load (in selections) within
 * max_load x the mean chiplet load of V[E] over nc chiplets; UINT64_MAX
 * when max_load <= 0 (no cap). */
uint64_t mz_place_load_cap(const uint64_t *V, int E, int nc, double max_load);
/* 0 if no chiplet of chip[E] carries more than cap of V; else 1, or 2 when
 * no placement can meet the cap (the hottest expert with the E/nc - 1
 * lightest others is above it). */
int mz_place_over_cap(const int *chip, const uint64_t *V, int E, int nc, uint64_t cap);
/* May an expert of load va on a chiplet of load la swap with one of load vb
 * on a chiplet of load lb under the cap? Yes if neither chiplet ends above
 * it, or if the larger of the two loads goes down. */
int mz_place_swap_capped(uint64_t la, uint64_t lb, uint64_t va, uint64_t vb, uint64_t cap);
/* The layers of info[p->n_layers] over the cap: their number, their ids
 * from p->layers appended to list (comma-separated; when not NULL), and
 * in *forced (when not NULL) how many of them no placement could meet. */
int mz_place_cap_missed(const mz_placement *p, const mz_place_info *info, mz_buf *list, int *forced);
const char *mz_place_alloc_name(int group_alloc);

/* C_T and balance of a placement on a stream of tokens, split into the
 * profiled tokens and the evaluation tokens after them. */
typedef struct {
    int n_layers, topk, chiplets, groups;
    uint64_t tokens[2];    /* profiled, evaluated */
    uint64_t *distinct;    /* [n_layers * 2]: sum over tokens of distinct chiplets */
    uint64_t *load;        /* [n_layers * 2 * chiplets]: selections per chiplet */
    uint64_t *pairs;       /* [n_layers * 4]: per part, expert pairs on one chiplet, on two */
    uint32_t *stamp;       /* scratch [chiplets] */
    int *ch;               /* scratch [chiplets] */
    uint32_t serial;
} mz_place_eval;
void mz_place_eval_init(mz_place_eval *ev, const mz_placement *p, int topk);
/* part: 0 profiled token, 1 evaluation token. */
void mz_place_eval_add(mz_place_eval *ev, const mz_placement *p, const mz_token *tok, int part);
void mz_place_eval_free(mz_place_eval *ev);
/* The --report TSV: one row per layer and an "all" row (means of the layer
 * rows). info may be NULL (placement read from a file). */
int mz_place_report_write(const mz_place_eval *ev, const mz_placement *p, const mz_place_info *info,
                          int profile_steps, int eval_steps, mz_out *out);

/* Placement maps of serving stacks (placemap.c; bin/mz-place.1, PLACEMENT
 * MAPS): vLLM's expert_to_ep_rank, SGLang's physical_to_logical_map,
 * DeepSeek EPLB's phy2log. An EP rank is a chiplet. */
enum { MZ_PLACEMAP_TSV, MZ_PLACEMAP_VLLM, MZ_PLACEMAP_SGLANG, MZ_PLACEMAP_EPLB };
const char *mz_placemap_format_name(int format);
int mz_placemap_format_parse(const char *s);   /* -1 if unknown */
/* The format of a placement file by content: a JSON map by its key, else TSV; -1 on error. */
int mz_placemap_sniff(const char *path);
/* Read a map for the traced layers of t into p (freed with
 * mz_placement_free). Ranks: chiplets when chiplets_given, else the file's
 * ep_size/num_gpus, else (vLLM) the largest rank + 1, else chiplets. Each
 * expert is placed on its primary copy (its lowest physical slot); further
 * copies go to p->replica. Returns 0 or -1. */
int mz_placemap_read(const char *path, int format, const mz_trace_info *t, int chiplets, int chiplets_given,
                     int groups, mz_placement *p);
/* Write p as a map of this format (m: the model, for SGLang's row per
 * block). SGLang and EPLB maps need equally many experts on every chiplet. */
int mz_placemap_write(const mz_placement *p, const mz_model *m, int format, mz_out *out);
/* The @PR lines of p's replicas ("@PR layer:L copies:e=c,..."), replacing any. */
void mz_placement_replicas_to_header(const mz_placement *p, mz_header *h);

/* Chiplets and groups named by a placement TSV's "#placement" line:
 * 1 and both set, 0 if there is no such line, -1 on error. */
int mz_place_tsv_topology(const char *path, int *chiplets, int *groups);

/* Fixed-size records spooled to an anonymous temporary file (in $TMPDIR,
 * else /tmp) so that a stream read once can be read again. */
typedef struct mz_spool mz_spool;
mz_spool *mz_spool_open(size_t rec_size);
int mz_spool_put(mz_spool *s, const uint8_t *rec);
int mz_spool_rewind(mz_spool *s);
/* 1 and rec filled, 0 at the end, -1 on error. */
int mz_spool_get(mz_spool *s, uint8_t *rec);
void mz_spool_close(mz_spool *s);

/* mz-place's work (runplace.c): read a trace, place its experts (or read a
 * placement, -R), and write the trace on with the placement in its header;
 * the reports and the placement file on the side. The options are those of
 * the command line, defaults from mz_place_run_opts_init. */
typedef struct {
    const char *prog;          /* the name that starts warnings and the @PG line ["mz-place"] */
    int argc;                  /* the command line of the @PG line (0: an empty CL) */
    char **argv;
    FILE *warn;                /* where warnings go (the main: stderr; NULL: nowhere) [NULL] */
    const char *algorithm;     /* -a: mz_place_algorithm_parse's names or "latency" ["mozart"] */
    int algorithm_given;       /* -a was given: it excludes -R */
    int chiplets, groups;      /* -c, -g [16, 4] */
    int chiplets_given, groups_given; /* -c, -g given: they override a -R file's topology */
    int profile;               /* --profile: profiled steps, 0 all [0] */
    unsigned long seed;        /* -s [1] */
    int sample, kicks, alloc_nodes; /* --sample, --kicks, --alloc-nodes [65536, 0, 100000] */
    int replicas;              /* --replicas [0] */
    double max_load;           /* --max-load: the chiplet load cap over the mean, 0 none [0] */
    char **wafers, **sets;     /* -w and -S, in order (not owned) */
    int n_wafers, n_sets;
    const char *report, *latency_report, *write_placement, *read_placement; /* -r, --latency-report, -W, -R [NULL] */
    int format;                /* --format: MZ_PLACEMAP_*, -1: -R by content, -W tsv [-1] */
    int text, level;           /* -t; gzip level, 0 for -u [0, 1] */
} mz_place_run_opts;
void mz_place_run_opts_init(mz_place_run_opts *o);
/* 0, or -1 and the error when options exclude each other or are out of
 * range: a usage error (the message as mz-place prints it after "mz-place: "). */
int mz_place_run_check(const mz_place_run_opts *o);
/* Run mz-place on in_path ("-": stdin) to out_path ("-": stdout); checks o
 * first (mz_place_run_check). Returns 0, or -1 and the error. It leaves
 * nothing to free: whatever it allocates or opens is freed or closed before
 * it returns, on error too, and an output it fails to finish is removed (a
 * path) or aborted (stdout), as an mz_out is; outputs finished before the
 * error stay. */
int mz_place_run(const mz_place_run_opts *o, const char *in_path, const char *out_path);


/* ---------------------------------------------------------------- schedules (sched.c; mz-sched)
 * A schedule stream (kind 'S') holds, per training step, the operations of
 * the step in stream order: what each op does (kind, category, layer,
 * micro-batch, direction, token slice), how much (terms: a logical endpoint
 * and a quantity in FLOPs or bytes), what it waits for (dependency ids of
 * earlier ops of the same step) and, for Baseline, its barrier phase.
 * Endpoints are logical (root, chiplet c, group g, their DRAM); mz-cost maps
 * them onto a wafer's links. Record format: lib/mzs.5. */
enum {
    MZ_OP_STAT,          /* per-step counts (C_T) and footprint; not a task */
    MZ_OP_ROOT_LOAD,     /* root weights (a block's, or the LM head's) from root DRAM */
    MZ_OP_ROOT_ACT_LOAD, /* bwd: saved root activations from root DRAM */
    MZ_OP_ATT,           /* attention + router on the root */
    MZ_OP_DENSE_FFN,     /* dense FFN block on the root */
    MZ_OP_SHARED,        /* shared experts on the root */
    MZ_OP_ATT_SAVE,      /* fwd: root activations to root DRAM */
    MZ_OP_ATT_WB,        /* bwd: root weight update, written to root DRAM */
    MZ_OP_LOAD,          /* expert weights, group DRAM -> chiplet */
    MZ_OP_ACT_LOAD,      /* bwd: saved expert activations, group DRAM -> chiplet */
    MZ_OP_DISPATCH,      /* all-to-all, root -> chiplets of one group */
    MZ_OP_EXPERT,        /* expert compute on one chiplet */
    MZ_OP_COMBINE,       /* all-to-all, chiplets of one group -> root */
    MZ_OP_SAVE,          /* fwd: expert activations, chiplet -> group DRAM */
    MZ_OP_GRAD_WB,       /* bwd: expert update (or gradient accumulation) in group DRAM */
    MZ_OP_EMBED,         /* embedding rows: gathered (fwd), updated (bwd) in root DRAM */
    MZ_OP_LM_HEAD,       /* LM head and loss on the root, all tokens of a visit */
    MZ_OP_NKINDS
};
enum {
    MZ_CAT_NONE, MZ_CAT_ATT, MZ_CAT_EXPERT, MZ_CAT_DRAM, MZ_CAT_ACT, MZ_CAT_DISPATCH, MZ_CAT_COMBINE,
    MZ_NCATS
};
/* Term types: the logical endpoint of a quantity. index is a chiplet
 * (placement numbering) or a group, else 0; footprint terms index a memory
 * (mzs(5): groups 0..G-1, root DRAM G, chiplet c's SRAM G+1+c, root SRAM G+1+C). */
enum {
    MZ_Q_ROOT_FLOP,    /* FLOPs on the attention chiplet (reported, not timed) */
    MZ_Q_CHIP_FLOP,    /* FLOPs on expert chiplet index (reported, not timed) */
    MZ_Q_ROOT_READ,    /* bytes root DRAM -> root */
    MZ_Q_ROOT_WRITE,   /* bytes root -> root DRAM */
    MZ_Q_MEM_READ,     /* bytes DRAM of the chiplet's group -> chiplet index */
    MZ_Q_MEM_WRITE,    /* bytes chiplet index -> DRAM of its group */
    MZ_Q_A2A_CHIP,     /* bytes root <-> chiplet index (direction from the op kind) */
    MZ_Q_A2A_GROUP,    /* bytes at the root for group index when its switch aggregates */
    MZ_Q_ROOT_TOKENS,  /* tokens of a root compute op (its matrix rows) */
    MZ_Q_ROOT_CTX,     /* attention: positions attended, summed over the op's tokens */
    MZ_Q_CHIP_TOKENS,  /* routed token-expert pairs of an expert op on chiplet index */
    MZ_Q_CHIP_EXPERTS, /* routed experts with at least one of those tokens */
    MZ_Q_CHIP_SHARED,  /* tokens through the chiplet's slice of the shared experts (spread) */
    MZ_Q_TOKENS,       /* stat: tokens x MoE layers of the step */
    MZ_Q_COPIES,       /* stat: routed copies the variant dispatches (C_T numerator) */
    MZ_Q_GROUP_COPIES, /* stat: distinct groups per token, summed */
    MZ_Q_FOOT_WEIGHTS, /* stat: bytes of weights resident in memory index */
    MZ_Q_FOOT_GRADS,   /* stat: bytes of gradient accumulators */
    MZ_Q_FOOT_STATE,   /* stat: bytes of optimizer state */
    MZ_Q_FOOT_ACTS,    /* stat: bytes of activations (saved for backward, or buffers) at the peak */
    MZ_Q_NTYPES
};
typedef struct {
    int type, index;
    double q;
} mz_term;
typedef struct {
    uint32_t step, id;     /* id: 0, 1, ... within the step, in stream order */
    int layer, mb, slice;  /* slice -1: the whole micro-batch (or visit) */
    int dir;               /* 0 forward, 1 backward */
    int kind, cat;
    uint32_t phase;        /* Baseline barrier phase; 0: no barrier */
    int nterms, ndeps;
    mz_term *term;         /* buffers owned by the op, grown by mz_op_decode */
    uint32_t *dep;
    int term_cap, dep_cap;
} mz_op;
const char *mz_op_kind_name(int kind);
const char *mz_op_cat_name(int cat);   /* att_compute, expert_compute, ... */
const char *mz_term_name(int type);
int mz_op_cat_of(int kind);
/* Decode a binary schedule record into op (buffers reused). -1 if corrupt. */
int mz_op_decode(const uint8_t *rec, size_t len, mz_op *op);
/* Append the binary record of op to out. */
void mz_op_encode(const mz_op *op, mz_buf *out);
void mz_op_free(mz_op *op);
/* Make room in op for terms and deps (buffers grow, never shrink). */
void mz_op_reserve(mz_op *op, int terms, int deps);

enum { MZ_ORDER_AUTO, MZ_ORDER_LAYER, MZ_ORDER_MB };
enum { MZ_SHARED_AUTO, MZ_SHARED_ROOT, MZ_SHARED_SPREAD };
enum { MZ_OPT_SGD, MZ_OPT_ADAM };
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
    int shared_on;       /* MZ_SHARED_*: where shared experts run */
    int optimizer;       /* MZ_OPT_*: sgd (no state) or adam (FP32 master and moments) */
    int bytes;           /* bytes per element of weights and activations (FP16: 2) */
    int grad_bytes;      /* bytes per element of gradient accumulators */
    /* resolved by mz_sched_new (what the schedule does; written to @SC) */
    int depth_fwd, depth_bwd; /* blocks of expert weights held, forward and backward */
} mz_sched_opts;
/* Optimizer state bytes per parameter read and written at the update. */
int mz_sched_state_bytes(const mz_sched_opts *o);
const char *mz_sched_order_name(int order);
const char *mz_sched_shared_name(int shared_on);
const char *mz_sched_optimizer_name(int optimizer);
void mz_sched_opts_default(mz_sched_opts *o);
/* The @SC header line of a schedule, and back. */
void mz_sched_opts_to_header(const mz_sched_opts *o, mz_header *h);
int mz_sched_opts_from_header(const mz_header *h, mz_sched_opts *o);

typedef struct mz_sched mz_sched;
/* A schedule builder for trace t under placement p (both must outlive it).
 * Refuses traces that do not cover every MoE layer. */
mz_sched *mz_sched_new(const mz_trace_info *t, const mz_placement *p, const mz_sched_opts *o);
/* The options as the builder resolved them: order, shared_on and the
 * prefetch depths decided (valid while s lives). */
const mz_sched_opts *mz_sched_resolved(const mz_sched *s);
/* Count one token of the current step. */
void mz_sched_add(mz_sched *s, const mz_token *tok);
/* Emit the ops of the step counted so far (calling put for each, in order)
 * and clear the counts. Returns 0, or the first nonzero value of put. */
int mz_sched_emit(mz_sched *s, uint32_t step, int (*put)(void *arg, const mz_op *op), void *arg);
void mz_sched_free(mz_sched *s);
/* Widen the pipe on fd, if it is one, to 1 MiB (Linux F_SETPIPE_SZ), so that
 * a writer of 1 MiB chunks and its reader run at the same time instead of in
 * turns; a no-op elsewhere. (Generic: its place is io.c.) */
void mz_pipe_widen(int fd);

/* What mz-sched does (runsched.c): read the placed trace in_path ('-':
 * stdin, binary or text, gzip or plain) and write the schedule of each of
 * its steps to out_path ('-': stdout). With wafers the SRAM of the wafer
 * they layer (and sets override, as mz_wafer_open) decides the order, the
 * prefetch depth and where the shared experts run; without, the SRAM is
 * unknown. The variant's name is the one given, else baseline, A, B
 * (overlap and dedup on the contiguous placement), C (on any other) or
 * dedup from the flags. Returns 0, or -1 with the error recorded, every
 * input closed and the output aborted (nothing left under its name). */
typedef struct {
    mz_sched_opts sched;  /* the builder's options; variant and the SRAM are set from the ones below */
    const char *variant;  /* baseline, A, B or C (sets overlap and dedup), or NULL */
    char *const *wafers;  /* files (or catalogue names) of the wafer, layered in order */
    int n_wafers;
    char *const *sets;    /* "section.key=value" overrides of it */
    int n_sets;
    int text;             /* write the text form */
    int level;            /* gzip level of the binary form; 0: plain */
    const char *prog;     /* the @PG line: program name and command line */
    int argc;
    char **argv;
} mz_sched_run_opts;
/* Defaults: mz_sched_opts_default, no wafer, binary at gzip level 1, prog
 * "mz-sched" with an empty command line. */
void mz_sched_run_opts_init(mz_sched_run_opts *o);
int mz_sched_run(const mz_sched_run_opts *o, const char *in_path, const char *out_path);


/* ---------------------------------------------------------------- wafers and timing (wafer.c, cost.c; mz-cost)
 * A wafer description: key = value fields in [sections], layered from files
 * (models/NAME.wafer; 'include FILE' inside a file) and -s overrides, later
 * layers overriding earlier ones. Format and fields: bin/mz-cost.1 and
 * lib/mzs.5. Counts are parameters; what depends on them is derived. */
enum { MZ_TOPO_TREE, MZ_TOPO_MESH };
enum { MZ_DEV_HBM2, MZ_DEV_SSD };
typedef struct {
    int topology;              /* MZ_TOPO_* */
    int attention_chiplets, switches, expert_chiplets;
    int tiles, arrays_per_tile, pes_per_array, precision_bytes;
    double clock_GHz, flops_per_pe_cycle, tile_mm2;
    double sram_tile_MB, sram_tile_GBps, sram_efficiency;
    double mem_bandwidth_GBps, mem_capacity_GB, phy_mm, mem_efficiency;
    int root_stacks, stacks_per_group;
    int mem_device;            /* MZ_DEV_*: what a stack is (area and energy only; optional, hbm2) */
    double spill_GBps;         /* the tier that holds what the stacks cannot */
    double wire_GBps, wires_per_mm, hop_latency_ns;
    int multicast, reduce_forward, reduce_backward; /* switch capabilities (tree) */
    double dispatch_Bpc;       /* the attention chiplet's dispatcher: bytes per cycle, both directions */
    int mesh_root_links;       /* mesh: links from the root into the mesh (1 or 2) */
    /* the area and energy model (mz-model(7) section 9; all set or none) */
    double pe_um2, adder_um2, sram_mm2_per_MB, bond_pitch_um, phy_um2_per_wire;
    double hbm_mm2, hbm_phy_mm2, ssd_mm2, ssd_phy_mm2, switch_buffer_MB, die_gap_mm, link_mm;
    double mac_pJ, sram_pJ_per_byte, bond_pJ_per_bit, link_pJ_per_bit_mm, hbm_pJ_per_bit, ssd_pJ_per_bit;
    double spill_pJ_per_bit;
    double logic_leak_W_per_mm2, sram_leak_W_per_mm2;
    /* derived by mz_wafer_finish */
    int power;                 /* 1: the [tech] and [energy] fields are set */
    int array_dim;             /* a: an array is a x a PEs */
    double peak_flops;         /* per chiplet, FLOP/s */
    double sram_bytes, sram_Bps; /* per chiplet: capacity, operand bandwidth */
    double edge_mm;            /* chiplet edge */
    double root_link_mm;       /* die edge behind each of the root's links (tree: to a switch; mesh: into the mesh) */
    int per_group;             /* expert chiplets per group */
    int mesh_cols, mesh_rows, block_cols, block_rows; /* mesh geometry */
    /* provenance */
    int n_layers;              /* files and -s overrides, in order */
    char **layer;              /* "models/x.wafer" or "-s key=value" */
    void *priv;
} mz_wafer;

void mz_wafer_init(mz_wafer *w);
/* Layer a file on top: a catalogue name (NAME finds models/NAME.wafer) or
 * a path. Errors name the file, the line and the field. */
int mz_wafer_load(mz_wafer *w, const char *name_or_path);
/* Layer one "section.key=value" override on top. */
int mz_wafer_set(mz_wafer *w, const char *assignment);
/* Check that every field the topology needs is set and consistent, and
 * derive the rest. Call after the last load/set (and again after changes). */
int mz_wafer_finish(mz_wafer *w);
/* The wafer of a command line: init, then each of the n_files files and
 * the n_sets overrides layered in order, then finish. On error w is
 * already freed; on success free it with mz_wafer_free. */
int mz_wafer_open(mz_wafer *w, char *const *files, int n_files, char *const *sets, int n_sets);
/* Set a real-valued field directly (a fit varying constants); the value is
 * attributed to a layer named "(fit)". Call mz_wafer_finish after. */
int mz_wafer_put(mz_wafer *w, const char *key, double v);
/* Numeric value of a field by its "section.key" name: 0, or -1 if unknown
 * or not set. */
int mz_wafer_get(const mz_wafer *w, const char *key, double *v);
void mz_wafer_free(mz_wafer *w);
/* Grid position of expert chiplet c on a mesh (after mz_wafer_finish). */
void mz_wafer_mesh_xy(const mz_wafer *w, int c, int *x, int *y);

/* The wafer's area bottom-up from its [tech] densities (mz-model(7) section
 * 9.1), mm2; and the leaking silicon's static power. */
typedef struct {
    double pe, tree, bond, sram, logic_die, sram_die, tile; /* one tile and its parts */
    int bond_wires;            /* 3D bonds of a tile's SRAM port */
    double tile_wafer;         /* compute.tile_mm2, the tile of the wafer's geometry */
    double chiplet, chiplet_phy, root, root_phy;            /* each */
    double sw, sw_phy, sw_logic, sw_sram;                    /* a switch die */
    double device, device_phy;                              /* a memory device, its PHY (on a die) */
    int n_chiplets, n_switches, n_devices;
    double gaps, total;        /* die spacing; the wafer */
    double logic, sram_total;  /* leaking silicon */
    double static_W;          /* leakage of that silicon */
    double full_W;            /* every PE a MAC a cycle, every SRAM port at its rate, plus static_W */
} mz_area;
/* Fills a; -1 (error set) when the wafer has no area and energy model. */
int mz_area_compute(const mz_wafer *w, mz_area *a);
/* The area table of mz-cost --area: part, count, each_mm2, total_mm2, note. */
int mz_area_write(const mz_wafer *w, mz_out *out);

/* The wafer's physical resources (compute, links, DRAM) and the routes of
 * logical transfers over them, for a schedule whose placement has 'chiplets'
 * expert chiplets in 'groups' groups. Refuses (naming the wafer field) a
 * placement that needs more chiplets, groups or chiplets per group than the
 * wafer has; a smaller one is mapped group by group onto the first chiplets. */
enum { MZ_RES_COMPUTE, MZ_RES_LINK, MZ_RES_DRAM };
typedef struct mz_fabric mz_fabric;
mz_fabric *mz_fabric_new(const mz_wafer *w, int chiplets, int groups);
/* Refresh the rates after the wafer's values changed (same counts). */
void mz_fabric_rates(mz_fabric *f, const mz_wafer *w);
int mz_fabric_size(const mz_fabric *f);
const char *mz_fabric_name(const mz_fabric *f, int r);
int mz_fabric_type(const mz_fabric *f, int r);      /* MZ_RES_* */
double mz_fabric_rate(const mz_fabric *f, int r);   /* FLOP/s or bytes/s */
void mz_fabric_free(mz_fabric *f);

/* mz-cost's accumulator: costs a schedule step by step and writes the
 * tables. The header is the schedule's (@MD, @PT, @SC). */
typedef struct mz_cost mz_cost;
mz_cost *mz_cost_new(const mz_wafer *w, const mz_header *h);
/* Add the next op; a new step starts at id 0 (call mz_cost_run first). */
int mz_cost_add(mz_cost *c, const mz_op *op);
int mz_cost_pending(const mz_cost *c);   /* ops of the current step */
/* Cost the current step; fills the step row and accumulates the resource
 * totals. Returns 0 or -1. */
typedef struct {
    uint32_t step;
    double latency_s, ct, ct_group, tokens;
    int ops, path_ops;
    int fits;            /* 1: every memory holds its footprint */
    /* the area and energy model (mz-model(7) section 9); 0 when the wafer has none */
    double area_mm2, energy_J, static_J, power_W, peak_W;
} mz_cost_row;
int mz_cost_run(mz_cost *c, mz_cost_row *row);
/* Breakdown rows of the step just run: "step layer category total_s
 * exposed_s", per layer and category, then the step's "all" rows. */
int mz_cost_write_breakdown(mz_cost *c, mz_out *out, int header);
/* Chrome trace events of the step just run, offset by t0 seconds; first:
 * 1 before the first event of the file. */
int mz_cost_write_timeline(mz_cost *c, mz_out *out, double t0, int *first);
/* Track names ("M" events) for the timeline. */
int mz_cost_write_tracks(mz_cost *c, mz_out *out, int *first);
/* Per resource, over every step run: quantity, busy time, utilisation. */
int mz_cost_write_resources(mz_cost *c, mz_out *out);
/* Per memory, the footprint at its peak over the steps run against its
 * capacity (mz-model(7) section 5). */
int mz_cost_write_footprint(mz_cost *c, mz_out *out);
/* 1 if every memory held its footprint in every step run. */
int mz_cost_fits(const mz_cost *c);
/* Append a line per memory that overflowed to b; returns their number. */
int mz_cost_fit_report(const mz_cost *c, mz_buf *b);
void mz_cost_free(mz_cost *c);

/* Latency-aware placement (placelat.c; mz-place -a latency, bin/mz-place.1):
 * candidates (contiguous, mozart, ctswap, and rdswap: a local search on the
 * root dispatcher's copies from ctswap), each timed as Mozart-C
 * on the wafer over the profiled tokens; the fastest wins (ties: the
 * earlier), so it is never slower on them than contiguous or mozart. */
#define MZ_PLACELAT_CANDS 4
typedef struct {
    const mz_wafer *w;          /* finished wafer the candidates are timed on */
    const mz_trace_info *ti;
    const mz_header *h;         /* the trace's header */
    const uint8_t *recs;        /* the profiled tokens' records, in trace order */
    size_t n_recs, rec_size;
} mz_placelat_input;
typedef struct {
    int n, chosen, wa, wb;      /* candidates; the fastest; copies = wa ct_dedup + wb ct_group */
    char name[MZ_PLACELAT_CANDS][24];
    double latency[MZ_PLACELAT_CANDS], surrogate[MZ_PLACELAT_CANDS], ct[MZ_PLACELAT_CANDS];
    double ct_group[MZ_PLACELAT_CANDS], max_load[MZ_PLACELAT_CANDS], group_dev[MZ_PLACELAT_CANDS];
} mz_placelat_result;
/* p from mz_placement_init; pr finished, with a token sample (keep > 0). */
int mz_placelat_compute(mz_placement *p, const mz_priors *pr, const mz_place_opts *o, const mz_placelat_input *in,
                        mz_place_info *info, mz_placelat_result *res);
/* The --latency-report TSV: a row per candidate (latency and proxies), the chosen one marked. */
int mz_placelat_report_write(const mz_placelat_result *res, mz_out *out);

/* Fit wafer constants to target latencies (mz-cost --fit): TARGETS is a TSV
 * "name schedule wafer reference target tolerance" (see mz-cost.1); each
 * schedule is compiled once and held in memory while the constants vary. */
typedef struct mz_fit mz_fit;
mz_fit *mz_fit_load(const char *targets, char *const *sets, int n_sets);
/* Fit the 'free' fields (the first one is the scale field, held during the
 * shape stage). log: progress lines, or NULL. Returns 0 or -1. */
int mz_fit_solve(mz_fit *f, char *const *free_keys, int n_free, FILE *log);
/* Evaluate without fitting. */
int mz_fit_evaluate(mz_fit *f);
/* What-if on the compiled schedules: set one real-valued wafer field in
 * every row's wafer (rates only: the schedules are not rebuilt), then
 * mz_fit_evaluate; read each row's mean latency back. */
int mz_fit_set(mz_fit *f, const char *key, double v);
int mz_fit_rows(const mz_fit *f);
const char *mz_fit_row_name(const mz_fit *f, int i);
double mz_fit_row_latency(const mz_fit *f, int i);
/* "#fitted" lines and the residual table. */
int mz_fit_write(mz_fit *f, mz_out *out);
void mz_fit_free(mz_fit *f);

/* mz-cost's work (runcost.c): the options of the command line, defaults
 * from mz_cost_file_opts_init; the strings and lists are the caller's. */
typedef struct {
    const char *prog;        /* names the tool in warnings */
    char **wafers, **sets;   /* -w files (layered) and -S overrides */
    int n_wafers, n_sets;
    const char *breakdown, *resources, *footprint, *timeline; /* -b, -r, -F, -T: NULL for none */
    const char *timeline_steps; /* --timeline-steps RANGE ["0"] */
    int strict;              /* a step that does not fit is an error, not a warning */
    int area;                /* --area: the wafer's area table, no schedule */
    const char *fit;         /* --fit TARGETS, or NULL */
    const char *free_list;   /* --free KEY[=LO:HI],... */
    int quiet;               /* no fit progress */
    FILE *warn;              /* the fit progress and the does-not-fit warning, or NULL */
} mz_cost_file_opts;
void mz_cost_file_opts_init(mz_cost_file_opts *o);
/* The command line's combination rules for n_schedules SCHEDULE operands:
 * 0, or -1 and the error (a usage error). */
int mz_cost_file_check(const mz_cost_file_opts *o, int n_schedules);
/* Cost the schedule at in_path ("-": stdin) to out_path and the tables
 * of o, or (o->area) write the wafer's area table, or (o->fit) fit the
 * wafer constants. Returns 0, or -1 and the error, every output removed
 * and everything freed. */
int mz_cost_file(const mz_cost_file_opts *o, const char *in_path, const char *out_path);


/* ---------------------------------------------------------------- replicas (replica.c; mz-place --replicas, -a eplb)
 * Extra copies of experts: p->replica triples (layer, expert, chiplet)
 * beside each expert's primary copy in p->chiplet. mz-sched splits an
 * expert's tokens between its copies and costs every copy (mz-model(7)
 * section 4.8). */
/* Append a copy of expert e of placement row slot on chiplet c. */
void mz_placement_add_replica(mz_placement *p, int slot, int e, int c);
/* Canonical form: each expert's primary copy is the one on its lowest
 * chiplet; replicas sorted by layer, expert, chiplet. */
void mz_placement_canon_replicas(mz_placement *p);
/* Add the copies of the @PR header lines to p (after its @PL rows). 0 or -1. */
int mz_replicas_from_header(const mz_header *h, mz_placement *p);
/* The token split: physical copy e < experts is expert e's primary, the
 * replicas of a layer are physical copies experts, experts + 1, ...; the
 * selections of an expert go to its copies in turn (round-robin, primary
 * first, counted over the trace in order). */
typedef struct {
    int n_layers, experts, maxp;
    int *nphys;          /* [n_layers] physical copies of each row */
    int *chip;           /* [n_layers * maxp] chiplet of each physical copy */
    int *off, *lst;      /* [n_layers * (experts + 1)] offsets into lst: each expert's copies, primary first */
    uint64_t *rr;        /* [n_layers * experts] selections routed so far */
} mz_route;
int mz_route_init(mz_route *r, const mz_placement *p);
void mz_route_free(mz_route *r);
/* The physical copy that takes this selection of expert e in row slot. */
static inline int mz_route_copy(mz_route *r, int slot, int e)
{
    size_t i = (size_t)slot * (r->experts + 1) + e;
    int n = r->off[i + 1] - r->off[i];
    if (n == 1) return e;
    return r->lst[r->off[i] + (int)(r->rr[(size_t)slot * r->experts + e]++ % (uint64_t)n)];
}
/* Where a copy fits (mz-model(7) section 5): the hosting chiplet's SRAM
 * peak at the schedule's prefetch depths, and, when the wafer enforces it
 * (a spill tier), its group DRAM's capacity for the weights of every block. */
typedef struct {
    double sram, dram;   /* per expert chiplet, per group (bytes; 0: unknown) */
    int dram_enforced;   /* spill.bandwidth_GBps > 0 */
    double ew, P_e, grad, bytes, spread; /* weight bytes, expert parameters, gradient and activation bytes, spread shared parameters per chiplet */
    double tokens_slice, per_tok_h, per_tok_f;
    int topk, experts, depth_f, depth_b;
} mz_replica_cap;
typedef struct {
    long placed;         /* copies placed */
    long refused;        /* copies that fit on no chiplet */
    long refused_sram, refused_dram; /* of which: a chiplet's SRAM, a group's DRAM said no */
    long over_dram;      /* copies placed in a group DRAM over its (unenforced) capacity */
    long short_layers;   /* layers with fewer copies than asked */
} mz_replica_stats;
/* w may be NULL (no capacity known: nothing refused). */
void mz_replica_cap_init(mz_replica_cap *cap, const mz_trace_info *t, const mz_wafer *w, int chiplets);
/* SRAM peak of a chiplet holding n copies of one block (section 5.1). */
double mz_replica_sram_need(const mz_replica_cap *cap, int n);
/* Up to nrep copies per layer of the expert of highest load per copy, each
 * on the least-loaded chiplet without one where it fits. */
int mz_place_replicas(mz_placement *p, const mz_priors *pr, int nrep, mz_replica_cap *cap, mz_replica_stats *st);
/* DeepSeek EPLB's global policy with nrep redundant slots per layer (fewer if they do not fit). */
int mz_place_eplb(mz_placement *p, const mz_priors *pr, int nrep, mz_replica_cap *cap, mz_replica_stats *st);

#endif
