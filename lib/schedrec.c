/* schedrec.c: schedule records (kind 'S'): names, the binary and text codec, and the @SC options line. */
#define _GNU_SOURCE
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "sched.h"

/* ------------------------------------------------------------------ names */
static const char *const kind_names[MZ_OP_NKINDS] = {
    "stat", "root_load", "root_act_load", "att", "dense_ffn", "shared", "att_save", "att_wb",
    "load", "act_load", "dispatch", "expert", "combine", "save", "grad_wb", "embed", "lm_head"};
static const int kind_cat[MZ_OP_NKINDS] = {
    MZ_CAT_NONE, MZ_CAT_DRAM, MZ_CAT_ACT, MZ_CAT_ATT, MZ_CAT_ATT, MZ_CAT_ATT, MZ_CAT_ACT, MZ_CAT_DRAM,
    MZ_CAT_DRAM, MZ_CAT_ACT, MZ_CAT_DISPATCH, MZ_CAT_EXPERT, MZ_CAT_COMBINE, MZ_CAT_ACT, MZ_CAT_DRAM,
    MZ_CAT_DRAM, MZ_CAT_ATT};
static const char *const cat_names[MZ_NCATS] = {
    "none", "att_compute", "expert_compute", "dram_stream", "act_traffic", "a2a_dispatch", "a2a_combine"};
static const char *const term_names[MZ_Q_NTYPES] = {
    "root_flop", "chip_flop", "root_read", "root_write", "mem_read", "mem_write", "a2a_chip", "a2a_group",
    "root_tokens", "root_ctx", "chip_tokens", "chip_experts", "chip_shared",
    "tokens", "copies", "group_copies", "foot_weights", "foot_grads", "foot_state", "foot_acts"};

const char *mz_op_kind_name(int k) { return k >= 0 && k < MZ_OP_NKINDS ? kind_names[k] : "?"; }
const char *mz_op_cat_name(int c) { return c >= 0 && c < MZ_NCATS ? cat_names[c] : "?"; }
const char *mz_term_name(int t) { return t >= 0 && t < MZ_Q_NTYPES ? term_names[t] : "?"; }
int mz_op_cat_of(int k) { return k >= 0 && k < MZ_OP_NKINDS ? kind_cat[k] : -1; }

static int lookup(const char *const *names, int n, const char *s)
{
    for (int i = 0; i < n; i++)
        if (strcmp(names[i], s) == 0) return i;
    return -1;
}

/* ------------------------------------------------------------------ binary records
 * varint step, varint id, u8 kind, u8 cat, u8 dir, varint layer, varint mb,
 * varint slice+1 (0: whole), varint phase, varint nterms, terms (u8 type,
 * varint index, quantity), varint ndeps, deps (varint id - dep >= 1). A
 * quantity is a varint when it is a whole number below 2^53 (type | 0x80),
 * else the 8 bytes of an IEEE-754 double, little-endian. */
static int get_varint(const uint8_t **p, const uint8_t *end, uint64_t *v)
{
    uint64_t x = 0;
    for (int shift = 0; shift < 64; shift += 7) {
        if (*p >= end) return -1;
        uint8_t c = *(*p)++;
        x |= (uint64_t)(c & 0x7f) << shift;
        if (!(c & 0x80)) {
            *v = x;
            return 0;
        }
    }
    return -1;
}

/* Append varint v at p; returns the end. */
static uint8_t *varint_at(uint8_t *p, uint64_t v)
{
    do {
        *p++ = (uint8_t)((v & 0x7f) | (v > 0x7f ? 0x80 : 0));
        v >>= 7;
    } while (v);
    return p;
}

/* Room is reserved once for the largest encoding (a varint takes at most
 * 10 bytes) and the bytes written in place: a schedule has millions of ops. */
