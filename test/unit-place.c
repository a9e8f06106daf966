/* unit-place.c: unit tests of lib/place.c: capacities, Algorithm 1, Eq. 5 against brute force, C_T evaluation, ctswap; and of mz_place_run (runplace.c). */
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <gsl/gsl_rng.h>

#include "../lib/place.h"
#include "unit.h"

/* A symmetric E x E matrix from the upper-triangle pairs (i, j, count). */
static void fill_coact(uint64_t *C, int E, const int (*pairs)[3], int n)
{
    memset(C, 0, (size_t)E * E * sizeof *C);
    for (int p = 0; p < n; p++) {
        C[pairs[p][0] * E + pairs[p][1]] = pairs[p][2];
        C[pairs[p][1] * E + pairs[p][0]] = pairs[p][2];
    }
}

static void test_capacity(void)
{
    int cap[16], sum = 0, g[4] = {0};
    mz_place_capacity(60, 16, cap);
    for (int c = 0; c < 16; c++) sum += cap[c], g[c / 4] += cap[c];
    CHECK(sum == 60, "60 experts on 16 chiplets: capacities sum to 60 (got %d)", sum);
    CHECK(cap[0] == 4 && cap[3] == 3 && cap[15] == 3, "capacities 4,4,4,3 per group (got %d %d %d)", cap[0],
          cap[3], cap[15]);
    CHECK(g[0] == 15 && g[1] == 15 && g[2] == 15 && g[3] == 15, "every group of 4 chiplets hosts 15 experts");
    mz_place_capacity(60, 15, cap);
    sum = 0;
    for (int c = 0; c < 15; c++) sum += cap[c] == 4;
    CHECK(sum == 15, "60 experts on 15 chiplets: 4 each");
}

/* Algorithm 1 on two matrices worked out by hand (see the comments). */
static void test_cluster(void)
{
    uint64_t C[49];
    int cl[7];
    /* 6 experts, 3 clusters of 2:
     * cluster 0 = the top pair (4,5) = 6;
     * cluster 1 seed: co-activation with {4,5}: e0 2+1, e1 0+4, e2 3+0, e3 1+2;
     *   0, 2 and 3 tie at 3 -> lowest id 0; grows by C[0][*] max over 1,2,3 = e2 (5);
     * cluster 2 seed: with {4,5,0,2}: e1 0+4+1+2 = 7, e3 1+2+0+1 = 4 -> e3; then e1. */
    static const int p6[][3] = {{0, 1, 1}, {0, 2, 5}, {0, 4, 2}, {0, 5, 1}, {1, 2, 2}, {1, 3, 3}, {1, 5, 4},
                                {2, 3, 1}, {2, 4, 3}, {3, 4, 1}, {3, 5, 2}, {4, 5, 6}};
    /* 7 experts, clusters of 3, 2, 2 (E mod nc = 1: cluster 0 is the big one):
     * the 6-expert matrix plus e6 with C[6][3] = 5, C[6][4] = C[6][5] = 1;
     * cluster 0: (4,5), grows by max over the sum with {4,5}: e1 4 -> {4,5,1};
     * cluster 1 seed: with {4,5,1}: e0 4, e2 5, e3 6, e6 2 -> e6, grows by e3 (5);
     * cluster 2: {0, 2}. */
    static const int p7[][3] = {{0, 1, 1}, {0, 2, 5}, {0, 4, 2}, {0, 5, 1}, {1, 2, 2}, {1, 3, 3}, {1, 5, 4},
                                {2, 3, 1}, {2, 4, 3}, {3, 4, 1}, {3, 5, 2}, {4, 5, 6}, {3, 6, 5}, {4, 6, 1},
                                {5, 6, 1}};
    static const int want6[6] = {1, 2, 1, 2, 0, 0}, want7[7] = {2, 0, 2, 1, 0, 0, 1};
    fill_coact(C, 6, p6, sizeof p6 / sizeof *p6);
    mz_place_cluster(C, 6, 3, cl);
    CHECK(memcmp(cl, want6, sizeof want6) == 0, "Algorithm 1, 6 experts: clusters %d%d%d%d%d%d (want 121200)",
          cl[0], cl[1], cl[2], cl[3], cl[4], cl[5]);
    fill_coact(C, 7, p7, sizeof p7 / sizeof *p7);
    mz_place_cluster(C, 7, 3, cl);
    CHECK(memcmp(cl, want7, sizeof want7) == 0,
          "Algorithm 1, 7 experts in 3 clusters: %d%d%d%d%d%d%d (want 2021001)", cl[0], cl[1], cl[2], cl[3], cl[4],
          cl[5], cl[6]);
    /* one expert per cluster: the top pair's lower id (e4), then the
     * farthest points: from {4}: e1 (0); from {4,1}: e0 (2+1), e3 (1+3),
     * e2 (3+2), e5 (6+4) */
    fill_coact(C, 6, p6, sizeof p6 / sizeof *p6);
    mz_place_cluster(C, 6, 6, cl);
    CHECK(cl[4] == 0 && cl[1] == 1 && cl[0] == 2 && cl[3] == 3 && cl[2] == 4 && cl[5] == 5,
          "Algorithm 1 with clusters of one: order 4,1,0,3,2,5 (got clusters %d%d%d%d%d%d)", cl[0], cl[1], cl[2],
          cl[3], cl[4], cl[5]);
}

