/* place.c: expert placement algorithms (Algorithm 1, Eq. 5, local search), activation priors, C_T report. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <gsl/gsl_randist.h>
#include <gsl/gsl_rng.h>

#include "place.h"

static const char *algo_names[MZ_PLACE_NALGO] = {"contiguous", "round-robin", "random",
                                                 "balanced",   "mozart",      "ctswap", "eplb"};

int mz_place_algorithm_parse(const char *name)
{
    for (int a = 0; a < MZ_PLACE_NALGO; a++)
        if (strcmp(name, algo_names[a]) == 0) return a;
    return -1;
}

const char *mz_place_algorithm_name(int algo)
{
    return algo >= 0 && algo < MZ_PLACE_NALGO ? algo_names[algo] : "?";
}

int mz_place_needs_priors(int algo)
{
    return algo == MZ_PLACE_BALANCED || algo == MZ_PLACE_MOZART || algo == MZ_PLACE_CTSWAP || algo == MZ_PLACE_EPLB;
}

const char *mz_place_alloc_name(int group_alloc)
{
    return group_alloc == 1 ? "exact" : group_alloc == 2 ? "heuristic" : "none";
}

void mz_place_capacity(int experts, int chiplets, int *cap)
{
    memset(cap, 0, chiplets * sizeof *cap);
    for (int e = 0; e < experts; e++) cap[(long)e * chiplets / experts]++;
}

static double now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* ---------------------------------------------------------------- priors */

#define PRIORS_HOW "place fewer layers (mz-view -l LAYERS | mz-place), fewer profiled steps (--profile), or an " \
                   "algorithm that learns nothing from the trace (contiguous, round-robin, random)"

int mz_priors_init(mz_priors *p, const mz_trace_info *t, size_t keep, unsigned long seed)
{
    return mz_priors_init_mode(p, t, keep, seed, MZ_COACT_AUTO);
}

int mz_priors_init_mode(mz_priors *p, const mz_trace_info *t, size_t keep, unsigned long seed, int mode)
{
    size_t E = t->model.experts;
    double dense = 10.0 * t->n_layers * E * E; /* C in 64 and 16 bits: 10 bytes per pair of experts and layer */
    memset(p, 0, sizeof *p);
    p->experts = (int)E;
    p->topk = t->model.topk;
    p->n_layers = t->n_layers;
    p->sparse = mode == MZ_COACT_SPARSE || (mode == MZ_COACT_AUTO && dense > (double)MZ_COACT_DENSE_BYTES);
    if (!p->sparse) {
        char what[160];
        snprintf(what, sizeof what, "co-activation priors for %d layer%s x %zu experts (10 bytes per pair of experts and layer)",
                 t->n_layers, t->n_layers == 1 ? "" : "s", E);
        if (mz_check_table(dense, what, PRIORS_HOW) < 0) return -1;
        p->coact = mz_calloc((size_t)p->n_layers * E * E, sizeof *p->coact);
    } else {
        p->hash = mz_calloc(p->n_layers, sizeof *p->hash);
    }
    p->load = mz_calloc((size_t)p->n_layers * E, sizeof *p->load);
    p->keep = keep;
    if (keep) { /* p->ids grows with the sample, up to keep tokens */
        p->rng = gsl_rng_alloc(gsl_rng_mt19937);
        gsl_rng_set(p->rng, seed);
    }
    return 0;
}

/* ---- sparse co-activation: one open-addressing hash of pairs per layer */

#define SLOT_KEY(x) ((uint32_t)((x) >> 32))
#define SLOT_EMPTY UINT64_MAX

static size_t pair_slot(const mz_pairhash *h, uint32_t key)
{
    size_t mask = h->cap - 1, i = (size_t)(key * 2654435761u) & mask;
    while (h->slot[i] != SLOT_EMPTY && SLOT_KEY(h->slot[i]) != key) i = (i + 1) & mask;
    return i;
}

/* Room for one more pair in h (at most 3/4 full); 0, or -1 and the error
 * when the hashes would exceed MZ_MAX_TABLE_BYTES. */
static int pair_room(mz_priors *p, mz_pairhash *h)
{
    size_t cap = h->cap ? 2 * h->cap : 1024, old = h->cap;
    uint64_t *slot = h->slot;
    if (4 * (h->n + 1) <= 3 * h->cap) return 0;
    if (mz_check_table(p->sparse_bytes + 8.0 * (cap - old),
                       "co-activation pairs of the profiled tokens (8 bytes per hash slot)", PRIORS_HOW) < 0)
        return -1;
    p->sparse_bytes += 8.0 * (cap - old);
    h->slot = mz_malloc(cap * sizeof *h->slot);
    memset(h->slot, 0xff, cap * sizeof *h->slot);
    h->cap = cap;
    for (size_t i = 0; i < old; i++)
        if (slot[i] != SLOT_EMPTY) h->slot[pair_slot(h, SLOT_KEY(slot[i]))] = slot[i];
    free(slot);
    return 0;
}

/* One more token with experts a and b (a != b). */
static int pair_add(mz_priors *p, mz_pairhash *h, int a, int b)
{
    uint32_t key = a < b ? (uint32_t)a * p->experts + b : (uint32_t)b * p->experts + a;
    size_t i;
    if (h->cap) {
        i = pair_slot(h, key);
        if (h->slot[i] != SLOT_EMPTY) {
            h->slot[i]++; /* the count cannot carry into the key: at most 2^32 - 1 tokens */
            return 0;
        }
    }
    if (pair_room(p, h) < 0) return -1;
    h->slot[pair_slot(h, key)] = (uint64_t)key << 32 | 1;
    h->n++;
    return 0;
}

/* Layer l's hash into symmetric CSR rows, and free the hash. */
static void pair_to_csr(mz_priors *p, int l)
{
    mz_pairhash *h = p->hash + l;
    mz_coact_csr *c = p->csr + l;
    size_t E = p->experts, *fill;
    c->rowptr = mz_calloc(E + 1, sizeof *c->rowptr);
    c->col = mz_malloc((2 * h->n + 1) * sizeof *c->col);
    c->val = mz_malloc((2 * h->n + 1) * sizeof *c->val);
    for (size_t s = 0; s < h->cap; s++)
        if (h->slot[s] != SLOT_EMPTY) c->rowptr[SLOT_KEY(h->slot[s]) / E + 1]++, c->rowptr[SLOT_KEY(h->slot[s]) % E + 1]++;
    for (size_t e = 0; e < E; e++) c->rowptr[e + 1] += c->rowptr[e];
    fill = mz_malloc(E * sizeof *fill);
    memcpy(fill, c->rowptr, E * sizeof *fill);
    for (size_t s = 0; s < h->cap; s++)
        if (h->slot[s] != SLOT_EMPTY) {
            size_t i = SLOT_KEY(h->slot[s]) / E, j = SLOT_KEY(h->slot[s]) % E;
            uint32_t v = (uint32_t)h->slot[s];
            c->col[fill[i]] = (uint16_t)j, c->val[fill[i]++] = v;
            c->col[fill[j]] = (uint16_t)i, c->val[fill[j]++] = v;
        }
    free(fill);
    free(h->slot);
    memset(h, 0, sizeof *h);
}

uint64_t mz_priors_coact(const mz_priors *p, int l, int i, int j)
{
    if (!p->sparse) return p->coact[((size_t)l * p->experts + i) * p->experts + j];
    for (size_t q = p->csr[l].rowptr[i]; q < p->csr[l].rowptr[i + 1]; q++)
        if (p->csr[l].col[q] == j) return p->csr[l].val[q];
    return 0;
}

/* Add the 16-bit pair counts into C's upper triangle (i < j: pairs counted
 * as (i, j) and as (j, i)) and clear them. */
static void priors_fold(mz_priors *p)
{
    size_t E = p->experts;
    if (p->coact16)
        for (int l = 0; l < p->n_layers; l++) {
            uint64_t *C = p->coact + l * E * E;
            uint16_t *c = p->coact16 + l * E * E;
            for (size_t i = 0; i < E; i++)
                for (size_t j = i + 1; j < E; j++) C[i * E + j] += (uint64_t)c[i * E + j] + c[j * E + i];
            memset(c, 0, E * E * sizeof *c);
        }
    p->since_fold = 0;
}

/* Count a block of tokens one layer at a time, so that each layer's E x E
 * matrix stays in cache while its tokens are counted: 16-bit counters in
 * rank order (a token adds at most 1 to each), folded into the 64-bit
 * upper triangle before they could overflow. */
static void priors_flush(mz_priors *p)
{
    size_t E = p->experts, k = p->topk, row = (size_t)p->n_layers * k;
    if (p->nblock == 0) return;
    if (p->sparse) {
        for (int l = 0; l < p->n_layers; l++) {
            uint64_t *V = p->load + l * E;
            for (size_t t = 0; t < p->nblock; t++) {
                const uint16_t *id = p->block + t * row + l * k;
                for (size_t a = 0; a < k; a++) {
                    V[id[a]]++;
                    for (size_t b = a + 1; b < k && !p->failed; b++)
                        if (pair_add(p, p->hash + l, id[a], id[b]) < 0) p->failed = 1;
                }
            }
        }
        p->nblock = 0;
        return;
    }
    if (!p->coact16) p->coact16 = mz_calloc((size_t)p->n_layers * E * E, sizeof *p->coact16);
    if (p->since_fold + p->nblock > UINT16_MAX) priors_fold(p);
    p->since_fold += (uint32_t)p->nblock;
    for (int l = 0; l < p->n_layers; l++) {
        uint64_t *V = p->load + l * E;
        uint16_t *C = p->coact16 + l * E * E;
        for (size_t t = 0; t < p->nblock; t++) {
            const uint16_t *id = p->block + t * row + l * k;
            for (size_t a = 0; a < k; a++) {
                uint16_t *Ci = C + id[a] * E;
                V[id[a]]++;
                for (size_t b = a + 1; b < k; b++) Ci[id[b]]++;
            }
        }
    }
    p->nblock = 0;
}

#define PRIORS_BLOCK 512

