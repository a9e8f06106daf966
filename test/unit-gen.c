/* unit-gen.c: unit tests of the routing prior files, of the statistics of the routing sampler and of mz-fit's and mz-trace's runs (lib/runfit.c, lib/runtrace.c). */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <gsl/gsl_rng.h>

#include "../lib/place.h"
#include "../lib/rng.h"
#include "unit.h"

static char tmpdir[] = "/tmp/mz-unit-gen-XXXXXX";

static int errmsg_has(const char *s) { return strstr(mz_errmsg(), s) != NULL; }

/* A hand-made model of n_layers MoE layers (all traced). */
static void make_info(mz_trace_info *t, int experts, int topk, int n_layers, int groups, int topk_groups)
{
    mz_model *m = &t->model;
    memset(t, 0, sizeof *t);
    snprintf(m->name, sizeof m->name, "unit");
    m->layers = n_layers;
    m->moe = mz_malloc(n_layers);
    memset(m->moe, 1, n_layers);
    m->n_moe = n_layers;
    m->experts = experts, m->topk = topk, m->hidden = 64, m->ffn = 32;
    m->heads = 4, m->kv_heads = 4, m->head_dim = 16, m->vocab = 100;
    m->groups = groups, m->topk_groups = topk_groups, m->gated = 1;
    t->steps = 1, t->seqs = 1, t->seq_len = 1;
    t->n_layers = n_layers;
    t->layers = mz_malloc(n_layers * sizeof *t->layers);
    for (int i = 0; i < n_layers; i++) t->layers[i] = i;
    t->id_bytes = experts <= 256 ? 1 : 2;
    t->weights = 1;
}

/* A prior with the same logits in every layer (NULL: all 0). */
static void make_prior(mz_prior *p, const mz_trace_info *t, const double *logit, double coact,
                       int topic_size, int layout, double seq_stick, double layer_stick)
{
    int E = t->model.experts;
    memset(p, 0, sizeof *p);
    snprintf(p->model, sizeof p->model, "unit");
    p->experts = E, p->topk = t->model.topk;
    p->n_layers = t->n_layers;
    p->layers = mz_malloc(t->n_layers * sizeof *p->layers);
    p->logit = mz_malloc((size_t)t->n_layers * E * sizeof *p->logit);
    for (int i = 0; i < t->n_layers; i++) {
        p->layers[i] = t->layers[i];
        for (int e = 0; e < E; e++) p->logit[(size_t)i * E + e] = logit ? logit[e] : 0;
    }
    p->coact = coact, p->topic_size = topic_size, p->topic_layout = layout;
    p->seq_stick = seq_stick, p->layer_stick = layer_stick;
    p->skew = 1, p->topic_seed = 1;
}

/* Exact Plackett-Luce law of the top k of E weights by enumerating every
 * ordered prefix: incl[e] += P(e among the k), pair[a * E + b] += P(first
 * a, second b). Each result is scaled by 'scale' (to average mixtures). */
static void pl_rec(const double *w, int E, int k, int depth, unsigned used, double prob, int first,
                   double *incl, double *pair)
{
    double left = 0;
    if (depth == k) return;
    for (int e = 0; e < E; e++)
        if (!(used >> e & 1)) left += w[e];
    for (int e = 0; e < E; e++) {
        double q;
        if (used >> e & 1) continue;
        q = prob * w[e] / left;
        incl[e] += q;
        if (depth == 1 && pair) pair[first * E + e] += q;
        pl_rec(w, E, k, depth + 1, used | 1u << e, q, depth == 0 ? e : first, incl, pair);
    }
}

static double sigma(double p, long n) { return sqrt(p * (1 - p) / n); }

/* Check that the sampler follows the exact Plackett-Luce law for given
 * logits and top-k, from n tokens; 'what' names the case. */
static void check_pl(const char *what, const double *logit, int E, int k, long n)
{
    mz_trace_info t;
    mz_prior p;
    mz_gen *g;
    mz_token tok;
    double w[16], incl[16] = {0}, pair[256] = {0}, mx = -1e300, Z = 0;
    long cincl[16] = {0}, cpair[256] = {0};
    int bad_incl = 0, bad_pair = 0, bad_w = 0;
    double chi2 = 0, worst = 0;
    make_info(&t, E, k, 1, 1, 1);
    make_prior(&p, &t, logit, 0, 1, MZ_LAYOUT_BLOCKED, 0, 0);
    for (int e = 0; e < E; e++)
        if (logit[e] > mx) mx = logit[e];
    for (int e = 0; e < E; e++) Z += w[e] = exp(logit[e] - mx);
    pl_rec(w, E, k, 0, 0, 1.0, -1, incl, pair);
    g = mz_gen_new(&t, &p, 42);
    mz_token_alloc(&t, &tok);
    for (long i = 0; i < n; i++) {
        mz_gen_token(g, &tok);
        for (int j = 0; j < k; j++) cincl[tok.ids[j]]++;
        cpair[tok.ids[0] * E + tok.ids[1]]++;
        /* with coact 0 a gate weight is the expert's first-pick probability */
        for (int j = 0; j < k; j++)
            if (fabs(tok.w[j] - w[tok.ids[j]] / Z) > 1e-6) bad_w++;
    }
    for (int e = 0; e < E; e++) {
        double z = (cincl[e] / (double)n - incl[e]) / sigma(incl[e], n);
        if (fabs(z) > 5) bad_incl++;
        if (fabs(z) > fabs(worst)) worst = z;
    }
    for (int a = 0; a < E; a++)
        for (int b = 0; b < E; b++) {
            double want = pair[a * E + b];
            if (a == b) {
                if (cpair[a * E + b]) bad_pair++;
                continue;
            }
            if (fabs(cpair[a * E + b] / (double)n - want) > 5 * sigma(want, n)) bad_pair++;
            chi2 += pow(cpair[a * E + b] - n * want, 2) / (n * want);
        }
    CHECK(bad_incl == 0, "%s: inclusion frequencies of all %d experts within 5 sigma of the exact "
                         "Plackett-Luce values (worst z = %.2f)", what, E, worst);
    CHECK(bad_pair == 0, "%s: all %d ordered (first, second) pairs within 5 sigma", what, E * (E - 1));
    /* 99.9% point of chi-square with 29 degrees of freedom: 58.3 */
    CHECK(E != 6 || chi2 < 58.3, "%s: chi-square of the 30 ordered pairs = %.1f (< 58.3, p = 0.001)", what,
          chi2);
    CHECK(bad_w == 0, "%s: gate weights are the first-pick probabilities (%d wrong)", what, bad_w);
    mz_token_free(&tok);
    mz_gen_free(g);
    mz_prior_free(&p);
    mz_trace_info_free(&t);
}