/* ---- Eq. 5 against brute force */

typedef struct {
    int n, G, m;
    const uint64_t *load;
    const int *size, *cap;
    uint64_t total, best_dev;
    double best_sq;
    int *grp, *room; /* room[g * n + s]: free chiplets of capacity s in group g */
} brute;

static void brute_rec(brute *b, int i)
{
    if (i == b->n) {
        uint64_t d = 0, gl[16] = {0};
        double sq = 0;
        for (int j = 0; j < b->n; j++) gl[b->grp[j]] += b->load[j];
        for (int g = 0; g < b->G; g++) {
            uint64_t x = b->G * gl[g] > b->total ? b->G * gl[g] - b->total : b->total - b->G * gl[g];
            if (x > d) d = x;
            sq += (double)x * x;
        }
        if (d < b->best_dev || (d == b->best_dev && sq < b->best_sq)) b->best_dev = d, b->best_sq = sq;
        return;
    }
    for (int g = 0; g < b->G; g++)
        if (b->room[g * b->n + b->size[i]] > 0) {
            b->room[g * b->n + b->size[i]]--;
            b->grp[i] = g;
            brute_rec(b, i + 1);
            b->room[g * b->n + b->size[i]]++;
        }
}

/* Run the solver and brute force on one instance; 1 if they agree and the
 * solver's assignment is feasible and scored right (else a diagnostic). */
static int check_alloc(int n, int G, const uint64_t *load, const int *size, const int *cap)
{
    int chiplet[16], used[16] = {0}, ok = 1;
    uint64_t gl[16] = {0}, total = 0, d = 0;
    mz_alloc_stats st;
    brute b = {n, G, n / G, load, size, cap, 0, UINT64_MAX, 0, NULL, NULL};
    b.grp = calloc(n, sizeof *b.grp);
    b.room = calloc((size_t)G * n, sizeof *b.room);
    for (int i = 0; i < n; i++) b.total += load[i];
    for (int c = 0; c < n; c++) b.room[(c / (n / G)) * n + cap[c]]++;
    brute_rec(&b, 0);
    if (mz_place_allocate(n, G, load, size, cap, 0, NULL, chiplet, &st) < 0) ok = 0;
    for (int i = 0; ok && i < n; i++) {
        if (chiplet[i] < 0 || chiplet[i] >= n || used[chiplet[i]]++ || cap[chiplet[i]] != size[i]) ok = 0;
        else gl[chiplet[i] * G / n] += load[i];
        total += load[i];
    }
    for (int g = 0; ok && g < G; g++) {
        uint64_t x = G * gl[g] > total ? G * gl[g] - total : total - G * gl[g];
        if (x > d) d = x;
    }
    if (!ok || !st.exact || st.dev != b.best_dev || st.dev != d || st.sq != b.best_sq) {
        printf("# %d clusters in %d groups: solver dev %llu sq %.0f exact %d, brute force %llu %.0f, recomputed %llu\n",
               n, G, (unsigned long long)st.dev, st.sq, st.exact, (unsigned long long)b.best_dev, b.best_sq,
               (unsigned long long)d);
        ok = 0;
    }
    free(b.grp);
    free(b.room);
    return ok;
}

