/* sched.c: the schedule builder: turns a placed routing trace into the ops of each training step (mz-model(7) section 4). */
#define _GNU_SOURCE
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "sched.h"

#define NONE (-1)

struct mz_sched {
    const mz_trace_info *t;
    const mz_model *m;
    mz_sched_opts o;        /* resolved: order, shared_on and depths decided */
    /* geometry: blocks, MoE blocks, routed experts, top-k, chiplets, groups,
     * micro-batches, slices per micro-batch, shared experts */
    int layers, moe_layers, experts, topk, chiplets, groups, mbs, slices, shared, seqs, seq_len;
    int order_layer;        /* visits layer-major (section 4.1) */
    int spread;             /* shared experts as column slices on every chiplet (section 4.6) */
    int root_shared;        /* shared experts on the attention chiplet */
    int *moe_slot;          /* [layers] MoE slot (trace and placement), -1 for a dense block */
    int *chip_of;           /* [moe_layers * np] chiplet of each physical copy of a routed expert (section 4.8) */
    int np;                 /* physical copies per MoE slot at most: experts, plus replicas */
    int *nphys, *pslot;     /* [moe_layers] physical copies; the placement row */
    int replicas;           /* the placement has replicas */
    mz_route route;         /* the token split between an expert's copies */
    int *rep_on, *rep_of;   /* [moe_layers * chiplets] replicas a chiplet hosts; replicas of its primaries */
    int32_t *rgrad;         /* [chiplets] a visit's replica-gradient op of each chiplet */
    int *pid;               /* [topk] scratch: a token's copies */
    int *group_of;          /* [chiplets] */
    int *experts_on;        /* [moe_layers * chiplets] routed experts per chiplet */
    int *first_seq;         /* [mbs + 1] first sequence of each micro-batch */
    /* counts of the current step, per (micro-batch, slice, MoE slot) */
    uint32_t *sel;          /* [..][experts] selections per expert */
    uint32_t *pairs;        /* [..][chiplets] routed token-expert pairs */
    uint32_t *active;       /* [..][chiplets] routed experts with a token */
    uint32_t *tok_chip;     /* [..][chiplets] tokens with an expert (or the shared slice) there */
    uint32_t *tok_group;    /* [..][groups] tokens with one in the group */
    uint32_t *ntok;         /* [mbs][slices] tokens */
    double *ctx;            /* [3][mbs][slices] positions attended, summed over the tokens: full, sliding, chunked */
    double copies, group_copies, token_layers;
    uint32_t *stamp, *gstamp, serial;
    /* model quantities (elements per token or per block) */
    double hidden, bytes, P_att, P_router, P_expert, P_shared, P_dense, qkv, gate_mult, vocab;
    double ew, ow;          /* bytes per weight: experts, the rest (the model's quantization) */
    int windowed;           /* some block attends a window or a chunk (section 4.2) */
    /* emission */
    mz_op op;
    uint32_t next_id;
    int (*put)(void *, const mz_op *);
    void *arg;
    int err;
    uint32_t phase;         /* Baseline barrier phase */
    /* visits: one pass through one block in one direction (section 4.2) */
    int nvis;
    int *vis_dir, *vis_layer, *vis_mb0, *vis_nmb;
    int32_t *xlast;         /* [nvis][chiplets] last expert op of the chiplet in the visit */
    int32_t *freed;         /* [nvis][chiplets] op after which the visit's weights may leave SRAM */
    int32_t *loadlast;      /* [nvis][chiplets] last weight chunk of the visit */
    int *loaded;            /* [nvis] 1 once the visit's loads are emitted */
    int32_t *rootlast;      /* [nvis] last root op of the visit */
    int32_t *saved;         /* [layers][mbs][chiplets + 1] forward saves of the activations (root last) */
    int32_t *out;           /* [mbs][slices][groups + 1] ops the next block's slice waits for */
    int *nout;              /* [mbs][slices] */
    int32_t *carry;         /* [slices * (groups + 1)] the previous micro-batch's outputs (order mb) */
    int ncarry;
    int32_t *disp, *comb, *xs, *actl; /* [groups], [groups], [chiplets], [chiplets] */
    int *hot;               /* [chiplets] hot order, group by group */
    double *wc, *prs;       /* [chiplets] per-visit weights and pairs */
    /* footprint of the step (section 5), per memory: groups, root DRAM, chiplet SRAMs, root SRAM */
    double *foot;           /* [4][groups + chiplets + 2] weights, grads, state, acts */
};

const mz_sched_opts *mz_sched_resolved(const mz_sched *s) { return &s->o; }

static size_t cix(const mz_sched *s, int mb, int j, int li) { return ((size_t)mb * s->slices + j) * s->moe_layers + li; }

/* Bytes of the expert weights of chiplet c in MoE slot li (section 4.3). */
static double chip_weights(const mz_sched *s, int li, int c)
{
    double w = s->experts_on[(size_t)li * s->chiplets + c] * s->P_expert;
    if (s->spread) w += s->shared * s->P_shared / s->chiplets;
    return s->ew * w;
}

/* Bytes of the root's weights for block l: attention, norms, router and
 * what the root computes of the FFN (dense block, shared experts). */
static double root_weights(const mz_sched *s, int l)
{
    double w = s->P_att + 2 * s->hidden;
    if (s->moe_slot[l] < 0) return s->ow * (w + s->P_dense);
    return s->ow * (w + s->P_router) + (s->root_shared ? s->ew * s->shared * s->P_shared : 0);
}

static double lm_weights(const mz_sched *s) { return s->ow * (s->vocab * s->hidden + s->hidden); }

/* Activation bytes a chiplet keeps per token-expert pair and per token
 * copy, for the estimate of the SRAM buffers (section 5). */
static double sram_buffers(const mz_sched *s, int li, int c, int bwd)
{
    /* tokens stream through a chiplet in slices of a micro-batch, whether or
     * not the schedule overlaps them: the buffers do not depend on the variant */
    double tsl = (double)s->seqs * s->seq_len / s->mbs / s->o.slices;
    double n = s->experts_on[(size_t)li * s->chiplets + c], share = 2.0 * s->topk * n / s->experts;
    double per_tok = s->hidden * 2 * (share < 1 ? share : 1) + share * s->gate_mult * s->m->ffn;
    double buf = s->bytes * tsl * per_tok;
    if (bwd) buf += buf; /* backward, the slice's saved activations, read back */
    return buf;
}

/* Resolve order, shared_on and the prefetch depths from the SRAM (section 4.1). */
static void resolve(mz_sched *s)
{
    mz_sched_opts *o = &s->o;
    double wmax = 0, need_layer = 0, fwd_free = INFINITY, bwd_free = INFINITY;
    for (int li = 0; li < s->moe_layers; li++)
        for (int c = 0; c < s->chiplets; c++) {
            double w = chip_weights(s, li, c), g = w / s->ew * o->grad_bytes;
            double need = w + g + sram_buffers(s, li, c, 1);
            if (w > wmax) wmax = w;
            if (need > need_layer) need_layer = need;
            if (w > 0) {
                double ff = (o->sram_bytes - sram_buffers(s, li, c, 0)) / w;
                double fb = (o->sram_bytes - sram_buffers(s, li, c, 1) - g) / w;
                if (ff < fwd_free) fwd_free = ff;
                if (fb < bwd_free) bwd_free = fb;
            }
        }
    if (o->order == MZ_ORDER_AUTO)
        o->order = !(o->sram_bytes > 0) || need_layer <= o->sram_bytes ? MZ_ORDER_LAYER : MZ_ORDER_MB;
    if (o->prefetch > 0) {
        o->depth_fwd = o->depth_bwd = o->prefetch;
    } else if (o->sram_bytes > 0 && wmax > 0) {
        o->depth_fwd = fwd_free >= 2 ? 2 : 1;
        o->depth_bwd = bwd_free >= 2 ? 2 : 1;
    } else {
        o->depth_fwd = o->depth_bwd = 1;
    }
    s->order_layer = o->order == MZ_ORDER_LAYER;
}

