/* trace.c: routing trace records (one per token), their binary and text forms, and the trace reader. */
#include <stdlib.h>
#include <string.h>

#include "trace.h"

/* Room for a list of layer numbers as ranges ("0-3,7"): at most 4096
 * layers, so 4096 numbers of up to 4 digits, each with a separator. */
#define RANGES_MAX (4096 * 5 + 1)

int mz_trace_info_from_header(const mz_header *h, mz_trace_info *t)
{
    int i;
    long v;
    char buf[RANGES_MAX + 1];
    memset(t, 0, sizeof *t);
    if (mz_model_from_header(h, &t->model) < 0) return -1;
    if ((i = mz_header_find(h, "@TR", 0)) < 0) {
        mz_error("header has no @TR (trace geometry) line");
        goto fail;
    }
    if (mz_header_long(h, i, "steps", 1, 1L << 30, &v) < 0) goto fail;
    t->steps = (int)v;
    if (mz_header_long(h, i, "seqs", 1, 1L << 30, &v) < 0) goto fail;
    t->seqs = (int)v;
    if (mz_header_long(h, i, "seq_len", 1, 1L << 30, &v) < 0) goto fail;
    t->seq_len = (int)v;
    if (mz_header_long(h, i, "weights", 0, 1, &v) < 0) goto fail;
    t->weights = (int)v;
    if (!mz_header_value(h, i, "layers", buf, sizeof buf)) {
        mz_error("header @TR layers: missing");
        goto fail;
    }
    if (strlen(buf) >= RANGES_MAX) {
        mz_error("header @TR layers: too long for a list of at most 4096 layers");
        goto fail;
    }
    if ((t->n_layers = mz_parse_ranges(buf, 0, t->model.layers - 1, "header @TR layers", &t->layers)) < 0)
        goto fail;
    for (int k = 0; k < t->n_layers; k++)
        if (!t->model.moe[t->layers[k]]) {
            mz_error("header @TR layers: layer %d is not an MoE layer of %s", t->layers[k], t->model.name);
            goto fail;
        }
    t->id_bytes = t->model.experts <= 256 ? 1 : 2;
    if (mz_trace_record_size(t) > MZ_MAX_RECORD) {
        /* no reader takes such a record: refuse before allocating tokens */
        mz_error("header @TR: a token of %d layers x top-%d takes %zu bytes, more than a record may (%u)",
                 t->n_layers, t->model.topk, mz_trace_record_size(t), MZ_MAX_RECORD);
        goto fail;
    }
    return 0;
fail:
    mz_trace_info_free(t);
    return -1;
}

void mz_trace_info_to_header(const mz_trace_info *t, mz_header *h)
{
    char ranges[RANGES_MAX];
    mz_model_to_header(&t->model, h);
    mz_header_remove(h, "@TR");
    mz_header_add(h, "@TR\tsteps:%d\tseqs:%d\tseq_len:%d\tlayers:%s\tweights:%d", t->steps, t->seqs,
                  t->seq_len, mz_format_ranges(t->layers, t->n_layers, ranges, sizeof ranges),
                  t->weights);
}

void mz_trace_info_free(mz_trace_info *t)
{
    mz_model_free(&t->model);
    free(t->layers);
    t->layers = NULL;
}

size_t mz_trace_record_size(const mz_trace_info *t)
{
    size_t n = (size_t)t->n_layers * t->model.topk;
    return 12 + n * t->id_bytes + (t->weights ? 4 * n : 0);
}

void mz_token_alloc(const mz_trace_info *t, mz_token *tok)
{
    size_t n = (size_t)t->n_layers * t->model.topk;
    memset(tok, 0, sizeof *tok);
    tok->ids = mz_calloc(n, sizeof *tok->ids);
    tok->w = t->weights ? mz_calloc(n, sizeof *tok->w) : NULL;
}

void mz_token_free(mz_token *tok)
{
    free(tok->ids);
    free(tok->w);
    tok->ids = NULL;
    tok->w = NULL;
}

/* The token's step, sequence and position within the trace geometry. */
static int check_geometry(const mz_trace_info *t, const mz_token *tok)
{
    if (tok->step >= (uint32_t)t->steps || tok->seq >= (uint32_t)t->seqs ||
        tok->tok >= (uint32_t)t->seq_len) {
        mz_error("token %u/%u/%u outside the trace geometry (steps %d, seqs %d, seq_len %d)",
                 tok->step, tok->seq, tok->tok, t->steps, t->seqs, t->seq_len);
        return -1;
    }
    return 0;
}