/* A uniform integer in [0, n): gsl_rng_uniform_int's numbers while n fits
 * the generator's 32 bits (its range), two draws beyond, where GSL would
 * report an error instead (after 2^32 profiled tokens). */
static uint64_t uniform_below(gsl_rng *r, uint64_t n)
{
    uint64_t x, lim;
    if (n <= 0xffffffffu) return gsl_rng_uniform_int(r, (unsigned long)n);
    lim = UINT64_MAX - UINT64_MAX % n; /* rejection keeps it uniform */
    do x = (uint64_t)gsl_rng_get(r) << 32 | gsl_rng_get(r);
    while (x >= lim);
    return x % n;
}

void mz_priors_add(mz_priors *p, const mz_token *tok)
{
    size_t row = (size_t)p->n_layers * p->topk;
    if (p->sparse && p->tokens == UINT32_MAX) { /* the sparse counts are 32-bit */
        if (!p->failed) mz_error("sparse co-activation counts are 32-bit: more than %lu profiled tokens; profile fewer "
                                 "steps (--profile)", (unsigned long)UINT32_MAX);
        p->failed = 1;
        return;
    }
    if (!p->block) p->block = mz_malloc(PRIORS_BLOCK * row * sizeof *p->block);
    memcpy(p->block + p->nblock * row, tok->ids, row * sizeof *p->block);
    if (++p->nblock == PRIORS_BLOCK) priors_flush(p);
    /* reservoir sample: every profiled token is kept with equal chance */
    if (p->keep) {
        size_t slot;
        if (p->kept == p->ids_cap && p->kept < p->keep) {
            p->ids_cap = p->ids_cap ? 2 * p->ids_cap : 1024;
            if (p->ids_cap > p->keep) p->ids_cap = p->keep;
            p->ids = mz_realloc(p->ids, p->ids_cap * row * sizeof *p->ids);
        }
        slot = p->kept < p->keep ? p->kept++ : (size_t)uniform_below(p->rng, p->tokens + 1);
        if (slot < p->keep) memcpy(p->ids + slot * row, tok->ids, row * sizeof *p->ids);
    }
    p->tokens++;
}

int mz_priors_finish(mz_priors *p)
{
    size_t E = p->experts;
    if (p->finished) return 0;
    priors_flush(p);
    if (p->failed) return -1;
    if (p->sparse) {
        p->csr = mz_calloc(p->n_layers, sizeof *p->csr);
        for (int l = 0; l < p->n_layers; l++) pair_to_csr(p, l);
        p->finished = 1;
        return 0;
    }
    priors_fold(p);
    for (int l = 0; l < p->n_layers; l++) {
        uint64_t *C = p->coact + l * E * E;
        for (size_t i = 0; i < E; i++)
            for (size_t j = i + 1; j < E; j++) C[j * E + i] = C[i * E + j];
    }
    p->finished = 1;
    return 0;
}

void mz_priors_free(mz_priors *p)
{
    free(p->load);
    free(p->coact);
    free(p->ids);
    free(p->block);
    free(p->coact16);
    for (int l = 0; l < p->n_layers; l++) {
        if (p->hash) free(p->hash[l].slot);
        if (p->csr) free(p->csr[l].rowptr), free(p->csr[l].col), free(p->csr[l].val);
    }
    free(p->hash);
    free(p->csr);
    if (p->rng) gsl_rng_free(p->rng);
    memset(p, 0, sizeof *p);
}

/* ---------------------------------------------------------------- Algorithm 1
 * Reading of the paper's pseudo-code (SPEC section 2):
 * - cluster 0 is seeded with the pair (i, j), i < j, of largest C_ij;
 *   a later cluster with the unselected expert of smallest co-activation
 *   summed over all experts selected so far (farthest-point seeding);
 * - a cluster grows by the unselected expert of largest co-activation
 *   summed over the cluster's members.
 * Sum and mean rank the candidates of one step identically (the divisor is
 * the same for all of them), so the paper's "mean" is kept exactly. Ties go
 * to the lowest expert id (for the pair: lowest i, then lowest j). Cluster
 * sizes: the first E mod nc clusters get ceil(E/nc) experts; with one
 * expert per cluster, cluster 0 takes only i of the seed pair. */
static int cmp_u64(const void *x, const void *y)
{
    uint64_t a = *(const uint64_t *)x, b = *(const uint64_t *)y;
    return (a > b) - (a < b);
}

static void sort_u64(uint64_t *w, int n)
{
    qsort(w, n, sizeof *w, cmp_u64);
}

static const uint64_t *sort_heavy;
static int cmp_heavy(const void *x, const void *y)
{
    int i = *(const int *)x, j = *(const int *)y;
    if (sort_heavy[i] != sort_heavy[j]) return sort_heavy[i] > sort_heavy[j] ? -1 : 1;
    return i - j;
}

/* Put expert x into cluster c; add its co-activations (row x of C) to the
 * running sums. */
static void cluster_add(const mz_coact_csr *C, int x, int c, int *cluster_of, uint64_t *seed, uint64_t *grow)
{
    cluster_of[x] = c;
    for (size_t q = C->rowptr[x]; q < C->rowptr[x + 1]; q++) {
        seed[C->col[q]] += C->val[q];
        grow[C->col[q]] += C->val[q];
    }
}

/* The load cap's repair of clusters cluster_of[E] (nc clusters) when some
 * are still over the cap: repeatedly take the heaviest cluster A over it
 * (ties: the lowest) and swap one of its experts a with a lighter expert b
 * of another cluster B: among the swaps that leave both A and B within the
 * cap, the one losing the least co-activation inside clusters (C may be
 * NULL: none; ties: lowest a, then b); if there is none, the swap giving
 * the lowest larger load of the two (then the least loss), if that is below
 * A's load. A cluster no swap lowers is left as it is, and the next one
 * over the cap is taken. Each swap puts two loads below the larger of the
 * two before, so the loads sorted fall in lexicographic order and the
 * repair ends. Cluster sizes stay. */
static void cap_repair(const mz_coact_csr *C, int E, int nc, const uint64_t *V, uint64_t capv, int *cluster_of)
{
    uint64_t *L = mz_calloc(nc, sizeof *L);
    char *stuck = mz_calloc(nc, 1);
    int64_t *aff = C ? mz_calloc((size_t)E * nc, sizeof *aff) : NULL; /* [x][K]: x's co-activation with cluster K */
    for (int e = 0; e < E; e++) L[cluster_of[e]] += V[e];
    if (C)
        for (int x = 0; x < E; x++)
            for (size_t q = C->rowptr[x]; q < C->rowptr[x + 1]; q++)
                aff[(size_t)x * nc + cluster_of[C->col[q]]] += (int64_t)C->val[q];
    for (long round = 0; round < (long)E * E * nc; round++) {
        int A = -1, ba = -1, bb = -1, bclass = 3;
        int64_t bloss = 0;
        uint64_t bmax = 0;
        for (int K = 0; K < nc; K++)
            if (!stuck[K] && L[K] > capv && (A < 0 || L[K] > L[A])) A = K;
        if (A < 0) break;
        for (int a = 0; a < E; a++) {
            if (cluster_of[a] != A) continue;
            for (int b = 0; b < E; b++) {
                int B = cluster_of[b], cls;
                uint64_t na, nb, mx;
                int64_t loss = 0;
                if (B == A || V[b] >= V[a]) continue;
                na = L[A] - V[a] + V[b], nb = L[B] - V[b] + V[a], mx = na > nb ? na : nb;
                cls = na <= capv && nb <= capv ? 1 : mx < L[A] ? 2 : 3;
                if (cls == 3 || cls > bclass || (cls == 2 && bclass == 2 && mx > bmax)) continue;
                if (C) {
                    int64_t cab = 0;
                    for (size_t q = C->rowptr[a]; q < C->rowptr[a + 1]; q++)
                        if (C->col[q] == b) cab = (int64_t)C->val[q];
                    /* before: a with A, b with B; after: b with A but a, a with B but b */
                    loss = aff[(size_t)a * nc + A] + aff[(size_t)b * nc + B] -
                           (aff[(size_t)b * nc + A] - cab) - (aff[(size_t)a * nc + B] - cab);
                }
                if (cls < bclass || (cls == 2 && mx < bmax) || loss < bloss)
                    bclass = cls, bmax = mx, bloss = loss, ba = a, bb = b;
            }
        }
        if (ba < 0) {
            stuck[A] = 1;
            continue;
        }
        {
            int B = cluster_of[bb];
            L[A] += V[bb] - V[ba], L[B] += V[ba] - V[bb];
            if (C) {
                for (size_t q = C->rowptr[ba]; q < C->rowptr[ba + 1]; q++) {
                    aff[(size_t)C->col[q] * nc + A] -= (int64_t)C->val[q];
                    aff[(size_t)C->col[q] * nc + B] += (int64_t)C->val[q];
                }
                for (size_t q = C->rowptr[bb]; q < C->rowptr[bb + 1]; q++) {
                    aff[(size_t)C->col[q] * nc + B] -= (int64_t)C->val[q];
                    aff[(size_t)C->col[q] * nc + A] += (int64_t)C->val[q];
                }
            }
            cluster_of[ba] = B, cluster_of[bb] = A;
        }
    }
    free(L);
    free(stuck);
    free(aff);
}

/* With a load cap (capv: the largest cluster load, in selections of V;
 * UINT64_MAX for none) the candidates of a step are tried in three tiers:
 * (1) those that fit: adding one keeps the cluster within the cap, and the
 * experts left could still fit the clusters after this one, taking the
 * heaviest ones into this cluster's remaining places (the load left over is
 * then at most the cap times the clusters to come); (2) if none fits, those
 * within the cap; (3) if none is, the least-loaded unselected expert (ties:
 * lowest id), and the cluster ends over the cap. Within a tier the choice
 * is Algorithm 1's. The seed pair of cluster 0 is the pair of largest C_ij
 * within the cap together (ties as above; if none co-occurs, the pair of
 * lowest i, then j, within it); if no pair is, cluster 0 is seeded as the
 * others are. Without a cap every candidate fits: plain Algorithm 1. */
