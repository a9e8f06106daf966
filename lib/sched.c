/* sched.c: the schedule builder: turns a placed routing trace into the ops of each training step (mzs(5)). */
#define _GNU_SOURCE
#include <fcntl.h>
#include <math.h>
#include <sys/stat.h>
#include <stdlib.h>
#include <string.h>

#include "mz.h"

/* ------------------------------------------------------------------ the builder */
struct mz_sched {
    const mz_trace_info *t;
    const mz_model *m;
    mz_sched_opts o;
    int L, nL, E, K, C, G, M, S, ns, seqs, seq_len;
    int *li_of;        /* [L] MoE slot (trace and placement), -1 for dense */
    int *chip;         /* [nL * E] chiplet of each routed expert */
    int *gof;          /* [C] group of each chiplet */
    int *sh_chip;      /* [ns] chiplet of each shared expert (on chiplets) */
    int *nexp;         /* [nL * C] routed experts per chiplet */
    int *nsh;          /* [C] shared experts per chiplet */
    int *first_seq;    /* [M + 1] first sequence of each micro-batch */
    /* counts of the current step */
    uint32_t *ecount;       /* [M][S][nL][E] selections per expert */
    uint32_t *pairs, *tokc; /* [M][S][nL][C] (a slice's layers together: the hot set) */
    uint64_t sh_cmask, sh_gmask; /* chiplets and groups of the shared experts */
    uint32_t *tokg;         /* [M][S][nL][G] */
    uint32_t *ntok;         /* [M][S] */
    double *causal;         /* [M][S]: sum over tokens of 4 pos + 2 */
    double copies, gcopies, tok_layers;
    uint32_t *stamp, *gstamp, serial;
    /* model quantities */
    double P_att, P_exp, P_sh, P_dense, h, b, nqdh, nkvdh, gm;
    /* emission state */
    mz_op op;
    uint32_t next_id;
    int (*put)(void *, const mz_op *);
    void *arg;
    int err;
    int nvis;
    int *vis_dir, *vis_layer, *vis_mb0, *vis_nmb; /* [nvis] */
    int32_t *xlast;     /* [nvis][C] last expert op of chiplet c in visit */
    int32_t *rootlast;  /* [nvis] */
    int32_t *wblast;    /* [C] */
    int32_t *prev;      /* [M][S][pcap] block outputs per micro-batch and slice */
    int *nprev;         /* [M][S] */
    int pcap;
    int32_t *tmp;       /* [pcap] */
    int32_t *loads;     /* [C][chunks] */
    int *nloads;        /* [C] */
    int32_t *actl;      /* [C] */
    int32_t *xs_all;    /* [C][M] */
    int *nxs;           /* [C] */
    int32_t *xs;        /* [C] */
    int32_t *dsp, *cmb; /* [G] */
    int *hot;           /* [C] chiplets in hot order, group by group */
    double *Wc, *Ac, *cpy, *prs; /* [C] per-visit quantities */
    int32_t *out;       /* [S][G + 1] this visit's outputs */
    int *nout;          /* [S] */
};

static int all_moe_traced(const mz_trace_info *t)
{
    return t->n_layers == t->model.n_moe;
}

