/* unit-cost.c: unit tests of wafer descriptions, schedule records, mz_sched_run, mz_cost_file, link shorelines, compute work, the fixed-order timing and the critical path. */
#include <stdlib.h>
#include <unistd.h>

#include "../lib/timing.h"
#include "unit.h"

/* A tree wafer with round rates (mz-model(7) sections 2 and 6): a chiplet
 * is one 1 mm2 tile, so its edge is 1 mm; 2 wires per mm at 1 GB/s make a
 * chiplet link 2 GB/s; the root's shoreline is 4 mm less a 3.5 mm PHY,
 * 0.5 mm: its switch link 1 GB/s; the dispatcher 2 B/cycle at 1 GHz, 2 GB/s;
 * a stack 4 GB/s; the spill tier 0.5 GB/s; 2 x 2 PEs, SRAM 1 GB/s. */
static const char *const base_fields[] = {
    "topology.kind=tree", "topology.attention_chiplets=1", "topology.switches=1", "topology.expert_chiplets=2",
    "compute.tiles=1", "compute.arrays_per_tile=1", "compute.pes_per_array=4", "compute.clock_GHz=1",
    "compute.flops_per_pe_cycle=1", "compute.precision_bytes=2", "compute.tile_mm2=1", "sram.tile_MB=1",
    "sram.tile_GBps=1", "sram.efficiency=1", "memory.bandwidth_GBps=4", "memory.capacity_GB=8",
    "memory.root_stacks=1", "memory.stacks_per_group=1", "memory.phy_mm=3.5", "memory.efficiency=1",
    "spill.bandwidth_GBps=0.5", "links.wire_GBps=1", "links.wires_per_mm=2", "links.hop_latency_ns=0",
    "root.dispatch_Bpc=2", "switch.multicast=0", "switch.reduce_forward=1", "switch.reduce_backward=0", NULL};

static int test_wafer(mz_wafer *w, const char *const *extra)
{
    mz_wafer_init(w);
    for (int i = 0; base_fields[i]; i++)
        if (mz_wafer_set(w, base_fields[i]) < 0) return -1;
    for (int i = 0; extra && extra[i]; i++)
        if (mz_wafer_set(w, extra[i]) < 0) return -1;
    return mz_wafer_finish(w);
}

/* The shapes of a one-layer model: h = 4, one expert of width 4, ungated. */
static uint8_t moe_layer[1] = {1};
static const mz_shapes shapes = {.hidden = 4, .ffn = 4, .up = 4, .experts = 1, .heads = 1, .head_dim = 4,
                                 .attn_params = 64, .chiplets = 2, .moe = moe_layer};

static mz_op op;

/* Start an op with id, kind and phase; terms and deps are added after. */
static void op_new(uint32_t id, int kind, int dir, uint32_t phase)
{
    op.step = 0, op.id = id, op.kind = kind, op.cat = mz_op_cat_of(kind), op.dir = dir, op.phase = phase;
    op.layer = 0, op.mb = 0, op.slice = -1, op.nterms = op.ndeps = 0;
    if (!op.term) {
        op.term = malloc(16 * sizeof *op.term), op.term_cap = 16;
        op.dep = malloc(16 * sizeof *op.dep), op.dep_cap = 16;
    }
}

static void op_term(int type, int index, double q)
{
    op.term[op.nterms].type = type, op.term[op.nterms].index = index, op.term[op.nterms].q = q;
    op.nterms++;
}

static void op_dep(uint32_t d) { op.dep[op.ndeps++] = d; }

static int add(mz_step *st, const mz_fabric *f) { return mz_step_add(st, f, &shapes, &op); }

static int find_res(const mz_fabric *f, const char *name)
{
    for (int r = 0; r < mz_fabric_size(f); r++)
        if (strcmp(mz_fabric_name(f, r), name) == 0) return r;
    return -1;
}

static double rate(const mz_fabric *f, const char *name)
{
    int r = find_res(f, name);
    return r >= 0 ? mz_fabric_rate(f, r) : -1;
}

/* Does op i of st use resource 'name'? */
static int uses(const mz_step *st, const mz_fabric *f, int i, const char *name)
{
    int r = find_res(f, name);
    for (int u = st->use_ptr[i]; u < st->use_ptr[i + 1]; u++)
        if (mz_use_res(st, u) == r) return 1;
    return 0;
}

static double run(mz_step *st, const mz_fabric *f, const double *spill, mz_timing *tm)
{
    mz_step_order(st);
    return mz_step_time(st, f, spill, tm);
}

