/* runview.c: what mz-view does, callable: any mz stream in; its header, a summary, a count or a converted or selected copy out. */
#include <stdlib.h>
#include <string.h>

#include "trace.h"
#include "opt.h"

void mz_view_opts_init(mz_view_opts *o)
{
    memset(o, 0, sizeof *o);
    o->prog = "mz-view";
    o->level = 1;
}

int mz_view_check(const mz_view_opts *o, int n_inputs)
{
    if (n_inputs > 1)
        mz_error("one input file at most");
    else if (o->header_only + o->count_only + o->text + o->binary > 1)
        mz_error("-H, -c, -t and -b exclude each other");
    else if (o->level == 0 && !o->binary)
        mz_error("-u goes with -b");
    else
        return 0;
    return -1;
}

/* Is v in the sorted list? */
static int in_list(const int *list, int n, int v)
{
    int lo = 0, hi = n - 1;
    while (lo <= hi) {
        int mid = (lo + hi) / 2;
        if (list[mid] == v) return 1;
        if (list[mid] < v)
            lo = mid + 1;
        else
            hi = mid - 1;
    }
    return 0;
}

/* The state of one run, released the same way on every path. */
typedef struct {
    mz_reader *r;
    mz_header h;
    int is_trace;
    mz_trace_info in_t, out_t; /* the input's geometry and the output's (the kept layers) */
    mz_token tok, otok;
    uint8_t *orec;              /* a record of the output's geometry */
    int *steps, n_steps;        /* -n: kept steps, sorted */
    int *keep, n_keep;          /* -l: the input's layer slot of each kept layer */
    uint32_t last[3];           /* the order check */
    int have_last;
    int summing;                /* the summary is printed: count the selections */
    uint64_t tokens, *count;    /* the summary's: tokens, selections [out_t.n_layers * experts] */
    const mz_codec *codec;      /* other kinds: records checked through their codec */
    void *cctx;
    mz_buf scratch;
    mz_writer *w;
    mz_out *out;
} run;

/* Free what r holds (the outputs still open aborted); when failing, the
 * error recorded first is the one kept. Returns -1 when failing, else the
 * result of closing the input. */
static int finish(run *r, int failing)
{
    char msg[1024];
    int ret = 0;
    if (failing) snprintf(msg, sizeof msg, "%s", mz_errmsg());
    if (r->w) mz_writer_abort(r->w);
    if (r->out) mz_out_abort(r->out);
    if (r->r && mz_reader_close(r->r) < 0) ret = -1;
    free(r->steps), free(r->keep), free(r->orec), free(r->count);
    mz_token_free(&r->tok), mz_token_free(&r->otok);
    mz_trace_info_free(&r->in_t), mz_trace_info_free(&r->out_t);
    mz_header_free(&r->h);
    if (r->cctx) r->codec->done(r->cctx);
    mz_buf_free(&r->scratch);
    if (!failing) return ret;
    mz_error("%s", msg);
    return -1;
}

/* The per-layer summary of a trace: tokens, selections, the hottest expert. */
static int summary_write(mz_out *out, const mz_trace_info *t, uint64_t tokens, const uint64_t *count)
{
    int E = t->model.experts;
    uint64_t sel = tokens * t->model.topk;
    double mean = 0;
    if (mz_out_printf(out, "#summary\nlayer\ttokens\tselections\thottest_expert\thottest_share\thottest_over_uniform\n") < 0)
        return -1;
    for (int l = 0; l < t->n_layers; l++) {
        const uint64_t *c = count + (size_t)l * E;
        int best = 0;
        double share;
        for (int e = 0; e < E; e++)
            if (c[e] > c[best]) best = e;
        share = sel ? (double)c[best] / sel : 0;
        mean += share / t->n_layers;
        if (mz_out_printf(out, "%d\t%llu\t%llu\t%d\t%.4f\t%.2f\n", t->layers[l], (unsigned long long)tokens,
                          (unsigned long long)sel, best, share, share * E) < 0)
            return -1;
    }
    /* expert ids differ between layers: the all row averages the layers */
    return mz_out_printf(out, "all\t%llu\t%llu\t-\t%.4f\t%.2f\n", (unsigned long long)tokens,
                         (unsigned long long)sel * t->n_layers, mean, mean * E);
}

/* A trace's geometry in and out: -n's steps, -l's layers (the header
 * rewritten to them), the summary's counts. */
static int trace_setup(run *r, const mz_view_opts *o, const char *in_path)
{
    if (mz_trace_info_from_header(&r->h, &r->in_t) < 0) {
        mz_error_prefix("%s", in_path);
        return -1;
    }
    mz_token_alloc(&r->in_t, &r->tok);
    if (o->steps && (r->n_steps = mz_parse_ranges(o->steps, 0, r->in_t.steps - 1, "--steps", &r->steps)) < 0) return -1;
    mz_trace_info_from_header(&r->h, &r->out_t);
    if (o->layers) {
        int *want, n_want = mz_parse_ranges(o->layers, 0, r->in_t.model.layers - 1, "--layers", &want);
        if (n_want < 0) return -1;
        r->keep = mz_malloc(n_want * sizeof *r->keep);
        for (int i = 0; i < n_want; i++) {
            int j = 0;
            while (j < r->in_t.n_layers && r->in_t.layers[j] != want[i]) j++;
            if (j == r->in_t.n_layers) {
                mz_error("--layers: layer %d is not in the trace", want[i]);
                free(want);
                return -1;
            }
            r->keep[r->n_keep++] = j;
            r->out_t.layers[i] = want[i];
        }
        r->out_t.n_layers = n_want;
        free(want);
        mz_trace_info_to_header(&r->out_t, &r->h);
    }
    mz_token_alloc(&r->out_t, &r->otok);
    r->orec = mz_malloc(mz_trace_record_size(&r->out_t));
    r->count = mz_calloc((size_t)r->out_t.n_layers * r->out_t.model.experts, sizeof *r->count);
    return 0;
}

