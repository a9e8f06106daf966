/* fuzz-trace.c: libFuzzer harness of the trace reader (mz streams of kind trace: binary plain or gzip, text). */
#include "fuzz.h"

/* Read path as every trace tool does: open (header, @MD, @TR), the
 * placement of the header when there is one, then every token in order;
 * and each token through the codec's text form and back. */
static void check(const char *path)
{
    mz_trace_reader tr;
    mz_placement p;
    const mz_codec *c = mz_codec_for(MZ_KIND_TRACE);
    fuzz_scratch x;
    void *ctx;
    uint8_t *rec;
    size_t size;
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
    ctx = c->init(mz_reader_header(tr.r));
    FUZZ_CHECK(ctx != NULL, "the codec refuses a header the trace reader accepted");
    memset(&x, 0, sizeof x);
    x.back_ctx = c->init(mz_reader_header(tr.r));
    size = mz_trace_record_size(&tr.info);
    rec = mz_malloc(size);
    while ((ret = mz_trace_next(&tr)) > 0) {
        size_t k = (size_t)tr.info.n_layers * tr.info.model.topk;
        for (size_t i = 0; i < k; i++)
            FUZZ_CHECK(tr.tok.ids[i] < tr.info.model.experts, "expert id %u of %d", tr.tok.ids[i],
                       tr.info.model.experts);
        FUZZ_CHECK(tr.tok.step < (uint32_t)tr.info.steps, "step %u", tr.tok.step);
        mz_token_encode(&tr.info, &tr.tok, rec);
        fuzz_record_roundtrip(c, ctx, &tr.info, rec, size, &x);
        n++;
    }
    if (ret == 0) FUZZ_CHECK(n == mz_reader_count(tr.r), "%llu tokens, count %llu", (unsigned long long)n,
                             (unsigned long long)mz_reader_count(tr.r));
    free(rec);
    fuzz_scratch_free(&x);
    c->done(ctx);
    if (x.back_ctx) c->done(x.back_ctx);
    mz_trace_close(&tr);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_stream_variants(data, size, check);
    return 0;
}