static int all_moe_traced(const mz_trace_info *t) { return t->n_layers == t->model.n_moe; }

mz_sched *mz_sched_new(const mz_trace_info *t, const mz_placement *p, const mz_sched_opts *o)
{
    mz_sched *s;
    const mz_model *m = &t->model;
    size_t n;
    if (!all_moe_traced(t)) {
        mz_error("the trace covers %d of the model's %d MoE layers; a schedule needs every MoE layer "
                 "(generate the trace without mz-trace -l, or import a log of every layer)", t->n_layers, m->n_moe);
        return NULL;
    }
    if (o->micro_batches > t->seqs) {
        mz_error("%d micro-batches but only %d sequences per step", o->micro_batches, t->seqs);
        return NULL;
    }
    /* slices cut the tokens only when they stream (section 4.5); the Baseline runs
     * whole micro-batches and counts its SRAM buffers per slice, which may be empty */
    if (o->overlap && (long)o->slices > (long)t->seqs * t->seq_len / o->micro_batches + 1) {
        mz_error("--slices %d: a micro-batch has only %ld tokens to slice", o->slices,
                 (long)t->seqs * t->seq_len / o->micro_batches);
        return NULL;
    }
    s = mz_calloc(1, sizeof *s);
    s->t = t;
    s->m = m;
    s->o = *o;
    s->layers = m->layers, s->moe_layers = t->n_layers, s->experts = m->experts, s->topk = m->topk;
    s->chiplets = p->chiplets, s->groups = p->groups;
    s->mbs = o->micro_batches;
    s->slices = o->overlap ? o->slices : 1;
    s->shared = m->shared;
    s->seqs = t->seqs, s->seq_len = t->seq_len;
    s->hidden = m->hidden;
    s->bytes = o->bytes;
    /* quantized weights are stored and streamed at their width, computed at the wafer's (mz-model(7) 4.3) */
    s->ew = m->weight_bytes > 0 ? m->weight_bytes : o->bytes;
    s->ow = m->other_weight_bytes > 0 ? m->other_weight_bytes : o->bytes;
    s->windowed = m->attn_kind != NULL;
    s->P_att = mz_model_attn_params(m);
    s->P_router = (double)m->hidden * m->experts;
    s->P_expert = mz_model_expert_params(m);
    s->P_shared = mz_model_shared_params(m);
    s->P_dense = mz_model_dense_params(m);
    s->qkv = (double)m->heads * m->head_dim + 2.0 * m->kv_heads * m->head_dim;
    s->gate_mult = m->gated ? 2.0 : 1.0;
    s->vocab = m->vocab;
    /* section 4.6: shared experts on the attention chiplet when its SRAM holds
     * the double buffer of attention and shared-expert weights that
     * streaming needs (or the SRAM is unknown), else spread over the chiplets */
    if (s->o.shared_on == MZ_SHARED_AUTO) {
        double block = s->ow * (s->P_att + 2 * s->hidden + s->P_router) + s->ew * s->shared * s->P_shared;
        s->o.shared_on = !(o->root_sram_bytes > 0) || 2 * block <= o->root_sram_bytes ? MZ_SHARED_ROOT : MZ_SHARED_SPREAD;
    }
    s->root_shared = s->shared > 0 && s->o.shared_on == MZ_SHARED_ROOT;
    s->spread = s->shared > 0 && s->o.shared_on == MZ_SHARED_SPREAD;
    s->moe_slot = mz_malloc(s->layers * sizeof *s->moe_slot);
    for (int l = 0; l < s->layers; l++) s->moe_slot[l] = -1;
    for (int i = 0; i < t->n_layers; i++) s->moe_slot[t->layers[i]] = i;
    /* every physical copy of an expert holds its weights; tokens split between them (section 4.8) */
    mz_route_init(&s->route, p);
    s->replicas = p->n_replicas > 0;
    s->np = s->route.maxp;
    s->chip_of = mz_calloc((size_t)s->moe_layers * s->np, sizeof *s->chip_of);
    s->nphys = mz_malloc(s->moe_layers * sizeof *s->nphys);
    s->pslot = mz_malloc(s->moe_layers * sizeof *s->pslot);
    s->experts_on = mz_calloc((size_t)s->moe_layers * s->chiplets, sizeof *s->experts_on);
    s->rep_on = mz_calloc((size_t)s->moe_layers * s->chiplets, sizeof *s->rep_on);
    s->rep_of = mz_calloc((size_t)s->moe_layers * s->chiplets, sizeof *s->rep_of);
    s->rgrad = mz_malloc(s->chiplets * sizeof *s->rgrad);
    s->pid = mz_malloc(s->topk * sizeof *s->pid);
    for (int i = 0; i < s->moe_layers; i++) {
        int slot = mz_placement_slot(p, t->layers[i]);
        s->pslot[i] = slot;
        s->nphys[i] = s->route.nphys[slot];
        for (int k = 0; k < s->nphys[i]; k++) {
            int c = s->route.chip[(size_t)slot * s->np + k];
            s->chip_of[(size_t)i * s->np + k] = c;
            s->experts_on[(size_t)i * s->chiplets + c]++;
        }
    }
    for (int r = 0; r < p->n_replicas; r++) {
        int slot = mz_placement_slot(p, p->replica[3 * r]);
        for (int i = 0; i < s->moe_layers; i++)
            if (s->pslot[i] == slot) {
                s->rep_on[(size_t)i * s->chiplets + p->replica[3 * r + 2]]++;
                s->rep_of[(size_t)i * s->chiplets + p->chiplet[(size_t)slot * s->experts + p->replica[3 * r + 1]]]++;
            }
    }
    s->group_of = mz_malloc(s->chiplets * sizeof *s->group_of);
    for (int c = 0; c < s->chiplets; c++) s->group_of[c] = mz_group_of(p, c);
    s->first_seq = mz_malloc((s->mbs + 1) * sizeof *s->first_seq);
    for (int mb = 0; mb <= s->mbs; mb++) s->first_seq[mb] = (int)(((long)mb * s->seqs + s->mbs - 1) / s->mbs);
    resolve(s);
    n = (size_t)s->mbs * s->moe_layers * s->slices;
    s->sel = mz_calloc(n * s->np, sizeof *s->sel);
    s->pairs = mz_calloc(n * s->chiplets, sizeof *s->pairs);
    s->active = mz_calloc(n * s->chiplets, sizeof *s->active);
    s->tok_chip = mz_calloc(n * s->chiplets, sizeof *s->tok_chip);
    s->tok_group = mz_calloc(n * s->groups, sizeof *s->tok_group);
    s->ntok = mz_calloc((size_t)s->mbs * s->slices, sizeof *s->ntok);
    s->ctx = mz_calloc(3 * (size_t)s->mbs * s->slices, sizeof *s->ctx);
    s->stamp = mz_calloc(s->chiplets, sizeof *s->stamp);
    s->gstamp = mz_calloc(s->groups, sizeof *s->gstamp);
    /* visits: forward blocks 0..L-1, then backward L-1..0; once for all
     * micro-batches (order layer) or once per micro-batch (order mb) */
    s->nvis = s->order_layer ? 2 * s->layers : 2 * s->layers * s->mbs;
    s->vis_dir = mz_malloc(s->nvis * sizeof(int));
    s->vis_layer = mz_malloc(s->nvis * sizeof(int));
    s->vis_mb0 = mz_malloc(s->nvis * sizeof(int));
    s->vis_nmb = mz_malloc(s->nvis * sizeof(int));
    {
        int v = 0, reps = s->order_layer ? 1 : s->mbs;
        for (int r = 0; r < reps; r++) {
            for (int l = 0; l < s->layers; l++, v++)
                s->vis_dir[v] = 0, s->vis_layer[v] = l, s->vis_mb0[v] = r, s->vis_nmb[v] = s->order_layer ? s->mbs : 1;
            for (int l = s->layers - 1; l >= 0; l--, v++)
                s->vis_dir[v] = 1, s->vis_layer[v] = l, s->vis_mb0[v] = r, s->vis_nmb[v] = s->order_layer ? s->mbs : 1;
        }
    }
    n = (size_t)s->nvis * s->chiplets;
    s->xlast = mz_malloc(n * sizeof *s->xlast);
    s->freed = mz_malloc(n * sizeof *s->freed);
    s->loadlast = mz_malloc(n * sizeof *s->loadlast);
    s->loaded = mz_calloc(s->nvis, sizeof *s->loaded);
    s->rootlast = mz_malloc(s->nvis * sizeof *s->rootlast);
    s->saved = mz_malloc((size_t)s->layers * s->mbs * (s->chiplets + 1) * sizeof *s->saved);
    s->out = mz_malloc((size_t)s->mbs * s->slices * (s->groups + 1) * sizeof *s->out);
    s->nout = mz_calloc((size_t)s->mbs * s->slices, sizeof *s->nout);
    s->carry = mz_malloc((size_t)s->slices * (s->groups + 1) * sizeof *s->carry);
    s->disp = mz_malloc(s->groups * sizeof *s->disp);
    s->comb = mz_malloc(s->groups * sizeof *s->comb);
    s->xs = mz_malloc(s->chiplets * sizeof *s->xs);
    s->actl = mz_malloc(s->chiplets * sizeof *s->actl);
    s->hot = mz_malloc(s->chiplets * sizeof *s->hot);
    s->wc = mz_malloc(s->chiplets * sizeof *s->wc);
    s->prs = mz_malloc(s->chiplets * sizeof *s->prs);
    s->foot = mz_calloc((size_t)4 * (s->groups + s->chiplets + 2), sizeof *s->foot);
    return s;
}