typedef struct {
    const uint64_t *V;
    uint64_t capv, free_load; /* the cap; the load of the unselected experts */
    const int *heavy;         /* experts by decreasing load (ties: lowest id) */
    const int *cluster_of;
    int E;
    uint64_t top[2];          /* sums of the s - 1 and s heaviest unselected */
    int edge;                 /* the s - 1 heaviest unselected have heavy[] index below edge */
    int *rank;                /* [E]: index in heavy[] */
} cap_ctx;

/* Before a pick with s places left in the cluster and after clusters to come. */
static void cap_step(cap_ctx *k, int s)
{
    int got = 0;
    k->top[0] = k->top[1] = 0, k->edge = 0;
    for (int r = 0; r < k->E && got < s; r++) {
        int e = k->heavy[r];
        if (k->cluster_of[e] >= 0) continue;
        if (got < s - 1) k->top[0] += k->V[e], k->edge = r + 1;
        k->top[1] += k->V[e];
        got++;
    }
}

/* Tier of e (1 best) for a cluster of load cl with 'after' clusters to come. */
static int cap_tier(const cap_ctx *k, int e, uint64_t cl, int after)
{
    uint64_t v = k->V[e], others;
    if (v > k->capv || cl > k->capv - v) return 3;
    others = k->rank[e] < k->edge ? k->top[1] - v : k->top[0];
    /* the load left after this cluster, at least free_load - v - others, within after x cap */
    if ((unsigned __int128)v + others + (unsigned __int128)after * k->capv >= k->free_load) return 1;
    return 2;
}

static void cluster_run(const mz_coact_csr *C, int E, int nc, const uint64_t *V, uint64_t capv, int *cluster_of)
{
    uint64_t *seed = mz_calloc(E, sizeof *seed), *grow = mz_calloc(E, sizeof *grow), cl = 0;
    int base = E / nc, extra = E % nc, capped = capv != UINT64_MAX;
    int *heavy = NULL, *rank = NULL;
    cap_ctx k;
    for (int e = 0; e < E; e++) cluster_of[e] = -1;
    memset(&k, 0, sizeof k);
    if (capped) {
        heavy = mz_malloc(E * sizeof *heavy), rank = mz_malloc(E * sizeof *rank);
        for (int e = 0; e < E; e++) heavy[e] = e, k.free_load += V[e];
        sort_heavy = V;
        qsort(heavy, E, sizeof *heavy, cmp_heavy);
        for (int r = 0; r < E; r++) rank[heavy[r]] = r;
        k.V = V, k.capv = capv, k.heavy = heavy, k.rank = rank, k.cluster_of = cluster_of, k.E = E;
    }
    for (int c = 0; c < nc; c++) {
        int size = base + (c < extra), n = 0;
        memset(grow, 0, E * sizeof *grow);
        cl = 0;
        if (c == 0) {
            /* the pair of largest C_ij, ties to the lowest i, then j; (0, 1) if none co-occur */
            int bi = -1, bj = -1;
            uint64_t bv = 0;
            for (int i = 0; i < E; i++)
                for (size_t q = C->rowptr[i]; q < C->rowptr[i + 1]; q++) {
                    int j = C->col[q];
                    if (j > i && (C->val[q] > bv || (C->val[q] == bv && bv && (i < bi || (i == bi && j < bj)))) &&
                        (!capped || (V[i] <= capv && V[j] <= capv - V[i])))
                        bv = C->val[q], bi = i, bj = j;
                }
            for (int i = 0; i < E && bi < 0; i++)
                for (int j = i + 1; j < E && bi < 0; j++)
                    if (!capped || (V[i] <= capv && V[j] <= capv - V[i])) bi = i, bj = j;
            if (bi < 0 && E == 1) bi = bj = 0;
            if (bi >= 0) {
                cluster_add(C, bi, c, cluster_of, seed, grow);
                n++;
                if (size > 1 && bj != bi) {
                    cluster_add(C, bj, c, cluster_of, seed, grow);
                    n++;
                }
                if (capped) {
                    cl = V[bi] + (n > 1 ? V[bj] : 0);
                    k.free_load -= cl;
                }
            }
        }
        while (n < size) {
            /* the seed (n == 0): least summed co-activation with the selected; a member: most with the cluster */
            int best = -1, tier = 4;
            if (capped) cap_step(&k, size - n);
            for (int i = 0; i < E; i++) {
                int t;
                if (cluster_of[i] >= 0) continue;
                t = capped ? cap_tier(&k, i, cl, nc - c - 1) : 1;
                if (t == 3) {
                    if (tier == 3 && V[i] < V[best]) best = i;
                    if (tier == 4) best = i, tier = 3;
                    continue;
                }
                if (t < tier || (t == tier && (n == 0 ? seed[i] < seed[best] : grow[i] > grow[best])))
                    best = i, tier = t;
            }
            cluster_add(C, best, c, cluster_of, seed, grow);
            if (capped) cl += V[best], k.free_load -= V[best];
            n++;
        }
    }
    if (capped) cap_repair(C, E, nc, V, capv, cluster_of);
    free(seed);
    free(grow);
    free(heavy);
    free(rank);
}

void mz_place_cluster_csr(const mz_coact_csr *C, int E, int nc, int *cluster_of)
{
    cluster_run(C, E, nc, NULL, UINT64_MAX, cluster_of);
}

/* The dense form: its nonzero entries as CSR rows (freed by the caller). */
static void dense_to_csr(const uint64_t *C, int E, mz_coact_csr *r)
{
    size_t nz = 0;
    for (size_t i = 0; i < (size_t)E * E; i++) nz += C[i] != 0;
    r->rowptr = mz_calloc(E + 1, sizeof *r->rowptr);
    r->col = mz_malloc((nz + 1) * sizeof *r->col);
    r->val = mz_malloc((nz + 1) * sizeof *r->val);
    nz = 0;
    for (int i = 0; i < E; i++) {
        for (int j = 0; j < E; j++)
            if (C[(size_t)i * E + j] && i != j) r->col[nz] = (uint16_t)j, r->val[nz++] = C[(size_t)i * E + j];
        r->rowptr[i + 1] = nz;
    }
}

void mz_place_cluster(const uint64_t *C, int E, int nc, int *cluster_of)
{
    mz_coact_csr r;
    dense_to_csr(C, E, &r);
    mz_place_cluster_csr(&r, E, nc, cluster_of);
    free(r.rowptr);
    free(r.col);
    free(r.val);
}

int mz_place_swap_capped(uint64_t la, uint64_t lb, uint64_t va, uint64_t vb, uint64_t cap)
{
    uint64_t na = la - va + vb, nb = lb - vb + va;
    if (na <= cap && nb <= cap) return 1;
    return (na > nb ? na : nb) < (la > lb ? la : lb);
}

uint64_t mz_place_load_cap(const uint64_t *V, int E, int nc, double max_load)
{
    double total = 0, c;
    if (!(max_load > 0)) return UINT64_MAX;
    for (int e = 0; e < E; e++) total += (double)V[e];
    /* loads are integers: the largest one within max_load x total / nc (a
     * relative 1e-12 forgives the rounding of an exact product) */
    c = floor(max_load * total / nc * (1 + 1e-12));
    return c >= 18446744073709551615.0 ? UINT64_MAX - 1 : (uint64_t)c;
}

int mz_place_over_cap(const int *chip, const uint64_t *V, int E, int nc, uint64_t cap)
{
    uint64_t *cl, *w, floor_load;
    int over = 0, m = E / nc;
    if (cap == UINT64_MAX) return 0;
    cl = mz_calloc(nc, sizeof *cl);
    for (int e = 0; e < E; e++) cl[chip[e]] += V[e];
    for (int c = 0; c < nc; c++) over |= cl[c] > cap;
    free(cl);
    if (!over) return 0;
    /* the hottest expert shares a chiplet with at least m - 1 others: at
     * best the lightest ones */
    w = mz_malloc(E * sizeof *w);
    memcpy(w, V, E * sizeof *w);
    sort_u64(w, E);
    floor_load = w[E - 1];
    for (int i = 0; i < m - 1 && i < E - 1; i++) floor_load += w[i];
    free(w);
    return floor_load > cap ? 2 : 1;
}

int mz_place_cap_missed(const mz_placement *p, const mz_place_info *info, mz_buf *list, int *forced)
{
    int n = 0;
    if (forced) *forced = 0;
    for (int l = 0; l < p->n_layers; l++)
        if (info[l].over_cap) {
            if (list) mz_buf_printf(list, "%s%d", n ? "," : "", p->layers[l]);
            if (forced) *forced += info[l].over_cap == 2;
            n++;
        }
    return n;
}

/* ---------------------------------------------------------------- Eq. 5
 * Clusters go to groups; each group needs as many clusters of each size as
 * it has chiplets of that capacity. Objective (lexicographic): the largest
 * deviation of a group's load from the even share, then the sum of squared
 * deviations, both in integers scaled by the group count (|G*L_g - T|).
 * The largest deviation is the norm because groups work in parallel and the
 * step waits for the busiest one; it is also what --report prints.
 *
 * Exact search: depth-first branch and bound over clusters in decreasing
 * load. Groups that need the same sizes are interchangeable, so a cluster
 * may open only the lowest-numbered empty group of its kind (each partition
 * is visited once: 2,627,625 leaves for 16 clusters in 4 groups before
 * pruning). A group's final load lies between its load plus the smallest
 * and plus the largest remaining clusters it still has room for; a node is
 * pruned when those intervals cannot beat the incumbent. The incumbent
 * starts as the better of a greedy packing (heaviest cluster to the
 * least-loaded group with room) refined by pairwise swaps, and the given
 * initial assignment. The search also ends when every group deviates by
 * the least an integer load allows (|G*L - T| >= min(T mod G, G - T mod G)).
 * With a node budget it may stop early: the result is then the best found
 * (never worse than the incumbent) and is reported as heuristic. */
