/* timing.c: one step of a schedule compiled onto a fabric, placed in time over resource calendars, and its critical path. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "timing.h"

/* ------------------------------------------------------------------ calendars */

static int bisect_right(const double *a, int n, double x)
{
    int lo = 0, hi = n;
    while (lo < hi) {
        int mid = (lo + hi) / 2;
        if (x < a[mid])
            hi = mid;
        else
            lo = mid + 1;
    }
    return lo;
}

double mz_calendar_earliest(const mz_calendar *c, double t, double d, int *blocker)
{
    int k;
    if (c->n == 0 || c->e[c->n - 1] <= t) return t; /* free after the last interval */
    k = bisect_right(c->e, c->n, t);
    while (k < c->n && c->s[k] < t + d - EPS) {
        t = c->e[k];
        *blocker = c->own[k];
        k++;
    }
    return t;
}

void mz_calendar_add(mz_calendar *c, double t, double d, int op)
{
    double e = t + d;
    int k;
    if (d <= 0) return;
    /* most ops land after the last interval: no search */
    k = c->n == 0 || t >= c->s[c->n - 1] ? c->n : bisect_right(c->s, c->n, t);
    if (k > 0 && fabs(c->e[k - 1] - t) < EPS) { /* touches the previous interval */
        c->e[k - 1] = e;
        c->own[k - 1] = op;
        if (k < c->n && fabs(c->s[k] - e) < EPS) { /* and the next */
            c->e[k - 1] = c->e[k];
            c->own[k - 1] = c->own[k];
            memmove(c->s + k, c->s + k + 1, (c->n - k - 1) * sizeof *c->s);
            memmove(c->e + k, c->e + k + 1, (c->n - k - 1) * sizeof *c->e);
            memmove(c->own + k, c->own + k + 1, (c->n - k - 1) * sizeof *c->own);
            c->n--;
        }
        return;
    }
    if (k < c->n && fabs(c->s[k] - e) < EPS) {
        c->s[k] = t;
        return;
    }
    if (c->n == c->cap) {
        c->cap = c->cap ? 2 * c->cap : 64;
        c->s = mz_realloc(c->s, c->cap * sizeof *c->s);
        c->e = mz_realloc(c->e, c->cap * sizeof *c->e);
        c->own = mz_realloc(c->own, c->cap * sizeof *c->own);
    }
    memmove(c->s + k + 1, c->s + k, (c->n - k) * sizeof *c->s);
    memmove(c->e + k + 1, c->e + k, (c->n - k) * sizeof *c->e);
    memmove(c->own + k + 1, c->own + k, (c->n - k) * sizeof *c->own);
    c->s[k] = t, c->e[k] = e, c->own[k] = op;
    c->n++;
}

void mz_calendar_free(mz_calendar *c)
{
    free(c->s), free(c->e), free(c->own);
    memset(c, 0, sizeof *c);
}

/* ------------------------------------------------------------------ compiled steps */
void mz_step_clear(mz_step *st)
{
    st->n_ops = st->n_uses = st->n_deps = 0;
    st->tokens = st->copies = st->group_copies = 0;
}

void mz_step_free(mz_step *st)
{
    free(st->use_ptr), free(st->use_res), free(st->use_hops), free(st->use_q), free(st->use_sram);
    free(st->dep_ptr), free(st->dep), free(st->phase), free(st->layer), free(st->mb), free(st->slice);
    free(st->kind), free(st->cat), free(st->dir), free(st->slot);
    memset(st, 0, sizeof *st);
}

