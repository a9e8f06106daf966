/* unit-model.c: unit tests of the model catalogue: config.json fields, the @MD header line, errors. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../lib/place.h"
#include "unit.h"

#ifndef DATA_DIR
#define DATA_DIR "test/data"
#endif

static char tmpdir[] = "/tmp/mz-unit-model-XXXXXX";

static int errmsg_has(const char *s) { return strstr(mz_errmsg(), s) != NULL; }

/* What each catalogue config.json must give (read off the Hugging Face
 * configs and the model papers). moe_first: first MoE layer; all later
 * layers are MoE in every catalogue model. */
static const struct want {
    const char *name;
    int layers, n_moe, moe_first, experts, shared, topk, hidden, ffn, shared_ffn, dense_ffn;
    int heads, kv_heads, head_dim, vocab, groups, topk_groups;
    int q_lora, kv_lora, qk_nope, qk_rope, v_head;
} catalogue[] = {
    {"qwen3-30b-a3b", 48, 48, 0, 128, 0, 8, 2048, 768, 0, 0, 32, 4, 128, 151936, 1, 1, 0, 0, 0, 0, 0},
    {"olmoe-1b-7b-0924", 16, 16, 0, 64, 0, 8, 2048, 1024, 0, 0, 16, 16, 128, 50304, 1, 1, 0, 0, 0, 0, 0},
    {"deepseek-moe-16b-base", 28, 27, 1, 64, 2, 6, 2048, 1408, 1408, 10944, 16, 16, 128, 102400, 1, 1,
     0, 0, 0, 0, 0},
    {"qwen1.5-moe-a2.7b", 24, 24, 0, 60, 1, 4, 2048, 1408, 5632, 0, 16, 16, 128, 151936, 1, 1, 0, 0, 0,
     0, 0},
    /* V2-Lite names n_group 1 and routes greedily: no group limit */
    {"deepseek-v2-lite", 27, 26, 1, 64, 2, 6, 2048, 1408, 1408, 10944, 16, 16, 192, 102400, 1, 1, 0,
     512, 128, 64, 128},
    {"mixtral-8x7b", 32, 32, 0, 8, 0, 2, 4096, 14336, 0, 0, 32, 8, 128, 32000, 1, 1, 0, 0, 0, 0, 0},
    {"deepseek-v3", 61, 58, 3, 256, 1, 8, 7168, 2048, 2048, 18432, 128, 128, 192, 129280, 8, 4, 1536,
     512, 128, 64, 128},
};

static int model_is(const mz_model *m, const struct want *w)
{
    int ok = m->layers == w->layers && m->n_moe == w->n_moe && m->experts == w->experts &&
             m->shared == w->shared && m->topk == w->topk && m->hidden == w->hidden && m->ffn == w->ffn &&
             m->shared_ffn == w->shared_ffn && m->dense_ffn == w->dense_ffn && m->heads == w->heads &&
             m->kv_heads == w->kv_heads && m->head_dim == w->head_dim && m->vocab == w->vocab &&
             m->groups == w->groups && m->topk_groups == w->topk_groups && m->gated == 1 &&
             m->q_lora_rank == w->q_lora && m->kv_lora_rank == w->kv_lora && m->qk_nope_dim == w->qk_nope &&
             m->qk_rope_dim == w->qk_rope && m->v_head_dim == w->v_head;
    for (int l = 0; l < m->layers; l++)
        if (m->moe[l] != (l >= w->moe_first)) ok = 0;
    return ok;
}

static void print_model(const mz_model *m)
{
    printf("#   %s: layers %d moe %d experts %d shared %d topk %d hidden %d ffn %d shared_ffn %d "
           "dense_ffn %d heads %d kv %d head_dim %d vocab %d groups %d/%d mla %d %d %d %d %d\n",
           m->name, m->layers, m->n_moe, m->experts, m->shared, m->topk, m->hidden, m->ffn,
           m->shared_ffn, m->dense_ffn, m->heads, m->kv_heads, m->head_dim, m->vocab, m->groups,
           m->topk_groups, m->q_lora_rank, m->kv_lora_rank, m->qk_nope_dim, m->qk_rope_dim,
           m->v_head_dim);
}