static void test_alloc(void)
{
    gsl_rng *r = gsl_rng_alloc(gsl_rng_mt19937);
    struct {
        int n, G, experts;
    } cases[] = {{4, 2, 8}, {6, 2, 12}, {6, 3, 12}, {8, 2, 16}, {8, 4, 16}, {9, 3, 18}, {12, 3, 24}, {12, 4, 24},
                 {8, 2, 30}, {8, 4, 13}, {9, 3, 31}, {12, 4, 44}, {12, 3, 16}};
    uint64_t load[16];
    int size[16], cap[16];
    gsl_rng_set(r, 7);
    for (size_t k = 0; k < sizeof cases / sizeof *cases; k++) {
        int n = cases[k].n, G = cases[k].G, ok = 1;
        mz_place_capacity(cases[k].experts, n, cap);
        /* cluster sizes: the capacities in another order */
        for (int i = 0; i < n; i++) size[i] = cap[(i * 5 + 3) % n];
        /* wide, narrow and nearly equal loads (many ties) */
        for (int rep = 0; rep < 6; rep++) {
            for (int i = 0; i < n; i++)
                load[i] = rep >= 4 ? 100 + gsl_rng_uniform_int(r, 5) : 1 + gsl_rng_uniform_int(r, rep < 2 ? 1000 : 60);
            ok &= check_alloc(n, G, load, size, cap);
        }
        CHECK(ok, "Eq. 5 = brute force optimum (dev, then sq): %d clusters (%d experts) in %d groups, 6 instances", n,
              cases[k].experts, G);
    }
    /* the paper's size: exact, and a tight node budget still gives a valid,
     * no-worse-than-the-start allocation */
    {
        int chiplet[16], init[16], ok = 1;
        mz_alloc_stats st, st2;
        uint64_t gl[4] = {0}, total = 0, d = 0;
        clock_t t0;
        double secs = 0;
        long nodes = 0;
        mz_place_capacity(128, 16, cap);
        for (int rep = 0; rep < 20; rep++) {
            for (int i = 0; i < 16; i++) load[i] = 1000 + gsl_rng_uniform_int(r, 9000);
            t0 = clock();
            mz_place_allocate(16, 4, load, cap, cap, 0, NULL, chiplet, &st);
            secs += (double)(clock() - t0) / CLOCKS_PER_SEC;
            nodes += st.nodes;
            ok &= st.exact;
        }
        CHECK(ok, "16 clusters into 4 groups: 20 random instances solved exactly (%ld nodes, %.3f s in all)", nodes,
              secs);
        for (int i = 0; i < 16; i++) init[i] = i, gl[i / 4] += load[i], total += load[i];
        for (int g = 0; g < 4; g++) {
            uint64_t x = 4 * gl[g] > total ? 4 * gl[g] - total : total - 4 * gl[g];
            if (x > d) d = x;
        }
        mz_place_allocate(16, 4, load, cap, cap, 3, init, chiplet, &st2);
        CHECK(!st2.exact && st2.dev <= d && st2.dev >= st.dev,
              "node budget 3: heuristic result (exact %d), dev %llu within [optimum %llu, start %llu]", st2.exact,
              (unsigned long long)st2.dev, (unsigned long long)st.dev, (unsigned long long)d);
        CHECK(st.lb == st.dev && st2.lb <= st.dev,
              "the stated gap: exact lb = dev (%llu); budget 3: lb %llu <= optimum %llu <= dev %llu",
              (unsigned long long)st.lb, (unsigned long long)st2.lb, (unsigned long long)st.dev,
              (unsigned long long)st2.dev);
    }
    /* the lower bound of a cut-short search never passes the optimum, and
     * it closes as the budget grows */
    {
        int chiplet[16], bad = 0, tight = 0, runs = 0;
        mz_alloc_stats ex, h;
        mz_place_capacity(128, 16, cap);
        for (int rep = 0; rep < 30; rep++) {
            for (int i = 0; i < 16; i++) load[i] = 1 + gsl_rng_uniform_int(r, rep % 2 ? 100 : 100000);
            mz_place_allocate(16, 4, load, cap, cap, 0, NULL, chiplet, &ex);
            for (long b = 1; b <= 4096; b *= 4) {
                mz_place_allocate(16, 4, load, cap, cap, b, NULL, chiplet, &h);
                runs++;
                if (h.lb > ex.dev || h.dev < ex.dev || (h.exact && h.lb != h.dev)) bad++;
                tight += h.lb == ex.dev;
            }
        }
        CHECK(!bad, "budgets 1-4096 on 30 instances: lb <= optimum <= dev in all %d runs (%d wrong)", runs, bad);
        CHECK(tight > runs / 4, "the bound reaches the optimum in %d of %d runs", tight, runs);
    }
    /* DeepSeek-V3's size, 256 clusters in 64 groups: fast, and the gap is
     * stated (lb <= dev; the greedy start plus swaps is within it) */
    {
        int n = 256, G = 64, *c256 = malloc(n * sizeof *c256), *ch = malloc(n * sizeof *ch);
        uint64_t *l256 = malloc(n * sizeof *l256);
        mz_alloc_stats st;
        clock_t t0;
        double secs;
        for (int i = 0; i < n; i++) c256[i] = 1, l256[i] = 50 + gsl_rng_uniform_int(r, i < 8 ? 2000 : 400);
        t0 = clock();
        mz_place_allocate(n, G, l256, c256, c256, 100000, NULL, ch, &st);
        secs = (double)(clock() - t0) / CLOCKS_PER_SEC;
        CHECK(!st.exact && st.lb <= st.dev && st.nodes <= mz_place_alloc_budget(100000, G) + 1 && secs < 1,
              "256 clusters in 64 groups: heuristic in %.3f s, %ld nodes (budget %ld), dev %llu, lb %llu", secs,
              st.nodes, mz_place_alloc_budget(100000, G), (unsigned long long)st.dev, (unsigned long long)st.lb);
        CHECK(mz_place_alloc_budget(100000, 4) == 100000 && mz_place_alloc_budget(100000, 8) == 25000 &&
                  mz_place_alloc_budget(100000, 64) == 390 && mz_place_alloc_budget(0, 64) == 0 &&
                  mz_place_alloc_budget(1, 64) == 1,
              "budgets scale by (4/G)^2 above 4 groups, at least 1 node, 0 unlimited");
        free(c256);
        free(ch);
        free(l256);
    }
    /* sizes that do not fit the capacities are refused */
    {
        int chiplet[4], bad[4] = {3, 3, 3, 3};
        mz_place_capacity(14, 4, cap);
        CHECK(mz_place_allocate(4, 2, load, bad, cap, 0, NULL, chiplet, NULL) < 0 && strstr(mz_errmsg(), "capacity"),
              "cluster sizes that match no chiplet are refused: %s", mz_errmsg());
    }
    gsl_rng_free(r);
}

