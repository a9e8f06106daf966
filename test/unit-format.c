/* unit-format.c: unit tests of the MZT format: header, ranges, numbers, trace records, streams, mz_view_run. */
#include <errno.h>
#include <float.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "../lib/place.h"
#include "unit.h"

static char tmpdir[] = "/tmp/mz-unit-format-XXXXXX";

/* A path in the scratch directory (static buffer, one per slot). */
static const char *tmp_path(int slot, const char *name)
{
    static char buf[4][256];
    snprintf(buf[slot], sizeof buf[slot], "%s/%s", tmpdir, name);
    return buf[slot];
}

static int errmsg_has(const char *s) { return strstr(mz_errmsg(), s) != NULL; }

/* ---------------------------------------------------------------- numbers */
static void test_parse_numbers(void)
{
    long v = -7;
    double d = -7;
    CHECK(mz_parse_long("12", 0, 100, "n", &v) == 0 && v == 12, "parse_long '12' = 12");
    CHECK(mz_parse_long("-3", -5, 5, "n", &v) == 0 && v == -3, "parse_long '-3' = -3");
    v = 99;
    CHECK(mz_parse_long("", 0, 100, "--steps", &v) < 0 && v == 99 && errmsg_has("--steps"),
          "parse_long '' is an error naming the field (%s)", mz_errmsg());
    CHECK(mz_parse_long(" 5", 0, 100, "n", &v) < 0, "parse_long ' 5' rejected (leading blank)");
    CHECK(mz_parse_long("5 ", 0, 100, "n", &v) < 0, "parse_long '5 ' rejected (trailing blank)");
    CHECK(mz_parse_long("5x", 0, 100, "n", &v) < 0, "parse_long '5x' rejected");
    CHECK(mz_parse_long("0x10", 0, 100, "n", &v) < 0, "parse_long '0x10' rejected");
    CHECK(mz_parse_long("1e3", 0, 10000, "n", &v) < 0, "parse_long '1e3' rejected");
    CHECK(mz_parse_long("1.0", 0, 100, "n", &v) < 0, "parse_long '1.0' rejected");
    CHECK(mz_parse_long("101", 0, 100, "--seqs", &v) < 0 && errmsg_has("out of range") &&
              errmsg_has("--seqs"),
          "parse_long above hi: %s", mz_errmsg());
    CHECK(mz_parse_long("-1", 0, 100, "n", &v) < 0 && errmsg_has("out of range"), "parse_long below lo");
    CHECK(mz_parse_long("99999999999999999999999", 0, 0x7fffffffffffffffL, "n", &v) < 0,
          "parse_long overflow rejected");
    CHECK(mz_parse_long(NULL, 0, 1, "n", &v) < 0, "parse_long NULL rejected");

    CHECK(mz_parse_double("1.5", 0, 2, "x", &d) == 0 && d == 1.5, "parse_double '1.5'");
    CHECK(mz_parse_double("1e-3", 0, 2, "x", &d) == 0 && d == 1e-3, "parse_double '1e-3'");
    CHECK(mz_parse_double("-0.25", -1, 2, "x", &d) == 0 && d == -0.25, "parse_double '-0.25'");
    CHECK(mz_parse_double("nan", -1e300, 1e300, "x", &d) < 0, "parse_double 'nan' rejected");
    CHECK(mz_parse_double("inf", 0, 1e300, "x", &d) < 0, "parse_double 'inf' out of range");
    CHECK(mz_parse_double("1e999", 0, 1e300, "x", &d) < 0, "parse_double '1e999' rejected");
    CHECK(mz_parse_double(" 1", 0, 2, "x", &d) < 0, "parse_double ' 1' rejected");
    CHECK(mz_parse_double("1.5x", 0, 2, "x", &d) < 0, "parse_double '1.5x' rejected");
    CHECK(mz_parse_double("", 0, 2, "--coact", &d) < 0 && errmsg_has("--coact"),
          "parse_double '' names the field");
    CHECK(mz_parse_double("2.5", 0, 2, "--skew", &d) < 0 && errmsg_has("out of range"),
          "parse_double above hi");
}

/* ---------------------------------------------------------------- ranges */
static int list_is(const int *v, int n, const int *want, int nw)
{
    if (n != nw) return 0;
    for (int i = 0; i < n; i++)
        if (v[i] != want[i]) return 0;
    return 1;
}

static void test_ranges(void)
{
    int *v = NULL, n;
    char buf[256];
    static const int want1[] = {0, 1, 2, 3, 7, 9, 10, 11};
    static const int want2[] = {3, 4, 7};
    n = mz_parse_ranges("0-3,7,9-11", 0, 20, "l", &v);
    CHECK(list_is(v, n, want1, 8), "ranges '0-3,7,9-11' -> 8 sorted values (got %d)", n);
    CHECK(strcmp(mz_format_ranges(v, n, buf, sizeof buf), "0-3,7,9-11") == 0,
          "format back to '0-3,7,9-11' (got '%s')", buf);
    free(v);
    n = mz_parse_ranges("7,3,4,3-4", 0, 20, "l", &v);
    CHECK(list_is(v, n, want2, 3), "ranges '7,3,4,3-4' -> 3,4,7 (sorted, unique)");
    CHECK(strcmp(mz_format_ranges(v, n, buf, sizeof buf), "3-4,7") == 0, "format '3-4,7' (got '%s')", buf);
    free(v);
    n = mz_parse_ranges("5", 0, 20, "l", &v);
    CHECK(n == 1 && v[0] == 5, "ranges '5'");
    CHECK(strcmp(mz_format_ranges(v, n, buf, sizeof buf), "5") == 0, "format '5'");
    free(v);
    CHECK(strcmp(mz_format_ranges(NULL, 0, buf, sizeof buf), "") == 0, "format of nothing is ''");
    {
        const char *bad[] = {"", "3-1", "a", "1,,2", ",1", "1-", "-1", "0-21", "21", "1-2-3", "1.5", " 1"};
        for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
            v = NULL;
            n = mz_parse_ranges(bad[i], 0, 20, "--layers", &v);
            CHECK(n < 0 && errmsg_has("--layers"), "ranges '%s' rejected naming the field (%s)", bad[i],
                  mz_errmsg());
            if (n >= 0) free(v);
        }
    }
    /* round trip of random subsets */
    {
        int ok = 1;
        srand(7);
        for (int t = 0; t < 2000 && ok; t++) {
            int in[64], m = 0, *out;
            char text[1024];
            for (int i = 0; i < 64; i++)
                if (rand() % 3 == 0) in[m++] = i;
            if (!m) continue;
            mz_format_ranges(in, m, text, sizeof text);
            n = mz_parse_ranges(text, 0, 63, "r", &out);
            ok = list_is(out, n, in, m);
            free(out);
        }
        CHECK(ok, "2000 random subsets of 0-63 survive format -> parse");
    }
}