static void test_records(void)
{
    mz_buf b = {0};
    mz_op back = {0};
    op_new(7, MZ_OP_EXPERT, 1, 0);
    op.layer = 3, op.mb = 2, op.slice = 5;
    op_term(MZ_Q_CHIP_FLOP, 4, 1234567890123.0);
    op_term(MZ_Q_CHIP_TOKENS, 4, 0.1);
    op_dep(1), op_dep(6);
    mz_op_encode(&op, &b);
    CHECK(mz_op_decode((uint8_t *)b.s, b.n, &back) == 0, "a record decodes");
    CHECK(back.id == 7 && back.layer == 3 && back.mb == 2 && back.slice == 5 && back.dir == 1 &&
              back.kind == MZ_OP_EXPERT && back.cat == MZ_CAT_EXPERT,
          "fields round-trip");
    CHECK(back.nterms == 2 && back.term[0].q == 1234567890123.0 && back.term[1].q == 0.1,
          "whole and fractional quantities round-trip exactly");
    CHECK(back.ndeps == 2 && back.dep[0] == 1 && back.dep[1] == 6, "dependencies round-trip");
    CHECK(mz_op_decode((uint8_t *)b.s, b.n - 1, &back) < 0, "a record one byte short is corrupt");
    b.n = 0;
    op_new(3, MZ_OP_ATT, 0, 0);
    op_dep(3);
    mz_op_encode(&op, &b);
    CHECK(mz_op_decode((uint8_t *)b.s, b.n, &back) < 0, "an op may not depend on itself");
    b.n = 0;
    op_new(3, MZ_OP_ATT, 0, 0);
    op.cat = MZ_CAT_DRAM;
    mz_op_encode(&op, &b);
    CHECK(mz_op_decode((uint8_t *)b.s, b.n, &back) < 0 && strstr(mz_errmsg(), "category"),
          "a category that does not go with the kind is refused (%s)", mz_errmsg());
    mz_op_free(&back);
    mz_buf_free(&b);
}

/* Links are wires along die edges (section 2.3), and follow the geometry. */
static void test_links(void)
{
    mz_wafer w;
    mz_fabric *f;
    CHECK(test_wafer(&w, NULL) == 0, "the test wafer is complete (%s)", mz_errmsg());
    CHECK_NEAR(w.edge_mm, 1, 1e-12, "one 1 mm2 tile: a 1 mm edge");
    f = mz_fabric_new(&w, 2, 1);
    CHECK(f != NULL, "a fabric for 2 chiplets in 1 group");
    CHECK_NEAR(rate(f, "S0"), 2e9, 1, "chiplet link: 1 mm x 2 wires/mm x 1 GB/s");
    CHECK_NEAR(rate(f, "R0"), 1e9, 1, "root link: (4 mm - 3.5 mm PHY) x 2 wires/mm x 1 GB/s");
    CHECK_NEAR(rate(f, "RD"), 2e9, 1, "dispatcher: 2 B/cycle x 1 GHz");
    CHECK_NEAR(rate(f, "D0"), 4e9, 1, "a group's stack 4 GB/s");
    CHECK_NEAR(rate(f, "C1"), 4e9, 1, "chiplet peak: 4 PEs x 1 FLOP x 1 GHz");
    mz_wafer_set(&w, "compute.tile_mm2=4");
    mz_wafer_set(&w, "memory.phy_mm=6");
    CHECK(mz_wafer_finish(&w) == 0, "the wafer refinishes");
    mz_fabric_rates(f, &w);
    CHECK_NEAR(rate(f, "S1"), 4e9, 1, "a 4 mm2 tile: a 2 mm edge doubles the chiplet link");
    CHECK_NEAR(rate(f, "R0"), 4e9, 1, "and the root's shoreline is 8 - 6 = 2 mm");
    mz_wafer_set(&w, "memory.phy_mm=9");
    mz_wafer_finish(&w);
    mz_fabric_rates(f, &w);
    CHECK(rate(f, "R0") == 0, "PHYs wider than the perimeter leave the root no shoreline");
    mz_fabric_free(f);
    CHECK(mz_fabric_new(&w, 4, 1) == NULL && strstr(mz_errmsg(), "topology.expert_chiplets"),
          "a placement with more chiplets than the wafer is refused (%s)", mz_errmsg());
    CHECK(mz_fabric_new(&w, 2, 2) == NULL && strstr(mz_errmsg(), "topology.switches"),
          "a placement with more groups than the wafer is refused (%s)", mz_errmsg());
    mz_wafer_free(&w);
}

/* Section 3.4 by hand: Y (8 x 4) = X (8 x 4) W (4 x 4) on one 2 x 2 array:
 * passes ceil(4/2) ceil(4/2) = 4 of 8 + 2 x 2 cycles: 48 tile-cycles;
 * SRAM 2 B x (16 + 8 x 4 x 2 + 8 x 4 x (2 x 2 - 1)) = 352 bytes; an expert
 * is two such matrices. */
