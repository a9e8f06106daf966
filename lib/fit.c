/* fit.c: fit routing priors to measured expert loads (tables of counts or shares, or traces).
 *
 * Targets: per MoE layer, the share of a layer's selections that each expert
 * receives. Measured layers keep their experts' identities. Other layers get
 * the load *shape* (shares sorted by size, a function of rank) interpolated
 * in log-share, linearly in relative depth between the nearest measured
 * layers (constant beyond them), and dealt to expert ids by a seeded
 * permutation, since expert ids of different layers are unrelated. A source
 * measured on another model is placed by relative depth among MoE layers and
 * resampled by rank fraction when the expert counts differ.
 *
 * Fit: popularity logits b are found by fixed-point iteration
 *     b_e += eta * log(target_e / sampled_e)
 * where sampled shares come from the generator itself (same topics, coact,
 * stickiness), so what mz-trace draws matches the targets. */
#include <gsl/gsl_randist.h>
#include <gsl/gsl_rng.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "fit.h"

/* Smallest target share, relative to uniform: experts never seen in the
 * data get this, so their logit stays finite (1e-3 of uniform). */
#define MZ_FIT_FLOOR 1e-3

void mz_loads_free(mz_loads *d)
{
    free(d->layer);
    free(d->share);
    memset(d, 0, sizeof *d);
}

static int loads_slot(mz_loads *d, int layer)
{
    for (int i = 0; i < d->n_layers; i++)
        if (d->layer[i] == layer) return i;
    d->layer = mz_realloc(d->layer, (d->n_layers + 1) * sizeof *d->layer);
    d->share = mz_realloc(d->share, (size_t)(d->n_layers + 1) * d->experts * sizeof *d->share);
    memset(d->share + (size_t)d->n_layers * d->experts, 0, d->experts * sizeof *d->share);
    d->layer[d->n_layers] = layer;
    return d->n_layers++;
}

/* Normalise each layer to sum 1; error if a layer has no mass. */
int mz_loads_normalise(mz_loads *d, const char *path)
{
    for (int i = 0; i < d->n_layers; i++) {
        double s = 0, *v = d->share + (size_t)i * d->experts;
        for (int e = 0; e < d->experts; e++) s += v[e];
        if (!(s > 0)) {
            mz_error("%s: layer %d has no load", path, d->layer[i]);
            return -1;
        }
        for (int e = 0; e < d->experts; e++) v[e] /= s;
    }
    /* layers in ascending order */
    for (int i = 1; i < d->n_layers; i++)
        for (int j = i; j > 0 && d->layer[j - 1] > d->layer[j]; j--) {
            int t = d->layer[j];
            d->layer[j] = d->layer[j - 1], d->layer[j - 1] = t;
            for (int e = 0; e < d->experts; e++) {
                double x = d->share[(size_t)j * d->experts + e];
                d->share[(size_t)j * d->experts + e] = d->share[(size_t)(j - 1) * d->experts + e];
                d->share[(size_t)(j - 1) * d->experts + e] = x;
            }
        }
    return 0;
}

/* The rows of a loads table as read; summed into the table at the end, so
 * that its size is known once (growing it row by row cost time quadratic in
 * the layers and experts named). */
#define LOADS_LAYERS 4096
#define LOADS_MAX_VALUES (1 << 24)
typedef struct {
    int layer, expert;
    double v;
} loads_row;

/* Fill d (empty) from the rows: layers in order of first appearance
 * (loads_normalise sorts them), experts 0 to the largest id named. A table
 * of more than LOADS_MAX_VALUES values (128 MB) is refused. */
static int loads_fill(mz_loads *d, const loads_row *rv, size_t nr, const char *path)
{
    int slot_of[LOADS_LAYERS], L = 0, E = 0;
    for (int i = 0; i < LOADS_LAYERS; i++) slot_of[i] = -1;
    for (size_t r = 0; r < nr; r++) {
        if (rv[r].expert >= E) E = rv[r].expert + 1;
        if (slot_of[rv[r].layer] < 0) slot_of[rv[r].layer] = L++;
    }
    if ((size_t)L * E > LOADS_MAX_VALUES) {
        mz_error("%s: %d layers of %d experts: too large a table (at most %d values)", path, L, E,
                 LOADS_MAX_VALUES);
        return -1;
    }
    d->experts = E, d->n_layers = L;
    d->layer = mz_malloc(L * sizeof *d->layer);
    d->share = mz_calloc((size_t)L * E, sizeof *d->share);
    for (int i = 0; i < LOADS_LAYERS; i++)
        if (slot_of[i] >= 0) d->layer[slot_of[i]] = i;
    for (size_t r = 0; r < nr; r++) d->share[(size_t)slot_of[rv[r].layer] * E + rv[r].expert] += rv[r].v;
    return 0;
}