/* ---- evaluation and algorithms on a generated trace */

static void test_eval(void)
{
    mz_trace_info t;
    mz_placement p;
    mz_place_eval ev;
    mz_token tok;
    static const uint16_t ids[3][4] = {{0, 1, 2, 3}, {0, 4, 8, 12}, {5, 6, 9, 15}};
    memset(&t, 0, sizeof t);
    CHECK(mz_model_load("qwen1.5-moe-a2.7b", &t.model) == 0, "model qwen1.5-moe-a2.7b loads");
    t.n_layers = 1;
    t.layers = malloc(sizeof *t.layers);
    t.layers[0] = 0;
    t.steps = 1, t.seqs = 1, t.seq_len = 3;
    mz_placement_init(&p, &t, 15, 3);
    mz_placement_contiguous(&p); /* expert e on chiplet e / 4 */
    mz_place_eval_init(&ev, &p, 4);
    mz_token_alloc(&t, &tok);
    for (int i = 0; i < 3; i++) {
        memcpy(tok.ids, ids[i], sizeof ids[i]);
        mz_place_eval_add(&ev, &p, &tok, i == 2);
    }
    /* token 0: one chiplet, token 1: four, token 2 (evaluation): 1,1,2,3 -> 3 */
    CHECK(ev.distinct[0] == 5 && ev.tokens[0] == 2, "profiled copies %llu over %llu tokens (want 5 over 2)",
          (unsigned long long)ev.distinct[0], (unsigned long long)ev.tokens[0]);
    CHECK(ev.distinct[1] == 3 && ev.tokens[1] == 1, "evaluation copies %llu (want 3)",
          (unsigned long long)ev.distinct[1]);
    CHECK(ev.pairs[0] == 6 && ev.pairs[1] == 6 && ev.pairs[2] == 1 && ev.pairs[3] == 5,
          "pairs on one chiplet / on two: %llu/%llu profiled, %llu/%llu evaluated (want 6/6, 1/5)",
          (unsigned long long)ev.pairs[0], (unsigned long long)ev.pairs[1], (unsigned long long)ev.pairs[2],
          (unsigned long long)ev.pairs[3]);
    mz_place_eval_free(&ev);
    mz_token_free(&tok);
    mz_placement_free(&p);
    mz_trace_info_free(&t);
}