/* ---------------------------------------------------------------- floats */
static uint32_t rng_state = 12345;
static uint32_t rnd32(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 17;
    rng_state ^= rng_state << 5;
    return rng_state;
}

/* Is buf the shortest %g text that reads back as v? */
static int float_ok(float v, int *exact, int *shortest)
{
    char buf[64], shorter[400];
    int n = mz_format_float(buf, sizeof buf, v), digits = 0;
    const char *p;
    *exact = n > 0 && (size_t)n == strlen(buf) && strtof(buf, NULL) == v &&
             signbit(strtof(buf, NULL)) == signbit(v);
    for (p = buf; *p && *p != 'e'; p++)
        if (*p >= '0' && *p <= '9') digits++;
    /* significant digits: drop leading zeros such as "0.00" */
    for (p = buf; *p && (*p == '-' || *p == '0' || *p == '.'); p++)
        if (*p == '0') digits--;
    if (digits < 1) digits = 1;
    *shortest = 1;
    if (digits > 1) {
        snprintf(shorter, sizeof shorter, "%.*g", digits - 1, (double)v);
        *shortest = strtof(shorter, NULL) != v;
    }
    return *exact && *shortest;
}

static void test_format_float(void)
{
    float special[] = {0.0f, -0.0f, 1.0f, -1.0f, 0.1f, 0.5f, 1.0f / 3, 2.0f / 3, 1e-7f, 123456.7f,
                       FLT_MAX, -FLT_MAX, FLT_MIN, FLT_TRUE_MIN, 16777216.0f, 16777217.0f, 3.4e38f};
    int bad_exact = 0, bad_short = 0, exact, shortest;
    char buf[64];
    for (size_t i = 0; i < sizeof special / sizeof *special; i++) {
        float_ok(special[i], &exact, &shortest);
        CHECK(exact && shortest, "mz_format_float(%.9g) = shortest round trip", (double)special[i]);
    }
    mz_format_float(buf, sizeof buf, 0.5f);
    CHECK(strcmp(buf, "0.5") == 0, "0.5 formats as '0.5' (got '%s')", buf);
    mz_format_float(buf, sizeof buf, 0.1f);
    CHECK(strcmp(buf, "0.1") == 0, "0.1f formats as '0.1' (got '%s')", buf);
    for (int i = 0; i < 300000; i++) {
        uint32_t u = rnd32();
        float v;
        memcpy(&v, &u, 4);
        if (!isfinite(v)) continue;
        float_ok(v, &exact, &shortest);
        bad_exact += !exact;
        bad_short += !shortest;
    }
    CHECK(bad_exact == 0, "300000 random bit patterns read back exactly (%d did not)", bad_exact);
    CHECK(bad_short == 0, "and none has a shorter exact form (%d had)", bad_short);
    bad_exact = bad_short = 0;
    for (int i = 0; i < 200000; i++) {
        float v = (float)((double)rnd32() / 4294967296.0); /* gate-weight-like values */
        float_ok(v, &exact, &shortest);
        bad_exact += !exact;
        bad_short += !shortest;
    }
    CHECK(bad_exact == 0 && bad_short == 0, "200000 random floats in [0,1): exact %d, shortest %d failures",
          bad_exact, bad_short);
}

/* ---------------------------------------------------------------- header */
static void test_header(void)
{
    mz_header h, c;
    mz_buf b = {0};
    char v[64];
    long x;
    double d;
    const char *text = "@HD\tVN:1.0\tKD:trace\n@TR\tsteps:4\tseqs:2\n@PG\tID:0\tPN:a\n@PG\tID:1\tPN:b\n";
    char *argv[] = {"mz-x", "-a", "tab\there"};
    CHECK(mz_header_parse(&h, text, strlen(text)) == 0 && h.n == 4, "parse 4 header lines");
    mz_header_text(&h, &b);
    CHECK(b.n == strlen(text) && memcmp(b.s, text, b.n) == 0, "header text round trip is exact");
    mz_buf_free(&b);
    CHECK(mz_header_find(&h, "@TR", 0) == 1, "find @TR at line 1");
    CHECK(mz_header_find(&h, "@PG", 1) == 3, "find the second @PG at line 3");
    CHECK(mz_header_find(&h, "@PG", 2) == -1, "no third @PG");
    CHECK(mz_header_find(&h, "@T", 0) == -1, "a tag prefix is not a tag");
    CHECK(mz_header_value(&h, 1, "seqs", v, sizeof v) && strcmp(v, "2") == 0, "value of seqs is '2'");
    CHECK(mz_header_value(&h, 1, "steps", v, sizeof v) && strcmp(v, "4") == 0, "value of steps is '4'");
    CHECK(!mz_header_value(&h, 1, "step", v, sizeof v), "a key prefix is not a key");
    CHECK(!mz_header_value(&h, 1, "TR", v, sizeof v), "the tag is not a key");
    CHECK(!mz_header_value(&h, 9, "steps", v, sizeof v), "a line out of range has no value");
    CHECK(mz_header_value(&h, 0, "KD", v, 3) && strcmp(v, "tr") == 0, "a value is cut to the buffer");
    CHECK(mz_header_long(&h, 1, "steps", 1, 10, &x) == 0 && x == 4, "header_long steps = 4");
    CHECK(mz_header_long(&h, 1, "steps", 5, 10, &x) < 0 && errmsg_has("header @TR steps"),
          "header_long out of range names tag and key (%s)", mz_errmsg());
    CHECK(mz_header_long(&h, 1, "seq_len", 1, 10, &x) < 0 && errmsg_has("header @TR seq_len: missing"),
          "header_long of a missing key (%s)", mz_errmsg());
    CHECK(mz_header_double(&h, 0, "VN", 0, 5, &d) == 0 && d == 1.0, "header_double VN = 1.0");
    CHECK(mz_header_double(&h, 0, "KD", 0, 5, &d) < 0 && errmsg_has("header @HD KD"),
          "header_double of text fails naming the field");

    mz_header_copy(&c, &h);
    mz_header_remove(&c, "@PG");
    CHECK(c.n == 2 && mz_header_find(&c, "@PG", 0) == -1, "remove both @PG lines from a copy");
    CHECK(h.n == 4, "the original keeps them");
    mz_header_add(&c, "@XX\tk:%d\tnote:two\nlines", 7);
    CHECK(c.n == 3 && strcmp(c.line[2], "@XX\tk:7\tnote:two lines") == 0,
          "header_add appends, a newline becomes a space");
    mz_header_add_pg(&h, "mz-x", 3, argv);
    CHECK(h.n == 5 && strcmp(h.line[4], "@PG\tID:2\tPN:mz-x\tVN:" MZ_VERSION "\tCL:mz-x -a tab here") == 0,
          "add_pg numbers after the existing @PG lines, tabs in arguments become spaces ('%s')",
          h.line[4]);
    mz_header_free(&c);
    mz_header_free(&h);

    CHECK(mz_header_parse(&h, "@HD\tVN:1.0", 10) < 0 && errmsg_has("no newline"),
          "a header line without newline is an error");
    CHECK(mz_header_parse(&h, "@HD\n#x\n", 7) < 0 && errmsg_has("line 2"),
          "a header line not starting with '@' is an error naming line 2");
    CHECK(mz_header_parse(&h, "@HD\n@T\0X\n", 9) < 0, "a NUL inside a header line is an error");
    CHECK(mz_header_parse(&h, "", 0) == 0 && h.n == 0, "an empty header parses to no lines");
    mz_header_free(&h);
}