int mz_loads_read_table(const char *path, char **select, int n_select, mz_loads *d)
{
    mz_in *in = mz_in_open(path);
    char *line, **f = NULL, **col = NULL, *hdr = NULL;
    int ncol = 0, c_layer = -1, c_expert = -1, c_value = -1, *c_sel = NULL, rows = 0;
    long len;
    loads_row *rv = NULL;
    size_t nr = 0, cr = 0;
    memset(d, 0, sizeof *d);
    if (!in) return -1;
    c_sel = mz_calloc(n_select + 1, sizeof *c_sel);
    while ((len = mz_in_getline(in, &line)) >= 0) {
        long ln = mz_in_lineno(in), layer, expert;
        double v;
        int n;
        char what[256];
        if (line[0] == '#' || len == 0) continue;
        if (!col) {
            hdr = mz_strdup(line);
            ncol = 1;
            for (char *p = hdr; *p; p++) ncol += *p == '\t';
            col = mz_malloc(ncol * sizeof *col);
            f = mz_malloc((ncol + 1) * sizeof *f);
            mz_split(hdr, '\t', col, ncol);
            for (int k = 0; k < ncol; k++) {
                if (strcmp(col[k], "layer") == 0) c_layer = k;
                if (strcmp(col[k], "expert") == 0) c_expert = k;
                if (strcmp(col[k], "share") == 0 || strcmp(col[k], "count") == 0) c_value = k;
            }
            if (c_layer < 0 || c_expert < 0 || c_value < 0) {
                mz_error("%s: line %ld: header needs columns 'layer', 'expert' and 'share' or 'count'",
                         path, ln);
                goto fail;
            }
            for (int s = 0; s < n_select; s++) {
                size_t kl = strcspn(select[s], "=");
                c_sel[s] = -1;
                for (int k = 0; k < ncol; k++)
                    if (strlen(col[k]) == kl && strncmp(col[k], select[s], kl) == 0) c_sel[s] = k;
                if (c_sel[s] < 0 || !select[s][kl]) {
                    mz_error("%s: --select %s: no such column (want COLUMN=VALUE[,VALUE])", path, select[s]);
                    goto fail;
                }
            }
            continue;
        }
        if ((n = mz_split(line, '\t', f, ncol + 1)) != ncol) {
            mz_error("%s: line %ld: %d fields, the header has %d", path, ln, n < 0 ? ncol + 1 : n, ncol);
            goto fail;
        }
        {
            int keep = 1;
            for (int s = 0; s < n_select && keep; s++) {
                const char *vals = strchr(select[s], '=') + 1, *p = vals;
                size_t fl = strlen(f[c_sel[s]]);
                keep = 0;
                while (*p) {
                    size_t vl = strcspn(p, ",");
                    if (vl == fl && strncmp(p, f[c_sel[s]], vl) == 0) keep = 1;
                    p += vl + (p[vl] == ',');
                }
            }
            if (!keep) continue;
        }
        snprintf(what, sizeof what, "%s: line %ld: layer", path, ln);
        if (mz_parse_long(f[c_layer], 0, LOADS_LAYERS - 1, what, &layer) < 0) goto fail;
        snprintf(what, sizeof what, "%s: line %ld: expert", path, ln);
        if (mz_parse_long(f[c_expert], 0, 65535, what, &expert) < 0) goto fail;
        snprintf(what, sizeof what, "%s: line %ld: %s", path, ln, col[c_value]);
        if (mz_parse_double(f[c_value], 0, 1e15, what, &v) < 0) goto fail;
        if (nr == cr) rv = mz_realloc(rv, (cr = cr ? 2 * cr : 256) * sizeof *rv);
        rv[nr].layer = (int)layer, rv[nr].expert = (int)expert, rv[nr].v = v;
        nr++;
        rows++;
    }
    if (mz_in_failed(in)) goto fail;
    if (!rows) {
        mz_error("%s: no rows%s", path, n_select ? " match the selection" : "");
        goto fail;
    }
    if (loads_fill(d, rv, nr, path) < 0 || mz_loads_normalise(d, path) < 0) goto fail;
    free(f), free(col), free(hdr), free(c_sel), free(rv);
    mz_in_close(in);
    return 0;
fail:
    free(f), free(col), free(hdr), free(c_sel), free(rv);
    mz_in_close(in);
    mz_loads_free(d);
    return -1;
}

