/* prior.c: routing-prior files (what mz-trace samples from): read, write, check, built-in default. */
#include <gsl/gsl_randist.h>
#include <gsl/gsl_rng.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "trace.h"

/* Spread (standard deviation) of the popularity logits of the built-in
 * prior, used when a model has no prior file: the mean over the measured
 * layers of the fitted priors in models/ is 1.67 for Qwen3-30B-A3B English
 * and 0.72 for OLMoE tulu; we take their average. */
#define MZ_BUILTIN_LOGIT_SD 1.2

#define MAX_FIELDS 65540

static const char *layout_names[] = {"random", "strided", "blocked"};

/* The keys that take one value: each may be given once. */
static const char *const scalar_keys[] = {"model",       "experts", "topk", "topic_size", "topic_seed", "coact",
                                          "seq_stick", "layer_stick", "skew", "topic_layout", NULL};

const char *mz_layout_name(int layout) { return layout_names[layout]; }

int mz_layout_parse(const char *s)
{
    for (int i = 0; i < 3; i++)
        if (strcmp(s, layout_names[i]) == 0) return i;
    return -1;
}

static void prior_init(mz_prior *p)
{
    memset(p, 0, sizeof *p);
    p->skew = 1.0;
    p->topic_seed = MZ_DEFAULT_TOPIC_SEED;
}

void mz_prior_free(mz_prior *p)
{
    free(p->layers);
    free(p->logit);
    free(p->share);
    free(p->source);
    memset(p, 0, sizeof *p);
}

/* Index of layer in p->layers, adding it when 'add'; -1 if absent. */
static int layer_slot(mz_prior *p, int layer, int add)
{
    for (int i = 0; i < p->n_layers; i++)
        if (p->layers[i] == layer) return i;
    if (!add) return -1;
    p->layers = mz_realloc(p->layers, (p->n_layers + 1) * sizeof *p->layers);
    p->logit = mz_realloc(p->logit, (size_t)(p->n_layers + 1) * p->experts * sizeof *p->logit);
    p->share = mz_realloc(p->share, (size_t)(p->n_layers + 1) * p->experts * sizeof *p->share);
    for (int e = 0; e < p->experts; e++) {
        p->logit[(size_t)p->n_layers * p->experts + e] = NAN;
        p->share[(size_t)p->n_layers * p->experts + e] = NAN;
    }
    p->layers[p->n_layers] = layer;
    return p->n_layers++;
}