static void step_grow(mz_step *st, int uses, int deps)
{
    if (st->n_ops + 1 >= st->cap_ops) {
        int n = st->cap_ops ? 2 * st->cap_ops : 1024;
        st->use_ptr = mz_realloc(st->use_ptr, (n + 1) * sizeof *st->use_ptr);
        st->dep_ptr = mz_realloc(st->dep_ptr, (n + 1) * sizeof *st->dep_ptr);
        st->phase = mz_realloc(st->phase, n * sizeof *st->phase);
        st->layer = mz_realloc(st->layer, n * sizeof *st->layer);
        st->mb = mz_realloc(st->mb, n * sizeof *st->mb);
        st->slice = mz_realloc(st->slice, n * sizeof *st->slice);
        st->kind = mz_realloc(st->kind, n);
        st->cat = mz_realloc(st->cat, n);
        st->dir = mz_realloc(st->dir, n);
        st->cap_ops = n;
    }
    if (st->n_uses + uses > st->cap_uses) {
        int n = 2 * (st->n_uses + uses) + 1024;
        st->use_res = mz_realloc(st->use_res, n * sizeof *st->use_res);
        st->use_hops = mz_realloc(st->use_hops, n * sizeof *st->use_hops);
        st->use_q = mz_realloc(st->use_q, n * sizeof *st->use_q);
        st->use_sram = mz_realloc(st->use_sram, n * sizeof *st->use_sram);
        st->cap_uses = n;
    }
    if (st->n_deps + deps > st->cap_deps) {
        int n = 2 * (st->n_deps + deps) + 1024;
        st->dep = mz_realloc(st->dep, n * sizeof *st->dep);
        st->cap_deps = n;
    }
}

/* Add q (and SRAM bytes) on resource r to the op being compiled; uses of
 * one resource by one op are merged (quantities add, hops take the max). */
static void use_add(mz_step *st, int r, double q, double sram, int hops)
{
    int u = st->slot[r];
    if (u < 0) {
        u = st->slot[r] = st->n_uses++;
        st->use_res[u] = r;
        st->use_q[u] = 0;
        st->use_sram[u] = 0;
        st->use_hops[u] = 0;
    }
    st->use_q[u] += q;
    st->use_sram[u] += sram;
    if (hops > st->use_hops[u]) st->use_hops[u] = hops;
}

static void route_add(mz_step *st, const mz_fabric *f, int route, double q, int *maxhops)
{
    for (int k = f->rptr[route]; k < f->rptr[route + 1]; k++) {
        use_add(st, f->rres[k], q, 0, f->rhops[k]);
        if (maxhops && f->rhops[k] > *maxhops) *maxhops = f->rhops[k];
    }
}

