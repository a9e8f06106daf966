/* model.h: private to libmz: MoE model geometry (model.c). */
#ifndef MZ_MODEL_H
#define MZ_MODEL_H

#include "io.h"

/* ---------------------------------------------------------------- models
 * MoE model geometry, from a Hugging Face config.json or from the @MD
 * header line that carries it downstream. */
#define MZ_NAME_MAX 64
typedef struct {
    char name[MZ_NAME_MAX];
    int layers;            /* transformer blocks */
    uint8_t *moe;          /* [layers]: 1 if the block's FFN is MoE */
    int n_moe;             /* number of MoE blocks */
    int experts;           /* routed experts per MoE block */
    int shared;            /* shared experts per MoE block */
    int topk;              /* routed experts per token */
    int hidden;            /* model width */
    int ffn;               /* routed expert FFN width */
    int shared_ffn;        /* FFN width of one shared expert (0 if none) */
    int dense_ffn;         /* FFN width of dense blocks (0 if none) */
    int heads, kv_heads, head_dim;
    int vocab;
    int groups, topk_groups; /* group-limited routing (1, 1 if none) */
    int gated;             /* 1: SwiGLU (3 matrices), 0: 2 matrices */
    /* multi-head latent attention (DeepSeek-V2/V3); 0 when absent */
    int q_lora_rank, kv_lora_rank, qk_nope_dim, qk_rope_dim, v_head_dim;
    /* Bytes per element, from quantization_config (2, FP16/BF16, without
     * one): weight_bytes for the routed and shared experts' weights,
     * other_weight_bytes for attention, router and dense FFN weights,
     * act_bytes for activations. E.g. FP8 (DeepSeek-V3, Kimi-K2) 1, 1, 1;
     * GPTQ/AWQ int4 0.5, 0.5, 2; MXFP4 (gpt-oss) 0.53125, 2, 2. quant: the
     * quant_method, "" when none. (Carried in @MD; mz-sched does not use
     * them yet: its bytes per element are mz_sched_opts.bytes.) */
    double weight_bytes, other_weight_bytes, act_bytes;
    char quant[24];
    /* Attention span of each block: MZ_ATTN_* per layer, or NULL when every
     * block attends to its whole causal prefix; window (sliding) and chunk
     * (chunked) in tokens, 0 when no block uses them. */
    uint8_t *attn_kind;
    int window, chunk;
} mz_model;
enum { MZ_ATTN_FULL = 0, MZ_ATTN_SLIDING = 1, MZ_ATTN_CHUNKED = 2 };

/* Load a catalogue name (NAME or NAME.json: models/NAME.json) or a path
 * (anything with a '/', such as ./config.json); see mz_find_data.
 * m: free with mz_model_free (nothing to free on failure). */
int mz_model_load(const char *name_or_path, mz_model *m);
/* The file mz_model_load reads for name_or_path (malloc'ed), or NULL. */
char *mz_model_find(const char *name_or_path);
/* m: free with mz_model_free. */
int mz_model_from_header(const mz_header *h, mz_model *m);
void mz_model_to_header(const mz_model *m, mz_header *h);
void mz_model_free(mz_model *m);
/* Index of each MoE layer among MoE layers, -1 for dense: [layers]. */
int mz_model_moe_index(const mz_model *m, int layer);
/* Parameters (elements) of one routed expert, one shared expert, one dense
 * FFN, the attention block and the router of one layer. */
double mz_model_expert_params(const mz_model *m);
double mz_model_shared_params(const mz_model *m);
double mz_model_dense_params(const mz_model *m);
double mz_model_attn_params(const mz_model *m);
/* Query-key pairs that causal attention of block 'layer' scores over a
 * sequence of n tokens: n(n+1)/2 for full attention; with a sliding window
 * W a token sees at most W tokens (itself included): W(W+1)/2 + (n-W)W for
 * n > W; with chunks of C tokens a token sees its chunk's tokens up to
 * itself: q C(C+1)/2 + r(r+1)/2, n = qC + r. Attention FLOPs per head
 * dimension are 4 times this (scores and values, forward). */
double mz_model_attn_pairs(const mz_model *m, int layer, double n);

#endif
