/* fabric.c: the wafer's physical resources (compute, links, memories) and the routes of logical transfers over them. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "timing.h"

/* Names of the resource classes, in the order of the enum (timing.h). */
static const char *const class_names[CLS_N] = {
    "root compute", "chiplet compute", "root DRAM", "group DRAM", "spill tier", "root dispatcher",
    "root link", "chiplet link", "mesh link", "root mesh link"};

const char *mz_fabric_class_name(int cls) { return cls >= 0 && cls < CLS_N ? class_names[cls] : "?"; }

static int add_res(mz_fabric *f, int type, int cls, const char *name)
{
    if (f->n == f->cap) {
        f->cap = f->cap ? 2 * f->cap : 64;
        f->name = mz_realloc(f->name, f->cap * sizeof *f->name);
        f->type = mz_realloc(f->type, f->cap * sizeof *f->type);
        f->cls = mz_realloc(f->cls, f->cap * sizeof *f->cls);
        f->rate = mz_realloc(f->rate, f->cap * sizeof *f->rate);
        f->wires = mz_realloc(f->wires, f->cap * sizeof *f->wires);
    }
    snprintf(f->name[f->n], sizeof f->name[f->n], "%s", name);
    f->type[f->n] = type;
    f->cls[f->n] = cls;
    f->rate[f->n] = 0;
    f->wires[f->n] = 0;
    return f->n++;
}

/* A link along die edge (mz-model(7) section 2.3): its shoreline follows
 * from the wafer's geometry by its class (link_shore), so that a change of
 * the tile area or the PHY width moves it. */
static int add_link(mz_fabric *f, int cls, const char *name) { return add_res(f, MZ_RES_LINK, cls, name); }

/* Millimetres of die edge behind a link of class cls: a chiplet's link (to
 * its switch, or to a mesh neighbour) is one edge; a root link is its share
 * of the root's shoreline (mz_wafer_finish derives it). */
static double link_shore(const mz_wafer *w, int cls)
{
    return cls == CLS_ROOT_LINK || cls == CLS_ROOT_MESH_LINK ? w->root_link_mm : w->edge_mm;
}