static void test_plackett_luce(void)
{
    static const double l1[6] = {1.0, 0.5, 0.0, -0.5, -1.0, 0.25};
    static const double l2[6] = {4.0, 4.0, 0.0, 0.0, 0.0, -1.0}; /* two dominant: the exact fallback path */
    static const double l3[6] = {0, 0, 0, 0, 0, 0};
    check_pl("6 experts top-2", l1, 6, 2, 200000);
    check_pl("6 experts top-3, two dominant", l2, 6, 3, 200000);
    check_pl("6 uniform experts top-2", l3, 6, 2, 200000);
}

/* Same-topic co-selection under coact: exact value from the mixture over
 * the token's (uniform) topic, compared with the sampler. */
static void test_coact(void)
{
    const int E = 6, k = 2;
    double same[2];
    double coacts[2] = {0, 2.0};
    for (int c = 0; c < 2; c++) {
        mz_trace_info t;
        mz_prior p;
        mz_gen *g;
        mz_token tok;
        long n = 200000, hits = 0;
        double exact = 0;
        const int *topic;
        make_info(&t, E, k, 1, 1, 1);
        make_prior(&p, &t, NULL, coacts[c], 2, MZ_LAYOUT_BLOCKED, 0, 0);
        g = mz_gen_new(&t, &p, 7);
        topic = mz_gen_topics(g, 0);
        CHECK(topic[0] == 0 && topic[1] == 0 && topic[2] == 1 && topic[5] == 2, "blocked topics {0,1} {2,3} {4,5}");
        for (int z = 0; z < 3; z++) {
            double w[6], incl[6] = {0}, pair[36] = {0};
            for (int e = 0; e < E; e++) w[e] = topic[e] == z ? exp(coacts[c]) : 1;
            pl_rec(w, E, k, 0, 0, 1.0 / 3, -1, incl, pair);
            for (int a = 0; a < E; a++)
                for (int b = 0; b < E; b++)
                    if (a != b && topic[a] == topic[b]) exact += pair[a * E + b];
        }
        mz_token_alloc(&t, &tok);
        for (long i = 0; i < n; i++) {
            mz_gen_token(g, &tok);
            hits += topic[tok.ids[0]] == topic[tok.ids[1]];
        }
        same[c] = hits / (double)n;
        CHECK(fabs(same[c] - exact) < 5 * sigma(exact, n),
              "coact %g: same-topic pair frequency %.4f, exact %.4f", coacts[c], same[c], exact);
        mz_token_free(&tok);
        mz_gen_free(g);
        mz_prior_free(&p);
        mz_trace_info_free(&t);
    }
    CHECK(fabs(same[0] - 0.2) < 0.005, "coact 0: 3 of the 15 pairs share a topic (%.4f ~ 0.2)", same[0]);
    CHECK(same[1] > 0.5, "coact 2 raises same-topic co-selection to %.3f (> 0.5)", same[1]);
}

/* Mean overlap (experts in common, layer 0) of consecutive tokens of a
 * sequence, and of tokens at the same position in consecutive sequences;
 * and how often the top experts of layers 0 and 1 share a topic. */
static void overlap(double seq_stick, double layer_stick, double *within, double *across, double *layer_agree)
{
    enum { E = 32, k = 4, L = 2, seqs = 400, len = 32 };
    mz_trace_info t;
    mz_prior p;
    mz_gen *g;
    mz_token tok;
    uint16_t last[len][k];
    long nw = 0, na = 0, nl = 0;
    double sw = 0, sa = 0, sl = 0;
    const int *topic0, *topic1;
    make_info(&t, E, k, L, 1, 1);
    make_prior(&p, &t, NULL, 3.0, 4, MZ_LAYOUT_BLOCKED, seq_stick, layer_stick);
    g = mz_gen_new(&t, &p, 3);
    topic0 = mz_gen_topics(g, 0);
    topic1 = mz_gen_topics(g, 1);
    mz_token_alloc(&t, &tok);
    for (int s = 0; s < seqs; s++) {
        mz_gen_sequence(g);
        for (int i = 0; i < len; i++) {
            int o = 0, oa = 0;
            mz_gen_token(g, &tok);
            for (int a = 0; a < k; a++)
                for (int b = 0; b < k; b++) {
                    if (i > 0) o += tok.ids[a] == last[i - 1][b];
                    if (s > 0) oa += tok.ids[a] == last[i][b]; /* still the previous sequence's */
                }
            if (i > 0) sw += o, nw++;
            if (s > 0) sa += oa, na++;
            sl += topic0[tok.ids[0]] == topic1[tok.ids[k]], nl++;
            memcpy(last[i], tok.ids, sizeof last[i]);
        }
    }
    *within = sw / nw, *across = sa / na, *layer_agree = sl / nl;
    mz_token_free(&tok);
    mz_gen_free(g);
    mz_prior_free(&p);
    mz_trace_info_free(&t);
}

