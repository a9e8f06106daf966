/* model.c: MoE model geometry from Hugging Face config.json files and the @MD header line.
 *
 * A config.json names its fields after its model family. The families read
 * (bin/mz-trace.1, MODEL FAMILIES): the flat layouts of Qwen2/Qwen3-MoE,
 * Mixtral, OLMoE, Granite-MoE, Phi-MoE, DeepSeek-V2/V3, Kimi-K2, gpt-oss;
 * Llama-4 (its text model under 'text_config', one shared expert, MoE every
 * interleave_moe_layer_step-th block, chunked attention); DBRX (n_layers,
 * d_model, ffn_config, attn_config); Jamba (MoE every expert_layer_period-th
 * block). quantization_config gives the bytes per weight and activation. */
#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "model.h"

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

/* Where the fields are read from, for messages: "" for the top level,
 * "text_config." or "ffn_config." for a nested object. */
static const char *prefix_of(json_t *root, json_t *obj, json_t *cfg)
{
    static const char *const nested[] = {"text_config", "language_config", "llm_config", "ffn_config",
                                         "attn_config", NULL};
    static char buf[64];
    if (obj == root) return "";
    for (int i = 0; nested[i]; i++) {
        if (json_object_get(root, nested[i]) == obj || (cfg && json_object_get(cfg, nested[i]) == obj)) {
            snprintf(buf, sizeof buf, "%s.", nested[i]);
            return buf;
        }
    }
    return "";
}

/* The config being read: its root, the object with the text model's fields
 * (the root, or its text_config), and the family for messages. */
typedef struct {
    const char *path;
    json_t *root, *cfg;
    char family[96];
} cfg_ctx;

/* Read an integer field of obj; 'need' makes absence an error. Names file and key. */
static int get_int(const cfg_ctx *c, json_t *obj, const char *const *keys, int need, long lo, long hi,
                   int dflt, int *out)
{
    const char *key = keys[0], *pre = prefix_of(c->root, obj, c->cfg);
    json_t *v = first_key(obj, keys, &key);
    long x;
    if (!v) {
        if (need) {
            mz_buf names = {0};
            for (int i = 0; keys[i]; i++)
                mz_buf_printf(&names, "%s%s%s", i ? "' or '" : "", pre, keys[i]);
            mz_error("%s: missing field '%s'%s", c->path, names.s, c->family);
            mz_buf_free(&names);
            return -1;
        }
        *out = dflt;
        return 0;
    }
    if (!json_is_integer(v)) {
        mz_error("%s: field '%s%s' is not an integer", c->path, pre, key);
        return -1;
    }
    x = (long)json_integer_value(v);
    if (x < lo || x > hi) {
        mz_error("%s: field '%s%s' = %ld is out of range [%ld, %ld]", c->path, pre, key, x, lo, hi);
        return -1;
    }
    *out = (int)x;
    return 0;
}

/* Room for a list of layer numbers as ranges ("0-3,7"): at most 4096
 * layers, so 4096 numbers of up to 4 digits, each with a separator. */
#define RANGES_MAX (4096 * 5 + 1)

#define KEYS(...) ((const char *const[]){__VA_ARGS__, NULL})

enum { FAM_FLAT, FAM_LLAMA4, FAM_DBRX, FAM_JAMBA };

/* A string field, or NULL. */
static const char *get_str(json_t *obj, const char *key)
{
    json_t *v = json_object_get(obj, key);
    return v && json_is_string(v) ? json_string_value(v) : NULL;
}

/* A list of layer numbers (mlp_only_layers, moe_layers) into mask[layers]
 * set to 'val'; 0 if absent, -1 on error. */