void mz_op_encode(const mz_op *op, mz_buf *b)
{
    uint8_t *p, *start;
    mz_buf_reserve(b, 3 + 10 * 7 + (size_t)op->nterms * 19 + (size_t)op->ndeps * 10);
    p = start = (uint8_t *)b->s + b->n;
    p = varint_at(p, op->step);
    p = varint_at(p, op->id);
    *p++ = (uint8_t)op->kind, *p++ = (uint8_t)op->cat, *p++ = (uint8_t)op->dir;
    p = varint_at(p, (uint64_t)op->layer);
    p = varint_at(p, (uint64_t)op->mb);
    p = varint_at(p, (uint64_t)(op->slice + 1));
    p = varint_at(p, op->phase);
    p = varint_at(p, (uint64_t)op->nterms);
    for (int i = 0; i < op->nterms; i++) {
        double x = op->term[i].q;
        uint64_t u;
        /* whole numbers below 2^53 (most counts of bytes and FLOPs) as varints */
        int whole = x >= 0 && x < 9007199254740992.0 && x == floor(x);
        *p++ = (uint8_t)op->term[i].type | (whole ? 0x80 : 0);
        p = varint_at(p, (uint64_t)op->term[i].index);
        if (whole) {
            p = varint_at(p, (uint64_t)x);
            continue;
        }
        memcpy(&u, &x, 8);
        for (int j = 0; j < 8; j++) *p++ = (uint8_t)(u >> (8 * j));
    }
    p = varint_at(p, (uint64_t)op->ndeps);
    for (int i = 0; i < op->ndeps; i++) p = varint_at(p, (uint64_t)(op->id - op->dep[i]));
    b->n += (size_t)(p - start);
    b->s[b->n] = '\0';
}

void mz_op_reserve(mz_op *op, int terms, int deps)
{
    if (terms > op->term_cap) {
        op->term_cap = terms * 2;
        op->term = mz_realloc(op->term, op->term_cap * sizeof *op->term);
    }
    if (deps > op->dep_cap) {
        op->dep_cap = deps * 2;
        op->dep = mz_realloc(op->dep, op->dep_cap * sizeof *op->dep);
    }
}

void mz_op_free(mz_op *op)
{
    free(op->term);
    free(op->dep);
    memset(op, 0, sizeof *op);
}

/* Checks shared by both decoders: the fields' ranges and the deps' order. */
static int op_check(const mz_op *op)
{
    if (op->kind < 0 || op->kind >= MZ_OP_NKINDS) {
        mz_error("op %u: unknown op kind %d", op->id, op->kind);
        return -1;
    }
    if (op->cat != kind_cat[op->kind]) {
        mz_error("op %u: category %s does not go with op kind %s", op->id, mz_op_cat_name(op->cat),
                 kind_names[op->kind]);
        return -1;
    }
    if (op->dir < 0 || op->dir > 1) {
        mz_error("op %u: direction %d is not 0 (fwd) or 1 (bwd)", op->id, op->dir);
        return -1;
    }
    for (int i = 0; i < op->nterms; i++) {
        if (op->term[i].type < 0 || op->term[i].type >= MZ_Q_NTYPES) {
            mz_error("op %u: unknown term type %d", op->id, op->term[i].type);
            return -1;
        }
        if (!(op->term[i].q >= 0) || isinf(op->term[i].q)) {
            mz_error("op %u: term %s: quantity %g is not a finite number >= 0", op->id,
                     term_names[op->term[i].type], op->term[i].q);
            return -1;
        }
    }
    for (int i = 0; i < op->ndeps; i++)
        if (op->dep[i] >= op->id) {
            mz_error("op %u: dependency %u is not an earlier op", op->id, op->dep[i]);
            return -1;
        }
    return 0;
}

