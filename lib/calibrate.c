/* calibrate.c: fit wafer constants to target latencies (mz-cost --fit): a grid and GSL Nelder-Mead over compiled schedules. */
#include <gsl/gsl_errno.h>
#include <gsl/gsl_multimin.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "timing.h"

/* ------------------------------------------------------------------ fit */
typedef struct {
    char *name, *path, *wafer_spec;
    int ref;            /* row of the reference, -1: absolute */
    int speedup;        /* the value is the reference's latency over this one's */
    int relative;       /* the tolerance is a fraction of the target */
    double target, tol; /* NAN: no target */
    mz_wafer w;
    mz_fabric *fab;
    mz_model model;
    mz_shapes shapes;
    double *spill;      /* [n_mem] scratch: spill shares of a step */
    mz_step *steps;
    int n_steps;
    double latency, value;
} fit_row;

struct mz_fit {
    fit_row *row;
    int n;
    char **free_key;
    int n_free;
    double *lo, *hi;
    mz_timing tm;
    long evals;
    int only_abs;       /* evaluate only rows with absolute targets */
};

static int fit_find(const mz_fit *f, const char *name)
{
    for (int i = 0; i < f->n; i++)
        if (strcmp(f->row[i].name, name) == 0) return i;
    return -1;
}

/* Read one schedule file fully into compiled steps. */
static int fit_read_schedule(fit_row *r)
{
    mz_reader *rd = mz_reader_open(r->path, MZ_KIND_SCHED);
    const mz_header *h;
    mz_op op = {0};
    const uint8_t *rec;
    size_t len;
    int ret, pt;
    long chiplets, groups;
    mz_sched_opts o;
    if (!rd) return -1;
    h = mz_reader_header(rd);
    if ((pt = mz_header_find(h, "@PT", 0)) < 0) {
        mz_error("%s: no @PT (placement) line", r->path);
        goto fail;
    }
    if (mz_header_long(h, pt, "chiplets", 1, 65536, &chiplets) < 0 ||
        mz_header_long(h, pt, "groups", 1, 65536, &groups) < 0 || mz_sched_opts_from_header(h, &o) < 0)
        goto fail;
    if (o.bytes != r->w.precision_bytes) {
        mz_error("%s: %d bytes per element, the wafer computes with %d (compute.precision_bytes)", r->path, o.bytes,
                 r->w.precision_bytes);
        goto fail;
    }
    if (!(r->fab = mz_fabric_new(&r->w, (int)chiplets, (int)groups))) goto fail;
    if (mz_model_from_header(h, &r->model) < 0) goto fail;
    mz_shapes_init(&r->shapes, &r->model, (int)chiplets);
    r->spill = mz_calloc(groups + chiplets + 2, sizeof *r->spill);
    while ((ret = mz_reader_next(rd, &rec, &len)) > 0) {
        mz_step *st;
        if (mz_op_decode(rec, len, &op) < 0) {
            mz_error_prefix("%s", mz_reader_where(rd));
            goto fail;
        }
        if (op.id == 0) {
            r->steps = mz_realloc(r->steps, (r->n_steps + 1) * sizeof *r->steps);
            memset(&r->steps[r->n_steps], 0, sizeof *r->steps);
            r->n_steps++;
        } else if (!r->n_steps) {
            mz_error("%s: the first op is not op 0 of a step", r->path);
            goto fail;
        }
        st = &r->steps[r->n_steps - 1];
        if (mz_step_add(st, r->fab, &r->shapes, &op) < 0) {
            mz_error_prefix("%s", mz_reader_where(rd));
            goto fail;
        }
    }
    if (ret < 0) goto fail;
    if (!r->n_steps) {
        mz_error("%s: no steps", r->path);
        goto fail;
    }
    /* the per-op scratch is not needed any more */
    for (int k = 0; k < r->n_steps; k++) {
        mz_step_order(&r->steps[k]);
        free(r->steps[k].slot);
        r->steps[k].slot = NULL;
    }
    mz_op_free(&op);
    return mz_reader_close(rd);
fail:
    mz_op_free(&op);
    mz_reader_close(rd);
    return -1;
}

