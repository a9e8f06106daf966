/* unit-cost.c: unit tests of wafer descriptions, schedule records, calendars, list scheduling and the critical path. */
#include <stdlib.h>
#include <unistd.h>

#include "../lib/mz.h"
#include "unit.h"

/* A tree wafer with round rates: 1 GB/s per wire, RP 1 GB/s, chiplet links
 * 2 GB/s, memory link and stack 4 GB/s, compute 1 GFLOP/s, SRAM 1 GB/s. */
static const char *const base_fields[] = {
    "topology.kind=tree", "topology.attention_chiplets=1", "topology.switches=1", "topology.expert_chiplets=2",
    "compute.tiles=1", "compute.arrays_per_tile=1", "compute.pes_per_array=1", "compute.clock_GHz=1",
    "compute.flops_per_pe_cycle=1", "compute.precision_bytes=2", "compute.utilisation=1", "sram.tile_MB=1",
    "sram.tile_GBps=1", "memory.bandwidth_GBps=4", "memory.capacity_GB=8", "memory.root_stacks=1",
    "memory.stacks_per_group=1", "links.wire_GBps=1", "links.pitch_um=50", "links.hop_latency_ns=0",
    "links.root_port_wires=1", "links.chiplet_wires=2", "links.memory_wires=4", "links.root_port=shared",
    "switch.multicast=0", "switch.reduce_forward=1", "switch.reduce_backward=0", NULL};

static int test_wafer(mz_wafer *w, const char *const *extra)
{
    mz_wafer_init(w);
    for (int i = 0; base_fields[i]; i++)
        if (mz_wafer_set(w, base_fields[i]) < 0) return -1;
    for (int i = 0; extra && extra[i]; i++)
        if (mz_wafer_set(w, extra[i]) < 0) return -1;
    return mz_wafer_finish(w);
}

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

static int find_res(const mz_fabric *f, const char *name)
{
    for (int r = 0; r < mz_fabric_size(f); r++)
        if (strcmp(mz_fabric_name(f, r), name) == 0) return r;
    return -1;
}

/* Does op i of st use resource 'name'? */
static int uses(const mz_step *st, const mz_fabric *f, int i, const char *name)
{
    int r = find_res(f, name);
    for (int u = st->use_ptr[i]; u < st->use_ptr[i + 1]; u++)
        if (st->use_res[u] == r) return 1;
    return 0;
}

static void test_calendar(void)
{
    mz_calendar c = {0};
    int b = -1;
    mz_calendar_add(&c, 0, 1, 10);
    mz_calendar_add(&c, 3, 1, 11);
    CHECK(c.n == 2, "two separate intervals");
    CHECK_NEAR(mz_calendar_earliest(&c, 0, 2, &b), 1, 1e-12, "a 2 s slot from 0 fits the gap [1, 3)");
    CHECK(b == 10, "pushed by op 10 (blocker %d)", b);
    b = -1;
    CHECK_NEAR(mz_calendar_earliest(&c, 0, 2.5, &b), 4, 1e-12, "a 2.5 s slot only fits after the last interval");
    CHECK(b == 11, "pushed last by op 11 (blocker %d)", b);
    b = -1;
    CHECK_NEAR(mz_calendar_earliest(&c, 1.5, 0.5, &b), 1.5, 1e-12, "a slot inside the gap stays where asked");
    CHECK(b == -1, "nothing pushed it");
    mz_calendar_add(&c, 1, 2, 12); /* fills the gap exactly: all one interval */
    CHECK(c.n == 1 && c.s[0] == 0 && c.e[0] == 4, "touching intervals merge into [0, 4) (n %d)", c.n);
    CHECK(c.own[0] == 11, "the merged interval is owned by the op that ends it (%d)", c.own[0]);
    mz_calendar_add(&c, 6, 0, 13);
    CHECK(c.n == 1, "a zero-length occupancy marks nothing");
    mz_calendar_add(&c, 5, 1, 14);
    mz_calendar_add(&c, 4, 1, 15);
    CHECK(c.n == 1 && c.e[0] == 6 && c.own[0] == 14, "filling [4, 5) between [0, 4) and [5, 6) joins all: [0, 6)");
    mz_calendar_free(&c);
}

