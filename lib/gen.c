/* gen.c: the statistical router behind mz-trace: popularity, latent topics, stickiness, top-k without repeats.
 *
 * For a token at MoE layer l with topic z, expert e has weight
 *     w_e = exp(skew * logit_e) * (1 + (exp(coact) - 1) * [topic(e) == z])
 * and the k experts are drawn one after another without replacement, each in
 * proportion to w among those not yet drawn (Plackett-Luce, the same law as
 * adding Gumbel noise to log w and taking the top k). A draw is made from the
 * mixture "base popularity (alias table) + topic bonus (small table)" and
 * redrawn when it repeats an expert, which is exact for sampling without
 * replacement; after too many redraws the rest is drawn from explicit weights.
 * Group-limited routing (DeepSeek-V3) first draws topk_groups groups in
 * proportion to their weight, then experts only from those groups.
 *
 * Cost (issue 14): a token-layer takes O(k log E) after O(E) per layer at
 * set-up. Where an explicit draw would scan more than SCAN_MAX weights in
 * all (E x the draws left, or groups x topk_groups), it draws from a Fenwick
 * tree of the weights instead of a linear scan: O(E + draws log E) instead
 * of O(E draws). Below that the linear scan stays, so that every trace of
 * the catalogue's models keeps its exact numbers (a tree sums in another
 * order and may round a draw to the next expert). */
#include <gsl/gsl_randist.h>
#include <gsl/gsl_rng.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "rng.h"
#include "trace.h"

/* Weights an explicit draw may scan linearly in all (see above). */
#define SCAN_MAX (1 << 16)

typedef struct {
    int *topic;    /* [E] topic of each expert */
    int *mstart;   /* [T+1] members of topic z: member[mstart[z] .. mstart[z+1]) */
    int *member;   /* [E] */
    double *xcum;  /* [E] cumulative topic bonus along member[] within each topic */
    double *X;     /* [T] total topic bonus */
    double *w;     /* [E] base weights */
    double W;      /* sum of w */
    double *aprob; /* [E] alias table over w */
    int *alias;
    double *gmass; /* [T * G] weight of each group under each topic (G > 1) */
} layer_tab;

struct mz_gen {
    mz_rng r;        /* the trace's draws (GSL's mt19937 numbers, inline) */
    int E, k, nl, T, G, gsize, topk_groups, weights;
    double boost, seq_stick, layer_stick;
    layer_tab *L;
    int *home;       /* [nl] topic of the current sequence per layer */
    unsigned *stamp; /* [E] == cur when drawn for this token and layer */
    unsigned cur;
    uint8_t *gallow; /* [G] */
    double *tmp;     /* [E] */
    double *fw;      /* [max(E, G) + 1] Fenwick tree of weights (large draws) */
    int *fc;         /* [max(E, G) + 1] Fenwick tree of how many may be drawn */
};

/* ---- Fenwick trees over n slots (1-based inside): weights fw, counts fc. */
static void fen_build(double *fw, int *fc, const double *w, int n)
{
    for (int i = 1; i <= n; i++) fw[i] = w[i - 1] > 0 ? w[i - 1] : 0, fc[i] = w[i - 1] >= 0;
    for (int i = 1; i <= n; i++) {
        int j = i + (i & -i);
        if (j <= n) fw[j] += fw[i], fc[j] += fc[i];
    }
}

/* Take slot i (0-based) of weight wi out of both trees. */
static void fen_remove(double *fw, int *fc, int n, int i, double wi)
{
    for (int j = i + 1; j <= n; j += j & -j) fw[j] -= wi > 0 ? wi : 0, fc[j]--;
}

static double fen_total(const double *fw, int n)
{
    double t = 0;
    for (int j = n; j > 0; j -= j & -j) t += fw[j];
    return t;
}

/* The slot where the running sum of weights first exceeds u (0-based); n if
 * rounding ran past the end. */
static int fen_find(const double *fw, int n, double u)
{
    int pos = 0, step = 1;
    while (step * 2 <= n) step *= 2;
    for (; step; step /= 2)
        if (pos + step <= n && fw[pos + step] <= u) pos += step, u -= fw[pos];
    return pos;
}