int mz_loads_from_trace(const char *path, mz_loads *d)
{
    mz_trace_reader tr;
    int ret, E, k;
    memset(d, 0, sizeof *d);
    if (mz_trace_open(&tr, path) < 0) return -1;
    E = tr.info.model.experts, k = tr.info.model.topk;
    d->experts = E;
    for (int i = 0; i < tr.info.n_layers; i++) loads_slot(d, tr.info.layers[i]);
    while ((ret = mz_trace_next(&tr)) > 0)
        for (int i = 0; i < tr.info.n_layers; i++)
            for (int j = 0; j < k; j++) d->share[(size_t)i * E + tr.tok.ids[(size_t)i * k + j]] += 1;
    if (ret < 0 || mz_trace_close(&tr) < 0) {
        if (tr.r) mz_trace_close(&tr);
        mz_loads_free(d);
        return -1;
    }
    return mz_loads_normalise(d, path);
}

static int cmp_desc(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x < y) - (x > y);
}

/* Sorted log-share shape of row v (E values) resampled to n ranks. */
static void shape(const double *v, int E, int n, double *out)
{
    double *s = mz_malloc(E * sizeof *s);
    memcpy(s, v, E * sizeof *s);
    qsort(s, E, sizeof *s, cmp_desc);
    for (int r = 0; r < n; r++) {
        /* rank r of n sits at fraction (r + 0.5) / n of the source ranks */
        double x = (r + 0.5) * E / n - 0.5, lo;
        int a;
        if (x < 0) x = 0;
        if (x > E - 1) x = E - 1;
        a = (int)floor(x);
        lo = x - a;
        out[r] = log(fmax(s[a], 1e-300)) * (1 - lo) +
                 (a + 1 < E ? log(fmax(s[a + 1], 1e-300)) * lo : log(fmax(s[a], 1e-300)) * lo);
    }
    free(s);
}

int mz_fit_targets(const mz_loads *d, const mz_model *src, const mz_model *m, unsigned long seed,
                   mz_prior *p, mz_buf *note)
{
    int E = m->experts, n_anchor = d->n_layers, same = src == m;
    double *depth = mz_malloc(n_anchor * sizeof *depth), *sh = mz_malloc((size_t)n_anchor * E * sizeof *sh);
    double *row = mz_malloc(E * sizeof *row);
    gsl_rng *r = gsl_rng_alloc(gsl_rng_mt19937);
    int *perm = mz_malloc(E * sizeof *perm);
    if (same && d->experts > E) {
        mz_error("loads name expert %d but %s has %d experts", d->experts - 1, m->name, E);
        goto fail;
    }
    /* anchors: measured layers at their relative depth among MoE layers */
    for (int i = 0; i < n_anchor; i++) {
        int idx = mz_model_moe_index(src, d->layer[i]);
        if (idx < 0) {
            mz_error("loads give layer %d, which is not an MoE layer of %s", d->layer[i], src->name);
            goto fail;
        }
        depth[i] = src->n_moe > 1 ? (double)idx / (src->n_moe - 1) : 0;
        shape(d->share + (size_t)i * d->experts, d->experts, E, sh + (size_t)i * E);
    }
    for (int l = 0, idx = 0; l < m->layers; l++) {
        int slot, exact = -1, a = 0, b = 0;
        double x, t = 0, sum = 0, cap = 0.999 / m->topk;
        if (!m->moe[l]) continue;
        x = m->n_moe > 1 ? (double)idx / (m->n_moe - 1) : 0;
        idx++;
        slot = mz_prior_slot(p, l);
        for (int i = 0; i < n_anchor; i++)
            if (same && d->layer[i] == l) exact = i;
        if (exact >= 0) {
            for (int e = 0; e < E; e++) row[e] = e < d->experts ? d->share[(size_t)exact * d->experts + e] : 0;
        } else {
            /* nearest anchors below and above in depth */
            for (int i = 0; i < n_anchor; i++) {
                if (depth[i] <= x && depth[i] >= depth[a]) a = i;
                if (depth[i] >= x && (depth[b] < x || depth[i] <= depth[b])) b = i;
            }
            if (depth[a] > x) a = b;
            if (depth[b] < x) b = a;
            t = depth[b] > depth[a] ? (x - depth[a]) / (depth[b] - depth[a]) : 0;
            for (int e = 0; e < E; e++) perm[e] = e;
            gsl_rng_set(r, seed * 7919UL + (unsigned long)l);
            gsl_ran_shuffle(r, perm, E, sizeof *perm);
            for (int k = 0; k < E; k++)
                row[perm[k]] = exp((1 - t) * sh[(size_t)a * E + k] + t * sh[(size_t)b * E + k]);
        }
        /* floor unseen experts, then cap at one selection per token, giving
         * the excess to the uncapped experts in proportion (water-filling) */
        for (int e = 0; e < E; e++) sum += row[e];
        for (int e = 0; e < E; e++) row[e] = fmax(row[e] / sum, MZ_FIT_FLOOR / E);
        for (int pass = 0; pass < E; pass++) {
            double capped = 0, free_mass = 0;
            for (int e = 0; e < E; e++) {
                if (row[e] >= cap)
                    capped += cap;
                else
                    free_mass += row[e];
            }
            if (fabs(capped + free_mass - 1) < 1e-12) break;
            for (int e = 0; e < E; e++) row[e] = row[e] >= cap ? cap : row[e] * (1 - capped) / free_mass;
        }
        for (int e = 0; e < E; e++) p->share[(size_t)slot * E + e] = row[e];
        if (note) {
            if (exact >= 0)
                mz_buf_printf(note, "#   layer %d: measured layer %d\n", l, d->layer[exact]);
            else if (a == b)
                mz_buf_printf(note, "#   layer %d: shape of %s layer %d (the nearest measured)\n", l, src->name,
                              d->layer[a]);
            else
                mz_buf_printf(note, "#   layer %d: shape interpolated %.3f of the way from %s layer %d to %d\n", l, t,
                              src->name, d->layer[a], d->layer[b]);
        }
    }
    free(depth), free(sh), free(row), free(perm);
    gsl_rng_free(r);
    return 0;
fail:
    free(depth), free(sh), free(row), free(perm);
    gsl_rng_free(r);
    return -1;
}

