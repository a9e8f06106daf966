/* model.c: MoE model geometry from Hugging Face config.json files and the @MD header line. */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "mz.h"

/* Look up the first of several keys that is present and not null. */
static json_t *first_key(json_t *root, const char *const *keys, const char **found)
{
    for (int i = 0; keys[i]; i++) {
        json_t *v = json_object_get(root, keys[i]);
        if (v && !json_is_null(v)) {
            if (found) *found = keys[i];
            return v;
        }
    }
    return NULL;
}

/* Read an integer field; 'need' makes absence an error. Names file and key. */
static int get_int(json_t *root, const char *path, const char *const *keys, int need, long lo,
                   long hi, int dflt, int *out)
{
    const char *key = keys[0];
    json_t *v = first_key(root, keys, &key);
    long x;
    if (!v) {
        if (need) {
            mz_buf names = {0};
            for (int i = 0; keys[i]; i++) mz_buf_printf(&names, "%s%s", i ? "' or '" : "", keys[i]);
            mz_error("%s: missing field '%s'", path, names.s);
            mz_buf_free(&names);
            return -1;
        }
        *out = dflt;
        return 0;
    }
    if (!json_is_integer(v)) {
        mz_error("%s: field '%s' is not an integer", path, key);
        return -1;
    }
    x = (long)json_integer_value(v);
    if (x < lo || x > hi) {
        mz_error("%s: field '%s' = %ld is out of range [%ld, %ld]", path, key, x, lo, hi);
        return -1;
    }
    *out = (int)x;
    return 0;
}

/* Room for a list of layer numbers as ranges ("0-3,7"): at most 4096
 * layers, so 4096 numbers of up to 4 digits, each with a separator. */
#define RANGES_MAX (4096 * 5 + 1)

#define KEYS(...) ((const char *const[]){__VA_ARGS__, NULL})

/* Which blocks are MoE, from the fields each family uses. */
static int moe_layers(json_t *root, const char *path, mz_model *m)
{
    int first_dense, freq, step;
    json_t *only;
    if (get_int(root, path, KEYS("first_k_dense_replace"), 0, 0, m->layers, 0, &first_dense) < 0 ||
        get_int(root, path, KEYS("moe_layer_freq"), 0, 1, 1000, 1, &freq) < 0 ||
        get_int(root, path, KEYS("decoder_sparse_step"), 0, 1, 1000, 1, &step) < 0)
        return -1;
    m->moe = mz_calloc(m->layers, 1);
    for (int l = 0; l < m->layers; l++)
        m->moe[l] = l >= first_dense && l % freq == 0 && (l + 1) % step == 0;
    only = json_object_get(root, "mlp_only_layers");
    if (only && !json_is_null(only)) {
        size_t i;
        json_t *v;
        if (!json_is_array(only)) {
            mz_error("%s: field 'mlp_only_layers' is not a list", path);
            return -1;
        }
        json_array_foreach(only, i, v) {
            if (!json_is_integer(v) || json_integer_value(v) < 0 ||
                json_integer_value(v) >= m->layers) {
                mz_error("%s: field 'mlp_only_layers' item %zu is not a layer number", path, i);
                return -1;
            }
            m->moe[json_integer_value(v)] = 0;
        }
    }
    m->n_moe = 0;
    for (int l = 0; l < m->layers; l++) m->n_moe += m->moe[l];
    if (m->n_moe == 0) {
        mz_error("%s: no MoE layers (check first_k_dense_replace, decoder_sparse_step, mlp_only_layers)",
                 path);
        return -1;
    }
    return 0;
}

/* The model's name: the catalogue name, or the config's directory name. */
static void model_name(const char *arg, const char *path, mz_model *m)
{
    char buf[4096];
    const char *base;
    char *dot;
    snprintf(buf, sizeof buf, "%s", strchr(arg, '/') ? path : arg);
    base = strrchr(buf, '/') ? strrchr(buf, '/') + 1 : buf;
    if (strcmp(base, "config.json") == 0 && base > buf + 1) {
        buf[base - buf - 1] = '\0';
        base = strrchr(buf, '/') ? strrchr(buf, '/') + 1 : buf;
    }
    snprintf(m->name, sizeof m->name, "%.*s", MZ_NAME_MAX - 1, base);
    if ((dot = strstr(m->name, ".json")) && dot[5] == '\0') *dot = '\0';
    for (char *p = m->name; *p; p++)
        if (*p == '\t' || *p == ' ' || *p == ':') *p = '_';
}

