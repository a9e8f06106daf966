/* fabric.c: the wafer's physical resources (compute, links, DRAM) and the routes of logical transfers over them. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "timing.h"

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
const char *mz_wafer_files(const mz_wafer *w, char *buf, size_t size)
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
                 "wafer: %s", chiplets, w->expert_chiplets, mz_wafer_files(w, files, sizeof files));
        return NULL;
    }
    if (groups > w->switches) {
        mz_error("the schedule's placement uses %d groups, the wafer has %d (topology.switches); wafer: %s", groups,
                 w->switches, mz_wafer_files(w, files, sizeof files));
        return NULL;
    }
    if (chiplets % groups || chiplets / groups > w->per_group) {
        mz_error("the schedule's placement puts %d chiplets in a group, the wafer's groups hold %d "
                 "(topology.expert_chiplets / topology.switches); wafer: %s",
                 chiplets / groups, w->per_group, mz_wafer_files(w, files, sizeof files));
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