/* One trace record: checked, selected (0: dropped), cut to the kept
 * layers (*rec, *len then the output's record) and counted. */
static int trace_record(run *r, const uint8_t **rec, size_t *len)
{
    const mz_trace_info *in_t = &r->in_t, *out_t = &r->out_t;
    if (mz_token_decode(in_t, *rec, *len, &r->tok) < 0 || mz_token_check_order(r->last, &r->have_last, &r->tok) < 0)
        return -1;
    if (r->steps && !in_list(r->steps, r->n_steps, (int)r->tok.step)) return 0;
    if (r->keep) {
        int k = in_t->model.topk;
        r->otok.step = r->tok.step, r->otok.seq = r->tok.seq, r->otok.tok = r->tok.tok;
        for (int i = 0; i < r->n_keep; i++) {
            memcpy(r->otok.ids + (size_t)i * k, r->tok.ids + (size_t)r->keep[i] * k, k * sizeof *r->otok.ids);
            if (in_t->weights)
                memcpy(r->otok.w + (size_t)i * k, r->tok.w + (size_t)r->keep[i] * k, k * sizeof *r->otok.w);
        }
        mz_token_encode(out_t, &r->otok, r->orec);
        *rec = r->orec;
        *len = mz_trace_record_size(out_t);
    }
    /* the summary's counts (of the kept layers), only when the summary is printed */
    if (r->summing) {
        const uint16_t *ids = r->keep ? r->otok.ids : r->tok.ids;
        r->tokens++;
        for (int i = 0; i < out_t->n_layers; i++)
            for (int j = 0; j < out_t->model.topk; j++)
                r->count[(size_t)i * out_t->model.experts + ids[(size_t)i * out_t->model.topk + j]]++;
    }
    return 1;
}

int mz_view_run(const mz_view_opts *o, const char *in_path, const char *out_path)
{
    run r = {0};
    const uint8_t *rec;
    size_t len;
    uint64_t kept = 0;
    int ret, bad_record = 0, selecting = o->steps || o->layers;

    r.summing = !o->text && !o->binary && !o->count_only;
    if (!(r.r = mz_reader_open(in_path, 0))) return -1;
    r.is_trace = mz_reader_kind(r.r) == MZ_KIND_TRACE;
    if (selecting && !r.is_trace) {
        mz_error("%s: -s and -l select from traces only", in_path);
        return finish(&r, 1);
    }
    mz_header_copy(&r.h, mz_reader_header(r.r));
    if (r.is_trace) {
        if (trace_setup(&r, o, in_path) < 0) return finish(&r, 1);
    } else {
        /* a count or a copy vouches for the records too: check each against
         * the header, as mz_token_decode checks a trace's */
        r.codec = mz_codec_for(mz_reader_kind(r.r));
        if (!(r.cctx = r.codec->init(&r.h))) {
            mz_error_prefix("%s", in_path);
            return finish(&r, 1);
        }
    }

    if (o->text || o->binary) {
        /* a conversion leaves the data as it was, so only a selection is provenance */
        if (selecting) mz_header_add_pg(&r.h, o->prog, o->argc, o->argv);
        if (!(r.w = mz_writer_open(out_path, mz_reader_kind(r.r), &r.h, o->text, o->level))) return finish(&r, 1);
        if (o->binary && mz_opt_refuse_tty(r.w) < 0) {
            r.w = NULL; /* aborted */
            return finish(&r, 1);
        }
    } else {
        if (!(r.out = mz_out_open(out_path, 0))) return finish(&r, 1);
        if (!o->count_only) {
            mz_buf b = {0};
            mz_header_text(&r.h, &b);
            ret = mz_out_write(r.out, b.s, b.n);
            mz_buf_free(&b);
            if (ret < 0) return finish(&r, 1);
        }
    }
    if (!o->header_only) {
        while ((ret = mz_reader_next(r.r, &rec, &len)) > 0) {
            if (r.is_trace) {
                if ((ret = trace_record(&r, &rec, &len)) < 0) {
                    bad_record = 1;
                    break;
                }
                if (ret == 0) continue;
            } else {
                r.scratch.n = 0;
                if ((ret = r.codec->to_text(r.cctx, rec, len, &r.scratch)) < 0) {
                    bad_record = 1;
                    break;
                }
            }
            kept++;
            if (r.w && mz_writer_put(r.w, rec, len) < 0) return finish(&r, 1);
        }
        if (ret < 0) {
            /* a record the reader read but that does not decode: name its place */
            if (bad_record) mz_error_prefix("%s", mz_reader_where(r.r));
            return finish(&r, 1);
        }
        if (r.w) {
            mz_writer *w = r.w;
            r.w = NULL;
            if (mz_writer_close(w) < 0) return finish(&r, 1);
        } else if (o->count_only) {
            ret = mz_out_printf(r.out, "%llu\n", (unsigned long long)kept);
        } else if (r.is_trace) {
            ret = summary_write(r.out, &r.out_t, r.tokens, r.count);
        } else {
            ret = mz_out_printf(r.out, "#summary\nrecords\n%llu\n", (unsigned long long)kept);
        }
        if (ret < 0) return finish(&r, 1);
    }
    if (r.out) {
        mz_out *out = r.out;
        r.out = NULL;
        if (mz_out_close(out) < 0) return finish(&r, 1);
    }
    return finish(&r, 0);
}