int mz_prior_read(const char *path, mz_prior *p)
{
    mz_in *in;
    char *line, **f;
    long len;
    mz_buf src = {0};
    int have_logits = 0, entries = 0;
    long first[sizeof scalar_keys / sizeof *scalar_keys] = {0}; /* line of each scalar key */
    prior_init(p);
    if (!(in = mz_in_open(path))) return -1;
    f = mz_malloc(MAX_FIELDS * sizeof *f);
    while ((len = mz_in_getline(in, &line)) >= 0) {
        long ln = mz_in_lineno(in), v;
        double d;
        int n;
        char what[256];
        if (line[0] == '#') {
            mz_buf_puts(&src, line);
            mz_buf_puts(&src, "\n");
            continue;
        }
        if (len == 0) continue;
        n = mz_split(line, '\t', f, MAX_FIELDS);
        if (n < 0) {
            mz_error("%s: line %ld: too many fields", path, ln);
            goto fail;
        }
        snprintf(what, sizeof what, "%s: line %ld: %s", path, ln, f[0]);
        entries++;
#define NEED(k)                                                                  \
    if (n != (k)) {                                                             \
        mz_error("%s: expected %d value%s", what, (k) - 1, (k) == 2 ? "" : "s"); \
        goto fail;                                                              \
    }
        if (strcmp(f[0], "model") == 0) {
            NEED(2);
            snprintf(p->model, sizeof p->model, "%s", f[1]);
        } else if (strcmp(f[0], "experts") == 0 || strcmp(f[0], "topk") == 0 ||
                   strcmp(f[0], "topic_size") == 0 || strcmp(f[0], "topic_seed") == 0) {
            NEED(2);
            if (mz_parse_long(f[1], 1, 65536, what, &v) < 0) goto fail;
            if (strcmp(f[0], "experts") == 0) {
                if (p->n_layers) {
                    mz_error("%s: must come before the layer lines", what);
                    goto fail;
                }
                p->experts = (int)v;
            } else if (strcmp(f[0], "topk") == 0)
                p->topk = (int)v;
            else if (strcmp(f[0], "topic_size") == 0)
                p->topic_size = (int)v;
            else
                p->topic_seed = (unsigned long)v;
        } else if (strcmp(f[0], "coact") == 0) {
            NEED(2);
            if (mz_parse_double(f[1], 0, 50, what, &p->coact) < 0) goto fail;
        } else if (strcmp(f[0], "seq_stick") == 0 || strcmp(f[0], "layer_stick") == 0) {
            NEED(2);
            if (mz_parse_double(f[1], 0, 1, what, &d) < 0) goto fail;
            *(f[0][0] == 's' ? &p->seq_stick : &p->layer_stick) = d;
        } else if (strcmp(f[0], "skew") == 0) {
            NEED(2);
            if (mz_parse_double(f[1], 0, 100, what, &p->skew) < 0) goto fail;
        } else if (strcmp(f[0], "topic_layout") == 0) {
            NEED(2);
            if ((p->topic_layout = mz_layout_parse(f[1])) < 0) {
                mz_error("%s: '%s' is not random, strided or blocked", what, f[1]);
                goto fail;
            }
        } else if (strcmp(f[0], "logit") == 0 || strcmp(f[0], "share") == 0) {
            int slot, is_logit = f[0][0] == 'l';
            if (!p->experts) {
                mz_error("%s: 'experts' must be given before the layer lines", what);
                goto fail;
            }
            if (n != p->experts + 2) {
                mz_error("%s: expected a layer number and %d values (%d fields), found %d fields", what,
                         p->experts, p->experts + 1, n - 1);
                goto fail;
            }
            if (mz_parse_long(f[1], 0, 4095, what, &v) < 0) goto fail;
            slot = layer_slot(p, (int)v, 1);
            for (int e = 0; e < p->experts; e++) {
                char w2[300];
                double *dst = (is_logit ? p->logit : p->share) + (size_t)slot * p->experts + e;
                snprintf(w2, sizeof w2, "%s: layer %ld expert %d", what, v, e);
                if (!isnan(*dst)) {
                    mz_error("%s: layer %ld given twice", what, v);
                    goto fail;
                }
                if (mz_parse_double(f[e + 2], is_logit ? -1000 : 0, is_logit ? 1000 : 1, w2, dst) < 0)
                    goto fail;
            }
            have_logits |= is_logit;
        } else {
            mz_error("%s: unknown key", what);
            goto fail;
        }
        /* (after the key's own checks, which say more: 'experts' after a layer line) */
        for (int k = 0; scalar_keys[k]; k++)
            if (strcmp(f[0], scalar_keys[k]) == 0) {
                if (first[k]) {
                    mz_error("%s: given twice (first on line %ld)", what, first[k]);
                    goto fail;
                }
                first[k] = ln;
            }
    }
    if (mz_in_failed(in)) goto fail;
    if (!entries) {
        mz_error("%s: empty prior file (no key lines, only comments or nothing)", path);
        goto fail;
    }
    if (!p->experts || !p->topk || !p->topic_size) {
        mz_error("%s: missing %s", path, !p->experts ? "'experts'" : !p->topk ? "'topk'" : "'topic_size'");
        goto fail;
    }
    for (int i = 0; i < p->n_layers; i++)
        if (isnan(p->logit[(size_t)i * p->experts])) {
            mz_error("%s: layer %d has a share line but no logit line", path, p->layers[i]);
            goto fail;
        }
    if (!have_logits) {
        mz_error("%s: no 'logit' lines", path);
        goto fail;
    }
    {
        int any_share = 0;
        for (size_t i = 0; i < (size_t)p->n_layers * p->experts; i++) any_share |= !isnan(p->share[i]);
        if (!any_share) {
            free(p->share);
            p->share = NULL;
        }
    }
    p->source = src.s;
    free(f);
    mz_in_close(in);
    return 0;
fail:
    free(f);
    mz_buf_free(&src);
    mz_in_close(in);
    mz_prior_free(p);
    return -1;
#undef NEED
}

