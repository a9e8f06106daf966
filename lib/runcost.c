/* runcost.c: what mz-cost does, callable: a schedule in, its step table (and -b, -r, -F, -T files) out; --area; --fit. */
#include <stdlib.h>
#include <string.h>

#include "wafer.h"
#include "opt.h"

/* The calibrated constants of models/calibrated.wafer (mz-model(7) section 7). */
#define FREE_DEFAULT "root.dispatch_Bpc=8:128"

void mz_cost_file_opts_init(mz_cost_file_opts *o)
{
    memset(o, 0, sizeof *o);
    o->prog = "mz-cost";
    o->timeline_steps = "0";
    o->free_list = FREE_DEFAULT;
}

int mz_cost_file_check(const mz_cost_file_opts *o, int n_schedules)
{
    int *steps = NULL;
    if (o->area && (o->fit || o->breakdown || o->resources || o->timeline || o->footprint || o->strict ||
                    n_schedules || !o->n_wafers)) {
        mz_error("--area takes the wafer (-w, -s) and -o only");
        return -1;
    }
    if (o->fit) {
        if (o->n_wafers || o->breakdown || o->resources || o->timeline || o->footprint || n_schedules) {
            mz_error("--fit takes the schedules and wafers from TARGETS: no -w, -b, -r, -F, -T or SCHEDULE");
            return -1;
        }
        return 0;
    }
    if (n_schedules > 1) {
        mz_error("one schedule at most");
        return -1;
    }
    if (!o->n_wafers) {
        mz_error("give a wafer description with -w (e.g. -w wafer-qwen3-30b-a3b)");
        return -1;
    }
    if (mz_parse_ranges(o->timeline_steps, 0, 0x7fffffff, "--timeline-steps", &steps) < 0) return -1;
    free(steps);
    return 0;
}

/* --fit: the wafer constants of --free fitted to TARGETS' latencies. */
static int fit_run(const mz_cost_file_opts *o, const char *out_path)
{
    char *copy = mz_strdup(o->free_list), *p = copy, *item, *keys[16];
    int n = 0, ret = -1;
    mz_fit *f = NULL;
    mz_out *out = NULL;
    while ((item = strsep(&p, ",")) != NULL) {
        if (n == 16) {
            mz_error("--free: too many fields");
            goto done;
        }
        keys[n++] = item;
    }
    if (!(f = mz_fit_load(o->fit, o->sets, o->n_sets)) || mz_fit_solve(f, keys, n, o->quiet ? NULL : o->warn) < 0 ||
        !(out = mz_out_open(out_path, 0)))
        goto done;
    if (mz_fit_write(f, out) < 0) {
        mz_out_abort(out);
        goto done;
    }
    ret = mz_out_close(out);
done:
    mz_fit_free(f);
    free(copy);
    return ret;
}

/* The "#wafer\tFILE..." line every table opens with, after its own first line. */
static void wafer_line(mz_buf *b, const mz_wafer *w)
{
    mz_buf_puts(b, "#wafer");
    for (int k = 0; k < w->n_layers; k++) mz_buf_printf(b, "\t%s", w->layer[k]);
    mz_buf_puts(b, "\n");
}

/* --area: the wafer's area table, bottom-up. */
static int area_run(const mz_wafer *w, const char *out_path)
{
    mz_buf b = {0};
    mz_out *out;
    int ret = -1;
    if (!(out = mz_out_open(out_path, 0))) return -1;
    mz_buf_puts(&b, "#mz-cost\tarea\n");
    wafer_line(&b, w);
    if (mz_out_puts(out, b.s) < 0 || mz_area_write(w, out) < 0)
        mz_out_abort(out);
    else
        ret = mz_out_close(out);
    mz_buf_free(&b);
    return ret;
}

/* The outputs of a costing run: the step table, then -b, -r, -T and -F. */
enum { OUT_STEPS, OUT_BREAKDOWN, OUT_RESOURCES, OUT_TIMELINE, OUT_FOOTPRINT, N_OUT };