static void test_catalogue(void)
{
    for (size_t i = 0; i < sizeof catalogue / sizeof *catalogue; i++) {
        const struct want *w = &catalogue[i];
        mz_model m, back;
        mz_header h = {0};
        int ok;
        if (mz_model_load(w->name, &m) < 0) {
            CHECK(0, "load %s: %s", w->name, mz_errmsg());
            continue;
        }
        CHECK(strcmp(m.name, w->name) == 0, "%s: name from the catalogue", w->name);
        ok = model_is(&m, w);
        CHECK(ok, "%s: %d layers (%d MoE from layer %d), %d experts + %d shared, top-%d, ffn %d",
              w->name, w->layers, w->n_moe, w->moe_first, w->experts, w->shared, w->topk, w->ffn);
        if (!ok) print_model(&m);
        /* @MD carries every field downstream */
        mz_model_to_header(&m, &h);
        CHECK(h.n == 1 && strncmp(h.line[0], "@MD\tname:", 9) == 0, "%s: one @MD line", w->name);
        ok = mz_model_from_header(&h, &back) == 0;
        CHECK(ok && strcmp(back.name, m.name) == 0 && model_is(&back, w), "%s: @MD round trip (%s)",
              w->name, ok ? "ok" : mz_errmsg());
        if (ok) mz_model_free(&back);
        /* a second to_header replaces the line */
        mz_model_to_header(&m, &h);
        CHECK(h.n == 1, "%s: to_header replaces an existing @MD", w->name);
        mz_header_free(&h);
        mz_model_free(&m);
    }
}

static void test_derived(void)
{
    mz_model m;
    if (mz_model_load("qwen3-30b-a3b", &m) == 0) {
        CHECK(mz_model_expert_params(&m) == 3.0 * 2048 * 768, "qwen3 expert: 3 x 2048 x 768 parameters");
        CHECK(mz_model_shared_params(&m) == 0, "qwen3: no shared expert");
        /* q and o: 2048 x 32 x 128 each; k and v: 2048 x 4 x 128 each */
        CHECK(mz_model_attn_params(&m) == 2.0 * 2048 * 4096 + 2.0 * 2048 * 512,
              "qwen3 attention (GQA) parameters = %g", mz_model_attn_params(&m));
        CHECK(mz_model_moe_index(&m, 0) == 0 && mz_model_moe_index(&m, 47) == 47 &&
                  mz_model_moe_index(&m, 48) == -1 && mz_model_moe_index(&m, -1) == -1,
              "qwen3 MoE index = layer number");
        mz_model_free(&m);
    }
    if (mz_model_load("deepseek-moe-16b-base", &m) == 0) {
        CHECK(mz_model_moe_index(&m, 0) == -1 && mz_model_moe_index(&m, 1) == 0 &&
                  mz_model_moe_index(&m, 27) == 26,
              "deepseek-moe-16b: layer 0 dense, layer 1 is MoE layer 0");
        CHECK(mz_model_dense_params(&m) == 3.0 * 2048 * 10944, "deepseek-moe-16b dense FFN parameters");
        CHECK(mz_model_shared_params(&m) == 3.0 * 2048 * 1408, "one shared expert = one routed expert");
        mz_model_free(&m);
    }
    if (mz_model_load("deepseek-v3", &m) == 0) {
        /* MLA: q = d*q_lora + q_lora*H*(nope+rope); kv = d*(kv_lora+rope) +
         * kv_lora*H*(nope+v); o = H*v*d */
        double d = 7168, H = 128;
        double want = d * 1536 + 1536 * H * 192 + d * (512 + 64) + 512 * H * (128 + 128) + H * 128 * d;
        CHECK(mz_model_attn_params(&m) == want, "deepseek-v3 MLA attention parameters = %g (want %g)",
              mz_model_attn_params(&m), want);
        mz_model_free(&m);
    }
}