/* C_T (copies per token) of placement row l over the priors' sampled tokens. */
static double sample_ct(const mz_priors *pr, const mz_placement *p, int l)
{
    uint64_t copies = 0;
    for (size_t t = 0; t < pr->kept; t++) {
        const uint16_t *id = pr->ids + (t * pr->n_layers + l) * pr->topk;
        int seen[64] = {0};
        for (int j = 0; j < pr->topk; j++)
            if (!seen[p->chiplet[(size_t)l * p->experts + id[j]]]++) copies++;
    }
    return (double)copies / pr->kept;
}

static void balance(const mz_placement *p, const uint64_t *V, int l, uint64_t *cmax, uint64_t *gdev)
{
    uint64_t cl[64] = {0}, gl[16] = {0}, total = 0;
    *cmax = *gdev = 0;
    for (int e = 0; e < p->experts; e++) {
        int c = p->chiplet[(size_t)l * p->experts + e];
        cl[c] += V[e], gl[mz_group_of(p, c)] += V[e], total += V[e];
    }
    for (int c = 0; c < p->chiplets; c++)
        if (cl[c] > *cmax) *cmax = cl[c];
    for (int g = 0; g < p->groups; g++) {
        uint64_t x = p->groups * gl[g] > total ? p->groups * gl[g] - total : total - p->groups * gl[g];
        if (x > *gdev) *gdev = x;
    }
}