void mz_sched_free(mz_sched *s)
{
    if (!s) return;
    free(s->moe_slot), free(s->chip_of), free(s->experts_on), free(s->group_of), free(s->first_seq);
    free(s->nphys), free(s->pslot), free(s->rep_on), free(s->rep_of), free(s->rgrad), free(s->pid);
    mz_route_free(&s->route);
    free(s->sel), free(s->pairs), free(s->active), free(s->tok_chip), free(s->tok_group), free(s->ntok), free(s->ctx);
    free(s->stamp), free(s->gstamp);
    free(s->vis_dir), free(s->vis_layer), free(s->vis_mb0), free(s->vis_nmb);
    free(s->xlast), free(s->freed), free(s->loadlast), free(s->loaded), free(s->rootlast), free(s->saved);
    free(s->out), free(s->nout), free(s->carry), free(s->disp), free(s->comb), free(s->xs), free(s->actl);
    free(s->hot), free(s->wc), free(s->prs), free(s->foot);
    mz_op_free(&s->op);
    free(s);
}

/* ------------------------------------------------------------------ counting (section 4.2) */
void mz_sched_add(mz_sched *s, const mz_token *tok)
{
    int seq = (int)tok->seq, mb = (int)((long)seq * s->mbs / s->seqs);
    int local = seq - s->first_seq[mb], nloc = s->first_seq[mb + 1] - s->first_seq[mb];
    int j = (int)(((int64_t)local * s->seq_len + tok->tok) * s->slices / ((int64_t)nloc * s->seq_len));
    int C = s->chiplets, G = s->groups, K = s->topk;
    s->ntok[mb * s->slices + j]++;
    s->ctx[mb * s->slices + j] += tok->tok + 1.0;
    if (s->windowed) {
        /* the positions a token attends under a window or a chunk: the difference
         * of pair counts (mz_model_attn_pairs) between its prefix and the one before */
        size_t n = (size_t)s->mbs * s->slices;
        double p = tok->tok;
        if (s->m->window > 0)
            s->ctx[n + mb * s->slices + j] += p + 1 < s->m->window ? p + 1 : s->m->window;
        if (s->m->chunk > 0) s->ctx[2 * n + mb * s->slices + j] += fmod(p, s->m->chunk) + 1;
    }
    for (int li = 0; li < s->moe_layers; li++) {
        size_t base = cix(s, mb, j, li);
        uint32_t *ec = s->sel + base * s->np, *tc = s->tok_chip + base * C, *tg = s->tok_group + base * G;
        const uint16_t *ids = tok->ids + (size_t)li * K;
        const int *chip = s->chip_of + (size_t)li * s->np;
        int *pid = s->pid;
        /* the copy each selection goes to (section 4.8): the expert itself without replicas */
        for (int a = 0; a < K; a++) pid[a] = s->replicas ? mz_route_copy(&s->route, s->pslot[li], ids[a]) : ids[a];
        int nd = 0, ng = 0;
        if (C <= 64 && G <= 64) {
            /* distinct chiplets and groups as bit masks: a chiplet or group
             * counts the first time one of the token's experts lands on it */
            uint64_t cm = 0, gm = 0;
            for (int a = 0; a < K; a++) {
                int e = pid[a], c = chip[e], g = s->group_of[c];
                uint64_t cb = 1ull << c, gb = 1ull << g;
                int newc = !(cm & cb), newg = !(gm & gb);
                ec[e]++;
                tc[c] += newc;
                tg[g] += newg;
                nd += newc;
                ng += newg;
                cm |= cb;
                gm |= gb;
            }
            if (s->spread) {
                /* every chiplet holds a slice of the shared experts: the token goes everywhere */
                for (int c = 0; c < C; c++) tc[c] += !(cm >> c & 1);
                for (int g = 0; g < G; g++) tg[g] += !(gm >> g & 1);
            }
        } else {
            if (++s->serial == 0) {
                memset(s->stamp, 0, C * sizeof *s->stamp);
                memset(s->gstamp, 0, G * sizeof *s->gstamp);
                s->serial = 1;
            }
            for (int a = 0; a < K; a++) {
                int c = chip[pid[a]], g = s->group_of[c];
                ec[pid[a]]++;
                if (s->stamp[c] != s->serial) s->stamp[c] = s->serial, tc[c]++, nd++;
                if (s->gstamp[g] != s->serial) s->gstamp[g] = s->serial, tg[g]++, ng++;
            }
            if (s->spread) {
                for (int c = 0; c < C; c++)
                    if (s->stamp[c] != s->serial) tc[c]++;
                for (int g = 0; g < G; g++)
                    if (s->gstamp[g] != s->serial) tg[g]++;
            }
        }
        s->copies += s->o.dedup ? nd : K;
        s->group_copies += ng;
    }
    s->token_layers += s->moe_layers;
}

/* Pairs and active experts per chiplet of every (micro-batch, slice, slot). */
static void sum_pairs(mz_sched *s)
{
    size_t n = (size_t)s->mbs * s->moe_layers * s->slices;
    memset(s->pairs, 0, n * s->chiplets * sizeof *s->pairs);
    memset(s->active, 0, n * s->chiplets * sizeof *s->active);
    for (int mb = 0; mb < s->mbs; mb++)
        for (int j = 0; j < s->slices; j++)
            for (int li = 0; li < s->moe_layers; li++) {
                size_t base = cix(s, mb, j, li);
                const uint32_t *ec = s->sel + base * s->np;
                const int *chip = s->chip_of + (size_t)li * s->np;
                uint32_t *pc = s->pairs + base * s->chiplets, *ac = s->active + base * s->chiplets;
                for (int e = 0; e < s->nphys[li]; e++) {
                    pc[chip[e]] += ec[e];
                    ac[chip[e]] += ec[e] > 0;
                }
            }
}