/* The j-th (0-based) slot that may be drawn. */
static int fen_nth(const int *fc, int n, int j)
{
    int pos = 0, step = 1;
    while (step * 2 <= n) step *= 2;
    for (; step; step /= 2)
        if (pos + step <= n && fc[pos + step] <= j) pos += step, j -= fc[pos];
    return pos;
}

/* One draw from tmp[0..n-1] (weights; -1: not drawable) in proportion to the
 * positive weights, uniformly among the drawable when none is positive;
 * takes the slot out of the trees. Returns the slot. */
static int fen_draw(mz_rng *r, double *fw, int *fc, double *tmp, int n, int left)
{
    double total = fen_total(fw, n);
    int e = n;
    if (total > 0) {
        e = fen_find(fw, n, mz_rng_uniform(r) * total);
        if (e >= n || !(tmp[e] > 0)) {
            /* rounding residue after many removals: rebuild the sums and draw again */
            fen_build(fw, fc, tmp, n);
            total = fen_total(fw, n);
            e = total > 0 ? fen_find(fw, n, mz_rng_uniform(r) * total) : n;
            if (e < n && !(tmp[e] > 0)) e = n;
        }
    }
    if (e >= n) e = fen_nth(fc, n, (int)mz_rng_uniform_int(r, (unsigned long)left));
    fen_remove(fw, fc, n, e, tmp[e]);
    tmp[e] = -1;
    return e;
}

/* Vose's alias method over n weights. */
static void alias_build(const double *w, int n, double *prob, int *alias)
{
    double sum = 0, *p = mz_malloc(n * sizeof *p);
    int *small = mz_malloc(n * sizeof *small), *large = mz_malloc(n * sizeof *large), ns = 0, nl = 0;
    for (int i = 0; i < n; i++) sum += w[i];
    for (int i = 0; i < n; i++) {
        p[i] = w[i] * n / sum;
        if (p[i] < 1)
            small[ns++] = i;
        else
            large[nl++] = i;
    }
    while (ns && nl) {
        int s = small[--ns], g = large[--nl];
        prob[s] = p[s];
        alias[s] = g;
        p[g] -= 1 - p[s];
        if (p[g] < 1)
            small[ns++] = g;
        else
            large[nl++] = g;
    }
    while (nl) prob[large[--nl]] = 1, alias[large[nl]] = large[nl];
    while (ns) prob[small[--ns]] = 1, alias[small[ns]] = small[ns];
    free(p);
    free(small);
    free(large);
}

static void topics_build(mz_gen *g, layer_tab *t, const mz_prior *p, int layer)
{
    int E = g->E, T = g->T;
    t->topic = mz_malloc(E * sizeof *t->topic);
    if (p->topic_layout == MZ_LAYOUT_RANDOM) {
        /* a fixed property of the model: seeded by the prior, not the trace */
        gsl_rng *r = gsl_rng_alloc(gsl_rng_mt19937);
        int *perm = mz_malloc(E * sizeof *perm);
        gsl_rng_set(r, p->topic_seed * 1000003UL + (unsigned long)layer);
        for (int e = 0; e < E; e++) perm[e] = e;
        gsl_ran_shuffle(r, perm, E, sizeof *perm);
        for (int j = 0; j < E; j++) t->topic[perm[j]] = j % T;
        free(perm);
        gsl_rng_free(r);
    } else if (p->topic_layout == MZ_LAYOUT_STRIDED) {
        for (int e = 0; e < E; e++) t->topic[e] = e % T;
    } else {
        for (int e = 0; e < E; e++) t->topic[e] = e / p->topic_size;
    }
    t->mstart = mz_calloc(T + 1, sizeof *t->mstart);
    t->member = mz_malloc(E * sizeof *t->member);
    for (int e = 0; e < E; e++) t->mstart[t->topic[e] + 1]++;
    for (int z = 0; z < T; z++) t->mstart[z + 1] += t->mstart[z];
    {
        int *fill = mz_malloc(T * sizeof *fill);
        memcpy(fill, t->mstart, T * sizeof *fill);
        for (int e = 0; e < E; e++) t->member[fill[t->topic[e]]++] = e;
        free(fill);
    }
}