/* Routes are built one at a time: route_begin, route_use..., route id. */
static int route_begin(mz_fabric *f)
{
    if (f->nroutes + 2 > f->rcap) {
        f->rcap = f->rcap ? 2 * f->rcap : 64;
        f->rptr = mz_realloc(f->rptr, f->rcap * sizeof *f->rptr);
    }
    if (f->nroutes == 0) f->rptr[0] = 0;
    f->rptr[f->nroutes + 1] = f->nuse;
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

/* Rates from the wafer's values (section 2): compute runs its own model
 * (compute.c), so its rate is the peak; a memory is stacks x bandwidth x
 * efficiency; a link is its wires (shoreline x wires_per_mm) x wire_GBps,
 * one pool for both directions. */
void mz_fabric_rates(mz_fabric *f, const mz_wafer *w)
{
    double wire = w->wire_GBps * 1e9;
    f->class_rate[CLS_ROOT_COMPUTE] = f->class_rate[CLS_CHIPLET_COMPUTE] = w->peak_flops;
    f->class_rate[CLS_ROOT_DRAM] = w->mem_bandwidth_GBps * 1e9 * w->root_stacks * w->mem_efficiency;
    f->class_rate[CLS_GROUP_DRAM] = w->mem_bandwidth_GBps * 1e9 * w->stacks_per_group * w->mem_efficiency;
    f->class_rate[CLS_SPILL] = w->spill_GBps * 1e9;
    f->class_rate[CLS_DISPATCHER] = w->dispatch_Bpc * w->clock_GHz * 1e9;
    for (int r = 0; r < f->n; r++) {
        if (f->type[r] == MZ_RES_LINK && f->cls[r] != CLS_DISPATCHER) {
            f->wires[r] = link_shore(w, f->cls[r]) * w->wires_per_mm;
            f->rate[r] = f->wires[r] * wire;
        } else {
            f->rate[r] = f->class_rate[f->cls[r]];
        }
    }
    f->hop_s = w->hop_latency_ns * 1e-9;
    f->multicast = w->multicast;
    f->reduce_fwd = w->reduce_forward;
    f->reduce_bwd = w->reduce_backward;
    f->clock_Hz = w->clock_GHz * 1e9;
    f->tiles = w->tiles;
    f->sram_Bps = w->sram_Bps;
    f->array_dim = w->array_dim;
    f->arrays = w->arrays_per_tile;
    f->bytes = w->precision_bytes;
}

/* Mesh helpers: the link between node (x, y) and its neighbour east (d 0)
 * or south (d 1), and the XY route between two nodes. */
static int mesh_link(const int *link, int cols, int x0, int y0, int x1, int y1)
{
    if (x1 != x0) return link[(y0 * cols + (x0 < x1 ? x0 : x1)) * 2 + 0];
    return link[((y0 < y1 ? y0 : y1) * cols + x0) * 2 + 1];
}

static void xy_route(mz_fabric *f, const int *link, int cols, int x0, int y0, int x1, int y1, int hops)
{
    while (x0 != x1) {
        int nx = x0 + (x1 > x0 ? 1 : -1);
        route_use(f, mesh_link(link, cols, x0, y0, nx, y0), hops);
        x0 = nx;
    }
    while (y0 != y1) {
        int ny = y0 + (y1 > y0 ? 1 : -1);
        route_use(f, mesh_link(link, cols, x0, y0, x0, ny), hops);
        y0 = ny;
    }
}

/* The memories every topology has: per group its stacks (D<g>), the
 * attention chiplet's own stacks (DA), and the spill tier (X); the root's
 * read and write route. */
static void add_memory(mz_fabric *f, int *dg)
{
    char name[24];
    for (int g = 0; g < f->G; g++) {
        snprintf(name, sizeof name, "D%d", g);
        dg[g] = add_res(f, MZ_RES_DRAM, CLS_GROUP_DRAM, name);
    }
    f->da = add_res(f, MZ_RES_DRAM, CLS_ROOT_DRAM, "DA");
    f->spill = add_res(f, MZ_RES_DRAM, CLS_SPILL, "X");
    f->r_root_mem = route_begin(f);
    route_use(f, f->da, 0);
}

/* NoP-Tree (section 2.3): the root's shoreline (its perimeter less its
 * stacks' interfaces) split over its switch links; an expert chiplet's
 * link to its switch along the edge that faces it. */
static void build_tree(mz_fabric *f)
{
    int C = f->C, G = f->G;
    int *dg = mz_malloc(G * sizeof *dg), *sl = mz_malloc(C * sizeof *sl);
    char name[24];
    for (int g = 0; g < G; g++) {
        snprintf(name, sizeof name, "R%d", g);
        f->rl[g] = add_link(f, CLS_ROOT_LINK, name);
    }
    for (int c = 0; c < C; c++) {
        snprintf(name, sizeof name, "S%d", c);
        sl[c] = add_link(f, CLS_CHIPLET_LINK, name);
    }
    add_memory(f, dg);
    /* every transfer on the tree crosses two hops (stack or root, switch, chiplet) */
    for (int c = 0; c < C; c++) {
        int g = c / f->per;
        f->mem_group[c] = g;
        f->r_mem[c] = route_begin(f);
        route_use(f, dg[g], 0), route_use(f, sl[c], 2);
        f->r_a2a[c] = route_begin(f);
        route_use(f, sl[c], 2);
    }
    free(dg), free(sl);
}

/* A 2D mesh of the same chiplets (section 2.4): a link between neighbours
 * along the edge they share; the root's shoreline split over its links
 * into the mesh. */
static void build_mesh(mz_fabric *f, const mz_wafer *w)
{
    int C = f->C, G = f->G, cols = w->mesh_cols, rows = w->mesh_rows, na = w->mesh_root_links;
    int gx = cols / w->block_cols, gy = rows / w->block_rows;
    int *link = mz_malloc((size_t)cols * rows * 2 * sizeof *link);
    int ax[2], rlk[2], *mx = mz_malloc(G * sizeof *mx), *my = mz_malloc(G * sizeof *my);
    int *dg = mz_malloc(G * sizeof *dg);
    char name[24];
    if (cols < 2) na = 1;
    if (na == 2)
        ax[0] = cols / 2 - 1, ax[1] = cols / 2;
    else
        ax[0] = (cols - 1) / 2;
    for (int g = 0; g < G; g++) {
        int bx = g % gx, by = g / gx;
        /* the group's stack sits at its block's outer corner */
        mx[g] = 2 * bx < gx ? bx * w->block_cols : bx * w->block_cols + w->block_cols - 1;
        my[g] = 2 * by < gy ? by * w->block_rows : by * w->block_rows + w->block_rows - 1;
    }
    for (int k = 0; k < na; k++) {
        snprintf(name, sizeof name, "RL%d", k);
        rlk[k] = add_link(f, CLS_ROOT_MESH_LINK, name);
    }
    for (int y = 0; y < rows; y++)
        for (int x = 0; x < cols; x++)
            for (int d = 0; d < 2; d++) {
                int nx = x + (d == 0), ny = y + (d == 1), i = y * cols + x;
                link[i * 2 + d] = -1;
                if (nx >= cols || ny >= rows) continue;
                snprintf(name, sizeof name, "L%d.%d%c", x, y, d ? 'S' : 'E');
                link[i * 2 + d] = add_link(f, CLS_MESH_LINK, name);
            }
    add_memory(f, dg);
    for (int c = 0; c < C; c++) {
        int x, y, g = c / f->per, k = 0, hops;
        mz_wafer_mesh_xy(w, c, &x, &y);
        for (int j = 1; j < na; j++)
            if (abs(x - ax[j]) < abs(x - ax[k])) k = j;
        hops = 1 + abs(x - ax[k]) + y;
        f->r_a2a[c] = route_begin(f);
        route_use(f, rlk[k], hops);
        xy_route(f, link, cols, ax[k], 0, x, y, hops);
        hops = 1 + abs(x - mx[g]) + abs(y - my[g]);
        f->mem_group[c] = g;
        f->r_mem[c] = route_begin(f);
        route_use(f, dg[g], 0);
        xy_route(f, link, cols, mx[g], my[g], x, y, hops);
    }
    free(link), free(mx), free(my), free(dg);
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
    char files[512], name[24];
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
    f->rl = mz_malloc(f->G * sizeof *f->rl);
    f->r_mem = mz_malloc(f->C * sizeof(int));
    f->r_a2a = mz_malloc(f->C * sizeof(int));
    f->mem_group = mz_malloc(f->C * sizeof(int));
    f->ca = add_res(f, MZ_RES_COMPUTE, CLS_ROOT_COMPUTE, "CA");
    f->rd = add_res(f, MZ_RES_LINK, CLS_DISPATCHER, "RD");
    for (int c = 0; c < f->C; c++) {
        snprintf(name, sizeof name, "C%d", c);
        f->chip[c] = add_res(f, MZ_RES_COMPUTE, CLS_CHIPLET_COMPUTE, name);
    }
    if (f->topo == MZ_TOPO_TREE)
        build_tree(f);
    else {
        for (int g = 0; g < f->G; g++) f->rl[g] = -1; /* no switches: the root's links are in the routes */
        build_mesh(f, w);
    }
    mz_fabric_rates(f, w);
    return f;
}

int mz_fabric_size(const mz_fabric *f) { return f->n; }
const char *mz_fabric_name(const mz_fabric *f, int r) { return f->name[r]; }
int mz_fabric_type(const mz_fabric *f, int r) { return f->type[r]; }
double mz_fabric_rate(const mz_fabric *f, int r) { return f->rate[r]; }
double mz_fabric_wires(const mz_fabric *f, int r) { return f->wires[r]; }

void mz_fabric_free(mz_fabric *f)
{
    if (!f) return;
    free(f->pmap), free(f->name), free(f->type), free(f->cls), free(f->rate), free(f->wires);
    free(f->rptr), free(f->rres), free(f->rhops);
    free(f->r_mem), free(f->r_a2a), free(f->mem_group);
    free(f->chip), free(f->rl);
    free(f);
}
