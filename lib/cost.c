/* cost.c: mz-cost's accumulator: costs a schedule step by step and writes the step, breakdown, resource and timeline tables. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "timing.h"

/* ------------------------------------------------------------------ mz-cost accumulator */
struct mz_cost {
    const mz_wafer *w;
    mz_fabric *fab;
    mz_model model;
    mz_shapes shapes;
    mz_step st;
    mz_timing tm;
    int L, n_moe, G, C, n_mem;
    double *tot, *exp; /* [(L + 1) * MZ_NCATS]: per layer, then the step's sum */
    double *op_exp;
    int op_cap;
    double *res_q, *res_sram, *res_busy, *res_flop, sum_latency;
    long *res_uses;
    double *spill;     /* [n_mem] the step's share of each memory's traffic on the spill tier */
    double *peak;      /* [FOOT_N][n_mem] footprint at its largest over the steps */
    double *cap;       /* [n_mem] capacity in bytes */
    mz_power *pw;      /* the area and energy model (section 9), NULL when the wafer has none */
    int ran;
    int lean;          /* mz_cost_set_lean */
};

/* Capacity of memory i (section 5): a group's stacks, the root's stacks,
 * a chiplet's SRAM, the attention chiplet's SRAM. */
static double capacity(const mz_cost *c, int i)
{
    const mz_wafer *w = c->w;
    if (i < c->G) return w->stacks_per_group * w->mem_capacity_GB * 1e9;
    if (i == c->G) return w->root_stacks * w->mem_capacity_GB * 1e9;
    return w->sram_bytes;
}

static int is_dram(const mz_cost *c, int i) { return i <= c->G; }

static double resident(const double *foot, int n_mem, int i)
{
    double x = 0;
    for (int k = 0; k < FOOT_N; k++) x += foot[(size_t)k * n_mem + i];
    return x;
}

mz_cost *mz_cost_new(const mz_wafer *w, const mz_header *h)
{
    mz_cost *c;
    mz_sched_opts o;
    int i = mz_header_find(h, "@PT", 0);
    long chiplets, groups;
    if (i < 0) {
        mz_error("the schedule has no @PT (placement) line");
        return NULL;
    }
    if (mz_header_long(h, i, "chiplets", 1, 65536, &chiplets) < 0 ||
        mz_header_long(h, i, "groups", 1, 65536, &groups) < 0)
        return NULL;
    if (mz_sched_opts_from_header(h, &o) < 0) return NULL;
    if (o.bytes != w->precision_bytes) {
        char files[512];
        mz_error("the schedule counts %d bytes per element, the wafer computes with %d (compute.precision_bytes); "
                 "wafer: %s", o.bytes, w->precision_bytes, mz_wafer_files(w, files, sizeof files));
        return NULL;
    }
    c = mz_calloc(1, sizeof *c);
    if (mz_model_from_header(h, &c->model) < 0) {
        free(c);
        return NULL;
    }
    c->w = w;
    c->L = c->model.layers;
    c->n_moe = c->model.n_moe;
    c->G = (int)groups, c->C = (int)chiplets;
    c->n_mem = c->G + c->C + 2;
    if (!(c->fab = mz_fabric_new(w, (int)chiplets, (int)groups))) {
        mz_model_free(&c->model);
        free(c);
        return NULL;
    }
    if (w->power && !(c->pw = mz_power_new(w, c->fab, c->L))) {
        mz_fabric_free(c->fab);
        mz_model_free(&c->model);
        free(c);
        return NULL;
    }
    mz_shapes_init(&c->shapes, &c->model, (int)chiplets);
    c->tot = mz_calloc((size_t)(c->L + 1) * MZ_NCATS, sizeof *c->tot);
    c->exp = mz_calloc((size_t)(c->L + 1) * MZ_NCATS, sizeof *c->exp);
    c->res_q = mz_calloc(c->fab->n, sizeof *c->res_q);
    c->res_sram = mz_calloc(c->fab->n, sizeof *c->res_sram);
    c->res_busy = mz_calloc(c->fab->n, sizeof *c->res_busy);
    c->res_flop = mz_calloc(c->fab->n, sizeof *c->res_flop);
    c->res_uses = mz_calloc(c->fab->n, sizeof *c->res_uses);
    c->spill = mz_calloc(c->n_mem, sizeof *c->spill);
    c->peak = mz_calloc(FOOT_N * (size_t)c->n_mem, sizeof *c->peak);
    c->cap = mz_malloc(c->n_mem * sizeof *c->cap);
    for (int k = 0; k < c->n_mem; k++) c->cap[k] = capacity(c, k);
    return c;
}

