/* placemap.c: expert placements as serving stacks read and write them (vLLM expert_to_ep_rank maps, SGLang physical_to_logical_map, DeepSeek EPLB phy2log), with replicas.
 *
 * An EP rank is an expert chiplet. Formats (bin/mz-place.1, PLACEMENT MAPS):
 *   vllm    {"expert_to_ep_rank": [r_0, ..., r_{E-1}]}: the rank of each
 *           expert, the same in every layer; or a list of such lists, one
 *           per layer, with "layers" naming them (our extension for
 *           per-layer placements). No replicas.
 *   sglang  {"physical_to_logical_map": [[l_0, ..., l_{P-1}], ...]}: per
 *           layer, the expert held by each of P physical slots; slot p is on
 *           rank p / (P / ranks). A row per transformer block.
 *   eplb    {"phy2log": [[...], ...]}: the same, as DeepSeek's EPLB returns
 *           it (rows: the MoE layers it was given), "num_gpus" the ranks.
 * With P > E an expert may have several slots (replicas): its primary copy
 * is the lowest slot holding it, the others go to p->replica (@PR header
 * lines), which mz-sched costs (replica.c, mz-model(7) section 4.8). */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "place.h"

static const char *const map_names[] = {"tsv", "vllm", "sglang", "eplb"};

const char *mz_placemap_format_name(int f)
{
    return f >= 0 && f <= MZ_PLACEMAP_EPLB ? map_names[f] : "?";
}

int mz_placemap_format_parse(const char *s)
{
    for (int f = 0; f <= MZ_PLACEMAP_EPLB; f++)
        if (strcmp(s, map_names[f]) == 0) return f;
    return -1;
}

int mz_placemap_sniff(const char *path)
{
    char head[4096];
    long n;
    mz_in *in;
    size_t i = 0;
    struct stat st;
    /* looking would consume a pipe (or standard input): those are TSV unless --format says */
    if (strcmp(path, "-") == 0 || stat(path, &st) < 0 || !S_ISREG(st.st_mode)) return MZ_PLACEMAP_TSV;
    if (!(in = mz_in_open(path))) return -1;
    n = mz_in_peek(in, head, sizeof head - 1);
    mz_in_close(in);
    if (n < 0) return -1;
    head[n] = '\0';
    while (i < (size_t)n && (head[i] == ' ' || head[i] == '\t' || head[i] == '\n' || head[i] == '\r')) i++;
    if (i >= (size_t)n || head[i] != '{') return MZ_PLACEMAP_TSV;
    if (strstr(head, "\"expert_to_ep_rank\"")) return MZ_PLACEMAP_VLLM;
    if (strstr(head, "\"physical_to_logical_map\"")) return MZ_PLACEMAP_SGLANG;
    if (strstr(head, "\"phy2log\"")) return MZ_PLACEMAP_EPLB;
    /* the key may come after a long one: let the reader look */
    return MZ_PLACEMAP_VLLM;
}

/* The whole input (a placement map is small: at most 64 MiB). */
static json_t *load_json(const char *path)
{
    mz_in *in = mz_in_open(path);
    size_t n = 1 << 16;
    char *buf = NULL;
    long got;
    json_t *o;
    json_error_t err;
    if (!in) return NULL;
    for (;;) {
        buf = mz_realloc(buf, n);
        if ((got = mz_in_peek(in, buf, n)) < 0) {
            free(buf);
            mz_in_close(in);
            return NULL;
        }
        if ((size_t)got < n) break;
        if (n >= (64u << 20)) {
            mz_error("%s: larger than 64 MiB: not a placement map", path);
            free(buf);
            mz_in_close(in);
            return NULL;
        }
        n *= 2;
    }
    mz_in_close(in);
    o = json_loadb(buf, (size_t)got, JSON_REJECT_DUPLICATES, &err);
    free(buf);
    if (!o) {
        mz_error("%s: line %d: invalid JSON: %s", path, err.line, err.text);
        return NULL;
    }
    if (!json_is_object(o)) {
        mz_error("%s: not a JSON object", path);
        json_decref(o);
        return NULL;
    }
    return o;
}

/* An integer field, optional: 1 and *v set, 0 when absent, -1 on error. */
static int opt_int(const char *path, json_t *o, const char *key, long lo, long hi, long *v)
{
    json_t *x = json_object_get(o, key);
    if (!x || json_is_null(x)) return 0;
    if (!json_is_integer(x) || json_integer_value(x) < lo || json_integer_value(x) > hi) {
        mz_error("%s: field '%s' is not an integer in [%ld, %ld]", path, key, lo, hi);
        return -1;
    }
    *v = (long)json_integer_value(x);
    return 1;
}