typedef struct {
    int n, G, ncls;
    const uint64_t *load;
    uint64_t total;
    int *order;          /* clusters by decreasing load, ties by index */
    int *cls;            /* size class of each cluster */
    int *need;           /* [G * ncls]: clusters of each class a group takes */
    int *cnt;            /* [G * ncls]: placed so far */
    int *gsize;          /* clusters placed per group */
    int *prev_same;      /* previous group needing the same sizes, or -1 */
    uint64_t *gload;
    int *pref_off;       /* [ncls]: offset of each class in pref */
    int *cls_len;        /* [ncls]: clusters per class */
    uint64_t *pref;      /* per class: prefix sums of its loads in search order */
    int *done;           /* [ncls]: processed clusters per class */
    int *cur, *best;     /* group of each cluster */
    uint64_t best_dev;
    double best_sq;
    long nodes, budget;
    int aborted;
    uint64_t open_dev;   /* after an abort: least bound of the nodes left open */
    uint64_t floor_dev;  /* no group can deviate less: min |G*L - T| over integers L */
    int proven;          /* the incumbent meets the floor in every group: optimal */
} alloc_ctx;

static uint64_t dist_to_share(uint64_t G, uint64_t lo, uint64_t hi, uint64_t T)
{
    if (G * hi < T) return T - G * hi;
    if (G * lo > T) return G * lo - T;
    return 0;
}

/* Lower bounds on (dev, sq) of any completion of the current state. It
 * stops as soon as dev exceeds limit (the node cannot beat an incumbent of
 * that deviation): *dev is then only known to be above limit. */
static void alloc_bound(const alloc_ctx *a, uint64_t limit, uint64_t *dev, double *sq)
{
    uint64_t d = 0;
    double s = 0;
    for (int g = 0; g < a->G; g++) {
        uint64_t lo = a->gload[g], hi = a->gload[g];
        for (int k = 0; k < a->ncls; k++) {
            int r = a->need[g * a->ncls + k] - a->cnt[g * a->ncls + k];
            if (r > 0) {
                const uint64_t *P = a->pref + a->pref_off[k];
                int dn = a->done[k], len = a->cls_len[k];
                hi += P[dn + r] - P[dn];
                lo += P[len] - P[len - r];
            }
        }
        uint64_t x = dist_to_share(a->G, lo, hi, a->total);
        if (x > d) d = x;
        s += (double)x * (double)x;
        if (d > limit) break;
    }
    *dev = d;
    *sq = s;
}

/* (dev, sq) of a complete assignment grp[] (group per cluster). */
static void alloc_value(const alloc_ctx *a, const int *grp, uint64_t *dev, double *sq)
{
    uint64_t *gl = mz_calloc(a->G, sizeof *gl), d = 0;
    double s = 0;
    for (int i = 0; i < a->n; i++) gl[grp[i]] += a->load[i];
    for (int g = 0; g < a->G; g++) {
        uint64_t x = dist_to_share(a->G, gl[g], gl[g], a->total);
        if (x > d) d = x;
        s += (double)x * (double)x;
    }
    free(gl);
    *dev = d;
    *sq = s;
}

static int better(uint64_t dev, double sq, uint64_t bdev, double bsq)
{
    return dev < bdev || (dev == bdev && sq < bsq);
}

/* bound_dev: the node's lower bound on dev (from its parent). When the
 * budget runs out, the nodes left open (this one, and the unexplored
 * children up the stack that could still beat the incumbent) fold their
 * bounds into open_dev: no allocation is better than min(incumbent,
 * open_dev), the gap reported. */
static void alloc_search(alloc_ctx *a, int pos, uint64_t bound_dev)
{
    int cand[64], nc = 0, *cand_p = cand;
    int i, k;
    if (a->aborted || a->proven) return;
    if (++a->nodes > a->budget && a->budget > 0) {
        a->aborted = 1;
        if (bound_dev < a->open_dev) a->open_dev = bound_dev;
        return;
    }
    if (pos == a->n) {
        uint64_t dev;
        double sq;
        alloc_bound(a, UINT64_MAX, &dev, &sq); /* exact at a leaf */
        if (better(dev, sq, a->best_dev, a->best_sq)) {
            a->best_dev = dev, a->best_sq = sq;
            memcpy(a->best, a->cur, a->n * sizeof *a->best);
            a->proven = dev == a->floor_dev && sq == (double)a->G * a->floor_dev * a->floor_dev;
        }
        return;
    }
    i = a->order[pos];
    k = a->cls[i];
    if (a->G > 64) cand_p = mz_malloc(a->G * sizeof *cand_p);
    for (int g = 0; g < a->G; g++) {
        if (a->cnt[g * a->ncls + k] >= a->need[g * a->ncls + k]) continue;
        if (!a->gsize[g] && a->prev_same[g] >= 0 && !a->gsize[a->prev_same[g]]) continue;
        /* insertion by (load, index): try the least-loaded group first */
        int j = nc++;
        while (j > 0 && a->gload[cand_p[j - 1]] > a->gload[g]) cand_p[j] = cand_p[j - 1], j--;
        cand_p[j] = g;
    }
    for (int c = 0; c < nc && !a->proven; c++) {
        int g = cand_p[c];
        uint64_t dev;
        double sq;
        a->gload[g] += a->load[i];
        a->cnt[g * a->ncls + k]++;
        a->gsize[g]++;
        a->done[k]++;
        a->cur[i] = g;
        if (a->aborted) { /* an open child: its bound, not its subtree */
            alloc_bound(a, a->best_dev, &dev, &sq);
            if (better(dev, sq, a->best_dev, a->best_sq) && dev < a->open_dev) a->open_dev = dev;
        } else {
            alloc_bound(a, a->best_dev, &dev, &sq);
            if (better(dev, sq, a->best_dev, a->best_sq)) alloc_search(a, pos + 1, dev);
        }
        a->gload[g] -= a->load[i];
        a->cnt[g * a->ncls + k]--;
        a->gsize[g]--;
        a->done[k]--;
    }
    if (cand_p != cand) free(cand_p);
}

/* Improve grp[] by the best pairwise swap of same-size clusters in
 * different groups, until no swap improves (dev, sq). A swap changes two
 * groups only: the largest deviation of the others comes from the three
 * largest, and sq is kept exactly (128-bit integers), so a candidate costs
 * O(1), not O(groups). Ties keep the first pair (lowest i, then j). */
typedef unsigned __int128 mz_u128;

static int better128(uint64_t dev, mz_u128 sq, uint64_t bdev, mz_u128 bsq)
{
    return dev < bdev || (dev == bdev && sq < bsq);
}

/* The swap of clusters i < j, against the best (*bdev, *bsq) so far. */
static inline void refine_try(const alloc_ctx *a, const int *grp, const uint64_t *gl, const uint64_t *x,
                              const int *top, mz_u128 sq, int i, int j, uint64_t *bdev, mz_u128 *bsq, int *bi, int *bj)
{
    int gi = grp[i], gj = grp[j];
    uint64_t d = 0, li, lj, xi, xj;
    mz_u128 s;
    if (gi == gj || a->cls[i] != a->cls[j] || a->load[i] == a->load[j]) return;
    if (gi != top[0] && gj != top[0]) {
        if ((d = x[top[0]]) > *bdev) return; /* the largest deviation stays */
    } else {
        for (int t = 1; t < 3; t++)
            if (top[t] >= 0 && top[t] != gi && top[t] != gj) {
                d = x[top[t]];
                break;
            }
    }
    li = gl[gi] + a->load[j] - a->load[i];
    lj = gl[gj] + a->load[i] - a->load[j];
    xi = dist_to_share(a->G, li, li, a->total);
    xj = dist_to_share(a->G, lj, lj, a->total);
    if (xi > d) d = xi;
    if (xj > d) d = xj;
    if (d > *bdev) return;
    s = sq - (mz_u128)x[gi] * x[gi] - (mz_u128)x[gj] * x[gj] + (mz_u128)xi * xi + (mz_u128)xj * xj;
    if (better128(d, s, *bdev, *bsq)) *bdev = d, *bsq = s, *bi = i, *bj = j;
}

static void alloc_refine(const alloc_ctx *a, int *grp)
{
    uint64_t *gl = mz_calloc(a->G, sizeof *gl), *x = mz_calloc(a->G, sizeof *x);
    int *topm = mz_malloc((a->n + 1) * sizeof *topm), ntop, pt;
    for (int i = 0; i < a->n; i++) gl[grp[i]] += a->load[i];
    for (;;) {
        int bi = -1, bj = -1, top[3] = {-1, -1, -1};
        uint64_t dev = 0, bdev;
        mz_u128 sq = 0, bsq;
        for (int g = 0; g < a->G; g++) {
            x[g] = dist_to_share(a->G, gl[g], gl[g], a->total);
            sq += (mz_u128)x[g] * x[g];
            if (x[g] > dev) dev = x[g];
            /* the three largest deviations, first-come on ties */
            for (int t = 0; t < 3; t++)
                if (top[t] < 0 || x[g] > x[top[t]]) {
                    for (int u = 2; u > t; u--) top[u] = top[u - 1];
                    top[t] = g;
                    break;
                }
        }
        bdev = dev, bsq = sq;
        ntop = 0, pt = 0;
        for (int j = 0; j < a->n; j++)
            if (grp[j] == top[0]) topm[ntop++] = j;
        for (int i = 0; i < a->n; i++) {
            while (pt < ntop && topm[pt] <= i) pt++;
            if (grp[i] != top[0] && x[top[0]] > bdev) {
                /* bdev only falls: a pair outside top[0]'s group keeps
                 * its deviation and is skipped, so only those with it */
                for (int q = pt; q < ntop; q++) refine_try(a, grp, gl, x, top, sq, i, topm[q], &bdev, &bsq, &bi, &bj);
                continue;
            }
            for (int j = i + 1; j < a->n; j++) refine_try(a, grp, gl, x, top, sq, i, j, &bdev, &bsq, &bi, &bj);
        }
        if (bi < 0) break;
        gl[grp[bi]] += a->load[bj] - a->load[bi];
        gl[grp[bj]] += a->load[bi] - a->load[bj];
        {
            int t = grp[bi];
            grp[bi] = grp[bj];
            grp[bj] = t;
        }
    }
    free(gl);
    free(x);
    free(topm);
}

