/* timing.c: one step of a schedule compiled onto a fabric, placed in time (fixed resource order), and its critical path. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "timing.h"

/* ------------------------------------------------------------------ compiled steps */
static double use_occ(const mz_step *st, const mz_fabric *f, const double *spill, int u, double *spill_occ);

void mz_step_clear(mz_step *st)
{
    st->n_ops = st->n_uses = st->n_deps = st->n_sram = st->phased = 0;
    st->tokens = st->copies = st->group_copies = 0;
    if (st->foot) memset(st->foot, 0, FOOT_N * (size_t)st->n_mem * sizeof *st->foot);
}

void mz_step_free(mz_step *st)
{
    free(st->use_ptr), free(st->use_r16), free(st->use_res), free(st->use_aux), free(st->use_q), free(st->sram);
    free(st->dep_ptr), free(st->dep), free(st->phase), free(st->layer), free(st->mb), free(st->slice);
    free(st->kind), free(st->cat), free(st->dir), free(st->flop), free(st->foot), free(st->slot), free(st->order);
    memset(st, 0, sizeof *st);
}

static void step_grow(mz_step *st, int uses, int deps)
{
    if (st->n_ops + 1 >= st->cap_ops) {
        int n = st->cap_ops ? 2 * st->cap_ops : 1024;
        st->use_ptr = mz_realloc(st->use_ptr, (n + 1) * sizeof *st->use_ptr);
        st->dep_ptr = mz_realloc(st->dep_ptr, (n + 1) * sizeof *st->dep_ptr);
        if (st->phased) st->phase = mz_realloc(st->phase, n * sizeof *st->phase);
        st->order = mz_realloc(st->order, n * sizeof *st->order);
        if (!st->lean) {
            st->layer = mz_realloc(st->layer, n * sizeof *st->layer);
            st->mb = mz_realloc(st->mb, n * sizeof *st->mb);
            st->slice = mz_realloc(st->slice, n * sizeof *st->slice);
            st->flop = mz_realloc(st->flop, n * sizeof *st->flop);
            st->kind = mz_realloc(st->kind, n);
            st->cat = mz_realloc(st->cat, n);
            st->dir = mz_realloc(st->dir, n);
        }
        st->cap_ops = n;
    }
    if (st->n_uses + uses > st->cap_uses) {
        int n = 2 * (st->n_uses + uses) + 1024;
        if (st->res_wide)
            st->use_res = mz_realloc(st->use_res, n * sizeof *st->use_res);
        else
            st->use_r16 = mz_realloc(st->use_r16, n * sizeof *st->use_r16);
        st->use_aux = mz_realloc(st->use_aux, n * sizeof *st->use_aux);
        st->use_q = mz_realloc(st->use_q, n * sizeof *st->use_q);
        st->cap_uses = n;
    }
    if (st->n_deps + deps > st->cap_deps) {
        int n = 2 * (st->n_deps + deps) + 1024;
        st->dep = mz_realloc(st->dep, n * sizeof *st->dep);
        st->cap_deps = n;
    }
}

/* Add q (and SRAM bytes) on resource r to the op being compiled; uses of
 * one resource by one op are merged (quantities add, hops take the max).
 * Only a compute use keeps SRAM bytes, a link its hops, a DRAM use its
 * memory (the first one's): nothing reads the others. */
static void use_add(mz_step *st, const mz_fabric *f, int r, double q, double sram, int hops, int mem)
{
    int u = st->slot[r], type = f->type[r];
    if (u < 0) {
        u = st->slot[r] = st->n_uses++;
        if (st->res_wide)
            st->use_res[u] = r;
        else
            st->use_r16[u] = (uint16_t)r;
        st->use_q[u] = 0;
        if (type == MZ_RES_COMPUTE) {
            if (st->n_sram == st->cap_sram) {
                st->cap_sram = 2 * st->cap_sram + 1024;
                st->sram = mz_realloc(st->sram, st->cap_sram * sizeof *st->sram);
            }
            st->use_aux[u] = st->n_sram;
            st->sram[st->n_sram++] = 0;
        } else {
            st->use_aux[u] = type == MZ_RES_LINK ? 0 : mem;
        }
    }
    st->use_q[u] += q;
    if (type == MZ_RES_COMPUTE)
        st->sram[st->use_aux[u]] += sram;
    else if (type == MZ_RES_LINK && hops > st->use_aux[u])
        st->use_aux[u] = hops;
}