int mz_prior_write(const mz_prior *p, mz_out *out)
{
    if (p->source) mz_out_puts(out, p->source);
    mz_out_printf(out, "model\t%s\nexperts\t%d\ntopk\t%d\n", p->model, p->experts, p->topk);
    mz_out_printf(out, "coact\t%.6g\ntopic_size\t%d\ntopic_layout\t%s\ntopic_seed\t%lu\n", p->coact,
                  p->topic_size, mz_layout_name(p->topic_layout), p->topic_seed);
    mz_out_printf(out, "seq_stick\t%.6g\nlayer_stick\t%.6g\n", p->seq_stick, p->layer_stick);
    if (p->skew != 1.0) mz_out_printf(out, "skew\t%.6g\n", p->skew);
    for (int i = 0; i < p->n_layers; i++) {
        mz_out_printf(out, "logit\t%d", p->layers[i]);
        for (int e = 0; e < p->experts; e++)
            mz_out_printf(out, "\t%.5f", p->logit[(size_t)i * p->experts + e]);
        mz_out_puts(out, "\n");
    }
    for (int i = 0; p->share && i < p->n_layers; i++) {
        if (isnan(p->share[(size_t)i * p->experts])) continue;
        mz_out_printf(out, "share\t%d", p->layers[i]);
        for (int e = 0; e < p->experts; e++)
            mz_out_printf(out, "\t%.6g", p->share[(size_t)i * p->experts + e]);
        mz_out_puts(out, "\n");
    }
    return 0;
}

void mz_prior_for_model(const mz_model *m, mz_prior *p)
{
    prior_init(p);
    snprintf(p->model, sizeof p->model, "%s", m->name);
    p->experts = m->experts;
    p->topk = m->topk;
    p->coact = MZ_DEFAULT_COACT;
    p->topic_size = m->topk;
    p->topic_layout = MZ_LAYOUT_RANDOM;
    p->seq_stick = MZ_DEFAULT_SEQ_STICK;
    p->layer_stick = MZ_DEFAULT_LAYER_STICK;
    for (int l = 0; l < m->layers; l++)
        if (m->moe[l]) {
            int slot = layer_slot(p, l, 1);
            for (int e = 0; e < p->experts; e++) p->logit[(size_t)slot * p->experts + e] = 0;
        }
}

void mz_prior_builtin(const mz_model *m, mz_prior *p)
{
    gsl_rng *r = gsl_rng_alloc(gsl_rng_mt19937);
    mz_prior_for_model(m, p);
    gsl_rng_set(r, MZ_DEFAULT_TOPIC_SEED);
    for (size_t i = 0; i < (size_t)p->n_layers * p->experts; i++)
        p->logit[i] = gsl_ran_gaussian(r, MZ_BUILTIN_LOGIT_SD);
    free(p->share);
    p->share = NULL;
    p->source = mz_strdup("# built-in prior: no prior file for this model\n"
                          "# popularity logits drawn from N(0, 1.2), the spread of the fitted real priors\n");
    gsl_rng_free(r);
}

int mz_prior_check(const mz_prior *p, const mz_model *m, const char *path)
{
    if (p->experts != m->experts || p->topk != m->topk) {
        mz_error("%s: prior is for %d experts top-%d, model %s has %d experts top-%d", path,
                 p->experts, p->topk, m->name, m->experts, m->topk);
        return -1;
    }
    if (p->topic_size > p->experts) {
        mz_error("%s: topic_size %d exceeds the %d experts", path, p->topic_size, p->experts);
        return -1;
    }
    for (int l = 0; l < m->layers; l++)
        if (m->moe[l] && layer_slot((mz_prior *)p, l, 0) < 0) {
            mz_error("%s: no logits for MoE layer %d of %s", path, l, m->name);
            return -1;
        }
    return 0;
}

int mz_prior_slot(const mz_prior *p, int layer) { return layer_slot((mz_prior *)p, layer, 0); }