int mz_op_decode(const uint8_t *rec, size_t len, mz_op *op)
{
    const uint8_t *p = rec, *end = rec + len;
    uint64_t v[8];
    if (get_varint(&p, end, &v[0]) < 0 || get_varint(&p, end, &v[1]) < 0 || end - p < 3) goto corrupt;
    op->step = (uint32_t)v[0];
    op->id = (uint32_t)v[1];
    if (v[0] > 0xffffffffu || v[1] > 0xffffffffu) goto corrupt;
    op->kind = p[0], op->cat = p[1], op->dir = p[2];
    p += 3;
    for (int i = 0; i < 5; i++)
        if (get_varint(&p, end, &v[i]) < 0 || v[i] > 0x7fffffff) goto corrupt;
    op->layer = (int)v[0], op->mb = (int)v[1], op->slice = (int)v[2] - 1, op->phase = (uint32_t)v[3];
    op->nterms = (int)v[4];
    if (op->nterms > (int)len) goto corrupt;
    mz_op_reserve(op, op->nterms, 0);
    for (int i = 0; i < op->nterms; i++) {
        uint64_t idx, u = 0;
        int whole;
        if (p >= end) goto corrupt;
        whole = *p & 0x80;
        op->term[i].type = *p++ & 0x7f;
        if (get_varint(&p, end, &idx) < 0 || idx > 0xffff) goto corrupt;
        op->term[i].index = (int)idx;
        if (whole) {
            if (get_varint(&p, end, &u) < 0 || u >= 9007199254740992ull) goto corrupt;
            op->term[i].q = (double)u;
            continue;
        }
        if (end - p < 8) goto corrupt;
        for (int j = 0; j < 8; j++) u |= (uint64_t)p[j] << (8 * j);
        memcpy(&op->term[i].q, &u, 8);
        p += 8;
    }
    if (get_varint(&p, end, &v[0]) < 0 || v[0] > len) goto corrupt;
    op->ndeps = (int)v[0];
    mz_op_reserve(op, 0, op->ndeps);
    for (int i = 0; i < op->ndeps; i++) {
        if (get_varint(&p, end, &v[1]) < 0 || v[1] == 0 || v[1] > op->id) goto corrupt;
        op->dep[i] = op->id - (uint32_t)v[1];
    }
    if (p != end) goto corrupt;
    return op_check(op);
corrupt:
    mz_error("corrupt schedule record (%zu bytes)", len);
    return -1;
}

/* ------------------------------------------------------------------ codec (text form)
 * step id kind category layer mb dir slice phase terms deps; terms
 * "type:index=quantity,..." and deps "id,id,...", '-' when empty. */
typedef struct {
    int chiplets, groups, layers;
    mz_op op;
    int have_last;             /* the previous record's step and id */
    uint32_t last_step, last_id;
} sched_ctx;

static void *sched_init(const mz_header *h)
{
    sched_ctx *c = mz_calloc(1, sizeof *c);
    int i = mz_header_find(h, "@PT", 0), j = mz_header_find(h, "@MD", 0);
    long v;
    if (i < 0) {
        mz_error("schedule header has no @PT (placement) line");
        goto fail;
    }
    if (mz_header_long(h, i, "chiplets", 1, 65536, &v) < 0) goto fail;
    c->chiplets = (int)v;
    if (mz_header_long(h, i, "groups", 1, 65536, &v) < 0) goto fail;
    c->groups = (int)v;
    if (j < 0) {
        mz_error("schedule header has no @MD (model) line");
        goto fail;
    }
    if (mz_header_long(h, j, "layers", 1, 4096, &v) < 0) goto fail;
    c->layers = (int)v;
    return c;
fail:
    free(c);
    return NULL;
}

static void sched_done(void *ctx)
{
    sched_ctx *c = ctx;
    mz_op_free(&c->op);
    free(c);
}

/* Ranges that need the header: layer, and chiplet or group indices. */
static int check_ranges(const sched_ctx *c, const mz_op *op)
{
    if (op->layer >= c->layers) {
        mz_error("op %u: layer %d out of range (the model has %d layers)", op->id, op->layer, c->layers);
        return -1;
    }
    for (int i = 0; i < op->nterms; i++) {
        int t = op->term[i].type, n;
        const char *what;
        switch (t) {
        case MZ_Q_A2A_GROUP: n = c->groups, what = "groups"; break;
        case MZ_Q_CHIP_FLOP: case MZ_Q_MEM_READ: case MZ_Q_MEM_WRITE: case MZ_Q_A2A_CHIP:
        case MZ_Q_CHIP_TOKENS: case MZ_Q_CHIP_EXPERTS: case MZ_Q_CHIP_SHARED: n = c->chiplets, what = "chiplets"; break;
        case MZ_Q_FOOT_WEIGHTS: case MZ_Q_FOOT_GRADS: case MZ_Q_FOOT_STATE: case MZ_Q_FOOT_ACTS:
            n = c->groups + c->chiplets + 2, what = "memories"; break;
        default: n = 1, what = "allowed";
        }
        if (op->term[i].index >= n) {
            mz_error("op %u: term %s: index %d out of range (%d %s)", op->id, term_names[t], op->term[i].index,
                     n, what);
            return -1;
        }
    }
    return 0;
}

