/* fuzz-placement.c: libFuzzer harness of placement TSV files (mz-place -R) and the @PT/@PL lines they become. */
#include "fuzz.h"

static const char *const hdr[2] = {
    "@MD\tname:tiny8\tlayers:4\tmoe:1-3\texperts:8\tshared:0\ttopk:2\thidden:4\tffn:2\tshared_ffn:0"
    "\tdense_ffn:8\theads:1\tkv_heads:1\thead_dim:4\tvocab:10\tgroups:1\ttopk_groups:1\tgated:1\n"
    "@TR\tsteps:1\tseqs:1\tseq_len:1\tlayers:1,3\tweights:0\n",
    "@MD\tname:wide300\tlayers:2\tmoe:0-1\texperts:300\tshared:0\ttopk:3\thidden:4\tffn:2\tshared_ffn:0"
    "\tdense_ffn:0\theads:1\tkv_heads:1\thead_dim:4\tvocab:10\tgroups:1\ttopk_groups:1\tgated:1\n"
    "@TR\tsteps:1\tseqs:1\tseq_len:1\tlayers:0-1\tweights:0\n",
};
static mz_trace_info traces[2];

static int same(const mz_placement *a, const mz_placement *b)
{
    return a->chiplets == b->chiplets && a->groups == b->groups && a->experts == b->experts &&
           a->n_layers == b->n_layers && memcmp(a->layers, b->layers, a->n_layers * sizeof *a->layers) == 0 &&
           memcmp(a->chiplet, b->chiplet, (size_t)a->n_layers * a->experts * sizeof *a->chiplet) == 0;
}

/* mz-place -R: read the file for trace t; then what follows downstream:
 * the @PT/@PL header lines, and the file mz-place -W writes. */
static void check(const char *path, const mz_trace_info *t, int chiplets, int groups)
{
    mz_placement p, q;
    mz_header h = {0};
    mz_out *out;
    fuzz_reset();
    if (mz_placement_read_tsv(path, t, chiplets, groups, &p) < 0) return;
    FUZZ_CHECK(mz_placement_check(&p) == 0, "a placement read from a file fails its check");
    /* downstream: the header lines, and the file mz-place -W writes */
    mz_placement_to_header(&p, &h);
    FUZZ_CHECK(mz_placement_from_header(&h, t, &q) == 1 && same(&p, &q), "the placement changes through @PT/@PL");
    mz_placement_free(&q);
    out = mz_out_open(fuzz_path("out.tsv"), 0);
    FUZZ_CHECK(out != NULL, "output");
    mz_placement_write_tsv(&p, out);
    FUZZ_CHECK(mz_out_close(out) == 0, "writing the placement");
    FUZZ_CHECK(mz_place_tsv_topology(fuzz_path("out.tsv"), &chiplets, &groups) == 1 && chiplets == p.chiplets &&
                   groups == p.groups,
               "the written #placement line");
    FUZZ_CHECK(mz_placement_read_tsv(fuzz_path("out.tsv"), t, chiplets, groups, &q) == 0 && same(&p, &q),
               "the placement changes through its TSV");
    mz_placement_free(&q);
    mz_placement_free(&p);
    mz_header_free(&h);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int done;
    const char *path;
    int chiplets = 4, groups = 2, ret;
    if (!done) {
        for (int i = 0; i < 2; i++) {
            mz_header hh;
            FUZZ_CHECK(mz_header_parse(&hh, hdr[i], strlen(hdr[i])) == 0 &&
                           mz_trace_info_from_header(&hh, &traces[i]) == 0,
                       "built-in trace header");
            mz_header_free(&hh);
        }
        done = 1;
    }
    fuzz_reset();
    path = fuzz_file("in.tsv", data, size);
    /* mz-place -R: the topology of the file's #placement line, if any */
    ret = mz_place_tsv_topology(path, &chiplets, &groups);
    if (ret < 0) return 0;
    if (ret == 0) chiplets = 4, groups = 2;
    for (int i = 0; i < 2; i++) check(path, &traces[i], chiplets, groups);
    return 0;
}
