/* counts.c: expert selection counts as serving stacks and load balancers write them (SGLang count matrices, per-layer JSON, EPLB tables), read into loads.
 *
 * Formats (bin/mz-import.1, COUNT SETS):
 *   sglang      {"counts": [[c, ...], ...], "num_layers": L, "num_experts": E},
 *               or SGLang's own "logical_count" ([layers][experts], or
 *               [snapshots][layers][experts], summed over snapshots)
 *   layer-json  {"0": [c, ...], "1": [...], ...}: one list per layer key
 *   eplb        text rows "layer expert count" (tabs, spaces or commas; an
 *               optional header line naming the columns), or a matrix of one
 *               row of E counts per layer (EPLB's weight tensor as text)
 * Rows name layers either as transformer blocks or as MoE layers in order
 * (the DeepSeek-V3 load JSON numbers its 58 MoE layers 0-57; SGLang's
 * matrices have a row per block). The rule, MZ_LAYERS_AUTO: block numbers
 * when every row is an MoE block of the model; else, a row for every block
 * whose dense rows are zero, block numbers; else, when every row is below the
 * number of MoE layers, MoE indices; else an error. All-zero rows are data
 * for no layer and are dropped. */
#define _GNU_SOURCE
#include <ctype.h>
#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "fit.h"

#define COUNTS_MAX_BYTES (256L << 20) /* a count set larger than this is refused */
#define COUNTS_MAX_ROWS 4096

static const char *const format_names[] = {"auto", "sglang", "layer-json", "eplb"};

const char *mz_counts_format_name(int format)
{
    return format >= 0 && format <= MZ_COUNTS_EPLB ? format_names[format] : "?";
}

int mz_counts_format_parse(const char *s)
{
    for (int f = 0; f <= MZ_COUNTS_EPLB; f++)
        if (strcmp(s, format_names[f]) == 0) return f;
    return -1;
}

int mz_layer_index_parse(const char *s)
{
    return strcmp(s, "auto") == 0 ? MZ_LAYERS_AUTO : strcmp(s, "block") == 0 ? MZ_LAYERS_BLOCK
           : strcmp(s, "moe") == 0 ? MZ_LAYERS_MOE : -1;
}

/* Rows as read: row key (a layer number or MoE index, not yet resolved) and E counts. */
typedef struct {
    int n, cap, E;
    int *key;
    double *c; /* [n * E] */
} rows;

static double *rows_add(rows *r, int key)
{
    for (int i = 0; i < r->n; i++)
        if (r->key[i] == key) return r->c + (size_t)i * r->E;
    if (r->n == r->cap) {
        r->cap = r->cap ? 2 * r->cap : 64;
        r->key = mz_realloc(r->key, r->cap * sizeof *r->key);
        r->c = mz_realloc(r->c, (size_t)r->cap * r->E * sizeof *r->c);
    }
    r->key[r->n] = key;
    memset(r->c + (size_t)r->n * r->E, 0, r->E * sizeof *r->c);
    return r->c + (size_t)r->n++ * r->E;
}

static void rows_free(rows *r)
{
    free(r->key);
    free(r->c);
}

/* One count: a finite number >= 0. */
static int count_value(const char *path, json_t *v, const char *where, size_t i, double *out)
{
    double x;
    if (!json_is_number(v)) {
        mz_error("%s: %s item %zu is not a number", path, where, i);
        return -1;
    }
    x = json_number_value(v);
    if (!(x >= 0) || x > 1e18) {
        mz_error("%s: %s item %zu = %g is not a count (a number from 0 to 1e18)", path, where, i, x);
        return -1;
    }
    *out = x;
    return 0;
}

/* A list of E counts into row. */
static int count_list(const char *path, json_t *a, int E, const char *where, double *row)
{
    size_t i;
    json_t *v;
    double x;
    if (!json_is_array(a)) {
        mz_error("%s: %s is not a list of counts", path, where);
        return -1;
    }
    if (json_array_size(a) != (size_t)E) {
        mz_error("%s: %s has %zu counts, the model has %d experts", path, where, json_array_size(a), E);
        return -1;
    }
    json_array_foreach(a, i, v) {
        if (count_value(path, v, where, i, &x) < 0) return -1;
        row[i] += x;
    }
    return 0;
}