mz_sched *mz_sched_new(const mz_trace_info *t, const mz_placement *p, const mz_sched_opts *o)
{
    mz_sched *s;
    const mz_model *m = &t->model;
    if (!all_moe_traced(t)) {
        mz_error("the trace covers %d of the model's %d MoE layers; a schedule needs every MoE layer "
                 "(trace without -l)", t->n_layers, m->n_moe);
        return NULL;
    }
    if (o->micro_batches > t->seqs) {
        mz_error("%d micro-batches but only %d sequences per step", o->micro_batches, t->seqs);
        return NULL;
    }
    if (o->prefetch == 0 && !(o->sram_bytes > 0)) {
        mz_error("prefetch 0 (derive from SRAM) needs the chiplet's SRAM size (a wafer)");
        return NULL;
    }
    s = mz_calloc(1, sizeof *s);
    s->t = t;
    s->m = m;
    s->o = *o;
    s->L = m->layers, s->nL = t->n_layers, s->E = m->experts, s->K = m->topk;
    s->C = p->chiplets, s->G = p->groups;
    s->M = o->micro_batches;
    s->S = o->overlap ? o->slices : 1;
    s->ns = m->shared;
    s->seqs = t->seqs, s->seq_len = t->seq_len;
    s->li_of = mz_malloc(s->L * sizeof *s->li_of);
    for (int l = 0; l < s->L; l++) s->li_of[l] = -1;
    for (int i = 0; i < t->n_layers; i++) s->li_of[t->layers[i]] = i;
    s->chip = mz_malloc((size_t)s->nL * s->E * sizeof *s->chip);
    s->nexp = mz_calloc((size_t)s->nL * s->C, sizeof *s->nexp);
    for (int i = 0; i < s->nL; i++) {
        int slot = mz_placement_slot(p, t->layers[i]);
        for (int e = 0; e < s->E; e++) {
            int c = p->chiplet[(size_t)slot * s->E + e];
            s->chip[(size_t)i * s->E + e] = c;
            s->nexp[(size_t)i * s->C + c]++;
        }
    }
    s->gof = mz_malloc(s->C * sizeof *s->gof);
    for (int c = 0; c < s->C; c++) s->gof[c] = mz_group_of(p, c);
    s->nsh = mz_calloc(s->C, sizeof *s->nsh);
    s->sh_chip = mz_calloc(s->ns ? s->ns : 1, sizeof *s->sh_chip);
    if (!o->shared_on_root)
        for (int k = 0; k < s->ns; k++) {
            s->sh_chip[k] = (int)((long)k * s->C / s->ns);
            s->nsh[s->sh_chip[k]]++;
            if (s->C <= 64 && s->G <= 64) {
                s->sh_cmask |= 1ull << s->sh_chip[k];
                s->sh_gmask |= 1ull << s->gof[s->sh_chip[k]];
            }
        }
    s->first_seq = mz_malloc((s->M + 1) * sizeof *s->first_seq);
    for (int mb = 0; mb <= s->M; mb++) s->first_seq[mb] = (int)(((long)mb * s->seqs + s->M - 1) / s->M);
    {
        size_t n = (size_t)s->M * s->nL * s->S;
        s->ecount = mz_calloc(n * s->E, sizeof *s->ecount);
        s->pairs = mz_calloc(n * s->C, sizeof *s->pairs);
        s->tokc = mz_calloc(n * s->C, sizeof *s->tokc);
        s->tokg = mz_calloc(n * s->G, sizeof *s->tokg);
        s->ntok = mz_calloc((size_t)s->M * s->S, sizeof *s->ntok);
        s->causal = mz_calloc((size_t)s->M * s->S, sizeof *s->causal);
    }
    s->stamp = mz_calloc(s->C, sizeof *s->stamp);
    s->gstamp = mz_calloc(s->G, sizeof *s->gstamp);
    /* model quantities (elements, FLOPs per token) */
    s->h = m->hidden;
    s->b = o->bytes;
    s->P_att = mz_model_attn_params(m) + 2.0 * m->hidden; /* Wq, Wk, Wv, Wo and two norms */
    s->P_exp = mz_model_expert_params(m);
    s->P_sh = mz_model_shared_params(m);
    s->P_dense = mz_model_dense_params(m);
    s->nqdh = (double)m->heads * m->head_dim;
    s->nkvdh = (double)m->kv_heads * m->head_dim;
    s->gm = m->gated ? 2.0 : 1.0;
    /* visits: one pass of micro-batches through one block in one direction */
    s->nvis = o->order_layer ? 2 * s->L : 2 * s->L * s->M;
    s->vis_dir = mz_malloc(s->nvis * sizeof(int));
    s->vis_layer = mz_malloc(s->nvis * sizeof(int));
    s->vis_mb0 = mz_malloc(s->nvis * sizeof(int));
    s->vis_nmb = mz_malloc(s->nvis * sizeof(int));
    {
        int v = 0, reps = o->order_layer ? 1 : s->M;
        for (int r = 0; r < reps; r++) {
            for (int l = 0; l < s->L; l++, v++)
                s->vis_dir[v] = 0, s->vis_layer[v] = l, s->vis_mb0[v] = r, s->vis_nmb[v] = o->order_layer ? s->M : 1;
            for (int l = s->L - 1; l >= 0; l--, v++)
                s->vis_dir[v] = 1, s->vis_layer[v] = l, s->vis_mb0[v] = r, s->vis_nmb[v] = o->order_layer ? s->M : 1;
        }
    }
    s->xlast = mz_malloc((size_t)s->nvis * s->C * sizeof *s->xlast);
    s->rootlast = mz_malloc(s->nvis * sizeof *s->rootlast);
    s->wblast = mz_malloc(s->C * sizeof *s->wblast);
    s->pcap = s->S * (s->G + 1);
    s->prev = mz_malloc((size_t)s->M * s->S * s->pcap * sizeof *s->prev);
    s->nprev = mz_calloc((size_t)s->M * s->S, sizeof *s->nprev);
    s->tmp = mz_malloc(s->pcap * sizeof *s->tmp);
    s->loads = mz_malloc((size_t)s->C * o->load_chunks * sizeof *s->loads);
    s->nloads = mz_calloc(s->C, sizeof *s->nloads);
    s->actl = mz_malloc(s->C * sizeof *s->actl);
    s->xs_all = mz_malloc((size_t)s->C * s->M * sizeof *s->xs_all);
    s->nxs = mz_calloc(s->C, sizeof *s->nxs);
    s->xs = mz_malloc(s->C * sizeof *s->xs);
    s->dsp = mz_malloc(s->G * sizeof *s->dsp);
    s->cmb = mz_malloc(s->G * sizeof *s->cmb);
    s->hot = mz_malloc(s->C * sizeof *s->hot);
    s->Wc = mz_malloc(s->C * sizeof *s->Wc);
    s->Ac = mz_malloc(s->C * sizeof *s->Ac);
    s->cpy = mz_malloc(s->C * sizeof *s->cpy);
    s->prs = mz_malloc(s->C * sizeof *s->prs);
    s->out = mz_malloc((size_t)s->S * (s->G + 1) * sizeof *s->out);
    s->nout = mz_calloc(s->S, sizeof *s->nout);
    return s;
}