/* Issue 14: a target the fit can meet, checked where it is read: in
 * [FIT_TARGET_MIN, FIT_TARGET_MAX] (latencies in seconds and ratios alike)
 * with a tolerance no finer than FIT_TOL_MIN of it, so that no residual
 * (value - target) / tolerance can overflow or divide by zero and the
 * minimiser never meets a non-finite value. where: "FILE: line N". */
#define FIT_TARGET_MIN 1e-9
#define FIT_TARGET_MAX 1e9
#define FIT_TOL_MIN 1e-9
static int fit_check_target(double target, double tol, int relative, const char *where, const char *target_text,
                            const char *tol_text)
{
    if (target < FIT_TARGET_MIN || target > FIT_TARGET_MAX) {
        mz_error("%s: target: %s cannot be fitted: a target must be %s %g", where, target_text,
                 target < FIT_TARGET_MIN ? "at least" : "at most",
                 target < FIT_TARGET_MIN ? FIT_TARGET_MIN : FIT_TARGET_MAX);
        return -1;
    }
    if ((relative ? tol : tol / target) < FIT_TOL_MIN) {
        mz_error("%s: tolerance: %s%s is below %g of the target (%s): no fit can meet it", where, tol_text,
                 relative ? "%" : "", FIT_TOL_MIN, target_text);
        return -1;
    }
    return 0;
}

/* Issue 14: a --free field the fit can vary: known, real-valued (the fit
 * puts real numbers) and positive (it varies the logarithm). f's first
 * row's wafer gets the value back as a "(fit)" layer, as every row's does
 * at the first evaluation. */
static int fit_check_free(mz_fit *f, const char *key)
{
    double v;
    if (mz_wafer_get(&f->row[0].w, key, &v) < 0) {
        mz_error_prefix("--free %s", key);
        return -1;
    }
    if (mz_wafer_put(&f->row[0].w, key, v) < 0 || mz_wafer_finish(&f->row[0].w) < 0) {
        mz_error("--free %s: not a real-valued field: the fit varies real numbers only", key);
        return -1;
    }
    if (!(v > 0)) {
        mz_error("--free %s: its value is %g: the fit varies positive values (in log space)", key, v);
        return -1;
    }
    return 0;
}