/* The whole input as a NUL-terminated string (*len bytes). NULL on error. */
static char *slurp(mz_in *in, size_t *len)
{
    size_t n = 1 << 16;
    char *buf = NULL;
    for (;;) {
        long got;
        buf = mz_realloc(buf, n + 1);
        if ((got = mz_in_peek(in, buf, n)) < 0) {
            free(buf);
            return NULL;
        }
        if ((size_t)got < n) {
            buf[got] = '\0';
            *len = (size_t)got;
            return buf;
        }
        if (n >= (size_t)COUNTS_MAX_BYTES) {
            mz_error("%s: larger than %ld MiB: not a count set", mz_in_name(in), COUNTS_MAX_BYTES >> 20);
            free(buf);
            return NULL;
        }
        n *= 2;
    }
}

/* The JSON formats: 'format' is MZ_COUNTS_SGLANG, _LAYER_JSON or AUTO (by keys). */
static int read_json(const char *path, const char *text, size_t len, int E, int *format, rows *r)
{
    json_error_t err;
    json_t *o = json_loadb(text, len, JSON_REJECT_DUPLICATES, &err), *m;
    int ret = -1;
    if (!o) {
        mz_error("%s: line %d: invalid JSON: %s", path, err.line, err.text);
        return -1;
    }
    if (!json_is_object(o)) {
        mz_error("%s: not a JSON object", path);
        goto done;
    }
    m = json_object_get(o, "counts");
    if (!m) m = json_object_get(o, "logical_count");
    if (*format == MZ_COUNTS_AUTO) *format = m ? MZ_COUNTS_SGLANG : MZ_COUNTS_LAYER_JSON;
    if (*format == MZ_COUNTS_SGLANG) {
        json_t *row, *v;
        size_t i, nl;
        const char *key = json_object_get(o, "counts") ? "counts" : "logical_count";
        int depth = 0;
        if (!m || !json_is_array(m)) {
            mz_error("%s: missing field 'counts' (a list of per-layer count lists; SGLang format)", path);
            goto done;
        }
        /* [snapshots][layers][experts] is summed over the snapshots */
        if (json_array_size(m) && json_is_array(json_array_get(m, 0)) &&
            json_array_size(json_array_get(m, 0)) && json_is_array(json_array_get(json_array_get(m, 0), 0)))
            depth = 1;
        nl = depth ? json_array_size(json_array_get(m, 0)) : json_array_size(m);
        if ((v = json_object_get(o, "num_layers")) && (!json_is_integer(v) || json_integer_value(v) != (json_int_t)nl)) {
            mz_error("%s: num_layers says %s, '%s' has %zu rows", path, json_is_integer(v) ? "another count" : "no number",
                     key, nl);
            goto done;
        }
        if ((v = json_object_get(o, "num_experts")) && (!json_is_integer(v) || json_integer_value(v) != E)) {
            mz_error("%s: num_experts is not the model's %d experts", path, E);
            goto done;
        }
        if (nl > COUNTS_MAX_ROWS) {
            mz_error("%s: %zu rows: more layers than any model (%d)", path, nl, COUNTS_MAX_ROWS);
            goto done;
        }
        for (size_t s = 0; s < (depth ? json_array_size(m) : 1); s++) {
            json_t *mat = depth ? json_array_get(m, s) : m;
            if (!json_is_array(mat) || json_array_size(mat) != nl) {
                mz_error("%s: '%s' snapshot %zu does not have %zu rows", path, key, s, nl);
                goto done;
            }
            json_array_foreach(mat, i, row) {
                char where[64];
                snprintf(where, sizeof where, "'%s' row %zu", key, i);
                if (count_list(path, row, E, where, rows_add(r, (int)i)) < 0) goto done;
            }
        }
    } else {
        const char *key;
        json_t *v;
        if (json_object_size(o) == 0) {
            mz_error("%s: no layers (expected {\"0\": [counts...], ...})", path);
            goto done;
        }
        json_object_foreach(o, key, v) {
            char where[80];
            long l;
            char *end;
            errno = 0;
            l = strtol(key, &end, 10);
            if (!*key || *end || !isdigit((unsigned char)key[0]) || l >= COUNTS_MAX_ROWS || errno) {
                mz_error("%s: key '%.40s' is not a layer number (expected {\"0\": [counts...], ...})", path, key);
                goto done;
            }
            snprintf(where, sizeof where, "layer '%s'", key);
            if (count_list(path, v, E, where, rows_add(r, (int)l)) < 0) goto done;
        }
    }
    ret = 0;
done:
    json_decref(o);
    return ret;
}

