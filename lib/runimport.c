/* runimport.c: what mz-import does, callable: a real routing log in, a trace out (or a count set in, a loads table out). */
#include <stdlib.h>
#include <string.h>

#include "fit.h"
#include "opt.h"

void mz_import_run_opts_init(mz_import_run_opts *o)
{
    memset(o, 0, sizeof *o);
    o->prog = "mz-import";
    o->layer_index = MZ_LAYERS_AUTO;
    o->level = 1;
    o->im.format = MZ_IMPORT_AUTO;
    o->im.seqs = 32, o->im.seq_len = 0, o->im.max_run = 64, o->im.packed_len = 512;
}

int mz_import_run_check(const mz_import_run_opts *o, int n_inputs)
{
    if (n_inputs > 1)
        mz_error("one input file at most");
    else if (o->text && o->level == 0)
        mz_error("-u and -t exclude each other");
    else if (!o->model)
        mz_error("no model given (-m)");
    else if (o->im.weights && (o->im.format == MZ_IMPORT_TSV || o->im.format == MZ_IMPORT_CSV))
        mz_error("-w: TSV and CSV logs carry no gate weights");
    else
        return 0;
    return -1;
}

/* Each anomaly, as found: "PROG: FILE: line N: kind: what". */
static void report(void *arg, const char *msg)
{
    const mz_import_run_opts *o = arg;
    fprintf(o->warn, "%s: %s\n", o->prog, msg);
}

/* "2 warmup (16384 tokens), 1 range (1 token)" for the kinds in set. */
static void describe(const mz_import_counts *c, unsigned set, mz_buf *b)
{
    int n = 0;
    for (int k = 0; k < MZ_ANOM_KINDS; k++)
        if (set & (1u << k))
            mz_buf_printf(b, "%s%ld %s (%llu %s%s)", n++ ? ", " : "", c->found[k], mz_anomaly_name(k),
                          (unsigned long long)c->dropped[k], k == MZ_ANOM_REPEAT ? "row" : "token",
                          c->dropped[k] == 1 ? "" : "s");
}

/* A count set to a loads table ("layer expert count"), with a summary. */
static int import_counts(mz_import *im, const mz_import_run_opts *o, const char *in_path, const char *out_path)
{
    mz_loads d;
    mz_buf note = {0}, line = {0};
    mz_out *out;
    int ret = -1;
    if (mz_import_read_counts(im, o->layer_index, &d, &note) < 0) return -1;
    if (!(out = mz_out_open(out_path, 0))) goto done;
    mz_buf_printf(&line, "expert selection counts from %s: %s", in_path, note.s);
    if (mz_loads_write_counts(&d, line.s, out) < 0) {
        mz_out_abort(out);
        goto done;
    }
    if (mz_out_close(out) < 0) goto done;
    if (o->warn) {
        double lo = 0, hi = 0;
        for (int l = 0; l < d.n_layers; l++) {
            double t = 0;
            for (int e = 0; e < d.experts; e++) t += d.share[(size_t)l * d.experts + e];
            if (!l || t < lo) lo = t;
            if (!l || t > hi) hi = t;
        }
        fprintf(o->warn, "%s: %s: a count set, %s; %d layers x %d experts, %.0f to %.0f selections per layer; "
                         "wrote a loads table\n", o->prog, in_path, note.s, d.n_layers, d.experts, lo, hi);
    }
    ret = 0;
done:
    mz_buf_free(&line);
    mz_loads_free(&d);
    mz_buf_free(&note);
    return ret;
}

/* The anomalies found but not allowed to be dropped: the error naming them. */
static void refusal(const mz_import_counts *cnt, unsigned refused, const char *in_path)
{
    mz_buf what = {0}, kinds = {0};
    describe(cnt, refused, &what);
    for (int k = 0, n = 0; k < MZ_ANOM_KINDS; k++)
        if (refused & (1u << k)) mz_buf_printf(&kinds, "%s%s", n++ ? "," : "", mz_anomaly_name(k));
    mz_error("%s: refusing to import a log with anomalies: %s; drop them with --drop %s (or --drop all), or fix the log",
             in_path, what.s, kinds.s);
    mz_buf_free(&what), mz_buf_free(&kinds);
}

/* The summary line: tokens kept, sequences, what was dropped. */
static void summary(const mz_import_run_opts *o, const mz_import_counts *cnt, const char *in_path)
{
    mz_buf what = {0};
    unsigned dropped = 0;
    for (int k = 0; k < MZ_ANOM_KINDS; k++)
        if (cnt->found[k]) dropped |= 1u << k;
    describe(cnt, dropped, &what);
    fprintf(o->warn, "%s: %s: %llu of %llu tokens kept in %ld sequences (longest %ld)%s%s\n", o->prog, in_path,
            (unsigned long long)cnt->tokens, (unsigned long long)cnt->tokens_in, cnt->seqs, cnt->longest,
            dropped ? "; dropped: " : "", dropped ? what.s : "");
    mz_buf_free(&what);
}

/* A route log to a trace: read and check it all, then write it. */
static int import_log(mz_import *im, const mz_import_run_opts *o, const char *in_path, const char *out_path)
{
    const mz_import_counts *cnt;
    unsigned refused;
    mz_header h = {0};
    mz_writer *w;
    if (mz_import_read(im) < 0) return -1;
    cnt = mz_import_get_counts(im);
    if ((refused = mz_import_refused(im))) {
        refusal(cnt, refused, in_path);
        return -1;
    }
    if (mz_import_header(im, &h) < 0) goto fail;
    {
        /* what -m named, as resolved (mz_find_data's rule) */
        char *model_path = mz_model_find(o->model);
        const char *keys[] = {"model"}, *paths[] = {model_path};
        mz_header_add_pg_resolved(&h, o->prog, o->argc, o->argv, 1, keys, paths);
        free(model_path);
    }
    if (!(w = mz_writer_open(out_path, MZ_KIND_TRACE, &h, o->text, o->level))) goto fail;
    if (!o->text && mz_opt_refuse_tty(w) < 0) goto fail; /* aborted */
    if (mz_import_write(im, w) < 0) {
        mz_writer_abort(w);
        goto fail;
    }
    if (mz_writer_close(w) < 0) goto fail;
    mz_header_free(&h);
    if (o->warn) summary(o, cnt, in_path);
    return 0;
fail:
    mz_header_free(&h);
    return -1;
}

int mz_import_run(const mz_import_run_opts *o, const char *in_path, const char *out_path)
{
    mz_import_opts io = o->im;
    mz_model m;
    mz_import *im;
    int *layers = NULL, ret;
    if (mz_model_load(o->model, &m) < 0) return -1;
    if (o->layers) {
        if ((io.n_layers = mz_parse_ranges(o->layers, 0, m.layers - 1, "--layers", &layers)) < 0) {
            mz_model_free(&m);
            return -1;
        }
        io.layers = layers;
    }
    io.report = o->warn ? report : NULL, io.arg = (void *)o;
    if (!(im = mz_import_open(in_path, &m, &io)))
        ret = -1;
    else if (mz_import_counts_format(im))
        ret = import_counts(im, o, in_path, out_path);
    else
        ret = import_log(im, o, in_path, out_path);
    if (im) {
        char msg[1024];
        snprintf(msg, sizeof msg, "%s", mz_errmsg());
        mz_import_close(im); /* the error recorded first is the one kept */
        if (ret < 0) mz_error("%s", msg);
    }
    mz_model_free(&m);
    free(layers);
    return ret;
}