mz_fit *mz_fit_load(const char *targets, char *const *sets, int n_sets)
{
    mz_fit *f = mz_calloc(1, sizeof *f);
    mz_in *in = mz_in_open(targets);
    char *line, *fld[8], dir[4096] = ".";
    long len;
    int header = 0;
    const char *slash = strrchr(targets, '/');
    if (slash) snprintf(dir, sizeof dir, "%.*s", (int)(slash - targets), targets);
    if (!in) goto fail;
    while ((len = mz_in_getline(in, &line)) >= 0) {
        long ln = mz_in_lineno(in);
        fit_row *r;
        char what[600];
        if (line[0] == '#' || len == 0) continue;
        if (!header) {
            if (strcmp(line, "name\tschedule\twafer\treference\ttarget\ttolerance") != 0) {
                mz_error("%s: line %ld: expected the header 'name schedule wafer reference target tolerance'",
                         targets, ln);
                goto fail;
            }
            header = 1;
            continue;
        }
        if (mz_split(line, '\t', fld, 7) != 6) {
            mz_error("%s: line %ld: expected 6 tab-separated fields", targets, ln);
            goto fail;
        }
        f->row = mz_realloc(f->row, (f->n + 1) * sizeof *f->row);
        r = &f->row[f->n];
        memset(r, 0, sizeof *r);
        f->n++;
        mz_wafer_init(&r->w);
        r->name = mz_strdup(fld[0]);
        if (fit_find(f, r->name) != f->n - 1) {
            mz_error("%s: line %ld: name '%s' used twice", targets, ln, r->name);
            goto fail;
        }
        {
            mz_buf b = {0};
            if (fld[1][0] == '/')
                mz_buf_puts(&b, fld[1]);
            else
                mz_buf_printf(&b, "%s/%s", dir, fld[1]);
            r->path = mz_strdup(b.s);
            mz_buf_free(&b);
        }
        r->wafer_spec = mz_strdup(fld[2]);
        r->ref = -1;
        if (strcmp(fld[3], "-") != 0 && (r->ref = fit_find(f, fld[3])) < 0) {
            mz_error("%s: line %ld: reference '%s' is not an earlier row", targets, ln, fld[3]);
            goto fail;
        }
        r->target = r->tol = NAN;
        if (strcmp(fld[4], "-") != 0) {
            char *target = fld[4], *tol = fld[5];
            size_t tl = strlen(tol);
            /* "speedup=X": the reference's latency over this row's, against X */
            if (strncmp(target, "speedup=", 8) == 0) {
                if (r->ref < 0) {
                    mz_error("%s: line %ld: a speedup target needs a reference row", targets, ln);
                    goto fail;
                }
                r->speedup = 1;
                target += 8;
            }
            /* "7%": a tolerance relative to the target */
            if (tl > 1 && tol[tl - 1] == '%') {
                r->relative = 1;
                tol[tl - 1] = '\0';
            }
            snprintf(what, sizeof what, "%s: line %ld: target", targets, ln);
            if (mz_parse_double(target, 0, 1e300, what, &r->target) < 0) goto fail;
            snprintf(what, sizeof what, "%s: line %ld: tolerance", targets, ln);
            if (mz_parse_double(tol, 1e-300, 1e300, what, &r->tol) < 0) goto fail;
            if (r->relative) r->tol /= 100;
            snprintf(what, sizeof what, "%s: line %ld", targets, ln);
            if (fit_check_target(r->target, r->tol, r->relative, what, target, tol) < 0) goto fail;
        }
        {
            char *spec = mz_strdup(fld[2]), *p = spec, *item;
            while ((item = strsep(&p, ",")) != NULL)
                if (mz_wafer_load(&r->w, item) < 0) {
                    free(spec);
                    goto fail;
                }
            free(spec);
        }
        for (int k = 0; k < n_sets; k++)
            if (mz_wafer_set(&r->w, sets[k]) < 0) goto fail;
        if (mz_wafer_finish(&r->w) < 0 || fit_read_schedule(r) < 0) goto fail;
    }
    if (mz_in_failed(in)) goto fail;
    if (!header || !f->n) {
        mz_error("%s: no targets", targets);
        goto fail;
    }
    mz_in_close(in);
    return f;
fail:
    if (in) mz_in_close(in);
    mz_fit_free(f);
    return NULL;
}

void mz_fit_free(mz_fit *f)
{
    if (!f) return;
    for (int i = 0; i < f->n; i++) {
        fit_row *r = &f->row[i];
        for (int k = 0; k < r->n_steps; k++) mz_step_free(&r->steps[k]);
        free(r->steps), free(r->name), free(r->path), free(r->wafer_spec);
        mz_fabric_free(r->fab);
        mz_model_free(&r->model);
        free(r->spill);
        mz_wafer_free(&r->w);
    }
    for (int k = 0; k < f->n_free; k++) free(f->free_key[k]);
    free(f->free_key), free(f->lo), free(f->hi), free(f->row);
    mz_timing_free(&f->tm);
    free(f);
}