/* A transfer of q bytes along a route; mem: the memory the bytes come from
 * or go to (a memory use may spill, section 5.2). */
static void route_add(mz_step *st, const mz_fabric *f, int route, double q, int mem, int *maxhops)
{
    for (int k = f->rptr[route]; k < f->rptr[route + 1]; k++) {
        int r = f->rres[k];
        use_add(st, f, r, q, 0, f->rhops[k], f->type[r] == MZ_RES_DRAM ? mem : -1);
        if (maxhops && f->rhops[k] > *maxhops) *maxhops = f->rhops[k];
    }
}

static int chip_term(int t)
{
    return t == MZ_Q_CHIP_FLOP || t == MZ_Q_MEM_READ || t == MZ_Q_MEM_WRITE || t == MZ_Q_A2A_CHIP ||
           t == MZ_Q_CHIP_TOKENS || t == MZ_Q_CHIP_EXPERTS || t == MZ_Q_CHIP_SHARED;
}

int mz_step_add(mz_step *st, const mz_fabric *f, const mz_shapes *sh, const mz_op *op)
{
    int i = st->n_ops, first_use = st->n_uses, maxhops = 0, comp_chip = -1, comp_root = 0;
    double grp[2] = {0, 0}, cw[CW_N] = {0}, flop = 0;
    int gidx = -1, a2a = op->kind == MZ_OP_DISPATCH || op->kind == MZ_OP_COMBINE;
    int n_mem = f->Gp + f->Cp + 2;
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
        if (st->res_wide != (f->n > 65536)) { /* the resources' width follows the fabric */
            st->res_wide = f->n > 65536;
            if (st->res_wide)
                st->use_res = mz_realloc(st->use_res, (st->cap_uses + 1) * sizeof *st->use_res);
            else
                st->use_r16 = mz_realloc(st->use_r16, (st->cap_uses + 1) * sizeof *st->use_r16);
        }
        if (st->n_mem != n_mem) {
            free(st->foot);
            st->n_mem = n_mem;
            st->foot = mz_calloc(FOOT_N * (size_t)n_mem, sizeof *st->foot);
        }
    }
    step_grow(st, 4 * op->nterms + 64, op->ndeps);
    if (i == 0) st->use_ptr[0] = st->dep_ptr[0] = 0;
    for (int k = 0; k < op->nterms; k++) {
        const mz_term *t = &op->term[k];
        int wc = -1;
        if (chip_term(t->type)) {
            if (t->index >= f->Cp) {
                mz_error("op %u: chiplet %d out of range (%d chiplets)", op->id, t->index, f->Cp);
                return -1;
            }
            wc = f->pmap[t->index];
        }
        /* a mesh route can be long: make room before adding */
        step_grow(st, f->nuse + 8, 0);
        switch (t->type) {
        case MZ_Q_ROOT_FLOP: flop += t->q; break;
        case MZ_Q_CHIP_FLOP: flop += t->q; break;
        case MZ_Q_ROOT_TOKENS: cw[CW_ROOT_TOKENS] += t->q, comp_root = 1; break;
        case MZ_Q_ROOT_CTX: cw[CW_ROOT_CTX] += t->q; break;
        case MZ_Q_CHIP_TOKENS:
        case MZ_Q_CHIP_EXPERTS:
        case MZ_Q_CHIP_SHARED:
            if (comp_chip >= 0 && comp_chip != wc) {
                mz_error("op %u: one compute op spans chiplets %d and %d", op->id, comp_chip, wc);
                return -1;
            }
            comp_chip = wc;
            cw[t->type == MZ_Q_CHIP_TOKENS ? CW_CHIP_TOKENS : t->type == MZ_Q_CHIP_EXPERTS ? CW_CHIP_EXPERTS
                                                                                               : CW_CHIP_SHARED] += t->q;
            break;
        case MZ_Q_ROOT_READ:
        case MZ_Q_ROOT_WRITE: route_add(st, f, f->r_root_mem, t->q, f->Gp, NULL); break;
        case MZ_Q_MEM_READ:
        case MZ_Q_MEM_WRITE: route_add(st, f, f->r_mem[wc], t->q, t->index * f->Gp / f->Cp, NULL); break;
        case MZ_Q_A2A_CHIP: {
            int g = t->index * f->Gp / f->Cp;
            if (!a2a) goto misplaced;
            if (gidx >= 0 && g != gidx) {
                mz_error("op %u: an all-to-all op spans groups %d and %d", op->id, gidx, g);
                return -1;
            }
            gidx = g;
            grp[0] += t->q;
            route_add(st, f, f->r_a2a[wc], t->q, -1, &maxhops);
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
        case MZ_Q_FOOT_WEIGHTS:
        case MZ_Q_FOOT_GRADS:
        case MZ_Q_FOOT_STATE:
        case MZ_Q_FOOT_ACTS:
            if (op->kind != MZ_OP_STAT) goto misplaced;
            if (t->index >= n_mem) {
                mz_error("op %u: memory %d out of range (%d memories)", op->id, t->index, n_mem);
                return -1;
            }
            st->foot[(size_t)(t->type - MZ_Q_FOOT_WEIGHTS) * n_mem + t->index] += t->q;
            break;
        default: goto misplaced;
        }
        continue;
    misplaced:
        mz_error("op %u: term %s does not belong in a %s op", op->id, mz_term_name(t->type),
                 mz_op_kind_name(op->kind));
        return -1;
    }
    /* compute (section 3.4): tile-cycles on the chiplet's arrays and SRAM bytes */
    if (comp_chip >= 0 || comp_root) {
        double cycles, sram;
        if (comp_chip >= 0 && op->kind != MZ_OP_EXPERT) {
            mz_error("op %u: expert terms in a %s op", op->id, mz_op_kind_name(op->kind));
            return -1;
        }
        mz_compute_work(sh, f, op->kind, op->dir, op->layer, cw, &cycles, &sram);
        if (cycles > 0 || sram > 0) use_add(st, f, comp_chip >= 0 ? f->chip[comp_chip] : f->ca, cycles, sram, 0, -1);
    }
    /* at the root (section 3.2): one copy per chiplet, or per group when the
     * switch multicasts (dispatch) or reduces (combine), on the root's link to
     * the group's switch (tree; a mesh has its root links in the routes) and
     * on the root's dispatcher */
    if (a2a && gidx >= 0) {
        int agg = f->topo == MZ_TOPO_TREE &&
                  (op->kind == MZ_OP_DISPATCH ? f->multicast : op->dir ? f->reduce_bwd : f->reduce_fwd);
        double q = agg ? grp[1] : grp[0];
        if (f->topo == MZ_TOPO_TREE) use_add(st, f, f->rl[gidx], q, 0, maxhops ? maxhops : 2, -1);
        use_add(st, f, f->rd, q, 0, 0, -1); /* every byte the root sends or takes passes its dispatcher */
    }
    /* drop empty uses; reset the scratch slots */
    {
        int n = first_use;
        for (int u = first_use; u < st->n_uses; u++) {
            int r = mz_use_res(st, u), comp = f->type[r] == MZ_RES_COMPUTE;
            st->slot[r] = -1;
            if (!(st->use_q[u] > 0) && !(comp && mz_use_sram(st, u) > 0)) {
                if (comp && st->use_aux[u] == st->n_sram - 1) st->n_sram--;
                continue;
            }
            if (st->res_wide)
                st->use_res[n] = r;
            else
                st->use_r16[n] = (uint16_t)r;
            st->use_q[n] = st->use_q[u], st->use_aux[n] = st->use_aux[u];
            if (st->lean && f->type[r] != MZ_RES_DRAM) {
                /* lean: a compute or link use's occupancy is known now (only a
                 * DRAM use's depends on the step's spill): keep it in use_q,
                 * and the compute use's SRAM bytes go */
                double x;
                st->use_q[n] = use_occ(st, f, NULL, n, &x);
                if (comp && st->use_aux[n] == st->n_sram - 1) st->n_sram--;
            }
            n++;
        }
        st->n_uses = n;
    }
    for (int k = 0; k < op->ndeps; k++) st->dep[st->n_deps++] = (int)op->dep[k];
    if (op->phase && !st->phased) { /* the first op of the step with a phase: the ones before had none */
        st->phase = mz_realloc(st->phase, st->cap_ops * sizeof *st->phase);
        memset(st->phase, 0, i * sizeof *st->phase);
        st->phased = 1;
    }
    if (st->phased) st->phase[i] = op->phase;
    if (!st->lean) {
        st->flop[i] = flop;
        st->layer[i] = op->layer, st->mb[i] = op->mb, st->slice[i] = op->slice;
        st->kind[i] = (uint8_t)op->kind, st->cat[i] = (uint8_t)op->cat, st->dir[i] = (uint8_t)op->dir;
    }
    st->n_ops++;
    st->use_ptr[st->n_ops] = st->n_uses;
    st->dep_ptr[st->n_ops] = st->n_deps;
    return 0;
}