static void test_algorithms(void)
{
    mz_trace_info t;
    mz_prior prior;
    mz_gen *g;
    mz_token tok;
    mz_priors pr;
    mz_placement pm, ps, pb;
    mz_place_opts o = {MZ_PLACE_MOZART, 1, 0, 0, 0};
    int ok = 1, better = 0, sizes_ok = 1;
    memset(&t, 0, sizeof t);
    mz_model_load("olmoe-1b-7b-0924", &t.model);
    t.n_layers = 3;
    t.layers = malloc(3 * sizeof *t.layers);
    for (int i = 0; i < 3; i++) t.layers[i] = i;
    t.steps = 1, t.seqs = 8, t.seq_len = 128, t.id_bytes = 1;
    mz_prior_builtin(&t.model, &prior);
    g = mz_gen_new(&t, &prior, 5);
    mz_token_alloc(&t, &tok);
    mz_priors_init(&pr, &t, 100000, 1);
    for (int s = 0; s < t.seqs; s++) {
        mz_gen_sequence(g);
        for (int i = 0; i < t.seq_len; i++) {
            mz_gen_token(g, &tok);
            mz_priors_add(&pr, &tok);
        }
    }
    mz_priors_finish(&pr);
    CHECK(pr.tokens == 1024 && pr.kept == 1024, "priors: %llu tokens profiled, %zu sampled",
          (unsigned long long)pr.tokens, pr.kept);
    {
        uint64_t sum = 0, sym = 1;
        for (int e = 0; e < 64; e++) sum += pr.load[e];
        for (int i = 0; i < 64; i++)
            for (int j = 0; j < 64; j++)
                if (pr.coact[i * 64 + j] != pr.coact[j * 64 + i] || (i == j && pr.coact[i * 64 + j])) sym = 0;
        CHECK(sum == 1024 * 8 && sym, "V sums to tokens x k (%llu), C symmetric with a zero diagonal",
              (unsigned long long)sum);
    }
    mz_placement_init(&pm, &t, 16, 4);
    mz_placement_init(&ps, &t, 16, 4);
    mz_placement_init(&pb, &t, 15, 3);
    CHECK(mz_place_compute(&pm, &pr, &o, NULL) == 0, "mozart places 3 layers");
    o.algorithm = MZ_PLACE_CTSWAP;
    CHECK(mz_place_compute(&ps, &pr, &o, NULL) == 0, "ctswap places 3 layers");
    o.algorithm = MZ_PLACE_BALANCED;
    CHECK(mz_place_compute(&pb, &pr, &o, NULL) == 0, "balanced places 64 experts on 15 chiplets");
    for (int l = 0; l < 3; l++) {
        uint64_t cm, gm, cs, gs;
        double ctm = sample_ct(&pr, &pm, l), cts = sample_ct(&pr, &ps, l);
        int cnt[16] = {0};
        balance(&pm, pr.load + l * 64, l, &cm, &gm);
        balance(&ps, pr.load + l * 64, l, &cs, &gs);
        if (!(cts <= ctm && cs <= cm && gs <= gm)) ok = 0;
        if (cts < ctm * 0.99) better++;
        for (int e = 0; e < 64; e++) cnt[pb.chiplet[l * 64 + e]]++;
        {
            int cap[15];
            mz_place_capacity(64, 15, cap);
            for (int c = 0; c < 15; c++)
                if (cnt[c] != cap[c]) sizes_ok = 0;
        }
    }
    CHECK(ok, "ctswap: C_T, largest chiplet load and group deviation no worse than mozart's in every layer");
    CHECK(better == 3, "ctswap: C_T at least 1%% below mozart's in %d of 3 layers", better);
    CHECK(sizes_ok, "balanced: chiplets hold the contiguous layout's expert counts");
    /* the sparse form of C: the same counts and the same placements */
    {
        mz_priors sp;
        mz_placement q;
        int same = 1, same_c = 1;
        mz_gen_free(g);
        g = mz_gen_new(&t, &prior, 5);
        mz_priors_init_mode(&sp, &t, 100000, 1, MZ_COACT_SPARSE);
        for (int s = 0; s < t.seqs; s++) {
            mz_gen_sequence(g);
            for (int i = 0; i < t.seq_len; i++) {
                mz_gen_token(g, &tok);
                mz_priors_add(&sp, &tok);
            }
        }
        CHECK(mz_priors_finish(&sp) == 0 && sp.sparse && !sp.coact, "sparse priors counted");
        for (int l = 0; l < 3; l++)
            for (int i = 0; i < 64; i++)
                for (int j = 0; j < 64; j++)
                    if (mz_priors_coact(&sp, l, i, j) != pr.coact[((size_t)l * 64 + i) * 64 + j]) same_c = 0;
        CHECK(same_c && memcmp(sp.load, pr.load, 3 * 64 * sizeof *pr.load) == 0, "sparse C and V = dense C and V");
        for (int a = 0; a < 2; a++) {
            o.algorithm = a ? MZ_PLACE_CTSWAP : MZ_PLACE_MOZART;
            mz_placement_init(&q, &t, 16, 4);
            if (mz_place_compute(&q, &sp, &o, NULL) < 0 ||
                memcmp(q.chiplet, (a ? &ps : &pm)->chiplet, 3 * 64 * sizeof *q.chiplet) != 0)
                same = 0;
            mz_placement_free(&q);
        }
        CHECK(same, "mozart and ctswap place identically from sparse and dense C");
        mz_priors_free(&sp);
    }
    mz_placement_free(&pm);
    mz_placement_free(&ps);
    mz_placement_free(&pb);
    mz_priors_free(&pr);
    mz_token_free(&tok);
    mz_gen_free(g);
    mz_prior_free(&prior);
    mz_trace_info_free(&t);
}