/* A quick test of one-byte ids, 8 (one 64-bit word) per layer: 1 if every
 * layer's ids are surely in range and distinct, 0 if unsure (check_ids
 * then decides and names the fault). A byte equals the one r places on iff
 * the word xor itself rotated by r bytes has a zero byte; rotations by 1-4
 * bytes pair every two of the 8. Used for top-8 models of up to 128 or of
 * 256 experts (most of the catalogue); the exact check remains for others. */
#define ONES 0x0101010101010101ull
#define HIGHS 0x8080808080808080ull
static int ids8_plainly_valid(const mz_trace_info *t, const uint8_t *p)
{
    int E = t->model.experts;
    uint64_t bad = 0, over = E < 256 ? ONES * (uint64_t)(127 - (E - 1)) : 0;
    for (int l = 0; l < t->n_layers; l++, p += 8) {
        uint64_t x = (uint64_t)mz_get_u32(p) | (uint64_t)mz_get_u32(p + 4) << 32;
        for (int r = 8; r <= 32; r += 8) {
            uint64_t y = x ^ (x >> r | x << (64 - r));
            bad |= (y - ONES) & ~y & HIGHS;
        }
        /* a byte above E - 1 (E <= 128): it or its sum with 127 - (E - 1) has the high bit */
        if (E < 256) bad |= ((x + over) | x) & HIGHS;
    }
    return bad == 0;
}

/* Check ids of one token: in range and no expert twice within a layer.
 * seen[e] holds the tag of the last layer that chose expert e, so a repeat
 * is found in one step per id instead of k(k-1)/2 comparisons (this runs
 * for every token every reader reads), and distinct ids touch distinct
 * bytes: no chain of loads and stores through one word. */
static int check_ids(const mz_trace_info *t, const mz_token *tok)
{
    int k = t->model.topk, E = t->model.experts;
    uint8_t seen[65536];
    unsigned tag = 0;
    memset(seen, 0, E);
    for (int l = 0; l < t->n_layers; l++) {
        const uint16_t *id = tok->ids + (size_t)l * k;
        if (++tag == 256) {
            memset(seen, 0, E);
            tag = 1;
        }
        for (int a = 0; a < k; a++) {
            unsigned e = id[a];
            if (e >= (unsigned)E) {
                mz_error("token %u/%u/%u layer %d: expert id %u out of range (model has %d experts)",
                         tok->step, tok->seq, tok->tok, t->layers[l], e, E);
                return -1;
            }
            if (seen[e] == tag) {
                mz_error("token %u/%u/%u layer %d: expert %u selected twice", tok->step, tok->seq,
                         tok->tok, t->layers[l], e);
                return -1;
            }
            seen[e] = (uint8_t)tag;
        }
    }
    return check_geometry(t, tok);
}

/* One-byte ids to 16 bits. On a little-endian machine four at a time:
 * the bytes of a 32-bit word spread to the 16-bit lanes of a 64-bit one,
 * one store for four ids (the plain loop stores each and is not
 * vectorised at -O2). */
static void widen_ids(uint16_t *dst, const uint8_t *src, size_t n)
{
    size_t i = 0;
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    for (; i + 4 <= n; i += 4) {
        uint64_t y = mz_get_u32(src + i);
        y = (y | y << 16) & 0x0000ffff0000ffffull;
        y = (y | y << 8) & 0x00ff00ff00ff00ffull;
        memcpy(dst + i, &y, 8);
    }
#endif
    for (; i < n; i++) dst[i] = src[i];
}

int mz_token_decode(const mz_trace_info *t, const uint8_t *rec, size_t len, mz_token *tok)
{
    size_t n = (size_t)t->n_layers * t->model.topk;
    const uint8_t *p = rec + 12;
    if (len != mz_trace_record_size(t)) {
        mz_error("corrupt trace record: %zu bytes, expected %zu", len, mz_trace_record_size(t));
        return -1;
    }
    tok->step = mz_get_u32(rec);
    tok->seq = mz_get_u32(rec + 4);
    tok->tok = mz_get_u32(rec + 8);
    int quick = 0;
    if (t->id_bytes == 1) {
        quick = t->model.topk == 8 && (t->model.experts <= 128 || t->model.experts == 256) &&
                ids8_plainly_valid(t, p);
        widen_ids(tok->ids, p, n);
    } else {
        for (size_t i = 0; i < n; i++) tok->ids[i] = (uint16_t)(p[2 * i] | p[2 * i + 1] << 8);
    }
    p += n * t->id_bytes;
    if (t->weights)
        for (size_t i = 0; i < n; i++) {
            uint32_t u = mz_get_u32(p + 4 * i);
            memcpy(&tok->w[i], &u, 4);
        }
    return quick ? check_geometry(t, tok) : check_ids(t, tok);
}