/* Row r of a map of n_rows rows: the traced layer slot it describes, -1 to
 * skip it (a layer not traced, a dense block), -2 on error. 'layers' (a JSON
 * list of layer numbers) names the rows when given; else the rows are blocks
 * when there is one per block, MoE layers in order when one per MoE layer,
 * the trace's layers in order when one per traced layer. */
static int row_slot(const char *path, const mz_trace_info *t, const mz_placement *p, json_t *layers, int n_rows,
                    int r, const char *fmt)
{
    const mz_model *m = &t->model;
    int layer = -1;
    if (layers) {
        json_t *v = json_array_get(layers, r);
        if (!v || !json_is_integer(v) || json_integer_value(v) < 0 || json_integer_value(v) >= m->layers) {
            mz_error("%s: field 'layers' item %d is not a layer of %s", path, r, m->name);
            return -2;
        }
        layer = (int)json_integer_value(v);
        if (!m->moe[layer]) {
            mz_error("%s: field 'layers' item %d: block %d of %s is dense", path, r, layer, m->name);
            return -2;
        }
    } else if (n_rows == m->layers) {
        layer = r;
        if (!m->moe[layer]) return -1;
    } else if (n_rows == m->n_moe) {
        for (int l = 0, k = 0; l < m->layers; l++)
            if (m->moe[l] && k++ == r) layer = l;
    } else if (n_rows == t->n_layers) {
        layer = t->layers[r];
    } else {
        mz_error("%s: %s map of %d rows, but %s has %d blocks, %d MoE layers and the trace %d layers (name the rows "
                 "with a \"layers\" list)", path, fmt, n_rows, m->name, m->layers, m->n_moe, t->n_layers);
        return -2;
    }
    {
        int slot = mz_placement_slot(p, layer);
        return slot >= 0 ? slot : -1;
    }
}