static void layer_build(mz_gen *g, layer_tab *t, const mz_prior *p, int slot, int layer)
{
    int E = g->E, T = g->T;
    const double *logit = p->logit + (size_t)slot * E;
    double mx = -INFINITY;
    topics_build(g, t, p, layer);
    t->w = mz_malloc(E * sizeof *t->w);
    for (int e = 0; e < E; e++)
        if (p->skew * logit[e] > mx) mx = p->skew * logit[e];
    t->W = 0;
    for (int e = 0; e < E; e++) t->W += t->w[e] = exp(p->skew * logit[e] - mx);
    t->aprob = mz_malloc(E * sizeof *t->aprob);
    t->alias = mz_malloc(E * sizeof *t->alias);
    alias_build(t->w, E, t->aprob, t->alias);
    t->xcum = mz_malloc(E * sizeof *t->xcum);
    t->X = mz_calloc(T, sizeof *t->X);
    for (int z = 0; z < T; z++) {
        double c = 0;
        for (int j = t->mstart[z]; j < t->mstart[z + 1]; j++) t->xcum[j] = c += t->w[t->member[j]] * g->boost;
        t->X[z] = c;
    }
    if (g->G > 1) {
        t->gmass = mz_calloc((size_t)T * g->G, sizeof *t->gmass);
        if ((size_t)T * E <= 1u << 24) {
            /* in the order the catalogue's traces were made with */
            for (int z = 0; z < T; z++)
                for (int e = 0; e < E; e++)
                    t->gmass[(size_t)z * g->G + e / g->gsize] +=
                        t->w[e] * (1 + (t->topic[e] == z ? g->boost : 0));
        } else {
            /* O(E + T G): every topic's masses are the base masses plus
             * the bonus of its own members */
            double *base = mz_calloc(g->G, sizeof *base);
            for (int e = 0; e < E; e++) base[e / g->gsize] += t->w[e];
            for (int z = 0; z < T; z++) memcpy(t->gmass + (size_t)z * g->G, base, g->G * sizeof *base);
            for (int e = 0; e < E; e++) t->gmass[(size_t)t->topic[e] * g->G + e / g->gsize] += t->w[e] * g->boost;
            free(base);
        }
    }
}

int mz_gen_check(const mz_model *m, int n_layers, int topic_size)
{
    /* the prior's logits and shares for every MoE layer of the model (16
     * bytes an expert); per traced layer the generator's tables (36 bytes an
     * expert, 12 a topic and, with groups, 8 a topic and group); the draws'
     * scratch */
    double E = m->experts, G = m->groups, T = ceil(E / (topic_size > 0 ? topic_size : 1)), M = E > G ? E : G;
    double prior = 16.0 * m->n_moe * E, gen = n_layers * (36 * E + 12 * T + (G > 1 ? 8 * T * G : 0)) + 36 * E + 20 * M;
    char what[200];
    snprintf(what, sizeof what, "the routing prior (%d MoE layers) and the generator's tables (%d traced) of %d experts%s",
             m->n_moe, n_layers, m->experts, G > 1 ? " and their groups" : "");
    return mz_check_table(prior + gen, what,
                          prior > (double)MZ_MAX_TABLE_BYTES / 2
                              ? "the prior covers every MoE layer: a config with fewer MoE layers or experts"
                              : "trace fewer layers (-l LAYERS) or a model with fewer experts");
}