char *mz_model_find(const char *arg)
{
    char cat[MZ_NAME_MAX + 8], *path;
    size_t n = strlen(arg);
    /* a path is a path; a name is NAME or NAME.json in the catalogue */
    if (strchr(arg, '/') || (n > 5 && strcmp(arg + n - 5, ".json") == 0)) return mz_find_data(arg);
    if (n >= MZ_NAME_MAX) {
        mz_error("%.*s...: unknown model (a catalogue name has at most %d characters)", 40, arg, MZ_NAME_MAX - 1);
        return NULL;
    }
    snprintf(cat, sizeof cat, "%s.json", arg);
    if (!(path = mz_find_data(cat))) {
        struct stat st;
        if (stat(arg, &st) == 0)
            mz_error("%s: unknown model (not in models/; a name without '/' is a catalogue name: for the file in "
                     "the current directory write ./%s)", arg, arg);
        else
            mz_error("%s: unknown model (not in models/, and not a config.json path)", arg);
    }
    return path;
}

int mz_model_load(const char *arg, mz_model *m)
{
    char *path;
    json_t *root;
    json_error_t jerr;
    int hidden_ffn, moe_ffn, shared_ffn, n_shared;
    const char *method = NULL;
    memset(m, 0, sizeof *m);
    if (!(path = mz_model_find(arg))) return -1;
    root = json_load_file(path, JSON_REJECT_DUPLICATES, &jerr);
    if (!root) {
        mz_error("%s: line %d: invalid JSON: %s", path, jerr.line, jerr.text);
        free(path);
        return -1;
    }
    if (!json_is_object(root)) {
        mz_error("%s: not a JSON object", path);
        goto fail;
    }
    model_name(arg, path, m);
    if (get_int(root, path, KEYS("num_hidden_layers"), 1, 1, 4096, 0, &m->layers) < 0 ||
        get_int(root, path, KEYS("hidden_size"), 1, 1, 1 << 20, 0, &m->hidden) < 0 ||
        get_int(root, path, KEYS("num_experts", "n_routed_experts", "num_local_experts"), 1, 1,
                65536, 0, &m->experts) < 0 ||
        get_int(root, path, KEYS("num_experts_per_tok"), 1, 1, 65536, 0, &m->topk) < 0 ||
        get_int(root, path, KEYS("intermediate_size"), 0, 1, 1 << 24, 0, &hidden_ffn) < 0 ||
        get_int(root, path, KEYS("moe_intermediate_size"), 0, 1, 1 << 24, 0, &moe_ffn) < 0 ||
        get_int(root, path, KEYS("n_shared_experts"), 0, 0, 65536, 0, &n_shared) < 0 ||
        get_int(root, path, KEYS("shared_expert_intermediate_size"), 0, 0, 1 << 24, 0, &shared_ffn) < 0 ||
        get_int(root, path, KEYS("num_attention_heads"), 1, 1, 65536, 0, &m->heads) < 0 ||
        get_int(root, path, KEYS("num_key_value_heads"), 0, 1, 65536, m->heads, &m->kv_heads) < 0 ||
        get_int(root, path, KEYS("vocab_size"), 1, 1, 1 << 30, 0, &m->vocab) < 0 ||
        get_int(root, path, KEYS("n_group"), 0, 1, 65536, 1, &m->groups) < 0 ||
        get_int(root, path, KEYS("topk_group"), 0, 1, 65536, 1, &m->topk_groups) < 0 ||
        get_int(root, path, KEYS("q_lora_rank"), 0, 1, 1 << 20, 0, &m->q_lora_rank) < 0 ||
        get_int(root, path, KEYS("kv_lora_rank"), 0, 1, 1 << 20, 0, &m->kv_lora_rank) < 0 ||
        get_int(root, path, KEYS("qk_nope_head_dim"), 0, 0, 1 << 20, 0, &m->qk_nope_dim) < 0 ||
        get_int(root, path, KEYS("qk_rope_head_dim"), 0, 0, 1 << 20, 0, &m->qk_rope_dim) < 0 ||
        get_int(root, path, KEYS("v_head_dim"), 0, 1, 1 << 20, 0, &m->v_head_dim) < 0)
        goto fail;
    if (m->topk > m->experts) {
        mz_error("%s: num_experts_per_tok (%d) exceeds the number of experts (%d)", path, m->topk,
                 m->experts);
        goto fail;
    }
    if (!moe_ffn && !hidden_ffn) {
        mz_error("%s: missing field 'moe_intermediate_size' or 'intermediate_size'", path);
        goto fail;
    }
    /* MLA models score attention over qk_nope + qk_rope dimensions per head */
    if (get_int(root, path, KEYS("head_dim"), 0, 1, 1 << 20,
                m->kv_lora_rank ? m->qk_nope_dim + m->qk_rope_dim : m->hidden / m->heads, &m->head_dim) < 0)
        goto fail;
    m->ffn = moe_ffn ? moe_ffn : hidden_ffn;
    if (n_shared) {
        m->shared = n_shared;
        m->shared_ffn = m->ffn;
    } else if (shared_ffn) {
        m->shared = 1;
        m->shared_ffn = shared_ffn;
    }
    /* DeepSeek-V2-Lite names groups but routes greedily over all experts */
    {
        json_t *v = json_object_get(root, "topk_method");
        if (v && json_is_string(v)) method = json_string_value(v);
        if (method && strcmp(method, "greedy") == 0) m->groups = m->topk_groups = 1;
    }
    if (m->experts % m->groups || m->topk_groups > m->groups) {
        mz_error("%s: n_group (%d) must divide the experts and be >= topk_group (%d)", path,
                 m->groups, m->topk_groups);
        goto fail;
    }
    if (m->groups > 1 && m->topk > m->topk_groups * (m->experts / m->groups)) {
        mz_error("%s: topk_group (%d) groups hold fewer than num_experts_per_tok experts", path,
                 m->topk_groups);
        goto fail;
    }
    if (m->kv_lora_rank && (!m->qk_rope_dim || !m->v_head_dim)) {
        mz_error("%s: kv_lora_rank given but missing field 'qk_rope_head_dim' or 'v_head_dim'", path);
        goto fail;
    }
    if (m->head_dim < 1) {
        /* derived: hidden_size / num_attention_heads rounds down to 0 */
        mz_error("%s: missing field 'head_dim' (hidden_size %d over %d attention heads leaves none per head)",
                 path, m->hidden, m->heads);
        goto fail;
    }
    m->gated = 1; /* every supported family uses SwiGLU experts */
    if (moe_layers(root, path, m) < 0) goto fail;
    {
        int dense = m->layers - m->n_moe;
        if (dense && !hidden_ffn) {
            mz_error("%s: missing field 'intermediate_size' (the dense layers' FFN width)", path);
            goto fail;
        }
        m->dense_ffn = dense ? hidden_ffn : 0;
    }
    json_decref(root);
    free(path);
    return 0;
fail:
    json_decref(root);
    free(path);
    free(m->moe);
    m->moe = NULL;
    return -1;
}

