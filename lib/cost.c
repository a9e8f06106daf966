/* cost.c: the timing model: wafer resources and routes, calendar list scheduling, critical path, tables, fit. */
#include <gsl/gsl_errno.h>
#include <gsl/gsl_multimin.h>
#include <gsl/gsl_roots.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "mz.h"

/* ------------------------------------------------------------------ fabric
 * Rate classes: every resource of a class runs at the class's rate. */
enum { R_CA, R_C, R_RP, R_S, R_M, R_MA, R_D, R_DA, R_L, R_RL, R_NCLASS };

struct mz_fabric {
    int topo, C, G, per;     /* wafer: expert chiplets, groups, chiplets per group */
    int Cp, Gp;              /* the placement's */
    int *pmap;               /* [Cp] wafer chiplet of each placement chiplet */
    int n, cap;
    char (*name)[24];
    int *type, *cls;
    double *rate;
    double class_rate[R_NCLASS];
    double sram_rate, hop_s;
    int multicast, reduce_fwd, reduce_bwd;
    /* routes: CSR lists of (resource, hops) */
    int nroutes, rcap, ucap, nuse;
    int *rptr, *rres, *rhops;
    int r_root_read, r_root_write;
    int *r_mem_down, *r_mem_up, *r_a2a_down, *r_a2a_up; /* [C] */
    int ca, *chip;           /* compute resources; chip[C] */
    int *rp;                 /* [G] root port resource used for group g */
};

static int add_res(mz_fabric *f, int type, int cls, const char *fmt, int a, int b, const char *c)
{
    if (f->n == f->cap) {
        f->cap = f->cap ? 2 * f->cap : 64;
        f->name = mz_realloc(f->name, f->cap * sizeof *f->name);
        f->type = mz_realloc(f->type, f->cap * sizeof *f->type);
        f->cls = mz_realloc(f->cls, f->cap * sizeof *f->cls);
        f->rate = mz_realloc(f->rate, f->cap * sizeof *f->rate);
    }
    snprintf(f->name[f->n], sizeof f->name[f->n], fmt, a, b, c);
    f->type[f->n] = type;
    f->cls[f->n] = cls;
    f->rate[f->n] = 0;
    return f->n++;
}

/* Routes are built one at a time: route_begin, route_use..., route id. */
static int route_begin(mz_fabric *f)
{
    if (f->nroutes + 2 > f->rcap) {
        f->rcap = f->rcap ? 2 * f->rcap : 64;
        f->rptr = mz_realloc(f->rptr, f->rcap * sizeof *f->rptr);
    }
    if (f->nroutes == 0) f->rptr[0] = 0;
    return f->nroutes++;
}

static void route_use(mz_fabric *f, int res, int hops)
{
    if (f->nuse == f->ucap) {
        f->ucap = f->ucap ? 2 * f->ucap : 256;
        f->rres = mz_realloc(f->rres, f->ucap * sizeof *f->rres);
        f->rhops = mz_realloc(f->rhops, f->ucap * sizeof *f->rhops);
    }
    f->rres[f->nuse] = res;
    f->rhops[f->nuse] = hops;
    f->nuse++;
    f->rptr[f->nroutes] = f->nuse;
}

void mz_fabric_rates(mz_fabric *f, const mz_wafer *w)
{
    double wire = w->wire_GBps * 1e9, comp = w->utilisation * w->peak_flops;
    f->class_rate[R_CA] = comp;
    f->class_rate[R_C] = comp;
    f->class_rate[R_RP] = w->root_port_wires * wire;
    f->class_rate[R_S] = w->chiplet_wires * wire;
    f->class_rate[R_L] = w->chiplet_wires * wire;
    f->class_rate[R_RL] = w->chiplet_wires * wire;
    f->class_rate[R_M] = w->memory_wires * wire * w->stacks_per_group;
    f->class_rate[R_MA] = w->memory_wires * wire * w->root_stacks;
    f->class_rate[R_D] = w->mem_bandwidth_GBps * 1e9 * w->stacks_per_group;
    f->class_rate[R_DA] = w->mem_bandwidth_GBps * 1e9 * w->root_stacks;
    for (int r = 0; r < f->n; r++) f->rate[r] = f->class_rate[f->cls[r]];
    f->sram_rate = w->sram_Bps;
    f->hop_s = w->hop_latency_ns * 1e-9;
    f->multicast = w->multicast;
    f->reduce_fwd = w->reduce_forward;
    f->reduce_bwd = w->reduce_backward;
}