/* The text format: "layer expert count" rows or a matrix, header optional. */
static int read_text(const char *path, char *text, int E, rows *r)
{
    char *line, *save = NULL, *f[3];
    long ln = 0;
    int shape = 0, col[3] = {0, 1, 2}, matrix_row = 0; /* shape: 3 triples, E matrix rows */
    for (line = text; line; line = save) {
        char *p = line, *tok, *ts = NULL;
        int n = 0;
        double v[3];
        if ((save = strchr(line, '\n'))) *save++ = '\0';
        if (!save && !*line) break; /* after the last newline */
        ln++;
        while (*p == ' ' || *p == '\t') p++;
        if (!*p || *p == '#' || *p == '\r') continue;
        if (!shape) {
            /* a header line names the columns */
            if (isalpha((unsigned char)*p)) {
                int k = 0;
                for (tok = strtok_r(p, " \t,\r", &ts); tok; tok = strtok_r(NULL, " \t,\r", &ts), k++) {
                    if (strcmp(tok, "layer") == 0) col[0] = k;
                    else if (strcmp(tok, "expert") == 0) col[1] = k;
                    else if (strcmp(tok, "count") == 0 || strcmp(tok, "load") == 0 || strcmp(tok, "tokens") == 0) col[2] = k;
                }
                if (k != 3) {
                    mz_error("%s: line %ld: a header of %d columns; an EPLB table has 3 (layer, expert, count)", path, ln, k);
                    return -1;
                }
                shape = 3;
                continue;
            }
            {
                int k = 0;
                for (char *q = p; *q;) {
                    while (*q == ' ' || *q == '\t' || *q == ',' || *q == '\r') q++;
                    if (!*q) break;
                    k++;
                    while (*q && *q != ' ' && *q != '\t' && *q != ',' && *q != '\r') q++;
                }
                shape = k == 3 && E != 3 ? 3 : k;
                if (shape != 3 && shape != E) {
                    mz_error("%s: line %ld: %d fields: neither 'layer expert count' nor a row of the model's %d "
                             "expert counts", path, ln, k, E);
                    return -1;
                }
            }
        }
        if (shape == 3) {
            for (tok = strtok_r(p, " \t,\r", &ts); tok; tok = strtok_r(NULL, " \t,\r", &ts)) {
                if (n == 3) {
                    mz_error("%s: line %ld: more than 3 fields (layer, expert, count)", path, ln);
                    return -1;
                }
                f[n++] = tok;
            }
            if (n != 3) {
                mz_error("%s: line %ld: %d fields, expected 3 (layer, expert, count)", path, ln, n);
                return -1;
            }
            for (int k = 0; k < 3; k++) {
                char what[128];
                snprintf(what, sizeof what, "%s: line %ld: %s", path, ln, k == 0 ? "layer" : k == 1 ? "expert" : "count");
                if (mz_parse_double(f[col[k]], 0, k == 2 ? 1e18 : k == 0 ? COUNTS_MAX_ROWS - 1 : E - 1, what, &v[k]) < 0)
                    return -1;
                if (k < 2 && v[k] != floor(v[k])) {
                    mz_error("%s: line %ld: %s %s is not a whole number", path, ln, k ? "expert" : "layer", f[col[k]]);
                    return -1;
                }
            }
            rows_add(r, (int)v[0])[(int)v[1]] += v[2];
        } else {
            double *row = rows_add(r, matrix_row);
            for (tok = strtok_r(p, " \t,\r", &ts); tok; tok = strtok_r(NULL, " \t,\r", &ts)) {
                char what[128];
                if (n == E) break;
                snprintf(what, sizeof what, "%s: line %ld: count %d", path, ln, n + 1);
                if (mz_parse_double(tok, 0, 1e18, what, &v[0]) < 0) return -1;
                row[n++] = v[0];
            }
            if (n != E || tok) {
                mz_error("%s: line %ld: a matrix row of %s counts, the model has %d experts", path, ln,
                         tok ? "more" : "fewer", E);
                return -1;
            }
            matrix_row++;
        }
    }
    if (!r->n) {
        mz_error("%s: no counts", path);
        return -1;
    }
    return 0;
}

