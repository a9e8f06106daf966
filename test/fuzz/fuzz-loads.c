/* fuzz-loads.c: libFuzzer harness of mz-fit's loads tables (TSV: layer, expert, share or count, with -S selections). */
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* mz-fit -S: the selections of a first line "#select COL=V[,V] ...", a
     * comment to the reader */
    char *sel[8], *copy = NULL;
    int n_sel = 0;
    mz_loads d;
    fuzz_reset();
    if (size > 8 && memcmp(data, "#select ", 8) == 0) {
        const uint8_t *nl = memchr(data, '\n', size);
        size_t n = nl ? (size_t)(nl - data) : size;
        char *p, *tok;
        copy = mz_malloc(n - 7);
        memcpy(copy, data + 8, n - 8);
        copy[n - 8] = '\0';
        for (p = copy; n_sel < 8 && (tok = strsep(&p, " ")) != NULL;)
            if (*tok && strchr(tok, '=')) sel[n_sel++] = tok;
    }
    if (mz_loads_read_table(fuzz_file("loads.tsv", data, size), sel, n_sel, &d) == 0) {
        FUZZ_CHECK(d.experts >= 1 && d.n_layers >= 1, "experts %d, layers %d", d.experts, d.n_layers);
        for (int i = 0; i < d.n_layers; i++) {
            double s = 0;
            if (i) FUZZ_CHECK(d.layer[i - 1] < d.layer[i], "layers in order");
            for (int e = 0; e < d.experts; e++) {
                FUZZ_CHECK(d.share[(size_t)i * d.experts + e] >= 0, "share");
                s += d.share[(size_t)i * d.experts + e];
            }
            FUZZ_CHECK(s > 0.999999 && s < 1.000001, "layer %d shares sum to %.17g", d.layer[i], s);
        }
        mz_loads_free(&d);
    }
    free(copy);
    return 0;
}