static const uint64_t *sort_load;
static int cmp_by_load(const void *x, const void *y)
{
    int i = *(const int *)x, j = *(const int *)y;
    if (sort_load[i] != sort_load[j]) return sort_load[i] > sort_load[j] ? -1 : 1;
    return i - j;
}

long mz_place_alloc_budget(long budget, int G)
{
    double b;
    if (budget <= 0 || G <= 4) return budget;
    b = (double)budget * 16 / ((double)G * G);
    return b < 1 ? 1 : (long)b;
}

int mz_place_allocate(int n, int G, const uint64_t *load, const int *size, const int *cap, long budget,
                      const int *init, int *chiplet, mz_alloc_stats *st)
{
    alloc_ctx a;
    int *val = mz_malloc(n * sizeof *val), nval = 0, ret = -1, m;
    int *greedy = mz_malloc(n * sizeof *greedy), *used = NULL;
    memset(&a, 0, sizeof a);
    if (n < 1 || G < 1 || n % G) {
        mz_error("%d clusters cannot fill %d equal groups", n, G);
        free(val);
        free(greedy);
        return -1;
    }
    m = n / G;
    /* size classes: the distinct capacities */
    for (int c = 0; c < n; c++) {
        int v = 0;
        while (v < nval && val[v] != cap[c]) v++;
        if (v == nval) val[nval++] = cap[c];
    }
    a.n = n, a.G = G, a.ncls = nval, a.load = load, a.budget = mz_place_alloc_budget(budget, G);
    a.cls = mz_malloc(n * sizeof *a.cls);
    a.need = mz_calloc((size_t)G * nval, sizeof *a.need);
    a.cnt = mz_calloc((size_t)G * nval, sizeof *a.cnt);
    a.gsize = mz_calloc(G, sizeof *a.gsize);
    a.prev_same = mz_malloc(G * sizeof *a.prev_same);
    a.gload = mz_calloc(G, sizeof *a.gload);
    a.pref_off = mz_calloc(nval, sizeof *a.pref_off);
    a.cls_len = mz_calloc(nval, sizeof *a.cls_len);
    a.pref = mz_calloc((size_t)n + nval, sizeof *a.pref);
    a.done = mz_calloc(nval, sizeof *a.done);
    a.order = mz_malloc(n * sizeof *a.order);
    a.cur = mz_malloc(n * sizeof *a.cur);
    a.best = mz_malloc(n * sizeof *a.best);
    for (int c = 0; c < n; c++) {
        int v = 0;
        while (val[v] != cap[c]) v++;
        a.need[(c / m) * nval + v]++;
    }
    for (int i = 0; i < n; i++) {
        int v = 0;
        while (v < nval && val[v] != size[i]) v++;
        if (v == nval) {
            mz_error("cluster %d has %d experts, but no chiplet has that capacity", i, size[i]);
            goto done;
        }
        a.cls[i] = v;
        a.cls_len[v]++;
        a.total += load[i];
    }
    for (int v = 0; v < nval; v++) {
        int slots = 0;
        for (int g = 0; g < G; g++) slots += a.need[g * nval + v];
        if (slots != a.cls_len[v]) {
            mz_error("%d clusters of %d experts for %d chiplets of that capacity", a.cls_len[v], val[v], slots);
            goto done;
        }
        if (v) a.pref_off[v] = a.pref_off[v - 1] + a.cls_len[v - 1] + 1;
    }
    for (int g = 0; g < G; g++) {
        a.prev_same[g] = -1;
        for (int h = g - 1; h >= 0 && a.prev_same[g] < 0; h--)
            if (memcmp(a.need + h * nval, a.need + g * nval, nval * sizeof *a.need) == 0) a.prev_same[g] = h;
    }
    for (int i = 0; i < n; i++) a.order[i] = i;
    sort_load = load;
    qsort(a.order, n, sizeof *a.order, cmp_by_load);
    {
        int *fill = mz_calloc(nval, sizeof *fill);
        for (int p = 0; p < n; p++) {
            int i = a.order[p], v = a.cls[i];
            a.pref[a.pref_off[v] + fill[v] + 1] = a.pref[a.pref_off[v] + fill[v]] + load[i];
            fill[v]++;
        }
        free(fill);
    }

    /* incumbent: greedy + swaps, or the given assignment + swaps */
    {
        int *room = mz_malloc((size_t)G * nval * sizeof *room);
        uint64_t *gl = mz_calloc(G, sizeof *gl), dev;
        double sq;
        memcpy(room, a.need, (size_t)G * nval * sizeof *room);
        for (int p = 0; p < n; p++) {
            int i = a.order[p], bg = -1;
            for (int g = 0; g < G; g++)
                if (room[g * nval + a.cls[i]] > 0 && (bg < 0 || gl[g] < gl[bg])) bg = g;
            greedy[i] = bg;
            gl[bg] += load[i];
            room[bg * nval + a.cls[i]]--;
        }
        alloc_refine(&a, greedy);
        alloc_value(&a, greedy, &a.best_dev, &a.best_sq);
        memcpy(a.best, greedy, n * sizeof *a.best);
        if (init) {
            for (int i = 0; i < n; i++) greedy[i] = init[i] / m;
            alloc_refine(&a, greedy);
            alloc_value(&a, greedy, &dev, &sq);
            if (better(dev, sq, a.best_dev, a.best_sq)) {
                a.best_dev = dev, a.best_sq = sq;
                memcpy(a.best, greedy, n * sizeof *a.best);
            }
        }
        free(room);
        free(gl);
    }
    a.floor_dev = a.total % G < G - a.total % G ? a.total % G : G - a.total % G;
    a.proven = a.best_dev == a.floor_dev && a.best_sq == (double)G * a.floor_dev * a.floor_dev;
    a.open_dev = UINT64_MAX;
    alloc_search(&a, 0, a.floor_dev);

    /* groups to chiplets: within a group, clusters in index order take the
     * lowest free chiplet of their size */
    used = mz_calloc(n, sizeof *used);
    for (int i = 0; i < n; i++) {
        int g = a.best[i], c = g * m;
        while (used[c] || cap[c] != size[i]) c++;
        used[c] = 1;
        chiplet[i] = c;
    }
    if (st) {
        st->dev = a.best_dev;
        st->sq = a.best_sq;
        st->nodes = a.nodes;
        st->exact = !a.aborted;
        /* no allocation deviates less than lb: the floor, and after an
         * abort the least bound of the open nodes */
        st->lb = a.aborted && a.open_dev < a.best_dev ? a.open_dev : a.best_dev;
        if (st->lb < a.floor_dev) st->lb = a.floor_dev;
        st->total = a.total;
    }
    ret = 0;
done:
    free(val);
    free(greedy);
    free(used);
    free(a.cls);
    free(a.need);
    free(a.cnt);
    free(a.gsize);
    free(a.prev_same);
    free(a.gload);
    free(a.pref_off);
    free(a.cls_len);
    free(a.pref);
    free(a.done);
    free(a.order);
    free(a.cur);
    free(a.best);
    return ret;
}

/* ---------------------------------------------------------------- ctswap
 * Local search on the exact de-duplicated C_T of the sampled profiled
 * tokens, from the mozart placement. A move swaps two experts on different
 * chiplets (chiplet sizes stay). For token t let n_tX be its experts on
 * chiplet X; Z[e][X] counts e's tokens with n_tX = 0 and S[e] those where e
 * is alone on its chiplet. Swapping a (on A) with b (on B) changes the total
 * number of token copies by
 *     Z[a][B] - S[a] + Z[b][A] - S[b] + sum over tokens with both a and b
 *     of ([n_tA = 1] + [n_tB = 1]),
 * the last term being >= 0, so pairs whose first four terms are >= the best
 * change found are skipped without touching tokens. A descent takes the
 * best swap at each step (ties: lowest a, then b) until none lowers the
 * copies. Then iterated local search: 'kicks' times, make two random swaps
 * (seeded), descend again, and keep the result if it has no more copies
 * than before, else undo it. A swap across groups is allowed only if every
 * group's deviation stays within the largest one of the start. Z and S are
 * updated from the tokens of the two experts only. Finally Eq. 5 re-assigns
 * the chiplets' expert sets to groups, which can only lower the deviation. */

typedef struct {
    int E, nc, G, m, k;
    const uint16_t *ids;
    size_t stride, n;
    const uint64_t *V;
    int *chip;
    size_t *off;       /* [E + 1]: tokens of expert e are list[off[e] .. off[e+1]) */
    uint32_t *list;
    uint32_t *poff, *plist; /* mz_pairs_build: the tokens of pair (a, b) are plist[poff[q] .. poff[q+1]) */
    uint8_t *cnt;      /* [n * nc]: experts of each token on each chiplet */
    int32_t *Z, *S;
    uint64_t *gl, total, bound;
    uint64_t *cl, cbound;  /* chiplet loads and the largest allowed */
    uint64_t capv;     /* the load cap (UINT64_MAX: none) */
    int64_t copies;    /* sum over tokens of distinct chiplets */
    mz_swap_cand *cand;
    long swaps;
} swap_ctx;

/* The pair lists (place.h). */
uint32_t *mz_pairs_build(int E, int k, const uint16_t *ids, size_t stride, size_t n, const size_t *off, uint32_t **poff)
{
    size_t np = (size_t)E * (E - 1) / 2, total;
    uint32_t *list = NULL;
    int first[256], mult[256];
    *poff = NULL;
    if (E < 2 || k > 256 || np > MZ_PAIRS_MAX || (double)n * k * k > (double)MZ_PAIRS_MAX) return NULL;
    *poff = mz_calloc(np + 1, sizeof **poff);
    for (int pass = 0; pass < 2; pass++) {
        for (size_t t = 0; t < n; t++) {
            const uint16_t *id = ids + t * stride;
            for (int j = 0; j < k; j++) {
                first[j] = 1, mult[j] = 1;
                for (int i = 0; i < j && first[j]; i++)
                    if (id[i] == id[j]) first[j] = 0, mult[i]++;
            }
            for (int i = 0; i < k; i++) {
                if (!first[i]) continue;
                for (int j = i + 1; j < k; j++) {
                    int lo, hi, w;
                    size_t q;
                    if (!first[j]) continue;
                    lo = id[i] < id[j] ? i : j, hi = id[i] < id[j] ? j : i;
                    w = off[id[lo] + 1] - off[id[lo]] > off[id[hi] + 1] - off[id[hi]] ? mult[hi] : mult[lo];
                    q = mz_pair_at(E, id[lo], id[hi]);
                    if (pass == 0)
                        (*poff)[q + 1] += (uint32_t)w;
                    else
                        while (w--) list[(*poff)[q]++] = (uint32_t)t;
                }
            }
        }
        if (pass == 0) {
            for (size_t q = 0; q < np; q++) (*poff)[q + 1] += (*poff)[q];
            total = (*poff)[np];
            list = mz_malloc((total + 1) * sizeof *list);
        } else { /* the fill moved each start to the next's: move them back */
            for (size_t q = np; q > 0; q--) (*poff)[q] = (*poff)[q - 1];
            (*poff)[0] = 0;
        }
    }
    return list;
}