static const char *write_config(const char *dir, const char *json)
{
    static char path[512];
    char d[400];
    FILE *fp;
    snprintf(d, sizeof d, "%s/%s", tmpdir, dir);
    {
        char cmd[600];
        snprintf(cmd, sizeof cmd, "mkdir -p '%s'", d);
        if (system(cmd) != 0) return NULL;
    }
    snprintf(path, sizeof path, "%s/config.json", d);
    fp = fopen(path, "w");
    fputs(json, fp);
    fclose(fp);
    return path;
}

#define BASE                                                                                  \
    "\"num_hidden_layers\": 4, \"hidden_size\": 64, \"num_attention_heads\": 4, \"vocab_size\": 100, " \
    "\"intermediate_size\": 256, \"moe_intermediate_size\": 32, \"num_experts_per_tok\": 2"

static void test_config_paths(void)
{
    mz_model m;
    const char *p;
    struct {
        const char *json, *moe; /* moe: '1' per MoE layer */
    } layouts[] = {
        {"{" BASE ", \"num_experts\": 8}", "1111"},
        {"{" BASE ", \"num_experts\": 8, \"decoder_sparse_step\": 2}", "0101"},
        {"{" BASE ", \"num_experts\": 8, \"mlp_only_layers\": [0, 3]}", "0110"},
        {"{" BASE ", \"n_routed_experts\": 8, \"first_k_dense_replace\": 2}", "0011"},
        {"{" BASE ", \"n_routed_experts\": 8, \"moe_layer_freq\": 2, \"first_k_dense_replace\": 1}", "0010"},
        {"{" BASE ", \"num_local_experts\": 8, \"mlp_only_layers\": null}", "1111"},
    };
    for (size_t i = 0; i < sizeof layouts / sizeof *layouts; i++) {
        char got[8] = "";
        p = write_config("layout", layouts[i].json);
        if (mz_model_load(p, &m) < 0) {
            CHECK(0, "layout %zu loads: %s", i, mz_errmsg());
            continue;
        }
        for (int l = 0; l < m.layers; l++) got[l] = m.moe[l] ? '1' : '0';
        CHECK(strcmp(got, layouts[i].moe) == 0 && strcmp(m.name, "layout") == 0 && m.experts == 8,
              "config %zu: MoE layers %s (want %s), name from the directory", i, got, layouts[i].moe);
        mz_model_free(&m);
    }
    p = write_config("qwen2", "{" BASE ", \"num_experts\": 8, \"shared_expert_intermediate_size\": 96}");
    CHECK(mz_model_load(p, &m) == 0 && m.shared == 1 && m.shared_ffn == 96 && m.ffn == 32 && m.dense_ffn == 0 &&
              m.head_dim == 16 && m.kv_heads == 4,
          "a Qwen2-MoE style shared expert of width 96; head_dim = hidden / heads; kv_heads = heads");
    mz_model_free(&m);
    p = write_config("nomoeffn", "{\"num_hidden_layers\": 2, \"hidden_size\": 64, \"num_attention_heads\": 4,"
                                 " \"vocab_size\": 100, \"intermediate_size\": 256, \"num_local_experts\": 4,"
                                 " \"num_experts_per_tok\": 2}");
    CHECK(mz_model_load(p, &m) == 0 && m.ffn == 256 && m.dense_ffn == 0,
          "Mixtral style: intermediate_size is the expert width");
    mz_model_free(&m);

    /* a catalogue file copied elsewhere and named by path */
    {
        char cmd[700];
        const char *q = write_config("copy", "{}");
        snprintf(cmd, sizeof cmd, "cp models/deepseek-v3.json '%s' 2>/dev/null || cp ../models/deepseek-v3.json '%s'", q, q);
        if (system(cmd) == 0 && mz_model_load(q, &m) == 0) {
            CHECK(strcmp(m.name, "copy") == 0 && model_is(&m, &catalogue[6]),
                  "deepseek-v3 config.json at another path: same geometry, named 'copy'");
            mz_model_free(&m);
        } else {
            CHECK(0, "copy of deepseek-v3.json loads: %s", mz_errmsg());
        }
    }
}