static void test_stickiness(void)
{
    double w0, a0, l0, w1, a1, l1, w2, a2, l2;
    overlap(0, 0, &w0, &a0, &l0);
    overlap(0.9, 0, &w1, &a1, &l1);
    overlap(0, 0.9, &w2, &a2, &l2);
    CHECK(fabs(w0 - a0) < 0.05, "seq_stick 0: consecutive tokens overlap as much as strangers (%.3f vs %.3f)",
          w0, a0);
    CHECK(w1 > 2 * w0 && w1 > a1 + 0.5, "seq_stick 0.9 raises within-sequence overlap: %.3f experts (vs %.3f "
                                        "without, %.3f across sequences)", w1, w0, a1);
    CHECK(l2 > l0 + 0.3, "layer_stick 0.9 keeps the topic across layers: top experts share a topic %.3f "
                         "(vs %.3f)", l2, l0);
}

/* Group-limited routing: every token-layer stays within topk_groups groups. */
static void test_groups(int E, int G, int tg, int k, long n)
{
    mz_trace_info t;
    mz_prior p;
    mz_gen *g;
    mz_token tok;
    double logit[64];
    long over = 0, exact_groups = 0, used[64] = {0}, gused[16] = {0};
    int gs = E / G, all_used = 1;
    make_info(&t, E, k, 2, G, tg);
    for (int e = 0; e < E; e++) logit[e] = (e * 37 % 11) / 5.0 - 1;
    make_prior(&p, &t, logit, 2.0, 4, MZ_LAYOUT_RANDOM, 0.3, 0.3);
    g = mz_gen_new(&t, &p, 11);
    mz_token_alloc(&t, &tok);
    for (long i = 0; i < n; i++) {
        if (i % 64 == 0) mz_gen_sequence(g);
        mz_gen_token(g, &tok);
        for (int l = 0; l < 2; l++) {
            int seen[16] = {0}, ng = 0;
            for (int j = 0; j < k; j++) {
                int q = tok.ids[l * k + j] / gs;
                ng += !seen[q];
                seen[q] = 1;
                used[tok.ids[l * k + j]]++;
                gused[q]++;
            }
            over += ng > tg;
            exact_groups += ng == tg;
        }
    }
    for (int q = 0; q < G; q++) all_used &= gused[q] > 0;
    CHECK(over == 0, "%d experts in %d groups, top-%d from at most %d groups: %ld of %ld token-layers "
                     "exceed", E, G, k, tg, over, 2 * n);
    CHECK(all_used, "%d groups: every group is used by some token", G);
    if (k == tg * gs)
        CHECK(exact_groups == 2 * n, "top-%d = %d whole groups: every token takes exactly %d groups", k, tg, tg);
    mz_token_free(&tok);
    mz_gen_free(g);
    mz_prior_free(&p);
    mz_trace_info_free(&t);
}

/* DeepSeek-V3 from the catalogue with its built-in prior. */
static void test_deepseek_v3(void)
{
    mz_trace_info t;
    mz_prior p;
    mz_gen *g;
    mz_token tok;
    long over = 0, n = 0, four = 0;
    memset(&t, 0, sizeof t);
    if (mz_model_load("deepseek-v3", &t.model) < 0) {
        CHECK(0, "load deepseek-v3: %s", mz_errmsg());
        return;
    }
    t.steps = t.seqs = 1, t.seq_len = 1;
    t.layers = mz_malloc(t.model.layers * sizeof *t.layers);
    for (int l = 0; l < t.model.layers; l++)
        if (t.model.moe[l]) t.layers[t.n_layers++] = l;
    t.id_bytes = 1;
    mz_prior_builtin(&t.model, &p);
    g = mz_gen_new(&t, &p, 5);
    mz_token_alloc(&t, &tok);
    for (int s = 0; s < 8; s++) {
        mz_gen_sequence(g);
        for (int i = 0; i < 128; i++) {
            mz_gen_token(g, &tok);
            for (int l = 0; l < t.n_layers; l++) {
                unsigned seen = 0;
                int ng;
                for (int j = 0; j < 8; j++) seen |= 1u << (tok.ids[l * 8 + j] / 32);
                ng = __builtin_popcount(seen);
                over += ng > 4;
                four += ng == 4;
                n++;
            }
        }
    }
    CHECK(t.n_layers == 58 && t.layers[0] == 3, "deepseek-v3: 58 MoE layers from layer 3");
    CHECK(over == 0, "deepseek-v3: every token's 8 experts lie in at most 4 of the 8 groups (%ld of %ld exceed)",
          over, n);
    CHECK(four > n / 2, "deepseek-v3: most token-layers do use 4 groups (%ld of %ld)", four, n);
    mz_token_free(&tok);
    mz_gen_free(g);
    mz_prior_free(&p);
    mz_trace_info_free(&t);
}

