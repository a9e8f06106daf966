/* fuzz-placemap.c: libFuzzer harness of placement maps (mz-place -R --format vllm|sglang|eplb), replicas included. */
#include "fuzz.h"

static const char *const hdr =
    "@MD\tname:tiny8\tlayers:4\tmoe:1-3\texperts:8\tshared:0\ttopk:2\thidden:4\tffn:2\tshared_ffn:0"
    "\tdense_ffn:8\theads:1\tkv_heads:1\thead_dim:4\tvocab:10\tgroups:1\ttopk_groups:1\tgated:1\n"
    "@TR\tsteps:1\tseqs:1\tseq_len:1\tlayers:1,3\tweights:0\n";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static mz_trace_info t;
    static int done;
    const char *path;
    if (!done) {
        mz_header h;
        FUZZ_CHECK(mz_header_parse(&h, hdr, strlen(hdr)) == 0 && mz_trace_info_from_header(&h, &t) == 0,
                   "built-in trace header");
        mz_header_free(&h);
        done = 1;
    }
    fuzz_reset();
    path = fuzz_file("map.json", data, size);
    for (int f = MZ_PLACEMAP_VLLM; f <= MZ_PLACEMAP_EPLB; f++)
        for (int given = 0; given < 2; given++) {
            mz_placement p, q;
            mz_header h = {0};
            mz_out *out;
            fuzz_reset();
            if (mz_placemap_read(path, f, &t, 4, given, 2, &p) < 0) continue;
            FUZZ_CHECK(mz_placement_check(&p) == 0, "a map read fails its check");
            for (int i = 0; i < p.n_replicas; i++)
                FUZZ_CHECK(p.replica[3 * i + 1] >= 0 && p.replica[3 * i + 1] < 8 && p.replica[3 * i + 2] >= 0 &&
                               p.replica[3 * i + 2] < p.chiplets && mz_placement_slot(&p, p.replica[3 * i]) >= 0,
                           "replica %d out of range", i);
            mz_placement_to_header(&p, &h);
            mz_placement_replicas_to_header(&p, &h);
            FUZZ_CHECK(mz_placement_from_header(&h, &t, &q) == 1, "the placement through @PT/@PL");
            mz_placement_free(&q);
            mz_header_free(&h);
            /* without replicas it writes back in its own format and reads back the same */
            if (!p.n_replicas) {
                out = mz_out_open(fuzz_path("back.json"), 0);
                FUZZ_CHECK(out != NULL, "output");
                if (mz_placemap_write(&p, &t.model, f, out) == 0) {
                    FUZZ_CHECK(mz_out_close(out) == 0, "writing the map");
                    FUZZ_CHECK(mz_placemap_read(fuzz_path("back.json"), f, &t, p.chiplets, 1, 2, &q) == 0 &&
                                   memcmp(p.chiplet, q.chiplet, (size_t)p.n_layers * 8 * sizeof *p.chiplet) == 0,
                               "the map changes through its own format (%s)", mz_errmsg());
                    mz_placement_free(&q);
                } else {
                    mz_out_abort(out);
                }
            }
            mz_placement_free(&p);
        }
    return 0;
}