#define TOK(x, t) ((x)->ids + (size_t)(t) * (x)->stride)

static int cmp_cand(const void *x, const void *y)
{
    const mz_swap_cand *p = x, *q = y;
    if (p->delta != q->delta) return p->delta < q->delta ? -1 : 1;
    if (p->a != q->a) return p->a - q->a;
    return p->b - q->b;
}

/* The candidate heap (place.h). */
static void cand_sift(mz_swap_cand *h, size_t n, size_t i)
{
    for (;;) {
        size_t l = 2 * i + 1, m = i;
        if (l < n && cmp_cand(h + l, h + m) < 0) m = l;
        if (l + 1 < n && cmp_cand(h + l + 1, h + m) < 0) m = l + 1;
        if (m == i) return;
        mz_swap_cand t = h[i];
        h[i] = h[m], h[m] = t;
        i = m;
    }
}

void mz_cand_heapify(mz_swap_cand *h, size_t n)
{
    for (size_t i = n / 2; i-- > 0;) cand_sift(h, n, i);
}

/* The least candidate, removed from the heap of *n. */
mz_swap_cand mz_cand_pop(mz_swap_cand *h, size_t *n)
{
    mz_swap_cand top = h[0];
    h[0] = h[--*n];
    cand_sift(h, *n, 0);
    return top;
}


/* May a and b swap without a group leaving the allowed deviation? */
static int swap_allowed(const swap_ctx *x, int a, int b)
{
    int A = x->chip[a], B = x->chip[b];
    uint64_t la, lb;
    if (A == B) return 0;
    if (x->cl[A] - x->V[a] + x->V[b] > x->cbound || x->cl[B] - x->V[b] + x->V[a] > x->cbound) return 0;
    if (!mz_place_swap_capped(x->cl[A], x->cl[B], x->V[a], x->V[b], x->capv)) return 0;
    if (A / x->m == B / x->m) return 1;
    la = x->gl[A / x->m] - x->V[a] + x->V[b];
    lb = x->gl[B / x->m] - x->V[b] + x->V[a];
    return dist_to_share(x->G, la, la, x->total) <= x->bound && dist_to_share(x->G, lb, lb, x->total) <= x->bound;
}

static int swap_base(const swap_ctx *x, int a, int b)
{
    int A = x->chip[a], B = x->chip[b];
    return x->Z[(size_t)a * x->nc + B] - x->S[a] + x->Z[(size_t)b * x->nc + A] - x->S[b];
}

/* The tokens with both a and b (a < b): the correction to swap_base. */
static int swap_corr(const swap_ctx *x, int a, int b)
{
    int A = x->chip[a], B = x->chip[b], d = 0;
    if (x->poff) {
        size_t q = mz_pair_at(x->E, a, b);
        for (uint32_t p = x->poff[q]; p < x->poff[q + 1]; p++) {
            size_t t = x->plist[p];
            d += (x->cnt[t * x->nc + A] == 1) + (x->cnt[t * x->nc + B] == 1);
        }
        return d;
    }
    if (x->off[a + 1] - x->off[a] > x->off[b + 1] - x->off[b]) {
        int t = a;
        a = b, b = t;
    }
    /* the tokens of a that have b: both lists are in token order, so a
     * merge finds them (each entry of a's list once, as the scan of the
     * token's experts did) without reading the tokens */
    const uint32_t *pb = x->list + x->off[b], *eb = x->list + x->off[b + 1];
    for (size_t p = x->off[a]; p < x->off[a + 1] && pb < eb; p++) {
        size_t t = x->list[p];
        while (pb < eb && *pb < t) pb++;
        if (pb < eb && *pb == t) d += (x->cnt[t * x->nc + A] == 1) + (x->cnt[t * x->nc + B] == 1);
    }
    return d;
}

/* Swap a and b: update counts, Z, S, group loads and copies from the
 * tokens of a or b (each once: a merge of the two sorted lists). */
static void swap_apply(swap_ctx *x, int a, int b)
{
    int A = x->chip[a], B = x->chip[b], nc = x->nc;
    size_t p = x->off[a], q = x->off[b], pe = x->off[a + 1], qe = x->off[b + 1];
    while (p < pe || q < qe) {
        size_t t;
        uint8_t *ct;
        const uint16_t *id;
        if (q >= qe || (p < pe && x->list[p] <= x->list[q])) {
            t = x->list[p++];
            if (q < qe && x->list[q] == t) q++;
        } else {
            t = x->list[q++];
        }
        ct = x->cnt + t * nc;
        id = TOK(x, t);
        x->copies -= (ct[A] > 0) + (ct[B] > 0);
        for (int j = 0; j < x->k; j++) {
            int e = id[j];
            x->Z[(size_t)e * nc + A] -= ct[A] == 0;
            x->Z[(size_t)e * nc + B] -= ct[B] == 0;
            x->S[e] -= ct[x->chip[e]] == 1;
        }
        for (int j = 0; j < x->k; j++) {
            if (id[j] == a) ct[A]--, ct[B]++;
            if (id[j] == b) ct[B]--, ct[A]++;
        }
        for (int j = 0; j < x->k; j++) {
            int e = id[j], ce = e == a ? B : e == b ? A : x->chip[e];
            x->Z[(size_t)e * nc + A] += ct[A] == 0;
            x->Z[(size_t)e * nc + B] += ct[B] == 0;
            x->S[e] += ct[ce] == 1;
        }
        x->copies += (ct[A] > 0) + (ct[B] > 0);
    }
    x->gl[A / x->m] += x->V[b] - x->V[a];
    x->gl[B / x->m] += x->V[a] - x->V[b];
    x->cl[A] += x->V[b] - x->V[a];
    x->cl[B] += x->V[a] - x->V[b];
    x->chip[a] = B;
    x->chip[b] = A;
    x->swaps++;
}

/* Best-improvement descent; each swap made is pushed on *log (when not
 * NULL) so that it can be undone. */
static void swap_descend(swap_ctx *x, int **log, size_t *nlog, size_t *mlog)
{
    for (;;) {
        size_t ncand = 0;
        int best = 0, ba = -1, bb = -1;
        for (int a = 0; a < x->E; a++)
            for (int b = a + 1; b < x->E; b++) {
                int d;
                if (x->chip[a] == x->chip[b] || (d = swap_base(x, a, b)) >= 0 || !swap_allowed(x, a, b)) continue;
                x->cand[ncand].delta = d, x->cand[ncand].a = a, x->cand[ncand].b = b;
                ncand++;
            }
        if (!ncand) break;
        mz_cand_heapify(x->cand, ncand);
        while (ncand && x->cand[0].delta < best) {
            mz_swap_cand c = mz_cand_pop(x->cand, &ncand);
            int d = c.delta + swap_corr(x, c.a, c.b);
            if (d < best) best = d, ba = c.a, bb = c.b;
        }
        if (ba < 0) break;
        swap_apply(x, ba, bb);
        if (log) {
            if (*nlog + 2 > *mlog) *mlog = *mlog * 2 + 64, *log = mz_realloc(*log, *mlog * sizeof **log);
            (*log)[(*nlog)++] = ba;
            (*log)[(*nlog)++] = bb;
        }
    }
}