/* ids in range and never repeated within a token-layer, in hard cases. */
static void test_valid_ids(void)
{
    static const struct {
        const char *what;
        int E, k, G, tg, layout, topic_size;
        double coact, skew, spread;
    } cases[] = {
        {"128 experts top-8, default-like", 128, 8, 1, 1, MZ_LAYOUT_RANDOM, 8, 2.0, 1, 1},
        {"8 experts top-8 (all of them)", 8, 8, 1, 1, MZ_LAYOUT_RANDOM, 2, 2.0, 1, 1},
        {"64 experts top-6, skew 100", 64, 6, 1, 1, MZ_LAYOUT_STRIDED, 6, 2.0, 100, 1},
        {"64 experts, logits 2000 apart", 64, 6, 1, 1, MZ_LAYOUT_BLOCKED, 4, 0, 1, 1000},
        {"60 experts top-4, coact 50", 60, 4, 1, 1, MZ_LAYOUT_RANDOM, 7, 50, 1, 1},
        {"300 experts (u16) top-8", 300, 8, 1, 1, MZ_LAYOUT_RANDOM, 8, 2.0, 1, 1},
        {"256 experts, 8 groups of 32, 4 per token, skew 100", 256, 8, 8, 4, MZ_LAYOUT_RANDOM, 8, 2.0, 100, 1},
        {"16 experts, 8 groups, 1 per token, top-2", 16, 2, 8, 1, MZ_LAYOUT_RANDOM, 3, 2.0, 1, 1000},
    };
    for (size_t c = 0; c < sizeof cases / sizeof *cases; c++) {
        mz_trace_info t;
        mz_prior p;
        mz_gen *g;
        mz_token tok;
        double *logit = mz_malloc(cases[c].E * sizeof *logit);
        long bad = 0;
        int E = cases[c].E, k = cases[c].k;
        make_info(&t, E, k, 3, cases[c].G, cases[c].tg);
        /* logits spread over [-spread, spread]; 'spread 1000' leaves only the
         * top two experts with a weight above 0 */
        for (int e = 0; e < E; e++)
            logit[e] = cases[c].spread >= 1000 ? (e < 2 ? 1000 : -1000) : ((e * 7919) % 97) / 48.0 - 1;
        make_prior(&p, &t, logit, cases[c].coact, cases[c].topic_size, cases[c].layout, 0.5, 0.5);
        p.skew = cases[c].skew;
        g = mz_gen_new(&t, &p, 9);
        mz_token_alloc(&t, &tok);
        for (long i = 0; i < 3000; i++) {
            if (i % 100 == 0) mz_gen_sequence(g);
            mz_gen_token(g, &tok);
            for (int l = 0; l < 3; l++)
                for (int a = 0; a < k; a++) {
                    int id = tok.ids[l * k + a];
                    if (id >= E) bad++;
                    for (int b = 0; b < a; b++) bad += id == tok.ids[l * k + b];
                    if (!(tok.w[l * k + a] >= 0 && tok.w[l * k + a] <= 1)) bad++;
                }
        }
        CHECK(bad == 0, "%s: 3000 tokens x 3 layers, ids in range, distinct, weights in [0,1] (%ld bad)",
              cases[c].what, bad);
        free(logit);
        mz_token_free(&tok);
        mz_gen_free(g);
        mz_prior_free(&p);
        mz_trace_info_free(&t);
    }
}

static long run_tokens(uint64_t seed, int n, uint16_t *out)
{
    mz_trace_info t;
    mz_prior p;
    mz_gen *g;
    mz_token tok;
    make_info(&t, 64, 8, 4, 1, 1);
    make_prior(&p, &t, NULL, 2.0, 8, MZ_LAYOUT_RANDOM, 0.3, 0.3);
    g = mz_gen_new(&t, &p, seed);
    mz_token_alloc(&t, &tok);
    for (int i = 0; i < n; i++) {
        if (i % 16 == 0) mz_gen_sequence(g);
        mz_gen_token(g, &tok);
        memcpy(out + (size_t)i * 32, tok.ids, 32 * sizeof *out);
    }
    mz_token_free(&tok);
    mz_gen_free(g);
    mz_prior_free(&p);
    mz_trace_info_free(&t);
    return n;
}

/* The inline MT19937 (rng.h) against GSL's, number for number: words,
 * uniforms and integers below n (GSL's rejection), from seeds that include
 * 0 (GSL's 4357) and one above 2^32 (its low 32 bits). */
static void test_rng(void)
{
    static const unsigned long seeds[] = {0, 1, 2, 4357, 12345, 4294967295UL, 4294967296UL + 7};
    static const unsigned long ns[] = {1, 2, 3, 7, 128, 1000, 65537, 2147483649UL, 4294967295UL};
    for (size_t si = 0; si < sizeof seeds / sizeof *seeds; si++) {
        gsl_rng *g = gsl_rng_alloc(gsl_rng_mt19937);
        mz_rng r;
        long words = 0, unif = 0, ints = 0, n = 0;
        gsl_rng_set(g, seeds[si]);
        mz_rng_set(&r, seeds[si]);
        for (int i = 0; i < 3000; i++, n += 3) {
            unsigned long want = ns[i % (sizeof ns / sizeof *ns)];
            words += gsl_rng_get(g) == mz_rng_get(&r);
            unif += gsl_rng_uniform(g) == mz_rng_uniform(&r);
            ints += gsl_rng_uniform_int(g, want) == mz_rng_uniform_int(&r, want);
        }
        CHECK(words + unif + ints == n, "seed %lu: %ld of %ld words, uniforms and integers as GSL's mt19937", seeds[si],
              words + unif + ints, n);
        gsl_rng_free(g);
    }
}

static void test_seeds(void)
{
    uint16_t *a = mz_malloc(1000 * 32 * 2), *b = mz_malloc(1000 * 32 * 2), *c = mz_malloc(1000 * 32 * 2);
    run_tokens(1, 1000, a);
    run_tokens(1, 1000, b);
    run_tokens(2, 1000, c);
    CHECK(memcmp(a, b, 1000 * 32 * 2) == 0, "the same seed gives the same 1000 tokens");
    CHECK(memcmp(a, c, 1000 * 32 * 2) != 0, "another seed gives other tokens");
    free(a), free(b), free(c);
}

