/* fuzz-sched.c: libFuzzer harness of the schedule reader and of mz-cost's loop over its ops. */
#include "fuzz.h"

/* The Qwen3 design (fuzz_qwen3_wafer) as a tree and as a mesh with a spill
 * tier (so that memories over capacity are timed on it), loaded once. */
static mz_wafer wafers[2];

static void init(void)
{
    static int done;
    if (done) return;
    done = 1;
    for (int i = 0; i < 2; i++) {
        mz_wafer_init(&wafers[i]);
        FUZZ_CHECK(fuzz_qwen3_wafer(&wafers[i]) == 0, "built-in wafer");
        if (i) {
            FUZZ_CHECK(mz_wafer_set(&wafers[i], "topology.kind=mesh") == 0, "mesh");
            FUZZ_CHECK(mz_wafer_set(&wafers[i], "spill.bandwidth_GBps=32") == 0, "spill tier");
        }
        FUZZ_CHECK(mz_wafer_finish(&wafers[i]) == 0, "built-in wafer");
    }
}

/* mz-cost's loop: decode each op, add it to the step, cost each step and
 * write its rows (to /dev/null); and each record through the codec's text
 * form and back. */
static void check_on(const char *path, const mz_wafer *w)
{
    const mz_codec *codec = mz_codec_for(MZ_KIND_SCHED);
    fuzz_scratch x;
    void *ctx;
    mz_reader *r;
    mz_cost *c;
    mz_out *out;
    mz_op op;
    mz_sched_opts o;
    const uint8_t *rec;
    size_t len;
    int ret, first = 1;
    double t0 = 0;
    fuzz_reset();
    if (!(r = mz_reader_open(path, MZ_KIND_SCHED))) return;
    mz_sched_opts_from_header(mz_reader_header(r), &o);
    ctx = codec->init(mz_reader_header(r));
    FUZZ_CHECK(ctx != NULL, "the codec refuses a header the reader accepted");
    memset(&x, 0, sizeof x);
    x.back_ctx = codec->init(mz_reader_header(r));
    if (!(c = mz_cost_new(w, mz_reader_header(r)))) {
        /* no cost: the records through the codec only */
        const uint8_t *rec;
        size_t len;
        while (mz_reader_next(r, &rec, &len) > 0) fuzz_record_roundtrip(codec, ctx, NULL, rec, len, &x);
        goto done;
    }
    out = mz_out_open("/dev/null", 0);
    FUZZ_CHECK(out != NULL, "/dev/null");
    mz_cost_write_tracks(c, out, &first);
    memset(&op, 0, sizeof op);
    for (;;) {
        ret = mz_reader_next(r, &rec, &len);
        if (ret < 0) break;
        if (ret > 0) fuzz_record_roundtrip(codec, ctx, NULL, rec, len, &x);
        if (ret > 0 && mz_op_decode(rec, len, &op) < 0) break;
        if (ret > 0 && op.id > 0 && mz_cost_add(c, &op) < 0) break;
        if ((ret == 0 || op.id == 0 || op.kind == MZ_OP_STAT) && mz_cost_pending(c)) {
            mz_cost_row row;
            mz_cost_run(c, &row);
            FUZZ_CHECK(row.latency_s >= 0, "latency %g", row.latency_s);
            mz_cost_write_breakdown(c, out, 0);
            mz_cost_write_timeline(c, out, t0, &first);
            t0 += row.latency_s;
        }
        if (ret == 0) break;
        if (op.id == 0 && mz_cost_add(c, &op) < 0) break;
    }
    mz_cost_write_resources(c, out);
    mz_out_close(out);
    mz_cost_free(c);
    mz_op_free(&op);
done:
    fuzz_scratch_free(&x);
    codec->done(ctx);
    if (x.back_ctx) codec->done(x.back_ctx);
    mz_reader_close(r);
}

/* The forms of one input alternate between the tree and the mesh, the
 * first chosen by the input's length (so each input is one case). */
static size_t form;

static void check(const char *path) { check_on(path, &wafers[form++ & 1]); }

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    init();
    form = size;
    fuzz_stream_variants(data, size, check);
    return 0;
}
