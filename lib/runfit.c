/* runfit.c: mz-fit's work: read the measured loads (a table, a count set or a trace), fit the prior, write it and the report. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fit.h"

void mz_fit_run_opts_init(mz_fit_run_opts *o)
{
    memset(o, 0, sizeof *o);
    o->layer_index = MZ_LAYERS_AUTO;
    o->coact = MZ_DEFAULT_COACT;
    o->topic_layout = -1;
    o->topic_seed = MZ_DEFAULT_TOPIC_SEED;
    o->seq_stick = MZ_DEFAULT_SEQ_STICK;
    o->layer_stick = MZ_DEFAULT_LAYER_STICK;
    o->iters = 30;
    o->tokens = 20000;
    o->seed = 1;
}

/* Which count format a table file is (MZ_COUNTS_*), 0 for a loads table. */
static int table_format(const char *path, int format)
{
    char head[4096];
    long n;
    mz_in *in;
    struct stat st;
    if (format) return format;
    /* looking would consume a pipe (or standard input): a loads table unless --format says */
    if (strcmp(path, "-") == 0 || stat(path, &st) < 0 || !S_ISREG(st.st_mode)) return 0;
    if (!(in = mz_in_open(path))) return -1;
    n = mz_in_peek(in, head, sizeof head);
    mz_in_close(in);
    if (n < 0) return -1;
    /* a tab-separated header line is our loads table (read as it always was) */
    for (long i = 0; i < n;) {
        long e = i;
        while (e < n && head[e] != '\n') e++;
        if (e > i && head[i] != '#') {
            if (((head[i] >= 'a' && head[i] <= 'z') || (head[i] >= 'A' && head[i] <= 'Z')) && memchr(head + i, '\t', e - i))
                return 0;
            break;
        }
        i = e + 1;
    }
    return mz_counts_sniff(head, (size_t)n);
}

/* The loads of in_path into d: a count set (*counts_format set, its note in
 * counts_note), a loads table, or a trace. */
static int read_loads(const mz_fit_run_opts *o, const char *in_path, const mz_model *src, int *counts_format,
                      mz_loads *d, mz_buf *counts_note)
{
    *counts_format = o->counts_format;
    if (o->trace) return mz_loads_from_trace(in_path, d);
    if ((*counts_format = table_format(in_path, o->counts_format)) < 0) return -1;
    if (*counts_format && o->n_select) {
        mz_error("%s: -S selects rows of a loads table, not of a count set", in_path);
        return -1;
    }
    if (*counts_format)
        return mz_counts_read(in_path, src, *counts_format, o->layer_index, d, counts_note) < 0 ||
                       mz_loads_normalise(d, in_path) < 0
                   ? -1
                   : 0;
    return mz_loads_read_table(in_path, o->select, o->n_select, d);
}

/* Per layer the skew of the targets and of the fitted shares: the report's
 * rows (when rep is set) and the worst relative error. */
static double fit_report(const mz_prior *p, const mz_model *m, const double *fitted, mz_out *rep)
{
    double worst = 0;
    if (rep)
        mz_out_puts(rep, "layer\tcv_target\tcv_fit\tmax_over_uniform_target\tmax_over_uniform_fit"
                         "\tentropy_target\tentropy_fit\n");
    for (int l = 0; l < p->n_layers; l++) {
        double a[3], b[3];
        mz_load_skew(p->share + (size_t)l * m->experts, m->experts, &a[0], &a[1], &a[2]);
        mz_load_skew(fitted + (size_t)l * m->experts, m->experts, &b[0], &b[1], &b[2]);
        for (int k = 0; k < 3; k++) worst = fmax(worst, fabs(b[k] / a[k] - 1));
        if (rep)
            mz_out_printf(rep, "%d\t%.4f\t%.4f\t%.3f\t%.3f\t%.4f\t%.4f\n", p->layers[l], a[0], b[0], a[1], b[1],
                          a[2], b[2]);
    }
    return worst;
}