static void test_topics(void)
{
    mz_trace_info t;
    mz_prior p;
    mz_gen *g, *h;
    int sizes[16] = {0}, ok = 1, differ = 0;
    make_info(&t, 64, 8, 2, 1, 1);
    make_prior(&p, &t, NULL, 2.0, 8, MZ_LAYOUT_RANDOM, 0, 0);
    g = mz_gen_new(&t, &p, 1);
    h = mz_gen_new(&t, &p, 99);
    for (int e = 0; e < 64; e++) {
        sizes[mz_gen_topics(g, 0)[e]]++;
        ok &= mz_gen_topics(g, 0)[e] == mz_gen_topics(h, 0)[e];
        differ += mz_gen_topics(g, 0)[e] != mz_gen_topics(g, 1)[e];
    }
    for (int z = 0; z < 8; z++) ok &= sizes[z] == 8;
    CHECK(ok, "random layout: 8 topics of 8 experts, the same whatever the trace seed");
    CHECK(differ > 0, "random layout differs between layers (%d experts moved)", differ);
    mz_gen_free(g);
    mz_gen_free(h);
    p.topic_layout = MZ_LAYOUT_STRIDED;
    g = mz_gen_new(&t, &p, 1);
    CHECK(mz_gen_topics(g, 0)[0] == 0 && mz_gen_topics(g, 0)[9] == 1 && mz_gen_topics(g, 0)[63] == 7,
          "strided layout: expert e in topic e mod 8");
    mz_gen_free(g);
    p.topic_layout = MZ_LAYOUT_BLOCKED;
    p.topic_size = 5; /* 13 topics, the last of 4 */
    g = mz_gen_new(&t, &p, 1);
    CHECK(mz_gen_topics(g, 0)[4] == 0 && mz_gen_topics(g, 0)[5] == 1 && mz_gen_topics(g, 0)[63] == 12,
          "blocked layout of 5: expert e in topic e / 5");
    mz_gen_free(g);
    CHECK(mz_layout_parse("strided") == MZ_LAYOUT_STRIDED && mz_layout_parse("Random") < 0 &&
              strcmp(mz_layout_name(MZ_LAYOUT_BLOCKED), "blocked") == 0,
          "layout names");
    mz_prior_free(&p);
    mz_trace_info_free(&t);
}

/* ---------------------------------------------------------------- prior files */
static const char *write_file(const char *name, const char *text)
{
    static char path[300];
    FILE *fp;
    snprintf(path, sizeof path, "%s/%s", tmpdir, name);
    fp = fopen(path, "w");
    fputs(text, fp);
    fclose(fp);
    return path;
}

static void test_prior_files(void)
{
    mz_prior p, q;
    mz_out *out;
    char path[300];
    const char *f;
    int ok;
    f = write_file("a.prior", "# fitted from somewhere\n"
                              "model\tunit\nexperts\t4\ntopk\t2\ncoact\t1.5\ntopic_size\t2\n"
                              "topic_layout\tstrided\ntopic_seed\t7\nseq_stick\t0.25\nlayer_stick\t0.5\n"
                              "skew\t2\n\n"
                              "logit\t3\t0.5\t-0.5\t1\t0\nlogit\t1\t0\t0\t0\t0.125\n"
                              "share\t3\t0.4\t0.1\t0.3\t0.2\n");
    ok = mz_prior_read(f, &p) == 0;
    CHECK(ok, "read a prior file (%s)", ok ? "ok" : mz_errmsg());
    if (!ok) return;
    CHECK(p.experts == 4 && p.topk == 2 && p.topic_size == 2 && p.topic_seed == 7,
          "experts 4, topk 2, topic_size 2, topic_seed 7 (topic_* lines do not touch topk)");
    CHECK(p.coact == 1.5 && p.seq_stick == 0.25 && p.layer_stick == 0.5 && p.skew == 2 &&
              p.topic_layout == MZ_LAYOUT_STRIDED && strcmp(p.model, "unit") == 0,
          "coact, stickiness, skew, layout, model");
    CHECK(p.n_layers == 2 && mz_prior_slot(&p, 3) == 0 && mz_prior_slot(&p, 1) == 1 && mz_prior_slot(&p, 2) < 0,
          "layers 3 and 1, in file order");
    CHECK(p.logit[2] == 1 && p.logit[7] == 0.125 && p.share && p.share[0] == 0.4 && isnan(p.share[4]),
          "logits and shares where they belong");
    CHECK(p.source && strcmp(p.source, "# fitted from somewhere\n") == 0, "'#' lines kept as provenance");
    snprintf(path, sizeof path, "%s/b.prior", tmpdir);
    out = mz_out_open(path, 0);
    mz_prior_write(&p, out);
    CHECK(mz_out_close(out) == 0, "write it back");
    ok = mz_prior_read(path, &q) == 0;
    CHECK(ok && q.experts == 4 && q.topk == 2 && q.topic_size == 2 && q.topic_seed == 7 && q.coact == 1.5 &&
              q.skew == 2 && q.n_layers == 2 && q.logit[7] == 0.125 && q.share[2] == 0.3 &&
              q.topic_layout == MZ_LAYOUT_STRIDED && strcmp(q.source, p.source) == 0,
          "write -> read round trip (%s)", ok ? "ok" : mz_errmsg());
    if (ok) mz_prior_free(&q);
    {
        mz_model m = {0};
        int moe[4] = {0, 1, 0, 1};
        m.layers = 4, m.experts = 4, m.topk = 2;
        snprintf(m.name, sizeof m.name, "unit");
        m.moe = mz_malloc(4);
        for (int l = 0; l < 4; l++) m.moe[l] = (uint8_t)moe[l];
        CHECK(mz_prior_check(&p, &m, "a.prior") == 0, "prior fits a model with MoE layers 1 and 3");
        m.moe[2] = 1;
        CHECK(mz_prior_check(&p, &m, "a.prior") < 0 && errmsg_has("no logits for MoE layer 2"),
              "a model layer without logits (%s)", mz_errmsg());
        m.topk = 3;
        CHECK(mz_prior_check(&p, &m, "a.prior") < 0 && errmsg_has("top-2"), "a top-k mismatch (%s)", mz_errmsg());
        free(m.moe);
    }
    mz_prior_free(&p);

    {
        const char *head = "experts\t4\ntopk\t2\ntopic_size\t2\n";
        const struct {
            const char *text, *msg;
        } bad[] = {
            {"topk\t2\ntopic_size\t2\nlogit\t0\t1\t1\t1\t1\n", "'experts' must be given"},
            {"experts\t4\ntopic_size\t2\nlogit\t0\t1\t1\t1\t1\n", "missing 'topk'"},
            {"experts\t4\ntopk\t2\nlogit\t0\t1\t1\t1\t1\n", "missing 'topic_size'"},
            {"%slogit\t0\t1\t1\t1\n", "expected a layer number and 4 values"},
            {"%slogit\t0\t1\t1\t1\t1\nlogit\t0\t1\t1\t1\t1\n", "layer 0 given twice"},
            {"%slogit\t0\t1\tx\t1\t1\n", "line 4: logit: layer 0 expert 1"},
            {"%sshare\t0\t0.5\t0.5\t0\t0\n", "share line but no logit line"},
            {"%s", "no 'logit' lines"},
            {"%scoact\t51\nlogit\t0\t1\t1\t1\t1\n", "line 4: coact"},
            {"%sseq_stick\t1.5\nlogit\t0\t1\t1\t1\t1\n", "out of range"},
            {"%stopic_layout\tdiagonal\nlogit\t0\t1\t1\t1\t1\n", "not random, strided or blocked"},
            {"%swhatever\t1\nlogit\t0\t1\t1\t1\t1\n", "line 4: whatever: unknown key"},
            {"%scoact\t1\t2\nlogit\t0\t1\t1\t1\t1\n", "expected 1 value"},
            {"%slogit\t0\t1\t1\t1\t1\nexperts\t4\n", "must come before the layer lines"},
            {"%slogit\t0\t1\t1\t1\t1", "no newline"},
        };
        for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
            char text[512];
            snprintf(text, sizeof text, bad[i].text, head);
            f = write_file("bad.prior", text);
            if (mz_prior_read(f, &p) == 0) {
                CHECK(0, "prior %zu should fail with \"%s\"", i, bad[i].msg);
                mz_prior_free(&p);
                continue;
            }
            CHECK(errmsg_has(bad[i].msg) && errmsg_has("bad.prior"), "prior %zu: \"%s\" (%s)", i, bad[i].msg,
                  mz_errmsg());
        }
    }
}