/* The stream order of mzs(5): steps ascending, op ids 0, 1, ... within a step. */
static int check_order(sched_ctx *c, const mz_op *op)
{
    if (c->have_last && op->step < c->last_step) {
        mz_error("op %u of step %u comes after step %u (records are ordered by step)", op->id, op->step,
                 c->last_step);
        return -1;
    }
    {
        uint32_t want = c->have_last && op->step == c->last_step ? c->last_id + 1 : 0;
        if (op->id != want) {
            mz_error("op %u of step %u: expected op %u (ids count 0, 1, ... within a step)", op->id, op->step, want);
            return -1;
        }
    }
    c->have_last = 1;
    c->last_step = op->step;
    c->last_id = op->id;
    return 0;
}

/* Shortest text that reads back as exactly v. */
static int fmt_double(char *buf, size_t size, double v)
{
    int n = 0;
    for (int prec = 6; prec <= 17; prec++) {
        n = snprintf(buf, size, "%.*g", prec, v);
        if (strtod(buf, NULL) == v) break;
    }
    return n;
}

static int sched_to_text(void *ctx, const uint8_t *rec, size_t len, mz_buf *line)
{
    sched_ctx *c = ctx;
    mz_op *op = &c->op;
    char num[40];
    if (mz_op_decode(rec, len, op) < 0 || check_ranges(c, op) < 0 || check_order(c, op) < 0) return -1;
    mz_buf_printf(line, "%u\t%u\t%s\t%s\t%d\t%d\t%s\t", op->step, op->id, kind_names[op->kind],
                  cat_names[op->cat], op->layer, op->mb, op->dir ? "bwd" : "fwd");
    if (op->slice < 0)
        mz_buf_put(line, "-", 1);
    else
        mz_buf_printf(line, "%d", op->slice);
    mz_buf_printf(line, "\t%u\t", op->phase);
    if (!op->nterms) mz_buf_put(line, "-", 1);
    for (int i = 0; i < op->nterms; i++) {
        fmt_double(num, sizeof num, op->term[i].q);
        mz_buf_printf(line, "%s%s:%d=%s", i ? "," : "", term_names[op->term[i].type], op->term[i].index, num);
    }
    mz_buf_put(line, "\t", 1);
    if (!op->ndeps) mz_buf_put(line, "-", 1);
    for (int i = 0; i < op->ndeps; i++) mz_buf_printf(line, "%s%u", i ? "," : "", op->dep[i]);
    return 0;
}

