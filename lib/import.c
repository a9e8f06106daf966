/* import.c: real routing logs (vLLM route-log JSONL, TSV/CSV) to traces, with anomaly detection. */
#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "fit.h"

#define MAX_IDS 1024     /* ids in one row; more is malformed */
#define MAX_REPORTS 10   /* anomalies reported per kind; all are counted */

static const char *const anomaly_names[MZ_ANOM_KINDS] = {"range", "duplicate", "count",
                                                        "gap",   "repeat",    "warmup"};

const char *mz_anomaly_name(int kind)
{
    return kind >= 0 && kind < MZ_ANOM_KINDS ? anomaly_names[kind] : "?";
}

int mz_anomaly_parse(const char *list, unsigned *set)
{
    char *copy = mz_strdup(list), *p = copy, *tok;
    *set = 0;
    while ((tok = strsep(&p, ",")) != NULL) {
        int k;
        if (strcmp(tok, "all") == 0) {
            *set = (1u << MZ_ANOM_KINDS) - 1;
            continue;
        }
        for (k = 0; k < MZ_ANOM_KINDS && strcmp(tok, anomaly_names[k]) != 0; k++)
            ;
        if (k == MZ_ANOM_KINDS) {
            mz_error("--drop: '%s' is not an anomaly kind (range, duplicate, count, gap, repeat, "
                     "warmup or all)", tok);
            free(copy);
            return -1;
        }
        *set |= 1u << k;
    }
    free(copy);
    return 0;
}

/* One parsed route row. */
typedef struct {
    long line;
    mz_buf req;            /* sequence id as text */
    long token_idx;
    int layer;
    int n_ids, n_w;        /* n_w = -1: no weights given */
    long ids[MAX_IDS];
    float w[MAX_IDS];
} row;

struct mz_import {
    mz_in *in;
    char *name;
    const mz_model *m;
    mz_import_opts o;
    int format;
    char sep;              /* TSV/CSV field separator */
    int data_lines;        /* TSV/CSV lines seen that are not comments */
    int k, E, n_moe;
    int *moe_layer;        /* [n_moe]: layer number of each MoE index */
    /* the traced layers: from -l, the meta line, or the first sequence */
    int layers_known;
    const char *layers_from;
    uint8_t *traced;       /* [n_moe] */
    int *slot_of;          /* [n_moe]: position among traced layers, or -1 */
    mz_trace_info ti;      /* ti.model is a shallow copy of *m */
    json_t *meta;
    row r;
    /* the sequence being assembled, tokens sorted by token_idx */
    int in_seq;
    mz_buf cur_req;
    long src_seq;
    long *last_idx;        /* [n_moe]: last token_idx per layer, -1 none */
    size_t ns, cap;
    long *s_idx, *s_line, *s_last;
    unsigned *s_defect;
    uint8_t *s_have;       /* [cap * n_moe] */
    uint16_t *s_ids;       /* [cap * n_moe * k] */
    float *s_w;            /* [cap * n_moe * k] or NULL */
    /* the current run of identical routes; its tokens wait in 'pend' */
    size_t tsize;          /* traced ids per token: n_layers * k */
    uint16_t *tmp_ids, *run_ids;
    float *tmp_w;
    long run_len, run_first, run_last;
    int run_warm;
    size_t np, pcap;
    uint16_t *p_ids;
    float *p_w;
    long *p_src;
    /* output */
    long q, cur_tok, last_src;
    FILE *spool;
    uint8_t *rec;
    mz_token tok;
    long reported[MZ_ANOM_KINDS];
    mz_import_counts c;
    /* --fields: the log's key for each schema field (NULL: absent); req may
     * join several keys */
    int mapped;
    char *field_buf;
    const char *key_type, *key_token, *key_layer, *key_ids, *key_w;
    const char *key_req[8];
    int n_req;
    /* packed-batch detection: sequence ids seen (up to two), longest kept sequence */
    mz_buf first_req;
    int n_req_ids;
    int counts_format;     /* the input is a count set (MZ_COUNTS_*), 0: a route log */
    long len_src, src_len;  /* tokens kept of source sequence len_src so far */
};