void mz_load_skew(const double *share, int E, double *cv, double *max_over_uniform, double *entropy)
{
    double mean = 1.0 / E, var = 0, mx = 0, h = 0;
    for (int e = 0; e < E; e++) {
        var += (share[e] - mean) * (share[e] - mean);
        if (share[e] > mx) mx = share[e];
        if (share[e] > 0) h -= share[e] * log(share[e]);
    }
    *cv = sqrt(var / E) / mean;
    *max_over_uniform = mx * E;
    *entropy = h / log(E);
}

/* Sample 'tokens' tokens (sequences of seq_len) from prior p and return the
 * per-layer selection shares in out[slot * E + e]. */
static int sample_shares(const mz_model *m, const mz_prior *p, int tokens, uint64_t seed, double *out)
{
    mz_trace_info ti = {0};
    mz_gen *g;
    mz_token tok;
    int E = m->experts, k = m->topk, seq_len = 256;
    ti.model = *m;
    ti.steps = 1, ti.seqs = 1 << 20, ti.seq_len = seq_len;
    ti.n_layers = p->n_layers;
    ti.layers = p->layers;
    ti.id_bytes = E <= 256 ? 1 : 2;
    if (!(g = mz_gen_new(&ti, p, seed))) return -1;
    mz_token_alloc(&ti, &tok);
    memset(out, 0, (size_t)p->n_layers * E * sizeof *out);
    for (int t = 0; t < tokens; t++) {
        if (t % seq_len == 0) mz_gen_sequence(g);
        mz_gen_token(g, &tok);
        for (int i = 0; i < p->n_layers; i++)
            for (int j = 0; j < k; j++) out[(size_t)i * E + tok.ids[(size_t)i * k + j]] += 1;
    }
    for (size_t i = 0; i < (size_t)p->n_layers * E; i++) out[i] /= (double)tokens * k;
    mz_token_free(&tok);
    mz_gen_free(g);
    return 0;
}

int mz_fit_logits(mz_prior *p, const mz_model *m, int iters, int tokens, uint64_t seed, double *fitted)
{
    int E = m->experts;
    size_t n = (size_t)p->n_layers * E;
    double *obs = mz_malloc(n * sizeof *obs);
    for (size_t i = 0; i < n; i++) p->logit[i] = log(p->share[i]);
    for (int it = 0; it < iters; it++) {
        /* full steps first, then smaller ones that average out sampling noise */
        double eta = it < iters / 2 ? 1.0 : 1.0 / (1 + it - iters / 2);
        if (sample_shares(m, p, tokens, seed + it, obs) < 0) {
            free(obs);
            return -1;
        }
        for (size_t i = 0; i < n; i++) {
            double floor = 0.5 / ((double)tokens * m->topk);
            p->logit[i] += eta * log(p->share[i] / fmax(obs[i], floor));
        }
        /* logits are defined up to a constant per layer: centre them */
        for (int l = 0; l < p->n_layers; l++) {
            double mean = 0;
            for (int e = 0; e < E; e++) mean += p->logit[(size_t)l * E + e] / E;
            for (int e = 0; e < E; e++) p->logit[(size_t)l * E + e] -= mean;
        }
    }
    if (fitted && sample_shares(m, p, tokens * 4, seed + iters, fitted) < 0) {
        free(obs);
        return -1;
    }
    free(obs);
    return 0;
}