static int sched_from_text(void *ctx, char *line, mz_buf *out)
{
    sched_ctx *c = ctx;
    mz_op *op = &c->op;
    char *f[12];
    long v;
    static const char *const names[] = {"step", "id", "kind", "category", "layer", "micro-batch",
                                        "direction", "slice", "phase", "terms", "deps"};
    if (mz_split(line, '\t', f, 12) != 11) {
        mz_error("expected 11 tab-separated fields (step id kind category layer mb dir slice phase terms deps)");
        return -1;
    }
    if (mz_parse_long(f[0], 0, 0xffffffffL, names[0], &v) < 0) return -1;
    op->step = (uint32_t)v;
    if (mz_parse_long(f[1], 0, 0xffffffffL, names[1], &v) < 0) return -1;
    op->id = (uint32_t)v;
    if ((op->kind = lookup(kind_names, MZ_OP_NKINDS, f[2])) < 0) {
        mz_error("kind: unknown op kind '%s'", f[2]);
        return -1;
    }
    if ((op->cat = lookup(cat_names, MZ_NCATS, f[3])) < 0) {
        mz_error("category: unknown category '%s'", f[3]);
        return -1;
    }
    if (mz_parse_long(f[4], 0, 0x7fffffff, names[4], &v) < 0) return -1;
    op->layer = (int)v;
    if (mz_parse_long(f[5], 0, 0x7fffffff, names[5], &v) < 0) return -1;
    op->mb = (int)v;
    if (strcmp(f[6], "fwd") == 0)
        op->dir = 0;
    else if (strcmp(f[6], "bwd") == 0)
        op->dir = 1;
    else {
        mz_error("direction: '%s' is not fwd or bwd", f[6]);
        return -1;
    }
    if (strcmp(f[7], "-") == 0)
        op->slice = -1;
    else if (mz_parse_long(f[7], 0, 0x7ffffffe, names[7], &v) < 0)
        return -1;
    else
        op->slice = (int)v;
    if (mz_parse_long(f[8], 0, 0xffffffffL, names[8], &v) < 0) return -1;
    op->phase = (uint32_t)v;
    op->nterms = 0;
    if (strcmp(f[9], "-") != 0) {
        char *p = f[9], *item;
        while ((item = strsep(&p, ",")) != NULL) {
            char *colon = strchr(item, ':'), *eq = colon ? strchr(colon, '=') : NULL;
            int t;
            if (!colon || !eq) {
                mz_error("terms: '%s' is not type:index=quantity", item);
                return -1;
            }
            *colon = *eq = '\0';
            if ((t = lookup(term_names, MZ_Q_NTYPES, item)) < 0) {
                mz_error("terms: unknown term type '%s'", item);
                return -1;
            }
            mz_op_reserve(op, op->nterms + 1, 0);
            op->term[op->nterms].type = t;
            if (mz_parse_long(colon + 1, 0, 0xffff, "term index", &v) < 0) return -1;
            op->term[op->nterms].index = (int)v;
            if (mz_parse_double(eq + 1, 0, 1e300, "term quantity", &op->term[op->nterms].q) < 0) return -1;
            op->nterms++;
        }
    }
    op->ndeps = 0;
    if (strcmp(f[10], "-") != 0) {
        char *p = f[10], *item;
        while ((item = strsep(&p, ",")) != NULL) {
            mz_op_reserve(op, 0, op->ndeps + 1);
            if (mz_parse_long(item, 0, 0xffffffffL, "dependency", &v) < 0) return -1;
            op->dep[op->ndeps++] = (uint32_t)v;
        }
    }
    if (op_check(op) < 0 || check_ranges(c, op) < 0 || check_order(c, op) < 0) return -1;
    out->n = 0;
    mz_op_encode(op, out);
    return 0;
}

const mz_codec mz_sched_codec = {MZ_KIND_SCHED, "schedule", sched_init, sched_done, sched_to_text,
                                 sched_from_text};

/* ------------------------------------------------------------------ options */
static const char *const order_names[] = {"auto", "layer", "mb"};
static const char *const shared_names[] = {"auto", "root", "spread"};
static const char *const optimizer_names[] = {"sgd", "adam"};

const char *mz_sched_order_name(int v) { return v >= 0 && v < 3 ? order_names[v] : "?"; }
const char *mz_sched_shared_name(int v) { return v >= 0 && v < 3 ? shared_names[v] : "?"; }
const char *mz_sched_optimizer_name(int v) { return v >= 0 && v < 2 ? optimizer_names[v] : "?"; }

/* mz-model(7) section 4.4: Adam keeps FP32 master weights and two FP32
 * moments (12 bytes per parameter, read and written at every update);
 * SGD keeps none. */
int mz_sched_state_bytes(const mz_sched_opts *o) { return o->optimizer == MZ_OPT_ADAM ? 12 : 0; }

