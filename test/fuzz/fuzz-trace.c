/* fuzz-trace.c: libFuzzer harness of the trace reader (mz streams of kind trace: binary plain or gzip, text). */
#include "fuzz.h"

/* Read path as every trace tool does: open (header, @MD, @TR), the
 * placement of the header when there is one, then every token in order. */
static void read_trace(const char *path)
{
    mz_trace_reader tr;
    mz_placement p;
    int ret;
    uint64_t n = 0;
    fuzz_reset();
    if (mz_trace_open(&tr, path) < 0) return;
    ret = mz_placement_from_header(mz_reader_header(tr.r), &tr.info, &p);
    if (ret == 1) {
        FUZZ_CHECK(mz_placement_check(&p) == 0, "a placement read from the header fails its check");
        for (size_t i = 0; i < (size_t)p.n_layers * p.experts; i++)
            FUZZ_CHECK(p.chiplet[i] >= 0 && p.chiplet[i] < p.chiplets, "chiplet %d", p.chiplet[i]);
        mz_placement_free(&p);
    }
    while ((ret = mz_trace_next(&tr)) > 0) {
        size_t k = (size_t)tr.info.n_layers * tr.info.model.topk;
        for (size_t i = 0; i < k; i++)
            FUZZ_CHECK(tr.tok.ids[i] < tr.info.model.experts, "expert id %u of %d", tr.tok.ids[i],
                       tr.info.model.experts);
        FUZZ_CHECK(tr.tok.step < (uint32_t)tr.info.steps, "step %u", tr.tok.step);
        n++;
    }
    if (ret == 0) FUZZ_CHECK(n == mz_reader_count(tr.r), "%llu tokens, count %llu", (unsigned long long)n,
                             (unsigned long long)mz_reader_count(tr.r));
    mz_trace_close(&tr);
}

static void check(const char *path)
{
    read_trace(path);
    fuzz_stream_roundtrip(path);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_stream_variants(data, size, check);
    return 0;
}