/* Mesh helpers: directed link from node (x, y) in direction d (0 E, 1 W,
 * 2 S, 3 N), and the XY route between two nodes. */
static const int DX[4] = {1, -1, 0, 0}, DY[4] = {0, 0, 1, -1};

static void xy_route(mz_fabric *f, const int *link, int cols, int x0, int y0, int x1, int y1, int hops)
{
    while (x0 != x1) {
        int d = x1 > x0 ? 0 : 1;
        route_use(f, link[(y0 * cols + x0) * 4 + d], hops);
        x0 += DX[d];
    }
    while (y0 != y1) {
        int d = y1 > y0 ? 2 : 3;
        route_use(f, link[(y0 * cols + x0) * 4 + d], hops);
        y0 += DY[d];
    }
}

/* The memories every topology has: per group a stack (D) behind its link pair
 * (M), and the attention chiplet's own stacks (DA, MA) with the root's read and
 * write routes. Tree and mesh add them in this order, after their NoP links. */
static void add_memory(mz_fabric *f, int *md, int *mu, int *dg)
{
    for (int g = 0; g < f->G; g++) {
        md[g] = add_res(f, MZ_RES_LINK, R_M, "M%d%.0d%s", g, 0, "d");
        mu[g] = add_res(f, MZ_RES_LINK, R_M, "M%d%.0d%s", g, 0, "u");
        dg[g] = add_res(f, MZ_RES_DRAM, R_D, "D%d%.0d%s", g, 0, "");
    }
    int mad = add_res(f, MZ_RES_LINK, R_MA, "MAd%.0d%.0d%s", 0, 0, "");
    int mau = add_res(f, MZ_RES_LINK, R_MA, "MAu%.0d%.0d%s", 0, 0, "");
    int da = add_res(f, MZ_RES_DRAM, R_DA, "DA%.0d%.0d%s", 0, 0, "");
    f->r_root_read = route_begin(f);
    route_use(f, mad, 2), route_use(f, da, 0);
    f->r_root_write = route_begin(f);
    route_use(f, mau, 2), route_use(f, da, 0);
}

static void build_tree(mz_fabric *f, const mz_wafer *w)
{
    int C = f->C, G = f->G;
    int *sd = mz_malloc(C * sizeof *sd), *su = mz_malloc(C * sizeof *su);
    int *md = mz_malloc(G * sizeof *md), *mu = mz_malloc(G * sizeof *mu), *dg = mz_malloc(G * sizeof *dg);
    if (w->root_port == MZ_ROOT_SHARED) {
        int rp = add_res(f, MZ_RES_LINK, R_RP, "RP%.0d%.0d%s", 0, 0, "");
        for (int g = 0; g < G; g++) f->rp[g] = rp;
    } else {
        for (int g = 0; g < G; g++) f->rp[g] = add_res(f, MZ_RES_LINK, R_RP, "R%d%.0d%s", g, 0, "");
    }
    for (int c = 0; c < C; c++) {
        sd[c] = add_res(f, MZ_RES_LINK, R_S, "S%d%.0d%s", c, 0, "d");
        su[c] = add_res(f, MZ_RES_LINK, R_S, "S%d%.0d%s", c, 0, "u");
    }
    /* every transfer on the tree crosses two hops (stack or root, switch, chiplet) */
    add_memory(f, md, mu, dg);
    for (int c = 0; c < C; c++) {
        int g = c / f->per;
        f->r_mem_down[c] = route_begin(f);
        route_use(f, md[g], 2), route_use(f, dg[g], 0), route_use(f, sd[c], 2);
        f->r_mem_up[c] = route_begin(f);
        route_use(f, su[c], 2), route_use(f, mu[g], 2), route_use(f, dg[g], 0);
        f->r_a2a_down[c] = route_begin(f);
        route_use(f, sd[c], 2);
        f->r_a2a_up[c] = route_begin(f);
        route_use(f, su[c], 2);
    }
    free(sd), free(su), free(md), free(mu), free(dg);
}