/* Counts of (mb, slot li, slice j) in array a of width w; j < 0: the whole micro-batch. */
static double cnt(const mz_sched *s, const uint32_t *a, int w, int mb, int li, int j, int i)
{
    double x = 0;
    if (j >= 0) return a[cix(s, mb, j, li) * w + i];
    for (int k = 0; k < s->slices; k++) x += a[cix(s, mb, k, li) * w + i];
    return x;
}

static double ntok(const mz_sched *s, int mb, int j)
{
    double x = 0;
    if (j >= 0) return s->ntok[mb * s->slices + j];
    for (int k = 0; k < s->slices; k++) x += s->ntok[mb * s->slices + k];
    return x;
}

/* Positions block l's attention visits for (mb, j): its whole causal prefix,
 * or what its window or chunk leaves (section 4.2). */
static double ctx(const mz_sched *s, int l, int mb, int j)
{
    int kind = s->m->attn_kind ? s->m->attn_kind[l] : MZ_ATTN_FULL;
    const double *a = s->ctx + (size_t)(kind == MZ_ATTN_SLIDING ? 1 : kind == MZ_ATTN_CHUNKED ? 2 : 0) * s->mbs * s->slices;
    double x = 0;
    if (j >= 0) return a[mb * s->slices + j];
    for (int k = 0; k < s->slices; k++) x += a[mb * s->slices + k];
    return x;
}

/* Copies chiplet c receives (dedup: one per token; else one per pair, plus
 * the token's copy for the shared slice). */
static double copies_to(const mz_sched *s, int li, int mb, int j, int c)
{
    if (s->o.dedup) return cnt(s, s->tok_chip, s->chiplets, mb, li, j, c);
    return cnt(s, s->pairs, s->chiplets, mb, li, j, c) + (s->spread ? ntok(s, mb, j) : 0);
}

/* Saved activations of chiplet c for micro-batch mb (section 4.3): its
 * inputs (one per copy received) and the gated intermediates per pair. */
static double chip_acts(const mz_sched *s, int li, int mb, int j, int c)
{
    double pairs = cnt(s, s->pairs, s->chiplets, mb, li, j, c), a;
    a = copies_to(s, li, mb, j, c) * s->hidden + s->gate_mult * pairs * s->m->ffn;
    if (s->spread) a += ntok(s, mb, j) * s->gate_mult * s->shared * s->m->shared_ffn / s->chiplets;
    return s->bytes * a;
}

/* Saved activations of the root for block l and micro-batch mb. */
static double root_acts(const mz_sched *s, int l, int mb)
{
    double T = ntok(s, mb, -1), a = T * (2 * s->hidden + s->qkv + s->m->heads * (double)s->m->head_dim);
    if (s->moe_slot[l] < 0) return s->bytes * (a + T * s->gate_mult * s->m->dense_ffn);
    a += T * s->experts;
    if (s->root_shared) a += T * s->gate_mult * s->shared * s->m->shared_ffn;
    return s->bytes * a;
}

/* ------------------------------------------------------------------ emission helpers */
static void op_begin(mz_sched *s, int kind, int layer, int mb, int slice, int dir)
{
    mz_op *op = &s->op;
    op->id = s->next_id;
    op->kind = kind, op->cat = mz_op_cat_of(kind);
    op->layer = layer, op->mb = mb, op->slice = slice, op->dir = dir;
    op->phase = s->o.overlap ? 0 : s->phase;
    op->nterms = op->ndeps = 0;
}

/* Quantities <= 0 are not terms: nothing to move or compute. */
static void term(mz_sched *s, int type, int index, double q)
{
    mz_op *op = &s->op;
    if (!(q > 0)) return;
    mz_op_reserve(op, op->nterms + 1, 0);
    op->term[op->nterms].type = type;
    op->term[op->nterms].index = index;
    op->term[op->nterms].q = q;
    op->nterms++;
}

static void dep(mz_sched *s, int32_t id)
{
    mz_op *op = &s->op;
    if (id < 0) return;
    for (int i = 0; i < op->ndeps; i++)
        if (op->dep[i] == (uint32_t)id) return;
    mz_op_reserve(op, 0, op->ndeps + 1);
    op->dep[op->ndeps++] = (uint32_t)id;
}

static int32_t op_end(mz_sched *s)
{
    if (!s->err) s->err = s->put(s->arg, &s->op);
    return (int32_t)s->next_id++;
}

#define OUT(s, mb, j) ((s)->out + ((size_t)(mb) * (s)->slices + (j)) * ((s)->groups + 1))
#define NOUT(s, mb, j) ((s)->nout[(size_t)(mb) * (s)->slices + (j)])
/* The forward save of block l's activations of micro-batch mb: chiplet c's, or (c = chiplets) the root's. */
#define SAVED(s, l, mb, c) ((s)->saved[((size_t)(l) * (s)->mbs + (mb)) * ((s)->chiplets + 1) + (c)])

static void dep_out(mz_sched *s, int mb, int j)
{
    for (int k = 0; k < NOUT(s, mb, j); k++) dep(s, OUT(s, mb, j)[k]);
}

/* Per-visit quantities of slot li for micro-batches mb0..mb0+nmb-1: weights
 * per chiplet, pairs, and the hot order (per group, pairs descending). */
static void visit_counts(mz_sched *s, int li, int mb0, int nmb)
{
    for (int c = 0; c < s->chiplets; c++) {
        s->prs[c] = 0;
        for (int mb = mb0; mb < mb0 + nmb; mb++) s->prs[c] += cnt(s, s->pairs, s->chiplets, mb, li, -1, c);
        s->wc[c] = chip_weights(s, li, c);
        s->hot[c] = c;
    }
    for (int a = 1; a < s->chiplets; a++) {
        int c = s->hot[a], k = a;
        while (k > 0) {
            int d = s->hot[k - 1];
            int before = s->group_of[d] < s->group_of[c] ||
                         (s->group_of[d] == s->group_of[c] && (s->prs[d] > s->prs[c] || (s->prs[d] == s->prs[c] && d < c)));
            if (before) break;
            s->hot[k] = d;
            k--;
        }
        s->hot[k] = c;
    }
}

/* ------------------------------------------------------------------ the ops (section 4.3) */
/* Attention (+ router) on the root for (mb, j); bwd: dgrad and wgrad. */
static void root_compute(mz_sched *s, int kind, int l, int mb, int j, int bw)
{
    double T = ntok(s, mb, j), mult = bw ? 2 : 1, fl = 0;
    op_begin(s, kind, l, mb, j, bw);
    switch (kind) {
    case MZ_OP_ATT:
        fl = 2 * T * s->P_att + 4 * ctx(s, l, mb, j) * s->m->heads * s->m->head_dim +
             (s->moe_slot[l] >= 0 ? 2 * T * s->P_router : 0);
        term(s, MZ_Q_ROOT_CTX, 0, ctx(s, l, mb, j));
        break;
    case MZ_OP_DENSE_FFN: fl = 2 * T * s->P_dense; break;
    case MZ_OP_SHARED: fl = 2 * T * s->shared * s->P_shared; break;
    }
    term(s, MZ_Q_ROOT_FLOP, 0, fl * mult);
    term(s, MZ_Q_ROOT_TOKENS, 0, T);
}

/* The expert op of chiplet c for (mb, j): pairs, active experts, the
 * shared slice's tokens; FLOPs for the record. */