/* Latency of every row (mean over its steps) and the value compared with the target. */
int mz_fit_evaluate(mz_fit *f)
{
    for (int i = 0; i < f->n; i++) {
        fit_row *r = &f->row[i];
        double sum = 0;
        if (f->only_abs && !(r->ref < 0 && !isnan(r->target))) continue;
        for (int k = 0; k < r->n_steps; k++) {
            mz_step_spill(&r->steps[k], &r->w, r->fab, r->spill);
            sum += mz_step_time(&r->steps[k], r->fab, r->spill, &f->tm);
        }
        r->latency = sum / r->n_steps;
    }
    for (int i = 0; i < f->n; i++) {
        fit_row *r = &f->row[i];
        r->value = r->ref < 0 ? r->latency
                   : r->speedup ? f->row[r->ref].latency / r->latency
                                : r->latency / f->row[r->ref].latency;
    }
    f->evals++;
    return 0;
}

int mz_fit_set(mz_fit *f, const char *key, double v)
{
    for (int i = 0; i < f->n; i++) {
        fit_row *r = &f->row[i];
        if (mz_wafer_put(&r->w, key, v) < 0 || mz_wafer_finish(&r->w) < 0) return -1;
        mz_fabric_rates(r->fab, &r->w);
    }
    return 0;
}

int mz_fit_rows(const mz_fit *f) { return f->n; }
const char *mz_fit_row_name(const mz_fit *f, int i) { return f->row[i].name; }
double mz_fit_row_latency(const mz_fit *f, int i) { return f->row[i].latency; }

static double residual(const fit_row *r)
{
    return r->relative ? (r->value / r->target - 1) / r->tol : (r->value - r->target) / r->tol;
}

/* Put the constants exp(x) (clipped to their bounds) into every row's wafer. */
static int fit_apply(mz_fit *f, const double *x, const int *which, int nx)
{
    for (int i = 0; i < f->n; i++) {
        fit_row *r = &f->row[i];
        for (int k = 0; k < nx; k++) {
            int j = which[k];
            double v = exp(x[k]);
            v = v < f->lo[j] ? f->lo[j] : v > f->hi[j] ? f->hi[j] : v;
            if (mz_wafer_put(&r->w, f->free_key[j], v) < 0) return -1;
        }
        if (mz_wafer_finish(&r->w) < 0) return -1;
        mz_fabric_rates(r->fab, &r->w);
    }
    return 0;
}

typedef struct {
    mz_fit *f;
    const int *which;
    int nx;
    int norm;   /* 2: sum of squares of the relative rows; 8: 8-norm of all rows */
    long max_evals, evals;
    double best;
} fit_obj;

static double objective(const gsl_vector *v, void *arg)
{
    fit_obj *o = arg;
    double x[16], acc = 0;
    for (int k = 0; k < o->nx; k++) x[k] = gsl_vector_get(v, k);
    if (fit_apply(o->f, x, o->which, o->nx) < 0) return GSL_POSINF;
    mz_fit_evaluate(o->f);
    o->evals++;
    for (int i = 0; i < o->f->n; i++) {
        const fit_row *r = &o->f->row[i];
        double e;
        if (isnan(r->target)) continue;
        if (o->norm == 2 && r->ref < 0) continue;
        e = residual(r);
        acc += o->norm == 2 ? e * e : pow(fabs(e), 8);
    }
    if (o->norm == 8) acc = pow(acc, 0.125);
    /* a point where the model is not finite is as bad as it gets, not an abort */
    return isfinite(acc) && acc < 1e10 ? acc : 1e10;
}

/* Nelder-Mead (GSL nmsimplex2) from x (log space), step 'step', until the
 * simplex is smaller than tol or max_evals evaluations. x gets the best point. */