/* ---------------------------------------------------------------- trace records */

/* A small hand-made model: layer 0 dense, layers 1..n_layers MoE, all traced. */
static void make_info(mz_trace_info *t, int experts, int topk, int n_layers, int weights)
{
    mz_model *m = &t->model;
    memset(t, 0, sizeof *t);
    snprintf(m->name, sizeof m->name, "unit-%d", experts);
    m->layers = n_layers + 1;
    m->moe = mz_calloc(m->layers, 1);
    for (int l = 1; l < m->layers; l++) m->moe[l] = 1;
    m->n_moe = n_layers;
    m->experts = experts, m->topk = topk, m->hidden = 64, m->ffn = 32, m->dense_ffn = 128;
    m->heads = 4, m->kv_heads = 2, m->head_dim = 16, m->vocab = 1000;
    m->groups = 1, m->topk_groups = 1, m->gated = 1;
    t->steps = 3, t->seqs = 2, t->seq_len = 5;
    t->n_layers = n_layers;
    t->layers = mz_malloc(n_layers * sizeof *t->layers);
    for (int i = 0; i < n_layers; i++) t->layers[i] = i + 1;
    t->id_bytes = experts <= 256 ? 1 : 2;
    t->weights = weights;
}

/* Fill token number i (in stream order) with distinct ids and weights. */
static void fill_token(const mz_trace_info *t, long i, mz_token *tok)
{
    int k = t->model.topk, E = t->model.experts;
    tok->step = (uint32_t)(i / (t->seqs * t->seq_len));
    tok->seq = (uint32_t)(i / t->seq_len % t->seqs);
    tok->tok = (uint32_t)(i % t->seq_len);
    for (int l = 0; l < t->n_layers; l++) {
        int start = (int)((i * 7919 + l * 104729) % E);
        for (int j = 0; j < k; j++) {
            tok->ids[l * k + j] = (uint16_t)((start + j * 3) % E); /* distinct while 3k <= E */
            if (t->weights) tok->w[l * k + j] = (float)(1.0 / (j + 2) + i * 1e-6);
        }
    }
}

static int token_equal(const mz_trace_info *t, const mz_token *a, const mz_token *b)
{
    size_t n = (size_t)t->n_layers * t->model.topk;
    if (a->step != b->step || a->seq != b->seq || a->tok != b->tok) return 0;
    if (memcmp(a->ids, b->ids, n * sizeof *a->ids)) return 0;
    if (t->weights && memcmp(a->w, b->w, n * sizeof *a->w)) return 0;
    return 1;
}