static void expert_terms(mz_sched *s, int li, int mb, int j, int c, int bw)
{
    double pairs = cnt(s, s->pairs, s->chiplets, mb, li, j, c), T = ntok(s, mb, j), mult = bw ? 2 : 1;
    double fl = 2 * pairs * s->P_expert + (s->spread ? 2 * T * s->shared * s->P_shared / s->chiplets : 0);
    term(s, MZ_Q_CHIP_FLOP, c, fl * mult);
    term(s, MZ_Q_CHIP_TOKENS, c, pairs);
    term(s, MZ_Q_CHIP_EXPERTS, c, cnt(s, s->active, s->chiplets, mb, li, j, c));
    if (s->spread) term(s, MZ_Q_CHIP_SHARED, c, T);
}

/* One all-to-all op for group g: per chiplet and at the root link when the
 * switch aggregates (section 3.2). */
static void a2a_terms(mz_sched *s, int li, int mb, int j, int g)
{
    double hb = s->hidden * s->bytes, sum = 0;
    for (int c = 0; c < s->chiplets; c++) {
        double q;
        if (s->group_of[c] != g) continue;
        q = copies_to(s, li, mb, j, c);
        sum += q;
        term(s, MZ_Q_A2A_CHIP, c, q * hb);
    }
    term(s, MZ_Q_A2A_GROUP, g, (s->o.dedup ? cnt(s, s->tok_group, s->groups, mb, li, j, g) : sum) * hb);
}

/* Update (or accumulate) the gradients of chiplet c after visit v (section 4.4):
 * order layer: the block's gradients sit in SRAM, the update writes the
 * weights (and reads and writes the optimizer state); order mb: the
 * accumulators are read (but by the first micro-batch) and written, the last
 * micro-batch updates. */
static void update_terms(mz_sched *s, double w, double wb, int first, int last, int rw_root, int c)
{
    double params = w / wb, g = params * s->o.grad_bytes, st = params * mz_sched_state_bytes(&s->o);
    int rd = rw_root ? MZ_Q_ROOT_READ : MZ_Q_MEM_READ, wr = rw_root ? MZ_Q_ROOT_WRITE : MZ_Q_MEM_WRITE;
    if (!first) term(s, rd, c, g);
    if (!last) {
        term(s, wr, c, g);
        return;
    }
    term(s, rd, c, st);
    term(s, wr, c, w + st);
}

/* The loads of visit v (chunks q0..q1-1 of each chiplet, hot order), each
 * waiting until the SRAM buffer it reuses is free (section 4.5). */
static void emit_loads(mz_sched *s, int v, int q0, int q1)
{
    int l = s->vis_layer[v], li = s->moe_slot[l], bw = s->vis_dir[v], C = s->chiplets;
    int depth = bw ? s->o.depth_bwd : s->o.depth_fwd;
    visit_counts(s, li, s->vis_mb0[v], s->vis_nmb[v]);
    for (int k = 0; k < C; k++) {
        int c = s->hot[k], ne = s->experts_on[(size_t)li * C + c] + (s->spread ? 1 : 0);
        if (ne > s->o.load_chunks) ne = s->o.load_chunks;
        if (ne < 1) ne = 1;
        for (int q = q0; q < q1 && q < ne; q++) {
            op_begin(s, MZ_OP_LOAD, l, s->vis_mb0[v], -1, bw);
            term(s, MZ_Q_MEM_READ, c, s->wc[c] / ne);
            if (v - depth >= 0) dep(s, s->freed[(size_t)(v - depth) * C + c]);
            s->loadlast[(size_t)v * C + c] = op_end(s);
        }
    }
}

/* Is visit v the backward turn of the block just run forward (weights still on chip)? */
static int turn(const mz_sched *s, int v)
{
    return v > 0 && s->vis_layer[v - 1] == s->vis_layer[v] && s->vis_dir[v - 1] != s->vis_dir[v];
}

/* Visit v's weights: reused at the turn, else loaded (now, unless they
 * were prefetched during the previous visit). */
static void visit_weights(mz_sched *s, int v)
{
    int C = s->chiplets;
    if (s->moe_slot[s->vis_layer[v]] < 0 || s->loaded[v]) return;
    s->loaded[v] = 1;
    if (turn(s, v)) {
        memcpy(s->loadlast + (size_t)v * C, s->loadlast + (size_t)(v - 1) * C, C * sizeof *s->loadlast);
        return;
    }
    for (int c = 0; c < C; c++) s->loadlast[(size_t)v * C + c] = NONE;
    emit_loads(s, v, 0, s->o.load_chunks);
}

/* ------------------------------------------------------------------ streaming (section 4.5) */
/* Emit chiplet c's expert op of visit v. An op with nothing to compute ends
 * as soon as its dependencies do, not after the chiplet's earlier expert
 * ops, so only an op with work becomes the chiplet's last of the visit (what
 * its saves, its update and the loads that reuse its SRAM wait for). */
static void expert_end(mz_sched *s, int v, int c)
{
    int work = s->op.nterms > 0;
    int32_t id = op_end(s);
    s->xs[c] = id;
    if (work) s->xlast[(size_t)v * s->chiplets + c] = id;
}

/* One slice (mb, j) of visit v through an MoE block, forward. */
static void stream_slice_fwd(mz_sched *s, int v, int mb, int j, int32_t rl, int32_t *rootmax)
{
    int l = s->vis_layer[v], li = s->moe_slot[l], C = s->chiplets, G = s->groups, n = 0;
    int32_t a, sh = NONE, e = NONE;
    if (l == 0) {
        op_begin(s, MZ_OP_EMBED, l, mb, j, 0);
        term(s, MZ_Q_ROOT_READ, 0, ntok(s, mb, j) * s->hidden * s->ow);
        dep_out(s, mb, j);
        e = op_end(s);
    }
    root_compute(s, MZ_OP_ATT, l, mb, j, 0);
    dep(s, rl);
    dep(s, e);
    dep_out(s, mb, j);
    a = *rootmax = op_end(s);
    if (li < 0) {
        root_compute(s, MZ_OP_DENSE_FFN, l, mb, j, 0);
        dep(s, a);
        OUT(s, mb, j)[0] = *rootmax = op_end(s);
        NOUT(s, mb, j) = 1;
        return;
    }
    if (s->root_shared) {
        root_compute(s, MZ_OP_SHARED, l, mb, j, 0);
        dep(s, a);
        sh = *rootmax = op_end(s);
    }
    for (int g = 0; g < G; g++) {
        op_begin(s, MZ_OP_DISPATCH, l, mb, j, 0);
        a2a_terms(s, li, mb, j, g);
        dep(s, a);
        s->disp[g] = op_end(s);
    }
    for (int c = 0; c < C; c++) {
        op_begin(s, MZ_OP_EXPERT, l, mb, j, 0);
        expert_terms(s, li, mb, j, c, 0);
        dep(s, s->disp[s->group_of[c]]);
        dep(s, s->loadlast[(size_t)v * C + c]);
        expert_end(s, v, c);
    }
    for (int g = 0; g < G; g++) {
        op_begin(s, MZ_OP_COMBINE, l, mb, j, 0);
        a2a_terms(s, li, mb, j, g);
        for (int c = 0; c < C; c++)
            if (s->group_of[c] == g) dep(s, s->xs[c]);
        OUT(s, mb, j)[n++] = s->comb[g] = op_end(s);
    }
    if (sh >= 0) OUT(s, mb, j)[n++] = sh;
    NOUT(s, mb, j) = n;
}