void mz_model_free(mz_model *m)
{
    free(m->moe);
    m->moe = NULL;
}

int mz_model_moe_index(const mz_model *m, int layer)
{
    int k = 0;
    if (layer < 0 || layer >= m->layers || !m->moe[layer]) return -1;
    for (int l = 0; l < layer; l++) k += m->moe[l];
    return k;
}

void mz_model_to_header(const mz_model *m, mz_header *h)
{
    char ranges[RANGES_MAX];
    int *v = mz_malloc(m->layers * sizeof *v), n = 0;
    mz_buf b = {0};
    for (int l = 0; l < m->layers; l++)
        if (m->moe[l]) v[n++] = l;
    mz_buf_printf(&b,
                  "@MD\tname:%s\tlayers:%d\tmoe:%s\texperts:%d\tshared:%d\ttopk:%d\thidden:%d\tffn:%d"
                  "\tshared_ffn:%d\tdense_ffn:%d\theads:%d\tkv_heads:%d\thead_dim:%d\tvocab:%d"
                  "\tgroups:%d\ttopk_groups:%d\tgated:%d",
                  m->name, m->layers, mz_format_ranges(v, n, ranges, sizeof ranges), m->experts,
                  m->shared, m->topk, m->hidden, m->ffn, m->shared_ffn, m->dense_ffn, m->heads,
                  m->kv_heads, m->head_dim, m->vocab, m->groups, m->topk_groups, m->gated);
    if (m->kv_lora_rank)
        mz_buf_printf(&b, "\tq_lora:%d\tkv_lora:%d\tqk_nope:%d\tqk_rope:%d\tv_head:%d", m->q_lora_rank,
                      m->kv_lora_rank, m->qk_nope_dim, m->qk_rope_dim, m->v_head_dim);
    mz_header_remove(h, "@MD");
    mz_header_add(h, "%s", b.s);
    mz_buf_free(&b);
    free(v);
}

