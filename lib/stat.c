/* stat.c: statistics of routing traces (skew, co-activation, sequence sharing, layer affinity, C_T) for mz-stat. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "stat.h"

/* ---- statistics of count vectors */

double mz_stat_cv(const uint64_t *c, int n)
{
    double sum = 0, mean, var = 0;
    for (int i = 0; i < n; i++) sum += (double)c[i];
    if (n <= 0 || sum == 0) return NAN;
    mean = sum / n;
    for (int i = 0; i < n; i++) var += ((double)c[i] - mean) * ((double)c[i] - mean);
    return sqrt(var / n) / mean;
}

double mz_stat_entropy_norm(const uint64_t *c, int n)
{
    double sum = 0, h = 0;
    for (int i = 0; i < n; i++) sum += (double)c[i];
    if (n <= 0 || sum == 0) return NAN;
    if (n == 1) return 1;
    for (int i = 0; i < n; i++)
        if (c[i]) {
            double p = (double)c[i] / sum;
            h -= p * log(p);
        }
    return h / log(n);
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

/* Gini from the ascending order: sum_i (2i - n - 1) c_(i) / (n sum c), i = 1..n. */
double mz_stat_gini(const uint64_t *c, int n)
{
    uint64_t *s;
    double sum = 0, acc = 0;
    if (n <= 0) return NAN;
    s = mz_malloc(n * sizeof *s);
    memcpy(s, c, n * sizeof *s);
    qsort(s, n, sizeof *s, cmp_u64);
    for (int i = 0; i < n; i++) {
        sum += (double)s[i];
        acc += (2.0 * (i + 1) - n - 1) * (double)s[i];
    }
    free(s);
    return sum == 0 ? NAN : acc / (n * sum);
}

int mz_stat_hottest(const uint64_t *c, int n)
{
    int best = 0;
    for (int i = 1; i < n; i++)
        if (c[i] > c[best]) best = i;
    return best;
}

/* MI = sum_ab P(a,b) log2(P(a,b) / (P(a) P(b))) with P from the counts. */
double mz_stat_mi_bits(const uint64_t *j, int na, int nb)
{
    double *row = mz_calloc(na, sizeof *row), *col = mz_calloc(nb, sizeof *col), t = 0, mi = 0;
    for (int a = 0; a < na; a++)
        for (int b = 0; b < nb; b++) {
            double v = (double)j[(size_t)a * nb + b];
            row[a] += v, col[b] += v, t += v;
        }
    if (t > 0)
        for (int a = 0; a < na; a++)
            for (int b = 0; b < nb; b++) {
                double v = (double)j[(size_t)a * nb + b];
                if (v > 0) mi += v / t * log2(v * t / (row[a] * col[b]));
            }
    free(row);
    free(col);
    /* rounding can leave -1e-17 for independent tables */
    return t > 0 ? (mi < 0 ? 0 : mi) : NAN;
}

typedef struct {
    uint64_t count;
    int i, j;
} pair_count;

/* Does pair x rank above y? Higher count first, then lower i, then lower j. */
static int ranks_above(const pair_count *x, const pair_count *y)
{
    if (x->count != y->count) return x->count > y->count;
    if (x->i != y->i) return x->i < y->i;
    return x->j < y->j;
}

/* Restore the heap (root = lowest ranked) below node q. */
static void sift_down(pair_count *h, size_t n, size_t q)
{
    for (;;) {
        size_t c = 2 * q + 1, low = q;
        if (c < n && ranks_above(&h[low], &h[c])) low = c;
        if (c + 1 < n && ranks_above(&h[low], &h[c + 1])) low = c + 1;
        if (low == q) return;
        pair_count tmp = h[q];
        h[q] = h[low], h[low] = tmp;
        q = low;
    }
}

/* Expected count of pair (i, j) if the co-activation mass M were spread in
 * proportion to load_i * load_j: M load_i load_j / sum_{a<b} load_a load_b.
 * The top pairs are kept in a heap: O(pairs log top). */
int mz_stat_coact_top(const uint64_t *pair, const uint64_t *load, int n, double frac, double *share,
                      double *lift)
{
    size_t np = (size_t)n * (n - 1) / 2, top, have = 0;
    pair_count *h;
    double mass = 0, top_mass = 0, top_expect = 0, sl = 0, sl2 = 0, prod;
    *share = *lift = NAN;
    if (np == 0) return -1;
    top = (size_t)ceil(frac * (double)np - 1e-9);
    if (top < 1) top = 1;
    if (top > np) top = np;
    h = mz_malloc(top * sizeof *h);
    for (int i = 0; i < n; i++)
        for (int j = i + 1; j < n; j++) {
            pair_count c = {pair[(size_t)i * n + j], i, j};
            mass += (double)c.count;
            if (have < top) {
                /* sift up */
                size_t q = have++;
                h[q] = c;
                while (q > 0 && ranks_above(&h[(q - 1) / 2], &h[q])) {
                    pair_count tmp = h[q];
                    h[q] = h[(q - 1) / 2], h[(q - 1) / 2] = tmp;
                    q = (q - 1) / 2;
                }
            } else if (ranks_above(&c, &h[0])) {
                h[0] = c;
                sift_down(h, top, 0);
            }
        }
    for (int i = 0; i < n; i++) sl += (double)load[i], sl2 += (double)load[i] * (double)load[i];
    prod = (sl * sl - sl2) / 2;
    if (mass == 0 || prod <= 0) {
        free(h);
        return -1;
    }
    for (size_t q = 0; q < top; q++) {
        top_mass += (double)h[q].count;
        top_expect += mass * (double)load[h[q].i] * (double)load[h[q].j] / prod;
    }
    *share = top_mass / mass;
    *lift = top_expect > 0 ? top_mass / top_expect : NAN;
    free(h);
    return 0;
}

/* ---- the accumulator */

#define BATCH 512 /* tokens counted together, layer by layer */

struct mz_stat {
    int L, E, k;
    int *layers;
    char model[MZ_NAME_MAX];
    int chiplets, per_chiplet;
    int *contig;            /* [E]: chiplet of expert e, contiguous layout */
    int *placed;            /* [L * E] or NULL */
    int *next;              /* [L]: 1 if layers[l + 1] is the next MoE layer after layers[l] */
    uint64_t tokens;
    uint64_t *load;         /* [L * E] */
    /* 16-bit tables keep the hot loop in cache; they are folded into the
     * 64-bit totals every 65535 tokens (a cell grows by at most 1 a token) */
    uint16_t *pair16, *joint16;
    uint32_t since_fold;
    uint16_t *batch;        /* [L][BATCH][k]: tokens waiting to be counted */
    uint8_t *bstart;        /* [BATCH]: 1 if the token starts a sequence */
    int nb;
    /* 32-bit totals: a cell grows by at most 1 a token, and tokens stop at 2^32 - 1 */
    uint32_t *pair;         /* [L * E * E]: [i][j] + [j][i] counts pair {i, j} */
    uint32_t *joint;        /* [L * E * E], rows with next[l] used */
    uint32_t *seqc;         /* [L * E]: counts within the current sequence */
    uint64_t *seq_shared;   /* [L]: sum over same-sequence token pairs of |A & B| */
    uint64_t seq_pairs, seq_len;
    uint32_t cur_step, cur_seq;
    int in_seq;
    uint64_t *ct, *ct_placed; /* [L]: sums of distinct chiplets per token */
    int *scratch;           /* [k] */
    size_t *rowk, *colk;    /* [k]: a token's ids and rows, k above MAXK_FAST */
    mz_stat_row *rows;      /* [L + 1] */
};

mz_stat *mz_stat_new(const mz_trace_info *t, int chiplets, int per_chiplet, const mz_placement *placed)
{
    mz_stat *s;
    int L = t->n_layers, E = t->model.experts;
    if ((chiplets > 0) == (per_chiplet > 0)) {
        mz_error("give either a number of chiplets or a number of experts per chiplet");
        return NULL;
    }
    if (chiplets > E) {
        mz_error("%d chiplets for %d experts: some chiplets would be empty", chiplets, E);
        return NULL;
    }
    if (per_chiplet > E) {
        mz_error("%d experts per chiplet, but the model has %d experts", per_chiplet, E);
        return NULL;
    }
    {
        /* pair and joint counts, 64-bit and 16-bit: 20 bytes per pair of experts and layer */
        char what[160];
        snprintf(what, sizeof what, "co-activation counts for %d layer%s x %d experts (20 bytes per pair of experts and layer)",
                 L, L == 1 ? "" : "s", E);
        if (mz_check_table(20.0 * L * E * E + 8.0 * E * E, what,
                           "measure fewer layers (mz-view -l LAYERS | mz-stat) or a model with fewer experts") < 0)
            return NULL;
    }
    s = mz_calloc(1, sizeof *s);
    s->L = L, s->E = E, s->k = t->model.topk;
    snprintf(s->model, sizeof s->model, "%s", t->model.name);
    s->layers = mz_malloc((L ? L : 1) * sizeof *s->layers);
    memcpy(s->layers, t->layers, L * sizeof *s->layers);
    s->per_chiplet = per_chiplet;
    s->chiplets = chiplets ? chiplets : (E + per_chiplet - 1) / per_chiplet;
    s->contig = mz_malloc(E * sizeof *s->contig);
    for (int e = 0; e < E; e++)
        s->contig[e] = chiplets ? (int)((long)e * chiplets / E) : e / per_chiplet;
    if (placed) {
        s->placed = mz_malloc((size_t)L * E * sizeof *s->placed);
        for (int l = 0; l < L; l++) {
            int slot = mz_placement_slot(placed, t->layers[l]);
            if (slot < 0 || placed->experts != E) {
                mz_error("the placement does not cover layer %d", t->layers[l]);
                mz_stat_free(s);
                return NULL;
            }
            memcpy(s->placed + (size_t)l * E, placed->chiplet + (size_t)slot * E, E * sizeof *s->placed);
        }
    }
    s->next = mz_calloc(L ? L : 1, sizeof *s->next);
    for (int l = 0; l + 1 < L; l++) {
        int a = mz_model_moe_index(&t->model, t->layers[l]), b = mz_model_moe_index(&t->model, t->layers[l + 1]);
        s->next[l] = a >= 0 && b == a + 1;
    }
    s->load = mz_calloc((size_t)L * E, sizeof *s->load);
    s->pair = mz_calloc((size_t)L * E * E, sizeof *s->pair);
    s->joint = mz_calloc((size_t)L * E * E, sizeof *s->joint);
    s->pair16 = mz_calloc((size_t)L * E * E, sizeof *s->pair16);
    s->joint16 = mz_calloc((size_t)L * E * E, sizeof *s->joint16);
    s->seqc = mz_calloc((size_t)L * E, sizeof *s->seqc);
    s->seq_shared = mz_calloc(L ? L : 1, sizeof *s->seq_shared);
    s->ct = mz_calloc(L ? L : 1, sizeof *s->ct);
    s->ct_placed = mz_calloc(L ? L : 1, sizeof *s->ct_placed);
    s->scratch = mz_malloc(s->k * sizeof *s->scratch);
    s->rowk = mz_malloc(s->k * sizeof *s->rowk);
    s->colk = mz_malloc(s->k * sizeof *s->colk);
    s->batch = mz_malloc(((size_t)L + 1) * BATCH * s->k * sizeof *s->batch);
    s->bstart = mz_malloc(BATCH);
    s->rows = mz_calloc(L + 1, sizeof *s->rows);
    return s;
}

int mz_stat_chiplets(const mz_stat *s) { return s->chiplets; }

/* Number of distinct values of map[id[0..k-1]]. */
static inline int distinct(const int *map, const uint16_t *id, int k, int *seen)
{
    int n = 0;
    for (int a = 0; a < k; a++) {
        int c = map[id[a]], b = 0;
        while (b < n && seen[b] != c) b++;
        if (b == n) seen[n++] = c;
    }
    return n;
}

/* Add the 16-bit tables into the 64-bit totals and clear them. */
static void fold(mz_stat *s)
{
    size_t n = (size_t)s->L * s->E * s->E;
    for (size_t i = 0; i < n; i++) s->pair[i] += s->pair16[i], s->joint[i] += s->joint16[i];
    memset(s->pair16, 0, n * sizeof *s->pair16);
    memset(s->joint16, 0, n * sizeof *s->joint16);
    s->since_fold = 0;
}

/* Count one layer over the batched tokens: the layer's tables stay in
 * cache while its tokens stream past (token by token across all layers
 * the tables of every layer would compete for the cache). Inlined for
 * each common k (a constant k unrolls the loops over a token's experts);
 * a token's ids are copied to locals first, which the compiler knows no
 * table store can change (the 16-bit tables are the ids' type). */
#define MAXK_FAST 16
static inline __attribute__((always_inline)) void count_tokens(mz_stat *s, int l, const int k)
{
    const int E = s->E, nb = s->nb, next = s->next[l], few = s->chiplets <= 64;
    const uint16_t *ids = s->batch + (size_t)l * BATCH * k;
    const uint8_t *bstart = s->bstart;
    const int *contig = s->contig;
    uint64_t *load = s->load + (size_t)l * E, shared = 0, ct = 0, ct_placed = 0;
    uint16_t *pair = s->pair16 + (size_t)l * E * E, *joint = s->joint16 + (size_t)l * E * E;
    uint32_t *seqc = s->seqc + (size_t)l * E;
    const int *placed = s->placed ? s->placed + (size_t)l * E : NULL;
    for (int t = 0; t < nb; t++) {
        const uint16_t *id = ids + (size_t)t * k;
        size_t rowbuf[MAXK_FAST], colbuf[MAXK_FAST];
        size_t *row = k <= MAXK_FAST ? rowbuf : s->rowk, *col = k <= MAXK_FAST ? colbuf : s->colk;
        if (bstart[t]) memset(seqc, 0, E * sizeof *seqc);
        for (int a = 0; a < k; a++) col[a] = id[a], row[a] = col[a] * E;
#pragma GCC unroll 16
        for (int a = 0; a < k; a++) {
            size_t i = col[a];
            load[i]++;
            shared += seqc[i]++;
            /* rank order, not id order: (i, j) and (j, i) are summed at the end */
#pragma GCC unroll 16
            for (int b = a + 1; b < k; b++) pair[row[a] + col[b]]++;
        }
        if (next) {
            const uint16_t *nx = id + (size_t)BATCH * k;
            for (int b = 0; b < k; b++) col[b] = nx[b];
            for (int a = 0; a < k; a++)
#pragma GCC unroll 16
                for (int b = 0; b < k; b++) joint[row[a] + col[b]]++;
        }
        if (few) {
            /* counted as they come: __builtin_popcountll is a library call
             * without -mpopcnt */
            uint64_t m = 0;
            for (int a = 0; a < k; a++) {
                uint64_t bit = (uint64_t)1 << contig[id[a]];
                ct += !(m & bit);
                m |= bit;
            }
        } else {
            ct += distinct(contig, id, k, s->scratch);
        }
        if (placed) ct_placed += distinct(placed, id, k, s->scratch);
    }
    s->seq_shared[l] += shared;
    s->ct[l] += ct;
    s->ct_placed[l] += ct_placed;
}

/* Count one layer with the loop for its k. */
static void count_layer(mz_stat *s, int l)
{
    switch (s->k) {
    case 8: count_tokens(s, l, 8); return;
    case 6: count_tokens(s, l, 6); return;
    case 4: count_tokens(s, l, 4); return;
    case 2: count_tokens(s, l, 2); return;
    }
    count_tokens(s, l, s->k);
}

/* Count the batched tokens, layer by layer. */
static void flush(mz_stat *s)
{
    if (s->since_fold + s->nb > UINT16_MAX) fold(s);
    s->since_fold += s->nb;
    for (int l = 0; l < s->L; l++) count_layer(s, l);
    s->nb = 0;
}

int mz_stat_add(mz_stat *s, const mz_token *tok)
{
    int L = s->L, k = s->k;
    int start = !s->in_seq || tok->step != s->cur_step || tok->seq != s->cur_seq;
    if (s->tokens == UINT32_MAX) {
        mz_error("more than %lu tokens: the 32-bit counters would overflow", (unsigned long)UINT32_MAX);
        return -1;
    }
    if (start) {
        s->cur_step = tok->step, s->cur_seq = tok->seq, s->in_seq = 1;
        s->seq_len = 0;
    }
    s->seq_pairs += s->seq_len++;
    s->tokens++;
    s->bstart[s->nb] = (uint8_t)start;
    for (int l = 0; l < L; l++)
        memcpy(s->batch + ((size_t)l * BATCH + s->nb) * k, tok->ids + (size_t)l * k, k * sizeof *tok->ids);
    if (++s->nb == BATCH) flush(s);
    return 0;
}

/* Tokens of layer slot l that chose both i and j (i != j). */
static uint64_t pair_tokens(const mz_stat *s, int l, int i, int j)
{
    const uint32_t *p = s->pair + (size_t)l * s->E * s->E;
    return (uint64_t)p[(size_t)i * s->E + j] + p[(size_t)j * s->E + i];
}

/* Mean of the non-NaN values of one field over the layer rows. */
static double mean_rows(const mz_stat_row *r, int n, size_t off)
{
    double sum = 0;
    int m = 0;
    for (int i = 0; i < n; i++) {
        double v = *(const double *)((const char *)&r[i] + off);
        if (!isnan(v)) sum += v, m++;
    }
    return m ? sum / m : NAN;
}

const mz_stat_row *mz_stat_rows(mz_stat *s, int *n)
{
    int L = s->L, E = s->E;
    double N = (double)s->tokens, all_pairs = N * (N - 1) / 2, W = (double)s->seq_pairs;
    uint64_t *buf = mz_malloc((size_t)E * E * sizeof *buf);
    flush(s);
    fold(s);
    static const size_t fields[] = {
        offsetof(mz_stat_row, cv),           offsetof(mz_stat_row, hottest_over_uniform),
        offsetof(mz_stat_row, entropy_norm), offsetof(mz_stat_row, gini),
        offsetof(mz_stat_row, coact_share),  offsetof(mz_stat_row, coact_lift),
        offsetof(mz_stat_row, seq_overlap),  offsetof(mz_stat_row, xseq_overlap),
        offsetof(mz_stat_row, seq_share),    offsetof(mz_stat_row, mi_next_bits),
        offsetof(mz_stat_row, ct_dedup),     offsetof(mz_stat_row, ct_placed)};
    for (int l = 0; l < L; l++) {
        mz_stat_row *r = &s->rows[l];
        const uint64_t *load = s->load + (size_t)l * E;
        double shared_all = 0;
        r->layer = s->layers[l];
        r->tokens = s->tokens;
        r->cv = mz_stat_cv(load, E);
        r->hottest = mz_stat_hottest(load, E);
        r->hottest_over_uniform = s->tokens ? (double)load[r->hottest] / (N * s->k) * E : NAN;
        r->entropy_norm = mz_stat_entropy_norm(load, E);
        r->gini = mz_stat_gini(load, E);
        for (int i = 0; i < E; i++)
            for (int j = 0; j < E; j++) buf[(size_t)i * E + j] = i < j ? pair_tokens(s, l, i, j) : 0;
        mz_stat_coact_top(buf, load, E, 0.01, &r->coact_share, &r->coact_lift);
        /* pairs of tokens sharing an expert: C(C-1)/2 per expert over the whole trace */
        for (int e = 0; e < E; e++) shared_all += (double)load[e] * ((double)load[e] - 1) / 2;
        r->seq_overlap = W > 0 ? (double)s->seq_shared[l] / W : NAN;
        r->xseq_overlap = all_pairs - W > 0 ? (shared_all - (double)s->seq_shared[l]) / (all_pairs - W) : NAN;
        r->seq_share = !isnan(r->seq_overlap) && !isnan(r->xseq_overlap) && r->xseq_overlap > 0
                           ? r->seq_overlap / r->xseq_overlap : NAN;
        if (s->next[l]) {
            const uint32_t *j32 = s->joint + (size_t)l * E * E;
            for (size_t i = 0; i < (size_t)E * E; i++) buf[i] = j32[i];
            r->mi_next_bits = mz_stat_mi_bits(buf, E, E);
        } else {
            r->mi_next_bits = NAN;
        }
        r->ct_k = s->k;
        r->ct_dedup = s->tokens ? (double)s->ct[l] / N : NAN;
        r->ct_placed = s->placed && s->tokens ? (double)s->ct_placed[l] / N : NAN;
    }
    free(buf);
    {
        mz_stat_row *a = &s->rows[L];
        memset(a, 0, sizeof *a);
        a->layer = -1;
        a->tokens = s->tokens;
        a->hottest = -1;
        a->ct_k = s->k;
        for (size_t f = 0; f < sizeof fields / sizeof *fields; f++)
            *(double *)((char *)a + fields[f]) = mean_rows(s->rows, L, fields[f]);
    }
    *n = L + 1;
    return s->rows;
}

/* Print a value with 4 decimals, or NA. */
static void put_num(mz_buf *b, double v)
{
    if (isnan(v))
        mz_buf_puts(b, "\tNA");
    else
        mz_buf_printf(b, "\t%.4f", v);
}

int mz_stat_write(mz_stat *s, mz_out *out)
{
    int n;
    const mz_stat_row *r = mz_stat_rows(s, &n);
    mz_buf b = {0};
    int ret;
    mz_buf_puts(&b, "layer\ttokens\tcv\thottest_expert\thottest_over_uniform\tentropy_norm\tgini"
                    "\tcoact_top1pct_share\tcoact_top1pct_lift\tseq_overlap_experts\txseq_overlap_experts"
                    "\tseq_share_ratio\tmi_next_bits\tct_k\tct_dedup\tct_placed\n");
    for (int i = 0; i < n; i++) {
        if (r[i].layer >= 0)
            mz_buf_printf(&b, "%d\t%llu", r[i].layer, (unsigned long long)r[i].tokens);
        else
            mz_buf_printf(&b, "all\t%llu", (unsigned long long)r[i].tokens);
        put_num(&b, r[i].cv);
        if (r[i].hottest >= 0)
            mz_buf_printf(&b, "\t%d", r[i].hottest);
        else
            mz_buf_puts(&b, "\t-");
        put_num(&b, r[i].hottest_over_uniform);
        put_num(&b, r[i].entropy_norm);
        put_num(&b, r[i].gini);
        put_num(&b, r[i].coact_share);
        put_num(&b, r[i].coact_lift);
        put_num(&b, r[i].seq_overlap);
        put_num(&b, r[i].xseq_overlap);
        put_num(&b, r[i].seq_share);
        put_num(&b, r[i].mi_next_bits);
        mz_buf_printf(&b, "\t%d", (int)r[i].ct_k);
        put_num(&b, r[i].ct_dedup);
        put_num(&b, r[i].ct_placed);
        mz_buf_puts(&b, "\n");
    }
    ret = mz_out_write(out, b.s, b.n);
    mz_buf_free(&b);
    return ret;
}

int mz_stat_write_loads(const mz_stat *s, mz_out *out)
{
    double sel = (double)s->tokens * s->k;
    mz_out_puts(out, "layer\texpert\tcount\tshare\n");
    for (int l = 0; l < s->L; l++)
        for (int e = 0; e < s->E; e++) {
            uint64_t c = s->load[(size_t)l * s->E + e];
            if (mz_out_printf(out, "%d\t%d\t%llu\t%.6f\n", s->layers[l], e, (unsigned long long)c,
                              sel > 0 ? (double)c / sel : 0.0) < 0)
                return -1;
        }
    return 0;
}

int mz_stat_write_coact(mz_stat *s, mz_out *out)
{
    int E = s->E;
    flush(s);
    fold(s);
    mz_out_puts(out, "layer\ti\tj\tcount\n");
    for (int l = 0; l < s->L; l++) {
        for (int i = 0; i < E; i++)
            for (int j = i + 1; j < E; j++)
                if (mz_out_printf(out, "%d\t%d\t%d\t%llu\n", s->layers[l], i, j,
                                  (unsigned long long)pair_tokens(s, l, i, j)) < 0)
                    return -1;
    }
    return 0;
}

void mz_stat_free(mz_stat *s)
{
    if (!s) return;
    free(s->layers);
    free(s->contig);
    free(s->placed);
    free(s->next);
    free(s->load);
    free(s->pair);
    free(s->joint);
    free(s->batch);
    free(s->bstart);
    free(s->pair16);
    free(s->joint16);
    free(s->seqc);
    free(s->seq_shared);
    free(s->ct);
    free(s->ct_placed);
    free(s->scratch);
    free(s->rowk);
    free(s->colk);
    free(s->rows);
    free(s);
}