static int layer_list(const cfg_ctx *c, json_t *obj, const char *key, int layers, uint8_t *mask, int val)
{
    json_t *only = json_object_get(obj, key), *v;
    const char *pre = prefix_of(c->root, obj, c->cfg);
    size_t i;
    if (!only || json_is_null(only)) return 0;
    if (!json_is_array(only)) {
        mz_error("%s: field '%s%s' is not a list", c->path, pre, key);
        return -1;
    }
    json_array_foreach(only, i, v) {
        if (!json_is_integer(v) || json_integer_value(v) < 0 || json_integer_value(v) >= layers) {
            mz_error("%s: field '%s%s' item %zu is not a layer number", c->path, pre, key, i);
            return -1;
        }
        mask[json_integer_value(v)] = (uint8_t)val;
    }
    return 1;
}

/* Which blocks are MoE, from the fields each family uses. */
static int moe_layers(const cfg_ctx *c, int fam, mz_model *m)
{
    json_t *root = c->cfg;
    int first_dense, freq, step, got;
    m->moe = mz_calloc(m->layers, 1);
    if (fam == FAM_LLAMA4) {
        /* moe_layers when given, else every step-th block, the last of each step
         * (transformers: range(step - 1, layers, step)) */
        if ((got = layer_list(c, root, "moe_layers", m->layers, m->moe, 1)) < 0) return -1;
        if (!got) {
            if (get_int(c, root, KEYS("interleave_moe_layer_step"), 0, 1, 1000, 1, &step) < 0) return -1;
            for (int l = step - 1; l < m->layers; l += step) m->moe[l] = 1;
        }
    } else if (fam == FAM_JAMBA) {
        int period, offset;
        if (get_int(c, root, KEYS("expert_layer_period"), 1, 1, 1000, 0, &period) < 0 ||
            get_int(c, root, KEYS("expert_layer_offset"), 1, 0, 1000, 0, &offset) < 0)
            return -1;
        for (int l = 0; l < m->layers; l++) m->moe[l] = l % period == offset;
    } else if (fam == FAM_DBRX) {
        memset(m->moe, 1, m->layers);
    } else {
        if (get_int(c, root, KEYS("first_k_dense_replace"), 0, 0, m->layers, 0, &first_dense) < 0 ||
            get_int(c, root, KEYS("moe_layer_freq"), 0, 1, 1000, 1, &freq) < 0 ||
            get_int(c, root, KEYS("decoder_sparse_step"), 0, 1, 1000, 1, &step) < 0)
            return -1;
        for (int l = 0; l < m->layers; l++)
            m->moe[l] = l >= first_dense && l % freq == 0 && (l + 1) % step == 0;
        if (layer_list(c, root, "mlp_only_layers", m->layers, m->moe, 0) < 0) return -1;
    }
    m->n_moe = 0;
    for (int l = 0; l < m->layers; l++) m->n_moe += m->moe[l];
    if (m->n_moe == 0) {
        mz_error("%s: no MoE layers (check %s)%s", c->path,
                 fam == FAM_LLAMA4  ? "moe_layers, interleave_moe_layer_step"
                 : fam == FAM_JAMBA ? "expert_layer_period, expert_layer_offset"
                                    : "first_k_dense_replace, decoder_sparse_step, mlp_only_layers",
                 c->family);
        return -1;
    }
    return 0;
}

/* Bytes per element of a quantized format of 'bits' bits per weight. */
static double bits_bytes(int bits) { return bits / 8.0; }

/* quantization_config into bytes per weight and activation (FP16/BF16, 2
 * bytes, when there is none). Nominal widths: the per-group or per-block
 * scales of GPTQ, AWQ, FP8 and compressed-tensors (under 3% of the weights)
 * are not counted; MXFP4's shared 8-bit scale per 32 elements is part of its
 * format, 4.25 bits. */
