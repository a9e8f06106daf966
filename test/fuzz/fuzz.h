/* fuzz.h: shared helpers of the libFuzzer harnesses (test/fuzz/fuzz-*.c): inputs as files, checks. */
#ifndef MZ_FUZZ_H
#define MZ_FUZZ_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "../../lib/place.h"
#include "../../lib/stat.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The parsers take paths: every input goes to a file NAME in a private
 * directory in $TMPDIR (else /tmp; TMPDIR=/dev/shm is faster), made once per
 * process and removed at exit (not after a crash). The names are stable, so
 * error messages are too, and a wafer can include a second file by name. */
static char fuzz_dir[256];
static char fuzz_names[16][64];
static int fuzz_n_names;

static inline void fuzz_cleanup(void)
{
    char p[sizeof fuzz_dir + sizeof fuzz_names + 2]; /* gcc bounds the name by the whole table */
    for (int i = 0; i < fuzz_n_names; i++) {
        snprintf(p, sizeof p, "%s/%s", fuzz_dir, fuzz_names[i]);
        unlink(p);
    }
    rmdir(fuzz_dir);
}

static inline const char *fuzz_tmpdir(void)
{
    if (!fuzz_dir[0]) {
        const char *base = getenv("TMPDIR");
        snprintf(fuzz_dir, sizeof fuzz_dir, "%s/mz-fuzz.XXXXXX", base && *base ? base : "/tmp");
        if (!mkdtemp(fuzz_dir)) {
            perror("fuzz: mkdtemp");
            abort();
        }
        atexit(fuzz_cleanup);
    }
    return fuzz_dir;
}

/* Path of file NAME (at most 63 bytes, at most 16 names) in the private
 * directory; the buffer lasts for 8 calls. */
static inline const char *fuzz_path(const char *name)
{
    static char buf[8][400];
    static int next;
    char *p = buf[next++ % 8];
    int i;
    for (i = 0; i < fuzz_n_names && strcmp(fuzz_names[i], name) != 0; i++)
        ;
    if (i == fuzz_n_names) {
        if (i == 16 || strlen(name) >= sizeof fuzz_names[0]) abort();
        strcpy(fuzz_names[fuzz_n_names++], name);
    }
    snprintf(p, sizeof buf[0], "%s/%s", fuzz_tmpdir(), name);
    return p;
}

/* Write data to file NAME; returns its path. */
static inline const char *fuzz_file(const char *name, const void *data, size_t size)
{
    const char *path = fuzz_path(name);
    FILE *f = fopen(path, "wb");
    if (!f || (size && fwrite(data, 1, size, f) != size) || fclose(f) != 0) {
        perror(path);
        abort();
    }
    return path;
}

/* Forget the last error message: each input starts clean. */
static inline void fuzz_reset(void) { mz_error("%s", ""); }