void mz_token_encode(const mz_trace_info *t, const mz_token *tok, uint8_t *rec)
{
    size_t n = (size_t)t->n_layers * t->model.topk;
    uint8_t *p = rec + 12;
    mz_put_u32(rec, tok->step);
    mz_put_u32(rec + 4, tok->seq);
    mz_put_u32(rec + 8, tok->tok);
    if (t->id_bytes == 1)
        for (size_t i = 0; i < n; i++) p[i] = (uint8_t)tok->ids[i];
    else
        for (size_t i = 0; i < n; i++) p[2 * i] = (uint8_t)tok->ids[i], p[2 * i + 1] = tok->ids[i] >> 8;
    p += n * t->id_bytes;
    if (t->weights)
        for (size_t i = 0; i < n; i++) {
            uint32_t u;
            memcpy(&u, &tok->w[i], 4);
            mz_put_u32(p + 4 * i, u);
        }
}

/* ---- codec: text line "step seq tok" then one field per traced layer,
 * "id,id,..." or, with weights, "id:w,id:w,...". */
typedef struct {
    mz_trace_info t;
    mz_token tok;
} trace_ctx;

static void *trace_init(const mz_header *h)
{
    trace_ctx *c = mz_calloc(1, sizeof *c);
    if (mz_trace_info_from_header(h, &c->t) < 0) {
        free(c);
        return NULL;
    }
    mz_token_alloc(&c->t, &c->tok);
    return c;
}

static void trace_done(void *ctx)
{
    trace_ctx *c = ctx;
    mz_token_free(&c->tok);
    mz_trace_info_free(&c->t);
    free(c);
}

static int trace_to_text(void *ctx, const uint8_t *rec, size_t len, mz_buf *line)
{
    trace_ctx *c = ctx;
    int k = c->t.model.topk;
    char num[32];
    if (mz_token_decode(&c->t, rec, len, &c->tok) < 0) return -1;
    mz_buf_printf(line, "%u\t%u\t%u", c->tok.step, c->tok.seq, c->tok.tok);
    for (int l = 0; l < c->t.n_layers; l++) {
        mz_buf_put(line, "\t", 1);
        for (int j = 0; j < k; j++) {
            size_t i = (size_t)l * k + j;
            int n = snprintf(num, sizeof num, "%s%u", j ? "," : "", c->tok.ids[i]);
            mz_buf_put(line, num, n);
            if (c->t.weights) {
                mz_buf_put(line, ":", 1);
                n = mz_format_float(num, sizeof num, c->tok.w[i]);
                mz_buf_put(line, num, n);
            }
        }
    }
    return 0;
}

/* Parse a whole field as an unsigned decimal no larger than max. */
static int parse_uint(const char *s, unsigned long max, const char *what, unsigned long *out)
{
    unsigned long v = 0;
    const char *p = s;
    if (*p < '0' || *p > '9') {
        mz_error("%s: '%.20s' is not a number", what, s);
        return -1;
    }
    for (; *p >= '0' && *p <= '9'; p++)
        if ((v = v * 10 + (*p - '0')) > max) {
            mz_error("%s: %.20s is too large", what, s);
            return -1;
        }
    if (*p) {
        mz_error("%s: '%.20s' is not a number", what, s);
        return -1;
    }
    *out = v;
    return 0;
}

