/* power.c: the area and energy model (mz-model(7) section 9): a wafer's area bottom-up, a step's joules from what it does, power over windows. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "timing.h"

/* Energy classes of the timeline's power tracks and the summary. */
enum { E_COMPUTE, E_LINK, E_DRAM, E_STATIC, E_N };

/* Die area with its share of the spacing around it (section 9.1): a die of
 * A mm2 takes (sqrt(A) + gap)^2 of the wafer. */
static double spaced(double a, double gap) { return a > 0 ? (sqrt(a) + gap) * (sqrt(a) + gap) - a : 0; }

/* Mesh neighbours of every expert chiplet, summed (section 2.4). */
static int mesh_edges(const mz_wafer *w)
{
    int n = 0;
    for (int c = 0; c < w->expert_chiplets; c++) {
        int x, y;
        mz_wafer_mesh_xy(w, c, &x, &y);
        n += (x > 0) + (x < w->mesh_cols - 1) + (y > 0) + (y < w->mesh_rows - 1);
    }
    return n;
}

/* Section 9.1, bottom-up from the [tech] densities. Returns 0, or -1 when
 * the wafer has no area and energy model (no [tech] and [energy] fields). */
int mz_area_compute(const mz_wafer *w, mz_area *a)
{
    double um2 = 1e-6, wpm = w->wires_per_mm, e = w->edge_mm, shore, per_link, phy;
    int G = w->switches, C = w->expert_chiplets, nl;
    memset(a, 0, sizeof *a);
    if (!w->power) {
        mz_error("the wafer has no area and energy model (no [tech] and [energy] fields: include tech-28nm.wafer)");
        return -1;
    }
    /* a tile: the compute die (arrays, adder tree) face to face on the SRAM die;
     * the SRAM port crosses the bonds, one wire per wire_GBps */
    a->pe = (double)w->arrays_per_tile * w->pes_per_array * w->pe_um2 * um2;
    a->tree = (double)w->array_dim * (w->arrays_per_tile - 1) * w->adder_um2 * um2;
    a->bond_wires = (int)ceil(w->sram_tile_GBps / w->wire_GBps - 1e-9);
    a->bond = a->bond_wires * w->bond_pitch_um * w->bond_pitch_um * um2;
    a->sram = w->sram_tile_MB * w->sram_mm2_per_MB;
    a->logic_die = a->pe + a->tree + a->bond;
    a->sram_die = a->sram + a->bond;
    a->tile = a->logic_die > a->sram_die ? a->logic_die : a->sram_die;
    a->tile_wafer = w->tile_mm2;
    /* memory devices and their PHYs */
    a->n_devices = w->root_stacks + G * w->stacks_per_group;
    a->device = w->mem_device == MZ_DEV_SSD ? w->ssd_mm2 : w->hbm_mm2;
    a->device_phy = w->mem_device == MZ_DEV_SSD ? w->ssd_phy_mm2 : w->hbm_phy_mm2;
    /* NoP PHYs: the wires the timing model gives the links (section 2.3) */
    phy = w->phy_um2_per_wire * um2;
    shore = 4 * e - w->root_stacks * w->phy_mm;
    nl = w->topology == MZ_TOPO_TREE ? G : w->mesh_cols < 2 ? 1 : w->mesh_root_links;
    per_link = shore / nl;
    if (w->topology == MZ_TOPO_MESH && per_link > e) per_link = e;
    a->root_phy = nl * per_link * wpm * phy + w->root_stacks * a->device_phy;
    if (w->topology == MZ_TOPO_TREE) {
        double up = per_link * wpm, adders = ceil(up * w->wire_GBps / (w->precision_bytes * w->clock_GHz) - 1e-9);
        a->n_switches = G;
        a->chiplet_phy = e * wpm * phy;
        /* a switch: its up and down links, its group's stacks, the in-network
         * reduction (one FP16 adder per element its up-link carries a cycle), a buffer */
        a->sw_phy = (up + w->per_group * e * wpm) * phy + w->stacks_per_group * a->device_phy;
        a->sw_logic = adders * w->adder_um2 * um2;
        a->sw_sram = w->switch_buffer_MB * w->sram_mm2_per_MB;
    } else {
        /* mesh: each neighbour link an edge of wires at both ends, the root's
         * links and the groups' stacks land on expert chiplets */
        a->chiplet_phy = ((double)mesh_edges(w) * e * wpm * phy + nl * per_link * wpm * phy +
                          G * w->stacks_per_group * a->device_phy) / C;
    }
    a->n_chiplets = C;
    a->chiplet = w->tiles * a->tile + a->chiplet_phy;
    a->root = w->tiles * a->tile + a->root_phy;
    a->sw = a->sw_phy + a->sw_logic + a->sw_sram;
    a->gaps = C * spaced(a->chiplet, w->die_gap_mm) + spaced(a->root, w->die_gap_mm) +
              a->n_switches * spaced(a->sw, w->die_gap_mm) + a->n_devices * spaced(a->device, w->die_gap_mm);
    a->total = C * a->chiplet + a->root + a->n_switches * a->sw + a->n_devices * a->device + a->gaps;
    /* leaking silicon: the compute dies with their PHYs, the switches' logic; the SRAM dies, the buffers */
    a->logic = (C + 1) * w->tiles * a->logic_die + C * a->chiplet_phy + a->root_phy +
               a->n_switches * (a->sw_phy + a->sw_logic);
    a->sram_total = (C + 1) * w->tiles * a->sram_die + a->n_switches * a->sw_sram;
    a->static_W = a->logic * w->logic_leak_W_per_mm2 + a->sram_total * w->sram_leak_W_per_mm2;
    /* section 9.3: a bound, every PE a MAC each cycle and every SRAM port at its rate */
    a->full_W = (C + 1) * (double)w->tiles *
                    ((double)w->arrays_per_tile * w->pes_per_array * w->clock_GHz * 1e9 * w->mac_pJ * 1e-12 +
                     w->sram_tile_GBps * 1e9 * (w->sram_pJ_per_byte + 8 * w->bond_pJ_per_bit) * 1e-12) +
                a->static_W;
    return 0;
}