mz_gen *mz_gen_new(const mz_trace_info *ti, const mz_prior *p, uint64_t seed)
{
    mz_gen *g;
    if (mz_gen_check(&ti->model, ti->n_layers, p->topic_size) < 0) return NULL;
    g = mz_calloc(1, sizeof *g);
    g->E = ti->model.experts;
    g->k = ti->model.topk;
    g->nl = ti->n_layers;
    g->T = (g->E + p->topic_size - 1) / p->topic_size;
    g->G = ti->model.groups;
    g->gsize = g->E / g->G;
    g->topk_groups = ti->model.topk_groups;
    g->weights = ti->weights;
    g->boost = expm1(p->coact);
    g->seq_stick = p->seq_stick;
    g->layer_stick = p->layer_stick;
    /* mt19937 uses the low 32 bits, and seed 0 means its default 4357:
     * callers should pass seeds in 1..2^32-1 (mz-trace enforces it) */
    mz_rng_set(&g->r, (unsigned long)seed);
    g->L = mz_calloc(g->nl, sizeof *g->L);
    for (int i = 0; i < g->nl; i++) {
        int slot = mz_prior_slot(p, ti->layers[i]);
        if (slot < 0) {
            mz_error("prior has no logits for layer %d", ti->layers[i]);
            mz_gen_free(g);
            return NULL;
        }
        layer_build(g, &g->L[i], p, slot, ti->layers[i]);
    }
    g->home = mz_calloc(g->nl, sizeof *g->home);
    g->stamp = mz_calloc(g->E, sizeof *g->stamp);
    g->gallow = mz_calloc(g->G, 1);
    g->tmp = mz_malloc((g->E > g->G ? g->E : g->G) * sizeof *g->tmp);
    g->fw = mz_malloc(((size_t)(g->E > g->G ? g->E : g->G) + 1) * sizeof *g->fw);
    g->fc = mz_malloc(((size_t)(g->E > g->G ? g->E : g->G) + 1) * sizeof *g->fc);
    mz_gen_sequence(g);
    return g;
}

void mz_gen_free(mz_gen *g)
{
    if (!g) return;
    for (int i = 0; i < g->nl; i++) {
        layer_tab *t = &g->L[i];
        free(t->topic), free(t->mstart), free(t->member), free(t->xcum), free(t->X);
        free(t->w), free(t->aprob), free(t->alias), free(t->gmass);
    }
    free(g->L);
    free(g->home);
    free(g->stamp);
    free(g->gallow);
    free(g->tmp);
    free(g->fw);
    free(g->fc);
    free(g);
}

const int *mz_gen_topics(const mz_gen *g, int i) { return g->L[i].topic; }

void mz_gen_sequence(mz_gen *g)
{
    for (int i = 0; i < g->nl; i++) g->home[i] = (int)mz_rng_uniform_int(&g->r, g->T);
}

/* Draw the groups a token may use (group-limited routing). */
static void draw_groups(mz_gen *g, const layer_tab *t, int z)
{
    const double *m = t->gmass + (size_t)z * g->G;
    double left = 0;
    memset(g->gallow, 0, g->G);
    if ((size_t)g->G * g->topk_groups > SCAN_MAX) {
        for (int q = 0; q < g->G; q++) g->tmp[q] = m[q];
        fen_build(g->fw, g->fc, g->tmp, g->G);
        for (int n = 0; n < g->topk_groups; n++) g->gallow[fen_draw(&g->r, g->fw, g->fc, g->tmp, g->G, g->G - n)] = 1;
        return;
    }
    for (int q = 0; q < g->G; q++) left += m[q];
    for (int n = 0; n < g->topk_groups; n++) {
        double u = mz_rng_uniform(&g->r) * left;
        int q, last = -1;
        for (q = 0; q < g->G; q++) {
            if (g->gallow[q]) continue;
            last = q;
            if ((u -= m[q]) < 0) break;
        }
        if (q == g->G) q = last; /* rounding */
        g->gallow[q] = 1;
        left -= m[q];
    }
}

/* Draw the remaining experts exactly from explicit weights. tmp[e] is -1
 * for experts that cannot be drawn (already drawn, or outside the allowed
 * groups). When every weight left has underflowed to 0 (extreme logits or
 * --skew), the rest is drawn uniformly, so ids always stay in range. */