void mz_cost_free(mz_cost *c)
{
    if (!c) return;
    mz_fabric_free(c->fab);
    mz_power_free(c->pw);
    mz_step_free(&c->st);
    mz_timing_free(&c->tm);
    mz_model_free(&c->model);
    free(c->tot), free(c->exp), free(c->op_exp);
    free(c->res_q), free(c->res_sram), free(c->res_busy), free(c->res_flop), free(c->res_uses);
    free(c->spill), free(c->peak), free(c->cap);
    free(c);
}

void mz_cost_set_lean(mz_cost *c) { c->lean = c->st.lean = c->tm.lean = 1; }

int mz_cost_pending(const mz_cost *c) { return c->ran ? 0 : c->st.n_ops; }

int mz_cost_add(mz_cost *c, const mz_op *op)
{
    if (op->layer >= c->L) {
        mz_error("op %u: layer %d out of range", op->id, op->layer);
        return -1;
    }
    if (op->id != 0 && c->ran) {
        mz_error("op %u of step %u comes after the step's stat op (the last op of a step)", op->id, op->step);
        return -1;
    }
    if (op->id == 0 && c->st.n_ops) {
        if (!c->ran) {
            mz_error("op 0 of step %u before step %u was costed", op->step, c->st.step);
            return -1;
        }
        mz_step_clear(&c->st);
        c->ran = 0;
    }
    if (c->st.n_ops && op->step != c->st.step) {
        mz_error("op %u of step %u inside step %u", op->id, op->step, c->st.step);
        return -1;
    }
    return mz_step_add(&c->st, c->fab, &c->shapes, op);
}

/* Section 5.2: a memory holding more than its capacity keeps the overflow
 * on the spill tier, and that share of its traffic goes there. */
void mz_step_spill(const mz_step *st, const mz_wafer *w, const mz_fabric *f, double *spill)
{
    for (int i = 0; i < st->n_mem; i++) {
        double r = st->foot ? resident(st->foot, st->n_mem, i) : 0;
        double cap = i < f->Gp ? w->stacks_per_group * w->mem_capacity_GB * 1e9 : w->root_stacks * w->mem_capacity_GB * 1e9;
        /* a spill tier of 0 GB/s: capacity reported, not enforced (timed as if it fit) */
        spill[i] = w->spill_GBps > 0 && i <= f->Gp && r > cap ? 1 - cap / r : 0;
    }
}

/* The wafer fields a class's rate is made of (mz-model(7) section 2). */
static const char *class_fields(int cls)
{
    switch (cls) {
    case CLS_ROOT_COMPUTE:
    case CLS_CHIPLET_COMPUTE: return "compute.clock_GHz, compute.tiles, sram.tile_GBps, sram.efficiency";
    case CLS_ROOT_DRAM: return "memory.bandwidth_GBps, memory.efficiency, memory.root_stacks";
    case CLS_GROUP_DRAM: return "memory.bandwidth_GBps, memory.efficiency, memory.stacks_per_group";
    case CLS_SPILL: return "spill.bandwidth_GBps";
    case CLS_DISPATCHER: return "root.dispatch_Bpc, compute.clock_GHz";
    case CLS_ROOT_LINK:
    case CLS_ROOT_MESH_LINK: return "links.wire_GBps, links.wires_per_mm, memory.phy_mm, compute.tile_mm2";
    default: return "links.wire_GBps, links.wires_per_mm, compute.tile_mm2";
    }
}