static double nelder_mead(fit_obj *o, double *x, double step, double tol, long max_evals)
{
    const gsl_multimin_fminimizer_type *T = gsl_multimin_fminimizer_nmsimplex2;
    gsl_multimin_fminimizer *s = gsl_multimin_fminimizer_alloc(T, o->nx);
    gsl_vector *x0 = gsl_vector_alloc(o->nx), *ss = gsl_vector_alloc(o->nx);
    gsl_multimin_function fn = {objective, (size_t)o->nx, o};
    double best;
    o->evals = 0;
    for (int k = 0; k < o->nx; k++) gsl_vector_set(x0, k, x[k]);
    gsl_vector_set_all(ss, step);
    /* GSL's error handler is off: a start where the objective is not finite
     * is a return code, answered by an infinite best */
    if (gsl_multimin_fminimizer_set(s, &fn, x0, ss) != GSL_SUCCESS) {
        best = GSL_POSINF;
    } else {
        while (o->evals < max_evals) {
            if (gsl_multimin_fminimizer_iterate(s)) break;
            if (gsl_multimin_test_size(gsl_multimin_fminimizer_size(s), tol) == GSL_SUCCESS) break;
        }
        for (int k = 0; k < o->nx; k++) x[k] = gsl_vector_get(s->x, k);
        best = s->fval;
    }
    gsl_multimin_fminimizer_free(s);
    gsl_vector_free(x0);
    gsl_vector_free(ss);
    return best;
}

static int fit_solve(mz_fit *f, char *const *keys, int n_free, FILE *logf);

/* GSL's error handler is off while the fit runs: its errors are ours to report. */
int mz_fit_solve(mz_fit *f, char *const *keys, int n_free, FILE *logf)
{
    gsl_error_handler_t *old = gsl_set_error_handler_off();
    int ret = fit_solve(f, keys, n_free, logf);
    gsl_set_error_handler(old);
    return ret;
}

/* "section.key" or "section.key=LO:HI" (the range the fit searches; without
 * one, a decade either way of the field's value). */
static int parse_free(mz_fit *f, int k, const char *spec)
{
    char *copy = mz_strdup(spec), *eq = strchr(copy, '='), what[300];
    double v;
    if (eq) *eq = '\0';
    f->free_key[k] = mz_strdup(copy);
    if (fit_check_free(f, copy) < 0 || mz_wafer_get(&f->row[0].w, copy, &v) < 0) {
        free(copy);
        return -1;
    }
    f->lo[k] = v / 10, f->hi[k] = v * 10;
    if (eq) {
        char *colon = strchr(eq + 1, ':');
        if (!colon) {
            mz_error("--free %s: expected KEY=LO:HI", spec);
            free(copy);
            return -1;
        }
        *colon = '\0';
        snprintf(what, sizeof what, "--free %s: low end", copy);
        if (mz_parse_double(eq + 1, 1e-300, 1e300, what, &f->lo[k]) < 0) goto fail;
        snprintf(what, sizeof what, "--free %s: high end", copy);
        if (mz_parse_double(colon + 1, 1e-300, 1e300, what, &f->hi[k]) < 0) goto fail;
        if (!(f->lo[k] < f->hi[k])) {
            mz_error("--free %s: the low end must be below the high end", spec);
            goto fail;
        }
    }
    free(copy);
    return 0;
fail:
    free(copy);
    return -1;
}

/* Section 7: a log grid of G points per free field over its range, then
 * Nelder-Mead (GSL nmsimplex2, in log space) on the 8-norm of the residuals
 * (close to their maximum) from the best three grid points, each restarted
 * with a smaller simplex while that still helps; the best point wins. */
