/* wafer.h: private to libmz: wafers, their area and power, the fabric, the costing of schedules and the wafer fit (wafer.c, power.c, fabric.c, cost.c, calibrate.c). */
#ifndef MZ_WAFER_H
#define MZ_WAFER_H

#include "sched.h"

/* ---------------------------------------------------------------- wafers and timing (wafer.c, cost.c; mz-cost)
 * A wafer description: key = value fields in [sections], layered from files
 * (models/NAME.wafer; 'include FILE' inside a file) and -s overrides, later
 * layers overriding earlier ones. Format and fields: bin/mz-cost.1 and
 * lib/mzs.5. Counts are parameters; what depends on them is derived. */
enum { MZ_TOPO_TREE, MZ_TOPO_MESH };
enum { MZ_DEV_HBM2, MZ_DEV_SSD };
typedef struct {
    int topology;              /* MZ_TOPO_* */
    int attention_chiplets, switches, expert_chiplets;
    int tiles, arrays_per_tile, pes_per_array, precision_bytes;
    double clock_GHz, flops_per_pe_cycle, tile_mm2;
    double sram_tile_MB, sram_tile_GBps, sram_efficiency;
    double mem_bandwidth_GBps, mem_capacity_GB, phy_mm, mem_efficiency;
    int root_stacks, stacks_per_group;
    int mem_device;            /* MZ_DEV_*: what a stack is (area and energy only; optional, hbm2) */
    double spill_GBps;         /* the tier that holds what the stacks cannot */
    double wire_GBps, wires_per_mm, hop_latency_ns;
    int multicast, reduce_forward, reduce_backward; /* switch capabilities (tree) */
    double dispatch_Bpc;       /* the attention chiplet's dispatcher: bytes per cycle, both directions */
    int mesh_root_links;       /* mesh: links from the root into the mesh (1 or 2) */
    /* the area and energy model (mz-model(7) section 9; all set or none) */
    double pe_um2, adder_um2, sram_mm2_per_MB, bond_pitch_um, phy_um2_per_wire;
    double hbm_mm2, hbm_phy_mm2, ssd_mm2, ssd_phy_mm2, switch_buffer_MB, die_gap_mm, link_mm;
    double mac_pJ, sram_pJ_per_byte, bond_pJ_per_bit, link_pJ_per_bit_mm, hbm_pJ_per_bit, ssd_pJ_per_bit;
    double spill_pJ_per_bit;
    double logic_leak_W_per_mm2, sram_leak_W_per_mm2;
    /* derived by mz_wafer_finish */
    int power;                 /* 1: the [tech] and [energy] fields are set */
    int array_dim;             /* a: an array is a x a PEs */
    double peak_flops;         /* per chiplet, FLOP/s */
    double sram_bytes, sram_Bps; /* per chiplet: capacity, operand bandwidth */
    double edge_mm;            /* chiplet edge */
    double root_link_mm;       /* die edge behind each of the root's links (tree: to a switch; mesh: into the mesh) */
    int per_group;             /* expert chiplets per group */
    int mesh_cols, mesh_rows, block_cols, block_rows; /* mesh geometry */
    /* provenance */
    int n_layers;              /* files and -s overrides, in order */
    char **layer;              /* "models/x.wafer" or "-s key=value" */
    void *priv;
} mz_wafer;

/* w: free with mz_wafer_free, after init and loads (mz_wafer_open frees it itself on error). */
void mz_wafer_init(mz_wafer *w);
/* Layer a file on top: a catalogue name (NAME finds models/NAME.wafer) or
 * a path. Errors name the file, the line and the field. */
int mz_wafer_load(mz_wafer *w, const char *name_or_path);
/* Layer one "section.key=value" override on top. */
int mz_wafer_set(mz_wafer *w, const char *assignment);
/* Check that every field the topology needs is set and consistent, and
 * derive the rest. Call after the last load/set (and again after changes). */
int mz_wafer_finish(mz_wafer *w);
/* The wafer of a command line: init, then each of the n_files files and
 * the n_sets overrides layered in order, then finish. On error w is
 * already freed; on success free it with mz_wafer_free. */
int mz_wafer_open(mz_wafer *w, char *const *files, int n_files, char *const *sets, int n_sets);
/* Set a real-valued field directly (a fit varying constants); the value is
 * attributed to a layer named "(fit)". Call mz_wafer_finish after. */
int mz_wafer_put(mz_wafer *w, const char *key, double v);
/* Numeric value of a field by its "section.key" name: 0, or -1 if unknown
 * or not set. */
int mz_wafer_get(const mz_wafer *w, const char *key, double *v);
void mz_wafer_free(mz_wafer *w);
/* Grid position of expert chiplet c on a mesh (after mz_wafer_finish). */
void mz_wafer_mesh_xy(const mz_wafer *w, int c, int *x, int *y);

/* The wafer's area bottom-up from its [tech] densities (mz-model(7) section
 * 9.1), mm2; and the leaking silicon's static power. */