int mz_counts_sniff(const char *head, size_t n)
{
    size_t i = 0, k;
    while (i < n && isspace((unsigned char)head[i])) i++;
    if (i < n && head[i] == '{') {
        /* the first key: a layer number, or one of SGLang's */
        i++;
        while (i < n && isspace((unsigned char)head[i])) i++;
        if (i >= n || head[i] != '"') return 0;
        for (k = ++i; k < n && head[k] != '"'; k++)
            ;
        if (k >= n) return 0;
        if (k > i && strspn(head + i, "0123456789") >= k - i) return MZ_COUNTS_LAYER_JSON;
#define IS(w) (k - i == sizeof w - 1 && memcmp(head + i, w, k - i) == 0)
        if (IS("counts") || IS("logical_count") || IS("num_layers") || IS("num_experts")) return MZ_COUNTS_SGLANG;
#undef IS
        return 0;
    }
    /* text: skip comments; a header naming layer, expert and count, or three numbers */
    while (i < n) {
        size_t e = i;
        int fields = 0, alpha = 0;
        while (e < n && head[e] != '\n') e++;
        if (head[i] == '#' || e == i) {
            i = e + 1;
            continue;
        }
        for (size_t p = i; p < e;) {
            while (p < e && (head[p] == ' ' || head[p] == '\t' || head[p] == ',' || head[p] == '\r')) p++;
            if (p >= e) break;
            fields++;
            if (isalpha((unsigned char)head[p])) alpha = 1;
            while (p < e && head[p] != ' ' && head[p] != '\t' && head[p] != ',' && head[p] != '\r') p++;
        }
        if (fields != 3) return 0;
        if (!alpha) return MZ_COUNTS_EPLB;
        return memmem(head + i, e - i, "expert", 6) && (memmem(head + i, e - i, "count", 5) ||
                                                          memmem(head + i, e - i, "load", 4))
                   ? MZ_COUNTS_EPLB
                   : 0;
    }
    return 0;
}

int mz_counts_read(const char *path, const mz_model *m, int format, int layer_index, mz_loads *d, mz_buf *note)
{
    mz_in *in = mz_in_open(path);
    int ret;
    memset(d, 0, sizeof *d);
    if (!in) return -1;
    ret = mz_counts_read_in(in, m, format, layer_index, d, note);
    if (mz_in_close(in) < 0 && ret == 0) {
        mz_loads_free(d);
        return -1;
    }
    return ret;
}