/* The step row's latency, counts and fit (the area and energy are the caller's). */
static void step_row(const mz_cost *c, const mz_step *st, const mz_timing *tm, int fits, mz_cost_row *row)
{
    row->step = st->step;
    row->latency_s = tm->latency;
    row->tokens = c->n_moe ? st->tokens / c->n_moe : 0;
    row->ct = st->tokens > 0 ? st->copies / st->tokens : 0;
    row->ct_group = st->tokens > 0 ? st->group_copies / st->tokens : 0;
    row->ops = st->n_ops;
    row->path_ops = tm->path_ops;
    row->fits = fits;
}

int mz_cost_run(mz_cost *c, mz_cost_row *row)
{
    mz_step *st = &c->st;
    mz_timing *tm = &c->tm;
    size_t nc = (size_t)(c->L + 1) * MZ_NCATS;
    int fits = 1;
    if (!c->lean && st->n_ops > c->op_cap) {
        c->op_cap = st->n_ops;
        c->op_exp = mz_realloc(c->op_exp, c->op_cap * sizeof *c->op_exp);
    }
    mz_step_order(st);
    if (st->foot) {
        mz_step_spill(st, c->w, c->fab, c->spill);
        for (int i = 0; i < c->n_mem; i++) {
            if (resident(st->foot, c->n_mem, i) > c->cap[i]) fits = 0;
            if (resident(st->foot, c->n_mem, i) > resident(c->peak, c->n_mem, i))
                for (int k = 0; k < FOOT_N; k++)
                    c->peak[(size_t)k * c->n_mem + i] = st->foot[(size_t)k * c->n_mem + i];
        }
    }
    mz_step_time(st, c->fab, st->foot ? c->spill : NULL, tm);
    if (!isfinite(tm->latency) || tm->latency > MZ_STEP_MAX_S) {
        /* values valid alone, absurd together (issue 14): name the resource
         * that holds an op longest and the fields its rate comes from */
        char files[512];
        int worst = -1;
        double wocc = 0, x;
        for (int u = 0; u < st->n_uses; u++) {
            double o = mz_use_occupancy(st, c->fab, st->foot ? c->spill : NULL, u, &x);
            if (worst < 0 || !(o <= wocc)) worst = u, wocc = o;
        }
        if (worst >= 0) {
            int r = mz_use_res(st, worst);
            mz_error("step %u takes %.3g s, past the %g s a step may take: %s (%s) holds one op %.3g s; its rate "
                     "comes from %s; wafer: %s",
                     st->step, tm->latency, MZ_STEP_MAX_S, c->fab->name[r], mz_fabric_class_name(c->fab->cls[r]),
                     wocc, class_fields(c->fab->cls[r]), mz_wafer_files(c->w, files, sizeof files));
        } else {
            mz_error("step %u: the latency is not finite; wafer: %s", st->step,
                     mz_wafer_files(c->w, files, sizeof files));
        }
        return -1;
    }
    if (c->lean) {
        c->ran = 1;
        memset(row, 0, sizeof *row);
        step_row(c, st, tm, fits, row);
        row->path_ops = 0; /* a lean step keeps no critical path */
        return 0;
    }
    mz_timing_exposed(st, tm, c->op_exp);
    memset(c->tot, 0, nc * sizeof *c->tot);
    memset(c->exp, 0, nc * sizeof *c->exp);
    for (int i = 0; i < st->n_ops; i++) {
        int k = st->layer[i] * MZ_NCATS + st->cat[i], a = c->L * MZ_NCATS + st->cat[i];
        double x;
        double d = tm->end[i] - tm->start[i];
        c->tot[k] += d, c->tot[a] += d;
        c->exp[k] += c->op_exp[i], c->exp[a] += c->op_exp[i];
        for (int u = st->use_ptr[i]; u < st->use_ptr[i + 1]; u++) {
            int r = mz_use_res(st, u);
            if (c->fab->type[r] == MZ_RES_COMPUTE)
                c->res_flop[r] += st->flop[i], c->res_q[r] += st->use_q[u], c->res_sram[r] += mz_use_sram(st, u);
            else
                c->res_q[r] += st->use_q[u];
            c->res_busy[r] += mz_use_occupancy(st, c->fab, st->foot ? c->spill : NULL, u, &x);
            c->res_uses[r]++;
        }
    }
    c->sum_latency += tm->latency;
    c->ran = 1;
    memset(row, 0, sizeof *row);
    if (c->pw) {
        mz_power_step(c->pw, st, tm, st->foot ? c->spill : NULL);
        row->area_mm2 = c->pw->area.total;
        row->energy_J = c->pw->dyn + c->pw->stat;
        row->static_J = c->pw->stat;
        row->power_W = tm->latency > 0 ? row->energy_J / tm->latency : 0;
        row->peak_W = c->pw->peak_W;
    }
    step_row(c, st, tm, fits, row);
    return 0;
}