int mz_step_add(mz_step *st, const mz_fabric *f, const mz_op *op)
{
    int i = st->n_ops, first_use = st->n_uses, maxhops = 0;
    double grp[2] = {0, 0};
    int gidx = -1, a2a = op->kind == MZ_OP_DISPATCH || op->kind == MZ_OP_COMBINE;
    if (op->id != (uint32_t)i) {
        mz_error("op %u of step %u: expected op %d (ids count 0, 1, ... within a step)", op->id, op->step, i);
        return -1;
    }
    if (i == 0) {
        st->step = op->step;
        if (!st->slot) {
            st->slot = mz_malloc(f->n * sizeof *st->slot);
            for (int r = 0; r < f->n; r++) st->slot[r] = -1;
        }
    }
    step_grow(st, 4 * op->nterms + 64, op->ndeps);
    if (i == 0) st->use_ptr[0] = st->dep_ptr[0] = 0;
    for (int k = 0; k < op->nterms; k++) {
        const mz_term *t = &op->term[k];
        int wc = -1, grow;
        if (t->type == MZ_Q_CHIP_FLOP || t->type == MZ_Q_CHIP_SRAM || t->type == MZ_Q_MEM_READ ||
            t->type == MZ_Q_MEM_WRITE || t->type == MZ_Q_A2A_CHIP) {
            if (t->index >= f->Cp) {
                mz_error("op %u: chiplet %d out of range (%d chiplets)", op->id, t->index, f->Cp);
                return -1;
            }
            wc = f->pmap[t->index];
        }
        /* a mesh route can be long: make room before adding */
        grow = f->nuse + 8;
        step_grow(st, grow, 0);
        switch (t->type) {
        case MZ_Q_ROOT_FLOP: use_add(st, f->ca, t->q, 0, 0); break;
        case MZ_Q_CHIP_FLOP: use_add(st, f->chip[wc], t->q, 0, 0); break;
        case MZ_Q_CHIP_SRAM: use_add(st, f->chip[wc], 0, t->q, 0); break;
        case MZ_Q_ROOT_READ: route_add(st, f, f->r_root_read, t->q, NULL); break;
        case MZ_Q_ROOT_WRITE: route_add(st, f, f->r_root_write, t->q, NULL); break;
        case MZ_Q_MEM_READ: route_add(st, f, f->r_mem_down[wc], t->q, NULL); break;
        case MZ_Q_MEM_WRITE: route_add(st, f, f->r_mem_up[wc], t->q, NULL); break;
        case MZ_Q_A2A_CHIP: {
            int g = t->index * f->Gp / f->Cp;
            if (!a2a) goto misplaced;
            if (gidx >= 0 && g != gidx) {
                mz_error("op %u: an all-to-all op spans groups %d and %d", op->id, gidx, g);
                return -1;
            }
            gidx = g;
            grp[0] += t->q;
            route_add(st, f, op->kind == MZ_OP_DISPATCH ? f->r_a2a_down[wc] : f->r_a2a_up[wc], t->q, &maxhops);
            break;
        }
        case MZ_Q_A2A_GROUP:
            if (!a2a) goto misplaced;
            if (t->index >= f->Gp || (gidx >= 0 && t->index != gidx)) {
                mz_error("op %u: group %d does not match the op's chiplets", op->id, t->index);
                return -1;
            }
            gidx = t->index;
            grp[1] += t->q;
            break;
        case MZ_Q_TOKENS: st->tokens += t->q; break;
        case MZ_Q_COPIES: st->copies += t->q; break;
        case MZ_Q_GROUP_COPIES: st->group_copies += t->q; break;
        default: goto misplaced;
        }
        continue;
    misplaced:
        mz_error("op %u: term %s does not belong in a %s op", op->id, mz_term_name(t->type),
                 mz_op_kind_name(op->kind));
        return -1;
    }
    /* the root port: one copy per chiplet, or per group when the group's
     * switch multicasts (dispatch) or reduces (combine) */
    if (a2a && gidx >= 0) {
        int agg = f->topo == MZ_TOPO_TREE &&
                  (op->kind == MZ_OP_DISPATCH ? f->multicast : op->dir ? f->reduce_bwd : f->reduce_fwd);
        double q = agg ? grp[1] : grp[0];
        /* placement group g sits on wafer group g (see mz_fabric_new) */
        use_add(st, f->rp[gidx], q, 0, maxhops ? maxhops : 2);
    }
    /* drop empty uses; reset the scratch slots */
    {
        int n = first_use;
        for (int u = first_use; u < st->n_uses; u++) {
            st->slot[st->use_res[u]] = -1;
            if (!(st->use_q[u] > 0) && !(st->use_sram[u] > 0)) continue;
            st->use_res[n] = st->use_res[u], st->use_q[n] = st->use_q[u];
            st->use_sram[n] = st->use_sram[u], st->use_hops[n] = st->use_hops[u];
            n++;
        }
        st->n_uses = n;
    }
    for (int k = 0; k < op->ndeps; k++) st->dep[st->n_deps++] = (int)op->dep[k];
    st->phase[i] = op->phase;
    st->layer[i] = op->layer, st->mb[i] = op->mb, st->slice[i] = op->slice;
    st->kind[i] = (uint8_t)op->kind, st->cat[i] = (uint8_t)op->cat, st->dir[i] = (uint8_t)op->dir;
    st->n_ops++;
    st->use_ptr[st->n_ops] = st->n_uses;
    st->dep_ptr[st->n_ops] = st->n_deps;
    return 0;
}