static long ctswap_layer(int E, int nc, int G, int k, const uint16_t *ids, size_t stride, size_t n,
                         const uint64_t *V, uint64_t capv, int *chip, long kicks, gsl_rng *rng)
{
    swap_ctx x;
    int *log = NULL;
    size_t nlog = 0, mlog = 0;
    memset(&x, 0, sizeof x);
    x.E = E, x.nc = nc, x.G = G, x.m = nc / G, x.k = k;
    x.n = n, x.V = V, x.chip = chip, x.capv = capv;
    {
        /* this layer's selections side by side (k a token, not every layer's): the searches read them often */
        uint16_t *lids = mz_malloc(n * k * sizeof *lids + 1);
        for (size_t t = 0; t < n; t++) memcpy(lids + t * k, ids + t * stride, k * sizeof *lids);
        x.ids = lids, x.stride = k;
    }
    x.off = mz_calloc(E + 1, sizeof *x.off);
    x.list = mz_malloc(n * k * sizeof *x.list + 1);
    x.cnt = mz_calloc(n * nc + 1, 1);
    x.Z = mz_calloc((size_t)E * nc, sizeof *x.Z);
    x.S = mz_calloc(E, sizeof *x.S);
    x.gl = mz_calloc(G, sizeof *x.gl);
    x.cl = mz_calloc(nc, sizeof *x.cl);
    x.cand = mz_malloc(((size_t)E * (E - 1) / 2 + 1) * sizeof *x.cand);
    for (size_t t = 0; t < n; t++)
        for (int j = 0; j < k; j++) x.off[TOK(&x, t)[j] + 1]++;
    for (int e = 0; e < E; e++) x.off[e + 1] += x.off[e];
    {
        size_t *fill = mz_malloc(E * sizeof *fill);
        memcpy(fill, x.off, E * sizeof *fill);
        for (size_t t = 0; t < n; t++)
            for (int j = 0; j < k; j++) x.list[fill[TOK(&x, t)[j]]++] = (uint32_t)t;
        free(fill);
    }
    x.plist = mz_pairs_build(E, k, x.ids, x.stride, n, x.off, &x.poff);
    /* Z[e][X]: e's tokens less those with an expert on X, from each token's
     * distinct chiplets (at most k of them) */
    {
        int32_t *ne = mz_calloc(E, sizeof *ne);
        int dX[256];
        for (size_t t = 0; t < n; t++) {
            uint8_t *ct = x.cnt + t * nc;
            int nd = 0;
            for (int j = 0; j < k; j++) {
                int X = chip[TOK(&x, t)[j]];
                if (ct[X]++ == 0) dX[nd++] = X;
            }
            x.copies += nd;
            for (int j = 0; j < k; j++) {
                int e = TOK(&x, t)[j];
                ne[e]++;
                for (int i = 0; i < nd; i++) x.Z[(size_t)e * nc + dX[i]]--;
                x.S[e] += ct[chip[e]] == 1;
            }
        }
        for (int e = 0; e < E; e++)
            for (int X = 0; X < nc; X++) x.Z[(size_t)e * nc + X] += ne[e];
        free(ne);
    }
    for (int e = 0; e < E; e++) x.gl[chip[e] / x.m] += V[e], x.cl[chip[e]] += V[e], x.total += V[e];
    for (int c = 0; c < nc; c++)
        if (x.cl[c] > x.cbound) x.cbound = x.cl[c];
    for (int g = 0; g < G; g++) {
        uint64_t d = dist_to_share(G, x.gl[g], x.gl[g], x.total);
        if (d > x.bound) x.bound = d;
    }

    swap_descend(&x, NULL, NULL, NULL);
    for (long r = 0; r < kicks; r++) {
        int64_t before = x.copies;
        nlog = 0;
        for (int kick = 0; kick < 2; kick++)
            for (int tries = 0; tries < 100; tries++) {
                int a = (int)gsl_rng_uniform_int(rng, E), b = (int)gsl_rng_uniform_int(rng, E);
                if (!swap_allowed(&x, a, b)) continue;
                swap_apply(&x, a, b);
                if (nlog + 2 > mlog) mlog = mlog * 2 + 64, log = mz_realloc(log, mlog * sizeof *log);
                log[nlog++] = a;
                log[nlog++] = b;
                break;
            }
        swap_descend(&x, &log, &nlog, &mlog);
        if (x.copies > before)
            while (nlog) { /* undo, last swap first */
                nlog -= 2;
                swap_apply(&x, log[nlog], log[nlog + 1]);
            }
    }
    free(log);
    free(x.off);
    free(x.list);
    free(x.cnt);
    free(x.Z);
    free(x.S);
    free(x.gl);
    free(x.cl);
    free(x.cand);
    free(x.poff);
    free((void *)x.ids);
    free(x.plist);
    return x.swaps;
}
#undef TOK

/* ---------------------------------------------------------------- placing */

/* Eq. 5 over clusters cluster_of[E] (nc clusters, sizes matching cap);
 * writes chip[E]. init: chiplet per cluster to start from, or NULL. */
static int allocate_clusters(int E, int nc, int G, const int *cluster_of, const uint64_t *V, const int *cap,
                             long budget, const int *init, int *chip, mz_alloc_stats *st)
{
    uint64_t *cl = mz_calloc(nc, sizeof *cl);
    int *size = mz_calloc(nc, sizeof *size), *to = mz_malloc(nc * sizeof *to), ret;
    for (int e = 0; e < E; e++) cl[cluster_of[e]] += V[e], size[cluster_of[e]]++;
    ret = mz_place_allocate(nc, G, cl, size, cap, budget, init, to, st);
    if (ret == 0)
        for (int e = 0; e < E; e++) chip[e] = to[cluster_of[e]];
    free(cl);
    free(size);
    free(to);
    return ret;
}

/* The allocation's distance from optimal as a group share (the units of
 * max_group_share_dev): (dev - lb) / (groups * total). */
static double alloc_gap(const mz_alloc_stats *st, int G)
{
    return st->total && st->dev > st->lb ? (double)(st->dev - st->lb) / ((double)G * st->total) : 0;
}

static const uint64_t *sort_v;
static int cmp_heavy_first(const void *x, const void *y)
{
    int i = *(const int *)x, j = *(const int *)y;
    if (sort_v[i] != sort_v[j]) return sort_v[i] > sort_v[j] ? -1 : 1;
    return i - j;
}

int mz_place_compute(mz_placement *p, const mz_priors *pr, const mz_place_opts *o, mz_place_info *info)
{
    int E = p->experts, nc = p->chiplets, G = p->groups;
    int *cap = mz_malloc(nc * sizeof *cap), *perm = mz_malloc(E * sizeof *perm);
    int *cluster = mz_malloc(E * sizeof *cluster), *ident = mz_malloc(nc * sizeof *ident);
    uint64_t *cload = mz_calloc(nc, sizeof *cload);
    gsl_rng *rng = NULL;
    int ret = -1;
    if (mz_place_needs_priors(o->algorithm) &&
        (!pr || !pr->finished || pr->experts != E || pr->n_layers != p->n_layers)) {
        mz_error("%s placement needs the activation priors of the trace", mz_place_algorithm_name(o->algorithm));
        goto done;
    }
    mz_place_capacity(E, nc, cap);
    for (int c = 0; c < nc; c++) ident[c] = c;
    if (o->algorithm == MZ_PLACE_RANDOM || o->algorithm == MZ_PLACE_CTSWAP) {
        rng = gsl_rng_alloc(gsl_rng_mt19937);
        gsl_rng_set(rng, o->seed);
    }
    for (int l = 0; l < p->n_layers; l++) {
        int *chip = p->chiplet + (size_t)l * E;
        const uint64_t *V = pr ? pr->load + (size_t)l * E : NULL;
        uint64_t capv = V ? mz_place_load_cap(V, E, nc, o->max_load) : UINT64_MAX;
        double t0 = now_seconds();
        mz_place_info li = {0, 0, 0, 0, 0};
        mz_alloc_stats st;
        switch (o->algorithm) {
        case MZ_PLACE_CONTIGUOUS:
            for (int e = 0; e < E; e++) chip[e] = (int)((long)e * nc / E);
            break;
        case MZ_PLACE_ROUND_ROBIN:
            for (int e = 0; e < E; e++) chip[e] = e % nc;
            break;
        case MZ_PLACE_RANDOM: {
            int e = 0;
            for (int i = 0; i < E; i++) perm[i] = i;
            gsl_ran_shuffle(rng, perm, E, sizeof *perm);
            for (int c = 0; c < nc; c++)
                for (int j = 0; j < cap[c]; j++) chip[perm[e++]] = c;
            break;
        }
        case MZ_PLACE_BALANCED:
            /* heaviest expert first (ties: lowest id) onto the least-loaded
             * chiplet with room (ties: lowest chiplet) */
            for (int i = 0; i < E; i++) perm[i] = i;
            sort_v = V;
            qsort(perm, E, sizeof *perm, cmp_heavy_first);
            memset(cload, 0, nc * sizeof *cload);
            memset(cluster, 0, nc * sizeof *cluster); /* experts per chiplet */
            for (int i = 0; i < E; i++) {
                int best = -1;
                for (int c = 0; c < nc; c++)
                    if (cluster[c] < cap[c] && (best < 0 || cload[c] < cload[best])) best = c;
                chip[perm[i]] = best;
                cload[best] += V[perm[i]];
                cluster[best]++;
            }
            if (capv != UINT64_MAX) cap_repair(NULL, E, nc, V, capv, chip);
            break;
        case MZ_PLACE_MOZART:
        case MZ_PLACE_CTSWAP:
            if (pr->sparse) {
                cluster_run(pr->csr + l, E, nc, V, capv, cluster);
            } else {
                mz_coact_csr r;
                dense_to_csr(pr->coact + (size_t)l * E * E, E, &r);
                cluster_run(&r, E, nc, V, capv, cluster);
                free(r.rowptr), free(r.col), free(r.val);
            }
            if (allocate_clusters(E, nc, G, cluster, V, cap, o->alloc_nodes, NULL, chip, &st) < 0) goto done;
            li.group_alloc = st.exact ? 1 : 2;
            li.gap = alloc_gap(&st, G);
            if (o->algorithm == MZ_PLACE_CTSWAP && pr->topk > 255) {
                mz_error("ctswap counts experts per chiplet in bytes: top-k %d is more than 255", pr->topk);
                goto done;
            }
            if (o->algorithm == MZ_PLACE_CTSWAP && pr->kept) {
                size_t stride = (size_t)pr->n_layers * pr->topk;
                li.swaps = ctswap_layer(E, nc, G, pr->topk, pr->ids + (size_t)l * pr->topk, stride, pr->kept, V,
                                        capv, chip, o->kicks, rng);
                /* the chiplets' expert sets are the clusters now */
                memcpy(cluster, chip, E * sizeof *cluster);
                if (allocate_clusters(E, nc, G, cluster, V, cap, o->alloc_nodes, ident, chip, &st) < 0) goto done;
                if (!st.exact) li.group_alloc = 2;
                li.gap = alloc_gap(&st, G); /* the final allocation's */
            }
            break;
        case MZ_PLACE_EPLB:
            mz_error("eplb places copies: mz_place_eplb (replica.c), not mz_place_compute");
            goto done;
        default:
            mz_error("unknown placement algorithm %d", o->algorithm);
            goto done;
        }
        li.seconds = now_seconds() - t0;
        li.over_cap = V ? mz_place_over_cap(chip, V, E, nc, capv) : 0;
        if (info) info[l] = li;
    }
    snprintf(p->algorithm, sizeof p->algorithm, "%s", mz_place_algorithm_name(o->algorithm));
    ret = mz_placement_check(p);
done:
    if (rng) gsl_rng_free(rng);
    free(cap);
    free(perm);
    free(cluster);
    free(ident);
    free(cload);
    return ret;
}

/* ---------------------------------------------------------------- evaluation */