/* Names of memory i for the footprint table and messages. */
static void memory_name(const mz_cost *c, int i, char *buf, size_t size)
{
    if (i < c->G)
        snprintf(buf, size, "D%d", i);
    else if (i == c->G)
        snprintf(buf, size, "DA");
    else if (i < c->G + 1 + c->C)
        snprintf(buf, size, "SRAM.C%d", i - c->G - 1);
    else
        snprintf(buf, size, "SRAM.CA");
}

int mz_cost_fits(const mz_cost *c)
{
    for (int i = 0; i < c->n_mem; i++)
        if (resident(c->peak, c->n_mem, i) > c->cap[i]) return 0;
    return 1;
}

/* One line per kind of memory that overflows (group DRAM, root DRAM, chiplet
 * SRAM, root SRAM), for the worst of its kind: what it holds against its
 * capacity, and what the timing did about it. Returns the lines appended. */
int mz_cost_fit_report(const mz_cost *c, mz_buf *b)
{
    static const char *const kind[] = {"group DRAM", "root DRAM", "chiplet SRAM", "root SRAM"};
    int n = 0;
    for (int k = 0; k < 4; k++) {
        int i0 = k == 0 ? 0 : k == 1 ? c->G : k == 2 ? c->G + 1 : c->G + 1 + c->C;
        int i1 = k == 0 ? c->G : k == 1 ? c->G + 1 : k == 2 ? c->G + 1 + c->C : c->n_mem;
        int worst = -1, over = 0;
        double wr = 0;
        char name[32];
        for (int i = i0; i < i1; i++) {
            double r = resident(c->peak, c->n_mem, i);
            if (!(r > c->cap[i])) continue;
            over++;
            if (r - c->cap[i] > wr) wr = r - c->cap[i], worst = i;
        }
        if (worst < 0) continue;
        memory_name(c, worst, name, sizeof name);
        mz_buf_printf(b, "%s: %d of %d over capacity, the worst %s: %.3g GB in %.3g GB (weights %.3g, gradients %.3g, "
                         "optimizer state %.3g, activations %.3g GB); %s\n",
                      kind[k], over, i1 - i0, name, resident(c->peak, c->n_mem, worst) / 1e9, c->cap[worst] / 1e9,
                      c->peak[worst] / 1e9, c->peak[(size_t)FOOT_GRADS * c->n_mem + worst] / 1e9,
                      c->peak[(size_t)FOOT_STATE * c->n_mem + worst] / 1e9,
                      c->peak[(size_t)FOOT_ACTS * c->n_mem + worst] / 1e9,
                      k >= 2 ? "timed as the schedule has it (it assumed the SRAM holds it)"
                      : c->w->spill_GBps > 0 ? "its share of the traffic over capacity is timed on the spill tier"
                                             : "timed as if it fit (spill.bandwidth_GBps = 0: capacity not enforced)");
        n++;
    }
    return n;
}