static void build_mesh(mz_fabric *f, const mz_wafer *w)
{
    int C = f->C, G = f->G, cols = w->mesh_cols, rows = w->mesh_rows, na = w->mesh_root_links;
    int gx = cols / w->block_cols, gy = rows / w->block_rows;
    int *link = mz_malloc((size_t)cols * rows * 4 * sizeof *link);
    int ax[2], rld[2], rlu[2], *mx = mz_malloc(G * sizeof *mx), *my = mz_malloc(G * sizeof *my);
    int *md = mz_malloc(G * sizeof *md), *mu = mz_malloc(G * sizeof *mu), *dg = mz_malloc(G * sizeof *dg);
    int rp;
    static const char dname[4] = {'E', 'W', 'S', 'N'};
    rp = add_res(f, MZ_RES_LINK, R_RP, "RP%.0d%.0d%s", 0, 0, "");
    for (int g = 0; g < G; g++) f->rp[g] = rp;
    if (cols < 2) na = 1;
    if (na == 2)
        ax[0] = cols / 2 - 1, ax[1] = cols / 2;
    else
        ax[0] = (cols - 1) / 2;
    for (int k = 0; k < na; k++) {
        rld[k] = add_res(f, MZ_RES_LINK, R_RL, "RL%d%.0d%s", k, 0, "d");
        rlu[k] = add_res(f, MZ_RES_LINK, R_RL, "RL%d%.0d%s", k, 0, "u");
    }
    for (int y = 0; y < rows; y++)
        for (int x = 0; x < cols; x++)
            for (int d = 0; d < 4; d++) {
                int nx = x + DX[d], ny = y + DY[d];
                char dn[2] = {dname[d], 0};
                link[(y * cols + x) * 4 + d] =
                    nx < 0 || ny < 0 || nx >= cols || ny >= rows ? -1
                                                                 : add_res(f, MZ_RES_LINK, R_L, "L%d.%d%s", x, y, dn);
            }
    for (int g = 0; g < G; g++) {
        int bx = g % gx, by = g / gx;
        /* the group's stack sits at its block's outer corner */
        mx[g] = 2 * bx < gx ? bx * w->block_cols : bx * w->block_cols + w->block_cols - 1;
        my[g] = 2 * by < gy ? by * w->block_rows : by * w->block_rows + w->block_rows - 1;
    }
    add_memory(f, md, mu, dg);
    for (int c = 0; c < C; c++) {
        int x, y, g = c / f->per, k = 0, hops;
        mz_wafer_mesh_xy(w, c, &x, &y);
        for (int j = 1; j < na; j++)
            if (abs(x - ax[j]) < abs(x - ax[k])) k = j;
        hops = 1 + abs(x - ax[k]) + y;
        f->r_a2a_down[c] = route_begin(f);
        route_use(f, rld[k], hops);
        xy_route(f, link, cols, ax[k], 0, x, y, hops);
        f->r_a2a_up[c] = route_begin(f);
        xy_route(f, link, cols, x, y, ax[k], 0, hops);
        route_use(f, rlu[k], hops);
        hops = 1 + abs(x - mx[g]) + abs(y - my[g]);
        f->r_mem_down[c] = route_begin(f);
        route_use(f, md[g], hops), route_use(f, dg[g], 0);
        xy_route(f, link, cols, mx[g], my[g], x, y, hops);
        f->r_mem_up[c] = route_begin(f);
        xy_route(f, link, cols, x, y, mx[g], my[g], hops);
        route_use(f, mu[g], hops), route_use(f, dg[g], 0);
    }
    free(link), free(mx), free(my), free(md), free(mu), free(dg);
}

/* The files (and -s overrides) of a wafer, for errors about a wafer that
 * does not fit a schedule. Returns buf. */
static const char *wafer_files(const mz_wafer *w, char *buf, size_t size)
{
    size_t n = 0;
    buf[0] = '\0';
    for (int i = 0; i < w->n_layers && n < size; i++)
        n += snprintf(buf + n, size - n, "%s%s", i ? ", " : "", w->layer[i]);
    return buf;
}