/* mz_fit_run on a loads table of a 3-layer model (layers 0 and 2 measured)
 * writes a prior that reads back with the table's shares and the fit's
 * provenance, and the report; loads the model cannot have are an error that
 * leaves neither file. */
static void test_fit_run(void)
{
    char model[300], table[300], bad[300], prior[300], report[300], line[256];
    mz_fit_run_opts o;
    mz_prior p;
    FILE *fp;
    int ret, rows = 0;
    char *notes[] = {"made by unit-gen"}, *select[] = {"src=a"};
    snprintf(model, sizeof model, "%s", write_file("tiny.json",
             "{\"num_hidden_layers\": 3, \"hidden_size\": 8, \"num_experts\": 4, \"num_experts_per_tok\": 2,"
             " \"moe_intermediate_size\": 8, \"num_attention_heads\": 1, \"vocab_size\": 16}\n"));
    snprintf(table, sizeof table, "%s", write_file("tiny.tsv", "src\tlayer\texpert\tcount\n"
             "a\t0\t0\t40\na\t0\t1\t30\na\t0\t2\t20\na\t0\t3\t10\n"
             "a\t2\t0\t15\na\t2\t1\t15\na\t2\t2\t25\na\t2\t3\t45\nb\t0\t3\t1\n"));
    snprintf(bad, sizeof bad, "%s", write_file("bad.tsv", "layer\texpert\tcount\n0\t4\t1\n"));
    snprintf(prior, sizeof prior, "%s/fit.prior", tmpdir);
    snprintf(report, sizeof report, "%s/fit.tsv", tmpdir);

    mz_fit_run_opts_init(&o);
    CHECK(o.iters == 30 && o.tokens == 20000 && o.seed == 1 && o.topic_layout == -1 && o.coact == MZ_DEFAULT_COACT &&
              !o.model && !o.trace && !o.n_select,
          "run options start at mz-fit's defaults");
    o.model = model;
    o.select = select, o.n_select = 1;
    o.notes = notes, o.n_notes = 1;
    o.iters = 5, o.tokens = 4000;
    o.report_path = report;
    ret = mz_fit_run(&o, table, prior);
    CHECK(ret == 0, "mz_fit_run on a loads table%s%s", ret ? ": " : "", ret ? mz_errmsg() : "");
    ret = mz_prior_read(prior, &p);
    CHECK(ret == 0 && p.experts == 4 && p.topk == 2 && p.n_layers == 3, "the prior reads back: 3 layers of 4 experts%s%s",
          ret ? ": " : "", ret ? mz_errmsg() : "");
    if (ret == 0) {
        int l0 = mz_prior_slot(&p, 0), l2 = mz_prior_slot(&p, 2);
        CHECK(l0 >= 0 && l2 >= 0 && fabs(p.share[l0 * 4] - 0.4) < 1e-9 && fabs(p.share[l0 * 4 + 3] - 0.1) < 1e-9 &&
                  fabs(p.share[l2 * 4 + 3] - 0.45) < 1e-9,
              "measured layers keep the selected rows' shares (0.4 .. 0.1, 0.45; src=b left out)");
        CHECK(p.source && strstr(p.source, "# made by unit-gen\n") && strstr(p.source, "tiny.tsv src=a\n") &&
                  strstr(p.source, "#   layer 1: shape interpolated") && strstr(p.source, "# fit: 5 iterations of 4000 tokens"),
              "provenance: the note, the loads and the selection, the interpolated layer, the fit");
        mz_prior_free(&p);
    }
    fp = fopen(report, "r");
    while (fp && fgets(line, sizeof line, fp)) rows++;
    if (fp) fclose(fp);
    CHECK(rows == 4, "the report: a header and a row per layer (%d lines)", rows);
    unlink(prior), unlink(report);

    o.select = NULL, o.n_select = 0;
    CHECK(mz_fit_run(&o, bad, prior) < 0 && errmsg_has("bad.tsv") && errmsg_has("expert 4"),
          "an expert the model lacks is an error naming the table (%s)", mz_errmsg());
    CHECK(access(prior, F_OK) < 0 && access(report, F_OK) < 0, "and leaves neither the prior nor the report");
    o.trace = 1;
    CHECK(mz_fit_run(&o, table, prior) < 0 && errmsg_has("tiny.tsv: not an mz stream"),
          "a table read as a trace (-r) is an error (%s)", mz_errmsg());
}

