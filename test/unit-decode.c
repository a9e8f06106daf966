/* unit-decode.c: mz_token_decode's quick one-byte id test (lib/trace.c) rejects exactly the tokens the exact check rejects, with the same message. */
#include <stdlib.h>

#include "../lib/place.h"
#include "unit.h"

/* The exact rule: every id below E, no id twice within a layer; the
 * message names the first fault in layer and rank order. */
static int valid(const uint8_t *ids, const mz_trace_info *t, unsigned n, char *why, size_t size)
{
    int k = t->model.topk, E = t->model.experts;
    for (int l = 0; l < t->n_layers; l++)
        for (int a = 0; a < k; a++) {
            int e = ids[l * k + a];
            if (e >= E) {
                snprintf(why, size, "token 0/0/%u layer %d: expert id %d out of range (model has %d experts)", n,
                         t->layers[l], e, E);
                return 0;
            }
            for (int b = 0; b < a; b++)
                if (e == ids[l * k + b]) {
                    snprintf(why, size, "token 0/0/%u layer %d: expert %d selected twice", n, t->layers[l], e);
                    return 0;
                }
        }
    return 1;
}

/* Random tokens of model m, most valid, some with a repeat or an id out of
 * range in a random layer: decode must agree with the rule every time. */
static void run(const char *model, int tokens)
{
    mz_header h = {0};
    mz_trace_info t;
    mz_token tok;
    uint8_t *rec;
    size_t size;
    long wrong = 0, bad = 0, msg = 0;
    unsigned seed = 7;
    mz_model m;
    if (mz_model_load(model, &m) < 0) {
        CHECK(0, "load %s: %s", model, mz_errmsg());
        return;
    }
    {
        int *moe = malloc(m.layers * sizeof *moe), n = 0;
        char ranges[4096];
        for (int l = 0; l < m.layers; l++)
            if (m.moe[l]) moe[n++] = l;
        mz_model_to_header(&m, &h);
        mz_header_add(&h, "@TR\tsteps:1\tseqs:1\tseq_len:1000000\tlayers:%s\tweights:0",
                      mz_format_ranges(moe, n, ranges, sizeof ranges));
        free(moe);
    }
    if (mz_trace_info_from_header(&h, &t) < 0) {
        CHECK(0, "%s: %s", model, mz_errmsg());
        return;
    }
    size = mz_trace_record_size(&t);
    rec = calloc(1, size);
    mz_token_alloc(&t, &tok);
    for (int n = 0; n < tokens; n++) {
        int k = t.model.topk, E = t.model.experts, L = t.n_layers, ok, got;
        char why[256];
        uint8_t *ids = rec + 12;
        rec[8] = (uint8_t)(n & 0xff), rec[9] = (uint8_t)(n >> 8), rec[10] = (uint8_t)(n >> 16);
        for (int l = 0; l < L; l++)
            for (int a = 0; a < k; a++) {
                int e;
                do e = rand_r(&seed) % E;
                while (memchr(ids + l * k, e, a));
                ids[l * k + a] = (uint8_t)e;
            }
        switch (rand_r(&seed) % 4) {
        case 0: { /* a repeat */
            int l = rand_r(&seed) % L, a = rand_r(&seed) % k, b = rand_r(&seed) % k;
            ids[l * k + a] = ids[l * k + b];
            break;
        }
        case 1: /* out of range, when the byte can be */
            if (E < 256) ids[(rand_r(&seed) % L) * k + rand_r(&seed) % k] = (uint8_t)(E + rand_r(&seed) % (256 - E));
            break;
        default: break;
        }
        ok = valid(ids, &t, (unsigned)n, why, sizeof why);
        got = mz_token_decode(&t, rec, size, &tok) == 0;
        bad += !ok;
        if (got != ok) wrong++;
        if (!ok && !got && strcmp(mz_errmsg(), why) != 0 && msg++ < 3) printf("# got '%s', want '%s'\n", mz_errmsg(), why);
    }
    CHECK(wrong == 0 && msg == 0, "%s (top-%d of %d experts): %d tokens, %ld faulty, decode disagreed on %ld, on the message for %ld",
          model, t.model.topk, t.model.experts, tokens, bad, wrong, msg);
    CHECK(bad > tokens / 10, "%s: faults were made", model);
    mz_token_free(&tok);
    free(rec);
    mz_trace_info_free(&t);
    mz_header_free(&h);
    mz_model_free(&m);
}

int main(void)
{
    setenv("MZ_MODELS", "models", 0);
    run("qwen3-30b-a3b", 20000);    /* top-8 of 128: the quick test */
    run("deepseek-v3", 5000);       /* top-8 of 256 */
    run("olmoe-1b-7b-0924", 20000); /* top-8 of 64 */
    run("mixtral-8x7b", 20000);     /* top-2 of 8: the exact check only */
    return unit_done();
}