static void test_compute(void)
{
    mz_wafer w;
    mz_fabric *f;
    mz_step st = {0};
    mz_timing tm = {0};
    double q[CW_N] = {0}, cy, sr, cy_b, sr_b;
    test_wafer(&w, NULL);
    f = mz_fabric_new(&w, 2, 1);
    q[CW_CHIP_TOKENS] = 8, q[CW_CHIP_EXPERTS] = 1;
    mz_compute_work(&shapes, f, MZ_OP_EXPERT, 0, 0, q, &cy, &sr);
    CHECK_NEAR(cy, 96, 1e-9, "forward expert: 2 x 48 tile-cycles");
    CHECK_NEAR(sr, 704, 1e-9, "forward expert: 2 x 352 SRAM bytes");
    mz_compute_work(&shapes, f, MZ_OP_EXPERT, 1, 0, q, &cy_b, &sr_b);
    CHECK_NEAR(cy_b, 224, 1e-9, "backward: per matrix dX (8 x 4 by 4 x 4: 48) and dW (4 x 8 by 8 x 4: 8 passes of 8: 64)");
    CHECK(sr_b > 2 * sr, "backward: the gradient accumulates (reads its old value): more than twice the bytes");
    op_new(0, MZ_OP_EXPERT, 0, 0), op_term(MZ_Q_CHIP_TOKENS, 1, 8), op_term(MZ_Q_CHIP_EXPERTS, 1, 1);
    CHECK(add(&st, f) == 0 && uses(&st, f, 0, "C1") && !uses(&st, f, 0, "C0"), "an expert op runs on its chiplet");
    CHECK_NEAR(run(&st, f, NULL, &tm), 704e-9, 1e-18, "SRAM-bound: 704 B at 1 GB/s");
    mz_wafer_set(&w, "sram.tile_GBps=1000");
    mz_wafer_finish(&w);
    mz_fabric_rates(f, &w);
    CHECK_NEAR(run(&st, f, NULL, &tm), 96e-9, 1e-18, "array-bound with fast SRAM: 96 cycles at 1 GHz");
    mz_step_clear(&st);
    op_new(0, MZ_OP_LOAD, 0, 0), op_term(MZ_Q_CHIP_TOKENS, 0, 8);
    CHECK(add(&st, f) < 0 && strstr(mz_errmsg(), "expert terms"), "compute terms in a load are refused (%s)",
          mz_errmsg());
    mz_step_free(&st);
    mz_timing_free(&tm);
    mz_fabric_free(f);
    mz_wafer_free(&w);
}

/* The hand-worked step of mz-model(7) section 6: loads, dispatch and
 * combines through links, the root link and the dispatcher. */