static void test_records(int experts, int weights)
{
    mz_trace_info t;
    mz_token a, b;
    uint8_t *rec;
    size_t size;
    int ok = 1;
    make_info(&t, experts, 4, 3, weights);
    size = mz_trace_record_size(&t);
    CHECK(size == 12 + 12 * (size_t)t.id_bytes + (weights ? 48 : 0),
          "%d experts%s: record of %zu bytes (%d-byte ids)", experts, weights ? " with weights" : "",
          size, t.id_bytes);
    mz_token_alloc(&t, &a);
    mz_token_alloc(&t, &b);
    rec = mz_malloc(size);
    for (long i = 0; i < t.steps * t.seqs * t.seq_len && ok; i++) {
        fill_token(&t, i, &a);
        if (experts > 256) a.ids[0] = (uint16_t)(experts - 1); /* needs the high byte */
        for (int j = 1; j < 4; j++)
            if (a.ids[j] == a.ids[0]) a.ids[j] = (uint16_t)((a.ids[0] + 1) % experts);
        mz_token_encode(&t, &a, rec);
        ok = mz_token_decode(&t, rec, size, &b) == 0 && token_equal(&t, &a, &b);
    }
    CHECK(ok, "encode -> decode is the identity for every token");
    /* the layout is little-endian, ids in rank order right after step/seq/tok */
    fill_token(&t, 17, &a);
    a.ids[0] = (uint16_t)(experts - 1);
    a.ids[1] = 0, a.ids[2] = 1, a.ids[3] = 2;
    mz_token_encode(&t, &a, rec);
    CHECK(rec[0] == 1 && rec[1] == 0 && rec[4] == 1 && rec[8] == 2 && rec[11] == 0,
          "step 1, seq 1, tok 2 as little-endian u32");
    if (t.id_bytes == 1)
        CHECK(rec[12] == experts - 1 && rec[13] == 0, "u8 ids at byte 12");
    else
        CHECK(rec[12] == ((experts - 1) & 255) && rec[13] == (experts - 1) >> 8 && rec[14] == 0,
              "u16 little-endian ids at byte 12");
    if (weights) {
        float w;
        uint32_t u = (uint32_t)rec[12 + 12 * t.id_bytes] | (uint32_t)rec[13 + 12 * t.id_bytes] << 8 |
                     (uint32_t)rec[14 + 12 * t.id_bytes] << 16 | (uint32_t)rec[15 + 12 * t.id_bytes] << 24;
        memcpy(&w, &u, 4);
        CHECK(w == a.w[0], "the first gate weight follows the ids as an IEEE float");
    }
    /* decode rejects what a record must not hold */
    CHECK(mz_token_decode(&t, rec, size - 1, &b) < 0 && errmsg_has("bytes"), "a short record is rejected");
    a.ids[5] = a.ids[4];
    mz_token_encode(&t, &a, rec);
    CHECK(mz_token_decode(&t, rec, size, &b) < 0 && errmsg_has("selected twice"),
          "a repeated expert is rejected (%s)", mz_errmsg());
    fill_token(&t, 17, &a);
    a.ids[6] = (uint16_t)experts;
    if (t.id_bytes == 2 || experts < 256) {
        mz_token_encode(&t, &a, rec);
        CHECK(mz_token_decode(&t, rec, size, &b) < 0 && errmsg_has("out of range"),
              "an expert id >= experts is rejected (%s)", mz_errmsg());
    }
    fill_token(&t, 17, &a);
    a.seq = 2;
    mz_token_encode(&t, &a, rec);
    CHECK(mz_token_decode(&t, rec, size, &b) < 0 && errmsg_has("outside the trace geometry"),
          "a sequence beyond @TR seqs is rejected");
    free(rec);
    mz_token_free(&a);
    mz_token_free(&b);
    mz_trace_info_free(&t);
}

static void test_info_header(void)
{
    mz_trace_info t, u;
    mz_header h = {0};
    int i;
    char v[64];
    make_info(&t, 300, 4, 3, 1);
    mz_trace_info_to_header(&t, &h);
    i = mz_header_find(&h, "@TR", 0);
    CHECK(i >= 0 && strcmp(h.line[i], "@TR\tsteps:3\tseqs:2\tseq_len:5\tlayers:1-3\tweights:1") == 0,
          "@TR line: '%s'", i >= 0 ? h.line[i] : "");
    CHECK(mz_trace_info_from_header(&h, &u) == 0, "@MD/@TR read back");
    CHECK(u.steps == 3 && u.seqs == 2 && u.seq_len == 5 && u.n_layers == 3 && u.layers[0] == 1 &&
              u.layers[2] == 3 && u.weights == 1 && u.id_bytes == 2 && u.model.experts == 300,
          "trace geometry survives the header");
    mz_trace_info_free(&u);
    mz_header_value(&h, i, "layers", v, sizeof v);
    mz_header_remove(&h, "@TR");
    mz_header_add(&h, "@TR\tsteps:3\tseqs:2\tseq_len:5\tlayers:0-2\tweights:0");
    CHECK(mz_trace_info_from_header(&h, &u) < 0 && errmsg_has("layer 0 is not an MoE layer"),
          "a dense layer in @TR layers is rejected (%s)", mz_errmsg());
    mz_header_remove(&h, "@TR");
    mz_header_add(&h, "@TR\tsteps:3\tseqs:2\tlayers:1\tweights:0");
    CHECK(mz_trace_info_from_header(&h, &u) < 0 && errmsg_has("header @TR seq_len: missing"),
          "a missing @TR key is named (%s)", mz_errmsg());
    mz_header_remove(&h, "@TR");
    CHECK(mz_trace_info_from_header(&h, &u) < 0 && errmsg_has("@TR"), "a missing @TR line is named");
    mz_header_free(&h);
    mz_trace_info_free(&t);
}

/* ---------------------------------------------------------------- streams */

/* Write a trace of all tokens of t to path; returns 0 on success. */
static int write_trace(const mz_trace_info *t, const char *path, int text, int level, long n)
{
    mz_header h = {0};
    mz_token tok;
    mz_writer *w;
    uint8_t *rec = mz_malloc(mz_trace_record_size(t));
    int ret = 0;
    mz_trace_info_to_header(t, &h);
    mz_header_add(&h, "@CO\tfree text passes through");
    if (!(w = mz_writer_open(path, MZ_KIND_TRACE, &h, text, level))) {
        free(rec);
        mz_header_free(&h);
        return -1;
    }
    mz_token_alloc(t, &tok);
    for (long i = 0; i < n; i++) {
        fill_token(t, i, &tok);
        mz_token_encode(t, &tok, rec);
        if (mz_writer_put(w, rec, mz_trace_record_size(t)) < 0) ret = -1;
    }
    if (mz_writer_close(w) < 0) ret = -1;
    mz_token_free(&tok);
    mz_header_free(&h);
    free(rec);
    return ret;
}

/* Read a whole trace with mz_trace_open/next, comparing with fill_token.
 * Returns the number of records, or -1 on an error or a wrong record. */
static long read_trace(const char *path, int *text)
{
    mz_trace_reader tr;
    mz_token want;
    long n = 0;
    int ret;
    if (mz_trace_open(&tr, path) < 0) return -1;
    if (text) *text = mz_reader_is_text(tr.r);
    mz_token_alloc(&tr.info, &want);
    while ((ret = mz_trace_next(&tr)) > 0) {
        fill_token(&tr.info, n, &want);
        if (!token_equal(&tr.info, &tr.tok, &want)) {
            mz_error("record %ld differs", n);
            ret = -1;
            break;
        }
        n++;
    }
    if (mz_trace_close(&tr) < 0) ret = -1;
    mz_token_free(&want);
    return ret < 0 ? -1 : n;
}

static long file_size(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 ? (long)st.st_size : -1;
}