/* ---------------------------------------------------------------- mz_place_run (runplace.c; mz-place) */

/* A generated OLMoE trace of 2 steps x 4 sequences x 32 tokens, 3 layers, to path: its records, or -1. */
static long write_small_trace(const char *path)
{
    mz_trace_info t;
    mz_prior prior;
    mz_gen *g;
    mz_token tok;
    mz_header h = {0};
    mz_writer *w;
    uint8_t *rec;
    long n = 0;
    int failed = 0;
    memset(&t, 0, sizeof t);
    if (mz_model_load("olmoe-1b-7b-0924", &t.model) < 0) return -1;
    t.n_layers = 3;
    t.layers = malloc(3 * sizeof *t.layers);
    for (int i = 0; i < 3; i++) t.layers[i] = i;
    t.steps = 2, t.seqs = 4, t.seq_len = 32, t.id_bytes = 1;
    mz_prior_builtin(&t.model, &prior);
    g = mz_gen_new(&t, &prior, 3);
    mz_token_alloc(&t, &tok);
    rec = malloc(mz_trace_record_size(&t));
    mz_trace_info_to_header(&t, &h);
    if ((w = mz_writer_open(path, MZ_KIND_TRACE, &h, 0, 0))) {
        for (int s = 0; s < t.steps; s++)
            for (int q = 0; q < t.seqs; q++) {
                mz_gen_sequence(g);
                for (int i = 0; i < t.seq_len; i++, n++) {
                    tok.step = (uint32_t)s, tok.seq = (uint32_t)q, tok.tok = (uint32_t)i;
                    mz_gen_token(g, &tok);
                    mz_token_encode(&t, &tok, rec);
                    if (mz_writer_put(w, rec, mz_trace_record_size(&t)) < 0) failed = 1;
                }
            }
        if (mz_writer_close(w) < 0) failed = 1;
    } else {
        failed = 1;
    }
    free(rec);
    mz_header_free(&h);
    mz_token_free(&tok);
    mz_gen_free(g);
    mz_prior_free(&prior);
    mz_trace_info_free(&t);
    return failed ? -1 : n;
}