mz_fabric *mz_fabric_new(const mz_wafer *w, int chiplets, int groups)
{
    mz_fabric *f;
    char files[512];
    if (chiplets > w->expert_chiplets) {
        mz_error("the schedule's placement uses %d expert chiplets, the wafer has %d (topology.expert_chiplets); "
                 "wafer: %s", chiplets, w->expert_chiplets, wafer_files(w, files, sizeof files));
        return NULL;
    }
    if (groups > w->switches) {
        mz_error("the schedule's placement uses %d groups, the wafer has %d (topology.switches); wafer: %s", groups,
                 w->switches, wafer_files(w, files, sizeof files));
        return NULL;
    }
    if (chiplets % groups || chiplets / groups > w->per_group) {
        mz_error("the schedule's placement puts %d chiplets in a group, the wafer's groups hold %d "
                 "(topology.expert_chiplets / topology.switches); wafer: %s",
                 chiplets / groups, w->per_group, wafer_files(w, files, sizeof files));
        return NULL;
    }
    f = mz_calloc(1, sizeof *f);
    f->topo = w->topology;
    f->C = w->expert_chiplets, f->G = w->switches, f->per = w->per_group;
    f->Cp = chiplets, f->Gp = groups;
    f->pmap = mz_malloc(chiplets * sizeof *f->pmap);
    for (int c = 0; c < chiplets; c++) {
        int pg = chiplets / groups, g = c / pg;
        f->pmap[c] = g * f->per + c % pg;
    }
    f->chip = mz_malloc(f->C * sizeof *f->chip);
    f->rp = mz_malloc(f->G * sizeof *f->rp);
    f->r_mem_down = mz_malloc(f->C * sizeof(int));
    f->r_mem_up = mz_malloc(f->C * sizeof(int));
    f->r_a2a_down = mz_malloc(f->C * sizeof(int));
    f->r_a2a_up = mz_malloc(f->C * sizeof(int));
    f->ca = add_res(f, MZ_RES_COMPUTE, R_CA, "CA%.0d%.0d%s", 0, 0, "");
    for (int c = 0; c < f->C; c++) f->chip[c] = add_res(f, MZ_RES_COMPUTE, R_C, "C%d%.0d%s", c, 0, "");
    if (f->topo == MZ_TOPO_TREE)
        build_tree(f, w);
    else
        build_mesh(f, w);
    mz_fabric_rates(f, w);
    return f;
}

int mz_fabric_size(const mz_fabric *f) { return f->n; }
const char *mz_fabric_name(const mz_fabric *f, int r) { return f->name[r]; }
int mz_fabric_type(const mz_fabric *f, int r) { return f->type[r]; }
double mz_fabric_rate(const mz_fabric *f, int r) { return f->rate[r]; }

void mz_fabric_free(mz_fabric *f)
{
    if (!f) return;
    free(f->pmap), free(f->name), free(f->type), free(f->cls), free(f->rate);
    free(f->rptr), free(f->rres), free(f->rhops);
    free(f->r_mem_down), free(f->r_mem_up), free(f->r_a2a_down), free(f->r_a2a_up);
    free(f->chip), free(f->rp);
    free(f);
}

/* ------------------------------------------------------------------ calendars */
#define EPS 1e-15

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

/* ------------------------------------------------------------------ mz-cost accumulator */
struct mz_cost {
    mz_fabric *fab;
    mz_step st;
    mz_timing tm;
    int L, n_moe;
    double *tot, *exp; /* [(L + 1) * MZ_NCATS]: per layer, then the step's sum */
    double *op_exp;
    int op_cap;
    double *res_q, *res_sram, *res_busy, sum_latency;
    long *res_uses;
    int ran;
};

mz_cost *mz_cost_new(const mz_wafer *w, const mz_header *h)
{
    mz_cost *c;
    mz_model m;
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
                 "wafer: %s", o.bytes, w->precision_bytes, wafer_files(w, files, sizeof files));
        return NULL;
    }
    if (mz_model_from_header(h, &m) < 0) return NULL;
    c = mz_calloc(1, sizeof *c);
    c->L = m.layers;
    c->n_moe = m.n_moe;
    mz_model_free(&m);
    if (!(c->fab = mz_fabric_new(w, (int)chiplets, (int)groups))) {
        free(c);
        return NULL;
    }
    c->tot = mz_calloc((size_t)(c->L + 1) * MZ_NCATS, sizeof *c->tot);
    c->exp = mz_calloc((size_t)(c->L + 1) * MZ_NCATS, sizeof *c->exp);
    c->res_q = mz_calloc(c->fab->n, sizeof *c->res_q);
    c->res_sram = mz_calloc(c->fab->n, sizeof *c->res_sram);
    c->res_busy = mz_calloc(c->fab->n, sizeof *c->res_busy);
    c->res_uses = mz_calloc(c->fab->n, sizeof *c->res_uses);
    return c;
}