int mz_cost_write_footprint(mz_cost *c, mz_out *out)
{
    if (mz_out_puts(out, "memory\ttype\tcapacity_bytes\tweights_bytes\tgrads_bytes\tstate_bytes\tacts_bytes\t"
                         "resident_bytes\tresident_over_capacity\tfits\tspill_share\n") < 0)
        return -1;
    for (int i = 0; i < c->n_mem; i++) {
        double r = resident(c->peak, c->n_mem, i);
        char name[32];
        memory_name(c, i, name, sizeof name);
        if (mz_out_printf(out, "%s\t%s\t%.6g\t%.6g\t%.6g\t%.6g\t%.6g\t%.6g\t%.4f\t%d\t%.4f\n", name,
                          is_dram(c, i) ? "dram" : "sram", c->cap[i], c->peak[i],
                          c->peak[(size_t)FOOT_GRADS * c->n_mem + i], c->peak[(size_t)FOOT_STATE * c->n_mem + i],
                          c->peak[(size_t)FOOT_ACTS * c->n_mem + i], r, c->cap[i] > 0 ? r / c->cap[i] : 0,
                          !(r > c->cap[i]), c->w->spill_GBps > 0 && is_dram(c, i) && r > c->cap[i] ? 1 - c->cap[i] / r : 0) < 0)
            return -1;
    }
    return 0;
}

int mz_cost_write_breakdown(mz_cost *c, mz_out *out, int header)
{
    uint32_t step = c->st.step;
    if (header && mz_out_puts(out, c->pw ? "step\tlayer\tcategory\ttotal_s\texposed_s\tenergy_J\n"
                                         : "step\tlayer\tcategory\ttotal_s\texposed_s\n") < 0)
        return -1;
    for (int l = 0; l <= c->L; l++) {
        char lname[16];
        if (l < c->L)
            snprintf(lname, sizeof lname, "%d", l);
        else
            snprintf(lname, sizeof lname, "all");
        for (int k = 1; k < MZ_NCATS; k++)
            if (mz_out_printf(out, "%u\t%s\t%s\t%.9g\t%.9g", step, lname, mz_op_cat_name(k), c->tot[l * MZ_NCATS + k],
                              c->exp[l * MZ_NCATS + k]) < 0 ||
                (c->pw && mz_out_printf(out, "\t%.9g", c->pw->cat[l * MZ_NCATS + k]) < 0) || mz_out_puts(out, "\n") < 0)
                return -1;
    }
    if (c->tm.exposed_idle > 0 &&
        mz_out_printf(out, "%u\tall\tidle\t0\t%.9g%s\n", step, c->tm.exposed_idle, c->pw ? "\t0" : "") < 0)
        return -1;
    /* section 9.3: the leakage of the step's latency, the phase no op holds */
    if (c->pw && mz_out_printf(out, "%u\tall\tstatic\t0\t0\t%.9g\n", step, c->pw->stat) < 0) return -1;
    return 0;
}

/* Seconds to whole picoseconds, printed as microseconds: rounding each
 * boundary once keeps touching events touching. */
static long long ps_of(double s) { return llround(s * 1e12); }

int mz_cost_write_tracks(mz_cost *c, mz_out *out, int *first)
{
    static const char *const tname[] = {"compute", "link", "DRAM"};
    if (mz_out_printf(out, "%s{\"name\":\"process_name\",\"ph\":\"M\",\"pid\":1,\"tid\":0,\"args\":{\"name\":\"wafer\"}}",
                      *first ? "" : ",\n") < 0)
        return -1;
    *first = 0;
    for (int r = 0; r < c->fab->n; r++)
        if (mz_out_printf(out,
                          ",\n{\"name\":\"thread_name\",\"ph\":\"M\",\"pid\":1,\"tid\":%d,\"args\":{\"name\":\"%s (%s)\"}}"
                          ",\n{\"name\":\"thread_sort_index\",\"ph\":\"M\",\"pid\":1,\"tid\":%d,\"args\":{\"sort_index\":%d}}",
                          r + 1, c->fab->name[r], tname[c->fab->type[r]], r + 1, r) < 0)
            return -1;
    return 0;
}