/* One slice (mb, j) of visit v through a block, backward. */
static void stream_slice_bwd(mz_sched *s, int v, int mb, int j, int32_t rl, int32_t ral, int32_t *rootmax)
{
    int l = s->vis_layer[v], li = s->moe_slot[l], C = s->chiplets, G = s->groups;
    int32_t a, sh = NONE;
    if (li < 0) {
        root_compute(s, MZ_OP_DENSE_FFN, l, mb, j, 1);
        dep(s, rl), dep(s, ral);
        dep_out(s, mb, j);
        sh = op_end(s);
    } else {
        if (s->root_shared) {
            root_compute(s, MZ_OP_SHARED, l, mb, j, 1);
            dep(s, rl), dep(s, ral);
            dep_out(s, mb, j);
            sh = op_end(s);
        }
        for (int g = 0; g < G; g++) {
            op_begin(s, MZ_OP_DISPATCH, l, mb, j, 1);
            a2a_terms(s, li, mb, j, g);
            dep_out(s, mb, j);
            s->disp[g] = op_end(s);
        }
        for (int c = 0; c < C; c++) {
            op_begin(s, MZ_OP_EXPERT, l, mb, j, 1);
            expert_terms(s, li, mb, j, c, 1);
            dep(s, s->disp[s->group_of[c]]);
            dep(s, s->loadlast[(size_t)v * C + c]);
            dep(s, s->actl[c]);
            expert_end(s, v, c);
        }
        for (int g = 0; g < G; g++) {
            op_begin(s, MZ_OP_COMBINE, l, mb, j, 1);
            a2a_terms(s, li, mb, j, g);
            for (int c = 0; c < C; c++)
                if (s->group_of[c] == g) dep(s, s->xs[c]);
            s->comb[g] = op_end(s);
        }
    }
    root_compute(s, MZ_OP_ATT, l, mb, j, 1);
    dep(s, rl), dep(s, ral), dep(s, sh);
    if (li >= 0)
        for (int g = 0; g < G; g++) dep(s, s->comb[g]);
    a = *rootmax = op_end(s);
    if (l == 0) {
        /* the gathered embedding rows take their update */
        double rows = ntok(s, mb, j) * s->hidden;
        op_begin(s, MZ_OP_EMBED, l, mb, j, 1);
        term(s, MZ_Q_ROOT_READ, 0, rows * (s->ow + mz_sched_state_bytes(&s->o)));
        term(s, MZ_Q_ROOT_WRITE, 0, rows * (s->ow + mz_sched_state_bytes(&s->o)));
        dep(s, a);
        a = *rootmax = op_end(s);
    }
    OUT(s, mb, j)[0] = a;
    NOUT(s, mb, j) = 1;
}

/* The LM head and loss over slice j of micro-batch mb (j < 0: all of it;
 * the schedules use whole micro-batches; section 4.3): its weights, too
 * large for the root's SRAM, stream through the root from its DRAM as it
 * computes; backward, its gradient accumulates in root DRAM and the step's
 * last pass updates it. */
static int32_t lm_head(mz_sched *s, int v, int mb, int j, int32_t rl)
{
    int bw = s->vis_dir[v], j0 = j < 0 ? 0 : j, j1 = j < 0 ? s->slices : j + 1;
    double T = ntok(s, mb, j), w = lm_weights(s);
    int32_t id;
    op_begin(s, MZ_OP_LM_HEAD, s->layers - 1, mb, j, bw);
    term(s, MZ_Q_ROOT_FLOP, 0, 2 * T * s->vocab * s->hidden * (bw ? 2 : 1));
    term(s, MZ_Q_ROOT_TOKENS, 0, T);
    term(s, MZ_Q_ROOT_READ, 0, w);
    if (bw) update_terms(s, w, s->ow, mb == 0 && j0 == 0, mb == s->mbs - 1 && j1 == s->slices, 1, 0);
    dep(s, rl);
    for (int k = j0; k < j1; k++) dep_out(s, mb, k);
    id = op_end(s);
    for (int k = j0; k < j1; k++) OUT(s, mb, k)[0] = id, NOUT(s, mb, k) = 1;
    return id;
}

/* Order mb: the first block of a micro-batch waits for the previous one's
 * outputs; its first slice carries the dependency (the root serialises
 * the rest). */
static void serial_mbs(mz_sched *s, int v)
{
    int mb0 = s->vis_mb0[v];
    if (s->order_layer || v == 0 || s->vis_mb0[v - 1] == mb0) return;
    for (int j = 0; j < s->slices; j++) NOUT(s, mb0, j) = 0;
    memcpy(OUT(s, mb0, 0), s->carry, s->ncarry * sizeof *s->carry);
    NOUT(s, mb0, 0) = s->ncarry;
}

static void keep_carry(mz_sched *s, int v)
{
    int mb = s->vis_mb0[v];
    s->ncarry = 0;
    if (s->order_layer || v + 1 >= s->nvis || s->vis_mb0[v + 1] == mb) return;
    for (int j = 0; j < s->slices; j++)
        for (int k = 0; k < NOUT(s, mb, j); k++) s->carry[s->ncarry++] = OUT(s, mb, j)[k];
}

/* End of a visit's micro-batch: activations saved for backward (forward). */
static void save_acts(mz_sched *s, int v, int mb, int32_t rootmax)
{
    int l = s->vis_layer[v], li = s->moe_slot[l];
    if (li >= 0)
        for (int k = 0; k < s->chiplets; k++) {
            int c = s->hot[k];
            op_begin(s, MZ_OP_SAVE, l, mb, -1, 0);
            term(s, MZ_Q_MEM_WRITE, c, chip_acts(s, li, mb, -1, c));
            dep(s, s->xlast[(size_t)v * s->chiplets + c]);
            SAVED(s, l, mb, c) = op_end(s);
        }
    op_begin(s, MZ_OP_ATT_SAVE, l, mb, -1, 0);
    term(s, MZ_Q_ROOT_WRITE, 0, root_acts(s, l, mb));
    dep(s, rootmax);
    SAVED(s, l, mb, s->chiplets) = op_end(s);
}

/* Backward: the saved activations come back, the root's for micro-batch mb,
 * the chiplets' for slice j of it (j < 0: all of it, the Baseline's), each
 * after the forward save that wrote them. */
static int32_t load_root_acts(mz_sched *s, int v, int mb, int32_t rl)
{
    op_begin(s, MZ_OP_ROOT_ACT_LOAD, s->vis_layer[v], mb, -1, 1);
    term(s, MZ_Q_ROOT_READ, 0, root_acts(s, s->vis_layer[v], mb));
    dep(s, rl);
    dep(s, SAVED(s, s->vis_layer[v], mb, s->chiplets));
    return op_end(s);
}

static void load_chip_acts(mz_sched *s, int v, int mb, int j)
{
    int l = s->vis_layer[v], li = s->moe_slot[l], C = s->chiplets;
    if (li < 0) return;
    for (int k = 0; k < C; k++) {
        int c = s->hot[k];
        op_begin(s, MZ_OP_ACT_LOAD, l, mb, j, 1);
        term(s, MZ_Q_MEM_READ, c, chip_acts(s, li, mb, j, c));
        dep(s, s->loadlast[(size_t)v * C + c]);
        dep(s, SAVED(s, l, mb, c));
        s->actl[c] = op_end(s);
    }
}

static int32_t load_acts(mz_sched *s, int v, int mb, int32_t rl)
{
    int32_t ral = load_root_acts(s, v, mb, rl);
    load_chip_acts(s, v, mb, -1);
    return ral;
}

/* The update of a block with replicas (section 4.8): a chiplet's replicas
 * hand their gradients to the primaries' chiplets (written to the
 * replica's group memory, read by the primary's), then each chiplet
 * updates its primaries and writes the new weights of every copy of them. */