void mz_step_order(mz_step *st)
{
    /* the depths are kept in order[] itself, then each op's place, then
     * that permutation inverted in place: no array of n beside it */
    int n = st->n_ops, maxd = 0, *depth = st->order, *count;
    uint32_t cur_phase = 0;
    int phase_base = 0, phase_max = -1;
    for (int i = 0; i < n; i++) {
        int d = 0;
        uint32_t ph = st->phased ? st->phase[i] : 0;
        if (ph) {
            /* a barrier: after every op of the phases before */
            if (ph != cur_phase) cur_phase = ph, phase_base = phase_max + 1;
            d = phase_base;
        }
        for (int k = st->dep_ptr[i]; k < st->dep_ptr[i + 1]; k++)
            if (depth[st->dep[k]] + 1 > d) d = depth[st->dep[k]] + 1;
        depth[i] = d;
        if (d > phase_max) phase_max = d;
        if (d > maxd) maxd = d;
    }
    /* counting sort by depth, stable (stream order within a depth) */
    count = mz_calloc(maxd + 2, sizeof *count);
    for (int i = 0; i < n; i++) count[depth[i] + 1]++;
    for (int d = 0; d <= maxd; d++) count[d + 1] += count[d];
    for (int i = 0; i < n; i++) st->order[i] = count[depth[i]]++; /* op i's place */
    free(count);
    /* invert: order[place] = op; a done entry is marked ~value */
    for (int i = 0; i < n; i++) {
        int x = i, px;
        if (st->order[i] < 0) continue;
        px = st->order[i];
        while (px != i) {
            int next = st->order[px];
            st->order[px] = ~x;
            x = px, px = next;
        }
        st->order[i] = ~x;
    }
    for (int i = 0; i < n; i++) st->order[i] = ~st->order[i];
}