int mz_model_from_header(const mz_header *h, mz_model *m)
{
    int i = mz_header_find(h, "@MD", 0);
    long v;
    char buf[RANGES_MAX + 1];
    int *moe = NULL, n;
    struct {
        const char *key;
        int *dst;
        long lo, hi;
        int optional;
    } f[] = {
        {"layers", &m->layers, 1, 4096, 0},         {"experts", &m->experts, 1, 65536, 0},
        {"shared", &m->shared, 0, 65536, 0},        {"topk", &m->topk, 1, 65536, 0},
        {"hidden", &m->hidden, 1, 1 << 20, 0},      {"ffn", &m->ffn, 1, 1 << 24, 0},
        {"shared_ffn", &m->shared_ffn, 0, 1 << 24, 0}, {"dense_ffn", &m->dense_ffn, 0, 1 << 24, 0},
        {"heads", &m->heads, 1, 65536, 0},          {"kv_heads", &m->kv_heads, 1, 65536, 0},
        {"head_dim", &m->head_dim, 1, 1 << 20, 0},  {"vocab", &m->vocab, 1, 1 << 30, 0},
        {"groups", &m->groups, 1, 65536, 0},        {"topk_groups", &m->topk_groups, 1, 65536, 0},
        {"gated", &m->gated, 0, 1, 0},              {"q_lora", &m->q_lora_rank, 0, 1 << 20, 1},
        {"kv_lora", &m->kv_lora_rank, 0, 1 << 20, 1}, {"qk_nope", &m->qk_nope_dim, 0, 1 << 20, 1},
        {"qk_rope", &m->qk_rope_dim, 0, 1 << 20, 1}, {"v_head", &m->v_head_dim, 0, 1 << 20, 1},
    };
    memset(m, 0, sizeof *m);
    if (i < 0) {
        mz_error("header has no @MD (model) line");
        return -1;
    }
    if (!mz_header_value(h, i, "name", m->name, sizeof m->name)) {
        mz_error("header @MD name: missing");
        return -1;
    }
    for (size_t k = 0; k < sizeof f / sizeof *f; k++) {
        if (f[k].optional && !mz_header_value(h, i, f[k].key, buf, sizeof buf)) continue;
        if (mz_header_long(h, i, f[k].key, f[k].lo, f[k].hi, &v) < 0) return -1;
        *f[k].dst = (int)v;
    }
    if (m->topk > m->experts) {
        mz_error("header @MD topk: %d exceeds experts %d", m->topk, m->experts);
        return -1;
    }
    if (m->experts % m->groups || m->topk_groups > m->groups ||
        m->topk > m->topk_groups * (m->experts / m->groups)) {
        mz_error("header @MD groups: %d groups of the %d experts, %d per token, cannot hold top-%d",
                 m->groups, m->experts, m->topk_groups, m->topk);
        return -1;
    }
    if (!mz_header_value(h, i, "moe", buf, sizeof buf)) {
        mz_error("header @MD moe: missing");
        return -1;
    }
    if (strlen(buf) >= RANGES_MAX) {
        mz_error("header @MD moe: too long for a list of at most 4096 layers");
        return -1;
    }
    if ((n = mz_parse_ranges(buf, 0, m->layers - 1, "header @MD moe", &moe)) < 0) return -1;
    m->moe = mz_calloc(m->layers, 1);
    for (int k = 0; k < n; k++) m->moe[moe[k]] = 1;
    m->n_moe = n;
    free(moe);
    return 0;
}

double mz_model_expert_params(const mz_model *m)
{
    return (m->gated ? 3.0 : 2.0) * m->hidden * m->ffn;
}

double mz_model_shared_params(const mz_model *m)
{
    return (m->gated ? 3.0 : 2.0) * m->hidden * m->shared_ffn;
}

double mz_model_dense_params(const mz_model *m)
{
    return (m->gated ? 3.0 : 2.0) * m->hidden * m->dense_ffn;
}

double mz_model_attn_params(const mz_model *m)
{
    double d = m->hidden;
    if (m->kv_lora_rank) {
        double qk = m->qk_nope_dim + m->qk_rope_dim;
        double q = m->q_lora_rank ? d * m->q_lora_rank + (double)m->q_lora_rank * m->heads * qk
                                  : d * m->heads * qk;
        double kv = d * (m->kv_lora_rank + m->qk_rope_dim) +
                    (double)m->kv_lora_rank * m->heads * (m->qk_nope_dim + m->v_head_dim);
        return q + kv + (double)m->heads * m->v_head_dim * d;
    }
    return d * m->heads * m->head_dim * 2 + 2.0 * d * m->kv_heads * m->head_dim;
}