/* The state of one costing run, released the same way on every path. */
typedef struct {
    mz_reader *rd;
    mz_cost *cost;
    mz_out *out[N_OUT];
    mz_op op;
    int *tl_steps, n_tl, first_event, warned, all_fit;
    long steps;
    double t0;                                     /* the timeline's next step starts here */
    double sum_lat, sum_tok, sum_ct, sum_ct_group; /* the mean row's sums (ct weighted by tokens) */
    double sum_ops, sum_path, sum_e, sum_static, area_mm2, peak_W;
} run;

/* Free what r holds (the outputs still open aborted); when failing, the
 * error recorded first is the one kept. Returns -1 when failing, else 0. */
static int finish(run *r, int failing)
{
    char msg[1024];
    if (failing) snprintf(msg, sizeof msg, "%s", mz_errmsg());
    for (int i = 0; i < N_OUT; i++)
        if (r->out[i]) mz_out_abort(r->out[i]);
    mz_cost_free(r->cost);
    if (r->rd) mz_reader_close(r->rd);
    mz_op_free(&r->op);
    free(r->tl_steps);
    if (!failing) return 0;
    mz_error("%s", msg);
    return -1;
}

static int in_list(const int *v, int n, int x)
{
    for (int i = 0; i < n; i++)
        if (v[i] == x) return 1;
    return 0;
}

/* Open the outputs and write their heads: "#mz-cost" with the schedule's
 * model, variant and placement, the wafer line, the columns. */
static int open_outputs(run *r, const mz_cost_file_opts *o, const mz_wafer *w, const char *in_path,
                        const char *out_path)
{
    const char *path[N_OUT] = {out_path, o->breakdown, o->resources, o->timeline, o->footprint};
    const mz_header *h = mz_reader_header(r->rd);
    char model[MZ_NAME_MAX] = "?", variant[32] = "?", algo[32] = "?";
    mz_buf b = {0};
    int i, ret = -1;
    for (i = 0; i < N_OUT; i++)
        if (path[i] && !(r->out[i] = mz_out_open(path[i], 0))) return -1;
    if ((i = mz_header_find(h, "@MD", 0)) >= 0) mz_header_value(h, i, "name", model, sizeof model);
    if ((i = mz_header_find(h, "@SC", 0)) >= 0) mz_header_value(h, i, "variant", variant, sizeof variant);
    if ((i = mz_header_find(h, "@PT", 0)) >= 0) mz_header_value(h, i, "algorithm", algo, sizeof algo);
    mz_buf_printf(&b, "#mz-cost\tmodel:%s\tvariant:%s\tplacement:%s\tschedule:%s\n", model, variant, algo, in_path);
    wafer_line(&b, w);
    if (mz_out_puts(r->out[OUT_STEPS], b.s) < 0 ||
        mz_out_puts(r->out[OUT_STEPS], w->power ? "step\tlatency_s\tct\tct_group\ttokens\tops\tcritical_ops\tfits\t"
                                                  "area_mm2\tenergy_J\tstatic_J\tpower_W\tpeak_power_W\n"
                                                : "step\tlatency_s\tct\tct_group\ttokens\tops\tcritical_ops\tfits\n") < 0)
        goto done;
    if (r->out[OUT_BREAKDOWN] &&
        (mz_out_puts(r->out[OUT_BREAKDOWN], b.s) < 0 ||
         mz_out_puts(r->out[OUT_BREAKDOWN], w->power ? "step\tlayer\tcategory\ttotal_s\texposed_s\tenergy_J\n"
                                                     : "step\tlayer\tcategory\ttotal_s\texposed_s\n") < 0))
        goto done;
    if (r->out[OUT_RESOURCES] && mz_out_puts(r->out[OUT_RESOURCES], b.s) < 0) goto done;
    if (r->out[OUT_FOOTPRINT] && mz_out_puts(r->out[OUT_FOOTPRINT], b.s) < 0) goto done;
    if (r->out[OUT_TIMELINE] && (mz_out_puts(r->out[OUT_TIMELINE], "{\"traceEvents\":[\n") < 0 ||
                                 mz_cost_write_tracks(r->cost, r->out[OUT_TIMELINE], &r->first_event) < 0))
        goto done;
    ret = 0;
done:
    mz_buf_free(&b);
    return ret;
}