int mz_placemap_read(const char *path, int format, const mz_trace_info *t, int chiplets, int chiplets_given,
                     int groups, mz_placement *p)
{
    json_t *o, *map, *layers;
    const char *key;
    int E = t->model.experts, n_rows, rows_used = 0;
    long v;
    memset(p, 0, sizeof *p);
    if (format == MZ_PLACEMAP_TSV) {
        mz_error("%s: a TSV placement is read by mz_placement_read_tsv", path);
        return -1;
    }
    if (!(o = load_json(path))) return -1;
    key = format == MZ_PLACEMAP_VLLM ? "expert_to_ep_rank" : format == MZ_PLACEMAP_SGLANG ? "physical_to_logical_map"
                                                                                        : "phy2log";
    if (!(map = json_object_get(o, key)) || !json_is_array(map) || json_array_size(map) == 0) {
        mz_error("%s: missing field '%s' (a %s placement map)", path, key, mz_placemap_format_name(format));
        goto fail;
    }
    layers = json_object_get(o, "layers");
    if (layers && !json_is_array(layers)) {
        mz_error("%s: field 'layers' is not a list", path);
        goto fail;
    }
    /* the ranks: -c, else the file's, else (vLLM) the largest rank + 1 */
    if (!chiplets_given) {
        int got = opt_int(path, o, format == MZ_PLACEMAP_EPLB ? "num_gpus" : "ep_size", 1, 65536, &v);
        if (got < 0) goto fail;
        if (got) {
            chiplets = (int)v;
        } else if (format == MZ_PLACEMAP_VLLM) {
            long mx = -1;
            size_t i, j;
            json_t *row, *x;
            json_array_foreach(map, i, row) {
                if (json_is_integer(row)) {
                    if (json_integer_value(row) > mx) mx = (long)json_integer_value(row);
                } else if (json_is_array(row)) {
                    json_array_foreach(row, j, x) if (json_is_integer(x) && json_integer_value(x) > mx) mx = (long)json_integer_value(x);
                }
            }
            if (mx >= 0 && mx < 65536) chiplets = (int)mx + 1;
        }
    }
    if (chiplets % groups) {
        mz_error("%s: %d ranks (chiplets) cannot form %d equal groups (-g)", path, chiplets, groups);
        goto fail;
    }
    if (mz_placement_init(p, t, chiplets, groups) < 0) {
        mz_error_prefix("%s", path);
        goto fail;
    }
    snprintf(p->algorithm, sizeof p->algorithm, "file");
    if (format == MZ_PLACEMAP_VLLM) {
        int flat = json_is_integer(json_array_get(map, 0));
        n_rows = flat ? 1 : (int)json_array_size(map);
        if (layers && !flat && json_array_size(layers) != (size_t)n_rows) {
            mz_error("%s: 'layers' names %zu layers, 'expert_to_ep_rank' has %d rows", path, json_array_size(layers), n_rows);
            goto fail;
        }
        for (int r = 0; r < n_rows; r++) {
            json_t *row = flat ? map : json_array_get(map, r), *x;
            int slot = flat ? 0 : row_slot(path, t, p, layers, n_rows, r, "vllm");
            size_t e;
            if (slot == -2) goto fail;
            if (!json_is_array(row) || json_array_size(row) != (size_t)E) {
                mz_error("%s: 'expert_to_ep_rank'%s has %zu ranks, %s has %d experts", path, flat ? "" : " row",
                         json_is_array(row) ? json_array_size(row) : 0, t->model.name, E);
                goto fail;
            }
            if (slot < 0) continue;
            rows_used++;
            json_array_foreach(row, e, x) {
                if (!json_is_integer(x) || json_integer_value(x) < 0 || json_integer_value(x) >= chiplets) {
                    mz_error("%s: 'expert_to_ep_rank' row %d expert %zu: not a rank in [0, %d]", path, r, e, chiplets - 1);
                    goto fail;
                }
                for (int s = flat ? 0 : slot; s < (flat ? p->n_layers : slot + 1); s++)
                    p->chiplet[(size_t)s * E + e] = (int)json_integer_value(x);
            }
        }
        if (flat) rows_used = p->n_layers;
    } else {
        size_t P = 0;
        n_rows = (int)json_array_size(map);
        if (layers && json_array_size(layers) != (size_t)n_rows) {
            mz_error("%s: 'layers' names %zu layers, '%s' has %d rows", path, json_array_size(layers), key, n_rows);
            goto fail;
        }
        for (int r = 0; r < n_rows; r++) {
            json_t *row = json_array_get(map, r), *x;
            int slot = row_slot(path, t, p, layers, n_rows, r, mz_placemap_format_name(format));
            size_t s, per;
            if (slot == -2) goto fail;
            if (!json_is_array(row) || (P && json_array_size(row) != P) || json_array_size(row) < (size_t)E) {
                mz_error("%s: '%s' row %d has %zu slots: every row needs the same number, at least the %d experts",
                         path, key, r, json_is_array(row) ? json_array_size(row) : 0, E);
                goto fail;
            }
            P = json_array_size(row);
            if (P % (size_t)chiplets) {
                mz_error("%s: %zu physical slots per layer cannot be spread evenly over %d ranks (chiplets)", path, P,
                         chiplets);
                goto fail;
            }
            per = P / (size_t)chiplets;
            if (slot < 0) continue;
            rows_used++;
            json_array_foreach(row, s, x) {
                long e;
                int c = (int)(s / per);
                if (!json_is_integer(x) || (e = (long)json_integer_value(x)) < 0 || e >= E) {
                    mz_error("%s: '%s' row %d slot %zu: not an expert in [0, %d]", path, key, r, s, E - 1);
                    goto fail;
                }
                if (p->chiplet[(size_t)slot * E + e] < 0)
                    p->chiplet[(size_t)slot * E + e] = c; /* the primary copy: its lowest slot */
                else
                    mz_placement_add_replica(p, slot, (int)e, c);
            }
        }
    }
    mz_placement_canon_replicas(p);
    if (rows_used < p->n_layers) {
        mz_error("%s: the map places %d of the trace's %d layers", path, rows_used, p->n_layers);
        goto fail;
    }
    if (mz_placement_check(p) < 0) {
        mz_error_prefix("%s", path);
        if (p->n_replicas) mz_error_suffix(" (with replicas, each expert is placed on its lowest slot)");
        goto fail;
    }
    json_decref(o);
    return 0;
fail:
    json_decref(o);
    mz_placement_free(p);
    return -1;
}

/* The copies on chiplet c in row l into slots: the primary copies, ascending,
 * then the replicas (in canonical form a primary is on its expert's lowest
 * chiplet, so reading the map back finds it first); their count. */
static int chiplet_experts(const mz_placement *p, int l, int c, int *slots)
{
    int n = 0;
    for (int e = 0; e < p->experts; e++)
        if (p->chiplet[(size_t)l * p->experts + e] == c) slots[n++] = e;
    for (int i = 0; i < p->n_replicas; i++)
        if (p->replica[3 * i] == p->layers[l] && p->replica[3 * i + 2] == c) slots[n++] = p->replica[3 * i + 1];
    return n;
}