int mz_area_write(const mz_wafer *w, mz_out *out)
{
    mz_area a;
    const char *dev = w->mem_device == MZ_DEV_SSD ? "SSD" : "HBM2";
    if (mz_area_compute(w, &a) < 0) return -1;
#define ROW(part, n, each, note)                                                                                       \
    if (mz_out_printf(out, "%s\t%d\t%.6g\t%.6g\t%s\n", part, n, each, (n) * (each), note) < 0) return -1
    if (mz_out_puts(out, "part\tcount\teach_mm2\ttotal_mm2\tnote\n") < 0) return -1;
    ROW("tile.arrays", w->arrays_per_tile * w->pes_per_array, w->pe_um2 * 1e-6, "FP16 MAC PEs: compute.arrays_per_tile x compute.pes_per_array at tech.pe_um2");
    ROW("tile.adder_tree", w->array_dim * (w->arrays_per_tile - 1), w->adder_um2 * 1e-6, "FP16 adders: a x (n_a - 1) at tech.adder_um2");
    ROW("tile.bonds", a.bond_wires, w->bond_pitch_um * w->bond_pitch_um * 1e-6, "3D bonds of the SRAM port: sram.tile_GBps / links.wire_GBps at tech.bond_pitch_um squared");
    ROW("tile.sram", 1, a.sram, "sram.tile_MB at tech.sram_mm2_per_MB (the stacked SRAM die)");
    ROW("tile.logic_die", 1, a.logic_die, "arrays + adder tree + bonds");
    ROW("tile.sram_die", 1, a.sram_die, "SRAM + bonds");
    ROW("tile", 1, a.tile, "bottom-up: the larger of its two stacked dies");
    ROW("tile.wafer", 1, a.tile_wafer, "compute.tile_mm2: the tile the wafer's geometry (links) uses");
    if (mz_out_printf(out, "tile.difference\t1\t%.6g\t%.6g\tbottom-up over compute.tile_mm2: %+.1f%%\n",
                      a.tile - a.tile_wafer, a.tile - a.tile_wafer, (a.tile / a.tile_wafer - 1) * 100) < 0)
        return -1;
    ROW("chiplet", a.n_chiplets, a.chiplet, "expert chiplet: compute.tiles bottom-up tiles + NoP PHYs");
    ROW("chiplet.phy", a.n_chiplets, a.chiplet_phy, "NoP PHY: its link wires at tech.phy_um2_per_wire");
    ROW("attention_chiplet", 1, a.root, "compute.tiles bottom-up tiles + NoP PHYs + its stacks' PHYs");
    ROW("attention_chiplet.phy", 1, a.root_phy, "NoP and memory PHYs");
    ROW("switch", a.n_switches, a.sw, "PHYs of its links and stacks, reduction adders, tech.switch_buffer_MB");
    ROW("memory", a.n_devices, a.device, w->mem_device == MZ_DEV_SSD ? "SSD: tech.ssd_mm2 (off the package)" : "HBM2 stack: tech.hbm_mm2");
    ROW("memory.phy", a.n_devices, a.device_phy, w->mem_device == MZ_DEV_SSD ? "tech.ssd_phy_mm2 (counted in its die)" : "tech.hbm_phy_mm2 (counted in its die)");
    ROW("spacing", 1, a.gaps, "tech.die_gap_mm around every die (interposer / wafer whitespace)");
    ROW("total", 1, a.total, "dies + memory devices + spacing");
    ROW("leaking.logic", 1, a.logic, "compute dies, PHYs, switch logic: energy.logic_leak_W_per_mm2");
    ROW("leaking.sram", 1, a.sram_total, "SRAM dies, switch buffers: energy.sram_leak_W_per_mm2");
#undef ROW
    if (mz_out_printf(out, "static_W\t1\t%.6g\t%.6g\tleakage of the silicon above (%s devices' own static power not modelled)\n",
                      a.static_W, a.static_W, dev) < 0)
        return -1;
    if (mz_out_printf(out, "full_W\t1\t%.6g\t%.6g\ta bound: every PE a MAC each cycle and every SRAM port at its rate, "
                           "with the static power\n", a.full_W, a.full_W) < 0)
        return -1;
    return 0;
}

