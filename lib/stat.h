/* stat.h: private to libmz: routing statistics (stat.c). */
#ifndef MZ_STAT_H
#define MZ_STAT_H

#include "placement.h"

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
 * placed: an optional second placement (e.g. the header's), or NULL. Free with mz_stat_free. */
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

#endif
