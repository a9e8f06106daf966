/* timing.h: private to the timing model (fabric.c, compute.c, timing.c, cost.c, calibrate.c): its structures. */
#ifndef MZ_TIMING_H
#define MZ_TIMING_H

#include "wafer.h"

/* The longest step mz-cost times (about 32 years): beyond it the wafer's
 * values are absurd together, and the step is an error naming them. */
#define MZ_STEP_MAX_S 1e9

/* Resource classes (mz-model(7) section 2), each with the names of its
 * resources (mzs(5)): every resource of a class but the links runs at the
 * class's rate; a link's rate is its own wires. */
enum {
    CLS_ROOT_COMPUTE,    /* CA: the attention (root) chiplet's tiles */
    CLS_CHIPLET_COMPUTE, /* C<c>: an expert chiplet's tiles */
    CLS_ROOT_DRAM,       /* DA: the root's memory stacks */
    CLS_GROUP_DRAM,      /* D<g>: a switch group's memory stacks */
    CLS_SPILL,           /* X: the tier past capacity (spill.*) */
    CLS_DISPATCHER,      /* RD: the root's token dispatcher */
    CLS_ROOT_LINK,       /* R<g>: root to a group's switch */
    CLS_CHIPLET_LINK,    /* S<c>: a switch to its expert chiplet */
    CLS_MESH_LINK,       /* L<x>.<y>E|S: a mesh hop between chiplets */
    CLS_ROOT_MESH_LINK,  /* RL<k>: root to the mesh */
    CLS_N
};

struct mz_fabric {
    int topo, C, G, per;     /* wafer: expert chiplets, groups, chiplets per group */
    int Cp, Gp;              /* the placement's */
    int *pmap;               /* [Cp] wafer chiplet of each placement chiplet */
    int n, cap;              /* resources */
    char (*name)[24];
    int *type, *cls;
    double *rate;            /* bytes/s (links, memories), peak FLOP/s (compute) */
    double *wires;           /* links: wires (shoreline x links.wires_per_mm) */
    double class_rate[CLS_N];
    double hop_s, clock_Hz, sram_Bps;
    int tiles, array_dim, arrays, bytes;
    int multicast, reduce_fwd, reduce_bwd;
    /* routes: CSR lists of (resource, hops) */
    int nroutes, rcap, ucap, nuse;
    int *rptr, *rres, *rhops;
    int r_root_mem;          /* root <-> its stacks */
    int *r_mem, *r_a2a;      /* [C] chiplet <-> its group's stacks; root <-> chiplet */
    int *mem_group;          /* [C] the group whose stacks chiplet c uses */
    int ca, *chip, da, spill; /* compute resources, root stacks, spill tier */
    int rd;                  /* the root's dispatcher: every all-to-all byte at the root */
    int *rl;                 /* [G] the root's link to switch g (tree), -1 on a mesh */
};

/* The files (and -s overrides) of a wafer, for errors about a wafer that
 * does not fit a schedule. Returns buf. */
const char *mz_wafer_files(const mz_wafer *w, char *buf, size_t size);
const char *mz_fabric_class_name(int cls);
double mz_fabric_wires(const mz_fabric *f, int r);

/* ---------------------------------------------------------------- compute (compute.c, section 3.4)
 * The matrix shapes of a model's ops, from the schedule's @MD line. */
typedef struct {
    double hidden, ffn, up;          /* up: width of the first expert matrix (2 ffn when gated) */
    double shared_ffn, shared_up, shared, dense_ffn, dense_up;
    double experts, heads, head_dim, attn_params, vocab;
    int chiplets;                    /* the placement's (spread shared experts are cut this many ways) */
    const uint8_t *moe;              /* [layers] */
} mz_shapes;
void mz_shapes_init(mz_shapes *sh, const mz_model *m, int chiplets);
/* Work of one op on a chiplet: tile-cycles of its arrays and bytes between
 * SRAM and the arrays. kind, dir and layer are the op's. */
void mz_compute_work(const mz_shapes *sh, const mz_fabric *f, int kind, int dir, int layer, const double *q,
                     double *cycles, double *sram);
/* The quantities mz_compute_work reads, indexed by these. */
enum { CW_ROOT_TOKENS, CW_ROOT_CTX, CW_CHIP_TOKENS, CW_CHIP_EXPERTS, CW_CHIP_SHARED, CW_N };

/* ---------------------------------------------------------------- compiled steps (timing.c)
 * One step of a schedule on a fabric: per op its resource uses (resource,
 * quantity, SRAM bytes for compute, hops for links, memory for spills), its
 * dependencies (op indices = ids) and what the tables need. */
