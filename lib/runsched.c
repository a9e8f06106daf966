/* runsched.c: what mz-sched does, callable: a placed trace in, its schedule stream out (mz_sched_run). */
#include <stdlib.h>
#include <string.h>

#include "wafer.h"
#include "opt.h"

void mz_sched_run_opts_init(mz_sched_run_opts *o)
{
    memset(o, 0, sizeof *o);
    mz_sched_opts_default(&o->sched);
    o->level = 1;
    o->prog = "mz-sched";
}

/* The schedule's records go to the writer through one reused buffer. */
typedef struct {
    mz_writer *w;
    mz_buf rec;
} emitter;

static int put_op(void *arg, const mz_op *op)
{
    emitter *e = arg;
    e->rec.n = 0;
    mz_op_encode(op, &e->rec);
    return mz_writer_put(e->w, (const uint8_t *)e->rec.s, e->rec.n);
}

/* The variant's name: as given, else after the flags and, for overlap
 * with dedup, the placement (B is Mozart's contiguous layout, C its own). */
static const char *variant_label(const mz_sched_opts *s, const char *algorithm)
{
    if (!s->overlap) return s->dedup ? "dedup" : "baseline";
    if (!s->dedup) return "A";
    return strcmp(algorithm, "contiguous") == 0 ? "B" : "C";
}

/* The state of one run, released the same way on every path. */
typedef struct {
    mz_trace_reader tr;
    int have_trace, have_pl;
    mz_placement pl;
    mz_sched *s;
    mz_header h;
    emitter em;
} run;

/* Free and close what r holds (the output aborted if still open); when
 * failing, the error recorded first is the one kept. Returns -1 when
 * failing, else the result of closing the input. */
static int finish(run *r, int failing)
{
    char msg[1024];
    int ret = 0;
    if (failing) snprintf(msg, sizeof msg, "%s", mz_errmsg());
    if (r->em.w) mz_writer_abort(r->em.w);
    if (r->have_trace && mz_trace_close(&r->tr) < 0) ret = -1;
    mz_sched_free(r->s);
    if (r->have_pl) mz_placement_free(&r->pl);
    mz_header_free(&r->h);
    mz_buf_free(&r->em.rec);
    if (!failing) return ret;
    mz_error("%s", msg);
    return -1;
}

int mz_sched_run(const mz_sched_run_opts *o, const char *in_path, const char *out_path)
{
    mz_sched_opts so = o->sched;
    run r = {0};
    uint32_t step = 0;
    int have_step = 0, ret;

    if (o->variant) {
        if (strcmp(o->variant, "baseline") && strcmp(o->variant, "A") && strcmp(o->variant, "B") &&
            strcmp(o->variant, "C")) {
            mz_error("variant '%s' is not baseline, A, B or C", o->variant);
            return -1;
        }
        so.overlap = strcmp(o->variant, "baseline") != 0;
        so.dedup = strcmp(o->variant, "B") == 0 || strcmp(o->variant, "C") == 0;
        snprintf(so.variant, sizeof so.variant, "%s", o->variant);
    }
    /* the wafer's SRAM decides the order, the prefetch depth and where the
     * shared experts run */
    if (o->n_wafers) {
        mz_wafer wf;
        if (mz_wafer_open(&wf, o->wafers, o->n_wafers, o->sets, o->n_sets) < 0) return -1;
        so.sram_bytes = so.root_sram_bytes = wf.sram_bytes;
        mz_wafer_free(&wf);
    }

    if (mz_trace_open(&r.tr, in_path) < 0) return -1;
    r.have_trace = 1;
    ret = mz_placement_from_header(mz_reader_header(r.tr.r), &r.tr.info, &r.pl);
    if (ret < 0) {
        mz_error_prefix("%s", in_path);
        return finish(&r, 1);
    }
    if (ret == 0) {
        mz_error("%s: the trace has no placement (@PT/@PL lines): run it through mz-place first", in_path);
        return finish(&r, 1);
    }
    r.have_pl = 1;
    if (!o->variant) snprintf(so.variant, sizeof so.variant, "%s", variant_label(&so, r.pl.algorithm));
    if (!(r.s = mz_sched_new(&r.tr.info, &r.pl, &so))) {
        mz_error_prefix("%s", in_path);
        return finish(&r, 1);
    }

    mz_header_copy(&r.h, mz_reader_header(r.tr.r));
    mz_sched_opts_to_header(mz_sched_resolved(r.s), &r.h);
    mz_header_add_pg(&r.h, o->prog, o->argc, o->argv);
    if (strcmp(out_path, "-") == 0) mz_pipe_widen(1); /* overlap with mz-cost downstream */
    if (!(r.em.w = mz_writer_open(out_path, MZ_KIND_SCHED, &r.h, o->text, o->level))) return finish(&r, 1);
    if (!o->text && mz_opt_refuse_tty(r.em.w) < 0) {
        r.em.w = NULL; /* aborted */
        return finish(&r, 1);
    }
    /* a step's tokens are contiguous: its ops go out when the next step begins */
    while ((ret = mz_trace_next(&r.tr)) > 0) {
        if (have_step && r.tr.tok.step != step && mz_sched_emit(r.s, step, put_op, &r.em) < 0) break;
        step = r.tr.tok.step;
        have_step = 1;
        mz_sched_add(r.s, &r.tr.tok);
    }
    if (ret == 0 && have_step && mz_sched_emit(r.s, step, put_op, &r.em) < 0) ret = -1;
    if (ret != 0) return finish(&r, 1);
    {
        mz_writer *w = r.em.w;
        r.em.w = NULL;
        if (mz_writer_close(w) < 0) return finish(&r, 1);
    }
    return finish(&r, 0);
}
