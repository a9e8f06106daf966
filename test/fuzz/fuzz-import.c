/* fuzz-import.c: libFuzzer harness of mz-import's readers: vLLM route-log JSONL and TSV/CSV routing tables. */
#include "fuzz.h"

/* Two small models, each input read as a log of both: 1-byte expert ids
 * with a dense first layer, and 2-byte ids (300 experts), group-limited. */
static const char *const md[2] = {
    "@MD\tname:tiny8\tlayers:4\tmoe:1-3\texperts:8\tshared:0\ttopk:2\thidden:4\tffn:2\tshared_ffn:0"
    "\tdense_ffn:8\theads:1\tkv_heads:1\thead_dim:4\tvocab:10\tgroups:1\ttopk_groups:1\tgated:1\n",
    "@MD\tname:wide300\tlayers:2\tmoe:0-1\texperts:300\tshared:1\ttopk:3\thidden:4\tffn:2\tshared_ffn:2"
    "\tdense_ffn:0\theads:1\tkv_heads:1\thead_dim:4\tvocab:10\tgroups:4\ttopk_groups:2\tgated:1\n",
};
static mz_model models[2];

static void report(void *arg, const char *msg)
{
    (void)msg;
    ++*(long *)arg;
}

/* mz-import: read and check the whole log, then write the trace (text, to
 * /dev/null), whose codec checks every token again. */
static void import(const char *path, const mz_model *m, unsigned variant)
{
    static const int layer1[] = {1};
    mz_import_opts o;
    mz_import *im;
    mz_header h = {0};
    mz_writer *w;
    long reports = 0;
    const mz_import_counts *c;
    fuzz_reset();
    memset(&o, 0, sizeof o);
    o.format = MZ_IMPORT_AUTO;
    o.seqs = 1 + variant % 3;
    o.seq_len = variant & 4 ? 3 : 0;
    o.max_run = variant & 8 ? 2 : 0;
    o.drop = variant & 16 ? (1u << MZ_ANOM_KINDS) - 1 : 1u << MZ_ANOM_WARMUP;
    o.weights = (variant & 32) != 0;
    if (variant & 64) o.layers = layer1, o.n_layers = 1;
    o.report = report;
    o.arg = &reports;
    if (!(im = mz_import_open(path, m, &o))) return;
    if (mz_import_read(im) == 0 && !mz_import_refused(im) && mz_import_header(im, &h) == 0) {
        c = mz_import_get_counts(im);
        FUZZ_CHECK(c->tokens <= c->tokens_in, "%llu tokens of %llu", (unsigned long long)c->tokens,
                   (unsigned long long)c->tokens_in);
        mz_header_add(&h, "@HD\tVN:1.0\tKD:trace");
        w = mz_writer_open("/dev/null", MZ_KIND_TRACE, &h, 1, 0);
        FUZZ_CHECK(w != NULL, "the header of an import does not open a writer");
        FUZZ_CHECK(mz_import_write(im, w) == 0, "an imported token is not a valid trace record");
        FUZZ_CHECK(mz_writer_close(w) == 0, "closing the writer");
    }
    mz_header_free(&h);
    mz_import_close(im);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *path;
    static int done;
    unsigned variant = 0;
    if (!done) {
        fuzz_model(md[0], &models[0]);
        fuzz_model(md[1], &models[1]);
        done = 1;
    }
    /* the options: from the input's bytes, so that each input is one case */
    for (size_t i = 0; i < size; i++) variant = variant * 31 + data[i];
    variant &= 0x7fffu;
    path = fuzz_file("routes", data, size);
    import(path, &models[0], variant);
    import(path, &models[1], variant);
    return 0;
}