/* Count an anomaly and report it (up to MAX_REPORTS per kind). */
static void anomaly(mz_import *im, int kind, long line_a, long line_b, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
static void anomaly(mz_import *im, int kind, long line_a, long line_b, const char *fmt, ...)
{
    char what[512], msg[1024];
    va_list ap;
    im->c.found[kind]++;
    if (!im->o.report || im->reported[kind] > MAX_REPORTS) return;
    if (im->reported[kind]++ == MAX_REPORTS) {
        snprintf(msg, sizeof msg, "%s: %s: more anomalies of this kind (counted, not shown)", im->name,
                 anomaly_names[kind]);
        im->o.report(im->o.arg, msg);
        return;
    }
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    if (line_b > line_a)
        snprintf(msg, sizeof msg, "%s: lines %ld-%ld: %s: %s", im->name, line_a, line_b, anomaly_names[kind], what);
    else
        snprintf(msg, sizeof msg, "%s: line %ld: %s: %s", im->name, line_a, anomaly_names[kind], what);
    im->o.report(im->o.arg, msg);
}

/* Record an error naming the file and the current line. */
static int fail_line(mz_import *im, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int fail_line(mz_import *im, const char *fmt, ...)
{
    char what[768];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    mz_error("%s: line %ld: %s", im->name, mz_in_lineno(im->in), what);
    return -1;
}

/* Fix the traced layers (sorted MoE indices marked in im->traced) and
 * prepare everything that depends on them. */
static void set_layers(mz_import *im, const char *from)
{
    mz_trace_info *t = &im->ti;
    im->layers_known = 1;
    im->layers_from = from;
    t->n_layers = 0;
    t->layers = mz_malloc(im->n_moe * sizeof *t->layers);
    for (int i = 0; i < im->n_moe; i++) {
        im->slot_of[i] = im->traced[i] ? t->n_layers : -1;
        if (im->traced[i]) t->layers[t->n_layers++] = im->moe_layer[i];
    }
    t->id_bytes = im->E <= 256 ? 1 : 2;
    t->weights = im->o.weights;
    im->tsize = (size_t)t->n_layers * im->k;
    im->tmp_ids = mz_malloc(im->tsize * sizeof *im->tmp_ids);
    im->run_ids = mz_malloc(im->tsize * sizeof *im->run_ids);
    im->tmp_w = mz_calloc(im->tsize, sizeof *im->tmp_w);
    mz_token_alloc(t, &im->tok);
    im->rec = mz_malloc(mz_trace_record_size(t));
}

/* --fields "ids=experts,weights=gating_probs,req=dataset+problem_id": the
 * log's key for each field of the schema; '-' for a field the log lacks
 * (req or type). */
static int parse_fields(mz_import *im, const char *spec)
{
    char *p;
    im->key_type = "type", im->key_token = "token_idx", im->key_layer = "layer";
    im->key_ids = "topk_ids", im->key_w = "topk_weights";
    im->key_req[0] = "req_id", im->n_req = 1;
    if (!spec) return 0;
    im->mapped = 1;
    im->field_buf = mz_strdup(spec);
    for (char *item = strtok_r(im->field_buf, ",", &p); item; item = strtok_r(NULL, ",", &p)) {
        char *eq = strchr(item, '='), *val;
        const char **dst = NULL;
        if (!eq || eq == item || !eq[1]) {
            mz_error("--fields: '%s' is not FIELD=KEY (fields: req, token, layer, ids, weights, type)", item);
            return -1;
        }
        *eq = '\0';
        val = eq + 1;
        if (strcmp(item, "req") == 0 || strcmp(item, "req_id") == 0) {
            char *q;
            im->n_req = 0;
            if (strcmp(val, "-") == 0) continue;
            for (char *k = strtok_r(val, "+", &q); k; k = strtok_r(NULL, "+", &q)) {
                if (im->n_req == 8) {
                    mz_error("--fields: req joins at most 8 keys");
                    return -1;
                }
                im->key_req[im->n_req++] = k;
            }
            continue;
        }
        if (strcmp(item, "token") == 0 || strcmp(item, "token_idx") == 0) dst = &im->key_token;
        else if (strcmp(item, "layer") == 0) dst = &im->key_layer;
        else if (strcmp(item, "ids") == 0 || strcmp(item, "topk_ids") == 0) dst = &im->key_ids;
        else if (strcmp(item, "weights") == 0 || strcmp(item, "topk_weights") == 0) dst = &im->key_w;
        else if (strcmp(item, "type") == 0) dst = &im->key_type;
        else {
            mz_error("--fields: unknown field '%s' (fields: req, token, layer, ids, weights, type)", item);
            return -1;
        }
        if (strcmp(val, "-") == 0 && dst != &im->key_type) {
            mz_error("--fields: %s cannot be absent (only req and type can be '-')", item);
            return -1;
        }
        *dst = strcmp(val, "-") == 0 ? NULL : val;
    }
    return 0;
}

mz_import *mz_import_open(const char *path, const mz_model *m, const mz_import_opts *o)
{
    mz_import *im;
    mz_in *in;
    if (o->seqs < 1 || o->seq_len < 0 || o->max_run < 0 || o->max_run == 1) {
        mz_error("import: bad options (seqs %d, seq_len %d, max_run %d)", o->seqs, o->seq_len, o->max_run);
        return NULL;
    }
    for (int i = 0; i < o->n_layers; i++)
        if (o->layers[i] < 0 || o->layers[i] >= m->layers || !m->moe[o->layers[i]]) {
            mz_error("--layers: layer %d is not an MoE layer of %s", o->layers[i], m->name);
            return NULL;
        }
    if (!(in = mz_in_open(path))) return NULL;
    im = mz_calloc(1, sizeof *im);
    im->in = in;
    im->name = mz_strdup(path);
    im->m = m;
    im->o = *o;
    im->k = m->topk, im->E = m->experts, im->n_moe = m->n_moe;
    im->moe_layer = mz_malloc(m->n_moe * sizeof *im->moe_layer);
    for (int l = 0, i = 0; l < m->layers; l++)
        if (m->moe[l]) im->moe_layer[i++] = l;
    im->traced = mz_calloc(m->n_moe, 1);
    im->slot_of = mz_malloc(m->n_moe * sizeof *im->slot_of);
    im->last_idx = mz_malloc(m->n_moe * sizeof *im->last_idx);
    im->ti.model = *m;
    im->q = -1;
    im->last_src = -1;
    im->r.n_w = -1;
    if (parse_fields(im, o->fields) < 0) goto fail;
    if (o->layers) {
        for (int i = 0; i < o->n_layers; i++) im->traced[mz_model_moe_index(m, o->layers[i])] = 1;
        set_layers(im, "option");
    }
    /* the format: given, or sniffed from the first bytes (a count set, a
     * JSONL log, a TSV/CSV log) */
    im->format = o->format;
    if (im->format == MZ_IMPORT_COUNTS) im->counts_format = o->counts_format ? o->counts_format : MZ_COUNTS_AUTO;
    if (im->format == MZ_IMPORT_AUTO) {
        char head[4096];
        long n = mz_in_peek(in, head, sizeof head);
        if (n < 0) goto fail;
        if (!o->fields && (im->counts_format = mz_counts_sniff(head, (size_t)n)) != 0)
            im->format = MZ_IMPORT_COUNTS;
        else
            im->format = n > 0 && head[0] == '{' ? MZ_IMPORT_JSONL : MZ_IMPORT_TSV;
    }
    if (im->format == MZ_IMPORT_COUNTS) return im;
    if (!(im->spool = tmpfile())) {
        mz_error("cannot create a temporary file: %s", strerror(errno));
        goto fail;
    }
    return im;
fail:
    mz_import_close(im);
    return NULL;
}

/* ---- parsing */

/* A JSON integer field; -1 with an error if absent or not an integer. */
static int json_long(mz_import *im, json_t *o, const char *key, long lo, long *out)
{
    json_t *v = json_object_get(o, key);
    if (!v) return fail_line(im, "missing field '%s'", key);
    if (!json_is_integer(v)) return fail_line(im, "field '%s' is not an integer", key);
    if (json_integer_value(v) < lo || json_integer_value(v) > 0x7fffffffL)
        return fail_line(im, "field '%s' = %lld is out of range", key, (long long)json_integer_value(v));
    *out = (long)json_integer_value(v);
    return 0;
}

/* The meta line: remembered for the header; its top_k and layers_logged are checked. */
static int parse_meta(mz_import *im, json_t *o)
{
    json_t *v;
    im->c.meta_lines++;
    if (im->meta || im->c.rows) return 0; /* only a leading meta line describes the log */
    im->meta = json_incref(o);
    if ((v = json_object_get(o, "top_k")) && !json_is_null(v) && !json_is_integer(v))
        return fail_line(im, "meta: field 'top_k' is not an integer");
    if (v && json_is_integer(v) && json_integer_value(v) != im->k)
        return fail_line(im, "meta: top_k %lld, but %s routes each token to %d experts (wrong -m?)",
                         (long long)json_integer_value(v), im->m->name, im->k);
    if ((v = json_object_get(o, "layers_logged")) && !json_is_null(v) && !im->layers_known) {
        size_t i;
        json_t *x;
        if (!json_is_array(v) || json_array_size(v) == 0)
            return fail_line(im, "meta: layers_logged is not a list of layer numbers");
        json_array_foreach(v, i, x) {
            long l;
            if (!json_is_integer(x) || (l = (long)json_integer_value(x)) < 0 || l >= im->m->layers)
                return fail_line(im, "meta: layers_logged item %zu is not a layer of %s", i, im->m->name);
            if (!im->m->moe[l]) return fail_line(im, "meta: layers_logged: layer %ld of %s is not MoE", l, im->m->name);
            im->traced[mz_model_moe_index(im->m, (int)l)] = 1;
        }
        set_layers(im, "meta line");
    }
    return 0;
}

/* ---- the usual route line, parsed in place
 * A route-log line is parsed by jansson into a tree of allocated values,
 * which costs several times the rest of the import. The common line
 * (an object of plain ASCII strings, numbers and flat lists) is read here
 * directly instead; anything else, every error included, is left to
 * parse_json, so that messages and accepted input are jansson's. */
typedef struct {
    const char *p, *end;
} jscan;

static void js_space(jscan *c)
{
    while (c->p < c->end && (*c->p == ' ' || *c->p == '\t' || *c->p == '\n' || *c->p == '\r')) c->p++;
}

static int js_char(jscan *c, char ch)
{
    js_space(c);
    if (c->p >= c->end || *c->p != ch) return 0;
    c->p++;
    return 1;
}

/* A string of printable ASCII without escapes: its text in [*s, *s + *n). */
static int js_string(jscan *c, const char **s, size_t *n)
{
    const char *p;
    js_space(c);
    if (c->p >= c->end || *c->p != '"') return 0;
    for (p = c->p + 1; p < c->end && *p != '"'; p++)
        if (*p < 0x20 || *p > 0x7e || *p == '\\') return 0;
    if (p >= c->end) return 0;
    *s = c->p + 1;
    *n = (size_t)(p - *s);
    c->p = p + 1;
    return 1;
}

/* A number by the JSON grammar: 1 integer of at most 18 digits (*iv),
 * 2 finite real (*dv, only when dv is not NULL), 0 anything else. */
static int js_number(jscan *c, long long *iv, double *dv)
{
    const char *p, *s;
    int real = 0;
    js_space(c);
    p = s = c->p;
    if (p < c->end && *p == '-') p++;
    if (p >= c->end || *p < '0' || *p > '9') return 0;
    if (*p == '0')
        p++;
    else
        while (p < c->end && *p >= '0' && *p <= '9') p++;
    if (p < c->end && *p == '.') {
        real = 1;
        if (++p >= c->end || *p < '0' || *p > '9') return 0;
        while (p < c->end && *p >= '0' && *p <= '9') p++;
    }
    if (p < c->end && (*p == 'e' || *p == 'E')) {
        real = 1;
        if (++p < c->end && (*p == '+' || *p == '-')) p++;
        if (p >= c->end || *p < '0' || *p > '9') return 0;
        while (p < c->end && *p >= '0' && *p <= '9') p++;
    }
    if (!real) {
        long long v = 0;
        const char *d = s + (*s == '-');
        if (p - d > 18) return 0;
        for (; d < p; d++) v = v * 10 + (*d - '0');
        *iv = *s == '-' ? -v : v;
        c->p = p;
        return 1;
    }
    if (!dv) return 0;
    {
        char *e;
        double v = strtod(s, &e);
        if (e != p || isinf(v)) return 0;
        *dv = v;
    }
    c->p = p;
    return 2;
}

/* A list of numbers: n items into iv (integers) or dv (numbers). */
static int js_list(jscan *c, long *iv, float *fv, int *n)
{
    *n = 0;
    if (!js_char(c, '[')) return 0;
    if (js_char(c, ']')) return 1;
    do {
        long long i;
        double d;
        int kind = js_number(c, &i, fv ? &d : NULL);
        if (!kind || *n == MAX_IDS) return 0;
        if (fv)
            fv[*n] = kind == 1 ? (float)(double)i : (float)d;
        else
            iv[*n] = i < -1000000 ? -1000000 : i > 1000000 ? 1000000 : (long)i;
        ++*n;
    } while (js_char(c, ','));
    return js_char(c, ']');
}

/* Skip a value: a plain string, a number, a literal or a flat list of them. */
static int js_skip(jscan *c, int in_list)
{
    const char *s;
    size_t n;
    long long i;
    double d;
    js_space(c);
    if (c->p >= c->end) return 0;
    if (*c->p == '"') return js_string(c, &s, &n);
    if (*c->p == '[' && !in_list) {
        c->p++;
        if (js_char(c, ']')) return 1;
        do
            if (!js_skip(c, 1)) return 0;
        while (js_char(c, ','));
        return js_char(c, ']');
    }
    for (int j = 0; j < 3; j++) {
        static const char *const lit[3] = {"true", "false", "null"};
        size_t l = strlen(lit[j]);
        if ((size_t)(c->end - c->p) >= l && memcmp(c->p, lit[j], l) == 0) {
            c->p += l;
            return 1;
        }
    }
    return js_number(c, &i, &d) != 0;
}

/* 1: a route line read into im->r; 0: not a line this path takes. */
static int parse_route_fast(mz_import *im, const char *line, size_t len)
{
    enum { F_TYPE = 1, F_REQ = 2, F_TOK = 4, F_LAYER = 8, F_IDS = 16, F_W = 32 };
    jscan c = {line, line + len};
    row *r = &im->r;
    unsigned seen = 0, need = F_REQ | F_TOK | F_LAYER | F_IDS | (im->o.weights ? F_W : 0);
    if (!js_char(&c, '{')) return 0;
    do {
        const char *key, *s;
        size_t kn, n;
        long long v;
        unsigned f = 0;
        if (!js_string(&c, &key, &kn) || !js_char(&c, ':')) return 0;
#define KEY(name) (kn == sizeof name - 1 && memcmp(key, name, kn) == 0)
        if (KEY("type")) {
            if (!js_string(&c, &s, &n) || n != 5 || memcmp(s, "route", 5) != 0) return 0;
            f = F_TYPE;
        } else if (KEY("req_id")) {
            r->req.n = 0;
            if (js_string(&c, &s, &n))
                mz_buf_put(&r->req, s, n);
            else if (js_number(&c, &v, NULL) == 1)
                mz_buf_printf(&r->req, "%lld", v);
            else
                return 0;
            f = F_REQ;
        } else if (KEY("token_idx") || KEY("layer")) {
            f = KEY("layer") ? F_LAYER : F_TOK;
            if (js_number(&c, &v, NULL) != 1 || v < 0 || v > 0x7fffffffL) return 0;
            if (f == F_TOK)
                r->token_idx = (long)v;
            else
                r->layer = (int)v;
        } else if (KEY("topk_ids")) {
            if (!js_list(&c, r->ids, NULL, &r->n_ids)) return 0;
            f = F_IDS;
        } else if (KEY("topk_weights") && im->o.weights) {
            if (!js_list(&c, NULL, r->w, &r->n_w)) return 0;
            f = F_W;
        } else if (!js_skip(&c, 0)) {
            return 0;
        }
#undef KEY
        if (seen & f) return 0; /* a repeated key: jansson keeps the last one */
        seen |= f;
    } while (js_char(&c, ','));
    if (!js_char(&c, '}')) return 0;
    js_space(&c);
    if (c.p != c.end || (seen & need) != need) return 0;
    if (!im->o.weights) r->n_w = -1;
    return 1;
}

/* One JSON line parsed by jansson: 1 route (im->r filled), 0 meta, -1 error. */
static int parse_json_tree(mz_import *im, const char *line, size_t len)
{
    json_error_t err;
    json_t *o, *v, *ids, *w;
    const char *type = "route";
    long x;
    int ret = -1;
    size_t i;
    if (strspn(line, " \t") == len) return 0;
    /* a key twice would let the later value win unseen, as in config.json */
    if (!(o = json_loadb(line, len, JSON_REJECT_DUPLICATES, &err)))
        return fail_line(im, "invalid JSON at column %d: %s", err.column, err.text);
    if (!json_is_object(o)) {
        fail_line(im, "expected a JSON object");
        goto done;
    }
    if (im->key_type && (v = json_object_get(o, im->key_type))) {
        if (!json_is_string(v)) {
            fail_line(im, "field '%s' is not a string", im->key_type);
            goto done;
        }
        type = json_string_value(v);
    }
    if (strcmp(type, "meta") == 0) {
        ret = parse_meta(im, o) < 0 ? -1 : 0;
        goto done;
    }
    if (strcmp(type, "route") != 0) {
        fail_line(im, "unknown line type '%.40s' (expected meta or route)", type);
        goto done;
    }
    im->r.req.n = 0;
    for (int q = 0; q < im->n_req; q++) {
        const char *rk = im->key_req[q];
        if (!(v = json_object_get(o, rk))) {
            fail_line(im, "missing field '%s'%s", rk, im->mapped ? "" : " (a log with other key names: --fields)");
            goto done;
        }
        if (q) mz_buf_puts(&im->r.req, "/");
        if (json_is_string(v))
            mz_buf_puts(&im->r.req, json_string_value(v));
        else if (json_is_integer(v))
            mz_buf_printf(&im->r.req, "%lld", (long long)json_integer_value(v));
        else {
            fail_line(im, "field '%s' is not a string or an integer", rk);
            goto done;
        }
    }
    mz_buf_put(&im->r.req, "", 0);
    if (json_long(im, o, im->key_token, 0, &im->r.token_idx) < 0 || json_long(im, o, im->key_layer, 0, &x) < 0)
        goto done;
    im->r.layer = (int)x;
    if (!(ids = json_object_get(o, im->key_ids)) || !json_is_array(ids)) {
        fail_line(im, ids ? "field '%s' is not a list" : "missing field '%s'", im->key_ids);
        goto done;
    }
    if (json_array_size(ids) > MAX_IDS) {
        fail_line(im, "field '%s' has %zu items (at most %d)", im->key_ids, json_array_size(ids), MAX_IDS);
        goto done;
    }
    im->r.n_ids = (int)json_array_size(ids);
    json_array_foreach(ids, i, v) {
        if (!json_is_integer(v)) {
            fail_line(im, "field '%s' item %zu is not an integer", im->key_ids, i);
            goto done;
        }
        im->r.ids[i] = json_integer_value(v) < -1000000 ? -1000000
                       : json_integer_value(v) > 1000000 ? 1000000 : (long)json_integer_value(v);
    }
    im->r.n_w = -1;
    if (im->o.weights) {
        if (!(w = json_object_get(o, im->key_w))) {
            fail_line(im, "missing field '%s' (asked for gate weights with -w)", im->key_w);
            goto done;
        }
        if (!json_is_array(w) || json_array_size(w) > MAX_IDS) {
            fail_line(im, "field '%s' is not a list of at most %d numbers", im->key_w, MAX_IDS);
            goto done;
        }
        im->r.n_w = (int)json_array_size(w);
        json_array_foreach(w, i, v) {
            if (!json_is_number(v)) {
                fail_line(im, "field '%s' item %zu is not a number", im->key_w, i);
                goto done;
            }
            im->r.w[i] = (float)json_number_value(v);
        }
    }
    ret = 1;
done:
    json_decref(o);
    return ret;
}

/* One JSONL line: 1 route (im->r filled), 0 meta or blank, -1 error. */
static int parse_json(mz_import *im, const char *line, size_t len)
{
    if (strspn(line, " \t") == len) return 0;
    if (!im->mapped && parse_route_fast(im, line, len)) return 1;
    return parse_json_tree(im, line, len);
}

/* Trim spaces around a CSV field in place. */
static char *trim(char *s)
{
    char *e;
    while (*s == ' ') s++;
    e = s + strlen(s);
    while (e > s && e[-1] == ' ') *--e = '\0';
    return s;
}

/* One TSV/CSV line: 1 route, 0 comment, blank or header, -1 error. */
static int parse_tsv(mz_import *im, char *line, size_t len)
{
    char *f[3 + MAX_IDS + 1];
    int n;
    if (len == 0 || line[0] == '#') return 0;
    if (im->data_lines++ == 0) {
        /* the separator: given, or tab if the first data line has one */
        if (im->o.format == MZ_IMPORT_CSV)
            im->sep = ',';
        else if (im->o.format == MZ_IMPORT_TSV)
            im->sep = '\t';
        else
            im->sep = strchr(line, '\t') ? '\t' : ',';
    }
    if ((n = mz_split(line, im->sep, f, 3 + MAX_IDS + 1)) < 0)
        return fail_line(im, "more than %d fields", 3 + MAX_IDS);
    if (im->sep == ',')
        for (int i = 0; i < n; i++) f[i] = trim(f[i]);
    if (n < 4)
        return fail_line(im, "%d field%s, expected sequence, token, layer and the expert ids (at least 4, "
                         "%s-separated)", n, n == 1 ? "" : "s", im->sep == '\t' ? "tab" : "comma");
    if (im->data_lines == 1) {
        /* a header line: its token field is a name, not a number */
        char *end;
        errno = 0;
        strtol(f[1], &end, 10);
        if (end == f[1] || *end) return 0;
    }
    im->r.req.n = 0;
    mz_buf_puts(&im->r.req, f[0]);
    mz_buf_put(&im->r.req, "", 0);
    {
        char what[64];
        long v;
        if (mz_parse_long(f[1], 0, 0x7fffffffL, "token", &im->r.token_idx) < 0 ||
            mz_parse_long(f[2], 0, 0x7fffffffL, "layer", &v) < 0)
            return fail_line(im, "%s", mz_errmsg());
        im->r.layer = (int)v;
        im->r.n_ids = n - 3;
        for (int i = 0; i < n - 3; i++) {
            snprintf(what, sizeof what, "expert id %d", i + 1);
            if (mz_parse_long(f[3 + i], -1000000, 1000000, what, &im->r.ids[i]) < 0)
                return fail_line(im, "%s", mz_errmsg());
        }
    }
    im->r.n_w = -1;
    return 1;
}

/* ---- output: kept tokens get step, sequence and token numbers and go to the spool */

static int emit(mz_import *im, const uint16_t *ids, const float *w, long src)
{
    size_t size = mz_trace_record_size(&im->ti);
    if (src != im->last_src || (im->o.seq_len && im->cur_tok == im->o.seq_len)) {
        im->q++;
        im->cur_tok = 0;
        im->last_src = src;
        im->c.seqs++;
    }
    if (src != im->len_src) im->len_src = src, im->src_len = 0;
    if (++im->src_len > im->c.longest_src) im->c.longest_src = im->src_len;
    im->tok.step = (uint32_t)(im->q / im->o.seqs);
    im->tok.seq = (uint32_t)(im->q % im->o.seqs);
    im->tok.tok = (uint32_t)im->cur_tok++;
    if (im->cur_tok > im->c.longest) im->c.longest = im->cur_tok;
    memcpy(im->tok.ids, ids, im->tsize * sizeof *ids);
    if (im->ti.weights) memcpy(im->tok.w, w, im->tsize * sizeof *w);
    mz_token_encode(&im->ti, &im->tok, im->rec);
    if (fwrite(im->rec, size, 1, im->spool) != 1) {
        mz_error("writing the temporary file: %s", strerror(errno));
        return -1;
    }
    im->c.tokens++;
    return 0;
}

/* The current run of identical routes ends: a warm-up run is dropped,
 * a short one goes out. */
static int run_end(mz_import *im)
{
    if (im->run_len == 0) return 0;
    if (im->run_warm) {
        char ids[256] = "";
        size_t n = 0;
        for (int j = 0; j < im->k && n < sizeof ids; j++)
            n += snprintf(ids + n, sizeof ids - n, "%s%u", j ? "," : "", im->run_ids[j]);
        anomaly(im, MZ_ANOM_WARMUP, im->run_first, im->run_last,
                "%ld identical routes in a row (layer %d: %s), a warm-up pass or a stuck logger",
                im->run_len, im->ti.layers[0], ids);
        im->c.dropped[MZ_ANOM_WARMUP] += im->run_len;
    } else {
        for (size_t i = 0; i < im->np; i++)
            if (emit(im, im->p_ids + i * im->tsize, im->p_w + i * im->tsize, im->p_src[i]) < 0) return -1;
    }
    im->run_len = 0;
    im->run_warm = 0;
    im->np = 0;
    return 0;
}

/* A checked token (im->tmp_ids, im->tmp_w) enters run detection. */
static int run_push(mz_import *im, long src, long first_line, long last_line)
{
    if (im->o.max_run == 0) return emit(im, im->tmp_ids, im->tmp_w, src);
    if (im->run_len > 0 && memcmp(im->tmp_ids, im->run_ids, im->tsize * sizeof *im->run_ids) == 0) {
        im->run_len++;
        im->run_last = last_line;
        if (im->run_len >= im->o.max_run) {
            im->run_warm = 1;
            im->np = 0;
            return 0;
        }
    } else {
        if (run_end(im) < 0) return -1;
        memcpy(im->run_ids, im->tmp_ids, im->tsize * sizeof *im->run_ids);
        im->run_len = 1;
        im->run_first = first_line;
        im->run_last = last_line;
    }
    if (im->np == im->pcap) {
        im->pcap = im->pcap ? im->pcap * 2 : 64;
        im->p_ids = mz_realloc(im->p_ids, im->pcap * im->tsize * sizeof *im->p_ids);
        im->p_w = mz_realloc(im->p_w, im->pcap * im->tsize * sizeof *im->p_w);
        im->p_src = mz_realloc(im->p_src, im->pcap * sizeof *im->p_src);
    }
    memcpy(im->p_ids + im->np * im->tsize, im->tmp_ids, im->tsize * sizeof *im->tmp_ids);
    memcpy(im->p_w + im->np * im->tsize, im->tmp_w, im->tsize * sizeof *im->tmp_w);
    im->p_src[im->np++] = src;
    return 0;
}

/* ---- sequences */

/* The assembled sequence is complete: check for holes and tokens missing
 * layers, then pass its good tokens on. */
static int end_sequence(mz_import *im)
{
    int n_moe = im->n_moe, k = im->k;
    long expected = 0;
    if (!im->in_seq) return 0;
    im->in_seq = 0;
    if (!im->layers_known) {
        /* the first sequence shows which layers the log covers */
        for (size_t i = 0; i < im->ns; i++)
            for (int l = 0; l < n_moe; l++) im->traced[l] |= im->s_have[i * n_moe + l];
        set_layers(im, "first sequence");
    }
    for (size_t i = 0; i < im->ns; i++) {
        long idx = im->s_idx[i];
        if (idx > expected) {
            char miss[64];
            if (idx - expected > 1)
                snprintf(miss, sizeof miss, "tokens %ld-%ld", expected, idx - 1);
            else
                snprintf(miss, sizeof miss, "token %ld", expected);
            anomaly(im, MZ_ANOM_GAP, im->s_line[i], 0, "sequence '%.40s': %s missing (token_idx %s %ld)",
                    im->cur_req.s, miss, expected ? "jumps to" : "starts at", idx);
        }
        expected = idx + 1;
    }
    for (size_t i = 0; i < im->ns; i++) {
        const uint8_t *have = im->s_have + i * n_moe;
        unsigned defect = im->s_defect[i];
        int missing = 0, first_missing = -1;
        for (int l = 0; l < n_moe; l++)
            if (im->traced[l] && !have[l]) {
                if (!missing++) first_missing = im->moe_layer[l];
            }
        if (missing) {
            anomaly(im, MZ_ANOM_GAP, im->s_line[i], 0, "sequence '%.40s' token %ld: no route for %d traced layer%s (layer %d%s)",
                    im->cur_req.s, im->s_idx[i], missing, missing > 1 ? "s" : "", first_missing,
                    missing > 1 ? ", ..." : "");
            defect |= 1u << MZ_ANOM_GAP;
        }
        im->c.tokens_in++;
        if (defect) {
            int kind = 0;
            while (!(defect & (1u << kind))) kind++;
            im->c.dropped[kind]++;
            continue;
        }
        for (int l = 0; l < n_moe; l++) {
            int slot = im->slot_of[l];
            if (slot < 0) continue;
            memcpy(im->tmp_ids + (size_t)slot * k, im->s_ids + (i * n_moe + l) * k, k * sizeof *im->tmp_ids);
            if (im->s_w) memcpy(im->tmp_w + (size_t)slot * k, im->s_w + (i * n_moe + l) * k, k * sizeof *im->tmp_w);
        }
        if (run_push(im, im->src_seq, im->s_line[i], im->s_last[i]) < 0) return -1;
    }
    im->ns = 0;
    return 0;
}

static void start_sequence(mz_import *im)
{
    im->in_seq = 1;
    im->src_seq++;
    im->c.seqs_in++;
    im->cur_req.n = 0;
    mz_buf_puts(&im->cur_req, im->r.req.s);
    for (int l = 0; l < im->n_moe; l++) im->last_idx[l] = -1;
    im->ns = 0;
}

/* The slot of token_idx in the sequence, inserted if new. */
static size_t token_slot(mz_import *im, long idx)
{
    size_t lo = 0, hi = im->ns, per = (size_t)im->n_moe * im->k;
    if (im->ns && im->s_idx[im->ns - 1] < idx) {
        lo = im->ns;
    } else {
        while (lo < hi) {
            size_t mid = (lo + hi) / 2;
            if (im->s_idx[mid] < idx)
                lo = mid + 1;
            else
                hi = mid;
        }
        if (lo < im->ns && im->s_idx[lo] == idx) return lo;
    }
    if (im->ns == im->cap) {
        im->cap = im->cap ? im->cap * 2 : 256;
        im->s_idx = mz_realloc(im->s_idx, im->cap * sizeof *im->s_idx);
        im->s_line = mz_realloc(im->s_line, im->cap * sizeof *im->s_line);
        im->s_last = mz_realloc(im->s_last, im->cap * sizeof *im->s_last);
        im->s_defect = mz_realloc(im->s_defect, im->cap * sizeof *im->s_defect);
        im->s_have = mz_realloc(im->s_have, im->cap * im->n_moe);
        im->s_ids = mz_realloc(im->s_ids, im->cap * per * sizeof *im->s_ids);
        if (im->o.weights) im->s_w = mz_realloc(im->s_w, im->cap * per * sizeof *im->s_w);
    }
    if (lo < im->ns) {
        size_t n = im->ns - lo;
        memmove(im->s_idx + lo + 1, im->s_idx + lo, n * sizeof *im->s_idx);
        memmove(im->s_line + lo + 1, im->s_line + lo, n * sizeof *im->s_line);
        memmove(im->s_last + lo + 1, im->s_last + lo, n * sizeof *im->s_last);
        memmove(im->s_defect + lo + 1, im->s_defect + lo, n * sizeof *im->s_defect);
        memmove(im->s_have + (lo + 1) * im->n_moe, im->s_have + lo * im->n_moe, n * im->n_moe);
        memmove(im->s_ids + (lo + 1) * per, im->s_ids + lo * per, n * per * sizeof *im->s_ids);
        if (im->s_w) memmove(im->s_w + (lo + 1) * per, im->s_w + lo * per, n * per * sizeof *im->s_w);
    }
    im->ns++;
    im->s_idx[lo] = idx;
    im->s_line[lo] = im->r.line;
    im->s_last[lo] = im->r.line;
    im->s_defect[lo] = 0;
    memset(im->s_have + lo * im->n_moe, 0, im->n_moe);
    return lo;
}

/* A parsed route row joins its sequence, after the checks. */
static int add_row(mz_import *im)
{
    row *r = &im->r;
    int mi, k = im->k;
    unsigned defect = 0;
    size_t slot;
    im->c.rows++;
    if (r->layer >= im->m->layers)
        return fail_line(im, "layer %d out of range (%s has %d layers)", r->layer, im->m->name, im->m->layers);
    if ((mi = mz_model_moe_index(im->m, r->layer)) < 0)
        return fail_line(im, "layer %d of %s is dense, not an MoE layer", r->layer, im->m->name);
    if (im->layers_known && !im->traced[mi]) {
        if (im->o.layers) {
            im->c.skipped_rows++;
            return 0;
        }
        return fail_line(im, "layer %d is not among the layers of this log (from the %s); choose layers with -l",
                         r->layer, im->layers_from);
    }
    /* the row's own anomalies */
    if (r->n_ids != k || (r->n_w >= 0 && r->n_w != r->n_ids)) {
        if (r->n_ids != k)
            anomaly(im, MZ_ANOM_COUNT, r->line, 0, "%d expert ids, expected %d (top-k of %s)", r->n_ids, k, im->m->name);
        else
            anomaly(im, MZ_ANOM_COUNT, r->line, 0, "%d expert ids but %d gate weights", r->n_ids, r->n_w);
        defect |= 1u << MZ_ANOM_COUNT;
    } else {
        for (int a = 0; a < k; a++)
            if (r->ids[a] < 0 || r->ids[a] >= im->E) {
                anomaly(im, MZ_ANOM_RANGE, r->line, 0, "expert id %ld out of range (%s has experts 0-%d)",
                        r->ids[a], im->m->name, im->E - 1);
                defect |= 1u << MZ_ANOM_RANGE;
                break;
            }
        for (int a = 0; a < k && !(defect & (1u << MZ_ANOM_DUPLICATE)); a++)
            for (int b = 0; b < a; b++)
                if (r->ids[a] == r->ids[b]) {
                    anomaly(im, MZ_ANOM_DUPLICATE, r->line, 0, "expert %ld listed twice in one token", r->ids[a]);
                    defect |= 1u << MZ_ANOM_DUPLICATE;
                    break;
                }
    }
    /* packed batches: does the whole log carry one sequence id? */
    if (im->n_req_ids == 0) {
        mz_buf_puts(&im->first_req, r->req.s);
        mz_buf_put(&im->first_req, "", 0);
        im->n_req_ids = 1;
    } else if (im->n_req_ids == 1 && strcmp(r->req.s, im->first_req.s) != 0) {
        im->n_req_ids = 2;
    }
    /* sequences: a new one starts when the id changes or token_idx restarts at 0 */
    if (!im->in_seq || strcmp(r->req.s, im->cur_req.s) != 0 || (r->token_idx == 0 && im->last_idx[mi] >= 0)) {
        if (end_sequence(im) < 0) return -1;
        start_sequence(im);
    } else if (r->token_idx <= im->last_idx[mi]) {
        anomaly(im, MZ_ANOM_REPEAT, r->line, 0, "sequence '%.40s' layer %d: token %ld logged again (after token %ld)",
                r->req.s, r->layer, r->token_idx, im->last_idx[mi]);
        im->c.dropped[MZ_ANOM_REPEAT]++;
        return 0;
    }
    im->last_idx[mi] = r->token_idx;
    slot = token_slot(im, r->token_idx);
    {
        size_t at = (slot * im->n_moe + mi) * k;
        for (int a = 0; a < k; a++) {
            long id = a < r->n_ids ? r->ids[a] : 0;
            im->s_ids[at + a] = (uint16_t)(id < 0 || id > 65535 ? 0 : id);
            if (im->s_w) im->s_w[at + a] = a < r->n_w ? r->w[a] : 0;
        }
    }
    im->s_have[slot * im->n_moe + mi] = 1;
    im->s_defect[slot] |= defect;
    im->s_last[slot] = r->line;
    return 0;
}

int mz_import_read(mz_import *im)
{
    char *line;
    long len;
    while ((len = mz_in_getline(im->in, &line)) >= 0) {
        int kind;
        im->c.lines++;
        im->r.line = mz_in_lineno(im->in);
        kind = im->format == MZ_IMPORT_JSONL ? parse_json(im, line, (size_t)len) : parse_tsv(im, line, (size_t)len);
        if (kind < 0) return -1;
        if (kind == 1 && add_row(im) < 0) return -1;
    }
    if (mz_in_failed(im->in)) {
        if (!strstr(mz_errmsg(), ": line ")) mz_error_suffix(" (after line %ld)", mz_in_lineno(im->in));
        return -1;
    }
    if (end_sequence(im) < 0 || run_end(im) < 0) return -1;
    /* one sequence id for the whole log and sequences longer than any
     * request of a route log has: forward passes packing many requests */
    if (im->n_req_ids == 1 && im->o.packed_len && im->c.longest_src > im->o.packed_len) {
        im->c.packed = 1;
        if (im->o.report) {
            char msg[1024];
            snprintf(msg, sizeof msg,
                     "%s: packed batches? every route row has sequence id '%.40s' and the longest sequence "
                     "(cut where token_idx restarts at 0) has %ld tokens, more than --packed-len %d: its "
                     "'sequences' are probably forward passes that pack several requests, so per-sequence "
                     "statistics describe batches; cut them with -L N, or log a req_id per request",
                     im->name, im->first_req.s, im->c.longest_src, im->o.packed_len);
            im->o.report(im->o.arg, msg);
        }
    }
    if (fflush(im->spool) != 0 || ferror(im->spool)) {
        mz_error("writing the temporary file: %s", strerror(errno));
        return -1;
    }
    if (im->c.rows == 0) {
        mz_error("%s: no route lines", im->name);
        return -1;
    }
    return 0;
}

const mz_import_counts *mz_import_get_counts(const mz_import *im) { return &im->c; }

int mz_import_counts_format(const mz_import *im) { return im->format == MZ_IMPORT_COUNTS ? im->counts_format : 0; }

int mz_import_read_counts(mz_import *im, int layer_index, mz_loads *d, mz_buf *note)
{
    if (im->format != MZ_IMPORT_COUNTS) {
        mz_error("%s: a route log, not a count set", im->name);
        return -1;
    }
    return mz_counts_read_in(im->in, im->m, im->counts_format, layer_index, d, note);
}

unsigned mz_import_refused(const mz_import *im)
{
    unsigned set = 0;
    for (int k = 0; k < MZ_ANOM_KINDS; k++)
        if (im->c.found[k] && !(im->o.drop & (1u << k))) set |= 1u << k;
    return set;
}

/* A header value from free text: no tabs or newlines, bounded length. */
static void clean_value(char *dst, size_t size, const char *src)
{
    size_t n = 0;
    for (; *src && n + 1 < size; src++) dst[n++] = *src == '\t' || *src == '\n' || *src == '\r' ? ' ' : *src;
    dst[n] = '\0';
}

int mz_import_header(const mz_import *im, mz_header *h)
{
    mz_trace_info t = im->ti;
    mz_buf b = {0};
    char ranges[8192], all[8192], v[512];
    const char *fmt = im->format == MZ_IMPORT_JSONL ? "jsonl" : im->sep == ',' ? "csv" : "tsv";
    int any = 0;
    if (im->c.tokens == 0) {
        mz_error("%s: no tokens left to import", im->name);
        return -1;
    }
    t.steps = (int)((im->q + im->o.seqs) / im->o.seqs);
    t.seqs = im->q + 1 < im->o.seqs ? (int)(im->q + 1) : im->o.seqs;
    t.seq_len = im->o.seq_len ? im->o.seq_len : (int)im->c.longest;
    mz_trace_info_to_header(&t, h);
    clean_value(v, sizeof v, im->name);
    mz_buf_printf(&b, "@IM\tsource:%s\tformat:%s\tlines:%ld\trows:%ld\ttokens_in:%llu\ttokens:%llu"
                      "\tseqs_in:%ld\tseqs:%ld\tseq_split:",
                  v, fmt, im->c.lines, im->c.rows, (unsigned long long)im->c.tokens_in,
                  (unsigned long long)im->c.tokens, im->c.seqs_in, im->c.seqs);
    if (im->o.seq_len)
        mz_buf_printf(&b, "%d", im->o.seq_len);
    else
        mz_buf_puts(&b, "none");
    mz_buf_printf(&b, "\tmax_run:%d\tlayers_from:%s", im->o.max_run, im->layers_from);
    if (im->c.packed) mz_buf_printf(&b, "\tpacked:%ld", im->c.longest_src);
    if (im->o.fields) {
        clean_value(v, sizeof v, im->o.fields);
        mz_buf_printf(&b, "\tfields:%s", v);
    }
    if (im->c.skipped_rows) mz_buf_printf(&b, "\tskipped_rows:%ld", im->c.skipped_rows);
    mz_buf_puts(&b, "\tfound:");
    for (int k = 0; k < MZ_ANOM_KINDS; k++)
        if (im->c.found[k]) mz_buf_printf(&b, "%s%s=%ld", any++ ? "," : "", anomaly_names[k], im->c.found[k]);
    if (!any) mz_buf_puts(&b, "none");
    mz_buf_puts(&b, "\tdropped:");
    any = 0;
    for (int k = 0; k < MZ_ANOM_KINDS; k++)
        if (im->c.dropped[k])
            mz_buf_printf(&b, "%s%s=%llu", any++ ? "," : "", anomaly_names[k], (unsigned long long)im->c.dropped[k]);
    if (!any) mz_buf_puts(&b, "none");
    if (im->meta) {
        const char *key;
        json_t *val;
        json_object_foreach(im->meta, key, val) {
            char *text;
            if (strcmp(key, "type") == 0) continue;
            text = json_is_string(val) ? mz_strdup(json_string_value(val)) : json_dumps(val, JSON_COMPACT | JSON_ENCODE_ANY);
            clean_value(v, sizeof v, text ? text : "");
            free(text);
            clean_value(all, 64, key);
            for (char *p = all; *p; p++)
                if (*p == ':' || *p == ' ') *p = '_';
            mz_buf_printf(&b, "\tmeta_%s:%s", all, v);
        }
    }
    mz_header_add(h, "%s", b.s);
    mz_buf_free(&b);
    if (t.n_layers < im->n_moe) {
        int *moe = mz_malloc(im->n_moe * sizeof *moe);
        memcpy(moe, im->moe_layer, im->n_moe * sizeof *moe);
        mz_header_add(h, "@CO\tthis trace holds MoE layer%s %s of %s only (its MoE layers are %s): %s",
                      t.n_layers > 1 ? "s" : "", mz_format_ranges(t.layers, t.n_layers, ranges, sizeof ranges),
                      im->m->name, mz_format_ranges(moe, im->n_moe, all, sizeof all),
                      strcmp(im->layers_from, "option") == 0 ? "the layers chosen with -l"
                      : strcmp(im->layers_from, "meta line") == 0 ? "the layers the log's meta line names"
                                                                  : "the layers of the log's first sequence");
        free(moe);
    }
    return 0;
}

int mz_import_write(mz_import *im, mz_writer *w)
{
    size_t size = mz_trace_record_size(&im->ti);
    rewind(im->spool);
    for (uint64_t i = 0; i < im->c.tokens; i++) {
        if (fread(im->rec, size, 1, im->spool) != 1) {
            mz_error("reading the temporary file: %s", ferror(im->spool) ? strerror(errno) : "short file");
            return -1;
        }
        if (mz_writer_put(w, im->rec, size) < 0) return -1;
    }
    return 0;
}

void mz_import_close(mz_import *im)
{
    if (!im) return;
    mz_in_close(im->in);
    if (im->spool) fclose(im->spool);
    if (im->meta) json_decref(im->meta);
    free(im->name);
    free(im->moe_layer);
    free(im->traced);
    free(im->slot_of);
    free(im->last_idx);
    free(im->ti.layers);
    mz_token_free(&im->tok);
    free(im->rec);
    mz_buf_free(&im->r.req);
    mz_buf_free(&im->cur_req);
    mz_buf_free(&im->first_req);
    free(im->field_buf);
    free(im->s_idx);
    free(im->s_line);
    free(im->s_last);
    free(im->s_defect);
    free(im->s_have);
    free(im->s_ids);
    free(im->s_w);
    free(im->tmp_ids);
    free(im->run_ids);
    free(im->tmp_w);
    free(im->p_ids);
    free(im->p_w);
    free(im->p_src);
    free(im);
}