void mz_sched_free(mz_sched *s)
{
    if (!s) return;
    free(s->li_of), free(s->chip), free(s->nexp), free(s->gof), free(s->nsh), free(s->sh_chip);
    free(s->first_seq), free(s->ecount), free(s->pairs), free(s->tokc), free(s->tokg), free(s->ntok), free(s->causal);
    free(s->stamp), free(s->gstamp);
    free(s->vis_dir), free(s->vis_layer), free(s->vis_mb0), free(s->vis_nmb);
    free(s->xlast), free(s->rootlast), free(s->wblast), free(s->prev), free(s->nprev), free(s->tmp);
    free(s->loads), free(s->nloads), free(s->actl), free(s->xs_all), free(s->nxs), free(s->xs);
    free(s->dsp), free(s->cmb), free(s->hot), free(s->Wc), free(s->Ac), free(s->cpy), free(s->prs);
    free(s->out), free(s->nout);
    mz_op_free(&s->op);
    free(s);
}

void mz_sched_add(mz_sched *s, const mz_token *tok)
{
    int seq = (int)tok->seq, mb = (int)((long)seq * s->M / s->seqs);
    int local = seq - s->first_seq[mb], nloc = s->first_seq[mb + 1] - s->first_seq[mb];
    int j = (int)(((int64_t)local * s->seq_len + tok->tok) * s->S / ((int64_t)nloc * s->seq_len));
    int C = s->C, G = s->G, K = s->K, E = s->E;
    int sh = !s->o.shared_on_root && s->ns > 0;
    s->ntok[mb * s->S + j]++;
    s->causal[mb * s->S + j] += 4.0 * tok->tok + 2.0;
    for (int li = 0; li < s->nL; li++) {
        size_t base = ((size_t)mb * s->S + j) * s->nL + li;
        /* selections per expert (the k experts of a token are distinct, so
         * these increments never wait on each other); per-chiplet pairs are
         * summed from them when the step is emitted */
        uint32_t *ec = s->ecount + base * E, *tc = s->tokc + base * C, *tg = s->tokg + base * G;
        const uint16_t *ids = tok->ids + (size_t)li * K;
        const int *chip = s->chip + (size_t)li * E;
        int nd = 0, ng = 0;
        if (C <= 64 && G <= 64) {
            /* the common case: distinct chiplets and groups as bit masks */
            uint64_t cm = 0, gm = 0;
            /* one pass of K steps, no branches: a chiplet or group counts
             * the first time one of the token's experts lands on it */
            for (int a = 0; a < K; a++) {
                int e = ids[a], c = chip[e], g = s->gof[c];
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
            if (sh) {
                for (uint64_t m = s->sh_cmask & ~cm; m; m &= m - 1) tc[__builtin_ctzll(m)]++;
                for (uint64_t m = s->sh_gmask & ~gm; m; m &= m - 1) tg[__builtin_ctzll(m)]++;
            }
        } else {
            if (++s->serial == 0) {
                memset(s->stamp, 0, C * sizeof *s->stamp);
                memset(s->gstamp, 0, G * sizeof *s->gstamp);
                s->serial = 1;
            }
            for (int a = 0; a < K + (sh ? s->ns : 0); a++) {
                int c = a < K ? chip[ids[a]] : s->sh_chip[a - K];
                if (a < K) ec[ids[a]]++;
                if (s->stamp[c] != s->serial) {
                    int g = s->gof[c];
                    s->stamp[c] = s->serial;
                    tc[c]++;
                    nd += a < K;
                    if (s->gstamp[g] != s->serial) s->gstamp[g] = s->serial, tg[g]++, ng += a < K;
                }
            }
        }
        s->copies += s->o.dedup ? nd : K;
        s->gcopies += ng;
    }
    s->tok_layers += s->nL;
}

/* Pairs per chiplet of every (micro-batch, layer, slice): the selections of
 * its experts, plus one per token for each shared expert it hosts. */
static void sum_pairs(mz_sched *s)
{
    size_t n = (size_t)s->M * s->nL * s->S;
    memset(s->pairs, 0, n * s->C * sizeof *s->pairs);
    for (int mb = 0; mb < s->M; mb++)
        for (int li = 0; li < s->nL; li++)
            for (int j = 0; j < s->S; j++) {
                size_t base = ((size_t)mb * s->S + j) * s->nL + li;
                const uint32_t *ec = s->ecount + base * s->E;
                const int *chip = s->chip + (size_t)li * s->E;
                uint32_t *pc = s->pairs + base * s->C;
                for (int e = 0; e < s->E; e++) pc[chip[e]] += ec[e];
                for (int c = 0; c < s->C; c++) pc[c] += s->ntok[mb * s->S + j] * s->nsh[c];
            }
}

/* ---- emission helpers: an op is built in s->op, then handed to put */
static void op_begin(mz_sched *s, int kind, int layer, int mb, int slice, int dir, uint32_t phase)
{
    mz_op *op = &s->op;
    op->id = s->next_id;
    op->kind = kind, op->cat = mz_op_cat_of(kind);
    op->layer = layer, op->mb = mb, op->slice = slice, op->dir = dir, op->phase = phase;
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

/* Counts of micro-batch mb, MoE slot li, slice j (j < 0: whole micro-batch). */
static double cnt(const mz_sched *s, const uint32_t *a, int width, int mb, int li, int j, int i)
{
    if (j >= 0) return a[(((size_t)mb * s->S + j) * s->nL + li) * width + i];
    double x = 0;
    for (int k = 0; k < s->S; k++) x += a[(((size_t)mb * s->S + k) * s->nL + li) * width + i];
    return x;
}

static double ntok(const mz_sched *s, int mb, int j)
{
    if (j >= 0) return s->ntok[mb * s->S + j];
    double x = 0;
    for (int k = 0; k < s->S; k++) x += s->ntok[mb * s->S + k];
    return x;
}

static double causal(const mz_sched *s, int mb, int j)
{
    if (j >= 0) return s->causal[mb * s->S + j];
    double x = 0;
    for (int k = 0; k < s->S; k++) x += s->causal[mb * s->S + k];
    return x;
}

/* Root quantities of layer l: weight bytes, attention (+ router) FLOPs and
 * dense/shared FFN FLOPs of (mb, j), activation bytes of micro-batch mb. */
static double root_weights(const mz_sched *s, int l)
{
    if (s->li_of[l] < 0) return s->b * (s->P_att + s->P_dense);
    return s->b * (s->P_att + s->h * s->E + (s->o.shared_on_root ? s->ns * s->P_sh : 0));
}

static double att_flops(const mz_sched *s, int l, int mb, int j)
{
    double T = ntok(s, mb, j);
    return 2 * T * s->P_att + causal(s, mb, j) * s->nqdh + (s->li_of[l] >= 0 ? 2 * T * s->h * s->E : 0);
}

static double ffn_flops(const mz_sched *s, int l, int mb, int j)
{
    double T = ntok(s, mb, j);
    if (s->li_of[l] < 0) return 2 * T * s->P_dense;
    return s->o.shared_on_root ? 2 * T * s->ns * s->P_sh : 0;
}

static double root_acts(const mz_sched *s, int l, int mb)
{
    double T = ntok(s, mb, -1), a = s->b * T * (2 * s->h + 2 * s->nqdh + 2 * s->nkvdh);
    if (s->li_of[l] < 0) return a + s->b * T * s->gm * s->m->dense_ffn;
    return a + (s->o.shared_on_root ? s->b * T * s->gm * s->ns * s->m->shared_ffn : 0);
}

/* Per-chiplet quantities of (mb, li) for the whole micro-batch: weights Wc,
 * saved activations Ac, copies per chiplet, pairs; and the hot order. */
static void visit_counts(mz_sched *s, int li, int mb)
{
    double T = ntok(s, mb, -1);
    for (int c = 0; c < s->C; c++) {
        double pairs = cnt(s, s->pairs, s->C, mb, li, -1, c), psh = T * s->nsh[c];
        double copies = s->o.dedup ? cnt(s, s->tokc, s->C, mb, li, -1, c) : pairs;
        s->prs[c] = pairs;
        s->cpy[c] = copies;
        s->Wc[c] = s->b * (s->nexp[(size_t)li * s->C + c] * s->P_exp + s->nsh[c] * s->P_sh);
        s->Ac[c] = s->b * (copies * s->h +
                           s->gm * ((pairs - psh) * s->m->ffn + psh * s->m->shared_ffn));
    }
    /* hot order: per group, chiplets by pairs descending, ties by id */
    for (int c = 0; c < s->C; c++) s->hot[c] = c;
    for (int a = 1; a < s->C; a++) {
        int c = s->hot[a], k = a;
        while (k > 0) {
            int d = s->hot[k - 1];
            int before = s->gof[d] < s->gof[c] ||
                         (s->gof[d] == s->gof[c] && (s->prs[d] > s->prs[c] || (s->prs[d] == s->prs[c] && d < c)));
            if (before) break;
            s->hot[k] = d;
            k--;
        }
        s->hot[k] = c;
    }
}

static double chip_flops(const mz_sched *s, int li, int mb, int j, int c)
{
    double pairs = cnt(s, s->pairs, s->C, mb, li, j, c), psh = ntok(s, mb, j) * s->nsh[c];
    return 2 * ((pairs - psh) * s->P_exp + psh * s->P_sh);
}

/* One all-to-all op for group g: chiplet-level and group-level bytes. */
static void a2a_terms(mz_sched *s, int li, int mb, int j, int g)
{
    double hb = s->h * s->b, sum = 0;
    for (int c = 0; c < s->C; c++) {
        double q;
        if (s->gof[c] != g) continue;
        q = s->o.dedup ? cnt(s, s->tokc, s->C, mb, li, j, c) : cnt(s, s->pairs, s->C, mb, li, j, c);
        sum += q;
        term(s, MZ_Q_A2A_CHIP, c, q * hb);
    }
    term(s, MZ_Q_A2A_GROUP, g, (s->o.dedup ? cnt(s, s->tokg, s->G, mb, li, j, g) : sum) * hb);
}

static void emit_baseline(mz_sched *s)
{
    uint32_t ph = 0;
    for (int v = 0; v < s->nvis; v++) {
        int bw = s->vis_dir[v], l = s->vis_layer[v], li = s->li_of[l];
        double mult = bw ? 2.0 : 1.0, Wr = root_weights(s, l);
        for (int mb = s->vis_mb0[v]; mb < s->vis_mb0[v] + s->vis_nmb[v]; mb++) {
            int first = mb == s->vis_mb0[v], last = mb == s->vis_mb0[v] + s->vis_nmb[v] - 1;
            double Ar = root_acts(s, l, mb), F = att_flops(s, l, mb, -1) + ffn_flops(s, l, mb, -1);
            op_begin(s, MZ_OP_ROOT_LOAD, l, mb, -1, bw, ++ph);
            term(s, MZ_Q_ROOT_READ, 0, (first ? Wr : 0) + (bw ? Ar : 0));
            op_end(s);
            if (!bw) {
                op_begin(s, MZ_OP_ATT, l, mb, -1, bw, ++ph);
                term(s, MZ_Q_ROOT_FLOP, 0, F);
                op_end(s);
                op_begin(s, MZ_OP_ATT_SAVE, l, mb, -1, bw, ++ph);
                term(s, MZ_Q_ROOT_WRITE, 0, Ar);
                op_end(s);
            }
            if (li >= 0) {
                visit_counts(s, li, mb);
                if (bw) {
                    if (first) {
                        ++ph;
                        for (int k = 0; k < s->C; k++) {
                            op_begin(s, MZ_OP_LOAD, l, mb, -1, bw, ph);
                            term(s, MZ_Q_MEM_READ, s->hot[k], s->Wc[s->hot[k]]);
                            op_end(s);
                        }
                    }
                    ++ph;
                    for (int k = 0; k < s->C; k++) {
                        op_begin(s, MZ_OP_ACT_LOAD, l, mb, -1, bw, ph);
                        term(s, MZ_Q_MEM_READ, s->hot[k], s->Ac[s->hot[k]]);
                        op_end(s);
                    }
                }
                ++ph;
                for (int g = 0; g < s->G; g++) {
                    op_begin(s, MZ_OP_DISPATCH, l, mb, -1, bw, ph);
                    a2a_terms(s, li, mb, -1, g);
                    op_end(s);
                }
                if (!bw && first) {
                    ++ph;
                    for (int k = 0; k < s->C; k++) {
                        op_begin(s, MZ_OP_LOAD, l, mb, -1, bw, ph);
                        term(s, MZ_Q_MEM_READ, s->hot[k], s->Wc[s->hot[k]]);
                        op_end(s);
                    }
                }
                ++ph;
                for (int c = 0; c < s->C; c++) {
                    double fl = chip_flops(s, li, mb, -1, c) * mult;
                    op_begin(s, MZ_OP_EXPERT, l, mb, -1, bw, ph);
                    term(s, MZ_Q_CHIP_FLOP, c, fl);
                    if (fl > 0) term(s, MZ_Q_CHIP_SRAM, c, s->Wc[c] * mult);
                    op_end(s);
                }
                if (!bw || last) {
                    ++ph;
                    for (int k = 0; k < s->C; k++) {
                        int c = s->hot[k];
                        op_begin(s, bw ? MZ_OP_GRAD_WB : MZ_OP_SAVE, l, mb, -1, bw, ph);
                        term(s, MZ_Q_MEM_WRITE, c, bw ? s->Wc[c] : s->Ac[c]);
                        op_end(s);
                    }
                }
                ++ph;
                for (int g = 0; g < s->G; g++) {
                    op_begin(s, MZ_OP_COMBINE, l, mb, -1, bw, ph);
                    a2a_terms(s, li, mb, -1, g);
                    op_end(s);
                }
            }
            if (bw) {
                op_begin(s, MZ_OP_ATT, l, mb, -1, bw, ++ph);
                term(s, MZ_Q_ROOT_FLOP, 0, 2 * F);
                op_end(s);
                if (last) {
                    op_begin(s, MZ_OP_ATT_WB, l, mb, -1, bw, ++ph);
                    term(s, MZ_Q_ROOT_WRITE, 0, Wr);
                    op_end(s);
                }
            }
        }
    }
}

#define PREV(s, mb, j) ((s)->prev + ((size_t)(mb) * (s)->S + (j)) * (s)->pcap)
#define NPREV(s, mb, j) ((s)->nprev[(size_t)(mb) * (s)->S + (j)])
#define OUT(s, j) ((s)->out + (size_t)(j) * ((s)->G + 1))

static int cmp_i32(const void *a, const void *b)
{
    int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;
    return (x > y) - (x < y);
}

/* Blocks of expert weights a chiplet holds, derived from its SRAM:
 * floor((SRAM - activations - gradient buffer in bwd) / weights), 1..2. */
static int prefetch_depth(const mz_sched *s, int bw, double act, double wc)
{
    double free_ = s->o.sram_bytes - act - (bw ? wc : 0);
    double d = wc > 0 ? floor(free_ / wc) : 2;
    return d < 1 ? 1 : d > 2 ? 2 : (int)d;
}

static void emit_streaming(mz_sched *s)
{
    int S = s->S, C = s->C, G = s->G;
    for (int c = 0; c < C; c++) s->wblast[c] = -1;
    for (int mb = 0; mb < s->M; mb++)
        for (int j = 0; j < S; j++) NPREV(s, mb, j) = 0;
    for (int v = 0; v < s->nvis; v++) {
        int bw = s->vis_dir[v], l = s->vis_layer[v], li = s->li_of[l], mb0 = s->vis_mb0[v];
        double mult = bw ? 2.0 : 1.0, Wr = root_weights(s, l);
        int32_t rl, rootmax = -1;
        /* a new micro-batch: every slice waits for all of the previous one's outputs */
        if (!s->o.order_layer && v > 0 && s->vis_mb0[v - 1] != mb0) {
            int pm = s->vis_mb0[v - 1], n = 0;
            for (int j = 0; j < S; j++)
                for (int k = 0; k < NPREV(s, pm, j); k++) s->tmp[n++] = PREV(s, pm, j)[k];
            qsort(s->tmp, n, sizeof *s->tmp, cmp_i32);
            {
                int u = 0;
                for (int k = 0; k < n; k++)
                    if (u == 0 || s->tmp[k] != s->tmp[u - 1]) s->tmp[u++] = s->tmp[k];
                n = u;
            }
            for (int j = 0; j < S; j++) {
                memcpy(PREV(s, mb0, j), s->tmp, n * sizeof *s->tmp);
                NPREV(s, mb0, j) = n;
            }
        }
        /* root weights: the root holds two blocks, so this waits for visit v-2 */
        op_begin(s, MZ_OP_ROOT_LOAD, l, mb0, -1, bw, 0);
        term(s, MZ_Q_ROOT_READ, 0, Wr);
        if (v >= 2) dep(s, s->rootlast[v - 2]);
        rl = op_end(s);
        if (li >= 0) {
            /* expert weights, hot cluster first in each group; a chiplet holds
             * 'prefetch' weight sets: this load waits for the last use of set v-prefetch */
            visit_counts(s, li, mb0);
            for (int k = 0; k < C; k++) {
                int c = s->hot[k], depth = s->o.prefetch ? s->o.prefetch : prefetch_depth(s, bw, s->Ac[c], s->Wc[c]);
                int ne = s->nexp[(size_t)li * C + c] + s->nsh[c];
                if (ne > s->o.load_chunks) ne = s->o.load_chunks;
                if (ne < 1) ne = 1;
                s->nloads[c] = ne;
                for (int q = 0; q < ne; q++) {
                    op_begin(s, MZ_OP_LOAD, l, mb0, -1, bw, 0);
                    term(s, MZ_Q_MEM_READ, c, s->Wc[c] / ne);
                    if (v - depth >= 0) dep(s, s->xlast[(size_t)(v - depth) * C + c]);
                    s->loads[(size_t)c * s->o.load_chunks + q] = op_end(s);
                }
            }
        }
        for (int c = 0; c < C; c++) s->nxs[c] = 0;
        for (int mb = mb0; mb < mb0 + s->vis_nmb[v]; mb++) {
            int32_t ral = rl;
            if (bw) {
                op_begin(s, MZ_OP_ROOT_ACT_LOAD, l, mb, -1, bw, 0);
                term(s, MZ_Q_ROOT_READ, 0, root_acts(s, l, mb));
                dep(s, rl);
                ral = op_end(s);
            }
            if (li < 0) {
                for (int j = 0; j < S; j++) {
                    int32_t a, dn;
                    if (!bw) {
                        op_begin(s, MZ_OP_ATT, l, mb, j, bw, 0);
                        term(s, MZ_Q_ROOT_FLOP, 0, att_flops(s, l, mb, j));
                        dep(s, rl);
                        for (int k = 0; k < NPREV(s, mb, j); k++) dep(s, PREV(s, mb, j)[k]);
                        a = op_end(s);
                        op_begin(s, MZ_OP_DENSE_FFN, l, mb, j, bw, 0);
                        term(s, MZ_Q_ROOT_FLOP, 0, ffn_flops(s, l, mb, j));
                        dep(s, a);
                        dn = op_end(s);
                        OUT(s, j)[0] = dn;
                        rootmax = dn;
                    } else {
                        op_begin(s, MZ_OP_DENSE_FFN, l, mb, j, bw, 0);
                        term(s, MZ_Q_ROOT_FLOP, 0, 2 * ffn_flops(s, l, mb, j));
                        dep(s, rl);
                        dep(s, ral);
                        for (int k = 0; k < NPREV(s, mb, j); k++) dep(s, PREV(s, mb, j)[k]);
                        dn = op_end(s);
                        op_begin(s, MZ_OP_ATT, l, mb, j, bw, 0);
                        term(s, MZ_Q_ROOT_FLOP, 0, 2 * att_flops(s, l, mb, j));
                        dep(s, dn);
                        a = op_end(s);
                        OUT(s, j)[0] = a;
                        rootmax = a;
                    }
                    s->nout[j] = 1;
                }
                if (!bw) {
                    op_begin(s, MZ_OP_ATT_SAVE, l, mb, -1, bw, 0);
                    term(s, MZ_Q_ROOT_WRITE, 0, root_acts(s, l, mb));
                    dep(s, OUT(s, S - 1)[0]);
                    op_end(s);
                }
            } else {
                visit_counts(s, li, mb);
                if (bw)
                    for (int c = 0; c < C; c++) {
                        op_begin(s, MZ_OP_ACT_LOAD, l, mb, -1, bw, 0);
                        term(s, MZ_Q_MEM_READ, c, s->Ac[c]);
                        dep(s, s->loads[(size_t)c * s->o.load_chunks + s->nloads[c] - 1]);
                        s->actl[c] = op_end(s);
                    }
                for (int j = 0; j < S; j++) {
                    double ff = ffn_flops(s, l, mb, j);
                    int32_t a = -1, sh = -1;
                    if (!bw) {
                        op_begin(s, MZ_OP_ATT, l, mb, j, bw, 0);
                        term(s, MZ_Q_ROOT_FLOP, 0, att_flops(s, l, mb, j));
                        dep(s, rl);
                        for (int k = 0; k < NPREV(s, mb, j); k++) dep(s, PREV(s, mb, j)[k]);
                        a = op_end(s);
                        rootmax = a;
                        if (ff > 0) {
                            op_begin(s, MZ_OP_SHARED, l, mb, j, bw, 0);
                            term(s, MZ_Q_ROOT_FLOP, 0, ff);
                            dep(s, a);
                            sh = rootmax = op_end(s);
                        }
                    } else if (ff > 0) {
                        op_begin(s, MZ_OP_SHARED, l, mb, j, bw, 0);
                        term(s, MZ_Q_ROOT_FLOP, 0, 2 * ff);
                        dep(s, rl);
                        dep(s, ral);
                        for (int k = 0; k < NPREV(s, mb, j); k++) dep(s, PREV(s, mb, j)[k]);
                        sh = rootmax = op_end(s);
                    }
                    for (int g = 0; g < G; g++) {
                        op_begin(s, MZ_OP_DISPATCH, l, mb, j, bw, 0);
                        a2a_terms(s, li, mb, j, g);
                        if (!bw)
                            dep(s, a);
                        else
                            for (int k = 0; k < NPREV(s, mb, j); k++) dep(s, PREV(s, mb, j)[k]);
                        s->dsp[g] = op_end(s);
                    }
                    for (int c = 0; c < C; c++) {
                        double fl = chip_flops(s, li, mb, j, c) * mult;
                        op_begin(s, MZ_OP_EXPERT, l, mb, j, bw, 0);
                        term(s, MZ_Q_CHIP_FLOP, c, fl);
                        if (fl > 0) term(s, MZ_Q_CHIP_SRAM, c, s->Wc[c] * mult / S);
                        dep(s, s->dsp[s->gof[c]]);
                        /* the chunks of a load complete in stream order (same resources and
                         * deps, calendars only fill up), so the last one stands for all */
                        dep(s, s->loads[(size_t)c * s->o.load_chunks + s->nloads[c] - 1]);
                        if (bw) dep(s, s->actl[c]);
                        if (bw && j == 0 && s->o.grad_buffers == 1) dep(s, s->wblast[c]);
                        s->xs[c] = op_end(s);
                    }
                    for (int g = 0; g < G; g++) {
                        op_begin(s, MZ_OP_COMBINE, l, mb, j, bw, 0);
                        a2a_terms(s, li, mb, j, g);
                        for (int c = 0; c < C; c++)
                            if (s->gof[c] == g) dep(s, s->xs[c]);
                        s->cmb[g] = op_end(s);
                    }
                    if (bw) {
                        op_begin(s, MZ_OP_ATT, l, mb, j, bw, 0);
                        term(s, MZ_Q_ROOT_FLOP, 0, 2 * att_flops(s, l, mb, j));
                        for (int g = 0; g < G; g++) dep(s, s->cmb[g]);
                        dep(s, rl);
                        dep(s, ral);
                        dep(s, sh);
                        a = rootmax = op_end(s);
                        OUT(s, j)[0] = a;
                        s->nout[j] = 1;
                    } else {
                        int n = 0;
                        for (int g = 0; g < G; g++) OUT(s, j)[n++] = s->cmb[g];
                        if (sh >= 0) OUT(s, j)[n++] = sh;
                        s->nout[j] = n;
                    }
                }
                for (int c = 0; c < C; c++) {
                    s->xs_all[(size_t)c * s->M + s->nxs[c]++] = s->xs[c];
                    if (!bw) {
                        op_begin(s, MZ_OP_SAVE, l, mb, -1, bw, 0);
                        term(s, MZ_Q_MEM_WRITE, c, s->Ac[c]);
                        dep(s, s->xs[c]);
                        op_end(s);
                    }
                }
                if (!bw) {
                    op_begin(s, MZ_OP_ATT_SAVE, l, mb, -1, bw, 0);
                    term(s, MZ_Q_ROOT_WRITE, 0, root_acts(s, l, mb));
                    dep(s, rootmax);
                    op_end(s);
                }
            }
            for (int j = 0; j < S; j++) {
                memcpy(PREV(s, mb, j), OUT(s, j), s->nout[j] * sizeof *s->out);
                NPREV(s, mb, j) = s->nout[j];
            }
        }
        /* gradients leave once per weight set (accumulated over its micro-batches) */
        if (bw) {
            op_begin(s, MZ_OP_ATT_WB, l, mb0, -1, bw, 0);
            term(s, MZ_Q_ROOT_WRITE, 0, Wr);
            dep(s, rootmax);
            op_end(s);
            if (li >= 0) {
                /* Wc depends on the layer only */
                for (int c = 0; c < C; c++) {
                    op_begin(s, MZ_OP_GRAD_WB, l, mb0, -1, bw, 0);
                    term(s, MZ_Q_MEM_WRITE, c, s->Wc[c]);
                    for (int k = 0; k < s->nxs[c]; k++) dep(s, s->xs_all[(size_t)c * s->M + k]);
                    s->wblast[c] = op_end(s);
                }
            }
        }
        for (int c = 0; c < C; c++) {
            int32_t x = -1;
            for (int k = 0; k < s->nxs[c]; k++)
                if (s->xs_all[(size_t)c * s->M + k] > x) x = s->xs_all[(size_t)c * s->M + k];
            if (s->nxs[c] == 0) x = v > 0 ? s->xlast[(size_t)(v - 1) * C + c] : -1;
            s->xlast[(size_t)v * C + c] = x;
        }
        s->rootlast[v] = rootmax;
    }
}

int mz_sched_emit(mz_sched *s, uint32_t step, int (*put)(void *, const mz_op *), void *arg)
{
    size_t n = (size_t)s->M * s->nL * s->S;
    s->op.step = step;
    s->next_id = 0;
    s->put = put;
    s->arg = arg;
    s->err = 0;
    sum_pairs(s);
    if (s->o.overlap)
        emit_streaming(s);
    else
        emit_baseline(s);
    /* last: the step's token and copy counts (for C_T); it also tells a
     * reader that the step is complete */
    op_begin(s, MZ_OP_STAT, 0, 0, -1, 0, 0);
    term(s, MZ_Q_TOKENS, 0, s->tok_layers);
    term(s, MZ_Q_COPIES, 0, s->copies);
    term(s, MZ_Q_GROUP_COPIES, 0, s->gcopies);
    op_end(s);
    memset(s->ecount, 0, n * s->E * sizeof *s->ecount);
    memset(s->tokc, 0, n * s->C * sizeof *s->tokc);
    memset(s->tokg, 0, n * s->G * sizeof *s->tokg);
    memset(s->ntok, 0, (size_t)s->M * s->S * sizeof *s->ntok);
    memset(s->causal, 0, (size_t)s->M * s->S * sizeof *s->causal);
    s->copies = s->gcopies = s->tok_layers = 0;
    return s->err;
}

void mz_pipe_widen(int fd)
{
#ifdef F_SETPIPE_SZ
    struct stat st;
    if (fstat(fd, &st) == 0 && S_ISFIFO(st.st_mode)) fcntl(fd, F_SETPIPE_SZ, 1 << 20);
#else
    (void)fd;
#endif
}