static int fit_solve(mz_fit *f, char *const *keys, int n_free, FILE *logf)
{
    int which[8], npts = 1, grid = n_free == 1 ? 12 : n_free == 2 ? 8 : n_free == 3 ? 5 : 3;
    int best_k[3] = {-1, -1, -1};
    double best_v[3] = {INFINITY, INFINITY, INFINITY}, x[8], bx[8], bval = INFINITY;
    fit_obj o;
    if (n_free < 1 || n_free > 4) {
        mz_error("--free: between 1 and 4 fields");
        return -1;
    }
    f->n_free = n_free;
    f->free_key = mz_calloc(n_free, sizeof *f->free_key);
    f->lo = mz_malloc(n_free * sizeof *f->lo);
    f->hi = mz_malloc(n_free * sizeof *f->hi);
    for (int k = 0; k < n_free; k++) {
        if (parse_free(f, k, keys[k]) < 0) return -1;
        which[k] = k;
        npts *= grid;
    }
    o = (fit_obj){f, which, n_free, 8, 0, 0, 0};
    for (int p = 0; p < npts; p++) {
        gsl_vector_view vv = gsl_vector_view_array(x, n_free);
        double val;
        for (int k = 0, q = p; k < n_free; k++, q /= grid)
            x[k] = log(f->lo[k]) + (log(f->hi[k]) - log(f->lo[k])) * (q % grid) / (grid - 1.0);
        val = objective(&vv.vector, &o);
        for (int b = 0; b < 3; b++)
            if (val < best_v[b]) {
                for (int c = 2; c > b; c--) best_v[c] = best_v[c - 1], best_k[c] = best_k[c - 1];
                best_v[b] = val, best_k[b] = p;
                break;
            }
    }
    if (logf) fprintf(logf, "fit: grid of %d points, best 8-norm %.4f\n", npts, best_v[0]);
    for (int b = 0; b < 3 && best_k[b] >= 0; b++) {
        double val, step = 0.5 * (log(f->hi[0]) - log(f->lo[0])) / (grid - 1.0);
        for (int k = 0, q = best_k[b]; k < n_free; k++, q /= grid)
            x[k] = log(f->lo[k]) + (log(f->hi[k]) - log(f->lo[k])) * (q % grid) / (grid - 1.0);
        val = nelder_mead(&o, x, step, 0.001, 150);
        for (int r = 0; r < 4; r++) {
            double x2[8], v2;
            memcpy(x2, x, n_free * sizeof *x);
            step /= 2;
            v2 = nelder_mead(&o, x2, step, 0.0005, 100);
            if (!(v2 < val - 1e-4)) break;
            val = v2;
            memcpy(x, x2, n_free * sizeof *x);
        }
        if (logf) fprintf(logf, "fit: Nelder-Mead from grid point %d: %.4f -> %.4f\n", b + 1, best_v[b], val);
        if (val < bval) bval = val, memcpy(bx, x, n_free * sizeof *x);
    }
    if (!isfinite(bval) || bval >= 1e10) {
        mz_error("fit: the residuals are not finite anywhere in the ranges (a latency or a residual overflowed)");
        return -1;
    }
    fit_apply(f, bx, which, n_free);
    mz_fit_evaluate(f);
    return 0;
}

int mz_fit_write(mz_fit *f, mz_out *out)
{
    double maxr = 0, ss = 0;
    for (int i = 0; i < f->n; i++)
        if (!isnan(f->row[i].target)) {
            double e = residual(&f->row[i]);
            ss += e * e;
            if (fabs(e) > maxr) maxr = fabs(e);
        }
    for (int k = 0; k < f->n_free; k++) {
        double v;
        mz_wafer_get(&f->row[0].w, f->free_key[k], &v);
        if (mz_out_printf(out, "#fitted\t%s\t%.6g\n", f->free_key[k], v) < 0) return -1;
    }
    if (mz_out_printf(out, "#fit\tevaluations:%ld\tmax_abs_residual:%.4f\tsum_sq_residuals:%.4f\n", f->evals, maxr,
                      ss) < 0 ||
        mz_out_puts(out, "name\tschedule\tlatency_s\tvalue\ttarget\ttolerance\tresidual\n") < 0)
        return -1;
    for (int i = 0; i < f->n; i++) {
        const fit_row *r = &f->row[i];
        int bad;
        if (isnan(r->target))
            bad = mz_out_printf(out, "%s\t%s\t%.6f\t%.6f\t-\t-\t-\n", r->name, r->path, r->latency, r->value);
        else
            bad = mz_out_printf(out, "%s\t%s\t%.6f\t%.6f\t%.6g\t%.6g\t%.4f\n", r->name, r->path, r->latency, r->value,
                                r->target, r->tol, residual(r));
        if (bad < 0) return -1;
    }
    return 0;
}