static void test_step(void)
{
    mz_wafer w;
    mz_fabric *f;
    mz_step st = {0};
    mz_timing tm = {0};
    double ex[8], sum = 0, spill[8] = {0};
    test_wafer(&w, NULL);
    f = mz_fabric_new(&w, 2, 1);
    op_new(0, MZ_OP_LOAD, 0, 0), op_term(MZ_Q_MEM_READ, 0, 4e9);
    add(&st, f);
    op_new(1, MZ_OP_LOAD, 0, 0), op_term(MZ_Q_MEM_READ, 1, 4e9);
    add(&st, f);
    op_new(2, MZ_OP_DISPATCH, 0, 0), op_term(MZ_Q_A2A_CHIP, 0, 1e9), op_term(MZ_Q_A2A_CHIP, 1, 1e9);
    op_term(MZ_Q_A2A_GROUP, 0, 1e9);
    add(&st, f);
    op_new(3, MZ_OP_COMBINE, 0, 0), op_term(MZ_Q_A2A_CHIP, 0, 1e9), op_term(MZ_Q_A2A_CHIP, 1, 1e9);
    op_term(MZ_Q_A2A_GROUP, 0, 1e9), op_dep(2);
    add(&st, f);
    op_new(4, MZ_OP_COMBINE, 1, 0), op_term(MZ_Q_A2A_CHIP, 0, 1e9), op_term(MZ_Q_A2A_CHIP, 1, 1e9);
    op_term(MZ_Q_A2A_GROUP, 0, 1e9), op_dep(3);
    CHECK(add(&st, f) == 0, "five ops compile");
    CHECK(uses(&st, f, 0, "D0") && uses(&st, f, 0, "S0") && !uses(&st, f, 0, "S1") && !uses(&st, f, 0, "RD"),
          "a load of chiplet 0 holds D0 and S0 only");
    CHECK(uses(&st, f, 2, "R0") && uses(&st, f, 2, "RD") && uses(&st, f, 2, "S0") && uses(&st, f, 2, "S1"),
          "a dispatch holds the root link, the dispatcher and both chiplet links");
    CHECK_NEAR(run(&st, f, NULL, &tm), 8, 1e-9, "latency 8 s");
    CHECK_NEAR(tm.start[1], 1, 1e-12, "load 1 waits for D0 (held 1 s by load 0: 4 GB at 4 GB/s), not for S0");
    CHECK(tm.pred[1] == 0, "load 1's binding predecessor is load 0");
    CHECK_NEAR(tm.start[2], 3, 1e-12, "the dispatch waits for S1 (load 1 holds it 2 s)");
    CHECK(tm.pred[2] == 1, "the dispatch's binding predecessor is load 1");
    CHECK_NEAR(tm.end[2] - tm.start[2], 2, 1e-12, "dispatch: one copy per chiplet, 2 GB on the 1 GB/s root link");
    CHECK_NEAR(tm.end[3] - tm.start[3], 1, 1e-12, "forward combine: the switch reduces, 1 GB at the root");
    CHECK_NEAR(tm.end[4] - tm.start[4], 2, 1e-12, "backward combine: not reduced, 2 GB");
    mz_timing_exposed(&st, &tm, ex);
    for (int i = 0; i < st.n_ops; i++) sum += ex[i];
    CHECK_NEAR(sum, tm.latency, 1e-12, "exposed times telescope to the latency");
    CHECK(ex[0] == 1 && ex[1] == 2 && ex[2] == 2 && ex[3] == 1 && ex[4] == 2,
          "path 0 -> 1 -> 2 -> 3 -> 4 credited 1, 2, 2, 1, 2 s (%g %g %g %g %g)", ex[0], ex[1], ex[2], ex[3], ex[4]);
    CHECK(tm.path_ops == 5, "five ops on the critical path");
    /* the dispatcher binds once the root has shoreline to spare */
    mz_wafer_set(&w, "memory.phy_mm=0");
    mz_wafer_finish(&w);
    mz_fabric_rates(f, &w);
    mz_step_clear(&st);
    op_new(0, MZ_OP_DISPATCH, 0, 0), op_term(MZ_Q_A2A_CHIP, 0, 1e9), op_term(MZ_Q_A2A_CHIP, 1, 1e9);
    op_term(MZ_Q_A2A_GROUP, 0, 1e9);
    add(&st, f);
    CHECK_NEAR(run(&st, f, NULL, &tm), 1, 1e-12, "8 GB/s of root link: the 2 GB/s dispatcher binds, 2 GB in 1 s");
    mz_wafer_set(&w, "switch.multicast=1");
    mz_wafer_finish(&w);
    mz_fabric_rates(f, &w);
    mz_step_clear(&st);
    add(&st, f);
    CHECK_NEAR(run(&st, f, NULL, &tm), 0.5, 1e-12, "a multicasting switch: one copy per group at the root");
    /* fixed order (section 6.1): by depth, then stream order */
    mz_step_clear(&st);
    op_new(0, MZ_OP_LOAD, 0, 0), op_term(MZ_Q_MEM_READ, 0, 4e9);
    add(&st, f);
    op_new(1, MZ_OP_DISPATCH, 0, 0), op_term(MZ_Q_A2A_CHIP, 1, 2e9), op_term(MZ_Q_A2A_GROUP, 0, 2e9), op_dep(0);
    add(&st, f);
    op_new(2, MZ_OP_LOAD, 0, 0), op_term(MZ_Q_MEM_READ, 1, 4e9);
    add(&st, f);
    run(&st, f, NULL, &tm);
    CHECK(st.order[0] == 0 && st.order[1] == 2 && st.order[2] == 1, "depth first: order 0, 2, 1 (%d %d %d)",
          st.order[0], st.order[1], st.order[2]);
    CHECK_NEAR(tm.start[2], 1, 1e-12, "load 1 takes D0 before the deeper dispatch, after load 0");
    CHECK_NEAR(tm.start[1], 3, 1e-12, "the dispatch waits for S1 behind load 1 (S1 free at 3)");
    /* barriers: a phase starts when everything before it has ended */
    mz_step_clear(&st);
    op_new(0, MZ_OP_LOAD, 0, 1), op_term(MZ_Q_MEM_READ, 0, 2e9);
    add(&st, f);
    op_new(1, MZ_OP_LOAD, 0, 1), op_term(MZ_Q_MEM_READ, 1, 4e9);
    add(&st, f);
    op_new(2, MZ_OP_LOAD, 0, 2), op_term(MZ_Q_MEM_READ, 0, 2e9);
    add(&st, f);
    CHECK_NEAR(run(&st, f, NULL, &tm), 3.5, 1e-12, "phase 2 starts when phase 1's last op ends (2.5 s)");
    CHECK_NEAR(tm.start[1], 0.5, 1e-12, "ops of one phase overlap where resources allow");
    CHECK(tm.pred[2] == 1, "the barrier's last op is the binding predecessor");
    /* the spill tier (section 5.2): a memory's share of its bytes */
    mz_step_clear(&st);
    op_new(0, MZ_OP_LOAD, 0, 0), op_term(MZ_Q_MEM_READ, 0, 4e9);
    add(&st, f);
    spill[0] = 0.5;
    CHECK_NEAR(run(&st, f, spill, &tm), 4, 1e-12, "half of 4 GB spilled: 2 GB at 0.5 GB/s");
    spill[0] = 0;
    CHECK_NEAR(run(&st, f, spill, &tm), 2, 1e-12, "nothing spilled: S0 binds, 2 s");
    mz_fabric_free(f);
    /* hop latency */
    mz_wafer_set(&w, "links.hop_latency_ns=10");
    mz_wafer_finish(&w);
    f = mz_fabric_new(&w, 2, 1);
    CHECK_NEAR(run(&st, f, NULL, &tm), 2 + 20e-9, 1e-15, "a tree transfer adds 2 hops x 10 ns");
    mz_step_free(&st);
    mz_timing_free(&tm);
    mz_fabric_free(f);
    mz_wafer_free(&w);
}