enum { FOOT_WEIGHTS, FOOT_GRADS, FOOT_STATE, FOOT_ACTS, FOOT_N };
typedef struct {
    uint32_t step;
    int n_ops, n_uses, n_deps;
    int *use_ptr;                       /* [n_ops + 1] */
    uint16_t *use_r16;                  /* the uses' resources (mz_use_res): on a fabric of at most */
    int *use_res;                       /* 65536 resources in use_r16, else (res_wide) in use_res */
    int res_wide;
    int *use_aux;                       /* by the resource's type: a link's hops; a DRAM use's memory,
                                         * or -1; a compute use's index into sram (mz_use_sram) */
    double *use_q;                      /* bytes; compute: tile-cycles */
    double *sram;                       /* [n_sram] the compute uses' SRAM bytes */
    int n_sram, cap_sram;
    int *dep_ptr, *dep;                 /* dep_ptr[n_ops + 1] */
    uint32_t *phase;                    /* [n_ops] when phased (some op has a phase), else all 0 */
    int phased;
    int *layer, *mb, *slice;
    uint8_t *kind, *cat, *dir;
    double *flop;                       /* [n_ops] FLOPs (reported) */
    double tokens, copies, group_copies; /* from the stat op */
    int n_mem;                          /* memories: groups, root DRAM, chiplet SRAMs, root SRAM */
    double *foot;                       /* [FOOT_N][n_mem] bytes resident at the peak */
    int *order;                         /* [n_ops] the order resources serve ops in (mz_step_order) */
    int cap_ops, cap_uses, cap_deps;
    int *slot;                          /* scratch [resources] */
    int lean;                           /* set before the first op: only what mz_step_time reads is
                                         * kept (no layer, mb, slice, kind, cat, dir, flop), and a
                                         * compute or link use keeps its occupancy in use_q, not its
                                         * quantity (nor SRAM bytes): read it with mz_use_occupancy */
} mz_step;
void mz_step_clear(mz_step *st);
static inline int mz_use_res(const mz_step *st, int u) { return st->res_wide ? st->use_res[u] : st->use_r16[u]; }
/* SRAM bytes of compute use u; the memory of DRAM use u (-1: none). */
static inline double mz_use_sram(const mz_step *st, int u) { return st->sram[st->use_aux[u]]; }
static inline int mz_use_mem(const mz_step *st, int u) { return st->use_aux[u]; }
/* Append op (the next id of the step, or id 0 of a new step after a clear). */
int mz_step_add(mz_step *st, const mz_fabric *f, const mz_shapes *sh, const mz_op *op);
void mz_step_free(mz_step *st);
/* Fix the order every resource serves the step's ops in (section 6.1):
 * by depth in the dependency graph (barriers count as dependencies on every
 * op of the phase before), ties in stream order. Call once, after the last op. */
void mz_step_order(mz_step *st);

/* The step in time (section 6): each resource serves its ops in stream order. */
typedef struct {
    double latency;        /* seconds: the largest end */
    int last;              /* op that ends last, -1 if none */
    double *start, *end;   /* [n_ops] seconds */
    double *uocc;          /* [resources] scratch: the current op's uses' occupancy (mz_use_occupancy) */
    int *pred;             /* [n_ops] binding predecessor, -1 none */
    int path_ops;          /* ops on the critical path */
    double exposed_idle;   /* critical path time before its first op (0) */
    double *free_at;       /* [resources] scratch */
    int *owner;            /* [resources] scratch */
    int n_res, cap;
    int lean;              /* set before the first mz_step_time: only the latency, last and end (no start, pred) */
} mz_timing;
/* Cost each step for its latency, C_T and fit only (mz_cost_row's latency_s,
 * tokens, ct, ct_group, ops, fits; the rest 0), holding less of it: no
 * breakdown, resource, energy or critical path (the step and its timing
 * lean; none of mz_cost_write_* may be called). Call before the first op. */
void mz_cost_set_lean(mz_cost *c);

/* Each memory's share of its traffic on the spill tier (section 5.2) from
 * the step's footprint and the wafer's capacities, into spill[st->n_mem]. */
void mz_step_spill(const mz_step *st, const mz_wafer *w, const mz_fabric *f, double *spill);
/* Seconds use u holds its resource (section 6.1), and in *spill_occ the
 * seconds its spilled share holds the spill tier; what mz_step_time timed
 * with the same spill (the uses' occupancies are not kept). */
double mz_use_occupancy(const mz_step *st, const mz_fabric *f, const double *spill, int u, double *spill_occ);
/* Place st on f: returns the latency in seconds (tm filled). spill[n_mem]:
 * each memory's share on the spill tier (NULL: none). */
double mz_step_time(const mz_step *st, const mz_fabric *f, const double *spill, mz_timing *tm);
/* Per-op seconds on the critical path (exposed) into exposed[n_ops]. */
void mz_timing_exposed(const mz_step *st, mz_timing *tm, double *exposed);
void mz_timing_free(mz_timing *tm);

/* ---------------------------------------------------------------- energy (power.c, section 9)
 * A step's joules from what it does, by layer and category, by resource (over
 * every step), by class, and its power over windows of the timeline. */
typedef struct {
    const mz_wafer *w;
    const mz_fabric *f;
    mz_area area;
    int L;
    double *cat;          /* [(L + 1) * MZ_NCATS] dynamic J of the step: per layer, then the step's */
    double *res;          /* [f->n] dynamic J over every step run */
    double cls[4];        /* the step's J: compute (MACs, SRAM, bonds), links, DRAM, static */
    double dyn, stat;     /* the step's dynamic and static J */
    double lat, peak_W;   /* its latency; the largest mean power over one of its windows */
    double win_s, last_w; /* window width (1 ms, wider past 100 s steps), the last one's */
    int nwin, wcap;
    double *win;          /* [nwin][4] J per window and class */
    double *full;         /* [nwin + 1][4] scratch: changes of the full-window joules */
} mz_power;
/* The energy model of wafer w (w->power set) on fabric f; NULL with the
 * error set when the wafer has none. Free with mz_power_free. */
mz_power *mz_power_new(const mz_wafer *w, const mz_fabric *f, int layers);
/* Energy of step st as tm placed it (spill: each memory's share on the spill tier, or NULL). */
void mz_power_step(mz_power *p, const mz_step *st, const mz_timing *tm, const double *spill);
/* Chrome trace counter events ("power_W", one per window) of the step just run, offset by t0 s. */
int mz_power_write_counters(const mz_power *p, mz_out *out, double t0, int *first);
void mz_power_free(mz_power *p);

#endif