/* ------------------------------------------------------------------ timing (section 6) */
static void timing_reserve(mz_timing *tm, const mz_step *st, int nres)
{
    if (st->n_ops > tm->cap || !tm->end) {
        int n = st->n_ops > 1024 ? st->n_ops : 1024;
        tm->end = mz_realloc(tm->end, n * sizeof *tm->end);
        if (!tm->lean) {
            tm->start = mz_realloc(tm->start, n * sizeof *tm->start);
            tm->pred = mz_realloc(tm->pred, n * sizeof *tm->pred);
        }
        tm->cap = n;
    }
    if (nres > tm->n_res) {
        tm->uocc = mz_realloc(tm->uocc, nres * sizeof *tm->uocc);
        tm->free_at = mz_realloc(tm->free_at, nres * sizeof *tm->free_at);
        tm->owner = mz_realloc(tm->owner, nres * sizeof *tm->owner);
        tm->n_res = nres;
    }
    for (int r = 0; r < nres; r++) tm->free_at[r] = 0, tm->owner[r] = -1;
}

/* Seconds use u holds its resource (section 6.1): compute, the larger of
 * its arrays' cycles and its SRAM bytes; a link, bytes over its wires plus
 * the hops; a memory, its share of the bytes over its rate (the rest of a
 * spilling memory's bytes on the spill tier: spill_occ). */