static void test_mesh(void)
{
    const char *const extra[] = {"topology.kind=mesh", "topology.expert_chiplets=4", "mesh.root_links=2",
                                 "memory.phy_mm=0", NULL};
    mz_wafer w;
    mz_fabric *f;
    mz_step st = {0};
    mz_timing tm = {0};
    int x, y;
    CHECK(test_wafer(&w, extra) == 0, "a 4-chiplet mesh wafer (%s)", mz_errmsg());
    CHECK(w.mesh_cols == 2 && w.mesh_rows == 2, "4 chiplets in one group: a 2 x 2 mesh");
    mz_wafer_mesh_xy(&w, 3, &x, &y);
    CHECK(x == 1 && y == 1, "chiplet 3 at (1, 1)");
    f = mz_fabric_new(&w, 4, 1);
    CHECK(find_res(f, "L0.0E") >= 0 && find_res(f, "L1.0S") >= 0 && find_res(f, "L1.0E") < 0,
          "links between neighbours only");
    CHECK_NEAR(rate(f, "RL0"), 2e9, 1, "a root link into the mesh: half of 4 mm, at most one 1 mm edge");
    op_new(0, MZ_OP_LOAD, 0, 0), op_term(MZ_Q_MEM_READ, 3, 2e9);
    add(&st, f);
    CHECK(uses(&st, f, 0, "D0") && uses(&st, f, 0, "L0.0E") && uses(&st, f, 0, "L1.0S") && !uses(&st, f, 0, "L0.0S"),
          "group 0's stack at corner (0, 0) reaches chiplet 3 X first, then Y");
    op_new(1, MZ_OP_DISPATCH, 0, 0), op_term(MZ_Q_A2A_CHIP, 2, 1e9), op_term(MZ_Q_A2A_GROUP, 0, 1e9);
    add(&st, f);
    CHECK(uses(&st, f, 1, "RD") && uses(&st, f, 1, "RL0") && uses(&st, f, 1, "L0.0S") && !uses(&st, f, 1, "RL1"),
          "tokens for chiplet 2 enter at the left root link and go south");
    mz_step_clear(&st);
    op_new(0, MZ_OP_COMBINE, 0, 0), op_term(MZ_Q_A2A_CHIP, 2, 1e9), op_term(MZ_Q_A2A_CHIP, 3, 1e9);
    op_term(MZ_Q_A2A_GROUP, 0, 1e9);
    add(&st, f);
    CHECK_NEAR(run(&st, f, NULL, &tm), 1, 1e-12, "no switch on a mesh: the dispatcher takes one copy per chiplet");
    mz_step_free(&st);
    mz_timing_free(&tm);
    mz_fabric_free(f);
    mz_wafer_free(&w);
}

static char tmpdir[] = "/tmp/unit-cost-XXXXXX";

static const char *write_file(const char *name, const char *text)
{
    static char path[256];
    snprintf(path, sizeof path, "%s/%s", tmpdir, name);
    unit_write(path, text, strlen(text));
    return path;
}