void mz_place_eval_init(mz_place_eval *ev, const mz_placement *p, int topk)
{
    memset(ev, 0, sizeof *ev);
    ev->n_layers = p->n_layers;
    ev->topk = topk;
    ev->chiplets = p->chiplets;
    ev->groups = p->groups;
    ev->distinct = mz_calloc((size_t)p->n_layers * 2, sizeof *ev->distinct);
    ev->load = mz_calloc((size_t)p->n_layers * 2 * p->chiplets, sizeof *ev->load);
    ev->pairs = mz_calloc((size_t)p->n_layers * 4, sizeof *ev->pairs);
    ev->stamp = mz_calloc(p->chiplets, sizeof *ev->stamp);
    ev->ch = mz_calloc(p->chiplets, sizeof *ev->ch);
}

void mz_place_eval_add(mz_place_eval *ev, const mz_placement *p, const mz_token *tok, int part)
{
    int k = ev->topk, nc = ev->chiplets, *ch = ev->ch;
    uint32_t *stamps = ev->stamp;
    if (nc <= 16 && k <= 15) {
        /* up to 16 chiplets: the token's experts per chiplet as 4-bit
         * counters of one register, no scratch memory to stamp and clear */
        for (int l = 0; l < ev->n_layers; l++) {
            const int *map = p->chiplet + (size_t)l * p->experts;
            const uint16_t *id = tok->ids + (size_t)l * k;
            uint64_t *load = ev->load + ((size_t)l * 2 + part) * nc, n = 0;
            int distinct = 0, same = 0;
            for (int a = 0; a < k; a++) {
                int c = map[id[a]];
                unsigned had = (unsigned)(n >> 4 * c) & 15;
                distinct += had == 0;
                same += (int)had;
                n += (uint64_t)1 << 4 * c;
                load[c]++;
            }
            ev->distinct[(size_t)l * 2 + part] += distinct;
            ev->pairs[(size_t)l * 4 + part * 2] += same;
            ev->pairs[(size_t)l * 4 + part * 2 + 1] += (uint64_t)k * (k - 1) / 2 - same;
        }
        ev->tokens[part]++;
        return;
    }
    for (int l = 0; l < ev->n_layers; l++) {
        const int *map = p->chiplet + (size_t)l * p->experts;
        const uint16_t *id = tok->ids + (size_t)l * k;
        uint64_t *load = ev->load + ((size_t)l * 2 + part) * nc;
        uint32_t stamp = ++ev->serial;
        int distinct = 0, same = 0;
        if (stamp == 0) { /* wrapped: restart the stamps */
            memset(stamps, 0, nc * sizeof *stamps);
            stamp = ev->serial = 1;
        }
        /* ch[c]: experts of this token seen so far on chiplet c (valid when stamped) */
        for (int a = 0; a < k; a++) {
            int c = map[id[a]];
            load[c]++;
            if (stamps[c] != stamp) stamps[c] = stamp, ch[c] = 0, distinct++;
            same += ch[c]++;
        }
        ev->distinct[(size_t)l * 2 + part] += distinct;
        ev->pairs[(size_t)l * 4 + part * 2] += same;
        ev->pairs[(size_t)l * 4 + part * 2 + 1] += (uint64_t)k * (k - 1) / 2 - same;
    }
    ev->tokens[part]++;
}

void mz_place_eval_free(mz_place_eval *ev)
{
    free(ev->distinct);
    free(ev->load);
    free(ev->pairs);
    free(ev->stamp);
    free(ev->ch);
    memset(ev, 0, sizeof *ev);
}

/* Largest |group share - 1/groups| of one layer's chiplet loads; -1 if no load. */
static double group_share_dev(const uint64_t *load, int nc, int G)
{
    double total = 0, worst = 0;
    double *gl = mz_calloc(G, sizeof *gl);
    for (int c = 0; c < nc; c++) gl[c * G / nc] += load[c], total += load[c];
    for (int g = 0; g < G && total > 0; g++) {
        double d = gl[g] / total - 1.0 / G;
        if (d < 0) d = -d;
        if (d > worst) worst = d;
    }
    free(gl);
    return total > 0 ? worst : -1;
}

static void put_num(mz_out *out, double v, int prec)
{
    if (v < 0)
        mz_out_puts(out, "\tNA");
    else if (isinf(v))
        mz_out_puts(out, "\tinf");
    else
        mz_out_printf(out, "\t%.*f", prec, v);
}

int mz_place_report_write(const mz_place_eval *ev, const mz_placement *p, const mz_place_info *info,
                          int profile_steps, int eval_steps, mz_out *out)
{
    int nc = ev->chiplets, G = ev->groups, L = ev->n_layers;
    /* per layer: ct_k ct_dedup ct_eval load_ratio dev dev_eval ratio */
    double sum[7] = {0}, seconds = 0, gap_all = 0, load_eval_sum = 0;
    int load_eval_n = 0;
    int nsum[7] = {0}, alloc_all = 0;
    uint64_t intra = 0, inter = 0;
    long swaps = 0;
    mz_out_printf(out, "#mz-place\talgorithm:%s\tchiplets:%d\tgroups:%d\tprofile_steps:%d\teval_steps:%d\n",
                  p->algorithm, nc, G, profile_steps, eval_steps);
    mz_out_puts(out, "layer\talgorithm\tgroup_alloc\tgroup_alloc_gap\ttokens_profile\ttokens_eval\tct_k\tct_dedup\tct_eval"
                     "\tmax_chiplet_load_over_mean\tmax_group_share_dev\tmax_group_share_dev_eval"
                     "\tintra_inter_ratio\tswaps\tplace_s\tmax_chiplet_load_over_mean_eval\n");
    for (int l = 0; l < L; l++) {
        const uint64_t *lp = ev->load + (size_t)l * 2 * nc;
        double v[7], total = 0, mx = 0;
        const uint64_t *pr = ev->pairs + (size_t)l * 4;
        int ga = info ? info[l].group_alloc : 0;
        for (int c = 0; c < nc; c++) {
            total += lp[c];
            if (lp[c] > mx) mx = lp[c];
        }
        v[0] = ev->tokens[0] ? ev->topk : -1;
        v[1] = ev->tokens[0] ? (double)ev->distinct[l * 2] / ev->tokens[0] : -1;
        v[2] = ev->tokens[1] ? (double)ev->distinct[l * 2 + 1] / ev->tokens[1] : -1;
        v[3] = total > 0 ? mx / (total / nc) : -1;
        v[4] = group_share_dev(lp, nc, G);
        v[5] = group_share_dev(lp + nc, nc, G);
        v[6] = pr[1] ? (double)pr[0] / pr[1] : pr[0] ? HUGE_VAL : -1;
        intra += pr[0], inter += pr[1];
        if (ga == 2 || (ga == 1 && alloc_all != 2)) alloc_all = ga;
        mz_out_printf(out, "%d\t%s\t%s", p->layers[l], p->algorithm, mz_place_alloc_name(ga));
        put_num(out, ga ? info[l].gap : -1, 6);
        if (ga && info[l].gap > gap_all) gap_all = info[l].gap;
        mz_out_printf(out, "\t%llu\t%llu", (unsigned long long)ev->tokens[0], (unsigned long long)ev->tokens[1]);
        for (int j = 0; j < 7; j++) {
            put_num(out, v[j], j >= 4 && j <= 5 ? 6 : 4);
            if (v[j] >= 0) sum[j] += v[j], nsum[j]++;
        }
        mz_out_printf(out, "\t%ld\t%.6f", info ? info[l].swaps : 0L, info ? info[l].seconds : 0.0);
        {
            double te = 0, me = 0;
            for (int c = 0; c < nc; c++) {
                te += lp[nc + c];
                if (lp[nc + c] > me) me = lp[nc + c];
            }
            put_num(out, te > 0 ? me / (te / nc) : -1, 4);
            if (te > 0) load_eval_sum += me / (te / nc), load_eval_n++;
            mz_out_puts(out, "\n");
        }
        if (info) swaps += info[l].swaps, seconds += info[l].seconds;
    }
    mz_out_printf(out, "all\t%s\t%s", p->algorithm, mz_place_alloc_name(alloc_all));
    put_num(out, alloc_all ? gap_all : -1, 6); /* the largest layer's */
    mz_out_printf(out, "\t%llu\t%llu", (unsigned long long)ev->tokens[0], (unsigned long long)ev->tokens[1]);
    /* the all row: means of the layer rows, but the pooled pair ratio */
    for (int j = 0; j < 6; j++) put_num(out, nsum[j] == L && L ? sum[j] / L : -1, j >= 4 ? 6 : 4);
    put_num(out, inter ? (double)intra / inter : intra ? HUGE_VAL : -1, 4);
    mz_out_printf(out, "\t%ld\t%.6f", swaps, seconds);
    put_num(out, load_eval_n == L && L ? load_eval_sum / L : -1, 4);
    return mz_out_puts(out, "\n") < 0 ? -1 : 0;
}

/* ---------------------------------------------------------------- files */

int mz_place_tsv_topology(const char *path, int *chiplets, int *groups)
{
    mz_in *in = mz_in_open(path);
    char *line;
    long len;
    int found = 0;
    if (!in) return -1;
    while ((len = mz_in_getline(in, &line)) >= 0 && line[0] == '#') {
        char *f[8];
        int nf;
        long c = 0, g = 0;
        if (strncmp(line, "#placement\t", 11) != 0) continue;
        nf = mz_split(line + 11, '\t', f, 8);
        for (int i = 0; i < nf; i++) {
            if (strncmp(f[i], "chiplets:", 9) == 0 &&
                mz_parse_long(f[i] + 9, 1, 65536, "#placement chiplets", &c) < 0)
                goto fail;
            if (strncmp(f[i], "groups:", 7) == 0 && mz_parse_long(f[i] + 7, 1, 65536, "#placement groups", &g) < 0)
                goto fail;
        }
        if (!c || !g) {
            /* a topology line that says half of it would leave the other half to the defaults */
            mz_error("#placement: missing field '%s'", !c ? "chiplets" : "groups");
            goto fail;
        }
        *chiplets = (int)c, *groups = (int)g;
        found = 1;
        break;
    }
    if (mz_in_failed(in)) goto fail;
    mz_in_close(in);
    return found;
fail: {
    mz_error_prefix("%s", path);
    mz_in_close(in);
    return -1;
}
}
