/* fuzz-wafer.c: libFuzzer harness of wafer descriptions: files, includes, -s overrides, and the fabric built on them. */
#include <math.h>

#include "fuzz.h"

/* The input is up to three parts separated by lines "--": the wafer file
 * a.wafer, a file b.wafer it may include ("include b.wafer"), and -s
 * overrides, one KEY=VALUE per line (mz-cost -w a.wafer -s ...). */
static const char *part(const uint8_t **p, const uint8_t *end, size_t *len)
{
    const uint8_t *s = *p, *q = s;
    while (q < end && !(end - q >= 4 && memcmp(q, "\n--\n", 4) == 0)) q++;
    *len = (size_t)(q - s) + (q < end);
    *p = q < end ? q + 4 : end;
    return (const char *)s;
}

/* fields mz-cost --fit may free (the real ones; the integers are refused) */
static const char *const keys[] = {
    "topology.attention_chiplets", "topology.switches", "topology.expert_chiplets", "compute.clock_GHz",
    "compute.tile_mm2", "sram.tile_GBps", "sram.efficiency", "memory.bandwidth_GBps", "memory.phy_mm",
    "memory.efficiency", "spill.bandwidth_GBps", "links.wire_GBps", "links.wires_per_mm", "links.hop_latency_ns",
    "root.dispatch_Bpc", NULL};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const uint8_t *p = data, *end = data + size;
    const char *a, *b, *s;
    size_t na, nb, ns;
    mz_wafer w;
    mz_fabric *f;
    fuzz_reset();
    a = part(&p, end, &na);
    b = part(&p, end, &nb);
    s = part(&p, end, &ns);
    fuzz_file("b.wafer", b, nb);
    mz_wafer_init(&w);
    if (mz_wafer_load(&w, fuzz_file("a.wafer", a, na)) < 0) goto done;
    {
        /* the overrides: each line of the third part */
        char *copy = mz_malloc(ns + 1), *line, *rest;
        memcpy(copy, s, ns);
        copy[ns] = '\0';
        for (rest = copy; (line = strsep(&rest, "\n")) != NULL;)
            if (*line && mz_wafer_set(&w, line) < 0) break;
        free(copy);
        if (line) goto done;
    }
    if (mz_wafer_finish(&w) < 0) goto done;
    FUZZ_CHECK(w.per_group >= 1 && w.per_group * w.switches == w.expert_chiplets, "groups");
    FUZZ_CHECK(w.mesh_cols * w.mesh_rows == w.expert_chiplets, "mesh %d x %d for %d chiplets", w.mesh_cols,
               w.mesh_rows, w.expert_chiplets);
    for (int c = 0; c < w.expert_chiplets; c++) {
        int x, y;
        mz_wafer_mesh_xy(&w, c, &x, &y);
        FUZZ_CHECK(x >= 0 && x < w.mesh_cols && y >= 0 && y < w.mesh_rows, "chiplet %d at %d,%d", c, x, y);
    }
    /* the fabric mz-cost builds: the whole wafer, and one chiplet per group.
     * Every resource has a positive finite rate, but: the spill tier X runs
     * at spill.bandwidth_GBps, 0 for a wafer without one (then unused); and
     * when the root's stacks' PHYs take its whole perimeter, its links have
     * no wires and a rate of 0 (mz-cost refuses the step: not finite) */
    if ((f = mz_fabric_new(&w, w.expert_chiplets, w.switches)) != NULL) {
        int no_root_shore = !(4 * w.edge_mm - w.root_stacks * w.phy_mm > 0);
        for (int r = 0; r < mz_fabric_size(f); r++) {
            const char *name = mz_fabric_name(f, r);
            double rate = mz_fabric_rate(f, r);
            FUZZ_CHECK(name != NULL, "resource %d", r);
            if (strcmp(name, "X") == 0)
                FUZZ_CHECK(rate == w.spill_GBps * 1e9, "spill tier: rate %g for %g GB/s", rate, w.spill_GBps);
            else if (rate == 0)
                FUZZ_CHECK(no_root_shore && mz_fabric_type(f, r) == MZ_RES_LINK, "resource %s: rate 0", name);
            else
                FUZZ_CHECK(rate > 0 && isfinite(rate), "resource %s: rate %g", name, rate);
        }
        mz_fabric_free(f);
    }
    if ((f = mz_fabric_new(&w, w.switches, w.switches)) != NULL) mz_fabric_free(f);
    /* mz-cost --fit: values set back as they are keep the wafer valid */
    for (int i = 0; keys[i]; i++) {
        double v;
        if (mz_wafer_get(&w, keys[i], &v) == 0 && mz_wafer_put(&w, keys[i], v) == 0)
            FUZZ_CHECK(mz_wafer_finish(&w) == 0, "%s set to its own value %g", keys[i], v);
    }
done:
    mz_wafer_free(&w);
    return 0;
}