static void update_replicas(mz_sched *s, int v, int li, int first)
{
    int l = s->vis_layer[v], C = s->chiplets, mb0 = s->vis_mb0[v];
    double cb = s->ew * s->P_expert, gb = s->P_expert * s->o.grad_bytes;
    for (int k = 0; k < C; k++) {
        int c = s->hot[k], nr = s->rep_on[(size_t)li * C + c];
        s->rgrad[c] = NONE;
        if (!nr) continue;
        /* the replicas' accumulated gradients: as an accumulation that does not update */
        op_begin(s, MZ_OP_GRAD_WB, l, mb0, -1, 1);
        update_terms(s, nr * cb, s->ew, first, 0, 0, c);
        dep(s, s->xlast[(size_t)v * C + c]);
        s->rgrad[c] = op_end(s);
    }
    for (int k = 0; k < C; k++) {
        int c = s->hot[k], nr = s->rep_on[(size_t)li * C + c], no = s->rep_of[(size_t)li * C + c];
        op_begin(s, MZ_OP_GRAD_WB, l, mb0, -1, 1);
        update_terms(s, s->wc[c] - nr * cb, s->ew, first, 1, 0, c);
        term(s, MZ_Q_MEM_READ, c, no * gb);
        term(s, MZ_Q_MEM_WRITE, c, no * cb);
        dep(s, s->xlast[(size_t)v * C + c]);
        if (no)
            for (int q = 0; q < C; q++) dep(s, s->rgrad[q]);
        dep(s, s->rgrad[c]);
        s->freed[(size_t)v * C + c] = op_end(s);
    }
}

/* Backward, end of a visit: the block's weights take their update. */
static void update_block(mz_sched *s, int v, int32_t rootmax)
{
    int l = s->vis_layer[v], li = s->moe_slot[l], C = s->chiplets, mb0 = s->vis_mb0[v];
    int first = s->order_layer || mb0 == 0, last = s->order_layer || mb0 == s->mbs - 1;
    if (li >= 0 && s->replicas && last)
        update_replicas(s, v, li, first);
    else if (li >= 0)
        for (int k = 0; k < C; k++) {
            int c = s->hot[k];
            op_begin(s, MZ_OP_GRAD_WB, l, mb0, -1, 1);
            update_terms(s, s->wc[c], s->ew, first, last, 0, c);
            dep(s, s->xlast[(size_t)v * C + c]);
            s->freed[(size_t)v * C + c] = op_end(s);
        }
    op_begin(s, MZ_OP_ATT_WB, l, mb0, -1, 1);
    update_terms(s, root_weights(s, l), s->ow, s->order_layer || mb0 == 0, s->order_layer || mb0 == s->mbs - 1, 1, 0);
    dep(s, rootmax);
    op_end(s);
}

/* Root weights of visit v (the root holds two blocks: this waits for the
 * visit before last to finish on the root); none at the turn. */
static int32_t root_load(mz_sched *s, int v)
{
    int l = s->vis_layer[v];
    if (turn(s, v)) return NONE;
    op_begin(s, MZ_OP_ROOT_LOAD, l, s->vis_mb0[v], -1, s->vis_dir[v]);
    term(s, MZ_Q_ROOT_READ, 0, root_weights(s, l));
    if (v >= 2) dep(s, s->rootlast[v - 2]);
    return op_end(s);
}

/* Section 4.5: tokens stream in slices through every block; the next
 * visit's weights stream in during this one when SRAM holds two blocks. */
static void emit_streaming(mz_sched *s)
{
    int C = s->chiplets;
    for (int v = 0; v < s->nvis; v++) {
        int l = s->vis_layer[v], li = s->moe_slot[l], bw = s->vis_dir[v], mb0 = s->vis_mb0[v], nmb = s->vis_nmb[v];
        int nsl = nmb * s->slices, next = v + 1, k = 0;
        int prefetch = next < s->nvis && s->moe_slot[s->vis_layer[next]] >= 0 && !turn(s, next) &&
                       (s->vis_dir[next] ? s->o.depth_bwd : s->o.depth_fwd) >= 2;
        int nch = s->o.load_chunks, sent = 0;
        int32_t rl, rootmax = NONE;
        serial_mbs(s, v);
        rl = root_load(s, v);
        visit_weights(s, v);
        if (li >= 0) visit_counts(s, li, mb0, nmb);
        for (int c = 0; c < C; c++)
            s->xlast[(size_t)v * C + c] = v > 0 ? s->xlast[(size_t)(v - 1) * C + c] : NONE;
        if (prefetch) {
            for (int c = 0; c < C; c++) s->loadlast[(size_t)next * C + c] = NONE;
            s->loaded[next] = 1;
        }
        for (int mb = mb0; mb < mb0 + nmb; mb++) {
            int32_t ral = NONE;
            if (bw && l == s->layers - 1) lm_head(s, v, mb, -1, rl);
            if (bw) ral = load_root_acts(s, v, mb, rl);
            for (int j = 0; j < s->slices; j++, k++) {
                if (bw) {
                    load_chip_acts(s, v, mb, j);
                    stream_slice_bwd(s, v, mb, j, rl, ral, &rootmax);
                } else {
                    stream_slice_fwd(s, v, mb, j, rl, &rootmax);
                }
                /* chunk q of the next visit's weights after slice q * nsl / nch */
                while (prefetch && sent < nch && (long)sent * nsl / nch <= k) {
                    emit_loads(s, next, sent, sent + 1);
                    if (li >= 0) visit_counts(s, li, mb0, nmb);
                    sent++;
                }
            }
            if (!bw && l == s->layers - 1) rootmax = lm_head(s, v, mb, -1, rl);
            if (!bw) save_acts(s, v, mb, rootmax);
        }
        if (bw)
            update_block(s, v, rootmax);
        else
            for (int c = 0; c < C; c++) s->freed[(size_t)v * C + c] = s->xlast[(size_t)v * C + c];
        s->rootlast[v] = rootmax;
        keep_carry(s, v);
    }
}

/* ------------------------------------------------------------------ Baseline (section 4.7) */
/* One op per group (dispatch, combine) or per chiplet (expert), one phase. */
static void baseline_a2a(mz_sched *s, int kind, int l, int li, int mb, int bw)
{
    s->phase++;
    for (int g = 0; g < s->groups; g++) {
        op_begin(s, kind, l, mb, -1, bw);
        a2a_terms(s, li, mb, -1, g);
        op_end(s);
    }
}

static void baseline_root(mz_sched *s, int kind, int l, int mb, int bw)
{
    s->phase++;
    root_compute(s, kind, l, mb, -1, bw);
    op_end(s);
}

