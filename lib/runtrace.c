/* runtrace.c: what mz-trace does, callable: a model and its routing prior in, a generated trace out (mz_trace_run). */
#include <stdlib.h>
#include <string.h>

#include "trace.h"
#include "opt.h"

void mz_trace_run_opts_init(mz_trace_run_opts *o)
{
    memset(o, 0, sizeof *o);
    o->prog = "mz-trace";
    o->steps = 1, o->seqs = 32, o->seq_len = 256;
    o->seed = 1;
    o->coact = o->seq_stick = o->layer_stick = o->skew = -1;
    o->topic_layout = -1;
    o->level = 1;
}

/* The state of one run, released the same way on every path. */
typedef struct {
    mz_trace_info ti;
    mz_prior prior;
    int have_prior;
    char *prior_path;  /* the prior file read, or NULL (built in) */
    mz_header h;
    mz_gen *g;
    mz_writer *w;
    mz_token tok;
    uint8_t *rec;
} run;

/* Free what r holds (the output aborted if still open); when failing, the
 * error recorded first is the one kept. Returns -1 when failing, else 0. */
static int finish(run *r, int failing)
{
    char msg[1024];
    if (failing) snprintf(msg, sizeof msg, "%s", mz_errmsg());
    if (r->w) mz_writer_abort(r->w);
    free(r->rec);
    mz_token_free(&r->tok);
    mz_gen_free(r->g);
    if (r->have_prior) mz_prior_free(&r->prior);
    free(r->prior_path);
    mz_header_free(&r->h);
    mz_trace_info_free(&r->ti);
    if (!failing) return 0;
    mz_error("%s", msg);
    return -1;
}

/* The traced layers: -l's (each one MoE), else every MoE layer. */
static int traced_layers(mz_trace_info *ti, const char *layers)
{
    if (!layers) {
        ti->layers = mz_malloc(ti->model.n_moe * sizeof *ti->layers);
        for (int l = 0; l < ti->model.layers; l++)
            if (ti->model.moe[l]) ti->layers[ti->n_layers++] = l;
        return 0;
    }
    if ((ti->n_layers = mz_parse_ranges(layers, 0, ti->model.layers - 1, "--layers", &ti->layers)) < 0) {
        ti->n_layers = 0;
        return -1;
    }
    for (int i = 0; i < ti->n_layers; i++)
        if (!ti->model.moe[ti->layers[i]]) {
            mz_error("--layers: layer %d of %s is dense, not MoE", ti->layers[i], ti->model.name);
            return -1;
        }
    return 0;
}

/* The routing prior: -p's, the catalogue's (models/NAME.prior, for a
 * catalogue name), or built in; checked against the model, then the
 * options' overrides. */
static int routing_prior(run *r, const mz_trace_run_opts *o)
{
    if (o->prior) {
        if (!(r->prior_path = mz_find_data(o->prior)) || mz_prior_read(r->prior_path, &r->prior) < 0) return -1;
    } else {
        char name[MZ_NAME_MAX + 8];
        snprintf(name, sizeof name, "%s.prior", r->ti.model.name);
        if (!strchr(o->model, '/') && (r->prior_path = mz_find_data(name))) {
            if (mz_prior_read(r->prior_path, &r->prior) < 0) return -1;
        } else {
            mz_prior_builtin(&r->ti.model, &r->prior);
        }
    }
    r->have_prior = 1;
    if (mz_prior_check(&r->prior, &r->ti.model, r->prior_path ? r->prior_path : "built-in prior") < 0) return -1;
    if (o->coact >= 0) r->prior.coact = o->coact;
    if (o->topic_size > 0) {
        if (o->topic_size > r->ti.model.experts) {
            mz_error("--topic-size %d exceeds the %d experts", o->topic_size, r->ti.model.experts);
            return -1;
        }
        r->prior.topic_size = o->topic_size;
    }
    if (o->topic_layout >= 0) r->prior.topic_layout = o->topic_layout;
    if (o->seq_stick >= 0) r->prior.seq_stick = o->seq_stick;
    if (o->layer_stick >= 0) r->prior.layer_stick = o->layer_stick;
    if (o->skew >= 0) r->prior.skew = o->skew;
    return 0;
}