static void test_parse(void)
{
    mz_wafer w;
    mz_buf full = {0};
    char path[256];
    double v;
    if (!mkdtemp(tmpdir)) return;
    /* a complete file from the test fields, one "[section]" per field */
    mz_buf_puts(&full, "# a complete test wafer\n");
    for (int i = 0; base_fields[i]; i++) {
        const char *dot = strchr(base_fields[i], '.'), *eq = strchr(base_fields[i], '=');
        mz_buf_printf(&full, "[%.*s]\n%.*s = %s   # test value\n", (int)(dot - base_fields[i]), base_fields[i],
                      (int)(eq - dot - 1), dot + 1, eq + 1);
    }
    snprintf(path, sizeof path, "%s", write_file("base.wafer", full.s));
    mz_wafer_init(&w);
    CHECK(mz_wafer_load(&w, path) == 0 && mz_wafer_finish(&w) == 0, "a complete file loads (%s)", mz_errmsg());
    CHECK(w.expert_chiplets == 2 && w.topology == MZ_TOPO_TREE && w.peak_flops == 4e9, "values and derived peak");
    mz_wafer_free(&w);
    write_file("top.wafer", "include base.wafer\n[memory]\nbandwidth_GBps = 15.8  # SSD\n");
    mz_wafer_init(&w);
    snprintf(path, sizeof path, "%s/top.wafer", tmpdir);
    CHECK(mz_wafer_load(&w, path) == 0 && mz_wafer_finish(&w) == 0, "include beside the file");
    CHECK(w.mem_bandwidth_GBps == 15.8 && w.n_layers == 2, "the including file overrides the included one");
    CHECK(mz_wafer_set(&w, "memory.bandwidth_GBps=512") == 0 && mz_wafer_finish(&w) == 0 &&
              w.mem_bandwidth_GBps == 512,
          "-s overrides both");
    CHECK(mz_wafer_get(&w, "links.wires_per_mm", &v) == 0 && v == 2, "mz_wafer_get by name");
    CHECK(mz_wafer_set(&w, "memory.bandwidth=5") < 0 && strstr(mz_errmsg(), "unknown field"),
          "-s with an unknown field (%s)", mz_errmsg());
    CHECK(mz_wafer_set(&w, "memory.bandwidth_GBps") < 0, "-s without '='");
    mz_wafer_free(&w);
    {
        static const struct {
            const char *text, *want;
        } bad[] = {
            {"include base.wafer\n[memory]\nbandwidth_GBps = -256 # x\n", "line 3: memory.bandwidth_GBps: -256 is negative"},
            {"include base.wafer\n[memory]\nbandwidth_GBps = fast # x\n", "line 3: memory.bandwidth_GBps: 'fast' is not a number"},
            {"include base.wafer\n[compute]\ntiles = 7.5 # x\n", "compute.tiles: '7.5' is not an integer"},
            {"include base.wafer\n[memory]\nbandwith_GBps = 1 # x\n", "line 3: unknown field 'memory.bandwith_GBps'"},
            {"include base.wafer\n[memroy]\n", "line 2: unknown section '[memroy]'"},
            {"include base.wafer\n[memory]\nbandwidth_GBps = 1\nbandwidth_GBps = 2\n", "set twice in one file"},
            {"include base.wafer\n[topology]\nkind = ring # x\n", "'ring' is not one of tree, mesh"},
            {"include base.wafer\nbandwidth_GBps = 2\n", "outside any [section]"},
            {"include base.wafer\n[memory]\nbandwidth_GBps = # x\n", "empty value"},
            {"include nothere.wafer\n", "include: nothere.wafer"},
            {"include bad.wafer\n", "includes itself"},
            {"[memory]\nbandwidth_GBps = 1 # x\n", "missing field 'topology.kind'"},
            {"include base.wafer\n[topology]\nkind = mesh # x\n", "missing field 'mesh.root_links'"},
            {"include base.wafer\n[topology]\nswitches = 3 # x\n", "2 expert chiplets cannot form 3 equal groups"},
            {"include base.wafer\n[root]\ndispatch_Bpc = 0 # x\n", "root.dispatch_Bpc: must be greater than 0"},
            {"include base.wafer\n[compute]\nutilisation = 1 # x\n", "unknown field 'compute.utilisation'"},
        };
        for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
            int ret;
            snprintf(path, sizeof path, "%s", write_file("bad.wafer", bad[i].text));
            mz_wafer_init(&w);
            ret = mz_wafer_load(&w, path);
            if (ret == 0) ret = mz_wafer_finish(&w);
            CHECK(ret < 0 && strstr(mz_errmsg(), bad[i].want), "refused: want '%s', got '%s'", bad[i].want,
                  mz_errmsg());
            mz_wafer_free(&w);
        }
    }
    {
        /* a missing field names it and the files read */
        mz_buf b = {0};
        mz_buf_puts(&b, full.s);
        {
            char *p = strstr(b.s, "[compute]\ntiles");
            memcpy(p, "#", 1);
        }
        snprintf(path, sizeof path, "%s", write_file("miss.wafer", b.s));
        mz_wafer_init(&w);
        CHECK(mz_wafer_load(&w, path) < 0 || mz_wafer_finish(&w) < 0, "a file without compute.tiles is refused");
        mz_wafer_free(&w);
        mz_buf_free(&b);
    }
    snprintf(path, sizeof path, "rm -rf %s", tmpdir);
    if (system(path) != 0) fprintf(stderr, "could not remove %s\n", tmpdir);
    mz_buf_free(&full);
}

/* The placed trace of test/sched-tiny.mzt: a dense and an MoE layer, 4
 * experts on 2 chiplets (contiguous), top-2, 2 sequences of 2 tokens. */