/* A step that does not fit the wafer's memories: a warning the first time,
 * or with --strict the error. */
static int not_fitting(run *r, const mz_cost_file_opts *o, const mz_wafer *w)
{
    mz_buf b = {0};
    char files[512] = "";
    for (int k = 0; k < w->n_layers; k++)
        snprintf(files + strlen(files), sizeof files - strlen(files), "%s%s", k ? ", " : "", w->layer[k]);
    mz_cost_fit_report(r->cost, &b);
    if (o->strict) {
        if (b.n) b.s[b.n - 1] = '\0';
        mz_error("the step does not fit the wafer (%s): %s", files, b.s ? b.s : "");
        mz_buf_free(&b);
        return -1;
    }
    if (o->warn)
        fprintf(o->warn, "%s: warning: the step does not fit the wafer (%s); -F FILE gives every memory:\n%s", o->prog,
                files, b.s ? b.s : "");
    mz_buf_free(&b);
    r->warned = 1;
    return 0;
}

/* Cost the step the ops added so far make: its row, its breakdown and
 * timeline, the mean row's sums. */
static int end_step(run *r, const mz_cost_file_opts *o, const mz_wafer *w, const char *in_path)
{
    mz_out *out = r->out[OUT_STEPS];
    mz_cost_row row;
    if (mz_cost_run(r->cost, &row) < 0) {
        mz_error_prefix("%s", in_path);
        return -1;
    }
    if (!row.fits && !r->warned && not_fitting(r, o, w) < 0) return -1;
    r->all_fit &= row.fits;
    if (mz_out_printf(out, "%u\t%.6f\t%.4f\t%.4f\t%.0f\t%d\t%d\t%d", row.step, row.latency_s, row.ct, row.ct_group,
                      row.tokens, row.ops, row.path_ops, row.fits) < 0 ||
        (w->power && mz_out_printf(out, "\t%.1f\t%.9g\t%.9g\t%.6g\t%.6g", row.area_mm2, row.energy_J, row.static_J,
                                   row.power_W, row.peak_W) < 0) ||
        mz_out_puts(out, "\n") < 0)
        return -1;
    if (r->out[OUT_BREAKDOWN] && mz_cost_write_breakdown(r->cost, r->out[OUT_BREAKDOWN], 0) < 0) return -1;
    if (r->out[OUT_TIMELINE] && in_list(r->tl_steps, r->n_tl, (int)row.step)) {
        if (mz_cost_write_timeline(r->cost, r->out[OUT_TIMELINE], r->t0, &r->first_event) < 0) return -1;
        r->t0 += row.latency_s;
    }
    r->sum_lat += row.latency_s;
    r->area_mm2 = row.area_mm2, r->sum_e += row.energy_J, r->sum_static += row.static_J;
    if (row.peak_W > r->peak_W) r->peak_W = row.peak_W;
    r->sum_tok += row.tokens;
    if (row.tokens > 0) r->sum_ct += row.ct * row.tokens, r->sum_ct_group += row.ct_group * row.tokens;
    r->sum_ops += row.ops;
    r->sum_path += row.path_ops;
    r->steps++;
    return 0;
}