static char *slurp(const char *path, long *n)
{
    FILE *fp = fopen(path, "rb");
    char *s;
    *n = file_size(path);
    s = mz_malloc(*n + 1);
    if (!fp || fread(s, 1, *n, fp) != (size_t)*n) *n = -1;
    if (fp) fclose(fp);
    return s;
}

static void spit(const char *path, const void *s, long n)
{
    FILE *fp;
    unlink(path); /* truncating in place makes ext4 flush at close: slow */
    fp = fopen(path, "wb");
    fwrite(s, 1, n, fp);
    fclose(fp);
}

static void test_stream_round_trips(void)
{
    const char *forms[3] = {"binary", "gzip", "text"};
    for (int weights = 0; weights <= 1; weights++)
        for (int experts = 64; experts <= 300; experts += 236) {
            mz_trace_info t;
            long all;
            make_info(&t, experts, 4, 3, weights);
            all = (long)t.steps * t.seqs * t.seq_len;
            for (int f = 0; f < 3; f++) {
                const char *p = tmp_path(0, "rt.mz");
                int text = -1;
                long got;
                CHECK(write_trace(&t, p, f == 2, f == 1 ? 6 : 0, all) == 0, "write %s", forms[f]);
                got = read_trace(p, &text);
                CHECK(got == all && text == (f == 2),
                      "%s, %d experts, weights %d: %ld of %ld records read back equal (%s)", forms[f],
                      experts, weights, got, all, got < 0 ? mz_errmsg() : "ok");
                {
                    long n;
                    char *s = slurp(p, &n);
                    int gz = n > 2 && (uint8_t)s[0] == 0x1f && (uint8_t)s[1] == 0x8b;
                    CHECK(gz == (f == 1), "%s output %s gzip", forms[f], f == 1 ? "is" : "is not");
                    if (f == 0)
                        CHECK(memcmp(s, "MZT\001", 4) == 0, "binary starts with 'MZ', 'T', major 1");
                    if (f == 2)
                        CHECK(memcmp(s, "@HD\tVN:1.0\tKD:trace\n", 20) == 0 &&
                                  memcmp(s + n - 9, "\n@EOF\t30\n", 9) == 0,
                              "text starts with @HD and ends with '@EOF<TAB>30'");
                    free(s);
                }
            }
            /* zero records */
            for (int f = 0; f < 3; f++) {
                const char *p = tmp_path(0, "empty.mz");
                long got;
                write_trace(&t, p, f == 2, f == 1 ? 6 : 0, 0);
                got = read_trace(p, NULL);
                CHECK(got == 0, "%s stream of zero records reads back (%s)", forms[f],
                      got < 0 ? mz_errmsg() : "ok");
            }
            mz_trace_info_free(&t);
        }
}

/* Convert a stream through the generic reader/writer into another form. */
static int convert(const char *in, const char *out, int text, int level)
{
    mz_reader *r = mz_reader_open(in, 0);
    mz_writer *w;
    const uint8_t *rec;
    size_t len;
    int ret;
    if (!r) return -1;
    if (!(w = mz_writer_open(out, mz_reader_kind(r), mz_reader_header(r), text, level))) {
        mz_reader_close(r);
        return -1;
    }
    while ((ret = mz_reader_next(r, &rec, &len)) > 0)
        if (mz_writer_put(w, rec, len) < 0) ret = -1;
    if (ret < 0)
        mz_writer_abort(w);
    else if (mz_writer_close(w) < 0)
        ret = -1;
    mz_reader_close(r);
    return ret;
}

static int same_file(const char *a, const char *b)
{
    long na, nb;
    char *sa = slurp(a, &na), *sb = slurp(b, &nb);
    int same = na >= 0 && na == nb && memcmp(sa, sb, na) == 0;
    free(sa);
    free(sb);
    return same;
}

static void test_conversions(void)
{
    mz_trace_info t;
    const char *txt = tmp_path(0, "a.txt"), *bin = tmp_path(1, "a.mz"), *txt2 = tmp_path(2, "b.txt"),
               *bin2 = tmp_path(3, "b.mz");
    make_info(&t, 64, 4, 3, 1);
    write_trace(&t, txt, 1, 0, 30);
    CHECK(convert(txt, bin, 0, 0) == 0 && convert(bin, txt2, 1, 0) == 0 && same_file(txt, txt2),
          "text -> binary -> text is byte-identical");
    CHECK(convert(txt2, bin2, 0, 0) == 0 && same_file(bin, bin2), "binary -> text -> binary is byte-identical");
    CHECK(convert(bin, bin2, 0, 9) == 0 && convert(bin2, txt2, 1, 0) == 0 && same_file(txt, txt2),
          "through gzip level 9 too");
    mz_trace_info_free(&t);
}

/* Every cut of a stream short of its full length must fail to read. */
static void test_truncation(void)
{
    const char *forms[3] = {"binary", "gzip", "text"};
    mz_trace_info t;
    make_info(&t, 64, 4, 3, 1);
    for (int f = 0; f < 3; f++) {
        const char *full = tmp_path(0, "full.mz"), *cut = tmp_path(1, "cut.mz");
        long n, silent = 0, vague = 0;
        char *s;
        char example[512] = "";
        write_trace(&t, full, f == 2, f == 1 ? 6 : 0, 12);
        s = slurp(full, &n);
        for (long c = 0; c < n; c++) {
            spit(cut, s, c);
            if (read_trace(cut, NULL) >= 0) {
                silent++;
                continue;
            }
            /* a 0-2 byte input cannot be told from other data */
            if (c >= 3 && !errmsg_has("truncated")) vague++;
            if (c == n / 2) snprintf(example, sizeof example, "%s", mz_errmsg());
        }
        CHECK(silent == 0, "%s: all %ld cuts fail to read (%ld read silently)", forms[f], n, silent);
        CHECK(vague == 0, "%s: every cut of 3+ bytes says 'truncated' (%ld did not); e.g. %s", forms[f],
              vague, example);
        free(s);
    }
    /* bytes after the end marker */
    {
        const char *full = tmp_path(0, "full.mz");
        FILE *fp;
        write_trace(&t, full, 0, 0, 12);
        fp = fopen(full, "ab");
        fputc('x', fp);
        fclose(fp);
        CHECK(read_trace(full, NULL) < 0 && errmsg_has("after the end marker"),
              "data after the end marker is an error (%s)", mz_errmsg());
    }
    mz_trace_info_free(&t);
}