/* A failed check is a bug the fuzzer reports (abort: a crash). */
#define FUZZ_CHECK(cond, ...)                                                \
    do {                                                                     \
        if (!(cond)) {                                                       \
            fprintf(stderr, "%s:%d: check failed: %s: ", __FILE__, __LINE__, #cond); \
            fprintf(stderr, __VA_ARGS__);                                    \
            fprintf(stderr, "\n(last error: %s)\n", mz_errmsg());            \
            abort();                                                         \
        }                                                                    \
    } while (0)

/* gzip of data (level 1) into out; one deflate state for the process
 * (a fresh one per input costs more than the parsing). */
static inline void fuzz_gzip(const uint8_t *data, size_t size, mz_buf *out)
{
    static z_stream z;
    static int ready;
    if (!ready) {
        if (deflateInit2(&z, 1, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK) abort();
        ready = 1;
    } else if (deflateReset(&z) != Z_OK) {
        abort();
    }
    out->n = 0;
    mz_buf_reserve(out, deflateBound(&z, size) + 16);
    z.next_in = (Bytef *)data;
    z.avail_in = (uInt)size;
    z.next_out = (Bytef *)out->s;
    z.avail_out = (uInt)(out->m - 1);
    if (deflate(&z, Z_FINISH) != Z_STREAM_END) abort();
    out->n = z.total_out;
}

static inline uint32_t fuzz_u32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static inline void fuzz_put_u32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v, p[1] = (uint8_t)(v >> 8), p[2] = (uint8_t)(v >> 16), p[3] = (uint8_t)(v >> 24);
}

/* A binary mz stream carries CRC-32s the fuzzer cannot forge: rewrite
 * every checksum whose slot is inside the data (header, then each record
 * until the end marker or the data ends), so that mutations reach the
 * parsers behind them. Returns 1 if any byte changed. */
static inline int fuzz_fix_crcs(uint8_t *d, size_t n)
{
    size_t pos, len;
    int changed = 0;
    if (n < 8 || d[0] != 'M' || d[1] != 'Z') return 0;
    len = fuzz_u32(d + 4);
    pos = 8;
    while (len <= n - pos && n - pos - len >= 4) {
        uint32_t crc = (uint32_t)crc32(0, d + pos, (uInt)len);
        if (fuzz_u32(d + pos + len) != crc) fuzz_put_u32(d + pos + len, crc), changed = 1;
        pos += len + 4;
        if (n - pos < 4) break;
        len = fuzz_u32(d + pos);
        pos += 4;
        if (len == 0) break;
    }
    return changed;
}

/* A model from an @MD header line (the geometry the trace harnesses use). */
static inline void fuzz_model(const char *md, mz_model *m)
{
    mz_header h;
    FUZZ_CHECK(mz_header_parse(&h, md, strlen(md)) == 0, "bad built-in header");
    FUZZ_CHECK(mz_model_from_header(&h, m) == 0, "bad built-in model");
    mz_header_free(&h);
}

/* Same token: ids and positions equal, weights equal or both NaN (the
 * text form keeps a NaN, not its payload). */
static inline int fuzz_same_token(const mz_trace_info *t, const mz_token *a, const mz_token *b)
{
    size_t n = (size_t)t->n_layers * t->model.topk;
    if (a->step != b->step || a->seq != b->seq || a->tok != b->tok) return 0;
    if (memcmp(a->ids, b->ids, n * sizeof *a->ids) != 0) return 0;
    for (size_t i = 0; t->weights && i < n; i++)
        if (!(a->w[i] == b->w[i] || (a->w[i] != a->w[i] && b->w[i] != b->w[i]))) return 0;
    return 1;
}

/* Same op, field by field. */
static inline int fuzz_same_op(const mz_op *a, const mz_op *b)
{
    if (a->step != b->step || a->id != b->id || a->layer != b->layer || a->mb != b->mb ||
        a->slice != b->slice || a->dir != b->dir || a->kind != b->kind || a->cat != b->cat ||
        a->phase != b->phase || a->nterms != b->nterms || a->ndeps != b->ndeps)
        return 0;
    for (int i = 0; i < a->nterms; i++)
        if (a->term[i].type != b->term[i].type || a->term[i].index != b->term[i].index ||
            a->term[i].q != b->term[i].q)
            return 0;
    for (int i = 0; i < a->ndeps; i++)
        if (a->dep[i] != b->dep[i]) return 0;
    return 1;
}

/* The codec round trip of one record: a record the codec accepts has a
 * text line that converts back to the same record (the same token or op
 * when the bytes may differ). t: the trace geometry (kind trace), else
 * NULL. The scratch buffers and tokens are the caller's, reused. */
typedef struct {
    void *back_ctx; /* a second codec context for the way back: codecs keep
                     * state (a schedule's op order), so each direction has its own */
    mz_buf line, copy, back;
    mz_token ta, tb;
    mz_op oa, ob;
} fuzz_scratch;

static inline void fuzz_record_roundtrip(const mz_codec *c, void *ctx, const mz_trace_info *t, const uint8_t *rec,
                                         size_t len, fuzz_scratch *x)
{
    x->line.n = 0;
    if (c->to_text(ctx, rec, len, &x->line) < 0) return; /* a record the codec refuses */
    x->copy.n = 0;
    mz_buf_put(&x->copy, x->line.s, x->line.n);
    x->back.n = 0;
    FUZZ_CHECK(c->from_text(x->back_ctx ? x->back_ctx : ctx, x->copy.s, &x->back) == 0, "text line '%.200s' does not read back", x->line.s);
    if (x->back.n == len && memcmp(x->back.s, rec, len) == 0) return;
    if (t) {
        if (!x->ta.ids) mz_token_alloc(t, &x->ta), mz_token_alloc(t, &x->tb);
        FUZZ_CHECK(mz_token_decode(t, rec, len, &x->ta) == 0 &&
                       mz_token_decode(t, (const uint8_t *)x->back.s, x->back.n, &x->tb) == 0 &&
                       fuzz_same_token(t, &x->ta, &x->tb),
                   "trace record changes through its text form '%.200s'", x->line.s);
    } else {
        FUZZ_CHECK(mz_op_decode(rec, len, &x->oa) == 0 &&
                       mz_op_decode((const uint8_t *)x->back.s, x->back.n, &x->ob) == 0 && fuzz_same_op(&x->oa, &x->ob),
                   "schedule record changes through its text form '%.200s'", x->line.s);
    }
}

static inline void fuzz_scratch_free(fuzz_scratch *x)
{
    mz_buf_free(&x->line);
    mz_buf_free(&x->copy);
    mz_buf_free(&x->back);
    mz_token_free(&x->ta);
    mz_token_free(&x->tb);
    mz_op_free(&x->oa);
    mz_op_free(&x->ob);
}

/* Run check(path) on the input as given, then (binary streams) with its
 * checksums made right, then gzip-compressed. */
static inline void fuzz_stream_variants(const uint8_t *data, size_t size, void (*check)(const char *path))
{
    mz_buf fixed = {0}, gz = {0};
    check(fuzz_file("in", data, size));
    mz_buf_put(&fixed, data, size);
    if (fuzz_fix_crcs((uint8_t *)fixed.s, fixed.n)) check(fuzz_file("in", fixed.s, fixed.n));
    if (size > 0 && data[0] != 0x1f) {
        fuzz_gzip((const uint8_t *)fixed.s, fixed.n, &gz);
        check(fuzz_file("in.gz", gz.s, gz.n));
    }
    mz_buf_free(&fixed);
    mz_buf_free(&gz);
}

/* The Qwen3 design (models/wafer-qwen3-30b-a3b.wafer with the calibrated
 * constant of models/calibrated.wafer, 16 expert chiplets in 4 groups, a
 * tree with multicast, no spill tier), loaded into w from a file of its own
 * so that errors name it; harnesses layer their variations on top. */
static inline int fuzz_qwen3_wafer(mz_wafer *w)
{
    static const char text[] =
    "[topology]\nkind = tree\nattention_chiplets = 1\nswitches = 4\nexpert_chiplets = 16\n"
    "[compute]\ntiles = 100\narrays_per_tile = 16\npes_per_array = 576\nclock_GHz = 1\n"
    "flops_per_pe_cycle = 2\nprecision_bytes = 2\ntile_mm2 = 7.568\n"
    "[sram]\ntile_MB = 2.265\ntile_GBps = 32\nefficiency = 1\n"
    "[memory]\nbandwidth_GBps = 256\ncapacity_GB = 8\nroot_stacks = 2\nstacks_per_group = 1\n"
    "phy_mm = 7.75\nefficiency = 1\n"
    "[spill]\nbandwidth_GBps = 0\n"
    "[links]\nwire_GBps = 0.125\nhop_latency_ns = 10\nwires_per_mm = 20\n"
    "[root]\ndispatch_Bpc = 16.3182\n"
    "[switch]\nmulticast = 1\nreduce_forward = 1\nreduce_backward = 0\n"
    "[mesh]\nroot_links = 2\n";
    return mz_wafer_load(w, fuzz_file("base.wafer", text, sizeof text - 1));
}

#endif