static int quantization(const cfg_ctx *c, mz_model *m)
{
    json_t *q = json_object_get(c->root, "quantization_config");
    const char *method;
    m->weight_bytes = m->other_weight_bytes = m->act_bytes = 2;
    if (!q || json_is_null(q)) q = json_object_get(c->cfg, "quantization_config");
    if (!q || json_is_null(q)) return 0;
    if (!json_is_object(q)) {
        mz_error("%s: field 'quantization_config' is not an object", c->path);
        return -1;
    }
    method = get_str(q, "quant_method");
    if (!method) {
        json_t *b4 = json_object_get(q, "load_in_4bit"), *b8 = json_object_get(q, "load_in_8bit");
        if ((b4 && json_is_true(b4)) || (b8 && json_is_true(b8)))
            method = "bitsandbytes";
        else {
            mz_error("%s: missing field 'quantization_config.quant_method'", c->path);
            return -1;
        }
    }
    snprintf(m->quant, sizeof m->quant, "%s", method);
    if (strcmp(method, "fp8") == 0 || strcmp(method, "fbgemm_fp8") == 0) {
        /* DeepSeek-V3, Kimi-K2: e4m3 weights in 128 x 128 blocks; dynamic or
         * static activation scales mean FP8 activations too */
        json_t *a = json_object_get(q, "activation_scheme");
        m->weight_bytes = m->other_weight_bytes = 1;
        if (a && !json_is_null(a)) m->act_bytes = 1;
    } else if (strcmp(method, "gptq") == 0 || strcmp(method, "awq") == 0) {
        int bits;
        cfg_ctx qc = *c;
        qc.cfg = q;
        if (get_int(&qc, q, KEYS("bits", "w_bit"), 1, 1, 16, 0, &bits) < 0) return -1;
        m->weight_bytes = m->other_weight_bytes = bits_bytes(bits);
    } else if (strcmp(method, "mxfp4") == 0) {
        /* gpt-oss: the MoE experts in MXFP4; attention, router, embeddings
         * and head stay BF16 (modules_to_not_convert) */
        m->weight_bytes = 4.25 / 8;
    } else if (strcmp(method, "bitsandbytes") == 0) {
        json_t *b4 = json_object_get(q, "load_in_4bit");
        m->weight_bytes = m->other_weight_bytes = b4 && json_is_true(b4) ? 0.5 : 1;
    } else if (strcmp(method, "compressed-tensors") == 0) {
        /* the first config group's weight and input-activation widths */
        json_t *groups = json_object_get(q, "config_groups"), *g = NULL, *w, *a;
        const char *gk;
        int bits;
        if (groups && json_is_object(groups)) json_object_foreach(groups, gk, g) break;
        w = g ? json_object_get(g, "weights") : NULL;
        if (!w || !json_is_object(w)) {
            mz_error("%s: missing field 'quantization_config.config_groups.*.weights' (compressed-tensors)",
                     c->path);
            return -1;
        }
        {
            cfg_ctx qc = *c;
            qc.cfg = q;
            if (get_int(&qc, w, KEYS("num_bits"), 1, 1, 32, 0, &bits) < 0) return -1;
            m->weight_bytes = m->other_weight_bytes = bits_bytes(bits);
            a = json_object_get(g, "input_activations");
            if (a && json_is_object(a)) {
                if (get_int(&qc, a, KEYS("num_bits"), 1, 1, 32, 0, &bits) < 0) return -1;
                m->act_bytes = bits_bytes(bits);
            }
        }
    } else {
        mz_error("%s: quantization_config: unknown quant_method '%.40s' (known: fp8, fbgemm_fp8, gptq, awq, "
                 "mxfp4, bitsandbytes, compressed-tensors)", c->path, method);
        return -1;
    }
    return 0;
}

/* Attention span per block: full causal, a sliding window or chunks
 * (layer_types; Llama-4's chunked RoPE blocks; Mistral/Qwen sliding_window). */