/* Every single-bit flip of an uncompressed binary stream is detected; a
 * flip in a gzip stream is either detected or harmless (same data). */
static void test_bit_flips(void)
{
    mz_trace_info t;
    const char *full = tmp_path(0, "full.mz"), *bad = tmp_path(1, "flip.mz");
    long n, silent = 0, crc_named = 0, harmful = 0;
    char *s;
    make_info(&t, 64, 4, 3, 1);
    write_trace(&t, full, 0, 0, 12);
    s = slurp(full, &n);
    for (long i = 0; i < n; i++)
        for (int bit = 0; bit < 8; bit++) {
            s[i] ^= (char)(1 << bit);
            spit(bad, s, n);
            if (read_trace(bad, NULL) >= 0) silent++;
            else if (errmsg_has("checksum")) crc_named++;
            s[i] ^= (char)(1 << bit);
        }
    CHECK(silent == 0, "binary: all %ld single-bit flips are detected (%ld were not)", n * 8, silent);
    CHECK(crc_named > n * 8 * 9 / 10, "binary: most (%ld of %ld) are named as checksum mismatches",
          crc_named, n * 8);
    free(s);

    write_trace(&t, full, 0, 6, 12);
    s = slurp(full, &n);
    {
        /* the uncompressed bytes, to compare an accepted flip with */
        long m = 0, accepted = 0, wrong = 0;
        char *plain = mz_malloc(1 << 16), *other = mz_malloc(1 << 16);
        gzFile gz = gzopen(full, "rb");
        m = gzread(gz, plain, 1 << 16);
        gzclose(gz);
        harmful = 0;
        for (long i = 0; i < n; i++) {
            s[i] ^= 0x10;
            spit(bad, s, n);
            if (read_trace(bad, NULL) >= 0) {
                accepted++;
                gz = gzopen(bad, "rb");
                if (gzread(gz, other, 1 << 16) != m || memcmp(plain, other, m) != 0) wrong++;
                gzclose(gz);
            } else {
                harmful++;
            }
            s[i] ^= 0x10;
        }
        CHECK(wrong == 0, "gzip: no byte flip is accepted with changed data (%ld of %ld accepted, %ld changed)",
              accepted, n, wrong);
        CHECK(harmful > n * 9 / 10, "gzip: %ld of %ld byte flips are detected", harmful, n);
        free(plain);
        free(other);
    }
    free(s);
    mz_trace_info_free(&t);
}

static void write_bytes(const char *path, const char *s, size_t n) { spit(path, s, (long)n); }

static void test_versions_and_kinds(void)
{
    mz_trace_info t;
    const char *p = tmp_path(0, "v.mz"), *q = tmp_path(1, "v2.mz");
    long n;
    char *s;
    mz_reader *r;
    make_info(&t, 64, 4, 3, 0);
    write_trace(&t, p, 0, 0, 3);
    s = slurp(p, &n);
    s[3] = 2;
    write_bytes(q, s, n);
    CHECK(mz_reader_open(q, 0) == NULL && errmsg_has("format version 2 is not supported"),
          "binary major 2 is refused (%s)", mz_errmsg());
    s[3] = 1;
    s[2] = 'S';
    write_bytes(q, s, n);
    CHECK(mz_reader_open(q, 0) == NULL && errmsg_has("magic"), "magic kind 'S' with KD:trace is refused (%s)",
          mz_errmsg());
    free(s);
    write_trace(&t, p, 1, 0, 3);
    s = slurp(p, &n);
    s[7] = '2'; /* "@HD\tVN:1.0" -> "VN:2.0" */
    write_bytes(q, s, n);
    CHECK(mz_reader_open(q, 0) == NULL && errmsg_has("format version 2 is not supported"),
          "text @HD VN:2.0 is refused (%s)", mz_errmsg());
    s[7] = '1';
    s[9] = '7'; /* a newer minor version is read */
    write_bytes(q, s, n);
    r = mz_reader_open(q, 0);
    CHECK(r != NULL, "text @HD VN:1.7 (a newer minor version) is read");
    mz_reader_close(r);
    free(s);
    write_bytes(q, "@HD\tVN:1.0\tKD:bogus\n@EOF\t0\n", 27); /* 'schedule' is known since mz-sched */
    CHECK(mz_reader_open(q, 0) == NULL && errmsg_has("unknown stream kind"), "an unknown KD is refused");
    write_bytes(q, "@HD\tKD:trace\n@EOF\t0\n", 20);
    CHECK(mz_reader_open(q, 0) == NULL && errmsg_has("VN"), "a header without VN is refused");
    write_bytes(q, "hello\n", 6);
    CHECK(mz_reader_open(q, 0) == NULL && errmsg_has("not an mz stream"), "other data is not an mz stream");
    write_bytes(q, "", 0);
    CHECK(mz_reader_open(q, 0) == NULL && errmsg_has("empty input"), "an empty file is 'empty input'");
    CHECK(mz_reader_open(tmp_path(1, "missing"), 0) == NULL && errmsg_has("No such file"),
          "a missing file is named (%s)", mz_errmsg());
    mz_trace_info_free(&t);
}