static void emit_baseline(mz_sched *s)
{
    int C = s->chiplets;
    for (int v = 0; v < s->nvis; v++) {
        int l = s->vis_layer[v], li = s->moe_slot[l], bw = s->vis_dir[v], mb0 = s->vis_mb0[v], nmb = s->vis_nmb[v];
        s->phase++;
        root_load(s, v);
        if (li >= 0) {
            visit_counts(s, li, mb0, nmb);
            s->phase++;
            visit_weights(s, v);
        }
        for (int mb = mb0; mb < mb0 + nmb; mb++) {
            if (bw && l == s->layers - 1) {
                s->phase++;
                lm_head(s, v, mb, -1, NONE);
            }
            if (!bw) {
                if (l == 0) {
                    s->phase++;
                    op_begin(s, MZ_OP_EMBED, l, mb, -1, 0);
                    term(s, MZ_Q_ROOT_READ, 0, ntok(s, mb, -1) * s->hidden * s->ow);
                    op_end(s);
                }
                baseline_root(s, MZ_OP_ATT, l, mb, 0);
                if (li < 0) baseline_root(s, MZ_OP_DENSE_FFN, l, mb, 0);
                if (li >= 0 && s->root_shared) baseline_root(s, MZ_OP_SHARED, l, mb, 0);
                if (li >= 0) {
                    baseline_a2a(s, MZ_OP_DISPATCH, l, li, mb, 0);
                    s->phase++;
                    for (int c = 0; c < C; c++) {
                        op_begin(s, MZ_OP_EXPERT, l, mb, -1, 0);
                        expert_terms(s, li, mb, -1, c, 0);
                        op_end(s);
                    }
                    baseline_a2a(s, MZ_OP_COMBINE, l, li, mb, 0);
                }
                if (l == s->layers - 1) {
                    s->phase++;
                    lm_head(s, v, mb, -1, NONE);
                }
                s->phase++;
                save_acts(s, v, mb, NONE);
            } else {
                s->phase++;
                load_acts(s, v, mb, NONE);
                if (li >= 0) {
                    baseline_a2a(s, MZ_OP_DISPATCH, l, li, mb, 1);
                    s->phase++;
                    for (int c = 0; c < C; c++) {
                        op_begin(s, MZ_OP_EXPERT, l, mb, -1, 1);
                        expert_terms(s, li, mb, -1, c, 1);
                        op_end(s);
                    }
                    baseline_a2a(s, MZ_OP_COMBINE, l, li, mb, 1);
                    if (s->root_shared) baseline_root(s, MZ_OP_SHARED, l, mb, 1);
                } else {
                    baseline_root(s, MZ_OP_DENSE_FFN, l, mb, 1);
                }
                baseline_root(s, MZ_OP_ATT, l, mb, 1);
                if (l == 0) {
                    double rows = ntok(s, mb, -1) * s->hidden * (s->ow + mz_sched_state_bytes(&s->o));
                    s->phase++;
                    op_begin(s, MZ_OP_EMBED, l, mb, -1, 1);
                    term(s, MZ_Q_ROOT_READ, 0, rows);
                    term(s, MZ_Q_ROOT_WRITE, 0, rows);
                    op_end(s);
                }
            }
        }
        if (bw) {
            s->phase++;
            update_block(s, v, NONE);
        }
        for (int c = 0; c < C; c++) s->freed[(size_t)v * C + c] = NONE;
    }
}

/* ------------------------------------------------------------------ footprint (section 5) */
static void footprint(mz_sched *s)
{
    int G = s->groups, C = s->chiplets, nm = G + C + 2;
    double *fw = s->foot, *fg = fw + nm, *fs = fg + nm, *fa = fs + nm;
    /* per byte of expert weights, per byte of the root's */
    double state = mz_sched_state_bytes(&s->o) / s->ew, grad = s->o.grad_bytes / s->ew;
    double rstate = mz_sched_state_bytes(&s->o) / s->ow, rgrad = s->o.grad_bytes / s->ow;
    double root_w = 2 * lm_weights(s), root_max = 0, tokens = 0;
    int held = s->order_layer ? s->mbs : 1; /* micro-batches whose activations wait for backward */
    memset(s->foot, 0, 4 * (size_t)nm * sizeof *s->foot);
    for (int mb = 0; mb < s->mbs; mb++) tokens += ntok(s, mb, -1);
    for (int l = 0; l < s->layers; l++) {
        int li = s->moe_slot[l];
        double rw = root_weights(s, l);
        root_w += rw;
        if (rw > root_max) root_max = rw;
        for (int mb = 0; mb < held; mb++) fa[G] += root_acts(s, l, mb);
        if (li < 0) continue;
        for (int c = 0; c < C; c++) {
            int g = s->group_of[c], m = G + 1 + c;
            double w = chip_weights(s, li, c), gacc = w * grad;
            double fwd = s->o.depth_fwd * w + sram_buffers(s, li, c, 0);
            double bwd = s->o.depth_bwd * w + gacc + sram_buffers(s, li, c, 1);
            fw[g] += w;
            /* one optimizer state per expert, with its primary copy (section 4.8) */
            fs[g] += (w - s->rep_on[(size_t)li * C + c] * s->ew * s->P_expert) * state;
            if (!s->order_layer) fg[g] += gacc;
            for (int mb = 0; mb < held; mb++) fa[g] += chip_acts(s, li, mb, -1, c);
            /* SRAM at its peak: the blocks held, the gradient accumulator, the buffers */
            if (fwd > fw[m] + fg[m] + fa[m]) fw[m] = s->o.depth_fwd * w, fg[m] = 0, fa[m] = fwd - fw[m];
            if (bwd > fw[m] + fg[m] + fa[m]) fw[m] = s->o.depth_bwd * w, fg[m] = gacc, fa[m] = bwd - fw[m] - gacc;
        }
    }
    fw[G] = root_w;
    fs[G] = root_w * rstate;
    /* the LM head's gradient accumulates in root DRAM (4.4); order mb: every block's too */
    fg[G] = (s->order_layer ? lm_weights(s) : root_w - lm_weights(s)) * rgrad;
    /* root SRAM: two blocks of weights, the block inputs and outputs of the tokens in flight */
    fw[G + 1 + C] = 2 * root_max;
    fa[G + 1 + C] = 2 * s->bytes * s->hidden * (s->order_layer ? tokens : tokens / s->mbs);
}

int mz_sched_emit(mz_sched *s, uint32_t step, int (*put)(void *, const mz_op *), void *arg)
{
    size_t n = (size_t)s->mbs * s->moe_layers * s->slices;
    int nm = s->groups + s->chiplets + 2;
    s->op.step = step;
    s->next_id = 0;
    s->put = put;
    s->arg = arg;
    s->err = 0;
    s->phase = 0;
    memset(s->loaded, 0, s->nvis * sizeof *s->loaded);
    memset(s->nout, 0, (size_t)s->mbs * s->slices * sizeof *s->nout);
    for (size_t i = 0; i < (size_t)s->nvis * s->chiplets; i++) s->freed[i] = s->xlast[i] = s->loadlast[i] = NONE;
    for (int v = 0; v < s->nvis; v++) s->rootlast[v] = NONE;
    for (size_t i = 0; i < (size_t)s->layers * s->mbs * (s->chiplets + 1); i++) s->saved[i] = NONE;
    for (int c = 0; c < s->chiplets; c++) s->actl[c] = NONE;
    s->ncarry = 0;
    sum_pairs(s);
    if (s->o.overlap)
        emit_streaming(s);
    else
        emit_baseline(s);
    /* last: the step's token and copy counts (for C_T) and footprint; it
     * also tells a reader that the step is complete */
    footprint(s);
    op_begin(s, MZ_OP_STAT, 0, 0, -1, 0);
    s->op.phase = 0;
    term(s, MZ_Q_TOKENS, 0, s->token_layers);
    term(s, MZ_Q_COPIES, 0, s->copies);
    term(s, MZ_Q_GROUP_COPIES, 0, s->group_copies);
    for (int k = 0; k < 4; k++)
        for (int i = 0; i < nm; i++) term(s, MZ_Q_FOOT_WEIGHTS + k, i, s->foot[(size_t)k * nm + i]);
    op_end(s);
    memset(s->sel, 0, n * s->np * sizeof *s->sel);
    memset(s->tok_chip, 0, n * s->chiplets * sizeof *s->tok_chip);
    memset(s->tok_group, 0, n * s->groups * sizeof *s->tok_group);
    memset(s->ntok, 0, (size_t)s->mbs * s->slices * sizeof *s->ntok);
    memset(s->ctx, 0, 3 * (size_t)s->mbs * s->slices * sizeof *s->ctx);
    s->copies = s->group_copies = s->token_layers = 0;
    return s->err;
}