/* The mean row, the whole-run tables (-r, -F) and the timeline's end. */
static int write_tail(run *r, const mz_wafer *w)
{
    mz_out *out = r->out[OUT_STEPS];
    double n = (double)r->steps;
    if (mz_out_printf(out, "mean\t%.6f\t%.4f\t%.4f\t%.0f\t%.0f\t%.0f\t%d", r->sum_lat / n,
                      r->sum_tok > 0 ? r->sum_ct / r->sum_tok : 0, r->sum_tok > 0 ? r->sum_ct_group / r->sum_tok : 0,
                      r->sum_tok / n, r->sum_ops / n, r->sum_path / n, r->all_fit) < 0 ||
        (w->power && mz_out_printf(out, "\t%.1f\t%.9g\t%.9g\t%.6g\t%.6g", r->area_mm2, r->sum_e / n, r->sum_static / n,
                                   r->sum_lat > 0 ? r->sum_e / r->sum_lat : 0, r->peak_W) < 0) ||
        mz_out_puts(out, "\n") < 0)
        return -1;
    if (r->out[OUT_RESOURCES] && mz_cost_write_resources(r->cost, r->out[OUT_RESOURCES]) < 0) return -1;
    if (r->out[OUT_FOOTPRINT] && mz_cost_write_footprint(r->cost, r->out[OUT_FOOTPRINT]) < 0) return -1;
    if (r->out[OUT_TIMELINE] && mz_out_puts(r->out[OUT_TIMELINE], "\n],\"displayTimeUnit\":\"ms\"}\n") < 0) return -1;
    return 0;
}

/* Cost the schedule at in_path on wafer w, step by step. */
static int cost_run(const mz_cost_file_opts *o, const mz_wafer *w, const char *in_path, const char *out_path)
{
    run r = {0};
    const uint8_t *rec;
    size_t len;
    int ret;

    r.first_event = 1, r.all_fit = 1;
    if ((r.n_tl = mz_parse_ranges(o->timeline_steps, 0, 0x7fffffff, "--timeline-steps", &r.tl_steps)) < 0) return -1;
    if (strcmp(in_path, "-") == 0) mz_pipe_widen(0); /* overlap with mz-sched upstream */
    if (!(r.rd = mz_reader_open(in_path, MZ_KIND_SCHED))) return finish(&r, 1);
    if (!(r.cost = mz_cost_new(w, mz_reader_header(r.rd)))) {
        mz_error_prefix("%s", in_path);
        return finish(&r, 1);
    }
    if (open_outputs(&r, o, w, in_path, out_path) < 0) return finish(&r, 1);
    for (;;) {
        if ((ret = mz_reader_next(r.rd, &rec, &len)) < 0) return finish(&r, 1);
        if (ret > 0 && (mz_op_decode(rec, len, &r.op) < 0 || (r.op.id > 0 && mz_cost_add(r.cost, &r.op) < 0))) {
            mz_error_prefix("%s", mz_reader_where(r.rd));
            return finish(&r, 1);
        }
        /* a step ends with its stat op (or, failing that, where the next begins) */
        if ((ret == 0 || r.op.id == 0 || r.op.kind == MZ_OP_STAT) && mz_cost_pending(r.cost) &&
            end_step(&r, o, w, in_path) < 0)
            return finish(&r, 1);
        if (ret == 0) break;
        if (r.op.id == 0 && mz_cost_add(r.cost, &r.op) < 0) {
            mz_error_prefix("%s", mz_reader_where(r.rd));
            return finish(&r, 1);
        }
    }
    if (!r.steps) {
        mz_error("%s: the schedule has no steps", in_path);
        return finish(&r, 1);
    }
    if (write_tail(&r, w) < 0) return finish(&r, 1);
    ret = mz_reader_close(r.rd);
    r.rd = NULL;
    if (ret < 0) return finish(&r, 1);
    for (int i = N_OUT - 1; i >= 0; i--)
        if (r.out[i]) {
            mz_out *out = r.out[i];
            r.out[i] = NULL;
            if (mz_out_close(out) < 0) return finish(&r, 1);
        }
    return finish(&r, 0);
}

int mz_cost_file(const mz_cost_file_opts *o, const char *in_path, const char *out_path)
{
    mz_wafer w;
    int ret;
    if (o->fit) return fit_run(o, out_path);
    if (mz_wafer_open(&w, o->wafers, o->n_wafers, o->sets, o->n_sets) < 0) return -1;
    ret = o->area ? area_run(&w, out_path) : cost_run(o, &w, in_path, out_path);
    mz_wafer_free(&w);
    return ret;
}