double mz_use_occupancy(const mz_step *st, const mz_fabric *f, const double *spill, int u, double *spill_occ)
{
    if (st->lean && f->type[mz_use_res(st, u)] != MZ_RES_DRAM) { /* kept in use_q by mz_step_add */
        *spill_occ = 0;
        return st->use_q[u];
    }
    return use_occ(st, f, spill, u, spill_occ);
}

static double use_occ(const mz_step *st, const mz_fabric *f, const double *spill, int u, double *spill_occ)
{
    int r = mz_use_res(st, u);
    double t;
    *spill_occ = 0;
    switch (f->type[r]) {
    case MZ_RES_COMPUTE: {
        double pe = st->use_q[u] / ((double)f->tiles * f->clock_Hz), sr = mz_use_sram(st, u) / f->sram_Bps;
        return pe > sr ? pe : sr;
    }
    case MZ_RES_LINK: return st->use_q[u] / f->rate[r] + st->use_aux[u] * f->hop_s;
    default:
        t = st->use_q[u];
        if (spill && mz_use_mem(st, u) >= 0 && spill[mz_use_mem(st, u)] > 0) {
            *spill_occ = t * spill[mz_use_mem(st, u)] / f->rate[f->spill];
            t *= 1 - spill[mz_use_mem(st, u)];
        }
        return t / f->rate[r];
    }
}

/* Ops in the fixed order of mz_step_order; every resource serves its ops in
 * that order. Op i starts at the latest of its dependencies' ends, the end
 * of every op of an earlier phase (Baseline), and, on each resource it uses,
 * the moment the resource's previous op releases it (its start plus its own
 * occupancy there). It lasts its largest occupancy. */
double mz_step_time(const mz_step *st, const mz_fabric *f, const double *spill, mz_timing *tm)
{
    uint32_t cur_phase = 0;
    double barrier = 0, run_max = 0;
    int barrier_op = -1, run_op = -1;
    timing_reserve(tm, st, f->n);
    for (int oi = 0; oi < st->n_ops; oi++) {
        int i = st->order[oi];
        double s = 0, dur = 0, xocc = 0;
        int p = -1;
        uint32_t ph = st->phased ? st->phase[i] : 0;
        if (ph) {
            if (ph != cur_phase) cur_phase = ph, barrier = run_max, barrier_op = run_op;
            s = barrier, p = barrier_op;
        }
        for (int k = st->dep_ptr[i]; k < st->dep_ptr[i + 1]; k++) {
            int d = st->dep[k];
            if (tm->end[d] > s) s = tm->end[d], p = d;
        }
        /* an op's uses are of distinct resources: at most nres of them */
        double *occ = tm->uocc;
        int u0 = st->use_ptr[i];
        for (int u = u0; u < st->use_ptr[i + 1]; u++) {
            int r = mz_use_res(st, u);
            double x;
            occ[u - u0] = mz_use_occupancy(st, f, spill, u, &x);
            xocc += x;
            if (occ[u - u0] > 0 && tm->free_at[r] > s) s = tm->free_at[r], p = tm->owner[r];
            if (occ[u - u0] > dur) dur = occ[u - u0];
        }
        if (xocc > 0) {
            if (tm->free_at[f->spill] > s) s = tm->free_at[f->spill], p = tm->owner[f->spill];
            if (xocc > dur) dur = xocc;
            tm->free_at[f->spill] = s + xocc, tm->owner[f->spill] = i;
        }
        for (int u = st->use_ptr[i]; u < st->use_ptr[i + 1]; u++)
            if (occ[u - u0] > 0) tm->free_at[mz_use_res(st, u)] = s + occ[u - u0], tm->owner[mz_use_res(st, u)] = i;
        tm->end[i] = s + dur;
        if (!tm->lean) tm->start[i] = s, tm->pred[i] = p;
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
    free(tm->start), free(tm->end), free(tm->pred), free(tm->uocc), free(tm->free_at), free(tm->owner);
    memset(tm, 0, sizeof *tm);
}