static const char tiny_trace[] =
    "@HD\tVN:1.0\tKD:trace\n"
    "@MD\tname:tiny-sched\tlayers:2\tmoe:1\texperts:4\tshared:0\ttopk:2\thidden:4\tffn:2\tshared_ffn:0\t"
    "dense_ffn:8\theads:1\tkv_heads:1\thead_dim:4\tvocab:10\tgroups:1\ttopk_groups:1\tgated:1\n"
    "@TR\tsteps:1\tseqs:2\tseq_len:2\tlayers:1\tweights:0\n"
    "@PT\tchiplets:2\tgroups:1\talgorithm:contiguous\n"
    "@PL\tlayer:1\tchiplet:0,0,1,1\n"
    "0\t0\t0\t0,1\n0\t0\t1\t0,2\n0\t1\t0\t2,3\n0\t1\t1\t1,3\n"
    "@EOF\t4\n";

/* Read a schedule written by mz_sched_run: its @SC options and op count; -1 if unreadable. */
static long read_sched(const char *path, mz_sched_opts *so, int *first_kind)
{
    mz_reader *r = mz_reader_open(path, MZ_KIND_SCHED);
    const uint8_t *rec;
    size_t len;
    long n = 0;
    int ret = 0;
    mz_op o = {0};
    if (!r) return -1;
    if (mz_sched_opts_from_header(mz_reader_header(r), so) < 0) n = -1;
    while (n >= 0 && (ret = mz_reader_next(r, &rec, &len)) > 0) {
        if (mz_op_decode(rec, len, &o) < 0) n = -2;
        if (n == 0) *first_kind = o.kind;
        if (n >= 0) n++;
    }
    if (ret < 0) n = -1;
    mz_op_free(&o);
    if (mz_reader_close(r) < 0) n = -1;
    return n;
}

static void test_sched_run(void)
{
    static char dir[] = "/tmp/unit-cost-run-XXXXXX";
    char in[256], out[256], cmd[300];
    char *argv[] = {"mz-sched", "-M", "2", NULL};
    mz_sched_run_opts o;
    mz_sched_opts so;
    FILE *fp;
    int kind = -1;
    long n;
    if (!mkdtemp(dir)) return;
    snprintf(in, sizeof in, "%s/in.mzt", dir);
    snprintf(out, sizeof out, "%s/out.mzs", dir);
    CHECK(unit_write(in, tiny_trace, strlen(tiny_trace)) == 0, "the tiny placed trace written");

    mz_sched_run_opts_init(&o);
    CHECK(o.level == 1 && !o.text && !o.variant && o.sched.micro_batches == 4 && !strcmp(o.prog, "mz-sched"),
          "mz_sched_run_opts_init: gzip level 1, binary, the builder's defaults");
    o.sched.micro_batches = 2, o.sched.slices = 2, o.sched.overlap = 1, o.sched.dedup = 1;
    o.argc = 3, o.argv = argv;
    CHECK(mz_sched_run(&o, in, out) == 0, "a placed trace schedules (%s)", mz_errmsg());
    n = read_sched(out, &so, &kind);
    CHECK(n == 100 && kind == MZ_OP_ROOT_LOAD, "100 ops, the root's weights first (got %ld, kind %d)", n, kind);
    CHECK(!strcmp(so.variant, "B") && so.overlap && so.dedup && so.micro_batches == 2 && so.order == MZ_ORDER_LAYER,
          "overlap and dedup on the contiguous placement: variant B, the order resolved (got %s)", so.variant);
    o.sched.dedup = 0;
    CHECK(mz_sched_run(&o, in, out) == 0 && read_sched(out, &so, &kind) > 0 && !strcmp(so.variant, "A"),
          "overlap alone: A (got %s)", so.variant);
    o.variant = "C";
    CHECK(mz_sched_run(&o, in, out) == 0 && read_sched(out, &so, &kind) > 0 && !strcmp(so.variant, "C") &&
              so.overlap && so.dedup, "a variant given sets overlap and dedup");

    /* errors: -1 and the message, no output made */
    o.variant = "D";
    CHECK(mz_sched_run(&o, in, out) < 0 && strstr(mz_errmsg(), "'D' is not baseline, A, B or C"),
          "an unknown variant (%s)", mz_errmsg());
    o.variant = NULL;
    snprintf(out, sizeof out, "%s/new.mzs", dir);
    o.n_wafers = 1, o.wafers = (char *const[]){"./no-such.wafer"};
    CHECK(mz_sched_run(&o, in, out) < 0 && strstr(mz_errmsg(), "no-such.wafer"), "a missing wafer (%s)", mz_errmsg());
    o.n_wafers = 0;
    fp = fopen(in, "w");
    fwrite(tiny_trace, 1, (size_t)(strstr(tiny_trace, "@PT") - tiny_trace), fp);
    fputs(strstr(tiny_trace, "0\t0\t0\t"), fp);
    fclose(fp);
    CHECK(mz_sched_run(&o, in, out) < 0 && strstr(mz_errmsg(), "in.mzt: the trace has no placement"),
          "a trace without a placement (%s)", mz_errmsg());
    unit_write(in, tiny_trace, (size_t)(strstr(tiny_trace, "@EOF") - tiny_trace));
    o.text = 1;
    CHECK(mz_sched_run(&o, in, out) < 0 && strstr(mz_errmsg(), "truncated"), "a truncated trace (%s)", mz_errmsg());
    CHECK(access(out, F_OK) < 0, "nothing written under the output's name");
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", dir);
}