int mz_cost_write_timeline(mz_cost *c, mz_out *out, double t0, int *first)
{
    const mz_step *st = &c->st;
    const mz_timing *tm = &c->tm;
    /* picoseconds in a long long: refuse times they cannot hold (no real step is near) */
    if (!(t0 >= 0 && t0 + tm->latency < 1e6)) {
        mz_error("timeline: step %u ends at %g s, past the 1e6 s a timeline can show", st->step, t0 + tm->latency);
        return -1;
    }
    for (int i = 0; i < st->n_ops; i++)
        for (int u = st->use_ptr[i]; u < st->use_ptr[i + 1]; u++) {
            /* round within the step, then offset: events that touch keep touching */
            double x, occ = mz_use_occupancy(st, c->fab, st->foot ? c->spill : NULL, u, &x);
            long long a = ps_of(t0) + ps_of(tm->start[i]), b = ps_of(t0) + ps_of(tm->start[i] + occ);
            char slice[16];
            if (st->slice[i] < 0)
                snprintf(slice, sizeof slice, "null");
            else
                snprintf(slice, sizeof slice, "%d", st->slice[i]);
            if (mz_out_printf(out,
                              "%s{\"name\":\"%s\",\"cat\":\"%s\",\"ph\":\"X\",\"pid\":1,\"tid\":%d,\"ts\":%lld.%06lld,"
                              "\"dur\":%lld.%06lld,\"args\":{\"step\":%u,\"op\":%d,\"layer\":%d,\"mb\":%d,"
                              "\"dir\":\"%s\",\"slice\":%s}}",
                              *first ? "" : ",\n", mz_op_kind_name(st->kind[i]), mz_op_cat_name(st->cat[i]),
                              mz_use_res(st, u) + 1, a / 1000000, a % 1000000, (b - a) / 1000000, (b - a) % 1000000,
                              st->step, i, st->layer[i], st->mb[i], st->dir[i] ? "bwd" : "fwd", slice) < 0)
                return -1;
            *first = 0;
        }
    /* section 9.3: the power tracks, one counter event per window */
    if (c->pw && mz_power_write_counters(c->pw, out, t0, first) < 0) return -1;
    return 0;
}

int mz_cost_write_resources(mz_cost *c, mz_out *out)
{
    static const char *const tname[] = {"compute", "link", "dram"};
    if (mz_out_puts(out, c->pw ? "resource\ttype\trate_per_s\twires\tflop\tbytes\tuses\tbusy_s\tutilisation\tenergy_J\n"
                               : "resource\ttype\trate_per_s\twires\tflop\tbytes\tuses\tbusy_s\tutilisation\n") < 0)
        return -1;
    for (int r = 0; r < c->fab->n; r++) {
        int comp = c->fab->type[r] == MZ_RES_COMPUTE;
        double util = c->sum_latency > 0 ? c->res_busy[r] / c->sum_latency : 0;
        if (mz_out_printf(out, "%s\t%s\t%.6g\t%.6g\t%.9g\t%.9g\t%ld\t%.9g\t%.6f", c->fab->name[r],
                          tname[c->fab->type[r]], c->fab->rate[r], c->fab->wires[r], comp ? c->res_flop[r] : 0,
                          comp ? c->res_sram[r] : c->res_q[r], c->res_uses[r], c->res_busy[r], util) < 0 ||
            (c->pw && mz_out_printf(out, "\t%.9g", c->pw->res[r]) < 0) || mz_out_puts(out, "\n") < 0)
            return -1;
    }
    return 0;
}