int mz_fit_run(const mz_fit_run_opts *o, const char *in_path, const char *out_path)
{
    int counts_format = 0, ret = -1;
    mz_model m = {0}, src = {0};
    mz_loads loads = {0};
    mz_prior p = {0};
    mz_buf note = {0}, counts_note = {0};
    mz_out *out = NULL, *rep = NULL;
    double *fitted = NULL, worst;

    if (mz_model_load(o->model, &m) < 0) return -1;
    src = m;
    if (o->from && mz_model_load(o->from, &src) < 0) goto done; /* src is cleared then */
    /* the prior's and generator's tables, before they are built */
    if (mz_gen_check(&m, m.n_moe, o->topic_size > 0 ? o->topic_size : m.topk) < 0) {
        mz_error_prefix("%s", o->model);
        goto done;
    }
    if (read_loads(o, in_path, &src, &counts_format, &loads, &counts_note) < 0) goto done;

    mz_prior_for_model(&m, &p);
    p.coact = o->coact;
    if (o->topic_size) {
        if (o->topic_size > m.experts) {
            mz_error("--topic-size %d exceeds the %d experts", o->topic_size, m.experts);
            goto done;
        }
        p.topic_size = o->topic_size;
    }
    if (o->topic_layout >= 0) p.topic_layout = o->topic_layout;
    p.topic_seed = (unsigned long)o->topic_seed;
    p.seq_stick = o->seq_stick;
    p.layer_stick = o->layer_stick;
    free(p.share); /* NaN placeholders of mz_prior_for_model */
    p.share = mz_malloc((size_t)p.n_layers * m.experts * sizeof *p.share);

    mz_buf_printf(&note, "# routing prior for %s, fitted by mz-fit %s\n", m.name, MZ_VERSION);
    for (int i = 0; i < o->n_notes; i++) mz_buf_printf(&note, "# %s\n", o->notes[i]);
    mz_buf_printf(&note, "# loads: %s", in_path);
    for (int i = 0; i < o->n_select; i++) mz_buf_printf(&note, " %s", o->select[i]);
    if (o->from) mz_buf_printf(&note, ", measured on %s", src.name);
    if (counts_format) mz_buf_printf(&note, " (%s)", counts_note.s);
    mz_buf_printf(&note, "\n# layers:\n");
    /* its errors are the loads' disagreements with the model: name their file */
    if (mz_fit_targets(&loads, o->from ? &src : &m, &m, (unsigned long)o->seed, &p, &note) < 0) {
        mz_error_prefix("%s", in_path);
        goto done;
    }
    fitted = mz_malloc((size_t)p.n_layers * m.experts * sizeof *fitted);
    if (mz_fit_logits(&p, &m, o->iters, o->tokens, (uint64_t)o->seed, fitted) < 0) goto done;

    /* how well the generator now reproduces the targets */
    if (o->report_path && !(rep = mz_out_open(o->report_path, 0))) goto done;
    worst = fit_report(&p, &m, fitted, rep);
    mz_buf_printf(&note,
                  "# fit: %d iterations of %d tokens, seed %d; worst relative error of the skew "
                  "(cv, max/uniform, entropy) over layers: %.1f%%\n",
                  o->iters, o->tokens, o->seed, 100 * worst);
    if (rep) {
        mz_out *r = rep;
        rep = NULL;
        if (mz_out_close(r) < 0) goto done;
    }
    p.source = note.s; /* the prior's now: freed with it */
    note.s = NULL;
    if (!(out = mz_out_open(out_path, 0))) goto done;
    if (mz_prior_write(&p, out) < 0) goto done;
    {
        mz_out *w = out;
        out = NULL;
        if (mz_out_close(w) < 0) goto done;
    }
    ret = 0;
done:
    if (rep) mz_out_abort(rep);
    if (out) mz_out_abort(out);
    free(fitted);
    mz_buf_free(&note);
    mz_buf_free(&counts_note);
    mz_prior_free(&p);
    mz_loads_free(&loads);
    if (o->from) mz_model_free(&src);
    mz_model_free(&m);
    return ret;
}