void mz_sched_opts_default(mz_sched_opts *o)
{
    memset(o, 0, sizeof *o);
    snprintf(o->variant, sizeof o->variant, "baseline");
    o->micro_batches = 4;
    o->slices = 8;
    o->order = MZ_ORDER_AUTO;
    o->prefetch = 0;
    o->load_chunks = 4;
    o->shared_on = MZ_SHARED_AUTO;
    o->optimizer = MZ_OPT_SGD;
    o->bytes = 2;
    o->grad_bytes = 2;
    o->depth_fwd = o->depth_bwd = 1;
}

void mz_sched_opts_to_header(const mz_sched_opts *o, mz_header *h)
{
    mz_header_remove(h, "@SC");
    mz_header_add(h,
                  "@SC\tvariant:%s\toverlap:%d\tdedup:%d\tmicro_batches:%d\tslices:%d\torder:%s\tprefetch:%d\t"
                  "depth_fwd:%d\tdepth_bwd:%d\tsram_bytes:%.17g\troot_sram_bytes:%.17g\tload_chunks:%d\t"
                  "shared_on:%s\toptimizer:%s\tbytes:%d\tgrad_bytes:%d",
                  o->variant, o->overlap, o->dedup, o->micro_batches, o->slices, order_names[o->order], o->prefetch,
                  o->depth_fwd, o->depth_bwd, o->sram_bytes, o->root_sram_bytes, o->load_chunks,
                  shared_names[o->shared_on], optimizer_names[o->optimizer], o->bytes, o->grad_bytes);
}

static int header_enum(const mz_header *h, int i, const char *key, const char *const *names, int n, int *out)
{
    char buf[64];
    if (!mz_header_value(h, i, key, buf, sizeof buf)) {
        mz_error("header @SC %s: missing", key);
        return -1;
    }
    for (int k = 0; k < n; k++)
        if (strcmp(buf, names[k]) == 0) {
            *out = k;
            return 0;
        }
    {
        mz_buf b = {0};
        for (int k = 0; k < n; k++) mz_buf_printf(&b, "%s%s", k ? ", " : "", names[k]);
        mz_error("header @SC %s: '%s' is not one of %s", key, buf, b.s);
        mz_buf_free(&b);
    }
    return -1;
}

int mz_sched_opts_from_header(const mz_header *h, mz_sched_opts *o)
{
    int i = mz_header_find(h, "@SC", 0);
    long v;
    mz_sched_opts_default(o);
    if (i < 0) {
        mz_error("header has no @SC (schedule options) line: not a schedule from mz-sched");
        return -1;
    }
    if (!mz_header_value(h, i, "variant", o->variant, sizeof o->variant)) {
        mz_error("header @SC variant: missing");
        return -1;
    }
    struct {
        const char *key;
        int *dst;
        long lo, hi;
    } f[] = {{"overlap", &o->overlap, 0, 1},          {"dedup", &o->dedup, 0, 1},
             {"micro_batches", &o->micro_batches, 1, 1 << 20}, {"slices", &o->slices, 1, 1 << 20},
             {"prefetch", &o->prefetch, 0, 2},        {"depth_fwd", &o->depth_fwd, 1, 2},
             {"depth_bwd", &o->depth_bwd, 1, 2},      {"load_chunks", &o->load_chunks, 1, 1 << 20},
             {"bytes", &o->bytes, 1, 16},             {"grad_bytes", &o->grad_bytes, 1, 16}};
    for (size_t k = 0; k < sizeof f / sizeof *f; k++) {
        if (mz_header_long(h, i, f[k].key, f[k].lo, f[k].hi, &v) < 0) return -1;
        *f[k].dst = (int)v;
    }
    if (mz_header_double(h, i, "sram_bytes", 0, 1e300, &o->sram_bytes) < 0 ||
        mz_header_double(h, i, "root_sram_bytes", 0, 1e300, &o->root_sram_bytes) < 0)
        return -1;
    if (header_enum(h, i, "order", order_names, 3, &o->order) < 0 ||
        header_enum(h, i, "shared_on", shared_names, 3, &o->shared_on) < 0 ||
        header_enum(h, i, "optimizer", optimizer_names, 2, &o->optimizer) < 0)
        return -1;
    return 0;
}