/* Records out of order or repeated are refused by the typed reader. */
static void test_trace_order(void)
{
    const char *p = tmp_path(0, "order.txt");
    const char *hdr = "@HD\tVN:1.0\tKD:trace\n"
                      "@MD\tname:x\tlayers:1\tmoe:0\texperts:4\tshared:0\ttopk:2\thidden:8\tffn:8"
                      "\tshared_ffn:0\tdense_ffn:0\theads:1\tkv_heads:1\thead_dim:8\tvocab:10\tgroups:1"
                      "\ttopk_groups:1\tgated:1\n"
                      "@TR\tsteps:2\tseqs:2\tseq_len:2\tlayers:0\tweights:0\n";
    mz_buf b = {0};
    long n;
    mz_buf_printf(&b, "%s0\t0\t0\t1,2\n0\t1\t0\t1,3\n0\t0\t1\t0,1\n@EOF\t3\n", hdr);
    write_bytes(p, b.s, b.n);
    {
        mz_trace_reader tr;
        int ret = 0;
        n = 0;
        if (mz_trace_open(&tr, p) == 0) {
            while ((ret = mz_trace_next(&tr)) > 0) n++;
            mz_trace_close(&tr);
        }
        CHECK(ret < 0 && n == 2 && errmsg_has("line 6") && errmsg_has("ordered"),
              "a token out of order is refused at its line (%s)", mz_errmsg());
    }
    b.n = 0;
    mz_buf_printf(&b, "%s0\t0\t0\t1,2\n0\t0\t0\t1,3\n@EOF\t2\n", hdr);
    write_bytes(p, b.s, b.n);
    {
        mz_trace_reader tr;
        int ret = 0;
        if (mz_trace_open(&tr, p) == 0) {
            while ((ret = mz_trace_next(&tr)) > 0) {
            }
            mz_trace_close(&tr);
        }
        CHECK(ret < 0 && errmsg_has("appears twice"), "a repeated token is refused (%s)", mz_errmsg());
    }
    {
        const char *bad[][2] = {
            {"0\t0\t0\t1,2,3\n", "expected 2 comma-separated"},
            {"0\t0\t0\t1\n", "expected 2 comma-separated"},
            {"0\t0\t0\t1,2\t3\n", "tab-separated"},
            {"0\t0\t0\t1,x\n", "not a number"},
            {"0\t0\t0\t1,-2\n", "not a number"},
            {"0\t0\t0\t1,4\n", "out of range"},
            {"0\t0\t0\t2,2\n", "selected twice"},
            {"0\t0\t0\t1:0.5,2:0.5\n", "no gate weights"},
            {"0\t0\t9\t1,2\n", "outside the trace geometry"},
            {"0\t0\t0\t1,2\n@EOF\t5\n", "@EOF counts 5"},
            {"0\t0\t0\t1,2\n@EOF\tx\n", "@EOF count"},
            {"0\t0\t0\t1,2\n@CO\tlate\n", "header line after the records"},
            {"0\t0\t0\t1,2\n@EOF\t1\nmore\n", "after the end marker"},
            {"0\t0\t0\t1,2\n@EOF\t1", "no newline"},
        };
        for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
            mz_reader *r;
            const uint8_t *rec;
            size_t len;
            int ret = -2;
            b.n = 0;
            mz_buf_printf(&b, "%s%s", hdr, bad[i][0]);
            if (!strstr(bad[i][0], "@EOF")) mz_buf_puts(&b, "@EOF\t1\n");
            write_bytes(p, b.s, b.n);
            if ((r = mz_reader_open(p, MZ_KIND_TRACE)) != NULL) {
                while ((ret = mz_reader_next(r, &rec, &len)) > 0) {
                }
                mz_reader_close(r);
            }
            CHECK(ret < 0 && errmsg_has(bad[i][1]) && errmsg_has("order.txt"),
                  "text record '%.*s' refused: %s", (int)strcspn(bad[i][0], "\n"), bad[i][0], mz_errmsg());
        }
    }
    mz_buf_free(&b);
}

/* ---------------------------------------------------------------- files */
static void test_io(void)
{
    const char *p = tmp_path(0, "lines.txt");
    mz_in *in;
    mz_out *out;
    char *line;
    long n;
    write_bytes(p, "a\r\nbb\n\nccc", 10);
    in = mz_in_open(p);
    CHECK(in && !mz_in_is_gzip(in), "open a plain file");
    CHECK(mz_in_getline(in, &line) == 1 && strcmp(line, "a") == 0, "line 1 without CR LF");
    CHECK(mz_in_getline(in, &line) == 2 && strcmp(line, "bb") == 0, "line 2");
    CHECK(mz_in_getline(in, &line) == 0 && line[0] == '\0', "an empty line 3");
    CHECK(mz_in_getline(in, &line) < 0 && mz_in_failed(in) && errmsg_has("line 4: truncated"),
          "a last line without newline is an error (%s)", mz_errmsg());
    mz_in_close(in);

    /* gzip input is sniffed by content, not by name */
    {
        gzFile gz = gzopen(p, "wb");
        gzputs(gz, "x\ny\n");
        gzclose(gz);
    }
    in = mz_in_open(p);
    CHECK(in && mz_in_is_gzip(in), "a gzip file named .txt is read as gzip");
    CHECK(mz_in_getline(in, &line) == 1 && line[0] == 'x' && mz_in_getline(in, &line) == 1 &&
              line[0] == 'y' && mz_in_getline(in, &line) < 0 && !mz_in_failed(in),
          "two lines, then a clean end");
    CHECK(mz_in_lineno(in) == 2 && mz_in_offset(in) == 4, "2 lines, 4 bytes consumed");
    CHECK(mz_in_close(in) == 0, "close");

    /* mz_out: atomic, nothing left behind by an abort */
    p = tmp_path(0, "out.txt");
    unlink(p);
    out = mz_out_open(p, 0);
    mz_out_puts(out, "half");
    mz_out_abort(out);
    CHECK(file_size(p) < 0, "an aborted output leaves no file");
    out = mz_out_open(p, 0);
    mz_out_printf(out, "%s %d\n", "whole", 1);
    CHECK(file_size(p) < 0, "the file appears only at close");
    CHECK(mz_out_close(out) == 0 && file_size(p) == 8, "closed: 8 bytes in place");
    {
        char *s = slurp(p, &n);
        CHECK(n == 8 && memcmp(s, "whole 1\n", 8) == 0, "with the right bytes");
        free(s);
    }
    {
        /* a big printf goes through the heap path */
        char big[5000];
        memset(big, 'z', sizeof big - 1);
        big[sizeof big - 1] = '\0';
        out = mz_out_open(p, 3);
        mz_out_printf(out, "%s\n", big);
        CHECK(mz_out_close(out) == 0, "gzip output closed");
        in = mz_in_open(p);
        CHECK(in && mz_in_is_gzip(in) && mz_in_getline(in, &line) == 4999 && line[4998] == 'z',
              "a 4999-byte printf line reads back through gzip");
        mz_in_close(in);
    }
    out = mz_out_open("/dev/full", 0);
    CHECK(out != NULL, "open /dev/full");
    mz_out_puts(out, "x");
    CHECK(mz_out_close(out) < 0 && errmsg_has("No space left"), "closing /dev/full fails (%s)", mz_errmsg());
    CHECK(mz_out_open(tmp_path(0, "no/such/dir"), 0) == NULL, "opening in a missing directory fails");
    {
        /* no temporary files are left in the directory */
        char cmd[512];
        snprintf(cmd, sizeof cmd, "ls %s | grep -q '\\.tmp\\.'", tmpdir);
        CHECK(system(cmd) != 0, "no .tmp. files left behind");
    }
}

