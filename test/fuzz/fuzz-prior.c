/* fuzz-prior.c: libFuzzer harness of the routing-prior reader, the writer's round trip and the generator it feeds. */
#include "fuzz.h"

/* A model that the prior fits: its layers are MoE, the others dense;
 * group-limited routing when 'groups' is 2 (returns -1 if no such model). */
static int model_for(const mz_prior *p, int groups, mz_model *m)
{
    memset(m, 0, sizeof *m);
    if (p->topk > p->experts || p->n_layers == 0) return -1;
    if (groups > 1 && (p->experts % groups || p->topk > p->experts / groups)) return -1;
    snprintf(m->name, sizeof m->name, "%s", p->model);
    for (int i = 0; i < p->n_layers; i++)
        if (p->layers[i] + 1 > m->layers) m->layers = p->layers[i] + 1;
    m->moe = mz_calloc(m->layers, 1);
    for (int i = 0; i < p->n_layers; i++) m->moe[p->layers[i]] = 1;
    m->n_moe = p->n_layers;
    m->experts = p->experts, m->topk = p->topk;
    m->hidden = m->ffn = m->heads = m->kv_heads = m->head_dim = m->vocab = 1;
    m->groups = groups, m->topk_groups = 1, m->gated = 1;
    return 0;
}

/* mz-trace: draw a few tokens from the prior and check them. */
static void generate(const mz_prior *p, int groups)
{
    mz_trace_info t;
    mz_gen *g;
    mz_token tok;
    uint8_t *rec;
    memset(&t, 0, sizeof t);
    if (model_for(p, groups, &t.model) < 0) return;
    if (mz_prior_check(p, &t.model, "prior") < 0) {
        mz_model_free(&t.model);
        return;
    }
    t.steps = 1, t.seqs = 2, t.seq_len = 3, t.weights = 1;
    t.id_bytes = t.model.experts <= 256 ? 1 : 2;
    t.layers = mz_malloc(p->n_layers * sizeof *t.layers);
    for (int l = 0; l < t.model.layers; l++)
        if (t.model.moe[l]) t.layers[t.n_layers++] = l;
    g = mz_gen_new(&t, p, 7);
    FUZZ_CHECK(g != NULL, "a checked prior does not make a generator");
    mz_token_alloc(&t, &tok);
    rec = mz_malloc(mz_trace_record_size(&t));
    for (uint32_t s = 0; s < 2; s++) {
        mz_gen_sequence(g);
        for (uint32_t i = 0; i < 3; i++) {
            tok.step = 0, tok.seq = s, tok.tok = i;
            mz_gen_token(g, &tok);
            mz_token_encode(&t, &tok, rec);
            FUZZ_CHECK(mz_token_decode(&t, rec, mz_trace_record_size(&t), &tok) == 0, "generated token");
            for (size_t j = 0; j < (size_t)t.n_layers * t.model.topk; j++)
                FUZZ_CHECK(tok.w[j] >= 0 && tok.w[j] <= 1, "gate weight %g", tok.w[j]);
        }
    }
    free(rec);
    mz_token_free(&tok);
    mz_gen_free(g);
    mz_trace_info_free(&t);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    mz_prior p, q;
    mz_out *out;
    fuzz_reset();
    if (mz_prior_read(fuzz_file("in.prior", data, size), &p) < 0) return 0;
    FUZZ_CHECK(p.experts >= 1 && p.topk >= 1 && p.n_layers >= 1, "experts %d topk %d layers %d", p.experts,
               p.topk, p.n_layers);
    /* what mz-fit writes, mz-trace must read */
    out = mz_out_open(fuzz_path("out.prior"), 0);
    FUZZ_CHECK(out != NULL, "output");
    mz_prior_write(&p, out);
    FUZZ_CHECK(mz_out_close(out) == 0, "writing the prior");
    FUZZ_CHECK(mz_prior_read(fuzz_path("out.prior"), &q) == 0, "a written prior does not read back");
    FUZZ_CHECK(q.experts == p.experts && q.topk == p.topk && q.n_layers == p.n_layers &&
                   memcmp(q.layers, p.layers, p.n_layers * sizeof *p.layers) == 0 &&
                   (q.share != NULL) == (p.share != NULL) && q.topic_size == p.topic_size &&
                   q.topic_layout == p.topic_layout && q.topic_seed == p.topic_seed,
               "the prior changes through the writer");
    mz_prior_free(&q);
    generate(&p, 1);
    generate(&p, 2);
    mz_prior_free(&p);
    return 0;
}