static void test_run(void)
{
    char dir[] = "/tmp/unit-place.XXXXXX", in[64], out[64], rep[64], pl[64], bad[64], pa[256] = "";
    mz_place_run_opts o;
    mz_trace_reader tr;
    long n, records = 0;
    int ret;
    FILE *fp;
    if (!mkdtemp(dir)) {
        CHECK(0, "a temporary directory");
        return;
    }
    snprintf(in, sizeof in, "%s/in.mzt", dir), snprintf(out, sizeof out, "%s/out.mzt", dir);
    snprintf(rep, sizeof rep, "%s/rep.tsv", dir), snprintf(pl, sizeof pl, "%s/p.tsv", dir);
    snprintf(bad, sizeof bad, "%s/bad.tsv", dir);
    n = write_small_trace(in);
    CHECK(n == 256, "a small trace written (%ld records)", n);

    /* a run: the trace on with the @PA line, every record, the report and the placement file */
    mz_place_run_opts_init(&o);
    o.report = rep, o.write_placement = pl, o.profile = 1;
    ret = mz_place_run(&o, in, out);
    CHECK(ret == 0, "mz_place_run: mozart on the trace (%s)", ret ? mz_errmsg() : "ok");
    if (mz_trace_open(&tr, out) == 0) {
        const mz_header *h = mz_reader_header(tr.r);
        int i = mz_header_find(h, "@PA", 0);
        if (i >= 0) snprintf(pa, sizeof pa, "%s", h->line[i]);
        while (mz_trace_next(&tr) > 0) records++;
        CHECK(mz_trace_close(&tr) == 0, "the output reads to its end");
    }
    {
        const char *want = "@PA\talgorithm:mozart\tprofile_steps:1\tprofile_tokens:128\tgroup_alloc:";
        CHECK(strncmp(pa, want, strlen(want)) == 0, "its @PA line: %s", pa);
    }
    CHECK(records == n, "the output has every record (%ld of %ld)", records, n);
    fp = fopen(rep, "r");
    CHECK(fp != NULL, "the report is written");
    if (fp) fclose(fp);

    /* the saved placement read back: the same trace, @PA from the file */
    mz_place_run_opts_init(&o);
    o.read_placement = pl;
    CHECK(mz_place_run(&o, in, out) == 0 && mz_trace_open(&tr, out) == 0, "-R: the saved placement applied");
    if (tr.r) {
        const mz_header *h = mz_reader_header(tr.r);
        int i = mz_header_find(h, "@PA", 0);
        CHECK(i >= 0 && strcmp(h->line[i], "@PA\talgorithm:file") == 0, "-R: @PA algorithm:file");
        mz_trace_close(&tr);
    }
    remove(out);

    /* errors: -1 and the message, no output made */
    mz_place_run_opts_init(&o);
    snprintf(pa, sizeof pa, "%s/missing.mzt", dir);
    CHECK(mz_place_run(&o, pa, out) < 0 && strstr(mz_errmsg(), "missing.mzt: No such file"),
          "a missing input: -1 (%s)", mz_errmsg());
    fp = fopen(bad, "w");
    if (fp) fputs("layer\texpert\tchiplet\tgroup\n0\t0\t99\t0\n", fp), fclose(fp);
    o.read_placement = bad;
    CHECK(mz_place_run(&o, in, out) < 0 && strstr(mz_errmsg(), "bad.tsv"), "a bad -R file: -1 (%s)", mz_errmsg());
    fp = fopen(out, "r");
    CHECK(fp == NULL, "nothing written on an error");
    if (fp) fclose(fp);
    o.read_placement = pl, o.algorithm_given = 1;
    CHECK(mz_place_run_check(&o) < 0 && mz_place_run(&o, in, out) < 0 &&
          strcmp(mz_errmsg(), "--read-placement excludes --write-placement and --algorithm") == 0,
          "excluded options: -1 (%s)", mz_errmsg());
    mz_place_run_opts_init(&o);
    snprintf(pa, sizeof pa, "%s/no/out.mzt", dir);
    CHECK(mz_place_run(&o, in, pa) < 0 && strstr(mz_errmsg(), "no/out.mzt"), "an output that cannot be made: -1 (%s)",
          mz_errmsg());
    snprintf(pa, sizeof pa, "%s/no/rep.tsv", dir);
    o.algorithm = "ctswap", o.report = pa;
    CHECK(mz_place_run(&o, in, out) < 0 && strstr(mz_errmsg(), "no/rep.tsv"), "a report that cannot be made: -1 (%s)",
          mz_errmsg());
    remove(out);
    mz_place_run_opts_init(&o);
    o.groups = 0;
    CHECK(mz_place_run(&o, in, out) < 0, "0 groups refused (%s)", mz_errmsg());
    remove(in), remove(rep), remove(pl), remove(bad), rmdir(dir);
}

int main(void)
{
    setenv("MZ_MODELS", "models", 0);
    test_capacity();
    test_cluster();
    test_alloc();
    test_eval();
    test_algorithms();
    test_run();
    return unit_done();
}
