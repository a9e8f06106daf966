/* fuzz-model.c: libFuzzer harness of the model reader (Hugging Face config.json) and the @MD line it becomes. */
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    mz_model m, b;
    mz_header h = {0};
    fuzz_reset();
    if (mz_model_load(fuzz_file("model.json", data, size), &m) < 0) return 0;
    FUZZ_CHECK(m.layers >= 1 && m.n_moe >= 1 && m.n_moe <= m.layers, "layers %d, MoE %d", m.layers, m.n_moe);
    FUZZ_CHECK(m.topk >= 1 && m.topk <= m.experts, "top-%d of %d", m.topk, m.experts);
    /* what every downstream tool sees: the model through its @MD line */
    mz_model_to_header(&m, &h);
    FUZZ_CHECK(mz_model_from_header(&h, &b) == 0, "the @MD line of a loaded model does not read back");
    FUZZ_CHECK(strcmp(m.name, b.name) == 0 && m.layers == b.layers && m.n_moe == b.n_moe &&
                   memcmp(m.moe, b.moe, m.layers) == 0 && m.experts == b.experts && m.shared == b.shared &&
                   m.topk == b.topk && m.hidden == b.hidden && m.ffn == b.ffn && m.shared_ffn == b.shared_ffn &&
                   m.dense_ffn == b.dense_ffn && m.heads == b.heads && m.kv_heads == b.kv_heads &&
                   m.head_dim == b.head_dim && m.vocab == b.vocab && m.groups == b.groups &&
                   m.topk_groups == b.topk_groups && m.gated == b.gated && m.kv_lora_rank == b.kv_lora_rank &&
                   (!m.kv_lora_rank || (m.q_lora_rank == b.q_lora_rank && m.qk_nope_dim == b.qk_nope_dim &&
                                        m.qk_rope_dim == b.qk_rope_dim && m.v_head_dim == b.v_head_dim)),
               "the model changes through its @MD line");
    /* sizes are finite */
    FUZZ_CHECK(mz_model_expert_params(&m) >= 0 && mz_model_attn_params(&m) >= 0 &&
                   mz_model_shared_params(&m) >= 0 && mz_model_dense_params(&m) >= 0,
               "parameter counts");
    mz_model_free(&b);
    mz_header_free(&h);
    mz_model_free(&m);
    return 0;
}