static void test_config_errors(void)
{
    mz_model m;
    const char *p;
    const struct {
        const char *json, *msg;
    } bad[] = {
        {"{\"hidden_size\": 64, \"num_attention_heads\": 4, \"vocab_size\": 100, \"num_experts\": 8,"
         " \"num_experts_per_tok\": 2, \"intermediate_size\": 8}",
         "missing field 'num_hidden_layers'"},
        {"{" BASE "}", "missing field 'num_experts' or 'n_routed_experts' or 'num_local_experts'"},
        {"{\"num_hidden_layers\": 4, \"hidden_size\": 64, \"num_attention_heads\": 4, \"vocab_size\": 100,"
         " \"num_experts\": 8, \"intermediate_size\": 8}",
         "missing field 'num_experts_per_tok'"},
        {"{\"num_hidden_layers\": 4, \"hidden_size\": 64, \"num_attention_heads\": 4, \"vocab_size\": 100,"
         " \"num_experts\": 8, \"num_experts_per_tok\": 2}",
         "missing field 'moe_intermediate_size' or 'intermediate_size'"},
        {"{" BASE ", \"num_experts\": \"8\"}", "field 'num_experts' is not an integer"},
        {"{" BASE ", \"num_experts\": 8.5}", "field 'num_experts' is not an integer"},
        {"{" BASE ", \"num_experts\": 0}", "field 'num_experts' = 0 is out of range"},
        {"{" BASE ", \"num_experts\": 1}", "num_experts_per_tok (2) exceeds"},
        {"{" BASE ", \"num_experts\": 8, \"n_group\": 3}", "n_group (3) must divide"},
        {"{" BASE ", \"num_experts\": 8, \"n_group\": 8, \"topk_group\": 1}", "hold fewer than"},
        {"{" BASE ", \"num_experts\": 8, \"first_k_dense_replace\": 4}", "no MoE layers"},
        {"{" BASE ", \"num_experts\": 8, \"mlp_only_layers\": [9]}", "'mlp_only_layers' item 0"},
        {"{" BASE ", \"num_experts\": 8, \"mlp_only_layers\": 3}", "'mlp_only_layers' is not a list"},
        {"{" BASE ", \"num_experts\": 8, \"kv_lora_rank\": 64}", "missing field 'qk_rope_head_dim'"},
        {"{\"num_hidden_layers\": 4, \"hidden_size\": 64, \"num_attention_heads\": 4, \"vocab_size\": 100,"
         " \"moe_intermediate_size\": 32, \"num_experts_per_tok\": 2, \"num_experts\": 8,"
         " \"first_k_dense_replace\": 1}",
         "missing field 'intermediate_size'"},
        {"{" BASE ", \"num_experts\": 8,}", "invalid JSON"},
        {"[1, 2]", "not a JSON object"},
        {"{" BASE ", \"num_experts\": 8, \"num_experts\": 9}", "invalid JSON"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        p = write_config("bad", bad[i].json);
        if (mz_model_load(p, &m) == 0) {
            CHECK(0, "config %zu should fail with \"%s\"", i, bad[i].msg);
            mz_model_free(&m);
            continue;
        }
        CHECK(errmsg_has(bad[i].msg) && errmsg_has(p), "config %zu: error names the file and \"%s\" (%s)", i,
              bad[i].msg, mz_errmsg());
    }
    CHECK(mz_model_load("no-such-model", &m) < 0 && errmsg_has("no-such-model: unknown model"),
          "an unknown catalogue name (%s)", mz_errmsg());
    CHECK(mz_model_load("/no/such/config.json", &m) < 0 && errmsg_has("/no/such/config.json"),
          "a missing path is named (%s)", mz_errmsg());
}

static void test_header_errors(void)
{
    mz_model m, back;
    mz_header h = {0};
    const char *drop[] = {"name", "layers", "moe", "experts", "topk", "ffn", "groups", "gated"};
    if (mz_model_load("deepseek-moe-16b-base", &m) < 0) return;
    for (size_t i = 0; i < sizeof drop / sizeof *drop; i++) {
        char *line, *p, key[32];
        mz_model_to_header(&m, &h);
        line = h.line[0];
        snprintf(key, sizeof key, "\t%s:", drop[i]);
        p = strstr(line, key);
        memmove(p, p + 1 + strcspn(p + 1, "\t"), strlen(p + 1 + strcspn(p + 1, "\t")) + 1);
        snprintf(key, sizeof key, "header @MD %s: missing", drop[i]);
        CHECK(mz_model_from_header(&h, &back) < 0 && errmsg_has(key), "@MD without %s: '%s'", drop[i],
              mz_errmsg());
        mz_header_free(&h);
    }
    mz_model_to_header(&m, &h);
    {
        char *p = strstr(h.line[0], "\tmoe:1-27");
        CHECK(p != NULL, "deepseek-moe-16b @MD says moe:1-27");
        if (p) p[7] = '9'; /* moe:1-97 */
        CHECK(mz_model_from_header(&h, &back) < 0 && errmsg_has("header @MD moe"),
              "@MD moe beyond the layers is refused (%s)", mz_errmsg());
    }
    mz_header_free(&h);
    CHECK(mz_model_from_header(&h, &back) < 0 && errmsg_has("no @MD"), "a header without @MD");
    mz_model_free(&m);
}

/* The config families of test/data/ (their sources: test/data/README): what
 * each must give. first_moe/moe_step: MoE blocks are first_moe,
 * first_moe + moe_step, ... */
static const struct family {
    const char *file;
    int layers, n_moe, first_moe, moe_step, experts, shared, topk, ffn, shared_ffn, dense_ffn;
    double wbytes, obytes, abytes;
    int window, chunk, local_layers;
} families[] = {
    {"llama-4-scout-17b-16e-instruct.json", 48, 48, 0, 1, 16, 1, 1, 8192, 8192, 0, 2, 2, 2, 0, 8192, 36},
    {"llama-4-scout-text-flat.json", 48, 48, 0, 1, 16, 1, 1, 8192, 8192, 0, 2, 2, 2, 0, 8192, 36},
    {"llama-4-maverick-17b-128e-instruct.json", 48, 24, 1, 2, 128, 1, 1, 8192, 8192, 16384, 2, 2, 2, 0, 8192, 36},
    {"dbrx-instruct.json", 40, 40, 0, 1, 16, 0, 4, 10752, 0, 0, 2, 2, 2, 0, 0, 0},
    {"jamba-v0.1.json", 32, 16, 1, 2, 16, 0, 2, 14336, 0, 14336, 2, 2, 2, 0, 0, 0},
    {"gpt-oss-20b.json", 24, 24, 0, 1, 32, 0, 4, 2880, 0, 0, 0.53125, 2, 2, 128, 0, 12},
    {"kimi-k2-instruct.json", 61, 60, 1, 1, 384, 1, 8, 2048, 2048, 18432, 1, 1, 1, 0, 0, 0},
    {"granite-3.0-3b-a800m-instruct.json", 32, 32, 0, 1, 40, 0, 8, 512, 0, 0, 2, 2, 2, 0, 0, 0},
    {"phi-3.5-moe-instruct.json", 32, 32, 0, 1, 16, 0, 2, 6400, 0, 0, 2, 2, 2, 131072, 0, 32},
    {"qwen1.5-moe-a2.7b-chat-gptq-int4.json", 24, 24, 0, 1, 60, 1, 4, 1408, 5632, 0, 0.5, 0.5, 2, 0, 0, 0},
    {"mixtral-8x7b-instruct-v0.1-awq.json", 32, 32, 0, 1, 8, 0, 2, 14336, 0, 0, 0.5, 0.5, 2, 0, 0, 0},
};

static int family_is(const mz_model *m, const struct family *f)
{
    int ok = m->layers == f->layers && m->n_moe == f->n_moe && m->experts == f->experts &&
             m->shared == f->shared && m->topk == f->topk && m->ffn == f->ffn && m->shared_ffn == f->shared_ffn &&
             m->dense_ffn == f->dense_ffn && m->weight_bytes == f->wbytes && m->other_weight_bytes == f->obytes &&
             m->act_bytes == f->abytes && m->window == f->window && m->chunk == f->chunk;
    int local = 0;
    for (int l = 0; l < m->layers; l++) {
        if (m->moe[l] != (l >= f->first_moe && (l - f->first_moe) % f->moe_step == 0)) ok = 0;
        local += m->attn_kind && m->attn_kind[l] != MZ_ATTN_FULL;
    }
    return ok && local == f->local_layers;
}

static void test_families(void)
{
    char path[512];
    for (size_t i = 0; i < sizeof families / sizeof *families; i++) {
        const struct family *f = &families[i];
        mz_model m, back;
        mz_header h = {0};
        snprintf(path, sizeof path, "%s/%s", DATA_DIR, f->file);
        if (mz_model_load(path, &m) < 0) {
            CHECK(0, "load %s: %s", f->file, mz_errmsg());
            continue;
        }
        CHECK(family_is(&m, f), "%s: %d layers (%d MoE), %d experts + %d shared, top-%d, %g bytes per expert weight",
              f->file, f->layers, f->n_moe, f->experts, f->shared, f->topk, f->wbytes);
        mz_model_to_header(&m, &h);
        CHECK(mz_model_from_header(&h, &back) == 0 && family_is(&back, f), "%s: @MD round trip", f->file);
        mz_model_free(&back);
        mz_header_free(&h);
        mz_model_free(&m);
    }
    /* gpt-oss: sliding layers see at most 128 tokens, full layers all */
    {
        mz_model m;
        snprintf(path, sizeof path, "%s/gpt-oss-20b.json", DATA_DIR);
        if (mz_model_load(path, &m) == 0) {
            CHECK(mz_model_attn_pairs(&m, 0, 256) == 128.0 * 129 / 2 + 128.0 * 128, "gpt-oss layer 0 (sliding 128): %g pairs over 256 tokens",
                  mz_model_attn_pairs(&m, 0, 256));
            CHECK(mz_model_attn_pairs(&m, 1, 256) == 256.0 * 257 / 2, "gpt-oss layer 1 (full): 256*257/2 pairs");
            CHECK(mz_model_attn_pairs(&m, 0, 100) == 100.0 * 101 / 2, "a sequence shorter than the window: full");
            mz_model_free(&m);
        }
        snprintf(path, sizeof path, "%s/llama-4-scout-17b-16e-instruct.json", DATA_DIR);
        if (mz_model_load(path, &m) == 0) {
            CHECK(mz_model_attn_pairs(&m, 0, 20000) == 2 * 8192.0 * 8193 / 2 + 3616.0 * 3617 / 2,
                  "llama-4 layer 0 (chunks of 8192): two whole chunks and 3616 tokens");
            CHECK(mz_model_attn_pairs(&m, 3, 20000) == 20000.0 * 20001 / 2, "llama-4 layer 3 (NoPE, full)");
            mz_model_free(&m);
        }
    }
    /* a dense model and an unknown layout are refused, naming the family and the field */
    {
        mz_model m;
        snprintf(path, sizeof path, "%s/llama-3.1-8b.json", DATA_DIR);
        CHECK(mz_model_load(path, &m) < 0 && errmsg_has("family llama, LlamaForCausalLM") &&
                  errmsg_has("missing field 'num_experts' or 'n_routed_experts' or 'num_local_experts'") &&
                  errmsg_has("dense model"),
              "a dense Llama is refused (%s)", mz_errmsg());
        snprintf(path, sizeof path, "%s/gpt2.json", DATA_DIR);
        CHECK(mz_model_load(path, &m) < 0 && errmsg_has("missing field 'num_hidden_layers' (family gpt2, GPT2LMHeadModel)"),
              "an unknown layout is refused (%s)", mz_errmsg());
    }
}

int main(void)
{
    if (!mkdtemp(tmpdir)) {
        perror("mkdtemp");
        return 1;
    }
    test_catalogue();
    test_derived();
    test_config_paths();
    test_config_errors();
    test_header_errors();
    test_families();
    {
        char cmd[300];
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
        if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", tmpdir);
    }
    return unit_done();
}