mz_power *mz_power_new(const mz_wafer *w, const mz_fabric *f, int layers)
{
    mz_power *p;
    mz_area a;
    if (mz_area_compute(w, &a) < 0) return NULL;
    p = mz_calloc(1, sizeof *p);
    p->w = w, p->f = f, p->L = layers, p->area = a;
    p->cat = mz_calloc((size_t)(layers + 1) * MZ_NCATS, sizeof *p->cat);
    p->res = mz_calloc(f->n, sizeof *p->res);
    return p;
}

void mz_power_free(mz_power *p)
{
    if (!p) return;
    free(p->cat), free(p->res), free(p->win), free(p->full);
    free(p);
}

/* Joules of use u of op i (section 9.2); *cls its energy class. */
static double use_energy(const mz_power *p, const mz_step *st, int i, int u, const double *spill, int *cls)
{
    const mz_wafer *w = p->w;
    const mz_fabric *f = p->f;
    int r = mz_use_res(st, u);
    double sram_B = w->sram_pJ_per_byte + 8 * w->bond_pJ_per_bit; /* pJ a byte between SRAM and arrays */
    if (f->type[r] == MZ_RES_COMPUTE) {
        *cls = E_COMPUTE;
        return 1e-12 * (st->flop[i] / w->flops_per_pe_cycle * w->mac_pJ + mz_use_sram(st, u) * sram_B);
    }
    if (f->type[r] == MZ_RES_LINK && f->cls[r] == CLS_DISPATCHER) { /* the dispatcher reads and writes the root's SRAM */
        *cls = E_COMPUTE;
        return 1e-12 * st->use_q[u] * sram_B;
    }
    if (f->type[r] == MZ_RES_LINK) {
        *cls = E_LINK;
        return 1e-12 * 8 * st->use_q[u] * w->link_pJ_per_bit_mm * w->link_mm;
    }
    *cls = E_DRAM;
    {
        double s = spill && mz_use_mem(st, u) >= 0 ? spill[mz_use_mem(st, u)] : 0;
        double dev = w->mem_device == MZ_DEV_SSD ? w->ssd_pJ_per_bit : w->hbm_pJ_per_bit;
        return 1e-12 * 8 * st->use_q[u] * ((1 - s) * dev + s * w->spill_pJ_per_bit);
    }
}

/* Spread e joules of class k uniformly over [t, t + d] into the windows:
 * its first and last windows their parts, the windows between a full
 * window's worth each through the running sum p->full (O(1) a use). */
static void spread(mz_power *p, int k, double t, double d, double e)
{
    double ws = p->win_s, r;
    int a = (int)(t / ws), b;
    if (a >= p->nwin) a = p->nwin - 1;
    b = d > 0 ? (int)((t + d) / ws) : a;
    if (b >= p->nwin) b = p->nwin - 1;
    if (b <= a) {
        p->win[(size_t)a * E_N + k] += e;
        return;
    }
    r = e / d;
    p->win[(size_t)a * E_N + k] += r * ((a + 1) * ws - t);
    p->win[(size_t)b * E_N + k] += e - r * ((a + 1) * ws - t) - (b - a - 1) * r * ws;
    if (b > a + 1) {
        p->full[(size_t)(a + 1) * E_N + k] += r * ws;
        p->full[(size_t)b * E_N + k] -= r * ws;
    }
}

