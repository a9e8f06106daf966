/* fit.h: private to libmz: measured loads, count sets and prior fitting (fit.c, counts.c). */
#ifndef MZ_FIT_H
#define MZ_FIT_H

#include "import.h"

/* ---------------------------------------------------------------- prior fitting (fit.c; mz-fit)
 * Measured expert loads: per layer, the share of selections per expert. */
typedef struct {
    int experts, n_layers;
    int *layer;     /* layer numbers, ascending */
    double *share;  /* [n_layers * experts], rows sum to 1 */
} mz_loads;

/* Read a TSV with columns layer, expert and share or count (others allowed),
 * keeping rows whose columns match every "COLUMN=VALUE[,VALUE]" of select,
 * summing the matches per layer and expert. d: free with mz_loads_free. */
int mz_loads_read_table(const char *path, char **select, int n_select, mz_loads *d);
/* Count the selections of a trace. d: free with mz_loads_free. */
int mz_loads_from_trace(const char *path, mz_loads *d);
/* Normalise each layer of d to sum 1 (layers ascending); -1 if one has no
 * load (the error names path). */
int mz_loads_normalise(mz_loads *d, const char *path);

/* Expert selection counts as serving stacks write them (counts.c; formats
 * and the layer rule in bin/mz-import.1, COUNT SETS): SGLang count matrices
 * ({"counts": [[...]], "num_layers", "num_experts"}, or "logical_count"),
 * per-layer JSON ({"0": [...], ...}), EPLB tables ("layer expert count"
 * rows or a matrix of per-layer rows). */
const char *mz_counts_format_name(int format);
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
/* d: free with mz_loads_free. */
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

#endif