static void test_builtin(void)
{
    mz_model m;
    mz_prior a, b;
    double s = 0, ss = 0, sd = -1;
    const char *said;
    size_t n;
    if (mz_model_load("qwen3-30b-a3b", &m) < 0) {
        CHECK(0, "load qwen3: %s", mz_errmsg());
        return;
    }
    mz_prior_builtin(&m, &a);
    mz_prior_builtin(&m, &b);
    n = (size_t)a.n_layers * a.experts;
    CHECK(a.n_layers == 48 && a.experts == 128 && a.topk == 8 && a.topic_size == 8 &&
              a.coact == MZ_DEFAULT_COACT && a.seq_stick == MZ_DEFAULT_SEQ_STICK &&
              a.layer_stick == MZ_DEFAULT_LAYER_STICK && mz_prior_check(&a, &m, "built-in") == 0,
          "built-in prior for qwen3: 48 layers of 128 logits, topics of top-k, the default parameters");
    CHECK(memcmp(a.logit, b.logit, n * sizeof *a.logit) == 0, "the built-in prior is the same every time");
    /* its provenance says the law of the logits: "N(0, SD)" */
    said = a.source ? strstr(a.source, "N(0, ") : NULL;
    if (said) sd = atof(said + 5);
    for (size_t i = 0; i < n; i++) s += a.logit[i], ss += a.logit[i] * a.logit[i];
    s /= n;
    CHECK(sd > 0 && fabs(s) < 0.1 && fabs(sqrt(ss / n - s * s) - sd) < 0.05 * sd,
          "its logits: mean %.3f, sd %.3f, as its source line says (N(0, %g))", s, sqrt(ss / n - s * s), sd);
    mz_prior_free(&a);
    mz_prior_free(&b);
    mz_model_free(&m);
}

/* The built-in prior gives the popularity skew of real routers: the hottest
 * expert of a layer carries several times its uniform share. */
static void test_popularity(void)
{
    mz_trace_info t;
    mz_prior p;
    mz_gen *g;
    mz_token tok;
    long *count;
    double lo = 1e9, hi = 0, mean = 0;
    int E, k;
    memset(&t, 0, sizeof t);
    if (mz_model_load("olmoe-1b-7b-0924", &t.model) < 0) return;
    E = t.model.experts, k = t.model.topk;
    t.layers = mz_malloc(t.model.layers * sizeof *t.layers);
    for (int l = 0; l < t.model.layers; l++) t.layers[t.n_layers++] = l;
    mz_prior_builtin(&t.model, &p);
    g = mz_gen_new(&t, &p, 1);
    mz_token_alloc(&t, &tok);
    count = mz_calloc((size_t)t.n_layers * E, sizeof *count);
    for (int s = 0; s < 64; s++) {
        mz_gen_sequence(g);
        for (int i = 0; i < 256; i++) {
            mz_gen_token(g, &tok);
            for (int j = 0; j < t.n_layers * k; j++) count[(j / k) * E + tok.ids[j]]++;
        }
    }
    for (int l = 0; l < t.n_layers; l++) {
        long best = 0;
        double r;
        for (int e = 0; e < E; e++)
            if (count[l * E + e] > best) best = count[l * E + e];
        r = best / (64.0 * 256 * k) * E;
        if (r < lo) lo = r;
        if (r > hi) hi = r;
        mean += r / t.n_layers;
    }
    CHECK(lo > 1.5 && mean > 2.5 && mean < 7.8,
          "olmoe, built-in prior: hottest expert over uniform share per layer %.2f-%.2f, mean %.2f "
          "(real OLMoE: 2.5-7.8)", lo, hi, mean);
    free(count);
    mz_token_free(&tok);
    mz_gen_free(g);
    mz_prior_free(&p);
    mz_trace_info_free(&t);
}

/* Issue 14: draws past the linear scan's budget go through a Fenwick tree.
 * E = k = 2048: 1024 hot experts (weight 1) are drawn first by rejection,
 * then the misses pile up and the cold ones (512 of weight 2e-3, 512 of
 * 1e-3) are drawn from the tree. Each token holds every expert once, and
 * the tree keeps Plackett-Luce's law: a 2e-3 expert comes before a 1e-3 one
 * with probability 2/3. Groups: 4096 groups of 1 choosing 2048 use the tree
 * too. Fast: no O(E k) scan. */