void mz_power_step(mz_power *p, const mz_step *st, const mz_timing *tm, const double *spill)
{
    size_t nc = (size_t)(p->L + 1) * MZ_NCATS;
    double lat = tm->latency;
    memset(p->cat, 0, nc * sizeof *p->cat);
    memset(p->cls, 0, sizeof p->cls);
    /* windows of 1 ms, wider for long steps (at most 1e5 of them) */
    p->win_s = lat / 1e5 > 1e-3 ? lat / 1e5 : 1e-3;
    p->nwin = lat > 0 ? (int)ceil(lat / p->win_s - 1e-9) : 1;
    if (p->nwin < 1) p->nwin = 1;
    if (p->nwin > p->wcap) {
        p->wcap = p->nwin;
        p->win = mz_realloc(p->win, (size_t)p->wcap * E_N * sizeof *p->win);
        p->full = mz_realloc(p->full, (size_t)(p->wcap + 1) * E_N * sizeof *p->full);
    }
    memset(p->win, 0, (size_t)p->nwin * E_N * sizeof *p->win);
    memset(p->full, 0, (size_t)(p->nwin + 1) * E_N * sizeof *p->full);
    p->dyn = 0;
    for (int i = 0; i < st->n_ops; i++) {
        double e_op = 0;
        for (int u = st->use_ptr[i]; u < st->use_ptr[i + 1]; u++) {
            int k;
            double e = use_energy(p, st, i, u, spill, &k), x;
            e_op += e;
            p->cls[k] += e;
            p->res[mz_use_res(st, u)] += e;
            spread(p, k, tm->start[i], mz_use_occupancy(st, p->f, spill, u, &x), e);
        }
        p->cat[st->layer[i] * MZ_NCATS + st->cat[i]] += e_op;
        p->cat[p->L * MZ_NCATS + st->cat[i]] += e_op;
        p->dyn += e_op;
    }
    for (int k = 0; k < E_N; k++) { /* the full windows of the uses that span them */
        double run = 0;
        for (int j = 0; j < p->nwin; j++) run += p->full[(size_t)j * E_N + k], p->win[(size_t)j * E_N + k] += run;
    }
    p->stat = p->area.static_W * lat;
    p->cls[E_STATIC] = p->stat;
    p->lat = lat;
    /* the last window's width; under a tenth of the others it joins the one before */
    p->last_w = lat > 0 ? lat - (p->nwin - 1) * p->win_s : p->win_s;
    if (p->nwin > 1 && p->last_w < 0.1 * p->win_s) {
        for (int k = 0; k < E_N; k++) p->win[(size_t)(p->nwin - 2) * E_N + k] += p->win[(size_t)(p->nwin - 1) * E_N + k];
        p->nwin--;
        p->last_w += p->win_s;
    }
    p->peak_W = 0;
    for (int j = 0; j < p->nwin; j++) {
        double w = j == p->nwin - 1 ? p->last_w : p->win_s, e = 0;
        p->win[(size_t)j * E_N + E_STATIC] = p->area.static_W * w;
        for (int k = 0; k < E_N; k++) e += p->win[(size_t)j * E_N + k];
        if (e / w > p->peak_W) p->peak_W = e / w;
    }
}

int mz_power_write_counters(const mz_power *p, mz_out *out, double t0, int *first)
{
    for (int j = 0; j < p->nwin; j++) {
        double lo = j * p->win_s, w = j == p->nwin - 1 ? p->last_w : p->win_s;
        const double *x = p->win + (size_t)j * E_N;
        if (mz_out_printf(out,
                          "%s{\"name\":\"power_W\",\"ph\":\"C\",\"pid\":1,\"tid\":0,\"ts\":%.6f,\"args\":{\"compute\":%.6g,"
                          "\"link\":%.6g,\"dram\":%.6g,\"static\":%.6g}}",
                          *first ? "" : ",\n", (t0 + lo) * 1e6, x[E_COMPUTE] / w, x[E_LINK] / w, x[E_DRAM] / w,
                          x[E_STATIC] / w) < 0)
            return -1;
        *first = 0;
    }
    return 0;
}
