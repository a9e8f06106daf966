/* compute.c: the work of an op on a chiplet's systolic arrays: tile-cycles and SRAM operand bytes (mz-model(7) section 3.4). */
#include <math.h>
#include <string.h>

#include "timing.h"

void mz_shapes_init(mz_shapes *sh, const mz_model *m, int chiplets)
{
    double gate = m->gated ? 2 : 1;
    memset(sh, 0, sizeof *sh);
    sh->hidden = m->hidden;
    sh->ffn = m->ffn;
    sh->up = gate * m->ffn;
    sh->shared_ffn = m->shared_ffn;
    sh->shared_up = gate * m->shared_ffn;
    sh->shared = m->shared;
    sh->dense_ffn = m->dense_ffn;
    sh->dense_up = gate * m->dense_ffn;
    sh->experts = m->experts;
    sh->heads = m->heads;
    sh->head_dim = m->head_dim;
    sh->attn_params = mz_model_attn_params(m);
    sh->vocab = m->vocab;
    sh->chiplets = chiplets;
    sh->moe = m->moe;
}

/* count matrix multiplies Y (M x N) = X (M x K) W (K x N) on a chiplet of
 * weight-stationary a x a arrays, n_a of them per tile behind an adder
 * tree (section 3.4):
 *   a tile pass holds an (n_a a) x a block of W, the arrays splitting K and
 *   the adder tree summing their outputs: passes = ceil(K / n_a a) ceil(N / a);
 *   a pass takes M + 2a cycles (a to load the weights, a to fill and drain);
 *   SRAM bytes = b (K N + M K ceil(N / a) + M N (2 ceil(K / n_a a) - 1 + acc)):
 *   the weights once, each input row once per column block, each output
 *   written per K block and read back to add the next (acc: and read once
 *   more when it accumulates into an existing result, as gradients do). */
static void mm(const mz_fabric *f, double count, double M, double K, double N, int acc, double *cycles, double *sram)
{
    double a = f->array_dim, kb = ceil(K / (f->arrays * a)), nb = ceil(N / a);
    if (!(count > 0) || !(M > 0) || !(K > 0) || !(N > 0)) return;
    *cycles += count * kb * nb * (M + 2 * a);
    *sram += count * f->bytes * (K * N + M * K * nb + M * N * (2 * kb - 1 + acc));
}

/* A weight matrix K x N used by count matrices of M rows each: forward
 * Y = X W; backward dX = dY W^T and dW += X^T dY. */
static void layer(const mz_fabric *f, int bwd, double count, double M, double K, double N, double *cy, double *sr)
{
    if (!bwd) {
        mm(f, count, M, K, N, 0, cy, sr);
        return;
    }
    mm(f, count, M, N, K, 0, cy, sr);
    mm(f, count, K, M, N, 1, cy, sr);
}

/* An FFN of 'count' experts of width 'ffn' (first matrix 'up' wide: gate
 * and up together when gated) over 'rows' token rows in all. */
static void ffn(const mz_fabric *f, int bwd, double count, double rows, double hidden, double ffn, double up,
                double *cy, double *sr)
{
    double M = count > 0 ? rows / count : 0;
    layer(f, bwd, count, M, hidden, up, cy, sr);
    layer(f, bwd, count, M, ffn, hidden, cy, sr);
}

void mz_compute_work(const mz_shapes *sh, const mz_fabric *f, int kind, int dir, int l, const double *q,
                     double *cycles, double *sram)
{
    double T = q[CW_ROOT_TOKENS], h = sh->hidden;
    *cycles = *sram = 0;
    switch (kind) {
    case MZ_OP_ATT: {
        /* projections as one h x (P_att / h) matrix, the router, and per
         * head Q K^T and A V against the mean context the tokens attend */
        double ctx = T > 0 ? q[CW_ROOT_CTX] / T : 0;
        layer(f, dir, 1, T, h, sh->attn_params / h, cycles, sram);
        if (sh->moe[l]) layer(f, dir, 1, T, h, sh->experts, cycles, sram);
        for (int k = 0; k < (dir ? 2 : 1); k++) {
            mm(f, sh->heads, T, sh->head_dim, ctx, 0, cycles, sram);
            mm(f, sh->heads, T, ctx, sh->head_dim, 0, cycles, sram);
        }
        break;
    }
    case MZ_OP_DENSE_FFN: ffn(f, dir, 1, T, h, sh->dense_ffn, sh->dense_up, cycles, sram); break;
    case MZ_OP_SHARED: ffn(f, dir, sh->shared, T * sh->shared, h, sh->shared_ffn, sh->shared_up, cycles, sram); break;
    case MZ_OP_LM_HEAD: layer(f, dir, 1, T, h, sh->vocab, cycles, sram); break;
    case MZ_OP_EXPERT:
        ffn(f, dir, q[CW_CHIP_EXPERTS], q[CW_CHIP_TOKENS], h, sh->ffn, sh->up, cycles, sram);
        if (q[CW_CHIP_SHARED] > 0) {
            /* spread: every chiplet holds 1/C of each shared expert's columns */
            double w = sh->shared_ffn / sh->chiplets, u = sh->shared_up / sh->chiplets;
            ffn(f, dir, sh->shared, q[CW_CHIP_SHARED] * sh->shared, h, w, u, cycles, sram);
        }
        break;
    }
}