/* The trace's header: @MD and @TR, @GN (the generator's parameters), @PG
 * with what -m and -p named, as resolved (mz_find_data's rule). */
static void trace_header(run *r, const mz_trace_run_opts *o)
{
    const mz_prior *p = &r->prior;
    const char *base = r->prior_path ? strrchr(r->prior_path, '/') : NULL;
    char *model_path = mz_model_find(o->model);
    const char *keys[] = {"model", "prior"}, *paths[] = {model_path, r->prior_path};
    mz_trace_info_to_header(&r->ti, &r->h);
    mz_header_add(&r->h,
                  "@GN\tprior:%s\tseed:%lu\tcoact:%g\ttopic_size:%d\ttopic_layout:%s\ttopic_seed:%lu"
                  "\tseq_stick:%g\tlayer_stick:%g\tskew:%g",
                  r->prior_path ? (base ? base + 1 : r->prior_path) : "built-in", o->seed, p->coact, p->topic_size,
                  mz_layout_name(p->topic_layout), p->topic_seed, p->seq_stick, p->layer_stick, p->skew);
    mz_header_add_pg_resolved(&r->h, o->prog, o->argc, o->argv, 2, keys, paths);
    free(model_path);
}

int mz_trace_run(const mz_trace_run_opts *o, const char *out_path)
{
    run r = {0};
    mz_trace_info *ti = &r.ti;
    size_t size;

    if (!o->model) {
        mz_error("no model given (-m)");
        return -1;
    }
    if (mz_model_load(o->model, &ti->model) < 0) return finish(&r, 1);
    ti->steps = o->steps, ti->seqs = o->seqs, ti->seq_len = o->seq_len;
    ti->weights = o->weights;
    ti->id_bytes = ti->model.experts <= 256 ? 1 : 2;
    if (traced_layers(ti, o->layers) < 0) return finish(&r, 1);
    /* the tables the geometry asks for, before the prior's are built (the
     * built-in prior's topics are top-k experts) */
    if (mz_gen_check(&ti->model, ti->n_layers, o->topic_size > 0 ? o->topic_size : ti->model.topk) < 0) {
        mz_error_prefix("%s", o->model);
        return finish(&r, 1);
    }
    if (routing_prior(&r, o) < 0) return finish(&r, 1);
    trace_header(&r, o);

    /* the generator first: its tables are checked against the limit before
     * anything is written */
    if (!(r.g = mz_gen_new(ti, &r.prior, (uint64_t)o->seed))) {
        mz_error_prefix("%s", o->model);
        return finish(&r, 1);
    }
    if (!(r.w = mz_writer_open(out_path, MZ_KIND_TRACE, &r.h, o->text, o->level))) return finish(&r, 1);
    if (!o->text && mz_opt_refuse_tty(r.w) < 0) {
        r.w = NULL; /* aborted */
        return finish(&r, 1);
    }
    mz_token_alloc(ti, &r.tok);
    size = mz_trace_record_size(ti);
    r.rec = mz_malloc(size);
    for (int s = 0; s < o->steps; s++)
        for (int q = 0; q < o->seqs; q++) {
            mz_gen_sequence(r.g);
            for (int t = 0; t < o->seq_len; t++) {
                r.tok.step = (uint32_t)s, r.tok.seq = (uint32_t)q, r.tok.tok = (uint32_t)t;
                mz_gen_token(r.g, &r.tok);
                mz_token_encode(ti, &r.tok, r.rec);
                if (mz_writer_put(r.w, r.rec, size) < 0) return finish(&r, 1);
            }
        }
    {
        mz_writer *w = r.w;
        r.w = NULL;
        if (mz_writer_close(w) < 0) return finish(&r, 1);
    }
    return finish(&r, 0);
}