void mz_cost_free(mz_cost *c)
{
    if (!c) return;
    mz_fabric_free(c->fab);
    mz_step_free(&c->st);
    mz_timing_free(&c->tm);
    free(c->tot), free(c->exp), free(c->op_exp);
    free(c->res_q), free(c->res_sram), free(c->res_busy), free(c->res_uses);
    free(c);
}

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
    return mz_step_add(&c->st, c->fab, op);
}

int mz_cost_run(mz_cost *c, mz_cost_row *row)
{
    mz_step *st = &c->st;
    mz_timing *tm = &c->tm;
    size_t nc = (size_t)(c->L + 1) * MZ_NCATS;
    if (st->n_ops > c->op_cap) {
        c->op_cap = st->n_ops;
        c->op_exp = mz_realloc(c->op_exp, c->op_cap * sizeof *c->op_exp);
    }
    mz_step_time(st, c->fab, tm);
    mz_timing_exposed(st, tm, c->op_exp);
    memset(c->tot, 0, nc * sizeof *c->tot);
    memset(c->exp, 0, nc * sizeof *c->exp);
    for (int i = 0; i < st->n_ops; i++) {
        int k = st->layer[i] * MZ_NCATS + st->cat[i], a = c->L * MZ_NCATS + st->cat[i];
        double d = tm->end[i] - tm->start[i];
        c->tot[k] += d, c->tot[a] += d;
        c->exp[k] += c->op_exp[i], c->exp[a] += c->op_exp[i];
        for (int u = st->use_ptr[i]; u < st->use_ptr[i + 1]; u++) {
            int r = st->use_res[u];
            c->res_q[r] += st->use_q[u];
            c->res_sram[r] += st->use_sram[u];
            c->res_busy[r] += tm->occ[u];
            c->res_uses[r]++;
        }
    }
    c->sum_latency += tm->latency;
    c->ran = 1;
    row->step = st->step;
    row->latency_s = tm->latency;
    row->tokens = c->n_moe ? st->tokens / c->n_moe : 0;
    row->ct = st->tokens > 0 ? st->copies / st->tokens : NAN;
    row->ct_group = st->tokens > 0 ? st->group_copies / st->tokens : NAN;
    row->ops = st->n_ops;
    row->path_ops = tm->path_ops;
    return 0;
}

int mz_cost_write_breakdown(mz_cost *c, mz_out *out, int header)
{
    uint32_t step = c->st.step;
    if (header && mz_out_puts(out, "step\tlayer\tcategory\ttotal_s\texposed_s\n") < 0) return -1;
    for (int l = 0; l <= c->L; l++) {
        char lname[16];
        if (l < c->L)
            snprintf(lname, sizeof lname, "%d", l);
        else
            snprintf(lname, sizeof lname, "all");
        for (int k = 1; k < MZ_NCATS; k++)
            if (mz_out_printf(out, "%u\t%s\t%s\t%.9g\t%.9g\n", step, lname, mz_op_cat_name(k),
                              c->tot[l * MZ_NCATS + k], c->exp[l * MZ_NCATS + k]) < 0)
                return -1;
    }
    if (c->tm.exposed_idle > 0 &&
        mz_out_printf(out, "%u\tall\tidle\t0\t%.9g\n", step, c->tm.exposed_idle) < 0)
        return -1;
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
            long long a = ps_of(t0) + ps_of(tm->start[i]), b = ps_of(t0) + ps_of(tm->start[i] + tm->occ[u]);
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
                              st->use_res[u] + 1, a / 1000000, a % 1000000, (b - a) / 1000000, (b - a) % 1000000,
                              st->step, i, st->layer[i], st->mb[i], st->dir[i] ? "bwd" : "fwd", slice) < 0)
                return -1;
            *first = 0;
        }
    return 0;
}