static void test_misc(void)
{
    char s[] = "a\tb\t\tc", *f[4];
    mz_buf b = {0};
    CHECK(mz_split(s, '\t', f, 4) == 4 && strcmp(f[0], "a") == 0 && f[2][0] == '\0' && strcmp(f[3], "c") == 0,
          "split into 4 fields, one empty");
    {
        char t[] = "a,b,c", *g[2];
        CHECK(mz_split(t, ',', g, 2) < 0, "split reports too many fields");
    }
    for (int i = 0; i < 1000; i++) mz_buf_printf(&b, "%d,", i);
    CHECK(b.n == 3890 && strncmp(b.s, "0,1,2,", 6) == 0 && b.s[b.n] == '\0', "mz_buf grows and stays NUL-ended");
    mz_buf_free(&b);
}

/* mz_view_run: mz-view's count, selection and order check on a small trace. */
static void test_view_run(void)
{
    const char *in = tmp_path(0, "view.txt"), *out = tmp_path(1, "view.out"), *sel = tmp_path(2, "view-sel.txt");
    const char *hdr = "@HD\tVN:1.0\tKD:trace\n"
                      "@MD\tname:x\tlayers:2\tmoe:0-1\texperts:4\tshared:0\ttopk:2\thidden:8\tffn:8"
                      "\tshared_ffn:0\tdense_ffn:0\theads:1\tkv_heads:1\thead_dim:8\tvocab:10\tgroups:1"
                      "\ttopk_groups:1\tgated:1\n"
                      "@TR\tsteps:2\tseqs:1\tseq_len:2\tlayers:0,1\tweights:0\n";
    char *argv[] = {"mz-view", "-t", "-n", "1", "-l", "1", NULL};
    mz_view_opts o;
    mz_buf b = {0};
    FILE *fp;
    char line[256] = "";
    mz_buf_printf(&b, "%s0\t0\t0\t1,2\t0,3\n0\t0\t1\t1,3\t2,3\n1\t0\t0\t0,2\t1,2\n@EOF\t3\n", hdr);
    write_bytes(in, b.s, b.n);
    mz_view_opts_init(&o);
    CHECK(!strcmp(o.prog, "mz-view") && o.level == 1 && !o.count_only && !o.steps, "mz_view_opts_init: a summary");
    o.count_only = o.text = 1;
    CHECK(mz_view_check(&o, 1) < 0 && errmsg_has("exclude each other"), "-c with -t (%s)", mz_errmsg());
    o.text = 0;
    CHECK(mz_view_check(&o, 2) < 0 && errmsg_has("one input"), "two inputs (%s)", mz_errmsg());
    CHECK(mz_view_check(&o, 1) == 0 && mz_view_run(&o, in, out) == 0, "a count (%s)", mz_errmsg());
    if ((fp = fopen(out, "r"))) {
        if (!fgets(line, sizeof line, fp)) line[0] = 0;
        fclose(fp);
    }
    CHECK(!strcmp(line, "3\n"), "three records (got '%s')", line);
    o.steps = "1";
    CHECK(mz_view_run(&o, in, out) == 0 && (fp = fopen(out, "r")) && fgets(line, sizeof line, fp) &&
              !strcmp(line, "1\n"), "step 1 alone: one record");
    if (fp) fclose(fp), fp = NULL;
    o.count_only = 0, o.text = 1, o.layers = "1", o.argc = 6, o.argv = argv;
    CHECK(mz_view_run(&o, in, sel) == 0, "a selection (%s)", mz_errmsg());
    b.n = 0;
    if ((fp = fopen(sel, "r"))) {
        while (fgets(line, sizeof line, fp)) mz_buf_puts(&b, line);
        fclose(fp);
    }
    CHECK(b.s && strstr(b.s, "layers:1\t") && strstr(b.s, "PN:mz-view") && strstr(b.s, "\n1\t0\t0\t1,2\n@EOF\t1\n"),
          "layer 1 of step 1, the header cut to it, @PG added (%s)", b.s ? b.s : "");
    o.layers = "3";
    CHECK(mz_view_run(&o, in, out) < 0 && errmsg_has("--layers"), "a layer out of the model (%s)", mz_errmsg());

    /* a token out of order: -1 naming its line, no output left */
    remove(out);
    b.n = 0;
    mz_buf_printf(&b, "%s0\t0\t1\t1,2\t0,3\n0\t0\t0\t1,3\t2,3\n@EOF\t2\n", hdr);
    write_bytes(in, b.s, b.n);
    o.text = 0, o.layers = o.steps = NULL;
    CHECK(mz_view_run(&o, in, out) < 0 && errmsg_has("line 5") && errmsg_has("comes after"),
          "out of order, its line named (%s)", mz_errmsg());
    CHECK(access(out, F_OK) < 0, "no summary left");
    mz_buf_free(&b);
}

int main(void)
{
    if (!mkdtemp(tmpdir)) {
        perror("mkdtemp");
        return 1;
    }
    test_parse_numbers();
    test_ranges();
    test_format_float();
    test_header();
    test_records(64, 0);
    test_records(64, 1);
    test_records(256, 0);
    test_records(300, 1);
    test_info_header();
    test_stream_round_trips();
    test_conversions();
    test_truncation();
    test_bit_flips();
    test_versions_and_kinds();
    test_trace_order();
    test_view_run();
    test_io();
    test_misc();
    {
        char cmd[300];
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
        if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", tmpdir);
    }
    return unit_done();
}