/* ------------------------------------------------------------------ timing */
static void timing_reserve(mz_timing *tm, const mz_step *st, int nres)
{
    if (st->n_ops > tm->cap || !tm->start) {
        int n = st->n_ops > 1024 ? st->n_ops : 1024;
        tm->start = mz_realloc(tm->start, n * sizeof *tm->start);
        tm->end = mz_realloc(tm->end, n * sizeof *tm->end);
        tm->pred = mz_realloc(tm->pred, n * sizeof *tm->pred);
        tm->cap = n;
    }
    tm->occ = mz_realloc(tm->occ, (st->n_uses + 1) * sizeof *tm->occ);
    if (nres > tm->n_cal) {
        tm->cal = mz_realloc(tm->cal, nres * sizeof *tm->cal);
        memset(tm->cal + tm->n_cal, 0, (nres - tm->n_cal) * sizeof *tm->cal);
        tm->n_cal = nres;
    }
    for (int r = 0; r < tm->n_cal; r++) tm->cal[r].n = 0;
}

/* Ops in stream order: each starts at the earliest time after its
 * dependencies (and, with a phase, after every op of earlier phases) at
 * which every resource it uses has a free slot of its own occupancy. */
double mz_step_time(const mz_step *st, const mz_fabric *f, mz_timing *tm)
{
    uint32_t cur_phase = 0;
    double barrier = 0, run_max = 0;
    int barrier_op = -1, run_op = -1;
    timing_reserve(tm, st, f->n);
    for (int i = 0; i < st->n_ops; i++) {
        double s = 0, dur = 0;
        int p = -1, moved = 1;
        if (st->phase[i]) {
            if (st->phase[i] != cur_phase) cur_phase = st->phase[i], barrier = run_max, barrier_op = run_op;
            s = barrier, p = barrier_op;
        }
        for (int k = st->dep_ptr[i]; k < st->dep_ptr[i + 1]; k++) {
            int d = st->dep[k];
            if (tm->end[d] > s) s = tm->end[d], p = d;
        }
        for (int u = st->use_ptr[i]; u < st->use_ptr[i + 1]; u++) {
            int r = st->use_res[u];
            double t = st->use_q[u] / f->rate[r];
            if (f->type[r] == MZ_RES_COMPUTE) {
                if (st->use_sram[u] > 0 && st->use_sram[u] / f->sram_rate > t) t = st->use_sram[u] / f->sram_rate;
            } else if (f->type[r] == MZ_RES_LINK) {
                t += st->use_hops[u] * f->hop_s;
            }
            tm->occ[u] = t;
            if (t > dur) dur = t;
        }
        while (moved) {
            moved = 0;
            for (int u = st->use_ptr[i]; u < st->use_ptr[i + 1]; u++) {
                int b = -1;
                double s2 = mz_calendar_earliest(&tm->cal[st->use_res[u]], s, tm->occ[u], &b);
                if (s2 > s + EPS) s = s2, p = b, moved = 1;
            }
        }
        for (int u = st->use_ptr[i]; u < st->use_ptr[i + 1]; u++)
            mz_calendar_add(&tm->cal[st->use_res[u]], s, tm->occ[u], i);
        tm->start[i] = s, tm->end[i] = s + dur, tm->pred[i] = p;
        if (s + dur > run_max) run_max = s + dur, run_op = i;
    }
    tm->latency = run_max;
    tm->last = run_op;
    return run_max;
}

/* Walk back from the last op along binding predecessors; each op on the
 * path is credited the time from its start to its successor's start (its
 * own end for the last op), so the credits telescope to the latency. */
void mz_timing_exposed(const mz_step *st, mz_timing *tm, double *exposed)
{
    double tl = tm->latency;
    int i = tm->last, n = 0;
    for (int k = 0; k < st->n_ops; k++) exposed[k] = 0;
    while (i >= 0) {
        double x = tl - tm->start[i];
        exposed[i] += x > 0 ? x : 0;
        if (tm->start[i] < tl) tl = tm->start[i];
        i = tm->pred[i];
        n++;
    }
    tm->path_ops = n;
    tm->exposed_idle = tl > 1e-12 ? tl : 0;
}

void mz_timing_free(mz_timing *tm)
{
    for (int r = 0; r < tm->n_cal; r++) mz_calendar_free(&tm->cal[r]);
    free(tm->cal), free(tm->start), free(tm->end), free(tm->pred), free(tm->occ);
    memset(tm, 0, sizeof *tm);
}
