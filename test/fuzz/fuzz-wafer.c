/* fuzz-wafer.c: libFuzzer harness of wafer descriptions: files, includes, -s overrides, and the fabric built on them. */
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

static const char *const keys[] = {
    "topology.attention_chiplets", "topology.switches", "topology.expert_chiplets", "compute.clock_GHz",
    "compute.utilisation", "memory.bandwidth_GBps", "links.wire_GBps", "links.hop_latency_ns", NULL};

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
    /* the fabric mz-cost builds: the whole wafer, and one chiplet per group */
    if ((f = mz_fabric_new(&w, w.expert_chiplets, w.switches)) != NULL) {
        for (int r = 0; r < mz_fabric_size(f); r++) {
            FUZZ_CHECK(mz_fabric_name(f, r) != NULL, "resource %d", r);
            FUZZ_CHECK(mz_fabric_rate(f, r) > 0, "resource %s: rate %g", mz_fabric_name(f, r),
                       mz_fabric_rate(f, r));
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