/* mz_cost_file: mz-cost's work on a schedule from mz_sched_run, its tables
 * and its errors (-1, the message, no output left). */
static void test_cost_file(void)
{
    static char dir[] = "/tmp/unit-cost-file-XXXXXX";
    char in[256], sched[256], out[256], bd[256], cmd[600], line[512];
    char *wafers[] = {"test/tiny.wafer"}, *sets[] = {"memory.capacity_GB=1e-9"};
    mz_sched_run_opts so;
    mz_cost_file_opts o;
    FILE *fp;
    int rows = 0, mean = 0;
    if (!mkdtemp(dir)) return;
    snprintf(in, sizeof in, "%s/in.mzt", dir);
    snprintf(sched, sizeof sched, "%s/s.mzs", dir);
    snprintf(out, sizeof out, "%s/out.tsv", dir);
    snprintf(bd, sizeof bd, "%s/bd.tsv", dir);
    CHECK(unit_write(in, tiny_trace, strlen(tiny_trace)) == 0, "the tiny placed trace written");
    mz_sched_run_opts_init(&so);
    so.variant = "C", so.sched.micro_batches = 2, so.sched.slices = 2;
    CHECK(mz_sched_run(&so, in, sched) == 0, "the schedule to cost (%s)", mz_errmsg());

    mz_cost_file_opts_init(&o);
    CHECK(!strcmp(o.prog, "mz-cost") && !strcmp(o.timeline_steps, "0") && !o.fit && !o.area && !o.strict,
          "mz_cost_file_opts_init: step 0 in the timeline, no fit, no area, warnings only");
    CHECK(mz_cost_file_check(&o, 1) < 0 && strstr(mz_errmsg(), "give a wafer"), "no wafer (%s)", mz_errmsg());
    o.wafers = wafers, o.n_wafers = 1;
    CHECK(mz_cost_file_check(&o, 2) < 0 && strstr(mz_errmsg(), "one schedule at most"), "two schedules");
    o.area = 1;
    CHECK(mz_cost_file_check(&o, 1) < 0 && strstr(mz_errmsg(), "--area takes"), "--area with a schedule");
    o.area = 0;
    CHECK(mz_cost_file_check(&o, 1) == 0, "a wafer and a schedule");
    o.breakdown = bd;
    CHECK(mz_cost_file(&o, sched, out) == 0, "the schedule costs (%s)", mz_errmsg());
    fp = fopen(out, "r");
    while (fp && fgets(line, sizeof line, fp)) {
        if (line[0] >= '0' && line[0] <= '9') rows++;
        if (!strncmp(line, "mean\t", 5)) mean = strtod(line + 5, NULL) > 0;
    }
    if (fp) fclose(fp);
    CHECK(rows == 1 && mean, "the one step's row and a mean row with a latency (%d rows)", rows);
    CHECK(access(bd, F_OK) == 0, "the breakdown written");

    /* errors: -1 and the message, nothing left under the outputs' names */
    snprintf(out, sizeof out, "%s/new.tsv", dir);
    snprintf(bd, sizeof bd, "%s/new-bd.tsv", dir);
    o.sets = sets, o.n_sets = 1, o.strict = 1;
    CHECK(mz_cost_file(&o, sched, out) < 0 && strstr(mz_errmsg(), "does not fit the wafer"),
          "--strict on memories too small (%s)", mz_errmsg());
    CHECK(access(out, F_OK) < 0 && access(bd, F_OK) < 0, "no table left by the refused step");
    o.n_sets = 0, o.strict = 0;
    snprintf(cmd, sizeof cmd, "head -c 100 %s > %s/cut.mzs", sched, dir);
    CHECK(system(cmd) == 0, "a cut schedule");
    snprintf(sched, sizeof sched, "%s/cut.mzs", dir);
    CHECK(mz_cost_file(&o, sched, out) < 0 && strstr(mz_errmsg(), "cut.mzs"), "a truncated schedule (%s)", mz_errmsg());
    CHECK(access(out, F_OK) < 0 && access(bd, F_OK) < 0, "no table left by the truncated one");
    o.breakdown = NULL, o.timeline_steps = "x";
    CHECK(mz_cost_file_check(&o, 1) < 0 && strstr(mz_errmsg(), "--timeline-steps"), "a bad step range (%s)",
          mz_errmsg());
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", dir);
}

int main(void)
{
    test_records();
    test_links();
    test_compute();
    test_step();
    test_mesh();
    test_parse();
    test_sched_run();
    test_cost_file();
    mz_op_free(&op);
    return unit_done();
}