static int draw_exact(mz_gen *g, const layer_tab *t, int z, uint16_t *ids, int have)
{
    double left;
    int E = g->E, n = 0;
    for (int e = 0; e < E; e++) {
        if (g->stamp[e] != g->cur && (g->G == 1 || g->gallow[e / g->gsize])) {
            g->tmp[e] = t->w[e] * (1 + (t->topic[e] == z ? g->boost : 0));
            n++;
        } else {
            g->tmp[e] = -1;
        }
    }
    if ((size_t)E * (g->k - have) > SCAN_MAX) {
        /* many draws from many experts: the tree */
        fen_build(g->fw, g->fc, g->tmp, E);
        for (; have < g->k && n > 0; n--) {
            int e = fen_draw(&g->r, g->fw, g->fc, g->tmp, E, n);
            ids[have++] = (uint16_t)e;
            g->stamp[e] = g->cur;
        }
        return have;
    }
    while (have < g->k && n > 0) {
        int e, last = -1;
        /* summed afresh: subtracting drawn weights leaves rounding residue */
        left = 0;
        for (e = 0; e < E; e++)
            if (g->tmp[e] > 0) left += g->tmp[e];
        if (left > 0) {
            double u = mz_rng_uniform(&g->r) * left;
            for (e = 0; e < E; e++) {
                if (g->tmp[e] <= 0) continue;
                last = e;
                if ((u -= g->tmp[e]) < 0) break;
            }
            if (e == E) e = last; /* rounding */
        } else {
            long j = (long)mz_rng_uniform_int(&g->r, (unsigned long)n);
            for (e = 0; e < E; e++)
                if (g->tmp[e] >= 0 && j-- == 0) break;
        }
        ids[have++] = (uint16_t)e;
        g->stamp[e] = g->cur;
        g->tmp[e] = -1;
        n--;
    }
    return have;
}

void mz_gen_token(mz_gen *g, mz_token *tok)
{
    int prev = -1, k = g->k;
    for (int i = 0; i < g->nl; i++) {
        const layer_tab *t = &g->L[i];
        uint16_t *ids = tok->ids + (size_t)i * k;
        double u = mz_rng_uniform(&g->r), total;
        int z, have = 0, misses = 0;
        /* the token's topic: kept from the previous layer, its sequence's, or fresh */
        if (prev >= 0 && u < g->layer_stick)
            z = prev;
        else if (mz_rng_uniform(&g->r) < g->seq_stick)
            z = g->home[i];
        else
            z = (int)mz_rng_uniform_int(&g->r, g->T);
        prev = z;
        if (++g->cur == 0) {
            memset(g->stamp, 0, g->E * sizeof *g->stamp);
            g->cur = 1;
        }
        if (g->G > 1) draw_groups(g, t, z);
        total = t->W + t->X[z];
        while (have < k) {
            double v = mz_rng_uniform(&g->r) * total;
            int e;
            if (v < t->X[z]) {
                /* the first member whose cumulative bonus exceeds v (the last
                 * if none does): binary search, the same member as a scan */
                int lo = t->mstart[z], hi = t->mstart[z + 1] - 1;
                while (lo < hi) {
                    int mid = lo + (hi - lo) / 2;
                    if (t->xcum[mid] <= v)
                        lo = mid + 1;
                    else
                        hi = mid;
                }
                e = t->member[lo];
            } else {
                double x = (v - t->X[z]) / t->W * g->E;
                int c = (int)x;
                if (c >= g->E) c = g->E - 1;
                e = x - c < t->aprob[c] ? c : t->alias[c];
            }
            if (g->stamp[e] == g->cur || (g->G > 1 && !g->gallow[e / g->gsize])) {
                if (++misses > 8 * k) {
                    have = draw_exact(g, t, z, ids, have);
                    break;
                }
                continue;
            }
            g->stamp[e] = g->cur;
            ids[have++] = (uint16_t)e;
        }
        if (g->weights)
            for (int j = 0; j < k; j++) {
                int e = ids[j];
                tok->w[(size_t)i * k + j] =
                    (float)(t->w[e] * (1 + (t->topic[e] == z ? g->boost : 0)) / total);
            }
    }
}