static int attention_spans(const cfg_ctx *c, int fam, mz_model *m)
{
    json_t *cfg = c->cfg, *types = json_object_get(cfg, "layer_types"), *v;
    int window = 0, chunk = 0, any = 0;
    uint8_t *kind = mz_calloc(m->layers, 1);
    size_t i;
    if (get_int(c, cfg, KEYS("sliding_window"), 0, 1, 1 << 30, 0, &window) < 0 ||
        get_int(c, cfg, KEYS("attention_chunk_size"), 0, 1, 1 << 30, 0, &chunk) < 0)
        goto fail;
    if (types && !json_is_null(types)) {
        if (!json_is_array(types) || json_array_size(types) != (size_t)m->layers) {
            mz_error("%s: field '%slayer_types' is not a list of %d layer types", c->path,
                     prefix_of(c->root, cfg, c->cfg), m->layers);
            goto fail;
        }
        json_array_foreach(types, i, v) {
            const char *t = json_is_string(v) ? json_string_value(v) : "";
            if (strcmp(t, "full_attention") == 0)
                kind[i] = MZ_ATTN_FULL;
            else if (strcmp(t, "sliding_attention") == 0)
                kind[i] = MZ_ATTN_SLIDING;
            else if (strcmp(t, "chunked_attention") == 0)
                kind[i] = MZ_ATTN_CHUNKED;
            else {
                mz_error("%s: field 'layer_types' item %zu is '%.40s', not full_attention, sliding_attention or "
                         "chunked_attention%s", c->path, i, t, c->family);
                goto fail;
            }
            if ((kind[i] == MZ_ATTN_SLIDING && !window) || (kind[i] == MZ_ATTN_CHUNKED && !chunk)) {
                mz_error("%s: layer_types names %s layers but missing field '%s'", c->path,
                         kind[i] == MZ_ATTN_SLIDING ? "sliding_attention" : "chunked_attention",
                         kind[i] == MZ_ATTN_SLIDING ? "sliding_window" : "attention_chunk_size");
                goto fail;
            }
        }
    } else if (fam == FAM_LLAMA4 && chunk) {
        /* chunked attention in the RoPE blocks: no_rope_layers[l] = 1, else
         * three of every four blocks (transformers' default interval 4) */
        json_t *nr = json_object_get(cfg, "no_rope_layers");
        if (nr && json_is_array(nr) && json_array_size(nr) == (size_t)m->layers) {
            json_array_foreach(nr, i, v) kind[i] = json_is_integer(v) && json_integer_value(v) ? MZ_ATTN_CHUNKED : 0;
        } else {
            for (int l = 0; l < m->layers; l++) kind[l] = (l + 1) % 4 != 0 ? MZ_ATTN_CHUNKED : 0;
        }
    } else if (window) {
        /* Qwen2/Qwen3: use_sliding_window false turns it off; on, it applies
         * from max_window_layers on. Mistral/Mixtral/Phi-MoE: every block. */
        json_t *use = json_object_get(cfg, "use_sliding_window");
        int from = 0;
        if (!use || !json_is_false(use)) {
            if (use && get_int(c, cfg, KEYS("max_window_layers"), 0, 0, 1 << 20, 0, &from) < 0) goto fail;
            for (int l = from; l < m->layers; l++) kind[l] = MZ_ATTN_SLIDING;
        }
    }
    for (int l = 0; l < m->layers; l++) any |= kind[l];
    if (!any) {
        free(kind);
        return 0;
    }
    m->attn_kind = kind;
    m->window = any & MZ_ATTN_SLIDING ? window : 0;
    m->chunk = any & MZ_ATTN_CHUNKED ? chunk : 0;
    return 0;
fail:
    free(kind);
    return -1;
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

/* The family of a config: its layout and, for messages, " (family X)". */
static int family_of(cfg_ctx *c)
{
    const char *type = get_str(c->cfg, "model_type"), *arch = NULL;
    json_t *a = json_object_get(c->root, "architectures");
    if (!type) type = get_str(c->root, "model_type");
    if (a && json_is_array(a) && json_array_size(a) > 0 && json_is_string(json_array_get(a, 0)))
        arch = json_string_value(json_array_get(a, 0));
    c->family[0] = '\0';
    if (type || arch)
        snprintf(c->family, sizeof c->family, " (family %.40s%s%.40s)", type ? type : arch,
                 type && arch ? ", " : "", type && arch ? arch : "");
    if ((type && strncmp(type, "llama4", 6) == 0) || (arch && strncmp(arch, "Llama4", 6) == 0) ||
        json_object_get(c->cfg, "intermediate_size_mlp") || json_object_get(c->cfg, "interleave_moe_layer_step"))
        return FAM_LLAMA4;
    if ((type && strcmp(type, "dbrx") == 0) || json_object_get(c->cfg, "ffn_config")) return FAM_DBRX;
    if ((type && strcmp(type, "jamba") == 0) || json_object_get(c->cfg, "expert_layer_period")) return FAM_JAMBA;
    return FAM_FLAT;
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
    int hidden_ffn = 0, moe_ffn = 0, shared_ffn = 0, n_shared = 0, fam;
    const char *method = NULL;
    cfg_ctx c;
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
    c.path = path, c.root = c.cfg = root;
    /* multimodal configs keep the text model one level down */
    if (!json_object_get(root, "num_hidden_layers") && !json_object_get(root, "n_layers")) {
        static const char *const nested[] = {"text_config", "language_config", "llm_config", NULL};
        for (int i = 0; nested[i]; i++) {
            json_t *t = json_object_get(root, nested[i]);
            if (t && json_is_object(t)) {
                c.cfg = t;
                break;
            }
        }
    }
    fam = family_of(&c);
    if (fam == FAM_DBRX) {
        json_t *ffn = json_object_get(root, "ffn_config"), *att = json_object_get(root, "attn_config");
        if (!ffn || !json_is_object(ffn) || !att || !json_is_object(att)) {
            mz_error("%s: missing field '%s'%s", path, !ffn || !json_is_object(ffn) ? "ffn_config" : "attn_config",
                     c.family);
            goto fail;
        }
        if (get_int(&c, root, KEYS("n_layers"), 1, 1, 4096, 0, &m->layers) < 0 ||
            get_int(&c, root, KEYS("d_model"), 1, 1, 1 << 20, 0, &m->hidden) < 0 ||
            get_int(&c, root, KEYS("n_heads"), 1, 1, 65536, 0, &m->heads) < 0 ||
            get_int(&c, att, KEYS("kv_n_heads"), 0, 1, 65536, m->heads, &m->kv_heads) < 0 ||
            get_int(&c, ffn, KEYS("moe_num_experts"), 1, 1, 65536, 0, &m->experts) < 0 ||
            get_int(&c, ffn, KEYS("moe_top_k"), 1, 1, 65536, 0, &m->topk) < 0 ||
            get_int(&c, ffn, KEYS("ffn_hidden_size"), 1, 1, 1 << 24, 0, &moe_ffn) < 0 ||
            get_int(&c, root, KEYS("vocab_size"), 1, 1, 1 << 30, 0, &m->vocab) < 0)
            goto fail;
        m->groups = m->topk_groups = 1;
    } else {
        json_t *cfg = c.cfg;
        /* a config without any expert count is a dense model: say so */
        if (!first_key(cfg, KEYS("num_experts", "n_routed_experts", "num_local_experts"), NULL) &&
            first_key(cfg, KEYS("num_hidden_layers"), NULL)) {
            const char *pre = prefix_of(root, cfg, cfg);
            mz_error("%s: missing field '%snum_experts' or '%sn_routed_experts' or '%snum_local_experts'%s: a dense "
                     "model? mozart-tools models MoE models only", path, pre, pre, pre, c.family);
            goto fail;
        }
        if (get_int(&c, cfg, KEYS("num_hidden_layers"), 1, 1, 4096, 0, &m->layers) < 0 ||
            get_int(&c, cfg, KEYS("hidden_size"), 1, 1, 1 << 20, 0, &m->hidden) < 0 ||
            get_int(&c, cfg, KEYS("num_experts", "n_routed_experts", "num_local_experts"), 1, 1, 65536, 0,
                    &m->experts) < 0 ||
            get_int(&c, cfg, KEYS("num_experts_per_tok", "experts_per_token"), 1, 1, 65536, 0, &m->topk) < 0 ||
            get_int(&c, cfg, KEYS("intermediate_size"), 0, 1, 1 << 24, 0, &hidden_ffn) < 0 ||
            get_int(&c, cfg, KEYS("moe_intermediate_size"), 0, 1, 1 << 24, 0, &moe_ffn) < 0 ||
            get_int(&c, cfg, KEYS("n_shared_experts"), 0, 0, 65536, 0, &n_shared) < 0 ||
            get_int(&c, cfg, KEYS("shared_expert_intermediate_size", "shared_intermediate_size"), 0, 0, 1 << 24, 0,
                    &shared_ffn) < 0 ||
            get_int(&c, cfg, KEYS("num_attention_heads"), 1, 1, 65536, 0, &m->heads) < 0 ||
            get_int(&c, cfg, KEYS("num_key_value_heads"), 0, 1, 65536, m->heads, &m->kv_heads) < 0 ||
            get_int(&c, cfg, KEYS("vocab_size"), 1, 1, 1 << 30, 0, &m->vocab) < 0 ||
            get_int(&c, cfg, KEYS("n_group"), 0, 1, 65536, 1, &m->groups) < 0 ||
            get_int(&c, cfg, KEYS("topk_group"), 0, 1, 65536, 1, &m->topk_groups) < 0 ||
            get_int(&c, cfg, KEYS("q_lora_rank"), 0, 1, 1 << 20, 0, &m->q_lora_rank) < 0 ||
            get_int(&c, cfg, KEYS("kv_lora_rank"), 0, 1, 1 << 20, 0, &m->kv_lora_rank) < 0 ||
            get_int(&c, cfg, KEYS("qk_nope_head_dim"), 0, 0, 1 << 20, 0, &m->qk_nope_dim) < 0 ||
            get_int(&c, cfg, KEYS("qk_rope_head_dim"), 0, 0, 1 << 20, 0, &m->qk_rope_dim) < 0 ||
            get_int(&c, cfg, KEYS("v_head_dim"), 0, 1, 1 << 20, 0, &m->v_head_dim) < 0)
            goto fail;
        if (fam == FAM_LLAMA4) {
            /* the routed experts are intermediate_size wide, the dense blocks'
             * FFN intermediate_size_mlp; every MoE block has one shared expert
             * as wide as a routed one (transformers' Llama4TextMoe) */
            if (!hidden_ffn) {
                mz_error("%s: missing field '%sintermediate_size'%s", path, prefix_of(root, cfg, cfg), c.family);
                goto fail;
            }
            moe_ffn = hidden_ffn;
            if (get_int(&c, cfg, KEYS("intermediate_size_mlp"), 0, 1, 1 << 24, 0, &hidden_ffn) < 0) goto fail;
            n_shared = 1;
        }
    }
    if (m->topk > m->experts) {
        mz_error("%s: num_experts_per_tok (%d) exceeds the number of experts (%d)", path, m->topk,
                 m->experts);
        goto fail;
    }
    if (!moe_ffn && !hidden_ffn) {
        mz_error("%s: missing field 'moe_intermediate_size' or 'intermediate_size'%s", path, c.family);
        goto fail;
    }
    /* MLA models score attention over qk_nope + qk_rope dimensions per head */
    if (get_int(&c, c.cfg, KEYS("head_dim"), 0, 1, 1 << 20,
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
        json_t *v = json_object_get(c.cfg, "topk_method");
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
    m->gated = 1; /* every supported family uses gated (SwiGLU or GLU) experts */
    if (moe_layers(&c, fam, m) < 0) goto fail;
    {
        int dense = m->layers - m->n_moe;
        if (dense && !hidden_ffn) {
            mz_error("%s: missing field '%s' (the dense layers' FFN width)", path,
                     fam == FAM_LLAMA4 ? "intermediate_size_mlp" : "intermediate_size");
            goto fail;
        }
        m->dense_ffn = dense ? hidden_ffn : 0;
    }
    if (quantization(&c, m) < 0 || attention_spans(&c, fam, m) < 0) goto fail;
    json_decref(root);
    free(path);
    return 0;
fail:
    json_decref(root);
    free(path);
    mz_model_free(m);
    return -1;
}

void mz_model_free(mz_model *m)
{
    free(m->moe);
    free(m->attn_kind);
    m->moe = NULL;
    m->attn_kind = NULL;
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
    /* only what differs from FP16 and full attention, so that the header of
     * such a model reads as before */
    if (m->quant[0])
        mz_buf_printf(&b, "\tquant:%s\tweight_bytes:%.10g\tother_weight_bytes:%.10g\tact_bytes:%.10g", m->quant,
                      m->weight_bytes, m->other_weight_bytes, m->act_bytes);
    for (int kind = MZ_ATTN_SLIDING; kind <= MZ_ATTN_CHUNKED && m->attn_kind; kind++) {
        n = 0;
        for (int l = 0; l < m->layers; l++)
            if (m->attn_kind[l] == kind) v[n++] = l;
        if (n)
            mz_buf_printf(&b, "\t%s:%s\t%s:%d", kind == MZ_ATTN_SLIDING ? "sliding" : "chunked",
                          mz_format_ranges(v, n, ranges, sizeof ranges), kind == MZ_ATTN_SLIDING ? "window" : "chunk",
                          kind == MZ_ATTN_SLIDING ? m->window : m->chunk);
    }
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
    /* quantization and attention spans: optional, FP16 and full by default */
    m->weight_bytes = m->other_weight_bytes = m->act_bytes = 2;
    if (mz_header_value(h, i, "quant", m->quant, sizeof m->quant)) {
        double *dst[3] = {&m->weight_bytes, &m->other_weight_bytes, &m->act_bytes};
        const char *keys[3] = {"weight_bytes", "other_weight_bytes", "act_bytes"};
        for (int k = 0; k < 3; k++)
            if (mz_header_double(h, i, keys[k], 0.01, 16, dst[k]) < 0) goto fail;
    }
    for (int kind = MZ_ATTN_SLIDING; kind <= MZ_ATTN_CHUNKED; kind++) {
        const char *key = kind == MZ_ATTN_SLIDING ? "sliding" : "chunked";
        char what[64];
        if (!mz_header_value(h, i, key, buf, sizeof buf)) continue;
        snprintf(what, sizeof what, "header @MD %s", key);
        if ((n = mz_parse_ranges(buf, 0, m->layers - 1, what, &moe)) < 0) goto fail;
        if (mz_header_long(h, i, kind == MZ_ATTN_SLIDING ? "window" : "chunk", 1, 1 << 30, &v) < 0) {
            free(moe);
            goto fail;
        }
        *(kind == MZ_ATTN_SLIDING ? &m->window : &m->chunk) = (int)v;
        if (!m->attn_kind) m->attn_kind = mz_calloc(m->layers, 1);
        for (int k = 0; k < n; k++) m->attn_kind[moe[k]] = (uint8_t)kind;
        free(moe);
    }
    return 0;
fail:
    mz_model_free(m);
    return -1;
}

double mz_model_attn_pairs(const mz_model *m, int layer, double n)
{
    int kind = m->attn_kind && layer >= 0 && layer < m->layers ? m->attn_kind[layer] : MZ_ATTN_FULL;
    if (n <= 0) return 0;
    if (kind == MZ_ATTN_SLIDING && n > m->window) {
        double w = m->window;
        return w * (w + 1) / 2 + (n - w) * w;
    }
    if (kind == MZ_ATTN_CHUNKED && n > m->chunk) {
        double ch = m->chunk, q = floor(n / ch), r = n - q * ch;
        return q * ch * (ch + 1) / 2 + r * (r + 1) / 2;
    }
    return n * (n + 1) / 2;
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
