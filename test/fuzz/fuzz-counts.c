/* fuzz-counts.c: libFuzzer harness of count sets (mz-import, mz-fit -T): SGLang count matrices, per-layer JSON, EPLB tables. */
#include "fuzz.h"

/* 6 blocks, MoE in 2-5 (4 MoE layers), 4 experts: rows can be blocks or MoE layers */
static const char *const md =
    "@MD\tname:tiny6\tlayers:6\tmoe:2-5\texperts:4\tshared:0\ttopk:2\thidden:4\tffn:2\tshared_ffn:0"
    "\tdense_ffn:8\theads:1\tkv_heads:1\thead_dim:4\tvocab:10\tgroups:1\ttopk_groups:1\tgated:1\n";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static mz_model m;
    static int done;
    const char *path;
    if (!done) {
        mz_header h;
        FUZZ_CHECK(mz_header_parse(&h, md, strlen(md)) == 0 && mz_model_from_header(&h, &m) == 0, "built-in model");
        mz_header_free(&h);
        done = 1;
    }
    fuzz_reset();
    path = fuzz_file("counts", data, size);
    for (int how = MZ_LAYERS_AUTO; how <= MZ_LAYERS_MOE; how++) {
        mz_loads d;
        mz_buf note = {0};
        fuzz_reset();
        if (mz_counts_read(path, &m, MZ_COUNTS_AUTO, how, &d, &note) == 0) {
            FUZZ_CHECK(d.experts == 4 && d.n_layers >= 1 && d.n_layers <= 4, "experts %d, layers %d", d.experts, d.n_layers);
            for (int i = 0; i < d.n_layers; i++) {
                double s = 0;
                FUZZ_CHECK(d.layer[i] >= 2 && d.layer[i] <= 5, "layer %d is an MoE block", d.layer[i]);
                if (i) FUZZ_CHECK(d.layer[i - 1] < d.layer[i], "layers in order");
                for (int e = 0; e < 4; e++) {
                    FUZZ_CHECK(d.share[(size_t)i * 4 + e] >= 0, "count");
                    s += d.share[(size_t)i * 4 + e];
                }
                FUZZ_CHECK(s > 0, "a kept layer has counts");
            }
            FUZZ_CHECK(mz_loads_normalise(&d, path) == 0, "normalise");
            mz_loads_free(&d);
        }
        mz_buf_free(&note);
    }
    /* and with the format forced */
    for (int f = MZ_COUNTS_SGLANG; f <= MZ_COUNTS_EPLB; f++) {
        mz_loads d;
        fuzz_reset();
        if (mz_counts_read(path, &m, f, MZ_LAYERS_AUTO, &d, NULL) == 0) mz_loads_free(&d);
    }
    return 0;
}