static int trace_from_text(void *ctx, char *line, mz_buf *out)
{
    trace_ctx *c = ctx;
    int k = c->t.model.topk, nf = 3 + c->t.n_layers;
    char **field = mz_malloc((nf + 1) * sizeof *field), **item = mz_malloc((k + 1) * sizeof *item);
    const char *names[3] = {"step", "sequence", "token"};
    unsigned long v[3];
    int ret = -1;
    if (mz_split(line, '\t', field, nf + 1) != nf) {
        mz_error("expected %d tab-separated fields (step, sequence, token and %d layers)", nf,
                 c->t.n_layers);
        goto done;
    }
    for (int i = 0; i < 3; i++)
        if (parse_uint(field[i], 0xffffffffUL, names[i], &v[i]) < 0) goto done;
    c->tok.step = v[0], c->tok.seq = v[1], c->tok.tok = v[2];
    for (int l = 0; l < c->t.n_layers; l++) {
        char what[64];
        snprintf(what, sizeof what, "layer %d", c->t.layers[l]);
        if (mz_split(field[3 + l], ',', item, k + 1) != k) {
            mz_error("%s: expected %d comma-separated expert ids", what, k);
            goto done;
        }
        for (int j = 0; j < k; j++) {
            size_t i = (size_t)l * k + j;
            char *colon = strchr(item[j], ':');
            unsigned long id;
            if ((colon != NULL) != (c->t.weights != 0)) {
                mz_error("%s: '%s': %s", what, item[j],
                         c->t.weights ? "expected id:weight" : "no gate weights in this trace");
                goto done;
            }
            if (colon) *colon = '\0';
            if (parse_uint(item[j], 65535, what, &id) < 0) goto done;
            c->tok.ids[i] = (uint16_t)id;
            if (colon) {
                char *end;
                c->tok.w[i] = strtof(colon + 1, &end);
                if (end == colon + 1 || *end) {
                    mz_error("%s: bad gate weight '%s'", what, colon + 1);
                    goto done;
                }
            }
        }
    }
    if (check_ids(&c->t, &c->tok) < 0) goto done;
    out->n = 0;
    mz_buf_reserve(out, mz_trace_record_size(&c->t));
    mz_token_encode(&c->t, &c->tok, (uint8_t *)out->s);
    out->n = mz_trace_record_size(&c->t);
    ret = 0;
done:
    free(field);
    free(item);
    return ret;
}

const mz_codec mz_trace_codec = {MZ_KIND_TRACE, "trace", trace_init, trace_done, trace_to_text,
                                 trace_from_text};

/* ---- typed reader */
int mz_token_check_order(uint32_t last[3], int *have_last, const mz_token *tok)
{
    uint32_t cur[3] = {tok->step, tok->seq, tok->tok};
    if (*have_last && memcmp(cur, last, sizeof cur) != 0) {
        int i = 0;
        while (cur[i] == last[i]) i++;
        if (cur[i] < last[i]) {
            mz_error("token %u/%u/%u comes after %u/%u/%u (records must be ordered by step, sequence, token)", cur[0],
                     cur[1], cur[2], last[0], last[1], last[2]);
            return -1;
        }
    } else if (*have_last) {
        mz_error("token %u/%u/%u appears twice", cur[0], cur[1], cur[2]);
        return -1;
    }
    memcpy(last, cur, 3 * sizeof *last);
    *have_last = 1;
    return 0;
}

int mz_trace_open(mz_trace_reader *tr, const char *path)
{
    memset(tr, 0, sizeof *tr);
    if (!(tr->r = mz_reader_open(path, MZ_KIND_TRACE))) return -1;
    if (mz_trace_info_from_header(mz_reader_header(tr->r), &tr->info) < 0) {
        char msg[1024];
        snprintf(msg, sizeof msg, "%s", mz_errmsg());
        mz_reader_close(tr->r); /* may fail too: report the first error */
        mz_error("%s: %s", path, msg);
        tr->r = NULL;
        return -1;
    }
    mz_token_alloc(&tr->info, &tr->tok);
    return 0;
}

int mz_trace_next(mz_trace_reader *tr)
{
    const uint8_t *rec;
    size_t len;
    int ret = mz_reader_next(tr->r, &rec, &len);
    if (ret <= 0) return ret;
    if (mz_token_decode(&tr->info, rec, len, &tr->tok) < 0 || mz_token_check_order(tr->last, &tr->have_last, &tr->tok) < 0)
        goto bad;
    return 1;
bad:
    /* the reader has already counted this record */
    mz_error_prefix("%s", mz_reader_where(tr->r));
    return -1;
}

int mz_trace_rewind(mz_trace_reader *tr)
{
    if (mz_reader_rewind(tr->r) < 0) return -1;
    tr->have_last = 0;
    return 0;
}

int mz_trace_close(mz_trace_reader *tr)
{
    int ret = mz_reader_close(tr->r);
    mz_token_free(&tr->tok);
    mz_trace_info_free(&tr->info);
    tr->r = NULL;
    return ret;
}