int mz_placemap_write(const mz_placement *p, const mz_model *m, int format, mz_out *out)
{
    int E = p->experts, C = p->chiplets, per = -1, same = 1;
    int *slots;
    if (format == MZ_PLACEMAP_TSV) return mz_placement_write_tsv(p, out);
    if (p->n_replicas && format == MZ_PLACEMAP_VLLM) {
        mz_error("%d replicas: a vllm map (expert_to_ep_rank) holds one copy per expert; write sglang, eplb or tsv",
                 p->n_replicas);
        return -1;
    }
    slots = mz_malloc((E + p->n_replicas + 1) * sizeof *slots);
    if (format != MZ_PLACEMAP_VLLM) {
        /* physical slots: the same number on every rank */
        for (int l = 0; l < p->n_layers; l++)
            for (int c = 0; c < C; c++) {
                int n = chiplet_experts(p, l, c, slots);
                if (per < 0) per = n;
                if (n != per) {
                    mz_error("layer %d: chiplet %d holds %d %s, chiplet 0 %d: %s maps need the same number of "
                             "slots on every rank", p->layers[l], c, n, p->n_replicas ? "copies" : "experts", per,
                             mz_placemap_format_name(format));
                    free(slots);
                    return -1;
                }
            }
    }
    for (int l = 1; l < p->n_layers; l++)
        if (memcmp(p->chiplet, p->chiplet + (size_t)l * E, E * sizeof *p->chiplet)) same = 0;
    if (format == MZ_PLACEMAP_VLLM) {
        mz_out_puts(out, "{\"expert_to_ep_rank\": ");
        if (!same) mz_out_puts(out, "[");
        for (int l = 0; l < (same ? 1 : p->n_layers); l++) {
            mz_out_printf(out, "%s[", l ? ", " : "");
            for (int e = 0; e < E; e++) mz_out_printf(out, "%s%d", e ? ", " : "", p->chiplet[(size_t)l * E + e]);
            mz_out_puts(out, "]");
        }
        if (!same) {
            mz_out_puts(out, "], \"layers\": [");
            for (int l = 0; l < p->n_layers; l++) mz_out_printf(out, "%s%d", l ? ", " : "", p->layers[l]);
            mz_out_puts(out, "]");
        }
    } else {
        /* SGLang: a row per block (blocks not placed: the identity); EPLB:
         * a row per placed layer, named by "layers" */
        int rows = format == MZ_PLACEMAP_SGLANG ? m->layers : p->n_layers;
        mz_out_printf(out, "{\"%s\": [", format == MZ_PLACEMAP_SGLANG ? "physical_to_logical_map" : "phy2log");
        for (int r = 0; r < rows; r++) {
            int l = format == MZ_PLACEMAP_SGLANG ? mz_placement_slot(p, r) : r, k = 0;
            mz_out_printf(out, "%s[", r ? ", " : "");
            for (int c = 0; c < C; c++) {
                int n = l >= 0 ? chiplet_experts(p, l, c, slots) : per;
                for (int i = 0; i < n; i++, k++)
                    mz_out_printf(out, "%s%d", k ? ", " : "", l >= 0 ? slots[i] : (c * per + i) % E);
            }
            mz_out_puts(out, "]");
        }
        mz_out_puts(out, "]");
        if (format == MZ_PLACEMAP_EPLB) {
            mz_out_puts(out, ", \"layers\": [");
            for (int l = 0; l < p->n_layers; l++) mz_out_printf(out, "%s%d", l ? ", " : "", p->layers[l]);
            mz_out_printf(out, "], \"num_gpus\": %d", C);
        } else {
            mz_out_printf(out, ", \"ep_size\": %d", C);
        }
    }
    free(slots);
    return mz_out_puts(out, "}\n") < 0 ? -1 : 0;
}

void mz_placement_replicas_to_header(const mz_placement *p, mz_header *h)
{
    mz_buf b = {0};
    mz_header_remove(h, "@PR");
    for (int l = 0; l < p->n_layers; l++) {
        int n = 0;
        b.n = 0;
        for (int i = 0; i < p->n_replicas; i++) {
            if (p->replica[3 * i] != p->layers[l]) continue;
            if (!n++) mz_buf_printf(&b, "@PR\tlayer:%d\tcopies:", p->layers[l]);
            mz_buf_printf(&b, "%s%d=%d", n > 1 ? "," : "", p->replica[3 * i + 1], p->replica[3 * i + 2]);
        }
        if (n) mz_header_add(h, "%s", b.s);
    }
    mz_buf_free(&b);
}
