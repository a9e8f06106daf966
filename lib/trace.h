/* trace.h: private to libmz: traces, routing priors and the generator (trace.c, prior.c, gen.c). */
#ifndef MZ_TRACE_H
#define MZ_TRACE_H

#include "model.h"

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

/* t: free with mz_trace_info_free. */
int mz_trace_info_from_header(const mz_header *h, mz_trace_info *t);
/* Write @MD and @TR for t into h (replacing existing ones). */
void mz_trace_info_to_header(const mz_trace_info *t, mz_header *h);
void mz_trace_info_free(mz_trace_info *t);
size_t mz_trace_record_size(const mz_trace_info *t);
/* Decode/encode one binary trace record; decode validates ids. */
int mz_token_decode(const mz_trace_info *t, const uint8_t *rec, size_t len, mz_token *tok);
void mz_token_encode(const mz_trace_info *t, const mz_token *tok, uint8_t *rec);
/* tok: free with mz_token_free. */
void mz_token_alloc(const mz_trace_info *t, mz_token *tok);
void mz_token_free(mz_token *tok);
/* Records come ordered by (step, sequence, token), each token once: 0 if
 * tok may follow last (then last becomes tok's), else -1 and the error.
 * *have_last is 0 before the first token. */
int mz_token_check_order(uint32_t last[3], int *have_last, const mz_token *tok);


/* Typed trace reading on top of mz_reader. */
typedef struct {
    mz_reader *r;
    mz_trace_info info;
    mz_token tok;
    uint32_t last[3]; int have_last;
} mz_trace_reader;
/* tr: close with mz_trace_close (nothing to close on failure). */
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

/* p: free with mz_prior_free. */
int mz_prior_read(const char *path, mz_prior *p);
int mz_prior_write(const mz_prior *p, mz_out *out);
/* Built-in prior for a model with no prior file: log-normal popularity
 * with the spread measured on real models. p: free with mz_prior_free. */
void mz_prior_builtin(const mz_model *m, mz_prior *p);
/* Prior with built-in parameters and a row (zero logits, no shares) for
 * every MoE layer of m. p: free with mz_prior_free. */
void mz_prior_for_model(const mz_model *m, mz_prior *p);
/* Index of a layer's logits in p (row of p->logit), or -1. */
int mz_prior_slot(const mz_prior *p, int layer);
/* Check that p fits the model m (experts, top-k, every MoE layer). */
int mz_prior_check(const mz_prior *p, const mz_model *m, const char *path);
void mz_prior_free(mz_prior *p);
const char *mz_layout_name(int layout);

/* ---------------------------------------------------------------- generator */
typedef struct mz_gen mz_gen;
/* Prepare sampling tables for every traced layer of t from prior p; NULL
 * and an error when they would exceed MZ_MAX_TABLE_BYTES (checked first).
 * Free with mz_gen_free; t and p must outlive it. */
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

#endif