int mz_counts_read_in(mz_in *in, const mz_model *m, int format, int layer_index, mz_loads *d, mz_buf *note)
{
    const char *path = mz_in_name(in);
    char *text = NULL;
    size_t len = 0, i0 = 0;
    rows r = {0};
    int E = m->experts, all_moe = 1, below = 1, full = 0, kept = 0, zero = 0, how;
    memset(d, 0, sizeof *d);
    r.E = E;
    if (!(text = slurp(in, &len))) return -1;
    while (i0 < len && isspace((unsigned char)text[i0])) i0++;
    if (format == MZ_COUNTS_AUTO && i0 < len) format = text[i0] == '{' ? MZ_COUNTS_AUTO : MZ_COUNTS_EPLB;
    if (format == MZ_COUNTS_EPLB ? read_text(path, text, E, &r) < 0 : read_json(path, text, len, E, &format, &r) < 0) {
        free(text);
        rows_free(&r);
        return -1;
    }
    free(text);
    /* what the row keys are */
    for (int i = 0; i < r.n; i++) {
        int k = r.key[i];
        if (k >= m->layers || !m->moe[k]) all_moe = 0;
        if (k >= m->n_moe) below = 0;
    }
    if (r.n == m->layers) {
        full = 1;
        for (int i = 0; i < r.n; i++)
            if (r.key[i] >= m->layers) full = 0;
        for (int i = 0; i < r.n && full; i++)
            if (!m->moe[r.key[i]])
                for (int e = 0; e < E; e++)
                    if (r.c[(size_t)i * E + e] != 0) full = 0;
    }
    how = layer_index;
    if (how == MZ_LAYERS_AUTO) how = all_moe || full ? MZ_LAYERS_BLOCK : below ? MZ_LAYERS_MOE : -1;
    if (how < 0) {
        mz_error("%s: %d rows (%s) fit neither the blocks nor the MoE layers of %s (%d blocks, %d of them MoE); "
                 "say which with --layer-index block|moe", path, r.n, mz_counts_format_name(format), m->name,
                 m->layers, m->n_moe);
        rows_free(&r);
        return -1;
    }
    d->experts = E;
    d->layer = mz_malloc(r.n * sizeof *d->layer);
    d->share = mz_malloc((size_t)r.n * E * sizeof *d->share);
    for (int i = 0; i < r.n; i++) {
        int k = r.key[i], layer = -1;
        double sum = 0;
        for (int e = 0; e < E; e++) sum += r.c[(size_t)i * E + e];
        if (how == MZ_LAYERS_BLOCK) {
            if (k < m->layers && m->moe[k]) layer = k;
            else if (k < m->layers && sum == 0) { zero++; continue; } /* a dense block's empty row */
            else {
                mz_error("%s: row %d is %s of %s, not an MoE layer", path, k,
                         k < m->layers ? "a dense block" : "beyond the blocks", m->name);
                goto fail;
            }
        } else {
            if (k >= m->n_moe) {
                mz_error("%s: row %d: %s has %d MoE layers (--layer-index moe)", path, k, m->name, m->n_moe);
                goto fail;
            }
            for (int l = 0, idx = 0; l < m->layers; l++)
                if (m->moe[l] && idx++ == k) layer = l;
        }
        if (sum == 0) {
            zero++;
            continue;
        }
        for (int j = 0; j < kept; j++)
            if (d->layer[j] == layer) {
                mz_error("%s: layer %d given twice", path, layer);
                goto fail;
            }
        d->layer[kept] = layer;
        memcpy(d->share + (size_t)kept * E, r.c + (size_t)i * E, E * sizeof *d->share);
        kept++;
    }
    d->n_layers = kept;
    if (!kept) {
        mz_error("%s: every row is zero: no counts", path);
        goto fail;
    }
    /* ascending layers */
    for (int i = 1; i < kept; i++)
        for (int j = i; j > 0 && d->layer[j - 1] > d->layer[j]; j--) {
            int t = d->layer[j];
            d->layer[j] = d->layer[j - 1], d->layer[j - 1] = t;
            for (int e = 0; e < E; e++) {
                double x = d->share[(size_t)j * E + e];
                d->share[(size_t)j * E + e] = d->share[(size_t)(j - 1) * E + e];
                d->share[(size_t)(j - 1) * E + e] = x;
            }
        }
    if (note) {
        mz_buf_printf(note, "%s format, %d rows read as %s, %d MoE layer%s with counts", mz_counts_format_name(format),
                      r.n, how == MZ_LAYERS_BLOCK ? "block numbers" : "MoE layers in order (row 0: the first MoE block)",
                      kept, kept == 1 ? "" : "s");
        if (zero) mz_buf_printf(note, ", %d empty row%s dropped", zero, zero == 1 ? "" : "s");
    }
    rows_free(&r);
    return 0;
fail:
    rows_free(&r);
    mz_loads_free(d);
    return -1;
}

int mz_loads_write_counts(const mz_loads *d, const char *note, mz_out *out)
{
    if (note) mz_out_printf(out, "# %s\n", note);
    mz_out_puts(out, "layer\texpert\tcount\n");
    for (int l = 0; l < d->n_layers; l++)
        for (int e = 0; e < d->experts; e++)
        {
            double v = d->share[(size_t)l * d->experts + e];
            if ((v == floor(v) && v < 1e15 ? mz_out_printf(out, "%d\t%d\t%.0f\n", d->layer[l], e, v)
                                           : mz_out_printf(out, "%d\t%d\t%.17g\n", d->layer[l], e, v)) < 0)
                return -1;
        }
    return 0;
}