int mz_cost_write_resources(mz_cost *c, mz_out *out)
{
    static const char *const tname[] = {"compute", "link", "dram"};
    if (mz_out_puts(out, "resource\ttype\trate_per_s\tflop\tbytes\tuses\tbusy_s\tutilisation\n") < 0) return -1;
    for (int r = 0; r < c->fab->n; r++) {
        int comp = c->fab->type[r] == MZ_RES_COMPUTE;
        double util = c->sum_latency > 0 ? c->res_busy[r] / c->sum_latency : 0;
        if (mz_out_printf(out, "%s\t%s\t%.6g\t%.9g\t%.9g\t%ld\t%.9g\t%.6f\n", c->fab->name[r], tname[c->fab->type[r]],
                          c->fab->rate[r], comp ? c->res_q[r] : 0, comp ? c->res_sram[r] : c->res_q[r],
                          c->res_uses[r], c->res_busy[r], util) < 0)
            return -1;
    }
    return 0;
}

/* ------------------------------------------------------------------ fit */
typedef struct {
    char *name, *path, *wafer_spec;
    int ref;            /* row of the reference, -1: absolute */
    int speedup;        /* the value is the reference's latency over this one's */
    int relative;       /* the tolerance is a fraction of the target */
    double target, tol; /* NAN: no target */
    mz_wafer w;
    mz_fabric *fab;
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
    while ((ret = mz_reader_next(rd, &rec, &len)) > 0) {
        mz_step *st;
        if (mz_op_decode(rec, len, &op) < 0) {
            char msg[1024];
            snprintf(msg, sizeof msg, "%s", mz_errmsg());
            mz_error("%s: %s", mz_reader_where(rd), msg);
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
        if (mz_step_add(st, r->fab, &op) < 0) {
            char msg[1024];
            snprintf(msg, sizeof msg, "%s", mz_errmsg());
            mz_error("%s: %s", mz_reader_where(rd), msg);
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
        char msg[1024];
        snprintf(msg, sizeof msg, "%s", mz_errmsg());
        mz_error("--free %s: %s", key, msg);
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
        for (int k = 0; k < r->n_steps; k++) sum += mz_step_time(&r->steps[k], r->fab, &f->tm);
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
    return acc;
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
    /* GSL's error handler is off (mz_tool_init): a start where the objective
     * is not finite is a return code, answered by an infinite best */
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

typedef struct {
    mz_fit *f;
    const double *x;
    int n;
    const int *which;
} scale_arg;

/* Absolute rows' latency minus target when every free constant is scaled by e^ls. */
static double scale_fn(double ls, void *arg)
{
    scale_arg *a = arg;
    double x[16], d = 0;
    for (int k = 0; k < a->n; k++) x[k] = a->x[k] + ls;
    fit_apply(a->f, x, a->which, a->n);
    a->f->only_abs = 1;
    mz_fit_evaluate(a->f);
    a->f->only_abs = 0;
    for (int i = 0; i < a->f->n; i++) {
        const fit_row *r = &a->f->row[i];
        if (r->ref < 0 && !isnan(r->target)) {
            d = r->value - r->target;
            break;
        }
    }
    return d;
}

int mz_fit_solve(mz_fit *f, char *const *keys, int n_free, FILE *logf)
{
    int which[16], shape[16], ns = 0, has_abs = 0;
    double x[16];
    if (n_free < 1 || n_free > 8) {
        mz_error("--free: between 1 and 8 fields");
        return -1;
    }
    for (int k = 0; k < n_free; k++)
        if (fit_check_free(f, keys[k]) < 0) return -1;
    f->n_free = n_free;
    f->free_key = mz_calloc(n_free, sizeof *f->free_key);
    f->lo = mz_malloc(n_free * sizeof *f->lo);
    f->hi = mz_malloc(n_free * sizeof *f->hi);
    for (int k = 0; k < n_free; k++) {
        double v;
        f->free_key[k] = mz_strdup(keys[k]);
        if (mz_wafer_get(&f->row[0].w, keys[k], &v) < 0) return -1;
        /* bounds: two decades either way of the start (a fraction stays <= 1) */
        f->lo[k] = v / 100, f->hi[k] = v * 100;
        if (strcmp(keys[k], "compute.utilisation") == 0 && f->hi[k] > 1) f->hi[k] = 1;
        x[k] = log(v);
        which[k] = k;
        if (k > 0) shape[ns++] = k;
    }
    for (int i = 0; i < f->n; i++) has_abs |= f->row[i].ref < 0 && !isnan(f->row[i].target);
    /* (1) shape: a log grid (4 points per constant, factor 3 either way of the
     * start) over the constants but the first, normalized rows only */
    if (ns > 0) {
        int npts = 1, best_k[3] = {-1, -1, -1};
        double best_v[3] = {INFINITY, INFINITY, INFINITY}, xs[16], bx[16], bval = INFINITY;
        fit_obj o = {f, shape, ns, 2, 0, 0, 0};
        for (int k = 0; k < ns; k++) npts *= 4;
        for (int p = 0; p < npts; p++) {
            gsl_vector_view vv = gsl_vector_view_array(xs, ns);
            double val;
            for (int k = 0, q = p; k < ns; k++, q /= 4) xs[k] = x[shape[k]] + log(3.0) * (2.0 * (q % 4) / 3.0 - 1.0);
            val = objective(&vv.vector, &o);
            for (int b = 0; b < 3; b++)
                if (val < best_v[b]) {
                    for (int c = 2; c > b; c--) best_v[c] = best_v[c - 1], best_k[c] = best_k[c - 1];
                    best_v[b] = val, best_k[b] = p;
                    break;
                }
        }
        if (logf) fprintf(logf, "fit: grid of %d points over the shape constants, best %.3f\n", npts, best_v[0]);
        /* (2) Nelder-Mead from the best three grid points */
        for (int b = 0; b < 3 && best_k[b] >= 0; b++) {
            double val;
            for (int k = 0, q = best_k[b]; k < ns; k++, q /= 4)
                xs[k] = x[shape[k]] + log(3.0) * (2.0 * (q % 4) / 3.0 - 1.0);
            val = nelder_mead(&o, xs, 0.2, 0.01, 120);
            if (logf) fprintf(logf, "fit: Nelder-Mead from grid point %d: %.3f -> %.4f\n", b + 1, best_v[b], val);
            if (val < bval) bval = val, memcpy(bx, xs, ns * sizeof *bx);
        }
        for (int k = 0; k < ns; k++) x[shape[k]] = bx[k];
    }
    /* (3) one common scale on every free constant for the absolute target */
    if (has_abs) {
        scale_arg a = {f, x, n_free, which};
        gsl_function F = {scale_fn, &a};
        gsl_root_fsolver *s = gsl_root_fsolver_alloc(gsl_root_fsolver_brent);
        double lo = -4, hi = 4, ls = 0;
        gsl_error_handler_t *old = gsl_set_error_handler_off();
        if (scale_fn(lo, &a) * scale_fn(hi, &a) < 0 && gsl_root_fsolver_set(s, &F, lo, hi) == GSL_SUCCESS) {
            for (int it = 0; it < 100; it++) {
                if (gsl_root_fsolver_iterate(s)) break;
                ls = gsl_root_fsolver_root(s);
                lo = gsl_root_fsolver_x_lower(s), hi = gsl_root_fsolver_x_upper(s);
                if (gsl_root_test_interval(lo, hi, 1e-4, 0) == GSL_SUCCESS) break;
            }
            for (int k = 0; k < n_free; k++) x[k] += ls;
            if (logf) fprintf(logf, "fit: common scale x%.4f for the absolute target\n", exp(ls));
        }
        gsl_set_error_handler(old);
        gsl_root_fsolver_free(s);
    }
    /* (4) every constant on every row: Nelder-Mead on the 8-norm of the
     * residuals (close to minimising the largest one) */
    {
        fit_obj o = {f, which, n_free, 8, 0, 0, 0};
        double val = nelder_mead(&o, x, 0.1, 0.003, 150);
        if (logf) fprintf(logf, "fit: minimax stage: 8-norm of the residuals %.4f\n", val);
        if (!isfinite(val)) {
            mz_error("fit: the residuals are not finite at the start (a latency or a residual overflowed)");
            return -1;
        }
        /* the calendar model is piecewise: restart from the best point, with a
         * smaller simplex, while that still helps */
        for (int k = 0; k < 4; k++) {
            double x2[16], v2;
            memcpy(x2, x, n_free * sizeof *x);
            v2 = nelder_mead(&o, x2, 0.05, 0.001, 100);
            if (logf) fprintf(logf, "fit: minimax restart %d: %.4f\n", k + 1, v2);
            if (!(v2 < val - 1e-4)) break;
            val = v2;
            memcpy(x, x2, n_free * sizeof *x);
        }
    }
    fit_apply(f, x, which, n_free);
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