static void test_large_draws(void)
{
    enum { E = 2048, N = 24 };
    double *logit = mz_malloc(E * sizeof *logit), before = 0, pairs = 0;
    mz_trace_info t;
    mz_prior p;
    mz_token tok;
    mz_gen *g;
    int ok = 1;
    for (int e = 0; e < E; e++) logit[e] = e < 1024 ? 0 : e < 1536 ? log(2e-3) : log(1e-3);
    make_info(&t, E, E, 1, 1, 1);
    make_prior(&p, &t, logit, 0, E, MZ_LAYOUT_BLOCKED, 0, 0);
    g = mz_gen_new(&t, &p, 17);
    mz_token_alloc(&t, &tok);
    for (int n = 0; n < N; n++) {
        static unsigned char seen[E];
        long a_seen = 0;
        mz_gen_token(g, &tok);
        memset(seen, 0, sizeof seen);
        for (int j = 0; j < E; j++) {
            int e = tok.ids[j];
            if (e >= E || seen[e]++) ok = 0;
            if (e >= 1024 && e < 1536) a_seen++;
            if (e >= 1536) before += a_seen, pairs += 512;
        }
    }
    CHECK(ok, "E = k = %d: every expert once in each of %d tokens", E, N);
    CHECK_NEAR(before / pairs, 2.0 / 3, 0.02, "P(a 2e-3 expert before a 1e-3 one), drawn from the tree");
    mz_token_free(&tok);
    mz_gen_free(g);
    mz_prior_free(&p);
    mz_trace_info_free(&t);
    /* group-limited routing over 4096 groups of one expert, 2048 of them per token */
    make_info(&t, 4096, 8, 1, 4096, 2048);
    make_prior(&p, &t, NULL, 0, 8, MZ_LAYOUT_BLOCKED, 0, 0);
    g = mz_gen_new(&t, &p, 3);
    mz_token_alloc(&t, &tok);
    ok = 1;
    for (int n = 0; n < 200; n++) {
        mz_gen_token(g, &tok);
        for (int a = 0; a < 8; a++)
            for (int b = a + 1; b < 8; b++) ok &= tok.ids[a] != tok.ids[b] && tok.ids[a] < 4096;
    }
    CHECK(ok, "4096 groups choosing 2048: distinct ids in range");
    mz_token_free(&tok);
    mz_gen_free(g);
    mz_prior_free(&p);
    mz_trace_info_free(&t);
    free(logit);
}

/* mz_trace_run: mz-trace's work, its trace read back, its errors. */
static void test_trace_run(void)
{
    char path[300], again[300];
    char *argv[] = {"mz-trace", "-m", "mixtral-8x7b", NULL};
    mz_trace_run_opts o;
    mz_trace_reader tr;
    long n = 0;
    int ret = -1, same = 1;
    snprintf(path, sizeof path, "%s/run.mzt", tmpdir);
    snprintf(again, sizeof again, "%s/again.mzt", tmpdir);
    mz_trace_run_opts_init(&o);
    CHECK(o.steps == 1 && o.seqs == 32 && o.seq_len == 256 && o.seed == 1 && o.level == 1 && o.coact < 0 &&
              o.topic_layout < 0 && !o.model, "mz_trace_run_opts_init: mz-trace's defaults");
    CHECK(mz_trace_run(&o, path) < 0 && errmsg_has("no model given"), "no model (%s)", mz_errmsg());
    o.model = "mixtral-8x7b", o.seqs = 2, o.seq_len = 3, o.layers = "1,4", o.weights = 1, o.argc = 3, o.argv = argv;
    CHECK(mz_trace_run(&o, path) == 0, "a trace of two layers (%s)", mz_errmsg());
    if (mz_trace_open(&tr, path) == 0) {
        while ((ret = mz_trace_next(&tr)) > 0) n++;
        CHECK(tr.info.n_layers == 2 && tr.info.layers[1] == 4 && tr.info.weights && tr.info.seqs == 2,
              "its header: layers 1 and 4, weights, 2 sequences");
        mz_trace_close(&tr);
    }
    CHECK(ret == 0 && n == 6, "2 x 3 tokens read back (%ld)", n);
    o.level = 0;
    CHECK(mz_trace_run(&o, again) == 0, "the same seed again, uncompressed");
    {
        mz_trace_reader a, b;
        if (mz_trace_open(&a, path) == 0 && mz_trace_open(&b, again) == 0) {
            int ra, rb;
            while ((ra = mz_trace_next(&a)) > 0 && (rb = mz_trace_next(&b)) > 0)
                same &= !memcmp(a.tok.ids, b.tok.ids, 2 * 2 * sizeof *a.tok.ids);
            mz_trace_close(&a), mz_trace_close(&b);
        } else {
            same = 0;
        }
    }
    CHECK(same, "a seed draws the same tokens");
    o.layers = "0-99";
    snprintf(path, sizeof path, "%s/none.mzt", tmpdir);
    CHECK(mz_trace_run(&o, path) < 0 && errmsg_has("--layers") && access(path, F_OK) < 0,
          "a layer past the model: the error, no file (%s)", mz_errmsg());
    o.layers = NULL, o.topic_size = 9;
    CHECK(mz_trace_run(&o, path) < 0 && errmsg_has("--topic-size 9 exceeds the 8 experts") && access(path, F_OK) < 0,
          "a topic larger than the experts (%s)", mz_errmsg());
    o.topic_size = 0, o.prior = "no-such.prior";
    CHECK(mz_trace_run(&o, path) < 0 && errmsg_has("no-such.prior"), "a missing prior (%s)", mz_errmsg());
    o.prior = NULL, o.model = "no-such-model";
    CHECK(mz_trace_run(&o, path) < 0 && errmsg_has("no-such-model"), "a missing model (%s)", mz_errmsg());
}

int main(void)
{
    if (!mkdtemp(tmpdir)) {
        perror("mkdtemp");
        return 1;
    }
    test_plackett_luce();
    test_coact();
    test_stickiness();
    test_groups(32, 8, 2, 4, 20000);
    test_groups(16, 8, 2, 4, 20000);
    test_groups(64, 4, 1, 8, 20000);
    test_deepseek_v3();
    test_valid_ids();
    test_rng();
    test_seeds();
    test_topics();
    test_prior_files();
    test_fit_run();
    test_trace_run();
    test_builtin();
    test_popularity();
    test_large_draws();
    {
        char cmd[300];
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
        if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", tmpdir);
    }
    return unit_done();
}