static void test_records(void)
{
    mz_buf b = {0};
    mz_op back = {0};
    op_new(7, MZ_OP_EXPERT, 1, 0);
    op.layer = 3, op.mb = 2, op.slice = 5;
    op_term(MZ_Q_CHIP_FLOP, 4, 1234567890123.0);
    op_term(MZ_Q_CHIP_SRAM, 4, 0.1);
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

/* The hand-worked case of mz-cost.1's model section. */
static void test_placement(void)
{
    mz_wafer w;
    mz_fabric *f;
    mz_step st = {0};
    mz_timing tm = {0};
    double ex[8], sum = 0;
    CHECK(test_wafer(&w, NULL) == 0, "the test wafer is complete (%s)", mz_errmsg());
    f = mz_fabric_new(&w, 2, 1);
    CHECK(f != NULL, "a fabric for 2 chiplets in 1 group");
    CHECK_NEAR(mz_fabric_rate(f, find_res(f, "RP")), 1e9, 1, "root port 1 wire x 1 GB/s");
    CHECK_NEAR(mz_fabric_rate(f, find_res(f, "S0d")), 2e9, 1, "chiplet link 2 GB/s");
    CHECK_NEAR(mz_fabric_rate(f, find_res(f, "C1")), 1e9, 1, "chiplet compute 1 GFLOP/s");
    op_new(0, MZ_OP_ATT, 0, 0), op_term(MZ_Q_ROOT_FLOP, 0, 1e9);
    mz_step_add(&st, f, &op);
    op_new(1, MZ_OP_LOAD, 0, 0), op_term(MZ_Q_MEM_READ, 0, 4e9);
    mz_step_add(&st, f, &op);
    op_new(2, MZ_OP_LOAD, 0, 0), op_term(MZ_Q_MEM_READ, 1, 4e9);
    mz_step_add(&st, f, &op);
    op_new(3, MZ_OP_EXPERT, 0, 0), op_term(MZ_Q_CHIP_FLOP, 0, 1e9), op_dep(1);
    mz_step_add(&st, f, &op);
    op_new(4, MZ_OP_DISPATCH, 0, 0), op_term(MZ_Q_A2A_CHIP, 0, 2e9), op_term(MZ_Q_A2A_CHIP, 1, 2e9);
    op_term(MZ_Q_A2A_GROUP, 0, 2e9), op_dep(0);
    mz_step_add(&st, f, &op);
    op_new(5, MZ_OP_COMBINE, 0, 0), op_term(MZ_Q_A2A_CHIP, 0, 2e9), op_term(MZ_Q_A2A_CHIP, 1, 2e9);
    op_term(MZ_Q_A2A_GROUP, 0, 2e9), op_dep(4);
    CHECK(mz_step_add(&st, f, &op) == 0, "six ops compile");
    CHECK(uses(&st, f, 1, "M0d") && uses(&st, f, 1, "D0") && uses(&st, f, 1, "S0d") && !uses(&st, f, 1, "S1d"),
          "a load of chiplet 0 holds M0d, D0 and S0d");
    CHECK_NEAR(mz_step_time(&st, f, &tm), 9, 1e-9, "latency 9 s");
    CHECK_NEAR(tm.start[1], 0, 1e-12, "load 0 starts at once (4 GB at 2 GB/s: 2 s)");
    CHECK_NEAR(tm.start[2], 1, 1e-12, "load 1 waits for M0d and D0 (held 1 s by load 0), not for S0d");
    CHECK(tm.pred[2] == 1, "load 1's binding predecessor is load 0 (calendar)");
    CHECK_NEAR(tm.start[3], 2, 1e-12, "expert 0 starts when its load ends");
    CHECK_NEAR(tm.start[4], 3, 1e-12, "dispatch waits for a common slot: S1d is busy until 3");
    CHECK_NEAR(tm.end[4] - tm.start[4], 4, 1e-12, "dispatch: 4 GB through the root port (no multicast): 4 s");
    CHECK(tm.pred[4] == 2, "dispatch's binding predecessor is load 1 (it held S1d)");
    CHECK_NEAR(tm.end[5] - tm.start[5], 2, 1e-12, "forward combine: the switch reduces, 2 GB at the root: 2 s");
    mz_timing_exposed(&st, &tm, ex);
    for (int i = 0; i < st.n_ops; i++) sum += ex[i];
    CHECK_NEAR(sum, tm.latency, 1e-12, "exposed times telescope to the latency");
    CHECK(ex[5] == 2 && ex[4] == 4 && ex[2] == 2 && ex[1] == 1 && ex[0] == 0 && ex[3] == 0,
          "path 1 -> 2 -> 4 -> 5 credited 1, 2, 4, 2 s (%g %g %g %g; off path %g %g)", ex[1], ex[2], ex[4], ex[5],
          ex[0], ex[3]);
    CHECK(tm.path_ops == 4, "four ops on the critical path");
    /* a backward combine is not reduced by this switch */
    mz_step_clear(&st);
    op_new(0, MZ_OP_COMBINE, 1, 0), op_term(MZ_Q_A2A_CHIP, 0, 2e9), op_term(MZ_Q_A2A_CHIP, 1, 2e9);
    op_term(MZ_Q_A2A_GROUP, 0, 2e9);
    mz_step_add(&st, f, &op);
    CHECK_NEAR(mz_step_time(&st, f, &tm), 4, 1e-12, "backward combine: one copy per chiplet at the root, 4 s");
    /* barriers: a phase starts when everything before it has ended */
    mz_step_clear(&st);
    op_new(0, MZ_OP_ATT, 0, 1), op_term(MZ_Q_ROOT_FLOP, 0, 1e9);
    mz_step_add(&st, f, &op);
    op_new(1, MZ_OP_EXPERT, 0, 1), op_term(MZ_Q_CHIP_FLOP, 0, 2e9);
    mz_step_add(&st, f, &op);
    op_new(2, MZ_OP_EXPERT, 0, 2), op_term(MZ_Q_CHIP_FLOP, 1, 1e9);
    mz_step_add(&st, f, &op);
    CHECK_NEAR(mz_step_time(&st, f, &tm), 3, 1e-12, "phase 2 waits for phase 1's longest op: 3 s");
    CHECK_NEAR(tm.start[1], 0, 1e-12, "ops of one phase run in parallel");
    CHECK(tm.pred[2] == 1, "the barrier's last op is the binding predecessor");
    mz_timing_exposed(&st, &tm, ex);
    CHECK(ex[2] == 1 && ex[1] == 2 && ex[0] == 0, "Baseline: exposed 2 + 1 s");
    /* the SRAM roofline and hop latency */
    mz_step_clear(&st);
    op_new(0, MZ_OP_EXPERT, 0, 0), op_term(MZ_Q_CHIP_FLOP, 1, 1e9), op_term(MZ_Q_CHIP_SRAM, 1, 3e9);
    mz_step_add(&st, f, &op);
    CHECK_NEAR(mz_step_time(&st, f, &tm), 3, 1e-12, "compute bound by SRAM: 3 GB at 1 GB/s");
    mz_step_free(&st);
    mz_fabric_free(f);
    mz_wafer_set(&w, "links.hop_latency_ns=10");
    mz_wafer_finish(&w);
    f = mz_fabric_new(&w, 2, 1);
    op_new(0, MZ_OP_LOAD, 0, 0), op_term(MZ_Q_MEM_READ, 1, 4e9);
    mz_step_add(&st, f, &op);
    CHECK_NEAR(mz_step_time(&st, f, &tm), 2 + 20e-9, 1e-15, "a tree transfer adds 2 hops x 10 ns");
    CHECK(mz_fabric_new(&w, 4, 1) == NULL && strstr(mz_errmsg(), "topology.expert_chiplets"),
          "a placement with more chiplets than the wafer is refused (%s)", mz_errmsg());
    CHECK(mz_fabric_new(&w, 2, 2) == NULL && strstr(mz_errmsg(), "topology.switches"),
          "a placement with more groups than the wafer is refused (%s)", mz_errmsg());
    mz_step_free(&st);
    mz_timing_free(&tm);
    mz_fabric_free(f);
    mz_wafer_free(&w);
}

static void test_mesh(void)
{
    const char *const extra[] = {"topology.kind=mesh", "topology.expert_chiplets=4", "mesh.root_links=2", NULL};
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
    CHECK(find_res(f, "L0.0E") >= 0 && find_res(f, "L1.1N") >= 0 && find_res(f, "L0.0W") < 0,
          "directed links between neighbours only");
    op_new(0, MZ_OP_LOAD, 0, 0), op_term(MZ_Q_MEM_READ, 3, 2e9);
    mz_step_add(&st, f, &op);
    CHECK(uses(&st, f, 0, "M0d") && uses(&st, f, 0, "L0.0E") && uses(&st, f, 0, "L1.0S") && !uses(&st, f, 0, "L0.0S"),
          "group 0's stack at corner (0, 0) reaches chiplet 3 X first, then Y");
    op_new(1, MZ_OP_DISPATCH, 0, 0), op_term(MZ_Q_A2A_CHIP, 2, 1e9), op_term(MZ_Q_A2A_GROUP, 0, 1e9);
    mz_step_add(&st, f, &op);
    CHECK(uses(&st, f, 1, "RP") && uses(&st, f, 1, "RL0d") && uses(&st, f, 1, "L0.0S") && !uses(&st, f, 1, "RL1d"),
          "tokens for chiplet 2 enter at the left root link and go south");
    op_new(2, MZ_OP_COMBINE, 0, 0), op_term(MZ_Q_A2A_CHIP, 2, 1e9), op_term(MZ_Q_A2A_CHIP, 3, 1e9);
    op_term(MZ_Q_A2A_GROUP, 0, 1e9);
    mz_step_add(&st, f, &op);
    mz_step_time(&st, f, &tm);
    CHECK_NEAR(tm.end[2] - tm.start[2], 2, 1e-12, "no switch on a mesh: the root port takes one copy per chiplet");
    mz_step_free(&st);
    mz_timing_free(&tm);
    mz_fabric_free(f);
    mz_wafer_free(&w);
}

static char tmpdir[] = "/tmp/unit-cost-XXXXXX";

static const char *write_file(const char *name, const char *text)
{
    static char path[256];
    FILE *fp;
    snprintf(path, sizeof path, "%s/%s", tmpdir, name);
    fp = fopen(path, "w");
    fputs(text, fp);
    fclose(fp);
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
    CHECK(w.expert_chiplets == 2 && w.topology == MZ_TOPO_TREE && w.peak_flops == 1e9, "values and derived peak");
    mz_wafer_free(&w);
    write_file("top.wafer", "include base.wafer\n[memory]\nbandwidth_GBps = 15.8  # SSD\n");
    mz_wafer_init(&w);
    snprintf(path, sizeof path, "%s/top.wafer", tmpdir);
    CHECK(mz_wafer_load(&w, path) == 0 && mz_wafer_finish(&w) == 0, "include beside the file");
    CHECK(w.mem_bandwidth_GBps == 15.8 && w.n_layers == 2, "the including file overrides the included one");
    CHECK(mz_wafer_set(&w, "memory.bandwidth_GBps=512") == 0 && mz_wafer_finish(&w) == 0 &&
              w.mem_bandwidth_GBps == 512,
          "-s overrides both");
    CHECK(mz_wafer_get(&w, "links.chiplet_wires", &v) == 0 && v == 2, "mz_wafer_get by name");
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
            {"include base.wafer\n[compute]\nutilisation = 0 # x\n", "compute.utilisation: must be greater than 0"},
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

int main(void)
{
    test_calendar();
    test_records();
    test_placement();
    test_mesh();
    test_parse();
    mz_op_free(&op);
    return unit_done();
}