typedef struct {
    double pe, tree, bond, sram, logic_die, sram_die, tile; /* one tile and its parts */
    int bond_wires;            /* 3D bonds of a tile's SRAM port */
    double tile_wafer;         /* compute.tile_mm2, the tile of the wafer's geometry */
    double chiplet, chiplet_phy, root, root_phy;            /* each */
    double sw, sw_phy, sw_logic, sw_sram;                    /* a switch die */
    double device, device_phy;                              /* a memory device, its PHY (on a die) */
    int n_chiplets, n_switches, n_devices;
    double gaps, total;        /* die spacing; the wafer */
    double logic, sram_total;  /* leaking silicon */
    double static_W;          /* leakage of that silicon */
    double full_W;            /* every PE a MAC a cycle, every SRAM port at its rate, plus static_W */
} mz_area;
/* Fills a; -1 (error set) when the wafer has no area and energy model. */
int mz_area_compute(const mz_wafer *w, mz_area *a);
/* The area table of mz-cost --area: part, count, each_mm2, total_mm2, note. */
int mz_area_write(const mz_wafer *w, mz_out *out);

/* The wafer's physical resources (compute, links, DRAM) and the routes of
 * logical transfers over them, for a schedule whose placement has 'chiplets'
 * expert chiplets in 'groups' groups. Refuses (naming the wafer field) a
 * placement that needs more chiplets, groups or chiplets per group than the
 * wafer has; a smaller one is mapped group by group onto the first chiplets. */
enum { MZ_RES_COMPUTE, MZ_RES_LINK, MZ_RES_DRAM };
typedef struct mz_fabric mz_fabric;
/* Free with mz_fabric_free. */
mz_fabric *mz_fabric_new(const mz_wafer *w, int chiplets, int groups);
/* Refresh the rates after the wafer's values changed (same counts). */
void mz_fabric_rates(mz_fabric *f, const mz_wafer *w);
int mz_fabric_size(const mz_fabric *f);
const char *mz_fabric_name(const mz_fabric *f, int r);
int mz_fabric_type(const mz_fabric *f, int r);      /* MZ_RES_* */
double mz_fabric_rate(const mz_fabric *f, int r);   /* FLOP/s or bytes/s */
void mz_fabric_free(mz_fabric *f);

/* mz-cost's accumulator: costs a schedule step by step and writes the
 * tables. The header is the schedule's (@MD, @PT, @SC). */
typedef struct mz_cost mz_cost;
/* Free with mz_cost_free; w must outlive it. */
mz_cost *mz_cost_new(const mz_wafer *w, const mz_header *h);
/* Add the next op; a new step starts at id 0 (call mz_cost_run first). */
int mz_cost_add(mz_cost *c, const mz_op *op);
int mz_cost_pending(const mz_cost *c);   /* ops of the current step */
/* Cost the current step; fills the step row and accumulates the resource
 * totals. Returns 0 or -1. */
typedef struct {
    uint32_t step;
    double latency_s, ct, ct_group, tokens;
    int ops, path_ops;
    int fits;            /* 1: every memory holds its footprint */
    /* the area and energy model (mz-model(7) section 9); 0 when the wafer has none */
    double area_mm2, energy_J, static_J, power_W, peak_W;
} mz_cost_row;
int mz_cost_run(mz_cost *c, mz_cost_row *row);
/* Breakdown rows of the step just run: "step layer category total_s
 * exposed_s", per layer and category, then the step's "all" rows. */
int mz_cost_write_breakdown(mz_cost *c, mz_out *out, int header);
/* Chrome trace events of the step just run, offset by t0 seconds; first:
 * 1 before the first event of the file. */
int mz_cost_write_timeline(mz_cost *c, mz_out *out, double t0, int *first);
/* Track names ("M" events) for the timeline. */
int mz_cost_write_tracks(mz_cost *c, mz_out *out, int *first);
/* Per resource, over every step run: quantity, busy time, utilisation. */
int mz_cost_write_resources(mz_cost *c, mz_out *out);
/* Per memory, the footprint at its peak over the steps run against its
 * capacity (mz-model(7) section 5). */
int mz_cost_write_footprint(mz_cost *c, mz_out *out);
/* 1 if every memory held its footprint in every step run. */
int mz_cost_fits(const mz_cost *c);
/* Append a line per memory that overflowed to b; returns their number. */
int mz_cost_fit_report(const mz_cost *c, mz_buf *b);
void mz_cost_free(mz_cost *c);


/* Fit wafer constants to target latencies (mz-cost --fit): TARGETS is a TSV
 * "name schedule wafer reference target tolerance" (see mz-cost.1); each
 * schedule is compiled once and held in memory while the constants vary. */
typedef struct mz_fit mz_fit;
/* Free with mz_fit_free. */
mz_fit *mz_fit_load(const char *targets, char *const *sets, int n_sets);
/* Fit the 'free' fields (the first one is the scale field, held during the
 * shape stage). log: progress lines, or NULL. Returns 0 or -1. */
int mz_fit_solve(mz_fit *f, char *const *free_keys, int n_free, FILE *log);
/* Evaluate without fitting. */
int mz_fit_evaluate(mz_fit *f);
/* What-if on the compiled schedules: set one real-valued wafer field in
 * every row's wafer (rates only: the schedules are not rebuilt), then
 * mz_fit_evaluate; read each row's mean latency back. */
int mz_fit_set(mz_fit *f, const char *key, double v);
int mz_fit_rows(const mz_fit *f);
const char *mz_fit_row_name(const mz_fit *f, int i);
double mz_fit_row_latency(const mz_fit *f, int i);
/* "#fitted" lines and the residual table. */
int mz_fit_write(mz_fit *f, mz_out *out);
void mz_fit_free(mz_fit *f);

#endif
